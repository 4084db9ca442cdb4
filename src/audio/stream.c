/* stream.c - encrypted audio streams: see include/voxguard/stream.h (the
 * format) and src/audio/stream_int.h. HPKE (audio/hpke.h) carries the
 * stream key to each recipient; SFrame (audio/sframe.h) carries the
 * frames. */
#include "audio/stream_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "audio/sframe.h"
#include "common/util.h"

/* The one suite this version writes and reads. */
#define HPKE_KDF     VG_HPKE_KDF_SHA256
#define HPKE_AEAD    VG_HPKE_AEAD_AES128GCM
#define SFRAME_SUITE VG_SFRAME_AES_128_GCM_SHA256_128
#define SFRAME_KID   0u
#define ENTRY_LEN(nenc) (VG_STREAM_KEY_ID_LEN + (nenc) + VG_STREAM_SEALED_LEN)

struct vg_stream_sender {
	vg_sframe_sender *sf;
};

struct vg_stream_receiver {
	vg_sframe_receiver *sf;
	char why[160];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- the header codec ---- */

VG_EXPORT vg_rc vg_stream_header_len(const uint8_t *prefix, size_t avail, size_t *len)
{
	size_t h;

	*len = 0;
	if (!prefix || avail < VG_STREAM_PREFIX_LEN)
		return VG_ERR_INVALID;
	if (memcmp(prefix, VG_STREAM_MAGIC, 4) != 0 || prefix[4] != VG_STREAM_VERSION)
		return VG_ERR_PROTOCOL;
	h = get16(prefix + 5);
	/* The smallest header has one X25519 entry. */
	if (h < VG_STREAM_FIXED_LEN + ENTRY_LEN(32u) || h > VG_STREAM_HDR_MAX)
		return VG_ERR_PROTOCOL;
	*len = h;
	return VG_OK;
}

vg_rc vg_stream_header_parse(const uint8_t *buf, size_t len, vg_stream_header *out)
{
	const uint8_t *p;
	size_t h = 0, nenc;

	memset(out, 0, sizeof *out);
	if (vg_stream_header_len(buf, len, &h) != VG_OK || h != len)
		goto bad;
	out->mode = buf[7];
	out->suite.kem = get16(buf + 8);
	out->suite.kdf = get16(buf + 10);
	out->suite.aead = get16(buf + 12);
	out->sframe_suite = get16(buf + 14);
	memcpy(out->stream_id, buf + 16, 16);
	out->n = buf[32];
	if ((out->mode != VG_HPKE_MODE_BASE && out->mode != VG_HPKE_MODE_AUTH) ||
	    (out->suite.kem != VG_HPKE_KEM_X25519_SHA256 &&
	     out->suite.kem != VG_HPKE_KEM_P256_SHA256) ||
	    out->suite.kdf != HPKE_KDF || out->suite.aead != HPKE_AEAD ||
	    out->sframe_suite != SFRAME_SUITE || out->n < 1 || out->n > VG_STREAM_MAX_RECIPIENTS)
		goto bad;
	nenc = vg_hpke_pk_len(out->suite.kem);
	if (len != VG_STREAM_FIXED_LEN + out->n * ENTRY_LEN(nenc))
		goto bad;
	p = buf + VG_STREAM_FIXED_LEN;
	for (size_t i = 0; i < out->n; i++) {
		vg_stream_entry *e = &out->e[i];
		memcpy(e->id, p, VG_STREAM_KEY_ID_LEN);
		p += VG_STREAM_KEY_ID_LEN;
		memcpy(e->enc, p, nenc);
		e->enc_len = nenc;
		p += nenc;
		memcpy(e->sealed, p, VG_STREAM_SEALED_LEN);
		p += VG_STREAM_SEALED_LEN;
		/* One entry per key: a repeated id would make "which entry is
		 * mine" ambiguous. */
		for (size_t k = 0; k < i; k++)
			if (memcmp(out->e[k].id, e->id, VG_STREAM_KEY_ID_LEN) == 0)
				goto bad;
	}
	return VG_OK;
bad:
	memset(out, 0, sizeof *out);
	return VG_ERR_PROTOCOL;
}

vg_rc vg_stream_header_encode(const vg_stream_header *h, uint8_t out[static VG_STREAM_HDR_MAX],
			      size_t *len)
{
	size_t nenc = vg_hpke_pk_len(h->suite.kem), total;
	uint8_t *p;

	*len = 0;
	if (!nenc || h->n < 1 || h->n > VG_STREAM_MAX_RECIPIENTS)
		return VG_ERR_INVALID;
	total = VG_STREAM_FIXED_LEN + h->n * ENTRY_LEN(nenc);
	memcpy(out, VG_STREAM_MAGIC, 4);
	out[4] = VG_STREAM_VERSION;
	put16(out + 5, (uint16_t)total);
	out[7] = h->mode;
	put16(out + 8, h->suite.kem);
	put16(out + 10, h->suite.kdf);
	put16(out + 12, h->suite.aead);
	put16(out + 14, h->sframe_suite);
	memcpy(out + 16, h->stream_id, 16);
	out[32] = (uint8_t)h->n;
	p = out + VG_STREAM_FIXED_LEN;
	for (size_t i = 0; i < h->n; i++) {
		if (h->e[i].enc_len != nenc)
			return VG_ERR_INVALID;
		memcpy(p, h->e[i].id, VG_STREAM_KEY_ID_LEN);
		p += VG_STREAM_KEY_ID_LEN;
		memcpy(p, h->e[i].enc, nenc);
		p += nenc;
		memcpy(p, h->e[i].sealed, VG_STREAM_SEALED_LEN);
		p += VG_STREAM_SEALED_LEN;
	}
	*len = total;
	return VG_OK;
}

vg_rc vg_stream_pub_parse(const uint8_t *spki, size_t spki_len, uint16_t *kem,
			  uint8_t pk[static VG_HPKE_MAX_PK], size_t *pk_len,
			  uint8_t id[static VG_STREAM_KEY_ID_LEN])
{
	const uint8_t *p = spki;
	EVP_PKEY *k = NULL;
	uint8_t *der = NULL, md[32];
	int dl;
	vg_rc rc = VG_ERR_INVALID;

	*kem = 0;
	*pk_len = 0;
	if (!spki || spki_len == 0 || spki_len > 1024)
		return VG_ERR_INVALID;
	k = d2i_PUBKEY(NULL, &p, (long)spki_len);
	if (!k || p != spki + spki_len)
		goto out;
	if (EVP_PKEY_is_a(k, "X25519"))
		*kem = VG_HPKE_KEM_X25519_SHA256;
	else if (EVP_PKEY_is_a(k, "EC"))
		*kem = VG_HPKE_KEM_P256_SHA256; /* vg_hpke_pk_to_raw checks the curve */
	else
		goto out;
	rc = vg_hpke_pk_to_raw(*kem, k, pk, pk_len);
	if (rc != VG_OK)
		goto out;
	/* The id is over OpenSSL's encoding of the key, so that the sender's
	 * file and the service's PEM give the same id. */
	dl = i2d_PUBKEY(k, &der);
	if (dl <= 0 || EVP_Digest(der, (size_t)dl, md, NULL, EVP_sha256(), NULL) != 1) {
		rc = VG_ERR_CRYPTO;
		goto out;
	}
	memcpy(id, md, VG_STREAM_KEY_ID_LEN);
out:
	if (rc != VG_OK)
		*kem = 0;
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return rc;
}

/* ---- keys ---- */

/* The SFrame base key: HKDF-SHA256(salt "", ikm = stream key, info =
 * "VGS1 sframe" || SHA-256(header), 32). */
static vg_rc sframe_base_key(const uint8_t key[static VG_STREAM_KEY_LEN], const uint8_t *header,
			     size_t header_len, uint8_t out[static 32])
{
	static const char label[] = "VGS1 sframe";
	uint8_t info[sizeof label - 1 + 32];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	vg_rc rc = VG_ERR_CRYPTO;

	EVP_KDF_free(kdf);
	memcpy(info, label, sizeof label - 1);
	if (!c || EVP_Digest(header, header_len, info + sizeof label - 1, NULL, EVP_sha256(),
			     NULL) != 1)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key,
						      VG_STREAM_KEY_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)"", 0);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(c, out, 32, params) == 1)
		rc = VG_OK;
