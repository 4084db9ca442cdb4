/*
 * keymgmt.c - the provider's key objects (EC P-256/P-384, Ed25519).
 *
 * A key object is a name and the public key. It exports its public key
 * only: asked for the private key (OpenSSL 3.0 asks when it tries a
 * signature of another provider first), export fails, cleanly, and 3.0's
 * signature fetch then falls back to this provider's own. It imports
 * public keys (a certificate's, to compare with one of ours).
 *
 * OpenSSL 3.0 takes the first provider it finds for an algorithm fetched
 * without a property query, in load order: loaded before `default`, this
 * provider's "EC" key management is the one TLS gets for its ECDHE key
 * shares and the application for its own EC keys. So for keys of the
 * process's own (never the service's: they have no name) it does what
 * `default` would, through `default`: generates them (a key pair, or
 * domain parameters for a peer's share), takes a peer's encoded point,
 * imports and exports them whole, and declares the NIST TLS groups, so
 * that TLS 1.2 and 1.3 keep P-256 and P-384 whatever the load order
 * (docs/TLS.md). ECDH itself is `default`'s, on the exported key.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/prov_ssl.h>
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
	    ref->kind != (uint32_t)kind || ref->pub_len > sizeof ref->pub ||
	    ref->name[sizeof ref->name - 1] != '\0' || !vg_name_valid(ref->name, strlen(ref->name)))
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
	if (src->pub && !(k->pub = src->local_priv ? EVP_PKEY_dup(src->pub) : src->pub)) {
		vgp_key_free(k);
		return NULL;
	}
	if (src->pub && !src->local_priv && EVP_PKEY_up_ref(src->pub) != 1) {
		k->pub = NULL;
		vgp_key_free(k);
		return NULL;
	}
	k->local_priv = src->local_priv;
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
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && !k->name[0] && !k->local_priv)
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

	bool priv;

	if (!k || !params || k->name[0])
		return 0; /* a service key is never overwritten */
	/* A private key handed over is the process's own (a key of its, see
	 * above): kept as such, never taken for the service's. */
	priv = (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) &&
	       OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY);
	if (!(selection & OSSL_KEYMGMT_SELECT_KEYPAIR))
		return 0;
	pc = EVP_PKEY_CTX_new_from_name(k->ctx->libctx, vgp_key_type_name(k), VGP_OTHERS);
	if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &pub, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      (OSSL_PARAM *)params) != 1)
		goto out;
	if (!EVP_PKEY_is_a(pub, vgp_key_type_name(k)))
		goto out;
	EVP_PKEY_free(k->pub);
	k->pub = pub;
	pub = NULL;
	k->local_priv = priv;
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
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)selection;
	return t;
}

static const OSSL_PARAM *ed_import_types(int selection)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
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
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->name[0]) {
		/* The service's key. No error raised: OpenSSL 3.0 asks this on
		 * every signature whose first fetch was another provider's, and
		 * then goes on to ours; an error would linger on the queue. */
		return 0;
	}
	/* The process's own key: what it has (a peer's public key, or a key
	 * pair made or imported here). */
	if (EVP_PKEY_todata(k->pub,
			    (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->local_priv
				? EVP_PKEY_KEYPAIR
				: EVP_PKEY_PUBLIC_KEY,
			    &params) != 1)
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

/* ---- the process's own EC keys (see the top of this file) ---- */

struct vgp_gen {
	vgp_ctx *ctx;
	int selection;
	char group[32];
};

static void *ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
	struct vgp_gen *g = calloc(1, sizeof *g);
	const OSSL_PARAM *p;

	if (!g)
		return NULL;
	g->ctx = provctx;
	g->selection = selection;
	p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
	if (p) {
		char *gp = g->group;
		if (!OSSL_PARAM_get_utf8_string(p, &gp, sizeof g->group)) {
			free(g);
			return NULL;
		}
	}
	return g;
}

static int ec_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
	struct vgp_gen *g = genctx;
	const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
	char *gp = g->group;

	return !p || OSSL_PARAM_get_utf8_string(p, &gp, sizeof g->group);
}

static const OSSL_PARAM *ec_gen_settable_params(void *genctx, void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)genctx;
	(void)provctx;
	return t;
}

/* A key pair, or domain parameters only (a peer's share to come), made by
 * the other providers: the process's own key, never the service's. */
