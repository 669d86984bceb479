"""AWS's built-in k-means and PCA with an unmodified boto3 (1.43 and Debian's 1.26) against a real
server: training jobs on AWS's own image URIs (…/kmeans:1, …/pca:1) read CSV channels from S3
(text/csv;label_size=0: rows of features only), report AWS's metrics, and their models deploy with
AWS's image named on CreateModel; the endpoints answer as AWS's containers answer, for CSV and for
AWS's JSON record formats. The answers are checked against references computed here, in pure
Python, on the same data: Lloyd's algorithm for k-means, power iteration for PCA."""
import json
import math
import random

from harness import client, eq, execution_role, run, unique, validate_responses

sm = validate_responses(client("sagemaker"))
runtime = client("sagemaker-runtime")
s3, iam = client("s3"), client("iam")
BUCKET = unique("algorithms")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam, s3_actions=("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
# The images the SageMaker SDK's image_uris.retrieve("kmeans" / "pca", "us-east-1") returns.
KMEANS = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
PCA = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
FEATURES_ONLY = "text/csv;label_size=0"


def csv(rows):
    return "".join(",".join(f"{v:.6f}" for v in row) + "\n" for row in rows).encode()


def train(image, hyperparameters, channels, name=None):
    """Uploads each channel's rows, runs the training job to its end and returns the description."""
    from botocore.exceptions import WaiterError
    name = name or unique("job")
    for channel, rows in channels.items():
        s3.put_object(Bucket=BUCKET, Key=f"{name}/{channel}/data.csv", Body=csv(rows))
    sm.create_training_job(
        TrainingJobName=name, RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        HyperParameters=hyperparameters,
        InputDataConfig=[{"ChannelName": channel, "ContentType": FEATURES_ONLY,
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{name}/{channel}"}}}
                         for channel in channels],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{name}/out"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600})
    try:
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    except WaiterError as e:
        assert e.last_response["TrainingJobStatus"] == "Failed", e
    return sm.describe_training_job(TrainingJobName=name)


def deploy(job, image):
    """The job's model on an endpoint, CreateModel naming AWS's algorithm image."""
    name = job["TrainingJobName"]
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "main", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def invoke(endpoint_name, content_type, body, accept=None):
    extra = {"Accept": accept} if accept else {}
    answer = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType=content_type, Body=body, **extra)
    return answer["ContentType"], answer["Body"].read().decode()


def distance2(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b))


def blobs(n, seed):
    """Records around three centers far apart (standard deviation 1), in 4 dimensions."""
    rng = random.Random(seed)
    centers = [(0, 0, 0, 0), (12, 12, 0, 0), (0, 12, 12, -6)]
    return [[c + rng.gauss(0, 1) for c in rng.choice(centers)] for _ in range(n)]


def lloyd(rows, k):
    """The reference: Lloyd's algorithm on the records, from farthest-first seeds, to convergence."""
    centers = [list(rows[0])]
    while len(centers) < k:
        centers.append(list(max(rows, key=lambda r: min(distance2(r, c) for c in centers))))
    for _ in range(100):
        groups = {}
        for r in rows:
            groups.setdefault(nearest(r, centers), []).append(r)
        moved = False
        for c, members in groups.items():
            mean = [sum(m[j] for m in members) / len(members) for j in range(len(rows[0]))]
            moved = moved or distance2(mean, centers[c]) > 1e-12
            centers[c] = mean
        if not moved:
            break
    return centers


def nearest(row, centers):
    return min(range(len(centers)), key=lambda c: distance2(row, centers[c]))


def test_kmeans_trains_on_aws_image_and_answers_as_aws_kmeans():
    rows, test = blobs(600, 1), blobs(150, 2)
    job = train(KMEANS, {"k": "3", "feature_dim": "4", "mini_batch_size": "200", "epochs": "2", "init_method": "kmeans++",
                         "eval_metrics": '["msd","ssd"]'}, {"train": rows, "test": test})
    eq(job["TrainingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    reported = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert {"train:msd", "test:msd", "test:ssd", "train:progress", "train:throughput"} <= set(reported), reported
    eq(reported["train:progress"], 100.0, "progress")
    reference = lloyd(rows, 3)
    reference_msd = sum(min(distance2(r, c) for c in reference) for r in test) / len(test)
    assert abs(reported["test:msd"] - reference_msd) <= 0.01 * reference_msd, (reported, reference_msd)
    assert abs(reported["test:ssd"] - reference_msd * len(test)) <= 0.01 * reference_msd * len(test), (reported, reference_msd)

    endpoint_name = deploy(job, KMEANS)
    content_type, body = invoke(endpoint_name, "text/csv", csv(test), accept="application/json")
    eq(content_type, "application/json", "response type")
    predictions = json.loads(body)["predictions"]
    eq(len(predictions), len(test), "a prediction per record")
    numbering = {}
    for row, p in zip(test, predictions):
        eq(set(p), {"closest_cluster", "distance_to_cluster"}, "AWS's k-means fields")
        theirs = nearest(row, reference)
        # The same clusters as the reference's, numbered as the model numbers them (0, 1, 2).
        eq(numbering.setdefault(p["closest_cluster"], theirs), theirs, f"cluster of {row}")
        # distance_to_cluster: the Euclidean distance to the closest center.
        assert abs(p["distance_to_cluster"] - math.sqrt(distance2(row, reference[theirs]))) <= 0.05, (p, row)
    eq(sorted(numbering), [0, 1, 2], "cluster numbers")

    # AWS's JSON record format gives the same answers; so do CSV and JSON Lines answers.
    def same(answers, what):
        eq(len(answers), 5, what)
        for (cluster, distance), p in zip(answers, predictions[:5]):
            eq(cluster, p["closest_cluster"], what)
            assert abs(distance - p["distance_to_cluster"]) <= 1e-4, (what, distance, p)
    request = json.dumps({"instances": [{"features": row} for row in test[:5]]})
    same([(p["closest_cluster"], p["distance_to_cluster"]) for p in json.loads(invoke(endpoint_name, "application/json", request)[1])["predictions"]],
         "JSON records")
    content_type, body = invoke(endpoint_name, "text/csv", csv(test[:5]), accept="text/csv")
    eq(content_type, "text/csv", "CSV response type")
    same([tuple(float(v) for v in line.split(",")) for line in body.split()], "CSV: closest_cluster,distance_to_cluster")
    content_type, body = invoke(endpoint_name, "text/csv", csv(test[:5]), accept="application/jsonlines")
    same([(r["closest_cluster"], r["distance_to_cluster"]) for r in map(json.loads, filter(None, body.split("\n")))], "JSON Lines")
    sm.delete_endpoint(EndpointName=endpoint_name)


def correlated(n, seed):
    """Records: three latent factors of standard deviations 6, 2 and 0.5 mixed into 5 features."""
    mixing = random.Random(7)
    a = [[mixing.gauss(0, 1) for _ in range(3)] for _ in range(5)]
    mean = [10, -5, 3, 0, 1]
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        z = [s * rng.gauss(0, 1) for s in (6, 2, 0.5)]
        rows.append([mean[j] + sum(a[j][f] * z[f] for f in range(3)) + 0.05 * rng.gauss(0, 1) for j in range(5)])
    return rows


def principal_components(rows, count):
    """The reference: the covariance's leading eigenvectors by power iteration with deflation."""
    d = len(rows[0])
    mean = [sum(r[j] for r in rows) / len(rows) for j in range(d)]
    m = [[sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in rows) for j in range(d)] for i in range(d)]
    components = []
    for _ in range(count):
        v = [1.0 + 0.1 * j for j in range(d)]
        for _ in range(1000):
            w = [sum(m[i][j] * v[j] for j in range(d)) for i in range(d)]
            norm = math.sqrt(sum(x * x for x in w))
            v = [x / norm for x in w]
        value = sum(v[i] * sum(m[i][j] * v[j] for j in range(d)) for i in range(d))
        m = [[m[i][j] - value * v[i] * v[j] for j in range(d)] for i in range(d)]
        components.append(v)
    return mean, components


def test_pca_trains_on_aws_image_and_answers_as_aws_pca():
    rows, test = correlated(800, 3), correlated(100, 4)
    job = train(PCA, {"feature_dim": "5", "num_components": "2", "mini_batch_size": "100"}, {"train": rows})
    eq(job["TrainingJobStatus"], "Completed", f"status ({job.get('FailureReason')})")
    eq(sorted(m["MetricName"] for m in job["FinalMetricDataList"]), ["train:progress", "train:throughput"], "PCA's metrics")

    endpoint_name = deploy(job, PCA)
    content_type, body = invoke(endpoint_name, "text/csv", csv(test), accept="application/json")
    eq(content_type, "application/json", "response type")
    projections = [p["projection"] for p in json.loads(body)["projections"]]
    eq({len(p) for p in projections}, {2}, "two components per record")
    mean, components = principal_components(rows, 2)
    # AWS's order: by increasing variance, the most significant component last; up to sign.
    for c, component in ((0, components[1]), (1, components[0])):
        ours = [p[c] for p in projections]
        theirs = [sum((r[j] - mean[j]) * component[j] for j in range(5)) for r in test]
        sign = 1 if sum(x * y for x, y in zip(ours, theirs)) > 0 else -1
        worst = max(abs(x - sign * y) / (1 + abs(y)) for x, y in zip(ours, theirs))
        assert worst <= 2e-3, (c, worst)

    # AWS's JSON record formats: {"features": [...]} and {"data": {"features": {"values": [...]}}}.
    request = json.dumps({"instances": [{"features": test[0]}, {"data": {"features": {"values": test[1]}}}]})
    answered = [p["projection"] for p in json.loads(invoke(endpoint_name, "application/json", request, accept="application/json")[1])["projections"]]
    for got, expected in zip(answered, projections[:2]):
        assert max(abs(x - y) for x, y in zip(got, expected)) <= 1e-4, (got, expected)
    content_type, body = invoke(endpoint_name, "text/csv", csv(test[:2]), accept="application/jsonlines")
    eq([list(json.loads(line)) for line in body.split("\n") if line], [["projection"], ["projection"]], "JSON Lines records")
    sm.delete_endpoint(EndpointName=endpoint_name)


def test_bad_hyperparameters_fail_the_job_naming_them():
    # strata-* names mean the same algorithms.
    job = train("strata-kmeans:latest", {"feature_dim": "4"}, {"train": blobs(50, 5)})
    eq((job["TrainingJobStatus"], job["FailureReason"]), ("Failed", "ClientError: Missing required hyperparameter: 'k'"), "k-means without k")
    job = train("strata-pca:latest", {"feature_dim": "5", "num_components": "9", "mini_batch_size": "10"}, {"train": correlated(50, 6)})
    eq(job["TrainingJobStatus"], "Failed", "PCA with more components than features")
    assert job["FailureReason"].startswith("ClientError: Hyperparameter 'num_components': 9 is more than feature_dim (5)"), job["FailureReason"]
    job = train(KMEANS, {"k": "3", "feature_dim": "5"}, {"train": blobs(50, 7)})
    eq(job["TrainingJobStatus"], "Failed", "feature_dim not the data's")
    assert "'feature_dim': 5 does not match the data of channel 'train', which has 4 features" in job["FailureReason"], job["FailureReason"]


run(globals())
