#!/bin/sh
# SFR 4.2.6 (secure update), AVS 1.1, threat A.3.3: the trusted TUF root
# metadata lives in voxguardd's sealed store, not in a file the update
# agent reads. It is installed at the factory (`provision --tuf-root`),
# every `voxguard update check|download|install --repo` starts from it, and
# each new root version a rotation finds is handed to the service, which
# verifies the rotation itself (a threshold of the trusted keys and of the
# new ones, the next version only) before it replaces the sealed record.
# Attacks: a root.json planted in the agent's metadata directory, a
# repository signed by other keys, a rotated root signed only by its new
# key (served, and handed to the service directly), a replayed old root,
# a root with a broken signature, garbage; the record survives a restart
# and a factory reset; an ordinary user can neither read nor replace it.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
setup_users
W=$T/work; mkdir -p "$W"; chmod 755 "$W"
H="env VOXGUARD_SOCKET=/nonexistent $VOXGUARD" # the build host
V="$VOXGUARD --socket $SOCK"                   # the update agent (root)
trap 'sh "$VG_SRC/scripts/http-server.sh" stop "$W/http"; sh "$VG_SRC/scripts/http-server.sh" stop "$W/https"; cleanup' EXIT INT TERM
cd "$W"
for r in root root2 evil timestamp snapshot targets; do
	openssl genpkey -algorithm ED25519 -out $r.key 2>/dev/null
	openssl pkey -in $r.key -pubout -out $r.pub
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rel.key 2>/dev/null
openssl pkey -in rel.key -pubout -out rel.pub

# The OEM's repository, and an attacker's with the same layout.
R=$W/repo; E=$W/evil-repo
$H repo init "$R" --root-key root.pub --targets-key targets.pub --snapshot-key snapshot.pub \
	--timestamp-key timestamp.pub >/dev/null
$H repo sign "$R" root --key root.key >/dev/null
$H repo init "$E" --root-key evil.pub --targets-key evil.pub --snapshot-key evil.pub \
	--timestamp-key evil.pub >/dev/null
$H repo sign "$E" root --key evil.key >/dev/null
head -c 2097153 /dev/urandom >rootfs2.img
$H bundle create --out v2.vgb --version 2.0 --security-version 2 --key rel.key \
	rootfs=rootfs2.img >/dev/null
for d in "$R" "$E"; do
	$H repo add "$d" --name firmware/speaker.vgb v2.vgb >/dev/null
done
$H repo sign "$R" targets --key targets.key >/dev/null
$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
$H repo sign "$E" targets --key evil.key >/dev/null
$H repo publish "$E" --snapshot-key evil.key --timestamp-key evil.key >/dev/null
URL=$(sh "$VG_SRC/scripts/http-server.sh" start "$W/http" "$W")
# The OEM's update server over HTTPS, its CA pinned on the device.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
	-days 30 -subj /CN=update-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
	-subj /CN=updates 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile srv.ext \
	-out srv.pem 2>/dev/null
TLS=$(sh "$VG_SRC/scripts/http-server.sh" start "$W/https" "$W" srv.pem srv.key)

: >rootfs-a; : >rootfs-b
printf 'console=ttyS0 voxguard.slot=a\n' >cmdline
echo boot-1 >boot_id
chmod 644 cmdline boot_id
EXTRA_CONFIG="update_slots = rootfs $W/rootfs-a $W/rootfs-b
bootloader = file
bootloader_param = $W/bootenv
boot_cmdline = $W/cmdline
boot_id = $W/boot_id
reset_button = $W/button"
printf '0\n' >button; chmod 644 button
start_daemon
MD=$W/agent-md; DL=$W/dl
U() { $V update "$@" --metadata-dir "$MD" --download-dir "$DL" --target firmware/speaker.vgb; }
audit() { $V log show 2>/dev/null | grep -c "$1" || true; }

check_fails "SFR 4.2.6: no TUF update before a trusted root is installed" 2 \
	U check --repo "$URL/repo/metadata"
check "SFR 4.2.6: ... and the error says how to install one" sh -c \
	"$V update check --repo '$URL/repo/metadata' --target x 2>&1 | grep -q 'update trust-root'"
check_fails "SFR 4.2.6: provisioning with an unreadable root changes nothing" 2 \
	$V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out code \
	--release-key rel.pub --tuf-root "$W/missing.json"
check "SFR 4.2.6: provision --tuf-root installs the factory root" sh -c \
	"$V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out code --release-key rel.pub --tuf-root '$R/metadata/1.root.json' | grep -q 'trusted TUF root: version 1'"
check "SFR 4.2.6: update status shows the trusted root" sh -c \
	"$V update status | grep -q 'TUF root: *version 1'"
check "SFR 4.2.6: update status --json: the trusted root's version and expiry" sh -c \
	"$V update status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"tuf_root\"][\"version\"] == 1 and d[\"tuf_root\"][\"expires\"].endswith(\"Z\") and d[\"tuf_root\"][\"error\"] is None, d'"
check_fails "SFR 4.2.6: a different first root is not accepted over it" 1 \
	$V update trust-root "$E/metadata/1.root.json"
check "SFR 4.2.6: handing over the trusted root again is fine" \
	$V update trust-root "$R/metadata/1.root.json"
