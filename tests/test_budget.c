/*
 * test_budget.c - per-uid budgets of shared resources (src/daemon/budget.h).
 *
 * SFR 4.2.10 (an application cannot compromise the others) and AVS 1.2:
 * every shared resource is budgeted per uid; a uid rule beats a group rule
 * beats the default; root and the service stay finite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/budget.h"
#include "helpers.h"

static vg_budget_table table_of(const char *text)
{
	vg_config c;
	vg_budget_table t;
	char err[128] = "";

	vg_config_defaults(&c);
	if (vg_config_parse(&c, text, strlen(text), err, sizeof err) != VG_OK)
		fail_msg("config: %s", err);
	if (vg_budget_table_init(&t, &c, 999, err, sizeof err) != VG_OK)
		fail_msg("table: %s", err);
	return t;
}

static vg_peer peer_of(uint32_t uid, uint32_t gid)
{
	vg_peer p;

	memset(&p, 0, sizeof p);
	p.uid = uid;
	p.gid = gid;
	p.pid = 1234;
	return p;
}

/* SFR 4.2.10: without rules an application gets the documented defaults,
 * enough for one maximum-size record in flight. */
static void test_budget_defaults(void **state)
{
	vg_budget b;
	vg_peer p = peer_of(1000, 1000);

	(void)state;
	vg_budget_for(NULL, &p, &b);
	assert_int_equal(b.conns, VG_BUDGET_DEF_CONNS);
	assert_true(b.inflight_bytes >= VG_WIRE_MAX_MSG);
	assert_int_equal(b.idle_ms, VG_BUDGET_DEF_IDLE_MS);
	assert_int_equal(b.store_records, VG_BUDGET_DEF_STORE_RECORDS);
	assert_int_equal(b.store_bytes, VG_BUDGET_DEF_STORE_BYTES);
	assert_int_equal(b.keys, VG_BUDGET_DEF_KEYS);
	assert_int_equal(b.heavy_ops, VG_BUDGET_DEF_HEAVY_OPS);
}

/* SFR 4.2.10: root and the service's own uid get more, but finite
 * connections and buffered bytes. */
static void test_budget_privileged_generous_but_finite(void **state)
{
	vg_budget_table t = table_of("budget.default.conns = 2\n");
	vg_budget b;
	vg_peer root = peer_of(0, 0), svc = peer_of(999, 999), app = peer_of(1000, 1000);

	(void)state;
	vg_budget_for(&t, &root, &b);
	assert_int_equal(b.conns, VG_BUDGET_PRIV_CONNS);
	assert_true(b.conns > VG_BUDGET_DEF_CONNS);
	assert_true(b.inflight_bytes > VG_BUDGET_DEF_INFLIGHT_BYTES);
	assert_true(b.inflight_bytes < UINT64_C(1) << 30);
	vg_budget_for(&t, &svc, &b);
	assert_int_equal(b.conns, VG_BUDGET_PRIV_CONNS);
	/* The default rule applies to applications only. */
	vg_budget_for(&t, &app, &b);
	assert_int_equal(b.conns, 2);
}

/* SFR 4.2.10: a uid rule beats a group rule beats the default, each per
 * resource. */
static void test_budget_precedence(void **state)
{
	vg_budget_table t = table_of("budget.default.conns = 3\n"
				     "budget.default.keys = 5\n"
				     "budget.group.root.conns = 10\n"
				     "budget.uid.1000.conns = 20\n"
				     "budget.uid.0.conns = 7\n");
	vg_budget b;
	vg_peer in_grp = peer_of(1001, 0), uid_and_grp = peer_of(1000, 0),
		plain = peer_of(1002, 1002);
	vg_peer root = peer_of(0, 0);

	(void)state;
	vg_budget_for(&t, &plain, &b);
	assert_int_equal(b.conns, 3);
	assert_int_equal(b.keys, 5);
	assert_int_equal(b.idle_ms, VG_BUDGET_DEF_IDLE_MS);
	vg_budget_for(&t, &in_grp, &b);
	assert_int_equal(b.conns, 10);
	assert_int_equal(b.keys, 5);
	vg_budget_for(&t, &uid_and_grp, &b);
	assert_int_equal(b.conns, 20);
	/* A uid rule names root too; group rules do not reach it. */
	vg_budget_for(&t, &root, &b);
	assert_int_equal(b.conns, 7);
	assert_int_equal(b.keys, VG_BUDGET_PRIV_KEYS);
}

/* SFR 4.2.10: supplementary groups count; of several matching group rules
 * the most generous wins. */
