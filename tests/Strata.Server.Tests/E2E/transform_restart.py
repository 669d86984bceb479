"""Helper for the transform crash tests.
  create ROWS     uploads ROWS CSV rows (row i predicts 0.5*i + 0.1) and starts a job; prints its name
  wait NAME ROWS  waits for the job to complete and checks every row's output exactly once, in order
  progress NAME   prints the job's records processed so far (Strata's extension member)"""
import json
import os
import sys
import tarfile
import io
import time

import boto3
from botocore.config import Config

from harness import endpoint, execution_role, unique

cfg = Config(retries={"max_attempts": 3})
MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
BUCKET = "transform-restart"


def create(rows):
    s3.create_bucket(Bucket=BUCKET)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, "regression", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=BUCKET, Key="model.tar.gz", Body=buffer.getvalue())
    role = execution_role(boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg), s3_actions=("s3:GetObject", "s3:ListBucket", "s3:PutObject"))
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=role, PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"})
    s3.put_object(Bucket=BUCKET, Key="in/rows.csv", Body="".join(f"{i},0,0,0\n" for i in range(rows)).encode())
    name = unique("job")
    # Small mini-batches, so that the job has many checkpoints to be killed between.
    sm.create_transform_job(TransformJobName=name, ModelName=model, BatchStrategy="MultiRecord", MaxPayloadInMB=1,
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in/"}}, "ContentType": "text/csv", "SplitType": "Line"},
                            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}/", "Accept": "text/csv", "AssembleWith": "Line"},
                            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    print(name)


def wait(name, rows):
    deadline = time.time() + 300
    while time.time() < deadline:
        d = sm.describe_transform_job(TransformJobName=name)
        if d["TransformJobStatus"] != "InProgress":
            break
        time.sleep(0.2)
    assert d["TransformJobStatus"] == "Completed", d
    lines = s3.get_object(Bucket=BUCKET, Key=f"out/{name}/rows.csv.out")["Body"].read().decode().splitlines()
    assert len(lines) == rows, f"expected {rows} output lines, got {len(lines)}"
    for i, line in enumerate(lines):
        if abs(float(line) - (0.5 * i + 0.1)) > 1e-2:
            raise AssertionError(f"line {i}: expected {0.5 * i + 0.1}, got {line}")
    print("ok")


def progress(name):
    raw = {}
    sm.meta.events.register("after-call.sagemaker.DescribeTransformJob", lambda http_response, **_: raw.update(json.loads(http_response.content)))
    d = sm.describe_transform_job(TransformJobName=name)
    print(d["TransformJobStatus"], raw.get("StrataProgress", {}).get("RecordsProcessed", 0))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "create":
        create(int(sys.argv[2]))
    elif command == "wait":
        wait(sys.argv[2], int(sys.argv[3]))
    else:
        progress(sys.argv[2])
