"""Training jobs with an unmodified boto3 (1.43 and Debian's 1.26) against a real server: a
container of one's own (train_container.py, registered in the image catalogue) trains from S3
channels as the job's role, in SageMaker's /opt/ml layout (in a mount namespace of its own when
the server runs as root, with the data directory hidden: its write there fails), with its log in
CloudWatch Logs and its metric definitions' values in FinalMetricDataList and CloudWatch; a failing
one shows its failure file; StopTrainingJob and MaxRuntimeInSeconds stop it with SIGTERM and keep
what it saved; an output KmsKeyId encrypts the model, VpcConfig is described, FastFile reads as
File, each status change is an EventBridge event; ListTrainingJobs sorts and pages; and the bad
inputs get AWS's errors. AWS's own XGBoost image URI trains a real model (strata-algorithms on
ML.NET) whose validation AUC matches the AUC of the deployed endpoint's answers, computed here."""
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile

from harness import client, eq, execution_role, expect_error, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, logs, cw, events = client("s3"), client("iam"), client("logs"), client("cloudwatch"), client("events")
ACCOUNT = client("sts").get_caller_identity()["Account"]
IMAGE = f"registry.example.com/team/trainer:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_container.py")], check=True, capture_output=True)
BUCKET = unique("training")
s3.create_bucket(Bucket=BUCKET)
s3.put_object(Bucket=BUCKET, Key="data/train/part-1.csv", Body=b"1,0.5\n2,0.1\n")
s3.put_object(Bucket=BUCKET, Key="data/train/more/part-2.csv", Body=b"3,0.2\n")
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))


def start(name=None, mode="ok", role=ROLE, channel=f"s3://{BUCKET}/data/train", runtime=3600, hyperparameters=None, channels=None, output=None, **extra):
    name = name or unique("job")
    sm.create_training_job(
        TrainingJobName=name, RoleArn=role,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]},
        HyperParameters={"mode": mode, "epochs": "3", "data_dir": os.environ["STRATA_DATA_DIR"], **(hyperparameters or {})},
        InputDataConfig=channels or [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": channel}}, "ContentType": "text/csv"}],
        OutputDataConfig=output or {"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": runtime}, Environment={"GREETING": "hi"}, **extra)
    return name


def finished(name):
    """The job once it has ended; the waiter (which raises on Failed) waits for it."""
    from botocore.exceptions import WaiterError
    try:
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    except WaiterError as e:
        assert e.last_response["TrainingJobStatus"] == "Failed", e
    return sm.describe_training_job(TrainingJobName=name)


def untar(key, member):
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return tar.extractfile(member).read()


class Probe:
    """Root's files outside any job, as a sandboxed container must not touch them: a program
    (root:root 0755, as /usr/bin/setpriv), a disk (root:disk 0660), a secret (0700), and a socket
    in a directory under /tmp (as the server's in /tmp/strata-<pid>). Not under /tmp, /var/tmp or
    /dev/shm, which the sandbox replaces: the container must see the files and be refused."""

    def __init__(self):
        import socket
        import stat
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="strata-probe-", dir="/run" if os.path.isdir("/run") else os.path.dirname(os.environ["STRATA_DLL"]))
        os.chmod(self.dir, 0o755)
        self.paths = {}
        for name, mode, group in (("binary", 0o755, 0), ("disk", 0o660, 6), ("secret", 0o700, 0)):
            path = self.paths[name] = os.path.join(self.dir, name)
            with open(path, "wb") as f:
                f.write(b"root's")
            os.chown(path, 0, group)
            os.chmod(path, mode)
        self.socket_dir = tempfile.mkdtemp(prefix="strata-probe-")
        os.chmod(self.socket_dir, 0o755)
        self.paths["socket"] = os.path.join(self.socket_dir, "worker.sock")
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(self.paths["socket"])
        self.listener.listen(1)
        os.chmod(self.paths["socket"], 0o777)
        self.paths = json.dumps(self.paths)
        self.stat = stat

    def intact(self):
        paths = json.loads(self.paths)
        return all(open(paths[n], "rb").read() == b"root's" for n in ("binary", "disk", "secret")) and self.stat.S_ISSOCK(os.lstat(paths["socket"]).st_mode)

    def close(self):
        import shutil
        self.listener.close()
        shutil.rmtree(self.dir)
        shutil.rmtree(self.socket_dir)


