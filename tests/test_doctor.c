/*
 * test_doctor.c - `voxguard doctor` (src/posture/doctor.h): each check
 * finds the one weakness planted in a crafted root and stays quiet once
 * it is fixed; the tracker's JSON and dpkg's status file, malformed ones
 * refused; doctor.conf.
 *
 * AVS 1.2 (device hardening, no default passwords), AVS 1.13 (the
 * firmware image is scanned), AVS Device SDK (least privilege).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "posture/doctor.h"
#include "posture/vulndb.h"

static char root[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/vgunit.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes root/rel (parents made), mode. */
static void wr(const char *rel, const char *text, mode_t mode)
{
	char p[512], *s;
	int fd;

	(void)snprintf(p, sizeof p, "%s/%s", root, rel);
	for (s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		(void)mkdir(p, 0755);
		*s = '/';
	}
	(void)unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void rm(const char *rel)
{
	char p[512];
	(void)snprintf(p, sizeof p, "%s/%s", root, rel);
	(void)unlink(p);
}

static void ln(const char *target, const char *rel)
{
	char p[512], d[512], *s;
	(void)snprintf(p, sizeof p, "%s/%s", root, rel);
	(void)snprintf(d, sizeof d, "%s", p);
	for (s = d + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		(void)mkdir(d, 0755);
		*s = '/';
	}
	(void)unlink(p);
	assert_int_equal(symlink(target, p), 0);
}

/* Runs only check (an image at root) with o's extras. */
static vg_doc_report *run(vg_doc_check check, vg_doc_opts *extra)
{
	vg_doc_opts *o = calloc(1, sizeof *o);
	vg_doc_report *r = NULL;
	char why[256] = "";

	if (extra)
		memcpy(o, extra, sizeof *o);
	(void)snprintf(o->root, sizeof o->root, "%s", root);
	o->offline = true;
	o->skip = ((1u << VG_DOC_N_CHECKS) - 1u) & ~(1u << check);
	if (vg_doctor_run(o, &r, why, sizeof why) != VG_OK)
		fail_msg("vg_doctor_run: %s", why);
	free(o);
	return r;
}

static size_t count_id(const vg_doc_report *r, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += strcmp(r->f[i].id, id) == 0;
	return n;
}

static void expect(vg_doc_check check, vg_doc_opts *o, const char *id, const char *subject_part)
{
	vg_doc_report *r = run(check, o);
	const vg_doc_finding *f = vg_doctor_find(r, id);

	if (!f)
		fail_msg("no finding %s (%zu findings)", id, r->n);
	if (subject_part && !strstr(f->subject, subject_part) && !strstr(f->text, subject_part))
		fail_msg("%s: '%s' / '%s' does not name %s", id, f->subject, f->text, subject_part);
	assert_true(f->fix[0] != '\0');
	vg_doctor_free(&r);
}

static void expect_none(vg_doc_check check, vg_doc_opts *o, vg_doc_sev min)
{
	vg_doc_report *r = run(check, o);
	if (vg_doctor_count(r, min) != 0)
		fail_msg("%s: unexpected finding %s: %s: %s", vg_doc_check_name(check), r->f[0].id,
			 r->f[0].subject, r->f[0].text);
	vg_doctor_free(&r);
}

static char *hash_of(const char *pw)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	char *salt = crypt_gensalt_ra("$6$", 0, NULL, 0);
	char *h = strdup(crypt_r(pw, salt, cd));
	free(salt);
	free(cd);
	return h;
}

