/*
 * keystore.h - the cryptographic keystore (SFR 4.2.11).
 *
 * Keys are generated inside the service and used by name only: there is no
 * function here, nor an IPC operation, that returns private or secret key
 * material. Each key has an owner (a uid, or VG_OWNER_SERVICE for the
 * service's own keys) and a usage policy fixed at creation; an operation
 * outside the policy returns VG_ERR_POLICY.
 *
 * Persistence: one secure-storage record per key, in namespace "k/<uid>"
 * ("k/service" for the service's keys), whose sealed value is the key blob:
 *
 *   offset size  field
 *   0      4     magic "VGK1"
 *   4      1     type (vg_key_type)
 *   5      4     usage bits (big-endian)
 *   9      4     owner uid
 *   13     8     created, seconds since the epoch
 *   21     2     secret length n
 *   23     n     secret: i2d_PrivateKey DER (RFC 5915 ECPrivateKey for P-256
 *                and P-384, PKCS#8 for Ed25519 and X25519) or 32 raw bytes
 *                (AES, HMAC)
 *
 * Unsealed keys are cached (bounded) in the OpenSSL secure heap; deleting a
 * key evicts it and the store scrubs the WAL.
 */
#ifndef VG_KEYSTORE_H
#define VG_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/secstore.h"
#include "voxguard/voxguard.h"

#define VG_OWNER_SERVICE 0xFFFFFFFFu
/* Internal usage bit (never granted through IPC): a service-owned P-256
 * key used for ECDH key unwrapping (update bundle decryption, crypto/wrap.h)
 * and for nothing else. */
#define VG_KS_USE_UNWRAP 0x100u

typedef struct vg_keystore vg_keystore;

VG_NODISCARD vg_rc vg_keystore_open(vg_keystore **out, vg_secstore *store);
void vg_keystore_close(vg_keystore **ks);
/* Drops every unsealed key from the cache (after a crypto-erase of the
 * store under it: no erased key may live on in memory). */
void vg_keystore_forget(vg_keystore *ks);

VG_NODISCARD vg_rc vg_keystore_create(vg_keystore *ks, uint32_t owner, const char *name,
				      vg_key_type type, uint32_t usage);
/*
 * An application's key create (SFR 4.2.10, 4.2.11): as vg_keystore_create,
 * but VG_ERR_QUOTA when owner already has max_keys keys
 * (VG_KEYS_UNLIMITED: no bound) or when the device's storage is nearly
 * full (storage/reserve.h); a name already taken is still VG_ERR_EXISTS.
 */
#define VG_KEYS_UNLIMITED UINT32_MAX
VG_NODISCARD vg_rc vg_keystore_create_quota(vg_keystore *ks, uint32_t owner, const char *name,
					    vg_key_type type, uint32_t usage, uint32_t max_keys);
/* The number of owner's keys. */
VG_NODISCARD vg_rc vg_keystore_count(vg_keystore *ks, uint32_t owner, uint64_t *n);
/* Imports a private key the service is given once (an update fleet key at
 * provisioning): service-owned P-256 only, usage VG_KS_USE_UNWRAP.
 * VG_ERR_EXISTS if the name is taken. */
struct evp_pkey_st;
VG_NODISCARD vg_rc vg_keystore_import(vg_keystore *ks, uint32_t owner, const char *name,
				      struct evp_pkey_st *key, uint32_t usage);
/* Unwraps a content key wrapped for key `name` (crypto/wrap.h), when kid is
 * that key's. VG_ERR_NOT_FOUND: kid is another key's (or no such key);
 * VG_ERR_POLICY: the key is not an unwrap key; VG_ERR_VERIFY_FAILED: the
 * wrap does not open. */
VG_NODISCARD vg_rc vg_keystore_unwrap(vg_keystore *ks, uint32_t owner, const char *name,
				      const uint8_t kid[32], const uint8_t *epk, size_t epk_len,
				      const uint8_t wrapped[40], uint8_t cek[32]);
/* The private key for an HPKE KEM operation in the service (decapsulation
 * of a stream key, or the sender's half of AuthEncap; audio/hpke.h): key
 * `name` must have VG_USE_DERIVE and be of kem's type (X25519 for
 * DHKEM(X25519), P-256 for DHKEM(P-256)): VG_ERR_POLICY otherwise;
 * another kem is VG_ERR_UNSUPPORTED. *out is a new reference
 * (EVP_PKEY_free), so the DH may run off the event loop; it never leaves
 * the service. */
