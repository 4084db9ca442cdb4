#!/bin/sh
# device/guest-tests/kernel-features.sh: runs inside the booted device
# image, as root (device/device-test.sh, step 6; docs/DEVICE.md, "Tests
# inside the guest"). The build machine's kernel has no Bluetooth, uinput
# or dm-verity; the image's Debian kernel has them, so tests that need
# them run here. This one checks that they are there for such tests: each
# module loads and its interface appears.
#
# A guest test prints "ok - ..." or "not ok - ..." lines (the host counts
# them into the device test's result) and may print "# ..." comments.
# It runs with `sh FILE` from /run (no exec bit needed there).
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi; }

check "guest kernel: uinput loads and /dev/uinput appears" \
	sh -c 'modprobe uinput && i=0 && while [ ! -c /dev/uinput ] && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done; [ -c /dev/uinput ]'
check "guest kernel: dm-verity loads (device-mapper, /dev/mapper/control)" \
	sh -c 'modprobe dm-verity && test -d /sys/module/dm_verity && test -c /dev/mapper/control'
check "guest kernel: Bluetooth loads" \
	sh -c 'modprobe bluetooth && test -d /sys/module/bluetooth'
