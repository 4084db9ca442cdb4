/*
 * tpm2.c - the `tpm2` root-of-trust backend (tpm2-tss ESYS; swtpm in tests).
 *
 * What lives where (docs/TPM2.md has the whole story):
 *  - The root key: 32 bytes from TPM2_GetRandom, sealed together with the
 *    counter base (below) as a KEYEDHASH sealed-data object under the
 *    owner hierarchy's storage key, sealed data = root key (32) || base
 *    (u64 BE). Its public and private blobs are the state dir's
 *    tpm2-root.pub and tpm2-root.priv (0600), each "VGT2" | version 1 |
 *    kind (1 public, 2 private) | the marshaled TPM2B_PUBLIC / TPM2B_PRIVATE.
 *    The private blob is encrypted and integrity-protected by the TPM under
 *    a key that never leaves it, and the object is fixedTPM: a copy of the
 *    state dir is useless on any other TPM. At open the object is loaded and
 *    unsealed into secret memory; derive() is HKDF of it, exactly as in
 *    file.c, with no TPM round trip.
 *  - The storage key: the usual ECC NIST P-256 / AES-128-CFB storage-key
 *    (SRK) template (restricted decrypt, fixedTPM, fixedParent,
 *    sensitiveDataOrigin, userWithAuth, noDA, empty unique), re-created
 *    with TPM2_CreatePrimary at every open and never persisted: the owner
 *    seed makes it the same key each time, so nothing has to be
 *    provisioned and no persistent handle is taken (0x81000001, the SRK's
 *    conventional handle, stays the platform's to assign); after a
 *    TPM2_Clear it becomes a different key, so the sealed blob no longer
 *    loads (VG_ERR_INTEGRITY).
 *  - The monotonic counter: NV counter index VG_TPM2_NV_COUNTER
 *    (0x01500016; TPM2_NT_COUNTER, owner read and write with the owner's
 *    (empty) auth, noDA, not orderly).
 *    An NV counter only steps by one and starts, at its first increment, at
 *    the highest value any counter of this TPM ever had. So at creation the
 *    index is defined (or, if a previous installation left it, reused),
 *    incremented once and read: that value is the base b, sealed with the
 *    root key (so nobody can change it without the TPM noticing), and
 *    counter_read() = NV - b. A restored old state dir brings back the old
 *    b with the same (or a higher) NV value: the counter never goes back.
 *    A pre-existing index with other attributes is refused.
 *  - The security-version counter (rot.h, SFR 4.2.6 anti-rollback): NV
 *    counter index VG_TPM2_NV_SECVER (0x01500018, the same attributes as
 *    the storage counter) read as NV - b' like the storage counter, but its
 *    base b' lives in TPM NV, in the ordinary 8-byte index
 *    VG_TPM2_NV_SECVER_BASE (0x01500019; writeDefine, written once and then
 *    write-locked for good), not in the state dir: the security version
 *    must survive a restored, wiped or reprovisioned state dir (a base
 *    sealed in tpm2-root.* would be lost, or brought back without it, with
 *    the files) and a factory reset. Both indices are set up on first use
 *    (secver_setup()), so state dirs and TPMs from before they existed
 *    keep working and read 0 at first. Only the TPM's owner (empty auth,
 *    see Limits) can take it back, by undefining the indices.
 *  - The erase secret (rot.h): 32 bytes in the ordinary NV index
 *    VG_TPM2_NV_ERASE (0x01500017), overwritten in place by a rotation
 *    (factory reset). It is only ever created when the index is unwritten,
 *    never because a read failed.
 *  - Measurements: TPM2_PCR_Extend into the SHA-256 bank of PCR
 *    VG_TPM2_PCR (23: the debug/application PCR that is resettable from
 *    locality 0, so tests can use it; the platform-manifest issue decides
 *    the final PCR). The digest is extended as given, as measured boot does,
 *    so a verifier replays the plain digests of the event log; the
 *    component name belongs in that log (the audit log), not in the PCR.
 *
 * Files: the private blob is written first, so a state dir holding only
 * tpm2-root.priv is an interrupted first start (nothing was ever protected
 * by that key) and is provisioned afresh; one holding only tpm2-root.pub
 * cannot come from a crash and is refused (VG_ERR_INTEGRITY).
 *
 * Every command after the storage key exists runs in one HMAC session
 * salted to that key (ECDH): the root key crosses the TPM interface only
 * encrypted (Create with parameter decryption, Unseal and GetRandom with
 * response encryption; the erase secret likewise), and NV, PCR and Unseal responses are
 * HMAC-verified by ESYS.
 *
 * The measured boot (rot/pcrpolicy.h): with the OEM's PCR-policy key
 * configured, a new sealed object has no userWithAuth and the policy
 * PolicyAuthorize(that key, VG_PCRPOL_REF); the unseal then runs in a
 * policy session where the TPM checks the entry of the signed policy file
 * whose values are this boot's PCRs (PolicyPCR), the OEM's signature over
 * it (VerifySignature, PolicyAuthorize), and unseals (unseal_bound()).
 *
 * Limits, stated plainly: the owner hierarchy has an empty authValue, and
 * without a policy key so has the sealed object, so whoever can talk to
 * this TPM and read the state dir can unseal the root key on this device
 * (with one, only in a boot the OEM signed for); one
 * voxguard state dir per TPM (the NV indices are the device's). tpm2-tss keeps copies of command
 * parameters in its context and does not wipe them: at creation the
 * plaintext sealed data may linger in that heap until reused; everything
 * this file holds is wiped.
 *
 * Time: a TPM that stops answering must not stop the service (the socket
 * TCTIs, swtpm and mssim, wait for a response forever). tpm2-tss 3.2 does
 * not bound the synchronous ESYS calls this file makes: Esys_SetTimeout
 * only reaches the receive step of Esys_*_Finish, and every synchronous
 * Esys_* sets the timeout back to -1 (block) and calls its _Finish again
 * while it returns TRY_AGAIN; the swtpm TCTI also connects and sends
 * without a bound. Going asynchronous (_Async/_Finish for each of the 20
 * commands) would still leave a context with a command outstanding after
 * a timeout: the late response has to be read before the next command, or
 * the TCTI, the context, the storage key and the session rebuilt. So each
 * handle has one thread of its own that makes every TPM call (the ESYS
 * context is only ever used there), and the caller waits for it while
 * the TPM answers each command within timeout_ms (tpm_call(): the thread
 * notes each answer, answered(), so a call of 1024 counter steps is not
 * cut short, only a silence is). A caller that gives up leaves the command
 * running: the handle is then "not answering" (vg_rot_health), and every
 * later call fails at once with VG_ERR_TIMEOUT, without queueing, until
 * the TPM answers that command; its result is discarded (a late counter
 * increment or NV write is still done: counters only go up, and an erase
 * secret rotated late is the interrupted factory reset that the reset's
 * marker completes at the next start). Then the handle answers again, with
 * the same context and session: nothing to rebuild. What the call owns
 * lives in the job (struct tpm_call), never on the caller's stack, and
 * the thread wipes and frees an abandoned one. The open runs on the thread
 * too (a TPM that never answers fails the start with VG_ERR_TIMEOUT); a
 * close that meets an unanswered command returns instead of hanging, and
 * leaves the context to the thread, which releases it (flushing the
 * session) if the TPM ever answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "crypto/seal.h"
#include "rot/pcrpolicy.h"
#include "rot/rot.h"
#include "rot/tss2_dl.h" /* tpm2-tss, dlopen()ed at the first open */

#define PUB_FILE     "tpm2-root.pub"
#define PRIV_FILE    "tpm2-root.priv"
#define BLOB_MAGIC   "VGT2"
#define BLOB_VERSION 1u
#define BLOB_PUBLIC  1u
#define BLOB_PRIVATE 2u
#define BLOB_HDR     6u
#define BLOB_MAX     4096u
#define SEALED_LEN   (VG_KEY_LEN + 8u)
/* The database raises the counter by one per sync window; anything much
 * larger is a bug or an attack on NV endurance. */
#define ADVANCE_MAX 1024u
/* TPM2_GetRandom returns at most the size of the largest digest. */
#define RANDOM_CHUNK 32u
/* NV rate limiting: retry for at most NV_RATE_TRIES * 100 ms. */
#define NV_RATE_TRIES 50

/* Fixed NV indices in the owner-allocated part of the NV handle space
 * (index values are assigned by convention, not enforced by the TPM: the
 * integrator keeps these two free; docs/TPM2.md). Owner read/write with
 * the owner's (empty) authorization, no DA, not orderly (each write is
 * durable when the command returns). */
#define VG_TPM2_NV_COUNTER     0x01500016u
#define VG_TPM2_NV_ERASE       0x01500017u
#define VG_TPM2_NV_SECVER      0x01500018u
#define VG_TPM2_NV_SECVER_BASE 0x01500019u
#define VG_TPM2_PCR            23u
#define NV_OWNER_ATTRS         (TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)
#define COUNTER_ATTRS          ((TPMA_NV)((TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) | NV_OWNER_ATTRS))
#define ERASE_ATTRS            ((TPMA_NV)((TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT) | NV_OWNER_ATTRS))
/* writeDefine: TPM2_NV_WriteLock locks it until the index is deleted. */
#define SECVER_BASE_ATTRS                                                         \
	((TPMA_NV)((TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT) | NV_OWNER_ATTRS | \
		   TPMA_NV_WRITEDEFINE))
/* Set by the TPM at run time, not part of the definition. */
#define NV_RUNTIME_ATTRS ((TPMA_NV)(TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED | TPMA_NV_READLOCKED))

#define SEAL_ATTRS                                                                                 \
	((TPMA_OBJECT)(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH | \
		       TPMA_OBJECT_NODA))
/* Sealed to the measured boot: no userWithAuth, so only its policy
 * (PolicyAuthorize by the OEM's key) authorizes the unseal. */
#define SEAL_ATTRS_BOUND \
	((TPMA_OBJECT)(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA))

