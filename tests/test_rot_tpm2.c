/*
 * test_rot_tpm2.c - the `tpm2` root-of-trust backend (src/rot/tpm2.c)
 * against swtpm, which scripts/swtpm.sh starts on loopback and stops.
 *
 * SFR 4.2.11 (hardware-backed keystore), AVS 1.16: the root key is sealed
 * by the TPM, never in a file in the clear and never on the TPM interface
 * in the clear; the monotonic counter is a TPM NV counter that a restored
 * state dir cannot take back; a copy of the state dir is useless with
 * another TPM; the erase secret lives in TPM NV (SFR 4.2.12); the
 * security-version counter (SFR 4.2.6 anti-rollback) is a second NV
 * counter whose base is in TPM NV too, so no state dir can take it back.
 *
 * Files: tpm2-root.pub / tpm2-root.priv = "VGT2" | 1 | kind (1, 2) | TPM2B.
 * NV: counter 0x01500016, erase secret 0x01500017, security-version
 * counter 0x01500018 and its base 0x01500019. PCR 23.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"
#include "rot/pcrpolicy.h"

#define BLOB_HDR 6

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

	if (!src) {
		fprintf(stderr, "VG_SRC is not set (ctest sets it)\n");
		return -1;
	}
	if (vgt_mkdtemp(t->dir) != 0 ||
	    sh("sh '%s/scripts/swtpm.sh' start '%s' >/dev/null", src, t->dir) != 0)
		return -1;
	vgt_path(p, t->dir, "tcti");
	if (vgt_read(p, &b, &n) != 0 || n == 0 || n >= sizeof t->tcti) {
		free(b);
		return -1;
	}
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
	char pub[VGT_PATH];
	char priv[VGT_PATH];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f || vgt_mkdtemp(f->dir) != 0)
		return -1;
	vgt_path(f->pub, f->dir, "tpm2-root.pub");
	vgt_path(f->priv, f->dir, "tpm2-root.priv");
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

/* Opening must fail with want, and reset *out. */
static void open_fails(const char *dir, const struct tpm *t, vg_rc want)
{
	vg_rot *r = (vg_rot *)&r;

	assert_int_equal(vg_rot_open(&r, "tpm2", dir, t->tcti), want);
	assert_null(r);
}

static uint64_t ctr(vg_rot *r)
{
	uint64_t v = 99;

	assert_int_equal(vg_rot_counter_read(r, &v), VG_OK);
	return v;
}

static uint64_t secver(vg_rot *r)
{
	uint64_t v = 99;

	assert_int_equal(vg_rot_secver_read(r, &v), VG_OK);
	return v;
}

static void derive(vg_rot *r, const char *label, uint8_t out[VG_KEY_LEN])
{
	assert_int_equal(vg_rot_derive(r, label, (const uint8_t *)"u/1", 3, out), VG_OK);
}

/* tpm2-tools on the test's TPM (what anybody with access to it can do). */
static int tools(const struct tpm *t, const char *args)
{
	return sh("TPM2TOOLS_TCTI='%s' %s >/dev/null 2>&1", t->tcti, args);
}

/* True when some 32-byte window of buf, taken as a root key, derives
 * `want` for `label` (so the root key is in buf in the clear). */
static bool has_root_key(const uint8_t *buf, size_t n, const char *label,
			 const uint8_t want[VG_KEY_LEN])
{
	uint8_t got[VG_KEY_LEN];

	for (size_t off = 0; off + VG_KEY_LEN <= n; off++) {
		assert_int_equal(
		    vg_hkdf(buf + off, VG_KEY_LEN, label, (const uint8_t *)"u/1", 3, got), VG_OK);
		if (memcmp(got, want, VG_KEY_LEN) == 0)
			return true;
	}
	return false;
}

/* SFR 4.2.11: a fresh device starts at counter 0, is no development
 * backend, writes its two sealed-object files (0600, versioned header), no
 * root key file, and derives the same keys after a reopen. */
static void test_sfr4211_tpm2_create_and_reopen(void **state)
{
	struct fx *f = *state;
	uint8_t k1[VG_KEY_LEN], k2[VG_KEY_LEN], *b = NULL;
	char p[VGT_PATH];
	struct stat st;
	size_t n = 0;
	vg_rot *r = open_on(f->dir, &tpm_a);

	assert_string_equal(vg_rot_name(r), "tpm2");
	assert_false(vg_rot_is_dev(r));
	assert_int_equal(ctr(r), 0);
	derive(r, "store-ns", k1);
	vg_rot_close(&r);
	assert_null(r);
	vg_rot_close(&r); /* NULL-safe */
	for (int i = 0; i < 2; i++) {
		const char *path = i == 0 ? f->pub : f->priv;
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(vgt_read(path, &b, &n), 0);
		assert_true(n > BLOB_HDR + 2);
		assert_memory_equal(b, "VGT2", 4);
		assert_int_equal(b[4], 1);
		assert_int_equal(b[5], i + 1);
		free(b);
	}
	vgt_path(p, f->dir, "root.key");
	assert_false(vgt_exists(p));
	r = open_on(f->dir, &tpm_a);
	derive(r, "store-ns", k2);
	assert_memory_equal(k1, k2, VG_KEY_LEN);
	assert_int_equal(ctr(r), 0);
	vg_rot_close(&r);
}

/* SFR 4.2.11: the root key is in no file of the state dir (no 32-byte
 * window of any file derives the device's keys), and no derived key is in
 * the private blob either. */
static void test_sfr4211_tpm2_root_key_never_in_a_file(void **state)
{
	struct fx *f = *state;
	static const char *const labels[] = {"store-ns", "db-meta", "audit"};
	uint8_t keys[3][VG_KEY_LEN];
	vg_rot *r = open_on(f->dir, &tpm_a);

	for (size_t i = 0; i < 3; i++)
		derive(r, labels[i], keys[i]);
	vg_rot_close(&r);
	for (int i = 0; i < 2; i++) {
		uint8_t *b = NULL;
		size_t n = 0;
		assert_int_equal(vgt_read(i == 0 ? f->pub : f->priv, &b, &n), 0);
		assert_false(has_root_key(b, n, labels[0], keys[0]));
		free(b);
	}
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(vgt_dir_grep(f->dir, keys[i], VG_KEY_LEN), 0);
}

/* SFR 4.2.11: the root key, the erase secret and TPM random bytes never
 * cross the TPM interface in the clear (every TPM command and response of
 * a creation, a reopen, an erase-secret read and rotation and a random()
 * call, recorded with the pcap TCTI). */
static void test_sfr4211_tpm2_secrets_encrypted_on_the_bus(void **state)
{
	struct fx *f = *state;
	static const uint8_t cc_unseal[4] = {0x00, 0x00, 0x01, 0x5e};
	static const uint8_t cc_create[4] = {0x00, 0x00, 0x01, 0x53};
	uint8_t k[VG_KEY_LEN], e1[VG_KEY_LEN], e2[VG_KEY_LEN], rnd[64], *cap = NULL;
	char tcti[256], pcap[VGT_PATH];
	size_t n = 0;
	vg_rot *r = NULL;

	vgt_path(pcap, f->dir, "bus.pcap");
	(void)snprintf(tcti, sizeof tcti, "pcap:%s", tpm_a.tcti);
	assert_int_equal(setenv("TCTI_PCAP_FILE", pcap, 1), 0);
	assert_int_equal(vg_rot_open(&r, "tpm2", f->dir, tcti), VG_OK); /* creates */
	vg_rot_close(&r);
	assert_int_equal(vg_rot_open(&r, "tpm2", f->dir, tcti), VG_OK); /* unseals */
	derive(r, "store-ns", k);
	assert_int_equal(vg_rot_erase_secret(r, false, e1), VG_OK);
	assert_int_equal(vg_rot_erase_secret(r, true, e2), VG_OK);
	assert_int_equal(vg_rot_random(r, rnd, sizeof rnd), VG_OK);
	vg_rot_close(&r);
	assert_int_equal(unsetenv("TCTI_PCAP_FILE"), 0);

	assert_int_equal(vgt_read(pcap, &cap, &n), 0);
	/* The capture holds the Create and the Unseal commands... */
	assert_non_null(memmem(cap, n, cc_create, sizeof cc_create));
	assert_non_null(memmem(cap, n, cc_unseal, sizeof cc_unseal));
	/* ...but none of the secrets. */
	assert_false(has_root_key(cap, n, "store-ns", k));
	assert_null(memmem(cap, n, e1, sizeof e1));
	assert_null(memmem(cap, n, e2, sizeof e2));
	assert_null(memmem(cap, n, rnd, 16));
	assert_null(memmem(cap, n, rnd + 48, 16));
	free(cap);
	assert_int_equal(unlink(pcap), 0);
}

