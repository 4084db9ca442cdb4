#!/bin/sh
# AVS 1.14 (on-device MITM, display hijacking), the AVS Device SDK's
# smart-screen rules, SFR 4.2.7, 4.2.9: voxguard-displayd in front of an
# IPC server, driven by a non-browser WebSocket client (tests/display/
# ws_client.py, curl): TLS with the device-unique certificate whose key is
# in the service, the display page over HTTPS, the Origin allow-list, the
# one-time token in Sec-WebSocket-Protocol, one client at a time, the IPC
# server's uid checked, messages both ways. Refused, each beside a control:
# plain HTTP and ws://, no Origin (not a browser), a foreign Origin, no
# token, a replayed, forged, expired and another device's token, a second
# client, an IPC server of the wrong uid; optional mutual TLS. Each refusal
# is an audit event.
. "$(dirname "$0")/lib.sh"
TTL_MS=3000
. "$(dirname "$0")/display_lib.sh"
start_gateway
O1=$O
check "AVS 1.14: displayd started with the service's key (ready)" grep -q ready "$W/gw.out"

# ---- TLS and the page ----
check "SFR 4.2.7: the display page over HTTPS, the certificate trusted alone" \
	sh -c "curl -sf --cacert '$CERT' '$O/' | grep -q 'voxguard display'"
check "SFR 4.2.7: the server certificate is the device-unique one (SPKI pin)" \
	sh -c "curl -sf --cacert '$CERT' --pinnedpubkey 'sha256//$SPKI' '$O/' >/dev/null"
check_fails "SFR 4.2.7: plain HTTP on the port is refused (curl 52/56)" 1 \
	sh -c "curl -s --max-time 5 http://127.0.0.1:$PORT/ >/dev/null; [ \$? = 0 ] && exit 0; exit 1"
check "SFR 4.2.7: plain ws:// is refused" sh -c "
! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --plain --origin '$O' --token \"\$(setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V display token --origin '$O')\" >/dev/null 2>&1"

# ---- a display client with a token ----
T1=$(tok)
check "AVS 1.14: a client with the token and the allowed Origin is upgraded" \
	ws --origin "$O" --token "$T1" --send "from display" --send second --expect 3
# When that failed, what the client and the gateway said, for the log.
grep -q 'status 101' "$W/ws.out" || { sed 's/^/# client: /' "$W/ws.out"; sed 's/^/# gateway: /' "$W/gw.out"; }
check "AVS 1.14: ... the answer names vg-display, never the token" sh -c "
grep -qx 'status 101' '$W/ws.out' && grep -qx 'subprotocol vg-display' '$W/ws.out' && ! grep -qF -- '$T1' '$W/ws.out'"
check "AVS 1.14: ... the IPC server's message reaches the display" grep -qx 'recv: hello from ipc' "$W/ws.out"
check "AVS 1.14: ... and the display's reach the IPC server, in order" sh -c "
grep -n 'recv: echo:' '$W/ws.out' | tr '\n' ' ' | grep -q 'echo:from display.*echo:second'"
check "AVS 1.14: a replayed token is refused" sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --token '$T1' --expect 1 >'$W/r.out' 2>&1"
check "AVS 1.14: ... before any upgrade" sh -c "! grep -q 'status 101' '$W/r.out'"

# ---- who the client is ----
T2=$(tok)
check "AVS 1.14: a client without Origin (not a browser) is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --token '$T2' --expect 1 >/dev/null 2>&1"
check "AVS 1.14: a foreign Origin is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin https://evil.example --token '$T2' --expect 1 >/dev/null 2>&1"
check "AVS 1.14: ... neither spent the token: the display still gets in with it" \
	ws --origin "$O" --token "$T2" --send x --expect 2
check "AVS 1.14: no token is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --subprotocols vg-display --expect 1 >/dev/null 2>&1"
check "AVS 1.14: no subprotocol at all is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --expect 1 >/dev/null 2>&1"
FORGED=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
check "AVS 1.14: a forged token is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --token '$FORGED' --expect 1 >/dev/null 2>&1"
OTHER=$(other_device_token)
check "AVS 1.14: another device's token is refused" \
	sh -c "[ -n '$OTHER' ] && ! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --token '$OTHER' --expect 1 >/dev/null 2>&1"
T3=$(tok)
sleep "$(awk "BEGIN { print ($TTL_MS + 200) / 1000 }")"
check "AVS 1.14: an expired token is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --token '$T3' --expect 1 >/dev/null 2>&1"

# ---- one display client at a time ----
T4=$(tok); T5=$(tok)
$PY "$VG_SRC/tests/display/ws_client.py" "$PORT" "$CERT" --origin "$O" --token "$T4" --expect 1 \
	--hold 3 >"$W/first.out" 2>&1 &
FIRST=$!
for _i in $(seq 100); do grep -q 'recv: hello' "$W/first.out" 2>/dev/null && break; sleep 0.05; done
check "AVS 1.14: a second client while one is connected is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --token '$T5' --expect 1 >/dev/null 2>&1"
wait "$FIRST"
check "AVS 1.14: ... the first one was served all along" grep -q 'recv: hello from ipc' "$W/first.out"
check "AVS 1.14: once it left, a new client gets in (control)" \
	ws --origin "$O" --token "$(tok)" --send y --expect 2

