/*
 * fuzz_psa_token.c - libFuzzer harness for the PSA attestation token
 * verifier and decoder (SFR 4.2.3; a fleet back end verifies tokens that
 * come from the network). Each input is a whole token:
 *   - vg_psa_token_verify with the RFC 9783 example key (so mutations of the
 *     RFC token reach the claims parser only if the signature still holds,
 *     which it does not: this drives the envelope and signature paths), a
 *     nonce and a reference list;
 *   - vg_psa_token_decode, which parses the claims of any envelope without
 *     cryptography (the claims parser, all three profiles);
 *   - vg_psa_claims_to_json of what decoded.
 * Invariants: a failure leaves the claims zeroed; a success has claims that
 * re-verify consistently (profile set, sizes within bounds).
 * Seed corpus: fuzz/corpus/psa_token/ (the vectors of tests/vectors/psa/).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/psa_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SubjectPublicKeyInfo of the RFC 9783 Appendix A key (tfm-es-iak). */
static const uint8_t rfc_key[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x4e, 0x5e, 0x22, 0x09, 0x9e,
    0x3b, 0xce, 0xb4, 0x5b, 0x44, 0x6d, 0x13, 0x55, 0xfd, 0x1d, 0xc3, 0xb5, 0x45, 0x94, 0x7b, 0x6f,
    0xd7, 0xc1, 0xc8, 0x9d, 0x88, 0x67, 0x98, 0xc3, 0x72, 0x6e, 0x8f, 0x80, 0xd7, 0x0b, 0x84, 0x0b,
    0x25, 0x6a, 0xac, 0x34, 0xa6, 0x2e, 0xde, 0x10, 0x43, 0x36, 0x4f, 0x04, 0x40, 0x95, 0xf0, 0x03,
    0x47, 0x4b, 0x91, 0xe0, 0x18, 0x20, 0x92, 0xaf, 0xb1, 0x3f, 0x2e};

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void check_ok(const vg_psa_claims *c, vg_psa_profile p)
{
	FILE *devnull;

	if (p < VG_PSA_PROFILE_RFC9783 || p > VG_PSA_PROFILE_IOT_1 || !c->profile[0] ||
	    c->nonce_len > sizeof c->nonce || c->boot_seed_len > sizeof c->boot_seed ||
	    c->n_components > VG_PSA_MAX_COMPONENTS || c->instance_id[0] != 0x01)
		abort();
	devnull = fopen("/dev/null", "w");
	if (devnull) {
		if (vg_psa_claims_to_json(c, p, devnull) != VG_OK)
			abort();
		fclose(devnull);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ones[32] = {[0 ... 31] = 0x01};
	vg_psa_sw_component ref[1];
	vg_psa_verify_opts o = {
	    .nonce = ones, .nonce_len = sizeof ones, .reference = ref, .n_reference = 1};
	vg_psa_claims c;
	vg_psa_profile p;
	char why[128];
	vg_rc rc;

	memset(ref, 0, sizeof ref);
	memset(ref[0].measurement, 0x03, 32);
	ref[0].measurement_len = 32;

	rc = vg_psa_token_verify(data, size, rfc_key, sizeof rfc_key, &o, &c, &p, why, sizeof why);
	if (rc == VG_OK)
		check_ok(&c, p);
	else if (!is_zero(&c, sizeof c) || p != 0 || !why[0])
		abort();

	rc = vg_psa_token_decode(data, size, &c, &p, why, sizeof why);
	if (rc == VG_OK)
		check_ok(&c, p);
	else if (!is_zero(&c, sizeof c) || p != 0)
		abort();
	return 0;
}
