#!/bin/sh
# SFR 4.2.1, 4.2.2, 4.2.3: factory provisioning, device identity and
# attestation of genuineness through the CLI against a real service; every
# token is checked by voxguard's own offline verifier and by an
# independent one (Node's crypto, tests/interop/verify_psa_token.mjs).
# Attacks: a token for another nonce (replay), a wrong nonce, a token
# signed by another device, a tampered token, a changed component against
# the reference values, provisioning twice, provisioning by a non-admin.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
command -v node >/dev/null || { echo "node is missing: scripts/install-deps.sh installs nodejs"; exit 1; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
if [ "$IS_ROOT" = 1 ]; then
	ADMIN="as vgcarol"; USER="as vgalice"; USER_UID=$(id -u vgalice)
else
	ADMIN=""; USER=""; USER_UID=$(id -u)
fi
NODECHK="node $VG_SRC/tests/interop/verify_psa_token.mjs"
VT() { VOXGUARD_SOCKET=/nonexistent "$VOXGUARD" verify-token "$@"; }
N1=$(openssl rand -hex 32)
N2=$(openssl rand -hex 64)

start_daemon
check "SFR 4.2.1: identity before provisioning shows the provisioning lifecycle" \
	sh -c "$V identity | grep -q 'psa-rot-provisioning'"
check_fails "SFR 4.2.3: no token before provisioning" 2 $V attest --nonce "$N1" --out "$W/t0"
if [ "$IS_ROOT" = 1 ]; then
	check_fails "SFR 4.2.1: a non-admin cannot provision" 2 as vgbob $V provision --oem Acme \
		--model "Echo One" --hw-rev B2 --setup-code-out "$W/bob-code"
fi
check "SFR 4.2.1: the factory provisions the device (with a CSR)" $ADMIN $V provision \
	--oem Acme --model "Echo One" --hw-rev B2 --setup-code-out "$W/code" \
	--verification-service https://verify.acme.example --csr-out "$W/id.csr"
check "AVS 1.2: the setup code file is mode 0600" sh -c "[ \"\$(stat -c %a '$W/code')\" = 600 ]"
check "AVS 1.2: the setup code is 16 random characters in groups of 4" \
	grep -Eq '^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}$' "$W/code"
check_fails "SFR 4.2.1: provisioning twice is refused" 2 $ADMIN $V provision --oem Evil \
	--model X --hw-rev 1 --setup-code-out "$W/code2"
check "SFR 4.2.1: a refused provisioning writes no setup code" test ! -e "$W/code2"

$V identity --json >"$W/identity.json"
for k in instance_id implementation_id lifecycle components; do
	check "SFR 4.2.2: identity --json has $k" grep -q "\"$k\"" "$W/identity.json"
done
check "SFR 4.2.1: the components are the measured voxguard binaries" \
	sh -c "grep -q '\"voxguardd\"' '$W/identity.json' && grep -q '\"measurement_value\"' '$W/identity.json'"
check "SFR 4.2.2: lifecycle is secured after provisioning" grep -q '"secured"' "$W/identity.json"
$V identity --public-key >"$W/pub.pem"
check "SFR 4.2.2: identity --public-key prints a P-256 public key" \
	sh -c "openssl pkey -pubin -in '$W/pub.pem' -noout -text | grep -q 'prime256v1\|P-256'"
check "SFR 4.2.2: the CSR for the device identity key verifies" \
	openssl req -in "$W/id.csr" -verify -noout

# The OEM CA signs the CSR; the device stores the certificate.
openssl ecparam -name prime256v1 -genkey -noout -out "$W/ca.key" 2>/dev/null
openssl req -x509 -new -key "$W/ca.key" -subj /CN=Acme-Device-CA -days 30 -out "$W/ca.pem"
openssl x509 -req -in "$W/id.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
	-days 30 -out "$W/id.crt" 2>/dev/null
check_fails "SFR 4.2.2: a certificate for another key is refused" 2 $ADMIN $V identity --set-cert "$W/ca.pem"
check "SFR 4.2.2: the issued certificate is stored" $ADMIN $V identity --set-cert "$W/id.crt"
$V identity --cert >"$W/back.crt"
check "SFR 4.2.2: the stored certificate chains to the OEM CA" \
	openssl verify -CAfile "$W/ca.pem" "$W/back.crt"

# Attestation by an ordinary app (no authentication needed).
check "SFR 4.2.3: an app gets a token for a 32-byte nonce" $USER $V attest --nonce "$N1" --out "$W/t1"
check "SFR 4.2.3: and for a 64-byte nonce" $USER $V attest --nonce "$N2" --out "$W/t2"
check_fails "SFR 4.2.3: a 16-byte nonce is refused" 2 $USER $V attest --nonce "$(openssl rand -hex 16)" --out "$W/t3"
check "SFR 4.2.3: voxguard verify-token accepts it with the reference values" \
	VT "$W/t1" --key "$W/pub.pem" --nonce "$N1" --reference "$W/identity.json"
VT "$W/t1" --key "$W/pub.pem" --nonce "$N1" --json >"$W/claims.json"
check "SFR 4.2.3: the token names the calling app as client ID -1-uid" \
	grep -q "\"client_id\":-$((USER_UID + 1))," "$W/claims.json"
check "SFR 4.2.3: the token carries the verification service" \
	grep -q '"verification_service":"https://verify.acme.example"' "$W/claims.json"
check "SFR 4.2.3: the token carries a boot seed" grep -q '"boot_seed":"' "$W/claims.json"
check "SFR 4.2.3: an independent verifier (Node crypto) accepts the 32-byte-nonce token" \
	$NODECHK "$W/t1" "$W/pub.pem" "$N1"
check "SFR 4.2.3: and the 64-byte-nonce token" $NODECHK "$W/t2" "$W/pub.pem" "$N2"
check_fails "SFR 4.2.3: Node refuses the token for another nonce" 1 $NODECHK "$W/t1" "$W/pub.pem" "$N2"

# Attacks.
check_fails "SFR 4.2.3: a replayed token (old nonce) is refused" 1 VT "$W/t1" --key "$W/pub.pem" --nonce "$(openssl rand -hex 32)"
check_fails "SFR 4.2.3: a wrong nonce of another size is refused" 1 VT "$W/t2" --key "$W/pub.pem" --nonce "$N1"
size=$(wc -c <"$W/t1")
cp "$W/t1" "$W/bad"
printf '\001' | dd of="$W/bad" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
check_fails "SFR 4.2.3: a token with a flipped signature byte is refused" 1 VT "$W/bad" --key "$W/pub.pem" --nonce "$N1"
check_fails "SFR 4.2.3: Node refuses it too" 1 $NODECHK "$W/bad" "$W/pub.pem" "$N1"
# A reference that no longer matches: the first hex digit of every
# measurement changed (0 -> 1, anything else -> 0).
sed -e 's/"measurement_value": "0/"measurement_value": "Q/g' \
	-e 's/"measurement_value": "[1-9a-f]/"measurement_value": "0/g' \
	-e 's/"measurement_value": "Q/"measurement_value": "1/g' "$W/identity.json" >"$W/ref-changed.json"
check "the changed reference differs" sh -c "! cmp -s '$W/identity.json' '$W/ref-changed.json'"
check_fails "SFR 4.2.3: components that differ from the reference values are refused" 1 \
	VT "$W/t1" --key "$W/pub.pem" --nonce "$N1" --reference "$W/ref-changed.json"
printf '{"components": 5}' >"$W/ref-bad.json"
check_fails "SFR 4.2.3: a malformed reference file is an error (exit 2)" 2 \
	VT "$W/t1" --key "$W/pub.pem" --nonce "$N1" --reference "$W/ref-bad.json"
stop_daemon

# Another device (another state dir): its tokens do not verify with ours.
STATE=$T/state2; RUN=$T/run2; SOCK=$RUN/vg.sock; V="$VOXGUARD --socket $SOCK"
start_daemon
$ADMIN $V provision --oem Acme --model "Echo One" --hw-rev B2 --setup-code-out "$W/code-b" >/dev/null
$USER $V attest --nonce "$N1" --out "$W/t-other"
check_fails "SFR 4.2.3: a token signed by another device is refused (voxguard)" 1 VT "$W/t-other" --key "$W/pub.pem" --nonce "$N1"
check_fails "SFR 4.2.3: a token signed by another device is refused (Node)" 1 $NODECHK "$W/t-other" "$W/pub.pem" "$N1"
$V identity --json >"$W/identity-b.json"
check "SFR 4.2.1: same product, same implementation ID" sh -c \
	"[ \"\$(grep -o '\"implementation_id\": \"[0-9a-f]*' '$W/identity.json')\" = \"\$(grep -o '\"implementation_id\": \"[0-9a-f]*' '$W/identity-b.json')\" ]"
check "SFR 4.2.2: another device, another instance ID" sh -c \
	"[ \"\$(grep -o '\"instance_id\": \"[0-9a-f]*' '$W/identity.json')\" != \"\$(grep -o '\"instance_id\": \"[0-9a-f]*' '$W/identity-b.json')\" ]"
check "AVS 1.2: every device gets its own setup code" sh -c "! cmp -s '$W/code' '$W/code-b'"
stop_daemon

# The first device after a restart: same identity, still provisioned.
STATE=$T/state; RUN=$T/run; SOCK=$RUN/vg.sock; V="$VOXGUARD --socket $SOCK"
start_daemon
$V identity --public-key >"$W/pub-again.pem"
check "SFR 4.2.2: the attestation key survives a restart" cmp -s "$W/pub.pem" "$W/pub-again.pem"
check_fails "SFR 4.2.1: and provisioning is still refused" 2 $ADMIN $V provision --oem Acme \
	--model "Echo One" --hw-rev B2 --setup-code-out "$W/code3"
stop_daemon
finish
