/*
 * test_auth_challenge.c - key-based admin authentication for a companion
 * app (src/auth/challenge.h).
 *
 * SFR 4.2.13: an app holding a registered admin key (P-256 or Ed25519)
 * authenticates by signing a fresh challenge. Threat A.3.1: a wrong key,
 * a replayed or expired answer, an answer relayed by another uid, or a key
 * of another type never authenticates. Keys are generated here with
 * OpenSSL and sign exactly as a client would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/challenge.h"
#include "common/util.h"

#define NOW   UINT64_C(1000000)
#define ADMIN 1000u
#define OTHER 1001u

typedef struct key {
	EVP_PKEY *pk;
	uint8_t *der; /* SubjectPublicKeyInfo */
	size_t der_len;
} key;

static key key_new(const char *type, const char *curve)
{
	key k = {0};
	unsigned char *p = NULL;
	int n;

	if (strcmp(type, "RSA") == 0)
		k.pk = EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)2048);
	else if (curve)
		k.pk = EVP_PKEY_Q_keygen(NULL, NULL, type, curve);
	else
		k.pk = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k.pk);
	n = i2d_PUBKEY(k.pk, &p);
	assert_true(n > 0);
	k.der = p;
	k.der_len = (size_t)n;
	return k;
}

static void key_free(key *k)
{
	EVP_PKEY_free(k->pk);
	OPENSSL_free(k->der);
	memset(k, 0, sizeof *k);
}

/* The client's side: sign vg_challenge_message(nonce, uid) (SHA-256 for
 * EC keys, pure for Ed25519). */
static size_t sign(const key *k, const uint8_t nonce[32], uint32_t uid, uint8_t *sig, size_t cap)
{
	uint8_t msg[VG_CHALLENGE_MSG_LEN];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const char *md = EVP_PKEY_is_a(k->pk, "ED25519") ? NULL : "SHA256";
	size_t len = cap;

	vg_challenge_message(nonce, uid, msg);
	assert_non_null(c);
	assert_int_equal(EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, k->pk, NULL), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &len, msg, sizeof msg), 1);
	EVP_MD_CTX_free(c);
	return len;
}

static int setup(void **state)
{
	vg_challenges *c = NULL;

	if (vg_challenges_new(&c) != VG_OK)
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	vg_challenges *c = *state;

	vg_challenges_free(&c);
	assert_null(c);
	vg_challenges_free(&c);
	vg_challenges_free(NULL);
	return 0;
}

static vg_rc answer(vg_challenges *c, uint32_t uid, const uint8_t nonce[32], const uint8_t *sig,
		    size_t sig_len, const key *k, uint64_t now)
{
	return vg_challenge_answer(c, uid, nonce, sig, sig_len, k->der, k->der_len, now);
}

/* SFR 4.2.13: the signed bytes are exactly "voxguard-admin-auth-v1", 0x00,
 * the nonce and the uid big-endian (the client builds the same). */
static void test_sfr4213_challenge_message_layout(void **state)
{
	uint8_t nonce[32], msg[VG_CHALLENGE_MSG_LEN], want[59];

	(void)state;
	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	memcpy(want, "voxguard-admin-auth-v1", 22);
	want[22] = 0x00;
	memcpy(want + 23, nonce, 32);
	want[55] = 0x12;
	want[56] = 0x34;
	want[57] = 0x56;
	want[58] = 0x78;
	assert_int_equal(VG_CHALLENGE_MSG_LEN, 59);
	vg_challenge_message(nonce, 0x12345678u, msg);
	assert_memory_equal(msg, want, sizeof want);
}

/* SFR 4.2.13: a registered P-256 key signing the challenge (ECDSA over
 * SHA-256, DER signature) authenticates. */
static void test_sfr4213_challenge_p256(void **state)
{
	vg_challenges *c = *state;
	key k = key_new("EC", "P-256");
	uint8_t nonce[32], sig[128];
	size_t n;

	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW + 5000), VG_OK);
	key_free(&k);
}

/* SFR 4.2.13: so does an Ed25519 key (pure Ed25519, 64-byte signature). */
static void test_sfr4213_challenge_ed25519(void **state)
{
	vg_challenges *c = *state;
	key k = key_new("ED25519", NULL);
	uint8_t nonce[32], sig[128];
	size_t n;

	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	assert_int_equal(n, 64);
	assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW), VG_OK);
	key_free(&k);
}

/* A.3.1: a signature by another key fails, and consumes the challenge: a
 * second try with the right key finds no challenge. */
