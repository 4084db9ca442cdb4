/* secstore.c - see secstore.h */
#include "storage/secstore.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "crypto/seal.h"
#include "storage/reserve.h"

#define SET_ANCHOR "store.set"

#define N_STMT 9

/* Usage of recently used namespaces, as the connection sees the table
 * (the open batch included); forgotten on any rollback, then recounted. */
#define USAGE_CACHE 16u
/* A crypto-erase deletes at most this many records per commit. */
#define ERASE_CHUNK_ROWS 1024u

struct usage {
	char ns[VG_MAX_NS_LEN + 1]; /* "" = free slot */
	uint64_t records, bytes;
	uint64_t last_use;
};

struct vg_secstore {
	vg_db *db;
	sqlite3_stmt *stmts[N_STMT]; /* prepared once, reused */
	vg_hmac_key *set_key;        /* keys the record-set digest */
	uint8_t set[32];             /* XOR of the HMACs of all live records */
	uint64_t count;
	/* group commit: puts of one event-loop round in one transaction */
	bool batching;
	uint8_t batch_set[32];
	uint64_t batch_count;
	/* one derived key cached: puts and gets come in runs per namespace */
	char cached_ns[VG_MAX_NS_LEN + 1];
	uint8_t *ns_key;  /* secret memory */
	uint8_t *erase;   /* the RoT's erase secret (secret memory) */
	bool can_erase;   /* the RoT has one (else erase is all zero) */
	bool sealed_away; /* debug unlocked: apps' records refused */
	struct usage usage[USAGE_CACHE];
	uint64_t usage_tick;
};

/* A rowid table: its (ns, name) index holds the keys alone, so a lookup
 * never reads another record's value (see migrate_layout). */
static const char schema[] = "CREATE TABLE IF NOT EXISTS store_records("
			     " ns TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
			     " blob BLOB NOT NULL, PRIMARY KEY (ns, name));";

/* The cached statement `id` for sql, prepared on first use. */
static sqlite3_stmt *stmt(vg_secstore *s, int id, const char *sql)
{
	if (!s->stmts[id] &&
	    sqlite3_prepare_v3(vg_db_handle(s->db), sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &s->stmts[id], NULL) != SQLITE_OK)
		return NULL;
	return s->stmts[id];
}

/* Ready a cached statement for its next use (NULL is fine). */
static void release(sqlite3_stmt *st)
{
	if (st) {
		(void)sqlite3_reset(st);
		(void)sqlite3_clear_bindings(st);
	}
}

static void usage_forget(vg_secstore *s)
{
	memset(s->usage, 0, sizeof s->usage);
}

static struct usage *usage_find(vg_secstore *s, const char *ns)
{
	for (size_t i = 0; i < USAGE_CACHE; i++)
		if (s->usage[i].ns[0] && strcmp(s->usage[i].ns, ns) == 0)
			return &s->usage[i];
	return NULL;
}

/* Counted from the rows: exact by construction (the cache only saves
 * the scan, which the namespace's own quota bounds). */
static vg_rc usage_get(vg_secstore *s, const char *ns, uint64_t *records, uint64_t *bytes)
{
	struct usage *u = usage_find(s, ns);
	sqlite3_stmt *st;
	sqlite3_int64 n, b;
	int r;

	if (!u) {
		if (!(st = stmt(s, 8,
				"SELECT count(*), coalesce(sum(length(blob)), 0) FROM store_records"
				" WHERE ns = ?")))
			return VG_ERR_IO;
		if (sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
		    (r = sqlite3_step(st)) != SQLITE_ROW) {
			release(st);
			return VG_ERR_IO;
		}
		n = sqlite3_column_int64(st, 0);
		b = sqlite3_column_int64(st, 1);
		release(st);
		if (n < 0 || b < 0)
			return VG_ERR_INTEGRITY;
		u = &s->usage[0];
		for (size_t i = 1; i < USAGE_CACHE; i++)
			if (s->usage[i].last_use < u->last_use)
				u = &s->usage[i];
		strcpy(u->ns, ns);
		u->records = (uint64_t)n;
		u->bytes = (uint64_t)b;
	}
	u->last_use = ++s->usage_tick;
	*records = u->records;
	*bytes = u->bytes;
	return VG_OK;
}

/* A row of ns changed from old_len bytes (0: absent) to new_len (0: gone). */
static void usage_change(vg_secstore *s, const char *ns, uint64_t old_len, uint64_t new_len)
{
	struct usage *u = usage_find(s, ns);

	if (!u)
		return;
	if ((old_len && !u->records) || u->bytes < old_len) {
		u->ns[0] = '\0'; /* cannot be: recount */
		return;
	}
	u->records += (new_len != 0) - (old_len != 0);
	u->bytes += new_len - old_len;
}

/*
 * Databases made before issue 11 keep the records in a WITHOUT ROWID
 * table, whose b-tree holds each whole row as its key: a lookup that
 * compares against a large record's key reads that record's overflow
 * pages (1 MiB for a 1 MiB record), so one application's large records
 * slowed every other application's lookups. Such a table is copied into
 * the rowid layout once, in one transaction (a power cut leaves the old
 * table whole). A store that refuses writes (rollback, integrity error)
 * keeps the old layout, which reads the same.
 */
