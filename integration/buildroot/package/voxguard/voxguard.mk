################################################################################
#
# voxguard
#
################################################################################

# The version is project(voxguard VERSION ...) of CMakeLists.txt. Where the
# device maker keeps the sources: VOXGUARD_SITE (and VOXGUARD_VERSION, a
# tag or commit), or VOXGUARD_OVERRIDE_SRCDIR in local.mk for a checkout.
VOXGUARD_VERSION = 0.1.0
VOXGUARD_SITE = https://git.voxguard.invalid/voxguard.git
VOXGUARD_SITE_METHOD = git
# No licence yet (debian/copyright: all rights reserved).
VOXGUARD_LICENSE = PROPRIETARY
VOXGUARD_INSTALL_STAGING = YES

# One package per pkg_check_modules() of CMakeLists.txt (tpm2-tss for its
# headers: the libraries are dlopen()ed; libsystemd for sd_notify too, so
# systemd is no build dependency). host-pkgconf and host-cmake come with
# cmake-package.
VOXGUARD_DEPENDENCIES = openssl sqlite libcbor jansson libseccomp libcurl libxcrypt tpm2-tss libwebsockets

# No tests on the target build (make check runs them on the build
# machine), no -Werror under another compiler; OpenSSL's modules
# directory and the units' directory as Buildroot has them.
VOXGUARD_CONF_OPTS = \
	-DVG_TESTS=OFF \
	-DVG_WERROR=OFF \
	-DCMAKE_INSTALL_LIBDIR=lib \
	-DVG_OSSL_MODULESDIR=/usr/lib/ossl-modules \
	-DVG_SYSTEMD_UNITDIR=/usr/lib/systemd/system

# The service's user and group (makeusers(8) format), as the sysusers.d
# file installed below makes them; its state directory, private to it.
define VOXGUARD_USERS
	voxguard -1 voxguard -1 * /var/lib/voxguard - - voxguard security service
endef

define VOXGUARD_PERMISSIONS
	/var/lib/voxguard d 700 voxguard voxguard - - - - -
endef

# What `cmake --install` puts on the target, after Buildroot's
# target-finalize has removed the headers, pkg-config files, static
# libraries and documentation. tests/integration/test_integration_recipes.sh
# checks this list against a real install; the hook below against the
# target directory of a real Buildroot build.
VOXGUARD_TARGET_FILES = \
	usr/bin/voxguardd \
	usr/bin/voxguard \
	usr/bin/voxguard-displayd \
	usr/lib/libvoxguard.so \
	usr/lib/libvoxguard.so.0 \
	usr/lib/libvoxguard.so.$(VOXGUARD_VERSION) \
	usr/lib/ossl-modules/voxguard.so \
	etc/voxguard/voxguardd.conf \
	usr/lib/systemd/system/voxguardd.service \
	usr/lib/systemd/system/voxguard-verify-platform.service \
	usr/lib/systemd/system/voxguard-netpolicy.service \
	usr/lib/systemd/system/voxguard-netpolicy.timer \
	usr/lib/systemd/system/voxguard-netpolicy.path \
	usr/lib/systemd/system/voxguard-mic.service \
	usr/lib/systemd/system/voxguard-bluetooth.service \
	usr/lib/sysusers.d/voxguard.conf \
	usr/lib/tmpfiles.d/voxguard.conf \
	usr/share/voxguard/ca/amazon-trust-services.pem \
	usr/share/bash-completion/completions/voxguard

define VOXGUARD_CHECK_TARGET_FILES
	@for f in $(VOXGUARD_TARGET_FILES); do \
		test -e $(TARGET_DIR)/$$f || { echo "voxguard: $$f not installed"; exit 1; }; \
	done
endef
VOXGUARD_POST_INSTALL_TARGET_HOOKS += VOXGUARD_CHECK_TARGET_FILES

# Only the service is enabled, as in the Debian package (systemctl
# preset-all runs at target-finalize): voxguard-verify-platform is for the
# voice application's unit to require, and voxguard-netpolicy needs an
# endpoint list first.
define VOXGUARD_INSTALL_INIT_SYSTEMD
	mkdir -p $(TARGET_DIR)/usr/lib/systemd/system-preset
	printf 'enable voxguardd.service\n' \
		>$(TARGET_DIR)/usr/lib/systemd/system-preset/80-voxguard.preset
endef

$(eval $(cmake-package))
