"""Amazon SNS end to end with an unmodified boto3, on a server whose clock the test drives
(FakeClockServer.cs): topics, tags, subscriptions to real HTTP, HTTPS and SMTP endpoints run by
this script, confirmation through the SubscribeURL (an unsigned GET, as AWS's), signed
notifications verified with AWS's documented algorithm, filter policies, retries on AWS's
schedule (the clock is moved, nobody sleeps), topic policies enforced by the authorizer."""
import asyncio
import email
import json
import os
import queue
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import boto3
import botocore.exceptions
from botocore.config import Config

import harness
import sns_endpoint
from harness import endpoint, eq, expect_error, run, unique, validate_responses
from sns_endpoint import Endpoint, fetch, verify

cfg = Config(retries={"max_attempts": 1})


def client(service, creds=None):
    kw = {}
    if creds is not None:
        kw = {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1]}
    c = boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", config=cfg, **kw)
    return validate_responses(c) if service == "sns" else c


sns = client("sns")
iam = client("iam")
ACCOUNT = client("sts").get_caller_identity()["Account"]


# ---- the server's clock ----

def server_time():
    with urllib.request.urlopen(os.environ["STRATA_CLOCK_URL"]) as r:
        return float(r.read())


def set_time(target):
    """Moves the server's clock to `target` (epoch seconds) exactly, and this client's with it."""
    url = os.environ["STRATA_CLOCK_URL"]
    with urllib.request.urlopen(urllib.request.Request(f"{url}?to={target:.3f}", method="POST")) as r:
        now = float(r.read())
    harness.CLOCK.now = now
    return now


