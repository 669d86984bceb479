"""Server-side encryption in S3 end to end with an unmodified boto3: SSE-S3, SSE-KMS (the account's
aws/s3 key or a key of one's own, with encryption context), SSE-C over HTTPS, bucket default
encryption, ranges, copies and multipart uploads of encrypted objects, and the KMS rules that
govern them (kms:Decrypt for readers, disabled keys, rotation)."""
import base64
import glob
import hashlib
import json
import os

import boto3
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique

cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})


def client(service, creds=None, tls=False):
    kw = {}
    if creds is not None:
        kw = {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1]}
    return boto3.client(service, endpoint_url=endpoint(tls), region_name="us-east-1", config=cfg,
                        verify=os.environ["AWS_CA_BUNDLE"] if tls else None, **kw)


s3 = client("s3")
kms = client("kms")
iam = client("iam")
ACCOUNT = client("sts").get_caller_identity()["Account"]
MARKER = b"STRATA-PLAINTEXT-MARKER-"


def body(size):
    """A body whose plaintext is easy to find on disk if it were stored unencrypted (unique to
    this call, so other tests' unencrypted objects never match)."""
    token = os.urandom(8).hex().encode()
    unit = MARKER + token + b"x" * (40 - len(token))
    return unit * (size // 64) + b"y" * (size % 64)


def bucket():
    b = unique("sse")
    s3.create_bucket(Bucket=b)
    return b


def stored_in_clear(data):
    """True if any stored blob holds these bytes as they are."""
    for path in glob.glob(os.path.join(os.environ["STRATA_DATA_DIR"], "objects", "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if data in f.read():
                    return True
    return False


def test_sse_s3_round_trip_ranges_and_rest():
    b = bucket()
    data = body(300_000)
    r = s3.put_object(Bucket=b, Key="k", Body=data, ServerSideEncryption="AES256")
    eq(r["ServerSideEncryption"], "AES256", "put answer")
    got = s3.get_object(Bucket=b, Key="k")
    eq((got["ServerSideEncryption"], got["Body"].read()), ("AES256", data), "get")
    eq(s3.head_object(Bucket=b, Key="k")["ServerSideEncryption"], "AES256", "head")
    eq(got["ETag"], '"' + hashlib.md5(data).hexdigest() + '"', "ETag is the plaintext MD5")
    for first, last in [(0, 9), (65530, 65545), (131072, 200000), (299990, 299999)]:
        eq(s3.get_object(Bucket=b, Key="k", Range=f"bytes={first}-{last}")["Body"].read(), data[first:last + 1], f"range {first}-{last}")
    assert not stored_in_clear(data[:128]), "the body is stored in the clear"
    s3.put_object(Bucket=b, Key="plain", Body=MARKER + b"unencrypted-control")
    assert stored_in_clear(MARKER + b"unencrypted-control"), "the control object should be found (the check can see blobs)"
    expect_error(lambda: s3.put_object(Bucket=b, Key="x", Body=b"x", ServerSideEncryption="ROT13"), "InvalidArgument", 400)


def test_sse_kms_with_the_aws_managed_key_and_a_key_of_ones_own():
    b = bucket()
    r = s3.put_object(Bucket=b, Key="managed", Body=b"managed", ServerSideEncryption="aws:kms")
    managed = r["SSEKMSKeyId"]
    eq(kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"], managed, "the aws/s3 key")
    key = kms.create_key()["KeyMetadata"]
    context = base64.b64encode(json.dumps({"project": "ml"}).encode()).decode()
    r = s3.put_object(Bucket=b, Key="own", Body=b"own key", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"], SSEKMSEncryptionContext=context)
    eq((r["ServerSideEncryption"], r["SSEKMSKeyId"]), ("aws:kms", key["Arn"]), "put answer")
    got = s3.get_object(Bucket=b, Key="own")
    eq((got["SSEKMSKeyId"], got["Body"].read()), (key["Arn"], b"own key"), "get")
    expect_error(lambda: s3.put_object(Bucket=b, Key="x", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/no-such-key"), "KMS.NotFoundException", 400)
    # Rotation keeps the object readable; disabling the key shuts it.
    if "RotateKeyOnDemand" in kms.meta.service_model.operation_names:
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    eq(s3.get_object(Bucket=b, Key="own")["Body"].read(), b"own key", "after rotation")
    kms.disable_key(KeyId=key["KeyId"])
    expect_error(lambda: s3.get_object(Bucket=b, Key="own"), "KMS.DisabledException", 400)
    expect_error(lambda: s3.put_object(Bucket=b, Key="y", Body=b"y", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"]), "KMS.DisabledException", 400)
    s3.head_object(Bucket=b, Key="own")  # metadata needs no key
    kms.enable_key(KeyId=key["KeyId"])
    eq(s3.get_object(Bucket=b, Key="own")["Body"].read(), b"own key", "enabled again")


def test_reading_sse_kms_needs_kms_decrypt():
    b = bucket()
    key = kms.create_key()["KeyMetadata"]
    s3.put_object(Bucket=b, Key="secret", Body=b"needs decrypt", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    s3.put_object(Bucket=b, Key="open", Body=b"plain")
    name = unique("u")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{b}/*"}]}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    theirs = client("s3", (k["AccessKeyId"], k["SecretAccessKey"]))
    eq(theirs.get_object(Bucket=b, Key="open")["Body"].read(), b"plain", "unencrypted object")
    e = expect_error(lambda: theirs.get_object(Bucket=b, Key="secret"), "AccessDenied", 403)
    assert "kms:Decrypt" in e["Error"]["Message"], e["Error"]["Message"]
    expect_error(lambda: theirs.put_object(Bucket=b, Key="new", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"]), "AccessDenied", 403)
    iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key["Arn"],
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]}))
    eq(theirs.get_object(Bucket=b, Key="secret")["Body"].read(), b"needs decrypt", "with kms:Decrypt via S3")
    theirs.put_object(Bucket=b, Key="new", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"])
    # The same permission does not let the user call KMS directly: it holds only via S3.
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"direct")["CiphertextBlob"]
    expect_error(lambda: client("kms", (k["AccessKeyId"], k["SecretAccessKey"])).decrypt(CiphertextBlob=blob), "AccessDeniedException", 400)


def test_bucket_default_encryption():
    b = bucket()
    expect_error(lambda: s3.get_bucket_encryption(Bucket=b), "ServerSideEncryptionConfigurationNotFoundError", 404)
    key = kms.create_key()["KeyMetadata"]
    s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}, "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
    eq(rule["ApplyServerSideEncryptionByDefault"], {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}, "rule")
    r = s3.put_object(Bucket=b, Key="k", Body=b"by default")
    eq((r["ServerSideEncryption"], r["SSEKMSKeyId"], r.get("BucketKeyEnabled")), ("aws:kms", key["Arn"], True), "default applied")
    eq(s3.put_object(Bucket=b, Key="s", Body=b"x", ServerSideEncryption="AES256")["ServerSideEncryption"], "AES256", "a request's own choice wins")
    s3.delete_bucket_encryption(Bucket=b)
    assert "ServerSideEncryption" not in s3.put_object(Bucket=b, Key="p", Body=b"x")
    eq(s3.get_object(Bucket=b, Key="k")["Body"].read(), b"by default", "earlier object still readable")


def test_copies_and_multipart_uploads_of_encrypted_objects():
    b = bucket()
    key = kms.create_key()["KeyMetadata"]
    part = body(5 * 1024 * 1024)
    up = s3.create_multipart_upload(Bucket=b, Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    eq(up["ServerSideEncryption"], "aws:kms", "upload")
    etags = [s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=part if n == 1 else b"tail")["ETag"] for n in (1, 2)]
    done = s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
    eq(done["ServerSideEncryption"], "aws:kms", "completed")
    eq(s3.get_object(Bucket=b, Key="mp")["Body"].read(), part + b"tail", "multipart body")
    eq(s3.get_object(Bucket=b, Key="mp", Range=f"bytes={len(part) - 2}-{len(part) + 1}")["Body"].read(), part[-2:] + b"ta", "range across parts")
    assert not stored_in_clear(part[:4096]), "a part is stored in the clear"
    c = s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "mp"}, ServerSideEncryption="AES256")
    eq(c["ServerSideEncryption"], "AES256", "copy re-encrypted")
    eq(s3.get_object(Bucket=b, Key="copy")["Body"].read(), part + b"tail", "copy body")
    # Changing only the encryption is a valid copy onto itself.
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "copy"}, ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"])
    eq(s3.head_object(Bucket=b, Key="copy")["SSEKMSKeyId"], key["Arn"], "re-keyed in place")


def test_sse_c_over_https():
    b = bucket()
    secure = client("s3", tls=True)
    customer = os.urandom(32)
    data = body(100_000)
    r = secure.put_object(Bucket=b, Key="c", Body=data, SSECustomerAlgorithm="AES256", SSECustomerKey=customer)
    eq(r["SSECustomerAlgorithm"], "AES256", "put answer")
    assert not stored_in_clear(data[:128]), "an SSE-C body is stored in the clear"
    eq(secure.get_object(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=customer)["Body"].read(), data, "get with the key")
    eq(secure.get_object(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=customer, Range="bytes=70000-70009")["Body"].read(), data[70000:70010], "range")
    expect_error(lambda: secure.get_object(Bucket=b, Key="c"), "InvalidRequest", 400)
    expect_error(lambda: secure.get_object(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32)), "AccessDenied", 403)
    expect_error(lambda: s3.put_object(Bucket=b, Key="d", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=customer), "InvalidRequest", 400)
    # Copying an SSE-C object needs its key for the source.
    secure.copy_object(Bucket=b, Key="plain-copy", CopySource={"Bucket": b, "Key": "c"}, CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=customer)
    eq(s3.get_object(Bucket=b, Key="plain-copy")["Body"].read(), data, "decrypted copy")


run(globals())