/* AVS 1.2: empty and default passwords, hashes in passwd, a second root */
static void test_avs12_doctor_accounts(void **state)
{
	char shadow[1024], *h = hash_of("root"), *good = hash_of("a-long-per-device-secret");
	(void)state;

	wr("etc/passwd",
	   "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n"
	   "avs:x:990:990::/var/lib/avs:/usr/sbin/nologin\n",
	   0644);
	(void)snprintf(shadow, sizeof shadow,
		       "root:%s:19000:0:99999:7:::\nnobody:*:19000::::::\navs:!:19000::::::\n", h);
	wr("etc/shadow", shadow, 0640);
	expect(VG_DOC_ACCOUNTS, NULL, "accounts.default-password", "root");
	/* the user's own name as password */
	{
		char *ha = hash_of("avs");
		(void)snprintf(shadow, sizeof shadow, "root:!:1::::::\navs:%s:1::::::\n", ha);
		free(ha);
	}
	wr("etc/shadow", shadow, 0640);
	expect(VG_DOC_ACCOUNTS, NULL, "accounts.default-password", "avs");
	wr("etc/shadow", "root:!:1::::::\navs::1::::::\n", 0640);
	expect(VG_DOC_ACCOUNTS, NULL, "accounts.empty-password", "avs");
	/* fixed: a real password, locked accounts */
	(void)snprintf(shadow, sizeof shadow, "root:%s:1::::::\nnobody:*:1::::::\navs:!*:1::::::\n",
		       good);
	wr("etc/shadow", shadow, 0640);
	expect_none(VG_DOC_ACCOUNTS, NULL, VG_SEV_INFO);
	/* readable shadow */
	wr("etc/shadow", shadow, 0644);
	expect(VG_DOC_ACCOUNTS, NULL, "accounts.shadow-readable", "/etc/shadow");
	wr("etc/shadow", shadow, 0640);
	/* passwd: empty field, a hash, a second uid 0 */
	wr("etc/passwd", "root::0:0::/root:/bin/sh\n", 0644);
	expect(VG_DOC_ACCOUNTS, NULL, "accounts.no-password", "root");
	(void)snprintf(shadow, sizeof shadow, "root:%s:0:0::/root:/bin/sh\n", h);
	wr("etc/passwd", shadow, 0644);
	expect(VG_DOC_ACCOUNTS, NULL, "accounts.passwd-hash", "default password root");
	wr("etc/passwd", "root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\n", 0644);
	expect(VG_DOC_ACCOUNTS, NULL, "accounts.uid0", "toor");
	wr("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
	expect_none(VG_DOC_ACCOUNTS, NULL, VG_SEV_INFO);
	free(h);
	free(good);
}

/* AVS 1.2: a hostile image's shadow file cannot stall the audit: hashes
 * that ask for a cost no device uses are not tried (10^9 SHA-crypt rounds
 * would take minutes each, bcrypt cost 31 days), and the time budget
 * bounds the rest; both are reported, and a default password in a hash of
 * ordinary cost is still found. */
static void test_avs12_doctor_accounts_hostile_cost(void **state)
{
	char shadow[4096], *h = hash_of("root");
	vg_doc_opts *o = calloc(1, sizeof *o);
	vg_doc_report *r;
	const vg_doc_finding *f;
	struct timespec t0, t1;
	size_t n = 0;
	(void)state;

	assert_non_null(o);
	wr("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
	n += (size_t)snprintf(
	    shadow + n, sizeof shadow - n, "%s",
	    "a:$6$rounds=999999999$salt$AAAA:1::::::\n"
	    "b:$5$rounds=1000000$salt$AAAA:1::::::\n"
	    "c:$2b$31$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:1::::::\n"
	    "d:$y$jzT$salt$AAAA:1::::::\n"
	    "e:$y$j9T$salt$AAAA$extra:1::::::\n"
	    "f:$gy$j9T$salt$AAAA:1::::::\n"
	    "g:$6$rounds=18446744073709551616$salt$AAAA:1::::::\n");
	(void)snprintf(shadow + n, sizeof shadow - n, "root:%s:1::::::\n", h);
	wr("etc/shadow", shadow, 0640);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	r = run(VG_DOC_ACCOUNTS, NULL);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	assert_true(t1.tv_sec - t0.tv_sec < 60);
	assert_non_null(vg_doctor_find(r, "accounts.default-password"));
	f = vg_doctor_find(r, "accounts.untested");
	assert_non_null(f);
	assert_int_equal(f->sev, VG_SEV_INFO);
	if (!strstr(f->text, "6 password hash(es)"))
		fail_msg("accounts.untested: %s", f->text);
	vg_doctor_free(&r);

	/* the time budget: 1 ms is spent on the first hash, the second is
	 * not tried */
	o->crypt_budget_ms = 1;
	(void)snprintf(shadow, sizeof shadow, "a:%s:1::::::\nroot:%s:1::::::\n", h, h);
	wr("etc/shadow", shadow, 0640);
	r = run(VG_DOC_ACCOUNTS, o);
	assert_non_null(vg_doctor_find(r, "accounts.untested"));
	vg_doctor_free(&r);
	free(o);
	free(h);
}

/* AVS 1.2: sshd's password logins; includes; first value wins; no sshd */
static void test_avs12_doctor_ssh(void **state)
{
	(void)state;
	expect_none(VG_DOC_SSH, NULL, VG_SEV_INFO); /* no sshd: ok */
	wr("usr/sbin/sshd", "x", 0755);
	/* sshd without a config: the defaults allow passwords */
	expect(VG_DOC_SSH, NULL, "ssh.password-auth", "absent");
	wr("etc/ssh/sshd_config",
	   "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n"
	   "KbdInteractiveAuthentication no\nUsePAM yes\n",
	   0644);
	wr("etc/ssh/sshd_config.d/10-vendor.conf", "PasswordAuthentication yes\n", 0644);
	expect(VG_DOC_SSH, NULL, "ssh.password-auth", "10-vendor.conf");
	rm("etc/ssh/sshd_config.d/10-vendor.conf");
	expect_none(VG_DOC_SSH, NULL, VG_SEV_INFO);
	wr("etc/ssh/sshd_config.d/20-root.conf", "PermitRootLogin=yes\nPermitEmptyPasswords yes\n",
	   0644);
	expect(VG_DOC_SSH, NULL, "ssh.root-login", "20-root.conf");
	expect(VG_DOC_SSH, NULL, "ssh.empty-passwords", "20-root.conf");
	rm("etc/ssh/sshd_config.d/20-root.conf");
	/* values inside Match blocks are not the global ones */
	wr("etc/ssh/sshd_config",
	   "PasswordAuthentication no\nKbdInteractiveAuthentication no\nMatch User x\n"
	   "  PasswordAuthentication yes\n",
	   0644);
	expect_none(VG_DOC_SSH, NULL, VG_SEV_INFO);
	/* A hostile image: 20 files that each include all 20 (20^8 reads
	 * without a bound) end after 256 files, reported; what was read
	 * before still counts. */
	wr("etc/ssh/sshd_config", "Include sshd_config.d/*.conf\n", 0644);
	for (int i = 0; i < 20; i++) {
		char rel[64];
		(void)snprintf(rel, sizeof rel, "etc/ssh/sshd_config.d/%02d.conf", i);
		wr(rel, i == 0 ? "PermitRootLogin yes\nInclude sshd_config.d/*.conf\n"
			       : "Include sshd_config.d/*.conf\n",
		   0644);
	}
	expect(VG_DOC_SSH, NULL, "ssh.include-loop", "sshd_config");
	expect(VG_DOC_SSH, NULL, "ssh.root-login", "00.conf");
	for (int i = 0; i < 20; i++) {
		char rel[64];
		(void)snprintf(rel, sizeof rel, "etc/ssh/sshd_config.d/%02d.conf", i);
		rm(rel);
	}
	rm("usr/sbin/sshd");
}

/* AVS 1.2: world-writable files and directories; sticky directories and
 * links are fine */
static void test_avs12_doctor_perms(void **state)
{
	char p[512];
	(void)state;

	wr("usr/bin/tool", "#!/bin/sh\n", 0755);
	(void)snprintf(p, sizeof p, "%s/tmp", root);
	(void)mkdir(p, 01777);
	(void)chmod(p, 01777);
	(void)snprintf(p, sizeof p, "%s/var/lib/shared", root);
	wr("var/lib/shared/keep", "", 0644);
	assert_int_equal(chmod(p, 01777), 0);
	ln("/etc/passwd", "usr/bin/link"); /* a link: 0777, never reported */
	expect_none(VG_DOC_PERMS, NULL, VG_SEV_INFO);
	wr("usr/bin/tool", "#!/bin/sh\n", 0757);
	expect(VG_DOC_PERMS, NULL, "perms.world-writable", "/usr/bin/tool");
	wr("usr/bin/tool", "#!/bin/sh\n", 0755);
	assert_int_equal(chmod(p, 0777), 0);
	expect(VG_DOC_PERMS, NULL, "perms.world-writable", "/var/lib/shared");
	assert_int_equal(chmod(p, 0755), 0);
	expect_none(VG_DOC_PERMS, NULL, VG_SEV_INFO);
	/* a hostile name reaches the report printable */
	wr("etc/evil\033]0;x\007", "", 0666);
	{
		vg_doc_report *r = run(VG_DOC_PERMS, NULL);
		const vg_doc_finding *f = vg_doctor_find(r, "perms.world-writable");
		assert_non_null(f);
		assert_non_null(strstr(f->subject, "\\x1b"));
		assert_null(strchr(f->subject, '\033'));
		vg_doctor_free(&r);
	}
	rm("etc/evil\033]0;x\007");
}

/* AVS 1.2: set-uid files outside the allow-list */
static void test_avs12_doctor_setuid(void **state)
{
	vg_doc_opts *o = calloc(1, sizeof *o);
	(void)state;

	wr("usr/bin/su", "x", 04755);
	expect(VG_DOC_SETUID, NULL, "setuid.unexpected", "/usr/bin/su");
	strcpy(o->setuid[0], "/usr/bin/su");
	o->n_setuid = 1;
	expect_none(VG_DOC_SETUID, o, VG_SEV_INFO);
	wr("usr/bin/wall", "x", 02755);
	expect(VG_DOC_SETUID, o, "setuid.unexpected", "/usr/bin/wall");
	rm("usr/bin/wall");
	rm("usr/bin/su");
	expect_none(VG_DOC_SETUID, NULL, VG_SEV_INFO);
	free(o);
}

/* SDK exploit mitigation: an ELF without NX found in usr/bin; the test
 * binary itself (hardened) gives no low finding */
static void test_avs12_doctor_elf_walk(void **state)
{
	uint8_t *self;
	size_t n;
	char p[512];
	FILE *f;
	(void)state;

	assert_int_equal(vg_read_file("/proc/self/exe", 64u << 20, &self, &n), VG_OK);
	(void)snprintf(p, sizeof p, "%s/usr/bin/hardened", root);
	wr("usr/bin/hardened", "", 0755);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(self, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(self);
	{
		vg_doc_report *r = run(VG_DOC_ELF, NULL);
		assert_int_equal(r->elf_files, 1);
		assert_int_equal(count_id(r, "elf.no-pie") + count_id(r, "elf.no-relro") +
				     count_id(r, "elf.execstack") +
				     count_id(r, "elf.partial-relro") +
				     count_id(r, "elf.no-canary"),
				 0);
		vg_doctor_free(&r);
	}
	/* the same bytes outside the executable paths: not looked at */
	(void)snprintf(p, sizeof p, "%s/etc/hardened", root);
	rm("etc/hardened");
	rm("usr/bin/hardened");
}

/* Kernel hardening: an unset and a weak sysctl in an image */
static void test_avs12_doctor_sysctl(void **state)
{
	static const char good[] =
	    "kernel.kptr_restrict = 2\nkernel.dmesg_restrict = 1\nkernel.yama.ptrace_scope = 2\n"
	    "kernel.unprivileged_bpf_disabled = 1\nfs.protected_symlinks = 1\n"
	    "fs.protected_hardlinks = 1\nfs.protected_fifos = 2\nfs.protected_regular = 2\n"
	    "fs.suid_dumpable = 0\nkernel.kexec_load_disabled = 1\n";
	(void)state;

	expect(VG_DOC_SYSCTL, NULL, "sysctl.unset", "kernel.kptr_restrict");
	wr("usr/lib/sysctl.d/90-hardening.conf", good, 0644);
	wr("boot/config-6.1.0-test", "CONFIG_MODULE_SIG_FORCE=y\n", 0644);
	expect_none(VG_DOC_SYSCTL, NULL, VG_SEV_INFO);
	/* etc/sysctl.d overrides usr/lib by file name; a later file wins */
	wr("etc/sysctl.d/99-weak.conf", "kernel/yama/ptrace_scope=0\n", 0644);
	expect(VG_DOC_SYSCTL, NULL, "sysctl.weak", "kernel.yama.ptrace_scope");
	rm("etc/sysctl.d/99-weak.conf");
	wr("etc/sysctl.d/90-hardening.conf", "fs.suid_dumpable = 2\n", 0644);
	expect(VG_DOC_SYSCTL, NULL, "sysctl.weak", "fs.suid_dumpable");
	rm("etc/sysctl.d/90-hardening.conf");
	wr("boot/config-6.1.0-test", "# CONFIG_MODULE_SIG_FORCE is not set\n", 0644);
	expect(VG_DOC_SYSCTL, NULL, "sysctl.modules", NULL);
	rm("boot/config-6.1.0-test");
	wr("etc/sysctl.d/95-modules.conf", "kernel.modules_disabled = 1\n", 0644);
	expect_none(VG_DOC_SYSCTL, NULL, VG_SEV_INFO);
}

/* Core dumps: files, systemd-coredump storing them, discarded */
static void test_avs12_doctor_coredump(void **state)
{
	(void)state;
	expect(VG_DOC_COREDUMP, NULL, "coredump.enabled", NULL);
	wr("etc/security/limits.conf", "*  hard  core  0\n", 0644);
	wr("etc/systemd/system.conf", "[Manager]\nDefaultLimitCORE=0\n", 0644);
	expect_none(VG_DOC_COREDUMP, NULL, VG_SEV_INFO);
	wr("usr/lib/sysctl.d/50-coredump.conf",
	   "kernel.core_pattern=|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 "
	   "%h\n",
	   0644);
	expect(VG_DOC_COREDUMP, NULL, "coredump.stored", NULL);
	wr("etc/systemd/coredump.conf.d/none.conf", "[Coredump]\nStorage=none\nProcessSizeMax=0\n",
	   0644);
	expect_none(VG_DOC_COREDUMP, NULL, VG_SEV_INFO);
	wr("etc/sysctl.d/60-core.conf", "kernel.core_pattern = |/bin/false\n", 0644);
	expect_none(VG_DOC_COREDUMP, NULL, VG_SEV_INFO);
}

/* SDK least privilege: the voice application's unit */
static void test_avs12_doctor_voice(void **state)
{
	static const char good[] =
	    "[Unit]\nDescription=voice\n[Service]\nUser=avs\nGroup=avs\nSupplementaryGroups=audio\n"
	    "NoNewPrivileges=yes\nProtectSystem=strict\nCapabilityBoundingSet=\n"
	    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\nSystemCallFilter=@system-service\n"
	    "ExecStart=/usr/bin/SampleApp\n";
	vg_doc_opts *o = calloc(1, sizeof *o);
	(void)state;

	/* none under the usual names: skipped, no finding */
	expect_none(VG_DOC_VOICE, NULL, VG_SEV_INFO);
	/* named but absent */
	strcpy(o->units[0], "speaker.service");
	o->n_units = 1;
	expect(VG_DOC_VOICE, o, "voice.missing", "speaker.service");
	wr("usr/lib/systemd/system/voice-app.service", good, 0644);
	expect_none(VG_DOC_VOICE, NULL, VG_SEV_INFO);
	/* a drop-in that runs it as root and widens it */
	wr("etc/systemd/system/voice-app.service.d/override.conf",
	   "[Service]\nUser=root\nSupplementaryGroups=\nSupplementaryGroups=input disk\n"
	   "CapabilityBoundingSet=CAP_NET_ADMIN\nNoNewPrivileges=no\n",
	   0644);
	expect(VG_DOC_VOICE, NULL, "voice.root", "voice-app.service");
	expect(VG_DOC_VOICE, NULL, "voice.broad-group", "input");
	expect(VG_DOC_VOICE, NULL, "voice.capabilities", "CAP_NET_ADMIN");
	expect(VG_DOC_VOICE, NULL, "voice.no-new-privileges", NULL);
	rm("etc/systemd/system/voice-app.service.d/override.conf");
	/* an etc copy overrides the vendor's */
	wr("etc/systemd/system/voice-app.service", "[Service]\nUser=avs\n", 0644);
	expect(VG_DOC_VOICE, NULL, "voice.protect-system", NULL);
	expect(VG_DOC_VOICE, NULL, "voice.syscall-filter", NULL);
	expect(VG_DOC_VOICE, NULL, "voice.address-families", NULL);
	/* masked: not found */
	ln("/dev/null", "etc/systemd/system/voice-app.service");
	strcpy(o->units[0], "voice-app.service");
	expect(VG_DOC_VOICE, o, "voice.missing", NULL);
	rm("etc/systemd/system/voice-app.service");
	expect_none(VG_DOC_VOICE, o, VG_SEV_INFO);
	free(o);
}

/* AVS 1.9-1.12: bluetoothd enabled without voxguard's enforcement */
static void test_avs12_doctor_bluetooth(void **state)
{
	(void)state;
	expect_none(VG_DOC_BLUETOOTH, NULL, VG_SEV_INFO);
	wr("usr/libexec/bluetooth/bluetoothd", "x", 0755);
	wr("usr/lib/systemd/system/bluetooth.service", "[Service]\n", 0644);
	expect_none(VG_DOC_BLUETOOTH, NULL, VG_SEV_INFO); /* installed, not enabled */
	ln("/usr/lib/systemd/system/bluetooth.service",
	   "etc/systemd/system/bluetooth.target.wants/bluetooth.service");
	expect(VG_DOC_BLUETOOTH, NULL, "bluetooth.unenforced", "voxguard-bluetooth.service");
	ln("/usr/lib/systemd/system/voxguard-bluetooth.service",
	   "etc/systemd/system/multi-user.target.wants/voxguard-bluetooth.service");
	expect_none(VG_DOC_BLUETOOTH, NULL, VG_SEV_INFO);
}

/* AVS 1.2: enabled network daemons and sockets against the allow-list */
static void test_avs12_doctor_network(void **state)
{
	vg_doc_opts *o = calloc(1, sizeof *o);
	char why[128];
	(void)state;

	expect_none(VG_DOC_NETWORK, NULL, VG_SEV_INFO);
	ln("/lib/systemd/system/ssh.service",
	   "etc/systemd/system/multi-user.target.wants/ssh.service");
	expect(VG_DOC_NETWORK, NULL, "network.enabled-service", "ssh.service");
	assert_int_equal(vg_doctor_add_port(o, "22/tcp", why, sizeof why), VG_OK);
	expect_none(VG_DOC_NETWORK, o, VG_SEV_INFO);
	wr("lib/systemd/system/telnet.socket", "[Socket]\nListenStream=0.0.0.0:2323\n", 0644);
	wr("lib/systemd/system/local.socket",
	   "[Socket]\nListenStream=127.0.0.1:9000\nListenStream=/run/x.sock\n", 0644);
	ln("/lib/systemd/system/telnet.socket",
	   "etc/systemd/system/sockets.target.wants/telnet.socket");
	ln("/lib/systemd/system/local.socket",
	   "etc/systemd/system/sockets.target.wants/local.socket");
	expect(VG_DOC_NETWORK, o, "network.enabled-socket", "2323");
	assert_int_equal(vg_doctor_add_port(o, "2323", why, sizeof why), VG_OK);
	expect_none(VG_DOC_NETWORK, o, VG_SEV_INFO);
	/* allow-port syntax */
	assert_int_equal(vg_doctor_add_port(o, "0", why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_doctor_add_port(o, "65536", why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_doctor_add_port(o, "22/sctp", why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_doctor_add_port(o, "x", why, sizeof why), VG_ERR_INVALID);
	free(o);
}

/* AVS 1.2: on the running device, the tables of /proc/net are read (the
 * build machine: whatever listens; no crash, every finding names a port) */
static void test_avs12_doctor_running(void **state)
{
	vg_doc_opts *o = calloc(1, sizeof *o);
	vg_doc_report *r = NULL;
	char why[256];
	(void)state;

	o->skip = (1u << VG_DOC_PERMS) | (1u << VG_DOC_SETUID) | (1u << VG_DOC_ELF);
	assert_int_equal(vg_doctor_run(o, &r, why, sizeof why), VG_OK);
	assert_int_equal(r->st[VG_DOC_NETWORK].state, VG_DOC_RAN);
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].check == VG_DOC_NETWORK)
			assert_true(strncmp(r->f[i].subject, "tcp/", 4) == 0 ||
				    strncmp(r->f[i].subject, "udp/", 4) == 0);
	{
		char *j = vg_doctor_json(r, VG_SEV_LOW);
		assert_non_null(j);
		assert_non_null(strstr(j, "\"format\": \"voxguard-doctor/1\""));
		free(j);
	}
	vg_doctor_free(&r);
	/* no such root */
	strcpy(o->root, "/nonexistent/root");
	o->offline = true;
	assert_int_equal(vg_doctor_run(o, &r, why, sizeof why), VG_ERR_NOT_FOUND);
	assert_null(r);
	free(o);
}

static const char status_txt[] =
    "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n"
    "Description: x\n more\n\n"
    "Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\n\n"
    "Package: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\n"
    "Version: 1:1.2.13.dfsg-1+b1\n\n"
    "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\n"
    "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u5\n";

static const char tracker[] =
    "{\"openssl\": {\"CVE-2024-0001\": {\"description\": \"x\", \"releases\": {"
    "\"bookworm\": {\"status\": \"resolved\", \"fixed_version\": \"3.0.13-1~deb12u1\", "
    "\"urgency\": \"high\", \"repositories\": {\"bookworm\": \"3.0.13-1~deb12u1\"}},"
    "\"trixie\": {\"status\": \"resolved\", \"fixed_version\": \"3.1.0-1\", \"urgency\": "
    "\"high\"}}},"
    "\"CVE-2023-0002\": {\"releases\": {\"bookworm\": {\"status\": \"resolved\", "
    "\"fixed_version\": \"3.0.9-1\", \"urgency\": \"medium\"}}},"
    "\"CVE-2023-0003\": {\"releases\": {\"bookworm\": {\"status\": \"resolved\", "
    "\"fixed_version\": \"0\", \"urgency\": \"unimportant\"}}}},"
    "\"zlib\": {\"CVE-2023-0004\": {\"releases\": {\"bookworm\": {\"status\": \"open\", "
    "\"urgency\": \"low**\", \"nodsa\": \"Minor issue\", \"nodsa_reason\": \"postponed\"}}}},"
    "\"curl\": {\"CVE-2023-0005\": {\"releases\": {\"bookworm\": {\"status\": \"undetermined\", "
    "\"nodsa\": null, \"nodsa_reason\": null}}}},"
    "\"other\": {\"CVE-2023-0006\": {\"releases\": {\"bookworm\": {\"status\": \"open\"}}}}}";

/* AVS 1.13: installed packages against the tracker; Source with its
 * version; binaries of one source merged; never affected and Debian's
 * no-advisory reason (nodsa) passed on */
static void test_avs113_doctor_vulndb_match(void **state)
{
	vg_dpkg_pkg *p;
	vg_vulndb *db = NULL;
	vg_vuln_hit *h;
	size_t np, nh, bad;
	char why[256];
	(void)state;

	assert_int_equal(vg_dpkg_status_parse((const uint8_t *)status_txt, strlen(status_txt), &p,
					      &np, why, sizeof why),
			 VG_OK);
	assert_int_equal(np, 4);
	assert_string_equal(p[0].source, "openssl");
	assert_string_equal(p[0].source_version, "3.0.11-1~deb12u2");
	assert_string_equal(p[2].source, "zlib");
	assert_string_equal(p[2].source_version, "1:1.2.13.dfsg-1");
	assert_string_equal(p[3].name, "curl");
	assert_int_equal(
	    vg_vulndb_load((const uint8_t *)tracker, strlen(tracker), &db, why, sizeof why), VG_OK);
	/* without not_affected, the never-affected entry is not held */
	assert_int_equal(
	    vg_vulndb_match(db, "bookworm", p, np, false, &h, &nh, &bad, why, sizeof why), VG_OK);
	assert_int_equal(nh, 3);
	for (size_t i = 0; i < nh; i++)
		assert_int_not_equal(h[i].kind, VG_VULN_NOT_AFFECTED);
	free(h);
	assert_int_equal(
	    vg_vulndb_match(db, "bookworm", p, np, true, &h, &nh, &bad, why, sizeof why), VG_OK);
	assert_int_equal(bad, 0);
	assert_int_equal(nh, 4);
	assert_string_equal(h[0].cve, "CVE-2024-0001");
	assert_int_equal(h[0].kind, VG_VULN_FIXED);
	assert_string_equal(h[0].binaries, "libssl3, openssl");
	assert_string_equal(h[0].fixed, "3.0.13-1~deb12u1");
	assert_string_equal(h[0].status, "resolved");
	assert_string_equal(h[0].urgency, "high");
	assert_string_equal(h[1].cve, "CVE-2023-0003");
	assert_int_equal(h[1].kind, VG_VULN_NOT_AFFECTED);
	assert_string_equal(h[1].fixed, "0");
	assert_string_equal(h[2].cve, "CVE-2023-0004");
	assert_int_equal(h[2].kind, VG_VULN_OPEN);
	assert_string_equal(h[2].binaries, "zlib1g");
	assert_string_equal(h[2].nodsa_reason, "postponed");
	assert_string_equal(h[2].nodsa, "Minor issue");
	assert_int_equal(h[3].kind, VG_VULN_UNDETERMINED);
	assert_string_equal(h[3].status, "undetermined");
	assert_string_equal(h[3].nodsa_reason, "");
	free(h);
	/* another release: trixie's fix is newer, nothing else listed */
	assert_int_equal(vg_vulndb_match(db, "trixie", p, np, true, &h, &nh, &bad, why, sizeof why),
			 VG_OK);
	assert_int_equal(nh, 1);
	free(h);
	vg_vulndb_free(&db);
	vg_vulndb_free(&db); /* NULL-safe */
	vg_dpkg_free(p, np);
}

/* AVS 1.13: malformed tracker JSON and status files are refused */
static void test_avs113_doctor_vulndb_malformed(void **state)
{
	static const char *const bad_json[] = {
	    "",
	    "[]",
	    "{\"a\": []}",
	    "{\"a\": {\"CVE-1\": 3}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": []}}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": 1}}}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {}}}}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": 1}}}}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": \"open\", "
	    "\"fixed_version\": 1}}}}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": \"open\", "
	    "\"urgency\": []}}}}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": \"open\", "
	    "\"nodsa_reason\": 1}}}}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": \"open\", "
	    "\"nodsa\": {}}}}}}",
	    "{\"a\": {}, \"a\": {}}",
	    "{\"\": {}}",
	    "{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": \"open\"}}}}",
	};
	static const char *const bad_status[] = {
	    "Package: a\nno colon here\n",
	    "Package: a\nStatus: install ok installed\nVersion: 1\nSource: b (1.0\n",
	    "Package: a\nStatus: install ok installed\nVersion: 1\nSource: b (1.0) x\n",
	    "Package: a\nStatus: install ok installed\nVersion: 1\nSource: (1.0)\n",
	};
	vg_vulndb *db = NULL;
	vg_dpkg_pkg *p = NULL;
	size_t np = 9;
	char why[256];
	(void)state;

	for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
		why[0] = '\0';
		if (vg_vulndb_load((const uint8_t *)bad_json[i], strlen(bad_json[i]), &db, why,
				   sizeof why) != VG_ERR_INVALID)
			fail_msg("accepted: %s", bad_json[i]);
		assert_null(db);
		assert_true(why[0] != '\0');
	}
	for (size_t i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++) {
		assert_int_equal(vg_dpkg_status_parse((const uint8_t *)bad_status[i],
						      strlen(bad_status[i]), &p, &np, why,
						      sizeof why),
				 VG_ERR_INVALID);
		assert_null(p);
		assert_int_equal(np, 0);
	}
	/* a field too long, a NUL inside a field */
	{
		size_t l = VG_DPKG_MAX_FIELD + 64;
		char *s = malloc(l + 32);
		strcpy(s, "Package: ");
		memset(s + 9, 'a', l);
		s[9 + l] = '\0';
		assert_int_equal(
		    vg_dpkg_status_parse((const uint8_t *)s, strlen(s), &p, &np, why, sizeof why),
		    VG_ERR_INVALID);
		free(s);
		assert_int_equal(vg_dpkg_status_parse((const uint8_t *)"Package: a\0b\n", 13, &p,
						      &np, why, sizeof why),
				 VG_ERR_INVALID);
	}
	/* an empty Package or Version: the paragraph is skipped (found by
	 * fuzz_vulndb: it was listed with an empty version) */
	{
		static const char st[] = "Package: a\nStatus: install ok installed\nVersion: \t\n\n"
					 "Package:\t\nStatus: install ok installed\nVersion: 1\n";
		assert_int_equal(
		    vg_dpkg_status_parse((const uint8_t *)st, strlen(st), &p, &np, why, sizeof why),
		    VG_OK);
		assert_int_equal(np, 0);
		vg_dpkg_free(p, np);
	}
	/* a version that does not parse: skipped and counted */
	{
		static const char st[] = "Package: x\nStatus: install ok installed\nVersion: abc\n";
		static const char js[] =
		    "{\"x\": {\"CVE-1\": {\"releases\": {\"bookworm\": {\"status\": "
		    "\"open\"}}}}}";
		vg_vuln_hit *h;
		size_t nh, bad;
		assert_int_equal(
		    vg_dpkg_status_parse((const uint8_t *)st, strlen(st), &p, &np, why, sizeof why),
		    VG_OK);
		assert_int_equal(
		    vg_vulndb_load((const uint8_t *)js, strlen(js), &db, why, sizeof why), VG_OK);
		assert_int_equal(
		    vg_vulndb_match(db, "bookworm", p, np, true, &h, &nh, &bad, why, sizeof why),
		    VG_OK);
		assert_int_equal(nh, 0);
		assert_int_equal(bad, 1);
		free(h);
		vg_vulndb_free(&db);
		vg_dpkg_free(p, np);
	}
}

