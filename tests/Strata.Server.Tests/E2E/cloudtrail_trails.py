"""CloudTrail trails with an unmodified boto3 (1.43 and Debian's 1.26) on a server whose clock the
test drives (FakeClockServer.cs): AWS's checks at CreateTrail (name rules, the bucket, the bucket
policy CloudTrail needs), the trail's life (describe, list, logging, selectors, tags, status),
Insights refused, ListPublicKeys, periods passing with no records (nothing is delivered but the
digest, and a bucket gone is reported by GetTrailStatus), the KMS key policy CloudTrail needs, and
delivery to a CloudWatch Logs group as a role."""
import gzip
import json

import boto3
from botocore.config import Config

from harness import advance, endpoint, eq, expect_error, run, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})
ct = validate_responses(boto3.client("cloudtrail", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
logs = boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
kms = boto3.client("kms", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
ACCOUNT = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=cfg).get_caller_identity()["Account"]


def bucket(policy=True, prefix=None):
    """A new bucket, with the policy CloudTrail's documentation gives unless told otherwise."""
    name = unique("trail")
    s3.create_bucket(Bucket=name)
    if policy:
        logs = f"arn:aws:s3:::{name}/{prefix + '/' if prefix else ''}AWSLogs/{ACCOUNT}/*"
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{name}"},
            {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": logs,
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        ]}))
    return name


def keys(name):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]


def test_create_trail_checks():
    expect_error(lambda: ct.create_trail(Name="ab", S3BucketName="x"), "InvalidTrailNameException",
                 message="Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.")
    expect_error(lambda: ct.create_trail(Name="-trail", S3BucketName="x"), "InvalidTrailNameException", message="Trail name must starts with a letter or number.")
    expect_error(lambda: ct.create_trail(Name="trail-", S3BucketName="x"), "InvalidTrailNameException", message="Trail name must ends with a letter or number.")
    expect_error(lambda: ct.create_trail(Name="my trail", S3BucketName="x"), "InvalidTrailNameException", message="can only contain uppercase letters")
    missing = unique("nobucket")
    expect_error(lambda: ct.create_trail(Name=unique("t"), S3BucketName=missing), "S3BucketDoesNotExistException", message=f"S3 bucket {missing} does not exist!")
    bare = bucket(policy=False)
    expect_error(lambda: ct.create_trail(Name=unique("t"), S3BucketName=bare), "InsufficientS3BucketPolicyException",
                 message=f"Incorrect S3 bucket policy is detected for bucket: {bare}")
    # The policy allows AWSLogs/ at the root, not under a prefix.
    expect_error(lambda: ct.create_trail(Name=unique("t"), S3BucketName=bucket(), S3KeyPrefix="elsewhere"), "InsufficientS3BucketPolicyException")


