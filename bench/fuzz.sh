#!/usr/bin/env bash
# Issue 19's long fuzz run: a fresh `strata serve` (built by ./strata) on a temporary data
# directory, then tests/Strata.Server.Tests/E2E/fuzz_boto3.py with COUNT requests over every served operation and SEED.
#   bench/fuzz.sh [COUNT] [SEED]        defaults: 100000 requests, seed 1919
# Prints one PASS/FAIL line per service (failing requests listed, with the command that
# reproduces them) and the wall time; exits non-zero on any finding.
set -euo pipefail
count=${1:-100000}
seed=${2:-1919}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${STRATA_FUZZ_PORT:-19619}
data=$(mktemp -d)
export STRATA_ROOT_ACCESS_KEY_ID=AKIASTRATAFUZZ000001 STRATA_ROOT_SECRET_ACCESS_KEY=strata/fuzz/secret/key/0123456789abcdefghij
"$root/strata" --help >/dev/null
"$root/strata" serve --port "$port" --tls-port 0 --data-dir "$data" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
# A loaded machine can take a while to start the server; fuzzing a server that is not up would
# report every request as a finding.
up=
for _ in $(seq 300); do
  if (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then up=1; break; fi
  kill -0 $server 2>/dev/null || break
  sleep 0.2
done
if [ -z "$up" ]; then echo "fuzz: strata serve did not start:"; cat "$data/server.log"; exit 2; fi
export AWS_ACCESS_KEY_ID=$STRATA_ROOT_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$STRATA_ROOT_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1 \
  AWS_ENDPOINT_URL=http://127.0.0.1:$port STRATA_ENDPOINT=http://127.0.0.1:$port AWS_CONFIG_FILE=/dev/null \
  AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
start=$(date +%s)
status=0
(cd "$root/tests/Strata.Server.Tests/E2E" && python3 fuzz_boto3.py --count "$count" --seed "$seed") || status=$?
echo "fuzz: count $count, seed $seed, $(( $(date +%s) - start )) s, exit $status"
if [ "$status" -ne 0 ]; then grep -E " fail: " "$data/server.log" | tail -20 || true; fi
exit "$status"
