/*
 * tuf.h - The Update Framework (specification 1.0.x): metadata and the
 * trusted set of the client workflow (SFR 4.2.6, AVS 1.1).
 *
 * The metadata formats are those python-tuf, go-tuf and tuf-js write and
 * read: {"signed": {...}, "signatures": [{"keyid", "sig"}]}, signatures over
 * the canonical JSON of "signed" (common/canonjson.h), keys
 *   ed25519 / ed25519            keyval.public = 64 hex digits
 *   ecdsa | ecdsa-sha2-nistp256 / ecdsa-sha2-nistp256
 *                                keyval.public = PEM SubjectPublicKeyInfo,
 *                                signature DER over SHA-256
 *   rsa / rsassa-pss-sha256      keyval.public = PEM, PSS + MGF1-SHA-256
 * A key of another type or scheme is kept but can verify nothing.
 * Unknown fields are allowed (the specification says so) and are covered
 * by the signatures like any other.
 *
 * vg_tuf_set is the trusted metadata set of the detailed client workflow
 * (specification section 5), with no I/O: the updater (tuf_client.h) feeds
 * it bytes, in order, and persists what it accepts. Each update_* call:
 *   - parses strictly (types, version >= 1, "spec_version" 1.x, expiry
 *     format, unique keyids and signature keyids), bounded by the length
 *     the caller enforced while downloading;
 *   - verifies the threshold of signatures by the delegating role's keys
 *     (root: by the trusted root's keys and by the new root's own);
 *   - applies the version rules (root N+1 only; timestamp and snapshot
 *     never go back; snapshot and targets versions as the metadata above
 *     them says; no targets metadata dropped from a snapshot);
 *   - checks lengths and hashes where the metadata above lists them;
 *   - checks expiry against the update's fixed reference time.
 * An error leaves the set as it was, except where the workflow keeps a
 * signed file for rollback protection although it cannot be final: an
 * expired timestamp or snapshot (VG_ERR_STATE), and a snapshot whose
 * version is not the one the timestamp names (VG_ERR_ROLLBACK), as
 * python-tuf does. A targets role already trusted is trusted through
 * another delegator only if that delegation's keys sign it too.
 * why receives one line.
 */
#ifndef VG_UPDATE_TUF_H
#define VG_UPDATE_TUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "common/util.h"

#define VG_TUF_WHY_LEN 256

/* Default download limits (bytes), as python-tuf's. */
#define VG_TUF_ROOT_MAX      512000u
#define VG_TUF_TIMESTAMP_MAX 16384u
#define VG_TUF_SNAPSHOT_MAX  2000000u
#define VG_TUF_TARGETS_MAX   5000000u
#define VG_TUF_MAX_ROOT_ROTATIONS 32u
#define VG_TUF_MAX_DELEGATIONS    32u
#define VG_TUF_MAX_ROLES          256u /* delegated roles held at once */

typedef struct vg_tuf_set vg_tuf_set;

/* Starts from trusted root bytes (the provisioned or stored root.json),
 * checked for form and for its own signature threshold (not expiry: an
 * old root is how a device that slept for a year starts). now is the
 * update's reference time. */
VG_NODISCARD vg_rc vg_tuf_set_new(vg_tuf_set **out, const uint8_t *root, size_t len, time_t now,
				  char *why);
void vg_tuf_set_free(vg_tuf_set **s);

/* Root rotation: the next version, N+1 exactly. */
VG_NODISCARD vg_rc vg_tuf_update_root(vg_tuf_set *s, const uint8_t *data, size_t len, char *why);
/* After the root rotation: VG_ERR_STATE if the final root is expired. */
VG_NODISCARD vg_rc vg_tuf_check_root(const vg_tuf_set *s, char *why);

/* VG_ERR_EXISTS: the same version as the trusted one (keep using it). */
VG_NODISCARD vg_rc vg_tuf_update_timestamp(vg_tuf_set *s, const uint8_t *data, size_t len,
					   char *why);
/* trusted: local bytes already checked once (no length/hash check). */
VG_NODISCARD vg_rc vg_tuf_update_snapshot(vg_tuf_set *s, const uint8_t *data, size_t len,
					  bool trusted, char *why);
/* The top-level targets (delegator "root") or a delegated role. */
VG_NODISCARD vg_rc vg_tuf_update_targets(vg_tuf_set *s, const char *role, const char *delegator,
					 const uint8_t *data, size_t len, char *why);

/* What the trusted set says about the next download. */
uint64_t vg_tuf_root_version(const vg_tuf_set *s);
bool vg_tuf_consistent_snapshot(const vg_tuf_set *s);
bool vg_tuf_have(const vg_tuf_set *s, const char *role);
/* The snapshot's version and length (0: not given) from the timestamp. */
VG_NODISCARD vg_rc vg_tuf_snapshot_meta(const vg_tuf_set *s, uint64_t *version, uint64_t *length);
/* A targets role's version and length from the snapshot; VG_ERR_NOT_FOUND
 * when the snapshot does not list it. */
VG_NODISCARD vg_rc vg_tuf_role_meta(const vg_tuf_set *s, const char *role, uint64_t *version,
				    uint64_t *length);

/* The roles a targets role delegates target path to, in order, with their
 * terminating flags: *n entries (names point into the set). */
typedef struct vg_tuf_child {
	const char *name;
	bool terminating;
	char succinct_name[256]; /* storage for a succinct (hash-bin) role name */
} vg_tuf_child;
VG_NODISCARD vg_rc vg_tuf_children(const vg_tuf_set *s, const char *role, const char *path,
				   vg_tuf_child *out, size_t cap, size_t *n);

/* The target file info (length, hashes) role lists for path: borrowed
 * JSON object, or NULL. */
const json_t *vg_tuf_target_info(const vg_tuf_set *s, const char *role, const char *path);

/* Checks bytes against a TUF file info ("length", "hashes": sha256,
 * sha512; every listed hash must match, an unknown algorithm fails).
 * require: length and hashes must be present (targets). */
VG_NODISCARD vg_rc vg_tuf_check_file(const json_t *info, const uint8_t *data, size_t len,
				     bool require, char *why);

/* Whether doc (whole metadata) carries threshold-many valid signatures by
 * the keys (a "keys" object) that role_def (keyids, threshold) names:
 * VG_OK or VG_ERR_VERIFY_FAILED (why says how many verified). */
VG_NODISCARD vg_rc vg_tuf_check_signed(const json_t *doc, const json_t *keys,
				       const json_t *role_def, const char *name, char *why);

/* Percent-encodes a role name or target path for a file or URL name
 * (everything but A-Z a-z 0-9 - _ . ~), as python's quote(name, ""). */
VG_NODISCARD vg_rc vg_tuf_quote(const char *in, char *out, size_t cap);

/* Parses "YYYY-MM-DDTHH:MM:SSZ" (UTC); false if it is not exactly that. */
bool vg_tuf_parse_time(const char *s, time_t *out);

#endif
