/* debug.c - see debug.h */
#include "daemon/debug.h"

#include <string.h>

#include <openssl/rand.h>

#include "common/util.h"
#include "crypto/pubkey.h"

#define CHALLENGE_MS (5u * 60u * 1000u)

static const char label[] = "voxguard-debug-unlock-v1";

void vg_debug_message(const uint8_t nonce[static 32], const uint8_t iid[static 33],
		      uint8_t msg[static VG_DEBUG_MSG_LEN])
{
	memcpy(msg, label, sizeof label); /* with its NUL */
	memcpy(msg + sizeof label, nonce, 32);
	memcpy(msg + sizeof label + 32, iid, 33);
}

vg_rc vg_debug_challenge(vg_debug *d, uint64_t now_ms, uint8_t nonce[static 32])
{
	if (RAND_bytes(d->nonce, sizeof d->nonce) != 1)
		return VG_ERR_CRYPTO;
	d->pending = true;
	d->expires_ms = now_ms + CHALLENGE_MS;
	memcpy(nonce, d->nonce, 32);
	return VG_OK;
}

vg_rc vg_debug_unlock(vg_debug *d, uint64_t now_ms, const uint8_t iid[static 33],
		      const uint8_t *sig, size_t sig_len, const uint8_t *key_der, size_t key_len)
{
	uint8_t msg[VG_DEBUG_MSG_LEN];
	bool live = d->pending && now_ms <= d->expires_ms;

	vg_debug_message(d->nonce, iid, msg);
	/* Single use: consumed whatever happens next. */
	d->pending = false;
	vg_wipe(d->nonce, sizeof d->nonce);
	if (!live)
		return VG_ERR_AUTH_REQUIRED;
	if (vg_pubkey_verify(key_der, key_len, msg, sizeof msg, sig, sig_len) != VG_OK)
		return VG_ERR_AUTH_FAILED;
	d->unlocked = true;
	return VG_OK;
}

void vg_debug_lock(vg_debug *d)
{
	d->unlocked = false;
	d->pending = false;
	vg_wipe(d->nonce, sizeof d->nonce);
}
