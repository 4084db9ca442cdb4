/* psa_token.c - see psa_token.h */
#include "attest/psa_token.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "crypto/seal.h"
#include "proto/cborw.h"
#include "proto/wire.h"

#define COSE_TAG_MAC0  17u
#define COSE_TAG_SIGN1 18u
#define COSE_HDR_ALG   1
#define COSE_HDR_CRIT  2
#define COSE_ES256     (-7)
/* tag > array > header map > one nested value */
#define ENVELOPE_DEPTH 4u
/* claims map > components array > component map > one nested value */
#define CLAIMS_DEPTH 5u
#define CBOR_FLAGS   (VG_CBOR_ALLOW_NEGATIVE | VG_CBOR_ALLOW_TAGS)
#define NO_KEY       INT64_MIN
/* Protected header {1: -7}, as every voxguard token carries it. */
static const uint8_t es256_protected[] = {0xa1, 0x01, 0x26};
static const char sig1_context[] = "Signature1";

/* ---- messages ---- */

#define fail vg_why

const char *vg_psa_profile_name(vg_psa_profile p)
{
	switch (p) {
	case VG_PSA_PROFILE_RFC9783:
		return VG_PSA_PROFILE_RFC9783_NAME;
	case VG_PSA_PROFILE_PSA_2_0_0:
		return VG_PSA_PROFILE_PSA_2_0_0_NAME;
	case VG_PSA_PROFILE_IOT_1:
		return VG_PSA_PROFILE_IOT_1_NAME;
	}
	return "unknown";
}

const char *vg_psa_lifecycle_name(uint32_t lc)
{
	if (lc > 0xffffu || (lc & 0x0f00u))
		return "invalid";
	switch (lc & 0xf000u) {
	case VG_PSA_LC_UNKNOWN:
		return "unknown";
	case VG_PSA_LC_ASSEMBLY_AND_TEST:
		return "assembly-and-test";
	case VG_PSA_LC_PSA_ROT_PROVISIONING:
		return "psa-rot-provisioning";
	case VG_PSA_LC_SECURED:
		return "secured";
	case VG_PSA_LC_NON_PSA_ROT_DEBUG:
		return "non-psa-rot-debug";
	case VG_PSA_LC_RECOVERABLE_ROT_DEBUG:
		return "recoverable-psa-rot-debug";
	case VG_PSA_LC_DECOMMISSIONED:
		return "decommissioned";
	}
	return "invalid";
}

/* ---- claim keys per profile (psa_token.h has the table and its source) ---- */

enum claim {
	C_PROFILE,
	C_NONCE,
	C_INSTANCE,
	C_IMPL,
	C_CLIENT,
	C_LIFECYCLE,
	C_BOOT_SEED,
	C_CERT_REF,
	C_SW,
	C_NO_SW,
	C_VSI,
	C_COUNT
};

static const int64_t claim_keys[3][C_COUNT] = {
    [VG_PSA_PROFILE_RFC9783 - 1] = {265, 10, 256, 2396, 2394, 2395, 268, 2398, 2399, NO_KEY, 2400},
    [VG_PSA_PROFILE_PSA_2_0_0 - 1] = {265, 10, 256, 2396, 2394, 2395, 2397, 2398, 2399, NO_KEY,
				      2400},
    [VG_PSA_PROFILE_IOT_1 - 1] = {-75000, -75008, -75009, -75003, -75001, -75002, -75004, -75005,
				  -75006, -75007, -75010},
};

enum { SW_TYPE = 1, SW_MEASUREMENT = 2, SW_VERSION = 4, SW_SIGNER = 5, SW_DESC = 6 };

/* ---- shared well-formedness rules ---- */

static bool hash_len_ok(size_t n)
{
	return n == 32 || n == 48 || n == 64;
}

/* RFC 3629 UTF-8 (no overlongs, surrogates or code points above U+10FFFF),
 * and no NUL: text claims end up in C strings and JSON. */
static bool utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t b = s[i];
		size_t k;
		uint32_t cp, min;

		if (b == 0)
			return false;
		if (b < 0x80) {
			i++;
			continue;
		}
		if ((b & 0xe0) == 0xc0) {
			k = 1;
			cp = b & 0x1f;
			min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			k = 2;
			cp = b & 0x0f;
			min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			k = 3;
			cp = b & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (k > n - i - 1)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* EAN-13 followed by "-" and five digits (RFC 9783 section 4.2.3); the
 * legacy profile also allowed the bare EAN-13. */
static bool cert_ref_ok(const char *s, bool legacy)
{
	size_t n = strlen(s);

	if (legacy && n == 13 && digits(s, 13))
		return true;
	return n == 19 && digits(s, 13) && s[13] == '-' && digits(s + 14, 5);
}

static bool lifecycle_ok(uint32_t lc)
{
	return strcmp(vg_psa_lifecycle_name(lc), "invalid") != 0;
}

static bool cstr_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	return n < cap && utf8_ok((const uint8_t *)s, n);
}

