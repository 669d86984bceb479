"""Real-time hosting end to end with an unmodified boto3: models, endpoint configurations and
endpoints on the SageMaker API, inference on SageMaker Runtime, against real ONNX Runtime workers."""
import datetime
import io
import json
import os
import tarfile
import time

import boto3
from botocore.config import Config

from harness import endpoint, eq, execution_role, expect_error, run, unique, until, validate_responses

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1"
cfg = Config(retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
rt = validate_responses(boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
BUCKET = unique("artifacts")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam)


def artifact(model, key=None, members=None):
    """Uploads models/<model>/model.onnx as s3://BUCKET/<key> (a gzip tar, as SageMaker expects)."""
    key = key or f"{model}/{unique('v')}/model.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, path in (members or {"model.onnx": os.path.join(MODELS, model, "model.onnx")}).items():
            tar.add(path, arcname=name)
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{BUCKET}/{key}"


def deploy(model="classifier", variants=(("a", 1, 1.0),), instance_type="ml.m5.large", url=None, environment=None):
    url = url or artifact(model)
    model_name = unique("m")
    sm.create_model(ModelName=model_name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url, "Environment": environment or {}})
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": v, "ModelName": model_name, "InitialInstanceCount": n, "InstanceType": instance_type, "InitialVariantWeight": w}
        for v, n, w in variants])
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    # Until it is made (InService or Failed): invoking or updating an endpoint still Creating is
    # refused, and on a loaded machine creation takes longer than a test's next step.
    until("the endpoint made", lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "Creating", 60)
    return name, model_name, config


def invoke(name, body, content_type="application/json", **kw):
    r = rt.invoke_endpoint(EndpointName=name, Body=body, ContentType=content_type, **kw)
    return r, r["Body"].read()


def test_deploy_invoke_describe_delete():
    name, model_name, config = deploy(variants=(("main", 2, 1.0),))
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    d = sm.describe_endpoint(EndpointName=name)
    eq(d["EndpointStatus"], "InService", "status")
    eq(d["ProductionVariants"][0]["CurrentInstanceCount"], 2, "instances")
    eq(d["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"], IMAGE, "image")
    assert d["EndpointArn"].endswith(f":endpoint/{name.lower()}"), d["EndpointArn"]
    logs = os.path.join(os.environ["STRATA_DATA_DIR"], "logs", "aws", "sagemaker", "Endpoints", name, "main")
    streams = sorted(os.listdir(logs))
    eq(len(streams), 2, "one log stream per instance")
    with open(os.path.join(logs, streams[0])) as f:
        assert "strata-worker: loaded" in f.read(), "the worker's output is in its log stream"
    r, body = invoke(name, json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2], [0, 0, 6, 5]]}))
    eq(r["InvokedProductionVariant"], "main", "variant header")
    eq(r["ContentType"], "application/json", "content type")
    eq([p["label"] for p in json.loads(body)["predictions"]], ["setosa", "virginica"], "labels")
    r, body = invoke(name, b"5.1,3.5,1.4,0.2\n0,4,0,0\n", "text/csv", Accept="text/csv")
    eq([line.split(",")[0] for line in body.decode().strip().split("\n")], ["setosa", "versicolor"], "csv labels")
    eq(sm.describe_model(ModelName=model_name)["PrimaryContainer"]["Image"], IMAGE, "describe model")
    eq(sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["InstanceType"], "ml.m5.large", "describe config")
    assert name in [e["EndpointName"] for e in sm.list_endpoints(NameContains=name)["Endpoints"]]
    assert model_name in [m["ModelName"] for m in sm.list_models(NameContains=model_name)["Models"]]
    assert config in [c["EndpointConfigName"] for c in sm.list_endpoint_configs(NameContains=config)["EndpointConfigs"]]
    assert name in [e["EndpointName"] for e in sm.list_endpoints(NameContains=name, StatusEquals="InService", SortBy="Name", SortOrder="Ascending")["Endpoints"]]
    described, hour = sm.describe_endpoint(EndpointName=name), datetime.timedelta(hours=1)

    def listed(**bounds):
        return [e["EndpointName"] for e in sm.list_endpoints(NameContains=name, **bounds)["Endpoints"]]
    eq((listed(LastModifiedTimeAfter=described["LastModifiedTime"] + hour), listed(LastModifiedTimeBefore=described["LastModifiedTime"] + hour)), ([], [name]),
       "LastModifiedTimeAfter and Before")
    eq(listed(LastModifiedTimeBefore=described["CreationTime"] - hour), [], "LastModifiedTimeBefore")
    sm.delete_endpoint(EndpointName=name)
    expect_error(lambda: sm.describe_endpoint(EndpointName=name), "ValidationException", 400, "Could not find endpoint")
    expect_error(lambda: invoke(name, b"[[1,2,3,4]]"), "ValidationError", 400, "not found")
    sm.delete_endpoint_config(EndpointConfigName=config)
    sm.delete_model(ModelName=model_name)
    expect_error(lambda: sm.describe_model(ModelName=model_name), "ValidationException", 400, "Could not find model")


