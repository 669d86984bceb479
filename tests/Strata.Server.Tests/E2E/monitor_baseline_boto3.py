"""Model Monitor baselines with an unmodified boto3 (1.43 and Debian's 1.26) against a real server:
a processing job with the analyzer image URI the SageMaker Python SDK uses
(image_uris.retrieve("model-monitor", "us-east-1")) and the Environment its
DefaultModelMonitor.suggest_baseline sets reads a CSV (with a header, without one) or JSON lines
from S3 and writes statistics.json and constraints.json as AWS's analyzer does. The statistics
agree with Python's own statistics module on the same data (tolerance 1e-9 relative). A dataset
that does not parse, a missing dataset_format and an empty dataset fail the job saying what to fix."""
import csv
import io
import json
import math
import random
import statistics

from harness import client, eq, execution_role, expect_error, run, unique, validate_responses

sm = validate_responses(client("sagemaker"))
s3, iam = client("s3"), client("iam")
# What the SageMaker Python SDK's DefaultModelMonitor uses in us-east-1.
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
BUCKET = unique("baselines")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
TOLERANCE = 1e-9  # relative, for sum, mean and the population standard deviation

rng = random.Random(18)
ROWS = [{"label": rng.randint(0, 1), "age": rng.randint(18, 90), "balance": round(rng.gauss(1000, 400), 2),
         "state": rng.choice(["CA", "WA", "NY", "TX"]), "score": "" if i % 25 == 0 else round(rng.random() * 10 - 2, 4)}
        for i in range(2000)]
COLUMNS = ["label", "age", "balance", "state", "score"]


def csv_bytes(header=True):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    for row in ROWS:
        writer.writerow([row[c] for c in COLUMNS])
    return out.getvalue().encode()


