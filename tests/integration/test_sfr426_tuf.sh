#!/bin/sh
# SFR 4.2.6 (secure update: integrity and authenticity of what is fetched),
# AVS 1.1 (signed updates): a TUF repository made with `voxguard repo`, served
# by a static HTTP server on loopback (scripts/http-server.sh), read by the
# update client through the TUF conformance suite's command-line protocol
# (`voxguard tuf-client`). The attacks TUF names, at the command line:
# arbitrary software, rollback, indefinite freeze (under faketime), endless
# data, mix-and-match, compromised and rotated keys, wrong threshold.
# (Delegations and extraneous dependencies: tests/test_update_tuf.c.)
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
W=$T/work; mkdir -p "$W"
H="env VOXGUARD_SOCKET=/nonexistent $VOXGUARD"
trap 'sh "$VG_SRC/scripts/http-server.sh" stop "$W/http"; cleanup' EXIT INT TERM
cd "$W"
for r in root root2 timestamp timestamp2 snapshot targets targets2; do
	openssl genpkey -algorithm ED25519 -out $r.key 2>/dev/null
	openssl pkey -in $r.key -pubout -out $r.pub
done
R=$W/repo
check "AVS 1.1: repo init stages root and targets" $H repo init "$R" --root-key root.pub \
	--targets-key targets.pub --snapshot-key snapshot.pub --timestamp-key timestamp.pub
check_fails "AVS 1.1: publish refuses an unsigned root" 2 $H repo publish "$R" \
	--snapshot-key snapshot.key --timestamp-key timestamp.key
$H repo sign "$R" root --key root.key >/dev/null
printf 'firmware 1.0\n' >fw1.bin
$H repo add "$R" --name firmware/speaker.bin fw1.bin
check_fails "AVS 1.1: publish refuses targets nobody signed" 2 $H repo publish "$R" \
	--snapshot-key snapshot.key --timestamp-key timestamp.key
check_fails "AVS 1.1: a targets signature by the wrong key does not count" 2 sh -c \
	"$H repo sign '$R' targets --key snapshot.key && $H repo publish '$R' --snapshot-key snapshot.key --timestamp-key timestamp.key"
$H repo sign "$R" targets --key targets.key >/dev/null
check "AVS 1.1: publish signs snapshot and timestamp and checks the result as a client" \
	$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp.key
check_fails "AVS 1.1: a snapshot key that is not the root's is refused" 2 \
	$H repo expire "$R" --timestamp-key snapshot.key

URL=$(sh "$VG_SRC/scripts/http-server.sh" start "$W/http" "$R")
C=$W/client; O=$W/out; mkdir -p "$C" "$O"
T_() { $H tuf-client --metadata-dir "$C" --metadata-url "$URL/metadata" "$@"; }
DL() { T_ --target-name firmware/speaker.bin --target-base-url "$URL/targets" --target-dir "$O" download; }
check "SFR 4.2.6: tuf-client init with the trusted root" $H tuf-client --metadata-dir "$C" init "$R/metadata/1.root.json"
check "SFR 4.2.6: refresh over HTTP" T_ refresh
check "SFR 4.2.6: the trusted metadata is stored under plain names" test -s "$C/timestamp.json" -a -s "$C/snapshot.json" -a -s "$C/targets.json"
check "SFR 4.2.6: download a target" DL
check "SFR 4.2.6: the target is what was published" cmp "$O/firmware%2Fspeaker.bin" fw1.bin

