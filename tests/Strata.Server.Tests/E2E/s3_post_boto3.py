"""S3 browser-based uploads (POST Object) end to end: the form and its policy made by boto3's own
generate_presigned_post (SigV4, and the SigV2 botocore still makes by default), submitted as a
Chromium form submit sends it (multipart/form-data, Origin, Cache-Control: max-age=0, ...), and the
object read back with get_object. Runs on a server whose clock the test drives (policy expiry)."""
import base64
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import boto3
from botocore.config import Config

from harness import advance, client, endpoint, eq, iam_user, run, unique, validate_responses

APP = "https://app.example.com"
s3 = validate_responses(client("s3"))
iam = client("iam")


def v4(keys=None):
    """A client that signs its presigned posts with SigV4 (botocore's default is still SigV2)."""
    extra = {"aws_access_key_id": keys[0], "aws_secret_access_key": keys[1]} if keys else {}
    return boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1",
                        config=Config(signature_version="s3v4", retries={"max_attempts": 1}), **extra)


S3V4 = v4()


def bucket():
    b = unique("post")
    s3.create_bucket(Bucket=b)
    return b


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 303 itself is what the test reads


OPENER = urllib.request.build_opener(_NoRedirect)


def form_body(fields, content, filename):
    """multipart/form-data as a browser builds it: the fields in order, the file last."""
    boundary = "----WebKitFormBoundary" + uuid.uuid4().hex[:16]
    body = b""
    for name, value in fields:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def submit(post, content=b"hello, browser", filename="notes.txt", extra=(), replace=None, drop=()):
    """Posts the form of a generate_presigned_post answer (with `extra` fields added, `replace`
    values changed, `drop` fields left out); (status, lower-cased headers, body)."""
    fields = dict(post["fields"])
    fields.update(replace or {})
    pairs = [(k, v) for k, v in fields.items() if k not in drop] + list(extra)
    body, content_type = form_body(pairs, content, filename)
    request = urllib.request.Request(post["url"], data=body, method="POST", headers={
        "Cache-Control": "max-age=0",
        "Origin": APP,
        "Content-Type": content_type,
        "Upgrade-Insecure-Requests": "1",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Dest": "document",
        "Referer": APP + "/upload",
        "Accept-Language": "en-US,en;q=0.9",
    })
    try:
        with OPENER.open(request, timeout=60) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def refused(answer, status, code, message=None):
    got, _, body = answer
    root = ET.fromstring(body)
    eq((got, root.findtext("Code")), (status, code), f"the refusal ({root.findtext('Message')})")
    if message is not None:
        eq(root.findtext("Message"), message, "the message")
    return root


def absent(b, key):
    try:
        s3.head_object(Bucket=b, Key=key)
    except s3.exceptions.ClientError as e:
        eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 404, f"{key} after a refused upload")
        return
    raise AssertionError(f"{key} was stored by a refused upload")


def test_default_answer_is_204_and_the_object_is_as_the_form_says():
    for name, signer in (("SigV4", S3V4), ("SigV2", s3)):
        b = bucket()
        post = signer.generate_presigned_post(b, "uploads/${filename}", Fields={"Content-Type": "text/plain", "x-amz-meta-owner": "alice"},
                                              Conditions=[{"Content-Type": "text/plain"}, {"x-amz-meta-owner": "alice"}], ExpiresIn=600)
        status, headers, body = submit(post, b"hello, browser", filename="notes.txt")
        eq((status, body), (204, b""), f"{name}: the answer")
        etag = '"' + hashlib.md5(b"hello, browser").hexdigest() + '"'
        eq(headers.get("etag"), etag, f"{name}: the ETag")
        eq(headers.get("location"), f"{post['url']}/uploads/notes.txt", f"{name}: the Location")
        got = s3.get_object(Bucket=b, Key="uploads/notes.txt")
        eq(got["Body"].read(), b"hello, browser", f"{name}: the stored bytes")
        eq((got["ContentType"], got["Metadata"], got["ETag"]), ("text/plain", {"owner": "alice"}, etag), f"{name}: the stored headers")
        # The browser's own Cache-Control (max-age=0) describes its request, not the object.
        eq(got.get("CacheControl"), None, f"{name}: a request header is not stored")


def test_201_answers_with_a_post_response_document():
    b = bucket()
    post = S3V4.generate_presigned_post(b, "doc.txt", Fields={"success_action_status": "201"}, Conditions=[{"success_action_status": "201"}])
    status, headers, body = submit(post, b"document")
    eq(status, 201, "the status")
    root = ET.fromstring(body)
    eq(root.tag, "PostResponse", "the document")
    eq((root.findtext("Bucket"), root.findtext("Key"), root.findtext("ETag"), root.findtext("Location")),
       (b, "doc.txt", '"' + hashlib.md5(b"document").hexdigest() + '"', f"{post['url']}/doc.txt"), "its members")
    eq(s3.get_object(Bucket=b, Key="doc.txt")["Body"].read(), b"document", "the object")


