/* db.c - see db.h */
#include "storage/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "crypto/seal.h"

#define MAX_ANCHORS     16u
#define ANCHOR_NAME_MAX 31u

struct anchor {
	char name[ANCHOR_NAME_MAX + 1];
	uint8_t val[VG_ANCHOR_MAX];
	size_t len;
	bool dirty; /* changed in the open transaction */
};

struct vg_db {
	sqlite3 *h;
	vg_rot *rot;
	vg_hmac_key *meta_key; /* keys the meta MAC */
	uint64_t counter;      /* commits, ever (record versions hang off it) */
	uint64_t epoch;        /* the RoT counter value this state is bound to */
	uint64_t rot_value;    /* the RoT counter as last read or advanced */
	vg_rc state;
	bool in_tx;
	sqlite3_stmt *st_meta_put;
	uint32_t rot_sync_ms;   /* 0: advance the RoT in every commit */
	bool rot_pending;       /* committed counter not yet in the RoT */
	uint64_t rot_synced_ms; /* monotonic time of the last RoT advance */
	uint64_t rot_retry_ms;  /* after a failed advance: not again before */
	struct anchor anchors[MAX_ANCHORS];
	size_t n_anchors;
	/* copies restored when a transaction is rolled back */
	struct anchor saved[MAX_ANCHORS];
	size_t n_saved;
	/* a full disk (see db.h) */
	vg_reserve *reserve;
	bool no_relief; /* an application's write is running */
	bool full;      /* a write failed for lack of space */
	bool released;  /* ... and the ballast was released for it */
};

/* One small B-tree, so a commit dirties one meta page: rows "#counter"
 * and "#epoch" (8 bytes each, big-endian), "#mac" (32) and one per anchor. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, val BLOB NOT NULL)"
    " WITHOUT ROWID;";

#define ROW_COUNTER "#counter"
#define ROW_EPOCH   "#epoch"
#define ROW_MAC     "#mac"

void vg_db_note_failure(vg_db *db)
{
	if ((sqlite3_errcode(db->h) & 0xff) != SQLITE_FULL)
		return;
	db->full = true;
	if (!db->no_relief && vg_reserve_release(db->reserve))
		db->released = true;
}

vg_rc vg_db_exec(vg_db *db, const char *sql)
{
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) == SQLITE_OK)
		return VG_OK;
	vg_db_note_failure(db);
	return VG_ERR_IO;
}

void vg_db_set_reserve(vg_db *db, vg_reserve *r)
{
	db->reserve = r;
}

vg_reserve *vg_db_reserve(vg_db *db)
{
	return db->reserve;
}

bool vg_db_set_relief(vg_db *db, bool on)
{
	bool was = !db->no_relief;

	db->no_relief = !on;
	return was;
}

bool vg_db_space_released(vg_db *db)
{
	bool r = db->released;

	db->released = false;
	db->full = false;
	return r;
}

bool vg_db_was_full(vg_db *db)
{
	bool f = db->full;

	db->full = false;
	db->released = false;
	return f;
}

static int64_t pragma_int(vg_db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

uint64_t vg_db_free_bytes(vg_db *db)
{
	int64_t pages = pragma_int(db, "PRAGMA freelist_count");
	int64_t size = pragma_int(db, "PRAGMA page_size");

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

sqlite3 *vg_db_handle(vg_db *db)
{
	return db->h;
}
vg_rot *vg_db_rot(vg_db *db)
{
	return db->rot;
}
vg_rc vg_db_state(const vg_db *db)
{
	return db->state;
}
uint64_t vg_db_counter(const vg_db *db)
{
	return db->counter;
}
uint64_t vg_db_epoch(const vg_db *db)
{
	return db->epoch;
}
bool vg_db_in_tx(const vg_db *db)
{
	return db->in_tx;
}

void vg_db_set_state(vg_db *db, vg_rc state)
{
	/* Rollback outranks an integrity error: it names the cause. */
	if (db->state == VG_OK || state == VG_ERR_ROLLBACK)
		db->state = state;
}

