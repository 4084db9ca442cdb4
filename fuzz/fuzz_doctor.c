/*
 * fuzz_doctor.c - libFuzzer harness for the text parsers of `voxguard
 * doctor` (src/posture/; AVS 1.2, 1.13): the files it reads from the root
 * it audits, which an image under test or a compromised device controls.
 *
 * The input is cut at each "\n--\n" into the contents of the files below,
 * in order, written into a scratch root that stays between runs: doctor.conf
 * (also parsed into the options), passwd, shadow, sshd_config and a file it
 * includes, a sysctl.d file, the voice application's unit and a drop-in,
 * coredump.conf, limits.conf, /proc/net/tcp and udp6, a /proc/sys value,
 * the kernel's config and os-release. The first byte picks the mode: the
 * image (offline) or the running device (its /proc inside the scratch
 * root). Every check but the ELF walk (fuzz_elf) and the vulnerability
 * list (fuzz_vulndb) runs; the report must come out as JSON and text, and
 * every finding must be printable ASCII. Seed corpus: fuzz/corpus/doctor/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posture/doctor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {
    "etc/voxguard/doctor.conf",
    "etc/passwd",
    "etc/shadow",
    "etc/ssh/sshd_config",
    "etc/ssh/sshd_config.d/10-device.conf",
    "etc/sysctl.d/90-hardening.conf",
    "etc/systemd/system/voice-app.service",
    "etc/systemd/system/voice-app.service.d/10-override.conf",
    "etc/systemd/coredump.conf",
    "etc/security/limits.conf",
    "proc/net/tcp",
    "proc/net/udp6",
    "proc/sys/kernel/kptr_restrict",
    "boot/config-6.1.0-fuzz",
    "etc/os-release",
};

static const char *const dirs[] = {
    "etc/voxguard",
    "etc/ssh/sshd_config.d",
    "etc/sysctl.d",
    "etc/systemd/system/voice-app.service.d",
    "etc/systemd/system/multi-user.target.wants",
    "etc/security",
    "proc/net",
    "proc/sys/kernel",
    "boot",
    "usr/sbin",
    "usr/lib/bluetooth",
};

static char root[64];

static void mkdirs(const char *rel)
{
	char p[256];

	for (size_t i = 0; rel[i]; i++) {
		if (rel[i] != '/')
			continue;
		(void)snprintf(p, sizeof p, "%s/%.*s", root, (int)i, rel);
		(void)mkdir(p, 0755);
	}
	(void)snprintf(p, sizeof p, "%s/%s", root, rel);
	(void)mkdir(p, 0755);
}

static void touch(const char *rel)
{
	char p[256];
	int fd;

	(void)snprintf(p, sizeof p, "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd >= 0)
		(void)close(fd);
}

/* The scratch root, once per process: the directories, an sshd and a
 * bluetoothd to make their checks run, the voice unit enabled. */
static int setup(void)
{
	char p[256];

	(void)snprintf(root, sizeof root, "/tmp/fuzz_doctor.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		mkdirs(dirs[i]);
	touch("usr/sbin/sshd");
	touch("usr/lib/bluetooth/bluetoothd");
	(void)snprintf(p, sizeof p,
		       "%s/etc/systemd/system/multi-user.target.wants/voice-app.service", root);
	if (symlink("/etc/systemd/system/voice-app.service", p) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void write_file(const char *rel, const uint8_t *d, size_t n)
{
	char p[256];
	int fd;

	(void)snprintf(p, sizeof p, "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return;
	while (n > 0) {
		ssize_t w = write(fd, d, n);
		if (w <= 0)
			break;
		d += w;
		n -= (size_t)w;
	}
	(void)close(fd);
}

static void printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	vg_doc_opts *o;
	vg_doc_report *r = NULL;
	const uint8_t *p, *end = data + size;
	const uint8_t *conf = NULL;
	size_t conf_len = 0;
	char why[256];
	bool offline;

	if (!ready)
		ready = setup() == 0 ? 1 : -1;
	if (ready < 0 || size < 1)
		return 0;
	offline = data[0] & 1;
	p = data + 1;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		const uint8_t *cut = p;
		while (cut + 4 <= end && memcmp(cut, "\n--\n", 4) != 0)
			cut++;
		if (cut + 4 > end)
			cut = end;
		write_file(files[i], p, (size_t)(cut - p));
		if (i == 0) {
			conf = p;
			conf_len = (size_t)(cut - p);
		}
		p = cut < end ? cut + 4 : end;
	}

	o = calloc(1, sizeof *o);
	if (!o)
		return 0;
	why[0] = '\0';
	if (vg_doctor_conf_parse((const char *)conf, conf_len, o, why, sizeof why) != VG_OK) {
		if (!why[0])
			abort(); /* a refusal names its line */
		memset(o, 0, sizeof *o);
	}
	(void)snprintf(o->root, sizeof o->root, "%s", root);
	o->offline = offline;
	o->skip |= (1u << VG_DOC_ELF) | (1u << VG_DOC_VULN);
	o->vuln_db[0] = '\0';
	o->crypt_budget_ms = 5;
	if (vg_doctor_run(o, &r, why, sizeof why) == VG_OK) {
		char *json = vg_doctor_json(r, VG_SEV_MEDIUM);
		FILE *null = fopen("/dev/null", "w");

		for (size_t i = 0; i < r->n; i++) {
			printable(r->f[i].id);
			printable(r->f[i].subject);
			printable(r->f[i].text);
			printable(r->f[i].fix);
		}
		if (null) {
			vg_doctor_text(r, VG_SEV_MEDIUM, null);
			(void)fclose(null);
		}
		free(json);
		vg_doctor_free(&r);
	}
	free(o);
	return 0;
}
