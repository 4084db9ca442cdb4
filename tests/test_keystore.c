/*
 * test_keystore.c - the cryptographic keystore (src/keystore/keystore.h).
 *
 * SFR 4.2.11 keystore: keys are generated inside, used by name under a
 * usage policy fixed at creation, never exported, isolated per owner, and
 * persisted sealed in secure storage (SFR 4.2.4); the key-blob decoder
 * treats stored bytes as hostile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "helpers.h"
#include "audio/hpke.h"

#define ALICE    1000u
#define BOB      1001u
#define ALL_USES (VG_USE_SIGN | VG_USE_VERIFY | VG_USE_ENCRYPT | VG_USE_DECRYPT | VG_USE_MAC)

static const uint8_t msg[] = "turn on the kitchen lights";
#define MSG_LEN (sizeof msg - 1)

/* ---- helpers ---- */

static void create_ok(vgt_stack *s, uint32_t owner, const char *name, vg_key_type t, uint32_t usage)
{
	assert_int_equal(vg_keystore_create(s->ks, owner, name, t, usage), VG_OK);
}

static EVP_PKEY *public_key(vgt_stack *s, uint32_t owner, const char *name)
{
	uint8_t *der = NULL;
	size_t len = 0;
	const unsigned char *p;
	EVP_PKEY *pk;

	assert_int_equal(vg_keystore_public(s->ks, owner, name, false, &der, &len), VG_OK);
	p = der;
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	assert_non_null(pk);
	assert_ptr_equal(p, der + len);
	free(der);
	return pk;
}

/* OpenSSL's own verdict on sig: SHA-256 for P-256, pure for Ed25519. */
static int openssl_verify(EVP_PKEY *pk, const char *md, const uint8_t *sig, size_t sig_len,
			  const uint8_t *m, size_t m_len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int r;

	assert_non_null(c);
	assert_int_equal(EVP_DigestVerifyInit_ex(c, NULL, md, NULL, NULL, pk, NULL), 1);
	r = EVP_DigestVerify(c, sig, sig_len, m, m_len);
	EVP_MD_CTX_free(c);
	return r;
}

static uint8_t *sign_ok(vgt_stack *s, uint32_t owner, const char *name, size_t *len)
{
	uint8_t *sig = NULL;

	assert_int_equal(vg_keystore_sign(s->ks, owner, name, msg, MSG_LEN, &sig, len), VG_OK);
	assert_non_null(sig);
	return sig;
}

/* The stored (unsealed) key blob, read through the store as a test only
 * can: the keystore API has no such call. */
static uint8_t *stored_blob(vgt_stack *s, uint32_t owner, const char *name, size_t *len)
{
	char ns[24];
	uint8_t *b = NULL;

	vg_keystore_ns(owner, ns);
	assert_int_equal(vg_secstore_get(s->st, ns, name, &b, len), VG_OK);
	return b;
}

static uint8_t *make_blob(vg_key_type t, uint32_t usage, uint32_t owner, const uint8_t *secret,
			  size_t n, size_t *len)
{
	uint8_t *b = malloc(23 + n + 1);

	assert_non_null(b);
	memcpy(b, "VGK1", 4);
	b[4] = (uint8_t)t;
	for (int i = 0; i < 4; i++) {
		b[5 + i] = (uint8_t)(usage >> (24 - 8 * i));
		b[9 + i] = (uint8_t)(owner >> (24 - 8 * i));
	}
	for (int i = 0; i < 8; i++)
		b[13 + i] = (uint8_t)(i == 7 ? 42 : 0);
	b[21] = (uint8_t)(n >> 8);
	b[22] = (uint8_t)n;
	if (n)
		memcpy(b + 23, secret, n);
	*len = 23 + n;
	return b;
}

