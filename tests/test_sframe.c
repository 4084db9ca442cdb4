/*
 * test_sframe.c - SFrame frames for audio streams (src/audio/sframe.h).
 *
 * SFR 4.2.7 and 4.2.8 note 7 (encryption of the audio streams the speaker
 * records, for their intended recipients), asset A.2.2.1 (audio content:
 * integrity and confidentiality):
 *  - RFC 9605 as published: every Appendix C vector (header encodings, the
 *    AES-CTR + HMAC AEAD, whole frames for the five suites), with the
 *    counts asserted so that a vector file that fails to parse fails;
 *  - the stream layer: a replay window, the stream's identity bound into
 *    every frame, truncation detection, loss reported, a size bound, a
 *    sender that never reuses a CTR; each property attacked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audio/sframe.h"
#include "common/util.h"

#ifndef VG_SRC_DIR
#error "VG_SRC_DIR: the source tree (tests/CMakeLists.txt defines it)"
#endif
#define VECTORS VG_SRC_DIR "/tests/vectors/sframe/rfc9605-test-vectors.json"

/* ---- the vector file ---- */

/* jansson's integers are signed 64-bit and the vectors' KID and CTR go up
 * to 2^64 - 1, so the numbers of those two fields are quoted before the
 * file is parsed, and read back with strtoull. */
static json_t *load_vectors(void)
{
	FILE *f = fopen(VECTORS, "rb");
	char *in, *out;
	size_t n, o = 0;
	json_error_t err;
	json_t *doc;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = (size_t)ftell(f);
	rewind(f);
	in = malloc(n + 1);
	out = malloc(2 * n + 1);
	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(fread(in, 1, n, f), n);
	fclose(f);
	in[n] = '\0';
	for (size_t i = 0; i < n;) {
		if (strncmp(in + i, "\"kid\":", 6) == 0 || strncmp(in + i, "\"ctr\":", 6) == 0) {
			memcpy(out + o, in + i, 6);
			o += 6;
			i += 6;
			while (in[i] == ' ')
				out[o++] = in[i++];
			assert_true(in[i] >= '0' && in[i] <= '9');
			out[o++] = '"';
			while (in[i] >= '0' && in[i] <= '9')
				out[o++] = in[i++];
			out[o++] = '"';
		} else {
			out[o++] = in[i++];
		}
	}
	doc = json_loadb(out, o, JSON_REJECT_DUPLICATES, &err);
	if (!doc)
		fprintf(stderr, "%s:%d: %s\n", VECTORS, err.line, err.text);
	assert_non_null(doc);
	free(in);
	free(out);
	return doc;
}

static uint64_t get_u64(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	char *end = NULL;
	unsigned long long v;

	assert_non_null(s);
	assert_true(s[0] >= '0' && s[0] <= '9');
	errno = 0;
	v = strtoull(s, &end, 10);
	assert_int_equal(errno, 0);
	assert_true(end && *end == '\0');
	return (uint64_t)v;
}

static size_t get_hex(json_t *o, const char *k, uint8_t *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, k));
	size_t n = 0;

	assert_non_null(s);
	assert_true(vg_hex_decode(s, out, cap, &n));
	return n;
}

static json_t *section(json_t *doc, const char *name, size_t count)
{
	json_t *a = json_object_get(doc, name);

	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), count);
	return a;
}

/* ---- RFC 9605 Appendix C ---- */

/* SFR 4.2.8 note 7: RFC 9605 C.1: all 289 header encodings, both ways. */
static void test_sframe_rfc9605_header_vectors(void **state)
{
	json_t *doc = load_vectors(), *v;
	size_t i, checked = 0;

	(void)state;
	json_array_foreach(section(doc, "header", 289), i, v)
	{
		uint8_t want[64], got[VG_SFRAME_HDR_MAX], padded[VG_SFRAME_HDR_MAX + 4];
		uint64_t kid = get_u64(v, "kid"), ctr = get_u64(v, "ctr"), k2, c2;
		size_t wn = get_hex(v, "encoded", want, sizeof want), gn = 0, hl = 0;

		vg_sframe_header_encode(kid, ctr, got, &gn);
		assert_int_equal(gn, wn);
		assert_memory_equal(got, want, wn);
		assert_int_equal(vg_sframe_header_decode(want, wn, &k2, &c2, &hl), VG_OK);
		assert_int_equal(hl, wn);
		assert_true(k2 == kid && c2 == ctr);
		/* Followed by ciphertext: the header's own length still. */
		memcpy(padded, want, wn);
		memset(padded + wn, 0xa5, 4);
		assert_int_equal(vg_sframe_header_decode(padded, wn + 4, &k2, &c2, &hl), VG_OK);
		assert_int_equal(hl, wn);
		assert_true(k2 == kid && c2 == ctr);
		checked++;
	}
	assert_int_equal(checked, 289);
	json_decref(doc);
}

/* One AEAD vector: seal gives ct, open gives pt back, a flipped tag or
 * ciphertext bit is refused. */
static void check_aead(vg_sframe_aead *a, json_t *v)
{
	uint8_t nonce[12], aad[64], pt[64], ct[96], out[96], back[64];
	size_t nn = get_hex(v, "nonce", nonce, sizeof nonce),
	       an = get_hex(v, "aad", aad, sizeof aad);
	size_t pn = get_hex(v, "pt", pt, sizeof pt), cn = get_hex(v, "ct", ct, sizeof ct), on = 0,
	       bn = 0;

	assert_int_equal(nn, 12);
	assert_int_equal(cn, pn + vg_sframe_aead_tag_len(a));
	assert_int_equal(vg_sframe_aead_seal(a, nonce, aad, an, pt, pn, out, sizeof out, &on),
			 VG_OK);
	assert_int_equal(on, cn);
	assert_memory_equal(out, ct, cn);
	assert_int_equal(vg_sframe_aead_open(a, nonce, aad, an, ct, cn, back, sizeof back, &bn),
			 VG_OK);
	assert_int_equal(bn, pn);
	assert_memory_equal(back, pt, pn);
	for (size_t pos = 0; pos < cn; pos += cn - 1) { /* first ct byte, last tag byte */
		ct[pos] ^= 0x01;
		memset(back, 0xee, sizeof back);
		assert_int_equal(
		    vg_sframe_aead_open(a, nonce, aad, an, ct, cn, back, sizeof back, &bn),
		    VG_ERR_INTEGRITY);
		assert_int_equal(bn, 0);
		assert_null(memmem(back, sizeof back, pt, 8));
		ct[pos] ^= 0x01;
	}
	aad[0] ^= 0x80;
	assert_int_equal(vg_sframe_aead_open(a, nonce, aad, an, ct, cn, back, sizeof back, &bn),
			 VG_ERR_INTEGRITY);
}

