"""CloudWatch Logs on a server whose clock the test drives: retention deletes what a group no
longer keeps as days pass (no waiting: `advance` moves the server's clock), and PutLogEvents
judges "too old", "too new" and "expired" by the server's clock."""
import boto3
from botocore.config import Config

from harness import CLOCK, advance, eq, endpoint, run, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})
logs = validate_responses(boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
DAY = 86_400_000


def now_ms():
    return int(CLOCK.time() * 1000)


def messages(group, stream):
    return [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]]


def test_retention_deletes_expired_events_as_days_pass():
    group, stream = "/strata/clock/" + unique("g"), "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    t = now_ms()
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t - DAY // 2, "message": "half a day old"}, {"timestamp": t, "message": "new"}])
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    eq(messages(group, stream), ["half a day old", "new"], "both kept")
    advance(13 * 3600)  # 18.5 h after the first event: the first is now 1.04 days old
    until("the expired event to go", lambda: messages(group, stream) == ["new"], 10)
    eq(logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"], 3, "storedBytes")
    advance(DAY // 1000)
    until("the other to go too", lambda: messages(group, stream) == [], 10)
    # Without a retention policy, events stay (up to the 14 days PutLogEvents accepts and beyond).
    logs.delete_retention_policy(logGroupName=group)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now_ms(), "message": "kept"}])
    advance(30 * DAY // 1000)
    eq(messages(group, stream), ["kept"], "kept without retention")


def test_put_log_events_judges_by_the_servers_clock():
    group, stream = "/strata/clock/" + unique("g"), "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    t = now_ms()
    advance(3 * 3600)  # an event stamped now at the start is 3 h old, one stamped 4 h on is 1 h ahead
    r = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t, "message": "3 h old"}, {"timestamp": t + 4 * 3600_000, "message": "1 h ahead"}, {"timestamp": t + 6 * 3600_000, "message": "3 h ahead"}])
    eq(r["rejectedLogEventsInfo"], {"tooNewLogEventStartIndex": 2}, "too new by the server's clock")
    eq(messages(group, stream), ["3 h old", "1 h ahead"], "stored")


if __name__ == "__main__":
    run(globals())
