#!/bin/sh
# AVS 1.14 and the AVS Device SDK's smart-screen rules, in a real browser:
# Debian's chromium, headless, loads the display page over HTTPS from
# voxguard-displayd (the device-unique certificate trusted for this test
# only, by its SPKI, in a throw-away profile), connects with a one-time
# token and exchanges a message each way with the IPC server; the outcome
# is the page's #result, read back from the DOM dump. Refused, each beside
# a control that succeeds: no token, a replayed, expired, forged and another
# device's token, a page from another Origin, a second client, plain ws://,
# and a non-browser client without Origin. Each refusal is an audit event.
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || { echo "SKIP: no chromium (scripts/install-deps.sh)"; exit 77; }
TTL_MS=15000 # several chromium starts fit in it on a loaded machine
. "$(dirname "$0")/display_lib.sh"
start_gateway
O1=$O

# browser URL: chromium loads URL and prints the page's outcome (#result),
# read over the DevTools pipe (tests/display/cdp_result.py) as soon as the
# page has one. The launcher hands the token in the URL fragment, which the
# browser never sends; the page drops it from the address at once. The URL
# goes to the driver on its standard input and to chromium over the pipe,
# never on a command line (/proc/PID/cmdline is world-readable). A
# fresh profile each time (mktemp: this runs in $(...), where a counter
# would not be kept).
browser() {
	N=$(basename "$(mktemp -d "$W/profile.XXXXXX")")
	printf '%s\n' "$1" | timeout 90 $PY "$VG_SRC/tests/display/cdp_result.py" 30 - --no-sandbox --disable-gpu \
		--no-first-run --user-data-dir="$W/$N" \
		--ignore-certificate-errors-spki-list="$SPKI,${EXTRA_SPKI:-}" | tee "$W/$N.result"
}
ok_page() { case "$(browser "$1")" in "OK protocol=vg-display open:vg-display|recv:hello from ipc|recv:echo:from display") return 0 ;; *) return 1 ;; esac; }
refused_page() { case "$(browser "$1")" in CLOSED*|ERROR*) return 0 ;; *) return 1 ;; esac; }

T1=$(tok)
# Meanwhile another uid (vgbob) reads every process's command line, as a
# local attacker racing the display for its token would (a non-browser
# client can send any Origin).
printf '%s\n' "$T1" >"$W/t1"; chmod 600 "$W/t1"
as vgbob sh -c 'while [ ! -e "$1/stop" ]; do cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" "\n"; done' \
	sh "$W" >"$W/cmdlines" 2>/dev/null &
WATCH=$!
check "AVS 1.14: chromium loads the page over HTTPS, connects with the token, a message each way" \
	ok_page "$O/#t=$T1"
: >"$W/stop"; wait "$WATCH" || true
check "AVS 1.14: ... another uid reading every command line meanwhile never saw the token" \
	sh -c "[ -s '$W/cmdlines' ] && grep -q -- '--remote-debugging-pipe' '$W/cmdlines' && ! grep -qF -f '$W/t1' '$W/cmdlines'"
check "AVS 1.14: ... the token never reached the server in a URL (no request line holds it)" \
	sh -c "! grep -qF -- '$T1' '$W/gw.out'"
check "AVS 1.14: the same token again (replayed) is refused" refused_page "$O/#t=$T1"
check "AVS 1.14: no token is refused" refused_page "$O/"
FORGED=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
check "AVS 1.14: a forged token is refused" refused_page "$O/#t=$FORGED"
OTHER=$(other_device_token)
check "AVS 1.14: another device's token is refused" refused_page "$O/#t=$OTHER"
T2=$(tok)
sleep "$(awk "BEGIN { print ($TTL_MS + 200) / 1000 }")"
check "AVS 1.14: an expired token is refused" refused_page "$O/#t=$T2"
check "AVS 1.14: a fresh token works again (control)" ok_page "$O/#t=$(tok)"