/* SFR 4.2.4/4.2.11: the counter only goes up, by steps the TPM makes; it
 * persists; a restored copy of the state dir (or of the sealed-object
 * files) still sees the new value; steps beyond 1024 are refused. */
static void test_sfr4211_tpm2_counter_hardware_monotonic(void **state)
{
	struct fx *f = *state;
	char save[80], cmd[2 * VGT_PATH], old_pub[VGT_PATH], old_priv[VGT_PATH];
	vg_rot *r = open_on(f->dir, &tpm_a);

	assert_int_equal(ctr(r), 0);
	(void)snprintf(save, sizeof save, "%s.copy", f->dir);
	(void)snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", f->dir, save);
	assert_int_equal(system(cmd), 0); /* the attacker's copy, at counter 0 */
	assert_int_equal(vg_rot_counter_advance(r, 1), VG_OK);
	assert_int_equal(ctr(r), 1);
	assert_int_equal(vg_rot_counter_advance(r, 3), VG_OK);
	assert_int_equal(ctr(r), 3);
	assert_int_equal(vg_rot_counter_advance(r, 2), VG_OK); /* never lowers */
	assert_int_equal(ctr(r), 3);
	assert_int_equal(vg_rot_counter_advance(r, 0), VG_OK);
	assert_int_equal(ctr(r), 3);
	assert_int_equal(vg_rot_counter_advance(r, 3 + 1025), VG_ERR_INVALID);
	assert_int_equal(ctr(r), 3);
	assert_int_equal(vg_rot_counter_advance(r, UINT64_MAX), VG_ERR_INVALID);
	assert_int_equal(ctr(r), 3);
	assert_int_equal(vg_rot_counter_advance(r, 3 + 1024), VG_OK); /* the limit */
	assert_int_equal(ctr(r), 3 + 1024);
	vg_rot_close(&r);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(ctr(r), 1027);
	vg_rot_close(&r);
	/* Restore the old state dir: the counter is in the TPM, not there. */
	r = open_on(save, &tpm_a);
	assert_int_equal(ctr(r), 1027);
	vg_rot_close(&r);
	/* The same with the old sealed-object files put back in place. */
	vgt_path(old_pub, save, "tpm2-root.pub");
	vgt_path(old_priv, save, "tpm2-root.priv");
	assert_int_equal(vgt_copy(old_pub, f->pub), 0);
	assert_int_equal(vgt_copy(old_priv, f->priv), 0);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(ctr(r), 1027);
	vg_rot_close(&r);
	vgt_rmrf(save);
}

/* SFR 4.2.11: a copy of the state dir is useless with another TPM; a
 * second device derives other keys; a damaged sealed object is an
 * integrity error, not a crash. */
static void test_sfr4211_tpm2_other_tpm_and_tampering(void **state)
{
	struct fx *f = *state;
	uint8_t *pub = NULL, *priv = NULL, ka[VG_KEY_LEN], kb[VG_KEY_LEN];
	size_t npub = 0, npriv = 0;
	vg_rot *r = open_on(f->dir, &tpm_a), *other;
	struct fx g;

	derive(r, "x", ka);
	vg_rot_close(&r);
	open_fails(f->dir, &tpm_b, VG_ERR_INTEGRITY);
	/* A second device on the other TPM derives other keys. */
	assert_int_equal(vgt_mkdtemp(g.dir), 0);
	other = open_on(g.dir, &tpm_b);
	derive(other, "x", kb);
	assert_memory_not_equal(ka, kb, VG_KEY_LEN);
	vg_rot_close(&other);
	vgt_rmrf(g.dir);

	assert_int_equal(vgt_read(f->pub, &pub, &npub), 0);
	assert_int_equal(vgt_read(f->priv, &priv, &npriv), 0);
	/* Flip one byte of the private blob, anywhere: TPM-encrypted part,
	 * size field or our header. */
	for (size_t off = 0; off < npriv; off += off < 10 ? 1 : 17) {
		priv[off] ^= 0x40;
		assert_int_equal(vgt_write(f->priv, priv, npriv, 0600), 0);
		open_fails(f->dir, &tpm_a, VG_ERR_INTEGRITY);
		priv[off] ^= 0x40;
	}
	/* Truncated, or with a trailing byte. */
	assert_int_equal(vgt_write(f->priv, priv, npriv - 1, 0600), 0);
	open_fails(f->dir, &tpm_a, VG_ERR_INTEGRITY);
	priv[npriv] = 0; /* vgt_read leaves room */
	assert_int_equal(vgt_write(f->priv, priv, npriv + 1, 0600), 0);
	open_fails(f->dir, &tpm_a, VG_ERR_INTEGRITY);
	assert_int_equal(vgt_write(f->priv, priv, npriv, 0600), 0);
	/* A byte of the public blob (its attributes, its unique field). */
	for (size_t off = 4; off < npub; off += 5) {
		pub[off] ^= 0x01;
		assert_int_equal(vgt_write(f->pub, pub, npub, 0600), 0);
		open_fails(f->dir, &tpm_a, VG_ERR_INTEGRITY);
		pub[off] ^= 0x01;
	}
	assert_int_equal(vgt_write(f->pub, pub, npub, 0600), 0);
	/* Readable by others: refused, like the file backend's root.key. */
	assert_int_equal(chmod(f->priv, 0644), 0);
	open_fails(f->dir, &tpm_a, VG_ERR_INTEGRITY);
	assert_int_equal(chmod(f->priv, 0600), 0);
	/* Intact again: the same device. */
	r = open_on(f->dir, &tpm_a);
	derive(r, "x", kb);
	assert_memory_equal(ka, kb, VG_KEY_LEN);
	vg_rot_close(&r);
	free(pub);
	free(priv);
}

/* SFR 4.2.11: the public blob without the private one is never a crash
 * (the private one is written first): refused. The private one alone is
 * an interrupted first start: a new device (nothing was protected by it). */
static void test_sfr4211_tpm2_half_written_state(void **state)
{
	struct fx *f = *state;
	uint8_t k1[VG_KEY_LEN], k2[VG_KEY_LEN];
	char other[VGT_PATH];
	vg_rot *r = open_on(f->dir, &tpm_a);

	derive(r, "x", k1);
	vg_rot_close(&r);
	vgt_path(other, f->dir, "moved");
	assert_int_equal(rename(f->priv, other), 0);
	open_fails(f->dir, &tpm_a, VG_ERR_INTEGRITY);
	assert_false(vgt_exists(f->priv));
	assert_int_equal(rename(other, f->priv), 0);
	assert_int_equal(unlink(f->pub), 0);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(ctr(r), 0);
	derive(r, "x", k2);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);
	vg_rot_close(&r);
	assert_true(vgt_exists(f->pub));
}

