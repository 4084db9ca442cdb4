/*
 * test_identity.c - provisioning, platform and instance identity, and
 * attestation (src/identity/identity.h).
 *
 * SFR 4.2.1 (platform identity), SFR 4.2.2 (instance identity), SFR 4.2.3
 * (attestation of genuineness): provisioning happens once and survives a
 * restart; tokens carry the claims RFC 9783 asks for and verify with the
 * device's attestation public key, bound to its instance ID; the setup
 * code is checked in constant time. The OEM debug key (SFR 4.3.1) and
 * release key (SFR 4.2.5) are written at provisioning only, before the
 * provisioning record; a start that cannot read that record never calls
 * the device unprovisioned.
 *
 * Link seam: this test is linked with -Wl,--wrap=vg_sysrec_put
 * (tests/CMakeLists.txt), so that one chosen record write can fail as a
 * power cut or a full disk would have it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "attest/psa_token.h"
#include "helpers.h"
#include "identity/identity.h"
#include "storage/sysrec.h"

/* ---- the link seam: a sys record write that fails ---- */

static int fail_rec = -1; /* the vg_sysrec whose put fails; -1: none */

vg_rc __real_vg_sysrec_put(vg_secstore *st, vg_sysrec rec, const uint8_t *val, size_t len);
vg_rc __wrap_vg_sysrec_put(vg_secstore *st, vg_sysrec rec, const uint8_t *val, size_t len);

vg_rc __wrap_vg_sysrec_put(vg_secstore *st, vg_sysrec rec, const uint8_t *val, size_t len)
{
	if ((int)rec == fail_rec)
		return VG_ERR_IO; /* nothing written, as after a power cut */
	return __real_vg_sysrec_put(st, rec, val, len);
}

struct fx {
	vgt_stack *s;
	vg_identity *id;
	char comp_a[VGT_PATH], comp_b[VGT_PATH];
};

static const char *const names[] = {"bootloader", "voice-app", "missing"};

static vg_rc open_id(struct fx *f)
{
	char missing[VGT_PATH];
	const char *paths[3];

	vgt_path(missing, f->s->dir, "no-such-file");
	paths[0] = f->comp_a;
	paths[1] = f->comp_b;
	paths[2] = missing;
	return vg_identity_open(&f->id, f->s->st, f->s->ks, f->s->rot, paths, names, 3);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	fail_rec = -1;
	if (!f || !(f->s = vgt_stack_new()))
		return -1;
	vgt_path(f->comp_a, f->s->dir, "bl.bin");
	vgt_path(f->comp_b, f->s->dir, "app.bin");
	if (vgt_write(f->comp_a, "bootloader image", 16, 0600) != 0 ||
	    vgt_write(f->comp_b, "voice application image", 23, 0600) != 0 || open_id(f) != VG_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vg_identity_close(&f->id);
	vgt_stack_free(f->s);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	vg_identity_close(&f->id);
	assert_int_equal(vgt_stack_reopen(f->s), VG_OK);
	assert_int_equal(open_id(f), VG_OK);
}

static const vg_platform acme = {.oem = "Acme",
				 .model = "Echo One",
				 .hw_rev = "B2",
				 .verification_service = "https://verifier.acme.example/psa"};

static void provision_ok(struct fx *f, char code[VG_SETUP_CODE_LEN + 1])
{
	assert_int_equal(vg_identity_provision_device(f->id, &acme, NULL, code), VG_OK);
}

static void nonce_of(uint8_t n[64], uint8_t seed)
{
	for (int i = 0; i < 64; i++)
		n[i] = (uint8_t)(seed + i * 7);
}

static vg_rc verify(struct fx *f, const uint8_t *tok, size_t len, const uint8_t *nonce, size_t nlen,
		    vg_psa_claims *out)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	vg_psa_verify_opts o = {.nonce = nonce, .nonce_len = nlen, .bind_instance_id = true};
	vg_psa_profile p = 0;
	char why[160];
	vg_rc rc;

	assert_int_equal(vg_identity_public(f->id, false, &der, &der_len), VG_OK);
	rc = vg_psa_token_verify(tok, len, der, der_len, &o, out, &p, why, sizeof why);
	vg_free(der, der_len);
	if (rc == VG_OK)
		assert_int_equal(p, VG_PSA_PROFILE_RFC9783);
	return rc;
}

/* ---- tests ---- */

/* SFR 4.2.1/4.2.3: before provisioning there is no attestation key: the
 * lifecycle says so and tokens are refused, not forged with a stand-in. */
