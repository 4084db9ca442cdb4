/*
 * fuzz_resolvconf.c - libFuzzer harness for the resolv.conf parser of
 * `voxguard netpolicy apply` (SFR 4.2.8; hostile input): arbitrary bytes
 * through vg_resolvconf_parse; an accepted file gives at most
 * VG_NP_MAX_RESOLVERS distinct IPv4/IPv6 addresses, a refused one none,
 * and a reason that is a terminated string.
 * Seed corpus: fuzz/corpus/resolvconf/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netpolicy/netpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_np_addr out[VG_NP_MAX_RESOLVERS];
	size_t n = 99;
	char why[96];
	vg_rc rc;

	memset(why, 'x', sizeof why);
	rc = vg_resolvconf_parse((const char *)data, size, out, &n, why, sizeof why);
	if (rc != VG_OK) {
		if (n != 0 || memchr(why, 0, sizeof why) == NULL)
			abort();
		return 0;
	}
	if (n > VG_NP_MAX_RESOLVERS)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (out[i].family != AF_INET && out[i].family != AF_INET6)
			abort();
		for (size_t j = 0; j < i; j++)
			if (out[i].family == out[j].family && memcmp(out[i].a, out[j].a, 16) == 0)
				abort();
	}
	return 0;
}
