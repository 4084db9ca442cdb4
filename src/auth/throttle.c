/* throttle.c - see throttle.h */
#include "auth/throttle.h"

#include <string.h>

uint64_t vg_throttle_delay(uint32_t failures)
{
	uint32_t k;

	if (failures >= VG_THROTTLE_LOCK_AFTER)
		return VG_THROTTLE_LOCK_S;
	if (failures <= VG_THROTTLE_FREE)
		return 0;
	k = failures - VG_THROTTLE_FREE - 1; /* 4th failure: 2^0 */
	if (k >= 9 || (UINT64_C(1) << k) > VG_THROTTLE_MAX_DELAY)
		return VG_THROTTLE_MAX_DELAY; /* unreachable below the lock-out */
	return UINT64_C(1) << k;
}

vg_rc vg_throttle_check(const vg_throttle *t, uint64_t now_s, uint64_t *wait_s)
{
	uint64_t delay = vg_throttle_delay(t->failures);
	uint64_t elapsed = now_s > t->last_fail_s ? now_s - t->last_fail_s : 0;

	*wait_s = 0;
	if (elapsed >= delay)
		return VG_OK;
	*wait_s = delay - elapsed;
	return VG_ERR_LOCKED;
}

void vg_throttle_fail(vg_throttle *t, uint64_t now_s)
{
	uint64_t delay;

	if (t->failures < UINT32_MAX)
		t->failures++;
	/* A clock set back must not shorten the wait: keep the later time. */
	if (now_s > t->last_fail_s)
		t->last_fail_s = now_s;
	delay = vg_throttle_delay(t->failures);
	t->locked_until_s =
	    t->last_fail_s > UINT64_MAX - delay ? UINT64_MAX : t->last_fail_s + delay;
}

void vg_throttle_success(vg_throttle *t)
{
	memset(t, 0, sizeof *t);
}

static void be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t rd(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void vg_throttle_encode(const vg_throttle *t, uint8_t out[static VG_THROTTLE_LEN])
{
	memcpy(out, "VGT1", 4);
	be(out + 4, t->failures, 4);
	be(out + 8, t->last_fail_s, 8);
	be(out + 16, t->locked_until_s, 8);
}

vg_rc vg_throttle_decode(const uint8_t *buf, size_t len, vg_throttle *t)
{
	if (!t)
		return VG_ERR_INVALID;
	memset(t, 0, sizeof *t);
	if (!buf || len != VG_THROTTLE_LEN || memcmp(buf, "VGT1", 4) != 0)
		return VG_ERR_INTEGRITY;
	t->failures = (uint32_t)rd(buf + 4, 4);
	t->last_fail_s = rd(buf + 8, 8);
	t->locked_until_s = rd(buf + 16, 8);
	return VG_OK;
}
