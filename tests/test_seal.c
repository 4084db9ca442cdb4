/*
 * test_seal.c - the crypto boundary (src/crypto/seal.h): AES-256-GCM sealed
 * blobs, HKDF key derivation, HMAC and SHA-256.
 *
 * SFR 4.2.4 (secure storage) rests on these: a sealed blob opens only under
 * the key, kind, associated data and generation it was sealed with, and a
 * failed open gives VG_ERR_INTEGRITY and no plaintext at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/util.h"
#include "crypto/seal.h"

static const uint8_t key_a[VG_KEY_LEN] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t aad_a[] = "\x06u/1000\x04door";
#define AAD_A_LEN (sizeof aad_a - 1)
static const char msg_a[] = "the wifi password is hunter2, do not tell";
#define MSG_A_LEN (sizeof msg_a - 1)

static void hex2bin(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	assert_true(vg_hex_decode(hex, out, cap, len));
}

static uint8_t *seal_a(uint64_t gen, size_t *len)
{
	uint8_t *blob = NULL;

	assert_int_equal(vg_seal(key_a, VG_SEAL_RECORD, gen, aad_a, AAD_A_LEN,
				 (const uint8_t *)msg_a, MSG_A_LEN, &blob, len),
			 VG_OK);
	assert_non_null(blob);
	return blob;
}

/* Opens blob and asserts it fails with VG_ERR_INTEGRITY and no output. */
static void assert_unseal_fails(const uint8_t key[VG_KEY_LEN], vg_seal_kind kind,
				const uint8_t *aad, size_t aad_len, const uint8_t *blob, size_t len)
{
	uint8_t sentinel, *pt = &sentinel;
	size_t pt_len = 12345;
	uint64_t gen = 777;

	assert_int_equal(vg_unseal(key, kind, aad, aad_len, blob, len, &pt, &pt_len, &gen),
			 VG_ERR_INTEGRITY);
	assert_null(pt);
	assert_int_equal(pt_len, 0);
}

/* ---- sealing ---- */

/* SFR 4.2.4: a sealed value opens to exactly the plaintext, for sizes around
 * the AES block size, and reports the generation it was sealed at. */
static void test_seal_roundtrip(void **state)
{
	static const size_t sizes[] = {0, 1, 15, 16, 17, 255, 4096, 1u << 20};
	uint8_t *pt = malloc(1u << 20);

	(void)state;
	assert_non_null(pt);
	for (size_t i = 0; i < (1u << 20); i++)
		pt[i] = (uint8_t)(i * 131 + 7);
	for (size_t s = 0; s < VG_ARRAY_LEN(sizes); s++) {
		uint8_t *blob = NULL, *out = NULL;
		size_t blob_len = 0, out_len = 0;
		uint64_t gen = 0, want_gen = 0x0102030405060708ull + s;

		assert_int_equal(vg_seal(key_a, VG_SEAL_STATE, want_gen, aad_a, AAD_A_LEN, pt,
					 sizes[s], &blob, &blob_len),
				 VG_OK);
		assert_int_equal(blob_len, sizes[s] + VG_SEAL_OVERHEAD);
		assert_int_equal(vg_unseal(key_a, VG_SEAL_STATE, aad_a, AAD_A_LEN, blob, blob_len,
					   &out, &out_len, &gen),
				 VG_OK);
		assert_non_null(out);
		assert_int_equal(out_len, sizes[s]);
		if (sizes[s])
			assert_memory_equal(out, pt, sizes[s]);
		assert_true(gen == want_gen);
		vg_free(out, out_len);
		free(blob);
	}
	free(pt);
}

/* SFR 4.2.4: the blob is self-describing as documented (magic, version,
 * algorithm, kind, reserved, big-endian generation) and the plaintext does
 * not appear in it. */
