/*
 * audit_export.h - the offline side of the audit log (SFR 4.2.9): the
 * export format, its strict parser, the verifier and the renderers.
 *
 * Nothing here needs the daemon, the root of trust or the database: the CLI
 * (`voxguard log verify|show`) and fleet back ends link it alone. The
 * device side (audit.c) shares the canonical encodings below, so the device
 * and every verifier compute byte-identical MACs, chain hashes and
 * checkpoint messages. docs/AUDIT.md specifies the format byte by byte and
 * says what a successful verification proves and what it cannot.
 *
 * Verification needs only public material: the signer's SubjectPublicKeyInfo
 * (carried in the export, or pinned by the caller). The optional 32-byte
 * seed K0 (vg_audit_take_seed on the device) additionally lets the admin
 * check every record's forward-secure MAC; holding it cannot forge
 * checkpoint signatures, and no key in the export can regenerate a MAC key.
 */
#ifndef VG_AUDIT_EXPORT_H
#define VG_AUDIT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "voxguard/voxguard.h"

#define VG_AUDIT_MAGIC          "voxguard-audit"
#define VG_AUDIT_FORMAT_VERSION 2u /* written; version 1 is still read */
#define VG_AUDIT_FORMAT_V1      1u
#define VG_AUDIT_LOG_ID_LEN     16u
#define VG_AUDIT_HASH_LEN       32u
#define VG_AUDIT_MAC_LEN        32u
#define VG_AUDIT_SEED_LEN       32u

/* Field limits, enforced by the device when it records and by the parser. */
#define VG_AUDIT_TYPE_MAX    64u  /* [A-Za-z0-9._-]+ */
#define VG_AUDIT_OUTCOME_MAX 32u  /* [A-Za-z0-9._-]+ */
#define VG_AUDIT_ROLE_MAX    32u  /* [A-Za-z0-9._-]+ */
#define VG_AUDIT_DETAIL_MAX  256u /* UTF-8 without control characters */
#define VG_AUDIT_PUBKEY_MAX  512u /* SubjectPublicKeyInfo DER */
#define VG_AUDIT_SIG_MAX     128u /* DER ECDSA P-256 is at most 72 */
#define VG_AUDIT_EXPORT_MAX  (64u * 1024u * 1024u)
/* Sequence numbers stay below 2^63 (SQLite integers, int64 reports). */
#define VG_AUDIT_SEQ_MAX ((uint64_t)INT64_MAX)
/* The MAC check evolves the seed up to the export's first record (about
 * 0.7 us a step): refuse exports that would make that take over a minute. */
#define VG_AUDIT_MAX_EVOLVE (1ull << 26)

/* Checkpoint kinds: why the device signed its chain head. */
#define VG_AUDIT_CP_PERIODIC 1u /* every checkpoint_every records */
#define VG_AUDIT_CP_EXPORT   2u /* at the end of every export */
#define VG_AUDIT_CP_SEAL     3u /* at clean shutdown */

/* The signed checkpoint message (see vg_audit_checkpoint_message). */
#define VG_AUDIT_CP_MSG_LEN 95u

typedef struct vg_audit_record {
	uint64_t seq;      /* gap-free from 0, never reused */
	uint64_t time;     /* device clock, seconds since the epoch (UTC) */
	bool clock_synced; /* the kernel said the clock was synchronized */
	char *type;        /* "authz.denied", ... */
	char *outcome;     /* "success", "failure", "denied" */
	char *detail;      /* NULL when absent */
	char *role;        /* "user", "admin", "service" */
	uint32_t uid, gid;
	int32_t pid;
	uint8_t mac[VG_AUDIT_MAC_LEN];   /* HMAC-SHA256 under K_seq */
	uint8_t hash[VG_AUDIT_HASH_LEN]; /* chain hash h_seq */
} vg_audit_record;

