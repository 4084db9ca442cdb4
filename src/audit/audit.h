/*
 * audit.h - the device side of the audit log (SFR 4.2.9).
 *
 * Every security-relevant event becomes a record (nature, outcome, time and
 * whether the clock was synchronized, the actor's uid/gid/pid and role)
 * with a gap-free sequence number. Each record is MACed with a
 * forward-secure key K_seq that evolves one-way after the record (the old
 * key is wiped), and chained by SHA-256 to the one before; the chain head is
 * signed with the device key every checkpoint_every records, at every export
 * and at clean shutdown (the "seal"). docs/AUDIT.md has the design, the
 * export format and the threat reasoning; audit_export.h the offline side.
 *
 * Storage: tables audit_records, audit_checkpoints, audit_state and
 * audit_quarantine in the shared vg_db; the chain head is published as the
 * db anchor "audit.head" = next_seq (u64 BE) || head hash (32), inside the
 * same transaction as the records, so rollback and offline edits of the
 * database are caught by the db's RoT-bound meta MAC and by vg_audit_open.
 *
 * Threading: none; the daemon calls everything from its event loop. The
 * sign callback is called outside any database transaction and must not
 * call back into this module.
 */
#ifndef VG_AUDIT_H
#define VG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit_export.h"
#include "storage/db.h"
#include "voxguard/voxguard.h"

typedef struct vg_audit vg_audit;

typedef struct vg_audit_event {
	const char *type;    /* dotted name, 1..VG_AUDIT_TYPE_MAX of [A-Za-z0-9._-]:
				"service.start", "authz.denied", "key.create", ... */
	const char *outcome; /* "success", "failure", "denied" (same charset, <= 32) */
	const char *detail;  /* short free text, never a secret; may be NULL. Invalid
				UTF-8 and control characters become '?', and it is
				cut to VG_AUDIT_DETAIL_MAX bytes */
	uint32_t uid, gid;
	int32_t pid;
	const char *role; /* "user", "admin", "service" (same charset, <= 32) */
} vg_audit_event;

/* Produces a DER ECDSA P-256 / SHA-256 signature of msg (callee-allocated,
 * freed with vg_free). The service implements it with a non-exportable
 * keystore key. */
typedef vg_rc (*vg_audit_sign_fn)(void *ctx, const uint8_t *msg, size_t len, uint8_t **sig,
				  size_t *sig_len);

/* A monotonic clock in milliseconds (tests replace it); NULL = CLOCK_MONOTONIC. */
typedef uint64_t (*vg_audit_clock_fn)(void *ctx);

typedef struct vg_audit_opts {
	uint32_t checkpoint_every; /* records between signed checkpoints; 0 = 256 */
	uint64_t max_records;      /* secondary bound on stored records; 0 = none */
	uint32_t max_queue;        /* in-memory queue before a forced flush; 0 = 1024 */
	/* Per-actor rate limit (docs/AUDIT.md section 4): the events of every
	 * uid whose role is not "service" pass a token bucket; events over it
	 * are counted per (uid, type, outcome) and summarised in
	 * "audit.suppressed" records. 0 = defaults 20/s, burst 200. */
	uint32_t rate_per_s;
	uint32_t burst;
	uint32_t summary_every_s; /* a pending count is summarised at the
				     latest after this; 0 = 60 */
	/* The log's stored size bound (records, checkpoints, drop summary);
	 * 0 = VG_AUDIT_DEFAULT_MAX_BYTES, at least VG_AUDIT_MIN_MAX_BYTES. */
	uint64_t max_bytes;
	vg_audit_clock_fn clock;
	void *clock_ctx;
} vg_audit_opts;

#define VG_AUDIT_DEFAULT_MAX_BYTES  (16ull * 1024u * 1024u)
#define VG_AUDIT_MIN_MAX_BYTES      (64u * 1024u)
#define VG_AUDIT_DEFAULT_RATE_PER_S 20u
#define VG_AUDIT_DEFAULT_BURST      200u

