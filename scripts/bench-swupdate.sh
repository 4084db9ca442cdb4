#!/bin/sh
# bench-swupdate.sh VOXGUARD_BIN WORKDIR SIZE_MIB
#
# Issue #4: Debian's SWUpdate (swupdate 2022.12, raw handler,
# installed-directly = true) side by side with `voxguard bundle install`,
# both installing the same random SIZE_MIB image into a slot file, with
# `sha256sum IMAGE` as the common baseline. Then the tamper experiment
# (SWU_TAMPER_MIB, default 64; 0 skips it): one byte of the image payload
# changed in the first and in the last 1 MiB chunk of the .swu and of the
# bundle, and how many bytes of the slot each installer changed before it
# refused the update. Prints machine-readable lines (docs/BENCHMARKS.md):
#
#   sha256sum_256 seconds=... mib_s=... runs=a/b/c
#   swupdate_install_256 seconds=... slot_done=... mib_s=... vs_sha256=... rss_kib=... runs=a/b/c
#   voxguard_install_256 ...
#   tamper_first mib=64 swupdate_bytes=... swupdate_unverified=... swupdate_rejected=yes ...
#   tamper_last  ...
#
# seconds: wall clock of the whole command (/usr/bin/time %e), best of 3,
# page cache warm. slot_done: from the start of the command to the last
# write into the slot (the slot's mtime), best of 3; for SWUpdate this
# leaves out the up-to-1-s status poll of its `-i` client (ipc_wait_for_
# complete() sleeps 1 s between polls), for voxguard the final fsync.
# rss_kib: peak RSS (/usr/bin/time %M: the largest process of the tree),
# highest of the 3 runs. median: of the 3 wall-clock times (SWUpdate's is
# bimodal: the 1-s poll is usually, not always, hit).
#
# SWUpdate as Debian builds it needs: a CMS-signed sw-description (the
# build has signed images on; -k takes the signer's certificate), a
# hardware revision (-H, since there is no /etc/hwrevision) matching
# sw-description's hardware-compatibility, and an existing slot (the raw
# handler opens it O_RDWR, no O_CREAT). No config file (-f), no daemon, no
# pre/post-update hooks; TMPDIR is private so its IPC sockets do not meet
# another instance's. Run as root, both installers are run as `nobody`
# (setpriv): neither needs privileges for a file slot. WORKDIR is a
# scratch directory; when run as root it is made traversable (a+x).
set -eu
umask 022
[ $# -eq 3 ] || { echo "usage: $0 VOXGUARD_BIN WORKDIR SIZE_MIB" >&2; exit 2; }
V=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
W=$2
MIB=$3
TMIB=${SWU_TAMPER_MIB:-64}
for c in swupdate cpio openssl bc cmp od dd sha256sum; do
	command -v "$c" >/dev/null 2>&1 || { echo "bench-swupdate: $c not found" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench-swupdate: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }
[ -x "$V" ] || { echo "bench-swupdate: $V is not executable" >&2; exit 2; }
MB=1048576
D=$(cd "$W" && pwd)/swu
rm -rf "$D"
mkdir -p "$D/tmp"
trap 'rm -rf "$D"' EXIT

# Unprivileged when we can be.
AS=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	chmod a+x "$W"
	chown nobody "$D" "$D/tmp"
	AS="setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
	$AS test -w "$D/tmp" || { AS=; echo "# bench-swupdate: $W is not reachable for nobody; running as root"; }
fi
own() { [ -z "$AS" ] || chown nobody "$@"; }

# Keys: a throwaway P-256 release key for voxguard, a self-signed P-256
# certificate for SWUpdate's CMS signature.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/vg.key" 2>/dev/null
openssl pkey -in "$D/vg.key" -pubout -out "$D/vg.pub"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/O=voxguard bench/CN=swupdate-bench" -keyout "$D/sw.key" -out "$D/sw.crt" 2>/dev/null

SWU_CMD="swupdate -k $D/sw.crt -H bench:1.0 -i"
echo "# swupdate $(dpkg-query -W -f '${Version}' swupdate 2>/dev/null || echo '?'): TMPDIR=$D/tmp ${AS:+$AS }$SWU_CMD U.SWU"
echo "# voxguard: ${AS:+$AS }$V bundle install --key vg.pub --image rootfs --slot SLOT U.VGB"

# mkswu DIR SLOT: DIR/rootfs.img -> DIR/u.swu (sw-description, its CMS
# signature, the image; cpio -H crc); sets SWU_OFF (the image's first byte
# in the .swu) and SWU_HDR (its cpio header).
mkswu() {
	h=$(sha256sum "$1/rootfs.img" | cut -d' ' -f1)
	cat >"$1/sw-description" <<EOF
software =
{
	version = "1.0.0";
	hardware-compatibility: [ "1.0" ];
	images: (
		{
			filename = "rootfs.img";
			device = "$2";
			type = "raw";
			sha256 = "$h";
			installed-directly = true;
		}
	);
}
EOF
	openssl cms -sign -in "$1/sw-description" -out "$1/sw-description.sig" -signer "$D/sw.crt" \
		-inkey "$D/sw.key" -outform DER -nosmimecap -binary
	(cd "$1" && printf 'sw-description\nsw-description.sig\nrootfs.img\n' | cpio -o -H crc --quiet >u.swu)
	# newc/crc: 110-byte header + name + NUL padded to 4, data padded to 4.
	p4() { echo $((($1 + 3) / 4 * 4)); }
	SWU_HDR=$((128 + $(p4 "$(wc -c <"$1/sw-description")") + 132 + $(p4 "$(wc -c <"$1/sw-description.sig")")))
	SWU_OFF=$((SWU_HDR + 124))
	if [ "$(dd if="$1/u.swu" bs=1 skip="$SWU_HDR" count=6 2>/dev/null)" != 070702 ] ||
		! cmp -s -n 65536 -i "$SWU_OFF:0" "$1/u.swu" "$1/rootfs.img"; then
		echo "bench-swupdate: unexpected cpio layout" >&2
		exit 1
	fi
	rm -f "$1/sw-description" "$1/sw-description.sig"
}

# mkvgb DIR: DIR/rootfs.img -> DIR/u.vgb (1 MiB chunks); sets VGB_OFF.
mkvgb() {
	"$V" bundle create --out "$1/u.vgb" --version 1 --chunk-size $MB --key "$D/vg.key" \
		rootfs="$1/rootfs.img" >/dev/null
	m=$(od -An -tu1 -j8 -N4 "$1/u.vgb" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
	VGB_OFF=$((12 + m))
	cmp -s -n 65536 -i "$VGB_OFF:0" "$1/u.vgb" "$1/rootfs.img" ||
		{ echo "bench-swupdate: unexpected bundle layout" >&2; exit 1; }
}

byte() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
# shellcheck disable=SC2059 # the octal escape is the format
put() { printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }

# timed CMD...: T_E seconds, T_M peak RSS KiB, T_RC exit status, T_S start.
timed() {
	T_S=$(date +%s.%N)
	set +e
	# shellcheck disable=SC2086 # $AS is a command prefix, or nothing
	/usr/bin/time -f '%e %M' -o "$D/time" $AS "$@" >"$D/out" 2>&1
	T_RC=$?
	set -e
	read -r T_E T_M <<EOF
$(tail -n 1 "$D/time")
EOF
}
since() { printf '%.3f' "$(echo "$(stat -c %.9Y "$1") - $2" | bc -l)"; }
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
most() { printf '%s\n' "$@" | sort -g | tail -n 1; }
mid() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
div() { printf "%.${3:-2}f" "$(echo "$1 / $2" | bc -l)"; }

# ---- install speed, SIZE_MIB ----
S=$D/s$MIB
mkdir "$S"
head -c $((MIB * MB)) /dev/urandom >"$S/rootfs.img"
mkswu "$S" "$D/slot-sw"
mkvgb "$S"
head -c $((MIB * MB)) /dev/zero >"$D/slot-sw"
head -c $((MIB * MB)) /dev/zero >"$D/slot-vg"
own "$D/slot-sw" "$D/slot-vg"
cat "$S/rootfs.img" "$S/u.swu" "$S/u.vgb" >/dev/null
sha='' swt='' swd='' swm='' vgt='' vgd='' vgm=''
for _ in 1 2 3; do
	timed sha256sum "$S/rootfs.img"
	sha="$sha $T_E"
	# shellcheck disable=SC2086 # split on purpose (the paths are mktemp's)
	timed env TMPDIR="$D/tmp" $SWU_CMD "$S/u.swu"
	[ "$T_RC" = 0 ] || { cat "$D/out" >&2; echo "bench-swupdate: swupdate failed" >&2; exit 1; }
	swt="$swt $T_E" swm="$swm $T_M" swd="$swd $(since "$D/slot-sw" "$T_S")"
	timed "$V" bundle install --key "$D/vg.pub" --image rootfs --slot "$D/slot-vg" "$S/u.vgb"
	[ "$T_RC" = 0 ] || { cat "$D/out" >&2; echo "bench-swupdate: voxguard failed" >&2; exit 1; }
	vgt="$vgt $T_E" vgm="$vgm $T_M" vgd="$vgd $(since "$D/slot-vg" "$T_S")"
done
if ! cmp -s "$D/slot-sw" "$S/rootfs.img" || ! cmp -s "$D/slot-vg" "$S/rootfs.img"; then
	echo "bench-swupdate: a slot does not hold the image" >&2
	exit 1
fi
runs() { echo "$@" | tr ' ' /; }
# shellcheck disable=SC2086
{
	s=$(best $sha)
	echo "sha256sum_$MIB seconds=$s mib_s=$(div "$MIB" "$s" 0) median=$(mid $sha) runs=$(runs $sha)"
	t=$(best $swt)
	echo "swupdate_install_$MIB seconds=$t slot_done=$(best $swd) mib_s=$(div "$MIB" "$t" 0)" \
		"vs_sha256=$(div "$s" "$t") rss_kib=$(most $swm) median=$(mid $swt) runs=$(runs $swt) slot_done_runs=$(runs $swd)"
	t=$(best $vgt)
	echo "voxguard_install_$MIB seconds=$t slot_done=$(best $vgd) mib_s=$(div "$MIB" "$t" 0)" \
		"vs_sha256=$(div "$s" "$t") rss_kib=$(most $vgm) median=$(mid $vgt) runs=$(runs $vgt) slot_done_runs=$(runs $vgd)"
}
rm -rf "$S" "$D/slot-sw" "$D/slot-vg"

# ---- tamper, SWU_TAMPER_MIB ----
# The slot starts out holding a previous image that differs from the
# delivered (tampered) one in every byte (each byte of the new image plus
# one), so every byte an installer writes from the delivered image shows
# as changed, and none can hide by chance (with a zero-filled slot, 1/256
# of random bytes would). *_bytes counts the slot bytes that no longer
# hold the previous image; *_unverified those of them not covered by a
# check that passed: for voxguard, bytes from the refused chunk on (1 MiB
# chunks, each checked against its signed hash before it is written); for
# SWUpdate 2022.12, all of them (its only check of the image is the
# sha256 of the whole image, compared after the last byte was written).
[ "$TMIB" -gt 0 ] || exit 0
S=$D/t$TMIB
size=$((TMIB * MB))
mkdir "$S"
head -c "$size" /dev/urandom >"$S/rootfs.img"
mkswu "$S" "$D/slot-sw"
mkvgb "$S"
LC_ALL=C tr '\000-\377' '\001-\377\000' <"$S/rootfs.img" >"$S/prev"

# changed SLOT FROM: bytes of SLOT at or after FROM that differ from prev
# (1 MiB blocks: equal to prev = 0, equal to the delivered image = all of
# it, otherwise counted byte by byte).
changed() {
	[ "$(stat -c %s "$1")" = "$size" ] || { echo "bench-swupdate: $1 changed size" >&2; exit 1; }
	n=0 o=$2
	while [ "$o" -lt "$size" ]; do
		l=$((size - o < MB ? size - o : MB))
		if cmp -s -n "$l" -i "$o:$o" "$S/prev" "$1"; then :
		elif cmp -s -n "$l" -i "$o:$o" "$S/deliv" "$1"; then n=$((n + l))
		else n=$((n + $(cmp -l -n "$l" -i "$o:$o" "$S/prev" "$1" | wc -l))); fi
		o=$((o + l))
	done
	echo "$n"
}
for where in first last; do
	if [ $where = first ]; then pos=5; else pos=$((size - 100)); fi
	b=$(byte "$S/rootfs.img" "$pos")
	nb=$(((b + 128) % 256))
	cp "$S/rootfs.img" "$S/deliv" && put "$S/deliv" "$pos" "$nb"
	# .swu: the byte, and the cpio crc checksum (an unauthenticated sum of
	# the bytes, which an attacker fixes up), so only the signed sha256 is
	# left to catch it.
	cp "$S/u.swu" "$S/t.swu" && put "$S/t.swu" $((SWU_OFF + pos)) "$nb"
	ck=$(dd if="$S/t.swu" bs=1 skip=$((SWU_HDR + 102)) count=8 2>/dev/null)
	printf '%08X' $(((0x$ck + nb - b + 4294967296) % 4294967296)) |
		dd of="$S/t.swu" bs=1 seek=$((SWU_HDR + 102)) conv=notrunc 2>/dev/null
	cp "$S/u.vgb" "$S/t.vgb" && put "$S/t.vgb" $((VGB_OFF + pos)) "$nb"

	cp "$S/prev" "$D/slot-sw" && own "$D/slot-sw"
	# shellcheck disable=SC2086 # split on purpose (the paths are mktemp's)
	timed env TMPDIR="$D/tmp" $SWU_CMD "$S/t.swu"
	swr=no
	[ "$T_RC" != 0 ] && grep -q 'HASH mismatch' "$D/out" && swr=yes
	swb=$(changed "$D/slot-sw" 0)
	swe=$T_E

	cp "$S/prev" "$D/slot-vg" && own "$D/slot-vg"
	timed "$V" bundle install --key "$D/vg.pub" --image rootfs --slot "$D/slot-vg" "$S/t.vgb"
	vgr=no
	[ "$T_RC" != 0 ] && grep -q "chunk $((pos / MB)) " "$D/out" && vgr=yes
	vgb=$(changed "$D/slot-vg" 0)
	vgu=$(changed "$D/slot-vg" $((pos / MB * MB)))
	echo "tamper_$where mib=$TMIB offset=$pos swupdate_bytes=$swb swupdate_unverified=$swb" \
		"swupdate_rejected=$swr swupdate_seconds=$swe voxguard_bytes=$vgb voxguard_unverified=$vgu" \
		"voxguard_rejected=$vgr voxguard_seconds=$T_E"
done