/* AVS 1.13: the image scan through the doctor, severities from urgency;
 * each finding's facts (the JSON's "vuln" member, read by
 * scripts/vulnreport.py for AVS 1.8); never-affected entries only with
 * vuln_not_affected */
static void test_avs113_doctor_vuln_check(void **state)
{
	vg_doc_opts *o = calloc(1, sizeof *o);
	vg_doc_report *r;
	char db[256], why[256];
	(void)state;

	wr("var/lib/dpkg/status", status_txt, 0644);
	wr("etc/os-release", "PRETTY_NAME=\"Debian\"\nVERSION_CODENAME=bookworm\n", 0644);
	wr("tracker.json", tracker, 0644);
	(void)snprintf(db, sizeof db, "%s/tracker.json", root);
	(void)snprintf(o->vuln_db, sizeof o->vuln_db, "%s", db);
	r = run(VG_DOC_VULN, o);
	assert_non_null(vg_doctor_find(r, "vuln.fixed"));
	assert_int_equal(vg_doctor_find(r, "vuln.fixed")->sev, VG_SEV_HIGH);
	assert_non_null(strstr(vg_doctor_find(r, "vuln.fixed")->text, "CVE-2024-0001"));
	assert_int_equal(vg_doctor_find(r, "vuln.open")->sev, VG_SEV_LOW);
	assert_int_equal(vg_doctor_find(r, "vuln.undetermined")->sev, VG_SEV_INFO);
	{
		const vg_doc_vuln *v = vg_doctor_find(r, "vuln.fixed")->vuln;
		char *j;
		assert_non_null(v);
		assert_string_equal(v->cve, "CVE-2024-0001");
		assert_string_equal(v->source, "openssl");
		assert_string_equal(v->installed, "3.0.11-1~deb12u2");
		assert_string_equal(v->fixed_version, "3.0.13-1~deb12u1");
		assert_string_equal(v->urgency, "high");
		assert_string_equal(v->tracker_status, "resolved");
		v = vg_doctor_find(r, "vuln.open")->vuln;
		assert_non_null(v);
		assert_string_equal(v->source, "zlib");
		assert_string_equal(v->installed, "1:1.2.13.dfsg-1");
		assert_string_equal(v->urgency, "low**");
		assert_string_equal(v->nodsa_reason, "postponed");
		assert_string_equal(v->nodsa, "Minor issue");
		assert_null(vg_doctor_find(r, "vuln.not-affected"));
		j = vg_doctor_json(r, VG_SEV_LOW);
		assert_non_null(j);
		assert_non_null(strstr(j, "\"vuln\": {"));
		assert_non_null(strstr(j, "\"fixed_version\": \"3.0.13-1~deb12u1\""));
		assert_non_null(strstr(j, "\"nodsa_reason\": \"postponed\""));
		free(j);
	}
	vg_doctor_free(&r);
	/* asked for: the never-affected entry, info, with its facts */
	o->vuln_not_affected = true;
	r = run(VG_DOC_VULN, o);
	assert_int_equal(count_id(r, "vuln.not-affected"), 1);
	assert_int_equal(vg_doctor_find(r, "vuln.not-affected")->sev, VG_SEV_INFO);
	assert_string_equal(vg_doctor_find(r, "vuln.not-affected")->vuln->cve, "CVE-2023-0003");
	assert_string_equal(vg_doctor_find(r, "vuln.not-affected")->vuln->fixed_version, "0");
	assert_int_equal(vg_doctor_count(r, VG_SEV_LOW), 2);
	vg_doctor_free(&r);
	o->vuln_not_affected = false;
	/* upgraded: gone */
	wr("var/lib/dpkg/status",
	   "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: "
	   "3.0.13-1~deb12u1\n",
	   0644);
	r = run(VG_DOC_VULN, o);
	assert_int_equal(r->n, 0);
	vg_doctor_free(&r);
	/* a broken list: the run fails with the reason */
	wr("tracker.json", "{\"a\": 1}", 0644);
	(void)snprintf(o->root, sizeof o->root, "%s", root);
	o->offline = true;
	assert_int_equal(vg_doctor_run(o, &r, why, sizeof why), VG_ERR_INVALID);
	assert_non_null(strstr(why, "not an object"));
	free(o);
}

