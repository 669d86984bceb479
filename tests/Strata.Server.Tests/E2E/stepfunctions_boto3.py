"""AWS Step Functions end to end with an unmodified boto3 (1.43 and Debian's 1.26): state machines
(create, describe, update, list, delete, tags), ValidateStateMachineDefinition, executions of
STANDARD machines (start, describe, list, stop, their history event by event) and EXPRESS ones
(StartSyncExecution), a SageMaker createTrainingJob.sync task called as the machine's role (and a
processing job stopped with its execution), and
AWS's errors for what is refused. Runs on a server whose clock the test moves (Wait states)."""
import json
import os
import subprocess
import sys
import time

from botocore.config import Config

from harness import advance, client, endpoint, eq, execution_role, expect_error, iam_user, run, unique, until, validate_responses

import boto3

sfn = validate_responses(client("stepfunctions"))
# StartSyncExecution's model puts "sync-" before the host: not before an IP address.
sync = boto3.client("stepfunctions", endpoint_url=endpoint(), region_name="us-east-1",
                    config=Config(retries={"max_attempts": 1}, inject_host_prefix=False))
iam, s3 = client("iam"), client("s3")
ACCOUNT = client("sts").get_caller_identity()["Account"]
STATES_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def states_role(actions=()):
    name = unique("states-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=STATES_TRUST)["Role"]["Arn"]
    if actions:
        iam.put_role_policy(RoleName=name, PolicyName="tasks", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
    return arn


ROLE = states_role()
PASS = json.dumps({"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": {"greeting": "hello"}, "ResultPath": "$.out", "End": True}}})
# Pass → Choice → (Wait 60 s → Done) | Fail
FLOW = json.dumps({
    "Comment": "Pass, Choice, Wait and Fail",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n", "double.$": "States.MathAdd($.n, $.n)"}, "Next": "Decide"},
        "Decide": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Pause"}], "Default": "Refuse"},
        "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Refuse": {"Type": "Fail", "Error": "Negative", "Cause": "n must be positive"},
    },
})


def machine(definition=PASS, kind="STANDARD", role=ROLE):
    name = unique("machine")
    arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role, type=kind)["stateMachineArn"]
    return name, arn


def finished(arn):
    until(f"{arn} ends", lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", 120)
    return sfn.describe_execution(executionArn=arn)


def test_state_machines():
    name = unique("machine")
    created = sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE, tags=[{"key": "team", "value": "ml"}],
                                       loggingConfiguration={"level": "OFF"}, tracingConfiguration={"enabled": False})
    arn = created["stateMachineArn"]
    eq(arn, f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{name}", "arn")
    # The same machine again is the same machine; another one of that name is refused.
    eq(sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE)["stateMachineArn"], arn, "idempotent create")
    expect_error(lambda: sfn.create_state_machine(name=name, definition=FLOW, roleArn=ROLE), "StateMachineAlreadyExists", 400, arn)
    d = sfn.describe_state_machine(stateMachineArn=arn)
    eq((d["name"], d["status"], d["type"], d["definition"], d["roleArn"]), (name, "ACTIVE", "STANDARD", PASS, ROLE), "described")
    eq(d["loggingConfiguration"]["level"], "OFF", "logging")
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=FLOW)
    if "revisionId" in d:  # newer than boto3 1.26's model
        assert updated["revisionId"] != d["revisionId"], "a new revision"
    eq(sfn.describe_state_machine(stateMachineArn=arn)["definition"], FLOW, "updated definition")
    expect_error(lambda: sfn.update_state_machine(stateMachineArn=arn), "MissingRequiredParameter", 400)
    eq(sfn.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "team", "value": "ml"}], "tags")
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "stage", "value": "dev"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    eq(sfn.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "stage", "value": "dev"}], "tags changed")
    others = [machine()[1] for _ in range(2)]
    listed, token = [], None
    while True:
        page = sfn.list_state_machines(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["stateMachines"]) <= 2, page
        listed += [m["stateMachineArn"] for m in page["stateMachines"]]
        token = page.get("nextToken")
        if not token:
            break
    assert {arn, *others} <= set(listed), listed
    expect_error(lambda: sfn.list_state_machines(nextToken="bm90LW91cnM="), "InvalidToken", 400)
    sfn.delete_state_machine(stateMachineArn=arn)
    expect_error(lambda: sfn.describe_state_machine(stateMachineArn=arn), "StateMachineDoesNotExist", 400, f"State Machine Does Not Exist: '{arn}'")
    sfn.delete_state_machine(stateMachineArn=arn)  # gone already: a success, as in AWS