static void test_budget_supplementary_groups(void **state)
{
	vg_budget_table t;
	vg_budget b;
	vg_peer p = peer_of(1000, 1000);

	(void)state;
	memset(&t, 0, sizeof t);
	t.service_uid = 999;
	t.n = 2;
	t.r[0].scope = VG_BUDGET_SCOPE_GROUP;
	t.r[0].res = VG_BUDGET_CONNS;
	t.r[0].id = 50;
	t.r[0].value = 12;
	t.r[1].scope = VG_BUDGET_SCOPE_GROUP;
	t.r[1].res = VG_BUDGET_CONNS;
	t.r[1].id = 51;
	t.r[1].value = 16;
	vg_budget_for(&t, &p, &b);
	assert_int_equal(b.conns, VG_BUDGET_DEF_CONNS);
	p.n_groups = 2;
	p.groups[0] = 7;
	p.groups[1] = 50;
	vg_budget_for(&t, &p, &b);
	assert_int_equal(b.conns, 12);
	p.groups[0] = 51;
	vg_budget_for(&t, &p, &b);
	assert_int_equal(b.conns, 16);
}

/* SFR 4.2.10: a rule naming a group that does not exist stops the start. */
static void test_budget_unknown_group_rejected(void **state)
{
	vg_config c;
	vg_budget_table t;
	char err[128] = "";
	const char *text = "budget.group.no-such-group-vg.conns = 4\n";

	(void)state;
	vg_config_defaults(&c);
	assert_int_equal(vg_config_parse(&c, text, strlen(text), err, sizeof err), VG_OK);
	assert_int_equal(vg_budget_table_init(&t, &c, 999, err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "no-such-group-vg"));
}

static bool fake_meter(void *ctx, uint32_t uid, vg_budget_use *use, vg_budget *limit)
{
	(void)ctx;
	use->conns = uid == 1001 ? 3 : 0;
	use->inflight_bytes = uid == 1001 ? 4096 : 0;
	if (limit && uid == 1001) {
		memset(limit, 0, sizeof *limit);
		limit->conns = 42;
		return true;
	}
	return false;
}

/* SFR 4.2.10: a caller sees its own budget and use; only an admin sees
 * another uid's. */
static void test_budget_report_own_and_admin(void **state)
{
	vg_budget_table t = table_of("budget.uid.1002.conns = 9\n");
	vg_budget_meter m = {.fn = fake_meter};
	vg_budget lim;
	vg_budget_use use;
	vg_peer alice = peer_of(1001, 1001), admin = peer_of(1003, 1003);

	(void)state;
	assert_int_equal(vg_budget_report(&t, &m, &alice, 1001, &lim, &use), VG_OK);
	assert_int_equal(use.conns, 3);
	assert_int_equal(use.inflight_bytes, 4096);
	assert_int_equal(lim.conns, VG_BUDGET_DEF_CONNS);
	assert_int_equal(vg_budget_report(&t, &m, &alice, 1002, &lim, &use), VG_ERR_DENIED);
	admin.admin = true;
	assert_int_equal(vg_budget_report(&t, &m, &admin, 1001, &lim, &use), VG_OK);
	assert_int_equal(lim.conns, 42); /* as resolved for its connection */
	assert_int_equal(vg_budget_report(&t, &m, &admin, 1002, &lim, &use), VG_OK);
	assert_int_equal(lim.conns, 9); /* no connection: uid rules and defaults */
	assert_int_equal(use.conns, 0);
	assert_int_equal(vg_budget_report(&t, NULL, &admin, 1002, &lim, &use), VG_OK);
}

/* SFR 4.2.10: the write and request rates (store_write_rate,
 * request_rate). A uid's bucket holds 4 s of its rate; a write is allowed
 * while it is not in debt and then takes its whole cost (one write larger
 * than the burst passes, the average holds); refused with the time until
 * it may; refilled with time; kept per uid, so another uid is unaffected
 * and the bucket outlives the uid's connections (the table is the
 * service's, not a connection's). */
