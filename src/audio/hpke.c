/* hpke.c - see hpke.h. RFC 9180 composed from OpenSSL 3.0 primitives. */
#include "audio/hpke.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include "audio/hpke_platform.h"
#include "common/util.h"

#define KEM_SUITE_ID_LEN  5u  /* "KEM" || I2OSP(kem_id, 2) */
#define HPKE_SUITE_ID_LEN 10u /* "HPKE" || kem || kdf || aead */
#define MAX_NH            64u /* HKDF-SHA512 */
#define MAX_NK            32u
#define DH_LEN            32u /* Ndh of both KEMs */

static const char hpke_v1[] = "HPKE-v1";
#define HPKE_V1_LEN (sizeof hpke_v1 - 1)

struct vg_hpke_ctx {
	vg_hpke_suite suite;
	vg_hpke_role role;
	uint64_t seq;
	size_t nk, nh;
	uint8_t key[MAX_NK];
	uint8_t base_nonce[VG_HPKE_NONCE_LEN];
	uint8_t exporter_secret[MAX_NH];
	EVP_CIPHER_CTX *cctx; /* keyed once; the nonce set per message */
	void *platform;       /* the platform's context (hpke_platform.h) */
};

/* ---- algorithms, fetched once for the process ---- */

static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_KDF *hkdf;
static EVP_CIPHER *aes128gcm, *aes256gcm, *chacha;

