/* keystore.c - see keystore.h */
#include "keystore/keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "audio/hpke.h"
#include "common/util.h"
#include "crypto/seal.h"
#include "crypto/wrap.h"

#define CACHE_MAX  128u
#define BLOB_HDR   23u
#define MAX_SECRET 512u

/* The digests a signer may be prepared for (vg_keystore_signer). */
static const struct {
	const char *name, *ossl;
	size_t len;
} digests[] = {{"sha256", "SHA256", 32}, {"sha384", "SHA384", 48}, {"sha512", "SHA512", 64}};

struct cached {
	bool used;
	uint64_t last_use;
	vg_key_info info;
	EVP_PKEY *pkey;  /* P-256, P-384, Ed25519, X25519 */
	uint8_t *secret; /* AES, HMAC: VG_KEY_LEN bytes of secret memory */
	/* Initialised signing contexts, made on first use and copied for each
	 * signature (vg_keystore_signer): initialising one fetches the
	 * algorithms from OpenSSL's provider store, a fifth of a P-256
	 * signature's cost; copying one does not. */
	EVP_MD_CTX *msg_tpl;                        /* the key's message signature */
	EVP_PKEY_CTX *dgst_tpl[VG_ARRAY_LEN(digests)]; /* ECDSA over a digest */
};

struct vg_signer {
	EVP_MD_CTX *md;   /* a message signature, or */
	EVP_PKEY_CTX *pc; /* a signature over a digest of dlen bytes */
	size_t dlen;
};

struct vg_keystore {
	vg_secstore *store;
	struct cached cache[CACHE_MAX];
	uint64_t tick;
};

void vg_keystore_ns(uint32_t owner, char out[static 24])
{
	if (owner == VG_OWNER_SERVICE)
		strcpy(out, "k/service");
	else
		(void)snprintf(out, 24, "k/%u", owner);
}

vg_rc vg_keystore_open(vg_keystore **out, vg_secstore *store)
{
	vg_keystore *ks = calloc(1, sizeof *ks);

	*out = NULL;
	if (!ks)
		return VG_ERR_NOMEM;
	ks->store = store;
	*out = ks;
	return VG_OK;
}

static void cache_drop(struct cached *c)
{
	EVP_MD_CTX_free(c->msg_tpl);
	for (size_t i = 0; i < VG_ARRAY_LEN(c->dgst_tpl); i++)
		EVP_PKEY_CTX_free(c->dgst_tpl[i]);
	EVP_PKEY_free(c->pkey);
	vg_secret_free(c->secret, VG_KEY_LEN);
	memset(c, 0, sizeof *c);
}

void vg_keystore_forget(vg_keystore *ks)
{
	for (size_t i = 0; i < CACHE_MAX; i++)
		cache_drop(&ks->cache[i]);
}