/* SFR 4.2.8 note 7: RFC 9605 C.2: the AES-CTR + HMAC AEAD of section 4.5.1,
 * AES-128 with HMAC-SHA256 (suites 1-3) and AES-256 with HMAC-SHA512. */
static void test_sframe_rfc9605_aead_vectors(void **state)
{
	json_t *doc = load_vectors(), *v;
	size_t i, n128 = 0, n256 = 0;

	(void)state;
	json_array_foreach(section(doc, "aes_ctr_hmac", 3), i, v)
	{
		uint8_t key[128], enc[32], auth[64];
		size_t kn = get_hex(v, "key", key, sizeof key);
		vg_sframe_suite suite =
		    (vg_sframe_suite)json_integer_value(json_object_get(v, "cipher_suite"));
		vg_sframe_aead *a = NULL;

		/* enc_key || auth_key is the key (section 4.5.1's subkeys). */
		assert_int_equal(get_hex(v, "enc_key", enc, sizeof enc), 16);
		assert_int_equal(get_hex(v, "auth_key", auth, sizeof auth), 32);
		assert_int_equal(kn, 48);
		assert_memory_equal(key, enc, 16);
		assert_memory_equal(key + 16, auth, 32);
		assert_true(suite >= 1 && suite <= 3);
		assert_int_equal(vg_sframe_aead_new(suite, key, kn, &a), VG_OK);
		check_aead(a, v);
		vg_sframe_aead_free(&a);
		assert_null(a);
		n128++;
	}
	json_array_foreach(section(doc, "aes_256_ctr_hmac", 3), i, v)
	{
		static const size_t nt[] = {10, 8, 4}; /* ids 6, 7, 8: _80, _64, _32 */
		uint8_t key[128], enc[32], auth[64];
		size_t kn = get_hex(v, "key", key, sizeof key);
		json_int_t id = json_integer_value(json_object_get(v, "cipher_suite"));
		vg_sframe_aead *a = NULL;

		assert_int_equal(get_hex(v, "enc_key", enc, sizeof enc), 32);
		assert_int_equal(get_hex(v, "auth_key", auth, sizeof auth), 64);
		assert_int_equal(kn, 96);
		assert_memory_equal(key, enc, 32);
		assert_memory_equal(key + 32, auth, 64);
		assert_true(id >= 6 && id <= 8);
		assert_int_equal(vg_sframe_aead_new_ctr_hmac(32, "SHA512", nt[id - 6], key, kn, &a),
				 VG_OK);
		check_aead(a, v);
		vg_sframe_aead_free(&a);
		n256++;
	}
	assert_int_equal(n128, 3);
	assert_int_equal(n256, 3);
	json_decref(doc);
}

/* SFR 4.2.8 note 7: RFC 9605 C.3: whole frames for the five suites: the
 * key schedule's key and salt, the nonce and AAD, the SFrame ciphertext,
 * and decryption back. */
static void test_sframe_rfc9605_frame_vectors(void **state)
{
	json_t *doc = load_vectors(), *v;
	size_t i, checked = 0;
	unsigned suites_seen = 0;

	(void)state;
	json_array_foreach(section(doc, "sframe", 5), i, v)
	{
		uint8_t base[64], wkey[64], wsalt[12], wnonce[12], meta[64], waad[96], pt[64],
		    ct[128], key[VG_SFRAME_KEY_MAX], salt[12], nonce[12], aad[96], out[128],
		    back[64], lbl[64], wlbl[64];
		uint64_t kid = get_u64(v, "kid"), ctr = get_u64(v, "ctr"), c2 = 0;
		vg_sframe_suite suite =
		    (vg_sframe_suite)json_integer_value(json_object_get(v, "cipher_suite"));
		size_t bn = get_hex(v, "base_key", base, sizeof base);
		size_t kn = get_hex(v, "sframe_key", wkey, sizeof wkey);
		size_t mn = get_hex(v, "metadata", meta, sizeof meta);
		size_t an = get_hex(v, "aad", waad, sizeof waad);
		size_t pn = get_hex(v, "pt", pt, sizeof pt), cn = get_hex(v, "ct", ct, sizeof ct);
		size_t nk = 0, nt = 0, hl = 0, on = 0, backn = 0, ln;
		vg_sframe_key *k = NULL;

		assert_int_equal(get_hex(v, "sframe_salt", wsalt, sizeof wsalt), 12);
		assert_int_equal(get_hex(v, "nonce", wnonce, sizeof wnonce), 12);
		assert_true(vg_sframe_suite_info(suite, &nk, &nt));
		assert_non_null(vg_sframe_suite_name(suite));
		suites_seen |= 1u << suite;
		/* The labels as section 4.4.2 spells them. */
		ln = (size_t)snprintf((char *)lbl, sizeof lbl, "SFrame 1.0 Secret key ");
		for (int b = 7; b >= 0; b--)
			lbl[ln++] = (uint8_t)(kid >> (8 * b));
		lbl[ln++] = 0;
		lbl[ln++] = (uint8_t)suite;
		assert_int_equal(get_hex(v, "sframe_key_label", wlbl, sizeof wlbl), ln);
		assert_memory_equal(lbl, wlbl, ln);

		assert_int_equal(vg_sframe_derive(suite, base, bn, kid, key, salt), VG_OK);
		assert_int_equal(kn, nk);
		assert_memory_equal(key, wkey, nk);
		assert_memory_equal(salt, wsalt, 12);
		/* nonce = salt XOR CTR; aad = header || metadata */
		memcpy(nonce, salt, 12);
		for (int b = 0; b < 8; b++)
			nonce[4 + b] ^= (uint8_t)(ctr >> (8 * (7 - b)));
		assert_memory_equal(nonce, wnonce, 12);
		vg_sframe_header_encode(kid, ctr, aad, &hl);
		memcpy(aad + hl, meta, mn);
		assert_int_equal(hl + mn, an);
		assert_memory_equal(aad, waad, an);

		assert_int_equal(vg_sframe_key_new(suite, base, bn, kid, &k), VG_OK);
		assert_int_equal(vg_sframe_encrypt(k, ctr, meta, mn, pt, pn, out, sizeof out, &on),
				 VG_OK);
		assert_int_equal(on, cn);
		assert_int_equal(cn, hl + pn + nt);
		assert_memory_equal(out, ct, cn);
		assert_int_equal(
		    vg_sframe_decrypt(k, meta, mn, ct, cn, back, sizeof back, &backn, &c2), VG_OK);
		assert_int_equal(backn, pn);
		assert_memory_equal(back, pt, pn);
		assert_true(c2 == ctr);
		/* Other metadata: refused. */
		meta[0] ^= 1;
		assert_int_equal(
		    vg_sframe_decrypt(k, meta, mn, ct, cn, back, sizeof back, &backn, &c2),
		    VG_ERR_INTEGRITY);
		vg_sframe_key_free(&k);
		assert_null(k);
		vg_wipe(key, sizeof key);
		checked++;
	}
	assert_int_equal(checked, 5);
	assert_int_equal(suites_seen, 0x3eu); /* suites 1..5, each once */
	json_decref(doc);
}

