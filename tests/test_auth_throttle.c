/*
 * test_auth_throttle.c - brute-force throttling of admin authentication
 * (src/auth/throttle.h).
 *
 * SFR 4.2.13 / threat A.3.1: online guessing of the admin secret is slowed
 * to a few guesses an hour, across restarts (the state's encoding) and
 * whatever the wall clock does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "auth/throttle.h"
#include "common/util.h"

#define T0 UINT64_C(1700000000) /* some wall-clock second */

/* The wait after the f-th consecutive failure, as the header states it. */
static uint64_t expected_wait(uint32_t f)
{
	static const uint64_t w[] = {0, 0, 0, 0, 1, 2, 4, 8, 16, 32};

	return f < VG_ARRAY_LEN(w) ? w[f] : 3600;
}

static void assert_allowed(const vg_throttle *t, uint64_t now)
{
	uint64_t wait = 777;

	assert_int_equal(vg_throttle_check(t, now, &wait), VG_OK);
	assert_int_equal(wait, 0);
}

static void assert_locked(const vg_throttle *t, uint64_t now, uint64_t want_wait)
{
	uint64_t wait = 0;

	assert_int_equal(vg_throttle_check(t, now, &wait), VG_ERR_LOCKED);
	assert_int_equal(wait, want_wait);
}

/* SFR 4.2.13 / A.3.1: three free failures, then 1, 2, 4, 8, 16, 32 s, then
 * one hour after the 10th and every later failure: exact at each step,
 * one second early is refused with the right wait, on time is allowed. */
static void test_sfr4213_throttle_schedule_exact(void **state)
{
	vg_throttle t = {0};
	uint64_t now = T0;

	(void)state;
	assert_allowed(&t, now);
	for (uint32_t f = 1; f <= 14; f++) {
		uint64_t w = expected_wait(f);
		vg_throttle_fail(&t, now);
		assert_int_equal(t.failures, f);
		assert_int_equal(t.last_fail_s, now);
		assert_int_equal(t.locked_until_s, now + w);
		assert_int_equal(vg_throttle_delay(f), w);
		if (w == 0) {
			assert_allowed(&t, now);
		} else {
			assert_locked(&t, now, w);
			assert_locked(&t, now + w - 1, 1);
		}
		assert_allowed(&t, now + w);
		now += w; /* the next attempt comes as early as allowed */
	}
	/* the first 9 failures cost 63 s in all */
	assert_int_equal(now, T0 + 63 + 5 * 3600);
}

/* A.3.1: the 10th consecutive failure locks out for one hour, and so does
 * every failure after it; the lock-out is never longer (no permanent
 * lock-out of the owner) and the delay table saturates. */
static void test_a31_throttle_lockout_at_10(void **state)
{
	vg_throttle t = {0};

	(void)state;
	for (uint32_t f = 1; f <= 9; f++)
		vg_throttle_fail(&t, T0);
	assert_locked(&t, T0, 32);
	assert_allowed(&t, T0 + 32);
	vg_throttle_fail(&t, T0 + 32);
	assert_locked(&t, T0 + 32, 3600);
	assert_locked(&t, T0 + 32 + 1800, 1800);
	assert_locked(&t, T0 + 32 + 3599, 1);
	assert_allowed(&t, T0 + 32 + 3600);
	assert_int_equal(vg_throttle_delay(10), VG_THROTTLE_LOCK_S);
	assert_int_equal(vg_throttle_delay(1000), VG_THROTTLE_LOCK_S);
	assert_int_equal(vg_throttle_delay(UINT32_MAX), VG_THROTTLE_LOCK_S);
	/* the doubling never exceeds its cap */
	for (uint32_t f = 0; f < VG_THROTTLE_LOCK_AFTER; f++)
		assert_true(vg_throttle_delay(f) <= VG_THROTTLE_MAX_DELAY);
}

/* SFR 4.2.13: a success resets the count, so the next typos are free. */
static void test_sfr4213_throttle_success_resets(void **state)
{
	vg_throttle t = {0}, zero = {0};

	(void)state;
	for (uint32_t f = 1; f <= 12; f++)
		vg_throttle_fail(&t, T0);
	vg_throttle_success(&t);
	assert_memory_equal(&t, &zero, sizeof t);
	assert_allowed(&t, T0);
	for (uint32_t f = 1; f <= 3; f++) {
		vg_throttle_fail(&t, T0 + 10);
		assert_allowed(&t, T0 + 10);
	}
	vg_throttle_fail(&t, T0 + 10);
	assert_locked(&t, T0 + 10, 1);
}

/* A.3.1: setting the clock back never shortens a wait: time before the
 * last failure counts as none elapsed (the full wait applies), and a
 * failure recorded with a clock set back keeps the later time. */
