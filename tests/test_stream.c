/*
 * test_stream.c - encrypted audio streams (include/voxguard/stream.h,
 * src/audio/stream.c): the stream header codec and the stream built on
 * HPKE and SFrame, with the recipients' keys in process (the service's
 * decapsulation is tested by tests/integration/test_sfr428_n7_stream.sh).
 *
 * SFR 4.2.7, 4.2.8 note 7 (audio streams encrypted for their intended
 * recipients), profile 2.3.1, asset A.2.2.1: every recipient opens the
 * stream, nobody else does; each header byte is bound into the frames;
 * the header parser is strict and bounded; auth mode checks the sender;
 * splicing, replay, truncation are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audio/stream_int.h"
#include "common/util.h"

struct party {
	EVP_PKEY *sk;
	uint8_t *spki;
	size_t spki_len;
};

static void party_new(uint16_t kem, struct party *p)
{
	int n;

	p->spki = NULL;
	assert_int_equal(vg_hpke_generate_keypair(kem, &p->sk), VG_OK);
	n = i2d_PUBKEY(p->sk, &p->spki);
	assert_true(n > 0);
	p->spki_len = (size_t)n;
}

static void party_free(struct party *p)
{
	EVP_PKEY_free(p->sk);
	OPENSSL_free(p->spki);
	memset(p, 0, sizeof *p);
}

static vg_rc receiver(const struct party *me, const struct party *sender, const uint8_t *hdr,
		      size_t hdr_len, vg_stream_receiver **r)
{
	return vg_stream_receiver_new_cb(me->spki, me->spki_len, vg_stream_decap_local, me->sk,
					 sender ? sender->spki : NULL, sender ? sender->spki_len : 0,
					 hdr, hdr_len, r);
}

/* A stream of `frames` frames of 640 bytes (20 ms of 16 kHz mono S16), the
 * last one FINAL: wire frames one after the other into wire. */
static size_t seal_stream(vg_stream_sender *s, size_t frames, uint8_t *wire, size_t cap,
			  size_t offsets[])
{
	uint8_t pt[640];
	size_t off = 0, n = 0;

	for (size_t i = 0; i < frames; i++) {
		for (size_t k = 0; k < sizeof pt; k++)
			pt[k] = (uint8_t)(i * 7 + k);
		offsets[i] = off;
		if (i + 1 < frames)
			assert_int_equal(vg_stream_seal_frame(s, pt, sizeof pt, wire + off, cap - off, &n),
					 VG_OK);
		else
			assert_int_equal(vg_stream_finish(s, pt, sizeof pt, wire + off, cap - off, &n),
					 VG_OK);
		off += n;
	}
	offsets[frames] = off;
	return off;
}

/* Opens every frame and checks its plaintext; returns the verdict of the
 * stream's end. */
static vg_rc open_stream(vg_stream_receiver *r, const uint8_t *wire, const size_t offsets[],
			 size_t frames)
{
	uint8_t pt[VG_STREAM_FRAME_MAX];
	size_t n = 0;
	unsigned flags = 0;

	for (size_t i = 0; i < frames; i++) {
		assert_int_equal(vg_stream_open_frame(r, wire + offsets[i], offsets[i + 1] - offsets[i],
						      pt, sizeof pt, &n, &flags),
				 VG_OK);
		assert_int_equal(n, 640);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(pt[k], (uint8_t)(i * 7 + k));
		assert_int_equal(flags & 0x01u, i + 1 == frames ? 0x01u : 0u);
	}
	return vg_stream_receiver_end(r, NULL);
}

/* SFR 4.2.8 note 7: a stream for two recipients (X25519 and P-256 KEMs)
 * opens for each, bit for bit, and the header parses back to what was
 * written; a third key is not a recipient (VG_ERR_NOT_FOUND). */
