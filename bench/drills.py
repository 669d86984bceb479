"""Multi-model load (first request) vs cached latency, serverless cold start vs warm latency, and
a zone-failure drill's error count and recovery time, against a running Strata server (the one
`strata env` points at).

  ./strata serve --serverless-idle 5 &      # any data directory; a short idle period
  eval "$(./strata env)" && python3 bench/drills.py

Prints a Markdown table. Uses the regression test model."""
import io
import json
import os
import statistics
import subprocess
import tarfile
import threading
import time
import uuid

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cfg = Config(retries={"max_attempts": 1}, max_pool_connections=16)
s3, sm, rt, iam = (boto3.client(s, config=cfg) for s in ("s3", "sagemaker", "sagemaker-runtime", "iam"))
STRATA = [os.path.join(ROOT, "strata")] + (["--data-dir", os.environ["STRATA_DATA_DIR"]] if "STRATA_DATA_DIR" in os.environ else [])


def strata(*args):
    return subprocess.run([STRATA[0], *args, *STRATA[1:]], check=True, capture_output=True, text=True).stdout


def unique(p):
    return f"{p}-{uuid.uuid4().hex[:8]}"


def model(multi=False):
    bucket = unique("drills")
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(ROOT, "models", "regression", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=buffer.getvalue())
    for i in range(20 if multi else 0):
        s3.put_object(Bucket=bucket, Key=f"many/m{i}.tar.gz", Body=buffer.getvalue())
    role = unique("drills")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    name = unique("m")
    container = {"Image": "strata-onnx:1", "Mode": "MultiModel", "ModelDataUrl": f"s3://{bucket}/many/"} if multi \
        else {"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{bucket}/model.tar.gz"}
    sm.create_model(ModelName=name, ExecutionRoleArn=arn, PrimaryContainer=container)
    return name


def endpoint(m, variant):
    name = unique("ep")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[dict({"VariantName": "main", "ModelName": m}, **variant)])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return name


def invoke(name, target=None):
    started = time.perf_counter()
    rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json", **({"TargetModel": target} if target else {}))
    return (time.perf_counter() - started) * 1000


def main():
    m = model()
    rows = []
    mme = endpoint(model(multi=True), {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1})
    first = [invoke(mme, f"m{i}.tar.gz") for i in range(20)]
    cached = [invoke(mme, f"m{i % 20}.tar.gz") for i in range(400)]
    rows.append(("multi-model: first request of a model (download, unpack, load, answer), median of 20", statistics.median(first)))
    rows.append(("multi-model: request of a loaded model, p50 of 400", statistics.median(cached)))
    name = endpoint(m, {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 4}})
    def instances():
        return next(u["instances"] for u in json.loads(strata("usage"))["serverless"] if u["endpoint"] == name)

    colds, warm = [], []
    for _ in range(3):
        colds.append(invoke(name))
        warm += [invoke(name) for _ in range(200)]
        while instances() > 0:  # idle until it scales to zero again
            time.sleep(0.5)
    rows.append(("serverless cold start (first request after scale-to-zero), median of 3", statistics.median(colds)))
    rows.append(("serverless warm request, p50 of 600", statistics.median(warm)))

    name = endpoint(m, {"InstanceType": "ml.t2.medium", "InitialInstanceCount": 4})
    stop, errors, done = threading.Event(), [], [0]

    def load():
        while not stop.is_set():
            try:
                invoke(name)
                done[0] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    failed_at = time.perf_counter()
    strata("chaos", "fail-zone", "us-east-1a")
    while True:
        mine = [i for i in json.loads(strata("chaos", "instances"))["instances"] if i["endpoint"] == name]
        if len(mine) == 4 and all(i["zone"] != "us-east-1a" for i in mine):
            break
        time.sleep(0.05)
    recovery = (time.perf_counter() - failed_at) * 1000
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()
    strata("chaos", "restore-zone", "us-east-1a")
    print("| measurement | value |")
    print("| --- | ---: |")
    for label, ms in rows:
        print(f"| {label} | {ms:.1f} ms |")
    print(f"| zone-failure drill: requests during the drill | {done[0]} |")
    print(f"| zone-failure drill: failed client requests | {len(errors)} |")
    print(f"| zone-failure drill: recovery (4 instances again, none in the failed zone) | {recovery:.0f} ms |")


main()
