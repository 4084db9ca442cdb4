#!/bin/sh
# device/shell.sh IMAGEDIR: `make device-shell`. Boots a copy of the device
# image in QEMU with a root console on this terminal (the test variant's
# virtio console, hvc0), for a developer to look around. The copy and its
# TPM live in $VG_SHELL_RUN (default /var/tmp/vg-device-shell) and are kept
# between shells; `VG_SHELL_FRESH=1` starts again from the built image.
# Leave with `poweroff` (Ctrl-C goes to the guest). The serial console (GRUB,
# the kernel, systemd) is in $VG_SHELL_RUN/console.log.
set -eu
IMG=${1:?usage: shell.sh IMAGEDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
RUN=${VG_SHELL_RUN:-/var/tmp/vg-device-shell}
. "$IMG/image.env"
[ "$IMAGE_VARIANT" = test ] || { echo "device-shell: the $IMAGE_VARIANT image has no console; build the test variant" >&2; exit 2; }
mkdir -p "$RUN"
if [ "${VG_SHELL_FRESH:-0}" = 1 ] || [ ! -f "$RUN/disk.raw" ] || [ "$(cat "$RUN/image-key" 2>/dev/null)" != "$IMAGE_KEY" ]; then
	rm -rf "$RUN/tpm" "$RUN/OVMF_VARS.fd"
	cp --sparse=always "$IMG/disk.raw" "$RUN/disk.raw"
	echo "$IMAGE_KEY" >"$RUN/image-key"
fi
echo "device-shell: booting $IMAGE_KEY under QEMU (TCG, about a minute); leave with poweroff"
echo "device-shell: serial console in $RUN/console.log"
exec sh "$HERE/vm.sh" start "$RUN" "$RUN/disk.raw" "$RUN/tpm" shell