static void fetch_algs(void)
{
	hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

static bool algs(void)
{
	return CRYPTO_THREAD_run_once(&fetch_once, fetch_algs) && hkdf && aes128gcm && aes256gcm &&
	       chacha;
}

static bool kem_ok(uint16_t kem)
{
	return kem == VG_HPKE_KEM_X25519_SHA256 || kem == VG_HPKE_KEM_P256_SHA256;
}

/* Nh and the digest name of a KDF; 0 for an unsupported one. */
static size_t kdf_nh(uint16_t kdf, const char **md)
{
	switch (kdf) {
	case VG_HPKE_KDF_SHA256:
		*md = "SHA256";
		return 32;
	case VG_HPKE_KDF_SHA512:
		*md = "SHA512";
		return 64;
	default:
		return 0;
	}
}

/* The AEAD's cipher and Nk; export-only has neither (NULL, 0) and is
 * reported supported. false for an unknown AEAD. */
static bool aead_of(uint16_t aead, EVP_CIPHER **cipher, size_t *nk)
{
	*cipher = NULL;
	*nk = 0;
	switch (aead) {
	case VG_HPKE_AEAD_AES128GCM:
		*cipher = aes128gcm;
		*nk = 16;
		return true;
	case VG_HPKE_AEAD_AES256GCM:
		*cipher = aes256gcm;
		*nk = 32;
		return true;
	case VG_HPKE_AEAD_CHACHA20:
		*cipher = chacha;
		*nk = 32;
		return true;
	case VG_HPKE_AEAD_EXPORT_ONLY:
		return true;
	default:
		return false;
	}
}

vg_rc vg_hpke_suite_check(const vg_hpke_suite *suite)
{
	const char *md;
	EVP_CIPHER *c;
	size_t nk;

	if (!suite)
		return VG_ERR_INVALID;
	if (!kem_ok(suite->kem) || !kdf_nh(suite->kdf, &md) || !aead_of(suite->aead, &c, &nk))
		return VG_ERR_UNSUPPORTED;
	return VG_OK;
}

size_t vg_hpke_pk_len(uint16_t kem)
{
	switch (kem) {
	case VG_HPKE_KEM_X25519_SHA256:
		return 32;
	case VG_HPKE_KEM_P256_SHA256:
		return 65;
	default:
		return 0;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void kem_suite_id(uint16_t kem, uint8_t id[static KEM_SUITE_ID_LEN])
{
	memcpy(id, "KEM", 3);
	put16(id + 3, kem);
}

static void hpke_suite_id(const vg_hpke_suite *s, uint8_t id[static HPKE_SUITE_ID_LEN])
{
	memcpy(id, "HPKE", 4);
	put16(id + 4, s->kem);
	put16(id + 6, s->kdf);
	put16(id + 8, s->aead);
}

/* ---- HKDF (EVP_KDF "HKDF") and RFC 9180 4: LabeledExtract/Expand ---- */

static vg_rc hkdf_run(const char *md, int mode, const uint8_t *key, size_t key_len,
		      const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len,
		      uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *kctx;
	vg_rc rc = VG_ERR_CRYPTO;

	if (!algs())
		return VG_ERR_CRYPTO;
	kctx = EVP_KDF_CTX_new(hkdf);
	if (!kctx)
		return VG_ERR_NOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	else
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		rc = VG_OK;
	else
		vg_wipe(out, out_len);
	EVP_KDF_CTX_free(kctx);
	ERR_clear_error();
	return rc;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id ||
 * label || ikm), Nh bytes into prk. An empty salt is Nh zero bytes, which
 * HMAC pads to the same key (RFC 5869 2.2). */
static vg_rc labeled_extract(const char *md, size_t nh, const uint8_t *suite_id,
			     size_t suite_id_len, const uint8_t *salt, size_t salt_len,
			     const char *label, const uint8_t *ikm, size_t ikm_len, uint8_t *prk)
{
	static const uint8_t zeros[MAX_NH];
	size_t label_len = strlen(label);
	size_t n = HPKE_V1_LEN + suite_id_len + label_len + ikm_len;
	uint8_t *buf = malloc(n);
	vg_rc rc;

	if (!buf)
		return VG_ERR_NOMEM;
	memcpy(buf, hpke_v1, HPKE_V1_LEN);
	memcpy(buf + HPKE_V1_LEN, suite_id, suite_id_len);
	memcpy(buf + HPKE_V1_LEN + suite_id_len, label, label_len);
	if (ikm_len)
		memcpy(buf + HPKE_V1_LEN + suite_id_len + label_len, ikm, ikm_len);
	if (salt_len == 0) {
		salt = zeros;
		salt_len = nh;
	}
	rc = hkdf_run(md, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, buf, n, salt, salt_len, NULL, 0, prk, nh);
	vg_free(buf, n); /* ikm may be a secret */
	return rc;
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ||
 * "HPKE-v1" || suite_id || label || info, L). */
static vg_rc labeled_expand(const char *md, size_t nh, const uint8_t *suite_id, size_t suite_id_len,
			    const uint8_t *prk, const char *label, const uint8_t *info,
			    size_t info_len, uint8_t *out, size_t L)
{
	size_t label_len = strlen(label);
	size_t n = 2 + HPKE_V1_LEN + suite_id_len + label_len + info_len;
	uint8_t *buf;
	vg_rc rc;

	if (L == 0 || L > 255 * nh || L > UINT16_MAX)
		return VG_ERR_INVALID;
	buf = malloc(n);
	if (!buf)
		return VG_ERR_NOMEM;
	put16(buf, (uint16_t)L);
	memcpy(buf + 2, hpke_v1, HPKE_V1_LEN);
	memcpy(buf + 2 + HPKE_V1_LEN, suite_id, suite_id_len);
	memcpy(buf + 2 + HPKE_V1_LEN + suite_id_len, label, label_len);
	if (info_len)
		memcpy(buf + 2 + HPKE_V1_LEN + suite_id_len + label_len, info, info_len);
	rc = hkdf_run(md, EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, nh, NULL, 0, buf, n, out, L);
	vg_free(buf, n);
	return rc;
}

/* The KEMs' own KDF: HKDF-SHA256 for both supported DHKEMs. */
static vg_rc kem_extract(uint16_t kem, const char *label, const uint8_t *ikm, size_t ikm_len,
			 uint8_t prk[static 32])
{
	uint8_t id[KEM_SUITE_ID_LEN];

	kem_suite_id(kem, id);
	return labeled_extract("SHA256", 32, id, sizeof id, NULL, 0, label, ikm, ikm_len, prk);
}

static vg_rc kem_expand(uint16_t kem, const uint8_t prk[static 32], const char *label,
			const uint8_t *info, size_t info_len, uint8_t *out, size_t L)
{
	uint8_t id[KEM_SUITE_ID_LEN];

	kem_suite_id(kem, id);
	return labeled_expand("SHA256", 32, id, sizeof id, prk, label, info, info_len, out, L);
}

/* ---- keys ---- */

static bool key_is(uint16_t kem, const EVP_PKEY *key)
{
	char group[32];
	size_t glen = 0;

	if (!key)
		return false;
	if (kem == VG_HPKE_KEM_X25519_SHA256)
		return EVP_PKEY_is_a(key, "X25519");
	if (kem != VG_HPKE_KEM_P256_SHA256 || !EVP_PKEY_is_a(key, "EC"))
		return false;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					   &glen) != 1) {
		ERR_clear_error();
		return false;
	}
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

vg_rc vg_hpke_generate_keypair(uint16_t kem, EVP_PKEY **out)
{
	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (kem == VG_HPKE_KEM_X25519_SHA256)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	else if (kem == VG_HPKE_KEM_P256_SHA256)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		return VG_ERR_UNSUPPORTED;
	ERR_clear_error();
	return *out ? VG_OK : VG_ERR_CRYPTO;
}

vg_rc vg_hpke_pk_from_raw(uint16_t kem, const uint8_t *pk, size_t pk_len, EVP_PKEY **out)
{
	EVP_PKEY_CTX *pctx = NULL, *check = NULL;
	EVP_PKEY *key = NULL;
	vg_rc rc = VG_ERR_INVALID;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!kem_ok(kem))
		return VG_ERR_UNSUPPORTED;
	if (!pk || pk_len != vg_hpke_pk_len(kem))
		return VG_ERR_INVALID;
	if (kem == VG_HPKE_KEM_X25519_SHA256) {
		key = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pk, pk_len);
		rc = key ? VG_OK : VG_ERR_CRYPTO;
		goto out;
	}
	/* P-256: the uncompressed point only (RFC 9180 7.1.1), on the curve. */
	if (pk[0] != 0x04)
		goto out;
	{
		OSSL_PARAM params[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
		    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pk, pk_len),
		    OSSL_PARAM_construct_end(),
		};
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (!pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
		    EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
			goto out; /* not on the curve: OpenSSL refuses the point */
	}
	check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (!check || EVP_PKEY_public_check(check) != 1)
		goto out;
	rc = VG_OK;
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(pctx);
	if (rc == VG_OK)
		*out = key;
	else
		EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

vg_rc vg_hpke_pk_to_raw(uint16_t kem, const EVP_PKEY *key, uint8_t out[static VG_HPKE_MAX_PK],
			size_t *out_len)
{
	BIGNUM *x = NULL, *y = NULL;
	size_t len = 32;
	vg_rc rc = VG_ERR_INVALID;

	*out_len = 0;
	if (!key_is(kem, key))
		return VG_ERR_INVALID;
	if (kem == VG_HPKE_KEM_X25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(key, out, &len) == 1 && len == 32) {
			*out_len = 32;
			rc = VG_OK;
		}
		goto out;
	}
	/* From the coordinates: the key's own point format may be compressed. */
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2binpad(x, out + 1, 32) != 32 || BN_bn2binpad(y, out + 33, 32) != 32)
		goto out;
	out[0] = 0x04;
	*out_len = 65;
	rc = VG_OK;
