/*
 * test_psa_token.c - PSA attestation tokens (src/attest/psa_token.h).
 *
 * SFR 4.2.3 (attestation of genuineness): the verifier accepts the public
 * RFC 9783 and Trusted Firmware-M tokens with their keys, labels their
 * profile, and rejects every forged, tampered, replayed, truncated or
 * malformed token; the encoder's tokens verify and bind the instance ID to
 * the key. The vectors are tests/vectors/psa/ (README.md there), compiled
 * in as tests/vectors/psa_vectors.h so the test runs from any directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest/psa_token.h"
#include "common/util.h"
#include "proto/wire.h"
#include "vectors/psa_vectors.h"

#define V(name) psa_##name, psa_##name##_len

static const char rfc_instance_id_of_key[] =
    "01399c843e8d71167061d8fbb1e9423dd857932cb4bc9894ba9793d776a3813e22";

/* ---- keys and signing ---- */

static EVP_PKEY *pem_key(const unsigned char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	assert_non_null(pk);
	return pk;
}

static EVP_PKEY *fresh_key(void)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");

	assert_non_null(pk);
	return pk;
}

struct der {
	uint8_t buf[256];
	size_t len;
};

static void pub_der(EVP_PKEY *pk, struct der *d)
{
	unsigned char *p = d->buf;
	int n = i2d_PUBKEY(pk, NULL);

	assert_true(n > 0 && (size_t)n <= sizeof d->buf);
	assert_int_equal(i2d_PUBKEY(pk, &p), n);
	d->len = (size_t)n;
}

static int sign_calls;

/* The vg_psa_sign_fn a keystore would be: DER ECDSA over SHA-256. */
static vg_rc sign_cb(void *ctx, const uint8_t *tbs, size_t len, uint8_t **sig, size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 0;

	sign_calls++;
	*sig = NULL;
	*sig_len = 0;
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ctx), 1);
	assert_int_equal(EVP_DigestSign(md, NULL, &n, tbs, len), 1);
	*sig = malloc(n);
	assert_non_null(*sig);
	assert_int_equal(EVP_DigestSign(md, *sig, &n, tbs, len), 1);
	*sig_len = n;
	EVP_MD_CTX_free(md);
	return VG_OK;
}

static vg_rc sign_fails(void *ctx, const uint8_t *tbs, size_t len, uint8_t **sig, size_t *n)
{
	*sig = NULL;
	*n = 0;
	return VG_ERR_DENIED;
}

static vg_rc sign_garbage(void *ctx, const uint8_t *tbs, size_t len, uint8_t **sig, size_t *n)
{
	*sig = malloc(8);
	assert_non_null(*sig);
	memset(*sig, 0x30, 8);
	*n = 8;
	return VG_OK;
}

/* ---- an independent COSE_Sign1 builder, to forge tokens in tests ---- */

