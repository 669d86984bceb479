"""A distributed Map end to end with an unmodified boto3 (1.43 and Debian's 1.26): its items read
from S3 by an ItemReader (CSV, JSON Lines, an object listing, an S3 Inventory manifest) as the execution's role, its results
exported to S3 by a ResultWriter (a manifest and a file per status), and its Map Run: child executions
with histories of their own (DescribeMapRun, ListMapRuns, ListExecutions by Map Run, UpdateMapRun)."""
import gzip
import hashlib
import json

from harness import client, eq, run, states_role, unique, until, validate_responses

sfn = validate_responses(client("stepfunctions"))
iam, s3 = client("iam"), client("s3")
BUCKET = unique("dmap")
s3.create_bucket(Bucket=BUCKET)


def role(allowed):
    return states_role(iam, allowed)


READER = role(["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
NO_READ = role(["s3:PutObject"])
PROCESSOR = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Score", "States": {
    "Score": {"Type": "Choice", "Choices": [{"Variable": "$.label", "StringEquals": "bad", "Next": "Reject"}], "Default": "Keep"},
    "Keep": {"Type": "Pass", "Parameters": {"id.$": "$.id", "weight.$": "States.StringToJson($.weight)"}, "End": True},
    "Reject": {"Type": "Fail", "Error": "Row.Rejected", "Cause": "label is bad"}}}


def start(definition, role_arn=READER, execution_input="{}", name=None):
    arn = sfn.create_state_machine(name=unique("dmap"), definition=json.dumps(definition), roleArn=role_arn)["stateMachineArn"]
    return arn, sfn.start_execution(stateMachineArn=arn, input=execution_input, **({"name": name} if name else {}))["executionArn"]


def ended(run_arn, seconds=120):
    until(f"{run_arn} ends", lambda: sfn.describe_execution(executionArn=run_arn)["status"] != "RUNNING", seconds)
    return sfn.describe_execution(executionArn=run_arn)


def execute(definition, role_arn=READER, execution_input="{}"):
    return ended(start(definition, role_arn, execution_input)[1])


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


