#!/usr/bin/env bash
# CloudWatch end to end with an unmodified aws CLI: run with AWS_CLI=aws (v1.45, RPC v2 CBOR) or
# AWS_CLI=/usr/bin/aws (v2.9, Query).
set -u
AWS_CLI=${AWS_CLI:-aws}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

aws_() { "$AWS_CLI" --endpoint-url "$STRATA_ENDPOINT" --output text "$@"; }
fail() { echo "$*" >&2; exit 1; }  # each test runs in a subshell: this ends the test
iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

test_put_and_read_metrics() {
  local ns="Cli/$RANDOM$RANDOM"
  aws_ cloudwatch put-metric-data --namespace "$ns" --metric-name Jobs --dimensions Queue=q1 --value 3 --unit Count || fail "put-metric-data"
  aws_ cloudwatch put-metric-data --namespace "$ns" --metric-name Jobs --dimensions Queue=q1 --value 4 --unit Count || fail "put-metric-data again"
  aws_ cloudwatch put-metric-data --namespace "$ns" --metric-name Jobs --dimensions Queue=q1 \
    --statistic-values SampleCount=2,Sum=10,Minimum=4,Maximum=6 --unit Count || fail "put-metric-data statistic set"
  local sum
  sum=$(aws_ cloudwatch get-metric-statistics --namespace "$ns" --metric-name Jobs --dimensions Name=Queue,Value=q1 \
    --start-time "$(iso '-10 min')" --end-time "$(iso '+1 min')" --period 3600 --statistics Sum --query 'Datapoints[0].Sum') || fail "get-metric-statistics"
  [ "$sum" = "17.0" ] || fail "sum: $sum"
  aws_ cloudwatch list-metrics --namespace "$ns" --query 'Metrics[].MetricName' | grep -qx Jobs || fail "list-metrics"
  cat > "$WORK/q.json" <<JSON
[{"Id":"jobs","MetricStat":{"Metric":{"Namespace":"$ns","MetricName":"Jobs","Dimensions":[{"Name":"Queue","Value":"q1"}]},"Period":3600,"Stat":"Sum"}},
 {"Id":"double","Expression":"jobs * 2"}]
JSON
  local values
  values=$(aws_ cloudwatch get-metric-data --metric-data-queries "file://$WORK/q.json" --start-time "$(iso '-10 min')" --end-time "$(iso '+1 min')" \
    --query 'MetricDataResults[].Values[0]') || fail "get-metric-data"
  [ "$(echo $values)" = "17.0 34.0" ] || fail "get-metric-data values: $values"
}

test_refusals() {
  aws_ cloudwatch put-metric-data --namespace AWS/EC2 --metric-name m --value 1 2>"$WORK/err" && fail "AWS/ namespace accepted"
  grep -q InvalidParameterValue "$WORK/err" || fail "expected InvalidParameterValue: $(cat "$WORK/err")"
  aws_ cloudwatch get-dashboard --dashboard-name "none-$RANDOM" 2>"$WORK/err" && fail "missing dashboard found"
  grep -q ResourceNotFound "$WORK/err" || fail "expected ResourceNotFound: $(cat "$WORK/err")"
}

test_dashboards() {
  local d="cli-$RANDOM$RANDOM"
  aws_ cloudwatch put-dashboard --dashboard-name "$d" --dashboard-body '{"widgets":[{"type":"text","properties":{"markdown":"hello"}}]}' >/dev/null || fail "put-dashboard"
  aws_ cloudwatch get-dashboard --dashboard-name "$d" --query DashboardBody | grep -q hello || fail "get-dashboard"
  aws_ cloudwatch list-dashboards --dashboard-name-prefix "$d" --query 'DashboardEntries[].DashboardName' | grep -qx "$d" || fail "list-dashboards"
  aws_ cloudwatch delete-dashboards --dashboard-names "$d" || fail "delete-dashboards"
}

failed=0
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
  if out=$($t 2>&1); then echo "PASS $t"; else echo "FAIL $t: ${out//$'\n'/ | }"; failed=1; fi
done
exit $failed
