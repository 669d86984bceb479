"""S3 Object Lock end to end with an unmodified boto3 (run by both the image's boto3 1.43 and
Debian's 1.26), on a server whose clock the test drives (FakeClockServer.cs): the bucket's
configuration and default retention, each version's retention and legal hold, what they forbid
(removing a version, shortening its retention) and what they allow (delete markers, bypassing
GOVERNANCE with the permission to), the integrity check S3 asks of locked writes, lifecycle
leaving locked versions alone, the condition keys, and retention running out as days pass."""
import base64
import datetime
import hashlib
import json

import boto3
from botocore.config import Config

from harness import advance, client, endpoint, eq, expect_error, iam_user, run, server_time, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})
s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = client("iam")
DAY = 86400
LOCKED = "Access Denied because object protected by object lock."
MISSING = "Bucket is missing Object Lock Configuration"
MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"
NEEDS_DIGEST = "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"


def md5(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def at(seconds_from_now):
    """A time `seconds_from_now` after the server's now, to the second."""
    return datetime.datetime.fromtimestamp(int(server_time() + seconds_from_now), tz=datetime.timezone.utc)


def locked_bucket(default=None):
    name = unique("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    if default:
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": default}})
    return name


def put(b, key, body=b"data", **lock):
    """A locked write, with the Content-MD5 S3 asks of one (both boto3s send it as told)."""
    return s3.put_object(Bucket=b, Key=key, Body=body, ContentMD5=md5(body), **lock)


def retention(b, key, version):
    return s3.get_object_retention(Bucket=b, Key=key, VersionId=version)["Retention"]


def versions(b, key):
    r = s3.list_object_versions(Bucket=b, Prefix=key)
    return [v["VersionId"] for v in r.get("Versions", []) if v["Key"] == key]


def test_bucket_configuration():
    b = locked_bucket()
    eq(s3.get_bucket_versioning(Bucket=b).get("Status"), "Enabled", "a lock bucket is versioned")
    eq(s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled"}, "enabled, no rule")
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 3}}
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule})
    eq(s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled", "Rule": rule}, "rule read back")
    rule = {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule})
    eq(s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]["Rule"], rule, "rule replaced")
    # Its versioning cannot be suspended.
    expect_error(lambda: s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"}), "InvalidBucketState", 409,
                 "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
    eq(s3.get_bucket_versioning(Bucket=b).get("Status"), "Enabled", "still enabled")
    # A bucket without Object Lock has no configuration; it can get one once it is versioned.
    plain = unique("plain")
    s3.create_bucket(Bucket=plain)
    expect_error(lambda: s3.get_object_lock_configuration(Bucket=plain), "ObjectLockConfigurationNotFoundError", 404,
                 "Object Lock configuration does not exist for this bucket")
    enable = {"ObjectLockEnabled": "Enabled"}
    expect_error(lambda: s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration=enable), "InvalidBucketState", 409,
                 "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
    s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Suspended"})
    expect_error(lambda: s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration=enable), "InvalidBucketState", 409)
    s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration=enable)
    eq(s3.get_object_lock_configuration(Bucket=plain)["ObjectLockConfiguration"], enable, "enabled on an existing bucket")
    expect_error(lambda: s3.get_object_lock_configuration(Bucket=unique("missing")), "NoSuchBucket", 404)