def test_bad_state_machines():
    expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition="{", roleArn=ROLE), "InvalidDefinition", 400)
    expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Nope", "End": True}}}), roleArn=ROLE),
                 "InvalidDefinition", 400)
    expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}), roleArn=ROLE),
                 "InvalidDefinition", 400)
    expect_error(lambda: sfn.create_state_machine(name="bad name", definition=PASS, roleArn=ROLE), "InvalidName", 400, "Invalid Name: 'bad name'")
    expect_error(lambda: sfn.create_state_machine(name="a/b", definition=PASS, roleArn=ROLE), "InvalidName", 400)
    expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition=PASS, roleArn="not-an-arn"), "InvalidArn", 400)
    # A role Step Functions may not assume (it trusts SageMaker only), and one that does not exist.
    sagemaker_role = execution_role(iam)
    expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition=PASS, roleArn=sagemaker_role), "AccessDeniedException", 400, "states.amazonaws.com")
    expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition=PASS, roleArn=f"arn:aws:iam::{ACCOUNT}:role/{unique('none')}"),
                 "AccessDeniedException", 400)
    expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition=PASS, roleArn=ROLE, type="FAST"), "ValidationException", 400)
    # An EXPRESS machine cannot wait for a job, a callback or an activity worker, not even inside a Parallel.
    for resource, refused in (("arn:aws:states:::sagemaker:createTrainingJob.sync", "'.sync' service integration"),
                              ("arn:aws:states:::events:putEvents.waitForTaskToken", "'.waitForTaskToken' service integration"),
                              (f"arn:aws:states:us-east-1:{ACCOUNT}:activity:work", "Activity ARN")):
        task = {"Type": "Task", "Resource": resource, "End": True}
        nested = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "T", "States": {"T": task}}]}}})
        expect_error(lambda: sfn.create_state_machine(name=unique("m"), definition=nested, roleArn=ROLE, type="EXPRESS"), "InvalidDefinition", 400,
                     f"Express state machine does not support {refused} at /States/P/Branches/0/States/T/Resource")
    _, express = machine(PASS, kind="EXPRESS")
    waits = json.dumps({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken", "End": True}}})
    expect_error(lambda: sfn.update_state_machine(stateMachineArn=express, definition=waits), "InvalidDefinition", 400, "'.waitForTaskToken'")
    missing = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{unique('none')}"
    expect_error(lambda: sfn.describe_state_machine(stateMachineArn=missing), "StateMachineDoesNotExist", 400, missing)
    expect_error(lambda: sfn.describe_state_machine(stateMachineArn="arn:aws:states:us-east-1:1:execution:a:b"), "InvalidArn", 400)
    expect_error(lambda: sfn.describe_state_machine(stateMachineArn="arn:aws:sns:us-east-1:1:topic"), "InvalidArn", 400)
    expect_error(lambda: sfn.start_execution(stateMachineArn=missing), "StateMachineDoesNotExist", 400)


def test_validate_definition():
    if not hasattr(sfn, "validate_state_machine_definition"):  # newer than boto3 1.26's model
        return
    ok = sfn.validate_state_machine_definition(definition=PASS)
    eq((ok["result"], ok["diagnostics"]), ("OK", []), "a valid definition")
    bad = sfn.validate_state_machine_definition(definition=json.dumps({"StartAt": "Missing", "States": {"A": {"Type": "Pass", "End": True}}}))
    eq(bad["result"], "FAIL", "an invalid definition")
    assert bad["diagnostics"] and all(d["severity"] in ("ERROR", "WARNING") and d["code"] for d in bad["diagnostics"]), bad
    eq(sfn.validate_state_machine_definition(definition="{not json")["result"], "FAIL", "not JSON")


def test_execution_history_of_pass_choice_wait():
    _, arn = machine(FLOW)
    started = sfn.start_execution(stateMachineArn=arn, name="first", input=json.dumps({"n": 2}))
    execution = started["executionArn"]
    eq(execution, arn.replace(":stateMachine:", ":execution:") + ":first", "execution arn")
    # The same name and input while it runs: the same execution; another input: refused.
    eq(sfn.start_execution(stateMachineArn=arn, name="first", input=json.dumps({"n": 2}))["executionArn"], execution, "idempotent start")
    expect_error(lambda: sfn.start_execution(stateMachineArn=arn, name="first", input=json.dumps({"n": 3})), "ExecutionAlreadyExists", 400, execution)
    until("the execution waits", lambda: any(e["type"] == "WaitStateEntered" for e in sfn.get_execution_history(executionArn=execution)["events"]))
    d = sfn.describe_execution(executionArn=execution)
    eq((d["status"], d["name"], d["input"], d["stateMachineArn"]), ("RUNNING", "first", json.dumps({"n": 2}), arn), "running")
    eq([e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]], [execution], "listed as running")
    advance(61)
    d = finished(execution)
    eq((d["status"], json.loads(d["output"])), ("SUCCEEDED", {"n": 2, "double": 4}), "succeeded")
    events = sfn.get_execution_history(executionArn=execution)["events"]
    eq([e["type"] for e in events], ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ChoiceStateEntered", "ChoiceStateExited",
                                     "WaitStateEntered", "WaitStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"], "history")
    eq([e["id"] for e in events], list(range(1, len(events) + 1)), "ids in order")
    eq([e["previousEventId"] for e in events], list(range(0, len(events))), "each event follows the one before")
    eq(events[1]["stateEnteredEventDetails"]["name"], "Prepare", "state name")
    eq(json.loads(events[0]["executionStartedEventDetails"]["input"]), {"n": 2}, "started with the input")
    reverse = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=3)
    eq([e["id"] for e in reverse["events"]], [len(events), len(events) - 1, len(events) - 2], "newest first")
    rest = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=100, nextToken=reverse["nextToken"])
    eq(len(reverse["events"]) + len(rest["events"]), len(events), "pages")
    no_data = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)["events"]
    assert "input" not in no_data[0]["executionStartedEventDetails"], no_data[0]
    described = sfn.describe_state_machine_for_execution(executionArn=execution)
    eq((described["definition"], described["stateMachineArn"]), (FLOW, arn), "the definition it ran")
    # Finished: the name is taken for good.
    expect_error(lambda: sfn.start_execution(stateMachineArn=arn, name="first", input=json.dumps({"n": 2})), "ExecutionAlreadyExists", 400)