static void test_sfr423_unprovisioned_refuses_tokens(void **state)
{
	struct fx *f = *state;
	uint8_t n[64], *tok = (uint8_t *)f, *der = NULL;
	size_t len = 1, der_len = 0;

	nonce_of(n, 1);
	assert_false(vg_identity_provisioned(f->id));
	assert_int_equal(vg_identity_unknown(f->id), VG_OK);
	assert_string_equal(vg_identity_unknown_why(f->id), "");
	assert_null(vg_identity_platform(f->id));
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_PSA_ROT_PROVISIONING);
	assert_int_equal(vg_identity_attest(f->id, 1000, n, 32, &tok, &len), VG_ERR_STATE);
	assert_null(tok);
	assert_int_equal(len, 0);
	assert_int_equal(vg_identity_public(f->id, true, &der, &der_len), VG_ERR_STATE);
	assert_int_equal(vg_identity_check_setup_code(f->id, "AAAA-AAAA-AAAA-AAAA"), VG_ERR_STATE);
}

/* SFR 4.2.1/4.2.2: provisioning happens once; the identity and the setup
 * code survive a restart; a second provisioning is refused. */
static void test_sfr421_provision_once_and_persist(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1], code2[VG_SETUP_CODE_LEN + 1];
	vg_psa_claims c1, c2;

	provision_ok(f, code);
	assert_int_equal(strlen(code), VG_SETUP_CODE_LEN);
	for (size_t i = 0; i < VG_SETUP_CODE_LEN; i++) {
		if (i % 5 == 4)
			assert_int_equal(code[i], '-');
		else
			assert_non_null(strchr("ABCDEFGHJKMNPQRSTUVWXYZ23456789", code[i]));
	}
	assert_true(vg_identity_provisioned(f->id));
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_SECURED);
	assert_int_equal(vg_identity_claims(f->id, &c1), VG_OK);
	assert_int_equal(c1.instance_id[0], 0x01);

	assert_int_equal(vg_identity_provision_device(f->id, &acme, NULL, code2), VG_ERR_STATE);
	assert_string_equal(code2, "");
	reopen(f);
	assert_true(vg_identity_provisioned(f->id));
	assert_string_equal(vg_identity_platform(f->id)->model, "Echo One");
	assert_int_equal(vg_identity_provision_device(f->id, &acme, NULL, code2), VG_ERR_STATE);
	assert_int_equal(vg_identity_claims(f->id, &c2), VG_OK);
	assert_memory_equal(c1.instance_id, c2.instance_id, sizeof c1.instance_id);
	assert_memory_equal(c1.implementation_id, c2.implementation_id,
			    sizeof c1.implementation_id);
	/* One boot, one boot seed. */
	assert_int_equal(c2.boot_seed_len, 32);
	assert_memory_equal(c1.boot_seed, c2.boot_seed, 32);
	assert_int_equal(vg_identity_check_setup_code(f->id, code), VG_OK);
}

/* SFR 4.2.2: the instance ID is the RFC 9783 UEID of the attestation key:
 * 0x01 || SHA-256 of the uncompressed public point. */
