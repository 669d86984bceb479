"""EventBridge bus permissions with an unmodified boto3 (1.43 and Debian's 1.26) and Debian's CLI v2:
PutPermission in its statement form (the statement AWS writes: Sid, Allow, the account's root,
events:PutEvents on the bus, the Condition as an IAM condition block) and its Policy form,
RemovePermission and AWS's errors, and the policy enforced: a second account (made with
`strata accounts create`) puts events onto the first account's bus by its ARN only while the policy
allows it, the first account's rules match them, and a rule of the second account forwards onto the
first account's bus only when that bus's policy lets the rule's account in."""
import json
import os
import subprocess

import boto3
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})


def client(service, creds=None):
    kw = {} if creds is None else {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1]}
    c = boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", config=cfg, **kw)
    return validate_responses(c) if service == "events" else c


def new_account():
    """A second account of this server: its id and its root's keys."""
    out = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "accounts", "create", unique("partner"), "--data-dir", os.environ["STRATA_DATA_DIR"]],
                         check=True, capture_output=True, text=True).stdout
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return out.split()[1], (lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"])


events = client("events")
logs = client("logs")
ACCOUNT = client("sts").get_caller_identity()["Account"]
OTHER, OTHER_KEYS = new_account()
theirs = client("events", OTHER_KEYS)
their_logs = client("logs", OTHER_KEYS)
FAILED = "/aws/events/failed-deliveries"


def bus_arn(name, account=ACCOUNT):
    return f"arn:aws:events:us-east-1:{account}:event-bus/{name}"


def policy_of(bus):
    text = events.describe_event_bus(Name=bus).get("Policy")
    return None if text is None else json.loads(text)


def logged(group, reader=None):
    reader = reader or logs
    try:
        return [json.loads(e["message"]) for e in reader.filter_log_events(logGroupName=group)["events"]]
    except reader.exceptions.ResourceNotFoundException:
        return []


def rule_to_log_group(bus, pattern):
    """A rule on A's `bus` sending what matches `pattern` to a new log group of A's."""
    group, rule = unique("/events/permissions/"), unique("rule")
    logs.create_log_group(logGroupName=group)
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"}])
    return group


def entry(source, bus, n=1):
    return {"Source": source, "DetailType": "Order Placed", "Detail": json.dumps({"n": n}), "EventBusName": bus}


def test_put_permission_writes_aws_statement():
    bus = unique("shared")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    eq(policy_of(bus), None, "a new bus has no policy")
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="partner")
    expected = {"Sid": "partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "events:PutEvents", "Resource": arn}
    eq(policy_of(bus), {"Version": "2012-10-17", "Statement": [expected]}, "the statement AWS writes")
    # Everyone, narrowed to an organization: the request's Condition becomes an IAM condition block.
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="*", StatementId="org",
                          Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-1234567890"})
    org = {"Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": arn,
           "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1234567890"}}}
    eq(policy_of(bus)["Statement"], [expected, org], "statements accumulate")
    # The same StatementId again replaces its statement.
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="123456789012", StatementId="partner")
    eq([s["Principal"] for s in policy_of(bus)["Statement"]], ["*", {"AWS": "arn:aws:iam::123456789012:root"}], "replaced by Sid")
    listed = [b for b in events.list_event_buses(NamePrefix=bus)["EventBuses"] if b["Name"] == bus][0]
    eq(json.loads(listed["Policy"]), policy_of(bus), "ListEventBuses shows the policy too")


def test_put_permission_errors():
    bus = unique("errors")
    events.create_event_bus(Name=bus)
    expect_error(lambda: events.put_permission(EventBusName=unique("ghost"), Action="events:PutEvents", Principal=OTHER, StatementId="s"),
                 "ResourceNotFoundException", 400)
    expect_error(lambda: events.put_permission(EventBusName=bus, Action="events:PutRule", Principal=OTHER, StatementId="s"), "ValidationException", 400)
    expect_error(lambda: events.put_permission(EventBusName=bus, Principal=OTHER, StatementId="s"), "ValidationException", 400)
    expect_error(lambda: events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="12345", StatementId="s"), "ValidationException", 400)
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "a", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "events:PutEvents", "Resource": bus_arn(bus)}]}
    expect_error(lambda: events.put_permission(EventBusName=bus, Policy=json.dumps(policy), StatementId="s"), "ValidationException", 400)
    expect_error(lambda: events.put_permission(EventBusName=bus, Policy="{not json"), "ValidationException", 400)
    big = dict(policy, Statement=[dict(policy["Statement"][0], Sid=f"s{i}") for i in range(80)])
    expect_error(lambda: events.put_permission(EventBusName=bus, Policy=json.dumps(big)), "PolicyLengthExceededException", 400)
    for i in range(60):  # statement by statement past 10 KB
        try:
            events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=f"{100000000000 + i}", StatementId=f"account-{i:03d}")
        except events.exceptions.PolicyLengthExceededException:
            break
    else:
        raise AssertionError("60 statements never exceeded 10 KB")
    assert len(events.describe_event_bus(Name=bus)["Policy"].encode()) <= 10 * 1024, "the refused statement was not kept"


def test_policy_form_replaces_the_policy():
    bus = unique("whole")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="old")
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "new", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                                                      "Action": ["events:PutEvents"], "Resource": arn}]}
    events.put_permission(EventBusName=bus, Policy=json.dumps(policy))
    eq(policy_of(bus), policy, "the Policy form replaces the whole policy")
    # A statement added afterwards joins it.
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="*", StatementId="all")
    eq([s["Sid"] for s in policy_of(bus)["Statement"]], ["new", "all"], "statement after policy")


