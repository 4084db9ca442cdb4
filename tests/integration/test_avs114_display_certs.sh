#!/bin/sh
# AVS 1.14 and the AVS Device SDK's smart-screen rules (device-unique local
# certificates whose keys cannot sign other certificates, long-lived, valid
# before first power-on), SFR 4.2.7, 4.2.11: `voxguard display certs` run
# as the gateway's uid (vgbob) makes a P-256 key in the service, in that
# uid's namespace, and a certificate the key signs itself through the
# provider. Every property is read back with openssl x509; the key serves
# TLS with it (vg_tls_accept, openssl s_client verifying against it);
# --rotate changes key and serial; a second run without it is refused;
# --client makes the mutual-TLS client's.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (several users)"; exit 77; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
BOB() { as vgbob $V "$@"; }
D=$W/certs; mkdir -p "$D"; chown vgbob "$D"; chmod 700 "$D"
start_daemon
vg provision --oem Acme --model Echo-Show --hw-rev B2 --setup-code-out "$W/code" >/dev/null

check "AVS 1.14: display certs makes the gateway's key and certificate" \
	sh -c "setpriv --reuid=vgbob --regid=vgbob --init-groups -- $V display certs --out-dir '$D' >'$W/spki.out'"
C=$D/display-server.pem
openssl x509 -in "$C" -noout -text >"$W/x.txt"
x() { grep -A1 "$1" "$W/x.txt" | tail -n 1 | sed 's/^ *//'; }
check "SDK: basicConstraints critical, CA:FALSE" sh -c "
grep -q 'X509v3 Basic Constraints: critical' '$W/x.txt' && [ \"\$(grep -A1 'Basic Constraints' '$W/x.txt' | tail -n 1 | tr -d ' ')\" = CA:FALSE ]"
check "SDK: keyUsage critical, digitalSignature only" sh -c "
grep -q 'X509v3 Key Usage: critical' '$W/x.txt' && [ \"\$(grep -A1 'X509v3 Key Usage' '$W/x.txt' | tail -n 1 | sed 's/^ *//')\" = 'Digital Signature' ]"
check "SDK: the key cannot sign certificates or CRLs (no keyCertSign, no cRLSign)" \
	sh -c "! grep -Eq 'Certificate Sign|CRL Sign' '$W/x.txt'"
check "SDK: extendedKeyUsage serverAuth only" test "$(x 'Extended Key Usage')" = "TLS Web Server Authentication"
check "SDK: subjectAltName DNS:localhost, IP:127.0.0.1" \
	test "$(x 'Subject Alternative Name')" = "DNS:localhost, IP Address:127.0.0.1"
check "SDK: valid before first power-on: notBefore 2000-01-01" \
	grep -q 'Not Before: Jan  1 00:00:00 2000 GMT' "$W/x.txt"
NA=$(openssl x509 -in "$C" -noout -enddate | sed 's/.* \([0-9]\{4\}\) GMT/\1/')
NOW=$(date -u +%Y)
check "SDK: long-lived: notAfter about 200 years on ($NA)" \
	sh -c "[ $NA -ge $((NOW + 199)) ] && [ $NA -le $((NOW + 201)) ]"
check "RFC 5280: notAfter past 2049 is GeneralizedTime" \
	sh -c "openssl asn1parse -in '$C' | grep -c GENERALIZEDTIME | grep -qx 1"
check "the certificate is P-256, signed with ECDSA-SHA256" sh -c "
grep -q 'ASN1 OID: prime256v1' '$W/x.txt' && grep -q 'Signature Algorithm: ecdsa-with-SHA256' '$W/x.txt'"
check "SDK: device-unique: the subject names the device (OEM, model, instance ID)" sh -c "
openssl x509 -in '$C' -noout -subject | grep -q 'O = Acme, serialNumber = [0-9a-f]\{64\}, CN = Echo-Show display server'"
SER=$(openssl x509 -in "$C" -noout -serial | sed 's/serial=//')
check "a random serial of 16 bytes ($SER)" sh -c "printf '%s' '$SER' | grep -Eqx '[4-7][0-9A-F]{31}'"
check "self-issued: the key signed its own certificate (openssl verify against itself)" \
	openssl verify -CAfile "$C" -partial_chain "$C"
BOB key public display-tls >"$W/pub.pem"
check "SFR 4.2.11: the certificate's key is the service's key display-tls, in the gateway's namespace" \
	sh -c "openssl x509 -in '$C' -noout -pubkey | cmp -s - '$W/pub.pem'"
check_fails "SFR 4.2.11: ... which other uids cannot use (alice, 2)" 2 as vgalice $V key public display-tls
SPKI=$(openssl x509 -in "$C" -noout -pubkey | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -binary | base64)
check "the SPKI sha256 (base64) for Chromium's --ignore-certificate-errors-spki-list is written" \
	sh -c "[ \"\$(cat '$D/display-server.spki')\" = '$SPKI' ] && [ \"\$(cat '$W/spki.out')\" = '$SPKI' ]"
check "the key reference for OpenSSL applications is written" \
	grep -q 'BEGIN VOXGUARD KEY REFERENCE' "$D/display-server.keyref.pem"
check "no private key is written" sh -c "! grep -rq PRIVATE '$D'"

# The key serves TLS with this certificate (vg_tls_accept, the provider).
PORT=$( (python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])') )
as vgbob "$VG_BUILD/tests/tls_accept_one" "$SOCK" vgsvc display-tls "$C" "$PORT" >"$W/acc.out" 2>"$W/acc.err" &
APID=$!
for _i in $(seq 100); do grep -q listening "$W/acc.out" 2>/dev/null && break; sleep 0.05; done
check "SFR 4.2.7: a TLS client trusting this certificate alone completes a handshake with the service's key" \
	sh -c "openssl s_client -connect 127.0.0.1:$PORT -servername localhost -CAfile '$C' -partial_chain \
		-verify_return_error -verify_hostname localhost -ign_eof </dev/null 2>&1 | grep -q 'hello from display-tls'"
wait "$APID" 2>/dev/null || true

# Rotation.
check_fails "a second run without --rotate is refused (2)" 2 BOB display certs --out-dir "$D"
cp "$C" "$W/old.pem"
check "--rotate makes a new key and certificate" BOB display certs --out-dir "$D" --rotate
SER2=$(openssl x509 -in "$C" -noout -serial | sed 's/serial=//')
check "--rotate changes the serial" test "$SER" != "$SER2"
check "--rotate changes the key" test "$(openssl x509 -in "$W/old.pem" -noout -pubkey)" != \
	"$(openssl x509 -in "$C" -noout -pubkey)"
check "--rotate changes the SPKI pin" test "$(cat "$D/display-server.spki")" != "$SPKI"

# The client certificate, for mutual TLS (the display client's uid).
DC=$W/client; mkdir -p "$DC"; chown vgalice "$DC"; chmod 700 "$DC"
check "--client makes the display client's key and certificate (alice)" \
	as vgalice $V display certs --out-dir "$DC" --client
openssl x509 -in "$DC/display-client.pem" -noout -text >"$W/c.txt"
check "SDK: the client certificate: clientAuth only, CA:FALSE, digitalSignature only" sh -c "
[ \"\$(grep -A1 'Extended Key Usage' '$W/c.txt' | tail -n 1 | sed 's/^ *//')\" = 'TLS Web Client Authentication' ] &&
[ \"\$(grep -A1 'Basic Constraints' '$W/c.txt' | tail -n 1 | tr -d ' ')\" = CA:FALSE ] &&
[ \"\$(grep -A1 'X509v3 Key Usage' '$W/c.txt' | tail -n 1 | sed 's/^ *//')\" = 'Digital Signature' ]"
check "the client key is alice's (display-tls-client)" as vgalice $V key public display-tls-client
check_fails "display certs refuses a missing --out-dir (2)" 2 BOB display certs
as vgcarol $V log export --out "$W/a.vgl"
as vgcarol $V log show --in "$W/a.vgl" --json >"$W/a.json"
check "SFR 4.2.9: the key creations and signatures are audit events" sh -c "
grep '\"key.create\"' '$W/a.json' | grep -q 'display-tls owner=$(id -u vgbob)'"
stop_daemon
finish
