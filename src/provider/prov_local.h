/*
 * prov_local.h - the pieces of the voxguard provider (provider.h), shared
 * by its files: provider.c (context, service connection, dispatch),
 * keymgmt.c, signature.c, store.c, decoder.c.
 */
#ifndef VG_PROV_LOCAL_H
#define VG_PROV_LOCAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "provider/provider.h"
#include "voxguard/voxguard.h"

/* Property query for what the provider leaves to others (digests, public
 * keys): any provider but this one. */
#define VGP_OTHERS "provider!=voxguard"

/* Reason codes for OpenSSL's error queue. */
enum {
	VGP_R_SERVICE = 1, /* the service refused or failed */
	VGP_R_UNAVAILABLE, /* the service cannot be reached */
	VGP_R_BAD_URI,     /* a malformed key URI or key reference */
	VGP_R_NO_PRIVATE,  /* the private key never leaves the service */
	VGP_R_UNSUPPORTED, /* an operation or parameter the provider does not do */
	VGP_R_INTERNAL,
};

typedef struct vgp_ctx {
	const OSSL_CORE_HANDLE *handle;
	OSSL_LIB_CTX *libctx;   /* the provider's own (provider.c) */
	char socket[256];       /* "" : $VOXGUARD_SOCKET, then the default */
	char service_user[256]; /* "" : $VOXGUARD_SERVICE_USER, then the build's */
	pthread_mutex_t lock;   /* one connection per provider context */
	vg_client *client;
	OSSL_FUNC_core_new_error_fn *new_error;
	OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
	OSSL_FUNC_core_vset_error_fn *vset_error;
} vgp_ctx;

typedef enum vgp_kind { VGP_EC = 1, VGP_ED25519 = 2 } vgp_kind;

/* A key object (keymgmt's keydata). With a name it is the service's key:
 * pub is its public key. Without one it is the process's own key, never
 * the service's: a public key imported from a certificate (to compare
 * with ours), or, when OpenSSL takes this provider's EC key management for
 * a key of its own (keymgmt.c), a key generated or imported here (local,
 * pub holding the whole key). */
typedef struct vgp_key {
	vgp_ctx *ctx;
	vgp_kind kind;
	char name[VG_MAX_NAME_LEN + 1];
	EVP_PKEY *pub;   /* in ctx->libctx's other providers */
	bool local_priv; /* no name: pub holds a private key of the process's */
} vgp_key;

/* Raises an error on OpenSSL's queue, from this provider. */
void vgp_error(vgp_ctx *ctx, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raises the error for a failed service call rc (with the service's
 * reason when it gave one). */
void vgp_error_rc(vgp_ctx *ctx, const char *what, vg_rc rc, const char *why);

/* Service calls, serialised on the context's connection, which is opened
 * on first use and reopened once when a call fails for want of it (the
 * service restarted). The device identity key is addressed in the
 * service's namespace (provider.h). why (may be NULL) receives the
 * service's reason. */
VG_NODISCARD vg_rc vgp_fetch_public(vgp_ctx *ctx, const char *name, EVP_PKEY **pub, char *why,
				    size_t why_len);
VG_NODISCARD vg_rc vgp_sign_digest(vgp_ctx *ctx, const char *name, const char *alg,
				   const uint8_t *dgst, size_t len, uint8_t **sig, size_t *sig_len);
VG_NODISCARD vg_rc vgp_sign_message(vgp_ctx *ctx, const char *name, const uint8_t *msg, size_t len,
				    uint8_t **sig, size_t *sig_len);

/* A key object for name, its public key fetched from the service (NULL on
 * failure, with an error raised). */
vgp_key *vgp_key_load_name(vgp_ctx *ctx, const char *name);
vgp_key *vgp_key_new(vgp_ctx *ctx, vgp_kind kind);
void vgp_key_free(vgp_key *k);
/* "EC" or "ED25519": the data type of a key object. */
const char *vgp_key_type_name(const vgp_key *k);
/* The kind of a public key (0 if neither EC P-256/P-384 nor Ed25519). */
vgp_kind vgp_kind_of(const EVP_PKEY *pub);

/* The per-thread outcome of the last key load by URI (for
 * vg_provider_load_key's error code). */
void vgp_set_last_rc(vg_rc rc);
vg_rc vgp_last_rc(void);

/* The TLS-GROUP capability for the NIST groups whose key management may
 * be this provider's (keymgmt.c). */
int vgp_tls_group_capability(OSSL_CALLBACK *cb, void *arg);

/* Dispatch tables. */
extern const OSSL_DISPATCH vgp_ec_keymgmt_functions[];
extern const OSSL_DISPATCH vgp_ed25519_keymgmt_functions[];
extern const OSSL_DISPATCH vgp_ecdsa_signature_functions[];
extern const OSSL_DISPATCH vgp_ed25519_signature_functions[];
extern const OSSL_DISPATCH vgp_store_functions[];
extern const OSSL_DISPATCH vgp_pem_decoder_functions[];
extern const OSSL_DISPATCH vgp_ec_decoder_functions[];
extern const OSSL_DISPATCH vgp_ed25519_decoder_functions[];

/* What the store and the decoder hand OpenSSL as the key's reference, by
 * value, for keymgmt's load() (which gets no provider context): the
 * context, the name and the public key (DER SubjectPublicKeyInfo), so
 * that load() needs no second round trip to the service. */
#define VGP_REF_MAGIC "VGPREF1"
struct vgp_ref {
	char magic[8];
	vgp_ctx *ctx;
	uint32_t kind;
	char name[VG_MAX_NAME_LEN + 1];
	uint16_t pub_len;
	uint8_t pub[160];
};
VG_NODISCARD vg_rc vgp_ref_make(const vgp_key *k, struct vgp_ref *ref);

/* Hands OpenSSL key k through object_cb as a PKEY object by reference
 * (store.c; the decoder uses it too). */
int vgp_hand_key(const vgp_key *k, OSSL_CALLBACK *object_cb, void *object_cbarg);

/* The data structure name the PEM decoder hands the key decoders. */
#define VGP_DER_STRUCTURE "voxguard"

#endif
