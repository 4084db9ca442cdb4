/*
 * test_auth_session.c - admin sessions (src/auth/session.h).
 *
 * SFR 4.2.13: an admin operation needs a live session of the calling uid;
 * threat A.3.1: a token stolen by another local user, guessed, expired or
 * revoked is worth nothing, and the answer does not say which.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "auth/session.h"
#include "common/util.h"

#define NOW    UINT64_C(5000000)
#define MINUTE UINT64_C(60000)
#define ADMIN  1000u
#define OTHER  1001u

typedef char token_t[VG_SESSION_TOKEN_HEX + 1];

static int setup(void **state)
{
	vg_sessions *s = NULL;

	if (vg_sessions_new(&s) != VG_OK)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	vg_sessions *s = *state;

	vg_sessions_free(&s);
	assert_null(s);
	vg_sessions_free(&s); /* NULL-safe */
	vg_sessions_free(NULL);
	return 0;
}

static void create(vg_sessions *s, uint32_t uid, uint64_t now, uint64_t ttl, token_t tok)
{
	assert_int_equal(vg_session_create(s, uid, now, ttl, tok), VG_OK);
}

/* SFR 4.2.13: a token is 64 lower-case hex digits, fresh each time, and
 * opens a session for its uid. */
static void test_sfr4213_session_token_format(void **state)
{
	vg_sessions *s = *state;
	token_t a, b;

	create(s, ADMIN, NOW, MINUTE, a);
	create(s, ADMIN, NOW, MINUTE, b);
	assert_int_equal(strlen(a), VG_SESSION_TOKEN_HEX);
	assert_int_equal(strspn(a, "0123456789abcdef"), VG_SESSION_TOKEN_HEX);
	assert_string_not_equal(a, b);
	assert_int_equal(vg_session_check(s, a, ADMIN, NOW), VG_OK);
	assert_int_equal(vg_session_check(s, b, ADMIN, NOW + 1), VG_OK);
	assert_int_equal(vg_session_count(s, NOW), 2);
}

/* A.3.1: a token presented by another uid is refused exactly like an
 * unknown one, and stays valid for its owner. */
