/* token.c - see token.h */
#include "display/token.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/util.h"

#define MAC_LEN 32u
#define KEY_LEN 32u

/* ---- Origin ---- */

static vg_rc origin_fail(char *why, size_t why_len, const char *msg)
{
	if (why && why_len)
		(void)snprintf(why, why_len, "origin: %s", msg);
	return VG_ERR_INVALID;
}

/* A decimal of 0..max without leading zeros, all of s[0..n). */
static bool dec(const char *s, size_t n, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

static bool ipv4(const char *h, size_t n)
{
	size_t start = 0, parts = 0;
	unsigned long v;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && h[i] != '.')
			continue;
		if (i - start > 3 || !dec(h + start, i - start, 255, &v))
			return false;
		parts++;
		start = i + 1;
	}
	return parts == 4;
}

static bool all_digits_and_dots(const char *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
			return false;
	return true;
}

static bool dns_name(const char *h, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') || h[i] == '-'))
			return false;
		if (label == 0 && h[i] == '-')
			return false;
		label++;
	}
	return true;
}

vg_rc vg_display_origin_check(const char *origin, size_t len, char *why, size_t why_len)
{
	static const char scheme[] = "https://";
	const char *host, *colon;
	size_t host_len;
	unsigned long port;

	if (!origin || len == 0)
		return origin_fail(why, why_len, "empty");
	if (len > VG_DISPLAY_ORIGIN_MAX || memchr(origin, '\0', len))
		return origin_fail(why, why_len, "longer than 255 bytes or binary");
	if (len < sizeof scheme || memcmp(origin, scheme, sizeof scheme - 1) != 0)
		return origin_fail(why, why_len, "the scheme must be https:// (lower case)");
	host = origin + sizeof scheme - 1;
	host_len = len - (sizeof scheme - 1);
	colon = memchr(host, ':', host_len);
	if (colon) {
		size_t plen = host_len - (size_t)(colon - host) - 1;
		if (!dec(colon + 1, plen, 65535, &port) || port == 0)
			return origin_fail(why, why_len,
					   "the port must be 1-65535 without leading zeros");
		if (port == 443)
			return origin_fail(why, why_len,
					   "the default port 443 is not written in an Origin");
		host_len = (size_t)(colon - host);
	}
	if (host_len == 0)
		return origin_fail(why, why_len, "no host");
	if (all_digits_and_dots(host, host_len)) {
		if (!ipv4(host, host_len))
			return origin_fail(why, why_len, "not a dotted IPv4 address");
		return VG_OK;
	}
	if (!dns_name(host, host_len))
		return origin_fail(why, why_len,
				   "the host must be a lower-case DNS name or an IPv4 address, "
				   "with no path, user, query or trailing dot");
	return VG_OK;
}

/* ---- base64url ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void vg_display_token_encode(const uint8_t in[static VG_DISPLAY_TOKEN_BYTES],
			     char out[static VG_DISPLAY_TOKEN_B64_LEN + 1])
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < VG_DISPLAY_TOKEN_BYTES; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(acc >> bits) & 63u];
		}
	}
	if (bits)
		out[o++] = b64[(acc << (6 - bits)) & 63u];
	out[o] = '\0';
	acc = 0;
}

/* The value of one base64url character, or -1; without a table lookup
 * indexed by the (secret) character. */
static int b64_val(unsigned char c)
{
	int v = -1;

	v += (int)(((unsigned)('A' - 1 - c) & (unsigned)(c - 'Z' - 1)) >> 8 & 1u) * (c - 'A' + 1);
	v += (int)(((unsigned)('a' - 1 - c) & (unsigned)(c - 'z' - 1)) >> 8 & 1u) * (c - 'a' + 27);
	v += (int)(((unsigned)('0' - 1 - c) & (unsigned)(c - '9' - 1)) >> 8 & 1u) * (c - '0' + 53);
	v += (int)(((unsigned)('-' - 1 - c) & (unsigned)(c - '-' - 1)) >> 8 & 1u) * 63;
	v += (int)(((unsigned)('_' - 1 - c) & (unsigned)(c - '_' - 1)) >> 8 & 1u) * 64;
	return v;
}