static vg_rc migrate_layout(vg_secstore *s)
{
	sqlite3_stmt *st = NULL;
	bool old = false;
	vg_rc rc;

	if (sqlite3_prepare_v2(vg_db_handle(s->db),
			       "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
			       " name = 'store_records' AND sql LIKE '%WITHOUT ROWID%'",
			       -1, &st, NULL) != SQLITE_OK)
		return VG_ERR_IO;
	if (sqlite3_step(st) == SQLITE_ROW)
		old = sqlite3_column_int64(st, 0) > 0;
	(void)sqlite3_finalize(st);
	if (!old || vg_db_state(s->db) != VG_OK)
		return VG_OK;
	rc = vg_db_begin(s->db);
	if (rc != VG_OK)
		return rc;
	rc = vg_db_exec(s->db, "CREATE TABLE store_records_rowid(ns TEXT NOT NULL,"
			       " name TEXT NOT NULL, version INTEGER NOT NULL, blob BLOB NOT NULL,"
			       " PRIMARY KEY (ns, name))");
	if (rc == VG_OK)
		rc = vg_db_exec(s->db, "INSERT INTO store_records_rowid(ns, name, version, blob)"
				       " SELECT ns, name, version, blob FROM store_records");
	if (rc == VG_OK)
		rc = vg_db_exec(s->db, "DROP TABLE store_records");
	if (rc == VG_OK)
		rc = vg_db_exec(s->db, "ALTER TABLE store_records_rowid RENAME TO store_records");
	if (rc == VG_OK)
		return vg_db_commit(s->db);
	vg_db_rollback(s->db);
	return rc;
}

static bool ns_valid(const char *ns)
{
	size_t n = ns ? strlen(ns) : 0;

	/* Namespaces are chosen by the service ("u/1000", "k/1000", "sys"),
	 * never by a client: still, check shape and size. */
	return n > 0 && n <= VG_MAX_NS_LEN && !memchr(ns, 0, n);
}

static size_t record_aad(const char *ns, const char *name, uint8_t *aad)
{
	size_t nl = strlen(ns), ml = strlen(name), n = 0;

	aad[n++] = (uint8_t)nl;
	memcpy(aad + n, ns, nl);
	n += nl;
	aad[n++] = (uint8_t)ml;
	memcpy(aad + n, name, ml);
	return n + ml;
}

static vg_rc set_element(const vg_secstore *s, const char *ns, const char *name, uint64_t version,
			 uint8_t out[32])
{
	uint8_t msg[2 + VG_MAX_NS_LEN + VG_MAX_NAME_LEN + 8];
	size_t n = record_aad(ns, name, msg);

	for (int i = 7; i >= 0; i--)
		msg[n++] = (uint8_t)(version >> (8 * i));
	return vg_hmac_with(s->set_key, msg, n, out);
}

static void xor32(uint8_t *acc, const uint8_t *x)
{
	for (int i = 0; i < 32; i++)
		acc[i] ^= x[i];
}

bool vg_secstore_ns_persistent(const char *ns)
{
	return strcmp(ns, "sys") == 0 || strcmp(ns, "k/service") == 0;
}

static vg_rc ns_key(vg_secstore *s, const char *ns)
{
	uint8_t ctx[VG_MAX_NS_LEN + 1 + VG_KEY_LEN];
	size_t n = strlen(ns);
	vg_rc rc;

	if (strcmp(s->cached_ns, ns) == 0)
		return VG_OK;
	s->cached_ns[0] = '\0';
	if (vg_secstore_ns_persistent(ns)) {
		rc = vg_rot_derive(vg_db_rot(s->db), "store-ns", (const uint8_t *)ns, n, s->ns_key);
	} else {
		/* User data: keyed by the erase secret too, so replacing it
		 * (factory reset) makes every copy of these records useless. */
		memcpy(ctx, ns, n);
		ctx[n] = 0;
		memcpy(ctx + n + 1, s->erase, VG_KEY_LEN);
		rc = vg_rot_derive(vg_db_rot(s->db), "store-ns-user", ctx, n + 1 + VG_KEY_LEN,
				   s->ns_key);
		vg_wipe(ctx, sizeof ctx);
	}
	if (rc == VG_OK)
		strcpy(s->cached_ns, ns);
	return rc;
}

/* Recomputes the record-set digest from the rows and compares. */
static vg_rc check_set(vg_secstore *s)
{
	sqlite3_stmt *st = NULL;
	uint8_t acc[32] = {0}, el[32], anchor[32];
	size_t alen = 0;
	uint64_t count = 0;
	vg_rc rc = VG_OK;
	int r;

	if (!(st = stmt(s, 0, "SELECT ns, name, version FROM store_records")))
		return VG_ERR_IO;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		/* Exact types and lengths: a BLOB namespace or a name with an
		 * embedded NUL would be a distinct row to SQLite but read as the
		 * same text here, and two equal elements cancel in the XOR. The
		 * types are read first: column_text() converts the value. */
		bool typed = sqlite3_column_type(st, 0) == SQLITE_TEXT &&
			     sqlite3_column_type(st, 1) == SQLITE_TEXT &&
			     sqlite3_column_type(st, 2) == SQLITE_INTEGER;
		const char *ns = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		sqlite3_int64 v = sqlite3_column_int64(st, 2);
		if (!typed || !ns || !name || (size_t)sqlite3_column_bytes(st, 0) != strlen(ns) ||
		    (size_t)sqlite3_column_bytes(st, 1) != strlen(name) || !ns_valid(ns) ||
		    !vg_name_valid(name, strlen(name)) || v <= 0 ||
		    (uint64_t)v > vg_db_counter(s->db)) {
			rc = VG_ERR_INTEGRITY;
			break;
		}
		rc = set_element(s, ns, name, (uint64_t)v, el);
		if (rc != VG_OK)
			break;
		xor32(acc, el);
		count++;
	}
	if (rc == VG_OK && r != SQLITE_DONE)
		rc = r == SQLITE_CORRUPT ? VG_ERR_INTEGRITY : VG_ERR_IO;
	release(st);
	if (rc != VG_OK)
		return rc;
	if (vg_db_anchor_get(s->db, SET_ANCHOR, anchor, sizeof anchor, &alen) != VG_OK) {
		/* A store that never committed a record has no anchor. */
		memset(anchor, 0, sizeof anchor);
		alen = sizeof anchor;
	}
	if (alen != 32 || CRYPTO_memcmp(anchor, acc, 32) != 0)
		return VG_ERR_INTEGRITY;
	memcpy(s->set, acc, 32);
	s->count = count;
	return VG_OK;
}

