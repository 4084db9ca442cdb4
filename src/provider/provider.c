/* provider.c - the voxguard provider's context, its connection to the
 * service and its algorithm tables (provider.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "common/util.h"
#include "keystore/keystore.h"
#include "provider/prov_local.h"
#include "version.h"

/* ---- errors ---- */

void vgp_error(vgp_ctx *ctx, int reason, const char *fmt, ...)
{
	va_list ap;

	if (!ctx || !ctx->new_error || !ctx->vset_error)
		return;
	ctx->new_error(ctx->handle);
	if (ctx->set_error_debug)
		ctx->set_error_debug(ctx->handle, NULL, 0, "voxguard");
	va_start(ap, fmt);
	ctx->vset_error(ctx->handle, (uint32_t)reason, fmt, ap);
	va_end(ap);
}

void vgp_error_rc(vgp_ctx *ctx, const char *what, vg_rc rc, const char *why)
{
	int reason =
	    rc == VG_ERR_UNAVAILABLE || rc == VG_ERR_UNTRUSTED ? VGP_R_UNAVAILABLE : VGP_R_SERVICE;

	if (why && *why)
		vgp_error(ctx, reason, "%s: %s (%s)", what, vg_rc_str(rc), why);
	else
		vgp_error(ctx, reason, "%s: %s", what, vg_rc_str(rc));
}

static _Thread_local vg_rc last_rc;

void vgp_set_last_rc(vg_rc rc)
{
	last_rc = rc;
}

vg_rc vgp_last_rc(void)
{
	return last_rc;
}

/* ---- the service connection ---- */

/* Errors after which the connection is not worth keeping: the service
 * went away (restart) or the stream is out of step. */
static bool transport_error(vg_rc rc)
{
	return rc == VG_ERR_IO || rc == VG_ERR_UNAVAILABLE || rc == VG_ERR_PROTOCOL;
}

static vg_rc connect_locked(vgp_ctx *ctx)
{
	if (ctx->client)
		return VG_OK;
	return vg_client_open_as(&ctx->client, ctx->socket[0] ? ctx->socket : NULL,
				 ctx->service_user[0] ? ctx->service_user : NULL);
}

struct call {
	enum { CALL_PUBLIC, CALL_DIGEST, CALL_MESSAGE } what;
	const char *name, *alg;
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_len;
	char *pem;
};

static vg_rc call_once(vgp_ctx *ctx, struct call *c)
{
	vg_rc rc = connect_locked(ctx);
	size_t n = 0;

	if (rc != VG_OK)
		return rc;
	vg_client_set_owner(ctx->client, strcmp(c->name, VG_PROVIDER_IDENTITY_KEY) == 0
					     ? (int64_t)VG_OWNER_SERVICE
					     : -1);
	switch (c->what) {
	case CALL_PUBLIC:
		rc = vg_key_public_pem(ctx->client, c->name, &c->pem, &n);
		break;
	case CALL_DIGEST:
		rc = vg_key_sign_digest(ctx->client, c->name, c->alg, c->in, c->in_len, &c->out,
					&c->out_len);
		break;
	case CALL_MESSAGE:
		rc = vg_key_sign(ctx->client, c->name, c->in, c->in_len, &c->out, &c->out_len);
		break;
	}
	return rc;
}

/* One call, retried once on a new connection after a transport error.
 * why receives the service's reason of a refusal. */
static vg_rc call(vgp_ctx *ctx, struct call *c, char *why, size_t why_len)
{
	vg_rc rc;

	if (why && why_len)
		why[0] = '\0';
	if (pthread_mutex_lock(&ctx->lock) != 0)
		return VG_ERR_INTERNAL;
	rc = call_once(ctx, c);
	if (transport_error(rc) || rc == VG_ERR_UNTRUSTED) {
		vg_client_close(&ctx->client);
		rc = call_once(ctx, c);
	}
	if (rc != VG_OK && why && why_len)
		(void)snprintf(why, why_len, "%s", vg_client_last_error(ctx->client));
	if (transport_error(rc))
		vg_client_close(&ctx->client);
	(void)pthread_mutex_unlock(&ctx->lock);
	return rc;
}

