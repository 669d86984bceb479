"""CloudWatch Logs end to end with an unmodified boto3: groups (prefix, pattern, pages), streams
(orders, pages), PutLogEvents' batch rules, GetLogEvents' forward and backward tokens,
FilterLogEvents with every kind of filter pattern, retention policies, tags, metric filters (read
back through the CloudWatch client), and AWS's errors."""
import datetime
import json
import subprocess
import time

import boto3
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique, validate_responses

cfg = Config(retries={"max_attempts": 1})
logs = validate_responses(boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
cw = validate_responses(boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
ACCOUNT = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg).get_caller_identity()["Account"]


def now_ms():
    return int(time.time() * 1000)


def new_group(**kw):
    name = "/strata/test/" + unique("g")
    logs.create_log_group(logGroupName=name, **kw)
    return name


def new_stream(group, name=None):
    name = name or unique("s")
    logs.create_log_stream(logGroupName=group, logStreamName=name)
    return name


def put(group, stream, messages, start=None):
    """Puts messages one millisecond apart, the first at `start` (default: a minute ago)."""
    start = start if start is not None else now_ms() - 60_000
    return logs.put_log_events(logGroupName=group, logStreamName=stream,
                               logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(messages)])


def test_log_groups():
    base = "/strata/groups/" + unique("p")
    names = [f"{base}/{c}" for c in ("alpha", "Beta", "gamma", "delta", "epsilon")]
    for n in names:
        logs.create_log_group(logGroupName=n)
    err = expect_error(lambda: logs.create_log_group(logGroupName=names[0]), "ResourceAlreadyExistsException", 400)
    eq(err["Error"]["Message"], "The specified log group already exists", "message")
    groups = logs.describe_log_groups(logGroupNamePrefix=base)["logGroups"]
    eq([g["logGroupName"] for g in groups], sorted(names), "by prefix, in name order")
    g = groups[0]
    eq(g["arn"], f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{g['logGroupName']}:*", "arn")
    if "logGroupArn" in g:  # newer models only
        eq(g["logGroupArn"], f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{g['logGroupName']}", "logGroupArn")
    eq(g["storedBytes"], 0, "storedBytes")
    assert "retentionInDays" not in g, g
    assert abs(g["creationTime"] - now_ms()) < 60_000, g
    # A pattern matches anywhere in the name, in any case.
    eq([x["logGroupName"] for x in logs.describe_log_groups(logGroupNamePattern="BETA")["logGroups"] if x["logGroupName"].startswith(base)],
       [f"{base}/Beta"], "by pattern")
    # Pages of two: five groups in three pages, then no token.
    seen, token, pages = [], None, 0
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.describe_log_groups(logGroupNamePrefix=base, limit=2, **kw)
        pages += 1
        seen += [x["logGroupName"] for x in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    eq(seen, sorted(names), "paged")
    eq(pages, 3, "pages")
    paginated = [x["logGroupName"] for p in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=base, PaginationConfig={"PageSize": 2}) for x in p["logGroups"]]
    eq(paginated, sorted(names), "paginator")
    expect_error(lambda: logs.describe_log_groups(logGroupNamePrefix=base, logGroupNamePattern="x"), "InvalidParameterException", 400)
    if "logGroupIdentifiers" in logs.meta.service_model.operation_model("DescribeLogGroups").input_shape.members:  # newer models only
        arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{names[3]}"
        eq([x["logGroupName"] for x in logs.describe_log_groups(logGroupIdentifiers=[names[4], arn, base + "/missing"])["logGroups"]],
           sorted([names[3], names[4]]), "by identifiers (names or ARNs)")
    err = expect_error(lambda: logs.create_log_group(logGroupName="aws/reserved"), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "Log groups starting with AWS/ are reserved for AWS.", "message")
    # A group with a key and tags.
    tagged = new_group(kmsKeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", tags={"team": "ml"})
    g = logs.describe_log_groups(logGroupNamePrefix=tagged)["logGroups"][0]
    assert g["kmsKeyId"].endswith("1234567890ab"), g
    eq(logs.list_tags_log_group(logGroupName=tagged)["tags"], {"team": "ml"}, "tags")
    for n in names:
        logs.delete_log_group(logGroupName=n)
    eq(logs.describe_log_groups(logGroupNamePrefix=base)["logGroups"], [], "deleted")
    err = expect_error(lambda: logs.delete_log_group(logGroupName=names[0]), "ResourceNotFoundException", 400)
    eq(err["Error"]["Message"], "The specified log group does not exist.", "message")


def test_log_streams():
    group = new_group()
    for s in ("b-stream", "a-stream", "c-stream", "other"):
        new_stream(group, s)
    err = expect_error(lambda: new_stream(group, "a-stream"), "ResourceAlreadyExistsException", 400)
    eq(err["Error"]["Message"], "The specified log stream already exists", "message")
    err = expect_error(lambda: logs.create_log_stream(logGroupName=group + "-missing", logStreamName="x"), "ResourceNotFoundException")
    eq(err["Error"]["Message"], "The specified log group does not exist.", "message")
    t = now_ms() - 60_000
    put(group, "c-stream", ["c"], start=t)
    put(group, "a-stream", ["a"], start=t + 10)
    put(group, "b-stream", ["b"], start=t + 20)
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    eq([s["logStreamName"] for s in streams], ["a-stream", "b-stream", "c-stream", "other"], "by name")
    a = streams[0]
    eq((a["firstEventTimestamp"], a["lastEventTimestamp"]), (t + 10, t + 10), "event times")
    assert a["lastIngestionTime"] >= a["creationTime"], a
    eq(a["arn"], f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:log-stream:a-stream", "arn")
    eq([s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="b")["logStreams"]], ["b-stream"], "prefix")
    eq([s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]],
       ["b-stream", "a-stream", "c-stream", "other"], "by last event time, newest first")
    eq([s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, descending=True)["logStreams"]],
       ["other", "c-stream", "b-stream", "a-stream"], "by name, descending")
    page = logs.describe_log_streams(logGroupName=group, limit=3)
    eq(len(page["logStreams"]), 3, "first page")
    rest = logs.describe_log_streams(logGroupName=group, limit=3, nextToken=page["nextToken"])
    eq([s["logStreamName"] for s in rest["logStreams"]], ["other"], "second page")
    assert "nextToken" not in rest, rest
    # A group named by its ARN.
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].removesuffix(":*")
    if "logGroupName" not in logs.meta.service_model.operation_model("DescribeLogStreams").input_shape.required_members:  # newer models only
        eq(len(logs.describe_log_streams(logGroupIdentifier=arn)["logStreams"]), 4, "by identifier")
    err = expect_error(lambda: logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="a"), "InvalidParameterException", 400)
    assert "LastEventTime" in err["Error"]["Message"], err
    logs.delete_log_stream(logGroupName=group, logStreamName="a-stream")
    err = expect_error(lambda: logs.delete_log_stream(logGroupName=group, logStreamName="a-stream"), "ResourceNotFoundException", 400)
    eq(err["Error"]["Message"], "The specified log stream does not exist.", "message")
    eq(len(logs.describe_log_streams(logGroupName=group)["logStreams"]), 3, "after delete")
    # storedBytes: what the remaining streams hold.
    eq(logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"], 2, "group storedBytes")


def test_put_log_events_rules():
    group = new_group()
    stream = new_stream(group)
    now = now_ms()
    r = put(group, stream, ["one", "two"])
    assert len(r["nextSequenceToken"]) == 56 and "rejectedLogEventsInfo" not in r, r
    # Sequence tokens are accepted and ignored, as AWS now does.
    r2 = logs.put_log_events(logGroupName=group, logStreamName=stream, sequenceToken="49590302123456789012345678901234567890123456789012345678",
                             logEvents=[{"timestamp": now, "message": "three"}])
    assert r2["nextSequenceToken"] != r["nextSequenceToken"], r2
    err = expect_error(lambda: logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}]), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "Log events in a single PutLogEvents request must be in chronological order.", "message")
    err = expect_error(lambda: logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": now - 25 * 3600_000, "message": "a"}, {"timestamp": now, "message": "b"}]), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.", "message")
    # 1 048 576 bytes counting 26 per event: 4 events of 262 118 bytes fit exactly; one more byte does not.
    big = "x" * (262_144 - 26)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": big}] * 4)
    err = expect_error(lambda: logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": big}] * 4 + [{"timestamp": now, "message": "y"}]),
                       "InvalidParameterException", 400)
    assert "1048576" in err["Error"]["Message"], err
    # More than 10 000 events: refused by the model's constraint (Logs says InvalidParameterException).
    err = expect_error(lambda: logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": "m"}] * 10_001),
                       "InvalidParameterException", 400)
    assert "1 validation error detected" in err["Error"]["Message"] and "'logEvents'" in err["Error"]["Message"], err
    # Too old (> 14 days), too new (> 2 h ahead): refused one by one, the rest stored.
    young = new_stream(group)
    r = logs.put_log_events(logGroupName=group, logStreamName=young, logEvents=[
        {"timestamp": now - 14 * 86400_000 - 12 * 3600_000, "message": "old"}, {"timestamp": now - 14 * 86400_000 - 60_000, "message": "old2"},
        {"timestamp": now - 13 * 86400_000 - 13 * 3600_000, "message": "kept"}])
    eq(r["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 2}, "too old")
    r = logs.put_log_events(logGroupName=group, logStreamName=young, logEvents=[
        {"timestamp": now, "message": "kept2"}, {"timestamp": now + 3 * 3600_000, "message": "future"}])
    eq(r["rejectedLogEventsInfo"], {"tooNewLogEventStartIndex": 1}, "too new")
    eq([e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=young, startFromHead=True)["events"]], ["kept", "kept2"], "stored")
    # Older than the group keeps: expired.
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    r = logs.put_log_events(logGroupName=group, logStreamName=young, logEvents=[
        {"timestamp": now - 86400_000 - 60_000, "message": "expired"}, {"timestamp": now - 120_000, "message": "fresh"}])
    eq(r["rejectedLogEventsInfo"], {"expiredLogEventEndIndex": 1}, "expired")
    err = expect_error(lambda: put(group + "-missing", young, ["x"]), "ResourceNotFoundException", 400)
    eq(err["Error"]["Message"], "The specified log group does not exist.", "message")
    err = expect_error(lambda: put(group, "missing-stream", ["x"]), "ResourceNotFoundException", 400)
    eq(err["Error"]["Message"], "The specified log stream does not exist.", "message")


def test_get_log_events_tokens():
    group = new_group()
    stream = new_stream(group)
    t = now_ms() - 600_000
    put(group, stream, [f"event {i}" for i in range(25)], start=t)

    def page(**kw):
        return logs.get_log_events(logGroupName=group, logStreamName=stream, **kw)

    # From the head, pages of ten, then the same token once there is nothing new.
    first = page(startFromHead=True, limit=10)
    eq([e["message"] for e in first["events"]], [f"event {i}" for i in range(10)], "first page")
    assert first["nextForwardToken"].startswith("f/") and first["nextBackwardToken"].startswith("b/"), first
    second = page(nextToken=first["nextForwardToken"], limit=10)
    eq([e["message"] for e in second["events"]], [f"event {i}" for i in range(10, 20)], "second page")
    third = page(nextToken=second["nextForwardToken"], limit=10)
    eq([e["message"] for e in third["events"]], [f"event {i}" for i in range(20, 25)], "third page")
    end = page(nextToken=third["nextForwardToken"], limit=10)
    eq(end["events"], [], "nothing new")
    eq(end["nextForwardToken"], third["nextForwardToken"], "same token at the end")
    # New events after the end: the same token reads them.
    put(group, stream, ["late"], start=t + 100)
    eq([e["message"] for e in page(nextToken=end["nextForwardToken"])["events"]], ["late"], "new event")
    # Without startFromHead: the newest events, oldest first; backward tokens go back.
    last = page(limit=10)
    eq([e["message"] for e in last["events"]], [f"event {i}" for i in range(16, 25)] + ["late"], "newest")
    back = page(nextToken=last["nextBackwardToken"], limit=10)
    eq([e["message"] for e in back["events"]], [f"event {i}" for i in range(6, 16)], "back")
    back2 = page(nextToken=back["nextBackwardToken"], limit=10)
    eq([e["message"] for e in back2["events"]], [f"event {i}" for i in range(6)], "back to the start")
    back3 = page(nextToken=back2["nextBackwardToken"], limit=10)
    eq(back3["events"], [], "nothing older")
    eq(back3["nextBackwardToken"], back2["nextBackwardToken"], "same backward token")
    # A time range: start inclusive, end exclusive.
    ranged = page(startTime=t + 5, endTime=t + 8, startFromHead=True)
    eq([e["message"] for e in ranged["events"]], ["event 5", "event 6", "event 7"], "range")
    e = ranged["events"][0]
    assert e["timestamp"] == t + 5 and e["ingestionTime"] >= e["timestamp"], e
    expect_error(lambda: page(nextToken="f/not-a-token"), "InvalidParameterException", 400)
    err = expect_error(lambda: logs.get_log_events(logGroupName=group, logStreamName="missing"), "ResourceNotFoundException", 400)
    eq(err["Error"]["Message"], "The specified log stream does not exist.", "message")


def test_cli_get_log_events_ends():
    """A script's `aws logs get-log-events` loop, following nextForwardToken until it comes back
    unchanged, reads every event once and ends."""
    group = new_group()
    stream = new_stream(group)
    put(group, stream, [f"cli {i}" for i in range(30)])
    seen, token, calls = [], None, 0
    while calls < 20:
        calls += 1
        out = subprocess.run(["aws", "logs", "get-log-events", "--endpoint-url", endpoint(), "--log-group-name", group, "--log-stream-name", stream,
                              "--start-from-head", "--limit", "7", "--output", "json"] + (["--next-token", token] if token else []),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        page = json.loads(out.stdout)
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    eq(seen, [f"cli {i}" for i in range(30)], "all events, once")
    eq(calls, 6, "five pages and the one that repeats the token")


TEXT = [
    "ERROR database connection failed",
    "INFO request served in 12 ms",
    "WARN disk almost full",
    "ERROR timeout talking to upstream",
    "INFO healthcheck ok",
    "Failed login for user bob",
]
JSON = [
    {"eventType": "UpdateTrail", "user": {"id": 1, "name": "alice"}, "latency": 120, "ok": True, "tags": ["a", "b"], "items": [{"b": "x"}]},
    {"eventType": "CreateTrail", "user": {"id": 2, "name": "bob"}, "latency": 20, "ok": False, "error": None, "tags": ["c"], "items": [{"b": "y"}]},
    {"eventType": "DeleteTrail", "user": {"id": 3, "name": "carol"}, "latency": 500, "ok": True, "items": []},
]
SPACE = [
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    '127.0.0.2 - bob [10/Oct/2000:13:56:36 -0700] "GET /index.html HTTP/1.0" 404 120',
    '127.0.0.3 - carol [10/Oct/2000:13:57:36 -0700] "POST /form HTTP/1.0" 500 4096',
    '127.0.0.4 - dave [10/Oct/2000:13:58:36 -0700] "GET /big HTTP/1.0" 503 1500',
]


def filter_group():
    group = new_group()
    text, js, space = new_stream(group, "text"), new_stream(group, "json"), new_stream(group, "space")
    t = now_ms() - 300_000
    put(group, text, TEXT, start=t)
    put(group, js, [json.dumps(j) for j in JSON], start=t + 100)
    put(group, space, SPACE, start=t + 200)
    return group


FILTER_GROUP = None


def matches(pattern, **kw):
    global FILTER_GROUP
    FILTER_GROUP = FILTER_GROUP or filter_group()
    return [e["message"] for e in logs.filter_log_events(logGroupName=FILTER_GROUP, filterPattern=pattern, **kw)["events"]]


def test_filter_terms():
    eq(matches("ERROR"), [TEXT[0], TEXT[3]], "a term")
    eq(matches("ERROR timeout"), [TEXT[3]], "all terms")
    eq(matches("warn"), [], "case-sensitive")
    eq(matches('"Failed login"'), [TEXT[5]], "a quoted phrase")
    eq(matches("?WARN ?timeout"), [TEXT[2], TEXT[3]], "any of ?terms")
    eq(matches("INFO -healthcheck"), [TEXT[1]], "-term excludes")
    eq(matches(""), TEXT + [json.dumps(j) for j in JSON] + SPACE, "empty pattern: every event, in time order")
    eq(matches("%ERROR [a-z]+ connection%"), [TEXT[0]], "a regular expression")


def test_filter_json():
    js = [json.dumps(j) for j in JSON]
    eq(matches('{ $.eventType = "UpdateTrail" }'), [js[0]], "string equality")
    eq(matches('{ $.eventType != "UpdateTrail" }'), [js[1], js[2]], "inequality")
    eq(matches('{ $.eventType = "*Trail" }'), js, "wildcard")
    eq(matches('{ $.eventType = Create* }'), [js[1]], "bare wildcard value")
    eq(matches("{ $.latency > 100 }"), [js[0], js[2]], ">")
    eq(matches("{ $.latency >= 500 }"), [js[2]], ">=")
    eq(matches("{ $.latency < 100 }"), [js[1]], "<")
    eq(matches("{ $.latency <= 120 }"), [js[0], js[1]], "<=")
    eq(matches("{ $.user.id = 2 }"), [js[1]], "numeric =")
    eq(matches("{ $.user.id != 2 }"), [js[0], js[2]], "numeric !=")
    eq(matches("{ $.error IS NULL }"), [js[1]], "IS NULL")
    eq(matches("{ $.error NOT EXISTS }"), [js[0], js[2]], "NOT EXISTS")
    eq(matches("{ $.ok IS TRUE }"), [js[0], js[2]], "IS TRUE")
    eq(matches("{ $.ok IS FALSE }"), [js[1]], "IS FALSE")
    eq(matches('{ $.tags[0] = "c" }'), [js[1]], "array index")
    eq(matches('{ $.items[0].b = "x" }'), [js[0]], "index then member")
    eq(matches('{ ($.latency > 100) && ($.user.name = "carol") }'), [js[2]], "&&")
    eq(matches('{ $.user.name = "alice" || $.user.name = "bob" }'), [js[0], js[1]], "||")
    eq(matches('{ ($.ok IS TRUE && $.latency < 200) || $.eventType = "CreateTrail" }'), [js[0], js[1]], "parentheses")


def test_filter_space_delimited():
    eq(matches("[ip, identity, user, timestamp, request, status_code = 404, bytes]"), [SPACE[1]], "status = 404")
    eq(matches("[ip, identity, user, timestamp, request, status_code = 5*, bytes > 1000]"), [SPACE[2], SPACE[3]], "wildcard and >")
    eq(matches("[..., status_code = 5*, bytes > 2000]"), [SPACE[2]], "leading ...")
    eq(matches("[ip = 127.0.0.1, ...]"), [SPACE[0]], "trailing ...")
    eq(matches("[ip, ..., status_code = 200 || status_code = 404, bytes]"), [SPACE[0], SPACE[1]], "|| within a field")
    eq(matches('[ip, identity, user != bob, timestamp, request = "POST *", status_code, bytes]'), [SPACE[2]], "quoted field and !=")
    eq(matches("[a, b, c]"), [TEXT[4]], "field count: only three-field events")


def test_filter_options():
    global FILTER_GROUP
    FILTER_GROUP = FILTER_GROUP or filter_group()
    eq(matches("ERROR", logStreamNames=["json", "space"]), [], "named streams")
    eq(matches("ERROR", logStreamNames=["text"]), [TEXT[0], TEXT[3]], "named stream")
    eq(len(matches("", logStreamNamePrefix="sp")), len(SPACE), "stream prefix")
    eq(matches("", interleaved=True, limit=2), TEXT[:2], "limit")
    r = logs.filter_log_events(logGroupName=FILTER_GROUP, logStreamNames=["text"])
    eq(r["events"][0]["logStreamName"], "text", "logStreamName")
    assert len(r["events"][0]["eventId"]) == 56, r["events"][0]
    # Pages: a token per page until the end.
    seen, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName=FILTER_GROUP, limit=4, **kw)
        seen += [e["message"] for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    eq(len(seen), len(TEXT) + len(JSON) + len(SPACE), "every event once")
    eq(len(set(seen)), len(seen), "no repeats")
    paged = [e["message"] for p in logs.get_paginator("filter_log_events").paginate(logGroupName=FILTER_GROUP, filterPattern="ERROR", PaginationConfig={"PageSize": 1}) for e in p["events"]]
    eq(paged, [TEXT[0], TEXT[3]], "paginator")
    first = logs.filter_log_events(logGroupName=FILTER_GROUP, logStreamNames=["json"])["events"][0]["timestamp"]
    eq(len(matches("", startTime=first, endTime=first + 1)), 2, "start and end inclusive")
    for bad in ("{ $.a = ", '{ $.a = "x"', "[a, b", "user@example.com", "{ $.a > x }", "[ ]"):
        err = expect_error(lambda: matches(bad), "InvalidParameterException", 400)
        assert "filter pattern" in err["Error"]["Message"] or "term" in err["Error"]["Message"], err
    err = expect_error(lambda: matches("{ $.a = }"), "InvalidParameterException")
    eq(err["Error"]["Message"], "Invalid filter pattern", "message")
    expect_error(lambda: matches("", logStreamNames=["a"], logStreamNamePrefix="a"), "InvalidParameterException", 400)
    expect_error(lambda: logs.filter_log_events(logGroupName=FILTER_GROUP + "-missing"), "ResourceNotFoundException", 400)


def test_retention_policy():
    group = new_group()
    logs.put_retention_policy(logGroupName=group, retentionInDays=14)
    eq(logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"], 14, "retention")
    err = expect_error(lambda: logs.put_retention_policy(logGroupName=group, retentionInDays=4), "InvalidParameterException", 400)
    assert "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30" in err["Error"]["Message"], err
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    expect_error(lambda: logs.put_retention_policy(logGroupName=group + "-missing", retentionInDays=7), "ResourceNotFoundException", 400)
    expect_error(lambda: logs.delete_retention_policy(logGroupName=group + "-missing"), "ResourceNotFoundException", 400)


def test_tags():
    group = new_group(tags={"a": "1"})
    logs.tag_log_group(logGroupName=group, tags={"b": "2", "a": "one"})
    eq(logs.list_tags_log_group(logGroupName=group)["tags"], {"a": "one", "b": "2"}, "legacy tag")
    logs.untag_log_group(logGroupName=group, tags=["a"])
    eq(logs.list_tags_log_group(logGroupName=group)["tags"], {"b": "2"}, "legacy untag")
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].removesuffix(":*")
    logs.tag_resource(resourceArn=arn, tags={"c": "3"})
    eq(logs.list_tags_for_resource(resourceArn=arn)["tags"], {"b": "2", "c": "3"}, "tag by ARN")
    logs.untag_resource(resourceArn=arn, tagKeys=["b"])
    eq(logs.list_tags_for_resource(resourceArn=arn)["tags"], {"c": "3"}, "untag by ARN")
    expect_error(lambda: logs.tag_resource(resourceArn=arn + "-missing", tags={"x": "y"}), "ResourceNotFoundException", 400)
    expect_error(lambda: logs.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)}), "TooManyTagsException", 400)
    expect_error(lambda: logs.list_tags_log_group(logGroupName=group + "-missing"), "ResourceNotFoundException", 400)


