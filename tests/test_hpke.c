/*
 * test_hpke.c - HPKE (RFC 9180) composed from OpenSSL 3.0 primitives
 * (src/audio/hpke.h): the stream keys of protected audio (issue 13).
 *
 * SFR 4.2.7 (secure communication support) and 4.2.8 note 7 (audio streams
 * recorded by the speaker encrypted for their intended recipients; received
 * streams decrypted with the device's keys): the key set-up is HPKE, checked
 * here against every RFC 9180 Appendix A vector set whose suite the module
 * supports (tests/vectors/hpke/, a copy of the RFC's data), and attacked:
 * flipped bits in the ciphertext, tag, associated data and encapsulated
 * key, the wrong recipient, the wrong sender, PSK inputs RFC 9180 5.1
 * refuses, invalid public keys, the all-zero X25519 output (7.1.4) and the
 * sequence number's overflow (5.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audio/hpke.h"
#include "common/util.h"

#ifndef VG_SRC_DIR
#error "VG_SRC_DIR: the source tree, for tests/vectors/hpke"
#endif
#define VECTORS VG_SRC_DIR "/tests/vectors/hpke/rfc9180-appendix-a.txt"

/* The RFC's 28 sets: 7 suites x 4 modes. The module supports all but
 * DHKEM(P-521, HKDF-SHA512), HKDF-SHA512, AES-256-GCM (4 sets). */
#define VECTOR_SETS_TOTAL      28u
#define VECTOR_SETS_APPLICABLE 24u

/* ---- the vector file ---- */

#define MAX_FIELDS  32
#define MAX_ENCS    16
#define MAX_EXPORTS 8

struct field {
	char name[32];
	char *val; /* hex, continuation lines joined */
};
struct vset {
	char suite[128]; /* the "## " title */
	char setup[32];  /* "Base", "PSK", "Auth", "AuthPSK" */
	struct field f[MAX_FIELDS];
	size_t nf;
	struct field enc[MAX_ENCS][5]; /* sequence number, pt, aad, nonce, ct */
	size_t nenc_f[MAX_ENCS];
	size_t nenc;
	struct field exp[MAX_EXPORTS][3]; /* exporter_context, L, exported_value */
	size_t nexp_f[MAX_EXPORTS];
	size_t nexp;
};

static struct vset *sets;
static size_t nsets;

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

static void append(char **val, const char *more)
{
	size_t a = *val ? strlen(*val) : 0, b = strlen(more);
	char *n = realloc(*val, a + b + 1);

	assert_non_null(n);
	memcpy(n + a, more, b + 1);
	*val = n;
}

/* Parses the vector file into sets[]: "## suite", "### X Setup
 * Information" (a new set), "#### Encryptions", "#### Exported Values";
 * "name: value" lines, a value continued on the following lines without a
 * colon; blank lines end an encryption or an export. */
static void parse_vectors(void)
{
	FILE *fp = fopen(VECTORS, "r");
	char line[1024], suite[128] = "";
	enum { NONE, SETUP, ENCS, EXPS } sec = NONE;
	struct field *last = NULL;
	bool entry_open = false;

	assert_non_null(fp);
	sets = calloc(64, sizeof *sets);
	assert_non_null(sets);
	while (fgets(line, sizeof line, fp)) {
		char *l = trim(line), *colon;
		struct vset *v = nsets ? &sets[nsets - 1] : NULL;

		if (strncmp(l, "#### Encryptions", 16) == 0) {
			sec = ENCS;
			entry_open = false;
			last = NULL;
			continue;
		}
		if (strncmp(l, "#### Exported Values", 20) == 0) {
			sec = EXPS;
			entry_open = false;
			last = NULL;
			continue;
		}
		if (strncmp(l, "### ", 4) == 0) {
			assert_true(nsets < 64);
			v = &sets[nsets++];
			snprintf(v->suite, sizeof v->suite, "%s", suite);
			assert_int_equal(sscanf(l + 4, "%31s", v->setup), 1);
			sec = SETUP;
			last = NULL;
			continue;
		}
		if (strncmp(l, "## ", 3) == 0) {
			snprintf(suite, sizeof suite, "%s", l + 3);
			sec = NONE;
			continue;
		}
		if (strcmp(l, "~~~") == 0)
			continue;
		if (*l == '\0') {
			entry_open = false;
			last = NULL;
			continue;
		}
		colon = strchr(l, ':');
		if (!colon) { /* continuation of the last value */
			assert_non_null(last);
			append(&last->val, l);
			continue;
		}
		assert_non_null(v);
		*colon = '\0';
		if (sec == SETUP) {
			assert_true(v->nf < MAX_FIELDS);
			last = &v->f[v->nf++];
		} else if (sec == ENCS) {
			if (!entry_open) {
				assert_true(v->nenc < MAX_ENCS);
				v->nenc++;
				entry_open = true;
			}
			assert_true(v->nenc_f[v->nenc - 1] < 5);
			last = &v->enc[v->nenc - 1][v->nenc_f[v->nenc - 1]++];
		} else if (sec == EXPS) {
			if (!entry_open) {
				assert_true(v->nexp < MAX_EXPORTS);
				v->nexp++;
				entry_open = true;
			}
			assert_true(v->nexp_f[v->nexp - 1] < 3);
			last = &v->exp[v->nexp - 1][v->nexp_f[v->nexp - 1]++];
		} else {
			fail_msg("a field outside a set: %s", l);
		}
		snprintf(last->name, sizeof last->name, "%s", trim(l));
		last->val = strdup(trim(colon + 1));
		assert_non_null(last->val);
	}
	fclose(fp);
}

static const char *get(const struct field *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return f[i].val;
	return NULL;
}

static const char *need(const struct field *f, size_t n, const char *name)
{
	const char *v = get(f, n, name);

	if (!v)
		fail_msg("vector field %s missing", name);
	return v;
}

/* Hex to a malloc'ed buffer (at least 1 byte; *len may be 0). */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *out = malloc(cap);

	assert_non_null(out);
	*len = 0;
	if (*hex)
		assert_true(vg_hex_decode(hex, out, cap, len));
	return out;
}

static void assert_hex_eq(const uint8_t *got, size_t got_len, const char *hex)
{
	size_t n;
	uint8_t *want = unhex(hex, &n);

	assert_int_equal(got_len, n);
	assert_memory_equal(got, want, n);
	free(want);
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	assert_true(*s && *end == '\0');
	return v;
}

/* ---- the RFC 9180 vectors ---- */

struct tally {
	const char *suite;
	unsigned sets, encs, exps;
};