static void test_seal_blob_layout(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(0x1122334455667788ull, &len);
	static const uint8_t hdr[VG_SEAL_HDR_LEN] = {'V',  'G',  'S',  1,    1,    VG_SEAL_RECORD,
						     0,    0,    0x11, 0x22, 0x33, 0x44,
						     0x55, 0x66, 0x77, 0x88};

	(void)state;
	assert_int_equal(len, MSG_A_LEN + VG_SEAL_OVERHEAD);
	assert_memory_equal(blob, hdr, VG_SEAL_HDR_LEN);
	assert_null(memmem(blob, len, msg_a, 8));
	assert_null(memmem(blob, len, "hunter2", 7));
	free(blob);
}

/* SFR 4.2.4: nonces are random: sealing the same value twice gives
 * different nonces and ciphertexts (no nonce reuse under one key). */
static void test_seal_nonce_is_fresh(void **state)
{
	size_t l1, l2;
	uint8_t *b1 = seal_a(5, &l1), *b2 = seal_a(5, &l2);

	(void)state;
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, VG_SEAL_HDR_LEN);
	assert_memory_not_equal(b1 + VG_SEAL_HDR_LEN, b2 + VG_SEAL_HDR_LEN, VG_SEAL_NONCE_LEN);
	assert_memory_not_equal(b1 + VG_SEAL_HDR_LEN + VG_SEAL_NONCE_LEN,
				b2 + VG_SEAL_HDR_LEN + VG_SEAL_NONCE_LEN, MSG_A_LEN);
	free(b1);
	free(b2);
}

/* SFR 4.2.4: every single-bit and whole-byte change anywhere in a sealed
 * blob (header, nonce, ciphertext, tag) fails with VG_ERR_INTEGRITY and
 * releases no plaintext. */
static void test_seal_every_byte_flip_fails(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(42, &len);

	(void)state;
	for (size_t i = 0; i < len; i++) {
		for (unsigned mask = 1; mask <= 0x100; mask <<= 1) {
			uint8_t x = mask == 0x100 ? 0xff : (uint8_t)mask;
			blob[i] ^= x;
			assert_unseal_fails(key_a, VG_SEAL_RECORD, aad_a, AAD_A_LEN, blob, len);
			blob[i] ^= x;
		}
	}
	/* The untouched blob still opens: the failures above were the flips. */
	{
		uint8_t *pt = NULL;
		size_t pt_len = 0;
		assert_int_equal(vg_unseal(key_a, VG_SEAL_RECORD, aad_a, AAD_A_LEN, blob, len, &pt,
					   &pt_len, NULL),
				 VG_OK);
		vg_free(pt, pt_len);
	}
	free(blob);
}

/* SFR 4.2.4: a value moved to another record fails to open (the AAD is
 * the record's identity): other AAD, a prefix or extension of it, none. */
static void test_seal_wrong_aad_fails(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(1, &len);
	uint8_t other[AAD_A_LEN + 1];

	(void)state;
	memcpy(other, aad_a, AAD_A_LEN);
	other[AAD_A_LEN - 1] ^= 1;
	assert_unseal_fails(key_a, VG_SEAL_RECORD, other, AAD_A_LEN, blob, len);
	assert_unseal_fails(key_a, VG_SEAL_RECORD, aad_a, AAD_A_LEN - 1, blob, len);
	memcpy(other, aad_a, AAD_A_LEN);
	other[AAD_A_LEN] = 0;
	assert_unseal_fails(key_a, VG_SEAL_RECORD, other, AAD_A_LEN + 1, blob, len);
	assert_unseal_fails(key_a, VG_SEAL_RECORD, NULL, 0, blob, len);
	free(blob);
}

/* SFR 4.2.4: a blob of one kind (record) cannot be opened as another
 * (key, state, user ciphertext), even with the right key and AAD. */
