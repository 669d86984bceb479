"""A bucket's notification configuration end to end with an unmodified boto3 (the image's 1.43
and Debian's 1.26): EventBridge on and off, and the destinations Strata cannot deliver to (SNS,
SQS, Lambda) refused as S3 refuses a destination it cannot validate."""
import boto3
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique, validate_responses

s3 = validate_responses(boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1",
                                     config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})))
ACCOUNT = boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1").get_caller_identity()["Account"]


def bucket():
    name = unique("notify")
    s3.create_bucket(Bucket=name)
    return name


def configuration(b):
    return {k: v for k, v in s3.get_bucket_notification_configuration(Bucket=b).items() if k != "ResponseMetadata"}


def test_eventbridge_configuration_round_trip():
    b = bucket()
    eq(configuration(b), {}, "a new bucket's configuration")
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={"EventBridgeConfiguration": {}})
    eq(configuration(b), {"EventBridgeConfiguration": {}}, "after enabling EventBridge")
    # Putting it again changes nothing.
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={"EventBridgeConfiguration": {}})
    eq(configuration(b), {"EventBridgeConfiguration": {}}, "after enabling it twice")


def test_empty_configuration_turns_notifications_off():
    b = bucket()
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={})
    eq(configuration(b), {}, "after the empty configuration")
    # Objects still go in and out as before.
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    s3.delete_object(Bucket=b, Key="k")


def test_destination_that_cannot_be_validated_is_invalid_argument():
    b = bucket()
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={"EventBridgeConfiguration": {}})
    for config in [
        {"TopicConfigurations": [{"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:{unique('nope')}", "Events": ["s3:ObjectCreated:*"]}]},
        {"QueueConfigurations": [{"QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:uploads", "Events": ["s3:ObjectRemoved:*"]}],
         "EventBridgeConfiguration": {}},
        {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f", "Events": ["s3:ObjectCreated:Put"],
                                           "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}]},
    ]:
        response = expect_error(lambda: s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration=config),
                                "InvalidArgument", 400, "Unable to validate the following destination configurations")
        arn = (config.get("TopicConfigurations") or config.get("QueueConfigurations") or config.get("LambdaFunctionConfigurations"))[0]
        assert any(v in response["Error"].values() for v in arn.values() if isinstance(v, str)), f"the error names the destination: {response['Error']}"
    expect_error(lambda: s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": "uploads", "Events": ["s3:ObjectCreated:*"]}]}), "InvalidArgument", 400, "The ARN is not well formed")
    # A refused configuration replaced nothing.
    eq(configuration(b), {"EventBridgeConfiguration": {}}, "after the refusals")


def test_missing_bucket():
    name = unique("missing")
    expect_error(lambda: s3.get_bucket_notification_configuration(Bucket=name), "NoSuchBucket", 404)
    expect_error(lambda: s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={}), "NoSuchBucket", 404)


run(globals())
