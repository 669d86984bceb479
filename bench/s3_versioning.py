"""The cost of S3 versioning: PUT and GET rates of a versioned bucket against an unversioned one,
on the same Strata server in the same run (reported as a ratio).

  python3 bench/s3_versioning.py [--strata-dll PATH] [--rounds N] [--keys K] [--writes W]

Each round writes W 4 KiB objects over K keys (so every key is overwritten W/K times: in the
versioned bucket each overwrite keeps a version) and reads each written key back once, first in
one bucket, then the other, alternating which goes first so that a loaded machine's swings fall on
both alike. Uses the image's boto3 and the server's own SQLite state (every PUT committed before it
is answered).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_throughput import KEY_ID, SECRET, free_port, timed, wait_http  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--strata-dll", default=os.path.join(os.path.dirname(__file__), "..", ".build", "strata", "strata.dll"))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--writes", type=int, default=250)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="strata-bench-versioning-", dir=os.environ.get("BENCH_DIR"))
    env = dict(os.environ, STRATA_ROOT_ACCESS_KEY_ID=KEY_ID, STRATA_ROOT_SECRET_ACCESS_KEY=SECRET)
    port = free_port()
    strata = subprocess.Popen(["dotnet", args.strata_dll, "serve", "--port", str(port), "--tls-port", "0", "--data-dir", os.path.join(work, "strata")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/_strata/health", strata)
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="plain")
        s3.create_bucket(Bucket="versioned")
        s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        data = os.urandom(4096)
        totals = {b: [0.0, 0.0] for b in ("plain", "versioned")}
        for r in range(args.rounds):
            order = ("plain", "versioned") if r % 2 == 0 else ("versioned", "plain")
            for b in order:
                totals[b][0] += timed(lambda i: s3.put_object(Bucket=b, Key=f"k{i % args.keys}", Body=data), args.writes)
                totals[b][1] += timed(lambda i: s3.get_object(Bucket=b, Key=f"k{i % args.keys}")["Body"].read(), args.writes)
        versions = sum(len(p.get("Versions", [])) for p in s3.get_paginator("list_object_versions").paginate(Bucket="versioned"))
    finally:
        strata.kill()
        strata.wait()
        shutil.rmtree(work, ignore_errors=True)

    n = args.writes * args.rounds
    plain, versioned = totals["plain"], totals["versioned"]
    print(f"{n} PUTs and {n} GETs of 4 KiB per bucket over {args.keys} keys; the versioned bucket ended with {versions} versions")
    print()
    print("| bucket | PUT objects/s | GET objects/s |")
    print("| --- | ---: | ---: |")
    print(f"| unversioned | {n / plain[0]:,.0f} | {n / plain[1]:,.0f} |")
    print(f"| versioned (Enabled) | {n / versioned[0]:,.0f} | {n / versioned[1]:,.0f} |")
    print(f"| versioned ÷ unversioned | {plain[0] / versioned[0]:.2f}× | {plain[1] / versioned[1]:.2f}× |")


if __name__ == "__main__":
    sys.exit(main())
