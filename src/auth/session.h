/*
 * session.h - admin sessions (SFR 4.2.13, threat A.3.1), in the service's
 * memory only: a restart ends them all, which is intended (nothing to
 * steal from the disk, and a reboot is a clean log-out).
 *
 * A token is 32 bytes from RAND_bytes shown as 64 lower-case hex digits;
 * it is a bearer secret the caller hands to the client and then wipes. The
 * table keeps only SHA-256 of the token's 32 bytes, the uid it was issued
 * to and its expiry, so a memory disclosure of the table yields no usable
 * token. At most VG_SESSIONS_MAX sessions live at once; creating one more
 * evicts the one that expires first.
 *
 * Times are the caller's monotonic milliseconds (vg_mono_ms()); a session
 * is live while now_ms < its expiry. Expired entries are purged by every
 * call that takes now_ms.
 *
 * A check succeeds only for a live entry whose hash matches AND whose uid
 * is the caller's (the kernel's SO_PEERCRED uid): a token presented by
 * another uid (stolen), an unknown, expired, revoked or malformed token all
 * give the same VG_ERR_AUTH_REQUIRED, so a caller learns nothing about
 * which. The hash is compared with every entry in constant time, without
 * stopping at a match.
 *
 * Not thread-safe: one table per service, used from its event loop.
 */
#ifndef VG_AUTH_SESSION_H
#define VG_AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_SESSIONS_MAX      16u /* live sessions at once */
#define VG_SESSION_TOKEN_LEN 32u /* random bytes in a token */
#define VG_SESSION_TOKEN_HEX 64u /* its hex length; buffers need one more */

typedef struct vg_sessions vg_sessions;

/* A new, empty table (*out; callee-allocated, freed with
 * vg_sessions_free). VG_ERR_NOMEM; *out is NULL on failure. */
VG_NODISCARD vg_rc vg_sessions_new(vg_sessions **out);
/* Wipes and frees the table; NULL and *s == NULL are fine; sets *s NULL. */
void vg_sessions_free(vg_sessions **s);

/*
 * Creates a session for uid that expires at now_ms + ttl_ms and writes its
 * token (64 lower-case hex digits and a NUL) to token. Errors, with token
 * "" and the table unchanged: VG_ERR_INVALID (s or token NULL, ttl_ms 0,
 * now_ms + ttl_ms overflows), VG_ERR_CRYPTO (RAND_bytes or SHA-256
 * failed). The token is secret: the caller wipes it after sending it.
 */
VG_NODISCARD vg_rc vg_session_create(vg_sessions *s, uint32_t uid, uint64_t now_ms, uint64_t ttl_ms,
				     char token[static VG_SESSION_TOKEN_HEX + 1]);
/*
 * VG_OK if token (a NUL-terminated string; at most 65 bytes are read) is
 * exactly 64 lower-case hex digits naming a live session of uid;
 * VG_ERR_AUTH_REQUIRED otherwise, whatever the reason (NULL s included).
 * Does not extend the session.
 */
VG_NODISCARD vg_rc vg_session_check(vg_sessions *s, const char *token, uint32_t uid,
				    uint64_t now_ms);
/* Ends the session of token, if any (log-out). A malformed or unknown
 * token is ignored; the caller checks the session first when only its
 * owner may end it. */
void vg_session_revoke(vg_sessions *s, const char *token);
/* Ends every session (password change, factory reset). NULL is fine. */
void vg_session_revoke_all(vg_sessions *s);
/* Live sessions at now_ms (for status and tests); purges expired ones. */
size_t vg_session_count(vg_sessions *s, uint64_t now_ms);

#endif
