"""Endpoint autoscaling end to end with an unmodified boto3: Application Auto Scaling targets and
target-tracking policies on SageMakerVariantInvocationsPerInstance (and a customized metric),
scaling out under load and back in when it stops, cooldowns, DisableScaleIn, and the activities
that explain every decision. The test server evaluates policies every second."""
import json
import os
import threading
import time

import boto3
from botocore.config import Config

from harness import deploy_regression, endpoint, eq, execution_role, expect_error, run, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1}, max_pool_connections=16)
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
aas = validate_responses(boto3.client("application-autoscaling", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
BUCKET = unique("scaling")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam)


def deploy(instances=1):
    name = deploy_regression(s3, sm, BUCKET, ROLE, instances)
    return name, f"endpoint/{name}/variant/main"


def instances(name):
    v = sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]
    return v["CurrentInstanceCount"]



class Load:
    """Invokes the endpoint from a few threads, about `rate` requests a second, until stopped."""
    def __init__(self, name, rate):
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(name, rate / 4)) for _ in range(4)]
        for t in self.threads:
            t.start()

    def run(self, name, rate):
        while not self.stop.is_set():
            started = time.time()
            rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")
            time.sleep(max(0, 1 / rate - (time.time() - started)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def register(resource, low, high):
    return aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                        MinCapacity=low, MaxCapacity=high)


def track(resource, target, **config):
    return aas.put_scaling_policy(PolicyName="invocations", ServiceNamespace="sagemaker", ResourceId=resource,
                                  ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
                                  TargetTrackingScalingPolicyConfiguration=dict({"TargetValue": target,
                                      "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}, **config))


def test_scales_out_under_load_and_back_in():
    name, resource = deploy()
    arn = register(resource, 1, 3).get("ScalableTargetARN")  # older models do not have the member
    t = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])["ScalableTargets"][0]
    eq((t["MinCapacity"], t["MaxCapacity"], t.get("ScalableTargetARN")), (1, 3, arn), "target")
    # 600 invocations per instance per minute is 10 a second: 40 a second wants 4, capped at 3.
    policy = track(resource, 600.0, ScaleOutCooldown=0, ScaleInCooldown=0)
    assert policy["PolicyARN"].startswith("arn:aws:autoscaling:"), policy
    p = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"][0]
    eq(p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"], 600.0, "policy")
    with Load(name, 40):
        until("scale-out to the maximum", lambda: instances(name) == 3)
    until("scale-in to the minimum", lambda: instances(name) == 1)

    def activities_done():
        listed = aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingActivities"]
        return listed if listed and all(a["StatusCode"] != "InProgress" for a in listed) and any("below" in a["Cause"] for a in listed) else None

    until("the scale-in activity", lambda: activities_done() is not None)
    activities = activities_done()
    ups = [a for a in activities if "above" in a["Cause"]]
    downs = [a for a in activities if "below" in a["Cause"]]
    assert ups and downs, activities
    assert all(a["StatusCode"] == "Successful" for a in activities), activities
    assert "policy invocations" in ups[-1]["Cause"] and "against target 600" in ups[-1]["Cause"], ups[-1]["Cause"]
    eq(sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]["DesiredInstanceCount"], 1, "desired count")
    sm.delete_endpoint(EndpointName=name)


def test_cooldowns_and_disable_scale_in_are_kept():
    # What they do over time (capacity held through a 300 s cooldown, or while DisableScaleIn)
    # is shown on a fake clock in Unit/Services/AutoScaling/ScalerTests.cs; here, the wire.
    name, resource = deploy()
    register(resource, 1, 2)
    track(resource, 600.0, ScaleOutCooldown=0, DisableScaleIn=True)
    c = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]
    eq((c.get("ScaleOutCooldown"), c.get("ScaleInCooldown"), c.get("DisableScaleIn")), (0, 300, True), "as given, ScaleInCooldown by default 300 s")
    track(resource, 600.0, ScaleOutCooldown=60, ScaleInCooldown=900)
    c = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]
    eq((c.get("ScaleOutCooldown"), c.get("ScaleInCooldown"), c.get("DisableScaleIn", False)), (60, 900, False), "replaced")
    expect_error(lambda: track(resource, 600.0, ScaleInCooldown=-1), "ValidationException", 400)
    sm.delete_endpoint(EndpointName=name)


def test_bounds_customized_metric_and_errors():
    name, resource = deploy()
    # A minimum above the current capacity is reached without any load.
    register(resource, 2, 4)
    until("capacity at the registered minimum", lambda: instances(name) == 2)
    until("the bounds activity", lambda: any("outside the registered bounds" in a["Cause"]
                                             for a in aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingActivities"]))
    aas.put_scaling_policy(PolicyName="latency", ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                           PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 1000000.0, "ScaleInCooldown": 0,
                               "CustomizedMetricSpecification": {"MetricName": "ModelLatency", "Namespace": "AWS/SageMaker", "Statistic": "Average",
                                                                 "Dimensions": [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "main"}]}})
    eq([p["PolicyName"] for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"]], ["latency"], "policies")
    aas.delete_scaling_policy(PolicyName="latency", ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    expect_error(lambda: aas.delete_scaling_policy(PolicyName="latency", ServiceNamespace="sagemaker", ResourceId=resource,
                                                   ScalableDimension="sagemaker:variant:DesiredInstanceCount"), "ObjectNotFoundException", 400)
    expect_error(lambda: register(f"endpoint/{unique('none')}/variant/main", 1, 2), "ValidationException", 400, "does not exist")
    expect_error(lambda: register(resource, 3, 2), "ValidationException", 400, "cannot be less than minimum")
    expect_error(lambda: track(f"endpoint/{name}/variant/other", 10.0), "ValidationException", 400)
    aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    expect_error(lambda: track(resource, 10.0), "ObjectNotFoundException", 400)
    expect_error(lambda: aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource,
                                                        ScalableDimension="sagemaker:variant:DesiredInstanceCount"), "ObjectNotFoundException", 400)
    eq(aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])["ScalableTargets"], [], "deregistered")
    sm.delete_endpoint(EndpointName=name)


run(globals())
