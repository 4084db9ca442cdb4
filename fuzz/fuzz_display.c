/*
 * fuzz_display.c - libFuzzer harness for the display IPC guard's parsers
 * (src/display/token.h; AVS 1.14; hostile input: what a browser or any
 * local process sends the gateway, passed on to the service). Arbitrary
 * bytes
 *  - as an Origin through vg_display_origin_check: an accepted one is
 *    https://, at most 255 bytes, printable, without '/', '@', '?', '#'
 *    after the scheme, and no upper case;
 *  - as a token through vg_display_token_decode: an accepted one
 *    re-encodes to exactly its input (one encoding per token); a refused
 *    one leaves the output zeroed;
 *  - split at the first NUL into token and Origin and redeemed against a
 *    table that issued one genuine token for a fixed Origin: what the
 *    fuzzer makes up never redeems, and the genuine token still does.
 * Seed corpus: fuzz/corpus/display/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "display/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GOOD_ORIGIN "https://localhost:8933"

static void check_origin(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	if (vg_display_origin_check(s, size, NULL, 0) != VG_OK)
		return;
	if (size > VG_DISPLAY_ORIGIN_MAX || size < 9 || memcmp(s, "https://", 8) != 0)
		abort();
	for (size_t i = 8; i < size; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || strchr("/@?#", s[i]) ||
		    (s[i] >= 'A' && s[i] <= 'Z'))
			abort();
}

static void check_token(const uint8_t *data, size_t size)
{
	uint8_t raw[VG_DISPLAY_TOKEN_BYTES], zero[VG_DISPLAY_TOKEN_BYTES] = {0};
	char again[VG_DISPLAY_TOKEN_B64_LEN + 1];

	memset(raw, 0xa5, sizeof raw);
	if (vg_display_token_decode((const char *)data, size, raw) != VG_OK) {
		if (memcmp(raw, zero, sizeof raw) != 0)
			abort();
		return;
	}
	vg_display_token_encode(raw, again);
	if (size != VG_DISPLAY_TOKEN_B64_LEN || memcmp(again, data, size) != 0)
		abort();
}

static void check_redeem(const uint8_t *data, size_t size)
{
	static const vg_dtok_limits l = {.ttl_ms = 1000, .per_uid = 2, .max_total = 4};
	char *tok, *origin, genuine[VG_DISPLAY_TOKEN_B64_LEN + 1], why[128];
	const uint8_t *nul = memchr(data, 0, size);
	size_t tl = nul ? (size_t)(nul - data) : size;
	vg_dtok_table *t = NULL;
	vg_dtok_verdict v;

	if (vg_dtok_table_new(&t, &l) != VG_OK)
		abort();
	if (vg_dtok_issue(t, 1, GOOD_ORIGIN, 0, genuine, NULL, why, sizeof why) != VG_OK)
		abort();
	tok = malloc(tl + 1);
	origin = malloc(size - tl + 1);
	if (!tok || !origin)
		abort();
	memcpy(tok, data, tl);
	tok[tl] = '\0';
	if (nul)
		memcpy(origin, nul + 1, size - tl - 1);
	origin[nul ? size - tl - 1 : 0] = '\0';
	v = vg_dtok_redeem(t, tok, origin, 1, NULL);
	/* 2^-256: the fuzzer does not guess the genuine token. */
	if (v == VG_DTOK_OK || v == VG_DTOK_REPLAYED || v == VG_DTOK_EXPIRED ||
	    v == VG_DTOK_ORIGIN)
		abort();
	if (vg_dtok_redeem(t, genuine, GOOD_ORIGIN, 2, NULL) != VG_DTOK_OK)
		abort();
	free(tok);
	free(origin);
	vg_dtok_table_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_origin(data, size);
	check_token(data, size);
	check_redeem(data, size);
	return 0;
}
