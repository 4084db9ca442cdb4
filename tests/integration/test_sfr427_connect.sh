#!/bin/sh
# SFR 4.2.7, 4.2.8, AVS 1.3: `voxguard connect ENDPOINT` through the real
# service: the endpoint list (added by an admin), the policy applied by the
# channel, a client key that stays in the service, and the exit codes
# (0 clean close, 1 refused with the reason, 2 any other error). Each
# attack next to a control that succeeds; each refusal an audit event.
# Peers: openssl s_server on loopback, with the PKI of tests/tls_pki.sh.
#
# Root, whole script (throw-away users).
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (throw-away users)"; exit 77; }
setup_users
start_daemon
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
P=$T/pki
V="$VOXGUARD --socket $SOCK"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sh "$VG_SRC/tests/tls_pki.sh" "$P" "$(free_port)"
chmod -R a+rX "$P"
ALICE=$(id -u vgalice)

# Servers (killed by the EXIT trap through their process group).
PIDS=
srv() { # srv VAR LEAF ARGS...: openssl s_server -www on a free port
	_v=$1; _l=$2; shift 2
	_p=$(free_port)
	_chain="-cert_chain $P/inter.crt"
	[ "$_l" = otherca ] && _chain=
	# shellcheck disable=SC2086
	openssl s_server -accept "127.0.0.1:$_p" -cert "$P/server-$_l.crt" -key "$P/server-$_l.key" \
		$_chain -www "$@" >"$W/srv-$_v.log" 2>&1 </dev/null &
	PIDS="$PIDS $!"
	for _i in $(seq 100); do ss -ltn | grep -q "127.0.0.1:$_p " && break; sleep 0.05; done
	eval "$_v=$_p"
}
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; cleanup' EXIT INT TERM
# The servers staple a good OCSP response (an endpoint's revocation
# policy is ocsp-stapled unless it says otherwise).
srv GOOD good -status_file "$P/staple-good.der"
srv OTHERCA otherca
srv REVOKED revoked -status_file "$P/staple-revoked.der"
srv MTLS good -Verify 1 -CAfile "$P/client-ca.crt" -status_file "$P/staple-good.der"
DOWN=$(free_port)

# Alice's TLS client key, made in the service; its certificate from the
# client CA (the CSR's key is replaced by the service key's public half).
as vgalice $V key create tls-client --type p256 >/dev/null
as vgalice $V key public tls-client >"$W/tls-client.pub"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/throwaway.key" \
	-subj /CN=alice-device -out "$W/alice.csr" 2>/dev/null
openssl x509 -req -in "$W/alice.csr" -force_pubkey "$W/tls-client.pub" -CA "$P/client-ca.crt" \
	-CAkey "$P/client-ca.key" -set_serial 9 -days 30 -out "$W/alice.crt" 2>/dev/null
chmod 644 "$W/alice.crt"

# The endpoint list (an admin; no admin credential exists yet, so the
# admin group is enough, as on a development device).
ep() { as vgcarol $V endpoint add "$@" --uid "$ALICE"; }
check "setup: endpoint good is listed for alice" ep good --host localhost --port "$GOOD" --ca "$P/ca.pem"
check "setup: endpoint otherca" ep otherca --host localhost --port "$OTHERCA" --ca "$P/ca.pem"
check "setup: endpoint revoked (ocsp-stapled)" ep revoked --host localhost --port "$REVOKED" \
	--ca "$P/ca.pem" --revocation ocsp-stapled
check "setup: endpoint mtls with alice's service key" ep mtls --host localhost --port "$MTLS" \
	--ca "$P/ca.pem" --client-key tls-client --client-cert "$W/alice.crt"
check "setup: endpoint mtls-nokey" ep mtls-nokey --host localhost --port "$MTLS" --ca "$P/ca.pem"
check "setup: endpoint down" ep down --host localhost --port "$DOWN" --ca "$P/ca.pem"