/* ---- the header parser against hostile bytes ---- */

/* SFR 4.2.8 note 7: a header cut short at every length is refused. */
static void test_sframe_header_truncated_every_length(void **state)
{
	static const uint64_t vals[] = {0, 7, 8, 0xff, 0x100, 0x123456, UINT64_MAX};
	size_t tried = 0;

	(void)state;
	for (size_t a = 0; a < VG_ARRAY_LEN(vals); a++)
		for (size_t b = 0; b < VG_ARRAY_LEN(vals); b++) {
			uint8_t h[VG_SFRAME_HDR_MAX];
			uint64_t kid = 1, ctr = 1;
			size_t n = 0, hl = 99;

			vg_sframe_header_encode(vals[a], vals[b], h, &n);
			for (size_t cut = 0; cut < n; cut++) {
				assert_int_equal(vg_sframe_header_decode(h, cut, &kid, &ctr, &hl),
						 VG_ERR_PROTOCOL);
				assert_true(kid == 0 && ctr == 0 && hl == 0);
				tried++;
			}
			assert_int_equal(vg_sframe_header_decode(h, n, &kid, &ctr, &hl), VG_OK);
		}
	assert_int_equal(
	    vg_sframe_header_decode(NULL, 0, &(uint64_t){0}, &(uint64_t){0}, &(size_t){0}),
	    VG_ERR_PROTOCOL);
	assert_true(tried > 100);
}

/* SFR 4.2.8 note 7: an over-long KID or CTR encoding (not the minimal one
 * RFC 9605 section 4.3 requires) is refused. */
static void test_sframe_header_overlong_refused(void **state)
{
	static const struct {
		uint8_t b[VG_SFRAME_HDR_MAX];
		size_t n;
	} bad[] = {
	    {{0x80, 0x05}, 2},                             /* KID 5 in an extended byte */
	    {{0x08, 0x07}, 2},                             /* CTR 7 likewise */
	    {{0x90, 0x00, 0x08}, 3},                       /* KID 8 in two bytes */
	    {{0x09, 0x00, 0xff}, 3},                       /* CTR 255 in two bytes */
	    {{0x88, 0x00, 0x00}, 3},                       /* both zero in extended bytes */
	    {{0xf0, 0, 0, 0, 0, 0, 0, 0, 0x08}, 9},        /* KID 8 in eight bytes */
	    {{0x8f, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x09}, 10}, /* CTR 9 in eight */
	};
	uint64_t kid, ctr;
	size_t hl;

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++)
		assert_int_equal(vg_sframe_header_decode(bad[i].b, bad[i].n, &kid, &ctr, &hl),
				 VG_ERR_PROTOCOL);
	/* Controls: the minimal forms decode. */
	assert_int_equal(vg_sframe_header_decode((const uint8_t[]){0x80, 0x08}, 2, &kid, &ctr, &hl),
			 VG_OK);
	assert_true(kid == 8 && ctr == 0 && hl == 2);
	assert_int_equal(
	    vg_sframe_header_decode((const uint8_t[]){0x09, 0x01, 0x00}, 3, &kid, &ctr, &hl),
	    VG_OK);
	assert_true(kid == 0 && ctr == 256 && hl == 3);
}

/* SFR 4.2.8 note 7: every config byte, followed by garbage: a header that
 * decodes is exactly the encoding of what it decodes to (one header per
 * KID and CTR), and is never longer than the bytes given. */
static void test_sframe_header_garbage_canonical(void **state)
{
	static const uint8_t fills[] = {0x00, 0x01, 0x07, 0x08, 0x80, 0xff};
	size_t ok = 0, refused = 0;

	(void)state;
	for (unsigned cfg = 0; cfg < 256; cfg++)
		for (size_t f = 0; f < sizeof fills; f++)
			for (size_t len = 0; len <= VG_SFRAME_HDR_MAX; len++) {
				uint8_t buf[VG_SFRAME_HDR_MAX], again[VG_SFRAME_HDR_MAX];
				uint64_t kid, ctr;
				size_t hl, n;

				memset(buf, fills[f], sizeof buf);
				buf[0] = (uint8_t)cfg;
				if (vg_sframe_header_decode(buf, len, &kid, &ctr, &hl) != VG_OK) {
					refused++;
					continue;
				}
				assert_true(hl >= 1 && hl <= len);
				vg_sframe_header_encode(kid, ctr, again, &n);
				assert_int_equal(n, hl);
				assert_memory_equal(again, buf, n);
				ok++;
			}
	assert_true(ok > 0 && refused > 0);
}

/* ---- the stream layer ---- */

