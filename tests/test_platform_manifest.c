/*
 * test_platform_manifest.c - the signed platform manifest
 * (src/platform/manifest.h), the measurement of its components
 * (src/platform/measure.h) and the canonical JSON its signature covers
 * (src/common/canonjson.h).
 *
 * SFR 4.2.5 (secure initialization): every component is measured exactly
 * (size and SHA-256 or Merkle root) and compared with the manifest; the
 * manifest parser refuses anything that is not exactly the documented shape.
 * AVS 1.1 (signed updates): the manifest is signed by the OEM release key
 * over canonical JSON (TUF style), and any change to what it says breaks
 * the signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/canonjson.h"
#include "helpers.h"
#include "platform/manifest.h"
#include "platform/measure.h"

/* Device paths of the two test components; they must not exist on the
 * build host (test_sfr425_manifest_measure_root_prefix checks). */
#define APP_PATH "/usr/bin/vgt-app"
#define IMG_PATH "/boot/vgt-rootfs.img"
#define APP_SIZE 5000u
#define IMG_SIZE (3u * 4096u + 5u)

/* ---- helpers ---- */

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int dl = 0;

	assert_int_equal(EVP_Digest(p, n, out, &dl, EVP_sha256(), NULL), 1);
	assert_int_equal(dl, 32);
}

/* leaf = SHA-256(0x00 || block) */
static void leaf(const uint8_t *p, size_t n, uint8_t out[32])
{
	uint8_t *b = malloc(n + 1);

	assert_non_null(b);
	b[0] = 0x00;
	if (n)
		memcpy(b + 1, p, n);
	sha256(b, n + 1, out);
	free(b);
}

/* node = SHA-256(0x01 || left || right) */
static void node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
	uint8_t b[65];

	b[0] = 0x01;
	memcpy(b + 1, l, 32);
	memcpy(b + 33, r, 32);
	sha256(b, sizeof b, out);
}

/* Deterministic bytes, different in every block (xorshift32). */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static int write_pattern(const char *path, size_t n, uint32_t seed)
{
	uint8_t *b = malloc(n ? n : 1);
	int r;

	if (!b)
		return -1;
	fill(b, n, seed);
	r = vgt_write(path, b, n, 0600);
	free(b);
	return r;
}

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A malloc()ed copy of s with the first occurrence of from replaced by to
 * (which must occur: a case that changes nothing proves nothing). */
static char *replace1(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t sl = strlen(s), fl = strlen(from), tl = strlen(to);
	char *r;

	if (!at)
		fail_msg("\"%s\" not found in the template", from);
	r = malloc(sl - fl + tl + 1);
	assert_non_null(r);
	memcpy(r, s, (size_t)(at - s));
	memcpy(r + (at - s), to, tl);
	memcpy(r + (at - s) + tl, at + fl, sl - (size_t)(at - s) - fl + 1);
	return r;
}

static char *canon(json_t *v, vg_rc *rc, size_t *len)
{
	char *out = (char *)1;
	size_t l = 99;

	*rc = vg_canonical_json(v, &out, &l);
	if (len)
		*len = l;
	if (*rc != VG_OK) {
		assert_null(out);
		return NULL;
	}
	assert_non_null(out);
	assert_int_equal(strlen(out), l); /* NUL-terminated, no NUL inside here */
	return out;
}

static uint8_t *pub_der(EVP_PKEY *k, size_t *len)
{
	uint8_t *der = NULL;

	*len = vgt_pub_der(k, &der);
	return der;
}

/* ---- canonical JSON (AVS 1.1: the bytes a signature covers) ---- */

/* AVS 1.1: keys sorted by bytes, no whitespace, a known expected string */
static void test_avs11_canonjson_known_bytes(void **state)
{
	json_t *v = json_pack("{s:i, s:[b, b, n, {s:s, s:i}], s:s, s:{}, s:[]}", "b", 1, "a", 1, 0,
			      "z", "x", "y", -5, "aa", "q\"\\", "e", "E");
	static const char want[] =
	    "{\"E\":[],\"a\":[true,false,null,{\"y\":-5,\"z\":\"x\"}],\"aa\":\"q\\\"\\\\\","
	    "\"b\":1,\"e\":{}}";
	vg_rc rc;
	size_t len;
	char *s;

	(void)state;
	assert_non_null(v);
	s = canon(v, &rc, &len);
	assert_int_equal(rc, VG_OK);
	assert_int_equal(len, sizeof want - 1);
	assert_string_equal(s, want);
	free(s);
	json_decref(v);
}

/* AVS 1.1: keys are ordered by their UTF-8 bytes (uppercase before
 * lowercase, a prefix before its extensions, non-ASCII last) */
static void test_avs11_canonjson_keys_sorted_by_bytes(void **state)
{
	json_t *v = json_object();
	/* B(42) _(5f) a(61) ab z(7a) c3a9: a locale or case-folding sort
	 * would put "B" after "a" or "_" first. */
	static const char want[] = "{\"B\":2,\"_\":5,\"a\":1,\"ab\":3,\"z\":6,\"\xc3\xa9\":4}";
	vg_rc rc;
	char *s;

	(void)state;
	/* inserted in a scrambled order */
	assert_int_equal(json_object_set_new(v, "ab", json_integer(3)), 0);
	assert_int_equal(json_object_set_new(v, "z", json_integer(6)), 0);
	assert_int_equal(json_object_set_new(v, "\xc3\xa9", json_integer(4)), 0);
	assert_int_equal(json_object_set_new(v, "a", json_integer(1)), 0);
	assert_int_equal(json_object_set_new(v, "_", json_integer(5)), 0);
	assert_int_equal(json_object_set_new(v, "B", json_integer(2)), 0);
	s = canon(v, &rc, NULL);
	assert_int_equal(rc, VG_OK);
	assert_string_equal(s, want);
	free(s);
	json_decref(v);
}

/* AVS 1.1: only '"' and '\\' are escaped; a newline, a tab, a control
 * character and non-ASCII UTF-8 go out raw (OLPC canonical JSON) */
static void test_avs11_canonjson_strings_raw(void **state)
{
	json_t *v = json_pack("{s:s}", "k\"\\", "line\nbreak\t\x01 caf\xc3\xa9 \"q\" \\ /");
	static const char want[] =
	    "{\"k\\\"\\\\\":\"line\nbreak\t\x01 caf\xc3\xa9 \\\"q\\\" \\\\ /\"}";
	vg_rc rc;
	char *s;

	(void)state;
	assert_non_null(v);
	s = canon(v, &rc, NULL);
	assert_int_equal(rc, VG_OK);
	assert_string_equal(s, want);
	assert_null(strstr(s, "\\n"));
	assert_null(strstr(s, "\\u"));
	free(s);
	json_decref(v);
}

/* AVS 1.1: integers in decimal, full 64-bit range (no double rounding) */
static void test_avs11_canonjson_integers(void **state)
{
	json_t *v =
	    json_pack("[I, I, I, I, I]", (json_int_t)0, (json_int_t)-1,
		      (json_int_t)9007199254740993LL, (json_int_t)INT64_MAX, (json_int_t)INT64_MIN);
	static const char want[] =
	    "[0,-1,9007199254740993,9223372036854775807,-9223372036854775808]";
	vg_rc rc;
	char *s;

	(void)state;
	assert_non_null(v);
	s = canon(v, &rc, NULL);
	assert_int_equal(rc, VG_OK);
	assert_string_equal(s, want);
	free(s);
	json_decref(v);
}

/* AVS 1.1: nested arrays and objects, with keys sorted at every level */
static void test_avs11_canonjson_nested(void **state)
{
	json_t *v = json_pack("{s:[{s:{s:[i, {s:s, s:s}]}, s:i}], s:{s:{}}}", "x", "n", "q", 1, "d",
			      "4", "c", "3", "m", 2, "w", "v");
	static const char want[] =
	    "{\"w\":{\"v\":{}},\"x\":[{\"m\":2,\"n\":{\"q\":[1,{\"c\":\"3\",\"d\":\"4\"}]}}]}";
	vg_rc rc;
	char *s;

	(void)state;
	assert_non_null(v);
	s = canon(v, &rc, NULL);
	assert_int_equal(rc, VG_OK);
	assert_string_equal(s, want);
	free(s);
	json_decref(v);
}

/* AVS 1.1: canonical JSON has no reals: refused at the top and nested */
static void test_avs11_canonjson_refuses_reals(void **state)
{
	json_t *top = json_real(1.5);
	json_t *nested = json_pack("{s:[i, {s:f}]}", "a", 1, "b", 0.0);
	json_t *integral = json_pack("[f]", 2.0);
	vg_rc rc;

	(void)state;
	assert_non_null(top);
	assert_non_null(nested);
	assert_non_null(integral);
	assert_null(canon(top, &rc, NULL));
	assert_int_equal(rc, VG_ERR_INVALID);
	assert_null(canon(nested, &rc, NULL));
	assert_int_equal(rc, VG_ERR_INVALID);
	assert_null(canon(integral, &rc, NULL));
	assert_int_equal(rc, VG_ERR_INVALID);
	assert_null(canon(NULL, &rc, NULL));
	assert_int_equal(rc, VG_ERR_INVALID);
	json_decref(top);
	json_decref(nested);
	json_decref(integral);
}

/* n arrays nested in one another, alternating with objects {"k": ...}. */
static json_t *deep(size_t n)
{
	json_t *v = json_array();

	for (size_t i = 1; i < n; i++) {
		json_t *o = (i & 1) ? json_object() : json_array();
		assert_non_null(o);
		if (i & 1)
			assert_int_equal(json_object_set_new(o, "k", v), 0);
		else
			assert_int_equal(json_array_append_new(o, v), 0);
		v = o;
	}
	return v;
}