# A page from another Origin: the same page served by another HTTPS server
# on another port (its own throw-away certificate, trusted for the test
# too), pointed at the gateway with a valid token.
EV=$W/evil; mkdir -p "$EV"; cp "$WWW/index.html" "$EV/"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$EV/k.pem" \
	-out "$EV/c.pem" -subj /CN=localhost -days 1 -addext subjectAltName=DNS:localhost 2>/dev/null
EXTRA_SPKI=$(openssl x509 -in "$EV/c.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -binary | base64)
EPORT=$(free_port)
( cd "$EV" && exec $PY -c "
import http.server, ssl, sys
s = http.server.HTTPServer(('127.0.0.1', $EPORT), http.server.SimpleHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain('c.pem', 'k.pem')
s.socket = c.wrap_socket(s.socket, server_side=True)
print('listening', flush=True); s.serve_forever()" >"$W/evil.out" 2>&1 ) &
PIDS="$PIDS $!"
for _i in $(seq 100); do grep -q listening "$W/evil.out" 2>/dev/null && break; sleep 0.05; done
T3=$(tok)
check "AVS 1.14: a page from another Origin (https://localhost:$EPORT) is refused" \
	refused_page "https://localhost:$EPORT/#t=$T3&ws=wss://localhost:$PORT/"
check "AVS 1.14: ... its token was not spent: the display page gets in with it" ok_page "$O/#t=$T3"

# Plain ws:// from the HTTPS page: the browser blocks it (mixed content),
# and the gateway speaks nothing but TLS anyway.
check "AVS 1.14: plain ws:// is refused" refused_page "$O/#t=$(tok)&ws=ws://localhost:$PORT/"

# A second client while one holds the connection.
HT=$(tok)
$PY "$VG_SRC/tests/display/ws_client.py" "$PORT" "$CERT" --origin "$O" --token "$HT" --expect 1 \
	--hold 6 >"$W/first.out" 2>&1 &
FIRST=$!
for _i in $(seq 100); do grep -q 'recv: hello' "$W/first.out" 2>/dev/null && break; sleep 0.05; done
check "AVS 1.14: a second client (chromium) while one is connected is refused" refused_page "$O/#t=$(tok)"
wait "$FIRST" || true
check "AVS 1.14: ... the first one was served" grep -q 'recv: hello from ipc' "$W/first.out"
check "AVS 1.14: a non-browser client without Origin is refused" \
	sh -c "! $PY '$VG_SRC/tests/display/ws_client.py' $PORT '$CERT' --token \"\$(setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V display token --origin '$O')\" --expect 1 >/dev/null 2>&1"
check "AVS 1.14: after all that, the display still connects (control)" ok_page "$O/#t=$(tok)"

# VG_KEEP=DIR: a copy of the work dir (pages' outcomes, logs) for a look after.
if [ -n "${VG_KEEP:-}" ]; then rm -rf "$VG_KEEP"; cp -r "$W" "$VG_KEEP"; fi
audit
has() { grep '"display.refused"' "$W/a.json" | grep -q -- "$1"; }
check "SFR 4.2.9: the replay is display.refused: replayed" has "replayed from $O1"
check "SFR 4.2.9: no token is display.refused" has "no token in Sec-WebSocket-Protocol from $O1"
check "SFR 4.2.9: the forged and the other device's tokens are display.refused: unknown" \
	test "$(grep '"display.refused"' "$W/a.json" | grep -c "unknown from $O1")" -ge 2
check "SFR 4.2.9: the expired token is display.refused: expired" has "expired from $O1"
check "SFR 4.2.9: the other Origin is display.refused, naming it" \
	has "Origin not on the allow-list from https://localhost:$EPORT"
check "SFR 4.2.9: the second client is display.refused" has "a second display client"
check "SFR 4.2.9: the client without Origin is display.refused" has "no Origin header"
check "SFR 4.2.9: the displays let in are display.redeemed" \
	test "$(grep -c '"display.redeemed"' "$W/a.json")" -ge 5
display_cleanup
stop_daemon
finish
