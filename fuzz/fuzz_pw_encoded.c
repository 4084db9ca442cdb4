/*
 * fuzz_pw_encoded.c - libFuzzer harness for the stored password-hash parser
 * (SFR 4.2.13; the admin credential record is stored bytes): arbitrary
 * strings through vg_pw_parse; an accepted one must carry parameters
 * within the documented bounds (so verification cannot be made to
 * allocate more than 256 MiB) and re-encode to itself.
 * Seed corpus: fuzz/corpus/pw_encoded/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/password.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[VG_PW_ENCODED_MAX + 64];
	uint8_t salt[16], hash[32];
	vg_pw_params p;
	vg_rc rc;

	if (size >= sizeof s)
		size = sizeof s - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	rc = vg_pw_parse(s, &p, salt, hash);
	if (rc != VG_OK) {
		if (rc != VG_ERR_INVALID)
			abort();
		return 0;
	}
	if (p.log2_n < 10 || p.log2_n > 20 || p.r < 1 || p.r > 32 || p.p < 1 || p.p > 4 ||
	    ((uint64_t)128 * p.r << p.log2_n) > ((uint64_t)256 << 20))
		abort();
	{
		/* Canonical: what parses is exactly what we would write. */
		char s64[32], h64[48], again[VG_PW_ENCODED_MAX + 64];
		int n = EVP_EncodeBlock((unsigned char *)s64, salt, sizeof salt);
		while (n > 0 && s64[n - 1] == '=')
			s64[--n] = '\0';
		n = EVP_EncodeBlock((unsigned char *)h64, hash, sizeof hash);
		while (n > 0 && h64[n - 1] == '=')
			h64[--n] = '\0';
		(void)snprintf(again, sizeof again, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", p.log2_n, p.r,
			       p.p, s64, h64);
		if (strcmp(again, s) != 0)
			abort();
	}
	return 0;
}