struct tpm2_rot {
	uint8_t *root; /* VG_KEY_LEN bytes of secret memory */
	uint64_t base; /* NV value that reads as counter 0 */
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR srk;  /* transient; flushed once the sealed object is loaded */
	ESYS_TR sess; /* salted HMAC session, for the handle's lifetime */
	ESYS_TR nv;   /* the counter index */
	/* The security-version counter, once secver_setup() succeeded. */
	bool secver_ready;
	ESYS_TR secver;
	uint64_t secver_base; /* NV value that reads as security version 0 */
	/* The TPM thread (see Time): the fields below are under mu. */
	pthread_t th;
	bool th_started;
	pthread_mutex_t mu;
	pthread_cond_t work; /* a call was queued, or stop */
	pthread_cond_t done; /* a call finished */
	struct tpm_call *queued, *running;
	bool stop;
	bool orphaned; /* closed while busy: the thread frees the handle */
	uint32_t timeout_ms;
	/* Monotonic time the TPM last answered a command of the running call
	 * (or the call started): the bound is on each command, not on a call
	 * of many (an advance of 1024 steps). Written by the thread alone. */
	uint64_t progress_ms;
	uint64_t down_since; /* Unix time of the unanswered command; 0: answering */
	uint64_t timeouts, recoveries;
	/* Counter advances started without waiting (counter_start). */
	uint64_t bg_confirmed; /* the highest value the TPM confirmed */
	vg_rc bg_rc;           /* a failed one's error, reported once */
	/* The measured boot (rot/pcrpolicy.h), read at open: the OEM's
	 * policy key, and the running release's signed entries or why there
	 * are none (pol_rc, pol_why). */
	bool has_policy_key;
	uint8_t policy_x[32], policy_y[32];
	vg_pcrpol_entry *pol;
	size_t n_pol;
	vg_rc pol_rc;
	char pol_why[256];
	bool bound; /* the root key is sealed to the measured boot */
	/* The bound root key did not open in this boot, and the open asked
	 * for a handle anyway (vg_rot_opts.open_sealed): why. rot.c refuses
	 * the calls that need the key (vg_rot_sealed_why). Set by the open. */
	bool sealed;
	char sealed_why[512];
};

/* One TPM call, owned by the caller until it gives up waiting, then by the
 * thread (which wipes and frees it when the TPM answers). */
struct tpm_call {
	vg_rc (*fn)(struct tpm2_rot *t, struct tpm_call *c);
	vg_rc rc;
	bool done, abandoned;
	bool detached;    /* started without a waiter (counter_start) */
	uint64_t sent_ms; /* monotonic time it was queued */
	uint64_t u64;     /* in: a counter target; out: a counter value */
	bool flag;        /* in: rotate (erase secret); open_sealed (open) */
	uint8_t digest[32];
	uint8_t *buf; /* out: secret bytes (len), vg_secret_alloc'ed */
	size_t len;
	/* the open's inputs */
	char tcti[512];
	char pub_path[4096], priv_path[4096];
	bool has_pub;
};

/* The TPM answered a command: on the TPM thread, before the next one. */
static void answered(struct tpm2_rot *t)
{
	__atomic_store_n(&t->progress_ms, vg_mono_ms(), __ATOMIC_RELEASE);
}

/* ---- errors ---- */

/* A TPM response code without the handle/parameter/session number that
 * format-one codes carry. */
static TSS2_RC tpm_base(TSS2_RC rc)
{
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3fu);
	return rc & 0xfffu;
}

static bool is_tpm_layer(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	return layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER;
}

/* Maps a TSS2 code to a vg_rc: transport and TPM-busy conditions are I/O
 * errors (the TPM does not answer), a bad response HMAC is an integrity
 * error, and anything else the TPM refuses gets `tpm_err` (the caller
 * knows whether that means a damaged blob). */
static vg_rc tss_map(TSS2_RC rc, vg_rc tpm_err)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, base = rc & 0xffffu;

	if (is_tpm_layer(rc)) {
		if ((rc & TPM2_RC_FMT1) == 0 && (rc & TPM2_RC_WARN) == TPM2_RC_WARN)
			return VG_ERR_IO; /* NV_RATE, RETRY, LOCKOUT, ... */
		return tpm_err;
	}
	if (base == TSS2_BASE_RC_MEMORY)
		return VG_ERR_NOMEM;
	if (base == TSS2_BASE_RC_RSP_AUTH_FAILED)
		return VG_ERR_INTEGRITY;
	if (layer == TSS2_TCTI_RC_LAYER || layer == TSS2_RESMGR_RC_LAYER)
		return base == TSS2_BASE_RC_BAD_VALUE ? VG_ERR_INVALID : VG_ERR_IO;
	switch (base) {
	case TSS2_BASE_RC_IO_ERROR:
	case TSS2_BASE_RC_NO_CONNECTION:
	case TSS2_BASE_RC_TRY_AGAIN:
	case TSS2_BASE_RC_MALFORMED_RESPONSE:
	case TSS2_BASE_RC_INSUFFICIENT_RESPONSE:
		return VG_ERR_IO;
	default:
		return tpm_err;
	}
}

/* One line on stderr (never a secret: only the command and the code). */
static vg_rc tss_fail(const char *what, TSS2_RC rc, vg_rc tpm_err)
{
	(void)fprintf(stderr, "voxguard: tpm2: %s: %s\n", what, Tss2_RC_Decode(rc));
	return tss_map(rc, tpm_err);
}

static vg_rc fail(const char *why, vg_rc rc)
{
	(void)fprintf(stderr, "voxguard: tpm2: %s\n", why);
	return rc;
}

/* tpm2-tss logs through stderr at level "error" unless TSS2_LOG says
 * otherwise, including expected failures (a missing NV index at creation)
 * and, with the default TCTI, every device it probes. This file reports
 * what matters itself, so the library is silenced unless the operator set
 * TSS2_LOG (e.g. TSS2_LOG=all+debug to debug). */
static void tss_quiet(void)
{
	if (!getenv("TSS2_LOG"))
		(void)setenv("TSS2_LOG", "all+none", 0);
}

/* ---- the session ---- */

/* Sets the session's attributes for the next command: `bits` (DECRYPT,
 * ENCRYPT) only where the command's first parameter is a sized buffer. */
static vg_rc sess_use(struct tpm2_rot *t, TPMA_SESSION bits)
{
	TSS2_RC rc;

	/* Called before every command in the session: the one before it
	 * was answered. */
	answered(t);
	rc = Esys_TRSess_SetAttributes(t->ctx, t->sess, TPMA_SESSION_CONTINUESESSION | bits, 0xff);

	return rc == TSS2_RC_SUCCESS ? VG_OK : tss_fail("session attributes", rc, VG_ERR_INTERNAL);
}

static vg_rc start_session(struct tpm2_rot *t)
{
	const TPMT_SYM_DEF sym = {
	    .algorithm = TPM2_ALG_AES,
	    .keyBits.aes = 128,
	    .mode.aes = TPM2_ALG_CFB,
	};
	TSS2_RC rc = Esys_StartAuthSession(t->ctx, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
					   &t->sess);

	if (rc != TSS2_RC_SUCCESS) {
		t->sess = ESYS_TR_NONE;
		return tss_fail("StartAuthSession", rc, VG_ERR_IO);
	}
	return VG_OK;
}

/* ---- the storage key ---- */

static vg_rc create_srk(struct tpm2_rot *t)
{
	const TPM2B_SENSITIVE_CREATE sens = {0};
	const TPM2B_PUBLIC tmpl = {
	    .publicArea =
		{
		    .type = TPM2_ALG_ECC,
		    .nameAlg = TPM2_ALG_SHA256,
		    .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
					TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
					TPMA_OBJECT_DECRYPT,
		    .parameters.eccDetail =
			{
			    .symmetric = {.algorithm = TPM2_ALG_AES,
					  .keyBits.aes = 128,
					  .mode.aes = TPM2_ALG_CFB},
			    .scheme = {.scheme = TPM2_ALG_NULL},
			    .curveID = TPM2_ECC_NIST_P256,
			    .kdf = {.scheme = TPM2_ALG_NULL},
			},
		},
	};
	const TPM2B_DATA outside = {0};
	const TPML_PCR_SELECTION pcrs = {0};
	TSS2_RC rc;

	rc = Esys_CreatePrimary(t->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &t->srk, NULL, NULL,
				NULL, NULL);
	answered(t);
	if (rc != TSS2_RC_SUCCESS) {
		t->srk = ESYS_TR_NONE;
		return tss_fail("CreatePrimary (owner storage key)", rc, VG_ERR_IO);
	}
	return VG_OK;
}

static void flush(struct tpm2_rot *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE) {
		(void)Esys_FlushContext(t->ctx, *h);
		answered(t);
	}
	*h = ESYS_TR_NONE;
}

/* ---- NV indices ---- */

/* Finds an index; *missing tells a TPM without it from other errors. */
static vg_rc nv_find(struct tpm2_rot *t, TPM2_HANDLE index, ESYS_TR *tr, bool *missing)
{
	TSS2_RC rc =
	    Esys_TR_FromTPMPublic(t->ctx, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, tr);

	answered(t);
	*missing = false;
	if (rc == TSS2_RC_SUCCESS)
		return VG_OK;
	*tr = ESYS_TR_NONE;
	if (is_tpm_layer(rc) && tpm_base(rc) == TPM2_RC_HANDLE) {
		*missing = true;
		return VG_ERR_NOT_FOUND;
	}
	return tss_fail("NV index lookup", rc, VG_ERR_IO);
}

/* The index must be exactly what nv_define makes: these attributes (an
 * ORDERLY counter, say, would not be durable at each increment; an
 * AUTHWRITE one writable by whoever chose its auth), SHA-256 name, this
 * size, no policy. Anything else is somebody else's index, or a trap:
 * fail closed. */
static vg_rc nv_check_state(struct tpm2_rot *t, ESYS_TR tr, TPM2_HANDLE index, TPMA_NV attrs,
			    uint16_t size, TPMA_NV *state)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TSS2_RC rc =
	    Esys_NV_ReadPublic(t->ctx, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
	vg_rc ret = VG_OK;

	answered(t);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("NV_ReadPublic", rc, VG_ERR_IO);
	if (pub->nvPublic.nvIndex != index ||
	    (pub->nvPublic.attributes & ~NV_RUNTIME_ATTRS) != attrs ||
	    pub->nvPublic.nameAlg != TPM2_ALG_SHA256 || pub->nvPublic.dataSize != size ||
	    pub->nvPublic.authPolicy.size != 0) {
		(void)fprintf(stderr,
			      "voxguard: tpm2: NV index 0x%08x exists with other attributes: "
			      "not ours, refused\n",
			      (unsigned)index);
		ret = VG_ERR_INTEGRITY;
	}
	*state = pub->nvPublic.attributes & NV_RUNTIME_ATTRS;
	Esys_Free(pub);
	return ret;
}

