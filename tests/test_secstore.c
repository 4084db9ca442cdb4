/*
 * test_secstore.c - secure storage (src/storage/secstore.h) over the
 * database and its rollback binding (src/storage/db.h).
 *
 * SFR 4.2.4 secure storage; AVS Device SDK: protect configuration and
 * persistent state. The attacks are done the way an attacker with the
 * state dir would: with SQLite directly on the database file while the
 * service is stopped, then the service restarts (the stack reopens).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/wait.h>

#include <openssl/rand.h>

#include "crypto/seal.h"
#include "helpers.h"

#define NS  "u/1000"
#define NS2 "u/1001"

/* ---- helpers ---- */

static void put_str(vgt_stack *s, const char *ns, const char *name, const char *v)
{
	assert_int_equal(vg_secstore_put(s->st, ns, name, (const uint8_t *)v, strlen(v)), VG_OK);
}

static void assert_get_str(vgt_stack *s, const char *ns, const char *name, const char *want)
{
	uint8_t *v = NULL;
	size_t n = 0;

	assert_int_equal(vg_secstore_get(s->st, ns, name, &v, &n), VG_OK);
	assert_non_null(v);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(v, want, n);
	vg_free(v, n);
}

/* get fails with rc and returns nothing. */
static void assert_get_fails(vgt_stack *s, const char *ns, const char *name, vg_rc rc)
{
	uint8_t sentinel, *v = &sentinel;
	size_t n = 99;

	assert_int_equal(vg_secstore_get(s->st, ns, name, &v, &n), rc);
	assert_null(v);
	assert_int_equal(n, 0);
}

static void reopen_ok(vgt_stack *s)
{
	assert_int_equal(vgt_stack_reopen(s), VG_OK);
}

struct names {
	char v[16][VG_MAX_NAME_LEN + 1];
	size_t n;
	size_t stop_after;
};

static int collect(void *ctx, const char *name)
{
	struct names *l = ctx;

	if (l->n < 16)
		strcpy(l->v[l->n++], name);
	return l->stop_after && l->n == l->stop_after;
}

/* The database file and its WAL, concatenated (what a write would change). */
static uint8_t *db_files(vgt_stack *s, size_t *len)
{
	char wal[VGT_PATH];
	uint8_t *a, *b = NULL, *all;
	size_t al, bl = 0;

	vgt_path(wal, s->dir, VG_DB_FILE "-wal");
	assert_int_equal(vgt_read(s->db_path, &a, &al), 0);
	if (vgt_exists(wal))
		assert_int_equal(vgt_read(wal, &b, &bl), 0);
	all = malloc(al + bl + 1);
	assert_non_null(all);
	memcpy(all, a, al);
	if (bl)
		memcpy(all + al, b, bl);
	free(a);
	free(b);
	*len = al + bl;
	return all;
}

/* Every record operation is refused with rc (and the db is not touched). */
static void assert_store_refuses(vgt_stack *s, vg_rc rc)
{
	uint8_t *before, *after;
	size_t bl, al;
	struct names l;

	memset(&l, 0, sizeof l);
	assert_int_equal(vg_db_state(s->db), rc);
	assert_int_equal(vg_secstore_state(s->st), rc);
	before = db_files(s, &bl);
	assert_int_equal(vg_secstore_put(s->st, NS, "new", (const uint8_t *)"x", 1), rc);
	assert_int_equal(vg_secstore_put(s->st, NS, "a", (const uint8_t *)"x", 1), rc);
	assert_get_fails(s, NS, "a", rc);
	assert_get_fails(s, NS, "b", rc);
	assert_int_equal(vg_secstore_delete(s->st, NS, "a"), rc);
	assert_int_equal(vg_secstore_list(s->st, NS, collect, &l), rc);
	assert_int_equal(l.n, 0);
	/* Never writes over the evidence. */
	after = db_files(s, &al);
	assert_int_equal(bl, al);
	assert_memory_equal(before, after, bl);
	free(before);
	free(after);
}

static struct names list_ns(vgt_stack *s, const char *ns)
{
	struct names l;

	memset(&l, 0, sizeof l);
	assert_int_equal(vg_secstore_list(s->st, ns, collect, &l), VG_OK);
	return l;
}

/* Three records a, b, c in NS, one x in NS2; the stack is closed after. */
static void populate_and_close(vgt_stack *s)
{
	put_str(s, NS, "a", "value of a");
	put_str(s, NS, "b", "value of b");
	put_str(s, NS, "c", "value of c");
	put_str(s, NS2, "x", "value of x");
	vgt_stack_close(s);
}

static void sql_ok(vgt_stack *s, const char *sql)
{
	int r = vgt_sql_script(s->db_path, sql);

	if (r != SQLITE_OK)
		fail_msg("sql '%s': %s", sql, sqlite3_errstr(r));
}

static uint8_t *row_blob(vgt_stack *s, const char *ns, const char *name, size_t *len)
{
	char sql[256];
	uint8_t *b;

	(void)snprintf(sql, sizeof sql,
		       "SELECT blob FROM store_records WHERE ns = '%s' AND name = '%s'", ns, name);
	assert_int_equal(vgt_sql_blob(s->db_path, sql, &b, len), 0);
	return b;
}

static long long row_version(vgt_stack *s, const char *ns, const char *name)
{
	char sql[256];

	(void)snprintf(sql, sizeof sql,
		       "SELECT version FROM store_records WHERE ns = '%s' AND name = '%s'", ns,
		       name);
	return vgt_sql_int(s->db_path, sql);
}

static void set_row_blob(vgt_stack *s, const char *ns, const char *name, const uint8_t *b,
			 size_t len)
{
	char sql[256];

	(void)snprintf(sql, sizeof sql,
		       "UPDATE store_records SET blob = ?1 WHERE ns = '%s' AND name = '%s'", ns,
		       name);
	assert_int_equal(vgt_sql(s->db_path, sql, b, len), SQLITE_DONE);
}

/* ---- functional ---- */

/* SFR 4.2.4: put, get, overwrite, list (in name order), delete. */
/* The key of a user namespace, as documented in secstore.h: HKDF label
 * "store-ns-user", context ns | 0 | the RoT's erase secret. */
static void user_ns_key(vgt_stack *s, const char *ns, uint8_t k[VG_KEY_LEN])
{
	uint8_t ctx[VG_MAX_NS_LEN + 1 + VG_KEY_LEN], e[VG_KEY_LEN];
	size_t n = strlen(ns);

	assert_int_equal(vg_rot_erase_secret(s->rot, false, e), VG_OK);
	memcpy(ctx, ns, n);
	ctx[n] = 0;
	memcpy(ctx + n + 1, e, VG_KEY_LEN);
	assert_int_equal(vg_rot_derive(s->rot, "store-ns-user", ctx, n + 1 + VG_KEY_LEN, k), VG_OK);
}

static void test_secstore_put_get_list_delete(void **state)
{
	vgt_stack *s = *state;
	struct names l;
	uint8_t *v = NULL;
	size_t n = 1;

	assert_int_equal(vg_secstore_count(s->st), 0);
	put_str(s, NS, "wifi.psk", "correct horse");
	put_str(s, NS, "alexa-token", "atza|IwEB");
	put_str(s, NS, "Zed_1", "z");
	assert_int_equal(vg_secstore_count(s->st), 3);
	assert_get_str(s, NS, "wifi.psk", "correct horse");
	assert_get_str(s, NS, "alexa-token", "atza|IwEB");

	put_str(s, NS, "wifi.psk", "battery staple");
	assert_get_str(s, NS, "wifi.psk", "battery staple");
	assert_int_equal(vg_secstore_count(s->st), 3);

	l = list_ns(s, NS);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "Zed_1");
	assert_string_equal(l.v[1], "alexa-token");
	assert_string_equal(l.v[2], "wifi.psk");
	/* fn returning non-zero stops the walk. */
	memset(&l, 0, sizeof l);
	l.stop_after = 1;
	assert_int_equal(vg_secstore_list(s->st, NS, collect, &l), VG_OK);
	assert_int_equal(l.n, 1);

	assert_int_equal(vg_secstore_delete(s->st, NS, "alexa-token"), VG_OK);
	assert_int_equal(vg_secstore_count(s->st), 2);
	assert_get_fails(s, NS, "alexa-token", VG_ERR_NOT_FOUND);
	assert_int_equal(vg_secstore_delete(s->st, NS, "alexa-token"), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_secstore_delete(s->st, NS, "never-was"), VG_ERR_NOT_FOUND);
	l = list_ns(s, NS);
	assert_int_equal(l.n, 2);

	/* An empty value is a value. */
	assert_int_equal(vg_secstore_put(s->st, NS, "empty", NULL, 0), VG_OK);
	assert_int_equal(vg_secstore_get(s->st, NS, "empty", &v, &n), VG_OK);
	assert_int_equal(n, 0);
	vg_free(v, n);
	assert_int_equal(vg_db_state(s->db), VG_OK);
}

/* SFR 4.2.4: records, and the counter they are bound to, survive a
 * restart; each commit advances the RoT counter with the db counter. */
static void test_secstore_persists_across_reopen(void **state)
{
	vgt_stack *s = *state;
	uint64_t rc0, rc1;

	put_str(s, NS, "a", "one");
	put_str(s, NS2, "a", "two");
	assert_int_equal(vg_secstore_delete(s->st, NS2, "a"), VG_OK);
	put_str(s, NS2, "b", "three");
	assert_int_equal(vg_db_counter(s->db), 4);
	assert_int_equal(vg_rot_counter_read(s->rot, &rc0), VG_OK);
	assert_int_equal(rc0, 4);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_int_equal(vg_db_counter(s->db), 4);
	assert_int_equal(vg_rot_counter_read(s->rot, &rc1), VG_OK);
	assert_int_equal(rc1, 4);
	assert_int_equal(vg_secstore_count(s->st), 2);
	assert_get_str(s, NS, "a", "one");
	assert_get_str(s, NS2, "b", "three");
	assert_get_fails(s, NS2, "a", VG_ERR_NOT_FOUND);
}

/* SFR 4.2.4: a value of exactly VG_MAX_VALUE_LEN (16 MiB) roundtrips,
 * also after a restart. */
