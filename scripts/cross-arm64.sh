#!/bin/sh
# Cross-builds voxguard for arm64 with Debian 12's cross toolchain and
# multiarch -dev packages, checks the binaries (aarch64 ELF, hardening),
# and runs the unit tests under qemu-user (`make cross-arm64`;
# docs/DEVICE.md, "Cross builds, Yocto and Buildroot"):
#
#   scripts/cross-arm64.sh [BUILDDIR]      (default: build-arm64/)
#
# Environment: JOBS (default 2, never more: the build machine has 2
# cores), VG_CROSS_NO_DEPS=1 skips scripts/install-deps.sh --cross-arm64,
# VG_CROSS_NO_TESTS=1 builds and checks without running the tests.
# Each step prints how long it took.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-arm64}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
triplet=aarch64-linux-gnu
jobs=${JOBS:-2}
[ "$jobs" -le 2 ] 2>/dev/null || jobs=2

step_start=0
step() { step_start=$(date +%s); echo "cross-arm64: $*"; }
done_step() { echo "cross-arm64: $1: $(($(date +%s) - step_start)) s"; }

if [ "${VG_CROSS_NO_DEPS:-0}" != 1 ]; then
	step "deps (scripts/install-deps.sh --cross-arm64)"
	sh "$src/scripts/install-deps.sh" --cross-arm64
	done_step deps
fi

# libwebsockets-dev:arm64 (Debian 12: 4.1.6-3) is Multi-Arch: same but
# ships an architecture-specific /usr/include/lws_config.h, so dpkg refuses
# it beside the amd64 one. Unpack it into $out/deps/ instead (its library,
# libwebsockets17:arm64, is installed) and point pkg-config there; cached
# by the package's version.
mkdir -p "$out/deps"
pcpath=
if ! dpkg-query -W -f='${Status}' "libwebsockets-dev:arm64" 2>/dev/null | grep -q "install ok installed"; then
	ver=$(dpkg-query -W -f='${Version}' libwebsockets17:arm64)
	lws=$out/deps/libwebsockets-dev-$ver
	if [ ! -f "$lws/.done" ]; then
		step "unpacking libwebsockets-dev:arm64 $ver into $lws"
		rm -rf "$lws"
		mkdir -p "$lws/debs"
		# As root, apt's _apt user could not write here: no sandbox then.
		sandbox=
		[ "$(id -u)" -ne 0 ] || sandbox="-o APT::Sandbox::User=root"
		# shellcheck disable=SC2086
		(cd "$lws/debs" && apt-get download -q $sandbox "libwebsockets-dev:arm64=$ver" >/dev/null)
		dpkg-deb -x "$lws"/debs/libwebsockets-dev_*_arm64.deb "$lws/root"
		pc=$lws/root/usr/lib/$triplet/pkgconfig/libwebsockets.pc
		sed -i "s|^prefix=.*|prefix=\"$lws/root/usr\"|" "$pc"
		# libwebsockets.so points at the installed libwebsockets.so.17.
		ln -sf "/usr/lib/$triplet/libwebsockets.so.17" "$lws/root/usr/lib/$triplet/libwebsockets.so"
		touch "$lws/.done"
		done_step unpack
	fi
	pcpath=$lws/root/usr/lib/$triplet/pkgconfig
fi

step "configure ($out)"
cmake -S "$src" -B "$out" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-$triplet.cmake" \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVG_CROSS_PKG_CONFIG_PATH="$pcpath" >"$out/configure.log" 2>&1 ||
	{ tail -n 30 "$out/configure.log" >&2; exit 1; }
done_step configure

step "build (-j $jobs)"
cmake --build "$out" -j "$jobs" >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log" >&2; echo "cross-arm64: build failed (log: $out/build.log)" >&2; exit 1; }
done_step build

# What is shipped: the programs, the library and the provider module.
bins="$out/voxguardd $out/voxguard $out/voxguard-displayd $out/voxguard.so"
bins="$bins $(ls "$out"/libvoxguard.so.*.*.* 2>/dev/null || echo "$out/libvoxguard.so.0")"
fail=0
for f in $bins; do
	desc=$(file -b "$f")
	case $desc in
	*"ELF 64-bit"*"ARM aarch64"*) echo "cross-arm64: $f: aarch64 ELF" ;;
	*) echo "cross-arm64: $f: not an aarch64 ELF: $desc" >&2; fail=1 ;;
	esac
done
# shellcheck disable=SC2086
sh "$src/scripts/check-hardening.sh" $bins || fail=1
[ $fail -eq 0 ] || { echo "cross-arm64: binary checks failed" >&2; exit 1; }

if [ "${VG_CROSS_NO_TESTS:-0}" = 1 ]; then
	echo "cross-arm64: tests skipped (VG_CROSS_NO_TESTS=1)"
	exit 0
fi
# The unit tests (label "unit", tests/CMakeLists.txt) under qemu-user
# through CMAKE_CROSSCOMPILING_EMULATOR; the integration tests need the
# service running as root with swtpm, nginx, ... on the build machine.
step "unit tests under $(grep -m1 '^VG_QEMU_AARCH64:' "$out/CMakeCache.txt" | cut -d= -f2) (ctest -L unit -j $jobs)"
cd "$out"
rc=0
ctest -L unit -j "$jobs" --output-on-failure >"$out/ctest.log" 2>&1 || rc=$?
grep -E '^[0-9]+% tests passed|tests failed out of|\(Failed\)|\(Timeout\)|\*\*\*|Not Run|Disabled|Skipped' "$out/ctest.log" || true
done_step "unit tests"
[ $rc -eq 0 ] || echo "cross-arm64: unit tests failed (log: $out/ctest.log)" >&2
exit $rc
