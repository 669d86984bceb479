"""S3 access control lists end to end with an unmodified boto3 (and the aws CLI for one path):
Object Ownership settings, canned ACLs and grants on buckets, objects and versions, who owns
what another account writes, ACL grants in authorization (anonymous, signed-in, cross-account,
explicit denies), Block Public Access, and the ACL condition keys."""
import json
import os
import subprocess
import urllib.error
import urllib.request

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique

cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


def client(service, creds=None, unsigned=False):
    kw = {} if creds is None else {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1]}
    config = cfg.merge(Config(signature_version=UNSIGNED)) if unsigned else cfg
    return boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", config=config, **kw)


def new_account():
    """Another account of this server: its id and its root's keys."""
    out = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "accounts", "create", unique("acl"), "--data-dir", os.environ["STRATA_DATA_DIR"]],
                         check=True, capture_output=True, text=True).stdout
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return out.split()[1], (lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"])


def new_user(iam, actions=None):
    """An IAM user of the account `iam` belongs to, allowed `actions` on everything."""
    name = unique("u")
    iam.create_user(UserName=name)
    if actions:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return (k["AccessKeyId"], k["SecretAccessKey"])


s3 = client("s3")
anonymous = client("s3", unsigned=True)
OWNER = s3.list_buckets()["Owner"]
OTHER, OTHER_KEYS = new_account()
theirs = client("s3", OTHER_KEYS)
THEIR_OWNER = theirs.list_buckets()["Owner"]


def me(permission="FULL_CONTROL", owner=OWNER):
    return {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"], "DisplayName": owner["DisplayName"]}, "Permission": permission}


def group(uri, permission):
    return {"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission}


def acl_bucket(ownership="ObjectWriter", **kw):
    b = unique("acl")
    s3.create_bucket(Bucket=b, ObjectOwnership=ownership, **kw)
    return b


def canon(grant_list):
    """Grants in one order (S3 keeps no order clients can rely on; boto3s parse keys in different orders)."""
    return sorted(grant_list, key=lambda g: json.dumps(g, sort_keys=True))


def grants(acl):
    return canon(acl["Grants"])


def test_ownership_controls_are_kept_per_bucket():
    b = unique("own")
    s3.create_bucket(Bucket=b)
    rules = lambda: s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"]
    eq(rules(), [{"ObjectOwnership": "BucketOwnerEnforced"}], "a new bucket's")
    for setting in ("ObjectWriter", "BucketOwnerPreferred", "BucketOwnerEnforced"):
        s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": setting}]})
        eq(rules(), [{"ObjectOwnership": setting}], setting)
    s3.delete_bucket_ownership_controls(Bucket=b)
    expect_error(lambda: s3.get_bucket_ownership_controls(Bucket=b), "OwnershipControlsNotFoundError", 404, "The bucket ownership controls were not found")
    # No controls: ObjectWriter, ACLs on.
    s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="public-read")
    eq(anonymous.get_object(Bucket=b, Key="k")["Body"].read(), b"x", "public by its ACL")
    expect_error(lambda: s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "Nobody"}]}), "MalformedXML", 400)
    expect_error(lambda: s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": []}), "MalformedXML", 400)
    expect_error(lambda: s3.create_bucket(Bucket=unique("own"), ObjectOwnership="Nobody"), "InvalidArgument", 400, "Invalid x-amz-object-ownership header")
    made = acl_bucket("BucketOwnerPreferred", ACL="public-read")
    eq(s3.get_bucket_ownership_controls(Bucket=made)["OwnershipControls"]["Rules"], [{"ObjectOwnership": "BucketOwnerPreferred"}], "created with")
    eq(grants(s3.get_bucket_acl(Bucket=made)), canon([me(), group(ALL_USERS, "READ")]), "created with its canned ACL")

    # A bucket whose ACL grants others cannot become enforced; its objects' ACLs do not matter.
    expect_error(lambda: s3.put_bucket_ownership_controls(Bucket=made, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}),
                 "InvalidBucketAclWithObjectOwnership", 400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
    s3.put_object(Bucket=made, Key="k", Body=b"x", ACL="public-read")
    s3.put_bucket_acl(Bucket=made, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=made, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    # Enforced: the stored ACLs are ignored, and shown as the owner's full control.
    eq(s3.get_object_acl(Bucket=made, Key="k")["Grants"], [me()], "ignored ACL")
    expect_error(lambda: anonymous.get_object(Bucket=made, Key="k"), "AccessDenied", 403)
    # Turned on again, the object's ACL is back.
    s3.put_bucket_ownership_controls(Bucket=made, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    eq(anonymous.get_object(Bucket=made, Key="k")["Body"].read(), b"x", "public again")

    # Creating a bucket with an ownership setting or an ACL takes the permissions to set them.
    creator = client("s3", new_user(client("iam"), ["s3:CreateBucket"]))
    expect_error(lambda: creator.create_bucket(Bucket=unique("own"), ObjectOwnership="ObjectWriter"), "AccessDenied", 403)
    expect_error(lambda: creator.create_bucket(Bucket=unique("own"), ACL="private"), "AccessDenied", 403)
    creator.create_bucket(Bucket=unique("own"))
    granted = client("s3", new_user(client("iam"), ["s3:CreateBucket", "s3:PutBucketOwnershipControls", "s3:PutBucketAcl"]))
    granted.create_bucket(Bucket=unique("own"), ObjectOwnership="ObjectWriter", ACL="private")


def test_canned_acls_expand_as_s3_documents():
    b = acl_bucket()
    expected = {
        "private": [me()],
        "public-read": [me(), group(ALL_USERS, "READ")],
        "public-read-write": [me(), group(ALL_USERS, "READ"), group(ALL_USERS, "WRITE")],
        "authenticated-read": [me(), group(AUTHENTICATED, "READ")],
        "bucket-owner-read": [me()],
        "bucket-owner-full-control": [me()],
        "log-delivery-write": [me(), group(LOG_DELIVERY, "WRITE"), group(LOG_DELIVERY, "READ_ACP")],
    }
    for canned, want in expected.items():
        s3.put_object(Bucket=b, Key=canned, Body=b"x", ACL=canned)
        acl = s3.get_object_acl(Bucket=b, Key=canned)
        eq((acl["Owner"]["ID"], grants(acl)), (OWNER["ID"], canon(want)), canned)
        s3.put_bucket_acl(Bucket=b, ACL=canned)
        eq(grants(s3.get_bucket_acl(Bucket=b)), canon(want), "bucket " + canned)
    s3.put_object(Bucket=b, Key="exec", Body=b"x", ACL="aws-exec-read")
    exec_grants = s3.get_object_acl(Bucket=b, Key="exec")["Grants"]
    eq([g["Permission"] for g in exec_grants], ["FULL_CONTROL", "READ"], "aws-exec-read")
    # Grant headers: exactly the grants named (the owner gets nothing it is not given).
    s3.put_object(Bucket=b, Key="granted", Body=b"x", GrantRead=f'uri="{ALL_USERS}", id="{THEIR_OWNER["ID"]}"', GrantFullControl=f'id={OWNER["ID"]}')
    eq(grants(s3.get_object_acl(Bucket=b, Key="granted")), canon([me(), group(ALL_USERS, "READ"), me("READ", THEIR_OWNER)]), "grant headers")
    # An AccessControlPolicy body.
    s3.put_object_acl(Bucket=b, Key="granted", AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [me("READ_ACP", THEIR_OWNER), me()]})
    eq(grants(s3.get_object_acl(Bucket=b, Key="granted")), canon([me(), me("READ_ACP", THEIR_OWNER)]), "body")


def test_acls_grant_anonymous_and_signed_in_callers():
    b = acl_bucket()
    s3.put_object(Bucket=b, Key="public", Body=b"hello", ACL="public-read")
    s3.put_object(Bucket=b, Key="private", Body=b"no")
    s3.put_object(Bucket=b, Key="members", Body=b"m", ACL="authenticated-read")
    eq(anonymous.get_object(Bucket=b, Key="public")["Body"].read(), b"hello", "anonymous read")
    with urllib.request.urlopen(f"{endpoint()}/{b}/public") as r:
        eq(r.read(), b"hello", "plain HTTP GET")
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="private"), "AccessDenied", 403)
    expect_error(lambda: anonymous.get_object_acl(Bucket=b, Key="public"), "AccessDenied", 403)
    expect_error(lambda: anonymous.list_objects_v2(Bucket=b), "AccessDenied", 403)
    expect_error(lambda: anonymous.put_object(Bucket=b, Key="new", Body=b"x"), "AccessDenied", 403)
    # AuthenticatedUsers: any signed-in AWS caller, never an anonymous one.
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="members"), "AccessDenied", 403)
    eq(theirs.get_object(Bucket=b, Key="members")["Body"].read(), b"m", "another account's root")
    # A user of that account also needs its own account's permission.
    their_iam = client("iam", OTHER_KEYS)
    expect_error(lambda: client("s3", new_user(their_iam)).get_object(Bucket=b, Key="members"), "AccessDenied", 403)
    eq(client("s3", new_user(their_iam, ["s3:GetObject"])).get_object(Bucket=b, Key="members")["Body"].read(), b"m", "their user, allowed by both")
    # public-read-write on the bucket: anyone lists and writes; an anonymous write is the bucket owner's.
    s3.put_bucket_acl(Bucket=b, ACL="public-read-write")
    eq(sorted(o["Key"] for o in anonymous.list_objects_v2(Bucket=b)["Contents"]), ["members", "private", "public"], "anonymous list")
    anonymous.put_object(Bucket=b, Key="dropped", Body=b"d")
    eq(s3.get_object_acl(Bucket=b, Key="dropped")["Owner"]["ID"], OWNER["ID"], "anonymous writes belong to the bucket owner")
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="dropped"), "AccessDenied", 403)
    # Multipart uploads and copies take their ACL from their own headers.
    up = s3.create_multipart_upload(Bucket=b, Key="mp", ACL="public-read")
    part = s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"parts")
    s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    eq(anonymous.get_object(Bucket=b, Key="mp")["Body"].read(), b"parts", "multipart with public-read")
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "public"})
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="copy"), "AccessDenied", 403)
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "private"}, GrantRead=f'uri="{ALL_USERS}"')
    eq(anonymous.get_object(Bucket=b, Key="copy")["Body"].read(), b"no", "copy with a grant header")