out:
	EVP_KDF_CTX_free(c);
	if (rc != VG_OK)
		vg_wipe(out, 32);
	return rc;
}

vg_rc vg_stream_decap_local(void *ctx, uint16_t kem, const uint8_t *enc, size_t enc_len,
			    const uint8_t *pkS, size_t pkS_len,
			    uint8_t ss[static VG_HPKE_SECRET_LEN])
{
	vg_hpke_suite suite = {kem, HPKE_KDF, HPKE_AEAD};

	return vg_hpke_decap(&suite, enc, enc_len, ctx, pkS, pkS_len, ss);
}

vg_rc vg_stream_auth_encap_local(void *ctx, uint16_t kem, const uint8_t *pkR, size_t pkR_len,
				 uint8_t enc[static VG_HPKE_MAX_ENC], size_t *enc_len,
				 uint8_t ss[static VG_HPKE_SECRET_LEN])
{
	vg_hpke_suite suite = {kem, HPKE_KDF, HPKE_AEAD};

	return vg_hpke_encap(&suite, pkR, pkR_len, ctx, NULL, 0, enc, enc_len, ss);
}

/* ---- sender ---- */

/* Seals the stream key to one recipient: KEM (base or auth), key
 * schedule with info = the fixed header, Seal with aad = the key id. */
