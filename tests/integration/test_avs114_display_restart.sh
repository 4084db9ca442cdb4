#!/bin/sh
# AVS 1.14, SFR 4.2.7: voxguard-displayd outlives a restart of voxguardd.
# Its TLS server key is in the service (the provider's channel) and it
# redeems each display token there (its vg_client): after a clean restart
# and after a crash of the service, on the same state dir, a new display
# connection still works: the TLS handshake signed in the service, a token
# issued after the restart, redeemed by the gateway, messages both ways.
# The gateway is not restarted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/display_lib.sh"
start_gateway
check "AVS 1.14: displayd started with the service's key (ready)" grep -q ready "$W/gw.out"
connect() { # a display connection with a fresh token, messages both ways
	ws --origin "$O" --token "$(tok)" --send "from display" --expect 2 &&
		grep -qx 'recv: hello from ipc' "$W/ws.out" && grep -q 'recv: echo:from display' "$W/ws.out"
}
check "AVS 1.14: a display connection before any restart (control)" connect

kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true; DPID=
start_daemon
check "SFR 4.2.7: after a clean restart of the service, a new display connection works" connect
grep -q 'status 101' "$W/ws.out" || { sed 's/^/# client: /' "$W/ws.out"; sed 's/^/# gateway: /' "$W/gw.out"; }

kill -KILL "$DPID"; wait "$DPID" 2>/dev/null || true; DPID=
start_daemon
check "SFR 4.2.7: after a crash of the service, a new display connection works" connect
grep -q 'status 101' "$W/ws.out" || { sed 's/^/# client: /' "$W/ws.out"; sed 's/^/# gateway: /' "$W/gw.out"; }
check "AVS 1.14: the gateway ran all along (not restarted)" kill -0 "$GW"

audit
check "SFR 4.2.9: each connection's token was display.redeemed by the running gateway" \
	test "$(grep -c '"display.redeemed"' "$W/a.json")" -ge 3
check "SFR 4.2.11: the TLS handshakes were signed in the service (display-tls)" \
	grep -q 'display-tls' "$W/a.json"
stop_gateway
display_cleanup
stop_daemon
finish