struct buf {
	uint8_t p[4096];
	size_t len;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(n <= sizeof b->p - b->len);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_byte(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_head(struct buf *b, unsigned major, uint64_t n)
{
	uint8_t h[9];
	size_t k = cbor_encode_uint(n, h, sizeof h);

	h[0] |= (uint8_t)(major << 5);
	put(b, h, k);
}

static void put_int(struct buf *b, int64_t v)
{
	if (v >= 0)
		put_head(b, 0, (uint64_t)v);
	else
		put_head(b, 1, (uint64_t)(-1 - v));
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	put_head(b, 2, n);
	put(b, p, n);
}

static void put_text(struct buf *b, const char *s)
{
	put_head(b, 3, strlen(s));
	put(b, s, strlen(s));
}

enum sig_form { SIG_RAW, SIG_DER };

/* Tagged COSE_Sign1 over payload with protected header prot, signed by pk
 * (raw r||s or, to test its rejection, DER). */
static void sign1(EVP_PKEY *pk, const uint8_t *prot, size_t prot_len, const uint8_t *payload,
		  size_t payload_len, enum sig_form form, struct buf *out)
{
	struct buf tbs = {.len = 0};
	uint8_t *der = NULL, raw[64];
	size_t der_len = 0;
	const unsigned char *dp;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	put_head(&tbs, 4, 4);
	put_text(&tbs, "Signature1");
	put_bytes(&tbs, prot, prot_len);
	put_bytes(&tbs, "", 0);
	put_bytes(&tbs, payload, payload_len);
	assert_int_equal(sign_cb(pk, tbs.p, tbs.len, &der, &der_len), VG_OK);
	dp = der;
	es = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
	assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
	ECDSA_SIG_free(es);

	out->len = 0;
	put_head(out, 6, 18);
	put_head(out, 4, 4);
	put_bytes(out, prot, prot_len);
	put_head(out, 5, 0);
	put_bytes(out, payload, payload_len);
	if (form == SIG_RAW)
		put_bytes(out, raw, sizeof raw);
	else
		put_bytes(out, der, der_len);
	free(der);
}

static const uint8_t es256_prot[] = {0xa1, 0x01, 0x26};

/* ---- claim sets to forge: key -> encoded value ---- */

struct ent {
	int64_t key;
	struct buf val;
	bool skip;
};

#define N_BASE 11
static const uint8_t nonce32[32] = {[0 ... 31] = 0xa5};

static void base_entries(struct ent e[N_BASE], const uint8_t instance_id[33])
{
	uint8_t impl[32] = {[0 ... 31] = 0x11}, seed[16] = {[0 ... 15] = 0x22},
		meas[32] = {[0 ... 31] = 0x33}, signer[32] = {[0 ... 31] = 0x44};
	int i = 0;

	memset(e, 0, sizeof(struct ent) * N_BASE);
	e[i].key = 265;
	put_text(&e[i++].val, VG_PSA_PROFILE_RFC9783_NAME);
	e[i].key = 10;
	put_bytes(&e[i++].val, nonce32, sizeof nonce32);
	e[i].key = 256;
	put_bytes(&e[i++].val, instance_id, 33);
	e[i].key = 2396;
	put_bytes(&e[i++].val, impl, sizeof impl);
	e[i].key = 2394;
	put_int(&e[i++].val, -1);
	e[i].key = 2395;
	put_int(&e[i++].val, 0x3000);
	e[i].key = 268;
	put_bytes(&e[i++].val, seed, sizeof seed);
	e[i].key = 2398;
	put_text(&e[i++].val, "1234567890123-12345");
	e[i].key = 2400;
	put_text(&e[i++].val, "https://verifier.example");
	e[i].key = 2399;
	put_head(&e[i].val, 4, 1);
	put_head(&e[i].val, 5, 3);
	put_int(&e[i].val, 1);
	put_text(&e[i].val, "PRoT");
	put_int(&e[i].val, 2);
	put_bytes(&e[i].val, meas, sizeof meas);
	put_int(&e[i].val, 5);
	put_bytes(&e[i++].val, signer, sizeof signer);
	e[i].key = 4242; /* unknown claims are ignored (RFC 9783 baseline) */
	put_text(&e[i++].val, "extension");
	assert_int_equal(i, N_BASE);
}

static struct ent *find_ent(struct ent *e, int64_t key)
{
	for (int i = 0; i < N_BASE; i++)
		if (e[i].key == key)
			return &e[i];
	fail_msg("no claim %lld", (long long)key);
	return NULL;
}

static void payload_of(const struct ent *e, struct buf *out)
{
	size_t n = 0;

	out->len = 0;
	for (int i = 0; i < N_BASE; i++)
		n += !e[i].skip;
	put_head(out, 5, n);
	for (int i = 0; i < N_BASE; i++) {
		if (e[i].skip)
			continue;
		put_int(out, e[i].key);
		put(out, e[i].val.p, e[i].val.len);
	}
}

struct fixture {
	EVP_PKEY *pk;
	struct der pub;
	uint8_t instance_id[33];
	struct ent e[N_BASE];
};

static void fixture_init(struct fixture *f)
{
	f->pk = fresh_key();
	pub_der(f->pk, &f->pub);
	assert_int_equal(vg_psa_instance_id(f->pub.buf, f->pub.len, f->instance_id), VG_OK);
	base_entries(f->e, f->instance_id);
}

static vg_rc verify_entries(struct fixture *f, vg_psa_claims *out)
{
	struct buf payload, tok;
	char why[128];

	payload_of(f->e, &payload);
	sign1(f->pk, es256_prot, sizeof es256_prot, payload.p, payload.len, SIG_RAW, &tok);
	return vg_psa_token_verify(tok.p, tok.len, f->pub.buf, f->pub.len, NULL, out, NULL, why,
				   sizeof why);
}

static vg_rc verify_vec(const uint8_t *tok, size_t len, const unsigned char *pem, size_t pem_len,
			const vg_psa_verify_opts *o, vg_psa_claims *c, vg_psa_profile *p)
{
	EVP_PKEY *pk = pem_key(pem, pem_len);
	struct der d;
	char why[160];
	vg_rc rc;

	pub_der(pk, &d);
	rc = vg_psa_token_verify(tok, len, d.buf, d.len, o, c, p, why, sizeof why);
	if (rc != VG_OK)
		assert_true(why[0] != '\0');
	EVP_PKEY_free(pk);
	return rc;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static bool is_zero(const void *p, size_t n)
{
	return all_bytes(p, n, 0);
}

/* Every single-bit flip and every byte complement of tok must fail. */
static size_t flips_rejected(const uint8_t *tok, size_t len, const unsigned char *pem,
			     size_t pem_len)
{
	EVP_PKEY *pk = pem_key(pem, pem_len);
	struct der d;
	uint8_t *t = malloc(len);
	size_t rejected = 0;
	vg_psa_claims c;

	assert_non_null(t);
	pub_der(pk, &d);
	for (size_t i = 0; i < len; i++) {
		for (unsigned m = 0; m < 9; m++) {
			vg_rc rc;

			memcpy(t, tok, len);
			t[i] ^= m < 8 ? (uint8_t)(1u << m) : 0xff;
			rc = vg_psa_token_verify(t, len, d.buf, d.len, NULL, &c, NULL, NULL, 0);
			if (rc == VG_OK)
				fail_msg("flip of byte %zu mask %u accepted", i, m);
			assert_true(rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_PROTOCOL ||
				    rc == VG_ERR_UNSUPPORTED || rc == VG_ERR_TOO_LARGE);
			assert_true(is_zero(&c, sizeof c));
			rejected++;
		}
	}
	free(t);
	EVP_PKEY_free(pk);
	return rejected;
}

/* ---- the RFC 9783 Appendix A tokens ---- */

static void test_psa_token_rfc_sign1_verifies(void **state)
{
	/* SFR 4.2.3: the RFC 9783 Appendix A COSE_Sign1 token verifies with its key */
	vg_psa_claims c;
	vg_psa_profile p = 0;
	uint8_t ones[32];

	memset(ones, 0x01, sizeof ones);
	vg_psa_verify_opts o = {.nonce = ones, .nonce_len = 32};
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, &c, &p), VG_OK);
	assert_int_equal(p, VG_PSA_PROFILE_RFC9783);
	assert_string_equal(c.profile, VG_PSA_PROFILE_RFC9783_NAME);
	assert_int_equal(c.nonce_len, 32);
	assert_int_equal(c.instance_id[0], 0x01);
	assert_true(all_bytes(c.instance_id + 1, 32, 0x02));
	assert_true(is_zero(c.implementation_id, 32));
	assert_int_equal(c.client_id, 0x7fffffff);
	assert_int_equal(c.lifecycle, 0x3000);
	assert_string_equal(vg_psa_lifecycle_name(c.lifecycle), "secured");
	assert_int_equal(c.boot_seed_len, 8); /* under claim 268 */
	assert_int_equal(c.n_components, 1);
	assert_string_equal(c.components[0].measurement_type, "PRoT");
	assert_true(all_bytes(c.components[0].measurement, 32, 0x03));
	assert_true(all_bytes(c.components[0].signer_id, 32, 0x04));
	assert_string_equal(c.verification_service, "");
	assert_string_equal(c.certification_reference, "");
}

static void test_psa_token_rfc_every_flip_rejected(void **state)
{
	/* SFR 4.2.3: every single-byte alteration of the RFC 9783 token is rejected */
	size_t n = flips_rejected(V(psa_sign1_cbor), V(tfm_es_iak_pem));

	assert_int_equal(n, psa_psa_sign1_cbor_len * 9);
	print_message("RFC 9783 Sign1: %zu tampered variants rejected\n", n);
}

static void test_psa_token_truncated_rejected(void **state)
{
	/* SFR 4.2.3: every truncation of a valid token is rejected */
	EVP_PKEY *pk = pem_key(V(tfm_es_iak_pem));
	struct der d;

	pub_der(pk, &d);
	for (size_t n = 0; n < psa_psa_sign1_cbor_len; n++) {
		vg_rc rc = vg_psa_token_verify(psa_psa_sign1_cbor, n, d.buf, d.len, NULL, NULL,
					       NULL, NULL, 0);
		assert_true(rc == VG_ERR_PROTOCOL || (n == 0 && rc == VG_ERR_INVALID));
	}
	EVP_PKEY_free(pk);
}

static void test_psa_token_trailing_bytes_rejected(void **state)
{
	/* SFR 4.2.3: bytes after the COSE_Sign1 are a protocol error */
	uint8_t t[512];
	static const uint8_t extra[][2] = {{0x00, 0}, {0xa0, 0}, {0xd2, 0x00}};

	for (size_t i = 0; i < VG_ARRAY_LEN(extra); i++) {
		memcpy(t, psa_psa_sign1_cbor, psa_psa_sign1_cbor_len);
		memcpy(t + psa_psa_sign1_cbor_len, extra[i], 2);
		assert_int_equal(verify_vec(t, psa_psa_sign1_cbor_len + 1 + (i == 2),
					    V(tfm_es_iak_pem), NULL, NULL, NULL),
				 VG_ERR_PROTOCOL);
	}
}

static void test_psa_token_nonce_checked(void **state)
{
	/* SFR 4.2.3: a replayed token (another nonce) is rejected; bad nonce sizes are refused */
	uint8_t n[64];
	vg_psa_verify_opts o = {.nonce = n};

	memset(n, 0x01, sizeof n);
	o.nonce_len = 32;
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL), VG_OK);
	n[31] = 0x02;
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_VERIFY_FAILED);
	n[31] = 0x01;
	o.nonce_len = 64; /* the token's 32 bytes followed by more */
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_VERIFY_FAILED);
	o.nonce_len = 31;
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_INVALID);
	o.nonce_len = 0;
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_INVALID);
}

