/*
 * tpm2.c - the `tpm2` root-of-trust backend (SFR 4.2.11 hardware-backed,
 * AVS 1.16), on tpm2-tss ESYS.
 *
 * What lives where (docs/TPM2.md):
 *  - the root key: 32 random bytes from the TPM, sealed in a KEYEDHASH
 *    sealed-data object under the storage primary key (the standard ECC
 *    P-256 SRK template, re-created deterministically at every open, so
 *    nothing needs a persistent handle). The object's public and private
 *    parts (the private part encrypted by the TPM) are the files
 *    tpm2-root.pub and tpm2-root.priv in the state dir: useless without
 *    this TPM. The sealed data is root key (32) || counter base (8, BE).
 *    Unsealed once at open into secure memory; derive() is HKDF as in the
 *    file backend, with no TPM round trip.
 *  - the monotonic counter: NV counter index VG_TPM2_NV_COUNTER. A TPM NV
 *    counter starts, at its first increment, at the highest value any
 *    counter of that TPM ever had, and only ever steps by one; so the value
 *    read at creation is sealed with the root key as the base, and
 *    counter_read() returns NV - base (0 on a fresh device). The database
 *    only asks for current + 1 (storage/db.h epochs).
 *  - the erase secret: 32 bytes in the ordinary NV index
 *    VG_TPM2_NV_ERASE, overwritten by a rotation (factory reset): after it,
 *    no copy of the state dir can open user data again, on this TPM or any.
 *  - measurements: extended into PCR VG_TPM2_PCR (23, the application PCR;
 *    the platform-manifest issue decides the final one).
 * Authorisation: empty owner and object auth, and no PCR policy on the
 * sealed object yet (binding to measured boot comes with secure init).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "common/util.h"
#include "rot/rot.h"

#define VG_TPM2_NV_COUNTER 0x01500016u
#define VG_TPM2_NV_ERASE   0x01500017u
#define VG_TPM2_PCR        23u
#define SEALED_LEN         (VG_KEY_LEN + 8u)
#define MAX_ADVANCE        1024u

struct tpm2_rot {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	uint8_t *root; /* VG_KEY_LEN bytes of secret memory */
	uint64_t base;
	ESYS_TR counter;
	char dir[4096];
};

static vg_rc tss_fail(const char *what, TSS2_RC r)
{
	/* The decoded TSS code names the failure; no secret is involved. */
	(void)fprintf(stderr, "voxguardd: tpm2: %s: %s\n", what, Tss2_RC_Decode(r));
	return VG_ERR_IO;
}

static vg_rc nv_handle(struct tpm2_rot *t, TPM2_HANDLE index, ESYS_TR *tr)
{
	TSS2_RC r =
	    Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, tr);

	return r == TSS2_RC_SUCCESS ? VG_OK : VG_ERR_NOT_FOUND;
}

static vg_rc nv_define(struct tpm2_rot *t, TPM2_HANDLE index, TPMA_NV type_attr, uint16_t size,
		       ESYS_TR *tr)
{
	TPM2B_AUTH auth = {.size = 0};
	TPM2B_NV_PUBLIC pub = {
	    .nvPublic = {
		.nvIndex = index,
		.nameAlg = TPM2_ALG_SHA256,
		.attributes = type_attr | TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA,
		.authPolicy = {.size = 0},
		.dataSize = size,
	    }};
	TSS2_RC r = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE, &auth, &pub, tr);

	return r == TSS2_RC_SUCCESS ? VG_OK : tss_fail("NV_DefineSpace", r);
}

/* Checks an existing index has the attributes we would have given it. */
static vg_rc nv_check(struct tpm2_rot *t, ESYS_TR tr, TPMA_NV type_attr, uint16_t size)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_NAME *name = NULL;
	TSS2_RC r =
	    Esys_NV_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name);
	vg_rc rc = VG_OK;

	if (r != TSS2_RC_SUCCESS)
		return tss_fail("NV_ReadPublic", r);
	if ((pub->nvPublic.attributes & TPMA_NV_TPM2_NT_MASK) !=
		(type_attr & TPMA_NV_TPM2_NT_MASK) ||
	    pub->nvPublic.dataSize != size || !(pub->nvPublic.attributes & TPMA_NV_OWNERWRITE) ||
	    !(pub->nvPublic.attributes & TPMA_NV_OWNERREAD))
		rc = VG_ERR_INTEGRITY;
	Esys_Free(pub);
	Esys_Free(name);
	return rc;
}