static void test_seal_wrong_kind_fails(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(1, &len);

	(void)state;
	assert_unseal_fails(key_a, VG_SEAL_KEY, aad_a, AAD_A_LEN, blob, len);
	assert_unseal_fails(key_a, VG_SEAL_STATE, aad_a, AAD_A_LEN, blob, len);
	assert_unseal_fails(key_a, VG_SEAL_USER, aad_a, AAD_A_LEN, blob, len);
	/* Relabelling the header's kind does not help either. */
	blob[5] = VG_SEAL_KEY;
	assert_unseal_fails(key_a, VG_SEAL_KEY, aad_a, AAD_A_LEN, blob, len);
	free(blob);
}

/* SFR 4.2.4: another key (one bit off) does not open the blob. */
static void test_seal_wrong_key_fails(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(1, &len), k[VG_KEY_LEN];

	(void)state;
	memcpy(k, key_a, sizeof k);
	k[31] ^= 0x80;
	assert_unseal_fails(k, VG_SEAL_RECORD, aad_a, AAD_A_LEN, blob, len);
	memset(k, 0, sizeof k);
	assert_unseal_fails(k, VG_SEAL_RECORD, aad_a, AAD_A_LEN, blob, len);
	free(blob);
}

/* SFR 4.2.4: a blob truncated to any length, or extended by a byte,
 * fails with VG_ERR_INTEGRITY. */
static void test_seal_truncated_fails(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(3, &len), *c;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		c = malloc(i ? i : 1);
		assert_non_null(c);
		memcpy(c, blob, i);
		assert_unseal_fails(key_a, VG_SEAL_RECORD, aad_a, AAD_A_LEN, c, i);
		free(c);
	}
	c = malloc(len + 1);
	assert_non_null(c);
	memcpy(c, blob, len);
	c[len] = 0;
	assert_unseal_fails(key_a, VG_SEAL_RECORD, aad_a, AAD_A_LEN, c, len + 1);
	assert_unseal_fails(key_a, VG_SEAL_RECORD, aad_a, AAD_A_LEN, NULL, 0);
	free(c);
	free(blob);
}

/* SFR 4.2.4: an older generation of a record cannot be passed off as a
 * newer one: the generation is authenticated. */
static void test_seal_generation_is_authenticated(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(7, &len);

	(void)state;
	blob[15] = 8;
	assert_unseal_fails(key_a, VG_SEAL_RECORD, aad_a, AAD_A_LEN, blob, len);
	free(blob);
}

/* SFR 4.2.4: the header is checked before any cryptography: magic,
 * version, algorithm, reserved bytes and minimum size. */
static void test_seal_parse_header(void **state)
{
	size_t len;
	uint8_t *blob = seal_a(0xfedcba9876543210ull, &len);
	vg_seal_kind kind = 0;
	uint64_t gen = 0;
	static const size_t bad_at[] = {0, 1, 2, 3, 4, 6, 7};

	(void)state;
	assert_int_equal(vg_seal_parse_header(blob, len, &kind, &gen), VG_OK);
	assert_int_equal(kind, VG_SEAL_RECORD);
	assert_true(gen == 0xfedcba9876543210ull);
	/* The smallest blob (empty plaintext) parses; one byte less does not. */
	assert_int_equal(vg_seal_parse_header(blob, VG_SEAL_OVERHEAD, &kind, &gen), VG_OK);
	assert_int_equal(vg_seal_parse_header(blob, VG_SEAL_OVERHEAD - 1, &kind, &gen),
			 VG_ERR_INTEGRITY);
	assert_int_equal(vg_seal_parse_header(NULL, 0, &kind, &gen), VG_ERR_INTEGRITY);
	for (size_t i = 0; i < VG_ARRAY_LEN(bad_at); i++) {
		blob[bad_at[i]] ^= 0x02;
		assert_int_equal(vg_seal_parse_header(blob, len, &kind, &gen), VG_ERR_INTEGRITY);
		blob[bad_at[i]] ^= 0x02;
	}
	/* The kind byte is reported as is: unseal compares it. */
	blob[5] = 0x42;
	assert_int_equal(vg_seal_parse_header(blob, len, &kind, &gen), VG_OK);
	assert_int_equal(kind, 0x42);
	free(blob);
}