def test_an_s3_inventory_manifest():
    # An S3 Inventory's layout: gzip CSV data files (every field quoted, no header) and a manifest naming them.
    files = []
    for n, keys in enumerate((["models/a.onnx", "models/b.onnx"], ["models/c, with comma.onnx"])):
        body = "".join(f'"{BUCKET}","{k}","{len(k)}"\n' for k in keys).encode()
        key = f"inventory/data/part-{n}.csv.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(body))
        files.append({"key": key, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()})
    s3.put_object(Bucket=BUCKET, Key="inventory/manifest.json", Body=json.dumps({
        "sourceBucket": BUCKET, "destinationBucket": f"arn:aws:s3:::{BUCKET}", "version": "2016-11-30", "creationTimestamp": "1700000000000",
        "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size", "files": files}).encode())
    reader = {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"},
              "Parameters": {"Bucket": BUCKET, "Key": "inventory/manifest.json"}}
    d = execute({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "End": True, "ItemReader": reader,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Parameters": {"key.$": "$.Key", "size.$": "States.StringToJson($.Size)", "bucket.$": "$.Bucket"}, "End": True}}}}}})
    eq((d["status"], json.loads(d.get("output") or "null")), ("SUCCEEDED", [{"key": k, "size": len(k), "bucket": BUCKET} for k in
                                                                         ("models/a.onnx", "models/b.onnx", "models/c, with comma.onnx")]), f"{d.get('cause')}")
    s3.put_object(Bucket=BUCKET, Key="inventory/data/part-0.csv.gz", Body=b"not gzip")
    d = execute({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": True, "ItemReader": reader, "ItemProcessor": PROCESSOR}}})
    eq((d["status"], d["error"]), ("FAILED", "States.ItemReaderFailed"), "a data file that is not gzip")
    assert "not gzip" in d["cause"], d["cause"]


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


def history(arn):
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def test_a_map_run_and_its_child_executions():
    machine, parent = start({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "Label": "Rows", "ToleratedFailureCount": 1, "MaxConcurrency": 2, "ItemProcessor": PROCESSOR, "End": True,
        "ItemsPath": "$.rows"}}}, execution_input=json.dumps({"rows": [{"id": str(i), "weight": "1", "label": "bad" if i == 3 else "ok"} for i in range(5)]}),
        name="Rows")  # named as the Map's label: the children's records are still apart from the parent's
    d = ended(parent)
    eq(d["status"], "SUCCEEDED", f"{d.get('error')}: {d.get('cause')}")
    eq(json.loads(d["output"])[3], {"Error": "Row.Rejected", "Cause": "label is bad"}, "the tolerated failure's place in the output")
    runs = sfn.list_map_runs(executionArn=parent)["mapRuns"]
    eq(len(runs), 1, "one Map Run")
    run_arn = runs[0]["mapRunArn"]
    child_machine = machine + "/Rows"
    eq((runs[0]["executionArn"], runs[0]["stateMachineArn"]), (parent, child_machine), "the run's execution and its children's machine")
    assert ":mapRun:" in run_arn and "/Rows:" in run_arn, run_arn
    r = sfn.describe_map_run(mapRunArn=run_arn)
    eq((r["status"], r["maxConcurrency"], r["toleratedFailureCount"], r["executionArn"]), ("SUCCEEDED", 2, 1, parent), "the run")
    counts = {k: r["executionCounts"][k] for k in ("pending", "running", "succeeded", "failed", "aborted", "total")}
    eq(counts, {"pending": 0, "running": 0, "succeeded": 4, "failed": 1, "aborted": 0, "total": 5}, "its children")
    eq(r["itemCounts"]["total"], 5, "its items")
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    eq(sorted(c["status"] for c in children), ["FAILED"] + ["SUCCEEDED"] * 4, "ListExecutions by Map Run")
    eq({(c["mapRunArn"], c["itemCount"], c["stateMachineArn"]) for c in children}, {(run_arn, 1, child_machine)}, "each child")
    eq([c["status"] for c in sfn.list_executions(mapRunArn=run_arn, statusFilter="FAILED")["executions"]], ["FAILED"], "filtered")
    failed = next(c for c in children if c["status"] == "FAILED")
    fd = sfn.describe_execution(executionArn=failed["executionArn"])
    eq((fd["mapRunArn"], json.loads(fd["input"])["id"], fd["error"]), (run_arn, "3", "Row.Rejected"), "a child described")
    child_history = [e["type"] for e in history(failed["executionArn"])]
    eq((child_history[0], child_history[-1]), ("ExecutionStarted", "ExecutionFailed"), "a child's own history")
    assert "ChoiceStateEntered" in child_history and "FailStateEntered" in child_history, child_history
    sm = sfn.describe_state_machine_for_execution(executionArn=failed["executionArn"])
    eq((sm["mapRunArn"], sm["label"], json.loads(sm["definition"])["StartAt"]), (run_arn, "Rows", "Score"), "a child's machine")
    parent_history = [e["type"] for e in history(parent)]
    eq([t for t in parent_history if t.startswith("MapRun")], ["MapRunStarted", "MapRunSucceeded"], "the parent's history")
    assert not any(t.startswith("MapIteration") or t.startswith("Choice") for t in parent_history), parent_history
    started = next(e for e in history(parent) if e["type"] == "MapRunStarted")
    eq(started["mapRunStartedEventDetails"]["mapRunArn"], run_arn, "MapRunStarted names the run")
    eq([e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]], [parent], "the machine's own executions only")


def test_more_items_than_one_history_holds():
    # 7 000 items of 4 events each would be 28 000 events in one history (the quota is 25 000):
    # each child's events are its own, and the parent's history stays short.
    _, parent = start({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "End": True, "ResultSelector": {"count.$": "States.ArrayLength($)"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Double", "States": {
            "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($, $)"}, "Next": "Done"}, "Done": {"Type": "Succeed"}}}}}},
        execution_input=json.dumps({"items": list(range(7000))}))
    d = ended(parent, 600)
    eq((d["status"], json.loads(d.get("output") or "null")), ("SUCCEEDED", {"count": 7000}), f"{d.get('error')}: {d.get('cause')}")
    eq(len(history(parent)) < 20, True, "the parent's history")
    r = sfn.describe_map_run(mapRunArn=sfn.list_map_runs(executionArn=parent)["mapRuns"][0]["mapRunArn"])
    eq((r["executionCounts"]["succeeded"], r["itemCounts"]["succeeded"]), (7000, 7000), "every child succeeded")


