/*
 * test_rot.c - the `file` root-of-trust backend (src/rot/rot.h,
 * src/rot/file.c).
 *
 * SFR 4.2.11 (keystore) and SFR 4.2.4 (secure storage) hang off the root of
 * trust: a device-unique root key kept 0600, keys derived from it per
 * purpose, and a monotonic counter that never goes backwards, even across
 * torn writes, which is what rollback detection compares with.
 *
 * counter file: two 32-byte slots, "VGC1" | u64 BE | 16 zero bytes | first 4
 * bytes of SHA-256 of the first 28 bytes (see file.c).
 *
 * SFR 4.2.6 (anti-rollback): the security-version counter, a second counter
 * in its own file `secver`, the same two slots with magic "VGS1", created
 * at 0 on first use; independent of the storage counter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

#define SLOT_LEN 32

struct fx {
	char dir[64];
	char key_path[VGT_PATH];
	char ctr_path[VGT_PATH];
	char sv_path[VGT_PATH];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f || vgt_mkdtemp(f->dir) != 0)
		return -1;
	vgt_path(f->key_path, f->dir, "root.key");
	vgt_path(f->ctr_path, f->dir, "counter");
	vgt_path(f->sv_path, f->dir, "secver");
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

static vg_rot *open_ok(const struct fx *f)
{
	vg_rot *r = NULL;

	assert_int_equal(vg_rot_open(&r, "file", f->dir, NULL), VG_OK);
	assert_non_null(r);
	return r;
}

static uint64_t counter_of(vg_rot *r)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(vg_rot_counter_read(r, &v), VG_OK);
	return v;
}

static void derive(vg_rot *r, const char *label, const char *ctx, uint8_t out[VG_KEY_LEN])
{
	assert_int_equal(vg_rot_derive(r, label, (const uint8_t *)ctx, ctx ? strlen(ctx) : 0, out),
			 VG_OK);
}

static void reopen_expect(const struct fx *f, vg_rc want)
{
	vg_rot *r = (vg_rot *)f; /* proves *out is reset on failure */

	assert_int_equal(vg_rot_open(&r, "file", f->dir, NULL), want);
	if (want != VG_OK)
		assert_null(r);
	vg_rot_close(&r);
}

static void garble_slot(const struct fx *f, int slot)
{
	uint8_t junk[SLOT_LEN];

	memset(junk, 0xa5, sizeof junk);
	assert_int_equal(vgt_pwrite(f->ctr_path, (off_t)slot * SLOT_LEN, junk, sizeof junk), 0);
}

/* SFR 4.2.11: a fresh state dir gets a 32-byte root key of mode 0600 owned
 * by the service, and a counter file (0600) starting at 0; the backend
 * says it is a development backend. */
