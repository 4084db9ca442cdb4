#!/bin/sh
# Reproducible builds (SESIP profile ALC, life-cycle support; AVS 1.7: an
# independent reviewer must be able to rebuild what ships and get the same
# bytes; docs/DEVICE.md, "Reproducible builds").
#
# The tree is copied twice, to two different paths, and built from each
# copy: once as `cmake --install` into a DESTDIR (RelWithDebInfo, so with
# debug info, which is where build paths hide), once as the Debian
# packages (scripts/build-deb.sh). The second copy is built a year and a
# month later (faketime), under another umask, locale and time zone. The
# installed trees (programs, libvoxguard.so and .a, the OpenSSL provider,
# man pages, pkg-config file, units, headers) and the .deb files, the
# -dbgsym ones included, must be the same byte for byte and mode for mode.
# A difference is explained with diffoscope (Debian's diffoscope-minimal,
# scripts/install-deps.sh), or cmp and readelf when it is missing.
#
# First the comparison itself is checked: two objects of one tiny C file
# built in two directories differ through __FILE__, and must be found to;
# with -ffile-prefix-map they must not.
#
# Four builds of the libraries and programs: several minutes on 2 cores.
# VG_REPRO_JOBS (default 1, a ctest slot's share) sets each build's jobs.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
[ "$VG_SANITIZE" = 1 ] && { echo "skip: reproducibility is checked on the release build"; exit 77; }
for t in cc cmake make faketime dpkg-buildpackage dh readelf cmp; do
	command -v "$t" >/dev/null 2>&1 || { echo "not ok - $t is missing (scripts/install-deps.sh installs it)"; exit 1; }
done
JOBS=${VG_REPRO_JOBS:-1}
export JOBS # scripts/build-deb.sh
START=$(date +%s)

# tree_diff A B OUT: writes to OUT one line per path that differs between
# the trees A and B (content, mode, symlink target, or only in one); fails
# when there is any.
tree_diff() {
	(cd "$1" && find . \( -type f -o -type l \) -print | LC_ALL=C sort) >"$3.a"
	(cd "$2" && find . \( -type f -o -type l \) -print | LC_ALL=C sort) >"$3.b"
	{
		LC_ALL=C comm -23 "$3.a" "$3.b" | sed 's/$/ (only in the first)/'
		LC_ALL=C comm -13 "$3.a" "$3.b" | sed 's/$/ (only in the second)/'
		LC_ALL=C comm -12 "$3.a" "$3.b" | while IFS= read -r f; do
			if [ -L "$1/$f" ] || [ -L "$2/$f" ]; then
				[ "$(readlink "$1/$f")" = "$(readlink "$2/$f")" ] || echo "$f (symlink target)"
			elif ! cmp -s "$1/$f" "$2/$f"; then
				echo "$f"
			elif [ "$(stat -c %a "$1/$f")" != "$(stat -c %a "$2/$f")" ]; then
				echo "$f (mode)"
			fi
		done
	} >"$3"
	[ ! -s "$3" ]
}

# explain A B: what differs inside two files.
explain() {
	echo "# why $1 and $2 differ:"
	echo "# this test's directories in them (a build path that was not mapped):"
	strings -a "$1" "$2" | grep -F "$T" | sort -u | head -n 5 | sed 's/^/#   /' || true
	if command -v diffoscope >/dev/null 2>&1; then
		timeout 900 diffoscope --no-progress --text - "$1" "$2" 2>&1 | head -n 300 || true
		return 0
	fi
	echo "# (diffoscope is missing: apt-get install diffoscope-minimal explains in detail)"
	cmp "$1" "$2" || true
	echo "# bytes that differ: $(cmp -l "$1" "$2" 2>/dev/null | wc -l)"
	for f in "$1" "$2"; do
		readelf -h "$f" >/dev/null 2>&1 || continue
		echo "# $f:"
		readelf -n "$f" 2>/dev/null | grep -i 'build id' || true
		readelf -d "$f" 2>/dev/null | grep -E 'RPATH|RUNPATH' || true
		readelf --debug-dump=info "$f" 2>/dev/null | grep -E 'DW_AT_(comp_dir|name) .*/' | head -n 5 || true
		strings -a "$f" | grep -E '^/(tmp|home|build|root|work)/' | head -n 5 || true
	done
	echo "# also: objdump -d, readelf -wi and readelf -S on both"
}

