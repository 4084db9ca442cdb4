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
 * Encryption (AES-256-GCM payloads), A/B switching and resume are the next
 * steps of issue #4 and are not in format 1.
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

typedef struct vg_bundle vg_bundle;

typedef struct vg_bundle_policy {
	const uint8_t *release_key; /* DER SubjectPublicKeyInfo */
	size_t release_key_len;
	const char *oem, *model, *hw_rev; /* NULL: not checked */
	uint64_t min_security_version;
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
} vg_bundle_spec;
VG_NODISCARD vg_rc vg_bundle_create(const char *out, const vg_bundle_spec *s, EVP_PKEY *priv,
				    char *why);

#endif