def test_dynamic_batching_answers_each_request_its_own():
    """STRATA_MAX_BATCH_SIZE in the model's Environment: concurrent requests to one instance share
    runs of the model (a classifier: its ZipMap probabilities are split back per request too), and
    each answer is the one the model gives the request alone."""
    import concurrent.futures
    url = artifact("classifier")
    model_name = unique("batched")
    sm.create_model(ModelName=model_name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": url, "Environment": {"STRATA_MAX_BATCH_SIZE": "8", "STRATA_MAX_BATCH_DELAY_MS": "20"}})
    sm.create_endpoint_config(EndpointConfigName=model_name, ProductionVariants=[
        {"VariantName": "main", "ModelName": model_name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=model_name, EndpointConfigName=model_name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=model_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    alone, _, _ = deploy(url=url)
    until("the unbatched endpoint in service", lambda: sm.describe_endpoint(EndpointName=alone)["EndpointStatus"] == "InService", 60)
    payloads = [json.dumps({"instances": [[5.1 + i / 10, 3.5, 1.4 + i / 5, 0.2], [0, i / 4, 6 - i / 8, 5]]}) for i in range(24)]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        batched = list(pool.map(lambda b: json.loads(invoke(model_name, b)[1]), payloads))
    expected = [json.loads(invoke(alone, b)[1]) for b in payloads]
    # The same records in a larger run: the same labels, and probabilities equal up to float rounding.
    flat = lambda answers: [(p["label"], sorted(p["probabilities"].items()) if isinstance(p.get("probabilities"), dict) else p.get("probabilities"))
                            for a in answers for p in a["predictions"]]
    eq([label for label, _ in flat(batched)], [label for label, _ in flat(expected)], "every request's labels, as the model gives them alone")
    assert len(flat(batched)) == 48 and all(p for _, p in flat(batched)), batched[0]
    for (_, got), (_, want) in zip(flat(batched), flat(expected)):
        if isinstance(want, list) and want and isinstance(want[0], (list, tuple)):
            assert all(k1 == k2 and abs(v1 - v2) < 1e-6 for (k1, v1), (k2, v2) in zip(got, want)), (got, want)
        elif isinstance(want, list):
            assert all(abs(a - b) < 1e-6 for a, b in zip(got, want)), (got, want)
    logs = os.path.join(os.environ["STRATA_DATA_DIR"], "logs", "aws", "sagemaker", "Endpoints", model_name, "main")
    with open(os.path.join(logs, os.listdir(logs)[0])) as f:
        assert "dynamic batching, up to 8 records, 20 ms" in f.read(), "the worker batches"
    for name in (model_name, alone):
        sm.delete_endpoint(EndpointName=name)


def test_traffic_split_and_target_variant():
    """10 000 requests split 80/20 land within ±2 percentage points of the weights."""
    from concurrent.futures import ThreadPoolExecutor
    name, _, _ = deploy(model="regression", variants=(("heavy", 1, 0.8), ("light", 1, 0.2)))
    client = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=Config(retries={"max_attempts": 1}, max_pool_connections=8))

    def batch(n):
        counts = {"heavy": 0, "light": 0}
        for _ in range(n):
            counts[client.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")["InvokedProductionVariant"]] += 1
        return counts

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(batch, [1250] * 8))
    heavy = sum(r["heavy"] for r in results)
    assert 7800 <= heavy <= 8200, f"heavy got {heavy} of 10000"  # ±2 pp; σ = 40
    for _ in range(20):
        r, _ = invoke(name, b"[[1,2,3,4]]", TargetVariant="light")
        eq(r["InvokedProductionVariant"], "light", "target variant")
    expect_error(lambda: invoke(name, b"[[1,2,3,4]]", TargetVariant="nope"), "ValidationError", 400)


def test_model_errors_carry_the_container_answer():
    name, _, _ = deploy(model="regression")
    e = expect_error(lambda: invoke(name, b"[[1,2,3]]"), "ModelError", 424)
    eq(e["OriginalStatusCode"], 400, "original status")
    assert "[N,4]" in e["OriginalMessage"], e["OriginalMessage"]
    assert e["LogStreamArn"].startswith("arn:aws:logs:"), e["LogStreamArn"]
    expect_error(lambda: invoke(name, b"x" * (6 * 1024 * 1024 + 1)), "ValidationError", 400)


def test_named_inputs_and_types_through_an_endpoint():
    name, _, _ = deploy(model="typed")
    _, body = invoke(name, json.dumps({"inputs": {"ids": [[1, 2]], "names": [["dog"]], "counts": [[3]]}}))
    p = json.loads(body)["predictions"][0]
    eq((p["score"], p["is_known"], p["counts_doubled"]), ([5], [True], [6]), "typed outputs")


def test_malformed_input_is_a_client_error():
    """Input a client's own validation would refuse is checked by the server against the model,
    before authorization: a 400 that says what is wrong, never a 500."""
    loose = validate_responses(boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1",
                                            config=Config(retries={"max_attempts": 1}, parameter_validation=False)))
    # A tag without its value, a missing required member, a name over the model's length.
    expect_error(lambda: loose.create_endpoint(EndpointName=unique("ep"), EndpointConfigName="c", Tags=[{"Key": "a"}]), "ValidationException", 400,
                 "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null")
    expect_error(lambda: loose.create_endpoint(EndpointName=unique("ep")), "ValidationException", 400,
                 "Value null at 'endpointConfigName' failed to satisfy constraint: Member must not be null")
    expect_error(lambda: loose.describe_endpoint(EndpointName="e" * 64), "ValidationException", 400, "Member must have length less than or equal to 63")
    # The model's patterns, over the whole value; a map's keys are reported as AWS reports them.
    expect_error(lambda: loose.describe_endpoint(EndpointName="my_endpoint"), "ValidationException", 400,
                 "Value 'my_endpoint' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
    expect_error(lambda: loose.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "Environment": {"1BAD": "x"}}),
                 "ValidationException", 400, "Value '{1BAD=x}' at 'primaryContainer.environment' failed to satisfy constraint: Map keys must satisfy constraint: "
                 "[Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]")
    # Tags that are not structures at all ("Tags": ["a"]), which no client's serialiser writes:
    # the body is swapped in before it is signed. The body does not match the input's shape.
    body = json.dumps({"EndpointName": unique("ep"), "EndpointConfigName": "c", "Tags": ["a"]}).encode()

    def swap(request, **_):
        request.data = body
    loose.meta.events.register_first("before-sign.sagemaker.CreateEndpoint", swap)
    try:
        expect_error(lambda: loose.create_endpoint(EndpointName="x", EndpointConfigName="c"), "SerializationException", 400, "Tags[0]")
    finally:
        loose.meta.events.unregister("before-sign.sagemaker.CreateEndpoint", swap)


def test_validation_errors():
    url = artifact("regression")
    expect_error(lambda: sm.create_model(ModelName="bad_name!", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url}), "ValidationException", 400)
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
    expect_error(lambda: sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url}), "ValidationException", 400, "already existing")
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "docker.io/library/nginx:latest"}), "ValidationException", 400, "strata-onnx")
    expect_error(lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=[
        {"VariantName": "a", "ModelName": m, "InitialInstanceCount": 1, "InstanceType": "ml.imaginary.huge"}]), "ValidationException", 400, "instanceType")
    expect_error(lambda: sm.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=[
        {"VariantName": "a", "ModelName": "no-such-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]), "ValidationException", 400, "Could not find model")
    expect_error(lambda: sm.create_endpoint(EndpointName=unique("ep"), EndpointConfigName="no-such-config"), "ValidationException", 400, "Could not find endpoint configuration")
    expect_error(lambda: sm.describe_endpoint(EndpointName="no-such-endpoint"), "ValidationException", 400)
    expect_error(lambda: sm.delete_model(ModelName="no-such-model"), "ValidationException", 400)


def failed_reason(url):
    name, _, _ = deploy(url=url)
    d = sm.describe_endpoint(EndpointName=name)
    eq(d["EndpointStatus"], "Failed", "status")
    expect_error(lambda: invoke(name, b"[[1,2,3,4]]"), "ValidationError", 400)
    return d["FailureReason"]


def expect_reason(url, words):
    reason = failed_reason(url)
    assert words in reason, f"expected {words!r} in the FailureReason {reason!r}"


def test_execution_roles():
    """SageMaker acts as the model's execution role, never as root: it must trust SageMaker, the
    caller must be allowed to pass it, and it must be allowed to read the artifact."""
    url = artifact("regression")
    missing = f"arn:aws:iam::{ROLE.split(':')[4]}:role/{unique('missing')}"
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=missing, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url}),
                 "ValidationException", 400, f"Could not assume role {missing}")
    untrusting = unique("r")
    iam.create_role(RoleName=untrusting, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=f"arn:aws:iam::{ROLE.split(':')[4]}:role/{untrusting}",
                                         PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url}), "ValidationException", 400, "allows principal 'sagemaker.amazonaws.com'")
    # A role that may read another bucket only: the endpoint fails, and says exactly why.
    narrow = execution_role(iam, "arn:aws:s3:::some-other-bucket/*")
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=narrow, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{"VariantName": "a", "ModelName": m, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    d = sm.describe_endpoint(EndpointName=name)
    for _ in range(50):
        if d["EndpointStatus"] != "Creating":
            break
        time.sleep(0.1)
        d = sm.describe_endpoint(EndpointName=name)
    eq(d["EndpointStatus"], "Failed", "status")
    resource = "arn:aws:s3:::" + url[len("s3://"):]
    for words in ("s3:GetObject", narrow, resource):
        assert words in d["FailureReason"], f"expected {words!r} in {d['FailureReason']!r}"
    # A user may create models only with roles it is allowed to pass to SageMaker.
    user = unique("u")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="sm", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}))
    k = iam.create_access_key(UserName=user)["AccessKey"]
    theirs = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg, aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])
    expect_error(lambda: theirs.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url}),
                 "AccessDeniedException", 400, "iam:PassRole")
    iam.put_user_policy(UserName=user, PolicyName="pass", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE, "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}]}))
    theirs.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})


