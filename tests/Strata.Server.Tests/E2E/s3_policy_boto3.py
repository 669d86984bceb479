"""S3 security end to end with an unmodified boto3: buckets private by default, bucket policies
(cross-account grants, public reads, HTTPS only), the public access block, and presigned URLs
that carry exactly their signer's permissions."""
import datetime
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


def test_anonymous_request_for_a_missing_bucket_is_no_such_bucket():
    """S3 tells anyone that a bucket does not exist; an existing one without a grant stays 403."""
    anonymous = client("s3", unsigned=True)
    missing = unique("missing")
    for call in (lambda: anonymous.get_object(Bucket=missing, Key="k"), lambda: anonymous.list_objects_v2(Bucket=missing),
                 lambda: anonymous.put_object(Bucket=missing, Key="k", Body=b"x")):
        e = expect_error(call, "NoSuchBucket", 404, "The specified bucket does not exist")
        eq(e["Error"].get("BucketName"), missing, "BucketName")
    expect_error(lambda: anonymous.head_bucket(Bucket=missing), "404", 404)
    b = bucket_with()
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="no-such-key"), "AccessDenied", 403)
    expect_error(lambda: anonymous.list_objects_v2(Bucket=b), "AccessDenied", 403)
    expect_error(lambda: anonymous.head_bucket(Bucket=b), "403", 403)


def test_bucket_policy_resources_match_through_wildcards():
    b = bucket_with()
    other, root_b = new_account()
    theirs = client("s3", root_b)
    # Any S3 resource that can match the bucket or its objects is accepted, and applies.
    put_policy(b, statement("Allow", {"AWS": other}, "s3:GetObject", "arn:aws:s3:::*"))
    eq(theirs.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "granted through arn:aws:s3:::*")
    put_policy(b, statement("Allow", {"AWS": other}, "s3:GetObject", "arn:aws:s3:::pol-*/*"),
               statement("Allow", {"AWS": other}, "s3:ListBucket", ["arn:aws:s3:::pol-*", "arn:aws:s3:::*/public/*"]))
    eq(theirs.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "granted through arn:aws:s3:::pol-*/*")
    eq([o["Key"] for o in theirs.list_objects_v2(Bucket=b)["Contents"]], ["k"], "list granted through arn:aws:s3:::pol-*")
    put_policy(b, statement("Allow", {"AWS": other}, "s3:GetObject", f"arn:aws:s3:::{b}/public/*"))
    expect_error(lambda: theirs.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    # Resources that cannot match this bucket are refused, as S3 refuses them.
    for resource in ("*", "arn:aws:s3:::other-*", "arn:aws:s3:::other-bucket/*", f"arn:aws:s3:::{b}x/*", "arn:aws:sqs:us-east-1:123456789012:q"):
        expect_error(lambda: put_policy(b, statement("Allow", {"AWS": other}, "s3:GetObject", resource)), "MalformedPolicy", 400, "Policy has invalid resource")
    expect_error(lambda: put_policy(b, statement("Allow", {"AWS": other}, "s3:GetObject", ["arn:aws:s3:::*", "arn:aws:s3:::elsewhere"])),
                 "MalformedPolicy", 400, "Policy has invalid resource")


def test_policy_conditions_on_the_encryption_and_acl_of_uploads():
    b = bucket_with()
    secure = client("s3", tls=True)
    customer = os.urandom(32)
    # Only SSE-C uploads: a valid SSE-C upload passes, a plain one is refused.
    put_policy(b, statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*",
                            {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "true"}}))
    secure.put_object(Bucket=b, Key="c", Body=b"sealed", SSECustomerAlgorithm="AES256", SSECustomerKey=customer)
    eq(secure.get_object(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=customer)["Body"].read(), b"sealed", "SSE-C round trip")
    expect_error(lambda: secure.put_object(Bucket=b, Key="p", Body=b"plain"), "AccessDenied", 403)
    mpu = secure.create_multipart_upload(Bucket=b, Key="m", SSECustomerAlgorithm="AES256", SSECustomerKey=customer)
    secure.abort_multipart_upload(Bucket=b, Key="m", UploadId=mpu["UploadId"])
    expect_error(lambda: secure.create_multipart_upload(Bucket=b, Key="m"), "AccessDenied", 403)
    # A canned ACL and grants are keys of the write.
    put_policy(b, statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}),
               statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"Null": {"s3:x-amz-grant-read": "false"}}))
    s3.put_object(Bucket=b, Key="acl", Body=b"x", ACL="bucket-owner-full-control")
    expect_error(lambda: s3.put_object(Bucket=b, Key="acl", Body=b"x"), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="acl", Body=b"x", ACL="public-read"), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="acl", Body=b"x", ACL="bucket-owner-full-control", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'),
                 "AccessDenied", 403)
    put_policy(b, statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringLike": {"s3:x-amz-grant-full-control": "*"}}),
               statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringEquals": {"s3:x-amz-grant-read-acp": 'id="abc"'}}),
               statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringEquals": {"s3:x-amz-grant-write-acp": 'id="abc"'}}))
    s3.put_object(Bucket=b, Key="grants", Body=b"x")
    expect_error(lambda: s3.put_object(Bucket=b, Key="grants", Body=b"x", GrantFullControl='id="abc"'), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="grants", Body=b"x", GrantReadACP='id="abc"'), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="grants", Body=b"x", GrantWriteACP='id="abc"'), "AccessDenied", 403)
    # The policy lets this grant through; the bucket itself refuses ACLs (BucketOwnerEnforced).
    expect_error(lambda: s3.put_object(Bucket=b, Key="grants", Body=b"x", GrantWriteACP='id="def"'), "AccessControlListNotSupported", 400,
                 "The bucket does not allow ACLs")


