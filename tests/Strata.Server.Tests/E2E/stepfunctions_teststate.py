"""Step Functions TestState end to end with an unmodified boto3 1.43 and the aws CLI v1 (Debian's
boto3 1.26 and aws CLI v2.9 predate TestState: their models have no such operation). A Task without
a mock really calls its service as the given role; a mock stands in for a Task's, Map's or
Parallel's work; bad requests get Step Functions' errors."""
import json
import os
import subprocess

# TestState's model puts "sync-" before the host, which an IP address does not take; `strata env`
# exports this for the same reason. botocore reads it when a client is made.
os.environ["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"

from harness import client, endpoint, eq, expect_error, iam_user, run, states_role, unique, validate_responses  # noqa: E402

sfn = validate_responses(client("stepfunctions"))
iam, s3 = client("iam"), client("s3")
BUCKET = unique("teststate")
s3.create_bucket(Bucket=BUCKET)


def role(allowed):
    return states_role(iam, allowed)


WRITER = role(["s3:PutObject"])
NOBODY = role([])


def test_a_pass_state_shows_each_step_of_its_data_flow():
    out = sfn.test_state(definition=json.dumps({"Type": "Pass", "InputPath": "$.in", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
                                                "ResultPath": "$.r", "Next": "After"}),
                         input=json.dumps({"in": {"n": 21}}), inspectionLevel="DEBUG")
    eq((out["status"], out["nextState"], json.loads(out["output"])), ("SUCCEEDED", "After", {"in": {"n": 21}, "r": {"doubled": 42}}), "pass: ResultPath places into the raw input")
    d = out["inspectionData"]
    eq((json.loads(d["input"]), json.loads(d["afterInputPath"]), json.loads(d["afterParameters"])),
       ({"in": {"n": 21}}, {"n": 21}, {"doubled": 42}), "inspection")
    eq("inspectionData" in sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True})), False, "INFO shows no inspection data")


def test_a_state_of_a_whole_machine_a_choice_and_a_wait_that_does_not_wait():
    machine = {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.auc", "NumericGreaterThanEquals": 0.8, "Next": "Deploy"}], "Default": "Stop"},
        "Deploy": {"Type": "Wait", "Seconds": 31536000, "Next": "Stop"},
        "Stop": {"Type": "Succeed"}}}
    good = sfn.test_state(definition=json.dumps(machine), stateName="Check", input=json.dumps({"auc": 0.91}))
    eq((good["status"], good["nextState"]), ("SUCCEEDED", "Deploy"), "choice")
    eq(sfn.test_state(definition=json.dumps(machine), stateName="Check", input=json.dumps({"auc": 0.5}))["nextState"], "Stop", "default")
    waited = sfn.test_state(definition=json.dumps(machine), stateName="Deploy", input="{}")
    eq((waited["status"], waited["nextState"]), ("SUCCEEDED", "Stop"), "a year's wait answers at once")
    failed = sfn.test_state(definition=json.dumps({"Type": "Fail", "Error": "Model.TooWeak", "Cause": "auc below 0.8"}))
    eq((failed["status"], failed["error"], failed["cause"]), ("FAILED", "Model.TooWeak", "auc below 0.8"), "fail")


def test_a_task_without_a_mock_calls_its_service_as_the_role():
    key = unique("written") + ".json"
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Key": key, "Body.$": "States.JsonToString($)"}, "ResultSelector": {"etag.$": "$.ETag"}, "End": True}
    out = sfn.test_state(definition=json.dumps(task), roleArn=WRITER, input=json.dumps({"auc": 0.9}), inspectionLevel="DEBUG")
    eq(out["status"], "SUCCEEDED", f"put as the role: {out}")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    eq(json.loads(body), {"auc": 0.9}, "the object was really written")
    eq(json.loads(out["output"])["etag"], s3.head_object(Bucket=BUCKET, Key=key)["ETag"], "its ETag")
    denied = sfn.test_state(definition=json.dumps(task), roleArn=NOBODY, input="{}")
    eq((denied["status"], denied["error"]), ("FAILED", "S3.AccessDeniedException"), "a role without s3:PutObject")


