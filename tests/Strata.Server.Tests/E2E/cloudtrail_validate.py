"""A trail end to end, on a server that delivers log files every 2 seconds and digests every 6
(--cloudtrail-delivery-seconds, --cloudtrail-digest-seconds): an IAM user's CreateEndpoint and
another user's AccessDenied reach the trail's S3 files with the right userIdentity, data events
only when a selector asks, and the real `aws cloudtrail validate-logs` (CLI v1; its S3 client takes
its endpoint from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3) passes on the untouched trail and fails
once the test edits a log file. Calls SageMaker makes for a user (assuming the model's execution
role, reading the artifact as it) are recorded as AWS records them."""
import datetime
import gzip
import json
import subprocess

from harness import client, deploy_regression, endpoint, eq, execution_role, expect_error, iam_user, run, unique, until


iam, ct, s3 = client("iam"), client("cloudtrail"), client("s3")
ACCOUNT = client("sts").get_caller_identity()["Account"]
CLI_V1 = "aws"


def trail_bucket():
    name = unique("audit")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{name}"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{name}/AWSLogs/{ACCOUNT}/*", "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
    ]}))
    return name


def records(bucket):
    """Every record in the trail's log files, with the key of its file."""
    found = []
    for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail/").get("Contents", []):
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        found += [(o["Key"], r) for r in json.loads(body)["Records"]]
    return found


