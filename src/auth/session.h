/*
 * session.h - admin sessions (SFR 4.2.13), in memory only: a restart of
 * the service ends them all.
 *
 * A token is 32 random bytes shown as 64 lower-case hex characters. The
 * table keeps only SHA-256(token), the uid it was issued to and its expiry
 * (monotonic milliseconds); at most VG_SESSIONS_MAX live at once (the one
 * expiring first is evicted). A check succeeds only for a live entry whose
 * hash matches AND whose uid is the caller's: a token used by another uid
 * (stolen), an unknown, expired, revoked or malformed token are all the
 * same VG_ERR_AUTH_REQUIRED, so a caller learns nothing about which.
 */
#ifndef VG_AUTH_SESSION_H
#define VG_AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_SESSIONS_MAX      16u
#define VG_SESSION_TOKEN_HEX 64u

typedef struct vg_sessions vg_sessions;

VG_NODISCARD vg_rc vg_sessions_new(vg_sessions **out);
void vg_sessions_free(vg_sessions **s);

VG_NODISCARD vg_rc vg_session_create(vg_sessions *s, uint32_t uid, uint64_t now_ms, uint64_t ttl_ms,
				     char token[static VG_SESSION_TOKEN_HEX + 1]);
VG_NODISCARD vg_rc vg_session_check(vg_sessions *s, const char *token, uint32_t uid,
				    uint64_t now_ms);
void vg_session_revoke(vg_sessions *s, const char *token);
void vg_session_revoke_all(vg_sessions *s);
/* Live sessions (for tests and status). */
size_t vg_session_count(vg_sessions *s, uint64_t now_ms);

#endif
