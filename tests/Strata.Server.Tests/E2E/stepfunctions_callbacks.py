"""Step Functions' callback pattern end to end with an unmodified boto3 (1.43 and Debian's 1.26):
activities (create, describe, list, tags, delete), workers in threads that take tasks with
GetActivityTask and answer with SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat,
.waitForTaskToken tasks (JSONPath's $$.Task.Token and JSONata's $states.context.Task.Token),
heartbeat timeouts and task timeouts on the server's clock, which the test moves, the history
events AWS records for them, and AWS's errors for tokens and activities that are refused."""
import json
import os
import subprocess
import threading

from harness import advance, client, eq, expect_error, iam_user, run, unique, until, validate_responses

sfn = validate_responses(client("stepfunctions"))
iam = client("iam")
ACCOUNT = client("sts").get_caller_identity()["Account"]
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def states_role(actions=()):
    name = unique("callback-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    if actions:
        iam.put_role_policy(RoleName=name, PolicyName="tasks", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
    return arn


ROLE = states_role()


def activity():
    name = unique("activity")
    return name, sfn.create_activity(name=name)["activityArn"]


def start(definition, payload=None, role=ROLE):
    machine = sfn.create_state_machine(name=unique("callbacks"), definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload or {}))["executionArn"]


def history(arn):
    return sfn.get_execution_history(executionArn=arn)["events"]


def types(arn):
    return [e["type"] for e in history(arn)]


def finished(arn):
    until(f"{arn} ends", lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", 60)
    return sfn.describe_execution(executionArn=arn)


def poll(arn, worker="worker-1"):
    """GetActivityTask in a thread (it long-polls); returns the thread and where its answer lands."""
    answer = {}
    t = threading.Thread(target=lambda: answer.update(sfn.get_activity_task(activityArn=arn, workerName=worker)))
    t.start()
    return t, answer


def poll_empty(arn):
    """A poll when no task comes: moves the clock past the minute until the poll answers."""
    t, answer = poll(arn)
    for _ in range(30):
        advance(61)
        t.join(1)
        if not t.is_alive():
            break
    assert not t.is_alive(), "the poll answered after its minute"
    return answer


def activity_machine(arn, **task):
    return {"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": arn, "Parameters": {"x.$": "$.x"}, "End": True, **task}}}


def test_activities():
    name = unique("activity")
    created = sfn.create_activity(name=name, tags=[{"key": "team", "value": "ml"}])
    arn = created["activityArn"]
    eq(arn, f"arn:aws:states:us-east-1:{ACCOUNT}:activity:{name}", "arn")
    # Idempotent by name, as AWS's.
    eq(sfn.create_activity(name=name)["activityArn"], arn, "created again")
    d = sfn.describe_activity(activityArn=arn)
    eq((d["activityArn"], d["name"], d["creationDate"]), (arn, name, created["creationDate"]), "described")
    eq(sfn.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "team", "value": "ml"}], "tags")
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "stage", "value": "dev"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    eq(sfn.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "stage", "value": "dev"}], "tags changed")
    others = [activity()[1] for _ in range(2)]
    listed, token = [], None
    while True:
        page = sfn.list_activities(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["activities"]) <= 2, page
        listed += [a["activityArn"] for a in page["activities"]]
        token = page.get("nextToken")
        if not token:
            break
    assert {arn, *others} <= set(listed), listed
    expect_error(lambda: sfn.list_activities(nextToken="bm90LW91cnM="), "InvalidToken", 400)
    sfn.delete_activity(activityArn=arn)
    expect_error(lambda: sfn.describe_activity(activityArn=arn), "ActivityDoesNotExist", 400, f"Activity Does Not Exist: '{arn}'")
    expect_error(lambda: sfn.get_activity_task(activityArn=arn), "ActivityDoesNotExist", 400, arn)
    expect_error(lambda: sfn.list_tags_for_resource(resourceArn=arn), "ResourceNotFound", 400)
    sfn.delete_activity(activityArn=arn)  # gone already: a success, as in AWS
    expect_error(lambda: sfn.describe_activity(activityArn="arn:aws:states:us-east-1:1:stateMachine:x"), "InvalidArn", 400)
    expect_error(lambda: sfn.create_activity(name="bad name"), "InvalidName", 400, "Invalid Name: 'bad name'")
    if "encryptionConfiguration" in sfn.meta.service_model.operation_model("CreateActivity").input_shape.members:  # newer than 1.26
        expect_error(lambda: sfn.create_activity(name=unique("a"), encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/x"}),
                     "InvalidEncryptionConfiguration", 400)


def test_worker_answers_with_success_after_heartbeats():
    _, arn = activity()
    execution = start(activity_machine(arn, HeartbeatSeconds=10, TimeoutSeconds=300), {"x": 41})
    t, task = poll(arn, "worker-1")
    t.join(30)
    assert not t.is_alive() and task.get("taskToken"), task
    eq(json.loads(task["input"]), {"x": 41}, "the task's input")
    until("the activity started", lambda: "ActivityStarted" in types(execution))
    # Heartbeats keep the task alive past its HeartbeatSeconds (8 + 8 > 10).
    advance(8)
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    advance(8)
    eq(sfn.describe_execution(executionArn=execution)["status"], "RUNNING", "alive on heartbeats")
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"y": 42}))
    d = finished(execution)
    eq((d["status"], json.loads(d["output"])), ("SUCCEEDED", {"y": 42}), "the worker's output")
    events = history(execution)
    eq([e["type"] for e in events], ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted", "ActivitySucceeded",
                                     "TaskStateExited", "ExecutionSucceeded"], "history")
    scheduled = events[2]["activityScheduledEventDetails"]
    eq((scheduled["resource"], json.loads(scheduled["input"]), scheduled["heartbeatInSeconds"], scheduled["timeoutInSeconds"]),
       (arn, {"x": 41}, 10, 300), "ActivityScheduled")
    eq(events[3]["activityStartedEventDetails"], {"workerName": "worker-1"}, "ActivityStarted")
    eq(json.loads(events[4]["activitySucceededEventDetails"]["output"]), {"y": 42}, "ActivitySucceeded")
    eq([e["previousEventId"] for e in events], [0, 1, 2, 3, 4, 5, 6], "previous events")
    # The task is answered: its token is no more.
    expect_error(lambda: sfn.send_task_success(taskToken=task["taskToken"], output="{}"), "TaskDoesNotExist", 400)


