"""Server-side encryption in S3 end to end with an unmodified boto3: SSE-S3, SSE-KMS (the account's
aws/s3 key or a key of one's own, with encryption context), SSE-C over HTTPS, bucket default
encryption, ranges, copies and multipart uploads of encrypted objects, and the KMS rules that
govern them (kms:Decrypt for readers, disabled keys, rotation)."""
import base64
import contextlib
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


def md5_of(key):
    return base64.b64encode(hashlib.md5(key).digest()).decode()


@contextlib.contextmanager
def changed_headers(c, operation, add=None, drop=()):
    """Sends `operation` with headers set or removed after botocore has built them: botocore always
    sends an SSE-C key's MD5 (computing it itself), and GetObject/HeadObject have no parameter for
    the SSE-S3/SSE-KMS headers. A header to drop must have been there, or the test proves nothing."""
    def change(request, **_):
        for name in drop:
            assert name in request.headers, f"{operation} was sent without {name}"
            del request.headers[name]
        for name, value in (add or {}).items():
            del request.headers[name]
            request.headers[name] = value

    event = f"before-sign.s3.{operation}"
    c.meta.events.register(event, change, unique_id="changed-headers")
    try:
        yield
    finally:
        c.meta.events.unregister(event, unique_id="changed-headers")


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