static void test_rot_fresh_dir_creates_key_and_counter(void **state)
{
	struct fx *f = *state;
	struct stat st;
	vg_rot *r = open_ok(f);

	assert_int_equal(lstat(f->key_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, VG_KEY_LEN);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(lstat(f->ctr_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(counter_of(r), 0);
	assert_string_equal(vg_rot_name(r), "file");
	assert_true(vg_rot_is_dev(r));
	vg_rot_close(&r);
	assert_null(r);
	vg_rot_close(&r); /* NULL-safe */
	vg_rot_close(NULL);
}

/* SFR 4.2.11: only the known backends open. */
static void test_rot_unknown_backend_unsupported(void **state)
{
	struct fx *f = *state;
	vg_rot *r = NULL;

	assert_int_equal(vg_rot_open(&r, "tpm3", f->dir, NULL), VG_ERR_UNSUPPORTED);
	assert_null(r);
	assert_false(vgt_exists(f->key_path));
}

/* SFR 4.2.11: the root key survives a restart: the same purpose keys come
 * out after reopening (else every stored record would be lost). */
static void test_rot_same_keys_after_reopen(void **state)
{
	struct fx *f = *state;
	uint8_t a1[VG_KEY_LEN], a2[VG_KEY_LEN], b1[VG_KEY_LEN];
	vg_rot *r = open_ok(f);

	derive(r, "store-ns", "u/1000", a1);
	derive(r, "db-meta", NULL, b1);
	vg_rot_close(&r);
	r = open_ok(f);
	derive(r, "store-ns", "u/1000", a2);
	assert_memory_equal(a1, a2, VG_KEY_LEN);
	derive(r, "db-meta", NULL, a2);
	assert_memory_equal(b1, a2, VG_KEY_LEN);
	vg_rot_close(&r);
}

/* SFR 4.2.11: derived keys are the documented HKDF of the root key (so a
 * backend swap keeps the derivation), and separated per label and ctx. */
static void test_rot_derive_is_hkdf_of_root_key(void **state)
{
	struct fx *f = *state;
	uint8_t got[VG_KEY_LEN], want[VG_KEY_LEN], other[VG_KEY_LEN], *root;
	size_t root_len;
	vg_rot *r = open_ok(f);

	derive(r, "store-ns", "u/1000", got);
	assert_int_equal(vgt_read(f->key_path, &root, &root_len), 0);
	assert_int_equal(root_len, VG_KEY_LEN);
	assert_int_equal(vg_hkdf(root, root_len, "store-ns", (const uint8_t *)"u/1000", 6, want),
			 VG_OK);
	assert_memory_equal(got, want, VG_KEY_LEN);
	/* The root key itself never comes out of derive. */
	assert_memory_not_equal(got, root, VG_KEY_LEN);
	derive(r, "store-ns", "u/1001", other);
	assert_memory_not_equal(got, other, VG_KEY_LEN);
	derive(r, "store-set", "u/1000", other);
	assert_memory_not_equal(got, other, VG_KEY_LEN);
	vg_wipe(root, root_len);
	free(root);
	vg_rot_close(&r);
}

/* SFR 4.2.11: root keys are device-unique: two state dirs give different
 * root keys and different derived keys. */
static void test_rot_different_dirs_different_keys(void **state)
{
	struct fx *f = *state;
	struct fx g;
	uint8_t a[VG_KEY_LEN], b[VG_KEY_LEN], *ka, *kb;
	size_t la, lb;
	vg_rot *r1 = open_ok(f), *r2;

	assert_int_equal(vgt_mkdtemp(g.dir), 0);
	r2 = open_ok(&g);
	derive(r1, "store-ns", "u/1000", a);
	derive(r2, "store-ns", "u/1000", b);
	assert_memory_not_equal(a, b, VG_KEY_LEN);
	vgt_path(g.key_path, g.dir, "root.key");
	assert_int_equal(vgt_read(f->key_path, &ka, &la), 0);
	assert_int_equal(vgt_read(g.key_path, &kb, &lb), 0);
	assert_memory_not_equal(ka, kb, VG_KEY_LEN);
	free(ka);
	free(kb);
	vg_rot_close(&r1);
	vg_rot_close(&r2);
	vgt_rmrf(g.dir);
}

/* SFR 4.2.11: random bytes come from the backend and are not constant. */
static void test_rot_random(void **state)
{
	struct fx *f = *state;
	uint8_t a[32], b[32];
	vg_rot *r = open_ok(f);

	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	assert_int_equal(vg_rot_random(r, a, sizeof a), VG_OK);
	assert_int_equal(vg_rot_random(r, b, sizeof b), VG_OK);
	assert_memory_not_equal(a, b, sizeof a);
	vg_rot_close(&r);
}

/* SFR 4.2.4: the counter is monotonic: advancing raises it, a lower or
 * equal value never lowers it, and large values are kept exactly. */
static void test_rot_counter_monotonic(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);

	assert_int_equal(vg_rot_counter_advance(r, 1), VG_OK);
	assert_int_equal(counter_of(r), 1);
	assert_int_equal(vg_rot_counter_advance(r, 5), VG_OK);
	assert_int_equal(counter_of(r), 5);
	assert_int_equal(vg_rot_counter_advance(r, 3), VG_OK);
	assert_int_equal(counter_of(r), 5);
	assert_int_equal(vg_rot_counter_advance(r, 0), VG_OK);
	assert_int_equal(counter_of(r), 5);
	assert_int_equal(vg_rot_counter_advance(r, 5), VG_OK);
	assert_int_equal(counter_of(r), 5);
	assert_int_equal(vg_rot_counter_advance(r, 0x0123456789abcdefull), VG_OK);
	assert_true(counter_of(r) == 0x0123456789abcdefull);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_true(counter_of(r) == 0x0123456789abcdefull);
	assert_int_equal(vg_rot_counter_advance(r, 7), VG_OK);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_true(counter_of(r) == 0x0123456789abcdefull);
	vg_rot_close(&r);
}

/* SFR 4.2.4: the counter persists across reopen at every step. */
static void test_rot_counter_persists(void **state)
{
	struct fx *f = *state;

	for (uint64_t v = 1; v <= 6; v++) {
		vg_rot *r = open_ok(f);
		assert_int_equal(counter_of(r), v - 1);
		assert_int_equal(vg_rot_counter_advance(r, v), VG_OK);
		vg_rot_close(&r);
	}
	{
		vg_rot *r = open_ok(f);
		assert_int_equal(counter_of(r), 6);
		vg_rot_close(&r);
	}
}

/* SFR 4.2.4: a torn counter write (the slot being written left garbage)
 * keeps the other slot's value: the previous one. */
static void test_rot_torn_write_keeps_other_slot(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);

	for (uint64_t v = 1; v <= 3; v++)
		assert_int_equal(vg_rot_counter_advance(r, v), VG_OK);
	vg_rot_close(&r);
	/* 3 was written to slot 1 (odd); tear it: 2 remains in slot 0. */
	garble_slot(f, 1);
	r = open_ok(f);
	assert_int_equal(counter_of(r), 2);
	/* And the counter goes on from there, durably. */
	assert_int_equal(vg_rot_counter_advance(r, 3), VG_OK);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_int_equal(counter_of(r), 3);
	vg_rot_close(&r);

	/* Tearing slot 0 (holding 2) instead leaves 3. */
	garble_slot(f, 0);
	r = open_ok(f);
	assert_int_equal(counter_of(r), 3);
	vg_rot_close(&r);
}

/*
 * Regression (was a bug in src/rot/file.c, file_counter_advance): the slot is chosen by the
 * parity of the new value, not as "the slot that does not hold the current
 * value". When the counter advances by an even step (vg_db_open catching up
 * after failed RoT writes, or any caller of counter_advance(v) with v > c+1),
 * the write overwrites the slot holding the current value; a torn write then
 * falls back to an even older value, and the counter goes backwards.
 */
/* SFR 4.2.4: a torn write never takes the counter below the value it held
 * before that write (here: 1, 2, then advance to 4 is torn -> must stay >= 2). */
static void test_rot_torn_write_after_even_jump_never_goes_back(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);
	uint64_t v;

	assert_int_equal(vg_rot_counter_advance(r, 1), VG_OK);
	assert_int_equal(vg_rot_counter_advance(r, 2), VG_OK);
	/* Durable value now: 2. The next write is torn part-way: simulate by
	 * letting it complete and then garbling the slot it wrote. */
	assert_int_equal(vg_rot_counter_advance(r, 4), VG_OK);
	vg_rot_close(&r);
	garble_slot(f, 4 & 1);
	r = open_ok(f);
	v = counter_of(r);
	vg_rot_close(&r);
	if (v < 2)
		fail_msg("torn write of 4 left the counter at %llu, below the previous "
			 "durable value 2",
			 (unsigned long long)v);
}

