"""Step Functions' SNS and S3 integrations end to end with an unmodified boto3: the optimized
`sns:publish` (request/response and .waitForTaskToken, a JSON Message sent as its text, AWS's
SdkHttpMetadata/SdkResponseMetadata in the result, SNS.* errors) delivered to an HTTP subscriber,
and the AWS SDK integrations `aws-sdk:s3:*` (putObject, getObject with its Body as a string,
headObject, listObjectsV2, deleteObject, S3.NoSuchKeyException) and `aws-sdk:sns:*` (createTopic,
listTopics, publish, Sns.NotFoundException), each called as the machine's role."""
import json

from harness import client, eq, run, unique, until, validate_responses
from sns_endpoint import Endpoint, subscribe_confirmed

sfn = validate_responses(client("stepfunctions"))
iam, s3, sns = client("iam"), client("s3"), client("sns")
ACCOUNT = client("sts").get_caller_identity()["Account"]
STATES_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def states_role(actions=()):
    name = unique("states-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=STATES_TRUST)["Role"]["Arn"]
    if actions:
        iam.put_role_policy(RoleName=name, PolicyName="tasks", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
    return arn


def execute(definition, role, payload=None):
    arn = sfn.create_state_machine(name=unique("machine"), definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))["executionArn"]


def finished(arn):
    until(f"{arn} ends", lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", 60)
    return sfn.describe_execution(executionArn=arn)


def task(resource, parameters, **extra):
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, **extra}


def test_sns_publish():
    topic = sns.create_topic(Name=unique("sfn-topic"))["TopicArn"]
    ep = Endpoint()
    subscribe_confirmed(sns, topic, ep)
    role = states_role(["sns:Publish"])
    arn = execute({"StartAt": "Notify", "States": {"Notify": task("arn:aws:states:::sns:publish", {
        "TopicArn": topic, "Subject": "retraining", "Message": {"model.$": "$.model", "auc": 0.91},
        "MessageAttributes": {"stage": {"DataType": "String", "StringValue": "evaluate"}}}, End=True)}},
        role, {"model": "churn-v2"})
    d = finished(arn)
    eq(d["status"], "SUCCEEDED", f"execution ({d.get('error')}: {d.get('cause')})")
    output = json.loads(d["output"])
    eq(sorted(output), ["MessageId", "SdkHttpMetadata", "SdkResponseMetadata"], "the integration's result")
    eq(output["SdkHttpMetadata"]["HttpStatusCode"], 200, "status")
    request_id = output["SdkResponseMetadata"]["RequestId"]
    eq(output["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"], request_id, "request id header")
    eq(output["SdkHttpMetadata"]["AllHttpHeaders"]["x-amzn-RequestId"], [request_id], "request id header, all values")
    eq(output["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"], "text/xml", "content type")
    headers, body = ep.next()
    message = json.loads(body)
    eq(headers["x-amz-sns-message-type"], "Notification", "delivered")
    eq((message["MessageId"], message["Subject"]), (output["MessageId"], "retraining"), "the message")
    # A JSON Message is sent as its text, as AWS's integration sends it.
    eq(json.loads(message["Message"]), {"model": "churn-v2", "auc": 0.91}, "the message's text")
    # CloudTrail records the call as the machine's role, invoked by Step Functions.
    trail = client("cloudtrail")

    def published():
        events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Publish"}])["Events"]
        return [json.loads(e["CloudTrailEvent"]) for e in events if json.loads(e["CloudTrailEvent"])["requestID"] == request_id]
    until("the Publish in CloudTrail", published)
    record = published()[0]
    eq((record["eventSource"], record["userIdentity"]["type"], record["userIdentity"]["invokedBy"]),
       ("sns.amazonaws.com", "AssumedRole", "states.amazonaws.com"), "the recorded call")
    eq(record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"], role, "as the execution role")
    eq(record["requestParameters"]["topicArn"], topic, "its request")


def test_sns_publish_wait_for_task_token():
    topic = sns.create_topic(Name=unique("sfn-approval"))["TopicArn"]
    ep = Endpoint()
    subscribe_confirmed(sns, topic, ep)
    arn = execute({"StartAt": "Ask", "States": {"Ask": task("arn:aws:states:::sns:publish.waitForTaskToken", {
        "TopicArn": topic, "Message": {"token.$": "$$.Task.Token", "model.$": "$.model"}}, End=True)}},
        states_role(["sns:Publish"]), {"model": "churn-v3"})
    _, body = ep.next()
    asked = json.loads(json.loads(body)["Message"])
    eq(asked["model"], "churn-v3", "the question")
    eq(sfn.describe_execution(executionArn=arn)["status"], "RUNNING", "waiting for the answer")
    sfn.send_task_success(taskToken=asked["token"], output=json.dumps({"approved": True}))
    d = finished(arn)
    eq((d["status"], json.loads(d["output"])), ("SUCCEEDED", {"approved": True}), "answered")
    submitted = [e for e in sfn.get_execution_history(executionArn=arn)["events"] if e["type"] == "TaskSubmitted"]
    eq(submitted[0]["taskSubmittedEventDetails"]["resource"], "publish.waitForTaskToken", "submitted")
    assert "MessageId" in json.loads(submitted[0]["taskSubmittedEventDetails"]["output"]), submitted


def test_sns_publish_errors():
    topic = sns.create_topic(Name=unique("sfn-denied"))["TopicArn"]
    # A role without sns:Publish: SNS refuses the call as that role, the task fails with the SDK's exception.
    d = finished(execute({"StartAt": "Notify", "States": {"Notify": task("arn:aws:states:::sns:publish", {
        "TopicArn": topic, "Message": "hello"}, End=True)}}, states_role(["sns:ListTopics"])))
    eq((d["status"], d.get("error")), ("FAILED", "SNS.AuthorizationErrorException"), "denied")
    assert "sns:Publish" in d["cause"] and "Error Code: AuthorizationError" in d["cause"] and "Status Code: 403" in d["cause"], d["cause"]
    # A topic that does not exist, caught by its error name.
    d = finished(execute({"StartAt": "Notify", "States": {
        "Notify": task("arn:aws:states:::sns:publish", {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:{unique('nothing')}", "Message": "x"},
                       Catch=[{"ErrorEquals": ["SNS.NotFoundException"], "ResultPath": "$.error", "Next": "Missing"}], End=True),
        "Missing": {"Type": "Pass", "End": True}}}, states_role(["sns:Publish"])))
    eq(d["status"], "SUCCEEDED", f"caught ({d.get('error')}: {d.get('cause')})")
    error = json.loads(d["output"])["error"]
    eq(error["Error"], "SNS.NotFoundException", "the caught error")
    assert "Error Code: NotFound" in error["Cause"], error


def test_aws_sdk_s3():
    bucket = unique("sfn-sdk")
    s3.create_bucket(Bucket=bucket)
    role = states_role(["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:DeleteObject"])
    arn = execute({"StartAt": "Put", "States": {
        "Put": task("arn:aws:states:::aws-sdk:s3:putObject", {
            "Bucket": bucket, "Key": "metrics/evaluation.json", "Body.$": "$.metrics", "ContentType": "application/json",
            "Metadata": {"stage": "evaluate"}}, ResultPath="$.put", Next="Get"),
        "Get": task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "metrics/evaluation.json"},
                    ResultSelector={"metrics.$": "States.StringToJson($.Body)", "type.$": "$.ContentType", "length.$": "$.ContentLength",
                                    "etag.$": "$.ETag", "metadata.$": "$.Metadata"}, ResultPath="$.got", Next="Head"),
        "Head": task("arn:aws:states:::aws-sdk:s3:headObject", {"Bucket": bucket, "Key": "metrics/evaluation.json"}, ResultPath="$.head", Next="List"),
        "List": task("arn:aws:states:::aws-sdk:s3:listObjectsV2", {"Bucket": bucket, "Prefix": "metrics/"}, ResultPath="$.list", Next="Delete"),
        "Delete": task("arn:aws:states:::aws-sdk:s3:deleteObject", {"Bucket": bucket, "Key": "metrics/evaluation.json"}, ResultPath="$.delete",
                       Next="Again"),
        "Again": task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "metrics/evaluation.json"},
                      Catch=[{"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.missing", "Next": "Done"}], Next="Done"),
        "Done": {"Type": "Succeed"}}}, role, {"metrics": {"auc": 0.93}})
    d = finished(arn)
    eq(d["status"], "SUCCEEDED", f"execution ({d.get('error')}: {d.get('cause')})")
    out = json.loads(d["output"])
    eq(out["got"], {"metrics": {"auc": 0.93}, "type": "application/json", "length": len('{"auc":0.93}'), "etag": out["put"]["ETag"],
                    "metadata": {"stage": "evaluate"}}, "read back")
    assert out["put"]["ETag"].startswith('"'), out["put"]
    eq((out["head"]["ContentLength"], out["head"]["ContentType"], out["head"]["ETag"]), (12, "application/json", out["put"]["ETag"]), "headObject")
    assert "Body" not in out["head"] and out["head"]["LastModified"].endswith("Z"), out["head"]
    listing = out["list"]
    eq((listing["Name"], listing["Prefix"], listing["KeyCount"], listing["IsTruncated"]), (bucket, "metrics/", 1, False), "listObjectsV2")
    eq([(c["Key"], c["Size"], c["ETag"]) for c in listing["Contents"]], [("metrics/evaluation.json", 12, out["put"]["ETag"])], "its contents")
    eq(out["missing"]["Error"], "S3.NoSuchKeyException", "a deleted key")
    assert "Status Code: 404" in out["missing"]["Cause"], out["missing"]
    eq(s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0, "deleted")


