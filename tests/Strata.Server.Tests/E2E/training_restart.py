"""Helper for TrainingRestartTests (boto3 against a server the test kills and starts again).
  start           registers train_container.py and starts two jobs that train until stopped, one
                  with a CheckpointConfig and one without; waits until both are training; prints
                  "<with> <without>"
  check WITH WITHOUT   after the restart: the job without checkpoints failed saying why, the one
                  with them trains again (a Restarting transition) from the checkpoint its first
                  run left, and stops when asked; prints ok"""
import os
import subprocess
import sys

from harness import client, execution_role, unique, until

sm, s3 = client("sagemaker"), client("s3")
BUCKET = "training-restart"


def start():
    image = f"registry.example.com/team/trainer:{unique('v')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                    sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_container.py")], check=True, capture_output=True)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="train/rows.csv", Body=b"1,2\n")
    role = execution_role(client("iam"), s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    names = []
    for checkpoint in (True, False):
        name = unique("restart")
        sm.create_training_job(
            TrainingJobName=name, RoleArn=role, AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
            # Containers that stay when the server is killed alone: the next server must kill them.
            HyperParameters={"mode": "sleep", "outlive": "yes"},
            InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train"}}}],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"}, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            StoppingCondition={"MaxRuntimeInSeconds": 3600}, **({"CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/checkpoints/{name}"}} if checkpoint else {}))
        names.append(name)
    for name in names:
        until(f"{name} training", lambda: sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training", 60)
        # Training is set when the container starts, before it wrote its checkpoint: killing the
        # server before then leaves nothing to restore (a loaded machine showed that race).
        until(f"{name} checkpointed", lambda: logged(name, "waiting for SIGTERM"), 60)
    print(" ".join(names))


def logged(job, text):
    """Whether a log stream of the job has a line containing the text."""
    logs = client("logs")
    try:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{job}/")["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return False  # the group is made with the first line
    return any(text in e["message"] for s in streams
               for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=s["logStreamName"])["events"])


def check(with_checkpoints, without):
    failed = sm.describe_training_job(TrainingJobName=without)
    assert failed["TrainingJobStatus"] == "Failed", failed
    assert "restarted" in failed["FailureReason"] and "no CheckpointConfig" in failed["FailureReason"], failed["FailureReason"]
    until("training again", lambda: sm.describe_training_job(TrainingJobName=with_checkpoints)["SecondaryStatus"] == "Training", 60)
    statuses = [t["Status"] for t in sm.describe_training_job(TrainingJobName=with_checkpoints)["SecondaryStatusTransitions"]]
    assert "Restarting" in statuses, statuses
    # What the first run checkpointed before the server died was restored for the second.
    until("the checkpoint restored", lambda: logged(with_checkpoints, f"restored checkpoint of {with_checkpoints}"), 60)
    sm.stop_training_job(TrainingJobName=with_checkpoints)
    until("stopped", lambda: sm.describe_training_job(TrainingJobName=with_checkpoints)["TrainingJobStatus"] == "Stopped", 60)
    print("ok")


if sys.argv[1] == "start":
    start()
else:
    check(sys.argv[2], sys.argv[3])
