#!/bin/sh
# SFR 4.2.9 (the audit log keeps the evidence) and 4.2.4 (no acknowledged
# write lost): a reply never reaches a client before the audit records
# queued ahead of it are durable. The event loop used to answer an audited
# operation at once and commit the round's audit records at the round's
# end, after the round's other work (here: a group commit of store puts):
# a power cut in between lost the record of a key delete the caller had
# seen succeed (integration_test_sfr424_full_disk flaked on exactly this
# under load). The race is made certain here: the service is stopped, a
# key delete and many store puts are queued so that one round of the loop
# serves them all, and the service is killed (SIGKILL) the instant the
# delete's reply arrives (test_sfr429_audit_before_reply).
#
# With three event loops (server.h): the delete and the puts are spread
# over them, and the reply held on one loop is released by whichever loop
# flushes the audit log.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
EXTRA_CONFIG="event_loops = 3"
start_daemon
W=$T/work; mkdir -p "$W"

for r in 1 2 3; do
	check "round $r: a key to delete" vg key create "race$r" --type p256
	"$IPC_PROBE" "$SOCK" killrace "$DPID" "race$r" 48 >"$W/race$r" 2>&1 || true
	wait "$DPID" 2>/dev/null || true
	DPID=
	check "round $r: the delete was acknowledged, then the service killed" grep -q '^reply 0 killed' "$W/race$r"
	start_daemon
	check_fails "round $r: the acknowledged delete stays done" 2 vg key info "race$r"
	vg log export --out "$W/log$r.vgl" >/dev/null 2>&1 || true
	check "round $r: the log verifies" vg log verify "$W/log$r.vgl"
	vg log show --in "$W/log$r.vgl" >"$W/log$r.txt" 2>&1 || true
	if ! grep 'key.delete' "$W/log$r.txt" | grep "race$r" | grep -q success; then
		echo "# round $r: the log's last records:"; tail -8 "$W/log$r.txt" | sed 's/^/#   /'
		echo "# the service's log:"; tail -5 "$DLOG" | sed 's/^/#   /'
	fi
	check "SFR 4.2.9: round $r: the acknowledged key delete's record survived the kill" \
		sh -c "grep 'key.delete' '$W/log$r.txt' | grep 'race$r' | grep -q success"
done
check "control: the unclean shutdowns are in the log" grep -q 'audit.unsealed_shutdown' "$W/log3.txt"
stop_daemon
finish
