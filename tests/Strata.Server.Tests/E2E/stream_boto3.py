"""InvokeEndpointWithResponseStream end to end: the container's answer arrives as event-stream
PayloadPart events while the container is still writing it, a container that breaks off mid-body
ends the stream with a ModelStreamError event, and the errors before the stream are
InvokeEndpoint's.

botocore 1.29 (Debian's boto3 1.26) has no InvokeEndpointWithResponseStream in its model, so
with that client the same checks go through its own SigV4 signer, its event-stream decoder
(botocore.eventstream) and its REST-JSON error parser, on a request made as the newer client
makes it; with the image's boto3 they go through invoke_endpoint_with_response_stream itself."""
import json
import math
import os

import boto3
import botocore
import botocore.exceptions
from botocore.config import Config

from harness import deploy_byoc, deploy_regression, endpoint, eq, execution_role, expect_error, run, unique, until

cfg = Config(retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
MODELLED = "InvokeEndpointWithResponseStream" in rt.meta.service_model.operation_names
BYOC = deploy_byoc(sm, iam)


def invoke_stream(name, body, content_type="text/plain", keys=None, **kw):
    """(the response's headers as boto3 names them, an iterator of the events as boto3 yields
    them), as the root or as the identity of `keys` (access key id, secret). An error before the
    stream is raised as a ClientError; an exception event while iterating as an EventStreamError."""
    if MODELLED:
        runtime = rt if keys is None else boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                                                       aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
        r = runtime.invoke_endpoint_with_response_stream(EndpointName=name, Body=body, ContentType=content_type, **kw)
        return {k: v for k, v in r.items() if k != "Body"}, iter(r["Body"])
    return _raw_stream(name, body, content_type, keys, **kw)


def _raw_stream(name, body, content_type, keys, TargetVariant=None, Accept=None):
    import http.client
    import urllib.parse
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, HeadersDict
    from botocore.eventstream import EventStreamBuffer
    from botocore.parsers import RestJSONParser
    url = f"{endpoint()}/endpoints/{urllib.parse.quote(name)}/invocations-response-stream"
    headers = {"Content-Type": content_type}
    if TargetVariant:
        headers["X-Amzn-SageMaker-Target-Variant"] = TargetVariant
    if Accept:
        headers["X-Amzn-SageMaker-Accept"] = Accept
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    session = boto3.Session(*keys) if keys else boto3.Session()
    SigV4Auth(session.get_credentials(), "sagemaker", "us-east-1").add_auth(request)
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    conn.request("POST", parts.path, body=body, headers=dict(request.headers.items()))
    response = conn.getresponse()
    if response.status != 200:
        parsed = RestJSONParser().parse({"status_code": response.status, "headers": HeadersDict(response.getheaders()), "body": response.read()}, None)
        raise botocore.exceptions.ClientError(parsed, "InvokeEndpointWithResponseStream")
    eq(response.getheader("Content-Type"), "application/vnd.amazon.eventstream", "content type")
    meta = {"ContentType": response.getheader("X-Amzn-SageMaker-Content-Type"), "InvokedProductionVariant": response.getheader("x-Amzn-Invoked-Production-Variant")}

    def events():
        buffer = EventStreamBuffer()
        while True:
            data = response.read1(65536)
            if not data:
                return
            buffer.add_data(data)
            for message in buffer:
                h = message.headers
                if h[":message-type"] == "exception":
                    error = json.loads(message.payload)
                    raise botocore.exceptions.EventStreamError({"Error": {"Code": h[":exception-type"], "Message": error["Message"], "ErrorCode": error.get("ErrorCode")}},
                                                               "InvokeEndpointWithResponseStream")
                eq(h[":content-type"], "application/octet-stream", "a part's content type")
                yield {h[":event-type"]: {"Bytes": message.payload}}
    return meta, events()


def test_parts_arrive_while_the_container_is_still_writing():
    # Where the container sees it: not in /tmp, which is its own in the sandbox, but in a directory
    # beside this script that its unprivileged user may read.
    gates = os.path.join(os.path.dirname(os.path.abspath(__file__)), "markers")
    os.makedirs(gates, exist_ok=True)
    os.chmod(gates, 0o1777)
    gate = os.path.join(gates, unique("gate"))
    meta, events = invoke_stream(BYOC, f"stream 3 {gate}".encode())
    eq(meta["InvokedProductionVariant"], "main", "variant")
    eq(meta["ContentType"], "text/plain", "the container's content type")
    first = next(events)
    # The container is still waiting for the gate: this part was relayed before it finished.
    eq(first, {"PayloadPart": {"Bytes": b"part-0\n"}}, "first part")
    assert not os.path.exists(gate)
    open(gate, "w").close()
    rest = b"".join(e["PayloadPart"]["Bytes"] for e in events)
    eq(rest, b"part-1\npart-2\n", "the rest, after the gate opened")


def test_model_error_mid_stream():
    _, events = invoke_stream(BYOC, b"stream-break")
    eq(next(events), {"PayloadPart": {"Bytes": b"partial\n"}}, "what the container wrote before it broke off")
    try:
        for e in events:
            raise AssertionError(f"no event after the break was expected, got {e}")
        raise AssertionError("the stream ended without ModelStreamError")
    except botocore.exceptions.EventStreamError as e:
        eq(e.response["Error"]["Code"], "ModelStreamError", "exception event")
        assert "broke" in e.response["Error"]["Message"], e.response["Error"]
        if not MODELLED:
            eq(e.response["Error"]["ErrorCode"], "StreamBroken", "ErrorCode")


def test_builtin_worker_streams_its_answer():
    bucket = unique("artifacts")
    s3.create_bucket(Bucket=bucket)
    name = deploy_regression(s3, sm, bucket, execution_role(iam))
    whole = rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")["Body"].read()
    meta, events = invoke_stream(name, b"[[1,2,3,4]]", "application/json", Accept="application/json")
    eq(meta["ContentType"], "application/json", "content type")
    streamed = b"".join(e["PayloadPart"]["Bytes"] for e in events)
    eq(json.loads(streamed), json.loads(whole), "the same answer as InvokeEndpoint's")


def test_builtin_worker_streams_generated_tokens_one_by_one():
    # models/counter_lm: a causal language model whose next token is (last + 1) mod 16, with
    # log-probability log(e^8 / (e^8 + 15)).
    bucket = unique("artifacts")
    s3.create_bucket(Bucket=bucket)
    name = deploy_regression(s3, sm, bucket, execution_role(iam), model="counter_lm")
    request = json.dumps({"inputs": [3, 4], "parameters": {"max_new_tokens": 5}}).encode()
    meta, events = invoke_stream(name, request, "application/json")
    eq(meta["ContentType"], "application/jsonlines", "content type")
    parts = [e["PayloadPart"]["Bytes"] for e in events]
    # A part per token as the worker chose it, then the summary.
    eq(len(parts), 6, f"parts {parts}")
    tokens = [json.loads(p)["token"] for p in parts[:5]]
    eq([t["id"] for t in tokens], [5, 6, 7, 8, 9], "tokens")
    expected = -math.log(1 + 15 * math.exp(-8))
    for t in tokens:
        assert abs(t["logprob"] - expected) < 1e-5, (t, expected)
    eq(json.loads(parts[5]), {"generated_token_ids": [5, 6, 7, 8, 9], "finish_reason": "length"}, "summary")
    # InvokeEndpoint gets the same lines, at once.
    whole = rt.invoke_endpoint(EndpointName=name, Body=request, ContentType="application/json")
    eq(whole["ContentType"], "application/jsonlines", "InvokeEndpoint's content type")
    eq(whole["Body"].read(), b"".join(parts), "InvokeEndpoint's answer")
    # Generation stops at the end-of-sequence token.
    _, events = invoke_stream(name, json.dumps({"inputs": [14], "parameters": {"max_new_tokens": 10, "eos_token_id": 0}}).encode(), "application/json")
    lines = [json.loads(e["PayloadPart"]["Bytes"]) for e in events]
    eq(lines[-1], {"generated_token_ids": [15, 0], "finish_reason": "eos_token"}, "stopped at eos")
    # A bad request is refused before any part, as InvokeEndpoint's ModelError.
    for body, says in [(b'{"inputs": "hello"}', "token ids"), (json.dumps({"inputs": [99]}).encode(), "could not run on this payload"),
                       (json.dumps({"inputs": [1], "parameters": {"max_new_tokens": 0}}).encode(), "max_new_tokens must be")]:
        e = expect_error(lambda: invoke_stream(name, body, "application/json"), "ModelError", 424, "Received client error (400)")
        assert says in e["Error"]["Message"], (says, e["Error"]["Message"])


def test_errors_before_the_stream_are_invoke_endpoints():
    missing = unique("missing")
    expect_error(lambda: invoke_stream(missing, b"x"), "ValidationError", 400, f"Endpoint {missing} of account")
    expect_error(lambda: invoke_stream(BYOC, b"x", TargetVariant="nope"), "ValidationError", 400, 'The variant(s) "[nope]" do not exist')
    e = expect_error(lambda: invoke_stream(BYOC, b"fail"), "ModelError", 424, "Received server error (500)")
    if MODELLED:
        eq(e["OriginalStatusCode"], 500, "the container's status")
    # An endpoint that failed to deploy is not in service.
    name = unique("ep")
    sm.create_model(ModelName=name, ExecutionRoleArn=execution_role(iam), PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{unique('nobucket')}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "main", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    until("the endpoint failed", lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Failed", 60)
    expect_error(lambda: invoke_stream(name, b"x"), "ValidationError", 400, "is not in service: its status is Failed")


def test_authorized_as_its_own_action():
    """sagemaker:InvokeEndpointWithResponseStream (the Service Authorization Reference's action)
    allows the streaming call and not InvokeEndpoint, and the other way round."""
    account = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg).get_caller_identity()["Account"]
    arn = f"arn:aws:sagemaker:us-east-1:{account}:endpoint/{BYOC.lower()}"

    def user(action):
        name = unique("u")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": arn}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    streamer, invoker = user("sagemaker:InvokeEndpointWithResponseStream"), user("sagemaker:InvokeEndpoint")
    _, events = invoke_stream(BYOC, b"hello", keys=streamer)
    assert b"hello" in b"".join(e["PayloadPart"]["Bytes"] for e in events)
    as_streamer = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                               aws_access_key_id=streamer[0], aws_secret_access_key=streamer[1])
    expect_error(lambda: as_streamer.invoke_endpoint(EndpointName=BYOC, Body=b"hello", ContentType="text/plain"), "AccessDeniedException", 400,
                 "sagemaker:InvokeEndpoint on resource")
    expect_error(lambda: invoke_stream(BYOC, b"hello", keys=invoker), "AccessDeniedException", 400, "sagemaker:InvokeEndpointWithResponseStream on resource")


if __name__ == "__main__":
    run(globals())
