/*
 * test_netpolicy.c - the endpoint list as nftables rules
 * (src/netpolicy/netpolicy.h; SFR 4.2.8).
 *
 * SFR 4.2.8: each application (uid or systemd unit) may reach only its
 * endpoints' (address, port) pairs and DNS at the configured resolvers;
 * the rest it sends is dropped and counted; others are left alone or
 * dropped as the option says. The ruleset is golden text (reviewed by
 * hand, and loaded by nft in test_sfr428_netpolicy.sh); nothing hostile
 * from the list (a unit name with a quote or a newline) reaches it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"
#include "netpolicy/netpolicy.h"
#include "tls/endpoint.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static vg_np_addr A(const char *s)
{
	vg_np_addr a;
	assert_true(vg_np_addr_parse(s, &a));
	return a;
}

static vg_endpoint ep(const char *name, const char *host, uint16_t port)
{
	vg_endpoint e;
	memset(&e, 0, sizeof e);
	(void)snprintf(e.name, sizeof e.name, "%s", name);
	(void)snprintf(e.host, sizeof e.host, "%s", host);
	e.port = port;
	return e;
}

static void add_uid(vg_endpoint *e, uint32_t uid)
{
	e->uids[e->n_uids++] = uid;
}

static void add_unit(vg_endpoint *e, const char *unit)
{
	(void)snprintf(e->units[e->n_units], sizeof e->units[0], "%s", unit);
	e->n_units++;
}

static const vg_np_opts accept_opts = {.default_drop = false};

static char *render_ok(const vg_endpoint *eps, const vg_np_host *hosts, size_t n,
		       const vg_np_addr *res, size_t n_res, const vg_np_opts *o)
{
	char why[256] = "", *out = NULL;
	vg_rc rc = vg_netpolicy_render(eps, hosts, n, res, n_res, o, &out, why, sizeof why);
	if (rc != VG_OK)
		fail_msg("render: %s (%s)", vg_rc_str(rc), why);
	assert_non_null(out);
	return out;
}

static void render_refused(const vg_endpoint *eps, const vg_np_host *hosts, size_t n,
			   const vg_np_opts *o, vg_rc want)
{
	char why[256] = "", *out = (char *)"x";
	vg_rc rc = vg_netpolicy_render(eps, hosts, n, NULL, 0, o, &out, why, sizeof why);
	assert_int_equal(rc, want);
	assert_null(out);
	assert_true(why[0] != '\0');
}

static void assert_text(const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("ruleset differs:\n--- got ---\n%s\n--- want ---\n%s", got, want);
}

#define HEAD                                                                                      \
	"# voxguard netpolicy (SFR 4.2.8): made by `voxguard netpolicy apply` from the endpoint " \
	"list; do not edit.\n"                                                                    \
	"# One transaction: the old table stays until this one is whole.\n"                       \
	"table inet voxguard\n"                                                                   \
	"delete table inet voxguard\n"                                                            \
	"table inet voxguard {\n"

#define OUTPUT_HEAD                                                     \
	"\tchain output {\n"                                            \
	"\t\ttype filter hook output priority filter; policy accept;\n" \
	"\t\toifname \"lo\" accept\n"

/* ------------------------------------------------------------------ */
/* Golden rulesets                                                      */

/* SFR 4.2.8: two uids, IPv4 and IPv6, two endpoints sharing uid 1001,
 * resolvers of both families: each uid gets a concatenated (address .
 * port) set per family, DNS to the resolvers, a counted drop; everyone
 * else is untouched (default accept). */