/* DeriveKeyPair(ikm) gives sk and pk as the vector says. */
static EVP_PKEY *check_derive(uint16_t kem, const struct vset *v, const char *ikm_n,
			      const char *sk_n, const char *pk_n)
{
	uint8_t sk[VG_HPKE_SK_LEN], pk[VG_HPKE_MAX_PK];
	size_t ikm_len, pk_len;
	uint8_t *ikm = unhex(need(v->f, v->nf, ikm_n), &ikm_len);
	EVP_PKEY *key = NULL, *again = NULL;

	assert_int_equal(vg_hpke_derive_keypair(kem, ikm, ikm_len, &key), VG_OK);
	assert_int_equal(vg_hpke_sk_to_raw(kem, key, sk), VG_OK);
	assert_hex_eq(sk, sizeof sk, need(v->f, v->nf, sk_n));
	assert_int_equal(vg_hpke_pk_to_raw(kem, key, pk, &pk_len), VG_OK);
	assert_hex_eq(pk, pk_len, need(v->f, v->nf, pk_n));
	/* DeserializePrivateKey of the vector's sk gives the same key pair */
	assert_int_equal(vg_hpke_sk_from_raw(kem, sk, sizeof sk, &again), VG_OK);
	assert_int_equal(vg_hpke_pk_to_raw(kem, again, pk, &pk_len), VG_OK);
	assert_hex_eq(pk, pk_len, need(v->f, v->nf, pk_n));
	EVP_PKEY_free(again);
	vg_wipe(sk, sizeof sk);
	free(ikm);
	return key;
}

static void check_set(const struct vset *v, struct tally *t)
{
	vg_hpke_suite suite = {(uint16_t)num(need(v->f, v->nf, "kem_id")),
			       (uint16_t)num(need(v->f, v->nf, "kdf_id")),
			       (uint16_t)num(need(v->f, v->nf, "aead_id"))};
	vg_hpke_mode mode = (vg_hpke_mode)num(need(v->f, v->nf, "mode"));
	bool auth = mode == VG_HPKE_MODE_AUTH || mode == VG_HPKE_MODE_AUTH_PSK;
	const char *psk_hex = get(v->f, v->nf, "psk"), *psk_id_hex = get(v->f, v->nf, "psk_id");
	uint8_t enc[VG_HPKE_MAX_ENC], ss[VG_HPKE_SECRET_LEN], ss_r[VG_HPKE_SECRET_LEN];
	uint8_t key[32], nonce[VG_HPKE_NONCE_LEN], exps[64];
	size_t enc_len, info_len, psk_len = 0, psk_id_len = 0, pkS_len = 0, nk, nh;
	uint8_t *info = unhex(need(v->f, v->nf, "info"), &info_len);
	uint8_t *psk = psk_hex ? unhex(psk_hex, &psk_len) : NULL;
	uint8_t *psk_id = psk_id_hex ? unhex(psk_id_hex, &psk_id_len) : NULL;
	uint8_t *ikmE, *pkRm, *pkSm = NULL;
	size_t ikmE_len, pkRm_len;
	EVP_PKEY *skE, *skR, *skS = NULL;
	vg_hpke_ctx *s = NULL, *r = NULL;

	/* the key pairs */
	skE = check_derive(suite.kem, v, "ikmE", "skEm", "pkEm");
	skR = check_derive(suite.kem, v, "ikmR", "skRm", "pkRm");
	if (auth) {
		skS = check_derive(suite.kem, v, "ikmS", "skSm", "pkSm");
		pkSm = unhex(need(v->f, v->nf, "pkSm"), &pkS_len);
	}
	EVP_PKEY_free(skE);

	/* the KEM, both sides */
	ikmE = unhex(need(v->f, v->nf, "ikmE"), &ikmE_len);
	pkRm = unhex(need(v->f, v->nf, "pkRm"), &pkRm_len);
	assert_int_equal(
	    vg_hpke_encap(&suite, pkRm, pkRm_len, skS, ikmE, ikmE_len, enc, &enc_len, ss), VG_OK);
	assert_hex_eq(enc, enc_len, need(v->f, v->nf, "enc"));
	assert_hex_eq(ss, sizeof ss, need(v->f, v->nf, "shared_secret"));
	assert_int_equal(vg_hpke_decap(&suite, enc, enc_len, skR, pkSm, pkS_len, ss_r), VG_OK);
	assert_hex_eq(ss_r, sizeof ss_r, need(v->f, v->nf, "shared_secret"));

	/* the key schedule, both roles */
	assert_int_equal(vg_hpke_context_new(&suite, mode, VG_HPKE_SENDER, ss, sizeof ss, info,
					     info_len, psk, psk_len, psk_id, psk_id_len, &s),
			 VG_OK);
	assert_int_equal(vg_hpke_context_new(&suite, mode, VG_HPKE_RECIPIENT, ss_r, sizeof ss_r,
					     info, info_len, psk, psk_len, psk_id, psk_id_len, &r),
			 VG_OK);
	assert_string_equal(vg_hpke_context_backend(s), "composed");
	for (int side = 0; side < 2; side++) {
		assert_int_equal(vg_hpke_test_secrets(side ? r : s, key, &nk, nonce, exps, &nh),
				 VG_OK);
		if (suite.aead != VG_HPKE_AEAD_EXPORT_ONLY) {
			assert_hex_eq(key, nk, need(v->f, v->nf, "key"));
			assert_hex_eq(nonce, sizeof nonce, need(v->f, v->nf, "base_nonce"));
		}
		assert_hex_eq(exps, nh, need(v->f, v->nf, "exporter_secret"));
	}

	/* every encryption: seal gives ct at its sequence number, open gives pt */
	for (size_t i = 0; i < v->nenc; i++) {
		const struct field *e = v->enc[i];
		size_t n = v->nenc_f[i], pt_len, aad_len, ct_len, out_len;
		uint8_t *pt = unhex(need(e, n, "pt"), &pt_len);
		uint8_t *aad = unhex(need(e, n, "aad"), &aad_len);
		uint8_t *ct = unhex(need(e, n, "ct"), &ct_len);
		uint64_t seq = num(need(e, n, "sequence number"));
		uint8_t *out = NULL;

		/* ComputeNonce(seq) = base_nonce XOR seq, as the vector says */
		assert_int_equal(vg_hpke_test_secrets(s, key, &nk, nonce, exps, &nh), VG_OK);
		for (unsigned b = 0; b < 8; b++)
			nonce[VG_HPKE_NONCE_LEN - 1 - b] ^= (uint8_t)(seq >> (8 * b));
		assert_hex_eq(nonce, sizeof nonce, need(e, n, "nonce"));
		assert_int_equal(vg_hpke_test_set_seq(s, seq), VG_OK);
		assert_int_equal(vg_hpke_seal(s, aad, aad_len, pt, pt_len, &out, &out_len), VG_OK);
		assert_int_equal(out_len, ct_len);
		assert_memory_equal(out, ct, ct_len);
		assert_int_equal(vg_hpke_context_seq(s), seq + 1);
		vg_free(out, out_len);
		assert_int_equal(vg_hpke_test_set_seq(r, seq), VG_OK);
		assert_int_equal(vg_hpke_open(r, aad, aad_len, ct, ct_len, &out, &out_len), VG_OK);
		assert_int_equal(out_len, pt_len);
		assert_memory_equal(out, pt, pt_len);
		vg_free(out, out_len);
		free(pt);
		free(aad);
		free(ct);
		t->encs++;
	}
	if (suite.aead == VG_HPKE_AEAD_EXPORT_ONLY) {
		uint8_t *out = NULL;
		size_t out_len = 0;

		assert_int_equal(vg_hpke_seal(s, NULL, 0, (const uint8_t *)"x", 1, &out, &out_len),
				 VG_ERR_UNSUPPORTED);
		assert_null(out);
	}

	/* every export, from both contexts */
	for (size_t i = 0; i < v->nexp; i++) {
		const struct field *x = v->exp[i];
		size_t n = v->nexp_f[i], ctx_len;
		uint8_t *ectx = unhex(need(x, n, "exporter_context"), &ctx_len);
		size_t L = num(need(x, n, "L"));
		uint8_t *out = malloc(L);

		assert_non_null(out);
		assert_int_equal(vg_hpke_export(s, ectx, ctx_len, L, out), VG_OK);
		assert_hex_eq(out, L, need(x, n, "exported_value"));
		assert_int_equal(vg_hpke_export(r, ectx, ctx_len, L, out), VG_OK);
		assert_hex_eq(out, L, need(x, n, "exported_value"));
		free(out);
		free(ectx);
		t->exps++;
	}
	t->sets++;

	vg_hpke_context_free(&s);
	vg_hpke_context_free(&r);
	assert_null(s);
	EVP_PKEY_free(skR);
	EVP_PKEY_free(skS);
	free(info);
	free(psk);
	free(psk_id);
	free(ikmE);
	free(pkRm);
	free(pkSm);
}

