/*
 * psa_token.h - PSA attestation tokens (SFR 4.2.3, attestation of
 * genuineness): RFC 9783, "Arm's Platform Security Architecture (PSA)
 * Attestation Token".
 *
 * A token is a tagged (18) COSE_Sign1 (RFC 9052) over a CBOR claims map,
 * protected header {1: -7} (ES256: ECDSA P-256 with SHA-256), empty
 * unprotected header, signature the 64-byte raw r||s. Definite lengths
 * only. docs/ATTESTATION.md describes the format and what verification
 * checks.
 *
 * The encoder signs through a callback, so the attestation key never
 * leaves the keystore. The verifier is offline (no daemon, no state) and
 * thread-safe; a fleet back end calls it once per token. It allocates only
 * through libcbor's decoder and OpenSSL's key parsing.
 *
 * Claim keys (RFC 9783 section 4 and Table 1, "Claim Key Mappings"):
 *
 *   claim                   tfm (RFC 9783)  http://arm.com/psa/2.0.0  PSA_IOT_PROFILE_1
 *   nonce                   10              10                        -75008
 *   instance ID (ueid)      256             256                       -75009
 *   profile                 265             265                       -75000
 *   client ID               2394            2394                      -75001
 *   security lifecycle      2395            2395                      -75002
 *   implementation ID       2396            2396                      -75003
 *   boot seed               268             2397                      -75004
 *   certification ref.      2398            2398                      -75005 (hw version)
 *   software components     2399            2399                      -75006
 *   no SW measurements      -               -                         -75007
 *   verification service    2400            2400                      -75010
 */
#ifndef VG_PSA_TOKEN_H
#define VG_PSA_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "voxguard/voxguard.h"

#define VG_PSA_PROFILE_RFC9783_NAME   "tag:psacertified.org,2023:psa#tfm"
#define VG_PSA_PROFILE_PSA_2_0_0_NAME "http://arm.com/psa/2.0.0"
#define VG_PSA_PROFILE_IOT_1_NAME     "PSA_IOT_PROFILE_1"

#define VG_PSA_INSTANCE_ID_LEN 33u /* 0x01 (UEID type RAND) || SHA-256 */
#define VG_PSA_IMPL_ID_LEN     32u
#define VG_PSA_MAX_HASH        64u /* psa-hash-type: 32, 48 or 64 bytes */
#define VG_PSA_MAX_BOOT_SEED   32u
#define VG_PSA_MAX_COMPONENTS  48u /* the manifest's 16, the manifest, 24 PCRs */
#define VG_PSA_ES256_SIG_LEN   64u
/* Larger tokens are refused before any parsing. */
#define VG_PSA_MAX_TOKEN 8192u

/* Security lifecycle major states (value & 0xff00; RFC 9783 section 4.3.1). */
#define VG_PSA_LC_UNKNOWN               0x0000u
#define VG_PSA_LC_ASSEMBLY_AND_TEST     0x1000u
#define VG_PSA_LC_PSA_ROT_PROVISIONING  0x2000u
#define VG_PSA_LC_SECURED               0x3000u
#define VG_PSA_LC_NON_PSA_ROT_DEBUG     0x4000u
#define VG_PSA_LC_RECOVERABLE_ROT_DEBUG 0x5000u
#define VG_PSA_LC_DECOMMISSIONED        0x6000u

/* One entry of the software components claim. Text is UTF-8, NUL-ended,
 * "" when absent. */
typedef struct vg_psa_sw_component {
	char measurement_type[32]; /* 1, optional: "BL", "PRoT", "ARoT", "App", ... */
	uint8_t measurement[VG_PSA_MAX_HASH];
	size_t measurement_len; /* 2, mandatory: 32, 48 or 64 */
	char version[32];       /* 4, optional */
	uint8_t signer_id[VG_PSA_MAX_HASH];
	size_t signer_id_len;      /* 5: 32, 48 or 64; mandatory except PSA_IOT_PROFILE_1 */
	char measurement_desc[32]; /* 6, optional: hash name, e.g. "sha-256" */
} vg_psa_sw_component;

typedef struct vg_psa_claims {
	char profile[64]; /* as in the token; the encoder writes the RFC 9783 one */
	uint8_t nonce[VG_PSA_MAX_HASH];
	size_t nonce_len; /* 32, 48 or 64 */
	uint8_t instance_id[VG_PSA_INSTANCE_ID_LEN];
	uint8_t implementation_id[VG_PSA_IMPL_ID_LEN];
	uint32_t lifecycle; /* a VG_PSA_LC_* major state | implementation minor */
	uint8_t boot_seed[VG_PSA_MAX_BOOT_SEED];
	size_t boot_seed_len;             /* 0 = absent; else 8..32 (exactly 32 in IOT_1) */
	int32_t client_id;                /* not 0: < 0 non-secure caller, > 0 secure */
	char certification_reference[32]; /* optional: EAN-13 "-" 5 digits */
	char verification_service[128];   /* optional */
	vg_psa_sw_component components[VG_PSA_MAX_COMPONENTS];
	size_t n_components;     /* >= 1, except IOT_1 with no_sw_measurements */
	bool no_sw_measurements; /* PSA_IOT_PROFILE_1 claim -75007 (decode only) */
} vg_psa_claims;

