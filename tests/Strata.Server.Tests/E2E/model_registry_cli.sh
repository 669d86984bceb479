#!/usr/bin/env bash
# The model registry with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9): a
# group, two versions, approval, the lists, a model from the approved version deployed and
# answering, and the deletions (a group with versions refused).
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }
IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1
MODELS="$(cd "$(dirname "$0")/../models" && pwd)"

role() {
  local role=$1
  aws_ iam create-role --role-name "$role" --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null || fail "create-role"
  aws_ iam put-role-policy --role-name "$role" --policy-name artifacts --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}' || fail "put-role-policy"
  aws_ iam get-role --role-name "$role" --query Role.Arn
}

test_register_approve_and_deploy() {
  local b group arn v1 v2 account model ep
  b=$(name cli-registry); group=$(name cli-churn); model=$(name cli-from-registry); ep=$(name cli-registry-ep)
  account=$(aws_ sts get-caller-identity --query Account)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  tar -czf "$WORK/model.tar.gz" -C "$MODELS/classifier" model.onnx || fail "tar"
  aws_ s3 cp "$WORK/model.tar.gz" "s3://$b/classifier/model.tar.gz" --only-show-errors || fail "cp"

  arn=$(aws_ sagemaker create-model-package-group --model-package-group-name "$group" --model-package-group-description "churn models" \
    --query ModelPackageGroupArn) || fail "create-model-package-group"
  [ "$arn" = "arn:aws:sagemaker:us-east-1:$account:model-package-group/$group" ] || fail "group arn $arn"
  [ "$(aws_ sagemaker describe-model-package-group --model-package-group-name "$group" --query ModelPackageGroupStatus)" = "Completed" ] || fail "group status"
  aws_ sagemaker list-model-package-groups --name-contains "$group" --query 'ModelPackageGroupSummaryList[].ModelPackageGroupName' | grep -qx "$group" \
    || fail "list-model-package-groups"

  cat > "$WORK/spec.json" <<JSON
{"Containers": [{"Image": "$IMAGE", "ModelDataUrl": "s3://$b/classifier/model.tar.gz"}],
 "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]}
JSON
  cat > "$WORK/metrics.json" <<JSON
{"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://$b/evaluation/statistics.json"}}}
JSON
  v1=$(aws_ sagemaker create-model-package --model-package-group-name "$group" --model-package-description "first" \
    --inference-specification "file://$WORK/spec.json" --model-metrics "file://$WORK/metrics.json" \
    --customer-metadata-properties owner=alice --query ModelPackageArn) || fail "create-model-package 1"
  [ "$v1" = "arn:aws:sagemaker:us-east-1:$account:model-package/$group/1" ] || fail "version 1 arn $v1"
  v2=$(aws_ sagemaker create-model-package --model-package-group-name "$group" --inference-specification "file://$WORK/spec.json" \
    --model-approval-status PendingManualApproval --query ModelPackageArn) || fail "create-model-package 2"
  [ "$v2" = "arn:aws:sagemaker:us-east-1:$account:model-package/$group/2" ] || fail "version 2 arn $v2"
  [ "$(aws_ sagemaker describe-model-package --model-package-name "$v1" --query '[ModelPackageVersion,ModelPackageStatus,ModelApprovalStatus]')" \
    = "$(printf '1\tCompleted\tPendingManualApproval')" ] || fail "describe version 1"
  [ "$(aws_ sagemaker describe-model-package --model-package-name "$v1" --query ModelMetrics.ModelQuality.Statistics.S3Uri)" \
    = "s3://$b/evaluation/statistics.json" ] || fail "metrics"

  aws_ sagemaker update-model-package --model-package-arn "$v1" --model-approval-status Approved --approval-description "AUC 0.91" >/dev/null || fail "approve"
  [ "$(aws_ sagemaker list-model-packages --model-package-group-name "$group" --model-approval-status Approved --query 'ModelPackageSummaryList[].ModelPackageArn')" \
    = "$v1" ] || fail "list approved"
  [ "$(aws_ sagemaker list-model-packages --model-package-group-name "$group" --sort-order Descending --query 'ModelPackageSummaryList[].ModelPackageVersion')" \
    = "$(printf '2\t1')" ] || fail "list newest first"

  local execution; execution=$(role "$(name cli-registry-exec)")
  aws_ sagemaker create-model --model-name "$model" --execution-role-arn "$execution" --containers "[{\"ModelPackageName\": \"$v1\"}]" >/dev/null \
    || fail "create-model from the approved version"
  aws_ sagemaker create-model --model-name "$(name cli-pending)" --execution-role-arn "$execution" --containers "[{\"ModelPackageName\": \"$v2\"}]" \
    >/dev/null 2>"$WORK/err" && fail "made a model from a version waiting for approval"
  grep -q "must be Approved" "$WORK/err" || fail "expected the approval error: $(cat "$WORK/err")"
  aws_ sagemaker create-endpoint-config --endpoint-config-name "$model" \
    --production-variants VariantName=main,ModelName="$model",InitialInstanceCount=1,InstanceType=ml.m5.large >/dev/null || fail "config"
  aws_ sagemaker create-endpoint --endpoint-name "$ep" --endpoint-config-name "$model" >/dev/null || fail "endpoint"
  aws_ sagemaker wait endpoint-in-service --endpoint-name "$ep" || fail "endpoint waiter"
  printf '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' > "$WORK/request.json"
  aws_ sagemaker-runtime invoke-endpoint --endpoint-name "$ep" --content-type application/json --body "fileb://$WORK/request.json" "$WORK/answer.json" >/dev/null \
    || fail "invoke"
  grep -q setosa "$WORK/answer.json" || fail "answer: $(cat "$WORK/answer.json")"
  aws_ sagemaker delete-endpoint --endpoint-name "$ep" || fail "delete-endpoint"

  aws_ sagemaker delete-model-package-group --model-package-group-name "$group" 2>"$WORK/err" && fail "deleted a group with versions"
  grep -q ConflictException "$WORK/err" || fail "expected ConflictException: $(cat "$WORK/err")"
  aws_ sagemaker delete-model-package --model-package-name "$v1" || fail "delete version 1"
  aws_ sagemaker delete-model-package --model-package-name "$group/2" || fail "delete version 2"
  aws_ sagemaker delete-model-package-group --model-package-group-name "$group" || fail "delete-model-package-group"
  aws_ sagemaker describe-model-package-group --model-package-group-name "$group" 2>"$WORK/err" && fail "described a deleted group"
  grep -q ValidationException "$WORK/err" || fail "expected ValidationException: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
