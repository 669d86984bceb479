"""Batch transform end to end with an unmodified boto3: whole S3 datasets through the real ONNX
Runtime workers, every SplitType/BatchStrategy/filter/join combination with exact outputs, gzip
and manifest inputs, a million-row CSV, bad filters, oversized records, and stopping a job."""
import datetime
import gzip
import io
import json
import os
import tarfile
import time

import boto3
from botocore.config import Config

from harness import endpoint, eq, execution_role, expect_error, raw_answer, run, unique, until, validate_responses

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
IMAGE = "strata-onnx:latest"
cfg = Config(retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
BUCKET = unique("transform")
s3.create_bucket(Bucket=BUCKET)
# A transform job's role lists the input, reads it, and writes the output.
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:ListBucket", "s3:PutObject"))


def model(name="regression"):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, name, "model.onnx"), arcname="model.onnx")
    key = f"models/{unique(name)}/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{key}"})
    return m


REGRESSION = model()


def predict(row):
    """The regression model: features · [0.5, -1, 2, 0.25] + 0.1."""
    a, b, c, d = row
    return 0.5 * a - b + 2 * c + 0.25 * d + 0.1


def close(text, expected):
    assert abs(float(text) - expected) < 1e-3, f"expected {expected}, got {text}"


def transform(prefix_uri, out_uri, wait=True, model_name=None, **kw):
    name = unique("job")
    tin = {"DataSource": {"S3DataSource": {"S3DataType": kw.pop("data_type", "S3Prefix"), "S3Uri": prefix_uri}},
           "ContentType": kw.pop("content_type", "text/csv"), "SplitType": kw.pop("split", "Line"), "CompressionType": kw.pop("compression", "None")}
    tout = {"S3OutputPath": out_uri, "AssembleWith": kw.pop("assemble", "Line")}
    if "accept" in kw:
        tout["Accept"] = kw.pop("accept")
    args = dict(TransformJobName=name, ModelName=model_name or REGRESSION, TransformInput=tin, TransformOutput=tout,
                TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": kw.pop("instances", 1)}, **kw)
    sm.create_transform_job(**args)
    if wait:
        sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def body(key):
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def keys(prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def wait_failed(name):
    """The job's description once botocore's waiter stopped at Failed (it raises there)."""
    try:
        sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    except Exception as e:  # botocore's WaiterError
        assert "Failed" in str(e) or "failure" in str(e).lower(), e
    else:
        raise AssertionError("the waiter should stop at Failed")
    d = sm.describe_transform_job(TransformJobName=name)
    eq(d["TransformJobStatus"], "Failed", "status")
    return d


def csv(rows):
    return "".join(",".join(str(v) for v in r) + "\n" for r in rows)


def test_csv_multirecord_keeps_names_and_order():
    base = unique("csv")
    days = {"day1/a.csv": [(i, 1, 0, 2) for i in range(50)], "day2/b.csv": [(1, i, 3, 0) for i in range(70)]}
    for rel, rows in days.items():
        s3.put_object(Bucket=BUCKET, Key=f"{base}/in/{rel}", Body=csv(rows).encode())
    name = transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/out", BatchStrategy="MultiRecord", MaxPayloadInMB=1, accept="text/csv", instances=2)
    d = sm.describe_transform_job(TransformJobName=name)
    eq(d["TransformJobStatus"], "Completed", f"status ({d.get('FailureReason')})")
    assert d["TransformStartTime"] <= d["TransformEndTime"]
    eq(keys(f"{base}/out/"), [f"{base}/out/day1/a.csv.out", f"{base}/out/day2/b.csv.out"], "output names")
    for rel, rows in days.items():
        lines = body(f"{base}/out/{rel}.out").splitlines()
        eq(len(lines), len(rows), f"{rel} lines")
        for line, row in zip(lines, rows):
            close(line, predict(row))
    assert name in [j["TransformJobName"] for j in sm.list_transform_jobs(StatusEquals="Completed", NameContains=name[:10])["TransformJobSummaries"]]
    hour = datetime.timedelta(hours=1)

    def listed(**bounds):
        return [j["TransformJobName"] for j in sm.list_transform_jobs(NameContains=name, **bounds)["TransformJobSummaries"]]
    # DescribeTransformJob has no LastModifiedTime: the job was last changed within the hour after its creation.
    eq((listed(LastModifiedTimeAfter=d["CreationTime"] + hour), listed(LastModifiedTimeBefore=d["CreationTime"] + hour)), ([], [name]), "LastModifiedTimeAfter and Before")
    eq((listed(LastModifiedTimeAfter=d["CreationTime"] - hour), listed(LastModifiedTimeBefore=d["CreationTime"] - hour)), ([name], []), "LastModifiedTimeAfter and Before")


def test_tags_given_at_creation():
    base = unique("tags")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/a.csv", Body=csv([(1, 2, 3, 4)]).encode())
    name = transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/out", Tags=[{"Key": "run", "Value": "7"}])
    arn = sm.describe_transform_job(TransformJobName=name)["TransformJobArn"]
    eq(sm.list_tags(ResourceArn=arn)["Tags"], [{"Key": "run", "Value": "7"}], "tags from create")


def test_single_record_whole_objects_as_json():
    base = unique("json")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/x.json", Body=json.dumps({"instances": [[1, 2, 3, 4], [4, 3, 2, 1]]}).encode())
    transform(f"s3://{BUCKET}/{base}/in", f"s3://{BUCKET}/{base}/out/", content_type="application/json", split="None", assemble="None", accept="application/json")
    out = json.loads(body(f"{base}/out/x.json.out"))
    eq(len(out["predictions"]), 2, "predictions")
    close(out["predictions"][0][0], predict((1, 2, 3, 4)))
    close(out["predictions"][1][0], predict((4, 3, 2, 1)))


def test_jsonlines_filters_and_join():
    base = unique("jl")
    records = [{"id": i, "features": [i, 1, 2, 3], "note": "n" * i} for i in range(1, 8)]
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/r.jsonl", Body="\n".join(json.dumps(r) for r in records).encode())
    for strategy in ("SingleRecord", "MultiRecord"):
        out = f"{base}/out-{strategy}/"
        transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}{'/' + out}", content_type="application/jsonlines", accept="application/jsonlines",
                  BatchStrategy=strategy, DataProcessing={"InputFilter": "$.features", "JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"})
        lines = [json.loads(l) for l in body(out + "r.jsonl.out").splitlines()]
        eq([l["id"] for l in lines], [r["id"] for r in records], f"{strategy}: ids in order")
        eq(sorted(lines[0].keys()), ["SageMakerOutput", "id"], f"{strategy}: filtered keys")
        for line, r in zip(lines, records):
            close(line["SageMakerOutput"][0], predict(r["features"]))