void vg_keystore_close(vg_keystore **pks)
{
	if (!pks || !*pks)
		return;
	for (size_t i = 0; i < CACHE_MAX; i++)
		cache_drop(&(*pks)->cache[i]);
	free(*pks);
	*pks = NULL;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* What a key may be used for: the type's public usages, and for the
 * service's own P-256 keys the internal unwrap usage too. */
static uint32_t allowed_for(vg_key_type type, uint32_t owner)
{
	uint32_t a = vg_key_type_usage_allowed(type);

	return type == VG_KEY_P256 && owner == VG_OWNER_SERVICE ? a | VG_KS_USE_UNWRAP : a;
}

vg_rc vg_keystore_blob_decode(const uint8_t *blob, size_t len, vg_key_info *info, EVP_PKEY **pkey,
			      uint8_t **secret)
{
	size_t n;
	const uint8_t *p;
	EVP_PKEY *k = NULL;

	*pkey = NULL;
	*secret = NULL;
	memset(info, 0, sizeof *info);
	if (len < BLOB_HDR || memcmp(blob, "VGK1", 4) != 0)
		return VG_ERR_INTEGRITY;
	info->type = (vg_key_type)blob[4];
	info->usage = (uint32_t)get_be(blob + 5, 4);
	info->owner_uid = (uint32_t)get_be(blob + 9, 4);
	info->created = get_be(blob + 13, 8);
	n = (size_t)get_be(blob + 21, 2);
	if (n != len - BLOB_HDR || (info->usage & ~allowed_for(info->type, info->owner_uid)))
		return VG_ERR_INTEGRITY;
	p = blob + BLOB_HDR;
	switch (info->type) {
	case VG_KEY_P256:
	case VG_KEY_P384:
	case VG_KEY_ED25519:
	case VG_KEY_X25519:
		k = d2i_PrivateKey(info->type == VG_KEY_ED25519   ? EVP_PKEY_ED25519
				   : info->type == VG_KEY_X25519 ? EVP_PKEY_X25519
								 : EVP_PKEY_EC,
				   NULL, &p, (long)n);
		if (!k || p != blob + len)
			goto bad;
		if (info->type == VG_KEY_P256 || info->type == VG_KEY_P384) {
			char group[32];
			size_t gl = 0;
			if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
							   sizeof group, &gl) != 1 ||
			    strcmp(group, info->type == VG_KEY_P256 ? "prime256v1" : "secp384r1") !=
				0)
				goto bad;
		}
		*pkey = k;
		return VG_OK;
	case VG_KEY_AES256:
	case VG_KEY_HMAC256:
		if (n != VG_KEY_LEN)
			return VG_ERR_INTEGRITY;
		*secret = vg_secret_alloc(VG_KEY_LEN);
		if (!*secret)
			return VG_ERR_NOMEM;
		memcpy(*secret, p, VG_KEY_LEN);
		return VG_OK;
	}
bad:
	EVP_PKEY_free(k);
	return VG_ERR_INTEGRITY;
}

/* Builds the blob for a fresh key; *blob is secret (wipe + free). */
static vg_rc blob_encode(const vg_key_info *info, EVP_PKEY *pkey, const uint8_t *secret,
			 uint8_t **blob, size_t *len)
{
	uint8_t *der = NULL, *b;
	int n = 0;

	if (pkey) {
		n = i2d_PrivateKey(pkey, &der);
		if (n <= 0 || (size_t)n > MAX_SECRET)
			return VG_ERR_CRYPTO;
	} else {
		n = VG_KEY_LEN;
	}
	b = malloc(BLOB_HDR + (size_t)n);
	if (!b) {
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
		return VG_ERR_NOMEM;
	}
	memcpy(b, "VGK1", 4);
	b[4] = (uint8_t)info->type;
	put_be(b + 5, info->usage, 4);
	put_be(b + 9, info->owner_uid, 4);
	put_be(b + 13, info->created, 8);
	put_be(b + 21, (uint64_t)n, 2);
	memcpy(b + BLOB_HDR, pkey ? der : secret, (size_t)n);
	if (der)
		OPENSSL_clear_free(der, (size_t)n);
	*blob = b;
	*len = BLOB_HDR + (size_t)n;
	return VG_OK;
}

static struct cached *cache_find(vg_keystore *ks, uint32_t owner, const char *name)
{
	for (size_t i = 0; i < CACHE_MAX; i++) {
		struct cached *c = &ks->cache[i];
		if (c->used && c->info.owner_uid == owner && strcmp(c->info.name, name) == 0) {
			c->last_use = ++ks->tick;
			return c;
		}
	}
	return NULL;
}

static struct cached *cache_slot(vg_keystore *ks)
{
	struct cached *lru = &ks->cache[0];

	for (size_t i = 0; i < CACHE_MAX; i++) {
		if (!ks->cache[i].used)
			return &ks->cache[i];
		if (ks->cache[i].last_use < lru->last_use)
			lru = &ks->cache[i];
	}
	cache_drop(lru);
	return lru;
}

