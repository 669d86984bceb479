"""CloudWatch alarms on a server whose clock the test drives (FakeClockServer.cs): an alarm goes
to ALARM when DatapointsToAlarm of its EvaluationPeriods breach and back to OK when they stop,
records its history, and follows TreatMissingData, with an unmodified boto3 (1.43: JSON 1.0,
1.26: Query)."""
import json

import boto3
from botocore.config import Config

import harness
from harness import advance, endpoint, eq, expect_error, run, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})
cw = validate_responses(boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
ACCOUNT = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg).get_caller_identity()["Account"]
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"


def alarm(name):
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def state_becomes(name, value):
    until(f"{name} in {value}", lambda: alarm(name)["StateValue"] == value, seconds=30)
    return alarm(name)


def minute_start():
    """Moves the clock to one second past a whole minute, so the test's periods are known, and at
    least 11 seconds on, so the evaluator (every 10 s) runs on the way."""
    delta = 60 - harness.server_time() % 60 + 1
    advance(delta if delta >= 11 else delta + 60)


def errors(ns, value):
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Dimensions": [{"Name": "Service", "Value": "api"}], "Value": value}])


def test_alarm_fires_after_its_periods_and_recovers():
    ns, name = unique("Alarmed"), unique("errors")
    cw.put_metric_alarm(AlarmName=name, AlarmDescription="api errors", Namespace=ns, MetricName="Errors",
                        Dimensions=[{"Name": "Service", "Value": "api"}], Statistic="Sum", Period=60, EvaluationPeriods=2,
                        DatapointsToAlarm=2, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching", AlarmActions=[TOPIC], OKActions=[TOPIC], Tags=[{"Key": "team", "Value": "ml"}])
    a = alarm(name)
    eq((a["StateValue"], a["StateReason"]), ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"), "a new alarm")
    eq((a["AlarmArn"], a["Threshold"], a["DatapointsToAlarm"]), (f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}", 1.0, 2), "described")
    # No data at all, missing data not breaching: OK.
    minute_start()
    a = state_becomes(name, "OK")
    eq(a["StateReason"], "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [NonBreaching].", "reason")
    # One breaching minute of two (the other missing, not breaching): still OK.
    errors(ns, 3)
    advance(11)
    eq(alarm(name)["StateValue"], "OK", "one of two")
    # The next minute breaches too: ALARM within the two periods.
    advance(60)
    errors(ns, 2)
    advance(11)
    a = state_becomes(name, "ALARM")
    assert a["StateReason"].startswith("Threshold Crossed: 2 out of the last 2 datapoints"), a["StateReason"]
    data = json.loads(a["StateReasonData"])
    eq((data["statistic"], data["period"], data["threshold"], sorted(data["recentDatapoints"])), ("Sum", 60, 1.0, [2.0, 3.0]), "reason data")
    # Errors stop: the newest minute is missing (not breaching), so fewer than 2 breach: OK.
    advance(60)
    state_becomes(name, "OK")
    history = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate", ScanBy="TimestampAscending")["AlarmHistoryItems"]
    eq([h["HistorySummary"] for h in history],
       ["Alarm updated from INSUFFICIENT_DATA to OK", "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"], "state history")
    eq(json.loads(history[1]["HistoryData"])["newState"]["stateValue"], "ALARM", "history data")
    actions = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert actions and all(TOPIC in h["HistorySummary"] for h in actions), actions
    eq(cw.describe_alarm_history(AlarmName=name, HistoryItemType="ConfigurationUpdate")["AlarmHistoryItems"][0]["HistorySummary"],
       f'Alarm "{name}" created', "configuration history")


def test_missing_data_treatments():
    ns = unique("Missing")
    names = {t: unique(t.lower()) for t in ("missing", "breaching", "ignore")}
    for treat, name in names.items():
        cw.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="Quiet", Statistic="Average", Period=60, EvaluationPeriods=1,
                            Threshold=5, ComparisonOperator="GreaterThanThreshold", TreatMissingData=treat)
    minute_start()
    state_becomes(names["missing"], "INSUFFICIENT_DATA")
    state_becomes(names["breaching"], "ALARM")
    eq(alarm(names["ignore"])["StateValue"], "INSUFFICIENT_DATA", "ignore keeps the state")
    a = alarm(names["missing"])
    assert a["StateReason"].startswith("Insufficient Data") or a["StateReason"].startswith("Unchecked"), a["StateReason"]


def test_metric_math_alarm():
    ns, name = unique("Rate"), unique("rate")
    cw.put_metric_alarm(AlarmName=name, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold", Metrics=[
        {"Id": "e", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "n", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Requests"}, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "rate", "Expression": "100 * e / n", "Label": "error rate", "ReturnData": True}])
    minute_start()
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Value": 3}, {"MetricName": "Requests", "Value": 20}])
    advance(11)
    a = state_becomes(name, "ALARM")  # 15 % > 10 %
    eq([m["Id"] for m in a["Metrics"]], ["e", "n", "rate"], "metrics described")
    assert "[15.0" in a["StateReason"], a["StateReason"]


def test_set_state_describe_filters_actions_tags_and_delete():
    prefix = unique("filt")
    ns = unique("Filters")
    for i in range(3):
        cw.put_metric_alarm(AlarmName=f"{prefix}-{i}", Namespace=ns, MetricName="M", Dimensions=[{"Name": "I", "Value": str(i)}], Statistic="Maximum",
                            Period=60, EvaluationPeriods=1, Threshold=i, ComparisonOperator="LessThanThreshold", AlarmActions=[TOPIC])
    cw.set_alarm_state(AlarmName=f"{prefix}-1", StateValue="ALARM", StateReason="testing", StateReasonData='{"by":"test"}')
    a = alarm(f"{prefix}-1")
    eq((a["StateValue"], a["StateReason"], a["StateReasonData"]), ("ALARM", "testing", '{"by":"test"}'), "set state")
    eq([x["AlarmName"] for x in cw.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")["MetricAlarms"]], [f"{prefix}-1"], "state filter")
    eq(len(cw.describe_alarms(AlarmNamePrefix=prefix, ActionPrefix="arn:aws:sns:")["MetricAlarms"]), 3, "action prefix")
    eq(cw.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["CompositeAlarm"])["MetricAlarms"], [], "only composite alarms")
    page = cw.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=2)
    eq(len(page["MetricAlarms"]) + len(cw.describe_alarms(AlarmNamePrefix=prefix, NextToken=page["NextToken"])["MetricAlarms"]), 3, "pages")
    eq([x["AlarmName"] for x in cw.describe_alarms_for_metric(Namespace=ns, MetricName="M", Dimensions=[{"Name": "I", "Value": "2"}])["MetricAlarms"]],
       [f"{prefix}-2"], "alarms for a metric")
    cw.disable_alarm_actions(AlarmNames=[f"{prefix}-0", "no-such-alarm"])
    eq(alarm(f"{prefix}-0")["ActionsEnabled"], False, "disabled")
    cw.enable_alarm_actions(AlarmNames=[f"{prefix}-0"])
    eq(alarm(f"{prefix}-0")["ActionsEnabled"], True, "enabled")
    arn = alarm(f"{prefix}-0")["AlarmArn"]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "dev"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["env"])
    eq(cw.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "team", "Value": "ml"}], "tags")
    expect_error(lambda: cw.list_tags_for_resource(ResourceARN=arn + "x"), "ResourceNotFoundException", 404)
    expect_error(lambda: cw.delete_alarms(AlarmNames=[f"{prefix}-0", unique("none")]), "ResourceNotFound", 404)
    eq(len(cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]), 3, "nothing deleted when one is missing")
    cw.delete_alarms(AlarmNames=[f"{prefix}-{i}" for i in range(3)])
    eq(cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"], [], "deleted")


def test_bad_alarms_are_refused():
    base = dict(AlarmName=unique("bad"), Namespace="N", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                ComparisonOperator="GreaterThanThreshold")
    expect_error(lambda: cw.put_metric_alarm(**{**base, "DatapointsToAlarm": 2}), "ValidationError", 400, "DatapointsToAlarm")
    expect_error(lambda: cw.put_metric_alarm(**{**base, "ExtendedStatistic": "p99"}), "InvalidParameterCombination", 400)
    expect_error(lambda: cw.put_metric_alarm(**{**base, "Period": 45}), "InvalidParameterValue", 400, "Period")
    expect_error(lambda: cw.put_metric_alarm(**{**base, "TreatMissingData": "sometimes"}), "ValidationError", 400, "TreatMissingData")
    expect_error(lambda: cw.put_metric_alarm(**{**base, "AlarmActions": ["not-an-arn"]}), "ValidationError", 400, "arn")
    m = {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}
    expect_error(lambda: cw.put_metric_alarm(AlarmName=unique("bad"), EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                                             Metrics=[{"Id": "a", "MetricStat": m}, {"Id": "b", "MetricStat": m}]), "ValidationError", 400, "return data")
    expect_error(lambda: cw.set_alarm_state(AlarmName=unique("none"), StateValue="OK", StateReason="x"), "ResourceNotFound", 404)
    eq(cw.describe_alarms(AlarmNames=[base["AlarmName"]])["MetricAlarms"], [], "nothing stored")


def composite(name):
    return cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]


