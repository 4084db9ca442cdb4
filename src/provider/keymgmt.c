/*
 * keymgmt.c - the provider's key objects (EC P-256/P-384, Ed25519).
 *
 * A key object is a name and the public key. It exports its public key
 * only: asked for the private key (OpenSSL 3.0 asks when it tries a
 * signature of another provider first), export fails, cleanly, and 3.0's
 * signature fetch then falls back to this provider's own. It imports
 * public keys only (a certificate's, to compare with one of ours) and
 * refuses any private key handed to it: this provider holds none.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "provider/prov_local.h"

vgp_kind vgp_kind_of(const EVP_PKEY *pub)
{
	char group[32];
	size_t gl = 0;

	if (EVP_PKEY_is_a(pub, "ED25519"))
		return VGP_ED25519;
	if (!EVP_PKEY_is_a(pub, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					   &gl) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0 ? VGP_EC : 0;
}

const char *vgp_key_type_name(const vgp_key *k)
{
	return k->kind == VGP_ED25519 ? "ED25519" : "EC";
}

vgp_key *vgp_key_new(vgp_ctx *ctx, vgp_kind kind)
{
	vgp_key *k = calloc(1, sizeof *k);

	if (k) {
		k->ctx = ctx;
		k->kind = kind;
	}
	return k;
}

void vgp_key_free(vgp_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pub);
	free(k);
}

vgp_key *vgp_key_load_name(vgp_ctx *ctx, const char *name)
{
	EVP_PKEY *pub = NULL;
	char why[160];
	vgp_key *k;
	vg_rc rc = vgp_fetch_public(ctx, name, &pub, why, sizeof why);

	vgp_set_last_rc(rc);
	if (rc != VG_OK) {
		vgp_error_rc(ctx, "voxguard key", rc, why);
		return NULL;
	}
	k = vgp_key_new(ctx, vgp_kind_of(pub));
	if (!k) {
		EVP_PKEY_free(pub);
		return NULL;
	}
	k->pub = pub;
	(void)snprintf(k->name, sizeof k->name, "%s", name);
	return k;
}

/* ---- the reference the store and decoder hand to load() ---- */

vg_rc vgp_ref_make(const vgp_key *k, struct vgp_ref *ref)
{
	unsigned char *p = ref->pub;
	int n;

	memset(ref, 0, sizeof *ref);
	memcpy(ref->magic, VGP_REF_MAGIC, sizeof ref->magic);
	ref->ctx = k->ctx;
	ref->kind = (uint32_t)k->kind;
	memcpy(ref->name, k->name, sizeof ref->name);
	n = i2d_PUBKEY(k->pub, NULL);
	if (n <= 0 || (size_t)n > sizeof ref->pub || i2d_PUBKEY(k->pub, &p) != n)
		return VG_ERR_CRYPTO;
	ref->pub_len = (uint16_t)n;
	return VG_OK;
}

static void *km_load(const void *reference, size_t size, vgp_kind kind)
{
	const struct vgp_ref *ref = reference;
	const unsigned char *p;
	vgp_key *k;

	if (!ref || size != sizeof *ref || memcmp(ref->magic, VGP_REF_MAGIC, sizeof ref->magic) ||
	    ref->kind != (uint32_t)kind ||
	    ref->pub_len > sizeof ref->pub || ref->name[sizeof ref->name - 1] != '\0' ||
	    !vg_name_valid(ref->name, strlen(ref->name)))
		return NULL;
	k = vgp_key_new(ref->ctx, (vgp_kind)ref->kind);
	if (!k)
		return NULL;
	p = ref->pub;
	k->pub = d2i_PUBKEY_ex(NULL, &p, ref->pub_len, ref->ctx->libctx, VGP_OTHERS);
	if (!k->pub || vgp_kind_of(k->pub) != k->kind) {
		vgp_key_free(k);
		return NULL;
	}
	memcpy(k->name, ref->name, sizeof k->name);
	return k;
}

static void *ec_load(const void *reference, size_t size)
{
	return km_load(reference, size, VGP_EC);
}

static void *ed_load(const void *reference, size_t size)
{
	return km_load(reference, size, VGP_ED25519);
}

static void *ec_new(void *provctx)
{
	return vgp_key_new(provctx, VGP_EC);
}

static void *ed_new(void *provctx)
{
	return vgp_key_new(provctx, VGP_ED25519);
}

static void km_free(void *keydata)
{
	vgp_key_free(keydata);
}