def test_success_action_redirect_answers_303_with_bucket_key_and_etag():
    b = bucket()
    target = APP + "/done?from=upload"
    post = S3V4.generate_presigned_post(b, "photos/${filename}", Fields={"success_action_redirect": target},
                                        Conditions=[{"success_action_redirect": target}])
    status, headers, _ = submit(post, b"\x89PNG...", filename="cat.png")
    eq(status, 303, "the status")
    location = urllib.parse.urlsplit(headers["location"])
    eq(f"{location.scheme}://{location.netloc}{location.path}", APP + "/done", "the redirect target")
    eq(urllib.parse.parse_qs(location.query), {"from": ["upload"], "bucket": [b], "key": ["photos/cat.png"],
                                                "etag": ['"' + hashlib.md5(b"\x89PNG...").hexdigest() + '"']}, "its query")
    eq(s3.get_object(Bucket=b, Key="photos/cat.png")["Body"].read(), b"\x89PNG...", "the object")


def test_tagging_and_encryption_fields_apply_to_the_object():
    b = bucket()
    tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>ml ops</Value></Tag></TagSet></Tagging>"
    post = S3V4.generate_presigned_post(b, "tagged.bin", Fields={"tagging": tagging, "x-amz-server-side-encryption": "AES256"},
                                        Conditions=[{"tagging": tagging}, {"x-amz-server-side-encryption": "AES256"}])
    status, headers, _ = submit(post, b"secret")
    eq((status, headers.get("x-amz-server-side-encryption")), (204, "AES256"), "the answer")
    eq(s3.get_object_tagging(Bucket=b, Key="tagged.bin")["TagSet"], [{"Key": "team", "Value": "ml ops"}], "the tags")
    got = s3.get_object(Bucket=b, Key="tagged.bin")
    eq((got["ServerSideEncryption"], got["Body"].read()), ("AES256", b"secret"), "the encrypted object")


def test_checksum_algorithm_and_storage_class_fields_apply_to_the_object():
    b = bucket()
    fields = {"x-amz-checksum-algorithm": "SHA256", "x-amz-storage-class": "STANDARD_IA"}
    post = S3V4.generate_presigned_post(b, "summed.bin", Fields=fields, Conditions=[{k: v} for k, v in fields.items()])
    status, _, _ = submit(post, b"sum me")
    eq(status, 204, "the answer")
    head = s3.head_object(Bucket=b, Key="summed.bin", ChecksumMode="ENABLED")
    eq(head.get("ChecksumSHA256"), base64.b64encode(hashlib.sha256(b"sum me").digest()).decode(), "the checksum S3 computed")
    eq(head.get("StorageClass"), "STANDARD_IA", "the storage class")
    bad = {"x-amz-checksum-algorithm": "MD4"}
    post = S3V4.generate_presigned_post(b, "unsummed.bin", Fields=bad, Conditions=[bad])
    refused(submit(post, b"x"), 400, "InvalidRequest")
    absent(b, "unsummed.bin")
    cold = {"x-amz-storage-class": "TAPE"}
    post = S3V4.generate_presigned_post(b, "tape.bin", Fields=cold, Conditions=[cold])
    refused(submit(post, b"x"), 400, "InvalidStorageClass", "The storage class you specified is not valid")
    absent(b, "tape.bin")


