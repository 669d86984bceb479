"""Step Functions' HTTP Task end to end with an unmodified boto3 (1.43 and Debian's 1.26): a request
to a third-party API (a local HTTP server standing in for it) authorized by an EventBridge
connection, as AWS authorizes it (states:InvokeHTTPEndpoint with its endpoint and method keys,
events:RetrieveConnectionCredentials), its answer the task's result and its failures AWS's errors."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

from harness import client, eq, run, states_role, unique, until, validate_responses

sfn = validate_responses(client("stepfunctions"))
iam, events = client("iam"), client("events")
SEEN = []


class Api(BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        url = urlparse(self.path)
        SEEN.append({"method": self.command, "path": url.path, "query": dict(parse_qsl(url.query)), "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body": body})
        if url.path == "/missing":
            status, payload = 404, {"message": "no such model"}
        else:
            status, payload = 200, {"accepted": True, "path": url.path}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = answer

    def log_message(self, *args):
        pass


SERVER = ThreadingHTTPServer(("127.0.0.1", 0), Api)
threading.Thread(target=SERVER.serve_forever, daemon=True).start()
API = f"http://127.0.0.1:{SERVER.server_address[1]}"
CONNECTION = events.create_connection(
    Name=unique("registry"), AuthorizationType="API_KEY",
    AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k-123"},
                    "InvocationHttpParameters": {"QueryStringParameters": [{"Key": "team", "Value": "ml"}],
                                                 "BodyParameters": [{"Key": "source", "Value": "strata"}]}})["ConnectionArn"]


def role(allowed):
    return states_role(iam, allowed)


CREDENTIALS = {"Effect": "Allow", "Action": "events:RetrieveConnectionCredentials", "Resource": CONNECTION}
INVOKER = role([{"Effect": "Allow", "Action": "states:InvokeHTTPEndpoint", "Resource": "*"}, CREDENTIALS])


def http_task(**parameters):
    return {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
            "Parameters": {"Authentication": {"ConnectionArn": CONNECTION}, **parameters}}


def execute(state, role_arn=INVOKER, execution_input="{}"):
    arn = sfn.create_state_machine(name=unique("http"), definition=json.dumps({"StartAt": "Call", "States": {"Call": state}}),
                                   roleArn=role_arn)["stateMachineArn"]
    run_arn = sfn.start_execution(stateMachineArn=arn, input=execution_input)["executionArn"]
    until(f"{run_arn} ends", lambda: sfn.describe_execution(executionArn=run_arn)["status"] != "RUNNING", 60)
    return sfn.describe_execution(executionArn=run_arn)


def test_a_post_with_the_connections_key_and_parameters():
    SEEN.clear()
    d = execute(http_task(**{"ApiEndpoint": f"{API}/models", "Method": "POST", "Headers": {"x-run": "7"}, "QueryParameters": {"stage": "prod"},
                             "RequestBody.$": "$.model"}), execution_input=json.dumps({"model": {"name": "churn-v3", "auc": 0.91}}))
    eq(d["status"], "SUCCEEDED", f"{d.get('error')}: {d.get('cause')}")
    out = json.loads(d["output"])
    eq((out["StatusCode"], out["StatusText"], out["ResponseBody"]), (200, "OK", {"accepted": True, "path": "/models"}), "the answer")
    eq(out["Headers"]["Content-Type"], ["application/json"], "its headers, each a list")
    request = SEEN[-1]
    eq((request["method"], request["path"], request["query"]), ("POST", "/models", {"stage": "prod", "team": "ml"}), "method, path and query")
    eq((request["headers"]["x-api-key"], request["headers"]["x-run"]), ("k-123", "7"), "the connection's key and the task's header")
    eq(json.loads(request["body"]), {"name": "churn-v3", "auc": 0.91, "source": "strata"}, "the body with the connection's parameters")
    assert request["headers"]["user-agent"].startswith("Amazon|StepFunctions|HttpInvoke|"), request["headers"]


def test_a_url_encoded_body():
    SEEN.clear()
    d = execute(http_task(ApiEndpoint=f"{API}/form", Method="PUT", RequestBody={"tags": ["a", "b"], "meta": {"owner": "ml"}},
                          Transform={"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}))
    eq(d["status"], "SUCCEEDED", f"{d.get('error')}: {d.get('cause')}")
    eq(SEEN[-1]["headers"]["content-type"], "application/x-www-form-urlencoded", "form content type")
    eq(parse_qsl(SEEN[-1]["body"]), [("tags[]", "a"), ("tags[]", "b"), ("meta[owner]", "ml"), ("source", "strata")], "form fields")


def test_a_failed_status_is_an_error_a_catch_can_take():
    state = http_task(ApiEndpoint=f"{API}/missing", Method="GET")
    d = execute(state)
    eq((d["status"], d["error"]), ("FAILED", "States.Http.StatusCode.404"), "404")
    eq(json.loads(d["cause"])["ResponseBody"], {"message": "no such model"}, "the answer is the cause")
    state = {**state, "End": None, "Next": "Missing", "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "Missing"}]}
    state.pop("End")
    arn = sfn.create_state_machine(name=unique("http"), roleArn=INVOKER, definition=json.dumps(
        {"StartAt": "Call", "States": {"Call": state, "Missing": {"Type": "Pass", "Result": "fallback", "End": True}}}))["stateMachineArn"]
    run_arn = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    until("caught", lambda: sfn.describe_execution(executionArn=run_arn)["status"] != "RUNNING", 60)
    eq(sfn.describe_execution(executionArn=run_arn)["output"], '"fallback"', "caught")


def test_the_role_must_be_allowed():
    get_only = role([{"Effect": "Allow", "Action": "states:InvokeHTTPEndpoint", "Resource": "*",
                      "Condition": {"StringEquals": {"states:HTTPMethod": "GET"}, "StringLike": {"states:HTTPEndpoint": f"{API}/*"}}}, CREDENTIALS])
    SEEN.clear()
    eq(execute(http_task(ApiEndpoint=f"{API}/ok", Method="GET"), role_arn=get_only)["status"], "SUCCEEDED", "a GET the condition allows")
    denied = execute(http_task(ApiEndpoint=f"{API}/ok", Method="POST"), role_arn=get_only)
    eq(denied["error"], "States.TaskFailed", "a POST it does not")
    assert "states:InvokeHTTPEndpoint" in denied["cause"], denied["cause"]
    no_credentials = role([{"Effect": "Allow", "Action": "states:InvokeHTTPEndpoint", "Resource": "*"}])
    d = execute(http_task(ApiEndpoint=f"{API}/ok", Method="GET"), role_arn=no_credentials)
    eq(d["error"], "States.TaskFailed", "no connection credentials")
    assert "events:RetrieveConnectionCredentials" in d["cause"], d["cause"]
    eq(len(SEEN), 1, "only the allowed request was sent")
    eq(execute(http_task(ApiEndpoint="http://example.com/hook", Method="GET"))["error"], "States.Runtime", "plain HTTP off this machine")
    unknown = {**http_task(ApiEndpoint=f"{API}/ok", Method="GET"), "Parameters": {"ApiEndpoint": f"{API}/ok", "Method": "GET",
                                                                                  "Authentication": {"ConnectionArn": CONNECTION + "x"}}}
    # IAM first: the role's grant names only the real connection.
    eq(execute(unknown)["error"], "States.TaskFailed", "another connection than the role may use")
    any_connection = role([{"Effect": "Allow", "Action": ["states:InvokeHTTPEndpoint", "events:RetrieveConnectionCredentials"], "Resource": "*"}])
    missing = execute(unknown, role_arn=any_connection)
    eq(missing["error"], "States.Runtime", "an unknown connection")
    assert "does not exist" in missing["cause"], missing["cause"]


if __name__ == "__main__":
    run(globals())