/* The rules a decoded or to-be-encoded claim set must satisfy. */
static vg_rc check_claims(const vg_psa_claims *c, vg_psa_profile p, vg_rc bad, char *why, size_t wl)
{
	bool iot = p == VG_PSA_PROFILE_IOT_1;

	if (!hash_len_ok(c->nonce_len))
		return fail(why, wl, bad, "nonce must be 32, 48 or 64 bytes");
	if (c->instance_id[0] != 0x01)
		return fail(why, wl, bad, "instance ID is not a UEID of type RAND (0x01)");
	if (!lifecycle_ok(c->lifecycle))
		return fail(why, wl, bad, "security lifecycle 0x%x is not a defined state",
			    (unsigned)c->lifecycle);
	if (c->client_id == 0)
		return fail(why, wl, bad, "client ID 0 is not permitted");
	if (iot ? c->boot_seed_len != 32
		: c->boot_seed_len != 0 && (c->boot_seed_len < 8 || c->boot_seed_len > 32))
		return fail(why, wl, bad, "boot seed length %zu is not allowed", c->boot_seed_len);
	if (!cstr_ok(c->profile, sizeof c->profile) ||
	    !cstr_ok(c->certification_reference, sizeof c->certification_reference) ||
	    !cstr_ok(c->verification_service, sizeof c->verification_service))
		return fail(why, wl, bad, "text claim is not NUL-terminated UTF-8");
	if (c->certification_reference[0] && !cert_ref_ok(c->certification_reference, iot))
		return fail(why, wl, bad, "certification reference is not EAN-13+5");
	if (c->n_components > VG_PSA_MAX_COMPONENTS)
		return fail(why, wl, bad, "too many software components");
	if (iot ? (c->n_components > 0) == c->no_sw_measurements
		: c->n_components == 0 || c->no_sw_measurements)
		return fail(why, wl, bad, "software components missing or empty");
	for (size_t i = 0; i < c->n_components; i++) {
		const vg_psa_sw_component *sc = &c->components[i];

		if (!hash_len_ok(sc->measurement_len))
			return fail(why, wl, bad, "component %zu: measurement of bad length", i);
		if (!hash_len_ok(sc->signer_id_len) && !(iot && sc->signer_id_len == 0))
			return fail(why, wl, bad,
				    "component %zu: signer ID missing or of bad length", i);
		if (!cstr_ok(sc->measurement_type, sizeof sc->measurement_type) ||
		    !cstr_ok(sc->version, sizeof sc->version) ||
		    !cstr_ok(sc->measurement_desc, sizeof sc->measurement_desc))
			return fail(why, wl, bad, "component %zu: text is not UTF-8", i);
	}
	return VG_OK;
}

/* ---- keys ---- */

static vg_rc load_p256(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pk;
	char group[32];
	size_t glen = 0;

	*out = NULL;
	if (!der || len == 0 || len > LONG_MAX)
		return VG_ERR_INVALID;
	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pk || p != der + len || !EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					    &glen) ||
	    strcmp(group, "prime256v1") != 0) {
		EVP_PKEY_free(pk);
		ERR_clear_error();
		return VG_ERR_INVALID;
	}
	*out = pk;
	return VG_OK;
}

static vg_rc instance_id_of(const EVP_PKEY *pk, uint8_t out[static VG_PSA_INSTANCE_ID_LEN])
{
	BIGNUM *x = NULL, *y = NULL;
	uint8_t point[65];
	vg_rc rc = VG_ERR_CRYPTO;

	/* From the coordinates, so a key stored compressed hashes the same. */
	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
		goto out;
	point[0] = 0x04;
	if (BN_bn2binpad(x, point + 1, 32) != 32 || BN_bn2binpad(y, point + 33, 32) != 32)
		goto out;
	out[0] = 0x01;
	rc = vg_sha256(point, sizeof point, out + 1);
out:
	BN_free(x);
	BN_free(y);
	ERR_clear_error();
	return rc;
}

vg_rc vg_psa_instance_id(const uint8_t *pub_der, size_t len,
			 uint8_t out[static VG_PSA_INSTANCE_ID_LEN])
{
	EVP_PKEY *pk;
	vg_rc rc = load_p256(pub_der, len, &pk);

	if (rc != VG_OK)
		return rc;
	rc = instance_id_of(pk, out);
	EVP_PKEY_free(pk);
	return rc;
}

/* ---- the Sig_structure: ["Signature1", protected, h'', payload] ---- */

typedef int (*sink_fn)(void *ctx, const uint8_t *p, size_t n);

static int sig_structure(sink_fn put, void *ctx, const uint8_t *prot, size_t prot_len,
			 const uint8_t *payload, size_t payload_len)
{
	uint8_t h[9];
	size_t n;
	int ok = 1;

	n = cbor_encode_array_start(4, h, sizeof h);
	ok &= put(ctx, h, n);
	n = cbor_encode_string_start(sizeof sig1_context - 1, h, sizeof h);
	ok &= put(ctx, h, n);
	ok &= put(ctx, (const uint8_t *)sig1_context, sizeof sig1_context - 1);
	n = cbor_encode_bytestring_start(prot_len, h, sizeof h);
	ok &= put(ctx, h, n);
	ok &= put(ctx, prot, prot_len);
	n = cbor_encode_bytestring_start(0, h, sizeof h); /* external_aad */
	ok &= put(ctx, h, n);
	n = cbor_encode_bytestring_start(payload_len, h, sizeof h);
	ok &= put(ctx, h, n);
	ok &= put(ctx, payload, payload_len);
	return ok;
}

static int digest_sink(void *ctx, const uint8_t *p, size_t n)
{
	return n == 0 || EVP_DigestVerifyUpdate(ctx, p, n) == 1;
}

