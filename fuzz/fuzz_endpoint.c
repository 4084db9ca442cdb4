/*
 * fuzz_endpoint.c - libFuzzer harness for the endpoint policy parser
 * (SFR 4.2.8; hostile input: the service parses what any admin client
 * sends, the client what the service sends, the tools what a file holds).
 * Arbitrary bytes through vg_endpoint_from_json and, as a list,
 * vg_endpoint_array_from_json, and the stored form vg_endpoint_from_stored
 * (which must accept whatever the full parser accepts). An accepted policy must validate, encode,
 * and its encoding must parse back and encode to the same bytes (the
 * encoding is canonical); a refused one leaves nothing held and a
 * terminated, printable reason.
 * Seed corpus: fuzz/corpus/endpoint/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_why(const char *why, size_t cap)
{
	const char *end = memchr(why, 0, cap);

	if (!end || end == why)
		abort();
	for (const char *p = why; p < end; p++)
		if (*p < 0x20 || *p >= 0x7f)
			abort();
}

static void roundtrip(const vg_endpoint *ep)
{
	char why[256], *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;
	vg_endpoint back;

	if (vg_endpoint_validate(ep, why, sizeof why) != VG_OK ||
	    vg_endpoint_to_json(ep, &j1, &l1, why, sizeof why) != VG_OK)
		abort();
	if (vg_endpoint_from_json((const uint8_t *)j1, l1, &back, why, sizeof why) != VG_OK ||
	    vg_endpoint_to_json(&back, &j2, &l2, why, sizeof why) != VG_OK || l1 != l2 ||
	    memcmp(j1, j2, l1) != 0)
		abort();
	vg_endpoint_clear(&back);
	free(j1);
	free(j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_endpoint ep, *v = NULL;
	char why[256];
	size_t n = 7;
	vg_rc rc;

	memset(why, 'x', sizeof why);
	rc = vg_endpoint_from_json(data, size, &ep, why, sizeof why);
	if (rc == VG_OK) {
		roundtrip(&ep);
		vg_endpoint_clear(&ep);
		if (vg_endpoint_from_stored(data, size, &ep, why, sizeof why) != VG_OK)
			abort();
		vg_endpoint_clear(&ep);
	} else {
		if (ep.ca_pem || ep.crl_pem || ep.client_cert_pem || ep.name[0])
			abort();
		if (rc != VG_ERR_NOMEM)
			check_why(why, sizeof why);
		memset(why, 'x', sizeof why);
		rc = vg_endpoint_from_stored(data, size, &ep, why, sizeof why);
		if (rc == VG_OK) {
			vg_endpoint_clear(&ep);
		} else {
			if (ep.ca_pem || ep.name[0])
				abort();
			if (rc != VG_ERR_NOMEM)
				check_why(why, sizeof why);
		}
	}
	memset(why, 'x', sizeof why);
	rc = vg_endpoint_array_from_json(data, size, &v, &n, why, sizeof why);
	if (rc == VG_OK) {
		if (n > VG_EP_MAX_COUNT || (n && !v))
			abort();
		for (size_t i = 0; i < n; i++)
			roundtrip(&v[i]);
		vg_endpoint_list_free(v, n);
	} else {
		if (v || n)
			abort();
		if (rc != VG_ERR_NOMEM)
			check_why(why, sizeof why);
	}
	return 0;
}
