/*
 * db.h - the one SQLite database under the secure store and the audit log,
 * and its binding to the root of trust (rollback detection).
 *
 * The database (state-dir/voxguard.db) runs in WAL mode with
 * synchronous=FULL, so a commit that returned survives a power cut, and
 * with secure_delete on. Modules keep their tables in it and publish small
 * "anchors" (a digest of what they hold: the store's record-set digest, the
 * audit log's head) through vg_db_anchor_set() inside a transaction.
 *
 * Every commit (vg_db_commit) raises the database's commit counter by one
 * and rewrites the meta table: commit counter, epoch and all anchors under
 * an HMAC keyed from the root of trust. The epoch binds the database to the
 * root of trust's monotonic counter R: every commit is stamped with epoch
 * R+1, and after it the RoT counter is advanced to R+1 -- in the commit
 * itself when rot_sync_ms is 0, otherwise at most rot_sync_ms later
 * (vg_db_rot_sync, called by the event loop and at close). So the RoT only
 * ever steps by one (all a TPM NV counter can do) and at most once per
 * window, however many commits the window holds. The delay batches RoT
 * writes (an fsync on the file backend, an NV write with limited endurance
 * on a TPM); its cost is a window: a copy of the database taken less than
 * rot_sync_ms before a power cut can be restored undetected. At open:
 *   - meta MAC bad or missing (with data present)  -> VG_ERR_INTEGRITY;
 *   - db epoch <  RoT counter                       -> VG_ERR_ROLLBACK
 *     (an older copy of the database was restored);
 *   - db epoch >= RoT counter                       -> fine (equal, or the
 *     crash window between the two writes; the RoT is advanced).
 * In those two error states vg_db_open still returns a handle (so status and
 * audit keep working) and vg_db_state() reports why the data is refused.
 */
#ifndef VG_DB_H
#define VG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "rot/rot.h"
#include "storage/reserve.h"
#include "voxguard/voxguard.h"

#define VG_DB_FILE    "voxguard.db"
#define VG_ANCHOR_MAX 64u

typedef struct vg_db vg_db;

VG_NODISCARD vg_rc vg_db_open(vg_db **out, const char *path, vg_rot *rot);
void vg_db_close(vg_db **db);

sqlite3 *vg_db_handle(vg_db *db);
vg_rot *vg_db_rot(vg_db *db);
/* VG_OK, VG_ERR_ROLLBACK or VG_ERR_INTEGRITY (see above). */
vg_rc vg_db_state(const vg_db *db);
/* A module found its own content inconsistent with its anchor. */
void vg_db_set_state(vg_db *db, vg_rc state);
/* A factory reset from a refused state (SFR 4.2.12; only through
 * vg_secstore_accept): the database is taken as the device's from now on.
 * The state becomes VG_OK, the commit counter at least min_counter, and
 * the next commit rewrites the meta under the RoT's current counter; the
 * modules must re-publish their anchors in it. */
void vg_db_accept(vg_db *db, uint64_t min_counter);
uint64_t vg_db_counter(const vg_db *db);
/* The RoT counter value the committed state is bound to (see above). */
uint64_t vg_db_epoch(const vg_db *db);

/* BEGIN IMMEDIATE; nested calls are errors. */
VG_NODISCARD vg_rc vg_db_begin(vg_db *db);
/* Counter+1, meta rewrite, COMMIT, RoT advance. On failure the transaction
 * is rolled back and in-memory anchors restored. */
VG_NODISCARD vg_rc vg_db_commit(vg_db *db);
void vg_db_rollback(vg_db *db);
bool vg_db_in_tx(const vg_db *db);

/* Anchors: name (<= 31 chars) -> up to VG_ANCHOR_MAX bytes. Set only inside
 * a transaction; get returns VG_ERR_NOT_FOUND when never set. */
VG_NODISCARD vg_rc vg_db_anchor_set(vg_db *db, const char *name, const uint8_t *val, size_t len);
VG_NODISCARD vg_rc vg_db_anchor_get(const vg_db *db, const char *name, uint8_t *val, size_t cap,
				    size_t *len);

/* Sets the RoT batching window (0 = advance the RoT in every commit). */
void vg_db_set_rot_sync_ms(vg_db *db, uint32_t ms);
/* Advances the RoT counter to the committed epoch if one is pending and
 * the window has passed (or force). Not forced, it does not wait for the
 * RoT (vg_rot_counter_start): the advance is confirmed by a later call,
 * and VG_OK means started or done. Forced, it waits (bounded by the RoT's
 * rot_timeout_ms). */
VG_NODISCARD vg_rc vg_db_rot_sync(vg_db *db, bool force);
/* Milliseconds until a pending RoT advance is due, 0 if due now, -1 if
 * none is pending (for the event loop's timeout). After a failed advance
 * the next is due no sooner than VG_DB_ROT_RETRY_MS (or the window, if
 * longer): a root of trust that does not answer fails every call at once
 * (rot/rot.h, Time), and the loop must not spin on it. While it fails,
 * commits still go in and the RoT lags: a copy of the database taken
 * since the last advance can be restored undetected (the window above,
 * widened by the outage; docs/TPM2.md). */
int vg_db_rot_sync_due_ms(const vg_db *db);
#define VG_DB_ROT_RETRY_MS 1000u
/* An advance under way (vg_rot_counter_start) is looked at again this
 * much later. */
#define VG_DB_ROT_POLL_MS 5u
/* The RoT counter as last read or advanced by this handle: no RoT call. */
uint64_t vg_db_rot_value(const vg_db *db);

/* Checkpoints the WAL and truncates it, so that deleted or superseded
 * secrets do not linger in the WAL file (secure_delete does not cover it). */
VG_NODISCARD vg_rc vg_db_scrub(vg_db *db);

/* Runs one SQL statement with no result rows (schema, pragmas). */
VG_NODISCARD vg_rc vg_db_exec(vg_db *db, const char *sql);

/*
 * A full disk (storage/reserve.h). With a reserve set (not owned; NULL
 * for none), a write that fails for lack of space (SQLITE_FULL) releases
 * the ballast, unless relief is off (an application's write: it must not
 * take the service's reserve). SQLite rolls such a transaction back, so
 * the operation itself is redone: modules call vg_db_space_released()
 * after a failed operation and redo it once when it says true.
 */
void vg_db_set_reserve(vg_db *db, vg_reserve *r);
vg_reserve *vg_db_reserve(vg_db *db);
/* Off while an application's write runs; returns the previous setting. */
bool vg_db_set_relief(vg_db *db, bool on);
/* After a failed statement run outside vg_db_exec (sqlite3_step): looks
 * at the connection's last error, as vg_db_exec and vg_db_commit do. */
void vg_db_note_failure(vg_db *db);
/* True (once) when a write failed for lack of space and the ballast was
 * released since the last call: the failed operation may be redone. */
bool vg_db_space_released(vg_db *db);
/* True (once) when a write failed for lack of space since the last call. */
bool vg_db_was_full(vg_db *db);
/* Bytes of free pages inside the database (reused before it grows). */
uint64_t vg_db_free_bytes(vg_db *db);

#endif