def test_csv_input_filter_join_and_output_filter():
    base = unique("join")
    rows = [(100 + i, i, 1, 2, 3) for i in range(20)]
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/t.csv", Body=csv(rows).encode())
    transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/joined/", accept="text/csv", BatchStrategy="MultiRecord",
              DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"})
    for line, row in zip(body(f"{base}/joined/t.csv.out").splitlines(), rows):
        fields = line.split(",")
        eq(fields[:5], [str(v) for v in row], "input columns first")
        close(fields[5], predict(row[1:]))
    transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/picked/", accept="text/csv",
              DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    picked = body(f"{base}/picked/t.csv.out").splitlines()
    eq(len(picked), len(rows), "rows")
    for line, row in zip(picked, rows):
        key, value = line.split(",")
        eq(key, str(row[0]), "id column")
        close(value, predict(row[1:]))


def test_gzip_and_manifest_inputs():
    base = unique("gz")
    rows = [(i, 0, 0, 0) for i in range(30)]
    s3.put_object(Bucket=BUCKET, Key=f"{base}/data/part-1.csv.gz", Body=gzip.compress(csv(rows).encode()))
    s3.put_object(Bucket=BUCKET, Key=f"{base}/data/part-2.csv.gz", Body=gzip.compress(csv(rows[:5]).encode()))
    s3.put_object(Bucket=BUCKET, Key=f"{base}/data/skipped.csv.gz", Body=b"not even gzip")
    manifest = [{"prefix": f"s3://{BUCKET}/{base}/data/"}, "part-1.csv.gz", "part-2.csv.gz"]
    s3.put_object(Bucket=BUCKET, Key=f"{base}/manifest.json", Body=json.dumps(manifest).encode())
    transform(f"s3://{BUCKET}/{base}/manifest.json", f"s3://{BUCKET}/{base}/out/", data_type="ManifestFile", compression="Gzip", accept="text/csv", BatchStrategy="MultiRecord")
    eq(keys(f"{base}/out/"), [f"{base}/out/part-1.csv.gz.out", f"{base}/out/part-2.csv.gz.out"], "only the manifest's objects")
    for line, row in zip(body(f"{base}/out/part-1.csv.gz.out").splitlines(), rows):
        close(line, predict(row))


