"""Errors that locate the bad data, through an unmodified boto3 (and the aws CLI for the logs):
a malformed CSV or JSON Lines payload names its line, column and value; a ModelError's
LogStreamArn names the instance's stream in Strata's CloudWatch Logs, which holds the refusal;
an endpoint that exists but is not InService says its status (and a Failed one why); a model
artifact that is not a gzip-compressed tar says what it is; a batch transform failure names the
input object, its records and lines, and the record at fault."""
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile

import boto3
from botocore.config import Config

from harness import endpoint, eq, execution_role, expect_error, run, unique, until, validate_responses

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
IMAGE = "strata-onnx:latest"
cfg = Config(retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
rt = validate_responses(boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
logs = boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
ACCOUNT = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg).get_caller_identity()["Account"]
BUCKET = unique("located")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:ListBucket", "s3:PutObject"))


def upload(key, body):
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def tar_gz(*members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def regression_model(url=None):
    if url is None:
        with open(os.path.join(MODELS, "regression", "model.onnx"), "rb") as f:
            url = upload(f"models/{unique('regression')}/model.tar.gz", tar_gz(("model.onnx", f.read())))
    name = unique("m")
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
    return name


def create_endpoint(model_name):
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "main", "ModelName": model_name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    return name


def deploy(url=None):
    """An endpoint of the regression model (input 'features', float [N,4]), once made."""
    name = create_endpoint(regression_model(url))
    until("the endpoint made", lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "Creating", 60)
    return name


ENDPOINT = deploy()


def model_error(body, content_type):
    e = expect_error(lambda: rt.invoke_endpoint(EndpointName=ENDPOINT, Body=body, ContentType=content_type), "ModelError", 424)
    eq(e["OriginalStatusCode"], 400, "the container's status")
    return e, json.loads(e["OriginalMessage"])["message"]


def test_a_malformed_csv_row_is_named_by_line_column_and_value():
    _, message = model_error(b"1,2,3,4\n\n5,6,oops,8\n", "text/csv")
    eq(message, "input 'features' expects float values, but line 3, column 3 of the CSV payload is \"oops\"", "the worker's message")
    _, message = model_error(b"1,2,3,4\n1,2,3\n", "text/csv")
    eq(message, "every CSV row must have 4 columns, as the first one has, but line 2 has 3", "a short row")
    _, message = model_error(b"1,2,3," + b"y" * 200, "text/csv")
    assert message.endswith(f'line 1, column 4 of the CSV payload is "{"y" * 40}…"'), message


def test_a_malformed_json_lines_record_is_named_by_line():
    _, message = model_error(b'[1,2,3,4]\n[1,"two",3,4]\n', "application/jsonlines")
    eq(message, "input 'features' expects float values, but value 2 of record 2 (line 2) is \"two\"", "the worker's message")
    _, message = model_error(b'{"instances": [[1,2,3,4], [5,6,7,false]]}', "application/json")
    eq(message, "input 'features' expects float values, but value 4 of record 2 is false", "a JSON document's record")


def test_the_log_stream_arn_names_the_stream_that_holds_the_error():
    e, message = model_error(b"1,2,3,4\n9,9,9,nine\n", "text/csv")
    group = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    arn = e["LogStreamArn"]
    m = re.fullmatch(rf"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{re.escape(group)}:log-stream:(main/i-[0-9a-f]{{17}})", arn)
    assert m, f"not the ARN of an instance's stream of {group}: {arn}"
    stream = m.group(1)
    # The error's own message points at the same stream and at the instance's log file.
    assert f"See the log stream {stream} of {group} in account {ACCOUNT} (the file " in e["Error"]["Message"], e["Error"]["Message"]
    path = re.search(r"\(the file ([^)]+)\)", e["Error"]["Message"]).group(1)
    assert path.endswith(f"/{ENDPOINT}/{stream}.log"), path

    def logged(messages):
        return any('answered 400: input \'features\' expects float values, but line 2, column 4 of the CSV payload is "nine"' in m for m in messages)

    # Read with the aws CLI, by the names the ARN gives.
    def cli_events():
        out = subprocess.run(["aws", "--endpoint-url", endpoint(), "logs", "get-log-events", "--log-group-name", group,
                              "--log-stream-name", stream, "--output", "json"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return [ev["message"] for ev in json.loads(out.stdout)["events"]]
    until("the refusal in the stream the ARN names", lambda: logged(cli_events()), 30)
    # And through boto3, with the ARN's own names.
    events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    assert logged([ev["message"] for ev in events]), events
    with open(path) as f:
        assert logged(f.read().splitlines()), f"the log file {path} does not hold the refusal"


def test_a_failed_endpoint_is_not_in_service_and_says_why():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("model.onnx", b"x")
    data = buffer.getvalue()
    url = upload("zipped/model.tar.gz", data)
    name = deploy(url)
    d = sm.describe_endpoint(EndpointName=name)
    eq(d["EndpointStatus"], "Failed", "status")
    reason = f"the model artifact {url} ({len(data)} bytes) is a zip archive, not a gzip-compressed tar archive (model.tar.gz)"
    eq(d["FailureReason"], reason, "FailureReason")
    expect_error(lambda: rt.invoke_endpoint(EndpointName=name, Body=b"1,2,3,4", ContentType="text/csv"), "ValidationError", 400,
                 f"Endpoint {name} of account {ACCOUNT} is not in service: its status is Failed ({reason}).")


def test_artifacts_that_are_not_tarballs_are_named():
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("model.onnx"), io.BytesIO(b""))
    cases = [
        (b"this model is plain text\n", "is plain text, not a gzip-compressed tar archive (model.tar.gz)"),
        (gzip.compress(b"a gzipped text file, not a tar\n"),
         "is gzip-compressed, but what it holds is plain text, not a tar archive; expected a gzip-compressed tar archive (model.tar.gz)"),
        (plain.getvalue(), "is an uncompressed tar archive, not a gzip-compressed tar archive (model.tar.gz)"),
    ]
    for data, what in cases:
        url = upload(f"{unique('bad')}/model.tar.gz", data)
        d = sm.describe_endpoint(EndpointName=deploy(url))
        eq((d["EndpointStatus"], d["FailureReason"]), ("Failed", f"the model artifact {url} ({len(data)} bytes) {what}"), "failure")


def test_a_creating_endpoint_is_not_in_service():
    # A container of one's own that takes its time to start (it never answers /ping, and leaves
    # after 30 s): the endpoint stays Creating past CreateEndpoint's answer.
    image = f"registry.example.com/team/slow:{unique('v')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                    sys.executable, "-c", "import time; time.sleep(30)"], check=True, capture_output=True)
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})
    name = create_endpoint(model)
    eq(sm.describe_endpoint(EndpointName=name)["EndpointStatus"], "Creating", "status")
    expect_error(lambda: rt.invoke_endpoint(EndpointName=name, Body=b"x", ContentType="text/csv"), "ValidationError", 400,
                 f"Endpoint {name} of account {ACCOUNT} is not in service: its status is Creating.")
    sm.delete_endpoint(EndpointName=name)


def test_a_missing_endpoint_keeps_aws_message():
    name = unique("nothing")
    e = expect_error(lambda: rt.invoke_endpoint(EndpointName=name, Body=b"x", ContentType="text/csv"), "ValidationError", 400)
    eq(e["Error"]["Message"], f"Endpoint {name} of account {ACCOUNT} not found.", "message")


def transform(model_name, input_uri, strategy="MultiRecord"):
    name = unique("job")
    sm.create_transform_job(TransformJobName=name, ModelName=model_name, BatchStrategy=strategy,
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
                                            "ContentType": "text/csv", "SplitType": "Line"},
                            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}/", "Accept": "text/csv", "AssembleWith": "Line"},
                            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    until("the job ended", lambda: sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"] in ("Completed", "Failed", "Stopped"), 120)
    return sm.describe_transform_job(TransformJobName=name)


BAD_CSV = "".join(f"{i},1,1,1\n" for i in range(10)) + "\n" + "1,oops,1,1\n" + "".join(f"{i},2,2,2\n" for i in range(8))
"""Records 1-10 on lines 1-10, a blank line 11, record 11 (the bad one) on line 12, records 12-19 on lines 13-20."""


def test_a_transform_failure_names_the_object_its_records_and_lines():
    model = regression_model()
    uri = upload(f"in-{unique('multi')}/bad.csv", BAD_CSV.encode())
    d = transform(model, uri.rsplit("/", 1)[0] + "/")
    eq(d["TransformJobStatus"], "Failed", "status")
    eq(d["FailureReason"], f"the model answered 400 for records 1-19 (lines 1-20) of {uri}; record 11 (line 12) is at fault: "
       "input 'features' expects float values, but line 12, column 2 of the CSV payload is \"oops\"", "FailureReason")
    # One record a request: the request is the record.
    single = transform(model, uri.rsplit("/", 1)[0] + "/", "SingleRecord")
    eq(single["FailureReason"], f"the model answered 400 for record 11 (line 12) of {uri}: "
       "input 'features' expects float values, but line 1, column 2 of the CSV payload is \"oops\"", "FailureReason")


def test_a_transform_whose_model_is_not_a_tarball_says_what_it_is():
    url = upload(f"{unique('txt')}/model.tar.gz", b"not a model\n")
    uri = upload(f"in-{unique('ok')}/rows.csv", b"1,2,3,4\n")
    d = transform(regression_model(url), uri.rsplit("/", 1)[0] + "/")
    eq((d["TransformJobStatus"], d["FailureReason"]),
       ("Failed", f"the model artifact {url} (12 bytes) is plain text, not a gzip-compressed tar archive (model.tar.gz)"), "failure")


if __name__ == "__main__":
    run(globals())
