#!/usr/bin/env bash
# Pipe input mode with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9): a
# container of one's own (pipe_container.py) reads two shuffled epochs from its FIFOs; an
# augmented manifest without AttributeNames is refused as AWS refuses it.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }
IMAGE="registry.example.com/team/pipe-reader:$(name v)"
dotnet "$STRATA_DLL" images add --data-dir "$STRATA_DATA_DIR" "$IMAGE" -- python3 "$(cd "$(dirname "$0")" && pwd)/pipe_container.py" >/dev/null \
  || { echo "FAIL setup: images add"; exit 1; }

# execution_role NAME: a role SageMaker may assume to read and write S3; prints its ARN.
execution_role() {
  aws_ iam create-role --role-name "$1" --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null || return 1
  aws_ iam put-role-policy --role-name "$1" --policy-name data --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}' || return 1
  aws_ iam get-role --role-name "$1" --query Role.Arn
}

test_a_shuffled_pipe_channel() {
  local b role job arn
  b=$(name cli-pipe); role=$(name cli-exec); job=$(name cli-pipe)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  for i in 0 1 2 3 4 5 6 7; do
    echo "part-$i" > "$WORK/part-$i"
    aws_ s3 cp "$WORK/part-$i" "s3://$b/train/part-$i" --only-show-errors || fail "cp"
  done
  arn=$(execution_role "$role") || fail "execution role"
  aws_ sagemaker create-training-job --training-job-name "$job" --role-arn "$arn" \
    --algorithm-specification "TrainingImage=$IMAGE,TrainingInputMode=Pipe" \
    --hyper-parameters '{"mode":"read","plan":"{\"train\":{\"epochs\":2}}"}' \
    --input-data-config "[{\"ChannelName\":\"train\",\"ShuffleConfig\":{\"Seed\":7},\"DataSource\":{\"S3DataSource\":{\"S3DataType\":\"S3Prefix\",\"S3Uri\":\"s3://$b/train/\"}}}]" \
    --output-data-config "S3OutputPath=s3://$b/out" \
    --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=5 \
    --stopping-condition MaxRuntimeInSeconds=600 >/dev/null || fail "create-training-job"
  aws_ sagemaker wait training-job-completed-or-stopped --training-job-name "$job" || fail "waiter: $(aws_ sagemaker describe-training-job --training-job-name "$job" --query FailureReason)"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query TrainingJobStatus)" = "Completed" ] \
    || fail "status: $(aws_ sagemaker describe-training-job --training-job-name "$job" --query FailureReason)"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query 'InputDataConfig[0].ShuffleConfig.Seed')" = "7" ] || fail "described seed"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$job" --query AlgorithmSpecification.TrainingInputMode)" = "Pipe" ] || fail "described mode"
  aws_ s3 cp "s3://$b/out/$job/output/model.tar.gz" "$WORK/model.tar.gz" --only-show-errors || fail "model"
  tar -xzf "$WORK/model.tar.gz" -C "$WORK" model.json || fail "untar"
  python3 -c "
import base64, json
epochs = [base64.b64decode(e['data']).decode().split() for e in json.load(open('$WORK/model.json'))['epochs']['train']]
parts = ['part-%d' % i for i in range(8)]
assert len(epochs) == 2 and all(sorted(e) == parts for e in epochs), epochs
assert epochs[0] != epochs[1] and parts not in epochs, epochs" || fail "epochs: $(cat "$WORK/model.json")"
}

test_an_augmented_manifest_needs_attribute_names() {
  local role arn
  role=$(name cli-exec)
  arn=$(execution_role "$role") || fail "execution role"
  aws_ sagemaker create-training-job --training-job-name "$(name cli-aug)" --role-arn "$arn" \
    --algorithm-specification "TrainingImage=$IMAGE,TrainingInputMode=Pipe" \
    --input-data-config '[{"ChannelName":"train","DataSource":{"S3DataSource":{"S3DataType":"AugmentedManifestFile","S3Uri":"s3://nowhere/train.manifest"}}}]' \
    --output-data-config "S3OutputPath=s3://nowhere/out" \
    --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=5 \
    --stopping-condition MaxRuntimeInSeconds=600 2>"$WORK/err" && fail "created a job with no AttributeNames"
  grep -q "ValidationException.*AttributeNames must be specified" "$WORK/err" || fail "expected ValidationException: $(cat "$WORK/err")"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