class Smtp:
    """A minimal SMTP responder (Python 3.12 has no smtpd): records each message's recipients and text."""
    def __init__(self, port):
        self.messages = queue.Queue()
        loop = asyncio.new_event_loop()
        started = threading.Event()

        async def handle(reader, writer):
            writer.write(b"220 test ESMTP\r\n")
            rcpt, lines, data = [], [], False
            while True:
                line = await reader.readline()
                if not line:
                    break
                if data:
                    if line == b".\r\n":
                        data = False
                        self.messages.put((rcpt, email.message_from_bytes(b"".join(lines))))
                        rcpt, lines = [], []
                        writer.write(b"250 OK\r\n")
                    else:
                        lines.append(line[1:] if line.startswith(b"..") else line)
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-test\r\n250 8BITMIME\r\n")
                elif verb == b"RCPT":
                    rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                    writer.write(b"250 OK\r\n")
                elif verb == b"DATA":
                    data = True
                    writer.write(b"354 go ahead\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()
            writer.close()

        def serve():
            asyncio.set_event_loop(loop)
            loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", port))
            started.set()
            loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        started.wait(10)

    def next(self, timeout=15):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no email arrived within {timeout} s") from None


def subscribe_confirmed(topic, ep, protocol="http", **attributes):
    return sns_endpoint.subscribe_confirmed(sns, topic, ep, protocol, **attributes)


# ---- topics ----

def test_topics_lifecycle_and_attributes():
    name = unique("t")
    arn = sns.create_topic(Name=name)["TopicArn"]
    eq(arn, f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}", "arn")
    eq(sns.create_topic(Name=name)["TopicArn"], arn, "idempotent")
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    for key in ("TopicArn", "Owner", "Policy", "DisplayName", "SubscriptionsConfirmed", "SubscriptionsPending", "SubscriptionsDeleted",
                "EffectiveDeliveryPolicy"):
        assert key in attrs, (key, attrs)
    eq(attrs["Owner"], ACCOUNT, "owner")
    policy = json.loads(attrs["Policy"])
    eq(policy["Statement"][0]["Condition"], {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}, "default policy")
    assert "SNS:Publish" in policy["Statement"][0]["Action"]
    eq(json.loads(attrs["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"], 3, "AWS's default retries")
    eq(attrs["SubscriptionsConfirmed"], "0", "no subscriptions")

    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Alarms")
    eq(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"], "Alarms", "display name")
    expect_error(lambda: sns.create_topic(Name=name, Attributes={"DisplayName": "Other"}), "InvalidParameter", 400,
                 "Topic already exists with different attributes")
    eq(sns.create_topic(Name=name, Attributes={"DisplayName": "Alarms"})["TopicArn"], arn, "same attributes: same topic")
    expect_error(lambda: sns.set_topic_attributes(TopicArn=arn, AttributeName="Nonsense", AttributeValue="x"), "InvalidParameter", 400,
                 "Invalid parameter: AttributeName")
    expect_error(lambda: sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue="{not json"), "InvalidParameter", 400)
    expect_error(lambda: sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue="{}"), "InvalidParameter", 400)

    expect_error(lambda: sns.create_topic(Name="bad name!"), "InvalidParameter", 400, "Invalid parameter: Topic Name")
    expect_error(lambda: sns.create_topic(Name=unique("f") + ".fifo", Attributes={"FifoTopic": "true"}), "InvalidParameter", 400,
                 "FIFO topics are not supported")
    expect_error(lambda: sns.create_topic(Name=unique("f"), Attributes={"FifoTopic": "true"}), "InvalidParameter", 400, "FIFO topics are not supported")

    sns.delete_topic(TopicArn=arn)
    expect_error(lambda: sns.get_topic_attributes(TopicArn=arn), "NotFound", 404, "Topic does not exist")
    sns.delete_topic(TopicArn=arn)  # deleting what is gone succeeds, as in AWS
    expect_error(lambda: sns.publish(TopicArn=arn, Message="x"), "NotFound", 404)
    expect_error(lambda: sns.get_topic_attributes(TopicArn="not-an-arn"), "InvalidParameter", 400)


def test_list_topics_pages_by_100():
    prefix = unique("page")
    made = {sns.create_topic(Name=f"{prefix}-{i:03}")["TopicArn"] for i in range(105)}
    first = sns.list_topics()
    eq(len(first["Topics"]), 100, "first page")
    assert "NextToken" in first
    seen = {t["TopicArn"] for p in sns.get_paginator("list_topics").paginate() for t in p["Topics"]}
    assert made <= seen, len(made - seen)
    expect_error(lambda: sns.list_topics(NextToken="bogus"), "InvalidParameter", 400, "NextToken")
    for arn in made:
        sns.delete_topic(TopicArn=arn)


def test_tags():
    arn = sns.create_topic(Name=unique("tags"), Tags=[{"Key": "team", "Value": "ml"}])["TopicArn"]
    eq(sns.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "ml"}], "tags at creation")
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "ops"}])
    eq(sorted((t["Key"], t["Value"]) for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]), [("env", "prod"), ("team", "ops")], "merged")
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    eq(sns.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "env", "Value": "prod"}], "untagged")
    expect_error(lambda: sns.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)]), "TagLimitExceeded", 400)
    missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:{unique('missing')}"
    expect_error(lambda: sns.list_tags_for_resource(ResourceArn=missing), "ResourceNotFound", 404)


# ---- subscriptions and delivery ----

