#!/usr/bin/env bash
# Step Functions activities with an unmodified aws CLI as the worker: run with AWS_CLI=aws (v1.45)
# or AWS_CLI=/usr/bin/aws (v2.9).
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test

role() {
  local name="cli-activity-role-$RANDOM$RANDOM"
  aws_ iam create-role --role-name "$name" --query Role.Arn --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
}

finished() {
  local status
  for _ in $(seq 1 100); do
    status=$(aws_ stepfunctions describe-execution --execution-arn "$1" --query status) || return 1
    [ "$status" != "RUNNING" ] && break
    sleep 0.2
  done
  echo "$status"
}

test_cli_worker() {
  local role_arn activity machine execution token
  role_arn=$(role) || fail "create-role"
  activity=$(aws_ stepfunctions create-activity --name "cli-activity-$RANDOM$RANDOM" --query activityArn) || fail "create-activity"
  aws_ stepfunctions list-activities --query 'activities[].activityArn' | tr '\t' '\n' | grep -qx "$activity" || fail "list-activities"
  machine=$(aws_ stepfunctions create-state-machine --name "cli-worked-$RANDOM$RANDOM" --role-arn "$role_arn" --query stateMachineArn \
    --definition "{\"StartAt\":\"Work\",\"States\":{\"Work\":{\"Type\":\"Task\",\"Resource\":\"$activity\",\"End\":true}}}") || fail "create-state-machine"
  execution=$(aws_ stepfunctions start-execution --state-machine-arn "$machine" --input '{"n":1}' --query executionArn) || fail "start-execution"
  # The worker: takes the task (waiting for it if need be), then answers it.
  aws_ stepfunctions get-activity-task --activity-arn "$activity" --worker-name cli-worker --output json > "$WORK/task.json" || fail "get-activity-task"
  token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["taskToken"])' "$WORK/task.json") || fail "no task: $(cat "$WORK/task.json")"
  [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["input"])' "$WORK/task.json")" = '{"n":1}' ] || fail "input: $(cat "$WORK/task.json")"
  aws_ stepfunctions send-task-heartbeat --task-token "$token" || fail "send-task-heartbeat"
  aws_ stepfunctions send-task-success --task-token "$token" --task-output '{"done":true}' || fail "send-task-success"
  [ "$(finished "$execution")" = "SUCCEEDED" ] || fail "status"
  [ "$(aws_ stepfunctions describe-execution --execution-arn "$execution" --query output)" = '{"done":true}' ] || fail "output"
  [ "$(aws_ stepfunctions get-execution-history --execution-arn "$execution" --query 'events[].type' | tr '\t' ' ')" = \
    "ExecutionStarted TaskStateEntered ActivityScheduled ActivityStarted ActivitySucceeded TaskStateExited ExecutionSucceeded" ] || fail "history"
  aws_ stepfunctions send-task-success --task-token "$token" --task-output '{}' 2>"$WORK/err" && fail "answered twice"
  grep -q TaskDoesNotExist "$WORK/err" || fail "expected TaskDoesNotExist: $(cat "$WORK/err")"
  aws_ stepfunctions delete-activity --activity-arn "$activity" || fail "delete-activity"
  aws_ stepfunctions get-activity-task --activity-arn "$activity" 2>"$WORK/err" && fail "deleted activity polled"
  grep -q ActivityDoesNotExist "$WORK/err" || fail "expected ActivityDoesNotExist: $(cat "$WORK/err")"
}

test_cli_refusals() {
  aws_ stepfunctions send-task-success --task-token not-a-token --task-output '{}' 2>"$WORK/err" && fail "bad token accepted"
  grep -q InvalidToken "$WORK/err" || fail "expected InvalidToken: $(cat "$WORK/err")"
  aws_ stepfunctions send-task-failure --task-token "$(printf 'A%.0s' $(seq 1 128))" --error E 2>"$WORK/err" && fail "unknown token accepted"
  grep -q TaskDoesNotExist "$WORK/err" || fail "expected TaskDoesNotExist: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
