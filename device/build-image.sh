#!/bin/sh
# device/build-image.sh OUT [test|product]
#
# Builds voxguard's x86_64 device image (docs/DEVICE.md) into OUT:
#
#   OUT/disk.raw      a GPT disk: 1 ESP (GRUB for EFI, voxguard's boot
#                     script, the GRUB environment block), 2 slot A and
#                     3 slot B (the root file system, ext4), 4 the data
#                     partition (voxguard's state)
#   OUT/image.env     what the device test needs: partition offsets, the
#                     kernel version, the inputs' key
#   OUT/keys/         the development OEM release key that signed the
#                     platform manifest (kept between builds)
#
# From Debian 12 packages only: debootstrap (the base system, cached in
# OUT/base-KEY/ by its package list), the project's own .deb files from
# `make deb` (installed with dpkg in a chroot), GRUB's EFI modules from
# grub-efi-amd64-bin. Nothing is mounted: the file systems are made from
# directories (mke2fs -d, mtools) and written into the disk file.
#
# The image is rebuilt only when its inputs change: this script,
# device/rootfs*/, boot/grub-voxguard.cfg and the .deb files (debhelper
# builds them reproducibly: the same sources give the same bytes); OUT/disk.raw is then a copy
# of OUT/disk-KEY.raw. The `test` variant (the default, used by the device
# test) adds the QEMU guest agent and a root console on QEMU's virtio
# console; `product` has neither.
set -eu