static vg_rc nv_check(struct tpm2_rot *t, ESYS_TR tr, TPM2_HANDLE index, TPMA_NV attrs,
		      uint16_t size, bool *written)
{
	TPMA_NV state = 0;
	vg_rc v = nv_check_state(t, tr, index, attrs, size, &state);

	*written = (state & TPMA_NV_WRITTEN) != 0;
	return v;
}

static vg_rc nv_define(struct tpm2_rot *t, TPM2_HANDLE index, TPMA_NV attrs, uint16_t size,
		       ESYS_TR *tr)
{
	const TPM2B_AUTH auth = {0};
	const TPM2B_NV_PUBLIC pub = {
	    .nvPublic =
		{
		    .nvIndex = index,
		    .nameAlg = TPM2_ALG_SHA256,
		    .attributes = attrs,
		    .dataSize = size,
		},
	};
	TSS2_RC rc;
	vg_rc v = sess_use(t, 0);

	if (v != VG_OK)
		return v;
	rc = Esys_NV_DefineSpace(t->ctx, ESYS_TR_RH_OWNER, t->sess, ESYS_TR_NONE, ESYS_TR_NONE,
				 &auth, &pub, tr);
	if (rc != TSS2_RC_SUCCESS) {
		*tr = ESYS_TR_NONE;
		return tss_fail("NV_DefineSpace", rc, VG_ERR_IO);
	}
	return VG_OK;
}

/* Reads size bytes (owner authorization; the response encrypted, since the
 * erase secret is read this way too). */
static vg_rc nv_read(struct tpm2_rot *t, ESYS_TR tr, uint8_t *out, uint16_t size)
{
	TPM2B_MAX_NV_BUFFER *d = NULL;
	TSS2_RC rc;
	vg_rc v = sess_use(t, TPMA_SESSION_ENCRYPT);

	if (v != VG_OK)
		return v;
	rc = Esys_NV_Read(t->ctx, ESYS_TR_RH_OWNER, tr, t->sess, ESYS_TR_NONE, ESYS_TR_NONE, size,
			  0, &d);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("NV_Read", rc, VG_ERR_IO);
	if (d->size == size)
		memcpy(out, d->buffer, size);
	else
		v = fail("NV_Read: wrong size", VG_ERR_INTEGRITY);
	vg_wipe(d, sizeof *d);
	Esys_Free(d);
	return v;
}

/* An 8-byte index (a counter, or the security-version base) as a u64. */
static vg_rc nv_u64(struct tpm2_rot *t, ESYS_TR tr, uint64_t *value)
{
	uint8_t b[8];
	vg_rc v = nv_read(t, tr, b, sizeof b);

	*value = 0;
	for (int i = 0; v == VG_OK && i < 8; i++)
		*value = *value << 8 | b[i];
	return v;
}

static vg_rc nv_counter(struct tpm2_rot *t, uint64_t *value)
{
	return nv_u64(t, t->nv, value);
}

static vg_rc nv_increment_index(struct tpm2_rot *t, ESYS_TR tr)
{
	TSS2_RC rc = TSS2_RC_SUCCESS;

	for (int tries = 0; tries < NV_RATE_TRIES; tries++) {
		const struct timespec pause = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
		vg_rc v = sess_use(t, 0);

		if (v != VG_OK)
			return v;
		rc = Esys_NV_Increment(t->ctx, ESYS_TR_RH_OWNER, tr, t->sess, ESYS_TR_NONE,
				       ESYS_TR_NONE);
		if (rc == TSS2_RC_SUCCESS)
			return VG_OK;
		/* NV wear protection: the TPM asks us to slow down. */
		if (!is_tpm_layer(rc) || tpm_base(rc) != TPM2_RC_NV_RATE)
			break;
		(void)nanosleep(&pause, NULL);
	}
	return tss_fail("NV_Increment", rc, VG_ERR_IO);
}

static vg_rc nv_increment(struct tpm2_rot *t)
{
	return nv_increment_index(t, t->nv);
}

/* TPM2_GetRandom, RANDOM_CHUNK bytes per command, the response encrypted
 * (these bytes become keys). On failure buf is wiped. */
static vg_rc tpm_random(struct tpm2_rot *t, uint8_t *buf, size_t len)
{
	vg_rc v = VG_OK;

	for (size_t off = 0; v == VG_OK && off < len;) {
		size_t want = len - off < RANDOM_CHUNK ? len - off : RANDOM_CHUNK;
		TPM2B_DIGEST *d = NULL;
		TSS2_RC rc;

		v = sess_use(t, TPMA_SESSION_ENCRYPT);
		if (v != VG_OK)
			break;
		rc = Esys_GetRandom(t->ctx, t->sess, ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)want, &d);
		if (rc != TSS2_RC_SUCCESS) {
			v = tss_fail("GetRandom", rc, VG_ERR_IO);
			break;
		}
		if (d->size == 0 || d->size > want) {
			v = fail("GetRandom: bad size", VG_ERR_IO);
		} else {
			memcpy(buf + off, d->buffer, d->size);
			off += d->size;
		}
		vg_wipe(d, sizeof *d);
		Esys_Free(d);
	}
	if (v != VG_OK)
		vg_wipe(buf, len);
	return v;
}

/* ---- the sealed blob files ---- */

static vg_rc blob_encode(unsigned kind, const void *tpm2b, uint8_t *buf, size_t *len)
{
	size_t off = BLOB_HDR;
	TSS2_RC rc;

	memcpy(buf, BLOB_MAGIC, 4);
	buf[4] = BLOB_VERSION;
	buf[5] = (uint8_t)kind;
	if (kind == BLOB_PUBLIC)
		rc = Tss2_MU_TPM2B_PUBLIC_Marshal(tpm2b, buf, BLOB_MAX, &off);
	else
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(tpm2b, buf, BLOB_MAX, &off);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("marshal", rc, VG_ERR_INTERNAL);
	*len = off;
	return VG_OK;
}

/* Strict: our header, one TPM2B, nothing after it. */
static vg_rc blob_decode(unsigned kind, const uint8_t *buf, size_t len, void *tpm2b)
{
	size_t off = BLOB_HDR;
	TSS2_RC rc;

	if (len < BLOB_HDR || memcmp(buf, BLOB_MAGIC, 4) != 0 || buf[4] != BLOB_VERSION ||
	    buf[5] != kind)
		return VG_ERR_INTEGRITY;
	if (kind == BLOB_PUBLIC)
		rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, tpm2b);
	else
		rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, tpm2b);
	return rc == TSS2_RC_SUCCESS && off == len ? VG_OK : VG_ERR_INTEGRITY;
}

/* Reads one of our files: regular, ours, 0600 or stricter, not a symlink
 * (O_NOFOLLOW: an I/O error, as in file.c), at most BLOB_MAX bytes. */
static vg_rc blob_read(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	vg_rc rc;

	if (fd < 0)
		return VG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    st.st_uid != geteuid() || st.st_size > (off_t)BLOB_MAX) {
		(void)close(fd);
		return VG_ERR_INTEGRITY;
	}
	rc = vg_read_fd(fd, BLOB_MAX, buf, len);
	(void)close(fd);
	return rc;
}

/* 1: present (whatever it is), 0: absent, -1: cannot tell. */
static int present(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* The public area must be the one seal_new() makes: a sealed data object,
 * fixed to this TPM, no policy. The TPM checks that the private blob
 * belongs to it when loading. */
static bool sealed_public_ok(const TPM2B_PUBLIC *p)
{
	const TPMT_PUBLIC *a = &p->publicArea;

	return a->type == TPM2_ALG_KEYEDHASH && a->nameAlg == TPM2_ALG_SHA256 &&
	       ((a->objectAttributes == SEAL_ATTRS && a->authPolicy.size == 0) ||
		(a->objectAttributes == SEAL_ATTRS_BOUND && a->authPolicy.size == 32)) &&
	       a->parameters.keyedHashDetail.scheme.scheme == TPM2_ALG_NULL &&
	       a->unique.keyedHash.size == 32;
}

/* ---- the measured boot (rot/pcrpolicy.h) ---- */

/* The OEM's policy key as the TPM knows it: an ECC P-256 public key, no
 * scheme, fixed attributes (its name, and so every sealed object's
 * policy, depends on each field: never change them). */
static void policy_key_public(const struct tpm2_rot *t, TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof *p);
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->publicArea.unique.ecc.x.size = 32;
	memcpy(p->publicArea.unique.ecc.x.buffer, t->policy_x, 32);
	p->publicArea.unique.ecc.y.size = 32;
	memcpy(p->publicArea.unique.ecc.y.buffer, t->policy_y, 32);
}

/* Loads the policy key (public part, owner hierarchy: a verification
 * ticket of the null hierarchy would not satisfy PolicyAuthorize) and
 * gives its handle, its name and the authPolicy it makes. */
static vg_rc policy_key_load(struct tpm2_rot *t, ESYS_TR *h, TPM2B_NAME *name,
			     uint8_t auth[32])
{
	TPM2B_PUBLIC pub;
	TPM2B_NAME *n = NULL;
	TSS2_RC rc;
	vg_rc v;

	policy_key_public(t, &pub);
	rc = Esys_LoadExternal(t->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &pub,
			       ESYS_TR_RH_OWNER, h);
	answered(t);
	if (rc != TSS2_RC_SUCCESS) {
		*h = ESYS_TR_NONE;
		return tss_fail("LoadExternal (the PCR policy key)", rc, VG_ERR_IO);
	}
	rc = Esys_TR_GetName(t->ctx, *h, &n);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("the PCR policy key's name", rc, VG_ERR_INTERNAL);
	*name = *n;
	Esys_Free(n);
	v = vg_pcrpol_auth_policy(name->name, name->size, auth);
	return v;
}

static void pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof *sel);
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (unsigned i = 0; i < VG_ROT_PCRS; i++)
		if (mask & (1u << i))
			sel->pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* PCR_Read of the SHA-256 bank for the PCRs in mask into buf (VG_ROT_PCRS
 * * 32 bytes, PCR i at 32 * i). The TPM answers at most 8 digests per
 * command (what fits a TPML_DIGEST), so it is asked again for the rest.
 * The session rides along for audit: ESYS checks the response's HMAC. */
