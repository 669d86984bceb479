"""Model Monitor's data-quality schedules end to end with boto3, on a server whose clock the test
drives (FakeClockServer.cs): an endpoint that captures its requests is sent data with one shifted
feature; a baseline of undrifted data (the analyzer run as a processing job, as suggest_baseline
runs it), a data-quality job definition and an hourly schedule; once the clock passes the hour,
the execution the scheduler started (a processing job named as SageMaker names them) ends
CompletedWithViolations, the constraint_violations.json under
<S3Uri>/<endpoint>/<schedule>/yyyy/mm/dd/hh/ names the shifted feature's baseline_drift_check, a
CloudWatch alarm on its drift metric goes to ALARM, and `strata monitor report` draws it.
A NOW schedule against a baseline of the same data ends Completed; one over an endpoint that does
not exist ends Failed saying so. Bad requests get SageMaker's errors."""
import json
import os
import random
import subprocess

from botocore.exceptions import WaiterError

from monitor_harness import TERMINAL, deploy, ended
from harness import advance, client, eq, execution_role, expect_error, run, server_time, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, rt = client("s3"), client("iam"), client("sagemaker-runtime")
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
BUCKET = unique("monitor")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
ACCOUNT = ROLE.split(":")[4]
COLUMNS = ["a", "b", "c", "d"]
rng = random.Random(18)
BASELINE_ROWS = [[round(rng.random(), 4) for _ in COLUMNS] for _ in range(500)]
# The baseline's rows with b moved by 5: wholly past the baseline's range, an L-infinity distance
# of 1, while a, c and d keep their distribution exactly (a distance of 0, not a sample's noise).
DRIFTED_ROWS = [[a, round(b + 5, 4), c, d] for a, b, c, d in BASELINE_ROWS]


def csv(rows, header=None):
    lines = ([",".join(header)] if header else []) + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def baseline(rows):
    """statistics.json and constraints.json of `rows`, made as suggest_baseline makes them; their S3 URIs."""
    name = unique("baseline-suggestion-job")
    s3.put_object(Bucket=BUCKET, Key=f"datasets/{name}/data.csv", Body=csv(rows, COLUMNS))
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=ROLE, AppSpecification={"ImageUri": ANALYZER},
        Environment={"dataset_format": json.dumps({"csv": {"header": True}}), "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
                     "output_path": "/opt/ml/processing/output", "publish_cloudwatch_metrics": "Disabled"},
        ProcessingInputs=[{"InputName": "baseline_dataset_input", "S3Input": {
            "S3Uri": f"s3://{BUCKET}/datasets/{name}", "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
            "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "monitoring_output", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/baselines/{name}", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}})
    until("the baseline job ends", lambda: sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] in TERMINAL, 120)
    eq(sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"], "Completed", "baseline job")
    return f"s3://{BUCKET}/baselines/{name}/statistics.json", f"s3://{BUCKET}/baselines/{name}/constraints.json"



def definition(endpoint_name, statistics=None, constraints=None, **extra):
    name = unique("dq-def")
    args = {"JobDefinitionName": name, "RoleArn": ROLE,
            "DataQualityAppSpecification": {"ImageUri": ANALYZER},
            "DataQualityJobInput": {"EndpointInput": {"EndpointName": endpoint_name, "LocalPath": "/opt/ml/processing/input/endpoint"}},
            "DataQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{BUCKET}/reports", "LocalPath": "/opt/ml/processing/output"}}]},
            "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
            "StoppingCondition": {"MaxRuntimeInSeconds": 1800}, **extra}
    if constraints:
        args["DataQualityBaselineConfig"] = {"StatisticsResource": {"S3Uri": statistics}, "ConstraintsResource": {"S3Uri": constraints}}
    arn = sm.create_data_quality_job_definition(**args)["JobDefinitionArn"]
    eq(arn, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:data-quality-job-definition/{name}", "JobDefinitionArn")
    return name, args


def schedule(definition_name, expression="cron(0 * ? * * *)", **times):
    name = unique("dq-schedule")
    sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": expression, **times},
        "MonitoringJobDefinitionName": definition_name, "MonitoringType": "DataQuality"})
    return name