void vg_db_accept(vg_db *db, uint64_t min_counter)
{
	if (db->state == VG_OK)
		return;
	db->state = VG_OK;
	if (db->counter < min_counter)
		db->counter = min_counter;
}

static int anchor_cmp(const void *a, const void *b)
{
	return strcmp(((const struct anchor *)a)->name, ((const struct anchor *)b)->name);
}

/* HMAC over "VGM2" | counter | epoch | for each anchor by name:
 * len|name|len|val. */
static vg_rc meta_mac(vg_db *db, uint64_t counter, uint64_t epoch, uint8_t mac[32])
{
	uint8_t buf[4 + 8 + 8 + MAX_ANCHORS * (2 + ANCHOR_NAME_MAX + VG_ANCHOR_MAX)];
	size_t n = 0;

	memcpy(buf, "VGM2", 4);
	n = 4;
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)(counter >> (8 * i));
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)(epoch >> (8 * i));
	qsort(db->anchors, db->n_anchors, sizeof db->anchors[0], anchor_cmp);
	for (size_t i = 0; i < db->n_anchors; i++) {
		size_t nl = strlen(db->anchors[i].name);
		buf[n++] = (uint8_t)nl;
		memcpy(buf + n, db->anchors[i].name, nl);
		n += nl;
		buf[n++] = (uint8_t)db->anchors[i].len;
		memcpy(buf + n, db->anchors[i].val, db->anchors[i].len);
		n += db->anchors[i].len;
	}
	return vg_hmac_with(db->meta_key, buf, n, mac);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads the meta rows strictly: exact storage types (checked before any
 * conversion), lengths and names; every anomaly is an integrity error. */
static vg_rc load_meta(vg_db *db, bool *present)
{
	sqlite3_stmt *st = NULL;
	uint8_t mac[32], want[32];
	bool have_counter = false, have_epoch = false, have_mac = false;
	vg_rc rc = VG_OK;
	int r;

	*present = false;
	db->n_anchors = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT name, val FROM meta", -1, &st, NULL) != SQLITE_OK)
		return VG_ERR_IO;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		bool typed = sqlite3_column_type(st, 0) == SQLITE_TEXT &&
			     sqlite3_column_type(st, 1) == SQLITE_BLOB;
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int name_len = sqlite3_column_bytes(st, 0);
		const uint8_t *val = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);

		if (!typed || !name || name_len < 1 || (size_t)name_len != strlen(name) ||
		    len < 0 || (size_t)len > VG_ANCHOR_MAX || (len > 0 && !val)) {
			rc = VG_ERR_INTEGRITY;
			break;
		}
		if (strcmp(name, ROW_COUNTER) == 0 && len == 8 && !have_counter) {
			db->counter = be64(val);
			have_counter = true;
		} else if (strcmp(name, ROW_EPOCH) == 0 && len == 8 && !have_epoch) {
			db->epoch = be64(val);
			have_epoch = true;
		} else if (strcmp(name, ROW_MAC) == 0 && len == 32 && !have_mac) {
			memcpy(mac, val, 32);
			have_mac = true;
		} else if (name[0] != '#' && (size_t)name_len <= ANCHOR_NAME_MAX &&
			   db->n_anchors < MAX_ANCHORS) {
			struct anchor *a = &db->anchors[db->n_anchors++];
			memcpy(a->name, name, (size_t)name_len + 1);
			if (len > 0)
				memcpy(a->val, val, (size_t)len);
			a->len = (size_t)len;
		} else {
			rc = VG_ERR_INTEGRITY;
			break;
		}
	}
	if (rc == VG_OK && r != SQLITE_DONE)
		rc = r == SQLITE_CORRUPT ? VG_ERR_INTEGRITY : VG_ERR_IO;
	sqlite3_finalize(st);
	if (rc != VG_OK)
		return rc;
	if (!have_counter && !have_epoch && !have_mac && db->n_anchors == 0) {
		db->counter = 0; /* a database that never committed */
		db->epoch = 0;
		return VG_OK;
	}
	*present = true;
	if (!have_counter || !have_epoch || !have_mac || db->counter > INT64_MAX ||
	    db->epoch > INT64_MAX)
		return VG_ERR_INTEGRITY;
	rc = meta_mac(db, db->counter, db->epoch, want);
	if (rc == VG_OK && CRYPTO_memcmp(mac, want, 32) != 0)
		rc = VG_ERR_INTEGRITY;
	return rc;
}

