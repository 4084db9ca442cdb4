#!/bin/sh
# make bench, issue 11: a well-behaved voice application's throughput and
# p99 latency under hostile neighbours, against the same client alone in
# the same run (tests/tools/vg_load: status, record put, record get and a
# P-256 signature in turn). Needs root: the attackers are their own uids.
#   scripts/bench-hostile.sh BUILD_DIR [SECONDS]
set -eu
build=$1
secs=${2:-10}
[ "$(id -u)" = 0 ] || { echo "bench-hostile: needs root (one uid per attacker); skipped"; exit 0; }
load=$build/tests/vg_load
probe=$build/tests/ipc_probe
[ -x "$load" ] && [ -x "$probe" ] || { echo "bench-hostile: build the tests first"; exit 0; }
for u in vgbsvc vgbwell vgbh1 vgbh2 vgbh3 vgbh4; do
	getent passwd "$u" >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
done
D=$(mktemp -d /var/tmp/vgbench-hostile.XXXXXX)
chmod 755 "$D"
mkdir -m 700 "$D/state"; mkdir -m 755 "$D/run"
chown vgbsvc "$D/state" "$D/run"
printf 'user = vgbsvc\nsocket_mode = 0660\nbudget.default.store_bytes = 8M\n' >"$D/conf"
# The socket's group: everyone here may connect (a device grants it to its apps).
"$build/voxguardd" --state-dir "$D/state" --socket "$D/run/vg.sock" --config "$D/conf" >"$D/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$D"' EXIT
i=0; while ! grep -q ready "$D/log"; do i=$((i + 1)); [ $i -lt 100 ] || { cat "$D/log"; exit 1; }; sleep 0.05; done
chmod 0666 "$D/run/vg.sock"
S=$D/run/vg.sock
export VOXGUARD_SERVICE_USER=vgbsvc
as() { u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"; }
field() { sed -n "s/.* $1 \([0-9]*\).*/\1/p" "$2"; }

run() { # run NAME ATTACKERS...: the well-behaved client with these attackers
	name=$1; shift
	apids=
	for a in "$@"; do
		case $a in
		loris) as vgbh1 "$probe" "$S" trickle 16 16777216 65536 "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		cpu) as vgbh2 "$load" "$S" signers 8 "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		audit) as vgbh3 "$load" "$S" logout "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		fill) as vgbh4 "$load" "$S" fill "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		esac
	done
	sleep 1
	as vgbwell "$load" "$S" well "$secs" >"$D/$name.txt"
	[ -z "$apids" ] || wait $apids
	rate=$(sed -n 's/.* rate \([0-9]*\)\/s.*/\1/p' "$D/$name.txt")
	p99=$(field p99 "$D/$name.txt")
	failed=$(field failed "$D/$name.txt")
	[ "$alone_rate" != 0 ] || alone_rate=$rate
	printf '%-44s %9s/s %9.2f ms %8s %10.2f\n' "$name" "$rate" "$(echo "$p99 / 1000" | bc -l)" \
		"$failed" "$(echo "$rate / $alone_rate" | bc -l)"
}

echo "a well-behaved client under hostile uids ($secs s each; service $(nproc) cores, worker pool)"
printf '%-44s %11s %12s %8s %10s\n' "load" "throughput" "p99" "failed" "vs alone"
alone_rate=0
run alone
run "alone (again)"
run "slow-loris: 16 x 16 MiB frames" loris
run "audit flood: admin logout" audit
run "storage fill: 1 MiB records" fill
run "CPU: 8 connections signing" cpu
run "all four at once" loris audit fill cpu
