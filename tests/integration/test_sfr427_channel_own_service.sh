#!/bin/sh
# SFR 4.2.7, 4.2.11 note 11 (issue 12): the TLS channel's client key comes
# from the service its vg_client is connected to, through that socket and
# checked against that service user, not from $VOXGUARD_SOCKET or the
# default socket. Two services on two sockets, run by two service users,
# each with its own key of the same name (and keys only one of them has);
# $VOXGUARD_SOCKET points at the first (or is unset); the client opens the
# second explicitly and does mutual TLS with a server that requires a
# client certificate: the server sees the second service's certificate,
# whose key signed the handshake. The same for libcurl (vg_tls_curl_setup)
# and the server side (vg_tls_accept). Each next to its refusal.
#
# Root, whole script (throw-away users).
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (throw-away users)"; exit 77; }
setup_users
getent passwd vgsvc2 >/dev/null ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vgsvc2
usermod -a -G vgclients vgsvc2
start_daemon
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
P=$T/pki
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sh "$VG_SRC/tests/tls_pki.sh" "$P" "$(free_port)"
chmod -R a+rX "$P"
ALICE=$(id -u vgalice)

# The second service: its own state, socket and service user (vgsvc2).
# Started as vgsvc2 itself, so that its socket is vgsvc2's (the kernel
# records who called listen(): the first service listens as root, which
# every client accepts) and a client must name vgsvc2 to talk to it.
T2=$T/two
STATE2=$T2/state
RUN2=$T2/run
SOCK2=$RUN2/vg.sock
DLOG2=$T2/daemon.log
mkdir -p "$STATE2" "$RUN2"
chmod 700 "$STATE2"
chmod 755 "$T2" "$RUN2"
chown vgsvc2:vgsvc2 "$STATE2" "$RUN2"
cat >"$T2/voxguardd.conf" <<CFG
socket_group = vgclients
admin_group = vgadmin
socket_mode = 0660
io_timeout_ms = 2000
CFG
chmod 644 "$T2/voxguardd.conf"
: >"$DLOG2"
setpriv --reuid=vgsvc2 --regid=vgsvc2 --init-groups -- \
	"$VOXGUARDD" --state-dir "$STATE2" --socket "$SOCK2" --config "$T2/voxguardd.conf" \
	>"$DLOG2" 2>&1 &
D2PID=$!
PIDS=
trap 'for p in $PIDS $D2PID; do kill $p 2>/dev/null || true; done; cleanup' EXIT INT TERM
i=0
while ! grep -q ready "$DLOG2"; do
	kill -0 "$D2PID" 2>/dev/null || { echo "the second voxguardd did not start:"; cat "$DLOG2"; exit 1; }
	i=$((i + 1)); [ $i -lt 400 ] || { echo "the second voxguardd: no ready line"; exit 1; }
	sleep 0.05
done

# Alice's clients: the first service's user is the default
# ($VOXGUARD_SERVICE_USER=vgsvc, from lib.sh); the second's must be named.
V1="$VOXGUARD --socket $SOCK"
V2="$VOXGUARD --socket $SOCK2 --service-user vgsvc2"

# srv VAR ARGS...: openssl s_server -www with the good server certificate,
# requiring a client certificate from the client CA, on a free port.
srv() {
	_v=$1; shift
	_p=$(free_port)
	# shellcheck disable=SC2086
	openssl s_server -accept "127.0.0.1:$_p" -cert "$P/server-good.crt" -key "$P/server-good.key" \
		-cert_chain "$P/inter.crt" -status_file "$P/staple-good.der" -Verify 1 \
		-CAfile "$P/client-ca.crt" -www "$@" >"$W/srv-$_v.log" 2>&1 </dev/null &
	PIDS="$PIDS $!"
	for _i in $(seq 100); do ss -ltn | grep -q "127.0.0.1:$_p " && break; sleep 0.05; done
	eval "$_v=$_p"
}
srv MTLS

