#!/usr/bin/env bash
# The one test command: installs what the tests need on a fresh machine (Debian's awscli v2 and
# python3-boto3 beside the image's aws CLI v1 and boto3; Node.js and the AWS SDK for JavaScript v3
# from tests/js-sdk's lock file), restores, builds (warnings are errors) and runs every test: unit
# tests and end-to-end tests against real `strata serve` processes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# ONNX Runtime's official builds report to Microsoft unless this is set before they start; the
# tests load it in their own process too (the server sets it for its workers).
export ORT_DISABLE_TELEMETRY=1

need=()
[ -x /usr/bin/aws ] || need+=(awscli)
/usr/bin/python3 -c "import boto3" 2>/dev/null || need+=(python3-boto3)
command -v curl >/dev/null || need+=(curl)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi
for tool in aws python3 /usr/bin/aws /usr/bin/python3 dotnet node npm; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
python3 -c "import boto3" || { echo "the image's python3 has no boto3" >&2; exit 1; }
# The image's python3 and aws are pyenv shims: bash scripts that start ~16 processes and cost
# 0.28 s of CPU before the real program runs. The tests start python3 and aws ~1500 times on a
# CPU-bound run, so they find the real interpreter's directory (the same programs) first.
pybin=$(python3 -c 'import os, sys; print(os.path.dirname(os.path.realpath(sys.executable)))')
case "$pybin" in /usr/bin | /bin) ;; *) export PATH="$pybin:$PATH" ;; esac
# The JS SDK v3 at the versions tests/js-sdk/package-lock.json pins (JsSdkTests runs the README's example).
(cd tests/js-sdk && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# House rules (.editorconfig): the build enforces the analyzers and the formatting (IDE0055);
# What no analyzer reports, the order of usings, scripts/check_usings.py checks as `dotnet format`
# orders them (in a second, where `dotnet format --verify-no-changes` analyses the whole solution
# again for four minutes of CPU).
dotnet build Strata.slnx -c Release --nologo -v quiet
python3 scripts/check_usings.py .
log=$(mktemp)
listing=$(mktemp)
# One line per suite (test class) as it ends, from the per-test lines of the console logger;
# failures print whole as they come. The listing says how many tests each suite has.
dotnet test Strata.slnx -c Release --no-build --nologo --list-tests >"$listing" 2>&1 || true
set +e
dotnet test Strata.slnx -c Release --no-build --nologo --blame-hang-timeout 30m --logger "console;verbosity=normal" 2>&1 \
  | python3 scripts/test_progress.py "$listing" | tee "$log"
status=${PIPESTATUS[0]}
set -e
rm -f "$listing"
# One closing line that any reader understands: "N passed, N failed" (test_progress.py counted them).
summary=$(sed -nE 's/^totals: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$log" | tail -1)
summary=${summary:-0 0}
rm -f "$log"
read -r passed failed <<<"$summary"
if [ "$passed" -eq 0 ]; then status=1; fi
echo "$passed passed, $failed failed"
exit "$status"