static void test_secstore_16mib_value_roundtrip(void **state)
{
	vgt_stack *s = *state;
	size_t n = VG_MAX_VALUE_LEN, got_len = 0;
	uint8_t *v = malloc(n), *got = NULL;

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
	assert_int_equal(vg_secstore_put(s->st, NS, "big", v, n), VG_OK);
	assert_int_equal(vg_secstore_get(s->st, NS, "big", &got, &got_len), VG_OK);
	assert_int_equal(got_len, n);
	assert_true(memcmp(got, v, n) == 0);
	vg_free(got, got_len);
	reopen_ok(s);
	assert_int_equal(vg_secstore_get(s->st, NS, "big", &got, &got_len), VG_OK);
	assert_int_equal(got_len, n);
	assert_true(memcmp(got, v, n) == 0);
	vg_free(got, got_len);
	free(v);
}

/* SFR 4.2.10: one application's large records do not slow another's
 * lookups. The page-cache misses of a small record's get, after a restart
 * (an empty cache), beside eight 1 MiB records of another namespace: the
 * index holds keys alone, so the get reads a few pages, never the other
 * records' values (in the old WITHOUT ROWID layout it read megabytes). */
static void test_sfr4210_large_records_do_not_slow_lookups(void **state)
{
	vgt_stack *s = *state;
	size_t n = 1u << 20, got_len = 0;
	uint8_t *v = calloc(1, n), *got = NULL;
	int cur = 0, hi = 0;

	assert_non_null(v);
	put_str(s, NS, "small", "a setting");
	for (int i = 0; i < 8; i++) {
		char name[16];
		(void)snprintf(name, sizeof name, "big%d", i);
		v[0] = (uint8_t)i;
		assert_int_equal(vg_secstore_put(s->st, NS2, name, v, n), VG_OK);
	}
	free(v);
	reopen_ok(s);
	assert_int_equal(sqlite3_db_status(vg_db_handle(s->db), SQLITE_DBSTATUS_CACHE_MISS, &cur,
					   &hi, 1),
			 SQLITE_OK);
	assert_int_equal(vg_secstore_get(s->st, NS, "small", &got, &got_len), VG_OK);
	vg_free(got, got_len);
	assert_int_equal(sqlite3_db_status(vg_db_handle(s->db), SQLITE_DBSTATUS_CACHE_MISS, &cur,
					   &hi, 0),
			 SQLITE_OK);
	if (cur > 16)
		fail_msg("a small record's get read %d pages beside large records", cur);
}

/* SFR 4.2.4: a store made in the old layout (records in a WITHOUT ROWID
 * table) is migrated at open, records, versions and the record-set digest
 * intact, and keeps working. */
static void test_secstore_old_layout_migrated(void **state)
{
	vgt_stack *s = *state;

	populate_and_close(s);
	sql_ok(s, "CREATE TABLE old(ns TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
		  " blob BLOB NOT NULL, PRIMARY KEY (ns, name)) WITHOUT ROWID;"
		  "INSERT INTO old SELECT ns, name, version, blob FROM store_records;"
		  "DROP TABLE store_records; ALTER TABLE old RENAME TO store_records;");
	assert_int_equal(vgt_sql_int(s->db_path, "SELECT count(*) FROM sqlite_schema WHERE"
						 " sql LIKE '%WITHOUT ROWID%' AND name = 'store_records'"),
			 1);
	assert_int_equal(vgt_stack_open(s), VG_OK);
	assert_int_equal(vg_secstore_state(s->st), VG_OK);
	{
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(vg_db_handle(s->db),
						    "SELECT count(*) FROM sqlite_schema WHERE sql LIKE"
						    " '%WITHOUT ROWID%' AND name = 'store_records'",
						    -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), 0);
		sqlite3_finalize(st);
	}
	assert_get_str(s, NS, "a", "value of a");
	assert_get_str(s, NS2, "x", "value of x");
	put_str(s, NS, "d", "value of d");
	reopen_ok(s);
	assert_int_equal(vg_secstore_count(s->st), 5);
	assert_get_str(s, NS, "b", "value of b");
	assert_get_str(s, NS, "d", "value of d");
}

/* SFR 4.2.4: one byte over VG_MAX_VALUE_LEN is VG_ERR_TOO_LARGE and
 * nothing is written. */
static void test_secstore_value_too_large(void **state)
{
	vgt_stack *s = *state;
	size_t n = VG_MAX_VALUE_LEN + 1;
	uint8_t *v = calloc(1, n);

	assert_non_null(v);
	assert_int_equal(vg_secstore_put(s->st, NS, "big", v, n), VG_ERR_TOO_LARGE);
	assert_get_fails(s, NS, "big", VG_ERR_NOT_FOUND);
	assert_int_equal(vg_db_counter(s->db), 0);
	free(v);
}

/* SFR 4.2.4 / AVS SDK (hostile input): malformed record names and
 * namespaces are VG_ERR_INVALID for every operation. */
static void test_secstore_invalid_names(void **state)
{
	vgt_stack *s = *state;
	char longest[VG_MAX_NAME_LEN + 2], long_ns[VG_MAX_NS_LEN + 2];
	const char *bad[] = {"",    ".hidden", "..",  "a/b", "a b",  "a\tb", "caf\xc3\xa9",
			     "a;b", "a'b",     "a%b", "*",   longest};
	uint8_t *v = NULL, *blob = NULL;
	size_t n = 0;
	uint64_t ver;
	int dummy = 0;

	memset(longest, 'n', VG_MAX_NAME_LEN);
	longest[VG_MAX_NAME_LEN] = '\0';
	put_str(s, NS, longest, "128 is fine");
	assert_get_str(s, NS, longest, "128 is fine");
	longest[VG_MAX_NAME_LEN] = 'n';
	longest[VG_MAX_NAME_LEN + 1] = '\0';
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		assert_int_equal(vg_secstore_put(s->st, NS, bad[i], (const uint8_t *)"v", 1),
				 VG_ERR_INVALID);
		assert_int_equal(vg_secstore_get(s->st, NS, bad[i], &v, &n), VG_ERR_INVALID);
		assert_int_equal(vg_secstore_delete(s->st, NS, bad[i]), VG_ERR_INVALID);
		assert_int_equal(vg_secstore_raw(s->st, NS, bad[i], &blob, &n, &ver),
				 VG_ERR_INVALID);
	}
	assert_int_equal(vg_secstore_put(s->st, NS, NULL, (const uint8_t *)"v", 1), VG_ERR_INVALID);
	assert_int_equal(vg_secstore_get(s->st, NS, NULL, &v, &n), VG_ERR_INVALID);

	memset(long_ns, 'u', VG_MAX_NS_LEN + 1);
	long_ns[VG_MAX_NS_LEN + 1] = '\0';
	assert_int_equal(vg_secstore_put(s->st, long_ns, "a", (const uint8_t *)"v", 1),
			 VG_ERR_INVALID);
	assert_int_equal(vg_secstore_put(s->st, "", "a", (const uint8_t *)"v", 1), VG_ERR_INVALID);
	assert_int_equal(vg_secstore_put(s->st, NULL, "a", (const uint8_t *)"v", 1),
			 VG_ERR_INVALID);
	assert_int_equal(vg_secstore_get(s->st, "", "a", &v, &n), VG_ERR_INVALID);
	assert_int_equal(vg_secstore_list(s->st, "", collect, &dummy), VG_ERR_INVALID);
	assert_int_equal(vg_secstore_list(s->st, long_ns, collect, &dummy), VG_ERR_INVALID);
	long_ns[VG_MAX_NS_LEN] = '\0';
	put_str(s, long_ns, "a", "64 is fine");
	assert_int_equal(vg_secstore_count(s->st), 2);
}

/* SFR 4.2.4 / 4.2.10: namespaces are isolated: the same name in two
 * namespaces is two records, listing and deleting stay in their namespace,
 * and each namespace has its own key. */
static void test_secstore_namespaces_isolated(void **state)
{
	vgt_stack *s = *state;
	struct names l;
	uint8_t *b1, *b2, k1[VG_KEY_LEN], k2[VG_KEY_LEN], *v = NULL;
	size_t l1, l2, n;
	uint64_t v1, v2;

	put_str(s, NS, "pin", "alice's pin");
	put_str(s, NS2, "pin", "bob's pin");
	put_str(s, NS2, "only-bob", "b");
	assert_get_str(s, NS, "pin", "alice's pin");
	assert_get_str(s, NS2, "pin", "bob's pin");
	assert_get_fails(s, NS, "only-bob", VG_ERR_NOT_FOUND);
	l = list_ns(s, NS);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "pin");
	l = list_ns(s, "u/10");
	assert_int_equal(l.n, 0);
	assert_int_equal(vg_secstore_delete(s->st, NS, "only-bob"), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_secstore_delete(s->st, NS, "pin"), VG_OK);
	assert_get_str(s, NS2, "pin", "bob's pin");

	/* Per-namespace keys: bob's blob does not open under alice's key. */
	assert_int_equal(vg_secstore_raw(s->st, NS2, "pin", &b2, &l2, &v2), VG_OK);
	user_ns_key(s, NS, k1);
	user_ns_key(s, NS2, k2);
	assert_memory_not_equal(k1, k2, VG_KEY_LEN);
	assert_int_equal(vg_secstore_open_blob(k2, NS2, "pin", v2, b2, l2, &v, &n), VG_OK);
	vg_free(v, n);
	assert_int_equal(vg_secstore_open_blob(k1, NS2, "pin", v2, b2, l2, &v, &n),
			 VG_ERR_INTEGRITY);
	assert_null(v);
	assert_int_equal(vg_secstore_open_blob(k1, NS, "pin", v2, b2, l2, &v, &n),
			 VG_ERR_INTEGRITY);
	assert_null(v);
	put_str(s, NS, "pin", "alice again");
	assert_int_equal(vg_secstore_raw(s->st, NS, "pin", &b1, &l1, &v1), VG_OK);
	assert_memory_not_equal(b1 + VG_SEAL_HDR_LEN, b2 + VG_SEAL_HDR_LEN, VG_SEAL_NONCE_LEN);
	free(b1);
	free(b2);
}

/* SFR 4.2.4: the stored blob is sealed at the record's version and bound to
 * its identity: open_blob refuses another name, namespace or version. */
