/*
 * debug.h - secure debugging (SFR 4.3.1).
 *
 * Debug functions (today: a trace line on the service's stderr for every
 * request) are off by default. They are unlocked only by a
 * challenge-response with the OEM debug key registered at provisioning
 * ("sys/debug-key"): the service issues a single-use 32-byte nonce valid
 * for 5 minutes, the OEM signs the message
 *
 *     "voxguard-debug-unlock-v1" 0x00 || nonce (32) || instance ID (33)
 *
 * with the debug private key (ECDSA P-256 with SHA-256, DER signature, as
 * `openssl dgst -sha256 -sign` makes; or Ed25519), so a signature unlocks
 * one device, once. While unlocked the applications' records and keys are
 * sealed away (storage/secstore.h), and the state shows in `status`,
 * `identity` and the token's lifecycle. Unlock and lock are audit events
 * (by the caller). The state is not persisted: a restart locks.
 */
#ifndef VG_DAEMON_DEBUG_H
#define VG_DAEMON_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_DEBUG_MSG_LEN (24u + 1u + 32u + 33u)

typedef struct vg_debug {
	bool unlocked;
	bool pending; /* a challenge is outstanding */
	uint8_t nonce[32];
	uint64_t expires_ms;
} vg_debug;

/* The message to sign for nonce on the device with instance ID iid. */
void vg_debug_message(const uint8_t nonce[static 32], const uint8_t iid[static 33],
		      uint8_t msg[static VG_DEBUG_MSG_LEN]);
/* A new challenge (replaces any outstanding one). */
VG_NODISCARD vg_rc vg_debug_challenge(vg_debug *d, uint64_t now_ms, uint8_t nonce[static 32]);
/*
 * Checks sig over the outstanding challenge with the debug key (DER
 * SubjectPublicKeyInfo) and unlocks. The challenge is consumed whatever the
 * outcome. VG_ERR_AUTH_REQUIRED: no live challenge; VG_ERR_AUTH_FAILED: bad
 * signature or key.
 */
VG_NODISCARD vg_rc vg_debug_unlock(vg_debug *d, uint64_t now_ms, const uint8_t iid[static 33],
				   const uint8_t *sig, size_t sig_len, const uint8_t *key_der,
				   size_t key_len);
void vg_debug_lock(vg_debug *d);

#endif
