/* identity.c - see identity.h */
#include "identity/identity.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "crypto/pubkey.h"
#include "storage/sysrec.h"
#include "proto/wire.h"
#include "version.h"

#define CODE_CHARS 16u

/* Keys of the identity record (a wire-format argument map). */
enum { R_OEM = 1, R_MODEL = 2, R_HW_REV = 3, R_VSI = 4, R_AT = 5 };

struct vg_identity {
	vg_secstore *store;
	vg_keystore *ks;
	vg_rot *rot;
	bool provisioned;
	bool debug;
	vg_rc unknown;        /* why this start cannot tell if provisioned */
	char unknown_why[96]; /* the same for people; "" when known */
	vg_platform plat;
	char code[CODE_CHARS + 1]; /* the setup code, no dashes */
	char code_dashed[VG_SETUP_CODE_LEN + 1];
	char instance_hex[2 * VG_PSA_INSTANCE_ID_LEN + 1];
	uint8_t instance_id[VG_PSA_INSTANCE_ID_LEN];
	uint8_t impl_id[VG_PSA_IMPL_ID_LEN];
	uint8_t boot_seed[32];
	vg_psa_sw_component comp[VG_PSA_MAX_COMPONENTS];
	size_t n_comp;
	vg_psa_sw_component reg[VG_PSA_MAX_COMPONENTS]; /* after comp in the token */
	size_t n_reg;
};

/* ---- measurements ---- */

static vg_rc measure_file(const char *path, uint8_t out[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *md;
	uint8_t buf[65536];
	unsigned int olen = 0;
	ssize_t n;
	vg_rc rc = VG_OK;

	if (fd < 0)
		return errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		rc = VG_ERR_CRYPTO;
	while (rc == VG_OK && (n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno != EINTR)
				rc = VG_ERR_IO;
			continue;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			rc = VG_ERR_CRYPTO;
	}
	if (rc == VG_OK && (EVP_DigestFinal_ex(md, out, &olen) != 1 || olen != 32))
		rc = VG_ERR_CRYPTO;
	EVP_MD_CTX_free(md);
	(void)close(fd);
	return rc;
}

static vg_rc measure_components(vg_identity *id, const char *const *paths, const char *const *names,
				size_t n)
{
	for (size_t i = 0; i < n && id->n_comp < VG_PSA_MAX_COMPONENTS; i++) {
		vg_psa_sw_component *c = &id->comp[id->n_comp];
		vg_rc rc = measure_file(paths[i], c->measurement);

		if (rc == VG_ERR_NOT_FOUND) {
			(void)fprintf(stderr,
				      "voxguardd: component %s not found at %s: not measured\n",
				      names[i], paths[i]);
			continue;
		}
		if (rc != VG_OK) {
			(void)fprintf(stderr, "voxguardd: cannot measure %s (%s): %s\n", names[i],
				      paths[i], vg_rc_str(rc));
			return rc;
		}
		c->measurement_len = 32;
		(void)snprintf(c->measurement_type, sizeof c->measurement_type, "%s", names[i]);
		(void)snprintf(c->version, sizeof c->version, "%s", VG_VERSION_STRING);
		(void)snprintf(c->measurement_desc, sizeof c->measurement_desc, "sha-256");
		c->signer_id_len = 32; /* all zero: no signer until the platform manifest */
		rc = vg_rot_measure(id->rot, names[i], c->measurement);
		if (rc != VG_OK && rc != VG_ERR_UNSUPPORTED)
			return rc;
		id->n_comp++;
	}
	return VG_OK;
}

/* HMAC(HKDF(root, "boot-seed"), boot_id): one value per boot and device. */
static vg_rc boot_seed(vg_identity *id)
{
	uint8_t k[VG_KEY_LEN], *bid = NULL;
	size_t bid_len = 0;
	vg_rc rc = vg_read_file("/proc/sys/kernel/random/boot_id", 64, &bid, &bid_len);

	if (rc != VG_OK) {
		/* No procfs: one seed per service start instead. */
		return vg_rot_random(id->rot, id->boot_seed, sizeof id->boot_seed);
	}
	rc = vg_rot_derive(id->rot, "boot-seed", NULL, 0, k);
	if (rc == VG_OK)
		rc = vg_hmac256(k, sizeof k, bid, bid_len, id->boot_seed);
	vg_wipe(k, sizeof k);
	vg_free(bid, bid_len);
	return rc;
}

static vg_rc impl_id(vg_identity *id)
{
	static const char label[] = "voxguard-implementation-id-v1";
	uint8_t buf[sizeof label + sizeof id->plat.oem + sizeof id->plat.model +
		    sizeof id->plat.hw_rev];
	size_t n = 0;
	const char *parts[] = {label, id->plat.oem, id->plat.model, id->plat.hw_rev};

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t l = strlen(parts[i]);
		memcpy(buf + n, parts[i], l + 1); /* with its NUL */
		n += l + 1;
	}
	return vg_sha256(buf, n, id->impl_id);
}

