#!/bin/sh
# The display IPC guard's bench (issue 13; AVS 1.14): round trips of a
# 64-byte message, one at a time (lock-step) and with WINDOWS messages in
# flight (C client only), to the same echo IPC server
# (tests/display/echo_ipc.py) straight on its Unix socket and through
# voxguard-displayd (WSS: TLS, WebSocket framing, the bridge), from the
# same Python loop (tests/display/ipc_bench.py, ws_client.py --bench), run
# alternately ROUNDS times. The C client also runs a peer baseline: socat
# as a plain TLS-terminating proxy in front of the same IPC socket (the IPC
# framing inside TLS, no WebSocket, no token): the cost of one more hop
# and TLS on every message by themselves, which no gateway avoids. Prints messages/s and the p50/p99 round trip of
# each, and the ratios against direct in the same round. Needs root (the
# test users). WINDOWS: a list of windows, "1 16 64" by default (1:
# lock-step).
#   sh scripts/bench-display.sh BUILD_DIR [N] [ROUNDS] [WINDOWS]
set -eu
build=$(cd "${1:-build}" && pwd)
n=${2:-5000}
rounds=${3:-3}
windows=${4:-1 16 64}
src=$(cd "$(dirname "$0")/.." && pwd)
export VOXGUARDD=$build/voxguardd VOXGUARD=$build/voxguard DISPLAYD=$build/voxguard-displayd
export VG_SRC=$src VG_BUILD=$build
. "$src/tests/integration/lib.sh"
TTL_MS=60000
. "$src/tests/integration/display_lib.sh"
start_gateway
echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "display gateway bench: $n round trips of 64 bytes, $rounds rounds, windows $windows"
echo "load: $(uptime)"
# line: one round's figures, direct beside gateway, and their ratios.
line() {
	dm=$(sed -n 's/^msgs_per_s //p' "$W/direct.out"); gm=$(sed -n 's/^msgs_per_s //p' "$W/gw.out2")
	set -- $(sed -n 's/^rtt_us //p' "$W/direct.out"); d50=$1; d99=$2
	set -- $(sed -n 's/^rtt_us //p' "$W/gw.out2"); g50=$1; g99=$2
	echo "direct $dm msg/s (p50 $d50 us, p99 $d99 us); gateway $gm msg/s (p50 $g50 us, p99 $g99 us); throughput ratio $(awk "BEGIN { printf \"%.2f\", $gm / $dm }"), p99 added $((g99 - d99)) us"
}
# The peer baseline: socat terminating TLS 1.3 (a P-256 certificate, as the
# gateway's) and forwarding to the IPC socket, as vgbob like the gateway.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$W/px.key" -out "$W/px.pem" 2>/dev/null
chmod 644 "$W/px.key"
PXPORT=$(free_port)
setpriv --reuid=vgbob --regid=vgbob --init-groups -- socat \
	"OPENSSL-LISTEN:$PXPORT,bind=127.0.0.1,reuseaddr,fork,nodelay,cert=$W/px.pem,key=$W/px.key,verify=0" \
	"UNIX-CONNECT:$IPC" 2>"$W/socat.err" &
PIDS="$PIDS $!"
sleep 0.3
# pxline: the gateway against the peer proxy in the same round.
pxline() {
	pm=$(sed -n 's/^msgs_per_s //p' "$W/px.out"); gm=$(sed -n 's/^msgs_per_s //p' "$W/gw.out2")
	set -- $(sed -n 's/^rtt_us //p' "$W/px.out")
	echo "   TLS proxy (socat) $pm msg/s (p50 $1 us, p99 $2 us); gateway vs TLS proxy $(awk "BEGIN { printf \"%.2f\", $gm / $pm }"), TLS proxy vs direct $(awk "BEGIN { printf \"%.2f\", $pm / $(sed -n 's/^msgs_per_s //p' "$W/direct.out") }")"
}
if [ -x "$build/bench/display_bench" ]; then
	echo "C client (bench/display_bench.c), the same loop every way:"
	for r in $(seq "$rounds"); do
		for wnd in $windows; do
			as vgbob "$build/bench/display_bench" direct "$IPC" "$n" "$wnd" >"$W/direct.out"
			"$build/bench/display_bench" gateway "$PORT" "$CERT" "$O" "$(tok)" "$n" "$wnd" \
				>"$W/gw.out2"
			"$build/bench/display_bench" tlsproxy "$PXPORT" "$W/px.pem" "$n" "$wnd" >"$W/px.out"
			echo "C round $r, window $wnd: $(line)"
			echo "$(pxline)"
		done
	done
fi
echo "Python client (tests/display/ipc_bench.py, ws_client.py --bench):"
for r in $(seq "$rounds"); do
	as vgbob $PY "$src/tests/display/ipc_bench.py" "$IPC" "$n" >"$W/direct.out"
	$PY "$src/tests/display/ws_client.py" "$PORT" "$CERT" --origin "$O" --token "$(tok)" \
		--bench "$n" >"$W/gw.out2"
	echo "Python round $r: $(line)"
done
echo "load: $(uptime)"
display_cleanup
stop_daemon >/dev/null
