"""Model Monitor's feature attribution (SageMaker Clarify explainability) schedules end to end with
boto3, on a server whose clock the test drives (FakeClockServer.cs). The regression endpoint scores
0.5·income − debt + 2·gender + 0.25·age + 0.1 and captures its requests. In one hour income varies
and the rest barely (income matters most), in the next gender varies (it matters most). A
model-explainability job definition names Clarify's analysis_config.json (methods.shap with one
baseline row) and, as its constraints, a baseline analysis.json ranked as the first hour is. For a
linear model Kernel SHAP with every coalition is exact: each record's SHAP value of feature i is
wᵢ·(xᵢ − bᵢ), which the test computes itself from the rows it sent (tolerance 1e-4: the model
computes in float32). The first hour's NOW execution ends Completed, the second's
CompletedWithViolations with a feature_attribution_drift_check; the global SHAP values are in
aws/sagemaker/Endpoints/explainability-metrics; the analysis's own requests to the model are not
captured. A role that may not invoke the endpoint, a configuration without methods.shap, and a model
that fails on the analysis's records fail the execution saying what to fix; bad definitions are ValidationExceptions."""
import json
import random

from monitor_harness import deploy, ended
from harness import advance, client, eq, execution_role, expect_error, run, server_time, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, rt = client("s3"), client("iam"), client("sagemaker-runtime")
CLARIFY = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
BUCKET = unique("explain")
s3.create_bucket(Bucket=BUCKET)
S3_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListBucket")
ROLE = execution_role(iam, resource="*", s3_actions=S3_ACTIONS + ("sagemaker:InvokeEndpoint",))
NO_INVOKE_ROLE = execution_role(iam, s3_actions=S3_ACTIONS)
ACCOUNT = ROLE.split(":")[4]
rng = random.Random(21)
FEATURES = ["income", "debt", "gender", "age"]
WEIGHTS = [0.5, -1.0, 2.0, 0.25]
BASELINE_ROW = [0.5, 0.5, 0.5, 1.0]
SENT = {"income": [], "gender": []}



def traffic(endpoint_name, driver):
    """12 requests: `driver` varies widely, the other features little or not at all."""
    for _ in range(12):
        if driver == "income":
            row = [round(rng.uniform(0, 1), 3), round(rng.uniform(0.45, 0.55), 3), 0.5, round(rng.uniform(0.9, 1.1), 3)]
        else:
            row = [0.5, round(rng.uniform(0, 1), 3), rng.choice([0, 1]), 1.0]
        rt.invoke_endpoint(EndpointName=endpoint_name, Body=",".join(map(str, row)).encode(), ContentType="text/csv", Accept="text/csv")
        SENT[driver].append(row)


def global_shap(rows):
    """The mean |SHAP value| per feature of a linear model: wᵢ·|xᵢ − bᵢ| averaged over the rows."""
    return {f: sum(abs(w * (row[i] - BASELINE_ROW[i])) for row in rows) / len(rows) for i, (f, w) in enumerate(zip(FEATURES, WEIGHTS))}


def put_json(key, value):
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(value).encode())
    return f"s3://{BUCKET}/{key}"


def definition(endpoint_name, config_uri, constraints_uri=None, role=None, **input_extra):
    name = unique("explain-def")
    args = {"JobDefinitionName": name, "RoleArn": role or ROLE,
            "ModelExplainabilityAppSpecification": {"ImageUri": CLARIFY, "ConfigUri": config_uri},
            "ModelExplainabilityJobInput": {"EndpointInput": {"EndpointName": endpoint_name, "LocalPath": "/opt/ml/processing/input/endpoint", **input_extra}},
            "ModelExplainabilityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{BUCKET}/reports", "LocalPath": "/opt/ml/processing/output"}}]},
            "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}}
    if constraints_uri:
        args["ModelExplainabilityBaselineConfig"] = {"ConstraintsResource": {"S3Uri": constraints_uri}}
    arn = sm.create_model_explainability_job_definition(**args)["JobDefinitionArn"]
    eq(arn, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-explainability-job-definition/{name}", "JobDefinitionArn")
    return name, args


def now_schedule(definition_name, start, end):
    name = unique("explain-schedule")
    sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "NOW", "DataAnalysisStartTime": start, "DataAnalysisEndTime": end},
        "MonitoringJobDefinitionName": definition_name, "MonitoringType": "ModelExplainability"})
    return name