static vg_rc seal_entry(const vg_stream_header *h, const uint8_t *fixed, const uint8_t *pk,
			size_t pk_len, vg_stream_auth_encap_fn auth, void *auth_ctx,
			const uint8_t key[static VG_STREAM_KEY_LEN], vg_stream_entry *e)
{
	uint8_t ss[VG_HPKE_SECRET_LEN];
	vg_hpke_ctx *ctx = NULL;
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	vg_rc rc;

	rc = auth ? auth(auth_ctx, h->suite.kem, pk, pk_len, e->enc, &e->enc_len, ss)
		  : vg_hpke_encap(&h->suite, pk, pk_len, NULL, NULL, 0, e->enc, &e->enc_len, ss);
	if (rc == VG_OK && e->enc_len != vg_hpke_pk_len(h->suite.kem))
		rc = VG_ERR_PROTOCOL;
	if (rc == VG_OK)
		rc = vg_hpke_context_new(&h->suite, (vg_hpke_mode)h->mode, VG_HPKE_SENDER, ss,
					 sizeof ss, fixed, VG_STREAM_FIXED_LEN, NULL, 0, NULL, 0,
					 &ctx);
	vg_wipe(ss, sizeof ss);
	if (rc == VG_OK)
		rc = vg_hpke_seal(ctx, e->id, VG_STREAM_KEY_ID_LEN, key, VG_STREAM_KEY_LEN, &ct,
				  &ct_len);
	if (rc == VG_OK && ct_len != VG_STREAM_SEALED_LEN)
		rc = VG_ERR_INTERNAL;
	if (rc == VG_OK)
		memcpy(e->sealed, ct, VG_STREAM_SEALED_LEN);
	vg_free(ct, ct_len);
	vg_hpke_context_free(&ctx);
	return rc;
}

vg_rc vg_stream_sender_new_cb(const vg_stream_pub *to, size_t n, vg_stream_auth_encap_fn auth,
			      void *auth_ctx, uint8_t header[static VG_STREAM_HDR_MAX],
			      size_t *header_len, vg_stream_sender **out)
{
	vg_stream_header h;
	vg_stream_sender *s = NULL;
	uint8_t pks[VG_STREAM_MAX_RECIPIENTS][VG_HPKE_MAX_PK];
	size_t pk_lens[VG_STREAM_MAX_RECIPIENTS];
	uint8_t key[VG_STREAM_KEY_LEN], base[32];
	vg_rc rc;

	*out = NULL;
	*header_len = 0;
	if (!to || n < 1 || n > VG_STREAM_MAX_RECIPIENTS)
		return VG_ERR_INVALID;
	memset(&h, 0, sizeof h);
	h.mode = auth ? VG_HPKE_MODE_AUTH : VG_HPKE_MODE_BASE;
	h.suite = (vg_hpke_suite){0, HPKE_KDF, HPKE_AEAD};
	h.sframe_suite = SFRAME_SUITE;
	h.n = n;
	for (size_t i = 0; i < n; i++) {
		uint16_t kem = 0;
		rc = vg_stream_pub_parse(to[i].spki, to[i].spki_len, &kem, pks[i], &pk_lens[i],
					 h.e[i].id);
		if (rc != VG_OK)
			return rc;
		if (i > 0 && kem != h.suite.kem)
			return VG_ERR_INVALID; /* one KEM per stream */
		h.suite.kem = kem;
		for (size_t k = 0; k < i; k++)
			if (memcmp(h.e[k].id, h.e[i].id, VG_STREAM_KEY_ID_LEN) == 0)
				return VG_ERR_INVALID; /* the same recipient twice */
		h.e[i].enc_len = vg_hpke_pk_len(kem);
	}
	if (RAND_bytes(h.stream_id, sizeof h.stream_id) != 1 ||
	    RAND_priv_bytes(key, sizeof key) != 1)
		return VG_ERR_CRYPTO;
	/* The fixed part first: it is every entry's HPKE info. */
	rc = vg_stream_header_encode(&h, header, header_len);
	for (size_t i = 0; rc == VG_OK && i < n; i++)
		rc = seal_entry(&h, header, pks[i], pk_lens[i], auth, auth_ctx, key, &h.e[i]);
	if (rc == VG_OK)
		rc = vg_stream_header_encode(&h, header, header_len);
	if (rc == VG_OK)
		rc = sframe_base_key(key, header, *header_len, base);
	vg_wipe(key, sizeof key);
	if (rc == VG_OK) {
		s = calloc(1, sizeof *s);
		rc = s ? vg_sframe_sender_new(SFRAME_SUITE, base, sizeof base, SFRAME_KID,
					      h.stream_id, &s->sf)
		       : VG_ERR_NOMEM;
	}
	vg_wipe(base, sizeof base);
	if (rc != VG_OK) {
		vg_stream_sender_free(&s);
		vg_wipe(header, VG_STREAM_HDR_MAX);
		*header_len = 0;
		return rc;
	}
	*out = s;
	return VG_OK;
}

