/*
 * fuzz_manifest.c - libFuzzer harness for the signed platform manifest
 * parser (SFR 4.2.5 secure initialization, AVS 1.1 signed updates: the
 * manifest arrives with an update and is read before it is trusted).
 * Each input is a whole manifest file:
 *   - vg_manifest_parse; a refusal must leave the manifest zeroed and a
 *     terminated, non-empty reason;
 *   - on success, vg_manifest_signed_bytes and vg_manifest_to_json, and the
 *     to_json output must parse again into a manifest with the same signed
 *     bytes, the same signatures and the same to_json output (what the
 *     signing tool writes, the device must read back bit for bit);
 *   - vg_manifest_verify with a fixed P-256 key (the seed valid.json is
 *     signed by its private key, so the signature path runs to the end),
 *     which must say VG_OK or VG_ERR_VERIFY_FAILED, and the same for the
 *     re-parsed manifest.
 * Seed corpus: fuzz/corpus/manifest/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SubjectPublicKeyInfo of the P-256 key that signed the seed corpus
 * (valid.json, tampered.json, dotdot_path.json, two_sigs.json). */
static const uint8_t manifest_key[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0xc5, 0x31, 0xf9, 0x05, 0x49,
    0x32, 0xc2, 0xc9, 0x61, 0x1c, 0xea, 0xce, 0x1c, 0xd0, 0x01, 0x20, 0x98, 0xf8, 0x93, 0xce, 0x77,
    0xff, 0x7d, 0xf8, 0x56, 0x40, 0x5c, 0x60, 0x43, 0xf8, 0x29, 0x10, 0x8a, 0xca, 0x88, 0xd7, 0x80,
    0x62, 0x3b, 0x06, 0x67, 0xdf, 0xf2, 0x14, 0xc2, 0xeb, 0x10, 0xe0, 0x42, 0x83, 0xdf, 0xf4, 0xba,
    0x3d, 0xf1, 0xdd, 0xb9, 0x44, 0xe2, 0xa3, 0xe2, 0x0e, 0x47, 0x1d};

/* Big (see manifest.h): static, libFuzzer runs one input at a time. */
static vg_manifest m, m2;

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static vg_rc verify(const vg_manifest *x)
{
	vg_rc rc = vg_manifest_verify(x, manifest_key, sizeof manifest_key);

	if (rc != VG_OK && rc != VG_ERR_VERIFY_FAILED)
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[VG_MANIFEST_WHY_LEN];
	char *sb = NULL, *sb2 = NULL, *js = NULL, *js2 = NULL;
	size_t sbl = 0, sbl2 = 0, jsl = 0, jsl2 = 0;
	vg_rc rc;

	memset(why, 'x', sizeof why);
	memset(&m, 0xa5, sizeof m);
	rc = vg_manifest_parse(data, size, &m, why);
	if (rc != VG_OK) {
		if ((rc != VG_ERR_INVALID && rc != VG_ERR_UNSUPPORTED) || !is_zero(&m, sizeof m) ||
		    !memchr(why, 0, sizeof why) || !why[0])
			abort();
		return 0;
	}
	if (m.n < 1 || m.n > VG_MANIFEST_MAX_COMPONENTS || m.n_sigs > VG_MANIFEST_MAX_SIGS)
		abort();

	if (vg_manifest_signed_bytes(&m, &sb, &sbl) != VG_OK || !sb || strlen(sb) != sbl)
		abort();
	if (vg_manifest_to_json(&m, &js, &jsl) != VG_OK || !js || strlen(js) != jsl)
		abort();

	/* What to_json writes parses back to the same signed bytes. */
	if (vg_manifest_parse((const uint8_t *)js, jsl, &m2, why) != VG_OK)
		abort();
	if (vg_manifest_signed_bytes(&m2, &sb2, &sbl2) != VG_OK || sbl2 != sbl ||
	    memcmp(sb, sb2, sbl) != 0)
		abort();
	if (m2.n_sigs != m.n_sigs)
		abort();
	for (size_t i = 0; i < m.n_sigs; i++)
		if (m2.sigs[i].sig_len != m.sigs[i].sig_len ||
		    memcmp(m2.sigs[i].keyid, m.sigs[i].keyid, 32) != 0 ||
		    memcmp(m2.sigs[i].sig, m.sigs[i].sig, m.sigs[i].sig_len) != 0)
			abort();
	if (vg_manifest_to_json(&m2, &js2, &jsl2) != VG_OK || jsl2 != jsl ||
	    memcmp(js, js2, jsl) != 0)
		abort();

	if (verify(&m) != verify(&m2))
		abort();

	free(sb);
	free(sb2);
	free(js);
	free(js2);
	return 0;
}