def captured_records():
    count = 0
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"capture/{ENDPOINT}/").get("Contents", []):
        count += len(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().splitlines())
    return count


# An income-driven hour, then a gender-driven one (their requests mid-hour), each captured; the NOW
# schedules run half an hour into the hour after: the first window is -PT150M to -PT90M.
advance(3600 - server_time() % 3600 + 1800)
ENDPOINT = deploy(sm, s3, BUCKET, ROLE)
traffic(ENDPOINT, "income")
advance(3600)
traffic(ENDPOINT, "gender")
advance(3600)
until("the captured requests", lambda: captured_records() >= 24, 60)
hour = int(server_time() // 3600) * 3600
ANALYSIS_CONFIG = {"headers": FEATURES, "methods": {"shap": {"baseline": [BASELINE_ROW], "num_samples": 100, "agg_method": "mean_abs"}},
                   "predictor": {"content_type": "text/csv", "accept_type": "text/csv"}}
CONFIG = put_json("config/analysis_config.json", ANALYSIS_CONFIG)
# The constraints: a baseline's analysis.json ranked as the income-driven hour is.
CONSTRAINTS = put_json("baseline/analysis.json", {"version": "1.0", "explanations": {"kernel_shap": {"label0": {
    "global_shap_values": global_shap(SENT["income"]), "expected_value": 1.1}}}})


def report(execution, name):
    job = sm.describe_processing_job(ProcessingJobName=execution["ProcessingJobArn"].split("/")[-1])
    key = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].split(f"s3://{BUCKET}/", 1)[1]
    return json.loads(s3.get_object(Bucket=BUCKET, Key=f"{key}/{name}")["Body"].read())


def test_a_drifted_ranking_violates_and_a_kept_one_completes():
    name, args = definition(ENDPOINT, CONFIG, CONSTRAINTS)
    described = sm.describe_model_explainability_job_definition(JobDefinitionName=name)
    for member in ("ModelExplainabilityAppSpecification", "ModelExplainabilityJobInput", "ModelExplainabilityJobOutputConfig", "JobResources",
                   "RoleArn", "ModelExplainabilityBaselineConfig"):
        eq(described[member], args[member], member)
    kept, drifted = now_schedule(name, "-PT150M", "-PT90M"), now_schedule(name, "-PT90M", "-PT0H")
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=kept)["MonitoringType"], "ModelExplainability", "MonitoringType")
    completed, violated = ended(sm, kept), ended(sm, drifted)
    eq(completed["MonitoringExecutionStatus"], "Completed", f"the income-driven window ({completed.get('FailureReason')})")
    eq(violated["MonitoringExecutionStatus"], "CompletedWithViolations", f"the gender-driven window ({violated.get('FailureReason')})")
    for execution, driver in ((completed, "income"), (violated, "gender")):
        explained = report(execution, "analysis.json")["explanations"]["kernel_shap"]["label0"]
        expected = global_shap(SENT[driver])
        eq(list(explained["global_shap_values"]), FEATURES, "the features in order")
        for feature in FEATURES:
            assert abs(explained["global_shap_values"][feature] - expected[feature]) < 1e-4, (driver, feature, explained, expected)
        assert abs(explained["expected_value"] - 1.1) < 1e-4, explained
    violations = report(violated, "constraint_violations.json")["violations"]
    eq([(v["label"], v["metric_name"], v["constraint_check_type"]) for v in violations], [("label0", "shap", "feature_attribution_drift_check")], "violations")
    assert "below the threshold 0.9" in violations[0]["description"], violations
    eq(report(completed, "constraint_violations.json")["violations"], [], "the kept ranking")
    # The gender-driven window's global SHAP value of gender in explainability-metrics, for an alarm to watch.
    points = client("cloudwatch").get_metric_statistics(
        Namespace="aws/sagemaker/Endpoints/explainability-metrics", MetricName="feature_gender",
        Dimensions=[{"Name": "Endpoint", "Value": ENDPOINT}, {"Name": "MonitoringSchedule", "Value": drifted},
                    {"Name": "ExplainabilityMethod", "Value": "KernelShap"}, {"Name": "Label", "Value": "label0"}, {"Name": "ValueType", "Value": "GlobalShapValues"}],
        StartTime=hour - 7200, EndTime=hour + 3600, Period=3600, Statistics=["Maximum"])["Datapoints"]
    eq([round(p["Maximum"], 4) for p in points], [round(global_shap(SENT["gender"])["gender"], 4)], "the window's global SHAP value of gender")
    # The analysis asked the model for thousands of synthetic records: none of them was captured.
    eq(captured_records(), 24, "captured records (the clients' only)")
    listed = sm.list_model_explainability_job_definitions(EndpointName=ENDPOINT, NameContains=name)["JobDefinitionSummaries"]
    eq([d["MonitoringJobDefinitionName"] for d in listed], [name], "listed")
    expect_error(lambda: sm.delete_model_explainability_job_definition(JobDefinitionName=name), "ValidationException", message="is used by the monitoring schedule(s)")
    for schedule_name in (kept, drifted):
        sm.delete_monitoring_schedule(MonitoringScheduleName=schedule_name)
    sm.delete_model_explainability_job_definition(JobDefinitionName=name)
    expect_error(lambda: sm.describe_model_explainability_job_definition(JobDefinitionName=name), "ResourceNotFound",
                 message=f"Job definition arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-explainability-job-definition/{name} does not exist.")


