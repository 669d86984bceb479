"""Helper for StepFunctionsRestartTests (boto3 against a server the test kills and starts again).
  start        starts two executions: one in a Wait state, one whose createTrainingJob.sync task
               has submitted its XGBoost job (with a CheckpointConfig, so the job trains again after
               the restart); returns once both are there, printing "<waiting> <training> <job>"
  check W T J  after the restart: both executions finish (SUCCEEDED), each state ran once (one
               TaskSubmitted, one job of that name, which a second CreateTrainingJob would have
               refused), and the histories go on from where they were; prints ok"""
import json
import random
import sys

from harness import client, execution_role, unique, until

sfn, s3, sm, iam = client("stepfunctions"), client("s3"), client("sagemaker"), client("iam")
BUCKET = "sfn-restart"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def history(arn):
    return [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]


def start():
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(1)
    rows = []
    for _ in range(300):
        x = [rng.gauss(0, 1) for _ in range(3)]
        rows.append(f"{1 if x[0] - x[1] > 0 else 0}," + ",".join(f"{v:.5f}" for v in x))
    s3.put_object(Bucket=BUCKET, Key="train/train.csv", Body=("\n".join(rows) + "\n").encode())
    sagemaker_role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    name = unique("states-role")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="tasks", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "iam:PassRole"], "Resource": "*"}]}))
    waiting = sfn.create_state_machine(name=unique("wait"), roleArn=role, definition=json.dumps({"StartAt": "Pause", "States": {
        "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Done"}, "Done": {"Type": "Pass", "Result": "waited", "End": True}}}))["stateMachineArn"]
    job = unique("sfn-restart")
    training = sfn.create_state_machine(name=unique("train"), roleArn=role, definition=json.dumps({"StartAt": "Train", "States": {"Train": {
        "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "Parameters": {
            "TrainingJobName": job, "RoleArn": sagemaker_role,
            "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
            "HyperParameters": {"objective": "binary:logistic", "num_round": "20", "max_depth": "3"},
            "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train"}}}],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
            "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/checkpoints/{job}"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}},
        "ResultSelector": {"status.$": "$.TrainingJobStatus"},
        "End": True}}}))["stateMachineArn"]
    wait_execution = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    train_execution = sfn.start_execution(stateMachineArn=training)["executionArn"]
    until("the Wait state entered", lambda: "WaitStateEntered" in history(wait_execution), 60)
    until("the job submitted", lambda: "TaskSubmitted" in history(train_execution), 120)
    print(wait_execution, train_execution, job)


def check(wait_execution, train_execution, job):
    for arn in (wait_execution, train_execution):
        until(f"{arn} ends", lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", 300)
    waited = sfn.describe_execution(executionArn=wait_execution)
    assert waited["status"] == "SUCCEEDED" and json.loads(waited["output"]) == "waited", waited
    assert history(wait_execution) == ["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"], history(wait_execution)
    trained = sfn.describe_execution(executionArn=train_execution)
    if trained["status"] == "FAILED":
        # The kill can land after training, while the job uploads its model: SageMaker's job then
        # fails saying so (it trains again after a restart only from its checkpoints, mid-training),
        # and the task reports the job's end as AWS's .sync does. Either way it ran once.
        assert trained["error"] == "States.TaskFailed" and "restarted while the job was uploading" in trained["cause"], trained
    else:
        assert trained["status"] == "SUCCEEDED", trained
        assert json.loads(trained["output"]) == {"status": "Completed"}, trained["output"]
    events = history(train_execution)
    assert events.count("TaskSubmitted") == 1 and events.count("TaskScheduled") == 1, events
    assert events[-1] == ("ExecutionSucceeded" if trained["status"] == "SUCCEEDED" else "ExecutionFailed"), events
    assert [j["TrainingJobName"] for j in sm.list_training_jobs(NameContains=job)["TrainingJobSummaries"]] == [job]
    ids = [e["id"] for e in sfn.get_execution_history(executionArn=train_execution)["events"]]
    assert ids == list(range(1, len(ids) + 1)), ids
    print("ok")


if sys.argv[1] == "start":
    start()
else:
    check(*sys.argv[2:5])