def query(group, text, start, end, **kw):
    qid = logs.start_query(logGroupName=group, startTime=start, endTime=end, queryString=text, **kw)["queryId"]
    r = logs.get_query_results(queryId=qid)
    eq(r["status"], "Complete", "status")
    return [{f["field"]: f["value"] for f in row} for row in r["results"]], r["statistics"]


def test_insights_queries():
    group = new_group()
    stream = new_stream(group)
    base = (now_ms() // 300_000) * 300_000 - 3_600_000  # on a 5-minute boundary, an hour ago
    events = [{"timestamp": base + i * 60_000, "message": json.dumps({"status": 200 if i % 3 else 500, "latency": 10 * (i + 1), "path": f"/p{i % 2}"})}
              for i in range(12)] + [{"timestamp": base + 12 * 60_000, "message": "ERROR plain text line"}]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    start, end = base // 1000 - 60, base // 1000 + 3600
    rows, stats = query(group, "fields @timestamp, @message | sort @timestamp desc | limit 3", start, end)
    eq([r["@message"] for r in rows], ["ERROR plain text line", events[11]["message"], events[10]["message"]], "newest three")
    assert "@ptr" in rows[0] and rows[0]["@timestamp"].count(":") == 2, rows[0]
    eq((stats["recordsScanned"], stats["recordsMatched"]), (13.0, 13.0), "statistics")
    rows, _ = query(group, "filter status = 500 | fields latency, path | sort latency asc", start, end)
    eq([(r["latency"], r["path"]) for r in rows], [("10", "/p0"), ("40", "/p1"), ("70", "/p0"), ("100", "/p1")], "filter on a JSON field")
    rows, _ = query(group, "filter @message like /ERROR/ | fields @message", start, end)
    eq([r["@message"] for r in rows], ["ERROR plain text line"], "like /regex/")
    rows, _ = query(group, "stats count(*) as n, avg(latency), sum(latency), min(latency), max(latency) by bin(5m)", start, end)
    eq([r["n"] for r in rows], ["5", "5", "3"], "counts per 5 minutes")
    eq([r["avg(latency)"] for r in rows[:2]], ["30", "80"], "avg per 5 minutes")
    eq(rows[0]["bin(5m)"][-12:], time.strftime("%H:%M:00.000", time.gmtime(base / 1000)), "bin start")
    eq((rows[2]["sum(latency)"], rows[2]["min(latency)"], rows[2]["max(latency)"]), ("230", "110", "120"), "sum/min/max (the text line has no latency)")
    rows, _ = query(group, "filter ispresent(status) | stats count(*) as n by path | sort n desc", start, end)
    eq([(r["path"], r["n"]) for r in rows], [("/p0", "6"), ("/p1", "6")], "stats by a field")
    expect_error(lambda: logs.start_query(logGroupName=group, startTime=start, endTime=end, queryString="fields | nonsense"), "MalformedQueryException", 400)
    expect_error(lambda: logs.start_query(logGroupName=group + "-missing", startTime=start, endTime=end, queryString="fields @message"), "ResourceNotFoundException", 400)
    expect_error(lambda: logs.get_query_results(queryId="00000000-0000-0000-0000-000000000000"), "ResourceNotFoundException", 400)


def test_iam_policies_decide():
    """A user's policy names log groups by ARN: allowed on its groups' streams, denied elsewhere."""
    iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    allowed, other = "/allowed/" + unique("g"), "/other/" + unique("g")
    for g in (allowed, other):
        logs.create_log_group(logGroupName=g)
        logs.create_log_stream(logGroupName=g, logStreamName="s")
    user = unique("logger")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="logs", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:GetLogEvents", "logs:CreateLogStream"],
         "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/allowed/*"},
        {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    theirs = boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    theirs.put_log_events(logGroupName=allowed, logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "allowed"}])
    eq([e["message"] for e in theirs.get_log_events(logGroupName=allowed, logStreamName="s")["events"]], ["allowed"], "read back")
    assert theirs.describe_log_groups(logGroupNamePrefix="/allowed/")["logGroups"], "listed"
    expect_error(lambda: theirs.put_log_events(logGroupName=other, logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "no"}]),
                 "AccessDeniedException", 400)
    expect_error(lambda: theirs.delete_log_group(logGroupName=allowed), "AccessDeniedException", 400)