/* i2d_PrivateKey DER of a fresh key of an OpenSSL algorithm/group. */
static uint8_t *fresh_der(const char *alg, const char *group, size_t *len)
{
	EVP_PKEY *k =
	    group ? EVP_PKEY_Q_keygen(NULL, NULL, alg, group) : EVP_PKEY_Q_keygen(NULL, NULL, alg);
	uint8_t *der = NULL, *copy;
	int n;

	assert_non_null(k);
	n = i2d_PrivateKey(k, &der);
	assert_true(n > 0);
	copy = malloc((size_t)n);
	assert_non_null(copy);
	memcpy(copy, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	EVP_PKEY_free(k);
	*len = (size_t)n;
	return copy;
}

static void assert_decode_fails(const uint8_t *b, size_t len)
{
	vg_key_info info;
	EVP_PKEY *pk = (EVP_PKEY *)&info;
	uint8_t *secret = (uint8_t *)&info;

	assert_int_equal(vg_keystore_blob_decode(b, len, &info, &pk, &secret), VG_ERR_INTEGRITY);
	assert_null(pk);
	assert_null(secret);
}

static void decode_ok(const uint8_t *b, size_t len, vg_key_info *info)
{
	EVP_PKEY *pk = NULL;
	uint8_t *secret = NULL;

	assert_int_equal(vg_keystore_blob_decode(b, len, info, &pk, &secret), VG_OK);
	assert_true(pk || secret);
	EVP_PKEY_free(pk);
	vg_secret_free(secret, VG_KEY_LEN);
}

struct count {
	int n;
};

static int collect_count(void *ctx, const char *name)
{
	(void)name;
	((struct count *)ctx)->n++;
	return 0;
}

/* ---- creation and usage policy ---- */

/* SFR 4.2.11: each type is created with its default usage (usage 0) and
 * with an explicit subset; info reports type, usage, owner and time. */
static void test_keystore_create_each_type_default_and_explicit(void **state)
{
	vgt_stack *s = *state;
	static const struct {
		vg_key_type t;
		uint32_t defaults, explicit_usage;
	} types[] = {
	    {VG_KEY_P256, VG_USE_SIGN | VG_USE_VERIFY | VG_USE_DERIVE, VG_USE_VERIFY},
	    {VG_KEY_ED25519, VG_USE_SIGN | VG_USE_VERIFY, VG_USE_SIGN},
	    {VG_KEY_X25519, VG_USE_DERIVE, VG_USE_DERIVE},
	    {VG_KEY_AES256, VG_USE_ENCRYPT | VG_USE_DECRYPT, VG_USE_DECRYPT},
	    {VG_KEY_HMAC256, VG_USE_MAC | VG_USE_VERIFY, VG_USE_MAC},
	    {VG_KEY_P384, VG_USE_SIGN | VG_USE_VERIFY, VG_USE_SIGN},
	};
	uint64_t now = vg_time_now(NULL);

	for (size_t i = 0; i < VG_ARRAY_LEN(types); i++) {
		char dname[32], ename[32];
		vg_key_info info;

		(void)snprintf(dname, sizeof dname, "%s-default", vg_key_type_str(types[i].t));
		(void)snprintf(ename, sizeof ename, "%s-explicit", vg_key_type_str(types[i].t));
		assert_int_equal(vg_key_type_usage_allowed(types[i].t), types[i].defaults);
		create_ok(s, ALICE, dname, types[i].t, 0);
		create_ok(s, ALICE, ename, types[i].t, types[i].explicit_usage);

		assert_int_equal(vg_keystore_info(s->ks, ALICE, dname, &info), VG_OK);
		assert_string_equal(info.name, dname);
		assert_int_equal(info.type, types[i].t);
		assert_int_equal(info.usage, types[i].defaults);
		assert_int_equal(info.owner_uid, ALICE);
		assert_in_range(info.created, now - 5, now + 60);
		assert_int_equal(vg_keystore_info(s->ks, ALICE, ename, &info), VG_OK);
		assert_int_equal(info.usage, types[i].explicit_usage);
		/* The full allowed set, given explicitly, is accepted too. */
		(void)snprintf(ename, sizeof ename, "%s-all", vg_key_type_str(types[i].t));
		create_ok(s, ALICE, ename, types[i].t, types[i].defaults);
	}
}

/* SFR 4.2.11: a usage outside what the type allows is VG_ERR_POLICY at
 * creation, and no key is created. */
static void test_keystore_create_usage_outside_type_policy(void **state)
{
	vgt_stack *s = *state;
	static const vg_key_type types[] = {VG_KEY_P256,    VG_KEY_ED25519, VG_KEY_AES256,
					    VG_KEY_HMAC256, VG_KEY_P384,    VG_KEY_X25519};
	vg_key_info info;

	for (size_t i = 0; i < VG_ARRAY_LEN(types); i++) {
		uint32_t allowed = vg_key_type_usage_allowed(types[i]);
		/* Every single bit the type lacks, and an undefined bit. */
		for (uint32_t bit = 1; bit <= 0x80000000u; bit <<= 1) {
			if (allowed & bit)
				continue;
			assert_int_equal(vg_keystore_create(s->ks, ALICE, "k", types[i], bit),
					 VG_ERR_POLICY);
			assert_int_equal(
			    vg_keystore_create(s->ks, ALICE, "k", types[i], allowed | bit),
			    VG_ERR_POLICY);
			if (bit == 0x80000000u)
				break;
		}
	}
	assert_int_equal(vg_keystore_create(s->ks, ALICE, "k", VG_KEY_P256, VG_USE_ENCRYPT),
			 VG_ERR_POLICY);
	assert_int_equal(vg_keystore_info(s->ks, ALICE, "k", &info), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_db_counter(s->db), 0);
}

/* SFR 4.2.11: unknown types are VG_ERR_UNSUPPORTED, bad names
 * VG_ERR_INVALID. */
static void test_keystore_create_rejects_bad_type_and_name(void **state)
{
	vgt_stack *s = *state;

	assert_int_equal(vg_keystore_create(s->ks, ALICE, "k", (vg_key_type)0, 0),
			 VG_ERR_UNSUPPORTED);
	assert_int_equal(vg_keystore_create(s->ks, ALICE, "k", (vg_key_type)7, 0),
			 VG_ERR_UNSUPPORTED);
	assert_int_equal(vg_keystore_create(s->ks, ALICE, "", VG_KEY_P256, 0), VG_ERR_INVALID);
	assert_int_equal(vg_keystore_create(s->ks, ALICE, NULL, VG_KEY_P256, 0), VG_ERR_INVALID);
	assert_int_equal(vg_keystore_create(s->ks, ALICE, "../k", VG_KEY_P256, 0), VG_ERR_INVALID);
	assert_int_equal(vg_keystore_create(s->ks, ALICE, ".k", VG_KEY_P256, 0), VG_ERR_INVALID);
}

/* SFR 4.2.11: creating a key whose name exists is VG_ERR_EXISTS (any
 * type) and leaves the existing key unchanged. */
static void test_keystore_duplicate_create_exists(void **state)
{
	vgt_stack *s = *state;
	EVP_PKEY *before, *after;
	vg_key_info info;

	create_ok(s, ALICE, "k", VG_KEY_P256, 0);
	before = public_key(s, ALICE, "k");
	assert_int_equal(vg_keystore_create(s->ks, ALICE, "k", VG_KEY_P256, 0), VG_ERR_EXISTS);
	assert_int_equal(vg_keystore_create(s->ks, ALICE, "k", VG_KEY_AES256, 0), VG_ERR_EXISTS);
	after = public_key(s, ALICE, "k");
	assert_int_equal(EVP_PKEY_eq(before, after), 1);
	assert_int_equal(vg_keystore_info(s->ks, ALICE, "k", &info), VG_OK);
	assert_int_equal(info.type, VG_KEY_P256);
	EVP_PKEY_free(before);
	EVP_PKEY_free(after);
}

/* SFR 4.2.11: an operation outside the key's usage is VG_ERR_POLICY, also
 * an operation the type cannot do at all; no output is produced. */
static void test_keystore_operation_outside_usage_policy(void **state)
{
	vgt_stack *s = *state;
	uint8_t *out = (uint8_t *)&out, mac[32];
	size_t len = 7;
	static const uint8_t junk_sig[64] = {1};

	create_ok(s, ALICE, "p256-verify", VG_KEY_P256, VG_USE_VERIFY);
	create_ok(s, ALICE, "p256-sign", VG_KEY_P256, VG_USE_SIGN);
	create_ok(s, ALICE, "ed-verify", VG_KEY_ED25519, VG_USE_VERIFY);
	create_ok(s, ALICE, "aes-enc", VG_KEY_AES256, VG_USE_ENCRYPT);
	create_ok(s, ALICE, "aes-dec", VG_KEY_AES256, VG_USE_DECRYPT);
	create_ok(s, ALICE, "hmac-mac", VG_KEY_HMAC256, VG_USE_MAC);
	create_ok(s, ALICE, "hmac-verify", VG_KEY_HMAC256, VG_USE_VERIFY);
	create_ok(s, ALICE, "p256", VG_KEY_P256, 0);
	create_ok(s, ALICE, "aes", VG_KEY_AES256, 0);
	create_ok(s, ALICE, "hmac", VG_KEY_HMAC256, 0);

	/* Sign with a verify-only key. */
	assert_int_equal(vg_keystore_sign(s->ks, ALICE, "p256-verify", msg, MSG_LEN, &out, &len),
			 VG_ERR_POLICY);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(vg_keystore_sign(s->ks, ALICE, "ed-verify", msg, MSG_LEN, &out, &len),
			 VG_ERR_POLICY);
	/* ... while verifying with it is allowed (and fails on a junk sig). */
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "p256-verify", msg, MSG_LEN, junk_sig,
					    sizeof junk_sig),
			 VG_ERR_VERIFY_FAILED);
	assert_int_equal(
	    vg_keystore_verify(s->ks, ALICE, "p256-sign", msg, MSG_LEN, junk_sig, sizeof junk_sig),
	    VG_ERR_POLICY);
	out = (uint8_t *)&out;
	assert_int_equal(
	    vg_keystore_decrypt(s->ks, ALICE, "aes-enc", junk_sig, sizeof junk_sig, &out, &len),
	    VG_ERR_POLICY);
	assert_null(out);
	out = (uint8_t *)&out;
	assert_int_equal(vg_keystore_encrypt(s->ks, ALICE, "aes-dec", msg, MSG_LEN, &out, &len),
			 VG_ERR_POLICY);
	assert_null(out);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "hmac-mac", msg, MSG_LEN, junk_sig, 32),
			 VG_ERR_POLICY);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "hmac-verify", msg, MSG_LEN, mac),
			 VG_ERR_POLICY);

	/* Operations of another type. */
	assert_int_equal(vg_keystore_encrypt(s->ks, ALICE, "p256", msg, MSG_LEN, &out, &len),
			 VG_ERR_POLICY);
	assert_int_equal(vg_keystore_decrypt(s->ks, ALICE, "hmac", junk_sig, 60, &out, &len),
			 VG_ERR_POLICY);
	assert_int_equal(vg_keystore_sign(s->ks, ALICE, "aes", msg, MSG_LEN, &out, &len),
			 VG_ERR_POLICY);
	assert_int_equal(vg_keystore_sign(s->ks, ALICE, "hmac", msg, MSG_LEN, &out, &len),
			 VG_ERR_POLICY);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "aes", msg, MSG_LEN, junk_sig, 32),
			 VG_ERR_POLICY);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "p256", msg, MSG_LEN, mac), VG_ERR_POLICY);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "aes", msg, MSG_LEN, mac), VG_ERR_POLICY);
	assert_null(out);
}

/* ---- operations ---- */

/* SFR 4.2.11: a P-256 signature is ECDSA over SHA-256 that OpenSSL verifies
 * with the SubjectPublicKeyInfo from public(); the PEM form is the same key
 * on the P-256 curve. */
