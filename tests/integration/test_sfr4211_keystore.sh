#!/bin/sh
# SFR 4.2.11 (cryptographic keystore), through the real CLI and service:
# keys generated inside the service, used by name, standard signatures that
# OpenSSL verifies, usage policies enforced and audited, no export of
# private or secret material.
. "$(dirname "$0")/lib.sh"
setup_users
start_daemon
W=$T/work; mkdir -p "$W"
# json_has FILE EXPR: FILE is one JSON document d for which EXPR holds.
json_has() { python3 -c "import json,sys; d=json.load(sys.stdin); assert $2, d" <"$1"; }
printf 'the quick brown fox' >"$W/msg"

for t in p256 ed25519 aes256 hmac256; do
	check "SFR 4.2.11: create a $t key" vg key create "k-$t" --type "$t"
done
check_fails "SFR 4.2.11: creating a key twice is refused" 2 vg key create k-p256 --type p256
check "SFR 4.2.11: key list shows all four" sh -c "'$VOXGUARD' --socket '$SOCK' key list | grep -c '^k-' | grep -qx 4"
check "SFR 4.2.11: key info shows type and usage" sh -c "'$VOXGUARD' --socket '$SOCK' key info k-p256 | grep -q 'p256.*sign,verify'"
vg key list --json >"$W/keys.json"
check "SFR 4.2.11: key list --json: the four keys with their types" json_has "$W/keys.json" \
	'sorted((k["name"], k["type"]) for k in d["keys"]) == [("k-aes256", "aes256"), ("k-ed25519", "ed25519"), ("k-hmac256", "hmac256"), ("k-p256", "p256")]'
check "SFR 4.2.11: key list --json: usage, owner and creation time" json_has "$W/keys.json" \
	'{k["name"]: k["usage"] for k in d["keys"]}["k-aes256"] == ["encrypt", "decrypt"] and all(k["owner_uid"] == '"$(id -u)"' and type(k["created"]) is int and k["created"] > 1700000000 for k in d["keys"])'
vg key info k-p256 --json >"$W/key.json"
check "SFR 4.2.11: key info --json: one object, the key's type and usage" json_has "$W/key.json" \
	'd["name"] == "k-p256" and d["type"] == "p256" and d["usage"] == ["sign", "verify", "derive"]'
rc=0; vg key info no-such-key --json >"$W/nokey.json" 2>"$W/nokey.err" || rc=$?
check "SFR 4.2.11: key info --json of a missing key: exit 2, the error on stderr only" \
	sh -c "[ $rc = 2 ] && [ ! -s '$W/nokey.json' ] && grep -q 'not found' '$W/nokey.err'"

# P-256: DER ECDSA over SHA-256, verified by openssl dgst.
vg key public k-p256 >"$W/p256.pem"
vg key sign k-p256 --in "$W/msg" --out "$W/p256.sig"
check "SFR 4.2.11: openssl dgst -sha256 -verify accepts the P-256 signature" \
	openssl dgst -sha256 -verify "$W/p256.pem" -signature "$W/p256.sig" "$W/msg"
check "SFR 4.2.11: key verify accepts it (exit 0)" vg key verify k-p256 --in "$W/msg" --sig "$W/p256.sig"
printf 'the quick brown fix' >"$W/msg2"
check_fails "SFR 4.2.11: key verify rejects another message (exit 1)" 1 vg key verify k-p256 --in "$W/msg2" --sig "$W/p256.sig"
check_fails "SFR 4.2.11: openssl rejects it too" 1 openssl dgst -sha256 -verify "$W/p256.pem" -signature "$W/p256.sig" "$W/msg2"

# Ed25519: pure EdDSA, verified by openssl pkeyutl -rawin.
vg key public k-ed25519 >"$W/ed.pem"
vg key sign k-ed25519 --in "$W/msg" --out "$W/ed.sig"
check "SFR 4.2.11: Ed25519 signature is 64 bytes" test "$(wc -c <"$W/ed.sig")" -eq 64
check "SFR 4.2.11: openssl verifies the Ed25519 signature" \
	openssl pkeyutl -verify -pubin -inkey "$W/ed.pem" -rawin -in "$W/msg" -sigfile "$W/ed.sig"