def test_validation():
    """The model's constraints, reported as CloudWatch Logs reports them: InvalidParameterException."""
    err = expect_error(lambda: logs.create_log_group(logGroupName="bad:name"), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "1 validation error detected: Value 'bad:name' at 'logGroupName' failed to satisfy constraint: "
       "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", "message")
    err = expect_error(lambda: logs.create_log_stream(logGroupName=new_group(), logStreamName="bad:stream"), "InvalidParameterException", 400)
    assert "[^:*]*" in err["Error"]["Message"], err


# ---- metric filters ----

def at(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)


def statistics(ns, name, dims=None):
    """A metric's statistics over the last hour, summed over its one-minute datapoints:
    (SampleCount, Sum, Minimum, Maximum, units), or None when it has no data."""
    points = cw.get_metric_statistics(Namespace=ns, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in (dims or {}).items()],
                                      StartTime=at(now_ms() - 3600_000), EndTime=at(now_ms() + 60_000), Period=60,
                                      Statistics=["SampleCount", "Sum", "Minimum", "Maximum"])["Datapoints"]
    if not points:
        return None
    return (sum(p["SampleCount"] for p in points), sum(p["Sum"] for p in points), min(p["Minimum"] for p in points),
            max(p["Maximum"] for p in points), {p["Unit"] for p in points})


