/*
 * sframe.c - SFrame (RFC 9605) and voxguard's audio stream layer on top of
 * it. See sframe.h for the contract and docs/AUDIO.md for the
 * format. Every primitive is OpenSSL's (EVP_CIPHER, EVP_MAC, EVP_KDF).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "audio/sframe.h"
#include "common/util.h"

#if VG_SFRAME_NONCE_LEN != 12
#error "every RFC 9605 suite has a 12-byte nonce"
#endif

/* ---- the header (RFC 9605 section 4.3) ---- */

/* Bytes of v's minimal big-endian form: 1..8. */
static size_t be_len(uint64_t v)
{
	size_t n = 1;

	while (n < 8 && (v >> (8 * n)) != 0)
		n++;
	return n;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

void vg_sframe_header_encode(uint64_t kid, uint64_t ctr, uint8_t out[static VG_SFRAME_HDR_MAX],
			     size_t *len)
{
	size_t off = 1;
	uint8_t cfg = 0;

	if (kid < 8) {
		cfg |= (uint8_t)(kid << 4);
	} else {
		size_t n = be_len(kid);
		cfg |= (uint8_t)(0x80u | ((n - 1) << 4));
		put_be(out + off, kid, n);
		off += n;
	}
	if (ctr < 8) {
		cfg |= (uint8_t)ctr;
	} else {
		size_t n = be_len(ctr);
		cfg |= (uint8_t)(0x08u | (n - 1));
		put_be(out + off, ctr, n);
		off += n;
	}
	out[0] = cfg;
	*len = off;
}

/* One extended field: n bytes at p, which must be its minimal form: a
 * value of 8 or more (0..7 go in the config byte) with no leading zero
 * byte. */
static bool get_field(const uint8_t *p, size_t n, uint64_t *v)
{
	*v = get_be(p, n);
	return *v >= 8 && be_len(*v) == n;
}

vg_rc vg_sframe_header_decode(const uint8_t *buf, size_t len, uint64_t *kid, uint64_t *ctr,
			      size_t *hdr_len)
{
	size_t klen = 0, clen = 0;
	uint64_t k, c;
	uint8_t cfg;

	*kid = *ctr = 0;
	*hdr_len = 0;
	if (!buf || len < 1)
		return VG_ERR_PROTOCOL;
	cfg = buf[0];
	if (cfg & 0x80u)
		klen = (size_t)((cfg >> 4) & 7u) + 1;
	if (cfg & 0x08u)
		clen = (size_t)(cfg & 7u) + 1;
	if (len - 1 < klen + clen)
		return VG_ERR_PROTOCOL;
	if (klen) {
		if (!get_field(buf + 1, klen, &k))
			return VG_ERR_PROTOCOL;
	} else {
		k = (cfg >> 4) & 7u;
	}
	if (clen) {
		if (!get_field(buf + 1 + klen, clen, &c))
			return VG_ERR_PROTOCOL;
	} else {
		c = cfg & 7u;
	}
	*kid = k;
	*ctr = c;
	*hdr_len = 1 + klen + clen;
	return VG_OK;
}

/* ---- cipher suites (RFC 9605 section 4.5) ---- */

enum aead_kind { AEAD_GCM = 1, AEAD_CTR_HMAC = 2 };

static const struct suite {
	vg_sframe_suite id;
	const char *name;
	const char *hash; /* HKDF's, and the HMAC's for CTR_HMAC */
	size_t nh, nka, nk, nt;
	enum aead_kind kind;
	const char *cipher;
} suites[] = {
    {VG_SFRAME_AES_128_CTR_HMAC_SHA256_80, "AES_128_CTR_HMAC_SHA256_80", "SHA256", 32, 16, 48, 10,
     AEAD_CTR_HMAC, "AES-128-CTR"},
    {VG_SFRAME_AES_128_CTR_HMAC_SHA256_64, "AES_128_CTR_HMAC_SHA256_64", "SHA256", 32, 16, 48, 8,
     AEAD_CTR_HMAC, "AES-128-CTR"},
    {VG_SFRAME_AES_128_CTR_HMAC_SHA256_32, "AES_128_CTR_HMAC_SHA256_32", "SHA256", 32, 16, 48, 4,
     AEAD_CTR_HMAC, "AES-128-CTR"},
    {VG_SFRAME_AES_128_GCM_SHA256_128, "AES_128_GCM_SHA256_128", "SHA256", 32, 0, 16, 16, AEAD_GCM,
     "AES-128-GCM"},
    {VG_SFRAME_AES_256_GCM_SHA512_128, "AES_256_GCM_SHA512_128", "SHA512", 64, 0, 32, 16, AEAD_GCM,
     "AES-256-GCM"},
};

static const struct suite *find_suite(vg_sframe_suite id)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(suites); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

bool vg_sframe_suite_info(vg_sframe_suite suite, size_t *nk, size_t *nt)
{
	const struct suite *s = find_suite(suite);

	if (!s)
		return false;
	if (nk)
		*nk = s->nk;
	if (nt)
		*nt = s->nt;
	return true;
}

const char *vg_sframe_suite_name(vg_sframe_suite suite)
{
	const struct suite *s = find_suite(suite);

	return s ? s->name : NULL;
}

/* ---- the key schedule (section 4.4.2): HKDF from OpenSSL ---- */

static vg_rc hkdf(int mode, const char *hash, const uint8_t *key, size_t key_len,
		  const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	vg_rc rc = VG_ERR_CRYPTO;

	EVP_KDF_free(kdf); /* the context holds its own reference */
	if (!c)
		return VG_ERR_NOMEM;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)hash, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	/* Extract: no salt, which RFC 5869 defines as HashLen zero bytes, the
	 * same HMAC key as RFC 9605's "". */
	if (info)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(c, out, out_len, params) == 1)
		rc = VG_OK;
	EVP_KDF_CTX_free(c);
	return rc;
}

