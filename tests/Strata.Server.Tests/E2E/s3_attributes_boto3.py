"""S3 bucket listing pages, bucket tags, GetObjectAttributes and RestoreObject end to end with an
unmodified boto3 (run by both the image's boto3 1.43 and Debian's 1.26): the answers, the paging,
and the errors S3 gives."""
import base64
import hashlib
import json
import os
import zlib

import boto3
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique, validate_responses

cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
# For what the client itself would refuse to send: the server must refuse it too.
raw = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg.merge(Config(parameter_validation=False)))
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def knows(operation, shape_path):
    """Whether this client's model has a member (Debian's 1.26 predates ListBuckets paging and
    checksum types): what it cannot send or read is not tested through it."""
    shape = s3.meta.service_model.operation_model(operation)
    shape = shape.input_shape if shape_path[0] == "in" else shape.output_shape
    for name in shape_path[1:]:
        if shape is None or name not in shape.members:
            return False
        shape = shape.members[name]
    return True


PAGED_LISTING = knows("ListBuckets", ["in", "MaxBuckets"])
CHECKSUM_TYPES = knows("GetObjectAttributes", ["out", "Checksum", "ChecksumType"])


def checksum(algorithm, value, kind):
    return {"Checksum" + algorithm: value, **({"ChecksumType": kind} if CHECKSUM_TYPES else {})}
MIB = 1024 * 1024


def bucket(prefix="attr"):
    name = unique(prefix)
    s3.create_bucket(Bucket=name)
    return name


def headers(response):
    return response["ResponseMetadata"]["HTTPHeaders"]


def error_headers(fn):
    import botocore.exceptions
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPHeaders"]
    raise AssertionError("expected an error")


def sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# ---- ListBuckets ----

def test_list_buckets_pages_in_name_order():
    stem = unique("lb")
    names = [f"{stem}-{i}" for i in (3, 1, 4, 0, 2)]
    for n in names:
        s3.create_bucket(Bucket=n)
    # Without any parameter: every bucket of the caller, ours among them, in order.
    everything = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    eq(everything, sorted(everything), "unpaged listing is in name order too")
    assert set(names) <= set(everything), everything
    if not PAGED_LISTING:
        return
    seen, token, pages = [], None, 0
    while True:
        kw = {"MaxBuckets": 2, "Prefix": stem}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_buckets(**kw)
        pages += 1
        eq(page["Prefix"], stem, "the prefix is echoed")
        assert len(page["Buckets"]) <= 2, page["Buckets"]
        assert all(b["BucketRegion"] == "us-east-1" and b["CreationDate"] for b in page["Buckets"]), page["Buckets"]
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if not token:
            break
    eq(seen, sorted(names), "every bucket once, in name order")
    eq(pages, 3, "five buckets in pages of two")
    whole = s3.list_buckets(Prefix=stem)
    eq([b["Name"] for b in whole["Buckets"]], sorted(names), "one page when it fits")
    eq("ContinuationToken" in whole, False, "no token when nothing remains")
    eq([b["Name"] for b in s3.list_buckets(Prefix=stem, MaxBuckets=5)["Buckets"]], sorted(names), "exactly max-buckets")
    eq("ContinuationToken" in s3.list_buckets(Prefix=stem, MaxBuckets=5), False, "exactly max-buckets leaves nothing")
    eq([b["Name"] for b in s3.list_buckets(Prefix=stem, BucketRegion="us-east-1")["Buckets"]], sorted(names), "the server's region")
    eq(s3.list_buckets(Prefix=stem, BucketRegion="eu-west-1")["Buckets"], [], "no bucket in another region")
    eq(s3.list_buckets(Prefix=unique("none"))["Buckets"], [], "a prefix nothing has")
    # The paginator follows the tokens by itself.
    paged = [b["Name"] for p in s3.get_paginator("list_buckets").paginate(Prefix=stem, PaginationConfig={"PageSize": 2}) for b in p["Buckets"]]
    eq(paged, sorted(names), "paginator")


