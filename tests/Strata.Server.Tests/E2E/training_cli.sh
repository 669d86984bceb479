#!/usr/bin/env bash
# Training with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9): XGBoost and
# PCA on AWS's own image URIs, the CLI's waiter, DescribeTrainingJob's metrics, and the models
# deployed; a container of one's own, a script-mode job and a failing job with its failure file.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }
XGBOOST=683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1
PCA=382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1

# execution_role NAME: a role SageMaker may assume to read and write S3; prints its ARN.
execution_role() {
  aws_ iam create-role --role-name "$1" --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null || return 1
  aws_ iam put-role-policy --role-name "$1" --policy-name data --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}' || return 1
  aws_ iam get-role --role-name "$1" --query Role.Arn
}

test_xgboost_with_the_waiter() {
  local b role job arn
  b=$(name cli-train); role=$(name cli-exec); job=$(name cli-xgb)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  # label first, no header: a label that is the sign of a noisy sum of the first two features
  python3 -c '
import random
rng = random.Random(7)
for _ in range(600):
    x = [rng.gauss(0, 1) for _ in range(4)]
    print(",".join([str(int(x[0] + x[1] + rng.gauss(0, 0.5) > 0))] + ["%.5f" % v for v in x]))' > "$WORK/train.csv"
  head -n 200 "$WORK/train.csv" > "$WORK/validation.csv"
  aws_ s3 cp "$WORK/train.csv" "s3://$b/train/train.csv" --only-show-errors || fail "cp train"
  aws_ s3 cp "$WORK/validation.csv" "s3://$b/validation/validation.csv" --only-show-errors || fail "cp validation"
  arn=$(execution_role "$role") || fail "execution role"
  aws_ sagemaker create-training-job --training-job-name "$job" --role-arn "$arn" \
    --algorithm-specification "TrainingImage=$XGBOOST,TrainingInputMode=File" \
    --hyper-parameters objective=binary:logistic,num_round=20,max_depth=3,eval_metric=auc \
    --input-data-config "[{\"ChannelName\":\"train\",\"ContentType\":\"text/csv\",\"DataSource\":{\"S3DataSource\":{\"S3DataType\":\"S3Prefix\",\"S3Uri\":\"s3://$b/train\"}}},
                          {\"ChannelName\":\"validation\",\"ContentType\":\"text/csv\",\"DataSource\":{\"S3DataSource\":{\"S3DataType\":\"S3Prefix\",\"S3Uri\":\"s3://$b/validation\"}}}]" \
    --output-data-config "S3OutputPath=s3://$b/out" \
    --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=5 \
    --stopping-condition MaxRuntimeInSeconds=600 >/dev/null || fail "create-training-job"
  # strata jobs watch follows it to its end: each secondary status, the metrics, the outcome.
  dotnet "$STRATA_DLL" jobs watch "$job" --data-dir "$STRATA_DATA_DIR" > "$WORK/watch.txt" 2>&1 || fail "jobs watch: $(cat "$WORK/watch.txt")"
  for seen in Starting Downloading Training Uploading "validation:auc = " "$job: Completed after"; do
    grep -q "$seen" "$WORK/watch.txt" || fail "jobs watch did not show '$seen': $(cat "$WORK/watch.txt")"
  done
  dotnet "$STRATA_DLL" jobs watch "$job" --type transform --data-dir "$STRATA_DATA_DIR" > "$WORK/watch.txt" 2>&1 && fail "watched a transform job that does not exist"
  grep -q "no transform job named $job" "$WORK/watch.txt" || fail "jobs watch --type transform: $(cat "$WORK/watch.txt")"
  aws_ sagemaker wait training-job-completed-or-stopped --training-job-name "$job" || fail "waiter: $(aws_ sagemaker describe-training-job --training-job-name "$job" --query FailureReason)"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query TrainingJobStatus)" = "Completed" ] || fail "status"
  local auc; auc=$(aws_ sagemaker describe-training-job --training-job-name "$job" --query "FinalMetricDataList[?MetricName=='validation:auc'].Value")
  python3 -c "import sys; sys.exit(0 if float('$auc') > 0.85 else 1)" || fail "validation:auc $auc"
  local artifacts; artifacts=$(aws_ sagemaker describe-training-job --training-job-name "$job" --query ModelArtifacts.S3ModelArtifacts)
  [ "$artifacts" = "s3://$b/out/$job/output/model.tar.gz" ] || fail "artifacts $artifacts"
  aws_ sagemaker list-training-jobs --name-contains "$job" --query 'TrainingJobSummaries[].TrainingJobName' | grep -q "$job" || fail "list"
  aws_ sagemaker create-model --model-name "$job" --execution-role-arn "$arn" --primary-container "Image=$XGBOOST,ModelDataUrl=$artifacts" >/dev/null || fail "create-model"
  aws_ sagemaker create-endpoint-config --endpoint-config-name "$job" \
    --production-variants VariantName=main,ModelName="$job",InitialInstanceCount=1,InstanceType=ml.m5.large >/dev/null || fail "config"
  aws_ sagemaker create-endpoint --endpoint-name "$job" --endpoint-config-name "$job" >/dev/null || fail "endpoint"
  aws_ sagemaker wait endpoint-in-service --endpoint-name "$job" || fail "endpoint waiter"
  printf '2.0,2.0,0,0\n-2.0,-2.0,0,0\n' > "$WORK/rows.csv"
  aws_ sagemaker-runtime invoke-endpoint --endpoint-name "$job" --content-type text/csv --body "fileb://$WORK/rows.csv" "$WORK/scores.txt" >/dev/null || fail "invoke"
  python3 -c "
s = [float(v) for v in open('$WORK/scores.txt').read().split()]
assert len(s) == 2 and s[0] > 0.5 > s[1], s" || fail "scores: $(cat "$WORK/scores.txt")"
  # The deployed model's scores of the validation rows give, computed here, the AUC the job reported.
  cut -d, -f2- "$WORK/validation.csv" > "$WORK/features.csv"
  aws_ sagemaker-runtime invoke-endpoint --endpoint-name "$job" --content-type text/csv --body "fileb://$WORK/features.csv" "$WORK/scores.txt" >/dev/null || fail "invoke validation"
  python3 -c "
labels = [int(line.split(',')[0]) for line in open('$WORK/validation.csv')]
s = [float(v) for v in open('$WORK/scores.txt').read().split()]
pos, neg = [p for y, p in zip(labels, s) if y], [p for y, p in zip(labels, s) if not y]
auc = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg) / (len(pos) * len(neg))
assert len(s) == len(labels) and abs(auc - float('$auc')) <= 0.01, (auc, '$auc')" || fail "the endpoint's AUC against validation:auc $auc"
  aws_ sagemaker delete-endpoint --endpoint-name "$job" || fail "delete"
  aws_ sagemaker describe-training-job --training-job-name nope 2>"$WORK/err" && fail "described a job that does not exist"
  grep -q ValidationException "$WORK/err" || fail "expected ValidationException: $(cat "$WORK/err")"
}

