# Shared set-up of the voxguard-displayd tests (AVS 1.14), sourced after
# lib.sh by test_avs114_display_gateway.sh and _chromium.sh: a service with
# vgalice as the display client's launcher and vgbob as the gateway; the
# gateway's device-unique certificate (display certs, as vgbob); a stand-in
# IPC server (tests/display/echo_ipc.py) as vgcarol, the voice app; and
# voxguard-displayd as vgbob on a free loopback port, trusting nothing but
# vgcarol's socket. Everything on 127.0.0.1, stopped at exit.
: "${DISPLAYD:?set by ctest}"
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (several users)"; exit 77; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
PY=/usr/bin/python3 # the system's, which the test users can run
ALICE_UID=$(id -u vgalice); BOB_UID=$(id -u vgbob); CAROL_UID=$(id -u vgcarol)
TTL_MS=${TTL_MS:-6000}
EXTRA_CONFIG="display_launcher_uids = $ALICE_UID
display_gateway_uids = $BOB_UID
display_token_ttl_ms = $TTL_MS
display_tokens_per_uid = 8"
PIDS=
display_cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	PIDS=
}
trap 'display_cleanup; cleanup' EXIT INT TERM
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_daemon

D=$W/certs; mkdir -p "$D"; chown vgbob "$D"
as vgbob $V display certs --out-dir "$D" >/dev/null
CERT=$D/display-server.pem
SPKI=$(cat "$D/display-server.spki")
WWW=$W/www; mkdir -p "$WWW"; cp "$VG_SRC/tests/display/www/index.html" "$WWW/"
chmod -R a+rX "$D" "$WWW"
PORT=$(free_port)
O=https://localhost:$PORT
IPC=$W/ipc.sock

# Started with setpriv itself, not the `as` function: a function run in
# the background is a subshell, and $! would be that shell, not the server.
setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $PY "$VG_SRC/tests/display/echo_ipc.py" \
	"$IPC" >"$W/echo.out" 2>&1 &
PIDS="$PIDS $!"
for _i in $(seq 100); do grep -q listening "$W/echo.out" 2>/dev/null && break; sleep 0.05; done

# start_gateway [EXTRA ARGS]: voxguard-displayd as vgbob; GW is its pid.
# Each start takes a new port (the last one's connections linger in
# TIME_WAIT), so PORT and O change.
start_gateway() {
	PORT=$(free_port)
	O=https://localhost:$PORT
	setpriv --reuid=vgbob --regid=vgbob --init-groups -- env VOXGUARD_SOCKET="$SOCK" \
		"$DISPLAYD" --port "$PORT" --cert "$CERT" \
		--key display-tls --key-ref "$D/display-server.keyref.pem" --www "$WWW" \
		--origin "$O" --ipc "$IPC" --ipc-uid "${IPC_UID:-$CAROL_UID}" "$@" \
		>"$W/gw.out" 2>&1 &
	GW=$!
	PIDS="$PIDS $GW"
	for _i in $(seq 200); do grep -q ready "$W/gw.out" 2>/dev/null && return 0; sleep 0.05; done
	cat "$W/gw.out"
	return 1
}
stop_gateway() {
	kill -TERM "$GW"
	wait "$GW" 2>/dev/null || true
	! kill -0 "$GW" 2>/dev/null
}

tok() { as vgalice $V display token --origin "${1:-$O}"; }
# A token of another device: a second service on its own state dir,
# stopped once it issued one.
other_device_token() {
	mkdir -p "$T/state2" "$T/run2"; chmod 700 "$T/state2"
	chown vgsvc:vgsvc "$T/state2" "$T/run2"
	"$VOXGUARDD" --state-dir "$T/state2" --socket "$T/run2/vg.sock" --config "$CONF" \
		>"$T/d2.log" 2>&1 &
	_d2=$!
	_i=0; while ! grep -q ready "$T/d2.log" && [ $_i -lt 400 ]; do _i=$((_i + 1)); sleep 0.05; done
	as vgalice "$VOXGUARD" --socket "$T/run2/vg.sock" display token --origin "$O"
	kill -TERM "$_d2"; wait "$_d2" || true
	cat "$T/d2.log" >>"$ALLLOG"
}
# ws ARGS...: the non-browser client (tests/display/ws_client.py) into $W/ws.out.
ws() {
	set +e
	$PY "$VG_SRC/tests/display/ws_client.py" "$PORT" "$CERT" "$@" >"$W/ws.out" 2>&1
	wrc=$?; set -e; return $wrc
}
# audit: the log as JSON lines in $W/a.json (vgcarol is an admin).
audit() {
	as vgcarol $V log export --out "$W/a.vgl"
	"$VOXGUARD" log verify "$W/a.vgl" >/dev/null
	as vgcarol $V log show --in "$W/a.vgl" --json >"$W/a.json"
}