static void test_a31_challenge_wrong_key(void **state)
{
	vg_challenges *c = *state;
	const char *types[][2] = {{"EC", "P-256"}, {"ED25519", NULL}};

	for (size_t t = 0; t < 2; t++) {
		key good = key_new(types[t][0], types[t][1]);
		key evil = key_new(types[t][0], types[t][1]);
		uint8_t nonce[32], sig[128];
		size_t n;

		assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
		n = sign(&evil, nonce, ADMIN, sig, sizeof sig);
		assert_int_equal(answer(c, ADMIN, nonce, sig, n, &good, NOW), VG_ERR_AUTH_FAILED);
		n = sign(&good, nonce, ADMIN, sig, sizeof sig);
		assert_int_equal(answer(c, ADMIN, nonce, sig, n, &good, NOW), VG_ERR_AUTH_REQUIRED);
		key_free(&good);
		key_free(&evil);
	}
}

/* A.3.1: a good answer works once; replaying it finds no challenge. */
static void test_a31_challenge_replay(void **state)
{
	vg_challenges *c = *state;
	key k = key_new("EC", "P-256");
	uint8_t nonce[32], sig[128];
	size_t n;

	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW), VG_OK);
	assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW + 1), VG_ERR_AUTH_REQUIRED);
	/* a nonce never issued */
	nonce[0] ^= 1;
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW), VG_ERR_AUTH_REQUIRED);
	key_free(&k);
}

/* A.3.1: a challenge lives 60 s: answered at 60.000 s it works, at
 * 60.001 s it is gone, good signature or not. */
static void test_a31_challenge_expiry(void **state)
{
	vg_challenges *c = *state;
	key k = key_new("ED25519", NULL);
	uint8_t n1[32], n2[32], sig[128];
	size_t n;

	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, n1), VG_OK);
	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, n2), VG_OK);
	n = sign(&k, n1, ADMIN, sig, sizeof sig);
	assert_int_equal(answer(c, ADMIN, n1, sig, n, &k, NOW + VG_CHALLENGE_TTL_MS), VG_OK);
	n = sign(&k, n2, ADMIN, sig, sizeof sig);
	assert_int_equal(answer(c, ADMIN, n2, sig, n, &k, NOW + VG_CHALLENGE_TTL_MS + 1),
			 VG_ERR_AUTH_REQUIRED);
	assert_int_equal(answer(c, ADMIN, n2, sig, n, &k, NOW), VG_ERR_AUTH_REQUIRED);
	/* a clock before the issue time does not make it live either */
	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, n1), VG_OK);
	n = sign(&k, n1, ADMIN, sig, sizeof sig);
	assert_int_equal(answer(c, ADMIN, n1, sig, n, &k, NOW - 1), VG_ERR_AUTH_REQUIRED);
	key_free(&k);
}

/* A.3.1: another uid cannot use an admin's challenge: not by signing for
 * its own uid (no such challenge for it; the admin's stays pending), and
 * not by relaying the admin's signature (the uid is in the message). */
static void test_a31_challenge_other_uid(void **state)
{
	vg_challenges *c = *state;
	key k = key_new("EC", "P-256");
	uint8_t nonce[32], sig[128], sig_other[128];
	size_t n, n_other;

	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	n_other = sign(&k, nonce, OTHER, sig_other, sizeof sig_other);
	assert_int_equal(answer(c, OTHER, nonce, sig_other, n_other, &k, NOW),
			 VG_ERR_AUTH_REQUIRED);
	assert_int_equal(answer(c, OTHER, nonce, sig, n, &k, NOW), VG_ERR_AUTH_REQUIRED);
	/* a signature for the other uid's message does not pass as the admin's */
	assert_int_equal(answer(c, ADMIN, nonce, sig_other, n_other, &k, NOW), VG_ERR_AUTH_FAILED);
	/* issued to OTHER, answered by the admin: no such challenge */
	assert_int_equal(vg_challenge_issue(c, OTHER, NOW, nonce), VG_OK);
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW), VG_ERR_AUTH_REQUIRED);
	n_other = sign(&k, nonce, OTHER, sig_other, sizeof sig_other);
	assert_int_equal(answer(c, OTHER, nonce, sig_other, n_other, &k, NOW), VG_OK);
	key_free(&k);
}

/* A.3.1: only P-256 and Ed25519 keys count: a valid signature by a key of
 * another type or curve (secp256k1 is 256-bit too, P-384, RSA) fails. */