# certify V KEY CN SERIAL: a certificate from the client CA for alice's key
# KEY in the service V ($V1 or $V2), subject CN, into $W/CN.crt.
certify() {
	as vgalice $1 key public "$2" >"$W/$3.pub"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/throwaway.key" \
		-subj "/CN=$3" -out "$W/$3.csr" 2>/dev/null
	openssl x509 -req -in "$W/$3.csr" -force_pubkey "$W/$3.pub" -CA "$P/client-ca.crt" \
		-CAkey "$P/client-ca.key" -set_serial "$4" -days 30 -out "$W/$3.crt" 2>/dev/null
	chmod 644 "$W/$3.crt"
}

# The same key name in both services (two different keys), and a key each
# service alone has.
check "setup: tls-client in the first service" as vgalice $V1 key create tls-client --type p256
check "setup: tls-client in the second service" as vgalice $V2 key create tls-client --type p256
check "setup: only-first in the first service" as vgalice $V1 key create only-first --type p256
check "setup: only-second in the second service" as vgalice $V2 key create only-second --type p256
check "setup: tls-server in the first service" as vgalice $V1 key create tls-server --type p256
check "setup: tls-server in the second service" as vgalice $V2 key create tls-server --type p256
as vgalice $V1 key public tls-client >"$W/k1.pub"
as vgalice $V2 key public tls-client >"$W/k2.pub"
check_fails "setup: the two services' tls-client keys differ" 1 cmp -s "$W/k1.pub" "$W/k2.pub"
certify "$V1" tls-client first-service 21
certify "$V2" tls-client second-service 22
certify "$V1" only-first first-only 23
certify "$V2" only-second second-only 24
certify "$V2" tls-server second-server 25

# Each service's endpoint list (an admin: the admin group, as on a
# development device).
ep1() { as vgcarol $V1 endpoint add "$@" --uid "$ALICE"; }
ep2() { as vgcarol $V2 endpoint add "$@" --uid "$ALICE"; }
check "setup: the first service's endpoint mtls (its tls-client)" ep1 mtls --host localhost \
	--port "$MTLS" --ca "$P/ca.pem" --client-key tls-client --client-cert "$W/first-service.crt"
check "setup: the second service's endpoint mtls (its tls-client)" ep2 mtls --host localhost \
	--port "$MTLS" --ca "$P/ca.pem" --client-key tls-client --client-cert "$W/second-service.crt"
check "setup: the second service's endpoint mtls-only2 (a key only it has)" ep2 mtls-only2 \
	--host localhost --port "$MTLS" --ca "$P/ca.pem" --client-key only-second \
	--client-cert "$W/second-only.crt"
check "setup: the second service's endpoint mtls-only1 (a key only the first has)" ep2 mtls-only1 \
	--host localhost --port "$MTLS" --ca "$P/ca.pem" --client-key only-first \
	--client-cert "$W/first-only.crt"

GET='GET / HTTP/1.0\r\n\r\n'
# conn ENV... -- V ENDPOINT: GET / through `voxguard connect` as alice
conn() {
	_e=
	while [ "$1" != -- ]; do _e="$_e $1"; shift; done
	shift
	# shellcheck disable=SC2086
	printf "$GET" | as vgalice env $_e $1 connect "$2" >"$W/out" 2>"$W/err"
}
seen() { grep -q "Subject: CN *= *$1" "$W/out"; }

check "SFR 4.2.7: VOXGUARD_SOCKET at the first service, client on the second: mutual TLS (exit 0)" \
	conn VOXGUARD_SOCKET="$SOCK" -- "$V2" mtls
check "SFR 4.2.7: the server saw the second service's certificate" seen second-service
check_fails "SFR 4.2.7: ... and not the first's" 1 seen first-service
check "SFR 4.2.7: VOXGUARD_SOCKET unset, a key only the second service has: mutual TLS (exit 0)" \
	conn -u VOXGUARD_SOCKET -- "$V2" mtls-only2
check "SFR 4.2.7: the server saw the second service's only-second certificate" seen second-only
check_fails "SFR 4.2.7: a key only the first service has is not taken from it (exit 2)" 2 \
	conn VOXGUARD_SOCKET="$SOCK" -- "$V2" mtls-only1
