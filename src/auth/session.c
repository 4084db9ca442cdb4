/* session.c - see session.h */
#include "auth/session.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/util.h"
#include "crypto/seal.h"

struct entry {
	bool used;
	uint32_t uid;
	uint64_t expires_ms;
	uint8_t hash[32];
};

struct vg_sessions {
	struct entry e[VG_SESSIONS_MAX];
};

vg_rc vg_sessions_new(vg_sessions **out)
{
	if (!out)
		return VG_ERR_INVALID;
	*out = calloc(1, sizeof **out);
	return *out ? VG_OK : VG_ERR_NOMEM;
}

void vg_sessions_free(vg_sessions **s)
{
	if (!s || !*s)
		return;
	vg_wipe(*s, sizeof **s);
	free(*s);
	*s = NULL;
}

static void purge(vg_sessions *s, uint64_t now_ms)
{
	for (size_t i = 0; i < VG_SESSIONS_MAX; i++)
		if (s->e[i].used && now_ms >= s->e[i].expires_ms)
			memset(&s->e[i], 0, sizeof s->e[i]);
}

/* SHA-256 of the token's 32 bytes; false for a malformed token. */
static bool token_hash(const char *token, uint8_t h[32])
{
	uint8_t raw[VG_SESSION_TOKEN_LEN];
	size_t n = 0;
	bool ok = token && strnlen(token, VG_SESSION_TOKEN_HEX + 1) == VG_SESSION_TOKEN_HEX;

	for (size_t i = 0; ok && i < VG_SESSION_TOKEN_HEX; i++)
		ok = (token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f');
	ok = ok && vg_hex_decode(token, raw, sizeof raw, &n) && n == 32;
	ok = ok && vg_sha256(raw, sizeof raw, h) == VG_OK;
	vg_wipe(raw, sizeof raw);
	return ok;
}

vg_rc vg_session_create(vg_sessions *s, uint32_t uid, uint64_t now_ms, uint64_t ttl_ms,
			char token[static VG_SESSION_TOKEN_HEX + 1])
{
	uint8_t raw[VG_SESSION_TOKEN_LEN], h[32];
	struct entry *slot = NULL;
	vg_rc rc;

	if (!token)
		return VG_ERR_INVALID;
	token[0] = '\0';
	if (!s || ttl_ms == 0 || now_ms > UINT64_MAX - ttl_ms)
		return VG_ERR_INVALID;
	purge(s, now_ms);
	for (size_t i = 0; i < VG_SESSIONS_MAX && !slot; i++)
		if (!s->e[i].used)
			slot = &s->e[i];
	if (!slot) {
		slot = &s->e[0];
		for (size_t i = 1; i < VG_SESSIONS_MAX; i++)
			if (s->e[i].expires_ms < slot->expires_ms)
				slot = &s->e[i];
	}
	if (RAND_bytes(raw, sizeof raw) != 1)
		return VG_ERR_CRYPTO;
	rc = vg_sha256(raw, sizeof raw, h);
	if (rc == VG_OK) {
		vg_hex_encode(raw, sizeof raw, token);
		memcpy(slot->hash, h, sizeof h);
		slot->used = true;
		slot->uid = uid;
		slot->expires_ms = now_ms + ttl_ms;
	}
	vg_wipe(raw, sizeof raw);
	vg_wipe(h, sizeof h);
	return rc != VG_OK ? VG_ERR_CRYPTO : VG_OK;
}

vg_rc vg_session_check(vg_sessions *s, const char *token, uint32_t uid, uint64_t now_ms)
{
	uint8_t h[32];
	bool found = false;

	if (!s)
		return VG_ERR_AUTH_REQUIRED;
	purge(s, now_ms);
	if (!token_hash(token, h))
		return VG_ERR_AUTH_REQUIRED;
	/* Every entry is compared, whichever matches. */
	for (size_t i = 0; i < VG_SESSIONS_MAX; i++) {
		bool match = CRYPTO_memcmp(s->e[i].hash, h, sizeof h) == 0;
		/* bitwise, not &&: no branch on which entry matched */
		found |= match & s->e[i].used & (s->e[i].uid == uid);
	}
	vg_wipe(h, sizeof h);
	return found ? VG_OK : VG_ERR_AUTH_REQUIRED;
}

void vg_session_revoke(vg_sessions *s, const char *token)
{
	uint8_t h[32];

	if (!s || !token_hash(token, h))
		return;
	for (size_t i = 0; i < VG_SESSIONS_MAX; i++)
		if (s->e[i].used && CRYPTO_memcmp(s->e[i].hash, h, sizeof h) == 0)
			memset(&s->e[i], 0, sizeof s->e[i]);
	vg_wipe(h, sizeof h);
}

void vg_session_revoke_all(vg_sessions *s)
{
	if (s)
		vg_wipe(s->e, sizeof s->e);
}

size_t vg_session_count(vg_sessions *s, uint64_t now_ms)
{
	size_t n = 0;

	if (!s)
		return 0;
	purge(s, now_ms);
	for (size_t i = 0; i < VG_SESSIONS_MAX; i++)
		n += s->e[i].used;
	return n;
}
