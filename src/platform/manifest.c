/*
 * manifest.c - the signed platform manifest (contract in manifest.h).
 */
#include "platform/manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "common/canonjson.h"
#include "crypto/pubkey.h"

#define bad(why, ...) vg_why(why, VG_MANIFEST_WHY_LEN, VG_ERR_INVALID, __VA_ARGS__)

bool vg_manifest_text_ok(const char *s, size_t cap)
{
	size_t n = s ? strnlen(s, cap) : cap;

	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static bool path_ok(const char *p)
{
	if (!vg_manifest_text_ok(p, VG_MANIFEST_PATH_MAX) || p[0] != '/')
		return false;
	/* No "." or ".." segment and no empty one: one path, one file. */
	for (const char *s = p; *s;) {
		const char *e;
		size_t l;
		s++;
		e = strchr(s, '/');
		l = e ? (size_t)(e - s) : strlen(s);
		if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += l;
	}
	return true;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static bool only_keys(json_t *obj, const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		bool ok = false;
		(void)v;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(k, allowed[i]) == 0;
		if (!ok)
			return false;
	}
	return true;
}

static vg_rc get_text(json_t *obj, const char *key, char *dst, size_t cap, bool required,
		      char *why, const char *where)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v) {
		dst[0] = '\0';
		return required ? bad(why, "%s: \"%s\" is missing", where, key) : VG_OK;
	}
	s = json_string_value(v);
	if (!s || strlen(s) != json_string_length(v) || !vg_manifest_text_ok(s, cap))
		return bad(why, "%s: \"%s\" must be 1 to %zu printable ASCII characters", where,
			   key, cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return VG_OK;
}

static vg_rc get_u64(json_t *obj, const char *key, uint64_t max, uint64_t *out, char *why,
		     const char *where)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return bad(why, "%s: \"%s\" is missing", where, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bad(why, "%s: \"%s\" must be an integer from 0 to %" PRIu64, where, key,
			   max);
	*out = (uint64_t)json_integer_value(v);
	return VG_OK;
}

static vg_rc get_hex32(json_t *obj, const char *key, uint8_t out[32], char *why,
		       const char *where)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	size_t n = 0;

	if (!v)
		return bad(why, "%s: \"%s\" is missing", where, key);
	if (!s || strlen(s) != 64 || !vg_hex_decode(s, out, 32, &n) || n != 32)
		return bad(why, "%s: \"%s\" must be 64 hex digits", where, key);
	for (size_t i = 0; i < 64; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			return bad(why, "%s: \"%s\": lowercase hex only", where, key);
	return VG_OK;
}

static vg_rc parse_component(json_t *o, vg_manifest_comp *c, size_t idx, char *why)
{
	static const char *const keys[] = {"name", "version", "path", "size", "sha256",
					   "merkle", "signer", NULL};
	static const char *const mkeys[] = {"block_size", "root", NULL};
	char where[48];
	json_t *mk;
	vg_rc rc;

	(void)snprintf(where, sizeof where, "component %zu", idx);
	if (!json_is_object(o))
		return bad(why, "%s: not an object", where);
	if (!only_keys(o, keys))
		return bad(why, "%s: unknown field", where);
	rc = get_text(o, "name", c->name, sizeof c->name, true, why, where);
	if (rc == VG_OK)
		(void)snprintf(where, sizeof where, "component \"%.32s\"", c->name);
	if (rc == VG_OK)
		rc = get_text(o, "version", c->version, sizeof c->version, true, why, where);
	if (rc == VG_OK)
		rc = get_text(o, "path", c->path, sizeof c->path, true, why, where);
	if (rc == VG_OK && !path_ok(c->path))
		rc = bad(why, "%s: \"path\" must be absolute, without . or .. or //", where);
	if (rc == VG_OK)
		rc = get_u64(o, "size", (uint64_t)INT64_MAX, &c->size, why, where);
	if (rc == VG_OK)
		rc = get_hex32(o, "signer", c->signer, why, where);
	if (rc != VG_OK)
		return rc;
	mk = json_object_get(o, "merkle");
	if (json_object_get(o, "sha256") && mk)
		return bad(why, "%s: \"sha256\" or \"merkle\", not both", where);
	if (mk) {
		uint64_t bs = 0;
		uint64_t leaves;
		if (!json_is_object(mk) || !only_keys(mk, mkeys))
			return bad(why, "%s: \"merkle\" must be {block_size, root}", where);
		rc = get_u64(mk, "block_size", VG_MERKLE_MAX_BLOCK, &bs, why, where);
		if (rc == VG_OK)
			rc = get_hex32(mk, "root", c->digest, why, where);
		if (rc != VG_OK)
			return rc;
		leaves = c->size == 0 || bs == 0 ? 1 : (c->size - 1) / bs + 1;
		if (bs < VG_MERKLE_MIN_BLOCK || (bs & (bs - 1)) || leaves > VG_MERKLE_MAX_LEAVES)
			return bad(why,
				   "%s: \"block_size\" must be a power of two from %u to %u, "
				   "and the image at most %u blocks",
				   where, VG_MERKLE_MIN_BLOCK, VG_MERKLE_MAX_BLOCK,
				   VG_MERKLE_MAX_LEAVES);
		c->kind = VG_DIGEST_MERKLE;
		c->block_size = (uint32_t)bs;
		return VG_OK;
	}
	c->kind = VG_DIGEST_SHA256;
	return get_hex32(o, "sha256", c->digest, why, where);
}

