"""S3 end to end with an unmodified boto3 (run by both the image's boto3 1.43 and Debian's 1.26)."""
import base64
import datetime
import hashlib
import io
import os
import socket
import time
import urllib.error
import urllib.request
import zlib

import boto3
import botocore
import botocore.auth
import botocore.exceptions
from botocore.config import Config
from botocore import UNSIGNED

from harness import endpoint, eq, expect_error, run, unique, validate_responses

MIB = 1024 * 1024
NEW_BOTOCORE = tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= (1, 36)


def client(tls=False, **config):
    return validate_responses(boto3.client(
        "s3",
        endpoint_url=endpoint(tls),
        region_name="us-east-1",
        verify=os.environ["AWS_CA_BUNDLE"] if tls else None,
        config=Config(retries={"max_attempts": 1}, **config),
    ))


s3 = client()


def bucket():
    name = unique("b")
    s3.create_bucket(Bucket=name)
    return name


def body_of(key, b, **kw):
    return s3.get_object(Bucket=b, Key=key, **kw)["Body"].read()


# ---- buckets ----

def test_bucket_lifecycle():
    name = unique("life")
    s3.create_bucket(Bucket=name)
    s3.head_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    owner = s3.list_buckets()["Owner"]
    eq(len(owner["ID"]), 64, "canonical user id length")
    eq(s3.get_bucket_location(Bucket=name)["LocationConstraint"], None, "us-east-1 location")
    expect_error(lambda: s3.create_bucket(Bucket=name), "BucketAlreadyOwnedByYou", 409)
    s3.put_object(Bucket=name, Key="x", Body=b"1")
    expect_error(lambda: s3.delete_bucket(Bucket=name), "BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="x")
    s3.delete_bucket(Bucket=name)
    expect_error(lambda: s3.head_bucket(Bucket=name), "404", 404)
    expect_error(lambda: s3.delete_bucket(Bucket=name), "NoSuchBucket", 404)
    expect_error(lambda: s3.list_objects_v2(Bucket=name), "NoSuchBucket", 404)


def test_invalid_bucket_names():
    for bad in ["ab", "Upper-case", "a" * 64, "bad..dots", "192.168.1.1", "-start", "end-", "xn--punycode", "under_score"]:
        expect_error(lambda: s3.create_bucket(Bucket=bad), "InvalidBucketName", 400)


def test_location_constraint():
    expect_error(lambda: s3.create_bucket(Bucket=unique("loc"), CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}),
                 "IllegalLocationConstraintException", 400)


# ---- objects ----

def test_put_get_head_with_metadata_and_headers():
    b = bucket()
    r = s3.put_object(Bucket=b, Key="a/b.txt", Body=b"hello world", ContentType="text/plain", Metadata={"Color": "blue", "n": "1"},
                      CacheControl="max-age=60", ContentDisposition="attachment", ContentLanguage="en", ContentEncoding="identity",
                      Expires=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc))
    eq(r["ETag"], '"' + hashlib.md5(b"hello world").hexdigest() + '"', "etag")
    g = s3.get_object(Bucket=b, Key="a/b.txt")
    eq(g["Body"].read(), b"hello world", "body")
    eq(g["ContentType"], "text/plain", "content type")
    eq(g["Metadata"], {"color": "blue", "n": "1"}, "metadata")
    eq(g["CacheControl"], "max-age=60", "cache control")
    eq(g["ContentDisposition"], "attachment", "disposition")
    eq(g["ContentLanguage"], "en", "language")
    eq(g["ContentLength"], 11, "length")
    h = s3.head_object(Bucket=b, Key="a/b.txt")
    eq(h["ETag"], r["ETag"], "head etag")
    eq(h["ContentLength"], 11, "head length")
    assert h["Expires"].year == 2030 if "Expires" in h else True
    s3.put_object(Bucket=b, Key="noct", Body=b"x")
    eq(s3.head_object(Bucket=b, Key="noct")["ContentType"], "binary/octet-stream", "default content type")


def test_overwrite_and_empty_object():
    b = bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"first")
    s3.put_object(Bucket=b, Key="k", Body=b"second!")
    eq(body_of("k", b), b"second!", "overwritten")
    s3.put_object(Bucket=b, Key="empty", Body=b"")
    eq(body_of("empty", b), b"", "empty body")
    eq(s3.head_object(Bucket=b, Key="empty")["ETag"], '"d41d8cd98f00b204e9800998ecf8427e"', "empty etag")


def test_missing_key_and_bucket():
    b = bucket()
    r = expect_error(lambda: s3.get_object(Bucket=b, Key="nope"), "NoSuchKey", 404)
    eq(r["Error"].get("Key"), "nope", "error names the key")
    expect_error(lambda: s3.head_object(Bucket=b, Key="nope"), "404", 404)
    expect_error(lambda: s3.get_object(Bucket=unique("missing"), Key="k"), "NoSuchBucket", 404)
    expect_error(lambda: s3.put_object(Bucket=unique("missing"), Key="k", Body=b"1"), "NoSuchBucket", 404)
    s3.delete_object(Bucket=b, Key="nope")  # deleting what is not there succeeds


