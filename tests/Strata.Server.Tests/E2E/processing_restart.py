"""Helper for ProcessingRestartTests (boto3 against a server the test kills and starts again).
  start        registers processing_container.py and starts a job whose container waits; prints its
               name once the container runs
  check NAME   after the restart: the job failed, saying the server restarted; prints ok"""
import os
import subprocess
import sys

from harness import client, execution_role, unique, until

sm, s3, logs = client("sagemaker"), client("s3"), client("logs")
BUCKET = "processing-restart"


def start():
    image = f"registry.example.com/team/processor:{unique('v')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                    sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "processing_container.py")], check=True, capture_output=True)
    s3.create_bucket(Bucket=BUCKET)
    role = execution_role(client("iam"), s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    name = unique("restart")
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=role, AppSpecification={"ImageUri": image, "ContainerArguments": ["linger"]},
        ProcessingOutputConfig={"Outputs": [{"OutputName": "out", "S3Output": {"S3Uri": f"s3://{BUCKET}/out", "LocalPath": "/opt/ml/processing/out", "S3UploadMode": "EndOfJob"}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}})

    def lingering():
        try:
            streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{name}/")["logStreams"]
        except logs.exceptions.ResourceNotFoundException:  # nothing logged yet
            return False
        return any("lingering" in e["message"] for s in streams
                   for e in logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=s["logStreamName"])["events"])
    until("the container running", lingering, 60)
    assert sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "InProgress"
    print(name)


def check(name):
    job = sm.describe_processing_job(ProcessingJobName=name)
    assert job["ProcessingJobStatus"] == "Failed", job
    assert "restarted" in job["FailureReason"] and "does not resume" in job["FailureReason"], job["FailureReason"]
    assert "ProcessingEndTime" in job, job
    listed = sm.list_processing_jobs(NameContains=name)["ProcessingJobSummaries"]
    assert [j["ProcessingJobStatus"] for j in listed] == ["Failed"], listed
    print("ok")


if sys.argv[1] == "start":
    start()
else:
    check(sys.argv[2])