static void test_a31_throttle_clock_backwards(void **state)
{
	vg_throttle t = {0};

	(void)state;
	for (uint32_t f = 1; f <= 10; f++)
		vg_throttle_fail(&t, T0);
	assert_locked(&t, T0, 3600);
	assert_locked(&t, T0 - 1, 3600);
	assert_locked(&t, T0 - 86400, 3600);
	assert_locked(&t, 0, 3600); /* an RTC reset to 1970 */
	assert_locked(&t, T0 + 1800, 1800);
	assert_allowed(&t, T0 + 3600);
	/* a failure with the clock a day behind: the wait still runs from
	 * the later time */
	vg_throttle_fail(&t, T0 - 86400);
	assert_int_equal(t.last_fail_s, T0);
	assert_int_equal(t.locked_until_s, T0 + 3600);
	assert_locked(&t, T0 - 86400 + 3600, 3600);
	assert_locked(&t, T0 + 3599, 1);
	assert_allowed(&t, T0 + 3600);
	/* free failures stay free whatever the clock says */
	vg_throttle_success(&t);
	vg_throttle_fail(&t, T0);
	assert_allowed(&t, 5);
}

/* SFR 4.2.13: the count and times saturate instead of wrapping (a wrap
 * would unlock). */
static void test_sfr4213_throttle_saturates(void **state)
{
	vg_throttle t = {.failures = UINT32_MAX - 1, .last_fail_s = UINT64_MAX - 10};

	(void)state;
	vg_throttle_fail(&t, UINT64_MAX - 5);
	assert_int_equal(t.failures, UINT32_MAX);
	assert_int_equal(t.locked_until_s, UINT64_MAX);
	vg_throttle_fail(&t, UINT64_MAX - 5);
	assert_int_equal(t.failures, UINT32_MAX);
	assert_locked(&t, UINT64_MAX - 5, 3600);
	assert_locked(&t, UINT64_MAX, 3595);
}

/* SFR 4.2.13: the state survives a restart: its 24-byte encoding (magic
 * "VGT1", big-endian fields) decodes to the same state. */
static void test_sfr4213_throttle_encoding_roundtrip(void **state)
{
	static const uint8_t want[VG_THROTTLE_LEN] = {
	    'V',  'G',  'T',  '1',  0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00,
	    0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x02,
	};
	vg_throttle t = {0}, back;
	uint8_t buf[VG_THROTTLE_LEN];

	(void)state;
	for (uint32_t f = 1; f <= 5; f++)
		vg_throttle_fail(&t, T0);
	vg_throttle_encode(&t, buf);
	assert_memory_equal(buf, want, sizeof buf);
	assert_int_equal(vg_throttle_decode(buf, sizeof buf, &back), VG_OK);
	assert_memory_equal(&back, &t, sizeof t);
	assert_locked(&back, T0, 2);

	t = (vg_throttle){
	    .failures = UINT32_MAX, .last_fail_s = UINT64_MAX - 1, .locked_until_s = UINT64_MAX};
	vg_throttle_encode(&t, buf);
	assert_int_equal(vg_throttle_decode(buf, sizeof buf, &back), VG_OK);
	assert_memory_equal(&back, &t, sizeof t);

	t = (vg_throttle){0};
	vg_throttle_encode(&t, buf);
	assert_int_equal(vg_throttle_decode(buf, sizeof buf, &back), VG_OK);
	assert_memory_equal(&back, &t, sizeof t);
}

/* SFR 4.2.13: a corrupt or foreign record is VG_ERR_INTEGRITY, with an
 * all-zero state, never a half-read one. */
static void test_sfr4213_throttle_decode_refuses_corrupt(void **state)
{
	vg_throttle t = {0}, back, zero = {0};
	uint8_t buf[VG_THROTTLE_LEN + 1], bad[VG_THROTTLE_LEN + 1];

	(void)state;
	for (uint32_t f = 1; f <= 11; f++)
		vg_throttle_fail(&t, T0);
	vg_throttle_encode(&t, buf);
	buf[VG_THROTTLE_LEN] = 0;
	for (size_t len = 0; len <= VG_THROTTLE_LEN + 1; len++) {
		if (len == VG_THROTTLE_LEN)
			continue;
		memset(&back, 0x5a, sizeof back);
		assert_int_equal(vg_throttle_decode(buf, len, &back), VG_ERR_INTEGRITY);
		assert_memory_equal(&back, &zero, sizeof back);
	}
	for (size_t i = 0; i < 4; i++) {
		for (uint8_t bit = 1; bit; bit = (uint8_t)(bit << 1)) {
			memcpy(bad, buf, sizeof bad);
			bad[i] ^= bit; /* magic or version */
			memset(&back, 0x5a, sizeof back);
			assert_int_equal(vg_throttle_decode(bad, VG_THROTTLE_LEN, &back),
					 VG_ERR_INTEGRITY);
			assert_memory_equal(&back, &zero, sizeof back);
		}
	}
	assert_int_equal(vg_throttle_decode(NULL, VG_THROTTLE_LEN, &back), VG_ERR_INTEGRITY);
	assert_int_equal(vg_throttle_decode(buf, VG_THROTTLE_LEN, NULL), VG_ERR_INVALID);
	assert_int_equal(vg_throttle_decode(buf, VG_THROTTLE_LEN, &back), VG_OK);
	assert_int_equal(back.failures, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr4213_throttle_schedule_exact),
	    cmocka_unit_test(test_a31_throttle_lockout_at_10),
	    cmocka_unit_test(test_sfr4213_throttle_success_resets),
	    cmocka_unit_test(test_a31_throttle_clock_backwards),
	    cmocka_unit_test(test_sfr4213_throttle_saturates),
	    cmocka_unit_test(test_sfr4213_throttle_encoding_roundtrip),
	    cmocka_unit_test(test_sfr4213_throttle_decode_refuses_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