static void test_keystore_p256_signature_verifies_with_openssl(void **state)
{
	vgt_stack *s = *state;
	size_t sig_len, pem_len;
	uint8_t *sig, *pem = NULL;
	EVP_PKEY *pk, *pk2;
	BIO *bio;
	char group[32];
	size_t gl;

	create_ok(s, ALICE, "p", VG_KEY_P256, 0);
	sig = sign_ok(s, ALICE, "p", &sig_len);
	pk = public_key(s, ALICE, "p");
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
							sizeof group, &gl),
			 1);
	assert_string_equal(group, "prime256v1");
	assert_int_equal(openssl_verify(pk, "SHA256", sig, sig_len, msg, MSG_LEN), 1);
	assert_int_not_equal(openssl_verify(pk, "SHA256", sig, sig_len, msg, MSG_LEN - 1), 1);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "p", msg, MSG_LEN, sig, sig_len), VG_OK);

	assert_int_equal(vg_keystore_public(s->ks, ALICE, "p", true, &pem, &pem_len), VG_OK);
	assert_int_equal(strlen((char *)pem), pem_len);
	assert_non_null(strstr((char *)pem, "-----BEGIN PUBLIC KEY-----"));
	assert_null(strstr((char *)pem, "PRIVATE"));
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	pk2 = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	assert_non_null(pk2);
	assert_int_equal(EVP_PKEY_eq(pk, pk2), 1);
	BIO_free(bio);
	EVP_PKEY_free(pk2);
	EVP_PKEY_free(pk);
	free(pem);
	free(sig);
}

/* SFR 4.2.11: a P-384 key signs ECDSA over SHA-384 (DER) that OpenSSL
 * verifies with the public key. */
static void test_keystore_p384_signature_verifies_with_openssl(void **state)
{
	vgt_stack *s = *state;
	size_t sig_len;
	uint8_t *sig;
	EVP_PKEY *pk;
	char group[32];
	size_t gl;

	create_ok(s, ALICE, "p384", VG_KEY_P384, 0);
	sig = sign_ok(s, ALICE, "p384", &sig_len);
	pk = public_key(s, ALICE, "p384");
	assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
							sizeof group, &gl),
			 1);
	assert_string_equal(group, "secp384r1");
	assert_int_equal(openssl_verify(pk, "SHA384", sig, sig_len, msg, MSG_LEN), 1);
	assert_int_not_equal(openssl_verify(pk, "SHA256", sig, sig_len, msg, MSG_LEN), 1);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "p384", msg, MSG_LEN, sig, sig_len),
			 VG_OK);
	EVP_PKEY_free(pk);
	free(sig);
}

/* SFR 4.2.7, 4.2.11 note 11: the service signs a digest the caller made
 * (the OpenSSL provider, TLS): SHA-256/384/512 digests of the right length
 * with ECDSA keys verify with OpenSSL; a wrong length, an unknown
 * algorithm and an Ed25519 key are refused, and nothing is signed. */
static void test_keystore_sign_digest(void **state)
{
	vgt_stack *s = *state;
	static const struct {
		vg_key_type type;
		const char *alg, *md;
		size_t len;
	} cases[] = {
	    {VG_KEY_P256, "sha256", "SHA256", 32}, {VG_KEY_P256, "sha384", "SHA384", 48},
	    {VG_KEY_P384, "sha384", "SHA384", 48}, {VG_KEY_P384, "sha512", "SHA512", 64},
	    {VG_KEY_P384, "sha256", "SHA256", 32},
	};
	EVP_PKEY *pk;
	vg_signer *sg = NULL;
	uint8_t dgst[64], *sig = NULL;
	size_t sig_len = 0;
	unsigned int dl = 0;

	create_ok(s, ALICE, "p256", VG_KEY_P256, 0);
	create_ok(s, ALICE, "p384", VG_KEY_P384, 0);
	create_ok(s, ALICE, "ed", VG_KEY_ED25519, 0);
	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		const char *name = cases[i].type == VG_KEY_P256 ? "p256" : "p384";
		EVP_PKEY_CTX *pc;
		assert_int_equal(
		    EVP_Digest(msg, MSG_LEN, dgst, &dl, EVP_get_digestbyname(cases[i].md), NULL),
		    1);
		assert_int_equal(dl, cases[i].len);
		pk = public_key(s, ALICE, name);
		/* Twice: the second signer is a copy of the context the
		 * first one initialised in the key cache. */
		for (int round = 0; round < 2; round++) {
			assert_int_equal(vg_keystore_signer(s->ks, ALICE, name, cases[i].alg, &sg),
					 VG_OK);
			assert_int_equal(vg_signer_sign(sg, dgst, dl, &sig, &sig_len), VG_OK);
			vg_signer_free(sg);
			/* Verified over the digest, as TLS and X.509 do. */
			pc = EVP_PKEY_CTX_new(pk, NULL);
			assert_int_equal(EVP_PKEY_verify_init(pc), 1);
			assert_int_equal(
			    EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbyname(cases[i].md)),
			    1);
			assert_int_equal(EVP_PKEY_verify(pc, sig, sig_len, dgst, dl), 1);
			dgst[0] ^= 1;
			assert_int_not_equal(EVP_PKEY_verify(pc, sig, sig_len, dgst, dl), 1);
			dgst[0] ^= 1;
			EVP_PKEY_CTX_free(pc);
			free(sig);
		}
		/* A digest of the wrong length for its algorithm. */
		assert_int_equal(vg_keystore_signer(s->ks, ALICE, name, cases[i].alg, &sg), VG_OK);
		assert_int_equal(vg_signer_sign(sg, dgst, dl - 1, &sig, &sig_len), VG_ERR_INVALID);
		assert_null(sig);
		vg_signer_free(sg);
		EVP_PKEY_free(pk);
	}
	/* Unknown algorithms: refused before a signer exists. */
	assert_int_equal(vg_keystore_signer(s->ks, ALICE, "p256", "sha1", &sg), VG_ERR_INVALID);
	assert_null(sg);
	assert_int_equal(vg_keystore_signer(s->ks, ALICE, "p256", "SHA256", &sg), VG_ERR_INVALID);
	assert_null(sg);
	/* Ed25519 signs messages whole only. */
	assert_int_equal(vg_keystore_signer(s->ks, ALICE, "ed", "sha256", &sg), VG_ERR_POLICY);
	assert_null(sg);
}

/* SFR 4.2.11: a signer prepared from the key cache is one signature of
 * its own: two signers of one key give two valid, different ECDSA
 * signatures (a fresh nonce each, not a copied one), and a signer made
 * before its key is deleted still signs once, while the key is gone for
 * every new request. */
static void test_keystore_signer_copies(void **state)
{
	vgt_stack *s = *state;
	vg_signer *a = NULL, *b = NULL;
	uint8_t *sa = NULL, *sb = NULL;
	size_t la = 0, lb = 0;
	EVP_PKEY *pk;

	create_ok(s, ALICE, "k", VG_KEY_P256, 0);
	pk = public_key(s, ALICE, "k");
	assert_int_equal(vg_keystore_signer(s->ks, ALICE, "k", NULL, &a), VG_OK);
	assert_int_equal(vg_keystore_signer(s->ks, ALICE, "k", NULL, &b), VG_OK);
	assert_int_equal(vg_signer_sign(a, msg, MSG_LEN, &sa, &la), VG_OK);
	assert_int_equal(vg_signer_sign(b, msg, MSG_LEN, &sb, &lb), VG_OK);
	assert_int_equal(openssl_verify(pk, "SHA256", sa, la, msg, MSG_LEN), 1);
	assert_int_equal(openssl_verify(pk, "SHA256", sb, lb, msg, MSG_LEN), 1);
	assert_false(la == lb && memcmp(sa, sb, la) == 0);
	free(sa);
	free(sb);
	vg_signer_free(a);
	vg_signer_free(b);

	assert_int_equal(vg_keystore_signer(s->ks, ALICE, "k", NULL, &a), VG_OK);
	assert_int_equal(vg_keystore_delete(s->ks, ALICE, "k"), VG_OK);
	assert_int_equal(vg_keystore_signer(s->ks, ALICE, "k", NULL, &b), VG_ERR_NOT_FOUND);
	assert_null(b);
	assert_int_equal(vg_signer_sign(a, msg, MSG_LEN, &sa, &la), VG_OK);
	assert_int_equal(openssl_verify(pk, "SHA256", sa, la, msg, MSG_LEN), 1);
	free(sa);
	vg_signer_free(a);
	EVP_PKEY_free(pk);
}

/* SFR 4.2.11: an Ed25519 signature (pure, 64 bytes) verifies with OpenSSL
 * over the public key from public(). */