/* "SFrame 1.0 Secret key " or "... salt " || KID (8, BE) || suite (2, BE) */
static size_t label(uint8_t out[static 40], const char *what, uint64_t kid, uint16_t suite)
{
	size_t n = strlen(what);

	memcpy(out, what, n);
	put_be(out + n, kid, 8);
	put_be(out + n + 8, suite, 2);
	return n + 10;
}

vg_rc vg_sframe_derive(vg_sframe_suite suite, const uint8_t *base_key, size_t base_key_len,
		       uint64_t kid, uint8_t key[static VG_SFRAME_KEY_MAX],
		       uint8_t salt[static VG_SFRAME_NONCE_LEN])
{
	const struct suite *s = find_suite(suite);
	uint8_t secret[64], info[40];
	size_t n;
	vg_rc rc;

	if (!s || !base_key || base_key_len < VG_SFRAME_BASE_KEY_MIN ||
	    base_key_len > VG_SFRAME_BASE_KEY_MAX)
		return VG_ERR_INVALID;
	rc = hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, s->hash, base_key, base_key_len, NULL, 0, secret,
		  s->nh);
	if (rc != VG_OK)
		goto out;
	n = label(info, "SFrame 1.0 Secret key ", kid, (uint16_t)s->id);
	rc = hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, s->hash, secret, s->nh, info, n, key, s->nk);
	if (rc != VG_OK)
		goto out;
	n = label(info, "SFrame 1.0 Secret salt ", kid, (uint16_t)s->id);
	rc = hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, s->hash, secret, s->nh, info, n, salt,
		  VG_SFRAME_NONCE_LEN);
out:
	vg_wipe(secret, sizeof secret);
	if (rc != VG_OK) {
		vg_wipe(key, VG_SFRAME_KEY_MAX);
		vg_wipe(salt, VG_SFRAME_NONCE_LEN);
	}
	return rc;
}

/* ---- the AEAD ---- */

struct vg_sframe_aead {
	enum aead_kind kind;
	size_t nt;
	EVP_CIPHER_CTX *enc; /* keyed once; per frame only the IV is set */
	EVP_CIPHER_CTX *dec; /* GCM only (CTR: enc both ways) */
	EVP_MAC_CTX *mac;    /* CTR_HMAC: keyed with auth_key, re-initialised per frame */
};

void vg_sframe_aead_free(vg_sframe_aead **a)
{
	if (!a || !*a)
		return;
	/* OpenSSL cleanses the key schedules and the HMAC pads it frees. */
	EVP_CIPHER_CTX_free((*a)->enc);
	EVP_CIPHER_CTX_free((*a)->dec);
	EVP_MAC_CTX_free((*a)->mac);
	vg_free(*a, sizeof **a);
	*a = NULL;
}

