"""Hyperparameter tuning on a server whose clock the test moves (harness.py's advance), with boto3
1.43 and 1.26: the tuner reads its training jobs' intermediate objective (here for Hyperband) when
the server's clock says so, and a tuning job's MaxRuntimeInSeconds ends it at its limit, to the
second, stopping its running training jobs, without the test waiting for either."""
import os
import subprocess
import sys

from harness import advance, client, eq, execution_role, run, server_time, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
logs = client("logs")
IMAGE = f"registry.example.com/team/tuner:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tune_container.py")], check=True, capture_output=True)
BUCKET = unique("tuning-clock")
client("s3").create_bucket(Bucket=BUCKET)
ROLE = execution_role(client("iam"), s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
# Debian's botocore (1.29) predates ResourceLimits.MaxRuntimeInSeconds.
HAS_RUNTIME = "MaxRuntimeInSeconds" in sm.meta.service_model.shape_for("ResourceLimits").members


def tune(name, static, limits, **config):
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={"Strategy": "Random", "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:loss"},
                                       "ResourceLimits": limits,
                                       "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}, **config},
        TrainingJobDefinition={"StaticHyperParameters": static,
                               "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                                          "MetricDefinitions": [{"Name": "validation:loss", "Regex": "loss=([0-9.eE+-]+)"}]},
                               "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
                               "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
                               "StoppingCondition": {"MaxRuntimeInSeconds": 3600}})


def trials(name):
    return sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["TrainingJobSummaries"]


def status(name):
    return sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"]


def epochs_logged(training_job):
    if not logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/TrainingJobs")["logGroups"]:
        return 0  # no training job has written a line yet
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{training_job}/")["logStreams"]
    return sum(1 for s in streams for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=s["logStreamName"])["events"]
               if e["message"].startswith("epoch="))


def test_the_tuner_acts_on_the_servers_clock():
    # Hyperband stops each job once it has had MaxResource (3) epochs of its 40, but only when the
    # tuner next reads the jobs' objective, a second later on the server's clock.
    name = unique("hb")
    tune(name, {"epochs": "40", "pace": "0.25"}, {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
         Strategy="Hyperband", StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 3}})
    until("two training jobs past 3 epochs", lambda: len(trials(name)) == 2 and all(epochs_logged(t["TrainingJobName"]) >= 4 for t in trials(name)), 120)
    eq([t["TrainingJobStatus"] for t in trials(name)], ["InProgress", "InProgress"], "not stopped while the clock stands still")
    advance(1)
    until("the tuning job to end", lambda: status(name) != "InProgress", 60)
    eq(status(name), "Completed", "completed")
    for t in trials(name):
        eq(t["TrainingJobStatus"], "Stopped", "stopped by Hyperband")
        assert epochs_logged(t["TrainingJobName"]) < 40, epochs_logged(t["TrainingJobName"])

    if not HAS_RUNTIME:
        return
    name = unique("clock")
    tune(name, {"mode": "wait"}, {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2, "MaxRuntimeInSeconds": 120})

    def training():
        jobs = trials(name)
        return len(jobs) == 2 and all(sm.describe_training_job(TrainingJobName=j["TrainingJobName"])["SecondaryStatus"] == "Training" for j in jobs)
    until("two training jobs training", training, 120)
    created = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["CreationTime"].timestamp()
    advance(created + 115 - server_time())
    eq(status(name), "InProgress", "before its limit")
    advance(10)
    until("the tuning job to end", lambda: status(name) != "InProgress", 60)
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    eq(job["HyperParameterTuningJobStatus"], "Completed", "ended at its limit")
    eq((job["TrainingJobStatusCounters"]["Stopped"], len(trials(name))), (2, 2), "its training jobs stopped, no more launched")
    assert 120 <= (job["HyperParameterTuningEndTime"] - job["CreationTime"]).total_seconds() < 140, job


run(globals())
