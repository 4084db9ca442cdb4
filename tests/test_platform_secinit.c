/*
 * test_platform_secinit.c - secure initialization's decision
 * (src/platform/secinit.h): SFR 4.2.5 and threat A.3.3 (modified or
 * outdated firmware). Every way a platform can fail to be genuine must
 * give the recovery state with a reason; only a signed manifest for this
 * product, not a downgrade, whose components all measure as listed, gives
 * the normal state; no release key gives "unverified".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "platform/secinit.h"

struct fx {
	char dir[64];
	char app[VGT_PATH], img[VGT_PATH], man[VGT_PATH];
	EVP_PKEY *release, *other;
	uint8_t *pub;
	size_t pub_len;
	vg_secinit_report *r;
};

/* Writes a manifest for app and img, signed by k (NULL: unsigned). */
static void write_manifest(struct fx *f, EVP_PKEY *k, const char *model, uint64_t secver)
{
	vg_manifest *m = calloc(1, sizeof *m);
	char why[VG_MANIFEST_WHY_LEN], *txt = NULL;
	size_t len = 0;

	assert_non_null(m);
	strcpy(m->version, "2026.11.0");
	strcpy(m->oem, "Acme");
	strcpy(m->model, model);
	strcpy(m->hw_rev, "B2");
	m->security_version = secver;
	assert_int_equal(vg_manifest_add(m, "voice-app", "1.0", f->app, f->app, 0, NULL, why),
			 VG_OK);
	assert_int_equal(vg_manifest_add(m, "image", "7", f->img, f->img, 4096, NULL, why),
			 VG_OK);
	if (k)
		assert_int_equal(vg_manifest_sign(m, k), VG_OK);
	assert_int_equal(vg_manifest_to_json(m, &txt, &len), VG_OK);
	assert_int_equal(vgt_write(f->man, txt, len, 0644), 0);
	free(txt);
	free(m);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	uint8_t img[3 * 4096 + 17];

	assert_non_null(f);
	assert_int_equal(vgt_mkdtemp(f->dir), 0);
	vgt_path(f->app, f->dir, "voice-app");
	vgt_path(f->img, f->dir, "image.bin");
	vgt_path(f->man, f->dir, "platform.json");
	assert_int_equal(vgt_write(f->app, "#!/bin/sh\necho hi\n", 18, 0755), 0);
	for (size_t i = 0; i < sizeof img; i++)
		img[i] = (uint8_t)(i * 7);
	assert_int_equal(vgt_write(f->img, img, sizeof img, 0644), 0);
	f->release = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(f->release);
	assert_non_null(f->other);
	f->pub_len = vgt_pub_der(f->release, &f->pub);
	f->r = calloc(1, sizeof *f->r);
	assert_non_null(f->r);
	write_manifest(f, f->release, "Echo", 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vgt_rmrf(f->dir);
	EVP_PKEY_free(f->release);
	EVP_PKEY_free(f->other);
	OPENSSL_free(f->pub);
	free(f->r);
	free(f);
	return 0;
}

static vg_platform_state check(struct fx *f, uint64_t min_secver)
{
	vg_secinit_input in = {.manifest_path = f->man,
			       .release_key = f->pub,
			       .release_key_len = f->pub_len,
			       .oem = "Acme",
			       .model = "Echo",
			       .hw_rev = "B2",
			       .min_security_version = min_secver};

	assert_int_equal(vg_secinit_check(&in, f->r), VG_OK);
	if (f->r->state != VG_PLATFORM_NORMAL)
		assert_true(f->r->reason[0] != '\0'); /* recovery always says why */
	return f->r->state;
}

/* SFR 4.2.5: a genuine platform is normal; the report carries every
 * component as measured and the manifest's digest. */
static void test_sfr425_genuine_platform_is_normal(void **state)
{
	struct fx *f = *state;
	static const uint8_t zero[32];

	assert_int_equal(check(f, 0), VG_PLATFORM_NORMAL);
	assert_true(f->r->manifest_ok);
	assert_string_equal(f->r->version, "2026.11.0");
	assert_int_equal(f->r->security_version, 3);
	assert_int_equal(f->r->n, 2);
	assert_string_equal(f->r->comp[0].name, "voice-app");
	assert_int_equal(f->r->res[0].rc, VG_OK);
	assert_int_equal(f->r->res[1].rc, VG_OK);
	assert_memory_equal(f->r->res[1].measured, f->r->comp[1].digest, 32);
	assert_memory_not_equal(f->r->manifest_digest, zero, 32);
	assert_string_equal(f->r->reason, "");
	/* The same security version as the minimum is not a downgrade. */
	assert_int_equal(check(f, 3), VG_PLATFORM_NORMAL);
}

/* SFR 4.2.5: no release key provisioned: nothing can be checked, and the
 * state says so rather than "normal". */
static void test_sfr425_no_release_key_is_unverified(void **state)
{
	struct fx *f = *state;
	vg_secinit_input in = {.manifest_path = f->man};

	assert_int_equal(vg_secinit_check(&in, f->r), VG_OK);
	assert_int_equal(f->r->state, VG_PLATFORM_UNVERIFIED);
	assert_string_equal(vg_platform_state_name(f->r->state), "unverified");
}

/* A.3.3: a changed component (one byte, same size) is recovery, and the
 * report shows the digest it really has. */
static void test_sfr425_changed_component_is_recovery(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vgt_pwrite(f->img, 4096 * 2 + 3, "X", 1), 0);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_int_equal(f->r->res[0].rc, VG_OK);
	assert_int_equal(f->r->res[1].rc, VG_ERR_INTEGRITY);
	assert_memory_not_equal(f->r->res[1].measured, f->r->comp[1].digest, 32);
	assert_non_null(strstr(f->r->reason, "image"));
}