def test_a_task_cancelled_by_its_failing_sibling_answers_nothing():
    # A Parallel whose other branch fails cancels the activity's task: the execution goes on (the
    # Catch holds it), but the task's token is no more, as on AWS, rather than taking an answer.
    _, arn = activity()
    execution = start({"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Branches": [
            {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": arn, "End": True}}},
            {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 10, "Next": "Broken"},
                                            "Broken": {"Type": "Fail", "Error": "Broken", "Cause": "the other branch"}}}],
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Hold"}], "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    t, task = poll(arn)
    t.join(30)
    assert not t.is_alive() and task.get("taskToken"), task
    until("the activity started", lambda: "ActivityStarted" in types(execution))
    advance(11)
    until("the execution holds", lambda: any(e.get("stateEnteredEventDetails", {}).get("name") == "Hold" for e in history(execution)))
    eq(sfn.describe_execution(executionArn=execution)["status"], "RUNNING", "held after the Catch")
    expect_error(lambda: sfn.send_task_success(taskToken=task["taskToken"], output="{}"), "TaskDoesNotExist", 400)
    sfn.stop_execution(executionArn=execution)


def test_worker_answers_with_failure():
    _, arn = activity()
    execution = start(activity_machine(arn), {"x": 1})
    t, task = poll(arn)
    t.join(30)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Worker.Broken", cause="the disk is full")
    d = finished(execution)
    eq((d["status"], d["error"], d["cause"]), ("FAILED", "Worker.Broken", "the disk is full"), "failed as the worker said")
    events = history(execution)
    eq([e["type"] for e in events][2:5], ["ActivityScheduled", "ActivityStarted", "ActivityFailed"], "history")
    eq(events[4]["activityFailedEventDetails"], {"error": "Worker.Broken", "cause": "the disk is full"}, "ActivityFailed")
    expect_error(lambda: sfn.send_task_heartbeat(taskToken=task["taskToken"]), "TaskDoesNotExist", 400)


def test_missed_heartbeat_times_the_task_out():
    _, arn = activity()
    # Caught, so the execution waits on and a late answer meets the timed-out task.
    machine = activity_machine(arn, HeartbeatSeconds=10)
    del machine["States"]["Work"]["End"]
    machine["States"]["Work"].update({"Next": "Done", "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Linger"}]})
    machine["States"]["Linger"] = {"Type": "Wait", "Seconds": 3600, "Next": "Done"}
    machine["States"]["Done"] = {"Type": "Succeed"}
    execution = start(machine, {"x": 1})
    t, task = poll(arn)
    t.join(30)
    until("the activity started", lambda: "ActivityStarted" in types(execution))
    advance(11)
    until("the heartbeat timed out", lambda: "WaitStateEntered" in types(execution))
    timed_out = next(e for e in history(execution) if e["type"] == "ActivityTimedOut")
    eq(timed_out["activityTimedOutEventDetails"]["error"], "States.HeartbeatTimeout", "ActivityTimedOut")
    expect_error(lambda: sfn.send_task_success(taskToken=task["taskToken"], output="{}"), "TaskTimedOut", 400)
    sfn.stop_execution(executionArn=execution)


