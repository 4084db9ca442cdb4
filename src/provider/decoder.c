/*
 * decoder.c - the provider's decoders for the PEM key reference file
 * (provider.h): "VOXGUARD KEY REFERENCE" PEM -> its body (structure
 * "voxguard") -> the key, by reference. So an application that takes
 * only a key file (curl --key, nginx ssl_certificate_key) reads a
 * reference and signs through the service, once the provider is enabled
 * in openssl.cnf. The same two steps as pkcs11-provider's and
 * tpm2-openssl's key files: PEM to DER first, then DER to a key of each
 * type, which OpenSSL 3.0's decoder chain needs.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "provider/prov_local.h"

static void *dec_newctx(void *provctx)
{
	return provctx; /* the decoders keep no state of their own */
}

static void dec_freectx(void *vctx)
{
	(void)vctx;
}

/* PEM -> DER: only our label; anything else is someone else's. */
static int pem_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *object_cb,
		      void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	vgp_ctx *ctx = vctx;
	BIO *in = BIO_new_from_core_bio(ctx->libctx, cin);
	char *label = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	int ok = 1;

	(void)selection;
	(void)pw_cb;
	(void)pw_cbarg;
	if (!in)
		return 0;
	if (PEM_read_bio(in, &label, &header, &data, &len) > 0 &&
	    strcmp(label, VG_KEYREF_PEM_LABEL) == 0 && len > 0 && len <= (long)VG_KEYREF_MAX) {
		OSSL_PARAM params[3];
		params[0] =
		    OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, data, (size_t)len);
		params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
							     (char *)VGP_DER_STRUCTURE, 0);
		params[2] = OSSL_PARAM_construct_end();
		ok = object_cb(params, object_cbarg);
	}
	OPENSSL_free(label);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(in);
	return ok;
}

/* DER (a key reference body) -> the key, when it is of `kind`. */
static int ref_decode(vgp_ctx *ctx, vgp_kind kind, OSSL_CORE_BIO *cin, OSSL_CALLBACK *object_cb,
		      void *object_cbarg)
{
	BIO *in = BIO_new_from_core_bio(ctx->libctx, cin);
	uint8_t body[VG_KEYREF_MAX + 1];
	char name[VG_MAX_NAME_LEN + 1];
	size_t len = 0;
	vgp_key *k;
	int n, ok;

	if (!in)
		return 0;
	/* At most one byte more than a reference can be: more is not one. */
	while (len < sizeof body && (n = BIO_read(in, body + len, (int)(sizeof body - len))) > 0)
		len += (size_t)n;
	BIO_free(in);
	if (vg_keyref_decode(body, len, name) != VG_OK)
		return 1; /* not a key reference: empty-handed, not an error */
	k = vgp_key_load_name(ctx, name);
	if (!k)
		return 0; /* a reference the service refuses: its reason is queued */
	ok = k->kind == kind ? vgp_hand_key(k, object_cb, object_cbarg) : 1;
	vgp_key_free(k);
	return ok;
}

static int ec_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *object_cb,
		     void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	(void)selection;
	(void)pw_cb;
	(void)pw_cbarg;
	return ref_decode(vctx, VGP_EC, cin, object_cb, object_cbarg);
}

static int ed_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *object_cb,
		     void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	(void)selection;
	(void)pw_cb;
	(void)pw_cbarg;
	return ref_decode(vctx, VGP_ED25519, cin, object_cb, object_cbarg);
}

#define F(id, fn)                                            \
	{                                                    \
		OSSL_FUNC_DECODER_##id, (void (*)(void))(fn) \
	}
const OSSL_DISPATCH vgp_pem_decoder_functions[] = {
    F(NEWCTX, dec_newctx),
    F(FREECTX, dec_freectx),
    F(DECODE, pem_decode),
    {0, NULL},
};

const OSSL_DISPATCH vgp_ec_decoder_functions[] = {
    F(NEWCTX, dec_newctx),
    F(FREECTX, dec_freectx),
    F(DECODE, ec_decode),
    {0, NULL},
};

const OSSL_DISPATCH vgp_ed25519_decoder_functions[] = {
    F(NEWCTX, dec_newctx),
    F(FREECTX, dec_freectx),
    F(DECODE, ed_decode),
    {0, NULL},
};
#undef F