def test_update_map_run_and_a_stopped_parent():
    activity = sfn.create_activity(name=unique("dmap-work"))["activityArn"]
    waiting = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Work",
               "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}
    _, parent = start({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "MaxConcurrency": 1, "ItemProcessor": waiting, "End": True}}}, execution_input="[1, 2, 3]")
    until("the Map Run", lambda: sfn.list_map_runs(executionArn=parent)["mapRuns"], 60)
    run_arn = sfn.list_map_runs(executionArn=parent)["mapRuns"][0]["mapRunArn"]

    def counts():
        c = sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]
        return c["running"], c["pending"]
    until("one child running", lambda: counts() == (1, 2), 60)
    sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=3, toleratedFailurePercentage=50)
    until("three children running", lambda: counts() == (3, 0), 60)
    r = sfn.describe_map_run(mapRunArn=run_arn)
    eq((r["maxConcurrency"], r["toleratedFailurePercentage"]), (3, 50), "the run's new settings")
    # One child's task answered; then the parent is stopped: the run and the others end ABORTED.
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
    until("one child succeeded", lambda: sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]["succeeded"] == 1, 60)
    # A child stopped by itself ends ABORTED; its Map goes on.
    child = sfn.list_executions(mapRunArn=run_arn, statusFilter="RUNNING")["executions"][0]["executionArn"]
    sfn.stop_execution(executionArn=child)
    eq(sfn.describe_execution(executionArn=child)["status"], "ABORTED", "the stopped child")
    eq(history(child)[-1]["type"], "ExecutionAborted", "its history ends so")
    eq(sfn.describe_execution(executionArn=parent)["status"], "RUNNING", "its parent")
    sfn.stop_execution(executionArn=parent)
    r = sfn.describe_map_run(mapRunArn=run_arn)
    eq((r["status"], r["executionCounts"]["aborted"], r["executionCounts"]["succeeded"]), ("ABORTED", 2, 1), "the stopped run")
    assert "stopDate" in r, r
    eq(sorted(c["status"] for c in sfn.list_executions(mapRunArn=run_arn)["executions"]), ["ABORTED", "ABORTED", "SUCCEEDED"], "its children")
    eq(sum(e["type"] == "ExecutionAborted" for e in history(child)), 1, "the stopped child aborted once")
    try:
        sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=5)
        raise AssertionError("an ended Map Run was updated")
    except sfn.exceptions.ValidationException:
        pass


def test_a_redriven_parent_reruns_only_the_children_that_failed():
    if not hasattr(sfn, "redrive_execution"):  # newer than boto3 1.26's model
        return
    activity = sfn.create_activity(name=unique("dmap-redo"))["activityArn"]
    working = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Work",
               "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}
    _, parent = start({"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemProcessor": working, "End": True}}}, execution_input='["a", "b", "c"]')
    tokens = {}
    while len(tokens) < 3:
        task = sfn.get_activity_task(activityArn=activity)
        if task.get("taskToken"):
            tokens[json.loads(task["input"])] = task["taskToken"]
    run_arn = sfn.list_map_runs(executionArn=parent)["mapRuns"][0]["mapRunArn"]
    for item in ("a", "c"):
        sfn.send_task_success(taskToken=tokens[item], output=json.dumps(item.upper()))
    until("two children succeeded", lambda: sfn.describe_map_run(mapRunArn=run_arn)["executionCounts"]["succeeded"] == 2, 60)
    sfn.send_task_failure(taskToken=tokens["b"], error="Work.Broken", cause="try again")
    d = ended(parent)
    eq((d["status"], d["error"]), ("FAILED", "States.ExceedToleratedFailureThreshold"), "a failed child fails the Map Run")
    eq(sfn.describe_map_run(mapRunArn=run_arn)["status"], "FAILED", "the run")
    succeeded = {c["executionArn"] for c in sfn.list_executions(mapRunArn=run_arn, statusFilter="SUCCEEDED")["executions"]}
    sfn.redrive_execution(executionArn=parent)
    # Only "b" runs again: one more task, for it.
    task = sfn.get_activity_task(activityArn=activity)
    eq(json.loads(task["input"]), "b", "the one task of the redrive")
    sfn.send_task_success(taskToken=task["taskToken"], output='"B"')
    d = ended(parent)
    eq((d["status"], json.loads(d.get("output") or "null")), ("SUCCEEDED", ["A", "B", "C"]), f"the redriven parent: {d.get('cause')}")
    r = sfn.describe_map_run(mapRunArn=run_arn)
    eq((r["status"], r["redriveCount"], r["executionCounts"]["succeeded"], r["executionCounts"]["total"]), ("SUCCEEDED", 1, 3, 3), "the same run, redriven")
    eq({c["executionArn"] for c in sfn.list_executions(mapRunArn=run_arn, redriveFilter="NOT_REDRIVEN")["executions"]}, succeeded, "the others did not run again")
    redriven = sfn.list_executions(mapRunArn=run_arn, redriveFilter="REDRIVEN")["executions"]
    eq(len(redriven), 1, "one child redriven")
    child = [e["type"] for e in history(redriven[0]["executionArn"])]
    eq((child.count("ExecutionRedriven"), child.count("ExecutionFailed"), child[-1]), (1, 1, "ExecutionSucceeded"), "its history goes on")
    types = [e["type"] for e in history(parent)]
    eq((types.count("MapRunStarted"), types.count("MapRunFailed"), types.count("MapRunRedriven"), types[-1]), (1, 1, 1, "ExecutionSucceeded"), "the parent's history")


