"""Tiny test harness for the end-to-end client scripts (no pytest on the image).

Each script defines test_* functions; `python3 script.py [name ...]` runs them (all by
default) and prints one line per test: "PASS name" or "FAIL name: reason", then the
traceback. The xunit side runs the script and turns every line into a test result.
"""
import os
import sys
import traceback
import uuid


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def expect_error(fn, code, status=None, message=None):
    """Calls fn, which must fail with the AWS error `code` (and HTTP status, message part)."""
    import botocore.exceptions
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        got = err.get("Code")
        got_status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        assert got == code, f"expected error {code}, got {got} ({err.get('Message')})"
        if status is not None:
            assert got_status == status, f"expected status {status} for {code}, got {got_status}"
        if message is not None:
            assert message in (err.get("Message") or ""), f"expected message containing {message!r}, got {err.get('Message')!r}"
        return e.response
    raise AssertionError(f"expected error {code}, but the call succeeded")


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def run(module_globals):
    names = sys.argv[1:] or sorted(n for n, f in module_globals.items() if n.startswith("test_") and callable(f))
    failed = 0
    for name in names:
        try:
            module_globals[name]()
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
    sys.exit(1 if failed else 0)


def endpoint(tls=False):
    return os.environ["STRATA_TLS_ENDPOINT" if tls else "STRATA_ENDPOINT"]


class _ClientClock:
    """This client's clock on a server whose time the test drives (STRATA_CLOCK_URL; see
    FakeClockServer.cs): the server's, which stands still between two moves, read once and then
    set by each `advance`. botocore reads the time from its auth modules (SigV4 timestamps, SigV2
    presign expiry), so the clock is given to those modules as a machine whose clock agrees with
    the server's would give it. A clock that ran on with the real one would drift ahead of the
    server's by however long a loaded machine takes between two moves (a URL presigned for 60 s
    was still valid after the server's 61)."""
    def __init__(self):
        import time as real
        self.real = real
        self.now = None

    def time(self):
        if self.now is None:
            self.now = server_time()
        return self.now

    def __getattr__(self, name):  # everything else (sleep, gmtime, ...) as the time module has it
        return getattr(self.real, name)


CLOCK = _ClientClock()


def _install_client_clock():
    import datetime as real_datetime
    import types
    import botocore.auth

    class ShiftedDatetime(real_datetime.datetime):
        @classmethod
        def utcnow(cls):
            return real_datetime.datetime.fromtimestamp(CLOCK.time(), real_datetime.timezone.utc).replace(tzinfo=None)

        @classmethod
        def now(cls, tz=None):
            return real_datetime.datetime.fromtimestamp(CLOCK.time(), tz)

    shifted = types.ModuleType("datetime")
    shifted.__dict__.update(real_datetime.__dict__)
    shifted.datetime = ShiftedDatetime
    botocore.auth.datetime = shifted
    botocore.auth.time = CLOCK
    try:  # with awscrt installed (Debian's botocore), SigV4 is signed by botocore.crt.auth
        import botocore.crt.auth
        botocore.crt.auth.datetime = shifted
    except ImportError:
        pass
    if hasattr(botocore.auth, "get_current_datetime"):  # botocore >= 1.35
        botocore.auth.get_current_datetime = lambda remove_tzinfo=True: (
            ShiftedDatetime.utcnow() if remove_tzinfo else ShiftedDatetime.now(real_datetime.timezone.utc))
    # generate_presigned_post dates its policy's expiration in botocore.signers.
    import botocore.signers
    botocore.signers.datetime = shifted
    if hasattr(botocore.signers, "get_current_datetime"):
        botocore.signers.get_current_datetime = botocore.auth.get_current_datetime


if os.environ.get("STRATA_CLOCK_URL"):
    _install_client_clock()


def server_time():
    """The server's clock now (epoch seconds), on a server whose time the test drives."""
    import urllib.request
    with urllib.request.urlopen(os.environ["STRATA_CLOCK_URL"]) as r:
        return float(r.read())


def advance(seconds):
    """Time passes: moves the server's clock (and this client's with it) `seconds` past the
    server's now. The server fires every timer that falls due; what they do happens in the
    background, so wait for its effect with `until`. The server's time is read to the millisecond,
    below its own: a millisecond more makes sure a timer due `seconds` from now falls due."""
    import urllib.request
    url = os.environ["STRATA_CLOCK_URL"]
    target = server_time() + seconds + 0.001
    with urllib.request.urlopen(urllib.request.Request(f"{url}?to={target:.3f}", method="POST")) as r:
        CLOCK.now = float(r.read())