def test_aws_sdk_s3_denied():
    bucket = unique("sfn-sdk-denied")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    d = finished(execute({"StartAt": "Get", "States": {"Get": task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "k"}, End=True)}},
                         states_role(["s3:ListBucket"])))
    eq((d["status"], d.get("error")), ("FAILED", "S3.AccessDeniedException"), "denied as the role")
    assert "Status Code: 403" in d["cause"], d["cause"]


def test_aws_sdk_s3_refusals():
    # What Strata does not pass on fails the task with States.Runtime, saying what.
    role = states_role(["s3:*"])
    for resource, parameters, says in (
            ("arn:aws:states:::aws-sdk:s3:copyObject", {"Bucket": "b", "Key": "k", "CopySource": "b/j"}, "of S3 it serves getObject"),
            ("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "b", "Key": 7}, "needs the parameter Key, a string"),
            ("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "b", "Key": "k", "SSECustomerKey": "x"}, "the parameter SSECustomerKey")):
        d = finished(execute({"StartAt": "S3", "States": {"S3": task(resource, parameters, End=True)}}, role))
        eq((d["status"], d.get("error")), ("FAILED", "States.Runtime"), resource)
        assert says in d["cause"], d["cause"]
    # An object larger than a task's result may be (256 KiB) fails the task, as on AWS.
    bucket = unique("sfn-sdk-large")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="large", Body=b"x" * 300_000)
    d = finished(execute({"StartAt": "Get", "States": {"Get": task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "large"}, End=True)}}, role))
    eq((d["status"], d.get("error")), ("FAILED", "States.DataLimitExceeded"), "a large object")


