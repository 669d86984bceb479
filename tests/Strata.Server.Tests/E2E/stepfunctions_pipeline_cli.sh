#!/usr/bin/env bash
# The README's retraining pipeline (examples/retraining-pipeline.json) with an unmodified aws CLI
# (AWS_CLI=/usr/bin/aws, v2.9): a run whose pre-processing job fails is caught, its failure
# published to SNS by the sns:publish task (the output records SNS's MessageId), and the run fails
# with the job's error.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$(cd "$(dirname "$0")" && while [ "$PWD" != / ] && [ ! -e Strata.slnx ]; do cd ..; done; pwd)

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test

test_failed_run_is_published_to_sns() {
  local n=$RANDOM$RANDOM image states sagemaker machine topic run status
  [ -e "$ROOT/examples/retraining-pipeline.json" ] || fail "no repository above $0"
  image="registry.example.com/team/pipeline-cli:$n"
  dotnet "$STRATA_DLL" images add --data-dir "$STRATA_DATA_DIR" "$image" -- python3 "$ROOT/examples/pipeline.py" >/dev/null || fail "images add"
  aws_ s3 mb "s3://cli-pipeline-$n" >/dev/null || fail "mb"
  echo "1,0.5,0.2,0.1" | aws_ s3 cp - "s3://cli-pipeline-$n/raw/rows.csv" >/dev/null || fail "cp"
  trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"SERVICE"},"Action":"sts:AssumeRole"}]}'
  states=$(aws_ iam create-role --role-name "cli-pipeline-states-$n" --query Role.Arn --assume-role-policy-document "${trust/SERVICE/states.amazonaws.com}") || fail "create-role"
  aws_ iam put-role-policy --role-name "cli-pipeline-states-$n" --policy-name pipeline --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:CreateProcessingJob","sagemaker:DescribeProcessingJob","iam:PassRole","sns:Publish"],"Resource":"*"}]}' || fail "put-role-policy"
  sagemaker=$(aws_ iam create-role --role-name "cli-pipeline-sagemaker-$n" --query Role.Arn --assume-role-policy-document "${trust/SERVICE/sagemaker.amazonaws.com}") || fail "create-role"
  aws_ iam put-role-policy --role-name "cli-pipeline-sagemaker-$n" --policy-name s3 --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}' || fail "put-role-policy"
  topic=$(aws_ sns create-topic --name "cli-pipeline-$n" --query TopicArn) || fail "create-topic"
  machine=$(aws_ stepfunctions create-state-machine --name "cli-pipeline-$n" --role-arn "$states" \
    --definition "file://$ROOT/examples/retraining-pipeline.json" --query stateMachineArn) || fail "create-state-machine"
  run=$(aws_ stepfunctions start-execution --state-machine-arn "$machine" --name "cli-broken-$n" --query executionArn --input \
    "{\"bucket\":\"cli-pipeline-$n\",\"sagemakerRole\":\"$sagemaker\",\"processingImage\":\"$image\",\"trainSplit\":\"most\",\"minAuc\":0.8,\"modelPackageGroup\":\"g\",\"currentModel\":\"m\",\"endpoint\":\"e\",\"topic\":\"$topic\"}") \
    || fail "start-execution"
  for _ in $(seq 1 600); do
    status=$(aws_ stepfunctions describe-execution --execution-arn "$run" --query status) || fail "describe-execution"
    [ "$status" != "RUNNING" ] && break
    sleep 0.5
  done
  [ "$status" = "FAILED" ] || fail "status: $status"
  [ "$(aws_ stepfunctions describe-execution --execution-arn "$run" --query error)" = "States.TaskFailed" ] || fail "error"
  [ "$(aws_ stepfunctions get-execution-history --execution-arn "$run" --query 'events[?type==`TaskStateEntered` || type==`FailStateEntered`].stateEnteredEventDetails.name' | tr '\t' ',')" = \
    "Preprocess,Notify failure,Failed" ] || fail "states: $(aws_ stepfunctions get-execution-history --execution-arn "$run" --query 'events[].type')"
  aws_ stepfunctions get-execution-history --execution-arn "$run" --query 'events[?type==`TaskSucceeded`].taskSucceededEventDetails.output' > "$WORK/published" || fail "history"
  grep -q '"MessageId"' "$WORK/published" && grep -q '"HttpStatusCode":200' "$WORK/published" || fail "published: $(cat "$WORK/published")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