static void test_keystore_ed25519_signature_verifies_with_openssl(void **state)
{
	vgt_stack *s = *state;
	size_t sig_len;
	uint8_t *sig;
	EVP_PKEY *pk;

	create_ok(s, ALICE, "e", VG_KEY_ED25519, 0);
	sig = sign_ok(s, ALICE, "e", &sig_len);
	assert_int_equal(sig_len, 64);
	pk = public_key(s, ALICE, "e");
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_ED25519);
	assert_int_equal(openssl_verify(pk, NULL, sig, sig_len, msg, MSG_LEN), 1);
	assert_int_not_equal(openssl_verify(pk, NULL, sig, sig_len, msg, MSG_LEN - 1), 1);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "e", msg, MSG_LEN, sig, sig_len), VG_OK);
	EVP_PKEY_free(pk);
	free(sig);
}

/* SFR 4.2.11: verify rejects a signature with any byte flipped, a
 * truncated or empty one, and a good signature over another message, with
 * VG_ERR_VERIFY_FAILED. */
static void test_keystore_verify_rejects_flipped_signature(void **state)
{
	vgt_stack *s = *state;
	static const char *const names[] = {"p", "e"};

	create_ok(s, ALICE, "p", VG_KEY_P256, 0);
	create_ok(s, ALICE, "e", VG_KEY_ED25519, 0);
	for (size_t k = 0; k < VG_ARRAY_LEN(names); k++) {
		size_t len;
		uint8_t *sig = sign_ok(s, ALICE, names[k], &len);

		for (size_t i = 0; i < len; i++) {
			sig[i] ^= 0x01;
			assert_int_equal(
			    vg_keystore_verify(s->ks, ALICE, names[k], msg, MSG_LEN, sig, len),
			    VG_ERR_VERIFY_FAILED);
			sig[i] ^= 0x01;
		}
		assert_int_equal(vg_keystore_verify(s->ks, ALICE, names[k], msg, MSG_LEN, sig, len),
				 VG_OK);
		assert_int_equal(
		    vg_keystore_verify(s->ks, ALICE, names[k], msg, MSG_LEN - 1, sig, len),
		    VG_ERR_VERIFY_FAILED);
		assert_int_equal(
		    vg_keystore_verify(s->ks, ALICE, names[k], msg, MSG_LEN, sig, len - 1),
		    VG_ERR_VERIFY_FAILED);
		assert_int_equal(vg_keystore_verify(s->ks, ALICE, names[k], msg, MSG_LEN, sig, 0),
				 VG_ERR_VERIFY_FAILED);
		free(sig);
	}
}

/* SFR 4.2.11: AES-256-GCM encrypt/decrypt roundtrip (sizes 0..large), the
 * ciphertext hides the plaintext, every flipped byte or truncation is
 * VG_ERR_INTEGRITY with no plaintext, and another key cannot open it. */
static void test_keystore_aes_roundtrip_and_tamper(void **state)
{
	vgt_stack *s = *state;
	static const size_t sizes[] = {0, 1, 16, MSG_LEN, 100000};
	uint8_t *big = malloc(100000);

	assert_non_null(big);
	memset(big, 'A', 100000);
	memcpy(big, msg, MSG_LEN);
	create_ok(s, ALICE, "aes", VG_KEY_AES256, 0);
	create_ok(s, ALICE, "aes2", VG_KEY_AES256, 0);
	for (size_t i = 0; i < VG_ARRAY_LEN(sizes); i++) {
		uint8_t *ct = NULL, *pt = NULL;
		size_t ct_len = 0, pt_len = 0;
		assert_int_equal(
		    vg_keystore_encrypt(s->ks, ALICE, "aes", big, sizes[i], &ct, &ct_len), VG_OK);
		assert_int_equal(ct_len, sizes[i] + VG_SEAL_OVERHEAD);
		if (sizes[i] >= 8)
			assert_null(memmem(ct, ct_len, big, 8));
		assert_int_equal(vg_keystore_decrypt(s->ks, ALICE, "aes", ct, ct_len, &pt, &pt_len),
				 VG_OK);
		assert_int_equal(pt_len, sizes[i]);
		if (sizes[i])
			assert_memory_equal(pt, big, sizes[i]);
		vg_free(pt, pt_len);
		free(ct);
	}
	{
		uint8_t *ct = NULL, *pt;
		size_t ct_len = 0, pt_len;
		assert_int_equal(
		    vg_keystore_encrypt(s->ks, ALICE, "aes", msg, MSG_LEN, &ct, &ct_len), VG_OK);
		for (size_t i = 0; i < ct_len; i++) {
			ct[i] ^= 0x10;
			pt = (uint8_t *)&pt;
			pt_len = 5;
			assert_int_equal(
			    vg_keystore_decrypt(s->ks, ALICE, "aes", ct, ct_len, &pt, &pt_len),
			    VG_ERR_INTEGRITY);
			assert_null(pt);
			assert_int_equal(pt_len, 0);
			ct[i] ^= 0x10;
		}
		for (size_t n = 0; n < ct_len; n += 7) {
			pt = (uint8_t *)&pt;
			assert_int_equal(
			    vg_keystore_decrypt(s->ks, ALICE, "aes", ct, n, &pt, &pt_len),
			    VG_ERR_INTEGRITY);
			assert_null(pt);
		}
		assert_int_equal(
		    vg_keystore_decrypt(s->ks, ALICE, "aes2", ct, ct_len, &pt, &pt_len),
		    VG_ERR_INTEGRITY);
		assert_null(pt);
		free(ct);
	}
	free(big);
}

/* SFR 4.2.11: HMAC key material is never exported, so: the tag is
 * deterministic, depends on the message and the key, verify accepts the
 * good tag and rejects a flipped, truncated or extended one with
 * VG_ERR_VERIFY_FAILED. */
static void test_keystore_hmac_mac_and_verify(void **state)
{
	vgt_stack *s = *state;
	uint8_t t1[32], t2[32], t3[32], t4[33];

	create_ok(s, ALICE, "h", VG_KEY_HMAC256, 0);
	create_ok(s, ALICE, "h2", VG_KEY_HMAC256, 0);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, t1), VG_OK);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, t2), VG_OK);
	assert_memory_equal(t1, t2, 32);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN - 1, t3), VG_OK);
	assert_memory_not_equal(t1, t3, 32);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h2", msg, MSG_LEN, t3), VG_OK);
	assert_memory_not_equal(t1, t3, 32);

	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "h", msg, MSG_LEN, t1, 32), VG_OK);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "h2", msg, MSG_LEN, t1, 32),
			 VG_ERR_VERIFY_FAILED);
	for (size_t i = 0; i < 32; i++) {
		t2[i] ^= 0x80;
		assert_int_equal(vg_keystore_verify(s->ks, ALICE, "h", msg, MSG_LEN, t2, 32),
				 VG_ERR_VERIFY_FAILED);
		t2[i] ^= 0x80;
	}
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "h", msg, MSG_LEN, t1, 31),
			 VG_ERR_VERIFY_FAILED);
	memcpy(t4, t1, 32);
	t4[32] = 0;
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "h", msg, MSG_LEN, t4, 33),
			 VG_ERR_VERIFY_FAILED);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "h", msg, MSG_LEN, t1, 0),
			 VG_ERR_VERIFY_FAILED);
}

/* ---- isolation, lifecycle, persistence ---- */

/* SFR 4.2.11 / 4.2.10: owner 1000's key does not exist for owner 1001 (for
 * every operation, also once cached), 1001 may create its own key of the
 * same name, and the two are different keys. */
