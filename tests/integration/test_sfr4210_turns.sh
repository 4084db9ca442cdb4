#!/bin/sh
# SFR 4.2.10 (one application cannot starve the others): while several uids
# are active, the service serves one request per uid per round of its event
# loop (turns, src/daemon/server.c), not one per connection. Without turns
# a uid with eight connections had eight requests served for another's one
# (the hostile bench's "8 connections signing" row: the well-behaved
# client at 0.22-0.31 of its throughput alone).
# Made deterministic: the service is stopped, uid A queues 50 requests on
# each of 8 connections and uid B 50 on one, the service resumes, and each
# reply's arrival is timed. With turns B's 50 replies are all in before A
# has had 100 of its 400 (about 60 expected); with one request per
# connection per round, A had nearly all 400 by then.
# Run with one event loop (the default) and with two: there each uid's
# connections gather on its home loop while another uid is active (homes,
# server.c), so A's 8 connections cannot be served on both loops while B
# waits its turn on one (before homes: 358 of A's 400 came before B's last).
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
if [ "$IS_ROOT" != 1 ]; then
	echo "skip: the turns test needs root to create the test users"
	exit 77
fi
setup_users
W=$T/work; mkdir -p "$W"

# round LOOPS: A (vgalice, 8 connections) and B (vgbob, 1) against a
# stopped service, then resumed.
round() {
	l=$1
	kill -STOP "$DPID"
	as vgalice "$IPC_PROBE" "$SOCK" turns 8 50 >"$W/a$l" 2>&1 &
	a=$!
	as vgbob "$IPC_PROBE" "$SOCK" turns 1 50 >"$W/b$l" 2>&1 &
	b=$!
	i=0
	while ! { grep -q '^sent' "$W/a$l" && grep -q '^sent' "$W/b$l"; }; do
		i=$((i + 1)); [ $i -lt 200 ] || break; sleep 0.05
	done
	kill -CONT "$DPID"
	wait "$a" "$b" || true
	check "$l loop(s): all of A's 400 replies came" grep -q '^done 400' "$W/a$l"
	check "$l loop(s): all of B's 50 replies came" grep -q '^done 50' "$W/b$l"
	blast=$(grep -E '^[0-9]+$' "$W/b$l" | sort -n | tail -1)
	before=$(grep -E '^[0-9]+$' "$W/a$l" | awk -v t="${blast:-0}" '$1 < t { n++ } END { print n + 0 }')
	echo "# $l loop(s): A's replies before B's last: $before of 400"
	check "SFR 4.2.10: $l loop(s): B was served in turn with A's 8 connections ($before of A's 400 before B's 50, at most 100)" \
		test "$before" -le 100
}

EXTRA_CONFIG="event_loops = 1"
start_daemon
round 1
stop_daemon
rm -f "$CONF"
EXTRA_CONFIG="event_loops = 2"
start_daemon
round 2
stop_daemon
finish