out:
	BN_free(x);
	BN_free(y);
	ERR_clear_error();
	return rc;
}

vg_rc vg_hpke_sk_to_raw(uint16_t kem, const EVP_PKEY *key, uint8_t out[static VG_HPKE_SK_LEN])
{
	BIGNUM *d = NULL;
	size_t len = VG_HPKE_SK_LEN;
	vg_rc rc = VG_ERR_INVALID;

	if (!key_is(kem, key))
		return VG_ERR_INVALID;
	if (kem == VG_HPKE_KEM_X25519_SHA256) {
		if (EVP_PKEY_get_raw_private_key(key, out, &len) == 1 && len == VG_HPKE_SK_LEN)
			rc = VG_OK;
	} else if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
		   BN_bn2binpad(d, out, VG_HPKE_SK_LEN) == VG_HPKE_SK_LEN) {
		rc = VG_OK;
	}
	BN_clear_free(d);
	if (rc != VG_OK)
		vg_wipe(out, VG_HPKE_SK_LEN);
	ERR_clear_error();
	return rc;
}

/* A P-256 key pair from the scalar sk: VG_ERR_INVALID when sk is 0 or not
 * below the group order (DeriveKeyPair then tries the next candidate). */
static vg_rc p256_from_scalar(const uint8_t sk[static VG_HPKE_SK_LEN], EVP_PKEY **out)
{
	EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *d = BN_secure_new();
	EC_POINT *pub = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t pk[65];
	vg_rc rc = VG_ERR_CRYPTO;

	*out = NULL;
	if (!group || !d || !BN_bin2bn(sk, VG_HPKE_SK_LEN, d))
		goto out;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
		rc = VG_ERR_INVALID;
		goto out;
	}
	pub = EC_POINT_new(group);
	if (!pub || EC_POINT_mul(group, pub, d, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, pk, sizeof pk, NULL) !=
		sizeof pk)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pk, sizeof pk) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	rc = VG_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params); /* the builder's copy of d is in secure memory */
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pub);
	BN_clear_free(d);
	EC_GROUP_free(group);
	ERR_clear_error();
	return rc;
}

vg_rc vg_hpke_sk_from_raw(uint16_t kem, const uint8_t *sk, size_t sk_len, EVP_PKEY **out)
{
	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!kem_ok(kem))
		return VG_ERR_UNSUPPORTED;
	if (!sk || sk_len != VG_HPKE_SK_LEN)
		return VG_ERR_INVALID;
	if (kem == VG_HPKE_KEM_X25519_SHA256) {
		*out = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, sk, sk_len);
		ERR_clear_error();
		return *out ? VG_OK : VG_ERR_CRYPTO;
	}
	return p256_from_scalar(sk, out);
}

vg_rc vg_hpke_derive_keypair(uint16_t kem, const uint8_t *ikm, size_t ikm_len, EVP_PKEY **out)
{
	uint8_t prk[32], sk[VG_HPKE_SK_LEN];
	vg_rc rc;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!kem_ok(kem))
		return VG_ERR_UNSUPPORTED;
	if (!ikm || ikm_len < VG_HPKE_SK_LEN || ikm_len > VG_HPKE_MAX_INFO)
		return VG_ERR_INVALID;
	rc = kem_extract(kem, "dkp_prk", ikm, ikm_len, prk);
	if (rc != VG_OK)
		goto out;
	if (kem == VG_HPKE_KEM_X25519_SHA256) {
		rc = kem_expand(kem, prk, "sk", NULL, 0, sk, sizeof sk);
		if (rc == VG_OK)
			rc = vg_hpke_sk_from_raw(kem, sk, sizeof sk, out);
		goto out;
	}
	/* P-256 (RFC 9180 7.1.3): candidates until one is in [1, n-1]. */
	rc = VG_ERR_CRYPTO; /* DeriveKeyPairError after 256 candidates */
	for (unsigned counter = 0; counter < 256; counter++) {
		uint8_t c = (uint8_t)counter;
		vg_rc r = kem_expand(kem, prk, "candidate", &c, 1, sk, sizeof sk);

		if (r != VG_OK) {
			rc = r;
			break;
		}
		sk[0] &= 0xFF; /* the bitmask of P-256 */
		r = p256_from_scalar(sk, out);
		if (r != VG_ERR_INVALID) {
			rc = r;
			break;
		}
	}
out:
	vg_wipe(prk, sizeof prk);
	vg_wipe(sk, sizeof sk);
	return rc;
}

/* ---- DHKEM (RFC 9180 4.1) ---- */

/* DH(sk, pk): the raw shared secret (P-256: the x coordinate). The all-zero
 * X25519 output (a small-order peer point) is refused, RFC 9180 7.1.4;
 * OpenSSL also refuses it, the check here does not rely on that. */