check_fails "SFR 4.2.11: a flipped Ed25519 signature is invalid (exit 1)" 1 sh -c \
	"printf '\\377' | dd of='$W/ed.sig' bs=1 seek=10 conv=notrunc 2>/dev/null; '$VOXGUARD' --socket '$SOCK' key verify k-ed25519 --in '$W/msg' --sig '$W/ed.sig'"

# AES-256-GCM.
head -c 100000 /dev/urandom >"$W/plain"
vg key encrypt k-aes256 --in "$W/plain" --out "$W/ct"
vg key decrypt k-aes256 --in "$W/ct" --out "$W/back"
check "SFR 4.2.11: AES-256-GCM roundtrip" cmp "$W/plain" "$W/back"
check "SFR 4.2.11: the ciphertext is not the plaintext" sh -c "! cmp -s '$W/plain' '$W/ct'"
printf '\001' | dd of="$W/ct" bs=1 seek=40 conv=notrunc 2>/dev/null
check_fails "SFR 4.2.11: a flipped ciphertext byte is an integrity error" 2 vg key decrypt k-aes256 --in "$W/ct" --out "$W/back2"
check "SFR 4.2.11: and no plaintext is written" test ! -e "$W/back2"

# HMAC-SHA256.
m1=$(vg key mac k-hmac256 --in "$W/msg")
m2=$(vg key mac k-hmac256 --in "$W/msg")
check "SFR 4.2.11: HMAC is 32 bytes, deterministic" sh -c "[ ${#m1} -eq 64 ] && [ '$m1' = '$m2' ]"

# Usage policies fixed at creation.
check "SFR 4.2.11: create a verify-only P-256 key" vg key create vonly --type p256 --usage verify
check_fails "SFR 4.2.11: signing with a verify-only key is refused" 2 vg key sign vonly --in "$W/msg" --out "$W/x.sig"
check_fails "SFR 4.2.11: encrypt usage on a P-256 key is refused at creation" 2 vg key create bad --type p256 --usage encrypt
check_fails "SFR 4.2.11: encrypting with a signing key is refused" 2 vg key encrypt k-p256 --in "$W/msg" --out "$W/x"
check_fails "SFR 4.2.11: a symmetric key has no public part" 2 vg key public k-aes256

# No private or secret export exists, in the CLI or the protocol.
check "SFR 4.2.11: no CLI command exports private keys" sh -c \
	"! '$VOXGUARD' key 2>&1 | grep -Eiq 'export|private|secret'"
check "SFR 4.2.11: key public prints only a PUBLIC KEY" sh -c \
	"'$VOXGUARD' --socket '$SOCK' key public k-p256 | grep -q 'BEGIN PUBLIC KEY' && ! '$VOXGUARD' --socket '$SOCK' key public k-p256 | grep -q PRIVATE"

# Delete.
check "SFR 4.2.11: delete a key" vg key delete k-hmac256
check_fails "SFR 4.2.11: a deleted key cannot be used" 2 vg key mac k-hmac256 --in "$W/msg"

# Keys survive a restart, and signatures still verify.
stop_daemon
start_daemon
vg key sign k-p256 --in "$W/msg" --out "$W/p256b.sig"
check "SFR 4.2.11: keys persist across a restart" \
	openssl dgst -sha256 -verify "$W/p256.pem" -signature "$W/p256b.sig" "$W/msg"

# The refusals above are audit events.
vg log export --out "$W/log.vgl"
vg log show --in "$W/log.vgl" >"$W/log.txt" || true
check "SFR 4.2.9/4.2.11: a usage-policy refusal is an audit event" grep -q 'key.policy_denied' "$W/log.txt"
check "SFR 4.2.9/4.2.11: key creation is an audit event" grep -q 'key.create' "$W/log.txt"
check "SFR 4.2.9/4.2.11: key deletion is an audit event" grep -q 'key.delete' "$W/log.txt"
stop_daemon
finish