/* SFR 4.2.7, 4.2.8 note 7: every RFC 9180 Appendix A vector set of a
 * supported suite (DeriveKeyPair, Encap/AuthEncap, Decap/AuthDecap, the key
 * schedule, every encryption at its sequence number both ways, every
 * export); the count of sets checked is asserted, so that a parse failure
 * cannot pass as "nothing to check". */
static void test_hpke_sfr427_rfc9180_vectors(void **state)
{
	struct tally t[8] = {{0}};
	size_t nt = 0;
	unsigned checked = 0, skipped = 0, encs = 0, exps = 0;

	(void)state;
	parse_vectors();
	assert_int_equal(nsets, VECTOR_SETS_TOTAL);
	for (size_t i = 0; i < nsets; i++) {
		const struct vset *v = &sets[i];
		vg_hpke_suite suite = {(uint16_t)num(need(v->f, v->nf, "kem_id")),
				       (uint16_t)num(need(v->f, v->nf, "kdf_id")),
				       (uint16_t)num(need(v->f, v->nf, "aead_id"))};
		struct tally *tt = NULL;

		for (size_t k = 0; k < nt; k++)
			if (strcmp(t[k].suite, v->suite) == 0)
				tt = &t[k];
		if (!tt) {
			assert_true(nt < 8);
			tt = &t[nt++];
			tt->suite = v->suite;
		}
		if (vg_hpke_suite_check(&suite) != VG_OK) {
			printf("hpke vectors: skipped %s, %s mode: kem 0x%04x kdf 0x%04x aead "
			       "0x%04x is not a supported suite\n",
			       v->suite, v->setup, suite.kem, suite.kdf, suite.aead);
			skipped++;
			continue;
		}
		check_set(v, tt);
		checked++;
	}
	for (size_t k = 0; k < nt; k++) {
		if (t[k].sets)
			printf("hpke vectors: %s: %u sets, %u encryptions, %u exports checked\n",
			       t[k].suite, t[k].sets, t[k].encs, t[k].exps);
		encs += t[k].encs;
		exps += t[k].exps;
	}
	printf("hpke vectors: %u of %u sets checked (%u encryptions, %u exports), %u skipped\n",
	       checked, (unsigned)nsets, encs, exps, skipped);
	assert_int_equal(checked, VECTOR_SETS_APPLICABLE);
	assert_int_equal(skipped, VECTOR_SETS_TOTAL - VECTOR_SETS_APPLICABLE);
	/* 5 supported suites with 6 encryptions per set (export-only: none),
	 * 6 supported suites with 3 exports per set */
	assert_int_equal(encs, 5 * 4 * 6);
	assert_int_equal(exps, 6 * 4 * 3);
	for (size_t i = 0; i < nsets; i++) {
		struct vset *v = &sets[i];
		for (size_t k = 0; k < v->nf; k++)
			free(v->f[k].val);
		for (size_t e = 0; e < v->nenc; e++)
			for (size_t k = 0; k < v->nenc_f[e]; k++)
				free(v->enc[e][k].val);
		for (size_t e = 0; e < v->nexp; e++)
			for (size_t k = 0; k < v->nexp_f[e]; k++)
				free(v->exp[e][k].val);
	}
	free(sets);
	sets = NULL;
	nsets = 0;
}

/* ---- round trips and attacks on fresh keys ---- */

static const uint16_t kems[] = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KEM_P256_SHA256};
static const uint16_t aeads[] = {VG_HPKE_AEAD_AES128GCM, VG_HPKE_AEAD_AES256GCM,
				 VG_HPKE_AEAD_CHACHA20};