static void test_psa_token_wrong_key_rejected(void **state)
{
	/* SFR 4.2.3: a token signed by another device's key is rejected */
	EVP_PKEY *other = fresh_key();
	struct der d;
	vg_psa_claims c;

	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(veraison_key_pem), NULL, &c, NULL),
			 VG_ERR_VERIFY_FAILED);
	assert_true(is_zero(&c, sizeof c));
	pub_der(other, &d);
	assert_int_equal(
	    vg_psa_token_verify(V(psa_sign1_cbor), d.buf, d.len, NULL, NULL, NULL, NULL, 0),
	    VG_ERR_VERIFY_FAILED);
	EVP_PKEY_free(other);
}

static void test_psa_token_bad_key_refused(void **state)
{
	/* SFR 4.2.3: only an EC P-256 public key is accepted as the attestation key */
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	struct der d;
	uint8_t id[33];

	assert_non_null(ed);
	assert_non_null(p384);
	pub_der(ed, &d);
	assert_int_equal(
	    vg_psa_token_verify(V(psa_sign1_cbor), d.buf, d.len, NULL, NULL, NULL, NULL, 0),
	    VG_ERR_INVALID);
	assert_int_equal(vg_psa_instance_id(d.buf, d.len, id), VG_ERR_INVALID);
	pub_der(p384, &d);
	assert_int_equal(vg_psa_instance_id(d.buf, d.len, id), VG_ERR_INVALID);
	assert_int_equal(vg_psa_instance_id(d.buf, d.len - 1, id), VG_ERR_INVALID);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
}

static void test_psa_token_instance_id_of_key(void **state)
{
	/* SFR 4.2.2/4.2.3: instance ID = 0x01 || SHA-256(uncompressed point) */
	EVP_PKEY *pk = pem_key(V(tfm_es_iak_pem));
	struct der d;
	uint8_t id[33];
	char hex[67];
	vg_psa_verify_opts o = {.bind_instance_id = true};

	pub_der(pk, &d);
	assert_int_equal(vg_psa_instance_id(d.buf, d.len, id), VG_OK);
	vg_hex_encode(id, sizeof id, hex);
	/* computed independently (Python hashlib) from the JWK x and y */
	assert_string_equal(hex, rfc_instance_id_of_key);
	/* the RFC example carries a synthetic instance ID: not bound to its key */
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_VERIFY_FAILED);
	EVP_PKEY_free(pk);
}