static vg_rc parse_signed(json_t *s, vg_manifest *m, char *why)
{
	static const char *const keys[] = {"_type",   "format",	  "platform",  "version",
					   "security_version", "components", NULL};
	static const char *const pkeys[] = {"oem", "model", "hw_rev", NULL};
	json_t *p, *comps, *fmt;
	vg_rc rc;

	if (!json_is_object(s))
		return bad(why, "\"signed\" must be an object");
	if (!json_is_string(json_object_get(s, "_type")) ||
	    strcmp(json_string_value(json_object_get(s, "_type")), VG_MANIFEST_TYPE) != 0)
		return bad(why, "not a platform manifest (\"_type\" is not \"%s\")",
			   VG_MANIFEST_TYPE);
	fmt = json_object_get(s, "format");
	if (!json_is_integer(fmt))
		return bad(why, "\"format\" is missing");
	if (json_integer_value(fmt) != VG_MANIFEST_FORMAT) {
		if (why)
			(void)snprintf(why, VG_MANIFEST_WHY_LEN,
				       "manifest format %" JSON_INTEGER_FORMAT
				       " is not supported (this voxguard reads format %d)",
				       json_integer_value(fmt), VG_MANIFEST_FORMAT);
		return VG_ERR_UNSUPPORTED;
	}
	if (!only_keys(s, keys))
		return bad(why, "\"signed\": unknown field");
	p = json_object_get(s, "platform");
	if (p) {
		if (!json_is_object(p) || !only_keys(p, pkeys))
			return bad(why, "\"platform\" must be {oem, model, hw_rev}");
		rc = get_text(p, "oem", m->oem, sizeof m->oem, true, why, "platform");
		if (rc == VG_OK)
			rc = get_text(p, "model", m->model, sizeof m->model, true, why, "platform");
		if (rc == VG_OK)
			rc = get_text(p, "hw_rev", m->hw_rev, sizeof m->hw_rev, true, why,
				      "platform");
		if (rc != VG_OK)
			return rc;
	}
	rc = get_text(s, "version", m->version, sizeof m->version, true, why, "manifest");
	if (rc == VG_OK)
		rc = get_u64(s, "security_version", (uint64_t)INT64_MAX, &m->security_version, why,
			     "manifest");
	if (rc != VG_OK)
		return rc;
	comps = json_object_get(s, "components");
	if (!json_is_array(comps) || json_array_size(comps) == 0 ||
	    json_array_size(comps) > VG_MANIFEST_MAX_COMPONENTS)
		return bad(why, "\"components\" must be a list of 1 to %u components",
			   VG_MANIFEST_MAX_COMPONENTS);
	m->n = json_array_size(comps);
	for (size_t i = 0; i < m->n; i++) {
		rc = parse_component(json_array_get(comps, i), &m->c[i], i, why);
		if (rc != VG_OK)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->c[j].name, m->c[i].name) == 0)
				return bad(why, "component \"%s\" is listed twice", m->c[i].name);
	}
	return VG_OK;
}