/* ---- the provisioning record ---- */

static bool text_ok(const char *s, size_t cap, bool may_be_empty)
{
	size_t n = strnlen(s, cap);

	if (n == cap || (n == 0 && !may_be_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static vg_rc record_encode(const vg_platform *p, uint8_t **out, size_t *len)
{
	vg_msgb b;
	vg_rc rc = vg_msgb_init(&b);

	if (rc != VG_OK)
		return rc;
	vg_msgb_text(&b, R_OEM, p->oem);
	vg_msgb_text(&b, R_MODEL, p->model);
	vg_msgb_text(&b, R_HW_REV, p->hw_rev);
	vg_msgb_text(&b, R_VSI, p->verification_service);
	vg_msgb_uint(&b, R_AT, p->provisioned_at);
	return vg_wire_encode(1, &b, out, len);
}

static vg_rc record_decode(const uint8_t *buf, size_t len, vg_platform *p)
{
	vg_msg m;
	vg_rc rc;

	memset(p, 0, sizeof *p);
	if (len < VG_WIRE_HDR_LEN)
		return VG_ERR_INTEGRITY;
	rc = vg_wire_decode(buf + VG_WIRE_HDR_LEN, len - VG_WIRE_HDR_LEN, &m);
	if (rc != VG_OK)
		return VG_ERR_INTEGRITY;
	if (m.code != 1 || vg_msg_text(&m, R_OEM, p->oem, sizeof p->oem) != VG_OK ||
	    vg_msg_text(&m, R_MODEL, p->model, sizeof p->model) != VG_OK ||
	    vg_msg_text(&m, R_HW_REV, p->hw_rev, sizeof p->hw_rev) != VG_OK ||
	    vg_msg_text(&m, R_VSI, p->verification_service, sizeof p->verification_service) !=
		VG_OK ||
	    vg_msg_uint(&m, R_AT, &p->provisioned_at) != VG_OK)
		rc = VG_ERR_INTEGRITY;
	vg_msg_free(&m);
	return rc;
}

static void dash_code(vg_identity *id)
{
	size_t j = 0;

	for (size_t i = 0; i < CODE_CHARS; i++) {
		if (i && i % 4 == 0)
			id->code_dashed[j++] = '-';
		id->code_dashed[j++] = id->code[i];
	}
	id->code_dashed[j] = '\0';
}

static vg_rc load_instance(vg_identity *id)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	vg_rc rc =
	    vg_keystore_public(id->ks, VG_OWNER_SERVICE, VG_ATTEST_KEY_NAME, false, &der, &der_len);

	if (rc == VG_OK)
		rc = vg_psa_instance_id(der, der_len, id->instance_id);
	vg_free(der, der_len);
	if (rc == VG_OK)
		vg_hex_encode(id->instance_id, sizeof id->instance_id, id->instance_hex);
	return rc;
}

static vg_rc load(vg_identity *id)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc = vg_sysrec_get(id->store, VG_SYS_IDENTITY, &buf, &len);

	if (rc == VG_ERR_NOT_FOUND)
		return VG_OK; /* not provisioned */
	if (rc == VG_OK)
		rc = record_decode(buf, len, &id->plat);
	vg_free(buf, len);
	if (rc != VG_OK)
		return rc;
	rc = vg_sysrec_get(id->store, VG_SYS_SETUP_CODE, &buf, &len);
	if (rc == VG_OK && len != CODE_CHARS)
		rc = VG_ERR_INTEGRITY;
	if (rc == VG_OK) {
		memcpy(id->code, buf, CODE_CHARS);
		id->code[CODE_CHARS] = '\0';
		dash_code(id);
	}
	vg_free(buf, len);
	if (rc == VG_OK)
		rc = load_instance(id);
	if (rc == VG_OK)
		rc = impl_id(id);
	if (rc == VG_OK)
		id->provisioned = true;
	return rc;
}

vg_rc vg_identity_open(vg_identity **out, vg_secstore *store, vg_keystore *ks, vg_rot *rot,
		       const char *const *paths, const char *const *names, size_t n)
{
	vg_identity *id = calloc(1, sizeof *id);
	vg_rc rc;

	*out = NULL;
	if (!id)
		return VG_ERR_NOMEM;
	id->store = store;
	id->ks = ks;
	id->rot = rot;
	rc = measure_components(id, paths, names, n);
	if (rc == VG_OK)
		rc = boot_seed(id);
	if (rc == VG_OK)
		rc = impl_id(id);
	if (rc == VG_OK && vg_secstore_state(store) != VG_OK) {
		/* A refused store cannot say whether a provisioning record
		 * exists: "not provisioned" would be a guess. */
		id->unknown = vg_secstore_state(store);
		(void)snprintf(
		    id->unknown_why, sizeof id->unknown_why, "secure storage refused: %s",
		    id->unknown == VG_ERR_ROLLBACK ? "rollback detected" : "integrity error");
	} else if (rc == VG_OK) {
		rc = load(id);
		if (rc != VG_OK) {
			/* A record that exists but does not read is not the
			 * absence of one: fail closed, never re-provision over
			 * it. */
			(void)fprintf(stderr, "voxguardd: provisioning record: %s\n",
				      vg_rc_str(rc));
			id->unknown = rc;
			(void)snprintf(id->unknown_why, sizeof id->unknown_why,
				       "the provisioning record cannot be read: %s", vg_rc_str(rc));
			memset(&id->plat, 0, sizeof id->plat);
			vg_wipe(id->code, sizeof id->code);
			vg_wipe(id->code_dashed, sizeof id->code_dashed);
			id->provisioned = false;
			rc = impl_id(id);
		}
	}
	if (rc != VG_OK) {
		vg_identity_close(&id);
		return rc;
	}
	*out = id;
	return VG_OK;
}

vg_rc vg_identity_set_registers(vg_identity *id, const vg_psa_sw_component *c, size_t n)
{
	if (n > VG_PSA_MAX_COMPONENTS - id->n_comp)
		return VG_ERR_INVALID;
	memcpy(id->reg, c, n * sizeof c[0]);
	id->n_reg = n;
	return VG_OK;
}

size_t vg_identity_n_registers(const vg_identity *id)
{
	return id->n_reg;
}

vg_rc vg_identity_set_components(vg_identity *id, const vg_psa_sw_component *c, size_t n)
{
	if (n > VG_PSA_MAX_COMPONENTS)
		return VG_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		vg_rc rc = vg_rot_measure(id->rot, c[i].measurement_type, c[i].measurement);
		if (rc != VG_OK && rc != VG_ERR_UNSUPPORTED)
			return rc;
	}
	memcpy(id->comp, c, n * sizeof c[0]);
	id->n_comp = n;
	return VG_OK;
}