/* The service's AuthEncap with the caller's keystore key. */
struct svc_key {
	vg_client *c;
	const char *name;
};

static vg_rc svc_auth_encap(void *ctx, uint16_t kem, const uint8_t *pkR, size_t pkR_len,
			    uint8_t enc[static VG_HPKE_MAX_ENC], size_t *enc_len,
			    uint8_t ss[static VG_HPKE_SECRET_LEN])
{
	struct svc_key *k = ctx;

	return vg_key_auth_encap(k->c, k->name, kem, pkR, pkR_len, enc, enc_len, ss);
}

static vg_rc svc_decap(void *ctx, uint16_t kem, const uint8_t *enc, size_t enc_len,
		       const uint8_t *pkS, size_t pkS_len, uint8_t ss[static VG_HPKE_SECRET_LEN])
{
	struct svc_key *k = ctx;

	return vg_key_decap(k->c, k->name, kem, enc, enc_len, pkS, pkS_len, ss);
}

VG_EXPORT vg_rc vg_stream_sender_new(const vg_stream_pub *to, size_t n, vg_client *c,
				     const char *from_key,
				     uint8_t header[static VG_STREAM_HDR_MAX], size_t *header_len,
				     vg_stream_sender **out)
{
	struct svc_key k = {c, from_key};

	if (from_key && !c) {
		*out = NULL;
		*header_len = 0;
		return VG_ERR_INVALID;
	}
	return vg_stream_sender_new_cb(to, n, from_key ? svc_auth_encap : NULL, &k, header,
				       header_len, out);
}

static vg_rc seal(vg_stream_sender *s, const uint8_t *pt, size_t pt_len, bool final,
		  uint8_t *out, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (!s || !out || (!pt && pt_len))
		return VG_ERR_INVALID;
	if (pt_len > VG_STREAM_FRAME_MAX)
		return VG_ERR_TOO_LARGE;
	return vg_sframe_seal(s->sf, pt ? pt : (const uint8_t *)"", pt_len, final, out, cap,
			      out_len);
}

VG_EXPORT vg_rc vg_stream_seal_frame(vg_stream_sender *s, const uint8_t *pt, size_t pt_len,
				     uint8_t *out, size_t cap, size_t *out_len)
{
	return seal(s, pt, pt_len, false, out, cap, out_len);
}

VG_EXPORT vg_rc vg_stream_finish(vg_stream_sender *s, const uint8_t *pt, size_t pt_len,
				 uint8_t *out, size_t cap, size_t *out_len)
{
	return seal(s, pt, pt_len, true, out, cap, out_len);
}

VG_EXPORT void vg_stream_sender_free(vg_stream_sender **s)
{
	if (!s || !*s)
		return;
	vg_sframe_sender_free(&(*s)->sf);
	free(*s);
	*s = NULL;
}

/* ---- receiver ---- */

