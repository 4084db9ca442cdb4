/*
 * test_auth.c - the admin-authentication primitives (src/auth/): password
 * hashing and policy, brute-force throttle, sessions, signed challenges.
 *
 * SFR 4.2.13 (authenticated access control), AVS 1.2 (no default or weak
 * passwords), threat A.3.1 (impersonation of the admin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/challenge.h"
#include "helpers.h"
#include "auth/password.h"
#include "auth/session.h"
#include "auth/throttle.h"

static const char good[] = "correct horse battery staple 42!";
#define GOOD_LEN (sizeof good - 1)

/* ---- passwords ---- */

/* SFR 4.2.13: a hash verifies its password and nothing else; two hashes
 * of one password differ (random salt); the string has the PHC shape. */
static void test_sfr4213_password_hash_roundtrip(void **state)
{
	vg_pw_params p = VG_PW_PARAMS_TEST;
	char a[VG_PW_ENCODED_MAX], b[VG_PW_ENCODED_MAX];

	(void)state;
	assert_int_equal(vg_pw_hash(good, GOOD_LEN, &p, a, sizeof a), VG_OK);
	assert_int_equal(vg_pw_hash(good, GOOD_LEN, &p, b, sizeof b), VG_OK);
	assert_true(strncmp(a, "$scrypt$ln=10,r=8,p=1$", 22) == 0);
	assert_string_not_equal(a, b);
	assert_int_equal(vg_pw_verify(good, GOOD_LEN, a), VG_OK);
	assert_int_equal(vg_pw_verify(good, GOOD_LEN, b), VG_OK);
	assert_int_equal(vg_pw_verify(good, GOOD_LEN - 1, a), VG_ERR_AUTH_FAILED);
	assert_int_equal(vg_pw_verify("Correct horse battery staple 42!", GOOD_LEN, a),
			 VG_ERR_AUTH_FAILED);
	assert_int_equal(vg_pw_verify("", 0, a), VG_ERR_AUTH_FAILED);
	/* The plaintext is nowhere in the string. */
	assert_null(strstr(a, "horse"));
	p.log2_n = 21;
	assert_int_equal(vg_pw_hash(good, GOOD_LEN, &p, a, sizeof a), VG_ERR_INVALID);
}

/* SFR 4.2.13 (hostile stored bytes): malformed or out-of-bounds strings are
 * refused before any hashing, so a forged record cannot exhaust memory. */