/* ---- encoder round trip ---- */

static void sample_claims(vg_psa_claims *c, const uint8_t id[33])
{
	memset(c, 0, sizeof *c);
	memset(c->nonce, 0x5a, 48);
	c->nonce_len = 48;
	memcpy(c->instance_id, id, 33);
	memset(c->implementation_id, 0x77, 32);
	c->lifecycle = VG_PSA_LC_SECURED | 0x01;
	memset(c->boot_seed, 0x99, 32);
	c->boot_seed_len = 32;
	c->client_id = -1000;
	strcpy(c->certification_reference, "0604565272829-10010");
	strcpy(c->verification_service, "https://fleet.example/\"verify\"");
	c->n_components = 2;
	for (int i = 0; i < 2; i++) {
		vg_psa_sw_component *sc = &c->components[i];

		strcpy(sc->measurement_type, i ? "App" : "BL");
		memset(sc->measurement, 0x10 + i, 32);
		sc->measurement_len = 32;
		strcpy(sc->version, i ? "0.1.0" : "1.2.3");
		memset(sc->signer_id, 0x20 + i, 32);
		sc->signer_id_len = 32;
		strcpy(sc->measurement_desc, "sha-256");
	}
}

static void test_psa_token_roundtrip_fresh_key(void **state)
{
	/* SFR 4.2.3: a token we issue verifies, with nonce, key binding and reference values */
	struct fixture f;
	vg_psa_claims in, out;
	vg_psa_profile p = 0;
	uint8_t *tok = NULL;
	size_t len = 0;
	char why[128], *json = NULL;
	size_t json_len = 0;
	FILE *mf;
	vg_psa_verify_opts o;

	fixture_init(&f);
	sample_claims(&in, f.instance_id);
	o = (vg_psa_verify_opts){.nonce = in.nonce,
				 .nonce_len = in.nonce_len,
				 .reference = in.components,
				 .n_reference = in.n_components,
				 .bind_instance_id = true,
				 .profiles = 1u << VG_PSA_PROFILE_RFC9783};
	for (int round = 0; round < 16; round++) { /* short r or s now and then */
		assert_int_equal(vg_psa_token_encode(&in, sign_cb, f.pk, &tok, &len), VG_OK);
		assert_int_equal(tok[0], 0xd2); /* tag 18 */
		assert_int_equal(vg_psa_token_verify(tok, len, f.pub.buf, f.pub.len, &o, &out, &p,
						     why, sizeof why),
				 VG_OK);
		vg_free(tok, len);
	}
	assert_int_equal(p, VG_PSA_PROFILE_RFC9783);
	strcpy(in.profile, VG_PSA_PROFILE_RFC9783_NAME);
	assert_memory_equal(&in, &out, sizeof in);

	mf = open_memstream(&json, &json_len);
	assert_non_null(mf);
	assert_int_equal(vg_psa_claims_to_json(&out, p, mf), VG_OK);
	fclose(mf);
	assert_non_null(strstr(json, "\"lifecycle_state\":\"secured\""));
	assert_non_null(strstr(json, "\"client_id\":-1000"));
	assert_non_null(
	    strstr(json, "\"verification_service\":\"https://fleet.example/\\\"verify\\\"\""));
	assert_non_null(strstr(json, "\"instance_id\":\"01"));
	assert_non_null(strstr(json, "\"measurement_type\":\"App\""));
	free(json);
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_encode_minimal(void **state)
{
	/* SFR 4.2.3: optional claims are left out of the token when empty */
	struct fixture f;
	vg_psa_claims in, out;
	uint8_t *tok = NULL;
	size_t len = 0;

	fixture_init(&f);
	sample_claims(&in, f.instance_id);
	in.boot_seed_len = 0;
	memset(in.boot_seed, 0, sizeof in.boot_seed);
	memset(in.certification_reference, 0, sizeof in.certification_reference);
	memset(in.verification_service, 0, sizeof in.verification_service);
	in.n_components = 1;
	memset(&in.components[1], 0, sizeof in.components[1]);
	memset(in.components[0].measurement_type, 0, sizeof in.components[0].measurement_type);
	memset(in.components[0].version, 0, sizeof in.components[0].version);
	memset(in.components[0].measurement_desc, 0, sizeof in.components[0].measurement_desc);
	assert_int_equal(vg_psa_token_encode(&in, sign_cb, f.pk, &tok, &len), VG_OK);
	assert_int_equal(
	    vg_psa_token_verify(tok, len, f.pub.buf, f.pub.len, NULL, &out, NULL, NULL, 0), VG_OK);
	strcpy(in.profile, VG_PSA_PROFILE_RFC9783_NAME);
	assert_memory_equal(&in, &out, sizeof in);
	vg_free(tok, len);
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_encode_rejects_bad_claims(void **state)
{
	/* SFR 4.2.3: the encoder signs nothing that is not well-formed per RFC 9783 */
	struct fixture f;
	vg_psa_claims c;
	uint8_t *tok = (uint8_t *)&c;
	size_t len = 1;

	fixture_init(&f);
	sign_calls = 0;
	for (int i = 0; i < 10; i++) {
		sample_claims(&c, f.instance_id);
		switch (i) {
		case 0:
			c.nonce_len = 31;
			break;
		case 1:
			c.client_id = 0;
			break;
		case 2:
			c.n_components = 0;
			break;
		case 3:
			c.boot_seed_len = 7;
			break;
		case 4:
			c.lifecycle = 0x7000;
			break;
		case 5:
			c.instance_id[0] = 0x02;
			break;
		case 6:
			c.components[1].signer_id_len = 0;
			break;
		case 7:
			strcpy(c.certification_reference, "12345");
			break;
		case 8:
			strcpy(c.profile, VG_PSA_PROFILE_PSA_2_0_0_NAME);
			break;
		default:
			c.n_components = VG_PSA_MAX_COMPONENTS + 1;
			break;
		}
		assert_int_equal(vg_psa_token_encode(&c, sign_cb, f.pk, &tok, &len),
				 VG_ERR_INVALID);
		assert_null(tok);
		assert_int_equal(len, 0);
	}
	assert_int_equal(sign_calls, 0);
	sample_claims(&c, f.instance_id);
	assert_int_equal(vg_psa_token_encode(&c, sign_fails, NULL, &tok, &len), VG_ERR_DENIED);
	assert_null(tok);
	assert_int_equal(vg_psa_token_encode(&c, sign_garbage, NULL, &tok, &len), VG_ERR_CRYPTO);
	assert_null(tok);
	EVP_PKEY_free(f.pk);
}

/* ---- forged claim sets ---- */

static void test_psa_token_missing_mandatory_claims_rejected(void **state)
{
	/* SFR 4.2.3: a claim set without a mandatory claim is not well-formed */
	static const int64_t mandatory[] = {265, 10, 256, 2396, 2394, 2395, 2399};
	struct fixture f;
	vg_psa_claims c;

	fixture_init(&f);
	assert_int_equal(verify_entries(&f, &c), VG_OK);
	for (size_t i = 0; i < VG_ARRAY_LEN(mandatory); i++) {
		base_entries(f.e, f.instance_id);
		find_ent(f.e, mandatory[i])->skip = true;
		assert_int_equal(verify_entries(&f, &c), VG_ERR_VERIFY_FAILED);
		assert_true(is_zero(&c, sizeof c));
	}
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_optional_claims_may_be_absent(void **state)
{
	/* SFR 4.2.3: boot seed, certification reference and verification service are optional */
	static const int64_t optional[] = {268, 2398, 2400, 4242};
	struct fixture f;
	vg_psa_claims c;

	fixture_init(&f);
	for (size_t i = 0; i < VG_ARRAY_LEN(optional); i++)
		find_ent(f.e, optional[i])->skip = true;
	assert_int_equal(verify_entries(&f, &c), VG_OK);
	assert_int_equal(c.boot_seed_len, 0);
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_bad_claim_values_rejected(void **state)
{
	/* SFR 4.2.3: claims of the wrong type, size or range are rejected */
	struct fixture f;
	vg_psa_claims c;
	uint8_t b[65] = {0};

	fixture_init(&f);
	for (int i = 0; i < 20; i++) {
		struct buf *v;
		vg_rc want = VG_ERR_VERIFY_FAILED;

		base_entries(f.e, f.instance_id);
		switch (i) {
		case 0: /* nonce of 33 bytes */
			v = &find_ent(f.e, 10)->val;
			v->len = 0;
			put_bytes(v, b, 33);
			break;
		case 1: /* nonce as an array (RFC 9783: MUST NOT) */
			v = &find_ent(f.e, 10)->val;
			v->len = 0;
			put_head(v, 4, 1);
			put_bytes(v, nonce32, 32);
			break;
		case 2: /* instance ID of type 0x02 */
			v = &find_ent(f.e, 256)->val;
			b[0] = 0x02;
			v->len = 0;
			put_bytes(v, b, 33);
			b[0] = 0;
			break;
		case 3: /* implementation ID of 31 bytes */
			v = &find_ent(f.e, 2396)->val;
			v->len = 0;
			put_bytes(v, b, 31);
			break;
		case 4: /* client ID 0 */
			v = &find_ent(f.e, 2394)->val;
			v->len = 0;
			put_int(v, 0);
			break;
		case 5: /* client ID beyond int32 */
			v = &find_ent(f.e, 2394)->val;
			v->len = 0;
			put_int(v, 0x80000000LL);
			break;
		case 6: /* undefined lifecycle state */
			v = &find_ent(f.e, 2395)->val;
			v->len = 0;
			put_int(v, 0x3100);
			break;
		case 7: /* boot seed of 7 bytes */
			v = &find_ent(f.e, 268)->val;
			v->len = 0;
			put_bytes(v, b, 7);
			break;
		case 8: /* boot seed of 33 bytes */
			v = &find_ent(f.e, 268)->val;
			v->len = 0;
			put_bytes(v, b, 33);
			break;
		case 9: /* certification reference not EAN-13+5 */
			v = &find_ent(f.e, 2398)->val;
			v->len = 0;
			put_text(v, "1234567890123");
			break;
		case 10: /* empty software components */
			v = &find_ent(f.e, 2399)->val;
			v->len = 0;
			put_head(v, 4, 0);
			break;
		case 11: /* a component without measurement */
			v = &find_ent(f.e, 2399)->val;
			v->len = 0;
			put_head(v, 4, 1);
			put_head(v, 5, 1);
			put_int(v, 5);
			put_bytes(v, b, 32);
			break;
		case 12: /* a component without signer ID */
			v = &find_ent(f.e, 2399)->val;
			v->len = 0;
			put_head(v, 4, 1);
			put_head(v, 5, 1);
			put_int(v, 2);
			put_bytes(v, b, 32);
			break;
		case 13: /* unknown profile */
			v = &find_ent(f.e, 265)->val;
			v->len = 0;
			put_text(v, "tag:psacertified.org,2023:psa#other");
			break;
		case 14: /* a profile of the wrong type */
			v = &find_ent(f.e, 265)->val;
			v->len = 0;
			put_int(v, 1);
			break;
		case 15: /* empty verification service */
			v = &find_ent(f.e, 2400)->val;
			v->len = 0;
			put_text(v, "");
			break;
		case 16: /* invalid UTF-8 text (an overlong '/'): undecodable */
			v = &find_ent(f.e, 2400)->val;
			v->len = 0;
			put_head(v, 3, 2);
			put(v, "\xc0\xaf", 2);
			want = VG_ERR_PROTOCOL;
			break;
		case 17: /* duplicate key: the unknown claim becomes a second nonce */
			find_ent(f.e, 4242)->key = 10;
			break;
		case 18: /* text longer than the struct holds */
			v = &find_ent(f.e, 2400)->val;
			v->len = 0;
			put_head(v, 3, 200);
			for (int k = 0; k < 200; k++)
				put_byte(v, 'a');
			want = VG_ERR_TOO_LARGE;
			break;
		default: /* too many components */
			v = &find_ent(f.e, 2399)->val;
			v->len = 0;
			put_head(v, 4, VG_PSA_MAX_COMPONENTS + 1);
			for (unsigned k = 0; k <= VG_PSA_MAX_COMPONENTS; k++) {
				put_head(v, 5, 2);
				put_int(v, 2);
				put_bytes(v, b, 32);
				put_int(v, 5);
				put_bytes(v, b, 32);
			}
			want = VG_ERR_TOO_LARGE;
			break;
		}
		vg_rc rc = verify_entries(&f, &c);
		if (rc != want)
			fail_msg("case %d: %d, not %d", i, rc, want);
		assert_true(is_zero(&c, sizeof c));
	}
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_indefinite_length_rejected(void **state)
{
	/* SFR 4.2.3: indefinite-length items (envelope or claims) are a protocol error */
	struct fixture f;
	struct buf payload, tok, p2;
	vg_rc rc;

	fixture_init(&f);
	/* a properly signed claims map of indefinite length */
	payload_of(f.e, &payload);
	p2.len = 0;
	put_byte(&p2, 0xbf);
	put(&p2, payload.p + 1, payload.len - 1);
	put_byte(&p2, 0xff);
	sign1(f.pk, es256_prot, sizeof es256_prot, p2.p, p2.len, SIG_RAW, &tok);
	rc = vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0);
	assert_int_equal(rc, VG_ERR_PROTOCOL);
	/* the COSE array of indefinite length */
	sign1(f.pk, es256_prot, sizeof es256_prot, payload.p, payload.len, SIG_RAW, &tok);
	assert_int_equal(tok.p[1], 0x84);
	tok.p[1] = 0x9f;
	put_byte(&tok, 0xff);
	rc = vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0);
	assert_int_equal(rc, VG_ERR_PROTOCOL);
	/* an indefinite (chunked) byte string as the payload */
	p2.len = 0;
	put_head(&p2, 6, 18);
	put_head(&p2, 4, 4);
	put_bytes(&p2, es256_prot, sizeof es256_prot);
	put_head(&p2, 5, 0);
	put_byte(&p2, 0x5f);
	put_bytes(&p2, payload.p, payload.len);
	put_byte(&p2, 0xff);
	put_bytes(&p2, tok.p + tok.len - 65, 64);
	rc = vg_psa_token_verify(p2.p, p2.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0);
	assert_int_equal(rc, VG_ERR_PROTOCOL);
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_der_signature_rejected(void **state)
{
	/* SFR 4.2.3: an ES256 signature must be raw r||s; a DER one is rejected */
	struct fixture f;
	struct buf payload, tok;
	vg_rc rc;

	fixture_init(&f);
	payload_of(f.e, &payload);
	sign1(f.pk, es256_prot, sizeof es256_prot, payload.p, payload.len, SIG_DER, &tok);
	rc = vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0);
	assert_int_equal(rc, VG_ERR_VERIFY_FAILED);
	sign1(f.pk, es256_prot, sizeof es256_prot, payload.p, payload.len, SIG_RAW, &tok);
	rc = vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0);
	assert_int_equal(rc, VG_OK);
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_headers_checked(void **state)
{
	/* SFR 4.2.3: only ES256 in the protected header; no crit, no unprotected alg */
	static const uint8_t es384[] = {0xa1, 0x01, 0x38, 0x22};
	static const uint8_t crit[] = {0xa2, 0x01, 0x26, 0x02, 0x81, 0x19, 0x01, 0x00};
	static const uint8_t no_alg[] = {0xa1, 0x04, 0x41, 0x00};
	struct fixture f;
	struct buf payload, tok;

	fixture_init(&f);
	payload_of(f.e, &payload);
	sign1(f.pk, es384, sizeof es384, payload.p, payload.len, SIG_RAW, &tok);
	assert_int_equal(
	    vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0),
	    VG_ERR_UNSUPPORTED);
	sign1(f.pk, crit, sizeof crit, payload.p, payload.len, SIG_RAW, &tok);
	assert_int_equal(
	    vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0),
	    VG_ERR_UNSUPPORTED);
	sign1(f.pk, no_alg, sizeof no_alg, payload.p, payload.len, SIG_RAW, &tok);
	assert_int_equal(
	    vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0),
	    VG_ERR_PROTOCOL);
	/* alg in the unprotected header: byte 6 is the empty map a0 */
	sign1(f.pk, es256_prot, sizeof es256_prot, payload.p, payload.len, SIG_RAW, &tok);
	assert_int_equal(tok.p[6], 0xa0);
	memmove(tok.p + 9, tok.p + 7, tok.len - 7);
	memcpy(tok.p + 6, (const uint8_t[]){0xa1, 0x01, 0x26}, 3);
	tok.len += 2;
	assert_int_equal(
	    vg_psa_token_verify(tok.p, tok.len, f.pub.buf, f.pub.len, NULL, NULL, NULL, NULL, 0),
	    VG_ERR_PROTOCOL);
	/* an untagged COSE_Sign1 */
	sign1(f.pk, es256_prot, sizeof es256_prot, payload.p, payload.len, SIG_RAW, &tok);
	assert_int_equal(vg_psa_token_verify(tok.p + 1, tok.len - 1, f.pub.buf, f.pub.len, NULL,
					     NULL, NULL, NULL, 0),
			 VG_ERR_PROTOCOL);
	EVP_PKEY_free(f.pk);
}

