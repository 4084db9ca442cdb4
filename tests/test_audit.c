/*
 * test_audit.c - SFR 4.2.9 (audit log generation and storage): the device
 * side (audit.c) and the offline verifier (audit_export.c).
 *
 * Every negative test proves the attack fails: the verifier must return
 * VG_ERR_VERIFY_FAILED (or the parser refuse the bytes) and name the first
 * record that is not vouched for.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, nftw (the build defines it too) */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "audit/audit_export.h"
#include "common/util.h"
#include "helpers.h"
#include "rot/rot.h"
#include "storage/db.h"

struct fx {
	char dir[64];
	char db_path[512];
	vg_rot *rot;
	vg_db *db;
	vg_audit *a;
	EVP_PKEY *key;   /* the device's audit signing key */
	EVP_PKEY *other; /* someone else's key */
	uint8_t *pub, *other_pub;
	size_t pub_len, other_pub_len;
	vg_audit_opts opts;
};

/* ---- fixture ---- */

static vg_rc sign_with(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t **sig, size_t *sig_len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t *s = NULL;
	size_t n = 0;
	vg_rc rc = VG_ERR_CRYPTO;

	*sig = NULL;
	*sig_len = 0;
	if (c && EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestSign(c, NULL, &n, msg, len) == 1 && (s = malloc(n)) != NULL &&
	    EVP_DigestSign(c, s, &n, msg, len) == 1) {
		*sig = s;
		*sig_len = n;
		s = NULL;
		rc = VG_OK;
	}
	free(s);
	EVP_MD_CTX_free(c);
	return rc;
}

/* Set to make the keystore's signing fail (key unavailable). */
static bool g_sign_fails;

static vg_rc test_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t **sig, size_t *sig_len)
{
	if (g_sign_fails)
		return VG_ERR_UNAVAILABLE;
	return sign_with(ctx, msg, len, sig, sig_len);
}

static void pub_der(EVP_PKEY *k, uint8_t **out, size_t *len)
{
	uint8_t *p = NULL;
	int n = i2d_PUBKEY(k, &p);

	assert_true(n > 0);
	*out = malloc((size_t)n);
	assert_non_null(*out);
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
}

static void open_stack(struct fx *f)
{
	assert_int_equal(vg_rot_file_open(&f->rot, f->dir), VG_OK);
	assert_int_equal(vg_db_open(&f->db, f->db_path, f->rot), VG_OK);
}

static void open_audit(struct fx *f)
{
	assert_int_equal(
	    vg_audit_open(&f->a, f->db, &f->opts, test_sign, f->key, f->pub, f->pub_len), VG_OK);
}

static void close_all(struct fx *f)
{
	vg_audit_close(&f->a);
	vg_db_close(&f->db);
	vg_rot_close(&f->rot);
}