static void test_sfr428_netpolicy_golden_uids_v4_v6(void **state)
{
	vg_endpoint e[2] = {ep("avs", "avs.example", 443), ep("metrics", "m.example", 8443)};
	vg_np_addr a0[] = {A("198.51.100.7"), A("2001:db8::7"), A("198.51.100.2")};
	vg_np_addr a1[] = {A("203.0.113.9")};
	vg_np_host h[2] = {{a0, 3}, {a1, 1}};
	vg_np_addr res[] = {A("2001:db8::53"), A("198.51.100.53")};
	char *t;

	(void)state;
	add_uid(&e[0], 1002);
	add_uid(&e[0], 1001);
	add_uid(&e[1], 1001);
	t = render_ok(e, h, 2, res, 2, &accept_opts);
	assert_text(t,
		    HEAD "\tcounter drop_uid_1001 {\n\t\tcomment \"uid 1001\"\n\t}\n"
			 "\tcounter drop_uid_1002 {\n\t\tcomment \"uid 1002\"\n\t}\n"
			 "\tset allow4_uid_1001 {\n"
			 "\t\ttype ipv4_addr . inet_service\n"
			 "\t\telements = {\n"
			 "\t\t\t198.51.100.2 . 443,\n"
			 "\t\t\t198.51.100.7 . 443,\n"
			 "\t\t\t203.0.113.9 . 8443\n"
			 "\t\t}\n\t}\n"
			 "\tset allow6_uid_1001 {\n"
			 "\t\ttype ipv6_addr . inet_service\n"
			 "\t\telements = {\n"
			 "\t\t\t2001:db8::7 . 443\n"
			 "\t\t}\n\t}\n"
			 "\tset allow4_uid_1002 {\n"
			 "\t\ttype ipv4_addr . inet_service\n"
			 "\t\telements = {\n"
			 "\t\t\t198.51.100.2 . 443,\n"
			 "\t\t\t198.51.100.7 . 443\n"
			 "\t\t}\n\t}\n"
			 "\tset allow6_uid_1002 {\n"
			 "\t\ttype ipv6_addr . inet_service\n"
			 "\t\telements = {\n"
			 "\t\t\t2001:db8::7 . 443\n"
			 "\t\t}\n\t}\n"
			 "\tset dns4 {\n\t\ttype ipv4_addr\n\t\telements = { 198.51.100.53 }\n\t}\n"
			 "\tset dns6 {\n\t\ttype ipv6_addr\n\t\telements = { 2001:db8::53 }\n\t}\n"
			 "\tchain allow_uid_1001 {\n"
			 "\t\tip daddr . tcp dport @allow4_uid_1001 accept\n"
			 "\t\tip6 daddr . tcp dport @allow6_uid_1001 accept\n"
			 "\t\tip daddr @dns4 meta l4proto { tcp, udp } th dport 53 accept\n"
			 "\t\tip6 daddr @dns6 meta l4proto { tcp, udp } th dport 53 accept\n"
			 "\t}\n"
			 "\tchain allow_uid_1002 {\n"
			 "\t\tip daddr . tcp dport @allow4_uid_1002 accept\n"
			 "\t\tip6 daddr . tcp dport @allow6_uid_1002 accept\n"
			 "\t\tip daddr @dns4 meta l4proto { tcp, udp } th dport 53 accept\n"
			 "\t\tip6 daddr @dns6 meta l4proto { tcp, udp } th dport 53 accept\n"
			 "\t}\n" OUTPUT_HEAD
			 "\t\tmeta skuid vmap { 1001 : jump allow_uid_1001, 1002 : jump "
			 "allow_uid_1002 }\n"
			 "\t\tmeta skuid 1001 counter name \"drop_uid_1001\" drop\n"
			 "\t\tmeta skuid 1002 counter name \"drop_uid_1002\" drop\n"
			 "\t}\n}\n");
	free(t);
}

/* SFR 4.2.8: a systemd unit (socket cgroupv2 on its cgroup, here on a
 * hybrid hierarchy) beside a uid, default drop with an exempt uid: the
 * unit's and the uid's allow rules come before either's drop (a process
 * that is both reaches the endpoints of either), and everyone else but
 * root and the exempt uid is dropped and counted, except replies of
 * connections the input side accepted. No resolvers: no DNS rule (glibc
 * asks 127.0.0.1, which loopback covers). */
static void test_sfr428_netpolicy_golden_unit_default_drop(void **state)
{
	vg_endpoint e[1] = {ep("avs", "avs.example", 443)};
	vg_np_addr a0[] = {A("198.51.100.7")};
	vg_np_host h[1] = {{a0, 1}};
	uint32_t ex[] = {105, 0, 105};
	vg_np_opts o = {.default_drop = true,
			.exempt_uids = ex,
			.n_exempt = 3,
			.cgroup_root = "unified",
			.slice = "system.slice"};
	char *t;

	(void)state;
	add_unit(&e[0], "avs-voice.service");
	add_uid(&e[0], 1001);
	t = render_ok(e, h, 1, NULL, 0, &o);
	assert_text(t,
		    HEAD "\tcounter drop_unit_0 {\n\t\tcomment \"unit avs-voice.service\"\n\t}\n"
			 "\tcounter drop_uid_1001 {\n\t\tcomment \"uid 1001\"\n\t}\n"
			 "\tcounter drop_other {\n\t\tcomment \"uids no endpoint lists (default "
			 "drop)\"\n\t}\n"
			 "\tset allow4_unit_0 {\n"
			 "\t\ttype ipv4_addr . inet_service\n"
			 "\t\telements = {\n"
			 "\t\t\t198.51.100.7 . 443\n"
			 "\t\t}\n\t}\n"
			 "\tset allow4_uid_1001 {\n"
			 "\t\ttype ipv4_addr . inet_service\n"
			 "\t\telements = {\n"
			 "\t\t\t198.51.100.7 . 443\n"
			 "\t\t}\n\t}\n"
			 "\tchain allow_unit_0 {\n"
			 "\t\tip daddr . tcp dport @allow4_unit_0 accept\n"
			 "\t}\n"
			 "\tchain allow_uid_1001 {\n"
			 "\t\tip daddr . tcp dport @allow4_uid_1001 accept\n"
			 "\t}\n" OUTPUT_HEAD
			 "\t\tsocket cgroupv2 level 2 \"unified/system.slice/avs-voice.service\" "
			 "jump allow_unit_0\n"
			 "\t\tmeta skuid vmap { 1001 : jump allow_uid_1001 }\n"
			 "\t\tsocket cgroupv2 level 2 \"unified/system.slice/avs-voice.service\" "
			 "counter name \"drop_unit_0\" drop\n"
			 "\t\tmeta skuid 1001 counter name \"drop_uid_1001\" drop\n"
			 "\t\tct state established,related accept\n"
			 "\t\tmeta skuid != { 0, 105 } counter name \"drop_other\" drop\n"
			 "\t}\n}\n");
	free(t);

	/* A unified hierarchy and a nested slice: the level counts the
	 * slices and the unit, never the mount. */
	o.cgroup_root = "";
	o.slice = "voice.slice/avs.slice";
	t = render_ok(e, h, 1, NULL, 0, &o);
	assert_non_null(strstr(t,
			       "\t\tsocket cgroupv2 level 3 "
			       "\"voice.slice/avs.slice/avs-voice.service\" jump allow_unit_0\n"));
	free(t);
}