static vg_rc aead_make(enum aead_kind kind, const char *cipher_name, size_t nka, const char *hash,
		       size_t nt, const uint8_t *key, size_t key_len, vg_sframe_aead **out)
{
	vg_sframe_aead *a;
	EVP_CIPHER *cipher = NULL;
	EVP_MAC *hmac = NULL;
	vg_rc rc = VG_ERR_CRYPTO;

	*out = NULL;
	a = calloc(1, sizeof *a);
	if (!a)
		return VG_ERR_NOMEM;
	a->kind = kind;
	a->nt = nt;
	cipher = EVP_CIPHER_fetch(NULL, cipher_name, NULL);
	a->enc = EVP_CIPHER_CTX_new();
	if (!cipher || !a->enc)
		goto out;
	if ((size_t)EVP_CIPHER_get_key_length(cipher) != nka)
		goto out;
	if (EVP_EncryptInit_ex2(a->enc, cipher, key, NULL, NULL) != 1)
		goto out;
	if (kind == AEAD_GCM) {
		a->dec = EVP_CIPHER_CTX_new();
		if (!a->dec || EVP_DecryptInit_ex2(a->dec, cipher, key, NULL, NULL) != 1)
			goto out;
	} else {
		OSSL_PARAM params[2];

		hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		a->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
		if (!a->mac)
			goto out;
		params[0] =
		    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)hash, 0);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_MAC_init(a->mac, key + nka, key_len - nka, params) != 1 ||
		    EVP_MAC_CTX_get_mac_size(a->mac) < nt)
			goto out;
	}
	rc = VG_OK;
out:
	EVP_CIPHER_free(cipher);
	EVP_MAC_free(hmac);
	if (rc == VG_OK)
		*out = a;
	else
		vg_sframe_aead_free(&a);
	return rc;
}

vg_rc vg_sframe_aead_new(vg_sframe_suite suite, const uint8_t *key, size_t key_len,
			 vg_sframe_aead **out)
{
	const struct suite *s = find_suite(suite);

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!s || !key || key_len != s->nk)
		return VG_ERR_INVALID;
	return aead_make(s->kind, s->cipher, s->kind == AEAD_GCM ? s->nk : s->nka, s->hash, s->nt,
			 key, key_len, out);
}

vg_rc vg_sframe_aead_new_ctr_hmac(size_t nka, const char *hash, size_t nt, const uint8_t *key,
				  size_t key_len, vg_sframe_aead **out)
{
	size_t nh;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!hash || !key || (nka != 16 && nka != 32))
		return VG_ERR_INVALID;
	if (strcmp(hash, "SHA256") == 0)
		nh = 32;
	else if (strcmp(hash, "SHA512") == 0)
		nh = 64;
	else
		return VG_ERR_INVALID;
	if (key_len != nka + nh || nt < 4 || nt > nh)
		return VG_ERR_INVALID;
	return aead_make(AEAD_CTR_HMAC, nka == 16 ? "AES-128-CTR" : "AES-256-CTR", nka, hash, nt,
			 key, key_len, out);
}

size_t vg_sframe_aead_tag_len(const vg_sframe_aead *a)
{
	return a ? a->nt : 0;
}

/* Section 4.5.1 compute_tag: HMAC(auth_key, len(aad) || len(ct) || Nt
 * (8 bytes BE each) || nonce || aad || ct), truncated to Nt. */
static vg_rc ctr_hmac_tag(vg_sframe_aead *a, const uint8_t nonce[static 12], const uint8_t *aad,
			  size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *tag)
{
	uint8_t lens[24], full[EVP_MAX_MD_SIZE];
	size_t n = 0;
	vg_rc rc = VG_ERR_CRYPTO;

	put_be(lens, aad_len, 8);
	put_be(lens + 8, ct_len, 8);
	put_be(lens + 16, a->nt, 8);
	/* A NULL key re-initialises HMAC with the key it holds. */
	if (EVP_MAC_init(a->mac, NULL, 0, NULL) == 1 &&
	    EVP_MAC_update(a->mac, lens, sizeof lens) == 1 &&
	    EVP_MAC_update(a->mac, nonce, 12) == 1 &&
	    (aad_len == 0 || EVP_MAC_update(a->mac, aad, aad_len) == 1) &&
	    (ct_len == 0 || EVP_MAC_update(a->mac, ct, ct_len) == 1) &&
	    EVP_MAC_final(a->mac, full, &n, sizeof full) == 1 && n >= a->nt) {
		memcpy(tag, full, a->nt);
		rc = VG_OK;
	}
	vg_wipe(full, sizeof full);
	return rc;
}