static void test_stream_two_recipients_roundtrip(void **state)
{
	static const uint16_t kems[] = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KEM_P256_SHA256};

	(void)state;
	for (size_t k = 0; k < VG_ARRAY_LEN(kems); k++) {
		struct party a, b, c;
		vg_stream_pub to[2];
		uint8_t hdr[VG_STREAM_HDR_MAX], hdr2[VG_STREAM_HDR_MAX];
		size_t hdr_len = 0, hdr2_len = 0, h = 0, offs[11];
		static uint8_t wire[16384];
		vg_stream_sender *s = NULL;
		vg_stream_receiver *r = NULL;
		vg_stream_header parsed;

		party_new(kems[k], &a);
		party_new(kems[k], &b);
		party_new(kems[k], &c);
		to[0] = (vg_stream_pub){a.spki, a.spki_len};
		to[1] = (vg_stream_pub){b.spki, b.spki_len};
		assert_int_equal(vg_stream_sender_new_cb(to, 2, NULL, NULL, hdr, &hdr_len, &s), VG_OK);
		assert_int_equal(hdr_len, 33 + 2 * (16 + vg_hpke_pk_len(kems[k]) + 48));
		assert_int_equal(vg_stream_header_len(hdr, 7, &h), VG_OK);
		assert_int_equal(h, hdr_len);
		assert_int_equal(vg_stream_header_parse(hdr, hdr_len, &parsed), VG_OK);
		assert_int_equal(parsed.n, 2);
		assert_int_equal(parsed.mode, VG_HPKE_MODE_BASE);
		assert_int_equal(parsed.suite.kem, kems[k]);
		assert_int_equal(vg_stream_header_encode(&parsed, hdr2, &hdr2_len), VG_OK);
		assert_int_equal(hdr2_len, hdr_len);
		assert_memory_equal(hdr, hdr2, hdr_len);
		(void)seal_stream(s, 10, wire, sizeof wire, offs);
		vg_stream_sender_free(&s);
		assert_null(s);

		assert_int_equal(receiver(&a, NULL, hdr, hdr_len, &r), VG_OK);
		assert_int_equal(open_stream(r, wire, offs, 10), VG_OK);
		vg_stream_receiver_free(&r);
		assert_int_equal(receiver(&b, NULL, hdr, hdr_len, &r), VG_OK);
		assert_int_equal(open_stream(r, wire, offs, 10), VG_OK);
		vg_stream_receiver_free(&r);
		assert_int_equal(receiver(&c, NULL, hdr, hdr_len, &r), VG_ERR_NOT_FOUND);
		assert_null(r);
		party_free(&a);
		party_free(&b);
		party_free(&c);
	}
}

/* SFR 4.2.8 note 7: every bit of the header is bound: flipped anywhere,
 * either the header is refused or the entry does not open, or the first
 * frame does not authenticate. Never a plaintext. */
static void test_stream_header_bit_flips_refused(void **state)
{
	struct party a, b;
	vg_stream_pub to[2];
	uint8_t hdr[VG_STREAM_HDR_MAX], bad[VG_STREAM_HDR_MAX], pt[VG_STREAM_FRAME_MAX];
	size_t hdr_len = 0, offs[3], n = 0, refused_at_header = 0, refused_at_frame = 0;
	static uint8_t wire[4096];
	vg_stream_sender *s = NULL;
	unsigned flags;

	(void)state;
	party_new(VG_HPKE_KEM_X25519_SHA256, &a);
	party_new(VG_HPKE_KEM_X25519_SHA256, &b);
	to[0] = (vg_stream_pub){a.spki, a.spki_len};
	to[1] = (vg_stream_pub){b.spki, b.spki_len};
	assert_int_equal(vg_stream_sender_new_cb(to, 2, NULL, NULL, hdr, &hdr_len, &s), VG_OK);
	(void)seal_stream(s, 2, wire, sizeof wire, offs);
	vg_stream_sender_free(&s);
	for (size_t i = 0; i < hdr_len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			vg_stream_receiver *r = NULL;
			vg_rc rc;
			memcpy(bad, hdr, hdr_len);
			bad[i] ^= (uint8_t)(1u << bit);
			rc = receiver(&a, NULL, bad, hdr_len, &r);
			if (rc != VG_OK) {
				assert_null(r);
				refused_at_header++;
				continue;
			}
			/* Only b's entry changed: a opens the header, but the
			 * frames were keyed to the original header. */
			assert_true(i >= 33 + 96);
			rc = vg_stream_open_frame(r, wire, offs[1], pt, sizeof pt, &n, &flags);
			assert_int_equal(rc, VG_ERR_INTEGRITY);
			assert_int_equal(n, 0);
			assert_string_equal(vg_stream_receiver_why(r),
					    "integrity error: a frame does not authenticate "
					    "(tampered, or a frame of another stream)");
			refused_at_frame++;
			vg_stream_receiver_free(&r);
		}
	}
	assert_int_equal(refused_at_header + refused_at_frame, hdr_len * 3);
	assert_true(refused_at_frame > 0 && refused_at_header > 0);
	party_free(&a);
	party_free(&b);
}

