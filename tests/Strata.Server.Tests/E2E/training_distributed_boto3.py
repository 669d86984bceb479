"""Distributed training jobs (ResourceConfig.InstanceCount > 1) with an unmodified boto3 (1.43 and
Debian's 1.26) against a real server running as root: a container of one's own
(distributed_container.py) runs as hosts algo-1 … algo-N, which find each other by name (algo-1
listens at its host name, the others connect to `algo-1` and they add up their numbers), each with
its own resourceconfig.json and SM_HOSTS, its share of a ShardedByS3Key channel and all of a
FullyReplicated one, its own log stream and Host metric dimension; every host's model directory is
in the one model.tar.gz. One host failing fails the job with its failure text and stops the others;
StopTrainingJob stops every host; with EnableNetworkIsolation two hosts still meet but reach nothing
else; and bad input gets AWS's errors, through CreateTrainingJob and a tuning job's definition."""
import io
import json
import os
import subprocess
import sys
import tarfile
from urllib.parse import urlparse

from harness import client, eq, execution_role, expect_error, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, logs, cw = client("s3"), client("iam"), client("logs"), client("cloudwatch")
IMAGE = f"registry.example.com/team/distributed:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_container.py")], check=True, capture_output=True)
BUCKET = unique("distributed")
s3.create_bucket(Bucket=BUCKET)
SHARDS = [f"part-{i}.csv" for i in range(5)]
for name in SHARDS:
    s3.put_object(Bucket=BUCKET, Key=f"data/train/{name}", Body=b"1,2\n")
for name in ("vocabulary.txt", "labels.txt"):
    s3.put_object(Bucket=BUCKET, Key=f"data/shared/{name}", Body=b"x\n")
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
SERVER = urlparse(os.environ["STRATA_ENDPOINT"])
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def channel(name, prefix, distribution):
    return {"ChannelName": name, "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}", "S3DataDistributionType": distribution}}}


