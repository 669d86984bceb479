"""Multi-model endpoints end to end with an unmodified boto3: 220 models under one S3 prefix
behind one endpoint, each request's TargetModel loaded on demand (cached on disk and in the
worker), evicted least-recently-used when an instance's memory budget says no, every answer
from the right model; the metrics SageMaker records for it; and AWS's errors."""
import io
import os
import struct
import tarfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from harness import endpoint, eq, execution_role, expect_error, run, unique

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
cfg = Config(retries={"max_attempts": 1}, max_pool_connections=16)
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
BUCKET = unique("mme")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam)
COUNT = 220
BASE = open(os.path.join(MODELS, "regression", "model.onnx"), "rb").read()


def variant_model(bias):
    """The regression model with its bias (0.1) replaced: model i answers features·w + i."""
    onnx = BASE.replace(struct.pack("<f", 0.1), struct.pack("<f", float(bias)))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.onnx")
        info.size = len(onnx)
        tar.addfile(info, io.BytesIO(onnx))
    return buffer.getvalue()


def deploy(budget_mb=256, instances=2):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=BUCKET, Key=f"models/m{i}.tar.gz", Body=variant_model(i)), range(COUNT)))
    name = unique("mme")
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "strata-onnx:1", "Mode": "MultiModel", "ModelDataUrl": f"s3://{BUCKET}/models/",
        "Environment": {"STRATA_MODEL_MEMORY_MB": str(budget_mb)}})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "main", "ModelName": name, "InitialInstanceCount": instances, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return name


def predict(name, i):
    body = rt.invoke_endpoint(EndpointName=name, TargetModel=f"m{i}.tar.gz", Body=b"[[1,2,3,4]]", ContentType="application/json")["Body"].read()
    import json
    return json.loads(body)["predictions"][0][0]


def metric(text, name, endpoint_name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and f'endpoint_name="{endpoint_name}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_hundreds_of_models_with_evictions_and_right_answers():
    name = deploy()
    base = 0.5 * 1 - 2 + 2 * 3 + 0.25 * 4  # features · w
    order = list(range(COUNT)) + list(range(0, COUNT, 7)) + list(range(COUNT - 1, -1, -3))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: (i, predict(name, i)), order))
    wrong = [(i, a) for i, a in answers if abs(a - (base + i)) > 1e-3]
    eq(wrong, [], "every answer from its own model")
    with urllib.request.urlopen(f"{endpoint()}/_strata/metrics") as r:
        text = r.read().decode()
    loads = metric(text, "aws_sagemaker_model_loading_time_count", name)
    unloads = metric(text, "aws_sagemaker_model_unloading_time_count", name)
    hits = metric(text, "aws_sagemaker_model_cache_hit_sum", name)
    assert loads >= COUNT, f"each model loaded at least once: {loads}"
    assert unloads > 0, "a 256 MB budget per instance forces evictions"
    assert hits > 0, "repeated models are served from the cache"
    for series in ("model_downloading_time", "model_loading_wait_time", "loaded_model_count"):
        assert f"aws_sagemaker_{series}" in text, series
    sm.delete_endpoint(EndpointName=name)


def test_multi_model_errors():
    name = deploy(instances=1)
    expect_error(lambda: rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json"), "ValidationError", 400, "TargetModel")
    expect_error(lambda: rt.invoke_endpoint(EndpointName=name, TargetModel="nope.tar.gz", Body=b"[[1,2,3,4]]", ContentType="application/json"),
                 "ValidationError", 400, "Failed to download model data")
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "strata-onnx:1", "Mode": "MultiModel", "ModelDataUrl": f"s3://{BUCKET}/models/m1.tar.gz"}), "ValidationException", 400, "prefix")
    single = unique("single")
    sm.create_model(ModelName=single, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{BUCKET}/models/m1.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=single, ProductionVariants=[{"VariantName": "main", "ModelName": single, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=single, EndpointConfigName=single)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=single, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    expect_error(lambda: rt.invoke_endpoint(EndpointName=single, TargetModel="m1.tar.gz", Body=b"[[1,2,3,4]]", ContentType="application/json"),
                 "ValidationError", 400, "not a multi-model endpoint")
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint(EndpointName=single)


run(globals())