vg_rc vg_display_token_decode(const char *s, size_t len, uint8_t out[static VG_DISPLAY_TOKEN_BYTES])
{
	uint32_t acc = 0;
	unsigned bits = 0, bad = 0;
	size_t o = 0;

	if (!s || len != VG_DISPLAY_TOKEN_B64_LEN) {
		vg_wipe(out, VG_DISPLAY_TOKEN_BYTES);
		return VG_ERR_INVALID;
	}
	for (size_t i = 0; i < len; i++) {
		int v = b64_val((unsigned char)s[i]);
		bad |= (unsigned)(v < 0);
		acc = (acc << 6) | ((unsigned)v & 63u);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < VG_DISPLAY_TOKEN_BYTES)
				out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* 43 characters carry 258 bits: the last 2 must be zero. */
	bad |= (unsigned)((acc & ((1u << bits) - 1u)) != 0);
	acc = 0;
	if (bad || o != VG_DISPLAY_TOKEN_BYTES) {
		vg_wipe(out, VG_DISPLAY_TOKEN_BYTES);
		return VG_ERR_INVALID;
	}
	return VG_OK;
}

/* ---- the table ---- */

struct entry {
	uint8_t mac[MAC_LEN];
	uint64_t expires_ms;
	uint32_t uid;
	bool used;
	char origin[VG_DISPLAY_ORIGIN_MAX + 1];
};

struct tomb {
	uint8_t mac[MAC_LEN];
	bool used;
	vg_dtok_verdict why; /* REPLAYED (presented before) or EXPIRED */
};

struct vg_dtok_table {
	vg_dtok_limits lim;
	uint8_t *key; /* the boot key (32 bytes, secret memory): HMAC of each token */
	size_t n_tomb_next;
	struct entry e[VG_DISPLAY_MAX_TOTAL];
	struct tomb tomb[VG_DISPLAY_TOMBSTONES];
};

vg_rc vg_dtok_table_new(vg_dtok_table **out, const vg_dtok_limits *l)
{
	vg_dtok_table *t;

	*out = NULL;
	if (!l || l->ttl_ms == 0 || l->per_uid == 0 || l->max_total == 0 ||
	    l->max_total > VG_DISPLAY_MAX_TOTAL)
		return VG_ERR_INVALID;
	/* Only the key is secret: without it the MACs say nothing. */
	t = calloc(1, sizeof *t);
	if (!t)
		return VG_ERR_NOMEM;
	t->lim = *l;
	t->key = vg_secret_alloc(KEY_LEN);
	if (!t->key) {
		free(t);
		return VG_ERR_NOMEM;
	}
	if (RAND_priv_bytes(t->key, KEY_LEN) != 1) {
		vg_dtok_table_free(&t);
		return VG_ERR_CRYPTO;
	}
	*out = t;
	return VG_OK;
}

void vg_dtok_table_free(vg_dtok_table **t)
{
	if (!t || !*t)
		return;
	vg_secret_free((*t)->key, KEY_LEN);
	vg_wipe(*t, sizeof **t);
	free(*t);
	*t = NULL;
}

static vg_rc token_mac(const vg_dtok_table *t, const uint8_t tok[static VG_DISPLAY_TOKEN_BYTES],
		       uint8_t mac[static MAC_LEN])
{
	unsigned int n = MAC_LEN;

	if (!HMAC(EVP_sha256(), t->key, KEY_LEN, tok, VG_DISPLAY_TOKEN_BYTES, mac, &n) ||
	    n != MAC_LEN)
		return VG_ERR_CRYPTO;
	return VG_OK;
}

static void bury(vg_dtok_table *t, const uint8_t mac[static MAC_LEN], vg_dtok_verdict why)
{
	struct tomb *b = &t->tomb[t->n_tomb_next];

	memcpy(b->mac, mac, MAC_LEN);
	b->used = true;
	b->why = why;
	t->n_tomb_next = (t->n_tomb_next + 1) % VG_DISPLAY_TOMBSTONES;
}

/* Expired entries become tombstones and free their slot. */
static void prune(vg_dtok_table *t, uint64_t now_ms)
{
	for (size_t i = 0; i < t->lim.max_total; i++) {
		struct entry *x = &t->e[i];
		if (x->used && now_ms >= x->expires_ms) {
			bury(t, x->mac, VG_DTOK_EXPIRED);
			vg_wipe(x, sizeof *x);
		}
	}
}

size_t vg_dtok_outstanding(vg_dtok_table *t, uint32_t uid, uint64_t now_ms)
{
	size_t n = 0;

	prune(t, now_ms);
	for (size_t i = 0; i < t->lim.max_total; i++)
		if (t->e[i].used && (uid == UINT32_MAX || t->e[i].uid == uid))
			n++;
	return n;
}