static vg_rc dh(EVP_PKEY *sk, EVP_PKEY *pk, uint8_t out[static DH_LEN])
{
	static const uint8_t zeros[DH_LEN];
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL);
	size_t len = DH_LEN;
	vg_rc rc = VG_ERR_CRYPTO;

	if (!c)
		goto out;
	if (EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer_ex(c, pk, 1) != 1 ||
	    EVP_PKEY_derive(c, out, &len) != 1 || len != DH_LEN)
		goto out;
	if (CRYPTO_memcmp(out, zeros, DH_LEN) == 0)
		goto out;
	rc = VG_OK;
out:
	if (rc != VG_OK)
		vg_wipe(out, DH_LEN);
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return rc;
}

/* ExtractAndExpand(dh, kem_context). */
static vg_rc extract_and_expand(uint16_t kem, const uint8_t *dhs, size_t dh_len,
				const uint8_t *kem_context, size_t kc_len,
				uint8_t shared_secret[static VG_HPKE_SECRET_LEN])
{
	uint8_t prk[32];
	vg_rc rc = kem_extract(kem, "eae_prk", dhs, dh_len, prk);

	if (rc == VG_OK)
		rc = kem_expand(kem, prk, "shared_secret", kem_context, kc_len, shared_secret,
				VG_HPKE_SECRET_LEN);
	vg_wipe(prk, sizeof prk);
	return rc;
}

vg_rc vg_hpke_encap(const vg_hpke_suite *suite, const uint8_t *pkR, size_t pkR_len, EVP_PKEY *skS,
		    const uint8_t *ikmE, size_t ikmE_len, uint8_t enc[static VG_HPKE_MAX_ENC],
		    size_t *enc_len, uint8_t shared_secret[static VG_HPKE_SECRET_LEN])
{
	EVP_PKEY *skE = NULL, *pkRk = NULL;
	uint8_t dhs[2 * DH_LEN], kc[3 * VG_HPKE_MAX_PK];
	size_t npk, kc_len, n;
	vg_rc rc;

	vg_wipe(enc, VG_HPKE_MAX_ENC);
	vg_wipe(shared_secret, VG_HPKE_SECRET_LEN);
	if (!enc_len)
		return VG_ERR_INVALID;
	*enc_len = 0;
	rc = vg_hpke_suite_check(suite);
	if (rc != VG_OK)
		return rc;
	npk = vg_hpke_pk_len(suite->kem);
	if (skS && !key_is(suite->kem, skS))
		return VG_ERR_INVALID;
	rc = vg_hpke_pk_from_raw(suite->kem, pkR, pkR_len, &pkRk);
	if (rc != VG_OK)
		return rc;
	rc = ikmE ? vg_hpke_derive_keypair(suite->kem, ikmE, ikmE_len, &skE)
		  : vg_hpke_generate_keypair(suite->kem, &skE);
	if (rc != VG_OK)
		goto out;
	rc = dh(skE, pkRk, dhs);
	if (rc == VG_OK && skS)
		rc = dh(skS, pkRk, dhs + DH_LEN);
	if (rc != VG_OK)
		goto out;
	/* kem_context = enc || pkRm [|| pkSm] */
	rc = vg_hpke_pk_to_raw(suite->kem, skE, kc, &n);
	if (rc != VG_OK)
		goto out;
	memcpy(kc + npk, pkR, npk);
	kc_len = 2 * npk;
	if (skS) {
		rc = vg_hpke_pk_to_raw(suite->kem, skS, kc + kc_len, &n);
		if (rc != VG_OK)
			goto out;
		kc_len += npk;
	}
	rc = extract_and_expand(suite->kem, dhs, skS ? 2 * DH_LEN : DH_LEN, kc, kc_len,
				shared_secret);
	if (rc != VG_OK)
		goto out;
	memcpy(enc, kc, npk);
	*enc_len = npk;
out:
	vg_wipe(dhs, sizeof dhs);
	EVP_PKEY_free(skE);
	EVP_PKEY_free(pkRk);
	if (rc != VG_OK)
		vg_wipe(shared_secret, VG_HPKE_SECRET_LEN);
	return rc;
}

vg_rc vg_hpke_decap(const vg_hpke_suite *suite, const uint8_t *enc, size_t enc_len, EVP_PKEY *skR,
		    const uint8_t *pkS, size_t pkS_len,
		    uint8_t shared_secret[static VG_HPKE_SECRET_LEN])
{
	EVP_PKEY *pkE = NULL, *pkSk = NULL;
	uint8_t dhs[2 * DH_LEN], kc[3 * VG_HPKE_MAX_PK];
	size_t npk, kc_len, n;
	vg_rc rc;

	vg_wipe(shared_secret, VG_HPKE_SECRET_LEN);
	rc = vg_hpke_suite_check(suite);
	if (rc != VG_OK)
		return rc;
	npk = vg_hpke_pk_len(suite->kem);
	if (!key_is(suite->kem, skR))
		return VG_ERR_INVALID;
	rc = vg_hpke_pk_from_raw(suite->kem, enc, enc_len, &pkE);
	if (rc == VG_OK && pkS)
		rc = vg_hpke_pk_from_raw(suite->kem, pkS, pkS_len, &pkSk);
	if (rc != VG_OK)
		goto out;
	rc = dh(skR, pkE, dhs);
	if (rc == VG_OK && pkS)
		rc = dh(skR, pkSk, dhs + DH_LEN);
	if (rc != VG_OK)
		goto out;
	memcpy(kc, enc, npk);
	rc = vg_hpke_pk_to_raw(suite->kem, skR, kc + npk, &n);
	if (rc != VG_OK)
		goto out;
	kc_len = 2 * npk;
	if (pkS) {
		memcpy(kc + kc_len, pkS, npk);
		kc_len += npk;
	}
	rc = extract_and_expand(suite->kem, dhs, pkS ? 2 * DH_LEN : DH_LEN, kc, kc_len,
				shared_secret);
out:
	vg_wipe(dhs, sizeof dhs);
	EVP_PKEY_free(pkE);
	EVP_PKEY_free(pkSk);
	if (rc != VG_OK)
		vg_wipe(shared_secret, VG_HPKE_SECRET_LEN);
	return rc;
}

