"""Hyperparameter tuning jobs with an unmodified boto3 (1.43 and Debian's 1.26) against a real
server. A container of one's own (tune_container.py, registered in the image catalogue) whose
objective is a known function of its hyperparameters is tuned by Random and Grid search, so that
every trial's objective and the best one are checked exactly; early stopping (Auto) stops the job
behind the median, Hyperband stops each job at its resource; AWS's own XGBoost image is tuned by
Bayesian search on validation:auc; a tuning job is stopped and deleted; the listings filter, sort
and page; the trials are training jobs like any other (ListTrainingJobs, DescribeTrainingJob with
TuningJobArn and the hyperparameters as strings, the tuning job's tags); and the bad inputs get
AWS's errors. Training jobs are tiny: the machine is slow."""
import os
import re
import subprocess
import sys

from harness import client, eq, execution_role, expect_error, run, unique, until, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam, logs = client("s3"), client("iam"), client("logs")
ACCOUNT = client("sts").get_caller_identity()["Account"]
IMAGE = f"registry.example.com/team/tuner:{unique('v')}"
subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], IMAGE, "--",
                sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tune_container.py")], check=True, capture_output=True)
BUCKET = unique("tuning")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
LOSS = [{"Name": "validation:loss", "Regex": "loss=([0-9.eE+-]+)"}]
# Debian's botocore (1.29) predates RandomSeed and DeleteHyperParameterTuningJob.
HAS_SEED = "RandomSeed" in sm.meta.service_model.shape_for("HyperParameterTuningJobConfig").members
HAS_DELETE = hasattr(sm, "delete_hyper_parameter_tuning_job")
PENALTY = {"a": 0.0, "a2": 0.0, "b": 0.5, "c": 1.0, "z": 5.0}


def expected_loss(hps):
    """tune_container.py's objective."""
    loss = 0.0
    if "x" in hps:
        loss += (float(hps["x"]) - 0.3) ** 2
    if "depth" in hps:
        loss += (int(hps["depth"]) - 4) ** 2 / 10
    if "kind" in hps:
        loss += PENALTY[hps["kind"]]
    return loss


def definition(static=None, image=IMAGE, metrics=LOSS, **extra):
    d = {"StaticHyperParameters": {"epochs": "3", **(static or {})},
         "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File", **({"MetricDefinitions": metrics} if metrics else {})},
         "RoleArn": ROLE, "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
         "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
         "StoppingCondition": {"MaxRuntimeInSeconds": 600}}
    d.update(extra)
    return d


def config(strategy, ranges, max_jobs=None, parallel=2, metric="validation:loss", objective="Minimize", **extra):
    limits = {"MaxParallelTrainingJobs": parallel, **({"MaxNumberOfTrainingJobs": max_jobs} if max_jobs else {})}
    c = {"Strategy": strategy, "HyperParameterTuningJobObjective": {"Type": objective, "MetricName": metric}, "ResourceLimits": limits, "ParameterRanges": ranges}
    c.update(extra)
    return c


def tune(name, cfg, d=None, **extra):
    return sm.create_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, HyperParameterTuningJobConfig=cfg, TrainingJobDefinition=d or definition(), **extra)


def finished(name, seconds=300):
    until(f"{name} to end", lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"]
          in ("Completed", "Failed", "Stopped"), seconds)
    return sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


def trials(name, **kwargs):
    """Every training job of a tuning job, page by page (two at a time)."""
    found, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, MaxResults=2, **kwargs, **({"NextToken": token} if token else {}))
        found += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return found


def epochs_logged(training_job):
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{training_job}/")["logStreams"]
    return sum(1 for s in streams for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=s["logStreamName"])["events"]
               if e["message"].startswith("epoch="))


def counters(job):
    return job["TrainingJobStatusCounters"], job["ObjectiveStatusCounters"]