/* AVS 1.1: nesting is bounded (VG_CANONJSON_MAX_DEPTH): deeper is refused */
static void test_avs11_canonjson_depth_limit(void **state)
{
	json_t *ok = deep(VG_CANONJSON_MAX_DEPTH);
	json_t *over = deep(VG_CANONJSON_MAX_DEPTH + 2);
	json_t *far = deep(1000);
	vg_rc rc;
	char *s;

	(void)state;
	s = canon(ok, &rc, NULL);
	assert_int_equal(rc, VG_OK);
	assert_int_equal(strlen(s), 2 * VG_CANONJSON_MAX_DEPTH + 4 * (VG_CANONJSON_MAX_DEPTH / 2));
	free(s);
	assert_null(canon(over, &rc, NULL));
	assert_int_equal(rc, VG_ERR_INVALID);
	assert_null(canon(far, &rc, NULL));
	assert_int_equal(rc, VG_ERR_INVALID);
	json_decref(ok);
	json_decref(over);
	json_decref(far);
}

/* ---- Merkle tree (SFR 4.2.5: measuring large images) ---- */

/* SFR 4.2.5: an empty image is one empty leaf: root = SHA-256(0x00) */
static void test_sfr425_merkle_empty(void **state)
{
	static const uint8_t zero = 0x00, dummy = 0xaa;
	uint8_t want[32], root[32];

	(void)state;
	sha256(&zero, 1, want);
	memset(root, 0x55, sizeof root);
	assert_int_equal(vg_merkle_buffer(&dummy, 0, 4096, root), VG_OK);
	assert_memory_equal(root, want, 32);
}

/* SFR 4.2.5: one block (full or short): root = SHA-256(0x00 || block) */
static void test_sfr425_merkle_one_block(void **state)
{
	uint8_t *b = malloc(8192), want[32], root[32], plain[32];

	(void)state;
	assert_non_null(b);
	fill(b, 8192, 7);
	leaf(b, 4096, want);
	assert_int_equal(vg_merkle_buffer(b, 4096, 4096, root), VG_OK);
	assert_memory_equal(root, want, 32);
	/* domain separation: not the plain SHA-256 of the block */
	sha256(b, 4096, plain);
	assert_memory_not_equal(root, plain, 32);
	/* a short single block */
	leaf(b, 100, want);
	assert_int_equal(vg_merkle_buffer(b, 100, 4096, root), VG_OK);
	assert_memory_equal(root, want, 32);
	/* 8192 bytes with 8192-byte blocks: one leaf too */
	leaf(b, 8192, want);
	assert_int_equal(vg_merkle_buffer(b, 8192, 8192, root), VG_OK);
	assert_memory_equal(root, want, 32);
	free(b);
}

/* SFR 4.2.5: two, three and five blocks; an odd node moves up unchanged
 * and the order of the children matters */
static void test_sfr425_merkle_tree_shape(void **state)
{
	const size_t bs = 4096;
	uint8_t *b = malloc(5 * bs), l[5][32], n01[32], n10[32], n23[32], n0123[32], want[32],
		root[32];

	(void)state;
	assert_non_null(b);
	fill(b, 5 * bs, 99);

	/* 2 blocks: H(01 || L0 || L1) */
	leaf(b, bs, l[0]);
	leaf(b + bs, bs, l[1]);
	node(l[0], l[1], n01);
	node(l[1], l[0], n10);
	assert_int_equal(vg_merkle_buffer(b, 2 * bs, 4096, root), VG_OK);
	assert_memory_equal(root, n01, 32);
	assert_memory_not_equal(root, n10, 32);

	/* 3 blocks, the last short: H(01 || H(01 || L0 || L1) || L2) */
	leaf(b + 2 * bs, 5, l[2]);
	node(n01, l[2], want);
	assert_int_equal(vg_merkle_buffer(b, 2 * bs + 5, 4096, root), VG_OK);
	assert_memory_equal(root, want, 32);

	/* 5 blocks: L4 moves up twice: H(01 || H(N01 || N23) || L4) */
	leaf(b + 2 * bs, bs, l[2]);
	leaf(b + 3 * bs, bs, l[3]);
	leaf(b + 4 * bs, bs, l[4]);
	node(l[2], l[3], n23);
	node(n01, n23, n0123);
	node(n0123, l[4], want);
	assert_int_equal(vg_merkle_buffer(b, 5 * bs, 4096, root), VG_OK);
	assert_memory_equal(root, want, 32);
	free(b);
}

/* SFR 4.2.5: the block size is part of the digest; bad block sizes and
 * too many leaves are refused */
static void test_sfr425_merkle_block_size(void **state)
{
	/* not powers of two, too small, too big */
	static const uint32_t bad[] = {0,    1,    1000,  2048,      4095,
				       4097, 6144, 12288, 33554431u, 33554432u};
	uint8_t *b = malloc(3 * 4096 + 5), r4[32], r8[32];
	char dir[64], p[VGT_PATH], why[VG_MEASURE_WHY_LEN];

	(void)state;
	assert_int_equal(VG_MERKLE_MAX_BLOCK, 16777216u); /* bad[] is written for it */
	assert_non_null(b);
	fill(b, 3 * 4096 + 5, 5);
	assert_int_equal(vg_merkle_buffer(b, 3 * 4096 + 5, 4096, r4), VG_OK);
	assert_int_equal(vg_merkle_buffer(b, 3 * 4096 + 5, 8192, r8), VG_OK);
	assert_memory_not_equal(r4, r8, 32);
	assert_int_equal(vg_merkle_buffer(b, 3 * 4096 + 5, VG_MERKLE_MAX_BLOCK, r8), VG_OK);

	assert_int_equal(vgt_mkdtemp(dir), 0);
	vgt_path(p, dir, "img");
	assert_int_equal(vgt_write(p, b, 3 * 4096 + 5, 0600), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(why, 0, sizeof why);
		assert_int_equal(vg_merkle_buffer(b, 3 * 4096 + 5, bad[i], r4), VG_ERR_INVALID);
		assert_int_equal(vg_measure_merkle(p, 3 * 4096 + 5, bad[i], 1, r4, why),
				 VG_ERR_INVALID);
		assert_true(why[0] != '\0');
	}
	/* more than VG_MERKLE_MAX_LEAVES leaves */
	memset(why, 0, sizeof why);
	assert_int_equal(
	    vg_measure_merkle(p, (uint64_t)VG_MERKLE_MAX_LEAVES * 4096u + 1u, 4096, 1, r4, why),
	    VG_ERR_INVALID);
	assert_true(why[0] != '\0');
	vgt_rmrf(dir);
	free(b);
}

/* SFR 4.2.5: measuring a file gives the same root as the buffer, whatever
 * the number of threads */
static void test_sfr425_merkle_file_matches_buffer(void **state)
{
	static const size_t sizes[] = {0, 1, 4096, 4097, 3 * 4096 + 5, 9 * 4096 + 1};
	static const unsigned threads[] = {1, 4, 0, 3};
	uint8_t *b = malloc(9 * 4096 + 1), want[32], root[32];
	char dir[64], p[VGT_PATH], why[VG_MEASURE_WHY_LEN];

	(void)state;
	assert_non_null(b);
	assert_int_equal(vgt_mkdtemp(dir), 0);
	vgt_path(p, dir, "img");
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		fill(b, sizes[i], (uint32_t)(i + 11));
		assert_int_equal(vgt_write(p, b, sizes[i], 0600), 0);
		assert_int_equal(vg_merkle_buffer(b, sizes[i], 4096, want), VG_OK);
		for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
			memset(root, 0, sizeof root);
			why[0] = '\0';
			if (vg_measure_merkle(p, sizes[i], 4096, threads[t], root, why) != VG_OK)
				fail_msg("size %zu, %u threads: %s", sizes[i], threads[t], why);
			if (memcmp(root, want, 32) != 0)
				fail_msg("size %zu, %u threads: root differs from the buffer's",
					 sizes[i], threads[t]);
		}
		/* a different size than the file is an integrity error */
		why[0] = '\0';
		assert_int_equal(vg_measure_merkle(p, sizes[i] + 1, 4096, 4, root, why),
				 VG_ERR_INTEGRITY);
		assert_non_null(strstr(why, p));
	}
	/* one byte changed in the last block changes the root */
	fill(b, 9 * 4096 + 1, 3);
	assert_int_equal(vg_merkle_buffer(b, 9 * 4096 + 1, 4096, want), VG_OK);
	b[9 * 4096] ^= 0x01;
	assert_int_equal(vgt_write(p, b, 9 * 4096 + 1, 0600), 0);
	assert_int_equal(vg_measure_merkle(p, 9 * 4096 + 1, 4096, 4, root, why), VG_OK);
	assert_memory_not_equal(root, want, 32);
	vgt_rmrf(dir);
	free(b);
}

/* ---- SHA-256 measurement (SFR 4.2.5) ---- */

/* SFR 4.2.5: the SHA-256 of exactly the file's bytes (also across the
 * 1 MiB read chunk), and its size */