/* ---- the key schedule (RFC 9180 5.1) ---- */

static bool mode_ok(vg_hpke_mode mode)
{
	return mode == VG_HPKE_MODE_BASE || mode == VG_HPKE_MODE_PSK || mode == VG_HPKE_MODE_AUTH ||
	       mode == VG_HPKE_MODE_AUTH_PSK;
}

static bool mode_has_psk(vg_hpke_mode mode)
{
	return mode == VG_HPKE_MODE_PSK || mode == VG_HPKE_MODE_AUTH_PSK;
}

static bool mode_has_auth(vg_hpke_mode mode)
{
	return mode == VG_HPKE_MODE_AUTH || mode == VG_HPKE_MODE_AUTH_PSK;
}

/* VerifyPSKInputs, plus this module's bounds. */
static vg_rc verify_inputs(vg_hpke_mode mode, const uint8_t *info, size_t info_len,
			   const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
			   size_t psk_id_len)
{
	bool got_psk = psk && psk_len, got_psk_id = psk_id && psk_id_len;

	if (!mode_ok(mode))
		return VG_ERR_INVALID;
	if ((info_len && !info) || (psk_len && !psk) || (psk_id_len && !psk_id))
		return VG_ERR_INVALID;
	if (info_len > VG_HPKE_MAX_INFO || psk_len > VG_HPKE_MAX_INFO ||
	    psk_id_len > VG_HPKE_MAX_INFO)
		return VG_ERR_TOO_LARGE;
	if (got_psk != got_psk_id || got_psk != mode_has_psk(mode))
		return VG_ERR_INVALID;
	if (got_psk && psk_len < VG_HPKE_MIN_PSK_LEN)
		return VG_ERR_INVALID;
	return VG_OK;
}

static vg_rc ctx_alloc(const vg_hpke_suite *suite, vg_hpke_role role, vg_hpke_ctx **out)
{
	vg_hpke_ctx *ctx = vg_secret_alloc(sizeof *ctx);

	if (!ctx)
		return VG_ERR_NOMEM;
	ctx->suite = *suite;
	ctx->role = role;
	*out = ctx;
	return VG_OK;
}

vg_rc vg_hpke_context_new(const vg_hpke_suite *suite, vg_hpke_mode mode, vg_hpke_role role,
			  const uint8_t *shared_secret, size_t shared_secret_len,
			  const uint8_t *info, size_t info_len, const uint8_t *psk, size_t psk_len,
			  const uint8_t *psk_id, size_t psk_id_len, vg_hpke_ctx **out)
{
	uint8_t id[HPKE_SUITE_ID_LEN], ksc[1 + 2 * MAX_NH], secret[MAX_NH];
	vg_hpke_ctx *ctx = NULL;
	EVP_CIPHER *cipher = NULL;
	const char *md = NULL;
	size_t nh;
	vg_rc rc;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	rc = vg_hpke_suite_check(suite);
	if (rc != VG_OK)
		return rc;
	if (!algs())
		return VG_ERR_CRYPTO;
	if (role != VG_HPKE_SENDER && role != VG_HPKE_RECIPIENT)
		return VG_ERR_INVALID;
	if (!shared_secret || shared_secret_len != VG_HPKE_SECRET_LEN)
		return VG_ERR_INVALID;
	rc = verify_inputs(mode, info, info_len, psk, psk_len, psk_id, psk_id_len);
	if (rc != VG_OK)
		return rc;
	nh = kdf_nh(suite->kdf, &md);
	rc = ctx_alloc(suite, role, &ctx);
	if (rc != VG_OK)
		return rc;
	(void)aead_of(suite->aead, &cipher, &ctx->nk);
	ctx->nh = nh;
	hpke_suite_id(suite, id);

	/* key_schedule_context = mode || psk_id_hash || info_hash */
	ksc[0] = (uint8_t)mode;
	rc = labeled_extract(md, nh, id, sizeof id, NULL, 0, "psk_id_hash", psk_id, psk_id_len,
			     ksc + 1);
	if (rc == VG_OK)
		rc = labeled_extract(md, nh, id, sizeof id, NULL, 0, "info_hash", info, info_len,
				     ksc + 1 + nh);
	if (rc == VG_OK)
		rc = labeled_extract(md, nh, id, sizeof id, shared_secret, shared_secret_len,
				     "secret", psk, psk_len, secret);
	if (rc == VG_OK && cipher) {
		rc = labeled_expand(md, nh, id, sizeof id, secret, "key", ksc, 1 + 2 * nh, ctx->key,
				    ctx->nk);
		if (rc == VG_OK)
			rc = labeled_expand(md, nh, id, sizeof id, secret, "base_nonce", ksc,
					    1 + 2 * nh, ctx->base_nonce, VG_HPKE_NONCE_LEN);
	}
	if (rc == VG_OK)
		rc = labeled_expand(md, nh, id, sizeof id, secret, "exp", ksc, 1 + 2 * nh,
				    ctx->exporter_secret, nh);
	if (rc != VG_OK)
		goto out;
	if (cipher) {
		int ok;

		ctx->cctx = EVP_CIPHER_CTX_new();
		if (!ctx->cctx) {
			rc = VG_ERR_NOMEM;
			goto out;
		}
		ok = role == VG_HPKE_SENDER
			 ? EVP_EncryptInit_ex2(ctx->cctx, cipher, ctx->key, NULL, NULL)
			 : EVP_DecryptInit_ex2(ctx->cctx, cipher, ctx->key, NULL, NULL);
		if (ok != 1) {
			rc = VG_ERR_CRYPTO;
			goto out;
		}
	}
out:
	vg_wipe(secret, sizeof secret);
	vg_wipe(ksc, sizeof ksc);
	if (rc == VG_OK)
		*out = ctx;
	else
		vg_hpke_context_free(&ctx);
	ERR_clear_error();
	return rc;
}