/* SFR 4.2.11: the sealed state without its NV counter (a cleared TPM, an
 * undefined index) is refused, and stays refused. */
static void test_sfr4211_tpm2_missing_counter_refused(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_on(f->dir, &tpm_b);

	assert_int_equal(vg_rot_counter_advance(r, 2), VG_OK);
	vg_rot_close(&r);
	assert_int_equal(tools(&tpm_b, "tpm2_nvundefine -C o 0x01500016"), 0);
	open_fails(f->dir, &tpm_b, VG_ERR_INTEGRITY);
	open_fails(f->dir, &tpm_b, VG_ERR_INTEGRITY);
	/* Redefined by somebody (never incremented): still not our counter. */
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a "
				       "'nt=counter|ownerwrite|ownerread|no_da' 0x01500016"),
			 0);
	open_fails(f->dir, &tpm_b, VG_ERR_INTEGRITY);
}

/* SFR 4.2.4: an NV index at our handles with other attributes is not ours:
 * an ORDERLY counter (not durable at each increment, so a power cut could
 * take it back) or one writable with its own auth is refused, for a new
 * device and for an existing one; so is a foreign erase-secret index. */
static void test_sfr4211_tpm2_foreign_nv_index_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
	    "nt=counter|ownerwrite|ownerread|no_da|orderly",
	    "nt=counter|ownerwrite|ownerread|authwrite|authread|no_da",
	    "nt=counter|ownerwrite|ownerread",
	};
	uint8_t e[VG_KEY_LEN];
	char cmd[256];
	struct fx g;
	vg_rot *r = open_on(f->dir, &tpm_b);

	vg_rot_close(&r);
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		(void)tools(&tpm_b, "tpm2_nvundefine -C o 0x01500016");
		(void)snprintf(cmd, sizeof cmd, "tpm2_nvdefine -C o -s 8 -a '%s' 0x01500016",
			       bad[i]);
		assert_int_equal(tools(&tpm_b, cmd), 0);
		assert_int_equal(tools(&tpm_b, "tpm2_nvincrement -C o 0x01500016"), 0);
		open_fails(f->dir, &tpm_b, VG_ERR_INTEGRITY);
		assert_int_equal(vgt_mkdtemp(g.dir), 0);
		open_fails(g.dir, &tpm_b, VG_ERR_INTEGRITY);
		vgt_rmrf(g.dir);
	}
	/* Ours again (defined by the backend on a new device)... */
	assert_int_equal(tools(&tpm_b, "tpm2_nvundefine -C o 0x01500016"), 0);
	assert_int_equal(vgt_mkdtemp(g.dir), 0);
	r = open_on(g.dir, &tpm_b);
	/* ...but a foreign erase-secret index (readable with its own auth). */
	(void)tools(&tpm_b, "tpm2_nvundefine -C o 0x01500017");
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 32 -a "
				       "'ownerwrite|ownerread|authread|no_da' 0x01500017"),
			 0);
	assert_int_equal(vg_rot_erase_secret(r, false, e), VG_ERR_INTEGRITY);
	assert_int_equal(vg_rot_erase_secret(r, true, e), VG_ERR_INTEGRITY);
	assert_int_equal(tools(&tpm_b, "tpm2_nvundefine -C o 0x01500017"), 0);
	assert_int_equal(vg_rot_erase_secret(r, false, e), VG_OK);
	vg_rot_close(&r);
	vgt_rmrf(g.dir);
}

/* SFR 4.2.11: random bytes come from the TPM, any length. */
static void test_sfr4211_tpm2_random(void **state)
{
	struct fx *f = *state;
	uint8_t a[100], b[100], zero[100] = {0};
	vg_rot *r = open_on(f->dir, &tpm_a);

	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	assert_int_equal(vg_rot_random(r, a, sizeof a), VG_OK);
	assert_int_equal(vg_rot_random(r, b, sizeof b), VG_OK);
	assert_memory_not_equal(a, b, sizeof a);
	for (size_t off = 0; off + 16 <= sizeof a; off += 16) /* every chunk filled */
		assert_memory_not_equal(a + off, zero, 16);
	assert_memory_not_equal(a + 84, zero, 16); /* the tail too */
	assert_int_equal(vg_rot_random(r, a, 0), VG_OK);
	vg_rot_close(&r);
}

/* PCR i of the SHA-256 bank, read with tpm2_pcrread. */
static void pcr_tools(const struct tpm *t, unsigned i, uint8_t out[32])
{
	char cmd[512], line[128];
	size_t n = 0;
	FILE *p;

	(void)snprintf(
	    cmd, sizeof cmd,
	    "TPM2TOOLS_TCTI='%s' tpm2_pcrread sha256:%u 2>/dev/null | grep -o '0x[0-9A-Fa-f]*'",
	    t->tcti, i);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof line, p));
	(void)pclose(p);
	line[strcspn(line, "\n")] = '\0';
	for (char *c = line; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	assert_true(vg_hex_decode(line + 2, out, 32, &n));
	assert_int_equal(n, 32);
}

static void pcr23(const struct tpm *t, uint8_t out[32])
{
	pcr_tools(t, 23, out);
}

/* SFR 4.2.11 / AVS 1.16 (the attestation token carries the measured
 * boot): pcr_read gives each asked PCR's SHA-256 value as the TPM holds
 * it (tpm2_pcrread says the same), over the 8-per-command limit, leaves
 * the others alone, and follows an extend; a mask of none or beyond PCR
 * 23 is refused. */
static void test_sfr4211_tpm2_pcr_read(void **state)
{
	struct fx *f = *state;
	uint8_t vals[VG_ROT_PCRS][32], want[32], d[32];
	vg_rot *r = open_on(f->dir, &tpm_a);

	/* Values that differ from one another. */
	assert_int_equal(tools(&tpm_a, "tpm2_pcrextend 16:sha256=" /* debug PCR */
				       "1111111111111111111111111111111111111111111111111111111111111111"),
			 0);
	memset(d, 0x33, sizeof d);
	assert_int_equal(vg_rot_measure(r, "x", d), VG_OK);
	memset(vals, 0xee, sizeof vals);
	assert_int_equal(vg_rot_pcr_read(r, 0xffffffu, vals), VG_OK);
	for (unsigned i = 0; i < VG_ROT_PCRS; i++) {
		pcr_tools(&tpm_a, i, want);
		assert_memory_equal(vals[i], want, 32);
	}
	/* Only what was asked. */
	memset(vals, 0xee, sizeof vals);
	assert_int_equal(vg_rot_pcr_read(r, 1u << 16 | 1u << 4, vals), VG_OK);
	pcr_tools(&tpm_a, 16, want);
	assert_memory_equal(vals[16], want, 32);
	memset(want, 0xee, sizeof want);
	assert_memory_equal(vals[15], want, 32);
	assert_memory_equal(vals[23], want, 32);
	/* An extend shows. */
	assert_int_equal(vg_rot_measure(r, "y", d), VG_OK);
	assert_int_equal(vg_rot_pcr_read(r, 1u << 23, vals), VG_OK);
	pcr23(&tpm_a, want);
	assert_memory_equal(vals[23], want, 32);
	assert_int_equal(vg_rot_pcr_read(r, 0, vals), VG_ERR_INVALID);
	assert_int_equal(vg_rot_pcr_read(r, 1u << 24, vals), VG_ERR_INVALID);
	vg_rot_close(&r);
}

/* ---- the root key sealed to the measured boot (rot/pcrpolicy.h) ---- */

static vg_rc open_policy(const char *dir, const struct tpm *t, const char *key, const char *pol,
			 vg_rot **r)
{
	const vg_rot_opts o = {.param = t->tcti,
			       .timeout_ms = VG_ROT_TIMEOUT_MS_DEFAULT,
			       .policy_key = key,
			       .policy = pol};
	vg_rot *x = NULL;
	vg_rc rc = vg_rot_open_opts(&x, "tpm2", dir, &o);

	if (r)
		*r = x;
	else
		vg_rot_close(&x);
	return rc;
}