vg_rc vg_secstore_open(vg_secstore **out, vg_db *db)
{
	vg_secstore *s = calloc(1, sizeof *s);
	vg_rc rc;

	*out = NULL;
	if (!s)
		return VG_ERR_NOMEM;
	s->db = db;
	s->ns_key = vg_secret_alloc(VG_KEY_LEN);
	s->erase = vg_secret_alloc(VG_KEY_LEN);
	if (!s->ns_key || !s->erase) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}
	rc = vg_rot_erase_secret(vg_db_rot(db), false, s->erase);
	if (rc == VG_ERR_UNSUPPORTED) {
		memset(s->erase, 0, VG_KEY_LEN); /* no crypto-erase on this RoT */
		rc = VG_OK;
	} else if (rc == VG_OK) {
		s->can_erase = true;
	}
	if (rc != VG_OK)
		goto fail;
	{
		uint8_t k[VG_KEY_LEN];
		rc = vg_rot_derive(vg_db_rot(db), "store-set", NULL, 0, k);
		if (rc == VG_OK)
			rc = vg_hmac_key_new(k, sizeof k, &s->set_key);
		vg_wipe(k, sizeof k);
	}
	if (rc != VG_OK)
		goto fail;
	rc = vg_db_exec(db, schema);
	if (rc == VG_OK)
		rc = migrate_layout(s);
	if (rc != VG_OK)
		goto fail;
	if (vg_db_state(db) == VG_OK) {
		rc = check_set(s);
		if (rc == VG_ERR_INTEGRITY)
			vg_db_set_state(db, VG_ERR_INTEGRITY);
		else if (rc != VG_OK)
			goto fail;
	}
	*out = s;
	return VG_OK;
fail:
	vg_secstore_close(&s);
	return rc;
}

void vg_secstore_close(vg_secstore **ps)
{
	vg_secstore *s;

	if (!ps || !*ps)
		return;
	s = *ps;
	for (int i = 0; i < N_STMT; i++)
		sqlite3_finalize(s->stmts[i]);
	vg_hmac_key_free(&s->set_key);
	vg_secret_free(s->ns_key, VG_KEY_LEN);
	vg_secret_free(s->erase, VG_KEY_LEN);
	vg_wipe(s, sizeof *s);
	free(s);
	*ps = NULL;
}

vg_rc vg_secstore_state(const vg_secstore *s)
{
	return vg_db_state(s->db);
}

uint64_t vg_secstore_count(const vg_secstore *s)
{
	return s->count;
}

static bool app_ns(const char *ns)
{
	return (strncmp(ns, "u/", 2) == 0 || strncmp(ns, "k/", 2) == 0 || strcmp(ns, "cfg") == 0) &&
	       strcmp(ns, "k/service") != 0;
}

void vg_secstore_seal_away(vg_secstore *s, bool sealed)
{
	s->sealed_away = sealed;
	s->cached_ns[0] = '\0';
}

bool vg_secstore_sealed_away(const vg_secstore *s)
{
	return s->sealed_away;
}

static vg_rc check_args(vg_secstore *s, const char *ns, const char *name)
{
	if (!ns_valid(ns) || !name || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	if (s->sealed_away && app_ns(ns))
		return VG_ERR_STATE;
	return vg_secstore_state(s);
}

/* The version of (ns, name) or 0 if absent, and its blob's length. */
static vg_rc current_version(vg_secstore *s, const char *ns, const char *name, uint64_t *version,
			     uint64_t *blob_len)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc = VG_ERR_IO;
	int r;

	*version = 0;
	*blob_len = 0;
	if (!(st = stmt(
		  s, 1,
		  "SELECT version, length(blob) FROM store_records WHERE ns = ? AND name = ?")))
		return VG_ERR_IO;
	if (sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);
		sqlite3_int64 bl = sqlite3_column_int64(st, 1);
		rc = v > 0 && bl > 0 ? VG_OK : VG_ERR_INTEGRITY;
		*version = rc == VG_OK ? (uint64_t)v : 0;
		*blob_len = rc == VG_OK ? (uint64_t)bl : 0;
	} else if (r == SQLITE_DONE) {
		rc = VG_OK;
	} else if (r == SQLITE_CORRUPT) {
		rc = VG_ERR_INTEGRITY;
	}
out:
	release(st);
	return rc;
}

