/*
 * test_update_bundle.c - update bundles (src/update/bundle.h): SFR 4.2.6
 * (integrity and authenticity of updates), AVS 1.1 (signed updates),
 * threat A.3.3 (outdated firmware). Round trips at the chunk boundaries,
 * the verify-before-write guarantee chunk by chunk, and the policy;
 * format 2 (encrypted payloads: the key wrap, the recipients, tampered
 * ciphertext) and resume after a power cut (the fault-injecting writer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto/wrap.h"
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

/* ---- format 2: encrypted payloads ---- */

static vg_rc unwrap_with(void *ctx, const uint8_t kid[32], const uint8_t *epk, size_t epk_len,
			 const uint8_t wrapped[40], uint8_t cek[32])
{
	uint8_t mine[32];

	if (vg_wrap_kid(ctx, mine) != VG_OK || memcmp(mine, kid, 32) != 0)
		return VG_ERR_NOT_FOUND;
	return vg_unwrap_key(ctx, epk, epk_len, wrapped, cek);
}

static vg_rc make_enc(const struct fx *f, const char *img, EVP_PKEY *r1, EVP_PKEY *r2)
{
	vg_bundle_spec s = {.version = "2.0",
			    .security_version = 2,
			    .chunk_size = 4096,
			    .n = 1,
			    .names = {"rootfs"},
			    .files = {img},
			    .n_recipients = r2 ? 2 : 1,
			    .recipients = {r1, r2}};
	char why[VG_BUNDLE_WHY_LEN] = "";

	return vg_bundle_create(f->bundle, &s, f->k, why);
}

static vg_rc open_enc(const struct fx *f, vg_bundle **b, EVP_PKEY *dev, const uint8_t *cek)
{
	vg_bundle_policy p = {.release_key = f->pub,
			      .release_key_len = f->pub_len,
			      .cek = cek,
			      .unwrap = dev ? unwrap_with : NULL,
			      .unwrap_ctx = dev};
	char why[VG_BUNDLE_WHY_LEN] = "";

	return vg_bundle_open(b, f->bundle, &p, why);
}

/* SFR 4.2.6 confidentiality: the key wrap opens only with the recipient's
 * key, and not once altered. */
static void test_sfr426_key_wrap(void **state)
{
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
		 *b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
		 *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t cek[32], out[32], epk[VG_WRAP_EPK_MAX], wr[VG_WRAP_WRAPPED_LEN];
	size_t el = 0;

	(void)state;
	memset(cek, 0x5a, sizeof cek);
	assert_int_equal(vg_wrap_key(a, cek, epk, &el, wr), VG_OK);
	assert_int_equal(vg_unwrap_key(a, epk, el, wr, out), VG_OK);
	assert_memory_equal(out, cek, 32);
	assert_int_equal(vg_unwrap_key(b, epk, el, wr, out), VG_ERR_VERIFY_FAILED);
	wr[7] ^= 1;
	assert_int_equal(vg_unwrap_key(a, epk, el, wr, out), VG_ERR_VERIFY_FAILED);
	wr[7] ^= 1;
	epk[el - 1] ^= 1; /* another point (or none): no use */
	assert_int_not_equal(vg_unwrap_key(a, epk, el, wr, out), VG_OK);
	epk[el - 1] ^= 1;
	assert_int_equal(vg_unwrap_key(a, epk, el - 1, wr, out), VG_ERR_INVALID);
	assert_int_equal(vg_wrap_key(ed, cek, epk, &el, wr), VG_ERR_INVALID);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ed);
}

/* SFR 4.2.6: an encrypted bundle installs for either recipient, is
 * refused for anyone else, and the payload is not the image in clear. */