/* Signs PCRs 0, 16 and 23 as the TPM has them now into the policy file
 * (appended when append). */
static void sign_now(const struct tpm *t, const char *key, const char *pol, bool append)
{
	uint8_t v[VG_ROT_PCRS][32];
	char line[2048];
	FILE *f;

	pcr_tools(t, 0, v[0]);
	pcr_tools(t, 16, v[16]);
	pcr_tools(t, 23, v[23]);
	assert_int_equal(vg_pcrpol_sign_line(key, 1u | 1u << 16 | 1u << 23,
					     (const uint8_t(*)[32])v, line, sizeof line),
			 VG_OK);
	f = fopen(pol, append ? "a" : "w");
	assert_non_null(f);
	assert_true(fputs(line, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void extend16(const struct tpm *t, char c)
{
	char args[128];

	(void)snprintf(args, sizeof args, "tpm2_pcrextend 16:sha256=%064d", c - '0');
	assert_int_equal(tools(t, args), 0);
}

/* SFR 4.2.5, 4.2.11 (the root key bound to the measured boot): with the
 * OEM's policy key configured, a new root key opens only in a boot the
 * OEM signed for: the same boot again does (same key), a changed one
 * (PCR 16 extended, as a changed kernel or command line changes 8 or 9)
 * does not (VG_ERR_STATE, nothing derived), nor an entry edited to this
 * boot's values (the TPM refuses the signature), nor one signed by
 * another key; the entry an update ships for its own boot opens it again
 * with nothing re-sealed. No policy key, or another one: refused. And the
 * TPM itself refuses to unseal the object without the policy (tpm2-tools,
 * as root on the device could try). */
static void test_sfr4211_tpm2_root_key_sealed_to_measured_boot(void **state)
{
	struct fx *f = *state;
	char key[VGT_PATH], pub[VGT_PATH], other[VGT_PATH], otherpub[VGT_PATH], pol[VGT_PATH];
	uint8_t a[VG_KEY_LEN], b[VG_KEY_LEN];
	vg_rot *r = NULL;

	vgt_path(key, f->dir, "oem.pem");
	vgt_path(pub, f->dir, "oem.pub");
	vgt_path(other, f->dir, "other.pem");
	vgt_path(otherpub, f->dir, "other.pub");
	vgt_path(pol, f->dir, "pcr-policy");
	assert_int_equal(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s "
			    "&& openssl pkey -in %s -pubout -out %s "
			    "&& openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s "
			    "&& openssl pkey -in %s -pubout -out %s",
			    key, key, pub, other, other, otherpub),
			 0);
	assert_int_equal(tools(&tpm_a, "tpm2_pcrreset 16"), 0);
	extend16(&tpm_a, '1');
	sign_now(&tpm_a, key, pol, false);

	/* Sealed bound at creation, and opened again in the same boot. */
	assert_int_equal(open_policy(f->dir, &tpm_a, pub, pol, &r), VG_OK);
	derive(r, "k", a);
	vg_rot_close(&r);
	assert_int_equal(open_policy(f->dir, &tpm_a, pub, pol, &r), VG_OK);
	derive(r, "k", b);
	assert_memory_equal(a, b, sizeof a);
	vg_rot_close(&r);

	/* The TPM will not unseal it without the policy. */
	assert_int_equal(sh("cd %s && tail -c +7 tpm2-root.pub >o.pub && tail -c +7 tpm2-root.priv "
			    ">o.priv && TPM2TOOLS_TCTI='%s' tpm2_createprimary -Q -C o -g sha256 "
			    "-G ecc256:aes128cfb -a 'fixedtpm|fixedparent|sensitivedataorigin|"
			    "userwithauth|noda|restricted|decrypt' -c srk.ctx && "
			    "TPM2TOOLS_TCTI='%s' tpm2_load -Q -C srk.ctx -u o.pub -r o.priv -c o.ctx",
			    f->dir, tpm_a.tcti, tpm_a.tcti),
			 0);
	assert_int_not_equal(sh("cd %s && TPM2TOOLS_TCTI='%s' tpm2_unseal -c o.ctx >/dev/null 2>&1",
				f->dir, tpm_a.tcti),
			     0);
	(void)tools(&tpm_a, "tpm2_flushcontext -t");

	/* Another boot: refused, whatever else the device has. */
	extend16(&tpm_a, '2');
	assert_int_equal(open_policy(f->dir, &tpm_a, pub, pol, &r), VG_ERR_STATE);
	assert_null(r);
	/* The file edited to this boot's values, the old signature kept. */
	{
		uint8_t v16[32];
		char hex[65], cmd[VGT_PATH * 3];
		pcr_tools(&tpm_a, 16, v16);
		vg_hex_encode(v16, 32, hex);
		/* PCR 16's value is the second of the three in the line. */
		(void)snprintf(cmd, sizeof cmd,
			       "awk '!/^#/ { $2 = substr($2, 1, 64) \"%s\" substr($2, 129) } 1' "
			       "%s >%s.edit",
			       hex, pol, pol);
		assert_int_equal(sh("%s", cmd), 0);
		(void)snprintf(cmd, sizeof cmd, "%s.edit", pol);
		assert_int_equal(open_policy(f->dir, &tpm_a, pub, cmd, NULL), VG_ERR_VERIFY_FAILED);
	}
	/* This boot signed by another key. */
	{
		char pol2[VGT_PATH + 8];
		(void)snprintf(pol2, sizeof pol2, "%s.other", pol);
		sign_now(&tpm_a, other, pol2, false);
		assert_int_equal(open_policy(f->dir, &tpm_a, pub, pol2, NULL), VG_ERR_VERIFY_FAILED);
		/* and the other key configured: the object is not bound to it */
		assert_int_equal(open_policy(f->dir, &tpm_a, otherpub, pol2, NULL),
				 VG_ERR_INTEGRITY);
	}
	/* No key configured, or no policy file: refused. */
	assert_int_equal(open_policy(f->dir, &tpm_a, NULL, NULL, NULL), VG_ERR_STATE);
	assert_int_equal(open_policy(f->dir, &tpm_a, pub, NULL, NULL), VG_ERR_STATE);

	/* The update ships the entry for its boot: opens, the same key. */
	sign_now(&tpm_a, key, pol, true);
	assert_int_equal(open_policy(f->dir, &tpm_a, pub, pol, &r), VG_OK);
	derive(r, "k", b);
	assert_memory_equal(a, b, sizeof a);
	vg_rot_close(&r);

	/* A root key sealed before the key was configured stays unbound and
	 * opens as before. */
	vgt_rmrf(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	{
		vg_rot *u = open_on(f->dir, &tpm_a);
		derive(u, "k", a);
		vg_rot_close(&u);
	}
	assert_int_equal(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s "
			    "&& openssl pkey -in %s -pubout -out %s",
			    key, key, pub),
			 0);
	sign_now(&tpm_a, key, pol, false);
	assert_int_equal(open_policy(f->dir, &tpm_a, pub, pol, &r), VG_OK);
	derive(r, "k", b);
	assert_memory_equal(a, b, sizeof a);
	vg_rot_close(&r);
	/* The file backend cannot bind. */
	{
		const vg_rot_opts o = {.timeout_ms = VG_ROT_TIMEOUT_MS_DEFAULT, .policy_key = pub};
		assert_int_equal(vg_rot_open_opts(&r, "file", f->dir, &o), VG_ERR_UNSUPPORTED);
	}
}

/* SFR 4.2.5, 4.2.11 (the service starts in recovery): an open asked with
 * open_sealed, in a boot the OEM did not sign for, gives a handle in the
 * sealed state that says why (the PCR that differs) and refuses whatever
 * needs the root key or changes the device: nothing derived, the storage
 * counter neither read nor moved, the erase secret neither read nor
 * rotated, the security version not raised. What reads works (PCRs,
 * random, the security version). Back in the signed boot the same key
 * opens with the counter, erase secret and security version as they
 * were. An open that fails for another reason is not turned into a
 * sealed handle. */
static void test_sfr4211_tpm2_sealed_boot_gives_a_sealed_handle(void **state)
{
	struct fx *f = *state;
	char key[VGT_PATH], pub[VGT_PATH], pol[VGT_PATH];
	uint8_t a[VG_KEY_LEN], b[VG_KEY_LEN], e1[VG_KEY_LEN], e2[VG_KEY_LEN], vals[VG_ROT_PCRS][32];
	uint64_t c0 = 0, c1 = 0, s0 = 0, s1 = 0;
	vg_rot_opts o = {.param = tpm_a.tcti, .timeout_ms = VG_ROT_TIMEOUT_MS_DEFAULT};
	vg_rot *r = NULL;
	bool done = false;
	const char *why;

	vgt_path(key, f->dir, "oem.pem");
	vgt_path(pub, f->dir, "oem.pub");
	vgt_path(pol, f->dir, "pcr-policy");
	assert_int_equal(
	    sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s "
	       "&& openssl pkey -in %s -pubout -out %s",
	       key, key, pub),
	    0);
	o.policy_key = pub;
	o.policy = pol;
	o.open_sealed = true;
	assert_int_equal(tools(&tpm_a, "tpm2_pcrreset 16"), 0);
	extend16(&tpm_a, '1');
	sign_now(&tpm_a, key, pol, false);

	/* The signed boot: open, and not sealed. */
	assert_int_equal(vg_rot_open_opts(&r, "tpm2", f->dir, &o), VG_OK);
	assert_null(vg_rot_sealed_why(r));
	derive(r, "k", a);
	assert_int_equal(vg_rot_counter_advance(r, 3), VG_OK);
	assert_int_equal(vg_rot_counter_read(r, &c0), VG_OK);
	assert_int_equal(vg_rot_erase_secret(r, false, e1), VG_OK);
	assert_int_equal(vg_rot_secver_advance(r, 2), VG_OK);
	assert_int_equal(vg_rot_secver_read(r, &s0), VG_OK);
	vg_rot_close(&r);

	/* Another boot: a handle, sealed, saying which PCR differs. */
	extend16(&tpm_a, '2');
	assert_int_equal(vg_rot_open_opts(&r, "tpm2", f->dir, &o), VG_OK);
	why = vg_rot_sealed_why(r);
	assert_non_null(why);
	assert_non_null(strstr(why, "PCR 16 differs"));
	assert_int_equal(vg_rot_derive(r, "k", NULL, 0, b), VG_ERR_STATE);
	assert_int_equal(vg_rot_counter_read(r, &c1), VG_ERR_STATE);
	assert_int_equal(vg_rot_counter_advance(r, c0 + 5), VG_ERR_STATE);
	assert_int_equal(vg_rot_counter_start(r, c0 + 5, &done), VG_ERR_STATE);
	assert_false(done);
	memset(e2, 0x77, sizeof e2);
	assert_int_equal(vg_rot_erase_secret(r, false, e2), VG_ERR_STATE);
	{
		static const uint8_t zero[VG_KEY_LEN];
		assert_memory_equal(e2, zero, sizeof zero); /* wiped, not left */
	}
	assert_int_equal(vg_rot_erase_secret(r, true, e2), VG_ERR_STATE);
	assert_int_equal(vg_rot_secver_advance(r, s0 + 1), VG_ERR_STATE);
	assert_int_equal(vg_rot_secver_read(r, &s1), VG_OK);
	assert_int_equal(s1, s0);
	assert_int_equal(vg_rot_pcr_read(r, 1u << 16, vals), VG_OK);
	assert_int_equal(vg_rot_random(r, b, sizeof b), VG_OK);
	vg_rot_close(&r);
	/* Without open_sealed the same boot is still an open error. */
	o.open_sealed = false;
	assert_int_equal(vg_rot_open_opts(&r, "tpm2", f->dir, &o), VG_ERR_STATE);
	assert_null(r);
	o.open_sealed = true;
	/* A forged entry for this boot: sealed too, and says the TPM refused. */
	{
		char forged[VGT_PATH + 8];
		uint8_t v16[32];
		char hex[65];
		(void)snprintf(forged, sizeof forged, "%s.edit", pol);
		pcr_tools(&tpm_a, 16, v16);
		vg_hex_encode(v16, 32, hex);
		assert_int_equal(
		    sh("awk '!/^#/ { $2 = substr($2, 1, 64) \"%s\" substr($2, 129) } 1' "
		       "%s >%s",
		       hex, pol, forged),
		    0);
		o.policy = forged;
		assert_int_equal(vg_rot_open_opts(&r, "tpm2", f->dir, &o), VG_OK);
		why = vg_rot_sealed_why(r);
		assert_non_null(why);
		assert_non_null(strstr(why, "the TPM refused it"));
		vg_rot_close(&r);
		o.policy = pol;
	}

	/* The signed boot again (the update's entry): all as it was. */
	sign_now(&tpm_a, key, pol, true);
	assert_int_equal(vg_rot_open_opts(&r, "tpm2", f->dir, &o), VG_OK);
	assert_null(vg_rot_sealed_why(r));
	derive(r, "k", b);
	assert_memory_equal(a, b, sizeof a);
	assert_int_equal(vg_rot_counter_read(r, &c1), VG_OK);
	assert_int_equal(c1, c0);
	assert_int_equal(vg_rot_erase_secret(r, false, e2), VG_OK);
	assert_memory_equal(e1, e2, sizeof e1);
	vg_rot_close(&r);

	/* Another failure (a damaged blob) is no sealed handle. */
	assert_int_equal(sh("cd %s && printf x >>tpm2-root.pub", f->dir), 0);
	assert_int_not_equal(vg_rot_open_opts(&r, "tpm2", f->dir, &o), VG_OK);
	assert_null(r);
	/* The file backend never gives one. */
	{
		const vg_rot_opts fo = {.timeout_ms = VG_ROT_TIMEOUT_MS_DEFAULT,
					.open_sealed = true};
		vgt_rmrf(f->dir);
		assert_int_equal(mkdir(f->dir, 0700), 0);
		assert_int_equal(vg_rot_open_opts(&r, "file", f->dir, &fo), VG_OK);
		assert_null(vg_rot_sealed_why(r));
		vg_rot_close(&r);
	}
}

/* SFR 4.2.1 (measurements into hardware): measure() extends exactly the
 * digest given into PCR 23: new = SHA-256(old || digest). */
static void test_sfr4211_tpm2_measure_extends_pcr(void **state)
{
	struct fx *f = *state;
	uint8_t before[32], after[32], want[32], cat[64], d[32];
	vg_rot *r = open_on(f->dir, &tpm_a);

	memset(d, 0x5a, sizeof d);
	pcr23(&tpm_a, before);
	assert_int_equal(vg_rot_measure(r, "voxguardd", d), VG_OK);
	pcr23(&tpm_a, after);
	memcpy(cat, before, 32);
	memcpy(cat + 32, d, 32);
	assert_int_equal(vg_sha256(cat, sizeof cat, want), VG_OK);
	assert_memory_equal(after, want, 32);
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
	assert_int_equal(vgt_dir_grep(f->dir, c, VG_KEY_LEN), 0);
}

/* SFR 4.2.11: no TPM to talk to is an I/O error, promptly. */
static void test_sfr4211_tpm2_unreachable(void **state)
{
	struct fx *f = *state;
	vg_rot *r = (vg_rot *)f;
	uint64_t t0 = vg_mono_ms();

	/* A port nobody listens on (discard, 9). */
	assert_int_equal(vg_rot_open(&r, "tpm2", f->dir, "swtpm:host=127.0.0.1,port=9"), VG_ERR_IO);
	assert_null(r);
	assert_true(vg_mono_ms() - t0 < 5000);
	/* Nothing was written for a device that was never created. */
	assert_false(vgt_exists(f->pub));
	assert_false(vgt_exists(f->priv));
}

/* SFR 4.2.11: a TPM that goes away under an open device gives I/O errors
 * (never a counter of 0, never a crash), and the device is intact once
 * the TPM is back. */
static void test_sfr4211_tpm2_tpm_goes_away(void **state)
{
	struct fx *f = *state;
	struct tpm c;
	uint8_t k1[VG_KEY_LEN], k2[VG_KEY_LEN], buf[40];
	uint64_t v = 77;
	vg_rot *r;

	memset(&c, 0, sizeof c);
	assert_int_equal(tpm_start(&c), 0);
	r = open_on(f->dir, &c);
	assert_int_equal(vg_rot_counter_advance(r, 4), VG_OK);
	assert_int_equal(vg_rot_secver_advance(r, 2), VG_OK);
	derive(r, "x", k1);
	tpm_stop(&c);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_IO);
	assert_int_equal(v, 0); /* never a value to trust */
	assert_int_equal(vg_rot_secver_advance(r, 3), VG_ERR_IO);
	assert_int_equal(vg_rot_counter_read(r, &v), VG_ERR_IO);
	assert_int_equal(vg_rot_counter_advance(r, 5), VG_ERR_IO);
	assert_int_equal(vg_rot_random(r, buf, sizeof buf), VG_ERR_IO);
	assert_int_equal(vg_rot_measure(r, "x", buf), VG_ERR_IO);
	derive(r, "x", k2); /* no round trip */
	assert_memory_equal(k1, k2, VG_KEY_LEN);
	vg_rot_close(&r);
	open_fails(f->dir, &c, VG_ERR_IO);
	/* Back (same TPM state, new port). */
	{
		const char *src = getenv("VG_SRC");
		char p[VGT_PATH];
		uint8_t *b = NULL;
		size_t n = 0;
		assert_int_equal(sh("sh '%s/scripts/swtpm.sh' start '%s' >/dev/null", src, c.dir),
				 0);
		vgt_path(p, c.dir, "tcti");
		assert_int_equal(vgt_read(p, &b, &n), 0);
		assert_true(n > 0 && n < sizeof c.tcti);
		memcpy(c.tcti, b, n);
		c.tcti[n] = '\0';
		c.tcti[strcspn(c.tcti, "\n")] = '\0';
		free(b);
	}
	r = open_on(f->dir, &c);
	assert_int_equal(ctr(r), 4);
	assert_int_equal(secver(r), 2);
	derive(r, "x", k2);
	assert_memory_equal(k1, k2, VG_KEY_LEN);
	vg_rot_close(&r);
	tpm_stop(&c);
	vgt_rmrf(c.dir);
}