# report NAME DIFFS A B: lists what differs and explains the first file.
report() {
	echo "# $1: these differ:"
	sed 's/^/#   /' "$2"
	first=$(grep -v ' (only in the ' "$2" | head -n 1 | sed 's/ (.*)$//; s|^\./||')
	[ -n "$first" ] && [ -f "$3/$first" ] && explain "$3/$first" "$4/$first"
	return 0
}

# ---- the comparison finds a difference, and the option removes it ----
SC=$T/selfcheck
for d in one/deeper/path two; do
	mkdir -p "$SC/$d/src" "$SC/plain/$d" "$SC/mapped/$d"
	printf 'const char *vg_where(void);\nconst char *vg_where(void) { return __FILE__; }\n' >"$SC/$d/src/where.c"
	(cd "$SC/$d" && cc -O2 -g -c "$SC/$d/src/where.c" -o "$SC/plain/$d/where.o" &&
		cc -O2 -g -ffile-prefix-map="$SC/$d"=. -c "$SC/$d/src/where.c" -o "$SC/mapped/$d/where.o")
done
mkdir -p "$SC/p1" "$SC/p2" "$SC/m1" "$SC/m2"
cp "$SC/plain/one/deeper/path/where.o" "$SC/p1/"
cp "$SC/plain/two/where.o" "$SC/p2/"
cp "$SC/mapped/one/deeper/path/where.o" "$SC/m1/"
cp "$SC/mapped/two/where.o" "$SC/m2/"
if tree_diff "$SC/p1" "$SC/p2" "$SC/d1"; then
	not_ok "self-check: objects with the build path in __FILE__ are found to differ"
else
	ok "self-check: objects with the build path in __FILE__ are found to differ ($(cat "$SC/d1"))"
fi
if tree_diff "$SC/m1" "$SC/m2" "$SC/d2"; then
	ok "self-check: with -ffile-prefix-map they are the same"
else
	not_ok "self-check: with -ffile-prefix-map they are the same"; cat "$SC/d2"
fi
cp "$SC/m1/where.o" "$SC/m1/extra.o"
if tree_diff "$SC/m1" "$SC/m2" "$SC/d3"; then
	not_ok "self-check: a file in one tree only is found"
else
	ok "self-check: a file in one tree only is found"
fi