test_pca_with_the_cli() {
  local b role job arn artifacts
  b=$(name cli-pca); role=$(name cli-exec); job=$(name cli-pca)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  # rows of 3 features and no label (text/csv;label_size=0), most of their variance along (1, 1, 0)
  python3 -c '
import random
rng = random.Random(3)
for _ in range(300):
    t, u = rng.gauss(0, 5), rng.gauss(0, 0.5)
    print("%.5f,%.5f,%.5f" % (t + u, t - u, rng.gauss(0, 0.1)))' > "$WORK/pca.csv"
  aws_ s3 cp "$WORK/pca.csv" "s3://$b/train/pca.csv" --only-show-errors || fail "cp"
  arn=$(execution_role "$role") || fail "execution role"
  aws_ sagemaker create-training-job --training-job-name "$job" --role-arn "$arn" \
    --algorithm-specification "TrainingImage=$PCA,TrainingInputMode=File" \
    --hyper-parameters feature_dim=3,num_components=1,mini_batch_size=100 \
    --input-data-config "[{\"ChannelName\":\"train\",\"ContentType\":\"text/csv;label_size=0\",\"DataSource\":{\"S3DataSource\":{\"S3DataType\":\"S3Prefix\",\"S3Uri\":\"s3://$b/train\"}}}]" \
    --output-data-config "S3OutputPath=s3://$b/out" \
    --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=5 \
    --stopping-condition MaxRuntimeInSeconds=600 >/dev/null || fail "create-training-job"
  aws_ sagemaker wait training-job-completed-or-stopped --training-job-name "$job" || fail "waiter: $(aws_ sagemaker describe-training-job --training-job-name "$job" --query FailureReason)"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query TrainingJobStatus)" = "Completed" ] || fail "status"
  artifacts=$(aws_ sagemaker describe-training-job --training-job-name "$job" --query ModelArtifacts.S3ModelArtifacts)
  aws_ sagemaker create-model --model-name "$job" --execution-role-arn "$arn" --primary-container "Image=$PCA,ModelDataUrl=$artifacts" >/dev/null || fail "create-model"
  aws_ sagemaker create-endpoint-config --endpoint-config-name "$job" \
    --production-variants VariantName=main,ModelName="$job",InitialInstanceCount=1,InstanceType=ml.m5.large >/dev/null || fail "config"
  aws_ sagemaker create-endpoint --endpoint-name "$job" --endpoint-config-name "$job" >/dev/null || fail "endpoint"
  aws_ sagemaker wait endpoint-in-service --endpoint-name "$job" || fail "endpoint waiter"
  printf '10,10,0\n-10,-10,0\n' > "$WORK/rows.csv"
  aws_ sagemaker-runtime invoke-endpoint --endpoint-name "$job" --content-type text/csv --accept application/json \
    --body "fileb://$WORK/rows.csv" "$WORK/projections.json" >/dev/null || fail "invoke"
  # (10, 10, 0) lies 10·√2 along the first component, on one side of the mean; (-10, -10, 0) on the other.
  python3 -c "
