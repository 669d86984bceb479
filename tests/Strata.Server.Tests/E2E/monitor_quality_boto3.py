"""Model Monitor's model-quality schedules end to end with boto3, on a server whose clock the test
drives (FakeClockServer.cs): a regression endpoint that captures its responses is sent requests
with an InferenceId each; a baseline of predictions and labels (the analyzer run as a processing
job, as ModelQualityMonitor.suggest_baseline runs it) suggests regression constraints; two hourly
schedules over the same requests, one whose ground truth agrees with the predictions and one whose
labels are far off. Past the hour the first ends Completed, the second CompletedWithViolations
naming mae, and the window's mae is in CloudWatch's aws/sagemaker/Endpoints/model-metrics.
Ground truth that does not parse, an endpoint that captures nothing and a problem type without its
attributes fail saying what to fix."""
import datetime
import json
import random

from monitor_harness import TERMINAL, deploy, ended
from harness import advance, client, eq, execution_role, expect_error, run, server_time, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, rt = client("s3"), client("iam"), client("sagemaker-runtime")
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
BUCKET = unique("quality")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
ACCOUNT = ROLE.split(":")[4]
rng = random.Random(18)



def ground_truth(prefix, labels):
    """Labels as AWS's ground truth records, in the hour folder of their upload (the server's now)."""
    at = datetime.datetime.fromtimestamp(server_time(), datetime.timezone.utc).strftime("%Y/%m/%d/%H")
    body = "\n".join(json.dumps({"groundTruthData": {"data": str(label), "encoding": "CSV"}, "eventMetadata": {"eventId": event_id}, "eventVersion": "0"})
                     for event_id, label in labels.items())
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{at}/labels.jsonl", Body=body.encode())
    return f"s3://{BUCKET}/{prefix}"


def definition(endpoint_name, truth_uri, constraints=None, problem="Regression", endpoint_input=None, **extra):
    name = unique("mq-def")
    args = {"JobDefinitionName": name, "RoleArn": ROLE,
            "ModelQualityAppSpecification": {"ImageUri": ANALYZER, "ProblemType": problem},
            "ModelQualityJobInput": {"EndpointInput": endpoint_input or {"EndpointName": endpoint_name, "LocalPath": "/opt/ml/processing/input/endpoint", "InferenceAttribute": "0"},
                                     "GroundTruthS3Input": {"S3Uri": truth_uri}},
            "ModelQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{BUCKET}/reports", "LocalPath": "/opt/ml/processing/output"}}]},
            "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}, **extra}
    if constraints:
        args["ModelQualityBaselineConfig"] = {"ConstraintsResource": {"S3Uri": constraints}}
    arn = sm.create_model_quality_job_definition(**args)["JobDefinitionArn"]
    eq(arn, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-quality-job-definition/{name}", "JobDefinitionArn")
    return name, args


def schedule(definition_name, expression="cron(0 * ? * * *)", **times):
    name = unique("mq-schedule")
    sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": expression, **times},
        "MonitoringJobDefinitionName": definition_name, "MonitoringType": "ModelQuality"})
    return name



def baseline():
    """suggest_baseline's processing job over predictions and labels (labels off by up to 0.1)."""
    name = unique("baseline-suggestion-job")
    rows = [(p, round(p + rng.uniform(-0.1, 0.1), 4)) for p in (round(rng.uniform(-2, 4), 4) for _ in range(300))]
    s3.put_object(Bucket=BUCKET, Key=f"datasets/{name}/data.csv", Body=("prediction,label\n" + "".join(f"{p},{l}\n" for p, l in rows)).encode())
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=ROLE, AppSpecification={"ImageUri": ANALYZER},
        Environment={"dataset_format": json.dumps({"csv": {"header": True}}), "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
                     "output_path": "/opt/ml/processing/output", "publish_cloudwatch_metrics": "Disabled", "analysis_type": "MODEL_QUALITY",
                     "problem_type": "Regression", "inference_attribute": "prediction", "ground_truth_attribute": "label"},
        ProcessingInputs=[{"InputName": "baseline_dataset_input", "S3Input": {
            "S3Uri": f"s3://{BUCKET}/datasets/{name}", "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
            "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "monitoring_output", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/baselines/{name}", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}})
    until("the baseline job ends", lambda: sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] in TERMINAL, 120)
    described = sm.describe_processing_job(ProcessingJobName=name)
    eq(described["ProcessingJobStatus"], "Completed", f"baseline job ({described.get('FailureReason')})")
    statistics = json.loads(s3.get_object(Bucket=BUCKET, Key=f"baselines/{name}/statistics.json")["Body"].read())
    eq(statistics["dataset"]["item_count"], 300, "baseline item_count")
    mae = sum(abs(p - l) for p, l in rows) / len(rows)
    assert abs(statistics["regression_metrics"]["mae"]["value"] - mae) < 1e-9, statistics["regression_metrics"]["mae"]
    constraints = json.loads(s3.get_object(Bucket=BUCKET, Key=f"baselines/{name}/constraints.json")["Body"].read())
    eq(constraints["regression_constraints"]["mae"]["comparison_operator"], "GreaterThanThreshold", "mae's operator")
    eq(constraints["regression_constraints"]["r2"]["comparison_operator"], "LessThanThreshold", "r2's operator")
    return f"s3://{BUCKET}/baselines/{name}/constraints.json"