def test_explicit_deny_wins_over_an_acl_grant():
    b = acl_bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="public-read")
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/k"}]}))
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    s3.delete_bucket_policy(Bucket=b)
    anonymous.get_object(Bucket=b, Key="k")


def test_objects_written_by_another_account():
    b = acl_bucket()
    expect_error(lambda: theirs.put_object(Bucket=b, Key="t", Body=b"x"), "AccessDenied", 403)
    # WRITE on the bucket lets that account write; with ObjectWriter it owns what it writes.
    s3.put_bucket_acl(Bucket=b, AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [me(), me("WRITE", THEIR_OWNER)]})
    theirs.put_object(Bucket=b, Key="t", Body=b"theirs")
    acl = theirs.get_object_acl(Bucket=b, Key="t")
    eq((acl["Owner"]["ID"], acl["Grants"]), (THEIR_OWNER["ID"], [me(owner=THEIR_OWNER)]), "the writer owns it")
    eq(theirs.get_object(Bucket=b, Key="t")["Body"].read(), b"theirs", "the writer reads it")
    expect_error(lambda: theirs.list_objects_v2(Bucket=b), "AccessDenied", 403)
    # Listings name each object's own owner.
    s3.put_object(Bucket=b, Key="ours", Body=b"o")
    listed = {o["Key"]: o["Owner"]["ID"] for o in s3.list_objects_v2(Bucket=b, FetchOwner=True)["Contents"]}
    eq(listed, {"t": THEIR_OWNER["ID"], "ours": OWNER["ID"]}, "ListObjectsV2 owners")
    eq({o["Key"]: o["Owner"]["ID"] for o in s3.list_objects(Bucket=b)["Contents"]}, listed, "ListObjects owners")
    eq({v["Key"]: v["Owner"]["ID"] for v in s3.list_object_versions(Bucket=b)["Versions"]}, listed, "ListObjectVersions owners")
    s3.delete_object(Bucket=b, Key="ours")
    # The bucket owner may not read it until the writer grants it, but may delete it.
    expect_error(lambda: s3.get_object(Bucket=b, Key="t"), "AccessDenied", 403)
    expect_error(lambda: s3.get_object_acl(Bucket=b, Key="t"), "AccessDenied", 403)
    theirs.put_object_acl(Bucket=b, Key="t", ACL="bucket-owner-read")
    eq(s3.get_object(Bucket=b, Key="t")["Body"].read(), b"theirs", "granted bucket-owner-read")
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="t", ACL="private"), "AccessDenied", 403)
    theirs.put_object(Bucket=b, Key="u", Body=b"u", ACL="bucket-owner-full-control")
    eq(grants(s3.get_object_acl(Bucket=b, Key="u")), canon([me(), me(owner=THEIR_OWNER)]), "bucket-owner-full-control")
    s3.delete_object(Bucket=b, Key="t")
    expect_error(lambda: s3.get_object(Bucket=b, Key="t"), "NoSuchKey", 404)
    # Without s3:ListBucket, S3 does not tell the writer the key is gone.
    expect_error(lambda: theirs.get_object(Bucket=b, Key="t"), "AccessDenied", 403)

    # BucketOwnerPreferred: the bucket owner owns what is written with bucket-owner-full-control.
    s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    theirs.put_object(Bucket=b, Key="preferred", Body=b"p", ACL="bucket-owner-full-control")
    eq(s3.get_object_acl(Bucket=b, Key="preferred")["Owner"]["ID"], OWNER["ID"], "the bucket owner owns it")
    theirs.put_object(Bucket=b, Key="kept", Body=b"k")
    eq(theirs.get_object_acl(Bucket=b, Key="kept")["Owner"]["ID"], THEIR_OWNER["ID"], "without it the writer does")
    # Enforced: the bucket owner owns everything written from now on.
    s3.put_bucket_acl(Bucket=b, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    expect_error(lambda: theirs.put_object(Bucket=b, Key="late", Body=b"x"), "AccessDenied", 403)


def test_version_acls():
    b = acl_bucket()
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one", ACL="public-read")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    eq(anonymous.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(), b"one", "the public version")
    eq(grants(s3.get_object_acl(Bucket=b, Key="k", VersionId=v1)), canon([me(), group(ALL_USERS, "READ")]), "v1's ACL")
    eq(s3.get_object_acl(Bucket=b, Key="k")["Grants"], [me()], "the current version's ACL")
    r = s3.put_object_acl(Bucket=b, Key="k", VersionId=v2, ACL="public-read")
    eq(r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-version-id"), v2, "version header")
    eq(anonymous.get_object(Bucket=b, Key="k")["Body"].read(), b"two", "now public")
    s3.put_object_acl(Bucket=b, Key="k", VersionId=v1, ACL="private")
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="k", VersionId=v1), "AccessDenied", 403)
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", VersionId="nope", ACL="private"), "InvalidArgument", 400)

    # A version belongs to whoever wrote it, even after another account's version replaced it.
    s3.put_bucket_acl(Bucket=b, AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [me(), me("WRITE", THEIR_OWNER)]})
    mine = theirs.put_object(Bucket=b, Key="shared", Body=b"their draft")["VersionId"]
    s3.put_object(Bucket=b, Key="shared", Body=b"final")
    expect_error(lambda: s3.get_object(Bucket=b, Key="shared", VersionId=mine), "AccessDenied", 403)
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="shared", VersionId=mine, ACL="public-read"), "AccessDenied", 403)
    eq(theirs.get_object(Bucket=b, Key="shared", VersionId=mine)["Body"].read(), b"their draft", "the writer still reads its version")
    # Copying that version needs its owner's grant too.
    expect_error(lambda: s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b, "Key": "shared", "VersionId": mine}), "AccessDenied", 403)
    theirs.put_object_acl(Bucket=b, Key="shared", VersionId=mine, ACL="bucket-owner-read")
    s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b, "Key": "shared", "VersionId": mine})
    eq(s3.get_object(Bucket=b, Key="copied")["Body"].read(), b"their draft", "copied once granted")