import json
p = [r['projection'] for r in json.load(open('$WORK/projections.json'))['projections']]
assert [len(x) for x in p] == [1, 1] and p[0][0] * p[1][0] < 0, p
assert all(abs(abs(x[0]) - 200 ** 0.5) < 1.0 for x in p), p" || fail "projections: $(cat "$WORK/projections.json")"
  aws_ sagemaker delete-endpoint --endpoint-name "$job" || fail "delete"
}

# A container of one's own (train_container.py), script mode in a framework image, and a failing
# job, with the CLI v2 only (test_*_cli_v2: CI time; TrainingCliTests runs them for v2 alone): one
# bucket, role and pair of catalogue entries for the three.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OWN_IMAGE=registry.example.com/team/cli-trainer:$RANDOM$RANDOM
FRAMEWORK=763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310-$RANDOM$RANDOM
OWN_BUCKET=$(name cli-own)
setup_own() {
  dotnet "$STRATA_DLL" images add --data-dir "$STRATA_DATA_DIR" "$OWN_IMAGE" -- python3 "$HERE/train_container.py" >/dev/null || return 1
  dotnet "$STRATA_DLL" images add --data-dir "$STRATA_DATA_DIR" "$FRAMEWORK" -- python3 >/dev/null || return 1
  aws_ s3 mb "s3://$OWN_BUCKET" >/dev/null || return 1
  printf '1,0.5\n2,0.1\n3,0.2\n' > "$WORK/own.csv"
  aws_ s3 cp "$WORK/own.csv" "s3://$OWN_BUCKET/train/own.csv" --only-show-errors || return 1
  mkdir -p "$WORK/src" && cat > "$WORK/src/train.py" <<'PY'
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
args = parser.parse_args()
rows = sum(len(open(os.path.join(d, f)).read().split()) for d, _, files in os.walk(os.environ["SM_CHANNEL_TRAIN"]) for f in files)
for epoch in range(args.epochs):
    print(f"epoch={epoch} loss={1.0 / (epoch + 1):.4f}", flush=True)
json.dump({"epochs": args.epochs, "rows": rows}, open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w"))
PY
  tar czf "$WORK/sourcedir.tar.gz" -C "$WORK/src" train.py || return 1
  aws_ s3 cp "$WORK/sourcedir.tar.gz" "s3://$OWN_BUCKET/code/sourcedir.tar.gz" --only-show-errors || return 1
  OWN_ROLE=$(execution_role "$(name cli-own)") || return 1
}
V2=false; [ "$AWS_CLI" = /usr/bin/aws ] && V2=true
if $V2; then setup_own > "$WORK/setup.txt" 2>&1 || OWN_SETUP_FAILED="$(cat "$WORK/setup.txt")"; fi

# own_job JOB IMAGE HYPERPARAMETERS: a job of a catalogue image on the train channel, waited for.
own_job() {
  aws_ sagemaker create-training-job --training-job-name "$1" --role-arn "$OWN_ROLE" \
    --algorithm-specification "{\"TrainingImage\":\"$2\",\"TrainingInputMode\":\"File\",\"MetricDefinitions\":[{\"Name\":\"train:loss\",\"Regex\":\"loss=([0-9.]+)\"}]}" \
    --hyper-parameters "$3" \
    --input-data-config "[{\"ChannelName\":\"train\",\"DataSource\":{\"S3DataSource\":{\"S3DataType\":\"S3Prefix\",\"S3Uri\":\"s3://$OWN_BUCKET/train\"}}}]" \
    --output-data-config "S3OutputPath=s3://$OWN_BUCKET/out" \
    --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=5 \
    --stopping-condition MaxRuntimeInSeconds=600 >/dev/null || return 1
  # The waiter fails on a Failed job: what it ended as is checked by the caller.
  aws_ sagemaker wait training-job-completed-or-stopped --training-job-name "$1" 2>/dev/null
  return 0
}

# model_json JOB: model.json of the job's model.tar.gz.
model_json() {
  aws_ s3 cp "s3://$OWN_BUCKET/out/$1/output/model.tar.gz" "$WORK/$1.tar.gz" --only-show-errors && tar xzf "$WORK/$1.tar.gz" -O model.json
}

test_a_container_of_ones_own_cli_v2() {
  [ -z "${OWN_SETUP_FAILED:-}" ] || fail "setup: $OWN_SETUP_FAILED"
  local job; job=$(name cli-own)
  own_job "$job" "$OWN_IMAGE" '{"mode":"ok","epochs":"2"}' || fail "create-training-job"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query TrainingJobStatus)" = "Completed" ] \
    || fail "status: $(aws_ sagemaker describe-training-job --training-job-name "$job" --query FailureReason)"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query "FinalMetricDataList[?MetricName=='train:loss'].Value")" = "0.5" ] || fail "train:loss"
  model_json "$job" > "$WORK/model.json" || fail "model.tar.gz"
  python3 -c "
