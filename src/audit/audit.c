/* audit.c - see audit.h; design and format in docs/AUDIT.md */
#include "audit/audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "crypto/seal.h"
#include "rot/rot.h"

#define DEFAULT_CHECKPOINT_EVERY 256u
#define DEFAULT_MAX_RECORDS      100000u
#define DEFAULT_MAX_QUEUE        1024u
#define HEAD_ANCHOR              "audit.head"
#define HEAD_ANCHOR_LEN          (8u + VG_AUDIT_HASH_LEN)
#define LOG_ROW_VERSION          1u
#define KEY_LEN                  32u

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS audit_records(seq INTEGER PRIMARY KEY,"
    " rec BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_checkpoints(id INTEGER PRIMARY KEY,"
    " next_seq INTEGER NOT NULL, cp BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_checkpoints_seq ON audit_checkpoints(next_seq);"
    "CREATE TABLE IF NOT EXISTS audit_state(name TEXT PRIMARY KEY, val BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_quarantine(id INTEGER PRIMARY KEY, what TEXT NOT NULL,"
    " seq INTEGER NOT NULL, val BLOB NOT NULL);";

/* Labels (with their NUL) for associated data and the key probe. */
static const char fskey_label[] = "voxguard-audit-fskey";
static const char seed_label[] = "voxguard-audit-seed";
static const char probe_label[] = "voxguard-audit-keycheck-v1";

struct qent {
	vg_audit_record r;
	bool echoed; /* already printed to stderr */
};

/* Rate limiting (docs/AUDIT.md section 4): fixed tables, so memory stays
 * bounded whatever the callers do. */
#define RL_BUCKETS  64u  /* uids with their own bucket; the rest share one */
#define RL_COUNTERS 128u /* (uid, type, outcome) counts of suppressed events */

struct sup {
	bool used;
	bool several; /* the shared bucket's "other" count: more than one uid */
	uint32_t uid, gid;
	int32_t pid;
	char type[VG_AUDIT_TYPE_MAX + 1]; /* "" for a bucket's "other" count */
	char outcome[VG_AUDIT_OUTCOME_MAX + 1];
	char role[VG_AUDIT_ROLE_MAX + 1];
	uint64_t count;
	uint64_t first_time, last_time; /* wall clock, seconds */
	uint64_t start_ms;              /* monotonic, when counting began */
};

struct bucket {
	bool used;
	uint32_t uid;
	uint64_t milli;   /* tokens x 1000 */
	uint64_t last_ms; /* last refill */
	struct sup other; /* counts that found no free counter */
};

struct vg_audit {
	vg_db *db;
	vg_audit_sign_fn sign;
	void *sign_ctx;
	uint8_t *pub;
	size_t pub_len;
	uint8_t log_id[VG_AUDIT_LOG_ID_LEN];
	uint32_t cp_every;
	uint64_t max_records;
	uint32_t max_queue;
	uint8_t *key;                    /* secret memory: K_{next_seq} */
	uint8_t head[VG_AUDIT_HASH_LEN]; /* h_{next_seq-1} (anchor's, or zero) */
	uint64_t next_seq;               /* committed records end here */
	uint64_t first_seq;              /* oldest record kept */
	uint64_t last_cp;                /* next_seq of the newest checkpoint */
	uint32_t last_kind;              /* and its kind */
	struct qent *q;
	size_t nq, qcap;
	uint64_t dropped;
	vg_rc state;
	bool ready; /* opened: close may flush and seal */
	/* rate limiting */
	vg_audit_clock_fn clock;
	void *clock_ctx;
	uint64_t rate; /* tokens per second = milli-tokens per ms */
	uint64_t burst_milli;
	uint64_t summary_ms;
	struct bucket rl[RL_BUCKETS + 1]; /* the last one is shared */
	struct sup sup[RL_COUNTERS];
	size_t n_pending;         /* counters and "other" counts in use */
	uint64_t suppressed;      /* events suppressed since open */
	uint64_t suppressed_open; /* ... and not yet summarised */
};

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static bool writable(const vg_audit *a)
{
	return vg_db_state(a->db) == VG_OK;
}

/* ---- small SQL helpers ---- */

static vg_rc state_get(vg_audit *a, const char *name, uint8_t **val, size_t *len)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_IO;
	int r;

	*val = NULL;
	*len = 0;
	if (sqlite3_prepare_v2(vg_db_handle(a->db), "SELECT val FROM audit_state WHERE name = ?",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = VG_ERR_NOT_FOUND;
		goto out;
	}
	if (r != SQLITE_ROW)
		goto out;
	if (sqlite3_column_type(st, 0) != SQLITE_BLOB || sqlite3_column_bytes(st, 0) <= 0) {
		rc = VG_ERR_INTEGRITY;
		goto out;
	}
	*len = (size_t)sqlite3_column_bytes(st, 0);
	*val = malloc(*len);
	if (!*val) {
		*len = 0;
		rc = VG_ERR_NOMEM;
		goto out;
	}
	memcpy(*val, sqlite3_column_blob(st, 0), *len);
	rc = VG_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

static vg_rc state_put(vg_audit *a, const char *name, const uint8_t *val, size_t len)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_IO;

	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "INSERT OR REPLACE INTO audit_state(name, val) VALUES (?, ?)", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = VG_OK;
	sqlite3_finalize(st);
	return rc;
}

/* Runs a statement with up to two int64 parameters and no result rows. */
static vg_rc exec2(vg_audit *a, const char *sql, int64_t p1, int64_t p2)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_IO;
	int np;

	if (sqlite3_prepare_v2(vg_db_handle(a->db), sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	np = sqlite3_bind_parameter_count(st);
	if ((np >= 1 && sqlite3_bind_int64(st, 1, p1) != SQLITE_OK) ||
	    (np >= 2 && sqlite3_bind_int64(st, 2, p2) != SQLITE_OK))
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = VG_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

/* One integer from a query with up to one parameter; VG_ERR_NOT_FOUND if
 * no row or NULL. */
static vg_rc query_int(vg_audit *a, const char *sql, int64_t p1, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_IO;
	int r;

	if (sqlite3_prepare_v2(vg_db_handle(a->db), sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_bind_parameter_count(st) >= 1 && sqlite3_bind_int64(st, 1, p1) != SQLITE_OK)
		goto out;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
		*v = sqlite3_column_int64(st, 0);
		rc = VG_OK;
	} else if (r == SQLITE_ROW || r == SQLITE_DONE) {
		rc = VG_ERR_NOT_FOUND;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---- keys ---- */

static vg_rc seal_key(vg_audit *a, uint8_t k[static KEY_LEN])
{
	return vg_rot_derive(vg_db_rot(a->db), "audit-fskey", a->log_id, sizeof a->log_id, k);
}

/* fskey AAD: label || log_id || next_seq: a key blob opens only for its
 * own log and position. */
#define FSKEY_AAD_LEN (sizeof fskey_label + VG_AUDIT_LOG_ID_LEN + 8)
static void fskey_aad(const vg_audit *a, uint64_t seq, uint8_t aad[static FSKEY_AAD_LEN])
{
	memcpy(aad, fskey_label, sizeof fskey_label);
	memcpy(aad + sizeof fskey_label, a->log_id, VG_AUDIT_LOG_ID_LEN);
	put_be64(aad + sizeof fskey_label + VG_AUDIT_LOG_ID_LEN, seq);
}

#define SEED_AAD_LEN (sizeof seed_label + VG_AUDIT_LOG_ID_LEN)
static void seed_aad(const vg_audit *a, uint8_t aad[static SEED_AAD_LEN])
{
	memcpy(aad, seed_label, sizeof seed_label);
	memcpy(aad + sizeof seed_label, a->log_id, VG_AUDIT_LOG_ID_LEN);
}

/* Seals key k as the state for position seq (or as the seed). */
static vg_rc seal_blob(vg_audit *a, bool seed, uint64_t seq, const uint8_t *k, uint8_t **blob,
		       size_t *blob_len)
{
	uint8_t sk[KEY_LEN], aad[FSKEY_AAD_LEN];
	size_t aad_len;
	vg_rc rc;

	if (seed) {
		seed_aad(a, aad);
		aad_len = SEED_AAD_LEN;
	} else {
		fskey_aad(a, seq, aad);
		aad_len = FSKEY_AAD_LEN;
	}
	rc = seal_key(a, sk);
	if (rc == VG_OK)
		rc = vg_seal(sk, VG_SEAL_STATE, seq, aad, aad_len, k, KEY_LEN, blob, blob_len);
	vg_wipe(sk, sizeof sk);
	return rc;
}

static vg_rc unseal_blob(vg_audit *a, bool seed, uint64_t seq, const uint8_t *blob, size_t blob_len,
			 uint8_t k[static KEY_LEN])
{
	uint8_t sk[KEY_LEN], aad[FSKEY_AAD_LEN], *pt = NULL;
	size_t aad_len, pt_len = 0;
	uint64_t gen = 0;
	vg_rc rc;

	if (seed) {
		seed_aad(a, aad);
		aad_len = SEED_AAD_LEN;
	} else {
		fskey_aad(a, seq, aad);
		aad_len = FSKEY_AAD_LEN;
	}
	rc = seal_key(a, sk);
	if (rc == VG_OK)
		rc = vg_unseal(sk, VG_SEAL_STATE, aad, aad_len, blob, blob_len, &pt, &pt_len, &gen);
	vg_wipe(sk, sizeof sk);
	if (rc == VG_OK && (pt_len != KEY_LEN || gen != seq))
		rc = VG_ERR_INTEGRITY;
	if (rc == VG_OK)
		memcpy(k, pt, KEY_LEN);
	vg_free(pt, pt_len);
	return rc;
}

/* ---- the queue ---- */

static void echo(const vg_audit_record *r, const char *why)
{
	/* Fields are checked names and a sanitized detail (no control
	 * characters): one line each, never a secret. */
	char seq[24] = "none";

	if (r->seq != UINT64_MAX)
		(void)snprintf(seq, sizeof seq, "%" PRIu64, r->seq);
	(void)fprintf(stderr,
		      "voxguardd: audit event not committed (%s): seq=%s time=%" PRIu64
		      " clock_synced=%d type=%s outcome=%s uid=%" PRIu32 " gid=%" PRIu32
		      " pid=%" PRId32 " role=%s detail=\"",
		      why, seq, r->time, r->clock_synced ? 1 : 0, r->type, r->outcome, r->uid,
		      r->gid, r->pid, r->role);
	for (const char *p = r->detail ? r->detail : ""; *p; p++) {
		if (*p == '"' || *p == '\\')
			(void)fputc('\\', stderr);
		(void)fputc(*p, stderr);
	}
	(void)fputs("\"\n", stderr);
}

static void echo_pending(vg_audit *a, const char *why)
{
	for (size_t i = 0; i < a->nq; i++) {
		if (!a->q[i].echoed) {
			echo(&a->q[i].r, why);
			a->q[i].echoed = true;
		}
	}
}

static char *sanitize_detail(const char *s)
{
	size_t in_len = strlen(s), i = 0, o = 0;
	char *out = malloc(VG_AUDIT_DETAIL_MAX + 1);

	if (!out)
		return NULL;
	while (i < in_len) {
		size_t n = vg_audit_utf8_char((const uint8_t *)s + i, in_len - i);
		if (n == 0) {
			if (o + 1 > VG_AUDIT_DETAIL_MAX)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n > VG_AUDIT_DETAIL_MAX)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

static bool event_valid(const vg_audit_event *ev)
{
	return ev && ev->type &&
	       vg_audit_name_valid(ev->type, strlen(ev->type), VG_AUDIT_TYPE_MAX) && ev->outcome &&
	       vg_audit_name_valid(ev->outcome, strlen(ev->outcome), VG_AUDIT_OUTCOME_MAX) &&
	       ev->role && vg_audit_name_valid(ev->role, strlen(ev->role), VG_AUDIT_ROLE_MAX);
}

/* Queues ev (already validated) with the next sequence number. */
static vg_rc enqueue(vg_audit *a, const vg_audit_event *ev)
{
	vg_audit_record *r;

	if (a->nq == a->qcap) {
		size_t cap = a->qcap ? a->qcap * 2 : 16;
		struct qent *nq = realloc(a->q, cap * sizeof *nq);
		if (!nq)
			return VG_ERR_NOMEM;
		a->q = nq;
		a->qcap = cap;
	}
	if (a->next_seq + a->nq >= VG_AUDIT_SEQ_MAX)
		return VG_ERR_TOO_LARGE;
	r = &a->q[a->nq].r;
	memset(&a->q[a->nq], 0, sizeof a->q[a->nq]);
	r->seq = a->next_seq + a->nq;
	r->time = vg_time_now(&r->clock_synced);
	r->type = strdup(ev->type);
	r->outcome = strdup(ev->outcome);
	r->role = strdup(ev->role);
	r->detail = ev->detail ? sanitize_detail(ev->detail) : NULL;
	r->uid = ev->uid;
	r->gid = ev->gid;
	r->pid = ev->pid;
	if (!r->type || !r->outcome || !r->role || (ev->detail && !r->detail)) {
		vg_audit_record_clear(r);
		return VG_ERR_NOMEM;
	}
	a->nq++;
	if (!writable(a)) {
		echo(r, vg_rc_str(vg_db_state(a->db)));
		a->q[a->nq - 1].echoed = true;
	}
	return VG_OK;
}

/* An event the log records about itself. */
static vg_rc self_event(vg_audit *a, const char *type, const char *outcome, const char *detail)
{
	vg_audit_event ev = {
	    .type = type,
	    .outcome = outcome,
	    .detail = detail,
	    .uid = (uint32_t)getuid(),
	    .gid = (uint32_t)getgid(),
	    .pid = (int32_t)getpid(),
	    .role = "service",
	};

	return enqueue(a, &ev);
}

static void queue_clear(vg_audit *a)
{
	for (size_t i = 0; i < a->nq; i++)
		vg_audit_record_clear(&a->q[i].r);
	a->nq = 0;
}

/* ---- rate limiting ---- */

static uint64_t mono_ms(const vg_audit *a)
{
	return a->clock ? a->clock(a->clock_ctx) : vg_mono_ms();
}

static void refill(const vg_audit *a, struct bucket *b, uint64_t now)
{
	if (now > b->last_ms) {
		/* dt is capped first, so dt * rate cannot overflow */
		uint64_t dt = now - b->last_ms, full = a->burst_milli / a->rate + 1;
		uint64_t add = (dt < full ? dt : full) * a->rate;
		b->milli = add >= a->burst_milli - b->milli ? a->burst_milli : b->milli + add;
	}
	b->last_ms = now;
}

static bool bucket_pending(const vg_audit *a, const struct bucket *b)
{
	if (b->other.used)
		return true;
	for (size_t i = 0; i < RL_COUNTERS; i++)
		if (a->sup[i].used && a->sup[i].uid == b->uid)
			return true;
	return false;
}

/* The bucket of uid. A full bucket with nothing pending is the same as a
 * fresh one, so it can be given to another uid; when none can, the uid
 * shares the last bucket with every other such uid. */
static struct bucket *bucket_for(vg_audit *a, uint32_t uid, uint64_t now)
{
	struct bucket *slot = NULL;

	for (size_t i = 0; i < RL_BUCKETS; i++) {
		struct bucket *b = &a->rl[i];
		if (b->used && b->uid == uid)
			return b;
		if (!b->used && !slot)
			slot = b;
	}
	for (size_t i = 0; !slot && i < RL_BUCKETS; i++) {
		struct bucket *b = &a->rl[i];
		refill(a, b, now);
		if (b->milli == a->burst_milli && !bucket_pending(a, b))
			slot = b;
	}
	if (!slot)
		return &a->rl[RL_BUCKETS];
	memset(slot, 0, sizeof *slot);
	slot->used = true;
	slot->uid = uid;
	slot->milli = a->burst_milli;
	slot->last_ms = now;
	return slot;
}

static void sup_init(struct sup *c, const vg_audit_event *ev, bool other, uint64_t now,
		     uint64_t wall)
{
	memset(c, 0, sizeof *c);
	c->used = true;
	c->uid = ev->uid;
	c->gid = ev->gid;
	c->pid = ev->pid;
	if (!other) {
		(void)snprintf(c->type, sizeof c->type, "%s", ev->type);
		(void)snprintf(c->outcome, sizeof c->outcome, "%s", ev->outcome);
	} else {
		(void)snprintf(c->outcome, sizeof c->outcome, "%s", "mixed");
	}
	(void)snprintf(c->role, sizeof c->role, "%s", ev->role);
	c->first_time = wall;
	c->start_ms = now;
}

/* Counts an event over its actor's limit instead of recording it. */
static void suppress(vg_audit *a, struct bucket *b, const vg_audit_event *ev, uint64_t now)
{
	uint64_t wall = vg_time_now(NULL);
	struct sup *c = NULL, *free_c = NULL;

	for (size_t i = 0; i < RL_COUNTERS; i++) {
		struct sup *x = &a->sup[i];
		if (!x->used) {
			if (!free_c)
				free_c = x;
			continue;
		}
		if (x->uid == ev->uid && strcmp(x->type, ev->type) == 0 &&
		    strcmp(x->outcome, ev->outcome) == 0) {
			c = x;
			break;
		}
	}
	if (!c && free_c) {
		c = free_c;
		sup_init(c, ev, false, now, wall);
		a->n_pending++;
	}
	if (!c) {
		/* The table is full: merge into the bucket's "other" count. */
		c = &b->other;
		if (!c->used) {
			sup_init(c, ev, true, now, wall);
			a->n_pending++;
		} else if (c->uid != ev->uid) {
			c->several = true;
		}
	}
	c->count++;
	c->last_time = wall;
	c->gid = ev->gid;
	c->pid = ev->pid;
	a->suppressed++;
	a->suppressed_open++;
}

static vg_rc enqueue(vg_audit *a, const vg_audit_event *ev);

/* One "audit.suppressed" record for counter c, which is then freed. The
 * actor is the one whose events were suppressed; the record itself is
 * never limited. */
static vg_rc summarise(vg_audit *a, struct sup *c)
{
	char d[VG_AUDIT_DETAIL_MAX];
	vg_audit_event ev = {
	    .type = "audit.suppressed",
	    .outcome = c->outcome,
	    .detail = d,
	    .uid = c->uid,
	    .gid = c->gid,
	    .pid = c->pid,
	    .role = c->role,
	};
	uint64_t span = c->last_time >= c->first_time ? c->last_time - c->first_time : 0;
	vg_rc rc;

	if (c->type[0])
		(void)snprintf(d, sizeof d,
			       "uid %" PRIu32 ": %" PRIu64
			       " similar events suppressed (%s %s) in %" PRIu64 " s",
			       c->uid, c->count, c->type, c->outcome, span);
	else
		(void)snprintf(d, sizeof d,
			       "uid %" PRIu32 "%s: %" PRIu64
			       " events suppressed (various types and outcomes) in %" PRIu64 " s",
			       c->uid, c->several ? " and others" : "", c->count, span);
	rc = enqueue(a, &ev);
	if (rc == VG_OK) {
		a->suppressed_open -= c->count < a->suppressed_open ? c->count : a->suppressed_open;
		memset(c, 0, sizeof *c);
		a->n_pending--;
	}
	return rc;
}

/*
 * Writes the summaries that are due: all of them with `all`; else those of
 * `only` (a bucket that allows again), and any count older than
 * summary_every_s, and those whose bucket has refilled to half its burst
 * (the flood is over).
 */
static void summaries_due(vg_audit *a, bool all, const struct bucket *only, uint64_t now)
{
	if (a->n_pending == 0)
		return;
	for (size_t i = 0; i < RL_COUNTERS; i++) {
		struct sup *c = &a->sup[i];
		bool due = all || (now >= c->start_ms && now - c->start_ms >= a->summary_ms);
		if (!c->used)
			continue;
		if (!due && only && only != &a->rl[RL_BUCKETS] && c->uid == only->uid)
			due = true;
		for (size_t j = 0; !due && !only && j < RL_BUCKETS; j++) {
			struct bucket *b = &a->rl[j];
			if (b->used && b->uid == c->uid) {
				refill(a, b, now);
				due = b->milli >= a->burst_milli / 2;
			}
		}
		if (due)
			VG_IGNORE(summarise(a, c));
	}
	for (size_t j = 0; j <= RL_BUCKETS; j++) {
		struct bucket *b = &a->rl[j];
		bool due;
		if (!b->other.used)
			continue;
		due = all || only == b ||
		      (now >= b->other.start_ms && now - b->other.start_ms >= a->summary_ms);
		if (!due && !only) {
			refill(a, b, now);
			due = b->milli >= a->burst_milli / 2;
		}
		if (due)
			VG_IGNORE(summarise(a, &b->other));
	}
}

/* true: record ev; false: it was counted (over its actor's limit). */
static bool admit(vg_audit *a, const vg_audit_event *ev)
{
	uint64_t now;
	struct bucket *b;

	if (strcmp(ev->role, "service") == 0)
		return true; /* the service's own duties are never limited */
	now = mono_ms(a);
	b = bucket_for(a, ev->uid, now);
	refill(a, b, now);
	if (b->milli < 1000) {
		suppress(a, b, ev, now);
		return false;
	}
	b->milli -= 1000;
	/* The flood is over (half the burst came back): its summary goes
	 * before this event, so the log stays in time order. */
	if (a->n_pending && b->milli >= a->burst_milli / 2)
		summaries_due(a, false, b, now);
	return true;
}

/* ---- group commit ---- */

/* Deletes the oldest records up to the first checkpoint that brings the log
 * within max_records, which becomes the anchor of what remains. Inside the
 * flush transaction. Because checkpoint_every <= max_records, such a
 * checkpoint always exists once the log is over the bound. */
static vg_rc rotate(vg_audit *a, uint64_t new_next, uint64_t *first)
{
	sqlite3_stmt *st = NULL;
	uint8_t *cp = NULL;
	size_t cp_len = 0;
	int64_t s = 0;
	vg_rc rc = VG_ERR_IO;
	int r;

	*first = a->first_seq;
	if (new_next - a->first_seq <= a->max_records)
		return VG_OK;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT next_seq, cp FROM audit_checkpoints WHERE next_seq >= ? AND"
			       " next_seq > ? ORDER BY next_seq, id LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (int64_t)(new_next - a->max_records)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)a->first_seq) != SQLITE_OK)
		goto out;
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = VG_OK;
		goto out;
	}
	if (r != SQLITE_ROW || sqlite3_column_bytes(st, 1) <= 0)
		goto out;
	s = sqlite3_column_int64(st, 0);
	cp_len = (size_t)sqlite3_column_bytes(st, 1);
	cp = malloc(cp_len);
	if (!cp) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	memcpy(cp, sqlite3_column_blob(st, 1), cp_len);
	sqlite3_finalize(st);
	st = NULL;
	rc = exec2(a, "DELETE FROM audit_records WHERE seq < ?", s, 0);
	if (rc == VG_OK)
		rc = exec2(a, "DELETE FROM audit_checkpoints WHERE next_seq < ?", s, 0);
	if (rc == VG_OK)
		rc = state_put(a, "anchor", cp, cp_len);
	if (rc == VG_OK)
		*first = (uint64_t)s;
out:
	sqlite3_finalize(st);
	free(cp);
	return rc;
}

static vg_rc insert_record(vg_audit *a, sqlite3_stmt *st, const vg_audit_record *r,
			   const uint8_t *enc, size_t enc_len)
{
	(void)sqlite3_reset(st);
	if (sqlite3_bind_int64(st, 1, (int64_t)r->seq) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, enc, (int)enc_len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, r->hash, VG_AUDIT_HASH_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		return VG_ERR_IO;
	return VG_OK;
}

/* Signs a checkpoint over (next_seq, head) now. cp->sig is callee-allocated
 * (vg_free). The signature is checked against the public key, so a log is
 * never written with checkpoints nobody can verify. */
static vg_rc sign_checkpoint(vg_audit *a, uint32_t kind, uint64_t next_seq,
			     const uint8_t head[static VG_AUDIT_HASH_LEN], vg_audit_cp *cp)
{
	uint8_t msg[VG_AUDIT_CP_MSG_LEN];
	vg_rc rc;

	memset(cp, 0, sizeof *cp);
	if (!a->sign || !a->pub)
		return VG_ERR_INVALID;
	cp->kind = kind;
	cp->next_seq = next_seq;
	memcpy(cp->head, head, VG_AUDIT_HASH_LEN);
	cp->time = vg_time_now(&cp->clock_synced);
	vg_audit_checkpoint_message(a->log_id, cp, msg);
	rc = a->sign(a->sign_ctx, msg, sizeof msg, &cp->sig, &cp->sig_len);
	if (rc != VG_OK) {
		cp->sig = NULL;
		cp->sig_len = 0;
		return rc;
	}
	if (!cp->sig || cp->sig_len == 0 || cp->sig_len > VG_AUDIT_SIG_MAX ||
	    vg_audit_sig_verify(a->pub, a->pub_len, msg, sizeof msg, cp->sig, cp->sig_len) != VG_OK)
		rc = VG_ERR_CRYPTO;
	if (rc != VG_OK) {
		vg_free(cp->sig, cp->sig_len);
		cp->sig = NULL;
		cp->sig_len = 0;
	}
	return rc;
}

/*
 * All queued records in one transaction. force_kind != 0 signs a checkpoint
 * of that kind even if none is due. Every cryptographic step (MACs, key
 * evolution, signature, sealing) happens before BEGIN, on copies, so a
 * failed transaction leaves the in-memory state untouched for a retry.
 */
static vg_rc flush_internal(vg_audit *a, uint32_t force_kind)
{
	uint8_t *k = NULL, prev[VG_AUDIT_HASH_LEN], head_anchor[HEAD_ANCHOR_LEN];
	uint8_t **enc = NULL, *blob = NULL, *cp_enc = NULL;
	size_t *enc_len = NULL, blob_len = 0, cp_enc_len = 0, n = 0;
	vg_audit_cp cp = {0};
	sqlite3_stmt *st = NULL;
	uint64_t new_next, new_first = a->first_seq, counter;
	bool want_cp, committed = false;
	vg_rc rc;

	if (a->n_pending)
		summaries_due(a, force_kind == VG_AUDIT_CP_SEAL || force_kind == VG_AUDIT_CP_EXPORT,
			      NULL, mono_ms(a));
	if (a->dropped && writable(a)) {
		char d[80];
		(void)snprintf(d, sizeof d, "%" PRIu64 " events dropped: queue full", a->dropped);
		if (self_event(a, "audit.dropped", "failure", d) == VG_OK)
			a->dropped = 0;
	}
	if (a->nq == 0 && !force_kind)
		return VG_OK;
	/* A checkpoint of this kind already covers the head: signing again
	 * would only add rows (e.g. restarts without events). */
	if (a->nq == 0 && a->last_cp == a->next_seq && a->last_kind == force_kind)
		return VG_OK;
	if (!writable(a)) {
		echo_pending(a, vg_rc_str(vg_db_state(a->db)));
		return vg_db_state(a->db);
	}
	n = a->nq;
	new_next = a->next_seq + n;
	want_cp = force_kind || new_next - a->last_cp >= a->cp_every;

	rc = VG_ERR_NOMEM;
	k = vg_secret_alloc(KEY_LEN);
	enc = calloc(n ? n : 1, sizeof *enc);
	enc_len = calloc(n ? n : 1, sizeof *enc_len);
	if (!k || !enc || !enc_len)
		goto out;
	memcpy(k, a->key, KEY_LEN);
	memcpy(prev, a->head, sizeof prev);
	for (size_t i = 0; i < n; i++) {
		vg_audit_record *r = &a->q[i].r;
		rc = vg_audit_record_mac(k, prev, r, r->mac);
		if (rc == VG_OK)
			rc = vg_audit_record_encode(r, &enc[i], &enc_len[i]);
		if (rc == VG_OK)
			rc = vg_audit_record_hash(prev, r, r->hash);
		/* K_seq is overwritten by K_seq+1 in place: one-way. */
		if (rc == VG_OK)
			rc = vg_audit_key_evolve(k, r->seq, k);
		if (rc != VG_OK)
			goto out;
		memcpy(prev, r->hash, sizeof prev);
	}
	if (want_cp) {
		rc = sign_checkpoint(a, force_kind ? force_kind : VG_AUDIT_CP_PERIODIC, new_next,
				     prev, &cp);
		if (rc == VG_OK)
			rc = vg_audit_checkpoint_encode(&cp, &cp_enc, &cp_enc_len);
		if (rc != VG_OK)
			goto out;
	}
	rc = seal_blob(a, false, new_next, k, &blob, &blob_len);
	if (rc != VG_OK)
		goto out;
	put_be64(head_anchor, new_next);
	memcpy(head_anchor + 8, prev, VG_AUDIT_HASH_LEN);

	counter = vg_db_counter(a->db);
	rc = vg_db_begin(a->db);
	if (rc != VG_OK)
		goto out;
	rc = VG_ERR_IO;
	if (n && sqlite3_prepare_v2(vg_db_handle(a->db),
				    "INSERT INTO audit_records(seq, rec, hash) VALUES (?, ?, ?)",
				    -1, &st, NULL) != SQLITE_OK)
		goto rollback;
	for (size_t i = 0; i < n; i++) {
		rc = insert_record(a, st, &a->q[i].r, enc[i], enc_len[i]);
		if (rc != VG_OK)
			goto rollback;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (want_cp) {
		sqlite3_stmt *cs = NULL;
		rc = VG_ERR_IO;
		if (sqlite3_prepare_v2(vg_db_handle(a->db),
				       "INSERT INTO audit_checkpoints(next_seq, cp) VALUES (?, ?)",
				       -1, &cs, NULL) == SQLITE_OK &&
		    sqlite3_bind_int64(cs, 1, (int64_t)new_next) == SQLITE_OK &&
		    sqlite3_bind_blob(cs, 2, cp_enc, (int)cp_enc_len, SQLITE_STATIC) == SQLITE_OK &&
		    sqlite3_step(cs) == SQLITE_DONE)
			rc = VG_OK;
		sqlite3_finalize(cs);
		if (rc != VG_OK)
			goto rollback;
	}
	rc = rotate(a, new_next, &new_first);
	if (rc == VG_OK)
		rc = state_put(a, "fskey", blob, blob_len);
	if (rc == VG_OK)
		rc = vg_db_anchor_set(a->db, HEAD_ANCHOR, head_anchor, sizeof head_anchor);
	if (rc != VG_OK)
		goto rollback;
	rc = vg_db_commit(a->db);
	/* A commit whose data is durable but whose RoT update failed still
	 * moved the counter: the records are in, so keep our state in step. */
	committed = rc == VG_OK || vg_db_counter(a->db) != counter;
	goto out;
rollback:
	sqlite3_finalize(st);
	st = NULL;
	vg_db_rollback(a->db);
out:
	sqlite3_finalize(st);
	if (committed) {
		memcpy(a->key, k, KEY_LEN);
		memcpy(a->head, prev, sizeof prev);
		a->next_seq = new_next;
		a->first_seq = new_first;
		if (want_cp) {
			a->last_cp = new_next;
			a->last_kind = cp.kind;
		}
		queue_clear(a);
		/* Superseded key blobs must not linger in the WAL. */
		if (want_cp)
			VG_IGNORE(vg_db_scrub(a->db));
	}
	vg_secret_free(k, KEY_LEN);
	vg_wipe(prev, sizeof prev);
	for (size_t i = 0; enc && i < n; i++)
		vg_free(enc[i], enc_len[i]);
	free(enc);
	free(enc_len);
	vg_free(blob, blob_len);
	vg_free(cp_enc, cp_enc_len);
	vg_free(cp.sig, cp.sig_len);
	return rc;
}

/* ---- open: load and check what is stored ---- */

struct loaded {
	bool broken;
	char why[128];
	uint64_t next;                   /* where the new records go */
	uint8_t head[VG_AUDIT_HASH_LEN]; /* and what they chain from */
	uint64_t first;
	uint64_t last_cp;
	uint32_t last_kind;
	bool sealed; /* the newest checkpoint is a seal at the head */
};

static void broken(struct loaded *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void broken(struct loaded *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->broken)
		return; /* keep the first reason */
	ld->broken = true;
	va_start(ap, fmt);
	(void)vsnprintf(ld->why, sizeof ld->why, fmt, ap);
	va_end(ap);
}

static vg_rc load_checkpoints(vg_audit *a, vg_audit_cp **out, size_t *n, struct loaded *ld)
{
	sqlite3_stmt *st = NULL;
	vg_audit_cp *cps = NULL;
	size_t cap = 0;
	vg_rc rc = VG_ERR_IO;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT next_seq, cp FROM audit_checkpoints ORDER BY next_seq, id",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		vg_audit_cp cp;
		uint8_t msg[VG_AUDIT_CP_MSG_LEN];
		int len = sqlite3_column_bytes(st, 1);
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			vg_audit_cp *ncps = realloc(cps, ncap * sizeof *ncps);
			if (!ncps) {
				rc = VG_ERR_NOMEM;
				goto out;
			}
			cps = ncps;
			cap = ncap;
		}
		if (len <= 0 || vg_audit_checkpoint_decode(sqlite3_column_blob(st, 1), (size_t)len,
							   &cp) != VG_OK) {
			broken(ld, "checkpoint row unreadable");
			continue;
		}
		if ((uint64_t)sqlite3_column_int64(st, 0) != cp.next_seq)
			broken(ld, "checkpoint row for seq < %" PRIu64 " misplaced", cp.next_seq);
		vg_audit_checkpoint_message(a->log_id, &cp, msg);
		if (vg_audit_sig_verify(a->pub, a->pub_len, msg, sizeof msg, cp.sig, cp.sig_len) !=
		    VG_OK)
			broken(ld, "checkpoint for seq < %" PRIu64 " has a bad signature",
			       cp.next_seq);
		cps[(*n)++] = cp;
	}
	if (r == SQLITE_DONE)
		rc = VG_OK;
out:
	sqlite3_finalize(st);
	if (rc != VG_OK) {
		for (size_t i = 0; i < *n; i++)
			vg_audit_checkpoint_clear(&cps[i]);
		free(cps);
		*n = 0;
		return rc;
	}
	*out = cps;
	return VG_OK;
}

/* Walks the stored chain from the rotation anchor (or zero) through every
 * record and checkpoint, like the offline verifier does. Stops judging at
 * the first inconsistency but always returns where the rows end. */
static vg_rc walk_chain(vg_audit *a, struct loaded *ld, uint64_t *walk_next,
			uint8_t walk_head[static VG_AUDIT_HASH_LEN])
{
	vg_audit_cp *cps = NULL, anchor = {0};
	size_t ncp = 0, ci = 0, alen = 0;
	sqlite3_stmt *st = NULL;
	uint8_t *ablob = NULL, h[VG_AUDIT_HASH_LEN] = {0};
	uint64_t expect = 0;
	bool judging = true;
	vg_rc rc;
	int r;

	rc = state_get(a, "anchor", &ablob, &alen);
	if (rc == VG_OK) {
		uint8_t msg[VG_AUDIT_CP_MSG_LEN];
		if (vg_audit_checkpoint_decode(ablob, alen, &anchor) != VG_OK) {
			broken(ld, "rotation anchor unreadable");
		} else {
			vg_audit_checkpoint_message(a->log_id, &anchor, msg);
			if (vg_audit_sig_verify(a->pub, a->pub_len, msg, sizeof msg, anchor.sig,
						anchor.sig_len) != VG_OK)
				broken(ld, "rotation anchor has a bad signature");
			expect = anchor.next_seq;
			memcpy(h, anchor.head, sizeof h);
		}
	} else if (rc != VG_ERR_NOT_FOUND) {
		goto out;
	}
	ld->first = expect;
	ld->last_cp = expect;
	rc = load_checkpoints(a, &cps, &ncp, ld);
	if (rc != VG_OK)
		goto out;
	rc = VG_ERR_IO;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT seq, rec, hash FROM audit_records ORDER BY seq", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	for (;;) {
		vg_audit_record rec;
		uint8_t nh[VG_AUDIT_HASH_LEN];
		int64_t seq;
		int rl;

		while (judging && ci < ncp && cps[ci].next_seq <= expect) {
			if (cps[ci].next_seq < expect ||
			    CRYPTO_memcmp(cps[ci].head, h, sizeof h) != 0) {
				broken(ld,
				       "checkpoint for seq < %" PRIu64
				       " disagrees with the records",
				       cps[ci].next_seq);
				judging = false;
			}
			ci++;
		}
		r = sqlite3_step(st);
		if (r != SQLITE_ROW)
			break;
		seq = sqlite3_column_int64(st, 0);
		if (!judging) {
			/* Only where the rows end matters now. */
			expect = seq >= 0 ? (uint64_t)seq + 1 : expect;
			if (sqlite3_column_bytes(st, 2) == VG_AUDIT_HASH_LEN)
				memcpy(h, sqlite3_column_blob(st, 2), sizeof h);
			continue;
		}
		rl = sqlite3_column_bytes(st, 1);
		if (seq < 0 || (uint64_t)seq != expect) {
			broken(ld, "record %" PRIu64 " missing (sequence break)", expect);
			judging = false;
			expect = seq >= 0 ? (uint64_t)seq + 1 : expect;
			continue;
		}
		if (rl <= 0 ||
		    vg_audit_record_decode(sqlite3_column_blob(st, 1), (size_t)rl, &rec) != VG_OK) {
			broken(ld, "record %" PRIu64 " unreadable", expect);
			judging = false;
			expect++;
			continue;
		}
		rc = vg_audit_record_hash(h, &rec, nh);
		if (rc == VG_OK && rec.seq != expect)
			broken(ld, "record %" PRIu64 " carries seq %" PRIu64, expect, rec.seq);
		else if (rc == VG_OK &&
			 (sqlite3_column_bytes(st, 2) != VG_AUDIT_HASH_LEN ||
			  CRYPTO_memcmp(sqlite3_column_blob(st, 2), nh, sizeof nh) != 0))
			broken(ld, "record %" PRIu64 " was altered", expect);
		vg_audit_record_clear(&rec);
		if (rc != VG_OK)
			goto out;
		if (ld->broken)
			judging = false;
		memcpy(h, nh, sizeof h);
		expect++;
	}
	rc = r == SQLITE_DONE ? VG_OK : VG_ERR_IO;
	if (rc != VG_OK)
		goto out;
	if (judging && ci < ncp)
		broken(ld, "checkpoint for seq < %" PRIu64 " has no records", cps[ci].next_seq);
	/* Where checkpoints stand and whether the last run ended with a seal. */
	for (size_t i = 0; i < ncp; i++)
		if (cps[i].next_seq > ld->last_cp && cps[i].next_seq <= expect)
			ld->last_cp = cps[i].next_seq;
	if (ncp > 0 && cps[ncp - 1].next_seq == expect)
		ld->last_kind = cps[ncp - 1].kind;
	ld->sealed = ld->last_kind == VG_AUDIT_CP_SEAL;
	*walk_next = expect;
	memcpy(walk_head, h, sizeof h);
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < ncp; i++)
		vg_audit_checkpoint_clear(&cps[i]);
	free(cps);
	vg_audit_checkpoint_clear(&anchor);
	free(ablob);
	return rc;
}

/* One probe signature proves that `sign` and pub_der are the same key. */
static vg_rc probe_key(vg_audit *a)
{
	uint8_t msg[sizeof probe_label + VG_AUDIT_LOG_ID_LEN], *sig = NULL;
	size_t sig_len = 0;
	vg_rc rc;

	if (!a->sign)
		return VG_OK; /* read-only: nothing will be signed */
	memcpy(msg, probe_label, sizeof probe_label);
	memcpy(msg + sizeof probe_label, a->log_id, VG_AUDIT_LOG_ID_LEN);
	rc = a->sign(a->sign_ctx, msg, sizeof msg, &sig, &sig_len);
	if (rc != VG_OK)
		return rc;
	if (!sig || vg_audit_sig_verify(a->pub, a->pub_len, msg, sizeof msg, sig, sig_len) != VG_OK)
		rc = VG_ERR_INVALID;
	vg_free(sig, sig_len);
	return rc;
}

/* A new log: identity, K0 (kept sealed until the admin takes it), and the
 * head anchor, in one transaction. */
static vg_rc create_log(vg_audit *a)
{
	uint8_t *row = NULL, *seed_blob = NULL, *key_blob = NULL, head[HEAD_ANCHOR_LEN] = {0};
	size_t row_len = 1 + VG_AUDIT_LOG_ID_LEN + a->pub_len, sb_len = 0, kb_len = 0;
	vg_rc rc;

	rc = vg_rot_random(vg_db_rot(a->db), a->log_id, sizeof a->log_id);
	if (rc == VG_OK)
		rc = vg_rot_random(vg_db_rot(a->db), a->key, KEY_LEN);
	if (rc != VG_OK)
		return rc;
	rc = probe_key(a);
	if (rc != VG_OK || !writable(a))
		return rc; /* nothing can be stored: the log lives in memory */
	row = malloc(row_len);
	if (!row)
		return VG_ERR_NOMEM;
	row[0] = LOG_ROW_VERSION;
	memcpy(row + 1, a->log_id, VG_AUDIT_LOG_ID_LEN);
	memcpy(row + 1 + VG_AUDIT_LOG_ID_LEN, a->pub, a->pub_len);
	rc = seal_blob(a, true, 0, a->key, &seed_blob, &sb_len);
	if (rc == VG_OK)
		rc = seal_blob(a, false, 0, a->key, &key_blob, &kb_len);
	if (rc == VG_OK)
		rc = vg_db_begin(a->db);
	if (rc != VG_OK)
		goto out;
	rc = state_put(a, "log", row, row_len);
	if (rc == VG_OK)
		rc = state_put(a, "seed", seed_blob, sb_len);
	if (rc == VG_OK)
		rc = state_put(a, "fskey", key_blob, kb_len);
	if (rc == VG_OK)
		rc = vg_db_anchor_set(a->db, HEAD_ANCHOR, head, sizeof head);
	if (rc == VG_OK)
		rc = vg_db_commit(a->db);
	else
		vg_db_rollback(a->db);
out:
	free(row);
	vg_free(seed_blob, sb_len);
	vg_free(key_blob, kb_len);
	return rc;
}

static vg_rc load_log(vg_audit *a, struct loaded *ld, bool *fresh)
{
	uint8_t anch[HEAD_ANCHOR_LEN + 1], *row = NULL, *kb = NULL;
	size_t anch_len = 0, row_len = 0, kb_len = 0;
	uint8_t walk_head[VG_AUDIT_HASH_LEN] = {0};
	uint64_t walk_next = 0;
	int64_t nrec = 0, ncp = 0;
	bool have_head, have_row;
	vg_rc rc;

	*fresh = false;
	rc = vg_db_anchor_get(a->db, HEAD_ANCHOR, anch, sizeof anch, &anch_len);
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND && rc != VG_ERR_TOO_LARGE)
		return rc;
	have_head = rc != VG_ERR_NOT_FOUND;
	rc = state_get(a, "log", &row, &row_len);
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND && rc != VG_ERR_INTEGRITY)
		return rc;
	have_row = rc != VG_ERR_NOT_FOUND;
	if (query_int(a, "SELECT COUNT(*) FROM audit_records", 0, &nrec) != VG_OK ||
	    query_int(a, "SELECT COUNT(*) FROM audit_checkpoints", 0, &ncp) != VG_OK) {
		rc = VG_ERR_IO;
		goto out;
	}
	if (!have_head && !have_row && nrec == 0 && ncp == 0) {
		*fresh = true;
		rc = create_log(a);
		goto out;
	}

	if (have_row && row_len > 1 + VG_AUDIT_LOG_ID_LEN && row[0] == LOG_ROW_VERSION) {
		memcpy(a->log_id, row + 1, VG_AUDIT_LOG_ID_LEN);
		if (!a->pub) {
			a->pub_len = row_len - 1 - VG_AUDIT_LOG_ID_LEN;
			a->pub = malloc(a->pub_len);
			if (!a->pub) {
				a->pub_len = 0;
				rc = VG_ERR_NOMEM;
				goto out;
			}
			memcpy(a->pub, row + 1 + VG_AUDIT_LOG_ID_LEN, a->pub_len);
		}
		if (row_len - 1 - VG_AUDIT_LOG_ID_LEN != a->pub_len ||
		    CRYPTO_memcmp(row + 1 + VG_AUDIT_LOG_ID_LEN, a->pub, a->pub_len) != 0) {
			/* Another signing key would orphan every checkpoint. */
			rc = VG_ERR_INVALID;
			goto out;
		}
	} else {
		broken(ld, "log identity missing");
		rc = vg_rot_random(vg_db_rot(a->db), a->log_id, sizeof a->log_id);
		if (rc != VG_OK)
			goto out;
	}
	rc = probe_key(a);
	if (rc != VG_OK)
		goto out;

	rc = walk_chain(a, ld, &walk_next, walk_head);
	if (rc != VG_OK)
		goto out;
	if (have_head && anch_len == HEAD_ANCHOR_LEN) {
		ld->next = get_be64(anch);
		memcpy(ld->head, anch + 8, VG_AUDIT_HASH_LEN);
		if (ld->next != walk_next ||
		    CRYPTO_memcmp(ld->head, walk_head, VG_AUDIT_HASH_LEN) != 0)
			broken(ld, "records disagree with the anchored head (seq < %" PRIu64 ")",
			       ld->next);
	} else {
		broken(ld, "anchored chain head missing or malformed");
		ld->next = walk_next;
		memcpy(ld->head, walk_head, VG_AUDIT_HASH_LEN);
	}
	if (ld->next > VG_AUDIT_SEQ_MAX) {
		rc = VG_ERR_INTEGRITY;
		goto out;
	}
	if (ld->last_cp > ld->next)
		ld->last_cp = ld->next;
	if (ld->first > ld->next)
		ld->first = ld->next;

	/* The current key must be exactly the one for position `next`. */
	rc = state_get(a, "fskey", &kb, &kb_len);
	if (rc == VG_OK)
		rc = unseal_blob(a, false, ld->next, kb, kb_len, a->key);
	if (rc == VG_ERR_NOMEM || rc == VG_ERR_IO)
		goto out;
	if (rc != VG_OK) {
		/* Records from here on will not verify against the seed: the
		 * break in the key chain is the evidence. */
		broken(ld, "forward-secure key state unreadable");
		rc = vg_rot_random(vg_db_rot(a->db), a->key, KEY_LEN);
		if (rc != VG_OK)
			goto out;
	}
	rc = VG_OK;
out:
	free(row);
	vg_free(kb, kb_len);
	return rc;
}

/* Rows beyond the anchored head cannot be ours (records and head are
 * written in one transaction): keep them as evidence, out of the chain. */
static vg_rc quarantine(vg_audit *a, uint64_t next)
{
	vg_rc rc = vg_db_begin(a->db);

	if (rc != VG_OK)
		return rc;
	rc = exec2(a,
		   "INSERT INTO audit_quarantine(what, seq, val) SELECT 'record', seq, rec"
		   " FROM audit_records WHERE seq >= ?",
		   (int64_t)next, 0);
	if (rc == VG_OK)
		rc = exec2(a, "DELETE FROM audit_records WHERE seq >= ?", (int64_t)next, 0);
	if (rc == VG_OK)
		rc = exec2(a,
			   "INSERT INTO audit_quarantine(what, seq, val) SELECT 'checkpoint',"
			   " next_seq, cp FROM audit_checkpoints WHERE next_seq > ?",
			   (int64_t)next, 0);
	if (rc == VG_OK)
		rc = exec2(a, "DELETE FROM audit_checkpoints WHERE next_seq > ?", (int64_t)next, 0);
	if (rc != VG_OK) {
		vg_db_rollback(a->db);
		return rc;
	}
	return vg_db_commit(a->db);
}

vg_rc vg_audit_open(vg_audit **out, vg_db *db, const vg_audit_opts *opts, vg_audit_sign_fn sign,
		    void *sign_ctx, const uint8_t *pub_der, size_t pub_der_len)
{
	struct loaded ld = {0};
	vg_audit *a = NULL;
	bool fresh = false;
	vg_rc rc;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!db)
		return VG_ERR_INVALID;
	/* Without a key (allowed only when the database refuses writes, so
	 * nothing will be signed) the stored log's own key is used to check
	 * and export what is there. */
	if (sign || pub_der || vg_db_state(db) == VG_OK) {
		if (!sign || vg_audit_pubkey_check(pub_der, pub_der_len) != VG_OK)
			return VG_ERR_INVALID;
	}
	a = calloc(1, sizeof *a);
	if (!a)
		return VG_ERR_NOMEM;
	a->db = db;
	a->sign = sign;
	a->sign_ctx = sign_ctx;
	a->state = VG_OK;
	a->cp_every =
	    opts && opts->checkpoint_every ? opts->checkpoint_every : DEFAULT_CHECKPOINT_EVERY;
	a->max_records = opts && opts->max_records ? opts->max_records : DEFAULT_MAX_RECORDS;
	a->max_queue = opts && opts->max_queue ? opts->max_queue : DEFAULT_MAX_QUEUE;
	a->rate = opts && opts->rate_per_s ? opts->rate_per_s : VG_AUDIT_DEFAULT_RATE_PER_S;
	a->burst_milli =
	    (uint64_t)(opts && opts->burst ? opts->burst : VG_AUDIT_DEFAULT_BURST) * 1000u;
	a->summary_ms =
	    (uint64_t)(opts && opts->summary_every_s ? opts->summary_every_s : 60u) * 1000u;
	a->clock = opts ? opts->clock : NULL;
	a->clock_ctx = opts ? opts->clock_ctx : NULL;
	a->rl[RL_BUCKETS].used = true; /* shared by uids without a bucket */
	a->rl[RL_BUCKETS].milli = a->burst_milli;
	a->rl[RL_BUCKETS].last_ms = mono_ms(a);
	/* Rotation needs a checkpoint inside the last max_records records. */
	if (a->cp_every > a->max_records)
		a->cp_every = (uint32_t)a->max_records;
	a->key = vg_secret_alloc(KEY_LEN);
	a->pub = pub_der ? malloc(pub_der_len) : NULL;
	if (!a->key || (pub_der && !a->pub)) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}
	if (pub_der) {
		memcpy(a->pub, pub_der, pub_der_len);
		a->pub_len = pub_der_len;
	}
	rc = vg_db_exec(db, schema);
	if (rc != VG_OK)
		goto fail;
	rc = load_log(a, &ld, &fresh);
	if (rc != VG_OK)
		goto fail;
	if (!fresh) {
		a->next_seq = ld.next;
		a->first_seq = ld.first;
		a->last_cp = ld.last_cp;
		a->last_kind = ld.last_cp == ld.next ? ld.last_kind : 0;
		memcpy(a->head, ld.head, sizeof a->head);
	}
	if (ld.broken) {
		a->state = VG_ERR_INTEGRITY;
		if (writable(a)) {
			rc = quarantine(a, a->next_seq);
			if (rc != VG_OK)
				goto fail;
		}
		rc = self_event(a, "audit.integrity", "failure", ld.why);
		if (rc != VG_OK)
			goto fail;
	} else if (!fresh && !ld.sealed) {
		rc = self_event(a, "audit.unsealed_shutdown", "failure",
				"the previous run left no seal checkpoint (crash or power loss?)");
		if (rc != VG_OK)
			goto fail;
	}
	/* Commit what the open found now; on failure the daemon's next
	 * flush retries (the events stay queued). */
	if (a->nq && writable(a))
		VG_IGNORE(flush_internal(a, 0));
	a->ready = true;
	*out = a;
	return VG_OK;
fail:
	vg_audit_close(&a);
	return rc;
}

