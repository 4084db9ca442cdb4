#!/bin/sh
# make deb (docs/DEVICE.md): the Debian packages are lintian-clean, carry
# what a device needs (units, man pages, pkg-config file, headers, the
# OpenSSL provider, sysusers.d and tmpfiles.d files, the configuration as a
# conffile), and installed with dpkg into a throw-away root their
# maintainer scripts and their sysusers.d and tmpfiles.d files create the
# service's user, group and state directory, with nothing made by hand
# (issue 14; SFR 4.2.10, AVS 1.2). The unit keeps its device sandbox for
# the software root of trust, and the tpm2 drop-in opens /dev/tpmrm0 only.
#
# Uses the packages of `make deb` (build-deb/, rebuilt by make only when a
# source file changed; `make test` builds them first). The install part
# needs root (dpkg --root, file owners): as another user it is skipped
# (exit 77) once the rest has passed.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
[ "$VG_SANITIZE" = 1 ] && { echo "skip: the package test runs on the release build"; exit 77; }
for t in dpkg-buildpackage dh lintian dpkg-deb systemd-sysusers systemd-tmpfiles; do
	command -v "$t" >/dev/null 2>&1 || { echo "not ok - $t is missing (scripts/install-deps.sh installs it)"; exit 1; }
done

version=$(sed -n 's/^project(voxguard VERSION \([0-9.]*\).*/\1/p' "$VG_SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
OUT=$VG_SRC/build-deb
check "make deb builds the packages" make -s -C "$VG_SRC" deb
main=$OUT/voxguard_${version}_$arch.deb
lib=$OUT/libvoxguard0_${version}_$arch.deb
dev=$OUT/libvoxguard-dev_${version}_$arch.deb
changes=$OUT/voxguard_${version}_$arch.changes
check "the packages carry the project's version ($version, CMakeLists.txt)" \
	test -f "$main" -a -f "$lib" -a -f "$dev" -a -f "$changes"

# lintian over the .changes: every package and the .buildinfo. Overrides
# (debian/*.lintian-overrides) each carry their reason.
lintian --fail-on error,warning --display-info "$changes" >"$T/lintian.txt" 2>&1 && lok=1 || lok=0
cat "$T/lintian.txt"
check "lintian: no error and no warning" test "$lok" = 1
check "lintian printed no E: or W: line" sh -c "! grep -Eq '^(E|W): ' '$T/lintian.txt'"

# What each package holds.
dpkg-deb -c "$main" | awk '{print $6}' | sed 's|^\./|/|' >"$T/main.list"
dpkg-deb -c "$lib" | awk '{print $6}' | sed 's|^\./|/|' >"$T/lib.list"
dpkg-deb -c "$dev" | awk '{print $6}' | sed 's|^\./|/|' >"$T/dev.list"
has() { grep -qx "$2" "$T/$1.list"; }
for f in /usr/bin/voxguardd /usr/bin/voxguard /usr/bin/voxguard-displayd \
	/lib/systemd/system/voxguardd.service /lib/systemd/system/voxguard-verify-platform.service \
	/lib/systemd/system/voxguard-netpolicy.service /lib/systemd/system/voxguard-netpolicy.timer \
	/lib/systemd/system/voxguard-netpolicy.path \
	/usr/share/man/man1/voxguard.1.gz /usr/share/man/man1/voxguardd.1.gz \
	/usr/share/man/man1/voxguard-displayd.1.gz \
	/usr/lib/sysusers.d/voxguard.conf /usr/lib/tmpfiles.d/voxguard.conf \
	/etc/voxguard/voxguardd.conf "/usr/lib/$multiarch/ossl-modules/voxguard.so" \
	/usr/share/voxguard/ca/amazon-trust-services.pem \
	/usr/share/doc/voxguard/examples/voxguardd-tpm2.conf /usr/share/doc/voxguard/copyright \
	/usr/share/doc/voxguard/examples/voice-app.service \
	/usr/share/doc/voxguard/examples/display-client.service \
	/usr/share/bash-completion/completions/voxguard \
	/usr/share/bash-completion/completions/voxguardd; do
	check "voxguard: $f" has main "$f"
done
check "libvoxguard0: libvoxguard.so.0" sh -c "grep -q '^/usr/lib/$multiarch/libvoxguard\.so\.0' '$T/lib.list'"
for f in /usr/include/voxguard/voxguard.h /usr/include/voxguard/tls.h /usr/include/voxguard/stream.h \
	/usr/include/voxguard/display.h /usr/include/voxguard/config.h "/usr/lib/$multiarch/libvoxguard.so" "/usr/lib/$multiarch/libvoxguard.a" \
	"/usr/lib/$multiarch/pkgconfig/voxguard.pc"; do
	check "libvoxguard-dev: $f" has dev "$f"
done
dpkg-deb -e "$main" "$T/ctrl"
check "the configuration is a conffile" grep -qx /etc/voxguard/voxguardd.conf "$T/ctrl/conffiles"
check "postinst runs systemd-sysusers before systemd-tmpfiles" sh -c \
	"awk '/systemd-sysusers/ {u=NR} /systemd-tmpfiles/ {t=NR} END {exit !(u && t && u < t)}' '$T/ctrl/postinst'"
check "the pkg-config file names the installed prefix" sh -c \
	"dpkg-deb --fsys-tarfile '$dev' | tar -xOf - ./usr/lib/$multiarch/pkgconfig/voxguard.pc | grep -qx 'prefix=/usr'"

# The shipped unit keeps its device sandbox (the file root of trust needs
# no device); the tpm2 drop-in adds /dev/tpmrm0 and the tss group only.
dpkg-deb -x "$main" "$T/x"
U=$T/x/lib/systemd/system/voxguardd.service
DROPIN=$T/x/usr/share/doc/voxguard/examples/voxguardd-tpm2.conf
check "SFR 4.2.10: the shipped unit keeps PrivateDevices=yes" grep -qx 'PrivateDevices=yes' "$U"
check "SFR 4.2.10: the shipped unit gives no device and no extra group" sh -c \
	"! grep -Eq '^(DeviceAllow|BindPaths|SupplementaryGroups|PrivateDevices=no)' '$U'"
check "SFR 4.2.10: the unit runs as the user its sysusers.d file creates" sh -c \
	"u=\$(sed -n 's/^User=//p' '$U'); grep -Eq \"^u \$u \" '$T/x/usr/lib/sysusers.d/voxguard.conf'"
check "rot = tpm2: the drop-in binds /dev/tpmrm0 into the private /dev" grep -qx 'BindPaths=/dev/tpmrm0' "$DROPIN"
check "rot = tpm2: the drop-in allows /dev/tpmrm0 read-write" grep -qx 'DeviceAllow=/dev/tpmrm0 rw' "$DROPIN"
check "rot = tpm2: the drop-in adds the tss group, the device's group" grep -qx 'SupplementaryGroups=tss' "$DROPIN"
check "rot = tpm2: the drop-in keeps PrivateDevices (does not turn it off)" sh -c "! grep -q '^PrivateDevices' '$DROPIN'"
# systemd-analyze verify, offline (no systemd runs here): the unit with
# the drop-in, every key known to systemd 252. ExecStart= points at
# /bin/true, since the binary is not installed on this host.
V=$T/verify
mkdir -p "$V/voxguardd.service.d"
sed 's|^ExecStart=[^ ]*|ExecStart=/bin/true|' "$U" >"$V/voxguardd.service"
cp "$DROPIN" "$V/voxguardd.service.d/tpm2.conf"
SYSTEMD_UNIT_PATH=$V: systemd-analyze verify --man=no "$V/voxguardd.service" >"$T/verify.txt" 2>&1 || true
cat "$T/verify.txt"
check "systemd-analyze verify: the unit and the tpm2 drop-in, no unknown key or error" \
	sh -c "grep -q . '$V/voxguardd.service.d/tpm2.conf' && [ ! -s '$T/verify.txt' ]"

if [ "$IS_ROOT" != 1 ]; then
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ] || exit 1
	echo "skip: installing into a throw-away root (dpkg --root, file owners) needs root"
	exit 77