static const uint8_t base_a[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				   0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t base_b[16] = {0xf0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				   0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t sid_a[VG_SFRAME_STREAM_ID_LEN] = "stream-A-0000001";
static const uint8_t sid_b[VG_SFRAME_STREAM_ID_LEN] = "stream-B-0000001";
#define KID_A  0x1234u
#define PT_LEN 3840u /* 20 ms of 48 kHz stereo S16 */

/* A frame of audio-like bytes, different per CTR. */
static void fill_pt(uint8_t *pt, size_t len, uint64_t ctr)
{
	for (size_t i = 0; i < len; i++)
		pt[i] = (uint8_t)(i * 7 + ctr * 13 + (i >> 8));
}

typedef struct frame {
	uint8_t b[VG_SFRAME_WIRE_LEN(PT_LEN)];
	size_t n;
} frame;

static vg_sframe_sender *sender(vg_sframe_suite suite, const uint8_t *base,
				const uint8_t sid[VG_SFRAME_STREAM_ID_LEN])
{
	vg_sframe_sender *s = NULL;

	assert_int_equal(vg_sframe_sender_new(suite, base, 16, KID_A, sid, &s), VG_OK);
	return s;
}

static vg_sframe_receiver *receiver(vg_sframe_suite suite)
{
	vg_sframe_receiver *r = NULL;

	assert_int_equal(vg_sframe_receiver_new(suite, base_a, 16, KID_A, sid_a, &r), VG_OK);
	return r;
}

/* Seals count frames (the last one final when final) of stream A. */
static frame *seal_stream(vg_sframe_suite suite, size_t count, bool final, size_t pt_len)
{
	vg_sframe_sender *s = sender(suite, base_a, sid_a);
	frame *f = calloc(count, sizeof *f);
	uint8_t pt[PT_LEN];

	assert_non_null(f);
	for (size_t i = 0; i < count; i++) {
		fill_pt(pt, pt_len, i);
		assert_int_equal(vg_sframe_sender_next_ctr(s), i);
		assert_int_equal(vg_sframe_seal(s, pt, pt_len, final && i == count - 1, f[i].b,
						sizeof f[i].b, &f[i].n),
				 VG_OK);
		{
			size_t len = 0;
			assert_int_equal(vg_sframe_wire_frame_len(f[i].b, f[i].n, &len), VG_OK);
			assert_int_equal(len, f[i].n);
		}
	}
	vg_sframe_sender_free(&s);
	assert_null(s);
	return f;
}

/* Opens f and asserts the outcome; on VG_OK, the plaintext is CTR ctr's. */
static unsigned open_one(vg_sframe_receiver *r, const frame *f, vg_rc want, uint64_t ctr)
{
	uint8_t pt[VG_SFRAME_MAX_PT], exp[PT_LEN];
	size_t n = 99;
	unsigned flags = 99;
	uint64_t c = 99;

	assert_int_equal(vg_sframe_open(r, f->b, f->n, pt, sizeof pt, &n, &flags, &c), want);
	if (want != VG_OK) {
		assert_int_equal(n, 0);
		assert_int_equal(flags, 0);
		return 0;
	}
	assert_true(c == ctr);
	fill_pt(exp, n, ctr);
	assert_memory_equal(pt, exp, n);
	return flags;
}

/* SFR 4.2.7, A.2.2.1: a stream of 20 ms frames goes through in every suite,
 * bit for bit, and ends cleanly with its final frame. */
static void test_sframe_stream_roundtrip_all_suites(void **state)
{
	(void)state;
	for (vg_sframe_suite suite = 1; suite <= 5; suite++) {
		frame *f = seal_stream(suite, 50, true, PT_LEN);
		vg_sframe_receiver *r = receiver(suite);
		vg_sframe_stats st;

		for (size_t i = 0; i < 50; i++)
			assert_int_equal(open_one(r, &f[i], VG_OK, i),
					 i == 49 ? VG_SFRAME_FINAL : 0u);
		assert_int_equal(vg_sframe_receiver_end(r), VG_OK);
		vg_sframe_receiver_stats(r, &st);
		assert_true(st.frames == 50 && st.missing == 0 && st.late == 0 && st.refused == 0 &&
			    st.highest == 49 && st.final_seen);
		/* A frame of the stream is not audio in the clear. */
		{
			uint8_t pt[PT_LEN];
			fill_pt(pt, PT_LEN, 3);
			assert_null(memmem(f[3].b, f[3].n, pt, 16));
		}
		vg_sframe_receiver_free(&r);
		assert_null(r);
		free(f);
	}
	vg_sframe_receiver_free(NULL);
	vg_sframe_sender_free(NULL);
}

/* The AES-CTR context is re-initialised per frame: frame 1 sealed after an
 * odd-length frame 0 equals frame 1 sealed by a fresh context. */
static void test_sframe_ctr_state_does_not_leak_between_frames(void **state)
{
	(void)state;
	for (vg_sframe_suite suite = 1; suite <= 5; suite++) {
		vg_sframe_key *k1 = NULL, *k2 = NULL;
		uint8_t pt[37], a[128], b[128];
		size_t an = 0, bn = 0;

		fill_pt(pt, sizeof pt, 1);
		assert_int_equal(vg_sframe_key_new(suite, base_a, 16, 9, &k1), VG_OK);
		assert_int_equal(vg_sframe_key_new(suite, base_a, 16, 9, &k2), VG_OK);
		assert_int_equal(vg_sframe_encrypt(k1, 0, NULL, 0, pt, 21, a, sizeof a, &an),
				 VG_OK);
		assert_int_equal(vg_sframe_encrypt(k1, 1, NULL, 0, pt, sizeof pt, a, sizeof a, &an),
				 VG_OK);
		assert_int_equal(vg_sframe_encrypt(k2, 1, NULL, 0, pt, sizeof pt, b, sizeof b, &bn),
				 VG_OK);
		assert_int_equal(an, bn);
		assert_memory_equal(a, b, an);
		vg_sframe_key_free(&k1);
		vg_sframe_key_free(&k2);
	}
}

/* SFR 4.2.8 note 7, A.2.2.1: a flipped bit anywhere in a frame (prefix,
 * SFrame header, ciphertext, tag) is refused, leaves no plaintext behind
 * and does not disturb the receiver: the genuine frame opens afterwards. */
static void test_sframe_flipped_bit_refused(void **state)
{
	(void)state;
	for (vg_sframe_suite suite = 1; suite <= 5; suite++) {
		frame *f = seal_stream(suite, 2, true, 48);
		vg_sframe_receiver *r = receiver(suite);
		size_t nt = 0, hl = 0, tried = 0;
		uint64_t kid, ctr;
		uint8_t pt[VG_SFRAME_MAX_PT];

		assert_true(vg_sframe_suite_info(suite, NULL, &nt));
		assert_int_equal(vg_sframe_header_decode(f[1].b + VG_SFRAME_WIRE_PREFIX,
							 f[1].n - VG_SFRAME_WIRE_PREFIX, &kid, &ctr,
							 &hl),
				 VG_OK);
		for (size_t pos = 0; pos < f[1].n; pos++)
			for (unsigned bit = 0; bit < 8; bit++) {
				frame g = f[1];
				size_t n = 99;
				unsigned flags = 99;
				vg_rc rc;

				g.b[pos] ^= (uint8_t)(1u << bit);
				memset(pt, 0xee, 64);
				rc = vg_sframe_open(r, g.b, g.n, pt, sizeof pt, &n, &flags, NULL);
				assert_int_not_equal(rc, VG_OK);
				assert_true(n == 0 && flags == 0);
				/* The SFrame ciphertext and tag: an integrity error. */
				if (pos >= VG_SFRAME_WIRE_PREFIX + hl)
					assert_int_equal(rc, VG_ERR_INTEGRITY);
				/* The FINAL flag is authenticated. */
				if (pos == 1 && bit == 0)
					assert_int_equal(rc, VG_ERR_INTEGRITY);
				/* No plaintext was left in the buffer. */
				for (size_t i = 0; i < 48; i++)
					assert_true(pt[i] == 0xee || pt[i] == 0);
				tried++;
			}
		/* The KID bits of the header: an integrity error (no such key). */
		{
			frame g = f[1];
			g.b[VG_SFRAME_WIRE_PREFIX + 2] ^= 0x01; /* KID 0x1234 -> 0x1235 */
			assert_int_equal(open_one(r, &g, VG_ERR_INTEGRITY, 0), 0);
			g = f[1];
			g.b[g.n - 1] ^= 0x80; /* the tag's last byte */
			assert_int_equal(open_one(r, &g, VG_ERR_INTEGRITY, 0), 0);
		}
		assert_int_equal(tried, 8 * f[1].n);
		assert_int_equal(open_one(r, &f[0], VG_OK, 0), 0);
		assert_int_equal(open_one(r, &f[1], VG_OK, 1), VG_SFRAME_FINAL);
		assert_int_equal(vg_sframe_receiver_end(r), VG_OK);
		vg_sframe_receiver_free(&r);
		free(f);
	}
}

/* SFR 4.2.8 note 7: a replayed frame is refused, and so is one that is
 * older than the window; out-of-order frames inside it are accepted. */
static void test_sframe_replay_window(void **state)
{
	frame *f = seal_stream(VG_SFRAME_AES_128_GCM_SHA256_128, 400, true, 64);
	vg_sframe_receiver *r = receiver(VG_SFRAME_AES_128_GCM_SHA256_128);
	vg_sframe_stats st;

	(void)state;
	assert_int_equal(open_one(r, &f[0], VG_OK, 0), 0);
	assert_int_equal(open_one(r, &f[0], VG_ERR_REPLAY, 0), 0); /* replayed */
	/* 1 and 2 swapped: both accepted, the late one flagged. */
	assert_int_equal(open_one(r, &f[2], VG_OK, 2), VG_SFRAME_GAP);
	assert_int_equal(open_one(r, &f[1], VG_OK, 1), VG_SFRAME_LATE);
	assert_int_equal(open_one(r, &f[1], VG_ERR_REPLAY, 0), 0);
	assert_int_equal(open_one(r, &f[2], VG_ERR_REPLAY, 0), 0);
	/* Up to 200, keeping 3, 73 and 74 back. */
	for (size_t i = 4; i <= 200; i++)
		if (i != 73 && i != 74)
			assert_int_equal(open_one(r, &f[i], VG_OK, i),
					 i == 4 || i == 75 ? VG_SFRAME_GAP : 0u);
	/* 3 is 197 behind 200: older than the window. */
	assert_int_equal(open_one(r, &f[3], VG_ERR_REPLAY, 0), 0);
	/* 73 is 127 behind: inside, until 201 moves the window past it. */
	assert_int_equal(open_one(r, &f[201], VG_OK, 201), 0);
	assert_int_equal(open_one(r, &f[73], VG_ERR_REPLAY, 0), 0);
	/* 74 is 127 behind 201: the window's last place. */
	assert_int_equal(open_one(r, &f[74], VG_OK, 74), VG_SFRAME_LATE);
	assert_int_equal(open_one(r, &f[74], VG_ERR_REPLAY, 0), 0);
	assert_int_equal(open_one(r, &f[0], VG_ERR_REPLAY, 0), 0);
	/* A jump of more than the window (201 -> 399) clears it. */
	assert_int_equal(open_one(r, &f[399], VG_OK, 399), VG_SFRAME_GAP | VG_SFRAME_FINAL);
	assert_int_equal(open_one(r, &f[201], VG_ERR_REPLAY, 0), 0);
	assert_int_equal(open_one(r, &f[300], VG_OK, 300), VG_SFRAME_LATE);
	assert_int_equal(open_one(r, &f[300], VG_ERR_REPLAY, 0), 0);
	vg_sframe_receiver_stats(r, &st);
	assert_int_equal(st.refused, 9);
	assert_int_equal(st.late, 3);
	assert_int_equal(st.frames, 202);
	assert_int_equal(st.missing, 400 - 202);
	assert_true(st.highest == 399 && st.final_seen);
	assert_int_equal(vg_sframe_receiver_end(r), VG_OK);
	vg_sframe_receiver_free(&r);
	free(f);
}

/* SFR 4.2.8 note 7: a frame of another stream under the same key and KID
 * cannot be spliced in; nor can one under another key. */
static void test_sframe_splice_refused(void **state)
{
	(void)state;
	for (vg_sframe_suite suite = 1; suite <= 5; suite++) {
		vg_sframe_sender *sb = sender(suite, base_a, sid_b),
				 *sk = sender(suite, base_b, sid_a);
		vg_sframe_receiver *r = receiver(suite);
		frame *fa = seal_stream(suite, 3, true, 100);
		frame g, h;
		uint8_t pt[100];

		fill_pt(pt, sizeof pt, 0);
		assert_int_equal(vg_sframe_seal(sb, pt, sizeof pt, false, g.b, sizeof g.b, &g.n),
				 VG_OK);
		assert_int_equal(vg_sframe_seal(sk, pt, sizeof pt, false, h.b, sizeof h.b, &h.n),
				 VG_OK);
		/* Same KID and CTR: only the stream id (or the key) differs. */
		assert_int_equal(g.n, fa[0].n);
		assert_memory_equal(g.b, fa[0].b, VG_SFRAME_WIRE_PREFIX + 3);
		assert_int_equal(open_one(r, &g, VG_ERR_INTEGRITY, 0), 0);
		assert_int_equal(open_one(r, &h, VG_ERR_INTEGRITY, 0), 0);
		/* Control: stream A's own frame 0 opens (the window was untouched). */
		assert_int_equal(open_one(r, &fa[0], VG_OK, 0), 0);
		vg_sframe_sender_free(&sb);
		vg_sframe_sender_free(&sk);
		vg_sframe_receiver_free(&r);
		free(fa);
	}
}

/* SFR 4.2.8 note 7: a dropped frame is reported (flagged and counted), not
 * fatal: audio tolerates loss. */
static void test_sframe_dropped_frame_reported(void **state)
{
	frame *f = seal_stream(VG_SFRAME_AES_128_CTR_HMAC_SHA256_32, 10, true, 320);
	vg_sframe_receiver *r = receiver(VG_SFRAME_AES_128_CTR_HMAC_SHA256_32);
	vg_sframe_stats st;

	(void)state;
	for (size_t i = 0; i < 10; i++) {
		unsigned want = i == 4 ? VG_SFRAME_GAP : i == 9 ? VG_SFRAME_FINAL : 0u;
		if (i == 3)
			continue; /* lost */
		assert_int_equal(open_one(r, &f[i], VG_OK, i), want);
	}
	vg_sframe_receiver_stats(r, &st);
	assert_int_equal(st.frames, 9);
	assert_int_equal(st.missing, 1);
	assert_int_equal(vg_sframe_receiver_end(r), VG_OK);
	/* It turns up late after all: no longer missing. */
	assert_int_equal(open_one(r, &f[3], VG_OK, 3), VG_SFRAME_LATE);
	vg_sframe_receiver_stats(r, &st);
	assert_int_equal(st.missing, 0);
	vg_sframe_receiver_free(&r);
	/* A stream that starts late (frame 0 lost) counts it too. */
	r = receiver(VG_SFRAME_AES_128_CTR_HMAC_SHA256_32);
	assert_int_equal(open_one(r, &f[2], VG_OK, 2), VG_SFRAME_GAP);
	vg_sframe_receiver_stats(r, &st);
	assert_int_equal(st.missing, 2);
	vg_sframe_receiver_free(&r);
	free(f);
}

/* SFR 4.2.8 note 7: a stream cut before its final frame is reported
 * truncated, whether it was cut in the middle or lost only the final. */
static void test_sframe_truncated_stream_reported(void **state)
{
	frame *f = seal_stream(VG_SFRAME_AES_256_GCM_SHA512_128, 6, true, 200);
	frame *g = seal_stream(VG_SFRAME_AES_256_GCM_SHA512_128, 6, false, 200);
	vg_sframe_receiver *r = receiver(VG_SFRAME_AES_256_GCM_SHA512_128);

	(void)state;
	assert_int_equal(vg_sframe_receiver_end(r), VG_ERR_TRUNCATED); /* nothing at all */
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(open_one(r, &f[i], VG_OK, i), 0);
	assert_int_equal(vg_sframe_receiver_end(r), VG_ERR_TRUNCATED); /* final lost */
	vg_sframe_receiver_free(&r);
	/* A sender that never marked a final frame (the stream was cut). */
	r = receiver(VG_SFRAME_AES_256_GCM_SHA512_128);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(open_one(r, &g[i], VG_OK, i), 0);
	assert_int_equal(vg_sframe_receiver_end(r), VG_ERR_TRUNCATED);
	assert_string_equal(vg_rc_str(VG_ERR_TRUNCATED),
			    "truncated: the stream ended before its final frame");
	/* Control: the whole stream ends cleanly. */
	vg_sframe_receiver_free(&r);
	r = receiver(VG_SFRAME_AES_256_GCM_SHA512_128);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(open_one(r, &f[i], VG_OK, i), i == 5 ? VG_SFRAME_FINAL : 0u);
	assert_int_equal(vg_sframe_receiver_end(r), VG_OK);
	vg_sframe_receiver_free(&r);
	assert_int_equal(vg_sframe_receiver_end(NULL), VG_ERR_INVALID);
	free(f);
	free(g);
}

/* SFR 4.2.8 note 7: nothing after the final frame: the sender refuses to
 * seal one, and the receiver refuses one a key holder made anyway, and a
 * final frame that comes after later frames. */
static void test_sframe_frame_after_final_refused(void **state)
{
	const vg_sframe_suite suite = VG_SFRAME_AES_128_CTR_HMAC_SHA256_80;
	frame *fin = seal_stream(suite, 3, true, 64);   /* 0 1 2(final) */
	frame *more = seal_stream(suite, 5, false, 64); /* 0 1 2 3 4 */
	vg_sframe_sender *s = sender(suite, base_a, sid_a);
	vg_sframe_receiver *r = receiver(suite);
	uint8_t pt[64] = {0};
	frame x;

	(void)state;
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, true, x.b, sizeof x.b, &x.n), VG_OK);
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, false, x.b, sizeof x.b, &x.n),
			 VG_ERR_STATE);
	assert_int_equal(x.n, 0);
	assert_int_equal(vg_sframe_sender_skip_to(s, 5), VG_ERR_INVALID);
	vg_sframe_sender_free(&s);

	for (size_t i = 0; i < 3; i++)
		assert_int_equal(open_one(r, &fin[i], VG_OK, i), i == 2 ? VG_SFRAME_FINAL : 0u);
	assert_int_equal(open_one(r, &more[3], VG_ERR_STATE, 0), 0);
	assert_int_equal(open_one(r, &more[4], VG_ERR_STATE, 0), 0);
	assert_int_equal(vg_sframe_receiver_end(r), VG_OK);
	vg_sframe_receiver_free(&r);

	/* Frames 3 and 4 first, then a final frame 2: refused. */
	r = receiver(suite);
	assert_int_equal(open_one(r, &more[3], VG_OK, 3), VG_SFRAME_GAP);
	assert_int_equal(open_one(r, &more[4], VG_OK, 4), 0);
	assert_int_equal(open_one(r, &fin[2], VG_ERR_STATE, 0), 0);
	assert_int_equal(vg_sframe_receiver_end(r), VG_ERR_TRUNCATED);
	/* A frame before the final one, late, is fine. */
	vg_sframe_receiver_free(&r);
	r = receiver(suite);
	assert_int_equal(open_one(r, &fin[2], VG_OK, 2), VG_SFRAME_FINAL | VG_SFRAME_GAP);
	assert_int_equal(open_one(r, &fin[0], VG_OK, 0), VG_SFRAME_LATE);
	assert_int_equal(vg_sframe_receiver_end(r), VG_OK);
	vg_sframe_receiver_free(&r);
	free(fin);
	free(more);
}

