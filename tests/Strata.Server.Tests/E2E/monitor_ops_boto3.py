"""Each Model Monitor schedule operation once, for Debian's boto3 1.26 (botocore 1.29's model):
job definition Create/Describe/List/Delete (data quality, model quality and model bias), schedule
Create/Describe/List/Update/Stop/Start/Delete and ListMonitoringExecutions; their answers validated
against that model; model-quality and model-bias job definitions made with the aws CLI. The
executions themselves run in monitor_schedule_boto3.py and monitor_quality_boto3.py."""
import json
import subprocess

from harness import client, endpoint, eq, execution_role, expect_error, run, unique, validate_responses

sm = validate_responses(client("sagemaker"))
iam = client("iam")
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def test_each_operation_once():
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    name = unique("dq-def")
    sm.create_data_quality_job_definition(
        JobDefinitionName=name, RoleArn=role, DataQualityAppSpecification={"ImageUri": ANALYZER},
        DataQualityJobInput={"EndpointInput": {"EndpointName": "some-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint"}},
        DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}})
    eq(sm.describe_data_quality_job_definition(JobDefinitionName=name)["JobDefinitionName"], name, "described")
    eq([d["MonitoringJobDefinitionName"] for d in sm.list_data_quality_job_definitions(NameContains=name)["JobDefinitionSummaries"]], [name], "listed")
    schedule = unique("dq-schedule")
    config = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": name, "MonitoringType": "DataQuality"}
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig=config)
    sm.update_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={**config, "ScheduleConfig": {"ScheduleExpression": "cron(0 0 ? * * *)"}})
    sm.stop_monitoring_schedule(MonitoringScheduleName=schedule)
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)["MonitoringScheduleStatus"], "Stopped", "stopped")
    sm.start_monitoring_schedule(MonitoringScheduleName=schedule)
    eq([s["MonitoringScheduleStatus"] for s in sm.list_monitoring_schedules(NameContains=schedule)["MonitoringScheduleSummaries"]], ["Scheduled"], "listed")
    eq(sm.list_monitoring_executions(MonitoringScheduleName=schedule)["MonitoringExecutionSummaries"], [], "no executions yet")
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_data_quality_job_definition(JobDefinitionName=name)
    expect_error(lambda: sm.describe_monitoring_schedule(MonitoringScheduleName=schedule), "ResourceNotFound")


