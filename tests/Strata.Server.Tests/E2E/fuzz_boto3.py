"""Signed but wrong: correctly signed requests with wrong input never get a 5xx (issue 19).

For every operation Strata serves, requests are built from the operation's input shape in the
installed botocore model, mutated (wrong types, missing and extra members, huge, empty, control
and non-BMP strings, boundary numbers, bad timestamps, invalid base64, malformed JSON / XML /
query bodies), signed with SigV4 and sent. Each answer must be: no 5xx, no hang (30 s), no
dropped connection, an error body the client parses, and an error code the model declares for
the operation or one common to AWS services (harness.COMMON_ERRORS). The server must still
answer afterwards.

  python3 fuzz_boto3.py [test_name ...] [--count N] [--seed S]

--count is the number of mutated requests over all services (default 1500, or
STRATA_FUZZ_COUNT; raw malformed requests come on top),
--seed the random seed (default 19, or STRATA_FUZZ_SEED). The operations come from
STRATA_FUZZ_OPERATIONS ("service:Op,Op;service:Op", what the xunit side reads from the
server's operation tables) or, run from the source tree, from the sources. A failure lists each
failing request (operation, mutation, input, status, body) and the seed that reproduces it.
bench/fuzz.sh runs the long version against a fresh server.

Allowed besides: a bare 400/414/431 from the HTTP server (Kestrel) for a request that breaks
HTTP itself (a control character in a header, a percent-encoded NUL in the path, a request
line or header section over its limits), a HEAD answer's missing body, and S3's documented
501 NotImplemented for S3 functionality Strata does not have.
"""
import base64
import datetime
import json
import os
import random
import re
import sys
import urllib.parse

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import botocore.httpsession
import botocore.parsers
import botocore.session
from botocore.config import Config

from harness import COMMON_ERRORS, DOCUMENTED_ERRORS, run, unique

TIMEOUT = 30
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def _option(name, env, default):
    if name in sys.argv:
        at = sys.argv.index(name)
        value = sys.argv[at + 1]
        del sys.argv[at:at + 2]
        return int(value)
    return int(os.environ.get(env, default))


COUNT = _option("--count", "STRATA_FUZZ_COUNT", 1500)
SEED = _option("--seed", "STRATA_FUZZ_SEED", 19)

SESSION = botocore.session.get_session()
CREDENTIALS = botocore.credentials.Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
HTTP = botocore.httpsession.URLLib3Session(timeout=TIMEOUT, max_pool_connections=4)
CONFIG = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"},
                read_timeout=TIMEOUT, connect_timeout=5, s3={"addressing_style": "path"})


def client(service):
    return boto3.client(service, endpoint_url=os.environ["STRATA_ENDPOINT"], region_name=REGION, config=CONFIG)


# ---- which operations: what the server serves ----

def served_operations():
    listed = os.environ.get("STRATA_FUZZ_OPERATIONS")
    if listed:
        ops = {}
        for part in listed.split(";"):
            service, _, names = part.partition(":")
            ops[service] = [n for n in names.split(",") if n]
        return ops
    # Run from the source tree: read the operation tables as the server declares them.
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src")
    with open(os.path.join(src, "Strata.Codegen", "services.json")) as f:
        text = "\n".join(line for line in f if not line.lstrip().startswith("//"))
    ops = {entry["model"]: list(entry["operations"]) for entry in json.loads(text)}

    def declared(service, path):
        """The quoted names in the service's Operations table that are operations of its model."""
        with open(os.path.join(src, "Strata.Server", "Services", path)) as f:
            body = f.read()
        block = body[body.index("IEnumerable<Operation> Operations"):]
        block = block[:block.index("];")]
        names = SESSION.get_service_model(service).operation_names
        return list(dict.fromkeys(n for n in re.findall(r'"([A-Z]\w+)"', block) if n in names))

    # Services not (yet) on the generated layer: their hand-written operation tables.
    if "sagemaker" not in ops:
        ops["sagemaker"] = declared("sagemaker", "SageMaker/SageMakerService.cs")
    if "application-autoscaling" not in ops:
        ops["application-autoscaling"] = declared("application-autoscaling", "AutoScaling/ApplicationAutoScalingService.cs")
    ops.setdefault("sagemaker-runtime", ["InvokeEndpoint"])
    return ops


OPERATIONS = served_operations()
TOTAL_OPS = sum(len(v) for v in OPERATIONS.values())


# ---- inputs: a plausible value per shape, then one mutation ----

