"""Each Model Monitor schedule operation once, for Debian's boto3 1.26 (botocore 1.29's model):
job definition Create/Describe/List/Delete, schedule Create/Describe/List/Update/Stop/Start/Delete
and ListMonitoringExecutions; their answers validated against that model. The executions
themselves run in monitor_schedule_boto3.py."""
from harness import client, eq, execution_role, expect_error, run, unique, validate_responses

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


run(globals())
