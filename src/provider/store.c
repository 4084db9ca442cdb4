/*
 * store.c - the provider's STORE loader for the scheme "voxguard": the URI
 * voxguard:key=NAME (provider.h, strictly parsed) gives one object, the
 * key, whose private part is the service's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include "provider/prov_local.h"

typedef struct vgp_store {
	vgp_ctx *ctx;
	char name[VG_MAX_NAME_LEN + 1];
	int expect; /* OSSL_STORE_INFO_*; 0: anything */
	bool eof;
} vgp_store;

static void *st_open(void *provctx, const char *uri)
{
	vgp_store *st;
	char name[VG_MAX_NAME_LEN + 1];

	if (!uri || vg_provider_parse_uri(uri, strlen(uri), name) != VG_OK) {
		vgp_set_last_rc(VG_ERR_INVALID);
		vgp_error(provctx, VGP_R_BAD_URI,
			  "a voxguard key URI is exactly voxguard:key=NAME");
		return NULL;
	}
	st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->ctx = provctx;
	memcpy(st->name, name, sizeof st->name);
	return st;
}

static const OSSL_PARAM *st_settable_ctx_params(void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
	    OSSL_PARAM_END,
	};
	(void)provctx;
	return t;
}

static int st_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
	vgp_store *st = loaderctx;
	const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);

	if (p && !OSSL_PARAM_get_int(p, &st->expect))
		return 0;
	return 1;
}

/* Hands OpenSSL key k by reference (the reference is copied by value). */
int vgp_hand_key(const vgp_key *k, OSSL_CALLBACK *object_cb, void *object_cbarg)
{
	struct vgp_ref ref;
	int type = OSSL_OBJECT_PKEY;
	OSSL_PARAM params[4];
	int ok;

	if (vgp_ref_make(k, &ref) != VG_OK)
		return 0;
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
						     (char *)vgp_key_type_name(k), 0);
	params[2] =
	    OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &ref, sizeof ref);
	params[3] = OSSL_PARAM_construct_end();
	ok = object_cb(params, object_cbarg);
	OPENSSL_cleanse(&ref, sizeof ref);
	return ok;
}

static int st_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
		   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	vgp_store *st = loaderctx;
	vgp_key *k;
	int ok;

	(void)pw_cb;
	(void)pw_cbarg;
	if (st->eof)
		return 0;
	st->eof = true;
	/* Keys only: a certificate or a CRL is not ours to give. */
	if (st->expect != 0 && st->expect != OSSL_STORE_INFO_PKEY &&
	    st->expect != OSSL_STORE_INFO_PUBKEY)
		return 1;
	k = vgp_key_load_name(st->ctx, st->name);
	if (!k)
		return 0;
	ok = vgp_hand_key(k, object_cb, object_cbarg);
	vgp_key_free(k);
	return ok;
}

static int st_eof(void *loaderctx)
{
	return ((vgp_store *)loaderctx)->eof;
}

static int st_close(void *loaderctx)
{
	free(loaderctx);
	return 1;
}

#define F(id, fn)                                          \
	{                                                  \
		OSSL_FUNC_STORE_##id, (void (*)(void))(fn) \
	}
const OSSL_DISPATCH vgp_store_functions[] = {
    F(OPEN, st_open),
    F(SETTABLE_CTX_PARAMS, st_settable_ctx_params),
    F(SET_CTX_PARAMS, st_set_ctx_params),
    F(LOAD, st_load),
    F(EOF, st_eof),
    F(CLOSE, st_close),
    {0, NULL},
};
#undef F
