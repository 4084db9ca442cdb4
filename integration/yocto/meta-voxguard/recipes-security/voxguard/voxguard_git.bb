# voxguard: the security service of a Linux smart speaker (keys, secure
# storage, audit log, attestation, A/B updates) with its client library,
# CLI, display gateway and OpenSSL 3 provider. docs/DEVICE.md, "Cross
# builds, Yocto and Buildroot", says what it needs and how it was checked.
SUMMARY = "Security service of a Linux smart speaker"
DESCRIPTION = "voxguard keeps a device's keys, secure storage and audit log \
in one sandboxed service, voxguardd, that applications reach over a Unix \
socket; it provisions the device's identity, attests it, checks the \
platform at start-up and installs signed updates into A/B slots."
SECTION = "security"
# The project has no licence yet (debian/copyright: all rights reserved):
# for a device maker's own firmware only.
LICENSE = "CLOSED"

# Where the device maker keeps the sources: set VOXGUARD_GIT_URI and
# SRCREV in local.conf or a bbappend (or use externalsrc on a checkout).
VOXGUARD_GIT_URI ??= "git://git.voxguard.invalid/voxguard.git;protocol=https;branch=main"
SRC_URI = "${VOXGUARD_GIT_URI}"
SRCREV ??= "${AUTOREV}"
# The version is project(voxguard VERSION ...) of CMakeLists.txt.
PV = "0.1.0+git"
S = "${WORKDIR}/git"

# One recipe per pkg_check_modules() of CMakeLists.txt: libcrypto and
# libssl (openssl), sqlite3, libcbor, jansson, libseccomp, libcurl (curl),
# tss2-esys, tss2-tctildr, tss2-mu and tss2-rc (tpm2-tss: headers only,
# the libraries are dlopen()ed), libwebsockets and libxcrypt (crypt(3) for
# `voxguard doctor`'s default-password check). cmake and pkg-config
# come with the classes. libsystemd is dlopen()ed for sd_notify only, so
# systemd is no build dependency.
DEPENDS = "openssl sqlite3 libcbor jansson libseccomp curl libxcrypt tpm2-tss libwebsockets"

inherit cmake pkgconfig systemd useradd

# No tests in the image build (make check runs them on the build machine),
# no -Werror under another compiler; OpenSSL's modules directory and the
# units' directory as this distribution has them.
EXTRA_OECMAKE = "-DVG_TESTS=OFF -DVG_WERROR=OFF \
    -DVG_OSSL_MODULESDIR=${libdir}/ossl-modules \
    -DVG_SYSTEMD_UNITDIR=${systemd_system_unitdir}"

# The service's user and group, before the package's files are installed
# (the sysusers.d file below makes the same on a system that runs
# systemd-sysusers; the one that comes first wins, the other finds it).
USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --user-group --home-dir /var/lib/voxguard --no-create-home --shell /sbin/nologin voxguard"

# Only the service is enabled, as in the Debian package:
# voxguard-verify-platform is for the voice application's unit to require,
# and voxguard-netpolicy needs an endpoint list first.
SYSTEMD_PACKAGES = "${PN}"
SYSTEMD_SERVICE:${PN} = "voxguardd.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# The packages follow debian/: voxguard (service, CLI, display gateway,
# provider, units, configuration), libvoxguard (libvoxguard.so.0; renamed
# libvoxguard0 by debian.bbclass where it is inherited) and voxguard-dev.
# Unlike debian/, the static library is in voxguard-staticdev and the
# manual pages and the drop-in example in voxguard-doc (Yocto's QA and
# conventions). tests/integration/test_integration_recipes.sh checks that
# these lists cover exactly what `cmake --install` installs.
PACKAGES =+ "lib${PN}"
FILES:lib${PN} = "${libdir}/libvoxguard.so.*"
FILES:${PN} = "\
    ${bindir}/voxguardd \
    ${bindir}/voxguard \
    ${bindir}/voxguard-displayd \
    ${libdir}/ossl-modules/voxguard.so \
    ${sysconfdir}/voxguard/voxguardd.conf \
    ${systemd_system_unitdir}/voxguardd.service \
    ${systemd_system_unitdir}/voxguard-verify-platform.service \
    ${systemd_system_unitdir}/voxguard-netpolicy.service \
    ${systemd_system_unitdir}/voxguard-netpolicy.timer \
    ${systemd_system_unitdir}/voxguard-netpolicy.path \
    ${systemd_system_unitdir}/voxguard-mic.service \
    ${systemd_system_unitdir}/voxguard-bluetooth.service \
    ${nonarch_libdir}/sysusers.d/voxguard.conf \
    ${nonarch_libdir}/tmpfiles.d/voxguard.conf \
    ${datadir}/voxguard/ca/amazon-trust-services.pem \
    ${datadir}/bash-completion/completions/voxguard \
"
FILES:${PN}-dev = "\
    ${includedir}/voxguard/*.h \
    ${libdir}/libvoxguard.so \
    ${libdir}/pkgconfig/voxguard.pc \
"
FILES:${PN}-staticdev = "${libdir}/libvoxguard.a"
FILES:${PN}-doc = "\
    ${mandir}/man1/voxguard.1 \
    ${mandir}/man1/voxguard-displayd.1 \
    ${docdir}/voxguard/examples/voxguardd-tpm2.conf \
    ${docdir}/voxguard/examples/voice-app.service \
    ${docdir}/voxguard/examples/voice-app.sysusers \
    ${docdir}/voxguard/examples/display-client.service \
    ${docdir}/voxguard/examples/display-client.sysusers \
"
CONFFILES:${PN} = "${sysconfdir}/voxguard/voxguardd.conf"

# dlopen()ed, so not found by the shared library dependency scan: the
# tpm2-tss libraries for rot = tpm2 (tpm2-tss's packages in meta-tpm).
RRECOMMENDS:${PN} += "libtss2 libtss2-mu libtss2-tcti-device"
