/*
 * wrap.h - content keys wrapped for a recipient's P-256 key (encrypted
 * update bundles, SFR 4.2.6 confidentiality).
 *
 * Scheme "ECDH-ES+HKDF-SHA256+A256KW" (the shape of JWE's ECDH-ES+A256KW,
 * RFC 7518 4.6, with HKDF for the KDF), all on OpenSSL 3:
 *   - the sender makes an ephemeral P-256 key pair (epk) per recipient;
 *   - Z = ECDH(epk, recipient);
 *   - KEK = HKDF-SHA256(salt = none, IKM = Z,
 *                       info = "voxguard key wrap v1" || kid || epk DER),
 *     kid = SHA-256 of the recipient's SubjectPublicKeyInfo DER;
 *   - wrapped = AES-256 key wrap (RFC 3394) of the 32-byte content key
 *     under KEK: 40 bytes, whose integrity check fails on any other key.
 * Z and KEK are wiped after use.
 */
#ifndef VG_CRYPTO_WRAP_H
#define VG_CRYPTO_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "voxguard/voxguard.h"

#define VG_WRAP_CEK_LEN     32u
#define VG_WRAP_WRAPPED_LEN 40u
#define VG_WRAP_EPK_MAX     128u /* DER SPKI of a P-256 key: 91 bytes */

/* kid of a P-256 public key: SHA-256 of its SubjectPublicKeyInfo DER. */
VG_NODISCARD vg_rc vg_wrap_kid(EVP_PKEY *key, uint8_t kid[static 32]);

/* Wraps cek for recipient (a P-256 public key): epk (DER SPKI,
 * *epk_len <= VG_WRAP_EPK_MAX) and the 40 wrapped bytes. */
VG_NODISCARD vg_rc vg_wrap_key(EVP_PKEY *recipient, const uint8_t cek[static VG_WRAP_CEK_LEN],
			       uint8_t epk[static VG_WRAP_EPK_MAX], size_t *epk_len,
			       uint8_t wrapped[static VG_WRAP_WRAPPED_LEN]);

/* Unwraps with the recipient's private key. VG_ERR_VERIFY_FAILED when the
 * wrap was not made for this key (or was altered), VG_ERR_INVALID for a
 * malformed epk. */
VG_NODISCARD vg_rc vg_unwrap_key(EVP_PKEY *recipient, const uint8_t *epk, size_t epk_len,
				 const uint8_t wrapped[static VG_WRAP_WRAPPED_LEN],
				 uint8_t cek[static VG_WRAP_CEK_LEN]);

#endif
