"""Step Functions versions, aliases and redrive end to end with an unmodified boto3 1.43 (Debian's
boto3 1.26 has none of these operations in its model), and the aws CLI v1 for a version and an alias.
Runs on a server whose clock the script moves: the last test (by name) moves it past the 14-day
redrive window, so the CLI (which signs with the real time) runs before it."""
import json
import os
import subprocess

from harness import advance, advance_until, client, endpoint, eq, expect_error, iam_user, run, unique, until, validate_responses

sfn = validate_responses(client("stepfunctions"))
iam, s3 = client("iam"), client("s3")
ACCOUNT = client("sts").get_caller_identity()["Account"]
STATES_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ROLE = iam.create_role(RoleName=unique("states-versions"), AssumeRolePolicyDocument=STATES_TRUST)["Role"]["Arn"]


def answering(result):
    return json.dumps({"StartAt": "Answer", "States": {"Answer": {"Type": "Pass", "Result": result, "End": True}}})


def machine(definition=None, kind="STANDARD", **kwargs):
    name = unique("versioned")
    out = sfn.create_state_machine(name=name, definition=definition or answering("v1"), roleArn=ROLE, type=kind, **kwargs)
    return name, out


def finished(arn):
    until(f"{arn} ends", lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", 60)
    return sfn.describe_execution(executionArn=arn)


def test_publish_versions_and_run_them():
    name, out = machine(publish=True, versionDescription="first")
    arn = out["stateMachineArn"]
    eq(out["stateMachineVersionArn"], f"{arn}:1", "create with publish")
    # Nothing changed since version 1: publishing again answers version 1 (idempotent).
    again = sfn.publish_state_machine_version(stateMachineArn=arn)
    eq(again["stateMachineVersionArn"], f"{arn}:1", "unchanged revision")
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=answering("v2"), publish=True, versionDescription="second")
    eq(updated["stateMachineVersionArn"], f"{arn}:2", "update with publish")
    # A stale revision is refused; the current one (or none) publishes.
    expect_error(lambda: sfn.publish_state_machine_version(stateMachineArn=arn, revisionId="not-the-revision"), "ConflictException", 400)
    sfn.update_state_machine(stateMachineArn=arn, definition=answering("v3"))
    revision = sfn.describe_state_machine(stateMachineArn=arn)["revisionId"]
    v3 = sfn.publish_state_machine_version(stateMachineArn=arn, revisionId=revision, description="third")
    eq(v3["stateMachineVersionArn"], f"{arn}:3", "published")
    sfn.update_state_machine(stateMachineArn=arn, definition=answering("v4"))
    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    eq([v["stateMachineVersionArn"] for v in listed], [f"{arn}:3", f"{arn}:2", f"{arn}:1"], "newest first")
    page = sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=2)
    eq(len(page["stateMachineVersions"]), 2, "page")
    eq(sfn.list_state_machine_versions(stateMachineArn=arn, nextToken=page["nextToken"])["stateMachineVersions"][0]["stateMachineVersionArn"], f"{arn}:1", "next")
    # A version is the snapshot it was published from, not the machine as it is now.
    d = sfn.describe_state_machine(stateMachineArn=f"{arn}:2")
    eq((d["stateMachineArn"], json.loads(d["definition"])["States"]["Answer"]["Result"], d["description"]), (f"{arn}:2", "v2", "second"), "version 2")
    eq(json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["States"]["Answer"]["Result"], "v4", "machine")
    execution = sfn.start_execution(stateMachineArn=f"{arn}:1")["executionArn"]
    eq(execution, f"arn:aws:states:us-east-1:{ACCOUNT}:execution:{name}:{execution.split(':')[-1]}", "execution of a version")
    e = finished(execution)
    eq((e["status"], json.loads(e["output"]), e["stateMachineArn"], e["stateMachineVersionArn"]), ("SUCCEEDED", "v1", arn, f"{arn}:1"), "ran v1")
    assert "stateMachineAliasArn" not in e, e
    run_as = sfn.describe_state_machine_for_execution(executionArn=execution)
    eq((run_as["stateMachineArn"], json.loads(run_as["definition"])["States"]["Answer"]["Result"]), (f"{arn}:1", "v1"), "for execution")
    listed = sfn.list_executions(stateMachineArn=f"{arn}:1")["executions"]
    eq([(x["executionArn"], x["stateMachineVersionArn"]) for x in listed], [(execution, f"{arn}:1")], "executions of version 1")
    eq(sfn.list_executions(stateMachineArn=f"{arn}:2")["executions"], [], "none of version 2")
    # Deleting a version keeps its number: the next is 4, and the deleted one names nothing.
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:3")
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:3")
    expect_error(lambda: sfn.describe_state_machine(stateMachineArn=f"{arn}:3"), "StateMachineDoesNotExist", 400, f"{arn}:3")
    expect_error(lambda: sfn.start_execution(stateMachineArn=f"{arn}:3"), "StateMachineDoesNotExist", 400)
    eq(sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"], f"{arn}:4", "numbers are not reused")


def test_alias_routing_between_two_versions():
    name, out = machine(publish=True)
    arn = out["stateMachineArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=answering("v2"), publish=True)
    alias = sfn.create_state_machine_alias(name="live", description="half and half", routingConfiguration=[
        {"stateMachineVersionArn": f"{arn}:1", "weight": 50}, {"stateMachineVersionArn": f"{arn}:2", "weight": 50}])
    eq(alias["stateMachineAliasArn"], f"{arn}:live", "alias arn")
    d = sfn.describe_state_machine_alias(stateMachineAliasArn=f"{arn}:live")
    eq((d["name"], d["description"], [(r["stateMachineVersionArn"], r["weight"]) for r in d["routingConfiguration"]]),
       ("live", "half and half", [(f"{arn}:1", 50), (f"{arn}:2", 50)]), "described")
    # Both versions get traffic (at 50/50 all of 24 executions on one version is a 1 in 8 million chance).
    runs = [sfn.start_execution(stateMachineArn=f"{arn}:live")["executionArn"] for _ in range(24)]
    ran = [finished(r) for r in runs]
    eq({e["stateMachineAliasArn"] for e in ran}, {f"{arn}:live"}, "alias recorded")
    for e in ran:
        eq(json.loads(e["output"]), "v" + e["stateMachineVersionArn"].split(":")[-1], "output of the version run")
    eq({e["stateMachineVersionArn"] for e in ran}, {f"{arn}:1", f"{arn}:2"}, "both versions ran")
    eq(len(sfn.list_executions(stateMachineArn=f"{arn}:live")["executions"]), 24, "executions of the alias")
    # All traffic to version 2; version 1 can then be deleted, version 2 cannot while routed to.
    sfn.update_state_machine_alias(stateMachineAliasArn=f"{arn}:live", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:2", "weight": 100}])
    e = finished(sfn.start_execution(stateMachineArn=f"{arn}:live")["executionArn"])
    eq((json.loads(e["output"]), e["stateMachineVersionArn"]), ("v2", f"{arn}:2"), "routed to 2")
    expect_error(lambda: sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:2"), "ConflictException", 400, f"{arn}:live")
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1")
    # Newest alias first; a version's ARN lists only the aliases that route to it.
    advance(1)
    sfn.create_state_machine_alias(name="canary", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:2", "weight": 100}])
    aliases = lambda of: [a["stateMachineAliasArn"] for a in sfn.list_state_machine_aliases(stateMachineArn=of)["stateMachineAliases"]]
    eq(aliases(arn), [f"{arn}:canary", f"{arn}:live"], "aliases, newest first")
    eq(aliases(f"{arn}:2"), [f"{arn}:canary", f"{arn}:live"], "aliases of version 2")
    sfn.update_state_machine(stateMachineArn=arn, definition=answering("v3"), publish=True)
    eq(aliases(f"{arn}:3"), [], "aliases of version 3")
    expect_error(lambda: sfn.list_state_machine_aliases(stateMachineArn=f"{arn}:1"), "ResourceNotFound", 400)
    sfn.delete_state_machine_alias(stateMachineAliasArn=f"{arn}:canary")
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:3")
    sfn.delete_state_machine_alias(stateMachineAliasArn=f"{arn}:live")
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:2")
    expect_error(lambda: sfn.describe_state_machine_alias(stateMachineAliasArn=f"{arn}:live"), "ResourceNotFound", 400)
    eq(sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"], [], "no versions")


def test_express_version_sync_execution():
    _, out = machine(answering("express-v1"), kind="EXPRESS", publish=True)
    arn = out["stateMachineArn"]
    sfn.create_state_machine_alias(name="prod", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}])
    sfn.update_state_machine(stateMachineArn=arn, definition=answering("express-v2"))
    from botocore.config import Config
    import boto3
    sync = boto3.client("stepfunctions", endpoint_url=endpoint(), region_name="us-east-1", config=Config(inject_host_prefix=False))
    out = sync.start_sync_execution(stateMachineArn=f"{arn}:prod")
    eq((out["status"], json.loads(out["output"])), ("SUCCEEDED", "express-v1"), "sync through the alias")
    eq(json.loads(sync.start_sync_execution(stateMachineArn=arn)["output"]), "express-v2", "the machine itself")


def test_deleting_a_machine_deletes_its_versions_and_aliases():
    name, out = machine(publish=True)
    arn = out["stateMachineArn"]
    sfn.create_state_machine_alias(name="gone", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}])
    sfn.delete_state_machine(stateMachineArn=arn)
    expect_error(lambda: sfn.describe_state_machine(stateMachineArn=f"{arn}:1"), "StateMachineDoesNotExist", 400)
    expect_error(lambda: sfn.describe_state_machine_alias(stateMachineAliasArn=f"{arn}:gone"), "ResourceNotFound", 400)
    # A new machine of the same name starts again at version 1, with no alias.
    again = sfn.create_state_machine(name=name, definition=answering("again"), roleArn=ROLE, publish=True)
    eq(again["stateMachineVersionArn"], f"{arn}:1", "fresh numbering")
    eq(sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"], [], "no aliases")


def test_bad_versions_and_aliases():
    _, out = machine(publish=True)
    arn = out["stateMachineArn"]
    _, other = machine(publish=True)
    route = [{"stateMachineVersionArn": f"{arn}:1", "weight": 100}]
    expect_error(lambda: sfn.update_state_machine(stateMachineArn=arn, definition=answering("x"), versionDescription="no publish"),
                 "ValidationException", 400, "publish")
    expect_error(lambda: sfn.create_state_machine_alias(name="a", routingConfiguration=[
        {"stateMachineVersionArn": f"{arn}:1", "weight": 60}, {"stateMachineVersionArn": f"{arn}:1", "weight": 40}]), "ValidationException", 400, "distinct")
    expect_error(lambda: sfn.create_state_machine_alias(name="a", routingConfiguration=[
        {"stateMachineVersionArn": f"{arn}:1", "weight": 60}]), "ValidationException", 400, "100")
    expect_error(lambda: sfn.create_state_machine_alias(name="a", routingConfiguration=[
        {"stateMachineVersionArn": f"{arn}:1", "weight": 50}, {"stateMachineVersionArn": other["stateMachineVersionArn"], "weight": 50}]),
        "ValidationException", 400, "same state machine")
    expect_error(lambda: sfn.create_state_machine_alias(name="a", routingConfiguration=[{"stateMachineVersionArn": arn, "weight": 100}]), "InvalidArn", 400)
    expect_error(lambda: sfn.create_state_machine_alias(name="a", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:9", "weight": 100}]),
                 "ResourceNotFound", 400, f"{arn}:9")
    expect_error(lambda: sfn.create_state_machine_alias(name="123", routingConfiguration=route), "ValidationException", 400)
    sfn.create_state_machine_alias(name="a", routingConfiguration=route)
    eq(sfn.create_state_machine_alias(name="a", routingConfiguration=route)["stateMachineAliasArn"], f"{arn}:a", "idempotent")
    sfn.update_state_machine(stateMachineArn=arn, definition=answering("v2"), publish=True)
    expect_error(lambda: sfn.create_state_machine_alias(name="a", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:2", "weight": 100}]),
                 "ConflictException", 400)
    expect_error(lambda: sfn.update_state_machine_alias(stateMachineAliasArn=f"{arn}:a"), "ValidationException", 400)
    expect_error(lambda: sfn.update_state_machine_alias(stateMachineAliasArn=f"{arn}:nope", description="d"), "ResourceNotFound", 400)
    expect_error(lambda: sfn.delete_state_machine_alias(stateMachineAliasArn=f"{arn}:nope"), "ResourceNotFound", 400)
    expect_error(lambda: sfn.describe_state_machine_alias(stateMachineAliasArn=f"{arn}:1"), "InvalidArn", 400)
    expect_error(lambda: sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:a"), "InvalidArn", 400)
    expect_error(lambda: sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:1"), "ConflictException", 400, f"{arn}:a")
    expect_error(lambda: sfn.start_execution(stateMachineArn=f"{arn}:nope"), "StateMachineDoesNotExist", 400)
    expect_error(lambda: sfn.publish_state_machine_version(stateMachineArn=arn + "x"), "StateMachineDoesNotExist", 400)
    expect_error(lambda: sfn.list_state_machine_aliases(stateMachineArn=arn + "x"), "StateMachineDoesNotExist", 400)


def test_aws_cli_v1_version_and_alias():
    _, out = machine(publish=True)
    arn = out["stateMachineArn"]
    cli = ["aws", "--endpoint-url", endpoint(), "--output", "text", "stepfunctions"]
    sfn.update_state_machine(stateMachineArn=arn, definition=answering("cli"))
    version = subprocess.run(cli + ["publish-state-machine-version", "--state-machine-arn", arn, "--description", "from the CLI",
                                    "--query", "stateMachineVersionArn"], capture_output=True, text=True, env=os.environ, check=True).stdout.strip()
    eq(version, f"{arn}:2", "published by the CLI")
    routing = json.dumps([{"stateMachineVersionArn": f"{arn}:1", "weight": 90}, {"stateMachineVersionArn": version, "weight": 10}])
    alias = subprocess.run(cli + ["create-state-machine-alias", "--name", "canary", "--routing-configuration", routing, "--query", "stateMachineAliasArn"],
                           capture_output=True, text=True, env=os.environ, check=True).stdout.strip()
    eq(alias, f"{arn}:canary", "alias by the CLI")
    eq(sorted(r["weight"] for r in sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["routingConfiguration"]), [10, 90], "weights")


# ---- redrive ----
# The task that fails and then succeeds: DescribeActivity of an activity the test creates between
# the failure and the redrive.

def describe_role():
    name = unique("states-redrive")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=STATES_TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "states:DescribeActivity", "Resource": "*"}]}))
    return arn


def activity_arn(name):
    return f"arn:aws:states:us-east-1:{ACCOUNT}:activity:{name}"


def describe(arn_path, next_state=None, result_path=None):
    state = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:describeActivity",
             "Parameters": {"ActivityArn.$": arn_path}, "ResultSelector": {"name.$": "$.Name"}}
    if result_path:
        state["ResultPath"] = result_path
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


def events_after_redrive(execution):
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    i = max(i for i, e in enumerate(events) if e["type"] == "ExecutionRedriven")
    return events[i], events[i + 1:]


def test_iam_authorizes_versions_and_aliases_as_their_machine():
    # AWS authorizes a version or an alias ARN as its state machine's ARN; the condition key
    # states:StateMachineQualifier scopes a statement down to some qualifiers.
    name, out = machine(publish=True)
    arn = out["stateMachineArn"]
    sfn.create_state_machine_alias(name="PROD", routingConfiguration=[{"stateMachineVersionArn": f"{arn}:1", "weight": 100}])
    user, keys = iam_user(iam, "sfn-qualified")
    iam.put_user_policy(UserName=user, PolicyName="start", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["states:StartExecution", "states:DescribeStateMachine"], "Resource": arn},
        {"Effect": "Deny", "Action": "states:StartExecution", "Resource": arn,
         "Condition": {"StringEquals": {"states:StateMachineQualifier": "PROD"}}}]}))
    caller = client("stepfunctions", keys)
    # A grant on the machine covers its versions (and its aliases, but for the one denied here).
    caller.start_execution(stateMachineArn=f"{arn}:1")
    eq(caller.describe_state_machine(stateMachineArn=f"{arn}:1")["stateMachineArn"], f"{arn}:1", "a version described")
    expect_error(lambda: caller.start_execution(stateMachineArn=f"{arn}:PROD"), "AccessDeniedException", 400, "states:StartExecution")
    # Publishing while updating needs states:PublishStateMachineVersion as well.
    iam.put_user_policy(UserName=user, PolicyName="update", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "states:UpdateStateMachine", "Resource": arn}]}))
    expect_error(lambda: caller.update_state_machine(stateMachineArn=arn, definition=answering("v2"), publish=True),
                 "AccessDeniedException", 400, "states:PublishStateMachineVersion")
    eq(len(sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]), 1, "nothing published")