vg_rc vgp_fetch_public(vgp_ctx *ctx, const char *name, EVP_PKEY **pub, char *why, size_t why_len)
{
	struct call c = {.what = CALL_PUBLIC, .name = name};
	BIO *bio = NULL;
	vg_rc rc = call(ctx, &c, why, why_len);

	*pub = NULL;
	if (rc != VG_OK)
		return rc;
	bio = BIO_new_mem_buf(c.pem, -1);
	if (bio)
		*pub = PEM_read_bio_PUBKEY_ex(bio, NULL, NULL, NULL, ctx->libctx, VGP_OTHERS);
	BIO_free(bio);
	vg_free(c.pem, strlen(c.pem));
	if (!*pub)
		return VG_ERR_PROTOCOL;
	if (!vgp_kind_of(*pub)) {
		EVP_PKEY_free(*pub);
		*pub = NULL;
		return VG_ERR_UNSUPPORTED;
	}
	return VG_OK;
}

vg_rc vgp_sign_digest(vgp_ctx *ctx, const char *name, const char *alg, const uint8_t *dgst,
		      size_t len, uint8_t **sig, size_t *sig_len)
{
	struct call c = {.what = CALL_DIGEST, .name = name, .alg = alg, .in = dgst, .in_len = len};
	char why[160];
	vg_rc rc = call(ctx, &c, why, sizeof why);

	*sig = c.out;
	*sig_len = c.out_len;
	if (rc != VG_OK)
		vgp_error_rc(ctx, "signing with the service's key", rc, why);
	return rc;
}

vg_rc vgp_sign_message(vgp_ctx *ctx, const char *name, const uint8_t *msg, size_t len,
		       uint8_t **sig, size_t *sig_len)
{
	struct call c = {.what = CALL_MESSAGE, .name = name, .in = msg, .in_len = len};
	char why[160];
	vg_rc rc = call(ctx, &c, why, sizeof why);

	*sig = c.out;
	*sig_len = c.out_len;
	if (rc != VG_OK)
		vgp_error_rc(ctx, "signing with the service's key", rc, why);
	return rc;
}

/* ---- the provider ---- */

static const OSSL_ALGORITHM keymgmts[] = {
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", "provider=voxguard", vgp_ec_keymgmt_functions,
     "voxguard EC keys (P-256, P-384) held by the voxguard service"},
    {"ED25519:1.3.101.112", "provider=voxguard", vgp_ed25519_keymgmt_functions,
     "voxguard Ed25519 keys held by the voxguard service"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM signatures[] = {
    {"ECDSA", "provider=voxguard", vgp_ecdsa_signature_functions, NULL},
    {"ED25519:1.3.101.112", "provider=voxguard", vgp_ed25519_signature_functions, NULL},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM stores[] = {
    {VG_PROVIDER_SCHEME, "provider=voxguard", vgp_store_functions, NULL},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM decoders[] = {
    {"DER", "provider=voxguard,input=pem", vgp_pem_decoder_functions, NULL},
    {"EC", "provider=voxguard,input=der,structure=" VGP_DER_STRUCTURE, vgp_ec_decoder_functions,
     NULL},
    {"ED25519", "provider=voxguard,input=der,structure=" VGP_DER_STRUCTURE,
     vgp_ed25519_decoder_functions, NULL},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *query(void *provctx, int id, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (id) {
	case OSSL_OP_KEYMGMT:
		return keymgmts;
	case OSSL_OP_SIGNATURE:
		return signatures;
	case OSSL_OP_STORE:
		return stores;
	case OSSL_OP_DECODER:
		return decoders;
	default:
		return NULL;
	}
}

static const OSSL_PARAM *gettable_params(void *provctx)
{
	static const OSSL_PARAM p[] = {
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
	    OSSL_PARAM_END,
	};
	(void)provctx;
	return p;
}

static int get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	(void)provctx;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, "voxguard: keys held by the voxguard service"))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, VG_VERSION_STRING))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
	if (p && !OSSL_PARAM_set_utf8_ptr(p, "voxguard " VG_VERSION_STRING))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
	if (p && !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

static const OSSL_ITEM *reason_strings(void *provctx)
{
	static const OSSL_ITEM r[] = {
	    {VGP_R_SERVICE, "the voxguard service refused or failed"},
	    {VGP_R_UNAVAILABLE, "the voxguard service cannot be reached"},
	    {VGP_R_BAD_URI, "malformed voxguard key URI or key reference"},
	    {VGP_R_NO_PRIVATE, "the private key stays in the voxguard service"},
	    {VGP_R_UNSUPPORTED, "not supported by the voxguard provider"},
	    {VGP_R_INTERNAL, "internal error in the voxguard provider"},
	    {0, NULL},
	};
	(void)provctx;
	return r;
}

static void teardown(void *provctx)
{
	vgp_ctx *ctx = provctx;

	if (!ctx)
		return;
	vg_client_close(&ctx->client);
	OSSL_LIB_CTX_free(ctx->libctx);
	(void)pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

static int get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
	(void)provctx;
	if (OPENSSL_strcasecmp(capability, "TLS-GROUP") == 0)
		return vgp_tls_group_capability(cb, arg);
	return 1;
}

static const OSSL_DISPATCH provider_functions[] = {
    {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))get_capabilities},
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))get_params},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))reason_strings},
    {0, NULL},
};

