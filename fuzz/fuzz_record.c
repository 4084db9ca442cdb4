/*
 * fuzz_record.c - libFuzzer harness for the decoders of stored records
 * (SFR 4.2.4, 4.2.11; stored bytes are as hostile as received ones). The
 * first input byte picks the decoder, the rest is the blob:
 *   0  vg_seal_parse_header
 *   1  vg_unseal with a fixed key, kind VG_SEAL_RECORD and AAD "fuzz-aad"
 *   2  vg_secstore_open_blob with a fixed key, ns "u/1000", name "rec",
 *      version 7
 *   3  vg_keystore_blob_decode
 * Seed corpus: fuzz/corpus/record/ (valid blobs for each, same fixed key).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "crypto/seal.h"
#include "keystore/keystore.h"
#include "storage/secstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus generator seals with this key too. */
static const uint8_t fuzz_key[VG_KEY_LEN] = {
    0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
};

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t n)
{
	if (n)
		sink ^= p[0] ^ p[n - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *blob;
	size_t len;

	if (size < 1)
		return 0;
	blob = data + 1;
	len = size - 1;
	switch (data[0] & 3) {
	case 0: {
		vg_seal_kind kind;
		uint64_t gen;
		VG_IGNORE(vg_seal_parse_header(blob, len, &kind, &gen));
		break;
	}
	case 1: {
		uint8_t *pt = NULL;
		size_t pt_len = 0;
		uint64_t gen = 0;
		vg_rc rc = vg_unseal(fuzz_key, VG_SEAL_RECORD, (const uint8_t *)"fuzz-aad", 8, blob,
				     len, &pt, &pt_len, &gen);
		if (rc == VG_OK) {
			if (!pt || pt_len + VG_SEAL_OVERHEAD != len)
				abort();
			touch(pt, pt_len);
			vg_free(pt, pt_len);
		} else if (pt || pt_len) {
			abort(); /* no plaintext from a failed open */
		}
		break;
	}
	case 2: {
		uint8_t *v = NULL;
		size_t n = 0;
		vg_rc rc = vg_secstore_open_blob(fuzz_key, "u/1000", "rec", 7, blob, len, &v, &n);
		if (rc == VG_OK) {
			touch(v, n);
			vg_free(v, n);
		} else if (v || n) {
			abort();
		}
		break;
	}
	default: {
		vg_key_info info;
		EVP_PKEY *pk = NULL;
		uint8_t *secret = NULL;
		vg_rc rc = vg_keystore_blob_decode(blob, len, &info, &pk, &secret);
		if (rc == VG_OK) {
			if (!pk == !secret)
				abort(); /* exactly one of them */
			if (info.usage & ~vg_key_type_usage_allowed(info.type))
				abort();
			if (secret)
				touch(secret, VG_KEY_LEN);
		} else if (pk || secret) {
			abort();
		}
		EVP_PKEY_free(pk);
		vg_secret_free(secret, VG_KEY_LEN);
		break;
	}
	}
	return 0;
}