def test_http_subscription_confirmation_and_signed_notification():
    topic = sns.create_topic(Name=unique("http"))["TopicArn"]
    ep = Endpoint()
    expect_error(lambda: sns.confirm_subscription(TopicArn=topic, Token="0" * 128), "InvalidParameter", 400, "Token")
    arn = subscribe_confirmed(topic, ep)
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    eq([(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in listed], [(arn, "http", ep.url)], "listed by topic")
    assert arn in [s["SubscriptionArn"] for p in sns.get_paginator("list_subscriptions").paginate() for s in p["Subscriptions"]]
    eq(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsConfirmed"], "1", "confirmed count")
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    eq((attrs["PendingConfirmation"], attrs["ConfirmationWasAuthenticated"], attrs["Protocol"], attrs["TopicArn"]), ("false", "false", "http", topic),
       "subscription attributes")
    assert "EffectiveDeliveryPolicy" in attrs

    published = sns.publish(TopicArn=topic, Message="hello\nworld", Subject="Greeting",
                            MessageAttributes={"color": {"DataType": "String", "StringValue": "red"},
                                               "size": {"DataType": "Number", "StringValue": "42"},
                                               "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    headers, body = ep.next()
    message = json.loads(body)
    eq(headers["x-amz-sns-message-type"], "Notification", "type header")
    eq(headers["x-amz-sns-subscription-arn"], arn, "subscription header")
    eq(headers["x-amz-sns-message-id"], published["MessageId"], "message id header")
    eq(list(message), ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL",
                       "UnsubscribeURL", "MessageAttributes"], "fields in AWS's order")
    eq((message["MessageId"], message["Message"], message["Subject"]), (published["MessageId"], "hello\nworld", "Greeting"), "content")
    eq(message["MessageAttributes"], {"color": {"Type": "String", "Value": "red"}, "size": {"Type": "Number", "Value": "42"},
                                      "blob": {"Type": "Binary", "Value": "AAE="}}, "attributes")
    verify(message)

    # Raw delivery: the bare message.
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.publish(TargetArn=topic, Message='{"raw": true}')
    headers, body = ep.next()
    eq(body, '{"raw": true}', "raw body")
    eq(headers.get("x-amz-sns-rawdelivery"), "true", "raw header")

    # The UnsubscribeURL works unsigned, as in AWS.
    status, text = fetch(message["UnsubscribeURL"])
    eq(status, 200, text)
    expect_error(lambda: sns.get_subscription_attributes(SubscriptionArn=arn), "NotFound", 404, "Subscription does not exist")
    eq(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsDeleted"], "1", "deleted count")
    headers, body = ep.next()
    goodbye = json.loads(body)
    eq((headers["x-amz-sns-message-type"], goodbye["Type"]), ("UnsubscribeConfirmation", "UnsubscribeConfirmation"), "the endpoint is told")
    assert goodbye["Message"].startswith(f"You have chosen to deactivate subscription {arn}."), goodbye["Message"]
    verify(goodbye)
    sns.publish(TopicArn=topic, Message="nobody listens")
    ep.nothing()
    # Its SubscribeURL undoes the unsubscription.
    status, text = fetch(goodbye["SubscribeURL"])
    eq(status, 200, text)
    assert f"<SubscriptionArn>{arn}</SubscriptionArn>" in text, text
    sns.publish(TopicArn=topic, Message="back again")
    eq(ep.next()[1], "back again", "restored as it was (raw delivery)")


def test_https_endpoint_and_signed_confirm_with_return_arn():
    topic = sns.create_topic(Name=unique("https"))["TopicArn"]
    ep = Endpoint(tls=True)
    arn = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=ep.url, ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert arn.startswith(topic + ":"), arn
    eq(sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"], "true", "pending")
    eq(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"], "PendingConfirmation", "listed as pending")
    _, body = ep.next()
    message = json.loads(body)
    verify(message)
    # Confirmed by a signed call this time: the confirmation was authenticated.
    eq(sns.confirm_subscription(TopicArn=topic, Token=message["Token"], AuthenticateOnUnsubscribe="true")["SubscriptionArn"], arn, "confirmed")
    eq(sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["ConfirmationWasAuthenticated"], "true", "authenticated")
    sns.publish(TopicArn=topic, Message="over tls")
    eq(json.loads(ep.next()[1])["Message"], "over tls", "delivered over https")
    # With AuthenticateOnUnsubscribe the UnsubscribeURL alone is not enough.
    status, text = fetch(f"{endpoint()}/?Action=Unsubscribe&SubscriptionArn={urllib.parse.quote(arn)}")
    eq(status, 403, text)
    assert "AuthorizationError" in text, text
    sns.unsubscribe(SubscriptionArn=arn)
    expect_error(lambda: sns.unsubscribe(SubscriptionArn=arn), "NotFound", 404)


def test_unsigned_requests_are_refused_except_confirmation():
    status, text = fetch(f"{endpoint()}/?Action=ListTopics")
    assert status in (400, 403), (status, text)
    assert "ListTopicsResponse" not in text, text


def test_subscribe_errors_and_refused_protocols():
    topic = sns.create_topic(Name=unique("sub"))["TopicArn"]
    for protocol, word in [("sqs", "SQS"), ("lambda", "Lambda"), ("application", "mobile push"), ("sms", "SMS"), ("firehose", "Firehose")]:
        expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint="arn:aws:x:us-east-1:123456789012:y"), "InvalidParameter", 400,
                     word)
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="carrier-pigeon", Endpoint="x"), "InvalidParameter", 400,
                 "Amazon SNS does not support this protocol string: carrier-pigeon")
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="https://example.com/"), "InvalidParameter", 400,
                 "Endpoint must match the specified protocol")
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="not-an-address"), "InvalidParameter", 400, "Email address")
    expect_error(lambda: sns.subscribe(TopicArn=topic + "x", Protocol="http", Endpoint="http://127.0.0.1:1/"), "NotFound", 404)
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/",
                                       Attributes={"FilterPolicy": '{"a": "not-an-array"}'}), "InvalidParameter", 400, "FilterPolicy")
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/",
                                       Attributes={"FilterPolicy": json.dumps({f"k{i}": ["v"] for i in range(6)})}), "InvalidParameter", 400,
                 "Filter policy can not have more than 5 keys")
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/",
                                       Attributes={"FilterPolicy": json.dumps({f"k{i}": [str(j) for j in range(6)] for i in range(3)})}),
                 "InvalidParameter", 400, "Filter policy is too complex")
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/",
                                       Attributes={"DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 5}})}),
                 "InvalidParameter", 400, "minDelayTarget")
    expect_error(lambda: sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/", Attributes={"Bogus": "x"}),
                 "InvalidParameter", 400, "AttributeName")
    expect_error(lambda: sns.get_subscription_attributes(SubscriptionArn=topic + ":00000000-0000-0000-0000-000000000000"), "NotFound", 404)