def metric_filter(group, name, pattern, value, ns, metric="M", **transformation):
    logs.put_metric_filter(logGroupName=group, filterName=name, filterPattern=pattern, metricTransformations=[
        {"metricName": metric, "metricNamespace": ns, "metricValue": value, **transformation}])


def test_metric_filter_terms_with_default_value():
    group, ns = new_group(), unique("Logs/Terms")
    stream = new_stream(group)
    metric_filter(group, "errors", "ERROR", "1", ns, "Errors", defaultValue=0, unit="Count")
    metric_filter(group, "weighted", '?WARN ?ERROR', "2.5", ns, "Weighted")
    put(group, stream, ["ERROR disk", "INFO fine", "ERROR net", "WARN slow", "INFO again"])
    # One value per event: 1 for each of the two matches, the default (0) for the other three.
    eq(statistics(ns, "Errors"), (5, 2, 0, 1, {"Count"}), "errors")
    # Without a default value, only the matches publish.
    eq(statistics(ns, "Weighted"), (3, 7.5, 2.5, 2.5, {"None"}), "weighted")
    # GetMetricData reads the same series.
    start = now_ms() - 3600_000
    r = cw.get_metric_data(MetricDataQueries=[{"Id": "e", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Errors"}, "Period": 3600, "Stat": "Sum"}},
                                              {"Id": "n", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Errors"}, "Period": 3600, "Stat": "SampleCount"}}],
                           StartTime=at(start), EndTime=at(now_ms() + 60_000))
    eq({m["Id"]: sum(m["Values"]) for m in r["MetricDataResults"]}, {"e": 2.0, "n": 5.0}, "get_metric_data")
    # Events before a filter existed never count; events after it went do not either.
    logs.delete_metric_filter(logGroupName=group, filterName="errors")
    put(group, stream, ["ERROR after delete"])
    eq(statistics(ns, "Errors"), (5, 2, 0, 1, {"Count"}), "nothing after delete")


def test_metric_filter_json_value():
    group, ns = new_group(), unique("Logs/Json")
    stream = new_stream(group)
    metric_filter(group, "latency", "{ $.latency = * }", "$.latency", ns, "Latency", unit="Milliseconds")
    metric_filter(group, "slow", "{ $.latency > 100 && $.route = \"/predict\" }", "1", ns, "Slow")
    put(group, stream, [json.dumps({"route": "/predict", "latency": 120}), json.dumps({"route": "/ping", "latency": 30.5}),
                        json.dumps({"route": "/predict"}), "not json at all", json.dumps({"route": "/predict", "latency": 250}),
                        json.dumps({"route": "/predict", "latency": "n/a"})])
    # 120 + 30.5 + 250 (an event without the field, or where it is not a number, publishes nothing).
    eq(statistics(ns, "Latency"), (3, 400.5, 30.5, 250, {"Milliseconds"}), "latency")
    eq(statistics(ns, "Slow"), (2, 2, 1, 1, {"None"}), "slow predictions")


def test_metric_filter_space_delimited_dimensions():
    group, ns = new_group(), unique("Logs/Space")
    stream = new_stream(group)
    metric_filter(group, "bytes", "[ip, user, status = 2*, bytes]", "$bytes", ns, "Bytes", unit="Bytes",
                  dimensions={"User": "$user", "Status": "$status"})
    put(group, stream, ["10.0.0.1 alice 200 100", "10.0.0.2 bob 200 50", "10.0.0.3 alice 201 25", "10.0.0.4 alice 200 11",
                        "10.0.0.5 alice 404 7", "a malformed line"])
    eq(statistics(ns, "Bytes", {"User": "alice", "Status": "200"}), (2, 111, 11, 100, {"Bytes"}), "alice 200")
    eq(statistics(ns, "Bytes", {"User": "bob", "Status": "200"}), (1, 50, 50, 50, {"Bytes"}), "bob 200")
    eq(statistics(ns, "Bytes", {"User": "alice", "Status": "201"}), (1, 25, 25, 25, {"Bytes"}), "alice 201")
    eq(statistics(ns, "Bytes", {"User": "alice", "Status": "404"}), None, "a 404 does not match")
    eq(statistics(ns, "Bytes"), None, "every value has its dimensions")
    listed = sorted(tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in cw.list_metrics(Namespace=ns)["Metrics"])
    eq(listed, [(("Status", "200"), ("User", "alice")), (("Status", "200"), ("User", "bob")), (("Status", "201"), ("User", "alice"))], "list_metrics")


def test_describe_and_delete_metric_filters():
    base = "/strata/mf/" + unique("p")
    a, b = base + "/a", base + "/b"
    logs.create_log_group(logGroupName=a)
    logs.create_log_group(logGroupName=b)
    ns = unique("Logs/Describe")
    for i in range(5):
        metric_filter(a, f"f{i}", "ERROR" if i % 2 else "[x, y]", "1", ns, f"M{i % 2}")
    metric_filter(b, "other", "", "1", ns, "M1", defaultValue=3, unit="Seconds")
    eq([(f["logGroupName"], f["filterName"]) for f in logs.describe_metric_filters(logGroupName=a)["metricFilters"]],
       [(a, f"f{i}") for i in range(5)], "a group's filters, by name")
    f = logs.describe_metric_filters(logGroupName=b)["metricFilters"][0]
    eq(f["filterPattern"], "", "an empty pattern")
    eq(f["metricTransformations"], [{"metricName": "M1", "metricNamespace": ns, "metricValue": "1", "defaultValue": 3.0, "unit": "Seconds"}], "transformation")
    assert abs(f["creationTime"] - now_ms()) < 60_000, f
    # Pages of two: five filters in three pages; the paginator agrees.
    seen, token, pages = [], None, 0
    while True:
        page = logs.describe_metric_filters(logGroupName=a, limit=2, **({"nextToken": token} if token else {}))
        pages, seen = pages + 1, seen + [x["filterName"] for x in page["metricFilters"]]
        token = page.get("nextToken")
        if not token:
            break
    eq((seen, pages), ([f"f{i}" for i in range(5)], 3), "paged")
    paginated = [x["filterName"] for p in logs.get_paginator("describe_metric_filters").paginate(logGroupName=a, PaginationConfig={"PageSize": 2}) for x in p["metricFilters"]]
    eq(paginated, [f"f{i}" for i in range(5)], "paginator")
    eq([x["filterName"] for x in logs.describe_metric_filters(logGroupName=a, filterNamePrefix="f3")["metricFilters"]], ["f3"], "by prefix")
    # By metric, across groups (in group order).
    eq([(x["logGroupName"], x["filterName"]) for x in logs.describe_metric_filters(metricName="M1", metricNamespace=ns)["metricFilters"]],
       [(a, "f1"), (a, "f3"), (b, "other")], "by metric")
    err = expect_error(lambda: logs.describe_metric_filters(metricName="M1"), "InvalidParameterException", 400)
    assert "metricNamespace" in err["Error"]["Message"], err
    expect_error(lambda: logs.describe_metric_filters(logGroupName=base + "/missing"), "ResourceNotFoundException", 400)
    eq(logs.describe_log_groups(logGroupNamePrefix=a)["logGroups"][0]["metricFilterCount"], 5, "metricFilterCount")
    # Put again: the filter is replaced, not added.
    metric_filter(a, "f0", "WARN", "2", ns, "M0")
    eq(logs.describe_metric_filters(logGroupName=a, filterNamePrefix="f0")["metricFilters"][0]["filterPattern"], "WARN", "replaced")
    logs.delete_metric_filter(logGroupName=a, filterName="f4")
    eq(logs.describe_log_groups(logGroupNamePrefix=a)["logGroups"][0]["metricFilterCount"], 4, "after delete")
    err = expect_error(lambda: logs.delete_metric_filter(logGroupName=a, filterName="f4"), "ResourceNotFoundException", 400)
    eq(err["Error"]["Message"], "The specified metric filter does not exist.", "message")
    expect_error(lambda: logs.delete_metric_filter(logGroupName=base + "/missing", filterName="f0"), "ResourceNotFoundException", 400)
    # A group's filters go with it, and a new group of the same name has none.
    logs.delete_log_group(logGroupName=b)
    logs.create_log_group(logGroupName=b)
    eq(logs.describe_metric_filters(logGroupName=b)["metricFilters"], [], "gone with the group")
    eq([x["logGroupName"] for x in logs.describe_metric_filters(metricName="M1", metricNamespace=ns)["metricFilters"]], [a, a], "not listed either")


def test_test_metric_filter():
    r = logs.test_metric_filter(filterPattern="[ip, user, username, timestamp, request, status_code, bytes > 1000]", logEventMessages=SPACE)
    eq([m["eventNumber"] for m in r["matches"]], [1, 3, 4], "the matching messages, numbered from 1")
    eq(r["matches"][0]["eventMessage"], SPACE[0], "message")
    eq(r["matches"][0]["extractedValues"], {"$ip": "127.0.0.1", "$user": "-", "$username": "frank", "$timestamp": "10/Oct/2000:13:55:36 -0700",
                                            "$request": "GET /apache_pb.gif HTTP/1.0", "$status_code": "200", "$bytes": "2326"}, "extracted values")
    r = logs.test_metric_filter(filterPattern='{ $.latency > 100 && $.user.name = "*" }', logEventMessages=[json.dumps(j) for j in JSON])
    eq([(m["eventNumber"], m["extractedValues"]) for m in r["matches"]],
       [(1, {"$.latency": "120", "$.user.name": "alice"}), (3, {"$.latency": "500", "$.user.name": "carol"})], "JSON selectors")
    r = logs.test_metric_filter(filterPattern="ERROR", logEventMessages=TEXT)
    eq([(m["eventNumber"], m.get("extractedValues", {})) for m in r["matches"]], [(1, {}), (4, {})], "terms extract nothing")
    eq(logs.test_metric_filter(filterPattern="NOTHING", logEventMessages=TEXT)["matches"], [], "no match")
    err = expect_error(lambda: logs.test_metric_filter(filterPattern="{ $.a = ", logEventMessages=["x"]), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "If a filter pattern starts with '{' it must end with '}'", "message")
    expect_error(lambda: logs.test_metric_filter(filterPattern="x", logEventMessages=["m"] * 51), "InvalidParameterException", 400)


def test_metric_filter_refusals():
    group, ns = new_group(), unique("Logs/Bad")
    err = expect_error(lambda: metric_filter(group + "-missing", "f", "ERROR", "1", ns), "ResourceNotFoundException", 400)
    eq(err["Error"]["Message"], "The specified log group does not exist.", "message")
    err = expect_error(lambda: metric_filter(group, "f", "{ $.a = ", "1", ns), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "If a filter pattern starts with '{' it must end with '}'", "message")
    err = expect_error(lambda: metric_filter(group, "f", "{ $.latency = * }", "$.duration", ns), "InvalidParameterException", 400)
    assert "Invalid metric value '$.duration'" in err["Error"]["Message"], err
    expect_error(lambda: metric_filter(group, "f", "[a, b]", "$c", ns), "InvalidParameterException", 400)
    expect_error(lambda: metric_filter(group, "f", "ERROR", "$.latency", ns), "InvalidParameterException", 400)
    err = expect_error(lambda: metric_filter(group, "f", "[a, b, c, d]", "1", ns, dimensions={"A": "$a", "B": "$b", "C": "$c", "D": "$d"}),
                       "InvalidParameterException", 400)
    assert "at most 3 dimensions" in err["Error"]["Message"], err
    metric_filter(group, "three", "[a, b, c, d]", "1", ns, dimensions={"A": "$a", "B": "$b", "C": "$c"})
    err = expect_error(lambda: metric_filter(group, "f", "ERROR", "1", ns, dimensions={"A": "$a"}), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "The specified filter pattern does not support dimensions", "message")
    err = expect_error(lambda: metric_filter(group, "f", "[a, b]", "1", ns, dimensions={"A": "$a"}, defaultValue=0), "InvalidParameterException", 400)
    eq(err["Error"]["Message"], "Invalid metric transformation: dimensions and default value are mutually exclusive properties", "message")
    expect_error(lambda: metric_filter(group, "f", "[a, b]", "1", ns, dimensions={"A": "$z"}), "InvalidParameterException", 400)
    err = expect_error(lambda: metric_filter(group, "bad:name", "ERROR", "1", ns), "InvalidParameterException", 400)
    assert "[^:*]*" in err["Error"]["Message"], err
    expect_error(lambda: metric_filter(group, "x" * 513, "ERROR", "1", ns), "InvalidParameterException", 400)
    expect_error(lambda: metric_filter(group, "f", "ERROR", "1", ns, unit="Furlongs"), "InvalidParameterException", 400)
    # Nothing refused was stored; a name of 512 characters is fine.
    metric_filter(group, "x" * 512, "ERROR", "1", ns)
    eq(sorted(f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]), ["three", "x" * 512], "stored")
    # 100 filters per group; the 101st is refused, but an existing one can still be replaced.
    for i in range(98):
        metric_filter(group, f"n{i:03}", "ERROR", "1", ns)
    err = expect_error(lambda: metric_filter(group, "one-too-many", "ERROR", "1", ns), "LimitExceededException", 400)
    eq(err["Error"]["Message"], "Resource limit exceeded.", "message")
    metric_filter(group, "n000", "WARN", "1", ns)
    eq(logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"], 100, "count")


def test_cli_v2_put_metric_filter():
    """Debian's CLI v2 puts a filter (the README's example), reads it back, and its events count."""
    group, ns = new_group(), unique("Cli/Logs")
    stream = new_stream(group)
    cli = ["/usr/bin/aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "logs"]
    out = subprocess.run(cli + ["put-metric-filter", "--log-group-name", group, "--filter-name", "latency", "--filter-pattern", "{ $.latency = * }",
                                "--metric-transformations", f"metricName=Latency,metricNamespace={ns},metricValue=$.latency,unit=Milliseconds"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    out = subprocess.run(cli + ["describe-metric-filters", "--log-group-name", group], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    eq(json.loads(out.stdout)["metricFilters"][0]["metricTransformations"][0]["metricValue"], "$.latency", "described")
    put(group, stream, [json.dumps({"latency": 40}), json.dumps({"latency": 2})])
    eq(statistics(ns, "Latency"), (2, 42, 2, 40, {"Milliseconds"}), "published")
    out = subprocess.run(cli + ["test-metric-filter", "--filter-pattern", "{ $.latency > 10 }", "--log-event-messages", '{"latency": 40}', '{"latency": 2}'],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    eq([m["eventNumber"] for m in json.loads(out.stdout)["matches"]], [1], "test-metric-filter")


def test_subscription_filters_are_refused_for_want_of_a_destination():
    group = new_group()
    arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"
    err = expect_error(lambda: logs.put_subscription_filter(logGroupName=group, filterName="s", filterPattern="ERROR", destinationArn=arn),
                       "InvalidParameterException", 400, "no Kinesis Data Streams")
    assert arn in err["Error"]["Message"], err
    expect_error(lambda: logs.put_subscription_filter(logGroupName=group + "-missing", filterName="s", filterPattern="ERROR", destinationArn=arn),
                 "ResourceNotFoundException", 400)
    expect_error(lambda: logs.put_subscription_filter(logGroupName=group, filterName="s", filterPattern="{ $.a = ", destinationArn=arn),
                 "InvalidParameterException", 400, "must end with")
    eq(logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"], [], "none made")
    expect_error(lambda: logs.delete_subscription_filter(logGroupName=group, filterName="s"), "ResourceNotFoundException", 400,
                 "The specified subscription filter does not exist.")


if __name__ == "__main__":
    run(globals())