static void test_psa_token_reference_mismatch_rejected(void **state)
{
	/* SFR 4.2.3: software components are checked against reference values */
	vg_psa_sw_component ref[2];
	vg_psa_verify_opts o = {.reference = ref, .n_reference = 1};

	memset(ref, 0, sizeof ref);
	memset(ref[0].measurement, 0x03, 32);
	ref[0].measurement_len = 32;
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL), VG_OK);
	memset(ref[0].signer_id, 0x04, 32);
	ref[0].signer_id_len = 32;
	strcpy(ref[0].measurement_type, "PRoT");
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL), VG_OK);
	ref[0].measurement[31] ^= 1; /* another firmware */
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_VERIFY_FAILED);
	ref[0].measurement[31] ^= 1;
	ref[0].signer_id[0] ^= 1; /* another signer */
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_VERIFY_FAILED);
	ref[0].signer_id[0] ^= 1;
	strcpy(ref[0].version, "9.9"); /* the token has no version */
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_VERIFY_FAILED);
	ref[0].version[0] = '\0';
	/* the matching entry may be anywhere in the list */
	ref[1] = ref[0];
	ref[0].measurement[0] ^= 1;
	o.n_reference = 2;
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL), VG_OK);
	o.n_reference = 1;
	assert_int_equal(verify_vec(V(psa_sign1_cbor), V(tfm_es_iak_pem), &o, NULL, NULL),
			 VG_ERR_VERIFY_FAILED);
}