vg_rc vg_audit_append(vg_audit *a, const vg_audit_event *ev)
{
	vg_rc rc = VG_OK;

	if (!a || !event_valid(ev))
		return VG_ERR_INVALID;
	if (!admit(a, ev))
		return VG_OK; /* counted: it will be in an "audit.suppressed" record */
	if (a->nq >= a->max_queue) {
		if (writable(a))
			rc = flush_internal(a, 0);
		if (a->nq >= a->max_queue) {
			/* Memory stays bounded: the event goes to stderr only,
			 * unnumbered, and the loss is recorded later. */
			vg_audit_record r = {
			    .seq = UINT64_MAX, /* not numbered */
			    .type = (char *)ev->type,
			    .outcome = (char *)ev->outcome,
			    .detail = ev->detail ? sanitize_detail(ev->detail) : NULL,
			    .uid = ev->uid,
			    .gid = ev->gid,
			    .pid = ev->pid,
			    .role = (char *)ev->role,
			};
			r.time = vg_time_now(&r.clock_synced);
			echo(&r, "dropped: queue full, seq not assigned");
			free(r.detail);
			a->dropped++;
			return rc != VG_OK ? rc : VG_ERR_TOO_LARGE;
		}
	}
	return enqueue(a, ev);
}

vg_rc vg_audit_flush(vg_audit *a)
{
	if (!a)
		return VG_ERR_INVALID;
	return flush_internal(a, 0);
}

