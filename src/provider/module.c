/* module.c - the entry point of the provider module voxguard.so
 * (provider.h): the only symbol it exports. */
#include <openssl/core.h>

#include "provider/provider.h"

__attribute__((visibility("default"))) OSSL_provider_init_fn OSSL_provider_init;

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx)
{
	return vg_provider_init(handle, in, out, provctx);
}
