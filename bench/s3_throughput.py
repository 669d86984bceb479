"""S3 throughput, three ways in one run: Strata, moto_server (what many run locally instead),
and a plain `cp` of the same bytes on the same disk (the floor).

  python3 bench/s3_throughput.py [--strata-dll PATH] [--rounds N]

Measures with the image's boto3: PUT and GET of 1 MiB and 256 MiB objects (single requests),
and the PUT rate of 4 KiB objects. Prints a Markdown table with MB/s (or objects/s) and each
result as a ratio of the floor, plus Strata's peak resident memory during the run.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config

MIB = 1024 * 1024
KEY_ID, SECRET = "AKIABENCH00000000000", "bench-secret-bench-secret-bench-secret00"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {url}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # answering, even if with an error
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start: {url}")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn, repeat):
    start = time.perf_counter()
    for i in range(repeat):
        fn(i)
    return time.perf_counter() - start


def bench_s3(endpoint, payloads, rounds):
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
                      aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}, max_pool_connections=4))
    s3.create_bucket(Bucket="bench")
    results = {}
    for name, data, repeat in payloads:
        put = timed(lambda i: s3.put_object(Bucket="bench", Key=f"{name}/{i}", Body=data), repeat * rounds)
        get = timed(lambda i: s3.get_object(Bucket="bench", Key=f"{name}/{i % repeat}")["Body"].read(), repeat * rounds)
        results[name] = (put, get, len(data) * repeat * rounds, repeat * rounds)
    return results


def bench_cp(payloads, rounds, workdir):
    """The floor: the same bytes written to and read back from files on the same disk with cp."""
    src_dir, dst_dir = os.path.join(workdir, "src"), os.path.join(workdir, "dst")
    os.makedirs(src_dir)
    os.makedirs(dst_dir)
    results = {}
    for name, data, repeat in payloads:
        src = os.path.join(src_dir, name)
        with open(src, "wb") as f:
            f.write(data)
        n = repeat * rounds
        put = timed(lambda i: subprocess.run(["cp", src, os.path.join(dst_dir, f"{name}-{i}")], check=True), n)
        get = timed(lambda i: subprocess.run(["cp", os.path.join(dst_dir, f"{name}-{i % repeat}"), os.path.join(dst_dir, "out")], check=True), n)
        results[name] = (put, get, len(data) * n, n)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--strata-dll", default=os.path.join(os.path.dirname(__file__), "..", ".build", "strata", "strata.dll"))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    payloads = [("4KiB", os.urandom(4096), 500), ("1MiB", os.urandom(MIB), 50), ("256MiB", os.urandom(256 * MIB), 2)]
    work = tempfile.mkdtemp(prefix="strata-bench-", dir=os.environ.get("BENCH_DIR"))
    procs = []
    try:
        env = dict(os.environ, STRATA_ROOT_ACCESS_KEY_ID=KEY_ID, STRATA_ROOT_SECRET_ACCESS_KEY=SECRET)
        port = free_port()
        strata = subprocess.Popen(["dotnet", args.strata_dll, "serve", "--port", str(port), "--tls-port", "0", "--data-dir", os.path.join(work, "strata")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        procs.append(strata)
        wait_http(f"http://127.0.0.1:{port}/_strata/health", strata)
        moto_port = free_port()
        moto = subprocess.Popen(["moto_server", "-p", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        procs.append(moto)
        wait_http(f"http://127.0.0.1:{moto_port}/", moto)

        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = KEY_ID, SECRET
        results = {
            "cp (floor)": bench_cp(payloads, args.rounds, work),
            "Strata": bench_s3(f"http://127.0.0.1:{port}", payloads, args.rounds),
            "moto_server": bench_s3(f"http://127.0.0.1:{moto_port}", payloads, args.rounds),
        }
        strata_rss = peak_rss_mib(strata.pid)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)

    floor = results["cp (floor)"]
    print("| target | 4 KiB PUT objects/s | 1 MiB PUT MB/s | 1 MiB GET MB/s | 256 MiB PUT MB/s | 256 MiB GET MB/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for target, r in results.items():
        cells = []
        put, _, _, n = r["4KiB"]
        fput, _, _, _ = floor["4KiB"]
        cells.append(f"{n / put:,.0f} ({fput / put:.2f}× floor)")
        for name in ["1MiB", "256MiB"]:
            put, get, size, _ = r[name]
            fput, fget, _, _ = floor[name]
            cells.append(f"{size / put / 1e6:,.0f} ({fput / put:.2f}×)")
            cells.append(f"{size / get / 1e6:,.0f} ({fget / get:.2f}×)")
        print(f"| {target} | " + " | ".join(cells) + " |")
    print()
    print(f"Strata peak resident memory over the whole run: {strata_rss:.0f} MiB")
    s, m = results["Strata"], results["moto_server"]
    print("Strata ÷ moto_server: " + ", ".join(
        f"{name} PUT {m[name][0] / s[name][0]:.2f}×, GET {m[name][1] / s[name][1]:.2f}×" for name in ["4KiB", "1MiB", "256MiB"]))


if __name__ == "__main__":
    sys.exit(main())