vg_rc vg_audit_checkpoint(vg_audit *a)
{
	if (!a)
		return VG_ERR_INVALID;
	return flush_internal(a, VG_AUDIT_CP_PERIODIC);
}

static vg_rc load_records(vg_audit *a, vg_audit_record **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	vg_audit_record *recs = NULL;
	size_t cap = 0;
	vg_rc rc = VG_ERR_IO;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT rec, hash FROM audit_records ORDER BY seq", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 0);
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			vg_audit_record *nr = realloc(recs, ncap * sizeof *nr);
			if (!nr) {
				rc = VG_ERR_NOMEM;
				goto out;
			}
			recs = nr;
			cap = ncap;
		}
		/* A row that does not decode cannot be exported faithfully:
		 * fail rather than silently skip it. */
		rc = len > 0 ? vg_audit_record_decode(sqlite3_column_blob(st, 0), (size_t)len,
						      &recs[*n])
			     : VG_ERR_INTEGRITY;
		if (rc != VG_OK) {
			rc = rc == VG_ERR_NOMEM ? rc : VG_ERR_INTEGRITY;
			goto out;
		}
		if (sqlite3_column_bytes(st, 1) == VG_AUDIT_HASH_LEN)
			memcpy(recs[*n].hash, sqlite3_column_blob(st, 1), VG_AUDIT_HASH_LEN);
		(*n)++;
		rc = VG_ERR_IO;
	}
	if (r == SQLITE_DONE)
		rc = VG_OK;