def test_aws_sdk_sns():
    name = unique("sfn-sdk-topic")
    role = states_role(["sns:CreateTopic", "sns:ListTopics", "sns:Publish"])
    arn = execute({"StartAt": "Create", "States": {
        "Create": task("arn:aws:states:::aws-sdk:sns:createTopic", {"Name": name, "Attributes": {"DisplayName": "retrain"},
                                                                    "Tags": [{"Key": "team", "Value": "ml"}]}, ResultPath="$.created", Next="List"),
        "List": task("arn:aws:states:::aws-sdk:sns:listTopics", {}, ResultPath="$.listed", Next="Publish"),
        "Publish": task("arn:aws:states:::aws-sdk:sns:publish", {"TopicArn.$": "$.created.TopicArn", "Message": "done",
                                                                 "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
                        ResultPath="$.published", Next="Missing"),
        "Missing": task("arn:aws:states:::aws-sdk:sns:publish", {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:{unique('none')}", "Message": "x"},
                        Catch=[{"ErrorEquals": ["Sns.NotFoundException"], "ResultPath": "$.missing", "Next": "Done"}], Next="Done"),
        "Done": {"Type": "Succeed"}}}, role)
    d = finished(arn)
    eq(d["status"], "SUCCEEDED", f"execution ({d.get('error')}: {d.get('cause')})")
    out = json.loads(d["output"])
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"
    eq(out["created"], {"TopicArn": topic}, "createTopic")
    assert {"TopicArn": topic} in out["listed"]["Topics"], out["listed"]
    eq(sorted(out["published"]), ["MessageId"], "publish, as the SDK answers it")
    eq(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"], "retrain", "the attributes map was sent")
    eq(sns.list_tags_for_resource(ResourceArn=topic)["Tags"], [{"Key": "team", "Value": "ml"}], "the tags list was sent")
    eq(out["missing"]["Error"], "Sns.NotFoundException", "a topic that does not exist")


run(globals())
