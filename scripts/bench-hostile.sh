#!/bin/sh
# make bench, issue 11: a well-behaved voice application's throughput and
# p99 latency under hostile neighbours, against the same client alone in
# the same run (tests/tools/vg_load: status, record put, record get and a
# P-256 signature in turn). Needs root: the attackers are their own uids.
# Each load is run twice: all parties in one CPU cgroup (a plain shell),
# then each in its own cgroup, as systemd runs one unit per application,
# with the service's CPUWeight=200 of systemd/voxguardd.service (cgroup v1
# cpu.shares 2048 against 1024; skipped where no cgroup can be made). The
# ratio is against the mean of the "alone" runs of the same mode.
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
as() { u=$1; g=$2; shift 2; # as USER CGROUP CMD...: in its cgroup, then unprivileged
	if [ -n "$CG" ]; then
		sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG/$g" \
			setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"
	else
		setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"
	fi
}
field() { sed -n "s/.* $1 \([0-9]*\).*/\1/p" "$2"; }

# One CPU cgroup per party where the kernel lets us make them (v1 cpu
# controller or v2 with cpu enabled for children).
CG= CGROOT= SHARES=
if [ -w /sys/fs/cgroup/cpu ] && [ -e /sys/fs/cgroup/cpu/cpu.shares ]; then
	CGROOT=/sys/fs/cgroup/cpu/vgbench.$$ SHARES=cpu.shares
elif grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null && [ -w /sys/fs/cgroup ]; then
	CGROOT=/sys/fs/cgroup/vgbench.$$ SHARES=cpu.weight
fi
cg_setup() {
	mkdir "$CGROOT" || return 1
	[ "$SHARES" = cpu.shares ] || echo +cpu >"$CGROOT/cgroup.subtree_control" || return 1
	for g in svc well h1 h2 h3 h4; do mkdir "$CGROOT/$g" || return 1; done
	if [ "$SHARES" = cpu.shares ]; then echo 2048 >"$CGROOT/svc/cpu.shares"
	else echo 200 >"$CGROOT/svc/cpu.weight"; fi
}
cg_teardown() {
	[ -n "$CGROOT" ] && [ -d "$CGROOT" ] || return 0
	top=$(dirname "$CGROOT")
	for g in svc well h1 h2 h3 h4; do
		[ -d "$CGROOT/$g" ] || continue
		for t in $(cat "$CGROOT/$g/cgroup.procs" 2>/dev/null); do echo "$t" >"$top/cgroup.procs" 2>/dev/null || :; done
		rmdir "$CGROOT/$g" 2>/dev/null || :
	done
	rmdir "$CGROOT" 2>/dev/null || :
}
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; cg_teardown; rm -rf "$D"' EXIT

run() { # run NAME ATTACKERS...: the well-behaved client with these attackers
	name=$1; shift
	apids=
	for a in "$@"; do
		case $a in
		loris) as vgbh1 h1 "$probe" "$S" trickle 16 16777216 65536 "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		cpu) as vgbh2 h2 "$load" "$S" signers 8 "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		audit) as vgbh3 h3 "$load" "$S" logout "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		fill) as vgbh4 h4 "$load" "$S" fill "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		esac
	done
	sleep 1
	as vgbwell well "$load" "$S" well "$secs" >"$D/$name.$mode.txt"
	[ -z "$apids" ] || wait $apids
	echo "$name|$(sed -n 's/.* rate \([0-9]*\)\/s.*/\1/p' "$D/$name.$mode.txt")|$(field p99 "$D/$name.$mode.txt")|$(field failed "$D/$name.$mode.txt")" >>"$D/rows.$mode"
}

table() { # every load once, in this mode
	mode=$1
	: >"$D/rows.$mode"
	run "alone"
	run "slow-loris: 16 x 16 MiB frames" loris
	run "audit flood: admin logout" audit
	run "storage fill: 1 MiB records" fill
	run "the stress test's set: the three above" loris audit fill
	run "alone (again)"
	run "CPU: 8 connections signing" cpu
	run "all four at once (the set and CPU)" loris audit fill cpu
	run "alone (once more)"
}

report() { # the table of a mode, ratios against the mean of its alone runs
	alone=$(grep '^alone' "$D/rows.$1" | awk -F'|' '{ s += $2; n++ } END { printf "%.1f", s / n }')
	echo "$2 (the alone rate: mean of three runs, $alone/s)"
	printf '%-44s %11s %12s %8s %10s\n' "load" "throughput" "p99" "failed" "vs alone"
	while IFS='|' read -r name rate p99 failed; do
		printf '%-44s %9s/s %9.2f ms %8s %10.2f\n' "$name" "$rate" "$(echo "$p99 / 1000" | bc -l)" \
			"$failed" "$(echo "$rate / $alone" | bc -l)"
	done <"$D/rows.$1"
	echo
}

echo "a well-behaved client under hostile uids ($secs s each; service $(nproc) cores, worker pool)"
table shared
report shared "one CPU cgroup for all (no per-unit cgroups)"
if [ -n "$CGROOT" ] && cg_setup; then
	CG=$CGROOT
	echo "$pid" >"$CG/svc/cgroup.procs"
	table units
	report units "one CPU cgroup per party, as systemd units (the service's CPUWeight=200)"
else
	echo "(no CPU cgroup could be made here: the per-unit table is skipped)"
fi