fi

# The sysusers.d and tmpfiles.d files alone, on an empty root.
E=$T/empty
mkdir -p "$E"
dpkg-deb -x "$main" "$E"
systemd-sysusers --root="$E" >/dev/null 2>&1 || true
systemd-tmpfiles --root="$E" --create >/dev/null 2>&1 || true
svc_uid=$(awk -F: '$1 == "voxguard" {print $3}' "$E/etc/passwd" 2>/dev/null || true)
check "sysusers.d: systemd-sysusers creates the user voxguard (a system uid)" \
	sh -c "[ -n '$svc_uid' ] && [ '$svc_uid' -gt 0 ] && [ '$svc_uid' -lt 1000 ]"
check "sysusers.d: and its group" grep -q '^voxguard:' "$E/etc/group"
check "sysusers.d: with no login shell" sh -c "awk -F: '\$1 == \"voxguard\" {print \$7}' '$E/etc/passwd' | grep -q nologin"
check "tmpfiles.d: systemd-tmpfiles creates /var/lib/voxguard, 0700, owned by voxguard" sh -c \
	"[ \"\$(stat -c '%a %u' '$E/var/lib/voxguard')\" = '700 $svc_uid' ]"

# The packages installed by dpkg into a throw-away root. The maintainer
# scripts run outside it with DPKG_ROOT set (dpkg --force-script-chrootless;
# the debhelper snippets and systemd-sysusers/-tmpfiles honour DPKG_ROOT),
# so the root needs no shell of its own. Dependencies are not in it. The
# root's policy-rc.d (which deb-systemd-invoke reads under DPKG_ROOT)
# forbids starting anything, as in any image being built.
R=$T/root
host_before=$(cat /etc/passwd /etc/group; ls -la /etc/systemd/system/multi-user.target.wants 2>/dev/null)
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc" "$R/usr/sbin"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
dpkg --root="$R" --force-script-chrootless --force-depends --force-not-root \
	--log=/dev/null -i "$main" "$lib" "$dev" >"$T/dpkg.log" 2>&1 && dok=1 || dok=0
