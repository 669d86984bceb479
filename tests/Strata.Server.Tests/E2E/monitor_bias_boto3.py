"""Model Monitor's model-bias (SageMaker Clarify bias drift) schedules end to end with boto3, on a
server whose clock the test drives (FakeClockServer.cs): a regression endpoint whose score favours
gender 1 captures its requests and responses; in one hour the requests of gender 0 are ones the
model scores high too (an unbiased window), in the next they are not (a biased window). Ground
truth is uploaded; a model-bias job definition names Clarify's analysis_config.json and a
baseline analysis.json (DPPL 0.2, DI 0.8) as its constraints; a NOW schedule over each window ends
Completed for the first, CompletedWithViolations with bias_drift_check on DPPL and DI for the
second, and the window's bias_metric_DPPL is in aws/sagemaker/Endpoints/bias-metrics with its
BiasStage, Label, LabelValue, Facet and FacetValue. A facet the requests lack fails the execution
saying what to fix; bad definitions are ValidationExceptions."""
import datetime
import json
import random

from monitor_harness import deploy, ended
from harness import advance, client, eq, execution_role, expect_error, run, server_time, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, rt = client("s3"), client("iam"), client("sagemaker-runtime")
CLARIFY = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
BUCKET = unique("bias")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
ACCOUNT = ROLE.split(":")[4]
rng = random.Random(20)
HEADERS = ["income", "debt", "gender", "age", "approved"]



def traffic(endpoint_name, biased, prefix):
    """40 requests, half of each gender; gender 0's profile good (unbiased) or poor (biased)."""
    labels = {}
    for i in range(40):
        gender = i % 2
        if gender == 0 and not biased:
            row = [round(rng.uniform(0.6, 1), 2), round(rng.uniform(0, 0.2), 2), 0, 2]
        elif gender == 0:
            row = [round(rng.uniform(0, 0.4), 2), round(rng.uniform(0.5, 1), 2), 0, 0]
        else:
            row = [round(rng.uniform(0, 1), 2), round(rng.uniform(0, 1), 2), 1, rng.choice([0, 1])]
        inference_id = f"{prefix}-{i}"
        rt.invoke_endpoint(EndpointName=endpoint_name, Body=",".join(map(str, row)).encode(), ContentType="text/csv", Accept="text/csv", InferenceId=inference_id)
        labels[inference_id] = i % 4 // 2  # each gender half approved
    return labels


def put_json(key, value):
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(value).encode())
    return f"s3://{BUCKET}/{key}"


def definition(endpoint_name, config_uri, constraints_uri=None, **input_extra):
    name = unique("bias-def")
    args = {"JobDefinitionName": name, "RoleArn": ROLE,
            "ModelBiasAppSpecification": {"ImageUri": CLARIFY, "ConfigUri": config_uri},
            "ModelBiasJobInput": {"EndpointInput": {"EndpointName": endpoint_name, "LocalPath": "/opt/ml/processing/input/endpoint",
                                                    "ProbabilityAttribute": "0", "ProbabilityThresholdAttribute": 0.5, **input_extra},
                                  "GroundTruthS3Input": {"S3Uri": TRUTH}},
            "ModelBiasJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{BUCKET}/reports", "LocalPath": "/opt/ml/processing/output"}}]},
            "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}}
    if constraints_uri:
        args["ModelBiasBaselineConfig"] = {"ConstraintsResource": {"S3Uri": constraints_uri}}
    arn = sm.create_model_bias_job_definition(**args)["JobDefinitionArn"]
    eq(arn, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-bias-job-definition/{name}", "JobDefinitionArn")
    return name, args


def now_schedule(definition_name, start, end):
    name = unique("bias-schedule")
    sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "NOW", "DataAnalysisStartTime": start, "DataAnalysisEndTime": end},
        "MonitoringJobDefinitionName": definition_name, "MonitoringType": "ModelBias"})
    return name