static void test_sfr425_measure_sha256_matches(void **state)
{
	static const size_t sizes[] = {0, 1, 10000, (1u << 20) + 3};
	uint8_t *b = malloc((1u << 20) + 3), want[32], got[32];
	char dir[64], p[VGT_PATH], why[VG_MEASURE_WHY_LEN];
	uint64_t size;

	(void)state;
	assert_non_null(b);
	assert_int_equal(vgt_mkdtemp(dir), 0);
	vgt_path(p, dir, "file");
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		fill(b, sizes[i], (uint32_t)(i + 1));
		assert_int_equal(vgt_write(p, b, sizes[i], 0600), 0);
		sha256(b, sizes[i], want);
		memset(got, 0, sizeof got);
		assert_int_equal(vg_measure_sha256(p, sizes[i], got, why), VG_OK);
		assert_memory_equal(got, want, 32);
		size = 12345;
		assert_int_equal(vg_measure_size(p, &size, why), VG_OK);
		assert_int_equal(size, sizes[i]);
	}
	vgt_rmrf(dir);
	free(b);
}

/* SFR 4.2.5: a file longer or shorter than the manifest says is an
 * integrity error (appended bytes are not "outside the image"), with a
 * reason naming the file */
static void test_sfr425_measure_sha256_wrong_size(void **state)
{
	uint8_t b[100], out[32];
	char dir[64], p[VGT_PATH], why[VG_MEASURE_WHY_LEN];

	(void)state;
	fill(b, sizeof b, 4);
	assert_int_equal(vgt_mkdtemp(dir), 0);
	vgt_path(p, dir, "file");
	assert_int_equal(vgt_write(p, b, sizeof b, 0600), 0);
	why[0] = '\0';
	assert_int_equal(vg_measure_sha256(p, sizeof b - 1, out, why), VG_ERR_INTEGRITY);
	assert_non_null(strstr(why, p));
	why[0] = '\0';
	assert_int_equal(vg_measure_sha256(p, sizeof b + 1, out, why), VG_ERR_INTEGRITY);
	assert_non_null(strstr(why, p));
	assert_int_equal(vg_measure_sha256(p, 0, out, NULL), VG_ERR_INTEGRITY);
	assert_int_equal(vg_measure_sha256(p, sizeof b, out, NULL), VG_OK);
	vgt_rmrf(dir);
}

/* SFR 4.2.5: a missing component is VG_ERR_NOT_FOUND, a directory (or
 * FIFO) VG_ERR_INVALID; both with a reason */
static void test_sfr425_measure_missing_and_not_a_file(void **state)
{
	uint8_t out[32];
	char dir[64], p[VGT_PATH], why[VG_MEASURE_WHY_LEN];
	uint64_t size = 0;

	(void)state;
	assert_int_equal(vgt_mkdtemp(dir), 0);
	vgt_path(p, dir, "missing");
	why[0] = '\0';
	assert_int_equal(vg_measure_sha256(p, 0, out, why), VG_ERR_NOT_FOUND);
	assert_non_null(strstr(why, p));
	why[0] = '\0';
	assert_int_equal(vg_measure_merkle(p, 0, 4096, 1, out, why), VG_ERR_NOT_FOUND);
	assert_non_null(strstr(why, p));
	assert_int_equal(vg_measure_size(p, &size, NULL), VG_ERR_NOT_FOUND);

	why[0] = '\0';
	assert_int_equal(vg_measure_sha256(dir, 0, out, why), VG_ERR_INVALID);
	assert_non_null(strstr(why, dir));
	why[0] = '\0';
	assert_int_equal(vg_measure_merkle(dir, 0, 4096, 1, out, why), VG_ERR_INVALID);
	assert_true(why[0] != '\0');
	assert_int_equal(vg_measure_size(dir, &size, NULL), VG_ERR_INVALID);

	vgt_path(p, dir, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	why[0] = '\0';
	{
		/* hold the FIFO open for writing, so that the module's open()
		 * returns instead of waiting for a writer */
		int fd = open(p, O_RDWR | O_NONBLOCK);
		assert_true(fd >= 0);
		assert_int_equal(vg_measure_sha256(p, 0, out, why), VG_ERR_INVALID);
		assert_true(why[0] != '\0');
		close(fd);
	}
	vgt_rmrf(dir);
}

/* ---- the manifest: a fixture with a staging root ---- */

struct fx {
	char dir[64];
	char root[128];
	char app[VGT_PATH], img[VGT_PATH]; /* the files, root + device path */
	vg_manifest *m;
	EVP_PKEY *p256, *ed, *other;
	uint8_t *p256_der, *ed_der, *other_der;
	size_t p256_der_len, ed_der_len, other_der_len;
};

static int mkdirs(const char *root, const char *rel)
{
	char p[VGT_PATH];

	(void)snprintf(p, sizeof p, "%s%s", root, rel);
	return mkdir(p, 0700) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char why[VG_MANIFEST_WHY_LEN];

	if (!f || vgt_mkdtemp(f->dir) != 0)
		return -1;
	*state = f;
	(void)snprintf(f->root, sizeof f->root, "%s/root", f->dir);
	(void)snprintf(f->app, sizeof f->app, "%s%s", f->root, APP_PATH);
	(void)snprintf(f->img, sizeof f->img, "%s%s", f->root, IMG_PATH);
	if (mkdir(f->root, 0700) != 0 || mkdirs(f->root, "/usr") != 0 ||
	    mkdirs(f->root, "/usr/bin") != 0 || mkdirs(f->root, "/boot") != 0 ||
	    write_pattern(f->app, APP_SIZE, 1) != 0 || write_pattern(f->img, IMG_SIZE, 2) != 0)
		return -1;
	f->m = calloc(1, sizeof *f->m);
	f->p256 = EVP_EC_gen("P-256");
	f->other = EVP_EC_gen("P-256");
	f->ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!f->m || !f->p256 || !f->other || !f->ed)
		return -1;
	f->p256_der = pub_der(f->p256, &f->p256_der_len);
	f->ed_der = pub_der(f->ed, &f->ed_der_len);
	f->other_der = pub_der(f->other, &f->other_der_len);
	if (vg_manifest_add(f->m, "voice-app", "1.4.2", APP_PATH, f->app, 0, NULL, why) != VG_OK ||
	    vg_manifest_add(f->m, "rootfs", "2026.11.0", IMG_PATH, f->img, 4096, NULL, why) !=
		VG_OK)
		return -1;
	strcpy(f->m->oem, "Acme Audio");
	strcpy(f->m->model, "Speaker 2");
	strcpy(f->m->hw_rev, "B1");
	strcpy(f->m->version, "2026.11.0");
	f->m->security_version = 3;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	vgt_rmrf(f->dir);
	EVP_PKEY_free(f->p256);
	EVP_PKEY_free(f->ed);
	EVP_PKEY_free(f->other);
	OPENSSL_free(f->p256_der);
	OPENSSL_free(f->ed_der);
	OPENSSL_free(f->other_der);
	free(f->m);
	free(f);
	return 0;
}

static vg_manifest *mdup(const vg_manifest *m)
{
	vg_manifest *c = malloc(sizeof *c);

	assert_non_null(c);
	memcpy(c, m, sizeof *c);
	return c;
}

static char *signed_bytes(const vg_manifest *m, size_t *len)
{
	char *s = NULL;

	assert_int_equal(vg_manifest_signed_bytes(m, &s, len), VG_OK);
	assert_non_null(s);
	return s;
}

/* Serialises m, parses it back into a new manifest and checks the round
 * trip keeps the signed bytes and the signatures. */