static void test_sfr422_instance_id_is_ueid_of_attestation_key(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	uint8_t *der = NULL, pt[65], want[33];
	size_t der_len = 0, pt_len = 0;
	const unsigned char *p;
	EVP_PKEY *k;
	vg_psa_claims c;

	provision_ok(f, code);
	assert_int_equal(vg_identity_public(f->id, false, &der, &der_len), VG_OK);
	p = der;
	k = d2i_PUBKEY(NULL, &p, (long)der_len);
	assert_non_null(k);
	assert_int_equal(
	    EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", pt, sizeof pt, &pt_len), 1);
	assert_int_equal(pt_len, 65);
	want[0] = 0x01;
	assert_non_null(SHA256(pt, 65, want + 1));
	assert_int_equal(vg_identity_claims(f->id, &c), VG_OK);
	assert_memory_equal(c.instance_id, want, 33);
	EVP_PKEY_free(k);
	vg_free(der, der_len);
}

/* SFR 4.2.3: a token carries the caller's nonce (32, 48 or 64 bytes), the
 * caller as a negative client ID, the lifecycle, the boot seed, the
 * measured components (missing files skipped) and the verification
 * service; it verifies with the device key, bound to the instance ID. */
static void test_sfr423_token_claims_and_signature(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	uint8_t n[64], *tok = NULL, want[32];
	size_t len = 0;
	vg_psa_claims c;
	const size_t sizes[] = {32, 48, 64};

	provision_ok(f, code);
	nonce_of(n, 9);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(vg_identity_attest(f->id, 1000, n, sizes[i], &tok, &len), VG_OK);
		assert_int_equal(verify(f, tok, len, n, sizes[i], &c), VG_OK);
		assert_int_equal(c.nonce_len, sizes[i]);
		vg_free(tok, len);
	}
	assert_int_equal(c.client_id, -1001);
	assert_int_equal(c.lifecycle, VG_PSA_LC_SECURED);
	assert_int_equal(c.boot_seed_len, 32);
	assert_string_equal(c.verification_service, "https://verifier.acme.example/psa");
	assert_int_equal(c.n_components, 2);
	assert_string_equal(c.components[0].measurement_type, "bootloader");
	assert_string_equal(c.components[1].measurement_type, "voice-app");
	assert_non_null(SHA256((const uint8_t *)"bootloader image", 16, want));
	assert_memory_equal(c.components[0].measurement, want, 32);
	assert_int_equal(c.components[0].signer_id_len, 32);
	/* Another uid, another client ID; root is -1. */
	assert_int_equal(vg_identity_attest(f->id, 0, n, 32, &tok, &len), VG_OK);
	assert_int_equal(verify(f, tok, len, n, 32, &c), VG_OK);
	assert_int_equal(c.client_id, -1);
	/* The wrong nonce does not verify. */
	n[0] ^= 1;
	assert_int_equal(verify(f, tok, len, n, 32, &c), VG_ERR_VERIFY_FAILED);
	vg_free(tok, len);
	/* Bad nonce sizes and unrepresentable uids are refused. */
	assert_int_equal(vg_identity_attest(f->id, 1000, n, 31, &tok, &len), VG_ERR_INVALID);
	assert_int_equal(vg_identity_attest(f->id, 1000, n, 0, &tok, &len), VG_ERR_INVALID);
	assert_int_equal(vg_identity_attest(f->id, 0x7fffffffu, n, 32, &tok, &len), VG_ERR_INVALID);
	assert_null(tok);
}

/* SFR 4.2.3: a component that changes on disk changes the measurement the
 * next start reports (the reference comparison then fails). */
static void test_sfr423_changed_component_changes_measurement(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	vg_psa_claims c1, c2;

	provision_ok(f, code);
	assert_int_equal(vg_identity_claims(f->id, &c1), VG_OK);
	assert_int_equal(vgt_write(f->comp_b, "voice application imagE", 23, 0600), 0);
	reopen(f);
	assert_int_equal(vg_identity_claims(f->id, &c2), VG_OK);
	assert_memory_equal(c1.components[0].measurement, c2.components[0].measurement, 32);
	assert_memory_not_equal(c1.components[1].measurement, c2.components[1].measurement, 32);
}

/* SFR 4.2.1: the implementation ID depends on the product (OEM, model,
 * hardware revision), not on the instance. */
static void test_sfr421_implementation_id_per_product(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	vg_psa_claims before, after;
	struct fx g = {0};
	vg_platform other = acme;

	assert_int_equal(vg_identity_claims(f->id, &before), VG_OK);
	provision_ok(f, code);
	assert_int_equal(vg_identity_claims(f->id, &after), VG_OK);
	assert_memory_not_equal(before.implementation_id, after.implementation_id, 32);

	/* A second device of the same product: same implementation ID,
	 * another instance ID. */
	g.s = vgt_stack_new();
	assert_non_null(g.s);
	assert_int_equal(vg_identity_open(&g.id, g.s->st, g.s->ks, g.s->rot, NULL, NULL, 0), VG_OK);
	assert_int_equal(vg_identity_provision_device(g.id, &acme, NULL, code), VG_OK);
	assert_int_equal(vg_identity_claims(g.id, &before), VG_OK);
	assert_memory_equal(before.implementation_id, after.implementation_id, 32);
	assert_memory_not_equal(before.instance_id, after.instance_id, 33);
	/* No components: no token (RFC 9783 needs one). */
	{
		uint8_t n[32] = {0}, *tok = NULL;
		size_t len = 0;
		assert_int_equal(vg_identity_attest(g.id, 5, n, 32, &tok, &len), VG_ERR_STATE);
	}
	vg_identity_close(&g.id);
	vgt_stack_free(g.s);

	/* Another hardware revision: another implementation ID. */
	g.s = vgt_stack_new();
	assert_non_null(g.s);
	assert_int_equal(vg_identity_open(&g.id, g.s->st, g.s->ks, g.s->rot, NULL, NULL, 0), VG_OK);
	(void)snprintf(other.hw_rev, sizeof other.hw_rev, "C1");
	assert_int_equal(vg_identity_provision_device(g.id, &other, NULL, code), VG_OK);
	assert_int_equal(vg_identity_claims(g.id, &before), VG_OK);
	assert_memory_not_equal(before.implementation_id, after.implementation_id, 32);
	vg_identity_close(&g.id);
	vgt_stack_free(g.s);
}

