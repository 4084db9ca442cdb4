#!/bin/sh
# SFR 4.2.9 and 4.2.10 (an attacker running code as one application cannot
# compromise the others): the audit log's per-uid rate limit holds each uid
# to its own bucket however many uids flood it at once. The limiter had 64
# buckets and made every further uid share one: 66 uids flooding audited
# failures got another application's key creation recorded only as a count
# in an audit.suppressed summary ("uid U: 1 similar events suppressed
# (key.create success)"), its details (which key) lost, for events it never
# flooded. Control: a flooding uid is still summarised.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
if [ "$IS_ROOT" != 1 ]; then
	echo "skip: simulating 66 applications needs root (setpriv to 66 uids)"
	exit 77
fi
setup_users
# One audited event a second per uid, one at once: a uid sending five a
# second is over its limit all the time.
EXTRA_CONFIG="audit_rate_per_s = 1
audit_burst = 1"
start_daemon
W=$T/work; mkdir -p "$W"
CLIENTS=$(getent group vgclients | cut -d: -f3)
app() { u=$1; shift; setpriv --reuid="$u" --regid="$u" --groups="$CLIENTS" -- "$@"; }

check "an application creates a key before the flood (control)" app 63000 "$VOXGUARD" --socket "$SOCK" key create before --type ed25519
# 66 uids, each an audited failure every 200 ms for 6 s.
pids=
u=61101
while [ $u -le 61166 ]; do
	app $u "$IPC_PROBE" "$SOCK" audited 30 200 >"$W/flood-$u" 2>&1 &
	pids="$pids $!"
	u=$((u + 1))
done
sleep 2
check "an application creates a key during the flood" app 63001 "$VOXGUARD" --socket "$SOCK" key create during --type ed25519
for p in $pids; do wait "$p" || true; done
check "the flood ran (66 uids x 30 audited requests)" test "$(cat "$W"/flood-* | grep -c '^sent 30')" = 66
vg log show >"$W/log" 2>&1
check "SFR 4.2.9: the key created before the flood is recorded (control)" grep -q 'key.create before owner=63000' "$W/log"
check "SFR 4.2.10: with 66 uids flooding the audit log, another application's key creation is still recorded in full" grep -q 'key.create during owner=63001' "$W/log"
check "SFR 4.2.10: ... not folded into a summary" sh -c "! grep -q 'uid 63001: .* suppressed' '$W/log'"
check "SFR 4.2.9: the flooding uids are summarised (control)" grep -q 'uid 61166: [0-9]* similar events suppressed (key.delete failure)' "$W/log"
stop_daemon
finish