def test_publish_errors():
    topic = sns.create_topic(Name=unique("errors"))["TopicArn"]
    expect_error(lambda: sns.publish(TopicArn=topic, Message=""), "InvalidParameter", 400, "Empty message")
    expect_error(lambda: sns.publish(TopicArn=topic, Message="x" * (256 * 1024 + 1)), "InvalidParameter", 400, "Message too long")
    sns.publish(TopicArn=topic, Message="x" * (256 * 1024))
    expect_error(lambda: sns.publish(TopicArn=topic, Message="x", Subject="line\nbreak"), "InvalidParameter", 400, "Subject")
    expect_error(lambda: sns.publish(TopicArn=topic, Message="not json", MessageStructure="json"), "InvalidParameter", 400,
                 "JSON message body failed to parse")
    expect_error(lambda: sns.publish(TopicArn=topic, Message='{"http": "x"}', MessageStructure="json"), "InvalidParameter", 400,
                 "No default entry in JSON message body")
    expect_error(lambda: sns.publish(TopicArn=topic, Message="x", MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}}),
                 "ParameterValueInvalid", 400, "Could not cast message attribute 'n' value to number.")
    expect_error(lambda: sns.publish(TopicArn=topic, Message="x", MessageAttributes={"n": {"DataType": "Float", "StringValue": "1"}}),
                 "ParameterValueInvalid", 400, "the set of supported type prefixes is Binary, Number, and String.")
    expect_error(lambda: sns.publish(TopicArn=topic, Message="x", MessageAttributes={"a": {"DataType": "String.Array", "StringValue": "[{}]"}}),
                 "ParameterValueInvalid", 400, "String.Array")
    expect_error(lambda: sns.publish(TopicArn=topic, TargetArn=topic, Message="x"), "InvalidParameter", 400, "Only one of TopicArn or TargetArn")
    expect_error(lambda: sns.publish(Message="x"), "InvalidParameter", 400, "TopicArn or TargetArn")
    expect_error(lambda: sns.publish(PhoneNumber="+15555550100", Message="x"), "InvalidParameter", 400, "SMS")
    expect_error(lambda: sns.publish(TopicArn=topic, Message="x", MessageGroupId="g"), "InvalidParameter", 400, "MessageGroupId")


def test_message_structure_json_per_protocol():
    topic = sns.create_topic(Name=unique("structure"))["TopicArn"]
    ep = Endpoint()
    subscribe_confirmed(topic, ep)
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "for everyone", "http": "for http"}))
    eq(json.loads(ep.next()[1])["Message"], "for http", "http's own message")
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "for everyone", "email": "for email"}))
    eq(json.loads(ep.next()[1])["Message"], "for everyone", "the default")