static vg_rc parse_sigs(json_t *a, vg_manifest *m, char *why)
{
	static const char *const keys[] = {"keyid", "sig", NULL};

	if (!json_is_array(a) || json_array_size(a) > VG_MANIFEST_MAX_SIGS)
		return bad(why, "\"signatures\" must be a list of at most %u", VG_MANIFEST_MAX_SIGS);
	m->n_sigs = json_array_size(a);
	for (size_t i = 0; i < m->n_sigs; i++) {
		json_t *o = json_array_get(a, i);
		const char *hex;
		vg_manifest_sig *s = &m->sigs[i];
		vg_rc rc;

		if (!json_is_object(o) || !only_keys(o, keys))
			return bad(why, "signature %zu must be {keyid, sig}", i);
		rc = get_hex32(o, "keyid", s->keyid, why, "signature");
		if (rc != VG_OK)
			return rc;
		hex = json_string_value(json_object_get(o, "sig"));
		if (!hex || strlen(hex) == 0 || strlen(hex) > 2 * sizeof s->sig ||
		    !vg_hex_decode(hex, s->sig, sizeof s->sig, &s->sig_len))
			return bad(why, "signature %zu: \"sig\" must be hex, at most %zu bytes", i,
				   sizeof s->sig);
	}
	return VG_OK;
}

vg_rc vg_manifest_parse(const uint8_t *buf, size_t len, vg_manifest *m, char *why)
{
	static const char *const keys[] = {"signed", "signatures", NULL};
	json_error_t err;
	json_t *root;
	vg_rc rc;

	memset(m, 0, sizeof *m);
	if (why)
		why[0] = '\0';
	if (!buf || len == 0)
		return bad(why, "empty manifest");
	if (len > VG_MANIFEST_MAX_BYTES)
		return bad(why, "manifest larger than %u bytes", VG_MANIFEST_MAX_BYTES);
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
			  &err);
	if (!root)
		return bad(why, "not JSON: line %d: %.120s", err.line, err.text);
	if (!json_is_object(root) || !only_keys(root, keys) || !json_object_get(root, "signed") ||
	    !json_object_get(root, "signatures"))
		rc = bad(why, "a manifest is {\"signed\": ..., \"signatures\": [...]}");
	else
		rc = parse_signed(json_object_get(root, "signed"), m, why);
	if (rc == VG_OK)
		rc = parse_sigs(json_object_get(root, "signatures"), m, why);
	json_decref(root);
	if (rc != VG_OK) {
		char keep[VG_MANIFEST_WHY_LEN];
		if (why)
			memcpy(keep, why, sizeof keep);
		memset(m, 0, sizeof *m);
		if (why)
			memcpy(why, keep, sizeof keep);
	}
	return rc;
}

/* A manifest built in memory (create, sign) must obey the parser's rules,
 * so that what is signed is exactly what a device will read back. */
