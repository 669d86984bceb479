#!/usr/bin/env bash
# IAM and STS end to end with an unmodified aws CLI: run with AWS_CLI=aws (v1.45) or AWS_CLI=/usr/bin/aws (v2.9).
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }

test_user_key_policy_and_caller_identity() {
  local u; u=$(name cli-user)
  aws_ iam create-user --user-name "$u" --query User.UserName | grep -qx "$u" || fail "create-user"
  read -r id secret < <(aws_ iam create-access-key --user-name "$u" --query 'AccessKey.[AccessKeyId,SecretAccessKey]') || fail "create-access-key"
  [ "$(AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret aws_ sts get-caller-identity --query Arn)" = "arn:aws:iam::$(aws_ sts get-caller-identity --query Account):user/$u" ] || fail "get-caller-identity as the user"
  AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret aws_ s3api list-buckets 2>"$WORK/err" && fail "a new user listed buckets"
  grep -q AccessDenied "$WORK/err" || fail "expected AccessDenied: $(cat "$WORK/err")"
  cat > "$WORK/p.json" <<'JSON'
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}
JSON
  aws_ iam put-user-policy --user-name "$u" --policy-name list --policy-document "file://$WORK/p.json" || fail "put-user-policy"
  AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret aws_ s3api list-buckets >/dev/null || fail "list-buckets once allowed"
  echo '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}' > "$WORK/bad.json"
  aws_ iam put-user-policy --user-name "$u" --policy-name bad --policy-document "file://$WORK/bad.json" 2>"$WORK/err" && fail "bad policy accepted"
  grep -q "MalformedPolicyDocument" "$WORK/err" && grep -q "Invalid effect: Maybe" "$WORK/err" || fail "expected MalformedPolicyDocument: $(cat "$WORK/err")"
  aws_ iam delete-user-policy --user-name "$u" --policy-name list || fail "delete-user-policy"
  aws_ iam delete-access-key --user-name "$u" --access-key-id "$id" || fail "delete-access-key"
  aws_ iam delete-user --user-name "$u" || fail "delete-user"
  aws_ iam get-user --user-name "$u" 2>"$WORK/err" && fail "deleted user found"
  grep -q NoSuchEntity "$WORK/err" || fail "expected NoSuchEntity: $(cat "$WORK/err")"
}

test_assume_role_as_a_profile() {
  local r account; r=$(name cli-role)
  account=$(aws_ sts get-caller-identity --query Account)
  echo "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$account:root\"},\"Action\":\"sts:AssumeRole\"}]}" > "$WORK/trust.json"
  aws_ iam create-role --role-name "$r" --assume-role-policy-document "file://$WORK/trust.json" >/dev/null || fail "create-role"
  aws_ iam attach-role-policy --role-name "$r" --policy-arn arn:aws:iam::aws:policy/IAMReadOnlyAccess || fail "attach-role-policy"
  # A profile with role_arn: the CLI calls AssumeRole itself and signs with the session.
  cat > "$WORK/config" <<CONF
[profile base]
region = us-east-1
[profile app]
role_arn = arn:aws:iam::$account:role/$r
source_profile = base
CONF
  cat > "$WORK/credentials" <<CONF
[base]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
CONF
  local arn
  # The CLI v2 before 2.13 calls AssumeRole for a role profile at AWS's own STS endpoint (it takes
  # no endpoint from the config or the environment): only v1 can use such a profile with Strata.
  if ! "$AWS_CLI" --version 2>&1 | grep -q '^aws-cli/2\.\([0-9]\|1[0-2]\)\.'; then
    arn=$(AWS_CONFIG_FILE=$WORK/config AWS_SHARED_CREDENTIALS_FILE=$WORK/credentials AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= AWS_ENDPOINT_URL=$STRATA_ENDPOINT \
      "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text --profile app sts get-caller-identity --query Arn 2>"$WORK/err") || fail "profile sts: $(cat "$WORK/err")"
    case "$arn" in "arn:aws:sts::$account:assumed-role/$r/"*) ;; *) fail "assumed arn: $arn";; esac
  fi
  read -r kid ksecret ktoken < <(aws_ sts assume-role --role-arn "arn:aws:iam::$account:role/$r" --role-session-name cli --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]') || fail "assume-role"
  AWS_ACCESS_KEY_ID=$kid AWS_SECRET_ACCESS_KEY=$ksecret AWS_SESSION_TOKEN=$ktoken aws_ iam get-role --role-name "$r" --query Role.RoleName | grep -qx "$r" || fail "read as the role"
  AWS_ACCESS_KEY_ID=$kid AWS_SECRET_ACCESS_KEY=$ksecret AWS_SESSION_TOKEN=$ktoken aws_ s3api list-buckets 2>"$WORK/err" && fail "role listed buckets"
  grep -q AccessDenied "$WORK/err" || fail "expected AccessDenied: $(cat "$WORK/err")"
  aws_ iam detach-role-policy --role-name "$r" --policy-arn arn:aws:iam::aws:policy/IAMReadOnlyAccess || fail "detach-role-policy"
  aws_ iam delete-role --role-name "$r" || fail "delete-role"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
