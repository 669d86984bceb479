"""The request pipeline's protocols, end to end with boto3: every AWS service Strata speaks
answers in its own protocol, including for operations it does not implement (yet), and
authentication errors are spelled as each protocol family spells them."""
import json
import os
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config
from botocore import UNSIGNED

from harness import endpoint, eq, expect_error, run

NEW_BOTOCORE = tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= (1, 36)


def client(service, **kw):
    return boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", config=Config(retries={"max_attempts": 1}), **kw)


def test_health_route():
    health = json.loads(urllib.request.urlopen(endpoint() + "/_strata/health").read())
    eq(health["status"], "ok", "health status")
    eq(len(health["accountId"]), 12, "account id")


def test_json11_unknown_operation():
    """SageMaker (JSON 1.1, X-Amz-Target SageMaker.*): an operation not built yet."""
    r = expect_error(lambda: client("sagemaker").list_domains(), "UnknownOperationException", 400)
    assert r["ResponseMetadata"]["RequestId"], "request id header"


def test_json10_unknown_operation():
    """Step Functions (JSON 1.0, X-Amz-Target AWSStepFunctions.*): an operation Strata does not know. Every
    operation of the clients' models is built, so the request is made by hand, signed as the SDK signs it."""
    import http.client
    import urllib.parse
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    url = endpoint() + "/"
    request = AWSRequest(method="POST", url=url, data=b"{}",
                         headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AWSStepFunctions.DescribeEverything"})
    SigV4Auth(boto3.Session().get_credentials(), "states", "us-east-1").add_auth(request)
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", "/", body=b"{}", headers=dict(request.headers.items()))
    response = conn.getresponse()
    body = json.loads(response.read())
    eq((response.status, body["__type"].split("#")[-1]), (400, "UnknownOperationException"), "an unknown JSON 1.0 operation")
    assert response.getheader("x-amzn-RequestId"), "request id header"


def test_query_unknown_action():
    """IAM and STS (Query: form in, XML out): actions Strata does not offer."""
    expect_error(lambda: client("sts").get_federation_token(Name="federated"), "InvalidAction", 400)
    expect_error(lambda: client("iam").list_server_certificates(), "InvalidAction", 400)


def test_cloudwatch_query_compatible():
    """New clients speak JSON 1.0 to CloudWatch and read x-amzn-query-error; old ones Query."""
    r = expect_error(lambda: client("cloudwatch").list_metric_streams(), "InvalidAction", 400)
    if NEW_BOTOCORE:
        # The query-compatible header carries the Query error code to JSON clients.
        assert "x-amzn-query-error" in r["ResponseMetadata"]["HTTPHeaders"], r["ResponseMetadata"]["HTTPHeaders"]


def test_rest_json_unknown_route():
    """SageMaker Runtime (REST-JSON): a signed request to a route it does not have (every route
    boto3 knows is built), answered 404 UnknownOperationException in REST-JSON's spelling."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    url = endpoint() + "/endpoints/nope/no-such-route"
    request = AWSRequest(method="POST", url=url, data=b"{}", headers={"Content-Type": "application/json"})
    credentials = boto3.Session().get_credentials()
    SigV4Auth(credentials, "sagemaker", "us-east-1").add_auth(request)
    prepared = request.prepare()
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"{}", headers=dict(prepared.headers), method="POST"))
        raise AssertionError("an unknown route answered")
    except urllib.error.HTTPError as e:
        eq(e.code, 404, "status")
        body = json.loads(e.read() or b"{}")
        code = (e.headers.get("x-amzn-ErrorType") or body.get("__type") or body.get("code") or "").split(":")[0].split("#")[-1]
        eq(code, "UnknownOperationException", "error type")
        assert e.headers.get("x-amzn-RequestId"), "request id header"


def test_json_auth_errors():
    bad = client("kms", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
    expect_error(lambda: bad.list_keys(), "InvalidSignatureException", 403)
    unknown = client("kms", aws_access_key_id="AKIANOSUCHKEY0000000", aws_secret_access_key="x")
    expect_error(lambda: unknown.list_keys(), "UnrecognizedClientException", 400)
    anon = boto3.client("kms", endpoint_url=endpoint(), region_name="us-east-1", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    expect_error(lambda: anon.list_keys(), "MissingAuthenticationTokenException", 403)


def test_query_auth_errors():
    bad = client("sts", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
    expect_error(lambda: bad.get_caller_identity(), "SignatureDoesNotMatch", 403)
    unknown = client("iam", aws_access_key_id="AKIANOSUCHKEY0000000", aws_secret_access_key="x")
    expect_error(lambda: unknown.list_users(), "InvalidClientTokenId", 403)


def test_session_token_on_long_term_key_is_refused():
    c = client("s3", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
               aws_session_token="not-a-real-token")
    expect_error(lambda: c.list_buckets(), "InvalidToken", 400)


if __name__ == "__main__":
    run(globals())
