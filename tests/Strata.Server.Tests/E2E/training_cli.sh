#!/usr/bin/env bash
# Training with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9): XGBoost and
# PCA on AWS's own image URIs, the CLI's waiter, DescribeTrainingJob's metrics, and the models deployed.
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

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
