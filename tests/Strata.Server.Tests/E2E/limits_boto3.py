"""Limits, as AWS keeps them, through an unmodified boto3 (1.43 and Debian's 1.26), on a server
with the default limits.

InvokeEndpoint carries at most 6 MiB (6 291 456 bytes, the model's bound on Body) each way: a
model that answers more gets ModelError ("could not load the entire response body"), read no
further than the limit; a larger request gets ValidationError ("oversize body"). Instance counts
are held against their limit when instances are asked for (CreateEndpoint, UpdateEndpoint,
UpdateEndpointWeightsAndCapacities), not when an endpoint configuration is made, and the error
names the `strata serve --limit` that changes the limit (limits_configured_boto3.py changes them)."""
import http.client
import json
from urllib.parse import urlparse

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

from harness import client, deploy_byoc, endpoint, eq, execution_role, expect_error, run, unique, until, validate_responses

LIMIT = 6 * 1024 * 1024  # 6 MB as AWS counts it: the model's bound on InvokeEndpoint's Body
sm = validate_responses(client("sagemaker"))
iam = client("iam")
# Reading 6 MB from a container of one's own on a loaded machine may take more than boto3's 60 s.
rt = validate_responses(boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1",
                                     config=Config(retries={"max_attempts": 1}, read_timeout=120)))
ENDPOINT = deploy_byoc(sm, iam)
DIGITS = b"0123456789"


def invoke(body, content_type="text/plain"):
    return rt.invoke_endpoint(EndpointName=ENDPOINT, Body=body, ContentType=content_type)["Body"].read()


