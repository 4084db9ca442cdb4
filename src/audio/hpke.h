/*
 * hpke.h - Hybrid Public Key Encryption (RFC 9180) for audio stream keys
 * (issue 13; SFR 4.2.7, 4.2.8 note 7).
 *
 * HPKE is composed here from OpenSSL 3.0 primitives only: Diffie-Hellman
 * (X25519, P-256 ECDH) through EVP_PKEY_derive, HKDF through EVP_KDF "HKDF"
 * in EXTRACT_ONLY and EXPAND_ONLY modes (RFC 9180 LabeledExtract and
 * LabeledExpand are built on those), and the AEADs through EVP_CIPHER.
 * No primitive is implemented locally. This header is the authoritative
 * description of what the module promises.
 *
 * Supported (everything else is VG_ERR_UNSUPPORTED):
 *   KEM   0x0010 DHKEM(P-256, HKDF-SHA256), 0x0020 DHKEM(X25519, HKDF-SHA256)
 *   KDF   0x0001 HKDF-SHA256, 0x0003 HKDF-SHA512
 *   AEAD  0x0001 AES-128-GCM, 0x0002 AES-256-GCM, 0x0003 ChaCha20-Poly1305,
 *         0xFFFF export-only (seal and open refused, export works)
 *   modes base, psk, auth, auth_psk
 *
 * The KEM is split from the key schedule so that decapsulation runs where
 * the private key is (voxguardd) and the key schedule and AEAD run in the
 * application: vg_hpke_encap() / vg_hpke_decap() produce the KEM shared
 * secret; vg_hpke_context_new() runs the key schedule on it. The one-shot
 * vg_hpke_setup_sender() / vg_hpke_setup_recipient() do both in one
 * process, and are the seam where the platform's HPKE (OpenSSL >= 3.2,
 * OSSL_HPKE_*) is used when the build found <openssl/hpke.h> (see
 * hpke_platform.h). The split functions are always the composed ones:
 * OSSL_HPKE does not give out the KEM shared secret.
 *
 * Public keys are the RFC's raw encodings (SerializePublicKey): 32 bytes for
 * X25519, the 65-byte uncompressed point for P-256. Private keys are
 * EVP_PKEYs (X25519, or EC on P-256), which may be provider-backed.
 *
 * Secrets: every intermediate value is wiped after its last use and on
 * every error path; vg_hpke_context_free() wipes the key, base nonce and
 * exporter secret. A failed open says VG_ERR_INTEGRITY only and returns no
 * plaintext.
 */
#ifndef VG_HPKE_H
#define VG_HPKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

struct evp_pkey_st;

/* Identifiers (RFC 9180 section 7, IANA registry). */
#define VG_HPKE_KEM_P256_SHA256   0x0010u
#define VG_HPKE_KEM_X25519_SHA256 0x0020u
#define VG_HPKE_KDF_SHA256        0x0001u
#define VG_HPKE_KDF_SHA512        0x0003u
#define VG_HPKE_AEAD_AES128GCM    0x0001u
#define VG_HPKE_AEAD_AES256GCM    0x0002u
#define VG_HPKE_AEAD_CHACHA20     0x0003u
#define VG_HPKE_AEAD_EXPORT_ONLY  0xFFFFu

/* Sizes, the largest over the supported suites. */
#define VG_HPKE_MAX_PK      65u /* Npk: P-256 uncompressed point; X25519 32 */
#define VG_HPKE_MAX_ENC     65u /* Nenc = Npk for both KEMs */
#define VG_HPKE_SK_LEN      32u /* Nsk for both KEMs */
#define VG_HPKE_SECRET_LEN  32u /* Nsecret for both KEMs */
#define VG_HPKE_NONCE_LEN   12u /* Nn for all three AEADs */
#define VG_HPKE_TAG_LEN     16u /* Nt for all three AEADs */
#define VG_HPKE_MIN_PSK_LEN 32u /* RFC 9180 9.5: a PSK has >= 32 bytes of entropy */
/* Bounds on caller inputs (the RFC allows more; nothing here needs it).
 * The exporter context is bounded by OpenSSL 3.0's HKDF info buffer. */
#define VG_HPKE_MAX_INFO    65536u                /* info, psk and psk_id each */
#define VG_HPKE_MAX_EXP_CTX 512u                  /* exporter_context */
#define VG_HPKE_MAX_MSG     (64u * 1024u * 1024u) /* one seal/open */

typedef struct vg_hpke_suite {
	uint16_t kem;
	uint16_t kdf;
	uint16_t aead;
} vg_hpke_suite;

typedef enum vg_hpke_mode {
	VG_HPKE_MODE_BASE = 0,
	VG_HPKE_MODE_PSK = 1,
	VG_HPKE_MODE_AUTH = 2,
	VG_HPKE_MODE_AUTH_PSK = 3,
} vg_hpke_mode;

typedef enum vg_hpke_role {
	VG_HPKE_SENDER = 0,    /* seals (and exports) */
	VG_HPKE_RECIPIENT = 1, /* opens (and exports) */
} vg_hpke_role;