# One endpoint, its requests captured in the hour the schedules analyse, each with an InferenceId.
if server_time() % 3600 > 2700:  # leave the hour room for the capture's flush
    advance(3600 - server_time() % 3600 + 60)
ENDPOINT = deploy(sm, s3, BUCKET, ROLE)
PREDICTIONS = {}
for i in range(40):
    row = [round(rng.uniform(0, 1), 3) for _ in range(4)]
    answer = rt.invoke_endpoint(EndpointName=ENDPOINT, Body=",".join(map(str, row)).encode(), ContentType="text/csv", Accept="text/csv", InferenceId=f"req-{i}")
    PREDICTIONS[f"req-{i}"] = float(answer["Body"].read().decode().strip())
advance(61)  # the capture writer flushes every minute
until("the captured requests", lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=f"capture/{ENDPOINT}/").get("KeyCount", 0) > 0, 60)
CONSTRAINTS = baseline()
GOOD = ground_truth(unique("truth-good"), PREDICTIONS)
BAD = ground_truth(unique("truth-bad"), {k: round(v + 3, 4) for k, v in PREDICTIONS.items()})


def test_hourly_schedules_complete_or_name_the_broken_metric():
    good_definition, args = definition(ENDPOINT, GOOD, CONSTRAINTS)
    bad_definition, _ = definition(ENDPOINT, BAD, CONSTRAINTS)
    described = sm.describe_model_quality_job_definition(JobDefinitionName=good_definition)
    for member in ("ModelQualityAppSpecification", "ModelQualityJobInput", "ModelQualityJobOutputConfig", "JobResources", "RoleArn", "ModelQualityBaselineConfig"):
        eq(described[member], args[member], member)
    good, bad = schedule(good_definition), schedule(bad_definition)
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=good)["MonitoringType"], "ModelQuality", "MonitoringType")
    hour = int(server_time() // 3600 + 1) * 3600
    advance(hour - server_time() + 125)  # executions start two minutes after their tick
    completed, violated = ended(sm, good), ended(sm, bad)
    eq(completed["MonitoringExecutionStatus"], "Completed", f"good labels ({completed.get('FailureReason')})")
    eq(violated["MonitoringExecutionStatus"], "CompletedWithViolations", f"labels off by 3 ({violated.get('FailureReason')})")
    eq((violated["MonitoringType"], violated["MonitoringJobDefinitionName"], int(violated["ScheduledTime"].timestamp())), ("ModelQuality", bad_definition, hour), "the execution")
    at = datetime.datetime.fromtimestamp(hour, datetime.timezone.utc).strftime("%Y/%m/%d/%H")
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/{ENDPOINT}/{bad}/{at}/constraint_violations.json")["Body"].read())
    eq(sorted(v["metric_name"] for v in report["violations"]), ["mae", "mse", "r2", "rmse"], "violated metrics")
    mae = next(v for v in report["violations"] if v["metric_name"] == "mae")
    eq(mae["constraint_check_type"], "GreaterThanThreshold", "check type")
    assert mae["description"].startswith("Metric mae with ") and " was GreaterThanThreshold " in mae["description"], mae
    stats = json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/{ENDPOINT}/{good}/{at}/statistics.json")["Body"].read())
    eq((stats["dataset"]["item_count"], stats["regression_metrics"]["mae"]["value"]), (40, 0.0), "the good window: 40 merged, no error")
    eq(json.loads(s3.get_object(Bucket=BUCKET, Key=f"reports/{ENDPOINT}/{good}/{at}/constraint_violations.json")["Body"].read())["violations"], [], "no violations")
    # The window's metrics in model-metrics, for an alarm to watch.
    points = client("cloudwatch").get_metric_statistics(
        Namespace="aws/sagemaker/Endpoints/model-metrics", MetricName="mae",
        Dimensions=[{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": bad}],
        StartTime=hour - 3600, EndTime=hour + 3600, Period=3600, Statistics=["Maximum"])["Datapoints"]
    eq(len(points), 1, "one mae datum")
    assert abs(points[0]["Maximum"] - 3) < 1e-3 and int(points[0]["Timestamp"].timestamp()) == hour, points
    listed = sm.list_monitoring_executions(MonitoringTypeEquals="ModelQuality", StatusEquals="CompletedWithViolations")["MonitoringExecutionSummaries"]
    assert any(e["MonitoringScheduleName"] == bad for e in listed), listed
    for name in (good, bad):
        sm.delete_monitoring_schedule(MonitoringScheduleName=name)
    eq([d["MonitoringJobDefinitionName"] for d in sm.list_model_quality_job_definitions(NameContains=good_definition)["JobDefinitionSummaries"]], [good_definition], "listed")
    sm.delete_model_quality_job_definition(JobDefinitionName=good_definition)
    expect_error(lambda: sm.describe_model_quality_job_definition(JobDefinitionName=good_definition), "ResourceNotFound",
                 message=f"Job definition arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-quality-job-definition/{good_definition} does not exist.")


def test_bad_input_fails_saying_what_to_fix():
    # Ground truth that does not parse.
    broken = unique("truth-broken")
    at = datetime.datetime.fromtimestamp(server_time(), datetime.timezone.utc).strftime("%Y/%m/%d/%H")
    s3.put_object(Bucket=BUCKET, Key=f"{broken}/{at}/labels.jsonl", Body=b'{"label": 1.5, "id": "req-0"}\n')
    name, _ = definition(ENDPOINT, f"s3://{BUCKET}/{broken}", CONSTRAINTS)
    failed = ended(sm, schedule(name, "NOW", DataAnalysisStartTime="-PT3H", DataAnalysisEndTime="-PT0H"))
    eq(failed["MonitoringExecutionStatus"], "Failed", "status")
    assert "ground truth file labels.jsonl has no groundTruthData.data or eventMetadata.eventId" in failed["FailureReason"], failed
    # An endpoint that captures nothing.
    uncaptured = deploy(sm, s3, BUCKET, ROLE, "regression", capture=False)
    name, _ = definition(uncaptured, GOOD, CONSTRAINTS)
    failed = ended(sm, schedule(name, "NOW", DataAnalysisStartTime="-PT1H", DataAnalysisEndTime="-PT0H"))
    eq(failed["MonitoringExecutionStatus"], "Failed", "status")
    assert f"the endpoint {uncaptured} does not capture its responses" in failed["FailureReason"], failed
    # Problem types without what they need, at Create as a ValidationException.
    expect_error(lambda: definition(ENDPOINT, GOOD, endpoint_input={"EndpointName": ENDPOINT, "LocalPath": "/opt/ml/processing/input/endpoint"}),
                 "ValidationException", message="InferenceAttribute is required for ProblemType Regression")
    expect_error(lambda: definition(ENDPOINT, GOOD, problem="BinaryClassification", endpoint_input={"EndpointName": ENDPOINT, "LocalPath": "/opt/ml/processing/input/endpoint"}),
                 "ValidationException", message="must specify InferenceAttribute (the predicted label) or ProbabilityAttribute")
    expect_error(lambda: definition(ENDPOINT, GOOD, problem="BinaryClassification", endpoint_input={
        "EndpointName": ENDPOINT, "LocalPath": "/opt/ml/processing/input/endpoint", "ProbabilityAttribute": "0", "ProbabilityThresholdAttribute": 1.5}),
        "ValidationException", message="must be a probability")
    expect_error(lambda: sm.create_model_quality_job_definition(
        JobDefinitionName=unique("mq-def"), RoleArn=ROLE, ModelQualityAppSpecification={"ImageUri": ANALYZER},
        ModelQualityJobInput={"EndpointInput": {"EndpointName": ENDPOINT, "LocalPath": "/opt/ml/processing/input/endpoint", "InferenceAttribute": "0"},
                              "GroundTruthS3Input": {"S3Uri": GOOD}},
        ModelQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{BUCKET}/reports", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}),
        "ValidationException", message="ModelQualityAppSpecification.ProblemType is required")
    # A ModelQuality schedule names a model-quality definition, not a data-quality one.
    expect_error(lambda: schedule("no-such-definition"), "ValidationException", message="model-quality-job-definition/no-such-definition does not exist.")


run(globals())
