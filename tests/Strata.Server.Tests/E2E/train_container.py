"""A training container of one's own, for training_boto3.py: it implements SageMaker's training
contract (called with `train`, reads /opt/ml/input/config and its channels, writes /opt/ml/model)
through the SM_* variables, and does what its `mode` hyperparameter says:
  ok     sums the first column of every CSV row of the train channel over `epochs` epochs, printing
         `epoch=N loss=X` lines, and writes model.json (with what it saw of its environment) and
         output/data/report.txt
  fail   writes a reason to /opt/ml/output/failure and exits 2
  sleep  waits for SIGTERM, then saves model.json and a checkpoint and exits 0 (or when its parent
         ends, unless `outlive` is yes)"""
import json
import os
import signal
import sys
import time

assert sys.argv[1:] == ["train"], sys.argv
hps = json.loads(os.environ["SM_HPS"])
model_dir, output_dir = os.environ["SM_MODEL_DIR"], os.environ["SM_OUTPUT_DIR"]
mode = hps.get("mode", "ok")
print(f"starting in {os.getcwd()} with {sorted(hps)}", flush=True)

if mode == "fail":
    with open(os.path.join(output_dir, "failure"), "w") as f:
        f.write("ClientError: the label column holds 'cat', which is not a number")
    sys.exit(2)

if mode == "sleep":
    def stop(signum, frame):
        with open(os.path.join(model_dir, "model.json"), "w") as f:
            json.dump({"stopped_by": signum}, f)
        # The checkpoints directory is the model directory's sibling (/opt/ml/checkpoints).
        with open(os.path.join(model_dir, "..", "checkpoints", "step.txt"), "w") as f:
            f.write("42")
        print("saved on SIGTERM", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    checkpoint = os.path.join(model_dir, "..", "checkpoints", "progress.txt")
    if os.path.exists(checkpoint):
        print("restored " + open(checkpoint).read(), flush=True)
    with open(checkpoint, "w") as f:
        f.write(f"checkpoint of {os.environ['TRAINING_JOB_NAME']}")
    print("waiting for SIGTERM", flush=True)
    parent = os.getppid()
    # A server killed outright cannot stop its containers: this one goes when its parent does,
    # unless its `outlive` hyperparameter says to stay, as a container that ignores it would.
    while hps.get("outlive") == "yes" or os.getppid() == parent:
        time.sleep(0.1)

total, rows = 0.0, 0
train = os.environ["SM_CHANNEL_TRAIN"]
for root, _, files in os.walk(train):
    for name in sorted(files):
        with open(os.path.join(root, name)) as f:
            for line in f:
                if line.strip():
                    total += float(line.split(",")[0])
                    rows += 1
epochs = int(hps.get("epochs", "1"))
for epoch in range(epochs):
    print(f"epoch={epoch} loss={1.0 / (epoch + 1):.4f}", flush=True)
data_dir = hps.get("data_dir")
try:
    data_dir_visible = data_dir is not None and len(os.listdir(data_dir)) > 0
except OSError:
    data_dir_visible = False
# The test names a file in Strata's data directory: in the sandbox that directory is hidden under
# an empty read-only tmpfs, so the write must fail.
escape = "not tried"
if hps.get("escape_to"):
    try:
        with open(hps["escape_to"], "w") as f:
            f.write("escaped")
        escape = "written"
    except OSError as e:
        escape = f"refused: {e}"
# What the test prepared outside the job (root's files; a socket under /tmp as the server's are):
# the container, its own unprivileged user, must reach none of it (each result is the errno's name).
probes = {}
if hps.get("probe"):
    import errno
    import glob
    import socket
    probe = json.loads(hps["probe"])

    def attempt(name, action):
        try:
            action()
            probes[name] = "done"
        except OSError as e:
            probes[name] = errno.errorcode.get(e.errno, str(e.errno))

    attempt("binary", lambda: open(probe["binary"], "r+b").close())          # root:root 0755, as /usr/bin/setpriv
    attempt("proc_sys", lambda: open("/proc/sys/kernel/domainname", "w").close())  # opened only, never written
    attempt("disk", lambda: open(probe["disk"], "rb").close())                # root:disk 0660, as /dev/sda
    attempt("secret", lambda: open(probe["secret"], "rb").close())            # root:root 0700
    attempt("proc_root", lambda: open("/proc/1/root" + probe["secret"], "rb").close())  # through another process's root
    attempt("socket", lambda: socket.socket(socket.AF_UNIX).connect(probe["socket"]))
    attempt("socket_replace", lambda: os.unlink(probe["socket"]))
    attempt("home", lambda: open(os.path.join(os.environ["HOME"], "x"), "w").close())
    probes["strata_sockets"] = glob.glob("/tmp/strata-*")
    # The server's environment holds its root keys (and may hold its master key): none of it comes in.
    probes["server_variables"] = sorted(k for k in os.environ if k.startswith(("STRATA_ROOT", "STRATA_MASTER", "AWS_SECRET", "AWS_ACCESS")))
    probes["uid"], probes["euid"], probes["groups"] = os.getuid(), os.geteuid(), os.getgroups()
    probes["capabilities"] = [line.split()[1] for line in open("/proc/self/status") if line.startswith("CapEff:")][0]
model = {
    "probes": probes,
    "escape": escape,
    "sum": total, "rows": rows, "hyperparameters": hps, "greeting": os.environ.get("GREETING"),
    "model_dir": model_dir, "channels": json.loads(os.environ["SM_CHANNELS"]), "current_host": os.environ["SM_CURRENT_HOST"],
    "opt_ml_config": os.path.exists("/opt/ml/input/config/hyperparameters.json"),
    "resource_config": json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "resourceconfig.json"))),
    "data_dir_visible": data_dir_visible, "job_name": os.environ.get("TRAINING_JOB_NAME"),
}
with open(os.path.join(model_dir, "model.json"), "w") as f:
    json.dump(model, f)
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt"), "w") as f:
    f.write(f"{rows} rows\n")
print("done", flush=True)