/* swtpm's pid, from the pid file scripts/swtpm.sh writes. */
static long tpm_pid(const struct tpm *t)
{
	char p[VGT_PATH];
	uint8_t *b = NULL;
	size_t n = 0;
	long pid = -1;

	vgt_path(p, t->dir, "swtpm.pid");
	if (vgt_read(p, &b, &n) == 0 && n > 0 && n < 32) {
		char txt[32];
		memcpy(txt, b, n);
		txt[n] = '\0';
		pid = strtol(txt, NULL, 10);
	}
	free(b);
	return pid;
}

/* SFR 4.2.10/4.2.11: a TPM that stops answering (swtpm SIGSTOPped: its
 * sockets stay open, nothing comes back). Each call is bounded by the
 * open's timeout and fails with VG_ERR_TIMEOUT; the handle says it is not
 * answering and since when; later calls fail at once; derive needs no
 * TPM; a counter advance started without waiting returns at once; once
 * the TPM answers again the same handle works, and the counter is
 * right. */
static void test_sfr4211_tpm2_timeout_and_recovery(void **state)
{
	struct fx *f = *state;
	const uint32_t bound = 500;
	struct tpm c;
	uint8_t k1[VG_KEY_LEN], k2[VG_KEY_LEN], buf[40];
	uint64_t v = 77, t0, ms, before = (uint64_t)time(NULL);
	vg_rot_health h;
	vg_rot *r = NULL;
	bool done = true;
	long pid;

	memset(&c, 0, sizeof c);
	assert_int_equal(tpm_start(&c), 0);
	pid = tpm_pid(&c);
	assert_true(pid > 0);
	assert_int_equal(vg_rot_open_bounded(&r, "tpm2", f->dir, c.tcti, bound), VG_OK);
	assert_int_equal(vg_rot_counter_advance(r, 2), VG_OK);
	derive(r, "x", k1);
	vg_rot_health_get(r, &h);
	assert_true(h.answering);
	assert_int_equal(h.timeout_ms, bound);
	assert_int_equal(h.down_since, 0);

	assert_int_equal(sh("kill -STOP %ld", pid), 0);
	t0 = vg_mono_ms();
	assert_int_equal(vg_rot_counter_read(r, &v), VG_ERR_TIMEOUT);
	ms = vg_mono_ms() - t0;
	print_message("# the first call timed out after %llu ms (bound %u)\n",
		      (unsigned long long)ms, (unsigned)bound);
	assert_true(ms >= bound - 10 && ms < bound + 1000);
	vg_rot_health_get(r, &h);
	assert_false(h.answering);
	assert_true(h.down_since >= before && h.down_since <= (uint64_t)time(NULL));
	assert_int_equal(h.timeouts, 1);
	/* Everything else fails at once, and never with a value. */
	t0 = vg_mono_ms();
	v = 77;
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_TIMEOUT);
	assert_int_equal(v, 0);
	assert_int_equal(vg_rot_counter_advance(r, 3), VG_ERR_TIMEOUT);
	assert_int_equal(vg_rot_random(r, buf, sizeof buf), VG_ERR_TIMEOUT);
	assert_int_equal(vg_rot_measure(r, "x", buf), VG_ERR_TIMEOUT);
	memset(buf, 0xa5, sizeof buf);
	assert_int_equal(vg_rot_erase_secret(r, false, buf), VG_ERR_TIMEOUT);
	for (size_t i = 0; i < VG_KEY_LEN; i++)
		assert_int_equal(buf[i], 0); /* wiped, never a stale secret */
	assert_int_equal(vg_rot_counter_start(r, 3, &done), VG_ERR_TIMEOUT);
	assert_false(done);
	assert_true(vg_mono_ms() - t0 < 200);
	derive(r, "x", k2); /* no round trip */
	assert_memory_equal(k1, k2, VG_KEY_LEN);

	/* It answers the command it had: the handle recovers by itself. */
	assert_int_equal(sh("kill -CONT %ld", pid), 0);
	t0 = vg_mono_ms();
	do {
		vg_rot_health_get(r, &h);
	} while (!h.answering && vg_mono_ms() - t0 < 5000 && usleep(10000) == 0);
	assert_true(h.answering);
	assert_int_equal(h.recoveries, 1);
	assert_int_equal(ctr(r), 2);
	assert_int_equal(vg_rot_counter_advance(r, 3), VG_OK);
	assert_int_equal(ctr(r), 3);

	/* Started without waiting: at once, confirmed later. The TPM stopped
	 * under a started advance is found out by the bound, not by a caller
	 * that waited. */
	assert_int_equal(vg_rot_counter_start(r, 4, &done), VG_OK);
	t0 = vg_mono_ms();
	while (!done && vg_mono_ms() - t0 < 5000) {
		assert_int_equal(vg_rot_counter_start(r, 4, &done), VG_OK);
		(void)usleep(5000);
	}
	assert_true(done);
	assert_int_equal(sh("kill -STOP %ld", pid), 0);
	t0 = vg_mono_ms();
	assert_int_equal(vg_rot_counter_start(r, 5, &done), VG_OK);
	assert_false(done);
	assert_true(vg_mono_ms() - t0 < 100);
	do {
		(void)usleep(20000);
		vg_rot_health_get(r, &h);
	} while (h.answering && vg_mono_ms() - t0 < 5000);
	ms = vg_mono_ms() - t0;
	assert_false(h.answering);
	assert_true(ms >= bound - 10 && ms < bound + 1000);
	assert_int_equal(vg_rot_counter_start(r, 5, &done), VG_ERR_TIMEOUT);
	assert_int_equal(sh("kill -CONT %ld", pid), 0);
	t0 = vg_mono_ms();
	do {
		(void)usleep(10000);
		vg_rot_health_get(r, &h);
	} while (!h.answering && vg_mono_ms() - t0 < 5000);
	assert_true(h.answering);
	assert_int_equal(h.recoveries, 2);
	assert_int_equal(vg_rot_counter_start(r, 5, &done), VG_OK);
	assert_true(done); /* the late advance was done */
	assert_int_equal(ctr(r), 5);

	/* A close while it does not answer returns (the thread is left to
	 * the process); an open on a silent TPM fails within the bound. */
	assert_int_equal(sh("kill -STOP %ld", pid), 0);
	assert_int_equal(vg_rot_counter_read(r, &v), VG_ERR_TIMEOUT);
	t0 = vg_mono_ms();
	vg_rot_close(&r);
	assert_true(vg_mono_ms() - t0 < 200);
	t0 = vg_mono_ms();
	assert_int_equal(vg_rot_open_bounded(&r, "tpm2", f->dir, c.tcti, bound), VG_ERR_TIMEOUT);
	assert_null(r);
	ms = vg_mono_ms() - t0;
	assert_true(ms >= bound - 10 && ms < 2 * bound + 1000);
	assert_int_equal(sh("kill -CONT %ld", pid), 0);
	/* The abandoned open now runs to its end on its thread, which then
	 * frees the handle (LeakSanitizer checks); give it the time before
	 * this TPM gets a second client. */
	(void)usleep(2000 * 1000);
	/* The bound's limits. */
	assert_int_equal(vg_rot_open_bounded(&r, "tpm2", f->dir, c.tcti, VG_ROT_TIMEOUT_MS_MIN - 1),
			 VG_ERR_INVALID);
	r = open_on(f->dir, &c);
	assert_int_equal(ctr(r), 5);
	vg_rot_close(&r);
	tpm_stop(&c);
	vgt_rmrf(c.dir);
}

