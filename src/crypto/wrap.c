/*
 * wrap.c - ECDH-ES+HKDF-SHA256+A256KW content-key wrapping (wrap.h).
 */
#include "crypto/wrap.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include "common/util.h"

#define INFO_LABEL "voxguard key wrap v1"

vg_rc vg_wrap_kid(EVP_PKEY *key, uint8_t kid[static 32])
{
	uint8_t *der = NULL;
	unsigned int hl = 0;
	int n = i2d_PUBKEY(key, &der);
	vg_rc rc = VG_ERR_CRYPTO;

	if (n > 0 && EVP_Digest(der, (size_t)n, kid, &hl, EVP_sha256(), NULL) == 1)
		rc = VG_OK;
	OPENSSL_free(der);
	return rc;
}

static bool is_p256(EVP_PKEY *k)
{
	char group[32];
	size_t gl = 0;

	return k && EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					      &gl) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

/* KEK = HKDF-SHA256(Z, info = label || kid || epk). */
static vg_rc derive_kek(EVP_PKEY *mine, EVP_PKEY *peer, const uint8_t kid[32],
			const uint8_t *epk, size_t epk_len, uint8_t kek[32])
{
	uint8_t z[32], info[sizeof INFO_LABEL - 1 + 32 + VG_WRAP_EPK_MAX];
	size_t zl = sizeof z, il = 0;
	EVP_PKEY_CTX *dh = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[4];
	vg_rc rc = VG_ERR_CRYPTO;

	if (epk_len > VG_WRAP_EPK_MAX)
		goto out;
	if (!dh || EVP_PKEY_derive_init(dh) != 1 || EVP_PKEY_derive_set_peer(dh, peer) != 1 ||
	    EVP_PKEY_derive(dh, z, &zl) != 1 || zl != sizeof z)
		goto out;
	memcpy(info, INFO_LABEL, sizeof INFO_LABEL - 1);
	il = sizeof INFO_LABEL - 1;
	memcpy(info + il, kid, 32);
	il += 32;
	memcpy(info + il, epk, epk_len);
	il += epk_len;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zl);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, il);
	params[3] = OSSL_PARAM_construct_end();
	if (kctx && EVP_KDF_derive(kctx, kek, 32, params) == 1)
		rc = VG_OK;
out:
	vg_wipe(z, sizeof z);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(dh);
	return rc;
}

/* AES-256 key wrap (RFC 3394) of 32 bytes, or its inverse. */
static vg_rc kw(bool wrap, const uint8_t kek[32], const uint8_t *in, size_t in_len, uint8_t *out,
		size_t out_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, f = 0;
	vg_rc rc = wrap ? VG_ERR_CRYPTO : VG_ERR_VERIFY_FAILED;

	if (c)
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (c && EVP_CipherInit_ex2(c, EVP_aes_256_wrap(), kek, NULL, wrap ? 1 : 0, NULL) == 1 &&
	    EVP_CipherUpdate(c, out, &n, in, (int)in_len) == 1 &&
	    EVP_CipherFinal_ex(c, out + n, &f) == 1 && (size_t)(n + f) == out_len)
		rc = VG_OK;
	EVP_CIPHER_CTX_free(c);
	return rc;
}

vg_rc vg_wrap_key(EVP_PKEY *recipient, const uint8_t cek[static VG_WRAP_CEK_LEN],
		  uint8_t epk[static VG_WRAP_EPK_MAX], size_t *epk_len,
		  uint8_t wrapped[static VG_WRAP_WRAPPED_LEN])
{
	EVP_PKEY *eph = NULL;
	uint8_t kid[32], kek[32], *der = NULL;
	int n;
	vg_rc rc;

	*epk_len = 0;
	if (!is_p256(recipient))
		return VG_ERR_INVALID;
	rc = vg_wrap_kid(recipient, kid);
	if (rc != VG_OK)
		return rc;
	eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!eph || (n = i2d_PUBKEY(eph, &der)) <= 0 || (size_t)n > VG_WRAP_EPK_MAX) {
		rc = VG_ERR_CRYPTO;
		goto out;
	}
	memcpy(epk, der, (size_t)n);
	*epk_len = (size_t)n;
	rc = derive_kek(eph, recipient, kid, epk, *epk_len, kek);
	if (rc == VG_OK)
		rc = kw(true, kek, cek, VG_WRAP_CEK_LEN, wrapped, VG_WRAP_WRAPPED_LEN);
	vg_wipe(kek, sizeof kek);
out:
	OPENSSL_free(der);
	EVP_PKEY_free(eph);
	return rc;
}

vg_rc vg_unwrap_key(EVP_PKEY *recipient, const uint8_t *epk, size_t epk_len,
		    const uint8_t wrapped[static VG_WRAP_WRAPPED_LEN],
		    uint8_t cek[static VG_WRAP_CEK_LEN])
{
	const uint8_t *p = epk;
	EVP_PKEY *peer = NULL;
	uint8_t kid[32], kek[32];
	vg_rc rc;

	if (!epk || epk_len == 0 || epk_len > VG_WRAP_EPK_MAX)
		return VG_ERR_INVALID;
	peer = d2i_PUBKEY(NULL, &p, (long)epk_len);
	if (!peer || p != epk + epk_len || !is_p256(peer)) {
		EVP_PKEY_free(peer);
		return VG_ERR_INVALID;
	}
	rc = vg_wrap_kid(recipient, kid);
	if (rc == VG_OK)
		rc = derive_kek(recipient, peer, kid, epk, epk_len, kek);
	if (rc == VG_OK)
		rc = kw(false, kek, wrapped, VG_WRAP_WRAPPED_LEN, cek, VG_WRAP_CEK_LEN);
	if (rc != VG_OK)
		vg_wipe(cek, VG_WRAP_CEK_LEN);
	vg_wipe(kek, sizeof kek);
	EVP_PKEY_free(peer);
	return rc == VG_ERR_CRYPTO ? VG_ERR_VERIFY_FAILED : rc;
}
