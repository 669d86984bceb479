"""EventBridge delivering events end to end with an unmodified boto3 (1.43 and Debian's 1.26), on a
server whose clock the test drives (FakeClockServer.cs): PutEvents with AWS's per-entry errors and
its 256 KB limit, rules matching events onto an https SNS subscriber and a CloudWatch Logs group,
one bus forwarding to another, a delivery that cannot succeed recorded as failed, scheduled
rules firing as the clock passes their times, and API destinations (connections' credentials on
the request, 5xx retried, 4xx recorded as failed, the rate limit)."""
import json
import re
import subprocess

import boto3
from botocore.config import Config

from harness import CLOCK, advance, deploy_regression, endpoint, eq, execution_role, expect_error, run, unique, until, validate_responses
from sns_endpoint import Endpoint, subscribe_confirmed

cfg = Config(retries={"max_attempts": 1})
events = validate_responses(boto3.client("events", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
sns = boto3.client("sns", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
logs = boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
cw = boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
ACCOUNT = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg).get_caller_identity()["Account"]
FAILED = "/aws/events/failed-deliveries"


def log_group():
    """A new log group and its ARN, as a rule's target names it."""
    name = unique("/events/")
    logs.create_log_group(logGroupName=name)
    return name, f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"


def logged(group):
    """The events in a log group, parsed, oldest first."""
    try:
        return [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=group)["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def put(source, detail, **extra):
    """Puts one event; returns its id."""
    answer = events.put_events(Entries=[{"Source": source, "DetailType": "Order Placed", "Detail": json.dumps(detail), **extra}])
    eq(answer["FailedEntryCount"], 0, f"accepted: {answer}")
    return answer["Entries"][0]["EventId"]


def test_put_events_errors():
    answer = events.put_events(Entries=[
        {"Source": "aws.sagemaker", "DetailType": "d", "Detail": "{}"},
        {"DetailType": "d", "Detail": "{}"},
        {"Source": "shop", "Detail": "{}"},
        {"Source": "shop", "DetailType": "d"},
        {"Source": "shop", "DetailType": "d", "Detail": "{not json"},
        {"Source": "shop", "DetailType": "d", "Detail": "[1, 2]"},
        {"Source": "shop", "DetailType": "d", "Detail": "{}", "EventBusName": unique("ghost")},
        {"Source": "shop", "DetailType": "d", "Detail": '{"ok": true}'},
    ])
    eq(answer["FailedEntryCount"], 7, "all but the last refused")
    eq([e.get("ErrorCode") for e in answer["Entries"]],
       ["NotAuthorizedForSourceException", "InvalidArgument", "InvalidArgument", "InvalidArgument", "MalformedDetail", "MalformedDetail",
        "ResourceNotFoundException", None], "per-entry errors, in order")
    eq(answer["Entries"][0]["ErrorMessage"], "Not authorized for the source.", "aws. sources are AWS's")
    eq(answer["Entries"][2]["ErrorMessage"], "Parameter DetailType is not valid. Reason: DetailType is a required argument.", "message")
    eq(len(answer["Entries"][7]["EventId"]), 36, "the accepted entry has an id")
    big = {"Source": "shop", "DetailType": "d", "Detail": json.dumps({"x": "y" * (256 * 1024)})}
    expect_error(lambda: events.put_events(Entries=[big]), "ValidationException", 400, "over the limit")
    half = {"Source": "shop", "DetailType": "d", "Detail": json.dumps({"x": "y" * (130 * 1024)})}
    expect_error(lambda: events.put_events(Entries=[half, half]), "ValidationException", 400, "over the limit")


def test_delivery_to_sns_and_logs():
    topic = sns.create_topic(Name=unique("orders"))["TopicArn"]
    subscriber = Endpoint(tls=True)
    subscribe_confirmed(sns, topic, subscriber, protocol="https")
    group, group_arn = log_group()
    source, rule = unique("shop"), unique("big-orders")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source], "detail": {"total": [{"numeric": [">", 100]}]}}))
    events.put_targets(Rule=rule, Targets=[
        {"Id": "sns", "Arn": topic, "InputTransformer": {"InputPathsMap": {"total": "$.detail.total"}, "InputTemplate": '{"order": <total>}'}},
        {"Id": "log", "Arn": group_arn},
    ])
    put(source, {"total": 50})
    event_id = put(source, {"total": 250}, Resources=["arn:aws:s3:::orders"])
    _, body = subscriber.next()
    note = json.loads(body)
    eq(note["Type"], "Notification", "an SNS notification")
    eq(json.loads(note["Message"]), {"order": 250}, "the transformed input")
    until("the event in the log group", lambda: logged(group) != [])
    event = logged(group)[0]
    eq({k: event[k] for k in ("version", "id", "detail-type", "source", "account", "region", "resources", "detail")},
       {"version": "0", "id": event_id, "detail-type": "Order Placed", "source": source, "account": ACCOUNT, "region": "us-east-1",
        "resources": ["arn:aws:s3:::orders"], "detail": {"total": 250}}, "the whole event")
    eq([s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]], [event_id], "one stream per event, named by its id")
    subscriber.nothing()
    eq(len(logged(group)), 1, "the small order matched nothing")
    # A disabled rule delivers nothing.
    events.disable_rule(Name=rule)
    put(source, {"total": 900})
    subscriber.nothing()
    events.remove_targets(Rule=rule, Ids=["sns", "log"])
    events.delete_rule(Name=rule)