/* ES256 over the Sig_structure, streamed into the digest (no copy). */
static vg_rc es256_verify(EVP_PKEY *pk, const uint8_t *prot, size_t prot_len,
			  const uint8_t *payload, size_t payload_len,
			  const uint8_t sig[static VG_PSA_ES256_SIG_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	uint8_t der[80], *dp = der;
	int der_len;
	vg_rc rc = VG_ERR_NOMEM;

	if (!md || !es || !r || !s)
		goto out;
	if (!ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL; /* owned by es */
	der_len = i2d_ECDSA_SIG(es, NULL);
	if (der_len <= 0 || (size_t)der_len > sizeof der || i2d_ECDSA_SIG(es, &dp) != der_len) {
		rc = VG_ERR_CRYPTO;
		goto out;
	}
	rc = VG_ERR_CRYPTO;
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    !sig_structure(digest_sink, md, prot, prot_len, payload, payload_len))
		goto out;
	rc = EVP_DigestVerifyFinal(md, der, (size_t)der_len) == 1 ? VG_OK : VG_ERR_VERIFY_FAILED;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/* ---- decoding ---- */

static bool item_int(const cbor_item_t *it, int64_t *v)
{
	uint64_t u;

	if (!cbor_isa_uint(it) && !cbor_isa_negint(it))
		return false;
	u = cbor_get_int(it);
	if (u > INT64_MAX)
		return false;
	*v = cbor_isa_uint(it) ? (int64_t)u : -1 - (int64_t)u;
	return true;
}

static bool keys_equal(const cbor_item_t *a, const cbor_item_t *b)
{
	int64_t x, y;

	if (item_int(a, &x) && item_int(b, &y))
		return x == y;
	if (cbor_isa_string(a) && cbor_isa_string(b))
		return cbor_string_length(a) == cbor_string_length(b) &&
		       memcmp(cbor_string_handle(a), cbor_string_handle(b),
			      cbor_string_length(a)) == 0;
	return false;
}

/* Keys are integers or text (CWT, COSE), each at most once. */
static bool map_keys_ok(const cbor_item_t *map)
{
	const struct cbor_pair *p = cbor_map_handle(map);
	size_t n = cbor_map_size(map);
	int64_t v;

	for (size_t i = 0; i < n; i++) {
		if (!item_int(p[i].key, &v) && !cbor_isa_string(p[i].key))
			return false;
		for (size_t j = 0; j < i; j++)
			if (keys_equal(p[i].key, p[j].key))
				return false;
	}
	return true;
}

static const cbor_item_t *map_find(const cbor_item_t *map, int64_t key)
{
	const struct cbor_pair *p = cbor_map_handle(map);
	size_t n = cbor_map_size(map);
	int64_t v;

	if (key == NO_KEY)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (item_int(p[i].key, &v) && v == key)
			return p[i].value;
	return NULL;
}

static bool bstr(const cbor_item_t *it, const uint8_t **p, size_t *n)
{
	if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return false;
	*p = cbor_bytestring_handle(it);
	*n = cbor_bytestring_length(it);
	if (!*p) { /* libcbor keeps no buffer for h'' */
		static const uint8_t empty[1];
		*p = empty;
	}
	return true;
}

/* A bstr of 32, 48 or 64 bytes into out. */
static bool hash_claim(const cbor_item_t *it, uint8_t out[static VG_PSA_MAX_HASH], size_t *len)
{
	const uint8_t *p;
	size_t n;

	if (!bstr(it, &p, &n) || !hash_len_ok(n))
		return false;
	memcpy(out, p, n);
	*len = n;
	return true;
}

static vg_rc text_claim(const cbor_item_t *it, char *out, size_t cap, const char *what, char *why,
			size_t wl)
{
	size_t n;

	if (!cbor_isa_string(it) || !cbor_string_is_definite(it))
		return fail(why, wl, VG_ERR_VERIFY_FAILED, "%s is not a text string", what);
	n = cbor_string_length(it);
	if (n >= cap)
		return fail(why, wl, VG_ERR_TOO_LARGE, "%s is longer than %zu bytes", what,
			    cap - 1);
	if (n == 0 || !utf8_ok(cbor_string_handle(it), n))
		return fail(why, wl, VG_ERR_VERIFY_FAILED, "%s is empty or not UTF-8", what);
	memcpy(out, cbor_string_handle(it), n);
	out[n] = '\0';
	return VG_OK;
}

static vg_rc parse_component(const cbor_item_t *m, vg_psa_sw_component *sc, size_t i, char *why,
			     size_t wl)
{
	const cbor_item_t *v;
	vg_rc rc;

	if (!cbor_isa_map(m) || !map_keys_ok(m))
		return fail(why, wl, VG_ERR_VERIFY_FAILED,
			    "component %zu is not a map with unique keys", i);
	if (!hash_claim(map_find(m, SW_MEASUREMENT), sc->measurement, &sc->measurement_len))
		return fail(why, wl, VG_ERR_VERIFY_FAILED,
			    "component %zu: measurement missing or not 32/48/64 bytes", i);
	v = map_find(m, SW_SIGNER);
	if (v && !hash_claim(v, sc->signer_id, &sc->signer_id_len))
		return fail(why, wl, VG_ERR_VERIFY_FAILED,
			    "component %zu: signer ID not 32/48/64 bytes", i);
	if ((v = map_find(m, SW_TYPE)) &&
	    (rc = text_claim(v, sc->measurement_type, sizeof sc->measurement_type,
			     "measurement type", why, wl)) != VG_OK)
		return rc;
	if ((v = map_find(m, SW_VERSION)) &&
	    (rc = text_claim(v, sc->version, sizeof sc->version, "version", why, wl)) != VG_OK)
		return rc;
	if ((v = map_find(m, SW_DESC)) &&
	    (rc = text_claim(v, sc->measurement_desc, sizeof sc->measurement_desc,
			     "measurement description", why, wl)) != VG_OK)
		return rc;
	return VG_OK;
}

static vg_rc which_profile(const cbor_item_t *map, vg_psa_profile *p, char *why, size_t wl)
{
	const cbor_item_t *eat = map_find(map, 265), *old = map_find(map, -75000);
	const cbor_item_t *v = eat ? eat : old;
	size_t n;

	if (!v || (eat && old))
		return fail(why, wl, VG_ERR_VERIFY_FAILED, "profile claim missing or ambiguous");
	if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
		return fail(why, wl, VG_ERR_VERIFY_FAILED, "profile is not a text string");
	n = cbor_string_length(v);
#define IS(name) (n == sizeof(name) - 1 && memcmp(cbor_string_handle(v), name, n) == 0)
	if (eat && IS(VG_PSA_PROFILE_RFC9783_NAME))
		*p = VG_PSA_PROFILE_RFC9783;
	else if (eat && IS(VG_PSA_PROFILE_PSA_2_0_0_NAME))
		*p = VG_PSA_PROFILE_PSA_2_0_0;
	else if (old && IS(VG_PSA_PROFILE_IOT_1_NAME))
		*p = VG_PSA_PROFILE_IOT_1;
	else
		return fail(why, wl, VG_ERR_VERIFY_FAILED, "unknown profile");
#undef IS
	return VG_OK;
}

/* Claims map -> *c, checked per the profile it names. */
static vg_rc parse_claims(const uint8_t *buf, size_t len, vg_psa_claims *c, vg_psa_profile *prof,
			  char *why, size_t wl)
{
	struct cbor_load_result res;
	cbor_item_t *root = NULL;
	const cbor_item_t *v;
	const int64_t *k;
	const uint8_t *p;
	size_t n;
	int64_t iv;
	vg_rc rc;

	if (vg_cbor_validate_ex(buf, len, CLAIMS_DEPTH, CBOR_FLAGS) != VG_OK)
		return fail(why, wl, VG_ERR_PROTOCOL, "claims are not strict definite-length CBOR");
	root = cbor_load(buf, len, &res);
	if (!root)
		return res.error.code == CBOR_ERR_MEMERROR
			   ? VG_ERR_NOMEM
			   : fail(why, wl, VG_ERR_PROTOCOL, "claims do not decode");
	rc = VG_ERR_VERIFY_FAILED;
	if (res.read != len || !cbor_isa_map(root) || !map_keys_ok(root)) {
		fail(why, wl, rc, "claims are not a map with unique integer or text keys");
		goto out;
	}
	if ((rc = which_profile(root, prof, why, wl)) != VG_OK)
		goto out;
	k = claim_keys[*prof - 1];
	rc = VG_ERR_VERIFY_FAILED;
	VG_IGNORE(text_claim(map_find(root, k[C_PROFILE]), c->profile, sizeof c->profile, "profile",
			     NULL, 0));

	if (!bstr(map_find(root, k[C_NONCE]), &p, &n) || !hash_len_ok(n)) {
		fail(why, wl, rc, "nonce missing, not a byte string or not 32/48/64 bytes");
		goto out;
	}
	memcpy(c->nonce, p, n);
	c->nonce_len = n;
	if (!bstr(map_find(root, k[C_INSTANCE]), &p, &n) || n != VG_PSA_INSTANCE_ID_LEN) {
		fail(why, wl, rc, "instance ID missing or not 33 bytes");
		goto out;
	}
	memcpy(c->instance_id, p, n);
	if (!bstr(map_find(root, k[C_IMPL]), &p, &n) || n != VG_PSA_IMPL_ID_LEN) {
		fail(why, wl, rc, "implementation ID missing or not 32 bytes");
		goto out;
	}
	memcpy(c->implementation_id, p, n);
	v = map_find(root, k[C_CLIENT]);
	if (!v || !item_int(v, &iv) || iv < INT32_MIN || iv > INT32_MAX) {
		fail(why, wl, rc, "client ID missing or not a 32-bit integer");
		goto out;
	}
	c->client_id = (int32_t)iv;
	v = map_find(root, k[C_LIFECYCLE]);
	if (!v || !cbor_isa_uint(v) || cbor_get_int(v) > 0xffff) {
		fail(why, wl, rc, "security lifecycle missing or not a 16-bit unsigned integer");
		goto out;
	}
	c->lifecycle = (uint32_t)cbor_get_int(v);
	if ((v = map_find(root, k[C_BOOT_SEED]))) {
		if (!bstr(v, &p, &n) || n == 0 || n > VG_PSA_MAX_BOOT_SEED) {
			fail(why, wl, rc, "boot seed is not a byte string of 8 to 32 bytes");
			goto out;
		}
		memcpy(c->boot_seed, p, n);
		c->boot_seed_len = n;
	}
	if ((v = map_find(root, k[C_CERT_REF])) &&
	    (rc = text_claim(v, c->certification_reference, sizeof c->certification_reference,
			     "certification reference", why, wl)) != VG_OK)
		goto out;
	if ((v = map_find(root, k[C_VSI])) &&
	    (rc = text_claim(v, c->verification_service, sizeof c->verification_service,
			     "verification service indicator", why, wl)) != VG_OK)
		goto out;
	rc = VG_ERR_VERIFY_FAILED;
	if ((v = map_find(root, k[C_NO_SW]))) {
		if (!cbor_isa_uint(v)) {
			fail(why, wl, rc, "no-software-measurements is not an unsigned integer");
			goto out;
		}
		c->no_sw_measurements = true;
	}
	if ((v = map_find(root, k[C_SW]))) {
		const cbor_item_t *const *items;

		if (!cbor_isa_array(v) || !cbor_array_is_definite(v)) {
			fail(why, wl, rc, "software components is not an array");
			goto out;
		}
		n = cbor_array_size(v);
		if (n > VG_PSA_MAX_COMPONENTS) {
			rc = fail(why, wl, VG_ERR_TOO_LARGE, "more than %u software components",
				  VG_PSA_MAX_COMPONENTS);
			goto out;
		}
		items = (const cbor_item_t *const *)cbor_array_handle(v);
		for (size_t i = 0; i < n; i++)
			if ((rc = parse_component(items[i], &c->components[i], i, why, wl)) !=
			    VG_OK)
				goto out;
		c->n_components = n;
	}
	rc = check_claims(c, *prof, VG_ERR_VERIFY_FAILED, why, wl);
out:
	cbor_decref(&root);
	return rc;
}

struct envelope {
	cbor_item_t *root;
	bool mac0;
	int64_t alg;
	const uint8_t *prot, *payload, *sig;
	size_t prot_len, payload_len, sig_len;
};

static vg_rc parse_protected(struct envelope *e, char *why, size_t wl)
{
	struct cbor_load_result res;
	cbor_item_t *m;
	const cbor_item_t *alg;
	vg_rc rc = VG_ERR_PROTOCOL;

	if (e->prot_len == 0 ||
	    vg_cbor_validate_ex(e->prot, e->prot_len, ENVELOPE_DEPTH, CBOR_FLAGS) != VG_OK)
		return fail(why, wl, rc, "protected header is empty or not strict CBOR");
	m = cbor_load(e->prot, e->prot_len, &res);
	if (!m)
		return res.error.code == CBOR_ERR_MEMERROR
			   ? VG_ERR_NOMEM
			   : fail(why, wl, rc, "protected header does not decode");
	if (!cbor_isa_map(m) || !map_keys_ok(m)) {
		fail(why, wl, rc, "protected header is not a map with unique keys");
	} else if (map_find(m, COSE_HDR_CRIT)) {
		rc = fail(why, wl, VG_ERR_UNSUPPORTED, "critical header parameters");
	} else if (!(alg = map_find(m, COSE_HDR_ALG)) || !item_int(alg, &e->alg)) {
		fail(why, wl, rc, "protected header has no integer algorithm");
	} else {
		rc = VG_OK;
	}
	cbor_decref(&m);
	return rc;
}

/* The COSE tag head. libcbor 0.8's decoder rejects the one-byte heads of
 * tags 6..20 (0xc6..0xd4), so 0xd2 (COSE_Sign1) and 0xd1 (COSE_Mac0)
 * cannot go through cbor_load(): read the head here, decode the rest with
 * libcbor. Longer (non-preferred) heads are accepted, as RFC 9783 asks of
 * verifiers. */
static bool tag_head(const uint8_t *t, size_t len, uint64_t *tag, size_t *hlen)
{
	unsigned ai;
	size_t n;

	if (len == 0 || t[0] >> 5 != 6)
		return false;
	ai = t[0] & 0x1fu;
	if (ai < 24) {
		*tag = ai;
		*hlen = 1;
		return true;
	}
	if (ai > 27)
		return false;
	n = (size_t)1 << (ai - 24);
	if (len - 1 < n)
		return false;
	*tag = 0;
	for (size_t i = 0; i < n; i++)
		*tag = *tag << 8 | t[1 + i];
	*hlen = 1 + n;
	return true;
}

/* Tagged COSE_Sign1 / COSE_Mac0: [protected: bstr, unprotected: map,
 * payload: bstr, signature or tag: bstr]. Pointers are into e->root. */
static vg_rc parse_envelope(const uint8_t *tok, size_t len, struct envelope *e, char *why,
			    size_t wl)
{
	struct cbor_load_result res;
	cbor_item_t **it;
	uint64_t tag;
	size_t hlen;
	vg_rc rc = VG_ERR_PROTOCOL;

	memset(e, 0, sizeof *e);
	if (!tok || len == 0)
		return fail(why, wl, VG_ERR_INVALID, "empty token");
	if (len > VG_PSA_MAX_TOKEN)
		return fail(why, wl, VG_ERR_TOO_LARGE, "token larger than %u bytes",
			    VG_PSA_MAX_TOKEN);
	if (!tag_head(tok, len, &tag, &hlen))
		return fail(why, wl, rc, "not a tagged COSE object");
	if (tag != COSE_TAG_SIGN1 && tag != COSE_TAG_MAC0)
		return fail(why, wl, rc, "tag %llu is neither COSE_Sign1 (18) nor COSE_Mac0 (17)",
			    (unsigned long long)tag);
	e->mac0 = tag == COSE_TAG_MAC0;
	tok += hlen;
	len -= hlen;
	if (len == 0 || vg_cbor_validate_ex(tok, len, ENVELOPE_DEPTH, CBOR_FLAGS) != VG_OK)
		return fail(why, wl, rc, "not strict definite-length CBOR (or trailing bytes)");
	e->root = cbor_load(tok, len, &res);
	if (!e->root)
		return res.error.code == CBOR_ERR_MEMERROR ? VG_ERR_NOMEM
							   : fail(why, wl, rc, "does not decode");
	if (res.read != len || !cbor_isa_array(e->root) || !cbor_array_is_definite(e->root) ||
	    cbor_array_size(e->root) != 4) {
		fail(why, wl, rc, "COSE structure is not an array of 4");
		goto bad;
	}
	it = cbor_array_handle(e->root);
	if (!bstr(it[0], &e->prot, &e->prot_len) || !cbor_isa_map(it[1]) ||
	    !bstr(it[2], &e->payload, &e->payload_len) || !bstr(it[3], &e->sig, &e->sig_len)) {
		fail(why, wl, rc, "COSE fields of the wrong type (or a detached payload)");
		goto bad;
	}
	/* The algorithm must be protected: none in the unprotected header. */
	if (!map_keys_ok(it[1]) || map_find(it[1], COSE_HDR_ALG) ||
	    map_find(it[1], COSE_HDR_CRIT)) {
		fail(why, wl, rc, "unprotected header is malformed or carries alg/crit");
		goto bad;
	}
	if ((rc = parse_protected(e, why, wl)) != VG_OK)
		goto bad;
	return VG_OK;
bad:
	cbor_decref(&e->root);
	return rc;
}

/* Hands the claims and profile out on success; zeroes them on failure, so
 * a caller can never act on claims that did not verify. */
static vg_rc hand_out(vg_rc rc, vg_psa_claims *c, vg_psa_profile p, vg_psa_claims *out,
		      vg_psa_profile *profile)
{
	if (rc != VG_OK) {
		memset(c, 0, sizeof *c);
		p = 0;
	}
	if (out)
		*out = *c;
	if (profile)
		*profile = p;
	return rc;
}

vg_rc vg_psa_token_decode(const uint8_t *token, size_t len, vg_psa_claims *out,
			  vg_psa_profile *profile, char *why, size_t why_len)
{
	struct envelope e;
	vg_psa_claims c;
	vg_psa_profile p = 0;
	vg_rc rc;

	if (why && why_len)
		why[0] = '\0';
	memset(&c, 0, sizeof c);
	rc = parse_envelope(token, len, &e, why, why_len);
	if (rc != VG_OK)
		goto out;
	rc = parse_claims(e.payload, e.payload_len, &c, &p, why, why_len);
	cbor_decref(&e.root);
out:
	return hand_out(rc, &c, p, out, profile);
}

static bool component_matches(const vg_psa_sw_component *t, const vg_psa_sw_component *r)
{
	if (t->measurement_len != r->measurement_len ||
	    CRYPTO_memcmp(t->measurement, r->measurement, r->measurement_len) != 0)
		return false;
	if (r->signer_id_len && (t->signer_id_len != r->signer_id_len ||
				 CRYPTO_memcmp(t->signer_id, r->signer_id, r->signer_id_len)))
		return false;
	if (r->measurement_type[0] && strcmp(t->measurement_type, r->measurement_type) != 0)
		return false;
	if (r->version[0] && strcmp(t->version, r->version) != 0)
		return false;
	if (r->measurement_desc[0] && strcmp(t->measurement_desc, r->measurement_desc) != 0)
		return false;
	return true;
}

static vg_rc check_opts(const vg_psa_verify_opts *o, const vg_psa_claims *c, vg_psa_profile p,
			EVP_PKEY *pk, char *why, size_t wl)
{
	vg_rc rc = VG_ERR_VERIFY_FAILED;

	if (o->profiles && !(o->profiles & (1u << p)))
		return fail(why, wl, rc, "profile %s is not accepted", vg_psa_profile_name(p));
	if (o->nonce &&
	    (o->nonce_len != c->nonce_len || CRYPTO_memcmp(o->nonce, c->nonce, c->nonce_len) != 0))
		return fail(why, wl, rc, "nonce mismatch");
	if (o->bind_instance_id) {
		uint8_t id[VG_PSA_INSTANCE_ID_LEN];
		vg_rc r2 = instance_id_of(pk, id);

		if (r2 != VG_OK)
			return r2;
		if (CRYPTO_memcmp(id, c->instance_id, sizeof id) != 0)
			return fail(why, wl, rc, "instance ID is not that of the key");
	}
	if (o->reference) {
		for (size_t i = 0; i < c->n_components; i++) {
			bool found = false;

			for (size_t j = 0; j < o->n_reference && !found; j++)
				found = component_matches(&c->components[i], &o->reference[j]);
			if (!found)
				return fail(why, wl, rc,
					    "software component %zu matches no reference value", i);
		}
	}
	return VG_OK;
}

vg_rc vg_psa_token_verify(const uint8_t *token, size_t len, const uint8_t *pub_der, size_t pub_len,
			  const vg_psa_verify_opts *opts, vg_psa_claims *out,
			  vg_psa_profile *profile, char *why, size_t why_len)
{
	static const vg_psa_verify_opts none;
	struct envelope e = {0};
	vg_psa_claims c;
	vg_psa_profile p = 0;
	EVP_PKEY *pk = NULL;
	vg_rc rc;

	if (why && why_len)
		why[0] = '\0';
	memset(&c, 0, sizeof c);
	if (!opts)
		opts = &none;
	if (opts->nonce && !hash_len_ok(opts->nonce_len)) {
		rc =
		    fail(why, why_len, VG_ERR_INVALID, "expected nonce must be 32, 48 or 64 bytes");
		goto out;
	}
	if (!opts->reference && opts->n_reference) {
		rc = fail(why, why_len, VG_ERR_INVALID, "reference count without references");
		goto out;
	}
	if ((rc = load_p256(pub_der, pub_len, &pk)) != VG_OK) {
		fail(why, why_len, rc, "the key is not an EC P-256 public key (DER)");
		goto out;
	}
	if ((rc = parse_envelope(token, len, &e, why, why_len)) != VG_OK)
		goto out;
	if (e.mac0) {
		rc = fail(why, why_len, VG_ERR_UNSUPPORTED,
			  "COSE_Mac0 (HMAC-keyed) tokens are not supported");
		goto out;
	}
	if (e.alg != COSE_ES256) {
		rc = fail(why, why_len, VG_ERR_UNSUPPORTED, "algorithm %lld is not ES256 (-7)",
			  (long long)e.alg);
		goto out;
	}
	if (e.sig_len != VG_PSA_ES256_SIG_LEN) {
		rc =
		    fail(why, why_len, VG_ERR_VERIFY_FAILED, "signature is not a 64-byte raw r||s");
		goto out;
	}
	rc = es256_verify(pk, e.prot, e.prot_len, e.payload, e.payload_len, e.sig);
	if (rc != VG_OK) {
		fail(why, why_len, rc, "%s",
		     rc == VG_ERR_VERIFY_FAILED ? "signature invalid" : "signature check failed");
		goto out;
	}
	if ((rc = parse_claims(e.payload, e.payload_len, &c, &p, why, why_len)) != VG_OK)
		goto out;
	rc = check_opts(opts, &c, p, pk, why, why_len);
out:
	if (e.root)
		cbor_decref(&e.root);
	EVP_PKEY_free(pk);
	return hand_out(rc, &c, p, out, profile);
}

/* ---- encoding ---- */

static void encode_claims(vg_cborw *w, const vg_psa_claims *c)
{
	const int64_t *k = claim_keys[VG_PSA_PROFILE_RFC9783 - 1];
	/* 7 mandatory claims, then the optional ones that are set */
	size_t n = 7 + (c->boot_seed_len > 0) + (c->certification_reference[0] != '\0') +
		   (c->verification_service[0] != '\0');

	vg_cborw_head(w, cbor_encode_map_start, n);
	vg_cborw_int(w, k[C_PROFILE]);
	vg_cborw_text(w, VG_PSA_PROFILE_RFC9783_NAME);
	vg_cborw_int(w, k[C_NONCE]);
	vg_cborw_bytes(w, c->nonce, c->nonce_len);
	vg_cborw_int(w, k[C_INSTANCE]);
	vg_cborw_bytes(w, c->instance_id, sizeof c->instance_id);
	vg_cborw_int(w, k[C_IMPL]);
	vg_cborw_bytes(w, c->implementation_id, sizeof c->implementation_id);
	vg_cborw_int(w, k[C_CLIENT]);
	vg_cborw_int(w, c->client_id);
	vg_cborw_int(w, k[C_LIFECYCLE]);
	vg_cborw_int(w, c->lifecycle);
	if (c->boot_seed_len) {
		vg_cborw_int(w, k[C_BOOT_SEED]);
		vg_cborw_bytes(w, c->boot_seed, c->boot_seed_len);
	}
	if (c->certification_reference[0]) {
		vg_cborw_int(w, k[C_CERT_REF]);
		vg_cborw_text(w, c->certification_reference);
	}
	if (c->verification_service[0]) {
		vg_cborw_int(w, k[C_VSI]);
		vg_cborw_text(w, c->verification_service);
	}
	vg_cborw_int(w, k[C_SW]);
	vg_cborw_head(w, cbor_encode_array_start, c->n_components);
	for (size_t i = 0; i < c->n_components; i++) {
		const vg_psa_sw_component *sc = &c->components[i];

		vg_cborw_head(w, cbor_encode_map_start,
			      2 + (sc->measurement_type[0] != '\0') + (sc->version[0] != '\0') +
				  (sc->measurement_desc[0] != '\0'));
		if (sc->measurement_type[0]) {
			vg_cborw_int(w, SW_TYPE);
			vg_cborw_text(w, sc->measurement_type);
		}
		vg_cborw_int(w, SW_MEASUREMENT);
		vg_cborw_bytes(w, sc->measurement, sc->measurement_len);
		if (sc->version[0]) {
			vg_cborw_int(w, SW_VERSION);
			vg_cborw_text(w, sc->version);
		}
		vg_cborw_int(w, SW_SIGNER);
		vg_cborw_bytes(w, sc->signer_id, sc->signer_id_len);
		if (sc->measurement_desc[0]) {
			vg_cborw_int(w, SW_DESC);
			vg_cborw_text(w, sc->measurement_desc);
		}
	}
}

/* DER ECDSA-Sig-Value -> raw r||s, 32 bytes each. */
static vg_rc der_to_raw(const uint8_t *der, size_t len, uint8_t raw[static VG_PSA_ES256_SIG_LEN])
{
	const unsigned char *p = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	vg_rc rc = VG_ERR_CRYPTO;

	if (!der || len == 0 || len > 128)
		return VG_ERR_CRYPTO;
	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (!es || p != der + len)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_is_negative(r) || BN_is_negative(s) || BN_bn2binpad(r, raw, 32) != 32 ||
	    BN_bn2binpad(s, raw + 32, 32) != 32)
		goto out;
	rc = VG_OK;
out:
	ECDSA_SIG_free(es);
	ERR_clear_error();
	return rc;
}

vg_rc vg_psa_token_encode(const vg_psa_claims *c, vg_psa_sign_fn sign, void *ctx, uint8_t **token,
			  size_t *len)
{
	vg_cborw payload = {.max = 4 * VG_PSA_MAX_TOKEN}, tbs = {.max = 4 * VG_PSA_MAX_TOKEN},
		 tok = {.max = 4 * VG_PSA_MAX_TOKEN};
	uint8_t *der = NULL, raw[VG_PSA_ES256_SIG_LEN];
	size_t der_len = 0;
	vg_rc rc;

	if (token)
		*token = NULL;
	if (len)
		*len = 0;
	if (!c || !sign || !token || !len)
		return VG_ERR_INVALID;
	if ((c->profile[0] && strcmp(c->profile, VG_PSA_PROFILE_RFC9783_NAME) != 0) ||
	    c->no_sw_measurements)
		return VG_ERR_INVALID;
	rc = check_claims(c, VG_PSA_PROFILE_RFC9783, VG_ERR_INVALID, NULL, 0);
	if (rc != VG_OK)
		return rc;

	rc = VG_ERR_NOMEM;
	encode_claims(&payload, c);
	if (payload.failed)
		goto out;
	if (!sig_structure(vg_cborw_put, &tbs, es256_protected, sizeof es256_protected, payload.p,
			   payload.len) ||
	    tbs.failed)
		goto out;
	rc = sign(ctx, tbs.p, tbs.len, &der, &der_len);
	if (rc != VG_OK)
		goto out;
	if ((rc = der_to_raw(der, der_len, raw)) != VG_OK)
		goto out;

	rc = VG_ERR_NOMEM;
	vg_cborw_head(&tok, cbor_encode_tag, COSE_TAG_SIGN1);
	vg_cborw_head(&tok, cbor_encode_array_start, 4);
	vg_cborw_bytes(&tok, es256_protected, sizeof es256_protected);
	vg_cborw_head(&tok, cbor_encode_map_start, 0);
	vg_cborw_bytes(&tok, payload.p, payload.len);
	vg_cborw_bytes(&tok, raw, sizeof raw);
	if (tok.failed)
		goto out;
	if (tok.len > VG_PSA_MAX_TOKEN) {
		rc = VG_ERR_TOO_LARGE;
		goto out;
	}
	*token = tok.p;
	*len = tok.len;
	tok.p = NULL;
	rc = VG_OK;
out:
	vg_free(der, der_len);
	free(payload.p);
	free(tbs.p);
	free(tok.p);
	return rc;
}

/* ---- JSON ---- */

static void json_hex(FILE *f, const char *name, const uint8_t *p, size_t n, bool comma)
{
	fprintf(f, "%s\"%s\":\"", comma ? "," : "", name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

/* Text was checked to be UTF-8 without NUL; escape what JSON requires. */
static void json_str(FILE *f, const char *name, const char *s, bool comma)
{
	fprintf(f, "%s\"%s\":\"", comma ? "," : "", name);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

vg_rc vg_psa_claims_to_json(const vg_psa_claims *c, vg_psa_profile p, FILE *f)
{
	if (!c || !f || c->n_components > VG_PSA_MAX_COMPONENTS ||
	    !cstr_ok(c->profile, sizeof c->profile) ||
	    !cstr_ok(c->certification_reference, sizeof c->certification_reference) ||
	    !cstr_ok(c->verification_service, sizeof c->verification_service) ||
	    c->nonce_len > sizeof c->nonce || c->boot_seed_len > sizeof c->boot_seed)
		return VG_ERR_INVALID;
	fputc('{', f);
	json_str(f, "profile", c->profile[0] ? c->profile : vg_psa_profile_name(p), false);
	json_hex(f, "nonce", c->nonce, c->nonce_len, true);
	json_hex(f, "instance_id", c->instance_id, sizeof c->instance_id, true);
	json_hex(f, "implementation_id", c->implementation_id, sizeof c->implementation_id, true);
	fprintf(f, ",\"client_id\":%" PRId32 ",\"lifecycle\":%" PRIu32, c->client_id, c->lifecycle);
	json_str(f, "lifecycle_state", vg_psa_lifecycle_name(c->lifecycle), true);
	if (c->boot_seed_len)
		json_hex(f, "boot_seed", c->boot_seed, c->boot_seed_len, true);
	if (c->certification_reference[0])
		json_str(f, "certification_reference", c->certification_reference, true);
	if (c->verification_service[0])
		json_str(f, "verification_service", c->verification_service, true);
	if (c->no_sw_measurements)
		fputs(",\"no_sw_measurements\":true", f);
	fputs(",\"components\":[", f);
	for (size_t i = 0; i < c->n_components; i++) {
		const vg_psa_sw_component *sc = &c->components[i];

		if (!cstr_ok(sc->measurement_type, sizeof sc->measurement_type) ||
		    !cstr_ok(sc->version, sizeof sc->version) ||
		    !cstr_ok(sc->measurement_desc, sizeof sc->measurement_desc) ||
		    sc->measurement_len > sizeof sc->measurement ||
		    sc->signer_id_len > sizeof sc->signer_id)
			return VG_ERR_INVALID;
		fputs(i ? ",{" : "{", f);
		json_hex(f, "measurement_value", sc->measurement, sc->measurement_len, false);
		if (sc->measurement_type[0])
			json_str(f, "measurement_type", sc->measurement_type, true);
		if (sc->version[0])
			json_str(f, "version", sc->version, true);
		if (sc->signer_id_len)
			json_hex(f, "signer_id", sc->signer_id, sc->signer_id_len, true);
		if (sc->measurement_desc[0])
			json_str(f, "measurement_desc", sc->measurement_desc, true);
		fputc('}', f);
	}
	fputs("]}\n", f);
	return ferror(f) || fflush(f) != 0 ? VG_ERR_IO : VG_OK;
}
