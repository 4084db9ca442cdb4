/*
 * fuzz_elf.c - libFuzzer harness for the ELF reader of `voxguard doctor`
 * (src/posture/elf.h; SDK exploit mitigation, AVS 1.13: a firmware image
 * from anywhere is scanned). Arbitrary bytes as an ELF object: the reader
 * must never read outside them (ASan), must give a reason whenever it
 * refuses, zero its answer on failure, and keep its answers consistent
 * (counts within the fortifiable table, a library is never a PIE).
 * Seed corpus: fuzz/corpus/elf/ (small real and crafted objects).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "posture/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_elf_info e, zero;
	char why[160];
	uint8_t *copy;
	vg_rc rc;

	/* an exact-size copy, so that ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	memset(why, 'x', sizeof why);
	rc = vg_elf_parse(copy, size, &e, why, sizeof why);
	memset(&zero, 0, sizeof zero);
	if (rc != VG_OK) {
		if (rc != VG_ERR_INVALID && rc != VG_ERR_UNSUPPORTED && rc != VG_ERR_NOMEM)
			abort();
		if (memchr(why, '\0', sizeof why) == NULL || why[0] == '\0')
			abort();
		if (memcmp(&e, &zero, sizeof e) != 0)
			abort();
	} else {
		if (e.bits != 32 && e.bits != 64)
			abort();
		if (e.type != 2 && e.type != 3)
			abort();
		if (e.fortified > e.fortifiable || e.fortifiable > 200)
			abort();
		if (e.is_library && e.pie)
			abort();
		if ((e.canary || e.fortifiable) && !e.has_symbols)
			abort();
	}
	free(copy);
	return 0;
}