/* SFR 4.2.8 note 7 (the parser of outside bytes is strict and bounded):
 * every truncation, a trailing byte, 0 or 17 recipients, another mode,
 * suite, version or magic, a wrong length field, a repeated recipient id:
 * VG_ERR_PROTOCOL. */
static void test_stream_header_parser_strict(void **state)
{
	struct party a;
	vg_stream_pub to[1];
	uint8_t hdr[VG_STREAM_HDR_MAX + 1], bad[VG_STREAM_HDR_MAX + 1];
	size_t hdr_len = 0, h = 0;
	vg_stream_sender *s = NULL;
	vg_stream_header out;
	static const struct {
		size_t off;
		uint8_t val;
	} edits[] = {
	    {0, 'X'},  {4, 2},     {5, 0xFF}, {6, 0},  {7, 1},     {7, 3},    {9, 0x21},
	    {11, 3},   {13, 2},    {15, 1},   {32, 0}, {32, 2},    {32, 17},
	};

	(void)state;
	party_new(VG_HPKE_KEM_X25519_SHA256, &a);
	to[0] = (vg_stream_pub){a.spki, a.spki_len};
	assert_int_equal(vg_stream_sender_new_cb(to, 1, NULL, NULL, hdr, &hdr_len, &s), VG_OK);
	vg_stream_sender_free(&s);
	assert_int_equal(vg_stream_header_parse(hdr, hdr_len, &out), VG_OK);
	for (size_t len = 0; len < hdr_len; len++)
		assert_int_equal(vg_stream_header_parse(hdr, len, &out), VG_ERR_PROTOCOL);
	hdr[hdr_len] = 0;
	assert_int_equal(vg_stream_header_parse(hdr, hdr_len + 1, &out), VG_ERR_PROTOCOL);
	for (size_t i = 0; i < VG_ARRAY_LEN(edits); i++) {
		memcpy(bad, hdr, hdr_len);
		bad[edits[i].off] = edits[i].val;
		assert_int_equal(vg_stream_header_parse(bad, hdr_len, &out), VG_ERR_PROTOCOL);
		assert_int_equal(out.n, 0);
	}
	/* The length prefix alone: too short, too long, another magic. */
	memcpy(bad, hdr, 7);
	bad[5] = 0x10;
	bad[6] = 0x01; /* 4097 */
	assert_int_equal(vg_stream_header_len(bad, 7, &h), VG_ERR_PROTOCOL);
	bad[5] = 0;
	bad[6] = 33;
	assert_int_equal(vg_stream_header_len(bad, 7, &h), VG_ERR_PROTOCOL);
	assert_int_equal(vg_stream_header_len(hdr, 6, &h), VG_ERR_INVALID);
	/* Two entries with one id: refused even with a consistent length. */
	{
		vg_stream_header two;
		uint8_t enc2[VG_STREAM_HDR_MAX];
		size_t l2 = 0;
		assert_int_equal(vg_stream_header_parse(hdr, hdr_len, &two), VG_OK);
		two.n = 2;
		two.e[1] = two.e[0];
		assert_int_equal(vg_stream_header_encode(&two, enc2, &l2), VG_OK);
		assert_int_equal(vg_stream_header_parse(enc2, l2, &out), VG_ERR_PROTOCOL);
		two.e[1].id[0] ^= 1;
		assert_int_equal(vg_stream_header_encode(&two, enc2, &l2), VG_OK);
		assert_int_equal(vg_stream_header_parse(enc2, l2, &out), VG_OK);
	}
	party_free(&a);
}

/* SFR 4.2.8 note 7: the sender's bounds: no recipient, 17, a key that is
 * not X25519 or P-256 (Ed25519, P-384), mixed KEMs, one key twice. */