/* A service restart: clean shutdown (seal), then open everything again. */
static void restart(struct fx *f)
{
	close_all(f);
	open_stack(f);
	open_audit(f);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	if (vgt_mkdtemp(f->dir) != 0)
		return -1;
	vgt_path(f->db_path, f->dir, VG_DB_FILE);
	f->key = EVP_EC_gen("P-256");
	f->other = EVP_EC_gen("P-256");
	if (!f->key || !f->other)
		return -1;
	pub_der(f->key, &f->pub, &f->pub_len);
	pub_der(f->other, &f->other_pub, &f->other_pub_len);
	/* Tests of other properties add thousands of events from one uid:
	 * out of the rate limiter's way unless a test sets it. */
	f->opts.rate_per_s = 1000000;
	f->opts.burst = 1000000;
	open_stack(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	g_sign_fails = false;
	close_all(f);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	free(f->pub);
	free(f->other_pub);
	vgt_rmrf(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void add_event(struct fx *f, const char *type, const char *outcome, const char *detail,
		      uint32_t uid, const char *role)
{
	vg_audit_event ev = {
	    .type = type,
	    .outcome = outcome,
	    .detail = detail,
	    .uid = uid,
	    .gid = uid + 1,
	    .pid = 4242,
	    .role = role,
	};

	assert_int_equal(vg_audit_append(f->a, &ev), VG_OK);
}

/* n events whose detail "ev#<seq>#" is unique in the export. */
static void add_n(struct fx *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char d[32];
		(void)snprintf(d, sizeof d, "ev#%llu#",
			       (unsigned long long)vg_audit_next_seq(f->a));
		add_event(f, "authz.denied", "denied", d, 1000, "user");
	}
}

static void do_export(struct fx *f, uint8_t **buf, size_t *len)
{
	assert_int_equal(vg_audit_export(f->a, buf, len), VG_OK);
	assert_non_null(*buf);
}

/* The common start of a test: the log opened with the fixture's options,
 * n events added (add_n) and the whole log exported. */
static void fresh_export(struct fx *f, size_t n, uint8_t **buf, size_t *len)
{
	open_audit(f);
	add_n(f, n);
	do_export(f, buf, len);
}

/* Parses and verifies; a parse failure is reported as first_bad_seq -2. */
static vg_rc verify_buf(const uint8_t *buf, size_t len, const uint8_t *pin, size_t pin_len,
			const uint8_t *seed, vg_audit_report *rep)
{
	vg_audit_log *l = NULL;
	vg_rc rc = vg_audit_log_parse(buf, len, &l);

	if (rc != VG_OK) {
		memset(rep, 0, sizeof *rep);
		rep->first_bad_seq = -2;
		assert_null(l);
		return rc;
	}
	rc = vg_audit_log_verify(l, pin, pin_len, seed, rep);
	vg_audit_log_free(&l);
	assert_null(l);
	return rc;
}

static void expect_bad(const uint8_t *buf, size_t len, const uint8_t *pin, size_t pin_len,
		       const uint8_t *seed, int64_t first_bad)
{
	vg_audit_report rep;

	assert_int_equal(verify_buf(buf, len, pin, pin_len, seed, &rep), VG_ERR_VERIFY_FAILED);
	assert_true(rep.reason[0] != '\0');
	if (rep.first_bad_seq != first_bad)
		print_error("first_bad_seq %lld, want %lld: %s\n", (long long)rep.first_bad_seq,
			    (long long)first_bad, rep.reason);
	assert_int_equal(rep.first_bad_seq, first_bad);
}

static void expect_ok(const uint8_t *buf, size_t len, const uint8_t *pin, size_t pin_len,
		      const uint8_t *seed, vg_audit_report *rep)
{
	vg_rc rc = verify_buf(buf, len, pin, pin_len, seed, rep);

	if (rc != VG_OK)
		print_error("verify: %s: %s\n", vg_rc_str(rc), rep->reason);
	assert_int_equal(rc, VG_OK);
	assert_int_equal(rep->first_bad_seq, -1);
	assert_int_equal(rep->unsealed_tail, 0);
}

/* A service restart after which the log is healthy and carries on: n more
 * events, and the whole export verifies (MACs too when seed is given). */
static void restart_and_continue(struct fx *f, size_t n, const uint8_t *seed)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_report rep;

	restart(f);
	assert_int_equal(vg_audit_state(f->a), VG_OK);
	add_n(f, n);
	do_export(f, &buf, &len);
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	vg_free(buf, len);
}

/* A parsed export taken apart (shallow copies) to be edited and rebuilt. */
struct parts {
	vg_audit_log *l;
	vg_audit_record *recs;
	size_t n;
	vg_audit_cp *cps;
	size_t m;
	const vg_audit_cp *anchor;
	vg_audit_cp anchor_copy;
	const uint8_t *pub;
	size_t pub_len;
	uint8_t *sigs[64]; /* signatures made while forging */
	size_t n_sigs;
};

static void parts_load(struct parts *p, const uint8_t *buf, size_t len)
{
	memset(p, 0, sizeof *p);
	assert_int_equal(vg_audit_log_parse(buf, len, &p->l), VG_OK);
	p->n = vg_audit_log_count(p->l);
	p->m = vg_audit_log_checkpoint_count(p->l);
	p->recs = calloc(p->n + 2, sizeof *p->recs);
	p->cps = calloc(p->m + 2, sizeof *p->cps);
	assert_non_null(p->recs);
	assert_non_null(p->cps);
	for (size_t i = 0; i < p->n; i++)
		p->recs[i] = *vg_audit_log_record(p->l, i);
	for (size_t i = 0; i < p->m; i++)
		p->cps[i] = *vg_audit_log_checkpoint(p->l, i);
	if (vg_audit_log_anchor(p->l)) {
		p->anchor_copy = *vg_audit_log_anchor(p->l);
		p->anchor = &p->anchor_copy;
	}
	p->pub = vg_audit_log_pubkey(p->l, &p->pub_len);
}

static void parts_build(struct parts *p, uint8_t **out, size_t *len)
{
	assert_int_equal(vg_audit_export_encode(vg_audit_log_id(p->l), p->pub, p->pub_len,
						p->anchor, vg_audit_log_drops(p->l), p->recs, p->n,
						p->cps, p->m, out, len),
			 VG_OK);
}

/* The edited parts, rebuilt into an export, fail verification and name
 * first_bad as the first record not vouched for. */
static void expect_parts_bad(struct parts *p, int64_t first_bad)
{
	uint8_t *bad = NULL;
	size_t bad_len = 0;

	parts_build(p, &bad, &bad_len);
	expect_bad(bad, bad_len, NULL, 0, NULL, first_bad);
	vg_free(bad, bad_len);
}

static void parts_free(struct parts *p)
{
	for (size_t i = 0; i < p->n_sigs; i++)
		free(p->sigs[i]);
	free(p->recs);
	free(p->cps);
	vg_audit_log_free(&p->l);
}

/* What someone holding the device signing key (but no MAC key) can do:
 * recompute every chain hash after an edit and re-sign every checkpoint. */
static void parts_rechain_resign(struct parts *p, EVP_PKEY *signer)
{
	uint8_t prev[32] = {0};
	uint8_t msg[VG_AUDIT_CP_MSG_LEN];

	if (p->anchor)
		memcpy(prev, p->anchor->head, 32);
	for (size_t i = 0; i < p->n; i++) {
		assert_int_equal(vg_audit_record_hash(prev, &p->recs[i], p->recs[i].hash), VG_OK);
		memcpy(prev, p->recs[i].hash, 32);
	}
	for (size_t j = 0; j < p->m + (p->anchor ? 1 : 0); j++) {
		vg_audit_cp *cp = j < p->m ? &p->cps[j] : &p->anchor_copy;
		if (j < p->m) {
			/* the head of the record just before next_seq */
			for (size_t i = 0; i < p->n; i++)
				if (p->recs[i].seq + 1 == cp->next_seq)
					memcpy(cp->head, p->recs[i].hash, 32);
		}
		vg_audit_checkpoint_message(vg_audit_log_id(p->l), cp, msg);
		assert_true(p->n_sigs < 64);
		assert_int_equal(sign_with(signer, msg, sizeof msg, &cp->sig, &cp->sig_len), VG_OK);
		p->sigs[p->n_sigs++] = cp->sig;
	}
}

static size_t find(const uint8_t *buf, size_t len, const char *needle)
{
	const uint8_t *hit = memmem(buf, len, needle, strlen(needle));

	assert_non_null(hit);
	/* exactly once */
	assert_null(memmem(hit + 1, len - (size_t)(hit + 1 - buf), needle, strlen(needle)));
	return (size_t)(hit - buf);
}

static long long sql_int(struct fx *f, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(vg_db_handle(f->db), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Raw SQL on the closed database: what an attacker with the files can do. */
static void attacker_sql(struct fx *f, const char *sql, const void *blob, size_t len)
{
	assert_int_equal(vgt_sql(f->db_path, sql, blob, len), SQLITE_DONE);
}

/* The attacker's edit of the stopped service's files, then a service
 * start: the log is closed, sql runs on the database file, and the stack
 * and the log are opened again. */
static void tamper_offline(struct fx *f, const char *sql, const void *blob, size_t len)
{
	close_all(f);
	attacker_sql(f, sql, blob, len);
	open_stack(f);
	open_audit(f);
}

static bool log_has_type(const uint8_t *buf, size_t len, const char *type)
{
	vg_audit_log *l = NULL;
	bool found = false;

	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	for (size_t i = 0; i < vg_audit_log_count(l); i++)
		if (strcmp(vg_audit_log_record(l, i)->type, type) == 0)
			found = true;
	vg_audit_log_free(&l);
	return found;
}

/* ---- rate limiting helpers ---- */

static uint64_t g_now_ms = 1000000;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return g_now_ms;
}

/* The application-level limit under test, on the fake clock. */
static void rate_opts(struct fx *f, uint32_t rate, uint32_t burst)
{
	f->opts.rate_per_s = rate;
	f->opts.burst = burst;
	f->opts.clock = fake_clock;
	g_now_ms = 1000000;
}

struct tally {
	size_t n, suppressed_records, service, by_type;
	uint64_t suppressed_sum; /* counts carried by audit.suppressed details */
};

/* Counts records of an export; by_type counts `type` from `uid`. */
static void tally_export(const uint8_t *buf, size_t len, const char *type, uint32_t uid,
			 struct tally *t)
{
	vg_audit_log *l = NULL;

	memset(t, 0, sizeof *t);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	for (size_t i = 0; i < vg_audit_log_count(l); i++) {
		const vg_audit_record *r = vg_audit_log_record(l, i);
		t->n++;
		if (strcmp(r->role, "service") == 0)
			t->service++;
		if (strcmp(r->type, "audit.suppressed") == 0) {
			unsigned long long c = 0;
			const char *p = strstr(r->detail, ": ");
			assert_non_null(p);
			assert_int_equal(sscanf(p + 2, "%llu", &c), 1);
			t->suppressed_records++;
			t->suppressed_sum += c;
		}
		if (type && strcmp(r->type, type) == 0 && r->uid == uid)
			t->by_type++;
	}
	vg_audit_log_free(&l);
}

/* ---- tests ---- */

/* SFR 4.2.9: every event is recorded with its nature, outcome, time, clock
 * sync flag and actor, exported and verified offline with public material */
static void test_audit_roundtrip(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_log *l = NULL;
	vg_audit_report rep;
	const vg_audit_record *r;
	bool synced;
	uint64_t t0 = vg_time_now(&synced), t1;
	char *out = NULL;
	size_t out_len = 0;
	FILE *mf;

	open_audit(f);
	assert_int_equal(vg_audit_state(f->a), VG_OK);
	assert_int_equal(vg_audit_next_seq(f->a), 0);
	add_event(f, "service.start", "success", NULL, 0, "service");
	add_event(f, "key.create", "success", "key \"a\" \\ made", 1000, "admin");
	add_n(f, 8);
	add_event(f, "key.delete", "failure", "bad\x01utf8\xff\xfe end", 1001, "user");
	assert_int_equal(vg_audit_pending(f->a), 11);
	assert_int_equal(vg_audit_next_seq(f->a), 11);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	assert_int_equal(vg_audit_pending(f->a), 0);
	t1 = vg_time_now(NULL);
	do_export(f, &buf, &len);
	/* format version 2: a sequence opening with the array(6) header */
	assert_int_equal(buf[0], 0x86);
	assert_memory_equal(buf + 1,
			    "\x6e"
			    "voxguard-audit"
			    "\x02",
			    16);

	expect_ok(buf, len, NULL, 0, NULL, &rep);
	assert_int_equal(rep.records_verified, 11);
	assert_int_equal(rep.first_seq, 0);
	assert_int_equal(rep.end_seq, 11);
	assert_false(rep.macs_checked);
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);

	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	assert_int_equal(vg_audit_log_count(l), 11);
	assert_null(vg_audit_log_record(l, 11));
	assert_null(vg_audit_log_anchor(l));
	for (size_t i = 0; i < 11; i++) {
		r = vg_audit_log_record(l, i);
		assert_int_equal(r->seq, i);
		assert_true(r->time >= t0 && r->time <= t1);
		assert_int_equal(r->clock_synced, synced);
		assert_int_equal(r->pid, 4242);
	}
	r = vg_audit_log_record(l, 0);
	assert_string_equal(r->type, "service.start");
	assert_null(r->detail);
	assert_string_equal(r->role, "service");
	r = vg_audit_log_record(l, 1);
	assert_string_equal(r->type, "key.create");
	assert_string_equal(r->outcome, "success");
	assert_string_equal(r->detail, "key \"a\" \\ made");
	assert_int_equal(r->uid, 1000);
	assert_int_equal(r->gid, 1001);
	assert_string_equal(r->role, "admin");
	/* Control characters and invalid UTF-8 never reach the log. */
	r = vg_audit_log_record(l, 10);
	assert_string_equal(r->detail, "bad?utf8?? end");
	/* The export ends with an export checkpoint over the head. */
	assert_true(vg_audit_log_checkpoint_count(l) >= 1);
	assert_int_equal(vg_audit_log_checkpoint(l, vg_audit_log_checkpoint_count(l) - 1)->kind,
			 VG_AUDIT_CP_EXPORT);

	mf = open_memstream(&out, &out_len);
	assert_non_null(mf);
	assert_int_equal(vg_audit_log_write_json(l, mf, true), VG_OK);
	assert_int_equal(fclose(mf), 0);
	assert_non_null(strstr(out, "{\"kind\":\"header\",\"format\":\"voxguard-audit\""));
	assert_non_null(strstr(out, "\"kind\":\"record\",\"seq\":1,"));
	assert_non_null(strstr(out, "\"type\":\"key.create\",\"outcome\":\"success\","
				    "\"detail\":\"key \\\"a\\\" \\\\ made\",\"uid\":1000,"
				    "\"gid\":1001,\"pid\":4242,\"role\":\"admin\""));
	assert_non_null(strstr(out, "\"detail\":null"));
	assert_non_null(strstr(out, "\"checkpoint\":\"export\",\"next_seq\":11"));
	assert_non_null(strstr(out, synced ? "\"clock_synced\":true" : "\"clock_synced\":false"));
	free(out);
	out = NULL;
	mf = open_memstream(&out, &out_len);
	assert_non_null(mf);
	assert_int_equal(vg_audit_log_write_json(l, mf, false), VG_OK);
	assert_int_equal(fclose(mf), 0);
	assert_non_null(
	    strstr(out, "#1  key.create  success  uid=1000 gid=1001 pid=4242 role=admin"));
	assert_non_null(strstr(out, "-- checkpoint (export) covering seq < 11"));
	free(out);
	vg_audit_log_free(&l);
	vg_free(buf, len);
}

/* SFR 4.2.9: malformed events are refused, not recorded half-way */
static void test_audit_invalid_event(void **state)
{
	struct fx *f = *state;
	vg_audit_event ev = {.type = "key create", .outcome = "success", .role = "user"};

	open_audit(f);
	assert_int_equal(vg_audit_append(f->a, &ev), VG_ERR_INVALID);
	ev.type = "key.create";
	ev.role = NULL;
	assert_int_equal(vg_audit_append(f->a, &ev), VG_ERR_INVALID);
	ev.role = "user";
	ev.outcome = "";
	assert_int_equal(vg_audit_append(f->a, &ev), VG_ERR_INVALID);
	assert_int_equal(vg_audit_append(f->a, NULL), VG_ERR_INVALID);
	assert_int_equal(vg_audit_pending(f->a), 0);
	assert_int_equal(vg_audit_next_seq(f->a), 0);
}

/* SFR 4.2.9: durable appends use group commit: a burst of records costs one
 * transaction, and an empty flush costs none */
static void test_audit_group_commit(void **state)
{
	struct fx *f = *state;
	uint64_t c0;

	open_audit(f);
	c0 = vg_db_counter(f->db);
	add_n(f, 300);
	assert_int_equal(vg_audit_pending(f->a), 300);
	assert_int_equal(vg_db_counter(f->db), c0); /* nothing written yet */
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	assert_int_equal(vg_db_counter(f->db), c0 + 1);
	assert_int_equal(vg_audit_pending(f->a), 0);
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_records"), 300);
	/* 300 >= 256 records: the periodic checkpoint rode in the same commit */
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_checkpoints"), 1);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	assert_int_equal(vg_db_counter(f->db), c0 + 1);
}

/* SFR 4.2.9: a full in-memory queue forces a flush (bounded memory) */
static void test_audit_queue_forces_flush(void **state)
{
	struct fx *f = *state;
	uint64_t c0;

	f->opts.max_queue = 16;
	open_audit(f);
	c0 = vg_db_counter(f->db);
	add_n(f, 40);
	assert_true(vg_audit_pending(f->a) <= 16);
	assert_int_equal(vg_db_counter(f->db), c0 + 2);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_records"), 40);
}

/* SFR 4.2.9: a failed group commit loses nothing: the records stay queued
 * with their sequence numbers and the retry commits them gap-free; events
 * that did not fit are counted and the loss is itself recorded */
static void test_audit_flush_failure_retries(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_log *l = NULL;
	vg_audit_report rep;
	uint64_t c0;
	vg_audit_event ev = {.type = "authz.denied", .outcome = "denied", .role = "user"};

	f->opts.checkpoint_every = 1; /* every flush must sign */
	f->opts.max_queue = 4;
	open_audit(f);
	add_n(f, 2);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	c0 = vg_db_counter(f->db);
	g_sign_fails = true;
	add_n(f, 4);
	assert_int_equal(vg_audit_flush(f->a), VG_ERR_UNAVAILABLE);
	assert_int_equal(vg_audit_pending(f->a), 4);
	assert_int_equal(vg_db_counter(f->db), c0);
	/* the queue is full and cannot drain: the event is dropped, counted */
	assert_int_equal(vg_audit_append(f->a, &ev), VG_ERR_UNAVAILABLE);
	assert_int_equal(vg_audit_pending(f->a), 4);
	assert_int_equal(vg_audit_next_seq(f->a), 6);
	g_sign_fails = false;
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	assert_int_equal(vg_audit_pending(f->a), 0);
	assert_int_equal(vg_db_counter(f->db), c0 + 1);
	do_export(f, &buf, &len);
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	assert_int_equal(rep.records_verified, 7);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	assert_string_equal(vg_audit_log_record(l, 6)->type, "audit.dropped");
	assert_string_equal(vg_audit_log_record(l, 6)->detail, "1 events dropped: queue full");
	vg_audit_log_free(&l);
	vg_free(buf, len);
}

/* SFR 4.2.9: an edited record fails verification and is named */
static void test_audit_edit_byte(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0, off;

	fresh_export(f, 20, &buf, &len);
	off = find(buf, len, "ev#7#");
	buf[off + 1] = 'w'; /* "ew#7#": still a valid export, different content */
	expect_bad(buf, len, NULL, 0, NULL, 7);
	buf[off + 1] = 'v';
	off = find(buf, len, "ev#12#");
	buf[off + 3] = '3'; /* a record claiming to be something else */
	expect_bad(buf, len, NULL, 0, NULL, 12);
	vg_free(buf, len);
}

/* SFR 4.2.9: no single-bit change anywhere in an export is accepted */
static void test_audit_every_bit_flip_detected(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_report rep;

	f->opts.checkpoint_every = 2;
	open_audit(f);
	add_n(f, 2);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	add_n(f, 1);
	do_export(f, &buf, &len);
	expect_ok(buf, len, NULL, 0, NULL, &rep);
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			vg_rc rc;
			buf[i] ^= (uint8_t)(1u << b);
			rc = verify_buf(buf, len, NULL, 0, NULL, &rep);
			if (rc == VG_OK)
				print_error("bit %d of byte %zu flipped: accepted\n", b, i);
			assert_int_not_equal(rc, VG_OK);
			buf[i] ^= (uint8_t)(1u << b);
		}
	}
	vg_free(buf, len);
}