def test_block_public_access_refuses_and_ignores_public_acls():
    b = acl_bucket()
    s3.put_object(Bucket=b, Key="public", Body=b"x", ACL="public-read")
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    for call in (lambda: s3.put_object(Bucket=b, Key="p", Body=b"x", ACL="public-read"),
                 lambda: s3.put_object(Bucket=b, Key="p", Body=b"x", GrantRead=f'uri="{AUTHENTICATED}"'),
                 lambda: s3.put_object_acl(Bucket=b, Key="public", ACL="authenticated-read"),
                 lambda: s3.put_object_acl(Bucket=b, Key="public", AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [me(), group(ALL_USERS, "READ")]}),
                 lambda: s3.put_bucket_acl(Bucket=b, ACL="public-read-write"),
                 lambda: s3.create_multipart_upload(Bucket=b, Key="p", ACL="public-read"),
                 lambda: s3.copy_object(Bucket=b, Key="p", CopySource={"Bucket": b, "Key": "public"}, ACL="public-read")):
        expect_error(call, "AccessDenied", 403, "Access Denied")
    expect_error(lambda: s3.head_object(Bucket=b, Key="p"), "404", 404)
    s3.put_object(Bucket=b, Key="p", Body=b"x", ACL="bucket-owner-full-control")
    # BlockPublicAcls leaves existing public ACLs in force; IgnorePublicAcls ignores them.
    eq(anonymous.get_object(Bucket=b, Key="public")["Body"].read(), b"x", "not ignored")
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="public"), "AccessDenied", 403)
    s3.put_object_acl(Bucket=b, Key="p", ACL="public-read")  # accepted, and ignored
    expect_error(lambda: anonymous.get_object(Bucket=b, Key="p"), "AccessDenied", 403)
    s3.delete_public_access_block(Bucket=b)
    anonymous.get_object(Bucket=b, Key="public")
    anonymous.get_object(Bucket=b, Key="p")


