/*
 * test_pcrpolicy.c - signed PCR policies (src/rot/pcrpolicy.h), without a
 * TPM: the file format, its signatures, the keys it takes. That the
 * digests are the TPM's own, and that the TPM enforces them, is
 * test_rot_tpm2's test_sfr4211_tpm2_root_key_sealed_to_measured_boot.
 *
 * SFR 4.2.5, 4.2.11: the policy file comes with a release's root file
 * system; every malformation is refused naming its line, never
 * half-accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/seal.h"
#include "helpers.h"
#include "rot/pcrpolicy.h"

struct fx {
	char dir[64];
	char key[VGT_PATH], pub[VGT_PATH];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char cmd[4 * VGT_PATH];

	if (!f || vgt_mkdtemp(f->dir) != 0)
		return -1;
	vgt_path(f->key, f->dir, "oem.pem");
	vgt_path(f->pub, f->dir, "oem.pub");
	(void)snprintf(cmd, sizeof cmd,
		       "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s && "
		       "openssl pkey -in %s -pubout -out %s",
		       f->key, f->key, f->pub);
	if (system(cmd) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vgt_rmrf(f->dir);
	free(f);
	return 0;
}

static vg_rc parse(const char *text, vg_pcrpol_entry **e, size_t *n, char *why)
{
	return vg_pcrpol_parse(text, strlen(text), e, n, why, 200);
}

/* SFR 4.2.11: a signed line parses back to its PCRs and values, and its
 * signature verifies (OpenSSL) over SHA-256 of the approved policy and
 * the policy reference. */
static void test_sfr4211_pcrpolicy_sign_and_parse(void **state)
{
	struct fx *f = *state;
	uint8_t v[VG_ROT_PCRS][32], approved[32], msg[32 + sizeof VG_PCRPOL_REF - 1];
	char line[2048], text[4200], why[200];
	vg_pcrpol_entry *e = NULL;
	EVP_MD_CTX *md;
	EVP_PKEY *pk;
	size_t n = 0;
	FILE *fp;

	memset(v, 0, sizeof v);
	memset(v[4], 0x44, 32);
	memset(v[9], 0x99, 32);
	assert_int_equal(vg_pcrpol_sign_line(f->key, 1u << 4 | 1u << 9, (const uint8_t(*)[32])v,
					     line, sizeof line),
			 VG_OK);
	assert_int_equal(strncmp(line, "sha256:4,9 " , 11), 0);
	(void)snprintf(text, sizeof text, "# a comment\n\n%s%s", line, line);
	assert_int_equal(parse(text, &e, &n, why), VG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].line, 3);
	assert_int_equal(e[1].line, 4);
	assert_int_equal(e[0].mask, 1u << 4 | 1u << 9);
	assert_memory_equal(e[0].values[4], v[4], 32);
	assert_memory_equal(e[0].values[9], v[9], 32);
	assert_int_equal(vg_pcrpol_differs(&e[0], (const uint8_t(*)[32])v), 0);
	v[9][0] ^= 1;
	assert_int_equal(vg_pcrpol_differs(&e[0], (const uint8_t(*)[32])v), 1u << 9);
	v[9][0] ^= 1;

	assert_int_equal(vg_pcrpol_approved(e[0].mask, (const uint8_t(*)[32])e[0].values, approved),
			 VG_OK);
	memcpy(msg, approved, 32);
	memcpy(msg + 32, VG_PCRPOL_REF, sizeof VG_PCRPOL_REF - 1);
	fp = fopen(f->pub, "r");
	assert_non_null(fp);
	pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	(void)fclose(fp);
	assert_non_null(pk);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestVerify(md, e[0].sig, e[0].sig_len, msg, sizeof msg), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	{
		uint8_t r[32], s[32];
		assert_int_equal(vg_pcrpol_sig_rs(e[0].sig, e[0].sig_len, r, s), VG_OK);
		assert_int_equal(vg_pcrpol_sig_rs(e[0].sig, e[0].sig_len - 1, r, s),
				 VG_ERR_INVALID);
	}
	free(e);
}

/* SFR 4.2.11: the approved policy is TPM2_PolicyPCR's update of a zero
 * digest: SHA-256(0^32 || 0x0000017F || TPML_PCR_SELECTION || SHA-256 of
 * the values), spelled out here byte by byte. */