static vg_rc pcrs_read(struct tpm2_rot *t, uint32_t mask, uint8_t *buf)
{
	uint32_t left = mask;

	while (left) {
		TPML_PCR_SELECTION sel;
		TPML_PCR_SELECTION *got = NULL;
		TPML_DIGEST *vals = NULL;
		uint32_t update = 0, asked;
		unsigned k = 0;
		TSS2_RC rc;
		vg_rc v;

		pcr_selection(left, &sel);
		v = sess_use(t, TPMA_SESSION_AUDIT);
		if (v != VG_OK)
			return v;
		rc = Esys_PCR_Read(t->ctx, t->sess, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &update, &got,
				   &vals);
		if (rc != TSS2_RC_SUCCESS)
			return tss_fail("PCR_Read", rc, VG_ERR_IO);
		/* The TPM says which it answered: in ascending order, each a
		 * 32-byte digest, only ones asked for, at least one. */
		asked = left;
		v = got->count == 1 && got->pcrSelections[0].hash == TPM2_ALG_SHA256 &&
			    got->pcrSelections[0].sizeofSelect <= 3
			? VG_OK
			: VG_ERR_INTEGRITY;
		for (unsigned i = 0; v == VG_OK && i < 8u * got->pcrSelections[0].sizeofSelect;
		     i++) {
			if (!(got->pcrSelections[0].pcrSelect[i / 8] & (1u << (i % 8))))
				continue;
			if (!(asked & (1u << i)) || k >= vals->count ||
			    vals->digests[k].size != 32) {
				v = VG_ERR_INTEGRITY;
				break;
			}
			memcpy(buf + 32u * i, vals->digests[k].buffer, 32);
			left &= ~(1u << i);
			k++;
		}
		if (v == VG_OK && (k == 0 || k != vals->count))
			v = VG_ERR_INTEGRITY;
		Esys_Free(got);
		Esys_Free(vals);
		if (v != VG_OK)
			return fail("PCR_Read: an answer that is not what was asked", v);
	}
	return VG_OK;
}

/* ---- creation and loading ---- */

/* A fresh state dir: counter index (defined or reused), base, root key,
 * sealed object, files. The private blob is written first; a state dir with
 * only one of the two files is refused at open. */
static vg_rc seal_new(struct tpm2_rot *t, const char *pub_path, const char *priv_path)
{
	TPM2B_SENSITIVE_CREATE *sens = NULL;
	TPM2B_PUBLIC tmpl = {
	    .publicArea =
		{
		    .type = TPM2_ALG_KEYEDHASH,
		    .nameAlg = TPM2_ALG_SHA256,
		    .objectAttributes = SEAL_ATTRS,
		    .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
		},
	};
	const TPM2B_DATA outside = {0};
	const TPML_PCR_SELECTION pcrs = {0};
	TPM2B_PRIVATE *opriv = NULL;
	TPM2B_PUBLIC *opub = NULL;
	uint8_t buf[BLOB_MAX];
	size_t len;
	uint64_t base;
	bool missing, written;
	TSS2_RC rc;
	vg_rc v;

	/* Sealed to the measured boot: only a PolicyAuthorize by the OEM's
	 * key opens it. */
	if (t->has_policy_key) {
		ESYS_TR key = ESYS_TR_NONE;
		TPM2B_NAME name;

		v = policy_key_load(t, &key, &name, tmpl.publicArea.authPolicy.buffer);
		flush(t, &key);
		if (v != VG_OK)
			return v;
		tmpl.publicArea.authPolicy.size = 32;
		tmpl.publicArea.objectAttributes = SEAL_ATTRS_BOUND;
	}
	v = nv_find(t, VG_TPM2_NV_COUNTER, &t->nv, &missing);
	if (v == VG_OK) /* left by an earlier installation: reused */
		v = nv_check(t, t->nv, VG_TPM2_NV_COUNTER, COUNTER_ATTRS, 8, &written);
	else if (missing)
		v = nv_define(t, VG_TPM2_NV_COUNTER, COUNTER_ATTRS, 8, &t->nv);
	if (v == VG_OK)
		v = nv_increment(t); /* gives the counter its value */
	if (v == VG_OK)
		v = nv_counter(t, &base);
	if (v != VG_OK)
		return v;

	sens = vg_secret_alloc(sizeof *sens);
	if (!sens)
		return VG_ERR_NOMEM;
	sens->sensitive.data.size = SEALED_LEN;
	v = tpm_random(t, sens->sensitive.data.buffer, VG_KEY_LEN);
	if (v != VG_OK)
		goto out;
	for (int i = 0; i < 8; i++)
		sens->sensitive.data.buffer[VG_KEY_LEN + i] = (uint8_t)(base >> (56 - 8 * i));

	v = sess_use(t, TPMA_SESSION_DECRYPT);
	if (v != VG_OK)
		goto out;
	rc = Esys_Create(t->ctx, t->srk, t->sess, ESYS_TR_NONE, ESYS_TR_NONE, sens, &tmpl, &outside,
			 &pcrs, &opriv, &opub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		v = tss_fail("Create (sealed root key)", rc, VG_ERR_IO);
		goto out;
	}
	v = blob_encode(BLOB_PRIVATE, opriv, buf, &len);
	if (v == VG_OK)
		v = vg_write_file_atomic(priv_path, buf, len, 0600);
	if (v == VG_OK)
		v = blob_encode(BLOB_PUBLIC, opub, buf, &len);
	if (v == VG_OK)
		v = vg_write_file_atomic(pub_path, buf, len, 0600);
	if (v != VG_OK) {
		(void)unlink(priv_path);
		(void)fprintf(stderr, "voxguard: tpm2: cannot write %s: %s\n", priv_path,
			      vg_rc_str(v));
	}
out:
	vg_secret_free(sens, sizeof *sens);
	Esys_Free(opriv);
	Esys_Free(opub);
	return v;
}

/* One signed entry: a policy session (salted to the storage key, the
 * response encrypted) in which the TPM checks this boot's PCRs against
 * the entry's values (PolicyPCR) and the OEM's signature over them
 * (VerifySignature, PolicyAuthorize), then unseals. */
static vg_rc policy_unseal(struct tpm2_rot *t, ESYS_TR obj, ESYS_TR key, const TPM2B_NAME *name,
			   const vg_pcrpol_entry *e, TPM2B_SENSITIVE_DATA **out)
{
	const TPMT_SYM_DEF sym = {
	    .algorithm = TPM2_ALG_AES,
	    .keyBits.aes = 128,
	    .mode.aes = TPM2_ALG_CFB,
	};
	uint8_t cat[VG_ROT_PCRS * 32], want[32];
	TPM2B_DIGEST pcr_digest = {.size = 32}, ahash = {.size = 32};
	TPM2B_NONCE ref = {.size = sizeof VG_PCRPOL_REF - 1};
	TPM2B_DIGEST *approved = NULL;
	TPMT_TK_VERIFIED *ticket = NULL;
	TPMT_SIGNATURE sig;
	TPML_PCR_SELECTION sel;
	ESYS_TR ps = ESYS_TR_NONE;
	size_t k = 0;
	TSS2_RC rc;
	vg_rc v;

	memcpy(ref.buffer, VG_PCRPOL_REF, ref.size);
	for (unsigned i = 0; i < VG_ROT_PCRS; i++)
		if (e->mask & (1u << i))
			memcpy(cat + 32 * k++, e->values[i], 32);
	v = vg_sha256(cat, 32 * k, pcr_digest.buffer);
	if (v == VG_OK)
		v = vg_pcrpol_approved(e->mask, e->values, want);
	memset(&sig, 0, sizeof sig);
	sig.sigAlg = TPM2_ALG_ECDSA;
	sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
	sig.signature.ecdsa.signatureR.size = 32;
	sig.signature.ecdsa.signatureS.size = 32;
	if (v == VG_OK &&
	    vg_pcrpol_sig_rs(e->sig, e->sig_len, sig.signature.ecdsa.signatureR.buffer,
			     sig.signature.ecdsa.signatureS.buffer) != VG_OK)
		return fail("signed PCR policy: a signature that is not DER ECDSA", VG_ERR_VERIFY_FAILED);
	if (v != VG_OK)
		return v;
	pcr_selection(e->mask, &sel);

	rc = Esys_StartAuthSession(t->ctx, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &ps);
	answered(t);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("StartAuthSession (policy)", rc, VG_ERR_IO);
	rc = Esys_PolicyPCR(t->ctx, ps, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pcr_digest, &sel);
	answered(t);
	if (rc != TSS2_RC_SUCCESS) {
		v = tss_fail("PolicyPCR (the PCRs changed since they were read?)", rc, VG_ERR_STATE);
		goto out;
	}
	rc = Esys_PolicyGetDigest(t->ctx, ps, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &approved);
	answered(t);
	if (rc != TSS2_RC_SUCCESS) {
		v = tss_fail("PolicyGetDigest", rc, VG_ERR_IO);
		goto out;
	}
	/* What the OEM signed is computed the same way (pcrpolicy.c). */
	if (approved->size != 32 || memcmp(approved->buffer, want, 32) != 0) {
		v = fail("PolicyPCR: the TPM's policy digest is not the computed one", VG_ERR_INTERNAL);
		goto out;
	}
	v = vg_pcrpol_ahash(want, ahash.buffer);
	if (v != VG_OK)
		goto out;
	rc = Esys_VerifySignature(t->ctx, key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &ahash, &sig,
				  &ticket);
	answered(t);
	if (rc != TSS2_RC_SUCCESS) {
		v = tss_fail("VerifySignature (the signed PCR policy's signature)", rc,
			     VG_ERR_VERIFY_FAILED);
		goto out;
	}
	rc = Esys_PolicyAuthorize(t->ctx, ps, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, approved, &ref,
				  name, ticket);
	answered(t);
	if (rc != TSS2_RC_SUCCESS) {
		v = tss_fail("PolicyAuthorize", rc, VG_ERR_VERIFY_FAILED);
		goto out;
	}
	/* Not continued: the TPM ends the session with the unseal. */
	rc = Esys_TRSess_SetAttributes(t->ctx, ps, TPMA_SESSION_ENCRYPT, 0xff);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_Unseal(t->ctx, obj, ps, ESYS_TR_NONE, ESYS_TR_NONE, out);
		answered(t);
		if (rc == TSS2_RC_SUCCESS)
			ps = ESYS_TR_NONE;
	}
	if (rc != TSS2_RC_SUCCESS)
		v = tss_fail("Unseal (policy)", rc, VG_ERR_INTEGRITY);