# Errors every AWS service may answer without declaring them per operation (authentication,
# throttling, input validation, protocol errors: the "common errors" of the API references).
COMMON_ERRORS = {
    "AccessDenied", "AccessDeniedException", "IncompleteSignature", "InternalFailure", "InternalError", "InvalidAction",
    "InvalidClientTokenId", "InvalidParameterCombination", "InvalidParameterValue", "InvalidQueryParameter",
    "InvalidSignatureException", "MalformedQueryString", "MissingAction", "MissingAuthenticationToken",
    "MissingParameter", "NotAuthorized", "OptInRequired", "RequestExpired", "ServiceUnavailable", "ThrottlingException",
    "ValidationError", "ValidationException", "SerializationException", "UnrecognizedClientException",
    "UnknownOperationException", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch", "RequestTimeTooSkewed",
    "RequestEntityTooLargeException", "IncompleteBody",
}

# Errors AWS's API reference documents for an operation whose botocore model leaves them out
# (operation -> codes): answered as AWS answers, accepted here for that operation only.
DOCUMENTED_ERRORS = {
    "DeleteDashboards": {"ResourceNotFound"},
}

# Members a model declares required that AWS leaves out (shape -> members): DescribeEndpoint's
# DataCaptureConfig has no KmsKeyId when capture uses no customer key (sagemaker-python-sdk #5738).
OMITTED_REQUIRED = {
    "DataCaptureConfigSummary": {"KmsKeyId"},
}


def validate_responses(client):
    """Checks every parsed response against the operation's output shape in the installed
    botocore model (required members present, types and enum values as the model says), and
    every error against the errors the model declares for the operation (or the common ones),
    so that drift from the specification fails the call that caused it."""
    import datetime as _dt

    def check(shape, value, path):
        if value is None:
            return
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(value, dict), f"{path}: expected a structure, got {type(value).__name__}"
            for name in shape.required_members:
                member = shape.members[name]
                # Members bound to the HTTP status or headers S3 may omit are not body members.
                if member.serialization.get("location") in ("header", "headers", "statusCode"):
                    continue
                if name in OMITTED_REQUIRED.get(shape.name, ()):
                    continue
                assert name in value, f"{path}: required member {name} missing"
            for name, member in shape.members.items():
                if name in value:
                    check(member, value[name], f"{path}.{name}")
        elif kind == "list":
            assert isinstance(value, list), f"{path}: expected a list, got {type(value).__name__}"
            for i, item in enumerate(value):
                check(shape.member, item, f"{path}[{i}]")
        elif kind == "map":
            assert isinstance(value, dict), f"{path}: expected a map"
        elif kind in ("integer", "long"):
            assert isinstance(value, int) and not isinstance(value, bool), f"{path}: expected an integer, got {value!r}"
        elif kind == "boolean":
            assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
        elif kind == "timestamp":
            assert isinstance(value, _dt.datetime), f"{path}: expected a timestamp, got {value!r}"
        elif kind == "string" and shape.name == "policyDocumentType":
            # botocore URL-decodes and parses IAM policy documents into dicts (a client handler).
            assert isinstance(value, dict), f"{path}: expected a decoded policy document, got {value!r}"
        elif kind == "string":
            assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
            if shape.enum:
                assert value in shape.enum, f"{path}: {value!r} is not one of the model's values {shape.enum}"

    def after_call(http_response, parsed, model, **kwargs):
        if http_response.status_code >= 300:
            check_error(model, parsed.get("Error", {}).get("Code"))
            return
        if model.output_shape is None:
            return
        check(model.output_shape, {k: v for k, v in parsed.items() if k != "ResponseMetadata"}, model.name)

    def check_error(model, code):
        # S3's model declares few of the errors S3 gives (NoSuchBucket… are documented, not modelled).
        if code is None or model.metadata.get("protocol") == "rest-xml":
            return
        declared = {e.metadata.get("error", {}).get("code", e.name) for e in model.error_shapes}
        assert code in declared or code in COMMON_ERRORS or code in DOCUMENTED_ERRORS.get(model.name, ()), \
            f"{model.name}: error {code} is neither declared by the model ({sorted(declared)}) nor common to AWS services"

    client.meta.events.register("after-call", after_call)
    return client