def test_a_mock_stands_in_and_the_retrier_count_decides_retriable_or_caught():
    task = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "Parameters": {"TrainingJobName.$": "$.name"},
            "Retry": [{"ErrorEquals": ["SageMaker.AmazonSageMakerException"], "IntervalSeconds": 10, "BackoffRate": 2, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify"}], "ResultPath": "$.job", "Next": "Evaluate"}
    ok = sfn.test_state(definition=json.dumps(task), input=json.dumps({"name": "nightly"}),
                        mock={"result": json.dumps({"TrainingJobStatus": "Completed"})}, inspectionLevel="DEBUG")
    eq((ok["status"], ok["nextState"], json.loads(ok["output"])), ("SUCCEEDED", "Evaluate", {"name": "nightly", "job": {"TrainingJobStatus": "Completed"}}),
       "mocked result")
    eq(json.loads(ok["inspectionData"]["afterParameters"]), {"TrainingJobName": "nightly"}, "the parameters it would have sent")
    error = {"errorOutput": {"error": "SageMaker.AmazonSageMakerException", "cause": "capacity"}}
    first = sfn.test_state(definition=json.dumps(task), input=json.dumps({"name": "n"}), mock=error, inspectionLevel="DEBUG")
    eq((first["status"], first["inspectionData"]["errorDetails"]), ("RETRIABLE", {"retryIndex": 0, "retryBackoffIntervalSeconds": 10}), "first try")
    second = sfn.test_state(definition=json.dumps(task), input=json.dumps({"name": "n"}), mock=error, stateConfiguration={"retrierRetryCount": 1}, inspectionLevel="DEBUG")
    eq(second["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"], 20, "backed off")
    spent = sfn.test_state(definition=json.dumps(task), input=json.dumps({"name": "n"}), mock=error, stateConfiguration={"retrierRetryCount": 2}, inspectionLevel="DEBUG")
    eq((spent["status"], spent["nextState"], json.loads(spent["output"])["error"]["Error"], spent["inspectionData"]["errorDetails"]),
       ("CAUGHT_ERROR", "Notify", "SageMaker.AmazonSageMakerException", {"catchIndex": 0}), "retries spent, caught")
    # A bad path is the state's own error, before any mock: States.Runtime, which no Catch takes.
    bad = sfn.test_state(definition=json.dumps(task), input="{}", mock=error)
    eq((bad["status"], bad["error"]), ("FAILED", "States.Runtime"), "a missing path")
    assert "'$.name'" in bad["cause"], bad["cause"]


def test_a_mocked_map_and_parallel():
    mapped = {"Type": "Map", "ItemsPath": "$.models", "ItemSelector": {"model.$": "$$.Map.Item.Value", "at.$": "$$.Map.Item.Index"},
              "ItemProcessor": {"StartAt": "Score", "States": {"Score": {"Type": "Pass", "End": True}}}, "End": True}
    out = sfn.test_state(definition=json.dumps(mapped), input=json.dumps({"models": ["a", "b"]}), mock={"result": "[0.7, 0.9]"}, inspectionLevel="DEBUG")
    eq((out["status"], json.loads(out["output"])), ("SUCCEEDED", [0.7, 0.9]), "map")
    eq(json.loads(out["inspectionData"]["afterItemSelector"]), [{"model": "a", "at": 0}, {"model": "b", "at": 1}], "its items as selected")
    parallel = {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}], "End": True}
    failed = sfn.test_state(definition=json.dumps(parallel), mock={"errorOutput": {"error": "Branch.Failed", "cause": "b"}})
    eq((failed["status"], failed["error"]), ("FAILED", "Branch.Failed"), "parallel")