/* SFR 4.2.8: a slice covers every unit in it: its cgroup is nested by
 * its dashes as systemd nests it, at its own level (the rule matches the
 * ancestor at that level), and the configured slice does not apply. */
static void test_sfr428_netpolicy_slice(void **state)
{
	vg_endpoint e[1] = {ep("avs", "avs.example", 443)};
	vg_np_addr a0[] = {A("198.51.100.7")};
	vg_np_host h[1] = {{a0, 1}};
	vg_np_opts o = {.cgroup_root = "", .slice = "other.slice"};
	char path[512], *t;
	size_t level = 0;

	(void)state;
	assert_int_equal(
	    vg_netpolicy_unit_cgroup(NULL, "voice-avs-x.slice", path, sizeof path, &level), VG_OK);
	assert_string_equal(path, "voice.slice/voice-avs.slice/voice-avs-x.slice");
	assert_int_equal(level, 3);
	assert_int_equal(vg_netpolicy_unit_cgroup(NULL, "voice.slice", path, sizeof path, &level),
			 VG_OK);
	assert_string_equal(path, "voice.slice");
	assert_int_equal(level, 1);
	assert_int_equal(vg_netpolicy_unit_cgroup(NULL, "a.service", path, sizeof path, &level),
			 VG_OK);
	assert_string_equal(path, "system.slice/a.service");
	assert_int_equal(level, 2);
	assert_int_equal(vg_netpolicy_unit_cgroup(NULL, "voice-avs.slice", path, 12, &level),
			 VG_ERR_TOO_LARGE);
	assert_int_equal(
	    vg_netpolicy_unit_cgroup("a\".slice", "a.service", path, sizeof path, &level),
	    VG_ERR_INVALID);
	add_unit(&e[0], "voice-avs.slice");
	t = render_ok(e, h, 1, NULL, 0, &o);
	assert_non_null(strstr(t, "\t\tsocket cgroupv2 level 2 \"voice.slice/voice-avs.slice\" "
				  "jump allow_unit_0\n"));
	free(t);
	/* an empty part is no slice systemd makes */
	assert_false(vg_netpolicy_unit_valid("a--b.slice"));
	assert_false(vg_netpolicy_unit_valid("a-.slice"));
	assert_false(vg_netpolicy_unit_valid("-.slice"));
}

/* SFR 4.2.8: no endpoints: the table holds loopback only (default
 * accept: nothing is restricted), or drops every non-root uid (default
 * drop); either way the old table is replaced. */
static void test_sfr428_netpolicy_golden_no_endpoints(void **state)
{
	vg_np_addr res[] = {A("198.51.100.53")};
	vg_np_opts drop = {.default_drop = true};
	char *t;

	(void)state;
	t = render_ok(NULL, NULL, 0, res, 1, &accept_opts);
	assert_text(t, HEAD OUTPUT_HEAD "\t}\n}\n");
	free(t);
	t = render_ok(NULL, NULL, 0, res, 1, &drop);
	assert_text(t, HEAD "\tcounter drop_other {\n\t\tcomment \"uids no endpoint lists "
			    "(default drop)\"\n\t}\n" OUTPUT_HEAD
			    "\t\tct state established,related accept\n"
			    "\t\tmeta skuid != { 0 } counter name \"drop_other\" drop\n"
			    "\t}\n}\n");
	free(t);
}

/* ------------------------------------------------------------------ */
/* Semantics                                                            */

/* SFR 4.2.8: one endpoint's port is never opened on another endpoint's
 * address (the set pairs them), the same pair from two endpoints is one
 * element, and an application reaches only what is listed for it. */
