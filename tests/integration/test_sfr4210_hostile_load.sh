#!/bin/sh
# SFR 4.2.10 (issue 11): four hostile local applications, each its own uid,
# attack the shared service at once for STRESS_SECONDS (60 by default):
#   vghost1  slow-loris: connections declaring 16 MiB frames, one byte a second
#   vghost2  CPU: 8 connections signing as fast as they can (the worker pool)
#   vghost3  audit flood: `admin logout` again and again
#   vghost4  storage fill: 1 MiB records until refused, then again
# Meanwhile a well-behaved voice application (vgalice) runs status, a record
# put and get and a signature in turn: every one of its requests must
# succeed. Its p99 latency, alone and under attack, is reported (the
# figures belong to make bench; this test only demands that none fails).
. "$(dirname "$0")/lib.sh"
: "${VG_LOAD:?set by ctest}" "${IPC_PROBE:?set by ctest}"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root for the test users"; exit 77; }
setup_users
for u in vghost1 vghost2 vghost3 vghost4; do
	getent passwd "$u" >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
	usermod -a -G vgclients "$u"
done
SECS=${STRESS_SECONDS:-60}
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
# Small storage budgets keep the fill's disk use modest.
EXTRA_CONFIG="budget.default.store_bytes = 8M"
start_daemon

as vgalice "$VG_LOAD" "$SOCK" well 5 >"$W/alone.txt"
check "control: alone, every request of the voice application succeeds" grep -q 'failed 0 ' "$W/alone.txt"
echo "# alone:        $(cat "$W/alone.txt")"

as vghost1 "$IPC_PROBE" "$SOCK" trickle 16 16777216 65536 "$SECS" >"$W/h1.txt" 2>&1 &
H1=$!
as vghost2 "$VG_LOAD" "$SOCK" signers 8 "$SECS" >"$W/h2.txt" 2>&1 &
H2=$!
as vghost3 "$VG_LOAD" "$SOCK" logout "$SECS" >"$W/h3.txt" 2>&1 &
H3=$!
as vghost4 "$VG_LOAD" "$SOCK" fill "$SECS" >"$W/h4.txt" 2>&1 &
H4=$!
sleep 1
as vgalice "$VG_LOAD" "$SOCK" well $((SECS - 2)) >"$W/attacked.txt"
wait $H1 $H2 $H3 $H4 || true
echo "# under attack: $(cat "$W/attacked.txt")"
for h in 1 2 3 4; do echo "# vghost$h: $(tr '\n' ' ' <"$W/h$h.txt")"; done

check "SFR 4.2.10: under four hostile uids every request of the voice application succeeds" \
	grep -q 'failed 0 ' "$W/attacked.txt"
check "SFR 4.2.10: the slow-loris was held to its budget (refused beyond it)" grep -q 'refused [1-9]' "$W/h1.txt"
check "SFR 4.2.4: the storage fill was refused at its budget" grep -q 'refused [1-9]' "$W/h4.txt"
check "the service is still running" daemon_alive
check "and serves" as vgalice "$VOXGUARD" --socket "$SOCK" status
vg log export --out "$W/log.vgl"
check "SFR 4.2.9: the audit log verifies after the attack" "$VOXGUARD" log verify "$W/log.vgl"
"$VOXGUARD" log show --in "$W/log.vgl" >"$W/log.txt"
check "SFR 4.2.9: the budget refusals are in it" grep -q 'budget.exceeded' "$W/log.txt"
check "SFR 4.2.9: the service's start is still in it (not flushed out)" grep -q 'service.start' "$W/log.txt"
stop_daemon
finish