/* ---- older profiles (Trusted Firmware-M, via veraison/psatoken) ---- */

static void test_psa_token_psa_2_0_0_verifies(void **state)
{
	/* SFR 4.2.3: a TF-M token of profile http://arm.com/psa/2.0.0 verifies and is labelled */
	vg_psa_claims c;
	vg_psa_profile p = 0;
	size_t n;

	assert_int_equal(
	    verify_vec(V(veraison_psa_2_0_0_sign1_bin), V(veraison_key_pem), NULL, &c, &p), VG_OK);
	assert_int_equal(p, VG_PSA_PROFILE_PSA_2_0_0);
	assert_string_equal(vg_psa_profile_name(p), "http://arm.com/psa/2.0.0");
	assert_int_equal(c.nonce_len, 64);
	assert_int_equal(c.boot_seed_len, 32); /* claim 2397 in this profile */
	assert_int_equal(c.client_id, 3002);
	assert_int_equal(c.lifecycle, 0x3000);
	assert_string_equal(c.certification_reference, "0604565272829-10010");
	assert_string_equal(c.verification_service, "www.trustedfirmware.org");
	assert_int_equal(c.n_components, 2);
	assert_string_equal(c.components[0].measurement_type, "SPE");
	assert_string_equal(c.components[0].version, "1.6.0");
	assert_string_equal(c.components[1].measurement_type, "NSPE");
	n = flips_rejected(V(veraison_psa_2_0_0_sign1_bin), V(veraison_key_pem));
	print_message("psa/2.0.0 Sign1: %zu tampered variants rejected\n", n);
}

