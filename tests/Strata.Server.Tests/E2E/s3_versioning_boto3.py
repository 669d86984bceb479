"""S3 bucket versioning end to end with an unmodified boto3 (run by both the image's boto3 1.43
and Debian's 1.26): version ids, delete markers, versioned reads, copies, tags, batch deletes,
ListObjectVersions, the errors S3 answers, and an endpoint deployed from a versioned artifact."""
import io
import json
import os
import tarfile

import boto3
from botocore.config import Config

from harness import endpoint, eq, execution_role, expect_error, run, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})
s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
MALFORMED = "not-a-version-id"
UNKNOWN = "0" * 32  # shaped like a version id, naming none


def versioned_bucket(status="Enabled"):
    name = unique("ver")
    s3.create_bucket(Bucket=name)
    if status:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    return name


def body(**kw):
    return s3.get_object(**kw)["Body"].read()


def headers(response):
    return response["ResponseMetadata"]["HTTPHeaders"]


def test_versioning_configuration():
    b = versioned_bucket(status=None)
    eq("Status" in s3.get_bucket_versioning(Bucket=b), False, "a never-versioned bucket answers no Status")
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    eq(s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled", "enabled")
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    eq(s3.get_bucket_versioning(Bucket=b)["Status"], "Suspended", "suspended")
    expect_error(lambda: s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}),
                 "InvalidRequest", 400, "MFA delete")
    expect_error(lambda: s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Sometimes"}), "MalformedXML", 400)
    eq(s3.get_bucket_versioning(Bucket=b)["Status"], "Suspended", "a refused change changes nothing")
    expect_error(lambda: s3.get_bucket_versioning(Bucket=unique("missing")), "NoSuchBucket", 404)
    expect_error(lambda: s3.put_bucket_versioning(Bucket=unique("missing"), VersioningConfiguration={"Status": "Enabled"}), "NoSuchBucket", 404)


def test_unversioned_bucket_answers_no_version_ids():
    b = versioned_bucket(status=None)
    put = s3.put_object(Bucket=b, Key="k", Body=b"one")
    eq("VersionId" in put, False, "no version id on PUT")
    got = s3.get_object(Bucket=b, Key="k")
    eq("VersionId" in got, False, "no version id on GET")
    eq(body(Bucket=b, Key="k", VersionId="null"), b"one", "the object is the null version")
    deleted = s3.delete_object(Bucket=b, Key="k")
    eq(("DeleteMarker" in deleted, "VersionId" in deleted), (False, False), "a plain delete")
    eq(s3.list_object_versions(Bucket=b).get("Versions", []), [], "nothing left")


def test_writes_get_version_ids_and_every_version_stays_readable():
    b = versioned_bucket(status=None)
    s3.put_object(Bucket=b, Key="k", Body=b"before")
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and v1 != "null", (v1, v2)
    got = s3.get_object(Bucket=b, Key="k")
    eq((got["Body"].read(), got["VersionId"]), (b"two", v2), "the latest")
    eq(body(Bucket=b, Key="k", VersionId=v1), b"one", "an older version")
    eq(body(Bucket=b, Key="k", VersionId="null"), b"before", "the object from before versioning is the null version")
    eq(s3.head_object(Bucket=b, Key="k", VersionId=v1)["ContentLength"], 3, "HEAD of a version")
    eq(s3.head_object(Bucket=b, Key="k", VersionId=v1)["VersionId"], v1, "HEAD says which")
    listed = s3.list_object_versions(Bucket=b)["Versions"]
    eq([(v["VersionId"], v["IsLatest"]) for v in listed], [(v2, True), (v1, False), ("null", False)], "newest first")
    assert all(v["Owner"]["ID"] and v["ETag"] and v["Size"] and v["LastModified"] for v in listed), listed
    eq([o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]], ["k"], "ListObjectsV2 shows the key once")
    eq(len(s3.list_objects(Bucket=b)["Contents"]), 1, "ListObjects too")
    # Ranges and conditions apply to the version read.
    eq(body(Bucket=b, Key="k", VersionId=v1, Range="bytes=1-"), b"ne", "a range of a version")
    etag1 = s3.head_object(Bucket=b, Key="k", VersionId=v1)["ETag"]
    eq(body(Bucket=b, Key="k", VersionId=v1, IfMatch=etag1), b"one", "If-Match on the version read")
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", IfMatch=etag1), "PreconditionFailed", 412)
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", VersionId=v1, IfNoneMatch=etag1), "304", 304)
    # Version ids that cannot be, and ones that are not.
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", VersionId=MALFORMED), "InvalidArgument", 400, "Invalid version id specified")
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", VersionId=UNKNOWN), "NoSuchVersion", 404)
    expect_error(lambda: s3.head_object(Bucket=b, Key="k", VersionId=UNKNOWN), "404", 404)
    expect_error(lambda: s3.head_object(Bucket=b, Key="k", VersionId=MALFORMED), "400", 400)
    expect_error(lambda: s3.get_object(Bucket=b, Key="other", VersionId=v1), "NoSuchVersion", 404)