def wait_settled(name):
    for _ in range(100):
        d = sm.describe_endpoint(EndpointName=name)
        if d["EndpointStatus"] != "Creating":
            return d
        time.sleep(0.1)
    return d


def test_encrypted_artifacts_are_read_as_the_role():
    """An SSE-KMS artifact deploys when the role may decrypt it, and fails naming kms:Decrypt,
    the role and the key when it may not."""
    kms = boto3.client("kms", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    key = kms.create_key()["KeyMetadata"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, "regression", "model.onnx"), arcname="model.onnx")
    object_key = f"encrypted/{unique('v')}/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=object_key, Body=buffer.getvalue(), ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    url = f"s3://{BUCKET}/{object_key}"
    name, _, _ = deploy(url=url)
    wait_in_service(name)
    invoke(name, b"[[1,2,3,4]]")
    no_kms = execution_role(iam, kms_decrypt=False)
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=no_kms, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{"VariantName": "a", "ModelName": m, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    failing = unique("ep")
    sm.create_endpoint(EndpointName=failing, EndpointConfigName=config)
    d = wait_settled(failing)
    eq(d["EndpointStatus"], "Failed", "status")
    for words in ("kms:Decrypt", no_kms, key["Arn"]):
        assert words in d["FailureReason"], f"expected {words!r} in {d['FailureReason']!r}"


def test_resource_limit_and_random_routing():
    import botocore
    url = artifact("regression")
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
    wide = unique("c")
    sm.create_endpoint_config(EndpointConfigName=wide, ProductionVariants=[
        {"VariantName": "a", "ModelName": m, "InitialInstanceCount": 33, "InstanceType": "ml.m5.large"}])
    expect_error(lambda: sm.create_endpoint(EndpointName=unique("ep"), EndpointConfigName=wide), "ResourceLimitExceeded", 400)
    if tuple(int(x) for x in botocore.__version__.split(".")[:2]) < (1, 31):
        return  # RoutingConfig arrived in botocore 1.31
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "r", "ModelName": m, "InitialInstanceCount": 2, "InstanceType": "ml.m5.large", "RoutingConfig": {"RoutingStrategy": "RANDOM"}}])
    eq(sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["RoutingConfig"], {"RoutingStrategy": "RANDOM"}, "routing config kept")
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    wait_in_service(name)
    for _ in range(10):
        invoke(name, b"[[1,2,3,4]]")