/* ---- HKDF ---- */

/* HKDF-SHA256 straight from OpenSSL: the reference for vg_hkdf. */
static void ref_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;

	assert_non_null(kctx);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kctx, out, out_len, params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

/* vg_hkdf's documented info: "voxguard/v1/" || label || 0x00 || ctx. */
static size_t vg_info(const char *label, const uint8_t *ctx, size_t ctx_len, uint8_t *out)
{
	size_t n = 0;

	memcpy(out, "voxguard/v1/", 12);
	n = 12;
	memcpy(out + n, label, strlen(label));
	n += strlen(label);
	out[n++] = 0;
	if (ctx_len)
		memcpy(out + n, ctx, ctx_len);
	return n + ctx_len;
}

/* SFR 4.2.4/4.2.11: the reference is HKDF-SHA256 (RFC 5869 test cases 1
 * and 3), and vg_hkdf equals it with the documented info construction, for
 * several labels and contexts, including an empty one. */
static void test_seal_hkdf_matches_openssl(void **state)
{
	uint8_t ikm[22], salt[13], info[300], okm[42], want[42], out[VG_KEY_LEN];
	size_t n;
	static const struct {
		const char *label;
		const char *ctx;
		size_t ctx_len;
	} cases[] = {
	    {"store-ns", "u/1000", 6},
	    {"db-meta", "", 0},
	    {"store-set", NULL, 0},
	    {"x", "\0\x01\xff", 3},
	    {"a-rather-long-label-for-some-future-purpose", "k/4294967295", 12},
	};

	(void)state;
	memset(ikm, 0x0b, sizeof ikm);
	for (unsigned i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)i;
	for (unsigned i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	ref_hkdf(ikm, sizeof ikm, salt, sizeof salt, info, 10, okm, sizeof okm);
	hex2bin("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8871858"
		"65",
		want, sizeof want, &n);
	assert_memory_equal(okm, want, 42);
	ref_hkdf(ikm, sizeof ikm, NULL, 0, info, 0, okm, sizeof okm);
	hex2bin("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96"
		"c8",
		want, sizeof want, &n);
	assert_memory_equal(okm, want, 42);

	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		size_t il =
		    vg_info(cases[i].label, (const uint8_t *)cases[i].ctx, cases[i].ctx_len, info);
		ref_hkdf(key_a, sizeof key_a, NULL, 0, info, il, want, VG_KEY_LEN);
		assert_int_equal(vg_hkdf(key_a, sizeof key_a, cases[i].label,
					 (const uint8_t *)cases[i].ctx, cases[i].ctx_len, out),
				 VG_OK);
		assert_memory_equal(out, want, VG_KEY_LEN);
	}
}

/* SFR 4.2.4/4.2.11: fixed answers (computed independently of OpenSSL with
 * Python's hmac module): a change here would orphan every stored record. */
static void test_seal_hkdf_known_answers(void **state)
{
	uint8_t out[VG_KEY_LEN], want[VG_KEY_LEN];
	size_t n;

	(void)state;
	assert_int_equal(
	    vg_hkdf(key_a, sizeof key_a, "store-ns", (const uint8_t *)"u/1000", 6, out), VG_OK);
	hex2bin("baaeba2ce279f65c32a4e43f20e9f13c146d2c1c3e1d572500dbee4080086b3b", want,
		sizeof want, &n);
	assert_memory_equal(out, want, VG_KEY_LEN);
	assert_int_equal(vg_hkdf(key_a, sizeof key_a, "db-meta", NULL, 0, out), VG_OK);
	hex2bin("cb16b85b29747b5af26cc9cd5f858d5f568e124b4dba0e8f66617125b8bd67c9", want,
		sizeof want, &n);
	assert_memory_equal(out, want, VG_KEY_LEN);
}