/* Swaps (ns, name, old) for (ns, name, new) in the set digest; 0 = none. */
static vg_rc set_update(vg_secstore *s, const uint8_t base[32], const char *ns, const char *name,
			uint64_t old_v, uint64_t new_v, uint8_t set[32])
{
	uint8_t el[32];
	vg_rc rc = VG_OK;

	memcpy(set, base, 32);
	if (old_v && (rc = set_element(s, ns, name, old_v, el)) == VG_OK)
		xor32(set, el);
	if (rc == VG_OK && new_v && (rc = set_element(s, ns, name, new_v, el)) == VG_OK)
		xor32(set, el);
	return rc;
}

/* Whether replacing old_len bytes (0: a new record) by new_len keeps ns
 * within q; growth past a bound is refused, shrinking never is. */
static vg_rc quota_check(vg_secstore *s, const char *ns, const vg_store_quota *q, uint64_t old_len,
			 uint64_t new_len)
{
	uint64_t records = 0, bytes = 0, after;
	vg_rc rc;

	if (!q)
		return VG_OK;
	rc = usage_get(s, ns, &records, &bytes);
	if (rc != VG_OK)
		return rc;
	if (!old_len && records >= q->max_records)
		return VG_ERR_QUOTA;
	after = bytes - old_len + new_len;
	return new_len > old_len && after > q->max_bytes ? VG_ERR_QUOTA : VG_OK;
}

/* The body of a put inside an open transaction: row written, record-set
 * digest updated from *set (in place) and published as the anchor; the
 * usage of ns follows. */
static vg_rc put_in_tx(vg_secstore *s, const char *ns, const char *name, const uint8_t *value,
		       size_t len, const vg_store_quota *q, uint8_t set[32], bool *added)
{
	uint8_t aad[2 + VG_MAX_NS_LEN + VG_MAX_NAME_LEN], nset[32], *blob = NULL;
	size_t aad_len, blob_len = 0;
	uint64_t old_v, old_len, new_v;
	sqlite3_stmt *st = NULL;
	vg_rc rc;

	rc = current_version(s, ns, name, &old_v, &old_len);
	if (rc != VG_OK)
		return rc;
	new_v = vg_db_counter(s->db) + 1; /* the counter this commit sets */
	aad_len = record_aad(ns, name, aad);
	rc = vg_seal(s->ns_key, VG_SEAL_RECORD, new_v, aad, aad_len, value, len, &blob, &blob_len);
	if (rc == VG_OK)
		rc = quota_check(s, ns, q, old_len, blob_len);
	if (rc == VG_OK)
		rc = set_update(s, set, ns, name, old_v, new_v, nset);
	if (rc != VG_OK)
		goto out;
	rc = VG_ERR_IO;
	if (!(st = stmt(s, 2,
			"INSERT OR REPLACE INTO store_records(ns, name, version, blob)"
			" VALUES (?, ?, ?, ?)")) ||
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)new_v) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, blob, (int)blob_len, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		vg_db_note_failure(s->db);
		goto out;
	}
	rc = vg_db_anchor_set(s->db, SET_ANCHOR, nset, 32);
	if (rc == VG_OK) {
		memcpy(set, nset, 32);
		*added = old_v == 0;
		usage_change(s, ns, old_len, blob_len);
	}
out:
	release(st);
	free(blob);
	return rc;
}

static vg_rc put_checks(vg_secstore *s, const char *ns, const char *name, size_t len)
{
	vg_rc rc = check_args(s, ns, name);

	if (rc != VG_OK)
		return rc;
	if (len > VG_MAX_VALUE_LEN)
		return VG_ERR_TOO_LARGE;
	return ns_key(s, ns);
}

/* What an application's put of len bytes asks of the file system: the
 * value's pages twice (in the WAL, then in the database file when the WAL
 * is checkpointed; the WAL keeps its size), with room for the tree. */
static uint64_t put_need(size_t len)
{
	return 2u * ((uint64_t)len + (uint64_t)len / 64u) + 64u * 1024u;
}

static vg_rc admit(vg_secstore *s, size_t len)
{
	vg_reserve *r = vg_db_reserve(s->db);

	if (!r || !vg_reserve_bytes(r))
		return VG_OK;
	return vg_reserve_admit(r, put_need(len), vg_db_free_bytes(s->db));
}

/* One put in its own transaction. app: into an application's namespace
 * (reserve admission, never the ballast); otherwise the service's own
 * write, which a full disk does not stop (redone once with the ballast
 * released). */
static vg_rc put_once(vg_secstore *s, const char *ns, const char *name, const uint8_t *value,
		      size_t len, const vg_store_quota *q, bool app)
{
	uint8_t set[32];
	bool added = false, relief;
	vg_rc rc = vg_db_begin(s->db);

	if (rc != VG_OK)
		return rc;
	relief = vg_db_set_relief(s->db, !app);
	memcpy(set, s->set, 32);
	rc = put_in_tx(s, ns, name, value, len, q, set, &added);
	if (rc != VG_OK) {
		vg_db_rollback(s->db);
		usage_forget(s);
	} else {
		rc = vg_db_commit(s->db);
		if (rc != VG_OK) {
			usage_forget(s);
		} else {
			memcpy(s->set, set, 32);
			s->count += added;
		}
	}
	(void)vg_db_set_relief(s->db, relief);
	return rc;
}

