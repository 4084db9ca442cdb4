/*
 * fuzz_sframe.c - libFuzzer harness for the SFrame parsers (src/audio/
 * sframe.h; SFR 4.2.8 note 7; hostile input: an audio stream read from a
 * pipe, a file or the network). Arbitrary bytes
 *  - through vg_sframe_header_decode (an accepted header re-encodes to
 *    exactly the bytes it was read from: one header per KID and CTR);
 *  - as a stream of wire frames (the first byte picks the suite) into a
 *    receiver keyed like the seed corpus's sender, framed the way a pipe
 *    reader would with vg_sframe_wire_frame_len: a refused frame leaves
 *    no output, an accepted one stays within the size bound, and the end
 *    verdict is VG_OK or VG_ERR_TRUNCATED;
 *  - as one SFrame ciphertext through vg_sframe_decrypt.
 * Seed corpus: fuzz/corpus/sframe/ (genuine streams of each suite, with a
 * replay, a gap, a late frame and a final frame, made with the key below).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/sframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t base_key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				     0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t stream_id[VG_SFRAME_STREAM_ID_LEN] = "fuzz-stream-0001";
#define KID 0x1234u

static uint8_t pt[VG_SFRAME_MAX_PT];

static void check_header(const uint8_t *data, size_t size)
{
	uint8_t again[VG_SFRAME_HDR_MAX];
	uint64_t kid, ctr;
	size_t hl, n;

	if (vg_sframe_header_decode(data, size, &kid, &ctr, &hl) != VG_OK) {
		if (kid || ctr || hl)
			abort();
		return;
	}
	vg_sframe_header_encode(kid, ctr, again, &n);
	if (n != hl || hl > size || memcmp(again, data, n) != 0)
		abort();
}

static void check_stream(const uint8_t *data, size_t size)
{
	vg_sframe_suite suite = (vg_sframe_suite)(1 + data[0] % 5);
	vg_sframe_receiver *r = NULL;
	vg_sframe_stats st;
	uint64_t accepted = 0;
	size_t off = 1;
	vg_rc rc;

	if (vg_sframe_receiver_new(suite, base_key, sizeof base_key, KID, stream_id, &r) != VG_OK)
		abort();
	while (size - off >= VG_SFRAME_WIRE_PREFIX) {
		size_t len = 0, n = 99;
		unsigned flags = 99;
		uint64_t ctr = 99;

		rc = vg_sframe_wire_frame_len(data + off, size - off, &len);
		if (rc != VG_OK) {
			if (len != 0)
				abort();
			break;
		}
		if (len > size - off) /* a pipe reader would wait for more */
			len = size - off;
		rc = vg_sframe_open(r, data + off, len, pt, sizeof pt, &n, &flags, &ctr);
		if (rc == VG_OK) {
			if (n > VG_SFRAME_MAX_PT ||
			    (flags & ~(VG_SFRAME_FINAL | VG_SFRAME_GAP | VG_SFRAME_LATE)))
				abort();
			accepted++;
		} else if (n != 0 || flags != 0 || ctr != 0) {
			abort();
		}
		off += len;
	}
	vg_sframe_receiver_stats(r, &st);
	if (st.frames != accepted)
		abort();
	rc = vg_sframe_receiver_end(r);
	if (rc != VG_OK && rc != VG_ERR_TRUNCATED)
		abort();
	if ((rc == VG_OK) != st.final_seen)
		abort();
	vg_sframe_receiver_free(&r);
}

static void check_decrypt(const uint8_t *data, size_t size)
{
	static vg_sframe_key *k;
	size_t n = 99;
	uint64_t ctr = 99;

	if (!k && vg_sframe_key_new(VG_SFRAME_AES_128_CTR_HMAC_SHA256_32, base_key, sizeof base_key,
				    KID, &k) != VG_OK)
		abort();
	if (vg_sframe_decrypt(k, NULL, 0, data, size, pt, sizeof pt, &n, &ctr) != VG_OK &&
	    (n != 0 || ctr != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_header(data, size);
	if (size == 0)
		return 0;
	check_stream(data, size);
	check_decrypt(data, size);
	return 0;
}