static void test_keystore_owner_isolation(void **state)
{
	vgt_stack *s = *state;
	uint8_t *out = NULL, mac[32];
	size_t len = 0, sig_len;
	uint8_t *sig;
	vg_key_info info;
	EVP_PKEY *pa, *pb;
	struct count cnt = {0};

	create_ok(s, ALICE, "k", VG_KEY_P256, 0);
	create_ok(s, ALICE, "h", VG_KEY_HMAC256, 0);
	create_ok(s, ALICE, "a", VG_KEY_AES256, 0);
	sig = sign_ok(s, ALICE, "k", &sig_len); /* now cached */

	assert_int_equal(vg_keystore_info(s->ks, BOB, "k", &info), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_sign(s->ks, BOB, "k", msg, MSG_LEN, &out, &len),
			 VG_ERR_NOT_FOUND);
	assert_null(out);
	assert_int_equal(vg_keystore_verify(s->ks, BOB, "k", msg, MSG_LEN, sig, sig_len),
			 VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_public(s->ks, BOB, "k", false, &out, &len), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_mac(s->ks, BOB, "h", msg, MSG_LEN, mac), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_encrypt(s->ks, BOB, "a", msg, MSG_LEN, &out, &len),
			 VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_delete(s->ks, BOB, "k"), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_info(s->ks, VG_OWNER_SERVICE, "k", &info), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_list(s->ks, BOB, collect_count, &cnt), VG_OK);
	assert_int_equal(cnt.n, 0);

	create_ok(s, BOB, "k", VG_KEY_P256, 0);
	pa = public_key(s, ALICE, "k");
	pb = public_key(s, BOB, "k");
	assert_int_not_equal(EVP_PKEY_eq(pa, pb), 1);
	assert_int_equal(vg_keystore_verify(s->ks, BOB, "k", msg, MSG_LEN, sig, sig_len),
			 VG_ERR_VERIFY_FAILED);
	assert_int_equal(vg_keystore_info(s->ks, ALICE, "k", &info), VG_OK);
	assert_int_equal(info.owner_uid, ALICE);
	assert_int_equal(vg_keystore_info(s->ks, BOB, "k", &info), VG_OK);
	assert_int_equal(info.owner_uid, BOB);
	EVP_PKEY_free(pa);
	EVP_PKEY_free(pb);
	free(sig);
}

/* SFR 4.2.11: the namespaces are "k/<uid>" and "k/service", so client keys
 * never share a namespace with the service's own keys. */
static void test_keystore_namespaces(void **state)
{
	vgt_stack *s = *state;
	char ns[24];
	vg_key_info info;

	vg_keystore_ns(1000, ns);
	assert_string_equal(ns, "k/1000");
	vg_keystore_ns(0, ns);
	assert_string_equal(ns, "k/0");
	vg_keystore_ns(4294967294u, ns);
	assert_string_equal(ns, "k/4294967294");
	vg_keystore_ns(VG_OWNER_SERVICE, ns);
	assert_string_equal(ns, "k/service");
	create_ok(s, VG_OWNER_SERVICE, "audit", VG_KEY_P256, 0);
	assert_int_equal(vg_keystore_info(s->ks, VG_OWNER_SERVICE, "audit", &info), VG_OK);
	assert_int_equal(info.owner_uid, VG_OWNER_SERVICE);
	assert_int_equal(vg_keystore_info(s->ks, 0, "audit", &info), VG_ERR_NOT_FOUND);
}

/* SFR 4.2.11: a key blob that claims another owner than its namespace is
 * refused with VG_ERR_INTEGRITY (a blob copied into bob's namespace does
 * not give bob alice's key). */
static void test_keystore_blob_of_other_owner_refused(void **state)
{
	vgt_stack *s = *state;
	size_t len;
	uint8_t *b, mac[32];
	vg_key_info info;

	create_ok(s, ALICE, "h", VG_KEY_HMAC256, 0);
	b = stored_blob(s, ALICE, "h", &len);
	assert_int_equal(vg_secstore_put(s->st, "k/1001", "h", b, len), VG_OK);
	assert_int_equal(vg_keystore_info(s->ks, BOB, "h", &info), VG_ERR_INTEGRITY);
	assert_int_equal(vg_keystore_mac(s->ks, BOB, "h", msg, MSG_LEN, mac), VG_ERR_INTEGRITY);
	vg_free(b, len);
}

/* SFR 4.2.11: after delete, every use is VG_ERR_NOT_FOUND (the cached copy
 * is gone too), a second delete is VG_ERR_NOT_FOUND, and the name can be
 * reused for a new, different key. */
static void test_keystore_delete_then_use_not_found(void **state)
{
	vgt_stack *s = *state;
	uint8_t *out = NULL, mac[32];
	size_t len = 0, sig_len;
	uint8_t *sig;
	vg_key_info info;
	EVP_PKEY *pk;

	create_ok(s, ALICE, "k", VG_KEY_P256, 0);
	create_ok(s, ALICE, "h", VG_KEY_HMAC256, 0);
	sig = sign_ok(s, ALICE, "k", &sig_len); /* cached */
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, mac), VG_OK);
	assert_int_equal(vg_keystore_delete(s->ks, ALICE, "k"), VG_OK);
	assert_int_equal(vg_keystore_delete(s->ks, ALICE, "h"), VG_OK);
	assert_int_equal(vg_keystore_sign(s->ks, ALICE, "k", msg, MSG_LEN, &out, &len),
			 VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "k", msg, MSG_LEN, sig, sig_len),
			 VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_info(s->ks, ALICE, "k", &info), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_public(s->ks, ALICE, "k", true, &out, &len), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, mac), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_delete(s->ks, ALICE, "k"), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_keystore_delete(s->ks, ALICE, "never"), VG_ERR_NOT_FOUND);

	create_ok(s, ALICE, "k", VG_KEY_P256, 0);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "k", msg, MSG_LEN, sig, sig_len),
			 VG_ERR_VERIFY_FAILED);
	pk = public_key(s, ALICE, "k");
	assert_int_not_equal(openssl_verify(pk, "SHA256", sig, sig_len, msg, MSG_LEN), 1);
	EVP_PKEY_free(pk);
	free(sig);
}

/* SFR 4.2.11 / 4.2.4: keys persist across a restart of the whole stack:
 * the same public key, signatures made before verify after, ciphertexts
 * made before decrypt after, the same HMAC tags, the same info. */
static void test_keystore_persists_across_reopen(void **state)
{
	vgt_stack *s = *state;
	uint8_t *sig, *esig, *ct = NULL, *pt = NULL, t1[32], t2[32];
	size_t sig_len, esig_len, ct_len = 0, pt_len = 0;
	EVP_PKEY *before, *after;
	vg_key_info i1, i2;
	struct count c = {0};

	create_ok(s, ALICE, "p", VG_KEY_P256, VG_USE_SIGN | VG_USE_VERIFY);
	create_ok(s, ALICE, "e", VG_KEY_ED25519, 0);
	create_ok(s, ALICE, "a", VG_KEY_AES256, 0);
	create_ok(s, ALICE, "h", VG_KEY_HMAC256, 0);
	sig = sign_ok(s, ALICE, "p", &sig_len);
	esig = sign_ok(s, ALICE, "e", &esig_len);
	before = public_key(s, ALICE, "p");
	assert_int_equal(vg_keystore_encrypt(s->ks, ALICE, "a", msg, MSG_LEN, &ct, &ct_len), VG_OK);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, t1), VG_OK);
	assert_int_equal(vg_keystore_info(s->ks, ALICE, "p", &i1), VG_OK);

	assert_int_equal(vgt_stack_reopen(s), VG_OK);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "p", msg, MSG_LEN, sig, sig_len), VG_OK);
	assert_int_equal(vg_keystore_verify(s->ks, ALICE, "e", msg, MSG_LEN, esig, esig_len),
			 VG_OK);
	after = public_key(s, ALICE, "p");
	assert_int_equal(EVP_PKEY_eq(before, after), 1);
	assert_int_equal(vg_keystore_decrypt(s->ks, ALICE, "a", ct, ct_len, &pt, &pt_len), VG_OK);
	assert_int_equal(pt_len, MSG_LEN);
	assert_memory_equal(pt, msg, MSG_LEN);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, t2), VG_OK);
	assert_memory_equal(t1, t2, 32);
	assert_int_equal(vg_keystore_info(s->ks, ALICE, "p", &i2), VG_OK);
	assert_memory_equal(&i1, &i2, sizeof i1);
	assert_int_equal(vg_keystore_list(s->ks, ALICE, collect_count, &c), VG_OK);
	assert_int_equal(c.n, 4);
	vg_free(pt, pt_len);
	free(ct);
	free(sig);
	free(esig);
	EVP_PKEY_free(before);
	EVP_PKEY_free(after);
}

/* SFR 4.2.11: more keys in use than the cache holds: evicted keys are
 * reloaded from storage and still give the same results. */