out:
	sqlite3_finalize(st);
	if (rc != VG_OK) {
		for (size_t i = 0; i < *n; i++)
			vg_audit_record_clear(&recs[i]);
		free(recs);
		*n = 0;
		return rc;
	}
	*out = recs;
	return VG_OK;
}

static vg_rc load_cps_raw(vg_audit *a, vg_audit_cp **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	vg_audit_cp *cps = NULL;
	size_t cap = 0;
	vg_rc rc = VG_ERR_IO;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT cp FROM audit_checkpoints ORDER BY next_seq, id", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 0);
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			vg_audit_cp *nc = realloc(cps, ncap * sizeof *nc);
			if (!nc) {
				rc = VG_ERR_NOMEM;
				goto out;
			}
			cps = nc;
			cap = ncap;
		}
		rc = len > 0 ? vg_audit_checkpoint_decode(sqlite3_column_blob(st, 0), (size_t)len,
							  &cps[*n])
			     : VG_ERR_INTEGRITY;
		if (rc != VG_OK) {
			rc = rc == VG_ERR_NOMEM ? rc : VG_ERR_INTEGRITY;
			goto out;
		}
		(*n)++;
		rc = VG_ERR_IO;
	}
	if (r == SQLITE_DONE)
		rc = VG_OK;
