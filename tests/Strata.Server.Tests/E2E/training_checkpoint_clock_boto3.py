"""Training jobs' checkpoints synced to S3 while the job trains, on a server whose clock the test
moves (harness `advance`), through boto3 1.43 and 1.26: every host's /opt/ml/checkpoints goes to the
job's one CheckpointConfig.S3Uri every 5 s of the server's clock while the job is InProgress (so a
server that dies loses at most that much), only what is new or changed, and once more at the end."""
import os
import subprocess
import sys

from harness import advance, client, eq, execution_role, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, logs = client("s3"), client("iam"), client("logs")
IMAGE = f"registry.example.com/team/distributed:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_container.py")], check=True, capture_output=True)
BUCKET = unique("checkpoints")
s3.create_bucket(Bucket=BUCKET)
s3.put_object(Bucket=BUCKET, Key="data/train/part-0.csv", Body=b"1,2\n")
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))


def logged(name, text):
    try:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/")["logStreams"]
    except logs.exceptions.ResourceNotFoundException:  # nothing logged yet
        return False
    return any(text in e["message"] for s in streams
               for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=s["logStreamName"])["events"])


def checkpoints(prefix):
    return {o["Key"].rsplit("/", 1)[1]: o["LastModified"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", [])}


def content(prefix, name):
    return s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{name}")["Body"].read()


def test_checkpoints_reach_s3_while_the_job_trains():
    name, prefix = unique("ckpt"), unique("checkpoints")
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE, AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        HyperParameters={"mode": "checkpoint"},
        InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600}, CheckpointConfig={"S3Uri": f"s3://{BUCKET}/{prefix}"})
    until("both hosts wrote their checkpoint", lambda: logged(name, "algo-1 waiting for SIGTERM") and logged(name, "algo-2 waiting for SIGTERM"))
    eq(checkpoints(prefix), {}, "nothing before the first period")
    advance(5)
    until("the checkpoints in S3 while the job trains", lambda: sorted(checkpoints(prefix)) == ["algo-1.txt", "algo-2.txt"])
    eq(sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"], "InProgress", "still training")
    eq((content(prefix, "algo-1.txt"), content(prefix, "algo-2.txt")), (b"algo-1 step 1", b"algo-2 step 1"), "their content")

    # Files that did not change are not sent again.
    first = checkpoints(prefix)
    advance(5)
    advance(5)
    eq(checkpoints(prefix), first, "unchanged files stay as they were sent")

    # What the hosts save as they stop goes up at the end.
    sm.stop_training_job(TrainingJobName=name)
    until("stopped", lambda: sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Stopped")
    eq((content(prefix, "algo-1.txt"), content(prefix, "algo-2.txt")), (b"algo-1 step 2", b"algo-2 step 2"), "the last checkpoints")


run(globals())