/* The socket and service user a built-in load asks for
 * (vg_provider_load_into_as): handed to the init function it runs on this
 * thread. */
static _Thread_local const char *builtin_socket, *builtin_user;

int vg_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx)
{
	OSSL_FUNC_core_get_params_fn *core_get_params = NULL;
	const OSSL_DISPATCH *core_in = in;
	vgp_ctx *ctx = calloc(1, sizeof *ctx);
	char *sock = NULL, *user = NULL;

	*provctx = NULL;
	if (!ctx)
		return 0;
	for (; in && in->function_id != 0; in++) {
		switch (in->function_id) {
		case OSSL_FUNC_CORE_GET_PARAMS:
			core_get_params = OSSL_FUNC_core_get_params(in);
			break;
		case OSSL_FUNC_CORE_NEW_ERROR:
			ctx->new_error = OSSL_FUNC_core_new_error(in);
			break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			ctx->set_error_debug = OSSL_FUNC_core_set_error_debug(in);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR:
			ctx->vset_error = OSSL_FUNC_core_vset_error(in);
			break;
		default:
			break;
		}
	}
	ctx->handle = handle;
	/* The socket and the service user: the built-in load's arguments,
	 * else the `socket` and `service_user` parameters of the provider's
	 * openssl.cnf section, else the client library's defaults
	 * ($VOXGUARD_SOCKET, then the default socket; $VOXGUARD_SERVICE_USER,
	 * then the build's service user). */
	sock = (char *)builtin_socket;
	user = (char *)builtin_user;
	if (core_get_params && (!sock || !user)) {
		char *psock = NULL, *puser = NULL;
		OSSL_PARAM p[] = {
		    OSSL_PARAM_utf8_ptr("socket", &psock, 0),
		    OSSL_PARAM_utf8_ptr("service_user", &puser, 0),
		    OSSL_PARAM_END,
		};
		if (core_get_params(handle, p)) {
			sock = sock ? sock : psock;
			user = user ? user : puser;
		}
	}
	if ((sock && strlen(sock) >= sizeof ctx->socket) ||
	    (user && strlen(user) >= sizeof ctx->service_user)) {
		free(ctx);
		return 0;
	}
	if (sock)
		(void)snprintf(ctx->socket, sizeof ctx->socket, "%s", sock);
	if (user)
		(void)snprintf(ctx->service_user, sizeof ctx->service_user, "%s", user);
	if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
		free(ctx);
		return 0;
	}
	/* Digests and public keys: a library context of the provider's own,
	 * with the core's BIO upcalls (for the decoders) and the default
	 * provider, loaded on first use. Not a child of the application's:
	 * a child context holds a reference to every provider of its parent,
	 * this one included, which then is never torn down. */
	ctx->libctx = OSSL_LIB_CTX_new_from_dispatch(handle, core_in);
	if (!ctx->libctx) {
		(void)pthread_mutex_destroy(&ctx->lock);
		free(ctx);
		return 0;
	}
	*out = provider_functions;
	*provctx = ctx;
	return 1;
}

/* What vg_provider_load_into() loaded, per library context, for
 * vg_provider_unload(): OpenSSL 3.0 does not tear down a provider loaded
 * with OSSL_PROVIDER_load() when its context is freed. */