out:
	flush(t, &ps);
	Esys_Free(approved);
	Esys_Free(ticket);
	return v;
}

/* The PCR numbers in mask as "0, 4 and 9". */
static void pcr_list(uint32_t mask, char *out, size_t cap)
{
	size_t len = 0;
	unsigned left = 0;

	out[0] = '\0';
	for (uint32_t m = mask; m; m &= m - 1)
		left++;
	for (unsigned i = 0; i < VG_ROT_PCRS && len < cap; i++) {
		if (!(mask & (1u << i)))
			continue;
		left--;
		len += (size_t)snprintf(out + len, cap - len, "%s%u",
					len == 0 ? "" : left == 0 ? " and " : ", ", i);
	}
}

/* This boot cannot open the root key: why, kept for vg_rot_sealed_why. */
static vg_rc sealed_fail(struct tpm2_rot *t, const char *why, vg_rc rc)
{
	(void)snprintf(t->sealed_why, sizeof t->sealed_why, "%s", why);
	return fail(why, rc);
}

/* A root key sealed to the measured boot: the signed entry whose values
 * are this boot's PCRs opens it. */
static vg_rc unseal_bound(struct tpm2_rot *t, ESYS_TR obj, const TPM2B_PUBLIC *pub,
			  TPM2B_SENSITIVE_DATA **out)
{
	uint8_t auth[32], *now = NULL;
	ESYS_TR key = ESYS_TR_NONE;
	TPM2B_NAME name;
	uint32_t all = 0, best_diff = 0;
	unsigned best = 0, best_n = VG_ROT_PCRS + 1;
	size_t best_i = 0;
	char msg[512], pcrs[96];
	vg_rc v;

	if (!t->has_policy_key)
		return sealed_fail(t,
				   "the root key is sealed to the measured boot, and no PCR "
				   "policy key is configured (rot_policy_key)",
				   VG_ERR_STATE);
	v = policy_key_load(t, &key, &name, auth);
	if (v != VG_OK)
		goto out;
	if (memcmp(auth, pub->publicArea.authPolicy.buffer, 32) != 0) {
		v = sealed_fail(t,
				"the root key is sealed to another PCR policy key than "
				"rot_policy_key",
				VG_ERR_INTEGRITY);
		goto out;
	}
	if (t->pol_rc != VG_OK) {
		(void)snprintf(msg, sizeof msg, "the signed PCR policy (rot_policy): %s",
			       t->pol_why);
		v = sealed_fail(t, msg, VG_ERR_STATE);
		goto out;
	}
	for (size_t i = 0; i < t->n_pol; i++)
		all |= t->pol[i].mask;
	now = calloc(VG_ROT_PCRS, 32);
	v = now ? pcrs_read(t, all, now) : VG_ERR_NOMEM;
	if (v != VG_OK)
		goto out;
	v = VG_ERR_STATE;
	for (size_t i = 0; i < t->n_pol; i++) {
		uint32_t d = vg_pcrpol_differs(&t->pol[i], (const uint8_t(*)[32])now);
		unsigned nd = 0;

		for (uint32_t m = d; m; m &= m - 1)
			nd++;
		if (nd < best_n) {
			best_n = nd;
			best_diff = d;
			best_i = i;
		}
		if (d)
			continue;
		v = policy_unseal(t, obj, key, &name, &t->pol[i], out);
		if (v == VG_OK) {
			(void)fprintf(stderr,
				      "voxguard: tpm2: the root key is sealed to the measured boot; "
				      "opened by the signed PCR policy's line %u\n",
				      t->pol[i].line);
			goto out;
		}
		/* An entry matched but did not open: its error stands. */
		best = 1;
		(void)snprintf(msg, sizeof msg,
			       "the signed PCR policy's line %u names this boot, but the TPM "
			       "refused it: %s",
			       t->pol[i].line, vg_rc_str(v));
		(void)snprintf(t->sealed_why, sizeof t->sealed_why, "%s", msg);
	}
	if (!best) {
		pcr_list(best_diff, pcrs, sizeof pcrs);
		(void)snprintf(msg, sizeof msg,
			       "this boot is not one the OEM signed for: PCR %s differ%s from the "
			       "nearest of the %zu signed entries (line %u of the policy file)",
			       pcrs, best_n == 1 ? "s" : "", t->n_pol, t->pol[best_i].line);
		v = sealed_fail(t, msg, VG_ERR_STATE);
	}
out:
	free(now);
	flush(t, &key);
	return v;
}

static vg_rc unseal(struct tpm2_rot *t, const char *pub_path, const char *priv_path)
{
	TPM2B_SENSITIVE_DATA *out = NULL;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR obj = ESYS_TR_NONE;
	uint8_t *b = NULL;
	size_t n;
	TSS2_RC rc;
	vg_rc v;

	memset(&pub, 0, sizeof pub);
	memset(&priv, 0, sizeof priv);
	v = blob_read(pub_path, &b, &n);
	if (v == VG_OK) {
		v = blob_decode(BLOB_PUBLIC, b, n, &pub);
		free(b);
	}
	if (v == VG_OK && !sealed_public_ok(&pub))
		v = VG_ERR_INTEGRITY;
	if (v != VG_OK)
		return fail("tpm2-root.pub: unreadable, damaged or not ours", v);
	v = blob_read(priv_path, &b, &n);
	if (v == VG_OK) {
		v = blob_decode(BLOB_PRIVATE, b, n, &priv);
		free(b);
	}
	if (v != VG_OK)
		return fail("tpm2-root.priv: unreadable, damaged or not ours", v);

	v = sess_use(t, 0);
	if (v != VG_OK)
		return v;
	rc = Esys_Load(t->ctx, t->srk, t->sess, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &obj);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("Load (sealed root key; another TPM, a cleared TPM or a damaged "
				"blob)",
				rc, VG_ERR_INTEGRITY);
	t->bound = pub.publicArea.authPolicy.size != 0;
	if (t->bound) {
		v = unseal_bound(t, obj, &pub, &out);
	} else {
		if (t->has_policy_key)
			(void)fprintf(stderr,
				      "voxguard: tpm2: the root key was sealed before rot_policy_key "
				      "was set: it is not bound to the measured boot (a new state dir "
				      "is)\n");
		v = sess_use(t, TPMA_SESSION_ENCRYPT);
		if (v == VG_OK) {
			rc = Esys_Unseal(t->ctx, obj, t->sess, ESYS_TR_NONE, ESYS_TR_NONE, &out);
			if (rc != TSS2_RC_SUCCESS)
				v = tss_fail("Unseal", rc, VG_ERR_INTEGRITY);
		}
	}
	flush(t, &obj);
	if (v != VG_OK)
		return v;
	if (out->size != SEALED_LEN) {
		v = fail("Unseal: unexpected size", VG_ERR_INTEGRITY);
	} else {
		memcpy(t->root, out->buffer, VG_KEY_LEN);
		t->base = 0;
		for (unsigned i = 0; i < 8; i++)
			t->base = t->base << 8 | out->buffer[VG_KEY_LEN + i];
	}
	vg_wipe(out, sizeof *out);
	Esys_Free(out);
	return v;
}

/* ---- the ops ---- */

static vg_rc tpm2_derive(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
			 uint8_t out[VG_KEY_LEN])
{
	struct tpm2_rot *t = r->priv;

	return vg_hkdf(t->root, VG_KEY_LEN, label, ctx, ctx_len, out);
}

static vg_rc counter_now(struct tpm2_rot *t, uint64_t *value)
{
	uint64_t nv;
	vg_rc v = nv_counter(t, &nv);

	if (v != VG_OK)
		return v;
	if (nv < t->base)
		return fail("NV counter below the sealed base: not this device's counter",
			    VG_ERR_INTEGRITY);
	*value = nv - t->base;
	return VG_OK;
}

static vg_rc run_counter_read(struct tpm2_rot *t, struct tpm_call *c)
{
	return counter_now(t, &c->u64);
}

static vg_rc run_counter_advance(struct tpm2_rot *t, struct tpm_call *c)
{
	uint64_t cur, value = c->u64;
	vg_rc v = counter_now(t, &cur);

	if (v != VG_OK || value <= cur)
		return v;
	if (value - cur > ADVANCE_MAX)
		return fail("counter_advance: step too large for an NV counter", VG_ERR_INVALID);
	/* Each increment is durable in NV when it returns (the index is not
	 * orderly); a failure part-way leaves a higher, never a lower value. */
	for (uint64_t i = cur; i < value; i++) {
		v = nv_increment(t);
		if (v != VG_OK)
			return v;
	}
	return VG_OK;
}

static vg_rc run_random(struct tpm2_rot *t, struct tpm_call *c)
{
	return tpm_random(t, c->buf, c->len);
}

static vg_rc run_measure(struct tpm2_rot *t, struct tpm_call *c)
{
	TPML_DIGEST_VALUES dv;
	TSS2_RC rc;
	vg_rc v;

	memset(&dv, 0, sizeof dv);
	dv.count = 1;
	dv.digests[0].hashAlg = TPM2_ALG_SHA256;
	memcpy(dv.digests[0].digest.sha256, c->digest, 32);
	v = sess_use(t, 0);
	if (v != VG_OK)
		return v;
	rc = Esys_PCR_Extend(t->ctx, ESYS_TR_PCR0 + VG_TPM2_PCR, t->sess, ESYS_TR_NONE,
			     ESYS_TR_NONE, &dv);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("PCR_Extend", rc, VG_ERR_IO);
	return VG_OK;
}

static vg_rc run_pcr_read(struct tpm2_rot *t, struct tpm_call *c)
{
	return pcrs_read(t, (uint32_t)c->u64, c->buf);
}