# ---- two copies of the tree at two different paths ----
# What scripts/build-deb.sh copies: the files git tracks plus new files it
# does not ignore, as they are in the work tree (edits included).
A=$T/a
B=$T/bbbbbb/another/path
mkdir -p "$A" "$B"
if git -C "$VG_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$VG_SRC" ls-files -z --cached --others --exclude-standard |
		(cd "$VG_SRC" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		(cd "$VG_SRC" && tar --null -T - -cf -) >"$T/src.tar"
else
	(cd "$VG_SRC" && tar --exclude='./build*' --exclude=./.git -cf - .) >"$T/src.tar"
fi
mkdir -p "$A/src" "$B/voxguard-source"
(umask 022 && tar -C "$A/src" --no-same-permissions -xf "$T/src.tar")
(umask 077 && tar -C "$B/voxguard-source" --no-same-permissions -xf "$T/src.tar")
check "the copies hold the tree" test -f "$A/src/CMakeLists.txt" -a -f "$B/voxguard-source/scripts/build-deb.sh"

# in_a CMD...: runs CMD as the first build. in_b: as the second, 400 days
# later, under another umask, locale and time zone.
in_a() { (umask 022 && env LC_ALL=C TZ=UTC "$@"); }
in_b() { (umask 077 && env LC_ALL=C.UTF-8 TZ=XYZ-13:45 faketime -f +400d "$@"); }
check "the second build's clock runs 400 days ahead" \
	test "$(in_b date +%s)" -ge "$(($(date +%s) + 399 * 86400))"
check "the second build's umask is 077" test "$(in_b sh -c umask)" = 0077
# ---- cmake --install, twice ----
# The installed targets only: no tests, no benches.
TARGETS="voxguardd voxguard-cli voxguard-displayd voxguard voxguard_static voxguard_provider"
# shellcheck disable=SC2086 # $TARGETS: one word each
cmake_build() { # IN SRC BUILD DESTDIR
	"$1" cmake -S "$2" -B "$3" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVG_TESTS=OFF \
		-DCMAKE_INSTALL_PREFIX=/usr >"$3.log" 2>&1 &&
		"$1" cmake --build "$3" -j "$JOBS" --target $TARGETS >>"$3.log" 2>&1 &&
		"$1" env DESTDIR="$4" cmake --install "$3" >>"$3.log" 2>&1
}
t0=$(date +%s)
if cmake_build in_a "$A/src" "$A/build" "$A/inst"; then ok "first cmake build and install"; else
	not_ok "first cmake build and install"; tail -n 30 "$A/build.log"; fi
t1=$(date +%s)
if cmake_build in_b "$B/voxguard-source" "$B/b-build-dir" "$B/installed"; then
	ok "second cmake build and install (other path, +400 days, umask 077, C.UTF-8)"; else
	not_ok "second cmake build and install"; tail -n 30 "$B/b-build-dir.log"; fi
t2=$(date +%s)
echo "# cmake builds: $((t1 - t0)) s and $((t2 - t1)) s"

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for f in usr/bin/voxguardd usr/bin/voxguard usr/bin/voxguard-displayd \
	"usr/lib/$multiarch/libvoxguard.so.0.1.0" "usr/lib/$multiarch/libvoxguard.a" \
	"usr/lib/$multiarch/ossl-modules/voxguard.so" "usr/lib/$multiarch/pkgconfig/voxguard.pc" \
	usr/share/man/man1/voxguard.1 usr/share/man/man1/voxguard-displayd.1; do
	check "installed: /$f" test -f "$A/inst/$f"
done
check "the programs carry debug info (where build paths would show)" \
	sh -c "readelf -S '$A/inst/usr/bin/voxguardd' | grep -q debug_info"

if tree_diff "$A/inst" "$B/installed" "$T/inst.diff"; then
	ok "the two installed trees are the same ($(wc -l <"$T/inst.diff.a") files, byte for byte)"
else
	not_ok "the two installed trees are the same"
	report "installed trees" "$T/inst.diff" "$A/inst" "$B/installed"
fi

# No build or source path anywhere, and no RPATH/RUNPATH into the build.
if grep -rlF -e "$T" "$A/inst" "$B/installed" >"$T/paths" 2>/dev/null; then
	not_ok "no installed file names the build's directories"; sed 's/^/#   /' "$T/paths"
else
	ok "no installed file names the build's directories"
fi
: >"$T/rpath"
find "$A/inst" -type f | while IFS= read -r f; do
	readelf -h "$f" >/dev/null 2>&1 || continue
	readelf -d "$f" 2>/dev/null | grep -E '\((RPATH|RUNPATH)\)' | sed "s|^|$f: |" >>"$T/rpath" || true
done
check "no installed ELF file has an RPATH or RUNPATH" test ! -s "$T/rpath"
[ -s "$T/rpath" ] && cat "$T/rpath"

# ---- the Debian packages, twice ----
t0=$(date +%s)
if in_a sh "$A/src/scripts/build-deb.sh" "$A/deb" >"$T/deb-a.out" 2>&1; then
	ok "first package build"; else not_ok "first package build"; cat "$T/deb-a.out"; fi
t1=$(date +%s)
if in_b sh "$B/voxguard-source/scripts/build-deb.sh" "$B/deb-out" >"$T/deb-b.out" 2>&1; then
	ok "second package build (other path, +400 days, umask 077, C.UTF-8)"; else
	not_ok "second package build"; cat "$T/deb-b.out"; fi
t2=$(date +%s)
echo "# package builds: $((t1 - t0)) s and $((t2 - t1)) s"
# The .buildinfo and .changes record the build's date and environment: only
# the packages are compared, by content (the .deb files' own modes follow
# the umask).
mkdir -p "$T/debs-a" "$T/debs-b"
for f in "$A"/deb/*.deb; do [ -f "$f" ] && cp "$f" "$T/debs-a/"; done
for f in "$B"/deb-out/*.deb; do [ -f "$f" ] && cp "$f" "$T/debs-b/"; done
chmod 644 "$T"/debs-a/* "$T"/debs-b/* 2>/dev/null || true
check "at least voxguard, libvoxguard0 and libvoxguard-dev were built" \
	test "$(find "$T/debs-a" -name '*.deb' | wc -l)" -ge 3
if tree_diff "$T/debs-a" "$T/debs-b" "$T/deb.diff"; then
	ok "the two builds' packages are the same: $(cd "$T/debs-a" && echo *.deb)"
else
	not_ok "the two builds' packages are the same"
	report "packages" "$T/deb.diff" "$T/debs-a" "$T/debs-b"
fi

echo "# wall time: $(($(date +%s) - START)) s with $JOBS job(s) per build"
finish