static vg_rc put_common(vg_secstore *s, const char *ns, const char *name, const uint8_t *value,
			size_t len, const vg_store_quota *q)
{
	bool app;
	vg_rc rc;

	if (s->batching)
		return VG_ERR_INTERNAL; /* commit the batch first */
	rc = put_checks(s, ns, name, len);
	if (rc != VG_OK)
		return rc;
	app = app_ns(ns);
	if (app)
		rc = admit(s, len);
	if (rc != VG_OK)
		return rc;
	rc = put_once(s, ns, name, value, len, q, app);
	if (rc == VG_ERR_IO && app && vg_db_was_full(s->db))
		return VG_ERR_QUOTA; /* the disk filled up under us */
	if (rc != VG_OK && !app && vg_db_space_released(s->db))
		rc = put_once(s, ns, name, value, len, q, app);
	return rc;
}

vg_rc vg_secstore_put(vg_secstore *s, const char *ns, const char *name, const uint8_t *value,
		      size_t len)
{
	return put_common(s, ns, name, value, len, NULL);
}

vg_rc vg_secstore_put_quota(vg_secstore *s, const char *ns, const char *name, const uint8_t *value,
			    size_t len, const vg_store_quota *q)
{
	return put_common(s, ns, name, value, len, q);
}

vg_rc vg_secstore_usage(vg_secstore *s, const char *ns, uint64_t *records, uint64_t *bytes)
{
	vg_rc rc;

	*records = 0;
	*bytes = 0;
	if (!ns_valid(ns))
		return VG_ERR_INVALID;
	rc = vg_secstore_state(s);
	return rc != VG_OK ? rc : usage_get(s, ns, records, bytes);
}

static vg_rc put_batched(vg_secstore *s, const char *ns, const char *name, const uint8_t *value,
			 size_t len, const vg_store_quota *q)
{
	bool added = false, relief, app = ns_valid(ns) && app_ns(ns);
	vg_rc rc = put_checks(s, ns, name, len);

	if (rc == VG_OK && app)
		rc = admit(s, len);
	if (rc != VG_OK)
		return rc;
	if (!s->batching) {
		rc = vg_db_begin(s->db);
		if (rc != VG_OK)
			return rc;
		s->batching = true;
		memcpy(s->batch_set, s->set, 32);
		s->batch_count = s->count;
	}
	/* Each put in its own savepoint: one that fails leaves the others. */
	if (vg_db_exec(s->db, "SAVEPOINT vg_put") != VG_OK)
		return VG_ERR_IO;
	relief = vg_db_set_relief(s->db, !app);
	rc = put_in_tx(s, ns, name, value, len, q, s->batch_set, &added);
	(void)vg_db_set_relief(s->db, relief);
	if (rc != VG_OK) {
		VG_IGNORE(vg_db_exec(s->db, "ROLLBACK TO vg_put"));
		VG_IGNORE(vg_db_exec(s->db, "RELEASE vg_put"));
		usage_forget(s); /* the row may have been written, then undone */
		return rc;
	}
	if (vg_db_exec(s->db, "RELEASE vg_put") != VG_OK) {
		usage_forget(s);
		return VG_ERR_IO;
	}
	s->batch_count += added;
	return VG_OK;
}

vg_rc vg_secstore_put_batched(vg_secstore *s, const char *ns, const char *name,
			      const uint8_t *value, size_t len)
{
	return put_batched(s, ns, name, value, len, NULL);
}

vg_rc vg_secstore_put_batched_quota(vg_secstore *s, const char *ns, const char *name,
				    const uint8_t *value, size_t len, const vg_store_quota *q)
{
	return put_batched(s, ns, name, value, len, q);
}

bool vg_secstore_batch_pending(const vg_secstore *s)
{
	return s && s->batching;
}

vg_rc vg_secstore_batch_commit(vg_secstore *s)
{
	bool relief;
	vg_rc rc;

	if (!s->batching)
		return VG_OK;
	s->batching = false;
	/* The batch holds applications' puts: it does not take the ballast. */
	relief = vg_db_set_relief(s->db, false);
	rc = vg_db_commit(s->db); /* rolls back everything on failure */
	(void)vg_db_set_relief(s->db, relief);
	if (rc != VG_OK) {
		usage_forget(s);
		return rc == VG_ERR_IO && vg_db_was_full(s->db) ? VG_ERR_QUOTA : rc;
	}
	memcpy(s->set, s->batch_set, 32);
	s->count = s->batch_count;
	return VG_OK;
}

vg_rc vg_secstore_raw(vg_secstore *s, const char *ns, const char *name, uint8_t **blob, size_t *len,
		      uint64_t *version)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc;
	int r;

	if (s->batching)
		return VG_ERR_INTERNAL; /* a batch must be committed first */
	*blob = NULL;
	*len = 0;
	*version = 0;
	rc = check_args(s, ns, name);
	if (rc != VG_OK)
		return rc;
	if (!(st = stmt(s, 3, "SELECT version, blob FROM store_records WHERE ns = ? AND name = ?")))
		return VG_ERR_IO;
	rc = VG_ERR_IO;
	if (sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = VG_ERR_NOT_FOUND;
	} else if (r == SQLITE_ROW) {
		bool typed = sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
			     sqlite3_column_type(st, 1) == SQLITE_BLOB;
		sqlite3_int64 v = sqlite3_column_int64(st, 0);
		const void *p = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		if (!typed || v <= 0 || n <= 0 || !p) {
			rc = VG_ERR_INTEGRITY;
			goto out;
		}
		*blob = malloc((size_t)n);
		if (!*blob) {
			rc = VG_ERR_NOMEM;
			goto out;
		}
		memcpy(*blob, p, (size_t)n);
		*len = (size_t)n;
		*version = (uint64_t)v;
		rc = VG_OK;
	} else if (r == SQLITE_CORRUPT) {
		rc = VG_ERR_INTEGRITY;
	}