static vg_rc nv_read(struct tpm2_rot *t, ESYS_TR tr, uint8_t *out, uint16_t size)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	TSS2_RC r = Esys_NV_Read(t->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				 ESYS_TR_NONE, size, 0, &data);

	if (r != TSS2_RC_SUCCESS)
		return tss_fail("NV_Read", r);
	if (data->size != size) {
		Esys_Free(data);
		return VG_ERR_INTEGRITY;
	}
	memcpy(out, data->buffer, size);
	vg_wipe(data->buffer, data->size);
	Esys_Free(data);
	return VG_OK;
}

static vg_rc counter_raw(struct tpm2_rot *t, uint64_t *v)
{
	uint8_t b[8];
	vg_rc rc = nv_read(t, t->counter, b, sizeof b);

	*v = 0;
	for (int i = 0; rc == VG_OK && i < 8; i++)
		*v = *v << 8 | b[i];
	return rc;
}

static vg_rc counter_increment(struct tpm2_rot *t)
{
	TSS2_RC r = Esys_NV_Increment(t->esys, ESYS_TR_RH_OWNER, t->counter, ESYS_TR_PASSWORD,
				      ESYS_TR_NONE, ESYS_TR_NONE);

	return r == TSS2_RC_SUCCESS ? VG_OK : tss_fail("NV_Increment", r);
}

static vg_rc tpm_random(struct tpm2_rot *t, uint8_t *buf, size_t len)
{
	while (len > 0) {
		TPM2B_DIGEST *rnd = NULL;
		uint16_t want = len > 32 ? 32 : (uint16_t)len;
		TSS2_RC r =
		    Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, want, &rnd);
		size_t got;

		if (r != TSS2_RC_SUCCESS)
			return tss_fail("GetRandom", r);
		got = rnd->size < want ? rnd->size : want;
		memcpy(buf, rnd->buffer, got);
		vg_wipe(rnd->buffer, rnd->size);
		Esys_Free(rnd);
		if (got == 0)
			return VG_ERR_IO;
		buf += got;
		len -= got;
	}
	return VG_OK;
}

/* The storage primary key, from the standard ECC P-256 template. */
static vg_rc create_srk(struct tpm2_rot *t, ESYS_TR *srk)
{
	TPM2B_SENSITIVE_CREATE sens = {.size = 0};
	TPM2B_PUBLIC tmpl = {.publicArea = {
				 .type = TPM2_ALG_ECC,
				 .nameAlg = TPM2_ALG_SHA256,
				 .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
						     TPMA_OBJECT_FIXEDTPM |
						     TPMA_OBJECT_FIXEDPARENT |
						     TPMA_OBJECT_SENSITIVEDATAORIGIN |
						     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
				 .authPolicy = {.size = 0},
				 .parameters.eccDetail =
				     {
					 .symmetric = {.algorithm = TPM2_ALG_AES,
						       .keyBits.aes = 128,
						       .mode.aes = TPM2_ALG_CFB},
					 .scheme = {.scheme = TPM2_ALG_NULL},
					 .curveID = TPM2_ECC_NIST_P256,
					 .kdf = {.scheme = TPM2_ALG_NULL},
				     },
				 .unique.ecc = {.x = {.size = 0}, .y = {.size = 0}},
			     }};
	TPM2B_DATA outside = {.size = 0};
	TPML_PCR_SELECTION pcrs = {.count = 0};
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	TSS2_RC r = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, srk, &pub,
				       &cdata, &chash, &ticket);

	Esys_Free(pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	return r == TSS2_RC_SUCCESS ? VG_OK : tss_fail("CreatePrimary", r);
}

static void path_of(const struct tpm2_rot *t, const char *name, char out[4200])
{
	(void)snprintf(out, 4200, "%s/%s", t->dir, name);
}