void vg_identity_close(vg_identity **pid)
{
	if (!pid || !*pid)
		return;
	vg_wipe(*pid, sizeof **pid);
	free(*pid);
	*pid = NULL;
}

bool vg_identity_provisioned(const vg_identity *id)
{
	return id->provisioned;
}

vg_rc vg_identity_unknown(const vg_identity *id)
{
	return id->unknown;
}

const char *vg_identity_unknown_why(const vg_identity *id)
{
	return id->unknown_why;
}

/* What a call that needs the provisioned identity returns without it. */
static vg_rc not_provisioned(const vg_identity *id)
{
	return id->unknown != VG_OK ? id->unknown : VG_ERR_STATE;
}

const vg_platform *vg_identity_platform(const vg_identity *id)
{
	return id->provisioned ? &id->plat : NULL;
}

uint32_t vg_identity_lifecycle(const vg_identity *id)
{
	if (id->debug)
		return VG_PSA_LC_NON_PSA_ROT_DEBUG;
	if (id->provisioned)
		return VG_PSA_LC_SECURED;
	return id->unknown != VG_OK ? VG_PSA_LC_UNKNOWN : VG_PSA_LC_PSA_ROT_PROVISIONING;
}

void vg_identity_set_debug(vg_identity *id, bool unlocked)
{
	id->debug = unlocked;
}

