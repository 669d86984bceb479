#!/usr/bin/env bash
# Batch transform with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9),
# including the CLI's waiter, and `strata jobs watch`.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }
MODELS=$(cd "$(dirname "$0")/../models" && pwd)

test_transform_with_the_waiter_and_watch() {
  local b role model job
  b=$(name cli-transform); role=$(name cli-exec); model=$(name cli-model); job=$(name cli-job)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  tar -czf "$WORK/model.tar.gz" -C "$MODELS/regression" model.onnx
  aws_ s3 cp "$WORK/model.tar.gz" "s3://$b/model.tar.gz" --only-show-errors || fail "cp model"
  printf '1,2,3,4\n4,3,2,1\n0,0,0,0\n' > "$WORK/rows.csv"
  aws_ s3 cp "$WORK/rows.csv" "s3://$b/in/rows.csv" --only-show-errors || fail "cp input"
  aws_ iam create-role --role-name "$role" --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null || fail "create-role"
  aws_ iam put-role-policy --role-name "$role" --policy-name data --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}' || fail "put-role-policy"
  local arn; arn=$(aws_ iam get-role --role-name "$role" --query Role.Arn)
  aws_ sagemaker create-model --model-name "$model" --execution-role-arn "$arn" \
    --primary-container "Image=strata-onnx:latest,ModelDataUrl=s3://$b/model.tar.gz" >/dev/null || fail "create-model"
  aws_ sagemaker create-transform-job --transform-job-name "$job" --model-name "$model" \
    --transform-input "DataSource={S3DataSource={S3DataType=S3Prefix,S3Uri=s3://$b/in/}},ContentType=text/csv,SplitType=Line" \
    --transform-output "S3OutputPath=s3://$b/out/,Accept=text/csv,AssembleWith=Line" \
    --transform-resources InstanceType=ml.m5.large,InstanceCount=1 --batch-strategy MultiRecord >/dev/null || fail "create-transform-job"
  dotnet "$STRATA_DLL" jobs watch "$job" --data-dir "$STRATA_DATA_DIR" > "$WORK/watch.txt" 2>&1 || fail "jobs watch: $(cat "$WORK/watch.txt")"
  grep -q "Completed" "$WORK/watch.txt" || fail "watch did not report completion: $(cat "$WORK/watch.txt")"
  aws_ sagemaker wait transform-job-completed-or-stopped --transform-job-name "$job" || fail "waiter"
  [ "$(aws_ sagemaker describe-transform-job --transform-job-name "$job" --query TransformJobStatus)" = "Completed" ] || fail "status"
  aws_ s3 cp "s3://$b/out/rows.csv.out" "$WORK/out.csv" --only-show-errors || fail "no output"
  [ "$(wc -l < "$WORK/out.csv")" -eq 3 ] || fail "3 outputs: $(cat "$WORK/out.csv")"
  aws_ sagemaker list-transform-jobs --name-contains "$job" --query 'TransformJobSummaries[].TransformJobName' | grep -q "$job" || fail "list"
  aws_ sagemaker describe-transform-job --transform-job-name nope 2>"$WORK/err" && fail "described a job that does not exist"
  grep -q ValidationException "$WORK/err" || fail "expected ValidationException: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
