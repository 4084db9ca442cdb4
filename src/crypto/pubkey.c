/* pubkey.c - see pubkey.h */
#include "crypto/pubkey.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Ed25519, or EC on the P-256 curve by name (not any 256-bit curve:
 * secp256k1 and brainpoolP256r1 are 256 bits too). */
static bool supported(EVP_PKEY *k)
{
	char group[64] = "";
	int type = EVP_PKEY_get_base_id(k);

	if (type == EVP_PKEY_ED25519)
		return true;
	return type == EVP_PKEY_EC &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					      NULL) == 1 &&
	       strcmp(group, SN_X9_62_prime256v1) == 0;
}

vg_rc vg_pubkey_parse(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len)
{
	EVP_PKEY *k = NULL;
	BIO *b;
	int n;

	*der = NULL;
	*der_len = 0;
	if (!in || len == 0 || len > 8192)
		return VG_ERR_INVALID;
	b = BIO_new_mem_buf(in, (int)len);
	if (b)
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k) {
		const unsigned char *p = in;
		k = d2i_PUBKEY(NULL, &p, (long)len);
		if (k && p != in + len) {
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
	ERR_clear_error(); /* the PEM attempt's, if DER was it */
	if (!k || !supported(k)) {
		EVP_PKEY_free(k);
		return VG_ERR_INVALID;
	}
	n = i2d_PUBKEY(k, der);
	EVP_PKEY_free(k);
	if (n <= 0)
		return VG_ERR_CRYPTO;
	*der_len = (size_t)n;
	return VG_OK;
}

vg_rc vg_pubkey_verify(const uint8_t *der, size_t der_len, const uint8_t *msg, size_t len,
		       const uint8_t *sig, size_t sig_len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = der ? d2i_PUBKEY(NULL, &p, (long)der_len) : NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = 0;

	if (k && c && supported(k) && sig && sig_len > 0 && sig_len <= 256) {
		const char *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : "SHA256";
		ok = EVP_DigestVerifyInit_ex(c, NULL, md, NULL, NULL, k, NULL) == 1 &&
		     EVP_DigestVerify(c, sig, sig_len, msg, len) == 1;
	}
	ERR_clear_error();
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return ok ? VG_OK : VG_ERR_VERIFY_FAILED;
}