static vg_manifest *roundtrip(const vg_manifest *m)
{
	vg_manifest *r = calloc(1, sizeof *r);
	char why[VG_MANIFEST_WHY_LEN], *txt = NULL, *a, *b, *txt2 = NULL;
	size_t len = 0, al, bl, len2 = 0;

	assert_non_null(r);
	assert_int_equal(vg_manifest_to_json(m, &txt, &len), VG_OK);
	assert_int_equal(strlen(txt), len);
	if (vg_manifest_parse((const uint8_t *)txt, len, r, why) != VG_OK)
		fail_msg("to_json output does not parse: %s\n%s", why, txt);
	a = signed_bytes(m, &al);
	b = signed_bytes(r, &bl);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	assert_int_equal(r->n_sigs, m->n_sigs);
	for (size_t i = 0; i < m->n_sigs; i++) {
		assert_memory_equal(r->sigs[i].keyid, m->sigs[i].keyid, 32);
		assert_int_equal(r->sigs[i].sig_len, m->sigs[i].sig_len);
		assert_memory_equal(r->sigs[i].sig, m->sigs[i].sig, m->sigs[i].sig_len);
	}
	/* and the file is a fixed point */
	assert_int_equal(vg_manifest_to_json(r, &txt2, &len2), VG_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(txt2, txt, len);
	free(a);
	free(b);
	free(txt);
	free(txt2);
	return r;
}

/* AVS 1.1: vg_manifest_add records size and digest of the source file:
 * SHA-256, or a Merkle root with the block size */
static void test_avs11_manifest_add_measures(void **state)
{
	struct fx *f = *state;
	uint8_t *b;
	size_t n;
	uint8_t want[32];

	assert_int_equal(f->m->n, 2);
	assert_string_equal(f->m->c[0].name, "voice-app");
	assert_string_equal(f->m->c[0].path, APP_PATH);
	assert_int_equal(f->m->c[0].kind, VG_DIGEST_SHA256);
	assert_int_equal(f->m->c[0].size, APP_SIZE);
	assert_int_equal(vgt_read(f->app, &b, &n), 0);
	sha256(b, n, want);
	assert_memory_equal(f->m->c[0].digest, want, 32);
	free(b);
	assert_true(is_zero(f->m->c[0].signer, 32));

	assert_int_equal(f->m->c[1].kind, VG_DIGEST_MERKLE);
	assert_int_equal(f->m->c[1].block_size, 4096);
	assert_int_equal(f->m->c[1].size, IMG_SIZE);
	assert_int_equal(vgt_read(f->img, &b, &n), 0);
	assert_int_equal(vg_merkle_buffer(b, n, 4096, want), VG_OK);
	assert_memory_equal(f->m->c[1].digest, want, 32);
	free(b);
}

/* AVS 1.1: vg_manifest_add refuses what the parser would refuse and
 * leaves the manifest unchanged */
static void test_avs11_manifest_add_refuses(void **state)
{
	struct fx *f = *state;
	char why[VG_MANIFEST_WHY_LEN], missing[VGT_PATH], name[32];
	vg_manifest *before = mdup(f->m);

	vgt_path(missing, f->dir, "missing");
	assert_int_equal(vg_manifest_add(f->m, "voice-app", "1", "/x", f->app, 0, NULL, why),
			 VG_ERR_INVALID); /* duplicate name */
	assert_int_equal(vg_manifest_add(f->m, "a", "1", "usr/bin/x", f->app, 0, NULL, why),
			 VG_ERR_INVALID);
	assert_int_equal(vg_manifest_add(f->m, "a", "1", "/usr/../x", f->app, 0, NULL, why),
			 VG_ERR_INVALID);
	assert_int_equal(vg_manifest_add(f->m, "a", "1", "/usr//x", f->app, 0, NULL, why),
			 VG_ERR_INVALID);
	assert_int_equal(vg_manifest_add(f->m, "", "1", "/x", f->app, 0, NULL, why),
			 VG_ERR_INVALID);
	assert_int_equal(vg_manifest_add(f->m, "caf\xc3\xa9", "1", "/x", f->app, 0, NULL, why),
			 VG_ERR_INVALID);
	memset(name, 'n', 32);
	name[31] = '\0'; /* 31 characters: the longest name there is */
	assert_int_equal(vg_manifest_add(f->m, "a", "1", "/x", missing, 0, NULL, why),
			 VG_ERR_NOT_FOUND);
	assert_int_equal(vg_manifest_add(f->m, "a", "1", "/x", f->dir, 0, NULL, why),
			 VG_ERR_INVALID);
	assert_int_equal(vg_manifest_add(f->m, "a", "1", "/x", f->img, 1000, NULL, why),
			 VG_ERR_INVALID);
	assert_memory_equal(f->m, before, offsetof(vg_manifest, c));
	assert_int_equal(f->m->n, 2);
	assert_memory_equal(f->m->c, before->c, 2 * sizeof f->m->c[0]);

	/* up to VG_MANIFEST_MAX_COMPONENTS, not one more */
	assert_int_equal(vg_manifest_add(f->m, name, "1", "/x", f->app, 0, NULL, why), VG_OK);
	for (size_t i = f->m->n; i < VG_MANIFEST_MAX_COMPONENTS; i++) {
		char nm[16];
		(void)snprintf(nm, sizeof nm, "c%zu", i);
		assert_int_equal(vg_manifest_add(f->m, nm, "1", "/x", f->app, 0, NULL, why), VG_OK);
	}
	assert_int_equal(f->m->n, VG_MANIFEST_MAX_COMPONENTS);
	assert_int_equal(vg_manifest_add(f->m, "one-more", "1", "/x", f->app, 0, NULL, why),
			 VG_ERR_INVALID);
	assert_int_equal(f->m->n, VG_MANIFEST_MAX_COMPONENTS);
	free(before);
}

/* Signs the fixture's manifest with k, checks the keyid, the signers and
 * the round trip, and verifies with the right and the wrong keys. */
static void sign_and_check(struct fx *f, EVP_PKEY *k, const uint8_t *der, size_t der_len,
			   const uint8_t *wrong1, size_t wrong1_len, const uint8_t *wrong2,
			   size_t wrong2_len)
{
	uint8_t keyid[32], want[32];
	vg_manifest *r;

	assert_int_equal(vg_manifest_verify(f->m, der, der_len), VG_ERR_VERIFY_FAILED);
	assert_int_equal(vg_manifest_sign(f->m, k), VG_OK);
	assert_int_equal(f->m->n_sigs, 1);
	assert_int_equal(vg_manifest_keyid(der, der_len, keyid), VG_OK);
	sha256(der, der_len, want);
	assert_memory_equal(keyid, want, 32);
	assert_memory_equal(f->m->sigs[0].keyid, keyid, 32);
	assert_true(f->m->sigs[0].sig_len > 0);
	/* empty signers got this key's ID */
	for (size_t i = 0; i < f->m->n; i++)
		assert_memory_equal(f->m->c[i].signer, keyid, 32);

	assert_int_equal(vg_manifest_verify(f->m, der, der_len), VG_OK);
	assert_int_equal(vg_manifest_verify(f->m, wrong1, wrong1_len), VG_ERR_VERIFY_FAILED);
	assert_int_equal(vg_manifest_verify(f->m, wrong2, wrong2_len), VG_ERR_VERIFY_FAILED);

	r = roundtrip(f->m);
	assert_int_equal(vg_manifest_verify(r, der, der_len), VG_OK);
	assert_int_equal(vg_manifest_verify(r, wrong1, wrong1_len), VG_ERR_VERIFY_FAILED);
	assert_string_equal(r->oem, "Acme Audio");
	assert_string_equal(r->model, "Speaker 2");
	assert_string_equal(r->hw_rev, "B1");
	assert_string_equal(r->version, "2026.11.0");
	assert_int_equal(r->security_version, 3);
	assert_int_equal(r->n, 2);
	assert_memory_equal(r->c, f->m->c, 2 * sizeof r->c[0]);
	free(r);
}

/* AVS 1.1: a P-256 signature verifies with its key only, and survives the
 * file round trip */
static void test_avs11_manifest_sign_verify_p256(void **state)
{
	struct fx *f = *state;

	sign_and_check(f, f->p256, f->p256_der, f->p256_der_len, f->other_der, f->other_der_len,
		       f->ed_der, f->ed_der_len);
	/* ECDSA DER signature: 0x30 ... at most 72 bytes */
	assert_int_equal(f->m->sigs[0].sig[0], 0x30);
	assert_in_range(f->m->sigs[0].sig_len, 8, 72);
}

/* AVS 1.1: the same with an Ed25519 release key */
static void test_avs11_manifest_sign_verify_ed25519(void **state)
{
	struct fx *f = *state;

	sign_and_check(f, f->ed, f->ed_der, f->ed_der_len, f->p256_der, f->p256_der_len,
		       f->other_der, f->other_der_len);
	assert_int_equal(f->m->sigs[0].sig_len, 64);
}

/* AVS 1.1: a component's explicit signer is kept; only empty ones are
 * filled; other keys (P-384, X25519) are refused */
static void test_avs11_manifest_sign_signers_and_key_types(void **state)
{
	struct fx *f = *state;
	uint8_t vendor[32], keyid[32];
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	vg_manifest *before = mdup(f->m);

	assert_non_null(p384);
	assert_non_null(x25519);
	assert_int_equal(vg_manifest_sign(f->m, p384), VG_ERR_UNSUPPORTED);
	assert_int_equal(vg_manifest_sign(f->m, x25519), VG_ERR_UNSUPPORTED);
	assert_memory_equal(f->m, before, sizeof *before); /* untouched */

	memset(vendor, 0x5a, sizeof vendor);
	memcpy(f->m->c[1].signer, vendor, 32);
	assert_int_equal(vg_manifest_sign(f->m, f->p256), VG_OK);
	assert_int_equal(vg_manifest_keyid(f->p256_der, f->p256_der_len, keyid), VG_OK);
	assert_memory_equal(f->m->c[0].signer, keyid, 32);
	assert_memory_equal(f->m->c[1].signer, vendor, 32);
	assert_int_equal(vg_manifest_verify(f->m, f->p256_der, f->p256_der_len), VG_OK);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(x25519);
	free(before);
}

/* AVS 1.1: nothing is signed that a device would read differently: a
 * manifest breaking a parser rule (non-ASCII text, half a platform, too
 * many components) is refused by sign, signed_bytes and to_json; and a
 * failed signing leaves the manifest as it was. */
static void test_avs11_manifest_sign_refuses_what_the_parser_would(void **state)
{
	struct fx *f = *state;
	vg_manifest *m = mdup(f->m), *before;
	EVP_PKEY *pub_only = NULL;
	const uint8_t *p;
	char *txt = NULL;
	size_t len = 0;

	strcpy(m->version, "2026\xff");
	assert_int_equal(vg_manifest_sign(m, f->p256), VG_ERR_INVALID);
	assert_int_equal(vg_manifest_signed_bytes(m, &txt, &len), VG_ERR_INVALID);
	assert_null(txt);
	assert_int_equal(vg_manifest_to_json(m, &txt, &len), VG_ERR_INVALID);
	assert_null(txt);
	memcpy(m, f->m, sizeof *m);
	m->model[0] = '\0'; /* oem without model */
	assert_int_equal(vg_manifest_sign(m, f->p256), VG_ERR_INVALID);
	memcpy(m, f->m, sizeof *m);
	m->n = VG_MANIFEST_MAX_COMPONENTS + 1;
	assert_int_equal(vg_manifest_sign(m, f->p256), VG_ERR_INVALID);
	memcpy(m, f->m, sizeof *m);
	strcpy(m->c[1].name, m->c[0].name);
	assert_int_equal(vg_manifest_sign(m, f->p256), VG_ERR_INVALID);

	/* A key that cannot sign: the manifest and its signature unchanged. */
	memcpy(m, f->m, sizeof *m);
	assert_int_equal(vg_manifest_sign(m, f->other), VG_OK);
	before = mdup(m);
	p = f->p256_der;
	pub_only = d2i_PUBKEY(NULL, &p, (long)f->p256_der_len);
	assert_non_null(pub_only);
	assert_int_not_equal(vg_manifest_sign(m, pub_only), VG_OK);
	assert_memory_equal(m, before, sizeof *m);
	assert_int_equal(vg_manifest_verify(m, f->other_der, f->other_der_len), VG_OK);
	EVP_PKEY_free(pub_only);
	free(before);
	free(m);
}

/* AVS 1.1: signing again replaces the signature; signing with another key
 * drops the first key's signature (header contract) */
static void test_avs11_manifest_resign(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vg_manifest_sign(f->m, f->p256), VG_OK);
	assert_int_equal(vg_manifest_sign(f->m, f->p256), VG_OK);
	assert_int_equal(f->m->n_sigs, 1);
	assert_int_equal(vg_manifest_verify(f->m, f->p256_der, f->p256_der_len), VG_OK);
	assert_int_equal(vg_manifest_sign(f->m, f->ed), VG_OK);
	assert_int_equal(f->m->n_sigs, 1);
	assert_int_equal(vg_manifest_verify(f->m, f->ed_der, f->ed_der_len), VG_OK);
	assert_int_equal(vg_manifest_verify(f->m, f->p256_der, f->p256_der_len),
			 VG_ERR_VERIFY_FAILED);
}

