/*
 * fuzz_hpke.c - libFuzzer harness for HPKE decapsulation and open
 * (src/audio/hpke.h; SFR 4.2.8 note 7: a received stream's header and
 * frames are attacker bytes). The input is
 *
 *   byte 0          the set-up: bit 0 KEM (0 X25519, 1 P-256); bits 1-2 the
 *                   AEAD (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305; 3 is
 *                   AES-128-GCM too); bit 3 auth mode (else base); bit 4
 *                   HKDF-SHA512 (else SHA-256); bit 5: also open a second
 *                   time (the sequence number advanced only on success)
 *   Nenc bytes      enc (32 for X25519, 65 for P-256)
 *   1 byte          n, the length of the aad
 *   n bytes         aad
 *   the rest        ct
 *
 * The recipient's and the sender's keys are DeriveKeyPair of fixed seeds.
 * enc goes through vg_hpke_pk_from_raw for both KEMs and through decap;
 * then the key schedule and open. No input may crash; an open that
 * succeeds must return exactly ct - tag bytes, and a failed one none.
 *
 * Seed corpus: fuzz/corpus/hpke/, valid inputs (each opens) for every
 * set-up, made by this file built with -DVG_HPKE_SEED_MAIN (see the end).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audio/hpke.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t seed_r[32] = "voxguard fuzz_hpke recipient key";
static const uint8_t seed_s[32] = "voxguard fuzz_hpke sender key...";
static const uint8_t info[] = "voxguard fuzz_hpke";

static EVP_PKEY *keys[2][2]; /* [kem index][0 recipient, 1 sender] */
static uint8_t pks[2][VG_HPKE_MAX_PK];

static uint16_t kem_of(unsigned i)
{
	return i ? VG_HPKE_KEM_P256_SHA256 : VG_HPKE_KEM_X25519_SHA256;
}

static void init_keys(void)
{
	size_t n;

	if (keys[0][0])
		return;
	for (unsigned k = 0; k < 2; k++) {
		if (vg_hpke_derive_keypair(kem_of(k), seed_r, sizeof seed_r, &keys[k][0]) !=
			VG_OK ||
		    vg_hpke_derive_keypair(kem_of(k), seed_s, sizeof seed_s, &keys[k][1]) !=
			VG_OK ||
		    vg_hpke_pk_to_raw(kem_of(k), keys[k][1], pks[k], &n) != VG_OK)
			abort();
	}
}

static void suite_of(uint8_t sel, vg_hpke_suite *s, vg_hpke_mode *mode)
{
	static const uint16_t aeads[4] = {VG_HPKE_AEAD_AES128GCM, VG_HPKE_AEAD_AES256GCM,
					  VG_HPKE_AEAD_CHACHA20, VG_HPKE_AEAD_AES128GCM};

	s->kem = kem_of(sel & 1u);
	s->aead = aeads[(sel >> 1) & 3u];
	s->kdf = (sel & 0x10u) ? VG_HPKE_KDF_SHA512 : VG_HPKE_KDF_SHA256;
	*mode = (sel & 0x08u) ? VG_HPKE_MODE_AUTH : VG_HPKE_MODE_BASE;
}