def test_list_buckets_refuses_bad_arguments():
    if not PAGED_LISTING:
        return
    for bad in (0, 10001, -1):
        expect_error(lambda: raw.list_buckets(MaxBuckets=bad), "InvalidArgument", 400, "max-buckets")
    for token in ("not-a-token", base64.b64encode(b"p:prefix").decode(), base64.b64encode(b"k:UPPER").decode(), ""):
        expect_error(lambda: raw.list_buckets(ContinuationToken=token), "InvalidArgument", 400, "continuation token")


# ---- Bucket tagging ----

def test_bucket_tagging_round_trip():
    b = bucket()
    expect_error(lambda: s3.get_bucket_tagging(Bucket=b), "NoSuchTagSet", 404, "The TagSet does not exist")
    tags = [{"Key": "team", "Value": "ml"}, {"Key": "cost-centre", "Value": ""}, {"Key": "é" * 128, "Value": "ü" * 256}]
    put = s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": tags})
    eq(put["ResponseMetadata"]["HTTPStatusCode"], 204, "PutBucketTagging answers 204")
    eq(s3.get_bucket_tagging(Bucket=b)["TagSet"], tags, "the tags, in order, empty value and all")
    # A put replaces the whole set.
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    eq(s3.get_bucket_tagging(Bucket=b)["TagSet"], [{"Key": "only", "Value": "one"}], "replaced")
    fifty = [{"Key": f"k{i}", "Value": str(i)} for i in range(50)]
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": fifty})
    eq(len(s3.get_bucket_tagging(Bucket=b)["TagSet"]), 50, "fifty is allowed")
    deleted = s3.delete_bucket_tagging(Bucket=b)
    eq(deleted["ResponseMetadata"]["HTTPStatusCode"], 204, "DeleteBucketTagging answers 204")
    expect_error(lambda: s3.get_bucket_tagging(Bucket=b), "NoSuchTagSet", 404)
    s3.delete_bucket_tagging(Bucket=b)  # deleting no tags is no error
    # An empty set leaves the bucket untagged.
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": []})
    expect_error(lambda: s3.get_bucket_tagging(Bucket=b), "NoSuchTagSet", 404)
    # Bucket tags are not object tags.
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.put_object(Bucket=b, Key="o", Body=b"x")
    eq(s3.get_object_tagging(Bucket=b, Key="o")["TagSet"], [], "the object has none of the bucket's tags")