# One endpoint with drifting traffic, captured in the hour the schedules analyse.
if server_time() % 3600 > 2700:  # leave the hour room for the capture's flush
    advance(3600 - server_time() % 3600 + 60)
ENDPOINT = deploy(sm, s3, BUCKET, ROLE, "classifier")
for i in range(0, len(DRIFTED_ROWS), 20):
    rt.invoke_endpoint(EndpointName=ENDPOINT, Body=csv(DRIFTED_ROWS[i:i + 20]), ContentType="text/csv")
advance(61)  # the capture writer flushes every minute
until("the captured requests", lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=f"capture/{ENDPOINT}/").get("KeyCount", 0) > 0, 60)
STATISTICS, CONSTRAINTS = baseline(BASELINE_ROWS)


def test_hourly_schedule_finds_the_drift():
    definition_name, _ = definition(ENDPOINT, STATISTICS, CONSTRAINTS)
    name = schedule(definition_name)
    described = sm.describe_monitoring_schedule(MonitoringScheduleName=name)
    eq(described["MonitoringScheduleStatus"], "Scheduled", "status")
    eq(described["EndpointName"], ENDPOINT, "EndpointName")
    assert "LastMonitoringExecutionSummary" not in described, described
    eq(sm.list_monitoring_executions(MonitoringScheduleName=name)["MonitoringExecutionSummaries"], [], "no execution before the hour")
    hour = int(server_time() // 3600 + 1) * 3600
    # The execution starts two minutes after its tick (the capture of the hour's end is flushed by then).
    advance(hour - server_time() + 60)
    eq(sm.list_monitoring_executions(MonitoringScheduleName=name)["MonitoringExecutionSummaries"], [], "no execution a minute after the hour")
    advance(65)
    execution = ended(sm, name)
    eq(execution["MonitoringExecutionStatus"], "CompletedWithViolations", f"status ({execution.get('FailureReason')})")
    eq(int(execution["ScheduledTime"].timestamp()), hour, "ScheduledTime: the hour")
    job = execution["ProcessingJobArn"].split("/")[-1]
    assert job.startswith("model-monitoring-") and len(job) == len("model-monitoring-202401010000-") + 24, job
    eq(sm.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"], "Completed", "the processing job")
    import datetime
    at = datetime.datetime.fromtimestamp(hour, datetime.timezone.utc).strftime("%Y/%m/%d/%H")
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/{ENDPOINT}/{name}/{at}/constraint_violations.json")["Body"].read())
    eq([(v["feature_name"], v["constraint_check_type"]) for v in report["violations"]], [("b", "baseline_drift_check")], "violations")
    assert "Baseline drift distance: 1 exceeds threshold: 0.1" in report["violations"][0]["description"], report
    # Strata's drift statistics beside AWS's distance: b moved wholly past its range by exactly 5, the rest kept.
    drift = report["strata"]["drift_statistics"]
    eq(drift["b"]["kolmogorov_smirnov"]["statistic"], 1.0, "b's KS statistic")
    assert drift["b"]["kolmogorov_smirnov"]["p_value"] < 1e-12 and abs(drift["b"]["wasserstein_distance"] - 5) < 1e-9, drift["b"]
    # Over the baseline's deciles (10% each) the window is all in the last, open bin: PSI and JS by their formulas here.
    import math
    base, window = [0.1] * 10, [0.0] * 9 + [1.0]
    psi = sum((max(q, 1e-4) - max(p, 1e-4)) * math.log(max(q, 1e-4) / max(p, 1e-4)) for p, q in zip(base, window))
    js = math.sqrt(sum(x / 2 * math.log2(x / ((p + q) / 2)) for p, q in zip(base, window) for x in (p, q) if x > 0))
    assert abs(drift["b"]["population_stability_index"] - psi) < 1e-9 and abs(drift["b"]["jensen_shannon_distance"] - js) < 1e-9, (drift["b"], psi, js)
    eq((drift["a"]["kolmogorov_smirnov"]["statistic"], drift["a"]["wasserstein_distance"], drift["a"]["population_stability_index"]), (0, 0, 0), "a kept")
    # The picture: `strata monitor report` draws each feature's histograms and its distance over time.
    page = os.path.join(os.environ["STRATA_DATA_DIR"], "..", unique("report") + ".html")
    made = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "monitor", "report", name, "-o", page, "--data-dir", os.environ["STRATA_DATA_DIR"]],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    html = open(page, encoding="utf-8").read()
    for column in COLUMNS:
        assert f"<h2>{column} <span" in html, column
    assert html.count("<svg") == 3 * len(COLUMNS) and "CompletedWithViolations" in html and "<polyline" in html, html[:2000]
    missing = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "monitor", "report", "no-such-schedule", "--data-dir", os.environ["STRATA_DATA_DIR"]],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no monitoring schedule no-such-schedule" in missing.stderr, (missing.returncode, missing.stderr)
    stats = json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/{ENDPOINT}/{name}/{at}/statistics.json")["Body"].read())
    eq(stats["dataset"]["item_count"], len(DRIFTED_ROWS), "the window's records")
    # The drift as a CloudWatch metric at the window's end, for an alarm to watch.
    points = client("cloudwatch").get_metric_statistics(
        Namespace="aws/sagemaker/Endpoints/data-metrics", MetricName="feature_baseline_drift_b",
        Dimensions=[{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": name}],
        StartTime=hour - 3600, EndTime=hour + 3600, Period=3600, Statistics=["Maximum"])["Datapoints"]
    eq([(int(p["Timestamp"].timestamp()), p["Maximum"]) for p in points], [(hour, 1.0)], "feature_baseline_drift_b")
    # An alarm on it goes to ALARM (the evaluator runs every 10 s; the datum is within its five minutes).
    cw = client("cloudwatch")
    alarm_name = unique("drift-b")
    cw.put_metric_alarm(AlarmName=alarm_name, Namespace="aws/sagemaker/Endpoints/data-metrics", MetricName="feature_baseline_drift_b",
                        Dimensions=[{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": name}],
                        Statistic="Maximum", Period=60, EvaluationPeriods=5, DatapointsToAlarm=1, Threshold=0.1,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    advance(11)
    until("the drift alarm in ALARM", lambda: cw.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["StateValue"] == "ALARM", 30)
    cw.delete_alarms(AlarmNames=[alarm_name])
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=name)["LastMonitoringExecutionSummary"]["MonitoringExecutionStatus"],
       "CompletedWithViolations", "LastMonitoringExecutionSummary")
    # The schedule's alert: in alert after one execution with violations (1 of 1), its history saying when.
    alerts = sm.list_monitoring_alerts(MonitoringScheduleName=name)["MonitoringAlertSummaries"]
    eq([(a["MonitoringAlertName"], a["AlertStatus"], a["DatapointsToAlert"], a["EvaluationPeriod"], a["Actions"]) for a in alerts],
       [("data-quality-violations", "InAlert", 1, 1, {"ModelDashboardIndicator": {"Enabled": True}})], "the alert")
    history = sm.list_monitoring_alert_history(MonitoringScheduleName=name)["MonitoringAlertHistory"]
    eq([(h["MonitoringAlertName"], h["AlertStatus"]) for h in history], [("data-quality-violations", "InAlert")], "the alert's history")
    eq(sm.list_monitoring_alert_history(MonitoringScheduleName=name, StatusEquals="OK")["MonitoringAlertHistory"], [], "StatusEquals")
    # Two failures of three to alert: one is not enough.
    updated = sm.update_monitoring_alert(MonitoringScheduleName=name, MonitoringAlertName="data-quality-violations", DatapointsToAlert=2, EvaluationPeriod=3)
    eq(updated["MonitoringScheduleArn"], described["MonitoringScheduleArn"], "UpdateMonitoringAlert's answer")
    eq([(a["AlertStatus"], a["DatapointsToAlert"], a["EvaluationPeriod"]) for a in sm.list_monitoring_alerts(MonitoringScheduleName=name)["MonitoringAlertSummaries"]],
       [("OK", 2, 3)], "the alert with its new criteria")
    expect_error(lambda: sm.update_monitoring_alert(MonitoringScheduleName=name, MonitoringAlertName="other", DatapointsToAlert=1, EvaluationPeriod=1),
                 "ResourceNotFound", message="Monitoring alert other does not exist")
    expect_error(lambda: sm.update_monitoring_alert(MonitoringScheduleName=name, MonitoringAlertName="data-quality-violations", DatapointsToAlert=3, EvaluationPeriod=2),
                 "ValidationException", message="must not be greater than EvaluationPeriod")
    expect_error(lambda: sm.list_monitoring_alerts(MonitoringScheduleName="no-such-schedule"), "ResourceNotFound", message="does not exist")
    # The listing's filters and pages.
    eq(sm.list_monitoring_executions(MonitoringScheduleName=name, StatusEquals="Completed")["MonitoringExecutionSummaries"], [], "StatusEquals")
    eq(len(sm.list_monitoring_executions(EndpointName=ENDPOINT, StatusEquals="CompletedWithViolations")["MonitoringExecutionSummaries"]) >= 1, True, "by endpoint")
    sm.stop_monitoring_schedule(MonitoringScheduleName=name)
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleStatus"], "Stopped", "stopped")
    expect_error(lambda: sm.delete_data_quality_job_definition(JobDefinitionName=definition_name), "ValidationException",
                 message=f"is used by the monitoring schedule(s) {name}")
    sm.delete_monitoring_schedule(MonitoringScheduleName=name)
    sm.delete_data_quality_job_definition(JobDefinitionName=definition_name)


def test_now_schedule_completes_without_violations_and_fails_without_endpoint():
    statistics, constraints = baseline(DRIFTED_ROWS)
    definition_name, _ = definition(ENDPOINT, statistics, constraints)
    name = schedule(definition_name, "NOW", DataAnalysisStartTime="-PT2H", DataAnalysisEndTime="-PT0H")
    execution = ended(sm, name)
    eq(execution["MonitoringExecutionStatus"], "Completed", f"status ({execution.get('FailureReason')})")
    missing, _ = definition(unique("no-such-endpoint"), statistics, constraints)
    failed = ended(sm, schedule(missing, "NOW", DataAnalysisStartTime="-PT1H", DataAnalysisEndTime="-PT0H"))
    eq(failed["MonitoringExecutionStatus"], "Failed", "status")
    assert "does not exist" in failed["FailureReason"], failed
    names = [e["MonitoringScheduleName"] for e in sm.list_monitoring_executions(SortBy="ScheduledTime", SortOrder="Ascending", MaxResults=1)["MonitoringExecutionSummaries"]]
    eq(len(names), 1, "MaxResults")
    first = sm.list_monitoring_executions(MaxResults=1)
    assert "NextToken" in first, first
    second = sm.list_monitoring_executions(MaxResults=1, NextToken=first["NextToken"])["MonitoringExecutionSummaries"]
    assert second and second[0] != first["MonitoringExecutionSummaries"][0], second


def test_definitions_described_listed_and_tagged():
    name, args = definition(ENDPOINT, STATISTICS, CONSTRAINTS, Tags=[{"Key": "team", "Value": "ml"}])
    described = sm.describe_data_quality_job_definition(JobDefinitionName=name)
    for member in ("DataQualityAppSpecification", "DataQualityJobInput", "DataQualityJobOutputConfig", "JobResources", "RoleArn", "StoppingCondition", "DataQualityBaselineConfig"):
        eq(described[member], args[member], member)
    eq(sm.list_tags(ResourceArn=described["JobDefinitionArn"])["Tags"], [{"Key": "team", "Value": "ml"}], "tags")
    listed = sm.list_data_quality_job_definitions(NameContains=name)["JobDefinitionSummaries"]
    eq([(d["MonitoringJobDefinitionName"], d["EndpointName"]) for d in listed], [(name, ENDPOINT)], "listed")
    expect_error(lambda: sm.create_data_quality_job_definition(**args), "ResourceInUse",
                 message=f"Job definition arn:aws:sagemaker:us-east-1:{ACCOUNT}:data-quality-job-definition/{name} already exists.")
    sm.delete_data_quality_job_definition(JobDefinitionName=name)
    expect_error(lambda: sm.describe_data_quality_job_definition(JobDefinitionName=name), "ResourceNotFound",
                 message=f"Job definition arn:aws:sagemaker:us-east-1:{ACCOUNT}:data-quality-job-definition/{name} does not exist.")
    expect_error(lambda: sm.delete_data_quality_job_definition(JobDefinitionName=name), "ResourceNotFound")
    expect_error(lambda: definition(ENDPOINT, JobResources={"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}),
                 "ValidationException", message="InstanceCount must be 1")
    expect_error(lambda: definition(ENDPOINT, DataQualityJobInput={"EndpointInput": {"EndpointName": ENDPOINT, "LocalPath": "/tmp/x"}}),
                 "ValidationException", message="LocalPath /tmp/x of EndpointInput is not valid")


def test_schedules_refuse_what_sagemaker_refuses():
    definition_name, _ = definition(ENDPOINT, STATISTICS, CONSTRAINTS)
    for expression in ("rate(1 hour)", "cron(15 * ? * * *)", "cron(0 * * * ? *)", "cron(0 */4 ? * * *)", "hourly"):
        expect_error(lambda: schedule(definition_name, expression), "ValidationException", message="Invalid ScheduleExpression")
    expect_error(lambda: schedule(definition_name, "NOW"), "ValidationException", message="DataAnalysisStartTime and DataAnalysisEndTime are required")
    expect_error(lambda: schedule(definition_name, "NOW", DataAnalysisStartTime="-PT0H", DataAnalysisEndTime="-PT1H"), "ValidationException", message="must be before")
    expect_error(lambda: schedule(definition_name, "NOW", DataAnalysisStartTime="yesterday", DataAnalysisEndTime="-PT0H"), "ValidationException", message="ISO 8601")
    # Offsets far enough back to overflow a date are refused, not a 500 (nor a scheduler that stops).
    expect_error(lambda: schedule(definition_name, "NOW", DataAnalysisStartTime="-P99999999D", DataAnalysisEndTime="-PT0H"), "ValidationException", message="ISO 8601")
    expect_error(lambda: schedule(definition_name, "NOW", DataAnalysisStartTime="-P9999999D", DataAnalysisEndTime="-PT0H"), "ValidationException", message="more than 31 days")
    expect_error(lambda: schedule("no-such-definition"), "ValidationException", message="data-quality-job-definition/no-such-definition does not exist.")
    # A ModelQuality schedule looks for a model-quality definition of the name.
    expect_error(lambda: sm.create_monitoring_schedule(MonitoringScheduleName=unique("s"), MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": definition_name, "MonitoringType": "ModelQuality"}),
        "ValidationException", message=f"model-quality-job-definition/{definition_name} does not exist.")
    expect_error(lambda: sm.create_monitoring_schedule(MonitoringScheduleName=unique("s"), MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": definition_name, "MonitoringType": "ModelExplainability"}),
        "ValidationException", message=f"model-explainability-job-definition/{definition_name} does not exist.")
    name = schedule(definition_name, "cron(0 6 ? * * *)")
    expect_error(lambda: sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": definition_name, "MonitoringType": "DataQuality"}),
        "ResourceInUse", message=f"Monitoring Schedule arn:aws:sagemaker:us-east-1:{ACCOUNT}:monitoring-schedule/{name} already exists.")
    sm.update_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 0/4 ? * * *)"}, "MonitoringJobDefinitionName": definition_name, "MonitoringType": "DataQuality"})
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"], "cron(0 0/4 ? * * *)", "updated")
    listed = sm.list_monitoring_schedules(NameContains=name, StatusEquals="Scheduled")["MonitoringScheduleSummaries"]
    eq([(s["MonitoringScheduleName"], s["MonitoringJobDefinitionName"], s["MonitoringType"]) for s in listed], [(name, definition_name, "DataQuality")], "listed")
    sm.stop_monitoring_schedule(MonitoringScheduleName=name)
    sm.start_monitoring_schedule(MonitoringScheduleName=name)
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=name)["MonitoringScheduleStatus"], "Scheduled", "started again")
    sm.delete_monitoring_schedule(MonitoringScheduleName=name)
    missing = f"Monitoring Schedule arn:aws:sagemaker:us-east-1:{ACCOUNT}:monitoring-schedule/{name} does not exist."
    for call in (sm.describe_monitoring_schedule, sm.delete_monitoring_schedule, sm.start_monitoring_schedule, sm.stop_monitoring_schedule):
        expect_error(lambda: call(MonitoringScheduleName=name), "ResourceNotFound", message=missing)


run(globals())