/* 31 symbols without 0/O, 1/I/L look-alikes (the '#' is never drawn):
 * 16 of them hold log2(31^16) = 79.3 bits. */
static const char code_alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789#";
#define CODE_SYMBOLS 31u

/* Each symbol uniform: a random byte of 248 or more (248 = 8 * 31) is
 * drawn again, so that no symbol is likelier than another. */
static vg_rc new_code(vg_identity *id)
{
	uint8_t r[CODE_CHARS];
	size_t n = 0;
	vg_rc rc = VG_OK;

	while (n < CODE_CHARS && rc == VG_OK) {
		rc = vg_rot_random(id->rot, r, sizeof r);
		for (size_t i = 0; rc == VG_OK && i < sizeof r && n < CODE_CHARS; i++)
			if (r[i] < 256u - 256u % CODE_SYMBOLS)
				id->code[n++] = code_alphabet[r[i] % CODE_SYMBOLS];
	}
	vg_wipe(r, sizeof r);
	if (rc != VG_OK) {
		vg_wipe(id->code, CODE_CHARS);
		return rc;
	}
	id->code[CODE_CHARS] = '\0';
	dash_code(id);
	return VG_OK;
}

static vg_rc fresh_key(vg_identity *id, const char *name)
{
	vg_rc rc = vg_keystore_delete(id->ks, VG_OWNER_SERVICE, name);

	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
		return rc;
	return vg_keystore_create(id->ks, VG_OWNER_SERVICE, name, VG_KEY_P256, VG_USE_SIGN);
}

static bool platform_ok(const vg_platform *p)
{
	return text_ok(p->oem, sizeof p->oem, false) && text_ok(p->model, sizeof p->model, false) &&
	       text_ok(p->hw_rev, sizeof p->hw_rev, false) &&
	       text_ok(p->verification_service, sizeof p->verification_service, true);
}

/* An OEM key record as this run has it: the key given, or none (a
 * leftover of an interrupted run is deleted, never kept). */
static vg_rc oem_key_write(vg_identity *id, vg_sysrec rec, const uint8_t *der, size_t len)
{
	vg_rc rc;

	if (der)
		return vg_sysrec_put(id->store, rec, der, len);
	rc = vg_sysrec_delete(id->store, rec);
	return rc == VG_ERR_NOT_FOUND ? VG_OK : rc;
}

