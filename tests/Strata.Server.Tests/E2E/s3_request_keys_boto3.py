"""S3's request condition keys that depend on time or on the bucket, end to end with an unmodified
boto3 (run by both the image's boto3 1.43 and Debian's 1.26), on a server whose clock the test
drives (FakeClockServer.cs): s3:signatureAge caps how long a presigned URL is honoured,
s3:ResourceAccount names the bucket owner's account, and s3:if-none-match / s3:if-match let a
policy demand conditional writes."""
import json
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

from harness import advance, endpoint, eq, expect_error, run, unique, validate_responses

cfg = Config(retries={"max_attempts": 1}, signature_version="s3v4")
s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
sts = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
ACCOUNT = sts.get_caller_identity()["Account"]


def bucket_with_policy(*statements):
    """A new bucket with a policy of `statements`, each a function of the bucket's name."""
    b = unique("keys")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [s(b) for s in statements]}))
    return b


def deny(action, resource, condition):
    return {"Effect": "Deny", "Principal": "*", "Action": action, "Resource": resource, "Condition": condition}


def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def with_header(name, value):
    """A client that adds one header to every request it signs."""
    c = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    c.meta.events.register("before-sign.s3.*", lambda request, **_: request.headers.__setitem__(name, value))
    return c


def test_signature_age_caps_a_presigned_urls_life():
    b = bucket_with_policy(lambda b: deny("s3:GetObject", f"arn:aws:s3:::{b}/*", {"NumericGreaterThan": {"s3:signatureAge": "600000"}}))
    s3.put_object(Bucket=b, Key="report.csv", Body=b"a,b")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "report.csv"}, ExpiresIn=3600)
    eq(fetch(url), (200, b"a,b"), "a fresh URL")
    advance(5 * 60)
    eq(fetch(url)[0], 200, "five minutes old")
    advance(6 * 60)
    status, body = fetch(url)
    eq(status, 403, "eleven minutes old: older than the policy allows, though the URL has not expired")
    assert b"<Code>AccessDenied</Code>" in body, body
    # A request signed now is as young as can be.
    eq(s3.get_object(Bucket=b, Key="report.csv")["Body"].read(), b"a,b")
    eq(fetch(s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "report.csv"}, ExpiresIn=3600))[0], 200)


def test_resource_account_is_the_bucket_owners():
    b = bucket_with_policy(
        lambda b: deny("s3:GetObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"s3:ResourceAccount": "111122223333"}}),
        lambda b: deny("s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"s3:ResourceAccount": ACCOUNT}}))
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    expect_error(lambda: s3.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    eq(s3.head_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"], 200)


def test_a_policy_can_require_conditional_writes():
    b = bucket_with_policy(
        lambda b: deny("s3:PutObject", f"arn:aws:s3:::{b}/create-only/*", {"Null": {"s3:if-none-match": "true"}}),
        lambda b: deny("s3:PutObject", f"arn:aws:s3:::{b}/guarded/*", {"Null": {"s3:if-match": "true"}}))

    expect_error(lambda: s3.put_object(Bucket=b, Key="create-only/a", Body=b"1"), "AccessDenied", 403)
    with_header("If-None-Match", "*").put_object(Bucket=b, Key="create-only/a", Body=b"1")
    expect_error(lambda: with_header("If-None-Match", "*").put_object(Bucket=b, Key="create-only/a", Body=b"2"), "PreconditionFailed", 412)
    eq(s3.get_object(Bucket=b, Key="create-only/a")["Body"].read(), b"1")

    s3.put_object(Bucket=b, Key="elsewhere", Body=b"free")
    expect_error(lambda: s3.put_object(Bucket=b, Key="guarded/g", Body=b"1"), "AccessDenied", 403)
    expect_error(lambda: with_header("If-Match", '"0"').put_object(Bucket=b, Key="guarded/g", Body=b"1"), "NoSuchKey", 404)


if __name__ == "__main__":
    run(globals())