/* ---- the security-version counter (SFR 4.2.6) ---- */

#define SECVER      "0x01500018"
#define SECVER_BASE "0x01500019"

static bool nv_defined(const struct tpm *t, const char *index)
{
	char cmd[64];

	(void)snprintf(cmd, sizeof cmd, "tpm2_nvreadpublic %s", index);
	return tools(t, cmd) == 0;
}

/* The TPM as voxguard before the security-version counter left it. */
static void secver_undefine(const struct tpm *t)
{
	(void)tools(t, "tpm2_nvundefine -C o " SECVER);
	(void)tools(t, "tpm2_nvundefine -C o " SECVER_BASE);
	assert_false(nv_defined(t, SECVER));
	assert_false(nv_defined(t, SECVER_BASE));
}

/* SFR 4.2.6: the security version starts at 0, only goes up in NV counter
 * steps, never lowers, refuses raises over 4096 (VG_ERR_INVALID, nothing
 * changed), persists, and is separate from the storage counter. */
static void test_sfr426_tpm2_secver_monotonic(void **state)
{
	struct fx *f = *state;
	uint64_t v = 99;
	vg_rot *r;

	secver_undefine(&tpm_a);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(secver(r), 0);
	assert_int_equal(vg_rot_secver_advance(r, 1), VG_OK);
	assert_int_equal(secver(r), 1);
	assert_int_equal(vg_rot_secver_advance(r, 3), VG_OK);
	assert_int_equal(secver(r), 3);
	assert_int_equal(vg_rot_secver_advance(r, 2), VG_OK); /* never lowers */
	assert_int_equal(vg_rot_secver_advance(r, 0), VG_OK);
	assert_int_equal(vg_rot_secver_advance(r, 3), VG_OK);
	assert_int_equal(secver(r), 3);
	assert_int_equal(vg_rot_secver_advance(r, 3 + 4097), VG_ERR_INVALID);
	assert_int_equal(vg_rot_secver_advance(r, UINT64_MAX), VG_ERR_INVALID);
	assert_int_equal(secver(r), 3);
	/* Separate from the storage counter, both ways. */
	assert_int_equal(ctr(r), 0);
	assert_int_equal(vg_rot_counter_advance(r, 5), VG_OK);
	assert_int_equal(secver(r), 3);
	assert_int_equal(ctr(r), 5);
	vg_rot_close(&r);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(secver(r), 3);
	assert_int_equal(ctr(r), 5);
	/* A raise of many steps (the exact 4096 limit is test_rot.c's: one
	 * NV_Increment per step takes swtpm several ms). */
	assert_int_equal(vg_rot_secver_advance(r, 3 + 4096 + 1), VG_ERR_INVALID);
	assert_int_equal(vg_rot_secver_advance(r, 3 + 100), VG_OK);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_OK);
	assert_int_equal(v, 103);
	assert_int_equal(ctr(r), 5);
	vg_rot_close(&r);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(secver(r), 103);
	vg_rot_close(&r);
}