def validate(trail_arn, start):
    out = subprocess.run([CLI_V1, "cloudtrail", "validate-logs", "--endpoint-url", endpoint(), "--region", "us-east-1", "--trail-arn", trail_arn,
                          "--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--verbose"], capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr


def test_calls_made_on_a_users_behalf():
    bucket, name = trail_bucket(), unique("trail")
    models = unique("models")
    s3.create_bucket(Bucket=models)
    ct.create_trail(Name=name, S3BucketName=bucket)
    ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                                            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{models}/"]}]}])
    ct.start_logging(Name=name)
    sm = client("sagemaker")
    role = execution_role(iam)
    endpoint_name = deploy_regression(s3, sm, models, role)
    # A role that may not read the artifact: SageMaker's refused read is recorded too.
    refused_role, refused = execution_role(iam, resource="arn:aws:s3:::elsewhere/*"), unique("refused")
    sm.create_model(ModelName=refused, ExecutionRoleArn=refused_role, PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{models}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=refused, ProductionVariants=[{"VariantName": "main", "ModelName": refused, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=refused, EndpointConfigName=refused)
    until("the refused endpoint fails", lambda: sm.describe_endpoint(EndpointName=refused)["EndpointStatus"] == "Failed", seconds=30)

    def found(event_name, role_arn):
        return [r for _, r in records(bucket) if r["eventName"] == event_name
                and role_arn in (r.get("requestParameters", {}).get("roleArn"), r["userIdentity"].get("sessionContext", {}).get("sessionIssuer", {}).get("arn"))]
    until("SageMaker's AssumeRole in the trail", lambda: found("AssumeRole", role) != [], seconds=60)
    assume = found("AssumeRole", role)[0]
    eq((assume["userIdentity"], assume["eventSource"], assume["sourceIPAddress"], assume["userAgent"], assume["requestParameters"]["roleSessionName"]),
       ({"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}, "sts.amazonaws.com", "sagemaker.amazonaws.com", "sagemaker.amazonaws.com", "SageMaker"),
       "the service's own call")
    eq((assume["resources"], assume["managementEvent"], assume["recipientAccountId"]), ([{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role}], True, ACCOUNT), "the role")
    assert "sharedEventID" in assume and "errorCode" not in assume, assume

    until("the artifact read in the trail", lambda: found("GetObject", role) != [], seconds=30)
    read = found("GetObject", role)[0]
    identity = read["userIdentity"]
    eq((identity["type"], identity["arn"], identity["invokedBy"], identity["sessionContext"]["sessionIssuer"]["arn"]),
       ("AssumedRole", f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.split('/')[-1]}/SageMaker", "sagemaker.amazonaws.com", role), "the role session")
    eq((read["requestParameters"]["bucketName"], read["requestParameters"]["key"], read["eventCategory"], read["sourceIPAddress"]),
       (models, "model.tar.gz", "Data", "sagemaker.amazonaws.com"), "the read")
    until("the refused read in the trail", lambda: found("GetObject", refused_role) != [], seconds=30)
    denied = found("GetObject", refused_role)[0]
    eq(denied["errorCode"], "AccessDenied", "the refusal")
    assert "s3:GetObject" in denied["errorMessage"], denied

    # The assumption is a management event: event history has it, with the role as its resource.
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": role.split("/")[-1]}])["Events"]
    assumed = [e for e in events if e["EventName"] == "AssumeRole"]
    assert assumed and assumed[0]["Resources"] == [{"ResourceType": "AWS::IAM::Role", "ResourceName": role.split("/")[-1]}], events
    ct.stop_logging(Name=name)
    sm.delete_endpoint(EndpointName=endpoint_name)
    sm.delete_endpoint(EndpointName=refused)


def test_trail_records_and_validate_logs():
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=2)
    bucket, name = trail_bucket(), unique("trail")
    trail_arn = ct.create_trail(Name=name, S3BucketName=bucket, EnableLogFileValidation=True)["TrailARN"]
    # Management events, and S3 data events of one bucket only.
    data_bucket = unique("watched")
    s3.create_bucket(Bucket=data_bucket)
    ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                                            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data_bucket}/"]}]}])
    ct.start_logging(Name=name)

    alice, alice_keys = iam_user(iam, "alice", ["sagemaker:*", "iam:PassRole", "s3:*"])
    bob, bob_keys = iam_user(iam, "bob")
    sm, alice_s3 = client("sagemaker", alice_keys), client("s3", alice_keys)
    models = unique("models")
    alice_s3.create_bucket(Bucket=models)
    endpoint_name = deploy_regression(alice_s3, sm, models, execution_role(iam))
    expect_error(lambda: client("sagemaker", bob_keys).describe_endpoint(EndpointName=endpoint_name), "AccessDeniedException", 400)
    alice_s3.put_object(Bucket=data_bucket, Key="watched.txt", Body=b"x")

    def recorded(event_name, who):
        return [r for _, r in records(bucket) if r["eventName"] == event_name and r["userIdentity"].get("userName") == who]
    until("CreateEndpoint in the trail", lambda: recorded("CreateEndpoint", alice) != [], seconds=60)
    until("bob's refusal in the trail", lambda: recorded("DescribeEndpoint", bob) != [], seconds=30)
    created = recorded("CreateEndpoint", alice)[0]
    eq((created["userIdentity"]["type"], created["userIdentity"]["accessKeyId"], created["userIdentity"]["arn"]),
       ("IAMUser", alice_keys[0], f"arn:aws:iam::{ACCOUNT}:user/{alice}"), "alice's identity")
    eq(created["requestParameters"]["endpointName"], endpoint_name, "the endpoint")
    refused = recorded("DescribeEndpoint", bob)[0]
    eq((refused["errorCode"], refused["userIdentity"]["type"], refused["userIdentity"]["accessKeyId"]), ("AccessDeniedException", "IAMUser", bob_keys[0]), "bob's refusal")
    until("the watched bucket's PutObject (a data event)", lambda: recorded("PutObject", alice) != [], seconds=30)
    put = recorded("PutObject", alice)
    eq([(r["requestParameters"]["bucketName"], r["eventCategory"], r["managementEvent"]) for r in put], [(data_bucket, "Data", False)], "only the watched bucket's")

    # A digest delivered after the files above (so that it covers them), then the CLI's own validation.
    seen = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
    until("a digest covering the files", lambda: ct.get_trail_status(Name=name).get("LatestDigestDeliveryTime", start) > seen, seconds=30)
    assert ct.get_trail_status(Name=name)["IsLogging"]
    code, output = validate(trail_arn, start)
    assert code == 0, output
    assert "INVALID" not in output and "digest files valid" in output, output

    # Edit the log file that holds the CreateEndpoint (delivered before the digest waited for above,
    # so a digest covers it): the CLI finds it.
    key = [k for k, r in records(bucket) if r["eventName"] == "CreateEndpoint" and r["userIdentity"].get("userName") == alice][0]
    body = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    body["Records"][0]["eventName"] = "Nothing"
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(json.dumps(body).encode()))
    code, output = validate(trail_arn, start)
    assert code != 0, output
    assert "INVALID: hash value doesn't match" in output and key in output, output
    ct.stop_logging(Name=name)
    sm.delete_endpoint(EndpointName=endpoint_name)


run(globals())