static void test_sfr428_netpolicy_pairs_not_product(void **state)
{
	vg_endpoint e[3] = {ep("a", "a.example", 443), ep("b", "b.example", 8883),
			    ep("c", "c.example", 443)};
	vg_np_addr a0[] = {A("198.51.100.1")}, a1[] = {A("198.51.100.2")},
		   a2[] = {A("198.51.100.1")};
	vg_np_host h[3] = {{a0, 1}, {a1, 1}, {a2, 1}};
	char *t;

	(void)state;
	add_uid(&e[0], 1001);
	add_uid(&e[1], 1001);
	add_uid(&e[2], 1001);
	add_uid(&e[2], 1002);
	t = render_ok(e, h, 3, NULL, 0, &accept_opts);
	assert_non_null(strstr(t, "\t\t\t198.51.100.1 . 443,\n\t\t\t198.51.100.2 . 8883\n"));
	/* the cross products are absent */
	assert_null(strstr(t, "198.51.100.1 . 8883"));
	assert_null(strstr(t, "198.51.100.2 . 443"));
	/* uid 1002: c only */
	assert_non_null(strstr(t, "\tset allow4_uid_1002 {\n\t\ttype ipv4_addr . inet_service\n"
				  "\t\telements = {\n\t\t\t198.51.100.1 . 443\n\t\t}\n\t}\n"));
	free(t);
}

/* SFR 4.2.8: a name with many addresses: all of them, sorted, duplicates
 * merged, up to VG_NP_MAX_ADDRS; one more is refused (the CLI keeps the
 * first VG_NP_MAX_ADDRS and says so). */
static void test_sfr428_netpolicy_many_addresses(void **state)
{
	vg_endpoint e[1] = {ep("cdn", "cdn.example", 443)};
	vg_np_addr a[VG_NP_MAX_ADDRS + 1];
	vg_np_host h[1] = {{a, VG_NP_MAX_ADDRS}};
	char *t, buf[64];
	size_t count = 0;

	(void)state;
	add_uid(&e[0], 1001);
	for (size_t i = 0; i < VG_NP_MAX_ADDRS + 1; i++) {
		if (i % 2)
			(void)snprintf(buf, sizeof buf, "2001:db8::%zx", VG_NP_MAX_ADDRS - i);
		else
			(void)snprintf(buf, sizeof buf, "203.0.113.%zu", VG_NP_MAX_ADDRS - i);
		a[i] = A(buf);
	}
	a[5] = a[3]; /* a duplicate */
	t = render_ok(e, h, 1, NULL, 0, &accept_opts);
	for (const char *p = t; (p = strstr(p, " . 443")) != NULL; p++)
		count++;
	assert_int_equal(count, VG_NP_MAX_ADDRS - 1);
	/* sorted: the lowest IPv4 address first, IPv4 before IPv6 */
	assert_non_null(
	    strstr(t, "elements = {\n\t\t\t203.0.113.2 . 443,\n\t\t\t203.0.113.4 . 443,"));
	assert_true(strstr(t, "allow4_uid_1001") < strstr(t, "allow6_uid_1001"));
	free(t);
	h[0].n = VG_NP_MAX_ADDRS + 1;
	render_refused(e, h, 1, &accept_opts, VG_ERR_TOO_LARGE);
}

/* SFR 4.2.8: an endpoint whose host did not resolve is reachable by
 * nobody (fail closed): its application keeps DNS, and drops the rest. */
static void test_sfr428_netpolicy_unresolved_fails_closed(void **state)
{
	vg_endpoint e[1] = {ep("gone", "gone.example", 443)};
	vg_np_host h[1] = {{NULL, 0}};
	vg_np_addr res[] = {A("198.51.100.53")};
	char *t;

	(void)state;
	add_uid(&e[0], 1001);
	t = render_ok(e, h, 1, res, 1, &accept_opts);
	assert_null(strstr(t, "allow4_uid_1001"));
	assert_null(strstr(t, "allow6_uid_1001"));
	assert_non_null(strstr(t, "\tchain allow_uid_1001 {\n\t\tip daddr @dns4 meta l4proto { "
				  "tcp, udp } th dport 53 accept\n\t}\n"));
	assert_non_null(strstr(t, "meta skuid 1001 counter name \"drop_uid_1001\" drop\n"));
	free(t);
}

/* SFR 4.2.8: the same list in another order makes the same ruleset, so
 * the timer's re-apply loads identical rules while nothing changed. */
static void test_sfr428_netpolicy_deterministic(void **state)
{
	vg_endpoint e[2] = {ep("a", "a.example", 443), ep("b", "b.example", 8443)};
	vg_endpoint r[2];
	vg_np_addr a0[] = {A("198.51.100.9"), A("198.51.100.1")}, a1[] = {A("2001:db8::1")};
	vg_np_addr b0[] = {A("198.51.100.1"), A("198.51.100.9")};
	vg_np_host h[2] = {{a0, 2}, {a1, 1}}, hr[2] = {{a1, 1}, {b0, 2}};
	vg_np_addr res[] = {A("198.51.100.53"), A("198.51.100.54")};
	vg_np_addr rres[] = {A("198.51.100.54"), A("198.51.100.53"), A("198.51.100.54")};
	char *t1, *t2;

	(void)state;
	add_uid(&e[0], 1002);
	add_uid(&e[0], 1001);
	add_unit(&e[0], "b.service");
	add_unit(&e[0], "a.service");
	add_uid(&e[1], 1001);
	r[0] = e[1];
	r[1] = e[0];
	t1 = render_ok(e, h, 2, res, 2, &accept_opts);
	t2 = render_ok(r, hr, 2, rres, 3, &accept_opts);
	assert_text(t2, t1);
	/* units numbered in name order */
	assert_non_null(strstr(t1, "counter drop_unit_0 {\n\t\tcomment \"unit a.service\""));
	free(t1);
	free(t2);
}