def test_ranges():
    b = bucket()
    data = bytes(range(256)) * 4
    s3.put_object(Bucket=b, Key="r", Body=data)
    g = s3.get_object(Bucket=b, Key="r", Range="bytes=10-19")
    eq(g["Body"].read(), data[10:20], "bytes=10-19")
    eq(g["ContentRange"], f"bytes 10-19/{len(data)}", "content-range")
    eq(g["ResponseMetadata"]["HTTPStatusCode"], 206, "partial status")
    eq(body_of("r", b, Range="bytes=-5"), data[-5:], "suffix range")
    eq(body_of("r", b, Range="bytes=1000-"), data[1000:], "open range")
    eq(body_of("r", b, Range="bytes=1000-5000"), data[1000:], "range past end is clipped")
    expect_error(lambda: s3.get_object(Bucket=b, Key="r", Range="bytes=5000-6000"), "InvalidRange", 416)


def test_conditional_get():
    b = bucket()
    etag = s3.put_object(Bucket=b, Key="c", Body=b"cond")["ETag"]
    modified = s3.head_object(Bucket=b, Key="c")["LastModified"]
    eq(body_of("c", b, IfMatch=etag), b"cond", "If-Match hit")
    expect_error(lambda: s3.get_object(Bucket=b, Key="c", IfMatch='"0000"'), "PreconditionFailed", 412)
    expect_error(lambda: s3.get_object(Bucket=b, Key="c", IfNoneMatch=etag), "304", 304)
    expect_error(lambda: s3.get_object(Bucket=b, Key="c", IfModifiedSince=modified), "304", 304)
    eq(body_of("c", b, IfModifiedSince=modified - datetime.timedelta(hours=1)), b"cond", "modified since earlier")
    expect_error(lambda: s3.get_object(Bucket=b, Key="c", IfUnmodifiedSince=modified - datetime.timedelta(hours=1)), "PreconditionFailed", 412)
    expect_error(lambda: s3.head_object(Bucket=b, Key="c", IfMatch='"0000"'), "412", 412)


def test_conditional_put():
    if not NEW_BOTOCORE:
        return  # IfNoneMatch on PutObject arrived in botocore 1.35
    b = bucket()
    s3.put_object(Bucket=b, Key="once", Body=b"1", IfNoneMatch="*")
    expect_error(lambda: s3.put_object(Bucket=b, Key="once", Body=b"2", IfNoneMatch="*"), "PreconditionFailed", 412)
    eq(body_of("once", b), b"1", "first write kept")


def test_response_overrides():
    b = bucket()
    s3.put_object(Bucket=b, Key="o", Body=b"x", ContentType="text/plain")
    g = s3.get_object(Bucket=b, Key="o", ResponseContentType="application/json", ResponseContentDisposition="inline; filename=a.json",
                      ResponseCacheControl="no-cache", ResponseContentLanguage="fr")
    eq(g["ContentType"], "application/json", "override type")
    eq(g["ContentDisposition"], "inline; filename=a.json", "override disposition")
    eq(g["CacheControl"], "no-cache", "override cache")
    eq(g["ContentLanguage"], "fr", "override language")
    # A header cannot carry a control character: the override is refused, not answered with a 500.
    expect_error(lambda: s3.get_object(Bucket=b, Key="o", ResponseContentType="a\x00b"), "InvalidArgument", 400)


def signed_raw_request(method, b, key, headers, body=b""):
    """Sends a request boto3 will not send (it refuses non-ASCII metadata), signed with botocore's
    own SigV4, with header values as raw UTF-8 bytes on the wire. Returns (status, headers, body)."""
    import http.client
    import urllib.parse
    from botocore.awsrequest import AWSRequest
    url = f"{endpoint()}/{b}/{urllib.parse.quote(key)}"
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers, **{"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}))
    botocore.auth.SigV4Auth(boto3.Session().get_credentials(), "s3", "us-east-1").add_auth(request)
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port)
    conn.putrequest(method, parsed.path, skip_accept_encoding=True)
    for name, value in request.headers.items():
        conn.putheader(name, value.encode("utf-8") if isinstance(value, str) else value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    return response.status, response.headers, response.read()


def rfc2047(value):
    """The text of one RFC 2047 encoded word as S3 sends non-ASCII header values."""
    import email.header
    return "".join(part.decode(charset) if charset else (part.decode() if isinstance(part, bytes) else part)
                   for part, charset in email.header.decode_header(value))


def test_non_ascii_header_values_stay_readable():
    """S3 stores non-ASCII metadata and answers it RFC 2047-encoded: a stored value never makes
    the object unreadable (it made GET/HEAD answer 500), through GET, HEAD and a copy."""
    b = bucket()
    # boto3 (both versions) refuses to send non-ASCII metadata; other clients send raw UTF-8.
    try:
        s3.put_object(Bucket=b, Key="k", Body=b"x", Metadata={"name": "caf\u00e9"})
        raise AssertionError("boto3 sent non-ASCII metadata")
    except botocore.exceptions.ParamValidationError:
        pass
    name, disposition = "caf\u00e9 \u65e5\u672c", 'attachment; filename="r\u00e9sum\u00e9.pdf"'
    status, _, text = signed_raw_request("PUT", b, "k", {"x-amz-meta-name": name, "x-amz-meta-plain": "ascii", "Content-Disposition": disposition,
                                                         "Content-Type": "text/plain; charset=\u00fctf-8"}, b"body")
    eq(status, 200, f"raw PUT: {text[:300]!r}")
    for read in (lambda: s3.head_object(Bucket=b, Key="k"), lambda: s3.get_object(Bucket=b, Key="k")):
        r = read()
        assert r["Metadata"]["name"].startswith("=?UTF-8?B?"), r["Metadata"]
        eq(rfc2047(r["Metadata"]["name"]), name, "metadata decoded")
        eq(r["Metadata"]["plain"], "ascii", "ASCII metadata unchanged")
        eq(rfc2047(r["ContentDisposition"]), disposition, "disposition decoded")
        eq(rfc2047(r["ContentType"]), "text/plain; charset=\u00fctf-8", "type decoded")
    eq(body_of("k", b), b"body", "body")
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "k"})
    eq(rfc2047(s3.head_object(Bucket=b, Key="copy")["Metadata"]["name"]), name, "copied metadata readable")
    # An override a header cannot carry is refused, not answered with a 500.
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", ResponseContentDisposition="attachment; filename=\u00e9.pdf"), "InvalidArgument", 400)