/* AVS 1.1: changing anything the manifest says breaks the signature */
static void test_avs11_manifest_tamper_breaks_signature(void **state)
{
	struct fx *f = *state;
	enum { N_CASES = 16 };

	assert_int_equal(vg_manifest_sign(f->m, f->p256), VG_OK);
	for (int i = 0; i < N_CASES; i++) {
		vg_manifest *t = mdup(f->m);
		switch (i) {
		case 0:
			t->c[0].digest[0] ^= 0x01;
			break;
		case 1:
			t->c[0].digest[31] ^= 0x80;
			break;
		case 2:
			t->c[1].digest[17] ^= 0x10;
			break;
		case 3:
			t->version[5] ^= 0x01;
			break; /* "2026.01.0" */
		case 4:
			t->security_version += 1;
			break;
		case 5:
			t->security_version -= 1;
			break;
		case 6:
			t->c[0].path[5] ^= 0x01;
			break; /* "/usr/cin/vgt-app" */
		case 7:
			t->c[1].path[1] = 'B';
			break;
		case 8:
			t->c[0].name[0] ^= 0x01;
			break;
		case 9:
			t->c[0].version[0] ^= 0x01;
			break;
		case 10:
			t->c[0].size += 1;
			break;
		case 11:
			t->c[1].block_size = 8192;
			break;
		case 12:
			t->c[1].signer[3] ^= 0x01;
			break;
		case 13:
			t->oem[0] ^= 0x01;
			break;
		case 14:
			t->sigs[0].sig[t->sigs[0].sig_len - 1] ^= 0x01;
			break;
		case 15:
			t->c[1].kind = VG_DIGEST_SHA256;
			break;
		default:
			fail();
		}
		if (vg_manifest_verify(t, f->p256_der, f->p256_der_len) != VG_ERR_VERIFY_FAILED)
			fail_msg("tamper case %d still verifies", i);
		free(t);
	}
	/* the untouched one still does (the cases above prove something) */
	assert_int_equal(vg_manifest_verify(f->m, f->p256_der, f->p256_der_len), VG_OK);
}

/* The position of the value string of the first "key" in a JSON text. */
static char *value_of(char *txt, const char *key)
{
	char *p = strstr(txt, key);

	assert_non_null(p);
	p += strlen(key);
	while (*p == ' ' || *p == ':')
		p++;
	assert_true(*p == '"');
	return p + 1;
}

/* AVS 1.1: a one-character edit of the file (a digest, the security
 * version) still parses but no longer verifies */
static void test_avs11_manifest_file_edit_breaks_signature(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = {"\"sha256\"", "\"root\"", "\"path\"", "\"signer\""};
	vg_manifest *t = calloc(1, sizeof *t);
	char why[VG_MANIFEST_WHY_LEN], *txt = NULL;
	size_t len = 0;

	assert_non_null(t);
	assert_int_equal(vg_manifest_sign(f->m, f->ed), VG_OK);
	assert_int_equal(vg_manifest_to_json(f->m, &txt, &len), VG_OK);
	assert_int_equal(vg_manifest_parse((uint8_t *)txt, len, t, why), VG_OK);
	assert_int_equal(vg_manifest_verify(t, f->ed_der, f->ed_der_len), VG_OK);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char *v = value_of(txt, keys[i]) + 3, old = *v;
		*v = old == 'a' ? 'b' : old == '/' ? 'x' : 'a';
		if (vg_manifest_parse((uint8_t *)txt, len, t, why) != VG_OK)
			fail_msg("edit of %s: %s", keys[i], why);
		assert_int_equal(vg_manifest_verify(t, f->ed_der, f->ed_der_len),
				 VG_ERR_VERIFY_FAILED);
		*v = old;
	}
	{
		char *v = strstr(txt, "\"security_version\": 3");
		assert_non_null(v);
		v[strlen("\"security_version\": ")] = '4';
		assert_int_equal(vg_manifest_parse((uint8_t *)txt, len, t, why), VG_OK);
		assert_int_equal(t->security_version, 4);
		assert_int_equal(vg_manifest_verify(t, f->ed_der, f->ed_der_len),
				 VG_ERR_VERIFY_FAILED);
	}
	free(txt);
	free(t);
}

/* AVS 1.1: only a signature labelled with the verifying key's ID is used;
 * a valid signature relabelled, or another key's signature given this
 * key's ID, does not verify; the order of signatures does not matter */
static void test_avs11_manifest_keyid_selects_signature(void **state)
{
	struct fx *f = *state;
	vg_manifest *a, *b, *t;

	assert_int_equal(vg_manifest_sign(f->m, f->p256), VG_OK);
	a = mdup(f->m);
	b = mdup(f->m);
	/* signers are now filled in: the bytes B signs are the ones A signed */
	assert_int_equal(vg_manifest_sign(b, f->other), VG_OK);

	/* both signatures, the other key's first: each key finds its own */
	t = mdup(a);
	t->n_sigs = 2;
	t->sigs[0] = b->sigs[0];
	t->sigs[1] = a->sigs[0];
	assert_int_equal(vg_manifest_verify(t, f->p256_der, f->p256_der_len), VG_OK);
	assert_int_equal(vg_manifest_verify(t, f->other_der, f->other_der_len), VG_OK);
	assert_int_equal(vg_manifest_verify(t, f->ed_der, f->ed_der_len), VG_ERR_VERIFY_FAILED);
	free(roundtrip(t));

	/* a valid signature with another keyid is not used */
	t->n_sigs = 1;
	t->sigs[0] = a->sigs[0];
	t->sigs[0].keyid[0] ^= 0x01;
	assert_int_equal(vg_manifest_verify(t, f->p256_der, f->p256_der_len), VG_ERR_VERIFY_FAILED);

	/* the other key's signature labelled as P-256's does not verify */
	t->sigs[0] = b->sigs[0];
	memcpy(t->sigs[0].keyid, a->sigs[0].keyid, 32);
	assert_int_equal(vg_manifest_verify(t, f->p256_der, f->p256_der_len), VG_ERR_VERIFY_FAILED);
	assert_int_equal(vg_manifest_verify(t, f->other_der, f->other_der_len),
			 VG_ERR_VERIFY_FAILED);

	/* no signatures at all, and garbage for a key */
	t->n_sigs = 0;
	assert_int_equal(vg_manifest_verify(t, f->p256_der, f->p256_der_len), VG_ERR_VERIFY_FAILED);
	assert_int_equal(vg_manifest_verify(a, (const uint8_t *)"not a key", 9),
			 VG_ERR_VERIFY_FAILED);
	assert_int_equal(vg_manifest_verify(a, f->p256_der, f->p256_der_len - 1),
			 VG_ERR_VERIFY_FAILED);
	free(a);
	free(b);
	free(t);
}

/* ---- measuring the platform against the manifest (SFR 4.2.5) ---- */

/* SFR 4.2.5: a staging tree that matches has no failures */
static void test_sfr425_manifest_measure_all_match(void **state)
{
	struct fx *f = *state;
	vg_component_result res[VG_MANIFEST_MAX_COMPONENTS];
	vg_manifest *r;

	memset(res, 0xee, sizeof res);
	assert_int_equal(vg_manifest_measure(f->m, f->root, res), 0);
	for (size_t i = 0; i < f->m->n; i++) {
		assert_int_equal(res[i].rc, VG_OK);
		assert_memory_equal(res[i].measured, f->m->c[i].digest, 32);
	}
	/* the same after signing and reading the file back (what the device does) */
	assert_int_equal(vg_manifest_sign(f->m, f->p256), VG_OK);
	r = roundtrip(f->m);
	assert_int_equal(vg_manifest_measure(r, f->root, res), 0);
	free(r);
}

/* SFR 4.2.5: one byte changed (same size) in either component is exactly
 * one failure, VG_ERR_INTEGRITY, with a reason naming its path */
