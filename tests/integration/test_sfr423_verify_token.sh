#!/bin/sh
# SFR 4.2.3: the offline verifier of PSA attestation tokens, through the
# CLI, on the public vectors (RFC 9783 Appendix A; Trusted Firmware-M
# tokens of the older profiles). Needs no service.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
V=$VG_SRC/tests/vectors/psa
W=$T/work; mkdir -p "$W"
VT() { VOXGUARD_SOCKET=/nonexistent "$VOXGUARD" verify-token "$@"; }

nonce=$(VT "$V/psa-sign1.cbor" --key "$V/tfm-es-iak.pem" --json 2>/dev/null |
	grep -o '"nonce":"[0-9a-f]*"' | cut -d'"' -f4)
check "SFR 4.2.3: the RFC 9783 token verifies with its key and nonce (no service)" \
	VT "$V/psa-sign1.cbor" --key "$V/tfm-es-iak.pem" --nonce "$nonce"
VT "$V/psa-sign1.cbor" --key "$V/tfm-es-iak.pem" --nonce "$nonce" --json >"$W/claims.json"
for k in instance_id implementation_id lifecycle nonce profile; do
	check "SFR 4.2.3: --json prints the $k claim" grep -q "\"$k\"" "$W/claims.json"
done
other=$(printf '%064d' 0)
check_fails "SFR 4.2.3: a wrong nonce is refused (exit 1)" 1 VT "$V/psa-sign1.cbor" --key "$V/tfm-es-iak.pem" --nonce "$other"
check_fails "SFR 4.2.3: a token signed by another device's key is refused (exit 1)" 1 \
	VT "$V/psa-sign1.cbor" --key "$V/veraison-key.pem" --nonce "$nonce"
size=$(wc -c <"$V/psa-sign1.cbor")
caught=0; off=0
while [ $off -lt "$size" ]; do
	cp "$V/psa-sign1.cbor" "$W/t.cbor"
	b=$(od -An -tu1 -j $off -N1 "$W/t.cbor" | tr -d ' ')
	printf "\\$(printf '%03o' $(( (b + 1) % 256 )))" | dd of="$W/t.cbor" bs=1 seek=$off conv=notrunc 2>/dev/null
	set +e; VT "$W/t.cbor" --key "$V/tfm-es-iak.pem" --nonce "$nonce" >/dev/null 2>&1; rc=$?; set -e
	[ $rc -eq 1 ] && caught=$((caught + 1))
	off=$((off + 7))
done
tried=$(( (size + 6) / 7 ))
check "SFR 4.2.3: every tampered copy is refused ($caught of $tried)" test "$caught" -eq "$tried"
head -c $((size - 1)) "$V/psa-sign1.cbor" >"$W/trunc.cbor"
check_fails "SFR 4.2.3: a truncated token is refused (exit 1)" 1 VT "$W/trunc.cbor" --key "$V/tfm-es-iak.pem"
check "SFR 4.2.3: a Trusted Firmware-M token of profile arm.com/psa/2.0.0 verifies and is labelled" \
	sh -c "VOXGUARD_SOCKET=/nonexistent '$VOXGUARD' verify-token '$V/veraison-psa-2_0_0_sign1.bin' --key '$V/veraison-key.pem' 2>/dev/null | grep -q 'psa/2.0.0'"
check "SFR 4.2.3: a PSA_IOT_PROFILE_1 token verifies and is labelled" \
	sh -c "VOXGUARD_SOCKET=/nonexistent '$VOXGUARD' verify-token '$V/veraison-psa-iot-1_sign1.bin' --key '$V/veraison-key.pem' 2>/dev/null | grep -q 'PSA_IOT_PROFILE_1'"
check_fails "SFR 4.2.3: a bad --nonce length is a usage error (exit 2)" 2 VT "$V/psa-sign1.cbor" --key "$V/tfm-es-iak.pem" --nonce 0011
finish