CONTROL = [chr(c) for c in range(0x20)]
STRANGE_STRINGS = [
    "", " ", "a\x00b", "\x00", "\x01\x02\x1f", "\x7f", "line\nbreak", "tab\there", "\r", "\ufffe\uffff",
    "emoji-\U0001F600", "\U0001F4A9" * 50, "\ud800", "x\udfffy", "%00", "%", "%zz", "../../etc/passwd", "*", "?",
    "<xml>&amp;</xml>", "]]>", "'\"", "{", "null", "arn:", "arn:aws:iam::000000000000:", "A" * 1000, "\u202e\u0301",
    "\\u0000", "${jndi}", "alias/", "alias/aws/s3", "arn:aws:kms:us-east-1:000000000000:key/", "0" * 64, "-1",
]
NUMBERS = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1, 2 ** 63 - 1, 2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, 1.5, -0.0,
           1e308, float("nan"), float("inf"), float("-inf")]
BAD_TIMESTAMPS = ["not-a-time", "", "2024-13-45T99:99:99Z", "0000-00-00", "99999-01-01T00:00:00Z", "1e400", -1, -1e18, 1e20,
                  2 ** 63, float("nan"), "2024-01-01T00:00:00+25:00", "\x00"]
BAD_BLOBS = ["!!!not base64!!!", "=", "YQ", "YQ=", "a", "\x00", "====", "\U0001F600"]


class Gen:
    def __init__(self, rng, hints):
        self.rng = rng
        self.hints = hints

    def valid(self, shape, name="", depth=0):
        if name in self.hints:
            return self.hints[name]
        kind = shape.type_name
        r = self.rng
        if kind == "structure":
            out = {}
            for member_name, member in shape.members.items():
                if member.serialization.get("eventstream") or shape.name.endswith("EventStream"):
                    continue
                if member_name in shape.required_members or (depth < 3 and r.random() < 0.25):
                    out[member_name] = self.valid(member, member_name, depth + 1)
            return out
        if kind == "list":
            return [self.valid(shape.member, "", depth + 1) for _ in range(max(1, shape.metadata.get("min", 1)) if depth < 4 else 0)][:3]
        if kind == "map":
            return {"k" + str(r.randrange(10)): self.valid(shape.value, "", depth + 1)} if depth < 4 else {}
        if kind == "string":
            if shape.enum:
                return r.choice(shape.enum)
            low = int(shape.metadata.get("min", 1))
            high = int(shape.metadata.get("max", max(low, 12)))
            length = min(max(low, r.randint(4, 12)), max(high, low))
            return "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))
        if kind in ("integer", "long"):
            low = int(shape.metadata.get("min", 1))
            high = int(shape.metadata.get("max", low + 10))
            return r.randint(low, max(low, min(high, low + 10)))
        if kind in ("float", "double"):
            return float(shape.metadata.get("min", 1.5))
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "timestamp":
            return datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        if kind == "blob":
            return b"fuzz"
        return "x"

    def targets(self, shape, path=(), depth=0, out=None):
        """Every place in the input shape a mutation may land: (path, shape, required)."""
        out = [] if out is None else out
        if depth > 3:
            return out
        kind = shape.type_name
        if kind == "structure":
            for name, member in shape.members.items():
                out.append((path + (name,), member, name in shape.required_members))
                self.targets(member, path + (name,), depth + 1, out)
        elif kind == "list":
            self.targets(shape.member, path + (0,), depth + 1, out)
        elif kind == "map":
            self.targets(shape.value, path + ("k",), depth + 1, out)
        return out

    def wrong(self, shape):
        """A value for `shape` that it does not allow (or a boundary it may)."""
        r = self.rng
        kind = shape.type_name
        others = ["a", 1, True, ["a"], {"a": "b"}, {}, [], None, 1.5, [{"a": 1}], [[["deep"]]]]
        if kind == "string":
            choice = r.random()
            if choice < 0.55:
                return r.choice(STRANGE_STRINGS)
            if choice < 0.6:
                return "A" * 100000
            if choice < 0.75:
                return "x" + r.choice(CONTROL) + "y" + r.choice(CONTROL)
            if choice < 0.8 and shape.enum:
                return shape.enum[0].lower() + "X"
            return r.choice(others)
        if kind in ("integer", "long", "float", "double"):
            return r.choice(NUMBERS + ["12", "abc", "", True, [1], {"a": 1}])
        if kind == "timestamp":
            return r.choice(BAD_TIMESTAMPS + [[], {}, True])
        if kind == "blob":
            return r.choice(BAD_BLOBS + [b"", b"\x00" * 10, [1], {}, 5, b"A" * 300000])
        if kind == "boolean":
            return r.choice(["yes", "TRUE", "", 2, 0, None, [], {}])
        if kind == "list":
            return r.choice(["a", {"a": 1}, ["a"], [None], [[]], [1, "2", {}], [], ["x"] * 2000, 5, True])
        if kind == "map":
            return r.choice(["a", ["a"], {"": ""}, {"k": 1}, {"k": None}, {"k": {"a": [1]}}, {"\x00": "\x00"}, {f"k{i}": "v" for i in range(500)}])
        if kind == "structure":
            return r.choice(["a", ["a"], 5, True, [], {"Bogus": "x"}, {"": None}])
        return r.choice(others)

    def mutate(self, op_model):
        """A plausible input for the operation with one (sometimes two) things wrong; and what."""
        shape = op_model.input_shape
        value = self.valid(shape) if shape is not None else {}
        if shape is None:
            value["Bogus"] = "x"
            return value, "extra member on an operation without input"
        described = []
        targets = self.targets(shape)
        for _ in range(1 if self.rng.random() < 0.8 else 2):
            if not targets or self.rng.random() < 0.08:
                what = self.rng.choice(["extra member", "empty input", "input not an object"])
                if what == "extra member":
                    value["Bogus" + str(self.rng.randrange(3))] = self.rng.choice(["x", 1, ["a"], {"a": "b"}])
                elif what == "empty input":
                    value = {}
                else:
                    return self.rng.choice([["a"], "a", 5, None]), what
                described.append(what)
                continue
            path, target, required = self.rng.choice(targets)
            if required and self.rng.random() < 0.15:
                _remove(value, path)
                described.append(f"{'.'.join(map(str, path))} missing")
                continue
            wrong = self.wrong(target)
            _set(value, path, wrong, self, shape)
            described.append(f"{'.'.join(map(str, path))} ({target.type_name}) = {_short(wrong)}")
        return value, "; ".join(described)


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def _remove(value, path):
    for key in path[:-1]:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return
    if isinstance(value, dict):
        value.pop(path[-1], None)