/* SFR 4.2.8 note 7: an oversized frame is refused from its 6-byte prefix,
 * before any cryptography (and before a reader takes in the rest), and the
 * sender refuses to make one. */
static void test_sframe_oversized_refused(void **state)
{
	static uint8_t big[VG_SFRAME_WIRE_MAX + 64], src[VG_SFRAME_MAX_PT + 1];
	vg_sframe_sender *s = sender(VG_SFRAME_AES_128_GCM_SHA256_128, base_a, sid_a);
	vg_sframe_receiver *r = receiver(VG_SFRAME_AES_128_GCM_SHA256_128);
	uint8_t pt[64];
	size_t n = 0, len = 0;
	unsigned flags;
	vg_sframe_stats st;

	(void)state;
	memset(src, 0x5a, sizeof src);
	/* The largest frame is fine. */
	assert_int_equal(vg_sframe_seal(s, src, VG_SFRAME_MAX_PT, false, big, sizeof big, &n),
			 VG_OK);
	assert_int_equal(n, VG_SFRAME_WIRE_LEN(VG_SFRAME_MAX_PT) - VG_SFRAME_HDR_MAX + 3);
	assert_int_equal(vg_sframe_wire_frame_len(big, n, &len), VG_OK);
	assert_int_equal(len, n);
	/* One byte more: the sender refuses; the CTR was not spent. */
	assert_int_equal(vg_sframe_seal(s, src, VG_SFRAME_MAX_PT + 1, false, big, sizeof big, &n),
			 VG_ERR_TOO_LARGE);
	assert_int_equal(vg_sframe_sender_next_ctr(s), 1);
	/* A prefix announcing more than the bound. */
	big[0] = 1;
	big[1] = 0;
	big[2] = (uint8_t)((VG_SFRAME_MAX_CT + 1) >> 24);
	big[3] = (uint8_t)((VG_SFRAME_MAX_CT + 1) >> 16);
	big[4] = (uint8_t)((VG_SFRAME_MAX_CT + 1) >> 8);
	big[5] = (uint8_t)(VG_SFRAME_MAX_CT + 1);
	assert_int_equal(vg_sframe_wire_frame_len(big, 6, &len), VG_ERR_TOO_LARGE);
	assert_int_equal(len, 0);
	assert_int_equal(vg_sframe_open(r, big, VG_SFRAME_WIRE_PREFIX + VG_SFRAME_MAX_CT + 1, pt,
					sizeof pt, &n, &flags, NULL),
			 VG_ERR_TOO_LARGE);
	memset(big + 2, 0xff, 4);
	assert_int_equal(vg_sframe_wire_frame_len(big, 6, &len), VG_ERR_TOO_LARGE);
	/* A frame bigger than the caller's buffer: refused, nothing written. */
	{
		frame *f = seal_stream(VG_SFRAME_AES_128_GCM_SHA256_128, 1, false, 100);
		memset(pt, 0xee, sizeof pt);
		assert_int_equal(vg_sframe_open(r, f[0].b, f[0].n, pt, sizeof pt, &n, &flags, NULL),
				 VG_ERR_TOO_LARGE);
		for (size_t i = 0; i < sizeof pt; i++)
			assert_int_equal(pt[i], 0xee);
		free(f);
	}
	vg_sframe_receiver_stats(r, &st);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.frames, 0);
	vg_sframe_sender_free(&s);
	vg_sframe_receiver_free(&r);
}

