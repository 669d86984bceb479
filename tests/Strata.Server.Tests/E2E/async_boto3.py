"""Asynchronous inference end to end with an unmodified boto3 (1.43 and 1.26): AsyncInferenceConfig
validated and described, InvokeEndpointAsync answered 202 with where the answer will be, the
answer written to S3 as the execution role (<id>.out; errors to <id>-error.out), SNS notifications
in AWS's format, RequestTTLSeconds on the server's clock, the backlog metrics, and an endpoint
scaled to zero instances and back up by target tracking on its backlog. The server's clock is
driven by the test (FakeClockServer.cs)."""
import json
import os

import boto3
from botocore.config import Config

from harness import (advance, advance_until, deploy_byoc, deploy_regression, endpoint, eq, expect_error, execution_role, run, unique, until,
                     validate_responses)
from sns_endpoint import Endpoint, subscribe_confirmed

cfg = Config(retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
rt = validate_responses(boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sns = boto3.client("sns", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
cw = boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
aas = boto3.client("application-autoscaling", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
BUCKET = unique("async")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket", "sns:Publish"), resource="*")
# InvocationTimeoutSeconds and FailureLocation arrived in later models (botocore 1.26 lacks them).
NEW_MODEL = "FailureLocation" in rt.meta.service_model.operation_model("InvokeEndpointAsync").output_shape.members
PREDICTION = 0.5 - 2 + 6 + 1 + 0.1  # the regression model's answer to [1, 2, 3, 4]


def output(path, failures=None):
    """An OutputConfig; S3FailurePath only where the client's model has it (without it, errors go to S3OutputPath)."""
    config = {"S3OutputPath": path}
    if failures and NEW_MODEL:
        config["S3FailurePath"] = failures
    return config


def failed(path, failures):
    return failures if NEW_MODEL else path


def model():
    """The regression test model (the one other hosting tests deploy), as a model of its own."""
    name = deploy_regression(s3, sm, BUCKET, ROLE)
    sm.delete_endpoint(EndpointName=name)
    return name


MODEL = model()


def deploy(output_config, client_config=None, instances=1):
    name = unique("async")
    config = {"OutputConfig": output_config}
    if client_config:
        config["ClientConfig"] = client_config
    sm.create_endpoint_config(EndpointConfigName=name, AsyncInferenceConfig=config, ProductionVariants=[
        {"VariantName": "main", "ModelName": MODEL, "InitialInstanceCount": instances, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return name


def put_input(body=b'{"instances": [[1, 2, 3, 4]]}'):
    key = f"in/{unique('req')}.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def read(location, within=30):
    bucket, key = location[5:].split("/", 1)
    until(f"the object {location}", lambda: any(o["Key"] == key for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])), within)
    return s3.get_object(Bucket=bucket, Key=key)


def test_config_is_validated_and_described():
    name = unique("cfg")
    topic = sns.create_topic(Name=unique("ok"))["TopicArn"]
    config = {"ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
              "OutputConfig": dict(output(f"s3://{BUCKET}/out/", f"s3://{BUCKET}/failed/"),
                                   NotificationConfig={"SuccessTopic": topic, "ErrorTopic": topic})}
    if NEW_MODEL:
        config["OutputConfig"]["NotificationConfig"]["IncludeInferenceResponseIn"] = ["SUCCESS_NOTIFICATION_TOPIC"]
    sm.create_endpoint_config(EndpointConfigName=name, AsyncInferenceConfig=config, ProductionVariants=[
        {"VariantName": "main", "ModelName": MODEL, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    eq(sm.describe_endpoint_config(EndpointConfigName=name)["AsyncInferenceConfig"], config, "described as given")

    def create(async_config, variant=None):
        return lambda: sm.create_endpoint_config(EndpointConfigName=unique("bad"), AsyncInferenceConfig=async_config, ProductionVariants=[
            variant or {"VariantName": "main", "ModelName": MODEL, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    if NEW_MODEL:  # botocore 1.26's model still requires S3OutputPath itself (the client refuses before sending)
        expect_error(create({"OutputConfig": {"KmsKeyId": "alias/aws/s3"}}), "ValidationException", 400, "s3OutputPath")
    expect_error(create({"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out/"}},
                        {"VariantName": "main", "ModelName": MODEL, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 2}}),
                 "ValidationException", 400, "not supported for serverless endpoints")
    expect_error(create({"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out/",
                                          "NotificationConfig": {"SuccessTopic": "arn:aws:sns:eu-west-1:000000000000:elsewhere"}}}),
                 "ValidationException", 400, "same region")


def test_answer_in_s3_and_notifications():
    topic = sns.create_topic(Name=unique("results"))["TopicArn"]
    ep = Endpoint()
    subscribe_confirmed(sns, topic, ep)
    name = deploy(dict(output(f"s3://{BUCKET}/out", f"s3://{BUCKET}/failed"), NotificationConfig={"SuccessTopic": topic, "ErrorTopic": topic}),
                  {"MaxConcurrentInvocationsPerInstance": 2})
    fails = failed(f"s3://{BUCKET}/out", f"s3://{BUCKET}/failed")
    source = put_input()
    answer = rt.invoke_endpoint_async(EndpointName=name, InputLocation=source, ContentType="application/json", InferenceId="first-one")
    eq(answer["ResponseMetadata"]["HTTPStatusCode"], 202, "accepted")
    eq((answer["InferenceId"], answer["OutputLocation"]), ("first-one", f"s3://{BUCKET}/out/first-one.out"), "AWS's naming")
    if NEW_MODEL:
        eq(answer["FailureLocation"], f"s3://{BUCKET}/failed/first-one-error.out", "failure location")
    body = json.loads(read(answer["OutputLocation"])["Body"].read())
    assert abs(body["predictions"][0][0] - PREDICTION) < 1e-4, body
    message = json.loads(json.loads(ep.next()[1])["Message"])
    eq((message["invocationStatus"], message["inferenceId"], message["eventName"], message["awsRegion"]),
       ("Completed", "first-one", "InferenceResult", "us-east-1"), "success notification")
    eq((message["requestParameters"]["endpointName"], message["requestParameters"]["inputLocation"]), (name, source), "request parameters")
    eq(message["responseParameters"]["outputLocation"], answer["OutputLocation"], "response parameters")
    assert message["receivedTime"] <= message["eventTime"], message

    # An id is made when none is given; a missing input is the request's own failure.
    missing = rt.invoke_endpoint_async(EndpointName=name, InputLocation=f"s3://{BUCKET}/in/nothing-here.json")
    assert len(missing["InferenceId"]) >= 32, missing
    error = read(f"{fails}/{missing['InferenceId']}-error.out")["Body"].read().decode()
    assert "does not exist" in error, error
    message = json.loads(json.loads(ep.next()[1])["Message"])
    eq((message["invocationStatus"], message["inferenceId"]), ("Failed", missing["InferenceId"]), "error notification")
    eq(message["responseParameters"]["failureLocation"], f"{fails}/{missing['InferenceId']}-error.out", "failure location")
    assert "does not exist" in message["failureReason"], message

    # Many at once: every one answered, once.
    ids = [rt.invoke_endpoint_async(EndpointName=name, InputLocation=source, ContentType="application/json")["InferenceId"] for _ in range(6)]
    for inference in ids:
        read(f"s3://{BUCKET}/out/{inference}.out")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"] if not o["Key"].endswith("-error.out")]
    eq(sorted(listed), sorted(["out/first-one.out"] + [f"out/{i}.out" for i in ids]), "one answer per request")


def test_errors_as_aws():
    real_time = deploy_regression(s3, sm, BUCKET, ROLE)
    source = put_input()
    expect_error(lambda: rt.invoke_endpoint_async(EndpointName=real_time, InputLocation=source), "ValidationError", 400,
                 "is not an asynchronous inference endpoint")
    expect_error(lambda: rt.invoke_endpoint_async(EndpointName="no-such-endpoint", InputLocation=source), "ValidationError", 400,
                 "Endpoint no-such-endpoint of account")
    name = deploy({"S3OutputPath": f"s3://{BUCKET}/out"})
    expect_error(lambda: rt.invoke_endpoint_async(EndpointName=name, InputLocation="https://example.com/x"), "ValidationError", 400,
                 "is not a valid S3 URI")
    # An asynchronous endpoint takes requests only through its queue, as AWS's does.
    for call in [rt.invoke_endpoint] + ([rt.invoke_endpoint_with_response_stream] if hasattr(rt, "invoke_endpoint_with_response_stream") else []):
        expect_error(lambda: call(EndpointName=name, Body=b"1,2,3,4", ContentType="text/csv"), "ValidationError", 400,
                     "is an asynchronous inference endpoint")
    # A real-time endpoint's variant needs an instance; an asynchronous one may have none.
    expect_error(lambda: sm.update_endpoint_weights_and_capacities(EndpointName=real_time, DesiredWeightsAndCapacities=[
        {"VariantName": "main", "DesiredInstanceCount": 0}]), "ValidationException", 400)
    expect_error(lambda: aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=f"endpoint/{real_time}/variant/main",
                                                      ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=0, MaxCapacity=1),
                 "ValidationException", 400, "MinCapacity must be at least 1")


def test_invocation_timeout_on_the_servers_clock():
    """A request that runs past its InvocationTimeoutSeconds (on the server's clock) fails with AWS's
    reason, written to the failure path; the model's own slow answer never lands."""
    if not NEW_MODEL:
        return  # botocore 1.26 cannot send InvocationTimeoutSeconds
    byoc = deploy_byoc(sm, iam)
    sm.delete_endpoint(EndpointName=byoc)
    # Its role may read the input; it must also write the answer (here, the failure).
    role = sm.describe_model(ModelName=byoc)["ExecutionRoleArn"].split("/")[-1]
    iam.put_role_policy(RoleName=role, PolicyName="answers", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    name = unique("async-slow")
    sm.create_endpoint_config(EndpointConfigName=name, AsyncInferenceConfig={"OutputConfig": output(f"s3://{BUCKET}/slow", f"s3://{BUCKET}/slow-failed")},
                              ProductionVariants=[{"VariantName": "main", "ModelName": byoc, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    source = put_input(b"sleep 120")
    answer = rt.invoke_endpoint_async(EndpointName=name, InputLocation=source, ContentType="text/plain", InvocationTimeoutSeconds=5)
    # The model sleeps 120 s of real time; steps of 6 s of the server's clock end the invocation first
    # (a step taken before the request began running only starts it: a later one times it out).
    bucket, key = answer["FailureLocation"][5:].split("/", 1)
    advance_until("the invocation timed out", lambda: "Contents" in s3.list_objects_v2(Bucket=bucket, Prefix=key), 6, 6, settle=10)
    error = read(answer["FailureLocation"])["Body"].read().decode()
    assert "timed out after 5 seconds" in error, error
    expect_error(lambda: s3.head_object(Bucket=BUCKET, Key=f"slow/{answer['InferenceId']}.out"), "404", 404)
    sm.delete_endpoint(EndpointName=name)


def instances(name):
    return sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]["CurrentInstanceCount"]


def desired(name):
    return sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0].get("DesiredInstanceCount", 0)


def metric(name, metric_name):
    now = cw_time()
    points = cw.get_metric_statistics(Namespace="AWS/SageMaker", MetricName=metric_name, Dimensions=[{"Name": "EndpointName", "Value": name}],
                                      StartTime=now - 600, EndTime=now + 60, Period=60, Statistics=["Maximum"])["Datapoints"]
    return max((p["Maximum"] for p in points), default=None)


def cw_time():
    from harness import server_time
    return server_time()


def test_ttl_expiry_without_capacity_and_backlog_metrics():
    name = deploy(output(f"s3://{BUCKET}/ttl", f"s3://{BUCKET}/ttl-failed"))
    sm.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "main", "DesiredInstanceCount": 0}])
    until("no instance", lambda: instances(name) == 0)
    answer = rt.invoke_endpoint_async(EndpointName=name, InputLocation=put_input(), ContentType="application/json", RequestTTLSeconds=60)
    advance(11)
    until("the backlog metrics", lambda: metric(name, "HasBacklogWithoutCapacity") == 1)
    eq(metric(name, "ApproximateBacklogSize"), 1, "backlog")
    advance(60)
    error = read(f"{failed(f's3://{BUCKET}/ttl', f's3://{BUCKET}/ttl-failed')}/{answer['InferenceId']}-error.out")["Body"].read().decode()
    assert "expired" in error, error


def test_scales_to_zero_and_back_on_backlog():
    name = deploy({"S3OutputPath": f"s3://{BUCKET}/scaled"})
    resource = f"endpoint/{name}/variant/main"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                 MinCapacity=0, MaxCapacity=2)
    aas.put_scaling_policy(PolicyName="backlog", ServiceNamespace="sagemaker", ResourceId=resource,
                           ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 1.0, "ScaleInCooldown": 60, "ScaleOutCooldown": 60,
                               "CustomizedMetricSpecification": {"MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
                                                                 "Dimensions": [{"Name": "EndpointName", "Value": name}], "Statistic": "Average"}})
    # Idle: the evaluations see no backlog and scale the variant in to no instance.
    advance_until("scaled in to zero", lambda: instances(name) == 0, 61, 6)
    answer = rt.invoke_endpoint_async(EndpointName=name, InputLocation=put_input(), ContentType="application/json")
    advance_until("the decision to scale out on the backlog", lambda: desired(name) >= 1, 61, 6)
    # A new instance is a worker process starting: slow on a loaded machine.
    until("scaled out on the backlog", lambda: instances(name) >= 1, 180)
    body = json.loads(read(answer["OutputLocation"], 120)["Body"].read())
    assert abs(body["predictions"][0][0] - PREDICTION) < 1e-4, body
    activities = aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingActivities"]
    assert any("to 0" in a["Description"] for a in activities), activities
    assert any("to 1" in a["Description"] for a in activities), activities


def test_step_scaling_from_zero_on_an_alarm():
    """AWS's recipe for an asynchronous endpoint at zero instances: a step scaling policy that a
    CloudWatch alarm on HasBacklogWithoutCapacity invokes."""
    name = deploy({"S3OutputPath": f"s3://{BUCKET}/stepped"})
    resource = f"endpoint/{name}/variant/main"
    sm.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "main", "DesiredInstanceCount": 0}])
    until("no instance", lambda: instances(name) == 0, 60)
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                 MinCapacity=0, MaxCapacity=2)
    step = lambda steps: aas.put_scaling_policy(
        PolicyName="from-zero", ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        PolicyType="StepScaling", StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average",
                                                                  "Cooldown": 300, "StepAdjustments": steps})
    # Steps that overlap (or leave a gap) are refused, as AWS refuses them.
    expect_error(lambda: step([{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 2, "ScalingAdjustment": 1},
                               {"MetricIntervalLowerBound": 1, "ScalingAdjustment": 2}]), "ValidationException", 400, "overlap")
    policy = step([{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}])["PolicyARN"]
    described = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"][0]
    eq((described["PolicyType"], described["StepScalingPolicyConfiguration"]["StepAdjustments"]),
       ("StepScaling", [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]), "the step policy")
    cw.put_metric_alarm(AlarmName=unique("backlog-without-capacity"), Namespace="AWS/SageMaker", MetricName="HasBacklogWithoutCapacity",
                        Dimensions=[{"Name": "EndpointName", "Value": name}], Statistic="Average", Period=60, EvaluationPeriods=1,
                        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="missing", AlarmActions=[policy])
    answer = rt.invoke_endpoint_async(EndpointName=name, InputLocation=put_input(), ContentType="application/json")
    advance_until("the alarm's step scales out", lambda: desired(name) >= 1, 61, 6)
    until("an instance again", lambda: instances(name) >= 1, 180)
    body = json.loads(read(answer["OutputLocation"], 120)["Body"].read())
    assert abs(body["predictions"][0][0] - PREDICTION) < 1e-4, body
    causes = [a["Cause"] for a in aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingActivities"]]
    assert any("triggered policy from-zero" in c and "0 → 1" in c for c in causes), causes


if __name__ == "__main__":
    run(globals())