def test_content_length_range_refuses_a_file_too_small_or_too_large():
    b = bucket()
    post = S3V4.generate_presigned_post(b, "sized.txt", Conditions=[["content-length-range", 5, 10]])
    small = refused(submit(post, b"abc"), 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
    eq((small.findtext("ProposedSize"), small.findtext("MinSizeAllowed")), ("3", "5"), "the sizes")
    large = refused(submit(post, b"x" * 64), 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    eq(large.findtext("MaxSizeAllowed"), "10", "the limit")
    absent(b, "sized.txt")
    eq(submit(post, b"just right")[0], 204, "within the range")


def test_a_tampered_policy_or_signature_or_an_unknown_key_is_refused():
    b = bucket()
    post = S3V4.generate_presigned_post(b, "mine/${filename}")
    policy = json.loads(__import__("base64").b64decode(post["fields"]["policy"]))
    policy["conditions"] = [["starts-with", "$key", ""] if isinstance(c, list) else c for c in policy["conditions"]]
    forged = __import__("base64").b64encode(json.dumps(policy).encode()).decode()
    root = refused(submit(post, replace={"policy": forged}), 403, "SignatureDoesNotMatch")
    eq(root.findtext("StringToSign"), forged, "what was signed")
    refused(submit(post, replace={"x-amz-signature": "0" * 64}), 403, "SignatureDoesNotMatch")
    stranger = v4(("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")).generate_presigned_post(b, "x")
    root = refused(submit(stranger), 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    eq(root.findtext("AWSAccessKeyId"), "AKIAIOSFODNN7EXAMPLE", "the key named")
    legacy = s3.generate_presigned_post(b, "old.txt")
    refused(submit(legacy, replace={"signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}), 403, "SignatureDoesNotMatch")
    absent(b, "old.txt")


def test_the_policy_expires_by_the_server_clock():
    b = bucket()
    past = S3V4.generate_presigned_post(b, "late.txt", ExpiresIn=-60)
    refused(submit(past), 403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    post = S3V4.generate_presigned_post(b, "soon.txt", ExpiresIn=3600)
    eq(submit(post, b"on time")[0], 204, "within the hour")
    advance(2 * 3600)
    refused(submit(post, b"too late"), 403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    eq(s3.get_object(Bucket=b, Key="soon.txt")["Body"].read(), b"on time", "the object of the upload in time")


def test_every_field_must_be_in_the_policy_and_meet_its_conditions():
    b = bucket()
    post = S3V4.generate_presigned_post(b, "uploads/${filename}")
    refused(submit(post, extra=[("x-amz-meta-sneaky", "1")]), 403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky")
    refused(submit(post, replace={"key": "elsewhere/${filename}"}), 403, "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "uploads/"]')
    absent(b, "elsewhere/notes.txt")
    # Fields a page adds for itself (x-ignore-*) need no condition.
    eq(submit(post, extra=[("x-ignore-tracking", "abc")])[0], 204, "an x-ignore- field")


def test_malformed_forms_are_refused_in_s3s_words():
    b = bucket()
    post = S3V4.generate_presigned_post(b, "k.txt")
    refused(submit(post, drop=("key",)), 400, "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
    refused(submit(post, drop=("x-amz-signature",)), 400, "InvalidArgument",
            "Bucket POST must contain a field named 'x-amz-signature'.  If it is specified, please check the order of the fields.")
    request = urllib.request.Request(post["url"], data=b"--xyz\r\nnot a part", method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    try:
        OPENER.open(request, timeout=60)
        raise AssertionError("a malformed form was accepted")
    except urllib.error.HTTPError as e:
        refused((e.code, {}, e.read()), 400, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")


def test_an_iam_user_needs_s3_put_object():
    b = bucket()
    _, reader = iam_user(iam, "reader", ["s3:GetObject"])
    post = v4(reader).generate_presigned_post(b, "by-reader.txt")
    refused(submit(post), 403, "AccessDenied", "Access Denied")
    absent(b, "by-reader.txt")
    _, writer = iam_user(iam, "writer", ["s3:PutObject"])
    post = v4(writer).generate_presigned_post(b, "by-writer.txt")
    eq(submit(post, b"written")[0], 204, "a user allowed s3:PutObject")
    eq(s3.get_object(Bucket=b, Key="by-writer.txt")["Body"].read(), b"written", "the writer's object")


def test_an_anonymous_form_needs_a_bucket_policy_that_allows_it():
    b = bucket()
    anonymous = {"url": f"{endpoint()}/{b}", "fields": {"key": "drop/${filename}", "Content-Type": "text/plain"}}
    refused(submit(anonymous), 403, "AccessDenied", "Access Denied")
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{b}/drop/*"}]}))
    eq(submit(anonymous, b"from anyone", filename="inbox.txt")[0], 204, "allowed by the bucket policy")
    eq(s3.get_object(Bucket=b, Key="drop/inbox.txt")["ContentType"], "text/plain", "the anonymous object")


def test_cors_headers_answer_the_browser_on_success_and_refusal():
    b = bucket()
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [APP], "AllowedMethods": ["POST"], "ExposeHeaders": ["ETag", "Location"]}]})
    post = S3V4.generate_presigned_post(b, "cors.txt")
    status, headers, _ = submit(post)
    eq((status, headers.get("access-control-allow-origin"), headers.get("access-control-expose-headers")), (204, APP, "ETag, Location"), "an upload")
    status, headers, _ = submit(post, replace={"x-amz-signature": "0" * 64})
    eq((status, headers.get("access-control-allow-origin")), (403, APP), "a refusal is readable by the page too")
    plain = bucket()
    _, headers, _ = submit(S3V4.generate_presigned_post(plain, "x.txt"))
    eq(headers.get("access-control-allow-origin"), None, "a bucket without CORS rules")


if __name__ == "__main__":
    run(globals())