def _set(value, path, new, gen, shape):
    """Sets value[path] = new, creating the containers on the way from the shapes."""
    node, node_shape = value, shape
    for i, key in enumerate(path):
        last = i == len(path) - 1
        kind = node_shape.type_name
        child_shape = node_shape.members[key] if kind == "structure" else node_shape.member if kind == "list" else node_shape.value
        if isinstance(node, dict):
            if last:
                node[key] = new
                return
            if not isinstance(node.get(key), (dict, list)):
                node[key] = gen.valid(child_shape, "", 5) if child_shape.type_name != "list" else [gen.valid(child_shape.member, "", 5)]
            node = node[key]
        elif isinstance(node, list):
            if not node:
                node.append(gen.valid(child_shape, "", 5))
            if last:
                node[0] = new
                return
            if not isinstance(node[0], (dict, list)):
                node[0] = gen.valid(child_shape, "", 5)
            node = node[0]
        else:
            return
        node_shape = child_shape
        if isinstance(node, dict) and node_shape.type_name == "list":
            return


# ---- the wire: each protocol serialised tolerantly (any Python value goes), then signed ----

def _json_value(shape, value):
    kind = shape.type_name if shape is not None else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        if kind == "structure":
            return {k: _json_value(shape.members.get(k), v) for k, v in value.items()}
        return {k: _json_value(shape.value if kind == "map" else None, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(shape.member if kind == "list" else None, v) for v in value]
    return value


def _query_params(shape, value, prefix, out):
    kind = shape.type_name if shape is not None else None
    if value is None:
        return
    if isinstance(value, dict):
        for i, (k, v) in enumerate(value.items(), 1):
            if kind == "map":
                out[f"{prefix}.entry.{i}.key"] = k
                _query_params(shape.value, v, f"{prefix}.entry.{i}.value", out)
            else:
                member = shape.members.get(k) if kind == "structure" else None
                name = member.serialization.get("name", k) if member is not None else k
                _query_params(member, v, f"{prefix}.{name}" if prefix else name, out)
    elif isinstance(value, list):
        if not value:
            out[prefix] = ""
        flattened = kind == "list" and shape.serialization.get("flattened")
        member_name = shape.member.serialization.get("name", "member") if kind == "list" else "member"
        for i, v in enumerate(value, 1):
            _query_params(shape.member if kind == "list" else None, v, f"{prefix}.{i}" if flattened else f"{prefix}.{member_name}.{i}", out)
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    elif isinstance(value, bytes):
        out[prefix] = base64.b64encode(value).decode()
    elif isinstance(value, datetime.datetime):
        out[prefix] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        out[prefix] = str(value)


def _sign_and_send(model, method, url, body, headers, auth_class=botocore.auth.SigV4Auth):
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers)
    auth_class(CREDENTIALS, model.signing_name, REGION).add_auth(request)
    return HTTP.send(request.prepare())