out:
	sqlite3_finalize(st);
	if (rc != VG_OK) {
		for (size_t i = 0; i < *n; i++)
			vg_audit_checkpoint_clear(&cps[i]);
		free(cps);
		*n = 0;
		return rc;
	}
	*out = cps;
	return VG_OK;
}

vg_rc vg_audit_export(vg_audit *a, uint8_t **out, size_t *len)
{
	vg_audit_record *recs = NULL;
	vg_audit_cp *cps = NULL, anchor = {0};
	size_t nrec = 0, ncp = 0, alen = 0;
	uint8_t *ablob = NULL;
	bool has_anchor = false;
	vg_rc rc;

	if (!out || !len)
		return VG_ERR_INVALID;
	*out = NULL;
	*len = 0;
	if (!a)
		return VG_ERR_INVALID;
	/* A database that refuses writes can still be exported for
	 * forensics, as stored: without a fresh export checkpoint, so the
	 * verifier reports the unsealed end. */
	if (writable(a)) {
		rc = flush_internal(a, VG_AUDIT_CP_EXPORT);
		if (rc != VG_OK)
			return rc;
	}
	rc = state_get(a, "anchor", &ablob, &alen);
	if (rc == VG_OK) {
		rc = vg_audit_checkpoint_decode(ablob, alen, &anchor);
		if (rc != VG_OK)
			rc = rc == VG_ERR_NOMEM ? rc : VG_ERR_INTEGRITY;
		has_anchor = rc == VG_OK;
	} else if (rc == VG_ERR_NOT_FOUND) {
		rc = VG_OK;
	}
	if (rc == VG_OK)
		rc = load_records(a, &recs, &nrec);
	if (rc == VG_OK)
		rc = load_cps_raw(a, &cps, &ncp);
	if (rc == VG_OK)
		rc = vg_audit_export_encode(a->log_id, a->pub, a->pub_len,
					    has_anchor ? &anchor : NULL, NULL, recs, nrec, cps, ncp,
					    out, len);
	for (size_t i = 0; i < nrec; i++)
		vg_audit_record_clear(&recs[i]);
	free(recs);
	for (size_t i = 0; i < ncp; i++)
		vg_audit_checkpoint_clear(&cps[i]);
	free(cps);
	vg_audit_checkpoint_clear(&anchor);
	free(ablob);
	return rc;
}

