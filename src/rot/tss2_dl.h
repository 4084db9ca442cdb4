/*
 * tss2_dl.h - tpm2-tss, loaded only when the tpm2 root of trust is used.
 *
 * Promise: vg_tss2_load() dlopen()s the tpm2-tss libraries the tpm2 backend
 * needs (ESYS, MU, RC, TCTI loader; their Debian SONAMEs) once per process
 * and resolves every function the backend calls, or fails with one clear
 * message naming the missing library or symbol; nothing is half-loaded.
 * After it succeeds, the names below (Esys_Initialize, ...) call the loaded
 * functions, so src/rot/tpm2.c reads like ordinary tpm2-tss code.
 *
 * Why: a device on the file root of trust (and every process that never
 * opens a TPM: the CLI, the client library) does not map 0.4 MiB of
 * tpm2-tss and its dependencies (docs/BENCHMARKS.md, idle RSS).
 *
 * The table is written once, then made read-only (mprotect), like a
 * RELRO'd GOT. Load it from one thread: the tpm2 backend does, at open,
 * before its TPM thread starts; the thread then only reads it.
 */
#ifndef VG_ROT_TSS2_DL_H
#define VG_ROT_TSS2_DL_H

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "common/util.h"

/* X(library, function): every tpm2-tss function src/rot/tpm2.c calls. */
#define VG_TSS2_FUNCS(X)                                                                           \
	X(ESYS, Esys_Initialize)                                                                    \
	X(ESYS, Esys_Finalize)                                                                     \
	X(ESYS, Esys_Free)                                                                         \
	X(ESYS, Esys_Startup)                                                                      \
	X(ESYS, Esys_StartAuthSession)                                                             \
	X(ESYS, Esys_TRSess_SetAttributes)                                                         \
	X(ESYS, Esys_TR_FromTPMPublic)                                                             \
	X(ESYS, Esys_TR_Close)                                                                     \
	X(ESYS, Esys_FlushContext)                                                                 \
	X(ESYS, Esys_CreatePrimary)                                                                \
	X(ESYS, Esys_Create)                                                                       \
	X(ESYS, Esys_Load)                                                                         \
	X(ESYS, Esys_Unseal)                                                                       \
	X(ESYS, Esys_GetRandom)                                                                    \
	X(ESYS, Esys_PCR_Extend)                                                                   \
	X(ESYS, Esys_PCR_Read)                                                                     \
	X(ESYS, Esys_LoadExternal)                                                                 \
	X(ESYS, Esys_TR_GetName)                                                                   \
	X(ESYS, Esys_PolicyPCR)                                                                    \
	X(ESYS, Esys_PolicyGetDigest)                                                              \
	X(ESYS, Esys_PolicyAuthorize)                                                              \
	X(ESYS, Esys_VerifySignature)                                                              \
	X(ESYS, Esys_NV_DefineSpace)                                                               \
	X(ESYS, Esys_NV_ReadPublic)                                                                \
	X(ESYS, Esys_NV_Read)                                                                      \
	X(ESYS, Esys_NV_Write)                                                                     \
	X(ESYS, Esys_NV_Increment)                                                                 \
	X(ESYS, Esys_NV_WriteLock)                                                                 \
	X(MU, Tss2_MU_TPM2B_PUBLIC_Marshal)                                                        \
	X(MU, Tss2_MU_TPM2B_PUBLIC_Unmarshal)                                                      \
	X(MU, Tss2_MU_TPM2B_PRIVATE_Marshal)                                                       \
	X(MU, Tss2_MU_TPM2B_PRIVATE_Unmarshal)                                                     \
	X(RC, Tss2_RC_Decode)                                                                      \
	X(TCTILDR, Tss2_TctiLdr_Initialize)                                                        \
	X(TCTILDR, Tss2_TctiLdr_Finalize)

struct vg_tss2_api {
#define VG_TSS2_MEMBER(lib, fn) __typeof__(fn) *fn;
	VG_TSS2_FUNCS(VG_TSS2_MEMBER)
#undef VG_TSS2_MEMBER
};

/* Loads the libraries once; VG_ERR_UNSUPPORTED (with a message on stderr
 * naming the library and the Debian package) when they are not there. */
VG_NODISCARD vg_rc vg_tss2_load(void);

/* NULL until vg_tss2_load() succeeded. */
extern const struct vg_tss2_api *vg_tss2;

#ifndef VG_TSS2_DL_IMPL
#define Esys_Initialize (vg_tss2->Esys_Initialize)
#define Esys_Finalize (vg_tss2->Esys_Finalize)
#define Esys_Free (vg_tss2->Esys_Free)
#define Esys_Startup (vg_tss2->Esys_Startup)
#define Esys_StartAuthSession (vg_tss2->Esys_StartAuthSession)
#define Esys_TRSess_SetAttributes (vg_tss2->Esys_TRSess_SetAttributes)
#define Esys_TR_FromTPMPublic (vg_tss2->Esys_TR_FromTPMPublic)
#define Esys_TR_Close (vg_tss2->Esys_TR_Close)
#define Esys_FlushContext (vg_tss2->Esys_FlushContext)
#define Esys_CreatePrimary (vg_tss2->Esys_CreatePrimary)
#define Esys_Create (vg_tss2->Esys_Create)
#define Esys_Load (vg_tss2->Esys_Load)
#define Esys_Unseal (vg_tss2->Esys_Unseal)
#define Esys_GetRandom (vg_tss2->Esys_GetRandom)
#define Esys_PCR_Extend (vg_tss2->Esys_PCR_Extend)
#define Esys_PCR_Read (vg_tss2->Esys_PCR_Read)
#define Esys_LoadExternal (vg_tss2->Esys_LoadExternal)
#define Esys_TR_GetName (vg_tss2->Esys_TR_GetName)
#define Esys_PolicyPCR (vg_tss2->Esys_PolicyPCR)
#define Esys_PolicyGetDigest (vg_tss2->Esys_PolicyGetDigest)
#define Esys_PolicyAuthorize (vg_tss2->Esys_PolicyAuthorize)
#define Esys_VerifySignature (vg_tss2->Esys_VerifySignature)
#define Esys_NV_DefineSpace (vg_tss2->Esys_NV_DefineSpace)
#define Esys_NV_ReadPublic (vg_tss2->Esys_NV_ReadPublic)
#define Esys_NV_Read (vg_tss2->Esys_NV_Read)
#define Esys_NV_Write (vg_tss2->Esys_NV_Write)
#define Esys_NV_Increment (vg_tss2->Esys_NV_Increment)
#define Esys_NV_WriteLock (vg_tss2->Esys_NV_WriteLock)
#define Tss2_MU_TPM2B_PUBLIC_Marshal (vg_tss2->Tss2_MU_TPM2B_PUBLIC_Marshal)
#define Tss2_MU_TPM2B_PUBLIC_Unmarshal (vg_tss2->Tss2_MU_TPM2B_PUBLIC_Unmarshal)
#define Tss2_MU_TPM2B_PRIVATE_Marshal (vg_tss2->Tss2_MU_TPM2B_PRIVATE_Marshal)
#define Tss2_MU_TPM2B_PRIVATE_Unmarshal (vg_tss2->Tss2_MU_TPM2B_PRIVATE_Unmarshal)
#define Tss2_RC_Decode (vg_tss2->Tss2_RC_Decode)
#define Tss2_TctiLdr_Initialize (vg_tss2->Tss2_TctiLdr_Initialize)
#define Tss2_TctiLdr_Finalize (vg_tss2->Tss2_TctiLdr_Finalize)
#endif

#endif