def test_publish_batch():
    topic = sns.create_topic(Name=unique("batch"))["TopicArn"]
    ep = Endpoint()
    subscribe_confirmed(topic, ep)
    result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "one", "Message": "first"},
        {"Id": "two", "Message": "second", "Subject": "S"},
        {"Id": "bad", "Message": ""},
    ])
    eq(sorted(s["Id"] for s in result["Successful"]), ["one", "two"], "successful")
    eq([(f["Id"], f["Code"], f["SenderFault"]) for f in result["Failed"]], [("bad", "InvalidParameter", True)], "failed")
    got = sorted(json.loads(ep.next()[1])["Message"] for _ in range(2))
    eq(got, ["first", "second"], "both delivered")
    expect_error(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": f"m{i}", "Message": "x"} for i in range(11)]),
                 "TooManyEntriesInBatchRequest", 400)
    expect_error(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}, {"Id": "a", "Message": "y"}]),
                 "BatchEntryIdsNotDistinct", 400)
    expect_error(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": "no spaces", "Message": "x"}]), "InvalidBatchEntryId", 400)
    expect_error(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": f"m{i}", "Message": "x" * 60000} for i in range(5)]),
                 "BatchRequestTooLong", 400)
    expect_error(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[]), "EmptyBatchRequest", 400)


def test_filter_policies():
    topic = sns.create_topic(Name=unique("filter"))["TopicArn"]
    red, big, body, everyone = Endpoint(), Endpoint(), Endpoint(), Endpoint()
    subscribe_confirmed(topic, red, FilterPolicy=json.dumps({"color": ["red", {"prefix": "dark"}], "size": [{"exists": False}]}))
    big_arn = subscribe_confirmed(topic, big, FilterPolicy=json.dumps({"size": [{"numeric": [">", 10, "<=", 100]}], "color": [{"anything-but": ["blue"]}]}))
    subscribe_confirmed(topic, body, FilterPolicyScope="MessageBody",
                        FilterPolicy=json.dumps({"order": {"status": [{"equals-ignore-case": "SHIPPED"}]}, "$or": [{"ip": [{"cidr": "10.0.0.0/8"}]},
                                                                                                                   {"vip": [True]}]}))
    subscribe_confirmed(topic, everyone)
    attrs = sns.get_subscription_attributes(SubscriptionArn=big_arn)["Attributes"]
    eq(attrs["FilterPolicyScope"], "MessageAttributes", "default scope")

    def publish(message, **attributes):
        ma = {k: {"DataType": "Number" if isinstance(v, int) else "String", "StringValue": str(v)} for k, v in attributes.items()}
        return sns.publish(TopicArn=topic, Message=message, MessageAttributes=ma)["MessageId"]

    publish("red one", color="red")
    eq(json.loads(red.next()[1])["Message"], "red one", "red matched")
    eq(json.loads(everyone.next()[1])["Message"], "red one", "no policy: everything")
    publish("dark and big", color="darkgreen", size=50)
    eq(json.loads(big.next()[1])["Message"], "dark and big", "numeric range and anything-but")
    everyone.next()
    publish("blue and big", color="blue", size=50)
    everyone.next()
    publish(json.dumps({"order": {"status": "shipped"}, "ip": "10.1.2.3"}))
    eq(json.loads(json.loads(body.next()[1])["Message"])["ip"], "10.1.2.3", "body scope, nested key, cidr")
    everyone.next()
    publish(json.dumps({"order": {"status": "pending"}, "vip": True}))
    everyone.next()
    publish(json.dumps({"order": [{"status": "Shipped"}], "vip": True}))
    body.next()
    everyone.next()
    # String.Array attributes match when an element does.
    sns.publish(TopicArn=topic, Message="array", MessageAttributes={"color": {"DataType": "String.Array", "StringValue": '["green", "red"]'}})
    eq(json.loads(red.next()[1])["Message"], "array", "array attribute")
    everyone.next()
    for ep in (red, big, body):
        ep.nothing(0.5)
    # A policy is replaced with SetSubscriptionAttributes, and checked the same way.
    expect_error(lambda: sns.set_subscription_attributes(SubscriptionArn=big_arn, AttributeName="FilterPolicy",
                                                         AttributeValue='{"size": [{"numeric": ["<", "ten"]}]}'), "InvalidParameter", 400, "FilterPolicy")
    sns.set_subscription_attributes(SubscriptionArn=big_arn, AttributeName="FilterPolicy", AttributeValue='{"size": [{"numeric": ["=", 7]}]}')
    publish("seven", size=7)
    eq(json.loads(big.next()[1])["Message"], "seven", "new policy")