/* SFR 4.2.4: both slots damaged is never a torn write: fail closed with
 * VG_ERR_INTEGRITY. */
static void test_rot_both_slots_garbage_integrity(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);

	assert_int_equal(vg_rot_counter_advance(r, 1), VG_OK);
	assert_int_equal(vg_rot_counter_advance(r, 2), VG_OK);
	vg_rot_close(&r);
	garble_slot(f, 0);
	garble_slot(f, 1);
	reopen_expect(f, VG_ERR_INTEGRITY);
}

/* SFR 4.2.4: a slot with a valid shape but a wrong check value is
 * garbage too (one slot bad: the other is used; both bad: integrity). */
static void test_rot_slot_check_value_verified(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);
	uint8_t *b;
	size_t n;

	for (uint64_t v = 1; v <= 2; v++)
		assert_int_equal(vg_rot_counter_advance(r, v), VG_OK);
	vg_rot_close(&r);
	/* Raise slot 0's value (2 -> 0x..02 | 0x80..) without fixing the check. */
	assert_int_equal(vgt_read(f->ctr_path, &b, &n), 0);
	assert_int_equal(n, 2 * SLOT_LEN);
	assert_memory_equal(b, "VGC1", 4);
	b[4] ^= 0x80;
	assert_int_equal(vgt_pwrite(f->ctr_path, 0, b, SLOT_LEN), 0);
	r = open_ok(f);
	assert_int_equal(counter_of(r), 1);
	vg_rot_close(&r);
	b[SLOT_LEN + 11] ^= 0x40; /* slot 1 (value 1) too */
	assert_int_equal(vgt_pwrite(f->ctr_path, SLOT_LEN, b + SLOT_LEN, SLOT_LEN), 0);
	reopen_expect(f, VG_ERR_INTEGRITY);
	free(b);
}

