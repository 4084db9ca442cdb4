/*
 * signature.c - the provider's signatures: the private key is the
 * service's, so a signature is a request to the service.
 *
 * ECDSA (P-256, P-384): the digest (SHA-256, SHA-384 or SHA-512; nothing
 * weaker) is computed here with the application's other providers, then
 * sent to the service (VG_OP_KEY_SIGN_DIGEST); a plain sign takes a digest
 * the caller made. Ed25519 is signed whole (VG_OP_KEY_SIGN): TLS signs
 * small messages. Both answer the AlgorithmIdentifier (X.509, CSRs).
 *
 * Verification is the application's other providers' (the public key is
 * theirs to check): when OpenSSL fetches this provider's ECDSA or Ed25519
 * for a certificate's key (it may pick any provider's), the key is
 * imported here as a public key and the verification handed back to
 * them, so loading this provider never breaks certificate checks.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "provider/prov_local.h"

typedef struct vgp_sig {
	vgp_ctx *ctx;
	vgp_kind kind;
	vgp_key *key;      /* a copy of the key object (km_dup-like) */
	EVP_MD *md;        /* ECDSA: the digest */
	const char *alg;   /* its name for the service: "sha256", ... */
	EVP_MD_CTX *mdctx; /* ECDSA digest-sign in progress */
	EVP_MD_CTX *vmd;   /* a digest-verify, by the other providers */
} vgp_sig;

static void *newctx(void *provctx, vgp_kind kind)
{
	vgp_sig *s = calloc(1, sizeof *s);

	if (s) {
		s->ctx = provctx;
		s->kind = kind;
	}
	return s;
}

static void *ecdsa_newctx(void *provctx, const char *propq)
{
	(void)propq;
	return newctx(provctx, VGP_EC);
}

static void *ed_newctx(void *provctx, const char *propq)
{
	(void)propq;
	return newctx(provctx, VGP_ED25519);
}

static vgp_key *key_copy(const vgp_key *src)
{
	vgp_key *k = vgp_key_new(src->ctx, src->kind);

	if (!k)
		return NULL;
	if (src->pub && EVP_PKEY_up_ref(src->pub) != 1) {
		vgp_key_free(k);
		return NULL;
	}
	k->pub = src->pub;
	memcpy(k->name, src->name, sizeof k->name);
	return k;
}

static void freectx(void *vctx)
{
	vgp_sig *s = vctx;

	if (!s)
		return;
	vgp_key_free(s->key);
	EVP_MD_free(s->md);
	EVP_MD_CTX_free(s->mdctx);
	EVP_MD_CTX_free(s->vmd);
	free(s);
}

static void *dupctx(void *vctx)
{
	const vgp_sig *src = vctx;
	vgp_sig *s = newctx(src->ctx, src->kind);

	if (!s)
		return NULL;
	s->alg = src->alg;
	if ((src->key && !(s->key = key_copy(src->key))) ||
	    (src->md && (EVP_MD_up_ref(src->md) != 1 || !(s->md = src->md))) ||
	    (src->mdctx &&
	     (!(s->mdctx = EVP_MD_CTX_new()) || EVP_MD_CTX_copy_ex(s->mdctx, src->mdctx) != 1)) ||
	    (src->vmd &&
	     (!(s->vmd = EVP_MD_CTX_new()) || EVP_MD_CTX_copy_ex(s->vmd, src->vmd) != 1))) {
		freectx(s);
		return NULL;
	}
	return s;
}