def test_network_isolation():
    """EnableNetworkIsolation: the container runs in a network namespace of its own, reached only
    through a Unix socket; its code cannot open a connection to anything, not even this server."""
    import subprocess
    import sys
    image = f"registry.example.com/team/probe:{unique('v')}"
    server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "byoc_server.py")
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--", sys.executable, server],
                   check=True, capture_output=True)
    url = artifact("regression")
    target = endpoint().split("//")[1]  # this server's own port, reachable from any normal process

    # A key the model's Environment carries: its container sees it, no other process's command line shows it.
    greeting = unique("token-value")

    def deploy_probe(isolated, image=image):
        m = unique("m")
        sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, EnableNetworkIsolation=isolated,
                        PrimaryContainer={"Image": image, "ModelDataUrl": url, "Environment": {"GREETING": greeting}})
        eq(sm.describe_model(ModelName=m)["EnableNetworkIsolation"], isolated, "model")
        config = unique("c")
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{"VariantName": "a", "ModelName": m, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
        name = unique("ep")
        sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
        wait_in_service(name)
        return name

    open_probe = deploy_probe(False)
    eq(json.loads(invoke(open_probe, f"connect {target}".encode(), content_type="text/plain")[1])["outbound"], "connected", "without isolation")
    isolated_probe = deploy_probe(True)
    outcome = json.loads(invoke(isolated_probe, f"connect {target}".encode(), content_type="text/plain")[1])["outbound"]
    assert outcome.startswith("blocked"), outcome
    eq(json.loads(invoke(isolated_probe, b"hello", content_type="text/plain")[1])["greeting"], greeting, "the Environment, applied")
    # The isolated container's relay runs as long as it does: its command line (which every user and
    # every other container may read) must not hold the model's Environment.
    shown = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if greeting.encode() in f.read():
                    shown.append(pid)
        except OSError:
            pass
    eq(shown, [], "processes whose command line shows the model's Environment")
    # The built-in container too.
    builtin = deploy_probe(True, image=IMAGE)
    invoke(builtin, b"[[1,2,3,4]]")


def test_failure_reasons():
    expect_reason(f"s3://{BUCKET}/missing/model.tar.gz", "does not exist")
    s3.put_object(Bucket=BUCKET, Key="junk/model.tar.gz", Body=b"this is not gzip")
    expect_reason(f"s3://{BUCKET}/junk/model.tar.gz", "not a gzip-compressed tar")
    readme = os.path.join(os.environ.get("TMPDIR", "/tmp"), "README.txt")
    with open(readme, "w") as f:
        f.write("no model here")
    expect_reason(artifact("classifier", members={"README.txt": readme}), "no model.onnx")
    broken = os.path.join(os.environ.get("TMPDIR", "/tmp"), "model.onnx")
    with open(broken, "wb") as f:
        f.write(b"not an onnx graph")
    expect_reason(artifact("classifier", members={"model.onnx": broken}), "failed to load")
    # The built-in worker runs as the server (root): a model's Environment may not choose what code it
    # loads (a library or startup hook shipped in its own artifact, at a path it can work out).
    for key in ("LD_PRELOAD", "DOTNET_STARTUP_HOOKS"):
        name, _, _ = deploy(model="regression", environment={key: "/tmp/hook.so", "STRATA_MAX_BATCH_SIZE": "4"})
        d = sm.describe_endpoint(EndpointName=name)
        eq(d["EndpointStatus"], "Failed", f"{key}: status")
        assert f"the Environment variable {key}" in d["FailureReason"] and "changes which code a program loads" in d["FailureReason"], d["FailureReason"]
    # A GPU instance type on a machine without an NVIDIA GPU (unless strata serve --gpu-instances-on-cpu).
    if not os.path.isdir("/proc/driver/nvidia/gpus"):
        name, _, _ = deploy(model="regression", instance_type="ml.g4dn.xlarge")
        reason = sm.describe_endpoint(EndpointName=name)["FailureReason"]
        assert "ml.g4dn.xlarge has 1 NVIDIA GPU and this machine has none" in reason and "--gpu-instances-on-cpu" in reason, reason


def test_list_sorting_and_pagination():
    prefix = unique("pg")
    url = artifact("regression")
    names = [f"{prefix}-{i}" for i in range(5)]
    for n in names:
        sm.create_model(ModelName=n, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url})
    got, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        r = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2, **kw)
        got += [m["ModelName"] for m in r["Models"]]
        token = r.get("NextToken")
        if not token:
            break
    eq(got, names, "paged, sorted by name")
    newest_first = [m["ModelName"] for m in sm.list_models(NameContains=prefix)["Models"]]
    eq(newest_first, list(reversed(names)), "default order: newest first")
    expect_error(lambda: sm.list_models(MaxResults=101), "ValidationException", 400)