typedef struct vg_hpke_ctx vg_hpke_ctx;

/* VG_OK if this module supports the suite, VG_ERR_UNSUPPORTED otherwise. */
VG_NODISCARD vg_rc vg_hpke_suite_check(const vg_hpke_suite *suite);
/* Npk (= Nenc) of a supported KEM, 0 for any other. */
size_t vg_hpke_pk_len(uint16_t kem);

/* ---- keys ---- */

/* A fresh random key pair for kem (callee-allocated; EVP_PKEY_free). */
VG_NODISCARD vg_rc vg_hpke_generate_keypair(uint16_t kem, struct evp_pkey_st **out);
/* DeriveKeyPair(ikm) of RFC 9180 7.1.3 (P-256: the rejection-sampling loop
 * with bitmask 0xFF). ikm must hold at least VG_HPKE_SK_LEN bytes (Nsk)
 * and at most VG_HPKE_MAX_INFO. Deterministic: for the test vectors and for
 * keys derived from a secret seed. */
VG_NODISCARD vg_rc vg_hpke_derive_keypair(uint16_t kem, const uint8_t *ikm, size_t ikm_len,
					  struct evp_pkey_st **out);
/* DeserializePublicKey: raw bytes to a public EVP_PKEY (callee-allocated).
 * VG_ERR_INVALID for a wrong length, a P-256 encoding that is not an
 * uncompressed point on the curve, or a kem this module does not support. */
VG_NODISCARD vg_rc vg_hpke_pk_from_raw(uint16_t kem, const uint8_t *pk, size_t pk_len,
				       struct evp_pkey_st **out);
/* SerializePublicKey of key (a public or private key of kem's type) into
 * out; *out_len = Npk. VG_ERR_INVALID if key is of another type or curve. */
VG_NODISCARD vg_rc vg_hpke_pk_to_raw(uint16_t kem, const struct evp_pkey_st *key,
				     uint8_t out[static VG_HPKE_MAX_PK], size_t *out_len);
/* SerializePrivateKey (Nsk bytes), for tests and key import only: the
 * caller wipes out. VG_ERR_INVALID if key has no private part (a
 * provider-backed key that does not export it, too). */
VG_NODISCARD vg_rc vg_hpke_sk_to_raw(uint16_t kem, const struct evp_pkey_st *key,
				     uint8_t out[static VG_HPKE_SK_LEN]);
/* DeserializePrivateKey: Nsk raw bytes (X25519 clamped by the DH; P-256 a
 * scalar in [1, n-1]) to a key pair (callee-allocated). */
VG_NODISCARD vg_rc vg_hpke_sk_from_raw(uint16_t kem, const uint8_t *sk, size_t sk_len,
				       struct evp_pkey_st **out);

/* ---- the KEM (RFC 9180 4.1), split from the key schedule ---- */

/*
 * Encap (skS NULL) or AuthEncap (skS the sender's key pair) to the
 * recipient's raw public key pkR. The ephemeral key is random, or, when
 * ikmE is not NULL, DeriveKeyPair(ikmE) (for the test vectors only: a
 * repeated ikmE repeats the key). Writes enc (*enc_len = Nenc) and the KEM
 * shared secret (Nsecret = VG_HPKE_SECRET_LEN bytes; the caller wipes it
 * after vg_hpke_context_new). On failure enc and shared_secret are wiped.
 * VG_ERR_INVALID: pkR invalid, skS of another type; VG_ERR_CRYPTO: the DH
 * failed (for X25519 also an all-zero result, RFC 9180 7.1.4).
 */
VG_NODISCARD vg_rc vg_hpke_encap(const vg_hpke_suite *suite, const uint8_t *pkR, size_t pkR_len,
				 struct evp_pkey_st *skS, const uint8_t *ikmE, size_t ikmE_len,
				 uint8_t enc[static VG_HPKE_MAX_ENC], size_t *enc_len,
				 uint8_t shared_secret[static VG_HPKE_SECRET_LEN]);
/*
 * Decap (pkS NULL) or AuthDecap (pkS the sender's raw public key) of enc
 * with the recipient's key pair skR: the side that holds the private key
 * (voxguardd). Errors as vg_hpke_encap; enc is attacker-controlled and
 * checked (length, point on the curve, all-zero X25519 output).
 */
VG_NODISCARD vg_rc vg_hpke_decap(const vg_hpke_suite *suite, const uint8_t *enc, size_t enc_len,
				 struct evp_pkey_st *skR, const uint8_t *pkS, size_t pkS_len,
				 uint8_t shared_secret[static VG_HPKE_SECRET_LEN]);

/* ---- the key schedule (RFC 9180 5.1) and the context ---- */

/*
 * KeySchedule<role>(mode, shared_secret, info, psk, psk_id): a new context
 * (callee-allocated; vg_hpke_context_free). psk and psk_id are both given
 * (psk modes) or both absent (NULL or length 0; base and auth modes),
 * psk at least VG_HPKE_MIN_PSK_LEN bytes (VerifyPSKInputs): VG_ERR_INVALID
 * otherwise. shared_secret_len must be Nsecret. The caller still owns and
 * wipes shared_secret.
 */