static void test_psa_token_iot_1_verifies(void **state)
{
	/* SFR 4.2.3: a legacy PSA_IOT_PROFILE_1 token (keys -75000...) verifies and is labelled */
	vg_psa_claims c;
	vg_psa_profile p = 0;
	vg_psa_verify_opts only_rfc = {.profiles = 1u << VG_PSA_PROFILE_RFC9783};
	size_t n;

	assert_int_equal(
	    verify_vec(V(veraison_psa_iot_1_sign1_bin), V(veraison_key_pem), NULL, &c, &p), VG_OK);
	assert_int_equal(p, VG_PSA_PROFILE_IOT_1);
	assert_string_equal(c.profile, "PSA_IOT_PROFILE_1");
	assert_int_equal(c.boot_seed_len, 32);
	assert_int_equal(c.client_id, 3002);
	assert_int_equal(c.n_components, 2);
	assert_string_equal(c.verification_service, "www.trustedfirmware.org");
	assert_string_equal(c.certification_reference, "0604565272829-10010");
	/* a back end that only takes RFC 9783 tokens */
	assert_int_equal(
	    verify_vec(V(veraison_psa_iot_1_sign1_bin), V(veraison_key_pem), &only_rfc, &c, &p),
	    VG_ERR_VERIFY_FAILED);
	n = flips_rejected(V(veraison_psa_iot_1_sign1_bin), V(veraison_key_pem));
	print_message("PSA_IOT_PROFILE_1 Sign1: %zu tampered variants rejected\n", n);
}