/* The digest by name; only the SHA-2 digests the service signs. */
static int set_md(vgp_sig *s, const char *mdname)
{
	static const struct {
		const char *name, *alg;
	} ok[] = {{"SHA256", "sha256"}, {"SHA384", "sha384"}, {"SHA512", "sha512"}};
	EVP_MD *md = EVP_MD_fetch(s->ctx->libctx, mdname, VGP_OTHERS);

	if (!md)
		return 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
		if (EVP_MD_is_a(md, ok[i].name)) {
			EVP_MD_free(s->md);
			s->md = md;
			s->alg = ok[i].alg;
			return 1;
		}
	}
	EVP_MD_free(md);
	vgp_error(s->ctx, VGP_R_UNSUPPORTED,
		  "digest %s: the voxguard provider signs "
		  "SHA-256, SHA-384 or SHA-512 digests only",
		  mdname);
	return 0;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int init_key(vgp_sig *s, void *provkey, const OSSL_PARAM params[], bool sign)
{
	const vgp_key *k = provkey;

	if (!k || k->kind != s->kind || !k->pub)
		return 0;
	if (sign && !k->name[0]) {
		vgp_error(s->ctx, VGP_R_NO_PRIVATE, "a public key cannot sign");
		return 0;
	}
	vgp_key_free(s->key);
	s->key = key_copy(k);
	if (!s->key)
		return 0;
	return set_ctx_params(s, params);
}

static size_t max_size(const vgp_sig *s)
{
	int n = EVP_PKEY_get_size(s->key->pub);

	return n > 0 ? (size_t)n : 0;
}

/* Sends the digest to the service; sig NULL asks the size only. */
static int sign_digest(vgp_sig *s, unsigned char *sig, size_t *siglen, size_t sigsize,
		       const unsigned char *dgst, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	vg_rc rc;

	if (!sig) {
		*siglen = max_size(s);
		return *siglen > 0;
	}
	rc = vgp_sign_digest(s->ctx, s->key->name, s->alg, dgst, len, &out, &out_len);
	if (rc != VG_OK)
		return 0;
	if (out_len > sigsize) {
		vg_free(out, out_len);
		vgp_error(s->ctx, VGP_R_INTERNAL, "signature buffer too small");
		return 0;
	}
	memcpy(sig, out, out_len);
	*siglen = out_len;
	vg_free(out, out_len);
	return 1;
}

static int ecdsa_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
	vgp_sig *s = vctx;

	EVP_MD_CTX_free(s->mdctx);
	s->mdctx = NULL;
	return init_key(s, provkey, params, true);
}

static int ecdsa_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
		      const unsigned char *tbs, size_t tbslen)
{
	vgp_sig *s = vctx;

	if (!s->key)
		return 0;
	if (!s->md) {
		/* A precomputed digest of no named algorithm: its length says. */
		const char *by_len = tbslen == 32   ? "SHA256"
				     : tbslen == 48 ? "SHA384"
				     : tbslen == 64 ? "SHA512"
						    : NULL;
		if (!sig) {
			*siglen = max_size(s);
			return *siglen > 0;
		}
		if (!by_len || !set_md(s, by_len))
			return 0;
	}
	if (sig && tbslen != (size_t)EVP_MD_get_size(s->md)) {
		vgp_error(s->ctx, VGP_R_UNSUPPORTED, "the digest's length does not match %s",
			  EVP_MD_get0_name(s->md));
		return 0;
	}
	return sign_digest(s, sig, siglen, sigsize, tbs, tbslen);
}

static int ecdsa_digest_sign_init(void *vctx, const char *mdname, void *provkey,
				  const OSSL_PARAM params[])
{
	vgp_sig *s = vctx;

	EVP_MD_CTX_free(s->mdctx);
	s->mdctx = NULL;
	if (!init_key(s, provkey, params, true))
		return 0;
	if (!set_md(s, mdname && *mdname                      ? mdname
		       : EVP_PKEY_get_bits(s->key->pub) > 256 ? "SHA384"
							      : "SHA256"))
		return 0;
	if (!s->mdctx && !(s->mdctx = EVP_MD_CTX_new()))
		return 0;
	return EVP_DigestInit_ex2(s->mdctx, s->md, NULL);
}

static int ecdsa_digest_sign_update(void *vctx, const unsigned char *data, size_t len)
{
	vgp_sig *s = vctx;

	return s->mdctx ? EVP_DigestUpdate(s->mdctx, data, len) : 0;
}

