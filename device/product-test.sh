#!/bin/sh
# device/product-test.sh IMAGEDIR: the image as it ships (issue 14;
# docs/DEVICE.md, "The product image"). `make device-test` runs it after
# device-test.sh, on the product variant built into IMAGEDIR (by
# `VG_IMAGE_SHARED=build-image sh device/build-image.sh build-image/product
# product`: the same base, keys and signed PCR policy as the test image).
#
# The product variant has no guest agent and no console shell, so the host
# sees only what a device shows on its serial console. It checks:
#
#   1. offline, on the disk: no guest agent, no shell console, every
#      account locked, the signed PCR policy in slot A;
#   2. booted once in QEMU on a fresh TPM, as it leaves the image build,
#      before the factory provisions it: voxguardd starts, the platform
#      check fails (no release key: not verified), saying why on the
#      console, and so the voice application does not start; nothing
#      else fails; the login prompt
#      is on the serial console; the guest agent's port gets no answer
#      (nothing in the guest listens on it). (The provisioned boots are
#      the test image's, device-test.sh: the product has no channel for
#      the factory step here.)
#   3. the boot's units: only the device's own services and systemd's.
#
# Everything is under $VG_DEVICE_RUN (default: a new directory in
# /var/tmp), removed at the end unless VG_KEEP=1 or a check failed.
set -eu
IMG=${1:?usage: product-test.sh IMAGEDIR}
IMG=$(cd "$IMG" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$IMG/image.env"
[ "$IMAGE_VARIANT" = product ] || { echo "product-test: $IMG is the $IMAGE_VARIANT variant" >&2; exit 2; }
RUN=${VG_DEVICE_RUN:-$(mktemp -d /var/tmp/vg-product.XXXXXX)}
mkdir -p "$RUN"
VM="sh $SRC/device/vm.sh"
W=$RUN/work
mkdir -p "$W"
PASSES=0
FAILS=0
T_START=$(date +%s)

ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # check "description" command...
	d=$1; shift
	if "$@" >"$W/last.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$W/last.out" | head -20; fi
}
cleanup() {
	$VM kill "$RUN" 2>/dev/null || true
	if [ "${VG_KEEP:-0}" = 1 ] || [ "$FAILS" != 0 ]; then
		echo "# kept: $RUN (console.log is the guest's serial console)"
	else
		rm -rf "$RUN"
	fi
}
trap cleanup EXIT INT TERM
echo "# voxguard product image test: image $IMAGE_KEY ($IMAGE_VARIANT), run $RUN"

# --- 1. the disk, offline (debugfs on slot A's file system) ---
A=$IMG/slot-a.img
ls_a() { debugfs -R "stat $1" "$A" 2>/dev/null | grep -q '^Inode:'; }
cat_a() { debugfs -R "cat $1" "$A" 2>/dev/null; }
absent() { # absent "description" PATH: PATH is not in slot A
	if ls_a "$2"; then not_ok "$1 ($2 is there)"; else ok "$1"; fi
}
absent "AVS 1.2: no guest agent in the product image" /usr/sbin/qemu-ga
absent "AVS 1.2: no shell console (the test variant's hvc0 autologin)" \
	/etc/systemd/system/serial-getty@hvc0.service.d
cat_a /etc/shadow >"$W/shadow"
check "AVS 1.2: every account is locked (no password, no default password)" \
	sh -c "[ -s '$W/shadow' ] && grep -q '^root:[!*]' '$W/shadow' && ! awk -F: '\$2 !~ /^[!*]/ { print; f=1 } END { exit !f }' '$W/shadow'"
cat_a /etc/voxguard/pcr-policy >"$W/pcr-policy"
check "SFR 4.2.11: slot A carries the signed PCR policy of its boot" \
	"$SRC/build/voxguard" pcr-policy verify --key "$(dirname "$IMG")/keys/pcr-policy.pub" "$W/pcr-policy"
if ls_a /etc/voxguard/platform.json; then ok "SFR 4.2.5: slot A carries the signed platform manifest"
else not_ok "SFR 4.2.5: slot A carries the signed platform manifest"; fi