static vg_rc run_erase_secret(struct tpm2_rot *t, struct tpm_call *c)
{
	bool rotate = c->flag;
	uint8_t *out = c->buf; /* VG_KEY_LEN */
	ESYS_TR tr = ESYS_TR_NONE;
	bool missing, written = false;
	vg_rc v = nv_find(t, VG_TPM2_NV_ERASE, &tr, &missing);

	if (missing)
		v = nv_define(t, VG_TPM2_NV_ERASE, ERASE_ATTRS, VG_KEY_LEN, &tr);
	else if (v == VG_OK)
		v = nv_check(t, tr, VG_TPM2_NV_ERASE, ERASE_ATTRS, VG_KEY_LEN, &written);
	if (v == VG_OK && written && !rotate) {
		/* A read error is an error: never a reason to make a new secret,
		 * which would crypto-erase every user's data. */
		v = nv_read(t, tr, out, VG_KEY_LEN);
	} else if (v == VG_OK) {
		/* New, never written (a crash right after the define), or a
		 * rotation: the old value is overwritten in NV, durably. */
		TPM2B_MAX_NV_BUFFER *data = vg_secret_alloc(sizeof *data);
		TSS2_RC rc;

		v = data ? tpm_random(t, out, VG_KEY_LEN) : VG_ERR_NOMEM;
		if (v == VG_OK)
			v = sess_use(t, TPMA_SESSION_DECRYPT);
		if (v == VG_OK) {
			data->size = VG_KEY_LEN;
			memcpy(data->buffer, out, VG_KEY_LEN);
			rc = Esys_NV_Write(t->ctx, ESYS_TR_RH_OWNER, tr, t->sess, ESYS_TR_NONE,
					   ESYS_TR_NONE, data, 0);
			if (rc != TSS2_RC_SUCCESS)
				v = tss_fail("NV_Write (erase secret)", rc, VG_ERR_IO);
		}
		vg_secret_free(data, sizeof *data);
	}
	if (tr != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->ctx, &tr);
	if (v != VG_OK)
		vg_wipe(out, VG_KEY_LEN);
	return v;
}

/* ---- the security-version counter ---- */

/* Records the base: an 8-byte big-endian value into the (unwritten) base
 * index, then locks the index for good. */
static vg_rc secver_base_write(struct tpm2_rot *t, ESYS_TR tr, uint64_t base)
{
	TPM2B_MAX_NV_BUFFER data;
	TSS2_RC rc;
	vg_rc v = sess_use(t, 0);

	if (v != VG_OK)
		return v;
	memset(&data, 0, sizeof data);
	data.size = 8;
	for (int i = 0; i < 8; i++)
		data.buffer[i] = (uint8_t)(base >> (56 - 8 * i));
	rc = Esys_NV_Write(t->ctx, ESYS_TR_RH_OWNER, tr, t->sess, ESYS_TR_NONE, ESYS_TR_NONE, &data,
			   0);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("NV_Write (security-version base)", rc, VG_ERR_IO);
	return VG_OK;
}