typedef enum vg_psa_profile {
	VG_PSA_PROFILE_RFC9783 = 1, /* tag:psacertified.org,2023:psa#tfm */
	VG_PSA_PROFILE_PSA_2_0_0,   /* http://arm.com/psa/2.0.0 (TF-M, older) */
	VG_PSA_PROFILE_IOT_1,       /* PSA_IOT_PROFILE_1 (legacy, keys -75000...) */
} vg_psa_profile;

/* The profile's claim value; "unknown" for anything else. */
const char *vg_psa_profile_name(vg_psa_profile p);
/* "secured", "non-psa-rot-debug", ...; "invalid" outside the defined ranges. */
const char *vg_psa_lifecycle_name(uint32_t lifecycle);

/*
 * Signs tbs (the COSE Sig_structure) with ECDSA P-256 over SHA-256 and
 * returns a callee-allocated DER ECDSA-Sig-Value in *der_sig, which the
 * encoder releases with vg_free(). vg_keystore_sign() has this shape.
 */
typedef vg_rc (*vg_psa_sign_fn)(void *ctx, const uint8_t *tbs, size_t len, uint8_t **der_sig,
				size_t *der_len);

/*
 * Encodes c as an RFC 9783 token (profile tag:psacertified.org,2023:psa#tfm)
 * and signs it through sign(ctx, ...). c->profile must be "" or that
 * profile; no_sw_measurements must be false. The claims are checked first:
 * VG_ERR_INVALID (nothing signed) if they are not well-formed per RFC 9783.
 * A signature that is not valid DER is VG_ERR_CRYPTO; the callback's own
 * error is returned as is. On success *token is callee-allocated (free with
 * vg_free(*token, *len)); on failure *token is NULL and *len 0.
 */
VG_NODISCARD vg_rc vg_psa_token_encode(const vg_psa_claims *c, vg_psa_sign_fn sign, void *ctx,
				       uint8_t **token, size_t *len);

/*
 * The instance ID of an attestation key: 0x01 || SHA-256(0x04 || x || y),
 * from its SubjectPublicKeyInfo (DER). VG_ERR_INVALID unless an EC P-256
 * public key.
 */
VG_NODISCARD vg_rc vg_psa_instance_id(const uint8_t *pub_der, size_t len,
				      uint8_t out[static VG_PSA_INSTANCE_ID_LEN]);

typedef struct vg_psa_verify_opts {
	const uint8_t *nonce; /* if set: the token's nonce must equal it */
	size_t nonce_len;     /* 32, 48 or 64, else VG_ERR_INVALID */
	/* If set: every software component of the token must match one entry:
	 * same measurement (and signer ID, type, version, description when the
	 * entry has them). Entries not present in the token are fine. */
	const vg_psa_sw_component *reference;
	size_t n_reference;
	/* Require instance ID == vg_psa_instance_id(key) (voxguard tokens do;
	 * the RFC 9783 examples do not). */
	bool bind_instance_id;
	/* Bit (1u << vg_psa_profile) per accepted profile; 0 accepts all three. */
	unsigned profiles;
} vg_psa_verify_opts;

/*
 * Verifies token against the attestation public key pub_der
 * (SubjectPublicKeyInfo DER, EC P-256), in this order: envelope, ES256
 * signature over the Sig_structure, claims well-formed per the token's
 * profile, then the options (opts may be NULL).
 *
 *   VG_OK                 valid; *out (if out) holds the claims, *profile
 *                         (if profile) the profile.
 *   VG_ERR_VERIFY_FAILED  bad signature, nonce mismatch, reference mismatch,
 *                         claims not well-formed, unknown or unaccepted
 *                         profile, instance ID not bound to the key.
 *   VG_ERR_PROTOCOL       not a decodable definite-length COSE_Sign1 (also
 *                         trailing bytes, an undecodable payload).
 *   VG_ERR_TOO_LARGE      token above VG_PSA_MAX_TOKEN, or more components
 *                         or longer text than vg_psa_claims holds.
 *   VG_ERR_UNSUPPORTED    a COSE_Mac0 token (HMAC keys are out of scope) or
 *                         an algorithm other than ES256.
 *   VG_ERR_INVALID        bad arguments or key, opts->nonce of a bad length.
 * On failure *out is zeroed and why (if why_len > 0) says in one line what
 * failed; it never echoes token bytes.
 */
VG_NODISCARD vg_rc vg_psa_token_verify(const uint8_t *token, size_t len, const uint8_t *pub_der,
				       size_t pub_len, const vg_psa_verify_opts *opts,
				       vg_psa_claims *out, vg_psa_profile *profile, char *why,
				       size_t why_len);

/*
 * Decodes a COSE_Sign1 or COSE_Mac0 token and checks its claims are
 * well-formed, WITHOUT checking any signature or MAC: for display, and for
 * a back end to find the instance ID (hence the key) before calling
 * vg_psa_token_verify(). Never trust the result. Same codes as verify,
 * minus the cryptographic ones.
 */
VG_NODISCARD vg_rc vg_psa_token_decode(const uint8_t *token, size_t len, vg_psa_claims *out,
				       vg_psa_profile *profile, char *why, size_t why_len);

/*
 * Writes c as one JSON object (binary claims in lower-case hex, lifecycle
 * as number and name, absent optional claims left out) and a newline.
 * VG_ERR_IO if writing fails.
 */
VG_NODISCARD vg_rc vg_psa_claims_to_json(const vg_psa_claims *c, vg_psa_profile p, FILE *f);

#endif
