"""Helper for the asynchronous inference restart test. `enqueue` deploys an asynchronous endpoint,
takes its variant to no instance (so nothing can answer yet), queues two requests and prints the
endpoint, the bucket and the inference ids; the server is then killed (-9). `check ENDPOINT BUCKET
ID...` waits (up to 60 s) on the restarted server for the answers, and checks that each request
was answered exactly once: one <id>.out each, nothing else under the output or failure paths."""
import json
import sys
import time

import boto3
from botocore.config import Config

from harness import deploy_regression, endpoint, execution_role, unique, until

cfg = Config(retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)


def enqueue():
    bucket = unique("async-restart")
    s3.create_bucket(Bucket=bucket)
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"), resource="*")
    model = deploy_regression(s3, sm, bucket, role)
    sm.delete_endpoint(EndpointName=model)
    name = unique("async")
    sm.create_endpoint_config(EndpointConfigName=name, AsyncInferenceConfig={"OutputConfig": {
        "S3OutputPath": f"s3://{bucket}/out", "S3FailurePath": f"s3://{bucket}/failed"}}, ProductionVariants=[
        {"VariantName": "main", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    sm.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "main", "DesiredInstanceCount": 0}])
    until("no instance", lambda: sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]["CurrentInstanceCount"] == 0)
    s3.put_object(Bucket=bucket, Key="in/request.json", Body=b'{"instances": [[1, 2, 3, 4]]}')
    ids = [rt.invoke_endpoint_async(EndpointName=name, InputLocation=f"s3://{bucket}/in/request.json",
                                  ContentType="application/json")["InferenceId"] for _ in range(2)]
    print(name, bucket, *ids)


def check(name, bucket, *ids):
    deadline = time.time() + 60
    expected = sorted(f"out/{i}.out" for i in ids)
    while True:
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/").get("Contents", []))
        if keys == expected or time.time() > deadline:
            break
        time.sleep(0.2)
    assert keys == expected, (keys, expected)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="failed/"), "no failure"
    for key in keys:
        value = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["predictions"][0][0]
        assert abs(value - (0.5 - 2 + 6 + 1 + 0.1)) < 1e-4, value
    print("ok")


if __name__ == "__main__":
    enqueue() if sys.argv[1] == "enqueue" else check(*sys.argv[2:])