static void test_stream_sender_refusals(void **state)
{
	struct party x[17], p;
	vg_stream_pub to[17];
	uint8_t hdr[VG_STREAM_HDR_MAX];
	size_t hdr_len = 0;
	vg_stream_sender *s = NULL;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	uint8_t *der = NULL;
	int dl;

	(void)state;
	for (size_t i = 0; i < 17; i++) {
		party_new(VG_HPKE_KEM_X25519_SHA256, &x[i]);
		to[i] = (vg_stream_pub){x[i].spki, x[i].spki_len};
	}
	assert_int_equal(vg_stream_sender_new_cb(to, 0, NULL, NULL, hdr, &hdr_len, &s),
			 VG_ERR_INVALID);
	assert_int_equal(vg_stream_sender_new_cb(to, 17, NULL, NULL, hdr, &hdr_len, &s),
			 VG_ERR_INVALID);
	assert_int_equal(vg_stream_sender_new_cb(to, 16, NULL, NULL, hdr, &hdr_len, &s), VG_OK);
	assert_int_equal(hdr_len, 33 + 16 * (16 + 32 + 48));
	vg_stream_sender_free(&s);
	party_new(VG_HPKE_KEM_P256_SHA256, &p);
	to[1] = (vg_stream_pub){p.spki, p.spki_len};
	assert_int_equal(vg_stream_sender_new_cb(to, 2, NULL, NULL, hdr, &hdr_len, &s),
			 VG_ERR_INVALID);
	to[1] = to[0];
	assert_int_equal(vg_stream_sender_new_cb(to, 2, NULL, NULL, hdr, &hdr_len, &s),
			 VG_ERR_INVALID);
	assert_non_null(ed);
	assert_non_null(p384);
	dl = i2d_PUBKEY(ed, &der);
	to[0] = (vg_stream_pub){der, (size_t)dl};
	assert_int_equal(vg_stream_sender_new_cb(to, 1, NULL, NULL, hdr, &hdr_len, &s),
			 VG_ERR_INVALID);
	OPENSSL_free(der);
	der = NULL;
	dl = i2d_PUBKEY(p384, &der);
	to[0] = (vg_stream_pub){der, (size_t)dl};
	assert_int_equal(vg_stream_sender_new_cb(to, 1, NULL, NULL, hdr, &hdr_len, &s),
			 VG_ERR_INVALID);
	to[0] = (vg_stream_pub){(const uint8_t *)"garbage", 7};
	assert_int_equal(vg_stream_sender_new_cb(to, 1, NULL, NULL, hdr, &hdr_len, &s),
			 VG_ERR_INVALID);
	assert_null(s);
	assert_int_equal(hdr_len, 0);
	OPENSSL_free(der);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
	party_free(&p);
	for (size_t i = 0; i < 17; i++)
		party_free(&x[i]);
}

/* SFR 4.2.8 note 7: auth mode: the named sender opens; another sender's
 * key does not (VG_ERR_INTEGRITY); a base-mode stream when a sender is
 * expected, or an auth-mode stream when none is, is refused
 * (VG_ERR_VERIFY_FAILED): no silent downgrade. */
static void test_stream_auth_mode_sender_checked(void **state)
{
	static const uint16_t kems[] = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KEM_P256_SHA256};

	(void)state;
	for (size_t k = 0; k < VG_ARRAY_LEN(kems); k++) {
		struct party a, snd, other;
		vg_stream_pub to[1];
		uint8_t hdr[VG_STREAM_HDR_MAX], bhdr[VG_STREAM_HDR_MAX];
		size_t hdr_len = 0, bhdr_len = 0, offs[4];
		static uint8_t wire[4096];
		vg_stream_sender *s = NULL;
		vg_stream_receiver *r = NULL;

		party_new(kems[k], &a);
		party_new(kems[k], &snd);
		party_new(kems[k], &other);
		to[0] = (vg_stream_pub){a.spki, a.spki_len};
		assert_int_equal(vg_stream_sender_new_cb(to, 1, vg_stream_auth_encap_local, snd.sk,
							 hdr, &hdr_len, &s),
				 VG_OK);
		assert_int_equal(hdr[7], VG_HPKE_MODE_AUTH);
		(void)seal_stream(s, 3, wire, sizeof wire, offs);
		vg_stream_sender_free(&s);
		assert_int_equal(receiver(&a, &snd, hdr, hdr_len, &r), VG_OK);
		assert_int_equal(open_stream(r, wire, offs, 3), VG_OK);
		vg_stream_receiver_free(&r);
		assert_int_equal(receiver(&a, &other, hdr, hdr_len, &r), VG_ERR_INTEGRITY);
		assert_null(r);
		/* A sender key of the other KEM is the wrong sender too. */
		{
			struct party odd;
			party_new(kems[k] == VG_HPKE_KEM_X25519_SHA256 ? VG_HPKE_KEM_P256_SHA256
								       : VG_HPKE_KEM_X25519_SHA256,
				  &odd);
			assert_int_equal(receiver(&a, &odd, hdr, hdr_len, &r), VG_ERR_INTEGRITY);
			assert_null(r);
			party_free(&odd);
		}
		assert_int_equal(receiver(&a, NULL, hdr, hdr_len, &r), VG_ERR_VERIFY_FAILED);
		assert_int_equal(vg_stream_sender_new_cb(to, 1, NULL, NULL, bhdr, &bhdr_len, &s),
				 VG_OK);
		vg_stream_sender_free(&s);
		assert_int_equal(receiver(&a, &snd, bhdr, bhdr_len, &r), VG_ERR_VERIFY_FAILED);
		assert_null(r);
		party_free(&a);
		party_free(&snd);
		party_free(&other);
	}
}

