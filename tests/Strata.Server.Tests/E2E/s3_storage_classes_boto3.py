"""S3 storage classes end to end with an unmodified boto3 (run by both the image's boto3 1.43 and
Debian's 1.26), on a server whose clock the test drives (FakeClockServer.cs): the class a write
names is kept and reported (GET/HEAD send it unless it is STANDARD, listings always), a copy is
STANDARD unless it names one, classes other buckets use are refused, and the archive classes
behave as S3's do: HEAD answers, GET and copy do not until a restore has run for its tier's time,
and the restored copy lasts the days asked for."""
import datetime

import boto3
from botocore.config import Config

from harness import advance, endpoint, eq, expect_error, run, server_time, unique, validate_responses

cfg = Config(retries={"max_attempts": 1})
s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
plain = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
DAY = 86400


def bucket(versioned=False):
    name = unique("sc")
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def listed_class(b, key):
    return next(o for o in s3.list_objects_v2(Bucket=b, Prefix=key)["Contents"] if o["Key"] == key)["StorageClass"]


def http_date(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def status(response):
    return response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_class_written_is_kept_and_reported():
    b = bucket()
    s3.put_object(Bucket=b, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
    eq(s3.head_object(Bucket=b, Key="ia").get("StorageClass"), "STANDARD_IA", "HEAD")
    eq(s3.get_object(Bucket=b, Key="ia").get("StorageClass"), "STANDARD_IA", "GET")
    eq(listed_class(b, "ia"), "STANDARD_IA", "ListObjectsV2")
    # The model's enum for a version's class says only STANDARD, but S3 lists each version's own
    # class there; a client that does not check answers against the model reads it.
    eq(plain.list_object_versions(Bucket=b, Prefix="ia")["Versions"][0]["StorageClass"], "STANDARD_IA", "ListObjectVersions")
    # STANDARD is never named in a header, and is what a write that names none gets.
    s3.put_object(Bucket=b, Key="std", Body=b"x")
    eq(s3.head_object(Bucket=b, Key="std").get("StorageClass"), None, "STANDARD is not sent")
    eq(listed_class(b, "std"), "STANDARD")
    # A copy does not inherit the source's class: STANDARD unless the request names one.
    s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b, "Key": "ia"})
    eq(s3.head_object(Bucket=b, Key="copied").get("StorageClass"), None, "copy defaults to STANDARD")
    s3.copy_object(Bucket=b, Key="copied", CopySource={"Bucket": b, "Key": "copied"}, StorageClass="ONEZONE_IA")
    eq(s3.head_object(Bucket=b, Key="copied").get("StorageClass"), "ONEZONE_IA", "a copy onto itself changes the class")
    # A multipart upload's class is the object's.
    up = s3.create_multipart_upload(Bucket=b, Key="mp", StorageClass="INTELLIGENT_TIERING")["UploadId"]
    eq([u["StorageClass"] for u in s3.list_multipart_uploads(Bucket=b)["Uploads"] if u["UploadId"] == up], ["INTELLIGENT_TIERING"])
    etag = s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=b"part")["ETag"]
    eq(s3.list_parts(Bucket=b, Key="mp", UploadId=up)["StorageClass"], "INTELLIGENT_TIERING", "ListParts")
    s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    eq(s3.head_object(Bucket=b, Key="mp").get("StorageClass"), "INTELLIGENT_TIERING")
    eq(s3.get_object_attributes(Bucket=b, Key="mp", ObjectAttributes=["StorageClass"])["StorageClass"], "INTELLIGENT_TIERING")


def test_classes_a_general_purpose_bucket_does_not_take_are_refused():
    b = bucket()
    message = "The storage class you specified is not valid"
    for bad in ["FAST", "standard", "EXPRESS_ONEZONE", "OUTPOSTS", "SNOW"]:
        expect_error(lambda: s3.put_object(Bucket=b, Key="k", Body=b"x", StorageClass=bad), "InvalidStorageClass", 400, message)
    expect_error(lambda: s3.create_multipart_upload(Bucket=b, Key="k", StorageClass="FSX_OPENZFS"), "InvalidStorageClass", 400, message)
    s3.put_object(Bucket=b, Key="src", Body=b"x")
    expect_error(lambda: s3.copy_object(Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "src"}, StorageClass="SNOW"), "InvalidStorageClass", 400, message)
    # Nothing was written by a refused request.
    eq([o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])], ["src"])
    eq(s3.list_multipart_uploads(Bucket=b).get("Uploads", []), [])