/* SFR 4.2.1: platform strings must be printable, non-empty and fit. */
static void test_sfr421_provision_rejects_bad_strings(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	vg_platform p = acme;

	p.oem[0] = '\0';
	assert_int_equal(vg_identity_provision_device(f->id, &p, NULL, code), VG_ERR_INVALID);
	p = acme;
	p.model[2] = '\n';
	assert_int_equal(vg_identity_provision_device(f->id, &p, NULL, code), VG_ERR_INVALID);
	p = acme;
	memset(p.hw_rev, 'x', sizeof p.hw_rev); /* no terminator */
	assert_int_equal(vg_identity_provision_device(f->id, &p, NULL, code), VG_ERR_INVALID);
	p = acme;
	p.verification_service[0] = '\x7f';
	assert_int_equal(vg_identity_provision_device(f->id, &p, NULL, code), VG_ERR_INVALID);
	assert_false(vg_identity_provisioned(f->id));
	provision_ok(f, code);
}

/* SFR 4.2.1: a provisioning interrupted after the keys were made (no
 * provisioning record) leaves the device unprovisioned; the next run
 * replaces the leftover keys instead of reusing them. */
static void test_sfr421_interrupted_provisioning_restarts_clean(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	uint8_t *old = NULL, *now = NULL;
	size_t old_len = 0, now_len = 0;

	assert_int_equal(vg_keystore_create(f->s->ks, VG_OWNER_SERVICE, VG_ATTEST_KEY_NAME,
					    VG_KEY_P256, VG_USE_SIGN),
			 VG_OK);
	assert_int_equal(vg_keystore_public(f->s->ks, VG_OWNER_SERVICE, VG_ATTEST_KEY_NAME, false,
					    &old, &old_len),
			 VG_OK);
	reopen(f);
	assert_false(vg_identity_provisioned(f->id));
	provision_ok(f, code);
	assert_int_equal(vg_identity_public(f->id, false, &now, &now_len), VG_OK);
	assert_false(old_len == now_len && memcmp(old, now, now_len) == 0);
	vg_free(old, old_len);
	vg_free(now, now_len);
}

/* AVS 1.2 / SFR 4.2.13: the setup code is checked exactly (dashes and case
 * do not matter; any other difference, a prefix, or extra characters do). */
static void test_avs12_setup_code_check(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1], v[64];
	size_t j = 0;

	provision_ok(f, code);
	assert_int_equal(vg_identity_check_setup_code(f->id, code), VG_OK);
	for (size_t i = 0; code[i]; i++)
		if (code[i] != '-')
			v[j++] = (char)tolower((unsigned char)code[i]);
	v[j] = '\0';
	assert_int_equal(vg_identity_check_setup_code(f->id, v), VG_OK);
	v[3] = v[3] == 'a' ? 'b' : 'a';
	assert_int_equal(vg_identity_check_setup_code(f->id, v), VG_ERR_AUTH_FAILED);
	memcpy(v, code, sizeof code);
	v[VG_SETUP_CODE_LEN - 1] = '\0';
	assert_int_equal(vg_identity_check_setup_code(f->id, v), VG_ERR_AUTH_FAILED);
	(void)snprintf(v, sizeof v, "%sA", code);
	assert_int_equal(vg_identity_check_setup_code(f->id, v), VG_ERR_AUTH_FAILED);
	assert_int_equal(vg_identity_check_setup_code(f->id, ""), VG_ERR_AUTH_FAILED);
	/* The device words include the code, so no password may contain it. */
	{
		const char *w[VG_IDENTITY_MAX_WORDS];
		size_t n = vg_identity_device_words(f->id, w);
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= strcmp(w[i], code) == 0;
		assert_true(found);
	}
}

/* SFR 4.2.2: the CSR for the device identity key verifies, names the
 * device, and a certificate is stored only if it certifies that key. */
