/*
 * sdkstate.h - the voice application's persistent state in a directory the
 * kernel encrypts (AVS Device SDK rule 3: protect the SDK's persistent
 * state from tampering and inspection; SFR 4.2.4 note 1, 4.2.12;
 * docs/PRIVACY.md). The mechanics are storage/fscrypt.h's; this is the
 * service's policy around them.
 *
 * With `encrypted_dir = DIR` in the configuration, the service, running as
 * its own user, keeps DIR encrypted under a 64-byte key derived from the
 * root of trust and the erase secret (labels "sdk-state/fscrypt/1" and
 * "/2", context DIR), which only it and the kernel ever hold:
 *   - at start: DIR is created (mode 0770, group: its parent's) or
 *     unlocked (the key added; the service's uid holds the only claim);
 *     one encrypted under a key the service no longer derives (a factory
 *     reset that was cut short, a store accepted after a rollback) is set
 *     aside and a new one made; what was set aside is erased as far as the
 *     service's rights go, and retried at every start;
 *   - at a factory reset (after the erase secret's rotation): the key is
 *     removed from the kernel (the application's open files stay readable
 *     until closed; nothing new opens), DIR set aside, a new one made under
 *     the new key, the old erased.
 * DIR's parent must exist, belong to the service's user and be writable by
 * it only (e.g. tmpfiles.d: `d /var/lib/voice-state 2750 voxguard avs`:
 * the setgid bit gives DIR the application's group). Nothing is done in a
 * refused store or a sealed start. Failures do not stop the service: the
 * directory stays locked and the reason is audited (sdkstate.failed).
 */
#ifndef VG_DAEMON_SDKSTATE_H
#define VG_DAEMON_SDKSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/fscrypt.h"

typedef struct vg_sdkstate {
	bool ready;                    /* DIR is encrypted and unlocked */
	uint8_t id[VG_FSCRYPT_ID_LEN]; /* the key's identifier (not secret) */
	char why[VG_FSCRYPT_WHY_LEN];  /* why not ready ("" when ready or off) */
} vg_sdkstate;

struct vg_service;
struct vg_peer;

/* At start (the store healthy). Audits sdkstate.ready or sdkstate.failed. */
void vg_sdkstate_open(struct vg_service *s);
/* At a factory reset, after the erase secret was replaced. VG_OK also when
 * off; an error is audited and returned (the reset reports it). */
vg_rc vg_sdkstate_reset(struct vg_service *s, const struct vg_peer *peer);

#endif
