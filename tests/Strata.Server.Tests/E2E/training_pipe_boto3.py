"""Pipe input mode with an unmodified boto3 (1.43 and Debian's 1.26) against a real server: a
container of one's own (pipe_container.py) reads its channels from the named pipes
/opt/ml/input/data/<channel>_<epoch>, epoch after epoch, and reports what each held. The bytes
are the S3 objects' (S3Prefix in key order, ManifestFile in its order, Gzip decompressed);
ShuffleConfig gives each epoch an order of its own that the Seed reproduces; RecordWrapperType
RecordIO frames each object as MXNet's RecordIO (parsed back here); an AugmentedManifestFile
delivers its AttributeNames line after line (-ref attributes as the objects they name); bad input
gets AWS's errors or fails the job saying why; and a job whose container stops reading its pipes,
or never opens them, still ends: completed, or stopped by StopTrainingJob."""
import base64
import gzip
import hashlib
import json
import io
import os
import random
import struct
import subprocess
import sys
import tarfile

from harness import client, eq, execution_role, expect_error, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, logs = client("s3"), client("iam"), client("logs")
IMAGE = f"registry.example.com/team/pipe-reader:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipe_container.py")], check=True, capture_output=True)
BUCKET = unique("pipes")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
MAGIC = struct.pack("<I", 0xced7230a)


def put(key, body):
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def channel(name, uri, data_type="S3Prefix", **extra):
    source = {"S3DataType": data_type, "S3Uri": uri}
    if "AttributeNames" in extra:
        source["AttributeNames"] = extra.pop("AttributeNames")
    return {"ChannelName": name, "DataSource": {"S3DataSource": source}, **extra}