def test_failed_execution():
    _, arn = machine(FLOW)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": -1}))["executionArn"]
    d = finished(execution)
    eq((d["status"], d.get("error"), d.get("cause")), ("FAILED", "Negative", "n must be positive"), "failed")
    events = sfn.get_execution_history(executionArn=execution)["events"]
    eq(events[-1]["type"], "ExecutionFailed", "last event")
    eq(events[-1]["executionFailedEventDetails"], {"error": "Negative", "cause": "n must be positive"}, "its details")
    eq([e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"]], [execution], "listed as failed")
    eq(sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"], [], "none succeeded")


def test_stop_execution():
    _, arn = machine(FLOW)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": 5}))["executionArn"]
    until("the execution waits", lambda: any(e["type"] == "WaitStateEntered" for e in sfn.get_execution_history(executionArn=execution)["events"]))
    sfn.stop_execution(executionArn=execution, error="Operator", cause="not today")
    d = sfn.describe_execution(executionArn=execution)
    eq((d["status"], d.get("error"), d.get("cause")), ("ABORTED", "Operator", "not today"), "aborted")
    assert "stopDate" in d, d
    events = sfn.get_execution_history(executionArn=execution)["events"]
    eq(events[-1]["type"], "ExecutionAborted", "last event")
    eq(events[-1]["executionAbortedEventDetails"], {"error": "Operator", "cause": "not today"}, "its details")
    advance(120)
    eq(sfn.describe_execution(executionArn=execution)["status"], "ABORTED", "nothing runs after the stop")
    eq(sfn.get_execution_history(executionArn=execution)["events"][-1]["type"], "ExecutionAborted", "nothing recorded after the stop")


def test_bad_executions():
    _, arn = machine()
    expect_error(lambda: sfn.start_execution(stateMachineArn=arn, input="{nope"), "InvalidExecutionInput", 400)
    # A member named twice is not taken as one of its values: the execution would fail on reading it.
    expect_error(lambda: sfn.start_execution(stateMachineArn=arn, input='{"a": 1, "a": 2}'), "InvalidExecutionInput", 400)
    expect_error(lambda: sfn.start_execution(stateMachineArn=arn, name="has space"), "InvalidName", 400)
    missing = arn.replace(":stateMachine:", ":execution:") + ":" + unique("none")
    expect_error(lambda: sfn.describe_execution(executionArn=missing), "ExecutionDoesNotExist", 400, f"Execution Does Not Exist: '{missing}'")
    expect_error(lambda: sfn.get_execution_history(executionArn=missing), "ExecutionDoesNotExist", 400)
    expect_error(lambda: sfn.stop_execution(executionArn=missing), "ExecutionDoesNotExist", 400)
    expect_error(lambda: sfn.describe_execution(executionArn=arn), "InvalidArn", 400)
    expect_error(lambda: sfn.start_sync_execution if False else sync.start_sync_execution(stateMachineArn=arn), "StateMachineTypeNotSupported", 400)
    done = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    finished(done)
    expect_error(lambda: sfn.get_execution_history(executionArn=done, nextToken="garbage"), "InvalidToken", 400)


def test_express_sync_execution():
    _, arn = machine(PASS, kind="EXPRESS")
    answer = sync.start_sync_execution(stateMachineArn=arn, input=json.dumps({"a": 1}))
    eq((answer["status"], json.loads(answer["output"])), ("SUCCEEDED", {"a": 1, "out": {"greeting": "hello"}}), "ran to its end in the request")
    assert answer["executionArn"].startswith(arn.replace(":stateMachine:", ":express:") + ":"), answer["executionArn"]
    expect_error(lambda: sfn.list_executions(stateMachineArn=arn), "StateMachineTypeNotSupported", 400)
    started = sfn.start_execution(stateMachineArn=arn)
    assert ":express:" in started["executionArn"], started


def test_an_express_execution_has_no_history_quota():
    # 5 000 iterations of two Pass states make 30 006 events: over STANDARD's 25 000, which an
    # EXPRESS execution (no history kept) does not have.
    definition = {"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
        "StartAt": "Double", "States": {"Double": {"Type": "Pass", "Parameters": {"d.$": "States.MathAdd($.i, $.i)"}, "Next": "Pick"},
                                        "Pick": {"Type": "Pass", "InputPath": "$.d", "End": True}}}}}}
    _, arn = machine(json.dumps(definition), kind="EXPRESS")
    answer = sync.start_sync_execution(stateMachineArn=arn, input=json.dumps({"items": [{"i": i} for i in range(5000)]}))
    eq(answer["status"], "SUCCEEDED", f"{answer.get('error')}: {answer.get('cause')}")
    eq(json.loads(answer["output"]), [2 * i for i in range(5000)], "every item")


XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def training_definition(bucket, prefix):
    return json.dumps({"StartAt": "Train", "States": {"Train": {
        "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "Parameters": {
            "TrainingJobName.$": "$.job", "RoleArn": SAGEMAKER_ROLE,
            "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
            "HyperParameters": {"objective": "binary:logistic", "num_round": "10", "max_depth": "3"},
            "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/train"}}}],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}},
        "ResultSelector": {"status.$": "$.TrainingJobStatus", "model.$": "$.ModelArtifacts.S3ModelArtifacts"},
        "End": True}}})


SAGEMAKER_ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))


def training_data():
    import random
    bucket, prefix = unique("sfn-training"), unique("xgb")
    s3.create_bucket(Bucket=bucket)
    rng = random.Random(1)
    rows = []
    for _ in range(200):
        x = [rng.gauss(0, 1) for _ in range(3)]
        rows.append(f"{1 if x[0] - x[1] > 0 else 0}," + ",".join(f"{v:.5f}" for v in x))
    s3.put_object(Bucket=bucket, Key=f"{prefix}/train/train.csv", Body=("\n".join(rows) + "\n").encode())
    return bucket, prefix


def test_sagemaker_training_task():
    bucket, prefix = training_data()
    role = states_role(["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "iam:PassRole"])
    _, arn = machine(training_definition(bucket, prefix), role=role)
    job = unique("sfn-job")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job": job}))["executionArn"]
    until("the job is submitted", lambda: any(e["type"] == "TaskSubmitted" for e in sfn.get_execution_history(executionArn=execution)["events"]))
    # The .sync task polls on the server's clock: move it until the job has ended.
    sm = client("sagemaker")
    until("the job ends", lambda: sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] != "InProgress", 300)
    eq(sm.describe_training_job(TrainingJobName=job)["TrainingJobStatus"], "Completed", "the job")

    def ended():
        advance(10)
        return sfn.describe_execution(executionArn=execution)["status"] != "RUNNING"
    until("the execution ends", ended, 120)
    d = sfn.describe_execution(executionArn=execution)
    eq(d["status"], "SUCCEEDED", f"execution ({d.get('error')}: {d.get('cause')})")
    output = json.loads(d["output"])
    eq(output["status"], "Completed", "the task's result")
    assert output["model"].startswith(f"s3://{bucket}/{prefix}/out/{job}/"), output
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    eq(types, ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited",
               "ExecutionSucceeded"], "history")
    eq(len(sm.list_training_jobs(NameContains=job)["TrainingJobSummaries"]), 1, "one job")