static void test_sfr425_manifest_measure_detects_change(void **state)
{
	struct fx *f = *state;
	vg_component_result res[VG_MANIFEST_MAX_COMPONENTS];
	uint8_t byte;

	/* the SHA-256 component, one byte in the middle */
	{
		uint8_t *b;
		size_t n;
		assert_int_equal(vgt_read(f->app, &b, &n), 0);
		byte = b[2500] ^ 0x04;
		free(b);
	}
	assert_int_equal(vgt_pwrite(f->app, 2500, &byte, 1), 0);
	assert_int_equal(vg_manifest_measure(f->m, f->root, res), 1);
	assert_int_equal(res[0].rc, VG_ERR_INTEGRITY);
	assert_non_null(strstr(res[0].why, APP_PATH));
	assert_memory_not_equal(res[0].measured, f->m->c[0].digest, 32);
	assert_false(is_zero(res[0].measured, 32));
	assert_int_equal(res[1].rc, VG_OK);
	byte ^= 0x04;
	assert_int_equal(vgt_pwrite(f->app, 2500, &byte, 1), 0);
	assert_int_equal(vg_manifest_measure(f->m, f->root, res), 0);

	/* the Merkle component, the last byte of the short last block */
	{
		uint8_t *b;
		size_t n;
		assert_int_equal(vgt_read(f->img, &b, &n), 0);
		byte = b[IMG_SIZE - 1] ^ 0x80;
		free(b);
	}
	assert_int_equal(vgt_pwrite(f->img, IMG_SIZE - 1, &byte, 1), 0);
	assert_int_equal(vg_manifest_measure(f->m, f->root, res), 1);
	assert_int_equal(res[0].rc, VG_OK);
	assert_int_equal(res[1].rc, VG_ERR_INTEGRITY);
	assert_non_null(strstr(res[1].why, IMG_PATH));
	assert_memory_not_equal(res[1].measured, f->m->c[1].digest, 32);
}

/* SFR 4.2.5: a missing component is VG_ERR_NOT_FOUND, a grown one
 * VG_ERR_INTEGRITY; each a failure with a reason */
static void test_sfr425_manifest_measure_missing_and_grown(void **state)
{
	struct fx *f = *state;
	vg_component_result res[VG_MANIFEST_MAX_COMPONENTS];
	int fd;

	assert_int_equal(unlink(f->app), 0);
	assert_int_equal(vg_manifest_measure(f->m, f->root, res), 1);
	assert_int_equal(res[0].rc, VG_ERR_NOT_FOUND);
	assert_true(res[0].why[0] != '\0');
	assert_true(is_zero(res[0].measured, 32));
	assert_int_equal(res[1].rc, VG_OK);

	fd = open(f->img, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(vg_manifest_measure(f->m, f->root, res), 2);
	assert_int_equal(res[0].rc, VG_ERR_NOT_FOUND);
	assert_int_equal(res[1].rc, VG_ERR_INTEGRITY);
	assert_non_null(strstr(res[1].why, IMG_PATH));
}

/* SFR 4.2.5: paths are device paths; the root prefix selects the staging
 * tree, without it (NULL or "") the host's own paths are measured */
static void test_sfr425_manifest_measure_root_prefix(void **state)
{
	struct fx *f = *state;
	vg_component_result res[VG_MANIFEST_MAX_COMPONENTS];
	char other[VGT_PATH];

	assert_false(vgt_exists(APP_PATH));
	assert_false(vgt_exists(IMG_PATH));
	assert_int_equal(vg_manifest_measure(f->m, NULL, res), 2);
	assert_int_equal(res[0].rc, VG_ERR_NOT_FOUND);
	assert_int_equal(res[1].rc, VG_ERR_NOT_FOUND);
	assert_int_equal(vg_manifest_measure(f->m, "", res), 2);
	/* another staging tree does not have them either */
	vgt_path(other, f->dir, "other");
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(vg_manifest_measure(f->m, other, res), 2);
	assert_int_equal(vg_manifest_measure(f->m, f->root, res), 0);
}

/* ---- the parser (SFR 4.2.5 / AVS 1.1: hostile files are refused) ---- */

#define HEXA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEXB "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define HEXS "5151515151515151515151515151515151515151515151515151515151515151"
#define HEXK "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b"

#define COMP0                                                                         \
	"{\"name\":\"bootloader\",\"version\":\"1.0\",\"path\":\"/boot/u-boot.bin\"," \
	"\"size\":1234,\"sha256\":\"" HEXA "\",\"signer\":\"" HEXS "\"}"
#define COMP1                                                                         \
	"{\"name\":\"rootfs\",\"version\":\"2026.11.0\",\"path\":\"/dev/mmcblk0p2\"," \
	"\"size\":1048576,\"merkle\":{\"block_size\":4096,\"root\":\"" HEXB "\"},"    \
	"\"signer\":\"" HEXS "\"}"
#define COMPS "\"components\":[" COMP0 "," COMP1 "]"
#define SIG1  "{\"keyid\":\"" HEXK "\",\"sig\":\"abcdef0123\"}"
#define SIGS  "\"signatures\":[" SIG1 "]"

static const char base_json[] =
    "{\"signed\":{\"_type\":\"voxguard-platform-manifest\",\"format\":1,"
    "\"platform\":{\"oem\":\"Acme\",\"model\":\"Speaker 2\",\"hw_rev\":\"B1\"},"
    "\"version\":\"2026.11.0\",\"security_version\":3," COMPS "}," SIGS "}";

/* Its canonical signed bytes, worked out by hand (keys sorted by bytes). */
static const char base_signed[] =
    "{\"_type\":\"voxguard-platform-manifest\",\"components\":["
    "{\"name\":\"bootloader\",\"path\":\"/boot/u-boot.bin\",\"sha256\":\"" HEXA "\","
    "\"signer\":\"" HEXS "\",\"size\":1234,\"version\":\"1.0\"},"
    "{\"merkle\":{\"block_size\":4096,\"root\":\"" HEXB "\"},\"name\":\"rootfs\","
    "\"path\":\"/dev/mmcblk0p2\",\"signer\":\"" HEXS "\",\"size\":1048576,"
    "\"version\":\"2026.11.0\"}],\"format\":1,"
    "\"platform\":{\"hw_rev\":\"B1\",\"model\":\"Speaker 2\",\"oem\":\"Acme\"},"
    "\"security_version\":3,\"version\":\"2026.11.0\"}";

static vg_rc parse_str(const char *s, size_t len, vg_manifest *m, char *why)
{
	return vg_manifest_parse((const uint8_t *)s, len, m, why);
}

/* SFR 4.2.5: the documented shape parses into the fields it says, and its
 * signed bytes are the canonical JSON worked out by hand */
static void test_sfr425_manifest_parse_valid(void **state)
{
	vg_manifest *m = calloc(1, sizeof *m), *r;
	char why[VG_MANIFEST_WHY_LEN], *s;
	size_t len;
	static const uint8_t sig[] = {0xab, 0xcd, 0xef, 0x01, 0x23};

	(void)state;
	assert_non_null(m);
	if (parse_str(base_json, strlen(base_json), m, why) != VG_OK)
		fail_msg("base: %s", why);
	assert_string_equal(m->oem, "Acme");
	assert_string_equal(m->model, "Speaker 2");
	assert_string_equal(m->hw_rev, "B1");
	assert_string_equal(m->version, "2026.11.0");
	assert_int_equal(m->security_version, 3);
	assert_int_equal(m->n, 2);
	assert_string_equal(m->c[0].name, "bootloader");
	assert_string_equal(m->c[0].version, "1.0");
	assert_string_equal(m->c[0].path, "/boot/u-boot.bin");
	assert_int_equal(m->c[0].size, 1234);
	assert_int_equal(m->c[0].kind, VG_DIGEST_SHA256);
	assert_int_equal(m->c[0].digest[0], 0x00);
	assert_int_equal(m->c[0].digest[10], 0xaa);
	assert_int_equal(m->c[0].signer[31], 0x51);
	assert_int_equal(m->c[1].kind, VG_DIGEST_MERKLE);
	assert_int_equal(m->c[1].block_size, 4096);
	assert_int_equal(m->c[1].size, 1048576);
	assert_int_equal(m->c[1].digest[0], 0xff);
	assert_int_equal(m->n_sigs, 1);
	assert_int_equal(m->sigs[0].keyid[0], 0x4b);
	assert_int_equal(m->sigs[0].sig_len, sizeof sig);
	assert_memory_equal(m->sigs[0].sig, sig, sizeof sig);

	s = signed_bytes(m, &len);
	assert_int_equal(len, strlen(base_signed));
	assert_string_equal(s, base_signed);
	free(s);
	r = roundtrip(m);
	free(r);
	free(m);
}

/* SFR 4.2.5: key order, whitespace, a missing "platform" and an empty
 * signature list are fine; the signed bytes do not depend on the layout */
static void test_sfr425_manifest_parse_layout_free(void **state)
{
	vg_manifest *m = calloc(1, sizeof *m), *m2 = calloc(1, sizeof *m2);
	char why[VG_MANIFEST_WHY_LEN], *a, *b, *t, *t2;
	size_t al, bl;
	static const char reordered[] =
	    "\n{ \"signatures\" : [ " SIG1 " ] ,\r\n\t\"signed\" : {\"components\":[" COMP0
	    "," COMP1 "],  \"security_version\":3, \"version\":\"2026.11.0\","
	    "\"platform\":{\"hw_rev\":\"B1\",\"model\":\"Speaker 2\",\"oem\":\"Acme\"},"
	    "\"format\":1,\"_type\":\"voxguard-platform-manifest\"} }\n";

	(void)state;
	assert_non_null(m);
	assert_non_null(m2);
	assert_int_equal(parse_str(base_json, strlen(base_json), m, why), VG_OK);
	if (parse_str(reordered, strlen(reordered), m2, why) != VG_OK)
		fail_msg("reordered: %s", why);
	a = signed_bytes(m, &al);
	b = signed_bytes(m2, &bl);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);

	/* no platform, no signatures */
	t = replace1(base_json,
		     "\"platform\":{\"oem\":\"Acme\",\"model\":\"Speaker 2\",\"hw_rev\":\"B1\"},",
		     "");
	t2 = replace1(t, SIGS, "\"signatures\":[]");
	if (parse_str(t2, strlen(t2), m, why) != VG_OK)
		fail_msg("no platform: %s", why);
	assert_string_equal(m->oem, "");
	assert_int_equal(m->n_sigs, 0);
	a = signed_bytes(m, &al);
	assert_null(strstr(a, "\"platform\""));
	assert_non_null(strstr(a, "\"components\""));
	free(a);
	free(roundtrip(m));
	free(t);
	free(t2);
	free(m);
	free(m2);
}