static void test_keystore_cache_eviction_keeps_keys(void **state)
{
	vgt_stack *s = *state;
	enum { N = 140 };
	static uint8_t tags[N][32];
	uint8_t t[32];

	for (int i = 0; i < N; i++) {
		char name[16];
		(void)snprintf(name, sizeof name, "h%03d", i);
		create_ok(s, ALICE, name, VG_KEY_HMAC256, 0);
		assert_int_equal(vg_keystore_mac(s->ks, ALICE, name, msg, MSG_LEN, tags[i]), VG_OK);
	}
	for (int i = 0; i < N; i++) {
		char name[16];
		(void)snprintf(name, sizeof name, "h%03d", i);
		assert_int_equal(vg_keystore_mac(s->ks, ALICE, name, msg, MSG_LEN, t), VG_OK);
		assert_memory_equal(t, tags[i], 32);
		if (i > 0)
			assert_memory_not_equal(tags[i], tags[i - 1], 32);
	}
}

/* SFR 4.2.11 / 4.2.4: a store that stopped trusting its data (rollback or
 * integrity) stops the keystore too, even for keys already cached. */
static void test_keystore_refuses_when_store_refuses(void **state)
{
	vgt_stack *s = *state;
	uint8_t mac[32];

	create_ok(s, ALICE, "h", VG_KEY_HMAC256, 0);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, mac), VG_OK);
	vg_db_set_state(s->db, VG_ERR_ROLLBACK);
	assert_int_equal(vg_keystore_mac(s->ks, ALICE, "h", msg, MSG_LEN, mac), VG_ERR_ROLLBACK);
	assert_int_equal(vg_keystore_create(s->ks, ALICE, "h2", VG_KEY_HMAC256, 0),
			 VG_ERR_ROLLBACK);
}

/* ---- no export ---- */

/* SFR 4.2.11: no API returns private or secret material: public() of a
 * symmetric key is VG_ERR_POLICY, public() of an asymmetric key holds no
 * private part, and no secret appears in any file of the state dir. */
static void test_keystore_no_export_of_secret_material(void **state)
{
	vgt_stack *s = *state;
	uint8_t *out = (uint8_t *)&out, *b, *der;
	size_t len = 3, blen, dlen;
	vg_key_info info;
	EVP_PKEY *pk = NULL;
	uint8_t *secret = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;

	create_ok(s, ALICE, "a", VG_KEY_AES256, 0);
	create_ok(s, ALICE, "h", VG_KEY_HMAC256, 0);
	create_ok(s, ALICE, "p", VG_KEY_P256, 0);
	assert_int_equal(vg_keystore_public(s->ks, ALICE, "a", false, &out, &len), VG_ERR_POLICY);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(vg_keystore_public(s->ks, ALICE, "h", true, &out, &len), VG_ERR_POLICY);
	assert_null(out);

	/* The DER is a bare public key: OpenSSL finds no private part in it. */
	assert_int_equal(vg_keystore_public(s->ks, ALICE, "p", false, &der, &dlen), VG_OK);
	p = der;
	pub = d2i_PUBKEY(NULL, &p, (long)dlen);
	assert_non_null(pub);
	{
		BIGNUM *priv = NULL;
		assert_int_equal(EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 0);
		assert_null(priv);
	}
	EVP_PKEY_free(pub);

	/* The secrets, read back through the store (a test-only path), are in
	 * no file of the state dir: they are stored sealed. */
	b = stored_blob(s, ALICE, "a", &blen);
	assert_int_equal(vg_keystore_blob_decode(b, blen, &info, &pk, &secret), VG_OK);
	assert_int_equal(vgt_dir_grep(s->dir, secret, VG_KEY_LEN), 0);
	assert_int_equal(vgt_dir_grep(s->dir, b, blen), 0);
	vg_secret_free(secret, VG_KEY_LEN);
	vg_free(b, blen);
	b = stored_blob(s, ALICE, "p", &blen);
	assert_int_equal(vgt_dir_grep(s->dir, b + 23, blen - 23), 0);
	vg_free(b, blen);
	vgt_stack_close(s);
	assert_int_equal(vgt_dir_grep(s->dir, "VGK1", 4), 0);
	free(der);
}

/* ---- the key-blob decoder ---- */

/* SFR 4.2.11: a stored blob of each type decodes to its info and key. */
static void test_keystore_blob_decode_valid(void **state)
{
	vgt_stack *s = *state;
	static const vg_key_type types[] = {VG_KEY_P256, VG_KEY_ED25519, VG_KEY_AES256,
					    VG_KEY_HMAC256, VG_KEY_X25519};
	static const char *const names[] = {"p", "e", "a", "h", "x"};

	for (size_t i = 0; i < VG_ARRAY_LEN(types); i++) {
		size_t len;
		uint8_t *b;
		vg_key_info info;
		EVP_PKEY *pk = NULL;
		uint8_t *secret = NULL;

		create_ok(s, ALICE, names[i], types[i], 0);
		b = stored_blob(s, ALICE, names[i], &len);
		assert_memory_equal(b, "VGK1", 4);
		assert_int_equal(vg_keystore_blob_decode(b, len, &info, &pk, &secret), VG_OK);
		assert_int_equal(info.type, types[i]);
		assert_int_equal(info.usage, vg_key_type_usage_allowed(types[i]));
		assert_int_equal(info.owner_uid, ALICE);
		if (types[i] == VG_KEY_P256 || types[i] == VG_KEY_ED25519 ||
		    types[i] == VG_KEY_X25519) {
			assert_non_null(pk);
			assert_null(secret);
		} else {
			assert_null(pk);
			assert_non_null(secret);
		}
		EVP_PKEY_free(pk);
		vg_secret_free(secret, VG_KEY_LEN);
		vg_free(b, len);
	}
}

/* SFR 4.2.11 (stored data is hostile): a blob truncated at any byte is
 * VG_ERR_INTEGRITY. */
static void test_keystore_blob_decode_rejects_truncated(void **state)
{
	vgt_stack *s = *state;
	static const char *const names[] = {"p", "e", "a"};

	create_ok(s, ALICE, "p", VG_KEY_P256, 0);
	create_ok(s, ALICE, "e", VG_KEY_ED25519, 0);
	create_ok(s, ALICE, "a", VG_KEY_AES256, 0);
	for (size_t k = 0; k < VG_ARRAY_LEN(names); k++) {
		size_t len;
		uint8_t *b = stored_blob(s, ALICE, names[k], &len);
		for (size_t i = 0; i < len; i++) {
			uint8_t *c = malloc(i ? i : 1);
			assert_non_null(c);
			memcpy(c, b, i);
			assert_decode_fails(c, i);
			free(c);
		}
		vg_free(b, len);
	}
}

/* SFR 4.2.11 (stored data is hostile): wrong magic, usage bits outside
 * the type, a secret length that does not match, unknown types: all
 * VG_ERR_INTEGRITY. */
