/*
 * test_rot_tpm2.c - the `tpm2` root-of-trust backend (src/rot/tpm2.c)
 * against swtpm, which scripts/swtpm.sh starts on loopback and stops.
 *
 * SFR 4.2.11 (hardware-backed keystore), AVS 1.16: the root key is sealed
 * by the TPM and never in a file in the clear; the monotonic counter is a
 * TPM NV counter that a restored state dir cannot take back; a copy of the
 * state dir is useless with another TPM; the erase secret lives in TPM NV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

struct tpm {
	char dir[64];
	char tcti[128];
};

static struct tpm tpm_a, tpm_b;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int tpm_start(struct tpm *t)
{
	const char *src = getenv("VG_SRC");
	char p[VGT_PATH];
	uint8_t *b = NULL;
	size_t n = 0;

	if (!src || vgt_mkdtemp(t->dir) != 0 ||
	    sh("sh '%s/scripts/swtpm.sh' start '%s' >/dev/null", src, t->dir) != 0)
		return -1;
	vgt_path(p, t->dir, "tcti");
	if (vgt_read(p, &b, &n) != 0 || n == 0 || n >= sizeof t->tcti)
		return -1;
	memcpy(t->tcti, b, n);
	t->tcti[n] = '\0';
	t->tcti[strcspn(t->tcti, "\n")] = '\0';
	free(b);
	return 0;
}

static void tpm_stop(struct tpm *t)
{
	const char *src = getenv("VG_SRC");

	if (src && t->dir[0])
		(void)sh("sh '%s/scripts/swtpm.sh' stop '%s'", src, t->dir);
}

static int group_setup(void **state)
{
	(void)state;
	return tpm_start(&tpm_a) == 0 && tpm_start(&tpm_b) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	tpm_stop(&tpm_a);
	tpm_stop(&tpm_b);
	vgt_rmrf(tpm_a.dir);
	vgt_rmrf(tpm_b.dir);
	return 0;
}

struct fx {
	char dir[64]; /* the device's state dir */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f || vgt_mkdtemp(f->dir) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vgt_rmrf(f->dir);
	free(f);
	return 0;
}

static vg_rot *open_on(const char *dir, const struct tpm *t)
{
	vg_rot *r = NULL;

	assert_int_equal(vg_rot_open(&r, "tpm2", dir, t->tcti), VG_OK);
	assert_non_null(r);
	return r;
}

static uint64_t ctr(vg_rot *r)
{
	uint64_t v = 99;

	assert_int_equal(vg_rot_counter_read(r, &v), VG_OK);
	return v;
}

/* SFR 4.2.11: a fresh device starts at counter 0, is no development
 * backend, and derives the same keys after a reopen. */
static void test_sfr4211_tpm2_create_and_reopen(void **state)
{
	struct fx *f = *state;
	uint8_t k1[VG_KEY_LEN], k2[VG_KEY_LEN];
	char p[VGT_PATH];
	vg_rot *r = open_on(f->dir, &tpm_a);

	assert_string_equal(vg_rot_name(r), "tpm2");
	assert_false(vg_rot_is_dev(r));
	assert_int_equal(ctr(r), 0);
	assert_int_equal(vg_rot_derive(r, "store-ns", (const uint8_t *)"u/1", 3, k1), VG_OK);
	vg_rot_close(&r);
	vgt_path(p, f->dir, "tpm2-root.pub");
	assert_true(vgt_exists(p));
	vgt_path(p, f->dir, "tpm2-root.priv");
	assert_true(vgt_exists(p));
	vgt_path(p, f->dir, "root.key");
	assert_false(vgt_exists(p));
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(vg_rot_derive(r, "store-ns", (const uint8_t *)"u/1", 3, k2), VG_OK);
	assert_memory_equal(k1, k2, VG_KEY_LEN);
	assert_int_equal(ctr(r), 0);
	vg_rot_close(&r);
}

/* SFR 4.2.11: the root key is in no file of the state dir: no 32-byte
 * window of any file, taken as a root key, derives the device's keys. */