struct bad_case {
	const char *from, *to;
	vg_rc rc;
};

#define LONG_SIG_HEX                                                       \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"00"

static const struct bad_case bad_cases[] = {
    /* structure */
    {"{\"signed\":", "{\"x\":1,\"signed\":", VG_ERR_INVALID},
    {"\"format\":1,", "\"format\":1,\"extra\":true,", VG_ERR_INVALID},
    {"\"name\":\"bootloader\",", "\"name\":\"bootloader\",\"note\":\"x\",", VG_ERR_INVALID},
    {"\"oem\":\"Acme\"", "\"oem\":\"Acme\",\"x\":\"y\"", VG_ERR_INVALID},
    {"\"block_size\":4096,", "\"block_size\":4096,\"salt\":\"00\",", VG_ERR_INVALID},
    {"\"sig\":\"abcdef0123\"", "\"sig\":\"abcdef0123\",\"x\":1", VG_ERR_INVALID},
    {"," SIGS, "", VG_ERR_INVALID},
    {SIGS, "\"signatures\":{}", VG_ERR_INVALID},
    {SIGS, "\"signatures\":[[]]", VG_ERR_INVALID},
    {COMPS, "\"components\":[]", VG_ERR_INVALID},
    {COMPS, "\"components\":{}", VG_ERR_INVALID},
    {COMPS, "\"components\":[" COMP0 ",1]", VG_ERR_INVALID},
    {"," COMPS, "", VG_ERR_INVALID},
    /* type and format */
    {"\"format\":1", "\"format\":2", VG_ERR_UNSUPPORTED},
    {"\"format\":1", "\"format\":0", VG_ERR_UNSUPPORTED},
    {"\"format\":1", "\"format\":\"1\"", VG_ERR_INVALID},
    {"\"format\":1,", "", VG_ERR_INVALID},
    {"platform-manifest\"", "platform-manifesto\"", VG_ERR_INVALID},
    {"\"voxguard-platform-manifest\"", "\"root\"", VG_ERR_INVALID},
    {"\"_type\":\"voxguard-platform-manifest\",", "", VG_ERR_INVALID},
    /* duplicate keys, duplicate names */
    {"\"version\":\"2026.11.0\",\"security_version\"",
     "\"version\":\"2026.11.0\",\"version\":\"2026.11.0\",\"security_version\"", VG_ERR_INVALID},
    {"\"size\":1234,", "\"size\":1234,\"size\":1234,", VG_ERR_INVALID},
    {"\"signatures\":[", "\"signatures\":[],\"signatures\":[", VG_ERR_INVALID},
    {"\"name\":\"rootfs\"", "\"name\":\"bootloader\"", VG_ERR_INVALID},
    /* paths */
    {"\"/boot/u-boot.bin\"", "\"boot/u-boot.bin\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"/boot/../etc/shadow\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"/boot//u-boot.bin\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"/boot/./u-boot.bin\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"/boot/..\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"/boot/\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"/\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"\"", VG_ERR_INVALID},
    {"\"/boot/u-boot.bin\"", "\"/boot/u-boot\\\\x.bin\"", VG_ERR_INVALID},
    /* digests */
    {"\"sha256\":\"" HEXA,
     "\"sha256\":\""
     "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
     VG_ERR_INVALID},
    {"\"sha256\":\"00", "\"sha256\":\"0", VG_ERR_INVALID},
    {"\"sha256\":\"00", "\"sha256\":\"000", VG_ERR_INVALID},
    {"\"sha256\":\"00", "\"sha256\":\"0g", VG_ERR_INVALID},
    {"\"sha256\":\"" HEXA "\"", "\"sha256\":1", VG_ERR_INVALID},
    {"\"root\":\"ff", "\"root\":\"FF", VG_ERR_INVALID},
    {"\"signer\":\"51", "\"signer\":\"5", VG_ERR_INVALID},
    {"\"keyid\":\"4b", "\"keyid\":\"4B", VG_ERR_INVALID},
    {"\"sha256\":\"" HEXA "\",", "", VG_ERR_INVALID},
    {",\"signer\":\"" HEXS "\"}", "}", VG_ERR_INVALID},
    {"\"sha256\":\"" HEXA "\",",
     "\"sha256\":\"" HEXA "\",\"merkle\":{\"block_size\":4096,\"root\":\"" HEXB "\"},",
     VG_ERR_INVALID},
    /* sizes */
    {"\"size\":1234", "\"size\":-1", VG_ERR_INVALID},
    {"\"size\":1234", "\"size\":\"1234\"", VG_ERR_INVALID},
    {"\"size\":1234", "\"size\":1234.0", VG_ERR_INVALID},
    {"\"size\":1234", "\"size\":18446744073709551615", VG_ERR_INVALID},
    {"\"size\":1234,", "", VG_ERR_INVALID},
    {"\"security_version\":3", "\"security_version\":-3", VG_ERR_INVALID},
    {"\"security_version\":3", "\"security_version\":\"3\"", VG_ERR_INVALID},
    {"\"security_version\":3,", "", VG_ERR_INVALID},
    /* Merkle parameters */
    {"\"block_size\":4096", "\"block_size\":1000", VG_ERR_INVALID},
    {"\"block_size\":4096", "\"block_size\":0", VG_ERR_INVALID},
    {"\"block_size\":4096", "\"block_size\":2048", VG_ERR_INVALID},
    {"\"block_size\":4096", "\"block_size\":6144", VG_ERR_INVALID},
    {"\"block_size\":4096", "\"block_size\":33554432", VG_ERR_INVALID},
    {"\"block_size\":4096", "\"block_size\":-4096", VG_ERR_INVALID},
    {"\"size\":1048576", "\"size\":17179869185", VG_ERR_INVALID}, /* 2^22 + 1 leaves */
    {"\"merkle\":{\"block_size\":4096,", "\"merkle\":{", VG_ERR_INVALID},
    {"\"merkle\":{\"block_size\":4096,\"root\":\"" HEXB "\"}", "\"merkle\":[]", VG_ERR_INVALID},
    /* strings */
    {"\"name\":\"bootloader\"", "\"name\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"", VG_ERR_INVALID},
    {"\"name\":\"bootloader\"",
     "\"name\":\"bootl\xc3\xb6"
     "ader\"",
     VG_ERR_INVALID},
    {"\"name\":\"bootloader\"", "\"name\":\"bootl\\u00f6ader\"", VG_ERR_INVALID},
    {"\"name\":\"bootloader\"", "\"name\":\"boot\\tloader\"", VG_ERR_INVALID},
    {"\"name\":\"bootloader\"", "\"name\":\"boot\\\"loader\"", VG_ERR_INVALID},
    {"\"name\":\"bootloader\"", "\"name\":\"boot\\u0000loader\"", VG_ERR_INVALID},
    {"\"name\":\"bootloader\"", "\"name\":\"boot\xffloader\"", VG_ERR_INVALID},
    {"\"name\":\"bootloader\"", "\"name\":\"\"", VG_ERR_INVALID},
    {"\"name\":\"bootloader\"", "\"name\":7", VG_ERR_INVALID},
    {"\"version\":\"1.0\"", "\"version\":\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\"", VG_ERR_INVALID},
    {"\"version\":\"2026.11.0\",\"security", "\"version\":\"\",\"security", VG_ERR_INVALID},
    {"\"oem\":\"Acme\",", "", VG_ERR_INVALID},
    {"\"hw_rev\":\"B1\"", "\"hw_rev\":\"\"", VG_ERR_INVALID},
    {"{\"oem\":\"Acme\",\"model\":\"Speaker 2\",\"hw_rev\":\"B1\"}", "[\"Acme\"]", VG_ERR_INVALID},
    /* signatures */
    {"\"sig\":\"abcdef0123\"", "\"sig\":\"xyz\"", VG_ERR_INVALID},
    {"\"sig\":\"abcdef0123\"", "\"sig\":\"abcdef012\"", VG_ERR_INVALID},
    {"\"sig\":\"abcdef0123\"", "\"sig\":\"\"", VG_ERR_INVALID},
    {"\"sig\":\"abcdef0123\"", "\"sig\":\"" LONG_SIG_HEX "\"", VG_ERR_INVALID},
    {"\"sig\":\"abcdef0123\"", "\"sig\":12", VG_ERR_INVALID},
    {",\"sig\":\"abcdef0123\"", "", VG_ERR_INVALID},
    {SIGS,
     "\"signatures\":[" SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1
     "]",
     VG_ERR_INVALID},
};

/* Parses s and checks the refusal: rc, a reason, nothing left behind. */
static void expect_refused(const char *what, const char *s, size_t len, vg_rc want)
{
	vg_manifest *m = malloc(sizeof *m), *zero = calloc(1, sizeof *zero);
	char why[VG_MANIFEST_WHY_LEN];
	vg_rc rc;

	assert_non_null(m);
	assert_non_null(zero);
	memset(m, 0xa5, sizeof *m);
	memset(why, 0, sizeof why);
	rc = parse_str(s, len, m, why);
	if (rc != want)
		fail_msg("%s: rc %d (%s), want %d; why: %s", what, rc, vg_rc_str(rc), want, why);
	if (!why[0] || !memchr(why, 0, sizeof why))
		fail_msg("%s: refused without a reason", what);
	if (getenv("VGT_VERBOSE"))
		print_message("%s: %s\n", what, why);
	if (memcmp(m, zero, sizeof *m) != 0)
		fail_msg("%s: the manifest is not zeroed after the refusal", what);
	free(m);
	free(zero);
}

/* SFR 4.2.5: every deviation from the documented shape is refused:
 * unknown or duplicate keys, wrong types, bad hex, bad paths, bad sizes,
 * bad Merkle parameters, bad strings, bad or too many signatures */
static void test_sfr425_manifest_parse_refuses_deviations(void **state)
{
	vg_manifest *m = calloc(1, sizeof *m);
	char why[VG_MANIFEST_WHY_LEN];

	(void)state;
	assert_non_null(m);
	/* the template itself is fine, and so are the boundary values */
	assert_int_equal(parse_str(base_json, strlen(base_json), m, why), VG_OK);
	{
		static const struct bad_case fine[] = {
		    {"\"name\":\"bootloader\"", "\"name\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"",
		     VG_OK},
		    {"\"block_size\":4096", "\"block_size\":16777216", VG_OK},
		    {"\"size\":1234", "\"size\":0", VG_OK},
		    {"\"/boot/u-boot.bin\"", "\"/boot/u-boot.bin.d/.hidden/x..y\"", VG_OK},
		    {"\"/boot/u-boot.bin\"", "\"/boot/u-boot\\/x.bin\"", VG_OK}, /* \/ is '/' */
		    {SIGS,
		     "\"signatures\":[" SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1
		     "," SIG1 "]",
		     VG_OK},
		};
		for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
			char *t = replace1(base_json, fine[i].from, fine[i].to);
			if (parse_str(t, strlen(t), m, why) != VG_OK)
				fail_msg("boundary case %zu (%s) refused: %s", i, fine[i].to, why);
			free(t);
		}
	}
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		char *t = replace1(base_json, bad_cases[i].from, bad_cases[i].to), what[160];
		(void)snprintf(what, sizeof what, "case %zu (%.100s)", i, bad_cases[i].to);
		expect_refused(what, t, strlen(t), bad_cases[i].rc);
		free(t);
	}
	free(m);
}

