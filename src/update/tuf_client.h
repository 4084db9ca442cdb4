/*
 * tuf_client.h - the TUF client workflow (specification 1.0.x, section 5)
 * over a metadata directory and a repository URL (SFR 4.2.6, AVS 1.1).
 *
 * vg_tuf_updater_open() loads the trusted root from METADATA_DIR/root.json
 * and fixes the update's reference time (time(), through libc, so faketime
 * works). vg_tuf_refresh() then runs, in order:
 *   root rotation: N.root.json for N = trusted+1 ... until 404/403, at most
 *     VG_TUF_MAX_ROOT_ROTATIONS, each signed by the old and the new keys;
 *     the final root must not be expired;
 *   timestamp: local timestamp.json (if it verifies) for rollback
 *     protection, then the remote one (at most VG_TUF_TIMESTAMP_MAX bytes);
 *   snapshot: the local one if it is still the one the timestamp names,
 *     else VERSION.snapshot.json (consistent snapshots) or snapshot.json,
 *     bounded by the length the timestamp gives;
 *   targets: likewise, from the snapshot.
 * Everything accepted is written to METADATA_DIR (non-versioned names,
 * atomically) before the next step. vg_tuf_find_target() walks the
 * delegation graph (pre-order, depth first, visited once, at most
 * VG_TUF_MAX_DELEGATIONS roles, terminating delegations stop the search),
 * loading delegated metadata the same way. vg_tuf_download_target()
 * fetches TARGET_BASE/PATH (with the hash prefix on the file name for
 * consistent snapshots), bounded by the listed length, checks length and
 * every hash, and writes it atomically to TARGET_DIR/quote(PATH), unless a
 * file with matching length and hashes is already there.
 */
#ifndef VG_UPDATE_TUF_CLIENT_H
#define VG_UPDATE_TUF_CLIENT_H

#include <stddef.h>

#include "update/tuf.h"

typedef struct vg_tuf_updater vg_tuf_updater;

VG_NODISCARD vg_rc vg_tuf_updater_open(vg_tuf_updater **out, const char *metadata_dir,
				       const char *metadata_url, char *why);

/* Where the trusted root is kept elsewhere (the update agent: in
 * voxguardd's sealed store, docs/UPDATE.md): starts from root bytes the
 * caller read there, and hands every root version the rotation accepts to
 * sink, in order, instead of writing METADATA_DIR/root.json (which is then
 * neither read nor written). An error from sink stops the refresh; why
 * then holds the sink's reason. */
typedef vg_rc (*vg_tuf_root_sink)(void *ctx, const uint8_t *root, size_t len, char *why);
VG_NODISCARD vg_rc vg_tuf_updater_open_root(vg_tuf_updater **out, const uint8_t *root,
					    size_t len, const char *metadata_dir,
					    const char *metadata_url, vg_tuf_root_sink sink,
					    void *ctx, char *why);
void vg_tuf_updater_close(vg_tuf_updater **u);

VG_NODISCARD vg_rc vg_tuf_refresh(vg_tuf_updater *u, char *why);

/* After a refresh: the target info (borrowed) or VG_ERR_NOT_FOUND. */
VG_NODISCARD vg_rc vg_tuf_find_target(vg_tuf_updater *u, const char *path, const json_t **info,
				      char *why);

/* out_path (if not NULL, 4096 bytes) receives where the file is. */
VG_NODISCARD vg_rc vg_tuf_download_target(vg_tuf_updater *u, const char *path,
					  const json_t *info, const char *target_base_url,
					  const char *target_dir, char *out_path, char *why);

/* HTTPS: check servers against the CA certificates in ca_file (PEM) only,
 * instead of the system's trust store (see fetch.h). */
VG_NODISCARD vg_rc vg_tuf_updater_set_ca_file(vg_tuf_updater *u, const char *ca_file);

/* The trusted set, for callers that read more (custom fields). */
const vg_tuf_set *vg_tuf_updater_set(const vg_tuf_updater *u);

#endif
