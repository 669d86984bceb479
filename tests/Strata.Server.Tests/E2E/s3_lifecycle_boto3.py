"""S3 bucket lifecycle end to end with an unmodified boto3 (run by both the image's boto3 1.43 and
Debian's 1.26), on a server whose clock the test drives (FakeClockServer.cs): the configuration and
the refusals S3 answers, then what the rules do as days pass: current objects expire by prefix,
tag and size (and others stay), a versioned bucket gets delete markers, noncurrent versions go
keeping the newest, expired delete markers go, incomplete uploads are aborted, and HEAD says when
an object expires. Each pass over a bucket handles a page of keys in one transaction, so once one
due object is gone the pass has decided about every other key of the bucket."""
import datetime
import email.utils

import boto3
from botocore.config import Config

from harness import advance, endpoint, eq, expect_error, run, server_time, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})
s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
DAY = 86400
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"


def bucket(versioned=False):
    name = unique("lc")
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def put_rules(b, *rules):
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": list(rules)})


def due(written, days):
    """S3's expiry: the midnight UTC after `written` (epoch seconds) plus `days`."""
    end = written + days * DAY
    return end if end % DAY == 0 else (int(end) // DAY + 1) * DAY


def advance_past(when):
    """Moves the server's clock a minute past `when` (epoch seconds)."""
    advance(when - server_time() + 60)


def exists(b, key):
    return any(o["Key"] == key for o in s3.list_objects_v2(Bucket=b, Prefix=key).get("Contents", []))


def versions(b, key):
    r = s3.list_object_versions(Bucket=b, Prefix=key)
    return sorted([("version", v["VersionId"], v["IsLatest"]) for v in r.get("Versions", []) if v["Key"] == key]
                  + [("marker", m["VersionId"], m["IsLatest"]) for m in r.get("DeleteMarkers", []) if m["Key"] == key])


def test_configuration_round_trip():
    b = bucket()
    expect_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=b), "NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist")
    date = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    rules = [
        {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
        {"ID": "tagged", "Status": "Enabled", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}}, "Expiration": {"Date": date},
         "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}]},
        {"ID": "big", "Status": "Disabled", "Filter": {"And": {"Prefix": "data/", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                                                               "ObjectSizeGreaterThan": 1024, "ObjectSizeLessThan": 4096}},
         "Expiration": {"Days": 1}},
        {"ID": "old", "Status": "Enabled", "Filter": {}, "Expiration": {"ExpiredObjectDeleteMarker": True},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 10, "NewerNoncurrentVersions": 2},
         "NoncurrentVersionTransitions": [{"NoncurrentDays": 5, "StorageClass": "GLACIER"}]},
        {"ID": "legacy", "Status": "Enabled", "Prefix": "tmp/", "Expiration": {"Days": 2}},
        {"Status": "Enabled", "Filter": {"ObjectSizeLessThan": 10}, "Expiration": {"Days": 3}},
    ]
    put = s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=b)
    if "TransitionDefaultMinimumObjectSize" in put:  # boto3 1.26 predates the member
        eq(put["TransitionDefaultMinimumObjectSize"], "all_storage_classes_128K", "put's default minimum size")
        eq(got["TransitionDefaultMinimumObjectSize"], "all_storage_classes_128K", "get's default minimum size")
    read = got["Rules"]
    eq(len(read), 6, "rules")
    # The rule written without an ID got one of S3's 48 characters.
    made = read[5].pop("ID")
    eq(len(made), 48, f"made-up ID {made}")
    eq(read[:5], rules[:5], "rules read back as written")
    eq(read[5], rules[5], "the rule without an ID")
    # A new configuration replaces the old one whole.
    put_rules(b, {"ID": "only", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}})
    eq([r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]], ["only"], "replaced")
    eq(s3.delete_bucket_lifecycle(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"], 204, "delete")
    expect_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=b), "NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist")
    eq(s3.delete_bucket_lifecycle(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"], 204, "deleting none")
    expect_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=unique("missing")), "NoSuchBucket", 404)