/* SFR 4.2.9: a deleted record fails verification and is named */
static void test_audit_delete_record(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct parts p;

	fresh_export(f, 20, &buf, &len);
	parts_load(&p, buf, len);
	memmove(&p.recs[5], &p.recs[6], (p.n - 6) * sizeof p.recs[0]);
	p.n--;
	expect_parts_bad(&p, 5);
	/* the first record too */
	memmove(&p.recs[0], &p.recs[1], (p.n - 1) * sizeof p.recs[0]);
	p.n--;
	expect_parts_bad(&p, 0);
	parts_free(&p);
	vg_free(buf, len);
}

/* SFR 4.2.9: reordered or duplicated records fail verification */
static void test_audit_reorder_records(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct parts p;
	vg_audit_record t;

	fresh_export(f, 20, &buf, &len);
	parts_load(&p, buf, len);
	t = p.recs[3];
	p.recs[3] = p.recs[4];
	p.recs[4] = t;
	expect_parts_bad(&p, 3);
	/* even with seq numbers rewritten to look gap-free */
	p.recs[3].seq = 3;
	p.recs[4].seq = 4;
	expect_parts_bad(&p, 3);
	/* an inserted duplicate */
	parts_free(&p);
	parts_load(&p, buf, len);
	memmove(&p.recs[6], &p.recs[5], (p.n - 5) * sizeof p.recs[0]);
	p.recs[5] = p.recs[4];
	p.n++;
	expect_parts_bad(&p, 5);
	parts_free(&p);
	vg_free(buf, len);
}

/* SFR 4.2.9: records cut from the tail while their checkpoint stays are
 * detected (the first missing record is named) */
static void test_audit_truncate_records_only(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct parts p;

	fresh_export(f, 20, &buf, &len);
	parts_load(&p, buf, len);
	p.n = 15;
	expect_parts_bad(&p, 15);
	parts_free(&p);
	/* and cut anywhere in the byte stream: never a valid export (a cut
	 * between two items of the version 2 sequence parses, as pages must,
	 * but does not verify: the export checkpoint is the last item) */
	for (size_t n = 0; n < len; n++) {
		vg_audit_log *l = NULL;
		vg_audit_report rep;
		vg_rc rc = vg_audit_log_parse(buf, n, &l);
		if (rc == VG_OK) {
			assert_int_equal(vg_audit_log_verify(l, NULL, 0, NULL, &rep),
					 VG_ERR_VERIFY_FAILED);
			vg_audit_log_free(&l);
		}
		assert_null(l);
	}
	vg_free(buf, len);
}

/* SFR 4.2.9: cutting the tail together with its checkpoints is detected
 * because every export ends with an export checkpoint; cutting exactly at
 * an earlier export checkpoint is not (the documented limit: compare
 * end_seq with an earlier export) */
static void test_audit_truncate_tail_and_checkpoint(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *first = NULL, *bad = NULL;
	size_t len = 0, first_len = 0, bad_len = 0;
	struct parts p;
	vg_audit_report rep;

	f->opts.checkpoint_every = 8;
	open_audit(f);
	add_n(f, 10);
	do_export(f, &first, &first_len); /* export checkpoint at 10 */
	for (int i = 0; i < 4; i++) {
		add_n(f, 3);
		assert_int_equal(vg_audit_flush(f->a), VG_OK);
	}
	add_n(f, 8);
	do_export(f, &buf, &len); /* 30 records */
	parts_load(&p, buf, len);
	assert_int_equal(p.n, 30);

	/* Cut after the periodic checkpoint at 19: records 19.. and the later
	 * checkpoints gone. */
	for (size_t j = 0; j < p.m; j++) {
		if (p.cps[j].next_seq == 19 && p.cps[j].kind == VG_AUDIT_CP_PERIODIC) {
			p.m = j + 1;
			break;
		}
	}
	assert_int_equal(p.cps[p.m - 1].next_seq, 19);
	p.n = 19;
	expect_parts_bad(&p, 19);

	/* Cut exactly at the earlier export checkpoint: it verifies, and only
	 * the covered range tells a back end that knew the first export. */
	for (size_t j = 0; j < p.m; j++) {
		if (p.cps[j].next_seq == 10 && p.cps[j].kind == VG_AUDIT_CP_EXPORT) {
			p.m = j + 1;
			break;
		}
	}
	p.n = 10;
	parts_build(&p, &bad, &bad_len);
	expect_ok(bad, bad_len, f->pub, f->pub_len, NULL, &rep);
	assert_int_equal(rep.end_seq, 10);
	expect_ok(first, first_len, f->pub, f->pub_len, NULL, &rep);
	assert_int_equal(rep.end_seq, 10);
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	assert_int_equal(rep.end_seq, 30);
	assert_int_equal(rep.records_verified, 30);
	vg_free(bad, bad_len);
	parts_free(&p);
	vg_free(first, first_len);
	vg_free(buf, len);
}