import json
m = json.load(open('$WORK/model.json'))
assert (m['sum'], m['rows'], m['channels'], m['hyperparameters']) == (6.0, 3, ['train'], {'mode': 'ok', 'epochs': '2'}), m" || fail "model: $(cat "$WORK/model.json")"
}

test_script_mode_cli_v2() {
  [ -z "${OWN_SETUP_FAILED:-}" ] || fail "setup: $OWN_SETUP_FAILED"
  local job; job=$(name cli-script)
  # As the SageMaker Python SDK sends a framework estimator's hyperparameters: JSON-encoded.
  own_job "$job" "$FRAMEWORK" "{\"sagemaker_program\":\"\\\"train.py\\\"\",\"sagemaker_submit_directory\":\"\\\"s3://$OWN_BUCKET/code/sourcedir.tar.gz\\\"\",\"epochs\":\"4\"}" \
    || fail "create-training-job"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query TrainingJobStatus)" = "Completed" ] \
    || fail "status: $(aws_ sagemaker describe-training-job --training-job-name "$job" --query FailureReason)"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query "FinalMetricDataList[?MetricName=='train:loss'].Value")" = "0.25" ] || fail "train:loss"
  [ "$(model_json "$job")" = '{"epochs": 4, "rows": 3}' ] || fail "model: $(model_json "$job")"
}

test_a_failing_job_shows_its_failure_file_cli_v2() {
  [ -z "${OWN_SETUP_FAILED:-}" ] || fail "setup: $OWN_SETUP_FAILED"
  local job; job=$(name cli-fail)
  own_job "$job" "$OWN_IMAGE" '{"mode":"fail"}' || fail "create-training-job"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query '[TrainingJobStatus,FailureReason]')" \
    = "Failed	ClientError: the label column holds 'cat', which is not a number" ] \
    || fail "failed: $(aws_ sagemaker describe-training-job --training-job-name "$job" --query '[TrainingJobStatus,FailureReason]')"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if [[ $t == *_cli_v2 ]] && ! $V2; then continue; fi
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