def test_redrive_reruns_the_failed_state_only():
    first, second = unique("first"), unique("second")
    sfn.create_activity(name=first)
    definition = json.dumps({"StartAt": "First", "States": {
        "First": describe("$.first", "Second", "$.first"), "Second": describe("$.second", None, "$.second")}})
    arn = sfn.create_state_machine(name=unique("redrive"), definition=definition, roleArn=describe_role())["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"first": activity_arn(first), "second": activity_arn(second)}))["executionArn"]
    d = finished(execution)
    eq((d["status"], d["error"].startswith("Sfn."), d["redriveStatus"], d.get("redriveCount")), ("FAILED", True, "REDRIVABLE", 0), f"failed ({d.get('cause')})")
    eq(sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"], [], "not redriven yet")
    sfn.create_activity(name=second)
    token = unique("token")
    redrive_date = sfn.redrive_execution(executionArn=execution, clientToken=token)["redriveDate"]
    # The same client token answers the same redrive.
    eq(sfn.redrive_execution(executionArn=execution, clientToken=token)["redriveDate"], redrive_date, "idempotent")
    d = finished(execution)
    eq((d["status"], json.loads(d["output"])["first"]["name"], json.loads(d["output"])["second"]["name"]), ("SUCCEEDED", first, second), "redriven")
    eq((d["redriveCount"], d["redriveDate"], d["redriveStatus"]), (1, redrive_date, "NOT_REDRIVABLE"), "redrive fields")
    assert "SUCCEEDED" in d["redriveStatusReason"], d
    redriven, after = events_after_redrive(execution)
    eq(redriven["executionRedrivenEventDetails"], {"redriveCount": 1}, "ExecutionRedriven")
    entered = [e["stateEnteredEventDetails"]["name"] for e in after if e["type"] == "TaskStateEntered"]
    eq(entered, ["Second"], "only the failed state ran again")
    eq(after[-1]["type"], "ExecutionSucceeded", "ends")
    listed = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    eq([(x["executionArn"], x["redriveCount"]) for x in listed], [(execution, 1)], "redriveFilter")
    eq(sfn.list_executions(stateMachineArn=arn, redriveFilter="NOT_REDRIVEN")["executions"], [], "NOT_REDRIVEN")
    expect_error(lambda: sfn.redrive_execution(executionArn=execution), "ExecutionNotRedrivable", 400, "SUCCEEDED")
    # A client token answers its redrive for 15 minutes, then it is a new request.
    eq(sfn.redrive_execution(executionArn=execution, clientToken=token)["redriveDate"], redrive_date, "still idempotent")
    advance(15 * 60 + 1)
    expect_error(lambda: sfn.redrive_execution(executionArn=execution, clientToken=token), "ExecutionNotRedrivable", 400, "SUCCEEDED")


def test_redrive_reruns_only_the_failed_map_iterations():
    names = [unique(k) for k in ("a", "b", "c")]
    sfn.create_activity(name=names[0])
    sfn.create_activity(name=names[2])
    definition = json.dumps({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.arns", "MaxConcurrency": 1, "End": True,
        "ItemSelector": {"arn.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "Read", "States": {"Read": describe("$.arn")}}}}})
    arn = sfn.create_state_machine(name=unique("redrive-map"), definition=definition, roleArn=describe_role())["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"arns": [activity_arn(n) for n in names]}))["executionArn"]
    eq(finished(execution)["status"], "FAILED", "b is missing")
    sfn.create_activity(name=names[1])
    sfn.redrive_execution(executionArn=execution)
    d = finished(execution)
    eq((d["status"], [x["name"] for x in json.loads(d.get("output", "[]"))]), ("SUCCEEDED", names), f"redriven map ({d.get('cause')})")
    _, after = events_after_redrive(execution)
    described = [json.loads(e["taskScheduledEventDetails"]["parameters"])["ActivityArn"] for e in after if e["type"] == "TaskScheduled"]
    eq(described, [activity_arn(names[1]), activity_arn(names[2])], "a is not described again")


def test_redrive_an_aborted_execution_and_bad_redrives():
    definition = json.dumps({"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 3600, "Next": "Done"}, "Done": {"Type": "Succeed"}}})
    arn = sfn.create_state_machine(name=unique("redrive-abort"), definition=definition, roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    expect_error(lambda: sfn.redrive_execution(executionArn=execution), "ExecutionNotRedrivable", 400, "RUNNING")
    sfn.stop_execution(executionArn=execution, error="Stopped", cause="by the test")
    sfn.redrive_execution(executionArn=execution)
    d = sfn.describe_execution(executionArn=execution)
    eq((d["status"], d["redriveCount"], d["redriveStatus"]), ("RUNNING", 1, "NOT_REDRIVABLE"), "running again")
    assert "error" not in d and "stopDate" not in d, d
    until("the wait is entered again", lambda: any(e["type"] == "WaitStateEntered" for e in events_after_redrive(execution)[1]))
    advance_until("the redriven wait ends", lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING", 3600, 3, settle=5)
    eq(finished(execution)["status"], "SUCCEEDED", "the wait ran again and ended")
    expect_error(lambda: sfn.redrive_execution(executionArn=execution.replace(execution.split(":")[-1], "nope")), "ExecutionDoesNotExist", 400)
    expect_error(lambda: sfn.redrive_execution(executionArn=f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:x"), "InvalidArn", 400)


def test_redrive_window_closes_after_14_days():
    # Last by name: it moves the server's clock by 15 days.
    definition = json.dumps({"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom"}}})
    arn = sfn.create_state_machine(name=unique("redrive-late"), definition=definition, roleArn=ROLE)["stateMachineArn"]
    late = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    eq(finished(late)["redriveStatus"], "REDRIVABLE", "at first")
    advance(15 * 24 * 3600)
    d = sfn.describe_execution(executionArn=late)
    eq(d["redriveStatus"], "NOT_REDRIVABLE", "after 15 days")
    assert "14 days" in d["redriveStatusReason"], d
    expect_error(lambda: sfn.redrive_execution(executionArn=late), "ExecutionNotRedrivable", 400, "14 days")
    # Redriving a Fail state fails again, with the same error.
    fresh = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    finished(fresh)
    sfn.redrive_execution(executionArn=fresh)
    until("redriven fail ends", lambda: sfn.describe_execution(executionArn=fresh)["status"] != "RUNNING")
    d = sfn.describe_execution(executionArn=fresh)
    eq((d["status"], d["error"], d["redriveCount"]), ("FAILED", "Boom", 1), "failed again")


run(globals())
