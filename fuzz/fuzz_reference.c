/*
 * fuzz_reference.c - libFuzzer harness for the reference-values parser
 * (SFR 4.2.3; hostile input: a verifier reads reference files from
 * elsewhere): arbitrary bytes through vg_psa_reference_parse; an accepted
 * file must yield 1..VG_PSA_MAX_COMPONENTS well-formed entries, a refused
 * one a terminated reason and no entries.
 * Seed corpus: fuzz/corpus/reference/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_psa_sw_component ref[VG_PSA_MAX_COMPONENTS];
	char why[128];
	size_t n = 99;
	vg_rc rc;

	memset(why, 'x', sizeof why);
	rc = vg_psa_reference_parse((const char *)data, size, ref, &n, why, sizeof why);
	if (rc != VG_OK) {
		if (n != 0 || memchr(why, 0, sizeof why) == NULL)
			abort();
		return 0;
	}
	if (n < 1 || n > VG_PSA_MAX_COMPONENTS)
		abort();
	for (size_t i = 0; i < n; i++) {
		const vg_psa_sw_component *c = &ref[i];
		if ((c->measurement_len != 32 && c->measurement_len != 48 &&
		     c->measurement_len != 64) ||
		    (c->signer_id_len != 0 && c->signer_id_len != 32 && c->signer_id_len != 48 &&
		     c->signer_id_len != 64) ||
		    !memchr(c->measurement_type, 0, sizeof c->measurement_type) ||
		    !memchr(c->version, 0, sizeof c->version) ||
		    !memchr(c->measurement_desc, 0, sizeof c->measurement_desc))
			abort();
	}
	return 0;
}