vg_rc vg_db_open(vg_db **out, const char *path, vg_rot *rot)
{
	vg_db *db = calloc(1, sizeof *db);
	uint64_t rot_counter = 0;
	bool present;
	vg_rc rc;

	*out = NULL;
	if (!db)
		return VG_ERR_NOMEM;
	db->rot = rot;
	{
		uint8_t k[VG_KEY_LEN];
		rc = vg_rot_derive(rot, "db-meta", NULL, 0, k);
		if (rc == VG_OK)
			rc = vg_hmac_key_new(k, sizeof k, &db->meta_key);
		vg_wipe(k, sizeof k);
	}
	if (rc != VG_OK)
		goto fail;
	if (sqlite3_open_v2(path, &db->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
				SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		rc = VG_ERR_IO;
		goto fail;
	}
	(void)sqlite3_busy_timeout(db->h, 5000);
	/* WAL + FULL: a commit is durable once COMMIT returns. secure_delete
	 * zeroes freed content in the database file; vg_db_scrub() deals with
	 * the WAL. cell_size_check turns some corruption into errors early. */
	/* Exclusive locking: only the service ever opens its database (no
	 * other process may read it while it runs), and it saves the lock
	 * system calls and the shared-memory file of every transaction. The
	 * WAL keeps its size between checkpoints, so appends overwrite it in
	 * place and fdatasync need not commit a size change; vg_db_scrub
	 * truncates it where a secret was deleted. */
	rc = vg_db_exec(db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
			    "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
			    "PRAGMA foreign_keys=ON; PRAGMA cell_size_check=ON;"
			    "PRAGMA trusted_schema=OFF;"
			    /* 512 KiB of page cache (SQLite's default is 2 MiB):
			     * the working set is small, the device's RAM is not. */
			    "PRAGMA cache_size=-512;");
	if (rc == VG_OK)
		rc = vg_db_exec(db, schema);
	if (rc == VG_OK &&
	    sqlite3_prepare_v3(db->h, "INSERT OR REPLACE INTO meta(name, val) VALUES (?, ?)", -1,
			       SQLITE_PREPARE_PERSISTENT, &db->st_meta_put, NULL) != SQLITE_OK)
		rc = VG_ERR_IO;
	if (rc != VG_OK)
		goto fail;

	rc = vg_rot_counter_read(rot, &rot_counter);
	if (rc != VG_OK)
		goto fail;
	rc = load_meta(db, &present);
	if (rc == VG_ERR_IO)
		goto fail;
	db->state = rc;
	db->rot_value = rot_counter;
	if (db->state == VG_OK) {
		if (db->epoch < rot_counter) {
			/* Also covers a deleted database on a used device. */
			db->state = VG_ERR_ROLLBACK;
		} else if (db->epoch > rot_counter) {
			/* Crash between COMMIT and the RoT write: the database
			 * is newer (only we can MAC its meta), so catch up. */
			rc = vg_rot_counter_advance(rot, db->epoch);
			if (rc != VG_OK)
				goto fail;
			db->rot_value = db->epoch;
		}
	}
	*out = db;
	return VG_OK;
fail:
	vg_db_close(&db);
	return rc;
}

void vg_db_close(vg_db **pdb)
{
	vg_db *db;

	if (!pdb || !*pdb)
		return;
	db = *pdb;
	if (db->h) {
		if (db->in_tx)
			vg_db_rollback(db);
		/* Whatever was committed reaches the RoT before we go. */
		if (db->rot_pending && vg_db_rot_sync(db, true) != VG_OK)
			(void)fprintf(stderr, "voxguardd: could not advance the root of trust "
					      "counter at close\n");
		sqlite3_finalize(db->st_meta_put);
		(void)sqlite3_close_v2(db->h);
	}
	vg_hmac_key_free(&db->meta_key);
	vg_wipe(db, sizeof *db);
	free(db);
	*pdb = NULL;
}

vg_rc vg_db_begin(vg_db *db)
{
	if (db->in_tx)
		return VG_ERR_INTERNAL;
	if (db->state != VG_OK)
		return db->state; /* never write over evidence of an attack */
	db->full = false;         /* the space latches speak of this operation only */
	db->released = false;
	if (vg_db_exec(db, "BEGIN IMMEDIATE") != VG_OK)
		return VG_ERR_IO;
	memcpy(db->saved, db->anchors, sizeof db->anchors);
	db->n_saved = db->n_anchors;
	db->in_tx = true;
	return VG_OK;
}

void vg_db_rollback(vg_db *db)
{
	if (!db->in_tx)
		return;
	/* Every module rolls back after a failed statement: see whether it
	 * failed for lack of space before ROLLBACK resets the error. */
	vg_db_note_failure(db);
	VG_IGNORE(vg_db_exec(db, "ROLLBACK"));
	memcpy(db->anchors, db->saved, sizeof db->anchors);
	db->n_anchors = db->n_saved;
	db->in_tx = false;
}

vg_rc vg_db_anchor_set(vg_db *db, const char *name, const uint8_t *val, size_t len)
{
	struct anchor *a = NULL;

	if (!db->in_tx || !name[0] || name[0] == '#' || strlen(name) > ANCHOR_NAME_MAX ||
	    len > VG_ANCHOR_MAX)
		return VG_ERR_INTERNAL;
	for (size_t i = 0; i < db->n_anchors; i++)
		if (strcmp(db->anchors[i].name, name) == 0)
			a = &db->anchors[i];
	if (!a) {
		if (db->n_anchors == MAX_ANCHORS)
			return VG_ERR_INTERNAL;
		a = &db->anchors[db->n_anchors++];
		strcpy(a->name, name);
	}
	if (len)
		memcpy(a->val, val, len);
	a->len = len;
	a->dirty = true;
	return VG_OK;
}

vg_rc vg_db_anchor_get(const vg_db *db, const char *name, uint8_t *val, size_t cap, size_t *len)
{
	for (size_t i = 0; i < db->n_anchors; i++) {
		if (strcmp(db->anchors[i].name, name) == 0) {
			if (db->anchors[i].len > cap)
				return VG_ERR_TOO_LARGE;
			memcpy(val, db->anchors[i].val, db->anchors[i].len);
			*len = db->anchors[i].len;
			return VG_OK;
		}
	}
	*len = 0;
	return VG_ERR_NOT_FOUND;
}

static vg_rc meta_put(vg_db *db, const char *name, const uint8_t *val, size_t len)
{
	sqlite3_stmt *st = db->st_meta_put;

	(void)sqlite3_reset(st);
	if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, len ? (const void *)val : "", (int)len, SQLITE_STATIC) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		vg_db_note_failure(db);
		(void)sqlite3_reset(st);
		return VG_ERR_IO;
	}
	(void)sqlite3_reset(st);
	return VG_OK;
}