def test_retries_follow_the_delivery_policy_on_the_clock():
    topic = sns.create_topic(Name=unique("retry"))["TopicArn"]
    ep = Endpoint()
    subscribe_confirmed(topic, ep)
    ep.statuses = [500, 503, 502, 500]
    sns.publish(TopicArn=topic, Message="persist")
    first = json.loads(ep.next()[1])
    ep.nothing(0.5)  # and the server has recorded the failure
    failed_at = server_time()
    # AWS's default: 3 retries, 20 s apart.
    for n in range(1, 4):
        set_time(failed_at + 19)
        ep.nothing(0.7)
        set_time(failed_at + 20.5)
        again = json.loads(ep.next()[1])
        eq(again["MessageId"], first["MessageId"], f"retry {n}: the same message")
        ep.nothing(0.5)
        failed_at = server_time()
    set_time(server_time() + 600)
    ep.nothing(0.7)  # four attempts, then AWS gives up

    # A subscription's own policy: two immediate retries, then 5 s.
    ep2 = Endpoint()
    arn = subscribe_confirmed(topic, ep2, DeliveryPolicy=json.dumps({"healthyRetryPolicy": {
        "numRetries": 3, "numNoDelayRetries": 2, "minDelayTarget": 5, "maxDelayTarget": 5}}))
    eq(json.loads(sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["EffectiveDeliveryPolicy"])["healthyRetryPolicy"]["numNoDelayRetries"],
       2, "effective policy")
    ep2.statuses = [500, 500, 500]
    sns.publish(TopicArn=topic, Message="custom")
    ep.next()  # the first subscriber gets it once
    for _ in range(3):
        ep2.next()
    ep2.nothing(0.7)
    set_time(server_time() + 5.5)
    eq(json.loads(ep2.next()[1])["Message"], "custom", "after 5 s")
    # A 4xx (but 429) is final: no retry.
    ep2.statuses = [404]
    sns.publish(TopicArn=topic, Message="gone")
    ep.next()
    ep2.next()
    set_time(server_time() + 60)
    ep2.nothing(0.7)


def test_a_slow_subscriber_blocks_neither_publish_nor_others():
    topic = sns.create_topic(Name=unique("slow"))["TopicArn"]
    slow, fast = Endpoint(), Endpoint()
    subscribe_confirmed(topic, slow)
    subscribe_confirmed(topic, fast)
    slow.hold = threading.Event()
    try:
        started = time.monotonic()
        for i in range(3):
            sns.publish(TopicArn=topic, Message=f"m{i}")
        assert time.monotonic() - started < 5, "publish waited for a subscriber"
        got = sorted(json.loads(fast.next(10)[1])["Message"] for _ in range(3))
        eq(got, ["m0", "m1", "m2"], "the fast one got everything while the slow one hangs")
        slow.next()
    finally:
        slow.hold.set()
    slow.hold = None
    for _ in range(2):
        slow.next()


def test_topic_policy_is_a_resource_policy():
    topic = sns.create_topic(Name=unique("policy"))["TopicArn"]
    user = unique("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    other = client("sns", (key["AccessKeyId"], key["SecretAccessKey"]))
    expect_error(lambda: other.publish(TopicArn=topic, Message="x"), "AuthorizationError", 403, "is not authorized to perform: sns:Publish")
    statement = {"Sid": "user", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"}, "Action": "SNS:Publish", "Resource": topic}
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    other.publish(TopicArn=topic, Message="allowed by the topic's policy")
    expect_error(lambda: other.get_topic_attributes(TopicArn=topic), "AuthorizationError", 403)
    # An explicit deny in the topic policy holds even for the account's root.
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": topic}
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [statement, deny]}))
    expect_error(lambda: sns.publish(TopicArn=topic, Message="x"), "AuthorizationError", 403)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue="")
    sns.publish(TopicArn=topic, Message="policy reset to the default")