/* ------------------------------------------------------------------ */
/* Hostile strings never reach the ruleset                              */

/* SFR 4.2.8: a unit name with a quote, a newline, a slash, a backslash,
 * a space, a brace or a semicolon (each could end the string or the
 * statement and add a rule), or that is not a .service/.scope/.slice, is too
 * long or unterminated, is refused: the render fails, nothing is made. */
static void test_sfr428_netpolicy_hostile_unit_refused(void **state)
{
	static const char *const bad[] = {
	    "a\".service",     "a\n.service", "a\naccept\n.service",
	    "../x.service",    "a/b.service", "a\\x2d.service",
	    "a b.service",     "a}.service",  "a;.service",
	    ".hidden.service", "-x.service",  "avs-voice",
	    "avs.socket",      ".service",    "",
	    "a\t.service",     "a$x.service", "a#x.service",
	    "a--b.slice",      "a-.slice",    "-.slice",
	};
	vg_endpoint e[1] = {ep("avs", "avs.example", 443)};
	vg_np_addr a0[] = {A("198.51.100.7")};
	vg_np_host h[1] = {{a0, 1}};

	(void)state;
	/* control: a good unit renders */
	add_unit(&e[0], "avs-voice@1:x_y.service");
	free(render_ok(e, h, 1, NULL, 0, &accept_opts));
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		memset(e[0].units[0], 0, sizeof e[0].units[0]);
		memcpy(e[0].units[0], bad[i], strlen(bad[i]));
		assert_false(vg_netpolicy_unit_valid(bad[i]));
		render_refused(e, h, 1, &accept_opts, VG_ERR_INVALID);
	}
	/* too long, and unterminated in its array */
	memset(e[0].units[0], 'a', sizeof e[0].units[0]);
	render_refused(e, h, 1, &accept_opts, VG_ERR_INVALID);
	memset(e[0].units[0], 'a', VG_EP_MAX_UNIT);
	memcpy(e[0].units[0] + VG_EP_MAX_UNIT - 8, ".service", 8);
	e[0].units[0][VG_EP_MAX_UNIT] = '\0';
	free(render_ok(e, h, 1, NULL, 0, &accept_opts)); /* exactly the limit */
}

/* SFR 4.2.8: hostile options and values are refused the same way: a
 * slice or cgroup root with a quote or "..", uid 2^32-1 (no such uid),
 * port 0, too many uids, a resolver of no family. */
static void test_sfr428_netpolicy_hostile_values_refused(void **state)
{
	vg_endpoint e[1] = {ep("avs", "avs.example", 443)};
	vg_np_addr a0[] = {A("198.51.100.7")}, bad_res;
	vg_np_host h[1] = {{a0, 1}};
	vg_np_opts o = accept_opts;
	uint32_t ex[] = {UINT32_MAX};
	char why[128], *out = NULL;

	(void)state;
	add_unit(&e[0], "avs.service");
	add_uid(&e[0], 1001);
	free(render_ok(e, h, 1, NULL, 0, &o)); /* control */
	o.slice = "system\".slice";
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	o.slice = "../system.slice";
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	o.slice = "system.service";
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	o.slice = NULL;
	o.cgroup_root = "unified\"\n";
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	o.cgroup_root = "..";
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	o.cgroup_root = NULL;
	o.default_drop = true;
	o.exempt_uids = ex;
	o.n_exempt = 1;
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	o = accept_opts;
	e[0].uids[0] = UINT32_MAX;
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	e[0].uids[0] = 1001;
	e[0].port = 0;
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	e[0].port = 443;
	e[0].n_uids = VG_EP_MAX_UIDS + 1;
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
	e[0].n_uids = 1;
	memset(&bad_res, 0, sizeof bad_res);
	assert_int_equal(vg_netpolicy_render(e, h, 1, &bad_res, 1, &o, &out, why, sizeof why),
			 VG_ERR_INVALID);
	assert_null(out);
	a0[0].family = AF_UNIX;
	render_refused(e, h, 1, &o, VG_ERR_INVALID);
}

/* ------------------------------------------------------------------ */
/* resolv.conf                                                          */

static void resolv_ok(const char *text, size_t want_n, const char *const *want)
{
	vg_np_addr out[VG_NP_MAX_RESOLVERS];
	size_t n = 99;
	char why[128] = "";
	vg_rc rc = vg_resolvconf_parse(text, strlen(text), out, &n, why, sizeof why);

	if (rc != VG_OK)
		fail_msg("resolv.conf refused: %s", why);
	assert_int_equal(n, want_n);
	for (size_t i = 0; i < n; i++) {
		vg_np_addr w = A(want[i]);
		assert_int_equal(out[i].family, w.family);
		assert_memory_equal(out[i].a, w.a, 16);
	}
}