typedef struct vg_audit_cp {
	uint32_t kind;                   /* VG_AUDIT_CP_* */
	uint64_t next_seq;               /* covers every record with seq < next_seq */
	uint8_t head[VG_AUDIT_HASH_LEN]; /* h_{next_seq-1} (or the anchor's) */
	uint64_t time;
	bool clock_synced;
	uint8_t *sig; /* DER ECDSA P-256 / SHA-256 */
	size_t sig_len;
} vg_audit_cp;

/* The signed drop summary ("drops"): what retention removed from the log
 * (docs/AUDIT.md section 4). Every dropped record lies in one run
 * [from, to); prev = h(from-1) and head = h(to-1) tie each run into the
 * chain. Counts per type (at most VG_AUDIT_DROP_TYPES_MAX entries; the
 * last may be "other"), signed by the device key. */
#define VG_AUDIT_DROP_TYPES_MAX 32u
#define VG_AUDIT_DROP_OTHER     "other"
#define VG_AUDIT_DROPS_MSG_LEN  (24u + VG_AUDIT_LOG_ID_LEN + 32u)

typedef struct vg_audit_drop_run {
	uint64_t from, to; /* records from <= seq < to were dropped */
	uint8_t prev[VG_AUDIT_HASH_LEN];
	uint8_t head[VG_AUDIT_HASH_LEN];
} vg_audit_drop_run;

typedef struct vg_audit_drop_count {
	char *type;
	uint64_t count;
} vg_audit_drop_count;

typedef struct vg_audit_drops {
	uint64_t time; /* when it was signed */
	bool clock_synced;
	uint64_t total;                 /* records dropped = sum of run lengths */
	uint64_t first_time, last_time; /* of the dropped records */
	vg_audit_drop_count *types;     /* sum of counts = total */
	size_t n_types;
	vg_audit_drop_run *runs; /* ascending, disjoint, not adjacent */
	size_t n_runs;
	uint8_t *sig;
	size_t sig_len;
} vg_audit_drops;

typedef struct vg_audit_log vg_audit_log; /* a parsed export */

/*
 * Parses an export strictly: at most VG_AUDIT_EXPORT_MAX bytes, checked
 * with vg_cbor_validate first, then decoded field by field with exact
 * types, sizes and character sets (no trailing bytes). Does not verify
 * anything cryptographic. On success *out is freed with
 * vg_audit_log_free(). Errors: VG_ERR_TOO_LARGE, VG_ERR_INVALID (not a
 * well-formed export: treat as tampered), VG_ERR_UNSUPPORTED (a newer
 * format version), VG_ERR_NOMEM.
 */
VG_NODISCARD vg_rc vg_audit_log_parse(const uint8_t *buf, size_t len, vg_audit_log **out);
void vg_audit_log_free(vg_audit_log **l);

size_t vg_audit_log_count(const vg_audit_log *l);
/* The i-th record in export order, NULL when out of range. Owned by l. */
const vg_audit_record *vg_audit_log_record(const vg_audit_log *l, size_t i);
size_t vg_audit_log_checkpoint_count(const vg_audit_log *l);
const vg_audit_cp *vg_audit_log_checkpoint(const vg_audit_log *l, size_t i);
/* The checkpoint the remaining chain hangs from after rotation, or NULL. */
const vg_audit_cp *vg_audit_log_anchor(const vg_audit_log *l);
/* The signed drop summary, or NULL when nothing was ever dropped. */
const vg_audit_drops *vg_audit_log_drops(const vg_audit_log *l);
/* The signer's SubjectPublicKeyInfo DER as carried by the export. */
const uint8_t *vg_audit_log_pubkey(const vg_audit_log *l, size_t *len);
/* The log's random 16-byte identity (bound into every checkpoint). */
const uint8_t *vg_audit_log_id(const vg_audit_log *l);

typedef struct vg_audit_report {
	uint64_t records_verified; /* covered by a valid checkpoint (and MAC) */
	uint64_t unsealed_tail;    /* records after the last valid checkpoint */
	uint64_t checkpoints;      /* valid checkpoints, anchor included */
	bool macs_checked;         /* a seed was given and MACs were checked */
	int64_t first_bad_seq;     /* -1 if none */
	char reason[160];          /* one line; empty on success */
	uint64_t first_seq;        /* seq of the first record the chain covers */
	uint64_t end_seq;          /* the last valid checkpoint's next_seq */
	uint64_t dropped;          /* records the signed drop summary says were dropped */
	uint64_t drop_runs;        /* in that many runs */
} vg_audit_report;

