#!/bin/sh
# SFR 4.2.10 (an attacker running code as one application cannot compromise
# the others): a uid that opens and closes connections as fast as it can
# (each within its budget: closed at once) must not stall the others. The
# event loop accepted until the backlog was empty, and a flood refilled it
# as fast: another application's requests on its open connection waited up
# to a second each (5 requests in 2.7 s). Accepts are now bounded per round
# of the event loop. Control: the flood itself is served (accepted).
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
setup_users
start_daemon
W=$T/work; mkdir -p "$W"
if [ "$IS_ROOT" = 1 ]; then APP="as vgalice"; OTHER="as vgbob"; else APP=; OTHER=; fi

$OTHER "$IPC_PROBE" "$SOCK" regular 2 20 >"$W/alone"
cat "$W/alone"
$APP "$IPC_PROBE" "$SOCK" connflood 8 >"$W/flood" 2>&1 &
fp=$!
sleep 1
# A status request every 20 ms on one connection for 3 s: about 140 alone.
cpu_pct "$DPID" 3000 >"$W/cpu" &
cp=$!
$OTHER "$IPC_PROBE" "$SOCK" regular 3 20 >"$W/during"
wait $cp
busy=$(cat "$W/cpu")
$OTHER "$IPC_PROBE" "$SOCK" latency 50 >"$W/latency"
wait $fp || true
n=$(awk '/^ok/ {print $2}' "$W/during")
echo "# another application during the flood: $(cat "$W/during") requests in 3 s; new connections: $(cat "$W/latency"); service CPU $busy%; the flood: $(cat "$W/flood")"
check "SFR 4.2.10: during a connection flood another application's requests go on (${n:-0} in 3 s, at least 60)" test "${n:-0}" -ge 60
check "SFR 4.2.10: ... and its new connections are served within 500 ms" sh -c "grep -q '^ok 50' '$W/latency' && [ \$(awk '{print \$7}' '$W/latency') -lt 500 ]"
check "SFR 4.2.10: the flood's connections were accepted (control)" grep -Eq '^connects [0-9]{4,}' "$W/flood"
check "the service still serves" vg status
stop_daemon
finish