def test_bad_acls():
    b = acl_bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    expect_error(lambda: s3.put_object(Bucket=b, Key="n", Body=b"x", ACL="public-read", GrantRead=f'uri="{ALL_USERS}"'),
                 "InvalidRequest", 400, "Specifying both Canned ACLs and Header Grants is not allowed")
    expect_error(lambda: s3.put_object(Bucket=b, Key="n", Body=b"x", ACL="nonsense"), "InvalidArgument", 400)
    r = expect_error(lambda: s3.put_object(Bucket=b, Key="n", Body=b"x", GrantRead='emailAddress="someone@example.com"'),
                     "UnresolvableGrantByEmailAddress", 400, "The e-mail address you provided does not match any account on record.")
    eq(r["Error"].get("EmailAddress"), "someone@example.com", "the address")
    r = expect_error(lambda: s3.put_object(Bucket=b, Key="n", Body=b"x", GrantRead='id="' + "0" * 64 + '"'), "InvalidArgument", 400, "Invalid id")
    eq(r["Error"].get("ArgumentName"), "CanonicalUser/ID", "the argument")
    expect_error(lambda: s3.put_object(Bucket=b, Key="n", Body=b"x", GrantRead='uri="http://acs.amazonaws.com/groups/global/Nobody"'), "InvalidArgument", 400, "Invalid group uri")
    expect_error(lambda: s3.put_object(Bucket=b, Key="n", Body=b"x", GrantRead="nothing"), "InvalidArgument", 400)
    expect_error(lambda: s3.head_object(Bucket=b, Key="n"), "404", 404)
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k"), "MissingSecurityHeader", 400)
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", ACL="private", AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [me()]}),
                 "UnexpectedContent", 400)
    malformed = ("MalformedACLError", 400, "The XML you provided was not well-formed or did not validate against our published schema")
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy={"Grants": [me()]}), *malformed)
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": OWNER["ID"]}, "Permission": "ALL"}]}), *malformed)
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [{"Grantee": {"Type": "Group"}, "Permission": "READ"}]}), *malformed)
    expect_error(lambda: s3.put_bucket_acl(Bucket=b, AccessControlPolicy={"Owner": {"ID": OWNER["ID"]}, "Grants": [{"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "x@example.com"}, "Permission": "READ"}]}),
                 "UnresolvableGrantByEmailAddress", 400)
    # An ACL cannot hand the resource to another owner.
    expect_error(lambda: s3.put_bucket_acl(Bucket=b, AccessControlPolicy={"Owner": {"ID": THEIR_OWNER["ID"]}, "Grants": [me()]}), "AccessDenied", 403)
    eq(s3.get_bucket_acl(Bucket=b)["Grants"], [me()], "unchanged")
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="missing", ACL="private"), "NoSuchKey", 404)
    # Reading or writing an ACL is an action of its own, and another account's needs a grant.
    expect_error(lambda: theirs.get_bucket_acl(Bucket=b), "AccessDenied", 403)
    s3.put_bucket_acl(Bucket=b, GrantReadACP=f'id="{THEIR_OWNER["ID"]}"', GrantFullControl=f'id="{OWNER["ID"]}"')
    eq(grants(theirs.get_bucket_acl(Bucket=b)), canon([me(), me("READ_ACP", THEIR_OWNER)]), "granted READ_ACP")
    expect_error(lambda: theirs.put_bucket_acl(Bucket=b, ACL="private"), "AccessDenied", 403)


def test_acl_condition_keys():
    b = acl_bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObjectAcl", "s3:PutBucketAcl"], "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"],
         "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectAcl", "Resource": f"arn:aws:s3:::{b}/*",
         "Condition": {"Null": {"s3:x-amz-grant-read": "false"}}}]}))
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", ACL="public-read"), "AccessDenied", 403)
    expect_error(lambda: s3.put_bucket_acl(Bucket=b, ACL="public-read"), "AccessDenied", 403)
    expect_error(lambda: s3.put_object_acl(Bucket=b, Key="k", GrantRead=f'uri="{ALL_USERS}"'), "AccessDenied", 403)
    s3.put_object_acl(Bucket=b, Key="k", ACL="authenticated-read")
    s3.put_object_acl(Bucket=b, Key="k", GrantFullControl=f'id="{OWNER["ID"]}"')
    eq(s3.get_object_acl(Bucket=b, Key="k")["Grants"], [me()], "the allowed write")