check "SFR 4.2.7: the reason: the client key is not found (in the second service)" \
	grep -q "client key 'only-first'" "$W/err"
check "SFR 4.2.7: and the other way round: VOXGUARD_SOCKET at the second, client on the first (exit 0)" \
	conn VOXGUARD_SOCKET="$SOCK2" VOXGUARD_SERVICE_USER=vgsvc2 -- "$V1" mtls
check "SFR 4.2.7: the server saw the first service's certificate" seen first-service
check_fails "SFR 4.2.10: the second service is refused to a client expecting the first's user (exit 2)" 2 \
	sh -c "printf '$GET' | setpriv --reuid=vgalice --regid=vgalice --init-groups -- \
		$VOXGUARD --socket $SOCK2 --service-user vgsvc connect mtls >/dev/null 2>&1"

# libcurl (vg_tls_curl_setup) with a vg_client on the second service.
CG=$VG_BUILD/tests/tls_curl_get
cg() { as vgalice env "$@" >"$W/out" 2>"$W/err"; }
check "SFR 4.2.7: libcurl, VOXGUARD_SOCKET at the first, client on the second: mutual TLS" \
	cg VOXGUARD_SOCKET="$SOCK" "$CG" mtls "https://localhost:$MTLS/" "$SOCK2" vgsvc2
check "SFR 4.2.7: libcurl: the server saw the second service's certificate" seen second-service
check "SFR 4.2.7: libcurl, VOXGUARD_SOCKET unset, a key only the second has: mutual TLS" \
	cg -u VOXGUARD_SOCKET "$CG" mtls-only2 "https://localhost:$MTLS/" "$SOCK2" vgsvc2
check "SFR 4.2.7: libcurl: the server saw the only-second certificate" seen second-only
check_fails "SFR 4.2.7: libcurl: a key only the first service has is refused (exit 2)" 2 \
	cg VOXGUARD_SOCKET="$SOCK" "$CG" mtls-only1 "https://localhost:$MTLS/" "$SOCK2" vgsvc2

# The server side (vg_tls_accept) with the second service's tls-server key;
# openssl s_client verifies its certificate, which binds that key.
ACC=$VG_BUILD/tests/tls_accept_one
accept_one() { # accept_one PORT: the server in the background, as alice
	setpriv --reuid=vgalice --regid=vgalice --init-groups -- \
		env VOXGUARD_SOCKET="$SOCK" "$ACC" "$SOCK2" vgsvc2 tls-server \
		"$W/second-server.crt" "$1" >"$W/acc.out" 2>"$W/acc.err" &
	APID=$!
	PIDS="$PIDS $APID"
	for _i in $(seq 100); do grep -q listening "$W/acc.out" 2>/dev/null && break; sleep 0.05; done
}
sc() { # sc PORT: s_client verifying the server against the client CA
	openssl s_client -connect "127.0.0.1:$1" -CAfile "$P/client-ca.crt" \
		-verify_return_error -ign_eof </dev/null >"$W/sc.out" 2>&1
}
APORT=$(free_port)
accept_one "$APORT"
check "SFR 4.2.7: vg_tls_accept with the second service's key (VOXGUARD_SOCKET at the first)" sc "$APORT"
check "SFR 4.2.7: the client verified the second service's server certificate" \
	grep -q 'subject=CN = second-server' "$W/sc.out"
check "SFR 4.2.7: and read the server's greeting" grep -q 'hello from tls-server' "$W/sc.out"
wait "$APID" 2>/dev/null; arc=$?
check "SFR 4.2.7: the server side completed (exit 0)" test "$arc" = 0

# Both services still answer; the second stops cleanly.
check "SFR 4.2.7: the first service still answers" as vgalice $V1 status
check "SFR 4.2.7: the second service still answers" as vgalice $V2 status
kill -TERM "$D2PID"
set +e; wait "$D2PID"; rc=$?; set -e
if [ "$rc" = 0 ]; then ok "the second service exited cleanly"; else not_ok "the second service exited with $rc"; fi
cat "$DLOG2" >>"$ALLLOG"
stop_daemon
finish