vg_rc vg_db_commit(vg_db *db)
{
	uint8_t mac[32], ctr[8], ep[8];
	uint64_t next = db->counter + 1;
	/* Every commit belongs to the epoch after the RoT's current value;
	 * the RoT reaches it at the next sync. So the RoT only ever steps by
	 * one (all a TPM NV counter can do), once per sync window. */
	uint64_t epoch = db->rot_value + 1;
	vg_rc rc;

	if (!db->in_tx)
		return VG_ERR_INTERNAL;
	rc = meta_mac(db, next, epoch, mac);
	for (int i = 0; i < 8; i++) {
		ctr[i] = (uint8_t)(next >> (56 - 8 * i));
		ep[i] = (uint8_t)(epoch >> (56 - 8 * i));
	}
	if (rc == VG_OK)
		rc = meta_put(db, ROW_COUNTER, ctr, sizeof ctr);
	if (rc == VG_OK)
		rc = meta_put(db, ROW_EPOCH, ep, sizeof ep);
	if (rc == VG_OK)
		rc = meta_put(db, ROW_MAC, mac, sizeof mac);
	/* Only anchors changed in this transaction are rewritten. */
	for (size_t i = 0; rc == VG_OK && i < db->n_anchors; i++)
		if (db->anchors[i].dirty)
			rc = meta_put(db, db->anchors[i].name, db->anchors[i].val,
				      db->anchors[i].len);
	if (rc == VG_OK && vg_db_exec(db, "COMMIT") != VG_OK)
		rc = VG_ERR_IO;
	if (rc != VG_OK) {
		vg_db_rollback(db);
		return rc;
	}
	db->in_tx = false;
	db->counter = next;
	db->epoch = epoch;
	for (size_t i = 0; i < db->n_anchors; i++)
		db->anchors[i].dirty = false;
	/* The data is durable. The RoT follows, now or within rot_sync_ms
	 * (vg_db_rot_sync); a crash in between is the db > RoT case that
	 * vg_db_open accepts. */
	db->rot_pending = true;
	return db->rot_sync_ms == 0 ? vg_db_rot_sync(db, true) : VG_OK;
}