def test_trail_lifecycle():
    b = bucket(prefix="audit")
    name = unique("trail")
    made = ct.create_trail(Name=name, S3BucketName=b, S3KeyPrefix="audit", EnableLogFileValidation=True, TagsList=[{"Key": "team", "Value": "ml"}])
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"
    eq(made["TrailARN"], arn, "ARN")
    eq(made["LogFileValidationEnabled"], True, "validation")
    expect_error(lambda: ct.create_trail(Name=name, S3BucketName=b, S3KeyPrefix="audit"), "TrailAlreadyExistsException",
                 message=f"Trail {name} already exists for customer: {ACCOUNT}")
    trail = ct.get_trail(Name=arn)["Trail"]
    eq((trail["Name"], trail["S3BucketName"], trail["S3KeyPrefix"], trail["HomeRegion"], trail["IsMultiRegionTrail"]), (name, b, "audit", "us-east-1", False), "trail")
    assert name in [t["Name"] for t in ct.describe_trails()["trailList"]]
    eq([t["Name"] for t in ct.describe_trails(trailNameList=[name, "not-there"])["trailList"]], [name], "described")
    assert arn in [t["TrailARN"] for t in ct.list_trails()["Trails"]]

    eq(ct.get_trail_status(Name=name)["IsLogging"], False, "logging before start")
    ct.start_logging(Name=name)
    status = ct.get_trail_status(Name=name)
    eq(status["IsLogging"], True, "logging")
    assert "StartLoggingTime" in status

    eq(ct.get_event_selectors(TrailName=name)["EventSelectors"], [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []}], "default selectors")
    expect_error(lambda: ct.put_event_selectors(TrailName=name, EventSelectors=[{"DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{b}"]}]}]),
                 "InvalidEventSelectorsException", message=f"Value arn:aws:s3:::{b} for DataResources.Values is invalid.")
    ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
                                                            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{b}/in/"]}]}])
    got = ct.get_event_selectors(TrailName=name)["EventSelectors"][0]
    eq((got["ReadWriteType"], got["DataResources"]), ("WriteOnly", [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{b}/in/"]}]), "selectors")
    eq(ct.get_trail(Name=name)["Trail"]["HasCustomEventSelectors"], True, "custom selectors")
    ct.put_event_selectors(TrailName=name, AdvancedEventSelectors=[{"Name": "writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}])
    eq(ct.get_event_selectors(TrailName=name)["AdvancedEventSelectors"][0]["Name"], "writes", "advanced")

    expect_error(lambda: ct.put_insight_selectors(TrailName=name, InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]), "UnsupportedOperationException")
    expect_error(lambda: ct.get_insight_selectors(TrailName=name), "InsightNotEnabledException")

    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}])
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    eq(ct.list_tags(ResourceIdList=[arn])["ResourceTagList"], [{"ResourceId": arn, "TagsList": [{"Key": "env", "Value": "prod"}]}], "tags")

    ct.update_trail(Name=name, EnableLogFileValidation=False)
    eq(ct.get_trail(Name=name)["Trail"]["LogFileValidationEnabled"], False, "updated")
    ct.stop_logging(Name=name)
    status = ct.get_trail_status(Name=name)
    eq(status["IsLogging"], False, "stopped")
    assert "StopLoggingTime" in status
    ct.delete_trail(Name=name)
    expect_error(lambda: ct.get_trail(Name=name), "TrailNotFoundException", message=f"Unknown trail: {arn} for the user: {ACCOUNT}")
    expect_error(lambda: ct.get_trail_status(Name=name), "TrailNotFoundException")


def test_list_public_keys():
    keys_now = ct.list_public_keys()["PublicKeyList"]
    assert len(keys_now) == 1, keys_now
    key = keys_now[0]
    assert len(key["Fingerprint"]) == 32 and len(key["Value"]) > 200, key
    # The same key the next time: keys are made once per region.
    eq(ct.list_public_keys()["PublicKeyList"][0]["Fingerprint"], key["Fingerprint"], "fingerprint")
    import datetime
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    expect_error(lambda: ct.list_public_keys(StartTime=later, EndTime=later - datetime.timedelta(hours=1)), "InvalidTimeRangeException")


def test_periods_pass_without_records():
    b = bucket()
    name = unique("quiet")
    ct.create_trail(Name=name, S3BucketName=b, EnableLogFileValidation=True)
    # Every call is recorded now; this trail selects only a bucket's data events nobody makes.
    ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False,
                                                           "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{unique('untouched')}/"]}]}])
    ct.start_logging(Name=name)
    advance(300)
    eq(ct.get_trail_status(Name=name).get("LatestDeliveryError"), None, "no error")
    eq([k for k in keys(b) if "/CloudTrail/" in k], [], "no log files without records")
    # An hour on, the digest comes even with no log files (AWS delivers it to keep the chain).
    advance(3600)
    until("the digest", lambda: any("/CloudTrail-Digest/" in k for k in keys(b)))
    assert "LatestDigestDeliveryTime" in ct.get_trail_status(Name=name)
    # The bucket goes: the next digest fails, and GetTrailStatus says why.
    s3.delete_bucket_policy(Bucket=b)
    for k in keys(b):
        s3.delete_object(Bucket=b, Key=k)
    s3.delete_bucket(Bucket=b)
    advance(3600)
    until("the digest error", lambda: ct.get_trail_status(Name=name).get("LatestDigestDeliveryError") == "NoSuchBucket")
    ct.delete_trail(Name=name)


def test_kms_key_policy_checked():
    key = kms.create_key()["KeyMetadata"]["Arn"]
    b = bucket()
    # The default key policy trusts the account only: CloudTrail may not encrypt with it.
    expect_error(lambda: ct.create_trail(Name=unique("t"), S3BucketName=b, KmsKeyId=key), "InsufficientEncryptionPolicyException",
                 message=f"Insufficient permissions to access S3 bucket {b} or KMS key {key}.")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}},
    ]}))
    name = unique("t")
    eq(ct.create_trail(Name=name, S3BucketName=b, KmsKeyId=key)["KmsKeyId"], key, "the key")
    ct.delete_trail(Name=name)