/*
 * Verifies the whole export: the anchor's signature; gap-free sequence
 * numbers from the anchor (or 0); every record's chain hash; every
 * checkpoint's position, head and signature; with `seed`, every record's
 * forward-secure MAC; and that the log ends with an export checkpoint
 * covering its last record.
 *
 * pinned_pub_der (optional): require this signing key instead of trusting
 * the one the export carries. seed (optional, VG_AUDIT_SEED_LEN bytes).
 *
 * VG_OK if everything verifies. VG_ERR_VERIFY_FAILED otherwise, with
 * report->first_bad_seq the first record that is not vouched for and
 * report->reason one line saying why. VG_ERR_TOO_LARGE when a seed is given
 * but the first record lies more than VG_AUDIT_MAX_EVOLVE steps from it.
 * report is always filled.
 */
VG_NODISCARD vg_rc vg_audit_log_verify(const vg_audit_log *l, const uint8_t *pinned_pub_der,
				       size_t pinned_len, const uint8_t *seed,
				       vg_audit_report *report);

/*
 * Renders the export (without verifying it: verify first). json_lines:
 * one JSON object per line, each with a "kind" of "header", "anchor",
 * "record" or "checkpoint" (checkpoints follow the last record they cover);
 * otherwise human-readable lines for `log show`.
 * VG_ERR_IO when writing to f fails.
 */
VG_NODISCARD vg_rc vg_audit_log_write_json(const vg_audit_log *l, FILE *f, bool json_lines);

/* ------------------------------------------------------------------ */
/* Canonical encodings, shared with the device side (audit.c) and used by
 * tests and tools that build exports. All buffers are callee-allocated and
 * freed with vg_free(). */

/* The stored form of a record: CBOR array(11) [seq, time, synced, type,
 * outcome, detail|null, uid, gid, pid, role, mac], minimal-length heads. */
VG_NODISCARD vg_rc vg_audit_record_encode(const vg_audit_record *r, uint8_t **out, size_t *len);
/* Decodes exactly one stored-form record (validated first). The strings
 * are malloc'ed; release with vg_audit_record_clear(). hash is zeroed. */
VG_NODISCARD vg_rc vg_audit_record_decode(const uint8_t *buf, size_t len, vg_audit_record *r);
void vg_audit_record_clear(vg_audit_record *r);
/* mac = HMAC-SHA256(key, "voxguard-audit-mac-v1\0" || prev || array(10)
 * [seq .. role]): r->mac and r->hash are not read. */
VG_NODISCARD vg_rc vg_audit_record_mac(const uint8_t key[static 32], const uint8_t prev[static 32],
				       const vg_audit_record *r, uint8_t mac[static 32]);
/* out = SHA-256(prev || stored form of r (with r->mac)). */
VG_NODISCARD vg_rc vg_audit_record_hash(const uint8_t prev[static 32], const vg_audit_record *r,
					uint8_t out[static 32]);
/* K_{seq+1} = HMAC-SHA256(K_seq, "voxguard-audit-evolve-v1\0" || seq BE64).
 * next may alias key. */
VG_NODISCARD vg_rc vg_audit_key_evolve(const uint8_t key[static 32], uint64_t seq,
				       uint8_t next[static 32]);

/* "voxguard-audit-checkpoint-v1\0" || log_id || kind (1) || next_seq BE64 ||
 * head || time BE64 || synced (1): what the device key signs. */
void vg_audit_checkpoint_message(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
				 const vg_audit_cp *cp, uint8_t msg[static VG_AUDIT_CP_MSG_LEN]);