static void test_secstore_open_blob_binds_identity(void **state)
{
	vgt_stack *s = *state;
	uint8_t *b, k[VG_KEY_LEN], *v = NULL;
	size_t len, n = 0;
	uint64_t ver;
	vg_seal_kind kind;
	uint64_t gen;

	put_str(s, NS, "a", "first");
	put_str(s, NS, "a", "second");
	assert_int_equal(vg_secstore_raw(s->st, NS, "a", &b, &len, &ver), VG_OK);
	assert_int_equal(ver, 2);
	assert_int_equal(vg_seal_parse_header(b, len, &kind, &gen), VG_OK);
	assert_int_equal(kind, VG_SEAL_RECORD);
	assert_int_equal(gen, ver);
	user_ns_key(s, NS, k);
	assert_int_equal(vg_secstore_open_blob(k, NS, "a", ver, b, len, &v, &n), VG_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(v, "second", 6);
	vg_free(v, n);
	assert_int_equal(vg_secstore_open_blob(k, NS, "a", ver - 1, b, len, &v, &n),
			 VG_ERR_INTEGRITY);
	assert_null(v);
	assert_int_equal(vg_secstore_open_blob(k, NS, "a", ver + 1, b, len, &v, &n),
			 VG_ERR_INTEGRITY);
	assert_int_equal(vg_secstore_open_blob(k, NS, "b", ver, b, len, &v, &n), VG_ERR_INTEGRITY);
	assert_int_equal(vg_secstore_open_blob(k, "u/100", "0a", ver, b, len, &v, &n),
			 VG_ERR_INTEGRITY);
	assert_int_equal(vg_secstore_open_blob(k, NS, "../a", ver, b, len, &v, &n), VG_ERR_INVALID);
	assert_null(v);
	assert_int_equal(n, 0);
	free(b);
}

/* ---- attacks on the stopped service's files ---- */

/* SFR 4.2.4 (a): a byte flipped in one record's blob (header, nonce,
 * ciphertext or tag) fails that record with VG_ERR_INTEGRITY; the other
 * records stay readable and the store stays in service. */
static void test_secstore_flipped_blob_byte_fails_only_that_record(void **state)
{
	vgt_stack *s = *state;
	size_t len;
	uint8_t *orig;

	populate_and_close(s);
	orig = row_blob(s, NS, "b", &len);
	const size_t at[] = {0,
			     5,
			     9,
			     15,
			     VG_SEAL_HDR_LEN + 3,
			     VG_SEAL_HDR_LEN + VG_SEAL_NONCE_LEN,
			     len - VG_SEAL_TAG_LEN - 1,
			     len - 1};
	for (size_t i = 0; i < VG_ARRAY_LEN(at); i++) {
		uint8_t *b = malloc(len);
		assert_non_null(b);
		memcpy(b, orig, len);
		b[at[i]] ^= 0x01;
		set_row_blob(s, NS, "b", b, len);
		free(b);
		reopen_ok(s);
		assert_int_equal(vg_db_state(s->db), VG_OK);
		assert_get_fails(s, NS, "b", VG_ERR_INTEGRITY);
		assert_get_str(s, NS, "a", "value of a");
		assert_get_str(s, NS, "c", "value of c");
		assert_get_str(s, NS2, "x", "value of x");
		vgt_stack_close(s);
	}
	/* Truncated and empty-ish blobs too. */
	set_row_blob(s, NS, "b", orig, len - 1);
	reopen_ok(s);
	assert_get_fails(s, NS, "b", VG_ERR_INTEGRITY);
	assert_get_str(s, NS, "a", "value of a");
	vgt_stack_close(s);
	set_row_blob(s, NS, "b", orig, 1);
	reopen_ok(s);
	assert_get_fails(s, NS, "b", VG_ERR_INTEGRITY);
	assert_get_str(s, NS, "c", "value of c");
	free(orig);
}

/* SFR 4.2.4 (b): swapping the blobs of two records (same namespace, or the
 * same name in two namespaces) never returns the other record's value:
 * both fail with VG_ERR_INTEGRITY. (The record set is unchanged, so the
 * store stays in service: only the AEAD binding catches it.) */
static void test_secstore_swapped_blobs_fail(void **state)
{
	vgt_stack *s = *state;
	uint8_t *ba, *bc, *bx, *bp;
	size_t la, lc, lx, lp;

	put_str(s, NS, "x", "alice's x");
	populate_and_close(s);
	ba = row_blob(s, NS, "a", &la);
	bc = row_blob(s, NS, "c", &lc);
	assert_int_equal(la, lc);
	set_row_blob(s, NS, "a", bc, lc);
	set_row_blob(s, NS, "c", ba, la);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_get_fails(s, NS, "a", VG_ERR_INTEGRITY);
	assert_get_fails(s, NS, "c", VG_ERR_INTEGRITY);
	assert_get_str(s, NS, "b", "value of b");
	vgt_stack_close(s);

	/* Across namespaces: alice's x <-> bob's x. */
	bx = row_blob(s, NS2, "x", &lx);
	bp = row_blob(s, NS, "x", &lp);
	set_row_blob(s, NS, "x", bx, lx);
	set_row_blob(s, NS2, "x", bp, lp);
	reopen_ok(s);
	assert_get_fails(s, NS, "x", VG_ERR_INTEGRITY);
	assert_get_fails(s, NS2, "x", VG_ERR_INTEGRITY);
	assert_get_str(s, NS, "b", "value of b");
	free(ba);
	free(bc);
	free(bx);
	free(bp);
}

/* SFR 4.2.4 (c): replaying an old version of a record (old row saved,
 * new value put, old row restored while stopped) makes the store refuse
 * service with VG_ERR_INTEGRITY at restart; no record is served. */
static void test_secstore_replayed_old_version_refused(void **state)
{
	vgt_stack *s = *state;
	uint8_t *old;
	size_t len;
	long long old_v;
	char sql[128];

	put_str(s, NS, "a", "old secret");
	put_str(s, NS, "b", "value of b");
	vgt_stack_close(s);
	old = row_blob(s, NS, "a", &len);
	old_v = row_version(s, NS, "a");
	assert_true(old_v > 0);
	reopen_ok(s);
	put_str(s, NS, "a", "new secret");
	vgt_stack_close(s);
	assert_true(row_version(s, NS, "a") > old_v);

	set_row_blob(s, NS, "a", old, len);
	(void)snprintf(sql, sizeof sql,
		       "UPDATE store_records SET version = %lld WHERE ns = '" NS "' AND name = 'a'",
		       old_v);
	sql_ok(s, sql);
	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_INTEGRITY);
	/* The refusal survives another restart. */
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_ERR_INTEGRITY);
	free(old);
}

/* SFR 4.2.4 (c): the old blob under the new row version (the version left
 * alone so the record set still matches) fails that record. */
static void test_secstore_replayed_old_blob_under_new_version_fails(void **state)
{
	vgt_stack *s = *state;
	uint8_t *old;
	size_t len;

	put_str(s, NS, "a", "old secret");
	put_str(s, NS, "b", "value of b");
	vgt_stack_close(s);
	old = row_blob(s, NS, "a", &len);
	reopen_ok(s);
	put_str(s, NS, "a", "new secret");
	vgt_stack_close(s);
	set_row_blob(s, NS, "a", old, len);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_get_fails(s, NS, "a", VG_ERR_INTEGRITY);
	assert_get_str(s, NS, "b", "value of b");
	free(old);
}

/* SFR 4.2.4: deleting, adding, renaming, moving or re-versioning a row
 * changes the record set: VG_ERR_INTEGRITY at restart, service refused. */
static void test_secstore_row_set_edits_refused(void **state)
{
	vgt_stack *s = *state;
	static const char *const edits[] = {
	    "DELETE FROM store_records WHERE name = 'b'",
	    ("INSERT INTO store_records SELECT ns, 'b2', version, blob FROM store_records"
	     " WHERE name = 'b'"),
	    "UPDATE store_records SET name = 'b2' WHERE name = 'b'",
	    "UPDATE store_records SET ns = 'u/1001' WHERE name = 'b'",
	    "UPDATE store_records SET ns = 'u/1002' WHERE ns = 'u/1001'",
	    "UPDATE store_records SET version = version + 1 WHERE name = 'a'",
	    "UPDATE store_records SET version = version - 1 WHERE name = 'c'",
	    "UPDATE store_records SET version = 0 WHERE name = 'c'",
	    "UPDATE store_records SET version = -3 WHERE name = 'c'",
	    "UPDATE store_records SET version = 999999 WHERE name = 'c'",
	    "UPDATE store_records SET name = '.hidden' WHERE name = 'c'",
	    "UPDATE store_records SET version = 'x' WHERE name = 'c'",
	    "DELETE FROM store_records",
	};

	populate_and_close(s);
	assert_int_equal(vgt_db_save(s->dir, "clean"), 0);
	for (size_t i = 0; i < VG_ARRAY_LEN(edits); i++) {
		assert_int_equal(vgt_db_restore(s->dir, "clean", true), 0);
		sql_ok(s, edits[i]);
		reopen_ok(s);
		if (vg_db_state(s->db) != VG_ERR_INTEGRITY)
			fail_msg("edit '%s' was not detected (state %d)", edits[i],
				 vg_db_state(s->db));
		assert_store_refuses(s, VG_ERR_INTEGRITY);
		vgt_stack_close(s);
	}
	/* The clean copy itself is fine: the failures were the edits. */
	assert_int_equal(vgt_db_restore(s->dir, "clean", false), 0);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_get_str(s, NS, "b", "value of b");
}

/* SFR 4.2.4 (d): restoring a copy of the whole database (db, -wal, -shm,
 * copied while stopped) taken before further puts is a rollback:
 * VG_ERR_ROLLBACK at restart, and every record operation refused with it. */
static void test_secstore_restored_db_copy_rollback(void **state)
{
	vgt_stack *s = *state;
	uint64_t rot_before, rot_after;

	put_str(s, NS, "a", "value of a");
	put_str(s, NS, "pin", "1234");
	vgt_stack_close(s);
	assert_int_equal(vgt_db_save(s->dir, "old"), 0);
	reopen_ok(s);
	put_str(s, NS, "pin", "9876"); /* the user changed the PIN */
	put_str(s, NS, "b", "value of b");
	assert_int_equal(vg_rot_counter_read(s->rot, &rot_before), VG_OK);
	vgt_stack_close(s);

	assert_int_equal(vgt_db_restore(s->dir, "old", false), 0);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_ERR_ROLLBACK);
	assert_store_refuses(s, VG_ERR_ROLLBACK);
	assert_get_fails(s, NS, "pin", VG_ERR_ROLLBACK);
	assert_int_equal(vg_rot_counter_read(s->rot, &rot_after), VG_OK);
	assert_int_equal(rot_after, rot_before);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_ERR_ROLLBACK);
}