VG_NODISCARD vg_rc vg_hpke_context_new(const vg_hpke_suite *suite, vg_hpke_mode mode,
				       vg_hpke_role role, const uint8_t *shared_secret,
				       size_t shared_secret_len, const uint8_t *info,
				       size_t info_len, const uint8_t *psk, size_t psk_len,
				       const uint8_t *psk_id, size_t psk_id_len, vg_hpke_ctx **out);
/* NULL-safe; wipes key, base nonce, exporter secret; sets *ctx to NULL. */
void vg_hpke_context_free(vg_hpke_ctx **ctx);

/*
 * Seal (sender) of pt with aad at the context's sequence number, then the
 * number advances. *ct is callee-allocated (pt_len + VG_HPKE_TAG_LEN bytes;
 * vg_free). VG_ERR_INVALID on a recipient context; VG_ERR_UNSUPPORTED with
 * the export-only AEAD; VG_ERR_TOO_LARGE when the sequence number would
 * overflow (the context is spent: RFC 9180 5.2 MessageLimitReachedError)
 * or pt_len exceeds VG_HPKE_MAX_MSG.
 */
VG_NODISCARD vg_rc vg_hpke_seal(vg_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
				const uint8_t *pt, size_t pt_len, uint8_t **ct, size_t *ct_len);
/*
 * Open (recipient) of ct with aad at the context's sequence number; the
 * number advances only on success. *pt is callee-allocated (vg_free, it is
 * wiped). A ct that does not authenticate is VG_ERR_INTEGRITY with *pt NULL
 * and *pt_len 0: no plaintext is returned. Other errors as vg_hpke_seal.
 */
VG_NODISCARD vg_rc vg_hpke_open(vg_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
				const uint8_t *ct, size_t ct_len, uint8_t **pt, size_t *pt_len);
/* Context.Export(exporter_context, L) into out (L bytes, 1 <= L <= 255 *
 * Nh): either role, any AEAD. The caller wipes out. */
VG_NODISCARD vg_rc vg_hpke_export(const vg_hpke_ctx *ctx, const uint8_t *exporter_context,
				  size_t exporter_context_len, size_t L, uint8_t *out);
/* The sequence number of the next seal or open. */
uint64_t vg_hpke_context_seq(const vg_hpke_ctx *ctx);
/* Test hook: jumps the sequence number (the vectors skip numbers; the
 * overflow test starts near the end). Not for production use. */
VG_NODISCARD vg_rc vg_hpke_test_set_seq(vg_hpke_ctx *ctx, uint64_t seq);
/* Test hook: copies the key schedule's outputs (key: *nk bytes, 0 for
 * export-only; base_nonce; exporter_secret: *nh bytes) for the RFC 9180
 * vectors. VG_ERR_UNSUPPORTED for a platform context. Not for production. */
VG_NODISCARD vg_rc vg_hpke_test_secrets(const vg_hpke_ctx *ctx, uint8_t key[static 32], size_t *nk,
					uint8_t base_nonce[static VG_HPKE_NONCE_LEN],
					uint8_t exporter_secret[static 64], size_t *nh);

/* ---- one-shot set-up (RFC 9180 5.1.1 to 5.1.4): the seam ---- */

/*
 * SetupBaseS/SetupPSKS/SetupAuthS/SetupAuthPSKS: encapsulates to pkR and
 * runs the key schedule in one call. skS is required in the auth modes and
 * must be NULL otherwise. Uses the platform's HPKE where built with it and
 * it serves the suite and mode (hpke_platform.h), else the composed one.
 */
VG_NODISCARD vg_rc vg_hpke_setup_sender(const vg_hpke_suite *suite, vg_hpke_mode mode,
					const uint8_t *pkR, size_t pkR_len, struct evp_pkey_st *skS,
					const uint8_t *info, size_t info_len, const uint8_t *psk,
					size_t psk_len, const uint8_t *psk_id, size_t psk_id_len,
					uint8_t enc[static VG_HPKE_MAX_ENC], size_t *enc_len,
					vg_hpke_ctx **out);
/* SetupBaseR/...: decapsulates enc with skR and runs the key schedule. pkS
 * is required in the auth modes and must be NULL otherwise. */
VG_NODISCARD vg_rc vg_hpke_setup_recipient(const vg_hpke_suite *suite, vg_hpke_mode mode,
					   const uint8_t *enc, size_t enc_len,
					   struct evp_pkey_st *skR, const uint8_t *pkS,
					   size_t pkS_len, const uint8_t *info, size_t info_len,
					   const uint8_t *psk, size_t psk_len,
					   const uint8_t *psk_id, size_t psk_id_len,
					   vg_hpke_ctx **out);
/* "composed" or "openssl": which implementation serves ctx. */
const char *vg_hpke_context_backend(const vg_hpke_ctx *ctx);

#endif