def test_bucket_tagging_refusals():
    b = bucket()
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "keep", "Value": "me"}]})

    def put(tags):
        return lambda: raw.put_bucket_tagging(Bucket=b, Tagging={"TagSet": tags})

    expect_error(put([{"Key": f"k{i}", "Value": "v"} for i in range(51)]), "BadRequest", 400, "Bucket tag count cannot be greater than 50")
    expect_error(put([{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]), "InvalidTag", 400, "Cannot provide multiple Tags with the same key")
    expect_error(put([{"Key": "k" * 129, "Value": "v"}]), "InvalidTag", 400, "The TagKey you have provided is invalid")
    expect_error(put([{"Key": "", "Value": "v"}]), "InvalidTag", 400, "The TagKey you have provided is invalid")
    expect_error(put([{"Key": "k", "Value": "v" * 257}]), "InvalidTag", 400, "The TagValue you have provided is invalid")
    expect_error(put([{"Key": "aws:cloudformation:stack-name", "Value": "v"}]), "InvalidTag", 400, "System tags")
    # A tag that is bad is found before the count is.
    expect_error(put([{"Key": "x" * 200, "Value": "v"}] + [{"Key": f"k{i}", "Value": "v"} for i in range(60)]), "InvalidTag", 400)
    eq(s3.get_bucket_tagging(Bucket=b)["TagSet"], [{"Key": "keep", "Value": "me"}], "a refused put changes nothing")
    missing = unique("missing")
    expect_error(lambda: s3.get_bucket_tagging(Bucket=missing), "NoSuchBucket", 404)
    expect_error(lambda: s3.put_bucket_tagging(Bucket=missing, Tagging={"TagSet": []}), "NoSuchBucket", 404)
    expect_error(lambda: s3.delete_bucket_tagging(Bucket=missing), "NoSuchBucket", 404)


def test_bucket_tagging_needs_its_permissions():
    from harness import client, iam_user
    iam = client("iam")
    b = bucket()
    s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    _, keys = iam_user(iam, "tagreader", ["s3:GetBucketTagging"])
    reader = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                          aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    eq(reader.get_bucket_tagging(Bucket=b)["TagSet"], [{"Key": "a", "Value": "b"}], "with s3:GetBucketTagging")
    expect_error(lambda: reader.put_bucket_tagging(Bucket=b, Tagging={"TagSet": []}), "AccessDenied", 403)
    # Removing the tags takes s3:PutBucketTagging, as in S3.
    expect_error(lambda: reader.delete_bucket_tagging(Bucket=b), "AccessDenied", 403)
    _, keys = iam_user(iam, "tagwriter", ["s3:PutBucketTagging"])
    writer = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                          aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    writer.delete_bucket_tagging(Bucket=b)
    expect_error(lambda: s3.get_bucket_tagging(Bucket=b), "NoSuchTagSet", 404)


# ---- GetObjectAttributes ----

def test_attributes_of_a_simple_object():
    b = bucket()
    data = b"hello attributes"
    s3.put_object(Bucket=b, Key="k", Body=data, ChecksumAlgorithm="SHA256")
    head = s3.head_object(Bucket=b, Key="k")
    got = s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=ALL)
    eq(got["ETag"], hashlib.md5(data).hexdigest(), "the ETag, without quotes")
    eq(got["ObjectSize"], len(data), "size")
    eq(got["StorageClass"], "STANDARD", "storage class")
    eq(got["Checksum"], checksum("SHA256", sha256(data), "FULL_OBJECT"), "checksum")
    eq("ObjectParts" in got, False, "no parts for an object not uploaded in parts")
    eq(got["LastModified"], head["LastModified"], "Last-Modified, as HEAD says")
    eq("VersionId" in got, False, "no version id in a bucket never versioned")
    only = s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ObjectSize"])
    eq([k for k in ("ETag", "Checksum", "StorageClass", "ObjectParts") if k in only], [], "only what was asked")
    eq(only["ObjectSize"], len(data), "asked")
    s3.put_object(Bucket=b, Key="plain", Body=b"x")
    plain = s3.get_object_attributes(Bucket=b, Key="plain", ObjectAttributes=["Checksum", "ETag"])
    assert "ETag" in plain, plain


def test_attributes_refusals():
    b = bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["Colour"]), "InvalidArgument", 400, "Invalid attribute name")
    expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ETag", "Size"]), "InvalidArgument", 400)
    expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="missing", ObjectAttributes=["ETag"]), "NoSuchKey", 404)
    expect_error(lambda: s3.get_object_attributes(Bucket=unique("missing"), Key="k", ObjectAttributes=["ETag"]), "NoSuchBucket", 404)
    expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ETag"], VersionId="not-a-version"), "InvalidArgument", 400)
    expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ETag"], VersionId="0" * 32), "NoSuchVersion", 404)

    # A header without any attribute at all: sent raw, since clients require the list.
    def no_attributes(request, **kwargs):
        request.headers.replace_header("x-amz-object-attributes", "")
    s3.meta.events.register_first("before-sign.s3.GetObjectAttributes", no_attributes)
    try:
        expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ETag"]), "InvalidRequest", 400, "missing or empty")
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObjectAttributes", no_attributes)


def multipart(b, key, sizes, **create):
    upload = s3.create_multipart_upload(Bucket=b, Key=key, **create)["UploadId"]
    parts, datas = [], []
    algorithm = create.get("ChecksumAlgorithm")
    for i, size in enumerate(sizes, start=1):
        data = bytes([i]) * size
        kw = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        r = s3.upload_part(Bucket=b, Key=key, UploadId=upload, PartNumber=i, Body=data, **kw)
        part = {"PartNumber": i, "ETag": r["ETag"]}
        if algorithm:
            part["Checksum" + algorithm] = r["Checksum" + algorithm]
        parts.append(part)
        datas.append(data)
    done = s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    return done, datas