/* SFR 4.2.4 (d): the same with a hot copy, taken while the service runs
 * (WAL and shared memory still there). */
static void test_secstore_restored_hot_copy_rollback(void **state)
{
	vgt_stack *s = *state;
	char wal[VGT_PATH];

	put_str(s, NS, "a", "value of a");
	vgt_path(wal, s->dir, VG_DB_FILE "-wal");
	assert_true(vgt_exists(wal));
	assert_int_equal(vgt_db_save(s->dir, "hot"), 0);
	put_str(s, NS, "a", "newer a");
	vgt_stack_close(s);
	assert_int_equal(vgt_db_restore(s->dir, "hot", false), 0);
	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_ROLLBACK);
}

/* SFR 4.2.4 (e): deleting the database on a used device is a rollback;
 * on a device that never stored anything, a missing database is fine. */
static void test_secstore_deleted_db_rollback(void **state)
{
	vgt_stack *s = *state;

	vgt_stack_close(s);
	vgt_db_remove(s->dir);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);

	put_str(s, NS, "a", "value of a");
	vgt_stack_close(s);
	vgt_db_remove(s->dir);
	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_ROLLBACK);
}

/* SFR 4.2.4 (f): any edit of the meta row or the anchors table (the MAC'd
 * commit counter and record-set digest) is VG_ERR_INTEGRITY at restart;
 * emptying both is a database with no history: a rollback. */
static void test_secstore_meta_and_anchor_edits_refused(void **state)
{
	vgt_stack *s = *state;
	static const struct {
		const char *sql;
		vg_rc want;
	} edits[] = {
	    /* the commit counter */
	    {"UPDATE meta SET val = x'00000000000f4240' WHERE name = '#counter'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = x'0000000000000001' WHERE name = '#counter'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = x'ffffffffffffffff' WHERE name = '#counter'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = substr(val, 2) WHERE name = '#counter'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = CAST(val AS TEXT) WHERE name = '#counter'", VG_ERR_INTEGRITY},
	    {"DELETE FROM meta WHERE name = '#counter'", VG_ERR_INTEGRITY},
	    /* the MAC */
	    {"UPDATE meta SET val = zeroblob(32) WHERE name = '#mac'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = substr(val, 1, 31) WHERE name = '#mac'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = val || x'00' WHERE name = '#mac'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = hex(val) WHERE name = '#mac'", VG_ERR_INTEGRITY},
	    {"DELETE FROM meta WHERE name = '#mac'", VG_ERR_INTEGRITY},
	    /* the anchors */
	    {"UPDATE meta SET val = zeroblob(32) WHERE name = 'store.set'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = substr(val, 2) WHERE name = 'store.set'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = zeroblob(65) WHERE name = 'store.set'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET val = CAST(val AS TEXT) WHERE name = 'store.set'", VG_ERR_INTEGRITY},
	    {"UPDATE meta SET name = 'store.sex' WHERE name = 'store.set'", VG_ERR_INTEGRITY},
	    {"INSERT INTO meta VALUES ('evil', x'01')", VG_ERR_INTEGRITY},
	    {"INSERT INTO meta VALUES ('#other', x'01')", VG_ERR_INTEGRITY},
	    {"INSERT INTO meta VALUES (CAST('#mac' AS BLOB), zeroblob(32))", VG_ERR_INTEGRITY},
	    {"INSERT INTO meta VALUES ('a-name-longer-than-thirty-one-chars', x'01')",
	     VG_ERR_INTEGRITY},
	    {"DELETE FROM meta WHERE name = 'store.set'", VG_ERR_INTEGRITY},
	    {"DELETE FROM meta", VG_ERR_ROLLBACK},
	};

	populate_and_close(s);
	assert_int_equal(vgt_db_save(s->dir, "clean"), 0);
	for (size_t i = 0; i < VG_ARRAY_LEN(edits); i++) {
		assert_int_equal(vgt_db_restore(s->dir, "clean", true), 0);
		sql_ok(s, edits[i].sql);
		reopen_ok(s);
		if (vg_db_state(s->db) != edits[i].want)
			fail_msg("edit '%s': state %d, wanted %d", edits[i].sql, vg_db_state(s->db),
				 edits[i].want);
		assert_store_refuses(s, edits[i].want);
		vgt_stack_close(s);
	}
	assert_int_equal(vgt_db_restore(s->dir, "clean", false), 0);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
}

/* SFR 4.2.4 (g): the crash window between the database commit and the RoT
 * counter write leaves a database one commit ahead of the RoT: it is
 * accepted (only the service can MAC the meta row) and the RoT catches up.
 * Simulated by putting the counter file back to its bytes from before the
 * last put (what a power cut before the RoT write leaves). */
static void test_secstore_crash_window_db_ahead_accepted(void **state)
{
	vgt_stack *s = *state;
	char ctr[VGT_PATH];
	uint8_t *saved;
	size_t saved_len;
	uint64_t rot;

	vgt_path(ctr, s->dir, "counter");
	put_str(s, NS, "a", "value of a");
	vgt_stack_close(s);
	assert_int_equal(vgt_read(ctr, &saved, &saved_len), 0);
	reopen_ok(s);
	put_str(s, NS, "b", "value of b");
	assert_int_equal(vg_db_counter(s->db), 2);
	vgt_stack_close(s);
	assert_int_equal(vgt_write(ctr, saved, saved_len, 0600), 0);
	free(saved);

	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_int_equal(vg_db_counter(s->db), 2);
	assert_int_equal(vg_rot_counter_read(s->rot, &rot), VG_OK);
	assert_int_equal(vg_db_epoch(s->db), 2);
	assert_int_equal(rot, 2); /* caught up at open */
	assert_get_str(s, NS, "a", "value of a");
	assert_get_str(s, NS, "b", "value of b");
	put_str(s, NS, "c", "value of c");
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_int_equal(vg_rot_counter_read(s->rot, &rot), VG_OK);
	assert_int_equal(rot, 3);
	assert_get_str(s, NS, "c", "value of c");
}

/*
 * Regression (was a bug in src/storage/db.c, load_meta): an anchor whose value is an empty BLOB
 * makes sqlite3_column_blob() return NULL, and load_meta then calls
 * memcpy(a->val, NULL, 0): undefined behaviour on data an attacker wrote
 * (UBSan aborts the service). Fix direction: skip the memcpy when len == 0,
 * or refuse len == 0 (no anchor is ever empty) with VG_ERR_INTEGRITY.
 */
/* SFR 4.2.4 (f): an anchor emptied to x'' is VG_ERR_INTEGRITY at restart,
 * without undefined behaviour (checked in a child: UBSan aborts it). */