static vg_rc secver_base_lock(struct tpm2_rot *t, ESYS_TR tr)
{
	TSS2_RC rc;
	vg_rc v = sess_use(t, 0);

	if (v != VG_OK)
		return v;
	rc = Esys_NV_WriteLock(t->ctx, ESYS_TR_RH_OWNER, tr, t->sess, ESYS_TR_NONE, ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("NV_WriteLock (security-version base)", rc, VG_ERR_IO);
	return VG_OK;
}

/*
 * Finds, checks or creates the security-version counter and its base, on
 * first use. Every step is redone after a crash until the base is
 * written: define the counter, increment it once, define the base index,
 * write NV into it, lock it. Until the base is written nothing can have
 * advanced the counter (advancing needs the base), so a written counter
 * without a written base (a crash, or a TPM from before this index existed)
 * takes its current value as the base: security version 0. A written base
 * without its written counter (the counter undefined, or redefined, since)
 * is refused, never silently restarted.
 */
static vg_rc secver_setup(struct tpm2_rot *t)
{
	ESYS_TR ctr = ESYS_TR_NONE, base_tr = ESYS_TR_NONE;
	bool ctr_missing = false, base_missing = false, ctr_written = false;
	TPMA_NV base_state = 0;
	uint64_t base = 0, nv = 0;
	vg_rc v;

	if (t->secver_ready)
		return VG_OK;
	v = nv_find(t, VG_TPM2_NV_SECVER, &ctr, &ctr_missing);
	if (v == VG_OK)
		v = nv_check(t, ctr, VG_TPM2_NV_SECVER, COUNTER_ATTRS, 8, &ctr_written);
	else if (ctr_missing)
		v = VG_OK;
	if (v != VG_OK)
		goto out;
	v = nv_find(t, VG_TPM2_NV_SECVER_BASE, &base_tr, &base_missing);
	if (v == VG_OK)
		v = nv_check_state(t, base_tr, VG_TPM2_NV_SECVER_BASE, SECVER_BASE_ATTRS, 8,
				   &base_state);
	else if (base_missing)
		v = VG_OK;
	if (v != VG_OK)
		goto out;
	if ((base_state & TPMA_NV_WRITTEN) && !ctr_written) {
		v = fail("security-version base recorded but its NV counter 0x01500018 is "
			 "missing or was redefined (TPM NV tampered with): refused",
			 VG_ERR_INTEGRITY);
		goto out;
	}
	if (ctr_missing)
		v = nv_define(t, VG_TPM2_NV_SECVER, COUNTER_ATTRS, 8, &ctr);
	if (v == VG_OK && !ctr_written)
		v = nv_increment_index(t, ctr); /* gives the counter its value */
	if (v == VG_OK && base_missing)
		v = nv_define(t, VG_TPM2_NV_SECVER_BASE, SECVER_BASE_ATTRS, 8, &base_tr);
	if (v != VG_OK)
		goto out;
	if (base_state & TPMA_NV_WRITTEN) {
		v = nv_u64(t, base_tr, &base);
	} else {
		v = nv_u64(t, ctr, &base);
		if (v == VG_OK)
			v = secver_base_write(t, base_tr, base);
	}
	if (v == VG_OK && !(base_state & TPMA_NV_WRITELOCKED))
		v = secver_base_lock(t, base_tr);
	if (v == VG_OK)
		v = nv_u64(t, ctr, &nv);
	if (v == VG_OK && nv < base)
		v = fail("security-version counter below its base: not the base's counter",
			 VG_ERR_INTEGRITY);
	if (v == VG_OK) {
		t->secver = ctr;
		t->secver_base = base;
		t->secver_ready = true;
		ctr = ESYS_TR_NONE;
	}
out:
	if (ctr != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->ctx, &ctr);
	if (base_tr != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->ctx, &base_tr);
	return v;
}

static vg_rc secver_now(struct tpm2_rot *t, uint64_t *value)
{
	uint64_t nv;
	vg_rc v = secver_setup(t);

	if (v == VG_OK)
		v = nv_u64(t, t->secver, &nv);
	if (v != VG_OK)
		return v;
	if (nv < t->secver_base)
		return fail("security-version counter below its base: not this device's counter",
			    VG_ERR_INTEGRITY);
	*value = nv - t->secver_base;
	return VG_OK;
}

static vg_rc run_secver_read(struct tpm2_rot *t, struct tpm_call *c)
{
	return secver_now(t, &c->u64);
}

static vg_rc run_secver_advance(struct tpm2_rot *t, struct tpm_call *c)
{
	uint64_t cur, value = c->u64;
	vg_rc v = secver_now(t, &cur);

	if (v != VG_OK || value <= cur)
		return v;
	if (value - cur > VG_ROT_SECVER_MAX_STEP)
		return fail("secver_advance: step too large for an NV counter", VG_ERR_INVALID);
	/* One durable NV write per step; a failure part-way leaves a higher,
	 * never a lower value. */
	for (uint64_t i = cur; i < value; i++) {
		v = nv_increment_index(t, t->secver);
		if (v != VG_OK)
			return v;
	}
	return VG_OK;
}

/* ---- the TPM thread (see Time) ---- */

static struct tpm_call *call_new(vg_rc (*fn)(struct tpm2_rot *, struct tpm_call *), size_t len)
{
	struct tpm_call *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->fn = fn;
	c->len = len;
	if (len && !(c->buf = vg_secret_alloc(len))) {
		free(c);
		return NULL;
	}
	return c;
}

static void call_free(struct tpm_call *c)
{
	if (!c)
		return;
	if (c->buf)
		vg_secret_free(c->buf, c->len);
	vg_wipe(c, sizeof *c);
	free(c);
}

static void tpm2_free(struct tpm2_rot *t);

/* Handles closed while their TPM did not answer (thread_stop), until
 * their thread frees them: held here so that what the process leaves at
 * its exit is reachable, not a leak (LeakSanitizer agrees). */
#define MAX_ORPHANS 8
static pthread_mutex_t orphans_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tpm2_rot *orphans[MAX_ORPHANS];

static void orphan_hold(struct tpm2_rot *t, bool hold)
{
	(void)pthread_mutex_lock(&orphans_mu);
	for (size_t i = 0; i < MAX_ORPHANS; i++)
		if (orphans[i] == (hold ? NULL : t)) {
			orphans[i] = hold ? t : NULL;
			break;
		}
	(void)pthread_mutex_unlock(&orphans_mu);
}

static void *tpm_thread(void *arg)
{
	bool orphaned;
	struct tpm2_rot *t = arg;

	(void)pthread_mutex_lock(&t->mu);
	for (;;) {
		struct tpm_call *c;
		vg_rc rc;

		while (!t->queued && !t->stop)
			(void)pthread_cond_wait(&t->work, &t->mu);
		if (!t->queued)
			break;
		c = t->queued;
		t->queued = NULL;
		t->running = c;
		answered(t);
		(void)pthread_mutex_unlock(&t->mu);
		rc = c->fn(t, c);
		(void)pthread_mutex_lock(&t->mu);
		t->running = NULL;
		c->rc = rc;
		if (c->detached) {
			if (rc == VG_OK && c->u64 > t->bg_confirmed)
				t->bg_confirmed = c->u64;
			else if (rc != VG_OK)
				t->bg_rc = rc;
		}
		if (c->abandoned || c->detached) {
			/* The TPM answered the command its caller gave up on. */
			if (t->down_since) {
				t->down_since = 0;
				t->recoveries++;
				(void)fprintf(stderr, "voxguard: tpm2: the TPM answers again\n");
			}
			call_free(c);
		} else {
			c->done = true;
		}
		(void)pthread_cond_broadcast(&t->done);
	}
	orphaned = t->orphaned;
	(void)pthread_mutex_unlock(&t->mu);
	/* Closed while the TPM did not answer, and it has answered since:
	 * what the close could not release is released now. */
	if (orphaned) {
		orphan_hold(t, false);
		tpm2_free(t);
	}
	return NULL;
}

static void deadline_in(struct timespec *ts, uint32_t ms)
{
	(void)clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000u);
	ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Under mu: when b's silence began: when it was queued, or, running, when
 * the TPM last answered one of its commands. */
static uint64_t quiet_from(struct tpm2_rot *t, const struct tpm_call *b)
{
	uint64_t p = __atomic_load_n(&t->progress_ms, __ATOMIC_ACQUIRE);

	return b == t->running && p > b->sent_ms ? p : b->sent_ms;
}

static bool overdue(struct tpm2_rot *t, const struct tpm_call *b)
{
	return quiet_from(t, b) + t->timeout_ms <= vg_mono_ms();
}

/* Under mu: command c got no answer within the bound. */
static void mark_down(struct tpm2_rot *t, const struct tpm_call *c, const char *what)
{
	t->timeouts++;
	if (t->down_since)
		return;
	/* Unix time of the silence's start (the monotonic clock measured it). */
	{
		uint64_t quiet = vg_mono_ms() - quiet_from(t, c), now = (uint64_t)time(NULL);
		t->down_since = now > quiet / 1000u ? now - quiet / 1000u : 1;
	}
	(void)fprintf(stderr,
		      "voxguard: tpm2: %s: the TPM did not answer within %u ms; commands to it "
		      "fail until it answers\n",
		      what, (unsigned)t->timeout_ms);
}

/* Under mu: waits for the thread to finish something, or for b's bound. */
static void wait_for(struct tpm2_rot *t, const struct tpm_call *b)
{
	uint64_t at = quiet_from(t, b) + t->timeout_ms, now = vg_mono_ms();
	struct timespec ts;

	deadline_in(&ts, at > now ? (uint32_t)(at - now) : 0);
	(void)pthread_cond_timedwait(&t->done, &t->mu, &ts);
}

/*
 * Runs *pc on the TPM thread and waits for it as long as the TPM answers
 * its commands, each within t->timeout_ms. On
 * return *pc is the caller's again (its outputs filled when the result is
 * VG_OK), or NULL when the caller gave up waiting (VG_ERR_TIMEOUT: the
 * thread owns it now). A TPM already not answering fails at once
 * (VG_ERR_TIMEOUT, *pc still the caller's).
 */
static vg_rc tpm_call(struct tpm2_rot *t, struct tpm_call **pc, const char *what)
{
	struct tpm_call *c = *pc;
	vg_rc rc;

	(void)pthread_mutex_lock(&t->mu);
	/* A counter advance started without a waiter may be under way: wait
	 * for it, while the TPM answers it. A command known to be unanswered:
	 * nothing queues behind it. */
	while ((t->running || t->queued) && !t->down_since) {
		const struct tpm_call *b = t->running ? t->running : t->queued;

		if (overdue(t, b))
			mark_down(t, b, what);
		else
			wait_for(t, b);
	}
	if (t->running || t->queued) {
		(void)pthread_mutex_unlock(&t->mu);
		return VG_ERR_TIMEOUT;
	}
	c->sent_ms = vg_mono_ms();
	t->queued = c;
	(void)pthread_cond_signal(&t->work);
	while (!c->done && !overdue(t, c))
		wait_for(t, c);
	if (c->done) {
		rc = c->rc;
		(void)pthread_mutex_unlock(&t->mu);
		return rc;
	}
	if (t->queued == c) {
		/* Never sent: the thread did not get to it. */
		t->timeouts++;
		t->queued = NULL;
		(void)pthread_mutex_unlock(&t->mu);
		return VG_ERR_TIMEOUT;
	}
	c->abandoned = true;
	*pc = NULL;
	mark_down(t, c, what);
	(void)pthread_mutex_unlock(&t->mu);
	return VG_ERR_TIMEOUT;
}

/*
 * Raises the counter to value without waiting for the TPM (the database's
 * RoT sync at the end of an event-loop round: a TPM that stops answering
 * there must not hold the loop). *done: the TPM has confirmed value. VG_OK
 * with !*done: under way (ask again later); VG_ERR_TIMEOUT: the TPM does
 * not answer (or a command it has not answered is older than the bound);
 * another error: the last advance started this way failed (reported once).
 */
static vg_rc tpm2_counter_start(vg_rot *r, uint64_t value, bool *done)
{
	struct tpm2_rot *t = r->priv;
	struct tpm_call *c;
	vg_rc rc = VG_OK;

	*done = false;
	(void)pthread_mutex_lock(&t->mu);
	if (t->bg_rc != VG_OK) {
		rc = t->bg_rc;
		t->bg_rc = VG_OK;
	} else if (t->bg_confirmed >= value) {
		*done = true;
	} else if (t->running || t->queued) {
		const struct tpm_call *b = t->running ? t->running : t->queued;

		if (!t->down_since && overdue(t, b))
			mark_down(t, b, "counter advance");
		if (t->down_since)
			rc = VG_ERR_TIMEOUT;
		/* else: under way (or another command is): ask again later */
	} else if ((c = call_new(run_counter_advance, 0)) == NULL) {
		rc = VG_ERR_NOMEM;
	} else {
		c->u64 = value;
		c->detached = true;
		c->sent_ms = vg_mono_ms();
		t->queued = c;
		(void)pthread_cond_signal(&t->work);
	}
	(void)pthread_mutex_unlock(&t->mu);
	return rc;
}

/* A call with a counter in and out (u64) and len secret bytes out. */
static vg_rc call_u64(struct tpm2_rot *t, vg_rc (*fn)(struct tpm2_rot *, struct tpm_call *),
		      const char *what, uint64_t in, uint64_t *out)
{
	struct tpm_call *c = call_new(fn, 0);
	vg_rc v;

	if (!c)
		return VG_ERR_NOMEM;
	c->u64 = in;
	v = tpm_call(t, &c, what);
	if (c && v == VG_OK && out)
		*out = c->u64;
	call_free(c);
	return v;
}

static vg_rc tpm2_counter_read(vg_rot *r, uint64_t *value)
{
	return call_u64(r->priv, run_counter_read, "counter read", 0, value);
}

static vg_rc tpm2_counter_advance(vg_rot *r, uint64_t value)
{
	return call_u64(r->priv, run_counter_advance, "counter advance", value, NULL);
}

static vg_rc tpm2_secver_read(vg_rot *r, uint64_t *value)
{
	vg_rc v = call_u64(r->priv, run_secver_read, "security-version read", 0, value);

	if (v != VG_OK)
		*value = 0;
	return v;
}

static vg_rc tpm2_secver_advance(vg_rot *r, uint64_t value)
{
	return call_u64(r->priv, run_secver_advance, "security-version advance", value, NULL);
}

static vg_rc tpm2_random(vg_rot *r, uint8_t *buf, size_t len)
{
	struct tpm_call *c;
	vg_rc v;

	if (!buf && len)
		return VG_ERR_INVALID;
	if (!len)
		return VG_OK;
	c = call_new(run_random, len);
	if (!c)
		return VG_ERR_NOMEM;
	v = tpm_call(r->priv, &c, "GetRandom");
	if (c && v == VG_OK)
		memcpy(buf, c->buf, len);
	call_free(c);
	return v;
}

static vg_rc tpm2_measure(vg_rot *r, const char *what, const uint8_t digest[32])
{
	struct tpm_call *c;
	vg_rc v;

	if (!what || !*what)
		return VG_ERR_INVALID;
	c = call_new(run_measure, 0);
	if (!c)
		return VG_ERR_NOMEM;
	memcpy(c->digest, digest, 32);
	v = tpm_call(r->priv, &c, "PCR_Extend");
	call_free(c);
	return v;
}

static vg_rc tpm2_pcr_read(vg_rot *r, uint32_t mask, uint8_t out[][32])
{
	struct tpm_call *c = call_new(run_pcr_read, (size_t)VG_ROT_PCRS * 32u);
	vg_rc v;

	if (!c)
		return VG_ERR_NOMEM;
	c->u64 = mask;
	v = tpm_call(r->priv, &c, "PCR_Read");
	if (v == VG_OK)
		for (unsigned i = 0; i < VG_ROT_PCRS; i++)
			if (mask & (1u << i))
				memcpy(out[i], c->buf + 32u * i, 32);
	call_free(c);
	return v;
}

static vg_rc tpm2_erase_secret(vg_rot *r, bool rotate, uint8_t out[VG_KEY_LEN])
{
	struct tpm_call *c = call_new(run_erase_secret, VG_KEY_LEN);
	vg_rc v;

	if (!c)
		return VG_ERR_NOMEM;
	c->flag = rotate;
	v = tpm_call(r->priv, &c, "erase secret");
	if (c && v == VG_OK)
		memcpy(out, c->buf, VG_KEY_LEN);
	else
		vg_wipe(out, VG_KEY_LEN);
	call_free(c);
	return v;
}

static void tpm2_health(vg_rot *r, vg_rot_health *h)
{
	struct tpm2_rot *t = r->priv;

	(void)pthread_mutex_lock(&t->mu);
	if (!t->down_since && t->running && t->running->detached && overdue(t, t->running))
		mark_down(t, t->running, "counter advance");
	h->answering = t->down_since == 0;
	h->down_since = t->down_since;
	h->timeout_ms = t->timeout_ms;
	h->timeouts = t->timeouts;
	h->recoveries = t->recoveries;
	(void)pthread_mutex_unlock(&t->mu);
}

/* The transient objects go back to the TPM before the context closes. */
static vg_rc run_flush(struct tpm2_rot *t, struct tpm_call *c)
{
	(void)c;
	flush(t, &t->srk);
	flush(t, &t->sess);
	return VG_OK;
}

/* Stops the thread; false when a command is still unanswered after
 * timeout_ms: t then belongs to the thread, which frees it once the TPM
 * answers (freeing it under a thread blocked in tpm2-tss is no option),
 * or the process's exit does. */
static bool thread_stop(struct tpm2_rot *t)
{
	struct tpm_call *c;
	bool busy;

	(void)pthread_mutex_lock(&t->mu);
	/* Known not to answer: no second wait. */
	while ((t->running || t->queued) && !t->down_since) {
		const struct tpm_call *b = t->running ? t->running : t->queued;

		if (overdue(t, b))
			mark_down(t, b, "close");
		else
			wait_for(t, b);
	}
	busy = t->running || t->queued;
	(void)pthread_mutex_unlock(&t->mu);
	if (!busy && t->ctx) {
		c = call_new(run_flush, 0);
		if (!c)
			return false;
		if (tpm_call(t, &c, "close") != VG_OK && !c)
			busy = true;
		call_free(c);
	}
	(void)pthread_mutex_lock(&t->mu);
	t->stop = true;
	(void)pthread_cond_signal(&t->work);
	busy = t->running || t->queued;
	t->orphaned = busy;
	if (busy)
		orphan_hold(t, true); /* before the thread can see it */
	(void)pthread_mutex_unlock(&t->mu);
	if (busy) {
		(void)fprintf(stderr, "voxguard: tpm2: closed while the TPM does not answer: "
				      "its thread releases the context if it ever answers\n");
		(void)pthread_detach(t->th);
		return false;
	}
	(void)pthread_join(t->th, NULL);
	return true;
}

/* Everything but the thread; on the thread that last uses the context. */
static void tpm2_free(struct tpm2_rot *t)
{
	if (t->ctx) {
		flush(t, &t->srk);
		flush(t, &t->sess);
		Esys_Finalize(&t->ctx);
	}
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	vg_secret_free(t->root, VG_KEY_LEN);
	free(t->pol);
	(void)pthread_mutex_destroy(&t->mu);
	(void)pthread_cond_destroy(&t->work);
	(void)pthread_cond_destroy(&t->done);
	vg_wipe(t, sizeof *t);
	free(t);
}

static const char *tpm2_sealed_why(const vg_rot *r)
{
	const struct tpm2_rot *t = r->priv;

	return t->sealed ? t->sealed_why : NULL;
}

static void tpm2_close(vg_rot *r)
{
	struct tpm2_rot *t = r->priv;

	if (t && (!t->th_started || thread_stop(t)))
		tpm2_free(t);
	free(r);
}

static const vg_rot_ops tpm2_ops = {
    .name = "tpm2",
    .is_dev = false,
    .derive = tpm2_derive,
    .counter_read = tpm2_counter_read,
    .counter_advance = tpm2_counter_advance,
    .random = tpm2_random,
    .measure = tpm2_measure,
    .pcr_read = tpm2_pcr_read,
    .erase_secret = tpm2_erase_secret,
    .secver_read = tpm2_secver_read,
    .secver_advance = tpm2_secver_advance,
    .health = tpm2_health,
    .sealed_why = tpm2_sealed_why,
    .counter_start = tpm2_counter_start,
    .close = tpm2_close,
};

/* The open's TPM part, on the TPM thread: connect, start up, the storage
 * key and session, the sealed root key (created on first use), the
 * counter. */
static vg_rc run_open(struct tpm2_rot *t, struct tpm_call *c)
{
	bool missing, written;
	uint64_t now;
	TSS2_RC rc;
	vg_rc v;

	tss_quiet();
	rc = Tss2_TctiLdr_Initialize(c->tcti[0] ? c->tcti : NULL, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		t->tcti = NULL;
		return tss_fail("cannot reach the TPM", rc, VG_ERR_IO);
	}
	rc = Esys_Initialize(&t->ctx, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->ctx = NULL;
		return tss_fail("Esys_Initialize", rc, VG_ERR_IO);
	}
	/* A simulator or a bare TPM may need TPM2_Startup; a started one
	 * answers TPM2_RC_INITIALIZE, which is fine. */
	rc = Esys_Startup(t->ctx, TPM2_SU_CLEAR);
	answered(t);
	if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE)
		return tss_fail("Startup (is the TPM reachable?)", rc, VG_ERR_IO);
	v = create_srk(t);
	if (v == VG_OK)
		v = start_session(t);
	if (v == VG_OK && !c->has_pub)
		v = seal_new(t, c->pub_path, c->priv_path);
	if (v == VG_OK)
		v = unseal(t, c->pub_path, c->priv_path);
	/* The storage key has done its work (the session is salted, the object
	 * unsealed): free the TPM's scarce transient slot. */
	flush(t, &t->srk);
	if (v != VG_OK && c->flag && t->bound && t->sealed_why[0] &&
	    (v == VG_ERR_STATE || v == VG_ERR_VERIFY_FAILED || v == VG_ERR_INTEGRITY)) {
		/* The key is this device's and bound to the measured boot, and
		 * this boot is not one the OEM signed for: a handle without the
		 * key (vg_rot_opts.open_sealed). The counter stays unread: its
		 * base is sealed with the key. */
		t->sealed = true;
		return VG_OK;
	}
	if (v != VG_OK)
		return v;

	/* The sealed blob exists, so its counter must too: a TPM without the
	 * index was cleared, or the state dir belongs to another TPM. */
	v = nv_find(t, VG_TPM2_NV_COUNTER, &t->nv, &missing);
	if (missing)
		v = fail("NV counter index 0x01500016 missing (TPM cleared or state dir "
			 "swapped)",
			 VG_ERR_INTEGRITY);
	if (v == VG_OK)
		v = nv_check(t, t->nv, VG_TPM2_NV_COUNTER, COUNTER_ATTRS, 8, &written);
	if (v == VG_OK && !written)
		v = fail("NV counter never incremented: not the sealed blob's counter",
			 VG_ERR_INTEGRITY);
	if (v == VG_OK)
		v = counter_now(t, &now);
	return v;
}