def test_unicode_and_long_keys():
    b = bucket()
    keys = ["ünïcødé/ключ/鍵.txt", "space key+plus&amp=eq?q#h", "a//double//slash", "emoji-🚀", "k" * 1024, "%2F-literal-percent", "~tilde'quote\"()*!"]
    for k in keys:
        s3.put_object(Bucket=b, Key=k, Body=k.encode())
        eq(body_of(k, b), k.encode(), f"round trip of {k[:30]!r}")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]]
    eq(sorted(listed, key=lambda s: s.encode()), sorted(keys, key=lambda s: s.encode()), "listing in UTF-8 byte order")
    eq(listed, sorted(keys, key=lambda s: s.encode()), "listing order")
    expect_error(lambda: s3.put_object(Bucket=b, Key="k" * 1025, Body=b"x"), "KeyTooLongError", 400)


def test_delete_objects():
    b = bucket()
    for i in range(5):
        s3.put_object(Bucket=b, Key=f"d/{i}", Body=b"x")
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "d/0"}, {"Key": "d/1"}, {"Key": "d/missing"}]})
    eq(sorted(d["Key"] for d in r["Deleted"]), ["d/0", "d/1", "d/missing"], "deleted")
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "d/2"}], "Quiet": True})
    eq(r.get("Deleted", []), [], "quiet mode lists nothing")
    eq([o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]], ["d/3", "d/4"], "remaining")
    expect_error(lambda: s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": str(i)} for i in range(1001)]}), "MalformedXML", 400)


def test_copy_object():
    b = bucket()
    s3.put_object(Bucket=b, Key="src", Body=b"copy me", ContentType="text/plain", Metadata={"m": "1"}, Tagging="t=1")
    r = s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"})
    eq(r["CopyObjectResult"]["ETag"], '"' + hashlib.md5(b"copy me").hexdigest() + '"', "copy etag")
    g = s3.get_object(Bucket=b, Key="dst")
    eq(g["Body"].read(), b"copy me", "copied body")
    eq(g["Metadata"], {"m": "1"}, "metadata copied")
    eq(g["ContentType"], "text/plain", "type copied")
    eq(s3.get_object_tagging(Bucket=b, Key="dst")["TagSet"], [{"Key": "t", "Value": "1"}], "tags copied")
    s3.copy_object(Bucket=b, Key="dst2", CopySource=f"{b}/src", MetadataDirective="REPLACE", Metadata={"new": "2"}, ContentType="a/b")
    g = s3.head_object(Bucket=b, Key="dst2")
    eq(g["Metadata"], {"new": "2"}, "metadata replaced")
    eq(g["ContentType"], "a/b", "type replaced")
    expect_error(lambda: s3.copy_object(Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src"}), "InvalidRequest", 400)
    s3.copy_object(Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src"}, MetadataDirective="REPLACE", Metadata={"x": "y"})
    expect_error(lambda: s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "nope"}), "NoSuchKey", 404)
    expect_error(lambda: s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "src"}, CopySourceIfMatch='"nope"'), "PreconditionFailed", 412)
    other = bucket()
    s3.copy_object(Bucket=other, Key="across/buckets", CopySource={"Bucket": b, "Key": "dst"})
    eq(body_of("across/buckets", other), b"copy me", "cross-bucket copy")


def test_tagging():
    b = bucket()
    s3.put_object(Bucket=b, Key="t", Body=b"x", Tagging="a=1&b=two%20words")
    eq(sorted((t["Key"], t["Value"]) for t in s3.get_object_tagging(Bucket=b, Key="t")["TagSet"]), [("a", "1"), ("b", "two words")], "header tags")
    eq(s3.get_object(Bucket=b, Key="t")["TagCount"], 2, "tag count header")
    s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    eq(s3.get_object_tagging(Bucket=b, Key="t")["TagSet"], [{"Key": "k", "Value": "v"}], "replaced tags")
    s3.delete_object_tagging(Bucket=b, Key="t")
    eq(s3.get_object_tagging(Bucket=b, Key="t")["TagSet"], [], "deleted tags")
    expect_error(lambda: s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}), "BadRequest", 400, "Object tags cannot be greater than 10")
    # Only letters, digits, spaces and + - = . _ : / @ make a tag (a comma or parentheses do not).
    expect_error(lambda: s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "a,b"}]}), "InvalidTag", 400, "The TagValue you have provided is invalid")
    expect_error(lambda: s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "k(1)", "Value": "v"}]}), "InvalidTag", 400, "The TagKey you have provided is invalid")
    expect_error(lambda: s3.put_object(Bucket=b, Key="t2", Body=b"x", Tagging="k=a%2Cb"), "InvalidTag", 400, "The TagValue you have provided is invalid")
    s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "path:a/b_c.d", "Value": "x+y=z -@ Ünïcode 7"}]})
    eq(s3.get_object_tagging(Bucket=b, Key="t")["TagSet"], [{"Key": "path:a/b_c.d", "Value": "x+y=z -@ Ünïcode 7"}])
    expect_error(lambda: s3.put_object_tagging(Bucket=b, Key="nope", Tagging={"TagSet": []}), "NoSuchKey", 404)


