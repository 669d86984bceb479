"""A processing container of one's own, for processing_boto3.py and processing_clock_boto3.py: it
reads SageMaker's processing contract (/opt/ml/config/processingjobconfig.json, whose LocalPaths say
where its inputs and outputs are) and does what its first argument (ContainerArguments) says:
  ok [--factor N]  sums the first column of every CSV row of every input (times N), writes
                   result.csv and sub/dir/seen.json (what it saw: its config, its inputs' files, its
                   environment, its arguments, its session) to its first output, and "processed R rows"
                   to /opt/ml/output/message
  fail             writes a message and /opt/ml/output/failure, exits 3
  badmessage       writes bytes that are not UTF-8 to /opt/ml/output/message, exits 0
  daemon           starts a grandchild that keeps its stdout open (sleep 1000), writes its pid to the
                   message, and exits 0 at once
  sleep            writes progress.txt to its first output, starts a grandchild (sleep 1000) whose pid
                   is the message, and waits for SIGTERM; then writes stopped.txt and exits 0
  stubborn         like sleep, but ignores SIGTERM (only SIGKILL ends it)
  linger           waits, with no grandchild, until its parent (the server) goes
Without the server's sandbox (not root) /opt/ml is not there: the container starts in its job's
directory, which holds the same files."""
import json
import os
import signal
import subprocess
import sys
import time

base = "/opt/ml" if os.path.exists("/opt/ml/config/processingjobconfig.json") else os.getcwd()
config = json.load(open(os.path.join(base, "config", "processingjobconfig.json")))
resources = json.load(open(os.path.join(base, "config", "resourceconfig.json")))
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
inputs = {i["InputName"]: i["S3Input"]["LocalPath"] for i in config["ProcessingInputs"]}
outputs = [o["S3Output"]["LocalPath"] for o in config["ProcessingOutputConfig"]["Outputs"]]
print(f"processing {config['ProcessingJobName']} in {mode} mode from {os.getcwd()}", flush=True)


def message(text):
    with open(os.path.join(base, "output", "message"), "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())


def files(root):
    """The files under a directory, by relative path, with their contents."""
    found = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = open(path, errors="replace").read()
    return dict(sorted(found.items()))


def grandchild():
    """A process of the container's that outlives its main process unless the container's end ends it."""
    return subprocess.Popen(["sleep", "1000"]).pid


def reachable(url):
    """Whether the server's port answers a connection (EnableNetworkIsolation: it must not)."""
    import socket
    host, port = url.split("//")[1].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return True
    except OSError:
        return False


def wait_until_parent_goes():
    # A server killed outright cannot stop its containers: this one goes when its parent does.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.1)


if mode == "fail":
    message("half the rows were read")
    with open(os.path.join(base, "output", "failure"), "w") as f:
        f.write("ClientError: column 2 of part-1.csv is not a number")
    sys.exit(3)

if mode == "badmessage":
    message(b"\xff\xfe not utf-8 \xc3\x28")
    sys.exit(0)

if mode == "daemon":
    message(f"grandchild {grandchild()}")
    print("leaving a grandchild behind", flush=True)
    sys.exit(0)

if mode == "linger":
    print("lingering", flush=True)
    wait_until_parent_goes()
    sys.exit(0)

if mode in ("sleep", "stubborn"):
    with open(os.path.join(outputs[0], "progress.txt"), "w") as f:
        f.write("half way")
    message(f"grandchild {grandchild()}")

    def stop(signum, frame):
        if mode == "stubborn":
            print("ignoring SIGTERM", flush=True)
            return
        with open(os.path.join(outputs[0], "stopped.txt"), "w") as f:
            f.write(f"stopped by {signum}")
        print("saved on SIGTERM", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    print("waiting for SIGTERM", flush=True)
    wait_until_parent_goes()
    sys.exit(0)

factor = float(sys.argv[sys.argv.index("--factor") + 1]) if "--factor" in sys.argv else 1.0
total, rows = 0.0, 0
for path in inputs.values():
    for content in files(path).values():
        for line in content.splitlines():
            if line.strip():
                total += float(line.split(",")[0]) * factor
                rows += 1
os.makedirs(os.path.join(outputs[0], "sub", "dir"), exist_ok=True)
with open(os.path.join(outputs[0], "result.csv"), "w") as f:
    f.write(f"{total},{rows}\n")
data_dir = os.environ.get("DATA_DIR")
try:
    data_dir_visible = data_dir is not None and len(os.listdir(data_dir)) > 0
except OSError:
    data_dir_visible = False
seen = {
    "config": config, "resources": resources, "argv": sys.argv[1:], "cwd": os.getcwd(),
    "inputs": {name: files(path) for name, path in inputs.items()},
    "greeting": os.environ.get("GREETING"), "region": os.environ.get("AWS_REGION"),
    "own_session": os.getsid(0) == os.getpid() and os.getpgid(0) == os.getpid(),
    "data_dir_visible": data_dir_visible, "outputs_exist": all(os.path.isdir(p) for p in outputs),
    "server_reachable": reachable(os.environ["PROBE"]) if "PROBE" in os.environ else None,
}
with open(os.path.join(outputs[0], "sub", "dir", "seen.json"), "w") as f:
    json.dump(seen, f)
message(f"processed {rows} rows")
print("done", flush=True)