def test_delete_markers():
    b = versioned_bucket()
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    d = s3.delete_object(Bucket=b, Key="k")
    eq(d["DeleteMarker"], True, "a delete without a version makes a marker")
    marker = d["VersionId"]
    assert marker not in (v1, "null"), marker
    e = expect_error(lambda: s3.get_object(Bucket=b, Key="k"), "NoSuchKey", 404)
    eq((headers(e)["x-amz-delete-marker"], headers(e)["x-amz-version-id"]), ("true", marker), "the 404 says a marker hides the key")
    e = expect_error(lambda: s3.head_object(Bucket=b, Key="k"), "404", 404)
    eq(headers(e).get("x-amz-delete-marker"), "true", "HEAD too")
    e = expect_error(lambda: s3.get_object(Bucket=b, Key="k", VersionId=marker), "MethodNotAllowed", 405)
    eq(headers(e)["x-amz-delete-marker"], "true", "reading a marker by id")
    expect_error(lambda: s3.head_object(Bucket=b, Key="k", VersionId=marker), "405", 405)
    eq(body(Bucket=b, Key="k", VersionId=v1), b"one", "the version under the marker is still there")
    eq(s3.list_objects_v2(Bucket=b).get("Contents", []), [], "listings skip a key whose latest is a marker")
    listing = s3.list_object_versions(Bucket=b)
    eq([(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]], [(marker, True)], "the marker is the latest")
    eq([(v["VersionId"], v["IsLatest"]) for v in listing["Versions"]], [(v1, False)], "the object is not")
    # A second delete stacks another marker; deleting markers by id brings the object back.
    second = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    removed = s3.delete_object(Bucket=b, Key="k", VersionId=second)
    eq((removed["DeleteMarker"], removed["VersionId"]), (True, second), "deleting a marker by id")
    s3.delete_object(Bucket=b, Key="k", VersionId=marker)
    eq(s3.get_object(Bucket=b, Key="k")["VersionId"], v1, "the object is current again")
    expect_error(lambda: s3.delete_object(Bucket=b, Key="k", VersionId=MALFORMED), "InvalidArgument", 400)


def test_deleting_versions_and_the_bucket():
    b = versioned_bucket()
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    eq(s3.delete_object(Bucket=b, Key="k", VersionId=v2)["VersionId"], v2, "a version deleted for good")
    eq(s3.get_object(Bucket=b, Key="k")["VersionId"], v1, "the previous version is current")
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", VersionId=v2), "NoSuchVersion", 404)
    marker = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    s3.delete_object(Bucket=b, Key="k", VersionId=v1)
    expect_error(lambda: s3.delete_bucket(Bucket=b), "BucketNotEmpty", 409)
    s3.delete_object(Bucket=b, Key="k", VersionId=marker)
    eq(s3.list_object_versions(Bucket=b).get("DeleteMarkers", []), [], "nothing left")
    s3.delete_bucket(Bucket=b)


def test_suspended_writes_the_null_version():
    b = versioned_bucket()
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    eq(s3.put_object(Bucket=b, Key="k", Body=b"n1").get("VersionId"), "null", "a suspended write is the null version")
    s3.put_object(Bucket=b, Key="k", Body=b"n2")
    eq([v["VersionId"] for v in s3.list_object_versions(Bucket=b)["Versions"]], ["null", v1], "it replaced the null version")
    eq(body(Bucket=b, Key="k"), b"n2", "current")
    d = s3.delete_object(Bucket=b, Key="k")
    eq((d["DeleteMarker"], d["VersionId"]), (True, "null"), "a suspended delete makes a null marker")
    listing = s3.list_object_versions(Bucket=b)
    eq([m["VersionId"] for m in listing["DeleteMarkers"]], ["null"], "the null marker replaced the null version")
    eq([v["VersionId"] for v in listing["Versions"]], [v1], "the enabled-era version stays")


