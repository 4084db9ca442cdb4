/*
 * throttle.h - brute-force throttling of admin authentication (SFR 4.2.13,
 * threat A.3.1: guessing the admin's secret), as pure logic over a small
 * state that the caller owns and persists (sealed store), so that neither
 * a restart nor a crash forgets a failure. No I/O, no clock reads: the
 * caller passes wall-clock seconds (time(NULL)), because the state must be
 * comparable across reboots, which a monotonic clock is not.
 *
 * Policy, by consecutive failures f since the last success:
 *
 *   f            wait after the f-th failure before the next attempt
 *   0..3         none (typos cost nothing)
 *   4, 5, ... 9  1, 2, 4, 8, 16, 32 s (doubling from 1 s, capped at 300 s)
 *   10 and on    3600 s: a 1-hour lock-out, again after every failure
 *
 * A success resets f to 0. So an online guesser gets 10 guesses in the
 * first 63 s and then one an hour, ~8800 a year, against a 12+ character
 * password that passed vg_pw_policy_check. The lock-out never becomes
 * permanent, so an attacker cannot lock the owner out for good.
 *
 * Clock: a wait is measured from the latest failure (last_fail_s). If the
 * clock is behind it (set back, or an RTC reset to 1970 before NTP), the
 * time elapsed counts as 0: the full wait applies until the clock passes
 * last_fail_s again, so moving the clock back never shortens a wait (it
 * can lengthen one; that fails closed). A failure recorded with such a
 * clock keeps the later last_fail_s.
 */
#ifndef VG_AUTH_THROTTLE_H
#define VG_AUTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_THROTTLE_FREE       3u    /* failures that cost nothing */
#define VG_THROTTLE_MAX_DELAY  300u  /* cap of the doubling delay, s */
#define VG_THROTTLE_LOCK_AFTER 10u   /* the failure that starts the lock-out */
#define VG_THROTTLE_LOCK_S     3600u /* the lock-out, s */
#define VG_THROTTLE_LEN        24u   /* encoded size */

/* All zero: no failures (also the state after vg_throttle_success). */
typedef struct vg_throttle {
	uint32_t failures;       /* consecutive failures, saturating */
	uint64_t last_fail_s;    /* wall clock of the latest failure (0: none) */
	uint64_t locked_until_s; /* last_fail_s + the wait in force (saturating);
				  * informative only (status displays): the
				  * check recomputes the wait from the two above */
} vg_throttle;

/* VG_OK when an attempt is allowed at now_s (*wait_s = 0), else
 * VG_ERR_LOCKED and the whole seconds to wait in *wait_s (> 0). Call it
 * before examining the secret, and do not examine it when locked. */
VG_NODISCARD vg_rc vg_throttle_check(const vg_throttle *t, uint64_t now_s, uint64_t *wait_s);
/* Records a failed attempt at now_s. Persist the state before answering. */
void vg_throttle_fail(vg_throttle *t, uint64_t now_s);
/* Records a success: back to the all-zero state. */
void vg_throttle_success(vg_throttle *t);
/* The wait imposed after `failures` consecutive failures (the table). */
uint64_t vg_throttle_delay(uint32_t failures);

/*
 * Encoding, 24 bytes, integers big-endian:
 *   0  4  magic and version "VGT1"
 *   4  4  failures
 *   8  8  last_fail_s
 *   16 8  locked_until_s
 * Decode is strict: VG_ERR_INTEGRITY (and *t all zero) for a NULL buffer,
 * any length but VG_THROTTLE_LEN or another magic; VG_ERR_INVALID for a
 * NULL t. Any values are accepted otherwise (the sealed store vouches for
 * them; a larger count or later time only makes the wait longer).
 */
void vg_throttle_encode(const vg_throttle *t, uint8_t out[static VG_THROTTLE_LEN]);
VG_NODISCARD vg_rc vg_throttle_decode(const uint8_t *buf, size_t len, vg_throttle *t);

#endif
