/*
 * provider_glue.h - the two calls the TLS channel makes into the voxguard
 * OpenSSL provider (src/provider/provider.h, built by another part of
 * issue 12). These are its prototypes as agreed; the integrator replaces
 * this header by #include "provider/provider.h" after the merge.
 */
#ifndef VG_TLS_PROVIDER_GLUE_H
#define VG_TLS_PROVIDER_GLUE_H

#include <openssl/types.h>

#include "voxguard/voxguard.h"

/* Registers the voxguard provider as a built-in in libctx and loads it,
 * talking to the service at socket_path (NULL: $VOXGUARD_SOCKET, then the
 * default). 1 on success (OpenSSL's convention). */
int vg_provider_load_into(OSSL_LIB_CTX *libctx, const char *socket_path);
/* An EVP_PKEY for voxguard:key=NAME from libctx: its public half, and
 * signatures made by the service. */
vg_rc vg_provider_load_key(OSSL_LIB_CTX *libctx, const char *name, EVP_PKEY **out);

#endif