vg_rc vg_dtok_issue(vg_dtok_table *t, uint32_t uid, const char *origin, uint64_t now_ms,
		    char token[static VG_DISPLAY_TOKEN_B64_LEN + 1], uint64_t *expires_ms,
		    char *why, size_t why_len)
{
	uint8_t raw[VG_DISPLAY_TOKEN_BYTES];
	struct entry *slot = NULL;
	vg_rc rc;

	token[0] = '\0';
	rc = vg_display_origin_check(origin, origin ? strlen(origin) : 0, why, why_len);
	if (rc != VG_OK)
		return rc;
	if (vg_dtok_outstanding(t, uid, now_ms) >= t->lim.per_uid) {
		(void)snprintf(why, why_len,
			       "display tokens: uid %u has %u outstanding, its budget (redeem or "
			       "let one expire first)",
			       uid, t->lim.per_uid);
		return VG_ERR_QUOTA;
	}
	for (size_t i = 0; i < t->lim.max_total && !slot; i++)
		if (!t->e[i].used)
			slot = &t->e[i];
	if (!slot) {
		(void)snprintf(why, why_len, "display tokens: %u outstanding, the service's bound",
			       t->lim.max_total);
		return VG_ERR_QUOTA;
	}
	if (RAND_priv_bytes(raw, sizeof raw) != 1) {
		(void)snprintf(why, why_len, "display tokens: the random generator failed");
		return VG_ERR_CRYPTO;
	}
	rc = token_mac(t, raw, slot->mac);
	if (rc == VG_OK) {
		vg_display_token_encode(raw, token);
		slot->used = true;
		slot->uid = uid;
		slot->expires_ms = now_ms + t->lim.ttl_ms;
		(void)snprintf(slot->origin, sizeof slot->origin, "%s", origin);
		if (expires_ms)
			*expires_ms = slot->expires_ms;
	} else {
		vg_wipe(slot, sizeof *slot);
		(void)snprintf(why, why_len, "display tokens: HMAC failed");
	}
	vg_wipe(raw, sizeof raw);
	return rc;
}

vg_dtok_verdict vg_dtok_redeem(vg_dtok_table *t, const char *token, const char *origin,
			       uint64_t now_ms, uint32_t *issuer)
{
	uint8_t raw[VG_DISPLAY_TOKEN_BYTES], mac[MAC_LEN];
	struct entry *hit = NULL;
	vg_dtok_verdict v = VG_DTOK_UNKNOWN;

	if (!token || vg_display_token_decode(token, strlen(token), raw) != VG_OK)
		return VG_DTOK_MALFORMED;
	if (token_mac(t, raw, mac) != VG_OK) {
		vg_wipe(raw, sizeof raw);
		return VG_DTOK_UNKNOWN; /* fail closed */
	}
	vg_wipe(raw, sizeof raw);
	/* Every entry and tombstone is compared: no early exit. Expired
	 * entries are still entries here (their verdict is EXPIRED). */
	for (size_t i = 0; i < t->lim.max_total; i++) {
		bool eq = t->e[i].used && CRYPTO_memcmp(t->e[i].mac, mac, MAC_LEN) == 0;
		if (eq)
			hit = &t->e[i];
	}
	if (!hit) {
		for (size_t i = 0; i < VG_DISPLAY_TOMBSTONES; i++)
			if (t->tomb[i].used && CRYPTO_memcmp(t->tomb[i].mac, mac, MAC_LEN) == 0)
				v = t->tomb[i].why;
		vg_wipe(mac, sizeof mac);
		prune(t, now_ms);
		return v;
	}
	if (issuer)
		*issuer = hit->uid;
	if (now_ms >= hit->expires_ms) {
		v = VG_DTOK_EXPIRED;
		bury(t, mac, VG_DTOK_EXPIRED);
	} else if (!origin || strcmp(origin, hit->origin) != 0) {
		v = VG_DTOK_ORIGIN;
		bury(t, mac, VG_DTOK_REPLAYED);
	} else {
		v = VG_DTOK_OK;
		bury(t, mac, VG_DTOK_REPLAYED);
	}
	vg_wipe(hit, sizeof *hit);
	vg_wipe(mac, sizeof mac);
	prune(t, now_ms);
	return v;
}

const char *vg_dtok_verdict_str(vg_dtok_verdict v)
{
	switch (v) {
	case VG_DTOK_OK:
		return "redeemed";
	case VG_DTOK_MALFORMED:
		return "malformed";
	case VG_DTOK_UNKNOWN:
		return "unknown";
	case VG_DTOK_REPLAYED:
		return "replayed";
	case VG_DTOK_EXPIRED:
		return "expired";
	case VG_DTOK_ORIGIN:
		return "origin mismatch";
	default:
		return "unknown";
	}
}