def test_bad_configurations():
    b = bucket()
    one_day = {"Days": 1}
    cases = [
        ([{"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": one_day}] * 2, "InvalidArgument",
         "Rule ID must be unique. Found same ID for more than one rule"),
        ([{"ID": "x" * 256, "Status": "Enabled", "Filter": {}, "Expiration": one_day}], "InvalidArgument",
         "ID length should not exceed allowed limit of 255"),
        ([{"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}], "InvalidArgument", "'Days' for Expiration action must be a positive integer"),
        ([{"Status": "Enabled", "Filter": {}, "Expiration": {"Days": -3}}], "InvalidArgument", "'Days' for Expiration action must be a positive integer"),
        ([{"Status": "Enabled", "Filter": {}, "Expiration": {"Date": datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.timezone.utc)}}],
         "InvalidArgument", "'Date' must be at midnight GMT"),
        ([{"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True}}], "MalformedXML", MALFORMED),
        ([{"Status": "Enabled", "Filter": {}}], "InvalidRequest", "At least one action needs to be specified in a rule"),
        ([{"Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}],
         "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags."),
        ([{"Status": "Enabled", "Filter": {"And": {"Prefix": "a", "Tags": [{"Key": "k", "Value": "v"}]}}, "Expiration": {"ExpiredObjectDeleteMarker": True}}],
         "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Tags."),
        ([{"Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 0}}],
         "InvalidArgument", "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"),
        ([{"Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 101}}],
         "InvalidArgument", "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be an integer between 1 and 100"),
        ([{"Status": "Enabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 0}}],
         "InvalidArgument", "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"),
        ([{"Status": "Enabled", "Prefix": "a/", "Filter": {"Prefix": "a/"}, "Expiration": one_day}], "MalformedXML", MALFORMED),
        ([{"Status": "Enabled", "Expiration": one_day}], "MalformedXML", MALFORMED),
        ([{"Status": "Enabled", "Filter": {"Prefix": "a/", "ObjectSizeGreaterThan": 5}, "Expiration": one_day}], "MalformedXML", MALFORMED),
        ([{"Status": "Enabled", "Filter": {}, "Expiration": one_day}] * 1001, "MalformedXML", MALFORMED),
    ]
    for rules, code, message in cases:
        expect_error(lambda: put_rules(b, *rules), code, 400, message)
    # None of them was stored.
    expect_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=b), "NoSuchLifecycleConfiguration", 404)


def test_current_objects_expire_by_prefix_tag_and_size():
    b = bucket()
    put_rules(b,
              {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
              {"ID": "temp", "Status": "Enabled", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}}, "Expiration": {"Days": 2}},
              {"ID": "big", "Status": "Enabled", "Filter": {"And": {"Prefix": "big/", "ObjectSizeGreaterThan": 10}}, "Expiration": {"Days": 1}},
              {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "keep/"}, "Expiration": {"Days": 1}})
    written = server_time()
    put = s3.put_object(Bucket=b, Key="logs/a", Body=b"log")
    s3.put_object(Bucket=b, Key="keep/a", Body=b"keep")
    s3.put_object(Bucket=b, Key="tagged", Body=b"t", Tagging="temp=yes")
    s3.put_object(Bucket=b, Key="untagged", Body=b"t", Tagging="temp=no")
    s3.put_object(Bucket=b, Key="big/large", Body=b"x" * 20)
    s3.put_object(Bucket=b, Key="big/small", Body=b"x" * 5)
    day1, day2 = due(written, 1), due(written, 2)
    expected = f'expiry-date="{email.utils.formatdate(day1, usegmt=True)}", rule-id="logs"'
    eq(put.get("Expiration"), expected, "PutObject's x-amz-expiration")
    eq(s3.head_object(Bucket=b, Key="logs/a").get("Expiration"), expected, "HeadObject's x-amz-expiration")
    eq(s3.get_object(Bucket=b, Key="logs/a").get("Expiration"), expected, "GetObject's x-amz-expiration")
    eq(s3.head_object(Bucket=b, Key="tagged").get("Expiration"),
       f'expiry-date="{email.utils.formatdate(day2, usegmt=True)}", rule-id="temp"', "by tag")
    eq(s3.head_object(Bucket=b, Key="keep/a").get("Expiration"), None, "a disabled rule sets no expiry")
    eq(s3.head_object(Bucket=b, Key="big/small").get("Expiration"), None, "too small for the size filter")

    advance_past(day1)
    until("logs/a expired", lambda: not exists(b, "logs/a"))
    eq([k for k in ["logs/a", "keep/a", "tagged", "untagged", "big/large", "big/small"] if exists(b, k)],
       ["keep/a", "tagged", "untagged", "big/small"], "after a day")
    expect_error(lambda: s3.head_object(Bucket=b, Key="logs/a"), "404", 404)

    advance_past(day2)
    until("tagged expired", lambda: not exists(b, "tagged"))
    eq([k for k in ["keep/a", "untagged", "big/small"] if exists(b, k)], ["keep/a", "untagged", "big/small"], "after two days")


def test_versioned_expiry_leaves_a_delete_marker():
    b = bucket(versioned=True)
    put_rules(b, {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "k"}, "Expiration": {"Days": 1}})
    written = server_time()
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=b, Key="other", Body=b"stays")
    advance_past(due(written, 1))
    until("a delete marker on k", lambda: any(kind == "marker" for kind, _, _ in versions(b, "k")))
    found = versions(b, "k")
    eq(len(found), 2, f"versions of k: {found}")
    eq([(kind, latest) for kind, _, latest in found], [("marker", True), ("version", False)], "the marker is latest, v1 noncurrent")
    eq([vid for kind, vid, _ in found if kind == "version"], [v1], "v1 kept")
    expect_error(lambda: s3.get_object(Bucket=b, Key="k"), "NoSuchKey", 404)
    eq(s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(), b"one", "v1 readable by id")
    eq(s3.get_object(Bucket=b, Key="other")["Body"].read(), b"stays", "outside the filter")


def test_noncurrent_versions_expire_keeping_the_newest():
    b = bucket(versioned=True)
    put_rules(b, {"ID": "noncurrent", "Status": "Enabled", "Filter": {},
                  "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}})
    written = server_time()
    ids = [s3.put_object(Bucket=b, Key="k", Body=f"v{i}".encode())["VersionId"] for i in range(1, 5)]
    single = s3.put_object(Bucket=b, Key="single", Body=b"only version")["VersionId"]
    advance_past(due(written, 1))
    until("the oldest versions gone", lambda: len(versions(b, "k")) == 2)
    eq(sorted(vid for _, vid, _ in versions(b, "k")), sorted(ids[2:]), "the current version and the newest noncurrent one stay")
    eq(s3.get_object(Bucket=b, Key="k")["Body"].read(), b"v4", "current untouched")
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", VersionId=ids[0]), "NoSuchVersion", 404)
    eq([vid for _, vid, _ in versions(b, "single")], [single], "a current version is not noncurrent")


def test_expired_delete_markers_are_removed():
    b = bucket(versioned=True)
    put_rules(b, {"ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": "gone/"},
                  "Expiration": {"ExpiredObjectDeleteMarker": True}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
    written = server_time()
    s3.put_object(Bucket=b, Key="gone/a", Body=b"a")
    s3.delete_object(Bucket=b, Key="gone/a")
    s3.put_object(Bucket=b, Key="kept/a", Body=b"a")
    s3.delete_object(Bucket=b, Key="kept/a")
    eq(len(versions(b, "gone/a")), 2, "a version below a marker")
    advance_past(due(written, 1))
    until("gone/a has no versions", lambda: versions(b, "gone/a") == [])
    eq([(kind, latest) for kind, _, latest in versions(b, "kept/a")], [("marker", True), ("version", False)], "outside the prefix")


def test_incomplete_multipart_uploads_are_aborted():
    b = bucket()
    put_rules(b, {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": "up/"}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
    written = server_time()
    doomed = s3.create_multipart_upload(Bucket=b, Key="up/a")["UploadId"]
    s3.upload_part(Bucket=b, Key="up/a", UploadId=doomed, PartNumber=1, Body=b"part")
    kept = s3.create_multipart_upload(Bucket=b, Key="other/b")["UploadId"]
    advance_past(due(written, 1))
    until("up/a aborted", lambda: doomed not in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", [])])
    eq([u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", [])], [kept], "outside the prefix")
    expect_error(lambda: s3.list_parts(Bucket=b, Key="up/a", UploadId=doomed), "NoSuchUpload", 404)


if __name__ == "__main__":
    run(globals())
