#!/bin/sh
# make bench: runs bench/vg_bench against the built service. Each figure is
# a ratio against a baseline measured in the same run. Record results in
# docs/BENCHMARKS.md.
set -eu
build=${1:-build}
secs=${BENCH_SECONDS:-2}
[ -x "$build/bench/vg_bench" ] || { echo "bench: build first (make)"; exit 2; }
echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
"$build/bench/vg_bench" "$build/voxguardd" "$secs"