static void test_sfr4213_password_bad_encodings(void **state)
{
	vg_pw_params p = VG_PW_PARAMS_TEST;
	char ok[VG_PW_ENCODED_MAX], bad[VG_PW_ENCODED_MAX + 8];
	static const char *const cases[] = {
	    "",
	    "$scrypt$",
	    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA",
	    "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=800,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=9$AAAAAAAAAAAAAAAAAAAAAA$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=09,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
	    "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAA*$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=-1,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (vg_pw_verify(good, GOOD_LEN, cases[i]) != VG_ERR_INVALID)
			fail_msg("accepted malformed #%zu: %s", i, cases[i]);
	assert_int_equal(vg_pw_verify(good, GOOD_LEN, NULL), VG_ERR_INVALID);
	/* Every truncation of a good string is refused or fails. */
	assert_int_equal(vg_pw_hash(good, GOOD_LEN, &p, ok, sizeof ok), VG_OK);
	for (size_t n = 0; n < strlen(ok); n++) {
		memcpy(bad, ok, n);
		bad[n] = '\0';
		assert_true(vg_pw_verify(good, GOOD_LEN, bad) != VG_OK);
	}
	/* An over-long string is refused unread. */
	memset(bad, 'A', sizeof bad - 1);
	bad[sizeof bad - 1] = '\0';
	assert_int_equal(vg_pw_verify(good, GOOD_LEN, bad), VG_ERR_INVALID);
}

static vg_rc policy(const char *pw)
{
	static const char *const words[] = {"ABCD-EFGH-JKMN-PQRS", "ABCDEFGHJKMNPQRS", "Acme",
					    "Echo One", "B2"};
	char why[128] = "";
	vg_rc rc = vg_pw_policy_check(pw, strlen(pw), words, 5, why, sizeof why);

	if (rc != VG_OK) {
		assert_true(why[0] != '\0');
		assert_null(strstr(why, pw)); /* never echoes the password */
	}
	return rc;
}

/* AVS 1.2: each policy rule refuses what it should and lets a good
 * password through. */
static void test_avs12_password_policy(void **state)
{
	(void)state;
	assert_int_equal(policy(good), VG_OK);
	assert_int_equal(policy("a long and unusual passphrase 77"), VG_OK);
	assert_int_equal(policy("Zürich-Bahnhof-2027"), VG_OK); /* UTF-8 is fine */
	assert_int_equal(policy("short1!"), VG_ERR_POLICY);
	assert_int_equal(policy("password1234"), VG_ERR_POLICY);  /* common + digits */
	assert_int_equal(policy("Password1234!"), VG_ERR_POLICY); /* case, punctuation */
	assert_int_equal(policy("p@ssw0rd12345"), VG_ERR_POLICY); /* leet */
	assert_int_equal(policy("administrator"), VG_ERR_POLICY);
	assert_int_equal(policy("qwertyuiopasdf"), VG_ERR_POLICY); /* keyboard row */
	assert_int_equal(policy("abcdefghijklmn"), VG_ERR_POLICY); /* alphabet */
	assert_int_equal(policy("9876543210987"), VG_ERR_POLICY);  /* digits, reversed */
	assert_int_equal(policy("aaaaaaaaaaaaaaa"), VG_ERR_POLICY);
	assert_int_equal(policy("abababababab"), VG_ERR_POLICY);              /* too few distinct */
	assert_int_equal(policy("my acme speaker!"), VG_ERR_POLICY);          /* OEM name */
	assert_int_equal(policy("xx-abcd-efgh-jkmn-pqrs-xx"), VG_ERR_POLICY); /* setup code */
	assert_int_equal(policy("b2 is my hardware"), VG_OK);         /* words < 4 chars ignored */
	assert_int_equal(policy("tab\there in it 1"), VG_ERR_POLICY); /* control char */
	assert_int_equal(policy("bad utf8 \xc3\x28 here"), VG_ERR_POLICY);
	assert_int_equal(policy("overlong \xc0\xaf utf8 x"), VG_ERR_POLICY);
	{
		char big[300];
		memset(big, 'x', sizeof big);
		for (size_t i = 0; i < sizeof big; i++)
			big[i] = (char)('a' + i % 26);
		big[sizeof big - 1] = '\0';
		assert_int_equal(policy(big), VG_ERR_POLICY); /* too long */
	}
}

/* ---- throttle ---- */

/* SFR 4.2.13 / A.3.1: three free failures, then 1, 2, 4 ... 256, 300 s,
 * and a 1-hour lock-out from the 10th; success resets. */
static void test_sfr4213_throttle_schedule(void **state)
{
	static const uint64_t want[] = {0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 3600, 3600};
	vg_throttle t = {0};
	uint64_t w = 99, now = 1000000;

	(void)state;
	for (uint32_t f = 0; f < sizeof want / sizeof want[0]; f++)
		assert_int_equal(vg_throttle_delay(f), want[f]);
	assert_int_equal(vg_throttle_delay(9), 32);
	assert_int_equal(vg_throttle_delay(1000), 3600);
	assert_int_equal(vg_throttle_check(&t, now, &w), VG_OK);
	assert_int_equal(w, 0);
	for (int i = 0; i < 3; i++)
		vg_throttle_fail(&t, now);
	assert_int_equal(vg_throttle_check(&t, now, &w), VG_OK);
	vg_throttle_fail(&t, now);
	assert_int_equal(vg_throttle_check(&t, now, &w), VG_ERR_LOCKED);
	assert_int_equal(w, 1);
	assert_int_equal(vg_throttle_check(&t, now + 1, &w), VG_OK);
	vg_throttle_fail(&t, now + 1);
	assert_int_equal(vg_throttle_check(&t, now + 2, &w), VG_ERR_LOCKED);
	assert_int_equal(w, 1);
	for (int i = 0; i < 5; i++)
		vg_throttle_fail(&t, now + 2);
	assert_int_equal(t.failures, 10);
	assert_int_equal(vg_throttle_check(&t, now + 2 + 3599, &w), VG_ERR_LOCKED);
	assert_int_equal(w, 1);
	/* A clock set back does not unlock. */
	assert_int_equal(vg_throttle_check(&t, 5, &w), VG_ERR_LOCKED);
	assert_int_equal(w, 3600);
	vg_throttle_fail(&t, 5); /* keeps the later time */
	assert_int_equal(t.last_fail_s, now + 2);
	assert_int_equal(vg_throttle_check(&t, now + 2 + 3600, &w), VG_OK);
	vg_throttle_success(&t);
	assert_int_equal(t.failures, 0);
	assert_int_equal(vg_throttle_check(&t, now, &w), VG_OK);
}

/* SFR 4.2.13: the throttle state survives its encoding (what a restart
 * reads back); a corrupt one is refused, not read as "no failures". */
static void test_sfr4213_throttle_encoding(void **state)
{
	vg_throttle t = {.failures = 7, .last_fail_s = 0x0102030405060708ull, .locked_until_s = 42},
		    u;
	uint8_t b[VG_THROTTLE_LEN];

	(void)state;
	vg_throttle_encode(&t, b);
	assert_int_equal(vg_throttle_decode(b, sizeof b, &u), VG_OK);
	assert_int_equal(u.failures, t.failures);
	assert_true(u.last_fail_s == t.last_fail_s);
	assert_true(u.locked_until_s == t.locked_until_s);
	assert_int_equal(vg_throttle_decode(b, sizeof b - 1, &u), VG_ERR_INTEGRITY);
	b[0] ^= 1;
	assert_int_equal(vg_throttle_decode(b, sizeof b, &u), VG_ERR_INTEGRITY);
}

/* ---- sessions ---- */

/* SFR 4.2.13: a session works for its uid only, until it expires or is
 * revoked; stolen, made-up and malformed tokens all fail alike. */
static void test_sfr4213_sessions(void **state)
{
	vg_sessions *s = NULL;
	char t1[VG_SESSION_TOKEN_HEX + 1], t2[VG_SESSION_TOKEN_HEX + 1],
	    bad[VG_SESSION_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(vg_sessions_new(&s), VG_OK);
	assert_int_equal(vg_session_create(s, 1000, 0, 5000, t1), VG_OK);
	assert_int_equal(vg_session_create(s, 1001, 0, 5000, t2), VG_OK);
	assert_int_equal(strlen(t1), 64);
	assert_string_not_equal(t1, t2);
	assert_int_equal(vg_session_check(s, t1, 1000, 100), VG_OK);
	assert_int_equal(vg_session_check(s, t1, 1001, 100), VG_ERR_AUTH_REQUIRED); /* stolen */
	assert_int_equal(vg_session_check(s, t2, 1001, 100), VG_OK);
	memcpy(bad, t1, sizeof bad);
	bad[0] = bad[0] == 'a' ? 'b' : 'a';
	assert_int_equal(vg_session_check(s, bad, 1000, 100), VG_ERR_AUTH_REQUIRED);
	bad[0] = 'G';
	assert_int_equal(vg_session_check(s, bad, 1000, 100), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(s, "", 1000, 100), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(s, NULL, 1000, 100), VG_ERR_AUTH_REQUIRED);
	/* Upper-case hex is not the token we issued. */
	memcpy(bad, t1, sizeof bad);
	for (char *p = bad; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	if (strcmp(bad, t1) != 0)
		assert_int_equal(vg_session_check(s, bad, 1000, 100), VG_ERR_AUTH_REQUIRED);
	/* Expiry. */
	assert_int_equal(vg_session_check(s, t1, 1000, 4999), VG_OK);
	assert_int_equal(vg_session_check(s, t1, 1000, 5000), VG_ERR_AUTH_REQUIRED);
	/* Revoke one, then all. */
	assert_int_equal(vg_session_create(s, 1000, 6000, 5000, t1), VG_OK);
	vg_session_revoke(s, t1);
	assert_int_equal(vg_session_check(s, t1, 1000, 6001), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_create(s, 1000, 6000, 5000, t1), VG_OK);
	assert_int_equal(vg_session_create(s, 1001, 6000, 5000, t2), VG_OK);
	vg_session_revoke_all(s);
	assert_int_equal(vg_session_check(s, t1, 1000, 6001), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(s, t2, 1001, 6001), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_count(s, 6001), 0);
	/* A full table evicts the one expiring first. */
	assert_int_equal(vg_session_create(s, 7, 10000, 100, t1), VG_OK);
	for (unsigned i = 1; i < VG_SESSIONS_MAX; i++)
		assert_int_equal(vg_session_create(s, 7, 10000, 1000 + i, t2), VG_OK);
	assert_int_equal(vg_session_count(s, 10001), VG_SESSIONS_MAX);
	assert_int_equal(vg_session_create(s, 7, 10001, 5000, t2), VG_OK);
	assert_int_equal(vg_session_check(s, t1, 7, 10002), VG_ERR_AUTH_REQUIRED);
	assert_int_equal(vg_session_check(s, t2, 7, 10002), VG_OK);
	vg_sessions_free(&s);
	assert_null(s);
}

/* ---- challenges ---- */

/* SFR 4.2.13: a companion app's registered key (P-256 or Ed25519) answers
 * a challenge; another key, a replay, another uid or a late answer fail. */
static void test_sfr4213_key_challenges(void **state)
{
	EVP_PKEY *keys[2] = {EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
			     EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")};
	EVP_PKEY *evil = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	vg_challenges *c = NULL;

	(void)state;
	assert_int_equal(vg_challenges_new(&c), VG_OK);
	for (int i = 0; i < 2; i++) {
		uint8_t nonce[32], msg[VG_CHALLENGE_MSG_LEN], sig[256], *der = NULL;
		size_t sl, dl = vgt_pub_der(keys[i], &der);

		assert_int_equal(vg_challenge_issue(c, 1000, 0, nonce), VG_OK);
		vg_challenge_message(nonce, 1000, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(vg_challenge_answer(c, 1000, nonce, sig, sl, der, dl, 10), VG_OK);
		/* Replay. */
		assert_int_equal(vg_challenge_answer(c, 1000, nonce, sig, sl, der, dl, 11),
				 VG_ERR_AUTH_REQUIRED);
		/* Another uid answering alice's challenge. */
		assert_int_equal(vg_challenge_issue(c, 1000, 0, nonce), VG_OK);
		vg_challenge_message(nonce, 1000, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(vg_challenge_answer(c, 1001, nonce, sig, sl, der, dl, 10),
				 VG_ERR_AUTH_REQUIRED);
		/* Signed for another uid's message. */
		vg_challenge_message(nonce, 1001, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(vg_challenge_answer(c, 1000, nonce, sig, sl, der, dl, 10),
				 VG_ERR_AUTH_FAILED);
		/* Consumed by the failure. */
		vg_challenge_message(nonce, 1000, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(vg_challenge_answer(c, 1000, nonce, sig, sl, der, dl, 10),
				 VG_ERR_AUTH_REQUIRED);
		/* Too late. */
		assert_int_equal(vg_challenge_issue(c, 1000, 0, nonce), VG_OK);
		vg_challenge_message(nonce, 1000, msg);
		sl = vgt_sign(keys[i], msg, sizeof msg, sig);
		assert_int_equal(
		    vg_challenge_answer(c, 1000, nonce, sig, sl, der, dl, VG_CHALLENGE_TTL_MS + 1),
		    VG_ERR_AUTH_REQUIRED);
		/* Another key's signature. */
		assert_int_equal(vg_challenge_issue(c, 1000, 0, nonce), VG_OK);
		vg_challenge_message(nonce, 1000, msg);
		sl = vgt_sign(evil, msg, sizeof msg, sig);
		assert_int_equal(vg_challenge_answer(c, 1000, nonce, sig, sl, der, dl, 10),
				 VG_ERR_AUTH_FAILED);
		OPENSSL_free(der);
	}
	vg_challenges_free(&c);
	EVP_PKEY_free(keys[0]);
	EVP_PKEY_free(keys[1]);
	EVP_PKEY_free(evil);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr4213_password_hash_roundtrip),
	    cmocka_unit_test(test_sfr4213_password_bad_encodings),
	    cmocka_unit_test(test_avs12_password_policy),
	    cmocka_unit_test(test_sfr4213_throttle_schedule),
	    cmocka_unit_test(test_sfr4213_throttle_encoding),
	    cmocka_unit_test(test_sfr4213_sessions),
	    cmocka_unit_test(test_sfr4213_key_challenges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
