"""For OperationsTests: starts a processing job whose container (processing_container.py in its
"sleep" mode) runs until it is stopped, waits until the container is running, and prints the job's
name, so that `strata status` and the server's shutdown have a job in progress to tell about."""
import os
import subprocess
import sys

from harness import client, execution_role, unique, until

sm, s3, iam, logs = client("sagemaker"), client("s3"), client("iam"), client("logs")
IMAGE = f"registry.example.com/ops/sleeper:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "processing_container.py")], check=True, capture_output=True)
bucket = unique("ops")
s3.create_bucket(Bucket=bucket)
role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
name = unique("sleeper")
sm.create_processing_job(
    ProcessingJobName=name, RoleArn=role, AppSpecification={"ImageUri": IMAGE, "ContainerArguments": ["sleep"]},
    ProcessingOutputConfig={"Outputs": [{"OutputName": "result", "S3Output": {
        "S3Uri": f"s3://{bucket}/out", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
    ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}},
    StoppingCondition={"MaxRuntimeInSeconds": 3600})


def waiting():
    try:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{name}/")["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return False
    return any("waiting for SIGTERM" in e["message"] for s in streams for e in logs.get_log_events(
        logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=s["logStreamName"], startFromHead=True)["events"])


until("the container running", waiting, 120)
print(name)