/* SFR 4.2.4: a counter file deleted while root.key remains means the state
 * dir was tampered with: VG_ERR_INTEGRITY, and no new counter is made. */
static void test_rot_counter_deleted_integrity(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);

	assert_int_equal(vg_rot_counter_advance(r, 9), VG_OK);
	vg_rot_close(&r);
	assert_int_equal(unlink(f->ctr_path), 0);
	reopen_expect(f, VG_ERR_INTEGRITY);
	assert_false(vgt_exists(f->ctr_path));
	reopen_expect(f, VG_ERR_INTEGRITY);
}

/* SFR 4.2.4: a counter file emptied (truncated to 0 bytes) while root.key
 * remains is tampering too, not a fresh counter of 0 (counter 0 is written
 * when the device is created). */
static void test_rot_counter_emptied_integrity(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);

	assert_int_equal(vg_rot_counter_advance(r, 5), VG_OK);
	vg_rot_close(&r);
	assert_int_equal(truncate(f->ctr_path, 0), 0);
	reopen_expect(f, VG_ERR_INTEGRITY);
}

/* SFR 4.2.11: a root key readable by group or others is refused
 * (VG_ERR_INTEGRITY), and so is a root key of the wrong size. */
static void test_rot_root_key_mode_0644_refused(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);

	vg_rot_close(&r);
	assert_int_equal(chmod(f->key_path, 0644), 0);
	reopen_expect(f, VG_ERR_INTEGRITY);
	assert_int_equal(chmod(f->key_path, 0640), 0);
	reopen_expect(f, VG_ERR_INTEGRITY);
	assert_int_equal(chmod(f->key_path, 0604), 0);
	reopen_expect(f, VG_ERR_INTEGRITY);
	assert_int_equal(chmod(f->key_path, 0600), 0);
	reopen_expect(f, VG_OK);
	assert_int_equal(chmod(f->key_path, 0400), 0);
	reopen_expect(f, VG_OK);
}

/* SFR 4.2.11: a root key of the wrong size, or a symlink in its place, is
 * refused (and not followed). */
static void test_rot_root_key_shape_refused(void **state)
{
	struct fx *f = *state;
	char other[VGT_PATH];
	uint8_t *k;
	size_t n;
	vg_rot *r = open_ok(f);

	vg_rot_close(&r);
	assert_int_equal(vgt_read(f->key_path, &k, &n), 0);
	assert_int_equal(vgt_write(f->key_path, k, n - 1, 0600), 0);
	reopen_expect(f, VG_ERR_INTEGRITY);
	assert_int_equal(vgt_write(f->key_path, k, n, 0600), 0);
	reopen_expect(f, VG_OK);
	vgt_path(other, f->dir, "elsewhere.key");
	assert_int_equal(rename(f->key_path, other), 0);
	assert_int_equal(symlink(other, f->key_path), 0);
	/* O_NOFOLLOW: the open fails (ELOOP), reported as an I/O error. */
	reopen_expect(f, VG_ERR_IO);
	free(k);
}

/* SFR 4.2.12: the erase secret is created on first use, stays the same
 * across reopen, and a rotation replaces it durably, in place. */
