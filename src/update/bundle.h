/*
 * bundle.h - update bundles: signed, chunk-hashed images, installed by
 * streaming with every chunk verified before it reaches the slot
 * (SFR 4.2.6 integrity and authenticity, AVS 1.1).
 *
 * Format 1 (docs/FORMATS.md), big-endian:
 *   "VGBUNDL1" | u32 manifest length M (<= VG_BUNDLE_MAX_MANIFEST)
 *   | manifest (M bytes of JSON) | payload
 * The manifest is {"signed": SIGNED, "signatures": [{"keyid", "sig"}]}
 * with SIGNED = {"_type": "voxguard-bundle", "format": 1,
 *   "platform": {"oem", "model", "hw_rev"} (optional), "version",
 *   "security_version", "chunk_size" (2^k, 4 KiB..16 MiB),
 *   "images": [{"name", "size", "sha256", "chunks": [SHA-256 per chunk]}]}
 * signed by the OEM release key (as the platform manifest: keyid = SHA-256
 * of the SPKI DER; P-256 ECDSA/SHA-256 or Ed25519) over its canonical
 * JSON. The payload is the images in order, each cut into chunk_size
 * chunks (the last one short); its length must be exactly the sum of the
 * sizes: no trailing bytes.
 *
 * Promises:
 *  - vg_bundle_open() reads and checks only the header and the manifest
 *    (bounded), the signature, the product and the security version;
 *  - vg_bundle_install() streams one image into a slot (file or block
 *    device): each chunk is read into one buffer and hashed, and written
 *    only if its hash is the signed one, so at most the verified chunks
 *    before a bad one ever reach the slot, and nothing of the bad one;
 *    memory stays one chunk whatever the image size; sizes are 64-bit;
 *    the slot is fsync()ed before success;
 *  - a NULL slot verifies without writing (`voxguard bundle verify`).
 *
 * Format 2 (encrypted payload, SFR 4.2.6 confidentiality) adds to SIGNED
 *   "encryption": {"alg": "A256GCM", "key_alg": VG_BUNDLE_KEY_ALG,
 *     "recipients": [{"kid", "epk", "wrapped"}]}   (hex; 1..16 recipients)
 * A fresh random 256-bit content key (CEK) encrypts each chunk on its own
 * with AES-256-GCM, nonce = u32 image index || u64 chunk index (big-endian;
 * unique because the CEK is never reused), and the stored chunk is the
 * ciphertext then its 16-byte tag. The CEK is wrapped for each recipient's
 * P-256 public key (a device's update key, or a fleet key) as in
 * crypto/wrap.h; kid names that key. The signature covers the recipients,
 * the chunk hashes are of the plaintext: a chunk is written only when it
 * decrypts under the CEK *and* its plaintext has the signed hash.
 *
 * Resume (vg_bundle_install_ex with resume): the slot's leading chunks that
 * already have their signed hashes are kept and writing starts at the first
 * that does not, so an install cut by a power loss continues from its last
 * verified chunk; a torn chunk fails its hash and is written again.
 */
#ifndef VG_UPDATE_BUNDLE_H
#define VG_UPDATE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/util.h"

#define VG_BUNDLE_MAGIC        "VGBUNDL1"
#define VG_BUNDLE_MAX_MANIFEST (4u << 20)
#define VG_BUNDLE_MAX_IMAGES   8u
#define VG_BUNDLE_WHY_LEN      256
#define VG_BUNDLE_MAX_RECIPIENTS 16u
#define VG_BUNDLE_KEY_ALG      "ECDH-ES+HKDF-SHA256+A256KW"

typedef struct vg_bundle vg_bundle;

typedef struct vg_bundle_policy {
	const uint8_t *release_key; /* DER SubjectPublicKeyInfo */
	size_t release_key_len;
	const char *oem, *model, *hw_rev; /* NULL: not checked */
	uint64_t min_security_version;
	/* Format 2: the content key, when the caller already has it (the
	 * update agent gets it from the service); else unwrap() is asked for
	 * each recipient in turn (VG_ERR_NOT_FOUND: not one of this device's
	 * keys) and must write the 32-byte key into cek. Neither: an encrypted
	 * bundle is refused with VG_ERR_DENIED. */
	const uint8_t *cek;
	vg_rc (*unwrap)(void *ctx, const uint8_t kid[32], const uint8_t *epk, size_t epk_len,
			const uint8_t wrapped[40], uint8_t cek[32]);
	void *unwrap_ctx;
} vg_bundle_policy;

