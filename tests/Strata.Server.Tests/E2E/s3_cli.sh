#!/usr/bin/env bash
# S3 end to end with an unmodified aws CLI: run with AWS_CLI=aws (v1.45) or AWS_CLI=/usr/bin/aws (v2.9).
# Each test_* function is one case; the harness at the bottom prints PASS/FAIL lines.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" "$@"; }
# High-level s3 commands print progress unless told not to.
s3q() { local cmd=$1; shift; aws_ s3 "$cmd" --only-show-errors "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
bucket() { echo "cli-$RANDOM$RANDOM-$(date +%N)"; }

test_mb_cp_ls_rm_rb() {
  local b; b=$(bucket)
  aws_ s3 mb "s3://$b" | grep -q "make_bucket: $b" || fail "mb"
  echo "hello cli" > "$WORK/hello.txt"
  s3q cp "$WORK/hello.txt" "s3://$b/dir/hello.txt" || fail "cp up"
  aws_ s3 ls "s3://$b/dir/" | grep -q "hello.txt" || fail "ls"
  aws_ s3 ls | grep -q "$b" || fail "ls buckets"
  s3q cp "s3://$b/dir/hello.txt" "$WORK/back.txt" || fail "cp down"
  cmp "$WORK/hello.txt" "$WORK/back.txt" || fail "content differs"
  [ "$(s3q cp "s3://$b/dir/hello.txt" -)" = "hello cli" ] || fail "cp to stdout"
  s3q rm "s3://$b/dir/hello.txt" || fail "rm"
  [ -z "$(aws_ s3 ls "s3://$b/dir/")" ] || fail "object still listed"
  aws_ s3 rb "s3://$b" || fail "rb"
  ! aws_ s3 ls "s3://$b" 2>"$WORK/err" || fail "listing a removed bucket succeeded"
  grep -q "NoSuchBucket" "$WORK/err" || fail "expected NoSuchBucket: $(cat "$WORK/err")"
}

test_sync_and_recursive_rm() {
  local b; b=$(bucket)
  aws_ s3 mb "s3://$b" >/dev/null
  mkdir -p "$WORK/tree/a/b" "$WORK/tree/c"
  for f in a/1.txt a/b/2.txt c/3.txt top.txt; do echo "$f" > "$WORK/tree/$f"; done
  s3q sync "$WORK/tree" "s3://$b/tree" || fail "sync up"
  [ "$(aws_ s3 ls --recursive "s3://$b/tree/" | wc -l)" -eq 4 ] || fail "4 objects after sync"
  [ -z "$(s3q sync "$WORK/tree" "s3://$b/tree" --dryrun)" ] || fail "second sync would copy again"
  echo changed > "$WORK/tree/c/3.txt"; sleep 1; touch "$WORK/tree/c/3.txt"
  s3q sync "$WORK/tree" "s3://$b/tree" --dryrun | grep -q "c/3.txt" || fail "changed file not synced"
  s3q sync "s3://$b/tree" "$WORK/down" || fail "sync down"
  diff -r "$WORK/down" <(true) >/dev/null 2>&1; [ -f "$WORK/down/a/b/2.txt" ] || fail "sync down missing file"
  s3q rm --recursive "s3://$b/tree" || fail "rm --recursive"
  [ -z "$(aws_ s3 ls --recursive "s3://$b")" ] || fail "objects left"
  aws_ s3 rb "s3://$b" || fail "rb"
}

test_multipart_cp_of_large_file() {
  local b; b=$(bucket)
  aws_ s3 mb "s3://$b" >/dev/null
  head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom > "$WORK/big.bin"
  s3q cp "$WORK/big.bin" "s3://$b/big.bin" || fail "multipart cp"
  local etag; etag=$(aws_ s3api head-object --bucket "$b" --key big.bin --query ETag --output text)
  [[ "$etag" == *-3\" ]] || fail "expected a 3-part ETag, got $etag"
  s3q cp "s3://$b/big.bin" "$WORK/big.out" || fail "download"
  cmp "$WORK/big.bin" "$WORK/big.out" || fail "downloaded bytes differ"
}

test_presign() {
  local b; b=$(bucket)
  aws_ s3 mb "s3://$b" >/dev/null
  echo "presigned body" | s3q cp - "s3://$b/p.txt"
  local url; url=$("$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" s3 presign "s3://$b/p.txt" --expires-in 300)
  [ "$(curl -sf "$url")" = "presigned body" ] || fail "presigned GET failed: $url"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${url/p.txt/other.txt}")" = "403" ] || fail "tampered URL not refused"
}

test_s3api_objects_and_errors() {
  local b; b=$(bucket)
  aws_ s3api create-bucket --bucket "$b" >/dev/null || fail "create-bucket"
  echo data > "$WORK/d"
  aws_ s3api put-object --bucket "$b" --key k --body "$WORK/d" --metadata a=1 --content-type text/x-test >/dev/null || fail "put-object"
  [ "$(aws_ s3api head-object --bucket "$b" --key k --query ContentType --output text)" = "text/x-test" ] || fail "head-object"
  aws_ s3api get-object --bucket "$b" --key k "$WORK/out" >/dev/null && cmp "$WORK/d" "$WORK/out" || fail "get-object"
  aws_ s3api get-object --bucket "$b" --key missing "$WORK/out" 2>"$WORK/err" && fail "missing key succeeded"
  grep -q "NoSuchKey" "$WORK/err" || fail "expected NoSuchKey: $(cat "$WORK/err")"
  aws_ s3api create-bucket --bucket "Bad_Name" 2>"$WORK/err" && fail "bad name accepted"
  grep -q "InvalidBucketName" "$WORK/err" || fail "expected InvalidBucketName: $(cat "$WORK/err")"
  aws_ s3api put-object-tagging --bucket "$b" --key k --tagging 'TagSet=[{Key=x,Value=y}]' || fail "tagging"
  [ "$(aws_ s3api get-object-tagging --bucket "$b" --key k --query 'TagSet[0].Value' --output text)" = "y" ] || fail "get tagging"
  aws_ s3api delete-objects --bucket "$b" --delete 'Objects=[{Key=k}]' >/dev/null || fail "delete-objects"
  aws_ s3api delete-bucket --bucket "$b" || fail "delete-bucket"
}

test_bad_credentials() {
  AWS_SECRET_ACCESS_KEY=wrong aws_ s3 ls 2>"$WORK/err" && fail "wrong secret accepted"
  grep -q "SignatureDoesNotMatch" "$WORK/err" || fail "expected SignatureDoesNotMatch: $(cat "$WORK/err")"
  AWS_ACCESS_KEY_ID=AKIANOSUCHKEY0000000 aws_ s3 ls 2>"$WORK/err" && fail "unknown key accepted"
  grep -q "InvalidAccessKeyId" "$WORK/err" || fail "expected InvalidAccessKeyId: $(cat "$WORK/err")"
}

test_https_with_trusted_certificate() {
  local b; b=$(bucket)
  # The self-signed certificate of the data directory, trusted explicitly as a CA bundle.
  "$AWS_CLI" --endpoint-url "$STRATA_TLS_ENDPOINT" --ca-bundle "$STRATA_DATA_DIR/tls/cert.pem" s3 mb "s3://$b" >/dev/null || fail "mb over https"
  head -c 3000000 /dev/urandom > "$WORK/tls.bin"
  "$AWS_CLI" --endpoint-url "$STRATA_TLS_ENDPOINT" --ca-bundle "$STRATA_DATA_DIR/tls/cert.pem" s3 cp "$WORK/tls.bin" "s3://$b/tls.bin" --only-show-errors || fail "cp over https"
  s3q cp "s3://$b/tls.bin" "$WORK/tls.out" || fail "read back over http"
  cmp "$WORK/tls.bin" "$WORK/tls.out" || fail "bytes differ"
}

test_s3api_every_operation() {
  # Every S3 operation Strata implements, through this CLI's s3api.
  local b q; b=$(bucket)
  q() { aws_ s3api "$@" --output text; }
  aws_ s3api create-bucket --bucket "$b" >/dev/null || fail "create-bucket"
  aws_ s3api head-bucket --bucket "$b" || fail "head-bucket"
  [ "$(q get-bucket-location --bucket "$b" --query LocationConstraint)" = "None" ] || fail "get-bucket-location"
  q list-buckets --query "Buckets[?Name=='$b'].Name" | grep -q "$b" || fail "list-buckets"
  q get-bucket-versioning --bucket "$b" >/dev/null || fail "get-bucket-versioning"
  echo one > "$WORK/one"
  aws_ s3api put-object --bucket "$b" --key a/one --body "$WORK/one" --tagging "k=v" >/dev/null || fail "put-object"
  aws_ s3api copy-object --bucket "$b" --key a/two --copy-source "$b/a/one" >/dev/null || fail "copy-object"
  [ "$(q list-objects --bucket "$b" --prefix a/ --query 'Contents[].Key')" = "a/one	a/two" ] || fail "list-objects"
  [ "$(q list-objects-v2 --bucket "$b" --delimiter / --query 'CommonPrefixes[].Prefix')" = "a/" ] || fail "list-objects-v2"
  [ "$(q list-object-versions --bucket "$b" --query 'Versions[0].VersionId')" = "null" ] || fail "list-object-versions"
  [ "$(q get-object-tagging --bucket "$b" --key a/two --query 'TagSet[0].Key')" = "k" ] || fail "tags copied"
  aws_ s3api delete-object-tagging --bucket "$b" --key a/two || fail "delete-object-tagging"
  [ "$(q get-object-tagging --bucket "$b" --key a/two --query 'length(TagSet)')" = "0" ] || fail "tags deleted"
  head -c $((5 * 1024 * 1024)) /dev/urandom > "$WORK/part1"
  local up e1 e2
  up=$(q create-multipart-upload --bucket "$b" --key mp --query UploadId) || fail "create-multipart-upload"
  e1=$(q upload-part --bucket "$b" --key mp --upload-id "$up" --part-number 1 --body "$WORK/part1" --query ETag) || fail "upload-part"
  e2=$(q upload-part-copy --bucket "$b" --key mp --upload-id "$up" --part-number 2 --copy-source "$b/a/one" --query CopyPartResult.ETag) || fail "upload-part-copy"
  [ "$(q list-parts --bucket "$b" --key mp --upload-id "$up" --query 'length(Parts)')" = "2" ] || fail "list-parts"
  q list-multipart-uploads --bucket "$b" --query 'Uploads[].UploadId' | grep -q -- "$up" || fail "list-multipart-uploads"
  aws_ s3api complete-multipart-upload --bucket "$b" --key mp --upload-id "$up" \
    --multipart-upload "{\"Parts\":[{\"PartNumber\":1,\"ETag\":$e1},{\"PartNumber\":2,\"ETag\":$e2}]}" >/dev/null || fail "complete-multipart-upload"
  [ "$(q head-object --bucket "$b" --key mp --query ContentLength)" = "$((5 * 1024 * 1024 + 4))" ] || fail "completed size"
  up=$(q create-multipart-upload --bucket "$b" --key gone --query UploadId)
  aws_ s3api abort-multipart-upload --bucket "$b" --key gone --upload-id "$up" || fail "abort-multipart-upload"
  aws_ s3api list-parts --bucket "$b" --key gone --upload-id "$up" 2>"$WORK/err" && fail "aborted upload still listed"
  grep -q NoSuchUpload "$WORK/err" || fail "expected NoSuchUpload: $(cat "$WORK/err")"
  aws_ s3api delete-object --bucket "$b" --key mp || fail "delete-object"
  aws_ s3api delete-objects --bucket "$b" --delete '{"Objects":[{"Key":"a/one"},{"Key":"a/two"}],"Quiet":true}' >/dev/null || fail "delete-objects"
  aws_ s3api delete-bucket --bucket "$b" || fail "delete-bucket"
}

test_versioning() {
  local b v1 v2; b=$(bucket)
  aws_ s3 mb "s3://$b" >/dev/null
  aws_ s3api put-bucket-versioning --bucket "$b" --versioning-configuration Status=Enabled || fail "put-bucket-versioning"
  [ "$(aws_ s3api get-bucket-versioning --bucket "$b" --query Status --output text)" = "Enabled" ] || fail "get-bucket-versioning"
  echo one > "$WORK/v.txt"
  v1=$(aws_ s3api put-object --bucket "$b" --key k --body "$WORK/v.txt" --query VersionId --output text) || fail "put v1"
  echo two > "$WORK/v.txt"
  v2=$(aws_ s3api put-object --bucket "$b" --key k --body "$WORK/v.txt" --query VersionId --output text) || fail "put v2"
  [ "$v1" != "$v2" ] || fail "one version id for two writes"
  aws_ s3api get-object --bucket "$b" --key k --version-id "$v1" "$WORK/back.txt" >/dev/null || fail "get-object --version-id"
  [ "$(cat "$WORK/back.txt")" = "one" ] || fail "the first version's body"
  [ "$(aws_ s3api list-object-versions --bucket "$b" --query 'Versions[].VersionId' --output text)" = "$v2	$v1" ] || fail "list-object-versions"
  s3q rm "s3://$b/k" || fail "rm (a delete marker)"
  [ -z "$(aws_ s3 ls "s3://$b")" ] || fail "a deleted key still listed"
  [ "$(aws_ s3api list-object-versions --bucket "$b" --query 'length(DeleteMarkers)')" = "1" ] || fail "one delete marker"
}

test_lifecycle() {
  local b out; b=$(bucket)
  aws_ s3 mb "s3://$b" >/dev/null
  aws_ s3api put-bucket-lifecycle-configuration --bucket "$b" --lifecycle-configuration \
    '{"Rules":[{"ID":"tmp rule","Status":"Enabled","Filter":{"Prefix":"tmp/"},"Expiration":{"Days":3}}]}' >/dev/null || fail "put-bucket-lifecycle-configuration"
  [ "$(aws_ s3api get-bucket-lifecycle-configuration --bucket "$b" --query 'Rules[0].[ID,Filter.Prefix,Expiration.Days]' --output text)" = "tmp rule	tmp/	3" ] \
    || fail "get-bucket-lifecycle-configuration"
  echo x > "$WORK/l.txt"
  s3q cp "$WORK/l.txt" "s3://$b/tmp/x" || fail "cp"
  out=$(aws_ s3api head-object --bucket "$b" --key tmp/x --query Expiration --output text) || fail "head-object"
  [[ "$out" == 'expiry-date="'*' 00:00:00 GMT", rule-id="tmp%20rule"' ]] || fail "x-amz-expiration: $out"
  out=$(aws_ s3api put-bucket-lifecycle-configuration --bucket "$b" --lifecycle-configuration \
    '{"Rules":[{"Status":"Enabled","Filter":{},"Expiration":{"Days":0}}]}' 2>&1) && fail "Days 0 accepted"
  [[ "$out" == *"(InvalidArgument)"*"'Days' for Expiration action must be a positive integer"* ]] || fail "Days 0: $out"
  aws_ s3api delete-bucket-lifecycle --bucket "$b" || fail "delete-bucket-lifecycle"
  out=$(aws_ s3api get-bucket-lifecycle-configuration --bucket "$b" 2>&1) && fail "a deleted configuration still read"
  [[ "$out" == *"(NoSuchLifecycleConfiguration)"*"The lifecycle configuration does not exist"* ]] || fail "after delete: $out"
}

test_bucket_tagging_and_object_attributes() {
  local b; b=$(bucket)
  aws_ s3 mb "s3://$b" >/dev/null
  aws_ s3api get-bucket-tagging --bucket "$b" 2>"$WORK/err" && fail "an untagged bucket has tags"
  grep -q NoSuchTagSet "$WORK/err" || fail "expected NoSuchTagSet: $(cat "$WORK/err")"
  aws_ s3api put-bucket-tagging --bucket "$b" --tagging 'TagSet=[{Key=team,Value=ml},{Key=stage,Value=dev}]' || fail "put-bucket-tagging"
  [ "$(aws_ s3api get-bucket-tagging --bucket "$b" --query 'TagSet[].Key' --output text)" = "team	stage" ] || fail "get-bucket-tagging"
  aws_ s3api put-bucket-tagging --bucket "$b" --tagging 'TagSet=[{Key=aws:reserved,Value=x}]' 2>"$WORK/err" && fail "an aws: key accepted"
  grep -q InvalidTag "$WORK/err" || fail "expected InvalidTag: $(cat "$WORK/err")"
  aws_ s3api delete-bucket-tagging --bucket "$b" || fail "delete-bucket-tagging"
  echo attributes > "$WORK/attr.txt"
  aws_ s3api put-object --bucket "$b" --key k --body "$WORK/attr.txt" >/dev/null || fail "put-object"
  [ "$(aws_ s3api get-object-attributes --bucket "$b" --key k --object-attributes ObjectSize StorageClass \
      --query '[ObjectSize,StorageClass]' --output text)" = "11	STANDARD" ] || fail "get-object-attributes"
  aws_ s3api restore-object --bucket "$b" --key k --restore-request Days=1 2>"$WORK/err" && fail "a restore of an object never archived"
  grep -q InvalidObjectState "$WORK/err" || fail "expected InvalidObjectState: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