vg_rc vg_audit_take_seed(vg_audit *a, uint8_t seed[static 32])
{
	uint8_t *blob = NULL, *k = NULL;
	size_t blob_len = 0;
	vg_rc rc;

	if (!a)
		return VG_ERR_INVALID;
	if (!writable(a)) {
		rc = vg_db_state(a->db);
		goto out;
	}
	rc = state_get(a, "seed", &blob, &blob_len);
	if (rc != VG_OK)
		goto out;
	k = vg_secret_alloc(KEY_LEN);
	if (!k) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	rc = unseal_blob(a, true, 0, blob, blob_len, k);
	if (rc != VG_OK)
		goto out;
	rc = vg_db_begin(a->db);
	if (rc != VG_OK)
		goto out;
	rc = exec2(a, "DELETE FROM audit_state WHERE name = 'seed'", 0, 0);
	if (rc != VG_OK) {
		vg_db_rollback(a->db);
		goto out;
	}
	rc = vg_db_commit(a->db);
	if (rc != VG_OK)
		goto out;
	/* secure_delete cleared the row in the database file; the WAL
	 * still holds the page until it is checkpointed and truncated. */
	VG_IGNORE(vg_db_scrub(a->db));
	memcpy(seed, k, KEY_LEN);
	VG_IGNORE(self_event(a, "audit.seed_taken", "success",
			     "forward-secure MAC seed handed out and deleted from the device"));
out:
	if (rc != VG_OK)
		vg_wipe(seed, KEY_LEN);
	vg_secret_free(k, KEY_LEN);
	vg_free(blob, blob_len);
	return rc;
}