def test_bad_input_fails_saying_what_to_fix():
    name, _ = definition(ENDPOINT, CONFIG, role=NO_INVOKE_ROLE)
    failed = ended(sm, now_schedule(name, "-PT150M", "-PT0H"))
    eq(failed["MonitoringExecutionStatus"], "Failed", "status without sagemaker:InvokeEndpoint")
    assert "sagemaker:InvokeEndpoint" in failed["FailureReason"] and ENDPOINT in failed["FailureReason"], failed
    no_shap = put_json("config/no-shap.json", {"headers": FEATURES, "methods": {"report": {"name": "report"}}})
    name, _ = definition(ENDPOINT, no_shap)
    failed = ended(sm, now_schedule(name, "-PT150M", "-PT0H"))
    eq(failed["MonitoringExecutionStatus"], "Failed", "status without methods.shap")
    assert "has no methods.shap" in failed["FailureReason"], failed
    wide = put_json("config/wide.json", {**ANALYSIS_CONFIG, "methods": {"shap": {"baseline": [[0.5, 0.5, 0.5]]}}})
    name, _ = definition(ENDPOINT, wide)
    failed = ended(sm, now_schedule(name, "-PT150M", "-PT0H"))
    assert "methods.shap.baseline has 3 feature(s) per row, but the captured requests have 4" in failed["FailureReason"], failed
    # A model that fails on the analysis's records: the execution fails with what the endpoint answered.
    refused = put_json("config/refused.json", {**ANALYSIS_CONFIG, "methods": {"shap": {"baseline": [["many", 0.5, 0.5, 1.0]]}}})
    name, _ = definition(ENDPOINT, refused)
    failed = ended(sm, now_schedule(name, "-PT150M", "-PT0H"))
    eq(failed["MonitoringExecutionStatus"], "Failed", "status when the model fails")
    assert "ClientError: the endpoint answered ModelInvocationFailed" in failed["FailureReason"] and "many" in failed["FailureReason"], failed
    expect_error(lambda: definition(ENDPOINT, "https://example.com/config.json"), "ValidationException",
                 message="at 'modelExplainabilityAppSpecification.configUri' failed to satisfy constraint")
    expect_error(lambda: now_schedule("no-such-definition", "-PT1H", "-PT0H"), "ValidationException",
                 message="model-explainability-job-definition/no-such-definition does not exist.")


run(globals())