static void test_sfr426_encrypted_bundle(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *dev = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
		 *fleet = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
		 *stranger = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char img[VGT_PATH], why[VG_BUNDLE_WHY_LEN];
	uint8_t *a = NULL, *b = NULL, cek[32];
	size_t al = 0, bl = 0;
	uint64_t written = 0;
	vg_bundle *bu = NULL;

	image(f, "img", 3 * 4096 + 5, img);
	assert_int_equal(make_enc(f, img, dev, fleet), VG_OK);
	/* Nobody's key: refused, and so is a stranger's. */
	assert_int_equal(open_enc(f, &bu, NULL, NULL), VG_ERR_DENIED);
	assert_int_equal(open_enc(f, &bu, stranger, NULL), VG_ERR_DENIED);
	/* The fleet key opens it. */
	assert_int_equal(open_enc(f, &bu, fleet, NULL), VG_OK);
	assert_true(vg_bundle_encrypted(bu));
	assert_true(vg_bundle_cek(bu, cek));
	vg_bundle_close(&bu);
	/* So does the device key, and the content key handed over. */
	assert_int_equal(open_enc(f, &bu, dev, NULL), VG_OK);
	assert_int_equal(vg_bundle_install(bu, "rootfs", f->slot, NULL, NULL, &written, why),
			 VG_OK);
	vg_bundle_close(&bu);
	assert_int_equal(vgt_read(img, &a, &al), 0);
	assert_int_equal(vgt_read(f->slot, &b, &bl), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(b);
	assert_int_equal(open_enc(f, &bu, NULL, cek), VG_OK);
	assert_int_equal(vg_bundle_install(bu, "rootfs", NULL, NULL, NULL, NULL, why), VG_OK);
	vg_bundle_close(&bu);
	/* The payload (the file's tail: 4 chunks + 4 tags) is not the image. */
	assert_int_equal(vgt_read(f->bundle, &b, &bl), 0);
	assert_true(bl > al + 64);
	assert_memory_not_equal(b + bl - (al + 4 * 16), a, 4096);
	/* A flipped ciphertext byte in chunk 2: two chunks reach the slot. */
	b[bl - (al + 4 * 16) + 2 * (4096 + 16) + 9] ^= 1;
	assert_int_equal(vgt_write(f->bundle, b, bl, 0644), 0);
	assert_int_equal(open_enc(f, &bu, dev, NULL), VG_OK);
	assert_int_equal(unlink(f->slot), 0);
	assert_int_equal(vg_bundle_install(bu, "rootfs", f->slot, NULL, NULL, &written, why),
			 VG_ERR_INTEGRITY);
	assert_int_equal(written, 2 * 4096);
	assert_non_null(strstr(why, "chunk 2"));
	vg_bundle_close(&bu);
	free(a);
	free(b);
	EVP_PKEY_free(dev);
	EVP_PKEY_free(fleet);
	EVP_PKEY_free(stranger);
}

/* SFR 4.2.6: a power cut mid-install (the fault-injecting writer tears a
 * chunk in half) resumes from the last verified chunk, plain or
 * encrypted; the torn chunk is written again. */
static void test_sfr426_resume_after_power_cut(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *dev = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char img[VGT_PATH], why[VG_BUNDLE_WHY_LEN];
	uint8_t *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;

	image(f, "img", 10 * 4096 + 100, img);
	for (int enc = 0; enc < 2; enc++) {
		vg_bundle_install_opts o = {.fault_after = 4 * 4096 + 1000};
		vg_bundle_install_result r;
		vg_bundle *bu = NULL;
		if (enc)
			assert_int_equal(make_enc(f, img, dev, NULL), VG_OK);
		else
			assert_int_equal(make(f, f->k, 1, img, NULL), VG_OK);
		assert_int_equal(enc ? open_enc(f, &bu, dev, NULL) : open_b(f, &bu, 0, NULL), VG_OK);
		(void)unlink(f->slot);
		assert_int_equal(vg_bundle_install_ex(bu, "rootfs", f->slot, &o, &r, why), VG_ERR_IO);
		assert_non_null(strstr(why, "simulated power loss"));
		assert_int_equal(r.written, 4 * 4096 + 2048); /* 4 chunks and half of one */
		o.fault_after = 0;
		o.resume = true;
		assert_int_equal(vg_bundle_install_ex(bu, "rootfs", f->slot, &o, &r, why), VG_OK);
		assert_int_equal(r.resumed, 4 * 4096);
		assert_int_equal(r.written, 6 * 4096 + 100);
		vg_bundle_close(&bu);
		assert_int_equal(vgt_read(img, &a, &al), 0);
		assert_int_equal(vgt_read(f->slot, &b, &bl), 0);
		assert_int_equal(al, bl);
		assert_memory_equal(a, b, al);
		free(a);
		free(b);
	}
	EVP_PKEY_free(dev);
}

/* The service's view: the manifest alone, then no payload to install. */
static void test_sfr426_manifest_only(void **state)
{
	struct fx *f = *state;
	char img[VGT_PATH], why[VG_BUNDLE_WHY_LEN] = "";
	uint8_t *m = NULL, id1[32], id2[32];
	size_t ml = 0;
	vg_bundle *bu = NULL, *full = NULL;
	vg_bundle_policy p = {.release_key = f->pub, .release_key_len = f->pub_len};

	image(f, "img", 9000, img);
	assert_int_equal(make(f, f->k, 1, img, NULL), VG_OK);
	assert_int_equal(vg_bundle_read_manifest(f->bundle, &m, &ml, why), VG_OK);
	assert_int_equal(vg_bundle_open_manifest(&bu, m, ml, &p, why), VG_OK);
	assert_int_equal(vg_bundle_install(bu, "rootfs", NULL, NULL, NULL, NULL, why), VG_ERR_STATE);
	assert_int_equal(open_b(f, &full, 0, NULL), VG_OK);
	vg_bundle_id(bu, id1);
	vg_bundle_id(full, id2);
	assert_memory_equal(id1, id2, 32);
	m[ml / 2] ^= 0x20;
	vg_bundle_close(&bu);
	assert_int_not_equal(vg_bundle_open_manifest(&bu, m, ml, &p, why), VG_OK);
	vg_bundle_close(&full);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sfr426_bundle_round_trip_at_chunk_boundaries,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr426_bundle_verify_before_write, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_avs11_bundle_policy, setup, teardown),
	    cmocka_unit_test(test_sfr426_key_wrap),
	    cmocka_unit_test_setup_teardown(test_sfr426_encrypted_bundle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr426_resume_after_power_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr426_manifest_only, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