/* SFR 4.2.6: the security version is the TPM's, not the state dir's: a
 * restored copy of the state dir (taken before the version was ever
 * raised, so without any trace of it), a wiped and reprovisioned state
 * dir, and a factory reset's rotation of the erase secret all leave it
 * where it was; the storage counter of a new device starts at 0 as
 * before. */
static void test_sfr426_tpm2_secver_survives_state_dir(void **state)
{
	struct fx *f = *state;
	char save[80], cmd[2 * VGT_PATH];
	uint8_t e[VG_KEY_LEN];
	vg_rot *r;

	secver_undefine(&tpm_a);
	r = open_on(f->dir, &tpm_a);
	(void)snprintf(save, sizeof save, "%s.copy", f->dir);
	(void)snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", f->dir, save);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(vg_rot_secver_advance(r, 5), VG_OK);
	assert_int_equal(vg_rot_erase_secret(r, true, e), VG_OK);
	assert_int_equal(secver(r), 5);
	vg_rot_close(&r);
	r = open_on(save, &tpm_a);
	assert_int_equal(secver(r), 5);
	vg_rot_close(&r);
	vgt_rmrf(save);
	/* Wiped: a new device on the same TPM, same security version. */
	vgt_rmrf(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	r = open_on(f->dir, &tpm_a);
	assert_int_equal(ctr(r), 0);
	assert_int_equal(secver(r), 5);
	vg_rot_close(&r);
}

/* SFR 4.2.6: a device from before the security-version counter (a state
 * dir and a TPM without its indices) opens as before, creates nothing
 * until the first use, then reads 0 and works; the base index is then
 * locked against writes. */
static void test_sfr426_tpm2_secver_upgrade_existing(void **state)
{
	struct fx *f = *state;
	char p[VGT_PATH], cmd[VGT_PATH + 64];
	vg_rot *r;

	secver_undefine(&tpm_b);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(vg_rot_counter_advance(r, 2), VG_OK);
	vg_rot_close(&r);
	r = open_on(f->dir, &tpm_b);
	assert_false(nv_defined(&tpm_b, SECVER));
	assert_false(nv_defined(&tpm_b, SECVER_BASE));
	assert_int_equal(secver(r), 0);
	assert_true(nv_defined(&tpm_b, SECVER));
	assert_true(nv_defined(&tpm_b, SECVER_BASE));
	assert_int_equal(ctr(r), 2);
	assert_int_equal(vg_rot_secver_advance(r, 1), VG_OK);
	assert_int_equal(secver(r), 1);
	assert_int_equal(ctr(r), 2);
	vg_rot_close(&r);
	/* The base cannot be rewritten (writeDefine, locked). */
	vgt_path(p, f->dir, "zero8");
	assert_int_equal(vgt_write(p, "\0\0\0\0\0\0\0\0", 8, 0600), 0);
	(void)snprintf(cmd, sizeof cmd, "tpm2_nvwrite -C o -i '%s' " SECVER_BASE, p);
	assert_int_not_equal(tools(&tpm_b, cmd), 0);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(secver(r), 1);
	vg_rot_close(&r);
}

/* SFR 4.2.6: a setup cut short at any step resumes and reads 0: the
 * counter defined but never incremented; incremented (several times, by
 * anyone) without a base; the base index defined but unwritten; the base
 * written but not yet locked. */
static void test_sfr426_tpm2_secver_interrupted_setup(void **state)
{
	struct fx *f = *state;
	char p[VGT_PATH], cmd[VGT_PATH + 64];
	uint8_t nv[8];
	vg_rot *r;

	r = open_on(f->dir, &tpm_b);
	vg_rot_close(&r);
	/* Defined only. */
	secver_undefine(&tpm_b);
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a "
				       "'nt=counter|ownerwrite|ownerread|no_da' " SECVER),
			 0);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(secver(r), 0);
	assert_int_equal(vg_rot_secver_advance(r, 2), VG_OK);
	assert_int_equal(secver(r), 2);
	vg_rot_close(&r);
	/* Incremented, no base index. */
	secver_undefine(&tpm_b);
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a "
				       "'nt=counter|ownerwrite|ownerread|no_da' " SECVER),
			 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tools(&tpm_b, "tpm2_nvincrement -C o " SECVER), 0);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(secver(r), 0);
	assert_int_equal(vg_rot_secver_advance(r, 1), VG_OK);
	vg_rot_close(&r);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(secver(r), 1);
	vg_rot_close(&r);
	/* The base index defined, unwritten. */
	assert_int_equal(tools(&tpm_b, "tpm2_nvundefine -C o " SECVER_BASE), 0);
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a "
				       "'ownerwrite|ownerread|no_da|writedefine' " SECVER_BASE),
			 0);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(secver(r), 0);
	vg_rot_close(&r);
	/* Written (with the counter's value, as the backend does) but not
	 * locked: the backend locks it. */
	assert_int_equal(tools(&tpm_b, "tpm2_nvundefine -C o " SECVER_BASE), 0);
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a "
				       "'ownerwrite|ownerread|no_da|writedefine' " SECVER_BASE),
			 0);
	vgt_path(p, f->dir, "nv8");
	(void)snprintf(cmd, sizeof cmd, "tpm2_nvread -C o -s 8 -o '%s' " SECVER, p);
	assert_int_equal(tools(&tpm_b, cmd), 0);
	(void)snprintf(cmd, sizeof cmd, "tpm2_nvwrite -C o -i '%s' " SECVER_BASE, p);
	assert_int_equal(tools(&tpm_b, cmd), 0);
	assert_int_equal(tools(&tpm_b, "tpm2_nvincrement -C o " SECVER), 0);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(secver(r), 1);
	vg_rot_close(&r);
	memset(nv, 0xff, sizeof nv);
	assert_int_equal(vgt_write(p, nv, sizeof nv, 0600), 0);
	assert_int_not_equal(tools(&tpm_b, cmd), 0); /* locked now */
}

