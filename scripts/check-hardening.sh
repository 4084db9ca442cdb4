#!/bin/sh
# Checks that every given ELF binary carries the exploit mitigations the
# AVS Device SDK rules ask for (and DESIGN.md lists): PIE, full RELRO,
# non-executable stack, stack protector, FORTIFY_SOURCE, CET (IBT and
# SHSTK) on x86_64, and pointer authentication and BTI landing pads on
# aarch64 (the cross build: scripts/cross-arm64.sh). Each binary is judged
# by its own ELF machine, so cross-built ones can be checked here. Fails,
# naming the binary and the protection, when any is missing. Uses readelf
# and objdump (binutils; aarch64-linux-gnu-objdump for arm64 binaries).
set -u
fail=0
host_arch=$(uname -m)

bad() { echo "hardening: $1: missing $2"; fail=1; }

# Can this toolchain mark a program CET-compatible? Ask it.
cet_note=0
cet_what="endbr64 landing pads; the C runtime here cannot carry the CET note"
if [ "$host_arch" = x86_64 ] && command -v cc >/dev/null; then
	probe=$(mktemp -d)
	echo 'int main(void){return 0;}' >"$probe/t.c"
	if cc -fcf-protection=full "$probe/t.c" -o "$probe/t" 2>/dev/null &&
		readelf -n "$probe/t" | grep -q 'IBT'; then
		cet_note=1
		cet_what="IBT+SHSTK note and endbr64"
	fi
	rm -rf "$probe"
fi

for f in "$@"; do
	[ -f "$f" ] || { echo "hardening: $f: no such file"; fail=1; continue; }
	hdr=$(readelf -h -W "$f") || { bad "$f" "readable ELF"; continue; }
	case $(echo "$hdr" | sed -n 's/^ *Machine: *//p') in
	*X86-64*) arch=x86_64 ;;
	*AArch64*) arch=aarch64 ;;
	*) arch=other ;;
	esac
	extra=
	ph=$(readelf -l -W "$f" 2>/dev/null)
	dyn=$(readelf -d -W "$f" 2>/dev/null)
	syms=$(readelf --dyn-syms -W "$f" 2>/dev/null)
	notes=$(readelf -n -W "$f" 2>/dev/null)

	# PIE: executables must be ET_DYN with an interpreter (shared
	# libraries are ET_DYN by nature).
	echo "$hdr" | grep -q 'Type:.*DYN' || bad "$f" "PIE (ELF type is not DYN)"
	case "$f" in
	*.so|*.so.*) ;;
	*) echo "$ph" | grep -q 'INTERP' || bad "$f" "PIE (no program interpreter)" ;;
	esac
	# Full RELRO: a GNU_RELRO segment and immediate binding.
	echo "$ph" | grep -q 'GNU_RELRO' || bad "$f" "RELRO (no GNU_RELRO segment)"
	echo "$dyn" | grep -Eq 'BIND_NOW|FLAGS.*NOW' || bad "$f" "full RELRO (no BIND_NOW)"
	# NX: the stack segment must not be executable.
	echo "$ph" | grep 'GNU_STACK' | grep -q 'RWE' && bad "$f" "NX (executable stack)"
	echo "$ph" | grep -q 'GNU_STACK' || bad "$f" "NX (no GNU_STACK header)"
	# Stack protector and FORTIFY leave their calls behind.
	echo "$syms" | grep -q '__stack_chk_fail' || bad "$f" "stack protector (__stack_chk_fail not referenced)"
	echo "$syms" | grep -v '__stack_chk_fail' | grep -Eq '__[a-z0-9_]+_chk(@|$| )' ||
		bad "$f" "FORTIFY_SOURCE (no __*_chk function referenced)"
	# CET on x86_64: our code must carry IBT landing pads (endbr64, from
	# -fcf-protection); the IBT/SHSTK property note is required too when
	# this toolchain can produce it at all (Debian 12's C runtime objects
	# are not CET-marked, so the linker drops the note from every program).
	if [ "$arch" = x86_64 ]; then
		objdump -d "$f" | grep -q endbr64 || bad "$f" "CET IBT landing pads (-fcf-protection)"
		if [ "$cet_note" = 1 ] && [ "$host_arch" = x86_64 ]; then
			echo "$notes" | grep -q 'IBT' || bad "$f" "CET IBT property note"
			echo "$notes" | grep -q 'SHSTK' || bad "$f" "CET SHSTK property note"
		fi
		extra=", CET ($cet_what)"
	fi
	# arm64 (-mbranch-protection=standard): return addresses signed with
	# paciasp and BTI landing pads in our code. The BTI property note is
	# not asked for: as with CET, Debian 12's C runtime objects do not
	# carry it, so the linker drops it from every program.
	if [ "$arch" = aarch64 ]; then
		od=objdump
		command -v aarch64-linux-gnu-objdump >/dev/null && od=aarch64-linux-gnu-objdump
		dis=$($od -d "$f" 2>/dev/null)
		echo "$dis" | grep -Eq 'paciasp|hint[[:space:]]+#0x19' ||
			bad "$f" "pointer authentication (no paciasp: -mbranch-protection)"
		echo "$dis" | grep -Eq 'bti[[:space:]]+c|hint[[:space:]]+#0x22' ||
			bad "$f" "BTI landing pads (no bti c: -mbranch-protection)"
		extra=", PAC and BTI landing pads"
	fi
	[ $fail -eq 0 ] && echo "hardening: $f ($arch): PIE, full RELRO, NX, stack protector, FORTIFY$extra: ok"
done
exit $fail