/*
 * Opens (or creates, on first use) the audit log in db. Call after
 * vg_db_open and after the keystore can sign; opts may be NULL. pub_der is
 * the SubjectPublicKeyInfo DER of the signing key (EC P-256): the log is
 * bound to it at creation and `sign` is checked against it with one probe
 * signature. Opening an existing log with another key fails
 * (VG_ERR_INVALID): the key must live as long as the log.
 *
 * At open the stored rows are checked against the "audit.head" anchor
 * (chain, sequence, checkpoint signatures, key state). A disagreement does
 * not fail the open: the log is marked broken (vg_audit_state() ==
 * VG_ERR_INTEGRITY), rows past the anchored head are moved to
 * audit_quarantine, and an "audit.integrity" failure event is chained from
 * the anchored head. A previous run that left no seal records an
 * "audit.unsealed_shutdown" event. Such events are committed before
 * returning when the database accepts writes.
 *
 * If vg_db_state(db) != VG_OK nothing is ever written: events stay in
 * memory (at most max_queue) and each is printed to stderr as one line.
 * Only in that state may sign and pub_der be NULL (the stored signer key
 * is then used to check and export what is stored). VG_ERR_INVALID for a
 * missing or non-P-256 key, or one that `sign` does not match.
 * On success *out is closed with vg_audit_close().
 */
VG_NODISCARD vg_rc vg_audit_open(vg_audit **out, vg_db *db, const vg_audit_opts *opts,
				 vg_audit_sign_fn sign, void *sign_ctx, const uint8_t *pub_der,
				 size_t pub_der_len);

/*
 * Queues one event in memory, stamped with the time, the clock-sync flag
 * and the next sequence number (durable only after vg_audit_flush). A full
 * queue forces a flush first. VG_ERR_INVALID for a malformed type, outcome
 * or role (nothing is recorded). When the queue is full and cannot be
 * flushed the event is printed to stderr, not numbered, and counted; the
 * next successful flush records an "audit.dropped" event with the count.
 */
VG_NODISCARD vg_rc vg_audit_append(vg_audit *a, const vg_audit_event *ev);

/*
 * Group commit: all queued records in ONE vg_db transaction (one fsync),
 * with a signed checkpoint when one is due and rotation when the log
 * exceeds max_records. VG_OK with nothing to do costs nothing: the daemon
 * calls it at the end of every event-loop iteration. On failure the records
 * stay queued (same sequence numbers) and the call can be retried; when the
 * database refuses writes (vg_db_state) it returns that state and prints
 * the queued events to stderr once.
 */
VG_NODISCARD vg_rc vg_audit_flush(vg_audit *a);

/* Flush and sign a checkpoint now. */
VG_NODISCARD vg_rc vg_audit_checkpoint(vg_audit *a);

/*
 * Flush, sign an export checkpoint, and build the self-contained export
 * (format in docs/AUDIT.md; its pages from vg_audit_export_page joined):
 * callee-allocated, freed with vg_free(*out, *len). VG_ERR_TOO_LARGE
 * beyond VG_AUDIT_EXPORT_MAX.
 */
VG_NODISCARD vg_rc vg_audit_export(vg_audit *a, uint8_t **out, size_t *len);

