/*
 * pubkey.h - the outside public keys voxguard accepts (an OEM debug key, a
 * companion app's admin key): ECDSA P-256 or Ed25519, and their
 * signatures, on OpenSSL 3.
 */
#ifndef VG_PUBKEY_H
#define VG_PUBKEY_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

/* A PEM or DER SubjectPublicKeyInfo of a P-256 or Ed25519 key (at most
 * 8 KiB, DER without trailing bytes) into DER (*der: OPENSSL_free).
 * VG_ERR_INVALID for anything else. */
VG_NODISCARD vg_rc vg_pubkey_parse(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len);

/* Verifies sig over msg with a DER SubjectPublicKeyInfo: ECDSA P-256 over
 * SHA-256 with a DER signature, or pure Ed25519. VG_OK, or
 * VG_ERR_VERIFY_FAILED for a bad signature, an unusable key or another
 * key type. */
VG_NODISCARD vg_rc vg_pubkey_verify(const uint8_t *der, size_t der_len, const uint8_t *msg,
				    size_t len, const uint8_t *sig, size_t sig_len);

#endif
