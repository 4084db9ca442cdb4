/*
 * test_reference.c - reference values for software components
 * (src/attest/reference.h), and their use by the token verifier.
 *
 * SFR 4.2.3: a verifier compares a token's software components with
 * reference values; the reference file is outside input, so every
 * malformation is refused with a reason, never half-accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/reference.h"

#define H32 "ddfc3ebc22570dd924cece0d25dfce84d9670ba6ca5f21bd46b8bb08138743db"

static vg_rc parse(const char *json, vg_psa_sw_component *ref, size_t *n, char *why)
{
	return vg_psa_reference_parse(json, strlen(json), ref, n, why, 128);
}

/* SFR 4.2.3: `identity --json` output is a reference file: all members
 * are taken, unknown ones ignored. */
static void test_sfr423_reference_accepts_identity_json(void **state)
{
	vg_psa_sw_component ref[VG_PSA_MAX_COMPONENTS];
	size_t n = 0;
	char why[128];
	const char *j = "{\"instance_id\":null,\"lifecycle\":12288,\"components\":["
			"{\"measurement_value\":\"" H32 "\",\"measurement_type\":\"voxguardd\","
			"\"version\":\"0.1.0\",\"signer_id\":\"" H32 "\","
			"\"measurement_desc\":\"sha-256\",\"extra\":[1,2]},"
			"{\"measurement_value\":\"" H32 H32 "\"}]}";

	(void)state;
	assert_int_equal(parse(j, ref, &n, why), VG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ref[0].measurement_len, 32);
	assert_int_equal(ref[0].measurement[0], 0xdd);
	assert_string_equal(ref[0].measurement_type, "voxguardd");
	assert_string_equal(ref[0].version, "0.1.0");
	assert_int_equal(ref[0].signer_id_len, 32);
	assert_string_equal(ref[0].measurement_desc, "sha-256");
	assert_int_equal(ref[1].measurement_len, 64);
	assert_int_equal(ref[1].signer_id_len, 0);
	assert_string_equal(ref[1].measurement_type, "");
}

/* SFR 4.2.3 (hostile input): each malformation is refused with a reason
 * and no entries. */
static void test_sfr423_reference_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{}",
	    "{\"components\":[]}",
	    "{\"components\":{}}",
	    "{\"components\":[1]}",
	    "{\"components\":[{}]}",
	    "{\"components\":[{\"measurement_value\":\"abc\"}]}",
	    "{\"components\":[{\"measurement_value\":\"" H32 "00\"}]}",
	    "{\"components\":[{\"measurement_value\":\"zz" H32 "\"}]}",
	    "{\"components\":[{\"measurement_value\":32}]}",
	    "{\"components\":[{\"measurement_value\":\"" H32 "\",\"version\":5}]}",
	    "{\"components\":[{\"measurement_value\":\"" H32 "\",\"signer_id\":\"00\"}]}",
	    "{\"components\":[{\"measurement_value\":\"" H32
	    "\",\"version\":\"0123456789012345678901234567890123456789\"}]}",
	    "{\"components\":[{\"measurement_value\":\"" H32 "\",\"version\":\"a\\u0000b\"}]}",
	    "{\"components\":[{\"measurement_value\":\"" H32 "\"}],\"components\":[]}",
	};
	vg_psa_sw_component ref[VG_PSA_MAX_COMPONENTS];
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = 7;
		why[0] = '\0';
		if (parse(bad[i], ref, &n, why) == VG_OK)
			fail_msg("accepted bad reference #%zu: %s", i, bad[i]);
		assert_int_equal(n, 0);
		assert_true(why[0] != '\0');
	}
}

/* SFR 4.2.3: more entries than a token can hold, or a file over the size
 * limit, are refused. */
static void test_sfr423_reference_limits(void **state)
{
	vg_psa_sw_component ref[VG_PSA_MAX_COMPONENTS];
	char why[128], *j = malloc(VG_REFERENCE_MAX_FILE + 2);
	size_t n = 0, len = 0;

	(void)state;
	assert_non_null(j);
	len += (size_t)sprintf(j, "{\"components\":[");
	for (unsigned i = 0; i <= VG_PSA_MAX_COMPONENTS; i++)
		len +=
		    (size_t)sprintf(j + len, "%s{\"measurement_value\":\"%s\"}", i ? "," : "", H32);
	len += (size_t)sprintf(j + len, "]}");
	assert_int_equal(vg_psa_reference_parse(j, len, ref, &n, why, sizeof why), VG_ERR_INVALID);
	memset(j, ' ', VG_REFERENCE_MAX_FILE + 1);
	{
		static const char one[] = "{\"components\":[{\"measurement_value\":\"" H32 "\"}]}";
		memcpy(j, one, strlen(one)); /* then spaces up to the limit */
	}
	assert_int_equal(vg_psa_reference_parse(j, VG_REFERENCE_MAX_FILE, ref, &n, why, sizeof why),
			 VG_OK);
	assert_int_equal(
	    vg_psa_reference_parse(j, VG_REFERENCE_MAX_FILE + 1, ref, &n, why, sizeof why),
	    VG_ERR_TOO_LARGE);
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr423_reference_accepts_identity_json),
	    cmocka_unit_test(test_sfr423_reference_rejects_malformed),
	    cmocka_unit_test(test_sfr423_reference_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