static void test_sfr4212_erase_secret_rotates(void **state)
{
	struct fx *f = *state;
	uint8_t a[VG_KEY_LEN], b[VG_KEY_LEN], c[VG_KEY_LEN], *raw = NULL;
	char p[VGT_PATH];
	size_t n = 0;
	vg_rot *r = open_ok(f);

	vgt_path(p, f->dir, "erase.key");
	assert_int_equal(vg_rot_erase_secret(r, false, a), VG_OK);
	assert_int_equal(vgt_read(p, &raw, &n), 0);
	assert_int_equal(n, VG_KEY_LEN);
	assert_memory_equal(raw, a, VG_KEY_LEN);
	free(raw);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_int_equal(vg_rot_erase_secret(r, false, b), VG_OK);
	assert_memory_equal(a, b, VG_KEY_LEN);
	assert_int_equal(vg_rot_erase_secret(r, true, b), VG_OK);
	assert_memory_not_equal(a, b, VG_KEY_LEN);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_int_equal(vg_rot_erase_secret(r, false, c), VG_OK);
	assert_memory_equal(b, c, VG_KEY_LEN);
	/* A file of the wrong size is tampering, not a fresh secret. */
	assert_int_equal(vgt_write(p, "short", 5, 0600), 0);
	assert_int_equal(vg_rot_erase_secret(r, false, c), VG_ERR_INTEGRITY);
	vg_rot_close(&r);
}

/* ---- the security-version counter (SFR 4.2.6) ---- */

static uint64_t secver_of(vg_rot *r)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(vg_rot_secver_read(r, &v), VG_OK);
	return v;
}

static void garble_secver_slot(const struct fx *f, int slot)
{
	uint8_t junk[SLOT_LEN];

	memset(junk, 0x5a, sizeof junk);
	assert_int_equal(vgt_pwrite(f->sv_path, (off_t)slot * SLOT_LEN, junk, sizeof junk), 0);
}

/* The value slot `slot` of the secver file holds, checking its format:
 * "VGS1" | u64 BE | 16 zero bytes | SHA-256(first 28 bytes)[0..4]. */
static bool secver_slot(const struct fx *f, int slot, uint64_t *v)
{
	uint8_t *b = NULL, d[32];
	size_t n = 0;
	bool ok;

	assert_int_equal(vgt_read(f->sv_path, &b, &n), 0);
	assert_int_equal(n, 2 * SLOT_LEN);
	ok = memcmp(b + slot * SLOT_LEN, "VGS1", 4) == 0;
	assert_int_equal(vg_sha256(b + slot * SLOT_LEN, 28, d), VG_OK);
	ok = ok && memcmp(b + slot * SLOT_LEN + 28, d, 4) == 0;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | b[slot * SLOT_LEN + 4 + i];
	free(b);
	return ok;
}

/* SFR 4.2.6: the security version starts at 0 and its file is made on
 * first use (0600, the documented format), not by opening the backend: a
 * state dir from before it existed opens unchanged and reads 0. */