def test_random_search_finds_the_best_of_its_trials_exactly():
    name = unique("rnd")
    ranges = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Linear"}],
              "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "8"}]}
    arn = tune(name, config("Random", ranges, max_jobs=4, **({"RandomSeed": 7} if HAS_SEED else {})), Tags=[{"Key": "team", "Value": "ml"}])["HyperParameterTuningJobArn"]
    eq(arn, f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:hyper-parameter-tuning-job/{name}", "ARN")
    job = finished(name)
    eq(job["HyperParameterTuningJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(counters(job), ({"Completed": 4, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0},
                       {"Succeeded": 4, "Pending": 0, "Failed": 0}), "counters")
    assert job["HyperParameterTuningEndTime"] >= job["CreationTime"], job
    eq(job["TrainingJobDefinition"]["StaticHyperParameters"], {"epochs": "3", "_tuning_objective_metric": "validation:loss"}, "static hyperparameters")
    eq(job["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"], [{"Name": "depth", "MinValue": "1", "MaxValue": "8", "ScalingType": "Auto"}], "ranges")
    if HAS_SEED:
        eq(job["HyperParameterTuningJobConfig"]["RandomSeed"], 7, "seed")

    summaries = trials(name)
    eq(len(summaries), 4, "four training jobs")
    for t in summaries:
        assert re.fullmatch(rf"{name}-00[1-4]-[0-9a-f]{{8}}", t["TrainingJobName"]), t["TrainingJobName"]
        eq((t["TuningJobName"], t["TrainingJobStatus"], t["ObjectiveStatus"], set(t["TunedHyperParameters"])), (name, "Completed", "Succeeded", {"x", "depth"}), "trial")
        assert 0 <= float(t["TunedHyperParameters"]["x"]) <= 1 and t["TunedHyperParameters"]["depth"] in [str(d) for d in range(1, 9)], t
        metric = t["FinalHyperParameterTuningJobObjectiveMetric"]
        eq(metric["MetricName"], "validation:loss", "objective metric")
        assert abs(metric["Value"] - expected_loss(t["TunedHyperParameters"])) < 1e-5, (metric, t["TunedHyperParameters"])
        described = sm.describe_training_job(TrainingJobName=t["TrainingJobName"])
        eq((described["TuningJobArn"], described["HyperParameters"]),
           (arn, {"epochs": "3", "_tuning_objective_metric": "validation:loss", **t["TunedHyperParameters"]}), "the training job")
        eq(sm.list_tags(ResourceArn=described["TrainingJobArn"])["Tags"], [{"Key": "team", "Value": "ml"}], "the tuning job's tags")
    best = min(summaries, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    eq(job["BestTrainingJob"]["TrainingJobName"], best["TrainingJobName"], "the best training job")
    eq(job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], "its objective")

    listed = sm.list_training_jobs(NameContains=name, MaxResults=100)["TrainingJobSummaries"]
    eq(sorted(j["TrainingJobName"] for j in listed), sorted(t["TrainingJobName"] for t in summaries), "ListTrainingJobs shows them")
    eq(sm.list_tags(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "ml"}], "tags")
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials(name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending")]
    eq(values, sorted(values), "sorted by objective")
    values = [t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials(name, SortBy="FinalObjectiveMetricValue", SortOrder="Descending")]
    eq(values, sorted(values, reverse=True), "sorted by objective, descending")
    eq([t["TrainingJobName"] for t in trials(name)], sorted(t["TrainingJobName"] for t in summaries), "by name by default")
    eq(len(trials(name, StatusEquals="Completed")), 4, "StatusEquals")
    eq(trials(name, StatusEquals="Failed"), [], "StatusEquals Failed")


def test_grid_search_tries_every_combination_in_order():
    name = unique("grid")
    # kind a2 costs what a costs: (4, a2) ties with the best, (4, a), which ran first.
    ranges = {"IntegerParameterRanges": [{"Name": "depth", "MinValue": "4", "MaxValue": "5"}], "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b", "a2"]}]}
    tune(name, config("Grid", ranges, parallel=3), definition(static={"x": "0.3"}))
    job = finished(name)
    eq(job["HyperParameterTuningJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(job["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"], 6, "the grid's size")
    summaries = trials(name)
    eq([(t["TunedHyperParameters"]["depth"], t["TunedHyperParameters"]["kind"]) for t in summaries],
       [("4", "a"), ("4", "b"), ("4", "a2"), ("5", "a"), ("5", "b"), ("5", "a2")], "the grid, in order")
    for t in summaries:
        assert abs(t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] - expected_loss({"x": "0.3", **t["TunedHyperParameters"]})) < 1e-5, t
    eq((job["BestTrainingJob"]["TunedHyperParameters"], job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]),
       ({"depth": "4", "kind": "a"}, 0.0), "the best is known exactly")
    by_objective = trials(name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending")
    eq([(t["TunedHyperParameters"]["depth"], t["TunedHyperParameters"]["kind"]) for t in by_objective[:2]], [("4", "a"), ("4", "a2")],
       "equal objectives in the order the trials ran, the best first")
    eq(by_objective[0]["TrainingJobName"], job["BestTrainingJob"]["TrainingJobName"], "the best heads the list sorted by objective")


def test_the_best_objective_beats_the_first_trial():
    """Grid search, one trial at a time, over kinds whose losses are 5.0, 1.0 and 0.0: the first
    trial (z) is the worst, so within its budget of three jobs the tuning job finds an objective
    strictly better than its first trial's. The losses are computed exactly by the container and
    differ by at least 1, so this can never be a tie."""
    name = unique("better")
    tune(name, config("Grid", {"CategoricalParameterRanges": [{"Name": "kind", "Values": ["z", "c", "a"]}]}, parallel=1), definition(static={"epochs": "1"}))
    job = finished(name)
    eq(job["HyperParameterTuningJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(job["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"], 3, "the budget")
    summaries = trials(name)
    first = next(t for t in summaries if t["TrainingJobName"].startswith(f"{name}-001-"))
    eq(first["TunedHyperParameters"], {"kind": "z"}, "the first trial")
    first_value = first["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    best_value = job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert best_value < first_value, (best_value, first_value)
    eq((job["BestTrainingJob"]["TunedHyperParameters"], best_value, first_value), ({"kind": "a"}, 0.0, 5.0), "the best, and the first")


def test_early_stopping_stops_the_job_behind_the_median():
    name = unique("early")
    tune(name, config("Grid", {"CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b", "c", "z"]}]}, parallel=1, TrainingJobEarlyStoppingType="Auto"),
         definition(static={"epochs": "10", "pace": "0.5"}))
    job = finished(name)
    eq(job["HyperParameterTuningJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq((job["TrainingJobStatusCounters"]["Completed"], job["TrainingJobStatusCounters"]["Stopped"]), (3, 1), "three completed, one stopped")
    summaries = trials(name)
    eq([t["TrainingJobStatus"] for t in summaries], ["Completed", "Completed", "Completed", "Stopped"], "kind z stopped")
    stopped = summaries[3]["TrainingJobName"]
    eq(summaries[3]["TunedHyperParameters"], {"kind": "z"}, "the bad one")
    assert 1 <= epochs_logged(stopped) < 10, epochs_logged(stopped)
    eq(epochs_logged(summaries[0]["TrainingJobName"]), 10, "the good ones ran to the end")
    eq(job["BestTrainingJob"]["TunedHyperParameters"], {"kind": "a"}, "best")


def test_hyperband_stops_each_job_by_its_resource():
    name = unique("hb")
    cfg = config("Hyperband", {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}, max_jobs=3, parallel=3,
                 StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 3}})
    tune(name, cfg, definition(static={"epochs": "40", "pace": "0.25"}))
    job = finished(name)
    eq(job["HyperParameterTuningJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(job["HyperParameterTuningJobConfig"]["StrategyConfig"], {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 3}}, "strategy config")
    for t in trials(name):
        eq((t["TrainingJobStatus"], t["ObjectiveStatus"]), ("Stopped", "Succeeded"), "stopped with an objective")
        assert 1 <= epochs_logged(t["TrainingJobName"]) < 40, epochs_logged(t["TrainingJobName"])
    assert "BestTrainingJob" in job, job


def test_xgboost_tuned_by_bayesian_search_finds_its_best_auc():
    import random
    rng = random.Random(11)

    def rows(n):
        out = []
        for _ in range(n):
            x = [rng.gauss(0, 1) for _ in range(4)]
            out.append(",".join([str(int(1.5 * x[0] - 2 * x[1] + x[2] * x[3] + rng.gauss(0, 1) > 0))] + [f"{v:.5f}" for v in x]))
        return ("\n".join(out) + "\n").encode()
    prefix = unique("xgb")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train/train.csv", Body=rows(300))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/validation/validation.csv", Body=rows(150))
    name = unique("xgb")
    ranges = {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5"}],
              "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "5"}]}
    channels = [{"ChannelName": c, "ContentType": "text/csv", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/{c}"}}}
                for c in ("train", "validation")]
    d = definition(static={"objective": "binary:logistic", "num_round": "10", "eval_metric": "auc"}, image=XGBOOST, metrics=None, InputDataConfig=channels)
    del d["StaticHyperParameters"]["epochs"]
    arn = tune(name, config("Bayesian", ranges, max_jobs=5, parallel=2, metric="validation:auc", objective="Maximize"), d)["HyperParameterTuningJobArn"]
    job = finished(name, 600)
    eq(job["HyperParameterTuningJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(counters(job)[0]["Completed"], 5, "five training jobs")
    summaries = sorted(trials(name), key=lambda t: t["TrainingJobName"])
    aucs = {}
    for t in summaries:
        described = sm.describe_training_job(TrainingJobName=t["TrainingJobName"])
        eq(described["TuningJobArn"], arn, "TuningJobArn")
        hps = described["HyperParameters"]
        eq({k: hps[k] for k in ("objective", "num_round", "eval_metric", "_tuning_objective_metric")},
           {"objective": "binary:logistic", "num_round": "10", "eval_metric": "auc", "_tuning_objective_metric": "validation:auc"}, "static hyperparameters")
        assert 0.05 <= float(hps["eta"]) <= 0.5 and hps["max_depth"] in ("1", "2", "3", "4", "5"), hps
        reported = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
        eq(t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reported["validation:auc"], "the objective is the job's final validation:auc")
        aucs[t["TrainingJobName"]] = reported["validation:auc"]
    best = job["BestTrainingJob"]
    best_auc = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert all(best_auc >= auc for auc in aucs.values()), (best, aucs)
    assert best_auc >= aucs[summaries[0]["TrainingJobName"]], (best, aucs)
    eq(aucs[best["TrainingJobName"]], best_auc, "the best is one of the trials")
    assert best_auc > 0.7, aucs


def test_stop_and_delete_a_tuning_job():
    name = unique("stop")
    tune(name, config("Random", {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}, max_jobs=4, parallel=2),
         definition(static={"mode": "wait"}))

    def training():
        jobs = trials(name)
        return len(jobs) == 2 and all(sm.describe_training_job(TrainingJobName=j["TrainingJobName"])["SecondaryStatus"] == "Training" for j in jobs)
    until("two training jobs training", training, 120)
    if HAS_DELETE:
        expect_error(lambda: sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name), "ValidationException", message="only a tuning job that has ended")
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    job = finished(name)
    eq(job["HyperParameterTuningJobStatus"], "Stopped", "stopped")
    eq((job["TrainingJobStatusCounters"]["Stopped"], len(trials(name))), (2, 2), "its training jobs stopped, no more launched")
    assert name in [j["HyperParameterTuningJobName"] for j in sm.list_hyper_parameter_tuning_jobs(StatusEquals="Stopped", NameContains=name)["HyperParameterTuningJobSummaries"]]
    expect_error(lambda: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name), "ValidationException", message="status Stopped")
    training_jobs = [t["TrainingJobName"] for t in trials(name)]
    if HAS_DELETE:
        sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        expect_error(lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name), "ResourceNotFound", message=name)
    for t in training_jobs:
        eq(sm.describe_training_job(TrainingJobName=t)["TrainingJobStatus"], "Stopped", "the training jobs stay")


def test_listing_filters_sorts_and_pages():
    prefix = unique("lst")
    one_job = config("Grid", {"CategoricalParameterRanges": [{"Name": "kind", "Values": ["a"]}]}, parallel=1)
    for suffix in ("b", "a"):
        tune(f"{prefix}-{suffix}", one_job)
    for suffix in ("a", "b"):
        finished(f"{prefix}-{suffix}")
    names = [j["HyperParameterTuningJobName"] for j in sm.list_hyper_parameter_tuning_jobs(NameContains=prefix)["HyperParameterTuningJobSummaries"]]
    eq(names, [f"{prefix}-a", f"{prefix}-b"], "by name, ascending, by default")
    page = sm.list_hyper_parameter_tuning_jobs(NameContains=prefix, SortBy="Name", SortOrder="Descending", MaxResults=1)
    eq([j["HyperParameterTuningJobName"] for j in page["HyperParameterTuningJobSummaries"]], [f"{prefix}-b"], "first page")
    page = sm.list_hyper_parameter_tuning_jobs(NameContains=prefix, SortBy="Name", SortOrder="Descending", MaxResults=1, NextToken=page["NextToken"])
    eq([j["HyperParameterTuningJobName"] for j in page["HyperParameterTuningJobSummaries"]], [f"{prefix}-a"], "second page")
    assert "NextToken" not in page, page
    by_time = sm.list_hyper_parameter_tuning_jobs(NameContains=prefix, SortBy="CreationTime", SortOrder="Ascending")["HyperParameterTuningJobSummaries"]
    eq([j["HyperParameterTuningJobName"] for j in by_time], [f"{prefix}-b", f"{prefix}-a"], "by creation time")
    summary = by_time[0]
    eq((summary["Strategy"], summary["HyperParameterTuningJobStatus"], summary["TrainingJobStatusCounters"]["Completed"], summary["ResourceLimits"]["MaxNumberOfTrainingJobs"]),
       ("Grid", "Completed", 1, 1), "summary")
    eq(sm.list_hyper_parameter_tuning_jobs(NameContains=prefix, StatusEquals="InProgress")["HyperParameterTuningJobSummaries"], [], "StatusEquals")
    eq(sm.list_hyper_parameter_tuning_jobs(NameContains=prefix, CreationTimeBefore=summary["CreationTime"])["HyperParameterTuningJobSummaries"], [], "CreationTimeBefore")


def test_bad_inputs():
    x = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}
    xgb = definition(static={"objective": "binary:logistic", "num_round": "5"}, image=XGBOOST, metrics=None)
    expect_error(lambda: tune(unique("bad"), config("Random", x, max_jobs=2, metric="validation:nope", objective="Maximize"), xgb),
                 "ValidationException", message="validation:nope is not a metric of the xgboost algorithm")
    expect_error(lambda: tune(unique("bad"), config("Random", x, max_jobs=2, metric="train:loss")), "ValidationException", message="MetricDefinitions")
    expect_error(lambda: tune(unique("bad"), config("Random", {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "2", "MaxValue": "1"}]}, max_jobs=2)),
                 "ValidationException", message="is greater than its MaxValue")
    many = {"IntegerParameterRanges": [{"Name": f"i{n}", "MinValue": "1", "MaxValue": "2"} for n in range(20)],
            "ContinuousParameterRanges": [{"Name": f"c{n}", "MinValue": "0", "MaxValue": "1"} for n in range(11)]}
    expect_error(lambda: tune(unique("bad"), config("Random", many, max_jobs=2)), "ValidationException", message="the maximum is 30")
    expect_error(lambda: tune(unique("bad"), config("Grid", x)), "ValidationException", message="x is a continuous range")
    expect_error(lambda: tune(unique("bad"), config("Grid", {"CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b"]}]}, max_jobs=3)),
                 "ValidationException", message="must equal the number of combinations")
    expect_error(lambda: tune(unique("bad"), config("Random", x)), "ValidationException", message="MaxNumberOfTrainingJobs is required")
    expect_error(lambda: tune(unique("bad"), config("Random", x, max_jobs=751)), "ResourceLimitExceeded", message="750")
    expect_error(lambda: tune(unique("bad"), config("Random", x, max_jobs=2, parallel=11)), "ResourceLimitExceeded", message="parallel training jobs")
    expect_error(lambda: tune(unique("bad"), config("Random", x, max_jobs=2), definition(static={"x": "1"})), "ValidationException", message="both static and tunable")
    expect_error(lambda: tune(unique("bad"), config("Random", {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]}, max_jobs=2)),
                 "ValidationException", message="Logarithmic scaling")
    expect_error(lambda: tune(unique("bad"), config("Hyperband", x, max_jobs=2), definition(static={"pace": "0"}) | {"StaticHyperParameters": {"pace": "0"}}),
                 "ValidationException", message="needs MaxResource")
    expect_error(lambda: tune(unique("bad"), config("Hyperband", x, max_jobs=2, TrainingJobEarlyStoppingType="Auto")), "ValidationException", message="must be Off")
    expect_error(lambda: tune(unique("bad"), config("Random", x, max_jobs=2),
                              WarmStartConfig={"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}], "WarmStartType": "TransferLearning"}),
                 "ValidationException", message="WarmStartConfig is not supported")
    expect_error(lambda: tune("bad_name", config("Random", x, max_jobs=2)), "ValidationException")
    expect_error(lambda: tune(unique("bad"), config("Random", x, max_jobs=2), definition(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}")),
                 "ValidationException", message="Could not assume role")

    name = unique("dup")
    tune(name, config("Grid", {"CategoricalParameterRanges": [{"Name": "kind", "Values": ["a"]}]}, parallel=1))
    expect_error(lambda: tune(name, config("Grid", {"CategoricalParameterRanges": [{"Name": "kind", "Values": ["a"]}]}, parallel=1)),
                 "ResourceInUse", message="already exists")
    finished(name)

    missing = unique("missing")
    expect_error(lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=missing), "ResourceNotFound", message=f"can't find a tuning job with name {missing}")
    expect_error(lambda: sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=missing), "ResourceNotFound")
    expect_error(lambda: sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=missing), "ResourceNotFound")
    if HAS_DELETE:
        expect_error(lambda: sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=missing), "ValidationException", message=missing)


run(globals())
