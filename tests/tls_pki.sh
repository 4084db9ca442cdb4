#!/bin/sh
# tls_pki.sh DIR OCSP_PORT - the test PKI of the TLS channel's tests
# (SFR 4.2.7), made with the openssl CLI only:
#
#   root.crt            the root CA; inter.crt its intermediate (issues servers)
#   other-root.crt      an unrelated root CA (another CA the client may trust)
#   ca.pem              root.crt: the endpoint's CA set
#   ocsp.crt/.key       the intermediate's delegated OCSP responder (OCSPSigning)
#   server-NAME.crt/.key, chain-NAME.pem (leaf + intermediate) for NAME in:
#     good      localhost and 127.0.0.1, valid now
#     expired   valid from 2020 to 2021
#     notyet    valid from 2099
#     otherhost for other.example only
#     revoked   revoked in index.txt, the CRL and the OCSP responder
#     otherca   localhost, issued by other-root (a chain the client does not trust)
#     self      localhost, self-signed
#   every leaf names the responder http://127.0.0.1:OCSP_PORT/ in its AIA
#   crl.pem             the intermediate's CRL and the root's, fresh
#   crl-expired.pem     the same, with nextUpdate in the past
#   index.txt           the intermediate's database, for `openssl ocsp -index`
#   staple-good.der, staple-revoked.der, staple-stale.der   OCSP responses to staple
#   client-ca.crt, client.crt/.key   a client CA and a client certificate (mTLS)
#   spki-NAME.hex       SHA-256 of a certificate's SubjectPublicKeyInfo (pins)
#
# Keys are ECDSA P-256. Idempotent per DIR: does nothing if DIR/done exists.
set -eu
D=$1
PORT=$2
[ -f "$D/done" ] && exit 0
mkdir -p "$D"
cd "$D"
o() { openssl "$@" 2>/dev/null; }
key() { o genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

cat >ca.cnf <<EOF
[ca]
default_ca = inter
[inter]
dir = .
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
default_crl_days = 7
[rootca]
dir = .
database = \$dir/root-index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/root-serial
crlnumber = \$dir/root-crlnumber
default_md = sha256
policy = any
unique_subject = no
default_crl_days = 7
[any]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_inter]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_server]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$PORT/
authorityKeyIdentifier = keyid:always
[v3_otherhost]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$PORT/
[v3_ocsp]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
[v3_client]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF
mkdir -p newcerts
: >index.txt
: >root-index.txt
echo 1000 >serial
echo 0100 >root-serial
echo 01 >crlnumber
echo 01 >root-crlnumber

# Roots (self-signed, 10 years from 2020 so that the expiry tests have a
# valid chain around their leaves).
key root.key
o req -new -x509 -key root.key -subj /CN=voxguard-test-root -days 3650 \
	-set_serial 1 -extensions v3_ca -config ca.cnf -out root.crt
key other-root.key
o req -new -x509 -key other-root.key -subj /CN=voxguard-other-root -days 3650 \
	-set_serial 2 -extensions v3_ca -config ca.cnf -out other-root.crt
cp root.crt ca.pem

# The intermediate, from 2020, issued by the root.
key inter.key
o req -new -key inter.key -subj /CN=voxguard-test-intermediate -out inter.csr
o ca -batch -config ca.cnf -name rootca -cert root.crt -keyfile root.key \
	-startdate 20200101000000Z -enddate 20991231000000Z -extensions v3_inter \
	-in inter.csr -out inter.crt -notext

leaf() { # leaf NAME EXT START END
	key "server-$1.key"
	o req -new -key "server-$1.key" -subj "/CN=$1" -out "server-$1.csr"
	o ca -batch -config ca.cnf -name inter -cert inter.crt -keyfile inter.key \
		-startdate "$3" -enddate "$4" -extensions "$2" -in "server-$1.csr" \
		-out "server-$1.crt" -notext
	cat "server-$1.crt" inter.crt >"chain-$1.pem"
}
leaf good v3_server 20200101000000Z 20351231000000Z
leaf expired v3_server 20200101000000Z 20210101000000Z
leaf notyet v3_server 20990101000000Z 20991230000000Z
leaf otherhost v3_otherhost 20200101000000Z 20351231000000Z
leaf revoked v3_server 20200101000000Z 20351231000000Z
o ca -batch -config ca.cnf -name inter -cert inter.crt -keyfile inter.key \
	-revoke server-revoked.crt -crl_reason keyCompromise

# From the other root (an untrusted chain for the same name).
key server-otherca.key
o req -new -key server-otherca.key -subj /CN=localhost -out server-otherca.csr
o x509 -req -in server-otherca.csr -CA other-root.crt -CAkey other-root.key -set_serial 77 \
	-days 3650 -extfile ca.cnf -extensions v3_server -out server-otherca.crt
cat server-otherca.crt other-root.crt >chain-otherca.pem
# Self-signed.
key server-self.key
o req -new -x509 -key server-self.key -subj /CN=localhost -days 3650 \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -out server-self.crt
cp server-self.crt chain-self.pem

# The OCSP responder's certificate.
key ocsp.key
o req -new -key ocsp.key -subj /CN=voxguard-test-ocsp -out ocsp.csr
o ca -batch -config ca.cnf -name inter -cert inter.crt -keyfile inter.key \
	-startdate 20200101000000Z -enddate 20351231000000Z -extensions v3_ocsp \
	-in ocsp.csr -out ocsp.crt -notext

# CRLs: the intermediate's (lists server-revoked) and the root's (empty),
# both needed with CRL_CHECK_ALL.
o ca -batch -config ca.cnf -name inter -cert inter.crt -keyfile inter.key -gencrl -out inter.crl
o ca -batch -config ca.cnf -name rootca -cert root.crt -keyfile root.key -gencrl -out root.crl
cat inter.crl root.crl >crl.pem
# An expired CRL: issued in 2024, due again in 2025.
o ca -batch -config ca.cnf -name inter -cert inter.crt -keyfile inter.key -gencrl \
	-crl_lastupdate 20240101000000Z -crl_nextupdate 20250101000000Z -out inter-expired.crl
cat inter-expired.crl root.crl >crl-expired.pem

# Stapled responses, made once by the responder's code path.
for n in good revoked; do
	o ocsp -issuer inter.crt -cert "server-$n.crt" -no_nonce -reqout "req-$n.der"
	o ocsp -index index.txt -rsigner ocsp.crt -rkey ocsp.key -CA inter.crt \
		-reqin "req-$n.der" -respout "staple-$n.der" -ndays 7
done
# A stale one (nextUpdate in the past): "good", signed as if in 2024.
faketime '2024-01-01 00:00:00' openssl ocsp -index index.txt -rsigner ocsp.crt \
	-rkey ocsp.key -CA inter.crt -reqin req-good.der -respout staple-stale.der \
	-ndays 1 2>/dev/null

# Client side (mTLS).
key client-ca.key
o req -new -x509 -key client-ca.key -subj /CN=voxguard-client-ca -days 3650 \
	-extensions v3_ca -config ca.cnf -out client-ca.crt
key client.key
o req -new -key client.key -subj /CN=voxguard-device -out client.csr
o x509 -req -in client.csr -CA client-ca.crt -CAkey client-ca.key -set_serial 5 -days 3650 \
	-extfile ca.cnf -extensions v3_client -out client.crt

# SPKI pins (SHA-256 of the DER SubjectPublicKeyInfo).
for c in root inter other-root server-good; do
	o x509 -in "$c.crt" -pubkey -noout | o pkey -pubin -outform DER |
		o dgst -sha256 -r | cut -d' ' -f1 >"spki-$c.hex"
done
touch done
