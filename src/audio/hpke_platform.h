/*
 * hpke_platform.h - internal: the seam to the platform's HPKE.
 *
 * OpenSSL 3.2 and later ship RFC 9180 as OSSL_HPKE_* (<openssl/hpke.h>).
 * When CMake finds that header it defines VG_HAVE_OSSL_HPKE and builds
 * hpke_ossl.c, and vg_hpke_setup_sender() / vg_hpke_setup_recipient()
 * (hpke.h) hand the suites and modes it serves to it; the context then
 * dispatches seal, open and export here. Everything else, and the split
 * KEM API (vg_hpke_encap/decap/context_new: OSSL_HPKE keeps the KEM shared
 * secret to itself), is the composed implementation in hpke.c.
 *
 * Debian 12 has OpenSSL 3.0: this path is not compiled there and is not
 * tested by this project's CI; the composed path is the one checked
 * against the RFC 9180 vectors (tests/test_hpke.c).
 */
#ifndef VG_HPKE_PLATFORM_H
#define VG_HPKE_PLATFORM_H

#include "audio/hpke.h"

#ifdef VG_HAVE_OSSL_HPKE

/* Whether the platform serves this set-up (psk_id must be text for it). */
bool vg_hpke_platform_serves(const vg_hpke_suite *suite, vg_hpke_mode mode, const uint8_t *psk_id,
			     size_t psk_id_len);
/* As vg_hpke_setup_sender / _recipient; *impl is the platform's context. */
VG_NODISCARD vg_rc vg_hpke_platform_sender(const vg_hpke_suite *suite, vg_hpke_mode mode,
					   const uint8_t *pkR, size_t pkR_len,
					   struct evp_pkey_st *skS, const uint8_t *info,
					   size_t info_len, const uint8_t *psk, size_t psk_len,
					   const uint8_t *psk_id, size_t psk_id_len, uint8_t *enc,
					   size_t *enc_len, void **impl);
VG_NODISCARD vg_rc vg_hpke_platform_recipient(const vg_hpke_suite *suite, vg_hpke_mode mode,
					      const uint8_t *enc, size_t enc_len,
					      struct evp_pkey_st *skR, const uint8_t *pkS,
					      size_t pkS_len, const uint8_t *info, size_t info_len,
					      const uint8_t *psk, size_t psk_len,
					      const uint8_t *psk_id, size_t psk_id_len,
					      void **impl);
/* ct has pt_len + VG_HPKE_TAG_LEN bytes, pt ct_len - VG_HPKE_TAG_LEN. */
VG_NODISCARD vg_rc vg_hpke_platform_seal(void *impl, const uint8_t *aad, size_t aad_len,
					 const uint8_t *pt, size_t pt_len, uint8_t *ct);
VG_NODISCARD vg_rc vg_hpke_platform_open(void *impl, const uint8_t *aad, size_t aad_len,
					 const uint8_t *ct, size_t ct_len, uint8_t *pt);
VG_NODISCARD vg_rc vg_hpke_platform_export(void *impl, const uint8_t *exporter_context,
					   size_t exporter_context_len, size_t L, uint8_t *out);
VG_NODISCARD vg_rc vg_hpke_platform_set_seq(void *impl, uint64_t seq);
void vg_hpke_platform_free(void *impl);

#endif
#endif
