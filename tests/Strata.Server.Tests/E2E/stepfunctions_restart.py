"""Helper for StepFunctionsRestartTests (boto3 against a server the test kills and starts again).
  start        starts three executions: one in a Wait state, one whose createTrainingJob.sync task
               has submitted its XGBoost job (with a CheckpointConfig, so the job trains again after
               the restart), and a distributed Map whose child executions wait; returns once all are
               there, printing "<waiting> <training> <job> <map>"
  check W T J M  after the restart: all finish (SUCCEEDED), each state ran once (one TaskSubmitted,
               one job of that name, which a second CreateTrainingJob would have refused; one Map Run,
               each child's history once), and the histories go on from where they were; prints ok"""
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
    mapping = sfn.create_state_machine(name=unique("map"), roleArn=role, definition=json.dumps({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "MaxConcurrency": 2, "End": True, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Pause", "States": {
                "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Done"}, "Done": {"Type": "Pass", "End": True}}}}}}))["stateMachineArn"]
    map_execution = sfn.start_execution(stateMachineArn=mapping, input="[1, 2, 3, 4]")["executionArn"]
    until("the Wait state entered", lambda: "WaitStateEntered" in history(wait_execution), 60)
    until("the job submitted", lambda: "TaskSubmitted" in history(train_execution), 120)
    until("the Map's children waiting", lambda: any(
        "WaitStateEntered" in history(c["executionArn"]) for r in sfn.list_map_runs(executionArn=map_execution)["mapRuns"]
        for c in sfn.list_executions(mapRunArn=r["mapRunArn"])["executions"]), 60)
    print(wait_execution, train_execution, job, map_execution)


def check_map(map_execution):
    until(f"{map_execution} ends", lambda: sfn.describe_execution(executionArn=map_execution)["status"] != "RUNNING", 300)
    mapped = sfn.describe_execution(executionArn=map_execution)
    assert mapped["status"] == "SUCCEEDED" and json.loads(mapped["output"]) == [1, 2, 3, 4], mapped
    events = history(map_execution)
    assert events.count("MapRunStarted") == 1 and events.count("MapRunSucceeded") == 1, events
    runs = sfn.list_map_runs(executionArn=map_execution)["mapRuns"]
    assert len(runs) == 1, runs
    counts = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])["executionCounts"]
    assert (counts["succeeded"], counts["total"]) == (4, 4), counts
    children = sfn.list_executions(mapRunArn=runs[0]["mapRunArn"])["executions"]
    assert len(children) == 4, children
    for c in children:
        assert history(c["executionArn"]) == ["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "PassStateEntered", "PassStateExited",
                                              "ExecutionSucceeded"], history(c["executionArn"])


def check(wait_execution, train_execution, job, map_execution):
    check_map(map_execution)
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
    check(*sys.argv[2:6])