/*
 * One page of an export (docs/AUDIT.md section 5, "Paged export"), for exports larger than
 * one IPC message. from_seq 0 starts a new export: the log is flushed, an
 * export checkpoint is signed over the head, and the first page carries
 * the header (key, anchor, drop summary). Each later call passes the
 * previous *next_seq; the page holds the records and checkpoints from
 * there, at most max_bytes (>= 1024) in all; the page with *more false
 * ends with the export checkpoint. The pages concatenated in order are one
 * export that vg_audit_log_verify accepts whole; events after the start go
 * to the next export. While an export is in progress (until its last page,
 * or 120 s without a request) retention only drops records already handed
 * out, so the pages stay consistent.
 * Callee-allocated *out (vg_free(*out, *len)); *len may be 0.
 * Errors: VG_ERR_STATE: from_seq != 0 but no export is in progress (it
 * ended, expired, or the service restarted: start again from 0);
 * VG_ERR_INVALID: from_seq is not the previous *next_seq (pages go in
 * order; a from_seq past the end or inside a dropped run that is not the
 * previous next_seq is refused); VG_ERR_TOO_LARGE: max_bytes cannot hold
 * the header or one record.
 */
VG_NODISCARD vg_rc vg_audit_export_page(vg_audit *a, uint64_t from_seq, size_t max_bytes,
					uint8_t **out, size_t *len, uint64_t *next_seq, bool *more);

/*
 * Once: returns the forward-secure MAC seed K0 for the admin (to verify
 * MACs offline with vg_audit_log_verify) and deletes the device's sealed
 * copy (with a WAL scrub); records an "audit.seed_taken" event.
 * VG_ERR_NOT_FOUND afterwards. seed is wiped on failure.
 */
VG_NODISCARD vg_rc vg_audit_take_seed(vg_audit *a, uint8_t seed[static 32]);

/*
 * Starts the log afresh (factory reset, SFR 4.2.12): flushes, signs a
 * checkpoint over the current head, deletes every record and older
 * checkpoint, and keeps that checkpoint as the rotation anchor -- the
 * signed link from the records that follow to the chain that was dropped.
 * Sequence numbers continue. Returns the old head (next_seq and hash) for
 * the caller's first event of the new log.
 */
VG_NODISCARD vg_rc vg_audit_truncate(vg_audit *a, uint64_t *old_next, uint8_t old_head[static 32]);
/*
 * The retention class of an event (docs/AUDIT.md section 4): critical
 * unless it is an application's routine success. Critical: any outcome
 * other than "success"; role "service"; types auth.*, admin.*, authz.*,
 * factory.*, debug.*, audit.*, service.*, update.*, platform.*, config.*,
 * identity.*, log.*, store.commit*, endpoint.*, key.create, key.delete, and
 * *.integrity, *.rollback, *.policy_denied.
 */
bool vg_audit_is_critical(const char *type, const char *outcome, const char *role);

/* The sequence number the next appended event will get. */
uint64_t vg_audit_next_seq(const vg_audit *a);
/* VG_OK, or VG_ERR_INTEGRITY if the stored log disagreed with its anchor at
 * open (the database's own state is vg_db_state()). */
vg_rc vg_audit_state(const vg_audit *a);
/* Events queued in memory, not yet committed. */
size_t vg_audit_pending(const vg_audit *a);
/* The sequence number the next queued event will get: it moves whenever an
 * event is queued (a caller compares it around a request to learn whether
 * the request queued any). */
uint64_t vg_audit_queued_seq(const vg_audit *a);

typedef struct vg_audit_stats {
	uint64_t stored_bytes;       /* the log's stored size now */
	uint64_t max_bytes;          /* its bound (capacity) */
	uint64_t records;            /* records stored */
	uint64_t dropped;            /* records dropped by retention, in the signed summary */
	uint64_t last_drop_from;     /* the last compaction's dropped range */
	uint64_t last_drop_to;       /* [from, to); both 0 before any */
	uint64_t suppressed;         /* events counted by the rate limit since open */
	uint64_t suppressed_pending; /* ... not yet in an audit.suppressed record */
} vg_audit_stats;

/* Fills *out (zeroed when a is NULL). Cheap: no database access. */
void vg_audit_stats_get(const vg_audit *a, vg_audit_stats *out);

/* Clean shutdown: flush and write a final signed seal checkpoint (events
 * that cannot be committed go to stderr), then free. NULL is fine. */
void vg_audit_close(vg_audit **a);

#endif
