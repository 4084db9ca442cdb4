/*
 * hpke_ossl.c - the platform's HPKE (OpenSSL >= 3.2, OSSL_HPKE_*) behind the
 * seam of hpke_platform.h. Built only when CMake finds <openssl/hpke.h>
 * (VG_HAVE_OSSL_HPKE); Debian 12's OpenSSL 3.0 has none, so this file is
 * not compiled or tested there: the composed implementation (hpke.c) is the
 * one the RFC 9180 vectors check.
 *
 * It serves the one-shot set-ups for the suites of hpke.h when the psk_id
 * is text (OSSL_HPKE_CTX_set1_psk takes a C string); everything else stays
 * composed.
 */
#include "audio/hpke_platform.h"

#ifdef VG_HAVE_OSSL_HPKE

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hpke.h>

#include "common/util.h"

#if OPENSSL_VERSION_NUMBER < 0x30200000L
#error "VG_HAVE_OSSL_HPKE needs OpenSSL 3.2 or later"
#endif

bool vg_hpke_platform_serves(const vg_hpke_suite *suite, vg_hpke_mode mode, const uint8_t *psk_id,
			     size_t psk_id_len)
{
	OSSL_HPKE_SUITE s = {suite->kem, suite->kdf, suite->aead};

	if (psk_id_len && (memchr(psk_id, 0, psk_id_len) || psk_id_len > VG_HPKE_MAX_EXP_CTX))
		return false;
	(void)mode;
	return OSSL_HPKE_suite_check(s) == 1;
}

static OSSL_HPKE_CTX *new_ctx(const vg_hpke_suite *suite, vg_hpke_mode mode, int role,
			      const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
			      size_t psk_id_len)
{
	OSSL_HPKE_SUITE s = {suite->kem, suite->kdf, suite->aead};
	OSSL_HPKE_CTX *c = OSSL_HPKE_CTX_new((int)mode, s, role, NULL, NULL);
	char id[VG_HPKE_MAX_EXP_CTX + 1];

	if (!c)
		return NULL;
	if (psk_len) {
		memcpy(id, psk_id, psk_id_len);
		id[psk_id_len] = '\0';
		if (OSSL_HPKE_CTX_set1_psk(c, id, psk, psk_len) != 1) {
			OSSL_HPKE_CTX_free(c);
			return NULL;
		}
	}
	return c;
}

vg_rc vg_hpke_platform_sender(const vg_hpke_suite *suite, vg_hpke_mode mode, const uint8_t *pkR,
			      size_t pkR_len, struct evp_pkey_st *skS, const uint8_t *info,
			      size_t info_len, const uint8_t *psk, size_t psk_len,
			      const uint8_t *psk_id, size_t psk_id_len, uint8_t *enc,
			      size_t *enc_len, void **impl)
{
	OSSL_HPKE_CTX *c =
	    new_ctx(suite, mode, OSSL_HPKE_ROLE_SENDER, psk, psk_len, psk_id, psk_id_len);
	size_t n = VG_HPKE_MAX_ENC;

	if (!c)
		goto fail;
	if (skS && OSSL_HPKE_CTX_set1_authpriv(c, skS) != 1)
		goto fail;
	if (OSSL_HPKE_encap(c, enc, &n, pkR, pkR_len, info, info_len) != 1)
		goto fail;
	*enc_len = n;
	*impl = c;
	return VG_OK;
fail:
	OSSL_HPKE_CTX_free(c);
	ERR_clear_error();
	return VG_ERR_CRYPTO;
}

vg_rc vg_hpke_platform_recipient(const vg_hpke_suite *suite, vg_hpke_mode mode, const uint8_t *enc,
				 size_t enc_len, struct evp_pkey_st *skR, const uint8_t *pkS,
				 size_t pkS_len, const uint8_t *info, size_t info_len,
				 const uint8_t *psk, size_t psk_len, const uint8_t *psk_id,
				 size_t psk_id_len, void **impl)
{
	OSSL_HPKE_CTX *c =
	    new_ctx(suite, mode, OSSL_HPKE_ROLE_RECEIVER, psk, psk_len, psk_id, psk_id_len);

	if (!c)
		goto fail;
	if (pkS && OSSL_HPKE_CTX_set1_authpub(c, pkS, pkS_len) != 1)
		goto fail;
	if (OSSL_HPKE_decap(c, enc, enc_len, skR, info, info_len) != 1)
		goto fail;
	*impl = c;
	return VG_OK;
fail:
	OSSL_HPKE_CTX_free(c);
	ERR_clear_error();
	return VG_ERR_CRYPTO;
}

vg_rc vg_hpke_platform_seal(void *impl, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
			    size_t pt_len, uint8_t *ct)
{
	size_t n = pt_len + VG_HPKE_TAG_LEN;

	if (OSSL_HPKE_seal(impl, ct, &n, aad, aad_len, pt, pt_len) != 1 ||
	    n != pt_len + VG_HPKE_TAG_LEN) {
		ERR_clear_error();
		return VG_ERR_CRYPTO;
	}
	return VG_OK;
}

vg_rc vg_hpke_platform_open(void *impl, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
			    size_t ct_len, uint8_t *pt)
{
	size_t n = ct_len - VG_HPKE_TAG_LEN;

	if (OSSL_HPKE_open(impl, pt, &n, aad, aad_len, ct, ct_len) != 1 ||
	    n != ct_len - VG_HPKE_TAG_LEN) {
		ERR_clear_error();
		return VG_ERR_INTEGRITY;
	}
	return VG_OK;
}

vg_rc vg_hpke_platform_export(void *impl, const uint8_t *exporter_context,
			      size_t exporter_context_len, size_t L, uint8_t *out)
{
	if (OSSL_HPKE_export(impl, out, L, exporter_context, exporter_context_len) != 1) {
		ERR_clear_error();
		vg_wipe(out, L);
		return VG_ERR_CRYPTO;
	}
	return VG_OK;
}

vg_rc vg_hpke_platform_set_seq(void *impl, uint64_t seq)
{
	return OSSL_HPKE_CTX_set_seq(impl, seq) == 1 ? VG_OK : VG_ERR_INVALID;
}

void vg_hpke_platform_free(void *impl)
{
	OSSL_HPKE_CTX_free(impl); /* OpenSSL cleanses its secrets */
}

#endif
