/*
 * token.h - one-time display tokens (AVS 1.14; the AVS Device SDK's
 * smart-screen rules for local WebSocket IPC): the logic the service runs
 * for ops DISPLAY_TOKEN_ISSUE and DISPLAY_TOKEN_REDEEM (daemon/op_display.c).
 *
 * A token is 256 bits from the CSPRNG (RAND_priv_bytes), handed to its
 * launcher as base64url without padding (43 characters). The service keeps
 * only HMAC-SHA256(boot key, token), never the token: the boot key is
 * random for each table (one per service start, in service memory only),
 * so a token this table did not issue -- forged, from another device, from
 * before a restart -- finds no entry. Lookups compare the MAC with every
 * entry through CRYPTO_memcmp, without an early exit.
 *
 * A token is bound to the Origin its launcher expects (strictly checked:
 * vg_display_origin_check), redeems once, within ttl_ms of its issue, for
 * exactly that Origin. Presenting a known token burns it whatever the
 * outcome (an origin mismatch too): a stolen token tried from the wrong
 * page is gone before the right page is found. What was redeemed, burned or
 * expired is remembered as a tombstone (its MAC and why), a bounded ring,
 * so that a second presentation is told "replayed" or "expired" rather
 * than "unknown".
 *
 * Bounds (SFR 4.2.10): at most per_uid outstanding tokens per launcher uid
 * and max_total in all; expired tokens stop counting when next looked at.
 *
 * Not thread-safe: the service's event loop owns its table.
 */
#ifndef VG_DISPLAY_TOKEN_H
#define VG_DISPLAY_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_DISPLAY_TOKEN_BYTES   32u /* 256 bits */
#define VG_DISPLAY_TOKEN_B64_LEN 43u /* base64url, no padding */
#define VG_DISPLAY_ORIGIN_MAX    255u
#define VG_DISPLAY_MAX_TOTAL     256u /* the largest max_total a table takes */
#define VG_DISPLAY_TOMBSTONES    256u
#define VG_DISPLAY_REASON_MAX    120u /* a gateway's reported reason (vg_display_report) */

/* Strict Origin (RFC 6454 serialisation as browsers send it):
 * "https://" HOST [":" PORT], where HOST is a lower-case DNS name (labels
 * of 1-63 of [a-z0-9-], not starting or ending with '-', at most 253 in
 * all) or a dotted IPv4 address without leading zeros, and PORT 1-65535
 * without leading zeros and not 443 (a browser omits the default port).
 * No path, query, user info, trailing dot or slash. VG_OK or
 * VG_ERR_INVALID with a one-line reason in why (if not NULL). */
VG_NODISCARD vg_rc vg_display_origin_check(const char *origin, size_t len, char *why,
					   size_t why_len);

/* base64url without padding of exactly VG_DISPLAY_TOKEN_BYTES (out is
 * NUL-terminated). */
void vg_display_token_encode(const uint8_t in[static VG_DISPLAY_TOKEN_BYTES],
			     char out[static VG_DISPLAY_TOKEN_B64_LEN + 1]);
/* The strict inverse: exactly 43 characters of [A-Za-z0-9_-], the unused
 * low bits of the last one zero (one encoding per token). VG_OK or
 * VG_ERR_INVALID; out is wiped on failure. */
VG_NODISCARD vg_rc vg_display_token_decode(const char *s, size_t len,
					   uint8_t out[static VG_DISPLAY_TOKEN_BYTES]);

typedef struct vg_dtok_limits {
	uint32_t ttl_ms;    /* a token's lifetime (>= 1) */
	uint32_t per_uid;   /* outstanding tokens per launcher uid (>= 1) */
	uint32_t max_total; /* outstanding in all (1 .. VG_DISPLAY_MAX_TOTAL) */
} vg_dtok_limits;

typedef struct vg_dtok_table vg_dtok_table;

/* A new empty table with a fresh boot key (in secret memory). *out is the
 * caller's, released with vg_dtok_table_free. VG_ERR_INVALID for limits
 * out of range, VG_ERR_CRYPTO when the CSPRNG fails. */
VG_NODISCARD vg_rc vg_dtok_table_new(vg_dtok_table **out, const vg_dtok_limits *l);
/* Wipes and frees; NULL-safe, sets *t to NULL. */
void vg_dtok_table_free(vg_dtok_table **t);

/* Issues a token for launcher uid, bound to origin (checked as above).
 * token gets its encoding, *expires_ms (if not NULL) now_ms + ttl_ms.
 * VG_ERR_INVALID (bad origin), VG_ERR_QUOTA (the uid's or the table's
 * bound), VG_ERR_CRYPTO (CSPRNG); why says which. The caller wipes token
 * after handing it out. */
VG_NODISCARD vg_rc vg_dtok_issue(vg_dtok_table *t, uint32_t uid, const char *origin,
				 uint64_t now_ms, char token[static VG_DISPLAY_TOKEN_B64_LEN + 1],
				 uint64_t *expires_ms, char *why, size_t why_len);

typedef enum vg_dtok_verdict {
	VG_DTOK_OK = 0,    /* redeemed (now a tombstone) */
	VG_DTOK_MALFORMED, /* not a token's encoding */
	VG_DTOK_UNKNOWN,   /* not issued here: forged, another device's, older */
	VG_DTOK_REPLAYED,  /* presented before */
	VG_DTOK_EXPIRED,   /* issued here, past its time */
	VG_DTOK_ORIGIN,    /* issued for another Origin (now burned) */
} vg_dtok_verdict;

/* Redeems token presented from origin at now_ms. *issuer (if not NULL)
 * gets the launcher's uid for OK, ORIGIN and EXPIRED. */
vg_dtok_verdict vg_dtok_redeem(vg_dtok_table *t, const char *token, const char *origin,
			       uint64_t now_ms, uint32_t *issuer);
/* A short stable word for a verdict ("redeemed", "malformed", "unknown",
 * "replayed", "expired", "origin mismatch"). */
const char *vg_dtok_verdict_str(vg_dtok_verdict v);

/* Outstanding (issued, neither presented nor expired at now_ms) tokens of
 * uid, or of all when uid is UINT32_MAX. */
size_t vg_dtok_outstanding(vg_dtok_table *t, uint32_t uid, uint64_t now_ms);

#endif