def progress(name):
    """Strata's extension member of DescribeTransformJob (clients drop unmodeled members from the
    parsed answer, so it is read from the raw one)."""
    return raw_answer(sm, "DescribeTransformJob", lambda: sm.describe_transform_job(TransformJobName=name))["StrataProgress"]


def test_a_million_row_csv():
    base = unique("big")
    n = 1_000_000
    data = "".join(f"{i % 1000},1,2,3\n" for i in range(n)).encode()
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/big.csv", Body=data)
    name = transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/out/", BatchStrategy="MultiRecord", MaxPayloadInMB=6, accept="text/csv")
    d = sm.describe_transform_job(TransformJobName=name)
    eq(d["TransformJobStatus"], "Completed", f"status ({d.get('FailureReason')})")
    lines = body(f"{base}/out/big.csv.out").splitlines()
    eq(len(lines), n, "one output per row")
    for i in (0, 1, 999, 123_456, n - 1):
        close(lines[i], predict((i % 1000, 1, 2, 3)))
    eq(progress(name), {"ObjectsTotal": 1, "ObjectsCompleted": 1, "RecordsProcessed": n}, "progress")


def test_recordio_records_reach_a_container_of_ones_own():
    import struct
    import subprocess
    import sys
    image = f"registry.example.com/team/recordio:{unique('v')}"
    server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "byoc_server.py")
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--", sys.executable, server],
                   check=True, capture_output=True)
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})
    base = unique("rio")
    framed = b""
    for record in (b"alpha", b"be", b"gamma-delta"):
        framed += struct.pack("<II", 0xced7230a, len(record)) + record + b"\0" * ((4 - len(record) % 4) % 4)
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/r.rec", Body=framed)
    transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/single/", model_name=m, content_type="application/x-recordio", split="RecordIO")
    eq([json.loads(l)["records"] for l in body(f"{base}/single/r.rec.out").splitlines()], [["alpha"], ["be"], ["gamma-delta"]], "one record a request")
    transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/multi/", model_name=m, content_type="application/x-recordio", split="RecordIO", BatchStrategy="MultiRecord")
    eq([json.loads(l)["records"] for l in body(f"{base}/multi/r.rec.out").splitlines()], [["alpha", "be", "gamma-delta"]], "records packed")