static void test_sfr4211_pcrpolicy_approved_digest(void **state)
{
	uint8_t v[VG_ROT_PCRS][32], got[32], want[32], buf[78], inner[64];

	(void)state;
	memset(v, 0, sizeof v);
	memset(v[0], 0xa0, 32);
	memset(v[23], 0x23, 32);
	assert_int_equal(vg_pcrpol_approved(1u | 1u << 23, (const uint8_t(*)[32])v, got), VG_OK);
	memcpy(inner, v[0], 32);
	memcpy(inner + 32, v[23], 32);
	memset(buf, 0, 32);
	memcpy(buf + 32, "\x00\x00\x01\x7f" "\x00\x00\x00\x01" "\x00\x0b" "\x03" "\x01\x00\x80", 14);
	assert_int_equal(vg_sha256(inner, sizeof inner, buf + 46), VG_OK);
	assert_int_equal(vg_sha256(buf, sizeof buf, want), VG_OK);
	assert_memory_equal(got, want, 32);
	assert_int_equal(vg_pcrpol_approved(0, (const uint8_t(*)[32])v, got), VG_ERR_INVALID);
	assert_int_equal(vg_pcrpol_approved(1u << 24, (const uint8_t(*)[32])v, got),
			 VG_ERR_INVALID);
}

/* SFR 4.2.5 (hostile input): each malformation is refused with its line
 * and no entries. */
static void test_sfr425_pcrpolicy_rejects_malformed(void **state)
{
	struct fx *f = *state;
	uint8_t v[VG_ROT_PCRS][32];
	char good[2048], text[8192], why[200];
	const char *sp1, *sp2;
	vg_pcrpol_entry *e = (vg_pcrpol_entry *)1;
	size_t n = 9;
	/* Made from the good line "sha256:4,9 V4V9 SIG": {V} and {S} are its
	 * values and its signature. */
	static const char *const bad[] = {
	    "sha1:4,9 {V} {S}",                 /* another bank */
	    "sha256:9,4 {V} {S}",               /* not ascending */
	    "sha256:4,4 {V} {S}",               /* twice */
	    "sha256:4,24 {V} {S}",              /* beyond PCR 23 */
	    "sha256:04,9 {V} {S}",              /* leading zero */
	    "sha256:4, 9 {V} {S}",              /* a space */
	    "sha256:4,9, {V} {S}",              /* a trailing comma */
	    "sha256: {V} {S}",                  /* no PCR */
	    "sha256:4 {V} {S}",                 /* more values than PCRs */
	    "sha256:4,9,10 {V} {S}",            /* fewer */
	    "sha256:4,9 {V}A {S}",              /* an odd digit */
	    "sha256:4,9 {V} {S} 00",            /* a fourth field */
	    "sha256:4,9 {V}",                    /* no signature */
	    "sha256:4,9 {V} 3006020101020101zz", /* not hex */
	    "sha256:4,9  {V} {S}",              /* two spaces */
	    "sha256:4,9 {V} 30",                 /* a signature too short */
	    " sha256:4,9 {V} {S}",              /* a leading space */
	};

	memset(v, 0x5c, sizeof v);
	assert_int_equal(vg_pcrpol_sign_line(f->key, 1u << 4 | 1u << 9, (const uint8_t(*)[32])v,
					     good, sizeof good),
			 VG_OK);
	good[strcspn(good, "\n")] = '\0';
	sp1 = strchr(good, ' ');
	sp2 = strchr(sp1 + 1, ' ');
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char line[4096], vals[2 * 64 + 1];
		memcpy(vals, sp1 + 1, (size_t)(sp2 - sp1 - 1));
		vals[sp2 - sp1 - 1] = '\0';
		size_t len = 0;
		for (const char *p = bad[i]; *p && len < sizeof line - 300;) {
			const char *rep = strncmp(p, "{V}", 3) == 0   ? vals
					  : strncmp(p, "{S}", 3) == 0 ? sp2 + 1
								      : NULL;
			if (rep) {
				len += (size_t)snprintf(line + len, sizeof line - len, "%s", rep);
				p += 3;
			} else {
				line[len++] = *p++;
			}
		}
		line[len] = '\0';
		(void)snprintf(text, sizeof text, "# x\n%s\n", line);
		e = (vg_pcrpol_entry *)1;
		n = 9;
		if (parse(text, &e, &n, why) != VG_ERR_INVALID)
			fail_msg("accepted: %s", line);
		assert_null(e);
		assert_int_equal(n, 0);
		assert_non_null(strstr(why, "line 2"));
	}
	/* An upper-case digit: the writer's form is lower case. */
	(void)snprintf(text, sizeof text, "%s\n", good);
	text[12] = (char)(text[12] >= 'a' ? text[12] - 32 : text[12]);
	if (text[12] >= 'A' && text[12] <= 'F')
		assert_int_equal(parse(text, &e, &n, why), VG_ERR_INVALID);
	/* Nothing but comments, or nothing. */
	assert_int_equal(parse("# only\n\n", &e, &n, why), VG_ERR_INVALID);
	assert_int_equal(parse("", &e, &n, why), VG_ERR_INVALID);
	/* A NUL byte. */
	(void)snprintf(text, sizeof text, "%s\n", good);
	text[3] = '\0';
	assert_int_equal(vg_pcrpol_parse(text, strlen(good) + 1, &e, &n, why, sizeof why),
			 VG_ERR_INVALID);
	/* Too many entries, too large a file. */
	{
		size_t len = strlen(good), cap = (VG_PCRPOL_MAX_ENTRIES + 1) * (len + 1) + 1;
		char *big = malloc(cap > VG_PCRPOL_MAX_FILE + 2 ? cap : VG_PCRPOL_MAX_FILE + 2);
		assert_non_null(big);
		for (size_t i = 0; i <= VG_PCRPOL_MAX_ENTRIES; i++) {
			memcpy(big + i * (len + 1), good, len);
			big[i * (len + 1) + len] = '\n';
		}
		assert_int_equal(vg_pcrpol_parse(big, (VG_PCRPOL_MAX_ENTRIES + 1) * (len + 1), &e,
						 &n, why, sizeof why),
				 VG_ERR_TOO_LARGE);
		assert_int_equal(vg_pcrpol_parse(big, VG_PCRPOL_MAX_ENTRIES * (len + 1), &e, &n,
						 why, sizeof why),
				 VG_OK);
		assert_int_equal(n, VG_PCRPOL_MAX_ENTRIES);
		free(e);
		memset(big, '#', VG_PCRPOL_MAX_FILE + 1);
		assert_int_equal(vg_pcrpol_parse(big, VG_PCRPOL_MAX_FILE + 1, &e, &n, why,
						 sizeof why),
				 VG_ERR_TOO_LARGE);
		free(big);
	}
}

