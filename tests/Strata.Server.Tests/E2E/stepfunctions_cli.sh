#!/usr/bin/env bash
# Step Functions end to end with an unmodified aws CLI: run with AWS_CLI=aws (v1.45) or
# AWS_CLI=/usr/bin/aws (v2.9).
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test

role() {
  local name="cli-states-$RANDOM$RANDOM"
  aws_ iam create-role --role-name "$name" --query Role.Arn --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
}

test_machine_and_execution() {
  local role_arn name arn execution status
  role_arn=$(role) || fail "create-role"
  name="cli-machine-$RANDOM$RANDOM"
  cat > "$WORK/def.json" <<'JSON'
{"StartAt":"Greet","States":{"Greet":{"Type":"Pass","Parameters":{"greeting.$":"States.Format('hello {}', $.who)"},"Next":"Check"},
 "Check":{"Type":"Choice","Choices":[{"Variable":"$.greeting","StringEquals":"hello world","Next":"Done"}],"Default":"Oops"},
 "Done":{"Type":"Succeed"},"Oops":{"Type":"Fail","Error":"Unexpected"}}}
JSON
  arn=$(aws_ stepfunctions create-state-machine --name "$name" --role-arn "$role_arn" --definition "file://$WORK/def.json" --query stateMachineArn) || fail "create-state-machine"
  [ "$(aws_ stepfunctions describe-state-machine --state-machine-arn "$arn" --query status)" = "ACTIVE" ] || fail "describe-state-machine"
  aws_ stepfunctions list-state-machines --query 'stateMachines[].name' | tr '\t' '\n' | grep -qx "$name" || fail "list-state-machines"
  # ValidateStateMachineDefinition is newer than the CLI v2.9's model.
  if valid=$(aws_ stepfunctions validate-state-machine-definition --definition "file://$WORK/def.json" --query result 2>"$WORK/err"); then
    [ "$valid" = "OK" ] || fail "validate: $valid"
  else
    grep -q "Invalid choice" "$WORK/err" || fail "validate: $(cat "$WORK/err")"
  fi
  execution=$(aws_ stepfunctions start-execution --state-machine-arn "$arn" --name first --input '{"who":"world"}' --query executionArn) || fail "start-execution"
  for _ in $(seq 1 100); do
    status=$(aws_ stepfunctions describe-execution --execution-arn "$execution" --query status) || fail "describe-execution"
    [ "$status" != "RUNNING" ] && break
    sleep 0.2
  done
  [ "$status" = "SUCCEEDED" ] || fail "status: $status"
  [ "$(aws_ stepfunctions describe-execution --execution-arn "$execution" --query output)" = '{"greeting":"hello world"}' ] || fail "output"
  [ "$(aws_ stepfunctions get-execution-history --execution-arn "$execution" --query 'events[].type' | tr '\t' ' ')" = \
    "ExecutionStarted PassStateEntered PassStateExited ChoiceStateEntered ChoiceStateExited SucceedStateEntered SucceedStateExited ExecutionSucceeded" ] || fail "history"
  aws_ stepfunctions list-executions --state-machine-arn "$arn" --status-filter SUCCEEDED --query 'executions[].name' | grep -qx first || fail "list-executions"
  aws_ stepfunctions start-execution --state-machine-arn "$arn" --name first --input '{"who":"moon"}' 2>"$WORK/err" && fail "same name accepted"
  grep -q ExecutionAlreadyExists "$WORK/err" || fail "expected ExecutionAlreadyExists: $(cat "$WORK/err")"
  aws_ stepfunctions delete-state-machine --state-machine-arn "$arn" || fail "delete-state-machine"
}

test_refusals() {
  local role_arn account
  role_arn=$(role) || fail "create-role"
  account=$(aws_ sts get-caller-identity --query Account) || fail "get-caller-identity"
  aws_ stepfunctions create-state-machine --name "cli-bad-$RANDOM" --role-arn "$role_arn" --definition '{"StartAt":"A","States":{}}' 2>"$WORK/err" && fail "bad definition accepted"
  grep -q InvalidDefinition "$WORK/err" || fail "expected InvalidDefinition: $(cat "$WORK/err")"
  aws_ stepfunctions describe-state-machine --state-machine-arn "arn:aws:states:us-east-1:$account:stateMachine:none-$RANDOM" 2>"$WORK/err" && fail "missing machine found"
  grep -q StateMachineDoesNotExist "$WORK/err" || fail "expected StateMachineDoesNotExist: $(cat "$WORK/err")"
  aws_ stepfunctions describe-execution --execution-arn "not-an-arn" 2>"$WORK/err" && fail "bad ARN accepted"
  grep -q InvalidArn "$WORK/err" || fail "expected InvalidArn: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