def test_outputs_encrypted_with_the_jobs_kms_key():
    kms = boto3.client("kms", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    key = kms.create_key()["KeyMetadata"]
    role = execution_role(iam, s3_actions=("s3:GetObject", "s3:ListBucket", "s3:PutObject"))
    iam.put_role_policy(RoleName=role.split("/")[-1], PolicyName="kms", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key["Arn"]}]}))
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=role, PrimaryContainer=sm.describe_model(ModelName=REGRESSION)["PrimaryContainer"])
    base = unique("kms")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/k.csv", Body=b"1,2,3,4\n")
    name = unique("job")
    sm.create_transform_job(TransformJobName=name, ModelName=m,
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{base}/in/"}}, "ContentType": "text/csv", "SplitType": "Line"},
                            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{base}/out/", "KmsKeyId": key["KeyId"], "Accept": "text/csv"},
                            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    head = s3.head_object(Bucket=BUCKET, Key=f"{base}/out/k.csv.out")
    eq((head["ServerSideEncryption"], head["SSEKMSKeyId"]), ("aws:kms", key["Arn"]), "output encryption")
    close(body(f"{base}/out/k.csv.out").strip(), predict((1, 2, 3, 4)))


def test_validation_errors():
    prefix = f"s3://{BUCKET}/nothing/"
    expect_error(lambda: transform(prefix, prefix, wait=False, DataProcessing={"InputFilter": "features[0]"}), "ValidationException", 400, "JSONPath")
    expect_error(lambda: transform(prefix, prefix, wait=False, MaxConcurrentTransforms=20, MaxPayloadInMB=6), "ValidationException", 400, "must not exceed 100")
    expect_error(lambda: transform(prefix, prefix, wait=False, model_name="no-such-model"), "ValidationException", 400, "Could not find model")
    expect_error(lambda: sm.describe_transform_job(TransformJobName="no-such-job"), "ValidationException", 400, "Could not find requested job")
    name = transform(prefix, prefix, wait=False)
    expect_error(lambda: sm.create_transform_job(TransformJobName=name, ModelName=REGRESSION,
                                                 TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": prefix}}},
                                                 TransformOutput={"S3OutputPath": prefix}, TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1}),
                 "ResourceInUse", 400)
    for _ in range(100):
        d = sm.describe_transform_job(TransformJobName=name)
        if d["TransformJobStatus"] != "InProgress":
            break
        time.sleep(0.1)
    eq(d["TransformJobStatus"], "Failed", "an empty prefix fails the job")
    assert "no input objects" in d["FailureReason"], d["FailureReason"]


def test_an_oversized_record_fails_the_job_without_partial_output():
    base = unique("huge")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/a-small.csv", Body=b"1,2,3,4\n")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/b-huge.csv", Body=b"1,2,3,4\n" + b"9" * (1024 * 1024 + 10) + b"\n")
    name = unique("job")
    sm.create_transform_job(TransformJobName=name, ModelName=REGRESSION, MaxPayloadInMB=1,
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{base}/in/"}}, "ContentType": "text/csv", "SplitType": "Line"},
                            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{base}/out/"}, TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    d = wait_failed(name)
    assert "larger than MaxPayloadInMB" in d["FailureReason"] and "b-huge.csv" in d["FailureReason"], d["FailureReason"]
    assert f"{base}/out/b-huge.csv.out" not in keys(f"{base}/out/"), "a failed object got output"


def test_a_gpu_instance_type_fails_where_the_machine_has_no_gpu():
    """As an endpoint's: on a machine without an NVIDIA GPU (and without --gpu-instances-on-cpu),
    a job on ml.g4dn.xlarge fails before it reads anything, saying why."""
    base = unique("gpu")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/a.csv", Body=b"1,2,3,4\n")
    name = unique("job")
    sm.create_transform_job(TransformJobName=name, ModelName=REGRESSION,
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{base}/in/"}}, "ContentType": "text/csv", "SplitType": "Line"},
                            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{base}/out/"}, TransformResources={"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1})
    d = wait_failed(name)
    assert d["FailureReason"].startswith("the instance type ml.g4dn.xlarge has 1 NVIDIA GPU and this machine has none"), d["FailureReason"]
    assert "--gpu-instances-on-cpu" in d["FailureReason"], d["FailureReason"]
    eq(keys(f"{base}/out/"), [], "output of a job that never ran")