def expect_digits(body, n):
    eq(len(body), n, "length of the answer")
    assert body == (DIGITS * (n // 10 + 1))[:n], "the answer arrives byte for byte"


def still_answers():
    """The instance answers the next request whole: the connection that carried a refused answer
    was not put back in the middle of its body."""
    eq(json.loads(invoke(b"after"))["echo"], "after", "the next answer")


def test_response_up_to_the_limit_is_returned_whole():
    expect_digits(invoke(f"bytes {LIMIT}".encode()), LIMIT)
    expect_digits(invoke(f"chunked {LIMIT}".encode()), LIMIT)


def test_response_over_the_limit_is_a_model_error():
    for command in (f"bytes {LIMIT + 1}", f"chunked {LIMIT + 1}"):
        e = expect_error(lambda: invoke(command.encode()), "ModelError", 424, "Received response (200) from primary and could not load the entire response body")
        assert str(LIMIT) in e["Error"]["Message"], e["Error"]["Message"]
        eq(e["OriginalStatusCode"], 200, "the container's status")
        # The instance's own stream, which its log lines go to (and the message names with the file).
        assert f":log-group:/aws/sagemaker/Endpoints/{ENDPOINT}:log-stream:main/i-" in e["LogStreamArn"], e["LogStreamArn"]
        assert "See the log stream main/i-" in e["Error"]["Message"], e["Error"]["Message"]
        still_answers()


def test_error_answer_over_the_limit():
    e = expect_error(lambda: invoke(f"fail-bytes {LIMIT + 1}".encode()), "ModelError", 424,
                     "Received server error (500) from primary and could not load the entire response body")
    eq(e["OriginalStatusCode"], 500, "the container's status")
    still_answers()


def test_response_is_read_no_further_than_the_limit():
    # A body that never ends can only be answered if reading stops at the limit: read whole, it
    # would end in the 60 s timeout's error instead.
    expect_error(lambda: invoke(b"endless"), "ModelError", 424, "could not load the entire response body")
    still_answers()
    # A Content-Length over the limit is refused unread: its body never comes.
    expect_error(lambda: invoke(f"declare {50 * 1024 * 1024}".encode()), "ModelError", 424, "could not load the entire response body")
    still_answers()


def test_request_up_to_the_limit():
    eq(json.loads(invoke(b"x" * LIMIT, "application/x-length"))["length"], LIMIT, "what the container received")


def test_request_over_the_limit_is_refused():
    for size in (LIMIT + 1, 20 * 1024 * 1024):
        e = expect_error(lambda: invoke(b"x" * size, "application/x-length"), "ValidationError", 400, "has oversize body")
        assert f"{size} bytes" in e["Error"]["Message"] and str(LIMIT) in e["Error"]["Message"], e["Error"]["Message"]
    still_answers()


def chunked_invoke(size):
    """InvokeEndpoint signed by botocore and sent with Transfer-Encoding: chunked (no
    Content-Length), as a client streaming its body would: the limit holds as the body is read."""
    url = f"{endpoint()}/endpoints/{ENDPOINT}/invocations"
    body = b"x" * size
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/x-length"})
    SigV4Auth(boto3.Session().get_credentials(), "sagemaker", "us-east-1").add_auth(request)
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}

    def chunks():
        for at in range(0, size, 1 << 20):
            yield body[at:at + (1 << 20)]
    connection.request("POST", parsed.path, body=chunks(), headers=headers, encode_chunked=True)
    response = connection.getresponse()
    return response.status, response.getheader("x-amzn-ErrorType"), json.loads(response.read())


def test_chunked_request_over_the_limit_is_refused():
    status, _, answer = chunked_invoke(LIMIT)
    eq((status, answer), (200, {"length": LIMIT}), "a chunked request of 6 MB")
    status, error_type, answer = chunked_invoke(LIMIT + 1)
    eq((status, error_type.split(":")[0]), (400, "ValidationError"), "a chunked request over 6 MB")
    assert "has oversize body" in answer["message"], answer


def test_instance_limit_is_held_at_create_endpoint():
    model = sm.describe_endpoint_config(EndpointConfigName=ENDPOINT)["ProductionVariants"][0]["ModelName"]
    big = unique("c")
    # AWS makes the configuration: instances are counted when they are asked for.
    sm.create_endpoint_config(EndpointConfigName=big, ProductionVariants=[
        {"VariantName": "wide", "ModelName": model, "InitialInstanceCount": 33, "InstanceType": "ml.m5.large"}])
    eq(sm.describe_endpoint_config(EndpointConfigName=big)["ProductionVariants"][0]["InitialInstanceCount"], 33, "kept")
    name = unique("ep")
    e = expect_error(lambda: sm.create_endpoint(EndpointName=name, EndpointConfigName=big), "ResourceLimitExceeded", 400,
                     "'ml.m5.large for endpoint usage' is 32 Instances per production variant, and variant wide asks for 33 Instances")
    message = e["Error"]["Message"]
    assert "strata serve --limit instances-per-variant=N" in message and "Service Quotas" not in message, message
    expect_error(lambda: sm.describe_endpoint(EndpointName=name), "ValidationException", 400)  # not made
    # Nor by updating a running endpoint to it, or its variant to as many.
    expect_error(lambda: sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=big), "ResourceLimitExceeded", 400, "--limit instances-per-variant=N")
    expect_error(lambda: sm.update_endpoint_weights_and_capacities(EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[
        {"VariantName": "main", "DesiredInstanceCount": 33}]), "ResourceLimitExceeded", 400,
        "'ml.t2.medium for endpoint usage' is 32 Instances per production variant, and variant main asks for 33 Instances")
    d = sm.describe_endpoint(EndpointName=ENDPOINT)
    eq((d["EndpointStatus"], d["EndpointConfigName"], d["ProductionVariants"][0]["DesiredInstanceCount"]), ("InService", ENDPOINT, 1), "unchanged")


def test_a_bad_limit_option_stops_the_server():
    import os
    import subprocess
    import tempfile
    data = tempfile.mkdtemp()
    for option, words in (("nothing=3", "no limit is called nothing"), ("instances-per-variant=0", "expected instances-per-variant=N"),
                          ("instances-per-variant", "expected instances-per-variant=N")):
        done = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "serve", "--data-dir", data, "--port", "0", "--limit", option],
                              capture_output=True, text=True, timeout=120)
        eq(done.returncode, 2, f"--limit {option}: exit status")
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    # The help names every limit with its default (words only: the help is wrapped to the terminal).
    words = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "serve", "--help"], capture_output=True, text=True, check=True).stdout.split()
    for name, default in (("instances-per-variant", "32)"), ("transform-instances", "32)"), ("training-instances", "16)"),
                          ("tuning-training-jobs", "750)"), ("tuning-parallel-training-jobs", "10)"), ("concurrent-tuning-jobs", "100)")):
        at = words.index(name)
        assert default in [w.rstrip(",") for w in words[at:at + 12]], f"{name} {default}: {words[at:at + 12]}"


run(globals())
