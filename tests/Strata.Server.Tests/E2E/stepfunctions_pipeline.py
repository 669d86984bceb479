"""The seed's retraining pipeline (examples/retraining-pipeline.json, as the README runs it) end to
end with an unmodified boto3 against a real server: pre-process (a processing job of
examples/pipeline.py), train (AWS's XGBoost image), score the held-out rows (a batch transform) and
evaluate them (a processing job writing evaluation.json), read the metric back (aws-sdk:s3:getObject
+ States.StringToJson), register the model in a model package group when its AUC is good enough,
and deploy it with updateEndpoint as a second production variant taking 10 % of the traffic of an
endpoint deployed before. A run whose pre-processing fails is caught and published to SNS
(sns:publish), which an HTTP subscriber receives."""
import json
import os
import random
import subprocess
import sys

from harness import client, deploy_regression, eq, execution_role, run, unique, until, validate_responses
from sns_endpoint import Endpoint, subscribe_confirmed


def repo_root():
    here = os.path.dirname(os.path.abspath(__file__))
    while here != "/" and not os.path.exists(os.path.join(here, "Strata.slnx")):
        here = os.path.dirname(here)
    assert here != "/", "the repository root (Strata.slnx) is not above " + __file__
    return here


ROOT = repo_root()
DEFINITION = open(os.path.join(ROOT, "examples", "retraining-pipeline.json")).read()
sfn = validate_responses(client("stepfunctions"))
sm, s3, iam, sns = validate_responses(client("sagemaker")), client("s3"), client("iam"), client("sns")
IMAGE = f"registry.example.com/team/pipeline:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(ROOT, "examples", "pipeline.py")], check=True, capture_output=True)
BUCKET = unique("pipeline")
s3.create_bucket(Bucket=BUCKET)
rng = random.Random(3)
ROWS = []
for _ in range(300):
    x = [rng.gauss(0, 1) for _ in range(3)]
    ROWS.append(f"{int(x[0] - x[1] > 0)}," + ",".join(f"{v:.4f}" for v in x))
s3.put_object(Bucket=BUCKET, Key="raw/rows.csv", Body=("\n".join(ROWS) + "\n").encode())
SAGEMAKER_ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
STATES_ROLE_NAME = unique("pipeline-states")
STATES_ROLE = iam.create_role(RoleName=STATES_ROLE_NAME, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
iam.put_role_policy(RoleName=STATES_ROLE_NAME, PolicyName="pipeline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": [
        "sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
        "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
        "sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
        "sagemaker:CreateModel", "sagemaker:CreateModelPackage", "sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint",
        "s3:GetObject", "sns:Publish", "iam:PassRole"], "Resource": "*"}]}))
MACHINE = sfn.create_state_machine(name=unique("retraining"), definition=DEFINITION, roleArn=STATES_ROLE)["stateMachineArn"]
TOPIC = sns.create_topic(Name=unique("retraining-failures"))["TopicArn"]
SUBSCRIBER = Endpoint()
subscribe_confirmed(sns, TOPIC, SUBSCRIBER)


def start(name, **overrides):
    payload = {"bucket": BUCKET, "sagemakerRole": SAGEMAKER_ROLE, "processingImage": IMAGE, "trainSplit": "0.75", "minAuc": 0.8,
               "modelPackageGroup": "churn", "currentModel": "", "endpoint": "", "topic": TOPIC, **overrides}
    return sfn.start_execution(stateMachineArn=MACHINE, name=name, input=json.dumps(payload))["executionArn"]


def finished(arn, seconds=600):
    until(f"{arn} ends", lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", seconds)
    return sfn.describe_execution(executionArn=arn)


def entered(arn):
    return [e["stateEnteredEventDetails"]["name"] for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            if e["type"].endswith("StateEntered")]


def test_pipeline_trains_evaluates_registers_and_deploys_a_canary():
    sm.create_model_package_group(ModelPackageGroupName="churn")
    endpoint = deploy_regression(s3, sm, BUCKET, SAGEMAKER_ROLE)
    name = unique("run")
    d = finished(start(name, currentModel=endpoint, endpoint=endpoint))
    eq(d["status"], "SUCCEEDED", f"the pipeline ({d.get('error')}: {d.get('cause')})")
    eq(entered(d["executionArn"]), ["Preprocess", "Train", "Create candidate model", "Score held-out rows", "Evaluate", "Read metrics",
                                    "Good enough?", "Register", "Configure canary", "Deploy canary"], "the states it went through")
    output = json.loads(d["output"])
    metrics = output["evaluation"]["metrics"]
    eq(metrics["rows"], 75, "evaluated on the held-out quarter")
    assert metrics["auc"] >= 0.8, metrics
    # What the evaluation job wrote is what the machine read back.
    eq(json.loads(s3.get_object(Bucket=BUCKET, Key=f"runs/{name}/evaluation/evaluation.json")["Body"].read()), metrics, "evaluation.json")
    packages = sm.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    eq([p["ModelPackageArn"] for p in packages], [output["registered"]["modelPackageArn"]], "registered")
    package = sm.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])
    eq((package["ModelApprovalStatus"], package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]),
       ("Approved", output["training"]["modelData"]), "the registered model")
    assert f"AUC {metrics['auc']}" in package["ModelPackageDescription"], package["ModelPackageDescription"]
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    described = sm.describe_endpoint(EndpointName=endpoint)
    eq(described["EndpointConfigName"], f"{name}-canary", "the endpoint's configuration")
    weights = {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}
    eq(weights, {"current": 9.0, "candidate": 1.0}, "10 % of the traffic to the new model")
    runtime = client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(EndpointName=endpoint, TargetVariant="candidate", ContentType="text/csv", Body=b"1.5,-1.0,0.2\n")
    score = float(answer["Body"].read().decode().strip())
    assert score > 0.5, score
    SUBSCRIBER.nothing(0.5)


def test_failing_run_is_caught_and_published_to_sns():
    name = unique("broken")
    # A share that is not a number: the pre-processing job fails, its Catch notifies, the run fails.
    d = finished(start(name, trainSplit="most"), 300)
    eq((d["status"], d.get("error")), ("FAILED", "States.TaskFailed"), "the run")
    eq(entered(d["executionArn"]), ["Preprocess", "Notify failure", "Failed"], "the states it went through")
    headers, body = SUBSCRIBER.next(30)
    message = json.loads(body)
    eq((headers["x-amz-sns-message-type"], message["TopicArn"], message["Subject"]), ("Notification", TOPIC, "Retraining failed"), "notified")
    notice = json.loads(message["Message"])
    eq((notice["execution"], notice["error"]), (d["executionArn"], "States.TaskFailed"), "what failed")
    eq(json.loads(notice["cause"])["ProcessingJobStatus"], "Failed", "the job's description as the cause")
    eq(sm.describe_processing_job(ProcessingJobName=f"{name}-prep")["ProcessingJobStatus"], "Failed", "the job")


run(globals())