def test_bus_to_bus():
    bus = unique("orders-bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    group, group_arn = log_group()
    source = unique("shop")
    forward, there = unique("forward"), unique("there")
    events.put_rule(Name=forward, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=forward, Targets=[{"Id": "bus", "Arn": bus_arn}])
    events.put_rule(Name=there, EventBusName=bus, EventPattern=json.dumps({"detail-type": ["Order Placed"]}))
    events.put_targets(Rule=there, EventBusName=bus, Targets=[{"Id": "log", "Arn": group_arn}])
    event_id = put(source, {"total": 1})
    until("the forwarded event in the log group", lambda: logged(group) != [])
    eq(logged(group)[0]["id"], event_id, "the same event, forwarded")
    # Events put on the custom bus directly match its rules too.
    direct = put(unique("other"), {"total": 2}, EventBusName=bus)
    until("the direct event", lambda: len(logged(group)) == 2)
    eq(logged(group)[1]["id"], direct, "put on the bus itself")


def test_failed_delivery_is_recorded():
    rule, source = unique("nowhere"), unique("shop")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:{unique('gone')}"
    events.put_targets(Rule=rule, Targets=[{"Id": "gone", "Arn": missing}])
    event_id = put(source, {"total": 3})

    def record():
        return [r for r in logged(FAILED) if r.get("EVENT_ID") == event_id]
    until("the failed delivery's record", lambda: record() != [])
    failed = record()[0]
    eq((failed["RULE_ARN"], failed["TARGET_ARN"], failed["ERROR_CODE"]), (f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{rule}", missing, "ResourceNotFoundException"), "why")
    eq(failed["message"]["id"], event_id, "the event itself is kept")

    def failures():
        stats = cw.get_metric_statistics(Namespace="AWS/Events", MetricName="FailedInvocations", Dimensions=[{"Name": "RuleName", "Value": rule}],
                                         StartTime=CLOCK.time() - 3600, EndTime=CLOCK.time() + 3600, Period=60, Statistics=["Sum"])
        return sum(p["Sum"] for p in stats["Datapoints"])
    until("FailedInvocations", lambda: failures() == 1)


def test_scheduled_rule():
    group, group_arn = log_group()
    rule = unique("every-5")
    rule_arn = events.put_rule(Name=rule, ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule=rule, Targets=[{"Id": "log", "Arn": group_arn}])
    # The server's clock stands still until the test moves it: nothing can be due yet.
    eq(logged(group), [], "nothing before the first period ends")
    advance(301)
    until("the first scheduled event", lambda: len(logged(group)) == 1)
    event = logged(group)[0]
    eq((event["source"], event["detail-type"], event["resources"], event["detail"]), ("aws.events", "Scheduled Event", [rule_arn], {}), "AWS's scheduled event")
    advance(300)
    until("the second", lambda: len(logged(group)) == 2)
    events.disable_rule(Name=rule)
    # A probe rule, enabled, on its own group: once it has fired for the time the clock moves to,
    # the scheduler has been through every rule at that time, the disabled one included.
    probe_group, probe_arn = log_group()
    probe = unique("probe")
    events.put_rule(Name=probe, ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule=probe, Targets=[{"Id": "log", "Arn": probe_arn}])
    advance(900)
    until("the probe fired", lambda: len(logged(probe_group)) == 1)

    def triggered(name):
        stats = cw.get_metric_statistics(Namespace="AWS/Events", MetricName="TriggeredRules", Dimensions=[{"Name": "RuleName", "Value": name}],
                                         StartTime=CLOCK.time() - 3600, EndTime=CLOCK.time() + 3600, Period=60, Statistics=["Sum"])
        return sum(p["Sum"] for p in stats["Datapoints"])
    eq(triggered(rule), 2, "a disabled rule does not fire")
    eq(len(logged(group)), 2, "nor deliver")


def test_endpoint_state_change():
    """The issue's acceptance: a rule on "SageMaker Endpoint State Change" with EndpointStatus
    IN_SERVICE delivers to an https SNS subscriber and to a log group when an endpoint comes up;
    the CreateEndpoint call itself reaches a rule on "AWS API Call via CloudTrail"."""
    topic = sns.create_topic(Name=unique("endpoints"))["TopicArn"]
    subscriber = Endpoint(tls=True)
    subscribe_confirmed(sns, topic, subscriber, protocol="https")
    group, group_arn = log_group()
    calls, calls_arn = log_group()
    rule, api = unique("endpoint-up"), unique("api-calls")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"],
                                                        "detail": {"EndpointStatus": ["IN_SERVICE"]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "sns", "Arn": topic}, {"Id": "log", "Arn": group_arn}])
    events.put_rule(Name=api, EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["AWS API Call via CloudTrail"],
                                                       "detail": {"eventName": ["CreateEndpoint"]}}))
    events.put_targets(Rule=api, Targets=[{"Id": "log", "Arn": calls_arn}])
    bucket = unique("models")
    s3.create_bucket(Bucket=bucket)
    name = deploy_regression(s3, sm, bucket, execution_role(iam))
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}"
    _, body = subscriber.next(timeout=30)
    event = json.loads(json.loads(body)["Message"])
    eq((event["source"], event["detail-type"], event["resources"]), ("aws.sagemaker", "SageMaker Endpoint State Change", [arn]), "the envelope")
    eq((event["detail"]["EndpointName"], event["detail"]["EndpointStatus"], event["detail"]["EndpointArn"]), (name, "IN_SERVICE", arn), "the detail")
    until("the event in the log group", lambda: [e for e in logged(group) if e["detail"]["EndpointName"] == name] != [])
    subscriber.nothing()
    until("the CreateEndpoint call", lambda: [e for e in logged(calls) if e["detail"]["requestParameters"]["endpointName"] == name] != [])
    call = [e for e in logged(calls) if e["detail"]["requestParameters"]["endpointName"] == name][0]
    eq((call["source"], call["detail"]["eventSource"], call["detail"]["userIdentity"]["type"]), ("aws.sagemaker", "sagemaker.amazonaws.com", "Root"), "the call")
    sm.delete_endpoint(EndpointName=name)