static void test_keystore_blob_decode_rejects_bad_header(void **state)
{
	vgt_stack *s = *state;
	size_t len;
	uint8_t *b, *c;
	vg_key_info info;
	static const uint8_t key32[32] = {7};

	create_ok(s, ALICE, "p", VG_KEY_P256, 0);
	b = stored_blob(s, ALICE, "p", &len);
	decode_ok(b, len, &info);
	for (int i = 0; i < 4; i++) {
		b[i] ^= 0x20;
		assert_decode_fails(b, len);
		b[i] ^= 0x20;
	}
	/* Usage bits outside the type, and undefined bits. */
	b[8] |= VG_USE_ENCRYPT;
	assert_decode_fails(b, len);
	b[8] &= (uint8_t)~VG_USE_ENCRYPT;
	b[8] |= VG_USE_MAC;
	assert_decode_fails(b, len);
	b[8] &= (uint8_t)~VG_USE_MAC;
	b[5] = 0x80;
	assert_decode_fails(b, len);
	b[5] = 0;
	decode_ok(b, len, &info);
	/* Secret length off by one either way, zero, and all ones. */
	b[22]++;
	assert_decode_fails(b, len);
	b[22] -= 2;
	assert_decode_fails(b, len);
	b[22]++;
	c = malloc(len);
	assert_non_null(c);
	memcpy(c, b, len);
	c[21] = c[22] = 0;
	assert_decode_fails(c, len);
	c[21] = c[22] = 0xff;
	assert_decode_fails(c, len);
	free(c);
	/* The type byte changed to an unknown or another type. */
	b[4] = 0;
	assert_decode_fails(b, len);
	b[4] = 5;
	assert_decode_fails(b, len);
	b[4] = 0xff;
	assert_decode_fails(b, len);
	b[4] = VG_KEY_AES256; /* usage SIGN|VERIFY is outside AES */
	assert_decode_fails(b, len);
	vg_free(b, len);

	/* Hand-built symmetric blobs: 31 or 33 bytes of secret, usage outside. */
	b = make_blob(VG_KEY_AES256, VG_USE_ENCRYPT, ALICE, key32, 32, &len);
	decode_ok(b, len, &info);
	assert_int_equal(info.created, 42);
	free(b);
	b = make_blob(VG_KEY_AES256, VG_USE_ENCRYPT, ALICE, key32, 31, &len);
	assert_decode_fails(b, len);
	free(b);
	b = make_blob(VG_KEY_HMAC256, VG_USE_MAC, ALICE, key32, 32, &len);
	b[len++] = 0; /* one byte more than the header says */
	assert_decode_fails(b, len);
	free(b);
	b = make_blob(VG_KEY_HMAC256, VG_USE_SIGN, ALICE, key32, 32, &len);
	assert_decode_fails(b, len);
	free(b);
	b = make_blob((vg_key_type)9, 0, ALICE, key32, 32, &len);
	assert_decode_fails(b, len);
	free(b);
}

/* SFR 4.2.11 (stored data is hostile): a P-256 blob carrying an EC key on
 * another curve (P-384, or secp256k1 of the same size), an Ed25519 or
 * X25519 key, trailing bytes after the DER, or garbage DER: all
 * VG_ERR_INTEGRITY; an Ed25519 blob carrying a P-256 key likewise. */
static void test_keystore_blob_decode_rejects_wrong_curve_and_der(void **state)
{
	static const struct {
		vg_key_type type;
		const char *alg, *group;
	} wrong[] = {
	    {VG_KEY_P256, "EC", "P-384"},    {VG_KEY_P256, "EC", "secp256k1"},
	    {VG_KEY_P256, "ED25519", NULL},  {VG_KEY_P256, "X25519", NULL},
	    {VG_KEY_ED25519, "EC", "P-256"}, {VG_KEY_ED25519, "X25519", NULL},
	    {VG_KEY_ED25519, "ED448", NULL}, {VG_KEY_P384, "EC", "P-256"},
	    {VG_KEY_P384, "EC", "P-521"},    {VG_KEY_P384, "ED25519", NULL},
	    {VG_KEY_X25519, "ED25519", NULL}, {VG_KEY_X25519, "EC", "P-256"},
	    {VG_KEY_X25519, "X448", NULL},
	};
	size_t dl, bl;
	uint8_t *der, *b, *t;
	vg_key_info info;

	(void)state;
	/* The hand-built blob format is right: a real P-256 DER decodes. */
	der = fresh_der("EC", "P-256", &dl);
	b = make_blob(VG_KEY_P256, VG_USE_SIGN, ALICE, der, dl, &bl);
	decode_ok(b, bl, &info);
	free(b);
	/* Trailing byte inside the declared secret. */
	t = malloc(dl + 1);
	assert_non_null(t);
	memcpy(t, der, dl);
	t[dl] = 0;
	b = make_blob(VG_KEY_P256, VG_USE_SIGN, ALICE, t, dl + 1, &bl);
	assert_decode_fails(b, bl);
	free(b);
	/* A flipped byte in the DER's structure. */
	t[0] ^= 0x01;
	b = make_blob(VG_KEY_P256, VG_USE_SIGN, ALICE, t, dl, &bl);
	assert_decode_fails(b, bl);
	free(b);
	free(t);
	free(der);
	der = fresh_der("ED25519", NULL, &dl);
	b = make_blob(VG_KEY_ED25519, VG_USE_SIGN, ALICE, der, dl, &bl);
	decode_ok(b, bl, &info);
	free(b);
	free(der);

	for (size_t i = 0; i < VG_ARRAY_LEN(wrong); i++) {
		der = fresh_der(wrong[i].alg, wrong[i].group, &dl);
		/* A usage the type allows, so that only the key can be wrong. */
		b = make_blob(wrong[i].type,
			      wrong[i].type == VG_KEY_X25519 ? VG_USE_DERIVE : VG_USE_SIGN, ALICE,
			      der, dl, &bl);
		{
			EVP_PKEY *pk = NULL;
			uint8_t *secret = NULL;
			vg_rc rc = vg_keystore_blob_decode(b, bl, &info, &pk, &secret);
			EVP_PKEY_free(pk);
			vg_secret_free(secret, VG_KEY_LEN);
			if (rc != VG_ERR_INTEGRITY)
				fail_msg("%s/%s key in a %s blob: rc %d", wrong[i].alg,
					 wrong[i].group ? wrong[i].group : "-",
					 vg_key_type_str(wrong[i].type), rc);
		}
		free(b);
		free(der);
	}
}

static void assert_key_count(vgt_stack *s, uint32_t owner, uint64_t want)
{
	uint64_t n = 99;

	assert_int_equal(vg_keystore_count(s->ks, owner, &n), VG_OK);
	assert_int_equal(n, want);
}

/* SFR 4.2.8 note 7, profile 2.3.1: a stream key is decapsulated with a
 * keystore key: X25519 for DHKEM(X25519), P-256 for DHKEM(P-256), the
 * same KEM shared secret as the sender's in-process Encap and AuthEncap;
 * the private key is handed out only as a reference inside the service.
 * Refused: a key without DERIVE usage, a key of the other KEM's type, a
 * signing-only type, another kem, another uid's key. */
