/*
 * tuf_repo.h - writing TUF metadata (specification 1.0.x), for the
 * repository side (`voxguard repo`) and for tests: key objects and key IDs
 * as python-tuf computes them, new metadata skeletons, file info, and
 * signatures over the canonical JSON of "signed".
 *
 * Keys: Ed25519 ({"keytype": "ed25519", "scheme": "ed25519", "keyval":
 * {"public": hex}}) and ECDSA P-256 ({"keytype": "ecdsa", "scheme":
 * "ecdsa-sha2-nistp256", "keyval": {"public": PEM}}, DER signatures). The
 * key ID is the SHA-256 of the key object's canonical JSON.
 */
#ifndef VG_UPDATE_TUF_REPO_H
#define VG_UPDATE_TUF_REPO_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/util.h"

#define VG_TUF_SPEC_VERSION "1.0.31"

/* NULL for another key type. */
json_t *vg_tuf_key_new(EVP_PKEY *pk);
VG_NODISCARD vg_rc vg_tuf_keyid(const json_t *key, char id[65]);

/* {"signed": {"_type": type, "spec_version", "version", "expires"},
 *  "signatures": []} */
json_t *vg_tuf_meta_new(const char *type, uint64_t version, time_t expires);
void vg_tuf_format_time(time_t t, char out[21]);

/* {"length": n, "hashes": {"sha256": ..}} and, when version > 0,
 * {"version": version, ...} (a MetaFile). */
json_t *vg_tuf_fileinfo(const uint8_t *p, size_t n, uint64_t version);

/* Adds (or replaces) the signature of priv, whose key ID is keyid. */
VG_NODISCARD vg_rc vg_tuf_sign(json_t *doc, EVP_PKEY *priv, const char *keyid);

/* The metadata's bytes as written to a repository (indented JSON). */
VG_NODISCARD vg_rc vg_tuf_dump(const json_t *doc, char **out, size_t *len);

#endif

/*
 * A repository in a directory (`voxguard repo`, docs/UPDATE.md):
 *   DIR/metadata/  what is served: N.root.json (every version), root.json,
 *                  timestamp.json, N.snapshot.json, N.targets.json
 *   DIR/targets/   what is served: [subdir/]SHA256.name (consistent
 *                  snapshots)
 *   DIR/staged/    root.json and targets.json being prepared and signed
 *                  (the root and targets keys can stay offline: sign
 *                  anywhere, copy the file back)
 * Publishing checks every threshold, writes the new files into a copy of
 * the metadata (DIR/.publish.XXXXXX), reads that copy back with the client
 * (tuf_client.h), and only then renames the new files into DIR/metadata,
 * the timestamp last: a repository that a device would refuse is never
 * published, and a client never sees a timestamp before its snapshot.
 */
#define VG_TUF_ROLES 4 /* root, timestamp, snapshot, targets */

typedef struct vg_tuf_repo_init_opts {
	EVP_PKEY *keys[VG_TUF_ROLES][8]; /* public keys per role, order above */
	size_t n_keys[VG_TUF_ROLES];
	unsigned threshold[VG_TUF_ROLES]; /* 0: 1 */
	unsigned expires_days[VG_TUF_ROLES]; /* 0: 365, 1, 7, 90 */
} vg_tuf_repo_init_opts;

VG_NODISCARD vg_rc vg_tuf_repo_init(const char *dir, const vg_tuf_repo_init_opts *o, char *why);
/* Adds (or replaces) target name with the bytes of file src. */
VG_NODISCARD vg_rc vg_tuf_repo_add(const char *dir, const char *name, const char *src,
				   char *why);
/* Signs staged/ROLE.json (root or targets) with priv. */
VG_NODISCARD vg_rc vg_tuf_repo_sign(const char *dir, const char *role, EVP_PKEY *priv, char *why);
/* Root changes: a new root version (expiry renewed, signatures cleared)
 * adding or removing a key of a role, or setting its threshold. */
VG_NODISCARD vg_rc vg_tuf_repo_root_key(const char *dir, const char *role, EVP_PKEY *add,
					const char *remove_keyid, unsigned threshold,
					unsigned expires_days, char *why);
/* Publishes staged root and targets (when newer and signed to threshold),
 * then a new snapshot and timestamp; checks the result as a client. */
VG_NODISCARD vg_rc vg_tuf_repo_publish(const char *dir, EVP_PKEY *snapshot_key,
				       EVP_PKEY *timestamp_key, unsigned snapshot_days,
				       unsigned timestamp_days, char *why);
/* A new timestamp only (the periodic job against freeze attacks). */
VG_NODISCARD vg_rc vg_tuf_repo_expire(const char *dir, EVP_PKEY *timestamp_key,
				      unsigned timestamp_days, char *why);