def logs_role(group, actions=("logs:CreateLogStream", "logs:PutLogEvents"), trusted="cloudtrail.amazonaws.com"):
    """A role for CloudTrail's delivery to `group`, as AWS's documentation writes it."""
    name = unique("trail-logs")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="logs", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:log-stream:{ACCOUNT}_CloudTrail_us-east-1*"}]}))
    return arn


def test_cloudwatch_logs_delivery():
    b, name, group = bucket(), unique("t"), unique("trail-group")
    logs.create_log_group(logGroupName=group)
    group_arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    role = logs_role(group)
    stream = f"{ACCOUNT}_CloudTrail_us-east-1"

    def create(group_arn=group_arn, role=role):
        return ct.create_trail(Name=name, S3BucketName=b, **({"CloudWatchLogsLogGroupArn": group_arn} if group_arn else {}),
                               **({"CloudWatchLogsRoleArn": role} if role else {}))
    expect_error(lambda: create(role=None), "InvalidCloudWatchLogsRoleArnException")
    expect_error(lambda: create(group_arn=None), "InvalidCloudWatchLogsLogGroupArnException")
    expect_error(lambda: create(group_arn="arn:aws:logs:us-east-1:x"), "InvalidCloudWatchLogsLogGroupArnException")
    expect_error(lambda: create(role=logs_role(group, trusted="sagemaker.amazonaws.com")), "InvalidCloudWatchLogsRoleArnException",
                 message="Access denied. Check the trust relationships for your role.")
    expect_error(lambda: create(role=logs_role(group, actions=("logs:CreateLogStream",))), "InvalidCloudWatchLogsLogGroupArnException",
                 message="Access denied. Check the permissions for your role.")
    expect_error(lambda: create(group_arn=group_arn.replace(group, unique("missing"))), "InvalidCloudWatchLogsLogGroupArnException")
    eq(logs.describe_log_streams(logGroupName=group)["logStreams"], [], "no stream after refusals")

    made = create()
    eq((made["CloudWatchLogsLogGroupArn"], made["CloudWatchLogsRoleArn"]), (group_arn, role), "created")
    eq([s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]], [stream], "the stream, made at CreateTrail")
    ct.start_logging(Name=name)
    marker = unique("marker")
    s3.create_bucket(Bucket=marker)
    advance(300)

    def events():
        return [json.loads(e["message"]) for e in logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]]
    until("the CreateBucket in the log group", lambda: any(r["eventName"] == "CreateBucket" and r["requestParameters"]["bucketName"] == marker for r in events()))
    # The group gets the records just before the log file is put and the status written.
    until("the log file delivered", lambda: "LatestDeliveryTime" in ct.get_trail_status(Name=name))
    status = ct.get_trail_status(Name=name)
    assert "LatestCloudWatchLogsDeliveryTime" in status and "LatestCloudWatchLogsDeliveryError" not in status, status
    # The same records went to S3, and each reached the group once.
    in_files = sorted(r["eventID"] for k in keys(b) if "/CloudTrail/" in k
                      for r in json.loads(gzip.decompress(s3.get_object(Bucket=b, Key=k)["Body"].read()))["Records"])
    eq(sorted(r["eventID"] for r in events()), in_files, "the group holds the log files' records")

    # The role loses its permission: the next delivery to the group fails, and the status says so.
    iam.delete_role_policy(RoleName=role.split("/")[-1], PolicyName="logs")
    s3.create_bucket(Bucket=unique("after"))
    advance(300)
    until("the delivery error", lambda: ct.get_trail_status(Name=name).get("LatestCloudWatchLogsDeliveryError") == "AccessDeniedException")
    # Empty strings turn delivery off.
    ct.update_trail(Name=name, CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")
    trail = ct.get_trail(Name=name)["Trail"]
    assert "CloudWatchLogsLogGroupArn" not in trail and "CloudWatchLogsRoleArn" not in trail, trail
    ct.delete_trail(Name=name)


if __name__ == "__main__":
    run(globals())