static bool manifest_valid(const vg_manifest *m)
{
	bool plat = m->oem[0] || m->model[0] || m->hw_rev[0];

	if (!vg_manifest_text_ok(m->version, sizeof m->version) ||
	    m->security_version > (uint64_t)INT64_MAX || m->n == 0 ||
	    m->n > VG_MANIFEST_MAX_COMPONENTS || m->n_sigs > VG_MANIFEST_MAX_SIGS)
		return false;
	if (plat && (!vg_manifest_text_ok(m->oem, sizeof m->oem) ||
		     !vg_manifest_text_ok(m->model, sizeof m->model) ||
		     !vg_manifest_text_ok(m->hw_rev, sizeof m->hw_rev)))
		return false;
	for (size_t i = 0; i < m->n; i++) {
		const vg_manifest_comp *c = &m->c[i];
		uint64_t leaves = c->size == 0 || c->block_size == 0
				      ? 1
				      : (c->size - 1) / c->block_size + 1;
		if (!vg_manifest_text_ok(c->name, sizeof c->name) ||
		    !vg_manifest_text_ok(c->version, sizeof c->version) || !path_ok(c->path) ||
		    c->size > (uint64_t)INT64_MAX)
			return false;
		if (c->kind == VG_DIGEST_MERKLE
			? (c->block_size < VG_MERKLE_MIN_BLOCK || c->block_size > VG_MERKLE_MAX_BLOCK ||
			   (c->block_size & (c->block_size - 1)) || leaves > VG_MERKLE_MAX_LEAVES)
			: c->kind != VG_DIGEST_SHA256)
			return false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->c[j].name, c->name) == 0)
				return false;
	}
	for (size_t i = 0; i < m->n_sigs; i++)
		if (m->sigs[i].sig_len == 0 || m->sigs[i].sig_len > sizeof m->sigs[i].sig)
			return false;
	return true;
}

/* jansson setters that remember a failure. */
static void set(json_t *o, const char *k, json_t *v, bool *failed)
{
	if (!v || json_object_set_new(o, k, v) != 0)
		*failed = true;
}

static json_t *hexstr(const uint8_t *p, size_t n)
{
	char h[2 * 128 + 1];

	vg_hex_encode(p, n, h);
	return json_string(h);
}

static json_t *signed_json(const vg_manifest *m)
{
	json_t *s, *comps;
	bool failed = false;

	if (!manifest_valid(m))
		return NULL;
	s = json_object();
	comps = json_array();
	if (!s || !comps) {
		json_decref(s);
		json_decref(comps);
		return NULL;
	}
	set(s, "_type", json_string(VG_MANIFEST_TYPE), &failed);
	set(s, "format", json_integer(VG_MANIFEST_FORMAT), &failed);
	if (m->oem[0])
		set(s, "platform",
		    json_pack("{s:s, s:s, s:s}", "oem", m->oem, "model", m->model, "hw_rev",
			      m->hw_rev),
		    &failed);
	set(s, "version", json_string(m->version), &failed);
	set(s, "security_version", json_integer((json_int_t)m->security_version), &failed);
	for (size_t i = 0; i < m->n && !failed; i++) {
		const vg_manifest_comp *c = &m->c[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "name", c->name, "version",
				      c->version, "path", c->path, "size", (json_int_t)c->size);
		if (!o) {
			failed = true;
			break;
		}
		if (c->kind == VG_DIGEST_MERKLE)
			set(o, "merkle",
			    json_pack("{s:I, s:o}", "block_size", (json_int_t)c->block_size, "root",
				      hexstr(c->digest, 32)),
			    &failed);
		else
			set(o, "sha256", hexstr(c->digest, 32), &failed);
		set(o, "signer", hexstr(c->signer, 32), &failed);
		if (json_array_append_new(comps, o) != 0)
			failed = true;
	}
	set(s, "components", comps, &failed);
	if (failed) {
		json_decref(s);
		return NULL;
	}
	return s;
}

vg_rc vg_manifest_signed_bytes(const vg_manifest *m, char **out, size_t *len)
{
	json_t *s = signed_json(m);
	vg_rc rc;

	*out = NULL;
	*len = 0;
	if (!s)
		return manifest_valid(m) ? VG_ERR_NOMEM : VG_ERR_INVALID;
	rc = vg_canonical_json(s, out, len);
	json_decref(s);
	return rc;
}