/* AES-CTR over in (len bytes) into out with the counter block nonce ||
 * 0x00000000. A frame is far below 2^32 blocks, so the block counter never
 * carries into the nonce. */
static vg_rc ctr_xor(vg_sframe_aead *a, const uint8_t nonce[static 12], const uint8_t *in,
		     size_t len, uint8_t *out)
{
	uint8_t iv[16] = {0};
	int n = 0;

	memcpy(iv, nonce, 12);
	if (len > VG_SFRAME_MAX_CT)
		return VG_ERR_TOO_LARGE;
	if (EVP_EncryptInit_ex2(a->enc, NULL, NULL, iv, NULL) != 1)
		return VG_ERR_CRYPTO;
	if (len && (EVP_EncryptUpdate(a->enc, out, &n, in, (int)len) != 1 || (size_t)n != len))
		return VG_ERR_CRYPTO;
	return VG_OK;
}

vg_rc vg_sframe_aead_seal(vg_sframe_aead *a, const uint8_t nonce[static 12], const uint8_t *aad,
			  size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
			  size_t cap, size_t *out_len)
{
	int n = 0, m = 0;
	vg_rc rc;

	if (!a || !out || !out_len || (pt_len && !pt) || (aad_len && !aad))
		return VG_ERR_INVALID;
	*out_len = 0;
	if (pt_len > VG_SFRAME_MAX_CT || aad_len > VG_SFRAME_MAX_CT)
		return VG_ERR_TOO_LARGE;
	if (cap < pt_len + a->nt)
		return VG_ERR_TOO_LARGE;
	if (a->kind == AEAD_CTR_HMAC) {
		rc = ctr_xor(a, nonce, pt, pt_len, out);
		if (rc == VG_OK)
			rc = ctr_hmac_tag(a, nonce, aad, aad_len, out, pt_len, out + pt_len);
		if (rc != VG_OK) {
			vg_wipe(out, pt_len + a->nt);
			return rc;
		}
		*out_len = pt_len + a->nt;
		return VG_OK;
	}
	if (EVP_EncryptInit_ex2(a->enc, NULL, NULL, nonce, NULL) != 1 ||
	    (aad_len && EVP_EncryptUpdate(a->enc, NULL, &n, aad, (int)aad_len) != 1) ||
	    (pt_len && EVP_EncryptUpdate(a->enc, out, &n, pt, (int)pt_len) != 1) ||
	    EVP_EncryptFinal_ex(a->enc, out + (pt_len ? (size_t)n : 0), &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_GCM_GET_TAG, (int)a->nt, out + pt_len) != 1) {
		vg_wipe(out, pt_len + a->nt);
		return VG_ERR_CRYPTO;
	}
	*out_len = pt_len + a->nt;
	return VG_OK;
}