static void try_open(vg_hpke_ctx *r, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
		     size_t ct_len)
{
	uint8_t *pt = (uint8_t *)&pt;
	size_t pt_len = 12345;
	uint64_t seq = vg_hpke_context_seq(r);
	vg_rc rc = vg_hpke_open(r, aad, aad_len, ct, ct_len, &pt, &pt_len);

	if (rc == VG_OK) {
		if (!pt || pt_len != ct_len - VG_HPKE_TAG_LEN || vg_hpke_context_seq(r) != seq + 1)
			abort();
		vg_free(pt, pt_len);
	} else if (pt || pt_len || vg_hpke_context_seq(r) != seq) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_hpke_suite suite;
	vg_hpke_mode mode;
	uint8_t ss[VG_HPKE_SECRET_LEN];
	const uint8_t *enc, *aad, *ct;
	size_t nenc, aad_len, ct_len;
	unsigned k;
	vg_hpke_ctx *r = NULL;
	EVP_PKEY *pk = NULL;

	init_keys();
	if (size < 1)
		return 0;
	suite_of(data[0], &suite, &mode);
	k = data[0] & 1u;
	/* any prefix of the rest as a public key of either KEM */
	for (unsigned kk = 0; kk < 2; kk++) {
		size_t n = size - 1 < VG_HPKE_MAX_PK + 1 ? size - 1 : VG_HPKE_MAX_PK + 1;
		if (vg_hpke_pk_from_raw(kem_of(kk), data + 1, n, &pk) == VG_OK) {
			if (n != vg_hpke_pk_len(kem_of(kk)))
				abort();
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	nenc = vg_hpke_pk_len(suite.kem);
	if (size < 1 + nenc + 1)
		return 0;
	enc = data + 1;
	aad_len = data[1 + nenc];
	if (size < 2 + nenc + aad_len)
		return 0;
	aad = data + 2 + nenc;
	ct = aad + aad_len;
	ct_len = size - 2 - nenc - aad_len;

	if (vg_hpke_decap(&suite, enc, nenc, keys[k][0], mode == VG_HPKE_MODE_AUTH ? pks[k] : NULL,
			  mode == VG_HPKE_MODE_AUTH ? vg_hpke_pk_len(suite.kem) : 0, ss) != VG_OK) {
		for (size_t i = 0; i < sizeof ss; i++)
			if (ss[i])
				abort(); /* a failed decap leaves no secret */
		return 0;
	}
	if (vg_hpke_context_new(&suite, mode, VG_HPKE_RECIPIENT, ss, sizeof ss, info, sizeof info,
				NULL, 0, NULL, 0, &r) != VG_OK)
		abort();
	vg_wipe(ss, sizeof ss);
	try_open(r, aad, aad_len, ct, ct_len);
	if (data[0] & 0x20u)
		try_open(r, aad, aad_len, ct, ct_len);
	vg_hpke_context_free(&r);
	return 0;
}

#ifdef VG_HPKE_SEED_MAIN
/* The seed corpus: for each set-up byte (KEM, AEAD, mode, KDF), one input
 * that opens. Build and run from the source tree after `make build`:
 *   cc -DVG_HPKE_SEED_MAIN -D_GNU_SOURCE -Iinclude -Isrc fuzz/fuzz_hpke.c \
 *      build/libvoxguard.a -lcrypto -o /tmp/hpke_seed && /tmp/hpke_seed fuzz/corpus/hpke
 */
int main(int argc, char **argv)
{
	static const uint8_t aad[] = "sframe header";
	static const uint8_t msg[] = "20 ms of audio, 48 kHz stereo (not really)";

	if (argc != 2)
		return 2;
	init_keys();
	for (unsigned sel = 0; sel < 0x20; sel++) {
		vg_hpke_suite suite;
		vg_hpke_mode mode;
		uint8_t enc[VG_HPKE_MAX_ENC], pkR[VG_HPKE_MAX_PK], *ct = NULL;
		size_t enc_len, pkR_len, ct_len;
		vg_hpke_ctx *s = NULL;
		char path[512];
		FILE *f;
		uint8_t b0 = (uint8_t)sel;

		if (((sel >> 1) & 3u) == 3u)
			continue; /* the same AEAD as 0 */
		suite_of(b0, &suite, &mode);
		if (vg_hpke_pk_to_raw(suite.kem, keys[sel & 1u][0], pkR, &pkR_len) != VG_OK ||
		    vg_hpke_setup_sender(&suite, mode, pkR, pkR_len,
					 mode == VG_HPKE_MODE_AUTH ? keys[sel & 1u][1] : NULL, info,
					 sizeof info, NULL, 0, NULL, 0, enc, &enc_len,
					 &s) != VG_OK ||
		    vg_hpke_seal(s, aad, sizeof aad, msg, sizeof msg, &ct, &ct_len) != VG_OK)
			return 1;
		snprintf(path, sizeof path, "%s/open_%02x", argv[1], sel);
		f = fopen(path, "wb");
		if (!f)
			return 1;
		fwrite(&b0, 1, 1, f);
		fwrite(enc, 1, enc_len, f);
		fputc((int)sizeof aad, f);
		fwrite(aad, 1, sizeof aad, f);
		fwrite(ct, 1, ct_len, f);
		fclose(f);
		vg_free(ct, ct_len);
		vg_hpke_context_free(&s);
	}
	return 0;
}
#endif