/* CBOR array(6) [kind, next_seq, head, time, synced, sig]. */
VG_NODISCARD vg_rc vg_audit_checkpoint_encode(const vg_audit_cp *cp, uint8_t **out, size_t *len);
/* sig is malloc'ed; release with vg_audit_checkpoint_clear(). */
VG_NODISCARD vg_rc vg_audit_checkpoint_decode(const uint8_t *buf, size_t len, vg_audit_cp *cp);
void vg_audit_checkpoint_clear(vg_audit_cp *cp);

/* VG_OK if pub_der is exactly one EC P-256 SubjectPublicKeyInfo. */
VG_NODISCARD vg_rc vg_audit_pubkey_check(const uint8_t *pub_der, size_t len);
/* VG_OK: valid; VG_ERR_VERIFY_FAILED: invalid; VG_ERR_INVALID: bad key. */
VG_NODISCARD vg_rc vg_audit_sig_verify(const uint8_t *pub_der, size_t pub_len, const uint8_t *msg,
				       size_t msg_len, const uint8_t *sig, size_t sig_len);

/* Builds an export in the current format (records must carry their hash;
 * records and checkpoints each in order). anchor and drops may be NULL.
 * VG_ERR_TOO_LARGE beyond VG_AUDIT_EXPORT_MAX. */
VG_NODISCARD vg_rc vg_audit_export_encode(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
					  const uint8_t *pub_der, size_t pub_len,
					  const vg_audit_cp *anchor, const vg_audit_drops *drops,
					  const vg_audit_record *recs, size_t n_recs,
					  const vg_audit_cp *cps, size_t n_cps, uint8_t **out,
					  size_t *len);
/* The same in format version 1 (no drop summary), for compatibility tests. */
VG_NODISCARD vg_rc vg_audit_export_encode_v1(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
					     const uint8_t *pub_der, size_t pub_len,
					     const vg_audit_cp *anchor, const vg_audit_record *recs,
					     size_t n_recs, const vg_audit_cp *cps, size_t n_cps,
					     uint8_t **out, size_t *len);
/* One page of a version 2 export: the header item when with_header, then
 * the records and checkpoints in chain order. Concatenated in order, the
 * pages of one export are the export (docs/AUDIT.md section 5, "Paged export"). */
VG_NODISCARD vg_rc
vg_audit_export_encode_page(bool with_header, const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
			    const uint8_t *pub_der, size_t pub_len, const vg_audit_cp *anchor,
			    const vg_audit_drops *drops, const vg_audit_record *recs, size_t n_recs,
			    const vg_audit_cp *cps, size_t n_cps, uint8_t **out, size_t *len);
/* The size of one record in an export (array(12)), 0 if invalid. */
size_t vg_audit_record_export_size(const vg_audit_record *r);

/* The drop summary's stored form: CBOR array(8) [time, synced, total,
 * first_time, last_time, [[type, count]...], [[from, to, prev, head]...],
 * sig]. decode checks the structure (ordering, sums) but no signature. */
VG_NODISCARD vg_rc vg_audit_drops_encode(const vg_audit_drops *d, uint8_t **out, size_t *len);
VG_NODISCARD vg_rc vg_audit_drops_decode(const uint8_t *buf, size_t len, vg_audit_drops *d);
void vg_audit_drops_clear(vg_audit_drops *d);
/* "voxguard-audit-drops-v1\0" || log_id || SHA-256(array(7) of the first
 * seven fields): what the device key signs. */
VG_NODISCARD vg_rc vg_audit_drops_message(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
					  const vg_audit_drops *d,
					  uint8_t msg[static VG_AUDIT_DROPS_MSG_LEN]);

/* Field checks the device and the parser share: a name of 1..max bytes of
 * [A-Za-z0-9._-]; a detail of 0..VG_AUDIT_DETAIL_MAX bytes of valid UTF-8
 * with no C0/C1 control character or DEL. */
bool vg_audit_name_valid(const char *s, size_t len, size_t max);
bool vg_audit_detail_valid(const char *s, size_t len);
/* Length (1..4) of the valid, printable UTF-8 character at s, 0 if none. */
size_t vg_audit_utf8_char(const uint8_t *s, size_t len);

#endif
