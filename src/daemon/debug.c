/* debug.c - see debug.h */
#include "daemon/debug.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/util.h"

#define CHALLENGE_MS (5u * 60u * 1000u)

static const char label[] = "voxguard-debug-unlock-v1";

void vg_debug_message(const uint8_t nonce[static 32], const uint8_t iid[static 33],
		      uint8_t msg[static VG_DEBUG_MSG_LEN])
{
	memcpy(msg, label, sizeof label); /* with its NUL */
	memcpy(msg + sizeof label, nonce, 32);
	memcpy(msg + sizeof label + 32, iid, 33);
}

vg_rc vg_debug_challenge(vg_debug *d, uint64_t now_ms, uint8_t nonce[static 32])
{
	if (RAND_bytes(d->nonce, sizeof d->nonce) != 1)
		return VG_ERR_CRYPTO;
	d->pending = true;
	d->expires_ms = now_ms + CHALLENGE_MS;
	memcpy(nonce, d->nonce, 32);
	return VG_OK;
}

vg_rc vg_debug_key_parse(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len)
{
	EVP_PKEY *k = NULL;
	BIO *b;
	int n, type;

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
	if (!k)
		return VG_ERR_INVALID;
	type = EVP_PKEY_get_base_id(k);
	if (!(type == EVP_PKEY_ED25519 || (type == EVP_PKEY_EC && EVP_PKEY_get_bits(k) == 256))) {
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

vg_rc vg_debug_unlock(vg_debug *d, uint64_t now_ms, const uint8_t iid[static 33],
		      const uint8_t *sig, size_t sig_len, const uint8_t *key_der, size_t key_len)
{
	uint8_t msg[VG_DEBUG_MSG_LEN];
	const unsigned char *p = key_der;
	EVP_PKEY *k;
	EVP_MD_CTX *c;
	bool live = d->pending && now_ms <= d->expires_ms;
	int ok = 0;

	vg_debug_message(d->nonce, iid, msg);
	/* Single use: consumed whatever happens next. */
	d->pending = false;
	vg_wipe(d->nonce, sizeof d->nonce);
	if (!live)
		return VG_ERR_AUTH_REQUIRED;
	k = d2i_PUBKEY(NULL, &p, (long)key_len);
	c = EVP_MD_CTX_new();
	if (k && c && sig && sig_len > 0 && sig_len <= 256) {
		const char *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : "SHA256";
		ok = EVP_DigestVerifyInit_ex(c, NULL, md, NULL, NULL, k, NULL) == 1 &&
		     EVP_DigestVerify(c, sig, sig_len, msg, sizeof msg) == 1;
	}
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	if (!ok)
		return VG_ERR_AUTH_FAILED;
	d->unlocked = true;
	return VG_OK;
}

void vg_debug_lock(vg_debug *d)
{
	d->unlocked = false;
	d->pending = false;
	vg_wipe(d->nonce, sizeof d->nonce);
}