def start(channels, plan=None, mode="read", input_mode="Pipe", image=IMAGE, name=None, role=ROLE, **hps):
    name = name or unique("pipe")
    sm.create_training_job(
        TrainingJobName=name, RoleArn=role,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": input_mode},
        HyperParameters={"mode": mode, "plan": json.dumps(plan or {}), **hps},
        InputDataConfig=channels,
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    return name


def finished(name):
    from botocore.exceptions import WaiterError
    try:
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    except WaiterError as e:
        assert e.last_response["TrainingJobStatus"] == "Failed", e
    return sm.describe_training_job(TrainingJobName=name)


def model(name):
    """What the container reported (model.json of the job's model.tar.gz); the job must have completed."""
    job = finished(name)
    eq(job["TrainingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    body = s3.get_object(Bucket=BUCKET, Key=f"out/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return json.loads(tar.extractfile("model.json").read())


def epoch_bytes(epoch):
    assert epoch["data"] is not None, epoch
    data = base64.b64decode(epoch["data"])
    eq(hashlib.sha256(data).hexdigest(), epoch["sha256"], "the reported digest")
    return data


def recordio(stream):
    """MXNet's RecordIO reader (dmlc-core): magic, a length word (flag in the top 3 bits, length
    in the low 29), the data, padding to 4 bytes; parts of flag 1 and 2 are joined by the magic."""
    records, at = [], 0
    while at < len(stream):
        record = b""
        while True:
            magic, word = struct.unpack_from("<II", stream, at)
            assert magic == 0xced7230a, f"no magic at {at}"
            flag, length = word >> 29, word & ((1 << 29) - 1)
            record += stream[at + 8:at + 8 + length]
            at += 8 + ((length + 3) & ~3)
            if flag in (0, 3):
                break
            assert flag in (1, 2), flag
            record += MAGIC
        records.append(record)
    return records


def test_pipe_mode_streams_each_epoch_through_its_own_fifo():
    prefix = unique("epochs")
    objects = {f"{prefix}/train/a.csv": b"1,2\n3,4\n", f"{prefix}/train/b/c.csv": b"5,6\n", f"{prefix}/train/d.csv": b"7,8\n"}
    for key, body in objects.items():
        put(key, body)
    listed = [f"{prefix}/train/d.csv", f"{prefix}/train/a.csv"]
    manifest = put(f"{prefix}/listed.manifest", json.dumps([{"prefix": f"s3://{BUCKET}/{prefix}/train/"}, "d.csv", "a.csv"]).encode())
    big = random.Random(5).randbytes(300_000)
    put(f"{prefix}/big/blob.bin", big)
    packed = b"".join(f"{i},{i * i}\n".encode() for i in range(2000))
    put(f"{prefix}/packed/rows.csv.gz", gzip.compress(packed))
    put(f"{prefix}/files/f.csv", b"9,9\n")
    name = start([channel("train", f"s3://{BUCKET}/{prefix}/train", ContentType="text/csv"),
                  channel("listed", manifest, "ManifestFile"),
                  channel("big", f"s3://{BUCKET}/{prefix}/big"),
                  channel("packed", f"s3://{BUCKET}/{prefix}/packed", CompressionType="Gzip"),
                  channel("files", f"s3://{BUCKET}/{prefix}/files", InputMode="File")],
                 plan={"train": {"epochs": 2}, "listed": {"epochs": 2}, "big": {"epochs": 3, "partial": [0]}, "packed": {"epochs": 1}})
    seen = model(name)
    everything = b"".join(objects[k] for k in sorted(objects))
    eq([epoch_bytes(e) for e in seen["epochs"]["train"]], [everything, everything], "S3Prefix: the objects in key order, each epoch")
    assert all(e["next_ready"] for e in seen["epochs"]["train"]), "the next epoch's pipe is there at each epoch's end"
    eq([epoch_bytes(e) for e in seen["epochs"]["listed"]], [b"".join(objects[k] for k in listed)] * 2, "ManifestFile: in the manifest's order")
    # The first pass read 10 bytes and closed the pipe: the next two are whole.
    eq([(e["size"], e["sha256"]) for e in seen["epochs"]["big"]],
       [(10, hashlib.sha256(big[:10]).hexdigest())] + [(len(big), hashlib.sha256(big).hexdigest())] * 2, "an epoch the reader left early")
    eq(epoch_bytes(seen["epochs"]["packed"][0]), packed, "CompressionType Gzip: decompressed as streamed")
    eq(seen["files"], {"files": ["f.csv"]}, "a File channel's directory, beside the pipes")
    assert {"train_0", "listed_0", "big_0", "packed_0"} <= set(seen["fifos"]), seen["listing"]
    eq({k: v["TrainingInputMode"] for k, v in seen["config"].items()},
       {"train": "Pipe", "listed": "Pipe", "big": "Pipe", "packed": "Pipe", "files": "File"}, "inputdataconfig.json")
    eq(seen["config"]["packed"]["CompressionType"], "Gzip", "inputdataconfig.json's CompressionType")
    eq(seen["training_env_input"], seen["config"], "SM_TRAINING_ENV's input_data_config")
    root = os.path.dirname(os.path.dirname(seen["sm_channels"]["SM_CHANNEL_FILES"]))
    eq(seen["sm_channels"]["SM_CHANNEL_TRAIN"], f"{root}/data/train", "SM_CHANNEL_TRAIN, as the toolkit sets it for a pipe channel")
    if os.geteuid() == 0:
        eq(root, "/opt/ml/input", "the sandbox's paths")
    job = sm.describe_training_job(TrainingJobName=name)
    eq([(c["ChannelName"], c.get("InputMode"), c["CompressionType"]) for c in job["InputDataConfig"]],
       [("train", None, "None"), ("listed", None, "None"), ("big", None, "None"), ("packed", None, "Gzip"), ("files", "File", "None")], "described channels")
    eq(job["AlgorithmSpecification"]["TrainingInputMode"], "Pipe", "described input mode")


def shuffled_job(prefix, seed, name=None):
    return start([channel("lines", f"s3://{BUCKET}/{prefix}/", ShuffleConfig={"Seed": seed}),
                  channel("records", f"s3://{BUCKET}/{prefix}/", ShuffleConfig={"Seed": seed}, RecordWrapperType="RecordIO")],
                 plan={"lines": {"epochs": 3}, "records": {"epochs": 2}}, name=name)


def test_shuffle_config_gives_each_epoch_its_own_order_and_the_seed_reproduces_them():
    prefix = unique("shuffle")
    keys = [f"{prefix}/part-{i:02d}" for i in range(12)]
    for key in keys:
        put(key, f"{key}\n".encode())
    first, again, other = (model(shuffled_job(prefix, seed)) for seed in (1234, 1234, 99))
    orders = [epoch_bytes(e).decode().split() for e in first["epochs"]["lines"]]
    for order in orders:
        eq(sorted(order), keys, "each epoch is every object once")
    assert len({tuple(o) for o in orders}) == 3, f"each epoch has an order of its own: {orders}"
    assert keys not in orders, "shuffled, not in key order"
    eq([epoch_bytes(e).decode().split() for e in again["epochs"]["lines"]], orders, "the same seed, the same orders in another job")
    assert [epoch_bytes(e).decode().split() for e in other["epochs"]["lines"]] != orders, "another seed, other orders"
    # RecordIO: each object one record, in the same order (the same seed, the same objects).
    records = [[r.decode() for r in recordio(epoch_bytes(e))] for e in first["epochs"]["records"]]
    eq(records, [[f"{k}\n" for k in order] for order in orders[:2]], "RecordIO records, shuffled alike")


def test_recordio_wraps_each_object_as_mxnet_reads_it():
    prefix = unique("recordio")
    rng = random.Random(9)
    bodies = [b"", b"abc", b"abcd", b"abcd" + MAGIC + b"ef" + MAGIC, MAGIC * 3, rng.randbytes(40_001)]
    for i, body in enumerate(bodies):
        put(f"{prefix}/obj-{i}", body)
    seen = model(start([channel("train", f"s3://{BUCKET}/{prefix}/", RecordWrapperType="RecordIO")], plan={"train": {"epochs": 1}}))
    stream = epoch_bytes(seen["epochs"]["train"][0])
    eq(len(stream) % 4, 0, "records padded to 4 bytes")
    eq(recordio(stream), bodies, "each object one record, parsed back")
    eq(stream[:16], MAGIC + struct.pack("<I", 0) + MAGIC + struct.pack("<I", 3), "an empty record, then 'abc's header")
    eq(seen["config"]["train"]["RecordWrapperType"], "RecordIO", "inputdataconfig.json's RecordWrapperType")


def test_an_augmented_manifest_streams_its_attribute_names_line_after_line():
    prefix = unique("augmented")
    images = [random.Random(i).randbytes(1000 + i) for i in range(3)]
    lines = []
    for i, image in enumerate(images):
        uri = put(f"{prefix}/images/img-{i}.jpg", image)
        lines.append({"unused": "x", "source-ref": uri, "label": i % 2, "meta": {"boxes": [[i, 2.5]], "name": f"cat {i}"}})
    manifest = put(f"{prefix}/train.manifest", ("\n".join(json.dumps(line) for line in lines) + "\n").encode())
    names = ["source-ref", "label", "meta"]
    name = start([channel("wrapped", manifest, "AugmentedManifestFile", AttributeNames=names, RecordWrapperType="RecordIO", ContentType="application/x-recordio"),
                  channel("raw", manifest, "AugmentedManifestFile", AttributeNames=["label", "source-ref"]),
                  channel("shuffled", manifest, "AugmentedManifestFile", AttributeNames=names, RecordWrapperType="RecordIO", ShuffleConfig={"Seed": 5})],
                 plan={"wrapped": {"epochs": 2}, "raw": {"epochs": 1}, "shuffled": {"epochs": 2}})
    seen = model(name)

    def expected(line):
        return [images[lines.index(line)], json.dumps(line["label"]).encode(), json.dumps(line["meta"]).encode()]
    want = [piece for line in lines for piece in expected(line)]
    for epoch in seen["epochs"]["wrapped"]:
        eq(recordio(epoch_bytes(epoch)), want, "each attribute one record: the -ref object's bytes, the others' JSON")
    eq(epoch_bytes(seen["epochs"]["raw"][0]), b"".join(str(line["label"]).encode() + images[i] for i, line in enumerate(lines)), "without RecordIO: one after the other")
    shuffled = [recordio(epoch_bytes(e)) for e in seen["epochs"]["shuffled"]]
    for records in shuffled:
        groups = [records[i:i + 3] for i in range(0, len(records), 3)]
        eq(sorted(groups), sorted(expected(line) for line in lines), "shuffled by line: each line's attributes stay together")

    channels = {c["ChannelName"]: c for c in sm.describe_training_job(TrainingJobName=name)["InputDataConfig"]}
    eq(channels["wrapped"]["DataSource"]["S3DataSource"]["AttributeNames"], names, "described AttributeNames")
    eq((channels["wrapped"]["RecordWrapperType"], channels["shuffled"]["ShuffleConfig"]), ("RecordIO", {"Seed": 5}), "described wrapper and shuffle")


def failed(name):
    job = finished(name)
    eq(job["TrainingJobStatus"], "Failed", "status")
    return job["FailureReason"]


def test_bad_input():
    prefix = unique("bad")
    manifest = put(f"{prefix}/train.manifest", b'{"source-ref": "s3://%s/%s/x.bin", "label": 1}\n' % (BUCKET.encode(), prefix.encode()))
    put(f"{prefix}/x.bin", b"x")
    augmented = channel("train", manifest, "AugmentedManifestFile")
    expect_error(lambda: start([augmented]), "ValidationException", message="AttributeNames must be specified for channel train")
    expect_error(lambda: start([{**augmented, "DataSource": {"S3DataSource": {**augmented["DataSource"]["S3DataSource"], "AttributeNames": []}}}]),
                 "ValidationException", message="AttributeNames must be specified")
    expect_error(lambda: start([channel("train", manifest, "AugmentedManifestFile", AttributeNames=["source-ref"])], input_mode="File"),
                 "ValidationException", message="AugmentedManifestFile is supported only for channels using Pipe input mode")
    expect_error(lambda: start([channel("train", manifest, "AugmentedManifestFile", AttributeNames=["source-ref"], InputMode="File")]),
                 "ValidationException", message="Pipe input mode")
    expect_error(lambda: start([channel("train", manifest, "AugmentedManifestFile", AttributeNames=[f"a{i}" for i in range(17)])]),
                 "ValidationException", message="Member must have length less than or equal to 16")
    expect_error(lambda: start([channel("train", f"s3://{BUCKET}/{prefix}/")], image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
                 "ValidationException", message="Pipe input mode is not supported for it")

    # What the job cannot stream fails it, naming the S3 URI, the role and the permission.
    empty = f"s3://{BUCKET}/{prefix}/nothing/here"
    reason = failed(start([channel("train", empty)], plan={"train": {"epochs": 1}}))
    assert reason.startswith(f'ClientError: No S3 objects found under S3 URL "{empty}" given in input data source.'), reason
    lister = execution_role(iam, s3_actions=("s3:ListBucket", "s3:PutObject"))
    reason = failed(start([channel("train", f"s3://{BUCKET}/{prefix}/x.bin")], plan={"train": {"epochs": 1}}, role=lister))
    assert reason.startswith(f"Could not read the data of channel train: the execution role {lister} is not authorized to perform s3:GetObject"
                             f" on resource arn:aws:s3:::{BUCKET}/{prefix}/x.bin"), reason
    missing = put(f"{prefix}/missing.manifest", json.dumps([{"prefix": f"s3://{BUCKET}/{prefix}/"}, "x.bin", "gone.bin"]).encode())
    eq(failed(start([channel("train", missing, "ManifestFile")], plan={"train": {"epochs": 1}})),
       f"ClientError: Could not read the data of channel train: s3://{BUCKET}/{prefix}/gone.bin does not exist", "a manifest's missing object")
    eq(failed(start([channel("train", manifest, "AugmentedManifestFile", AttributeNames=["source-ref", "labels"])], plan={"train": {"epochs": 1}})),
       f"ClientError: line 1 of the augmented manifest {manifest} (channel train) has no attribute labels, which AttributeNames lists", "a missing attribute")
    # An object that is not gzip data is found only as it streams: the container is stopped and the job fails.
    plain = put(f"{prefix}/plain/rows.csv", b"this is plain text, not gzip data\n" * 10)
    reason = failed(start([channel("train", plain, CompressionType="Gzip")], plan={"train": {"epochs": 1}}))
    assert reason.startswith(f"ClientError: {plain} of channel train is not gzip data (CompressionType Gzip)"), reason


def test_a_job_whose_container_never_opens_its_pipes_completes():
    prefix = unique("ignored")
    put(f"{prefix}/a", b"a" * 100_000)
    job = finished(start([channel("train", f"s3://{BUCKET}/{prefix}/"), channel("other", f"s3://{BUCKET}/{prefix}/")], mode="ignore"))
    eq((job["TrainingJobStatus"], job["SecondaryStatus"]), ("Completed", "Completed"), f"status ({job.get('FailureReason')})")


def test_stop_training_job_ends_a_job_whose_container_has_stopped_reading():
    prefix = unique("blocked")
    # More than a pipe holds, so that the writer waits for a reader that no longer reads; the
    # other channel's writer waits for a reader that never comes.
    put(f"{prefix}/big", random.Random(3).randbytes(1 << 20))
    name = start([channel("train", f"s3://{BUCKET}/{prefix}/"), channel("other", f"s3://{BUCKET}/{prefix}/")], mode="block", channel="train")
    until("the container blocked", lambda: any("blocked on the pipe" in e["message"] for s in logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/")["logStreams"]
        for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=s["logStreamName"])["events"]), 60)
    sm.stop_training_job(TrainingJobName=name)
    job = finished(name)
    eq((job["TrainingJobStatus"], job["SecondaryStatus"]), ("Stopped", "Stopped"), "stopped")


run(globals())