/* SFR 4.2.4/4.2.11: derivation is deterministic, and keys of different
 * purposes (label) or objects (ctx) are independent, including where a
 * naive concatenation would collide ("ab"+"" vs "a"+"b"). */
static void test_seal_hkdf_separation(void **state)
{
	uint8_t k1[VG_KEY_LEN], k2[VG_KEY_LEN], other_ikm[VG_KEY_LEN];

	(void)state;
	assert_int_equal(vg_hkdf(key_a, 32, "store-ns", (const uint8_t *)"u/1000", 6, k1), VG_OK);
	assert_int_equal(vg_hkdf(key_a, 32, "store-ns", (const uint8_t *)"u/1000", 6, k2), VG_OK);
	assert_memory_equal(k1, k2, VG_KEY_LEN);

	assert_int_equal(vg_hkdf(key_a, 32, "store-ns", (const uint8_t *)"u/1001", 6, k2), VG_OK);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);
	assert_int_equal(vg_hkdf(key_a, 32, "store-nt", (const uint8_t *)"u/1000", 6, k2), VG_OK);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);
	assert_int_equal(vg_hkdf(key_a, 32, "store-ns", (const uint8_t *)"u/10000", 7, k2), VG_OK);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);
	memcpy(other_ikm, key_a, 32);
	other_ikm[0] ^= 1;
	assert_int_equal(vg_hkdf(other_ikm, 32, "store-ns", (const uint8_t *)"u/1000", 6, k2),
			 VG_OK);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);

	assert_int_equal(vg_hkdf(key_a, 32, "ab", NULL, 0, k1), VG_OK);
	assert_int_equal(vg_hkdf(key_a, 32, "a", (const uint8_t *)"b", 1, k2), VG_OK);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);
	assert_int_equal(vg_hkdf(key_a, 32, "a", (const uint8_t *)"\0", 1, k2), VG_OK);
	assert_int_equal(vg_hkdf(key_a, 32, "a", NULL, 0, k1), VG_OK);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);
}

/* ---- HMAC and SHA-256 ---- */

/* SFR 4.2.4: the MAC and hash primitives are the standard ones (RFC 4231
 * test case 1; FIPS 180-2 "abc"). */
static void test_seal_hmac_sha256_known_answers(void **state)
{
	uint8_t key[20], out[32], want[32];
	size_t n;

	(void)state;
	memset(key, 0x0b, sizeof key);
	assert_int_equal(vg_hmac256(key, sizeof key, (const uint8_t *)"Hi There", 8, out), VG_OK);
	hex2bin("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want,
		sizeof want, &n);
	assert_memory_equal(out, want, 32);
	assert_int_equal(vg_sha256((const uint8_t *)"abc", 3, out), VG_OK);
	hex2bin("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want,
		sizeof want, &n);
	assert_memory_equal(out, want, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_roundtrip),
	    cmocka_unit_test(test_seal_blob_layout),
	    cmocka_unit_test(test_seal_nonce_is_fresh),
	    cmocka_unit_test(test_seal_every_byte_flip_fails),
	    cmocka_unit_test(test_seal_wrong_aad_fails),
	    cmocka_unit_test(test_seal_wrong_kind_fails),
	    cmocka_unit_test(test_seal_wrong_key_fails),
	    cmocka_unit_test(test_seal_truncated_fails),
	    cmocka_unit_test(test_seal_generation_is_authenticated),
	    cmocka_unit_test(test_seal_parse_header),
	    cmocka_unit_test(test_seal_hkdf_matches_openssl),
	    cmocka_unit_test(test_seal_hkdf_known_answers),
	    cmocka_unit_test(test_seal_hkdf_separation),
	    cmocka_unit_test(test_seal_hmac_sha256_known_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