def test_metrics_in_prometheus_format():
    import urllib.request
    name, _, _ = deploy(model="regression", variants=(("only", 1, 1.0),))
    for _ in range(7):
        invoke(name, b"[[1,2,3,4]]")
    expect_error(lambda: invoke(name, b"[[1,2,3]]"), "ModelError", 424)
    text = urllib.request.urlopen(endpoint() + "/_strata/metrics").read().decode()
    # The series' labels: the endpoint's dimensions, then the account it belongs to.
    labels = f'{{endpoint_name="{name}",variant_name="only",account="'
    values = {line.split("{")[0]: float(line.split(" ")[1]) for line in text.splitlines() if labels in line}
    eq(values["aws_sagemaker_invocations_count"], 8, "invocations")
    eq(values["aws_sagemaker_invocation_model_errors_sum"], 1, "model errors")
    eq(values["aws_sagemaker_invocation_4xx_errors_sum"], 1, "4xx errors")
    eq(values["aws_sagemaker_model_latency_count"], 7, "model latency samples")
    assert values["aws_sagemaker_overhead_latency_sum"] > 0, values
    # Per-instance utilization, sampled by the endpoint's supervisor (the first sample at once).
    import time
    deadline = time.time() + 15
    while True:
        text = urllib.request.urlopen(endpoint() + "/_strata/metrics").read().decode()
        memory = [float(l.split(" ")[1]) for l in text.splitlines() if l.startswith(f"aws_sagemaker_endpoints_memory_utilization_sum{labels}")]
        cpu = [l for l in text.splitlines() if l.startswith(f"aws_sagemaker_endpoints_cpu_utilization_count{labels}")]
        if (memory and cpu) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert memory and memory[0] > 0 and cpu, "CPUUtilization and MemoryUtilization of the instance"