SAGEMAKER_TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}'


def states_role(iam, allowed):
    """A role Step Functions may assume (a state machine's execution role), allowed what `allowed` says:
    statements, or actions on any resource (none: an empty list); returns its ARN."""
    import json
    name = unique("states-role")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    statements = [a for a in allowed if isinstance(a, dict)]
    if actions := [a for a in allowed if isinstance(a, str)]:
        statements.append({"Effect": "Allow", "Action": actions, "Resource": "*"})
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="work", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return arn


def execution_role(iam, resource="arn:aws:s3:::*", kms_decrypt=True, name=None, s3_actions=("s3:GetObject",)):
    """An execution role SageMaker may assume, allowed `s3_actions` on `resource` (and, unless
    told otherwise, kms:Decrypt on any key); returns its ARN."""
    import json
    name = name or unique("sagemaker-execution")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=SAGEMAKER_TRUST)["Role"]["Arn"]
    statements = [{"Effect": "Allow", "Action": list(s3_actions), "Resource": resource}]
    if kms_decrypt:
        statements.append({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    iam.put_role_policy(RoleName=name, PolicyName="artifacts", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return arn


def client(service, keys=None):
    """A boto3 client of the server (with `keys`, an (access key id, secret) pair, as that
    identity; else the root's from the environment), retries off so errors show as they are."""
    import boto3
    from botocore.config import Config
    extra = {"aws_access_key_id": keys[0], "aws_secret_access_key": keys[1]} if keys else {}
    return boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", config=Config(retries={"max_attempts": 1}), **extra)


def iam_user(iam, name, actions=None):
    """A new IAM user (named `name` plus a unique suffix) with an access key and, given `actions`,
    an inline policy allowing them on everything; returns (user name, (key id, secret))."""
    import json
    name = unique(name)
    iam.create_user(UserName=name)
    if actions:
        iam.put_user_policy(UserName=name, PolicyName="work", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (key["AccessKeyId"], key["SecretAccessKey"])


def until(what, check, seconds=60):
    """Waits (polling) until check() is true; fails naming what never happened."""
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def advance_until(what, check, seconds, times, settle=20):
    """Moves the server's clock `seconds` at a time, at most `times` times, until check() is true.
    After each step it waits (polling, in real time) up to `settle` seconds: what the timers start
    runs in the background, and on a loaded machine it may end long after the clock moved."""
    for _ in range(times):
        advance(seconds)
        try:
            until(what, check, settle)
            return
        except AssertionError:
            pass
    raise AssertionError(f"{what} did not happen after {times} steps of {seconds} s")


def raw_answer(client, operation, call):
    """The raw JSON answer of one call (Strata's extension members, which clients drop from the
    parsed answer): `call` makes the call, `operation` names it (e.g. "DescribeEndpoint")."""
    import json
    raw = {}
    event = f"after-call.{client.meta.service_model.endpoint_prefix}.{operation}"
    handler = lambda http_response, **_: raw.update(json.loads(http_response.content))
    client.meta.events.register(event, handler)
    try:
        call()
    finally:
        client.meta.events.unregister(event, handler)
    return raw


def deploy_regression(s3, sm, bucket, role, instances=1, instance_type="ml.t2.medium", model="regression"):
    """Uploads a test model (models/<model>, the regression model unless named) and deploys it as
    one variant "main"; returns the endpoint name."""
    import io
    import os
    import tarfile
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", model, "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=buffer.getvalue())
    name = unique("ep")
    sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": "strata-onnx:1", "ModelDataUrl": f"s3://{bucket}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "main", "ModelName": name, "InitialInstanceCount": instances, "InstanceType": instance_type}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return name


def deploy_byoc(sm, iam):
    """Deploys byoc_server.py (a container of one's own: it prints a line on start and per request,
    and answers 500 to everything between `break` and `mend`) as an endpoint with one instance of
    one variant "main"; returns the endpoint's name once it is in service."""
    import os
    import subprocess
    import sys
    image = f"registry.example.com/team/byoc:{unique('v')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                    sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "byoc_server.py")], check=True, capture_output=True)
    name = unique("ep")
    sm.create_model(ModelName=name, ExecutionRoleArn=execution_role(iam), PrimaryContainer={"Image": image})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "main", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    until("the endpoint in service", lambda: sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService", 60)
    return name