static void test_budget_rates(void **state)
{
	static vg_rate_table t;
	uint64_t retry = 0, now = 1000, rate = 1000; /* bytes per second */

	(void)state;
	memset(&t, 0, sizeof t);
	/* A fresh uid has the whole burst: 4 s of writes. */
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now, &retry), VG_OK);
	vg_budget_rate_charge(&t, 10, rate, 3000, now);
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now, &retry), VG_OK);
	/* One write larger than what is left passes, then a debt of 2 s. */
	vg_budget_rate_charge(&t, 10, rate, 3000, now);
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now, &retry), VG_ERR_QUOTA);
	assert_true(retry >= 2000 && retry <= 2001);
	/* Another uid is not affected. */
	assert_int_equal(vg_budget_rate_check(&t, 11, rate, now, &retry), VG_OK);
	/* Still refused just before the debt is repaid, allowed after. */
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now + 1999, &retry), VG_ERR_QUOTA);
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now + 2001, &retry), VG_OK);
	/* Each bucket refills at its own uid's rate, also when another
	 * uid's lookup (here a privileged rate) passes over it: uid 10's
	 * 2 s debt is not repaid early. */
	vg_budget_rate_charge(&t, 10, rate, 2000, now + 2001);
	assert_int_equal(vg_budget_rate_check(&t, 0, 16 * rate, now + 2501, &retry), VG_OK);
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now + 3001, &retry), VG_ERR_QUOTA);
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now + 4002, &retry), VG_OK);
	/* The refill stops at the burst: 100 s later still 4 s' worth. */
	now += 100000;
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now, &retry), VG_OK);
	vg_budget_rate_charge(&t, 10, rate, 4000, now);
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now, &retry), VG_ERR_QUOTA);
	/* More uids than buckets: a full bucket is handed on, and the table
	 * grows for uids in debt. Uid 11's full bucket went to one of the 64
	 * new uids, all in debt now with uid 10: a newcomer (500) still has
	 * its own whole burst (it used to share the 64th uid's debt). */
	for (uint32_t u = 100; u < 164; u++) {
		assert_int_equal(vg_budget_rate_check(&t, u, rate, now, &retry), VG_OK);
		vg_budget_rate_charge(&t, u, rate, 5000, now);
	}
	assert_int_equal(vg_budget_rate_check(&t, 10, rate, now, &retry), VG_ERR_QUOTA);
	assert_int_equal(vg_budget_rate_check(&t, 163, rate, now, &retry), VG_ERR_QUOTA);
	assert_int_equal(vg_budget_rate_check(&t, 500, rate, now, &retry), VG_OK);
	/* Nor does a privileged uid share anyone's debt. */
	assert_int_equal(vg_budget_rate_check(&t, 0, 16 * rate, now, &retry), VG_OK);
	/* Once the buckets refill, each is handed on again: the table does
	 * not grow for uids that are not in debt. */
	{
		size_t n = t.n;
		for (uint32_t u = 1000; u < 1200; u++) {
			assert_int_equal(vg_budget_rate_check(&t, u, rate, now + 10000, &retry),
					 VG_OK);
			vg_budget_rate_charge(&t, u, rate, 1, now + 10000);
			now += 1000000; /* each refilled before the next uid comes */
		}
		assert_int_equal(t.n, n);
	}
	/* Only past VG_BUDGET_RATE_MAX_UIDS uids in debt at once do
	 * newcomers share the last bucket. */
	for (uint32_t u = 10000; u < 10000 + VG_BUDGET_RATE_MAX_UIDS; u++) {
		assert_int_equal(vg_budget_rate_check(&t, u, rate, now, &retry), VG_OK);
		vg_budget_rate_charge(&t, u, rate, 5000, now);
	}
	assert_int_equal(t.n, VG_BUDGET_RATE_MAX_UIDS);
	assert_int_equal(vg_budget_rate_check(&t, 20000, rate, now, &retry), VG_OK);
	vg_budget_rate_charge(&t, 20000, rate, 5000, now);
	assert_int_equal(vg_budget_rate_check(&t, 20001, rate, now, &retry), VG_ERR_QUOTA);
	vg_budget_rate_free(&t);
	assert_null(t.b);
	vg_budget_rate_free(NULL);
}

/* SFR 4.2.10: the rates' defaults, and the configuration names them. */
static void test_budget_rate_defaults(void **state)
{
	vg_peer app = {.uid = 1000, .gid = 1000}, root = {0};
	vg_budget b;

	(void)state;
	vg_budget_for(NULL, &app, &b);
	assert_int_equal(b.store_rate, VG_BUDGET_DEF_STORE_RATE);
	assert_int_equal(b.request_rate, VG_BUDGET_DEF_REQUEST_RATE);
	vg_budget_for(NULL, &root, &b);
	assert_int_equal(b.store_rate, VG_BUDGET_PRIV_STORE_RATE);
	assert_int_equal(b.request_rate, VG_BUDGET_PRIV_REQUEST_RATE);
	assert_string_equal(vg_config_budget_res_name(VG_BUDGET_STORE_RATE), "store_write_rate");
	assert_string_equal(vg_config_budget_res_name(VG_BUDGET_REQUEST_RATE), "request_rate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget_defaults),
	    cmocka_unit_test(test_budget_privileged_generous_but_finite),
	    cmocka_unit_test(test_budget_precedence),
	    cmocka_unit_test(test_budget_supplementary_groups),
	    cmocka_unit_test(test_budget_unknown_group_rejected),
	    cmocka_unit_test(test_budget_report_own_and_admin),
	    cmocka_unit_test(test_budget_rates),
	    cmocka_unit_test(test_budget_rate_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
