#!/bin/sh
# scripts/bench-device.sh IMAGEDIR: voxguard's figures inside the device
# image (docs/DEVICE.md), booted in QEMU (TCG) as the device test boots it,
# each against a baseline measured in the same guest in the same run
# (docs/BENCHMARKS.md, "On the device"):
#
#   boot       voxguardd's own start (from its ExecStart to READY=1, the
#              root key unsealed by the TPM) against the whole boot to
#              multi-user.target, both as systemd timed them
#   verify     `voxguard verify-platform` (the service measures every
#              component of the manifest) against `sha256sum` of the same
#              files, page cache dropped before each
#   install    `voxguard update install --no-activate` of a 256 MiB bundle
#              (verify, write slot B, read back) against `dd` of the same
#              image into the same partition with conv=fsync, and against
#              that dd plus a sha256sum of the image
#
# The guest is a fresh device (a new TPM), provisioned with the image's
# release key; the bundle is made in the guest with that (development) key,
# so that 256 MiB need not cross the guest agent. Prints one line per
# figure; RUNS (default 3) repeats verify and install.
set -eu
IMG=$(cd "${1:?usage: bench-device.sh IMAGEDIR [RUNS]}" && pwd)
RUNS=${2:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$IMG/image.env"
RUN=$(mktemp -d /var/tmp/vg-bench-device.XXXXXX)
VM="sh $SRC/device/vm.sh"
trap '$VM kill "$RUN" 2>/dev/null || true; rm -rf "$RUN"' EXIT INT TERM
G() { python3 "$SRC/device/qga.py" "$RUN/qga.sock" exec --timeout 900 -- "$@"; }
GSH() { G /bin/sh -c "$1"; }
V="voxguard --socket /run/voxguard/voxguard.sock"
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# Microseconds a guest command line takes, from a cold page cache; it
# stops the bench when the command fails.
gtime() {
	GSH "sync; echo 3 >/proc/sys/vm/drop_caches; s=\$(date +%s%N); $1 >/run/gtime.out 2>&1 || { cat /run/gtime.out >&2; exit 1; }; e=\$(date +%s%N); echo \$(( (e - s) / 1000 ))"
}

cp --sparse=always "$IMG/disk.raw" "$RUN/disk.raw"
t0=$(date +%s)
$VM start "$RUN" "$RUN/disk.raw" "$RUN/tpm"
$VM wait "$RUN" 600 >/dev/null
GSH 'systemctl is-system-running --wait >/dev/null 2>&1; true' >/dev/null
echo "device bench: image $IMAGE_KEY, up in $(($(date +%s) - t0)) s (host clock, TCG)"

# Boot: systemd's monotonic timestamps, microseconds.
ts() { G /bin/systemctl show -p "$2" --value "$1" | tr -d '\r\n'; }
d_start=$(ts voxguardd.service ExecMainStartTimestampMonotonic)
d_ready=$(ts voxguardd.service ActiveEnterTimestampMonotonic)
mu=$(ts multi-user.target ActiveEnterTimestampMonotonic)
echo "boot: voxguardd start to ready $(echo "$d_start $d_ready" | awk '{ printf "%.2f", ($2 - $1) / 1e6 }') s," \
	"boot to multi-user.target $(echo "$mu" | awk '{ printf "%.2f", $1 / 1e6 }') s:" \
	"ratio $(echo "$d_start $d_ready $mu" | awk '{ printf "%.3f", ($2 - $1) / $3 }') of the boot"

# Factory step, so that the manifest is verified (not 'unverified').
GSH "$V provision --oem voxguard --model qemu-speaker --hw-rev x86_64 --release-key /etc/voxguard/release.pub --setup-code-out /run/code >/dev/null"

# Verify: the manifest's component paths, hashed by sha256sum in the guest.
FILES=$(python3 -c 'import json,sys; print(" ".join(c["path"] for c in json.load(open(sys.argv[1]))["signed"]["components"]))' "$IMG/platform.json")
i=0
: >"$RUN/v.vg"
: >"$RUN/v.sha"
while [ $i -lt "$RUNS" ]; do
	i=$((i + 1))
	gtime "$V verify-platform" >>"$RUN/v.vg"
	gtime "sha256sum $FILES" >>"$RUN/v.sha"
done
VG=$(med <"$RUN/v.vg")
SHA=$(med <"$RUN/v.sha")
echo "verify: voxguard verify-platform $(echo "$VG" | awk '{ printf "%.1f", $1 / 1000 }') ms," \
	"sha256sum of the same files $(echo "$SHA" | awk '{ printf "%.1f", $1 / 1000 }') ms (medians of $RUNS, cold cache):" \
	"ratio $(echo "$SHA $VG" | awk '{ printf "%.2f", $1 / $2 }')"

# Install: a 256 MiB image in a bundle, made in the guest.
python3 "$SRC/device/qga.py" "$RUN/qga.sock" put "$IMG/keys/release.key" /run/release.key
GSH "head -c 268435456 /dev/urandom >/data/bench.img"
i=0
: >"$RUN/i.vg"
: >"$RUN/i.dd"
: >"$RUN/i.sha"
while [ $i -lt "$RUNS" ]; do
	i=$((i + 1))
	# A new bundle each run (its own version): the same one again would
	# be resumed (chunks already in the slot are kept), not written.
	GSH "rm -f /data/bench.vgb && voxguard bundle create --out /data/bench.vgb --version 9.9.$i --security-version 1 --key /run/release.key rootfs=/data/bench.img >/dev/null"
	gtime "$V update install --no-activate /data/bench.vgb" >>"$RUN/i.vg"
	gtime "dd if=/data/bench.img of=/dev/vda3 bs=1M conv=fsync status=none" >>"$RUN/i.dd"
	# The hashing a verified write cannot skip, alone: sha256sum of the image.
	gtime "sha256sum /data/bench.img" >>"$RUN/i.sha"
done
IV=$(med <"$RUN/i.vg")
ID=$(med <"$RUN/i.dd")
echo "install: update install of 256 MiB $(echo "$IV" | awk '{ printf "%.2f", $1 / 1e6 }') s," \
	"dd of the same image $(echo "$ID" | awk '{ printf "%.2f", $1 / 1e6 }') s (medians of $RUNS, cold cache):" \
	"ratio $(echo "$ID $IV" | awk '{ printf "%.2f", $1 / $2 }')"
IS=$(med <"$RUN/i.sha")
echo "install: against dd plus sha256sum of the image ($(echo "$IS" | awk '{ printf "%.2f", $1 / 1e6 }') s," \
	"the least a verified write does): ratio $(echo "$ID $IS $IV" | awk '{ printf "%.2f", ($1 + $2) / $3 }')"
GSH 'rm -f /run/release.key /data/bench.img /data/bench.vgb' >/dev/null
$VM stop "$RUN"
