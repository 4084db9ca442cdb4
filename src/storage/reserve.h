/*
 * reserve.h - the storage reserve: space on the state dir's file system
 * that applications cannot take, kept for the service's own duties (a
 * delete, a factory reset, the audit of what happened; SFR 4.2.4, 4.2.9,
 * 4.2.12).
 *
 * Two mechanisms:
 *   - admission: an application write (a quota-checked put, a key create)
 *     is admitted only while the file system keeps at least `bytes` free
 *     after it (statvfs f_bavail * f_frsize, plus the database's own free
 *     pages, which SQLite reuses); otherwise VG_ERR_QUOTA, "the device's
 *     storage is nearly full". The applications then never see the disk
 *     full, and never an I/O error for it.
 *   - the ballast: a file state-dir/reserve.ballast of `bytes` bytes
 *     (allocated, fsync'ed, mode 0600), created when missing and space
 *     allows. When a duty's write fails for lack of space -- the disk was
 *     filled by something else writing to the same file system -- the
 *     database (storage/db.h) releases the ballast and the duty is redone
 *     once. The ballast is re-created once the space has come back.
 *
 * The ballast must hold the largest duty transaction: a delete writes the
 * zeroed pages of the record into the WAL (secure_delete), so the reserve
 * should be at least the largest value an application may store; a
 * crypto-erase deletes in chunks of at most VG_RESERVE_CHUNK bytes.
 * bytes == 0 turns both mechanisms off.
 */
#ifndef VG_RESERVE_H
#define VG_RESERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_RESERVE_FILE          "reserve.ballast"
#define VG_RESERVE_DEFAULT_BYTES (4u * 1024u * 1024u)
/* A crypto-erase deletes at most this many bytes of records per commit. */
#define VG_RESERVE_CHUNK (1024u * 1024u)

typedef struct vg_reserve vg_reserve;

/* Opens the reserve of state_dir and creates the ballast if it is missing
 * and space allows (not an error when it does not). *out is closed with
 * vg_reserve_close; the ballast file stays. */
VG_NODISCARD vg_rc vg_reserve_open(vg_reserve **out, const char *state_dir, uint64_t bytes);
void vg_reserve_close(vg_reserve **r);

uint64_t vg_reserve_bytes(const vg_reserve *r);
/* Whether the ballast file is in place (as last seen or made by us). */
bool vg_reserve_ballast_present(const vg_reserve *r);
/* Free bytes on the file system for the service's user (f_bavail). */
VG_NODISCARD vg_rc vg_reserve_fs_free(const vg_reserve *r, uint64_t *free_bytes);

/*
 * Admission of an application write that needs about `need` bytes, given
 * `reusable` bytes the database can reuse without growing: VG_OK, or
 * VG_ERR_QUOTA when less than the reserve would be left. Re-creates a
 * missing ballast first when the space has come back. NULL r admits.
 */
VG_NODISCARD vg_rc vg_reserve_admit(vg_reserve *r, uint64_t need, uint64_t reusable);

/* Releases the ballast (a duty needs its space): true when space was
 * freed, false when there was no ballast. */
bool vg_reserve_release(vg_reserve *r);

/* Before a duty that writes outside the database (the factory reset's
 * marker): releases the ballast when the file system is nearly full. */
void vg_reserve_for_duty(vg_reserve *r);

/* Creates the ballast if it is missing and the file system has room for
 * it and the reserve besides. VG_OK also when there is no room (yet). */
VG_NODISCARD vg_rc vg_reserve_refill(vg_reserve *r);

#endif
