"""Helper for TuningRestartTests (boto3 against a server the test kills and starts again).
  start        registers tune_container.py and starts a tuning job (Random, two configurations,
               one training job at a time) whose first training job waits to be stopped
               (mode wait_once); waits until it trains; prints the tuning job's name
  check NAME   after the restart: the interrupted training job failed (the server restarted; it
               had no checkpoints), the tuning job tried its configuration again in a new training
               job, went on with the second, and completed; prints ok"""
import os
import re
import subprocess
import sys
import uuid

from harness import client, execution_role, unique, until

sm, s3 = client("sagemaker"), client("s3")
BUCKET = "tuning-restart"


def trials(name):
    return sorted(sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, MaxResults=100)["TrainingJobSummaries"],
                  key=lambda t: t["TrainingJobName"])


def start():
    image = f"registry.example.com/team/tuner:{unique('v')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                    sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tune_container.py")], check=True, capture_output=True)
    s3.create_bucket(Bucket=BUCKET)
    role = execution_role(client("iam"), s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    name = unique("restart")
    # The container leaves the marker where this script sees it: not in /tmp, which is its own in
    # the sandbox, but in a directory beside this script that its unprivileged user may write.
    markers = os.path.join(os.path.dirname(os.path.abspath(__file__)), "markers")
    os.makedirs(markers, exist_ok=True)
    os.chmod(markers, 0o1777)
    marker = os.path.join(markers, f"tuning-restart-{uuid.uuid4().hex}")
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={"Strategy": "Random", "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:loss"},
                                       "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
                                       "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}},
        TrainingJobDefinition={"StaticHyperParameters": {"mode": "wait_once", "marker": marker},
                               "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File",
                                                          "MetricDefinitions": [{"Name": "validation:loss", "Regex": "loss=([0-9.eE+-]+)"}]},
                               "RoleArn": role, "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
                               "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
                               "StoppingCondition": {"MaxRuntimeInSeconds": 600}})

    def first_training():
        jobs = trials(name)
        return len(jobs) == 1 and sm.describe_training_job(TrainingJobName=jobs[0]["TrainingJobName"])["SecondaryStatus"] == "Training" and os.path.exists(marker)
    until("the first training job training", first_training, 60)
    print(name)


def check(name):
    until("the tuning job to complete", lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"] != "InProgress", 120)
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job
    counters = job["TrainingJobStatusCounters"]
    assert (counters["Completed"], counters["RetryableError"], counters["NonRetryableError"]) == (2, 1, 0), counters
    first, again, second = trials(name)
    assert all(re.fullmatch(rf"{name}-00{i}-[0-9a-f]{{8}}", t["TrainingJobName"]) for i, t in zip((1, 2, 3), (first, again, second))), trials(name)
    assert first["TrainingJobStatus"] == "Failed" and "restarted" in first["FailureReason"], first
    assert again["TunedHyperParameters"] == first["TunedHyperParameters"], (first, again)
    assert again["TunedHyperParameters"] != second["TunedHyperParameters"], (again, second)
    assert (again["TrainingJobStatus"], second["TrainingJobStatus"]) == ("Completed", "Completed"), trials(name)
    assert job["BestTrainingJob"]["TrainingJobName"] in (again["TrainingJobName"], second["TrainingJobName"]), job["BestTrainingJob"]
    os.remove(sm.describe_training_job(TrainingJobName=first["TrainingJobName"])["HyperParameters"]["marker"])
    print("ok")


if sys.argv[1] == "start":
    start()
else:
    check(sys.argv[2])