def _json_request(model, op_name, body):
    prefix = model.metadata["targetPrefix"]
    headers = {"Content-Type": f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.1')}", "X-Amz-Target": f"{prefix}.{op_name}"}
    return _sign_and_send(model, "POST", os.environ["STRATA_ENDPOINT"] + "/", body, headers)


def _query_request(model, body):
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return _sign_and_send(model, "POST", os.environ["STRATA_ENDPOINT"] + "/", body, headers)


def encode_json(rng, shape, value):
    obj = _json_value(shape, value)
    if rng.random() < 0.5:
        return json.dumps(obj).encode()
    # Raw UTF-8 (surrogates as CESU bytes: not UTF-8 at all).
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")


def encode_query(model, op_name, shape, value):
    params = {"Action": op_name, "Version": model.api_version}
    _query_params(shape, value, "", params)
    return urllib.parse.urlencode(params, errors="surrogatepass").encode()


# ---- judging an answer ----

class Findings:
    def __init__(self, service):
        self.service = service
        self.items = []
        self.sent = 0
        self.unsendable = 0
        self.statuses = {}

    def judge(self, model, op_name, what, value, response, rest_errors_undeclared=False, http_level=False, head=False):
        """Checks one answer: returns nothing, records a finding when the answer is wrong.
        http_level: the request breaks HTTP itself (a control character in a header, a request
        line or header section over the HTTP server's limits), so the HTTP server may refuse it
        with a bare 400/414/431 before any service sees it. head: a HEAD answer has no body."""
        self.sent += 1
        status = response.status_code
        self.statuses[status // 100] = self.statuses.get(status // 100, 0) + 1
        body = response.content or b""
        if status == 501 and protocol_of(model) == "rest-xml" and b"<Code>NotImplemented</Code>" in body:
            return  # S3's documented answer to a request for functionality Strata does not have
        if status >= 500:
            return self.add(op_name, what, value, status, body, "server error")
        if status < 300 or status == 304:
            return  # (304: a conditional GET's "not modified", no error)
        if not body and (head or (http_level and status in (400, 414, 431))):
            return
        op_model = model.operation_model(op_name)
        parser = botocore.parsers.create_parser(protocol_of(model))
        try:
            parsed = parser.parse({"status_code": status, "headers": response.headers, "body": body,
                                   "context": {"operation_name": op_name}}, op_model.output_shape)
        except Exception as e:  # noqa: BLE001 - any parser failure is the finding
            return self.add(op_name, what, value, status, body, f"unparseable error body ({type(e).__name__}: {e})")
        code = parsed.get("Error", {}).get("Code")
        if not code or code == str(status):
            return self.add(op_name, what, value, status, body, "error without a code the client reads")
        if rest_errors_undeclared:
            return  # S3's model declares few of the errors S3 documents (as harness.validate_responses)
        declared = {e.metadata.get("error", {}).get("code", e.name) for e in op_model.error_shapes}
        if code not in declared and code not in COMMON_ERRORS and code not in DOCUMENTED_ERRORS.get(op_name, ()):
            return self.add(op_name, what, value, status, body, f"error {code} neither declared for {op_name} nor common")

    def add(self, op_name, what, value, status, body, problem):
        self.items.append(f"{self.service}.{op_name} [{what}] input={_short(value, 300)} -> {status} {problem}: {body[:300]!r}")

    def failure(self, kind, op_name, what, value, error):
        self.sent += 1
        self.items.append(f"{self.service}.{op_name} [{what}] input={_short(value, 300)} -> {kind}: {type(error).__name__}: {error}")

    def check(self):
        print(f"{self.service}: {self.sent} requests ({self.unsendable} the client could not send), by status class {dict(sorted(self.statuses.items()))}, seed {SEED}, count {COUNT}")
        if self.items:
            shown = "\n  ".join(self.items[:40]) + (f"\n  ... and {len(self.items) - 40} more" if len(self.items) > 40 else "")
            raise AssertionError(f"{len(self.items)} of {self.sent} {self.service} requests were answered wrongly "
                                 f"(reproduce: fuzz_boto3.py test_{self.service.replace('-', '_')} --seed {SEED} --count {COUNT}):\n  {shown}")


class Unsendable(Exception):
    """The client built a request that lies about its own body: not a request to judge."""


def lies_about_length(request):
    """Whether a prepared request's Content-Length is not a length or not its body's (botocore
    sends a mutated ContentLength as is): the server would wait for bytes that never come, as
    any HTTP server does, so such a request is not sent."""
    declared = request.headers.get("Content-Length")
    if declared is None:
        return False
    declared = declared.decode() if isinstance(declared, bytes) else str(declared)
    if not declared.isdigit():
        return True
    body = request.body
    if body is None:
        actual = 0
    elif isinstance(body, (bytes, bytearray)):
        actual = len(body)
    elif isinstance(body, str):
        actual = len(body.encode())
    else:
        try:
            at = body.tell()
            body.seek(0, 2)
            actual = body.tell() - at
            body.seek(at)
        except Exception:  # noqa: BLE001 - a stream of unknown length: trust it
            return False
    return int(declared) != actual


def before_send(last, request):
    last.update(sent=True, request=request)
    if lies_about_length(request):
        raise Unsendable()


def breaks_http(request):
    """Whether a prepared request breaks HTTP itself (see Findings.judge)."""
    headers = request.headers.items()
    if any(any(ord(ch) < 0x20 and ch != "\t" for ch in (v.decode("latin-1") if isinstance(v, bytes) else str(v))) for _, v in headers):
        return True
    size = sum(len(k) + len(v) for k, v in headers)
    # A percent-encoded NUL in the path is refused by Kestrel itself (a bare 400), before any service sees it.
    path = urllib.parse.urlsplit(request.url).path
    return "%00" in path or len(request.url) > 8000 or size > 32000 or any(len(v) > 8000 for _, v in headers)


def alive():
    sts = client("sts")
    sts.get_caller_identity()


def send_raw(findings, model, op_name, what, value, send, **judge):
    try:
        response = send()
    except botocore.exceptions.ReadTimeoutError as e:
        return findings.failure("hang", op_name, what, value, e)
    except (botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError, botocore.exceptions.HTTPClientError) as e:
        findings.failure("dropped connection", op_name, what, value, e)
        try:
            alive()
        except Exception as dead:  # noqa: BLE001
            raise AssertionError(f"the server no longer answers after {op_name} [{what}]: {dead}") from e
        return
    findings.judge(model, op_name, what, value, response, **judge)


def budget():
    """Mutated requests per operation: the count spread evenly (raw bodies come on top)."""
    return max(4, -(-COUNT // max(1, TOTAL_OPS)))


# ---- JSON and Query services: tolerant serialisation, raw bodies ----

RAW_JSON = [b"", b"{", b"[]", b"null", b"\"a\"", b"1", b"{\"a\":", b"{\"a\" 1}", b"\xff\xfe\x00", b"{\"a\":\"\\ud800\"}",
            b"[" * 10000 + b"]" * 10000, b"{\"a\":" * 2000 + b"1" + b"}" * 2000, b"{\"a\":NaN}", b"{\"a\":1e999}",
            b"\x00\x00", b"{}" + b" " * 10 + b"{}", b"{\"\x00\":1}", b"<xml/>", b"Action=ListKeys"]
RAW_QUERY = [b"", b"Action", b"Action=", b"Version=2010-05-08", b"Action=%zz&Version=%", b"Action=X&Version=2010-05-08",
             b"&&&=&=", b"%00=%00", b"Action=%00", b"a=" + b"x" * 100000, b"\xff\xfe=\xff", b"{\"json\":1}"]


def protocol_of(model):
    """The protocol this botocore speaks to the service: of a model listing several (CloudWatch),
    the one it prefers; boto3 1.26's models list one."""
    return getattr(model, "resolved_protocol", None) or model.metadata["protocol"]


def fuzz_named_service(service, raw_bodies):
    model = SESSION.get_service_model(service)
    protocol = protocol_of(model)
    rng = random.Random(f"{SEED}-{service}")
    gen = Gen(rng, HINTS.get(service, lambda: {})())
    findings = Findings(service)
    for op_name in OPERATIONS.get(service, []):
        if op_name not in model.operation_names:
            continue  # newer than this client's model (Debian's botocore)
        op_model = model.operation_model(op_name)
        for _ in range(budget()):
            value, what = gen.mutate(op_model)
            if protocol == "json":
                body = encode_json(rng, op_model.input_shape, value)
                send_raw(findings, model, op_name, what, value, lambda: _json_request(model, op_name, body))
            else:
                body = encode_query(model, op_name, op_model.input_shape, value)
                send_raw(findings, model, op_name, what, value, lambda: _query_request(model, body))
        for raw in rng.sample(raw_bodies, 3):
            if protocol == "json":
                send_raw(findings, model, op_name, "raw body", raw[:200], lambda: _json_request(model, op_name, raw))
            else:
                body = raw if rng.random() < 0.5 else raw + b"&Action=" + op_name.encode() + b"&Version=" + model.api_version.encode()
                send_raw(findings, model, op_name, "raw body", body[:200], lambda: _query_request(model, body))
    alive()
    findings.check()


# ---- REST services (S3, SageMaker Runtime): botocore's client sends, with validation off ----

def fuzz_rest_service(service, raw_requests, setup=lambda c: None):
    model = SESSION.get_service_model(service)
    rng = random.Random(f"{SEED}-{service}")
    c = client(service)
    gen = Gen(rng, HINTS.get(service, lambda: {})())
    findings = Findings(service)
    last = {}
    c.meta.events.register("before-send", lambda request, **_: before_send(last, request))
    c.meta.events.register("after-call", lambda http_response, **_: last.update(response=http_response))
    for op_name in OPERATIONS.get(service, []):
        if op_name not in model.operation_names:
            continue  # newer than this client's model (Debian's botocore)
        op_model = model.operation_model(op_name)
        method = getattr(c, botocore.xform_name(op_name))
        for _ in range(budget()):
            value, what = gen.mutate(op_model)
            last.clear()
            try:
                result = method(**value) if isinstance(value, dict) else method(value)
                if isinstance(result, dict) and hasattr(result.get("Body"), "read"):
                    result["Body"].read()
            except botocore.exceptions.ClientError:
                pass
            except Unsendable:
                findings.unsendable += 1
                continue
            except botocore.exceptions.ReadTimeoutError as e:
                findings.failure("hang", op_name, what, value, e)
                continue
            except (botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError) as e:
                if last.get("sent"):
                    findings.failure("dropped connection", op_name, what, value, e)
                    alive()
                else:
                    findings.unsendable += 1
                continue
            except Exception as e:  # noqa: BLE001 - the client refused to build the request, or choked on the answer
                if not last.get("sent") or "Invalid header value" in str(e):  # http.client refuses CR/LF in headers
                    findings.unsendable += 1
                elif "response" not in last and not breaks_http(last["request"]):
                    # (A bare 4xx from the HTTP server may choke an old client's custom parser.)
                    findings.failure("client error after sending", op_name, what, value, e)
                continue
            if "response" in last:
                request = last["request"]
                findings.judge(model, op_name, what, value, last["response"], rest_errors_undeclared=protocol_of(model) == "rest-xml",
                               http_level=breaks_http(request), head=request.method == "HEAD")
            elif last.get("sent"):
                findings.failure("no answer", op_name, what, value, "sent, but no response came back")
            else:
                findings.unsendable += 1
    for op_name, method, path, query, headers, body in raw_requests(rng):
        url = os.environ["STRATA_ENDPOINT"] + path + (("?" + query) if query else "")
        auth = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
        send_raw(findings, model, op_name, f"raw {method} {path[:80]}?{query[:80]}", {"headers": headers, "body": body[:200]},
                 lambda: _sign_and_send(model, method, url, body, dict(headers), auth),
                 rest_errors_undeclared=protocol_of(model) == "rest-xml", http_level=True, head=method == "HEAD")
    alive()
    findings.check()


# ---- fixtures: real resources, so that mutations reach past "not found" ----

FIXTURES = {}


def kms_hints():
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"fuzz")["CiphertextBlob"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]})
    return {"KeyId": key, "DestinationKeyId": key, "TargetKeyId": key, "CiphertextBlob": blob, "AliasName": "alias/" + unique("fuzz"),
            "Policy": policy, "PolicyName": "default"}


def iam_hints():
    iam = client("iam")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    user, group, role = unique("fuzz-user"), unique("fuzz-group"), unique("fuzz-role")
    user_arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    policy = iam.create_policy(PolicyName=unique("fuzz-policy"), PolicyDocument=doc)["Policy"]["Arn"]
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    return {"UserName": user, "GroupName": group, "RoleName": role, "PolicyArn": policy, "PermissionsBoundary": policy,
            "PolicyDocument": doc, "AssumeRolePolicyDocument": trust, "PolicyName": "inline", "VersionId": "v1",
            "AccessKeyId": key, "PolicySourceArn": user_arn, "ActionNames": ["s3:GetObject"], "PolicyInputList": [doc]}


def sts_hints():
    iam = client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName=unique("fuzz-sts"), AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    return {"RoleArn": role, "RoleSessionName": "fuzz", "DurationSeconds": 900}


def s3_hints():
    s3 = client("s3")
    bucket = unique("fuzz")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="obj", Body=b"hello")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    FIXTURES["s3"] = (bucket, upload)
    return {"Bucket": bucket, "Key": "obj", "UploadId": upload, "CopySource": f"{bucket}/obj", "Body": b"data"}