static void resolv_bad(const char *text, size_t len)
{
	vg_np_addr out[VG_NP_MAX_RESOLVERS];
	size_t n = 99;
	char why[128] = "";

	assert_int_not_equal(vg_resolvconf_parse(text, len, out, &n, why, sizeof why), VG_OK);
	assert_int_equal(n, 0);
	assert_true(why[0] != '\0');
}

/* SFR 4.2.8: the resolvers DNS may go to come from resolv.conf, parsed
 * as glibc reads it: comments, the other keywords, IPv6 with a zone, the
 * first three distinct nameservers (glibc asks no others). */
static void test_sfr428_netpolicy_resolvconf_good(void **state)
{
	static const char *const w1[] = {"198.51.100.53", "2001:db8::53", "fe80::1"};
	static const char *const w2[] = {"198.51.100.1", "198.51.100.2", "198.51.100.3"};

	(void)state;
	resolv_ok("# generated\n; also a comment\n\nsearch example.com lan\n"
		  "domain example.com\noptions edns0 trust-ad\n"
		  "nameserver 198.51.100.53\nnameserver 2001:db8::53 # v6\n"
		  "nameserver fe80::1%eth0\nsortlist 130.155.160.0/255.255.240.0\n",
		  3, w1);
	resolv_ok("nameserver 198.51.100.1\nnameserver 198.51.100.1\nnameserver\t198.51.100.2\n"
		  "nameserver 198.51.100.3\nnameserver 198.51.100.4",
		  3, w2);
	resolv_ok("", 0, NULL);
	resolv_ok("# no nameserver: glibc asks 127.0.0.1\nsearch lan\n", 0, NULL);
}

/* SFR 4.2.8: anything else is refused, never guessed at: a name or a bad
 * address as nameserver, two addresses on a line, a zone on IPv4, an
 * unknown keyword, an indented line, a NUL, a control character, a line
 * over 1024 bytes, a file over the bound; and a refused file gives no
 * resolver, not those of the lines before the bad one. */
static void test_sfr428_netpolicy_resolvconf_malformed(void **state)
{
	static const char *const bad[] = {
	    "nameserver dns.example\n",
	    "nameserver 198.51.100.256\n",
	    "nameserver 198.51.100.1 198.51.100.2\n",
	    "nameserver\n",
	    "nameserver 198.51.100.1%eth0\n",
	    "nameserver fe80::1%\n",
	    "nameserver fe80::1%e\"th0\n",
	    "nameservers 198.51.100.1\n",
	    "lookup file bind\n",
	    " nameserver 198.51.100.1\n",
	    "\tsearch lan\n",
	    "  # indented comment\n",
	    "nameserver 198.51.100.1\r\n",
	    "nameserver 0x7f.1\n",
	    "nameserver 198.51.100.1\x1b\n",
	    /* a good line before the bad one: still no resolver at all */
	    "nameserver 198.51.100.1\nsearch a\x15"
	    "b\n",
	    "nameserver 198.51.100.1\n  nameserver 198.51.100.2\n",
	};
	char big[2048], *huge;

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++)
		resolv_bad(bad[i], strlen(bad[i]));
	resolv_bad("nameserver 198.51.100.1\n\0nameserver 198.51.100.2\n", 48);
	memset(big, 'x', sizeof big);
	memcpy(big, "search ", 7);
	resolv_bad(big, sizeof big);
	huge = malloc(VG_NP_MAX_RESOLV + 1);
	assert_non_null(huge);
	memset(huge, '\n', VG_NP_MAX_RESOLV + 1);
	resolv_bad(huge, VG_NP_MAX_RESOLV + 1);
	free(huge);
}

/* ------------------------------------------------------------------ */
/* --from-json: the endpoint policy's own parser                        */

/* `voxguard netpolicy apply --from-json` reads the list with
 * vg_endpoint_array_from_json (tls/endpoint.h), the parser of the service
 * and the library, with all of the policy's rules: these tests hold it to
 * what netpolicy needs of it. A CA the policy's parser accepts (the fuzz
 * corpus's seed CA), as JSON text. */
#define SEED_CA                                                               \
	"-----BEGIN CERTIFICATE-----\\n"                                      \
	"MIIBdjCCAR2gAwIBAgIUMtFxuE2EkSxDn7aaM7mIzsLgzqwwCgYIKoZIzj0EAwIw\\n" \
	"ETEPMA0GA1UEAwwGU2VlZENBMB4XDTI2MTIwNjAyNTYxOFoXDTM2MTIwMzAyNTYx\\n" \
	"OFowETEPMA0GA1UEAwwGU2VlZENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\\n" \
	"yuP69xK0pd0kS37Y8hZ96rPrdjWmXumeZzRnWdAUI1uJqGaRRG6mxrxnPlUoUw5g\\n" \
	"Ykhx7mQ+wkbN4+j2lnNCAaNTMFEwHQYDVR0OBBYEFK+BcCRbkI5sZThX1KKR6RSX\\n" \
	"KSK9MB8GA1UdIwQYMBaAFK+BcCRbkI5sZThX1KKR6RSXKSK9MA8GA1UdEwEB/wQF\\n" \
	"MAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgCnE4/FXUm7v6/xf1SClwium1C6TwMM3E\\n" \
	"LjoqesrqV8ICIGgnFuRloecdKeqjetHFO/B27B8y+vWmM3jagOtp6WNV\\n"         \
	"-----END CERTIFICATE-----\\n"