/* SFR 4.2.9: a forged or transplanted checkpoint signature fails */
static void test_audit_forged_checkpoint_signature(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *bad = NULL, msg[VG_AUDIT_CP_MSG_LEN], *orig;
	size_t len = 0, bad_len = 0, orig_len;
	struct parts p;
	vg_audit_cp *last;
	vg_audit_report rep;

	f->opts.checkpoint_every = 5;
	open_audit(f);
	add_n(f, 6);
	assert_int_equal(vg_audit_flush(f->a), VG_OK); /* periodic checkpoint at 6 */
	add_n(f, 6);
	do_export(f, &buf, &len);
	parts_load(&p, buf, len);
	assert_int_equal(p.m, 2);
	last = &p.cps[1];
	assert_int_equal(last->next_seq, 12);
	orig = last->sig;
	orig_len = last->sig_len;

	/* a signature by another key over the right message: records 6..11
	 * are no longer vouched for */
	vg_audit_checkpoint_message(vg_audit_log_id(p.l), last, msg);
	assert_int_equal(sign_with(f->other, msg, sizeof msg, &last->sig, &last->sig_len), VG_OK);
	p.sigs[p.n_sigs++] = last->sig;
	expect_parts_bad(&p, 6);

	/* a genuine signature taken from another checkpoint */
	last->sig = p.cps[0].sig;
	last->sig_len = p.cps[0].sig_len;
	expect_parts_bad(&p, 6);

	/* one byte of the signature */
	last->sig = orig;
	last->sig_len = orig_len;
	parts_build(&p, &bad, &bad_len);
	expect_ok(bad, bad_len, NULL, 0, NULL, &rep);
	bad[bad_len - 5] ^= 0x10;
	expect_bad(bad, bad_len, NULL, 0, NULL, 6);
	vg_free(bad, bad_len);

	/* a checkpoint moved to claim other records */
	p.cps[0].next_seq = 5;
	expect_parts_bad(&p, 0);
	parts_free(&p);
	vg_free(buf, len);
}

/* SFR 4.2.9: a wrong pinned key fails; an attacker who re-signs the whole
 * export with their own key and swaps the carried key is caught by pinning */
static void test_audit_wrong_pinned_key(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *bad = NULL;
	size_t len = 0, bad_len = 0;
	struct parts p;
	vg_audit_report rep;

	fresh_export(f, 6, &buf, &len);
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	expect_bad(buf, len, f->other_pub, f->other_pub_len, NULL, 0);

	parts_load(&p, buf, len);
	p.recs[2].detail = "nothing happened";
	p.pub = f->other_pub;
	p.pub_len = f->other_pub_len;
	parts_rechain_resign(&p, f->other);
	parts_build(&p, &bad, &bad_len);
	/* Self-consistent under the attacker's key... */
	expect_ok(bad, bad_len, NULL, 0, NULL, &rep);
	/* ...but not under the device key the verifier pins. */
	expect_bad(bad, bad_len, f->pub, f->pub_len, NULL, 0);
	/* A signing key that is not P-256 is refused outright. */
	p.pub = (const uint8_t *)"not a key";
	p.pub_len = 9;
	vg_free(bad, bad_len);
	expect_parts_bad(&p, 0);
	parts_free(&p);
	vg_free(buf, len);
}

/* SFR 4.2.9: with the admin's seed every record's forward-secure MAC is
 * checked: a record re-forged with a recomputed hash chain and re-signed
 * checkpoints (a compromised device key) but without K_i fails */
static void test_audit_mac_with_seed(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *bad = NULL, seed[32], wrong[32];
	size_t len = 0, bad_len = 0;
	struct parts p;
	vg_audit_report rep;

	f->opts.checkpoint_every = 4;
	open_audit(f);
	assert_int_equal(vg_audit_take_seed(f->a, seed), VG_OK);
	add_n(f, 14);
	do_export(f, &buf, &len);
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	assert_true(rep.macs_checked);
	assert_int_equal(rep.records_verified, 15); /* + audit.seed_taken */

	memcpy(wrong, seed, sizeof wrong);
	wrong[0] ^= 1;
	expect_bad(buf, len, f->pub, f->pub_len, wrong, 0);

	parts_load(&p, buf, len);
	p.recs[5].detail = "nothing to see";
	p.recs[5].outcome = "success";
	parts_rechain_resign(&p, f->key);
	parts_build(&p, &bad, &bad_len);
	/* the public checks pass: only the MAC tells */
	expect_ok(bad, bad_len, f->pub, f->pub_len, NULL, &rep);
	expect_bad(bad, bad_len, f->pub, f->pub_len, seed, 5);
	vg_free(bad, bad_len);
	parts_free(&p);
	vg_free(buf, len);
	vg_wipe(seed, sizeof seed);
}

/* SFR 4.2.9: the MAC seed is handed out once and then destroyed on the
 * device */
static void test_audit_take_seed_once(void **state)
{
	struct fx *f = *state;
	uint8_t seed[32], again[32];
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_report rep;

	open_audit(f);
	add_n(f, 3);
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_state WHERE name = 'seed'"), 1);
	assert_int_equal(vg_audit_take_seed(f->a, seed), VG_OK);
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_state WHERE name = 'seed'"), 0);
	memset(again, 0x55, sizeof again);
	assert_int_equal(vg_audit_take_seed(f->a, again), VG_ERR_NOT_FOUND);
	for (size_t i = 0; i < sizeof again; i++)
		assert_int_equal(again[i], 0); /* wiped on failure */
	restart(f);
	assert_int_equal(vg_audit_take_seed(f->a, again), VG_ERR_NOT_FOUND);
	do_export(f, &buf, &len);
	assert_true(log_has_type(buf, len, "audit.seed_taken"));
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	assert_true(rep.macs_checked);
	vg_free(buf, len);
}

/* SFR 4.2.9: the log is bounded (here by max_records, the secondary
 * bound); retention drops the oldest records under a signed drop summary
 * and the rest still verifies, MACs included, and reopens */
static void test_audit_rotation(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, seed[32];
	size_t len = 0, n;
	vg_audit_log *l = NULL;
	vg_audit_report rep;
	const vg_audit_drops *d;

	f->opts.checkpoint_every = 10;
	f->opts.max_records = 50;
	open_audit(f);
	assert_int_equal(vg_audit_take_seed(f->a, seed), VG_OK);
	for (int i = 0; i < 30; i++) {
		add_n(f, 7);
		assert_int_equal(vg_audit_flush(f->a), VG_OK);
		assert_true(sql_int(f, "SELECT COUNT(*) FROM audit_records") <= 50);
	}
	assert_true(vg_audit_next_seq(f->a) >= 211);
	do_export(f, &buf, &len);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	assert_null(vg_audit_log_anchor(l));
	d = vg_audit_log_drops(l);
	assert_non_null(d);
	n = vg_audit_log_count(l);
	assert_true(n <= 51);
	assert_true(n >= 30);
	/* the service's own event at seq 0 outlives the applications' */
	assert_int_equal(vg_audit_log_record(l, 0)->seq, 0);
	assert_string_equal(vg_audit_log_record(l, 0)->type, "audit.seed_taken");
	assert_int_equal(d->runs[0].from, 1);
	assert_int_equal(d->total + n, vg_audit_log_record(l, n - 1)->seq + 1);
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	assert_int_equal(rep.records_verified, n);
	assert_int_equal(rep.dropped, d->total);
	vg_audit_log_free(&l);
	vg_free(buf, len);
	/* the compacted log reopens cleanly and continues */
	restart_and_continue(f, 2, seed);
	vg_wipe(seed, sizeof seed);
}

/* SFR 4.2.12 / 4.2.9: a factory reset starts the log afresh: the old
 * records are gone, the anchor is a signed checkpoint over the old head
 * (the link), the new first record chains from it, and the log exports,
 * verifies and reopens cleanly. */
static void test_sfr4212_audit_truncate_links_new_log(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, head[32], seed[32];
	size_t len = 0;
	uint64_t old_next = 0;
	vg_audit_log *l = NULL;
	vg_audit_report rep;

	open_audit(f);
	assert_int_equal(vg_audit_take_seed(f->a, seed), VG_OK);
	add_n(f, 25);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	assert_int_equal(vg_audit_truncate(f->a, &old_next, head), VG_OK);
	assert_int_equal(old_next, vg_audit_next_seq(f->a));
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_records"), 0);
	add_event(f, "factory.reset", "success", "first event of the new log", 0, "admin");
	do_export(f, &buf, &len);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	assert_non_null(vg_audit_log_anchor(l));
	assert_int_equal(vg_audit_log_anchor(l)->next_seq, old_next);
	assert_memory_equal(vg_audit_log_anchor(l)->head, head, 32);
	assert_int_equal(vg_audit_log_record(l, 0)->seq, old_next);
	assert_true(log_has_type(buf, len, "factory.reset"));
	assert_false(log_has_type(buf, len, "authz.denied"));
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	vg_audit_log_free(&l);
	vg_free(buf, len);
	restart_and_continue(f, 3, seed);
	vg_wipe(seed, sizeof seed);
}

