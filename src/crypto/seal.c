/* seal.c - see seal.h */
#include "crypto/seal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/util.h"

static const uint8_t seal_magic[3] = {'V', 'G', 'S'};

/* OpenSSL 3 looks an algorithm up in its providers at every implicit use
 * (EVP_aes_256_gcm(), HMAC()); fetch each once for the process. */
static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_CIPHER *aes_gcm;
static EVP_MAC *hmac;
static EVP_MD *sha256;

static void fetch_algs(void)
{
	aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static bool algs(void)
{
	return CRYPTO_THREAD_run_once(&fetch_once, fetch_algs) && aes_gcm && hmac && sha256;
}
#define SEAL_VERSION       1u
#define SEAL_ALG_AES256GCM 1u

vg_rc vg_hkdf(const uint8_t *ikm, size_t ikm_len, const char *label, const uint8_t *ctx,
	      size_t ctx_len, uint8_t out[static VG_KEY_LEN])
{
	static const char prefix[] = "voxguard/v1/";
	size_t label_len = strlen(label);
	size_t info_len = sizeof prefix - 1 + label_len + 1 + ctx_len;
	uint8_t *info = malloc(info_len);
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	vg_rc rc = VG_ERR_CRYPTO;

	if (!info)
		return VG_ERR_NOMEM;
	memcpy(info, prefix, sizeof prefix - 1);
	memcpy(info + sizeof prefix - 1, label, label_len);
	info[sizeof prefix - 1 + label_len] = 0;
	if (ctx_len)
		memcpy(info + sizeof prefix + label_len, ctx, ctx_len);

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	if (kctx) {
		OSSL_PARAM params[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, info_len),
		    OSSL_PARAM_construct_end(),
		};
		if (EVP_KDF_derive(kctx, out, VG_KEY_LEN, params) == 1)
			rc = VG_OK;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	free(info);
	if (rc != VG_OK)
		vg_wipe(out, VG_KEY_LEN);
	return rc;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* One GCM pass; enc selects direction. tag is written (enc) or checked. */
static vg_rc gcm(int enc, const uint8_t key[VG_KEY_LEN], const uint8_t nonce[12],
		 const uint8_t *hdr, const uint8_t *aad, size_t aad_len, const uint8_t *in,
		 size_t len, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	vg_rc rc = VG_ERR_CRYPTO;
	int n;

	if (!c)
		return VG_ERR_NOMEM;
	if (len > INT32_MAX || aad_len > INT32_MAX)
		goto out;
	if (!algs() || EVP_CipherInit_ex2(c, aes_gcm, key, nonce, enc, NULL) != 1)
		goto out;
	if (EVP_CipherUpdate(c, NULL, &n, hdr, VG_SEAL_HDR_LEN) != 1)
		goto out;
	if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + len, &n) != 1) {
		rc = enc ? VG_ERR_CRYPTO : VG_ERR_INTEGRITY;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto out;
	rc = VG_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

vg_rc vg_seal(const uint8_t key[static VG_KEY_LEN], vg_seal_kind kind, uint64_t generation,
	      const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t **out,
	      size_t *out_len)
{
	size_t n = pt_len + VG_SEAL_OVERHEAD;
	uint8_t *b;
	vg_rc rc;

	*out = NULL;
	*out_len = 0;
	if (pt_len > SIZE_MAX - VG_SEAL_OVERHEAD)
		return VG_ERR_TOO_LARGE;
	b = malloc(n);
	if (!b)
		return VG_ERR_NOMEM;
	memcpy(b, seal_magic, 3);
	b[3] = SEAL_VERSION;
	b[4] = SEAL_ALG_AES256GCM;
	b[5] = (uint8_t)kind;
	b[6] = b[7] = 0;
	put_be64(b + 8, generation);
	/* Random 96-bit nonces: keys are per namespace and per purpose, far
	 * below the 2^32 messages NIST SP 800-38D allows per key. */
	if (RAND_bytes(b + VG_SEAL_HDR_LEN, VG_SEAL_NONCE_LEN) != 1) {
		free(b);
		return VG_ERR_CRYPTO;
	}
	rc = gcm(1, key, b + VG_SEAL_HDR_LEN, b, aad, aad_len, pt, pt_len,
		 b + VG_SEAL_HDR_LEN + VG_SEAL_NONCE_LEN, b + n - VG_SEAL_TAG_LEN);
	if (rc != VG_OK) {
		vg_wipe(b, n);
		free(b);
		return rc;
	}
	*out = b;
	*out_len = n;
	return VG_OK;
}

vg_rc vg_seal_parse_header(const uint8_t *blob, size_t blob_len, vg_seal_kind *kind,
			   uint64_t *generation)
{
	if (!blob || blob_len < VG_SEAL_OVERHEAD)
		return VG_ERR_INTEGRITY;
	if (memcmp(blob, seal_magic, 3) != 0 || blob[3] != SEAL_VERSION ||
	    blob[4] != SEAL_ALG_AES256GCM || blob[6] != 0 || blob[7] != 0)
		return VG_ERR_INTEGRITY;
	*kind = (vg_seal_kind)blob[5];
	*generation = get_be64(blob + 8);
	return VG_OK;
}

vg_rc vg_unseal(const uint8_t key[static VG_KEY_LEN], vg_seal_kind kind, const uint8_t *aad,
		size_t aad_len, const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *pt_len,
		uint64_t *generation)
{
	vg_seal_kind k;
	uint64_t gen;
	size_t n;
	uint8_t *p, tag[VG_SEAL_TAG_LEN];
	vg_rc rc;

	*pt = NULL;
	*pt_len = 0;
	rc = vg_seal_parse_header(blob, blob_len, &k, &gen);
	if (rc != VG_OK)
		return rc;
	if (k != kind)
		return VG_ERR_INTEGRITY;
	n = blob_len - VG_SEAL_OVERHEAD;
	/* +1: GCM's final writes nothing, but keep the buffer non-empty. */
	p = malloc(n + 1);
	if (!p)
		return VG_ERR_NOMEM;
	memcpy(tag, blob + blob_len - VG_SEAL_TAG_LEN, VG_SEAL_TAG_LEN);
	rc = gcm(0, key, blob + VG_SEAL_HDR_LEN, blob, aad, aad_len,
		 blob + VG_SEAL_HDR_LEN + VG_SEAL_NONCE_LEN, n, p, tag);
	if (rc != VG_OK) {
		/* Nothing decrypted before the tag check escapes. */
		vg_wipe(p, n + 1);
		free(p);
		return VG_ERR_INTEGRITY;
	}
	*pt = p;
	*pt_len = n;
	if (generation)
		*generation = gen;
	return VG_OK;
}

vg_rc vg_hmac256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
		 uint8_t out[static 32])
{
	EVP_MAC_CTX *c;
	size_t n = 0;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};
	vg_rc rc = VG_ERR_CRYPTO;

	if (!algs() || !(c = EVP_MAC_CTX_new(hmac)))
		return VG_ERR_CRYPTO;
	if (EVP_MAC_init(c, key, key_len, params) == 1 && EVP_MAC_update(c, msg, msg_len) == 1 &&
	    EVP_MAC_final(c, out, &n, 32) == 1 && n == 32)
		rc = VG_OK;
	EVP_MAC_CTX_free(c);
	return rc;
}