vg_rc vg_db_rot_sync(vg_db *db, bool force)
{
	uint64_t now;
	bool done;
	vg_rc rc;

	if (!db || !db->rot_pending)
		return VG_OK;
	now = vg_mono_ms();
	if (!force && (now - db->rot_synced_ms < db->rot_sync_ms || now < db->rot_retry_ms))
		return VG_OK;
	/* Forced (a commit with rot_sync_ms 0, the close): waited for.
	 * Otherwise started, and confirmed at a later call: a root of trust
	 * that stops answering must not hold the event loop. */
	if (force) {
		rc = vg_rot_counter_advance(db->rot, db->epoch);
		done = rc == VG_OK;
	} else {
		rc = vg_rot_counter_start(db->rot, db->epoch, &done);
	}
	if (rc == VG_OK && !done) {
		/* Under way: look again in VG_DB_ROT_POLL_MS. */
		db->rot_retry_ms = now + VG_DB_ROT_POLL_MS;
	} else if (rc == VG_OK) {
		db->rot_value = db->epoch;
		db->rot_pending = false;
		db->rot_synced_ms = now;
		db->rot_retry_ms = 0;
	} else {
		/* A root of trust that fails (or does not answer: it then
		 * fails at once) is tried again after the window, at least
		 * VG_DB_ROT_RETRY_MS later, not in every round of the loop. */
		db->rot_retry_ms =
		    now +
		    (db->rot_sync_ms > VG_DB_ROT_RETRY_MS ? db->rot_sync_ms : VG_DB_ROT_RETRY_MS);
	}
	return rc;
}

int vg_db_rot_sync_due_ms(const vg_db *db)
{
	uint64_t now, due;

	if (!db || !db->rot_pending)
		return -1;
	now = vg_mono_ms();
	due = db->rot_synced_ms + db->rot_sync_ms;
	if (db->rot_retry_ms > due)
		due = db->rot_retry_ms;
	return due <= now ? 0 : (int)(due - now);
}

uint64_t vg_db_rot_value(const vg_db *db)
{
	return db->rot_value;
}

void vg_db_set_rot_sync_ms(vg_db *db, uint32_t ms)
{
	db->rot_sync_ms = ms;
}

vg_rc vg_db_scrub(vg_db *db)
{
	int log = 0, ckpt = 0;

	if (db->in_tx)
		return VG_ERR_INTERNAL;
	/* A checkpoint that must grow the database file can meet a full
	 * disk: the data is durable in the WAL already, so with the ballast
	 * released it is simply tried again. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log,
					      &ckpt) == SQLITE_OK)
			return VG_OK;
		vg_db_note_failure(db);
		if (!vg_db_space_released(db))
			break;
	}
	return VG_ERR_IO;
}
