#!/bin/sh
# SFR 4.2.6 (integrity and authenticity of an update), AVS 1.1, threat
# A.3.3: update bundles made with `voxguard bundle create` and installed by
# streaming into a slot file, each chunk verified before it is written.
# Attacks: a flipped byte in each region (magic, manifest length,
# manifest, a chunk, the last chunk), truncation, trailing bytes, another
# signer, a downgrade, another product. Also: what reaches the slot before
# a tampered chunk is refused (only verified chunks), and memory stays
# constant (peak RSS) for a 64 MiB image.
. "$(dirname "$0")/lib.sh"
W=$T/work; mkdir -p "$W"; cd "$W"
H="env VOXGUARD_SOCKET=/nonexistent $VOXGUARD"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rel.key 2>/dev/null
openssl pkey -in rel.key -pubout -out rel.pub
openssl genpkey -algorithm ED25519 -out other.key 2>/dev/null
openssl pkey -in other.key -pubout -out other.pub
head -c 67108864 /dev/urandom >rootfs.img     # 64 MiB: 64 chunks of 1 MiB
head -c 300001 /dev/urandom >dsp.img
check "SFR 4.2.6: bundle create signs a two-image bundle" $H bundle create --out u.vgb \
	--version 2026.12.0 --security-version 5 --oem Acme --model Echo --hw-rev B2 \
	--key rel.key rootfs=rootfs.img dsp=dsp.img
check "SFR 4.2.6: bundle verify with the release key" $H bundle verify --key rel.pub u.vgb
check "SFR 4.2.6: install streams the image into the slot" \
	$H bundle install --key rel.pub --image rootfs --slot slot-b u.vgb
check "SFR 4.2.6: the slot holds exactly the image" cmp slot-b rootfs.img
check "SFR 4.2.6: the second image too" sh -c "$H bundle install --key rel.pub --image dsp --slot dsp-b u.vgb && cmp dsp-b dsp.img"
# (Not under ASan+UBSan, whose runtime adds its own memory.)
if command -v /usr/bin/time >/dev/null && [ "${VG_SANITIZE:-0}" = 0 ]; then
	/usr/bin/time -f %M -o rss $H bundle install --key rel.pub --image rootfs --slot slot-c u.vgb >/dev/null
	check "SFR 4.2.6: memory stays constant: peak RSS under 16 MiB for a 64 MiB image ($(cat rss) KiB)" \
		test "$(cat rss)" -lt 16384
fi
check_fails "AVS 1.1: another signer's bundle is refused" 1 $H bundle verify --key other.pub u.vgb
check_fails "A.3.3: a downgrade below the device's minimum is refused" 1 \
	$H bundle verify --key rel.pub --min-security-version 6 u.vgb
check "A.3.3: the same security version is not a downgrade" \
	$H bundle verify --key rel.pub --min-security-version 5 u.vgb
check_fails "SFR 4.2.6: another product's bundle is refused" 1 \
	$H bundle verify --key rel.pub --oem Acme --model Dot --hw-rev B2 u.vgb

M=$(od -An -tu1 -j8 -N4 u.vgb | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
P=$((12 + M))     # the payload starts here
flip() { # copy, offset -> tampered copy t.vgb
	cp u.vgb t.vgb
	b=$(od -An -tu1 -j "$2" -N1 t.vgb | tr -d ' ')
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" | dd of=t.vgb bs=1 seek="$2" conv=notrunc 2>/dev/null
}
install_t() { rm -f slot-t; $H bundle install --key rel.pub --image rootfs --slot slot-t t.vgb 2>err; }
flip u.vgb 0;                check_fails "SFR 4.2.6: a flipped byte in the magic is refused" 1 install_t
flip u.vgb 10;               check_fails "SFR 4.2.6: a flipped byte in the manifest length is refused" 1 install_t
flip u.vgb $((12 + M / 2));  check_fails "SFR 4.2.6: a flipped byte in the manifest is refused" 1 install_t
check "SFR 4.2.6: and nothing reached the slot" sh -c "[ ! -s slot-t ]"
flip u.vgb $((P + 5));       check_fails "SFR 4.2.6: a flipped byte in the first chunk is refused" 1 install_t
check "SFR 4.2.6: zero bytes reached the slot before the refusal" grep -q '(0 verified bytes were written' err
flip u.vgb $((P + 40 * 1048576 + 7)); check_fails "SFR 4.2.6: a flipped byte in chunk 40 is refused" 1 install_t
check "SFR 4.2.6: only the 40 verified chunks before it reached the slot" grep -q '(41943040 verified bytes were written' err
check "SFR 4.2.6: the refusal names the chunk" grep -q 'chunk 40' err
flip u.vgb $((P + 67108864 - 1)); check_fails "SFR 4.2.6: a flipped last byte of the image is refused" 1 install_t
head -c $((P + 1000000)) u.vgb >t.vgb
check_fails "SFR 4.2.6: a truncated bundle is refused" 1 install_t
cp u.vgb t.vgb; printf 'extra' >>t.vgb
check_fails "SFR 4.2.6: trailing bytes are refused" 1 install_t
check_fails "SFR 4.2.6: garbage is refused" 1 sh -c "head -c 5000 /dev/urandom >t.vgb; $H bundle verify --key rel.pub t.vgb"
finish