def test_a_container_of_ones_own_trains():
    name = unique("job")
    # In the sandbox the container tries to write into Strata's data directory (the path is its
    # hyperparameter escape_to); outside it there is no sandbox to test (see README, Training).
    escape = os.path.join(os.environ["STRATA_DATA_DIR"], f"{name}.escaped")
    probe = Probe() if os.geteuid() == 0 else None
    try:
        start(name, hyperparameters={"escape_to": escape, "probe": probe.paths} if probe else {})
        job = finished(name)
        intact = probe and probe.intact()
    finally:
        if probe:
            probe.close()
    eq((job["TrainingJobStatus"], job["SecondaryStatus"]), ("Completed", "Completed"), f"status ({job.get('FailureReason')})")
    eq([t["Status"] for t in job["SecondaryStatusTransitions"]], ["Starting", "Downloading", "Training", "Uploading", "Completed"], "transitions")
    assert all("EndTime" in t for t in job["SecondaryStatusTransitions"]), job["SecondaryStatusTransitions"]
    eq(job["ModelArtifacts"]["S3ModelArtifacts"], f"s3://{BUCKET}/out/{name}/output/model.tar.gz", "artifacts")
    eq([(m["MetricName"], round(m["Value"], 4)) for m in job["FinalMetricDataList"]], [("train:loss", 0.3333)], "final metrics")
    assert job["TrainingTimeInSeconds"] >= 1 and job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"], job
    assert job["TrainingStartTime"] <= job["TrainingEndTime"], job

    model = json.loads(untar(f"out/{name}/output/model.tar.gz", "model.json"))
    eq((model["sum"], model["rows"], model["greeting"], model["channels"], model["current_host"], model["job_name"]),
       (6.0, 3, "hi", ["train"], "algo-1", name), "what the container saw")
    eq(model["hyperparameters"]["epochs"], "3", "hyperparameters are strings")
    eq(model["resource_config"]["hosts"], ["algo-1"], "resourceconfig.json")
    if os.geteuid() == 0:
        # Its own mount namespace: SageMaker's paths, and no data directory.
        eq((model["model_dir"], model["opt_ml_config"], model["data_dir_visible"]), ("/opt/ml/model", True, False), "the sandbox")
        assert model["escape"].startswith("refused: "), model["escape"]
        # Its own user, without capabilities: root's files, a disk, another process's root, the /proc/sys
        # files and the server's sockets are out of its reach; its HOME is its own.
        probes = model["probes"]
        assert probes["uid"] != 0 and probes["euid"] != 0 and probes["groups"] == [], probes
        eq(int(probes["capabilities"], 16), 0, "no capability")
        eq({k: probes[k] for k in ("binary", "disk", "secret", "proc_root")}, dict.fromkeys(("binary", "disk", "secret", "proc_root"), "EACCES"), "root's files")
        assert probes["proc_sys"] in ("EACCES", "EROFS"), probes
        eq((probes["socket"], probes["socket_replace"], probes["strata_sockets"]), ("ENOENT", "ENOENT", []), "a private /tmp")
        eq(intact, True, "the files it tried are as they were")
        eq(probes["home"], "done", "HOME")
        eq(probes["server_variables"], [], "none of the server's own variables (its root keys)")
        assert not os.path.exists(escape), "the container wrote into the data directory"
    eq(untar(f"out/{name}/output/output.tar.gz", "report.txt"), b"3 rows\n", "output data")

    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/algo-1-")["logStreams"]
    eq(len(streams), 1, "one log stream")
    until("the log", lambda: any("loss=0.3333" in e["message"] for e in logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]))
    metrics = cw.list_metrics(Namespace="/aws/sagemaker/TrainingJobs", MetricName="train:loss")["Metrics"]
    assert {"Name": "Host", "Value": f"{name}/algo-1"} in [d for m in metrics for d in m["Dimensions"]], metrics

    listed = sm.list_training_jobs(NameContains=name, StatusEquals="Completed")["TrainingJobSummaries"]
    # (boto3 1.26's model has no SecondaryStatus in the summary: it drops it.)
    eq([(j["TrainingJobName"], j["TrainingJobStatus"], j.get("SecondaryStatus", "Completed")) for j in listed], [(name, "Completed", "Completed")], "listed")
    expect_error(lambda: sm.stop_training_job(TrainingJobName=name), "ValidationException", message="is in status Completed")