static void test_secstore_empty_anchor_value_is_undefined_behaviour(void **state)
{
	vgt_stack *s = *state;
	pid_t pid;
	int status = 0;

	populate_and_close(s);
	sql_ok(s, "UPDATE meta SET val = x'' WHERE name = 'store.set'");
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vg_rc rc = vgt_stack_open(s);
		int ok = rc == VG_OK && vg_db_state(s->db) == VG_ERR_INTEGRITY;
		vgt_stack_close(s);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("opening a db with an empty anchor value killed the process "
			 "(signal %d)",
			 WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("opening a db with an empty anchor value: exit %d (UBSan: memcpy "
			 "from NULL in load_meta, or state not VG_ERR_INTEGRITY)",
			 WEXITSTATUS(status));
}

/* ---- what the files hold ---- */

/* SFR 4.2.4 / AVS SDK (protect persistent state): a stored value's
 * plaintext is in no file of the state dir (db, WAL, shm, RoT files),
 * neither while the service runs nor after it stopped, also for a value
 * large enough to span overflow pages. */
static void test_secstore_plaintext_not_in_any_file(void **state)
{
	vgt_stack *s = *state;
	uint8_t rnd[12];
	char hex[25], marker[64];
	size_t big_len = 200 * 1024;
	char *big = malloc(big_len);

	assert_non_null(big);
	assert_int_equal(RAND_bytes(rnd, sizeof rnd), 1);
	vg_hex_encode(rnd, sizeof rnd, hex);
	(void)snprintf(marker, sizeof marker, "VGMARKER-%s", hex);
	for (size_t i = 0; i < big_len; i++)
		big[i] = marker[i % strlen(marker)];

	put_str(s, NS, "small", marker);
	assert_int_equal(vg_secstore_put(s->st, NS, "big", (const uint8_t *)big, big_len), VG_OK);
	put_str(s, NS, "small", marker); /* an overwrite too */
	assert_get_str(s, NS, "small", marker);
	assert_int_equal(vgt_dir_grep(s->dir, marker, strlen(marker)), 0);
	assert_int_equal(vgt_dir_grep(s->dir, hex, strlen(hex)), 0);
	vgt_stack_close(s);
	assert_int_equal(vgt_dir_grep(s->dir, marker, strlen(marker)), 0);
	assert_int_equal(vgt_dir_grep(s->dir, hex, strlen(hex)), 0);
	/* The grep does find what is there: record names are not secret. */
	assert_true(vgt_dir_grep(s->dir, "small", 5) > 0);
	free(big);
}

static void assert_blob_gone(const char *dir, const uint8_t *blob, size_t len)
{
	/* Windows of the nonce+ciphertext and the tag: 24 bytes of random-looking
	 * data do not turn up by chance. */
	const size_t at[] = {VG_SEAL_HDR_LEN, len / 2, len - 24};

	for (size_t i = 0; i < VG_ARRAY_LEN(at); i++)
		if (vgt_dir_grep(dir, blob + at[i], 24) != 0)
			fail_msg("ciphertext bytes at offset %zu of a deleted record remain",
				 at[i]);
}

/* SFR 4.2.4: after delete, the record's ciphertext (this version and the
 * superseded one) is in no file: secure_delete zeroes the db pages and the
 * WAL is checkpointed and truncated. Checked while running and after stop. */
static void test_secstore_deleted_record_scrubbed(void **state)
{
	vgt_stack *s = *state;
	uint8_t v[3000], *b1, *b2, *bk;
	size_t l1, l2, lk;
	uint64_t ver;
	char wal[VGT_PATH];
	struct stat st;

	assert_int_equal(RAND_bytes(v, sizeof v), 1);
	assert_int_equal(vg_secstore_put(s->st, NS, "gone", v, sizeof v), VG_OK);
	assert_int_equal(vg_secstore_raw(s->st, NS, "gone", &b1, &l1, &ver), VG_OK);
	put_str(s, NS, "keep", "kept value");
	assert_int_equal(vg_secstore_put(s->st, NS, "gone", v, sizeof v - 1), VG_OK);
	assert_int_equal(vg_secstore_raw(s->st, NS, "gone", &b2, &l2, &ver), VG_OK);
	assert_int_equal(vg_secstore_raw(s->st, NS, "keep", &bk, &lk, &ver), VG_OK);
	/* Before the delete the ciphertext is there: the grep can see it. */
	assert_true(vgt_dir_grep(s->dir, b2 + l2 / 2, 24) > 0);

	assert_int_equal(vg_secstore_delete(s->st, NS, "gone"), VG_OK);
	vgt_path(wal, s->dir, VG_DB_FILE "-wal");
	if (stat(wal, &st) == 0)
		assert_int_equal(st.st_size, 0);
	assert_blob_gone(s->dir, b1, l1);
	assert_blob_gone(s->dir, b2, l2);
	assert_true(vgt_dir_grep(s->dir, bk + lk - 24, 24) > 0); /* the live one stays */
	assert_get_str(s, NS, "keep", "kept value");
	vgt_stack_close(s);
	assert_blob_gone(s->dir, b1, l1);
	assert_blob_gone(s->dir, b2, l2);
	free(b1);
	free(b2);
	free(bk);
}

/* SFR 4.2.4: with a RoT sync window the root of trust's counter follows the
 * commits within the window (not in each commit), a forced sync or a close
 * catches it up, and a database ahead of the RoT (a crash inside the
 * window) is accepted and catches the RoT up at open. */
static void test_secstore_rot_sync_window(void **state)
{
	vgt_stack *s = *state;
	uint64_t rot0 = 0, rot = 0, db_ctr;

	assert_int_equal(vg_rot_counter_read(s->rot, &rot0), VG_OK);
	vg_db_set_rot_sync_ms(s->db, 1000);
	put_str(s, NS, "a", "1");
	/* The window counts from the last sync: after an idle spell the first
	 * commit is due at once. */
	assert_int_equal(vg_db_rot_sync_due_ms(s->db), 0);
	assert_int_equal(vg_db_rot_sync(s->db, false), VG_OK);
	put_str(s, NS, "b", "2");
	put_str(s, NS, "b2", "2");
	db_ctr = vg_db_counter(s->db);
	assert_int_equal(vg_rot_counter_read(s->rot, &rot), VG_OK);
	assert_true(rot < db_ctr); /* batched: not yet */
	/* Both commits of the window share one epoch: the RoT steps by one. */
	assert_true(vg_db_epoch(s->db) == rot + 1);
	assert_true(vg_db_rot_sync_due_ms(s->db) > 0);
	assert_int_equal(vg_db_rot_sync(s->db, false), VG_OK); /* window not over */
	assert_int_equal(vg_rot_counter_read(s->rot, &rot), VG_OK);
	assert_true(rot + 1 == vg_db_epoch(s->db));
	assert_int_equal(vg_db_rot_sync(s->db, true), VG_OK);
	assert_int_equal(vg_rot_counter_read(s->rot, &rot), VG_OK);
	assert_true(rot == vg_db_epoch(s->db));
	assert_int_equal(vg_db_rot_sync_due_ms(s->db), -1);

	/* A "crash" inside the window: the database is ahead of the RoT. Close
	 * syncs, so reopen the RoT file alone to put it back first. */
	put_str(s, NS, "c", "3");
	db_ctr = vg_db_epoch(s->db);
	vgt_stack_close(s);
	{
		vg_rot *r = NULL;
		assert_int_equal(vg_rot_file_open(&r, s->dir), VG_OK);
		assert_int_equal(vg_rot_counter_read(r, &rot), VG_OK);
		assert_true(rot == db_ctr); /* close synced it */
		vg_rot_close(&r);
	}
	(void)rot0;
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_int_equal(vg_rot_counter_read(s->rot, &rot), VG_OK);
	assert_true(rot == vg_db_epoch(s->db));
}

/* ---- regression: twin rows defeat the XOR record-set digest ---- */

/*
 * Regression (was a bug in src/storage/secstore.c, check_set): the record-set digest is the XOR
 * of HMAC(ns, name, version) over the rows, and check_set reads ns and name
 * with sqlite3_column_text() without checking their storage class or for an
 * embedded NUL. The (ns, name) primary key compares SQLite values, so a row
 * whose ns is the BLOB 'u/1000' (or whose name is 'pin' || char(0)) is a
 * distinct row that check_set hashes exactly like the TEXT row. Two such
 * twins of (ns, name, version) cancel out in the XOR, so an attacker can add
 * an old row plus its twin without changing the digest: a deleted record is
 * resurrected and an old version replayed, with the store reporting VG_OK.
 * Fix direction: in check_set require SQLITE_TEXT/SQLITE_INTEGER types and
 * sqlite3_column_bytes() == strlen() (then the primary key makes every
 * (ns, name) unique, so no element can appear twice).
 */

/* SFR 4.2.4: a deleted record cannot be brought back (here: its old row
 * re-inserted with a BLOB-typed twin that cancels it in the digest). */
static void test_secstore_deleted_record_resurrected_by_twin_rows(void **state)
{
	vgt_stack *s = *state;
	uint8_t *blob, *v = NULL;
	size_t len, n = 0;
	long long ver;
	char sql[256];
	vg_rc rc, st;

	put_str(s, NS, "pin", "old pin 1234");
	put_str(s, NS, "other", "value");
	vgt_stack_close(s);
	blob = row_blob(s, NS, "pin", &len);
	ver = row_version(s, NS, "pin");
	reopen_ok(s);
	assert_int_equal(vg_secstore_delete(s->st, NS, "pin"), VG_OK);
	vgt_stack_close(s);

	(void)snprintf(sql, sizeof sql,
		       "INSERT INTO store_records VALUES ('" NS "', 'pin', %lld, ?1)", ver);
	assert_int_equal(vgt_sql(s->db_path, sql, blob, len), SQLITE_DONE);
	(void)snprintf(
	    sql, sizeof sql,
	    "INSERT INTO store_records VALUES (CAST('" NS "' AS BLOB), 'pin', %lld, x'00')", ver);
	sql_ok(s, sql);
	free(blob);

	reopen_ok(s);
	st = vg_db_state(s->db);
	rc = vg_secstore_get(s->st, NS, "pin", &v, &n);
	if (rc == VG_OK) {
		int same = n == 12 && memcmp(v, "old pin 1234", 12) == 0;
		vg_free(v, n);
		fail_msg("deleted record resurrected (store state %d, value %s)", st,
			 same ? "'old pin 1234'" : "other");
	}
	assert_int_equal(st, VG_ERR_INTEGRITY);
	assert_int_equal(rc, VG_ERR_INTEGRITY);
}

/* SFR 4.2.4: an old version cannot be replayed (here: the old row restored,
 * with a twin that cancels it and a twin that stands in for the new one,
 * using an embedded NUL and a BLOB name). */
static void test_secstore_old_version_replayed_by_twin_rows(void **state)
{
	vgt_stack *s = *state;
	uint8_t *old, *v = NULL;
	size_t len, n = 0;
	long long old_v, new_v;
	char sql[512];
	vg_rc rc, st;

	put_str(s, NS, "a", "old secret");
	put_str(s, NS, "b", "value of b");
	vgt_stack_close(s);
	old = row_blob(s, NS, "a", &len);
	old_v = row_version(s, NS, "a");
	reopen_ok(s);
	put_str(s, NS, "a", "new secret");
	vgt_stack_close(s);
	new_v = row_version(s, NS, "a");

	set_row_blob(s, NS, "a", old, len);
	(void)snprintf(sql, sizeof sql,
		       "UPDATE store_records SET version = %lld WHERE ns = '" NS "' AND name = 'a';"
		       "INSERT INTO store_records VALUES ('" NS "', 'a' || char(0), %lld, x'00');"
		       "INSERT INTO store_records VALUES ('" NS
		       "', CAST('a' AS BLOB), %lld, x'00');",
		       old_v, old_v, new_v);
	sql_ok(s, sql);
	free(old);

	reopen_ok(s);
	st = vg_db_state(s->db);
	rc = vg_secstore_get(s->st, NS, "a", &v, &n);
	if (rc == VG_OK) {
		int same = n == 10 && memcmp(v, "old secret", 10) == 0;
		vg_free(v, n);
		fail_msg("old version replayed (store state %d, value %s)", st,
			 same ? "'old secret'" : "other");
	}
	assert_int_equal(st, VG_ERR_INTEGRITY);
	assert_int_equal(rc, VG_ERR_INTEGRITY);
}

/* SFR 4.2.12: crypto-erase deletes every user record (any namespace but
 * "sys" and "k/service"), keeps the persistent ones, leaves a store that
 * verifies at the next open, and a copy of the old database is useless:
 * its user blobs do not open under the new keys, and restoring it is a
 * rollback. Repeating the erase (a reset resumed after a power cut) is
 * harmless. */
static void test_sfr4212_crypto_erase_user_data(void **state)
{
	vgt_stack *s = *state;
	uint8_t *old_blob = NULL, k[VG_KEY_LEN], *v = NULL;
	size_t old_len = 0, n = 0;
	uint64_t old_v = 0;

	put_str(s, NS, "pin", "1234");
	put_str(s, "k/1000", "voice-key", "key blob");
	put_str(s, "adm", "password", "hash");
	put_str(s, "sys", "identity", "acme");
	put_str(s, "k/service", "attestation", "service key");
	assert_int_equal(vg_secstore_raw(s->st, NS, "pin", &old_blob, &old_len, &old_v), VG_OK);
	vgt_stack_close(s);
	assert_int_equal(vgt_db_save(s->dir, "before"), 0);
	reopen_ok(s);

	assert_int_equal(vg_secstore_crypto_erase(s->st, true), VG_OK);
	assert_get_fails(s, NS, "pin", VG_ERR_NOT_FOUND);
	assert_get_fails(s, "k/1000", "voice-key", VG_ERR_NOT_FOUND);
	assert_get_fails(s, "adm", "password", VG_ERR_NOT_FOUND);
	assert_get_str(s, "sys", "identity", "acme");
	assert_get_str(s, "k/service", "attestation", "service key");
	assert_int_equal(vg_secstore_count(s->st), 2);
	/* Resumed after a power cut: again, with or without rotation. */
	assert_int_equal(vg_secstore_crypto_erase(s->st, true), VG_OK);
	assert_int_equal(vg_secstore_crypto_erase(s->st, false), VG_OK);
	assert_int_equal(vg_secstore_count(s->st), 2);
	/* New user data works under the new secret. */
	put_str(s, NS, "pin", "5678");
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_get_str(s, NS, "pin", "5678");
	assert_get_str(s, "sys", "identity", "acme");

	/* The old blob does not open under the key the device has now. */
	user_ns_key(s, NS, k);
	assert_int_equal(vg_secstore_open_blob(k, NS, "pin", old_v, old_blob, old_len, &v, &n),
			 VG_ERR_INTEGRITY);
	assert_null(v);
	free(old_blob);
	/* And putting the old database back is a rollback. */
	vgt_stack_close(s);
	assert_int_equal(vgt_db_restore(s->dir, "before", false), 0);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_ERR_ROLLBACK);
	assert_int_equal(vg_secstore_crypto_erase(s->st, true), VG_ERR_ROLLBACK);
}