/* The identity itself: fresh keys, the setup code, then the record. */
static vg_rc provision_record(vg_identity *id, const vg_platform *p,
			      char code[static VG_SETUP_CODE_LEN + 1])
{
	vg_platform np = *p;
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	vg_rc rc;

	np.provisioned_at = (uint64_t)time(NULL);
	/* Leftovers of an interrupted run are replaced, never reused. */
	rc = fresh_key(id, VG_ATTEST_KEY_NAME);
	if (rc == VG_OK)
		rc = fresh_key(id, VG_IDENTITY_KEY_NAME);
	if (rc == VG_OK)
		rc = new_code(id);
	if (rc == VG_OK)
		rc = vg_sysrec_put(id->store, VG_SYS_SETUP_CODE, (const uint8_t *)id->code,
				   CODE_CHARS);
	if (rc == VG_OK)
		rc = record_encode(&np, &rec, &rec_len);
	/* Last: from here on the device is provisioned. */
	if (rc == VG_OK)
		rc = vg_sysrec_put(id->store, VG_SYS_IDENTITY, rec, rec_len);
	vg_free(rec, rec_len);
	if (rc == VG_OK) {
		id->plat = np;
		rc = load_instance(id);
	}
	if (rc == VG_OK)
		rc = impl_id(id);
	if (rc != VG_OK) {
		memset(&id->plat, 0, sizeof id->plat);
		vg_wipe(id->code, sizeof id->code);
		vg_wipe(id->code_dashed, sizeof id->code_dashed);
		VG_IGNORE(impl_id(id));
		return rc;
	}
	id->provisioned = true;
	memcpy(code, id->code_dashed, VG_SETUP_CODE_LEN + 1);
	return VG_OK;
}

vg_rc vg_identity_provision_device(vg_identity *id, const vg_platform *p, const vg_oem_keys *keys,
				   char code[static VG_SETUP_CODE_LEN + 1])
{
	uint8_t *dk = NULL, *rk = NULL;
	size_t dk_len = 0, rk_len = 0;
	vg_rc rc = VG_OK;

	code[0] = '\0';
	/* One time: a provisioned device keeps its identity and its keys. */
	if (id->provisioned)
		return VG_ERR_STATE;
	if (id->unknown != VG_OK)
		return id->unknown;
	if (vg_secstore_state(id->store) != VG_OK)
		return vg_secstore_state(id->store);
	/* Everything checked before anything is written. */
	if (!platform_ok(p))
		return VG_ERR_INVALID;
	if (keys && keys->debug_key &&
	    vg_pubkey_parse(keys->debug_key, keys->debug_key_len, &dk, &dk_len) != VG_OK)
		rc = VG_ERR_INVALID;
	if (rc == VG_OK && keys && keys->release_key &&
	    vg_pubkey_parse(keys->release_key, keys->release_key_len, &rk, &rk_len) != VG_OK)
		rc = VG_ERR_INVALID;
	/* The keys before the provisioning record, which comes last: an
	 * interrupted run leaves the device unprovisioned and is redone
	 * whole, and after the record nothing writes the keys again. */
	if (rc == VG_OK)
		rc = oem_key_write(id, VG_SYS_DEBUG_KEY, dk, dk_len);
	if (rc == VG_OK)
		rc = oem_key_write(id, VG_SYS_RELEASE_KEY, rk, rk_len);
	if (rc == VG_OK)
		rc = provision_record(id, p, code);
	OPENSSL_free(dk);
	OPENSSL_free(rk);
	return rc;
}

vg_rc vg_identity_debug_key(vg_identity *id, uint8_t **der, size_t *len)
{
	*der = NULL;
	*len = 0;
	if (!id->provisioned)
		return not_provisioned(id);
	return vg_sysrec_get(id->store, VG_SYS_DEBUG_KEY, der, len);
}

vg_rc vg_identity_claims(const vg_identity *id, vg_psa_claims *c)
{
	memset(c, 0, sizeof *c);
	(void)snprintf(c->profile, sizeof c->profile, "%s", VG_PSA_PROFILE_RFC9783_NAME);
	memcpy(c->instance_id, id->instance_id, sizeof c->instance_id);
	memcpy(c->implementation_id, id->impl_id, sizeof c->implementation_id);
	c->lifecycle = vg_identity_lifecycle(id);
	memcpy(c->boot_seed, id->boot_seed, sizeof id->boot_seed);
	c->boot_seed_len = sizeof id->boot_seed;
	if (id->provisioned)
		(void)snprintf(c->verification_service, sizeof c->verification_service, "%s",
			       id->plat.verification_service);
	memcpy(c->components, id->comp, id->n_comp * sizeof id->comp[0]);
	c->n_components = id->n_comp;
	for (size_t i = 0; i < id->n_reg && c->n_components < VG_PSA_MAX_COMPONENTS; i++)
		c->components[c->n_components++] = id->reg[i];
	return VG_OK;
}