/* Seals data under srk and writes tpm2-root.pub/.priv. */
static vg_rc seal_new(struct tpm2_rot *t, ESYS_TR srk, const uint8_t data[SEALED_LEN])
{
	TPM2B_SENSITIVE_CREATE sens = {.size = 0};
	TPM2B_PUBLIC tmpl = {.publicArea = {
				 .type = TPM2_ALG_KEYEDHASH,
				 .nameAlg = TPM2_ALG_SHA256,
				 .objectAttributes = TPMA_OBJECT_FIXEDTPM |
						     TPMA_OBJECT_FIXEDPARENT |
						     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
				 .authPolicy = {.size = 0},
				 .parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_NULL},
				 .unique.keyedHash = {.size = 0},
			     }};
	TPM2B_DATA outside = {.size = 0};
	TPML_PCR_SELECTION pcrs = {.count = 0};
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	uint8_t pbuf[sizeof(TPM2B_PUBLIC)], sbuf[sizeof(TPM2B_PRIVATE)];
	size_t plen = 0, slen = 0;
	char path[4200];
	TSS2_RC r;
	vg_rc rc;

	sens.sensitive.data.size = SEALED_LEN;
	memcpy(sens.sensitive.data.buffer, data, SEALED_LEN);
	r = Esys_Create(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
			&outside, &pcrs, &priv, &pub, &cdata, &chash, &ticket);
	vg_wipe(&sens, sizeof sens);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (r != TSS2_RC_SUCCESS) {
		Esys_Free(priv);
		Esys_Free(pub);
		return tss_fail("Create (seal)", r);
	}
	rc =
	    Tss2_MU_TPM2B_PUBLIC_Marshal(pub, pbuf, sizeof pbuf, &plen) == TSS2_RC_SUCCESS &&
		    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, sbuf, sizeof sbuf, &slen) == TSS2_RC_SUCCESS
		? VG_OK
		: VG_ERR_INTERNAL;
	Esys_Free(priv);
	Esys_Free(pub);
	/* The private part first: a crash between the two leaves no .pub, so
	 * the next open starts over instead of finding half a device. */
	if (rc == VG_OK) {
		path_of(t, "tpm2-root.priv", path);
		rc = vg_write_file_atomic(path, sbuf, slen, 0600);
	}
	if (rc == VG_OK) {
		path_of(t, "tpm2-root.pub", path);
		rc = vg_write_file_atomic(path, pbuf, plen, 0600);
	}
	return rc;
}

/* Loads and unseals the stored object. */
static vg_rc unseal(struct tpm2_rot *t, ESYS_TR srk, uint8_t out[SEALED_LEN])
{
	uint8_t *pb = NULL, *sb = NULL;
	size_t pl = 0, sl = 0, off = 0;
	TPM2B_PUBLIC pub = {0};
	TPM2B_PRIVATE priv = {0};
	TPM2B_SENSITIVE_DATA *data = NULL;
	ESYS_TR obj = ESYS_TR_NONE;
	char path[4200];
	TSS2_RC r;
	vg_rc rc;

	path_of(t, "tpm2-root.pub", path);
	rc = vg_read_file(path, sizeof(TPM2B_PUBLIC), &pb, &pl);
	if (rc == VG_OK) {
		path_of(t, "tpm2-root.priv", path);
		rc = vg_read_file(path, sizeof(TPM2B_PRIVATE), &sb, &sl);
	}
	if (rc != VG_OK)
		goto out;
	rc = VG_ERR_INTEGRITY;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pb, pl, &off, &pub) != TSS2_RC_SUCCESS || off != pl)
		goto out;
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(sb, sl, &off, &priv) != TSS2_RC_SUCCESS || off != sl)
		goto out;
	r = Esys_Load(t->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub,
		      &obj);
	if (r != TSS2_RC_SUCCESS) {
		(void)tss_fail("Load (the sealed root key is not this TPM's, or damaged)", r);
		goto out;
	}
	r = Esys_Unseal(t->esys, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &data);
	if (r != TSS2_RC_SUCCESS) {
		(void)tss_fail("Unseal", r);
		goto out;
	}
	if (data->size == SEALED_LEN) {
		memcpy(out, data->buffer, SEALED_LEN);
		rc = VG_OK;
	}
	vg_wipe(data->buffer, data->size);
	Esys_Free(data);
out:
	if (obj != ESYS_TR_NONE)
		(void)Esys_FlushContext(t->esys, obj);
	free(pb);
	vg_free(sb, sl);
	return rc;
}

