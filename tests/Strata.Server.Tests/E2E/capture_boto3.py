"""Model Monitor's data capture end to end, on a server whose clock the test drives
(FakeClockServer.cs): DataCaptureConfig on CreateEndpointConfig as AWS checks and describes it,
DescribeEndpoint's capture summary, and the records InvokeEndpoint (and
InvokeEndpointWithResponseStream) leave in S3 once the minute's flush has run: AWS's JSON lines
under {DestinationS3Uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/{mm}-{ss}-{fff}-{uuid}.jsonl, sampled,
CSV and JSON kept as text and anything else base64, written as the model's execution role (with
its KMS key when the configuration names one). UpdateEndpoint turns capture on and off.

botocore 1.29 (Debian's boto3 1.26) has no InvokeEndpointWithResponseStream in its model: with it
the streaming call is signed by its own SigV4 signer and decoded by its event-stream decoder."""
import datetime
import io
import json
import os
import re
import struct
import tarfile
import urllib.parse

import boto3
from botocore.config import Config

from harness import advance, endpoint, eq, expect_error, run, server_time, unique, until, validate_responses, SAGEMAKER_TRUST

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1"
cfg = Config(retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
rt = validate_responses(boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
kms = boto3.client("kms", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
MODELLED_STREAM = "InvokeEndpointWithResponseStream" in rt.meta.service_model.operation_names

BUCKET = unique("capture")
s3.create_bucket(Bucket=BUCKET)
CSV_JSON = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}
FILE_NAME = re.compile(r"^\d{2}-\d{2}-\d{3}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def role(actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"), kms_actions=("kms:Decrypt", "kms:GenerateDataKey")):
    name = unique("capture-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=SAGEMAKER_TRUST)["Role"]["Arn"]
    statements = [{"Effect": "Allow", "Action": list(actions), "Resource": "arn:aws:s3:::*"}]
    if kms_actions:
        statements.append({"Effect": "Allow", "Action": list(kms_actions), "Resource": "*"})
    iam.put_role_policy(RoleName=name, PolicyName="capture", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return arn


ROLE = role()


def artifact():
    key = f"classifier/{unique('v')}/model.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, "classifier", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{BUCKET}/{key}"


ARTIFACT = artifact()


def capture(prefix, percentage=100, modes=("Input", "Output"), header=CSV_JSON, **extra):
    config = {"EnableCapture": True, "InitialSamplingPercentage": percentage, "DestinationS3Uri": f"s3://{BUCKET}/{prefix}",
              "CaptureOptions": [{"CaptureMode": m} for m in modes], **extra}
    if header is not None:
        config["CaptureContentTypeHeader"] = header
    return config


def config(data_capture=None, role_arn=None):
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=role_arn or ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": ARTIFACT})
    name = unique("c")
    args = {"EndpointConfigName": name, "ProductionVariants": [
        {"VariantName": "main", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}]}
    if data_capture is not None:
        args["DataCaptureConfig"] = data_capture
    sm.create_endpoint_config(**args)
    return name


def deploy(data_capture=None, role_arn=None):
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config(data_capture, role_arn))
    until("the endpoint in service", lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService", 120)
    return name


def invoke(name, body=b"[[1,2,3,4]]", content_type="application/json", **kw):
    r = rt.invoke_endpoint(EndpointName=name, Body=body, ContentType=content_type, **kw)
    return r["ContentType"], r["Body"].read()


def keys(prefix):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def flushed(prefix, expect=True):
    """Lets the minute pass (the writer flushes every minute of the server's clock) and returns
    the records under `prefix` once there are some."""
    advance(61)
    if expect:
        until(f"captures under {prefix}", lambda: keys(prefix), 60)
    return records(prefix)


def records(prefix):
    out = []
    for key in sorted(keys(prefix)):
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        assert body.endswith("\n"), f"{key}: JSON lines end with a newline"
        out += [json.loads(line) for line in body.splitlines()]
    return out


def npy(values):
    """A float32 NumPy array of one row, as numpy.save writes it (format 1.0)."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': (1, {len(values)}), }}"
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack(f"<{len(values)}f", *values)


def test_config_described_and_summarised():
    prefix = unique("described")
    data_capture = capture(prefix, 37, ("Input", "Output"), KmsKeyId="alias/capture-key")
    name = config(data_capture)
    eq(sm.describe_endpoint_config(EndpointConfigName=name)["DataCaptureConfig"], data_capture, "DescribeEndpointConfig")
    # EnableCapture defaults to true; no content type header is answered as none.
    # InputAndOutput is newer than botocore 1.29's model.
    both = [{"CaptureMode": "InputAndOutput"}] if "InputAndOutput" in sm.meta.service_model.shape_for("CaptureMode").enum else [{"CaptureMode": "Output"}]
    bare = {"InitialSamplingPercentage": 5, "DestinationS3Uri": f"s3://{BUCKET}/{prefix}", "CaptureOptions": both}
    described = sm.describe_endpoint_config(EndpointConfigName=config(bare))["DataCaptureConfig"]
    eq(described, {**bare, "EnableCapture": True}, "defaults")
    ep = unique("ep")
    sm.create_endpoint(EndpointName=ep, EndpointConfigName=name)
    until("the endpoint in service", lambda: sm.describe_endpoint(EndpointName=ep)["EndpointStatus"] == "InService", 120)
    eq(sm.describe_endpoint(EndpointName=ep)["DataCaptureConfig"], {
        "EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 37,
        "DestinationS3Uri": f"s3://{BUCKET}/{prefix}", "KmsKeyId": "alias/capture-key"}, "DescribeEndpoint's summary")
    plain = deploy()
    assert "DataCaptureConfig" not in sm.describe_endpoint(EndpointName=plain), "an endpoint without capture has no summary"
    sm.delete_endpoint(EndpointName=ep)
    sm.delete_endpoint(EndpointName=plain)


def test_bad_configs():
    prefix = unique("bad")

    def create(data_capture, serverless=False):
        model = unique("m")
        sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": ARTIFACT})
        variant = {"VariantName": "main", "ModelName": model}
        variant.update({"ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}} if serverless else {"InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"})
        return lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=[variant], DataCaptureConfig=data_capture)

    expect_error(create(capture(prefix, 101)), "ValidationException", 400,
                 "Value '101' at 'dataCaptureConfig.initialSamplingPercentage' failed to satisfy constraint: Member must have value less than or equal to 100")
    expect_error(create({**capture(prefix), "CaptureOptions": [{"CaptureMode": "Everything"}]}), "ValidationException", 400,
                 "Member must satisfy enum value set: [Input, Output, InputAndOutput]")
    expect_error(create({**capture(prefix), "DestinationS3Uri": "ftp://somewhere/else"}), "ValidationException", 400,
                 "at 'dataCaptureConfig.destinationS3Uri' failed to satisfy constraint: Member must satisfy regular expression pattern")
    expect_error(create(capture(prefix, header={"CsvContentTypes": ["not a content type"]})), "ValidationException", 400,
                 "failed to satisfy constraint: Member must satisfy regular expression pattern")
    expect_error(create({**capture(prefix), "KmsKeyId": "key with spaces"}), "ValidationException", 400, "dataCaptureConfig.kmsKeyId")
    expect_error(create(capture(prefix), serverless=True), "ValidationException", 400, "DataCaptureConfig is not supported for serverless endpoints.")


def test_records_exact_shape_at_100_percent():
    prefix = unique("shape")
    name = deploy(capture(prefix))
    before = server_time()
    eq(invoke(name, b"[[1,2,3,4]]", InferenceId="order-42")[0], "application/json", "the answer's type")
    _, answer = invoke(name, b"1,2,3,4\n", "text/csv", Accept="text/csv")
    got = flushed(f"{prefix}/{name}/main/")
    eq(len(got), 2, "one record per invocation")
    key = keys(f"{prefix}/{name}/main/")[0]
    t = datetime.datetime.fromtimestamp(before, datetime.timezone.utc)
    assert key.startswith(f"{prefix}/{name}/main/{t:%Y/%m/%d/%H}/"), key
    assert FILE_NAME.match(key.rsplit("/", 1)[1]), key
    first, second = got
    eq(sorted(first), ["captureData", "eventMetadata", "eventVersion"], "members")
    eq(first["eventVersion"], "0", "eventVersion")
    eq(first["captureData"]["endpointInput"], {"observedContentType": "application/json", "mode": "INPUT", "data": "[[1,2,3,4]]", "encoding": "JSON"}, "input")
    output = first["captureData"]["endpointOutput"]
    eq((output["observedContentType"], output["mode"], output["encoding"]), ("application/json", "OUTPUT", "JSON"), "output")
    json.loads(output["data"])
    meta = first["eventMetadata"]
    eq(sorted(meta), ["eventId", "inferenceId", "inferenceTime"], "eventMetadata")
    eq(meta["inferenceId"], "order-42", "inferenceId from the InferenceId header")
    assert UUID.match(meta["eventId"]), meta
    when = datetime.datetime.strptime(meta["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    assert before - 1 <= when <= before + 1, (meta["inferenceTime"], before)
    eq(second["captureData"]["endpointInput"], {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3,4\n", "encoding": "CSV"}, "CSV input")
    eq(second["captureData"]["endpointOutput"], {"observedContentType": "text/csv", "mode": "OUTPUT", "data": answer.decode(), "encoding": "CSV"}, "CSV output")
    assert "inferenceId" not in second["eventMetadata"], "no InferenceId, no inferenceId"
    assert first["eventMetadata"]["eventId"] != second["eventMetadata"]["eventId"], "event ids differ"


def test_binary_and_unlisted_types_are_base64():
    import base64
    prefix = unique("binary")
    name = deploy(capture(prefix, header={"CsvContentTypes": ["text/csv"]}))
    body = npy([1, 2, 3, 4])
    _, answer = invoke(name, body, "application/x-npy", Accept="application/json")
    invoke(name, b"[[1,2,3,4]]", "application/json")
    first, second = flushed(f"{prefix}/{name}/")
    eq(first["captureData"]["endpointInput"], {"observedContentType": "application/x-npy", "mode": "INPUT",
                                               "data": base64.b64encode(body).decode(), "encoding": "BASE64"}, "npy input")
    eq(first["captureData"]["endpointOutput"]["encoding"], "BASE64", "JSON not listed: base64")
    eq(base64.b64decode(first["captureData"]["endpointOutput"]["data"]), answer, "the answer, base64")
    eq(second["captureData"]["endpointInput"]["encoding"], "BASE64", "application/json not listed")
    eq(base64.b64decode(second["captureData"]["endpointInput"]["data"]), b"[[1,2,3,4]]", "the body, base64")


def test_input_only_and_output_only():
    p_in, p_out = unique("input"), unique("output")
    only_in, only_out = deploy(capture(p_in, modes=("Input",))), deploy(capture(p_out, modes=("Output",)))
    invoke(only_in)
    invoke(only_out)
    advance(61)
    until("both flushed", lambda: keys(p_in) and keys(p_out), 60)
    [a], [b] = records(p_in), records(p_out)
    eq(sorted(a["captureData"]), ["endpointInput"], "Input only")
    eq(sorted(b["captureData"]), ["endpointOutput"], "Output only")


def test_sampling_0_50_100():
    p0, p50, p100 = unique("none"), unique("half"), unique("all")
    none, half, everything = deploy(capture(p0, 0)), deploy(capture(p50, 50)), deploy(capture(p100, 100))
    n = 200
    for _ in range(n):
        invoke(half)
    for _ in range(20):
        invoke(none)
        invoke(everything)
    advance(61)
    # One flush writes every variant's records: once the 100 % one's are there, so are the others'.
    until("the 100 % endpoint's captures", lambda: len(records(p100)) == 20, 60)
    until("the 50 % endpoint's captures", lambda: keys(p50), 60)
    eq(keys(p0), [], "0 % captures nothing")
    got = len(records(p50))
    # Binomial(200, 0.5): σ ≈ 7.1; 60..140 is ±5.6σ.
    assert 60 <= got <= 140, f"50 % sampled {got} of {n}"


def test_update_endpoint_turns_capture_on_and_off():
    prefix = unique("toggle")
    name = deploy()
    invoke(name)

    def update(config_name, summary):
        sm.update_endpoint(EndpointName=name, EndpointConfigName=config_name)
        until("the update in service", lambda: (lambda d: d["EndpointStatus"] == "InService" and d["EndpointConfigName"] == config_name)(
            sm.describe_endpoint(EndpointName=name)), 120)
        eq(sm.describe_endpoint(EndpointName=name).get("DataCaptureConfig"), summary, "summary after the update")

    update(config(capture(prefix)), {"EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 100,
                                     "DestinationS3Uri": f"s3://{BUCKET}/{prefix}"})
    invoke(name)
    invoke(name)
    eq(len(flushed(f"{prefix}/{name}/")), 2, "captured once on")
    update(config({**capture(prefix), "EnableCapture": False}), {"EnableCapture": False, "CaptureStatus": "Stopped", "CurrentSamplingPercentage": 100,
                                                                  "DestinationS3Uri": f"s3://{BUCKET}/{prefix}"})
    invoke(name)
    sentinel = unique("sentinel")
    invoke(deploy(capture(sentinel)))
    advance(61)
    until("the sentinel's captures", lambda: keys(sentinel), 60)
    eq(len(records(f"{prefix}/{name}/")), 2, "nothing more once off")


def test_kms_encrypted_captures_read_back():
    prefix = unique("kms")
    key = kms.create_key(Description="captures")["KeyMetadata"]
    name = deploy(capture(prefix, KmsKeyId=key["KeyId"]))
    invoke(name, InferenceId="sealed")
    [record] = flushed(f"{prefix}/{name}/")
    eq(record["eventMetadata"]["inferenceId"], "sealed", "readable through GetObject")
    head = s3.head_object(Bucket=BUCKET, Key=keys(f"{prefix}/{name}/")[0])
    eq((head["ServerSideEncryption"], head["SSEKMSKeyId"]), ("aws:kms", key["Arn"]), "encrypted with the configuration's key")


def test_role_without_put_object_drops_captures_and_keeps_serving():
    prefix, sentinel = unique("denied"), unique("sentinel")
    name = deploy(capture(prefix), role_arn=role(actions=("s3:GetObject",)))
    for _ in range(3):
        eq(invoke(name)[0], "application/json", "served though its captures cannot be written")
    invoke(deploy(capture(sentinel)))
    advance(61)
    until("the sentinel's captures", lambda: keys(sentinel), 60)
    eq(keys(prefix), [], "nothing written without s3:PutObject")
    eq(invoke(name)[0], "application/json", "still serving")


def invoke_stream(name, body, content_type):
    """The streamed answer, joined: through boto3's own call, or signed and decoded by botocore's parts."""
    if MODELLED_STREAM:
        # Not the validating client: the harness's checker knows no event streams.
        plain = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
        r = plain.invoke_endpoint_with_response_stream(EndpointName=name, Body=body, ContentType=content_type, Accept="application/json")
        return b"".join(e["PayloadPart"]["Bytes"] for e in r["Body"])
    import http.client
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.eventstream import EventStreamBuffer
    url = f"{endpoint()}/endpoints/{urllib.parse.quote(name)}/invocations-response-stream"
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": content_type, "X-Amzn-SageMaker-Accept": "application/json"})
    SigV4Auth(boto3.Session().get_credentials(), "sagemaker", "us-east-1").add_auth(request)
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", parts.path, body=body, headers=dict(request.headers.items()))
    response = conn.getresponse()
    eq(response.status, 200, "status")
    buffer = EventStreamBuffer()
    buffer.add_data(response.read())
    return b"".join(m.payload for m in buffer if m.headers[":event-type"] == "PayloadPart")


def test_streamed_invocations_are_captured():
    prefix = unique("stream")
    name = deploy(capture(prefix))
    answer = invoke_stream(name, b"[[1,2,3,4]]", "application/json")
    [record] = flushed(f"{prefix}/{name}/")
    eq(record["captureData"]["endpointInput"]["data"], "[[1,2,3,4]]", "input")
    eq((record["captureData"]["endpointOutput"]["data"], record["captureData"]["endpointOutput"]["encoding"]), (answer.decode(), "JSON"), "the whole streamed answer")


def test_transform_job_capture_manifests():
    prefix, data = unique("batch"), unique("batch-data")
    s3.put_object(Bucket=BUCKET, Key=f"{data}/in/a.csv", Body=b"1,2,3,4\n5,6,7,8\n")
    s3.put_object(Bucket=BUCKET, Key=f"{data}/in/b.csv", Body=b"1,1,1,1\n")
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": ARTIFACT})
    job = unique("tj")
    common = dict(ModelName=model, TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{data}/in/"}},
                                                   "ContentType": "text/csv", "SplitType": "Line"},
                  TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{data}/out", "Accept": "text/csv", "AssembleWith": "Line"},
                  TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    expect_error(lambda: sm.create_transform_job(TransformJobName=unique("tj"), **common, DataCaptureConfig={
        "DestinationS3Uri": f"s3://{BUCKET}/{prefix}", "GenerateInferenceId": True}), "ValidationException", 400, "GenerateInferenceId is not supported")
    key = kms.create_key(Description="batch captures")["KeyMetadata"]
    data_capture = {"DestinationS3Uri": f"s3://{BUCKET}/{prefix}", "KmsKeyId": key["KeyId"]}
    sm.create_transform_job(TransformJobName=job, **common, DataCaptureConfig=data_capture)
    until("the job to end", lambda: sm.describe_transform_job(TransformJobName=job)["TransformJobStatus"] in ("Completed", "Failed"), 120)
    described = sm.describe_transform_job(TransformJobName=job)
    eq((described["TransformJobStatus"], described.get("FailureReason")), ("Completed", None), "the job")
    eq(described["DataCaptureConfig"], data_capture, "DescribeTransformJob")
    start = described["TransformStartTime"].astimezone(datetime.timezone.utc)
    for kind, manifest_prefix, entries in (("input", f"s3://{BUCKET}/{data}/in/", ["a.csv", "b.csv"]),
                                           ("output", f"s3://{BUCKET}/{data}/out/", ["a.csv.out", "b.csv.out"])):
        [key_name] = keys(f"{prefix}/{kind}/")
        assert key_name.startswith(f"{prefix}/{kind}/{start:%Y/%m/%d/%H}/"), key_name
        assert FILE_NAME.match(key_name.rsplit("/", 1)[1]), key_name
        obj = s3.get_object(Bucket=BUCKET, Key=key_name)
        eq(obj["ServerSideEncryption"], "aws:kms", f"{kind} manifest encrypted")
        eq(json.loads(obj["Body"].read()), [{"prefix": manifest_prefix}] + entries, f"{kind} manifest")
    # The manifests name objects that exist.
    for entry in ["a.csv.out", "b.csv.out"]:
        s3.head_object(Bucket=BUCKET, Key=f"{data}/out/{entry}")


run(globals())