[ "$dok" = 1 ] || cat "$T/dpkg.log"
check "dpkg installs the three packages into a throw-away root" test "$dok" = 1
check "dpkg lists them installed" sh -c \
	"[ \"\$(dpkg-query --admindir='$R/var/lib/dpkg' -W -f='\${db:Status-Abbrev}\n' voxguard libvoxguard0 libvoxguard-dev | grep -c '^ii')\" = 3 ]"
r_uid=$(awk -F: '$1 == "voxguard" {print $3}' "$R/etc/passwd" 2>/dev/null || true)
check "postinst created the user voxguard (systemd-sysusers)" test -n "$r_uid"
check "postinst created the group voxguard" grep -q '^voxguard:' "$R/etc/group"
check "postinst created /var/lib/voxguard, 0700, owned by voxguard (systemd-tmpfiles)" sh -c \
	"[ -n '$r_uid' ] && [ \"\$(stat -c '%a %u' '$R/var/lib/voxguard')\" = '700 $r_uid' ]"
check "postinst enabled voxguardd.service" test -L "$R/etc/systemd/system/multi-user.target.wants/voxguardd.service"
check "the other units are installed but not enabled" sh -c \
	"! ls '$R/etc/systemd/system/'*/voxguard-* >/dev/null 2>&1"
check "the host's users, groups and units are untouched" \
	test "$(cat /etc/passwd /etc/group; ls -la /etc/systemd/system/multi-user.target.wants 2>/dev/null)" = "$host_before"
dpkg --root="$R" --force-script-chrootless --force-depends --force-not-root --log=/dev/null \
	--purge libvoxguard-dev libvoxguard0 voxguard >"$T/purge.log" 2>&1 && pok=1 || pok=0
[ "$pok" = 1 ] || cat "$T/purge.log"
check "dpkg purges them again" test "$pok" = 1
check "purge removes the units and the conffile" sh -c \
	"[ ! -e '$R/lib/systemd/system/voxguardd.service' ] && [ ! -e '$R/etc/voxguard/voxguardd.conf' ]"
finish