def test_stopping_an_execution_stops_its_sync_job():
    # AWS stops a .sync task's job when the task ends without it: here the execution is stopped
    # while its processing job runs (a container that waits for SIGTERM, then exits).
    image = f"registry.example.com/team/sfn-processor:{unique('v')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                    sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "processing_container.py")],
                   check=True, capture_output=True)
    bucket = unique("sfn-stop")
    s3.create_bucket(Bucket=bucket)
    role = states_role(["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "iam:PassRole"])
    _, arn = machine(json.dumps({"StartAt": "Process", "States": {"Process": {
        "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "Parameters": {
            "ProcessingJobName.$": "$.job", "RoleArn": SAGEMAKER_ROLE,
            "AppSpecification": {"ImageUri": image, "ContainerArguments": ["sleep"]},
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "result", "S3Output": {
                "S3Uri": f"s3://{bucket}/out", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 1}},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600}},
        "End": True}}}), role=role)
    job = unique("sfn-stopped")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job": job}))["executionArn"]
    sm = client("sagemaker")
    until("the job is submitted", lambda: any(e["type"] == "TaskSubmitted" for e in sfn.get_execution_history(executionArn=execution)["events"]))
    until("the job runs", lambda: sm.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"] == "InProgress")
    sfn.stop_execution(executionArn=execution, error="Enough", cause="stopped by the test")
    eq(sfn.describe_execution(executionArn=execution)["status"], "ABORTED", "the execution")
    until("the job stops", lambda: sm.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"] == "Stopped", 60)


def test_task_role_without_permission():
    bucket, prefix = training_data()
    role = states_role(["sagemaker:DescribeTrainingJob"])
    _, arn = machine(training_definition(bucket, prefix), role=role)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job": unique("denied")}))["executionArn"]
    d = finished(execution)
    eq((d["status"], d.get("error")), ("FAILED", "SageMaker.AmazonSageMakerException"), "failed")
    assert "sagemaker:CreateTrainingJob" in d["cause"] and "Error Code: AccessDeniedException" in d["cause"], d["cause"]
    failed = [e for e in sfn.get_execution_history(executionArn=execution)["events"] if e["type"] == "TaskFailed"]
    eq(failed[0]["taskFailedEventDetails"]["error"], "SageMaker.AmazonSageMakerException", "the task's error")


def test_passing_a_role_needs_iam_pass_role():
    # A machine acts as its role: whoever names the role must be allowed to pass it to Step Functions.
    user, keys = iam_user(iam, "sfn-author", ["states:CreateStateMachine", "states:UpdateStateMachine"])
    author = client("stepfunctions", keys)
    expect_error(lambda: author.create_state_machine(name=unique("m"), definition=PASS, roleArn=ROLE), "AccessDeniedException", 400, "iam:PassRole")
    iam.put_user_policy(UserName=user, PolicyName="pass", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE, "Condition": {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}}]}))
    arn = author.create_state_machine(name=unique("m"), definition=PASS, roleArn=ROLE)["stateMachineArn"]
    # Re-pointing the machine at a role the author may not pass is refused too.
    stronger = states_role(["*"])
    expect_error(lambda: author.update_state_machine(stateMachineArn=arn, roleArn=stronger), "AccessDeniedException", 400, "iam:PassRole")
    eq(sfn.describe_state_machine(stateMachineArn=arn)["roleArn"], ROLE, "the role is unchanged")