def test_bring_your_own_container():
    import subprocess
    import sys
    image = f"registry.example.com/team/echo-server:{unique('v')}"
    server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "byoc_server.py")
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image}), "ValidationException", 400, "strata images add")
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--", sys.executable, server],
                   check=True, capture_output=True)
    listed = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "list", "--data-dir", os.environ["STRATA_DATA_DIR"]], check=True, capture_output=True, text=True).stdout
    assert image in listed, listed
    url = artifact("regression", members={"weights.bin": os.path.join(MODELS, "regression", "model.onnx")})
    m = unique("m")
    sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image, "ModelDataUrl": url, "Environment": {"GREETING": "hello"}})
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "own", "ModelName": m, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    wait_in_service(name)
    _, body = invoke(name, b"ping-pong", "text/plain")
    eq(json.loads(body), {"echo": "ping-pong", "model_files": ["weights.bin"], "greeting": "hello"}, "own container's answer")
    e = expect_error(lambda: invoke(name, b"fail", "text/plain"), "ModelError", 424)
    eq(e["OriginalStatusCode"], 500, "container's status")
    import botocore
    if tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= (1, 36):
        # A container that does not answer within 60 s: SageMaker's timeout error, not a hang.
        # (Once, with the image's client: it takes a minute.)
        patient = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1",
                               config=Config(retries={"max_attempts": 1}, read_timeout=120))
        import time
        started = time.time()
        e = expect_error(lambda: patient.invoke_endpoint(EndpointName=name, Body=b"hang", ContentType="text/plain"), "ModelError", 424, "timed out")
        # Not before the 60 s (the client's own 120 s read timeout bounds the other side).
        assert 59 <= time.time() - started, time.time() - started