def test_acls_are_disabled_by_default():
    """A bucket is BucketOwnerEnforced unless made otherwise, as S3's are since 2023: reading an ACL shows the owner's
    full control; an ACL that grants no one else is accepted (and changes nothing); any other is
    AccessControlListNotSupported, and the write it came with does not happen."""
    b = bucket_with()
    owner = s3.list_buckets()["Owner"]
    eq(s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"], [{"ObjectOwnership": "BucketOwnerEnforced"}], "the default")
    full = [{"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"], "DisplayName": owner["DisplayName"]}, "Permission": "FULL_CONTROL"}]
    acl = s3.get_bucket_acl(Bucket=b)
    eq((acl["Owner"]["ID"], acl["Grants"]), (owner["ID"], full), "the bucket's ACL")
    acl = s3.get_object_acl(Bucket=b, Key="k")
    eq((acl["Owner"]["ID"], acl["Grants"]), (owner["ID"], full), "the object's ACL")
    expect_error(lambda: s3.get_object_acl(Bucket=b, Key="missing"), "NoSuchKey", 404)

    refused = ("AccessControlListNotSupported", 400, "The bucket does not allow ACLs")
    expect_error(lambda: s3.put_object(Bucket=b, Key="public", Body=b"x", ACL="public-read"), *refused)
    expect_error(lambda: s3.head_object(Bucket=b, Key="public"), "404", 404)
    expect_error(lambda: s3.put_object(Bucket=b, Key="public", Body=b"x", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'), *refused)
    expect_error(lambda: s3.copy_object(Bucket=b, Key="public", CopySource={"Bucket": b, "Key": "k"}, ACL="public-read"), *refused)
    expect_error(lambda: s3.create_multipart_upload(Bucket=b, Key="public", ACL="authenticated-read"), *refused)
    expect_error(lambda: s3.put_object(Bucket=b, Key="public", Body=b"x", ACL="nonsense"), "InvalidArgument", 400)
    for kw in ({"ACL": "bucket-owner-full-control"}, {"ACL": "private"}, {"GrantFullControl": f'id="{owner["ID"]}"'}):
        s3.put_object(Bucket=b, Key="owned", Body=b"x", **kw)
    eq(s3.get_object(Bucket=b, Key="owned")["Body"].read(), b"x", "written with the owner's own ACL")

    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", ACL="public-read"), *refused)
    everyone = {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy={"Owner": {"ID": owner["ID"]}, "Grants": full + [everyone]}), *refused)
    s3.put_object_acl(Bucket=b, Key="k", ACL="bucket-owner-full-control")
    s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy={"Owner": {"ID": owner["ID"]}, "Grants": full})
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="missing", ACL="private"), "NoSuchKey", 404)
    expect_error(lambda: s3.put_bucket_acl(Bucket=b, ACL="public-read"), *refused)
    expect_error(lambda: s3.put_bucket_acl(Bucket=b, AccessControlPolicy={"Owner": {"ID": owner["ID"]}, "Grants": [everyone]}), *refused)
    s3.put_bucket_acl(Bucket=b, ACL="private")
    eq(s3.get_bucket_acl(Bucket=b)["Grants"], full, "unchanged")
    # Anonymous reads stay refused: no ACL ever made the object public.
    expect_error(lambda: client("s3", unsigned=True).get_object(Bucket=b, Key="k"), "AccessDenied", 403)

    # The other settings turn ACLs on (s3_acl.py); back to enforced, the owner's full control is all again.
    for setting in ("ObjectWriter", "BucketOwnerPreferred", "BucketOwnerEnforced"):
        s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": setting}]})
        eq(s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"], [{"ObjectOwnership": setting}], setting)
    expect_error(lambda: s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "Nobody"}]}), "MalformedXML", 400)
    expect_error(lambda: s3.put_object(Bucket=b, Key="public", Body=b"x", ACL="public-read"), *refused)
    writer = unique("own")
    s3.create_bucket(Bucket=writer, ObjectOwnership="ObjectWriter", ACL="public-read")
    eq(s3.get_bucket_ownership_controls(Bucket=writer)["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "ObjectWriter", "created ObjectWriter")
    s3.delete_bucket_ownership_controls(Bucket=writer)
    expect_error(lambda: s3.get_bucket_ownership_controls(Bucket=writer), "OwnershipControlsNotFoundError", 404)
    expect_error(lambda: s3.create_bucket(Bucket=unique("own"), ACL="public-read"), "InvalidBucketAclWithObjectOwnership", 400,
                 "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
    made = unique("own")
    s3.create_bucket(Bucket=made, ObjectOwnership="BucketOwnerEnforced", ACL="private")
    eq(s3.get_bucket_ownership_controls(Bucket=made)["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced", "created enforced")

    # Reading and setting ACLs are IAM actions of their own.
    from harness import iam_user
    _, keys = iam_user(iam, "aclreader", ["s3:GetObject"])
    user = client("s3", creds=keys)
    expect_error(lambda: user.get_bucket_acl(Bucket=b), "AccessDenied", 403)
    expect_error(lambda: user.get_object_acl(Bucket=b, Key="k"), "AccessDenied", 403)
    expect_error(lambda: user.get_bucket_ownership_controls(Bucket=b), "AccessDenied", 403)


def test_policy_conditions_on_copies_and_object_lock():
    b = bucket_with()
    s3.put_object(Bucket=b, Key="public/a", Body=b"open")
    s3.put_object(Bucket=b, Key="private/a", Body=b"closed")
    put_policy(b, statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*",
                            {"StringNotLike": {"s3:x-amz-copy-source": f"{b}/public/*"}, "Null": {"s3:x-amz-copy-source": "false"}}),
               statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringEquals": {"s3:x-amz-metadata-directive": "REPLACE"}}))
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "public/a"})
    eq(s3.get_object(Bucket=b, Key="copy")["Body"].read(), b"open", "copied from public/")
    s3.copy_object(Bucket=b, Key="copy2", CopySource=f"/{b}/public/a")
    expect_error(lambda: s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "private/a"}), "AccessDenied", 403)
    expect_error(lambda: s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "public/a"}, MetadataDirective="REPLACE", Metadata={"m": "1"}),
                 "AccessDenied", 403)
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "public/a"}, MetadataDirective="COPY")
    s3.put_object(Bucket=b, Key="plain", Body=b"x")  # no copy source: the Null guard lets it through
    # Object Lock's request headers are keys too (refused here before any lock is looked at).
    put_policy(b, statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringEquals": {"s3:object-lock-mode": "COMPLIANCE"}}),
               statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"StringEquals": {"s3:object-lock-legal-hold": "ON"}}),
               statement("Deny", "*", "s3:PutObject", f"arn:aws:s3:::{b}/*", {"DateGreaterThan": {"s3:object-lock-retain-until-date": "2040-01-01T00:00:00Z"}}))
    s3.put_object(Bucket=b, Key="unlocked", Body=b"x")
    expect_error(lambda: s3.put_object(Bucket=b, Key="l", Body=b"x", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)),
                 "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="l", Body=b"x", ObjectLockLegalHoldStatus="ON"), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="l", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=datetime.datetime(2041, 1, 1, tzinfo=datetime.timezone.utc)),
                 "AccessDenied", 403)