def test_aws_cli_public_object():
    b = unique("cli")
    aws = lambda *args, signed=True: subprocess.run(["aws", "--endpoint-url", endpoint(), "--region", "us-east-1", *([] if signed else ["--no-sign-request"]), "s3api", *args],
                                                    capture_output=True, text=True)
    for args in (["create-bucket", "--bucket", b],
                 ["put-bucket-ownership-controls", "--bucket", b, "--ownership-controls", "Rules=[{ObjectOwnership=ObjectWriter}]"],
                 ["put-object", "--bucket", b, "--key", "hello.txt", "--acl", "public-read", "--body", __file__]):
        out = aws(*args)
        assert out.returncode == 0, out.stderr
    out = aws("get-object-acl", "--bucket", b, "--key", "hello.txt")
    assert out.returncode == 0, out.stderr
    eq(json.loads(out.stdout)["Grants"][1], group(ALL_USERS, "READ"), "the CLI's view")
    target = os.path.join(os.environ.get("TMPDIR", "/tmp"), unique("got"))
    out = aws("get-object", "--bucket", b, "--key", "hello.txt", target, signed=False)
    assert out.returncode == 0, out.stderr
    with open(target, "rb") as got, open(__file__, "rb") as sent:
        eq(got.read(), sent.read(), "read anonymously")
    os.remove(target)
    out = aws("put-object-acl", "--bucket", b, "--key", "hello.txt", "--grant-read", 'emailAddress="a@example.com"')
    assert out.returncode != 0 and "UnresolvableGrantByEmailAddress" in out.stderr, out.stderr


run(globals())