def suggest_baseline(prefix, dataset_format, environment=None, name=None):
    """create_processing_job as DefaultModelMonitor.suggest_baseline makes it; the job once it ended."""
    from botocore.exceptions import WaiterError
    name = name or unique("baseline-suggestion-job")
    env = {"dataset_format": json.dumps(dataset_format), "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
           "output_path": "/opt/ml/processing/output", "publish_cloudwatch_metrics": "Disabled"}
    if environment is not None:
        env = environment
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=ROLE, AppSpecification={"ImageUri": ANALYZER}, Environment=env,
        ProcessingInputs=[{"InputName": "baseline_dataset_input", "S3Input": {
            "S3Uri": f"s3://{BUCKET}/{prefix}", "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
            "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "monitoring_output", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/results/{name}", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
        StoppingCondition={"MaxRuntimeInSeconds": 1800})
    try:
        sm.get_waiter("processing_job_completed_or_stopped").wait(ProcessingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    except WaiterError as e:
        assert e.last_response["ProcessingJobStatus"] == "Failed", e
    return name, sm.describe_processing_job(ProcessingJobName=name)


def results(name):
    def read(key):
        return json.loads(s3.get_object(Bucket=BUCKET, Key=f"results/{name}/{key}")["Body"].read())
    return read("statistics.json"), read("constraints.json")


def close(actual, expected, what):
    assert math.isclose(actual, expected, rel_tol=TOLERANCE, abs_tol=1e-12), f"{what}: {actual} != {expected}"


def check_numeric(feature, values, what):
    """The job's numbers against Python's statistics module on the same values."""
    stats = feature["numerical_statistics"]
    eq(stats["common"]["num_present"], len(values), f"{what} num_present")
    eq(stats["common"]["num_missing"], len(ROWS) - len(values), f"{what} num_missing")
    close(stats["sum"], math.fsum(values), f"{what} sum")
    close(stats["mean"], statistics.fmean(values), f"{what} mean")
    close(stats["std_dev"], statistics.pstdev(values), f"{what} std_dev")
    eq(stats["min"], min(values), f"{what} min")
    eq(stats["max"], max(values), f"{what} max")
    kll = stats["distribution"]["kll"]
    eq(len(kll["buckets"]), 10, f"{what} buckets")
    eq(kll["buckets"][0]["lower_bound"], min(values), f"{what} first bucket")
    eq(kll["buckets"][-1]["upper_bound"], max(values), f"{what} last bucket")
    eq(sum(b["count"] for b in kll["buckets"]), len(values), f"{what} bucket counts")
    # 2000 values fit in the sketch: its buckets are exact.
    width = (max(values) - min(values)) / 10
    for i, bucket in enumerate(kll["buckets"]):
        inside = [v for v in values if bucket["lower_bound"] <= v < bucket["upper_bound"] or (i == 9 and v == bucket["upper_bound"])]
        eq(bucket["count"], len(inside), f"{what} bucket {i}")
        assert math.isclose(bucket["upper_bound"] - bucket["lower_bound"], width, rel_tol=1e-9), bucket
    eq(kll["sketch"]["parameters"], {"c": 0.64, "k": 2048.0}, f"{what} sketch parameters")
    eq(sorted(kll["sketch"]["data"][0]), sorted(values), f"{what} sketch data")


def test_csv_with_header():
    s3.put_object(Bucket=BUCKET, Key="train/with-header/train.csv", Body=csv_bytes())
    name, job = suggest_baseline("train/with-header", {"csv": {"header": True, "output_columns_position": "START"}})
    eq(job["ProcessingJobStatus"], "Completed", job.get("FailureReason", ""))
    eq(job["AppSpecification"]["ImageUri"], ANALYZER)
    stats, constraints = results(name)
    eq(stats["version"], 0.0)
    eq(stats["dataset"], {"item_count": len(ROWS)})
    features = {f["name"]: f for f in stats["features"]}
    eq([f["name"] for f in stats["features"]], COLUMNS)
    eq({n: f["inferred_type"] for n, f in features.items()},
       {"label": "Integral", "age": "Integral", "balance": "Fractional", "state": "String", "score": "Fractional"})
    for column in ("label", "age", "balance", "score"):
        check_numeric(features[column], [float(r[column]) for r in ROWS if r[column] != ""], column)
    state = features["state"]["string_statistics"]
    counts = {}
    for r in ROWS:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    eq(state["distinct_count"], 4.0)
    eq({b["value"]: b["count"] for b in state["distribution"]["categorical"]["buckets"]}, counts)

    eq(constraints["version"], 0.0)
    by_name = {f["name"]: f for f in constraints["features"]}
    eq(by_name["label"]["completeness"], 1.0)
    eq(by_name["score"]["completeness"], sum(1 for r in ROWS if r["score"] != "") / len(ROWS))
    eq(by_name["age"]["num_constraints"], {"is_non_negative": True})
    eq(by_name["score"]["num_constraints"], {"is_non_negative": False})
    eq(by_name["state"]["string_constraints"]["domains"], ["CA", "NY", "TX", "WA"])
    eq(constraints["monitoring_config"]["distribution_constraints"],
       {"perform_comparison": "Enabled", "comparison_threshold": 0.1, "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1, "categorical_drift_method": "LInfinity"})


def test_csv_without_header_and_json_lines():
    s3.put_object(Bucket=BUCKET, Key="train/no-header/part-1.csv", Body=csv_bytes(header=False))
    name, job = suggest_baseline("train/no-header", {"csv": {"header": False}},
                                 name=None)
    eq(job["ProcessingJobStatus"], "Completed", job.get("FailureReason", ""))
    stats, _ = results(name)
    eq([f["name"] for f in stats["features"]], ["_c0", "_c1", "_c2", "_c3", "_c4"])
    check_numeric(stats["features"][1], [float(r["age"]) for r in ROWS], "_c1")

    lines = "\n".join(json.dumps({k: (None if v == "" else v) for k, v in r.items()}) for r in ROWS).encode()
    s3.put_object(Bucket=BUCKET, Key="train/jsonl/data.jsonl", Body=lines)
    env = {"dataset_format": json.dumps({"json": {"lines": True}}), "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
           "output_path": "/opt/ml/processing/output", "publish_cloudwatch_metrics": "Disabled", "categorical_drift_method": "ChiSquared"}
    name, job = suggest_baseline("train/jsonl", None, environment=env)
    eq(job["ProcessingJobStatus"], "Completed", job.get("FailureReason", ""))
    stats, constraints = results(name)
    features = {f["name"]: f for f in stats["features"]}
    check_numeric(features["balance"], [r["balance"] for r in ROWS], "json balance")
    check_numeric(features["score"], [r["score"] for r in ROWS if r["score"] != ""], "json score")
    eq(constraints["monitoring_config"]["distribution_constraints"]["categorical_drift_method"], "ChiSquared")


def test_bad_input_fails_saying_what_to_fix():
    s3.put_object(Bucket=BUCKET, Key="bad/unclosed/train.csv", Body=b"a,b\n1,\"2\n3,4\n")
    _, job = suggest_baseline("bad/unclosed", {"csv": {"header": True}})
    eq(job["ProcessingJobStatus"], "Failed")
    eq(job["FailureReason"], "ClientError: /opt/ml/processing/input/baseline_dataset_input/train.csv: "
                             "the quoted field that starts on line 2 is not closed before the end of the file")

    s3.put_object(Bucket=BUCKET, Key="bad/json/data.jsonl", Body=b'{"a": 1}\n[1, 2]\n')
    _, job = suggest_baseline("bad/json", {"json": {"lines": True}})
    eq(job["ProcessingJobStatus"], "Failed")
    assert job["FailureReason"].startswith("ClientError: line 2 of /opt/ml/processing/input/baseline_dataset_input/data.jsonl is a JSON array, not an object"), job["FailureReason"]

    s3.put_object(Bucket=BUCKET, Key="bad/empty/train.csv", Body=b"a,b\n")
    _, job = suggest_baseline("bad/empty", {"csv": {"header": True}})
    eq(job["ProcessingJobStatus"], "Failed")
    assert job["FailureReason"].startswith("ClientError: the dataset under /opt/ml/processing/input/baseline_dataset_input has no records"), job["FailureReason"]

    s3.put_object(Bucket=BUCKET, Key="bad/no-format/train.csv", Body=b"a,b\n1,2\n")
    _, job = suggest_baseline("bad/no-format", None, environment={"dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
                                                                    "output_path": "/opt/ml/processing/output"})
    eq(job["ProcessingJobStatus"], "Failed")
    assert job["FailureReason"].startswith("ClientError: the environment variable dataset_format is missing"), job["FailureReason"]
    # A failed analysis uploads nothing.
    eq(s3.list_objects_v2(Bucket=BUCKET, Prefix="results/" + job["ProcessingJobName"]).get("KeyCount"), 0)

    # The analyzer is Strata's own program: no entry point of the job's.
    expect_error(lambda: sm.create_processing_job(
        ProcessingJobName=unique("job"), RoleArn=ROLE, AppSpecification={"ImageUri": ANALYZER, "ContainerEntrypoint": ["python3", "/opt/ml/processing/x.py"]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 5}}),
        "ValidationException", message="ContainerEntrypoint is not supported")


run(globals())
