#!/usr/bin/env bash
# Asynchronous inference with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9):
# an endpoint configuration with AsyncInferenceConfig in shorthand, invoke-endpoint-async, the
# answer read back from S3, and the error a real-time endpoint gives.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }
HERE=$(cd "$(dirname "$0")" && pwd)

deploy() {  # deploy BUCKET ROLE NAME [ASYNC_CONFIG]
  tar -czf "$WORK/model.tar.gz" -C "$HERE/../models/regression" model.onnx
  aws_ s3 cp "$WORK/model.tar.gz" "s3://$1/model.tar.gz" --only-show-errors || fail "cp model"
  aws_ sagemaker create-model --model-name "$3" --execution-role-arn "$2" \
    --primary-container "Image=strata-onnx:latest,ModelDataUrl=s3://$1/model.tar.gz" >/dev/null || fail "create-model"
  aws_ sagemaker create-endpoint-config --endpoint-config-name "$3" ${4:+--async-inference-config "$4"} \
    --production-variants "VariantName=main,ModelName=$3,InitialInstanceCount=1,InstanceType=ml.t2.medium" >/dev/null || fail "create-endpoint-config"
  aws_ sagemaker create-endpoint --endpoint-name "$3" --endpoint-config-name "$3" >/dev/null || fail "create-endpoint"
  aws_ sagemaker wait endpoint-in-service --endpoint-name "$3" || fail "waiter"
}

role() {
  local r; r=$(name cli-async-exec)
  aws_ iam create-role --role-name "$r" --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null || fail "create-role"
  aws_ iam put-role-policy --role-name "$r" --policy-name data --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}' || fail "put-role-policy"
  aws_ iam get-role --role-name "$r" --query Role.Arn
}

test_invoke_endpoint_async() {
  local b arn ep answer location
  b=$(name cli-async); ep=$(name cli-async)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  arn=$(role)
  deploy "$b" "$arn" "$ep" "OutputConfig={S3OutputPath=s3://$b/out},ClientConfig={MaxConcurrentInvocationsPerInstance=2}"
  [ "$(aws_ sagemaker describe-endpoint-config --endpoint-config-name "$ep" --query AsyncInferenceConfig.OutputConfig.S3OutputPath)" = "s3://$b/out" ] || fail "described"
  echo '{"instances": [[1, 2, 3, 4]]}' > "$WORK/request.json"
  aws_ s3 cp "$WORK/request.json" "s3://$b/in/request.json" --only-show-errors || fail "cp input"
  answer=$(aws_ sagemaker-runtime invoke-endpoint-async --endpoint-name "$ep" --input-location "s3://$b/in/request.json" \
    --content-type application/json --inference-id "cli-1" --query '[InferenceId, OutputLocation]') || fail "invoke-endpoint-async"
  [ "$(echo $answer)" = "cli-1 s3://$b/out/cli-1.out" ] || fail "answer: $answer"
  for _ in $(seq 1 150); do
    aws_ s3 cp "s3://$b/out/cli-1.out" "$WORK/out.json" --only-show-errors 2>/dev/null && break
    sleep 0.2
  done
  grep -q '"predictions"' "$WORK/out.json" 2>/dev/null || fail "no answer at s3://$b/out/cli-1.out"
}

test_a_real_time_endpoint_refuses() {
  local b arn ep err
  b=$(name cli-async-rt); ep=$(name cli-rt)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  arn=$(role)
  deploy "$b" "$arn" "$ep"
  err=$(aws_ sagemaker-runtime invoke-endpoint-async --endpoint-name "$ep" --input-location "s3://$b/in/x.json" 2>&1) && fail "accepted: $err"
  echo "$err" | grep -q "ValidationError" || fail "error: $err"
  echo "$err" | grep -q "is not an asynchronous inference endpoint" || fail "message: $err"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