vg_rc vg_sframe_aead_open(vg_sframe_aead *a, const uint8_t nonce[static 12], const uint8_t *aad,
			  size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *out,
			  size_t cap, size_t *out_len)
{
	uint8_t tag[EVP_MAX_MD_SIZE];
	size_t pt_len;
	int n = 0, m = 0;
	vg_rc rc = VG_ERR_INTEGRITY;

	if (!a || !out_len || !ct || (aad_len && !aad))
		return VG_ERR_INVALID;
	*out_len = 0;
	if (ct_len > VG_SFRAME_MAX_CT || aad_len > VG_SFRAME_MAX_CT)
		return VG_ERR_TOO_LARGE;
	if (ct_len < a->nt)
		return VG_ERR_INTEGRITY;
	pt_len = ct_len - a->nt;
	if (cap < pt_len || (pt_len && !out))
		return VG_ERR_TOO_LARGE;
	if (a->kind == AEAD_CTR_HMAC) {
		rc = ctr_hmac_tag(a, nonce, aad, aad_len, ct, pt_len, tag);
		if (rc == VG_OK && CRYPTO_memcmp(tag, ct + pt_len, a->nt) != 0)
			rc = VG_ERR_INTEGRITY;
		/* Decrypt only what authenticated. */
		if (rc == VG_OK)
			rc = ctr_xor(a, nonce, ct, pt_len, out);
		vg_wipe(tag, sizeof tag);
		goto out;
	}
	/* GCM: OpenSSL decrypts as it goes and checks the tag last (with
	 * CRYPTO_memcmp); the output is wiped if it fails. */
	memcpy(tag, ct + pt_len, a->nt);
	if (EVP_DecryptInit_ex2(a->dec, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_GCM_SET_TAG, (int)a->nt, tag) != 1 ||
	    (aad_len && EVP_DecryptUpdate(a->dec, NULL, &n, aad, (int)aad_len) != 1) ||
	    (pt_len && EVP_DecryptUpdate(a->dec, out, &n, ct, (int)pt_len) != 1)) {
		rc = VG_ERR_CRYPTO;
		goto out;
	}
	/* GCM's final writes nothing: a scratch buffer stands for the end. */
	rc = EVP_DecryptFinal_ex(a->dec, tag, &m) == 1 ? VG_OK : VG_ERR_INTEGRITY;
out:
	if (rc != VG_OK) {
		if (out)
			vg_wipe(out, pt_len);
		return rc;
	}
	*out_len = pt_len;
	return VG_OK;
}

/* ---- one KID's key: RFC 9605 encrypt() and decrypt() ---- */

struct vg_sframe_key {
	const struct suite *suite;
	uint64_t kid;
	uint8_t salt[VG_SFRAME_NONCE_LEN];
	vg_sframe_aead *aead;
};

void vg_sframe_key_free(vg_sframe_key **k)
{
	if (!k || !*k)
		return;
	vg_sframe_aead_free(&(*k)->aead);
	vg_secret_free(*k, sizeof **k); /* wipes the salt */
	*k = NULL;
}

vg_rc vg_sframe_key_new(vg_sframe_suite suite, const uint8_t *base_key, size_t base_key_len,
			uint64_t kid, vg_sframe_key **out)
{
	uint8_t key[VG_SFRAME_KEY_MAX];
	vg_sframe_key *k;
	vg_rc rc;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!find_suite(suite))
		return VG_ERR_INVALID;
	k = vg_secret_alloc(sizeof *k);
	if (!k)
		return VG_ERR_NOMEM;
	k->suite = find_suite(suite);
	k->kid = kid;
	rc = vg_sframe_derive(suite, base_key, base_key_len, kid, key, k->salt);
	if (rc == VG_OK)
		rc = vg_sframe_aead_new(suite, key, k->suite->nk, &k->aead);
	vg_wipe(key, sizeof key);
	if (rc != VG_OK) {
		vg_sframe_key_free(&k);
		return rc;
	}
	*out = k;
	return VG_OK;
}

