/*
 * test_display_token.c - one-time display tokens (src/display/token.h)
 * and their configuration (daemon/config.h).
 *
 * AVS 1.14 (display hijacking) and the SDK's smart-screen rules: tokens
 * valid once, impossible to counterfeit, time-limited, bound to the
 * expected Origin, unique per device and session; SFR 4.2.10: bounded per
 * launcher uid and in all. Every negative test checks that the refusal
 * happens and that a control succeeds beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "daemon/config.h"
#include "display/token.h"

#define O   "https://localhost:8933"
#define TTL 1000u

static vg_dtok_table *mk(uint32_t per_uid, uint32_t max_total)
{
	vg_dtok_limits l = {.ttl_ms = TTL, .per_uid = per_uid, .max_total = max_total};
	vg_dtok_table *t = NULL;

	assert_int_equal(vg_dtok_table_new(&t, &l), VG_OK);
	return t;
}

static void issue(vg_dtok_table *t, uint32_t uid, const char *origin, uint64_t now,
		  char tok[static VG_DISPLAY_TOKEN_B64_LEN + 1])
{
	char why[200] = "";
	uint64_t exp = 0;

	assert_int_equal(vg_dtok_issue(t, uid, origin, now, tok, &exp, why, sizeof why), VG_OK);
	assert_int_equal(strlen(tok), VG_DISPLAY_TOKEN_B64_LEN);
	assert_int_equal(exp, now + TTL);
}

/* AVS 1.14: a strictly valid Origin is required; the forms a browser
 * never sends are refused. */
static void test_display_token_origin_strict(void **state)
{
	static const char *good[] = {
	    "https://localhost",           "https://localhost:8933", "https://127.0.0.1:1",
	    "https://display.example.com", "https://a-b.c9:65535",   "https://0.0.0.0",
	};
	static const char *bad[] = {
	    "",
	    "http://localhost",
	    "HTTPS://localhost",
	    "https://",
	    "https://Localhost",
	    "https://localhost/",
	    "https://localhost/path",
	    "https://localhost:443",
	    "https://localhost:0",
	    "https://localhost:65536",
	    "https://localhost:08933",
	    "https://localhost:",
	    "https://user@localhost",
	    "https://localhost.",
	    "https://-a.example",
	    "https://a-.example",
	    "https://a..b",
	    "https://256.0.0.1",
	    "https://1.2.3",
	    "https://01.2.3.4",
	    "https://[::1]",
	    "https://localhost?x=1",
	    "https://local host",
	    "wss://localhost",
	    "null",
	};
	char why[200];
	char big[300];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (vg_display_origin_check(good[i], strlen(good[i]), why, sizeof why) != VG_OK)
			fail_msg("good origin refused: %s (%s)", good[i], why);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		why[0] = '\0';
		if (vg_display_origin_check(bad[i], strlen(bad[i]), why, sizeof why) !=
		    VG_ERR_INVALID)
			fail_msg("bad origin accepted: '%s'", bad[i]);
		assert_true(strncmp(why, "origin: ", 8) == 0);
	}
	/* 64-character labels and over-long origins. */
	memset(big, 'a', sizeof big);
	memcpy(big, "https://", 8);
	assert_int_equal(vg_display_origin_check(big, 8 + 63, NULL, 0), VG_OK);
	assert_int_equal(vg_display_origin_check(big, 8 + 64, NULL, 0), VG_ERR_INVALID);
	assert_int_equal(vg_display_origin_check(big, sizeof big, NULL, 0), VG_ERR_INVALID);
	/* A NUL inside is binary, not a shorter origin. */
	assert_int_equal(vg_display_origin_check("https://a\0b", 11, NULL, 0), VG_ERR_INVALID);
}