def test_children_are_logged_as_their_parents_machine_logs():
    logs = client("logs")
    group = unique("/aws/vendedlogs/states/dmap")
    logs.create_log_group(logGroupName=group)
    account = client("sts").get_caller_identity()["Account"]
    arn = sfn.create_state_machine(name=unique("dmap-logged"), roleArn=READER, loggingConfiguration={
        "level": "ALL", "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": f"arn:aws:logs:us-east-1:{account}:log-group:{group}:*"}}]},
        definition=json.dumps({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": True, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}))["stateMachineArn"]
    parent = sfn.start_execution(stateMachineArn=arn, input="[1, 2]")["executionArn"]
    eq(ended(parent)["status"], "SUCCEEDED", "the logged parent")
    children = [c["executionArn"] for c in sfn.list_executions(mapRunArn=sfn.list_map_runs(executionArn=parent)["mapRuns"][0]["mapRunArn"])["executions"]]

    def logged():
        found = {}
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            for e in page["events"]:
                r = json.loads(e["message"])
                found.setdefault(r["execution_arn"], []).append(r["type"])
        return found
    until("each child's events logged", lambda: all(len(logged().get(c, [])) == len(history(c)) for c in children) and parent in logged(), 60)


def test_bad_map_run_requests():
    arn = sfn.create_state_machine(name=unique("dmap"), definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                                   roleArn=READER)["stateMachineArn"]
    prefix = arn.split(":stateMachine:")[0]
    missing = f"{prefix}:mapRun:{arn.split(':')[-1]}/Each:00000000-0000-0000-0000-000000000000"
    for call in (lambda: sfn.describe_map_run(mapRunArn=missing), lambda: sfn.update_map_run(mapRunArn=missing, maxConcurrency=1),
                 lambda: sfn.list_executions(mapRunArn=missing)):
        try:
            call()
            raise AssertionError("a missing Map Run was found")
        except sfn.exceptions.ResourceNotFound:
            pass
    try:
        sfn.describe_map_run(mapRunArn=arn)
        raise AssertionError("a state machine ARN was taken for a Map Run")
    except sfn.exceptions.InvalidArn:
        pass
    try:
        sfn.list_map_runs(executionArn=f"{prefix}:execution:{arn.split(':')[-1]}:nobody")
        raise AssertionError("a missing execution had Map Runs")
    except sfn.exceptions.ExecutionDoesNotExist:
        pass
    try:
        sfn.list_executions(stateMachineArn=arn, mapRunArn=missing)
        raise AssertionError("both a machine and a Map Run were taken")
    except sfn.exceptions.ClientError as e:
        eq(e.response["Error"]["Code"], "ValidationException", "both")


if __name__ == "__main__":
    run(globals())