/* ---- accepting a refused store (factory reset, SFR 4.2.12 / 4.2.4-l) ---- */

/* The RoT's erase secret now (without rotating it). */
static void erase_secret_now(vgt_stack *s, uint8_t e[VG_KEY_LEN])
{
	assert_int_equal(vg_rot_erase_secret(s->rot, false, e), VG_OK);
}

/* The store holds exactly what the accepted store should: the persistent
 * records given (ns, name, value triples, n of them) and no user data;
 * the same after a restart (the acceptance is durable: the store is not
 * refused again); and it is in use again: records are stored and deleted. */
static void assert_accepted(vgt_stack *s, const char *const (*keep)[3], size_t n)
{
	for (int round = 0; round < 2; round++) {
		assert_int_equal(vg_db_state(s->db), VG_OK);
		assert_int_equal(vg_secstore_state(s->st), VG_OK);
		assert_int_equal(vg_secstore_count(s->st), n);
		for (size_t i = 0; i < n; i++)
			assert_get_str(s, keep[i][0], keep[i][1], keep[i][2]);
		assert_int_equal(list_ns(s, NS).n, 0);
		assert_int_equal(list_ns(s, NS2).n, 0);
		if (round == 0)
			reopen_ok(s);
	}
	put_str(s, NS, "after", "stored after the reset");
	assert_get_str(s, NS, "after", "stored after the reset");
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_int_equal(vg_secstore_count(s->st), n + 1);
	assert_get_str(s, NS, "after", "stored after the reset");
	assert_int_equal(vg_secstore_delete(s->st, NS, "after"), VG_OK);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_int_equal(vg_secstore_count(s->st), n);
}

/* SFR 4.2.12: after a detected rollback (an older copy of the database
 * restored), every operation is refused, crypto-erase too; accepting the
 * store replaces the erase secret (the restored user records can never be
 * opened, from this copy or any other), deletes the user records, keeps
 * the persistent ones that authenticate, and re-anchors the store to the
 * RoT: it works again, also after a restart. The copy it was accepted
 * from stays a rollback if it is restored once more. */
static void test_sfr4212_accept_after_rollback(void **state)
{
	vgt_stack *s = *state;
	static const char *const keep[][3] = {
	    {"sys", "identity", "acme"},
	    {"k/service", "attestation", "service key"},
	};
	uint8_t e_before[VG_KEY_LEN], e_after[VG_KEY_LEN], k[VG_KEY_LEN];
	uint8_t *old_blob, *v = NULL;
	size_t old_len, n = 0;
	long long old_v;
	uint64_t dropped = 99, rot;

	put_str(s, NS, "pin", "1234");
	put_str(s, NS2, "x", "value of x");
	put_str(s, "sys", "identity", "acme");
	put_str(s, "k/service", "attestation", "service key");
	vgt_stack_close(s);
	assert_int_equal(vgt_db_save(s->dir, "old"), 0);
	reopen_ok(s);
	put_str(s, NS, "pin", "9876");
	put_str(s, "sys", "identity", "acme, re-provisioned");
	vgt_stack_close(s);
	assert_int_equal(vgt_db_restore(s->dir, "old", true), 0);
	old_blob = row_blob(s, NS, "pin", &old_len);
	old_v = row_version(s, NS, "pin");
	assert_true(old_v > 0);

	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_ROLLBACK);
	assert_get_fails(s, "sys", "identity", VG_ERR_ROLLBACK);
	/* The ordinary erase is no way out: it needs a store in service. */
	assert_int_equal(vg_secstore_crypto_erase(s->st, true), VG_ERR_ROLLBACK);
	erase_secret_now(s, e_before);

	assert_int_equal(vg_secstore_accept(s->st, &dropped), VG_OK);
	assert_int_equal(dropped, 0);
	erase_secret_now(s, e_after);
	assert_memory_not_equal(e_before, e_after, VG_KEY_LEN);
	assert_get_fails(s, NS, "pin", VG_ERR_NOT_FOUND);
	assert_get_fails(s, NS2, "x", VG_ERR_NOT_FOUND);
	/* The store that was accepted is the restored copy: its persistent
	 * records, not the newer ones the rollback took away. */
	assert_accepted(s, keep, VG_ARRAY_LEN(keep));

	/* The restored user record does not open under any key the device
	 * can derive now. */
	user_ns_key(s, NS, k);
	assert_int_equal(
	    vg_secstore_open_blob(k, NS, "pin", (uint64_t)old_v, old_blob, old_len, &v, &n),
	    VG_ERR_INTEGRITY);
	assert_null(v);
	free(old_blob);
	/* The database is bound to the RoT again: its counter moved on. */
	assert_int_equal(vg_rot_counter_read(s->rot, &rot), VG_OK);
	assert_true(vg_db_epoch(s->db) >= rot);

	/* Restoring the copy again is still a rollback (the acceptance
	 * launders nothing). */
	vgt_stack_close(s);
	assert_int_equal(vgt_db_restore(s->dir, "old", false), 0);
	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_ROLLBACK);
}

/* SFR 4.2.12: after an integrity error (a row-set edit: a user record
 * deleted offline; and a persistent record whose blob was altered) every
 * operation is refused; accepting the store deletes the user records and
 * the persistent record that does not authenticate (and counts it), keeps
 * the others, and the store works again, also after a restart. */
static void test_sfr4212_accept_after_integrity_error(void **state)
{
	vgt_stack *s = *state;
	static const char *const keep[][3] = {
	    {"sys", "identity", "acme"},
	    {"k/service", "attestation", "service key"},
	};
	uint8_t e_before[VG_KEY_LEN], e_after[VG_KEY_LEN], *b;
	size_t len;
	uint64_t dropped = 99;

	put_str(s, "sys", "identity", "acme");
	put_str(s, "sys", "serial", "SN-0001");
	put_str(s, "k/service", "attestation", "service key");
	populate_and_close(s);
	b = row_blob(s, "sys", "serial", &len);
	b[len - 1] ^= 0x01; /* the tag: the record no longer authenticates */
	set_row_blob(s, "sys", "serial", b, len);
	free(b);
	sql_ok(s, "DELETE FROM store_records WHERE ns = '" NS "' AND name = 'b'");

	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_INTEGRITY);
	assert_get_fails(s, "sys", "identity", VG_ERR_INTEGRITY);
	assert_int_equal(vg_secstore_crypto_erase(s->st, true), VG_ERR_INTEGRITY);
	erase_secret_now(s, e_before);

	assert_int_equal(vg_secstore_accept(s->st, &dropped), VG_OK);
	assert_int_equal(dropped, 1);
	erase_secret_now(s, e_after);
	assert_memory_not_equal(e_before, e_after, VG_KEY_LEN);
	assert_get_fails(s, "sys", "serial", VG_ERR_NOT_FOUND);
	assert_get_fails(s, NS, "a", VG_ERR_NOT_FOUND);
	assert_accepted(s, keep, VG_ARRAY_LEN(keep));
}

/* SFR 4.2.12: an integrity error in the database's own meta row (its MAC
 * over the commit counter and the anchors) is accepted the same way: the
 * meta row is rewritten under the RoT and the store verifies again. */
static void test_sfr4212_accept_after_meta_mac_error(void **state)
{
	vgt_stack *s = *state;
	static const char *const keep[][3] = {{"sys", "identity", "acme"}};
	uint64_t dropped = 99;

	put_str(s, "sys", "identity", "acme");
	populate_and_close(s);
	sql_ok(s, "UPDATE meta SET val = zeroblob(32) WHERE name = '#mac'");
	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_INTEGRITY);
	assert_int_equal(vg_secstore_accept(s->st, &dropped), VG_OK);
	assert_int_equal(dropped, 0);
	assert_accepted(s, keep, VG_ARRAY_LEN(keep));
}

/* SFR 4.2.12: a persistent row that is malformed (a name no record can
 * have, an embedded NUL, a version that is not a positive integer or
 * lies beyond the commit counter, a namespace stored as a BLOB) makes
 * the store refuse service; accepting it deletes that row and counts it,
 * so that the store opens cleanly at the next start. */
static void test_sfr4212_accept_drops_malformed_persistent_rows(void **state)
{
	static const char *const keep[][3] = {{"sys", "identity", "acme"}};
	static const char *const edits[] = {
	    "UPDATE store_records SET name = '.hidden' WHERE name = 'serial'",
	    "UPDATE store_records SET name = 'serial' || char(0) WHERE name = 'serial'",
	    "UPDATE store_records SET name = CAST('serial' AS BLOB) WHERE name = 'serial'",
	    "UPDATE store_records SET ns = CAST('sys' AS BLOB) WHERE name = 'serial'",
	    "UPDATE store_records SET version = 0 WHERE name = 'serial'",
	    "UPDATE store_records SET version = -3 WHERE name = 'serial'",
	    "UPDATE store_records SET version = 'x' WHERE name = 'serial'",
	    "UPDATE store_records SET version = 999999 WHERE name = 'serial'",
	};

	(void)state;
	/* A device of its own per edit: an acceptance moves the RoT on. */
	for (size_t i = 0; i < VG_ARRAY_LEN(edits); i++) {
		vgt_stack *s = vgt_stack_new();
		uint64_t dropped = 99;
		assert_non_null(s);
		put_str(s, "sys", "identity", "acme");
		put_str(s, "sys", "serial", "SN-0001");
		vgt_stack_close(s);
		sql_ok(s, edits[i]);
		reopen_ok(s);
		if (vg_db_state(s->db) != VG_ERR_INTEGRITY)
			fail_msg("edit '%s' was not detected (state %d)", edits[i],
				 vg_db_state(s->db));
		assert_int_equal(vg_secstore_accept(s->st, &dropped), VG_OK);
		if (dropped != 1)
			fail_msg("edit '%s': %llu rows dropped, wanted 1", edits[i],
				 (unsigned long long)dropped);
		vgt_stack_close(s);
		if (vgt_sql_int(s->db_path, "SELECT count(*) FROM store_records") != 1)
			fail_msg("edit '%s': the malformed row is still in the table", edits[i]);
		reopen_ok(s);
		if (vg_db_state(s->db) != VG_OK)
			fail_msg("edit '%s': the accepted store is refused again at the next "
				 "start (state %d)",
				 edits[i], vg_db_state(s->db));
		assert_accepted(s, keep, VG_ARRAY_LEN(keep));
		vgt_stack_free(s);
	}
}