vg_rc vg_manifest_to_json(const vg_manifest *m, char **out, size_t *len)
{
	json_t *root = json_object(), *sigs = json_array(), *s = signed_json(m);
	char *txt;

	bool failed = false;

	*out = NULL;
	if (!root || !sigs || !s) {
		json_decref(root);
		json_decref(sigs);
		json_decref(s);
		return manifest_valid(m) ? VG_ERR_NOMEM : VG_ERR_INVALID;
	}
	for (size_t i = 0; i < m->n_sigs; i++) {
		json_t *o = json_pack("{s:o, s:o}", "keyid", hexstr(m->sigs[i].keyid, 32), "sig",
				      hexstr(m->sigs[i].sig, m->sigs[i].sig_len));
		if (!o || json_array_append_new(sigs, o) != 0)
			failed = true;
	}
	set(root, "signed", s, &failed);
	set(root, "signatures", sigs, &failed);
	txt = failed ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (!txt)
		return VG_ERR_NOMEM;
	*len = strlen(txt);
	*out = malloc(*len + 2);
	if (!*out) {
		free(txt);
		return VG_ERR_NOMEM;
	}
	memcpy(*out, txt, *len);
	(*out)[(*len)++] = '\n';
	(*out)[*len] = '\0';
	free(txt);
	return VG_OK;
}

vg_rc vg_manifest_keyid(const uint8_t *spki, size_t len, uint8_t keyid[32])
{
	unsigned int dl = 0;

	return EVP_Digest(spki, len, keyid, &dl, EVP_sha256(), NULL) == 1 ? VG_OK
									   : VG_ERR_CRYPTO;
}

vg_rc vg_manifest_sign(vg_manifest *m, EVP_PKEY *priv)
{
	uint8_t *der = NULL, keyid[32], sig[128];
	size_t sl = sizeof sig, blen = 0;
	vg_manifest *filled;
	char *bytes = NULL;
	EVP_MD_CTX *c = NULL;
	const char *md;
	int dl;
	vg_rc rc;

	if (EVP_PKEY_is_a(priv, "ED25519"))
		md = NULL;
	else if (EVP_PKEY_is_a(priv, "EC"))
		md = "SHA256";
	else
		return VG_ERR_UNSUPPORTED;
	dl = i2d_PUBKEY(priv, &der);
	if (dl <= 0)
		return VG_ERR_CRYPTO;
	rc = vg_manifest_keyid(der, (size_t)dl, keyid);
	OPENSSL_free(der);
	if (rc != VG_OK)
		return rc;
	/* The key must be one vg_pubkey_verify() accepts (P-256, Ed25519). */
	der = NULL;
	dl = i2d_PUBKEY(priv, &der);
	{
		uint8_t *chk = NULL;
		size_t chk_len = 0;
		rc = dl > 0 ? vg_pubkey_parse(der, (size_t)dl, &chk, &chk_len) : VG_ERR_CRYPTO;
		OPENSSL_free(chk);
		OPENSSL_free(der);
		if (rc != VG_OK)
			return VG_ERR_UNSUPPORTED;
	}
	if (!manifest_valid(m))
		return VG_ERR_INVALID;
	/* Signers are filled in on a copy: a failed signing leaves m as it
	 * was, its old signatures still covering it. */
	filled = malloc(sizeof *filled);
	if (!filled)
		return VG_ERR_NOMEM;
	memcpy(filled, m, sizeof *filled);
	for (size_t i = 0; i < filled->n; i++) {
		static const uint8_t zero[32];
		if (memcmp(filled->c[i].signer, zero, 32) == 0)
			memcpy(filled->c[i].signer, keyid, 32);
	}
	rc = vg_manifest_signed_bytes(filled, &bytes, &blen);
	if (rc != VG_OK) {
		free(filled);
		return rc;
	}
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, priv, NULL) != 1 ||
	    EVP_DigestSign(c, sig, &sl, (const uint8_t *)bytes, blen) != 1)
		rc = VG_ERR_CRYPTO;
	EVP_MD_CTX_free(c);
	free(bytes);
	if (rc != VG_OK) {
		free(filled);
		return rc;
	}
	memcpy(m->c, filled->c, sizeof m->c);
	free(filled);
	/* The signed bytes may have changed (signers filled in): only this
	 * signature is known to cover them. */
	memset(m->sigs, 0, sizeof m->sigs);
	memcpy(m->sigs[0].keyid, keyid, 32);
	memcpy(m->sigs[0].sig, sig, sl);
	m->sigs[0].sig_len = sl;
	m->n_sigs = 1;
	return VG_OK;
}