def test_attributes_of_a_multipart_object_page_through_its_parts():
    b = bucket()
    done, datas = multipart(b, "mp", [5 * MIB, 5 * MIB, 1234], ChecksumAlgorithm="SHA256")
    whole = s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=ALL)
    eq(whole["ETag"], done["ETag"].strip('"'), "the multipart ETag, without quotes")
    assert whole["ETag"].endswith("-3"), whole["ETag"]
    eq(whole["ObjectSize"], sum(len(d) for d in datas), "size")
    composite = done["ChecksumSHA256"]
    assert composite.endswith("-3"), composite
    eq(whole["Checksum"], checksum("SHA256", composite[:-2], "COMPOSITE"), "the composite checksum, without its part count")
    parts = whole["ObjectParts"]
    eq((parts["TotalPartsCount"], parts["PartNumberMarker"], parts["NextPartNumberMarker"], parts["MaxParts"], parts["IsTruncated"]),
       (3, 0, 3, 1000, False), "one page of all the parts")
    eq(parts["Parts"], [{"PartNumber": i + 1, "Size": len(d), "ChecksumSHA256": sha256(d)} for i, d in enumerate(datas)], "each part")
    first = s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=2)["ObjectParts"]
    eq(([p["PartNumber"] for p in first["Parts"]], first["IsTruncated"], first["NextPartNumberMarker"], first["MaxParts"]),
       ([1, 2], True, 2, 2), "the first page")
    rest = s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=2,
                                    PartNumberMarker=first["NextPartNumberMarker"])["ObjectParts"]
    eq(([p["PartNumber"] for p in rest["Parts"]], rest["IsTruncated"], rest["PartNumberMarker"], rest["NextPartNumberMarker"]),
       ([3], False, 2, 3), "the last page")
    past = s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=["ObjectParts"], PartNumberMarker=3)["ObjectParts"]
    eq((past.get("Parts", []), past["IsTruncated"], past["TotalPartsCount"]), ([], False, 3), "past the last part")
    expect_error(lambda: raw.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=-1), "InvalidArgument", 400, "max-parts")