typedef struct vg_bundle_image_info {
	char name[32];
	uint64_t size;
	uint8_t sha256[32];
	uint64_t n_chunks;
} vg_bundle_image_info;

/* Opens a bundle file. VG_ERR_VERIFY_FAILED (signature), VG_ERR_STATE
 * (another product), VG_ERR_ROLLBACK (security version below the
 * minimum), VG_ERR_INVALID (malformed), VG_ERR_UNSUPPORTED (format). */
VG_NODISCARD vg_rc vg_bundle_open(vg_bundle **out, const char *path, const vg_bundle_policy *p,
				  char *why);
void vg_bundle_close(vg_bundle **b);
/* The header's manifest bytes (callee-allocated, free()), unverified: what
 * the update agent hands to the service to decide on. */
VG_NODISCARD vg_rc vg_bundle_read_manifest(const char *path, uint8_t **m, size_t *len, char *why);
/* Opens manifest bytes alone, with the same checks as vg_bundle_open (the
 * service's view: there is no payload to install from). */
VG_NODISCARD vg_rc vg_bundle_open_manifest(vg_bundle **out, const uint8_t *m, size_t len,
					   const vg_bundle_policy *p, char *why);
/* SHA-256 of the manifest bytes: names this bundle (resume, audit). */
void vg_bundle_id(const vg_bundle *b, uint8_t id[static 32]);
bool vg_bundle_encrypted(const vg_bundle *b);
/* Copies the content key of an encrypted bundle; false when plain. */
bool vg_bundle_cek(const vg_bundle *b, uint8_t cek[static 32]);

const char *vg_bundle_version(const vg_bundle *b);
uint64_t vg_bundle_security_version(const vg_bundle *b);
size_t vg_bundle_n_images(const vg_bundle *b);
const vg_bundle_image_info *vg_bundle_image(const vg_bundle *b, size_t i);

/* Progress: bytes verified (and written) so far of total. */
typedef void (*vg_bundle_progress)(void *ctx, uint64_t done, uint64_t total);

/* Streams image name into slot (NULL: verify only). *written (if not
 * NULL) receives how many bytes reached the slot, success or not. */
VG_NODISCARD vg_rc vg_bundle_install(vg_bundle *b, const char *name, const char *slot,
				     vg_bundle_progress cb, void *ctx, uint64_t *written,
				     char *why);

typedef struct vg_bundle_install_opts {
	bool resume; /* keep the slot's leading chunks that verify */
	vg_bundle_progress progress;
	void *ctx;
	/* Tests only: behave as a power cut once this many bytes have reached
	 * the slot (the last write torn in half); 0: never. */
	uint64_t fault_after;
} vg_bundle_install_opts;
typedef struct vg_bundle_install_result {
	uint64_t written; /* bytes written to the slot by this call */
	uint64_t resumed; /* bytes found already verified in the slot */
} vg_bundle_install_result;
VG_NODISCARD vg_rc vg_bundle_install_ex(vg_bundle *b, const char *name, const char *slot,
					const vg_bundle_install_opts *o,
					vg_bundle_install_result *res, char *why);

/* Host side: writes a bundle of n images (names[i] from files[i]) signed
 * with priv. */
typedef struct vg_bundle_spec {
	const char *version;
	uint64_t security_version;
	const char *oem, *model, *hw_rev; /* all or none */
	uint32_t chunk_size;              /* 0: 1 MiB */
	size_t n;
	const char *names[VG_BUNDLE_MAX_IMAGES];
	const char *files[VG_BUNDLE_MAX_IMAGES];
	/* Format 2 when n_recipients > 0: P-256 public keys to encrypt for. */
	size_t n_recipients;
	EVP_PKEY *recipients[VG_BUNDLE_MAX_RECIPIENTS];
} vg_bundle_spec;
VG_NODISCARD vg_rc vg_bundle_create(const char *out, const vg_bundle_spec *s, EVP_PKEY *priv,
				    char *why);

#endif
