#!/usr/bin/env bash
# Hyperparameter tuning with an unmodified aws CLI (AWS_CLI=aws for v1.45, /usr/bin/aws for v2.9):
# the README's example, XGBoost on AWS's image URI tuned by random search on validation:auc.
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
name() { echo "$1-$RANDOM$RANDOM"; }
XGBOOST=683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1

test_xgboost_random_search() {
  local b role job arn status
  b=$(name cli-tune); role=$(name cli-exec); job=$(name cli-tune)
  aws_ s3 mb "s3://$b" >/dev/null || fail "mb"
  python3 -c '
import random
rng = random.Random(5)
for _ in range(300):
    x = [rng.gauss(0, 1) for _ in range(4)]
    print(",".join([str(int(x[0] + x[1] + rng.gauss(0, 0.5) > 0))] + ["%.5f" % v for v in x]))' > "$WORK/train.csv"
  head -n 120 "$WORK/train.csv" > "$WORK/validation.csv"
  aws_ s3 cp "$WORK/train.csv" "s3://$b/train/train.csv" --only-show-errors || fail "cp train"
  aws_ s3 cp "$WORK/validation.csv" "s3://$b/validation/validation.csv" --only-show-errors || fail "cp validation"
  aws_ iam create-role --role-name "$role" --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null || fail "create-role"
  aws_ iam put-role-policy --role-name "$role" --policy-name data --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":"*"}]}' || fail "put-role-policy"
  arn=$(aws_ iam get-role --role-name "$role" --query Role.Arn)
  aws_ sagemaker create-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" \
    --hyper-parameter-tuning-job-config '{"Strategy": "Random",
      "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
      "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
      "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5"}],
                          "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "4"}]}}' \
    --training-job-definition "{\"StaticHyperParameters\": {\"objective\": \"binary:logistic\", \"num_round\": \"10\", \"eval_metric\": \"auc\"},
      \"AlgorithmSpecification\": {\"TrainingImage\": \"$XGBOOST\", \"TrainingInputMode\": \"File\"},
      \"RoleArn\": \"$arn\",
      \"InputDataConfig\": [{\"ChannelName\": \"train\", \"ContentType\": \"text/csv\", \"DataSource\": {\"S3DataSource\": {\"S3DataType\": \"S3Prefix\", \"S3Uri\": \"s3://$b/train\"}}},
                           {\"ChannelName\": \"validation\", \"ContentType\": \"text/csv\", \"DataSource\": {\"S3DataSource\": {\"S3DataType\": \"S3Prefix\", \"S3Uri\": \"s3://$b/validation\"}}}],
      \"OutputDataConfig\": {\"S3OutputPath\": \"s3://$b/out\"},
      \"ResourceConfig\": {\"InstanceType\": \"ml.m5.large\", \"InstanceCount\": 1, \"VolumeSizeInGB\": 5},
      \"StoppingCondition\": {\"MaxRuntimeInSeconds\": 600}}" >/dev/null || fail "create-hyper-parameter-tuning-job"
  for _ in $(seq 600); do
    status=$(aws_ sagemaker describe-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" --query HyperParameterTuningJobStatus)
    [ "$status" = "InProgress" ] || break
    sleep 0.5
  done
  [ "$status" = "Completed" ] || fail "status $status: $(aws_ sagemaker describe-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" --query FailureReason)"
  [ "$(aws_ sagemaker describe-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" --query TrainingJobStatusCounters.Completed)" = "3" ] || fail "counters"
  local best top
  best=$(aws_ sagemaker describe-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" --query BestTrainingJob.TrainingJobName)
  top=$(aws_ sagemaker list-training-jobs-for-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" \
    --sort-by FinalObjectiveMetricValue --sort-order Descending --max-results 1 --query 'TrainingJobSummaries[0].TrainingJobName')
  [ "$best" = "$top" ] || fail "best $best, highest auc $top"
  [[ "$best" =~ ^$job-00[1-3]-[0-9a-f]{8}$ ]] || fail "training job name $best"
  [ "$(aws_ sagemaker describe-training-job --training-job-name "$best" --query 'HyperParameters._tuning_objective_metric')" = "validation:auc" ] || fail "objective hyperparameter"
  aws_ sagemaker list-hyper-parameter-tuning-jobs --name-contains "$job" --query 'HyperParameterTuningJobSummaries[].HyperParameterTuningJobName' | grep -q "$job" || fail "list"
  # CLI v2.9 predates DeleteHyperParameterTuningJob.
  if "$AWS_CLI" sagemaker delete-hyper-parameter-tuning-job --generate-cli-skeleton >/dev/null 2>&1; then
    aws_ sagemaker delete-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" || fail "delete"
    aws_ sagemaker describe-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "$job" 2>"$WORK/err" && fail "described a deleted job"
    grep -q ResourceNotFound "$WORK/err" || fail "expected ResourceNotFound: $(cat "$WORK/err")"
  fi
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