def test_tags():
    url = artifact("regression")
    m = unique("m")
    arn = sm.create_model(ModelName=m, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url},
                          Tags=[{"Key": "team", "Value": "ml"}])["ModelArn"]
    eq(sm.list_tags(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "ml"}], "tags from create")
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "test"}, {"Key": "team", "Value": "platform"}])
    eq(sorted((t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=arn)["Tags"]), [("stage", "test"), ("team", "platform")], "added and replaced")
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    eq(sm.list_tags(ResourceArn=arn)["Tags"], [{"Key": "stage", "Value": "test"}], "deleted")
    name, _, config = deploy(url=url)
    ep_arn = sm.describe_endpoint(EndpointName=name)["EndpointArn"]
    sm.add_tags(ResourceArn=ep_arn, Tags=[{"Key": "k", "Value": "v"}])
    eq(sm.list_tags(ResourceArn=ep_arn)["Tags"], [{"Key": "k", "Value": "v"}], "endpoint tags")
    # Tags given to CreateEndpoint are the endpoint's from its first moment, and go with it.
    tagged = unique("ep")
    tagged_arn = sm.create_endpoint(EndpointName=tagged, EndpointConfigName=config, Tags=[{"Key": "team", "Value": "ml"}])["EndpointArn"]
    eq(sm.list_tags(ResourceArn=tagged_arn)["Tags"], [{"Key": "team", "Value": "ml"}], "endpoint tags from create")
    sm.delete_endpoint(EndpointName=tagged)
    expect_error(lambda: sm.list_tags(ResourceArn=tagged_arn), "ValidationException", 400)
    expect_error(lambda: sm.list_tags(ResourceArn=arn.replace(m.lower(), "no-such-model")), "ValidationException", 400)


