"""A training container that reads its channels in Pipe mode, for training_pipe_boto3.py and
training_pipe_cli.sh: called with `train`, it reads the SageMaker contract (inputdataconfig.json,
SM_* variables) and, as its `mode` hyperparameter says:
  read    for each channel of the `plan` hyperparameter ({"channel": {"epochs": N, "partial": [epochs]}}),
          opens /opt/ml/input/data/<channel>_<epoch> for each epoch in turn and reads it to its end
          (or, for a `partial` epoch, 10 bytes, then closes it), and writes model.json: what each
          epoch held (its size, SHA-256 and, up to 64 KiB, its bytes in base64), whether the next
          epoch's pipe was there when it ended, and what it saw of its configuration
  block   opens its first pipe, reads 16 bytes and reads no more, waiting to be stopped
  ignore  exits at once without opening any pipe"""
import base64
import hashlib
import json
import os
import stat
import sys
import time

assert sys.argv[1:] == ["train"], sys.argv
hps = json.loads(os.environ["SM_HPS"])
mode = hps.get("mode", "read")
config_dir = os.environ["SM_INPUT_CONFIG_DIR"]
data_dir = os.path.join(os.path.dirname(config_dir), "data")
config = json.load(open(os.path.join(config_dir, "inputdataconfig.json")))
print(f"pipe container: {mode}", flush=True)

if mode == "ignore":
    sys.exit(0)

if mode == "block":
    pipe = open(os.path.join(data_dir, hps["channel"] + "_0"), "rb")
    pipe.read(16)
    print("blocked on the pipe", flush=True)
    parent = os.getppid()
    # A server killed outright cannot stop its containers: this one goes when its parent does.
    while os.getppid() == parent:
        time.sleep(0.1)
    sys.exit(3)

listing = sorted(os.listdir(data_dir))
fifos = sorted(n for n in listing if stat.S_ISFIFO(os.stat(os.path.join(data_dir, n)).st_mode))
seen = {}
for channel, plan in json.loads(hps["plan"]).items():
    epochs = []
    for epoch in range(plan["epochs"]):
        path = os.path.join(data_dir, f"{channel}_{epoch}")
        with open(path, "rb") as pipe:
            data = pipe.read(10) if epoch in plan.get("partial", []) else pipe.read()
        epochs.append({
            "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "data": base64.b64encode(data).decode() if len(data) <= 65536 else None,
            "next_ready": os.path.exists(os.path.join(data_dir, f"{channel}_{epoch + 1}")),
        })
    seen[channel] = epochs
files = {}
for name in listing:
    if os.path.isdir(os.path.join(data_dir, name)):
        files[name] = sorted(os.listdir(os.path.join(data_dir, name)))
model = {
    "epochs": seen, "config": config, "listing": listing, "fifos": fifos, "files": files,
    "sm_channels": {k: v for k, v in os.environ.items() if k.startswith("SM_CHANNEL")},
    "training_env_input": json.loads(os.environ["SM_TRAINING_ENV"])["input_data_config"],
}
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
    json.dump(model, f)
print("read every pipe", flush=True)
