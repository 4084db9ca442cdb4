/*
 * test_posture_debver.c - Debian version ordering (src/posture/debver.h),
 * with dpkg's own test cases (lib/dpkg/t/t-version.c: compare, relate,
 * parse) and the ordering examples of Debian Policy 5.6.12.
 *
 * AVS 1.13: the image scan decides "vulnerable" by comparing the installed
 * version with the tracker's fixed version; a wrong order hides a CVE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "posture/debver.h"

/* DPKG_VERSION_OBJECT(epoch, version, revision) */
static vg_debver V(unsigned e, const char *v, const char *r)
{
	vg_debver x;
	memset(&x, 0, sizeof x);
	x.epoch = e;
	x.upstream = v;
	x.revision = r;
	return x;
}

static int C(const char *a, const char *b)
{
	int c = 99;
	assert_int_equal(vg_debver_compare_str(a, b, &c), VG_OK);
	return c;
}

/* AVS 1.13: dpkg's test_version_compare */
static void test_avs113_debver_dpkg_compare(void **state)
{
	vg_debver a, b;
	(void)state;

	a = V(0, "", "");
	b = V(0, "", "");
	assert_int_equal(vg_debver_cmp(&a, &b), 0);
	a.epoch = 1;
	b.epoch = 2;
	assert_int_not_equal(vg_debver_cmp(&a, &b), 0);
	a = V(0, "1", "1");
	b = V(0, "2", "1");
	assert_int_not_equal(vg_debver_cmp(&a, &b), 0);
	a = V(0, "1", "1");
	b = V(0, "1", "2");
	assert_int_not_equal(vg_debver_cmp(&a, &b), 0);
	a = b = V(0, "0", "0");
	assert_int_equal(vg_debver_cmp(&a, &b), 0);
	a = V(0, "0", "00");
	b = V(0, "00", "0");
	assert_int_equal(vg_debver_cmp(&a, &b), 0);
	a = b = V(1, "2", "3");
	assert_int_equal(vg_debver_cmp(&a, &b), 0);
	a = V(0, "0", "0");
	b = V(1, "0", "0");
	assert_true(vg_debver_cmp(&a, &b) < 0);
	assert_true(vg_debver_cmp(&b, &a) > 0);
	a = V(0, "a", "0");
	b = V(0, "b", "0");
	assert_true(vg_debver_cmp(&a, &b) < 0);
	assert_true(vg_debver_cmp(&b, &a) > 0);
	a = V(0, "0", "a");
	b = V(0, "0", "b");
	assert_true(vg_debver_cmp(&a, &b) < 0);
	assert_true(vg_debver_cmp(&b, &a) > 0);
	/* test_version_relate */
	a = V(0, "1", "1");
	b = V(0, "2", "1");
	assert_true(vg_debver_cmp(&a, &b) < 0);
	assert_true(vg_debver_cmp(&b, &a) > 0);
}

