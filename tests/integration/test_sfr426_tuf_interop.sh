#!/bin/sh
# SFR 4.2.6, AVS 1.1: interoperability of the update client and the
# repository tooling with an independent TUF implementation, tuf-js (and
# @tufjs/models) from the npm registry, pinned by
# tests/interop/tuf/package-lock.json and installed here with `npm ci`:
#   - a repository written by @tufjs/models (with a delegated role) is
#     consumed by `voxguard tuf-client`;
#   - a repository written by `voxguard repo` (after a root key rotation) is
#     consumed by tuf-js's Updater over HTTP on loopback.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
W=$T/work; mkdir -p "$W/npm"
H="env VOXGUARD_SOCKET=/nonexistent $VOXGUARD"
trap 'sh "$VG_SRC/scripts/http-server.sh" stop "$W/http"; cleanup' EXIT INT TERM
cp "$VG_SRC/tests/interop/tuf/package.json" "$VG_SRC/tests/interop/tuf/package-lock.json" \
	"$VG_SRC/tests/interop/tuf/tuf_js.cjs" "$W/npm/"
(cd "$W/npm" && npm ci --no-audit --no-fund --loglevel=error >"$W/npm.log" 2>&1) || {
	cat "$W/npm.log"; echo "not ok - npm ci (tuf-js from the npm registry)"; exit 1; }
J="node $W/npm/tuf_js.cjs"

# 1. tuf-js writes, voxguard reads.
check "SFR 4.2.6 interop: @tufjs/models writes a repository" $J make "$W/tjs"
mkdir -p "$W/c1" "$W/o1"
$H tuf-client --metadata-dir "$W/c1" init "$W/tjs/metadata/1.root.json"
URL=$(sh "$VG_SRC/scripts/http-server.sh" start "$W/http" "$W")
check "SFR 4.2.6 interop: voxguard reads the tuf-js repository (a delegated target and a top-level one)" \
	$H tuf-client --metadata-dir "$W/c1" --metadata-url "$URL/tjs/metadata" \
	--target-name firmware/speaker.bin --target-name notes/release.txt \
	--target-base-url "$URL/tjs/targets" --target-dir "$W/o1" download
check "SFR 4.2.6 interop: the delegated target is tuf-js's" grep -q 'firmware built by tuf-js' "$W/o1/firmware%2Fspeaker.bin"
check "SFR 4.2.6 interop: the delegated role's metadata is trusted and stored" test -s "$W/c1/firmware.json"
printf 'X' | dd of="$W/tjs/targets/firmware/$(ls "$W/tjs/targets/firmware" | head -n 1)" bs=1 seek=0 conv=notrunc 2>/dev/null
rm -f "$W/o1"/*
check_fails "SFR 4.2.6 interop: and a changed byte in it is refused" 1 \
	$H tuf-client --metadata-dir "$W/c1" --metadata-url "$URL/tjs/metadata" \
	--target-name firmware/speaker.bin --target-base-url "$URL/tjs/targets" --target-dir "$W/o1" download

# 2. voxguard writes (and rotates a key), tuf-js reads.
cd "$W"
for r in root timestamp timestamp2 snapshot targets; do
	openssl genpkey -algorithm ED25519 -out $r.key 2>/dev/null
	openssl pkey -in $r.key -pubout -out $r.pub
done
R=$W/vg
$H repo init "$R" --root-key root.pub --targets-key targets.pub --snapshot-key snapshot.pub \
	--timestamp-key timestamp.pub >/dev/null
$H repo sign "$R" root --key root.key >/dev/null
printf 'firmware built by voxguard\n' >fw.bin
$H repo add "$R" --name firmware/speaker.bin fw.bin
$H repo sign "$R" targets --key targets.key >/dev/null
$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
mkdir -p "$W/c2" "$W/o2"
cp "$R/metadata/1.root.json" "$W/c2/root.json"
check "SFR 4.2.6 interop: tuf-js reads a voxguard repository" \
	$J fetch "$URL/vg/metadata" "$URL/vg/targets" "$W/c2" "$W/o2" firmware/speaker.bin
check "SFR 4.2.6 interop: and gets voxguard's target" grep -q 'firmware built by voxguard' "$W/o2/firmware%2Fspeaker.bin"
$H repo root "$R" --role timestamp --add-key timestamp2.pub --remove-key "$($H repo keyid timestamp.pub)" >/dev/null
$H repo sign "$R" root --key root.key >/dev/null
$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp2.key >/dev/null
rm -f "$W/o2"/*
check "SFR 4.2.6 interop: tuf-js follows voxguard's root rotation" \
	sh -c "$J fetch '$URL/vg/metadata' '$URL/vg/targets' '$W/c2' '$W/o2' firmware/speaker.bin && grep -q '\"version\": 2' '$W/c2/root.json'"
finish