/* SFR 4.2.9: the chain continues across a restart (gap-free sequence, the
 * key state persisted) and the clean shutdown leaves a seal checkpoint */
static void test_audit_persistence(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, seed[32];
	size_t len = 0;
	vg_audit_log *l = NULL;
	vg_audit_report rep;
	bool seal = false;
	long long ncp;

	open_audit(f);
	assert_int_equal(vg_audit_take_seed(f->a, seed), VG_OK);
	add_n(f, 4);
	restart(f);
	assert_int_equal(vg_audit_state(f->a), VG_OK);
	assert_int_equal(vg_audit_pending(f->a), 0); /* no unsealed-shutdown event */
	assert_int_equal(vg_audit_next_seq(f->a), 5);
	/* restarts without events add no checkpoints */
	ncp = sql_int(f, "SELECT COUNT(*) FROM audit_checkpoints");
	restart(f);
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_checkpoints"), ncp);
	add_n(f, 3);
	do_export(f, &buf, &len);
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	assert_int_equal(rep.records_verified, 8);
	assert_false(log_has_type(buf, len, "audit.unsealed_shutdown"));
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	for (size_t i = 0; i < vg_audit_log_checkpoint_count(l); i++) {
		const vg_audit_cp *cp = vg_audit_log_checkpoint(l, i);
		if (cp->kind == VG_AUDIT_CP_SEAL && cp->next_seq == 5)
			seal = true;
	}
	assert_true(seal);
	vg_audit_log_free(&l);
	vg_free(buf, len);
	vg_wipe(seed, sizeof seed);
}

/* SFR 4.2.9: a run that ended without its seal (crash, power cut) is
 * itself recorded at the next start */