static void test_sfr422_csr_and_certificate(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1], *pem = NULL, *got = NULL, cn[128];
	size_t len = 0, got_len = 0;
	BIO *b;
	X509_REQ *req;
	EVP_PKEY *pub, *ca;
	X509 *cert;
	BIO *o;
	BUF_MEM *bm;

	assert_int_equal(vg_identity_csr(f->id, NULL, &pem, &len), VG_ERR_STATE);
	provision_ok(f, code);
	assert_int_equal(vg_identity_csr(f->id, NULL, &pem, &len), VG_OK);
	b = BIO_new_mem_buf(pem, (int)len);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	assert_non_null(req);
	pub = X509_REQ_get_pubkey(req);
	assert_int_equal(X509_REQ_verify(req, pub), 1);
	assert_true(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn,
					      sizeof cn) > 0);
	assert_non_null(strstr(cn, "Acme Echo One"));
	BIO_free(b);
	vg_free(pem, len);

	/* An OEM CA issues the certificate. */
	ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ca);
	cert = X509_new();
	assert_non_null(cert);
	assert_int_equal(X509_set_version(cert, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), 7), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 3600));
	assert_int_equal(X509_set_subject_name(cert, X509_REQ_get_subject_name(req)), 1);
	assert_int_equal(X509_set_issuer_name(cert, X509_REQ_get_subject_name(req)), 1);
	/* First a certificate for the wrong key: refused. */
	assert_int_equal(X509_set_pubkey(cert, ca), 1);
	assert_true(X509_sign(cert, ca, EVP_sha256()) > 0);
	o = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(o, cert), 1);
	BIO_get_mem_ptr(o, &bm);
	assert_int_equal(vg_identity_set_cert(f->id, bm->data, bm->length), VG_ERR_INVALID);
	BIO_free(o);
	assert_int_equal(vg_identity_cert(f->id, &got, &got_len), VG_ERR_NOT_FOUND);
	/* Then the right one: stored and returned. */
	assert_int_equal(X509_set_pubkey(cert, pub), 1);
	assert_true(X509_sign(cert, ca, EVP_sha256()) > 0);
	o = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(o, cert), 1);
	BIO_get_mem_ptr(o, &bm);
	assert_int_equal(vg_identity_set_cert(f->id, "garbage", 7), VG_ERR_INVALID);
	assert_int_equal(vg_identity_set_cert(f->id, bm->data, bm->length), VG_OK);
	reopen(f);
	assert_int_equal(vg_identity_cert(f->id, &got, &got_len), VG_OK);
	assert_int_equal(got_len, bm->length);
	assert_memory_equal(got, bm->data, got_len);
	vg_free(got, got_len);
	BIO_free(o);
	X509_free(cert);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(pub);
	X509_REQ_free(req);
}

/* SFR 4.3.1: an unlocked debug state shows in the lifecycle (and so in
 * every token). */
static void test_sfr431_debug_shows_in_lifecycle(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	uint8_t n[32] = {1}, *tok = NULL;
	size_t len = 0;
	vg_psa_claims c;

	provision_ok(f, code);
	vg_identity_set_debug(f->id, true);
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_NON_PSA_ROT_DEBUG);
	assert_int_equal(vg_identity_attest(f->id, 1000, n, 32, &tok, &len), VG_OK);
	assert_int_equal(verify(f, tok, len, n, 32, &c), VG_OK);
	assert_int_equal(c.lifecycle, VG_PSA_LC_NON_PSA_ROT_DEBUG);
	vg_free(tok, len);
	vg_identity_set_debug(f->id, false);
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_SECURED);
}

/* ---- the OEM keys and the order of the provisioning writes ---- */

/* A fresh public key, DER SubjectPublicKeyInfo (OPENSSL_free). */
static uint8_t *new_pub(bool ed25519, size_t *len)
{
	EVP_PKEY *k = ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
			      : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *der = NULL;
	int n;

	assert_non_null(k);
	n = i2d_PUBKEY(k, &der);
	assert_true(n > 0);
	EVP_PKEY_free(k);
	*len = (size_t)n;
	return der;
}

struct oem {
	uint8_t *d1, *d2, *r1, *r2;
	size_t d1_len, d2_len, r1_len, r2_len;
};

static void oem_new(struct oem *o)
{
	o->d1 = new_pub(false, &o->d1_len);
	o->d2 = new_pub(true, &o->d2_len);
	o->r1 = new_pub(false, &o->r1_len);
	o->r2 = new_pub(true, &o->r2_len);
}

static void oem_free(struct oem *o)
{
	OPENSSL_free(o->d1);
	OPENSSL_free(o->d2);
	OPENSSL_free(o->r1);
	OPENSSL_free(o->r2);
}