void vg_hpke_context_free(vg_hpke_ctx **ctx)
{
	if (!ctx || !*ctx)
		return;
	EVP_CIPHER_CTX_free((*ctx)->cctx); /* OpenSSL cleanses the key schedule */
#ifdef VG_HAVE_OSSL_HPKE
	if ((*ctx)->platform)
		vg_hpke_platform_free((*ctx)->platform);
#endif
	vg_secret_free(*ctx, sizeof **ctx); /* wipes key, base_nonce, exporter_secret */
	*ctx = NULL;
}

uint64_t vg_hpke_context_seq(const vg_hpke_ctx *ctx)
{
	return ctx ? ctx->seq : 0;
}

vg_rc vg_hpke_test_set_seq(vg_hpke_ctx *ctx, uint64_t seq)
{
	if (!ctx)
		return VG_ERR_INVALID;
#ifdef VG_HAVE_OSSL_HPKE
	if (ctx->platform) {
		vg_rc rc = vg_hpke_platform_set_seq(ctx->platform, seq);
		if (rc != VG_OK)
			return rc;
	}
#endif
	ctx->seq = seq;
	return VG_OK;
}

vg_rc vg_hpke_test_secrets(const vg_hpke_ctx *ctx, uint8_t key[static 32], size_t *nk,
			   uint8_t base_nonce[static VG_HPKE_NONCE_LEN],
			   uint8_t exporter_secret[static 64], size_t *nh)
{
	if (!ctx || !nk || !nh)
		return VG_ERR_INVALID;
	if (ctx->platform)
		return VG_ERR_UNSUPPORTED;
	memcpy(key, ctx->key, ctx->nk);
	*nk = ctx->nk;
	memcpy(base_nonce, ctx->base_nonce, VG_HPKE_NONCE_LEN);
	memcpy(exporter_secret, ctx->exporter_secret, ctx->nh);
	*nh = ctx->nh;
	return VG_OK;
}

const char *vg_hpke_context_backend(const vg_hpke_ctx *ctx)
{
	return ctx && ctx->platform ? "openssl" : "composed";
}

/* ---- the AEAD (RFC 9180 5.2) ---- */

/* Refusals shared by seal and open, before any cryptography. The sequence
 * number is 64 bits here (Nn is 96): the last usable one is UINT64_MAX - 1,
 * so that incrementing never wraps and a nonce is never reused. */
static vg_rc aead_precheck(const vg_hpke_ctx *ctx, vg_hpke_role role, size_t aad_len,
			   size_t msg_len, const void *aad, const void *msg)
{
	if (!ctx || ctx->role != role)
		return VG_ERR_INVALID;
	if ((aad_len && !aad) || (msg_len && !msg))
		return VG_ERR_INVALID;
	if (ctx->suite.aead == VG_HPKE_AEAD_EXPORT_ONLY)
		return VG_ERR_UNSUPPORTED;
	if (aad_len > VG_HPKE_MAX_MSG || msg_len > VG_HPKE_MAX_MSG + VG_HPKE_TAG_LEN)
		return VG_ERR_TOO_LARGE;
	if (ctx->seq == UINT64_MAX)
		return VG_ERR_TOO_LARGE;
	return VG_OK;
}

/* ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
static void compute_nonce(const vg_hpke_ctx *ctx, uint8_t nonce[static VG_HPKE_NONCE_LEN])
{
	memcpy(nonce, ctx->base_nonce, VG_HPKE_NONCE_LEN);
	for (unsigned i = 0; i < 8; i++)
		nonce[VG_HPKE_NONCE_LEN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

static vg_rc composed_seal(vg_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
			   size_t pt_len, uint8_t *ct)
{
	uint8_t nonce[VG_HPKE_NONCE_LEN];
	int n = 0, fin = 0;
	vg_rc rc = VG_ERR_CRYPTO;

	compute_nonce(ctx, nonce);
	if (EVP_EncryptInit_ex2(ctx->cctx, NULL, NULL, nonce, NULL) != 1)
		goto out;
	if (aad_len && EVP_EncryptUpdate(ctx->cctx, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	n = 0;
	if (pt_len && EVP_EncryptUpdate(ctx->cctx, ct, &n, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx->cctx, ct + n, &fin) != 1 || (size_t)n + (size_t)fin != pt_len)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx->cctx, EVP_CTRL_AEAD_GET_TAG, VG_HPKE_TAG_LEN, ct + pt_len) !=
	    1)
		goto out;
	rc = VG_OK;
out:
	ERR_clear_error();
	return rc;
}

static vg_rc composed_open(vg_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
			   size_t ct_len, uint8_t *pt)
{
	uint8_t nonce[VG_HPKE_NONCE_LEN], tag[VG_HPKE_TAG_LEN];
	size_t pt_len = ct_len - VG_HPKE_TAG_LEN;
	int n = 0, fin = 0;
	vg_rc rc = VG_ERR_INTEGRITY;

	compute_nonce(ctx, nonce);
	memcpy(tag, ct + pt_len, sizeof tag);
	if (EVP_DecryptInit_ex2(ctx->cctx, NULL, NULL, nonce, NULL) != 1)
		goto out;
	if (aad_len && EVP_DecryptUpdate(ctx->cctx, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	n = 0;
	if (pt_len && EVP_DecryptUpdate(ctx->cctx, pt, &n, ct, (int)pt_len) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx->cctx, EVP_CTRL_AEAD_SET_TAG, sizeof tag, tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx->cctx, pt + n, &fin) != 1 || (size_t)n + (size_t)fin != pt_len)
		goto out;
	rc = VG_OK;
out:
	ERR_clear_error();
	return rc;
}

vg_rc vg_hpke_seal(vg_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
		   size_t pt_len, uint8_t **ct, size_t *ct_len)
{
	uint8_t *buf;
	vg_rc rc;

	if (!ct || !ct_len)
		return VG_ERR_INVALID;
	*ct = NULL;
	*ct_len = 0;
	rc = aead_precheck(ctx, VG_HPKE_SENDER, aad_len, pt_len, aad, pt);
	if (rc != VG_OK)
		return rc;
	if (pt_len > VG_HPKE_MAX_MSG)
		return VG_ERR_TOO_LARGE;
	buf = malloc(pt_len + VG_HPKE_TAG_LEN);
	if (!buf)
		return VG_ERR_NOMEM;
#ifdef VG_HAVE_OSSL_HPKE
	if (ctx->platform)
		rc = vg_hpke_platform_seal(ctx->platform, aad, aad_len, pt, pt_len, buf);
	else
#endif
		rc = composed_seal(ctx, aad, aad_len, pt, pt_len, buf);
	if (rc != VG_OK) {
		vg_free(buf, pt_len + VG_HPKE_TAG_LEN);
		return rc;
	}
	ctx->seq++;
	*ct = buf;
	*ct_len = pt_len + VG_HPKE_TAG_LEN;
	return VG_OK;
}

vg_rc vg_hpke_open(vg_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
		   size_t ct_len, uint8_t **pt, size_t *pt_len)
{
	uint8_t *buf;
	size_t n;
	vg_rc rc;

	if (!pt || !pt_len)
		return VG_ERR_INVALID;
	*pt = NULL;
	*pt_len = 0;
	rc = aead_precheck(ctx, VG_HPKE_RECIPIENT, aad_len, ct_len, aad, ct);
	if (rc != VG_OK)
		return rc;
	if (ct_len < VG_HPKE_TAG_LEN)
		return VG_ERR_INTEGRITY;
	n = ct_len - VG_HPKE_TAG_LEN;
	buf = malloc(n ? n : 1);
	if (!buf)
		return VG_ERR_NOMEM;
#ifdef VG_HAVE_OSSL_HPKE
	if (ctx->platform)
		rc = vg_hpke_platform_open(ctx->platform, aad, aad_len, ct, ct_len, buf);
	else
#endif
		rc = composed_open(ctx, aad, aad_len, ct, ct_len, buf);
	if (rc != VG_OK) {
		vg_free(buf, n); /* unauthenticated plaintext never leaves */
		return rc;
	}
	ctx->seq++;
	*pt = buf;
	*pt_len = n;
	return VG_OK;
}

vg_rc vg_hpke_export(const vg_hpke_ctx *ctx, const uint8_t *exporter_context,
		     size_t exporter_context_len, size_t L, uint8_t *out)
{
	uint8_t id[HPKE_SUITE_ID_LEN];
	const char *md = NULL;

	if (!ctx || !out || (exporter_context_len && !exporter_context))
		return VG_ERR_INVALID;
	if (exporter_context_len > VG_HPKE_MAX_EXP_CTX)
		return VG_ERR_TOO_LARGE;
	if (L == 0 || L > 255 * ctx->nh)
		return VG_ERR_INVALID;
#ifdef VG_HAVE_OSSL_HPKE
	if (ctx->platform)
		return vg_hpke_platform_export(ctx->platform, exporter_context,
					       exporter_context_len, L, out);
#endif
	(void)kdf_nh(ctx->suite.kdf, &md);
	hpke_suite_id(&ctx->suite, id);
	return labeled_expand(md, ctx->nh, id, sizeof id, ctx->exporter_secret, "sec",
			      exporter_context, exporter_context_len, out, L);
}

/* ---- one-shot set-up: the seam to the platform's HPKE ---- */

/* What both one-shot set-ups check before either backend runs: the
 * suite, the PSK inputs (RFC 9180 5.1), and a peer key exactly in the
 * auth modes (the sender's private key, the recipient's view of it). */
static vg_rc setup_check(const vg_hpke_suite *suite, vg_hpke_mode mode, bool peer_key,
			 const uint8_t *info, size_t info_len, const uint8_t *psk, size_t psk_len,
			 const uint8_t *psk_id, size_t psk_id_len)
{
	vg_rc rc = vg_hpke_suite_check(suite);

	if (rc == VG_OK)
		rc = verify_inputs(mode, info, info_len, psk, psk_len, psk_id, psk_id_len);
	if (rc == VG_OK && mode_has_auth(mode) != peer_key)
		rc = VG_ERR_INVALID;
	return rc;
}

