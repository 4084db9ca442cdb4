/*
 * tss2_dl.c - loads tpm2-tss on first use of the tpm2 root of trust
 * (contract in tss2_dl.h).
 */
#define VG_TSS2_DL_IMPL
#include "rot/tss2_dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The SONAMEs of Debian 12's tpm2-tss 3.2 and their packages. */
enum { ESYS, MU, RC, TCTILDR, N_LIBS };
static const struct {
	const char *soname, *package;
} libs[N_LIBS] = {
    [ESYS] = {"libtss2-esys.so.0", "libtss2-esys-3.0.2-0"},
    [MU] = {"libtss2-mu.so.0", "libtss2-mu0"},
    [RC] = {"libtss2-rc.so.0", "libtss2-rc0"},
    [TCTILDR] = {"libtss2-tctildr.so.0", "libtss2-tctildr0"},
};

const struct vg_tss2_api *vg_tss2;

vg_rc vg_tss2_load(void)
{
	void *h[N_LIBS] = {0};
	struct vg_tss2_api *api;
	long page = sysconf(_SC_PAGESIZE);
	size_t size;

	if (vg_tss2)
		return VG_OK;
	if (page <= 0)
		return VG_ERR_INTERNAL;
	size = (sizeof *api + (size_t)page - 1) / (size_t)page * (size_t)page;
	api = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (api == MAP_FAILED)
		return VG_ERR_NOMEM;
	for (int i = 0; i < N_LIBS; i++) {
		h[i] = dlopen(libs[i].soname, RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			(void)fprintf(stderr,
				      "voxguard: tpm2: cannot load %s (%s): install the Debian "
				      "package %s, or use rot = file\n",
				      libs[i].soname, dlerror(), libs[i].package);
			goto fail;
		}
	}
#define VG_TSS2_RESOLVE(lib, fn)                                                                   \
	*(void **)&api->fn = dlsym(h[lib], #fn);                                                   \
	if (!api->fn) {                                                                            \
		(void)fprintf(stderr, "voxguard: tpm2: %s has no %s: tpm2-tss too old?\n",          \
			      libs[lib].soname, #fn);                                              \
		goto fail;                                                                         \
	}
	VG_TSS2_FUNCS(VG_TSS2_RESOLVE)
#undef VG_TSS2_RESOLVE
	if (mprotect(api, size, PROT_READ) != 0)
		goto fail;
	/* The libraries stay loaded for the life of the process. */
	vg_tss2 = api;
	return VG_OK;
fail:
	for (int i = 0; i < N_LIBS; i++)
		if (h[i])
			(void)dlclose(h[i]);
	(void)munmap(api, size);
	return VG_ERR_UNSUPPORTED;
}