vg_rc vg_stream_receiver_new_cb(const uint8_t *my_spki, size_t my_spki_len,
				vg_stream_decap_fn decap, void *decap_ctx,
				const uint8_t *expected_sender, size_t expected_sender_len,
				const uint8_t *header, size_t header_len, vg_stream_receiver **out)
{
	vg_stream_header h;
	vg_stream_receiver *r = NULL;
	const vg_stream_entry *mine = NULL;
	uint8_t my_pk[VG_HPKE_MAX_PK], my_id[VG_STREAM_KEY_ID_LEN];
	uint8_t s_pk[VG_HPKE_MAX_PK], s_id[VG_STREAM_KEY_ID_LEN];
	uint8_t ss[VG_HPKE_SECRET_LEN], base[32];
	size_t my_pk_len = 0, s_pk_len = 0, key_len = 0;
	uint16_t my_kem = 0, s_kem = 0;
	vg_hpke_ctx *ctx = NULL;
	uint8_t *key = NULL;
	vg_rc rc;

	*out = NULL;
	rc = vg_stream_header_parse(header, header_len, &h);
	if (rc != VG_OK)
		return rc;
	rc = vg_stream_pub_parse(my_spki, my_spki_len, &my_kem, my_pk, &my_pk_len, my_id);
	if (rc != VG_OK)
		return rc;
	if (expected_sender) {
		rc = vg_stream_pub_parse(expected_sender, expected_sender_len, &s_kem, s_pk,
					 &s_pk_len, s_id);
		if (rc != VG_OK)
			return rc;
	}
	/* The mode is the one the caller expects: no downgrade to base mode
	 * when a sender is named, no unauthenticated acceptance of auth. */
	if ((h.mode == VG_HPKE_MODE_AUTH) != (expected_sender != NULL))
		return VG_ERR_VERIFY_FAILED;
	if (my_kem != h.suite.kem)
		return VG_ERR_NOT_FOUND; /* a key of another KEM is no recipient */
	if (expected_sender && s_kem != h.suite.kem)
		return VG_ERR_INTEGRITY; /* not the stream's sender */
	for (size_t i = 0; i < h.n; i++)
		if (memcmp(h.e[i].id, my_id, sizeof my_id) == 0)
			mine = &h.e[i];
	if (!mine)
		return VG_ERR_NOT_FOUND;
	rc = decap(decap_ctx, h.suite.kem, mine->enc, mine->enc_len,
		   expected_sender ? s_pk : NULL, s_pk_len, ss);
	if (rc == VG_ERR_CRYPTO || rc == VG_ERR_INVALID)
		rc = VG_ERR_INTEGRITY; /* a changed enc */
	if (rc == VG_OK)
		rc = vg_hpke_context_new(&h.suite, (vg_hpke_mode)h.mode, VG_HPKE_RECIPIENT, ss,
					 sizeof ss, header, VG_STREAM_FIXED_LEN, NULL, 0, NULL, 0,
					 &ctx);
	vg_wipe(ss, sizeof ss);
	if (rc == VG_OK)
		rc = vg_hpke_open(ctx, mine->id, VG_STREAM_KEY_ID_LEN, mine->sealed,
				  VG_STREAM_SEALED_LEN, &key, &key_len);
	vg_hpke_context_free(&ctx);
	if (rc == VG_OK && key_len != VG_STREAM_KEY_LEN)
		rc = VG_ERR_INTEGRITY;
	if (rc == VG_OK)
		rc = sframe_base_key(key, header, header_len, base);
	vg_free(key, key_len);
	if (rc == VG_OK) {
		r = calloc(1, sizeof *r);
		rc = r ? vg_sframe_receiver_new(SFRAME_SUITE, base, sizeof base, SFRAME_KID,
						h.stream_id, &r->sf)
		       : VG_ERR_NOMEM;
	}
	vg_wipe(base, sizeof base);
	if (rc != VG_OK) {
		vg_stream_receiver_free(&r);
		return rc;
	}
	*out = r;
	return VG_OK;
}