static vg_rc tpm2_derive(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
			 uint8_t out[VG_KEY_LEN])
{
	struct tpm2_rot *t = r->priv;

	return vg_hkdf(t->root, VG_KEY_LEN, label, ctx, ctx_len, out);
}

static vg_rc tpm2_counter_read(vg_rot *r, uint64_t *value)
{
	struct tpm2_rot *t = r->priv;
	uint64_t nv = 0;
	vg_rc rc = counter_raw(t, &nv);

	*value = 0;
	if (rc != VG_OK)
		return rc;
	if (nv < t->base)
		return VG_ERR_INTEGRITY;
	*value = nv - t->base;
	return VG_OK;
}

static vg_rc tpm2_counter_advance(vg_rot *r, uint64_t value)
{
	struct tpm2_rot *t = r->priv;
	uint64_t cur = 0;
	vg_rc rc = tpm2_counter_read(r, &cur);

	if (rc != VG_OK || value <= cur)
		return rc;
	if (value - cur > MAX_ADVANCE)
		return VG_ERR_INVALID; /* the database only ever steps by one */
	while (rc == VG_OK && cur < value) {
		rc = counter_increment(t);
		cur++;
	}
	return rc;
}

static vg_rc tpm2_random(vg_rot *r, uint8_t *buf, size_t len)
{
	return tpm_random(r->priv, buf, len);
}

static vg_rc tpm2_measure(vg_rot *r, const char *what, const uint8_t digest[32])
{
	struct tpm2_rot *t = r->priv;
	TPML_DIGEST_VALUES d = {.count = 1};
	TSS2_RC rc;

	(void)what;
	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	memcpy(d.digests[0].digest.sha256, digest, 32);
	rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + VG_TPM2_PCR, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			     ESYS_TR_NONE, &d);
	return rc == TSS2_RC_SUCCESS ? VG_OK : tss_fail("PCR_Extend", rc);
}

static vg_rc tpm2_erase_secret(vg_rot *r, bool rotate, uint8_t out[VG_KEY_LEN])
{
	struct tpm2_rot *t = r->priv;
	TPMA_NV ordinary = TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT;
	ESYS_TR tr = ESYS_TR_NONE;
	vg_rc rc = nv_handle(t, VG_TPM2_NV_ERASE, &tr);
	bool fresh = false;

	if (rc == VG_ERR_NOT_FOUND) {
		rc = nv_define(t, VG_TPM2_NV_ERASE, ordinary, VG_KEY_LEN, &tr);
		fresh = true;
	} else if (rc == VG_OK) {
		rc = nv_check(t, tr, ordinary, VG_KEY_LEN);
	}
	if (rc == VG_OK && !fresh && !rotate) {
		rc = nv_read(t, tr, out, VG_KEY_LEN);
		if (rc == VG_OK)
			goto done;
		/* Defined but never written (a crash right after define). */
		rc = VG_OK;
	}
	if (rc == VG_OK) {
		TPM2B_MAX_NV_BUFFER data = {.size = VG_KEY_LEN};
		TSS2_RC e;
		rc = tpm_random(t, out, VG_KEY_LEN);
		if (rc == VG_OK) {
			memcpy(data.buffer, out, VG_KEY_LEN);
			e = Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
					  ESYS_TR_NONE, ESYS_TR_NONE, &data, 0);
			vg_wipe(&data, sizeof data);
			if (e != TSS2_RC_SUCCESS)
				rc = tss_fail("NV_Write", e);
		}
	}
done:
	if (tr != ESYS_TR_NONE)
		(void)Esys_TR_Close(t->esys, &tr);
	if (rc != VG_OK)
		vg_wipe(out, VG_KEY_LEN);
	return rc;
}

static void tpm2_close(vg_rot *r)
{
	struct tpm2_rot *t = r->priv;

	if (t) {
		vg_secret_free(t->root, VG_KEY_LEN);
		if (t->esys)
			Esys_Finalize(&t->esys);
		if (t->tcti)
			Tss2_TctiLdr_Finalize(&t->tcti);
		vg_wipe(t, sizeof *t);
		free(t);
	}
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
    .erase_secret = tpm2_erase_secret,
    .close = tpm2_close,
};