/* doctor.conf */
static void test_avs12_doctor_conf(void **state)
{
	vg_doc_opts *o = calloc(1, sizeof *o);
	char why[256];
	static const char ok[] =
	    "# allow-lists of the product\nallow-port = 22/tcp\n"
	    "allow-port=5353/udp\nallow-setuid = /usr/bin/su\n"
	    "voice-unit = avs-voice.service\nfail-on = medium\nskip = vuln,elf\n";
	static const char *const bad[] = {"allow-port = 99999\n", "nonsense\n",
					  "color = red\n",        "allow-setuid = relative\n",
					  "fail-on = severe\n",   "skip = everything\n",
					  "voice-unit = a/b\n"};
	(void)state;

	assert_int_equal(vg_doctor_conf_parse(ok, strlen(ok), o, why, sizeof why), VG_OK);
	assert_int_equal(o->n_ports, 2);
	assert_int_equal(o->ports[1].proto, 17);
	assert_string_equal(o->setuid[0], "/usr/bin/su");
	assert_string_equal(o->units[0], "avs-voice.service");
	assert_int_equal(o->fail_on, VG_SEV_MEDIUM);
	assert_int_equal(o->skip, (1u << VG_DOC_VULN) | (1u << VG_DOC_ELF));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(o, 0, sizeof *o);
		why[0] = '\0';
		assert_int_equal(vg_doctor_conf_parse(bad[i], strlen(bad[i]), o, why, sizeof why),
				 VG_ERR_INVALID);
		assert_non_null(strstr(why, "line 1") ? why : strstr(why, "'"));
	}
	assert_int_equal(vg_doctor_conf_parse("a\0b", 3, o, why, sizeof why), VG_ERR_INVALID);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_accounts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_accounts_hostile_cost, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_ssh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_perms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_setuid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_elf_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_sysctl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_coredump, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_voice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_bluetooth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_doctor_network, setup, teardown),
	    cmocka_unit_test(test_avs12_doctor_running),
	    cmocka_unit_test_setup_teardown(test_avs113_doctor_vulndb_match, setup, teardown),
	    cmocka_unit_test(test_avs113_doctor_vulndb_malformed),
	    cmocka_unit_test_setup_teardown(test_avs113_doctor_vuln_check, setup, teardown),
	    cmocka_unit_test(test_avs12_doctor_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
