"""Strata's own output in CloudWatch Logs, read with unmodified clients: a container of one's
own prints lines; they become events of /aws/sagemaker/Endpoints/<endpoint>, stream
<variant>/<instance-id>, and `aws logs tail --follow` (Debian's CLI v2) shows them."""
import os
import queue
import subprocess
import sys
import threading
import time

import boto3
from botocore.config import Config

from harness import deploy_byoc, endpoint, eq, execution_role, run, unique, until, validate_responses

cfg = Config(retries={"max_attempts": 1})
logs = validate_responses(boto3.client("logs", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
HERE = os.path.dirname(os.path.abspath(__file__))
ENDPOINT = None


def byoc_endpoint():
    """One endpoint of byoc_server.py for the whole script."""
    global ENDPOINT
    ENDPOINT = ENDPOINT or deploy_byoc(sm, iam)
    return ENDPOINT


def test_endpoint_output_is_log_events():
    name = byoc_endpoint()
    group = f"/aws/sagemaker/Endpoints/{name}"
    until("the endpoint's log group", lambda: logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"], 10)
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    eq(len(streams), 1, "one stream per instance")
    stream = streams[0]["logStreamName"]
    assert stream.startswith("main/i-"), stream
    messages = lambda: [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]]
    until("the container's first line", lambda: any(m.startswith("byoc: serving on") for m in messages()), 5)
    # A request's line, readable within about a second of being printed.
    rt.invoke_endpoint(EndpointName=name, Body=b"hello", ContentType="text/plain")
    printed = time.time()
    until("the request's line", lambda: any(m.startswith("request:") for m in messages()), 2)
    print(f"request line readable after {time.time() - printed:.2f} s")
    # The instance's log file is still written.
    instance = stream.split("/", 1)[1]
    path = os.path.join(os.environ["STRATA_DATA_DIR"], "logs", "aws", "sagemaker", "Endpoints", name, "main", instance + ".log")
    assert "byoc: serving on" in open(path).read(), path
    # The filter language over them.
    eq(len(logs.filter_log_events(logGroupName=group, filterPattern='"byoc: serving"')["events"]), 1, "filtered")


def test_endpoint_output_through_metric_filters():
    """A metric filter on the endpoint's log group counts what its container prints: byoc_server.py
    prints one line per request (`request: "%s" %s %s POST /invocations HTTP/1.1 200 -`: the
status is the last field but one), counted
    by status as a dimension; only lines printed after the filter was put."""
    import datetime
    cw = validate_responses(boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
    name = byoc_endpoint()
    group = f"/aws/sagemaker/Endpoints/{name}"
    until("the endpoint's log group", lambda: logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"], 10)
    ns = unique("Endpoint/Logs")
    logs.put_metric_filter(logGroupName=group, filterName="requests", filterPattern='[tag = "request:", ..., status, size]',
                           metricTransformations=[{"metricName": "Requests", "metricNamespace": ns, "metricValue": "1", "dimensions": {"Status": "$status"}}])
    for body in (b"one", b"fail", b"two"):
        try:
            rt.invoke_endpoint(EndpointName=name, Body=body, ContentType="text/plain")
        except rt.exceptions.ModelError:
            pass  # "fail" answers 500, printed with its status like any other request

    def total(status):
        now = datetime.datetime.now(datetime.timezone.utc)
        points = cw.get_metric_statistics(Namespace=ns, MetricName="Requests", Dimensions=[{"Name": "Status", "Value": status}],
                                          StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=1),
                                          Period=60, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)
    until("the requests counted", lambda: (total("200"), total("500")) == (2, 1), 10)


def test_aws_logs_tail_follow():
    """Debian's CLI v2 `aws logs tail --follow` (it polls FilterLogEvents, every 5 s once it has
    read everything): the line already there shows with its first poll (about 1.2 s after the
    CLI starts, most of it the CLI's own start), a new one within one poll (measured 4.5 s: the
    CLI's 5-second sleep; ingestion itself takes milliseconds). The times are printed, not
    asserted: a loaded machine may take longer, and a minute is allowed before it counts as never."""
    name = byoc_endpoint()
    group = f"/aws/sagemaker/Endpoints/{name}"
    until("the endpoint's log group", lambda: logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"], 10)
    lines = queue.Queue()
    started = time.time()
    tail = subprocess.Popen(["/usr/bin/aws", "logs", "tail", group, "--follow", "--format", "short", "--endpoint-url", endpoint(), "--region", "us-east-1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    threading.Thread(target=lambda: [lines.put((time.time(), line)) for line in tail.stdout], daemon=True).start()

    def wait_for(prefix, seconds):
        deadline = time.time() + seconds
        seen = []
        while time.time() < deadline:
            try:
                at, line = lines.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            seen.append(line)
            if prefix in line:
                return at
        raise AssertionError(f"`aws logs tail` did not show {prefix!r} within {seconds} s; it printed {seen!r}")

    try:
        at = wait_for("byoc: serving on", 60)
        print(f"aws logs tail showed the line {at - started:.2f} s after it started")
        # The first poll printed everything already there at once; what comes after is new.
        while True:
            try:
                lines.get(timeout=0.5)
            except queue.Empty:
                break
        rt.invoke_endpoint(EndpointName=name, Body=b"tail me", ContentType="text/plain")
        printed = time.time()
        at = wait_for("POST /invocations", 60)
        print(f"aws logs tail --follow showed a new line {at - printed:.2f} s after it was printed")
    finally:
        tail.kill()
        tail.wait()


def test_strata_logs_command():
    """`strata logs ENDPOINT` prints the endpoint's events; with --follow, new lines as they come
    (how soon is printed: measured well under 2 s)."""
    name = byoc_endpoint()
    strata = ["dotnet", os.environ["STRATA_DLL"], "logs", name, "--data-dir", os.environ["STRATA_DATA_DIR"]]
    until("the endpoint's first line", lambda: "byoc: serving on" in subprocess.run(strata, capture_output=True, text=True, timeout=60).stdout, 10)
    out = subprocess.run(strata, capture_output=True, text=True, timeout=60)
    eq(out.returncode, 0, "exit code")
    first = next(line for line in out.stdout.splitlines() if "byoc: serving on" in line)
    assert first.split(" ")[1].startswith("main/i-"), first
    missing = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "logs", "no-such-endpoint", "--data-dir", os.environ["STRATA_DATA_DIR"]], capture_output=True, text=True, timeout=60)
    eq(missing.returncode, 2, "no such endpoint")
    lines = queue.Queue()
    follow = subprocess.Popen(strata + ["--follow", "--since", "1h"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threading.Thread(target=lambda: [lines.put((time.time(), line)) for line in follow.stdout], daemon=True).start()
    try:
        deadline = time.time() + 30
        while time.time() < deadline:  # what is there already, then quiet
            at, line = lines.get(timeout=30)
            if "byoc: serving on" in line:
                break
        while True:
            try:
                lines.get(timeout=1)
            except queue.Empty:
                break
        rt.invoke_endpoint(EndpointName=name, Body=b"follow me", ContentType="text/plain")
        printed = time.time()
        while True:
            at, line = lines.get(timeout=60)
            if "POST /invocations" in line:
                break
        print(f"strata logs --follow showed a new line {at - printed:.2f} s after it was printed")
    finally:
        follow.kill()
        follow.wait()


def test_transform_job_output_is_log_events():
    """A batch transform job: each instance's output in /aws/sagemaker/TransformJobs, stream
    <job>/<instance-id>, and the job's own summary in <job>/data-log."""
    s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    bucket = unique("logs-transform")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/a.txt", Body=b"one\ntwo\n")
    image = f"registry.example.com/team/batch:{unique('v')}"
    subprocess.run(["dotnet", os.environ["STRATA_DLL"], "images", "add", "--data-dir", os.environ["STRATA_DATA_DIR"], image, "--",
                    sys.executable, os.path.join(HERE, "byoc_server.py")], check=True, capture_output=True)
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=execution_role(iam, s3_actions=("s3:GetObject", "s3:ListBucket", "s3:PutObject")),
                    PrimaryContainer={"Image": image})
    job = unique("job")
    sm.create_transform_job(TransformJobName=job, ModelName=model,
                            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/in/"}},
                                            "ContentType": "text/plain", "SplitType": "Line"},
                            TransformOutput={"S3OutputPath": f"s3://{bucket}/out/"},
                            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=job, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    eq(sm.describe_transform_job(TransformJobName=job)["TransformJobStatus"], "Completed", "job")
    group = "/aws/sagemaker/TransformJobs"

    def streams():
        return sorted(s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=job + "/")["logStreams"])
    until("the job's streams", lambda: logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] and len(streams()) == 2, 10)
    data_log, instance = streams()
    assert instance.startswith(f"{job}/i-") and data_log == f"{job}/data-log", streams()
    until("the summary", lambda: any(e["message"].startswith("Completed:") for e in logs.get_log_events(logGroupName=group, logStreamName=data_log)["events"]), 5)
    messages = [e["message"] for e in logs.filter_log_events(logGroupName=group, logStreamNames=[instance], filterPattern="POST")["events"]]
    assert any("/invocations" in m for m in messages), messages


if __name__ == "__main__":
    run(globals())