/* A.3.3: appended bytes, a missing component. */
static void test_sfr425_resized_or_missing_component_is_recovery(void **state)
{
	struct fx *f = *state;
	FILE *a = fopen(f->app, "a");

	assert_non_null(a);
	assert_int_equal(fputc('x', a), 'x');
	assert_int_equal(fclose(a), 0);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_int_equal(f->r->res[0].rc, VG_ERR_INTEGRITY);
	assert_int_equal(unlink(f->app), 0);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_int_equal(f->r->res[0].rc, VG_ERR_NOT_FOUND);
	assert_non_null(strstr(f->r->reason, "voice-app"));
}

/* AVS 1.1: unsigned, or signed by another key: recovery, and nothing is
 * measured (the component list of an unauthenticated manifest is not
 * reported as the platform's). */
static void test_avs11_unsigned_or_foreign_signature_is_recovery(void **state)
{
	struct fx *f = *state;

	write_manifest(f, NULL, "Echo", 3);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_false(f->r->manifest_ok);
	assert_int_equal(f->r->n, 0);
	write_manifest(f, f->other, "Echo", 3);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_non_null(strstr(f->r->reason, "release key"));
}

/* SFR 4.2.5: another product's manifest, even correctly signed. */
static void test_sfr425_other_product_is_recovery(void **state)
{
	struct fx *f = *state;

	write_manifest(f, f->release, "Dot", 3);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_non_null(strstr(f->r->reason, "Dot"));
}

/* A.3.3 outdated firmware: a security version below the device's minimum. */
static void test_sfr425_downgrade_is_recovery(void **state)
{
	struct fx *f = *state;

	assert_int_equal(check(f, 4), VG_PLATFORM_RECOVERY);
	assert_non_null(strstr(f->r->reason, "downgrade"));
}

/* SFR 4.2.5: a release key but no manifest, an unreadable one, garbage,
 * an oversized file. */
static void test_sfr425_missing_or_bad_manifest_is_recovery(void **state)
{
	struct fx *f = *state;
	vg_secinit_input in = {.release_key = f->pub, .release_key_len = f->pub_len};
	uint8_t *big = calloc(1, VG_MANIFEST_MAX_BYTES + 1);

	assert_int_equal(vg_secinit_check(&in, f->r), VG_OK);
	assert_int_equal(f->r->state, VG_PLATFORM_RECOVERY);
	assert_non_null(strstr(f->r->reason, "no platform manifest"));
	assert_int_equal(unlink(f->man), 0);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_int_equal(vgt_write(f->man, "{\"signed\": 1}", 13, 0644), 0);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_non_null(big);
	memset(big, ' ', VG_MANIFEST_MAX_BYTES + 1);
	assert_int_equal(vgt_write(f->man, big, VG_MANIFEST_MAX_BYTES + 1, 0644), 0);
	assert_int_equal(check(f, 0), VG_PLATFORM_RECOVERY);
	assert_non_null(strstr(f->r->reason, "too large"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sfr425_genuine_platform_is_normal, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_no_release_key_is_unverified, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_changed_component_is_recovery, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_resized_or_missing_component_is_recovery,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_unsigned_or_foreign_signature_is_recovery,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_other_product_is_recovery, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_downgrade_is_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr425_missing_or_bad_manifest_is_recovery, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