static void make_nonce(const vg_sframe_key *k, uint64_t ctr, uint8_t nonce[static 12])
{
	memcpy(nonce, k->salt, 12);
	for (size_t i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(ctr >> (8 * (7 - i)));
}

/* aad = header || metadata, in a stack buffer: the metadata is small. */
#define AAD_MAX (VG_SFRAME_HDR_MAX + 256u)

vg_rc vg_sframe_encrypt(vg_sframe_key *k, uint64_t ctr, const uint8_t *metadata,
			size_t metadata_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
			size_t cap, size_t *out_len)
{
	uint8_t aad[AAD_MAX], nonce[12];
	size_t hl, n = 0;
	vg_rc rc;

	if (!k || !out || !out_len || (pt_len && !pt) || (metadata_len && !metadata))
		return VG_ERR_INVALID;
	*out_len = 0;
	if (pt_len > VG_SFRAME_MAX_PT || metadata_len > AAD_MAX - VG_SFRAME_HDR_MAX)
		return VG_ERR_TOO_LARGE;
	vg_sframe_header_encode(k->kid, ctr, aad, &hl);
	if (cap < hl + pt_len + k->suite->nt)
		return VG_ERR_TOO_LARGE;
	if (metadata_len)
		memcpy(aad + hl, metadata, metadata_len);
	make_nonce(k, ctr, nonce);
	rc = vg_sframe_aead_seal(k->aead, nonce, aad, hl + metadata_len, pt, pt_len, out + hl,
				 cap - hl, &n);
	vg_wipe(nonce, sizeof nonce);
	if (rc != VG_OK)
		return rc;
	memcpy(out, aad, hl);
	*out_len = hl + n;
	return VG_OK;
}

vg_rc vg_sframe_decrypt(vg_sframe_key *k, const uint8_t *metadata, size_t metadata_len,
			const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t cap, size_t *pt_len,
			uint64_t *ctr)
{
	uint8_t aad[AAD_MAX], nonce[12];
	uint64_t kid, c;
	size_t hl;
	vg_rc rc;

	if (!k || !ct || !pt_len || (metadata_len && !metadata))
		return VG_ERR_INVALID;
	*pt_len = 0;
	if (ctr)
		*ctr = 0;
	if (ct_len > VG_SFRAME_MAX_CT || metadata_len > AAD_MAX - VG_SFRAME_HDR_MAX)
		return VG_ERR_TOO_LARGE;
	rc = vg_sframe_header_decode(ct, ct_len, &kid, &c, &hl);
	if (rc != VG_OK)
		return rc;
	/* No key for that KID: the same answer as a failed tag. */
	if (kid != k->kid || ct_len - hl < k->suite->nt)
		return VG_ERR_INTEGRITY;
	memcpy(aad, ct, hl);
	if (metadata_len)
		memcpy(aad + hl, metadata, metadata_len);
	make_nonce(k, c, nonce);
	rc = vg_sframe_aead_open(k->aead, nonce, aad, hl + metadata_len, ct + hl, ct_len - hl, pt,
				 cap, pt_len);
	vg_wipe(nonce, sizeof nonce);
	if (rc == VG_OK && ctr)
		*ctr = c;
	return rc;
}

/* ---- the stream layer ---- */

static const uint8_t meta_label[8] = {'v', 'g', '-', 'a', 'u', 'd', 'i', 'o'};

static void make_meta(uint8_t meta[static VG_SFRAME_META_LEN], uint8_t flags,
		      const uint8_t stream_id[static VG_SFRAME_STREAM_ID_LEN])
{
	memcpy(meta, meta_label, sizeof meta_label);
	meta[8] = VG_SFRAME_WIRE_VERSION;
	meta[9] = flags;
	memcpy(meta + 10, stream_id, VG_SFRAME_STREAM_ID_LEN);
}

vg_rc vg_sframe_wire_frame_len(const uint8_t *buf, size_t avail, size_t *frame_len)
{
	uint64_t n;

	if (!frame_len)
		return VG_ERR_INVALID;
	*frame_len = 0;
	if (!buf || avail < VG_SFRAME_WIRE_PREFIX)
		return VG_ERR_INVALID;
	if (buf[0] != VG_SFRAME_WIRE_VERSION || (buf[1] & ~VG_SFRAME_FINAL) != 0)
		return VG_ERR_PROTOCOL;
	n = get_be(buf + 2, 4);
	if (n > VG_SFRAME_MAX_CT)
		return VG_ERR_TOO_LARGE;
	if (n < 1) /* not even a config byte */
		return VG_ERR_PROTOCOL;
	*frame_len = VG_SFRAME_WIRE_PREFIX + (size_t)n;
	return VG_OK;
}

struct vg_sframe_sender {
	vg_sframe_key *key;
	uint8_t stream_id[VG_SFRAME_STREAM_ID_LEN];
	uint64_t next;
	bool spent; /* CTR 2^64 - 1 was used, or the final frame was sent */
};

vg_rc vg_sframe_sender_new(vg_sframe_suite suite, const uint8_t *base_key, size_t base_key_len,
			   uint64_t kid, const uint8_t stream_id[static VG_SFRAME_STREAM_ID_LEN],
			   vg_sframe_sender **out)
{
	vg_sframe_sender *s;
	vg_rc rc;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!stream_id)
		return VG_ERR_INVALID;
	s = calloc(1, sizeof *s);
	if (!s)
		return VG_ERR_NOMEM;
	rc = vg_sframe_key_new(suite, base_key, base_key_len, kid, &s->key);
	if (rc != VG_OK) {
		free(s);
		return rc;
	}
	memcpy(s->stream_id, stream_id, VG_SFRAME_STREAM_ID_LEN);
	*out = s;
	return VG_OK;
}