static const uint8_t psk32[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t pskid[] = "stream-psk-1";
static const uint8_t info_s[] = "voxguard stream 42";
static const uint8_t aad_s[] = "frame header";
static const uint8_t msg_s[] = "twenty milliseconds of speech";

struct pair {
	vg_hpke_suite suite;
	vg_hpke_mode mode;
	EVP_PKEY *skR, *skS;
	uint8_t pkR[VG_HPKE_MAX_PK], pkS[VG_HPKE_MAX_PK];
	size_t pkR_len, pkS_len;
	uint8_t enc[VG_HPKE_MAX_ENC];
	size_t enc_len;
	vg_hpke_ctx *s, *r;
};

static const uint8_t *psk_of(vg_hpke_mode m, size_t *len)
{
	bool p = m == VG_HPKE_MODE_PSK || m == VG_HPKE_MODE_AUTH_PSK;
	*len = p ? sizeof psk32 : 0;
	return p ? psk32 : NULL;
}

static const uint8_t *pskid_of(vg_hpke_mode m, size_t *len)
{
	bool p = m == VG_HPKE_MODE_PSK || m == VG_HPKE_MODE_AUTH_PSK;
	*len = p ? sizeof pskid - 1 : 0;
	return p ? pskid : NULL;
}

static bool is_auth(vg_hpke_mode m)
{
	return m == VG_HPKE_MODE_AUTH || m == VG_HPKE_MODE_AUTH_PSK;
}

/* A sender context to a fresh recipient key (and a fresh sender key in the
 * auth modes), and the recipient's context, through the one-shot set-ups. */
static void pair_setup(struct pair *p, uint16_t kem, uint16_t kdf, uint16_t aead, vg_hpke_mode mode)
{
	size_t psk_len, pskid_len;
	const uint8_t *psk = psk_of(mode, &psk_len), *id = pskid_of(mode, &pskid_len);

	memset(p, 0, sizeof *p);
	p->suite = (vg_hpke_suite){kem, kdf, aead};
	p->mode = mode;
	assert_int_equal(vg_hpke_generate_keypair(kem, &p->skR), VG_OK);
	assert_int_equal(vg_hpke_pk_to_raw(kem, p->skR, p->pkR, &p->pkR_len), VG_OK);
	if (is_auth(mode)) {
		assert_int_equal(vg_hpke_generate_keypair(kem, &p->skS), VG_OK);
		assert_int_equal(vg_hpke_pk_to_raw(kem, p->skS, p->pkS, &p->pkS_len), VG_OK);
	}
	assert_int_equal(vg_hpke_setup_sender(&p->suite, mode, p->pkR, p->pkR_len, p->skS, info_s,
					      sizeof info_s, psk, psk_len, id, pskid_len, p->enc,
					      &p->enc_len, &p->s),
			 VG_OK);
	assert_int_equal(p->enc_len, vg_hpke_pk_len(kem));
	assert_int_equal(vg_hpke_setup_recipient(&p->suite, mode, p->enc, p->enc_len, p->skR,
						 p->skS ? p->pkS : NULL, p->pkS_len, info_s,
						 sizeof info_s, psk, psk_len, id, pskid_len, &p->r),
			 VG_OK);
}

static void pair_free(struct pair *p)
{
	vg_hpke_context_free(&p->s);
	vg_hpke_context_free(&p->r);
	EVP_PKEY_free(p->skR);
	EVP_PKEY_free(p->skS);
}

/* Opening ct must fail with VG_ERR_INTEGRITY, no plaintext, the sequence
 * number unchanged. */
static void assert_open_fails(vg_hpke_ctx *r, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
			      size_t ct_len)
{
	uint8_t sentinel, *pt = &sentinel;
	size_t pt_len = 999;
	uint64_t seq = vg_hpke_context_seq(r);

	assert_int_equal(vg_hpke_open(r, aad, aad_len, ct, ct_len, &pt, &pt_len), VG_ERR_INTEGRITY);
	assert_null(pt);
	assert_int_equal(pt_len, 0);
	assert_int_equal(vg_hpke_context_seq(r), seq);
}

static void seal_msg(vg_hpke_ctx *s, uint8_t **ct, size_t *ct_len)
{
	assert_int_equal(vg_hpke_seal(s, aad_s, sizeof aad_s, msg_s, sizeof msg_s, ct, ct_len),
			 VG_OK);
	assert_int_equal(*ct_len, sizeof msg_s + VG_HPKE_TAG_LEN);
}

static void open_ok(vg_hpke_ctx *r, const uint8_t *ct, size_t ct_len)
{
	uint8_t *pt = NULL;
	size_t pt_len = 0;

	assert_int_equal(vg_hpke_open(r, aad_s, sizeof aad_s, ct, ct_len, &pt, &pt_len), VG_OK);
	assert_int_equal(pt_len, sizeof msg_s);
	assert_memory_equal(pt, msg_s, sizeof msg_s);
	vg_free(pt, pt_len);
}

/* SFR 4.2.8 note 7: every supported suite and mode round-trips through the
 * one-shot set-ups (a stream of messages in order, both exports equal),
 * with the composed implementation on this platform. */
static void test_hpke_sfr428n7_roundtrip_all_suites_modes(void **state)
{
	static const uint16_t kdfs[] = {VG_HPKE_KDF_SHA256, VG_HPKE_KDF_SHA512};
	static const uint16_t all_aeads[] = {VG_HPKE_AEAD_AES128GCM, VG_HPKE_AEAD_AES256GCM,
					     VG_HPKE_AEAD_CHACHA20, VG_HPKE_AEAD_EXPORT_ONLY};
	(void)state;
	for (size_t k = 0; k < VG_ARRAY_LEN(kems); k++)
		for (size_t d = 0; d < VG_ARRAY_LEN(kdfs); d++)
			for (size_t a = 0; a < VG_ARRAY_LEN(all_aeads); a++)
				for (int m = 0; m < 4; m++) {
					struct pair p;
					uint8_t e1[48], e2[48];

					pair_setup(&p, kems[k], kdfs[d], all_aeads[a],
						   (vg_hpke_mode)m);
					assert_string_equal(vg_hpke_context_backend(p.s),
							    "composed");
					if (all_aeads[a] != VG_HPKE_AEAD_EXPORT_ONLY) {
						for (int i = 0; i < 3; i++) {
							uint8_t *ct;
							size_t ct_len;

							seal_msg(p.s, &ct, &ct_len);
							open_ok(p.r, ct, ct_len);
							vg_free(ct, ct_len);
						}
						assert_int_equal(vg_hpke_context_seq(p.r), 3);
					}
					assert_int_equal(vg_hpke_export(p.s,
									(const uint8_t *)"sframe",
									6, sizeof e1, e1),
							 VG_OK);
					assert_int_equal(vg_hpke_export(p.r,
									(const uint8_t *)"sframe",
									6, sizeof e2, e2),
							 VG_OK);
					assert_memory_equal(e1, e2, sizeof e1);
					pair_free(&p);
				}
}

/* SFR 4.2.8 note 7: a flipped bit anywhere in the ciphertext or its tag, or
 * in the associated data, is refused with no plaintext; the untouched
 * message still opens afterwards (control). */
static void test_hpke_sfr428n7_flipped_bits_refused(void **state)
{
	(void)state;
	for (size_t k = 0; k < VG_ARRAY_LEN(kems); k++)
		for (size_t a = 0; a < VG_ARRAY_LEN(aeads); a++) {
			struct pair p;
			uint8_t *ct, aad[sizeof aad_s];
			size_t ct_len;

			pair_setup(&p, kems[k], VG_HPKE_KDF_SHA256, aeads[a], VG_HPKE_MODE_BASE);
			seal_msg(p.s, &ct, &ct_len);
			for (size_t i = 0; i < ct_len; i++) { /* body and tag */
				for (int bit = 0; bit < 8; bit += 7) {
					ct[i] ^= (uint8_t)(1u << bit);
					assert_open_fails(p.r, aad_s, sizeof aad_s, ct, ct_len);
					ct[i] ^= (uint8_t)(1u << bit);
				}
			}
			memcpy(aad, aad_s, sizeof aad);
			for (size_t i = 0; i < sizeof aad; i++) {
				aad[i] ^= 0x01;
				assert_open_fails(p.r, aad, sizeof aad, ct, ct_len);
				aad[i] ^= 0x01;
			}
			assert_open_fails(p.r, NULL, 0, ct, ct_len); /* aad dropped */
			assert_open_fails(p.r, aad_s, sizeof aad_s, ct, ct_len - 1); /* cut */
			assert_open_fails(p.r, aad_s, sizeof aad_s, ct, VG_HPKE_TAG_LEN - 1);
			open_ok(p.r, ct, ct_len); /* control */
			/* the same message again (a replay) is at the wrong number */
			assert_open_fails(p.r, aad_s, sizeof aad_s, ct, ct_len);
			vg_free(ct, ct_len);
			pair_free(&p);
		}
}

/* SFR 4.2.8 note 7: a flipped bit in enc gives another shared secret (or
 * an invalid point): the recipient's context opens nothing. */
static void test_hpke_sfr428n7_flipped_enc_refused(void **state)
{
	(void)state;
	for (size_t k = 0; k < VG_ARRAY_LEN(kems); k++) {
		struct pair p;
		uint8_t *ct;
		size_t ct_len;
		unsigned refused_setup = 0, refused_open = 0;

		pair_setup(&p, kems[k], VG_HPKE_KDF_SHA256, VG_HPKE_AEAD_AES128GCM,
			   VG_HPKE_MODE_BASE);
		seal_msg(p.s, &ct, &ct_len);
		for (size_t i = 0; i < p.enc_len; i++) {
			uint8_t enc[VG_HPKE_MAX_ENC];
			vg_hpke_ctx *r = NULL;
			vg_rc rc;

			memcpy(enc, p.enc, p.enc_len);
			enc[i] ^= (uint8_t)(1u << (i % 8));
			rc =
			    vg_hpke_setup_recipient(&p.suite, p.mode, enc, p.enc_len, p.skR, NULL,
						    0, info_s, sizeof info_s, NULL, 0, NULL, 0, &r);
			if (rc != VG_OK) {
				assert_null(r);
				refused_setup++;
				continue;
			}
			assert_open_fails(r, aad_s, sizeof aad_s, ct, ct_len);
			refused_open++;
			vg_hpke_context_free(&r);
		}
		assert_int_equal(refused_setup + refused_open, p.enc_len);
		if (kems[k] == VG_HPKE_KEM_P256_SHA256)
			assert_true(refused_setup > 0); /* off-curve points are refused */
		open_ok(p.r, ct, ct_len);               /* control */
		vg_free(ct, ct_len);
		pair_free(&p);
	}
}

/* SFR 4.2.8 note 7: the wrong recipient key, a different info, or (auth
 * modes) the wrong sender's public key: nothing opens. */
static void test_hpke_sfr428n7_wrong_keys_refused(void **state)
{
	(void)state;
	for (size_t k = 0; k < VG_ARRAY_LEN(kems); k++)
		for (int m = 0; m < 4; m++) {
			vg_hpke_mode mode = (vg_hpke_mode)m;
			size_t psk_len, id_len;
			const uint8_t *psk = psk_of(mode, &psk_len), *id = pskid_of(mode, &id_len);
			struct pair p;
			EVP_PKEY *other = NULL;
			uint8_t other_pk[VG_HPKE_MAX_PK], *ct;
			size_t other_len, ct_len;
			vg_hpke_ctx *r = NULL;

			pair_setup(&p, kems[k], VG_HPKE_KDF_SHA256, VG_HPKE_AEAD_AES128GCM, mode);
			seal_msg(p.s, &ct, &ct_len);
			assert_int_equal(vg_hpke_generate_keypair(kems[k], &other), VG_OK);
			assert_int_equal(vg_hpke_pk_to_raw(kems[k], other, other_pk, &other_len),
					 VG_OK);
			/* the wrong recipient */
			assert_int_equal(vg_hpke_setup_recipient(&p.suite, mode, p.enc, p.enc_len,
								 other, p.skS ? p.pkS : NULL,
								 p.pkS_len, info_s, sizeof info_s,
								 psk, psk_len, id, id_len, &r),
					 VG_OK);
			assert_open_fails(r, aad_s, sizeof aad_s, ct, ct_len);
			vg_hpke_context_free(&r);
			/* another info (another stream) */
			assert_int_equal(vg_hpke_setup_recipient(&p.suite, mode, p.enc, p.enc_len,
								 p.skR, p.skS ? p.pkS : NULL,
								 p.pkS_len, (const uint8_t *)"x", 1,
								 psk, psk_len, id, id_len, &r),
					 VG_OK);
			assert_open_fails(r, aad_s, sizeof aad_s, ct, ct_len);
			vg_hpke_context_free(&r);
			if (is_auth(mode)) {
				/* the wrong sender */
				assert_int_equal(vg_hpke_setup_recipient(
						     &p.suite, mode, p.enc, p.enc_len, p.skR,
						     other_pk, other_len, info_s, sizeof info_s,
						     psk, psk_len, id, id_len, &r),
						 VG_OK);
				assert_open_fails(r, aad_s, sizeof aad_s, ct, ct_len);
				vg_hpke_context_free(&r);
				/* an auth stream taken as a base one */
				if (mode == VG_HPKE_MODE_AUTH) {
					assert_int_equal(vg_hpke_setup_recipient(
							     &p.suite, VG_HPKE_MODE_BASE, p.enc,
							     p.enc_len, p.skR, NULL, 0, info_s,
							     sizeof info_s, NULL, 0, NULL, 0, &r),
							 VG_OK);
					assert_open_fails(r, aad_s, sizeof aad_s, ct, ct_len);
					vg_hpke_context_free(&r);
				}
			}
			if (psk) { /* another psk of the same id */
				uint8_t psk2[32];
				memcpy(psk2, psk32, sizeof psk2);
				psk2[0] ^= 1;
				assert_int_equal(
				    vg_hpke_setup_recipient(&p.suite, mode, p.enc, p.enc_len, p.skR,
							    p.skS ? p.pkS : NULL, p.pkS_len, info_s,
							    sizeof info_s, psk2, sizeof psk2, id,
							    id_len, &r),
				    VG_OK);
				assert_open_fails(r, aad_s, sizeof aad_s, ct, ct_len);
				vg_hpke_context_free(&r);
			}
			open_ok(p.r, ct, ct_len); /* control */
			/* a key of the other KEM is refused as skR */
			{
				EVP_PKEY *wrong = NULL;
				uint8_t ss[VG_HPKE_SECRET_LEN];
				uint16_t ok = kems[k] == VG_HPKE_KEM_X25519_SHA256
						  ? VG_HPKE_KEM_P256_SHA256
						  : VG_HPKE_KEM_X25519_SHA256;

				assert_int_equal(vg_hpke_generate_keypair(ok, &wrong), VG_OK);
				assert_int_equal(
				    vg_hpke_decap(&p.suite, p.enc, p.enc_len, wrong, NULL, 0, ss),
				    VG_ERR_INVALID);
				EVP_PKEY_free(wrong);
			}
			vg_free(ct, ct_len);
			EVP_PKEY_free(other);
			pair_free(&p);
		}
}

/* RFC 9180 5.1 VerifyPSKInputs: a psk without its id, an id without its
 * psk, a psk in base or auth mode, none in the psk modes, and a psk
 * shorter than 32 bytes are refused; so are the auth key rules of the
 * one-shot set-ups and an unknown mode. */
static void test_hpke_sfr428n7_psk_inputs_refused(void **state)
{
	vg_hpke_suite suite = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KDF_SHA256,
			       VG_HPKE_AEAD_AES128GCM};
	uint8_t ss[VG_HPKE_SECRET_LEN] = {1, 2, 3};
	const uint8_t *id = pskid;
	size_t id_len = sizeof pskid - 1;
	vg_hpke_ctx *c = NULL;
	struct {
		vg_hpke_mode mode;
		const uint8_t *psk;
		size_t psk_len;
		const uint8_t *id;
		size_t id_len;
	} bad[] = {
	    {VG_HPKE_MODE_PSK, psk32, sizeof psk32, NULL, 0},      /* psk without psk_id */
	    {VG_HPKE_MODE_PSK, NULL, 0, id, id_len},               /* psk_id without psk */
	    {VG_HPKE_MODE_AUTH_PSK, psk32, sizeof psk32, NULL, 0}, /* again, auth_psk */
	    {VG_HPKE_MODE_AUTH_PSK, NULL, 0, id, id_len},
	    {VG_HPKE_MODE_PSK, NULL, 0, NULL, 0}, /* psk mode without */
	    {VG_HPKE_MODE_AUTH_PSK, NULL, 0, NULL, 0},
	    {VG_HPKE_MODE_BASE, psk32, sizeof psk32, id, id_len}, /* base mode with */
	    {VG_HPKE_MODE_AUTH, psk32, sizeof psk32, id, id_len}, /* auth mode with */
	    {VG_HPKE_MODE_BASE, psk32, sizeof psk32, NULL, 0},
	    {VG_HPKE_MODE_BASE, NULL, 0, id, id_len},
	    {VG_HPKE_MODE_PSK, psk32, 31, id, id_len}, /* a short psk */
	    {(vg_hpke_mode)4, NULL, 0, NULL, 0},       /* no such mode */
	};

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		for (int role = 0; role < 2; role++) {
			c = (vg_hpke_ctx *)&c; /* must come back NULL */
			assert_int_equal(vg_hpke_context_new(&suite, bad[i].mode,
							     (vg_hpke_role)role, ss, sizeof ss,
							     NULL, 0, bad[i].psk, bad[i].psk_len,
							     bad[i].id, bad[i].id_len, &c),
					 VG_ERR_INVALID);
			assert_null(c);
		}
	}
	/* controls: the same inputs the right way round */
	assert_int_equal(vg_hpke_context_new(&suite, VG_HPKE_MODE_PSK, VG_HPKE_SENDER, ss,
					     sizeof ss, NULL, 0, psk32, sizeof psk32, id, id_len,
					     &c),
			 VG_OK);
	vg_hpke_context_free(&c);
	assert_int_equal(vg_hpke_context_new(&suite, VG_HPKE_MODE_BASE, VG_HPKE_SENDER, ss,
					     sizeof ss, NULL, 0, NULL, 0, NULL, 0, &c),
			 VG_OK);
	vg_hpke_context_free(&c);
	vg_hpke_context_free(&c); /* NULL-safe */
	vg_hpke_context_free(NULL);
	/* a shared secret of the wrong length */
	assert_int_equal(vg_hpke_context_new(&suite, VG_HPKE_MODE_BASE, VG_HPKE_SENDER, ss, 31,
					     NULL, 0, NULL, 0, NULL, 0, &c),
			 VG_ERR_INVALID);
	/* the one-shot set-ups: auth modes need the sender's key, others refuse it */
	{
		EVP_PKEY *skR = NULL;
		uint8_t pkR[VG_HPKE_MAX_PK], enc[VG_HPKE_MAX_ENC];
		size_t pkR_len, enc_len;

		assert_int_equal(vg_hpke_generate_keypair(suite.kem, &skR), VG_OK);
		assert_int_equal(vg_hpke_pk_to_raw(suite.kem, skR, pkR, &pkR_len), VG_OK);
		assert_int_equal(vg_hpke_setup_sender(&suite, VG_HPKE_MODE_AUTH, pkR, pkR_len, NULL,
						      NULL, 0, NULL, 0, NULL, 0, enc, &enc_len, &c),
				 VG_ERR_INVALID);
		assert_int_equal(vg_hpke_setup_sender(&suite, VG_HPKE_MODE_BASE, pkR, pkR_len, skR,
						      NULL, 0, NULL, 0, NULL, 0, enc, &enc_len, &c),
				 VG_ERR_INVALID);
		assert_int_equal(vg_hpke_setup_sender(&suite, VG_HPKE_MODE_PSK, pkR, pkR_len, NULL,
						      NULL, 0, psk32, sizeof psk32, NULL, 0, enc,
						      &enc_len, &c),
				 VG_ERR_INVALID);
		assert_null(c);
		assert_int_equal(enc_len, 0);
		assert_int_equal(vg_hpke_setup_recipient(&suite, VG_HPKE_MODE_AUTH, pkR, pkR_len,
							 skR, NULL, 0, NULL, 0, NULL, 0, NULL, 0,
							 &c),
				 VG_ERR_INVALID);
		assert_null(c);
		EVP_PKEY_free(skR);
	}
}