static void test_rot_secver_starts_at_zero_on_first_use(void **state)
{
	struct fx *f = *state;
	struct stat st;
	uint64_t v;
	vg_rot *r = open_ok(f);

	assert_int_equal(vg_rot_counter_advance(r, 3), VG_OK);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_false(vgt_exists(f->sv_path)); /* an "old" state dir */
	assert_int_equal(secver_of(r), 0);
	assert_int_equal(lstat(f->sv_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_true(secver_slot(f, 0, &v));
	assert_int_equal(v, 0);
	assert_false(secver_slot(f, 1, &v));
	assert_int_equal(counter_of(r), 3);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_int_equal(secver_of(r), 0);
	vg_rot_close(&r);
}

/* SFR 4.2.6: the security version only goes up: a lower or equal value
 * changes nothing, and every raise is durable (seen after a reopen). */
static void test_rot_secver_monotonic_and_persists(void **state)
{
	struct fx *f = *state;
	uint64_t v;
	vg_rot *r = open_ok(f);

	assert_int_equal(vg_rot_secver_advance(r, 1), VG_OK);
	assert_int_equal(secver_of(r), 1);
	assert_int_equal(vg_rot_secver_advance(r, 4), VG_OK);
	assert_int_equal(secver_of(r), 4);
	assert_int_equal(vg_rot_secver_advance(r, 2), VG_OK); /* never lowers */
	assert_int_equal(secver_of(r), 4);
	assert_int_equal(vg_rot_secver_advance(r, 0), VG_OK);
	assert_int_equal(vg_rot_secver_advance(r, 4), VG_OK);
	assert_int_equal(secver_of(r), 4);
	vg_rot_close(&r);
	assert_true(secver_slot(f, 0, &v)); /* 0, 1 -> slot 1, 4 -> slot 0 */
	assert_int_equal(v, 4);
	r = open_ok(f);
	assert_int_equal(secver_of(r), 4);
	assert_int_equal(vg_rot_secver_advance(r, 3), VG_OK);
	vg_rot_close(&r);
	for (uint64_t want = 4; want <= 7; want++) {
		r = open_ok(f);
		assert_int_equal(secver_of(r), want);
		assert_int_equal(vg_rot_secver_advance(r, want + 1), VG_OK);
		vg_rot_close(&r);
	}
	r = open_ok(f);
	assert_int_equal(secver_of(r), 8);
	vg_rot_close(&r);
}

/* SFR 4.2.6: a raise of more than VG_ROT_SECVER_MAX_STEP (4096) at once is
 * refused with VG_ERR_INVALID and changes nothing; exactly the limit is
 * fine. */
static void test_rot_secver_step_limit(void **state)
{
	struct fx *f = *state;
	vg_rot *r = open_ok(f);

	assert_int_equal(VG_ROT_SECVER_MAX_STEP, 4096);
	assert_int_equal(vg_rot_secver_advance(r, 2), VG_OK);
	assert_int_equal(vg_rot_secver_advance(r, 2 + 4097), VG_ERR_INVALID);
	assert_int_equal(secver_of(r), 2);
	assert_int_equal(vg_rot_secver_advance(r, UINT64_MAX), VG_ERR_INVALID);
	assert_int_equal(secver_of(r), 2);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_int_equal(secver_of(r), 2);
	assert_int_equal(vg_rot_secver_advance(r, 2 + 4096), VG_OK);
	assert_int_equal(secver_of(r), 4098);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_int_equal(secver_of(r), 4098);
	vg_rot_close(&r);
}

/* SFR 4.2.6: a torn write of one slot keeps the other slot's value (the
 * previous one), also after a raise by more than one; both slots damaged,
 * an emptied file, or a file others may write is refused
 * (VG_ERR_INTEGRITY), never read as 0, and the backend still opens. */
static void test_rot_secver_torn_write_keeps_other_slot(void **state)
{
	struct fx *f = *state;
	uint64_t v = 77;
	vg_rot *r = open_ok(f);

	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(vg_rot_secver_advance(r, i), VG_OK);
	vg_rot_close(&r);
	garble_secver_slot(f, 1); /* 3 was in slot 1: 2 remains in slot 0 */
	r = open_ok(f);
	assert_int_equal(secver_of(r), 2);
	assert_int_equal(vg_rot_secver_advance(r, 6), VG_OK); /* into slot 1 */
	vg_rot_close(&r);
	garble_secver_slot(f, 1); /* the raise to 6 torn: 2, not below */
	r = open_ok(f);
	assert_int_equal(secver_of(r), 2);
	assert_int_equal(vg_rot_secver_advance(r, 6), VG_OK);
	vg_rot_close(&r);
	garble_secver_slot(f, 0); /* the older slot torn: 6 stays */
	r = open_ok(f);
	assert_int_equal(secver_of(r), 6);
	vg_rot_close(&r);

	garble_secver_slot(f, 0);
	garble_secver_slot(f, 1);
	r = open_ok(f);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
	assert_int_equal(v, 0);
	assert_int_equal(vg_rot_secver_advance(r, 7), VG_ERR_INTEGRITY);
	assert_int_equal(counter_of(r), 0); /* the rest of the backend works */
	vg_rot_close(&r);
	assert_int_equal(truncate(f->sv_path, 0), 0);
	r = open_ok(f);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
	vg_rot_close(&r);
	{
		vg_rot *g = NULL;
		char dir2[64];
		char p[VGT_PATH];
		/* A good file from another state dir, made writable by others. */
		assert_int_equal(vgt_mkdtemp(dir2), 0);
		assert_int_equal(vg_rot_open(&g, "file", dir2, NULL), VG_OK);
		assert_int_equal(vg_rot_secver_advance(g, 5), VG_OK);
		vg_rot_close(&g);
		vgt_path(p, dir2, "secver");
		assert_int_equal(vgt_copy(p, f->sv_path), 0);
		r = open_ok(f);
		assert_int_equal(secver_of(r), 5);
		vg_rot_close(&r);
		assert_int_equal(chmod(f->sv_path, 0620), 0);
		r = open_ok(f);
		assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
		vg_rot_close(&r);
		vgt_rmrf(dir2);
	}
}

/* SFR 4.2.6: the security version and the storage counter are separate:
 * raising one leaves the other alone, and neither file passes for the
 * other (a copy of the counter file is not a security version). */
static void test_rot_secver_independent_of_storage_counter(void **state)
{
	struct fx *f = *state;
	uint8_t e1[VG_KEY_LEN], e2[VG_KEY_LEN];
	uint64_t v = 77;
	vg_rot *r = open_ok(f);

	assert_int_equal(vg_rot_counter_advance(r, 10), VG_OK);
	assert_int_equal(secver_of(r), 0);
	assert_int_equal(vg_rot_secver_advance(r, 3), VG_OK);
	assert_int_equal(counter_of(r), 10);
	assert_int_equal(vg_rot_counter_advance(r, 11), VG_OK);
	assert_int_equal(secver_of(r), 3);
	/* A factory reset rotates the erase secret: the version stays. */
	assert_int_equal(vg_rot_erase_secret(r, false, e1), VG_OK);
	assert_int_equal(vg_rot_erase_secret(r, true, e2), VG_OK);
	assert_memory_not_equal(e1, e2, VG_KEY_LEN);
	assert_int_equal(secver_of(r), 3);
	vg_rot_close(&r);
	r = open_ok(f);
	assert_int_equal(counter_of(r), 11);
	assert_int_equal(secver_of(r), 3);
	vg_rot_close(&r);
	assert_int_equal(vgt_copy(f->ctr_path, f->sv_path), 0);
	r = open_ok(f);
	assert_int_equal(vg_rot_secver_read(r, &v), VG_ERR_INTEGRITY);
	assert_int_equal(counter_of(r), 11);
	vg_rot_close(&r);
}

/* A backend without the operations: VG_ERR_UNSUPPORTED, value 0. */
static vg_rc none_counter(vg_rot *r, uint64_t *v)
{
	(void)r;
	*v = 0;
	return VG_OK;
}

static void test_rot_secver_unsupported_without_ops(void **state)
{
	static const vg_rot_ops ops = {.name = "none", .counter_read = none_counter};
	vg_rot r = {.ops = &ops, .priv = NULL};
	uint64_t v = 77;

	(void)state;
	assert_int_equal(vg_rot_secver_read(&r, &v), VG_ERR_UNSUPPORTED);
	assert_int_equal(v, 0);
	assert_int_equal(vg_rot_secver_advance(&r, 1), VG_ERR_UNSUPPORTED);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_rot_fresh_dir_creates_key_and_counter),
	    T(test_rot_unknown_backend_unsupported),
	    T(test_rot_same_keys_after_reopen),
	    T(test_rot_derive_is_hkdf_of_root_key),
	    T(test_rot_different_dirs_different_keys),
	    T(test_rot_random),
	    T(test_rot_counter_monotonic),
	    T(test_rot_counter_persists),
	    T(test_rot_torn_write_keeps_other_slot),
	    T(test_rot_torn_write_after_even_jump_never_goes_back),
	    T(test_rot_both_slots_garbage_integrity),
	    T(test_rot_slot_check_value_verified),
	    T(test_rot_counter_deleted_integrity),
	    T(test_rot_counter_emptied_integrity),
	    T(test_rot_root_key_mode_0644_refused),
	    T(test_rot_root_key_shape_refused),
	    T(test_sfr4212_erase_secret_rotates),
	    T(test_rot_secver_starts_at_zero_on_first_use),
	    T(test_rot_secver_monotonic_and_persists),
	    T(test_rot_secver_step_limit),
	    T(test_rot_secver_torn_write_keeps_other_slot),
	    T(test_rot_secver_independent_of_storage_counter),
	    T(test_rot_secver_unsupported_without_ops),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