def test_policy_conditions_on_object_tags():
    b = bucket_with()
    s3.put_object(Bucket=b, Key="secret", Body=b"s", Tagging="classification=secret")
    # The stored object's tags decide its reads.
    put_policy(b, statement("Deny", "*", ["s3:GetObject", "s3:GetObjectTagging"], f"arn:aws:s3:::{b}/*",
                            {"StringEquals": {"s3:ExistingObjectTag/classification": "secret"}}))
    eq(s3.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "an untagged object reads")
    expect_error(lambda: s3.get_object(Bucket=b, Key="secret"), "AccessDenied", 403)
    expect_error(lambda: s3.head_object(Bucket=b, Key="secret"), "403", 403)
    expect_error(lambda: s3.get_object_tagging(Bucket=b, Key="secret"), "AccessDenied", 403)
    s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "classification", "Value": "secret"}]})
    expect_error(lambda: s3.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    s3.delete_bucket_policy(Bucket=b)
    # The tags a request sets: on upload (x-amz-tagging) and in PutObjectTagging's body.
    put_policy(b, statement("Deny", "*", ["s3:PutObject", "s3:PutObjectTagging"], f"arn:aws:s3:::{b}/*",
                            {"StringNotEquals": {"s3:RequestObjectTag/team": "ml"}}),
               statement("Deny", "*", ["s3:PutObject", "s3:PutObjectTagging"], f"arn:aws:s3:::{b}/*",
                            {"ForAnyValue:StringNotEquals": {"s3:RequestObjectTagKeys": ["team", "project"]}}))
    s3.put_object(Bucket=b, Key="t", Body=b"x", Tagging="team=ml&project=p1")
    expect_error(lambda: s3.put_object(Bucket=b, Key="t", Body=b"x", Tagging="team=web"), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="t", Body=b"x", Tagging="team=ml&cost=1"), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="t", Body=b"x"), "AccessDenied", 403)
    s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
    expect_error(lambda: s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "team", "Value": "web"}]}), "AccessDenied", 403)
    expect_error(lambda: s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "team", "Value": "ml"}, {"Key": "owner", "Value": "x"}]}),
                 "AccessDenied", 403)
    s3.delete_bucket_policy(Bucket=b)
    eq(s3.get_object_tagging(Bucket=b, Key="t")["TagSet"], [{"Key": "team", "Value": "ml"}], "the allowed tag set stuck")