static void test_sfr4211_tpm2_root_key_never_in_a_file(void **state)
{
	struct fx *f = *state;
	static const char *const files[] = {"tpm2-root.pub", "tpm2-root.priv"};
	uint8_t want[VG_KEY_LEN], got[VG_KEY_LEN];
	vg_rot *r = open_on(f->dir, &tpm_a);

	assert_int_equal(vg_rot_derive(r, "probe", NULL, 0, want), VG_OK);
	vg_rot_close(&r);
	for (size_t i = 0; i < 2; i++) {
		char p[VGT_PATH];
		uint8_t *b = NULL;
		size_t n = 0;
		vgt_path(p, f->dir, files[i]);
		assert_int_equal(vgt_read(p, &b, &n), 0);
		for (size_t off = 0; off + VG_KEY_LEN <= n; off++) {
			assert_int_equal(vg_hkdf(b + off, VG_KEY_LEN, "probe", NULL, 0, got),
					 VG_OK);
			assert_memory_not_equal(got, want, VG_KEY_LEN);
		}
		free(b);
	}
}

/* SFR 4.2.4/4.2.11: the counter only goes up, by steps the TPM makes; it
 * persists; a restored copy of the state dir still sees the new value. */
static void test_sfr4211_tpm2_counter_hardware_monotonic(void **state)
{
	struct fx *f = *state;
	char save[VGT_PATH], cmd[2 * VGT_PATH];
	vg_rot *r = open_on(f->dir, &tpm_a);

	(void)snprintf(save, sizeof save, "%s.copy", f->dir);
	(void)snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", f->dir, save);
	assert_int_equal(system(cmd), 0); /* the attacker's copy, at counter 0 */
	assert_int_equal(vg_rot_counter_advance(r, 1), VG_OK);
	assert_int_equal(ctr(r), 1);
	assert_int_equal(vg_rot_counter_advance(r, 3), VG_OK);
	assert_int_equal(ctr(r), 3);
	assert_int_equal(vg_rot_counter_advance(r, 2), VG_OK); /* never lowers */
	assert_int_equal(ctr(r), 3);
	assert_int_equal(vg_rot_counter_advance(r, 3 + 1025), VG_ERR_INVALID);
	assert_int_equal(ctr(r), 3);
	vg_rot_close(&r);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(ctr(r), 3);
	vg_rot_close(&r);
	/* Restore the old state dir: the counter is in the TPM, not there. */
	r = open_on(save, &tpm_a);
	assert_int_equal(ctr(r), 3);
	vg_rot_close(&r);
	vgt_rmrf(save);
}

/* SFR 4.2.11: a copy of the state dir is useless with another TPM, and a
 * damaged sealed object is an integrity error, not a crash. */
static void test_sfr4211_tpm2_other_tpm_and_tampering(void **state)
{
	struct fx *f = *state;
	char p[VGT_PATH];
	uint8_t *b = NULL, ka[VG_KEY_LEN], kb[VG_KEY_LEN];
	size_t n = 0;
	vg_rot *r = open_on(f->dir, &tpm_a), *other;
	struct fx g;

	assert_int_equal(vg_rot_derive(r, "x", NULL, 0, ka), VG_OK);
	vg_rot_close(&r);
	assert_int_equal(vg_rot_open(&r, "tpm2", f->dir, tpm_b.tcti), VG_ERR_INTEGRITY);
	assert_null(r);
	/* A second device on the other TPM derives other keys. */
	assert_int_equal(vgt_mkdtemp(g.dir), 0);
	other = open_on(g.dir, &tpm_b);
	assert_int_equal(vg_rot_derive(other, "x", NULL, 0, kb), VG_OK);
	assert_memory_not_equal(ka, kb, VG_KEY_LEN);
	vg_rot_close(&other);
	vgt_rmrf(g.dir);
	/* Flip a byte near the end of the private part. */
	vgt_path(p, f->dir, "tpm2-root.priv");
	assert_int_equal(vgt_read(p, &b, &n), 0);
	b[n - 3] ^= 0x40;
	assert_int_equal(vgt_write(p, b, n, 0600), 0);
	free(b);
	assert_int_equal(vg_rot_open(&r, "tpm2", f->dir, tpm_a.tcti), VG_ERR_INTEGRITY);
	assert_null(r);
}

/* SFR 4.2.11: the sealed state without its NV counter (a cleared TPM, an
 * undefined index) is refused. */
