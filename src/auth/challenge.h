/*
 * challenge.h - key-based admin authentication for a companion app
 * (SFR 4.2.13): a challenge signed by a registered admin public key.
 *
 * The service issues a single-use 32-byte nonce to a uid, valid 60 s (at
 * most VG_CHALLENGES_MAX outstanding; the oldest is dropped). The app
 * signs VG_CHALLENGE_MSG_LEN bytes:
 *     "voxguard-admin-auth-v1" 0x00 || nonce (32) || uid (u32 big-endian)
 * with its key: ECDSA P-256 over SHA-256 (DER signature) or Ed25519. The
 * uid in the message binds the answer to the caller the kernel names.
 */
#ifndef VG_AUTH_CHALLENGE_H
#define VG_AUTH_CHALLENGE_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_CHALLENGES_MAX    8u
#define VG_CHALLENGE_TTL_MS  60000u
#define VG_CHALLENGE_MSG_LEN (23u + 32u + 4u)

typedef struct vg_challenges vg_challenges;

VG_NODISCARD vg_rc vg_challenges_new(vg_challenges **out);
void vg_challenges_free(vg_challenges **c);

void vg_challenge_message(const uint8_t nonce[static 32], uint32_t uid,
			  uint8_t out[static VG_CHALLENGE_MSG_LEN]);
VG_NODISCARD vg_rc vg_challenge_issue(vg_challenges *c, uint32_t uid, uint64_t now_ms,
				      uint8_t nonce[static 32]);
/*
 * Consumes the live challenge (uid, nonce) whatever the outcome and
 * verifies sig with pub_der (SubjectPublicKeyInfo). VG_OK;
 * VG_ERR_AUTH_FAILED for a bad signature or an unsupported key;
 * VG_ERR_AUTH_REQUIRED if there is no such live challenge (never issued,
 * expired, already used, or issued to another uid).
 */
VG_NODISCARD vg_rc vg_challenge_answer(vg_challenges *c, uint32_t uid,
				       const uint8_t nonce[static 32], const uint8_t *sig,
				       size_t sig_len, const uint8_t *pub_der, size_t pub_len,
				       uint64_t now_ms);

#endif