/* SFR 4.2.8 note 7: garbage and truncated frames: every cut of a genuine
 * frame, bad versions and flags, and random bytes are refused. */
static void test_sframe_truncated_and_garbage_frames_refused(void **state)
{
	frame *f = seal_stream(VG_SFRAME_AES_128_CTR_HMAC_SHA256_64, 1, true, 40);
	vg_sframe_receiver *r = receiver(VG_SFRAME_AES_128_CTR_HMAC_SHA256_64);
	uint8_t pt[VG_SFRAME_MAX_PT], buf[256];
	size_t n, len;
	unsigned flags;
	uint32_t x = 0x12345678u;

	(void)state;
	for (size_t cut = 0; cut < f[0].n; cut++)
		assert_int_not_equal(
		    vg_sframe_open(r, f[0].b, cut, pt, sizeof pt, &n, &flags, NULL), VG_OK);
	/* The declared length must be the frame's. */
	memcpy(buf, f[0].b, f[0].n);
	buf[f[0].n] = 0;
	assert_int_equal(vg_sframe_open(r, buf, f[0].n + 1, pt, sizeof pt, &n, &flags, NULL),
			 VG_ERR_PROTOCOL);
	/* Version 2, unknown flags, an empty SFrame ciphertext. */
	buf[0] = 2;
	assert_int_equal(vg_sframe_wire_frame_len(buf, f[0].n, &len), VG_ERR_PROTOCOL);
	buf[0] = 1;
	buf[1] = 0x02;
	assert_int_equal(vg_sframe_wire_frame_len(buf, f[0].n, &len), VG_ERR_PROTOCOL);
	assert_int_equal(vg_sframe_wire_frame_len((const uint8_t[]){1, 0, 0, 0, 0, 0}, 6, &len),
			 VG_ERR_PROTOCOL);
	assert_int_equal(vg_sframe_wire_frame_len(buf, 5, &len), VG_ERR_INVALID);
	/* Random frames with a valid prefix. */
	for (int i = 0; i < 2000; i++) {
		size_t body = 1 + (size_t)(i % 200);
		buf[0] = 1;
		buf[1] = (uint8_t)(i & 1);
		buf[2] = buf[3] = buf[4] = 0;
		buf[5] = (uint8_t)body;
		for (size_t j = 0; j < body; j++) {
			x = x * 1103515245u + 12345u;
			buf[6 + j] = (uint8_t)(x >> 16);
		}
		assert_int_not_equal(
		    vg_sframe_open(r, buf, 6 + body, pt, sizeof pt, &n, &flags, NULL), VG_OK);
	}
	/* Control: the genuine frame opens. */
	assert_int_equal(open_one(r, &f[0], VG_OK, 0), VG_SFRAME_FINAL);
	vg_sframe_receiver_free(&r);
	free(f);
}