/* Invalid public keys are clean errors: wrong lengths, a P-256 encoding
 * that is not an uncompressed point or not on the curve, the point at
 * infinity; as pkR (encap), as enc (decap) and as pkS (auth decap). */
static void test_hpke_sfr428n7_invalid_public_keys(void **state)
{
	vg_hpke_suite p256 = {VG_HPKE_KEM_P256_SHA256, VG_HPKE_KDF_SHA256, VG_HPKE_AEAD_AES128GCM};
	vg_hpke_suite x25519 = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KDF_SHA256,
				VG_HPKE_AEAD_AES128GCM};
	EVP_PKEY *sk = NULL, *skx = NULL, *pk = NULL;
	uint8_t good[VG_HPKE_MAX_PK], bad[VG_HPKE_MAX_PK + 2], enc[VG_HPKE_MAX_ENC];
	uint8_t ss[VG_HPKE_SECRET_LEN];
	size_t good_len, enc_len = 7;
	static const size_t p256_lens[] = {0, 1, 33, 64, 66, 67};
	static const size_t x_lens[] = {0, 1, 31, 33, 65};

	(void)state;
	assert_int_equal(vg_hpke_generate_keypair(VG_HPKE_KEM_P256_SHA256, &sk), VG_OK);
	assert_int_equal(vg_hpke_pk_to_raw(VG_HPKE_KEM_P256_SHA256, sk, good, &good_len), VG_OK);
	assert_int_equal(good_len, 65);
	assert_int_equal(good[0], 0x04);
	assert_int_equal(vg_hpke_pk_from_raw(VG_HPKE_KEM_P256_SHA256, good, good_len, &pk), VG_OK);
	EVP_PKEY_free(pk);
	pk = NULL;

	/* wrong lengths */
	memset(bad, 0, sizeof bad);
	memcpy(bad, good, good_len);
	for (size_t i = 0; i < VG_ARRAY_LEN(p256_lens); i++) {
		assert_int_equal(
		    vg_hpke_pk_from_raw(VG_HPKE_KEM_P256_SHA256, bad, p256_lens[i], &pk),
		    VG_ERR_INVALID);
		assert_null(pk);
		assert_int_equal(
		    vg_hpke_encap(&p256, bad, p256_lens[i], NULL, NULL, 0, enc, &enc_len, ss),
		    VG_ERR_INVALID);
		assert_int_equal(enc_len, 0);
		assert_int_equal(vg_hpke_decap(&p256, bad, p256_lens[i], sk, NULL, 0, ss),
				 VG_ERR_INVALID);
	}
	/* not on the curve: y + 1 */
	memcpy(bad, good, good_len);
	bad[64] ^= 0x01;
	assert_int_equal(vg_hpke_pk_from_raw(VG_HPKE_KEM_P256_SHA256, bad, 65, &pk),
			 VG_ERR_INVALID);
	assert_int_equal(vg_hpke_encap(&p256, bad, 65, NULL, NULL, 0, enc, &enc_len, ss),
			 VG_ERR_INVALID);
	assert_int_equal(vg_hpke_decap(&p256, bad, 65, sk, NULL, 0, ss), VG_ERR_INVALID);
	assert_int_equal(vg_hpke_decap(&p256, good, 65, sk, bad, 65, ss), VG_ERR_INVALID);
	/* a compressed or hybrid prefix on 65 bytes, and all zeros (infinity) */
	for (int pre = 0; pre < 8; pre++) {
		if (pre == 4)
			continue;
		memcpy(bad, good, good_len);
		bad[0] = (uint8_t)pre;
		assert_int_equal(vg_hpke_pk_from_raw(VG_HPKE_KEM_P256_SHA256, bad, 65, &pk),
				 VG_ERR_INVALID);
		assert_int_equal(vg_hpke_decap(&p256, bad, 65, sk, NULL, 0, ss), VG_ERR_INVALID);
	}
	memset(bad, 0, 65);
	assert_int_equal(vg_hpke_pk_from_raw(VG_HPKE_KEM_P256_SHA256, bad, 65, &pk),
			 VG_ERR_INVALID);
	bad[0] = 0x04;
	assert_int_equal(vg_hpke_pk_from_raw(VG_HPKE_KEM_P256_SHA256, bad, 65, &pk),
			 VG_ERR_INVALID);
	assert_null(pk);
	/* the secret output is wiped on failure */
	for (size_t i = 0; i < sizeof ss; i++)
		assert_int_equal(ss[i], 0);

	/* X25519: wrong lengths */
	assert_int_equal(vg_hpke_generate_keypair(VG_HPKE_KEM_X25519_SHA256, &skx), VG_OK);
	for (size_t i = 0; i < VG_ARRAY_LEN(x_lens); i++) {
		assert_int_equal(
		    vg_hpke_pk_from_raw(VG_HPKE_KEM_X25519_SHA256, bad, x_lens[i], &pk),
		    VG_ERR_INVALID);
		assert_int_equal(vg_hpke_decap(&x25519, bad, x_lens[i], skx, NULL, 0, ss),
				 VG_ERR_INVALID);
	}
	/* unsupported KEMs and suites */
	assert_int_equal(vg_hpke_pk_from_raw(0x0012, good, 65, &pk), VG_ERR_UNSUPPORTED);
	{
		vg_hpke_suite p521 = {0x0012, VG_HPKE_KDF_SHA512, VG_HPKE_AEAD_AES256GCM};
		vg_hpke_suite kdf2 = {VG_HPKE_KEM_X25519_SHA256, 0x0002, VG_HPKE_AEAD_AES128GCM};
		vg_hpke_suite aead0 = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KDF_SHA256, 0};

		assert_int_equal(vg_hpke_suite_check(&p521), VG_ERR_UNSUPPORTED);
		assert_int_equal(vg_hpke_suite_check(&kdf2), VG_ERR_UNSUPPORTED);
		assert_int_equal(vg_hpke_suite_check(&aead0), VG_ERR_UNSUPPORTED);
		assert_int_equal(vg_hpke_encap(&p521, good, 65, NULL, NULL, 0, enc, &enc_len, ss),
				 VG_ERR_UNSUPPORTED);
	}
	/* DeriveKeyPair needs at least Nsk bytes of ikm */
	assert_int_equal(vg_hpke_derive_keypair(VG_HPKE_KEM_X25519_SHA256, good, 31, &pk),
			 VG_ERR_INVALID);
	/* DeserializePrivateKey: 0 and n are not P-256 scalars */
	memset(bad, 0, 32);
	assert_int_equal(vg_hpke_sk_from_raw(VG_HPKE_KEM_P256_SHA256, bad, 32, &pk),
			 VG_ERR_INVALID);
	memset(bad, 0xff, 32);
	assert_int_equal(vg_hpke_sk_from_raw(VG_HPKE_KEM_P256_SHA256, bad, 32, &pk),
			 VG_ERR_INVALID);
	assert_null(pk);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(skx);
}