static vg_rc attest_sign(void *ctx, const uint8_t *tbs, size_t len, uint8_t **sig, size_t *sig_len)
{
	vg_identity *id = ctx;

	return vg_keystore_sign(id->ks, VG_OWNER_SERVICE, VG_ATTEST_KEY_NAME, tbs, len, sig,
				sig_len);
}

vg_rc vg_identity_attest(vg_identity *id, uint32_t uid, const uint8_t *nonce, size_t nonce_len,
			 uint8_t **token, size_t *len)
{
	vg_psa_claims c;
	vg_rc rc;

	*token = NULL;
	*len = 0;
	if (!id->provisioned)
		return not_provisioned(id);
	if (nonce_len != 32 && nonce_len != 48 && nonce_len != 64)
		return VG_ERR_INVALID;
	if (uid > (uint32_t)INT32_MAX - 1u)
		return VG_ERR_INVALID; /* no negative client ID for it */
	rc = vg_identity_claims(id, &c);
	if (rc != VG_OK)
		return rc;
	if (c.n_components == 0)
		return VG_ERR_STATE; /* RFC 9783 needs at least one measurement */
	memcpy(c.nonce, nonce, nonce_len);
	c.nonce_len = nonce_len;
	c.client_id = -1 - (int32_t)uid;
	return vg_psa_token_encode(&c, attest_sign, id, token, len);
}

vg_rc vg_identity_public(vg_identity *id, bool pem, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!id->provisioned)
		return not_provisioned(id);
	return vg_keystore_public(id->ks, VG_OWNER_SERVICE, VG_ATTEST_KEY_NAME, pem, out, len);
}

/* ---- CSR and certificate ---- */

static EVP_PKEY *identity_pub(vg_identity *id)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	const unsigned char *p;
	EVP_PKEY *k = NULL;

	if (vg_keystore_public(id->ks, VG_OWNER_SERVICE, VG_IDENTITY_KEY_NAME, false, &der,
			       &der_len) != VG_OK)
		return NULL;
	p = der;
	k = d2i_PUBKEY(NULL, &p, (long)der_len);
	vg_free(der, der_len);
	return k;
}

vg_rc vg_identity_csr(vg_identity *id, const char *cn, char **pem, size_t *len)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pub = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_BIT_STRING *bits = NULL;
	unsigned char *tbs = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int tbs_len;
	char def_cn[256];
	BIO *bio = NULL;
	BUF_MEM *bm = NULL;
	vg_rc rc = VG_ERR_CRYPTO;

	*pem = NULL;
	*len = 0;
	if (!id->provisioned)
		return not_provisioned(id);
	if (cn && (!text_ok(cn, 200, false)))
		return VG_ERR_INVALID;
	if (!cn) {
		(void)snprintf(def_cn, sizeof def_cn, "%s %s %.16s", id->plat.oem, id->plat.model,
			       id->instance_hex + 2);
		cn = def_cn;
	}
	pub = identity_pub(id);
	req = X509_REQ_new();
	name = X509_NAME_new();
	if (!pub || !req || !name)
		goto out;
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
				       (const unsigned char *)id->plat.oem, -1, -1, 0) != 1 ||
	    /* serialNumber holds at most 64 characters: the SHA-256 part of
	     * the instance ID (its first byte is the UEID type, 0x01). */
	    X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_UTF8,
				       (const unsigned char *)id->instance_hex + 2, -1, -1, 0) != 1)
		goto out;
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, pub) != 1)
		goto out;
	alg = X509_ALGOR_new();
	if (!alg ||
	    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL) != 1 ||
	    X509_REQ_set1_signature_algo(req, alg) != 1)
		goto out;
	/* The to-be-signed part, signed by the key inside the keystore. */
	tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
	if (tbs_len <= 0)
		goto out;
	rc = vg_keystore_sign(id->ks, VG_OWNER_SERVICE, VG_IDENTITY_KEY_NAME, tbs, (size_t)tbs_len,
			      &sig, &sig_len);
	if (rc != VG_OK)
		goto out;
	rc = VG_ERR_CRYPTO;
	bits = ASN1_BIT_STRING_new();
	if (!bits || ASN1_BIT_STRING_set(bits, sig, (int)sig_len) != 1)
		goto out;
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	/* Check our own work before handing it out. */
	if (X509_REQ_verify(req, pub) != 1)
		goto out;
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_X509_REQ(bio, req) != 1)
		goto out;
	BIO_get_mem_ptr(bio, &bm);
	*pem = malloc(bm->length + 1);
	if (!*pem) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	memcpy(*pem, bm->data, bm->length);
	(*pem)[bm->length] = '\0';
	*len = bm->length;
	rc = VG_OK;