out:
	release(st);
	return rc;
}

vg_rc vg_secstore_open_blob(const uint8_t key[static 32], const char *ns, const char *name,
			    uint64_t version, const uint8_t *blob, size_t blob_len, uint8_t **value,
			    size_t *len)
{
	uint8_t aad[2 + VG_MAX_NS_LEN + VG_MAX_NAME_LEN];
	uint64_t sealed_v = 0;
	vg_rc rc;

	*value = NULL;
	*len = 0;
	if (!ns_valid(ns) || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	rc = vg_unseal(key, VG_SEAL_RECORD, aad, record_aad(ns, name, aad), blob, blob_len, value,
		       len, &sealed_v);
	if (rc != VG_OK)
		return VG_ERR_INTEGRITY;
	if (sealed_v != version) {
		/* An older value replayed under a newer row version. */
		vg_free(*value, *len);
		*value = NULL;
		*len = 0;
		return VG_ERR_INTEGRITY;
	}
	return VG_OK;
}

vg_rc vg_secstore_get(vg_secstore *s, const char *ns, const char *name, uint8_t **value,
		      size_t *len)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	uint64_t version = 0;
	vg_rc rc;

	*value = NULL;
	*len = 0;
	rc = vg_secstore_raw(s, ns, name, &blob, &blob_len, &version);
	if (rc != VG_OK)
		return rc;
	rc = ns_key(s, ns);
	if (rc == VG_OK)
		rc =
		    vg_secstore_open_blob(s->ns_key, ns, name, version, blob, blob_len, value, len);
	free(blob);
	return rc;
}

static vg_rc delete_once(vg_secstore *s, const char *ns, const char *name)
{
	uint8_t set[32];
	uint64_t old_v, old_len;
	sqlite3_stmt *st = NULL;
	vg_rc rc;

	rc = vg_db_begin(s->db);
	if (rc != VG_OK)
		return rc;
	rc = current_version(s, ns, name, &old_v, &old_len);
	if (rc == VG_OK && !old_v)
		rc = VG_ERR_NOT_FOUND;
	if (rc == VG_OK)
		rc = set_update(s, s->set, ns, name, old_v, 0, set);
	if (rc != VG_OK)
		goto fail;
	rc = VG_ERR_IO;
	if (!(st = stmt(s, 4, "DELETE FROM store_records WHERE ns = ? AND name = ?")) ||
	    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) != SQLITE_DONE) {
		vg_db_note_failure(s->db);
		goto fail;
	}
	release(st);
	st = NULL;
	rc = vg_db_anchor_set(s->db, SET_ANCHOR, set, 32);
	if (rc != VG_OK)
		goto fail;
	rc = vg_db_commit(s->db);
	if (rc != VG_OK) {
		usage_forget(s);
		return rc;
	}
	memcpy(s->set, set, 32);
	s->count--;
	usage_change(s, ns, old_len, 0);
	/* secure_delete zeroed the row in the database file; the WAL still
	 * holds the page images of before: checkpoint and truncate it. */
	return vg_db_scrub(s->db);
fail:
	release(st);
	vg_db_rollback(s->db);
	usage_forget(s);
	return rc;
}

vg_rc vg_secstore_delete(vg_secstore *s, const char *ns, const char *name)
{
	vg_rc rc;

	if (s->batching)
		return VG_ERR_INTERNAL; /* a batch must be committed first */
	rc = check_args(s, ns, name);
	if (rc != VG_OK)
		return rc;
	/* A delete is the way out of a full disk: it must not need space
	 * that is not there. SQLite undid the transaction that met the full
	 * disk; with the ballast released it is redone. */
	rc = delete_once(s, ns, name);
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND && vg_db_space_released(s->db))
		rc = delete_once(s, ns, name);
	return rc;
}

vg_rc vg_secstore_list(vg_secstore *s, const char *ns, int (*fn)(void *ctx, const char *name),
		       void *ctx)
{
	sqlite3_stmt *st = NULL;
	vg_rc rc;
	int r;

	if (s->batching)
		return VG_ERR_INTERNAL; /* a batch must be committed first */
	if (!ns_valid(ns))
		return VG_ERR_INVALID;
	if (s->sealed_away && app_ns(ns))
		return VG_ERR_STATE;
	rc = vg_secstore_state(s);
	if (rc != VG_OK)
		return rc;
	if (!(st = stmt(s, 5, "SELECT name FROM store_records WHERE ns = ? ORDER BY name")))
		return VG_ERR_IO;
	rc = VG_ERR_IO;
	if (sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (!name || !vg_name_valid(name, strlen(name)))
			continue; /* the integrity check at open covers the set */
		if (fn(ctx, name))
			break;
	}
	rc = (r == SQLITE_ROW || r == SQLITE_DONE) ? VG_OK : VG_ERR_IO;
out:
	release(st);
	return rc;
}