def test_the_context_and_variables_are_the_tests_own():
    task = {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"execution": "{% $states.context.Execution.Name %}", "threshold": "{% $threshold %}"},
            "Assign": {"score": "{% $states.result.score %}"}, "Output": "{% $states.result.score >= $threshold %}", "End": True}
    out = sfn.test_state(definition=json.dumps(task), mock={"result": json.dumps({"score": 0.93})}, variables=json.dumps({"threshold": 0.8}),
                         context=json.dumps({"Execution": {"Name": "nightly-42"}}), inspectionLevel="DEBUG")
    eq(out["output"], "true", "output")
    eq(json.loads(out["inspectionData"]["afterArguments"]), {"execution": "nightly-42", "threshold": 0.8}, "arguments")
    eq(json.loads(out["inspectionData"]["variables"]), {"threshold": 0.8, "score": 0.93}, "variables after the state")


def test_bad_requests():
    task = json.dumps({"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject", "Parameters": {"Bucket": BUCKET, "Key": "k"}, "End": True})
    expect_error(lambda: sfn.test_state(definition=task), "ValidationException", 400, "roleArn")
    expect_error(lambda: sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True}), mock={"result": "1"}), "ValidationException", 400, "mock")
    expect_error(lambda: sfn.test_state(definition=task, roleArn=WRITER, context="{}"), "ValidationException", 400, "context")
    expect_error(lambda: sfn.test_state(definition=task, mock={"result": "{not json"}), "ValidationException", 400)
    expect_error(lambda: sfn.test_state(definition=task, mock={"result": "1", "errorOutput": {"error": "E"}}), "ValidationException", 400)
    mapped = json.dumps({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True})
    expect_error(lambda: sfn.test_state(definition=mapped), "ValidationException", 400, "Map")
    sync = json.dumps({"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "Parameters": {}, "End": True})
    expect_error(lambda: sfn.test_state(definition=sync, roleArn=WRITER), "ValidationException", 400, ".sync")
    expect_error(lambda: sfn.test_state(definition=json.dumps({"Type": "Nope"})), "InvalidDefinition", 400)
    expect_error(lambda: sfn.test_state(definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}), stateName="B"),
                 "InvalidDefinition", 400)
    expect_error(lambda: sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True}), input="{oops"), "InvalidExecutionInput", 400)
    expect_error(lambda: sfn.test_state(definition=task, roleArn="not-an-arn"), "InvalidArn", 400)
    # IAM: states:TestState to test at all, iam:PassRole to test as a role.
    _, keys = iam_user(iam, "teststate-none", ["iam:GetRole"])
    expect_error(lambda: client("stepfunctions", keys).test_state(definition=json.dumps({"Type": "Pass", "End": True})), "AccessDeniedException", 400)
    _, keys = iam_user(iam, "teststate-nopass", ["states:TestState"])
    tester = client("stepfunctions", keys)
    eq(tester.test_state(definition=json.dumps({"Type": "Pass", "End": True}))["status"], "SUCCEEDED", "allowed to test")
    expect_error(lambda: tester.test_state(definition=task, roleArn=WRITER), "AccessDeniedException", 400, "iam:PassRole")


def test_aws_cli_v1_tests_a_state():
    cli = ["aws", "--endpoint-url", endpoint(), "--output", "json", "stepfunctions", "test-state"]
    out = subprocess.run(cli + ["--definition", json.dumps({"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.check", "Next": "Train"}),
                                "--input", json.dumps({"run": 7}), "--inspection-level", "DEBUG"],
                         capture_output=True, text=True, env=os.environ, check=True).stdout
    answer = json.loads(out)
    eq((answer["status"], answer["nextState"], json.loads(answer["output"])), ("SUCCEEDED", "Train", {"run": 7, "check": {"ok": True}}), "CLI v1")
    mocked = subprocess.run(cli + ["--definition", json.dumps({"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "End": True}),
                                   "--mock", json.dumps({"errorOutput": {"error": "States.Timeout"}})],
                            capture_output=True, text=True, env=os.environ, check=True).stdout
    eq((json.loads(mocked)["status"], json.loads(mocked)["error"]), ("FAILED", "States.Timeout"), "CLI v1 mocked error")


if __name__ == "__main__":
    run(globals())