/* SFR 4.2.12: on a store in service, accept does nothing (secstore.h:
 * "VG_OK with nothing done when the store is not refused"): the erase
 * secret is kept, no record is deleted, the files are not written. A
 * factory reset resumed after the acceptance committed relies on this. */
static void test_sfr4212_accept_healthy_store_does_nothing(void **state)
{
	vgt_stack *s = *state;
	uint8_t e_before[VG_KEY_LEN], e_after[VG_KEY_LEN], *before, *after;
	size_t bl, al;
	uint64_t dropped = 99, c_before, c_after;

	put_str(s, "sys", "identity", "acme");
	populate_and_close(s);
	reopen_ok(s);
	erase_secret_now(s, e_before);
	c_before = vg_db_counter(s->db);
	before = db_files(s, &bl);

	assert_int_equal(vg_secstore_accept(s->st, &dropped), VG_OK);
	assert_int_equal(dropped, 0);

	after = db_files(s, &al);
	assert_int_equal(bl, al);
	assert_memory_equal(before, after, bl);
	free(before);
	free(after);
	erase_secret_now(s, e_after);
	assert_memory_equal(e_before, e_after, VG_KEY_LEN);
	c_after = vg_db_counter(s->db);
	assert_int_equal(c_before, c_after);
	assert_int_equal(vg_secstore_count(s->st), 5);
	assert_get_str(s, NS, "a", "value of a");
	assert_get_str(s, NS2, "x", "value of x");
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_get_str(s, NS, "b", "value of b");
}

/* SFR 4.2.12: a reset cut short inside the acceptance, after the erase
 * secret was replaced but before the store was re-anchored, leaves the
 * store refused; accepting it again at the next start completes it (the
 * service does so from the reset marker). */
static void test_sfr4212_accept_resumes_after_interruption(void **state)
{
	vgt_stack *s = *state;
	static const char *const keep[][3] = {{"sys", "identity", "acme"}};
	uint8_t e[VG_KEY_LEN];
	uint64_t dropped = 99;

	put_str(s, "sys", "identity", "acme");
	put_str(s, NS, "pin", "1234");
	vgt_stack_close(s);
	assert_int_equal(vgt_db_save(s->dir, "old"), 0);
	reopen_ok(s);
	put_str(s, NS, "pin", "9876");
	vgt_stack_close(s);
	assert_int_equal(vgt_db_restore(s->dir, "old", false), 0);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_ERR_ROLLBACK);
	/* The first step of the acceptance, then a power cut. */
	assert_int_equal(vg_rot_erase_secret(s->rot, true, e), VG_OK);
	reopen_ok(s);
	assert_store_refuses(s, VG_ERR_ROLLBACK);
	assert_int_equal(vg_secstore_accept(s->st, &dropped), VG_OK);
	assert_int_equal(dropped, 0);
	assert_get_fails(s, NS, "pin", VG_ERR_NOT_FOUND);
	assert_accepted(s, keep, VG_ARRAY_LEN(keep));
}

/* ---- quotas and the storage reserve (SFR 4.2.4, 4.2.10, 4.2.12) ---- */

#define BLOB_OVERHEAD VG_SEAL_OVERHEAD /* header, nonce and tag (secstore.h) */

static void assert_usage(vgt_stack *s, const char *ns, uint64_t records, uint64_t bytes)
{
	uint64_t r = 99, b = 99;

	assert_int_equal(vg_secstore_usage(s->st, ns, &r, &b), VG_OK);
	assert_int_equal(r, records);
	assert_int_equal(b, bytes);
}

/* The usage the cache reports equals a fresh count from the rows. */
static void assert_usage_recounted(vgt_stack *s, const char *ns)
{
	uint64_t r1, b1;

	assert_int_equal(vg_secstore_usage(s->st, ns, &r1, &b1), VG_OK);
	reopen_ok(s);
	assert_usage(s, ns, r1, b1);
}

static vg_rc qput(vgt_stack *s, const char *ns, const char *name, size_t len,
		  const vg_store_quota *q)
{
	uint8_t *v = calloc(1, len ? len : 1);
	vg_rc rc;

	assert_non_null(v);
	memset(v, 'q', len);
	rc = vg_secstore_put_quota(s->st, ns, name, v, len, q);
	free(v);
	return rc;
}

static vg_rc qput_batched(vgt_stack *s, const char *ns, const char *name, size_t len,
			  const vg_store_quota *q)
{
	uint8_t v[256];

	assert_true(len <= sizeof v);
	memset(v, 'b', len);
	return vg_secstore_put_batched_quota(s->st, ns, name, v, len, q);
}

static void test_secstore_quota_usage_exact(void **state)
{
	vgt_stack *s = *state;

	/* SFR 4.2.4: usage counts records and sealed bytes, exactly */
	assert_usage(s, NS, 0, 0);
	assert_int_equal(qput(s, NS, "a", 100, NULL), VG_OK);
	assert_usage(s, NS, 1, 100 + BLOB_OVERHEAD);
	assert_int_equal(qput(s, NS, "b", 10, NULL), VG_OK);
	assert_usage(s, NS, 2, 110 + 2 * BLOB_OVERHEAD);
	/* a replacement counts the difference, up and down */
	assert_int_equal(qput(s, NS, "a", 300, NULL), VG_OK);
	assert_usage(s, NS, 2, 310 + 2 * BLOB_OVERHEAD);
	assert_int_equal(qput(s, NS, "a", 1, NULL), VG_OK);
	assert_usage(s, NS, 2, 11 + 2 * BLOB_OVERHEAD);
	assert_usage_recounted(s, NS);
	assert_int_equal(vg_secstore_delete(s->st, NS, "b"), VG_OK);
	assert_usage(s, NS, 1, 1 + BLOB_OVERHEAD);
	assert_int_equal(vg_secstore_delete(s->st, NS, "b"), VG_ERR_NOT_FOUND);
	assert_usage(s, NS, 1, 1 + BLOB_OVERHEAD);
	assert_usage_recounted(s, NS);
	assert_usage(s, NS2, 0, 0);
}

static void test_secstore_quota_bounds(void **state)
{
	vgt_stack *s = *state;
	vg_store_quota q = {.max_records = 3, .max_bytes = VG_QUOTA_UNLIMITED};

	/* SFR 4.2.10: a namespace cannot hold more records than its quota */
	assert_int_equal(qput(s, NS, "r1", 8, &q), VG_OK);
	assert_int_equal(qput(s, NS, "r2", 8, &q), VG_OK);
	assert_int_equal(qput(s, NS, "r3", 8, &q), VG_OK);
	assert_int_equal(qput(s, NS, "r4", 8, &q), VG_ERR_QUOTA);
	assert_get_fails(s, NS, "r4", VG_ERR_NOT_FOUND);
	/* replacing an existing record adds no record */
	assert_int_equal(qput(s, NS, "r3", 16, &q), VG_OK);
	assert_int_equal(vg_secstore_delete(s->st, NS, "r1"), VG_OK);
	assert_int_equal(qput(s, NS, "r4", 8, &q), VG_OK);
	assert_usage(s, NS, 3, 8 + 16 + 8 + 3 * BLOB_OVERHEAD);

	/* SFR 4.2.10: nor more bytes; growth past the bound is refused,
	 * shrinking a record of a namespace over its quota is not */
	q.max_records = VG_QUOTA_UNLIMITED;
	q.max_bytes = 1000;
	assert_int_equal(qput(s, NS2, "big", 900, &q), VG_OK);
	assert_int_equal(qput(s, NS2, "more", 100, &q), VG_ERR_QUOTA);
	assert_get_fails(s, NS2, "more", VG_ERR_NOT_FOUND);
	assert_int_equal(qput(s, NS2, "big", 1000, &q), VG_ERR_QUOTA);
	assert_int_equal(qput(s, NS2, "big", 1000 - BLOB_OVERHEAD, &q), VG_OK); /* exactly */
	assert_usage(s, NS2, 1, 1000);
	q.max_bytes = 500; /* the budget was lowered */
	assert_int_equal(qput(s, NS2, "big", 1001 - BLOB_OVERHEAD, &q), VG_ERR_QUOTA);
	assert_int_equal(qput(s, NS2, "big", 990 - BLOB_OVERHEAD, &q), VG_OK); /* shrinking */
	assert_int_equal(qput(s, NS2, "big", 100, &q), VG_OK);
	assert_usage(s, NS2, 1, 100 + BLOB_OVERHEAD);
	q.max_records = 0; /* no records at all */
	assert_int_equal(qput(s, "u/1002", "x", 1, &q), VG_ERR_QUOTA);
}

static void test_secstore_quota_namespaces_independent(void **state)
{
	vgt_stack *s = *state;
	vg_store_quota q = {.max_records = 1, .max_bytes = 200};

	/* SFR 4.2.10: one namespace at its quota blocks no other, and the
	 * service's own namespace is not limited by applications' quotas */
	assert_int_equal(qput(s, NS, "only", 100, &q), VG_OK);
	assert_int_equal(qput(s, NS, "second", 1, &q), VG_ERR_QUOTA);
	assert_int_equal(qput(s, NS2, "mine", 100, &q), VG_OK);
	assert_int_equal(qput(s, "k/1000", "key", 100, &q), VG_OK);
	put_str(s, "sys", "config", "a = 1");
	put_str(s, "sys", "identity", "acme");
	put_str(s, "adm", "password", "hash");
	assert_usage(s, "sys", 2, 5 + 4 + 2 * BLOB_OVERHEAD);
	assert_usage(s, NS, 1, 100 + BLOB_OVERHEAD);
	assert_usage(s, NS2, 1, 100 + BLOB_OVERHEAD);
}

