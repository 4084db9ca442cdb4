/*
 * test_update_bundle.c - update bundles (src/update/bundle.h): SFR 4.2.6
 * (integrity and authenticity of updates), AVS 1.1 (signed updates),
 * threat A.3.3 (outdated firmware). Round trips at the chunk boundaries,
 * the verify-before-write guarantee chunk by chunk, and the policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "update/bundle.h"

struct fx {
	char dir[64], bundle[VGT_PATH], slot[VGT_PATH];
	EVP_PKEY *k, *other;
	uint8_t *pub;
	size_t pub_len;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	assert_int_equal(vgt_mkdtemp(f->dir), 0);
	vgt_path(f->bundle, f->dir, "u.vgb");
	vgt_path(f->slot, f->dir, "slot");
	f->k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(f->k);
	assert_non_null(f->other);
	f->pub_len = vgt_pub_der(f->k, &f->pub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vgt_rmrf(f->dir);
	EVP_PKEY_free(f->k);
	EVP_PKEY_free(f->other);
	OPENSSL_free(f->pub);
	free(f);
	return 0;
}

/* An image of n pattern bytes at dir/name; returns its path in out. */
static void image(const struct fx *f, const char *name, size_t n, char out[VGT_PATH])
{
	uint8_t *b = malloc(n ? n : 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + 7);
	vgt_path(out, f->dir, name);
	assert_int_equal(vgt_write(out, b, n, 0644), 0);
	free(b);
}

static vg_rc make(const struct fx *f, EVP_PKEY *k, uint64_t secver, const char *img,
		  const char *oem)
{
	vg_bundle_spec s = {.version = "1.0",
			    .security_version = secver,
			    .oem = oem,
			    .model = oem ? "Echo" : NULL,
			    .hw_rev = oem ? "B2" : NULL,
			    .chunk_size = 4096,
			    .n = 1,
			    .names = {"rootfs"},
			    .files = {img}};
	char why[VG_BUNDLE_WHY_LEN] = "";

	return vg_bundle_create(f->bundle, &s, k, why);
}

static vg_rc open_b(const struct fx *f, vg_bundle **b, uint64_t min, const char *model)
{
	vg_bundle_policy p = {.release_key = f->pub,
			      .release_key_len = f->pub_len,
			      .oem = model ? "Acme" : NULL,
			      .model = model,
			      .hw_rev = "B2",
			      .min_security_version = min};
	char why[VG_BUNDLE_WHY_LEN] = "";
	vg_rc rc = vg_bundle_open(b, f->bundle, &p, why);

	if (rc != VG_OK)
		assert_true(why[0] != '\0');
	return rc;
}

/* SFR 4.2.6: images of 0, 1, a chunk, a chunk + 1 and 3 chunks + 5 bytes
 * round-trip exactly into the slot. */
static void test_sfr426_bundle_round_trip_at_chunk_boundaries(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = {0, 1, 4096, 4097, 3 * 4096 + 5};

	for (size_t i = 0; i < VG_ARRAY_LEN(sizes); i++) {
		char img[VGT_PATH], why[VG_BUNDLE_WHY_LEN] = "";
		uint8_t *a = NULL, *b = NULL;
		size_t al = 0, bl = 0;
		uint64_t written = 99;
		vg_bundle *bu = NULL;

		image(f, "img", sizes[i], img);
		assert_int_equal(make(f, f->k, 1, img, NULL), VG_OK);
		assert_int_equal(open_b(f, &bu, 0, NULL), VG_OK);
		assert_int_equal(vg_bundle_image(bu, 0)->n_chunks, sizes[i] ? (sizes[i] - 1) / 4096 + 1 : 0);
		(void)unlink(f->slot);
		assert_int_equal(vg_bundle_install(bu, "rootfs", f->slot, NULL, NULL, &written, why),
				 VG_OK);
		assert_int_equal(written, sizes[i]);
		assert_int_equal(vgt_read(img, &a, &al), 0);
		assert_int_equal(vgt_read(f->slot, &b, &bl), 0);
		assert_int_equal(al, bl);
		assert_memory_equal(a, b, al);
		free(a);
		free(b);
		assert_int_equal(vg_bundle_install(bu, "nope", f->slot, NULL, NULL, NULL, why),
				 VG_ERR_NOT_FOUND);
		vg_bundle_close(&bu);
	}
}

/* SFR 4.2.6: a bad chunk k: exactly the k verified chunks before it reach
 * the slot, nothing of it; verify-only writes nothing at all. */
static void test_sfr426_bundle_verify_before_write(void **state)
{
	struct fx *f = *state;
	char img[VGT_PATH], why[VG_BUNDLE_WHY_LEN] = "";
	uint8_t *b = NULL;
	size_t bl = 0, payload;
	uint64_t written = 0;
	vg_bundle *bu = NULL;

	image(f, "img", 10 * 4096, img);
	assert_int_equal(make(f, f->k, 1, img, NULL), VG_OK);
	assert_int_equal(vgt_read(f->bundle, &b, &bl), 0);
	payload = bl - 10 * 4096;
	for (size_t k = 0; k < 10; k += 3) {
		uint8_t x = 0x5a;
		assert_int_equal(vgt_write(f->bundle, b, bl, 0644), 0);
		assert_int_equal(vgt_pwrite(f->bundle, (off_t)(payload + k * 4096 + 100), &x, 1), 0);
		assert_int_equal(open_b(f, &bu, 0, NULL), VG_OK); /* the header is intact */
		(void)unlink(f->slot);
		assert_int_equal(vg_bundle_install(bu, "rootfs", f->slot, NULL, NULL, &written, why),
				 VG_ERR_INTEGRITY);
		assert_int_equal(written, k * 4096);
		assert_non_null(strstr(why, "chunk"));
		assert_int_equal(vg_bundle_install(bu, "rootfs", NULL, NULL, NULL, &written, why),
				 VG_ERR_INTEGRITY);
		assert_int_equal(written, 0);
		vg_bundle_close(&bu);
	}
	free(b);
}

/* AVS 1.1 and A.3.3: another signer, a downgrade, another product. */
static void test_avs11_bundle_policy(void **state)
{
	struct fx *f = *state;
	char img[VGT_PATH];
	vg_bundle *bu = NULL;

	image(f, "img", 5000, img);
	assert_int_equal(make(f, f->other, 3, img, "Acme"), VG_OK);
	assert_int_equal(open_b(f, &bu, 0, NULL), VG_ERR_VERIFY_FAILED);
	assert_int_equal(make(f, f->k, 3, img, "Acme"), VG_OK);
	assert_int_equal(open_b(f, &bu, 4, NULL), VG_ERR_ROLLBACK);
	assert_int_equal(open_b(f, &bu, 3, "Dot"), VG_ERR_STATE);
	assert_int_equal(open_b(f, &bu, 3, "Echo"), VG_OK);
	assert_int_equal(vg_bundle_security_version(bu), 3);
	assert_string_equal(vg_bundle_version(bu), "1.0");
	vg_bundle_close(&bu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sfr426_bundle_round_trip_at_chunk_boundaries,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr426_bundle_verify_before_write, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_bundle_policy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
