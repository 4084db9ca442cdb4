/*
 * secinit.h - secure initialization: measured launch against the signed
 * platform manifest (SFR 4.2.5; threat A.3.3 firmware abuse).
 *
 * vg_secinit_check() decides the platform state from what is on the
 * device now:
 *  - VG_PLATFORM_UNVERIFIED: no release key was provisioned (a development
 *    device, or before the factory step). Nothing is checked; the service
 *    runs normally and says so in status and identity.
 *  - VG_PLATFORM_NORMAL: the manifest at the configured path is signed by
 *    the provisioned release key, is for this product (oem, model,
 *    hw_rev when it names them), its security version is not below the
 *    device's minimum, and every component it lists measures as listed.
 *  - VG_PLATFORM_RECOVERY: anything else, fail closed -- a release key
 *    without a manifest, an unreadable, malformed, unsigned, foreign or
 *    downgraded manifest, a missing, changed or resized component. The
 *    reason names the first failure; res[] says it for every component.
 * The report's components carry what was measured (not what the manifest
 * claims), so an attestation token shows a failure to its verifier.
 */
#ifndef VG_PLATFORM_SECINIT_H
#define VG_PLATFORM_SECINIT_H

#include <stddef.h>
#include <stdint.h>

#include "platform/manifest.h"

typedef enum {
	VG_PLATFORM_UNVERIFIED = 0,
	VG_PLATFORM_NORMAL = 1,
	VG_PLATFORM_RECOVERY = 2,
} vg_platform_state;

typedef struct vg_secinit_report {
	vg_platform_state state;
	char reason[VG_MANIFEST_WHY_LEN]; /* "" in the normal state */
	bool manifest_ok;                 /* signature, product and version checked */
	char version[64];                 /* the manifest's platform version */
	uint64_t security_version;
	uint8_t manifest_digest[32]; /* SHA-256 of the manifest file */
	uint8_t release_keyid[32];
	size_t n;
	vg_manifest_comp comp[VG_MANIFEST_MAX_COMPONENTS];
	vg_component_result res[VG_MANIFEST_MAX_COMPONENTS];
} vg_secinit_report;

typedef struct vg_secinit_input {
	const char *manifest_path; /* "" or NULL: none configured */
	const char *root;          /* prefix for component paths: "" on a device */
	const uint8_t *release_key; /* DER SubjectPublicKeyInfo; NULL: none provisioned */
	size_t release_key_len;
	const char *oem, *model, *hw_rev; /* the provisioned product, NULL if not yet */
	uint64_t min_security_version;
} vg_secinit_input;

/* Fills *out (large: allocate it). Returns VG_OK whatever the state; an
 * error only for out of memory. */
VG_NODISCARD vg_rc vg_secinit_check(const vg_secinit_input *in, vg_secinit_report *out);

const char *vg_platform_state_name(vg_platform_state s);

#endif