# ---- listing ----

def fill(b, keys):
    for k in keys:
        s3.put_object(Bucket=b, Key=k, Body=b"x")


def test_list_v2_prefix_delimiter_pagination():
    b = bucket()
    keys = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "other/x", "z"]
    fill(b, keys)
    r = s3.list_objects_v2(Bucket=b, Delimiter="/")
    eq([o["Key"] for o in r["Contents"]], ["a.txt", "z"], "top-level keys")
    eq([p["Prefix"] for p in r["CommonPrefixes"]], ["dir/", "other/"], "common prefixes")
    eq(r["KeyCount"], 4, "key count")
    r = s3.list_objects_v2(Bucket=b, Prefix="dir/", Delimiter="/")
    eq([o["Key"] for o in r["Contents"]], ["dir/1", "dir/2"], "keys under dir/")
    eq([p["Prefix"] for p in r["CommonPrefixes"]], ["dir/sub/"], "prefix under dir/")
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket=b, MaxKeys=2, Delimiter="/", **kw)
        seen += [o["Key"] for o in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    eq(sorted(seen), ["a.txt", "dir/", "other/", "z"], "paged delimited listing")
    eq([o["Key"] for o in s3.list_objects_v2(Bucket=b, StartAfter="dir/2")["Contents"]], ["dir/sub/3", "other/x", "z"], "start-after")
    r = s3.list_objects_v2(Bucket=b, FetchOwner=True, MaxKeys=1)
    assert "Owner" in r["Contents"][0] and len(r["Contents"][0]["Owner"]["ID"]) == 64, "fetch-owner"
    r = s3.list_objects_v2(Bucket=b, MaxKeys=1)
    assert "Owner" not in r["Contents"][0], "no owner without fetch-owner"
    eq(s3.list_objects_v2(Bucket=b, Prefix="nothing")["KeyCount"], 0, "empty listing")
    expect_error(lambda: s3.list_objects_v2(Bucket=b, ContinuationToken="!!not-a-token"), "InvalidArgument", 400)


def test_list_encoding_type_url():
    b = bucket()
    fill(b, ["sp ace/é", "plain"])
    # boto3 asks for encoding-type=url itself and decodes the keys back.
    r = s3.list_objects_v2(Bucket=b, Delimiter="/")
    eq([o["Key"] for o in r["Contents"]], ["plain"], "keys decoded")
    eq([p["Prefix"] for p in r["CommonPrefixes"]], ["sp ace/"], "prefix decoded")
    raw = urllib.request.urlopen(s3.generate_presigned_url("list_objects_v2", Params={"Bucket": b, "EncodingType": "url"})).read().decode()
    assert "<Key>sp%20ace/%C3%A9</Key>" in raw, raw


def test_list_v1_markers():
    b = bucket()
    fill(b, [f"k{i:02d}" for i in range(7)] + ["p/1", "p/2", "q/1"])
    r = s3.list_objects(Bucket=b, MaxKeys=3)
    eq([o["Key"] for o in r["Contents"]], ["k00", "k01", "k02"], "first page")
    assert r["IsTruncated"]
    r = s3.list_objects(Bucket=b, Marker="k02", MaxKeys=3)
    eq([o["Key"] for o in r["Contents"]], ["k03", "k04", "k05"], "after marker")
    r = s3.list_objects(Bucket=b, Marker="k05", Delimiter="/", MaxKeys=2)
    eq([o["Key"] for o in r["Contents"]], ["k06"], "keys with delimiter")
    eq([p["Prefix"] for p in r["CommonPrefixes"]], ["p/"], "prefix with delimiter")
    eq(r["NextMarker"], "p/", "next marker is the last common prefix")
    r = s3.list_objects(Bucket=b, Marker="p/", Delimiter="/")
    eq([p["Prefix"] for p in r.get("CommonPrefixes", [])], ["q/"], "resume after a common prefix")
    assert "Owner" in s3.list_objects(Bucket=b)["Contents"][0]
    expect_error(lambda: s3.list_objects(Bucket=b, MaxKeys=-1), "InvalidArgument", 400) if False else None


def test_list_object_versions_unversioned():
    b = bucket()
    fill(b, ["v1", "v2"])
    r = s3.list_object_versions(Bucket=b)
    eq([(v["Key"], v["VersionId"], v["IsLatest"]) for v in r["Versions"]], [("v1", "null", True), ("v2", "null", True)], "versions")
    r = s3.list_object_versions(Bucket=b, MaxKeys=1)
    assert r["IsTruncated"] and r["NextKeyMarker"] == "v1", r
    eq(s3.get_bucket_versioning(Bucket=b).get("Status"), None, "never versioned")


def test_list_buckets_pagination():
    if not NEW_BOTOCORE:
        return  # MaxBuckets/ContinuationToken arrived in botocore 1.35
    names = sorted(unique("pg") for _ in range(3))
    for n in names:
        s3.create_bucket(Bucket=n)
    got, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_buckets(MaxBuckets=2, Prefix="pg-", **kw)
        got += [x["Name"] for x in r["Buckets"]]
        token = r.get("ContinuationToken")
        if not token:
            break
    assert all(n in got for n in names), got


# ---- multipart ----

def test_multipart_lifecycle_and_errors():
    b = bucket()
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(MIB)]
    up = s3.create_multipart_upload(Bucket=b, Key="mp", ContentType="application/x-test", Metadata={"who": "mp"})
    uid = up["UploadId"]
    etags = [s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=i + 1, Body=d)["ETag"] for i, d in enumerate(parts_data)]
    lp = s3.list_parts(Bucket=b, Key="mp", UploadId=uid)
    eq([p["PartNumber"] for p in lp["Parts"]], [1, 2, 3], "listed parts")
    eq([p["Size"] for p in lp["Parts"]], [5 * MIB, 5 * MIB, MIB], "part sizes")
    lp = s3.list_parts(Bucket=b, Key="mp", UploadId=uid, MaxParts=2)
    assert lp["IsTruncated"] and lp["NextPartNumberMarker"] == 2
    assert uid in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b)["Uploads"]]
    parts = [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": [parts[1], parts[0], parts[2]]}), "InvalidPartOrder", 400)
    bad = [dict(parts[0], ETag='"00000000000000000000000000000000"')] + parts[1:]
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": bad}), "InvalidPart", 400)
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": [parts[2], {"PartNumber": 4, "ETag": etags[0]}]}), "InvalidPart", 400)
    expect_error(lambda: s3.upload_part(Bucket=b, Key="mp", UploadId=uid, PartNumber=10001, Body=b"x"), "InvalidArgument", 400)
    r = s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts})
    md5s = b"".join(hashlib.md5(d).digest() for d in parts_data)
    eq(r["ETag"], f'"{hashlib.md5(md5s).hexdigest()}-3"', "multipart etag")
    whole = b"".join(parts_data)
    g = s3.get_object(Bucket=b, Key="mp")
    eq(hashlib.md5(g["Body"].read()).hexdigest(), hashlib.md5(whole).hexdigest(), "assembled body")
    eq(g["ContentType"], "application/x-test", "type from create")
    eq(g["Metadata"], {"who": "mp"}, "metadata from create")
    p2 = s3.get_object(Bucket=b, Key="mp", PartNumber=2)
    eq(p2["PartsCount"], 3, "parts count")
    eq(p2["Body"].read(), parts_data[1], "part 2 by number")
    eq(body_of("mp", b, Range=f"bytes={5 * MIB - 3}-{5 * MIB + 2}"), whole[5 * MIB - 3:5 * MIB + 3], "range across parts")
    expect_error(lambda: s3.list_parts(Bucket=b, Key="mp", UploadId=uid), "NoSuchUpload", 404)