def test_copy_from_a_version():
    b = versioned_bucket()
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one", Metadata={"n": "1"})["VersionId"]
    s3.put_object(Bucket=b, Key="k", Body=b"two")
    copied = s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "k", "VersionId": v1})
    eq(copied["CopySourceVersionId"], v1, "the source version")
    assert copied["VersionId"] not in (v1, "null"), copied
    eq(body(Bucket=b, Key="copy"), b"one", "the old version's bytes")
    # Copying an old version onto its own key restores it as a new version.
    restored = s3.copy_object(Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k", "VersionId": v1})
    eq(body(Bucket=b, Key="k"), b"one", "restored")
    eq(s3.get_object(Bucket=b, Key="k")["VersionId"], restored["VersionId"], "as the latest")
    eq(len(s3.list_object_versions(Bucket=b, Prefix="k")["Versions"]), 3, "nothing was lost")
    marker = s3.delete_object(Bucket=b, Key="gone")["VersionId"]
    expect_error(lambda: s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "gone", "VersionId": marker}), "InvalidRequest", 400, "delete marker")
    expect_error(lambda: s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "k", "VersionId": UNKNOWN}), "NoSuchVersion", 404)


def test_tags_of_a_version():
    b = versioned_bucket()
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one", Tagging="a=1")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two", Tagging="b=2")["VersionId"]
    put = s3.put_object_tagging(Bucket=b, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    eq(put["VersionId"], v1, "PutObjectTagging names the version")
    got = s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)
    eq((got["TagSet"], got["VersionId"]), ([{"Key": "c", "Value": "3"}], v1), "the version's tags")
    current = s3.get_object_tagging(Bucket=b, Key="k")
    eq((current["TagSet"], current["VersionId"]), ([{"Key": "b", "Value": "2"}], v2), "the current version's tags are its own")
    s3.delete_object_tagging(Bucket=b, Key="k", VersionId=v1)
    eq(s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)["TagSet"], [], "removed from that version only")
    eq(len(s3.get_object_tagging(Bucket=b, Key="k")["TagSet"]), 1, "the current keeps its tags")
    expect_error(lambda: s3.get_object_tagging(Bucket=b, Key="k", VersionId=UNKNOWN), "NoSuchVersion", 404)
    marker = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    expect_error(lambda: s3.get_object_tagging(Bucket=b, Key="k", VersionId=marker), "MethodNotAllowed", 405)
    expect_error(lambda: s3.put_object_tagging(Bucket=b, Key="k", VersionId=marker, Tagging={"TagSet": []}), "MethodNotAllowed", 405)


def test_delete_objects_with_versions():
    b = versioned_bucket()
    v1 = s3.put_object(Bucket=b, Key="a", Body=b"1")["VersionId"]
    s3.put_object(Bucket=b, Key="a", Body=b"2")
    s3.put_object(Bucket=b, Key="b", Body=b"3")
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "a", "VersionId": v1}, {"Key": "b"}, {"Key": "c", "VersionId": MALFORMED}]})
    deleted = {d["Key"]: d for d in r["Deleted"]}
    eq(deleted["a"].get("VersionId"), v1, "the version deleted")
    eq("DeleteMarker" in deleted["a"], False, "no marker for a version deleted")
    eq(deleted["b"]["DeleteMarker"], True, "a marker for a key deleted")
    assert deleted["b"]["DeleteMarkerVersionId"], deleted["b"]
    eq([(e["Key"], e["Code"]) for e in r["Errors"]], [("c", "NoSuchVersion")], "a malformed version id")
    expect_error(lambda: s3.get_object(Bucket=b, Key="a", VersionId=v1), "NoSuchVersion", 404)
    expect_error(lambda: s3.get_object(Bucket=b, Key="b"), "NoSuchKey", 404)
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "b", "VersionId": deleted["b"]["DeleteMarkerVersionId"]}]})
    eq((r["Deleted"][0]["DeleteMarker"], r["Deleted"][0]["DeleteMarkerVersionId"]), (True, deleted["b"]["DeleteMarkerVersionId"]), "a marker deleted by id")
    eq(body(Bucket=b, Key="b"), b"3", "b is back")