out:
	BIO_free(bio);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	vg_free(sig, sig_len);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	return rc;
}

vg_rc vg_identity_set_cert(vg_identity *id, const char *pem, size_t len)
{
	BIO *bio;
	X509 *cert = NULL, *extra = NULL;
	EVP_PKEY *pub = NULL, *cpub;
	vg_rc rc = VG_ERR_INVALID;

	if (!id->provisioned)
		return not_provisioned(id);
	if (len == 0 || len > VG_MAX_CERT_PEM)
		return VG_ERR_INVALID;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return VG_ERR_NOMEM;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (cert)
		extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	pub = identity_pub(id);
	cpub = cert ? X509_get0_pubkey(cert) : NULL;
	if (cert && !extra && pub && cpub && EVP_PKEY_eq(pub, cpub) == 1)
		rc = VG_OK;
	if (rc == VG_OK) {
		/* Store it re-encoded: exactly one certificate, nothing else. */
		BIO *o = BIO_new(BIO_s_mem());
		BUF_MEM *bm = NULL;
		rc = VG_ERR_NOMEM;
		if (o && PEM_write_bio_X509(o, cert) == 1) {
			BIO_get_mem_ptr(o, &bm);
			rc = vg_sysrec_put(id->store, VG_SYS_IDENTITY_CERT,
					   (const uint8_t *)bm->data, bm->length);
		}
		BIO_free(o);
	}
	ERR_clear_error();
	EVP_PKEY_free(pub);
	X509_free(extra);
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

vg_rc vg_identity_cert(vg_identity *id, char **pem, size_t *len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	vg_rc rc;

	*pem = NULL;
	*len = 0;
	if (!id->provisioned)
		return not_provisioned(id);
	rc = vg_sysrec_get(id->store, VG_SYS_IDENTITY_CERT, &buf, &n);
	if (rc != VG_OK)
		return rc;
	*pem = malloc(n + 1);
	if (!*pem) {
		vg_free(buf, n);
		return VG_ERR_NOMEM;
	}
	memcpy(*pem, buf, n);
	(*pem)[n] = '\0';
	*len = n;
	vg_free(buf, n);
	return VG_OK;
}

vg_rc vg_identity_check_setup_code(vg_identity *id, const char *code)
{
	char norm[CODE_CHARS];
	size_t n = 0;
	bool ok = true;

	if (!id->provisioned)
		return not_provisioned(id);
	for (const char *p = code; *p; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (n == CODE_CHARS) {
			ok = false;
			break;
		}
		norm[n++] = (char)toupper((unsigned char)*p);
	}
	ok = ok && n == CODE_CHARS;
	/* Compare all of it whatever happened above. */
	if (n < CODE_CHARS)
		memset(norm + n, 0, CODE_CHARS - n);
	ok = CRYPTO_memcmp(norm, id->code, CODE_CHARS) == 0 && ok;
	vg_wipe(norm, sizeof norm);
	return ok ? VG_OK : VG_ERR_AUTH_FAILED;
}

size_t vg_identity_device_words(const vg_identity *id, const char *words[VG_IDENTITY_MAX_WORDS])
{
	size_t n = 0;

	if (!id->provisioned)
		return 0;
	words[n++] = id->plat.oem;
	words[n++] = id->plat.model;
	words[n++] = id->plat.hw_rev;
	words[n++] = id->code;
	words[n++] = id->code_dashed;
	words[n++] = id->instance_hex;
	return n;
}