SCRIPT = """
import argparse, json, os
from lib.shapes import square
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--optimizer")
args = parser.parse_args()
train = os.environ["SM_CHANNEL_TRAIN"]
rows = sum(len(open(os.path.join(d, f)).read().split()) for d, _, files in os.walk(train) for f in files)
for epoch in range(args.epochs):
    print(f"epoch={epoch} loss={1.0 / square(epoch + 1):.4f}", flush=True)
json.dump({"epochs": args.epochs, "optimizer": args.optimizer, "rows": rows, "hps": json.loads(os.environ["SM_HPS"]),
           "entry": os.environ["SM_USER_ENTRY_POINT"], "user_args": json.loads(os.environ["SM_USER_ARGS"]), "cwd_has_code": os.path.exists("train.py")},
          open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w"))
"""


def test_script_mode_runs_the_entry_point_from_its_source_tarball():
    """A framework estimator's job as the SageMaker Python SDK sends it: hyperparameters JSON-encoded,
    sagemaker_program and sagemaker_submit_directory naming a script in an S3 tarball, run by the
    interpreter the catalogue names for the framework image, with --name value arguments."""
    framework = f"763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:{unique('2.1-cpu-py310-')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], framework, "--", sys.executable],
                   check=True, capture_output=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, text in (("train.py", SCRIPT), ("lib/__init__.py", ""), ("lib/shapes.py", "def square(x):\n    return x * x\n")):
            info = tarfile.TarInfo(path)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    source = f"s3://{BUCKET}/code/{unique('src')}/sourcedir.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=source[len(f"s3://{BUCKET}/"):], Body=buffer.getvalue())
    sdk = {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": json.dumps(source), "sagemaker_region": '"us-east-1"',
           "epochs": "3", "optimizer": '"adam"'}
    name = unique("script")
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE, HyperParameters=sdk,
        AlgorithmSpecification={"TrainingImage": framework, "TrainingInputMode": "File",
                                "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]},
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}, StoppingCondition={"MaxRuntimeInSeconds": 600})
    job = finished(name)
    eq(job["TrainingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq([(m["MetricName"], m["Value"]) for m in job["FinalMetricDataList"]], [("train:loss", 0.1111)], "the script's metrics")
    model = json.loads(untar(f"out/{name}/output/model.tar.gz", "model.json"))
    eq((model["epochs"], model["optimizer"], model["rows"], model["entry"], model["cwd_has_code"]), (3, "adam", 3, "train.py", True), "what the script saw")
    eq(model["hps"], {"epochs": 3, "optimizer": "adam"}, "SM_HPS: the user's hyperparameters, decoded")
    eq(model["user_args"], ["--epochs", "3", "--optimizer", "adam"], "SM_USER_ARGS")

    # An entry point that is not in the tarball fails the job saying so; one outside it is refused.
    missing = unique("script")
    sm.create_training_job(
        TrainingJobName=missing, RoleArn=ROLE, HyperParameters={**sdk, "sagemaker_program": '"nope.py"'},
        AlgorithmSpecification={"TrainingImage": framework, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}, StoppingCondition={"MaxRuntimeInSeconds": 600})
    job = finished(missing)
    eq((job["TrainingJobStatus"], job["FailureReason"]), ("Failed", f"ClientError: the entry point nope.py (sagemaker_program) is not in the source {source}"), "missing entry point")
    expect_error(lambda: sm.create_training_job(
        TrainingJobName=unique("script"), RoleArn=ROLE, HyperParameters={**sdk, "sagemaker_program": '"../../../bin/sh"'},
        AlgorithmSpecification={"TrainingImage": framework, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}, StoppingCondition={"MaxRuntimeInSeconds": 600}),
        "ValidationException", message="must be a file of the source directory")


def test_a_failing_job_shows_its_failure_file():
    job = finished(start(mode="fail"))
    eq((job["TrainingJobStatus"], job["SecondaryStatus"], job["FailureReason"]),
       ("Failed", "Failed", "ClientError: the label column holds 'cat', which is not a number"), "failed")
    eq(job["ModelArtifacts"]["S3ModelArtifacts"], "", "no model")


def test_stop_training_job_sends_sigterm_and_keeps_what_was_saved():
    name = start(mode="sleep", CheckpointConfig={"S3Uri": f"s3://{BUCKET}/checkpoints/{unique('c')}"})
    until("training", lambda: sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training", 60)
    until("the container waiting", lambda: any("waiting for SIGTERM" in e["message"] for s in logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/")["logStreams"]
        for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=s["logStreamName"])["events"]), 30)
    sm.stop_training_job(TrainingJobName=name)
    job = finished(name)
    eq((job["TrainingJobStatus"], job["SecondaryStatus"]), ("Stopped", "Stopped"), "stopped")
    eq(json.loads(untar(f"out/{name}/output/model.tar.gz", "model.json")), {"stopped_by": 15}, "saved on SIGTERM")
    checkpoint = job["CheckpointConfig"]["S3Uri"].split("/", 3)[3]
    eq(s3.get_object(Bucket=BUCKET, Key=f"{checkpoint}/step.txt")["Body"].read(), b"42", "the checkpoint synced to S3")


def test_max_runtime_stops_the_job():
    job = finished(start(mode="sleep", runtime=1))
    eq((job["TrainingJobStatus"], job["SecondaryStatus"]), ("Stopped", "MaxRuntimeExceeded"), "stopped at its limit")


def test_output_key_vpc_config_fast_file_and_state_change_events():
    """OutputDataConfig.KmsKeyId encrypts model.tar.gz with that key; VpcConfig is described as
    given; a FastFile channel is read as a File one; every status change is a "SageMaker Training
    Job State Change" event, here delivered by a rule to a log group."""
    key = client("kms").create_key()["KeyMetadata"]
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    iam.put_role_policy(RoleName=role.split("/")[-1], PolicyName="kms", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key["Arn"]}]}))
    name = unique("kms")
    group = unique("/events/training")
    logs.create_log_group(logGroupName=group)
    rule = unique("training")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"],
                                                        "detail": {"TrainingJobName": [name]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"}])
    vpc = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}
    start(name, role=role, output={"S3OutputPath": f"s3://{BUCKET}/out", "KmsKeyId": key["KeyId"]}, VpcConfig=vpc,
          channels=[{"ChannelName": "train", "InputMode": "FastFile", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train"}}}])
    job = finished(name)
    eq(job["TrainingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq((job["OutputDataConfig"]["KmsKeyId"], job["VpcConfig"], job["InputDataConfig"][0]["InputMode"]), (key["KeyId"], vpc, "FastFile"), "described")
    head = s3.head_object(Bucket=BUCKET, Key=f"out/{name}/output/model.tar.gz")
    eq((head["ServerSideEncryption"], head["SSEKMSKeyId"]), ("aws:kms", key["Arn"]), "the model's encryption")
    model = json.loads(untar(f"out/{name}/output/model.tar.gz", "model.json"))
    eq((model["sum"], model["rows"]), (6.0, 3), "the FastFile channel, read as files")

    def changes():
        return [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=group)["events"]]
    until("the Completed event", lambda: any(e["detail"]["TrainingJobStatus"] == "Completed" for e in changes()))
    delivered = sorted(changes(), key=lambda e: len(e["detail"].get("SecondaryStatusTransitions", [])))
    eq([(e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"]) for e in delivered],
       [("InProgress", "Starting"), ("InProgress", "Downloading"), ("InProgress", "Training"), ("InProgress", "Uploading"), ("Completed", "Completed")],
       "an event per status change")
    last = delivered[-1]
    eq((last["source"], last["detail-type"], last["resources"], last["detail"]["ModelArtifacts"]["S3ModelArtifacts"]),
       ("aws.sagemaker", "SageMaker Training Job State Change", [job["TrainingJobArn"]], job["ModelArtifacts"]["S3ModelArtifacts"]), "the Completed event")


def test_listing_sorts_and_pages():
    prefix = unique("lst")
    # Created b, a, c (one second apart at most: creation times are compared, names break no tie here).
    for suffix, mode in (("b", "ok"), ("a", "fail"), ("c", "ok")):
        start(f"{prefix}-{suffix}", mode=mode)
    for suffix in "bac":
        finished(f"{prefix}-{suffix}")

    def names(**kwargs):
        return [j["TrainingJobName"][len(prefix) + 1:] for j in sm.list_training_jobs(NameContains=prefix, **kwargs)["TrainingJobSummaries"]]
    eq(names(SortBy="Name", SortOrder="Ascending"), ["a", "b", "c"], "by name")
    eq(names(SortBy="Name", SortOrder="Descending"), ["c", "b", "a"], "by name, descending")
    eq(names(SortBy="CreationTime", SortOrder="Ascending"), ["b", "a", "c"], "by creation time")
    eq(names(SortBy="CreationTime", SortOrder="Descending"), ["c", "a", "b"], "by creation time, descending")
    eq(names(), ["c", "a", "b"], "newest first by default")
    by_status = sm.list_training_jobs(NameContains=prefix, SortBy="Status", SortOrder="Ascending")["TrainingJobSummaries"]
    eq([j["TrainingJobStatus"] for j in by_status], ["Completed", "Completed", "Failed"], "by status")
    by_status = sm.list_training_jobs(NameContains=prefix, SortBy="Status", SortOrder="Descending")["TrainingJobSummaries"]
    eq([j["TrainingJobStatus"] for j in by_status], ["Failed", "Completed", "Completed"], "by status, descending")
    page = sm.list_training_jobs(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2)
    eq([j["TrainingJobName"] for j in page["TrainingJobSummaries"]], [f"{prefix}-a", f"{prefix}-b"], "the first page")
    page = sm.list_training_jobs(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2, NextToken=page["NextToken"])
    eq([j["TrainingJobName"] for j in page["TrainingJobSummaries"]], [f"{prefix}-c"], "the second page")
    assert "NextToken" not in page, page


def test_bad_input():
    expect_error(lambda: start(name="bad_name"), "ValidationException")
    unknown = dict(TrainingJobName=unique("job"), RoleArn=ROLE, AlgorithmSpecification={"TrainingImage": "example.com/unknown:1", "TrainingInputMode": "File"},
                   OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"}, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
                   StoppingCondition={"MaxRuntimeInSeconds": 60})
    expect_error(lambda: sm.create_training_job(**unknown), "ValidationException", message="image catalogue")
    expect_error(lambda: sm.create_training_job(**{**unknown, "ResourceConfig": {"InstanceType": "ml.x9.huge", "InstanceCount": 1, "VolumeSizeInGB": 5}}), "ValidationException")
    expect_error(lambda: start(role=f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}"), "ValidationException", message="Could not assume role")
    name = start()
    expect_error(lambda: start(name=name), "ResourceInUse", message="already exists")
    expect_error(lambda: sm.describe_training_job(TrainingJobName=unique("nothing")), "ValidationException", message="Requested resource not found.")
    expect_error(lambda: start(mode="ok", runtime=30 * 24 * 3600), "ValidationException", message="less than or equal to 2419200")
    finished(name)

    # A channel with nothing under it, and a role that may not write the output: the job fails saying so.
    empty = finished(start(channel=f"s3://{BUCKET}/nothing/here"))
    eq(empty["TrainingJobStatus"], "Failed", "empty channel")
    assert empty["FailureReason"].startswith(f'ClientError: No S3 objects found under S3 URL "s3://{BUCKET}/nothing/here"'), empty["FailureReason"]
    reader = execution_role(iam, s3_actions=("s3:GetObject", "s3:ListBucket"))
    refused = finished(start(role=reader))
    eq(refused["TrainingJobStatus"], "Failed", "no s3:PutObject")
    assert "s3:PutObject" in refused["FailureReason"] and reader in refused["FailureReason"], refused["FailureReason"]
    # A File-mode channel its role may list but not read: the job fails naming the object and the permission.
    lister = execution_role(iam, s3_actions=("s3:ListBucket", "s3:PutObject"))
    unread = finished(start(role=lister))
    eq(unread["TrainingJobStatus"], "Failed", "no s3:GetObject")
    assert "s3:GetObject" in unread["FailureReason"] and f"{BUCKET}/data/train/" in unread["FailureReason"] and lister in unread["FailureReason"], unread["FailureReason"]

    # AWS's limits on hyperparameters (100 keys, 2 500 characters a value) and channel names.
    expect_error(lambda: start(hyperparameters={f"k{i}": "1" for i in range(98)}), "ValidationException",
                 message="at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal to 100")
    expect_error(lambda: start(hyperparameters={"long": "x" * 2501}), "ValidationException",
                 message="at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 2500")
    start(hyperparameters={f"k{i}": "1" for i in range(96)} | {"long": "x" * 2500}, mode="fail")  # 100 keys and 2 500 characters are allowed

    def channel(channel_name):
        return {"ChannelName": channel_name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train"}}}
    for bad in (".", ".."):
        expect_error(lambda: start(channels=[channel(bad)]), "ValidationException", message=f"Channel name {bad} is not valid")
    expect_error(lambda: start(channels=[channel("train"), channel("train")]), "ValidationException", message="Channel names must be unique: train")
    expect_error(lambda: start(channels=[channel("a/b")]), "ValidationException", message="failed to satisfy constraint: Member must satisfy regular expression pattern")


XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def dataset(n, seed):
    """Rows (label, features) of a noisy linear boundary, the same for every run."""
    import random
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(5)]
        z = 1.5 * x[0] - 2.0 * x[1] + 0.5 * x[2] + rng.gauss(0, 1)
        rows.append((1 if z > 0 else 0, x))
    return rows


def csv(rows, label=True):
    return "".join(",".join(([str(y)] if label else []) + [f"{v:.6f}" for v in x]) + "\n" for y, x in rows).encode()


def auc(labels, scores):
    """The share of (positive, negative) pairs the scores order right (ties count half)."""
    pos = [s for y, s in zip(labels, scores) if y == 1]
    neg = [s for y, s in zip(labels, scores) if y == 0]
    return sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg) / (len(pos) * len(neg))


def test_xgboost_trains_on_aws_image_and_its_model_deploys():
    prefix = unique("xgb")
    validation = dataset(400, 2)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train/train.csv", Body=csv(dataset(1500, 1)))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/validation/validation.csv", Body=csv(validation))
    name = unique("xgb")
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        HyperParameters={"objective": "binary:logistic", "num_round": "30", "max_depth": "3", "eta": "0.3", "eval_metric": "auc"},
        InputDataConfig=[{"ChannelName": channel, "ContentType": "text/csv",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/{channel}"}}}
                         for channel in ("train", "validation")],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{prefix}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    job = finished(name)
    eq(job["TrainingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    reported = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert {"train:auc", "validation:auc"} <= set(reported), reported
    assert reported["validation:auc"] > 0.85, reported

    # The model deploys with AWS's image named, and answers as AWS's XGBoost does: a score per line.
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": XGBOOST, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "main", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    answer = client("sagemaker-runtime").invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=csv(validation, label=False))
    eq(answer["ContentType"], "text/csv", "XGBoost's response type")
    scores = [float(line) for line in answer["Body"].read().decode().split()]
    eq(len(scores), len(validation), "a score per row")
    assert all(0.0 <= v <= 1.0 for v in scores), scores[:5]
    computed = auc([y for y, _ in validation], scores)
    assert abs(computed - reported["validation:auc"]) <= 0.01, (computed, reported)
    sm.delete_endpoint(EndpointName=name)


LINEAR_LEARNER = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def test_linear_learner_trains_and_answers_as_aws_does():
    prefix = unique("ll")
    validation = dataset(300, 4)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train/train.csv", Body=csv(dataset(1000, 3)))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/validation/validation.csv", Body=csv(validation))
    name = unique("ll")
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": LINEAR_LEARNER, "TrainingInputMode": "File"},
        HyperParameters={"predictor_type": "binary_classifier", "epochs": "10"},
        InputDataConfig=[{"ChannelName": channel, "ContentType": "text/csv",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/{channel}"}}}
                         for channel in ("train", "validation")],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{prefix}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    job = finished(name)
    eq(job["TrainingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    reported = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    accuracy = reported["validation:binary_classification_accuracy"]
    assert accuracy > 0.8, reported

    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": LINEAR_LEARNER, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "main", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    answer = client("sagemaker-runtime").invoke_endpoint(EndpointName=name, ContentType="text/csv", Accept="application/json", Body=csv(validation, label=False))
    predictions = json.loads(answer["Body"].read())["predictions"]
    eq(len(predictions), len(validation), "a prediction per row")
    assert set(predictions[0]) == {"score", "predicted_label"}, predictions[0]
    assert all(p["predicted_label"] == (1 if p["score"] >= 0.5 else 0) for p in predictions), predictions[:5]
    computed = sum(p["predicted_label"] == y for p, (y, _) in zip(predictions, validation)) / len(validation)
    assert abs(computed - accuracy) <= 0.01, (computed, accuracy)
    sm.delete_endpoint(EndpointName=name)


def test_a_catalogue_script_kept_directly_in_tmp():
    # An administrator's script straight in /tmp: the sandbox's /tmp is the container's own, with
    # that one file bound back read-only (not the host's whole /tmp, and the container still starts).
    import shutil
    script = f"/tmp/{unique('strata-trainer')}.py"
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_container.py"), script)
    try:
        image = f"registry.example.com/team/tmp-trainer:{unique('v')}"
        subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                        sys.executable, script], check=True, capture_output=True)
        name = unique("tmp-script")
        sm.create_training_job(
            TrainingJobName=name, RoleArn=ROLE,
            AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
            HyperParameters={"mode": "ok", "epochs": "1"},
            InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train"}}}],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            StoppingCondition={"MaxRuntimeInSeconds": 600})
        d = finished(name)
        eq((d["TrainingJobStatus"], d.get("FailureReason")), ("Completed", None), "the job of a script in /tmp")
    finally:
        os.remove(script)


run(globals())