#define LOADED_MAX 64
static struct {
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *ours, *deflt;
} loaded[LOADED_MAX];
static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;

int vg_provider_load_into(OSSL_LIB_CTX *libctx, const char *socket_path)
{
	return vg_provider_load_into_as(libctx, socket_path, NULL);
}

int vg_provider_load_into_as(OSSL_LIB_CTX *libctx, const char *socket_path,
			     const char *service_user)
{
	OSSL_PROVIDER *ours = NULL, *deflt = NULL;
	size_t slot = LOADED_MAX;
	int ok = 0;

	if (pthread_mutex_lock(&loaded_lock) != 0)
		return 0;
	if (OSSL_PROVIDER_available(libctx, VG_PROVIDER_NAME)) {
		ok = 1;
		goto out;
	}
	for (size_t i = 0; i < LOADED_MAX && slot == LOADED_MAX; i++)
		if (!loaded[i].ours)
			slot = i;
	if (slot == LOADED_MAX) {
		ERR_raise_data(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR,
			       "voxguard: more than %d library contexts", LOADED_MAX);
		goto out;
	}
	if (OSSL_PROVIDER_add_builtin(libctx, VG_PROVIDER_NAME, vg_provider_init) != 1)
		goto out;
	/* Our digests and public keys are the default provider's (or what
	 * the application loaded instead). Loaded first: OpenSSL 3.0 takes
	 * the first provider it finds for an algorithm asked without a
	 * property query, and the application's own keys are best served by
	 * the default provider directly, not through ours (keymgmt.c). */
	if (!OSSL_PROVIDER_available(libctx, "default") &&
	    !OSSL_PROVIDER_available(libctx, "fips") &&
	    !(deflt = OSSL_PROVIDER_load(libctx, "default")))
		goto out;
	builtin_socket = socket_path;
	builtin_user = service_user;
	ours = OSSL_PROVIDER_load(libctx, VG_PROVIDER_NAME);
	builtin_socket = builtin_user = NULL;
	if (!ours) {
		if (deflt)
			(void)OSSL_PROVIDER_unload(deflt);
		goto out;
	}
	loaded[slot].libctx = libctx;
	loaded[slot].ours = ours;
	loaded[slot].deflt = deflt;
	ok = 1;
out:
	(void)pthread_mutex_unlock(&loaded_lock);
	return ok;
}

void vg_provider_unload(OSSL_LIB_CTX *libctx)
{
	if (pthread_mutex_lock(&loaded_lock) != 0)
		return;
	for (size_t i = 0; i < LOADED_MAX; i++) {
		if (loaded[i].ours && loaded[i].libctx == libctx) {
			(void)OSSL_PROVIDER_unload(loaded[i].ours);
			if (loaded[i].deflt)
				(void)OSSL_PROVIDER_unload(loaded[i].deflt);
			memset(&loaded[i], 0, sizeof loaded[i]);
		}
	}
	(void)pthread_mutex_unlock(&loaded_lock);
}

vg_rc vg_provider_load_key(OSSL_LIB_CTX *libctx, const char *name, EVP_PKEY **out)
{
	char uri[VG_PROVIDER_URI_MAX + 1];
	OSSL_STORE_CTX *st = NULL;
	vg_rc rc = VG_ERR_NOT_FOUND;

	*out = NULL;
	if (!name || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	if (!OSSL_PROVIDER_available(libctx, VG_PROVIDER_NAME))
		return VG_ERR_UNAVAILABLE;
	(void)snprintf(uri, sizeof uri, "%s%s", VG_PROVIDER_URI_PREFIX, name);
	vgp_set_last_rc(VG_OK);
	st = OSSL_STORE_open_ex(uri, libctx, "provider=voxguard", NULL, NULL, NULL, NULL, NULL);
	if (!st) {
		rc = vgp_last_rc() != VG_OK ? vgp_last_rc() : VG_ERR_UNAVAILABLE;
		return rc;
	}
	if (OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY) != 1) {
		(void)OSSL_STORE_close(st);
		return VG_ERR_INTERNAL;
	}
	while (!*out && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);
		if (!info)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			*out = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	if (!*out && vgp_last_rc() != VG_OK)
		rc = vgp_last_rc();
	(void)OSSL_STORE_close(st);
	return *out ? VG_OK : rc;
}