vg_rc vg_rot_tpm2_open(vg_rot **out, const char *state_dir, const char *tcti)
{
	TPMA_NV counter_attr = TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT;
	struct tpm2_rot *t = NULL;
	vg_rot *r = NULL;
	uint8_t sealed[SEALED_LEN];
	ESYS_TR srk = ESYS_TR_NONE;
	char path[4200];
	bool have_pub, have_priv;
	TSS2_RC e;
	vg_rc rc;

	*out = NULL;
	r = calloc(1, sizeof *r);
	t = calloc(1, sizeof *t);
	if (!r || !t) {
		free(r);
		free(t);
		return VG_ERR_NOMEM;
	}
	r->ops = &tpm2_ops;
	r->priv = t;
	t->counter = ESYS_TR_NONE;
	if ((size_t)snprintf(t->dir, sizeof t->dir, "%s", state_dir) >= sizeof t->dir) {
		rc = VG_ERR_INVALID;
		goto fail;
	}
	t->root = vg_secret_alloc(VG_KEY_LEN);
	if (!t->root) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}
	/* tpm2-tss logs every TPM error code it sees (an absent NV index is
	 * an expected answer here); our own one-line errors say what matters.
	 * An operator who wants its log sets TSS2_LOG. */
	(void)setenv("TSS2_LOG", "all+none", 0);
	e = Tss2_TctiLdr_Initialize(tcti && *tcti ? tcti : NULL, &t->tcti);
	if (e != TSS2_RC_SUCCESS) {
		rc = tss_fail("TCTI", e);
		goto fail;
	}
	e = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (e != TSS2_RC_SUCCESS) {
		rc = tss_fail("Esys_Initialize", e);
		goto fail;
	}
	e = Esys_Startup(t->esys, TPM2_SU_CLEAR);
	if (e != TSS2_RC_SUCCESS && e != TPM2_RC_INITIALIZE) {
		rc = tss_fail("Startup (is the TPM reachable?)", e);
		goto fail;
	}
	rc = create_srk(t, &srk);
	if (rc != VG_OK)
		goto fail;
	path_of(t, "tpm2-root.pub", path);
	have_pub = access(path, F_OK) == 0;
	path_of(t, "tpm2-root.priv", path);
	have_priv = access(path, F_OK) == 0;
	if (have_pub) {
		/* An existing device: its counter must still be there. */
		rc = unseal(t, srk, sealed);
		if (rc == VG_OK && nv_handle(t, VG_TPM2_NV_COUNTER, &t->counter) != VG_OK) {
			(void)fprintf(stderr, "voxguardd: tpm2: the NV counter is gone (TPM "
					      "cleared?): refusing the sealed state\n");
			rc = VG_ERR_INTEGRITY;
		}
		if (rc == VG_OK)
			rc = nv_check(t, t->counter, counter_attr, 8);
	} else {
		/* A fresh device (a .priv alone is a crash during creation). */
		(void)have_priv;
		rc = nv_handle(t, VG_TPM2_NV_COUNTER, &t->counter);
		if (rc == VG_ERR_NOT_FOUND)
			rc = nv_define(t, VG_TPM2_NV_COUNTER, counter_attr, 8, &t->counter);
		else if (rc == VG_OK)
			rc = nv_check(t, t->counter, counter_attr, 8);
		if (rc == VG_OK)
			rc = counter_increment(t); /* defines its value */
		if (rc == VG_OK)
			rc = counter_raw(t, &t->base);
		if (rc == VG_OK)
			rc = tpm_random(t, sealed, VG_KEY_LEN);
		for (int i = 0; rc == VG_OK && i < 8; i++)
			sealed[VG_KEY_LEN + i] = (uint8_t)(t->base >> (56 - 8 * i));
		if (rc == VG_OK)
			rc = seal_new(t, srk, sealed);
	}
	if (rc == VG_OK) {
		memcpy(t->root, sealed, VG_KEY_LEN);
		t->base = 0;
		for (int i = 0; i < 8; i++)
			t->base = t->base << 8 | sealed[VG_KEY_LEN + i];
	}
	vg_wipe(sealed, sizeof sealed);
	(void)Esys_FlushContext(t->esys, srk);
	srk = ESYS_TR_NONE;
	if (rc != VG_OK)
		goto fail;
	*out = r;
	return VG_OK;
fail:
	if (srk != ESYS_TR_NONE)
		(void)Esys_FlushContext(t->esys, srk);
	tpm2_close(r);
	return rc;
}