#define POLICY "\"ca\":\"" SEED_CA "\",\"revocation\":\"ocsp\""
/* One endpoint "a" with extra keys. */
#define EP(extra) "[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":443," POLICY extra "}]"

static vg_rc json_parse(const char *text, vg_endpoint **v, size_t *n, char *why, size_t why_len)
{
	return vg_endpoint_array_from_json((const uint8_t *)text, strlen(text), v, n, why, why_len);
}

static void json_bad(const char *text, const char *reason)
{
	vg_endpoint *v = (vg_endpoint *)1;
	size_t n = 99;
	char why[256] = "";

	if (json_parse(text, &v, &n, why, sizeof why) == VG_OK)
		fail_msg("accepted: %s", text);
	assert_null(v);
	assert_int_equal(n, 0);
	if (!strstr(why, reason))
		fail_msg("refused for \"%s\", not \"%s\": %s", why, reason, text);
}

/* SFR 4.2.8: the list as `voxguard endpoint list --json` writes it (keys
 * sorted, every key of the encoding): netpolicy takes its names, hosts,
 * ports, uids and units, and the ruleset is made from them. */
static void test_sfr428_netpolicy_json_good(void **state)
{
	static const char text[] =
	    "[{" POLICY ",\"client_key\":\"device-identity\",\"host\":\"avs-alexa-na.amazon.com\","
	    "\"legacy\":false,\"min_tls\":\"1.2\",\"name\":\"avs\",\"pins\":[],\"port\":443,"
	    "\"soft_fail\":false,\"uids\":[1001,4294967294],"
	    "\"units\":[\"avs-voice.service\",\"x.scope\",\"voice.slice\"],\"v\":1},"
	    "{" POLICY ",\"host\":\"2001:db8::2\",\"name\":\"v6\",\"port\":8443,\"v\":1}]";
	vg_endpoint *v = NULL;
	size_t n = 0;
	char why[256] = "", *out;
	vg_np_addr a4 = A("198.51.100.2"), a6 = A("2001:db8::2");
	vg_np_host hosts[2] = {{&a4, 1}, {&a6, 1}};

	(void)state;
	if (json_parse(text, &v, &n, why, sizeof why) != VG_OK)
		fail_msg("refused: %s", why);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "avs");
	assert_string_equal(v[0].host, "avs-alexa-na.amazon.com");
	assert_int_equal(v[0].port, 443);
	assert_int_equal(v[0].n_uids, 2);
	assert_int_equal(v[0].uids[1], 4294967294u);
	assert_int_equal(v[0].n_units, 3);
	assert_string_equal(v[0].units[1], "x.scope");
	assert_non_null(v[0].ca_pem);
	assert_string_equal(v[1].host, "2001:db8::2");
	assert_int_equal(v[1].n_uids + v[1].n_units, 0);
	out = render_ok(v, hosts, n, NULL, 0, &accept_opts);
	assert_non_null(strstr(out, "198.51.100.2 . 443"));
	assert_non_null(strstr(out, "meta skuid vmap { 1001 : jump allow_uid_1001, "
				    "4294967294 : jump allow_uid_4294967294 }"));
	free(out);
	vg_endpoint_list_free(v, n);
	assert_int_equal(json_parse("[]", &v, &n, why, sizeof why), VG_OK);
	assert_int_equal(n, 0);
	vg_endpoint_list_free(v, n);
}