# An unbiased hour, then a biased one (their requests mid-hour), each captured and labelled; the
# NOW schedules run half an hour into the hour after: the unbiased window is -PT150M to -PT90M.
advance(3600 - server_time() % 3600 + 1800)
ENDPOINT = deploy(sm, s3, BUCKET, ROLE)
LABELS = traffic(ENDPOINT, biased=False, prefix="fair")
advance(3600)
LABELS.update(traffic(ENDPOINT, biased=True, prefix="skewed"))
advance(3600)
until("the captured requests", lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=f"capture/{ENDPOINT}/").get("KeyCount", 0) >= 2, 60)
hour = int(server_time() // 3600) * 3600
at = datetime.datetime.fromtimestamp(hour, datetime.timezone.utc).strftime("%Y/%m/%d/%H")
s3.put_object(Bucket=BUCKET, Key=f"truth/{at}/labels.jsonl", Body="\n".join(json.dumps(
    {"groundTruthData": {"data": str(label), "encoding": "CSV"}, "eventMetadata": {"eventId": key}, "eventVersion": "0"}) for key, label in LABELS.items()).encode())
TRUTH = f"s3://{BUCKET}/truth"
ANALYSIS_CONFIG = {"label": "approved", "label_values_or_threshold": [1], "headers": HEADERS,
                   "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}], "probability_threshold": 0.5,
                   "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}}
CONFIG = put_json("config/analysis_config.json", ANALYSIS_CONFIG)
# A baseline's analysis.json (its values are the constraints): DPPL within 0.2 of 0, DI within 0.2 of 1.
CONSTRAINTS = put_json("baseline/analysis.json", {"version": "1.0", "post_training_bias_metrics": {
    "label": "approved", "label_value_or_threshold": "1", "facets": {"gender": [{"value_or_threshold": "0", "metrics": [
        {"name": "DPPL", "description": "Difference in Positive Proportions in Predicted Labels (DPPL)", "value": 0.2},
        {"name": "DI", "description": "Disparate Impact (DI)", "value": 0.8}]}]}}})


def test_a_biased_window_violates_and_an_unbiased_one_completes():
    name, args = definition(ENDPOINT, CONFIG, CONSTRAINTS)
    described = sm.describe_model_bias_job_definition(JobDefinitionName=name)
    for member in ("ModelBiasAppSpecification", "ModelBiasJobInput", "ModelBiasJobOutputConfig", "JobResources", "RoleArn", "ModelBiasBaselineConfig"):
        eq(described[member], args[member], member)
    fair, skewed = now_schedule(name, "-PT150M", "-PT90M"), now_schedule(name, "-PT90M", "-PT0H")
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=fair)["MonitoringType"], "ModelBias", "MonitoringType")
    completed, violated = ended(sm, fair), ended(sm, skewed)
    eq(completed["MonitoringExecutionStatus"], "Completed", f"the unbiased window ({completed.get('FailureReason')})")
    eq(violated["MonitoringExecutionStatus"], "CompletedWithViolations", f"the biased window ({violated.get('FailureReason')})")
    eq(violated["MonitoringType"], "ModelBias", "the execution's type")
    job = sm.describe_processing_job(ProcessingJobName=violated["ProcessingJobArn"].split("/")[-1])
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    key = output.split(f"s3://{BUCKET}/", 1)[1]
    report = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{key}/constraint_violations.json")["Body"].read())
    eq(sorted((v["metric_name"], v["facet"], v["facet_value"], v["constraint_check_type"]) for v in report["violations"]),
       [("DI", "gender", "0", "bias_drift_check"), ("DPPL", "gender", "0", "bias_drift_check")], "violations")
    assert all(v["description"].startswith("Value ") and v["description"].endswith("does not meet the constraint requirement") for v in report["violations"]), report
    analysis = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{key}/analysis.json")["Body"].read())
    post = {m["name"]: m["value"] for m in analysis["post_training_bias_metrics"]["facets"]["gender"][0]["metrics"]}
    eq((post["DPPL"], post["DI"]), (1.0, 0.0), "gender 0 never predicted approved, gender 1 always")
    pre = {m["name"]: m["value"] for m in analysis["pre_training_bias_metrics"]["facets"]["gender"][0]["metrics"]}
    eq((pre["CI"], pre["DPL"]), (0.0, 0.0), "balanced facet and labels")
    # The window's DPPL in bias-metrics, for an alarm to watch.
    points = client("cloudwatch").get_metric_statistics(
        Namespace="aws/sagemaker/Endpoints/bias-metrics", MetricName="bias_metric_DPPL",
        Dimensions=[{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": skewed}, {"Name": "BiasStage", "Value": "Post-Training"},
                    {"Name": "Label", "Value": "approved"}, {"Name": "LabelValue", "Value": "1"}, {"Name": "Facet", "Value": "gender"}, {"Name": "FacetValue", "Value": "0"}],
        StartTime=hour - 7200, EndTime=hour + 3600, Period=3600, Statistics=["Maximum"])["Datapoints"]
    eq([p["Maximum"] for p in points], [1.0], "the biased window's DPPL")
    listed = sm.list_model_bias_job_definitions(EndpointName=ENDPOINT, NameContains=name)["JobDefinitionSummaries"]
    eq([d["MonitoringJobDefinitionName"] for d in listed], [name], "listed")
    expect_error(lambda: sm.delete_model_bias_job_definition(JobDefinitionName=name), "ValidationException", message="is used by the monitoring schedule(s)")
    for schedule_name in (fair, skewed):
        sm.delete_monitoring_schedule(MonitoringScheduleName=schedule_name)
    sm.delete_model_bias_job_definition(JobDefinitionName=name)
    expect_error(lambda: sm.describe_model_bias_job_definition(JobDefinitionName=name), "ResourceNotFound",
                 message=f"Job definition arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-bias-job-definition/{name} does not exist.")


def test_bad_input_fails_saying_what_to_fix():
    config = put_json("config/no-facet.json", {**ANALYSIS_CONFIG, "facet": [{"name_or_index": "sex", "value_or_threshold": ["F"]}]})
    name, _ = definition(ENDPOINT, config)
    failed = ended(sm, now_schedule(name, "-PT150M", "-PT0H"))
    eq(failed["MonitoringExecutionStatus"], "Failed", "status")
    assert "facet name_or_index sex is not a column of the captured requests (their columns are income, debt, gender, age)" in failed["FailureReason"], failed
    expect_error(lambda: definition(ENDPOINT, CONFIG, ProbabilityThresholdAttribute=1.5), "ValidationException", message="must be a probability")
    expect_error(lambda: definition(ENDPOINT, "https://example.com/config.json"), "ValidationException", message="at 'modelBiasAppSpecification.configUri' failed to satisfy constraint")
    expect_error(lambda: now_schedule("no-such-definition", "-PT1H", "-PT0H"), "ValidationException", message="model-bias-job-definition/no-such-definition does not exist.")


run(globals())