/* One role's KEM inputs and output (RFC 9180 5.1.1-5.1.4): the sender
 * encapsulates to pk = pkR (with sk = skS in the auth modes) and writes
 * enc; the recipient decapsulates pk = enc with sk = skR (and pkS in the
 * auth modes). */
struct setup_kem {
	const uint8_t *pk;
	size_t pk_len;
	EVP_PKEY *sk;
	const uint8_t *pkS; /* recipient only */
	size_t pkS_len;
	uint8_t *enc; /* sender only */
	size_t *enc_len;
};

#ifdef VG_HAVE_OSSL_HPKE
/* The set-up by the platform's HPKE: a context that only carries its
 * handle (and Nh, for the export length check). */
static vg_rc setup_platform(const vg_hpke_suite *suite, vg_hpke_mode mode, vg_hpke_role role,
			    const struct setup_kem *k, const uint8_t *info, size_t info_len,
			    const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
			    size_t psk_id_len, vg_hpke_ctx **out)
{
	vg_hpke_ctx *ctx = NULL;
	vg_rc rc = ctx_alloc(suite, role, &ctx);

	if (rc != VG_OK)
		return rc;
	ctx->nh = kdf_nh(suite->kdf, &(const char *){NULL});
	if (role == VG_HPKE_SENDER)
		rc = vg_hpke_platform_sender(suite, mode, k->pk, k->pk_len, k->sk, info, info_len,
					     psk, psk_len, psk_id, psk_id_len, k->enc, k->enc_len,
					     &ctx->platform);
	else
		rc = vg_hpke_platform_recipient(suite, mode, k->pk, k->pk_len, k->sk, k->pkS,
						k->pkS_len, info, info_len, psk, psk_len, psk_id,
						psk_id_len, &ctx->platform);
	if (rc != VG_OK) {
		vg_hpke_context_free(&ctx);
		return rc;
	}
	*out = ctx;
	return VG_OK;
}
#endif

/* Both one-shot set-ups: the checks, then the platform's HPKE where it
 * serves the suite and PSK, else the composed KEM step of the role and
 * the key schedule (RFC 9180 5.1.1-5.1.4). */
static vg_rc setup_one_shot(const vg_hpke_suite *suite, vg_hpke_mode mode, vg_hpke_role role,
			    const struct setup_kem *k, const uint8_t *info, size_t info_len,
			    const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
			    size_t psk_id_len, vg_hpke_ctx **out)
{
	bool sender = role == VG_HPKE_SENDER;
	uint8_t ss[VG_HPKE_SECRET_LEN];
	vg_rc rc;

	*out = NULL;
	rc = setup_check(suite, mode, sender ? k->sk != NULL : k->pkS != NULL, info, info_len, psk,
			 psk_len, psk_id, psk_id_len);
	if (rc != VG_OK)
		return rc;
#ifdef VG_HAVE_OSSL_HPKE
	if (vg_hpke_platform_serves(suite, mode, psk_id, psk_id_len))
		return setup_platform(suite, mode, role, k, info, info_len, psk, psk_len, psk_id,
				      psk_id_len, out);
#endif
	if (sender)
		rc = vg_hpke_encap(suite, k->pk, k->pk_len, k->sk, NULL, 0, k->enc, k->enc_len, ss);
	else
		rc = vg_hpke_decap(suite, k->pk, k->pk_len, k->sk, k->pkS, k->pkS_len, ss);
	if (rc == VG_OK)
		rc = vg_hpke_context_new(suite, mode, role, ss, sizeof ss, info, info_len, psk,
					 psk_len, psk_id, psk_id_len, out);
	vg_wipe(ss, sizeof ss);
	return rc;
}

vg_rc vg_hpke_setup_sender(const vg_hpke_suite *suite, vg_hpke_mode mode, const uint8_t *pkR,
			   size_t pkR_len, EVP_PKEY *skS, const uint8_t *info, size_t info_len,
			   const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
			   size_t psk_id_len, uint8_t enc[static VG_HPKE_MAX_ENC], size_t *enc_len,
			   vg_hpke_ctx **out)
{
	const struct setup_kem k = {
	    .pk = pkR, .pk_len = pkR_len, .sk = skS, .enc = enc, .enc_len = enc_len};
	vg_rc rc;

	if (!out || !enc_len)
		return VG_ERR_INVALID;
	*enc_len = 0;
	rc = setup_one_shot(suite, mode, VG_HPKE_SENDER, &k, info, info_len, psk, psk_len, psk_id,
			    psk_id_len, out);
	if (rc != VG_OK)
		*enc_len = 0;
	return rc;
}

vg_rc vg_hpke_setup_recipient(const vg_hpke_suite *suite, vg_hpke_mode mode, const uint8_t *enc,
			      size_t enc_len, EVP_PKEY *skR, const uint8_t *pkS, size_t pkS_len,
			      const uint8_t *info, size_t info_len, const uint8_t *psk,
			      size_t psk_len, const uint8_t *psk_id, size_t psk_id_len,
			      vg_hpke_ctx **out)
{
	const struct setup_kem k = {
	    .pk = enc, .pk_len = enc_len, .sk = skR, .pkS = pkS, .pkS_len = pkS_len};

	if (!out)
		return VG_ERR_INVALID;
	return setup_one_shot(suite, mode, VG_HPKE_RECIPIENT, &k, info, info_len, psk, psk_len,
			      psk_id, psk_id_len, out);
}