/* Deletes one chunk of user records (at most VG_RESERVE_CHUNK bytes of
 * blobs, at least one record) in one transaction; *more when some are
 * left. Each chunk's pages are zeroed (secure_delete) into the WAL, so
 * the chunk bounds what a crypto-erase needs of a full disk. */
static vg_rc erase_chunk(vg_secstore *s, bool *more)
{
	struct victim {
		char ns[VG_MAX_NS_LEN + 1];
		char name[VG_MAX_NAME_LEN + 1];
	} *v = NULL;
	sqlite3_stmt *st = NULL, *del = NULL;
	uint8_t set[32], el[32];
	uint64_t n = 0, bytes = 0;
	vg_rc rc;
	int r = SQLITE_DONE;

	*more = false;
	v = calloc(ERASE_CHUNK_ROWS, sizeof *v);
	if (!v)
		return VG_ERR_NOMEM;
	rc = vg_db_begin(s->db);
	if (rc != VG_OK) {
		free(v);
		return rc;
	}
	memcpy(set, s->set, 32);
	if (sqlite3_prepare_v2(vg_db_handle(s->db),
			       "SELECT ns, name, version, length(blob) FROM store_records"
			       " WHERE ns NOT IN ('sys', 'k/service')",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(vg_db_handle(s->db),
			       "DELETE FROM store_records WHERE ns = ? AND name = ?", -1, &del,
			       NULL) != SQLITE_OK) {
		rc = VG_ERR_IO;
		goto fail;
	}
	/* The chunk is chosen first, then deleted: no row changes under the
	 * running SELECT. */
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ns = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		sqlite3_int64 ver = sqlite3_column_int64(st, 2);
		sqlite3_int64 bl = sqlite3_column_int64(st, 3);
		if (!ns || !name || ver <= 0 || bl < 0 || strlen(ns) > VG_MAX_NS_LEN ||
		    strlen(name) > VG_MAX_NAME_LEN) {
			rc = VG_ERR_INTEGRITY;
			break;
		}
		if (n == ERASE_CHUNK_ROWS || (n && bytes + (uint64_t)bl > VG_RESERVE_CHUNK)) {
			*more = true;
			break;
		}
		rc = set_element(s, ns, name, (uint64_t)ver, el);
		if (rc != VG_OK)
			break;
		xor32(set, el);
		strcpy(v[n].ns, ns);
		strcpy(v[n].name, name);
		n++;
		bytes += (uint64_t)bl;
	}
	if (rc == VG_OK && !*more && r != SQLITE_DONE) {
		vg_db_note_failure(s->db);
		rc = VG_ERR_IO;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (uint64_t i = 0; rc == VG_OK && i < n; i++) {
		(void)sqlite3_reset(del);
		if (sqlite3_bind_text(del, 1, v[i].ns, -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(del, 2, v[i].name, -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_step(del) != SQLITE_DONE) {
			vg_db_note_failure(s->db);
			rc = VG_ERR_IO;
		}
	}
	sqlite3_finalize(del);
	del = NULL;
	if (rc != VG_OK)
		goto fail;
	free(v);
	v = NULL;
	if (!n) {
		vg_db_rollback(s->db);
		return VG_OK;
	}
	rc = vg_db_anchor_set(s->db, SET_ANCHOR, set, 32);
	if (rc != VG_OK)
		goto fail;
	rc = vg_db_commit(s->db);
	usage_forget(s);
	if (rc != VG_OK)
		return rc;
	memcpy(s->set, set, 32);
	s->count -= n;
	/* secure_delete zeroed the freed pages; the WAL is next (and its
	 * space is what the next chunk reuses). */
	return vg_db_scrub(s->db);
fail:
	free(v);
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	vg_db_rollback(s->db);
	usage_forget(s);
	return rc;
}

vg_rc vg_secstore_crypto_erase(vg_secstore *s, bool rotate)
{
	bool more = true;
	vg_rc rc;

	if (s->batching)
		return VG_ERR_INTERNAL;
	if (!s->can_erase)
		return VG_ERR_UNSUPPORTED;
	rc = vg_secstore_state(s);
	if (rc != VG_OK)
		return rc;
	if (rotate) {
		/* From here on no user record opens, whatever happens next:
		 * the rows that remain until the last chunk are noise. */
		s->cached_ns[0] = '\0';
		rc = vg_rot_erase_secret(vg_db_rot(s->db), true, s->erase);
		if (rc != VG_OK)
			return rc;
	}
	while (rc == VG_OK && more) {
		rc = erase_chunk(s, &more);
		/* A full disk: the chunk is redone with the ballast released. */
		if (rc != VG_OK && vg_db_space_released(s->db))
			rc = erase_chunk(s, &more);
	}
	return rc;
}

struct row {
	char ns[32];
	char name[VG_MAX_NAME_LEN + 1];
	uint64_t version;
	/* the row's key as stored (exact type and bytes), to delete it by */
	sqlite3_value *ns_v, *name_v;
	bool malformed;
};

static void rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_value_free(rows[i].ns_v);
		sqlite3_value_free(rows[i].name_v);
	}
	free(rows);
}

/* Deletes the one row whose key is exactly (ns_v, name_v). */
static vg_rc delete_exact(sqlite3 *h, sqlite3_value *ns_v, sqlite3_value *name_v)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(h, "DELETE FROM store_records WHERE ns = ?1 AND name = ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return VG_ERR_IO;
	r = sqlite3_bind_value(st, 1, ns_v) == SQLITE_OK &&
		    sqlite3_bind_value(st, 2, name_v) == SQLITE_OK
		? sqlite3_step(st)
		: SQLITE_ERROR;
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? VG_OK : VG_ERR_IO;
}

vg_rc vg_secstore_accept(vg_secstore *s, uint64_t *dropped)
{
	sqlite3 *h = vg_db_handle(s->db);
	sqlite3_stmt *st = NULL;
	struct row *rows = NULL;
	size_t n = 0, cap = 0;
	uint8_t set[32] = {0}, el[32];
	uint64_t maxv = 0, count = 0;
	const vg_rc was = vg_secstore_state(s);
	vg_rc rc = VG_OK;
	int r;

	*dropped = 0;
	if (was == VG_OK)
		return VG_OK;
	if (s->batching)
		return VG_ERR_INTERNAL;
	s->cached_ns[0] = '\0';
	if (s->can_erase) {
		rc = vg_rot_erase_secret(vg_db_rot(s->db), true, s->erase);
		if (rc != VG_OK)
			return rc;
	}
	/* Every row of a persistent namespace (whatever the type its bytes
	 * are stored as): those that look like records are checked below,
	 * the others are malformed and go, counted. A malformed row left in
	 * the table would fail check_set at the next start: the store would
	 * be refused again. */
	if (sqlite3_prepare_v2(h,
			       "SELECT ns, name, version FROM store_records WHERE CAST(ns AS TEXT)"
			       " IN ('sys', 'k/service')",
			       -1, &st, NULL) != SQLITE_OK)
		return VG_ERR_IO;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const bool typed = sqlite3_column_type(st, 0) == SQLITE_TEXT &&
				   sqlite3_column_type(st, 1) == SQLITE_TEXT &&
				   sqlite3_column_type(st, 2) == SQLITE_INTEGER;
		const char *ns = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		sqlite3_int64 v = sqlite3_column_int64(st, 2);
		struct row *w;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct row *nr = realloc(rows, ncap * sizeof *rows);
			if (!nr) {
				rc = VG_ERR_NOMEM;
				break;
			}
			rows = nr;
			cap = ncap;
		}
		w = &rows[n];
		memset(w, 0, sizeof *w);
		w->ns_v = sqlite3_value_dup(sqlite3_column_value(st, 0));
		w->name_v = sqlite3_value_dup(sqlite3_column_value(st, 1));
		n++;
		if (!w->ns_v || !w->name_v) {
			rc = VG_ERR_NOMEM;
			break;
		}
		w->malformed = !typed || !ns || !name ||
			       (size_t)sqlite3_column_bytes(st, 0) != strlen(ns) ||
			       (size_t)sqlite3_column_bytes(st, 1) != strlen(name) ||
			       !vg_name_valid(name, strlen(name)) || v <= 0;
		if (w->malformed)
			continue;
		(void)snprintf(w->ns, sizeof w->ns, "%s", ns);
		(void)snprintf(w->name, sizeof w->name, "%s", name);
		w->version = (uint64_t)v;
		maxv = w->version > maxv ? w->version : maxv;
	}
	if (rc == VG_OK && r != SQLITE_DONE)
		rc = VG_ERR_IO;
	sqlite3_finalize(st);
	if (rc != VG_OK)
		goto out;
	usage_forget(s);
	vg_db_accept(s->db, maxv);
	rc = vg_db_begin(s->db);
	if (rc != VG_OK)
		goto out;
	if (vg_db_exec(s->db, "DELETE FROM store_records WHERE ns NOT IN ('sys', 'k/service') OR "
			      "typeof(ns) != 'text' OR typeof(name) != 'text' OR "
			      "typeof(version) != 'integer' OR version <= 0") != VG_OK) {
		rc = VG_ERR_IO;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *val = NULL;
		size_t len = 0;
		vg_rc g = VG_ERR_INTEGRITY;
		if (!rows[i].malformed) {
			g = vg_secstore_get(s, rows[i].ns, rows[i].name, &val, &len);
			vg_free(val, len);
		}
		if (g == VG_OK) {
			rc = set_element(s, rows[i].ns, rows[i].name, rows[i].version, el);
			if (rc != VG_OK)
				goto fail;
			xor32(set, el);
			count++;
			continue;
		}
		if (g != VG_ERR_INTEGRITY && g != VG_ERR_NOT_FOUND) {
			rc = g;
			goto fail;
		}
		/* Malformed or not authentic: it cannot be used, so it cannot
		 * stay (the DELETE above may have taken it already). */
		rc = delete_exact(h, rows[i].ns_v, rows[i].name_v);
		if (rc != VG_OK)
			goto fail;
		(*dropped)++;
	}
	rc = vg_db_anchor_set(s->db, SET_ANCHOR, set, 32);
	if (rc != VG_OK)
		goto fail;
	rc = vg_db_commit(s->db);
	if (rc != VG_OK)
		goto out;
	memcpy(s->set, set, 32);
	s->count = count;
	rows_free(rows, n);
	/* secure_delete zeroed the freed pages; the WAL is next. */
	return vg_db_scrub(s->db);
fail:
	vg_db_rollback(s->db);
out:
	if (rc != VG_OK) {
		vg_db_set_state(s->db, was); /* still refused: nothing was accepted */
		*dropped = 0;
	}
	rows_free(rows, n);
	return rc;
}