def test_remove_permission():
    bus = unique("remove")
    events.create_event_bus(Name=bus)
    expect_error(lambda: events.remove_permission(EventBusName=bus, StatementId="none"), "ResourceNotFoundException", 400, "does not have a policy")
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="a")
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="123456789012", StatementId="b")
    expect_error(lambda: events.remove_permission(EventBusName=bus, StatementId="unknown"), "ResourceNotFoundException", 400,
                 "Statement with the provided id does not exist")
    expect_error(lambda: events.remove_permission(EventBusName=unique("ghost"), StatementId="a"), "ResourceNotFoundException", 400)
    events.remove_permission(EventBusName=bus, StatementId="a")
    eq([s["Sid"] for s in policy_of(bus)["Statement"]], ["b"], "one statement left")
    events.remove_permission(EventBusName=bus, StatementId="b")
    eq(policy_of(bus), None, "no statement left, no policy")
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="a")
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="*", StatementId="b")
    events.remove_permission(EventBusName=bus, RemoveAllPermissions=True)
    eq(policy_of(bus), None, "RemoveAllPermissions")


def test_other_account_puts_events_by_arn_only_while_allowed():
    bus = unique("orders")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique("partner.shop")
    # A's rule takes the partner's events (the event's account is the sender's).
    group = rule_to_log_group(bus, {"source": [source], "account": [OTHER]})
    denied = expect_error(lambda: theirs.put_events(Entries=[entry(source, arn)]), "AccessDeniedException", 400)
    assert f"events:PutEvents on resource: {arn}" in denied["Error"]["Message"], denied["Error"]["Message"]
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="partner")
    answer = theirs.put_events(Entries=[entry(source, arn)])
    eq(answer["FailedEntryCount"], 0, f"accepted: {answer}")
    until("the partner's event in A's log group", lambda: logged(group) != [])
    event = logged(group)[0]
    eq((event["id"], event["account"], event["source"]), (answer["Entries"][0]["EventId"], OTHER, source), "delivered on A's bus")
    # By name, the partner's PutEvents names its own bus: nothing reaches A.
    own = theirs.put_events(Entries=[entry(source, bus)])
    eq(own["Entries"][0].get("ErrorCode"), "ResourceNotFoundException", "by name it is the partner's own (missing) bus")
    events.remove_permission(EventBusName=bus, StatementId="partner")
    expect_error(lambda: theirs.put_events(Entries=[entry(source, arn)]), "AccessDeniedException", 400)
    # A deny for the partner wins over an allow for everyone.
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": arn},
        {"Sid": "not-them", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "events:PutEvents", "Resource": arn}]}
    events.put_permission(EventBusName=bus, Policy=json.dumps(policy))
    expect_error(lambda: theirs.put_events(Entries=[entry(source, arn)]), "AccessDeniedException", 400, "explicit deny")
    eq(len(logged(group)), 1, "nothing more was delivered")


def test_default_bus_by_arn():
    source = unique("partner.default")
    group = rule_to_log_group("default", {"source": [source]})
    expect_error(lambda: theirs.put_events(Entries=[entry(source, bus_arn("default"))]), "AccessDeniedException", 400)
    sid = unique("p")
    events.put_permission(Action="events:PutEvents", Principal=OTHER, StatementId=sid)
    try:
        answer = theirs.put_events(Entries=[entry(source, bus_arn("default"))])
        eq(answer["FailedEntryCount"], 0, f"accepted: {answer}")
        until("the event on A's default bus", lambda: logged(group) != [])
    finally:
        events.remove_permission(StatementId=sid)


def test_rule_forwards_to_another_accounts_bus_when_allowed():
    bus = unique("inbox")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique("partner.forward")
    group = rule_to_log_group(bus, {"source": [source]})
    # The partner's rule on its own default bus forwards to A's bus.
    rule = unique("to-a")
    theirs.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    theirs.put_targets(Rule=rule, Targets=[{"Id": "a", "Arn": arn}])
    refused = theirs.put_events(Entries=[entry(source, "default", 1)])["Entries"][0]["EventId"]

    def failed():
        return [r for r in logged(FAILED, their_logs) if r.get("EVENT_ID") == refused]
    until("the refused forward recorded in the partner's account", lambda: failed() != [])
    eq((failed()[0]["TARGET_ARN"], failed()[0]["ERROR_CODE"]), (arn, "AccessDeniedException"), "why")
    eq(logged(group), [], "nothing reached A without a policy")
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=OTHER, StatementId="partner-rules")
    sent = theirs.put_events(Entries=[entry(source, "default", 2)])["Entries"][0]["EventId"]
    until("the forwarded event in A's log group", lambda: logged(group) != [])
    event = logged(group)[0]
    eq((event["id"], event["account"], event["detail"]), (sent, OTHER, {"n": 2}), "forwarded as it is")


def test_cli_v2_put_permission():
    bus = unique("cli")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    cli = ["/usr/bin/aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "events"]
    out = subprocess.run(cli + ["put-permission", "--event-bus-name", bus, "--action", "events:PutEvents", "--principal", OTHER, "--statement-id", "cli"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run(cli + ["describe-event-bus", "--name", bus], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    eq(json.loads(json.loads(out.stdout)["Policy"])["Statement"],
       [{"Sid": "cli", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "events:PutEvents", "Resource": arn}], "describe-event-bus")
    out = subprocess.run(cli + ["remove-permission", "--event-bus-name", bus, "--statement-id", "nope"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "ResourceNotFoundException" in out.stderr, out.stderr
    out = subprocess.run(cli + ["remove-permission", "--event-bus-name", bus, "--statement-id", "cli"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


run(globals())
