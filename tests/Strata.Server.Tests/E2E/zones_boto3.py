"""Zones and failure drills end to end: a variant's instances spread over the installation's
availability zones, `strata chaos fail-zone` and `kill-instance` kill instances under load, the
replacements start in healthy zones, and no client request fails."""
import json
import os
import subprocess
import threading
import time
from collections import Counter

import boto3
from botocore.config import Config

from harness import deploy_regression, endpoint, eq, execution_role, raw_answer, run, unique, until

cfg = Config(retries={"max_attempts": 1}, max_pool_connections=16)
s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
BUCKET = unique("zones")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam)


def strata(*args, check=True):
    r = subprocess.run(["dotnet", os.environ["STRATA_DLL"], *args, "--data-dir", os.environ["STRATA_DATA_DIR"]], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"strata {' '.join(args)}: {r.stdout}{r.stderr}")
    return r


def where(name):
    """Zone → instance count of the endpoint, from the running server."""
    listed = json.loads(strata("chaos", "instances").stdout)
    return Counter(i["zone"] for i in listed["instances"] if i["endpoint"] == name)


def deploy(count):
    return deploy_regression(s3, sm, BUCKET, ROLE, count)


class Load:
    """Invokes the endpoint from 4 threads until stopped, counting requests and failures."""
    def __init__(self, name):
        self.stop, self.done, self.failures = threading.Event(), 0, []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(name,)) for _ in range(4)]
        for t in self.threads:
            t.start()

    def run(self, name):
        while not self.stop.is_set():
            try:
                rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json")
                with self.lock:
                    self.done += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                with self.lock:
                    self.failures.append(repr(e))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()



def test_instances_spread_and_a_zone_fails_without_a_lost_request():
    name = deploy(4)
    eq(sorted(where(name).values()), [1, 1, 2], "4 instances over 3 zones")
    raw = raw_answer(sm, "DescribeEndpoint", lambda: sm.describe_endpoint(EndpointName=name))
    zones_seen = {i["AvailabilityZone"] for i in raw["ProductionVariants"][0]["StrataInstances"]}
    eq(zones_seen, {"us-east-1a", "us-east-1b", "us-east-1c"}, "DescribeEndpoint's extension shows the zones")
    doomed = "us-east-1a"
    with Load(name) as load:
        time.sleep(0.5)
        out = json.loads(strata("chaos", "fail-zone", doomed).stdout)
        assert out["killed"], out
        until("replacements in healthy zones", lambda: sum(where(name).values()) == 4 and where(name)[doomed] == 0)
        time.sleep(0.5)
    eq(load.failures, [], "requests lost while the zone failed")
    assert load.done > 50, load.done
    eq(sum(where(name).values()), 4, "capacity restored")
    strata("chaos", "restore-zone", doomed)
    sm.delete_endpoint(EndpointName=name)


def test_kill_instance_under_load():
    name = deploy(2)
    before = json.loads(strata("chaos", "instances").stdout)
    victim = next(i["instance"] for i in before["instances"] if i["endpoint"] == name)
    with Load(name) as load:
        time.sleep(0.3)
        out = json.loads(strata("chaos", "kill-instance", "--endpoint", name, "--instance", victim).stdout)
        eq(len(out["killed"]), 1, "one killed")
        until("a replacement", lambda: sum(where(name).values()) == 2 and victim not in strata("chaos", "instances").stdout)
    eq(load.failures, [], "requests lost when an instance died")
    sm.delete_endpoint(EndpointName=name)


def test_drill_errors():
    r = strata("chaos", "fail-zone", "mars-1a", check=False)
    assert r.returncode != 0 and "not one of this installation's zones" in r.stderr, r
    r = strata("chaos", "kill-instance", "--endpoint", "no-such-endpoint", check=False)
    assert r.returncode != 0 and "no such running instance" in r.stderr, r


run(globals())