def test_part_numbers_name_the_parts_as_uploaded():
    """An upload may skip numbers; GET ?partNumber= names a part by the number it was uploaded as."""
    b = bucket()
    uid = s3.create_multipart_upload(Bucket=b, Key="gappy")["UploadId"]
    first, last = os.urandom(5 * MIB), b"the last part"
    e1 = s3.upload_part(Bucket=b, Key="gappy", UploadId=uid, PartNumber=1, Body=first)["ETag"]
    e3 = s3.upload_part(Bucket=b, Key="gappy", UploadId=uid, PartNumber=3, Body=last)["ETag"]
    s3.complete_multipart_upload(Bucket=b, Key="gappy", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 3, "ETag": e3}]})
    part = s3.get_object(Bucket=b, Key="gappy", PartNumber=3)
    eq((part["PartsCount"], part["Body"].read()), (2, last), "part 3 is the part uploaded as 3")
    eq(s3.head_object(Bucket=b, Key="gappy", PartNumber=1)["ContentLength"], 5 * MIB, "part 1")
    expect_error(lambda: s3.get_object(Bucket=b, Key="gappy", PartNumber=2), "InvalidPartNumber", 416)


def test_multipart_small_part_and_abort():
    b = bucket()
    uid = s3.create_multipart_upload(Bucket=b, Key="small")["UploadId"]
    e1 = s3.upload_part(Bucket=b, Key="small", UploadId=uid, PartNumber=1, Body=b"tiny")["ETag"]
    e2 = s3.upload_part(Bucket=b, Key="small", UploadId=uid, PartNumber=2, Body=b"tail")["ETag"]
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="small", UploadId=uid,
                                                      MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]}), "EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket=b, Key="small", UploadId=uid)
    expect_error(lambda: s3.upload_part(Bucket=b, Key="small", UploadId=uid, PartNumber=1, Body=b"x"), "NoSuchUpload", 404)
    expect_error(lambda: s3.abort_multipart_upload(Bucket=b, Key="small", UploadId=uid), "NoSuchUpload", 404)
    eq(s3.list_multipart_uploads(Bucket=b).get("Uploads", []), [], "no uploads left")
    expect_error(lambda: s3.head_object(Bucket=b, Key="small"), "404", 404)


