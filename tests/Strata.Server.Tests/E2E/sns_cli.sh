#!/usr/bin/env bash
# SNS end to end with an unmodified aws CLI: run with AWS_CLI=aws (v1.45) or AWS_CLI=/usr/bin/aws (v2.9).
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }

test_topic_publish_and_errors() {
  local t arn; t=$(name cli-topic)
  arn=$(aws_ sns create-topic --name "$t" --query TopicArn) || fail "create-topic"
  case "$arn" in arn:aws:sns:us-east-1:*:"$t") ;; *) fail "topic arn: $arn" ;; esac
  aws_ sns list-topics --query 'Topics[].TopicArn' | tr '\t' '\n' | grep -qx "$arn" || fail "list-topics"
  aws_ sns set-topic-attributes --topic-arn "$arn" --attribute-name DisplayName --attribute-value "CLI" || fail "set-topic-attributes"
  [ "$(aws_ sns get-topic-attributes --topic-arn "$arn" --query Attributes.DisplayName)" = "CLI" ] || fail "get-topic-attributes"
  aws_ sns publish --topic-arn "$arn" --message "from the cli" --query MessageId | grep -Eq '^[0-9a-f-]{36}$' || fail "publish"
  aws_ sns tag-resource --resource-arn "$arn" --tags Key=team,Value=ml || fail "tag-resource"
  [ "$(aws_ sns list-tags-for-resource --resource-arn "$arn" --query 'Tags[0].Value')" = "ml" ] || fail "list-tags-for-resource"
  aws_ sns subscribe --topic-arn "$arn" --protocol sqs --notification-endpoint arn:aws:sqs:us-east-1:123456789012:q 2>"$WORK/err" && fail "sqs accepted"
  grep -q "InvalidParameter" "$WORK/err" && grep -q "SQS" "$WORK/err" || fail "expected InvalidParameter: $(cat "$WORK/err")"
  aws_ sns create-topic --name "$(name fifo).fifo" 2>"$WORK/err" && fail "fifo accepted"
  grep -q "FIFO topics are not supported" "$WORK/err" || fail "expected the FIFO refusal: $(cat "$WORK/err")"
  aws_ sns delete-topic --topic-arn "$arn" || fail "delete-topic"
  aws_ sns get-topic-attributes --topic-arn "$arn" 2>"$WORK/err" && fail "deleted topic found"
  grep -q "NotFound" "$WORK/err" || fail "expected NotFound: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
