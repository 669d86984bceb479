"""Limits changed with `strata serve --limit NAME=VALUE`, through an unmodified boto3 (1.43 and
Debian's 1.26), on a server started with every limit lowered (LimitsTests.cs): instances-per-variant,
transform-instances and training-instances 1, tuning-training-jobs 2, tuning-parallel-training-jobs 1,
concurrent-tuning-jobs 1. What the limit allows is accepted; one more is ResourceLimitExceeded,
which says the limit's value and the option that changes it."""
import os
import subprocess
import sys

from harness import client, deploy_byoc, eq, execution_role, expect_error, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam = client("s3"), client("iam")
aas = validate_responses(client("application-autoscaling"))
BUCKET = unique("limits")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
TRAINER = f"registry.example.com/team/trainer:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], TRAINER, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_container.py")], check=True, capture_output=True)
LOSS = [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]


def test_instances_per_variant():
    name = deploy_byoc(sm, iam)  # one instance: what the limit allows
    eq(sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]["CurrentInstanceCount"], 1, "instances")
    two = unique("c")
    sm.create_endpoint_config(EndpointConfigName=two, ProductionVariants=[
        {"VariantName": "pair", "ModelName": name, "InitialInstanceCount": 2, "InstanceType": "ml.t2.medium"}])
    e = expect_error(lambda: sm.create_endpoint(EndpointName=unique("ep"), EndpointConfigName=two), "ResourceLimitExceeded", 400,
                     "'ml.t2.medium for endpoint usage' is 1 Instances per production variant, and variant pair asks for 2 Instances")
    assert "strata serve --limit instances-per-variant=N" in e["Error"]["Message"], e["Error"]["Message"]
    expect_error(lambda: sm.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[
        {"VariantName": "main", "DesiredInstanceCount": 2}]), "ResourceLimitExceeded", 400, "is 1 Instances per production variant")
    # Autoscaling may not plan for more than the limit either.
    target = f"endpoint/{name}/variant/main"
    register = dict(ServiceNamespace="sagemaker", ResourceId=target, ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1)
    expect_error(lambda: aas.register_scalable_target(MaxCapacity=2, **register), "ValidationException", 400, "--limit instances-per-variant=N")
    aas.register_scalable_target(MaxCapacity=1, **register)


def test_transform_instances():
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"})
    e = expect_error(lambda: sm.create_transform_job(
        TransformJobName=unique("t"), ModelName=model,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in/"}}},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 2}), "ResourceLimitExceeded", 400,
        "'ml.m5.large for transform job usage' is 1 Instances per transform job, and this one asks for 2 Instances")
    assert "strata serve --limit transform-instances=N" in e["Error"]["Message"], e["Error"]["Message"]


def training(instances):
    return {"AlgorithmSpecification": {"TrainingImage": TRAINER, "TrainingInputMode": "File", "MetricDefinitions": LOSS},
            "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": instances, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}}


def test_training_instances():
    e = expect_error(lambda: sm.create_training_job(TrainingJobName=unique("train"), HyperParameters={"mode": "fail"}, **training(2)),
                     "ResourceLimitExceeded", 400, "'ml.m5.large for training job usage' is 1 Instances per training job, and this one asks for 2 Instances")
    assert "strata serve --limit training-instances=N" in e["Error"]["Message"], e["Error"]["Message"]


def tune(max_jobs, parallel):
    name = unique("tune")[:32]
    d = training(1)
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={"Strategy": "Random", "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": parallel},
                                       "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "train:loss"},
                                       "ParameterRanges": {"IntegerParameterRanges": [{"Name": "x", "MinValue": "1", "MaxValue": "9"}]}},
        TrainingJobDefinition={"StaticHyperParameters": {"mode": "sleep"}, **d})
    return name


def test_tuning_limits():
    e = expect_error(lambda: tune(3, 1), "ResourceLimitExceeded", 400, "the limit of training jobs per hyperparameter tuning job is 2")
    assert "strata serve --limit tuning-training-jobs=N" in e["Error"]["Message"], e["Error"]["Message"]
    e = expect_error(lambda: tune(2, 2), "ResourceLimitExceeded", 400, "the limit of parallel training jobs per hyperparameter tuning job is 1")
    assert "strata serve --limit tuning-parallel-training-jobs=N" in e["Error"]["Message"], e["Error"]["Message"]
    # One tuning job at a time: its training job sleeps until it is stopped.
    running = tune(2, 1)
    try:
        e = expect_error(lambda: tune(1, 1), "ResourceLimitExceeded", 400, "'Number of concurrent hyperparameter tuning jobs' is 1 jobs")
        assert "strata serve --limit concurrent-tuning-jobs=N" in e["Error"]["Message"], e["Error"]["Message"]
    finally:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=running)
        # Stopped at once, though its first training job may still be starting (or not launched yet).
        until("the tuning job stopped", lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=running)[
            "HyperParameterTuningJobStatus"] == "Stopped", 300)


run(globals())
