#!/bin/sh
# Installs the Debian 12 packages voxguard needs to build, test, fuzz and
# benchmark, when they are missing. Idempotent; needs root (apt-get) only
# when something is actually missing.
#
#   scripts/install-deps.sh               what make, make check need
#   scripts/install-deps.sh --cross-arm64 what make cross-arm64 needs
#                                         (scripts/cross-arm64.sh) instead
set -eu

# The arm64 cross build (docs/DEVICE.md, "Cross builds, Yocto and
# Buildroot"): Debian's cross toolchain, the arm64 multiarch -dev packages
# of CMakeLists.txt's pkg_check_modules (and cmocka for the unit tests),
# and qemu-user-static to run the unit tests. A flag of its own, so that
# make and make check never pull in arm64 packages.
if [ "${1:-}" = --cross-arm64 ]; then
    # Multi-Arch: same libraries must be at one version on both
    # architectures: apt upgrades the amd64 ones (libssl3, ...) to match.
    PKGS="crossbuild-essential-arm64 cmake pkg-config file binutils qemu-user-static"
    # libwebsockets-dev:arm64 cannot be installed beside the amd64 one
    # (both ship a different /usr/include/lws_config.h): only its library
    # and the libcap the .pc requires here; cross-arm64.sh unpacks the -dev
    # package into build-arm64/deps/.
    for p in libssl-dev libsqlite3-dev libcbor-dev libjansson-dev libseccomp-dev \
        libcurl4-openssl-dev libtss2-dev libwebsockets17 libcap-dev libcmocka-dev; do
        PKGS="$PKGS $p:arm64"
    done
    NEED_ARCH=arm64
else
    NEED_ARCH=
fi

if [ -z "$NEED_ARCH" ]; then
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev llvm
libssl-dev openssl libsqlite3-dev sqlite3 libcbor-dev libjansson-dev nodejs
libcmocka-dev libsystemd-dev libseccomp-dev binutils file procps libcrypt-dev
libtss2-dev swtpm swtpm-tools tpm2-tools libcurl4-openssl-dev python3 faketime time bc
libubootenv-tool grub-common swupdate cpio ca-certificates
nftables iproute2 socat"
# The units' least-privilege test (test_sdk_units): systemd-analyze
# security --offline and verify; setpriv (util-linux) runs the unit's user.
PKGS="$PKGS systemd util-linux"
# The OpenSSL provider's interop test (test_sfr427_mtls_interop): nginx
# and curl as the mutual-TLS peers.
PKGS="$PKGS nginx curl"
# The audio stream test (test_sfr428_n7_stream): real speech from espeak-ng,
# converted by sox to 16 kHz mono and 48 kHz stereo raw audio.
PKGS="$PKGS espeak-ng sox"
# The display IPC guard: libwebsockets for voxguard-displayd, and Debian's
# chromium as the display client in its tests (AVS 1.14).
PKGS="$PKGS libwebsockets-dev chromium"
# The Debian packages (make deb, test_deb): dpkg-buildpackage with
# debhelper, checked by lintian.
PKGS="$PKGS dpkg-dev debhelper lintian"
# The reproducible-build test (test_alc_reproducible): diffoscope explains
# a difference between two builds (about 1 MB without its recommends).
PKGS="$PKGS diffoscope-minimal"
# The bash completion's test (test_agd_completion) runs it with
# bash-completion's helpers loaded, as on a device, and without them.
PKGS="$PKGS bash-completion"
# The device image and its test (make image, make device-test; docs/DEVICE.md):
# debootstrap for the root file system, GRUB for EFI, the file-system tools
# that fill partitions without mounting them, QEMU with OVMF as firmware
# and swtpm (above) as the TPM.
PKGS="$PKGS debootstrap grub-efi-amd64-bin dosfstools mtools fdisk e2fsprogs
qemu-system-x86 qemu-utils ovmf"
# The device test's measured-boot check (device/reference.py): pesign for
# the Authenticode hash the firmware measures GRUB by, tpm2-tools (above)
# to replay the event log, python3-yaml to read what it says.
PKGS="$PKGS pesign python3-yaml"
# The Yocto and Buildroot checker (integration/check_recipes.py,
# test_integration_recipes): a real Kconfig parser for Config.in.
PKGS="$PKGS python3-kconfiglib"
# The SBOM and vulnerability report (make sbom, test_avs113_sbom;
# scripts/sbom.py, scripts/vulnreport.py): the SPDX schema check and the
# SPDX licence list with its expression checker.
PKGS="$PKGS python3-jsonschema python3-license-expression"

# npm for the tuf-js interop test: Debian's package when the Node.js
# installed does not bring its own.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "install-deps: missing packages:$missing (run as root)" >&2
        exit 2
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$NEED_ARCH" ] && ! dpkg --print-foreign-architectures | grep -qx "$NEED_ARCH"; then
    $SUDO dpkg --add-architecture "$NEED_ARCH"
fi
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
