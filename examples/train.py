"""A training container of one's own, as the README runs it (`strata images add … -- python3 examples/train.py`).

SageMaker starts a training image with the argument `train`; everything else comes from the
training contract: the hyperparameters (SM_HPS), the channels (inputdataconfig.json; in File mode
a directory per channel, in Pipe mode a named pipe `<channel>_<epoch>` per pass), the hosts
(SM_CURRENT_HOST, SM_HOSTS) and the directories (SM_MODEL_DIR; checkpoints beside it in /opt/ml).
It "trains" a tiny model, the mean of every numeric column it reads, for `epochs` passes, printing
`epoch=E loss=V` for MetricDefinitions to read, keeping a checkpoint per host and pass, and saving
its model as `<host>.json` so that several hosts' models do not overwrite each other."""
import json
import os
import sys


def rows(stream):
    """The numeric CSV rows of a byte stream (other lines are counted but not used)."""
    for line in stream:
        try:
            yield [float(v) for v in line.decode("utf-8", "replace").strip().split(",")]
        except ValueError:
            yield None


def channel_streams(name, mode, data_dir, epoch):
    """What a channel holds for one pass: its pipe in Pipe mode, its files in File mode."""
    if mode == "Pipe":
        with open(os.path.join(data_dir, f"{name}_{epoch}"), "rb") as pipe:
            yield pipe
        return
    root = os.environ.get(f"SM_CHANNEL_{name.upper()}", os.path.join(data_dir, name))
    for folder, _, files in sorted(os.walk(root)):
        for file in sorted(files):
            with open(os.path.join(folder, file), "rb") as f:
                yield f


assert sys.argv[1:] == ["train"], f"SageMaker runs a training image with `train`, not {sys.argv[1:]}"
hps = json.loads(os.environ.get("SM_HPS", "{}"))
epochs = int(hps.get("epochs", 1))
host = os.environ.get("SM_CURRENT_HOST", "algo-1")
config_dir = os.environ["SM_INPUT_CONFIG_DIR"]
data_dir = os.path.join(os.path.dirname(config_dir), "data")
model_dir = os.environ["SM_MODEL_DIR"]
checkpoints = os.path.join(os.path.dirname(model_dir), "checkpoints")
config = json.load(open(os.path.join(config_dir, "inputdataconfig.json")))
print(f"{host} of {json.loads(os.environ.get('SM_HOSTS', '[]'))}: channels {sorted(config)}, {epochs} epoch(s)", flush=True)

sums, count, skipped = [], 0, 0
for epoch in range(epochs):
    for name, channel in sorted(config.items()):
        mode = channel.get("TrainingInputMode", "File")
        for stream in channel_streams(name, mode, data_dir, epoch):
            for row in rows(stream):
                if row is None:
                    skipped += 1
                    continue
                if epoch == 0:
                    sums = [a + b for a, b in zip(sums, row)] if sums else row
                    count += 1
    means = [s / count for s in sums] if count else []
    loss = 1.0 / (epoch + 1 + count / 1000)
    print(f"epoch={epoch} loss={loss:.6f} records={count}", flush=True)
    if os.path.isdir(checkpoints):
        with open(os.path.join(checkpoints, f"{host}-epoch-{epoch}.json"), "w") as f:
            json.dump({"epoch": epoch, "means": means}, f)

with open(os.path.join(model_dir, f"{host}.json"), "w") as f:
    json.dump({"records": count, "skipped": skipped, "means": means, "hyperparameters": hps}, f)
print(f"{host}: trained on {count} records ({skipped} not numeric)", flush=True)
