"""An endpoint whose model starts failing, watched as a team watches one on AWS, on a server whose
clock the test drives (FakeClockServer.cs): an alarm on the variant's Invocation5XXErrors goes to
ALARM within its EvaluationPeriods, an https subscriber of the alarm's SNS topic receives the
signed notification and verifies its signature with AWS's documented algorithm, and the alarm
returns to OK, notifying again, when the errors stop. Once with the alarm made and watched through
boto3 (this interpreter's: 1.43 or Debian's 1.26), once through Debian's aws CLI v2."""
import json
import re
import subprocess

import boto3
import botocore.exceptions
from botocore.config import Config

import harness
from harness import advance, deploy_byoc, endpoint, eq, run, unique, until
from sns_endpoint import Endpoint, subscribe_confirmed, verify

cfg = Config(retries={"max_attempts": 1})
cw = boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sns = boto3.client("sns", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
CLI_V2 = "/usr/bin/aws"


def deploy():
    """An endpoint whose one variant runs byoc_server.py: it answers 500 to every request after
    it is sent `break`, until it is sent `mend`."""
    return deploy_byoc(sm, iam)


def invoke(name, body):
    """Invokes; returns the status the caller saw (200, or the error's)."""
    try:
        rt.invoke_endpoint(EndpointName=name, Body=body, ContentType="text/plain")
        return 200
    except botocore.exceptions.ClientError as e:
        eq(e.response["Error"]["Code"], "ModelError", "a failing model's answer")
        return e.response["ResponseMetadata"]["HTTPStatusCode"]


def minute_start():
    """To one second past a whole minute (and at least 11 s on, so the evaluator runs on the way)."""
    delta = 60 - harness.server_time() % 60 + 1
    advance(delta if delta >= 11 else delta + 60)


def notification(ep, state, old, alarm, name):
    """The next delivery to `ep`: an SNS notification of the alarm's change to `state`, signed."""
    headers, body = ep.next(timeout=30)
    eq(headers["x-amz-sns-message-type"], "Notification", "message type")
    message = json.loads(body)
    verify(message)
    eq(message["Subject"], f'{state}: "{alarm}" in US East (N. Virginia)', "subject")
    change = json.loads(message["Message"])
    eq((change["AlarmName"], change["OldStateValue"], change["NewStateValue"]), (alarm, old, state), "the change")
    trigger = change["Trigger"]
    eq((trigger["Namespace"], trigger["MetricName"], trigger["Statistic"], trigger["Period"], trigger["EvaluationPeriods"]),
       ("AWS/SageMaker", "Invocation5XXErrors", "SUM", 60, 2), "trigger")
    eq(sorted((d["name"], d["value"]) for d in trigger["Dimensions"]), [("EndpointName", name), ("VariantName", "main")], "dimensions")
    return change


def scenario(put_alarm, state_of):
    topic = sns.create_topic(Name=unique("endpoint-alarms"))["TopicArn"]
    ep = Endpoint(tls=True)
    subscribe_confirmed(sns, topic, ep, protocol="https")
    name = deploy()
    alarm = unique("errors-5xx")
    # Two of two minutes with any 5XX error: ALARM; missing minutes are not breaching.
    put_alarm(alarm, name, topic)
    eq(state_of(alarm), "INSUFFICIENT_DATA", "a new alarm")

    minute_start()
    eq([invoke(name, b"healthy") for _ in range(4)], [200] * 4, "healthy answers")
    advance(11)
    until("OK while the model is healthy", lambda: state_of(alarm) == "OK", 30)
    notification(ep, "OK", "INSUFFICIENT_DATA", alarm, name)

    # The model starts failing: one breaching minute of two is not enough ...
    eq(invoke(name, b"break"), 200, "breaking the model")
    failed = [invoke(name, b"payload") for _ in range(3)]
    eq(failed, [424] * 3, "a failing model's answers (ModelError)")
    advance(11)
    eq(state_of(alarm), "OK", "one minute of errors")
    # ... the second is: ALARM within the alarm's two periods.
    advance(60)
    failed += [invoke(name, b"payload") for _ in range(2)]
    advance(11)
    until("ALARM", lambda: state_of(alarm) == "ALARM", 30)
    change = notification(ep, "ALARM", "OK", alarm, name)
    # The evaluation the clock's minute step started runs in the background, and on a loaded
    # machine it may run after the first of the two failing calls: then it sees 1 error in the
    # newest minute, which already breaches (>= 1). Either way it saw 2 breaching minutes.
    assert re.match(r"Threshold Crossed: 2 out of the last 2 datapoints \[[12]\.0 \([^)]+\), 3\.0 \([^)]+\)\] were greater than or equal to the threshold \(1\.0\)",
                    change["NewStateReason"]), change["NewStateReason"]

    # What the alarm saw is what the test did: in the first minute 3 of 8 invocations failed (4
    # healthy, `break`, 3 failing), in the second 2 of 2.
    stats = cw.get_metric_statistics(Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors", Statistics=["Sum", "SampleCount"], Period=60,
                                     Dimensions=[{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "main"}],
                                     StartTime=harness.CLOCK.time() - 600, EndTime=harness.CLOCK.time() + 60)["Datapoints"]
    eq([(p["Sum"], p["SampleCount"]) for p in sorted(stats, key=lambda p: p["Timestamp"])], [(3.0, 8.0), (2.0, 2.0)], "5XX errors per minute")

    # The errors stop: the newest minute has no errors, so fewer than 2 of 2 breach: OK.
    eq(invoke(name, b"mend"), 200, "mending the model")
    advance(60)
    eq([invoke(name, b"healthy") for _ in range(3)], [200] * 3, "healthy again")
    advance(11)
    until("OK again", lambda: state_of(alarm) == "OK", 30)
    notification(ep, "OK", "ALARM", alarm, name)
    ep.nothing()
    sm.delete_endpoint(EndpointName=name)


def boto3_put_alarm(alarm, name, topic):
    cw.put_metric_alarm(AlarmName=alarm, Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors", Statistic="Sum",
                        Dimensions=[{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "main"}],
                        Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching", AlarmActions=[topic], OKActions=[topic])


def boto3_state(alarm):
    return cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]


def cli(*args):
    out = subprocess.run([CLI_V2, "--endpoint-url", endpoint(), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"aws {' '.join(args)}: {out.stderr}"
    return out.stdout


def cli_put_alarm(alarm, name, topic):
    cli("cloudwatch", "put-metric-alarm", "--alarm-name", alarm, "--namespace", "AWS/SageMaker", "--metric-name", "Invocation5XXErrors",
        "--statistic", "Sum", "--dimensions", f"Name=EndpointName,Value={name}", "Name=VariantName,Value=main", "--period", "60",
        "--evaluation-periods", "2", "--datapoints-to-alarm", "2", "--threshold", "1", "--comparison-operator", "GreaterThanOrEqualToThreshold",
        "--treat-missing-data", "notBreaching", "--alarm-actions", topic, "--ok-actions", topic)


def cli_state(alarm):
    return cli("cloudwatch", "describe-alarms", "--alarm-names", alarm, "--query", "MetricAlarms[0].StateValue", "--output", "text").strip()


def test_aws_cli_v2():
    # First: the CLI signs with the real clock, which the fake one runs ahead of as the test goes.
    scenario(cli_put_alarm, cli_state)


def test_boto3():
    scenario(boto3_put_alarm, boto3_state)


run(globals())