# --- 2. one boot, seen from the serial console ---
cp --sparse=always "$IMG/disk.raw" "$RUN/disk.raw"
t0=$(date +%s)
$VM start "$RUN" "$RUN/disk.raw" "$RUN/tpm" >/dev/null
# The console with systemd's colours taken out.
console() { sed 's/\x1b\[[0-9;]*m//g' "$RUN/console.log" 2>/dev/null; }
i=0
until console | grep -qE 'Started vg-voice-app|Dependency failed for vg-v'; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 "$(cat "$RUN/qemu.pid" 2>/dev/null || echo 0)" 2>/dev/null; then break; fi
	sleep 1
done
BOOT_S=$(($(date +%s) - t0))
# The login prompt comes last; give the boot a moment to settle.
i=0
until console | grep -q 'login:'; do i=$((i + 1)); [ $i -le 60 ] || break; sleep 1; done
console >"$W/console.txt"
check "SFR 4.2.10: voxguardd starts under its unit" grep -q 'Started voxguardd.service' "$W/console.txt"
check "SFR 4.2.5: not provisioned yet, the platform check fails (not verified)" \
	grep -q 'Failed to start voxguard-v' "$W/console.txt"
# The check's own words on the console (its unit prints them there).
grep -ao 'platform: [^[:cntrl:]]*' "$W/console.txt" | head -3 | sed 's/^/# console: /'
check "SFR 4.2.5: ... and says why on the console (not a timeout)" \
	sh -c "grep -ao 'platform: [^[:cntrl:]]*' '$W/console.txt' | grep -qv 'genuine'"
check "SFR 4.2.5: so the voice application does not start ($BOOT_S s after power-on)" \
	sh -c "grep -q 'Dependency failed for vg-v' '$W/console.txt' && ! grep -q 'Started vg-voice-app' '$W/console.txt'"
check "no other unit fails" sh -c "! grep -E '\\[FAILED\\]|Failed to start' '$W/console.txt' | grep -v 'voxguard-v'"
check "the serial console shows a login prompt (every account locked)" grep -q 'login:' "$W/console.txt"
check "AVS 1.2: nothing answers on the guest agent's port" \
	sh -c "! python3 '$SRC/device/qga.py' '$RUN/qga.sock' wait 10 >/dev/null 2>&1"

# --- 3. what the boot started: the device's units and systemd's ---
# systemd prints "Started NAME - Description" (the name cut short with "…"
# when the line is long): each name must start as one of these.
ALLOWED="voxguardd. vg-voice-app. vg-health. voxguard-verify systemd- serial-getty@ttyS0"
grep -o 'Started [^ ]*' "$W/console.txt" | cut -d' ' -f2 | sed 's/….*//' | sort -u >"$W/started"
: >"$W/unexpected"
while read -r u; do
	hit=0
	for p in $ALLOWED; do case $u in "$p"*) hit=1 ;; esac; done
	case $u in *.slice | *.mount) hit=1 ;; esac
	[ $hit = 1 ] || echo "$u" >>"$W/unexpected"
done <"$W/started"
check "AVS 1.2: the boot started no service beyond the device's and systemd's ($(wc -l <"$W/started") units)" \
	sh -c "[ -s '$W/started' ] && [ ! -s '$W/unexpected' ] || { cat '$W/unexpected'; exit 1; }"
check "AVS 1.2: no guest agent and no network daemon started" \
	sh -c "! grep -E '^(qemu-guest-agent|systemd-networkd|ssh)' '$W/started'"

$VM kill "$RUN" >/dev/null 2>&1 || true
if [ "$FAILS" != 0 ]; then # what CI shows of a failed boot
	echo "# the console's last lines:"
	tail -40 "$W/console.txt" | sed 's/^/#   /'
	echo "# swtpm's log, last lines:"
	tail -10 "$RUN/swtpm.log" 2>/dev/null | sed 's/^/#   /'
fi
echo "# figures: power-on to the platform check's outcome ${BOOT_S} s; whole test $(($(date +%s) - T_START)) s"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