vg_rc vg_manifest_verify(const vg_manifest *m, const uint8_t *spki, size_t len)
{
	uint8_t keyid[32];
	char *bytes = NULL;
	size_t blen = 0;
	vg_rc rc = vg_manifest_keyid(spki, len, keyid);

	if (rc != VG_OK)
		return rc;
	rc = vg_manifest_signed_bytes(m, &bytes, &blen);
	if (rc != VG_OK)
		return rc;
	rc = VG_ERR_VERIFY_FAILED;
	for (size_t i = 0; i < m->n_sigs && rc != VG_OK; i++)
		if (memcmp(m->sigs[i].keyid, keyid, 32) == 0)
			rc = vg_pubkey_verify(spki, len, (const uint8_t *)bytes, blen,
					      m->sigs[i].sig, m->sigs[i].sig_len);
	free(bytes);
	return rc == VG_OK ? VG_OK : VG_ERR_VERIFY_FAILED;
}

static vg_rc measure_one(const vg_manifest_comp *c, const char *path, uint8_t out[32], char *why)
{
	if (c->kind == VG_DIGEST_MERKLE)
		return vg_measure_merkle(path, c->size, c->block_size, 0, out, why);
	return vg_measure_sha256(path, c->size, out, why);
}

vg_rc vg_manifest_add(vg_manifest *m, const char *name, const char *version, const char *path,
		      const char *source, uint32_t merkle_block, const uint8_t signer[32],
		      char *why)
{
	vg_manifest_comp *c;
	vg_rc rc;

	if (m->n >= VG_MANIFEST_MAX_COMPONENTS)
		return bad(why, "more than %u components", VG_MANIFEST_MAX_COMPONENTS);
	if (!vg_manifest_text_ok(name, sizeof c->name) ||
	    !vg_manifest_text_ok(version, sizeof c->version))
		return bad(why, "%s: name and version must be short printable ASCII",
			   name ? name : "?");
	if (!path_ok(path))
		return bad(why, "%s: the device path must be absolute, without . or ..", name);
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->c[i].name, name) == 0)
			return bad(why, "component \"%s\" is listed twice", name);
	c = &m->c[m->n];
	memset(c, 0, sizeof *c);
	memcpy(c->name, name, strlen(name) + 1);
	memcpy(c->version, version, strlen(version) + 1);
	memcpy(c->path, path, strlen(path) + 1);
	if (signer)
		memcpy(c->signer, signer, 32);
	rc = vg_measure_size(source, &c->size, why);
	if (rc != VG_OK)
		return rc;
	c->kind = merkle_block ? VG_DIGEST_MERKLE : VG_DIGEST_SHA256;
	c->block_size = merkle_block;
	rc = measure_one(c, source, c->digest, why);
	if (rc != VG_OK)
		return rc;
	m->n++;
	return VG_OK;
}

size_t vg_manifest_measure(const vg_manifest *m, const char *root, vg_component_result *res)
{
	size_t failed = 0;

	for (size_t i = 0; i < m->n; i++) {
		const vg_manifest_comp *c = &m->c[i];
		char path[VG_MANIFEST_PATH_MAX + 4096];
		vg_component_result *r = &res[i];

		memset(r, 0, sizeof *r);
		(void)snprintf(path, sizeof path, "%s%s", root ? root : "", c->path);
		r->rc = measure_one(c, path, r->measured, r->why);
		if (r->rc == VG_OK && memcmp(r->measured, c->digest, 32) != 0) {
			r->rc = VG_ERR_INTEGRITY;
			(void)snprintf(r->why, sizeof r->why, "%s: %s differs from the manifest",
				       c->path, c->kind == VG_DIGEST_MERKLE ? "Merkle root" : "SHA-256");
		}
		if (r->rc != VG_OK) {
			failed++;
			if (!r->why[0])
				(void)snprintf(r->why, sizeof r->why, "%s: %s", c->path,
					       vg_rc_str(r->rc));
		}
	}
	return failed;
}