/* The sys record rec holds exactly want (want NULL: there is none). */
static void assert_sysrec(struct fx *f, vg_sysrec rec, const uint8_t *want, size_t want_len)
{
	uint8_t *got = NULL;
	size_t len = 0;
	vg_rc rc = vg_sysrec_get(f->s->st, rec, &got, &len);

	if (!want) {
		assert_int_equal(rc, VG_ERR_NOT_FOUND);
		return;
	}
	assert_int_equal(rc, VG_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	vg_free(got, len);
}

/* The debug key as the identity module hands it to debug unlock. */
static void assert_debug_key(struct fx *f, const uint8_t *want, size_t want_len)
{
	uint8_t *got = NULL;
	size_t len = 0;

	assert_int_equal(vg_identity_debug_key(f->id, &got, &len), want ? VG_OK : VG_ERR_NOT_FOUND);
	if (want) {
		assert_int_equal(len, want_len);
		assert_memory_equal(got, want, len);
	}
	vg_free(got, len);
}

/* SFR 4.2.1, 4.2.5, 4.3.1: provisioning registers the OEM debug and
 * release keys, once: a second provisioning is refused with VG_ERR_STATE,
 * also after a restart, and leaves the keys as they were. */
static void test_sfr421_provision_once_keys_first(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	struct oem o;
	vg_oem_keys k1, k2;

	oem_new(&o);
	k1 = (vg_oem_keys){o.d1, o.d1_len, o.r1, o.r1_len};
	k2 = (vg_oem_keys){o.d2, o.d2_len, o.r2, o.r2_len};
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k1, code), VG_OK);
	assert_int_equal(strlen(code), VG_SETUP_CODE_LEN);
	assert_true(vg_identity_provisioned(f->id));
	assert_sysrec(f, VG_SYS_DEBUG_KEY, o.d1, o.d1_len);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, o.r1, o.r1_len);
	assert_debug_key(f, o.d1, o.d1_len);

	/* Again, with other keys: refused, nothing changed. */
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k2, code), VG_ERR_STATE);
	assert_string_equal(code, "");
	assert_sysrec(f, VG_SYS_DEBUG_KEY, o.d1, o.d1_len);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, o.r1, o.r1_len);
	/* Without keys: refused too, and the keys are not deleted. */
	assert_int_equal(vg_identity_provision_device(f->id, &acme, NULL, code), VG_ERR_STATE);
	assert_sysrec(f, VG_SYS_DEBUG_KEY, o.d1, o.d1_len);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, o.r1, o.r1_len);
	/* After a restart: the same. */
	reopen(f);
	assert_true(vg_identity_provisioned(f->id));
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k2, code), VG_ERR_STATE);
	assert_sysrec(f, VG_SYS_DEBUG_KEY, o.d1, o.d1_len);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, o.r1, o.r1_len);
	assert_debug_key(f, o.d1, o.d1_len);
	oem_free(&o);
}

/* SFR 4.2.1, 4.2.5, 4.3.1: the keys are written before the provisioning
 * record, which comes last; a run that fails at any write leaves the device
 * unprovisioned (lifecycle "provisioning", not unknown), and the next run
 * is done whole with its own keys: a key the earlier run left and this
 * run does not give is gone. */
static void test_sfr421_interrupted_provisioning_redone_whole(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	struct oem o;
	vg_oem_keys k1, k2;

	oem_new(&o);
	k1 = (vg_oem_keys){o.d1, o.d1_len, o.r1, o.r1_len};
	k2 = (vg_oem_keys){.debug_key = o.d2, .debug_key_len = o.d2_len};

	/* Cut at the first key: no provisioning record yet. */
	fail_rec = VG_SYS_DEBUG_KEY;
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k1, code), VG_ERR_IO);
	assert_string_equal(code, "");
	assert_false(vg_identity_provisioned(f->id));
	assert_sysrec(f, VG_SYS_IDENTITY, NULL, 0);

	/* Cut at the provisioning record: both keys are already there. */
	fail_rec = VG_SYS_IDENTITY;
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k1, code), VG_ERR_IO);
	assert_string_equal(code, "");
	assert_false(vg_identity_provisioned(f->id));
	assert_sysrec(f, VG_SYS_DEBUG_KEY, o.d1, o.d1_len);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, o.r1, o.r1_len);
	assert_sysrec(f, VG_SYS_IDENTITY, NULL, 0);
	assert_int_equal(vg_identity_debug_key(f->id, &(uint8_t *){NULL}, &(size_t){0}),
			 VG_ERR_STATE);

	/* The power comes back: an unprovisioned device, as far as anyone
	 * can tell (the store is fine, there is no record). */
	fail_rec = -1;
	reopen(f);
	assert_false(vg_identity_provisioned(f->id));
	assert_int_equal(vg_identity_unknown(f->id), VG_OK);
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_PSA_ROT_PROVISIONING);

	/* Redone whole, with another debug key and no release key. */
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k2, code), VG_OK);
	assert_true(vg_identity_provisioned(f->id));
	assert_sysrec(f, VG_SYS_DEBUG_KEY, o.d2, o.d2_len);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, NULL, 0);
	reopen(f);
	assert_true(vg_identity_provisioned(f->id));
	assert_debug_key(f, o.d2, o.d2_len);
	assert_int_equal(vg_identity_check_setup_code(f->id, code), VG_OK);
	oem_free(&o);
}