/* The token's encoding: base64url without padding, one encoding per token. */
static void test_display_token_encoding_strict(void **state)
{
	uint8_t raw[VG_DISPLAY_TOKEN_BYTES], back[VG_DISPLAY_TOKEN_BYTES];
	char s[VG_DISPLAY_TOKEN_B64_LEN + 1], m[VG_DISPLAY_TOKEN_B64_LEN + 2];

	(void)state;
	for (int k = 0; k < 200; k++) {
		assert_int_equal(RAND_bytes(raw, sizeof raw), 1);
		if (k == 0)
			memset(raw, 0xff, sizeof raw);
		vg_display_token_encode(raw, s);
		assert_int_equal(strlen(s), VG_DISPLAY_TOKEN_B64_LEN);
		assert_true(
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		    VG_DISPLAY_TOKEN_B64_LEN);
		assert_int_equal(vg_display_token_decode(s, strlen(s), back), VG_OK);
		assert_memory_equal(raw, back, sizeof raw);
	}
	/* Wrong lengths, padding, the standard alphabet's + and /. */
	assert_int_equal(vg_display_token_decode(s, 42, back), VG_ERR_INVALID);
	memcpy(m, s, sizeof s);
	strcat(m, "=");
	assert_int_equal(vg_display_token_decode(m, strlen(m), back), VG_ERR_INVALID);
	memcpy(m, s, sizeof s);
	m[5] = '+';
	assert_int_equal(vg_display_token_decode(m, strlen(m), back), VG_ERR_INVALID);
	m[5] = '/';
	assert_int_equal(vg_display_token_decode(m, strlen(m), back), VG_ERR_INVALID);
	m[5] = '\0';
	assert_int_equal(vg_display_token_decode(m, VG_DISPLAY_TOKEN_B64_LEN, back),
			 VG_ERR_INVALID);
	/* The last character's two unused bits set: a second spelling. */
	memset(raw, 0, sizeof raw);
	vg_display_token_encode(raw, s);
	assert_int_equal(s[42], 'A');
	s[42] = 'B';
	assert_int_equal(vg_display_token_decode(s, strlen(s), back), VG_ERR_INVALID);
	s[42] = 'E'; /* 000100: a real bit of the last byte, and the two zero */
	assert_int_equal(vg_display_token_decode(s, strlen(s), back), VG_OK);
	assert_int_equal(back[31], 0x01);
}

/* Valid once, for its Origin; a replay is told apart from a forgery. */
static void test_display_token_redeems_once(void **state)
{
	char tok[VG_DISPLAY_TOKEN_B64_LEN + 1], tok2[VG_DISPLAY_TOKEN_B64_LEN + 1];
	vg_dtok_table *t = mk(4, 32);
	uint32_t issuer = 0;

	(void)state;
	issue(t, 1000, O, 5000, tok);
	issue(t, 1000, O, 5000, tok2);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(vg_dtok_outstanding(t, 1000, 5000), 2);
	assert_int_equal(vg_dtok_redeem(t, tok, O, 5100, &issuer), VG_DTOK_OK);
	assert_int_equal(issuer, 1000);
	assert_int_equal(vg_dtok_redeem(t, tok, O, 5101, NULL), VG_DTOK_REPLAYED);
	assert_int_equal(vg_dtok_redeem(t, tok, O, 5102, NULL), VG_DTOK_REPLAYED);
	assert_int_equal(vg_dtok_outstanding(t, 1000, 5102), 1);
	/* The other one is untouched by all that. */
	assert_int_equal(vg_dtok_redeem(t, tok2, O, 5103, NULL), VG_DTOK_OK);
	assert_string_equal(vg_dtok_verdict_str(VG_DTOK_REPLAYED), "replayed");
	vg_dtok_table_free(&t);
	assert_null(t);
	vg_dtok_table_free(&t); /* NULL-safe */
}

/* Time-limited: redeemable until ttl_ms after issue, not at it. */
static void test_display_token_expires(void **state)
{
	char a[VG_DISPLAY_TOKEN_B64_LEN + 1], b[VG_DISPLAY_TOKEN_B64_LEN + 1];
	vg_dtok_table *t = mk(4, 32);
	uint32_t issuer = 0;

	(void)state;
	issue(t, 7, O, 1000, a);
	issue(t, 7, O, 1000, b);
	assert_int_equal(vg_dtok_redeem(t, a, O, 1000 + TTL - 1, NULL), VG_DTOK_OK);
	assert_int_equal(vg_dtok_redeem(t, b, O, 1000 + TTL, &issuer), VG_DTOK_EXPIRED);
	assert_int_equal(issuer, 7);
	/* Still expired, not unknown, when shown again. */
	assert_int_equal(vg_dtok_redeem(t, b, O, 1000 + TTL + 5, NULL), VG_DTOK_EXPIRED);
	vg_dtok_table_free(&t);
}

