"""Helper for StepFunctionsCallbackRestartTests (boto3 against a server the test kills and starts again).
  start      an execution whose activity task a worker took (GetActivityTask), and one whose
             .waitForTaskToken task started its child; prints "<activity execution> <token> <callback execution> <token>"
  check ...  after the restart both tokens are still good: SendTaskSuccess finishes both executions with
             the output given, and each task was scheduled, started and submitted once; prints ok
  poll PID   a worker's GetActivityTask is waiting when the server (PID) is told to stop (SIGTERM): the poll
             is answered at once without a task, as when none came; prints "answered" and the answer's keys"""
import os
import signal
import threading
import time
import json
import sys

from harness import client, unique, until

sfn, iam = client("stepfunctions"), client("iam")
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def types(arn):
    return [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]


def start():
    name = unique("callback-restart-role")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="tasks", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": "*"}]}))
    activity = sfn.create_activity(name=unique("restart-activity"))["activityArn"]
    worked = sfn.create_state_machine(name=unique("worked"), roleArn=role, definition=json.dumps(
        {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 3600, "End": True}}}))["stateMachineArn"]
    child = sfn.create_state_machine(name=unique("child"), roleArn=role, definition=json.dumps(
        {"StartAt": "Hold", "States": {"Hold": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    calling = sfn.create_state_machine(name=unique("calling"), roleArn=role, definition=json.dumps(
        {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                                                "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}}, "End": True}}}))["stateMachineArn"]
    worked_execution = sfn.start_execution(stateMachineArn=worked, input=json.dumps({"n": 1}))["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="before-restart")
    until("the activity started", lambda: "ActivityStarted" in types(worked_execution), 60)
    calling_execution = sfn.start_execution(stateMachineArn=calling)["executionArn"]
    until("the callback submitted", lambda: "TaskSubmitted" in types(calling_execution), 60)
    events = sfn.get_execution_history(executionArn=calling_execution)["events"]
    submitted = json.loads(next(e for e in events if e["type"] == "TaskSubmitted")["taskSubmittedEventDetails"]["output"])
    token = json.loads(sfn.describe_execution(executionArn=submitted["ExecutionArn"])["input"])["token"]
    print(worked_execution, task["taskToken"], calling_execution, token)


def check(worked_execution, worked_token, calling_execution, calling_token):
    sfn.send_task_success(taskToken=worked_token, output=json.dumps({"worked": True}))
    sfn.send_task_success(taskToken=calling_token, output=json.dumps({"called": True}))
    for arn, output in ((worked_execution, {"worked": True}), (calling_execution, {"called": True})):
        until(f"{arn} ends", lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", 60)
        d = sfn.describe_execution(executionArn=arn)
        assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == output, d
    assert types(worked_execution) == ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted", "ActivitySucceeded",
                                       "TaskStateExited", "ExecutionSucceeded"], types(worked_execution)
    assert types(calling_execution) == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded",
                                        "TaskStateExited", "ExecutionSucceeded"], types(calling_execution)
    print("ok")


def poll(pid):
    activity = sfn.create_activity(name=unique("shutdown-activity"))["activityArn"]
    answers = []
    worker = threading.Thread(target=lambda: answers.append(sfn.get_activity_task(activityArn=activity, workerName="at-shutdown")))
    worker.start()
    # The poll waits up to a minute for a task; a few seconds in, the server is told to stop.
    time.sleep(3)
    os.kill(int(pid), signal.SIGTERM)
    worker.join()
    print("answered", sorted(k for k in answers[0] if k != "ResponseMetadata"))


if sys.argv[1] == "start":
    start()
elif sys.argv[1] == "poll":
    poll(sys.argv[2])
else:
    check(*sys.argv[2:6])
