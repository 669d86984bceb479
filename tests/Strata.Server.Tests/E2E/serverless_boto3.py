"""Serverless endpoints end to end with an unmodified boto3: no instance while idle, a cold start
on the first request (ModelSetupTime), throttling beyond MaxConcurrency, scale to zero after the
idle period, ProvisionedConcurrency kept warm, metering, and the combinations AWS refuses. The
server's clock is driven by the test (FakeClockServer.cs): the idle period passes when `advance`
says so."""
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.exceptions
from botocore.config import Config

from harness import advance, endpoint, eq, execution_role, expect_error, raw_answer, run, unique, until, validate_responses

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
cfg = Config(retries={"max_attempts": 1}, max_pool_connections=16)
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
rt = validate_responses(boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
IDLE = float(os.environ.get("STRATA_SERVERLESS_IDLE", "120"))
BUCKET = unique("serverless")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam)
# ProvisionedConcurrency arrived in later models (botocore 1.26 lacks it).
PROVISIONED = "ProvisionedConcurrency" in sm.meta.service_model.shape_for("ProductionVariantServerlessConfig").members


def regression_model():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, "regression", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=BUCKET, Key="model.tar.gz", Body=buffer.getvalue())
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"})
    return m


def deploy(model, **serverless):
    name = unique("sl")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "main", "ModelName": model,
                                                                           "ServerlessConfig": dict({"MemorySizeInMB": 2048, "MaxConcurrency": 2}, **serverless)}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return name


def variant(name):
    """DescribeEndpoint's variant with Strata's extension members (read from the raw answer)."""
    return raw_answer(sm, "DescribeEndpoint", lambda: sm.describe_endpoint(EndpointName=name))["ProductionVariants"][0]



def test_cold_start_scale_to_zero_and_metering():
    name = deploy(regression_model())
    v = variant(name)
    eq((v["CurrentInstanceCount"], v["CurrentServerlessConfig"]["MemorySizeInMB"]), (0, 2048), "idle: no instance")
    started = time.time()
    body = rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")["Body"].read()
    cold = time.time() - started
    assert json.loads(body)["predictions"], body
    warm_started = time.time()
    rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")
    warm = time.time() - warm_started
    assert warm < cold, (warm, cold)
    eq(variant(name)["CurrentInstanceCount"], 1, "one instance after the first request")
    metrics = open_metrics()
    assert f'aws_sagemaker_model_setup_time_count{{endpoint_name="{name}"' in metrics, "ModelSetupTime recorded"
    advance(IDLE + 1)
    until("scale to zero", lambda: variant(name)["CurrentInstanceCount"] == 0)
    usage = variant(name)["StrataUsage"]
    eq((usage["Requests"], usage["ColdStarts"]), (2, 1), "metered requests and cold starts")
    assert usage["GBSeconds"] > 0, usage
    listed = json.loads(subprocess.run(["dotnet", os.environ["STRATA_DLL"], "usage", "--data-dir", os.environ["STRATA_DATA_DIR"]],
                                       check=True, capture_output=True, text=True).stdout)
    mine = [u for u in listed["serverless"] if u["endpoint"] == name]
    eq((mine[0]["requests"], mine[0]["memorySizeInMB"]), (2, 2048), "strata usage")
    rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")
    eq(variant(name)["StrataUsage"]["ColdStarts"], 2, "a second cold start after scaling to zero")


def open_metrics():
    import urllib.request
    with urllib.request.urlopen(f"{endpoint()}/_strata/metrics") as r:
        return r.read().decode()


def test_throttling_beyond_max_concurrency():
    image = f"registry.example.com/team/sleepy:{unique('v')}"
    server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "byoc_server.py")
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--", sys.executable, server],
                   check=True, capture_output=True)
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})
    name = deploy(m, MaxConcurrency=2, **({"ProvisionedConcurrency": 1} if PROVISIONED else {}))
    eq(variant(name)["CurrentInstanceCount"], 1 if PROVISIONED else 0, "provisioned concurrency keeps an instance warm")

    def call(_):
        try:
            rt.invoke_endpoint(EndpointName=name, Body=b"sleep 1.5", ContentType="text/plain")
            return "ok"
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]

    with ThreadPoolExecutor(5) as pool:
        outcomes = sorted(pool.map(call, range(5)))
    eq(outcomes, ["ThrottlingException"] * 3 + ["ok"] * 2, "2 admitted, 3 throttled")
    advance(IDLE + 1)
    until("the provisioned instance (only) after idling", lambda: variant(name)["CurrentInstanceCount"] == (1 if PROVISIONED else 0))


def test_refused_combinations():
    m = regression_model()
    bad = [({"MemorySizeInMB": 1500, "MaxConcurrency": 2}, "MemorySizeInMB")]
    if PROVISIONED:
        bad.append(({"MemorySizeInMB": 2048, "MaxConcurrency": 2, "ProvisionedConcurrency": 3}, "ProvisionedConcurrency"))
    for config, words in bad:
        expect_error(lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=[
            {"VariantName": "main", "ModelName": m, "ServerlessConfig": config}]), "ValidationException", 400, words)
    expect_error(lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=[
        {"VariantName": "a", "ModelName": m, "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}},
        {"VariantName": "b", "ModelName": m, "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}}]), "ValidationException", 400, "only one production variant")
    expect_error(lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=[
        {"VariantName": "a", "ModelName": m, "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{BUCKET}/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}]}), "ValidationException", 400, "DataCaptureConfig")
    expect_error(lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=[
        {"VariantName": "a", "ModelName": m, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}}]),
        "ValidationException", 400, "cannot also specify")


run(globals())