static void test_secstore_quota_batch_pending_and_failed_commit(void **state)
{
	vgt_stack *s = *state;
	vg_store_quota q = {.max_records = 2, .max_bytes = VG_QUOTA_UNLIMITED};
	sqlite3 *h;

	/* SFR 4.2.4: uncommitted puts of the open batch count */
	assert_int_equal(qput_batched(s, NS, "b1", 10, &q), VG_OK);
	assert_int_equal(qput_batched(s, NS, "b2", 10, &q), VG_OK);
	assert_int_equal(qput_batched(s, NS, "b3", 10, &q), VG_ERR_QUOTA);
	assert_int_equal(qput_batched(s, NS, "b1", 20, &q), VG_OK); /* a replacement */
	assert_int_equal(qput_batched(s, NS2, "b1", 10, &q), VG_OK);
	assert_int_equal(vg_secstore_batch_commit(s->st), VG_OK);
	assert_usage(s, NS, 2, 30 + 2 * BLOB_OVERHEAD);
	assert_usage(s, NS2, 1, 10 + BLOB_OVERHEAD);

	/* SFR 4.2.4: a batch whose commit fails counts for nothing */
	assert_int_equal(vg_secstore_delete(s->st, NS, "b2"), VG_OK);
	h = vg_db_handle(s->db);
	assert_int_equal(sqlite3_exec(h,
				      "CREATE TEMP TRIGGER vgt_fail BEFORE INSERT ON main.meta"
				      " BEGIN SELECT RAISE(ABORT, 'injected'); END;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(qput_batched(s, NS, "b2", 50, &q), VG_OK);
	assert_int_equal(qput_batched(s, NS, "b1", 60, &q), VG_OK);
	assert_int_equal(qput_batched(s, NS2, "c", 70, &q), VG_OK);
	assert_usage(s, NS, 2, 110 + 2 * BLOB_OVERHEAD); /* pending, seen */
	assert_int_not_equal(vg_secstore_batch_commit(s->st), VG_OK);
	assert_int_equal(sqlite3_exec(h, "DROP TRIGGER vgt_fail", NULL, NULL, NULL), SQLITE_OK);
	assert_usage(s, NS, 1, 20 + BLOB_OVERHEAD);
	assert_usage(s, NS2, 1, 10 + BLOB_OVERHEAD);
	assert_get_fails(s, NS, "b2", VG_ERR_NOT_FOUND);
	assert_get_fails(s, NS2, "c", VG_ERR_NOT_FOUND);
	/* the quota then still allows exactly one more record */
	assert_int_equal(qput_batched(s, NS, "b2", 10, &q), VG_OK);
	assert_int_equal(qput_batched(s, NS, "b3", 10, &q), VG_ERR_QUOTA);
	assert_int_equal(vg_secstore_batch_commit(s->st), VG_OK);
	assert_usage(s, NS, 2, 30 + 2 * BLOB_OVERHEAD);
	assert_usage_recounted(s, NS);
	assert_usage_recounted(s, NS2);
	assert_int_equal(vg_db_state(s->db), VG_OK);
}

static void test_secstore_quota_after_crypto_erase_in_chunks(void **state)
{
	vgt_stack *s = *state;
	size_t big = 600u * 1024u; /* three of them: more than one erase chunk */

	/* SFR 4.2.12: the erase frees every application's quota, in chunks
	 * that each leave a verified store, and keeps the service's records */
	for (int i = 0; i < 3; i++) {
		char name[8];
		(void)snprintf(name, sizeof name, "big%d", i);
		assert_int_equal(qput(s, NS, name, big, NULL), VG_OK);
	}
	for (int i = 0; i < 40; i++) {
		char name[8];
		(void)snprintf(name, sizeof name, "s%d", i);
		assert_int_equal(qput(s, NS2, name, 10, NULL), VG_OK);
	}
	put_str(s, "sys", "identity", "acme");
	assert_usage(s, NS, 3, 3 * (big + BLOB_OVERHEAD));
	assert_int_equal(vg_secstore_crypto_erase(s->st, true), VG_OK);
	assert_usage(s, NS, 0, 0);
	assert_usage(s, NS2, 0, 0);
	assert_usage(s, "sys", 1, 4 + BLOB_OVERHEAD);
	assert_int_equal(vg_secstore_count(s->st), 1);
	reopen_ok(s);
	assert_int_equal(vg_db_state(s->db), VG_OK);
	assert_usage(s, NS, 0, 0);
	assert_get_str(s, "sys", "identity", "acme");
}

static void test_secstore_reserve_refuses_applications_only(void **state)
{
	vgt_stack *s = *state;
	vg_reserve *r = NULL;
	uint64_t free_bytes = 0;
	uint8_t v[64] = {0};

	/* SFR 4.2.4: a reserve larger than the free space: the applications'
	 * writes are refused as "quota exceeded", the service's are not, and
	 * a delete always works */
	put_str(s, NS, "before", "v");
	assert_int_equal(vg_reserve_open(&r, s->dir, 64u * 1024u), VG_OK);
	assert_int_equal(vg_reserve_fs_free(r, &free_bytes), VG_OK);
	vg_reserve_close(&r);
	assert_int_equal(vg_reserve_open(&r, s->dir, free_bytes + (UINT64_C(1) << 30)), VG_OK);
	assert_false(vg_reserve_ballast_present(r)); /* no room for it */
	vg_db_set_reserve(s->db, r);
	assert_int_equal(vg_secstore_put(s->st, NS, "x", v, sizeof v), VG_ERR_QUOTA);
	assert_int_equal(vg_secstore_put_quota(s->st, "k/1000", "x", v, sizeof v, NULL),
			 VG_ERR_QUOTA);
	assert_int_equal(vg_secstore_put_batched(s->st, NS, "x", v, sizeof v), VG_ERR_QUOTA);
	assert_false(vg_secstore_batch_pending(s->st));
	assert_get_fails(s, NS, "x", VG_ERR_NOT_FOUND);
	put_str(s, "sys", "config", "a = 1");
	put_str(s, "k/service", "audit", "key");
	assert_int_equal(vg_secstore_delete(s->st, NS, "before"), VG_OK);
	vg_db_set_reserve(s->db, NULL);
	vg_reserve_close(&r);
	/* the reserve off: applications write again */
	assert_int_equal(vg_secstore_put(s->st, NS, "x", v, sizeof v), VG_OK);
}

static void test_secstore_reserve_ballast(void **state)
{
	vgt_stack *s = *state;
	vg_reserve *r = NULL;
	char path[VGT_PATH];
	struct stat st;

	/* SFR 4.2.12: the ballast is a private, allocated file of the
	 * reserve's size; released once, re-created when space allows */
	vgt_path(path, s->dir, VG_RESERVE_FILE);
	assert_int_equal(vg_reserve_open(&r, s->dir, 256u * 1024u), VG_OK);
	assert_true(vg_reserve_ballast_present(r));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 256 * 1024);
	assert_true((uint64_t)st.st_blocks * 512u >= 256u * 1024u); /* not sparse */
	assert_true(vg_reserve_release(r));
	assert_false(vg_reserve_release(r));
	assert_int_not_equal(lstat(path, &st), 0);
	assert_int_equal(vg_reserve_admit(r, 1024, 0), VG_OK);
	assert_true(vg_reserve_ballast_present(r));
	assert_int_equal(lstat(path, &st), 0);
	vg_reserve_close(&r);
	/* a wrong-sized file at the name is replaced at the next open */
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(vg_reserve_open(&r, s->dir, 256u * 1024u), VG_OK);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_size, 256 * 1024);
	vg_reserve_close(&r);
	/* the reserve turned off gives the space back */
	assert_int_equal(vg_reserve_open(&r, s->dir, 0), VG_OK);
	assert_int_not_equal(lstat(path, &st), 0);
	assert_int_equal(vg_reserve_admit(r, UINT64_C(1) << 40, 0), VG_OK);
	vg_reserve_close(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, vgt_stack_setup, vgt_stack_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_secstore_put_get_list_delete),
	    T(test_secstore_persists_across_reopen),
	    T(test_secstore_16mib_value_roundtrip),
	    T(test_secstore_value_too_large),
	    T(test_sfr4210_large_records_do_not_slow_lookups),
	    T(test_secstore_old_layout_migrated),
	    T(test_secstore_invalid_names),
	    T(test_secstore_namespaces_isolated),
	    T(test_secstore_open_blob_binds_identity),
	    T(test_secstore_flipped_blob_byte_fails_only_that_record),
	    T(test_secstore_swapped_blobs_fail),
	    T(test_secstore_replayed_old_version_refused),
	    T(test_secstore_replayed_old_blob_under_new_version_fails),
	    T(test_secstore_row_set_edits_refused),
	    T(test_secstore_restored_db_copy_rollback),
	    T(test_secstore_restored_hot_copy_rollback),
	    T(test_secstore_deleted_db_rollback),
	    T(test_secstore_meta_and_anchor_edits_refused),
	    T(test_secstore_crash_window_db_ahead_accepted),
	    T(test_secstore_plaintext_not_in_any_file),
	    T(test_secstore_deleted_record_scrubbed),
	    T(test_secstore_deleted_record_resurrected_by_twin_rows),
	    T(test_secstore_old_version_replayed_by_twin_rows),
	    T(test_secstore_empty_anchor_value_is_undefined_behaviour),
	    T(test_secstore_rot_sync_window),
	    T(test_sfr4212_crypto_erase_user_data),
	    T(test_sfr4212_accept_after_rollback),
	    T(test_sfr4212_accept_after_integrity_error),
	    T(test_sfr4212_accept_after_meta_mac_error),
	    T(test_sfr4212_accept_drops_malformed_persistent_rows),
	    T(test_sfr4212_accept_healthy_store_does_nothing),
	    T(test_sfr4212_accept_resumes_after_interruption),
	    T(test_secstore_quota_usage_exact),
	    T(test_secstore_quota_bounds),
	    T(test_secstore_quota_namespaces_independent),
	    T(test_secstore_quota_batch_pending_and_failed_commit),
	    T(test_secstore_quota_after_crypto_erase_in_chunks),
	    T(test_secstore_reserve_refuses_applications_only),
	    T(test_secstore_reserve_ballast),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