static void test_audit_unsealed_shutdown_recorded(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_report rep;
	pid_t pid;
	int status = 0;

	open_audit(f);
	add_n(f, 2);
	close_all(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child appends and commits, then dies without closing. */
		vg_audit *a = NULL;
		vg_rot *rot = NULL;
		vg_db *db = NULL;
		vg_audit_event ev = {.type = "key.create", .outcome = "success", .role = "user"};
		if (vg_rot_file_open(&rot, f->dir) != VG_OK ||
		    vg_db_open(&db, f->db_path, rot) != VG_OK ||
		    vg_audit_open(&a, db, &f->opts, test_sign, f->key, f->pub, f->pub_len) !=
			VG_OK ||
		    vg_audit_append(a, &ev) != VG_OK || vg_audit_flush(a) != VG_OK)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	open_stack(f);
	open_audit(f);
	assert_int_equal(vg_audit_state(f->a), VG_OK);
	assert_int_equal(vg_audit_next_seq(f->a), 4);
	do_export(f, &buf, &len);
	assert_true(log_has_type(buf, len, "audit.unsealed_shutdown"));
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	assert_int_equal(rep.records_verified, 4);
	vg_free(buf, len);
}

/* SFR 4.2.9: rows edited in the database while the service was down are
 * detected at open; the log is marked broken, keeps running, records an
 * audit.integrity event, and the export names the edited record */
static void test_audit_tampered_row_detected_at_open(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *blob = NULL;
	size_t len = 0, blob_len = 0;
	vg_audit_record r;
	sqlite3_stmt *st = NULL;

	open_audit(f);
	add_n(f, 10);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	assert_int_equal(sqlite3_prepare_v2(vg_db_handle(f->db),
					    "SELECT rec FROM audit_records WHERE seq = 3", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(vg_audit_record_decode(sqlite3_column_blob(st, 0),
						(size_t)sqlite3_column_bytes(st, 0), &r),
			 VG_OK);
	sqlite3_finalize(st);
	free(r.detail);
	r.detail = strdup("routine");
	assert_int_equal(vg_audit_record_encode(&r, &blob, &blob_len), VG_OK);
	vg_audit_record_clear(&r);
	tamper_offline(f, "UPDATE audit_records SET rec = ?1 WHERE seq = 3", blob, blob_len);
	vg_free(blob, blob_len);
	assert_int_equal(vg_audit_state(f->a), VG_ERR_INTEGRITY);
	assert_int_equal(vg_audit_next_seq(f->a), 11); /* the integrity event took seq 10 */
	add_n(f, 1);
	assert_int_equal(vg_audit_flush(f->a), VG_OK); /* keeps running */
	do_export(f, &buf, &len);
	assert_true(log_has_type(buf, len, "audit.integrity"));
	expect_bad(buf, len, f->pub, f->pub_len, NULL, 3);
	vg_free(buf, len);
}

/* SFR 4.2.9: a deleted row is detected at open and in the export */
static void test_audit_deleted_row_detected_at_open(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;

	open_audit(f);
	add_n(f, 10);
	tamper_offline(f, "DELETE FROM audit_records WHERE seq = 4", NULL, 0);
	assert_int_equal(vg_audit_state(f->a), VG_ERR_INTEGRITY);
	do_export(f, &buf, &len);
	expect_bad(buf, len, f->pub, f->pub_len, NULL, 4);
	vg_free(buf, len);
}

/* SFR 4.2.9: rows forged past the anchored head are taken out of the chain
 * (kept in audit_quarantine) and the attempt itself is recorded */
static void test_audit_forged_row_quarantined(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_log *l = NULL;
	vg_audit_report rep;

	open_audit(f);
	add_n(f, 5);
	tamper_offline(f,
		       "INSERT INTO audit_records(seq, rec, hash) SELECT 5, rec, hash FROM"
		       " audit_records WHERE seq = 4",
		       NULL, 0);
	assert_int_equal(vg_audit_state(f->a), VG_ERR_INTEGRITY);
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_quarantine"), 1);
	do_export(f, &buf, &len);
	/* The genuine log is intact and says what happened. */
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	assert_int_equal(vg_audit_log_count(l), 6);
	assert_string_equal(vg_audit_log_record(l, 5)->type, "audit.integrity");
	assert_string_equal(vg_audit_log_record(l, 5)->outcome, "failure");
	vg_audit_log_free(&l);
	vg_free(buf, len);
}

/* SFR 4.2.9: while the database refuses writes (rollback/integrity), events
 * stay in memory (bounded), go to stderr one line each, and are never
 * committed */
static void test_audit_db_refused_stays_in_memory(void **state)
{
	struct fx *f = *state;
	char path[600];
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint64_t c0;
	int saved, fd, lines = 0;
	FILE *in;
	char line[1024];

	f->opts.max_queue = 8;
	open_audit(f);
	add_n(f, 2);
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	c0 = vg_db_counter(f->db);
	vg_db_set_state(f->db, VG_ERR_ROLLBACK);

	(void)snprintf(path, sizeof path, "%s/stderr.txt", f->dir);
	(void)fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_true(dup2(fd, 2) >= 0);
	(void)close(fd);
	add_n(f, 3);
	assert_int_equal(vg_audit_pending(f->a), 3);
	assert_int_equal(vg_audit_flush(f->a), VG_ERR_ROLLBACK);
	assert_int_equal(vg_audit_pending(f->a), 3);
	add_n(f, 5);
	assert_int_equal(vg_audit_pending(f->a), 8);
	{
		vg_audit_event ev = {.type = "authz.denied", .outcome = "denied", .role = "user"};
		assert_int_equal(vg_audit_append(f->a, &ev), VG_ERR_TOO_LARGE);
	}
	assert_int_equal(vg_audit_pending(f->a), 8); /* bounded */
	assert_int_equal(vg_audit_checkpoint(f->a), VG_ERR_ROLLBACK);
	assert_int_equal(vg_audit_take_seed(f->a, (uint8_t[32]){0}), VG_ERR_ROLLBACK);
	/* the stored part can still be exported for forensics */
	assert_int_equal(vg_audit_export(f->a, &out, &out_len), VG_OK);
	vg_free(out, out_len);
	vg_audit_close(&f->a);
	(void)fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	(void)close(saved);

	assert_int_equal(vg_db_counter(f->db), c0);
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_records"), 2);
	in = fopen(path, "r");
	assert_non_null(in);
	while (fgets(line, sizeof line, in)) {
		assert_non_null(strstr(line, "audit event not committed"));
		assert_non_null(strstr(line, "type=authz.denied"));
		lines++;
	}
	(void)fclose(in);
	assert_int_equal(lines, 9); /* 8 queued + 1 dropped, each once */

	/* The next run finds the previous one unsealed; nothing leaked in. */
	vg_db_close(&f->db);
	vg_rot_close(&f->rot);
	open_stack(f);
	open_audit(f);
	assert_int_equal(vg_audit_state(f->a), VG_OK);
	assert_int_equal(vg_audit_next_seq(f->a), 3); /* 2 + audit.unsealed_shutdown */
}

/* SFR 4.2.9: the service may open the log without its key only when the
 * database refuses writes; a key that does not match the log is refused */
static void test_audit_open_key_checks(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_report rep;

	assert_int_equal(vg_audit_open(&f->a, f->db, NULL, NULL, NULL, NULL, 0), VG_ERR_INVALID);
	assert_int_equal(vg_audit_open(&f->a, f->db, NULL, test_sign, f->other, f->pub, f->pub_len),
			 VG_ERR_INVALID); /* sign and pub disagree */
	assert_null(f->a);
	open_audit(f);
	add_n(f, 2);
	close_all(f);
	open_stack(f);
	assert_int_equal(
	    vg_audit_open(&f->a, f->db, NULL, test_sign, f->other, f->other_pub, f->other_pub_len),
	    VG_ERR_INVALID); /* the log is bound to its key */
	vg_db_set_state(f->db, VG_ERR_INTEGRITY);
	assert_int_equal(vg_audit_open(&f->a, f->db, NULL, NULL, NULL, NULL, 0), VG_OK);
	assert_int_equal(vg_audit_next_seq(f->a), 2);
	assert_int_equal(vg_audit_export(f->a, &buf, &len), VG_OK);
	/* stored as it was, sealed at the clean shutdown */
	assert_int_equal(verify_buf(buf, len, f->pub, f->pub_len, NULL, &rep),
			 VG_ERR_VERIFY_FAILED);
	assert_int_equal(rep.records_verified, 2);
	vg_free(buf, len);
}

/* SFR 4.2.9: the parser refuses garbage, truncation, oversized declared
 * lengths, wrong types, unknown versions and trailing bytes, without
 * crashing or allocating what the input merely declares */
static void test_audit_parser_rejects(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *big;
	size_t len = 0;
	vg_audit_log *l = NULL;
	uint8_t junk[512];
	static const uint8_t hdr[] = {0x87, 0x6e, 'v', 'o', 'x', 'g', 'u', 'a', 'r',
				      'd',  '-',  'a', 'u', 'd', 'i', 't', 0x01};
	uint8_t crafted[256];
	size_t n;

	assert_int_equal(vg_audit_log_parse(NULL, 0, &l), VG_ERR_INVALID);
	assert_int_equal(vg_audit_log_parse((const uint8_t *)"", 0, &l), VG_ERR_INVALID);
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(vg_audit_log_parse(junk, sizeof junk, &l), VG_ERR_INVALID);
	assert_null(l);

	/* a 4 GiB byte string declared in a few bytes */
	n = 0;
	memcpy(crafted, hdr, sizeof hdr);
	n += sizeof hdr;
	crafted[n++] = 0x50;
	memset(crafted + n, 1, 16);
	n += 16;
	crafted[n++] = 0x5a;
	memset(crafted + n, 0xff, 4);
	n += 4;
	memset(crafted + n, 0, 40);
	n += 40;
	assert_int_equal(vg_audit_log_parse(crafted, n, &l), VG_ERR_INVALID);
	/* 2^32 records declared */
	n = sizeof hdr + 17;
	crafted[n++] = 0x41;
	crafted[n++] = 0x00;
	crafted[n++] = 0xf6;
	crafted[n++] = 0x9a;
	memset(crafted + n, 0xff, 4);
	n += 4;
	memset(crafted + n, 0, 60);
	n += 60;
	assert_int_equal(vg_audit_log_parse(crafted, n, &l), VG_ERR_INVALID);
	/* a tag, a negative integer, a float, an indefinite array */
	for (int k = 0; k < 4; k++) {
		static const uint8_t bad_items[4][3] = {
		    {0xc1, 0x00, 0x00}, {0x20, 0x00, 0x00}, {0xf9, 0x00, 0x00}, {0x9f, 0xff, 0x00}};
		n = 0;
		crafted[n++] = 0x83;
		memcpy(crafted + n, hdr + 1, sizeof hdr - 1);
		n += sizeof hdr - 1;
		memcpy(crafted + n, bad_items[k], 3);
		n += k == 1 ? 1 : (k == 2 ? 3 : 2);
		assert_int_equal(vg_audit_log_parse(crafted, n, &l), VG_ERR_INVALID);
	}
	big = calloc(1, (size_t)VG_AUDIT_EXPORT_MAX + 1);
	assert_non_null(big);
	assert_int_equal(vg_audit_log_parse(big, (size_t)VG_AUDIT_EXPORT_MAX + 1, &l),
			 VG_ERR_TOO_LARGE);
	free(big);

	fresh_export(f, 3, &buf, &len);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	vg_audit_log_free(&l);
	/* trailing byte */
	big = malloc(len + 1);
	assert_non_null(big);
	memcpy(big, buf, len);
	big[len] = 0;
	assert_int_equal(vg_audit_log_parse(big, len + 1, &l), VG_ERR_INVALID);
	/* a newer version is refused as such */
	big[16] = 0x03;
	assert_int_equal(vg_audit_log_parse(big, len, &l), VG_ERR_UNSUPPORTED);
	big[16] = 0x02;
	/* another magic */
	big[2] = 'V';
	assert_int_equal(vg_audit_log_parse(big, len, &l), VG_ERR_INVALID);
	big[2] = 'v';
	/* a terminal escape smuggled into a detail */
	big[find(big, len, "ev#1#") + 2] = 0x1b;
	assert_int_equal(vg_audit_log_parse(big, len, &l), VG_ERR_INVALID);
	assert_null(l);
	free(big);
	vg_free(buf, len);
}

/* SFR 4.2.9/4.2.10: the attack of issue 11: an unprivileged uid sends
 * `admin logout` 60000 times in 26 s. Its events beyond the limit cost it
 * nothing but a count: they become one "audit.suppressed" record with the
 * exact number; the service's own events in the middle are never limited */
static void test_audit_flood_is_summarised(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct tally t;
	vg_audit_stats st;
	vg_audit_report rep;

	rate_opts(f, 20, 200);
	open_audit(f);
	add_event(f, "key.create", "success", "root's key", 0, "admin");
	for (int i = 0; i < 60000; i++) {
		add_event(f, "admin.logout", "success", NULL, 65534, "user");
		if (i % 60 == 0)
			add_event(f, "service.tick", "success", NULL, 0, "service");
		if (i % 100 == 0)
			assert_int_equal(vg_audit_flush(f->a), VG_OK);
		g_now_ms += (i % 7 == 0) ? 1 : 0; /* 60000 events in ~8.6 s */
		if (i % 3 == 0)
			g_now_ms++; /* ... ~28.6 s in all */
	}
	vg_audit_stats_get(f->a, &st);
	assert_true(st.suppressed > 59000);
	do_export(f, &buf, &len);
	tally_export(buf, len, "admin.logout", 65534, &t);
	/* control: every service event is there (1000 of them), unlimited */
	assert_int_equal(t.service >= 1000, true);
	/* the flood: at most burst + rate x time recorded one by one */
	assert_true(t.by_type <= 200 + 20 * 29 + 1);
	assert_true(t.by_type >= 200);
	/* and one summary with the exact count of the rest */
	assert_int_equal(t.suppressed_records, 1);
	assert_int_equal(t.suppressed_sum, 60000 - t.by_type);
	assert_int_equal(st.suppressed, 60000 - t.by_type);
	assert_true(log_has_type(buf, len, "key.create"));
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	vg_free(buf, len);
}

/* SFR 4.2.9: a normal voice application (a few events a second, bursts of
 * tens) is never suppressed; control: ten times the limit is */
static void test_audit_normal_rate_never_suppressed(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct tally t;

	rate_opts(f, 20, 200);
	open_audit(f);
	/* 10 minutes at 5/s with a burst of 150 every minute */
	for (int s = 0; s < 600; s++) {
		int n = s % 60 == 0 ? 150 : 5;
		for (int i = 0; i < n; i++)
			add_event(f, "key.sign", "success", NULL, 1000, "user");
		g_now_ms += 1000;
		assert_int_equal(vg_audit_flush(f->a), VG_OK);
	}
	do_export(f, &buf, &len);
	tally_export(buf, len, "key.sign", 1000, &t);
	assert_int_equal(t.by_type, 590 * 5 + 10 * 150);
	assert_int_equal(t.suppressed_records, 0);
	vg_free(buf, len);

	/* control: 200/s for 30 s is over the limit */
	for (int s = 0; s < 30; s++) {
		for (int i = 0; i < 200; i++)
			add_event(f, "key.sign", "success", NULL, 1001, "user");
		g_now_ms += 1000;
		assert_int_equal(vg_audit_flush(f->a), VG_OK);
	}
	do_export(f, &buf, &len);
	tally_export(buf, len, "key.sign", 1001, &t);
	assert_true(t.by_type < 200 + 20 * 30 + 1);
	assert_int_equal(t.suppressed_records, 1);
	assert_int_equal(t.suppressed_sum, 6000 - t.by_type);
	vg_free(buf, len);
}

/* SFR 4.2.9: a summary is written when the flooder's bucket allows again
 * (before its next event, in time order) and, during an endless flood, at
 * the latest every summary_every_s; counts are per (uid, type, outcome) */
static void test_audit_suppressed_summary_timing(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_log *l = NULL;
	struct tally t;
	size_t n;

	rate_opts(f, 10, 20);
	f->opts.summary_every_s = 30;
	open_audit(f);
	for (int i = 0; i < 120; i++)
		add_event(f, i % 2 ? "store.get" : "store.put", i % 4 == 1 ? "denied" : "success",
			  NULL, 2000, "user");
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	/* nothing summarised yet: the flood may go on */
	assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM audit_records"), 20);
	/* quiet for 5 s: half the burst is back; the next event brings the
	 * summaries, one per (type, outcome), before it */
	g_now_ms += 5000;
	add_event(f, "store.put", "success", "after the flood", 2000, "user");
	do_export(f, &buf, &len);
	tally_export(buf, len, NULL, 0, &t);
	assert_int_equal(t.suppressed_records, 3);
	assert_int_equal(t.suppressed_sum, 100);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	n = vg_audit_log_count(l);
	assert_string_equal(vg_audit_log_record(l, n - 1)->detail, "after the flood");
	assert_string_equal(vg_audit_log_record(l, n - 2)->type, "audit.suppressed");
	assert_non_null(strstr(vg_audit_log_record(l, n - 2)->detail, "uid 2000: "));
	assert_int_equal(vg_audit_log_record(l, n - 2)->uid, 2000);
	vg_audit_log_free(&l);
	vg_free(buf, len);

	/* an endless flood: a summary at least every 30 s */
	for (int i = 0; i < 95 * 50; i++) {
		add_event(f, "store.get", "success", NULL, 2001, "user");
		g_now_ms += 20; /* 50/s, steadily */
		if (i % 5 == 0)
			assert_int_equal(vg_audit_flush(f->a), VG_OK);
	}
	do_export(f, &buf, &len);
	tally_export(buf, len, "store.get", 2001, &t);
	assert_true(t.suppressed_records >= 3 + 3 && t.suppressed_records <= 3 + 4);
	assert_int_equal(t.suppressed_sum - 100, 95 * 50 - t.by_type);
	vg_free(buf, len);
}

/* SFR 4.2.9: the counters are a fixed table: an attacker cycling through
 * many event types gets them merged into its "other" count, and every
 * suppressed event is still counted exactly */
static void test_audit_suppression_memory_bounded(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct tally t;
	vg_audit_stats st;

	rate_opts(f, 1, 1);
	open_audit(f);
	for (int i = 0; i < 3000; i++) {
		char type[32];
		(void)snprintf(type, sizeof type, "x.t%d", i % 500);
		add_event(f, type, "success", NULL, 3000 + (uint32_t)(i % 3), "user");
	}
	/* more uids than the 64 buckets the table first had: each still
	 * gets its own (it used to share the last one, and with it another
	 * uid's flood, SFR 4.2.10) */
	for (uint32_t u = 0; u < 100; u++) {
		add_event(f, "y.t", "success", NULL, 10000 + u, "user");
		add_event(f, "y.t", "success", NULL, 10000 + u, "user");
	}
	vg_audit_stats_get(f->a, &st);
	do_export(f, &buf, &len);
	tally_export(buf, len, NULL, 0, &t);
	/* at most 128 counters + one "other" per bucket: here the counters
	 * are full (3 uids x 500 types), so each uid has its "other" */
	assert_int_equal(t.suppressed_records, 128 + 3 + 100);
	assert_int_equal(t.suppressed_sum, st.suppressed);
	assert_int_equal(t.n - t.service - t.suppressed_records + st.suppressed, 3000 + 200);
	vg_free(buf, len);
}

/* SFR 4.2.9: exports in format version 1 (written before retention) are
 * still read and verified; an edit in one is still caught */
static void test_audit_reads_format_v1(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *v1 = NULL;
	size_t len = 0, v1_len = 0;
	struct parts p;
	vg_audit_report rep;

	fresh_export(f, 30, &buf, &len);
	parts_load(&p, buf, len);
	assert_int_equal(vg_audit_export_encode_v1(vg_audit_log_id(p.l), p.pub, p.pub_len, p.anchor,
						   p.recs, p.n, p.cps, p.m, &v1, &v1_len),
			 VG_OK);
	assert_int_equal(v1[0], 0x87);
	assert_int_equal(v1[16], 0x01);
	expect_ok(v1, v1_len, f->pub, f->pub_len, NULL, &rep);
	assert_int_equal(rep.records_verified, 30);
	/* control: an edited record in the version 1 export fails */
	v1[find(v1, v1_len, "ev#7#") + 3] = '8';
	expect_bad(v1, v1_len, NULL, 0, NULL, 7);
	vg_free(v1, v1_len);
	parts_free(&p);
	vg_free(buf, len);
}

/* SFR 4.2.9 (issue 11): a flood of 60000 routine events from one uid,
 * limited only by capacity (64 KiB), never pushes out earlier critical
 * records: another uid's key.create and the flooder's own authz.denied stay,
 * the stored size stays under max_bytes plus one record, the dropped
 * sequence numbers are exactly those in the signed summary, and the export
 * verifies with the MAC seed. Control: the routine records are dropped. */
static void test_audit_flood_keeps_critical_records(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, seed[32];
	size_t len = 0, n;
	vg_audit_log *l = NULL;
	vg_audit_report rep;
	vg_audit_stats st;
	const vg_audit_drops *d;
	uint64_t max_seen = 0, expect = 0;
	size_t ri = 0;
	bool key_create = false, denied = false;

	f->opts.max_bytes = 64 * 1024;
	open_audit(f);
	assert_int_equal(vg_audit_take_seed(f->a, seed), VG_OK);
	add_event(f, "key.create", "success", "root's key", 0, "admin");
	add_event(f, "authz.denied", "denied", "flooder", 65534, "user");
	for (int i = 0; i < 60000; i++) {
		add_event(f, "store.get", "success", "routine", 65534, "user");
		if (i % 200 == 0) {
			assert_int_equal(vg_audit_flush(f->a), VG_OK);
			vg_audit_stats_get(f->a, &st);
			if (st.stored_bytes > max_seen)
				max_seen = st.stored_bytes;
		}
	}
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	vg_audit_stats_get(f->a, &st);
	/* capacity in bytes holds (a record is at most ~500 bytes) */
	assert_true(max_seen <= 64 * 1024 + 512);
	assert_int_equal(st.max_bytes, 64 * 1024);
	assert_true(st.dropped > 55000);
	assert_int_equal((long long)st.stored_bytes,
			 sql_int(f,
				 "SELECT (SELECT COALESCE(SUM(length(rec) + length(hash)), 0) FROM "
				 "audit_records) + (SELECT COALESCE(SUM(length(cp)), 0) FROM "
				 "audit_checkpoints) + (SELECT COALESCE(SUM(length(val)), 0) FROM "
				 "audit_state WHERE name IN ('anchor', 'drops'))"));
	assert_true(st.last_drop_to > st.last_drop_from);
	do_export(f, &buf, &len);
	assert_int_equal(vg_audit_log_parse(buf, len, &l), VG_OK);
	n = vg_audit_log_count(l);
	d = vg_audit_log_drops(l);
	assert_non_null(d);
	assert_int_equal(d->total, st.dropped);
	/* every seq is either kept or in exactly one run */
	for (size_t i = 0; i < n; i++) {
		const vg_audit_record *r = vg_audit_log_record(l, i);
		while (ri < d->n_runs && d->runs[ri].from == expect)
			expect = d->runs[ri++].to;
		assert_int_equal(r->seq, expect);
		expect++;
		if (strcmp(r->type, "key.create") == 0 && r->uid == 0)
			key_create = true;
		if (strcmp(r->type, "authz.denied") == 0 && r->uid == 65534)
			denied = true;
	}
	assert_true(key_create);
	assert_true(denied);
	/* the dropped ones are the routine ones */
	assert_int_equal(d->n_types, 1);
	assert_string_equal(d->types[0].type, "store.get");
	assert_int_equal(d->types[0].count, d->total);
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	assert_true(rep.macs_checked);
	assert_int_equal(rep.dropped, st.dropped);
	assert_int_equal(rep.records_verified, n);
	vg_audit_log_free(&l);
	vg_free(buf, len);
	/* reopened: the stored runs and summary are checked and accepted */
	restart(f);
	assert_int_equal(vg_audit_state(f->a), VG_OK);
	vg_wipe(seed, sizeof seed);
}

/* SFR 4.2.9: critical records are pushed out only by critical records,
 * and then the heaviest producer's first: a flood of authz.denied from one
 * uid erases its own old denials, not another uid's key.create */
static void test_audit_critical_dropped_from_heaviest_uid(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct tally t;
	vg_audit_report rep;

	f->opts.max_bytes = 64 * 1024;
	open_audit(f);
	add_event(f, "key.create", "success", "victim's key", 1000, "user");
	for (int i = 0; i < 5000; i++)
		add_event(f, "authz.denied", "denied", NULL, 65534, "user");
	do_export(f, &buf, &len);
	assert_true(log_has_type(buf, len, "key.create"));
	tally_export(buf, len, "authz.denied", 65534, &t);
	assert_true(t.by_type < 5000);
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	assert_true(rep.dropped > 0);
	vg_free(buf, len);
}

/* SFR 4.2.9: the drop summary is signed and tied to the chain: a tampered
 * summary, a run widened over a kept record, a deleted kept record, or a
 * summary removed altogether all fail verification; control: untouched,
 * it verifies */
static void test_audit_drop_summary_tamper(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *bad = NULL;
	size_t len = 0, bad_len = 0;
	struct parts p;
	vg_audit_report rep;
	vg_audit_drops dd;
	const vg_audit_drops *d;

	f->opts.max_records = 40;
	f->opts.checkpoint_every = 8;
	open_audit(f);
	for (int i = 0; i < 100; i++) {
		add_event(f, i % 5 ? "store.get" : "key.create", "success", NULL, 1000, "user");
		assert_int_equal(vg_audit_flush(f->a), VG_OK);
	}
	do_export(f, &buf, &len);
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	parts_load(&p, buf, len);
	d = vg_audit_log_drops(p.l);
	assert_non_null(d);
	assert_true(d->n_runs > 2);

	/* 1. a count edited in the summary */
	dd = *d;
	dd.types = calloc(d->n_types, sizeof *dd.types);
	assert_non_null(dd.types);
	memcpy(dd.types, d->types, d->n_types * sizeof *dd.types);
	dd.runs = calloc(d->n_runs, sizeof *dd.runs);
	assert_non_null(dd.runs);
	memcpy(dd.runs, d->runs, d->n_runs * sizeof *dd.runs);
	dd.first_time--;
	assert_int_equal(vg_audit_export_encode(vg_audit_log_id(p.l), p.pub, p.pub_len, p.anchor,
						&dd, p.recs, p.n, p.cps, p.m, &bad, &bad_len),
			 VG_OK);
	expect_bad(bad, bad_len, NULL, 0, NULL, (int64_t)d->runs[0].from);
	vg_free(bad, bad_len);
	dd.first_time++;

	/* 2. a run narrowed (as if a dropped record had been kept): the
	 * summary's signature no longer holds */
	dd.runs[1].to--;
	dd.total--;
	dd.types[0].count--;
	assert_int_equal(vg_audit_export_encode(vg_audit_log_id(p.l), p.pub, p.pub_len, p.anchor,
						&dd, p.recs, p.n, p.cps, p.m, &bad, &bad_len),
			 VG_OK);
	expect_bad(bad, bad_len, NULL, 0, NULL, (int64_t)d->runs[0].from);
	vg_free(bad, bad_len);

	/* 3. the summary removed: the first run is a sequence break */
	assert_int_equal(vg_audit_export_encode(vg_audit_log_id(p.l), p.pub, p.pub_len, p.anchor,
						NULL, p.recs, p.n, p.cps, p.m, &bad, &bad_len),
			 VG_OK);
	expect_bad(bad, bad_len, NULL, 0, NULL, (int64_t)d->runs[0].from);
	vg_free(bad, bad_len);

	/* 4. a kept record deleted: a sequence break no run covers */
	{
		size_t k = 0;
		int64_t gone;
		while (p.recs[k].seq + 1 != d->runs[1].from)
			k++;
		gone = (int64_t)p.recs[k].seq;
		memmove(&p.recs[k], &p.recs[k + 1], (p.n - k - 1) * sizeof *p.recs);
		p.n--;
		expect_parts_bad(&p, gone);
	}
	free(dd.types);
	free(dd.runs);
	parts_free(&p);
	vg_free(buf, len);

	/* 5. on the device: a kept row deleted offline is caught at open */
	tamper_offline(f,
		       "DELETE FROM audit_records WHERE seq = (SELECT MIN(seq) FROM audit_records)",
		       NULL, 0);
	assert_int_equal(vg_audit_state(f->a), VG_ERR_INTEGRITY);
}

/* Joins the pages of one export (max bytes each), as the client does. */
static size_t export_paged(struct fx *f, size_t max, uint8_t **out, size_t *len)
{
	uint64_t next = 0;
	bool more = true;
	size_t pages = 0;

	*out = NULL;
	*len = 0;
	while (more) {
		uint8_t *pg = NULL;
		size_t pl = 0;
		assert_int_equal(vg_audit_export_page(f->a, next, max, &pg, &pl, &next, &more),
				 VG_OK);
		assert_true(pl <= max);
		*out = realloc(*out, *len + pl + 1);
		assert_non_null(*out);
		memcpy(*out + *len, pg, pl);
		*len += pl;
		vg_free(pg, pl);
		pages++;
	}
	return pages;
}

/* SFR 4.2.9: a log larger than one page exports whole: the pages joined
 * verify, with the seed, across dropped runs; events during the export go
 * to the next one, and retention meanwhile only touches records already
 * handed out, so the joined pages still verify */
static void test_audit_paged_export(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = NULL, *whole = NULL, seed[32];
	size_t len = 0, wlen = 0, pages;
	vg_audit_report rep;
	uint64_t next = 0;
	bool more = true;

	f->opts.max_bytes = 64 * 1024;
	open_audit(f);
	assert_int_equal(vg_audit_take_seed(f->a, seed), VG_OK);
	for (int i = 0; i < 3000; i++)
		add_event(f, i % 10 ? "store.get" : "key.create", "success", NULL, 1000, "user");
	pages = export_paged(f, 4096, &buf, &len);
	assert_true(pages > 10);
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	assert_true(rep.dropped > 0);
	/* control: the one-piece export says the same */
	do_export(f, &whole, &wlen);
	expect_ok(whole, wlen, f->pub, f->pub_len, seed, &rep);
	vg_free(whole, wlen);
	vg_free(buf, len);

	/* a flood between pages, forcing compactions, does not break it */
	buf = NULL;
	len = 0;
	while (more) {
		uint8_t *pg = NULL;
		size_t pl = 0;
		assert_int_equal(vg_audit_export_page(f->a, next, 4096, &pg, &pl, &next, &more),
				 VG_OK);
		buf = realloc(buf, len + pl + 1);
		assert_non_null(buf);
		memcpy(buf + len, pg, pl);
		len += pl;
		vg_free(pg, pl);
		for (int i = 0; i < 200; i++)
			add_event(f, "store.get", "success", NULL, 1001, "user");
		assert_int_equal(vg_audit_flush(f->a), VG_OK);
	}
	expect_ok(buf, len, f->pub, f->pub_len, seed, &rep);
	vg_free(buf, len);
	vg_wipe(seed, sizeof seed);
}

/* SFR 4.2.9 (fault): page requests out of order, past the end, inside a
 * dropped run, without an export in progress, or too small are refused
 * without harm; control: the export then restarts and verifies */
static void test_audit_paged_export_faults(void **state)
{
	struct fx *f = *state;
	uint8_t *pg = NULL, *buf = NULL;
	size_t pl = 0, len = 0;
	uint64_t next = 0;
	bool more = false;
	vg_audit_report rep;
	vg_audit_stats st;

	f->opts.max_bytes = 64 * 1024;
	open_audit(f);
	for (int i = 0; i < 2000; i++)
		add_event(f, i % 10 ? "store.get" : "key.create", "success", NULL, 1000, "user");
	assert_int_equal(vg_audit_flush(f->a), VG_OK);
	vg_audit_stats_get(f->a, &st);
	assert_true(st.last_drop_to > st.last_drop_from);
	/* no export in progress */
	assert_int_equal(vg_audit_export_page(f->a, 5, 32768, &pg, &pl, &next, &more),
			 VG_ERR_STATE);
	assert_null(pg);
	/* too small for anything */
	assert_int_equal(vg_audit_export_page(f->a, 0, 100, &pg, &pl, &next, &more),
			 VG_ERR_INVALID);
	assert_int_equal(vg_audit_export_page(f->a, 0, 32768, &pg, &pl, &next, &more), VG_OK);
	assert_true(more);
	vg_free(pg, pl);
	/* past the end, and inside a dropped run, and backwards */
	assert_int_equal(
	    vg_audit_export_page(f->a, vg_audit_next_seq(f->a) + 10, 32768, &pg, &pl, &next, &more),
	    VG_ERR_INVALID);
	assert_int_equal(
	    vg_audit_export_page(f->a, st.last_drop_from + 1, 32768, &pg, &pl, &next, &more),
	    VG_ERR_INVALID);
	assert_null(pg);
	/* control: the export restarts from 0 and verifies whole */
	(void)export_paged(f, 32768, &buf, &len);
	expect_ok(buf, len, f->pub, f->pub_len, NULL, &rep);
	vg_free(buf, len);
	/* after the last page there is nothing to continue */
	assert_int_equal(vg_audit_export_page(f->a, 1, 32768, &pg, &pl, &next, &more),
			 VG_ERR_STATE);
}

/* Every test runs on a fresh fixture (setup, teardown). */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_audit_roundtrip),
	    T(test_audit_invalid_event),
	    T(test_audit_group_commit),
	    T(test_audit_queue_forces_flush),
	    T(test_audit_flush_failure_retries),
	    T(test_audit_edit_byte),
	    T(test_audit_every_bit_flip_detected),
	    T(test_audit_delete_record),
	    T(test_audit_reorder_records),
	    T(test_audit_truncate_records_only),
	    T(test_audit_truncate_tail_and_checkpoint),
	    T(test_audit_forged_checkpoint_signature),
	    T(test_audit_wrong_pinned_key),
	    T(test_audit_mac_with_seed),
	    T(test_audit_take_seed_once),
	    T(test_audit_rotation),
	    T(test_sfr4212_audit_truncate_links_new_log),
	    T(test_audit_persistence),
	    T(test_audit_unsealed_shutdown_recorded),
	    T(test_audit_tampered_row_detected_at_open),
	    T(test_audit_deleted_row_detected_at_open),
	    T(test_audit_forged_row_quarantined),
	    T(test_audit_db_refused_stays_in_memory),
	    T(test_audit_open_key_checks),
	    T(test_audit_parser_rejects),
	    T(test_audit_reads_format_v1),
	    T(test_audit_flood_is_summarised),
	    T(test_audit_flood_keeps_critical_records),
	    T(test_audit_critical_dropped_from_heaviest_uid),
	    T(test_audit_drop_summary_tamper),
	    T(test_audit_paged_export),
	    T(test_audit_paged_export_faults),
	    T(test_audit_normal_rate_never_suppressed),
	    T(test_audit_suppressed_summary_timing),
	    T(test_audit_suppression_memory_bounded),
	};

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
