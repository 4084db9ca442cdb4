#!/bin/sh
# SFR 4.2.10 (an attacker running code as one application cannot compromise
# the others) and AVS SDK (no crashes, no busy loops): pipelining while a
# request is on the worker pool. While a signature runs on the pool the
# connection's input stays armed and is disarmed only when bytes arrive
# early; the next requests, garbage, a hang-up or a half-close sent before
# the reply must be answered in order, or that connection closed: never a
# reply to the wrong request or to another connection, never a crash, never
# a spin. Each signature is checked by the service against the data of the
# request it answers.
#
# Three event loops, whatever the machine's cores (server.h): the four
# connections land on different loops, which sign outside the shared lock
# at the same time, so that replies crossing loops would show here.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
setup_users
EXTRA_CONFIG="event_loops = 3"
start_daemon
W=$T/work; mkdir -p "$W"
# The loops are threads of their own: 3, plus the worker pool (one per
# online core, at most 8), and nothing else.
cores=$(nproc); [ "$cores" -le 8 ] || cores=8
tasks=$(ls "/proc/$DPID/task" | wc -l)
check "SFR 4.2.10: the service runs 3 event loops and $cores workers ($tasks threads)" test "$tasks" = $((3 + cores))
if [ "$IS_ROOT" = 1 ]; then APP="as vgalice"; else APP=; fi
P() { $APP "$IPC_PROBE" "$SOCK" "$@"; }

check "the application creates a P-256 key" $APP "$VOXGUARD" --socket "$SOCK" key create pk --type p256
# Control: one request at a time.
P pipelines pk 1 1 >"$W/one"
check "one signature, not pipelined, is answered and verified (control)" grep -q '^conn 0: 1 replies, in order, 1 signatures verified' "$W/one"

# Four connections at once, 400 requests each sent in one go: signatures
# (on the pool) and status requests (answered inline) alternating.
P pipelines pk 400 4 >"$W/many"
check "SFR 4.2.10: 4 connections x 400 pipelined requests: every reply in order, every signature over its own request's data" \
	test "$(grep -c '^conn [0-3]: 400 replies, in order, 200 signatures verified' "$W/many")" = 4
grep -v 'in order' "$W/many" | head -4

# A malformed frame after the pipelined requests: answered last, in turn.
P pipelines pk 101 2 garbage >"$W/garbage"
check "SFR 4.2.10: garbage after pipelined requests is answered in turn, after them" \
	test "$(grep -c '^conn [01]: 102 replies, in order, 51 signatures verified' "$W/garbage")" = 2

# A hang-up right after sending (replies pending, a signature on the pool).
P pipelines pk 101 4 hangup >/dev/null
check "SFR 4.2.10: a hang-up with pipelined requests on the pool leaves the service serving" vg status

# A half-close after sending: answered in order or closed, nothing else.
P pipelines pk 101 3 shut >"$W/shut"
check "SFR 4.2.10: a half-close after pipelined requests: what comes is in order" \
	sh -c "! grep -q 'does not answer' '$W/shut' && test \$(grep -c '^conn ' '$W/shut') = 3"

# Nothing left spinning once the attack is over.
sleep 0.3
busy=$(cpu_pct "$DPID" 1000)
echo "# service CPU after the pipelining: $busy%"
check "SFR 4.2.10: the service is idle afterwards ($busy% of a core)" test "$busy" -lt 20
check "the service still serves" vg status
stop_daemon
finish
