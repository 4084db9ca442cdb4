#!/bin/sh
# make bench: runs bench/vg_bench against the built service. Each figure is
# a ratio against a baseline measured in the same run. Record results in
# docs/BENCHMARKS.md.
set -eu
build=${1:-build}
secs=${BENCH_SECONDS:-2}
[ -x "$build/bench/vg_bench" ] || { echo "bench: build first (make)"; exit 2; }
echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
"$build/bench/vg_bench" "$build/voxguardd" "$secs"

# TLS with the client key in the service (issue 12): mutual-TLS 1.3
# handshakes through the provider against a key in a PEM file.
case ${BENCH_ONLY:-tls} in
*tls*)
	echo
	"$build/bench/tls_bench" "$build/voxguardd" "${BENCH_TLS_SECONDS:-5}" || true
	;;
esac

# The trusted TUF root kept by the service (issue #4): `update check`
# against the same client with root.json on disk; scripts/bench-tuf.sh.
case ${BENCH_ONLY:-tuf} in
*tuf*)
	echo
	TB=$(mktemp -d /var/tmp/vgbench-tuf.XXXXXX)
	sh "$(dirname "$0")/bench-tuf.sh" "$build/voxguard" "$build/voxguardd" "$TB" || true
	rm -rf "$TB"
	;;
esac

# Hostile neighbours (issue 11): a well-behaved client alone and under
# four kinds of attack from other uids; scripts/bench-hostile.sh (root).
case ${BENCH_ONLY:-hostile} in
*hostile*)
	echo
	sh "$(dirname "$0")/bench-hostile.sh" "$build" "${BENCH_HOSTILE_SECONDS:-8}" || true
	;;
esac

# The TLS channel (issue 12): bulk throughput through vg_tls_read/write
# with an endpoint's policy against plain OpenSSL, same suite, same run.
case ${BENCH_ONLY:-tls} in
*tls*)
	echo
	if [ -x "$build/bench/tls_bulk_bench" ]; then
		"$build/bench/tls_bulk_bench" "${BENCH_TLS_MIB:-256}" 5 || true
	else
		echo "bench: tls_bulk_bench not built"
	fi
	;;
esac

# Audio streams (issue 13): SFrame seal and open of 20 ms frames of 48 kHz
# stereo vs raw EVP AES-128-GCM on the same frames, in process, and the
# share of one core a real-time stream costs.
case ${BENCH_ONLY:-sframe} in
*sframe*)
	echo
	if [ -x "$build/bench/sframe_bench" ]; then
		"$build/bench/sframe_bench" "${BENCH_SFRAME_ROUNDS:-7}" || true
	else
		echo "bench: sframe_bench not built"
	fi
	# HPKE set-ups: decapsulation in the service vs in process vs one
	# raw X25519 derivation.
	if [ -x "$build/bench/stream_bench" ]; then
		echo
		"$build/bench/stream_bench" "$build/voxguardd" "${BENCH_STREAM_SECONDS:-1}" || true
	else
		echo "bench: stream_bench not built"
	fi
	;;
esac

# Update install (issue #4): `voxguard bundle install` of a 256 MiB and a
# 1 GiB image into a slot file, against `cat IMAGE > SLOT` and `sha256sum
# IMAGE` in the same run (page cache warm for all three; median of 3), and
# the install's peak RSS. Skipped with BENCH_ONLY set to anything else.
case ${BENCH_ONLY:-install} in *install*) ;; *) exit 0 ;; esac
V=$build/voxguard
B=$(mktemp -d /var/tmp/vgbench-install.XXXXXX)
trap 'rm -rf "$B"' EXIT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$B/k" 2>/dev/null
openssl pkey -in "$B/k" -pubout -out "$B/p"
t() { s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
median3() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -g | sed -n 2p; }
echo
printf '%-44s %12s %12s %12s %10s %10s %12s\n' "update install (MiB/s, median of 3)" voxguard "cat>slot" sha256sum "vs cat" "vs sha256" "peak RSS"
for mib in 256 1024; do
	head -c $((mib * 1048576)) /dev/urandom >"$B/img"
	"$V" bundle create --out "$B/b" --version 1 --key "$B/k" rootfs="$B/img" >/dev/null
	cat "$B/b" "$B/img" >/dev/null
	set -- ; for i in 1 2 3; do set -- "$@" "$(t "$V" bundle install --key "$B/p" --image rootfs --slot "$B/slot" "$B/b")"; done
	ours=$(median3 "$@")
	set -- ; for i in 1 2 3; do set -- "$@" "$(t sh -c "cat '$B/img' > '$B/slot2'")"; done
	cat_t=$(median3 "$@")
	set -- ; for i in 1 2 3; do set -- "$@" "$(t sha256sum "$B/img")"; done
	sha_t=$(median3 "$@")
	/usr/bin/time -f %M -o "$B/rss" "$V" bundle install --key "$B/p" --image rootfs --slot "$B/slot" "$B/b" >/dev/null
	printf '%-44s %12.0f %12.0f %12.0f %10.2f %10.2f %9s KiB\n' "$mib MiB image into a slot file" \
		"$(echo "$mib / $ours" | bc -l)" "$(echo "$mib / $cat_t" | bc -l)" "$(echo "$mib / $sha_t" | bc -l)" \
		"$(echo "$cat_t / $ours" | bc -l)" "$(echo "$sha_t / $ours" | bc -l)" "$(cat "$B/rss")"
	rm -f "$B/img" "$B/b" "$B/slot" "$B/slot2"
done

# Debian's SWUpdate side by side (issue #4): the same image into a slot
# file, and the tampered-bundle experiment; scripts/bench-swupdate.sh.
if command -v swupdate >/dev/null 2>&1 && command -v cpio >/dev/null 2>&1; then
	echo
	for mib in 256 1024; do
		SWU_TAMPER_MIB=$([ $mib = 256 ] && echo 64 || echo 0) \
			sh "$(dirname "$0")/bench-swupdate.sh" "$V" "$B" "$mib"
	done
else
	echo "bench: swupdate or cpio not installed, SWUpdate comparison skipped"
fi

# In the device image under QEMU (docs/DEVICE.md): boot, platform
# verification and a 256 MiB install, each against its baseline in the
# same guest. Needs the image (make image, as root); skipped without it.
IMG_DIR=$(dirname "$0")/../build-image
if [ -f "$IMG_DIR/image.env" ] && [ "$(id -u)" = 0 ]; then
	echo
	sh "$(dirname "$0")/bench-device.sh" "$IMG_DIR" 3
else
	echo "bench: no device image (make image, as root): the in-guest figures skipped"
fi