/* Bound to the expected Origin; a wrong Origin burns the token. */
static void test_display_token_origin_bound(void **state)
{
	char a[VG_DISPLAY_TOKEN_B64_LEN + 1];
	vg_dtok_table *t = mk(4, 32);

	(void)state;
	issue(t, 7, O, 0, a);
	assert_int_equal(vg_dtok_redeem(t, a, "https://evil.example", 1, NULL), VG_DTOK_ORIGIN);
	assert_int_equal(vg_dtok_redeem(t, a, O, 2, NULL), VG_DTOK_REPLAYED);
	issue(t, 7, O, 0, a);
	assert_int_equal(vg_dtok_redeem(t, a, "https://localhost:8934", 1, NULL), VG_DTOK_ORIGIN);
	issue(t, 7, O, 0, a);
	assert_int_equal(vg_dtok_redeem(t, a, NULL, 1, NULL), VG_DTOK_ORIGIN);
	issue(t, 7, O, 0, a);
	assert_int_equal(vg_dtok_redeem(t, a, O, 1, NULL), VG_DTOK_OK); /* control */
	vg_dtok_table_free(&t);
}

/* Impossible to counterfeit, unique per device and session: a token of
 * another table (another device, or this one before a restart) and
 * random or altered tokens are unknown here. */
static void test_display_token_forged_and_other_device(void **state)
{
	char a[VG_DISPLAY_TOKEN_B64_LEN + 1], x[VG_DISPLAY_TOKEN_B64_LEN + 1];
	uint8_t raw[VG_DISPLAY_TOKEN_BYTES];
	vg_dtok_table *t = mk(4, 32), *other = mk(4, 32);

	(void)state;
	issue(other, 7, O, 0, x);
	issue(t, 7, O, 0, a);
	assert_int_equal(vg_dtok_redeem(t, x, O, 1, NULL), VG_DTOK_UNKNOWN);
	assert_int_equal(vg_dtok_redeem(other, x, O, 1, NULL), VG_DTOK_OK); /* its own: yes */
	for (int k = 0; k < 100; k++) {
		assert_int_equal(RAND_bytes(raw, sizeof raw), 1);
		vg_display_token_encode(raw, x);
		assert_int_equal(vg_dtok_redeem(t, x, O, 1, NULL), VG_DTOK_UNKNOWN);
	}
	/* One character changed. */
	memcpy(x, a, sizeof a);
	x[10] = x[10] == 'A' ? 'B' : 'A';
	assert_int_equal(vg_dtok_redeem(t, x, O, 1, NULL), VG_DTOK_UNKNOWN);
	assert_int_equal(vg_dtok_redeem(t, "", O, 1, NULL), VG_DTOK_MALFORMED);
	assert_int_equal(vg_dtok_redeem(t, NULL, O, 1, NULL), VG_DTOK_MALFORMED);
	assert_int_equal(vg_dtok_redeem(t, "not a token", O, 1, NULL), VG_DTOK_MALFORMED);
	/* None of that spent the genuine one. */
	assert_int_equal(vg_dtok_redeem(t, a, O, 2, NULL), VG_DTOK_OK);
	vg_dtok_table_free(&t);
	vg_dtok_table_free(&other);
}

/* SFR 4.2.10: outstanding tokens bounded per uid and in all; expired ones
 * stop counting; a spent budget hurts only its uid. */
static void test_display_token_budgets(void **state)
{
	char a[VG_DISPLAY_TOKEN_B64_LEN + 1], b[VG_DISPLAY_TOKEN_B64_LEN + 1], why[200];
	vg_dtok_table *t = mk(2, 3);

	(void)state;
	issue(t, 1, O, 0, a);
	issue(t, 1, O, 0, a);
	assert_int_equal(vg_dtok_issue(t, 1, O, 0, a, NULL, why, sizeof why), VG_ERR_QUOTA);
	assert_string_equal(a, "");
	assert_non_null(strstr(why, "uid 1"));
	issue(t, 2, O, 0, b); /* another uid still may */
	assert_int_equal(vg_dtok_issue(t, 3, O, 0, a, NULL, why, sizeof why), VG_ERR_QUOTA);
	assert_non_null(strstr(why, "3 outstanding"));
	/* Redeeming one frees a place. */
	assert_int_equal(vg_dtok_redeem(t, b, O, 1, NULL), VG_DTOK_OK);
	issue(t, 3, O, 1, a);
	/* Expiry frees all. */
	assert_int_equal(vg_dtok_outstanding(t, UINT32_MAX, TTL + 1), 0);
	issue(t, 1, O, TTL + 1, a);
	issue(t, 1, O, TTL + 1, a);
	/* A bad origin is refused before anything is counted. */
	assert_int_equal(vg_dtok_issue(t, 9, "http://x", 0, a, NULL, why, sizeof why),
			 VG_ERR_INVALID);
	vg_dtok_table_free(&t);
}

