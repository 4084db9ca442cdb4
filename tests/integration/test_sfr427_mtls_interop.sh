#!/bin/sh
# SFR 4.2.7 (secure communication: the client authenticates with a key
# that never leaves the service), SFR 4.2.11 note 11 (the keystore serves
# secure communication), SFR 4.2.2 (the device identity key as the default
# TLS client identity), AVS 1.3: the OpenSSL provider voxguard.so with
# unmodified Debian tools.
#  - openssl req -provider voxguard -key voxguard:key=NAME makes CSRs that
#    verify, with the service's public key in them (P-256, P-384, Ed25519);
#  - openssl s_client -key voxguard:key=NAME completes mutual TLS 1.3 and
#    1.2 with nginx (ssl_verify_client on) and openssl s_server -Verify 1;
#  - curl --key REF.pem (the PEM key reference) with the provider enabled
#    in an openssl.cnf does the same;
#  - the device identity key for a member of identity_tls_group;
# each next to its refusal: no client certificate; another uid's key;
# the identity key for a uid outside the group (audited); the service
# stopped (a clean error, no crash); and the private key never exported.
. "$(dirname "$0")/lib.sh"
: "${VG_BUILD:?set by ctest}"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (users, nginx)"; exit 77; }
for t in nginx curl python3; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] ||
		{ echo "$t is missing: scripts/install-deps.sh installs it"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
setup_users
getent group vgtls >/dev/null || groupadd --system vgtls
usermod -a -G vgtls vgbob
EXTRA_CONFIG="identity_tls_group = vgtls"
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
ALICE="setpriv --reuid=vgalice --regid=vgalice --init-groups --"
PROV="-provider-path $VG_BUILD -provider voxguard -provider default"
# The sanitizer build's voxguard.so needs the sanitizer runtimes in the
# (uninstrumented) tools that load it: preloaded, with an exit code of
# their own so that a report is never mistaken for a clean refusal.
# curl cannot run so (with libasan preloaded it deadlocks in setlocale()
# before main's work): the sanitizer build leaves curl out and reads the
# key references with openssl instead; test_provider covers the rest.
RUNO=
CURL=1
if [ "${VG_SANITIZE:-0}" = 1 ]; then
	RUNO="env LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
	RUNO="$RUNO ASAN_OPTIONS=exitcode=86:detect_leaks=1:verify_asan_link_order=0"
	CURL=0
fi
export VOXGUARD_SOCKET="$SOCK"
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- the PKI: a root, an intermediate, the server and the clients ----
cd "$W"
cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[server]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
[client]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
EOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
	-out root.pem -subj /CN=voxguard-test-root -days 2 -extensions ca -config ext.cnf \
	2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key \
	-out int.csr -subj /CN=voxguard-test-intermediate 2>/dev/null
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -out int.pem \
	-days 2 -extfile ext.cnf -extensions ca 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
	-out srv.csr -subj /CN=localhost 2>/dev/null
openssl x509 -req -in srv.csr -CA int.pem -CAkey int.key -CAcreateserial -out srv.pem \
	-days 2 -extfile ext.cnf -extensions server 2>/dev/null
cat srv.pem int.pem >srv-chain.pem
cat int.pem root.pem >ca-chain.pem
chmod 644 ./*.pem
sign_client() { # CSR OUT
	openssl x509 -req -in "$1" -CA "$W/int.pem" -CAkey "$W/int.key" -CAcreateserial \
		-out "$2" -days 2 -extfile "$W/ext.cnf" -extensions client 2>/dev/null
	cat "$W/int.pem" >>"$2"
	chmod 644 "$2"
}
cd - >/dev/null

start_daemon
# The device identity key exists once the device is provisioned.
$V provision --oem Acme --model "Echo One" --hw-rev B2 --setup-code-out "$W/code" >/dev/null

# ---- CSRs through the provider (openssl req) ----
for t in p256 p384 ed25519; do
	as vgalice $V key create "a-$t" --type "$t"
	as vgalice $V key public "a-$t" --out "$W/a-$t.pub"
	check "SFR 4.2.7: openssl req -provider voxguard makes a $t CSR" \
		as vgalice $RUNO openssl req -new $PROV -key "voxguard:key=a-$t" -subj "/CN=alice-$t" \
		-out "$W/a-$t.csr"
	check "SFR 4.2.7: the $t CSR's signature verifies (openssl req -verify)" \
		openssl req -verify -noout -in "$W/a-$t.csr"
	openssl req -in "$W/a-$t.csr" -noout -pubkey >"$W/a-$t.csrpub" 2>/dev/null || true
	check "SFR 4.2.11: the $t CSR's public key is the service's (voxguard key public)" \
		cmp "$W/a-$t.pub" "$W/a-$t.csrpub"
	sign_client "$W/a-$t.csr" "$W/a-$t.pem"
done
check "SFR 4.2.11: the provider prints no private key (openssl pkey)" sh -c \
	"! $ALICE $RUNO openssl pkey $PROV -in voxguard:key=a-p256 2>/dev/null | grep -q PRIVATE"
check "SFR 4.2.11: and refuses to write one (exit non-zero)" sh -c \
	"! $ALICE $RUNO openssl pkey $PROV -in voxguard:key=a-p256 -out '$W/leak.pem' 2>/dev/null"
check "SFR 4.2.11: while the public key comes out as the service's" sh -c \
	"$ALICE $RUNO openssl pkey $PROV -in voxguard:key=a-p256 -pubout | cmp - '$W/a-p256.pub'"

# ---- nginx: mutual TLS (ssl_verify_client on), TLS 1.2 and 1.3 ----
NPORT=$(free_port)
mkdir -p "$W/nginx"
cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $W/nginx/error.log info;
pid $W/nginx/nginx.pid;
events { worker_connections 64; }
http {
	access_log $W/nginx/access.log;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	server {
		listen 127.0.0.1:$NPORT ssl;
		server_name localhost;
		ssl_certificate $W/srv-chain.pem;
		ssl_certificate_key $W/srv.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_client_certificate $W/ca-chain.pem;
		ssl_verify_client on;
		ssl_verify_depth 3;
		location / {
			default_type text/plain;
			return 200 "verify=\$ssl_client_verify dn=\$ssl_client_s_dn proto=\$ssl_protocol\n";
		}
	}
}
EOF
"$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" >"$W/nginx/out.log" 2>&1 &
NGINX_PID=$!
stop_nginx() { kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; }
trap 'stop_nginx; cleanup' EXIT INT TERM
i=0
until curl -sk -o /dev/null "https://127.0.0.1:$NPORT/"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "nginx did not start:"; cat "$W/nginx/error.log"; exit 1; }
	sleep 0.1
done

# s_client as a pipe: the request in, the answer out.
req() { printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n'; sleep 1; }
sclient() { # USER KEY CERT PROVIDER-ORDER TLSOPT -> the page
	_u=$1 _k=$2 _c=$3 _p=$4 _v=$5
	req | as "$_u" timeout 20 $RUNO openssl s_client $_p -connect "127.0.0.1:$NPORT" \
		-servername localhost -CAfile "$W/root.pem" -verify_return_error -key "$_k" \
		-cert "$_c" $_v -quiet 2>&1
}
for t in p256 p384 ed25519; do
	out=$(sclient vgalice "voxguard:key=a-$t" "$W/a-$t.pem" "$PROV" -tls1_3)
	case $out in *"verify=SUCCESS dn=CN=alice-$t proto=TLSv1.3"*)
		ok "SFR 4.2.7: s_client -key voxguard:key=a-$t: mutual TLS 1.3 with nginx" ;;
	*) not_ok "SFR 4.2.7: s_client mutual TLS 1.3 with nginx, $t: $out" ;; esac
	out=$(sclient vgalice "voxguard:key=a-$t" "$W/a-$t.pem" "$PROV" -tls1_2)
	case $out in *"verify=SUCCESS dn=CN=alice-$t proto=TLSv1.2"*)
		ok "SFR 4.2.7: s_client -key voxguard:key=a-$t: mutual TLS 1.2 with nginx" ;;
	*) not_ok "SFR 4.2.7: s_client mutual TLS 1.2 with nginx, $t: $out" ;; esac
done
# Either load order, and a P-256 key share (the provider's EC key
# management may be the one TLS takes for it: docs/TLS.md).
for order in "-provider voxguard -provider default" "-provider default -provider voxguard"; do
	for v in "-tls1_3 -groups P-256" "-tls1_2 -groups P-256"; do
		out=$(sclient vgalice "voxguard:key=a-p256" "$W/a-p256.pem" \
			"-provider-path $VG_BUILD $order" "$v")
		case $out in *"verify=SUCCESS dn=CN=alice-p256"*)
			ok "SFR 4.2.7: s_client $order $v: mutual TLS with nginx" ;;
		*) not_ok "SFR 4.2.7: s_client $order $v: $out" ;; esac
	done
done
# The control: without a client certificate nginx refuses the request.
out=$(req | timeout 20 openssl s_client -connect "127.0.0.1:$NPORT" -servername localhost \
	-CAfile "$W/root.pem" -quiet 2>&1 || true)
case $out in *"400 No required SSL certificate"*)
	ok "SFR 4.2.7: without a client certificate nginx refuses (400)" ;;
*) not_ok "SFR 4.2.7: without a client certificate nginx refuses: $out" ;; esac
# Another uid's key: vgbob names vgalice's key; the service has none of his.
out=$(sclient vgbob "voxguard:key=a-p256" "$W/a-p256.pem" "$PROV" -tls1_3 && echo exit=0 || echo "exit=$?")
case $out in *verify=SUCCESS*) not_ok "SFR 4.2.10: vgbob used vgalice's key: $out" ;;
*"exit=1"*) ok "SFR 4.2.10: another uid's key is refused (a clean error, exit 1)" ;;
*) not_ok "SFR 4.2.10: another uid's key: $out" ;; esac

# ---- curl with the PEM key reference and an openssl.cnf ----
cat >"$W/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
voxguard = voxguard_sect
[default_sect]
activate = 1
[voxguard_sect]
module = $VG_BUILD/voxguard.so
socket = $SOCK
activate = 1
EOF
chmod 644 "$W/openssl.cnf"
for t in p256 p384 ed25519; do
	as vgalice $V key reference "a-$t" --out "$W/a-$t.ref"
	check "SFR 4.2.7: the key reference holds no private key" sh -c \
		"grep -q 'BEGIN VOXGUARD KEY REFERENCE' '$W/a-$t.ref' && ! grep -q PRIVATE '$W/a-$t.ref'"
	[ "$CURL" = 1 ] || continue
	for v in "--tlsv1.3" "--tlsv1.2 --tls-max 1.2"; do
		out=$(as vgalice $RUNO env OPENSSL_CONF="$W/openssl.cnf" VOXGUARD_SOCKET= curl -sS $v \
			--cacert "$W/root.pem" --cert "$W/a-$t.pem" --key "$W/a-$t.ref" \
			"https://localhost:$NPORT/" 2>&1 || true)
		case $out in *"verify=SUCCESS dn=CN=alice-$t"*)
			ok "SFR 4.2.7: curl --key a-$t.ref $v: mutual TLS with nginx" ;;
		*) not_ok "SFR 4.2.7: curl --key a-$t.ref $v: $out" ;; esac
	done
done
check_fails "SFR 4.2.7: the reference as a file: openssl pkey reads the public key only" 1 sh -c \
	"OPENSSL_CONF='$W/openssl.cnf' $ALICE $RUNO openssl pkey -in '$W/a-p256.ref' | grep -q PRIVATE"
if [ "$CURL" = 1 ]; then
check "SFR 4.2.7: curl: the control: without the reference's key the request is refused (400)" \
	sh -c "curl -s --cacert '$W/root.pem' 'https://localhost:$NPORT/' | grep -q '400 No required SSL certificate'"
if [ "$CURL" = 1 ]; then
out=$(as vgbob $RUNO env OPENSSL_CONF="$W/openssl.cnf" curl -sS --cacert "$W/root.pem" \
	--cert "$W/a-p256.pem" --key "$W/a-p256.ref" "https://localhost:$NPORT/" 2>&1 && echo exit=0 || echo "exit=$?")
case $out in *verify=SUCCESS*) not_ok "SFR 4.2.10: curl as vgbob used vgalice's reference" ;;
*"exit=58"*) ok "SFR 4.2.10: curl as vgbob with vgalice's reference: refused (exit 58, key not loaded)" ;;
*) not_ok "SFR 4.2.10: curl as vgbob with vgalice's reference: $out" ;; esac
fi
check "SFR 4.2.10: openssl as vgbob reads vgalice's reference: refused (exit 1)" sh -c \
	"OPENSSL_CONF='$W/openssl.cnf' setpriv --reuid=vgbob --regid=vgbob --init-groups -- $RUNO openssl pkey -in '$W/a-p256.ref' -pubout >/dev/null 2>&1; [ \$? = 1 ]"
printf -- '-----BEGIN VOXGUARD KEY REFERENCE-----\nAg92b3hndWFyZDprZXk9azE=\n-----END VOXGUARD KEY REFERENCE-----\n' >"$W/v2.ref"
check_fails "SFR 4.2.7: a reference of another version is refused (curl exit 58)" 58 \
	as vgalice $RUNO env OPENSSL_CONF="$W/openssl.cnf" curl -sS --cacert "$W/root.pem" \
	--cert "$W/a-p256.pem" --key "$W/v2.ref" "https://localhost:$NPORT/"
fi

# ---- the device identity key (SFR 4.2.2) for identity_tls_group ----
check "SFR 4.2.2: a member of identity_tls_group gets the identity key's reference" \
	as vgbob $V key reference device-identity --out "$W/id.ref"
check "SFR 4.2.2: and a CSR signed with the identity key" as vgbob $RUNO openssl req -new $PROV \
	-key voxguard:key=device-identity -subj /CN=device-identity -out "$W/id.csr"
check "SFR 4.2.2: which verifies" openssl req -verify -noout -in "$W/id.csr"
sign_client "$W/id.csr" "$W/id.pem"
out=$(sclient vgbob "voxguard:key=device-identity" "$W/id.pem" "$PROV" -tls1_3)
case $out in *"verify=SUCCESS dn=CN=device-identity"*)
	ok "SFR 4.2.2/4.2.7: mutual TLS with the device identity key (identity_tls_group)" ;;
*) not_ok "SFR 4.2.2/4.2.7: mutual TLS with the identity key: $out" ;; esac
if [ "$CURL" = 1 ]; then
out=$(as vgbob $RUNO env OPENSSL_CONF="$W/openssl.cnf" curl -sS --cacert "$W/root.pem" \
	--cert "$W/id.pem" --key "$W/id.ref" "https://localhost:$NPORT/" 2>&1 || true)
case $out in *"verify=SUCCESS dn=CN=device-identity"*)
	ok "SFR 4.2.2/4.2.7: curl with the identity key's reference" ;;
*) not_ok "SFR 4.2.2/4.2.7: curl with the identity key's reference: $out" ;; esac
fi
check "SFR 4.2.2: openssl reads the identity key's reference (its public key)" sh -c \
	"OPENSSL_CONF='$W/openssl.cnf' setpriv --reuid=vgbob --regid=vgbob --init-groups -- $RUNO openssl pkey -in '$W/id.ref' -pubout | grep -q 'BEGIN PUBLIC KEY'"
out=$(sclient vgalice "voxguard:key=device-identity" "$W/id.pem" "$PROV" -tls1_3 && echo exit=0 || echo "exit=$?")
case $out in *verify=SUCCESS*) not_ok "SFR 4.2.2: vgalice (not in the group) used the identity key" ;;
*"exit=1"*) ok "SFR 4.2.2: the identity key is refused outside identity_tls_group (clean error)" ;;
*) not_ok "SFR 4.2.2: identity key outside the group: $out" ;; esac
check_fails "SFR 4.2.2: and no reference is written for it" 2 \
	as vgalice $V key reference device-identity --out "$W/id-alice.ref"

# ---- openssl s_server -Verify 1 ----
SPORT=$(free_port)
openssl s_server -accept "127.0.0.1:$SPORT" -cert "$W/srv.pem" -key "$W/srv.key" \
	-cert_chain "$W/int.pem" -CAfile "$W/ca-chain.pem" -Verify 1 -verify_return_error -www \
	>"$W/s_server.log" 2>&1 &
SS_PID=$!
trap 'kill "$SS_PID" 2>/dev/null || true; stop_nginx; cleanup' EXIT INT TERM
i=0
until grep -q ACCEPT "$W/s_server.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1
done
s_server_page() { # USER KEY CERT PROVIDERS TLSOPT
	req | as "$1" timeout 20 $RUNO openssl s_client $4 -connect "127.0.0.1:$SPORT" \
		-CAfile "$W/root.pem" -key "$2" -cert "$3" $5 -quiet 2>&1
}
out=$(s_server_page vgalice voxguard:key=a-p384 "$W/a-p384.pem" "$PROV" -tls1_3)
case $out in *"Client certificate"*"CN = alice-p384"*|*"Client certificate"*"CN=alice-p384"*)
	ok "SFR 4.2.7: mutual TLS 1.3 with openssl s_server -Verify 1 (P-384 key in the service)" ;;
*) not_ok "SFR 4.2.7: s_server -Verify 1, TLS 1.3: $out" ;; esac
out=$(s_server_page vgalice voxguard:key=a-ed25519 "$W/a-ed25519.pem" "$PROV" -tls1_2)
case $out in *"Client certificate"*"alice-ed25519"*)
	ok "SFR 4.2.7: mutual TLS 1.2 with openssl s_server -Verify 1 (Ed25519 key in the service)" ;;
*) not_ok "SFR 4.2.7: s_server -Verify 1, TLS 1.2: $out" ;; esac

# ---- the service stopped: a clean error, no crash ----
stop_daemon
out=$(sclient vgalice "voxguard:key=a-p256" "$W/a-p256.pem" "$PROV" -tls1_3 && echo exit=0 || echo "exit=$?")
case $out in *"exit=1"*"cannot be reached"*|*"cannot be reached"*"exit=1"*)
	ok "SFR 4.2.7: the service stopped: s_client fails cleanly (exit 1, 'cannot be reached')" ;;
*) not_ok "SFR 4.2.7: the service stopped: $out" ;; esac
if [ "$CURL" = 1 ]; then
out=$(as vgalice $RUNO env OPENSSL_CONF="$W/openssl.cnf" curl -sS --cacert "$W/root.pem" \
	--cert "$W/a-p256.pem" --key "$W/a-p256.ref" "https://localhost:$NPORT/" 2>&1 && echo exit=0 || echo "exit=$?")
case $out in *"exit=58"*) ok "SFR 4.2.7: the service stopped: curl fails cleanly (exit 58)" ;;
*) not_ok "SFR 4.2.7: the service stopped: curl: $out" ;; esac
fi
out=$(OPENSSL_CONF="$W/openssl.cnf" as vgalice $RUNO openssl pkey -in "$W/a-p256.ref" -pubout 2>&1 && echo exit=0 || echo "exit=$?")
case $out in *"BEGIN PUBLIC KEY"*) not_ok "SFR 4.2.7: the service stopped: a key reference: $out" ;;
*"exit=1") ok "SFR 4.2.7: the service stopped: a key reference fails cleanly (exit 1, no key)" ;;
*) not_ok "SFR 4.2.7: the service stopped: a key reference: $out" ;; esac
start_daemon

# ---- the audit log ----
vg log export --out "$W/log.vgl"
vg log show --in "$W/log.vgl" >"$W/log.txt" || true
check "SFR 4.2.9: signatures with the identity key are audited (identity.tls_sign)" \
	grep -q 'identity.tls_sign.*device-identity' "$W/log.txt"
check "SFR 4.2.9: the refused use of the identity key is audited (authz.denied)" \
	sh -c "grep 'authz.denied' '$W/log.txt' | grep -q 'device-identity'"
stop_daemon
kill "$SS_PID" 2>/dev/null || true
stop_nginx
finish