def test_task_timeout_before_any_worker():
    _, arn = activity()
    execution = start(activity_machine(arn, TimeoutSeconds=30), {"x": 1})
    until("the activity is scheduled", lambda: "ActivityScheduled" in types(execution))
    advance(31)
    d = finished(execution)
    eq((d["status"], d["error"]), ("FAILED", "States.Timeout"), "timed out")
    eq(types(execution)[2:4], ["ActivityScheduled", "ActivityTimedOut"], "history")
    # The timed-out task is no worker's any more.
    assert not poll_empty(arn).get("taskToken"), "a timed-out task handed out"


def test_missing_activity_fails_to_schedule():
    name, arn = activity()
    sfn.delete_activity(activityArn=arn)
    execution = start(activity_machine(arn), {"x": 1})
    d = finished(execution)
    eq(d["status"], "FAILED", "failed")
    events = history(execution)
    eq([e["type"] for e in events], ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityScheduleFailed", "ExecutionFailed"], "history")
    assert name in events[3]["activityScheduleFailedEventDetails"]["cause"], events[3]


def test_empty_poll():
    _, arn = activity()
    answer = poll_empty(arn)
    assert not answer.get("taskToken"), answer


def test_wait_for_task_token_jsonpath_and_jsonata():
    child = sfn.create_state_machine(name=unique("child"), roleArn=ROLE, definition=json.dumps(
        {"StartAt": "Hold", "States": {"Hold": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    role = states_role(["states:StartExecution"])
    path = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken", "HeartbeatSeconds": 600,
        "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}}, "End": True}}}
    jsonata = {"QueryLanguage": "JSONata", "StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Arguments": {"StateMachineArn": child, "Input": {"token": "{% $states.context.Task.Token %}"}}, "End": True}}}
    for definition in (path, jsonata):
        execution = start(definition, role=role)
        until("the task submitted", lambda: "TaskSubmitted" in types(execution) or sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")
        assert "TaskSubmitted" in types(execution), (sfn.describe_execution(executionArn=execution), history(execution))
        events = history(execution)
        submitted = json.loads(next(e for e in events if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]["output"])
        token = json.loads(sfn.describe_execution(executionArn=submitted["ExecutionArn"])["input"])["token"]
        scheduled = json.loads(next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]["parameters"])
        eq(scheduled["Input"]["token"], token, "the token handed on")
        expect_error(lambda: sfn.send_task_success(taskToken=token, output="not json"), "InvalidOutput", 400)
        expect_error(lambda: sfn.send_task_success(taskToken=token, output='{"a": 1, "a": 2}'), "InvalidOutput", 400)
        sfn.send_task_heartbeat(taskToken=token)
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
        d = finished(execution)
        eq((d["status"], json.loads(d["output"])), ("SUCCEEDED", {"approved": True}), "the callback's output")
        eq(types(execution), ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded",
                              "TaskStateExited", "ExecutionSucceeded"], "history")


def test_bad_tokens():
    expect_error(lambda: sfn.send_task_success(taskToken="not-a-token", output="{}"), "InvalidToken", 400)
    expect_error(lambda: sfn.send_task_heartbeat(taskToken="x" * 100), "InvalidToken", 400)
    expect_error(lambda: sfn.send_task_success(taskToken="A" * 128, output="{}"), "TaskDoesNotExist", 400)
    expect_error(lambda: sfn.send_task_failure(taskToken="A" * 128, error="E"), "TaskDoesNotExist", 400)
    _, arn = activity()
    execution = start(activity_machine(arn), {"x": 1})
    t, task = poll(arn)
    t.join(30)
    token = task["taskToken"]
    # Another account's caller cannot answer it: to them the task does not exist.
    out = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "accounts", "create", unique("tenant"), "--data-dir", os.environ["STRATA_DATA_DIR"]],
                         check=True, capture_output=True, text=True).stdout
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    theirs = client("stepfunctions", (lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"]))
    expect_error(lambda: theirs.send_task_success(taskToken=token, output="{}"), "TaskDoesNotExist", 400)
    expect_error(lambda: theirs.get_activity_task(activityArn=arn), "AccessDeniedException", 400)
    # A user of this account needs states:SendTaskSuccess.
    _, keys = iam_user(iam, "worker", ["states:SendTaskHeartbeat"])
    limited = client("stepfunctions", keys)
    limited.send_task_heartbeat(taskToken=token)
    expect_error(lambda: limited.send_task_success(taskToken=token, output="{}"), "AccessDeniedException", 400)
    # A stopped execution's task answers nothing.
    sfn.stop_execution(executionArn=execution)
    expect_error(lambda: sfn.send_task_success(taskToken=token, output="{}"), "TaskDoesNotExist", 400)


run(globals())