static void test_a31_challenge_wrong_key_type(void **state)
{
	vg_challenges *c = *state;
	key keys[] = {key_new("EC", "secp256k1"), key_new("EC", "P-384"), key_new("X25519", NULL)};
	uint8_t nonce[32], sig[1024];
	size_t n;

	for (size_t i = 0; i < VG_ARRAY_LEN(keys); i++) {
		assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
		if (EVP_PKEY_is_a(keys[i].pk, "X25519")) {
			memset(sig, 0x11, 64); /* X25519 cannot sign at all */
			n = 64;
		} else {
			n = sign(&keys[i], nonce, ADMIN, sig, sizeof sig);
		}
		assert_int_equal(answer(c, ADMIN, nonce, sig, n, &keys[i], NOW),
				 VG_ERR_AUTH_FAILED);
		key_free(&keys[i]);
	}
	{
		key rsa = key_new("RSA", NULL);
		assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
		n = sign(&rsa, nonce, ADMIN, sig, sizeof sig);
		assert_int_equal(answer(c, ADMIN, nonce, sig, n, &rsa, NOW), VG_ERR_AUTH_FAILED);
		key_free(&rsa);
	}
}

/* A.3.1: malformed signatures and keys fail (and consume the challenge);
 * nothing is read beyond the stated lengths. */
static void test_a31_challenge_malformed(void **state)
{
	vg_challenges *c = *state;
	key k = key_new("EC", "P-256");
	uint8_t nonce[32], sig[512], *der2;
	size_t n;

	struct {
		size_t sig_len_delta; /* applied to the good length */
		int trunc_key;        /* 1: key one byte short, 2: one byte more */
		int no_sig;
		size_t big;
	} cases[] = {{0, 0, 1, 0}, {(size_t)-1, 0, 0, 0}, {1, 0, 0, 0},
		     {0, 1, 0, 0}, {0, 2, 0, 0},          {0, 0, 0, VG_CHALLENGE_SIG_MAX + 1}};

	der2 = malloc(k.der_len + 1);
	assert_non_null(der2);
	memcpy(der2, k.der, k.der_len);
	der2[k.der_len] = 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		const uint8_t *pub = der2;
		size_t pub_len = k.der_len;
		assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
		n = sign(&k, nonce, ADMIN, sig, sizeof sig);
		n += cases[i].sig_len_delta;
		if (cases[i].big)
			n = cases[i].big;
		if (cases[i].trunc_key == 1)
			pub_len--;
		if (cases[i].trunc_key == 2)
			pub_len++;
		assert_int_equal(vg_challenge_answer(c, ADMIN, nonce, cases[i].no_sig ? NULL : sig,
						     cases[i].no_sig ? 0 : n, pub, pub_len, NOW),
				 VG_ERR_AUTH_FAILED);
		/* consumed either way */
		n = sign(&k, nonce, ADMIN, sig, sizeof sig);
		assert_int_equal(answer(c, ADMIN, nonce, sig, n, &k, NOW), VG_ERR_AUTH_REQUIRED);
	}
	/* garbage and missing keys */
	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	assert_int_equal(vg_challenge_answer(c, ADMIN, nonce, sig, n, NULL, 0, NOW),
			 VG_ERR_AUTH_FAILED);
	assert_int_equal(vg_challenge_issue(c, ADMIN, NOW, nonce), VG_OK);
	n = sign(&k, nonce, ADMIN, sig, sizeof sig);
	assert_int_equal(vg_challenge_answer(c, ADMIN, nonce, sig, n, sig, n, NOW),
			 VG_ERR_AUTH_FAILED);
	assert_int_equal(vg_challenge_answer(NULL, ADMIN, nonce, sig, n, k.der, k.der_len, NOW),
			 VG_ERR_INVALID);
	free(der2);
	key_free(&k);
}

/* SFR 4.2.13: the table is small and bounded: the ninth pending challenge
 * drops the oldest, and the others still work. */
static void test_sfr4213_challenge_eviction(void **state)
{
	vg_challenges *c = *state;
	key k = key_new("ED25519", NULL);
	uint8_t nonce[VG_CHALLENGES_MAX + 1][32], sig[128];
	size_t n;

	assert_int_equal(VG_CHALLENGES_MAX, 8);
	for (size_t i = 0; i <= VG_CHALLENGES_MAX; i++)
		assert_int_equal(vg_challenge_issue(c, ADMIN, NOW + i, nonce[i]), VG_OK);
	for (size_t i = 0; i <= VG_CHALLENGES_MAX; i++) {
		n = sign(&k, nonce[i], ADMIN, sig, sizeof sig);
		assert_int_equal(answer(c, ADMIN, nonce[i], sig, n, &k, NOW + 100),
				 i == 0 ? VG_ERR_AUTH_REQUIRED : VG_OK);
	}
	/* nonces are fresh */
	assert_memory_not_equal(nonce[1], nonce[2], 32);
	key_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr4213_challenge_message_layout),
	    cmocka_unit_test_setup_teardown(test_sfr4213_challenge_p256, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4213_challenge_ed25519, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_challenge_wrong_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_challenge_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_challenge_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_challenge_other_uid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_challenge_wrong_key_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_challenge_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4213_challenge_eviction, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