static void test_keystore_kem_key_decapsulates(void **state)
{
	vgt_stack *s = *state;
	static const struct {
		vg_key_type type;
		uint16_t kem;
	} kinds[] = {{VG_KEY_X25519, VG_HPKE_KEM_X25519_SHA256},
		     {VG_KEY_P256, VG_HPKE_KEM_P256_SHA256}};

	for (size_t i = 0; i < VG_ARRAY_LEN(kinds); i++) {
		vg_hpke_suite suite = {kinds[i].kem, VG_HPKE_KDF_SHA256, VG_HPKE_AEAD_AES128GCM};
		EVP_PKEY *sk = NULL, *skS = NULL;
		uint8_t pk[VG_HPKE_MAX_PK], pkS[VG_HPKE_MAX_PK], enc[VG_HPKE_MAX_ENC];
		uint8_t ss[32], ss2[32];
		size_t pk_len = 0, pkS_len = 0, enc_len = 0;

		create_ok(s, ALICE, "r", kinds[i].type, 0);
		assert_int_equal(vg_keystore_kem_key(s->ks, ALICE, "r", kinds[i].kem, &sk), VG_OK);
		assert_non_null(sk);
		assert_int_equal(vg_hpke_pk_to_raw(kinds[i].kem, sk, pk, &pk_len), VG_OK);
		/* Base mode. */
		assert_int_equal(vg_hpke_encap(&suite, pk, pk_len, NULL, NULL, 0, enc, &enc_len, ss),
				 VG_OK);
		assert_int_equal(vg_hpke_decap(&suite, enc, enc_len, sk, NULL, 0, ss2), VG_OK);
		assert_memory_equal(ss, ss2, sizeof ss);
		/* Auth mode, the sender's key in the keystore too. */
		create_ok(s, ALICE, "s", kinds[i].type, VG_USE_DERIVE);
		assert_int_equal(vg_keystore_kem_key(s->ks, ALICE, "s", kinds[i].kem, &skS), VG_OK);
		assert_int_equal(vg_hpke_pk_to_raw(kinds[i].kem, skS, pkS, &pkS_len), VG_OK);
		assert_int_equal(vg_hpke_encap(&suite, pk, pk_len, skS, NULL, 0, enc, &enc_len, ss),
				 VG_OK);
		assert_int_equal(vg_hpke_decap(&suite, enc, enc_len, sk, pkS, pkS_len, ss2), VG_OK);
		assert_memory_equal(ss, ss2, sizeof ss);
		/* The wrong sender gives another secret. */
		assert_int_equal(vg_hpke_decap(&suite, enc, enc_len, sk, pk, pk_len, ss2), VG_OK);
		assert_memory_not_equal(ss, ss2, sizeof ss);
		EVP_PKEY_free(sk);
		EVP_PKEY_free(skS);
		sk = skS = NULL;
		/* The other KEM, with this key: refused by type. */
		assert_int_equal(vg_keystore_kem_key(s->ks, ALICE, "r",
						     kinds[i].kem == VG_HPKE_KEM_P256_SHA256
							 ? VG_HPKE_KEM_X25519_SHA256
							 : VG_HPKE_KEM_P256_SHA256,
						     &sk),
				 VG_ERR_POLICY);
		assert_null(sk);
		/* Another uid's key does not exist for BOB. */
		assert_int_equal(vg_keystore_kem_key(s->ks, BOB, "r", kinds[i].kem, &sk),
				 VG_ERR_NOT_FOUND);
		assert_int_equal(vg_keystore_delete(s->ks, ALICE, "r"), VG_OK);
		assert_int_equal(vg_keystore_delete(s->ks, ALICE, "s"), VG_OK);
		vg_wipe(ss, sizeof ss);
		vg_wipe(ss2, sizeof ss2);
	}
	/* A P-256 key whose usage leaves out derive. */
	create_ok(s, ALICE, "signer", VG_KEY_P256, VG_USE_SIGN | VG_USE_VERIFY);
	{
		EVP_PKEY *sk = NULL;
		assert_int_equal(
		    vg_keystore_kem_key(s->ks, ALICE, "signer", VG_HPKE_KEM_P256_SHA256, &sk),
		    VG_ERR_POLICY);
		assert_null(sk);
		create_ok(s, ALICE, "ed", VG_KEY_ED25519, 0);
		assert_int_equal(
		    vg_keystore_kem_key(s->ks, ALICE, "ed", VG_HPKE_KEM_X25519_SHA256, &sk),
		    VG_ERR_POLICY);
		create_ok(s, ALICE, "x", VG_KEY_X25519, 0);
		assert_int_equal(vg_keystore_kem_key(s->ks, ALICE, "x", 0x0021, &sk),
				 VG_ERR_UNSUPPORTED);
		assert_null(sk);
		/* An X25519 key signs nothing. */
		{
			uint8_t *sig = NULL;
			size_t sig_len = 0;
			assert_int_equal(
			    vg_keystore_sign(s->ks, ALICE, "x", (const uint8_t *)"m", 1, &sig, &sig_len),
			    VG_ERR_POLICY);
			assert_null(sig);
		}
	}
}

static void test_keystore_quota_max_keys(void **state)
{
	vgt_stack *s = *state;

	/* SFR 4.2.10, 4.2.11: an owner cannot hold more keys than its quota */
	assert_key_count(s, 1000, 0);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1000, "k1", VG_KEY_AES256, 0, 2), VG_OK);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1000, "k2", VG_KEY_P256, 0, 2), VG_OK);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1000, "k3", VG_KEY_HMAC256, 0, 2),
			 VG_ERR_QUOTA);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1000, "k1", VG_KEY_AES256, 0, 2),
			 VG_ERR_EXISTS); /* the name, first */
	assert_key_count(s, 1000, 2);
	/* the refused key does not exist */
	{
		vg_key_info info;
		assert_int_equal(vg_keystore_info(s->ks, 1000, "k3", &info), VG_ERR_NOT_FOUND);
	}
	/* another owner's quota and the service's keys are untouched */
	assert_int_equal(vg_keystore_create_quota(s->ks, 1001, "k1", VG_KEY_AES256, 0, 2), VG_OK);
	assert_int_equal(vg_keystore_create(s->ks, VG_OWNER_SERVICE, "svc", VG_KEY_P256, 0), VG_OK);
	assert_key_count(s, 1001, 1);
	assert_key_count(s, VG_OWNER_SERVICE, 1);
	/* a delete gives the slot back, exactly once */
	assert_int_equal(vg_keystore_delete(s->ks, 1000, "k1"), VG_OK);
	assert_key_count(s, 1000, 1);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1000, "k3", VG_KEY_HMAC256, 0, 2), VG_OK);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1000, "k4", VG_KEY_HMAC256, 0, 2),
			 VG_ERR_QUOTA);
	assert_int_equal(
	    vg_keystore_create_quota(s->ks, 1000, "k4", VG_KEY_HMAC256, 0, VG_KEYS_UNLIMITED),
	    VG_OK);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1002, "k", VG_KEY_HMAC256, 0, 0),
			 VG_ERR_QUOTA);
	assert_int_equal(vgt_stack_reopen(s), VG_OK);
	assert_key_count(s, 1000, 3);
	/* SFR 4.2.12: a crypto-erase empties every owner's count */
	assert_int_equal(vg_secstore_crypto_erase(s->st, true), VG_OK);
	vg_keystore_forget(s->ks);
	assert_key_count(s, 1000, 0);
	assert_key_count(s, VG_OWNER_SERVICE, 1);
}

static void test_keystore_quota_create_refused_on_nearly_full_disk(void **state)
{
	vgt_stack *s = *state;
	vg_reserve *r = NULL;
	uint64_t free_bytes = 0;

	/* SFR 4.2.4: with the file system below the reserve an application's
	 * key create is "quota exceeded"; the service's own still works */
	assert_int_equal(vg_reserve_open(&r, s->dir, 0), VG_OK);
	assert_int_equal(vg_reserve_fs_free(r, &free_bytes), VG_OK);
	vg_reserve_close(&r);
	assert_int_equal(vg_reserve_open(&r, s->dir, free_bytes + (UINT64_C(1) << 30)), VG_OK);
	vg_db_set_reserve(s->db, r);
	assert_int_equal(vg_keystore_create_quota(s->ks, 1000, "k", VG_KEY_AES256, 0, 10),
			 VG_ERR_QUOTA);
	assert_int_equal(vg_keystore_create(s->ks, 1000, "k", VG_KEY_AES256, 0), VG_ERR_QUOTA);
	assert_int_equal(vg_keystore_create(s->ks, VG_OWNER_SERVICE, "k", VG_KEY_AES256, 0), VG_OK);
	assert_key_count(s, 1000, 0);
	vg_db_set_reserve(s->db, NULL);
	vg_reserve_close(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, vgt_stack_setup, vgt_stack_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_keystore_create_each_type_default_and_explicit),
	    T(test_keystore_create_usage_outside_type_policy),
	    T(test_keystore_create_rejects_bad_type_and_name),
	    T(test_keystore_duplicate_create_exists),
	    T(test_keystore_operation_outside_usage_policy),
	    T(test_keystore_p256_signature_verifies_with_openssl),
	    T(test_keystore_ed25519_signature_verifies_with_openssl),
	    T(test_keystore_p384_signature_verifies_with_openssl),
	    T(test_keystore_sign_digest),
	    T(test_keystore_signer_copies),
	    T(test_keystore_verify_rejects_flipped_signature),
	    T(test_keystore_aes_roundtrip_and_tamper),
	    T(test_keystore_hmac_mac_and_verify),
	    T(test_keystore_owner_isolation),
	    T(test_keystore_namespaces),
	    T(test_keystore_blob_of_other_owner_refused),
	    T(test_keystore_delete_then_use_not_found),
	    T(test_keystore_persists_across_reopen),
	    T(test_keystore_cache_eviction_keeps_keys),
	    T(test_keystore_refuses_when_store_refuses),
	    T(test_keystore_no_export_of_secret_material),
	    T(test_keystore_blob_decode_valid),
	    T(test_keystore_blob_decode_rejects_truncated),
	    T(test_keystore_blob_decode_rejects_bad_header),
	    T(test_keystore_blob_decode_rejects_wrong_curve_and_der),
	    T(test_keystore_kem_key_decapsulates),
	    T(test_keystore_quota_max_keys),
	    T(test_keystore_quota_create_refused_on_nearly_full_disk),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