GET='GET / HTTP/1.0\r\n\r\n'
conn() { # conn USER ENDPOINT: GET / through voxguard connect; stdout, stderr to files
	printf "$GET" | as "$1" $V connect "$2" >"$W/out" 2>"$W/err"
}
check "SFR 4.2.7: connect to a listed endpoint, clean close (exit 0)" conn vgalice good
check "SFR 4.2.7: the peer's answer is on stdout" grep -q '200 ok' "$W/out"
check_fails "SFR 4.2.7: a server certified by an unknown CA is refused (exit 1)" 1 conn vgalice otherca
check "SFR 4.2.7: the reason is on stderr: unknown CA" grep -q 'refused: unknown CA' "$W/err"
check_fails "SFR 4.2.7: a revoked certificate (stapled OCSP) is refused (exit 1)" 1 conn vgalice revoked
check "SFR 4.2.7: the reason names OCSP" grep -q 'certificate revoked (OCSP)' "$W/err"
check "SFR 4.2.7, 4.2.11 note 11: mutual TLS with the client key in the service (exit 0)" conn vgalice mtls
check "SFR 4.2.7: the mTLS server answered" grep -q '200 ok' "$W/out"
check_fails "SFR 4.2.7: without the client key the mTLS server refuses (exit 1)" 1 conn vgalice mtls-nokey
check "SFR 4.2.7: the reason: a client certificate is required" grep -q 'requires a client certificate' "$W/err"
check_fails "SFR 4.2.8: an endpoint not listed for the caller is refused (exit 1)" 1 conn vgbob good
check_fails "SFR 4.2.8: an endpoint that does not exist is refused (exit 1)" 1 conn vgalice nowhere
check_fails "SFR 4.2.7: a server that is down is an error, not a refusal (exit 2)" 2 conn vgalice down
check "SFR 4.2.7: the service still answers" as vgalice $V status

# The same policy on a libcurl handle (vg_tls_curl_setup), with the client
# key in the service: the handshake's signature made through the provider
# from libcurl's own SSL_CTX.
CG=$VG_BUILD/tests/tls_curl_get
cg() { as vgalice env VOXGUARD_SOCKET="$SOCK" "$CG" "$@" >"$W/out" 2>"$W/err"; }
check "SFR 4.2.7: libcurl, mutual TLS with the client key in the service" \
	cg mtls "https://localhost:$MTLS/"
check "SFR 4.2.7: libcurl: the mTLS server answered" grep -q 'Ciphers supported' "$W/out"
check_fails "SFR 4.2.7: libcurl: without the client key the server refuses" 1 \
	cg mtls-nokey "https://localhost:$MTLS/"
check_fails "SFR 4.2.7: libcurl: an unknown CA is refused" 1 cg otherca "https://localhost:$OTHERCA/"
check_fails "SFR 4.2.7: libcurl: a URL for another port than the endpoint's is refused" 1 \
	cg good "https://localhost:$MTLS/"
check_fails "SFR 4.2.8: libcurl: an endpoint not listed for the caller is refused" 1 \
	sh -c "setpriv --reuid=vgbob --regid=vgbob --init-groups -- env VOXGUARD_SOCKET='$SOCK' '$CG' good 'https://localhost:$GOOD/' >/dev/null 2>&1"

# Every refusal is an audit event naming the endpoint and the reason.
as vgcarol $V log export --out "$W/log.vgl" >/dev/null
as vgcarol $V log show --in "$W/log.vgl" >"$W/log.txt" 2>&1 || true
check "SFR 4.2.9: the unknown-CA refusal is audited" grep -q 'unknown CA' "$W/log.txt"
check "SFR 4.2.9: the revoked certificate is audited" grep -q 'certificate revoked (OCSP)' "$W/log.txt"
check "SFR 4.2.9: the missing client certificate is audited" grep -q 'requires a client certificate' "$W/log.txt"
stop_daemon
finish