HINTS = {"kms": kms_hints, "iam": iam_hints, "sts": sts_hints, "s3": s3_hints}


# ---- raw S3 requests: names, sub-resources, headers and XML bodies no client would send ----

BAD_XML = [b"", b"<", b"not xml", b"<a>", b"<?xml version='1.0'?><Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet>",
           b"<!DOCTYPE x [<!ENTITY a 'b'>]><Tagging>&a;</Tagging>",
           b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><Delete><Object><Key>&a;</Key></Object></Delete>",
           b"<!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
           b"<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'><!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>]><Tagging>&e;&e;&e;</Tagging>",
           b"<a>" * 20000 + b"</a>" * 20000, b"<Tagging>&#0;</Tagging>", b"<Tagging>\x00</Tagging>", b"\xff\xfe<\x00a\x00>",
           b"<Delete><Object><Key>k</Key><VersionId>\x01</VersionId></Object><Quiet>maybe</Quiet></Delete>",
           b"<CompleteMultipartUpload><Part><PartNumber>99999999999</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
           b"<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part></CompleteMultipartUpload>",
           b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>",
           b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>\x00</SSEAlgorithm>"
           b"</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
           b"<CreateBucketConfiguration><LocationConstraint>" + b"x" * 5000 + b"</LocationConstraint></CreateBucketConfiguration>",
           b"{\"json\": true}", b"<Tagging><TagSet>" + b"<Tag><Key>k</Key><Value>v</Value></Tag>" * 100 + b"</TagSet></Tagging>"]


