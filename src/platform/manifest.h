/*
 * manifest.h - the signed platform manifest (SFR 4.2.5 secure
 * initialization; SFR 4.2.1 platform identity; AVS 1.1).
 *
 * A manifest lists every software component of the platform -- name,
 * version, path (a file or a block device), size, digest (SHA-256, or a
 * Merkle root for large images: platform/measure.h) and signer (the
 * SHA-256 of the signing authority's public key, the PSA signer ID) --
 * with the platform's version and security version, and is signed by the
 * OEM release key over the canonical JSON (common/canonjson.h) of its
 * "signed" object. Format (docs/FORMATS.md, docs/SECURE_INIT.md):
 *
 *   {"signed": {"_type": "voxguard-platform-manifest", "format": 1,
 *               "platform": {"oem": .., "model": .., "hw_rev": ..},
 *               "version": "2026.11.0", "security_version": 3,
 *               "components": [{"name": .., "version": .., "path": "/..",
 *                               "size": N, "sha256": HEX | "merkle":
 *                               {"block_size": N, "root": HEX},
 *                               "signer": HEX}, ...]},
 *    "signatures": [{"keyid": HEX(SHA-256(SPKI DER)), "sig": HEX}]}
 *
 * Promises:
 *  - vg_manifest_parse() accepts exactly that shape and nothing else:
 *    unknown, duplicate, missing or mistyped fields, bad hex, relative or
 *    ".." paths, duplicate component names and oversize input
 *    (VG_MANIFEST_MAX_BYTES) are VG_ERR_INVALID with a reason in why;
 *    another "format" is VG_ERR_UNSUPPORTED. It never trusts a length.
 *  - vg_manifest_verify() is VG_OK only if a signature by the given key
 *    (P-256 ECDSA/SHA-256 DER or Ed25519) verifies over the canonical
 *    bytes; otherwise VG_ERR_VERIFY_FAILED.
 *  - vg_manifest_measure() measures every component (under an optional
 *    root prefix, for checking a staging tree on the build host) and says
 *    for each whether it matches, with a one-line reason when not.
 */
#ifndef VG_PLATFORM_MANIFEST_H
#define VG_PLATFORM_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "platform/measure.h"

#define VG_MANIFEST_TYPE           "voxguard-platform-manifest"
#define VG_MANIFEST_FORMAT         1
#define VG_MANIFEST_MAX_BYTES      (1u << 20)
#define VG_MANIFEST_MAX_COMPONENTS 16u /* all go in the token (VG_PSA_MAX_COMPONENTS) */
#define VG_MANIFEST_MAX_SIGS       8u
#define VG_MANIFEST_PATH_MAX       256u

typedef enum { VG_DIGEST_SHA256 = 1, VG_DIGEST_MERKLE = 2 } vg_digest_kind;

typedef struct vg_manifest_comp {
	char name[32];    /* the token's measurement type (a PSA sw component) */
	char version[32];
	char path[VG_MANIFEST_PATH_MAX];
	uint64_t size;
	vg_digest_kind kind;
	uint32_t block_size; /* merkle only */
	uint8_t digest[32];
	uint8_t signer[32]; /* all zero: to be filled by vg_manifest_sign() */
} vg_manifest_comp;

typedef struct vg_manifest_sig {
	uint8_t keyid[32];
	uint8_t sig[128];
	size_t sig_len;
} vg_manifest_sig;

typedef struct vg_manifest {
	char oem[64], model[64], hw_rev[32]; /* "" when the manifest has no "platform" */
	char version[64];
	uint64_t security_version;
	size_t n;
	vg_manifest_comp c[VG_MANIFEST_MAX_COMPONENTS];
	size_t n_sigs;
	vg_manifest_sig sigs[VG_MANIFEST_MAX_SIGS];
} vg_manifest;

#define VG_MANIFEST_WHY_LEN 200

/* Parses a manifest file's bytes into *m (caller-allocated, ~8 KiB). */
VG_NODISCARD vg_rc vg_manifest_parse(const uint8_t *buf, size_t len, vg_manifest *m, char *why);

/* The canonical JSON of the "signed" part, as signed (free()).
 * VG_ERR_INVALID if m breaks a rule the parser enforces (so nothing is
 * ever signed that a device would read differently or refuse). */
VG_NODISCARD vg_rc vg_manifest_signed_bytes(const vg_manifest *m, char **out, size_t *len);

/* The whole manifest as a JSON file (indented, signatures included; free()). */
VG_NODISCARD vg_rc vg_manifest_to_json(const vg_manifest *m, char **out, size_t *len);

/* keyid = SHA-256 of a DER SubjectPublicKeyInfo. */
VG_NODISCARD vg_rc vg_manifest_keyid(const uint8_t *spki, size_t len, uint8_t keyid[32]);

/* Signs with priv (P-256 or Ed25519): components without a signer get
 * this key's ID; a previous signature by the same key is replaced, others
 * are dropped (the signed bytes changed). */
VG_NODISCARD vg_rc vg_manifest_sign(vg_manifest *m, EVP_PKEY *priv);

/* VG_OK if some signature by spki (DER SubjectPublicKeyInfo) verifies. */
VG_NODISCARD vg_rc vg_manifest_verify(const vg_manifest *m, const uint8_t *spki, size_t len);

/*
 * Adds a component measured from source (a file or block device on this
 * machine) to be found at path on the device. merkle_block 0: SHA-256;
 * otherwise a Merkle root with that block size. signer may be NULL.
 */
VG_NODISCARD vg_rc vg_manifest_add(vg_manifest *m, const char *name, const char *version,
				   const char *path, const char *source, uint32_t merkle_block,
				   const uint8_t signer[32], char *why);

typedef struct vg_component_result {
	vg_rc rc;           /* VG_OK: matches; VG_ERR_INTEGRITY: differs; ... */
	uint8_t measured[32]; /* what was measured (zero if nothing could be) */
	char why[VG_MEASURE_WHY_LEN];
} vg_component_result;

/* Measures every component of m (paths under root when root is not NULL
 * or ""), res[i] for m->c[i]. Returns how many failed. */
size_t vg_manifest_measure(const vg_manifest *m, const char *root, vg_component_result *res);

/* Strings in a manifest: 1..cap-1 bytes, printable ASCII, no '"' or '\\'. */
bool vg_manifest_text_ok(const char *s, size_t cap);

#endif