static vg_rc thread_start(struct tpm2_rot *t)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	if (pthread_condattr_init(&ca) != 0)
		return VG_ERR_NOMEM;
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&t->mu, NULL) != 0 || pthread_cond_init(&t->work, &ca) != 0 ||
	    pthread_cond_init(&t->done, &ca) != 0) {
		(void)pthread_condattr_destroy(&ca);
		return VG_ERR_NOMEM;
	}
	(void)pthread_condattr_destroy(&ca);
	/* Signals stay with the service's threads. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&t->th, NULL, tpm_thread, t);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return VG_ERR_NOMEM;
	t->th_started = true;
	return VG_OK;
}

vg_rc vg_rot_tpm2_open(vg_rot **out, const char *state_dir, const char *tcti, uint32_t timeout_ms)
{
	const vg_rot_opts o = {.param = tcti, .timeout_ms = timeout_ms};

	return vg_rot_tpm2_open_opts(out, state_dir, &o);
}

/* The policy key (needed: a configured key that does not load fails the
 * open) and the signed policy (read now, judged only if the root key is
 * sealed to the measured boot: its absence is this boot's problem, not
 * the open's). */
static vg_rc policy_setup(struct tpm2_rot *t, const vg_rot_opts *o)
{
	char msg[512];
	vg_rc v;

	t->pol_rc = VG_ERR_NOT_FOUND;
	(void)snprintf(t->pol_why, sizeof t->pol_why, "none configured");
	if (!o->policy_key || !*o->policy_key)
		return VG_OK;
	v = vg_pcrpol_key_load(o->policy_key, t->policy_x, t->policy_y);
	if (v != VG_OK) {
		(void)snprintf(msg, sizeof msg,
			       "PCR policy key %s: %s (a PEM ECDSA P-256 public key is needed)",
			       o->policy_key, vg_rc_str(v));
		return fail(msg, v);
	}
	t->has_policy_key = true;
	if (o->policy && *o->policy) {
		char why[200];
		t->pol_rc = vg_pcrpol_load(o->policy, &t->pol, &t->n_pol, why, sizeof why);
		if (t->pol_rc != VG_OK)
			(void)snprintf(t->pol_why, sizeof t->pol_why, "%s: %s", o->policy, why);
	}
	return VG_OK;
}

vg_rc vg_rot_tpm2_open_opts(vg_rot **out, const char *state_dir, const vg_rot_opts *o)
{
	const char *tcti = o->param;
	uint32_t timeout_ms = o->timeout_ms;
	struct tpm_call *c = NULL;
	struct tpm2_rot *t = NULL;
	vg_rot *r = NULL;
	int has_pub, has_priv;
	vg_rc v;

	*out = NULL;
	if (!state_dir || (tcti && strlen(tcti) >= sizeof c->tcti))
		return VG_ERR_INVALID;
	v = vg_tss2_load();
	if (v != VG_OK)
		return v;
	r = calloc(1, sizeof *r);
	t = calloc(1, sizeof *t);
	c = call_new(run_open, 0);
	if (!r || !t || !c) {
		free(r);
		free(t);
		call_free(c);
		return VG_ERR_NOMEM;
	}
	if ((size_t)snprintf(c->pub_path, sizeof c->pub_path, "%s/" PUB_FILE, state_dir) >=
		sizeof c->pub_path ||
	    (size_t)snprintf(c->priv_path, sizeof c->priv_path, "%s/" PRIV_FILE, state_dir) >=
		sizeof c->priv_path) {
		free(r);
		free(t);
		call_free(c);
		return VG_ERR_INVALID;
	}
	(void)snprintf(c->tcti, sizeof c->tcti, "%s", tcti ? tcti : "");
	t->srk = t->sess = t->nv = t->secver = ESYS_TR_NONE;
	t->timeout_ms = timeout_ms;
	r->ops = &tpm2_ops;
	r->priv = t;
	t->root = vg_secret_alloc(VG_KEY_LEN);
	if (!t->root) {
		v = VG_ERR_NOMEM;
		goto fail;
	}
	v = policy_setup(t, o);
	if (v != VG_OK)
		goto fail;

	/* Neither file: a fresh device; the private blob alone: a first start
	 * interrupted between the two writes (seal_new() writes it first),
	 * provisioned afresh. The public blob alone is never a crash. */
	has_pub = present(c->pub_path);
	has_priv = present(c->priv_path);
	if (has_pub < 0 || has_priv < 0) {
		v = fail("cannot examine the state dir", VG_ERR_IO);
		goto fail;
	}
	if (has_pub && !has_priv) {
		v = fail("tpm2-root.pub without tpm2-root.priv: refused", VG_ERR_INTEGRITY);
		goto fail;
	}
	c->has_pub = has_pub != 0;
	c->flag = o->open_sealed;
	v = thread_start(t);
	if (v == VG_OK)
		v = tpm_call(t, &c, "open");
	if (v != VG_OK)
		goto fail;
	call_free(c);
	*out = r;
	return VG_OK;
fail:
	call_free(c);
	tpm2_close(r);
	return v;
}
