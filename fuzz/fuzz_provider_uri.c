/*
 * fuzz_provider_uri.c - libFuzzer harness for the OpenSSL provider's key
 * URI parser (SFR 4.2.7; hostile input: any application hands the
 * provider's STORE loader whatever URI it was given): arbitrary bytes
 * through vg_provider_parse_uri. An accepted URI must be exactly
 * "voxguard:key=" (the scheme in any case) and a valid key name, the name
 * given back; a refused one leaves the name empty.
 * Seed corpus: fuzz/corpus/provider_uri/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "provider/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t pre = sizeof VG_PROVIDER_URI_PREFIX - 1;
	char name[VG_MAX_NAME_LEN + 1];
	vg_rc rc;

	memset(name, 'x', sizeof name);
	rc = vg_provider_parse_uri((const char *)data, size, name);
	if (rc != VG_OK) {
		if (rc != VG_ERR_INVALID || name[0] != '\0')
			abort();
		return 0;
	}
	if (size <= pre || strncasecmp((const char *)data, VG_PROVIDER_URI_PREFIX, pre) != 0 ||
	    strlen(name) != size - pre || memcmp(name, data + pre, size - pre) != 0 ||
	    !vg_name_valid(name, strlen(name)))
		abort();
	return 0;
}