def test_another_account_needs_the_topic_policy():
    out = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "accounts", "create", unique("tenant"), "--data-dir", os.environ["STRATA_DATA_DIR"]],
                         check=True, capture_output=True, text=True).stdout
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    other_id = out.split()[1]
    theirs = client("sns", (lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"]))
    topic = sns.create_topic(Name=unique("shared"))["TopicArn"]
    # AWS's default policy lets only the owner's account in.
    expect_error(lambda: theirs.publish(TopicArn=topic, Message="x"), "AuthorizationError", 403)
    assert topic not in [t["TopicArn"] for t in theirs.list_topics()["Topics"]]
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    policy["Statement"].append({"Sid": "partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other_id}:root"},
                                "Action": ["sns:Publish", "sns:Subscribe"], "Resource": topic})
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    ep = Endpoint()
    eq(theirs.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)["SubscriptionArn"], "pending confirmation", "their subscription")
    confirmation = json.loads(ep.next()[1])
    eq(fetch(confirmation["SubscribeURL"])[0], 200, "confirmed")
    theirs.publish(TopicArn=topic, Message="from a partner")
    eq(json.loads(ep.next()[1])["Message"], "from a partner", "delivered")
    owners = {s["Owner"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    eq(owners, {other_id}, "the subscription belongs to the subscriber's account")
    expect_error(lambda: theirs.delete_topic(TopicArn=topic), "AuthorizationError", 403)


def test_cloudwatch_alarm_actions_publish_to_the_topic():
    cw = boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    topic = sns.create_topic(Name=unique("alarms"))["TopicArn"]
    ep = Endpoint()
    subscribe_confirmed(topic, ep)
    name = unique("cpu")
    cw.put_metric_alarm(AlarmName=name, Namespace="Strata/Test", MetricName="CPU", Statistic="Average", Period=60, EvaluationPeriods=1,
                        Threshold=90, ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic])
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the action")
    headers, body = ep.next()
    message = json.loads(body)
    verify(message)
    eq(message["Subject"], f'ALARM: "{name}" in US East (N. Virginia)', "subject")
    alarm = json.loads(message["Message"])
    eq((alarm["AlarmName"], alarm["NewStateValue"], alarm["NewStateReason"]), (name, "ALARM", "testing the action"), "AWS's alarm message")


def test_email_and_email_json():
    smtp = Smtp(int(os.environ["STRATA_SMTP_PORT"]))
    topic = sns.create_topic(Name=unique("mail"), Attributes={"DisplayName": "Ops"})["TopicArn"]
    eq(sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"], "pending confirmation", "pending")
    rcpt, mail = smtp.next()
    eq(rcpt, ["ops@example.com"], "recipient")
    eq(mail["Subject"], "Ops - Subscription Confirmation", "subject")
    text = mail.get_payload(decode=True).decode()
    url = [line for line in text.splitlines() if "Action=ConfirmSubscription" in line][0].strip()
    status, answer = fetch(url)
    eq(status, 200, answer)
    sns.publish(TopicArn=topic, Message="disk full", Subject="Alarm")
    rcpt, mail = smtp.next()
    eq(mail["Subject"], "Alarm", "subject")
    assert mail.get_payload(decode=True).decode().startswith("disk full"), mail.get_payload(decode=True)

    arn = sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="bot@example.com", ReturnSubscriptionArn=True)["SubscriptionArn"]
    _, mail = smtp.next()
    confirmation = json.loads(mail.get_payload(decode=True))
    verify(confirmation)
    sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    sns.publish(TopicArn=topic, Message="as json")
    got = [smtp.next() for _ in range(2)]
    by = {r[0]: m for r, m in got}
    notification = json.loads(by["bot@example.com"].get_payload(decode=True))
    eq(notification["Message"], "as json", "email-json body")
    verify(notification)
    expect_error(lambda: sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true"),
                 "InvalidParameter", 400, "raw message delivery")


if __name__ == "__main__":
    run(globals())