/* RFC 9180 7.1.4: X25519 with a small-order point gives the all-zero
 * shared secret, which must be refused; as pkR (encap), as enc (decap) and
 * as pkS (auth decap). */
static void test_hpke_sfr428n7_x25519_zero_output_refused(void **state)
{
	static const char *small_order[] = {
	    "0000000000000000000000000000000000000000000000000000000000000000", /* 0 */
	    "0100000000000000000000000000000000000000000000000000000000000000", /* 1 */
	    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
	    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", /* order 8 */
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p - 1 */
	    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p */
	    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 1 */
	};
	vg_hpke_suite suite = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KDF_SHA256,
			       VG_HPKE_AEAD_CHACHA20};
	EVP_PKEY *sk = NULL;
	uint8_t good[VG_HPKE_MAX_PK], enc[VG_HPKE_MAX_ENC], ss[VG_HPKE_SECRET_LEN];
	size_t good_len, enc_len;

	(void)state;
	assert_int_equal(vg_hpke_generate_keypair(suite.kem, &sk), VG_OK);
	assert_int_equal(vg_hpke_pk_to_raw(suite.kem, sk, good, &good_len), VG_OK);
	for (size_t i = 0; i < VG_ARRAY_LEN(small_order); i++) {
		uint8_t pt[32];
		size_t n;

		assert_true(vg_hex_decode(small_order[i], pt, sizeof pt, &n));
		assert_int_equal(n, 32);
		/* the point itself is 32 bytes: only the DH refuses it */
		memset(ss, 0xAA, sizeof ss);
		assert_int_equal(vg_hpke_encap(&suite, pt, 32, NULL, NULL, 0, enc, &enc_len, ss),
				 VG_ERR_CRYPTO);
		assert_int_equal(enc_len, 0);
		for (size_t j = 0; j < sizeof ss; j++)
			assert_int_equal(ss[j], 0);
		assert_int_equal(vg_hpke_decap(&suite, pt, 32, sk, NULL, 0, ss), VG_ERR_CRYPTO);
		assert_int_equal(vg_hpke_decap(&suite, good, good_len, sk, pt, 32, ss),
				 VG_ERR_CRYPTO);
	}
	/* control */
	assert_int_equal(vg_hpke_encap(&suite, good, good_len, NULL, NULL, 0, enc, &enc_len, ss),
			 VG_OK);
	EVP_PKEY_free(sk);
}

