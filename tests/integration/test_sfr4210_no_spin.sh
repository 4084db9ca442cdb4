#!/bin/sh
# SFR 4.2.10 (an attacker running code as one application cannot compromise
# the others) and AVS SDK (no busy loops): a client that asks for a large
# reply, shuts down its sending side (shutdown(SHUT_WR)) and then reads
# nothing must not make the service spin while the reply waits for
# io_timeout_ms. The half-close used to stay armed as EPOLLRDHUP while the
# reply waited for room (EPOLLOUT): level-triggered, it woke the event loop
# at once, every time, and took a whole core until the write deadline, again
# on every reconnection. Control: a client that half-closes and then reads
# gets the whole reply.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
setup_users
IO_TIMEOUT_MS=4000
start_daemon
W=$T/work; mkdir -p "$W"
if [ "$IS_ROOT" = 1 ]; then APP="as vgalice"; else APP=; fi

# A reply far larger than the socket's buffers.
head -c 4000000 /dev/urandom >"$W/big"
check "the application stores a 4 MB record" $APP "$VOXGUARD" --socket "$SOCK" store put big --in "$W/big"

# Control: half-closed, then read at once: the whole reply comes.
$APP "$IPC_PROBE" "$SOCK" halfclose big 0 >"$W/ctl" 2>&1 || true
check "a half-closed client that reads gets the whole reply (control)" grep -q '^complete' "$W/ctl"

# The attack: half-closed and not read for longer than the write deadline.
idle=$(cpu_pct "$DPID" 1000)
$APP "$IPC_PROBE" "$SOCK" halfclose big 5 >"$W/attack" 2>&1 &
ap=$!
sleep 0.5
busy=$(cpu_pct "$DPID" 2500)
echo "# service CPU: idle $idle%, with a half-closed client not reading its reply $busy%"
check "SFR 4.2.10: a half-closed client not reading its reply does not make the service spin ($busy% of a core, idle $idle%)" test "$busy" -lt 30
check "SFR 4.2.10: ... others are served meanwhile" vg status
wait $ap || true
check "SFR 4.2.10: ... and its connection is closed at the write deadline" grep -q 'then closed' "$W/attack"
check "the service still serves" vg status
stop_daemon
finish
