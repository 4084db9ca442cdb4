/*
 * seal.h - the crypto boundary: every symmetric sealing in voxguard goes
 * through here, on top of OpenSSL 3 (no primitive is implemented locally).
 *
 * A sealed blob is self-describing and checked before any cryptography:
 *
 *   offset  size  field
 *   0       3     magic "VGS"
 *   3       1     format version (1)
 *   4       1     algorithm (1 = AES-256-GCM)
 *   5       1     kind (vg_seal_kind: what the blob holds)
 *   6       2     reserved, zero
 *   8       8     generation (big-endian): the record version it was sealed at
 *   16      12    nonce (random)
 *   28      n     ciphertext
 *   28+n    16    GCM tag
 *
 * The 16-byte header and the caller's associated data are authenticated, so
 * a blob cannot be moved to another record, kind or generation undetected.
 * A failed open reports VG_ERR_INTEGRITY only, never which check failed, and
 * writes no plaintext.
 */
#ifndef VG_SEAL_H
#define VG_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_KEY_LEN        32u
#define VG_SEAL_HDR_LEN   16u
#define VG_SEAL_NONCE_LEN 12u
#define VG_SEAL_TAG_LEN   16u
#define VG_SEAL_OVERHEAD  (VG_SEAL_HDR_LEN + VG_SEAL_NONCE_LEN + VG_SEAL_TAG_LEN)

typedef enum vg_seal_kind {
	VG_SEAL_RECORD = 1, /* a secure-storage record value */
	VG_SEAL_KEY = 2,    /* a keystore key */
	VG_SEAL_STATE = 3,  /* service state (audit key, meta) */
	VG_SEAL_USER = 4,   /* `key encrypt` output for applications */
} vg_seal_kind;

/* HKDF-SHA256(ikm) with info = "voxguard/v1/" label 0x00 ctx. */
VG_NODISCARD vg_rc vg_hkdf(const uint8_t *ikm, size_t ikm_len, const char *label,
			   const uint8_t *ctx, size_t ctx_len, uint8_t out[static VG_KEY_LEN]);

/* Seals pt into a callee-allocated blob of pt_len + VG_SEAL_OVERHEAD bytes. */
VG_NODISCARD vg_rc vg_seal(const uint8_t key[static VG_KEY_LEN], vg_seal_kind kind,
			   uint64_t generation, const uint8_t *aad, size_t aad_len,
			   const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len);

/* Opens a blob sealed with the same key, kind and aad. On success *pt is a
 * callee-allocated buffer the caller wipes and frees (vg_free), and
 * *generation the generation in the header. */
VG_NODISCARD vg_rc vg_unseal(const uint8_t key[static VG_KEY_LEN], vg_seal_kind kind,
			     const uint8_t *aad, size_t aad_len, const uint8_t *blob,
			     size_t blob_len, uint8_t **pt, size_t *pt_len, uint64_t *generation);

/* Reads a blob's header without any cryptography (for tools and fuzzing). */
VG_NODISCARD vg_rc vg_seal_parse_header(const uint8_t *blob, size_t blob_len, vg_seal_kind *kind,
					uint64_t *generation);

/* HMAC-SHA256. */
VG_NODISCARD vg_rc vg_hmac256(const uint8_t *key, size_t key_len, const uint8_t *msg,
			      size_t msg_len, uint8_t out[static 32]);
/* A keyed HMAC-SHA256 kept ready for repeated use (the key schedule and the
 * algorithm lookup done once). The key is copied into OpenSSL's context;
 * free with vg_hmac_key_free (NULL-safe), which wipes it. */
typedef struct vg_hmac_key vg_hmac_key;
VG_NODISCARD vg_rc vg_hmac_key_new(const uint8_t *key, size_t key_len, vg_hmac_key **out);
void vg_hmac_key_free(vg_hmac_key **k);
VG_NODISCARD vg_rc vg_hmac_with(const vg_hmac_key *k, const uint8_t *msg, size_t msg_len,
				uint8_t out[static 32]);

VG_NODISCARD vg_rc vg_sha256(const uint8_t *msg, size_t len, uint8_t out[static 32]);

#endif