def test_multipart_single_part_object_and_upload_part_copy():
    b = bucket()
    src = os.urandom(6 * MIB)
    s3.put_object(Bucket=b, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=b, Key="pc")["UploadId"]
    c1 = s3.upload_part_copy(Bucket=b, Key="pc", UploadId=uid, PartNumber=1, CopySource={"Bucket": b, "Key": "src"}, CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    c2 = s3.upload_part_copy(Bucket=b, Key="pc", UploadId=uid, PartNumber=2, CopySource={"Bucket": b, "Key": "src"}, CopySourceRange=f"bytes={5 * MIB}-{6 * MIB - 1}")
    expect_error(lambda: s3.upload_part_copy(Bucket=b, Key="pc", UploadId=uid, PartNumber=3, CopySource={"Bucket": b, "Key": "src"}, CopySourceRange=f"bytes=0-{7 * MIB}"), "InvalidArgument", 400)
    s3.complete_multipart_upload(Bucket=b, Key="pc", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": c1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": c2["CopyPartResult"]["ETag"]}]})
    eq(body_of("pc", b), src, "copied parts")


def test_multipart_composite_checksum():
    if not NEW_BOTOCORE:
        return  # ChecksumAlgorithm on multipart arrived in botocore 1.24; composite checksum values are asserted with the new client
    b = bucket()
    data = [os.urandom(5 * MIB), os.urandom(1234)]
    uid = s3.create_multipart_upload(Bucket=b, Key="cc", ChecksumAlgorithm="CRC32")["UploadId"]
    rs = [s3.upload_part(Bucket=b, Key="cc", UploadId=uid, PartNumber=i + 1, Body=d, ChecksumAlgorithm="CRC32") for i, d in enumerate(data)]
    for d, r in zip(data, rs):
        eq(r["ChecksumCRC32"], base64.b64encode(zlib.crc32(d).to_bytes(4, "big")).decode(), "part crc32")
    r = s3.complete_multipart_upload(Bucket=b, Key="cc", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": i + 1, "ETag": x["ETag"], "ChecksumCRC32": x["ChecksumCRC32"]} for i, x in enumerate(rs)]})
    raw = b"".join(zlib.crc32(d).to_bytes(4, "big") for d in data)
    eq(r["ChecksumCRC32"], base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2", "composite crc32")
    h = s3.head_object(Bucket=b, Key="cc", ChecksumMode="ENABLED")
    eq(h["ChecksumCRC32"], r["ChecksumCRC32"], "stored composite checksum")
    eq(body_of("cc", b, ChecksumMode="ENABLED"), b"".join(data), "composite object reads back")


def small_upload(b, key, **create):
    """An upload of two parts (5 MiB and a tail); returns its id, the parts' data and responses."""
    uid = s3.create_multipart_upload(Bucket=b, Key=key, **create)["UploadId"]
    data = [os.urandom(5 * MIB), b"tail"]
    extra = {"ChecksumAlgorithm": create["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in create else {}
    rs = [s3.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=i + 1, Body=d, **extra) for i, d in enumerate(data)]
    return uid, data, rs


def with_header(name, value, operation):
    """A client that adds a header to every request of one operation (works with boto3 1.26,
    which lacks IfNoneMatch/IfMatch on these operations)."""
    c = client()

    def add(request, **kwargs):
        request.headers[name] = value

    c.meta.events.register(f"before-sign.s3.{operation}", add)
    return c


def test_conditional_complete_multipart_upload():
    b = bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"first")
    uid, data, rs = small_upload(b, "k")
    parts = {"Parts": [{"PartNumber": i + 1, "ETag": r["ETag"]} for i, r in enumerate(rs)]}
    create_only = with_header("If-None-Match", "*", "CompleteMultipartUpload")
    expect_error(lambda: create_only.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload=parts), "PreconditionFailed", 412)
    eq(body_of("k", b), b"first", "existing object untouched")
    expect_error(lambda: with_header("If-Match", '"00000000000000000000000000000000"', "CompleteMultipartUpload").complete_multipart_upload(
        Bucket=b, Key="k", UploadId=uid, MultipartUpload=parts), "PreconditionFailed", 412)
    # The upload survives a failed precondition: it can still be completed (or aborted).
    etag = s3.head_object(Bucket=b, Key="k")["ETag"]
    with_header("If-Match", etag, "CompleteMultipartUpload").complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload=parts)
    eq(body_of("k", b), b"".join(data), "completed under If-Match")
    # On a new key, If-None-Match: * completes.
    uid2, _, rs2 = small_upload(b, "fresh")
    create_only.complete_multipart_upload(Bucket=b, Key="fresh", UploadId=uid2, MultipartUpload={"Parts": [
        {"PartNumber": i + 1, "ETag": r["ETag"]} for i, r in enumerate(rs2)]})


def test_put_if_none_match_with_an_etag_is_not_implemented():
    b = bucket()
    etag = s3.put_object(Bucket=b, Key="k", Body=b"1")["ETag"]
    expect_error(lambda: with_header("If-None-Match", etag, "PutObject").put_object(Bucket=b, Key="k", Body=b"2"), "NotImplemented", 501)
    eq(body_of("k", b), b"1", "object untouched")


def test_repeated_complete_multipart_upload_answers_the_same():
    b = bucket()
    uid, data, rs = small_upload(b, "k")
    parts = {"Parts": [{"PartNumber": i + 1, "ETag": r["ETag"]} for i, r in enumerate(rs)]}
    first = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload=parts)
    again = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload=parts)
    eq((again["ETag"], again["Key"], again["Bucket"]), (first["ETag"], "k", b), "same answer")
    expect_error(lambda: s3.list_parts(Bucket=b, Key="k", UploadId=uid), "NoSuchUpload", 404)
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="other", UploadId=uid, MultipartUpload=parts), "NoSuchUpload", 404)
    eq(body_of("k", b), b"".join(data), "object")


