#!/bin/sh
# SFR 4.2.6 (secure update: integrity, authenticity, confidentiality),
# SFR 4.2.9 (update requests and progress audited), AVS 1.1, threat A.3.3:
# `voxguard update` installs bundles into the inactive slot of A/B pairs
# that voxguardd chooses, with the service deciding on every bundle, the
# content key of encrypted bundles unwrapped inside the service, boot
# attempts counted by the bootloader (the file adapter; the boot script is
# played by `update simulate-boot`), automatic fallback, mark-good raising
# the minimum security version, and resume after a power cut.
# Attacks: another device's encrypted bundle, a replayed old encrypted
# bundle, a tampered encrypted chunk, a bundle for an image without a slot,
# an update while another is on trial, a power cut (the fault-injecting
# writer) and kill -9 mid-install, an activation that never boots healthy.
. "$(dirname "$0")/lib.sh"
setup_users
W=$T/work; mkdir -p "$W"; chmod 755 "$W"
H="env VOXGUARD_SOCKET=/nonexistent $VOXGUARD" # the build host
V="$VOXGUARD --socket $SOCK"                   # the update agent (root or the test user)
cd "$W"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null &&
	openssl pkey -in "$1.key" -pubout -out "$1.pub"; }
key rel; key fleet; key stranger

head -c 9437185 /dev/urandom >rootfs2.img   # 9 MiB + 1: ten 1 MiB chunks, the last short
head -c 70000 /dev/urandom >dsp2.img
head -c 9437185 /dev/urandom >rootfs3.img
head -c 70000 /dev/urandom >dsp3.img
for s in a b; do : >"rootfs-$s"; : >"dsp-$s"; done
printf 'console=ttyS0 root=/dev/mmcblk0p2 voxguard.slot=a quiet\n' >cmdline
echo boot-1 >boot_id
chmod 644 cmdline boot_id

EXTRA_CONFIG="update_slots = rootfs $W/rootfs-a $W/rootfs-b; dsp $W/dsp-a $W/dsp-b
bootloader = file
bootloader_param = $W/bootenv
boot_cmdline = $W/cmdline
boot_id = $W/boot_id"
start_daemon
reboot_into() { # the boot script picks a slot; the kernel command line says which
	slot=$($H update simulate-boot --bootloader file --param "$W/bootenv" | sed 's/.*=//')
	printf 'console=ttyS0 voxguard.slot=%s quiet\n' "$slot" >cmdline
	echo "boot-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" >boot_id
	stop_daemon >/dev/null; start_daemon
}
# json_has FILE EXPR: FILE is one JSON document d for which EXPR holds.
json_has() { python3 -c "import json,sys; d=json.load(sys.stdin); assert $2, d" <"$1"; }
audit() { $V log show 2>/dev/null | grep -c "$1" || true; }

check_fails "SFR 4.2.6: no update before a release key is provisioned" 2 $V update install /dev/null
if [ "$IS_ROOT" = 1 ]; then
	check_fails "SFR 4.2.10: an ordinary user cannot ask for an update" 2 as vgalice $V update status
	check_fails "SFR 4.2.10: ... nor for the device's update key" 2 as vgalice $V update key
fi
$V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out code --release-key rel.pub >/dev/null
check "SFR 4.2.6: update key: the device's update encryption key (created in the service)" \
	sh -c "$V update key >dev.pub && openssl pkey -pubin -in dev.pub -noout"
check "SFR 4.2.6: update key --fleet-key: the fleet's key installed once" \
	sh -c "$V update key --fleet-key fleet.key | grep -c 'BEGIN PUBLIC KEY' | grep -qx 2"
check_fails "SFR 4.2.6: a second fleet key is refused" 2 $V update key --fleet-key stranger.key
check "SFR 4.2.6: the device key stays the same" sh -c "$V update key | sed '/END PUBLIC KEY/q' | cmp - dev.pub"

$H bundle create --out v2.vgb --version 2.0 --security-version 2 --oem Acme --model Echo \
	--hw-rev B2 --key rel.key rootfs=rootfs2.img dsp=dsp2.img >/dev/null
$H bundle create --out v3.vgb --version 3.0 --security-version 3 --encrypt-for dev.pub \
	--key rel.key rootfs=rootfs3.img dsp=dsp3.img >/dev/null
$H bundle create --out v3f.vgb --version 3.0f --security-version 3 --encrypt-for fleet.pub \
	--key rel.key rootfs=rootfs3.img dsp=dsp3.img >/dev/null
$H bundle create --out v1.vgb --version 1.0 --security-version 1 --encrypt-for dev.pub \
	--key rel.key rootfs=rootfs2.img >/dev/null