struct vg_hmac_key {
	EVP_MAC_CTX *ctx; /* initialised with the key; duplicated per use */
};

vg_rc vg_hmac_key_new(const uint8_t *key, size_t key_len, vg_hmac_key **out)
{
	vg_hmac_key *k;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};

	*out = NULL;
	if (!algs())
		return VG_ERR_CRYPTO;
	k = calloc(1, sizeof *k);
	if (!k)
		return VG_ERR_NOMEM;
	k->ctx = EVP_MAC_CTX_new(hmac);
	if (!k->ctx || EVP_MAC_init(k->ctx, key, key_len, params) != 1) {
		vg_hmac_key_free(&k);
		return VG_ERR_CRYPTO;
	}
	*out = k;
	return VG_OK;
}

void vg_hmac_key_free(vg_hmac_key **k)
{
	if (!k || !*k)
		return;
	EVP_MAC_CTX_free((*k)->ctx); /* OpenSSL cleanses the key state */
	free(*k);
	*k = NULL;
}

vg_rc vg_hmac_with(const vg_hmac_key *k, const uint8_t *msg, size_t msg_len, uint8_t out[static 32])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->ctx);
	size_t n = 0;
	vg_rc rc = VG_ERR_CRYPTO;

	if (!c)
		return VG_ERR_NOMEM;
	if (EVP_MAC_update(c, msg, msg_len) == 1 && EVP_MAC_final(c, out, &n, 32) == 1 && n == 32)
		rc = VG_OK;
	EVP_MAC_CTX_free(c);
	return rc;
}

vg_rc vg_sha256(const uint8_t *msg, size_t len, uint8_t out[static 32])
{
	unsigned int n = 32;

	if (!algs() || EVP_Digest(msg, len, out, &n, sha256, NULL) != 1)
		return VG_ERR_CRYPTO;
	return VG_OK;
}