if [ "$IS_ROOT" = 1 ]; then
	check_fails "SFR 4.2.10: an ordinary user cannot replace the trusted root" 2 \
		as vgalice $V update trust-root "$R/metadata/1.root.json"
	check_fails "SFR 4.2.10: ... nor run the update check" 2 \
		as vgalice $VOXGUARD --socket "$SOCK" update check --repo "$URL/repo/metadata" \
		--target firmware/speaker.vgb --metadata-dir /tmp/vg-nonexistent
fi

mkdir -p "$MD" "$DL"
# An attacker with write access to the agent's metadata directory plants
# his root.json there; the agent never reads it.
cp "$E/metadata/1.root.json" "$MD/root.json"
check_fails "A.3.3: another repository's metadata is refused, whatever root.json the agent dir holds" 1 \
	U check --repo "$URL/evil-repo/metadata"
check "SFR 4.2.6: the genuine repository verifies" U check --repo "$URL/repo/metadata"
check "SFR 4.2.6: the agent's directory keeps the other roles, not the root" sh -c \
	"test -s '$MD/timestamp.json' && cmp -s '$MD/root.json' '$E/metadata/1.root.json'"
check "SFR 4.2.6: install over HTTPS (the update CA pinned) into slot b" \
	U install --repo "$TLS/repo/metadata" --targets-url "$TLS/repo/targets" --ca-file ca.pem \
	--no-activate
check "SFR 4.2.6: slot b holds the image" cmp -n 2097153 rootfs-b rootfs2.img

# Root rotation: root2 replaces root (signed by both), published.
$H repo root "$R" --role root --add-key root2.pub --remove-key "$($H repo keyid root.pub)" >/dev/null
$H repo sign "$R" root --key root2.key >/dev/null
$H repo sign "$R" root --key root.key >/dev/null
$H repo publish "$R" --snapshot-key snapshot.key --timestamp-key timestamp.key >/dev/null
check "SFR 4.2.6 key rotation: the agent follows the root to version 2" \
	U check --repo "$URL/repo/metadata"
check "SFR 4.2.6 key rotation: the service verified and keeps version 2" sh -c \
	"$V update status | grep -q 'TUF root: *version 2'"
check "SFR 4.2.9: the rotation is an audit event" sh -c \
	"[ \$($V log show | grep -c 'update.tuf_root.*rotated from version 1 to 2') = 1 ]"
check_fails "A.3.3 rollback: the old root handed back is refused" 1 \
	$V update trust-root "$R/metadata/1.root.json"

# A root version 3 signed only by a key that root 2 does not trust.
$H repo root "$R" --role root --add-key evil.pub --remove-key "$($H repo keyid root2.pub)" >/dev/null
$H repo sign "$R" root --key evil.key >/dev/null
cp "$R/staged/root.json" "$R/metadata/3.root.json"
check_fails "SFR 4.2.6: a served root signed only by its new key stops the refresh" 1 \
	U check --repo "$URL/repo/metadata"
check_fails "SFR 4.2.6: handed to the service directly, it refuses it itself" 1 \
	$V update trust-root "$R/metadata/3.root.json"
check "SFR 4.2.9: the refusal is an audit event" sh -c \
	"$V log show | grep 'update.tuf_root' | grep -q 'refused'"
check "SFR 4.2.6: the trusted root is still version 2" sh -c \
	"$V update status | grep -q 'TUF root: *version 2'"
rm -f "$R/metadata/3.root.json"
sed 's/^  "version": 2$/  "version": 3/' "$R/metadata/2.root.json" >forged.json
check "(the forged root differs from the genuine one)" sh -c "! cmp -s forged.json '$R/metadata/2.root.json'"
check_fails "SFR 4.2.6: a root whose signatures do not cover it is refused" 1 \
	$V update trust-root forged.json
sed 's/^  "version": 2$/  "version": 4/' "$R/metadata/2.root.json" >skip.json
check_fails "SFR 4.2.6: a root that skips a version is refused" 1 $V update trust-root skip.json
check "SFR 4.2.6: ... and the error names the missing version" sh -c \
	"$V update trust-root skip.json 2>&1 | grep -q 'skips version 3'"
head -c 600 "$R/staged/root.json" >truncated.json
check_fails "SFR 4.2.6: a truncated root is refused" 1 $V update trust-root truncated.json
head -c 5000 /dev/urandom >garbage.json
check_fails "SFR 4.2.6: garbage is refused" 1 $V update trust-root garbage.json
head -c 600000 /dev/zero | tr '\0' ' ' >huge.json
check_fails "SFR 4.2.6: an oversized root is refused before it is sent" 2 \
	$V update trust-root huge.json
check "the service keeps serving" $V update status

stop_daemon; start_daemon
check "SFR 4.2.6: the trusted root survives a restart" sh -c \
	"$V update status | grep -q 'TUF root: *version 2'"
printf '1\n' >button # the reset button held
check "SFR 4.2.12: factory reset" sh -c "$V factory-reset --yes | grep -q 'factory reset done'"
printf '0\n' >button
check "SFR 4.2.12: the trusted root survives a factory reset (set at the factory)" sh -c \
	"$V update status | grep -q 'TUF root: *version 2'"
check "SFR 4.2.6: and updates still verify after it" U check --repo "$URL/repo/metadata"
finish
