#!/bin/sh
# device/guest-tests/doctor.sh: runs inside the booted device image, as
# root (device/device-test.sh, step 7; docs/DEVICE.md, "Tests inside the
# guest"). AVS 1.2 (device hardening) and the AVS Device SDK's exploit
# mitigation and least privilege rules: `voxguard doctor` audits the
# running device (/proc, /sys, its files) and must find nothing of
# severity high. What it does find (medium, low, info) is listed as "# "
# comments for the reviewer; docs/HARDENING.md explains each id.
#
# A guest test prints "ok - ..." or "not ok - ..." lines (the host counts
# them into the device test's result) and may print "# ..." comments.
# It runs with `sh FILE` from /run (no exec bit needed there). The image
# has no python3: the JSON is checked with grep, the verdict is the exit
# status of --fail-on high (0: no finding at or above high).
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
skip() { echo "# skip: $*"; }

VG=${VOXGUARD:-voxguard}
if ! command -v "$VG" >/dev/null 2>&1; then
	skip "voxguard doctor: no voxguard CLI in the image"
	exit 0
fi
OUT=/run/doctor.$$
mkdir -m 0700 "$OUT" || { not_ok "voxguard doctor: a work directory in /run"; exit 0; }
trap 'rm -rf "$OUT"' EXIT

"$VG" doctor --json >"$OUT/report.json" 2>"$OUT/err"
rc=$?
if [ $rc = 0 ] || [ $rc = 1 ]; then
	ok "AVS 1.2: voxguard doctor --json ran on the device (exit $rc)"
else
	not_ok "AVS 1.2: voxguard doctor --json ran on the device (exit $rc: $(head -1 "$OUT/err"))"
	exit 0
fi
if grep -q '"format": "voxguard-doctor/1"' "$OUT/report.json" &&
	grep -q '"mode": "running"' "$OUT/report.json"; then
	ok "AVS 1.2: the JSON report is the running device's (format voxguard-doctor/1)"
else
	not_ok "AVS 1.2: the JSON report is the running device's (format voxguard-doctor/1)"
fi
high=$(grep -c '"severity": "high"' "$OUT/report.json")

"$VG" doctor --fail-on high >"$OUT/report.txt" 2>>"$OUT/err"
rc=$?
if [ $rc = 0 ] && [ "$high" = 0 ]; then
	ok "AVS 1.2: voxguard doctor finds nothing of severity high on the device"
else
	not_ok "AVS 1.2: voxguard doctor finds nothing of severity high on the device (exit $rc, $high high)"
fi
# What it found, for the reviewer: findings (not their fix lines) and
# the state of each check.
# The image's own hardening (device/rootfs/etc/sysctl.d, no set-uid
# files: device/build-image.sh).
if grep -Eq '^[a-z]+ +(sysctl\.weak|coredump\.|setuid\.)' "$OUT/report.txt"; then
	not_ok "AVS 1.2: no weak kernel setting, core dump or set-uid file on the device"
else
	ok "AVS 1.2: no weak kernel setting, core dump or set-uid file on the device"
fi
grep -v '^ *fix: ' "$OUT/report.txt" | grep -Ev '^(low|info) ' | head -60 | sed 's/^/# /'
echo "# ($(grep -Ec '^(low|info) ' "$OUT/report.txt") low and info findings not listed)"
exit 0