/* RFC 9180 5.2: the sequence number never wraps (a nonce is never reused):
 * the last number seals, the next is refused, for good; open likewise;
 * seal on a recipient and open on a sender are refused. */
static void test_hpke_sfr428n7_seq_overflow_refused(void **state)
{
	struct pair p;
	uint8_t *ct = NULL, *ct2 = NULL, *pt = NULL;
	size_t ct_len, ct2_len = 5, pt_len = 5;

	(void)state;
	pair_setup(&p, VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KDF_SHA256, VG_HPKE_AEAD_AES256GCM,
		   VG_HPKE_MODE_BASE);
	assert_int_equal(vg_hpke_test_set_seq(p.s, UINT64_MAX - 1), VG_OK);
	assert_int_equal(vg_hpke_test_set_seq(p.r, UINT64_MAX - 1), VG_OK);
	seal_msg(p.s, &ct, &ct_len);
	assert_int_equal(vg_hpke_context_seq(p.s), UINT64_MAX);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    vg_hpke_seal(p.s, aad_s, sizeof aad_s, msg_s, sizeof msg_s, &ct2, &ct2_len),
		    VG_ERR_TOO_LARGE);
		assert_null(ct2);
		assert_int_equal(ct2_len, 0);
	}
	open_ok(p.r, ct, ct_len);
	assert_int_equal(vg_hpke_open(p.r, aad_s, sizeof aad_s, ct, ct_len, &pt, &pt_len),
			 VG_ERR_TOO_LARGE);
	assert_null(pt);
	/* roles */
	assert_int_equal(vg_hpke_seal(p.r, NULL, 0, msg_s, sizeof msg_s, &ct2, &ct2_len),
			 VG_ERR_INVALID);
	assert_int_equal(vg_hpke_open(p.s, NULL, 0, ct, ct_len, &pt, &pt_len), VG_ERR_INVALID);
	/* export still works on a spent context; bounds on L and the context */
	{
		uint8_t out[64], big[VG_HPKE_MAX_EXP_CTX + 1] = {0};
		assert_int_equal(vg_hpke_export(p.s, NULL, 0, 32, out), VG_OK);
		assert_int_equal(vg_hpke_export(p.s, NULL, 0, 0, out), VG_ERR_INVALID);
		assert_int_equal(vg_hpke_export(p.s, big, sizeof big, 32, out), VG_ERR_TOO_LARGE);
		assert_int_equal(vg_hpke_export(p.s, big, sizeof big - 1, 32, out), VG_OK);
	}
	vg_free(ct, ct_len);
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hpke_sfr427_rfc9180_vectors),
	    cmocka_unit_test(test_hpke_sfr428n7_roundtrip_all_suites_modes),
	    cmocka_unit_test(test_hpke_sfr428n7_flipped_bits_refused),
	    cmocka_unit_test(test_hpke_sfr428n7_flipped_enc_refused),
	    cmocka_unit_test(test_hpke_sfr428n7_wrong_keys_refused),
	    cmocka_unit_test(test_hpke_sfr428n7_psk_inputs_refused),
	    cmocka_unit_test(test_hpke_sfr428n7_invalid_public_keys),
	    cmocka_unit_test(test_hpke_sfr428n7_x25519_zero_output_refused),
	    cmocka_unit_test(test_hpke_sfr428n7_seq_overflow_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
