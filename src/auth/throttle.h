/*
 * throttle.h - brute-force throttling of admin authentication (SFR 4.2.13,
 * threat A.3.1), as pure logic over a small state that the caller
 * persists, so that it survives a restart.
 *
 * Policy: the first 3 consecutive failures cost nothing; from the 4th on,
 * each failure imposes a delay before the next attempt that doubles from
 * 1 s (1, 2, 4, ... capped at 300 s); the 10th consecutive failure, and
 * every one after it, locks out for 1 hour. A success resets everything.
 * Time is wall-clock seconds given by the caller; a clock that went back
 * (now < last failure) counts as no time passed, so it never unlocks early.
 */
#ifndef VG_AUTH_THROTTLE_H
#define VG_AUTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_THROTTLE_FREE       3u
#define VG_THROTTLE_MAX_DELAY  300u
#define VG_THROTTLE_LOCK_AFTER 10u
#define VG_THROTTLE_LOCK_S     3600u
#define VG_THROTTLE_LEN        24u

typedef struct vg_throttle {
	uint32_t failures;
	uint64_t last_fail_s;
	uint64_t locked_until_s; /* informative; the wait is recomputed */
} vg_throttle;

/* VG_OK when an attempt is allowed now, else VG_ERR_LOCKED and the
 * seconds to wait in *wait_s. */
VG_NODISCARD vg_rc vg_throttle_check(const vg_throttle *t, uint64_t now_s, uint64_t *wait_s);
void vg_throttle_fail(vg_throttle *t, uint64_t now_s);
void vg_throttle_success(vg_throttle *t);
/* The delay imposed after `failures` consecutive failures. */
uint64_t vg_throttle_delay(uint32_t failures);

/* "VGT1" | failures (u32) | last_fail_s (u64) | locked_until_s (u64), BE. */
void vg_throttle_encode(const vg_throttle *t, uint8_t out[static VG_THROTTLE_LEN]);
/* VG_ERR_INTEGRITY for a wrong length or magic. */
VG_NODISCARD vg_rc vg_throttle_decode(const uint8_t *buf, size_t len, vg_throttle *t);

#endif