static void *km_dup(const void *from, int selection)
{
	const vgp_key *src = from;
	vgp_key *k = vgp_key_new(src->ctx, src->kind);

	(void)selection;
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

static int km_has(const void *keydata, int selection)
{
	const vgp_key *k = keydata;

	if (!k)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && !k->pub)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) && k->kind == VGP_EC && !k->pub)
		return 0;
	/* The private key is in the service: a name stands for it. */
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->name[0])
		return 0;
	return 1;
}

static int km_match(const void *a, const void *b, int selection)
{
	const vgp_key *k1 = a, *k2 = b;

	if (!k1 || !k2 || !k1->pub || !k2->pub || k1->kind != k2->kind)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) &&
	    !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) && k1->name[0] && k2->name[0])
		return strcmp(k1->name, k2->name) == 0 && EVP_PKEY_eq(k1->pub, k2->pub) == 1;
	return EVP_PKEY_eq(k1->pub, k2->pub) == 1;
}

static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	vgp_key *k = keydata;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pub = NULL;
	int ok = 0;

	if (!k || !params)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) &&
	    OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY)) {
		vgp_error(k->ctx, VGP_R_NO_PRIVATE, "the voxguard provider holds no private key");
		return 0;
	}
	if (!(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
		return 0;
	pc = EVP_PKEY_CTX_new_from_name(k->ctx->libctx, vgp_key_type_name(k), VGP_OTHERS);
	if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &pub, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) != 1)
		goto out;
	if (vgp_kind_of(pub) != k->kind)
		goto out;
	EVP_PKEY_free(k->pub);
	k->pub = pub;
	pub = NULL;
	k->name[0] = '\0';
	ok = 1;
out:
	EVP_PKEY_free(pub);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static const OSSL_PARAM *ec_import_types(int selection)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)selection;
	return t;
}

static const OSSL_PARAM *ed_import_types(int selection)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)selection;
	return t;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	vgp_key *k = keydata;
	OSSL_PARAM *params = NULL;
	int ok;

	if (!k || !k->pub)
		return 0;
	if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) {
		/* No error raised: OpenSSL 3.0 asks this on every signature
		 * whose first fetch was another provider's, and then goes on to
		 * ours; an error here would linger on the queue. */
		return 0;
	}
	if (EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params) != 1)
		return 0;
	ok = cb(params, cbarg);
	OSSL_PARAM_free(params);
	return ok;
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	vgp_key *k = keydata;
	OSSL_PARAM *p;

	if (!k || !k->pub)
		return 0;
	/* Size, bits, group, encoded public key: the public key's. */
	if (EVP_PKEY_get_params(k->pub, params) != 1)
		return 0;
	/* The digest a signature uses when the caller names none. */
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST);
	if (p && k->kind == VGP_EC &&
	    !OSSL_PARAM_set_utf8_string(p, EVP_PKEY_get_bits(k->pub) > 256 ? "SHA384" : "SHA256"))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MANDATORY_DIGEST);
	if (p && k->kind == VGP_ED25519 && !OSSL_PARAM_set_utf8_string(p, ""))
		return 0;
	return 1;
}

static const OSSL_PARAM *ec_gettable_params(void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)provctx;
	return t;
}

static const OSSL_PARAM *ed_gettable_params(void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)provctx;
	return t;
}

static const char *ec_query_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

static const char *ed_query_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "ED25519" : NULL;
}

#define F(id, fn) {OSSL_FUNC_KEYMGMT_##id, (void (*)(void))(fn)}
const OSSL_DISPATCH vgp_ec_keymgmt_functions[] = {
    F(NEW, ec_new),
    F(FREE, km_free),
    F(LOAD, ec_load),
    F(DUP, km_dup),
    F(HAS, km_has),
    F(MATCH, km_match),
    F(IMPORT, km_import),
    F(IMPORT_TYPES, ec_import_types),
    F(EXPORT, km_export),
    F(EXPORT_TYPES, ec_import_types),
    F(GET_PARAMS, km_get_params),
    F(GETTABLE_PARAMS, ec_gettable_params),
    F(QUERY_OPERATION_NAME, ec_query_name),
    {0, NULL},
};

const OSSL_DISPATCH vgp_ed25519_keymgmt_functions[] = {
    F(NEW, ed_new),
    F(FREE, km_free),
    F(LOAD, ed_load),
    F(DUP, km_dup),
    F(HAS, km_has),
    F(MATCH, km_match),
    F(IMPORT, km_import),
    F(IMPORT_TYPES, ed_import_types),
    F(EXPORT, km_export),
    F(EXPORT_TYPES, ed_import_types),
    F(GET_PARAMS, km_get_params),
    F(GETTABLE_PARAMS, ed_gettable_params),
    F(QUERY_OPERATION_NAME, ed_query_name),
    {0, NULL},
};
#undef F
