#!/usr/bin/env bash
# The invoke benchmark (and the GPU readings) on a machine without .NET: the GPU machine some
# sessions are lent, which has 16 cores, NVIDIA's driver and no dotnet, and takes at most 64 MiB
# of files. Issue 13's ratios are CPU-bound on a 2-core machine (load generator, server and worker
# share it), so they are measured there too.
#
#   bash scripts/device-bench.sh pack        # here: builds the bench and packs it with a .NET
#                                            # runtime into .devicebench/bundle.tar.xz (~50 MiB)
#   bash scripts/device-bench.sh run [OUT]   # there, from the repository root: unpacks it, prints
#                                            # the GPUs, runs the invoke bench (bare worker and
#                                            # Strata, small classifier), writes the log to OUT
#
# The device tool call (carry the bundle; one call, well inside its 10 minutes):
#   command: bash scripts/device-bench.sh run $OUT    carry: [".devicebench"]
# STRATA_BENCH_CONNECTIONS (default 1,8,64,256) and STRATA_BENCH_SECONDS (default 5) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bench/Strata.Bench/bin/Release/net10.0

case "${1:-}" in
pack)
    dotnet build bench/Strata.Bench -c Release --nologo -v quiet
    root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    # The runtime the bench, the server and the worker run on (no SDK: nothing is built there).
    mkdir -p "$stage/.devicebench/dotnet/shared"
    cp -a "$root/dotnet" "$root/host" "$stage/.devicebench/dotnet/"
    for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
        version=$(dotnet --list-runtimes | awk -v f="$framework" '$1 == f && $2 ~ /^10\./ { v = $2 } END { print v }')
        mkdir -p "$stage/.devicebench/dotnet/shared/$framework"
        cp -a "$root/shared/$framework/$version" "$stage/.devicebench/dotnet/shared/$framework/"
    done
    # The debugger's and dump writer's libraries: nothing there attaches a debugger.
    rm -f "$stage"/.devicebench/dotnet/shared/Microsoft.NETCore.App/*/{createdump,libmscordaccore.so,libmscordbi.so}
    # The bench's output where the repository copy there expects it (the bench finds the
    # repository, and the classifier model in it, above its own directory). Left out: other
    # platforms' native libraries, debug symbols, ResNet18 (61 MB: the quick mode runs the small
    # classifier only), and what only BenchmarkDotNet's diagnosers and ML.NET's LightGBM load
    # (the 64 MiB limit; none of it is loaded by the invoke bench).
    mkdir -p "$stage/$bin"
    tar -C "$bin" -cf - --exclude='./runtimes' --exclude='./resnet18' --exclude='*.pdb' --exclude='*.dbg' \
        --exclude='./Microsoft.CodeAnalysis*' --exclude='./Microsoft.Diagnostics.*' --exclude='./Iced.dll' --exclude='./Gee.External.Capstone.dll' \
        . | tar -C "$stage/$bin" -xf -
    mkdir -p "$stage/$bin/runtimes/linux-x64"
    tar -C "$bin/runtimes/linux-x64" -cf - --exclude='*.dbg' --exclude='*lightgbm*' --exclude='*capstone*' . | tar -C "$stage/$bin/runtimes/linux-x64" -xf -
    mkdir -p .devicebench
    tar -C "$stage" -cf - .devicebench/dotnet "$bin" | xz -T0 -6 > .devicebench/bundle.tar.xz
    ls -l .devicebench/bundle.tar.xz
    ;;
run)
    out=${2:-.}
    mkdir -p "$out"
    # tar needs xz for this; Python's standard library unpacks it where xz is missing.
    if command -v xz >/dev/null; then tar -xJf .devicebench/bundle.tar.xz
    else python3 -c 'import tarfile; tarfile.open(".devicebench/bundle.tar.xz").extractall(".")'; fi
    # ONNX Runtime's telemetry off in the bench's own process too (its in-process floor).
    export ORT_DISABLE_TELEMETRY=1
    export DOTNET_ROOT=$PWD/.devicebench/dotnet PATH=$PWD/.devicebench/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
    {
        echo "# $(nproc) cores, $(uname -r), $(date -u +%FT%TZ)"
        nvidia-smi -L 2>/dev/null || echo "nvidia-smi: not available"
        dotnet "$bin/Strata.Bench.dll" gpus || echo "gpus: exit $?"
        STRATA_BENCH_QUICK=1 STRATA_BENCH_CONNECTIONS=${STRATA_BENCH_CONNECTIONS:-1,8,64,256} \
            dotnet "$bin/Strata.Bench.dll" invoke "${STRATA_BENCH_SECONDS:-5}"
    } 2>&1 | tee "$out/device-bench.log"
    ;;
*)
    echo "usage: $0 pack | run [OUT]" >&2
    exit 2
    ;;
esac