/* SFR 4.2.8 note 7 (RFC 9605 section 7.4): the sender never seals two
 * frames with one CTR: it stops at 2^64 - 1 instead of wrapping, and never
 * skips back. */
static void test_sframe_sender_ctr_never_wraps(void **state)
{
	vg_sframe_sender *s = sender(VG_SFRAME_AES_128_GCM_SHA256_128, base_a, sid_a);
	vg_sframe_receiver *r = receiver(VG_SFRAME_AES_128_GCM_SHA256_128);
	uint8_t pt[32] = {1}, out[128];
	size_t n = 0, pn;
	unsigned flags;
	uint64_t ctr;
	frame x;

	(void)state;
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, false, out, sizeof out, &n), VG_OK);
	assert_int_equal(vg_sframe_sender_skip_to(s, 0), VG_ERR_INVALID); /* backwards */
	assert_int_equal(vg_sframe_sender_skip_to(s, UINT64_MAX - 1), VG_OK);
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, false, out, sizeof out, &n), VG_OK);
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, false, x.b, sizeof x.b, &x.n), VG_OK);
	assert_true(vg_sframe_sender_next_ctr(s) == UINT64_MAX);
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, false, out, sizeof out, &n),
			 VG_ERR_STATE);
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, true, out, sizeof out, &n), VG_ERR_STATE);
	/* The receiver takes CTR 2^64 - 1 (an 11-byte header: KID 2, CTR 8). */
	assert_int_equal(vg_sframe_open(r, x.b, x.n, out, sizeof out, &pn, &flags, &ctr), VG_OK);
	assert_true(ctr == UINT64_MAX && pn == sizeof pt && (flags & VG_SFRAME_GAP));
	/* A too-small output buffer on the sender side: refused, CTR kept. */
	vg_sframe_sender_free(&s);
	s = sender(VG_SFRAME_AES_128_GCM_SHA256_128, base_a, sid_a);
	assert_int_equal(vg_sframe_seal(s, pt, sizeof pt, false, out, 20, &n), VG_ERR_TOO_LARGE);
	assert_int_equal(vg_sframe_sender_next_ctr(s), 0);
	vg_sframe_sender_free(&s);
	vg_sframe_receiver_free(&r);
}