# ---- the IPC server's identity ----
stop_gateway
IPC_UID=$ALICE_UID start_gateway
check "AVS 1.14: an IPC server that is not the configured uid is refused (SO_PEERCRED)" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --origin '$O' --token \"\$(setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V display token --origin '$O')\" --expect 1 >/dev/null 2>&1"
stop_gateway

# ---- optional mutual TLS: the display client's key in the service too ----
DC=$W/client; mkdir -p "$DC"; chown vgalice "$DC"
as vgalice $V display certs --out-dir "$DC" --client >/dev/null
chmod -R a+rX "$DC"
start_gateway --client-ca "$DC/display-client.pem"
mtls() { # mtls [CERT KEYREF]: openssl s_client as alice, with the provider
	as vgalice env VOXGUARD_SOCKET="$SOCK" openssl s_client -connect "127.0.0.1:$PORT" \
		-provider-path "$VG_BUILD" -provider voxguard -provider default \
		-CAfile "$CERT" -partial_chain -verify_return_error "$@" </dev/null >"$W/mtls.out" 2>&1
	printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
		as vgalice env VOXGUARD_SOCKET="$SOCK" openssl s_client -quiet -connect "127.0.0.1:$PORT" \
		-provider-path "$VG_BUILD" -provider voxguard -provider default \
		-CAfile "$CERT" -partial_chain "$@" >"$W/mtls.page" 2>&1
	grep -q 'voxguard display' "$W/mtls.page"
}
# Seen once in a loaded `make check` (not reproduced in 12 runs under
# load): the page did not come. Its output is kept, and one retry tells a
# lost race from a broken feature (which fails both).
if ! mtls -cert "$DC/display-client.pem" -key "$DC/display-client.keyref.pem"; then
	echo "# mtls: first try got no page; its output and the gateway's:"
	tail -5 "$W/mtls.page" "$W/mtls.out" | sed 's/^/#   /'
	tail -5 "$W/gw.out" | sed 's/^/#   gw: /'
	sleep 1
fi
check "SDK: with --client-ca, the display's certificate (key in the service) gets the page" \
	mtls -cert "$DC/display-client.pem" -key "$DC/display-client.keyref.pem"
check "SDK: ... without a client certificate the handshake is refused" sh -c "! curl -sf --max-time 5 --cacert '$CERT' '$O/' >/dev/null"
stop_gateway

# ---- the audit trail ----
audit
has() { grep '"display.refused"' "$W/a.json" | grep -q -- "$1"; }
check "SFR 4.2.9: no Origin is display.refused under the gateway's uid" \
	sh -c "grep '\"display.refused\"' '$W/a.json' | grep 'no Origin header' | grep -q '\"uid\":$BOB_UID'"
check "SFR 4.2.9: a foreign Origin is display.refused, naming it" has "Origin not on the allow-list from https://evil.example"
check "SFR 4.2.9: no token is display.refused" has "no token in Sec-WebSocket-Protocol"
check "SFR 4.2.9: a replay is display.refused: replayed" has "replayed from $O1"
check "SFR 4.2.9: a forgery and another device's token are display.refused: unknown" \
	test "$(grep '"display.refused"' "$W/a.json" | grep -c "unknown from $O1")" -ge 2
check "SFR 4.2.9: an expired token is display.refused: expired" has "expired from $O1"
check "SFR 4.2.9: a second client is display.refused" has "a second display client"
check "SFR 4.2.9: a wrong IPC server is display.refused" has "ipc server is uid $CAROL_UID, not the configured $ALICE_UID"
check "SFR 4.2.9: each admitted display is display.redeemed" \
	test "$(grep -c '"display.redeemed"' "$W/a.json")" -ge 4
check "SFR 4.2.11: the TLS handshakes were signed in the service (key display-tls)" \
	grep -q 'display-tls' "$W/a.json"
check "SFR 4.2.9: no token in the audit log" sh -c "! grep -qF -- '$T1' '$W/a.json'"
# Many messages at once, whose echoes ("echo:" + message) are of sizes on
# both sides of the one-byte and two-byte WebSocket lengths (125, 126, 127
# bytes) and of the gateway's batch (16 KiB): the gateway writes the
# display's frames to the IPC server together and the IPC server's to the
# display together; each must arrive whole, in order. After the audit
# checks: its connection's events would count in the rates above.
start_gateway
burst_msg() { # burst_msg I: message I, exactly its size
	case $(($1 % 6)) in 0) l=0 ;; 1) l=120 ;; 2) l=121 ;; 3) l=122 ;; 4) l=8995 ;; 5) l=19995 ;; esac
	[ "$l" = 0 ] && l=5
	printf "%-${l}s" "m$1-" | tr ' ' x
}
BURST=
for i in $(seq 1 24); do BURST="$BURST --send $(burst_msg "$i")"; done
# shellcheck disable=SC2086
check "AVS 1.14: a burst of 24 messages (echoes of 10 B to 20 kB) is upgraded and answered" \
	ws --origin "$O" --token "$(tok)" $BURST --expect 25
for i in $(seq 1 24); do echo "recv: echo:$(burst_msg "$i")"; done >"$W/burst.want"
check "AVS 1.14: ... each echo whole and in order" sh -c "
grep '^recv: echo:' '$W/ws.out' | cmp -s - '$W/burst.want'"
stop_gateway
check "the service keeps serving" vg status
display_cleanup
stop_daemon
finish