def s3_raw_requests(rng):
    bucket, upload = FIXTURES["s3"]
    q = urllib.parse.quote
    out = []
    xml_ops = [("PutObjectTagging", "PUT", f"/{bucket}/obj", "tagging"), ("DeleteObjects", "POST", f"/{bucket}", "delete"),
               ("CompleteMultipartUpload", "POST", f"/{bucket}/mp", "uploadId=" + q(upload)),
               ("PutBucketEncryption", "PUT", f"/{bucket}", "encryption"), ("PutPublicAccessBlock", "PUT", f"/{bucket}", "publicAccessBlock"),
               ("CreateBucket", "PUT", "/" + unique("fuzz"), ""), ("PutBucketPolicy", "PUT", f"/{bucket}", "policy")]
    for op_name, method, path, query in xml_ops:
        for body in BAD_XML:
            headers = {"Content-MD5": base64.b64encode(__import__("hashlib").md5(body).digest()).decode()} if op_name == "DeleteObjects" else {}
            out.append((op_name, method, path, query, headers, body))
    names = ["a%00b", "%zz", "x" * 300, "%F0%9F%98%80", "..", ".", "%2F%2F", "A%01B", "-" * 3, "a" * 63, "%C0%AF", "%ff"]
    for name in names:
        out.append(("HeadBucket", "HEAD", f"/{name}", "", {}, b""))
        out.append(("ListObjectsV2", "GET", f"/{name}", "list-type=2", {}, b""))
        out.append(("GetObject", "GET", f"/{bucket}/{name}", "", {}, b""))
        out.append(("PutObject", "PUT", f"/{bucket}/{name}", "", {}, b"x"))
    out.append(("PutObject", "PUT", f"/{bucket}/" + "k" * 1100, "", {}, b"x"))
    queries = ["max-keys=abc", "max-keys=-1", "max-keys=99999999999999", "list-type=3", "list-type=2&continuation-token=%00",
               "list-type=2&continuation-token=!!!", "list-type=2&start-after=%00", "versions&max-keys=0", "uploads&max-uploads=-5",
               "uploads&key-marker=%00&upload-id-marker=%ff", "delimiter=%00&prefix=%01", "encoding-type=bogus", "versioning&x=%zz", "%zz=1",
               "policy&policy", "location&location=1", "tagging=%00"]
    for query in queries:
        out.append(("ListObjects", "GET", f"/{bucket}", query, {}, b""))
    object_queries = ["partNumber=0&uploadId=" + q(upload), "partNumber=10001&uploadId=" + q(upload), "partNumber=abc&uploadId=" + q(upload),
                      "uploadId=%00", "uploadId=", "max-parts=-1&uploadId=" + q(upload), "part-number-marker=x&uploadId=" + q(upload),
                      "versionId=%00", "versionId=" + "v" * 2000, "tagging&versionId=null", "partNumber=1", "response-content-type=%00"]
    for query in object_queries:
        method = "PUT" if query.startswith("partNumber") else "GET"
        out.append(("UploadPart" if method == "PUT" else "GetObject", method, f"/{bucket}/obj", query, {}, b"x" if method == "PUT" else b""))
    headers = [{"Range": "bytes=abc"}, {"Range": "bytes=9-1"}, {"Range": "bytes=99999999999999999999-"}, {"Range": "lines=1-2"},
               {"If-Modified-Since": "garbage"}, {"If-Match": ""}, {"x-amz-tagging": "%%%"}, {"x-amz-tagging": "a=" + "b" * 300},
               {"Content-MD5": "notbase64"}, {"Content-MD5": base64.b64encode(b"x" * 16).decode()}, {"x-amz-copy-source": "%"},
               {"x-amz-copy-source": f"/{bucket}/nonexistent"}, {"x-amz-copy-source": "/"}, {"x-amz-copy-source-range": "bytes=x"},
               {"x-amz-server-side-encryption": "bogus"}, {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "\x01"},
               {"x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key": "!!!"},
               {"x-amz-meta-a": "\x01\x02"}, {"x-amz-storage-class": "BOGUS"}, {"x-amz-acl": "bogus"}, {"Expires": "never"},
               {"x-amz-checksum-crc32": "!!!"}, {"x-amz-sdk-checksum-algorithm": "MD7"}, {"x-amz-object-lock-mode": "X"},
               {"x-amz-metadata-directive": "SOMETIMES", "x-amz-copy-source": f"/{bucket}/obj"}, {"x-amz-decoded-content-length": "-1"},
               {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "5"}]
    for h in headers:
        out.append(("PutObject", "PUT", f"/{bucket}/k-{rng.randrange(1000)}", "", h, b"hello"))
        out.append(("GetObject", "GET", f"/{bucket}/obj", "", {k: v for k, v in h.items() if k.lower() not in ("content-encoding",)}, b""))
    return out