def definition(mode, instances, image=IMAGE, **hyperparameters):
    return dict(
        RoleArn=ROLE, AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File",
                                              "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]},
        HyperParameters={"mode": mode, **hyperparameters},
        InputDataConfig=[channel("train", "data/train", "ShardedByS3Key"), channel("shared", "data/shared", "FullyReplicated")],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": instances, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600})


def start(mode, instances, **extra):
    name = unique("dist")
    hyperparameters = extra.pop("hyperparameters", {})
    sm.create_training_job(TrainingJobName=name, **definition(mode, instances, **hyperparameters), **extra)
    return name


def finished(name):
    until("the job ended", lambda: sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"), 180)
    return sm.describe_training_job(TrainingJobName=name)


def model_files(name):
    body = s3.get_object(Bucket=BUCKET, Key=f"out/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def streams(name):
    return sorted(s["logStreamName"].rsplit("-", 1)[0] for s in logs.describe_log_streams(
        logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/")["logStreams"])


def logged(name, host, text):
    for stream in logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/{host}-")["logStreams"]:
        events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"], startFromHead=True)["events"]
        if any(text in e["message"] for e in events):
            return True
    return False


def test_three_hosts_meet_by_name_each_with_its_own_config_and_share_of_the_data():
    name = start("rendezvous", 3)
    job = finished(name)
    eq((job["TrainingJobStatus"], job.get("FailureReason")), ("Completed", None), "status")
    eq(job["ResourceConfig"]["InstanceCount"], 3, "InstanceCount")
    # AWS's billable time is wall-clock: the bill is BillableTimeInSeconds × InstanceCount.
    eq(job["BillableTimeInSeconds"], job["TrainingTimeInSeconds"], "billable time")
    files = model_files(name)
    eq(sorted(files), ["algo-1.json", "algo-2.json", "algo-3.json"], "every host's model directory in model.tar.gz")
    hosts = ["algo-1", "algo-2", "algo-3"]
    shards = []
    for i, host in enumerate(hosts):
        seen = json.loads(files[f"{host}.json"])
        eq((seen["host"], seen["sum"], seen["sm_current_host"], seen["sm_hosts"]), (host, 6, host, hosts), f"{host}: met the others")
        eq(seen["training_env"], {"current_host": host, "hosts": hosts, "master_hostname": "algo-1", "is_master": i == 0}, f"{host}: SM_TRAINING_ENV")
        config = seen["resource_config"]
        eq((config["current_host"], config["hosts"], config["current_instance_type"]), (host, hosts, "ml.m5.large"), f"{host}: resourceconfig.json")
        eq([(g["instance_type"], g["hosts"]) for g in config["instance_groups"]], [("ml.m5.large", hosts)], f"{host}: instance groups")
        eq(seen["hostname"], host, f"{host}: its hostname")
        eq(seen["channels"]["shared"], ["labels.txt", "vocabulary.txt"], f"{host}: FullyReplicated gives every host every object")
        shards.append(seen["channels"]["train"])
        assert seen["address"].startswith("127.") and seen["address"].endswith(f".{i + 1}"), seen["address"]
    # ShardedByS3Key deals the objects out in key order: host i gets the i-th, the (i+3)-th, ...
    eq(shards, [["part-0.csv", "part-3.csv"], ["part-1.csv", "part-4.csv"], ["part-2.csv"]], "ShardedByS3Key shares")
    eq(len({json.loads(files[f"{h}.json"])["address"] for h in hosts}), 3, "an address per host")

    output = s3.get_object(Bucket=BUCKET, Key=f"out/{name}/output/output.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(output), mode="r:gz") as tar:
        eq(sorted(tar.getnames()), ["algo-1.txt", "algo-2.txt", "algo-3.txt"], "every host's output data")

    eq(streams(name), [f"{name}/{h}" for h in hosts], "a log stream per host")
    until("each host's log", lambda: all(logged(name, h, f"{h} done") for h in hosts))
    metrics = cw.list_metrics(Namespace=LOG_GROUP, MetricName="train:loss")["Metrics"]
    dimensions = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "Host"}
    assert {f"{name}/{h}" for h in hosts} <= dimensions, dimensions
    # The final metrics are algo-1's (the tuner reads algo-1's log too).
    eq([(m["MetricName"], m["Value"]) for m in job["FinalMetricDataList"]], [("train:loss", 1.0)], "final metrics")


def test_one_host_failing_fails_the_job_with_its_reason_and_stops_the_others():
    name = start("fail-one", 3)
    job = finished(name)
    eq((job["TrainingJobStatus"], job["SecondaryStatus"], job["FailureReason"]), ("Failed", "Failed", "AlgorithmError: algo-2 ran out of gradient"), "failed")
    eq(job["ModelArtifacts"]["S3ModelArtifacts"], "", "no model")
    until("the others stopped", lambda: logged(name, "algo-1", "algo-1 stopped by SIGTERM") and logged(name, "algo-3", "algo-3 stopped by SIGTERM"))


def test_stop_training_job_stops_every_host():
    name = start("sleep", 3)
    until("every host waiting", lambda: all(logged(name, h, f"{h} waiting for SIGTERM") for h in ("algo-1", "algo-2", "algo-3")), 90)
    sm.stop_training_job(TrainingJobName=name)
    job = finished(name)
    eq((job["TrainingJobStatus"], job["SecondaryStatus"]), ("Stopped", "Stopped"), "stopped")
    eq(sorted(model_files(name)), ["algo-1-stopped.json", "algo-2-stopped.json", "algo-3-stopped.json"], "what each host saved on SIGTERM")


def test_network_isolation_two_hosts_still_meet_and_reach_nothing_else():
    outside = f"{SERVER.hostname}:{SERVER.port}"
    name = start("rendezvous", 2, EnableNetworkIsolation=True, hyperparameters={"outside": outside})
    job = finished(name)
    eq((job["TrainingJobStatus"], job.get("FailureReason"), job["EnableNetworkIsolation"]), ("Completed", None, True), "status")
    files = model_files(name)
    for host in ("algo-1", "algo-2"):
        seen = json.loads(files[f"{host}.json"])
        eq((seen["sum"], seen["outside_reachable"]), (3, False), f"{host}: met its peer, and not the server at {outside}")
    # Without isolation the same container reaches the server.
    open_name = start("rendezvous", 2, hyperparameters={"outside": outside})
    eq(finished(open_name)["TrainingJobStatus"], "Completed", "without isolation")
    eq(json.loads(model_files(open_name)["algo-1.json"])["outside_reachable"], True, "without isolation the server is reachable")


def test_bad_input():
    expect_error(lambda: start("rendezvous", 0), "ValidationException", status=400, message="resourceConfig.instanceCount")
    expect_error(lambda: start("rendezvous", 17), "ResourceLimitExceeded", status=400, message="for training job usage' is 16 Instances")
    xgboost = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    expect_error(lambda: sm.create_training_job(TrainingJobName=unique("dist"), **{
        **definition("rendezvous", 2, image=xgboost), "AlgorithmSpecification": {"TrainingImage": xgboost, "TrainingInputMode": "File"}}),
        "ValidationException", message="built-in algorithms train on one instance")

    # A tuning job's training job definition goes through the same checks.
    def tune(instances, image=IMAGE):
        d = definition("rendezvous", instances, image=image)
        algorithm = {"TrainingImage": image, "TrainingInputMode": "File"}
        if image == IMAGE:
            algorithm["MetricDefinitions"] = d["AlgorithmSpecification"]["MetricDefinitions"]
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=unique("tune")[:32],
            HyperParameterTuningJobConfig={"Strategy": "Random", "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
                                           "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "train:loss" if image == IMAGE else "validation:rmse"},
                                           "ParameterRanges": {"IntegerParameterRanges": [{"Name": "port", "MinValue": "29500", "MaxValue": "29600"}]}},
            TrainingJobDefinition={"AlgorithmSpecification": algorithm, "RoleArn": ROLE, "StaticHyperParameters": d["HyperParameters"],
                                   "InputDataConfig": d["InputDataConfig"], "OutputDataConfig": d["OutputDataConfig"],
                                   "ResourceConfig": d["ResourceConfig"], "StoppingCondition": d["StoppingCondition"]})
    expect_error(lambda: tune(0), "ValidationException", message="resourceConfig.instanceCount")
    expect_error(lambda: tune(17), "ResourceLimitExceeded")
    expect_error(lambda: tune(2, xgboost), "ValidationException", message="built-in algorithms train on one instance")


run(globals())