/* Finds owner's key `name`, unsealing it into the cache if needed. */
static vg_rc load(vg_keystore *ks, uint32_t owner, const char *name, struct cached **out)
{
	char ns[24];
	uint8_t *blob = NULL;
	size_t len = 0;
	struct cached *c;
	vg_key_info info;
	EVP_PKEY *pkey = NULL;
	uint8_t *secret = NULL;
	vg_rc rc;

	*out = NULL;
	if (!name || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	/* The cache is only as good as the store under it. */
	rc = vg_secstore_state(ks->store);
	if (rc != VG_OK)
		return rc;
	if (owner != VG_OWNER_SERVICE && vg_secstore_sealed_away(ks->store))
		return VG_ERR_STATE; /* debug unlocked: apps' keys sealed away */
	c = cache_find(ks, owner, name);
	if (c) {
		*out = c;
		return VG_OK;
	}
	vg_keystore_ns(owner, ns);
	rc = vg_secstore_get(ks->store, ns, name, &blob, &len);
	if (rc != VG_OK)
		return rc;
	rc = vg_keystore_blob_decode(blob, len, &info, &pkey, &secret);
	vg_free(blob, len);
	if (rc != VG_OK)
		return rc;
	if (info.owner_uid != owner) {
		EVP_PKEY_free(pkey);
		vg_secret_free(secret, VG_KEY_LEN);
		return VG_ERR_INTEGRITY;
	}
	strcpy(info.name, name);
	c = cache_slot(ks);
	c->used = true;
	c->last_use = ++ks->tick;
	c->info = info;
	c->pkey = pkey;
	c->secret = secret;
	*out = c;
	return VG_OK;
}

/* VG_OK when no key of that name exists in ns, VG_ERR_EXISTS when one does. */
static vg_rc name_free(vg_keystore *ks, const char *ns, const char *name)
{
	uint8_t *old = NULL;
	size_t old_len = 0;
	vg_rc rc = vg_secstore_get(ks->store, ns, name, &old, &old_len);

	vg_free(old, old_len);
	return rc == VG_OK ? VG_ERR_EXISTS : rc == VG_ERR_NOT_FOUND ? VG_OK : rc;
}

static vg_rc create(vg_keystore *ks, uint32_t owner, const char *name, vg_key_type type,
		    uint32_t usage, const vg_store_quota *q)
{
	vg_key_info info = {0};
	EVP_PKEY *pkey = NULL;
	uint8_t *secret = NULL, *blob = NULL;
	size_t blob_len = 0;
	uint32_t allowed = allowed_for(type, owner);
	char ns[24];
	vg_rc rc;

	if (!name || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	if (!allowed)
		return VG_ERR_UNSUPPORTED;
	if (usage == 0)
		usage = vg_key_type_usage_allowed(type);
	if (usage & ~allowed)
		return VG_ERR_POLICY;
	vg_keystore_ns(owner, ns);
	rc = name_free(ks, ns, name);
	if (rc != VG_OK)
		return rc;

	info.type = type;
	info.usage = usage;
	info.owner_uid = owner;
	info.created = vg_time_now(NULL);
	switch (type) {
	case VG_KEY_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case VG_KEY_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case VG_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case VG_KEY_X25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	default:
		secret = vg_secret_alloc(VG_KEY_LEN);
		if (secret && RAND_priv_bytes(secret, VG_KEY_LEN) != 1) {
			vg_secret_free(secret, VG_KEY_LEN);
			return VG_ERR_CRYPTO;
		}
		break;
	}
	if (!pkey && !secret)
		return VG_ERR_CRYPTO;
	rc = blob_encode(&info, pkey, secret, &blob, &blob_len);
	if (rc == VG_OK)
		rc = q ? vg_secstore_put_quota(ks->store, ns, name, blob, blob_len, q)
		       : vg_secstore_put(ks->store, ns, name, blob, blob_len);
	vg_free(blob, blob_len);
	EVP_PKEY_free(pkey);
	vg_secret_free(secret, VG_KEY_LEN);
	return rc;
}

vg_rc vg_keystore_create(vg_keystore *ks, uint32_t owner, const char *name, vg_key_type type,
			 uint32_t usage)
{
	return create(ks, owner, name, type, usage, NULL);
}

vg_rc vg_keystore_create_quota(vg_keystore *ks, uint32_t owner, const char *name, vg_key_type type,
			       uint32_t usage, uint32_t max_keys)
{
	/* The key count is the namespace's record count: the store checks
	 * it inside the put's transaction, so it is exact. */
	vg_store_quota q = {
	    .max_records = max_keys == VG_KEYS_UNLIMITED ? VG_QUOTA_UNLIMITED : max_keys,
	    .max_bytes = VG_QUOTA_UNLIMITED,
	};

	return create(ks, owner, name, type, usage, &q);
}

vg_rc vg_keystore_count(vg_keystore *ks, uint32_t owner, uint64_t *n)
{
	char ns[24];
	uint64_t bytes = 0;

	vg_keystore_ns(owner, ns);
	return vg_secstore_usage(ks->store, ns, n, &bytes);
}

static vg_rc need(const struct cached *c, uint32_t use);

vg_rc vg_keystore_import(vg_keystore *ks, uint32_t owner, const char *name, EVP_PKEY *key,
			 uint32_t usage)
{
	vg_key_info info = {.type = VG_KEY_P256, .usage = usage, .owner_uid = owner};
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char group[32], ns[24];
	size_t gl = 0;
	vg_rc rc;

	if (!name || !vg_name_valid(name, strlen(name)) || owner != VG_OWNER_SERVICE ||
	    usage != VG_KS_USE_UNWRAP || !key || !EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					   &gl) != 1 ||
	    strcmp(group, "prime256v1") != 0)
		return VG_ERR_INVALID;
	vg_keystore_ns(owner, ns);
	rc = name_free(ks, ns, name);
	if (rc != VG_OK)
		return rc;
	info.created = vg_time_now(NULL);
	rc = blob_encode(&info, key, NULL, &blob, &blob_len);
	if (rc == VG_OK)
		rc = vg_secstore_put(ks->store, ns, name, blob, blob_len);
	vg_free(blob, blob_len);
	return rc;
}

vg_rc vg_keystore_unwrap(vg_keystore *ks, uint32_t owner, const char *name, const uint8_t kid[32],
			 const uint8_t *epk, size_t epk_len, const uint8_t wrapped[40],
			 uint8_t cek[32])
{
	struct cached *c;
	uint8_t mine[32];
	vg_rc rc = load(ks, owner, name, &c);

	if (rc != VG_OK)
		return rc;
	if (c->info.type != VG_KEY_P256 || need(c, VG_KS_USE_UNWRAP) != VG_OK)
		return VG_ERR_POLICY;
	if (vg_wrap_kid(c->pkey, mine) != VG_OK)
		return VG_ERR_CRYPTO;
	if (memcmp(mine, kid, 32) != 0)
		return VG_ERR_NOT_FOUND;
	return vg_unwrap_key(c->pkey, epk, epk_len, wrapped, cek);
}

vg_rc vg_keystore_kem_key(vg_keystore *ks, uint32_t owner, const char *name, uint16_t kem,
			  EVP_PKEY **out)
{
	struct cached *c;
	vg_key_type want = kem == VG_HPKE_KEM_X25519_SHA256 ? VG_KEY_X25519
			   : kem == VG_HPKE_KEM_P256_SHA256 ? VG_KEY_P256
							    : (vg_key_type)0;
	vg_rc rc;

	*out = NULL;
	if (!want)
		return VG_ERR_UNSUPPORTED;
	rc = load(ks, owner, name, &c);
	if (rc != VG_OK)
		return rc;
	if ((rc = need(c, VG_USE_DERIVE)) != VG_OK)
		return rc;
	if (c->info.type != want || !c->pkey)
		return VG_ERR_POLICY; /* the key is not of the KEM's type */
	if (EVP_PKEY_up_ref(c->pkey) != 1)
		return VG_ERR_CRYPTO;
	*out = c->pkey;
	return VG_OK;
}

vg_rc vg_keystore_delete(vg_keystore *ks, uint32_t owner, const char *name)
{
	char ns[24];
	struct cached *c;

	if (!name || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	c = cache_find(ks, owner, name);
	if (c)
		cache_drop(c);
	vg_keystore_ns(owner, ns);
	return vg_secstore_delete(ks->store, ns, name);
}

vg_rc vg_keystore_info(vg_keystore *ks, uint32_t owner, const char *name, vg_key_info *out)
{
	struct cached *c;
	vg_rc rc = load(ks, owner, name, &c);

	memset(out, 0, sizeof *out);
	if (rc == VG_OK)
		*out = c->info;
	return rc;
}

vg_rc vg_keystore_list(vg_keystore *ks, uint32_t owner, int (*fn)(void *ctx, const char *name),
		       void *ctx)
{
	char ns[24];

	vg_keystore_ns(owner, ns);
	return vg_secstore_list(ks->store, ns, fn, ctx);
}

static vg_rc need(const struct cached *c, uint32_t use)
{
	return (c->info.usage & use) == use ? VG_OK : VG_ERR_POLICY;
}

vg_rc vg_keystore_public(vg_keystore *ks, uint32_t owner, const char *name, bool pem, uint8_t **out,
			 size_t *len)
{
	struct cached *c;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	vg_rc rc = load(ks, owner, name, &c);

	*out = NULL;
	*len = 0;
	if (rc != VG_OK)
		return rc;
	if (!c->pkey)
		return VG_ERR_POLICY; /* symmetric keys have no public part */
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return VG_ERR_NOMEM;
	if ((pem ? PEM_write_bio_PUBKEY(bio, c->pkey) : i2d_PUBKEY_bio(bio, c->pkey)) != 1) {
		rc = VG_ERR_CRYPTO;
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	*out = malloc(mem->length + 1);
	if (!*out) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, mem->data, mem->length);
	(*out)[mem->length] = 0;
	*len = mem->length;
out:
	BIO_free(bio);
	return rc;
}

/* The digest a type's whole-message signature hashes with (NULL: none). */
static const char *message_digest(vg_key_type type)
{
	return type == VG_KEY_P256 ? "SHA256" : type == VG_KEY_P384 ? "SHA384" : NULL;
}

vg_rc vg_keystore_digest_len(const char *alg, size_t *len)
{
	for (size_t i = 0; alg && i < VG_ARRAY_LEN(digests); i++)
		if (strcmp(alg, digests[i].name) == 0) {
			*len = digests[i].len;
			return VG_OK;
		}
	return VG_ERR_INVALID;
}

void vg_signer_free(vg_signer *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->md);
	EVP_PKEY_CTX_free(s->pc);
	free(s);
}

/* A copy of c's message-signature context, made from c->msg_tpl. */
static vg_rc message_signer(struct cached *c, vg_signer *s)
{
	/* P-256 (P-384): ECDSA over SHA-256 (SHA-384), DER (what `openssl
	 * dgst -sha256 -verify` takes); Ed25519: pure EdDSA, no pre-hash
	 * (RFC 8032). */
	if (!c->msg_tpl) {
		EVP_MD_CTX *t = EVP_MD_CTX_new();
		if (!t)
			return VG_ERR_NOMEM;
		if (EVP_DigestSignInit_ex(t, NULL, message_digest(c->info.type), NULL, NULL,
					  c->pkey, NULL) != 1) {
			EVP_MD_CTX_free(t);
			return VG_ERR_CRYPTO;
		}
		c->msg_tpl = t;
	}
	s->md = EVP_MD_CTX_new();
	if (!s->md)
		return VG_ERR_NOMEM;
	return EVP_MD_CTX_copy_ex(s->md, c->msg_tpl) == 1 ? VG_OK : VG_ERR_CRYPTO;
}

/* A copy of c's context for ECDSA over digest i. */
static vg_rc digest_signer(struct cached *c, size_t i, vg_signer *s)
{
	if (!c->dgst_tpl[i]) {
		EVP_PKEY_CTX *t = EVP_PKEY_CTX_new_from_pkey(NULL, c->pkey, NULL);
		EVP_MD *md = EVP_MD_fetch(NULL, digests[i].ossl, NULL);
		bool ok = t && md && EVP_PKEY_sign_init(t) == 1 &&
			  EVP_PKEY_CTX_set_signature_md(t, md) == 1;
		EVP_MD_free(md);
		if (!ok) {
			EVP_PKEY_CTX_free(t);
			return VG_ERR_CRYPTO;
		}
		c->dgst_tpl[i] = t;
	}
	s->dlen = digests[i].len;
	s->pc = EVP_PKEY_CTX_dup(c->dgst_tpl[i]);
	return s->pc ? VG_OK : VG_ERR_CRYPTO;
}

vg_rc vg_keystore_signer(vg_keystore *ks, uint32_t owner, const char *name, const char *alg,
			 vg_signer **out)
{
	struct cached *c;
	vg_signer *s;
	size_t i = VG_ARRAY_LEN(digests);
	vg_rc rc = load(ks, owner, name, &c);

	*out = NULL;
	if (rc != VG_OK)
		return rc;
	if ((rc = need(c, VG_USE_SIGN)) != VG_OK)
		return rc;
	if (!c->pkey)
		return VG_ERR_POLICY;
	if (alg) {
		if (c->info.type != VG_KEY_P256 && c->info.type != VG_KEY_P384)
			return VG_ERR_POLICY; /* Ed25519 signs messages whole */
		for (i = 0; i < VG_ARRAY_LEN(digests); i++)
			if (strcmp(alg, digests[i].name) == 0)
				break;
		if (i == VG_ARRAY_LEN(digests))
			return VG_ERR_INVALID;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return VG_ERR_NOMEM;
	rc = alg ? digest_signer(c, i, s) : message_signer(c, s);
	if (rc != VG_OK) {
		vg_signer_free(s);
		return rc;
	}
	*out = s;
	return VG_OK;
}

vg_rc vg_signer_sign(vg_signer *s, const uint8_t *data, size_t len, uint8_t **sig,
		     size_t *sig_len)
{
	size_t n = 0;
	int ok;

	*sig = NULL;
	*sig_len = 0;
	if (s->pc && len != s->dlen)
		return VG_ERR_INVALID;
	ok = s->pc ? EVP_PKEY_sign(s->pc, NULL, &n, data, len)
		   : EVP_DigestSign(s->md, NULL, &n, data, len);
	if (ok != 1)
		return VG_ERR_CRYPTO;
	*sig = malloc(n);
	if (!*sig)
		return VG_ERR_NOMEM;
	ok = s->pc ? EVP_PKEY_sign(s->pc, *sig, &n, data, len)
		   : EVP_DigestSign(s->md, *sig, &n, data, len);
	if (ok != 1) {
		free(*sig);
		*sig = NULL;
		return VG_ERR_CRYPTO;
	}
	*sig_len = n;
	return VG_OK;
}

vg_rc vg_keystore_sign(vg_keystore *ks, uint32_t owner, const char *name, const uint8_t *msg,
		       size_t len, uint8_t **sig, size_t *sig_len)
{
	vg_signer *s = NULL;
	vg_rc rc = vg_keystore_signer(ks, owner, name, NULL, &s);

	*sig = NULL;
	*sig_len = 0;
	if (rc == VG_OK)
		rc = vg_signer_sign(s, msg, len, sig, sig_len);
	vg_signer_free(s);
	return rc;
}

vg_rc vg_keystore_mac(vg_keystore *ks, uint32_t owner, const char *name, const uint8_t *msg,
		      size_t len, uint8_t mac[static 32])
{
	struct cached *c;
	vg_rc rc = load(ks, owner, name, &c);

	if (rc != VG_OK)
		return rc;
	if (c->info.type != VG_KEY_HMAC256 || (rc = need(c, VG_USE_MAC)) != VG_OK)
		return VG_ERR_POLICY;
	return vg_hmac256(c->secret, VG_KEY_LEN, msg, len, mac);
}

vg_rc vg_keystore_verify(vg_keystore *ks, uint32_t owner, const char *name, const uint8_t *msg,
			 size_t len, const uint8_t *sig, size_t sig_len)
{
	struct cached *c;
	EVP_MD_CTX *md = NULL;
	vg_rc rc = load(ks, owner, name, &c);
	int r;

	if (rc != VG_OK)
		return rc;
	if ((rc = need(c, VG_USE_VERIFY)) != VG_OK)
		return rc;
	if (c->info.type == VG_KEY_HMAC256) {
		uint8_t tag[32];
		rc = vg_hmac256(c->secret, VG_KEY_LEN, msg, len, tag);
		if (rc == VG_OK)
			rc = sig_len == 32 && CRYPTO_memcmp(tag, sig, 32) == 0
				 ? VG_OK
				 : VG_ERR_VERIFY_FAILED;
		vg_wipe(tag, sizeof tag);
		return rc;
	}
	if (!c->pkey)
		return VG_ERR_POLICY;
	md = EVP_MD_CTX_new();
	if (!md)
		return VG_ERR_NOMEM;
	if (EVP_DigestVerifyInit_ex(md, NULL, message_digest(c->info.type), NULL, NULL, c->pkey,
				    NULL) != 1) {
		EVP_MD_CTX_free(md);
		return VG_ERR_CRYPTO;
	}
	r = EVP_DigestVerify(md, sig, sig_len, msg, len);
	EVP_MD_CTX_free(md);
	/* 0 and -1 (malformed DER) are both just "invalid" to the caller. */
	return r == 1 ? VG_OK : VG_ERR_VERIFY_FAILED;
}

vg_rc vg_keystore_encrypt(vg_keystore *ks, uint32_t owner, const char *name, const uint8_t *pt,
			  size_t len, uint8_t **ct, size_t *ct_len)
{
	struct cached *c;
	vg_rc rc = load(ks, owner, name, &c);

	*ct = NULL;
	*ct_len = 0;
	if (rc != VG_OK)
		return rc;
	if (c->info.type != VG_KEY_AES256 || (rc = need(c, VG_USE_ENCRYPT)) != VG_OK)
		return VG_ERR_POLICY;
	return vg_seal(c->secret, VG_SEAL_USER, 0, NULL, 0, pt, len, ct, ct_len);
}

vg_rc vg_keystore_decrypt(vg_keystore *ks, uint32_t owner, const char *name, const uint8_t *ct,
			  size_t len, uint8_t **pt, size_t *pt_len)
{
	struct cached *c;
	vg_rc rc = load(ks, owner, name, &c);

	*pt = NULL;
	*pt_len = 0;
	if (rc != VG_OK)
		return rc;
	if (c->info.type != VG_KEY_AES256 || (rc = need(c, VG_USE_DECRYPT)) != VG_OK)
		return VG_ERR_POLICY;
	return vg_unseal(c->secret, VG_SEAL_USER, NULL, 0, ct, len, pt, pt_len, NULL);
}
