"""Amazon EventBridge's control plane end to end with an unmodified boto3 (1.43 and Debian's
1.26): event buses, rules with event patterns and schedule expressions, their targets, tags and
TestEventPattern, with AWS's errors for what is refused."""
import json
import subprocess

import boto3
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique, validate_responses

cfg = Config(retries={"max_attempts": 1})
events = validate_responses(boto3.client("events", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
ACCOUNT = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg).get_caller_identity()["Account"]
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:events"
GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/events/strata"
PATTERN = json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"], "detail": {"EndpointStatus": ["FAILED"]}})
EVENT = {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "SageMaker Endpoint State Change", "source": "aws.sagemaker",
         "account": ACCOUNT, "time": "2026-12-01T08:00:00Z", "region": "us-east-1", "resources": [], "detail": {"EndpointStatus": "FAILED"}}


def test_buses():
    default = events.describe_event_bus()
    eq((default["Name"], default["Arn"]), ("default", f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"), "the default bus")
    name = unique("orders")
    # Description is newer than boto3 1.26's model.
    described = "Description" in events.meta.service_model.operation_model("CreateEventBus").input_shape.members
    arn = events.create_event_bus(Name=name, Tags=[{"Key": "team", "Value": "ml"}], **({"Description": "orders"} if described else {}))["EventBusArn"]
    eq(arn, f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{name}", "arn")
    eq(events.describe_event_bus(Name=arn).get("Description"), "orders" if described else None, "described by ARN")
    expect_error(lambda: events.create_event_bus(Name=name), "ResourceAlreadyExistsException", 400, "already exists")
    expect_error(lambda: events.create_event_bus(Name="aws.mine"), "ValidationException", 400)
    expect_error(lambda: events.create_event_bus(Name="default"), "ValidationException", 400)
    expect_error(lambda: events.create_event_bus(Name="bad name!"), "ValidationException", 400)
    expect_error(lambda: events.describe_event_bus(Name=unique("none")), "ResourceNotFoundException", 400, "does not exist")
    listed = [b["Name"] for b in events.list_event_buses(NamePrefix=name)["EventBuses"]]
    eq(listed, [name], "listed by prefix")
    assert "default" in [b["Name"] for b in events.list_event_buses()["EventBuses"]], "the default bus is listed"
    eq(events.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "team", "Value": "ml"}], "tags")
    events.put_rule(Name="r", EventBusName=name, EventPattern=PATTERN)
    expect_error(lambda: events.delete_event_bus(Name=name), "ValidationException", 400, "rules")
    events.delete_rule(Name="r", EventBusName=name)
    events.delete_event_bus(Name=name)
    events.delete_event_bus(Name=name)  # gone already: still a success, as in AWS
    expect_error(lambda: events.describe_event_bus(Name=name), "ResourceNotFoundException", 400)
    expect_error(lambda: events.delete_event_bus(Name="default"), "ValidationException", 400)


def test_rules():
    prefix = unique("rule")
    arn = events.put_rule(Name=f"{prefix}-failed", EventPattern=PATTERN, Description="failed endpoints")["RuleArn"]
    eq(arn, f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{prefix}-failed", "a default bus rule's ARN")
    events.put_rule(Name=f"{prefix}-nightly", ScheduleExpression="cron(0 2 * * ? *)", State="DISABLED")
    events.put_rule(Name=f"{prefix}-often", ScheduleExpression="rate(5 minutes)")
    r = events.describe_rule(Name=f"{prefix}-failed")
    eq((r["EventPattern"], r["State"], r["Description"], r["EventBusName"], r["CreatedBy"]), (PATTERN, "ENABLED", "failed endpoints", "default", ACCOUNT), "described")
    eq(events.describe_rule(Name=f"{prefix}-nightly")["State"], "DISABLED", "made disabled")
    events.enable_rule(Name=f"{prefix}-nightly")
    eq(events.describe_rule(Name=f"{prefix}-nightly")["State"], "ENABLED", "enabled")
    events.disable_rule(Name=f"{prefix}-failed")
    eq(events.describe_rule(Name=f"{prefix}-failed")["State"], "DISABLED", "disabled")
    # Put again: the rule changes in place, keeping its state unless one is given.
    events.put_rule(Name=f"{prefix}-failed", EventPattern=PATTERN)
    eq(events.describe_rule(Name=f"{prefix}-failed")["State"], "DISABLED", "state kept")
    names = [x["Name"] for x in events.list_rules(NamePrefix=prefix)["Rules"]]
    eq(names, [f"{prefix}-failed", f"{prefix}-nightly", f"{prefix}-often"], "listed")
    page = events.list_rules(NamePrefix=prefix, Limit=2)
    rest = events.list_rules(NamePrefix=prefix, Limit=2, NextToken=page["NextToken"])
    eq([x["Name"] for x in page["Rules"] + rest["Rules"]], names, "pages")
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    eq(events.put_rule(Name="on-bus", EventBusName=bus, EventPattern=PATTERN)["RuleArn"], f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{bus}/on-bus", "a custom bus rule's ARN")
    eq([x["Name"] for x in events.list_rules(EventBusName=bus)["Rules"]], ["on-bus"], "rules of a bus")
    expect_error(lambda: events.describe_rule(Name="on-bus"), "ResourceNotFoundException", 400, f"Rule on-bus does not exist on EventBus default.")
    events.delete_rule(Name="on-bus", EventBusName=bus)
    events.delete_event_bus(Name=bus)
    for name in names:
        events.delete_rule(Name=name)
    eq(events.list_rules(NamePrefix=prefix)["Rules"], [], "deleted")
    events.delete_rule(Name=names[0])  # gone already: a success


def test_bad_rules():
    name = unique("bad")
    expect_error(lambda: events.put_rule(Name=name), "ValidationException", 400, "EventPattern or ScheduleExpression")
    err = expect_error(lambda: events.put_rule(Name=name, EventPattern='{"source": "aws.sagemaker"}'), "InvalidEventPatternException", 400)
    assert err["Error"]["Message"].startswith("Event pattern is not valid. Reason: "), err["Error"]["Message"]
    expect_error(lambda: events.put_rule(Name=name, EventPattern="not json"), "InvalidEventPatternException", 400)
    for schedule in ("rate(1 minutes)", "rate(0 minutes)", "cron(0 10 * * * *)", "cron(61 * * * ? *)", "every day"):
        expect_error(lambda: events.put_rule(Name=name, ScheduleExpression=schedule), "ValidationException", 400, "ScheduleExpression")
    bus = unique("bus")
    events.create_event_bus(Name=bus)
    expect_error(lambda: events.put_rule(Name=name, EventBusName=bus, ScheduleExpression="rate(5 minutes)"), "ValidationException", 400, "default event bus")
    expect_error(lambda: events.put_rule(Name=name, EventBusName=unique("none"), EventPattern=PATTERN), "ResourceNotFoundException", 400)
    expect_error(lambda: events.enable_rule(Name=unique("none")), "ResourceNotFoundException", 400)
    eq(events.list_rules(NamePrefix=name)["Rules"], [], "nothing stored")
    events.delete_event_bus(Name=bus)


def test_targets():
    rule = unique("targets")
    events.put_rule(Name=rule, EventPattern=PATTERN)
    answer = events.put_targets(Rule=rule, Targets=[
        {"Id": "notify", "Arn": TOPIC, "InputTransformer": {"InputPathsMap": {"status": "$.detail.EndpointStatus"}, "InputTemplate": '"Endpoint is <status>"'}},
        {"Id": "log", "Arn": GROUP, "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}},
        {"Id": "fixed", "Arn": TOPIC, "Input": '{"fixed": true}'},
        {"Id": "lambda", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"},
        {"Id": "both", "Arn": TOPIC, "Input": "{}", "InputPath": "$.detail"},
        {"Id": "badpath", "Arn": TOPIC, "InputPath": "detail.status"},
    ])
    eq(answer["FailedEntryCount"], 3, "three refused")
    eq(sorted((f["TargetId"], f["ErrorCode"]) for f in answer["FailedEntries"]),
       [("badpath", "ValidationException"), ("both", "ValidationException"), ("lambda", "ValidationException")], "which")
    assert any("must start with '$'" in f["ErrorMessage"] for f in answer["FailedEntries"]), answer["FailedEntries"]
    listed = {t["Id"]: t for t in events.list_targets_by_rule(Rule=rule)["Targets"]}
    eq(sorted(listed), ["fixed", "log", "notify"], "stored")
    eq(listed["notify"]["InputTransformer"]["InputTemplate"], '"Endpoint is <status>"', "transformer")
    eq(listed["log"]["RetryPolicy"], {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}, "retry policy")
    eq(events.list_rule_names_by_target(TargetArn=TOPIC)["RuleNames"], [rule], "rules by target")
    expect_error(lambda: events.delete_rule(Name=rule), "ValidationException", 400, "has targets")
    expect_error(lambda: events.put_targets(Rule=rule, Targets=[{"Id": f"t{i}", "Arn": TOPIC} for i in range(3)]), "LimitExceededException", 400)
    eq(len(events.list_targets_by_rule(Rule=rule)["Targets"]), 3, "nothing written past the limit")
    expect_error(lambda: events.put_targets(Rule=unique("none"), Targets=[{"Id": "x", "Arn": TOPIC}]), "ResourceNotFoundException", 400)
    removed = events.remove_targets(Rule=rule, Ids=["notify", "log", "fixed", "ghost"])
    eq([(f["TargetId"], f["ErrorCode"]) for f in removed["FailedEntries"]], [("ghost", "ResourceNotFoundException")], "removed, one missing")
    events.delete_rule(Name=rule)


def test_test_event_pattern():
    eq(events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(EVENT))["Result"], True, "matches")
    eq(events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps({**EVENT, "detail": {"EndpointStatus": "InService"}}))["Result"], False, "does not")
    numeric = json.dumps({"detail": {"latency": [{"numeric": [">", 100, "<=", 300]}]}})
    eq(events.test_event_pattern(EventPattern=numeric, Event=json.dumps({**EVENT, "detail": {"latency": 3.0e2}}))["Result"], True, "numeric")
    expect_error(lambda: events.test_event_pattern(EventPattern='{"source": [{"prefix": 1}]}', Event=json.dumps(EVENT)), "InvalidEventPatternException", 400)
    incomplete = {k: v for k, v in EVENT.items() if k != "account"}
    expect_error(lambda: events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(incomplete)), "ValidationException", 400, "Event is not valid")


def test_rule_tags():
    rule = unique("tagged")
    arn = events.put_rule(Name=rule, EventPattern=PATTERN, Tags=[{"Key": "a", "Value": "1"}])["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}])
    events.untag_resource(ResourceARN=arn, TagKeys=["a"])
    eq(events.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "b", "Value": "2"}], "tags")
    expect_error(lambda: events.list_tags_for_resource(ResourceARN=arn + "x"), "ResourceNotFoundException", 400)
    events.delete_rule(Name=rule)


def test_cli_v2():
    """Debian's CLI v2 makes a rule and tests a pattern (the README's example)."""
    rule = unique("cli")
    cli = ["/usr/bin/aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "events"]
    out = subprocess.run(cli + ["put-rule", "--name", rule, "--event-pattern", PATTERN], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    eq(json.loads(out.stdout)["RuleArn"], f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{rule}", "put-rule")
    out = subprocess.run(cli + ["test-event-pattern", "--event-pattern", PATTERN, "--event", json.dumps(EVENT)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    eq(json.loads(out.stdout)["Result"], True, "test-event-pattern")
    events.delete_rule(Name=rule)


run(globals())