class Load:
    """Threads that invoke an endpoint until stopped, counting answers and failures."""

    def __init__(self, name, body=b"[[1,2,3,4]]", threads=4):
        import threading
        self.name, self.body, self.ok, self.errors, self.variants = name, body, 0, [], {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        client = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=Config(retries={"max_attempts": 1}, max_pool_connections=threads))
        # Daemon threads: a test that fails before finish() must not keep the script from exiting.
        self.threads = [threading.Thread(target=self.loop, args=(client,), daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def loop(self, client):
        while not self.stop.is_set():
            try:
                r = client.invoke_endpoint(EndpointName=self.name, Body=self.body, ContentType="application/json")
                r["Body"].read()
                with self.lock:
                    self.ok += 1
                    self.variants[r["InvokedProductionVariant"]] = self.variants.get(r["InvokedProductionVariant"], 0) + 1
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with self.lock:
                    self.errors.append(repr(e))

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        assert self.errors == [], f"{len(self.errors)} failed of {self.ok + len(self.errors)}: {self.errors[:3]}"
        assert self.ok > 0
        return self.variants


def wait_in_service(name):
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def test_update_endpoint_blue_green_under_load():
    import time
    name, model_name, _ = deploy(model="regression", variants=(("blue", 2, 1.0),))
    wait_in_service(name)  # an update is refused while the endpoint is still being created
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "green", "ModelName": model_name, "InitialInstanceCount": 2, "InstanceType": "ml.c5.large"}])
    load = Load(name)
    time.sleep(0.5)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=config)
    wait_in_service(name)
    time.sleep(0.5)
    variants = load.finish()
    assert variants.get("blue") and variants.get("green"), variants
    d = sm.describe_endpoint(EndpointName=name)
    eq((d["EndpointConfigName"], [v["VariantName"] for v in d["ProductionVariants"]]), (config, ["green"]), "new configuration")
    r, _ = invoke(name, b"[[1,2,3,4]]")
    eq(r["InvokedProductionVariant"], "green", "traffic moved")
    expect_error(lambda: sm.update_endpoint(EndpointName=name, EndpointConfigName="no-such-config"), "ValidationException", 400)


def test_weights_and_capacities_under_load():
    import time
    name, _, _ = deploy(model="regression", variants=(("a", 1, 0.5), ("b", 1, 0.5)))
    wait_in_service(name)  # an update is refused while the endpoint is still being created
    load = Load(name)
    time.sleep(0.3)
    sm.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[
        {"VariantName": "a", "DesiredWeight": 1.0, "DesiredInstanceCount": 2}, {"VariantName": "b", "DesiredWeight": 0.0}])
    wait_in_service(name)
    load.finish()
    d = {v["VariantName"]: v for v in sm.describe_endpoint(EndpointName=name)["ProductionVariants"]}
    eq((d["a"]["CurrentWeight"], d["a"]["CurrentInstanceCount"], d["b"]["CurrentWeight"]), (1.0, 2, 0.0), "weights and capacity")
    for _ in range(30):
        r, _ = invoke(name, b"[[1,2,3,4]]")
        eq(r["InvokedProductionVariant"], "a", "a weight of 0 gets no untargeted traffic")
    r, _ = invoke(name, b"[[1,2,3,4]]", TargetVariant="b")
    eq(r["InvokedProductionVariant"], "b", "a weight-0 variant still answers when targeted")
    expect_error(lambda: sm.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[{"VariantName": "zz", "DesiredWeight": 1.0}]), "ValidationException", 400)


def worker_pids(url):
    """The worker processes serving the artifact at url (its unpacked directory is named from
    the URL and the object's ETag)."""
    import hashlib
    bucket, key = url[5:].split("/", 1)
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    model_dir = os.path.join(os.environ["STRATA_DATA_DIR"], "models", hashlib.sha256(f"{url}\n{etag}".encode()).hexdigest()[:24])
    pids = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"SM_MODEL_DIR={model_dir}".encode() in f.read().split(b"\0"):
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_worker_killed_under_load_loses_no_request():
    import signal
    import time
    url = artifact("regression")
    name, _, _ = deploy(url=url, variants=(("v", 2, 1.0),))
    wait_in_service(name)  # both workers started
    pids = worker_pids(url)
    eq(len(pids), 2, "two worker processes")
    load = Load(name)
    time.sleep(0.5)
    os.kill(pids[0], signal.SIGKILL)
    deadline = time.time() + 30
    while time.time() < deadline:
        now = worker_pids(url)
        if len(now) == 2 and pids[0] not in now:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    load.finish()
    now = worker_pids(url)
    assert len(now) == 2 and pids[0] not in now, f"the killed instance was not replaced: {pids} -> {now}"
    eq(sm.describe_endpoint(EndpointName=name)["EndpointStatus"], "InService", "still in service")


if __name__ == "__main__":
    run(globals())
