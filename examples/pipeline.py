"""The processing container of the retraining pipeline in the README (Workflows (Step Functions)):
`strata images add registry.example.com/team/pipeline:1 -- python3 examples/pipeline.py`.

`split [--train-split 0.8]` shuffles every CSV row (label first) of its inputs with SPLIT_SEED and
writes the first share to the output named `train`, the rest to `test` (labels kept, for the
evaluation) and to `features` (labels dropped, what a batch transform scores).
`evaluate` reads the input `test` (labelled rows) and the input `scores` (one score per row, in the
same order: the batch transform's output of `features`) and writes `evaluation.json` (AUC, accuracy
at 0.5 and the number of rows) to the output named `evaluation`."""
import argparse
import json
import os
import random
import sys

parser = argparse.ArgumentParser()
parser.add_argument("step", choices=["split", "evaluate"])
parser.add_argument("--train-split", type=float, default=0.8)
args = parser.parse_args()

# In the sandbox SageMaker's paths are real; without it (a server not run as root) the job starts in
# its own directory, where config/processingjobconfig.json gives the LocalPaths rewritten to it.
config_path = "/opt/ml/config/processingjobconfig.json"
if not os.path.exists(config_path):
    config_path = os.path.join("config", "processingjobconfig.json")
job = json.load(open(config_path))
inputs = {i["InputName"]: i["S3Input"]["LocalPath"] for i in job.get("ProcessingInputs", []) if "S3Input" in i}
outputs = {o["OutputName"]: o["S3Output"]["LocalPath"] for o in job.get("ProcessingOutputConfig", {}).get("Outputs", [])}


def rows(folder):
    lines = []
    for root, _, files in sorted(os.walk(folder)):
        for file in sorted(files):
            with open(os.path.join(root, file)) as f:
                lines += [line for line in f.read().splitlines() if line.strip()]
    return lines


def write(output, name, lines):
    os.makedirs(outputs[output], exist_ok=True)
    with open(os.path.join(outputs[output], name), "w") as f:
        f.write("".join(line + "\n" for line in lines))


def auc(labels, scores):
    """The probability that a positive row scores above a negative one (ties count half)."""
    ranked = sorted(zip(scores, labels))
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return 0.0
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(label for _, label in ranked[i:j]) * (i + j + 1) / 2
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


if args.step == "split":
    lines = [line for folder in inputs.values() for line in rows(folder)]
    random.Random(int(os.environ.get("SPLIT_SEED", "0"))).shuffle(lines)
    cut = int(len(lines) * args.train_split)
    write("train", "train.csv", lines[:cut])
    write("test", "test.csv", lines[cut:])
    write("features", "features.csv", [line.split(",", 1)[1] for line in lines[cut:]])
    message = f"split {len(lines)} rows: {cut} to train, {len(lines) - cut} to test"
else:
    labels = [int(float(line.split(",", 1)[0])) for line in rows(inputs["test"])]
    scores = [float(line.split(",")[0]) for line in rows(inputs["scores"])]
    if len(labels) != len(scores):
        print(f"{len(labels)} labelled rows but {len(scores)} scores", file=sys.stderr)
        sys.exit(1)
    metrics = {"auc": round(auc(labels, scores), 4),
               "accuracy": round(sum((s >= 0.5) == bool(y) for y, s in zip(labels, scores)) / len(labels), 4),
               "rows": len(labels)}
    os.makedirs(outputs["evaluation"], exist_ok=True)
    with open(os.path.join(outputs["evaluation"], "evaluation.json"), "w") as f:
        json.dump(metrics, f)
    message = json.dumps(metrics)
print(message, flush=True)
for output_dir in ("/opt/ml/output", "output"):
    if os.path.isdir(output_dir):
        with open(os.path.join(output_dir, "message"), "w") as f:
            f.write(message)
        break