def test_model_quality_operations():
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    name = unique("mq-def")
    job_input = {"EndpointInput": {"EndpointName": "some-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint", "InferenceAttribute": "0",
                                   "ProbabilityAttribute": "1", "ProbabilityThresholdAttribute": 0.6},
                 "GroundTruthS3Input": {"S3Uri": "s3://bucket/ground-truth"}}
    sm.create_model_quality_job_definition(
        JobDefinitionName=name, RoleArn=role, ModelQualityAppSpecification={"ImageUri": ANALYZER, "ProblemType": "BinaryClassification"},
        ModelQualityJobInput=job_input,
        ModelQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}})
    eq(sm.describe_model_quality_job_definition(JobDefinitionName=name)["ModelQualityJobInput"], job_input, "described")
    eq([d["MonitoringJobDefinitionName"] for d in sm.list_model_quality_job_definitions(EndpointName="some-endpoint", NameContains=name)["JobDefinitionSummaries"]], [name], "listed")
    schedule = unique("mq-schedule")
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": name, "MonitoringType": "ModelQuality"})
    eq([s["MonitoringType"] for s in sm.list_monitoring_schedules(MonitoringTypeEquals="ModelQuality", NameContains=schedule)["MonitoringScheduleSummaries"]], ["ModelQuality"], "schedule")
    expect_error(lambda: sm.delete_model_quality_job_definition(JobDefinitionName=name), "ValidationException", message=f"is used by the monitoring schedule(s) {schedule}")
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_model_quality_job_definition(JobDefinitionName=name)
    expect_error(lambda: sm.describe_model_quality_job_definition(JobDefinitionName=name), "ResourceNotFound")

    # The aws CLI (v1): create-model-quality-job-definition and describe it.
    cli = ["aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "sagemaker"]
    name = unique("mq-cli")
    made = subprocess.run(cli + ["create-model-quality-job-definition", "--job-definition-name", name, "--role-arn", role,
                                 "--model-quality-app-specification", json.dumps({"ImageUri": ANALYZER, "ProblemType": "Regression"}),
                                 "--model-quality-job-input", json.dumps({"EndpointInput": {"EndpointName": "some-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint",
                                                                                            "InferenceAttribute": "0"}, "GroundTruthS3Input": {"S3Uri": "s3://bucket/gt"}}),
                                 "--model-quality-job-output-config", json.dumps({"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]}),
                                 "--job-resources", json.dumps({"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}})],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["JobDefinitionArn"].endswith(f":model-quality-job-definition/{name}"), made.stdout
    described = subprocess.run(cli + ["describe-model-quality-job-definition", "--job-definition-name", name], capture_output=True, text=True, timeout=60)
    assert described.returncode == 0, described.stderr
    eq(json.loads(described.stdout)["ModelQualityAppSpecification"]["ProblemType"], "Regression", "the CLI's describe")
    missing = subprocess.run(cli + ["create-model-quality-job-definition", "--job-definition-name", unique("mq-cli"), "--role-arn", role,
                                    "--model-quality-app-specification", json.dumps({"ImageUri": ANALYZER, "ProblemType": "Regression"}),
                                    "--model-quality-job-input", json.dumps({"EndpointInput": {"EndpointName": "e", "LocalPath": "/opt/ml/processing/input/endpoint"},
                                                                               "GroundTruthS3Input": {"S3Uri": "s3://bucket/gt"}}),
                                    "--model-quality-job-output-config", json.dumps({"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]}),
                                    "--job-resources", json.dumps({"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}})],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "ValidationException" in missing.stderr and "InferenceAttribute is required" in missing.stderr, missing.stderr



def test_model_bias_operations():
    """The model-bias job definition operations through Debian's boto3 1.26; one made and read with the aws CLI."""
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    clarify = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
    name = unique("bias-def")
    job_input = {"EndpointInput": {"EndpointName": "some-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint", "ProbabilityAttribute": "0",
                                   "ProbabilityThresholdAttribute": 0.5},
                 "GroundTruthS3Input": {"S3Uri": "s3://bucket/ground-truth"}}
    outputs = {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]}
    resources = {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}
    sm.create_model_bias_job_definition(
        JobDefinitionName=name, RoleArn=role, ModelBiasAppSpecification={"ImageUri": clarify, "ConfigUri": "s3://bucket/analysis_config.json"},
        ModelBiasJobInput=job_input, ModelBiasJobOutputConfig=outputs, JobResources=resources,
        ModelBiasBaselineConfig={"ConstraintsResource": {"S3Uri": "s3://bucket/baseline/analysis.json"}})
    eq(sm.describe_model_bias_job_definition(JobDefinitionName=name)["ModelBiasJobInput"], job_input, "described")
    eq([d["MonitoringJobDefinitionName"] for d in sm.list_model_bias_job_definitions(EndpointName="some-endpoint", NameContains=name)["JobDefinitionSummaries"]], [name], "listed")
    schedule = unique("bias-schedule")
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": name, "MonitoringType": "ModelBias"})
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)["MonitoringType"], "ModelBias", "schedule")
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_model_bias_job_definition(JobDefinitionName=name)
    expect_error(lambda: sm.delete_model_bias_job_definition(JobDefinitionName=name), "ResourceNotFound")

    # The aws CLI (v1): create-model-bias-job-definition, and its answer.
    cli = ["aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "sagemaker"]
    name = unique("bias-cli")
    made = subprocess.run(cli + ["create-model-bias-job-definition", "--job-definition-name", name, "--role-arn", role,
                                 "--model-bias-app-specification", json.dumps({"ImageUri": clarify, "ConfigUri": "s3://bucket/analysis_config.json"}),
                                 "--model-bias-job-input", json.dumps(job_input), "--model-bias-job-output-config", json.dumps(outputs),
                                 "--job-resources", json.dumps(resources)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["JobDefinitionArn"].endswith(f":model-bias-job-definition/{name}"), made.stdout
    eq(sm.describe_model_bias_job_definition(JobDefinitionName=name)["ModelBiasAppSpecification"]["ConfigUri"], "s3://bucket/analysis_config.json", "the CLI's definition")


def test_model_explainability_operations():
    """The model-explainability job definition operations through Debian's boto3 1.26; one made and
    read with Debian's aws CLI v2."""
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    clarify = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
    name = unique("explain-def")
    job_input = {"EndpointInput": {"EndpointName": "some-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint", "ProbabilityAttribute": "0"}}
    outputs = {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/reports", "LocalPath": "/opt/ml/processing/output"}}]}
    resources = {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}}
    sm.create_model_explainability_job_definition(
        JobDefinitionName=name, RoleArn=role, ModelExplainabilityAppSpecification={"ImageUri": clarify, "ConfigUri": "s3://bucket/analysis_config.json"},
        ModelExplainabilityJobInput=job_input, ModelExplainabilityJobOutputConfig=outputs, JobResources=resources,
        ModelExplainabilityBaselineConfig={"ConstraintsResource": {"S3Uri": "s3://bucket/baseline/analysis.json"}})
    eq(sm.describe_model_explainability_job_definition(JobDefinitionName=name)["ModelExplainabilityJobInput"], job_input, "described")
    eq([d["MonitoringJobDefinitionName"] for d in sm.list_model_explainability_job_definitions(
        EndpointName="some-endpoint", NameContains=name)["JobDefinitionSummaries"]], [name], "listed")
    schedule = unique("explain-schedule")
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": name, "MonitoringType": "ModelExplainability"})
    eq(sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)["MonitoringType"], "ModelExplainability", "schedule")
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_model_explainability_job_definition(JobDefinitionName=name)
    expect_error(lambda: sm.delete_model_explainability_job_definition(JobDefinitionName=name), "ResourceNotFound")
    # Clarify's image is the analyzer of bias and explainability only.
    expect_error(lambda: sm.create_model_explainability_job_definition(
        JobDefinitionName=unique("explain-bad"), RoleArn=role, ModelExplainabilityAppSpecification={"ImageUri": "nobody/unknown:1", "ConfigUri": "s3://bucket/c.json"},
        ModelExplainabilityJobInput=job_input, ModelExplainabilityJobOutputConfig=outputs, JobResources=resources),
        "ValidationException", message="is not in the image catalogue")

    # Debian's aws CLI v2: create-model-explainability-job-definition, and its answer.
    cli = ["/usr/bin/aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "sagemaker"]
    name = unique("explain-cli")
    made = subprocess.run(cli + ["create-model-explainability-job-definition", "--job-definition-name", name, "--role-arn", role,
                                 "--model-explainability-app-specification", json.dumps({"ImageUri": clarify, "ConfigUri": "s3://bucket/analysis_config.json"}),
                                 "--model-explainability-job-input", json.dumps(job_input), "--model-explainability-job-output-config", json.dumps(outputs),
                                 "--job-resources", json.dumps(resources)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["JobDefinitionArn"].endswith(f":model-explainability-job-definition/{name}"), made.stdout
    eq(sm.describe_model_explainability_job_definition(JobDefinitionName=name)["ModelExplainabilityAppSpecification"]["ConfigUri"],
       "s3://bucket/analysis_config.json", "the CLI's definition")


run(globals())