/* SFR 4.2.11: the policy key is an ECDSA P-256 public key; the signer
 * takes only a P-256 private key. */
static void test_sfr4211_pcrpolicy_keys(void **state)
{
	struct fx *f = *state;
	uint8_t x[32], y[32], v[VG_ROT_PCRS][32];
	char rsa[VGT_PATH], p384[VGT_PATH], junk[VGT_PATH], cmd[6 * VGT_PATH], line[2048];

	vgt_path(rsa, f->dir, "rsa.pem");
	vgt_path(p384, f->dir, "p384.pem");
	vgt_path(junk, f->dir, "junk.pem");
	(void)snprintf(cmd, sizeof cmd,
		       "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s && "
		       "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out %s && "
		       "echo junk >%s",
		       rsa, p384, junk);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(vg_pcrpol_key_load(f->pub, x, y), VG_OK);
	assert_int_equal(vg_pcrpol_key_load(f->key, x, y), VG_ERR_INVALID); /* not a public key */
	assert_int_equal(vg_pcrpol_key_load(junk, x, y), VG_ERR_INVALID);
	assert_int_equal(vg_pcrpol_key_load("/nonexistent", x, y), VG_ERR_IO);
	(void)snprintf(cmd, sizeof cmd, "openssl pkey -in %s -pubout -out %s.pub && openssl pkey -in %s -pubout -out %s.pub", rsa, rsa, p384, p384);
	assert_int_equal(system(cmd), 0);
	(void)snprintf(cmd, sizeof cmd, "%s.pub", rsa);
	assert_int_equal(vg_pcrpol_key_load(cmd, x, y), VG_ERR_UNSUPPORTED);
	(void)snprintf(cmd, sizeof cmd, "%s.pub", p384);
	assert_int_equal(vg_pcrpol_key_load(cmd, x, y), VG_ERR_UNSUPPORTED);
	memset(v, 1, sizeof v);
	assert_int_equal(vg_pcrpol_sign_line(rsa, 1, (const uint8_t(*)[32])v, line, sizeof line),
			 VG_ERR_UNSUPPORTED);
	assert_int_equal(vg_pcrpol_sign_line(p384, 1, (const uint8_t(*)[32])v, line, sizeof line),
			 VG_ERR_UNSUPPORTED);
	assert_int_equal(vg_pcrpol_sign_line(f->pub, 1, (const uint8_t(*)[32])v, line, sizeof line),
			 VG_ERR_INVALID);
	assert_int_equal(vg_pcrpol_sign_line(f->key, 0, (const uint8_t(*)[32])v, line, sizeof line),
			 VG_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sfr4211_pcrpolicy_sign_and_parse, setup, teardown),
	    cmocka_unit_test(test_sfr4211_pcrpolicy_approved_digest),
	    cmocka_unit_test_setup_teardown(test_sfr425_pcrpolicy_rejects_malformed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sfr4211_pcrpolicy_keys, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