static void test_psa_token_mac0_unsupported(void **state)
{
	/* SFR 4.2.3: HMAC-keyed COSE_Mac0 tokens decode but are not verified */
	vg_psa_claims c;
	vg_psa_profile p = 0;
	char why[128];

	assert_int_equal(verify_vec(V(psa_mac0_cbor), V(tfm_es_iak_pem), NULL, &c, &p),
			 VG_ERR_UNSUPPORTED);
	assert_int_equal(p, 0);
	assert_int_equal(
	    verify_vec(V(veraison_psa_2_0_0_mac0_bin), V(veraison_key_pem), NULL, &c, &p),
	    VG_ERR_UNSUPPORTED);
	assert_int_equal(vg_psa_token_decode(V(psa_mac0_cbor), &c, &p, why, sizeof why), VG_OK);
	assert_int_equal(p, VG_PSA_PROFILE_RFC9783);
	assert_int_equal(c.boot_seed_len, 8);
	assert_int_equal(
	    vg_psa_token_decode(V(veraison_psa_2_0_0_mac0_bin), &c, &p, why, sizeof why), VG_OK);
	assert_int_equal(p, VG_PSA_PROFILE_PSA_2_0_0);
	assert_int_equal(vg_psa_token_decode(V(psa_sign1_cbor), &c, &p, why, sizeof why), VG_OK);
	assert_true(all_bytes(c.instance_id + 1, 32, 0x02));
	(void)psa_tfm_hs_iak_bin;
}

static void test_psa_token_too_large_rejected(void **state)
{
	/* SFR 4.2.3: an oversized token is refused before parsing */
	static uint8_t big[VG_PSA_MAX_TOKEN + 1];

	assert_int_equal(verify_vec(big, sizeof big, V(tfm_es_iak_pem), NULL, NULL, NULL),
			 VG_ERR_TOO_LARGE);
	assert_int_equal(verify_vec(NULL, 10, V(tfm_es_iak_pem), NULL, NULL, NULL), VG_ERR_INVALID);
}

static void test_psa_token_cbor_validate_ex_flags(void **state)
{
	/* SFR 4.2.3: the strict CBOR pre-validator admits negatives and tags only when asked */
	static const uint8_t neg[] = {0x82, 0x01, 0x20};
	/* tag 18 in a two-byte head: libcbor 0.8 refuses the one-byte 0xd2 */
	static const uint8_t tagged[] = {0xd8, 0x12, 0x82, 0x01, 0x02};
	static const uint8_t dangling_tag[] = {0x82, 0x01, 0xc1};
	static const uint8_t tag_only[] = {0xd8, 0x12};
	static const uint8_t indef[] = {0x9f, 0x01, 0xff};
	const unsigned all = VG_CBOR_ALLOW_NEGATIVE | VG_CBOR_ALLOW_TAGS;

	assert_int_equal(vg_cbor_validate(neg, sizeof neg, 4), VG_ERR_PROTOCOL);
	assert_int_equal(vg_cbor_validate_ex(neg, sizeof neg, 4, VG_CBOR_ALLOW_NEGATIVE), VG_OK);
	assert_int_equal(vg_cbor_validate(tagged, sizeof tagged, 4), VG_ERR_PROTOCOL);
	assert_int_equal(vg_cbor_validate_ex(tagged, sizeof tagged, 4, VG_CBOR_ALLOW_NEGATIVE),
			 VG_ERR_PROTOCOL);
	assert_int_equal(vg_cbor_validate_ex(tagged, sizeof tagged, 4, VG_CBOR_ALLOW_TAGS), VG_OK);
	assert_int_equal(vg_cbor_validate_ex(dangling_tag, sizeof dangling_tag, 4, all),
			 VG_ERR_PROTOCOL);
	assert_int_equal(vg_cbor_validate_ex(tag_only, sizeof tag_only, 4, all), VG_ERR_PROTOCOL);
	assert_int_equal(vg_cbor_validate_ex(indef, sizeof indef, 4, all), VG_ERR_PROTOCOL);
	assert_int_equal(vg_cbor_validate_ex(neg, sizeof neg, 4, 0x80), VG_ERR_PROTOCOL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_psa_token_rfc_sign1_verifies),
	    cmocka_unit_test(test_psa_token_rfc_every_flip_rejected),
	    cmocka_unit_test(test_psa_token_truncated_rejected),
	    cmocka_unit_test(test_psa_token_trailing_bytes_rejected),
	    cmocka_unit_test(test_psa_token_nonce_checked),
	    cmocka_unit_test(test_psa_token_wrong_key_rejected),
	    cmocka_unit_test(test_psa_token_bad_key_refused),
	    cmocka_unit_test(test_psa_token_instance_id_of_key),
	    cmocka_unit_test(test_psa_token_roundtrip_fresh_key),
	    cmocka_unit_test(test_psa_token_encode_minimal),
	    cmocka_unit_test(test_psa_token_encode_rejects_bad_claims),
	    cmocka_unit_test(test_psa_token_missing_mandatory_claims_rejected),
	    cmocka_unit_test(test_psa_token_optional_claims_may_be_absent),
	    cmocka_unit_test(test_psa_token_bad_claim_values_rejected),
	    cmocka_unit_test(test_psa_token_indefinite_length_rejected),
	    cmocka_unit_test(test_psa_token_der_signature_rejected),
	    cmocka_unit_test(test_psa_token_headers_checked),
	    cmocka_unit_test(test_psa_token_reference_mismatch_rejected),
	    cmocka_unit_test(test_psa_token_psa_2_0_0_verifies),
	    cmocka_unit_test(test_psa_token_iot_1_verifies),
	    cmocka_unit_test(test_psa_token_mac0_unsupported),
	    cmocka_unit_test(test_psa_token_too_large_rejected),
	    cmocka_unit_test(test_psa_token_cbor_validate_ex_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
