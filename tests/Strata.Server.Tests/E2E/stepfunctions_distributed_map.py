"""A distributed Map end to end with an unmodified boto3 (1.43 and Debian's 1.26): its items read
from S3 by an ItemReader (CSV, JSON Lines, an object listing) as the execution's role, and its
results exported to S3 by a ResultWriter (a manifest and a file per status)."""
import json

from harness import client, eq, run, unique, until, validate_responses

sfn = validate_responses(client("stepfunctions"))
iam, s3 = client("iam"), client("s3")
STATES_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
BUCKET = unique("dmap")
s3.create_bucket(Bucket=BUCKET)


def role(actions):
    name = unique("dmap-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=STATES_TRUST)["Role"]["Arn"]
    if actions:
        iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return arn


READER = role(["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
NO_READ = role(["s3:PutObject"])
PROCESSOR = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Score", "States": {
    "Score": {"Type": "Choice", "Choices": [{"Variable": "$.label", "StringEquals": "bad", "Next": "Reject"}], "Default": "Keep"},
    "Keep": {"Type": "Pass", "Parameters": {"id.$": "$.id", "weight.$": "States.StringToJson($.weight)"}, "End": True},
    "Reject": {"Type": "Fail", "Error": "Row.Rejected", "Cause": "label is bad"}}}


def execute(definition, role_arn=READER, execution_input="{}"):
    arn = sfn.create_state_machine(name=unique("dmap"), definition=json.dumps(definition), roleArn=role_arn)["stateMachineArn"]
    run_arn = sfn.start_execution(stateMachineArn=arn, input=execution_input)["executionArn"]
    until(f"{run_arn} ends", lambda: sfn.describe_execution(executionArn=run_arn)["status"] != "RUNNING", 120)
    return sfn.describe_execution(executionArn=run_arn)


def test_csv_items_and_results_exported_to_s3():
    rows = ["id,weight,label"] + [f"{i},{i / 10},{'bad' if i % 10 == 0 else 'ok'}" for i in range(1, 31)]
    s3.put_object(Bucket=BUCKET, Key="data/rows.csv", Body=("\r\n".join(rows) + "\r\n").encode())
    d = execute({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "Label": "Rows", "ToleratedFailureCount": 5, "ItemProcessor": PROCESSOR,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket.$": "$.bucket", "Key": "data/rows.csv"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": BUCKET, "Prefix": "results"}},
        "End": True}}}, execution_input=json.dumps({"bucket": BUCKET}))
    eq(d["status"], "SUCCEEDED", f"{d.get('error')}: {d.get('cause')}")
    output = json.loads(d["output"])
    assert ":mapRun:" in output["MapRunArn"] and "/Rows:" in output["MapRunArn"], output
    eq(output["ResultWriterDetails"]["Bucket"], BUCKET, "bucket")
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=output["ResultWriterDetails"]["Key"])["Body"].read())
    eq((manifest["DestinationBucket"], manifest["MapRunArn"]), (BUCKET, output["MapRunArn"]), "manifest")
    succeeded = json.loads(s3.get_object(Bucket=BUCKET, Key=manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])["Body"].read())
    failed = json.loads(s3.get_object(Bucket=BUCKET, Key=manifest["ResultFiles"]["FAILED"][0]["Key"])["Body"].read())
    eq(len(succeeded), 27, "27 rows kept")
    eq(sorted(json.loads(r["Output"])["id"] for r in succeeded), sorted(str(i) for i in range(1, 31) if i % 10), "each kept row's output")
    eq(json.loads(succeeded[0]["Input"]).keys() >= {"id", "weight", "label"}, True, "an iteration's input is its row")
    eq(sorted(json.loads(r["Input"])["id"] for r in failed), ["10", "20", "30"], "the rejected rows")
    eq({(r["Status"], r["Error"], r["Cause"]) for r in failed}, {("FAILED", "Row.Rejected", "label is bad")}, "why")
    assert all(k["Key"].startswith("results/") for k in manifest["ResultFiles"]["SUCCEEDED"]), manifest


def test_json_lines_and_an_object_listing():
    s3.put_object(Bucket=BUCKET, Key="lines/items.jsonl", Body=b'{"id": "a", "weight": "1", "label": "ok"}\n{"id": "b", "weight": "2", "label": "ok"}\n')
    d = execute({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemProcessor": PROCESSOR, "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
                       "Parameters": {"Bucket": BUCKET, "Key": "lines/items.jsonl"}}}}})
    eq((d["status"], json.loads(d["output"])), ("SUCCEEDED", [{"id": "a", "weight": 1}, {"id": "b", "weight": 2}]), "JSON Lines")
    for name in ("x.bin", "y.bin", "z.bin"):
        s3.put_object(Bucket=BUCKET, Key=f"listing/{name}", Body=name.encode())
    d = execute({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "End": True, "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": BUCKET, "Prefix": "listing/"}},
        "ResultWriter": {"WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSON"}}}}})
    eq((d["status"], json.loads(d["output"])), ("SUCCEEDED", [{"key": f"listing/{n}", "size": 5} for n in ("x.bin", "y.bin", "z.bin")]), "listing")


def test_a_role_that_cannot_read_fails_the_map_and_bad_definitions_are_refused():
    s3.put_object(Bucket=BUCKET, Key="denied/items.json", Body=b"[1, 2]")
    d = execute({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemProcessor": PROCESSOR, "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": BUCKET, "Key": "denied/items.json"}}}}}, role_arn=NO_READ)
    eq((d["status"], d["error"]), ("FAILED", "States.ItemReaderFailed"), "read as the role")
    assert "AccessDenied" in d["cause"], d["cause"]
    bad = {"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemProcessor": PROCESSOR, "End": True,
                                                  "ItemReader": {"Resource": "arn:aws:states:::s3:deleteObject", "Parameters": {}}}}}
    try:
        sfn.create_state_machine(name=unique("dmap-bad"), definition=json.dumps(bad), roleArn=READER)
        raise AssertionError("an ItemReader of deleteObject was accepted")
    except sfn.exceptions.InvalidDefinition as e:
        assert "ItemReader/Resource" in str(e), e


if __name__ == "__main__":
    run(globals())
