#!/bin/sh
# The Yocto layer (integration/yocto/meta-voxguard) and the Buildroot
# package (integration/buildroot/package/voxguard) hold what a device
# maker builds into a firmware (issue 14, "What a device maker needs";
# docs/DEVICE.md, "Cross builds, Yocto and Buildroot"). Neither Yocto nor
# Buildroot is here, so integration/check_recipes.py checks them offline:
# BitBake, Makefile (make -n) and Kconfig (kconfiglib) syntax; the
# dependencies against CMakeLists.txt's pkg_check_modules; the recipe's
# FILES and the package's target file list against a real `cmake --install`
# configured as each build system configures it, with this build's
# programs and libraries.
#
# Then each kind of mistake is made on a copy and must be found, by name:
# a file left out of FILES, a stale FILES entry, a dependency dropped, a
# new pkg_check_modules in CMakeLists.txt, a syntax error in each of the
# three languages, a select missing, a target file missing.
# BitBake's ${...} are meant literally in the sed scripts below.
# shellcheck disable=SC2016
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}" "${VG_BUILD:?set by ctest}"
# The recipes do not depend on the build type: the release build checks them.
[ "$VG_SANITIZE" = 1 ] && { echo "skip: the recipes are checked on the release build"; exit 77; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # Debian's, with python3-kconfiglib
CHECK="$PY $VG_SRC/integration/check_recipes.py --src $VG_SRC --build $VG_BUILD --work $T/work"

$CHECK >"$T/good.txt" 2>&1 && good=1 || good=0
cat "$T/good.txt"
check "the layer and the package pass the checker" test "$good" = 1
check "the recipe's FILES were compared with a real install" grep -q '^recipes: yocto: [1-9][0-9]* installed files' "$T/good.txt"
check "the package's target files were compared with a real install" grep -q '^recipes: buildroot: [1-9][0-9]* files on the target' "$T/good.txt"

# A copy of both, to break one thing at a time.
fresh() {
	rm -rf "$T/m"
	mkdir -p "$T/m"
	cp -r "$VG_SRC/integration/yocto/meta-voxguard" "$T/m/meta-voxguard"
	cp -r "$VG_SRC/integration/buildroot/package/voxguard" "$T/m/br"
	cp "$VG_SRC/CMakeLists.txt" "$T/m/CMakeLists.txt"
	BB=$(ls "$T"/m/meta-voxguard/recipes-security/voxguard/*.bb)
}
# must_find "what was broken" "expected finding (grep -E)"
must_find() {
	$CHECK --yocto "$T/m/meta-voxguard" --buildroot "$T/m/br" --cmakelists "$T/m/CMakeLists.txt" \
		>"$T/bad.txt" 2>&1 && rc=0 || rc=$?
	if [ "$rc" = 1 ] && grep -Eq "$2" "$T/bad.txt"; then
		ok "found: $1"
	else
		not_ok "not found: $1 (exit $rc; wanted a line matching '$2')"
		sed -n '1,20p' "$T/bad.txt"
	fi
}

fresh
sed -i '/voxguard-netpolicy\.path/d' "$BB"
must_find "a unit left out of the recipe's FILES" 'voxguard-netpolicy\.path is installed but in no package'
fresh
sed -i 's|^FILES:${PN}-staticdev = "|&${libdir}/libvoxguard-old.a |' "$BB"
must_find "a stale entry in the recipe's FILES" 'entry /usr/lib/libvoxguard-old\.a matches no installed file'
fresh
sed -i 's|^FILES:${PN}-dev = "|&${libdir}/libvoxguard.so.* |' "$BB"
sed -i 's|^PACKAGES =+ .*|PACKAGES =+ "${PN}-dev lib${PN}"|' "$BB"
must_find "the library claimed by the wrong package first" 'FILES:libvoxguard entry /usr/lib/libvoxguard\.so\.\* matches no installed file'
fresh
sed -i 's/ libwebsockets"$/"/' "$BB"
must_find "a dependency dropped from DEPENDS" 'DEPENDS lacks libwebsockets'
fresh
sed -i 's/^DEPENDS = "/&glib-2.0 /' "$BB"
must_find "a dependency in DEPENDS that CMakeLists.txt does not need" 'DEPENDS has glib-2.0'
fresh
sed -i 's/^SUMMARY = "Security service/SUMMARY = Security "service/' "$BB"
must_find "a BitBake syntax error" 'voxguard_git\.bb:[0-9]+: (not a BitBake statement|unescaped quote)'
fresh
sed -i 's|^-DVG_OSSL_MODULESDIR=.*||; s|    -DVG_OSSL_MODULESDIR=${libdir}/ossl-modules \\||' "$BB"
must_find "EXTRA_OECMAKE without the provider's directory" 'ossl-modules/voxguard\.so is installed but in no package'
fresh
sed -i 's/^pkg_check_modules(LWS .*/&\npkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)/' "$T/m/CMakeLists.txt"
must_find "a new pkg_check_modules in CMakeLists.txt" 'needs pkg-config module zlib'
fresh
sed -i '/select BR2_PACKAGE_JANSSON/d' "$T/m/br/Config.in"
must_find "a select missing from Config.in" 'does not select BR2_PACKAGE_JANSSON'
fresh
sed -i 's/^\tbool "voxguard"/\tbol "voxguard"/' "$T/m/br/Config.in"
must_find "a Kconfig syntax error" 'Config\.in: .*(bol|syntax|unknown|ignoring)'
fresh
sed -i 's/^\tdepends on BR2_USE_MMU # fork()/&\n\tdepends on BR2_PACKAGE_NO_SUCH_THING/' "$T/m/br/Config.in"
must_find "Config.in naming an undefined symbol" 'NO_SUCH_THING'
fresh
sed -i 's/^endef$/endef_/' "$T/m/br/voxguard.mk"
must_find "a Makefile syntax error in voxguard.mk" 'voxguard\.mk: make -n fails'
fresh
sed -i 's/ tpm2-tss libwebsockets$/ libwebsockets/' "$T/m/br/voxguard.mk"
must_find "a dependency dropped from VOXGUARD_DEPENDENCIES" 'VOXGUARD_DEPENDENCIES lacks tpm2-tss'
fresh
sed -i '/usr\/lib\/tmpfiles\.d\/voxguard\.conf \\/d' "$T/m/br/voxguard.mk"
must_find "a file left out of VOXGUARD_TARGET_FILES" 'tmpfiles\.d/voxguard\.conf reaches the target but is not in VOXGUARD_TARGET_FILES'
fresh
sed -i 's|^\tusr/bin/voxguardd \\|&\n\tusr/bin/voxguard-old \\|' "$T/m/br/voxguard.mk"
must_find "a file in VOXGUARD_TARGET_FILES that is not installed (and the hook fails)" 'voxguard-old, which the install does not put.*|hooks fail'
fresh
sed -i 's/^\tvoxguard -1 voxguard -1 /\tvgsvc -1 vgsvc -1 /' "$T/m/br/voxguard.mk"
must_find "a Buildroot user that is not the service's" 'VOXGUARD_USERS creates vgsvc, sysusers.d voxguard'
fresh
sed -i 's/^VOXGUARD_VERSION = .*/VOXGUARD_VERSION = 0.0.9/' "$T/m/br/voxguard.mk"
must_find "a package version that is not the project's" 'VOXGUARD_VERSION 0\.0\.9 is not'

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