def test_api_destination():
    ep = Endpoint(tls=False)
    port = ep.server.server_address[1]
    conn_name, dest_name = unique("conn"), unique("dest")
    conn = events.create_connection(Name=conn_name, AuthorizationType="API_KEY",
                                    AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret-value"}})
    assert re.fullmatch(rf"arn:aws:events:us-east-1:{ACCOUNT}:connection/{conn_name}/[0-9a-f-]{{36}}", conn["ConnectionArn"]), conn["ConnectionArn"]
    eq(conn["ConnectionState"], "AUTHORIZED", "authorized on create")
    described = events.describe_connection(Name=conn_name)
    eq(described["AuthParameters"]["ApiKeyAuthParameters"], {"ApiKeyName": "x-api-key"}, "the key's name, never its value")
    assert "s3cret-value" not in json.dumps(described, default=str), described
    assert described["SecretArn"].startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:events!connection/{conn_name}/"), described["SecretArn"]
    dest = events.create_api_destination(Name=dest_name, ConnectionArn=conn["ConnectionArn"], HttpMethod="POST",
                                         InvocationEndpoint=f"http://127.0.0.1:{port}/hooks/*")
    assert re.fullmatch(rf"arn:aws:events:us-east-1:{ACCOUNT}:api-destination/{dest_name}/[0-9a-f-]{{36}}", dest["ApiDestinationArn"]), dest
    eq(dest["ApiDestinationState"], "ACTIVE", "active on create")
    eq(events.describe_api_destination(Name=dest_name)["InvocationRateLimitPerSecond"], 300, "AWS's default rate")
    eq([d["Name"] for d in events.list_api_destinations(ConnectionArn=conn["ConnectionArn"])["ApiDestinations"]], [dest_name], "listed by connection")

    rule, source = unique("to-http"), unique("shop")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    answer = events.put_targets(Rule=rule, Targets=[{"Id": "http", "Arn": dest["ApiDestinationArn"], "HttpParameters": {
        "PathParameterValues": ["orders"], "HeaderParameters": {"X-Team": "ml"}, "QueryStringParameters": {"q": "1"}}}])
    eq(answer["FailedEntryCount"], 0, f"accepted: {answer}")
    eq(events.list_targets_by_rule(Rule=rule)["Targets"][0]["HttpParameters"]["HeaderParameters"], {"X-Team": "ml"}, "kept with the target")

    event_id = put(source, {"total": 7})
    headers, body = ep.next()
    eq(json.loads(body)["id"], event_id, "the event as the body")
    eq(json.loads(body)["detail"], {"total": 7}, "the whole event")
    eq((headers["x-api-key"], headers["user-agent"], headers["x-team"]), ("s3cret-value", "Amazon/EventBridge/ApiDestinations", "ml"), "headers")
    assert headers["content-type"].startswith("application/json"), headers["content-type"]
    eq(ep.paths[-1], "/hooks/orders?q=1", "the path wildcard and the query string")

    # A 500 is retried after the backoff, on the server's clock.
    ep.statuses = [500]
    retried = put(source, {"total": 8})
    eq(json.loads(ep.next()[1])["id"], retried, "the first attempt")
    ep.nothing()
    advance(2)
    eq(json.loads(ep.next()[1])["id"], retried, "retried after a 500")

    # A 400 is not retried: the delivery is recorded as failed.
    ep.statuses = [400]
    refused = put(source, {"total": 9})
    eq(json.loads(ep.next()[1])["id"], refused, "the only attempt")

    def record():
        return [r for r in logged(FAILED) if r.get("EVENT_ID") == refused]
    until("the refused delivery's record", lambda: record() != [])
    eq((record()[0]["TARGET_ARN"], record()[0]["ERROR_CODE"]), (dest["ApiDestinationArn"], "SDK_CLIENT_ERROR"), "why")
    assert "400" in record()[0]["ERROR_MESSAGE"], record()[0]
    advance(60)
    ep.nothing()

    # The rate limit holds an event back until the clock lets it through, without failing it.
    events.update_api_destination(Name=dest_name, InvocationRateLimitPerSecond=1)
    first, second = put(source, {"n": 1}), put(source, {"n": 2})
    eq(json.loads(ep.next()[1])["id"], first, "within the rate")
    ep.nothing()
    advance(1)
    eq(json.loads(ep.next()[1])["id"], second, "after a second")

    # Control-plane errors.
    expect_error(lambda: events.describe_connection(Name=unique("ghost")), "ResourceNotFoundException", 400, "Failed to describe the connection(s).")
    expect_error(lambda: events.describe_api_destination(Name=unique("ghost")), "ResourceNotFoundException", 400, "Failed to describe the api-destination(s).")
    expect_error(lambda: events.create_connection(Name=conn_name, AuthorizationType="BASIC",
                                                  AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}}), "ResourceAlreadyExistsException", 400)
    expect_error(lambda: events.create_connection(Name=unique("oauth"), AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={"OAuthParameters": {
        "ClientParameters": {"ClientID": "i", "ClientSecret": "s"}, "AuthorizationEndpoint": "https://auth.example.com/token", "HttpMethod": "POST"}}),
        "ValidationException", 400, "OAUTH_CLIENT_CREDENTIALS")
    expect_error(lambda: events.create_connection(Name=unique("mixed"), AuthorizationType="API_KEY",
                                                  AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}}), "ValidationException", 400)
    expect_error(lambda: events.create_api_destination(Name=unique("plain"), ConnectionArn=conn["ConnectionArn"], HttpMethod="POST",
                                                       InvocationEndpoint="http://example.com/hook"), "ValidationException", 400, "HTTPS")
    expect_error(lambda: events.delete_connection(Name=conn_name), "ValidationException", 400, dest_name)
    expect_error(lambda: events.update_api_destination(Name=dest_name, InvocationEndpoint="http://example.com/hook"), "ValidationException", 400, "HTTPS")
    # What Strata's connections do not do (private APIs, keys of one's own) is refused alike by
    # Create and UpdateConnection; boto3 1.26's model has no such members.
    if "KmsKeyIdentifier" in events.meta.service_model.operation_model("UpdateConnection").input_shape.members:
        private = {"ResourceParameters": {"ResourceConfigurationArn": f"arn:aws:vpc-lattice:us-east-1:{ACCOUNT}:resourceconfiguration/rcfg-0123456789abcdef0"}}
        key = {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}
        for call in (lambda **kw: events.create_connection(Name=unique("private"), AuthorizationType="API_KEY", **kw),
                     lambda **kw: events.update_connection(Name=conn_name, **kw)):
            expect_error(lambda: call(AuthParameters=key, InvocationConnectivityParameters=private), "ValidationException", 400, "leave InvocationConnectivityParameters out")
            expect_error(lambda: call(AuthParameters={**key, "ConnectivityParameters": private}), "ValidationException", 400, "leave ConnectivityParameters out")
            expect_error(lambda: call(AuthParameters=key, KmsKeyIdentifier="alias/mine"), "ValidationException", 400, "KmsKeyIdentifier is not supported")
    # A destination a rule still targets may be deleted, as in AWS; its deliveries then fail.
    events.delete_api_destination(Name=dest_name)
    gone = put(source, {"total": 10})
    until("the delivery to a deleted destination is recorded", lambda: [r for r in logged(FAILED) if r.get("EVENT_ID") == gone] != [])
    eq(events.delete_connection(Name=conn_name)["ConnectionArn"], conn["ConnectionArn"], "deleted once unused")
    events.remove_targets(Rule=rule, Ids=["http"])
    events.delete_rule(Name=rule)


def test_api_destination_cli_v2():
    """Debian's CLI v2 makes a BASIC connection and a destination on it."""
    cli = ["/usr/bin/aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "events"]
    name = unique("cli-conn")
    out = subprocess.run(cli + ["create-connection", "--name", name, "--authorization-type", "BASIC", "--auth-parameters",
                                json.dumps({"BasicAuthParameters": {"Username": "ann", "Password": "pw"}})], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    arn = json.loads(out.stdout)["ConnectionArn"]
    out = subprocess.run(cli + ["create-api-destination", "--name", unique("cli-dest"), "--connection-arn", arn, "--http-method", "PUT",
                                "--invocation-endpoint", "https://hooks.example.com/in", "--invocation-rate-limit-per-second", "5"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    eq(json.loads(out.stdout)["ApiDestinationState"], "ACTIVE", "create-api-destination")
    out = subprocess.run(cli + ["describe-connection", "--name", name], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "pw" not in json.loads(out.stdout)["AuthParameters"]["BasicAuthParameters"].values(), out.stdout
    eq(json.loads(out.stdout)["AuthParameters"]["BasicAuthParameters"], {"Username": "ann"}, "the user, not the password")


run(globals())