void vg_sframe_sender_free(vg_sframe_sender **s)
{
	if (!s || !*s)
		return;
	vg_sframe_key_free(&(*s)->key);
	vg_free(*s, sizeof **s);
	*s = NULL;
}

uint64_t vg_sframe_sender_next_ctr(const vg_sframe_sender *s)
{
	return s ? s->next : 0;
}

vg_rc vg_sframe_sender_skip_to(vg_sframe_sender *s, uint64_t ctr)
{
	if (!s || s->spent || ctr < s->next)
		return VG_ERR_INVALID;
	s->next = ctr;
	return VG_OK;
}

vg_rc vg_sframe_seal(vg_sframe_sender *s, const uint8_t *pt, size_t pt_len, bool final,
		     uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t meta[VG_SFRAME_META_LEN], flags = final ? VG_SFRAME_FINAL : 0;
	size_t n = 0;
	vg_rc rc;

	if (!s || !out || !out_len || (pt_len && !pt))
		return VG_ERR_INVALID;
	*out_len = 0;
	if (s->spent)
		return VG_ERR_STATE;
	if (pt_len > VG_SFRAME_MAX_PT)
		return VG_ERR_TOO_LARGE;
	if (cap < VG_SFRAME_WIRE_PREFIX)
		return VG_ERR_TOO_LARGE;
	make_meta(meta, flags, s->stream_id);
	rc = vg_sframe_encrypt(s->key, s->next, meta, sizeof meta, pt, pt_len,
			       out + VG_SFRAME_WIRE_PREFIX, cap - VG_SFRAME_WIRE_PREFIX, &n);
	if (rc != VG_OK)
		return rc;
	out[0] = VG_SFRAME_WIRE_VERSION;
	out[1] = flags;
	put_be(out + 2, n, 4);
	*out_len = VG_SFRAME_WIRE_PREFIX + n;
	if (final || s->next == UINT64_MAX)
		s->spent = true;
	else
		s->next++;
	return VG_OK;
}

struct vg_sframe_receiver {
	vg_sframe_key *key;
	uint8_t stream_id[VG_SFRAME_STREAM_ID_LEN];
	bool any;         /* a frame was accepted */
	uint64_t highest; /* the highest CTR accepted */
	uint64_t seen[2]; /* bit i: CTR highest - i was accepted (i < 128) */
	uint64_t final_ctr;
	vg_sframe_stats st;
};

vg_rc vg_sframe_receiver_new(vg_sframe_suite suite, const uint8_t *base_key, size_t base_key_len,
			     uint64_t kid, const uint8_t stream_id[static VG_SFRAME_STREAM_ID_LEN],
			     vg_sframe_receiver **out)
{
	vg_sframe_receiver *r;
	vg_rc rc;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!stream_id)
		return VG_ERR_INVALID;
	r = calloc(1, sizeof *r);
	if (!r)
		return VG_ERR_NOMEM;
	rc = vg_sframe_key_new(suite, base_key, base_key_len, kid, &r->key);
	if (rc != VG_OK) {
		free(r);
		return rc;
	}
	memcpy(r->stream_id, stream_id, VG_SFRAME_STREAM_ID_LEN);
	*out = r;
	return VG_OK;
}

void vg_sframe_receiver_free(vg_sframe_receiver **r)
{
	if (!r || !*r)
		return;
	vg_sframe_key_free(&(*r)->key);
	vg_free(*r, sizeof **r);
	*r = NULL;
}

static bool window_get(const vg_sframe_receiver *r, uint64_t back)
{
	return (r->seen[back / 64] >> (back % 64)) & 1u;
}

static void window_set(vg_sframe_receiver *r, uint64_t back)
{
	r->seen[back / 64] |= (uint64_t)1 << (back % 64);
}

/* Moves the window up by d (> 0) counters. */
static void window_shift(vg_sframe_receiver *r, uint64_t d)
{
	if (d >= 128) {
		r->seen[0] = r->seen[1] = 0;
	} else if (d >= 64) {
		r->seen[1] = d == 64 ? r->seen[0] : r->seen[0] << (d - 64);
		r->seen[0] = 0;
	} else {
		r->seen[1] = (r->seen[1] << d) | (r->seen[0] >> (64 - d));
		r->seen[0] <<= d;
	}
}