/* SFR 4.2.8: malformed lists are refused whole, each for its own reason. */
static void test_sfr428_netpolicy_json_malformed(void **state)
{
	static const struct {
		const char *text, *reason;
	} bad[] = {
	    {"", "endpoint list: not JSON"},
	    {"[{\"v\":1", "endpoint list: not JSON"},
	    {"{}", "a JSON array"},
	    {"[1]", "endpoint 1: an endpoint is a JSON object"},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\"," POLICY "}]", "port: missing"},
	    {"[{\"name\":\"a\",\"host\":\"a.example\",\"port\":443," POLICY "}]", "v: missing"},
	    {"[{\"v\":2,\"name\":\"a\",\"host\":\"a.example\",\"port\":443," POLICY "}]",
	     "version 2 is not supported"},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":0," POLICY "}]", "port: "},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":65536," POLICY "}]",
	     "port: "},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":\"443\"," POLICY "}]",
	     "port: "},
	    {"[{\"v\":1,\"name\":\"a b\",\"host\":\"a.example\",\"port\":443," POLICY "}]",
	     "name: "},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a..example\",\"port\":443," POLICY "}]",
	     "host: "},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\\n\",\"port\":443," POLICY "}]",
	     "host: "},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"-a.example\",\"port\":443," POLICY "}]",
	     "host: "},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a\\u0000b\",\"port\":443," POLICY "}]",
	     "not JSON: \\u0000 is not allowed"},
	    {EP(",\"uids\":[-1]"), "uids: uid 1 is not"},
	    {EP(",\"uids\":[4294967295]"), "uids: uid 1 is not"},
	    {EP(",\"uids\":[1001,1001]"), "uids: 1001 is listed twice"},
	    {EP(",\"uids\":[1.5]"), "uids: uid 1 is not"},
	    {EP(",\"uids\":1001"), "uids: not an array"},
	    {EP(",\"uids\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]"), "uids: more than 16"},
	    {EP(",\"units\":[\"a\\\".service\"]"), "units: unit 1 is not"},
	    {EP(",\"units\":[\"a\\n.service\"]"), "units: unit 1 is not"},
	    {EP(",\"units\":[\"a.service\",\"a.service\"]"), "units: a.service is listed twice"},
	    {EP(",\"units\":[\"a\\u0000.service\"]"), "not JSON: \\u0000 is not allowed"},
	    {EP(",\"units\":[\"a.service\",\"b.service\",\"c.service\",\"d.service\","
		"\"e.service\",\"f.service\",\"g.service\",\"h.service\",\"i.service\"]"),
	     "units: more than 8"},
	    {EP(",\"nft\":\"accept\""), "unknown key \"nft\""},
	    {EP(",\"port\":444"), "duplicate"},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":443," POLICY "},"
	     "{\"v\":1,\"name\":\"a\",\"host\":\"b.example\",\"port\":443," POLICY "}]",
	     "endpoint 2: the name a is used twice"},
	    /* netpolicy's own parser (gone) took these; the policy's does not:
	     * the list is the endpoint policy's encoding, whole. */
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":443,\"revocation\":\"ocsp\"}"
	     "]",
	     "ca: missing"},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":443,\"ca\":\"" SEED_CA
	     "\"}]",
	     "revocation: missing"},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"a.example\",\"port\":443,\"ca\":\"x\","
	     "\"revocation\":\"ocsp\"}]",
	     "ca: no certificate in it"},
	    {EP(",\"crl\":null"), "crl: not a string"},
	    {"[{\"v\":1,\"name\":\"a\",\"host\":\"10.0.0.300\",\"port\":443," POLICY "}]",
	     "host: "},
	};
	vg_endpoint *v = NULL;
	size_t n = 0, off = 0;
	char why[256] = "", *many, *out = (char *)"x";
	vg_np_addr a4 = A("198.51.100.2");
	vg_np_host host = {&a4, 1};
	vg_rc rc;

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++)
		json_bad(bad[i].text, bad[i].reason);
	/* more than VG_NP_MAX_ENDPOINTS */
	many = malloc((sizeof POLICY + 100) * (VG_NP_MAX_ENDPOINTS + 1) + 8);
	assert_non_null(many);
	many[off++] = '[';
	for (unsigned i = 0; i <= VG_NP_MAX_ENDPOINTS; i++)
		off += (size_t)sprintf(
		    many + off, "%s{\"v\":1,\"name\":\"e%u\",\"host\":\"a.example\",\"port\":1,%s}",
		    i ? "," : "", i, POLICY);
	many[off++] = ']';
	many[off] = '\0';
	json_bad(many, "at most 64 endpoints");
	free(many);
	/* A unit the policy takes but netpolicy does not (a slice with an
	 * empty part): the list parses, the ruleset is refused. */
	assert_int_equal(json_parse(EP(",\"units\":[\"a--b.slice\"]"), &v, &n, why, sizeof why),
			 VG_OK);
	why[0] = '\0';
	rc = vg_netpolicy_render(v, &host, n, NULL, 0, &accept_opts, &out, why, sizeof why);
	assert_int_equal(rc, VG_ERR_INVALID);
	assert_null(out);
	assert_non_null(strstr(why, "not a unit name netpolicy accepts"));
	vg_endpoint_list_free(v, n);
}
#undef EP

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr428_netpolicy_golden_uids_v4_v6),
	    cmocka_unit_test(test_sfr428_netpolicy_golden_unit_default_drop),
	    cmocka_unit_test(test_sfr428_netpolicy_slice),
	    cmocka_unit_test(test_sfr428_netpolicy_golden_no_endpoints),
	    cmocka_unit_test(test_sfr428_netpolicy_pairs_not_product),
	    cmocka_unit_test(test_sfr428_netpolicy_many_addresses),
	    cmocka_unit_test(test_sfr428_netpolicy_unresolved_fails_closed),
	    cmocka_unit_test(test_sfr428_netpolicy_deterministic),
	    cmocka_unit_test(test_sfr428_netpolicy_hostile_unit_refused),
	    cmocka_unit_test(test_sfr428_netpolicy_hostile_values_refused),
	    cmocka_unit_test(test_sfr428_netpolicy_resolvconf_good),
	    cmocka_unit_test(test_sfr428_netpolicy_resolvconf_malformed),
	    cmocka_unit_test(test_sfr428_netpolicy_json_good),
	    cmocka_unit_test(test_sfr428_netpolicy_json_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