def test_list_object_versions_pages():
    b = versioned_bucket()
    expected = []
    for key in ["a", "dir/x", "dir/y", "z"]:
        ids = [s3.put_object(Bucket=b, Key=key, Body=key.encode() + bytes([i]))["VersionId"] for i in range(2)]
        expected += [(key, i) for i in reversed(ids)]
    marker = s3.delete_object(Bucket=b, Key="z")["VersionId"]
    expected.insert(6, ("z", marker))
    everything = s3.list_object_versions(Bucket=b)
    eq(sorted((v["Key"], v["VersionId"]) for v in everything["Versions"] + everything["DeleteMarkers"]), sorted(expected), "all versions")
    seen, kw, pages = [], {}, 0
    while True:
        page = s3.list_object_versions(Bucket=b, MaxKeys=3, **kw)
        entries = sorted(page.get("Versions", []) + page.get("DeleteMarkers", []), key=lambda v: expected.index((v["Key"], v["VersionId"])))
        assert len(entries) <= 3, entries
        seen += [(v["Key"], v["VersionId"]) for v in entries]
        pages += 1
        if not page["IsTruncated"]:
            break
        eq((page["NextKeyMarker"], page["NextVersionIdMarker"]), seen[-1], "the markers name the last entry")
        kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    eq(seen, expected, "pages of three, newest first per key, nothing twice")
    eq(pages, 3, "pages")
    rolled = s3.list_object_versions(Bucket=b, Delimiter="/")
    eq([p["Prefix"] for p in rolled["CommonPrefixes"]], ["dir/"], "common prefixes")
    eq(sorted({v["Key"] for v in rolled["Versions"]}), ["a", "z"], "keys outside them")
    under = s3.list_object_versions(Bucket=b, Prefix="dir/")
    eq([(v["Key"], v["IsLatest"]) for v in under["Versions"]], [("dir/x", True), ("dir/x", False), ("dir/y", True), ("dir/y", False)], "a prefix")
    eq([o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]], ["a", "dir/x", "dir/y"], "only current objects are listed")
    expect_error(lambda: s3.list_object_versions(Bucket=b, KeyMarker="a", VersionIdMarker=MALFORMED), "InvalidArgument", 400)


def test_multipart_upload_gets_a_version():
    b = versioned_bucket()
    first = s3.put_object(Bucket=b, Key="big", Body=b"small")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=b, Key="big")["UploadId"]
    part = s3.upload_part(Bucket=b, Key="big", UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    done = s3.complete_multipart_upload(Bucket=b, Key="big", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert done["VersionId"] not in (first, "null"), done
    eq(s3.head_object(Bucket=b, Key="big")["VersionId"], done["VersionId"], "the upload is the latest")
    # A retried completion (an SDK retrying a lost answer) reads as the first did, headers too.
    s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
        {"ID": "week", "Status": "Enabled", "Filter": {"Prefix": "big2"}, "Expiration": {"Days": 7}}]})
    upload = s3.create_multipart_upload(Bucket=b, Key="big2")["UploadId"]
    part = s3.upload_part(Bucket=b, Key="big2", UploadId=upload, PartNumber=1, Body=b"y" * 1024)
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    done = s3.complete_multipart_upload(Bucket=b, Key="big2", UploadId=upload, MultipartUpload=parts)
    assert 'rule-id="week"' in done["Expiration"], done
    again = s3.complete_multipart_upload(Bucket=b, Key="big2", UploadId=upload, MultipartUpload=parts)
    eq((again["VersionId"], again["Expiration"], again["ETag"]), (done["VersionId"], done["Expiration"], done["ETag"]), "the retry's answer")
    eq(body(Bucket=b, Key="big", VersionId=first), b"small", "the earlier version stays")


def test_endpoint_deploys_the_latest_version_of_its_artifact():
    """SageMaker reads the object at the S3 URI: in a versioned bucket, its latest version. The
    first version here is not a model at all; only the latest is."""
    iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    sm = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
    rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    b = versioned_bucket()
    s3.put_object(Bucket=b, Key="model.tar.gz", Body=b"not a model")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "classifier", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=b, Key="model.tar.gz", Body=buffer.getvalue())
    eq(len(s3.list_object_versions(Bucket=b)["Versions"]), 2, "two versions")
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=execution_role(iam), PrimaryContainer={
        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1", "ModelDataUrl": f"s3://{b}/model.tar.gz"})
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "a", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    until("the endpoint made", lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "Creating", 120)
    described = sm.describe_endpoint(EndpointName=name)
    eq(described["EndpointStatus"], "InService", f"status ({described.get('FailureReason')})")
    answer = rt.invoke_endpoint(EndpointName=name, Body=json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}), ContentType="application/json")
    eq(json.loads(answer["Body"].read())["predictions"][0]["label"], "setosa", "the model answers")
    sm.delete_endpoint(EndpointName=name)