$H bundle create --out foreign.vgb --version 3.1 --security-version 3 --encrypt-for stranger.pub \
	--key rel.key rootfs=rootfs3.img >/dev/null
head -c 100 /dev/urandom >extra.img
$H bundle create --out extra.vgb --version 3.2 --security-version 3 --key rel.key \
	rootfs=rootfs3.img extra=extra.img >/dev/null
payload() { echo $((12 + $(od -An -tu1 -j8 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}'))); }
check "SFR 4.2.6: a plain bundle carries the image at its payload (the control)" \
	cmp -n 1048576 -i "0:$(payload v2.vgb)" rootfs2.img v2.vgb
check_fails "SFR 4.2.6: confidentiality: the encrypted bundle does not" 1 \
	cmp -n 1048576 -i "0:$(payload v3.vgb)" rootfs3.img v3.vgb
check "SFR 4.2.6: status: idle, running slot a" sh -c "$V update status | grep -q 'state: *idle' && $V update status | grep -q 'running slot: *a'"
$V update status --json >st.json
check "SFR 4.2.6: update status --json: idle, running slot a, no update, no TUF root" json_has st.json \
	'd["state"] == "idle" and d["running_slot"] == "a" and d["update"] is None and d["tuf_root"] is None and type(d["min_security_version"]) is int'
check "SFR 4.2.6: update status --json: the bootloader and its attempts" json_has st.json \
	'd["bootloader"]["type"] == "file" and d["bootloader"]["param"].endswith("/bootenv") and d["bootloader"]["tries"] == 3'
check "SFR 4.2.6: install v2 into the inactive slot" $V update install v2.vgb
check "SFR 4.2.6: slot b holds the rootfs image" cmp rootfs-b rootfs2.img
check "SFR 4.2.6: and the dsp image" cmp dsp-b dsp2.img
check "SFR 4.2.6: the running slot a was not touched" test ! -s rootfs-a
check "SFR 4.2.6: the bootloader tries b next, a stays the fallback" grep -q 'VG_BOOT_ORDER=b a' bootenv
check "SFR 4.2.6: status: activated" sh -c "$V update status | grep -q 'state: *activated'"
$V update status --json >st.json
check "SFR 4.2.6: update status --json: activated, version 2.0 in slot b, the whole bundle ID" json_has st.json \
	'd["state"] == "activated" and d["update"]["version"] == "2.0" and d["update"]["slot"] == "b" and len(d["update"]["bundle"]) == 64 and d["running_slot"] == "a"'
check_fails "SFR 4.2.6: no second update while one waits for its reboot" 2 $V update install v3.vgb
check_fails "SFR 4.2.6: mark-good before the reboot is refused" 2 $V update mark-good
for e in update.requested update.verified update.written update.activated; do
	check "SFR 4.2.9: the audit trail has $e" sh -c "[ \$($V log show | grep -c '$e') -ge 1 ]"
done

reboot_into
check "SFR 4.2.6: the device booted slot b" grep -q 'voxguard.slot=b' cmdline
check "SFR 4.2.6: status: trial" sh -c "$V update status | grep -q 'state: *trial'"
check "SFR 4.2.9: the audit trail has update.booted" sh -c "$V log show | grep -q update.booted"
check_fails "SFR 4.2.6: no new update while one is on trial" 2 $V update install v3.vgb
check "SFR 4.2.6: mark-good confirms version 2.0" sh -c "$V update mark-good | grep -q 'version 2.0 confirmed'"
check "SFR 4.2.9: the audit trail has update.confirmed" sh -c "$V log show | grep -q update.confirmed"
check "A.3.3: the minimum security version is now 2" sh -c "$V update status | grep -q 'min security ver: 2'"
$V update status --json >st.json
check "A.3.3: update status --json: min_security_version 2 (a number), running slot b" json_has st.json \
	'd["min_security_version"] == 2 and d["running_slot"] == "b" and isinstance(d["last_outcome"], str)'
check "SFR 4.2.6: the bootloader keeps b first with fresh attempts" grep -q 'VG_B_LEFT=3' bootenv

# Encrypted bundles: the service unwraps the content key.
check_fails "SFR 4.2.6: another device's encrypted bundle is refused" 1 $V update install foreign.vgb
check "SFR 4.2.6: ... nothing was written to the inactive slot" test ! -s rootfs-a
check "SFR 4.2.9: the refusal is audited with its reason" sh -c "$V log show | grep update.failed | grep -q 'encrypted for other devices'"
check_fails "A.3.3: a replayed old encrypted bundle (security version 1 < 2) is refused" 1 $V update install v1.vgb
check_fails "SFR 4.2.6: a bundle with an image the device has no slot for is refused" 2 $V update install extra.vgb
M=$(od -An -tu1 -j8 -N4 v3.vgb | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
cp v3.vgb t.vgb
printf '\377' | dd of=t.vgb bs=1 seek=$((12 + M + 3 * 1048592 + 5)) conv=notrunc 2>/dev/null
check_fails "SFR 4.2.6: a tampered encrypted chunk is refused" 1 $V update install t.vgb
check "SFR 4.2.6: ... only the 3 verified chunks before it reached slot a" test "$(wc -c <rootfs-a)" = 3145728
check "SFR 4.2.6: ... and slot a was not activated" grep -q 'VG_BOOT_ORDER=b a' bootenv
check "SFR 4.2.6: ... the state is idle again" sh -c "$V update status | grep -q 'state: *idle'"

# Power loss: the fault-injecting writer cuts the power after 5.5 MiB
# (a torn chunk), then the install runs again and resumes.
set +e; VOXGUARD_TEST_POWER_CUT_AFTER=5767168 $V update install v3.vgb >/dev/null 2>&1; rc=$?; set -e
check "SFR 4.2.6: power cut mid-install (the agent dies with SIGKILL)" test "$rc" = 137
check "SFR 4.2.6: ... the running slot b is untouched and still boots" sh -c "cmp rootfs-b rootfs2.img && grep -q 'VG_BOOT_ORDER=b a' bootenv"
check "SFR 4.2.6: ... the partial slot is not activated" sh -c "$V update status | grep -q 'state: *installing'"
$V update install v3.vgb >resume.out 2>&1 || true
check "SFR 4.2.6: the next install resumes from the last verified chunk" grep -q 'resuming' resume.out
check "SFR 4.2.6: ... and completes: slot a holds the decrypted image" cmp rootfs-a rootfs3.img
check "SFR 4.2.6: ... dsp too" cmp dsp-a dsp3.img

# A new slot that never comes up healthy: the bootloader falls back.
reboot_into; reboot_into; reboot_into
check "SFR 4.2.6: three trial boots of slot a without mark-good" grep -q 'VG_A_LEFT=0' bootenv
reboot_into
check "SFR 4.2.6: the bootloader fell back to slot b" grep -q 'voxguard.slot=b' cmdline
check "SFR 4.2.6: the service records the failed update" sh -c "$V update status | grep -q 'state: *idle' && $V update status | grep -q 'fell back'"
check "SFR 4.2.9: update.failed names the fallback" sh -c "$V log show | grep update.failed | grep -q 'fell back'"
check "A.3.3: the minimum security version stays 2" sh -c "$V update status | grep -q 'min security ver: 2'"
check "SFR 4.2.6: mark-good of the old slot is fine" $V update mark-good

# kill -9 at an arbitrary moment of an install, then again to the end.
head -c 100663296 /dev/urandom >big.img
$H bundle create --out v4.vgb --version 4.0 --security-version 4 --encrypt-for fleet.pub \
	--key rel.key rootfs=big.img dsp=dsp3.img >/dev/null
$V update install v4.vgb >/dev/null 2>&1 & AP=$!
i=0 # once a third of the image is in the slot
while [ "$(wc -c <rootfs-a)" -lt 33554432 ] && [ $i -lt 3000 ]; do i=$((i + 1)); sleep 0.01; done
kill -9 $AP 2>/dev/null || true; wait $AP 2>/dev/null || true
check "SFR 4.2.6: kill -9 caught the install midway" sh -c "$V update status | grep -q 'state: *installing'"
check "SFR 4.2.6: after kill -9 the running slot b still holds 2.0" cmp rootfs-b rootfs2.img
check "SFR 4.2.6: ... and boots first" grep -q 'VG_BOOT_ORDER=b a' bootenv
check "SFR 4.2.6: the fleet-encrypted install runs again to the end" $V update install v4.vgb
check "SFR 4.2.6: ... slot a holds the 96 MiB image" cmp rootfs-a big.img
reboot_into
check "SFR 4.2.6: version 4.0 boots and is confirmed" sh -c "$V update mark-good | grep -q 'version 4.0 confirmed'"
check "A.3.3: the minimum security version is now 4" sh -c "$V update status | grep -q 'min security ver: 4'"
# The file root of trust's security-version counter: two slots "VGS1" | u64.
rotsv() { for o in 4 36; do od -An -tu1 -j$o -N8 "$STATE/secver" | awk '{v=0; for (i=1;i<=8;i++) v=v*256+$i; print v}'; done | sort -n | tail -1; }
check "A.3.3: ... in the root of trust's security-version counter" test "$(rotsv)" = 4
check_fails "A.3.3: the older 3.0 bundle is now a downgrade" 1 $V update install v3f.vgb
stop_daemon
finish
