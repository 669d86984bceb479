"""Processing jobs' time, on a server whose clock the test moves (harness `advance`), through boto3
1.43 and 1.26: MaxRuntimeInSeconds stops a job when its time is up, StopProcessingJob kills a
container that ignores SIGTERM 120 s after it (SIGKILL to its whole process group), and a
Continuous output's files go to S3 while the job runs, every 5 s of the server's clock."""
import os
import subprocess
import sys

from harness import advance, client, eq, execution_role, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, logs = client("s3"), client("iam"), client("logs")
IMAGE = f"registry.example.com/team/processor:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "processing_container.py")], check=True, capture_output=True)
BUCKET = unique("processing")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))


def start(args, runtime=3600, mode="EndOfJob"):
    name = unique("job")
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=ROLE, AppSpecification={"ImageUri": IMAGE, "ContainerArguments": args},
        ProcessingOutputConfig={"Outputs": [{"OutputName": "result", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/out/{name}", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": mode}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 1}},
        StoppingCondition={"MaxRuntimeInSeconds": runtime})
    return name


def status(name):
    return sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"]


def logged(name, text):
    try:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{name}/")["logStreams"]
    except logs.exceptions.ResourceNotFoundException:  # no job has logged anything yet
        return False
    return any(text in e["message"] for s in streams
               for e in logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=s["logStreamName"])["events"])


def keys(name):
    return sorted(o["Key"].rsplit("/", 1)[1] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"out/{name}/").get("Contents", []))


def gone(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_max_runtime_stops_the_job():
    # (The client's clock runs on while the server's waits: each advance moves the server a little
    # further than it says, hence the margins.)
    name = start(["sleep"], runtime=600)
    until("the container waiting", lambda: logged(name, "waiting for SIGTERM"))
    advance(300)
    eq(status(name), "InProgress", "within its time")
    advance(301)
    until("stopped at its limit", lambda: status(name) == "Stopped")
    eq(keys(name), ["progress.txt", "stopped.txt"], "what it saved on SIGTERM, uploaded")


def test_sigkill_after_the_grace_period():
    name = start(["stubborn"])
    until("the container waiting", lambda: logged(name, "waiting for SIGTERM"))
    sm.stop_processing_job(ProcessingJobName=name)
    until("SIGTERM ignored", lambda: logged(name, "ignoring SIGTERM"))
    advance(60)
    eq(status(name), "Stopping", "within the grace period")
    advance(61)
    until("killed", lambda: status(name) == "Stopped")
    job = sm.describe_processing_job(ProcessingJobName=name)
    pid = int(job["ExitMessage"].split()[1])
    until("its grandchild killed too", lambda: gone(pid), 10)
    eq(keys(name), ["progress.txt"], "its output as it was")


def test_continuous_upload_while_the_job_runs():
    name = start(["sleep"], mode="Continuous")
    until("the container waiting", lambda: logged(name, "waiting for SIGTERM"))
    eq(keys(name), [], "nothing before the first period")
    advance(5)
    until("progress.txt uploaded while the job runs", lambda: keys(name) == ["progress.txt"])
    eq(status(name), "InProgress", "still running")
    eq(s3.get_object(Bucket=BUCKET, Key=f"out/{name}/progress.txt")["Body"].read(), b"half way", "its content")
    sm.stop_processing_job(ProcessingJobName=name)
    until("stopped", lambda: status(name) == "Stopped")
    eq(keys(name), ["progress.txt", "stopped.txt"], "and what came after, at the end")


run(globals())
