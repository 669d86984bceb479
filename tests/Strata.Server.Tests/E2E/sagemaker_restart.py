"""Helper for the restart test: `deploy` creates an endpoint and invokes it; `invoke NAME` waits
(up to 60 s) for the endpoint to answer again and checks the answer."""
import io
import json
import os
import sys
import tarfile
import time

import boto3
from botocore.config import Config

from harness import endpoint, execution_role, unique

cfg = Config(retries={"max_attempts": 1})
MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")


def deploy():
    s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    bucket = unique("restart")
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, "regression", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=buffer.getvalue())
    name = unique("ep")
    role = execution_role(boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg), f"arn:aws:s3:::{bucket}/*")
    sm.create_model(ModelName=name, ExecutionRoleArn=role,
                    PrimaryContainer={"Image": "strata-onnx:latest", "ModelDataUrl": f"s3://{bucket}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "v", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    check(name)
    print(name)


def check(name):
    rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    body = rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")["Body"].read()
    value = json.loads(body)["predictions"][0][0]
    assert abs(value - (0.5 - 2 + 6 + 1 + 0.1)) < 1e-4, value


def invoke(name):
    deadline = time.time() + 60
    while True:
        try:
            check(name)
            print("ok")
            return
        except Exception:  # noqa: BLE001 - the endpoint is coming back; try until the deadline
            if time.time() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    deploy() if sys.argv[1] == "deploy" else invoke(sys.argv[2])