def test_a_request_naming_a_version_needs_the_version_action():
    from harness import client, iam_user
    iam = client("iam")
    name, keys = iam_user(iam, "plain", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging"])
    user = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    b = versioned_bucket()
    first = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=b, Key="k", Body=b"two")
    eq(user.get_object(Bucket=b, Key="k")["Body"].read(), b"two", "the latest, with s3:GetObject")
    expect_error(lambda: user.get_object(Bucket=b, Key="k", VersionId=first), "AccessDenied", 403)
    expect_error(lambda: user.head_object(Bucket=b, Key="k", VersionId=first), "403", 403)
    expect_error(lambda: user.get_object_tagging(Bucket=b, Key="k", VersionId=first), "AccessDenied", 403)
    expect_error(lambda: user.delete_object(Bucket=b, Key="k", VersionId=first), "AccessDenied", 403)
    expect_error(lambda: user.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "k", "VersionId": first}), "AccessDenied", 403)
    eq(body(Bucket=b, Key="k", VersionId=first), b"one", "the version the user could not delete")
    iam.put_user_policy(UserName=name, PolicyName="versions", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObjectVersion", "s3:DeleteObjectVersion"], "Resource": f"arn:aws:s3:::{b}/*"}]}))
    eq(user.get_object(Bucket=b, Key="k", VersionId=first)["Body"].read(), b"one", "with s3:GetObjectVersion")
    user.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "k", "VersionId": first})
    eq(body(Bucket=b, Key="copy"), b"one", "copied from the named version")
    user.delete_object(Bucket=b, Key="k", VersionId=first)
    expect_error(lambda: s3.get_object(Bucket=b, Key="k", VersionId=first), "NoSuchVersion", 404)


def test_delete_objects_authorizes_each_key():
    """DeleteObjects is decided key by key, as S3 does: s3:DeleteObject on the key, or
    s3:DeleteObjectVersion (with that version as s3:versionid) when it names one. A key the caller
    may not delete is an AccessDenied in the answer, and stays; the others are deleted."""
    from harness import client, iam_user
    iam = client("iam")
    b = versioned_bucket()
    s3.put_object(Bucket=b, Key="tmp/a", Body=b"a")
    s3.put_object(Bucket=b, Key="keep/b", Body=b"b")
    c1 = s3.put_object(Bucket=b, Key="tmp/c", Body=b"c1")["VersionId"]
    c2 = s3.put_object(Bucket=b, Key="tmp/c", Body=b"c2")["VersionId"]
    name, keys = iam_user(iam, "deleter")
    iam.put_user_policy(UserName=name, PolicyName="tmp", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{b}/tmp/*"},
        {"Effect": "Allow", "Action": "s3:DeleteObjectVersion", "Resource": f"arn:aws:s3:::{b}/tmp/*",
         "Condition": {"StringEquals": {"s3:versionid": c2}}}]}))
    user = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    r = user.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "tmp/a"}, {"Key": "keep/b"}, {"Key": "tmp/c", "VersionId": c1}, {"Key": "tmp/c", "VersionId": c2}]})
    eq(sorted((d["Key"], d.get("VersionId")) for d in r["Deleted"]), [("tmp/a", None), ("tmp/c", c2)], "deleted: what the policy allows")
    eq(sorted((e["Key"], e.get("VersionId"), e["Code"], e["Message"]) for e in r["Errors"]),
       [("keep/b", None, "AccessDenied", "Access Denied"), ("tmp/c", c1, "AccessDenied", "Access Denied")], "refused, key by key")
    eq(body(Bucket=b, Key="keep/b"), b"b", "the refused key stays")
    eq(body(Bucket=b, Key="tmp/c", VersionId=c1), b"c1", "the refused version stays")
    expect_error(lambda: s3.get_object(Bucket=b, Key="tmp/c", VersionId=c2), "NoSuchVersion", 404)
    expect_error(lambda: s3.get_object(Bucket=b, Key="tmp/a"), "NoSuchKey", 404)
    # Quiet mode still reports the refusals; a caller with no delete permission at all deletes nothing.
    _, none = iam_user(iam, "reader", ["s3:GetObject"])
    reader = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg,
                          aws_access_key_id=none[0], aws_secret_access_key=none[1])
    r = reader.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "keep/b"}], "Quiet": True})
    eq([(e["Key"], e["Code"]) for e in r["Errors"]], [("keep/b", "AccessDenied")], "quiet: the refusal")
    eq(body(Bucket=b, Key="keep/b"), b"b", "still there")


if __name__ == "__main__":
    run(globals())
