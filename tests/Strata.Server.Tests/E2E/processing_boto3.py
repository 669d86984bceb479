"""Processing jobs with an unmodified boto3 (1.43 and Debian's 1.26) against a real server: a
container of one's own (processing_container.py, registered in the image catalogue) finds its S3
inputs (a prefix, a manifest) at their LocalPath and SageMaker's processingjobconfig.json and
resourceconfig.json in /opt/ml/config (in a sandbox of its own when the server runs as root: the
data directory hidden, the network gone with EnableNetworkIsolation); what it writes to its
outputs' LocalPath goes to S3 as the job's role, /opt/ml/output/message is the ExitMessage and
/opt/ml/output/failure the FailureReason; its log is in CloudWatch Logs and its state changes are
EventBridge events. StopProcessingJob sends SIGTERM to the container's whole process group, and a
process the container leaves behind neither keeps the job running nor outlives it. A script given
as ContainerEntrypoint runs in the catalogue's interpreter; other entry points, and the bad
inputs, get AWS's errors."""
import datetime
import json
import os
import subprocess
import sys

from harness import client, eq, execution_role, expect_error, iam_user, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, logs, events = client("s3"), client("iam"), client("logs"), client("events")
ACCOUNT = client("sts").get_caller_identity()["Account"]
IMAGE = f"registry.example.com/team/processor:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "processing_container.py")], check=True, capture_output=True)
BUCKET = unique("processing")
s3.create_bucket(Bucket=BUCKET)
s3.put_object(Bucket=BUCKET, Key="data/part-1.csv", Body=b"1,0.5\n2,0.1\n")
s3.put_object(Bucket=BUCKET, Key="data/more/part-2.csv", Body=b"3,0.2\n")
s3.put_object(Bucket=BUCKET, Key="manifest.json", Body=json.dumps([{"prefix": f"s3://{BUCKET}/"}, "data/part-1.csv"]).encode())
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
ROOT = os.geteuid() == 0


def s3_input(name, uri, local, data_type="S3Prefix", **extra):
    return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": data_type, **extra}}


def s3_output(name, uri, local, mode="EndOfJob"):
    return {"OutputName": name, "S3Output": {"S3Uri": uri, "LocalPath": local, "S3UploadMode": mode}}


def start(name=None, args=("ok",), role=ROLE, inputs=None, outputs=None, runtime=3600, image=IMAGE, entrypoint=None, environment=None, **extra):
    name = name or unique("job")
    app = {"ImageUri": image, "ContainerArguments": list(args)}
    if entrypoint:
        app["ContainerEntrypoint"] = entrypoint
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=role, AppSpecification=app,
        ProcessingInputs=inputs if inputs is not None else [s3_input("data", f"s3://{BUCKET}/data", "/opt/ml/processing/input/data")],
        ProcessingOutputConfig={"Outputs": outputs if outputs is not None else [s3_output("result", f"s3://{BUCKET}/out/{name}", "/opt/ml/processing/output")]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}},
        StoppingCondition={"MaxRuntimeInSeconds": runtime},
        Environment=environment if environment is not None else {"GREETING": "hi", "DATA_DIR": os.environ["STRATA_DATA_DIR"]}, **extra)
    return name


