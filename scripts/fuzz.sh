#!/bin/sh
# Runs every libFuzzer target in BUILD_DIR/fuzz for SECONDS each on its
# committed seed corpus (read-only: new inputs go to a temporary dir).
#   sh scripts/fuzz.sh BUILD_DIR SECONDS
set -eu
build=$1
secs=$2
src=$(cd "$(dirname "$0")/.." && pwd)
found=0
for f in "$build"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	found=1
	name=$(basename "$f")
	corpus="$src/fuzz/corpus/${name#fuzz_}"
	work=$(mktemp -d)
	scratch=$(mktemp -d) # TMPDIR of targets that need state on disk
	echo "fuzz: $name for ${secs}s"
	if ! TMPDIR="$scratch" "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		"$work" "$corpus" >"$work.log" 2>&1; then
		tail -n 40 "$work.log"
		echo "fuzz: $name FAILED (crash input in $(pwd))"
		rm -rf "$work" "$scratch"
		exit 1
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work.log" | sed "s/^/fuzz: $name: /"
	rm -rf "$work" "$work.log" "$scratch"
done
[ $found -eq 1 ] || { echo "fuzz: no fuzz targets in $build/fuzz"; exit 1; }
echo "fuzz: all targets ran clean"
