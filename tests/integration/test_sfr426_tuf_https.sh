#!/bin/sh
# SFR 4.2.6, AVS 1.1: the update client over HTTPS (libcurl on OpenSSL):
# TLS 1.2 or newer, the server's certificate checked against the pinned CA
# (--ca-file) or the system's trust store, the host name checked, and no
# redirect from HTTPS down to plain HTTP. Test servers on loopback
# (scripts/http-server.sh, Debian's python3), each with a control that
# shows the failure is the one named.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
W=$T/work; mkdir -p "$W"
H="env VOXGUARD_SOCKET=/nonexistent $VOXGUARD"
S="sh $VG_SRC/scripts/http-server.sh"
stop_all() { for s in http good short old other redir; do $S stop "$W/$s"; done; }
trap 'stop_all; cleanup' EXIT INT TERM
cd "$W"

# A TUF repository, its timestamp valid for 10 days (the faketime check).
for r in root timestamp snapshot targets; do
	openssl genpkey -algorithm ED25519 -out $r.key 2>/dev/null
	openssl pkey -in $r.key -pubout -out $r.pub
done
R=$W/repo
$H repo init "$R" --root-key root.pub --targets-key targets.pub --snapshot-key snapshot.pub \
	--timestamp-key timestamp.pub >/dev/null
$H repo sign "$R" root --key root.key >/dev/null
printf 'firmware over TLS\n' >fw.bin
$H repo add "$R" --name firmware/speaker.bin fw.bin >/dev/null
$H repo sign "$R" targets --key targets.key >/dev/null
$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
$H repo expire "$R" --timestamp-key timestamp.key --days 10 >/dev/null

# The OEM's update CA, another CA, and server certificates for 127.0.0.1.
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
	-out "$1.pem" -days 30 -subj "/CN=$1" 2>/dev/null; }
leaf() { # leaf NAME CA DAYS
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-out "$1.csr" -subj "/CN=updates" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days "$3" \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
ca oem-ca; ca other-ca
leaf good oem-ca 30; leaf short oem-ca 2; leaf other other-ca 30

PLAIN=$($S start "$W/http" "$R")
GOOD=$($S start "$W/good" "$R" good.pem good.key)
SHORT=$($S start "$W/short" "$R" short.pem short.key)
OLD=$($S start "$W/old" "$R" good.pem good.key tls1.1)
OTHER=$($S start "$W/other" "$R" other.pem other.key)
REDIR=$($S start "$W/redir" "$R" good.pem good.key "redirect=$PLAIN")

C=$W/client; mkdir -p "$C"
$H tuf-client --metadata-dir "$C" init "$R/metadata/1.root.json"
TC() { # TC BASE [faketime] : refresh and download from BASE with the OEM CA pinned
	base=$1; shift
	rm -f "$C/timestamp.json" "$C/snapshot.json" "$C/targets.json" out/*
	mkdir -p out
	"$@" $H tuf-client --metadata-dir "$C" --metadata-url "$base/metadata" --ca-file oem-ca.pem \
		--target-name firmware/speaker.bin --target-base-url "$base/targets" --target-dir out download
}
ERR=$W/err
TCE() { TC "$@" 2>"$ERR"; }

check "SFR 4.2.6: refresh and download over HTTPS with the OEM's CA pinned" TC "$GOOD"
check "SFR 4.2.6: ... the target is the published one" cmp out/firmware%2Fspeaker.bin fw.bin
check_fails "SFR 4.2.6: without the pinned CA the system's trust store does not know the server" 1 \
	$H tuf-client --metadata-dir "$C" --metadata-url "$GOOD/metadata" refresh
check_fails "SFR 4.2.6: a server with a certificate from another CA is refused" 1 TCE "$OTHER"
check "SFR 4.2.6: ... because of its certificate" grep -qi 'certificate' "$ERR"
check "(control: that server works for a client that pins its CA)" sh -c \
	"$H tuf-client --metadata-dir '$C' --metadata-url '$OTHER/metadata' --ca-file other-ca.pem refresh"
LOCALHOST=$(echo "$GOOD" | sed 's/127\.0\.0\.1/localhost/')
check_fails "SFR 4.2.6: a certificate for another host name is refused" 1 TCE "$LOCALHOST"
check "SFR 4.2.6: ... because of the host name" grep -Eqi "name|match|subject" "$ERR"
check_fails "SFR 4.2.6: a server that speaks only TLS 1.0/1.1 is refused" 1 TCE "$OLD"
check "(control: that server does answer a TLS 1.1 handshake)" sh -c \
	"echo | openssl s_client -connect '${OLD#https://}' -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1 | grep -q 'Protocol *: TLSv1.1'"
check_fails "SFR 4.2.6: an expired server certificate is refused (faketime +3 days)" 1 \
	TCE "$SHORT" faketime -f +3d
check "(control: the same client 3 days on accepts a valid certificate)" TC "$GOOD" faketime -f +3d
check_fails "SFR 4.2.6: a redirect from HTTPS down to plain HTTP is not followed" 1 TCE "$REDIR"
check "(control: the plain HTTP server it points to serves the repository)" sh -c \
	"$H tuf-client --metadata-dir '$C' --metadata-url '$PLAIN/metadata' refresh"
finish