def history_of(name, kind):
    return cw.describe_alarm_history(AlarmName=name, AlarmTypes=["CompositeAlarm"], HistoryItemType=kind)["AlarmHistoryItems"]


def test_composite_alarm_follows_its_rule():
    sns = boto3.client("sns", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    topic = sns.create_topic(Name=unique("composite"))["TopicArn"]
    a, b, c = unique("child-a"), unique("child-b"), unique("parent")
    for name in (a, b):
        cw.put_metric_alarm(AlarmName=name, Namespace=unique("Composite"), MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1,
                            Threshold=1, ComparisonOperator="GreaterThanThreshold", TreatMissingData="ignore")
    b_arn = alarm(b)["AlarmArn"]
    cw.put_composite_alarm(AlarmName=c, AlarmRule=f'ALARM("{a}") AND NOT OK({b_arn})', AlarmActions=[topic], AlarmDescription="both")
    p = composite(c)
    # Saved and evaluated at once: a is not in ALARM, so the rule is false.
    eq((p["StateValue"], p["AlarmRule"], p["AlarmDescription"]), ("OK", f'ALARM("{a}") AND NOT OK({b_arn})', "both"), "a new composite alarm")
    eq(cw.describe_alarms(AlarmNames=[c])["CompositeAlarms"], [], "without AlarmTypes only metric alarms are described")
    cw.set_alarm_state(AlarmName=a, StateValue="ALARM", StateReason="testing")
    p = composite(c)
    eq(p["StateValue"], "ALARM", "a child in ALARM and the other not OK")
    assert p["StateReason"].startswith(f"{alarm(a)['AlarmArn']} transitioned to ALARM at "), p["StateReason"]
    eq([t["arn"] for t in json.loads(p["StateReasonData"])["triggeringAlarms"]], [alarm(a)["AlarmArn"]], "triggering alarms")
    actions = history_of(c, "Action")
    eq(len(actions), 1, "one action")
    assert actions[0]["HistorySummary"] == f"Successfully executed action {topic}", actions
    cw.set_alarm_state(AlarmName=b, StateValue="OK", StateReason="testing")
    eq(composite(c)["StateValue"], "OK", "NOT OK(b) is false now")
    eq([h["HistorySummary"] for h in history_of(c, "StateUpdate")][::-1],
       ["Alarm updated from INSUFFICIENT_DATA to OK", "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"], "history")
    eq(cw.describe_alarm_history(AlarmName=c)["AlarmHistoryItems"], [], "without AlarmTypes only metric alarms' history")
    children = cw.describe_alarms(ChildrenOfAlarmName=c)
    eq(sorted(x["AlarmName"] for x in children["MetricAlarms"]), sorted([a, b]), "children")
    assert "Threshold" not in children["MetricAlarms"][0], "only names, ARNs and states"
    eq([x["AlarmName"] for x in cw.describe_alarms(ParentsOfAlarmName=a)["CompositeAlarms"]], [c], "parents")
    # A composite alarm of composite alarms, updated in place; its child may not be deleted under it.
    top = unique("top")
    cw.put_composite_alarm(AlarmName=top, AlarmRule=f"OK({c}) OR FALSE")
    eq(composite(top)["StateValue"], "ALARM", "a composite of a composite")
    cw.put_composite_alarm(AlarmName=top, AlarmRule="(TRUE AND NOT TRUE)")
    eq(composite(top)["StateValue"], "OK", "updated rule")
    expect_error(lambda: cw.delete_alarms(AlarmNames=[a]), "ValidationError", 400, c)
    cw.delete_alarms(AlarmNames=[top, c, a, b])
    left = cw.describe_alarms(AlarmNames=[a, b, c, top], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    eq((left["MetricAlarms"], left["CompositeAlarms"]), ([], []), "deleted together")


def test_composite_alarm_actions_wait_for_their_suppressor():
    sns = boto3.client("sns", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    topic = sns.create_topic(Name=unique("suppressed"))["TopicArn"]
    child, sup, c = unique("child"), unique("maintenance"), unique("quiet")
    for name in (child, sup):
        cw.put_metric_alarm(AlarmName=name, Namespace=unique("Suppress"), MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1,
                            Threshold=1, ComparisonOperator="GreaterThanThreshold", TreatMissingData="ignore")
    cw.put_composite_alarm(AlarmName=c, AlarmRule=f"ALARM({child})", AlarmActions=[topic], ActionsSuppressor=sup,
                           ActionsSuppressorWaitPeriod=60, ActionsSuppressorExtensionPeriod=60)
    cw.set_alarm_state(AlarmName=child, StateValue="ALARM", StateReason="testing")
    p = composite(c)
    eq((p["StateValue"], p["ActionsSuppressedBy"]), ("ALARM", "WaitPeriod"), "waiting for the suppressor")
    eq(p["ActionsSuppressor"], alarm(sup)["AlarmArn"], "the suppressor by ARN")
    cw.set_alarm_state(AlarmName=sup, StateValue="ALARM", StateReason="maintenance")
    advance(11)
    until("suppressed by the alarm", lambda: composite(c).get("ActionsSuppressedBy") == "Alarm", seconds=30)
    cw.set_alarm_state(AlarmName=sup, StateValue="OK", StateReason="maintenance over")
    advance(11)
    until("in the extension period", lambda: composite(c).get("ActionsSuppressedBy") == "ExtensionPeriod", seconds=30)
    eq(history_of(c, "Action"), [], "no action while suppressed")
    advance(61)
    until("the action after the extension", lambda: len(history_of(c, "Action")) == 1, seconds=30)
    assert "ActionsSuppressedBy" not in composite(c), composite(c)
    # Without a suppressor in ALARM, the actions run once the wait period is over.
    cw.set_alarm_state(AlarmName=child, StateValue="OK", StateReason="testing")
    cw.set_alarm_state(AlarmName=child, StateValue="ALARM", StateReason="testing")
    eq(composite(c)["ActionsSuppressedBy"], "WaitPeriod", "waiting again")
    advance(71)
    until("the action after the wait", lambda: len(history_of(c, "Action")) == 2, seconds=30)


def test_bad_composite_alarms_are_refused():
    child = unique("child")
    cw.put_metric_alarm(AlarmName=child, Namespace="N", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanThreshold")
    name = unique("bad")
    for rule, words in [(f"ALARM({child}) AND", "position"), (f"ALARM({child}) XOR OK({child})", "position"), ("ALARMS(x)", "position"),
                        (f'ALARM("{child})', "closing"), ("NOT", "position")]:
        expect_error(lambda: cw.put_composite_alarm(AlarmName=name, AlarmRule=rule), "ValidationError", 400, words)
    expect_error(lambda: cw.put_composite_alarm(AlarmName=name, AlarmRule=f"ALARM({child}) OR OK(no-such-alarm)"), "ValidationError", 400, "no-such-alarm")
    expect_error(lambda: cw.put_composite_alarm(AlarmName=name, AlarmRule="ALARM(arn:aws:cloudwatch:us-east-1:000000000000:alarm:x)"), "ValidationError", 400, "ARN")
    expect_error(lambda: cw.put_composite_alarm(AlarmName=name, AlarmRule="TRUE", ActionsSuppressor=child), "ValidationError", 400, "required")
    expect_error(lambda: cw.put_composite_alarm(AlarmName=child, AlarmRule="TRUE"), "ValidationError", 400, "metric alarm")
    cw.put_composite_alarm(AlarmName=name, AlarmRule="TRUE")
    expect_error(lambda: cw.put_metric_alarm(AlarmName=name, Namespace="N", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1,
                                             Threshold=1, ComparisonOperator="GreaterThanThreshold"), "ValidationError", 400, "composite alarm")
    cw.delete_alarms(AlarmNames=[name, child])


def test_target_tracking_policy_owns_its_alarms():
    """Application Auto Scaling makes a target-tracking policy's AlarmHigh and AlarmLow as AWS does,
    keeps them in step with the policy, and applies the policy when one of them goes off."""
    from harness import deploy_regression, execution_role
    s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    aas = boto3.client("application-autoscaling", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    bucket = unique("tracking")
    s3.create_bucket(Bucket=bucket)
    name = deploy_regression(s3, sm, bucket, execution_role(boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)))
    resource = f"endpoint/{name}/variant/main"
    target = dict(ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    aas.register_scalable_target(MinCapacity=1, MaxCapacity=2, **target)

    def track(value, **config):
        return aas.put_scaling_policy(PolicyName="invocations", PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration=dict(
            {"TargetValue": value, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}, **config), **target)

    policy = track(5.0, ScaleOutCooldown=0)
    names = [a["AlarmName"] for a in policy["Alarms"]]
    eq(len(names), 2, "two alarms")
    high, low = names
    assert high.startswith(f"TargetTracking-{resource}-AlarmHigh-") and low.startswith(f"TargetTracking-{resource}-AlarmLow-"), names
    eq(policy["Alarms"][0]["AlarmARN"], f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{high}", "alarm ARN")
    eq([a["AlarmName"] for a in aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"][0]["Alarms"]],
       names, "the policy lists them")
    h, lo = alarm(high), alarm(low)
    dims = sorted((d["Name"], d["Value"]) for d in h["Dimensions"])
    eq((h["Namespace"], h["MetricName"], dims, h["Statistic"], h["Period"]),
       ("AWS/SageMaker", "InvocationsPerInstance", [("EndpointName", name), ("VariantName", "main")], "Sum", 60), "the metric")
    eq((h["EvaluationPeriods"], h["DatapointsToAlarm"], h["Threshold"], h["ComparisonOperator"], h["AlarmActions"]),
       (3, 3, 5.0, "GreaterThanThreshold", [policy["PolicyARN"]]), "AlarmHigh")
    eq((lo["EvaluationPeriods"], lo["DatapointsToAlarm"], lo["Threshold"], lo["ComparisonOperator"], lo["AlarmActions"]),
       (15, 15, 4.5, "LessThanThreshold", [policy["PolicyARN"]]), "AlarmLow: 90 % of the target")
    eq(h["AlarmDescription"], f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy['PolicyARN']}.", "description")

    # Changed with the policy: a new target, and no AlarmLow once scale-in is disabled.
    again = track(8.0, ScaleOutCooldown=0, DisableScaleIn=True)
    eq([a["AlarmName"] for a in again["Alarms"]], [high], "AlarmHigh kept, AlarmLow gone")
    eq(alarm(high)["Threshold"], 8.0, "new threshold")
    eq(cw.describe_alarms(AlarmNames=[low])["MetricAlarms"], [], "AlarmLow deleted")

    # AlarmHigh going off applies the policy at once, not at the scaler's next minute.
    advance(61)  # the scaler's first reading of the metric
    for _ in range(20):
        rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")
    cw.set_alarm_state(AlarmName=high, StateValue="ALARM", StateReason="load")
    actions = cw.describe_alarm_history(AlarmName=high, HistoryItemType="Action")["AlarmHistoryItems"]
    eq([a["HistorySummary"] for a in actions], [f"Successfully executed action {policy['PolicyARN']}"], "the action")
    activities = aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingActivities"]
    assert activities and "1 → 2 instances" in activities[0]["Cause"], activities
    until("two instances", lambda: sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]["CurrentInstanceCount"] == 2, seconds=60)

    aas.delete_scaling_policy(PolicyName="invocations", **target)
    eq(cw.describe_alarms(AlarmNames=[high, low])["MetricAlarms"], [], "deleted with the policy")
    track(5.0)
    made = [a["AlarmName"] for a in aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"][0]["Alarms"]]
    aas.deregister_scalable_target(**target)
    eq(cw.describe_alarms(AlarmNames=made)["MetricAlarms"], [], "deleted with the target")
    sm.delete_endpoint(EndpointName=name)


run(globals())
