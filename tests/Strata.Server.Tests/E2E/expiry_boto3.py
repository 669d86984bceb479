"""What expires, on a server whose clock the test drives (FakeClockServer.cs): presigned URLs
(SigV2 and SigV4) and temporary credentials (GetSessionToken, AssumeRole). Time passes only when
`advance` moves it, so each test shows the last valid second and the first expired one, with an
unmodified boto3 whose clock agrees with the server's."""
import json
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

from harness import advance, endpoint, eq, expect_error, run, unique, validate_responses

cfg = Config(retries={"max_attempts": 1})
s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
sts = validate_responses(boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = validate_responses(boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
BUCKET = unique("expiry")
s3.create_bucket(Bucket=BUCKET)
s3.put_object(Bucket=BUCKET, Key="k", Body=b"still here")


def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def client(service, credentials):
    key, secret, token = credentials
    return validate_responses(boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", aws_access_key_id=key,
                                           aws_secret_access_key=secret, aws_session_token=token, config=cfg))


def test_presigned_urls_expire():
    for signature in ("s3", "s3v4"):
        signer = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=Config(signature_version=signature))
        url = signer.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"}, ExpiresIn=60)
        eq(fetch(url), (200, "still here"), f"{signature}: fresh")
        advance(55)
        eq(fetch(url), (200, "still here"), f"{signature}: 55 s later, within its 60 s")
        advance(6)
        status, text = fetch(url)
        eq(status, 403, f"{signature}: 61 s later")
        assert "<Code>AccessDenied</Code>" in text and "Request has expired" in text, text


def test_session_token_expires_after_its_duration():
    c = sts.get_session_token(DurationSeconds=900)["Credentials"]
    temp = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    client("s3", temp).head_bucket(Bucket=BUCKET)
    advance(890)
    client("s3", temp).head_bucket(Bucket=BUCKET)
    eq(client("sts", temp).get_caller_identity()["Account"], sts.get_caller_identity()["Account"], "valid 10 s before expiry")
    advance(11)
    expect_error(lambda: client("s3", temp).list_buckets(), "ExpiredToken", 400, "expired")
    expect_error(lambda: client("sts", temp).get_caller_identity(), "ExpiredToken", 403, "expired")
    # Long-term keys are not affected by the clock.
    s3.head_bucket(Bucket=BUCKET)


def test_assumed_role_session_expires():
    account = sts.get_caller_identity()["Account"]
    role = unique("r")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    c = sts.assume_role(RoleArn=arn, RoleSessionName="nightly", DurationSeconds=1800)["Credentials"]
    session = client("s3", (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    eq(session.get_object(Bucket=BUCKET, Key="k")["Body"].read(), b"still here", "the role's session reads")
    advance(1795)
    eq(session.get_object(Bucket=BUCKET, Key="k")["Body"].read(), b"still here", "5 s before expiry")
    advance(6)
    expect_error(lambda: session.get_object(Bucket=BUCKET, Key="k"), "ExpiredToken", 400, "expired")


run(globals())