static void test_sfr4211_tpm2_missing_counter_refused(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_on(f->dir, &tpm_b);

	vg_rot_close(&r);
	assert_int_equal(
	    sh("TPM2TOOLS_TCTI='%s' tpm2_nvundefine -C o 0x01500016 >/dev/null 2>&1", tpm_b.tcti),
	    0);
	assert_int_equal(vg_rot_open(&r, "tpm2", f->dir, tpm_b.tcti), VG_ERR_INTEGRITY);
	assert_null(r);
}

/* SFR 4.2.11: random bytes come from the TPM, any length. */
static void test_sfr4211_tpm2_random(void **state)
{
	struct fx *f = *state;
	uint8_t a[100], b[100], zero[100] = {0};
	vg_rot *r = open_on(f->dir, &tpm_a);

	assert_int_equal(vg_rot_random(r, a, sizeof a), VG_OK);
	assert_int_equal(vg_rot_random(r, b, sizeof b), VG_OK);
	assert_memory_not_equal(a, b, sizeof a);
	assert_memory_not_equal(a + 68, zero, 32); /* the tail is filled too */
	vg_rot_close(&r);
}

static int pcr23(const struct tpm *t, char out[80])
{
	char cmd[512];
	FILE *p;
	int ok;

	(void)snprintf(
	    cmd, sizeof cmd,
	    "TPM2TOOLS_TCTI='%s' tpm2_pcrread sha256:23 2>/dev/null | grep -o '0x[0-9A-F]*'",
	    t->tcti);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	ok = fgets(out, 80, p) != NULL;
	(void)pclose(p);
	return ok ? 0 : -1;
}

/* SFR 4.2.1 (measurements into hardware): measure() extends PCR 23. */
static void test_sfr4211_tpm2_measure_extends_pcr(void **state)
{
	struct fx *f = *state;
	char before[80], after[80];
	uint8_t d[32];
	vg_rot *r = open_on(f->dir, &tpm_a);

	memset(d, 0x5a, sizeof d);
	assert_int_equal(pcr23(&tpm_a, before), 0);
	assert_int_equal(vg_rot_measure(r, "voxguardd", d), VG_OK);
	assert_int_equal(pcr23(&tpm_a, after), 0);
	assert_string_not_equal(before, after);
	vg_rot_close(&r);
}

/* SFR 4.2.12: the erase secret lives in TPM NV: stable, and replaced by a
 * rotation, also for a restored copy of the state dir. */
static void test_sfr4212_tpm2_erase_secret(void **state)
{
	struct fx *f = *state;
	uint8_t a[VG_KEY_LEN], b[VG_KEY_LEN], c[VG_KEY_LEN];
	vg_rot *r = open_on(f->dir, &tpm_a);

	assert_int_equal(vg_rot_erase_secret(r, false, a), VG_OK);
	assert_int_equal(vg_rot_erase_secret(r, false, b), VG_OK);
	assert_memory_equal(a, b, VG_KEY_LEN);
	assert_int_equal(vg_rot_erase_secret(r, true, b), VG_OK);
	assert_memory_not_equal(a, b, VG_KEY_LEN);
	vg_rot_close(&r);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(vg_rot_erase_secret(r, false, c), VG_OK);
	assert_memory_equal(b, c, VG_KEY_LEN);
	vg_rot_close(&r);
}

/* SFR 4.2.11: no TPM to talk to is an I/O error, promptly. */
static void test_sfr4211_tpm2_unreachable(void **state)
{
	struct fx *f = *state;
	vg_rot *r = (vg_rot *)f;

	/* A port nobody listens on (discard, 9). */
	assert_int_equal(vg_rot_open(&r, "tpm2", f->dir, "swtpm:host=127.0.0.1,port=9"), VG_ERR_IO);
	assert_null(r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_sfr4211_tpm2_create_and_reopen),
	    T(test_sfr4211_tpm2_root_key_never_in_a_file),
	    T(test_sfr4211_tpm2_counter_hardware_monotonic),
	    T(test_sfr4211_tpm2_other_tpm_and_tampering),
	    T(test_sfr4211_tpm2_missing_counter_refused),
	    T(test_sfr4211_tpm2_random),
	    T(test_sfr4211_tpm2_measure_extends_pcr),
	    T(test_sfr4212_tpm2_erase_secret),
	    T(test_sfr4211_tpm2_unreachable),
	};
#undef T
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