static void test_display_token_limits_checked(void **state)
{
	vg_dtok_limits l = {.ttl_ms = 1, .per_uid = 1, .max_total = VG_DISPLAY_MAX_TOTAL + 1};
	vg_dtok_table *t = NULL;

	(void)state;
	assert_int_equal(vg_dtok_table_new(&t, &l), VG_ERR_INVALID);
	l.max_total = 0;
	assert_int_equal(vg_dtok_table_new(&t, &l), VG_ERR_INVALID);
	l.max_total = 1;
	l.ttl_ms = 0;
	assert_int_equal(vg_dtok_table_new(&t, &l), VG_ERR_INVALID);
	assert_null(t);
	assert_int_equal(vg_dtok_table_new(&t, NULL), VG_ERR_INVALID);
}

/* The configuration keys: uid lists and bounds, fail closed. */
static void test_display_token_config(void **state)
{
	static const char ok[] = "display_launcher_uids = 1000, 1001\n"
				 "display_gateway_uids = 998\n"
				 "display_token_ttl_ms = 250\n"
				 "display_tokens_per_uid = 2\n"
				 "display_tokens_max = 5\n";
	static const char *bad[] = {
	    "display_launcher_uids = 1000,1000\n",
	    "display_launcher_uids = alice\n",
	    "display_launcher_uids = 1,2,3,4,5,6,7,8,9\n",
	    "display_launcher_uids = 1,\n",
	    "display_gateway_uids = -1\n",
	    "display_token_ttl_ms = 99\n",
	    "display_token_ttl_ms = 600001\n",
	    "display_tokens_per_uid = 0\n",
	    "display_tokens_max = 257\n",
	};
	vg_config c, d;
	char err[128], text[16384];
	size_t n;

	(void)state;
	vg_config_defaults(&c);
	assert_int_equal(c.display_token_ttl_ms, 30000);
	assert_int_equal(c.display_launcher_uids.n, 0);
	assert_false(vg_cfg_uids_has(&c.display_launcher_uids, 0));
	assert_int_equal(vg_config_parse(&c, ok, sizeof ok - 1, err, sizeof err), VG_OK);
	assert_true(vg_cfg_uids_has(&c.display_launcher_uids, 1001));
	assert_false(vg_cfg_uids_has(&c.display_launcher_uids, 998));
	assert_true(vg_cfg_uids_has(&c.display_gateway_uids, 998));
	assert_int_equal(c.display_tokens_max, 5);
	n = vg_config_format(&c, text, sizeof text);
	assert_true(n > 0);
	assert_non_null(strstr(text, "display_launcher_uids = 1000,1001\n"));
	vg_config_defaults(&d);
	assert_int_equal(vg_config_parse(&d, text, n, err, sizeof err), VG_OK);
	assert_memory_equal(&c, &d, sizeof c);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		vg_config_defaults(&c);
		if (vg_config_parse(&c, bad[i], strlen(bad[i]), err, sizeof err) != VG_ERR_INVALID)
			fail_msg("accepted: %s", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_display_token_origin_strict),
	    cmocka_unit_test(test_display_token_encoding_strict),
	    cmocka_unit_test(test_display_token_redeems_once),
	    cmocka_unit_test(test_display_token_expires),
	    cmocka_unit_test(test_display_token_origin_bound),
	    cmocka_unit_test(test_display_token_forged_and_other_device),
	    cmocka_unit_test(test_display_token_budgets),
	    cmocka_unit_test(test_display_token_limits_checked),
	    cmocka_unit_test(test_display_token_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