def test_a_glacier_object_is_read_only_after_a_restore_and_until_it_expires():
    b = bucket()
    s3.put_object(Bucket=b, Key="cold", Body=b"archived bytes", StorageClass="GLACIER")
    head = s3.head_object(Bucket=b, Key="cold")
    eq((head.get("StorageClass"), head.get("Restore")), ("GLACIER", None), "HEAD answers an archived object")
    expect_error(lambda: s3.get_object(Bucket=b, Key="cold"), "InvalidObjectState", 403, "The operation is not valid for the object's storage class")
    expect_error(lambda: s3.copy_object(Bucket=b, Key="warm", CopySource={"Bucket": b, "Key": "cold"}), "InvalidObjectState", 403)
    up = s3.create_multipart_upload(Bucket=b, Key="warm")["UploadId"]
    expect_error(lambda: s3.upload_part_copy(Bucket=b, Key="warm", UploadId=up, PartNumber=1, CopySource={"Bucket": b, "Key": "cold"}), "InvalidObjectState", 403)
    expect_error(lambda: s3.restore_object(Bucket=b, Key="cold", RestoreRequest={"GlacierJobParameters": {"Tier": "Expedited"}}), "MalformedXML", 400)

    eq(status(s3.restore_object(Bucket=b, Key="cold", RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Expedited"}})), 202, "a restore starts")
    eq(s3.head_object(Bucket=b, Key="cold")["Restore"], 'ongoing-request="true"')
    expect_error(lambda: s3.restore_object(Bucket=b, Key="cold", RestoreRequest={"Days": 2}), "RestoreAlreadyInProgress", 409, "Object restore is already in progress")
    expect_error(lambda: s3.get_object(Bucket=b, Key="cold"), "InvalidObjectState", 403)
    if "OptionalObjectAttributes" in s3.meta.service_model.operation_model("ListObjectsV2").input_shape.members:
        listed = s3.list_objects_v2(Bucket=b, OptionalObjectAttributes=["RestoreStatus"])["Contents"][0]
        eq(listed["RestoreStatus"], {"IsRestoreInProgress": True}, "ListObjectsV2 RestoreStatus")

    # An expedited retrieval takes a minute; the copy lasts 2 days, to the midnight UTC after.
    advance(61)
    done = server_time()
    expiry = (int(done) // DAY + 3) * DAY
    head = s3.head_object(Bucket=b, Key="cold")
    eq(head["Restore"], 'ongoing-request="false", expiry-date="%s"' % http_date(expiry))
    eq(head["StorageClass"], "GLACIER", "a restored object stays archived")
    eq(s3.get_object(Bucket=b, Key="cold")["Body"].read(), b"archived bytes", "GET reads the restored copy")
    s3.copy_object(Bucket=b, Key="warm", CopySource={"Bucket": b, "Key": "cold"})
    eq(s3.get_object(Bucket=b, Key="warm")["Body"].read(), b"archived bytes")
    eq(s3.head_object(Bucket=b, Key="warm").get("StorageClass"), None, "the copy is STANDARD")
    if "OptionalObjectAttributes" in s3.meta.service_model.operation_model("ListObjectsV2").input_shape.members:
        listed = s3.list_objects_v2(Bucket=b, Prefix="cold", OptionalObjectAttributes=["RestoreStatus"])["Contents"][0]
        eq(listed["RestoreStatus"]["IsRestoreInProgress"], False)
        eq(int(listed["RestoreStatus"]["RestoreExpiryDate"].timestamp()), expiry)

    # Restoring a restored object answers 200 and moves its expiry.
    eq(status(s3.restore_object(Bucket=b, Key="cold", RestoreRequest={"Days": 5})), 200, "already restored")
    later = (int(server_time()) // DAY + 6) * DAY
    eq(s3.head_object(Bucket=b, Key="cold")["Restore"], 'ongoing-request="false", expiry-date="%s"' % http_date(later))

    # Past the expiry the restored copy is gone: archived again.
    advance(later - server_time() + 1)
    eq(s3.head_object(Bucket=b, Key="cold").get("Restore"), None, "the restored copy expired")
    expect_error(lambda: s3.get_object(Bucket=b, Key="cold"), "InvalidObjectState", 403)


def test_deep_archive_tiers_and_versions():
    b = bucket(versioned=True)
    old = s3.put_object(Bucket=b, Key="deep", Body=b"v1", StorageClass="DEEP_ARCHIVE")["VersionId"]
    s3.put_object(Bucket=b, Key="deep", Body=b"v2")
    expect_error(lambda: s3.restore_object(Bucket=b, Key="deep", VersionId=old, RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}}),
                 "InvalidArgument", 400)
    # The current version is STANDARD: nothing to restore, as S3 says.
    expect_error(lambda: s3.restore_object(Bucket=b, Key="deep", RestoreRequest={"Days": 1}), "InvalidObjectState", 403,
                 "Restore is not allowed for the object's current storage class")
    r = s3.restore_object(Bucket=b, Key="deep", VersionId=old, RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Standard"}})
    eq(status(r), 202)
    # A standard retrieval from DEEP_ARCHIVE takes 12 hours.
    advance(11 * 3600)
    expect_error(lambda: s3.get_object(Bucket=b, Key="deep", VersionId=old), "InvalidObjectState", 403)
    advance(3600 + 1)
    eq(s3.get_object(Bucket=b, Key="deep", VersionId=old)["Body"].read(), b"v1", "the noncurrent version was restored")
    eq(s3.get_object(Bucket=b, Key="deep")["Body"].read(), b"v2")
    expect_error(lambda: s3.restore_object(Bucket=b, Key="missing", RestoreRequest={"Days": 1}), "NoSuchKey", 404)


if __name__ == "__main__":
    run(globals())
