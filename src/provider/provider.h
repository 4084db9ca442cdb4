/*
 * provider.h - the OpenSSL 3 provider "voxguard" (SFR 4.2.7, 4.2.11 note
 * 11; docs/TLS.md).
 *
 * It makes a key of the voxguard service usable by any OpenSSL 3
 * application through the URI `voxguard:key=NAME`, and through a PEM "key
 * reference" file for applications that take only a key file. The private
 * key never leaves the service: the provider's key object holds the name
 * and the public key; a signature sends the digest (ECDSA) or the message
 * (Ed25519) to the service, which applies the caller's policy, budget and
 * audit as for any signing request.
 *
 * The same code is built twice: into the module voxguard.so (its
 * OSSL_provider_init is module.c) and into libvoxguard, where
 * vg_provider_load_into() registers it as a built-in provider of a library
 * context (the TLS channel, include/voxguard/tls.h).
 *
 * The URI and the key reference file are outside bytes: their parsers
 * below are strict and each has a fuzz target (fuzz/fuzz_provider_uri.c,
 * fuzz/fuzz_keyref.c).
 */
#ifndef VG_PROVIDER_H
#define VG_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/core.h>
#include <openssl/types.h>

#include "voxguard/voxguard.h"

#define VG_PROVIDER_NAME "voxguard"
/* The URI scheme, and the one URI form: "voxguard:key=NAME". */
#define VG_PROVIDER_SCHEME     "voxguard"
#define VG_PROVIDER_URI_PREFIX "voxguard:key="
#define VG_PROVIDER_URI_MAX    (sizeof VG_PROVIDER_URI_PREFIX - 1 + VG_MAX_NAME_LEN)
/*
 * The key reference file: a PEM block labelled VG_KEYREF_PEM_LABEL whose
 * body is
 *   offset size field
 *   0      1    version (VG_KEYREF_VERSION)
 *   1      1    n: the URI's length (1..VG_PROVIDER_URI_MAX)
 *   2      n    the key URI, "voxguard:key=NAME" (no NUL)
 * and nothing after it. The body names a key; it holds no secret.
 */
#define VG_KEYREF_PEM_LABEL "VOXGUARD KEY REFERENCE"
#define VG_KEYREF_VERSION   1u
#define VG_KEYREF_MAX       (2u + VG_PROVIDER_URI_MAX)
/* The device identity key (SFR 4.2.2): the URI voxguard:key=device-identity
 * addresses the service's identity key, not a key of the caller's. */
#define VG_PROVIDER_IDENTITY_KEY "device-identity"

/* Parses a key URI: exactly "voxguard:key=NAME" with NAME a valid key name
 * (1-128 of [A-Za-z0-9._-], not starting with '.'), nothing else. The
 * scheme is matched without regard to case (RFC 3986), the rest exactly.
 * VG_ERR_INVALID for anything else; name is "" then. */
VG_NODISCARD vg_rc vg_provider_parse_uri(const char *uri, size_t len,
					 char name[static VG_MAX_NAME_LEN + 1]);

/* The key reference body for key `name` into out (VG_KEYREF_MAX bytes);
 * *len is its length. VG_ERR_INVALID for an invalid name. */
VG_NODISCARD vg_rc vg_keyref_encode(const char *name, uint8_t out[static VG_KEYREF_MAX],
				    size_t *len);
/* Decodes a key reference body (strictly: version, length, URI, no
 * trailing bytes). VG_ERR_UNSUPPORTED for another version, VG_ERR_INVALID
 * for anything malformed; name is "" then. */
VG_NODISCARD vg_rc vg_keyref_decode(const uint8_t *body, size_t len,
				    char name[static VG_MAX_NAME_LEN + 1]);
/* The whole PEM file for key `name` (NUL-terminated, callee-allocated:
 * free()). */
VG_NODISCARD vg_rc vg_keyref_pem(const char *name, char **pem, size_t *len);

/* The provider's init function (OSSL_provider_init_fn), for module.c and
 * the built-in registration. */
int vg_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		     const OSSL_DISPATCH **out, void **provctx);

/*
 * Registers the provider as a built-in of libctx (NULL: the default
 * context) and loads it, talking to the service at socket_path (NULL:
 * $VOXGUARD_SOCKET, then the default socket). The default provider is
 * loaded too if the context has none, since the provider computes digests
 * and public-key operations with it. Returns 1 on success, 0 on failure
 * (OpenSSL's error queue says why). A second call on the same context is a
 * no-op returning 1. At most 64 contexts at once.
 */
VG_EXPORT int vg_provider_load_into(OSSL_LIB_CTX *libctx, const char *socket_path);
/* As vg_provider_load_into(), with the service user the provider checks
 * the socket's server against before it sends a byte (a name or a numeric
 * uid, as vg_client_open_as(); NULL: $VOXGUARD_SERVICE_USER, then the
 * build's). The context keeps the socket and user of its first load. */
VG_EXPORT int vg_provider_load_into_as(OSSL_LIB_CTX *libctx, const char *socket_path,
				       const char *service_user);
/* Unloads what vg_provider_load_into() loaded into libctx (the provider,
 * and the default provider if it loaded that); call it before
 * OSSL_LIB_CTX_free(libctx), which on OpenSSL 3.0 does not tear down
 * providers loaded by OSSL_PROVIDER_load(). Keys of libctx must be freed
 * first. A context it did not load into: nothing happens. */
VG_EXPORT void vg_provider_unload(OSSL_LIB_CTX *libctx);

/*
 * The key voxguard:key=NAME as an EVP_PKEY of libctx (where
 * vg_provider_load_into() loaded the provider): its private part stays in
 * the service. *out: the caller's reference (EVP_PKEY_free). VG_ERR_INVALID
 * for an invalid name, VG_ERR_NOT_FOUND when the service has no such key
 * for the caller (or refuses it), VG_ERR_UNAVAILABLE when the provider is
 * not loaded or the service cannot be reached.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_provider_load_key(OSSL_LIB_CTX *libctx, const char *name,
						  EVP_PKEY **out);

#endif