static void *ec_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
	struct vgp_gen *g = genctx;
	bool pair = (g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pk = NULL;
	vgp_key *k = NULL;

	(void)cb;
	(void)cbarg;
	if (!g->group[0])
		return NULL;
	pc = EVP_PKEY_CTX_new_from_name(g->ctx->libctx, "EC", VGP_OTHERS);
	if (!pc || (pair ? EVP_PKEY_keygen_init(pc) : EVP_PKEY_paramgen_init(pc)) != 1 ||
	    EVP_PKEY_CTX_set_group_name(pc, g->group) != 1 ||
	    (pair ? EVP_PKEY_keygen(pc, &pk) : EVP_PKEY_paramgen(pc, &pk)) != 1)
		goto out;
	k = vgp_key_new(g->ctx, VGP_EC);
	if (!k)
		goto out;
	k->pub = pk;
	pk = NULL;
	k->local_priv = pair;
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(pc);
	return k;
}

/* Generation like a template key (TLS 1.2: a share on the server's
 * group): its group. */
static int ec_gen_set_template(void *genctx, void *templ)
{
	struct vgp_gen *g = genctx;
	const vgp_key *t = templ;
	size_t n = 0;

	return t && t->pub &&
	       EVP_PKEY_get_utf8_string_param(t->pub, OSSL_PKEY_PARAM_GROUP_NAME, g->group,
					      sizeof g->group, &n) == 1;
}

static void ec_gen_cleanup(void *genctx)
{
	free(genctx);
}

/* A peer's encoded point into domain parameters made above (TLS). */
static int ec_set_params(void *keydata, const OSSL_PARAM params[])
{
	vgp_key *k = keydata;

	if (!k || k->name[0] || !k->pub)
		return 0; /* a service key's public key is the service's */
	return OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY)
		   ? EVP_PKEY_set_params(k->pub, (OSSL_PARAM *)params)
		   : 1;
}

static const OSSL_PARAM *ec_settable_params(void *provctx)
{
	static const OSSL_PARAM t[] = {
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)provctx;
	return t;
}

int vgp_tls_group_capability(OSSL_CALLBACK *cb, void *arg)
{
	/* The NIST groups and their aliases, as the default provider
	 * declares them (RFC 8446 4.2.7 code points; TLS 1.0 and DTLS 1.0 up,
	 * no maximum). */
	static const struct {
		const char *name, *internal;
		unsigned int id, bits;
	} groups[] = {
	    {"secp256r1", "prime256v1", 23, 128}, {"P-256", "prime256v1", 23, 128},
	    {"secp384r1", "secp384r1", 24, 192},  {"P-384", "secp384r1", 24, 192},
	    {"secp521r1", "secp521r1", 25, 256},  {"P-521", "secp521r1", 25, 256},
	};

	for (size_t i = 0; i < VG_ARRAY_LEN(groups); i++) {
		unsigned int id = groups[i].id, bits = groups[i].bits;
		int min_tls = TLS1_VERSION, max_tls = 0, min_dtls = DTLS1_VERSION, max_dtls = 0;
		unsigned int is_kem = 0;
		OSSL_PARAM p[] = {
		    OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)groups[i].name,
					   0),
		    OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,
					   (char *)groups[i].internal, 0),
		    OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, (char *)"EC", 0),
		    OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
		    OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &bits),
		    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &min_tls),
		    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &max_tls),
		    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &min_dtls),
		    OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &max_dtls),
		    OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &is_kem),
		    OSSL_PARAM_END,
		};
		p[0].data_size = strlen(groups[i].name);
		p[1].data_size = strlen(groups[i].internal);
		p[2].data_size = 2;
		if (!cb(p, arg))
			return 0;
	}
	return 1;
}

static const char *ec_query_name(int operation_id)
{
	/* ECDH is the other providers', on the process's own keys (above). */
	return operation_id == OSSL_OP_SIGNATURE ? "ECDSA"
	       : operation_id == OSSL_OP_KEYEXCH ? "ECDH"
						 : NULL;
}

static const char *ed_query_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "ED25519" : NULL;
}

#define F(id, fn)                                            \
	{                                                    \
		OSSL_FUNC_KEYMGMT_##id, (void (*)(void))(fn) \
	}
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
    F(GEN_INIT, ec_gen_init),
    F(GEN_SET_PARAMS, ec_gen_set_params),
    F(GEN_SET_TEMPLATE, ec_gen_set_template),
    F(GEN_SETTABLE_PARAMS, ec_gen_settable_params),
    F(GEN, ec_gen),
    F(GEN_CLEANUP, ec_gen_cleanup),
    F(SET_PARAMS, ec_set_params),
    F(SETTABLE_PARAMS, ec_settable_params),
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
