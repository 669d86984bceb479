#!/usr/bin/env bash
# S3 Object Lock end to end with an unmodified aws CLI: run with AWS_CLI=aws (v1.45) or
# AWS_CLI=/usr/bin/aws (v2.9). Each test_* function is one case, as in s3_cli.sh.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" "$@"; }
fail() { echo "$*" >&2; exit 1; }
bucket() { echo "cli-lock-$RANDOM$RANDOM-$(date +%N)"; }

test_locked_bucket_retention_and_delete() {
  local b; b=$(bucket)
  aws_ s3api create-bucket --bucket "$b" --object-lock-enabled-for-bucket >/dev/null || fail "create-bucket"
  aws_ s3api put-object-lock-configuration --bucket "$b" \
    --object-lock-configuration 'ObjectLockEnabled=Enabled,Rule={DefaultRetention={Mode=GOVERNANCE,Days=1}}' || fail "put-object-lock-configuration"
  [ "$(aws_ s3api get-object-lock-configuration --bucket "$b" --query 'ObjectLockConfiguration.Rule.DefaultRetention.[Mode,Days]' --output text)" = "GOVERNANCE	1" ] \
    || fail "get-object-lock-configuration"
  echo report > "$WORK/r.txt"
  # Both CLIs send an integrity check when asked for one, which a locked write needs.
  local v; v=$(aws_ s3api put-object --bucket "$b" --key r.txt --body "$WORK/r.txt" --checksum-algorithm SHA256 --query VersionId --output text) || fail "put-object"
  [ "$(aws_ s3api get-object-retention --bucket "$b" --key r.txt --version-id "$v" --query Retention.Mode --output text)" = "GOVERNANCE" ] || fail "default retention"
  local until; until=$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)
  aws_ s3api put-object-retention --bucket "$b" --key r.txt --version-id "$v" --retention "Mode=COMPLIANCE,RetainUntilDate=$until" || fail "put-object-retention"
  aws_ s3api put-object-legal-hold --bucket "$b" --key r.txt --version-id "$v" --legal-hold Status=ON || fail "put-object-legal-hold"
  [ "$(aws_ s3api get-object-legal-hold --bucket "$b" --key r.txt --version-id "$v" --query LegalHold.Status --output text)" = "ON" ] || fail "get-object-legal-hold"
  [ "$(aws_ s3api head-object --bucket "$b" --key r.txt --query '[ObjectLockMode,ObjectLockLegalHoldStatus]' --output text)" = "COMPLIANCE	ON" ] || fail "head-object"
  aws_ s3api delete-object --bucket "$b" --key r.txt --version-id "$v" --bypass-governance-retention 2>"$WORK/err" && fail "a locked version was deleted"
  grep -q AccessDenied "$WORK/err" || fail "expected AccessDenied: $(cat "$WORK/err")"
  aws_ s3api put-bucket-versioning --bucket "$b" --versioning-configuration Status=Suspended 2>"$WORK/err" && fail "versioning suspended"
  grep -q InvalidBucketState "$WORK/err" || fail "expected InvalidBucketState: $(cat "$WORK/err")"
}

test_lock_settings_need_an_object_lock_bucket() {
  local b; b=$(bucket)
  aws_ s3api create-bucket --bucket "$b" >/dev/null || fail "create-bucket"
  aws_ s3api get-object-lock-configuration --bucket "$b" 2>"$WORK/err" && fail "a configuration on a plain bucket"
  grep -q ObjectLockConfigurationNotFoundError "$WORK/err" || fail "expected ObjectLockConfigurationNotFoundError: $(cat "$WORK/err")"
  echo x > "$WORK/x.txt"
  aws_ s3api put-object --bucket "$b" --key x --body "$WORK/x.txt" --checksum-algorithm SHA256 --object-lock-legal-hold-status ON 2>"$WORK/err" \
    && fail "a legal hold on a plain bucket"
  grep -q "Bucket is missing Object Lock Configuration" "$WORK/err" || fail "expected InvalidRequest: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
