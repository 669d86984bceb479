"""A processing container of one's own, as the README runs it (`strata images add … -- python3 examples/prep.py`).

SageMaker Processing runs the image's command with the job's ContainerArguments
(`--train-split 0.8`) and its Environment (`SPLIT_SEED`), and describes the job in
processingjobconfig.json: each input's and output's LocalPath. It shuffles every CSV row of the
inputs with the seed and writes the first share to the output named `train`, the rest to the one
named `test` (when the job has one), and says what it did in /opt/ml/output/message."""
import argparse
import json
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("--train-split", type=float, default=0.8)
args = parser.parse_args()

# In the sandbox SageMaker's paths are real; without it (a server not run as root) the job starts in
# its own directory, where config/processingjobconfig.json gives the LocalPaths rewritten to it.
config_path = "/opt/ml/config/processingjobconfig.json"
if not os.path.exists(config_path):
    config_path = os.path.join("config", "processingjobconfig.json")
job = json.load(open(config_path))
inputs = [i["S3Input"]["LocalPath"] for i in job.get("ProcessingInputs", []) if "S3Input" in i]
outputs = {o["OutputName"]: o["S3Output"]["LocalPath"] for o in job.get("ProcessingOutputConfig", {}).get("Outputs", [])}

lines = []
for root in inputs:
    for folder, _, files in sorted(os.walk(root)):
        for file in sorted(files):
            with open(os.path.join(folder, file)) as f:
                lines += [line for line in f.read().splitlines() if line.strip()]
random.Random(int(os.environ.get("SPLIT_SEED", "0"))).shuffle(lines)
cut = int(len(lines) * args.train_split)
for name, part in (("train", lines[:cut]), ("test", lines[cut:])):
    if name in outputs:
        os.makedirs(outputs[name], exist_ok=True)
        with open(os.path.join(outputs[name], f"{name}.csv"), "w") as f:
            f.write("".join(line + "\n" for line in part))
message = f"split {len(lines)} rows: {cut} to train, {len(lines) - cut} to test"
print(message, flush=True)
for output_dir in ("/opt/ml/output", "output"):
    if os.path.isdir(output_dir):
        with open(os.path.join(output_dir, "message"), "w") as f:
            f.write(message)
        break
