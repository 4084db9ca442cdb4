/*
 * fuzz_stream.c - libFuzzer harness for the stream header and frames
 * (include/voxguard/stream.h, src/audio/stream_int.h; SFR 4.2.8 note 7;
 * hostile input: an encrypted audio stream read from a pipe, a file or the
 * network). Arbitrary bytes are read the way `voxguard stream decrypt`
 * reads stdin:
 *  - the header's 7-byte prefix through vg_stream_header_len, then the
 *    header through vg_stream_header_parse (bounded: at most 16
 *    recipients, 4096 bytes; an accepted header re-encodes to exactly its
 *    bytes), then opened with a fixed X25519 recipient key in process
 *    (vg_stream_receiver_new_cb: the decapsulation the service does);
 *  - then the rest as wire frames through vg_stream_frame_len and
 *    vg_stream_open_frame: a refused frame leaves no output, an accepted
 *    one stays within the bound, the end verdict is VG_OK or
 *    VG_ERR_TRUNCATED.
 * Seed corpus: fuzz/corpus/stream/ (genuine streams to the key below,
 * base mode; made by tests/tools/stream_seeds.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audio/stream_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The recipient's key: DeriveKeyPair of this seed (the seed tool's too). */
static const uint8_t ikm[32] = "voxguard fuzz stream recipient!";

static EVP_PKEY *sk;
static uint8_t *spki;
static size_t spki_len;
static uint8_t pt[VG_STREAM_FRAME_MAX];

static void init(void)
{
	int n;

	if (sk)
		return;
	if (vg_hpke_derive_keypair(VG_HPKE_KEM_X25519_SHA256, ikm, sizeof ikm, &sk) != VG_OK)
		abort();
	n = i2d_PUBKEY(sk, &spki);
	if (n <= 0)
		abort();
	spki_len = (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_stream_header h;
	uint8_t again[VG_STREAM_HDR_MAX];
	vg_stream_receiver *r = NULL;
	size_t hl = 0, n = 0, off;
	vg_rc rc;

	init();
	rc = vg_stream_header_len(data, size, &hl);
	if (rc != VG_OK) {
		if (hl != 0)
			abort();
		return 0;
	}
	if (hl > VG_STREAM_HDR_MAX || hl > size)
		return 0; /* a pipe reader would wait for more */
	rc = vg_stream_header_parse(data, hl, &h);
	if (rc != VG_OK) {
		if (h.n != 0)
			abort();
		return 0;
	}
	if (h.n < 1 || h.n > VG_STREAM_MAX_RECIPIENTS ||
	    vg_stream_header_encode(&h, again, &n) != VG_OK || n != hl ||
	    memcmp(again, data, n) != 0)
		abort();
	if (vg_stream_receiver_new_cb(spki, spki_len, vg_stream_decap_local, sk, NULL, 0, data, hl,
				      &r) != VG_OK) {
		if (r)
			abort();
		return 0;
	}
	off = hl;
	while (size - off >= VG_STREAM_FRAME_PREFIX_LEN) {
		size_t len = 0, got = 99;
		unsigned flags = 99;

		rc = vg_stream_frame_len(data + off, size - off, &len);
		if (rc != VG_OK)
			break;
		if (len > size - off)
			len = size - off;
		rc = vg_stream_open_frame(r, data + off, len, pt, sizeof pt, &got, &flags);
		if (rc == VG_OK) {
			if (got > VG_STREAM_FRAME_MAX || (flags & ~0x07u))
				abort();
		} else if (got != 0 || flags != 0 || vg_stream_receiver_why(r)[0] == '\0') {
			abort();
		}
		off += len;
	}
	rc = vg_stream_receiver_end(r, NULL);
	if (rc != VG_OK && rc != VG_ERR_TRUNCATED)
		abort();
	vg_stream_receiver_free(&r);
	return 0;
}