/* Bad arguments: refused, nothing allocated. */
static void test_sframe_bad_arguments(void **state)
{
	vg_sframe_sender *s = (vg_sframe_sender *)1;
	vg_sframe_receiver *r = (vg_sframe_receiver *)1;
	uint8_t key[VG_SFRAME_KEY_MAX], salt[12], big[VG_SFRAME_BASE_KEY_MAX + 1] = {0};

	(void)state;
	assert_int_equal(vg_sframe_sender_new(0, base_a, 16, 1, sid_a, &s), VG_ERR_INVALID);
	assert_null(s);
	assert_int_equal(vg_sframe_receiver_new(6, base_a, 16, 1, sid_a, &r), VG_ERR_INVALID);
	assert_null(r);
	assert_int_equal(vg_sframe_derive(1, base_a, 15, 1, key, salt), VG_ERR_INVALID);
	assert_int_equal(vg_sframe_derive(1, big, sizeof big, 1, key, salt), VG_ERR_INVALID);
	assert_int_equal(vg_sframe_derive(1, NULL, 16, 1, key, salt), VG_ERR_INVALID);
	assert_false(vg_sframe_suite_info(0, NULL, NULL));
	assert_null(vg_sframe_suite_name(9));
	{
		vg_sframe_aead *a = NULL;
		assert_int_equal(vg_sframe_aead_new(4, key, 15, &a), VG_ERR_INVALID);
		assert_int_equal(vg_sframe_aead_new_ctr_hmac(24, "SHA256", 10, key, 56, &a),
				 VG_ERR_INVALID);
		assert_int_equal(vg_sframe_aead_new_ctr_hmac(16, "MD5", 10, key, 32, &a),
				 VG_ERR_INVALID);
		assert_null(a);
	}
	/* A wrong KID: integrity error, like a wrong key. */
	{
		vg_sframe_receiver *rk = NULL;
		frame *f = seal_stream(VG_SFRAME_AES_128_GCM_SHA256_128, 1, true, 10);
		assert_int_equal(vg_sframe_receiver_new(VG_SFRAME_AES_128_GCM_SHA256_128, base_a,
							16, KID_A + 1, sid_a, &rk),
				 VG_OK);
		assert_int_equal(open_one(rk, &f[0], VG_ERR_INTEGRITY, 0), 0);
		assert_int_equal(vg_sframe_receiver_end(rk), VG_ERR_TRUNCATED);
		vg_sframe_receiver_free(&rk);
		free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sframe_rfc9605_header_vectors),
	    cmocka_unit_test(test_sframe_rfc9605_aead_vectors),
	    cmocka_unit_test(test_sframe_rfc9605_frame_vectors),
	    cmocka_unit_test(test_sframe_header_truncated_every_length),
	    cmocka_unit_test(test_sframe_header_overlong_refused),
	    cmocka_unit_test(test_sframe_header_garbage_canonical),
	    cmocka_unit_test(test_sframe_stream_roundtrip_all_suites),
	    cmocka_unit_test(test_sframe_ctr_state_does_not_leak_between_frames),
	    cmocka_unit_test(test_sframe_flipped_bit_refused),
	    cmocka_unit_test(test_sframe_replay_window),
	    cmocka_unit_test(test_sframe_splice_refused),
	    cmocka_unit_test(test_sframe_dropped_frame_reported),
	    cmocka_unit_test(test_sframe_truncated_stream_reported),
	    cmocka_unit_test(test_sframe_frame_after_final_refused),
	    cmocka_unit_test(test_sframe_oversized_refused),
	    cmocka_unit_test(test_sframe_truncated_and_garbage_frames_refused),
	    cmocka_unit_test(test_sframe_sender_ctr_never_wraps),
	    cmocka_unit_test(test_sframe_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
