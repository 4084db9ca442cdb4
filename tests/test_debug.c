/*
 * test_debug.c - the secure-debug unlock (src/daemon/debug.h).
 *
 * SFR 4.3.1: debug unlocks only with a signature by the OEM debug key over
 * a fresh, single-use challenge bound to this device's instance ID; it is
 * locked by default and after lock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/pubkey.h"
#include "helpers.h"
#include "daemon/debug.h"

static const uint8_t iid[33] = {0x01, 0xaa, 0xbb};

/* SFR 4.3.1: the OEM key's signature over a fresh challenge unlocks, once;
 * replays, late answers, other keys and other devices do not. */
static void test_sfr431_debug_unlock_rules(void **state)
{
	EVP_PKEY *keys[2] = {EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
			     EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")};
	EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	(void)state;
	for (int i = 0; i < 2; i++) {
		vg_debug d = {0};
		uint8_t nonce[32], msg[VG_DEBUG_MSG_LEN], other[33], sig[256], *der = NULL;
		size_t dl = vgt_pub_der(keys[i], &der), sl;

		assert_false(d.unlocked);
		/* No challenge yet. */
		assert_int_equal(vg_debug_unlock(&d, 0, iid, sig, 64, der, dl),
				 VG_ERR_AUTH_REQUIRED);
		/* The right signature. */
		assert_int_equal(vg_debug_challenge(&d, 1000, nonce), VG_OK);
		vg_debug_message(nonce, iid, msg);
		assert_int_equal(memcmp(msg, "voxguard-debug-unlock-v1", 25), 0);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(vg_debug_unlock(&d, 2000, iid, sig, sl, der, dl), VG_OK);
		assert_true(d.unlocked);
		vg_debug_lock(&d);
		assert_false(d.unlocked);
		/* Replay of the same signature. */
		assert_int_equal(vg_debug_unlock(&d, 2000, iid, sig, sl, der, dl),
				 VG_ERR_AUTH_REQUIRED);
		assert_false(d.unlocked);
		/* Signed for another device (instance ID). */
		memcpy(other, iid, sizeof other);
		other[5] ^= 1;
		assert_int_equal(vg_debug_challenge(&d, 3000, nonce), VG_OK);
		vg_debug_message(nonce, other, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(vg_debug_unlock(&d, 3001, iid, sig, sl, der, dl),
				 VG_ERR_AUTH_FAILED);
		/* ...which consumed the challenge. */
		vg_debug_message(nonce, iid, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(vg_debug_unlock(&d, 3002, iid, sig, sl, der, dl),
				 VG_ERR_AUTH_REQUIRED);
		/* Another key. */
		assert_int_equal(vg_debug_challenge(&d, 4000, nonce), VG_OK);
		vg_debug_message(nonce, iid, msg);
		sl = vgt_sign(evil, msg, sizeof msg, sig);
		assert_int_equal(vg_debug_unlock(&d, 4001, iid, sig, sl, der, dl),
				 VG_ERR_AUTH_FAILED);
		/* Too late: challenges live 5 minutes. */
		assert_int_equal(vg_debug_challenge(&d, 5000, nonce), VG_OK);
		vg_debug_message(nonce, iid, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(
		    vg_debug_unlock(&d, 5000 + 5 * 60 * 1000 + 1, iid, sig, sl, der, dl),
		    VG_ERR_AUTH_REQUIRED);
		/* A garbage signature and a garbage key. */
		assert_int_equal(vg_debug_challenge(&d, 6000, nonce), VG_OK);
		assert_int_equal(vg_debug_unlock(&d, 6001, iid, (const uint8_t *)"xx", 2, der, dl),
				 VG_ERR_AUTH_FAILED);
		assert_int_equal(vg_debug_challenge(&d, 6000, nonce), VG_OK);
		assert_int_equal(vg_debug_unlock(&d, 6001, iid, sig, sl, (const uint8_t *)"k", 1),
				 VG_ERR_AUTH_FAILED);
		assert_false(d.unlocked);
		OPENSSL_free(der);
	}
	EVP_PKEY_free(keys[0]);
	EVP_PKEY_free(keys[1]);
	EVP_PKEY_free(evil);
}

/* SFR 4.3.1 / 4.2.13: only P-256 and Ed25519 public keys are accepted as
 * debug or admin keys, PEM or exact DER. */
static void test_sfr431_pubkey_parse(void **state)
{
	EVP_PKEY *ok = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"); /* 256 bits, not P-256 */
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	uint8_t *der = NULL, *out = NULL, big[9000];
	size_t dl = vgt_pub_der(ok, &der), ol = 0;
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *bm;

	(void)state;
	assert_int_equal(vg_pubkey_parse(der, dl, &out, &ol), VG_OK);
	assert_int_equal(ol, dl);
	assert_memory_equal(out, der, dl);
	OPENSSL_free(out);
	assert_int_equal(PEM_write_bio_PUBKEY(b, ok), 1);
	BIO_get_mem_ptr(b, &bm);
	assert_int_equal(vg_pubkey_parse((const uint8_t *)bm->data, bm->length, &out, &ol), VG_OK);
	assert_memory_equal(out, der, dl);
	OPENSSL_free(out);
	BIO_free(b);
	/* Trailing bytes, truncation, other key types, oversize, nothing. */
	memcpy(big, der, dl);
	big[dl] = 0;
	assert_int_equal(vg_pubkey_parse(big, dl + 1, &out, &ol), VG_ERR_INVALID);
	assert_int_equal(vg_pubkey_parse(der, dl - 1, &out, &ol), VG_ERR_INVALID);
	OPENSSL_free(der);
	der = NULL;
	dl = vgt_pub_der(p384, &der);
	assert_int_equal(vg_pubkey_parse(der, dl, &out, &ol), VG_ERR_INVALID);
	OPENSSL_free(der);
	der = NULL;
	dl = vgt_pub_der(k1, &der);
	assert_int_equal(vg_pubkey_parse(der, dl, &out, &ol), VG_ERR_INVALID);
	OPENSSL_free(der);
	der = NULL;
	dl = vgt_pub_der(rsa, &der);
	assert_int_equal(vg_pubkey_parse(der, dl, &out, &ol), VG_ERR_INVALID);
	OPENSSL_free(der);
	memset(big, 'A', sizeof big);
	assert_int_equal(vg_pubkey_parse(big, sizeof big, &out, &ol), VG_ERR_INVALID);
	assert_int_equal(vg_pubkey_parse(NULL, 0, &out, &ol), VG_ERR_INVALID);
	assert_null(out);
	EVP_PKEY_free(ok);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(rsa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr431_debug_unlock_rules),
	    cmocka_unit_test(test_sfr431_pubkey_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