def test_instance_metrics_in_cloudwatch():
    """Each instance's CPUUtilization, MemoryUtilization and DiskUtilization under
    /aws/sagemaker/TransformJobs, with SageMaker's one dimension Host = {job}/{instance id}, the name
    of the instance's log stream too. The job is shorter than the sampling period (10 s): its
    datapoints come from the sample taken as it ends, before it is seen to end."""
    import re
    from datetime import timedelta
    cw = boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    logs = boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    base = unique("metrics")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/m.csv", Body=csv([(i, 1, 2, 3) for i in range(20)]).encode())
    name = transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/out/", instances=2)
    d = sm.describe_transform_job(TransformJobName=name)
    eq(d["TransformJobStatus"], "Completed", f"status ({d.get('FailureReason')})")
    # No waiting here: what the job published is there as soon as it is seen to end.
    listed = [m for p in cw.get_paginator("list_metrics").paginate(Namespace="/aws/sagemaker/TransformJobs") for m in p["Metrics"]
              if any(x["Name"] == "Host" and x["Value"].startswith(name + "/") for x in m["Dimensions"])]
    for m in listed:
        eq([x["Name"] for x in m["Dimensions"]], ["Host"], f"dimensions of {m}")
    hosts = sorted({m["Dimensions"][0]["Value"] for m in listed})
    eq(len(hosts), 2, f"one Host per instance in {listed}")
    for host in hosts:
        assert re.fullmatch(re.escape(name) + r"/i-[0-9a-f]{17}", host), host
    eq(sorted((m["MetricName"], m["Dimensions"][0]["Value"]) for m in listed),
       sorted((metric, host) for metric in ("CPUUtilization", "DiskUtilization", "MemoryUtilization") for host in hosts), "metrics per instance")
    # The Host is the instance's log stream in /aws/sagemaker/TransformJobs, to go from one to the other.
    streams = lambda: {s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=name + "/")["logStreams"]}
    until("the instances' log streams", lambda: set(hosts) <= streams(), 30)
    start = d["TransformStartTime"].replace(microsecond=0) - timedelta(minutes=1)
    end = d["TransformEndTime"] + timedelta(minutes=1)
    ranges = {"CPUUtilization": (0, 100 * os.cpu_count()), "MemoryUtilization": (0, 100), "DiskUtilization": (0, 100)}
    for host in hosts:
        for metric, (low, high) in ranges.items():
            r = cw.get_metric_statistics(Namespace="/aws/sagemaker/TransformJobs", MetricName=metric, Dimensions=[{"Name": "Host", "Value": host}],
                                         StartTime=start, EndTime=end, Period=1, Statistics=["SampleCount", "Minimum", "Maximum"])
            points = r["Datapoints"]
            assert points, f"{metric} of {host}: no datapoints"
            assert all(p["Unit"] == "Percent" for p in points), points
            assert all(low <= p["Minimum"] and p["Maximum"] <= high for p in points), f"{metric} of {host} outside [{low}, {high}]: {points}"
            if metric != "CPUUtilization":  # a process always holds memory, and a filesystem always holds something
                assert all(p["Minimum"] > 0 for p in points), f"{metric} of {host}: {points}"
            # Sampled while the job ran, and no longer once it ended.
            for p in points:
                assert d["TransformStartTime"].replace(microsecond=0) <= p["Timestamp"] <= d["TransformEndTime"], f"{metric} of {host} at {p['Timestamp']}, job {d['TransformStartTime']}..{d['TransformEndTime']}"


def test_stop_mid_job_leaves_no_partial_output():
    base = unique("stop")
    s3.put_object(Bucket=BUCKET, Key=f"{base}/in/slow.csv", Body=csv([(i, 0, 0, 0) for i in range(200_000)]).encode())
    name = transform(f"s3://{BUCKET}/{base}/in/", f"s3://{BUCKET}/{base}/out/", wait=False, BatchStrategy="SingleRecord")
    for _ in range(100):
        if sm.describe_transform_job(TransformJobName=name).get("TransformStartTime"):
            break
        time.sleep(0.1)
    time.sleep(1)
    sm.stop_transform_job(TransformJobName=name)
    sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    eq(sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"], "Stopped", "status")
    eq(keys(f"{base}/out/"), [], "no partial .out")
    expect_error(lambda: sm.stop_transform_job(TransformJobName=name), "ValidationException", 400)


run(globals())