def test_upload_part_copy_answers_with_the_uploads_encryption():
    b = bucket()
    secure = client("s3", tls=True)
    key = kms.create_key()["KeyMetadata"]
    data = body(100_000)
    s3.put_object(Bucket=b, Key="src", Body=data, ServerSideEncryption="AES256")
    up = s3.create_multipart_upload(Bucket=b, Key="kms", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"], BucketKeyEnabled=True)
    r = s3.upload_part_copy(Bucket=b, Key="kms", UploadId=up["UploadId"], PartNumber=1, CopySource={"Bucket": b, "Key": "src"})
    eq((r.get("ServerSideEncryption"), r.get("SSEKMSKeyId"), r.get("BucketKeyEnabled")), ("aws:kms", key["Arn"], True), "UploadPartCopy into an SSE-KMS upload")
    s3.complete_multipart_upload(Bucket=b, Key="kms", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    eq(s3.get_object(Bucket=b, Key="kms")["Body"].read(), data, "the copied part")

    # SSE-C on both sides: the source answers only to its own key (as for CopyObject), the part
    # is sealed with the upload's, and the answer echoes the upload's algorithm and key MD5.
    source_key, upload_key = os.urandom(32), os.urandom(32)
    secure.put_object(Bucket=b, Key="c-src", Body=data, SSECustomerAlgorithm="AES256", SSECustomerKey=source_key)
    up = secure.create_multipart_upload(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=upload_key)
    copy = {"Bucket": b, "Key": "c", "UploadId": up["UploadId"], "PartNumber": 1, "CopySource": {"Bucket": b, "Key": "c-src"},
            "SSECustomerAlgorithm": "AES256", "SSECustomerKey": upload_key}
    expect_error(lambda: secure.upload_part_copy(**copy), "InvalidRequest", 400)
    expect_error(lambda: secure.upload_part_copy(**copy, CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=upload_key), "AccessDenied", 403)
    r = secure.upload_part_copy(**copy, CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=source_key)
    eq((r.get("SSECustomerAlgorithm"), r.get("SSECustomerKeyMD5"), r.get("ServerSideEncryption")), ("AES256", md5_of(upload_key), None), "UploadPartCopy into an SSE-C upload")
    secure.complete_multipart_upload(Bucket=b, Key="c", UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    eq(secure.get_object(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=upload_key)["Body"].read(), data, "the SSE-C copied part")


def test_reads_refuse_the_headers_that_choose_an_encryption():
    b = bucket()
    key = kms.create_key()["KeyMetadata"]
    s3.put_object(Bucket=b, Key="s3", Body=b"sse-s3", ServerSideEncryption="AES256")
    s3.put_object(Bucket=b, Key="kms", Body=b"sse-kms", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    context = base64.b64encode(json.dumps({"project": "ml"}).encode()).decode()
    for name, value in [("x-amz-server-side-encryption", "AES256"), ("x-amz-server-side-encryption", "aws:kms"),
                        ("x-amz-server-side-encryption-aws-kms-key-id", key["Arn"]), ("x-amz-server-side-encryption-context", context),
                        ("x-amz-server-side-encryption-bucket-key-enabled", "true")]:
        for k in ("s3", "kms"):
            with changed_headers(s3, "GetObject", add={name: value}):
                e = expect_error(lambda: s3.get_object(Bucket=b, Key=k), "InvalidArgument", 400, "x-amz-server-side-encryption header is not supported for this operation.")
            eq(e["Error"].get("ArgumentName"), name, "the refused header")
            with changed_headers(s3, "HeadObject", add={name: value}):
                expect_error(lambda: s3.head_object(Bucket=b, Key=k), "400", 400)  # a HEAD error has no body
    eq((s3.get_object(Bucket=b, Key="s3")["Body"].read(), s3.get_object(Bucket=b, Key="kms")["Body"].read()), (b"sse-s3", b"sse-kms"), "plain reads")
    eq(s3.head_object(Bucket=b, Key="kms")["SSEKMSKeyId"], key["Arn"], "plain head")
    # An SSE-C object still takes (and needs) its SSE-C headers, but not the others.
    secure = client("s3", tls=True)
    customer = os.urandom(32)
    secure.put_object(Bucket=b, Key="c", Body=b"sse-c", SSECustomerAlgorithm="AES256", SSECustomerKey=customer)
    with changed_headers(secure, "GetObject", add={"x-amz-server-side-encryption": "AES256"}):
        expect_error(lambda: secure.get_object(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=customer), "InvalidArgument", 400)
    eq(secure.head_object(Bucket=b, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=customer)["SSECustomerKeyMD5"], md5_of(customer), "SSE-C head")


def test_sse_c_requests_must_carry_the_keys_md5():
    b = bucket()
    secure = client("s3", tls=True)
    customer = os.urandom(32)
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": customer}
    source_c = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": customer}
    md5_header = "x-amz-server-side-encryption-customer-key-MD5"
    source_md5_header = "x-amz-copy-source-server-side-encryption-customer-key-MD5"

    def refused_without(operation, call, header=md5_header):
        with changed_headers(secure, operation, drop=[header]):
            expect_error(call, "InvalidArgument", 400, "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")

    refused_without("PutObject", lambda: secure.put_object(Bucket=b, Key="c", Body=b"x", **sse_c))
    expect_error(lambda: s3.head_object(Bucket=b, Key="c"), "404", 404)  # nothing was written
    refused_without("CreateMultipartUpload", lambda: secure.create_multipart_upload(Bucket=b, Key="m", **sse_c))
    data = body(10_000)
    secure.put_object(Bucket=b, Key="c", Body=data, **sse_c)
    refused_without("GetObject", lambda: secure.get_object(Bucket=b, Key="c", **sse_c))
    with changed_headers(secure, "HeadObject", drop=[md5_header]):
        expect_error(lambda: secure.head_object(Bucket=b, Key="c", **sse_c), "400", 400)
    refused_without("CopyObject", lambda: secure.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "c"}, **source_c), source_md5_header)
    refused_without("CopyObject", lambda: secure.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "c"}, **source_c, **sse_c))
    up = secure.create_multipart_upload(Bucket=b, Key="m", **sse_c)
    refused_without("UploadPart", lambda: secure.upload_part(Bucket=b, Key="m", UploadId=up["UploadId"], PartNumber=1, Body=b"part", **sse_c))
    part_copy = {"Bucket": b, "Key": "m", "UploadId": up["UploadId"], "PartNumber": 1, "CopySource": {"Bucket": b, "Key": "c"}}
    refused_without("UploadPartCopy", lambda: secure.upload_part_copy(**part_copy, **sse_c, **source_c))
    refused_without("UploadPartCopy", lambda: secure.upload_part_copy(**part_copy, **sse_c, **source_c), source_md5_header)
    # A plain object's read checks SSE-C headers as well, though it needs no key.
    s3.put_object(Bucket=b, Key="plain", Body=b"plain")
    refused_without("GetObject", lambda: secure.get_object(Bucket=b, Key="plain", **sse_c))
    # An MD5 that is not the key's is refused too; with all three right, each works.
    wrong = {md5_header: md5_of(os.urandom(32))}
    for operation, call in [("PutObject", lambda: secure.put_object(Bucket=b, Key="w", Body=b"x", **sse_c)),
                            ("GetObject", lambda: secure.get_object(Bucket=b, Key="c", **sse_c))]:
        with changed_headers(secure, operation, add=wrong):
            expect_error(call, "InvalidArgument", 400, "The calculated MD5 hash of the key did not match the hash that was provided.")
    eq(secure.get_object(Bucket=b, Key="c", **sse_c)["Body"].read(), data, "with the MD5")
    r = secure.upload_part_copy(**part_copy, **sse_c, **source_c)
    eq(r.get("SSECustomerKeyMD5"), md5_of(customer), "UploadPartCopy with both MD5s")


run(globals())