static void test_a31_session_bound_to_uid(void **state)
{
	vg_sessions *s = *state;
	token_t a;

	create(s, ADMIN, NOW, MINUTE, a);
	assert_int_equal(vg_session_check(s, a, OTHER, NOW), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(s, a, 0, NOW), VG_ERR_AUTH_REQUIRED); /* root too */
	assert_int_equal(vg_session_check(s, a, ADMIN, NOW), VG_OK);
	/* two uids, two sessions: neither opens the other's */
	{
		token_t b;
		create(s, OTHER, NOW, MINUTE, b);
		assert_int_equal(vg_session_check(s, b, OTHER, NOW), VG_OK);
		assert_int_equal(vg_session_check(s, b, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
		assert_int_equal(vg_session_check(s, a, OTHER, NOW), VG_ERR_AUTH_REQUIRED);
	}
}

/* SFR 4.2.13: a session lives exactly ttl ms, is not extended by use, and
 * is purged when it expires. */
static void test_sfr4213_session_expiry(void **state)
{
	vg_sessions *s = *state;
	token_t a;

	create(s, ADMIN, NOW, 1000, a);
	assert_int_equal(vg_session_check(s, a, ADMIN, NOW + 999), VG_OK);
	assert_int_equal(vg_session_check(s, a, ADMIN, NOW + 1000), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_count(s, NOW + 1000), 0);
	/* purged: going back in time does not revive it */
	assert_int_equal(vg_session_check(s, a, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
}

/* SFR 4.2.13: log-out ends that session only; unknown and malformed
 * tokens change nothing. */
static void test_sfr4213_session_revoke(void **state)
{
	vg_sessions *s = *state;
	token_t a, b, c;

	create(s, ADMIN, NOW, MINUTE, a);
	create(s, ADMIN, NOW, MINUTE, b);
	memcpy(c, a, sizeof c);
	c[0] = c[0] == 'f' ? 'e' : 'f';
	vg_session_revoke(s, c);
	vg_session_revoke(s, "not a token");
	vg_session_revoke(s, NULL);
	vg_session_revoke(NULL, a);
	assert_int_equal(vg_session_count(s, NOW), 2);
	vg_session_revoke(s, a);
	assert_int_equal(vg_session_check(s, a, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(s, b, ADMIN, NOW), VG_OK);
	assert_int_equal(vg_session_count(s, NOW), 1);
}

/* SFR 4.2.13: a password change or factory reset ends every session. */
static void test_sfr4213_session_revoke_all(void **state)
{
	vg_sessions *s = *state;
	token_t t[5];

	for (size_t i = 0; i < VG_ARRAY_LEN(t); i++)
		create(s, ADMIN + (uint32_t)i, NOW, MINUTE, t[i]);
	vg_session_revoke_all(s);
	vg_session_revoke_all(NULL);
	for (size_t i = 0; i < VG_ARRAY_LEN(t); i++)
		assert_int_equal(vg_session_check(s, t[i], ADMIN + (uint32_t)i, NOW),
				 VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_count(s, NOW), 0);
	/* and the table works afterwards */
	create(s, ADMIN, NOW, MINUTE, t[0]);
	assert_int_equal(vg_session_check(s, t[0], ADMIN, NOW), VG_OK);
}

/* SFR 4.2.13: at most 16 sessions; one more evicts the one that expires
 * first, and only that one. */
static void test_sfr4213_session_eviction(void **state)
{
	vg_sessions *s = *state;
	token_t t[VG_SESSIONS_MAX], extra;
	/* ttl order scrambled so "first slot" and "first expiry" differ */
	const size_t first = 5;

	assert_int_equal(VG_SESSIONS_MAX, 16);
	for (size_t i = 0; i < VG_SESSIONS_MAX; i++)
		create(s, ADMIN, NOW, i == first ? MINUTE : 2 * MINUTE + i, t[i]);
	assert_int_equal(vg_session_count(s, NOW), VG_SESSIONS_MAX);
	create(s, OTHER, NOW, MINUTE, extra);
	assert_int_equal(vg_session_count(s, NOW), VG_SESSIONS_MAX);
	assert_int_equal(vg_session_check(s, extra, OTHER, NOW), VG_OK);
	for (size_t i = 0; i < VG_SESSIONS_MAX; i++)
		assert_int_equal(vg_session_check(s, t[i], ADMIN, NOW),
				 i == first ? VG_ERR_AUTH_REQUIRED : VG_OK);
	/* an expired entry is reused before any live one is evicted */
	vg_session_revoke_all(s);
	for (size_t i = 0; i < VG_SESSIONS_MAX; i++)
		create(s, ADMIN, NOW, i == 0 ? 10 : MINUTE, t[i]);
	create(s, ADMIN, NOW + 10, MINUTE, extra);
	for (size_t i = 1; i < VG_SESSIONS_MAX; i++)
		assert_int_equal(vg_session_check(s, t[i], ADMIN, NOW + 10), VG_OK);
}

/* A.3.1: anything but exactly 64 lower-case hex digits naming a live
 * session is VG_ERR_AUTH_REQUIRED: no other error tells a prober what was
 * wrong. */
static void test_a31_session_malformed_tokens(void **state)
{
	vg_sessions *s = *state;
	token_t a;
	char buf[VG_SESSION_TOKEN_HEX + 8];

	create(s, ADMIN, NOW, MINUTE, a);
	assert_int_equal(vg_session_check(s, NULL, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(s, "", ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(NULL, a, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	/* one short, one long */
	memcpy(buf, a, VG_SESSION_TOKEN_HEX - 1);
	buf[VG_SESSION_TOKEN_HEX - 1] = '\0';
	assert_int_equal(vg_session_check(s, buf, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	memcpy(buf, a, VG_SESSION_TOKEN_HEX);
	strcpy(buf + VG_SESSION_TOKEN_HEX, "0");
	assert_int_equal(vg_session_check(s, buf, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	strcpy(buf + VG_SESSION_TOKEN_HEX, "\n");
	assert_int_equal(vg_session_check(s, buf, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	/* upper case, a non-hex digit, a space */
	for (size_t i = 0; i < VG_SESSION_TOKEN_HEX; i++)
		buf[i] = a[i] >= 'a' ? (char)(a[i] - 'a' + 'A') : a[i];
	buf[VG_SESSION_TOKEN_HEX] = '\0';
	if (strcmp(buf, a) != 0)
		assert_int_equal(vg_session_check(s, buf, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	memcpy(buf, a, sizeof a);
	buf[10] = 'g';
	assert_int_equal(vg_session_check(s, buf, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	buf[10] = ' ';
	assert_int_equal(vg_session_check(s, buf, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	/* every one-digit change of a good token */
	for (size_t i = 0; i < VG_SESSION_TOKEN_HEX; i++) {
		memcpy(buf, a, sizeof a);
		buf[i] = a[i] == '0' ? '1' : '0';
		assert_int_equal(vg_session_check(s, buf, ADMIN, NOW), VG_ERR_AUTH_REQUIRED);
	}
	assert_int_equal(vg_session_check(s, a, ADMIN, NOW), VG_OK);
}

/* SFR 4.2.13: bad creation arguments are VG_ERR_INVALID with an empty
 * token and an unchanged table. */
static void test_sfr4213_session_create_invalid(void **state)
{
	vg_sessions *s = *state;
	token_t a;

	memset(a, 'x', sizeof a);
	assert_int_equal(vg_session_create(s, ADMIN, NOW, 0, a), VG_ERR_INVALID);
	assert_string_equal(a, "");
	assert_int_equal(vg_session_create(s, ADMIN, UINT64_MAX - 5, 10, a), VG_ERR_INVALID);
	assert_int_equal(vg_session_create(NULL, ADMIN, NOW, MINUTE, a), VG_ERR_INVALID);
	assert_int_equal(vg_session_count(s, NOW), 0);
	/* the latest expiry that fits is fine */
	create(s, ADMIN, UINT64_MAX - 10, 10, a);
	assert_int_equal(vg_session_check(s, a, ADMIN, UINT64_MAX - 1), VG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sfr4213_session_token_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_session_bound_to_uid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4213_session_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4213_session_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4213_session_revoke_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4213_session_eviction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a31_session_malformed_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4213_session_create_invalid, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