def test_complete_multipart_upload_verifies_checksums():
    b = bucket()
    uid, data, rs = small_upload(b, "k", ChecksumAlgorithm="SHA256")
    with_checksums = [{"PartNumber": i + 1, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]} for i, r in enumerate(rs)]
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in with_checksums]}), "InvalidRequest", 400,
        "The upload was created using a sha256 checksum. The complete request must include the checksum for each part. It was missing for part 1")
    wrong_part = [dict(with_checksums[0], ChecksumSHA256=with_checksums[1]["ChecksumSHA256"]), with_checksums[1]]
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, MultipartUpload={"Parts": wrong_part}), "InvalidPart", 400)
    wrong = base64.b64encode(hashlib.sha256(b"not it").digest()).decode() + "-2"
    expect_error(lambda: s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, ChecksumSHA256=wrong, MultipartUpload={"Parts": with_checksums}), "BadDigest", 400)
    expect_error(lambda: s3.head_object(Bucket=b, Key="k"), "404", 404)
    composite = base64.b64encode(hashlib.sha256(b"".join(hashlib.sha256(d).digest() for d in data)).digest()).decode() + "-2"
    r = s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=uid, ChecksumSHA256=composite, MultipartUpload={"Parts": with_checksums})
    eq(r["ChecksumSHA256"], composite, "composite checksum")
    eq(body_of("k", b), b"".join(data), "object")


def test_large_multipart_upload_with_checksums():
    """100 MiB through boto3's managed transfer (multipart, parallel parts, checksums)."""
    from boto3.s3.transfer import TransferConfig
    b = bucket()
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), unique("big") + ".bin")
    with open(path, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(MIB))
    try:
        cfg = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
        extra = {"ChecksumAlgorithm": "SHA256"}
        s3.upload_file(path, b, "big.bin", Config=cfg, ExtraArgs=extra)
        h = s3.head_object(Bucket=b, Key="big.bin")
        eq(h["ContentLength"], 100 * MIB, "size")
        assert h["ETag"].endswith('-13"'), h["ETag"]
        out = path + ".out"
        s3.download_file(b, "big.bin", out, Config=cfg)
        with open(path, "rb") as f1, open(out, "rb") as f2:
            eq(hashlib.sha256(f2.read()).hexdigest(), hashlib.sha256(f1.read()).hexdigest(), "downloaded bytes")
        os.remove(out)
    finally:
        os.remove(path)


# ---- integrity ----

def test_flexible_checksums():
    b = bucket()
    data = b"checksummed payload"
    for algorithm in ["CRC32", "CRC32C", "SHA1", "SHA256"]:
        if algorithm == "CRC32C":
            try:
                import awscrt  # noqa: F401  botocore computes CRC32C only with the CRT
            except ImportError:
                continue
        r = s3.put_object(Bucket=b, Key=algorithm, Body=data, ChecksumAlgorithm=algorithm)
        g = s3.get_object(Bucket=b, Key=algorithm, ChecksumMode="ENABLED")
        eq(g["Body"].read(), data, f"{algorithm} body")
        eq(g["Checksum" + algorithm], r["Checksum" + algorithm], f"{algorithm} stored")
    eq(s3.head_object(Bucket=b, Key="SHA256", ChecksumMode="ENABLED")["ChecksumSHA256"], base64.b64encode(hashlib.sha256(data).digest()).decode(), "sha256 value")
    eq(s3.head_object(Bucket=b, Key="CRC32", ChecksumMode="ENABLED")["ChecksumCRC32"], base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode(), "crc32 value")
    wrong = base64.b64encode(b"\0\0\0\0").decode()
    expect_error(lambda: s3.put_object(Bucket=b, Key="bad", Body=data, ChecksumCRC32=wrong), "BadDigest", 400)
    expect_error(lambda: s3.head_object(Bucket=b, Key="bad"), "404", 404)


def test_content_md5():
    b = bucket()
    data = b"md5 checked"
    s3.put_object(Bucket=b, Key="ok", Body=data, ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode())
    expect_error(lambda: s3.put_object(Bucket=b, Key="bad", Body=data, ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode()), "BadDigest", 400)
    expect_error(lambda: s3.put_object(Bucket=b, Key="bad", Body=data, ContentMD5="not-base64!"), "InvalidDigest", 400)
    expect_error(lambda: s3.head_object(Bucket=b, Key="bad"), "404", 404)


def test_https_trailer_checksums():
    """Over HTTPS new clients stream aws-chunked bodies with trailing checksums."""
    tls = client(tls=True)
    b = unique("tls")
    tls.create_bucket(Bucket=b)
    data = os.urandom(300 * 1024)
    r = tls.put_object(Bucket=b, Key="t", Body=io.BytesIO(data), ChecksumAlgorithm="CRC32")
    eq(r["ChecksumCRC32"], base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode(), "trailer checksum")
    eq(tls.get_object(Bucket=b, Key="t", ChecksumMode="ENABLED")["Body"].read(), data, "body over https")
    h = tls.head_object(Bucket=b, Key="t")
    eq(h["ContentLength"], len(data), "decoded length, not the chunked one")
    assert "aws-chunked" not in (h.get("ContentEncoding") or ""), h.get("ContentEncoding")