def test_task_credentials_cannot_name_another_role():
    # A Task's Credentials would act as another role: refused, never run as that role.
    stronger = states_role(["sagemaker:*"])
    definition = json.dumps({"StartAt": "List", "States": {"List": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:listModels", "Parameters": {},
        "Credentials": {"RoleArn.$": "$.role"}, "End": True}}})
    _, arn = machine(definition, role=states_role(["sagemaker:ListModels"]))
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"role": stronger}))["executionArn"]
    d = finished(execution)
    eq((d["status"], d.get("error")), ("FAILED", "States.Runtime"), "refused")
    assert stronger in d["cause"] and "execution's role" in d["cause"], d["cause"]


def test_deleting_a_machine_stops_its_executions():
    _, arn = machine(FLOW)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": 3}))["executionArn"]
    until("the execution waits", lambda: any(e["type"] == "WaitStateEntered" for e in sfn.get_execution_history(executionArn=execution)["events"]))
    sfn.delete_state_machine(stateMachineArn=arn)
    d = sfn.describe_execution(executionArn=execution)
    eq(d["status"], "ABORTED", "stopped with its machine")
    assert "deleted" in d.get("cause", ""), d


def test_execution_logs_in_cloudwatch_logs():
    logs = client("logs")
    group = unique("/aws/vendedlogs/states/logged")
    logs.create_log_group(logGroupName=group)
    destination = [{"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:*"}}]

    def logged(level, data, definition=FLOW, kind="STANDARD"):
        name = unique("logged")
        return name, sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type=kind, loggingConfiguration={
            "level": level, "includeExecutionData": data, "destinations": destination})["stateMachineArn"]

    everything, everything_arn = logged("ALL", True)
    errors, errors_arn = logged("ERROR", False)
    fatal, fatal_arn = logged("FATAL", True)
    express, express_arn = logged("ALL", False, PASS, "EXPRESS")
    runs = {arn: sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": -1}))["executionArn"] for arn in (everything_arn, errors_arn, fatal_arn)}
    for execution in runs.values():
        finished(execution)
    express_run = sync.start_sync_execution(stateMachineArn=express_arn, input=json.dumps({"secret": 1}))["executionArn"]

    def records():
        found = {}
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            for e in page["events"]:
                r = json.loads(e["message"])
                found.setdefault(r["execution_arn"], []).append((e["logStreamName"], r))
        return found
    history = sfn.get_execution_history(executionArn=runs[everything_arn])["events"]
    until("every event is in the log group", lambda: len(records().get(runs[everything_arn], [])) == len(history)
          and len(records().get(express_run, [])) == 4 and len(records().get(runs[fatal_arn], [])) == 1, 60)
    found = records()

    # ALL: every history event, in order, as Step Functions writes it (strings), with its data.
    logged_all = sorted((r for _, r in found[runs[everything_arn]]), key=lambda r: int(r["id"]))
    eq([(r["id"], r["type"], r["previous_event_id"]) for r in logged_all],
       [(str(e["id"]), e["type"], str(e["previousEventId"])) for e in history], "ALL logs the whole history")
    eq(logged_all[0]["redrive_count"], "0", "redrive count")
    eq(json.loads(logged_all[0]["details"]["input"]), {"n": -1}, "the execution's input, with includeExecutionData")
    eq(logged_all[-1]["details"], {"error": "Negative", "cause": "n must be positive"}, "the failure")
    assert abs(int(logged_all[0]["event_timestamp"]) - int(history[0]["timestamp"].timestamp() * 1000)) <= 1, (logged_all[0], history[0])
    streams = {s for s, _ in found[runs[everything_arn]]}
    eq(len(streams), 1, "one stream per execution")
    assert next(iter(streams)).startswith(f"states/{everything}/"), streams

    # ERROR: the failures only, without the execution's data.
    eq([r["type"] for _, r in sorted(found[runs[errors_arn]], key=lambda x: int(x[1]["id"]))], ["FailStateEntered", "ExecutionFailed"], "ERROR logs failures")
    assert all("input" not in r["details"] for _, r in found[runs[errors_arn]]), found[runs[errors_arn]]
    # FATAL: the execution's own failure.
    eq([r["type"] for _, r in found[runs[fatal_arn]]], ["ExecutionFailed"], "FATAL logs the execution's failure")
    # EXPRESS executions have no history in the API: the log is their record.
    eq(sorted(r["type"] for _, r in found[express_run]), sorted(["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]), "express")
    assert all("input" not in r["details"] and "output" not in r["details"] for _, r in found[express_run]), found[express_run]


run(globals())