/* AVS 1.13: dpkg's test_version_parse, the accepted forms */
static void test_avs113_debver_dpkg_parse_ok(void **state)
{
	static const struct {
		const char *s;
		unsigned e;
		const char *v, *r;
	} ok[] = {
	    {"0", 0, "0", ""},
	    {"0:0", 0, "0", ""},
	    {"0:0-", 0, "0", ""},
	    {"0:0-0", 0, "0", "0"},
	    {"0:0.0-0.0", 0, "0.0", "0.0"},
	    {"1:0", 1, "0", ""},
	    {"5:1", 5, "1", ""},
	    {"0:0-0-0", 0, "0-0", "0"},
	    {"0:0-0-0-0", 0, "0-0-0", "0"},
	    {"0:0:0-0", 0, "0:0", "0"},
	    {"0:0:0:0-0", 0, "0:0:0", "0"},
	    {"0:0:0-0-0", 0, "0:0-0", "0"},
	    {"0:0-0:0-0", 0, "0-0:0", "0"},
	    {"0:09azAZ.-+~:-0", 0, "09azAZ.-+~:", "0"},
	    {"0:0-azAZ09.+~", 0, "0", "azAZ09.+~"},
	    {"  \t0:0-1", 0, "0", "1"},
	    {"0:0-1\t  ", 0, "0", "1"},
	    {"\t  0:0-1  \t", 0, "0", "1"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		vg_debver a, b = V(ok[i].e, ok[i].v, ok[i].r);
		assert_int_equal(vg_debver_parse(ok[i].s, &a, NULL, 0), VG_OK);
		assert_int_equal(vg_debver_cmp(&a, &b), 0);
		assert_int_equal(a.epoch, ok[i].e);
		assert_string_equal(a.upstream, ok[i].v);
		assert_string_equal(a.revision, ok[i].r);
	}
}

/* AVS 1.13: dpkg's test_version_parse, the refused forms (errors and
 * warnings alike fail) */
static void test_avs113_debver_dpkg_parse_bad(void **state)
{
	static const char *const bad[] = {
	    "",      "  ",    "0:", "0:0 0-1", "-1:0-1",   "999999999999999999999999:0-1",
	    "a:0-0", "A:0-0", "-0", "0:-0",    "0:abc3-0", "0:0-0:0"};
	char why[128];
	vg_debver a;
	char v[16];
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = '\0';
		assert_int_not_equal(vg_debver_parse(bad[i], &a, why, sizeof why), VG_OK);
		assert_true(why[0] != '\0');
	}
	for (const char *p = "!#@$%&/|\\<>()[]{};,_=*^'"; *p; p++) {
		strcpy(v, "0:0a-0");
		v[3] = *p;
		assert_int_not_equal(vg_debver_parse(v, &a, NULL, 0), VG_OK);
	}
	for (const char *p = "!#@$%&/|\\<>()[]{}:;,_=*^'"; *p; p++) {
		strcpy(v, "0:0-0");
		v[4] = *p;
		assert_int_not_equal(vg_debver_parse(v, &a, NULL, 0), VG_OK);
	}
	/* too long */
	{
		char *l = malloc(VG_DEBVER_MAX + 2);
		memset(l, '1', VG_DEBVER_MAX + 1);
		l[VG_DEBVER_MAX + 1] = '\0';
		assert_int_equal(vg_debver_parse(l, &a, NULL, 0), VG_ERR_TOO_LARGE);
		free(l);
	}
}

/* AVS 1.13: the order of Debian Policy 5.6.12 and of real upgrades */
static void test_avs113_debver_order(void **state)
{
	static const char *const asc[] = {"1.0~~", "1.0~~a", "1.0~", "1.0",
					  "1.0a",  "1.0+",   "1.0.1"};
	(void)state;
	for (size_t i = 0; i + 1 < sizeof asc / sizeof asc[0]; i++) {
		assert_true(C(asc[i], asc[i + 1]) < 0);
		assert_true(C(asc[i + 1], asc[i]) > 0);
	}
	assert_true(vg_debver_verrevcmp("~~", "~~a") < 0);
	assert_true(vg_debver_verrevcmp("~~a", "~") < 0);
	assert_true(vg_debver_verrevcmp("~", "") < 0);
	assert_true(vg_debver_verrevcmp("", "a") < 0);
	assert_true(C("3.0.11-1~deb12u2", "3.0.13-1~deb12u1") < 0);
	assert_true(C("3.0.13-1~deb12u1", "3.0.13-1") < 0);
	assert_true(C("1:1.0", "2.0") > 0);
	assert_true(C("1.10", "1.9") > 0);
	assert_true(C("1.001", "1.1") == 0);
	assert_true(C("2.36-9+deb12u4", "2.36-9+deb12u10") < 0);
	assert_true(C("7.88.1-10+deb12u5", "7.88.1-10+deb12u5") == 0);
	assert_true(C("1.2-3", "1.2-3.1") < 0);
	assert_true(C("0:1.2", "1.2") == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_avs113_debver_dpkg_compare),
	    cmocka_unit_test(test_avs113_debver_dpkg_parse_ok),
	    cmocka_unit_test(test_avs113_debver_dpkg_parse_bad),
	    cmocka_unit_test(test_avs113_debver_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