VG_NODISCARD vg_rc vg_keystore_kem_key(vg_keystore *ks, uint32_t owner, const char *name,
				       uint16_t kem, struct evp_pkey_st **out);
VG_NODISCARD vg_rc vg_keystore_delete(vg_keystore *ks, uint32_t owner, const char *name);
VG_NODISCARD vg_rc vg_keystore_info(vg_keystore *ks, uint32_t owner, const char *name,
				    vg_key_info *out);
VG_NODISCARD vg_rc vg_keystore_list(vg_keystore *ks, uint32_t owner,
				    int (*fn)(void *ctx, const char *name), void *ctx);
/* SubjectPublicKeyInfo, PEM or DER; callee-allocated. */
VG_NODISCARD vg_rc vg_keystore_public(vg_keystore *ks, uint32_t owner, const char *name, bool pem,
				      uint8_t **out, size_t *len);
/* A signature prepared on the event loop and made anywhere (off the
 * loop: daemon/workers.h). vg_keystore_signer checks the key's usage
 * policy like vg_keystore_sign and returns a one-use signer of the
 * caller's: a copy of a signing context the key cache keeps initialised,
 * holding its own reference to the key (a key deleted meanwhile still
 * signs this once). alg NULL: the key's message signature (P-256, P-384:
 * ECDSA over SHA-256, SHA-384; Ed25519: pure EdDSA); alg "sha256",
 * "sha384" or "sha512": ECDSA over a digest the caller made (the OpenSSL
 * provider, TLS), for P-256 and P-384 keys only (VG_ERR_POLICY), another
 * name is VG_ERR_INVALID. */
typedef struct vg_signer vg_signer;
VG_NODISCARD vg_rc vg_keystore_signer(vg_keystore *ks, uint32_t owner, const char *name,
				      const char *alg, vg_signer **out);
/* The signature (DER for ECDSA; callee-allocated *sig, free()). Touches
 * nothing but s, so it may run on any thread; once per signer. A digest
 * whose length is not its algorithm's: VG_ERR_INVALID. */
VG_NODISCARD vg_rc vg_signer_sign(vg_signer *s, const uint8_t *data, size_t len, uint8_t **sig,
				  size_t *sig_len);
void vg_signer_free(vg_signer *s);
/* The length of digest alg ("sha256", "sha384", "sha512"): VG_OK, or
 * VG_ERR_INVALID for any other name. */
VG_NODISCARD vg_rc vg_keystore_digest_len(const char *alg, size_t *len);
VG_NODISCARD vg_rc vg_keystore_sign(vg_keystore *ks, uint32_t owner, const char *name,
				    const uint8_t *msg, size_t len, uint8_t **sig, size_t *sig_len);
/* VG_OK valid, VG_ERR_VERIFY_FAILED invalid. For HMAC keys sig is the tag. */
VG_NODISCARD vg_rc vg_keystore_verify(vg_keystore *ks, uint32_t owner, const char *name,
				      const uint8_t *msg, size_t len, const uint8_t *sig,
				      size_t sig_len);
VG_NODISCARD vg_rc vg_keystore_encrypt(vg_keystore *ks, uint32_t owner, const char *name,
				       const uint8_t *pt, size_t len, uint8_t **ct, size_t *ct_len);
VG_NODISCARD vg_rc vg_keystore_decrypt(vg_keystore *ks, uint32_t owner, const char *name,
				       const uint8_t *ct, size_t len, uint8_t **pt, size_t *pt_len);
VG_NODISCARD vg_rc vg_keystore_mac(vg_keystore *ks, uint32_t owner, const char *name,
				   const uint8_t *msg, size_t len, uint8_t mac[static 32]);

/* Decodes a key blob (the stored-record decoder the fuzz target drives).
 * On success the caller owns *pkey (asymmetric) or *secret (symmetric,
 * secret memory of 32 bytes, vg_secret_free). */
struct evp_pkey_st;
VG_NODISCARD vg_rc vg_keystore_blob_decode(const uint8_t *blob, size_t len, vg_key_info *info,
					   struct evp_pkey_st **pkey, uint8_t **secret);

/* The namespace of owner's keys, e.g. "k/1000". */
void vg_keystore_ns(uint32_t owner, char out[static 24]);

#endif