vg_rc vg_audit_truncate(vg_audit *a, uint64_t *old_next, uint8_t old_head[static 32])
{
	sqlite3_stmt *st = NULL;
	uint8_t *cp = NULL;
	size_t cp_len = 0;
	vg_rc rc;

	/* A signed checkpoint over the head first: it becomes the anchor, the
	 * signed link from what follows to the chain that is dropped. */
	rc = flush_internal(a, VG_AUDIT_CP_EXPORT);
	if (rc != VG_OK)
		return rc;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT cp FROM audit_checkpoints WHERE next_seq = ?"
			       " ORDER BY id DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (int64_t)a->next_seq) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) <= 0) {
		sqlite3_finalize(st);
		return VG_ERR_IO;
	}
	cp_len = (size_t)sqlite3_column_bytes(st, 0);
	cp = malloc(cp_len);
	if (cp)
		memcpy(cp, sqlite3_column_blob(st, 0), cp_len);
	sqlite3_finalize(st);
	if (!cp)
		return VG_ERR_NOMEM;
	rc = vg_db_begin(a->db);
	if (rc == VG_OK) {
		rc = exec2(a, "DELETE FROM audit_records WHERE seq < ?", (int64_t)a->next_seq, 0);
		if (rc == VG_OK)
			rc = exec2(a, "DELETE FROM audit_checkpoints WHERE next_seq < ?",
				   (int64_t)a->next_seq, 0);
		if (rc == VG_OK)
			rc = state_put(a, "anchor", cp, cp_len);
		if (rc == VG_OK)
			rc = vg_db_commit(a->db);
		else
			vg_db_rollback(a->db);
	}
	free(cp);
	if (rc != VG_OK)
		return rc;
	a->first_seq = a->next_seq;
	*old_next = a->next_seq;
	memcpy(old_head, a->head, 32);
	return vg_db_scrub(a->db);
}

uint64_t vg_audit_next_seq(const vg_audit *a)
{
	return a ? a->next_seq + a->nq : 0;
}

vg_rc vg_audit_state(const vg_audit *a)
{
	return a ? a->state : VG_ERR_INVALID;
}

size_t vg_audit_pending(const vg_audit *a)
{
	return a ? a->nq : 0;
}

void vg_audit_stats_get(const vg_audit *a, vg_audit_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!a)
		return;
	out->suppressed = a->suppressed;
	out->suppressed_pending = a->suppressed_open;
}

void vg_audit_close(vg_audit **pa)
{
	vg_audit *a;

	if (!pa || !*pa)
		return;
	a = *pa;
	if (a->ready && writable(a)) {
		if (flush_internal(a, VG_AUDIT_CP_SEAL) != VG_OK)
			echo_pending(a, "shutdown flush failed");
		else
			VG_IGNORE(vg_db_scrub(a->db));
	}
	echo_pending(a, "shutdown");
	queue_clear(a);
	free(a->q);
	vg_secret_free(a->key, KEY_LEN);
	free(a->pub);
	vg_wipe(a, sizeof *a);
	free(a);
	*pa = NULL;
}