/* SFR 4.2.6: never silently back to 0: a recorded base whose counter was
 * undefined, or undefined and redefined, is refused (VG_ERR_INTEGRITY);
 * indices at our handles with other attributes are refused; a counter
 * redefined and incremented by someone starts above its old value (the
 * TPM's rule for new NV counters), so it never reads lower. */
static void test_sfr426_tpm2_secver_tampered_nv_refused(void **state)
{
	struct fx *f = *state;
	uint64_t v = 99;
	vg_rot *r;

	secver_undefine(&tpm_b);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(vg_rot_secver_advance(r, 4), VG_OK);
	vg_rot_close(&r);
	assert_int_equal(tools(&tpm_b, "tpm2_nvundefine -C o " SECVER), 0);
	r = open_on(f->dir, &tpm_b); /* the rest of the device still opens */
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
	assert_int_equal(v, 0);
	assert_int_equal(vg_rot_secver_advance(r, 5), VG_ERR_INTEGRITY);
	assert_false(nv_defined(&tpm_b, SECVER)); /* not redefined by us */
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a "
				       "'nt=counter|ownerwrite|ownerread|no_da' " SECVER),
			 0);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
	assert_int_equal(ctr(r), 0);
	vg_rot_close(&r);
	assert_int_equal(tools(&tpm_b, "tpm2_nvincrement -C o " SECVER), 0);
	r = open_on(f->dir, &tpm_b);
	assert_true(secver(r) >= 4);
	vg_rot_close(&r);

	/* Foreign attributes: an orderly counter; a base without writeDefine. */
	secver_undefine(&tpm_b);
	assert_int_equal(tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a "
				       "'nt=counter|ownerwrite|ownerread|no_da|orderly' " SECVER),
			 0);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
	assert_int_equal(vg_rot_secver_advance(r, 1), VG_ERR_INTEGRITY);
	vg_rot_close(&r);
	secver_undefine(&tpm_b);
	assert_int_equal(
	    tools(&tpm_b, "tpm2_nvdefine -C o -s 8 -a 'ownerwrite|ownerread|no_da' " SECVER_BASE),
	    0);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
	vg_rot_close(&r);
	secver_undefine(&tpm_b);
	r = open_on(f->dir, &tpm_b);
	assert_int_equal(secver(r), 0);
	vg_rot_close(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_sfr4211_tpm2_create_and_reopen),
	    T(test_sfr4211_tpm2_root_key_never_in_a_file),
	    T(test_sfr4211_tpm2_secrets_encrypted_on_the_bus),
	    T(test_sfr4211_tpm2_counter_hardware_monotonic),
	    T(test_sfr4211_tpm2_other_tpm_and_tampering),
	    T(test_sfr4211_tpm2_half_written_state),
	    T(test_sfr4211_tpm2_missing_counter_refused),
	    T(test_sfr4211_tpm2_foreign_nv_index_refused),
	    T(test_sfr4211_tpm2_random),
	    T(test_sfr4211_tpm2_measure_extends_pcr),
	    T(test_sfr4211_tpm2_pcr_read),
	    T(test_sfr4211_tpm2_root_key_sealed_to_measured_boot),
	    T(test_sfr4211_tpm2_sealed_boot_gives_a_sealed_handle),
	    T(test_sfr4212_tpm2_erase_secret),
	    T(test_sfr4211_tpm2_unreachable),
	    T(test_sfr4211_tpm2_tpm_goes_away),
	    T(test_sfr4211_tpm2_timeout_and_recovery),
	    T(test_sfr426_tpm2_secver_monotonic),
	    T(test_sfr426_tpm2_secver_survives_state_dir),
	    T(test_sfr426_tpm2_secver_upgrade_existing),
	    T(test_sfr426_tpm2_secver_interrupted_setup),
	    T(test_sfr426_tpm2_secver_tampered_nv_refused),
	};
#undef T
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
