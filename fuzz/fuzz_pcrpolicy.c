/*
 * fuzz_pcrpolicy.c - libFuzzer harness for the signed PCR policy parser
 * (SFR 4.2.5, 4.2.11; rot/pcrpolicy.h): the file sits on a root file
 * system the service does not trust for this, so arbitrary bytes go
 * through vg_pcrpol_parse. An accepted file yields 1..VG_PCRPOL_MAX_ENTRIES
 * entries, each with PCRs below VG_ROT_PCRS, a signature of 8..72 bytes
 * that the DER reader either takes or refuses, and an approved-policy
 * digest; a refused one a terminated reason and no entries.
 * Seed corpus: fuzz/corpus/pcrpolicy/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rot/pcrpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_pcrpol_entry *e = (vg_pcrpol_entry *)1;
	char why[128];
	size_t n = 99;
	vg_rc rc;

	memset(why, 'x', sizeof why);
	rc = vg_pcrpol_parse((const char *)data, size, &e, &n, why, sizeof why);
	if (rc != VG_OK) {
		if (n != 0 || e != NULL || memchr(why, 0, sizeof why) == NULL)
			abort();
		return 0;
	}
	if (n < 1 || n > VG_PCRPOL_MAX_ENTRIES)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint8_t d[32], r[32], s[32];
		if (e[i].mask == 0 || (e[i].mask >> VG_ROT_PCRS) || e[i].sig_len < 8 ||
		    e[i].sig_len > 72 || e[i].line == 0)
			abort();
		if (vg_pcrpol_approved(e[i].mask, (const uint8_t(*)[32])e[i].values, d) != VG_OK)
			abort();
		(void)vg_pcrpol_sig_rs(e[i].sig, e[i].sig_len, r, s);
	}
	free(e);
	return 0;
}
