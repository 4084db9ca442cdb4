/* challenge.c - see challenge.h */
#include "auth/challenge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "crypto/pubkey.h"

struct pending {
	bool used;
	uint32_t uid;
	uint64_t issued_ms;
	uint8_t nonce[VG_CHALLENGE_NONCE_LEN];
};

struct vg_challenges {
	struct pending p[VG_CHALLENGES_MAX];
};

vg_rc vg_challenges_new(vg_challenges **out)
{
	if (!out)
		return VG_ERR_INVALID;
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

void vg_challenge_message(const uint8_t nonce[static VG_CHALLENGE_NONCE_LEN], uint32_t uid,
			  uint8_t out[static VG_CHALLENGE_MSG_LEN])
{
	static const char label[] = VG_CHALLENGE_CONTEXT;

	_Static_assert(sizeof label + VG_CHALLENGE_NONCE_LEN + 4 == VG_CHALLENGE_MSG_LEN,
		       "message layout");
	memcpy(out, label, sizeof label); /* with its NUL: the 0x00 separator */
	memcpy(out + sizeof label, nonce, VG_CHALLENGE_NONCE_LEN);
	for (int i = 0; i < 4; i++)
		out[sizeof label + VG_CHALLENGE_NONCE_LEN + i] = (uint8_t)(uid >> (24 - 8 * i));
}

/* Live at now_ms; a clock before the issue time counts as expired. */
static bool live(const struct pending *q, uint64_t now_ms)
{
	return q->used && now_ms >= q->issued_ms && now_ms - q->issued_ms <= VG_CHALLENGE_TTL_MS;
}

vg_rc vg_challenge_issue(vg_challenges *c, uint32_t uid, uint64_t now_ms,
			 uint8_t nonce[static VG_CHALLENGE_NONCE_LEN])
{
	struct pending *slot = NULL;

	if (!c || !nonce)
		return VG_ERR_INVALID;
	for (size_t i = 0; i < VG_CHALLENGES_MAX; i++) {
		struct pending *q = &c->p[i];
		if (q->used && !live(q, now_ms))
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
		memset(nonce, 0, VG_CHALLENGE_NONCE_LEN);
		return VG_ERR_CRYPTO;
	}
	slot->used = true;
	slot->uid = uid;
	slot->issued_ms = now_ms;
	memcpy(nonce, slot->nonce, VG_CHALLENGE_NONCE_LEN);
	return VG_OK;
}

/* Only P-256 (by name: crypto/pubkey accepts any 256-bit curve) and
 * Ed25519, as exactly one DER SubjectPublicKeyInfo. */
static bool key_type_ok(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k;
	char group[32];
	size_t gl = 0;
	bool ok;

	if (!der || len == 0 || len > VG_CHALLENGE_PUBKEY_MAX)
		return false;
	k = d2i_PUBKEY(NULL, &p, (long)len);
	ok =
	    k && p == der + len &&
	    (EVP_PKEY_is_a(k, "ED25519") ||
	     (EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_group_name(k, group, sizeof group, &gl) == 1 &&
	      strcmp(group, "prime256v1") == 0));
	EVP_PKEY_free(k);
	ERR_clear_error();
	return ok;
}

vg_rc vg_challenge_answer(vg_challenges *c, uint32_t uid,
			  const uint8_t nonce[static VG_CHALLENGE_NONCE_LEN], const uint8_t *sig,
			  size_t sig_len, const uint8_t *pub_der, size_t pub_len, uint64_t now_ms)
{
	uint8_t msg[VG_CHALLENGE_MSG_LEN];
	struct pending *hit = NULL;
	vg_rc rc;

	if (!c || !nonce)
		return VG_ERR_INVALID;
	for (size_t i = 0; i < VG_CHALLENGES_MAX; i++) {
		struct pending *q = &c->p[i];
		if (q->used && q->uid == uid &&
		    CRYPTO_memcmp(q->nonce, nonce, VG_CHALLENGE_NONCE_LEN) == 0)
			hit = q;
	}
	if (!hit)
		return VG_ERR_AUTH_REQUIRED;
	if (!live(hit, now_ms)) {
		memset(hit, 0, sizeof *hit);
		return VG_ERR_AUTH_REQUIRED;
	}
	memset(hit, 0, sizeof *hit); /* single use, whatever follows */
	if (!sig || sig_len == 0 || sig_len > VG_CHALLENGE_SIG_MAX ||
	    !key_type_ok(pub_der, pub_len))
		return VG_ERR_AUTH_FAILED;
	vg_challenge_message(nonce, uid, msg);
	rc = vg_pubkey_verify(pub_der, pub_len, msg, sizeof msg, sig, sig_len) == VG_OK
		 ? VG_OK
		 : VG_ERR_AUTH_FAILED;
	vg_wipe(msg, sizeof msg);
	return rc;
}