VG_EXPORT vg_rc vg_stream_receiver_new(vg_client *c, const char *key_name,
				       const uint8_t *expected_sender, size_t expected_sender_len,
				       const uint8_t *header, size_t header_len,
				       vg_stream_receiver **out)
{
	struct svc_key k = {c, key_name};
	char *pem = NULL;
	size_t pem_len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pub = NULL;
	uint8_t *der = NULL;
	int dl = 0;
	vg_rc rc;

	*out = NULL;
	if (!c || !key_name)
		return VG_ERR_INVALID;
	/* The header first: garbage is refused before the service is asked. */
	{
		vg_stream_header h;
		rc = vg_stream_header_parse(header, header_len, &h);
		if (rc != VG_OK)
			return rc;
	}
	rc = vg_key_public_pem(c, key_name, &pem, &pem_len);
	if (rc != VG_OK)
		return rc;
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	pub = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	dl = pub ? i2d_PUBKEY(pub, &der) : 0;
	if (dl <= 0) {
		rc = VG_ERR_PROTOCOL;
	} else {
		/* A key type that cannot receive streams (Ed25519, P-384): the
		 * key's policy, not a malformed argument. */
		uint8_t pk[VG_HPKE_MAX_PK], id[VG_STREAM_KEY_ID_LEN];
		size_t pk_len = 0;
		uint16_t kem = 0;
		rc = vg_stream_pub_parse(der, (size_t)dl, &kem, pk, &pk_len, id) == VG_OK
			 ? VG_OK
			 : VG_ERR_POLICY;
	}
	if (rc == VG_OK)
		rc = vg_stream_receiver_new_cb(der, (size_t)dl, svc_decap, &k, expected_sender,
					       expected_sender_len, header, header_len, out);
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
	BIO_free(bio);
	free(pem);
	return rc;
}

VG_EXPORT vg_rc vg_stream_frame_len(const uint8_t *prefix, size_t avail, size_t *len)
{
	return vg_sframe_wire_frame_len(prefix, avail, len);
}

VG_EXPORT vg_rc vg_stream_open_frame(vg_stream_receiver *r, const uint8_t *frame,
				     size_t frame_len, uint8_t *pt, size_t cap, size_t *pt_len,
				     unsigned *flags)
{
	vg_sframe_stats st;
	uint64_t kid = 0, ctr = 0;
	size_t hl = 0;
	vg_rc rc;

	*pt_len = 0;
	*flags = 0;
	if (!r || !frame || !pt)
		return VG_ERR_INVALID;
	r->why[0] = '\0';
	rc = vg_sframe_open(r->sf, frame, frame_len, pt, cap, pt_len, flags, NULL);
	switch (rc) {
	case VG_OK:
		break;
	case VG_ERR_REPLAY:
		vg_sframe_receiver_stats(r->sf, &st);
		/* The CTR is read again only to say which of the two it is. */
		if (frame_len > VG_SFRAME_WIRE_PREFIX &&
		    vg_sframe_header_decode(frame + VG_SFRAME_WIRE_PREFIX,
					    frame_len - VG_SFRAME_WIRE_PREFIX, &kid, &ctr,
					    &hl) == VG_OK &&
		    ctr + VG_SFRAME_WINDOW < st.highest)
			(void)snprintf(r->why, sizeof r->why,
				       "frame %llu is outside the replay window (the newest is "
				       "%llu, the window %u frames)",
				       (unsigned long long)ctr, (unsigned long long)st.highest,
				       VG_SFRAME_WINDOW);
		else
			(void)snprintf(r->why, sizeof r->why, "replayed frame (counter %llu)",
				       (unsigned long long)ctr);
		break;
	case VG_ERR_INTEGRITY:
		(void)snprintf(r->why, sizeof r->why,
			       "integrity error: a frame does not authenticate (tampered, or a "
			       "frame of another stream)");
		break;
	case VG_ERR_TOO_LARGE:
		(void)snprintf(r->why, sizeof r->why, "oversized frame");
		break;
	case VG_ERR_STATE:
		(void)snprintf(r->why, sizeof r->why, "a frame after the stream's final frame");
		break;
	case VG_ERR_PROTOCOL:
		(void)snprintf(r->why, sizeof r->why, "malformed frame");
		break;
	default:
		(void)snprintf(r->why, sizeof r->why, "%s", vg_rc_str(rc));
		break;
	}
	return rc;
}

VG_EXPORT const char *vg_stream_receiver_why(const vg_stream_receiver *r)
{
	return r ? r->why : "";
}

VG_EXPORT vg_rc vg_stream_receiver_end(const vg_stream_receiver *r, vg_stream_stats *stats)
{
	vg_sframe_stats st;

	if (stats)
		memset(stats, 0, sizeof *stats);
	if (!r)
		return VG_ERR_INVALID;
	vg_sframe_receiver_stats(r->sf, &st);
	if (stats) {
		stats->frames = st.frames;
		stats->missing = st.missing;
		stats->late = st.late;
		stats->refused = st.refused;
	}
	return vg_sframe_receiver_end(r->sf);
}

VG_EXPORT void vg_stream_receiver_free(vg_stream_receiver **r)
{
	if (!r || !*r)
		return;
	vg_sframe_receiver_free(&(*r)->sf);
	free(*r);
	*r = NULL;
}
