/*
 * challenge.h - key-based admin authentication for a companion app
 * (SFR 4.2.13, threat A.3.1): the service issues a nonce, the app signs it
 * with a private key whose public half an admin registered earlier, and a
 * good answer is worth a session. No shared secret crosses the network or
 * sits on the device, and a recorded answer is useless (single-use nonce).
 *
 * Challenges live in memory only, in a table of VG_CHALLENGES_MAX entries;
 * issuing into a full table drops the oldest. Each is bound to the uid it
 * was issued to, lives VG_CHALLENGE_TTL_MS (60 s: a human taps "approve"),
 * and is consumed by its first answer, good or bad. Times are the caller's
 * monotonic milliseconds (vg_mono_ms()); a challenge is live while
 * issued <= now_ms <= issued + VG_CHALLENGE_TTL_MS.
 *
 * The app signs these VG_CHALLENGE_MSG_LEN (59) bytes:
 *     "voxguard-admin-auth-v1" || 0x00 || nonce (32) || uid (u32 big-endian)
 * The context string keeps the signature from being valid for any other
 * protocol that key might sign for; the uid binds it to the caller the
 * kernel names, so an answer relayed by another local user fails.
 * Signatures: ECDSA P-256 over SHA-256, DER-encoded (as OpenSSL and
 * Android Keystore produce), or Ed25519 (pure, 64 bytes).
 *
 * A flood of issues from local users can evict an admin's pending
 * challenge (a nuisance, not a bypass); the caller may limit who may ask.
 * Not thread-safe: one table per service, used from its event loop.
 */
#ifndef VG_AUTH_CHALLENGE_H
#define VG_AUTH_CHALLENGE_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_CHALLENGES_MAX       8u
#define VG_CHALLENGE_TTL_MS     60000u
#define VG_CHALLENGE_NONCE_LEN  32u
#define VG_CHALLENGE_CONTEXT    "voxguard-admin-auth-v1" /* 22 bytes, then a 0x00 */
#define VG_CHALLENGE_MSG_LEN    (23u + 32u + 4u)
#define VG_CHALLENGE_SIG_MAX    256u  /* longer signatures fail, unparsed */
#define VG_CHALLENGE_PUBKEY_MAX 8192u /* longer keys fail, unparsed */

typedef struct vg_challenges vg_challenges;

/* A new, empty table (*out; callee-allocated, freed with
 * vg_challenges_free). VG_ERR_NOMEM; *out is NULL on failure. */
VG_NODISCARD vg_rc vg_challenges_new(vg_challenges **out);
/* Wipes and frees; NULL and *c == NULL are fine; sets *c NULL. */
void vg_challenges_free(vg_challenges **c);

/* The bytes to sign for nonce and uid (the client's side uses this too). */
void vg_challenge_message(const uint8_t nonce[static VG_CHALLENGE_NONCE_LEN], uint32_t uid,
			  uint8_t out[static VG_CHALLENGE_MSG_LEN]);

/* Issues a fresh random nonce (RAND_bytes) for uid at now_ms into nonce.
 * VG_ERR_INVALID for a NULL argument, VG_ERR_CRYPTO if RAND_bytes fails
 * (nonce zeroed, no challenge kept). */
VG_NODISCARD vg_rc vg_challenge_issue(vg_challenges *c, uint32_t uid, uint64_t now_ms,
				      uint8_t nonce[static VG_CHALLENGE_NONCE_LEN]);

/*
 * Answers the challenge nonce as uid: looks up a live challenge with that
 * nonce issued to uid, consumes it (whatever follows), and verifies sig
 * over vg_challenge_message(nonce, uid) with pub_der, the registered admin
 * key as a DER SubjectPublicKeyInfo. Returns:
 *   VG_OK                 the signature verifies;
 *   VG_ERR_AUTH_REQUIRED  no such live challenge for uid: never issued,
 *                         issued to another uid (that one stays pending),
 *                         expired, evicted or already answered; nothing
 *                         is verified;
 *   VG_ERR_AUTH_FAILED    the challenge is consumed and the signature is
 *                         bad: wrong key, wrong message, malformed, longer
 *                         than VG_CHALLENGE_SIG_MAX, or a key that is not
 *                         a P-256 or Ed25519 SubjectPublicKeyInfo (or is
 *                         malformed, or longer than VG_CHALLENGE_PUBKEY_MAX);
 *   VG_ERR_INVALID        c or nonce NULL.
 * The caller counts VG_ERR_AUTH_FAILED in its throttle like a wrong
 * password.
 */
VG_NODISCARD vg_rc vg_challenge_answer(vg_challenges *c, uint32_t uid,
				       const uint8_t nonce[static VG_CHALLENGE_NONCE_LEN],
				       const uint8_t *sig, size_t sig_len, const uint8_t *pub_der,
				       size_t pub_len, uint64_t now_ms);

#endif