/* SFR 4.2.5: not JSON, not an object, trailing bytes, a truncated file */
static void test_sfr425_manifest_parse_refuses_non_manifests(void **state)
{
	static const char *const texts[] = {
	    "not json",
	    "[]",
	    "["
	    "{\"signed\":{}}"
	    "]",
	    "\"signed\"",
	    "null",
	    "{}",
	    "{\"signatures\":[]}",
	    "{\"signed\":{},\"signatures\":[]}",
	    "{\"signed\":[],\"signatures\":[]}",
	    "{\"signed\":null,\"signatures\":[]}",
	};
	char *t;

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		expect_refused(texts[i], texts[i], strlen(texts[i]), VG_ERR_INVALID);
	expect_refused("empty", "", 0, VG_ERR_INVALID);
	/* the whole valid manifest in a top-level array */
	t = malloc(strlen(base_json) + 3);
	assert_non_null(t);
	(void)snprintf(t, strlen(base_json) + 3, "[%s]", base_json);
	expect_refused("array", t, strlen(t), VG_ERR_INVALID);
	free(t);
	/* truncated by one byte, and with trailing bytes */
	expect_refused("truncated", base_json, strlen(base_json) - 1, VG_ERR_INVALID);
	t = malloc(strlen(base_json) + 4);
	assert_non_null(t);
	(void)snprintf(t, strlen(base_json) + 4, "%s {}", base_json);
	expect_refused("trailing", t, strlen(t), VG_ERR_INVALID);
	/* the length is trusted, not a NUL: a NUL inside is refused */
	t[strlen(base_json)] = '\0';
	expect_refused("NUL", t, strlen(base_json) + 3, VG_ERR_INVALID);
	free(t);
}

/* SFR 4.2.5: component and signature counts are bounded: 16 components
 * and 8 signatures parse, 17 and 9 do not */
static void test_sfr425_manifest_parse_count_limits(void **state)
{
	vg_manifest *m = calloc(1, sizeof *m);
	char why[VG_MANIFEST_WHY_LEN];
	size_t cap = 64 * 1024;
	char *t = malloc(cap);

	(void)state;
	assert_non_null(m);
	assert_non_null(t);
	for (size_t n = VG_MANIFEST_MAX_COMPONENTS; n <= VG_MANIFEST_MAX_COMPONENTS + 1; n++) {
		size_t o = (size_t)snprintf(t, cap,
					    "{\"signed\":{\"_type\":\"voxguard-platform-manifest\","
					    "\"format\":1,\"version\":\"1\",\"security_version\":0,"
					    "\"components\":[");
		for (size_t i = 0; i < n; i++)
			o += (size_t)snprintf(t + o, cap - o,
					      "%s{\"name\":\"c%zu\",\"version\":\"1\",\"path\":"
					      "\"/c/%zu\",\"size\":%zu,\"sha256\":\"" HEXA
					      "\",\"signer\":\"" HEXS "\"}",
					      i ? "," : "", i, i, i);
		o += (size_t)snprintf(t + o, cap - o, "]},\"signatures\":[]}");
		assert_true(o < cap);
		if (n == VG_MANIFEST_MAX_COMPONENTS) {
			if (parse_str(t, o, m, why) != VG_OK)
				fail_msg("%zu components: %s", n, why);
			assert_int_equal(m->n, n);
			assert_int_equal(m->c[n - 1].size, n - 1);
			free(roundtrip(m));
		} else {
			expect_refused("17 components", t, o, VG_ERR_INVALID);
		}
	}
	/* 8 and 9 signatures: in the strictness table; here the 8 round trip */
	{
		char *s8 = replace1(base_json, SIGS,
				    "\"signatures\":[" SIG1 "," SIG1 "," SIG1 "," SIG1 "," SIG1
				    "," SIG1 "," SIG1 "," SIG1 "]");
		assert_int_equal(parse_str(s8, strlen(s8), m, why), VG_OK);
		assert_int_equal(m->n_sigs, VG_MANIFEST_MAX_SIGS);
		free(roundtrip(m));
		free(s8);
	}
	free(t);
	free(m);
}

/* SFR 4.2.5: input over VG_MANIFEST_MAX_BYTES is refused before parsing,
 * even when it is valid JSON (padded with whitespace); at the limit it is
 * fine */
static void test_sfr425_manifest_parse_size_limit(void **state)
{
	vg_manifest *m = calloc(1, sizeof *m);
	char why[VG_MANIFEST_WHY_LEN];
	size_t bl = strlen(base_json);
	char *t = malloc(VG_MANIFEST_MAX_BYTES + 1);

	(void)state;
	assert_non_null(m);
	assert_non_null(t);
	memcpy(t, base_json, bl);
	memset(t + bl, ' ', VG_MANIFEST_MAX_BYTES + 1 - bl);
	if (parse_str(t, VG_MANIFEST_MAX_BYTES, m, why) != VG_OK)
		fail_msg("at the limit: %s", why);
	expect_refused("over the limit", t, VG_MANIFEST_MAX_BYTES + 1, VG_ERR_INVALID);
	free(t);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_avs11_canonjson_known_bytes),
	    cmocka_unit_test(test_avs11_canonjson_keys_sorted_by_bytes),
	    cmocka_unit_test(test_avs11_canonjson_strings_raw),
	    cmocka_unit_test(test_avs11_canonjson_integers),
	    cmocka_unit_test(test_avs11_canonjson_nested),
	    cmocka_unit_test(test_avs11_canonjson_refuses_reals),
	    cmocka_unit_test(test_avs11_canonjson_depth_limit),
	    cmocka_unit_test(test_sfr425_merkle_empty),
	    cmocka_unit_test(test_sfr425_merkle_one_block),
	    cmocka_unit_test(test_sfr425_merkle_tree_shape),
	    cmocka_unit_test(test_sfr425_merkle_block_size),
	    cmocka_unit_test(test_sfr425_merkle_file_matches_buffer),
	    cmocka_unit_test(test_sfr425_measure_sha256_matches),
	    cmocka_unit_test(test_sfr425_measure_sha256_wrong_size),
	    cmocka_unit_test(test_sfr425_measure_missing_and_not_a_file),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_add_measures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_add_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_sign_verify_p256, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_sign_verify_ed25519, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_sign_signers_and_key_types, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_sign_refuses_what_the_parser_would,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_resign, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_tamper_breaks_signature, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_file_edit_breaks_signature, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_manifest_keyid_selects_signature, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_manifest_measure_all_match, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_manifest_measure_detects_change, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_manifest_measure_missing_and_grown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_manifest_measure_root_prefix, setup,
					    teardown),
	    cmocka_unit_test(test_sfr425_manifest_parse_valid),
	    cmocka_unit_test(test_sfr425_manifest_parse_layout_free),
	    cmocka_unit_test(test_sfr425_manifest_parse_refuses_deviations),
	    cmocka_unit_test(test_sfr425_manifest_parse_refuses_non_manifests),
	    cmocka_unit_test(test_sfr425_manifest_parse_count_limits),
	    cmocka_unit_test(test_sfr425_manifest_parse_size_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