# Arbitrary software: the server's file replaced.
printf 'firmware 6.6\n' >fw-evil.bin
f=$(ls "$R"/targets/firmware/*.speaker.bin)
cp "$f" "$W/good-target"; cp fw-evil.bin "$f"; rm -f "$O"/*
check_fails "SFR 4.2.6 arbitrary software: a replaced target is refused (exit 1)" 1 DL
check "SFR 4.2.6 arbitrary software: and nothing is written" sh -c "[ -z \"\$(ls '$O')\" ]"
head -c 100000 /dev/urandom >"$f"
check_fails "SFR 4.2.6 endless data: a longer target is refused" 1 DL
cp "$W/good-target" "$f"
check "SFR 4.2.6: the genuine target downloads again" DL

# Rollback: an older timestamp after a newer one was seen.
cp "$R/metadata/timestamp.json" "$W/ts-v1.json"
$H repo expire "$R" --timestamp-key timestamp.key >/dev/null
check "SFR 4.2.6: a new timestamp is accepted" T_ refresh
cp "$W/ts-v1.json" "$R/metadata/timestamp.json"
check_fails "SFR 4.2.6 rollback: an older timestamp is refused" 1 T_ refresh
$H repo expire "$R" --timestamp-key timestamp.key >/dev/null
$H repo expire "$R" --timestamp-key timestamp.key >/dev/null

# Indefinite freeze: the timestamp (1 day) seen 3 days later.
check_fails "SFR 4.2.6 freeze: expired metadata is refused (faketime +3 days)" 1 faketime -f '+3d' $H tuf-client --metadata-dir "$C" --metadata-url "$URL/metadata" refresh
check "SFR 4.2.6: today it is fine" T_ refresh

# Endless data: a huge timestamp.json.
cp "$R/metadata/timestamp.json" "$W/ts-good.json"
head -c 300000 /dev/zero | tr '\0' ' ' >"$R/metadata/timestamp.json"
check_fails "SFR 4.2.6 endless data: an oversized timestamp is refused" 1 T_ refresh
cp "$W/ts-good.json" "$R/metadata/timestamp.json"

# Mix-and-match: a snapshot of another version under the name the timestamp gives.
$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
n=$(ls "$R"/metadata/*.snapshot.json | wc -l)
cp "$R/metadata/$n.snapshot.json" "$W/snap-good.json"
cp "$R/metadata/1.snapshot.json" "$R/metadata/$n.snapshot.json"
rm -f "$C/snapshot.json"
check_fails "SFR 4.2.6 mix-and-match: a snapshot other than the one the timestamp names is refused" 1 T_ refresh
cp "$W/snap-good.json" "$R/metadata/$n.snapshot.json"
check "SFR 4.2.6: the right snapshot is accepted" T_ refresh

# A new release.
printf 'firmware 2.0\n' >fw2.bin
$H repo add "$R" --name firmware/speaker.bin fw2.bin >add.out
$H repo sign "$R" targets --key targets.key >sign.out
check "AGD_OPE.1: repo add says what it added and what comes next" \
	grep -q '^added target firmware/speaker.bin (from fw2.bin) to .*: sign targets, then publish' add.out
check "AGD_OPE.1: repo sign says which role it signed" grep -q '^signed the staged targets metadata of ' sign.out
$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
check "SFR 4.2.6: a new release downloads" sh -c "$H tuf-client --metadata-dir '$C' --metadata-url '$URL/metadata' --target-name firmware/speaker.bin --target-base-url '$URL/targets' --target-dir '$O' download >dl.out && cmp '$O/firmware%2Fspeaker.bin' fw2.bin"
check "AGD_OPE.1: the download says where the target was saved (its escaped name)" \
	grep -qF "firmware/speaker.bin: verified, saved as $O/firmware%2Fspeaker.bin" dl.out

# Compromised and rotated keys: the timestamp key is replaced.
OLD=$($H repo keyid timestamp.pub)
$H repo root "$R" --role timestamp --add-key timestamp2.pub --remove-key "$OLD" >/dev/null
check_fails "AVS 1.1: a new root signed by nobody is not published" 2 $H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key
$H repo sign "$R" root --key root.key >/dev/null
check "AVS 1.1: the rotated root (signed by the root key) is published" \
	$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key
check "SFR 4.2.6 key rotation: the client follows the root to version 2" sh -c "$H tuf-client --metadata-dir '$C' --metadata-url '$URL/metadata' refresh && grep -q '\"version\": 2' '$C/root.json'"
check_fails "SFR 4.2.6 compromised key: a timestamp signed by the revoked key is refused" 2 \
	$H repo expire "$R" --timestamp-key timestamp.key
# The attacker writes one anyway, with the old key's signature.
cp "$R/metadata/timestamp.json" "$W/ts-rot.json"
cp "$W/ts-good.json" "$R/metadata/timestamp.json"
check_fails "SFR 4.2.6 compromised key: the client refuses the revoked key's timestamp" 1 T_ refresh
cp "$W/ts-rot.json" "$R/metadata/timestamp.json"

# Root rotation to a new root key: the new root needs the old key AND the new.
$H repo root "$R" --role root --add-key root2.pub --remove-key "$($H repo keyid root.pub)" >/dev/null
$H repo sign "$R" root --key root2.key >/dev/null
check_fails "SFR 4.2.6: a root signed only by its new key is not published" 2 \
	$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key
$H repo sign "$R" root --key root.key >/dev/null
check "SFR 4.2.6: signed by the old and the new root keys it is" \
	$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key
check "SFR 4.2.6: the client follows it" sh -c "$H tuf-client --metadata-dir '$C' --metadata-url '$URL/metadata' refresh && grep -q '\"version\": 3' '$C/root.json'"

# Wrong threshold: targets needs 2 of 2 keys.
$H repo root "$R" --role targets --add-key targets2.pub --threshold 2 >/dev/null
$H repo sign "$R" root --key root2.key >/dev/null
check_fails "SFR 4.2.6 threshold: a root that raises the threshold cannot leave targets under it" 2 \
	$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key
printf 'firmware 3.0\n' >fw3.bin
$H repo add "$R" --name firmware/speaker.bin fw3.bin
$H repo sign "$R" targets --key targets.key >/dev/null
check_fails "SFR 4.2.6 threshold: one of two required targets signatures is refused" 2 \
	$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key
$H repo sign "$R" targets --key targets2.key >/dev/null
check "SFR 4.2.6 threshold: two of two are accepted" \
	$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key
check "SFR 4.2.6: and the client gets release 3.0" sh -c "$H tuf-client --metadata-dir '$C' --metadata-url '$URL/metadata' --target-name firmware/speaker.bin --target-base-url '$URL/targets' --target-dir '$O' download && cmp '$O/firmware%2Fspeaker.bin' fw3.bin"
check "SFR 4.2.6: a USB stick (a plain directory) works as the repository" \
	sh -c "$H tuf-client --metadata-dir '$C' --metadata-url '$R/metadata' refresh"
finish
