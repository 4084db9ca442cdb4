#!/bin/sh
# Builds voxguard's Debian packages (voxguard, libvoxguard0,
# libvoxguard-dev) with dpkg-buildpackage from a copy of this tree, so
# that the package build's files (obj-*/, debian/tmp, ...) stay out of the
# work tree and the results land in one place:
#
#   scripts/build-deb.sh [OUTDIR]     (default: build-deb/; `make deb`)
#
# OUTDIR gets the .deb files, the .buildinfo and the .changes (lintian
# reads the .changes: tests/integration/test_deb.sh) and build.log.
# The copy is what git tracks plus new files git does not ignore, as they
# are in the work tree now (uncommitted edits included).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
version=$(sed -n 's/^project(voxguard VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || { echo "build-deb: no version in CMakeLists.txt" >&2; exit 1; }
cl=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ "$cl" != "$version" ]; then
	echo "build-deb: debian/changelog is at $cl, CMakeLists.txt at $version: add a changelog entry (dch -v $version)" >&2
	exit 1
fi

rm -rf "$out"
mkdir -p "$out/voxguard-$version"
cd "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Deleted but still tracked files are left out.
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -C "$out/voxguard-$version" -xf -
else
	tar --exclude='./build*' --exclude=./.git -cf - . | tar -C "$out/voxguard-$version" -xf -
fi

cd "$out/voxguard-$version"
jobs=${JOBS:-2}
echo "build-deb: dpkg-buildpackage -b in $out/voxguard-$version (log: $out/build.log)"
if ! DEB_BUILD_OPTIONS="parallel=$jobs${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
	dpkg-buildpackage -b -uc -us >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
	exit 1
fi
cd "$out"
rm -rf "voxguard-$version"
ls -1 "$out"/*.deb