/* SFR 4.3.1, 4.2.5: the debug and release keys are stored at provisioning
 * and at no other time: not before it (a bad key or bad platform strings
 * write nothing, not even the other, good key), not after it. */
static void test_sfr431_oem_keys_only_at_provisioning(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	static const uint8_t junk[] = "not a public key";
	struct oem o;
	vg_oem_keys k;
	vg_platform bad = acme;
	uint8_t *der = (uint8_t *)f;
	size_t len = 1;

	oem_new(&o);
	assert_int_equal(vg_identity_debug_key(f->id, &der, &len), VG_ERR_STATE);
	assert_null(der);
	assert_int_equal(len, 0);
	/* A good debug key with a bad release key: nothing written. */
	k = (vg_oem_keys){o.d1, o.d1_len, junk, sizeof junk};
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k, code), VG_ERR_INVALID);
	assert_sysrec(f, VG_SYS_DEBUG_KEY, NULL, 0);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, NULL, 0);
	/* A bad debug key: nothing written. */
	k = (vg_oem_keys){junk, sizeof junk, o.r1, o.r1_len};
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k, code), VG_ERR_INVALID);
	assert_sysrec(f, VG_SYS_DEBUG_KEY, NULL, 0);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, NULL, 0);
	/* Good keys, bad platform strings: nothing written. */
	k = (vg_oem_keys){o.d1, o.d1_len, o.r1, o.r1_len};
	bad.model[0] = '\0';
	assert_int_equal(vg_identity_provision_device(f->id, &bad, &k, code), VG_ERR_INVALID);
	assert_sysrec(f, VG_SYS_DEBUG_KEY, NULL, 0);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, NULL, 0);
	assert_false(vg_identity_provisioned(f->id));

	/* Provisioned without keys: none, and none can be added later. */
	assert_int_equal(vg_identity_provision_device(f->id, &acme, NULL, code), VG_OK);
	assert_debug_key(f, NULL, 0);
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k, code), VG_ERR_STATE);
	assert_sysrec(f, VG_SYS_DEBUG_KEY, NULL, 0);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, NULL, 0);
	reopen(f);
	assert_debug_key(f, NULL, 0);
	oem_free(&o);
}

/* SFR 4.2.1, 4.2.3 (issue 11): a provisioned device whose store is
 * rolled back cannot read its provisioning record: it is not called
 * unprovisioned. The lifecycle is unknown (0x0000) with the reason, no
 * token is issued, provisioning is refused; the store accepted back (the
 * factory reset's way out), the device is provisioned as before. */