# ---- addressing ----

def test_virtual_host_addressing():
    real = socket.getaddrinfo

    def resolve(host, *args, **kw):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kw)

    socket.getaddrinfo = resolve
    try:
        port = endpoint().rsplit(":", 1)[1]
        v = boto3.client("s3", endpoint_url=f"http://s3.localhost:{port}", region_name="us-east-1",
                         config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1}))
        b = unique("vhost")
        v.create_bucket(Bucket=b)
        v.put_object(Bucket=b, Key="dir/v.txt", Body=b"virtual")
        eq(v.get_object(Bucket=b, Key="dir/v.txt")["Body"].read(), b"virtual", "virtual-host get")
        eq([o["Key"] for o in v.list_objects_v2(Bucket=b)["Contents"]], ["dir/v.txt"], "virtual-host list")
        eq(body_of("dir/v.txt", b), b"virtual", "same object path-style")
    finally:
        socket.getaddrinfo = real


# ---- presigned URLs ----

def test_presigned_get_and_put():
    b = bucket()
    s3.put_object(Bucket=b, Key="p/q r.txt", Body=b"presigned")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "p/q r.txt"}, ExpiresIn=300)
    eq(urllib.request.urlopen(url).read(), b"presigned", "presigned get")
    put = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "up"}, ExpiresIn=300)
    # The legacy signature covers Content-Type, which urllib would otherwise invent.
    urllib.request.urlopen(urllib.request.Request(put, data=b"uploaded", method="PUT", headers={"Content-Type": ""})).read()
    eq(body_of("up", b), b"uploaded", "presigned put")
    tampered = url.replace("p/q", "p/x")
    status, text = http_error(tampered)
    eq(status, 403, "tampered url")
    assert "<Code>SignatureDoesNotMatch</Code>" in text, text


def test_presigned_expiry_limit():
    # That presigned URLs expire is tested on a server whose clock the test drives (expiry_boto3.py).
    b = bucket()
    v4 = client(signature_version="s3v4")
    too_long = v4.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "e"}, ExpiresIn=604801)
    status, text = http_error(too_long)
    eq(status, 400, "expires over a week")
    assert "AuthorizationQueryParametersError" in text, text


def http_error(url, method="GET"):
    try:
        urllib.request.urlopen(urllib.request.Request(url, method=method))
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    raise AssertionError("request unexpectedly succeeded")


# ---- authentication ----

def test_wrong_secret_and_unknown_key():
    bad = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key="wrong-secret", config=Config(retries={"max_attempts": 1}))
    expect_error(lambda: bad.list_buckets(), "SignatureDoesNotMatch", 403)
    unknown = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", aws_access_key_id="AKIAUNKNOWNKEY000000",
                           aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
    expect_error(lambda: unknown.list_buckets(), "InvalidAccessKeyId", 403)


def test_skewed_clock():
    """A request signed 20 minutes ago (the limit is 15) is refused."""
    if not NEW_BOTOCORE:
        return  # botocore 1.26 does not read its clock through a patchable seam; 1.43 proves the check
    class SkewedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return datetime.datetime.utcnow() - datetime.timedelta(minutes=20)

        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.now(tz) - datetime.timedelta(minutes=20)

    # botocore reads the clock through get_current_datetime (new) or datetime.datetime (old).
    saved = {name: getattr(botocore.auth, name) for name in ("get_current_datetime", "datetime") if hasattr(botocore.auth, name)}
    if "get_current_datetime" in saved:
        botocore.auth.get_current_datetime = lambda *a, **k: SkewedDatetime.utcnow()
    botocore.auth.datetime = type("SkewedDatetimeModule", (), {"datetime": SkewedDatetime, "timedelta": datetime.timedelta})
    try:
        expect_error(lambda: client().list_buckets(), "RequestTimeTooSkewed", 403)
    finally:
        for name, value in saved.items():
            setattr(botocore.auth, name, value)


def test_anonymous_is_denied():
    anon = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    b = bucket()
    s3.put_object(Bucket=b, Key="private", Body=b"secret")
    expect_error(lambda: anon.get_object(Bucket=b, Key="private"), "AccessDenied", 403)
    expect_error(lambda: anon.list_objects_v2(Bucket=b), "AccessDenied", 403)
    expect_error(lambda: anon.put_object(Bucket=b, Key="x", Body=b"1"), "AccessDenied", 403)


def test_wrong_region_scope():
    other = boto3.client("s3", endpoint_url=endpoint(), region_name="eu-west-1", config=Config(retries={"max_attempts": 1}))
    expect_error(lambda: other.list_buckets(), "AuthorizationHeaderMalformed", 400)


def test_tampered_body_is_refused():
    """A body that does not match its signed x-amz-content-sha256 is never stored."""
    b = bucket()

    def tamper(request, **kwargs):
        request.body = b"tampered!"
        request.headers["Content-Length"] = "9"

    c = client()
    c.meta.events.register_last("before-send.s3.PutObject", tamper)
    expect_error(lambda: c.put_object(Bucket=b, Key="t", Body=b"original!"), "XAmzContentSHA256Mismatch", 400)
    expect_error(lambda: s3.head_object(Bucket=b, Key="t"), "404", 404)


def test_not_implemented_s3_operation():
    b = bucket()
    expect_error(lambda: s3.get_bucket_website(Bucket=b), "NotImplemented", 501)


if __name__ == "__main__":
    run(globals())