def finished(name):
    """The job once it has ended; the waiter (which raises on Failed) waits for it."""
    from botocore.exceptions import WaiterError
    try:
        sm.get_waiter("processing_job_completed_or_stopped").wait(ProcessingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    except WaiterError as e:
        assert e.last_response["ProcessingJobStatus"] == "Failed", e
    return sm.describe_processing_job(ProcessingJobName=name)


def body(key):
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys(prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def log_lines(name):
    try:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{name}/")["logStreams"]
    except logs.exceptions.ResourceNotFoundException:  # no job has logged anything yet
        return []
    return [e["message"] for s in streams for e in logs.get_log_events(
        logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=s["logStreamName"], startFromHead=True)["events"]]


def gone(pid):
    """Whether a process has ended (a zombie nobody reaps yet has ended too)."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_container_of_ones_own_processes_its_inputs():
    group = unique("/events/processing")
    logs.create_log_group(logGroupName=group)
    name = unique("job")
    rule = unique("processing")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Processing Job State Change"],
                                                        "detail": {"ProcessingJobName": [name]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"}])
    start(name, args=["ok", "--factor", "3"], inputs=[
        s3_input("data", f"s3://{BUCKET}/data", "/opt/ml/processing/input/data"),
        s3_input("listed", f"s3://{BUCKET}/manifest.json", "/opt/ml/processing/input/listed/", data_type="ManifestFile"),
    ], Tags=[{"Key": "team", "Value": "ml"}])
    job = finished(name)
    eq((job["ProcessingJobStatus"], job.get("FailureReason")), ("Completed", None), "status")
    eq(job["ExitMessage"], "processed 5 rows", "the message file")
    assert job["CreationTime"] <= job["ProcessingStartTime"] <= job["ProcessingEndTime"] <= job["LastModifiedTime"], job
    eq(job["ProcessingInputs"][1]["S3Input"], {"S3Uri": f"s3://{BUCKET}/manifest.json", "LocalPath": "/opt/ml/processing/input/listed",
                                               "S3DataType": "ManifestFile", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated",
                                               "S3CompressionType": "None"}, "an input as described")
    eq(job["AppSpecification"], {"ImageUri": IMAGE, "ContainerArguments": ["ok", "--factor", "3"]}, "AppSpecification")
    eq(job["StoppingCondition"], {"MaxRuntimeInSeconds": 3600}, "StoppingCondition")
    eq(job["Environment"]["GREETING"], "hi", "Environment")

    eq(body(f"out/{name}/result.csv"), b"27.0,5\n", "the output, uploaded at the end of the job")
    eq(keys(f"out/{name}/"), [f"out/{name}/result.csv", f"out/{name}/sub/dir/seen.json"], "every file of the output, by its path")
    seen = json.loads(body(f"out/{name}/sub/dir/seen.json"))
    config = seen["config"]
    eq((config["ProcessingJobName"], config["ProcessingJobArn"], config["RoleArn"]), (name, job["ProcessingJobArn"], ROLE), "processingjobconfig.json")
    eq(config["AppSpecification"], {"ImageUri": IMAGE, "ContainerEntrypoint": None, "ContainerArguments": ["ok", "--factor", "3"]}, "its AppSpecification")
    eq(config["ProcessingResources"], {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5, "VolumeKmsKeyId": None}}, "its resources")
    eq(config["StoppingCondition"], {"MaxRuntimeInSeconds": 3600}, "its StoppingCondition")
    eq(config["ProcessingOutputConfig"]["KmsKeyId"], None, "no key")
    listed = config["ProcessingInputs"][1]
    eq({k: v for k, v in listed["S3Input"].items() if k != "LocalPath"},
       {"S3Uri": f"s3://{BUCKET}/manifest.json", "S3DataDistributionType": "FullyReplicated", "S3DataType": "ManifestFile", "S3InputMode": "File",
        "S3CompressionType": "None", "S3DownloadMode": "StartOfJob"}, "an input in the config")
    if ROOT:
        # The sandbox: the job's directory is /opt/ml, so every LocalPath is where the request put it.
        eq(listed["S3Input"]["LocalPath"], "/opt/ml/processing/input/listed", "LocalPath in the sandbox")
        eq(config["ProcessingOutputConfig"]["Outputs"][0]["S3Output"], {"LocalPath": "/opt/ml/processing/output", "S3Uri": f"s3://{BUCKET}/out/{name}",
                                                                        "S3UploadMode": "EndOfJob"}, "an output in the config")
        eq((seen["cwd"], seen["data_dir_visible"]), ("/opt/ml", False), "the sandbox")
    else:
        eq(listed["S3Input"]["LocalPath"], os.path.join(seen["cwd"], "processing/input/listed"), "LocalPath below the job's directory")
    eq(seen["resources"]["current_host"], "algo-1", "resourceconfig.json")
    eq((seen["resources"]["hosts"], seen["resources"]["current_instance_type"]), (["algo-1"], "ml.m5.xlarge"), "resourceconfig.json")
    eq(seen["inputs"], {"data": {"part-1.csv": "1,0.5\n2,0.1\n", "more/part-2.csv": "3,0.2\n"}, "listed": {"data/part-1.csv": "1,0.5\n2,0.1\n"}},
       "inputs laid out at their LocalPath")
    eq((seen["greeting"], seen["region"], seen["argv"], seen["outputs_exist"]), ("hi", "us-east-1", ["ok", "--factor", "3"], True), "environment and arguments")
    eq(seen["own_session"], True, "the container leads a session and process group of its own")

    until("the log", lambda: "done" in log_lines(name))
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{name}/algo-1-")["logStreams"]
    eq(len(streams), 1, "one log stream {job}/algo-1-{epoch}")
    eq(sm.list_tags(ResourceArn=job["ProcessingJobArn"])["Tags"], [{"Key": "team", "Value": "ml"}], "tags")

    def changes():
        return [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=group)["events"]]
    until("both state changes", lambda: len(changes()) == 2)
    delivered = sorted(changes(), key=lambda e: e["detail"]["LastModifiedTime"])
    eq([e["detail"]["ProcessingJobStatus"] for e in delivered], ["InProgress", "Completed"], "the events' statuses")
    last = delivered[-1]
    eq((last["source"], last["resources"], last["detail"]["ExitMessage"], last["detail"]["Tags"]),
       ("aws.sagemaker", [job["ProcessingJobArn"]], "processed 5 rows", {"team": "ml"}), "the Completed event")

    expect_error(lambda: sm.stop_processing_job(ProcessingJobName=name), "ValidationException", message="is in status Completed")


def test_a_failing_job_shows_its_failure_file():
    name = start(args=["fail"])
    job = finished(name)
    eq((job["ProcessingJobStatus"], job["FailureReason"], job["ExitMessage"]),
       ("Failed", "ClientError: column 2 of part-1.csv is not a number", "half the rows were read"), "failed")
    eq(keys(f"out/{name}/"), [], "a failed job's outputs are not uploaded")
    summaries = sm.list_processing_jobs(NameContains=name, StatusEquals="Failed")["ProcessingJobSummaries"]
    eq([(j["ProcessingJobName"], j["FailureReason"], j["ExitMessage"]) for j in summaries],
       [(name, "ClientError: column 2 of part-1.csv is not a number", "half the rows were read")], "listed with its reason")


def test_a_message_that_is_not_utf8_fails_the_job():
    job = finished(start(args=["badmessage"]))
    eq(job["ProcessingJobStatus"], "Failed", "status")
    assert job["FailureReason"].startswith("ClientError:") and "UTF-8" in job["FailureReason"], job["FailureReason"]


def test_stop_processing_job_signals_the_whole_container():
    name = start(args=["sleep"])
    until("the container waiting", lambda: "waiting for SIGTERM" in log_lines(name), 60)
    sm.stop_processing_job(ProcessingJobName=name)
    assert sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] in ("Stopping", "Stopped")
    # Stopping a Stopping job again is no error; the container may already have exited on SIGTERM,
    # and then AWS's answer for a Stopped job is the right one.
    try:
        sm.stop_processing_job(ProcessingJobName=name)
    except sm.exceptions.ClientError as e:
        eq((e.response["Error"]["Code"], e.response["Error"]["Message"]),
           ("ValidationException", "The request was rejected because the processing job is in status Stopped."),
           "a second stop after the job stopped")
    job = finished(name)
    eq(job["ProcessingJobStatus"], "Stopped", "stopped")
    eq(body(f"out/{name}/stopped.txt"), b"stopped by 15", "SIGTERM, and what it saved uploaded")
    eq(body(f"out/{name}/progress.txt"), b"half way", "the rest of the output too")
    pid = int(job["ExitMessage"].split()[1])
    until("its grandchild gone too", lambda: gone(pid), 10)
    expect_error(lambda: sm.stop_processing_job(ProcessingJobName=name), "ValidationException", message="is in status Stopped")


def test_what_the_container_leaves_behind_ends_with_it():
    # The grandchild keeps the container's stdout open: the job must end all the same, and take it along.
    job = finished(start(args=["daemon"]))
    eq(job["ProcessingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    pid = int(job["ExitMessage"].split()[1])
    until("the grandchild gone", lambda: gone(pid), 10)


PREPROCESS = b"""import os, sys
scale = float(sys.argv[sys.argv.index("--scale") + 1])
rows = []
for root, _, names in os.walk("/opt/ml/processing/input/data"):
    for n in sorted(names):
        rows += [float(line.split(",")[0]) * scale for line in open(os.path.join(root, n)) if line.strip()]
open("/opt/ml/processing/output/scaled.csv", "w").write("\\n".join(str(r) for r in sorted(rows)) + "\\n")
open("/opt/ml/output/message", "w").write(sys.executable + " " + " ".join(sys.argv[1:]))
"""


def test_a_script_as_container_entrypoint():
    s3.put_object(Bucket=BUCKET, Key="code/preprocess.py", Body=PREPROCESS)
    inputs = [s3_input("code", f"s3://{BUCKET}/code", "/opt/ml/processing/input/code"),
              s3_input("data", f"s3://{BUCKET}/data", "/opt/ml/processing/input/data")]
    name = start(args=["--scale", "10"], inputs=inputs, entrypoint=["python3", "/opt/ml/processing/input/code/preprocess.py"])
    job = finished(name)
    if ROOT:
        eq(job["ProcessingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
        eq(body(f"out/{name}/scaled.csv"), b"10.0\n20.0\n30.0\n", "the script's output")
        # python3 is the catalogue's interpreter (its path), with the script and the arguments.
        eq(job["ExitMessage"], f"{sys.executable} --scale 10", "what ran")
        eq(job["AppSpecification"]["ContainerEntrypoint"], ["python3", "/opt/ml/processing/input/code/preprocess.py"], "described")
    else:
        eq(job["ProcessingJobStatus"], "Failed", "no sandbox, no script")
        assert "needs the server to run as root" in job["FailureReason"], job["FailureReason"]
    for refused in (["/bin/sh", "-c", "id"], ["python3", "/etc/passwd"], ["python3", "/opt/ml/../../etc/x.py"], ["python3", "-c", "print(1)"],
                    ["python3"], ["python3", "inline", "/opt/ml/processing/input/code/preprocess.py"]):
        expect_error(lambda: start(args=["ok"], inputs=inputs, entrypoint=refused), "ValidationException", message="ContainerEntrypoint")


def test_network_isolation():
    probe = {"GREETING": "hi", "PROBE": os.environ["STRATA_ENDPOINT"]}
    isolated = start(environment=probe, NetworkConfig={"EnableNetworkIsolation": True})
    connected = start(environment=probe)
    job = finished(isolated)
    eq(job["NetworkConfig"], {"EnableNetworkIsolation": True}, "described")
    if not ROOT:
        eq(job["ProcessingJobStatus"], "Failed", "no sandbox, no network namespace")
        assert "EnableNetworkIsolation" in job["FailureReason"], job["FailureReason"]
        return
    eq(job["ProcessingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(json.loads(body(f"out/{isolated}/sub/dir/seen.json"))["server_reachable"], False, "no network")
    eq(finished(connected)["ProcessingJobStatus"], "Completed", "the other")
    eq(json.loads(body(f"out/{connected}/sub/dir/seen.json"))["server_reachable"], True, "the network without isolation")


def test_a_role_without_put_object_fails_naming_it():
    reader = execution_role(iam, s3_actions=("s3:GetObject", "s3:ListBucket"))
    job = finished(start(role=reader))
    eq(job["ProcessingJobStatus"], "Failed", "no s3:PutObject")
    assert "s3:PutObject" in job["FailureReason"] and reader in job["FailureReason"], job["FailureReason"]
    eq(job["ExitMessage"], "processed 3 rows", "what the container said before the upload failed")


def test_outputs_encrypted_with_the_jobs_kms_key():
    key = client("kms").create_key()["KeyMetadata"]
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    iam.put_role_policy(RoleName=role.split("/")[-1], PolicyName="kms", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key["Arn"]}]}))
    name = unique("job")
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=role, AppSpecification={"ImageUri": IMAGE, "ContainerArguments": ["ok"]},
        ProcessingInputs=[s3_input("data", f"s3://{BUCKET}/data", "/opt/ml/processing/input/data")],
        ProcessingOutputConfig={"Outputs": [s3_output("result", f"s3://{BUCKET}/out/{name}", "/opt/ml/processing/output")], "KmsKeyId": key["KeyId"]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 1}})
    job = finished(name)
    eq(job["ProcessingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(job["ProcessingOutputConfig"]["KmsKeyId"], key["KeyId"], "described")
    assert "StoppingCondition" not in job, job  # none was given
    head = s3.head_object(Bucket=BUCKET, Key=f"out/{name}/result.csv")
    eq((head["ServerSideEncryption"], head["SSEKMSKeyId"]), ("aws:kms", key["Arn"]), "output encryption")
    eq(body(f"out/{name}/result.csv"), b"6.0,3\n", "decrypted as it was written")
    config = json.loads(body(f"out/{name}/sub/dir/seen.json"))["config"]
    eq((config["ProcessingOutputConfig"]["KmsKeyId"], config["StoppingCondition"]), (key["KeyId"], {"MaxRuntimeInSeconds": 86400}), "the config's key and default runtime")


def test_list_filters_sort_and_pagination():
    prefix = unique("listed")
    names = [start(name=f"{prefix}-{i}", inputs=[]) for i in range(3)]
    for name in names:
        finished(name)
    ascending = sm.list_processing_jobs(NameContains=prefix, SortBy="Name", SortOrder="Ascending")["ProcessingJobSummaries"]
    eq([j["ProcessingJobName"] for j in ascending], names, "by name")
    eq([j["ProcessingJobName"] for j in sm.list_processing_jobs(NameContains=prefix.upper())["ProcessingJobSummaries"]], names[::-1],
       "newest first by default; NameContains ignores case")
    first = sm.list_processing_jobs(NameContains=prefix, SortBy="Name", SortOrder="Descending", MaxResults=2)
    eq([j["ProcessingJobName"] for j in first["ProcessingJobSummaries"]], names[:0:-1], "a page")
    second = sm.list_processing_jobs(NameContains=prefix, SortBy="Name", SortOrder="Descending", MaxResults=2, NextToken=first["NextToken"])
    eq(([j["ProcessingJobName"] for j in second["ProcessingJobSummaries"]], second.get("NextToken")), ([names[0]], None), "the last page")
    paged = [j["ProcessingJobName"] for page in sm.get_paginator("list_processing_jobs").paginate(NameContains=prefix, PaginationConfig={"PageSize": 1})
             for j in page["ProcessingJobSummaries"]]
    eq(sorted(paged), names, "the paginator")
    # (Clients send times to the second: the bounds are a second away from the jobs.)
    second = datetime.timedelta(seconds=1)
    first, last = (sm.describe_processing_job(ProcessingJobName=n)["CreationTime"] for n in (names[0], names[2]))

    def created(**bounds):
        return [j["ProcessingJobName"] for j in sm.list_processing_jobs(NameContains=prefix, **bounds)["ProcessingJobSummaries"]]
    eq((created(CreationTimeAfter=first - second), created(CreationTimeBefore=first - second)), (names[::-1], []), "CreationTimeAfter and Before")
    eq((created(CreationTimeAfter=last + second), created(CreationTimeBefore=last + second)), ([], names[::-1]), "CreationTimeAfter and Before")
    eq(created(LastModifiedTimeAfter=last + datetime.timedelta(hours=1)), [], "LastModifiedTimeAfter")
    eq(sm.list_processing_jobs(NameContains=prefix, StatusEquals="InProgress")["ProcessingJobSummaries"], [], "StatusEquals")
    eq(len(sm.list_processing_jobs(NameContains=prefix, StatusEquals="Completed", SortBy="Status")["ProcessingJobSummaries"]), 3, "StatusEquals")
    expect_error(lambda: sm.list_processing_jobs(MaxResults=101), "ValidationException")
    expect_error(lambda: sm.list_processing_jobs(NextToken="not a token"), "ValidationException")


def test_bad_input():
    name = start()
    expect_error(lambda: start(name=name), "ResourceInUse", message="already exists")
    expect_error(lambda: sm.describe_processing_job(ProcessingJobName=unique("nothing")), "ValidationException", message="Could not find requested job with name")
    expect_error(lambda: sm.stop_processing_job(ProcessingJobName=unique("nothing")), "ValidationException", message="Could not find requested job with name")
    expect_error(lambda: start(name="bad_name"), "ValidationException")
    expect_error(lambda: start(image="example.com/unknown:1"), "ValidationException", message="image catalogue")
    # The SDK's SageMakerClarifyProcessor: Clarify's own program is not Strata's (a ModelBias schedule computes its bias metrics).
    expect_error(lambda: start(image="205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"), "ValidationException",
                 message="SageMaker Clarify processing jobs are not supported by Strata; use a ModelBias monitoring schedule")
    for local in ("/tmp/input", "/opt/ml/processing/", "/opt/ml/processing/../x", "opt/ml/processing/x", "/opt/ml/input/data"):
        expect_error(lambda: start(inputs=[s3_input("data", f"s3://{BUCKET}/data", local)]), "ValidationException", message="/opt/ml/processing/")
    expect_error(lambda: start(outputs=[s3_output("result", f"s3://{BUCKET}/out", "/var/out")]), "ValidationException", message="/opt/ml/processing/")
    expect_error(lambda: start(inputs=[s3_input("a", f"s3://{BUCKET}/data", "/opt/ml/processing/x"), s3_input("b", f"s3://{BUCKET}/data", "/opt/ml/processing/x/")]),
                 "ValidationException", message="unique")
    expect_error(lambda: start(outputs=[s3_output("result", f"s3://{BUCKET}/out", "/opt/ml/processing/input/data")]), "ValidationException", message="unique")
    expect_error(lambda: start(inputs=[s3_input("a", f"s3://{BUCKET}/data", "/opt/ml/processing/a"), s3_input("a", f"s3://{BUCKET}/data", "/opt/ml/processing/b")]),
                 "ValidationException", message="unique")
    expect_error(lambda: start(inputs=[s3_input("data", f"s3://{BUCKET}/data", "/opt/ml/processing/d", S3InputMode="Pipe")]), "ValidationException", message="Pipe")
    expect_error(lambda: start(inputs=[s3_input("data", f"s3://{BUCKET}/data", "/opt/ml/processing/d", S3CompressionType="Gzip")]),
                 "ValidationException", message="File mode only supports None")
    expect_error(lambda: start(inputs=[s3_input("data", f"s3://{BUCKET}/data", "/opt/ml/processing/d", S3DataType="Everything")]), "ValidationException")
    expect_error(lambda: sm.create_processing_job(ProcessingJobName=unique("job"), RoleArn=ROLE, AppSpecification={"ImageUri": IMAGE},
                                                 ProcessingResources={"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}}),
                 "ValidationException", message="InstanceCount")
    expect_error(lambda: start(runtime=777601), "ValidationException", message="777600")
    expect_error(lambda: start(role=f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}"), "ValidationException", message="Could not assume role")
    _, keys_ = iam_user(iam, "processor", actions=["sagemaker:CreateProcessingJob"])
    denied = validate_responses(client("sagemaker", keys_))
    expect_error(lambda: denied.create_processing_job(ProcessingJobName=unique("job"), RoleArn=ROLE, AppSpecification={"ImageUri": IMAGE},
                                                      ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}}),
                 "AccessDeniedException", message="iam:PassRole")
    finished(name)

    # An input with nothing under it: the job fails saying so.
    empty = finished(start(inputs=[s3_input("data", f"s3://{BUCKET}/nothing/here", "/opt/ml/processing/input/data")]))
    eq(empty["ProcessingJobStatus"], "Failed", "empty input")
    assert empty["FailureReason"].startswith(f'ClientError: No S3 objects found under S3 URL "s3://{BUCKET}/nothing/here"'), empty["FailureReason"]


run(globals())