def runtime_raw_requests(rng):
    out = []
    for name in ["x", "%00", "a" * 100, "%zz", "%F0%9F%98%80"]:
        for headers in [{}, {"Content-Type": "\x01"}, {"Content-Type": "application/json"}, {"Accept": "*/*;q=x"},
                        {"X-Amzn-SageMaker-Custom-Attributes": "\x01" * 10}, {"X-Amzn-SageMaker-Target-Model": "../../x"},
                        {"X-Amzn-SageMaker-Target-Variant": ""}, {"X-Amzn-SageMaker-Inference-Component": "%00"}]:
            out.append(("InvokeEndpoint", "POST", f"/endpoints/{name}/invocations", "", headers, rng.choice([b"", b"{", b"\x00" * 100, b"x" * 100000])))
    out.append(("InvokeEndpoint", "GET", "/endpoints/x/invocations", "", {}, b""))
    out.append(("InvokeEndpoint", "POST", "/endpoints//invocations", "", {}, b"{}"))
    return out


# ---- one test per service ----

def test_kms():
    fuzz_named_service("kms", RAW_JSON)


def test_iam():
    fuzz_named_service("iam", RAW_QUERY)


def test_logs():
    fuzz_named_service("logs", RAW_JSON)


def test_sts():
    fuzz_named_service("sts", RAW_QUERY)


def test_sns():
    fuzz_named_service("sns", RAW_QUERY)


def test_sagemaker():
    fuzz_named_service("sagemaker", RAW_JSON)


def test_application_autoscaling():
    fuzz_named_service("application-autoscaling", RAW_JSON)


def test_cloudwatch():
    # JSON 1.0 for boto3 1.43, Query for 1.26: the raw bodies of the protocol spoken.
    fuzz_named_service("cloudwatch", RAW_JSON if protocol_of(SESSION.get_service_model("cloudwatch")) == "json" else RAW_QUERY)


def test_events():
    fuzz_named_service("events", RAW_JSON)


def test_s3():
    fuzz_rest_service("s3", s3_raw_requests)


def test_sagemaker_runtime():
    fuzz_rest_service("sagemaker-runtime", runtime_raw_requests)


if __name__ == "__main__":
    run(globals())
