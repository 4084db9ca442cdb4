/*
 * fuzz_pw_encoded.c - libFuzzer harness for the stored password-hash
 * parser (SFR 4.2.13; the admin credential record is stored bytes, as
 * hostile as received ones): arbitrary strings through vg_pw_parse and
 * vg_pw_verify with a fixed password.
 *
 * Asserts: only VG_OK or VG_ERR_INVALID from the parser; an accepted string
 * carries a cost within the documented bounds (so verification can never
 * be made to take more than 256 MiB) and is the canonical spelling (it
 * re-encodes to itself); a failed parse leaves salt and hash zeroed;
 * vg_pw_verify agrees with the parser and, when the cost is cheap enough
 * to run here, answers only VG_OK or VG_ERR_AUTH_FAILED.
 * Seed corpus: fuzz/corpus/pw_encoded/ (one string per file; "fixed-pw-*"
 * are hashes of the password below, so the matching path is reachable).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/password.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_pw[] = "fuzz-password-1";

static void b64(const uint8_t *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[VG_PW_ENCODED_MAX + 64], s64[32], h64[48], again[VG_PW_ENCODED_MAX + 64];
	uint8_t salt[VG_PW_SALT_LEN], hash[VG_PW_HASH_LEN], zero[VG_PW_HASH_LEN] = {0};
	vg_pw_params p;
	vg_rc rc, vr;

	if (size >= sizeof s)
		size = sizeof s - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	rc = vg_pw_parse(s, &p, salt, hash);
	if (rc != VG_OK) {
		if (rc != VG_ERR_INVALID || memcmp(salt, zero, sizeof salt) != 0 ||
		    memcmp(hash, zero, sizeof hash) != 0)
			abort();
		if (vg_pw_verify(fuzz_pw, sizeof fuzz_pw - 1, s) != VG_ERR_INVALID)
			abort();
		return 0;
	}
	if (p.log2_n < 10 || p.log2_n > 20 || p.r < 1 || p.r > 32 || p.p < 1 || p.p > 4 ||
	    (((uint64_t)128 * p.r * p.p) << p.log2_n) > VG_PW_MAX_MEM)
		abort();
	/* Canonical: what parses is exactly what we would write. */
	b64(salt, sizeof salt, s64);
	b64(hash, sizeof hash, h64);
	(void)snprintf(again, sizeof again, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", p.log2_n, p.r, p.p,
		       s64, h64);
	if (strcmp(again, s) != 0)
		abort();
	/* Verify it when that costs at most 4 MiB (a few ms). */
	if ((((uint64_t)128 * p.r * p.p) << p.log2_n) <= (UINT64_C(4) << 20)) {
		vr = vg_pw_verify(fuzz_pw, sizeof fuzz_pw - 1, s);
		if (vr != VG_OK && vr != VG_ERR_AUTH_FAILED)
			abort();
	}
	return 0;
}
