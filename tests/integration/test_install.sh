#!/bin/sh
# make install with DESTDIR: binaries, libvoxguard (shared + static) that
# exports only its vg_* API, headers, pkg-config file, systemd unit and man
# page; a client built from the installed headers and pkg-config file works
# against a running service.
. "$(dirname "$0")/lib.sh"
: "${VG_BUILD:?set by ctest}" "${VG_SRC:?set by ctest}"
[ "$VG_SANITIZE" = 1 ] && { echo "skip: the install test runs on the release build"; exit 77; }
setup_users
D=$T/destdir
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$VG_BUILD/CMakeCache.txt")
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$VG_BUILD/CMakeCache.txt")
DESTDIR=$D cmake --install "$VG_BUILD" >/dev/null
R=$D$prefix
check "install: voxguardd" test -x "$R/bin/voxguardd"
check "install: voxguard" test -x "$R/bin/voxguard"
check "install: libvoxguard.so" test -e "$R/$libdir/libvoxguard.so"
check "install: libvoxguard.a" test -f "$R/$libdir/libvoxguard.a"
check "install: public header" test -f "$R/include/voxguard/voxguard.h"
check "install: pkg-config file" test -f "$R/$libdir/pkgconfig/voxguard.pc"
check "install: systemd unit with sandboxing" grep -q '^NoNewPrivileges=yes' "$R/lib/systemd/system/voxguardd.service"
check "install: the unit weighs the service's CPU above an application's (SFR 4.2.10)" grep -q '^CPUWeight=200$' "$R/lib/systemd/system/voxguardd.service"
check "install: man page" test -f "$R/share/man/man1/voxguard.1"
conf=$(find "$D" -name voxguardd.conf | head -n 1)
check "install: a default configuration" test -n "$conf"
check "install: the unit points at it" grep -qF -e "--config ${conf#"$D"}" "$R/lib/systemd/system/voxguardd.service"
check "install: the verify-platform boot unit (SFR 4.2.5)" grep -q "verify-platform" "$R/lib/systemd/system/voxguard-verify-platform.service"
check "install: the netpolicy service, timer and path units (SFR 4.2.8)" sh -c \
	"grep -q 'netpolicy apply' '$R/lib/systemd/system/voxguard-netpolicy.service' && grep -q '^OnUnitActiveSec=' '$R/lib/systemd/system/voxguard-netpolicy.timer' && grep -q '^PathChanged=/etc/resolv.conf' '$R/lib/systemd/system/voxguard-netpolicy.path'"
# The OpenSSL provider (SFR 4.2.7; docs/TLS.md), in OpenSSL's modules dir.
modulesdir=$(sed -n 's/^VG_OSSL_MODULESDIR:PATH=//p' "$VG_BUILD/CMakeCache.txt")
check "install: the provider voxguard.so in OpenSSL's modules directory" test -f "$D$modulesdir/voxguard.so"
check "install: voxguard.so exports OSSL_provider_init only" sh -c \
	"[ \"\$(nm -D --defined-only '$D$modulesdir/voxguard.so' | awk '{print \$3}')\" = OSSL_provider_init ]"
check "install: openssl loads it" sh -c \
	"openssl list -provider-path '$D$modulesdir' -provider voxguard -providers | grep -q 'voxguard'"
write_config
grep -v '^user\|^socket_group' "$conf" >>"$CONF"   # its settings, with the test's users
start_daemon
check "install: the service accepts the default configuration" vg status
stop_daemon
check "the shared library exports only vg_* symbols" sh -c \
	"[ -z \"\$(nm -D --defined-only '$R/$libdir/libvoxguard.so' | awk '{print \$3}' | grep -v '^vg_' | grep -v '^VOXGUARD_0')\" ]"

# The staged tree stands in for the prefix it will be installed at.
export PKG_CONFIG_PATH="$R/$libdir/pkgconfig"
check "a client builds from the installed header and pkg-config file" sh -c \
	"cc -Wall -Werror '$VG_SRC/examples/sign_and_store.c' \$(pkg-config --define-variable=prefix='$R' --cflags --libs voxguard) -o '$T/example'"
start_daemon
check "and works against the service" sh -c "LD_LIBRARY_PATH='$R/$libdir' '$T/example' '$SOCK' | grep -q 'stored and read back 17 bytes: match'"
stop_daemon
finish