static int ecdsa_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
	vgp_sig *s = vctx;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok;

	if (!s->mdctx || !s->key)
		return 0;
	if (!sig) {
		*siglen = max_size(s);
		return *siglen > 0;
	}
	if (EVP_DigestFinal_ex(s->mdctx, dgst, &n) != 1)
		return 0;
	ok = sign_digest(s, sig, siglen, sigsize, dgst, n);
	OPENSSL_cleanse(dgst, sizeof dgst);
	return ok;
}

static int ed_digest_sign_init(void *vctx, const char *mdname, void *provkey,
			       const OSSL_PARAM params[])
{
	vgp_sig *s = vctx;

	if (mdname && *mdname) {
		vgp_error(s->ctx, VGP_R_UNSUPPORTED, "Ed25519 takes no digest");
		return 0;
	}
	return init_key(s, provkey, params, true);
}

static int ed_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
			  const unsigned char *tbs, size_t tbslen)
{
	vgp_sig *s = vctx;
	uint8_t *out = NULL;
	size_t out_len = 0;

	if (!s->key)
		return 0;
	if (!sig) {
		*siglen = max_size(s);
		return *siglen > 0;
	}
	if (vgp_sign_message(s->ctx, s->key->name, tbs, tbslen, &out, &out_len) != VG_OK)
		return 0;
	if (out_len > sigsize) {
		vg_free(out, out_len);
		return 0;
	}
	memcpy(sig, out, out_len);
	*siglen = out_len;
	vg_free(out, out_len);
	return 1;
}

/* ---- verification: the other providers' ---- */

static int ecdsa_verify_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
	vgp_sig *s = vctx;

	EVP_MD_CTX_free(s->mdctx);
	s->mdctx = NULL;
	return init_key(s, provkey, params, false);
}

static int ecdsa_verify(void *vctx, const unsigned char *sig, size_t siglen,
			const unsigned char *tbs, size_t tbslen)
{
	vgp_sig *s = vctx;
	EVP_PKEY_CTX *pc;
	int ok = 0;

	if (!s->key)
		return 0;
	pc = EVP_PKEY_CTX_new_from_pkey(s->ctx->libctx, s->key->pub, VGP_OTHERS);
	if (pc && EVP_PKEY_verify_init(pc) == 1 &&
	    (!s->md || EVP_PKEY_CTX_set_signature_md(pc, s->md) == 1))
		ok = EVP_PKEY_verify(pc, sig, siglen, tbs, tbslen) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static int digest_verify_init(void *vctx, const char *mdname, void *provkey,
			      const OSSL_PARAM params[])
{
	vgp_sig *s = vctx;

	EVP_MD_CTX_free(s->vmd);
	s->vmd = NULL;
	if (!init_key(s, provkey, NULL, false))
		return 0;
	s->vmd = EVP_MD_CTX_new();
	return s->vmd &&
	       EVP_DigestVerifyInit_ex(s->vmd, NULL, mdname && *mdname ? mdname : NULL,
				       s->ctx->libctx, VGP_OTHERS, s->key->pub, params) == 1;
}

static int digest_verify_update(void *vctx, const unsigned char *data, size_t len)
{
	vgp_sig *s = vctx;

	return s->vmd ? EVP_DigestVerifyUpdate(s->vmd, data, len) : 0;
}

static int digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
	vgp_sig *s = vctx;

	return s->vmd ? EVP_DigestVerifyFinal(s->vmd, sig, siglen) == 1 : 0;
}

static int digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
			 const unsigned char *tbs, size_t tbslen)
{
	vgp_sig *s = vctx;

	return s->vmd ? EVP_DigestVerify(s->vmd, sig, siglen, tbs, tbslen) == 1 : 0;
}

/* The AlgorithmIdentifier of the signature (DER), for X.509 and CSRs. */
static int algorithm_id(const vgp_sig *s, OSSL_PARAM *p)
{
	X509_ALGOR *a = X509_ALGOR_new();
	unsigned char *der = NULL;
	int nid = NID_undef, n = -1, ok = 0;

	if (!a)
		return 0;
	if (s->kind == VGP_ED25519)
		nid = NID_ED25519;
	else if (!s->md ||
		 !OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(s->md), NID_X9_62_id_ecPublicKey))
		nid = NID_undef;
	if (nid != NID_undef && X509_ALGOR_set0(a, OBJ_nid2obj(nid), V_ASN1_UNDEF, NULL) == 1)
		n = i2d_X509_ALGOR(a, &der);
	if (n > 0)
		ok = OSSL_PARAM_set_octet_string(p, der, (size_t)n);
	OPENSSL_free(der);
	X509_ALGOR_free(a);
	return ok;
}

