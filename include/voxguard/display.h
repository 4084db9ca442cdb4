/*
 * voxguard/display.h -- the display IPC guard (AVS 1.14; the AVS Device
 * SDK's smart-screen rules): one-time tokens for the local WebSocket
 * between the voice application's IPC server and its display client.
 * docs/DISPLAY.md has the whole flow.
 *
 * Promises:
 * - A token is 256 bits from the service's CSPRNG, given to a launcher
 *   uid (display_launcher_uids in the service's configuration) for one
 *   expected Origin, as VG_DISPLAY_TOKEN_LEN characters of base64url
 *   without padding. The launcher passes it to the display client out of
 *   band (command line, environment, file descriptor) -- never in a URL.
 * - It redeems exactly once, within display_token_ttl_ms of its issue,
 *   for exactly that Origin, and only by a gateway uid
 *   (display_gateway_uids). A token presented is spent whatever the
 *   outcome. A token this service did not issue since it started (forged,
 *   another device's, from before a restart) never redeems: the service
 *   keeps only a MAC of each token under a key of its own process.
 * - Outstanding tokens are bounded per launcher uid and in all
 *   (display_tokens_per_uid, display_tokens_max: VG_ERR_QUOTA).
 * - Every issue, redemption and refusal is an audit event (display.token,
 *   display.redeemed, display.refused with why, display.denied for a uid
 *   not configured); the reply names the reason too
 *   (vg_client_last_error).
 *
 * Link with libvoxguard; this header needs nothing but voxguard.h.
 */
#ifndef VOXGUARD_DISPLAY_H
#define VOXGUARD_DISPLAY_H

#include <stddef.h>

#include "voxguard/voxguard.h"

#define VG_DISPLAY_TOKEN_LEN 43 /* characters, without the NUL */

/*
 * Asks the service for a token bound to origin ("https://HOST[:PORT]" as a
 * browser sends it: lower-case host, no default port, no path).
 * token_out (cap >= VG_DISPLAY_TOKEN_LEN + 1 bytes, the caller's) gets it,
 * NUL-terminated; wipe it once handed over. On failure token_out is
 * empty (when cap > 0). VG_ERR_DENIED: not a launcher uid; VG_ERR_INVALID:
 * origin refused (the reason in vg_client_last_error); VG_ERR_QUOTA: too
 * many outstanding; VG_ERR_TOO_LARGE: cap too small.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_display_token_issue(vg_client *c, const char *origin,
						    char *token_out, size_t cap);

/*
 * Redeems token presented by a client whose Origin header was origin.
 * VG_OK: let the client in (once). Refusals, each audited, the reason in
 * vg_client_last_error ("display token refused: unknown|replayed|expired|
 * origin mismatch|malformed"): VG_ERR_VERIFY_FAILED (unknown, forged,
 * another device's, origin mismatch), VG_ERR_REPLAY (replayed, expired),
 * VG_ERR_INVALID (not a token's encoding, bad origin), VG_ERR_DENIED (not
 * a gateway uid).
 */
VG_EXPORT VG_NODISCARD vg_rc vg_display_token_redeem(vg_client *c, const char *token,
						     const char *origin);

/*
 * A refusal the gateway saw without the service (a bad Origin, a second
 * client, no token, a client that is not a browser): recorded as a
 * display.refused audit event under the caller's uid. reason: 1-120
 * printable ASCII characters, never a token; origin: what the client sent
 * (NULL or "" when none), at most 255. VG_ERR_DENIED: not a gateway uid.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_display_report(vg_client *c, const char *reason,
					       const char *origin);

#endif
