"""CloudTrail's event history end to end with an unmodified boto3 (1.43 and Debian's 1.26) and the
aws CLI v2: an IAM user's CreateEndpoint and another user's refused call are recorded with the
right userIdentity, found by LookupEvents' attributes, paged, and refused with AWS's errors when
the lookup is wrong; data events (S3 object calls) stay out of event history."""
import json
import subprocess
import time

from harness import client, deploy_regression, endpoint, eq, execution_role, expect_error, iam_user, run, unique, until


iam, ct = client("iam"), client("cloudtrail")
ACCOUNT = client("sts").get_caller_identity()["Account"]


ALICE, ALICE_KEYS = iam_user(iam, "alice", ["sagemaker:*", "iam:PassRole", "s3:*"])
BOB, BOB_KEYS = iam_user(iam, "bob")


def lookup(key, value, **extra):
    return ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **extra)["Events"]


def test_user_calls_and_refusals_are_recorded():
    sm, s3 = client("sagemaker", ALICE_KEYS), client("s3", ALICE_KEYS)
    bucket = unique("trail-models")
    s3.create_bucket(Bucket=bucket)
    name = deploy_regression(s3, sm, bucket, execution_role(iam))
    expect_error(lambda: client("sagemaker", BOB_KEYS).describe_endpoint(EndpointName=name), "AccessDeniedException", 400)

    until("CreateEndpoint in event history", lambda: [e for e in lookup("ResourceName", name) if e["EventName"] == "CreateEndpoint"] != [])
    created = [e for e in lookup("ResourceName", name) if e["EventName"] == "CreateEndpoint"][0]
    eq((created["Username"], created["AccessKeyId"], created["EventSource"], created["ReadOnly"]),
       (ALICE, ALICE_KEYS[0], "sagemaker.amazonaws.com", "false"), "the event")
    eq(created["Resources"], [{"ResourceType": "AWS::SageMaker::Endpoint", "ResourceName": name}], "its resource")
    record = json.loads(created["CloudTrailEvent"])
    eq(record["eventVersion"], "1.09", "version")
    eq(record["userIdentity"], {"type": "IAMUser", "principalId": record["userIdentity"]["principalId"], "arn": f"arn:aws:iam::{ACCOUNT}:user/{ALICE}",
                                "accountId": ACCOUNT, "accessKeyId": ALICE_KEYS[0], "userName": ALICE}, "userIdentity")
    eq(record["requestParameters"], {"endpointName": name, "endpointConfigName": name}, "requestParameters, camelCase")
    eq(record["responseElements"], {"endpointArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}"}, "responseElements")
    eq((record["eventType"], record["managementEvent"], record["eventCategory"], record["recipientAccountId"], record["awsRegion"]),
       ("AwsApiCall", True, "Management", ACCOUNT, "us-east-1"), "the rest")
    assert record["userAgent"].startswith("Boto3/"), record["userAgent"]
    assert record["sourceIPAddress"] == "127.0.0.1", record["sourceIPAddress"]

    until("bob's refusal", lambda: lookup("Username", BOB) != [])
    refused = json.loads(lookup("Username", BOB)[0]["CloudTrailEvent"])
    eq((refused["eventName"], refused["errorCode"], refused["readOnly"], refused["userIdentity"]["userName"]),
       ("DescribeEndpoint", "AccessDeniedException", True, BOB), "the AccessDenied is audited")
    assert BOB in refused["errorMessage"], refused["errorMessage"]
    eq(refused["responseElements"], None, "no answer to record")

    # Data events (S3 object calls) are not event history; the bucket's creation is.
    eq([e for e in lookup("Username", ALICE) if e["EventName"] in ("PutObject", "GetObject")], [], "data events stay out")
    assert [e for e in lookup("EventName", "CreateBucket") if e["Username"] == ALICE], "CreateBucket is a management event"
    sm.delete_endpoint(EndpointName=name)


def test_environment_and_hyperparameters_are_hidden():
    """Environment variables and hyperparameters often carry secrets: the record keeps the rest of
    the request and shows them as AWS does, HIDDEN_DUE_TO_SECURITY_REASONS."""
    sm, s3 = client("sagemaker", ALICE_KEYS), client("s3", ALICE_KEYS)
    bucket = unique("trail-env")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=b"not read by CreateModel")
    name = unique("secret-model")
    sm.create_model(ModelName=name, ExecutionRoleArn=execution_role(iam),
                    PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{bucket}/model.tar.gz", "Environment": {"DB_PASSWORD": "s3cret-value"}})
    until("CreateModel in event history", lambda: [e for e in lookup("ResourceName", name) if e["EventName"] == "CreateModel"] != [])
    record = json.loads([e for e in lookup("ResourceName", name) if e["EventName"] == "CreateModel"][0]["CloudTrailEvent"])
    eq(record["requestParameters"]["primaryContainer"]["environment"], "HIDDEN_DUE_TO_SECURITY_REASONS", "the environment")
    eq(record["requestParameters"]["primaryContainer"]["image"], "strata-onnx:1", "the rest of the container")
    assert "s3cret-value" not in json.dumps(record), record
    sm.delete_model(ModelName=name)


def test_lookup_filters_and_pages():
    sm = client("sagemaker", ALICE_KEYS)
    for _ in range(3):
        sm.list_models()
    until("three ListModels", lambda: len(lookup("AccessKeyId", ALICE_KEYS[0], MaxResults=50)) >= 3)
    first = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListModels"}], MaxResults=1)
    eq(len(first["Events"]), 1, "a page of one")
    second = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListModels"}], MaxResults=1, NextToken=first["NextToken"])
    assert second["Events"][0]["EventId"] != first["Events"][0]["EventId"], "the next page moves on"
    assert first["Events"][0]["EventTime"] >= second["Events"][0]["EventTime"], "newest first"
    eq([e["EventId"] for e in lookup("EventId", first["Events"][0]["EventId"])], [first["Events"][0]["EventId"]], "by id")
    eq({e["ReadOnly"] for e in lookup("ReadOnly", "true", MaxResults=50)}, {"true"}, "read-only only")
    eq(lookup("EventName", "ListModels", StartTime=time.time() + 3600, EndTime=time.time() + 7200), [], "nothing in the future")

    expect_error(lambda: ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "a"},
                                                            {"AttributeKey": "Username", "AttributeValue": "b"}]), "InvalidLookupAttributesException", 400)
    expect_error(lambda: ct.lookup_events(StartTime=time.time(), EndTime=time.time() - 3600), "InvalidTimeRangeException", 400)
    expect_error(lambda: ct.lookup_events(NextToken="not-a-token"), "InvalidNextTokenException", 400)


def test_cli_v2_lookup_events():
    client("sagemaker", ALICE_KEYS).list_endpoints()
    until("alice's call in event history", lambda: lookup("Username", ALICE) != [])
    out = subprocess.run(["/usr/bin/aws", "--endpoint-url", endpoint(), "--region", "us-east-1", "--output", "json", "cloudtrail", "lookup-events",
                          "--lookup-attributes", f"AttributeKey=Username,AttributeValue={ALICE}", "--max-results", "5"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)["Events"]
    assert events and all(e["Username"] == ALICE for e in events), events


run(globals())
