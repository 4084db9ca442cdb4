/* challenge.c - see challenge.h */
#include "auth/challenge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/util.h"
#include "crypto/pubkey.h"

struct pending {
	bool used;
	uint32_t uid;
	uint64_t issued_ms;
	uint8_t nonce[32];
};

struct vg_challenges {
	struct pending p[VG_CHALLENGES_MAX];
};

vg_rc vg_challenges_new(vg_challenges **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? VG_OK : VG_ERR_NOMEM;
}

void vg_challenges_free(vg_challenges **c)
{
	if (!c || !*c)
		return;
	vg_wipe(*c, sizeof **c);
	free(*c);
	*c = NULL;
}

void vg_challenge_message(const uint8_t nonce[static 32], uint32_t uid,
			  uint8_t out[static VG_CHALLENGE_MSG_LEN])
{
	static const char label[] = "voxguard-admin-auth-v1";

	memcpy(out, label, sizeof label); /* with its NUL */
	memcpy(out + sizeof label, nonce, 32);
	for (int i = 0; i < 4; i++)
		out[sizeof label + 32 + i] = (uint8_t)(uid >> (24 - 8 * i));
}

vg_rc vg_challenge_issue(vg_challenges *c, uint32_t uid, uint64_t now_ms, uint8_t nonce[static 32])
{
	struct pending *slot = NULL;

	for (size_t i = 0; i < VG_CHALLENGES_MAX; i++) {
		struct pending *q = &c->p[i];
		if (q->used && now_ms - q->issued_ms > VG_CHALLENGE_TTL_MS)
			memset(q, 0, sizeof *q);
		if (!q->used && !slot)
			slot = q;
	}
	if (!slot) {
		slot = &c->p[0];
		for (size_t i = 1; i < VG_CHALLENGES_MAX; i++)
			if (c->p[i].issued_ms < slot->issued_ms)
				slot = &c->p[i];
	}
	if (RAND_bytes(slot->nonce, sizeof slot->nonce) != 1) {
		memset(slot, 0, sizeof *slot);
		return VG_ERR_CRYPTO;
	}
	slot->used = true;
	slot->uid = uid;
	slot->issued_ms = now_ms;
	memcpy(nonce, slot->nonce, 32);
	return VG_OK;
}

vg_rc vg_challenge_answer(vg_challenges *c, uint32_t uid, const uint8_t nonce[static 32],
			  const uint8_t *sig, size_t sig_len, const uint8_t *pub_der,
			  size_t pub_len, uint64_t now_ms)
{
	uint8_t msg[VG_CHALLENGE_MSG_LEN];
	struct pending *hit = NULL;

	for (size_t i = 0; i < VG_CHALLENGES_MAX; i++) {
		struct pending *q = &c->p[i];
		if (q->used && q->uid == uid && CRYPTO_memcmp(q->nonce, nonce, 32) == 0)
			hit = q;
	}
	if (!hit)
		return VG_ERR_AUTH_REQUIRED;
	if (now_ms - hit->issued_ms > VG_CHALLENGE_TTL_MS) {
		memset(hit, 0, sizeof *hit);
		return VG_ERR_AUTH_REQUIRED;
	}
	memset(hit, 0, sizeof *hit); /* single use, whatever follows */
	vg_challenge_message(nonce, uid, msg);
	return vg_pubkey_verify(pub_der, pub_len, msg, sizeof msg, sig, sig_len) == VG_OK
		   ? VG_OK
		   : VG_ERR_AUTH_FAILED;
}