OUT=${1:?usage: build-image.sh OUT [test|product]}
VARIANT=${2:-test}
case $VARIANT in test | product) ;; *) echo "build-image: variant is test or product" >&2; exit 2 ;; esac
SRC=$(cd "$(dirname "$0")/.." && pwd)
DEBS=$SRC/build-deb
VOXGUARD=${VOXGUARD:-$SRC/build/voxguard}
SUITE=bookworm
MIRROR=${VG_DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" = 0 ] || { echo "build-image: run as root (debootstrap, chroot)" >&2; exit 2; }
for t in debootstrap mke2fs mkfs.vfat mcopy sfdisk grub-mkimage grub-editenv; do
	command -v $t >/dev/null 2>&1 || { echo "build-image: $t is missing (scripts/install-deps.sh image)" >&2; exit 2; }
done
[ -x "$VOXGUARD" ] || { echo "build-image: no $VOXGUARD (make build)" >&2; exit 2; }
ls "$DEBS"/voxguard_*.deb >/dev/null 2>&1 || { echo "build-image: no packages in $DEBS (make deb)" >&2; exit 2; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# What images built into different OUTs share (VG_IMAGE_SHARED, default
# OUT): the base system, the OEM's keys and the firmware's event log. The
# product variant is built into OUT/product with the test variant's OUT
# shared, so both are signed by the same keys and cached side by side.
SHARED=${VG_IMAGE_SHARED:-$OUT}
mkdir -p "$SHARED"
SHARED=$(cd "$SHARED" && pwd)
log() { printf '%s build-image: %s\n' "$(date +%T)" "$*"; }

# The base system: Debian packages only. Its key is the list and the suite.
BASE_PKGS="systemd-sysv udev linux-image-amd64 initramfs-tools kmod tpm-udev
libtss2-esys-3.0.2-0 libtss2-mu0 libtss2-rc0 libtss2-tctildr0 libtss2-tcti-device0
grub-common e2fsprogs libssl3 libsqlite3-0 libcurl4 qemu-guest-agent"
BASE_KEY=$(printf '%s\n' "$SUITE" $BASE_PKGS base-v1 | sha256sum | cut -c1-16)
BASE=$SHARED/base-$BASE_KEY
if [ ! -f "$BASE.done" ]; then
	log "debootstrap $SUITE into $BASE (once; a few minutes)"
	rm -rf "$BASE" "$BASE.tmp"
	debootstrap --variant=minbase --include="$(echo $BASE_PKGS | tr ' ' ,)" \
		"$SUITE" "$BASE.tmp" "$MIRROR" >"$SHARED/debootstrap.log" 2>&1 ||
		{ echo "build-image: debootstrap failed; see $SHARED/debootstrap.log" >&2; exit 1; }
	mv "$BASE.tmp" "$BASE"
	touch "$BASE.done"
fi

# Trimmed once, in the cached base: no documentation, no locales, none of
# the kernel's drivers for hardware a speaker or QEMU does not have
# (Bluetooth, uinput and dm-verity stay: tests that need them run in this
# image), and an initramfs with only what finds the root file system on a
# virtio disk (it is unpacked by an emulated CPU at every boot).
if [ ! -f "$BASE.trim-v2" ]; then
	log "trimming the base system and making a small initramfs (once)"
	rm -rf "$BASE"/usr/share/doc/* "$BASE"/usr/share/man/* "$BASE"/usr/share/locale/* \
		"$BASE"/var/cache/apt/archives/*.deb "$BASE"/var/lib/apt/lists/*
	KVER=$(ls "$BASE/lib/modules" | head -1)
	M=$BASE/lib/modules/$KVER/kernel
	rm -rf "$M/sound" "$M/drivers/gpu" "$M/drivers/media" "$M/drivers/net/wireless" \
		"$M/drivers/infiniband" "$M/drivers/staging" "$M/drivers/isdn" "$M/drivers/scsi/qla2xxx" \
		"$M/drivers/scsi/lpfc" "$M/drivers/net/ethernet" "$M/net/wireless" "$M/net/mac80211" \
		"$M/fs/btrfs" "$M/fs/xfs" "$M/fs/ocfs2" "$M/fs/gfs2" "$M/fs/nfs" "$M/fs/ceph" "$M/fs/smb"
	# Buses and devices neither a speaker's SoC nor QEMU's q35 has here
	# (the disk is virtio; a test that needs more brings its module back).
	for d in scsi usb iio hwmon comedi mtd target video thunderbolt nvme ata platform mmc \
		i2c firewire edac media pcmcia atm parport; do
		rm -rf "$M/drivers/$d"
	done
	find "$M/drivers/net" -name '*.ko*' ! -name 'virtio_net.ko*' ! -name 'net_failover.ko*' \
		! -name 'failover.ko*' ! -name 'tun.ko*' ! -name 'veth.ko*' ! -name 'dummy.ko*' -delete
	for d in sunrpc ceph rds tipc 9p can atm nfc ieee802154 mac802154 batman-adv openvswitch l2tp; do
		rm -rf "$M/net/$d"
	done
	for d in "$M"/fs/*; do
		case ${d##*/} in
		ext4 | jbd2 | fat | nls | overlayfs | squashfs | fuse | mbcache.ko* | crypto | verity) ;;
		*) rm -rf "$d" ;;
		esac
	done
	chroot "$BASE" depmod -a "$KVER"
	echo MODULES=list >"$BASE/etc/initramfs-tools/conf.d/voxguard-device"
	grep -q '^virtio_blk$' "$BASE/etc/initramfs-tools/modules" ||
		printf '%s\n' virtio_pci virtio_blk ext4 >>"$BASE/etc/initramfs-tools/modules"
	chroot "$BASE" update-initramfs -u -k "$KVER" >"$SHARED/initramfs.log" 2>&1 ||
		{ tail "$SHARED/initramfs.log" >&2; exit 1; }
	rm -f "$BASE"/boot/*.old "$BASE"/initrd.img.old "$BASE"/vmlinuz.old
	touch "$BASE.trim-v2"
fi
KVER=$(ls "$BASE/lib/modules" | head -1)

# The whole image's key: the base, the packages, the image's own files.
KEY=$( (echo "$BASE_KEY trim-v2 $VARIANT"; sha256sum "$DEBS"/*.deb | grep -v dbgsym | cut -d' ' -f1
	dpkg-query -W ovmf qemu-system-x86
	cd "$SRC" && find device/build-image.sh device/rootfs device/rootfs-test boot/grub-voxguard.cfg \
		device/pcr-predict.py device/measuredboot.py device/vm.sh \
		-type f | LC_ALL=C sort | xargs sha256sum) |
	sha256sum | cut -c1-16)
if [ -f "$OUT/disk-$KEY.raw" ] && [ -f "$OUT/image-$KEY.env" ] && [ -f "$OUT/platform-$KEY.json" ] &&
	[ -f "$OUT/boot-$KEY/cmdline-a" ]; then
	log "up to date ($KEY)"
	ln -sf "disk-$KEY.raw" "$OUT/disk.raw"
	ln -sf "image-$KEY.env" "$OUT/image.env"
	ln -sf "slot-a-$KEY.img" "$OUT/slot-a.img"
	ln -sf "platform-$KEY.json" "$OUT/platform.json"
	ln -sfn "boot-$KEY" "$OUT/boot"
	exit 0
fi
T0=$(date +%s)

W=$OUT/work
umount_all() { :; }
rm -rf "$W"
mkdir -p "$W"
R=$W/rootfs
log "copying the base system"
cp -a "$BASE" "$R"

# Install the project's packages with dpkg, as a device maker would, with
# services kept from starting in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
mkdir -p "$R/tmp/debs"
cp "$DEBS"/voxguard_*.deb "$DEBS"/libvoxguard0_*.deb "$R/tmp/debs/"
rm -f "$R"/tmp/debs/*dbgsym*
# apt-get installs the files with dpkg and takes what their Depends: name
# from Debian (the libraries dpkg-shlibdeps found), as on a device maker's
# build host.
# The test variant also gets what its guest tests drive (device/guest-tests/):
# BlueZ's btmgmt and the virtual controllers of btvirt (bluetooth.sh).
TEST_PKGS=
[ "$VARIANT" = test ] && TEST_PKGS="bluez bluez-test-tools"
log "installing $(cd "$R/tmp/debs" && echo *.deb) $TEST_PKGS"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
echo "deb $MIRROR $SUITE main" >"$R/etc/apt/sources.list"
{ chroot "$R" apt-get update -q && chroot "$R" sh -c \
	"DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/debs/*.deb $TEST_PKGS"; } \
	>"$W/dpkg.log" 2>&1 ||
	{ tail -30 "$W/dpkg.log" >&2; echo "build-image: installing the packages failed" >&2; exit 1; }
chroot "$R" dpkg-query -W voxguard libvoxguard0 >>"$W/dpkg.log"
rm -rf "$R/tmp/debs" "$R/etc/resolv.conf" "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin \
	"$R"/var/cache/apt/archives/*.deb "$R"/var/cache/debconf/*-old "$R"/var/log/apt/* "$R"/var/log/dpkg.log

# The device's own files, then the test variant's.
cp -a "$SRC/device/rootfs/." "$R/"
mkdir -p "$R/etc/systemd/system/voxguardd.service.d"
cp "$R/usr/share/doc/voxguard/examples/voxguardd-tpm2.conf" \
	"$R/etc/systemd/system/voxguardd.service.d/tpm2.conf"
chroot "$R" systemd-sysusers >/dev/null
chroot "$R" systemctl enable voxguard-verify-platform.service vg-voice-app.service \
	vg-health.service >/dev/null 2>&1
chroot "$R" systemctl enable /usr/share/systemd/tmp.mount >/dev/null 2>&1
# Nothing listens and nothing else runs: no getty on the screen (tty1, nor
# tty2-6, which Debian's getty-static starts when there is no logind), no
# timers.
chroot "$R" systemctl mask getty@tty1.service getty-static.service e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer apt-daily.timer apt-daily-upgrade.timer \
	dpkg-db-backup.timer >/dev/null 2>&1 || true
if [ "$VARIANT" = test ]; then
	cp -a "$SRC/device/rootfs-test/." "$R/"
	chroot "$R" systemctl enable systemd-networkd.service >/dev/null 2>&1
	# BlueZ brings D-Bus, and with it systemd-logind, which fails on
	# this read-only root and is restarted until it gives up (a minute
	# per boot): no one logs in on the device.
	chroot "$R" systemctl mask systemd-logind.service >/dev/null 2>&1
else
	chroot "$R" dpkg --purge qemu-guest-agent >>"$W/dpkg.log" 2>&1
fi
rm -f "$R/usr/sbin/policy-rc.d"

# Mount points on the read-only root: the data partition, what is bound
# from it, and the ESP.
mkdir -p "$R/data" "$R/var/lib/voxguard" "$R/var/lib/voxguard-update" "$R/boot/efi"
# No password for any account (locked), a machine id made at first boot.
chroot "$R" passwd -l root >/dev/null
# No set-uid or set-gid program: no one logs in, every service starts with
# the rights its unit gives it (AVS 1.2; `voxguard doctor`'s setuid check).
find "$R" -xdev -type f -perm /6000 -exec chmod ug-s {} +
: >"$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"

# The platform manifest (SFR 4.2.5): the components of this root file
# system, signed with the OEM release key; the key's public half is what
# the factory provisions.
K=$SHARED/keys
if [ ! -f "$K/release.key" ]; then
	mkdir -p "$K"
	chmod 700 "$K"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/release.key" 2>/dev/null
	openssl pkey -in "$K/release.key" -pubout -out "$K/release.pub"
fi
cp "$K/release.pub" "$R/etc/voxguard/release.pub"
# The OEM's PCR-policy key (docs/TPM2.md): the root key the service seals
# at the first start opens only in a boot this key signed for. Its public
# half is in the image (rot_policy_key); each release ships the signed
# PCR values of its own boot (rot_policy, written below).
if [ ! -f "$K/pcr-policy.key" ]; then
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/pcr-policy.key" 2>/dev/null
	openssl pkey -in "$K/pcr-policy.key" -pubout -out "$K/pcr-policy.pub"
fi
cp "$K/pcr-policy.pub" "$R/etc/voxguard/pcr-policy.pub"
chmod 644 "$R/etc/voxguard/pcr-policy.pub"
VERSION=$(dpkg-deb -f "$(ls "$DEBS"/voxguard_*.deb | head -1)" Version)
SECVER=${VG_IMAGE_SECURITY_VERSION:-1}
"$VOXGUARD" manifest create --out "$W/platform.json" --version "$VERSION" \
	--security-version "$SECVER" --oem voxguard --model qemu-speaker --hw-rev x86_64 \
	--root "$R" \
	voxguardd:"$VERSION"=/usr/bin/voxguardd voxguard:"$VERSION"=/usr/bin/voxguard \
	libvoxguard=/usr/lib/x86_64-linux-gnu/libvoxguard.so.0 \
	voxguardd.conf=/etc/voxguard/voxguardd.conf \
	voice-app=/usr/local/bin/vg-voice-app \
	kernel:"$KVER"=/boot/vmlinuz-"$KVER" initrd=/boot/initrd.img-"$KVER" >/dev/null
"$VOXGUARD" manifest sign --key "$K/release.key" "$W/platform.json" >/dev/null
cp "$W/platform.json" "$R/etc/voxguard/platform.json"
cp "$W/platform.json" "$OUT/platform-$KEY.json"
chmod 644 "$R/etc/voxguard/platform.json"

# The file systems.
log "making the file systems"
SLOT_MB=768
DATA_MB=1024
ESP_MB=64
# Slot A's file system is as large as its files need (plus room), not as
# large as the slot: it is also the image an update bundle carries.
ROOT_MB=$(( $(du -sm "$R" | cut -f1) * 11 / 10 + 40 ))
[ $ROOT_MB -le $SLOT_MB ] || { echo "build-image: the root file system needs $ROOT_MB MiB, the slot has $SLOT_MB" >&2; exit 1; }
mke2fs -q -t ext4 -L vg-a -d "$R" "$W/a.img" ${ROOT_MB}M
mke2fs -q -t ext4 -L vg-b "$W/b.img" 64M
# The data partition as delivered: the service's state directory (its
# user's, 0700) and the update agent's (root's, 0700), both empty.
VG_UID=$(chroot "$R" id -u voxguard)
VG_GID=$(chroot "$R" id -g voxguard)
mkdir -p "$W/data/voxguard" "$W/data/voxguard-update"
chown "$VG_UID:$VG_GID" "$W/data/voxguard"
chmod 700 "$W/data/voxguard" "$W/data/voxguard-update"
mke2fs -q -t ext4 -L vg-data -d "$W/data" "$W/data.img" ${DATA_MB}M

# The ESP: GRUB for EFI with the modules it needs built in (it finds its
# configuration and environment block in /grub of the partition it came
# from), the boot script and an empty environment block.
mkdir -p "$W/esp"
grub-mkimage -O x86_64-efi -o "$W/esp/BOOTX64.EFI" -p /grub \
	part_gpt fat ext2 normal linux linuxefi echo test loadenv sleep reboot tpm \
	configfile serial terminal efi_gop all_video boot search
# reboot=acpi: the kernel started by its EFI stub resets through the
# firmware (EFI ResetSystem), which OVMF under QEMU's TCG never finishes
# (a guest reboot hung for 7 minutes at full CPU); QEMU's ACPI reset
# register reboots at once. A device maker sets what its board needs.
BOOTARGS="ro console=ttyS0,115200 quiet systemd.show_status=1 reboot=acpi"
# linuxefi and initrdefi (Debian's GRUB): the kernel starts through its EFI
# stub (the handover protocol), which hands the firmware's TPM event log on
# to the kernel (/sys/kernel/security/tpm0/binary_bios_measurements, what
# a verifier replays against the token's PCR values); plain `linux` on EFI
# skips the stub outside Secure Boot, and the log is lost.
sed -e "s|^set vg_a_root=.*|set vg_a_root=/dev/vda2|" \
	-e "s|^linux |linuxefi |" -e "s|^\(\s*\)initrd |\1initrdefi |" \
	-e "s|^set vg_b_root=.*|set vg_b_root=/dev/vda3|" \
	-e "s|^set vg_kernel=.*|set vg_kernel=/vmlinuz|" \
	-e "s|^set vg_initrd=.*|set vg_initrd=/initrd.img|" \
	-e "s|^set vg_bootargs=.*|set vg_bootargs=\"$BOOTARGS\"|" \
	"$SRC/boot/grub-voxguard.cfg" >"$W/esp/voxguard.cfg"
cat >"$W/esp/grub.cfg" <<'EOF'
# The device image's grub.cfg (device/build-image.sh): the serial console,
# the TPM measuring what GRUB loads (PCR 8: commands and the kernel's
# command line; PCR 9: the files), then voxguard's A/B script.
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
insmod tpm
source ${prefix}/voxguard.cfg
EOF
grub-editenv "$W/esp/grubenv" create
mkfs.vfat -n VG-ESP -C "$W/esp.img" $((ESP_MB * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$W/esp.img" ::/EFI ::/EFI/BOOT ::/grub
mcopy -i "$W/esp.img" "$W/esp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$W/esp.img" "$W/esp/grub.cfg" "$W/esp/voxguard.cfg" "$W/esp/grubenv" ::/grub/

# What the measured boot measures, for the host's verifier (reference.py):
# GRUB (PCR 4, by its Authenticode hash), the files GRUB reads (PCR 9: its
# two scripts, the kernel, the initrd) and the kernel command line it
# gives each slot (PCR 8).
rm -rf "$OUT/boot-$KEY"
mkdir -p "$OUT/boot-$KEY"
cp "$W/esp/BOOTX64.EFI" "$W/esp/grub.cfg" "$W/esp/voxguard.cfg" "$OUT/boot-$KEY/"
cp "$R/boot/vmlinuz-$KVER" "$OUT/boot-$KEY/vmlinuz"
cp "$R/boot/initrd.img-$KVER" "$OUT/boot-$KEY/initrd.img"
for s in a b; do
	dev=/dev/vda2; [ $s = a ] || dev=/dev/vda3
	echo "/vmlinuz root=$dev $BOOTARGS voxguard.slot=$s" >"$OUT/boot-$KEY/cmdline-$s"
done

# The disk: GPT, partition names the fstab and the tests use.
log "assembling the disk"
D=$W/disk.raw
TOTAL_MB=$((1 + ESP_MB + 2 * SLOT_MB + DATA_MB + 1))
rm -f "$D"
truncate -s ${TOTAL_MB}M "$D"
sfdisk -q "$D" <<EOF
label: gpt
start=1MiB, size=${ESP_MB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="vg-esp"
size=${SLOT_MB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="vg-a"
size=${SLOT_MB}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="vg-b"
size=${DATA_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="vg-data"
EOF
OFF_esp=1 SIZE_esp=$ESP_MB
OFF_a=$((OFF_esp + ESP_MB)) SIZE_a=$SLOT_MB
OFF_b=$((OFF_a + SLOT_MB)) SIZE_b=$SLOT_MB
OFF_data=$((OFF_b + SLOT_MB)) SIZE_data=$DATA_MB
for p in esp a b data; do
	eval "off=\$OFF_$p"
	dd if="$W/$p.img" of="$D" bs=1M seek="$off" conv=notrunc,sparse status=none
done

cat >"$W/image.env" <<EOF
# device/build-image.sh: the image $KEY ($VARIANT), built $(date -u +%FT%TZ)
IMAGE_KEY=$KEY
IMAGE_VARIANT=$VARIANT
IMAGE_VERSION=$VERSION
IMAGE_SECURITY_VERSION=$SECVER
KERNEL_VERSION=$KVER
ROOT_MB=$ROOT_MB
# partition offsets and sizes, MiB
OFF_ESP=$OFF_esp SIZE_ESP=$SIZE_esp
OFF_A=$OFF_a SIZE_A=$SIZE_a
OFF_B=$OFF_b SIZE_B=$SIZE_b
OFF_DATA=$OFF_data SIZE_DATA=$SIZE_data
BUILD_SECONDS=$(($(date +%s) - T0))
EOF
# The signed PCR policy of this image's boot (docs/TPM2.md, "The root key
# sealed to the measured boot"): PCRs 0, 2, 4, 7 and 9 as a device boots
# this disk, predicted by device/pcr-predict.py from the firmware's event
# log on the reference device and the boot files above, signed with the
# OEM's PCR-policy key, and written into slot A as /etc/voxguard/pcr-policy.
# The firmware's log is the firmware's, not the image's: it is recorded
# once per OVMF, QEMU and vm.sh by booting this disk on a throwaway TPM
# (the test variant: its guest agent hands the log over), and kept in OUT.
FW_KEY=$( (dpkg-query -W ovmf qemu-system-x86; sha256sum "$SRC/device/vm.sh" | cut -d' ' -f1) |
	sha256sum | cut -c1-16)
FWLOG=$SHARED/firmware-$FW_KEY.eventlog
if [ ! -s "$FWLOG" ]; then
	[ "$VARIANT" = test ] || { echo "build-image: no reference event log of this firmware: build the test image first" >&2; exit 1; }
	log "recording the firmware's event log (a reference boot, about a minute)"
	REF=$W/refboot
	mkdir -p "$REF/tpm"
	cp --sparse=always "$D" "$REF/disk.raw"
	sh "$SRC/device/vm.sh" start "$REF" "$REF/disk.raw" "$REF/tpm" >/dev/null
	if sh "$SRC/device/vm.sh" wait "$REF" 600 >/dev/null &&
		python3 "$SRC/device/qga.py" "$REF/qga.sock" get \
			/sys/kernel/security/tpm0/binary_bios_measurements "$FWLOG.new"; then
		mv "$FWLOG.new" "$FWLOG"
	fi
	sh "$SRC/device/vm.sh" kill "$REF" >/dev/null 2>&1 || true
	[ -s "$FWLOG" ] || { echo "build-image: the reference boot gave no event log (console: $REF/console.log)" >&2; exit 1; }
	rm -rf "$REF"
fi
cp "$FWLOG" "$OUT/boot-$KEY/firmware.eventlog"
# shellcheck disable=SC2046 # the PCR=VALUE words
"$VOXGUARD" pcr-policy sign --key "$K/pcr-policy.key" --out "$W/pcr-policy" \
	$(python3 "$SRC/device/pcr-predict.py" --firmware-log "$FWLOG" --boot-dir "$OUT/boot-$KEY") >/dev/null
debugfs -w -R "write $W/pcr-policy /etc/voxguard/pcr-policy" "$W/a.img" >/dev/null 2>&1
debugfs -w -R "set_inode_field /etc/voxguard/pcr-policy mode 0100644" "$W/a.img" >/dev/null 2>&1
debugfs -R "cat /etc/voxguard/pcr-policy" "$W/a.img" 2>/dev/null | cmp -s - "$W/pcr-policy" ||
	{ echo "build-image: cannot write the PCR policy into slot A" >&2; exit 1; }
dd if="$W/a.img" of="$D" bs=1M seek="$OFF_a" conv=notrunc,sparse status=none

# Keep the slot A file system image: updates are built from it.
mv "$W/a.img" "$OUT/slot-a-$KEY.img"
mv "$D" "$OUT/disk-$KEY.raw"
mv "$W/image.env" "$OUT/image-$KEY.env"
# Older images go; the base stays.
for f in "$OUT"/disk-*.raw "$OUT"/image-*.env "$OUT"/slot-a-*.img "$OUT"/platform-*.json; do
	case $f in *"$KEY"*) ;; *) rm -f "$f" ;; esac
done
for d in "$OUT"/boot-*; do
	case $d in *"$KEY") ;; *) rm -rf "$d" ;; esac
done
ln -sf "disk-$KEY.raw" "$OUT/disk.raw"
ln -sf "image-$KEY.env" "$OUT/image.env"
ln -sf "slot-a-$KEY.img" "$OUT/slot-a.img"
ln -sf "platform-$KEY.json" "$OUT/platform.json"
ln -sfn "boot-$KEY" "$OUT/boot"
rm -rf "$W"
log "done: $OUT/disk.raw ($KEY, $(($(date +%s) - T0)) s)"
