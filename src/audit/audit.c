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
#define DEFAULT_MAX_QUEUE        1024u
#define HEAD_ANCHOR              "audit.head"
#define HEAD_ANCHOR_LEN          (8u + VG_AUDIT_HASH_LEN)
#define LOG_ROW_VERSION          1u
#define KEY_LEN                  32u

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS audit_records(seq INTEGER PRIMARY KEY,"
    " rec BLOB NOT NULL, hash BLOB NOT NULL, tier INTEGER NOT NULL DEFAULT 2,"
    " uid INTEGER NOT NULL DEFAULT -1);"
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

/* Retention tiers (docs/AUDIT.md section 4), dropped in this order. */
#define TIER_ROUTINE  0 /* an application's routine success */
#define TIER_CRITICAL 1 /* an application's security-relevant event */
#define TIER_SERVICE  2 /* the service's own events */

struct qent {
	vg_audit_record r;
	bool echoed; /* already printed to stderr */
};

/* Rate limiting (docs/AUDIT.md section 4): bounded tables, so memory stays
 * bounded whatever the callers do. A bucket per uid over its limit (or
 * with counts pending), the table grown up to RL_MAX_BUCKETS of them:
 * a uid shares a bucket, and so another's flood, only beyond that. */
#define RL_MAX_BUCKETS 1024u /* uids with their own bucket; the rest share one */
#define RL_COUNTERS    128u  /* (uid, type, outcome) counts of suppressed events */

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
	vg_tbucket tb;    /* tokens x 1000, never negative here */
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
	uint8_t *key;                          /* secret memory: K_{next_seq} */
	uint8_t head[VG_AUDIT_HASH_LEN];       /* h_{next_seq-1} (anchor's, or zero) */
	uint64_t next_seq;                     /* committed records end here */
	uint64_t first_seq;                    /* where the chain starts (anchor or 0) */
	uint8_t start_head[VG_AUDIT_HASH_LEN]; /* h(first_seq - 1) */
	uint64_t max_bytes;
	uint64_t stored;      /* bytes: records + hashes + checkpoints + anchor + drops */
	uint64_t nrecords;    /* rows in audit_records */
	vg_audit_drops drops; /* the signed drop summary (total 0: none) */
	size_t drops_len;     /* its stored size */
	uint64_t last_drop_from, last_drop_to;
	/* a paged export in progress (vg_audit_export_page) */
	bool page_active;
	uint64_t page_end;    /* its export checkpoint covers seq < page_end */
	uint64_t page_cursor; /* records before this were handed out */
	uint64_t page_deadline;
	uint8_t *page_cp; /* that checkpoint, encoded */
	size_t page_cp_len;
	uint64_t last_cp;   /* next_seq of the newest checkpoint */
	uint32_t last_kind; /* and its kind */
	struct qent *q;
	size_t nq, qcap;
	uint64_t dropped;
	vg_rc state;
	bool ready; /* opened: close may flush and seal */
	/* rate limiting */
	vg_audit_clock_fn clock;
	void *clock_ctx;
	uint64_t rate; /* tokens per second = milli-tokens per ms */
	int64_t burst_milli;
	uint64_t summary_ms;
	struct bucket *rl; /* n_rl buckets, grown on demand */
	size_t n_rl;
	struct bucket rl_shared; /* for uids beyond RL_MAX_BUCKETS, or out of memory */
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

/* The AAD of a sealed key: the seed's, or the state's for position seq. */
static size_t blob_aad(const vg_audit *a, bool seed, uint64_t seq,
		       uint8_t aad[static FSKEY_AAD_LEN])
{
	if (seed) {
		seed_aad(a, aad);
		return SEED_AAD_LEN;
	}
	fskey_aad(a, seq, aad);
	return FSKEY_AAD_LEN;
}

/* Seals key k as the state for position seq (or as the seed). */
static vg_rc seal_blob(vg_audit *a, bool seed, uint64_t seq, const uint8_t *k, uint8_t **blob,
		       size_t *blob_len)
{
	uint8_t sk[KEY_LEN], aad[FSKEY_AAD_LEN];
	size_t aad_len = blob_aad(a, seed, seq, aad);
	vg_rc rc;

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
	size_t aad_len = blob_aad(a, seed, seq, aad), pt_len = 0;
	uint64_t gen = 0;
	vg_rc rc;

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
	vg_tbucket_refill(&b->tb, now, a->rate, a->burst_milli);
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

/* A new bucket at the end of the table, or NULL (RL_MAX_BUCKETS, or no
 * memory). */
static struct bucket *bucket_grow(vg_audit *a)
{
	size_t old = a->n_rl, n = old ? old * 2 : 16;
	struct bucket *nb;

	if (old >= RL_MAX_BUCKETS)
		return NULL;
	if (n > RL_MAX_BUCKETS)
		n = RL_MAX_BUCKETS;
	nb = realloc(a->rl, n * sizeof *nb);
	if (!nb)
		return NULL;
	memset(nb + old, 0, (n - old) * sizeof *nb);
	a->rl = nb;
	a->n_rl = n;
	return &nb[old];
}

/* The bucket of uid. A full bucket with nothing pending is the same as a
 * fresh one, so it can be given to another uid; when none can, the table
 * grows; past RL_MAX_BUCKETS the uid shares one bucket with every other
 * such uid. */
static struct bucket *bucket_for(vg_audit *a, uint32_t uid, uint64_t now)
{
	struct bucket *slot = NULL;

	for (size_t i = 0; i < a->n_rl; i++) {
		struct bucket *b = &a->rl[i];
		if (b->used && b->uid == uid)
			return b;
		if (!b->used && !slot)
			slot = b;
	}
	for (size_t i = 0; !slot && i < a->n_rl; i++) {
		struct bucket *b = &a->rl[i];
		refill(a, b, now);
		if (b->tb.milli == a->burst_milli && !bucket_pending(a, b))
			slot = b;
	}
	if (!slot)
		slot = bucket_grow(a);
	if (!slot)
		return &a->rl_shared;
	memset(slot, 0, sizeof *slot);
	slot->used = true;
	slot->uid = uid;
	slot->tb.milli = a->burst_milli;
	slot->tb.last_ms = now;
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
 * Whether count c is to be summarised now: with `all`; when it is older
 * than summary_every_s; when its bucket is `only` (a bucket that allows
 * again); else, with no `only`, when its bucket has refilled to half its
 * burst (the flood is over). b is the bucket whose "other" count c is, or
 * NULL for a (uid, type, outcome) counter, whose bucket is its uid's own
 * if it has one (the shared bucket's uids are summarised by age alone).
 */
static bool sup_due(vg_audit *a, const struct sup *c, struct bucket *b, bool all,
		    const struct bucket *only, uint64_t now)
{
	if (all || (now >= c->start_ms && now - c->start_ms >= a->summary_ms))
		return true;
	if (only)
		return b ? b == only : only != &a->rl_shared && only->uid == c->uid;
	for (size_t j = 0; !b && j < a->n_rl; j++)
		if (a->rl[j].used && a->rl[j].uid == c->uid)
			b = &a->rl[j];
	if (!b)
		return false;
	refill(a, b, now);
	return b->tb.milli >= a->burst_milli / 2;
}

/* Writes the summaries that are due (sup_due): the counters', then each
 * bucket's "other" count. */
static void summaries_due(vg_audit *a, bool all, const struct bucket *only, uint64_t now)
{
	if (a->n_pending == 0)
		return;
	for (size_t i = 0; i < RL_COUNTERS; i++) {
		struct sup *c = &a->sup[i];
		if (c->used && sup_due(a, c, NULL, all, only, now))
			VG_IGNORE(summarise(a, c));
	}
	for (size_t j = 0; j <= a->n_rl; j++) {
		struct bucket *b = j < a->n_rl ? &a->rl[j] : &a->rl_shared;
		if (b->other.used && sup_due(a, &b->other, b, all, only, now))
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
	if (b->tb.milli < 1000) {
		suppress(a, b, ev, now);
		return false;
	}
	b->tb.milli -= 1000;
	/* The flood is over (half the burst came back): its summary goes
	 * before this event, so the log stays in time order. */
	if (a->n_pending && b->tb.milli >= a->burst_milli / 2)
		summaries_due(a, false, b, now);
	return true;
}

/* ---- group commit ---- */

bool vg_audit_is_critical(const char *type, const char *outcome, const char *role)
{
	static const char *const prefixes[] = {
	    "auth.",   "admin.",    "authz.",  "factory.",  "debug.", "audit.",       "service.",
	    "update.", "platform.", "config.", "identity.", "log.",   "store.commit",
	    "endpoint.", /* the endpoint list: device policy (SFR 4.2.8) */
	};
	static const char *const suffixes[] = {".integrity", ".rollback", ".policy_denied"};
	size_t tl;

	if (!type || !outcome || !role)
		return true;
	if (strcmp(role, "service") == 0 || strcmp(outcome, "success") != 0)
		return true;
	if (strcmp(type, "key.create") == 0 || strcmp(type, "key.delete") == 0)
		return true;
	for (size_t i = 0; i < VG_ARRAY_LEN(prefixes); i++)
		if (strncmp(type, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	tl = strlen(type);
	for (size_t i = 0; i < VG_ARRAY_LEN(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);
		if (tl >= sl && strcmp(type + tl - sl, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static int tier_of(const vg_audit_record *r)
{
	if (strcmp(r->role, "service") == 0)
		return TIER_SERVICE;
	return vg_audit_is_critical(r->type, r->outcome, r->role) ? TIER_CRITICAL : TIER_ROUTINE;
}

/* ---- retention: compaction with a signed drop summary ---- */

struct victim {
	uint64_t seq, time;
	size_t size; /* stored bytes freed */
	uint8_t hash[VG_AUDIT_HASH_LEN];
	char type[VG_AUDIT_TYPE_MAX + 1];
};

struct plan {
	struct victim *v;
	size_t n, cap;
	uint64_t freed;
	vg_audit_drops drops; /* the new summary, signed */
	uint8_t *blob;
	size_t blob_len;
};

static void plan_free(struct plan *p)
{
	free(p->v);
	vg_audit_drops_clear(&p->drops);
	vg_free(p->blob, p->blob_len);
	memset(p, 0, sizeof *p);
}

static int victim_cmp(const void *x, const void *y)
{
	const struct victim *a = x, *b = y;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The oldest `max` records of (tier, uid) after seq `after`, below `limit`.
 * Each is decoded and classified again: a stored tier that disagrees with
 * the record is tampering, and nothing is dropped on its word. */
static vg_rc pick(vg_audit *a, struct plan *p, int tier, int64_t uid, uint64_t after,
		  uint64_t limit, size_t max, uint64_t *last, size_t *got)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_IO;
	int r;

	*got = 0;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT seq, rec, hash FROM audit_records WHERE tier = ? AND uid = ?"
			       " AND seq > ? AND seq < ? ORDER BY seq LIMIT ?",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int(st, 1, tier) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, uid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (int64_t)after) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4,
			       (int64_t)(limit > VG_AUDIT_SEQ_MAX ? VG_AUDIT_SEQ_MAX : limit)) !=
		SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, (int64_t)max) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		vg_audit_record rec;
		struct victim *v;
		int len = sqlite3_column_bytes(st, 1);
		if (len <= 0 || sqlite3_column_bytes(st, 2) != VG_AUDIT_HASH_LEN ||
		    vg_audit_record_decode(sqlite3_column_blob(st, 1), (size_t)len, &rec) !=
			VG_OK) {
			rc = VG_ERR_INTEGRITY;
			goto out;
		}
		if (tier_of(&rec) != tier || (int64_t)rec.uid != uid ||
		    rec.seq != (uint64_t)sqlite3_column_int64(st, 0)) {
			vg_audit_record_clear(&rec);
			rc = VG_ERR_INTEGRITY;
			goto out;
		}
		if (p->n == p->cap) {
			size_t nc = p->cap ? p->cap * 2 : 256;
			struct victim *nv = realloc(p->v, nc * sizeof *nv);
			if (!nv) {
				vg_audit_record_clear(&rec);
				rc = VG_ERR_NOMEM;
				goto out;
			}
			p->v = nv;
			p->cap = nc;
		}
		v = &p->v[p->n++];
		v->seq = rec.seq;
		v->time = rec.time;
		v->size = (size_t)len + VG_AUDIT_HASH_LEN;
		memcpy(v->hash, sqlite3_column_blob(st, 2), VG_AUDIT_HASH_LEN);
		(void)snprintf(v->type, sizeof v->type, "%s", rec.type);
		vg_audit_record_clear(&rec);
		p->freed += v->size;
		*last = v->seq;
		(*got)++;
	}
	rc = r == SQLITE_DONE ? VG_OK : VG_ERR_IO;
out:
	sqlite3_finalize(st);
	return rc;
}

struct uidcount {
	int64_t uid;
	uint64_t n, last;
};

/*
 * Chooses records to drop until `need_bytes` and `need_count` are freed:
 * tier by tier (routine, then applications' critical, then the service's
 * own), and within a tier from the uid that holds the most records of it,
 * oldest first: whoever fills the log pays with its own records first.
 */
static vg_rc choose(vg_audit *a, struct plan *p, uint64_t need_bytes, uint64_t need_count,
		    uint64_t limit)
{
	for (int tier = TIER_ROUTINE; tier <= TIER_SERVICE; tier++) {
		struct uidcount *u = NULL;
		size_t nu = 0, cap = 0;
		sqlite3_stmt *st = NULL;
		vg_rc rc = VG_ERR_IO;
		int r;

		if (p->freed >= need_bytes && p->n >= need_count)
			return VG_OK;
		if (sqlite3_prepare_v2(vg_db_handle(a->db),
				       "SELECT uid, COUNT(*) FROM audit_records WHERE tier = ? AND"
				       " seq < ? GROUP BY uid",
				       -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_int(st, 1, tier) != SQLITE_OK ||
		    sqlite3_bind_int64(
			st, 2, (int64_t)(limit > VG_AUDIT_SEQ_MAX ? VG_AUDIT_SEQ_MAX : limit)) !=
			SQLITE_OK) {
			sqlite3_finalize(st);
			return VG_ERR_IO;
		}
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			if (nu == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct uidcount *nn = realloc(u, nc * sizeof *nn);
				if (!nn) {
					r = SQLITE_NOMEM;
					break;
				}
				u = nn;
				cap = nc;
			}
			u[nu].uid = sqlite3_column_int64(st, 0);
			u[nu].n = (uint64_t)sqlite3_column_int64(st, 1);
			u[nu].last = 0;
			nu++;
		}
		sqlite3_finalize(st);
		if (r != SQLITE_DONE) {
			free(u);
			return r == SQLITE_NOMEM ? VG_ERR_NOMEM : VG_ERR_IO;
		}
		rc = VG_OK;
		while (rc == VG_OK && (p->freed < need_bytes || p->n < need_count)) {
			size_t top = SIZE_MAX, got = 0;
			uint64_t second = 0, chunk;
			for (size_t i = 0; i < nu; i++)
				if (u[i].n && (top == SIZE_MAX || u[i].n > u[top].n))
					top = i;
			if (top == SIZE_MAX)
				break; /* tier exhausted */
			for (size_t i = 0; i < nu; i++)
				if (i != top && u[i].n > second)
					second = u[i].n;
			/* down to the next uid's share, in chunks */
			chunk = u[top].n - second + 1;
			if (chunk < 32)
				chunk = 32;
			if (chunk > 4096)
				chunk = 4096;
			{
				/* no more than needed: a record takes at least 80 bytes */
				uint64_t want_n = need_count > p->n ? need_count - p->n : 0;
				uint64_t want_b =
				    need_bytes > p->freed ? (need_bytes - p->freed) / 80 + 1 : 0;
				uint64_t want = want_n > want_b ? want_n : want_b;
				if (chunk > want)
					chunk = want;
			}
			rc = pick(a, p, tier, u[top].uid, u[top].last, limit, (size_t)chunk,
				  &u[top].last, &got);
			u[top].n = got == 0 || got > u[top].n ? 0 : u[top].n - got;
		}
		free(u);
		if (rc != VG_OK)
			return rc;
	}
	return VG_OK;
}

static vg_rc record_hash(vg_audit *a, uint64_t seq, uint8_t out[static VG_AUDIT_HASH_LEN])
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_INTEGRITY;

	if (sqlite3_prepare_v2(vg_db_handle(a->db), "SELECT hash FROM audit_records WHERE seq = ?",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, (int64_t)seq) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VG_AUDIT_HASH_LEN) {
		memcpy(out, sqlite3_column_blob(st, 0), VG_AUDIT_HASH_LEN);
		rc = VG_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static vg_rc add_type(vg_audit_drops *d, const char *type, uint64_t n)
{
	size_t i;

	for (i = 0; i < d->n_types; i++)
		if (strcmp(d->types[i].type, type) == 0)
			break;
	if (i == d->n_types) {
		/* the last slot is kept for "other" */
		if (d->n_types == VG_AUDIT_DROP_TYPES_MAX - 1 ||
		    d->n_types == VG_AUDIT_DROP_TYPES_MAX)
			return strcmp(type, VG_AUDIT_DROP_OTHER) == 0
				   ? VG_ERR_INVALID
				   : add_type(d, VG_AUDIT_DROP_OTHER, n);
		d->types[i].type = strdup(type);
		if (!d->types[i].type)
			return VG_ERR_NOMEM;
		d->n_types++;
	}
	d->types[i].count += n;
	return VG_OK;
}

/* The new summary: the old runs and the victims merged into maximal runs,
 * each tied to the chain by h(from-1) and h(to-1), the counts, signed. */
static vg_rc build_drops(vg_audit *a, struct plan *p)
{
	vg_audit_drops *d = &p->drops;
	const vg_audit_drops *o = &a->drops;
	size_t oi = 0, vi = 0, maxruns = o->n_runs + p->n;
	uint8_t msg[VG_AUDIT_DROPS_MSG_LEN];
	vg_rc rc = VG_OK;

	vg_audit_drops_clear(d);
	vg_free(p->blob, p->blob_len);
	p->blob = NULL;
	p->blob_len = 0;
	qsort(p->v, p->n, sizeof *p->v, victim_cmp);
	d->types = calloc(VG_AUDIT_DROP_TYPES_MAX, sizeof *d->types);
	d->runs = calloc(maxruns ? maxruns : 1, sizeof *d->runs);
	if (!d->types || !d->runs)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < o->n_types && rc == VG_OK; i++)
		rc = add_type(d, o->types[i].type, o->types[i].count);
	d->total = o->total;
	d->first_time = o->total ? o->first_time : UINT64_MAX;
	d->last_time = o->total ? o->last_time : 0;
	for (size_t i = 0; i < p->n && rc == VG_OK; i++) {
		rc = add_type(d, p->v[i].type, 1);
		d->total++;
		if (p->v[i].time < d->first_time)
			d->first_time = p->v[i].time;
		if (p->v[i].time > d->last_time)
			d->last_time = p->v[i].time;
	}
	while (rc == VG_OK && (oi < o->n_runs || vi < p->n)) {
		vg_audit_drop_run piece;
		bool old = vi == p->n || (oi < o->n_runs && o->runs[oi].from < p->v[vi].seq);
		if (old) {
			piece = o->runs[oi++];
		} else {
			const struct victim *v = &p->v[vi++];
			piece.from = v->seq;
			piece.to = v->seq + 1;
			memcpy(piece.head, v->hash, VG_AUDIT_HASH_LEN);
		}
		if (d->n_runs && d->runs[d->n_runs - 1].to == piece.from) {
			vg_audit_drop_run *last = &d->runs[d->n_runs - 1];
			last->to = piece.to;
			memcpy(last->head, piece.head, VG_AUDIT_HASH_LEN);
			continue;
		}
		if (!old) {
			/* a new run starts after a kept record, or at the start */
			if (piece.from == a->first_seq)
				memcpy(piece.prev, a->start_head, VG_AUDIT_HASH_LEN);
			else
				rc = record_hash(a, piece.from - 1, piece.prev);
		}
		d->runs[d->n_runs++] = piece;
	}
	if (rc != VG_OK)
		return rc;
	d->time = vg_time_now(&d->clock_synced);
	rc = vg_audit_drops_message(a->log_id, d, msg);
	if (rc == VG_OK)
		rc = a->sign ? a->sign(a->sign_ctx, msg, sizeof msg, &d->sig, &d->sig_len)
			     : VG_ERR_INVALID;
	if (rc == VG_OK &&
	    (!d->sig || d->sig_len == 0 || d->sig_len > VG_AUDIT_SIG_MAX ||
	     vg_audit_sig_verify(a->pub, a->pub_len, msg, sizeof msg, d->sig, d->sig_len) != VG_OK))
		rc = VG_ERR_CRYPTO;
	if (rc == VG_OK)
		rc = vg_audit_drops_encode(d, &p->blob, &p->blob_len);
	return rc;
}

/*
 * Plans a compaction before the flush transaction (it reads and signs):
 * down to 7/8 of the bounds, so that signing is rare, and never above
 * max_bytes once the summary's own growth is counted. Records at or after
 * `limit` (those a paged export has yet to hand out) are not touched.
 */
static void page_end_export(vg_audit *a);

static vg_rc plan_compaction(vg_audit *a, uint64_t projected, uint64_t count, struct plan *p)
{
	uint64_t target = a->max_bytes - a->max_bytes / 8, need_count = 0, need;
	uint64_t limit;

	if (a->page_active && mono_ms(a) > a->page_deadline)
		page_end_export(a);
	limit = a->page_active ? a->page_cursor : UINT64_MAX;
	vg_rc rc;

	if (a->max_records && count > a->max_records - a->max_records / 8)
		need_count = count - (a->max_records - a->max_records / 8);
	need = projected > target ? projected - target : 0;
	for (int round = 0; round < 8; round++) {
		uint64_t after;
		size_t before = p->n;
		p->n = 0;
		p->freed = 0;
		rc = choose(a, p, need, need_count, limit);
		if (rc == VG_OK && p->n == 0)
			return VG_ERR_NOT_FOUND;
		if (rc == VG_OK)
			rc = build_drops(a, p);
		if (rc != VG_OK)
			return rc;
		after = projected - p->freed - a->drops_len + p->blob_len;
		if (after <= a->max_bytes || p->n == before)
			return VG_OK;
		need = p->freed + (after - target);
	}
	return VG_OK;
}

static vg_rc insert_record(vg_audit *a, sqlite3_stmt *st, const vg_audit_record *r,
			   const uint8_t *enc, size_t enc_len)
{
	(void)sqlite3_reset(st);
	if (sqlite3_bind_int64(st, 1, (int64_t)r->seq) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, enc, (int)enc_len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, r->hash, VG_AUDIT_HASH_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, tier_of(r)) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, (int64_t)r->uid) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		return VG_ERR_IO;
	return VG_OK;
}

/* Inside the flush transaction: what plan_compaction chose. */
static vg_rc apply_compaction(vg_audit *a, const struct plan *p)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_IO;

	if (sqlite3_prepare_v2(vg_db_handle(a->db), "DELETE FROM audit_records WHERE seq = ?", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		(void)sqlite3_reset(st);
		if (sqlite3_bind_int64(st, 1, (int64_t)p->v[i].seq) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	/* A checkpoint inside a run covers a head nobody can recompute. */
	for (size_t i = 0; i < p->drops.n_runs; i++)
		if (exec2(a, "DELETE FROM audit_checkpoints WHERE next_seq > ? AND next_seq < ?",
			  (int64_t)p->drops.runs[i].from, (int64_t)p->drops.runs[i].to) != VG_OK)
			goto out;
	rc = state_put(a, "drops", p->blob, p->blob_len);
out:
	sqlite3_finalize(st);
	return rc;
}

/* The stored size, from the database. */
static vg_rc count_stored(vg_audit *a)
{
	int64_t r = 0, n = 0, c = 0, x = 0;
	vg_rc rc = query_int(
	    a, "SELECT COALESCE(SUM(length(rec) + length(hash)), 0) FROM audit_records", 0, &r);
	if (rc == VG_OK)
		rc = query_int(a, "SELECT COUNT(*) FROM audit_records", 0, &n);
	if (rc == VG_OK)
		rc = query_int(a, "SELECT COALESCE(SUM(length(cp)), 0) FROM audit_checkpoints", 0,
			       &c);
	if (rc == VG_OK)
		rc = query_int(a,
			       "SELECT COALESCE(SUM(length(val)), 0) FROM audit_state WHERE name IN"
			       " ('anchor', 'drops')",
			       0, &x);
	if (rc == VG_OK) {
		a->stored = (uint64_t)(r + c + x);
		a->nrecords = (uint64_t)n;
	}
	return rc;
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
	uint64_t new_next, counter, batch_bytes = 0;
	bool want_cp, committed = false, compact = false;
	struct plan plan = {0};
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
	for (size_t i = 0; i < n; i++)
		batch_bytes += enc_len[i] + VG_AUDIT_HASH_LEN;
	batch_bytes += cp_enc_len;
	/* Retention: over a bound, drop what matters least, under a signed
	 * summary. If that fails the records still go in: better a log over
	 * its bound than events lost. */
	if (a->stored + batch_bytes > a->max_bytes ||
	    (a->max_records && a->nrecords + n > a->max_records)) {
		vg_rc crc = plan_compaction(a, a->stored + batch_bytes, a->nrecords + n, &plan);
		compact = crc == VG_OK && plan.n > 0;
		if (crc == VG_ERR_INTEGRITY && a->state == VG_OK) {
			a->state = VG_ERR_INTEGRITY;
			VG_IGNORE(self_event(a, "audit.integrity", "failure",
					     "a stored record disagrees with its retention class"));
		} else if (crc != VG_OK && crc != VG_ERR_NOT_FOUND) {
			(void)fprintf(stderr, "voxguardd: audit: retention deferred: %s\n",
				      vg_rc_str(crc));
		}
	}

	counter = vg_db_counter(a->db);
	rc = vg_db_begin(a->db);
	if (rc != VG_OK)
		goto out;
	rc = VG_ERR_IO;
	if (n && sqlite3_prepare_v2(vg_db_handle(a->db),
				    "INSERT INTO audit_records(seq, rec, hash, tier, uid)"
				    " VALUES (?, ?, ?, ?, ?)",
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
	rc = compact ? apply_compaction(a, &plan) : VG_OK;
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
		if (want_cp) {
			a->last_cp = new_next;
			a->last_kind = cp.kind;
		}
		queue_clear(a);
		if (compact) {
			vg_audit_drops_clear(&a->drops);
			a->drops = plan.drops;
			memset(&plan.drops, 0, sizeof plan.drops);
			a->drops_len = plan.blob_len;
			a->last_drop_from = plan.v[0].seq;
			a->last_drop_to = plan.v[plan.n - 1].seq + 1;
			if (count_stored(a) != VG_OK) {
				a->stored = a->stored + batch_bytes - plan.freed;
				a->nrecords = a->nrecords + n - plan.n;
			}
			/* No self-event: one per compaction would itself fill the
			 * log; the signed summary is the record of what went. */
		} else {
			a->stored += batch_bytes;
			a->nrecords += n;
		}
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
	plan_free(&plan);
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

/* Room for element n of *arr (elem bytes each): the capacity doubles,
 * starting at `first`. */
static vg_rc grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first)
{
	void *na;
	size_t ncap;

	if (n < *cap)
		return VG_OK;
	ncap = *cap ? *cap * 2 : first;
	na = realloc(*arr, ncap * elem);
	if (!na)
		return VG_ERR_NOMEM;
	*arr = na;
	*cap = ncap;
	return VG_OK;
}

/* The end of a checkpoint query: the statement finalized, and the n
 * checkpoints handed out on success, else cleared and freed. */
static vg_rc cps_done(sqlite3_stmt *st, vg_rc rc, vg_audit_cp *cps, size_t *n, vg_audit_cp **out)
{
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
		if (grow((void **)&cps, &cap, *n, sizeof *cps, 16) != VG_OK) {
			rc = VG_ERR_NOMEM;
			goto out;
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
	return cps_done(st, rc, cps, n, out);
}

/* Walks the stored chain from the rotation anchor (or zero) through every
 * record and checkpoint, like the offline verifier does. Stops judging at
 * the first inconsistency but always returns where the rows end. */
static vg_rc walk_chain(vg_audit *a, struct loaded *ld, uint64_t *walk_next,
			uint8_t walk_head[static VG_AUDIT_HASH_LEN])
{
	vg_audit_cp *cps = NULL, anchor = {0};
	size_t ncp = 0, ci = 0, alen = 0, ri = 0, n_runs = 0;
	const vg_audit_drop_run *runs = NULL;
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
	memcpy(a->start_head, h, sizeof h);
	/* The drop summary: signed, and its runs must sit in the chain. */
	free(ablob);
	ablob = NULL;
	rc = state_get(a, "drops", &ablob, &alen);
	if (rc == VG_OK) {
		uint8_t msg[VG_AUDIT_DROPS_MSG_LEN];
		if (vg_audit_drops_decode(ablob, alen, &a->drops) != VG_OK ||
		    vg_audit_drops_message(a->log_id, &a->drops, msg) != VG_OK ||
		    vg_audit_sig_verify(a->pub, a->pub_len, msg, sizeof msg, a->drops.sig,
					a->drops.sig_len) != VG_OK) {
			broken(ld, "drop summary unreadable or badly signed");
			vg_audit_drops_clear(&a->drops);
		} else {
			a->drops_len = alen;
			runs = a->drops.runs;
			n_runs = a->drops.n_runs;
		}
	} else if (rc != VG_ERR_NOT_FOUND) {
		goto out;
	}
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

	again:
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
		/* a dropped run: the chain resumes from its signed head */
		if (ri < n_runs && runs[ri].from <= expect) {
			if (judging && (runs[ri].from != expect ||
					CRYPTO_memcmp(runs[ri].prev, h, sizeof h) != 0)) {
				broken(ld,
				       "drop summary run from seq %" PRIu64
				       " disagrees with the records",
				       runs[ri].from);
				judging = false;
			}
			if (runs[ri].to > expect) {
				expect = runs[ri].to;
				memcpy(h, runs[ri].head, sizeof h);
			}
			ri++;
			goto again;
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
	if (judging && ri < n_runs)
		broken(ld, "drop summary run from seq %" PRIu64 " lies beyond the records",
		       runs[ri].from);
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

/* Logs created before retention lack the tier and uid columns: existing
 * rows count as the service's own (kept longest) until they are dropped. */
static vg_rc migrate(vg_audit *a)
{
	int64_t have = 0;
	vg_rc rc = query_int(a,
			     "SELECT COUNT(*) FROM pragma_table_info('audit_records') WHERE"
			     " name = 'tier'",
			     0, &have);

	if (rc == VG_OK && have == 0 && writable(a))
		rc =
		    vg_db_exec(a->db, "ALTER TABLE audit_records ADD COLUMN tier INTEGER NOT NULL"
				      " DEFAULT 2; ALTER TABLE audit_records ADD COLUMN uid INTEGER"
				      " NOT NULL DEFAULT -1;");
	if (rc == VG_OK && writable(a))
		rc = vg_db_exec(a->db, "CREATE INDEX IF NOT EXISTS audit_records_tier ON"
				       " audit_records(tier, uid, seq);");
	return rc;
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
	a->max_records = opts ? opts->max_records : 0;
	a->max_bytes = opts && opts->max_bytes ? opts->max_bytes : VG_AUDIT_DEFAULT_MAX_BYTES;
	if (a->max_bytes < VG_AUDIT_MIN_MAX_BYTES)
		a->max_bytes = VG_AUDIT_MIN_MAX_BYTES;
	a->max_queue = opts && opts->max_queue ? opts->max_queue : DEFAULT_MAX_QUEUE;
	a->rate = opts && opts->rate_per_s ? opts->rate_per_s : VG_AUDIT_DEFAULT_RATE_PER_S;
	a->burst_milli =
	    (int64_t)(opts && opts->burst ? opts->burst : VG_AUDIT_DEFAULT_BURST) * 1000u;
	a->summary_ms =
	    (uint64_t)(opts && opts->summary_every_s ? opts->summary_every_s : 60u) * 1000u;
	a->clock = opts ? opts->clock : NULL;
	a->clock_ctx = opts ? opts->clock_ctx : NULL;
	a->rl_shared.used = true; /* shared by uids without a bucket */
	a->rl_shared.tb.milli = a->burst_milli;
	a->rl_shared.tb.last_ms = mono_ms(a);
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
	if (rc == VG_OK)
		rc = migrate(a);
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
	if (count_stored(a) != VG_OK) {
		rc = VG_ERR_IO;
		goto fail;
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

/* The audit of what happened survives a full disk (SFR 4.2.9): a flush
 * that met one was rolled back with the records still queued, and is
 * redone once the database released the storage reserve (storage/db.h). */
static vg_rc flush_or_retry(vg_audit *a, uint32_t force_kind)
{
	vg_rc rc = flush_internal(a, force_kind);

	if (rc != VG_OK && vg_db_space_released(a->db))
		rc = flush_internal(a, force_kind);
	return rc;
}

vg_rc vg_audit_flush(vg_audit *a)
{
	if (!a)
		return VG_ERR_INVALID;
	return flush_or_retry(a, 0);
}

vg_rc vg_audit_checkpoint(vg_audit *a)
{
	if (!a)
		return VG_ERR_INVALID;
	return flush_or_retry(a, VG_AUDIT_CP_PERIODIC);
}

#define PAGE_IDLE_MS 120000u /* a paged export left idle this long ends */

static void page_end_export(vg_audit *a)
{
	a->page_active = false;
	vg_free(a->page_cp, a->page_cp_len);
	a->page_cp = NULL;
	a->page_cp_len = 0;
}

/* Checkpoints with lo <= next_seq < hi (or <= hi with upto), in order. */
static vg_rc load_cps_range(vg_audit *a, uint64_t lo, uint64_t hi, bool upto, vg_audit_cp **out,
			    size_t *n)
{
	sqlite3_stmt *st = NULL;
	vg_audit_cp *cps = NULL;
	size_t cap = 0;
	vg_rc rc = VG_ERR_IO;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       upto ? "SELECT cp FROM audit_checkpoints WHERE next_seq >= ? AND"
				      " next_seq <= ? ORDER BY next_seq, id"
				    : "SELECT cp FROM audit_checkpoints WHERE next_seq >= ? AND"
				      " next_seq < ? ORDER BY next_seq, id",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (int64_t)lo) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)hi) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 0);
		rc = grow((void **)&cps, &cap, *n, sizeof *cps, 16);
		if (rc != VG_OK)
			goto out;
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
	return cps_done(st, rc, cps, n, out);
}

vg_rc vg_audit_export_page(vg_audit *a, uint64_t from_seq, size_t max_bytes, uint8_t **out,
			   size_t *len, uint64_t *next_seq, bool *more)
{
	vg_audit_record *recs = NULL;
	vg_audit_cp *cps = NULL, anchor = {0}, fin = {0};
	size_t nrec = 0, rcap = 0, ncp = 0, alen = 0, budget, used = 0;
	uint8_t *ablob = NULL;
	sqlite3_stmt *st = NULL;
	bool first = from_seq == 0, has_anchor = false, last = true, has_fin = false;
	uint64_t upto;
	vg_rc rc;
	int r;

	if (!out || !len || !next_seq || !more)
		return VG_ERR_INVALID;
	*out = NULL;
	*len = 0;
	*next_seq = 0;
	*more = false;
	if (!a || max_bytes < 1024)
		return VG_ERR_INVALID;
	if (a->page_active && mono_ms(a) > a->page_deadline)
		page_end_export(a);
	if (first) {
		/* A new export: its end is an export checkpoint over the head
		 * now; later events belong to the next export. A database that
		 * refuses writes is exported as stored, unsealed (forensics). */
		page_end_export(a);
		if (writable(a)) {
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
			a->page_cp_len = (size_t)sqlite3_column_bytes(st, 0);
			a->page_cp = malloc(a->page_cp_len);
			if (a->page_cp)
				memcpy(a->page_cp, sqlite3_column_blob(st, 0), a->page_cp_len);
			sqlite3_finalize(st);
			st = NULL;
			if (!a->page_cp) {
				a->page_cp_len = 0;
				return VG_ERR_NOMEM;
			}
		}
		a->page_active = true;
		a->page_end = a->next_seq;
		a->page_cursor = 0;
	} else if (!a->page_active) {
		return VG_ERR_STATE; /* no export in progress (expired, or restarted) */
	} else if (from_seq != a->page_cursor) {
		return VG_ERR_INVALID; /* pages go in order, from the last next_seq */
	}
	a->page_deadline = mono_ms(a) + PAGE_IDLE_MS;
	budget = max_bytes;
	if (a->page_cp_len) {
		rc = vg_audit_checkpoint_decode(a->page_cp, a->page_cp_len, &fin);
		if (rc != VG_OK)
			goto out;
		has_fin = true;
		used += a->page_cp_len; /* always room for the final checkpoint */
	}
	if (first) {
		rc = state_get(a, "anchor", &ablob, &alen);
		if (rc == VG_OK) {
			rc = vg_audit_checkpoint_decode(ablob, alen, &anchor);
			has_anchor = rc == VG_OK;
		}
		if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
			goto out;
		/* header: magic, ids and key, anchor, drop summary */
		used += 64 + a->pub_len + alen + a->drops_len;
	}
	rc = VG_ERR_IO;
	if (sqlite3_prepare_v2(vg_db_handle(a->db),
			       "SELECT rec, hash FROM audit_records WHERE seq >= ? AND seq < ?"
			       " ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (int64_t)from_seq) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (int64_t)a->page_end) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int rl = sqlite3_column_bytes(st, 0);
		size_t sz;
		rc = grow((void **)&recs, &rcap, nrec, sizeof *recs, 64);
		if (rc != VG_OK)
			goto out;
		rc = rl > 0 ? vg_audit_record_decode(sqlite3_column_blob(st, 0), (size_t)rl,
						     &recs[nrec])
			    : VG_ERR_INTEGRITY;
		if (rc != VG_OK) {
			rc = rc == VG_ERR_NOMEM ? rc : VG_ERR_INTEGRITY;
			goto out;
		}
		if (sqlite3_column_bytes(st, 1) == VG_AUDIT_HASH_LEN)
			memcpy(recs[nrec].hash, sqlite3_column_blob(st, 1), VG_AUDIT_HASH_LEN);
		/* a record, and room for the checkpoints between (~110 bytes
		 * each, at most one per checkpoint_every records, plus one) */
		sz = vg_audit_record_export_size(&recs[nrec]) + 128;
		if (used + sz > budget) {
			vg_audit_record_clear(&recs[nrec]);
			if (nrec == 0) {
				rc = VG_ERR_TOO_LARGE;
				goto out;
			}
			last = false;
			break;
		}
		used += sz;
		nrec++;
		rc = VG_ERR_IO;
	}
	if (last && r != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	upto = last ? a->page_end : recs[nrec - 1].seq + 1;
	/* the checkpoints of this stretch of the chain; the final page ends
	 * with this export's own checkpoint */
	rc = load_cps_range(a, first ? 0 : from_seq + 1, upto, !last || !has_fin, &cps, &ncp);
	if (rc != VG_OK)
		goto out;
	if (last && has_fin) {
		{
			vg_audit_cp *nc = realloc(cps, (ncp + 1) * sizeof *nc);
			if (!nc) {
				rc = VG_ERR_NOMEM;
				goto out;
			}
			cps = nc;
			cps[ncp++] = fin;
			memset(&fin, 0, sizeof fin);
		}
	}
	rc = vg_audit_export_encode_page(
	    first, a->log_id, a->pub, a->pub_len, has_anchor ? &anchor : NULL,
	    first && a->drops.total ? &a->drops : NULL, recs, nrec, cps, ncp, out, len);
	if (rc == VG_OK && *len > max_bytes) {
		vg_free(*out, *len);
		*out = NULL;
		*len = 0;
		rc = VG_ERR_TOO_LARGE;
	}
	if (rc == VG_OK) {
		*next_seq = upto;
		*more = !last;
		a->page_cursor = upto;
		if (last)
			page_end_export(a);
	}
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < nrec; i++)
		vg_audit_record_clear(&recs[i]);
	free(recs);
	for (size_t i = 0; i < ncp; i++)
		vg_audit_checkpoint_clear(&cps[i]);
	free(cps);
	vg_audit_checkpoint_clear(&anchor);
	vg_audit_checkpoint_clear(&fin);
	free(ablob);
	return rc;
}

vg_rc vg_audit_export(vg_audit *a, uint8_t **out, size_t *len)
{
	uint8_t *buf = NULL, *page = NULL;
	size_t blen = 0, plen = 0;
	uint64_t next = 0;
	bool more = true;
	vg_rc rc = VG_OK;

	if (!out || !len)
		return VG_ERR_INVALID;
	*out = NULL;
	*len = 0;
	if (!a)
		return VG_ERR_INVALID;
	/* The pages of one export, concatenated, are the export. */
	for (bool first = true; rc == VG_OK && more; first = false) {
		uint8_t *nb;
		rc = vg_audit_export_page(a, first ? 0 : next, VG_AUDIT_EXPORT_MAX - blen, &page,
					  &plen, &next, &more);
		if (rc != VG_OK)
			break;
		nb = plen ? realloc(buf, blen + plen) : buf;
		if (plen && !nb) {
			rc = VG_ERR_NOMEM;
		} else if (plen) {
			buf = nb;
			memcpy(buf + blen, page, plen);
			blen += plen;
		}
		vg_free(page, plen);
		page = NULL;
	}
	if (rc != VG_OK) {
		vg_free(buf, blen);
		return rc;
	}
	*out = buf;
	*len = blen;
	return VG_OK;
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

static vg_rc truncate_once(vg_audit *a, uint64_t *old_next, uint8_t old_head[static 32])
{
	sqlite3_stmt *st = NULL;
	uint8_t *cp = NULL;
	size_t cp_len = 0;
	vg_rc rc;

	/* A signed checkpoint over the head first: it becomes the anchor, the
	 * signed link from what follows to the chain that is dropped. */
	rc = flush_or_retry(a, VG_AUDIT_CP_EXPORT);
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
			rc = exec2(a, "DELETE FROM audit_state WHERE name = 'drops'", 0, 0);
		if (rc == VG_OK)
			rc = vg_db_commit(a->db);
		else
			vg_db_rollback(a->db);
	}
	free(cp);
	if (rc != VG_OK)
		return rc;
	a->first_seq = a->next_seq;
	page_end_export(a); /* what it was handing out is gone */
	memcpy(a->start_head, a->head, sizeof a->start_head);
	vg_audit_drops_clear(&a->drops);
	a->drops_len = 0;
	VG_IGNORE(count_stored(a));
	*old_next = a->next_seq;
	memcpy(old_head, a->head, 32);
	return vg_db_scrub(a->db);
}

vg_rc vg_audit_truncate(vg_audit *a, uint64_t *old_next, uint8_t old_head[static 32])
{
	/* A factory reset on a full disk: redone with the reserve released. */
	vg_rc rc = truncate_once(a, old_next, old_head);

	if (rc != VG_OK && vg_db_space_released(a->db))
		rc = truncate_once(a, old_next, old_head);
	return rc;
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

uint64_t vg_audit_queued_seq(const vg_audit *a)
{
	return a ? a->next_seq + a->nq : 0;
}

void vg_audit_stats_get(const vg_audit *a, vg_audit_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!a)
		return;
	out->suppressed = a->suppressed;
	out->suppressed_pending = a->suppressed_open;
	out->stored_bytes = a->stored;
	out->max_bytes = a->max_bytes;
	out->records = a->nrecords;
	out->dropped = a->drops.total;
	out->last_drop_from = a->last_drop_from;
	out->last_drop_to = a->last_drop_to;
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
	free(a->rl);
	vg_audit_drops_clear(&a->drops);
	vg_free(a->page_cp, a->page_cp_len);
	vg_secret_free(a->key, KEY_LEN);
	free(a->pub);
	vg_wipe(a, sizeof *a);
	free(a);
	*pa = NULL;
}