/* Before any cryptography: may a frame with this CTR be accepted? */
static vg_rc window_check(const vg_sframe_receiver *r, uint64_t ctr)
{
	if (r->st.final_seen && ctr > r->final_ctr)
		return VG_ERR_STATE;
	if (!r->any || ctr > r->highest)
		return VG_OK;
	if (r->highest - ctr >= VG_SFRAME_WINDOW || window_get(r, r->highest - ctr))
		return VG_ERR_REPLAY;
	return VG_OK;
}

vg_rc vg_sframe_open(vg_sframe_receiver *r, const uint8_t *frame, size_t frame_len, uint8_t *pt,
		     size_t cap, size_t *pt_len, unsigned *flags, uint64_t *ctr)
{
	uint8_t meta[VG_SFRAME_META_LEN];
	uint64_t kid, c = 0;
	size_t need = 0, hl, n = 0;
	unsigned f;
	vg_rc rc;

	if (!r || !frame || !pt_len || !flags)
		return VG_ERR_INVALID;
	*pt_len = 0;
	*flags = 0;
	if (ctr)
		*ctr = 0;
	if (frame_len < VG_SFRAME_WIRE_PREFIX) {
		rc = VG_ERR_PROTOCOL;
		goto refused;
	}
	rc = vg_sframe_wire_frame_len(frame, frame_len, &need);
	if (rc == VG_OK && need != frame_len)
		rc = VG_ERR_PROTOCOL;
	if (rc != VG_OK)
		goto refused;
	f = frame[1];
	rc = vg_sframe_header_decode(frame + VG_SFRAME_WIRE_PREFIX,
				     frame_len - VG_SFRAME_WIRE_PREFIX, &kid, &c, &hl);
	if (rc != VG_OK)
		goto refused;
	/* The CTR is not authenticated yet, but a frame that lies about it
	 * fails the tag anyway: refusing it early only saves the work. */
	rc = window_check(r, c);
	if (rc != VG_OK)
		goto refused;
	make_meta(meta, (uint8_t)f, r->stream_id);
	rc = vg_sframe_decrypt(r->key, meta, sizeof meta, frame + VG_SFRAME_WIRE_PREFIX,
			       frame_len - VG_SFRAME_WIRE_PREFIX, pt, cap, &n, &c);
	if (rc != VG_OK)
		goto refused;
	/* An authentic FINAL frame the sender could not have made: a second
	 * one, or one below frames already accepted (frames after the end). */
	if ((f & VG_SFRAME_FINAL) && (r->st.final_seen || (r->any && c < r->highest))) {
		vg_wipe(pt, n);
		rc = VG_ERR_STATE;
		goto refused;
	}
	if (!r->any) {
		r->st.missing += c; /* the stream starts at CTR 0 */
		if (c)
			f |= VG_SFRAME_GAP;
		r->highest = c;
		r->seen[0] = 1;
		r->any = true;
	} else if (c > r->highest) {
		uint64_t d = c - r->highest;
		if (d > 1) {
			r->st.missing += d - 1;
			f |= VG_SFRAME_GAP;
		}
		window_shift(r, d);
		window_set(r, 0);
		r->highest = c;
	} else {
		window_set(r, r->highest - c);
		r->st.missing--; /* it was counted missing when the window passed it */
		r->st.late++;
		f |= VG_SFRAME_LATE;
	}
	if (f & VG_SFRAME_FINAL) {
		r->st.final_seen = true;
		r->final_ctr = c;
	}
	r->st.frames++;
	r->st.highest = r->highest;
	*pt_len = n;
	*flags = f;
	if (ctr)
		*ctr = c;
	return VG_OK;
refused:
	r->st.refused++;
	return rc;
}

void vg_sframe_receiver_stats(const vg_sframe_receiver *r, vg_sframe_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof *out);
	if (r)
		*out = r->st;
}

vg_rc vg_sframe_receiver_end(const vg_sframe_receiver *r)
{
	if (!r)
		return VG_ERR_INVALID;
	return r->st.final_seen ? VG_OK : VG_ERR_TRUNCATED;
}
