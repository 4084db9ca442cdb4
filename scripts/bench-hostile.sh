#!/bin/sh
# make bench, issue 11: a well-behaved voice application's throughput and
# p99 latency under hostile neighbours, against the same client alone in
# the same run (tests/tools/vg_load: status, record put, record get and a
# P-256 signature in turn). Needs root: the attackers are their own uids.
# Each load is run twice: all parties in one CPU cgroup (a plain shell),
# then each in its own cgroup, as systemd runs one unit per application,
# with the service's CPUWeight=200 of systemd/voxguardd.service (cgroup v1
# cpu.shares 2048 against 1024; skipped where no cgroup can be made). An
# alone run sits between loads: each ratio is against the two around it.
#   scripts/bench-hostile.sh BUILD_DIR [SECONDS]
#   (BENCH_VOXGUARDD=PATH: another service binary, e.g. to compare two builds;
#   BENCH_ROWS=PATTERN runs only the loads whose attackers match, e.g. cpu)
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
# BENCH_EVENT_LOOPS=N: the service's event_loops (default its own: one per core).
[ -z "${BENCH_EVENT_LOOPS:-}" ] || printf 'event_loops = %s\n' "$BENCH_EVENT_LOOPS" >>"$D/conf"
# The socket's group: everyone here may connect (a device grants it to its apps).
"${BENCH_VOXGUARDD:-$build/voxguardd}" --state-dir "$D/state" --socket "$D/run/vg.sock" --config "$D/conf" >"$D/log" 2>&1 &
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
		# The floor: one process of another uid that only burns CPU and
		# never talks to the service (what any flooding process's own
		# work costs its neighbours on these cores, whatever the service does).
		busy) as vgbh3 h3 sh -c 'timeout "$1" sh -c "while :; do :; done" || :' sh "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		# ... and eight of them: the floor of the CPU row's eight signers.
		busy8) as vgbh2 h2 sh -c 'for i in 1 2 3 4 5 6 7 8; do timeout "$1" sh -c "while :; do :; done" & done; wait || :' sh "$((secs + 2))" >/dev/null 2>&1 & apids="$apids $!" ;;
		esac
	done
	sleep 1
	as vgbwell well "$load" "$S" well "$secs" >"$D/$name.$mode.txt"
	[ -z "$apids" ] || wait $apids
	echo "$name|$(sed -n 's/.* rate \([0-9]*\)\/s.*/\1/p' "$D/$name.$mode.txt")|$(field p99 "$D/$name.$mode.txt")|$(field failed "$D/$name.$mode.txt")" >>"$D/rows.$mode"
}

table() { # every load once, in this mode, with an alone run between loads
	mode=$1
	: >"$D/rows.$mode"
	run "alone"
	for row in "floor: one busy process, no request|busy" "slow-loris: 16 x 16 MiB frames|loris" "audit flood: admin logout|audit" \
		"storage fill: 1 MiB records|fill" "the stress test's set: the three above|loris audit fill" \
		"floor: eight busy processes, no request|busy8" "CPU: 8 connections signing|cpu" "all four at once (the set and CPU)|loris audit fill cpu"; do
		# BENCH_ROWS=PATTERN: only the loads whose attackers match (grep -E)
		if [ -n "${BENCH_ROWS:-}" ] && ! echo "${row#*|}" | grep -Eq "$BENCH_ROWS"; then continue; fi
		# shellcheck disable=SC2086 # the attackers are words
		run "${row%%|*}" ${row#*|}
		run "alone"
	done
}

# The table of a mode. The machine drifts (the same alone load moved by
# 1.45x within one table), so each load's ratio is against the mean of
# the two alone runs around it, taken within a few seconds of it.
report() {
	echo "$2"
	printf '%-44s %11s %12s %8s %10s\n' "load" "throughput" "p99" "failed" "vs alone"
	awk -F'|' '{ name[NR] = $1; rate[NR] = $2; p99[NR] = $3; failed[NR] = $4 }
	END {
		for (i = 1; i <= NR; i++) {
			if (name[i] == "alone") {
				if (i == 1) printf "%-44s %9s/s %9.2f ms %8s %10s\n", "alone (first of the runs around each load)", rate[i], p99[i] / 1000, failed[i], ""
				continue
			}
			base = (rate[i - 1] + rate[i + 1]) / 2
			printf "%-44s %9s/s %9.2f ms %8s %10.2f   (alone around it: %s, %s /s)\n", name[i], rate[i], p99[i] / 1000, failed[i], rate[i] / base, rate[i - 1], rate[i + 1]
		}
	}' "$D/rows.$1"
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