def test_bad_configurations():
    b = locked_bucket()
    cases = [
        ({"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}, "MalformedXML", MALFORMED),
        ({"DefaultRetention": {"Mode": "GOVERNANCE"}}, "MalformedXML", MALFORMED),
        ({"DefaultRetention": {"Days": 1}}, "MalformedXML", MALFORMED),
        ({"DefaultRetention": {"Mode": "FOREVER", "Days": 1}}, "MalformedXML", MALFORMED),
        ({}, "MalformedXML", MALFORMED),
        ({"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}, "InvalidArgument", "Default retention period must be a positive integer value."),
        ({"DefaultRetention": {"Mode": "COMPLIANCE", "Years": -1}}, "InvalidArgument", "Default retention period must be a positive integer value."),
    ]
    for rule, code, message in cases:
        expect_error(lambda: s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}),
                     code, 400, message)
    eq(s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled"}, "unchanged by refusals")


def test_retention_and_legal_hold_of_versions():
    b = locked_bucket()
    until_date = at(2 * DAY)
    v1 = put(b, "k", b"one", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until_date, ObjectLockLegalHoldStatus="ON")["VersionId"]
    v2 = put(b, "k", b"two")["VersionId"]
    head = s3.head_object(Bucket=b, Key="k", VersionId=v1)
    eq((head["ObjectLockMode"], head["ObjectLockRetainUntilDate"], head["ObjectLockLegalHoldStatus"]), ("GOVERNANCE", until_date, "ON"), "HEAD's lock headers")
    got = s3.get_object(Bucket=b, Key="k", VersionId=v1)
    eq((got["ObjectLockMode"], got["ObjectLockRetainUntilDate"], got["ObjectLockLegalHoldStatus"]), ("GOVERNANCE", until_date, "ON"), "GET's lock headers")
    eq(retention(b, "k", v1), {"Mode": "GOVERNANCE", "RetainUntilDate": until_date}, "retention")
    eq(s3.get_object_legal_hold(Bucket=b, Key="k", VersionId=v1)["LegalHold"], {"Status": "ON"}, "legal hold")
    # The current version has none of its own.
    head = s3.head_object(Bucket=b, Key="k")
    eq([h for h in ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus") if h in head], [], "no lock on the new version")
    expect_error(lambda: s3.get_object_retention(Bucket=b, Key="k"), "NoSuchObjectLockConfiguration", 404,
                 "The specified object does not have a ObjectLock configuration")
    expect_error(lambda: s3.get_object_legal_hold(Bucket=b, Key="k", VersionId=v2), "NoSuchObjectLockConfiguration", 404)
    # Set on an existing version (the current one, when none is named).
    later = at(5 * DAY)
    s3.put_object_retention(Bucket=b, Key="k", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    eq(retention(b, "k", v2), {"Mode": "COMPLIANCE", "RetainUntilDate": later}, "retention set on the current version")
    s3.put_object_legal_hold(Bucket=b, Key="k", VersionId=v2, LegalHold={"Status": "OFF"})
    eq(s3.get_object_legal_hold(Bucket=b, Key="k", VersionId=v2)["LegalHold"], {"Status": "OFF"}, "hold OFF is kept")
    eq(s3.head_object(Bucket=b, Key="k")["ObjectLockLegalHoldStatus"], "OFF", "HEAD says OFF")
    # What is not there.
    expect_error(lambda: s3.get_object_retention(Bucket=b, Key="none"), "NoSuchKey", 404)
    expect_error(lambda: s3.put_object_legal_hold(Bucket=b, Key="k", VersionId="0" * 32, LegalHold={"Status": "ON"}), "NoSuchVersion", 404)
    marker = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    expect_error(lambda: s3.put_object_legal_hold(Bucket=b, Key="k", VersionId=marker, LegalHold={"Status": "ON"}), "MethodNotAllowed", 405)


def test_bad_lock_headers():
    b = locked_bucket()
    soon = at(DAY)
    expect_error(lambda: put(b, "k", ObjectLockMode="GOVERNANCE"), "InvalidArgument", 400,
                 "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
    expect_error(lambda: put(b, "k", ObjectLockRetainUntilDate=soon), "InvalidArgument", 400,
                 "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
    expect_error(lambda: put(b, "k", ObjectLockMode="FOREVER", ObjectLockRetainUntilDate=soon), "InvalidArgument", 400, "Unknown wormMode directive.")
    expect_error(lambda: put(b, "k", ObjectLockLegalHoldStatus="MAYBE"), "InvalidArgument", 400, "Legal Hold must be either of 'ON' or 'OFF'")
    expect_error(lambda: put(b, "k", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=at(-60)), "InvalidArgument", 400,
                 "The retain until date must be in the future!")
    v = put(b, "k")["VersionId"]
    expect_error(lambda: s3.put_object_retention(Bucket=b, Key="k", VersionId=v, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": at(-60)}),
                 "InvalidArgument", 400, "The retain until date must be in the future!")
    expect_error(lambda: s3.put_object_retention(Bucket=b, Key="k", VersionId=v, Retention={"Mode": "GOVERNANCE"}), "MalformedXML", 400)
    expect_error(lambda: s3.put_object_legal_hold(Bucket=b, Key="k", VersionId=v, LegalHold={"Status": "MAYBE"}), "MalformedXML", 400)
    eq(versions(b, "k"), [v], "no refused write made a version")


def test_locked_writes_need_an_integrity_check():
    b = locked_bucket()
    bare = bare_client()
    expect_error(lambda: bare.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON"), "InvalidRequest", 400, NEEDS_DIGEST)
    bare.put_object(Bucket=b, Key="plain", Body=b"x")  # no lock asked for, none needed
    bare.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON", ContentMD5=md5(b"x"))
    bare.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON", ChecksumAlgorithm="SHA256")
    expect_error(lambda: bare.put_object(Bucket=b, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON", ContentMD5=md5(b"y")), "BadDigest", 400)
    # A default retention locks every write, so every write needs one.
    s3.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    expect_error(lambda: bare.put_object(Bucket=b, Key="plain", Body=b"x"), "InvalidRequest", 400, NEEDS_DIGEST)


def bare_client():
    """A client that checks the body of PutObject and UploadPart only when told to: boto3 1.43
    told to send a checksum only where the model requires one; 1.26 without the handler that
    adds a Content-MD5 to both."""
    import botocore.handlers
    try:
        config = Config(retries={"max_attempts": 1}, request_checksum_calculation="when_required")
    except TypeError:  # boto3 1.26 predates the option
        config = cfg
    bare = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=config)
    if hasattr(botocore.handlers, "conditionally_calculate_md5"):
        for event in ("before-call.s3.PutObject", "before-call.s3.UploadPart"):
            bare.meta.events.unregister(event, botocore.handlers.conditionally_calculate_md5)
    return bare


def test_lock_settings_need_an_object_lock_bucket():
    b = unique("plain")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    expect_error(lambda: put(b, "k", ObjectLockLegalHoldStatus="ON"), "InvalidRequest", 400, MISSING)
    expect_error(lambda: put(b, "k", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=at(DAY)), "InvalidRequest", 400, MISSING)
    expect_error(lambda: s3.put_object_retention(Bucket=b, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": at(DAY)}), "InvalidRequest", 400, MISSING)
    expect_error(lambda: s3.get_object_retention(Bucket=b, Key="k"), "InvalidRequest", 400, MISSING)
    expect_error(lambda: s3.put_object_legal_hold(Bucket=b, Key="k", LegalHold={"Status": "ON"}), "InvalidRequest", 400, MISSING)
    expect_error(lambda: s3.get_object_legal_hold(Bucket=b, Key="k"), "InvalidRequest", 400, MISSING)
    expect_error(lambda: s3.create_multipart_upload(Bucket=b, Key="m", ObjectLockLegalHoldStatus="ON"), "InvalidRequest", 400, MISSING)


def test_locked_versions_cannot_be_removed():
    b = locked_bucket()
    gov = put(b, "gov", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=at(DAY))["VersionId"]
    comp = put(b, "comp", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=at(DAY))["VersionId"]
    held = put(b, "held", ObjectLockLegalHoldStatus="ON")["VersionId"]
    free = put(b, "free")["VersionId"]
    for key, version in (("gov", gov), ("comp", comp), ("held", held)):
        expect_error(lambda: s3.delete_object(Bucket=b, Key=key, VersionId=version), "AccessDenied", 403, LOCKED)
    # A delete without a version id only hides the object behind a marker.
    marker = s3.delete_object(Bucket=b, Key="gov")
    eq(marker.get("DeleteMarker"), True, "a delete marker")
    eq(versions(b, "gov"), [gov], "the locked version stays")
    s3.delete_object(Bucket=b, Key="gov", VersionId=marker["VersionId"])  # a marker is never locked
    eq(s3.get_object(Bucket=b, Key="gov")["Body"].read(), b"data", "back")
    # GOVERNANCE gives way to a caller who bypasses it (the root may); COMPLIANCE and a hold never do.
    expect_error(lambda: s3.delete_object(Bucket=b, Key="comp", VersionId=comp, BypassGovernanceRetention=True), "AccessDenied", 403, LOCKED)
    expect_error(lambda: s3.delete_object(Bucket=b, Key="held", VersionId=held, BypassGovernanceRetention=True), "AccessDenied", 403, LOCKED)
    s3.delete_object(Bucket=b, Key="gov", VersionId=gov, BypassGovernanceRetention=True)
    eq(versions(b, "gov"), [], "bypassed")
    # DeleteObjects answers for each key.
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "comp", "VersionId": comp}, {"Key": "held", "VersionId": held},
                                                        {"Key": "free", "VersionId": free}, {"Key": "comp"}]})
    eq(sorted((e["Key"], e["Code"], e["Message"]) for e in r.get("Errors", [])), [("comp", "AccessDenied", LOCKED), ("held", "AccessDenied", LOCKED)], "errors")
    eq(sorted((d["Key"], d.get("DeleteMarker", False)) for d in r["Deleted"]), [("comp", True), ("free", False)], "deleted")
    # Once the hold is lifted, the version may go.
    s3.put_object_legal_hold(Bucket=b, Key="held", VersionId=held, LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=b, Key="held", VersionId=held)
    eq(versions(b, "held"), [], "deleted once released")


def test_retention_may_grow_but_not_shrink():
    b = locked_bucket()
    day, week = at(DAY), at(7 * DAY)
    comp = put(b, "comp", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=week)["VersionId"]
    gov = put(b, "gov", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=week)["VersionId"]

    def set_retention(key, version, mode, when, **extra):
        return s3.put_object_retention(Bucket=b, Key=key, VersionId=version, Retention={"Mode": mode, "RetainUntilDate": when}, **extra)

    expect_error(lambda: set_retention("comp", comp, "COMPLIANCE", day), "AccessDenied", 403, LOCKED)
    expect_error(lambda: set_retention("comp", comp, "GOVERNANCE", week, BypassGovernanceRetention=True), "AccessDenied", 403, LOCKED)
    later = at(30 * DAY)
    set_retention("comp", comp, "COMPLIANCE", later)
    eq(retention(b, "comp", comp), {"Mode": "COMPLIANCE", "RetainUntilDate": later}, "extended")
    expect_error(lambda: set_retention("gov", gov, "GOVERNANCE", day), "AccessDenied", 403, LOCKED)
    set_retention("gov", gov, "GOVERNANCE", day, BypassGovernanceRetention=True)
    eq(retention(b, "gov", gov), {"Mode": "GOVERNANCE", "RetainUntilDate": day}, "shortened by bypassing")
    set_retention("gov", gov, "COMPLIANCE", week)
    eq(retention(b, "gov", gov)["Mode"], "COMPLIANCE", "made stricter without bypassing")


def test_bypassing_governance_takes_the_permission():
    b = locked_bucket()
    gov = put(b, "k", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=at(DAY), ObjectLockLegalHoldStatus="OFF")["VersionId"]
    actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObjectVersion", "s3:PutObjectRetention"]
    _, keys = iam_user(iam, "lock-user", actions)
    user = client("s3", keys)
    # Without s3:GetObjectRetention and s3:GetObjectLegalHold, reads leave the lock out.
    head = user.head_object(Bucket=b, Key="k", VersionId=gov)
    eq([h for h in ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus") if h in head], [], "lock headers withheld")
    expect_error(lambda: user.delete_object(Bucket=b, Key="k", VersionId=gov, BypassGovernanceRetention=True), "AccessDenied", 403, LOCKED)
    expect_error(lambda: user.put_object_retention(Bucket=b, Key="k", VersionId=gov, BypassGovernanceRetention=True,
                                                   Retention={"Mode": "GOVERNANCE", "RetainUntilDate": at(60)}), "AccessDenied", 403, LOCKED)
    _, keys = iam_user(iam, "lock-admin", actions + ["s3:BypassGovernanceRetention", "s3:GetObjectRetention", "s3:GetObjectLegalHold"])
    admin = client("s3", keys)
    eq(admin.head_object(Bucket=b, Key="k", VersionId=gov)["ObjectLockLegalHoldStatus"], "OFF", "shown to who may read it")
    expect_error(lambda: admin.delete_object(Bucket=b, Key="k", VersionId=gov), "AccessDenied", 403, LOCKED)  # asked to bypass, or not at all
    admin.delete_object(Bucket=b, Key="k", VersionId=gov, BypassGovernanceRetention=True)
    eq(versions(b, "k"), [], "bypassed with the permission")


def test_default_retention_and_its_expiry():
    b = locked_bucket({"Mode": "GOVERNANCE", "Days": 1})
    written = server_time()
    v = put(b, "k")["VersionId"]
    r = retention(b, "k", v)
    eq(r["Mode"], "GOVERNANCE", "default mode")
    eq(abs(r["RetainUntilDate"].timestamp() - (written + DAY)) < 5, True, f"retained a day from the write: {r['RetainUntilDate']}")
    explicit = at(3 * DAY)
    w = put(b, "k", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=explicit)["VersionId"]
    eq(retention(b, "k", w), {"Mode": "COMPLIANCE", "RetainUntilDate": explicit}, "the request's retention wins over the default")
    expect_error(lambda: s3.delete_object(Bucket=b, Key="k", VersionId=v), "AccessDenied", 403, LOCKED)
    advance(DAY + 60)
    s3.delete_object(Bucket=b, Key="k", VersionId=v)
    eq(versions(b, "k"), [w], "removable once its retention passed")
    eq(retention(b, "k", w)["Mode"], "COMPLIANCE", "the other still kept")
    expect_error(lambda: s3.delete_object(Bucket=b, Key="k", VersionId=w), "AccessDenied", 403, LOCKED)
    advance(2 * DAY)
    # A retention that has passed is still there to read, and may be set to anything.
    eq(retention(b, "k", w), {"Mode": "COMPLIANCE", "RetainUntilDate": explicit}, "kept after it passed")
    soon = at(60)
    s3.put_object_retention(Bucket=b, Key="k", VersionId=w, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon})
    advance(120)
    s3.delete_object(Bucket=b, Key="k", VersionId=w)
    eq(versions(b, "k"), [], "all gone")


def test_copies_and_multipart_uploads():
    b = locked_bucket()
    src = put(b, "src", b"source", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=at(DAY))["VersionId"]
    # A copy's lock is the request's (or the bucket's default), never the source's.
    copy = s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "src", "VersionId": src})["VersionId"]
    expect_error(lambda: s3.get_object_retention(Bucket=b, Key="copy", VersionId=copy), "NoSuchObjectLockConfiguration", 404)
    until_date = at(2 * DAY)
    copy = s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "src"}, ObjectLockMode="GOVERNANCE",
                          ObjectLockRetainUntilDate=until_date, ObjectLockLegalHoldStatus="ON")["VersionId"]
    eq(retention(b, "copy", copy), {"Mode": "GOVERNANCE", "RetainUntilDate": until_date}, "copy's retention")
    eq(s3.get_object_legal_hold(Bucket=b, Key="copy", VersionId=copy)["LegalHold"], {"Status": "ON"}, "copy's hold")
    # An upload's lock is given when it starts; each part of it needs an integrity check.
    upload = s3.create_multipart_upload(Bucket=b, Key="big", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until_date)["UploadId"]
    part = b"p" * 1024
    bare = bare_client()
    expect_error(lambda: bare.upload_part(Bucket=b, Key="big", UploadId=upload, PartNumber=1, Body=part), "InvalidRequest", 400,
                 "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters")
    etag = s3.upload_part(Bucket=b, Key="big", UploadId=upload, PartNumber=1, Body=part, ContentMD5=md5(part))["ETag"]
    big = s3.complete_multipart_upload(Bucket=b, Key="big", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})["VersionId"]
    eq(retention(b, "big", big), {"Mode": "COMPLIANCE", "RetainUntilDate": until_date}, "upload's retention")
    expect_error(lambda: s3.delete_object(Bucket=b, Key="big", VersionId=big), "AccessDenied", 403, LOCKED)


def test_lifecycle_leaves_locked_versions():
    b = locked_bucket()
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        {"ID": "old", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
    locked = put(b, "locked", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=at(4 * DAY))["VersionId"]
    put(b, "locked", b"newer")
    free = put(b, "free")["VersionId"]
    put(b, "free", b"newer")
    advance(2 * DAY + 60)
    until("the unlocked noncurrent version expires", lambda: free not in versions(b, "free"))
    eq(locked in versions(b, "locked"), True, "the locked noncurrent version outlives its rule")
    advance(3 * DAY)
    until("the version expires once its retention passed", lambda: locked not in versions(b, "locked"))


def test_condition_keys():
    b = locked_bucket()
    v = put(b, "k")["VersionId"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectRetention", "Resource": f"arn:aws:s3:::{b}/*",
         "Condition": {"NumericGreaterThan": {"s3:object-lock-remaining-retention-days": "30"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectRetention", "Resource": f"arn:aws:s3:::{b}/*",
         "Condition": {"StringEquals": {"s3:object-lock-mode": "COMPLIANCE"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectLegalHold", "Resource": f"arn:aws:s3:::{b}/*",
         "Condition": {"StringEquals": {"s3:object-lock-legal-hold": "ON"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{b}/*",
         "Condition": {"NumericGreaterThan": {"s3:object-lock-remaining-retention-days": "30"}}},
    ]}
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps(policy))
    expect_error(lambda: s3.put_object_retention(Bucket=b, Key="k", VersionId=v, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": at(40 * DAY)}),
                 "AccessDenied", 403)
    expect_error(lambda: s3.put_object_retention(Bucket=b, Key="k", VersionId=v, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": at(DAY)}),
                 "AccessDenied", 403)
    s3.put_object_retention(Bucket=b, Key="k", VersionId=v, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": at(10 * DAY)})
    expect_error(lambda: s3.put_object_legal_hold(Bucket=b, Key="k", VersionId=v, LegalHold={"Status": "ON"}), "AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=b, Key="k", VersionId=v, LegalHold={"Status": "OFF"})
    expect_error(lambda: put(b, "long", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=at(31 * DAY)), "AccessDenied", 403)
    put(b, "short", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=at(29 * DAY))


if __name__ == "__main__":
    run(globals())
