#!/usr/bin/env bash
# Processing with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9), as the
# README shows it: shorthand and JSON arguments, the CLI's waiter, the described job, its log,
# and the error a LocalPath outside /opt/ml/processing/ gets.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }
HERE=$(cd "$(dirname "$0")" && pwd)

test_a_processing_job_with_the_waiter() {
  local b role job arn image
  b=$(name cli-prep); role=$(name cli-exec); job=$(name cli-prep); image="registry.example.com/team/prep:$RANDOM$RANDOM"
  dotnet "$STRATA_DLL" images add --data-dir "$STRATA_DATA_DIR" "$image" -- python3 "$HERE/processing_container.py" >/dev/null || fail "images add"
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  printf '1,a\n2,b\n' > "$WORK/rows.csv"
  aws_ s3 cp "$WORK/rows.csv" "s3://$b/raw/rows.csv" --only-show-errors || fail "cp"
  aws_ iam create-role --role-name "$role" --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null || fail "create-role"
  aws_ iam put-role-policy --role-name "$role" --policy-name data --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}' || fail "put-role-policy"
  arn=$(aws_ iam get-role --role-name "$role" --query Role.Arn)
  aws_ sagemaker create-processing-job --processing-job-name "$job" --role-arn "$arn" \
    --app-specification "ImageUri=$image,ContainerArguments=ok,--factor,2" \
    --processing-inputs "[{\"InputName\":\"raw\",\"S3Input\":{\"S3Uri\":\"s3://$b/raw\",\"LocalPath\":\"/opt/ml/processing/input\",\"S3DataType\":\"S3Prefix\",\"S3InputMode\":\"File\"}}]" \
    --processing-output-config "{\"Outputs\":[{\"OutputName\":\"train\",\"S3Output\":{\"S3Uri\":\"s3://$b/prepared\",\"LocalPath\":\"/opt/ml/processing/train\",\"S3UploadMode\":\"EndOfJob\"}}]}" \
    --processing-resources 'ClusterConfig={InstanceCount=1,InstanceType=ml.m5.xlarge,VolumeSizeInGB=5}' \
    --stopping-condition MaxRuntimeInSeconds=3600 --environment SPLIT_SEED=7 >/dev/null || fail "create-processing-job"
  dotnet "$STRATA_DLL" jobs watch "$job" --data-dir "$STRATA_DATA_DIR" > "$WORK/watch.txt" 2>&1 || fail "jobs watch: $(cat "$WORK/watch.txt")"
  grep -q "$job: Completed after .*(exit message: processed 2 rows)" "$WORK/watch.txt" || fail "jobs watch: $(cat "$WORK/watch.txt")"
  aws_ sagemaker wait processing-job-completed-or-stopped --processing-job-name "$job" \
    || fail "waiter: $(aws_ sagemaker describe-processing-job --processing-job-name "$job" --query FailureReason)"
  local answer; answer=$(aws_ sagemaker describe-processing-job --processing-job-name "$job" --query '[ProcessingJobStatus, ExitMessage, Environment.SPLIT_SEED]')
  [ "$(echo $answer)" = "Completed processed 2 rows 7" ] || fail "described: $answer"
  aws_ s3 cp "s3://$b/prepared/result.csv" "$WORK/result.csv" --only-show-errors || fail "the output"
  [ "$(cat "$WORK/result.csv")" = "6.0,2" ] || fail "result: $(cat "$WORK/result.csv")"
  aws_ sagemaker list-processing-jobs --name-contains "$job" --status-equals Completed --query 'ProcessingJobSummaries[].ProcessingJobName' | grep -q "$job" || fail "list"
  aws_ logs filter-log-events --log-group-name /aws/sagemaker/ProcessingJobs --log-stream-name-prefix "$job/" --query 'events[].message' | grep -q done || fail "log"
  aws_ sagemaker create-processing-job --processing-job-name "$(name cli-bad)" --role-arn "$arn" --app-specification "ImageUri=$image" \
    --processing-inputs "[{\"InputName\":\"raw\",\"S3Input\":{\"S3Uri\":\"s3://$b/raw\",\"LocalPath\":\"/tmp/input\",\"S3DataType\":\"S3Prefix\"}}]" \
    --processing-resources 'ClusterConfig={InstanceCount=1,InstanceType=ml.m5.xlarge,VolumeSizeInGB=5}' 2>"$WORK/err" && fail "created with LocalPath /tmp/input"
  grep -q "ValidationException" "$WORK/err" && grep -q "/opt/ml/processing/" "$WORK/err" || fail "expected ValidationException: $(cat "$WORK/err")"
  aws_ sagemaker describe-processing-job --processing-job-name nope 2>"$WORK/err" && fail "described a job that does not exist"
  grep -q ValidationException "$WORK/err" || fail "expected ValidationException: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