static int get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	vgp_sig *s = vctx;
	OSSL_PARAM *p;

	if (!s)
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
	if (p && !algorithm_id(s, p))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p && s->md && !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(s->md)))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST_SIZE);
	if (p && s->md && !OSSL_PARAM_set_size_t(p, (size_t)EVP_MD_get_size(s->md)))
		return 0;
	return 1;
}

static const OSSL_PARAM *ecdsa_gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_size_t(OSSL_SIGNATURE_PARAM_DIGEST_SIZE, NULL),
	    OSSL_PARAM_END,
	};
	(void)vctx;
	(void)provctx;
	return t;
}

static const OSSL_PARAM *ed_gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)vctx;
	(void)provctx;
	return t;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	vgp_sig *s = vctx;
	const OSSL_PARAM *p;
	const char *mdname = NULL;

	if (!s)
		return 0;
	if (!params)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p) {
		if (s->kind != VGP_EC || s->mdctx || !OSSL_PARAM_get_utf8_string_ptr(p, &mdname))
			return 0; /* no digest change in the middle of a digest-sign */
		return set_md(s, mdname);
	}
	return 1;
}

static const OSSL_PARAM *ecdsa_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)vctx;
	(void)provctx;
	return t;
}

static const OSSL_PARAM *ed_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM t[] = {OSSL_PARAM_END};
	(void)vctx;
	(void)provctx;
	return t;
}

#define F(id, fn)                                              \
	{                                                      \
		OSSL_FUNC_SIGNATURE_##id, (void (*)(void))(fn) \
	}
const OSSL_DISPATCH vgp_ecdsa_signature_functions[] = {
    F(NEWCTX, ecdsa_newctx),
    F(FREECTX, freectx),
    F(DUPCTX, dupctx),
    F(SIGN_INIT, ecdsa_sign_init),
    F(SIGN, ecdsa_sign),
    F(DIGEST_SIGN_INIT, ecdsa_digest_sign_init),
    F(DIGEST_SIGN_UPDATE, ecdsa_digest_sign_update),
    F(DIGEST_SIGN_FINAL, ecdsa_digest_sign_final),
    F(VERIFY_INIT, ecdsa_verify_init),
    F(VERIFY, ecdsa_verify),
    F(DIGEST_VERIFY_INIT, digest_verify_init),
    F(DIGEST_VERIFY_UPDATE, digest_verify_update),
    F(DIGEST_VERIFY_FINAL, digest_verify_final),
    F(GET_CTX_PARAMS, get_ctx_params),
    F(GETTABLE_CTX_PARAMS, ecdsa_gettable_ctx_params),
    F(SET_CTX_PARAMS, set_ctx_params),
    F(SETTABLE_CTX_PARAMS, ecdsa_settable_ctx_params),
    {0, NULL},
};

const OSSL_DISPATCH vgp_ed25519_signature_functions[] = {
    F(NEWCTX, ed_newctx),
    F(FREECTX, freectx),
    F(DUPCTX, dupctx),
    F(DIGEST_SIGN_INIT, ed_digest_sign_init),
    F(DIGEST_SIGN, ed_digest_sign),
    F(DIGEST_VERIFY_INIT, digest_verify_init),
    F(DIGEST_VERIFY, digest_verify),
    F(GET_CTX_PARAMS, get_ctx_params),
    F(GETTABLE_CTX_PARAMS, ed_gettable_ctx_params),
    F(SET_CTX_PARAMS, set_ctx_params),
    F(SETTABLE_CTX_PARAMS, ed_settable_ctx_params),
    {0, NULL},
};
#undef F