def test_policy_conditions_on_the_signature_and_tls():
    b = bucket_with()
    # Only header-signed SigV4: presigned URLs and SigV2 are refused.
    put_policy(b, statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"s3:authType": "REST-HEADER"}}),
               statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}}))
    eq(s3.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "header-signed SigV4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=300)
    try:
        urllib.request.urlopen(url)
        raise AssertionError("a presigned URL passed a REST-HEADER-only policy")
    except urllib.error.HTTPError as e:
        eq(e.code, 403, "presigned status")
    sigv2 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg.merge(Config(signature_version="s3")))
    expect_error(lambda: sigv2.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    put_policy(b, statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"s3:signatureversion": "AWS"}}))
    eq(sigv2.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "SigV2 as required")
    put_policy(b, statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"StringNotEquals": {"s3:authType": "REST-QUERY-STRING"}}))
    with urllib.request.urlopen(s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=300)) as r:
        eq(r.read(), b"secret", "presigned as required")
    # s3:TlsVersion: absent over plain HTTP, the negotiated version over TLS.
    secure = client("s3", tls=True)
    put_policy(b, statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"Null": {"s3:TlsVersion": "true"}}))
    expect_error(lambda: s3.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    eq(secure.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "over TLS")
    put_policy(b, statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"NumericLessThan": {"s3:TlsVersion": "1.2"}}))
    eq(secure.get_object(Bucket=b, Key="k")["Body"].read(), b"secret", "TLS 1.2 or later")
    s3.get_object(Bucket=b, Key="k")  # no TLS version: NumericLessThan does not hold
    put_policy(b, statement("Deny", "*", "s3:GetObject", f"arn:aws:s3:::{b}/*", {"NumericGreaterThanEquals": {"s3:TlsVersion": "1.2"}}))
    expect_error(lambda: secure.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    s3.get_object(Bucket=b, Key="k")


run(globals())
