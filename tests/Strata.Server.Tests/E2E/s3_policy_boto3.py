"""S3 security end to end with an unmodified boto3: buckets private by default, bucket policies
(cross-account grants, public reads, HTTPS only), the public access block, and presigned URLs
that carry exactly their signer's permissions."""
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique

cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})


def client(service, creds=None, tls=False, unsigned=False):
    kw = {}
    if creds is not None:
        kw = {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1], "aws_session_token": creds[2] if len(creds) > 2 else None}
    config = cfg.merge(Config(signature_version=UNSIGNED)) if unsigned else cfg
    return boto3.client(service, endpoint_url=endpoint(tls), region_name="us-east-1", config=config,
                        verify=os.environ["AWS_CA_BUNDLE"] if tls else None, **kw)


s3 = client("s3")
iam = client("iam")
ACCOUNT = client("sts").get_caller_identity()["Account"]


def bucket_with(key="k", body=b"secret"):
    b = unique("pol")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key=key, Body=body)
    return b


def statement(effect, principal, action, resource, condition=None):
    s = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def put_policy(b, *statements):
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def new_account():
    out = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "accounts", "create", unique("tenant"), "--data-dir", os.environ["STRATA_DATA_DIR"]],
                         check=True, capture_output=True, text=True).stdout
    lines = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    return out.split()[1], (lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"])


def test_bucket_policy_lifecycle_and_validation():
    b = bucket_with()
    expect_error(lambda: s3.get_bucket_policy(Bucket=b), "NoSuchBucketPolicy", 404)
    expect_error(lambda: s3.get_bucket_policy_status(Bucket=b), "NoSuchBucketPolicy", 404)
    put_policy(b, statement("Allow", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "s3:GetObject", f"arn:aws:s3:::{b}/*"))
    eq(json.loads(s3.get_bucket_policy(Bucket=b)["Policy"])["Statement"][0]["Action"], "s3:GetObject", "policy round trip")
    eq(s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"], False, "not public")
    expect_error(lambda: s3.put_bucket_policy(Bucket=b, Policy="not json"), "MalformedPolicy", 400)
    expect_error(lambda: put_policy(b, statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::other-bucket/*")), "MalformedPolicy", 400, "Policy has invalid resource")
    expect_error(lambda: put_policy(b, statement("Allow", "*", "iam:GetUser", f"arn:aws:s3:::{b}/*")), "MalformedPolicy", 400, "Policy has invalid action")
    expect_error(lambda: s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{b}/*"}]})),
                 "MalformedPolicy", 400, "Missing required field Principal")
    s3.delete_bucket_policy(Bucket=b)
    expect_error(lambda: s3.get_bucket_policy(Bucket=b), "NoSuchBucketPolicy", 404)
    expect_error(lambda: s3.get_bucket_policy(Bucket=unique("missing")), "NoSuchBucket", 404)


def test_cross_account_access_only_through_the_bucket_policy():
    b = bucket_with()
    other, root_b = new_account()
    theirs = client("s3", root_b)
    expect_error(lambda: theirs.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    expect_error(lambda: theirs.list_objects_v2(Bucket=b), "AccessDenied", 403)
    put_policy(b, statement("Allow", {"AWS": f"arn:aws:iam::{other}:root"}, "s3:GetObject", f"arn:aws:s3:::{b}/*"),
               statement("Allow", {"AWS": other}, "s3:ListBucket", f"arn:aws:s3:::{b}"))
    eq(theirs.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "granted read")
    eq([o["Key"] for o in theirs.list_objects_v2(Bucket=b)["Contents"]], ["k"], "granted list")
    expect_error(lambda: theirs.put_object(Bucket=b, Key="x", Body=b"x"), "AccessDenied", 403)
    expect_error(lambda: theirs.delete_bucket_policy(Bucket=b), "AccessDenied", 403)
    # The other account's users also need their own account's permission.
    user = unique("u")
    client("iam", root_b).create_user(UserName=user)
    k = client("iam", root_b).create_access_key(UserName=user)["AccessKey"]
    their_user = client("s3", (k["AccessKeyId"], k["SecretAccessKey"]))
    expect_error(lambda: their_user.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    client("iam", root_b).put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    eq(their_user.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "user granted by both sides")
    # The bucket is still not theirs to list among their buckets.
    assert b not in [x["Name"] for x in theirs.list_buckets()["Buckets"]]


def test_anonymous_access_only_where_a_policy_grants_everyone():
    b = bucket_with(key="public/page.html", body=b"<h1>hi</h1>")
    s3.put_object(Bucket=b, Key="private/x", Body=b"no")
    anonymous = client("s3", unsigned=True)
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="public/page.html"), "AccessDenied", 403)
    expect_error(lambda: anonymous.list_buckets(), "AccessDenied", 403)
    put_policy(b, statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{b}/public/*"))
    eq(s3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"], True, "public")
    eq(anonymous.get_object(Bucket=b, Key="public/page.html")["Body"].read(), b"<h1>hi</h1>", "public read")
    with urllib.request.urlopen(f"{endpoint()}/{b}/public/page.html") as r:
        eq(r.read(), b"<h1>hi</h1>", "plain HTTP GET")
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="private/x"), "AccessDenied", 403)
    expect_error(lambda: anonymous.put_object(Bucket=b, Key="public/new", Body=b"x"), "AccessDenied", 403)
    # The public access block: RestrictPublicBuckets shuts the public grant, BlockPublicPolicy refuses new ones.
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    eq(s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"], True, "block")
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="public/page.html"), "AccessDenied", 403)
    expect_error(lambda: put_policy(b, statement("Allow", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*")), "AccessDenied", 403)
    s3.get_object(Bucket=b, Key="public/page.html")  # the owner still reads
    s3.delete_public_access_block(Bucket=b)
    expect_error(lambda: s3.get_public_access_block(Bucket=b), "NoSuchPublicAccessBlockConfiguration", 404)
    anonymous.get_object(Bucket=b, Key="public/page.html")


def test_https_only_bucket_policy():
    b = bucket_with()
    put_policy(b, statement("Deny", "*", "s3:*", [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"], {"Bool": {"aws:SecureTransport": "false"}}))
    # Plain HTTP is refused even to the owner; HTTPS works.
    expect_error(lambda: s3.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    eq(client("s3", tls=True).get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "over TLS")
    # The owner can always remove a policy that locks it out.
    s3.delete_bucket_policy(Bucket=b)
    s3.get_object(Bucket=b, Key="k")


def test_private_traffic_through_the_vpc_endpoint():
    """A bucket and a key that may only be used through the VPC endpoint listener."""
    vpce = os.environ["STRATA_VPCE_ID"]
    private = boto3.client("s3", endpoint_url=os.environ["STRATA_VPCE_ENDPOINT"], region_name="us-east-1", config=cfg)
    private_kms = boto3.client("kms", endpoint_url=os.environ["STRATA_VPCE_ENDPOINT"], region_name="us-east-1", config=cfg)
    b = bucket_with()
    put_policy(b, statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"aws:SourceVpce": vpce}}))
    expect_error(lambda: s3.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    eq(private.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "through the endpoint")
    kms = client("kms")
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}}]}))["KeyMetadata"]
    expect_error(lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x"), "AccessDeniedException", 400)
    blob = private_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"private")["CiphertextBlob"]
    eq(private_kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"private", "kms through the endpoint")


def test_presigned_urls_carry_the_signers_permissions():
    b = bucket_with()
    user = unique("u")
    iam.create_user(UserName=user)
    k = iam.create_access_key(UserName=user)["AccessKey"]
    theirs = client("s3", (k["AccessKeyId"], k["SecretAccessKey"]))
    url = theirs.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=300)
    try:
        urllib.request.urlopen(url)
        raise AssertionError("a presigned URL of a user without s3:GetObject worked")
    except urllib.error.HTTPError as e:
        eq(e.code, 403, "status")
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]}))
    with urllib.request.urlopen(url) as r:
        eq(r.read(), b"secret", "presigned read")


run(globals())