static void test_sfr421_refused_store_lifecycle_unknown(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	uint8_t n[32] = {1}, *tok = (uint8_t *)f, *der = NULL;
	size_t len = 1, der_len = 0;
	uint64_t dropped = 0;
	struct oem o;
	vg_oem_keys k;
	vg_psa_claims c;

	oem_new(&o);
	k = (vg_oem_keys){o.d1, o.d1_len, o.r1, o.r1_len};
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k, code), VG_OK);
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_SECURED); /* control */

	/* The state dir of now is saved, the device goes on, the copy is put
	 * back: a rollback. */
	vg_identity_close(&f->id);
	vgt_stack_close(f->s);
	assert_int_equal(vgt_db_save(f->s->dir, "old"), 0);
	assert_int_equal(vgt_stack_open(f->s), VG_OK);
	assert_int_equal(vg_secstore_put(f->s->st, "u/1000", "later", (const uint8_t *)"x", 1),
			 VG_OK);
	vgt_stack_close(f->s);
	assert_int_equal(vgt_db_restore(f->s->dir, "old", false), 0);
	assert_int_equal(vgt_stack_open(f->s), VG_OK);
	assert_int_equal(vg_secstore_state(f->s->st), VG_ERR_ROLLBACK);
	assert_int_equal(open_id(f), VG_OK);

	assert_false(vg_identity_provisioned(f->id));
	assert_null(vg_identity_platform(f->id));
	assert_int_equal(vg_identity_unknown(f->id), VG_ERR_ROLLBACK);
	assert_string_equal(vg_identity_unknown_why(f->id),
			    "secure storage refused: rollback detected");
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_UNKNOWN);
	assert_int_equal(vg_identity_claims(f->id, &c), VG_OK);
	assert_int_equal(c.lifecycle, VG_PSA_LC_UNKNOWN);
	/* Fail closed, with the store's reason rather than "not provisioned". */
	assert_int_equal(vg_identity_attest(f->id, 1000, n, 32, &tok, &len), VG_ERR_ROLLBACK);
	assert_null(tok);
	assert_int_equal(len, 0);
	assert_int_equal(vg_identity_public(f->id, true, &der, &der_len), VG_ERR_ROLLBACK);
	assert_int_equal(vg_identity_debug_key(f->id, &der, &der_len), VG_ERR_ROLLBACK);
	assert_int_equal(vg_identity_check_setup_code(f->id, code), VG_ERR_ROLLBACK);
	assert_int_equal(vg_identity_provision_device(f->id, &acme, NULL, code), VG_ERR_ROLLBACK);
	assert_string_equal(code, "");

	/* The way out: the store accepted as the device's (factory reset). */
	assert_int_equal(vg_secstore_accept(f->s->st, &dropped), VG_OK);
	vg_identity_close(&f->id);
	assert_int_equal(open_id(f), VG_OK);
	assert_int_equal(vg_identity_unknown(f->id), VG_OK);
	assert_true(vg_identity_provisioned(f->id));
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_SECURED);
	assert_debug_key(f, o.d1, o.d1_len);
	oem_free(&o);
}

/* SFR 4.2.1, 4.2.4: a provisioning record that exists but does not
 * authenticate (one tampered record; the store itself is accepted) is not
 * the absence of one: the lifecycle is unknown, and provisioning is
 * refused, so the OEM keys cannot be replaced through it. */
static void test_sfr421_unreadable_record_is_not_unprovisioned(void **state)
{
	struct fx *f = *state;
	char code[VG_SETUP_CODE_LEN + 1];
	struct oem o;
	vg_oem_keys k1, k2;

	oem_new(&o);
	k1 = (vg_oem_keys){o.d1, o.d1_len, o.r1, o.r1_len};
	k2 = (vg_oem_keys){o.d2, o.d2_len, o.r2, o.r2_len};
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k1, code), VG_OK);
	vg_identity_close(&f->id);
	vgt_stack_close(f->s);
	assert_int_equal(vgt_sql(f->s->db_path,
				 "UPDATE store_records SET blob = substr(blob, 1, 40) || "
				 "X'FF' || substr(blob, 42) WHERE ns = 'sys' AND name = 'identity'",
				 NULL, 0),
			 SQLITE_DONE);
	assert_int_equal(vgt_stack_open(f->s), VG_OK);
	assert_int_equal(vg_secstore_state(f->s->st), VG_OK);
	assert_int_equal(open_id(f), VG_OK);

	assert_false(vg_identity_provisioned(f->id));
	assert_int_equal(vg_identity_unknown(f->id), VG_ERR_INTEGRITY);
	assert_string_equal(vg_identity_unknown_why(f->id),
			    "the provisioning record cannot be read: integrity error");
	assert_int_equal(vg_identity_lifecycle(f->id), VG_PSA_LC_UNKNOWN);
	assert_int_equal(vg_identity_provision_device(f->id, &acme, &k2, code), VG_ERR_INTEGRITY);
	assert_string_equal(code, "");
	assert_sysrec(f, VG_SYS_DEBUG_KEY, o.d1, o.d1_len);
	assert_sysrec(f, VG_SYS_RELEASE_KEY, o.r1, o.r1_len);
	oem_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sfr423_unprovisioned_refuses_tokens, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_provision_once_and_persist, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr422_instance_id_is_ueid_of_attestation_key,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr423_token_claims_and_signature, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr423_changed_component_changes_measurement,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_implementation_id_per_product, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_provision_rejects_bad_strings, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_interrupted_provisioning_restarts_clean,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avs12_setup_code_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr422_csr_and_certificate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr431_debug_shows_in_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_provision_once_keys_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_interrupted_provisioning_redone_whole,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sfr431_oem_keys_only_at_provisioning, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_refused_store_lifecycle_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr421_unreadable_record_is_not_unprovisioned,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