def test_attributes_of_multipart_objects_by_checksum_type():
    b = bucket()
    if CHECKSUM_TYPES:
        # A full-object checksum has no part checksums to list: S3 gives only the part count.
        done, datas = multipart(b, "full", [5 * MIB, 10], ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
        got = s3.get_object_attributes(Bucket=b, Key="full", ObjectAttributes=["Checksum", "ObjectParts"])
        crc = base64.b64encode(zlib.crc32(b"".join(datas)).to_bytes(4, "big")).decode()
        eq(got["Checksum"], checksum("CRC32", crc, "FULL_OBJECT"), "the full-object checksum")
        eq(got["ObjectParts"], {"TotalPartsCount": 2}, "only the count")
    # Without a checksum algorithm the parts are listed with their sizes.
    multipart(b, "none", [5 * MIB, 7])
    parts = s3.get_object_attributes(Bucket=b, Key="none", ObjectAttributes=["ObjectParts", "Checksum"])
    eq("Checksum" in parts, False, "no checksum to give")
    eq([(p["PartNumber"], p["Size"]) for p in parts["ObjectParts"]["Parts"]], [(1, 5 * MIB), (2, 7)], "parts by size")


def test_attributes_of_versions_and_delete_markers():
    b = bucket()
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"second")["VersionId"]
    latest = s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ObjectSize"])
    eq((latest["ObjectSize"], latest["VersionId"]), (6, v2), "the latest, with its version id")
    old = s3.get_object_attributes(Bucket=b, Key="k", VersionId=v1, ObjectAttributes=["ObjectSize", "ETag"])
    eq((old["ObjectSize"], old["VersionId"], old["ETag"]), (3, v1, hashlib.md5(b"one").hexdigest()), "a named version")
    marker = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    h = error_headers(lambda: s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ETag"]))
    eq((h.get("x-amz-delete-marker"), h.get("x-amz-version-id")), ("true", marker), "NoSuchKey says it is a delete marker")
    expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ETag"]), "NoSuchKey", 404)
    expect_error(lambda: s3.get_object_attributes(Bucket=b, Key="k", VersionId=marker, ObjectAttributes=["ETag"]), "MethodNotAllowed", 405)
    h = error_headers(lambda: s3.get_object_attributes(Bucket=b, Key="k", VersionId=marker, ObjectAttributes=["ETag"]))
    eq(h.get("x-amz-delete-marker"), "true", "the version is a delete marker")
    assert h.get("last-modified"), h
    eq(s3.get_object_attributes(Bucket=b, Key="k", VersionId=v2, ObjectAttributes=["ObjectSize"])["ObjectSize"], 6, "older versions stay")


def test_attributes_need_their_permissions():
    from harness import client, iam_user
    iam = client("iam")
    b = bucket()
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v = s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
    _, keys = iam_user(iam, "attrs", ["s3:GetObjectAttributes"])
    user = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    eq(user.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ObjectSize"])["ObjectSize"], 1, "with s3:GetObjectAttributes")
    expect_error(lambda: user.get_object_attributes(Bucket=b, Key="k", VersionId=v, ObjectAttributes=["ObjectSize"]), "AccessDenied", 403)
    expect_error(lambda: user.get_object(Bucket=b, Key="k"), "AccessDenied", 403)
    _, keys = iam_user(iam, "vattrs", ["s3:GetObjectVersionAttributes"])
    versions = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                            aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    eq(versions.get_object_attributes(Bucket=b, Key="k", VersionId=v, ObjectAttributes=["ObjectSize"])["VersionId"], v, "with the version action")


def test_attributes_of_an_sse_c_object_need_its_key():
    tls = boto3.client("s3", endpoint_url=endpoint(tls=True), region_name="us-east-1", config=cfg, verify=os.environ["AWS_CA_BUNDLE"])
    validate_responses(tls)
    b = bucket()
    key = os.urandom(32)
    tls.put_object(Bucket=b, Key="c", Body=b"secret", SSECustomerAlgorithm="AES256", SSECustomerKey=key)

    # botocore encodes the key (and adds its MD5) for GetObject but not for this operation.
    def sse_c(k):
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(k).decode(),
                "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(k).digest()).decode()}
    got = tls.get_object_attributes(Bucket=b, Key="c", ObjectAttributes=["ObjectSize"], **sse_c(key))
    eq(got["ObjectSize"], 6, "with the key")
    expect_error(lambda: tls.get_object_attributes(Bucket=b, Key="c", ObjectAttributes=["ObjectSize"]), "InvalidRequest", 400, "Server Side Encryption")
    expect_error(lambda: tls.get_object_attributes(Bucket=b, Key="c", ObjectAttributes=["ObjectSize"], **sse_c(os.urandom(32))), "AccessDenied", 403)
    s3.put_object(Bucket=b, Key="plain", Body=b"x")
    eq(tls.get_object_attributes(Bucket=b, Key="plain", ObjectAttributes=["ObjectSize"])["ObjectSize"], 1, "an object without SSE-C needs no key")


# ---- RestoreObject ----

def test_restore_object_is_refused_for_objects_never_archived():
    b = bucket()
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    expect_error(lambda: s3.restore_object(Bucket=b, Key="k", RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Standard"}}),
                 "InvalidObjectState", 403, "Restore is not allowed for the object's current storage class")
    expect_error(lambda: s3.restore_object(Bucket=b, Key="missing", RestoreRequest={"Days": 1}), "NoSuchKey", 404)
    expect_error(lambda: s3.restore_object(Bucket=unique("missing"), Key="k", RestoreRequest={"Days": 1}), "NoSuchBucket", 404)
    expect_error(lambda: s3.restore_object(Bucket=b, Key="k", VersionId="0" * 32, RestoreRequest={"Days": 1}), "NoSuchVersion", 404)
    eq(s3.get_object(Bucket=b, Key="k")["Body"].read(), b"x", "the object is as readable as before")


if __name__ == "__main__":
    run(globals())