/* SFR 4.2.8 note 7: frames of another stream to the same recipient are
 * refused (spliced); a repeated frame and one older than the window are
 * VG_ERR_REPLAY with their own reasons; a stream without its final frame
 * is VG_ERR_TRUNCATED; a dropped frame is counted, not fatal. */
static void test_stream_splice_replay_truncation(void **state)
{
	struct party a;
	vg_stream_pub to[1];
	uint8_t h1[VG_STREAM_HDR_MAX], h2[VG_STREAM_HDR_MAX], pt[VG_STREAM_FRAME_MAX];
	size_t l1 = 0, l2 = 0, n = 0, o1[202], o2[4];
	static uint8_t w1[202 * 700], w2[4096];
	vg_stream_sender *s = NULL;
	vg_stream_receiver *r = NULL;
	vg_stream_stats st;
	unsigned flags = 0;

	(void)state;
	party_new(VG_HPKE_KEM_X25519_SHA256, &a);
	to[0] = (vg_stream_pub){a.spki, a.spki_len};
	assert_int_equal(vg_stream_sender_new_cb(to, 1, NULL, NULL, h1, &l1, &s), VG_OK);
	(void)seal_stream(s, 201, w1, sizeof w1, o1);
	vg_stream_sender_free(&s);
	assert_int_equal(vg_stream_sender_new_cb(to, 1, NULL, NULL, h2, &l2, &s), VG_OK);
	(void)seal_stream(s, 3, w2, sizeof w2, o2);
	vg_stream_sender_free(&s);

	/* Splice: stream 2's frame 1 into stream 1. */
	assert_int_equal(receiver(&a, NULL, h1, l1, &r), VG_OK);
	assert_int_equal(vg_stream_open_frame(r, w1, o1[1], pt, sizeof pt, &n, &flags), VG_OK);
	assert_int_equal(
	    vg_stream_open_frame(r, w2 + o2[1], o2[2] - o2[1], pt, sizeof pt, &n, &flags),
	    VG_ERR_INTEGRITY);
	assert_int_equal(n, 0);
	/* Replay of frame 0. */
	assert_int_equal(vg_stream_open_frame(r, w1, o1[1], pt, sizeof pt, &n, &flags),
			 VG_ERR_REPLAY);
	assert_string_equal(vg_stream_receiver_why(r), "replayed frame (counter 0)");
	/* Frame 2 missing (dropped): frames 3..199 accepted, the gap counted. */
	for (size_t i = 3; i < 200; i++)
		assert_int_equal(vg_stream_open_frame(r, w1 + o1[i], o1[i + 1] - o1[i], pt, sizeof pt,
						      &n, &flags),
				 VG_OK);
	/* Frame 1 is now outside the window. */
	assert_int_equal(
	    vg_stream_open_frame(r, w1 + o1[1], o1[2] - o1[1], pt, sizeof pt, &n, &flags),
	    VG_ERR_REPLAY);
	assert_non_null(strstr(vg_stream_receiver_why(r), "outside the replay window"));
	/* Truncated: the final frame (200) never came. */
	assert_int_equal(vg_stream_receiver_end(r, &st), VG_ERR_TRUNCATED);
	assert_int_equal(st.frames, 198);
	assert_int_equal(st.missing, 2);
	assert_int_equal(st.refused, 3);
	assert_int_equal(vg_stream_open_frame(r, w1 + o1[200], o1[201] - o1[200], pt, sizeof pt, &n,
					      &flags),
			 VG_OK);
	assert_int_equal(flags & 0x01u, 0x01u);
	assert_int_equal(vg_stream_receiver_end(r, &st), VG_OK);
	vg_stream_receiver_free(&r);
	vg_stream_receiver_free(&r); /* NULL-safe */
	party_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_two_recipients_roundtrip),
	    cmocka_unit_test(test_stream_header_bit_flips_refused),
	    cmocka_unit_test(test_stream_header_parser_strict),
	    cmocka_unit_test(test_stream_sender_refusals),
	    cmocka_unit_test(test_stream_auth_mode_sender_checked),
	    cmocka_unit_test(test_stream_splice_replay_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
