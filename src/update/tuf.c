/*
 * tuf.c - TUF metadata and the trusted set (contract in tuf.h).
 */
#include "update/tuf.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/canonjson.h"

struct role_doc {
	char name[256];
	char delegator[256]; /* the role whose delegation it was verified under */
	json_t *doc;         /* the whole metadata; "signed" validated */
};

struct vg_tuf_set {
	time_t now;
	json_t *root, *timestamp, *snapshot;
	struct role_doc targets[VG_TUF_MAX_ROLES]; /* [0] is "targets" once loaded */
	size_t n_targets;
};

#define fail(why, rc, ...) vg_why(why, VG_TUF_WHY_LEN, rc, __VA_ARGS__)

/* ---- small helpers ---- */

/* Hex digits of the largest bin number of a succinct delegation. */
static unsigned hex_digits(uint64_t bits)
{
	unsigned d = 0;

	for (uint64_t m = (1ull << bits) - 1; m; m >>= 4)
		d++;
	return d;
}

static const json_t *sg(const json_t *doc)
{
	return json_object_get(doc, "signed");
}

static bool get_u64(const json_t *o, const char *k, uint64_t *out)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static const char *get_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

bool vg_tuf_parse_time(const char *s, time_t *out)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, se, n = 0;

	if (!s || strlen(s) != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 ||
	    n != 20)
		return false;
	for (int i = 0; i < 20; i++) {
		bool digit = s[i] >= '0' && s[i] <= '9';
		if ((i == 4 || i == 7) ? s[i] != '-'
		    : i == 10	      ? s[i] != 'T'
		    : (i == 13 || i == 16) ? s[i] != ':'
		    : i == 19		      ? s[i] != 'Z'
					      : !digit)
			return false;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	/* A date that does not exist (February 31st) comes back changed. */
	{
		struct tm back;
		if (!gmtime_r(out, &back) || back.tm_mday != d || back.tm_mon != mo - 1 ||
		    back.tm_year != y - 1900)
			return false;
	}
	return true;
}

/* ---- keys and signatures ---- */

static EVP_PKEY *key_from_json(const json_t *key, const char **md)
{
	const char *type = get_str(key, "keytype"), *scheme = get_str(key, "scheme");
	const char *pub = get_str(json_object_get(key, "keyval"), "public");
	EVP_PKEY *pk = NULL;

	*md = NULL;
	if (!type || !scheme || !pub)
		return NULL;
	if (strcmp(type, "ed25519") == 0 && strcmp(scheme, "ed25519") == 0) {
		uint8_t raw[32];
		size_t n = 0;
		if (strlen(pub) == 64 && vg_hex_decode(pub, raw, sizeof raw, &n) && n == 32)
			pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
		return pk;
	}
	if ((strcmp(type, "ecdsa") == 0 || strcmp(type, "ecdsa-sha2-nistp256") == 0) &&
	    strcmp(scheme, "ecdsa-sha2-nistp256") == 0)
		*md = "SHA256";
	else if (strcmp(type, "rsa") == 0 && strcmp(scheme, "rsassa-pss-sha256") == 0)
		*md = "SHA256";
	else
		return NULL;
	{
		BIO *b = BIO_new_mem_buf(pub, -1);
		pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	}
	if (pk && strcmp(type, "rsa") != 0 &&
	    !(EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_bits(pk) == 256)) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (pk && strcmp(type, "rsa") == 0 && !EVP_PKEY_is_a(pk, "RSA")) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

static bool sig_ok(const json_t *key, const uint8_t *msg, size_t len, const char *sig_hex)
{
	const char *md = NULL;
	EVP_PKEY *pk = key_from_json(key, &md);
	EVP_MD_CTX *c = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *sig = NULL;
	size_t sl = 0, hl = sig_hex ? strlen(sig_hex) : 0;
	bool ok = false;

	if (!pk || hl == 0 || hl % 2 || hl > 2 * 1024)
		goto out;
	sig = malloc(hl / 2);
	if (!sig || !vg_hex_decode(sig_hex, sig, hl / 2, &sl))
		goto out;
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestVerifyInit_ex(c, &pctx, md, NULL, NULL, pk, NULL) != 1)
		goto out;
	if (EVP_PKEY_is_a(pk, "RSA") &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) != 1))
		goto out;
	ok = EVP_DigestVerify(c, sig, sl, msg, len) == 1;
out:
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	free(sig);
	return ok;
}

/* The role's keyids and threshold: from a root's "roles" or a delegation. */
vg_rc vg_tuf_check_signed(const json_t *doc, const json_t *keys, const json_t *role,
			  const char *name, char *why)
{
	const json_t *keyids = json_object_get(role, "keyids"), *sigs;
	EVP_PKEY *seen[64];
	uint64_t threshold = 0, good = 0;
	size_t n_seen = 0, i;
	char *canon = NULL;
	size_t clen = 0;
	json_t *v;
	vg_rc rc;

	if (!get_u64(role, "threshold", &threshold) || threshold < 1 || !json_is_array(keyids))
		return fail(why, VG_ERR_INVALID, "%s: no valid role definition", name);
	sigs = json_object_get(doc, "signatures");
	if (!json_is_array(sigs))
		return fail(why, VG_ERR_INVALID, "%s: no signatures", name);
	rc = vg_canonical_json(json_object_get(doc, "signed"), &canon, &clen);
	if (rc != VG_OK)
		return fail(why, VG_ERR_INVALID, "%s: not canonical-JSON encodable", name);
	json_array_foreach(keyids, i, v) {
		const char *kid = json_string_value(v);
		const json_t *key = json_object_get(keys, kid ? kid : "");
		const char *md = NULL;
		size_t j;
		json_t *s;
		if (!kid || !key)
			continue;
		json_array_foreach(sigs, j, s) {
			const char *skid = get_str(s, "keyid");
			EVP_PKEY *pk;
			bool dup = false;
			if (!skid || strcmp(skid, kid) != 0)
				continue;
			if (!sig_ok(key, (const uint8_t *)canon, clen, get_str(s, "sig")))
				break;
			/* One key counts once, whatever key IDs name it (TUF spec
			 * #154): compare the keys themselves. */
			pk = key_from_json(key, &md);
			for (size_t k = 0; pk && k < n_seen && !dup; k++)
				dup = EVP_PKEY_eq(seen[k], pk) == 1;
			if (pk && !dup && n_seen < VG_ARRAY_LEN(seen)) {
				seen[n_seen++] = pk;
				good++;
			} else {
				EVP_PKEY_free(pk);
			}
			break;
		}
	}
	for (size_t k = 0; k < n_seen; k++)
		EVP_PKEY_free(seen[k]);
	free(canon);
	if (good < threshold)
		return fail(why, VG_ERR_VERIFY_FAILED,
			    "%s: %" PRIu64 " of the %" PRIu64 " signatures needed verify", name,
			    good, threshold);
	return VG_OK;
}

/* ---- parsing: the form every role shares, then each type's ---- */

static bool keyids_ok(const json_t *a)
{
	size_t i, j;
	json_t *v, *w;

	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return false;
		json_array_foreach(a, j, w) {
			if (j >= i)
				break;
			if (strcmp(json_string_value(v), json_string_value(w)) == 0)
				return false;
		}
	}
	return true;
}

static bool role_def_ok(const json_t *r)
{
	uint64_t t;

	return json_is_object(r) && keyids_ok(json_object_get(r, "keyids")) &&
	       get_u64(r, "threshold", &t) && t >= 1;
}

static bool keys_ok(const json_t *keys)
{
	const char *k;
	json_t *v;

	if (!json_is_object(keys))
		return false;
	json_object_foreach((json_t *)keys, k, v) {
		if (!json_is_object(v) || !get_str(v, "keytype") || !get_str(v, "scheme") ||
		    !json_is_object(json_object_get(v, "keyval")))
			return false;
	}
	return true;
}

/* A MetaFile / TargetFile: version or length, optional hashes. */
static bool fileinfo_ok(const json_t *f, bool target)
{
	const json_t *h = json_object_get(f, "hashes"), *l = json_object_get(f, "length");
	uint64_t x;
	const char *k;
	json_t *v;

	if (!json_is_object(f))
		return false;
	if (target ? !get_u64(f, "length", &x) : (!get_u64(f, "version", &x) || x < 1))
		return false;
	if (l && !get_u64(f, "length", &x))
		return false;
	if (target && !h)
		return false;
	if (h) {
		if (!json_is_object(h) || json_object_size(h) == 0)
			return false;
		json_object_foreach((json_t *)h, k, v)
			if (!json_is_string(v))
				return false;
	}
	return true;
}

static vg_rc parse_common(const uint8_t *data, size_t len, const char *type, json_t **out,
			  char *why)
{
	json_error_t err;
	json_t *doc, *s, *sigs;
	const char *spec, *t;
	uint64_t ver;
	time_t exp;
	size_t i, j;
	json_t *a, *b;

	*out = NULL;
	doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
	if (!doc)
		return fail(why, VG_ERR_INVALID, "%s: not JSON (line %d: %.100s)", type, err.line,
			    err.text);
	s = json_object_get(doc, "signed");
	sigs = json_object_get(doc, "signatures");
	t = get_str(s, "_type");
	spec = get_str(s, "spec_version");
	if (!json_is_object(s) || !json_is_array(sigs))
		goto bad;
	if (!t || strcmp(t, type) != 0) {
		/* The reason first: t points into doc. */
		vg_rc rc = fail(why, VG_ERR_INVALID, "expected %s metadata, got \"%.40s\"", type,
				t ? t : "?");
		json_decref(doc);
		return rc;
	}
	/* "1", "1.0" or "1.0.31": major version 1. */
	if (!spec || strncmp(spec, "1.", 2) != 0 || !spec[2] ||
	    strspn(spec + 2, "0123456789.") != strlen(spec + 2) || strstr(spec, "..") ||
	    spec[strlen(spec) - 1] == '.') {
		vg_rc rc = fail(why, VG_ERR_UNSUPPORTED, "%s: spec_version \"%.40s\" is not 1.x",
				type, spec ? spec : "?");
		json_decref(doc);
		return rc;
	}
	if (!get_u64(s, "version", &ver) || ver < 1 ||
	    !vg_tuf_parse_time(get_str(s, "expires"), &exp))
		goto bad;
	json_array_foreach(sigs, i, a) {
		if (!json_is_object(a) || !get_str(a, "keyid") || !get_str(a, "sig"))
			goto bad;
		json_array_foreach(sigs, j, b) {
			if (j >= i)
				break;
			if (strcmp(get_str(a, "keyid"), get_str(b, "keyid")) == 0) {
				json_decref(doc);
				return fail(why, VG_ERR_INVALID, "%s: two signatures by one key",
					    type);
			}
		}
	}
	*out = doc;
	return VG_OK;
bad:
	json_decref(doc);
	return fail(why, VG_ERR_INVALID, "%s: malformed metadata", type);
}

static const char *const top_roles[] = {"root", "timestamp", "snapshot", "targets"};

static vg_rc parse_root(const uint8_t *data, size_t len, json_t **out, char *why)
{
	vg_rc rc = parse_common(data, len, "root", out, why);
	const json_t *s, *roles, *cs;

	if (rc != VG_OK)
		return rc;
	s = sg(*out);
	roles = json_object_get(s, "roles");
	cs = json_object_get(s, "consistent_snapshot");
	if (!keys_ok(json_object_get(s, "keys")) || !json_is_object(roles) ||
	    json_object_size(roles) != 4 || (cs && !json_is_boolean(cs)))
		goto bad;
	for (size_t i = 0; i < 4; i++)
		if (!role_def_ok(json_object_get(roles, top_roles[i])))
			goto bad;
	return VG_OK;
bad:
	json_decref(*out);
	*out = NULL;
	return fail(why, VG_ERR_INVALID, "root: malformed keys or roles");
}

static vg_rc parse_meta_role(const uint8_t *data, size_t len, const char *type, json_t **out,
			     char *why)
{
	vg_rc rc = parse_common(data, len, type, out, why);
	const json_t *meta;
	const char *k;
	json_t *v;

	if (rc != VG_OK)
		return rc;
	meta = json_object_get(sg(*out), "meta");
	if (!json_is_object(meta))
		goto bad;
	if (strcmp(type, "timestamp") == 0 && !fileinfo_ok(json_object_get(meta, "snapshot.json"),
							    false))
		goto bad;
	json_object_foreach((json_t *)meta, k, v)
		if (!fileinfo_ok(v, false))
			goto bad;
	return VG_OK;
bad:
	json_decref(*out);
	*out = NULL;
	return fail(why, VG_ERR_INVALID, "%s: malformed \"meta\"", type);
}

static bool delegations_ok(const json_t *d)
{
	const json_t *roles, *succ;
	size_t i, j;
	json_t *r, *q;

	if (!d)
		return true;
	roles = json_object_get(d, "roles");
	succ = json_object_get(d, "succinct_roles");
	if (!json_is_object(d) || !keys_ok(json_object_get(d, "keys")) || (roles && succ) ||
	    (!roles && !succ))
		return false;
	if (succ) {
		uint64_t bits;
		const char *prefix = get_str(succ, "name_prefix");
		return role_def_ok(succ) && get_u64(succ, "bit_length", &bits) && bits >= 1 &&
		       bits <= 32 && prefix && strlen(prefix) < 200;
	}
	if (!json_is_array(roles))
		return false;
	json_array_foreach(roles, i, r) {
		const char *name = get_str(r, "name");
		const json_t *paths = json_object_get(r, "paths"),
			     *prefixes = json_object_get(r, "path_hash_prefixes");
		if (!role_def_ok(r) || !name || !*name || strlen(name) >= 200 ||
		    !json_is_boolean(json_object_get(r, "terminating")) ||
		    (paths && prefixes) || (!paths && !prefixes))
			return false;
		for (size_t t = 0; t < 4; t++)
			if (strcmp(name, top_roles[t]) == 0)
				return false;
		if ((paths && !json_is_array(paths)) || (prefixes && !json_is_array(prefixes)))
			return false;
		json_array_foreach(paths ? paths : prefixes, j, q)
			if (!json_is_string(q))
				return false;
		json_array_foreach(roles, j, q) {
			if (j >= i)
				break;
			if (strcmp(name, get_str(q, "name")) == 0)
				return false;
		}
	}
	return true;
}

static vg_rc parse_targets(const uint8_t *data, size_t len, json_t **out, char *why)
{
	vg_rc rc = parse_common(data, len, "targets", out, why);
	const json_t *t;
	const char *k;
	json_t *v;

	if (rc != VG_OK)
		return rc;
	t = json_object_get(sg(*out), "targets");
	if (!json_is_object(t))
		goto bad;
	json_object_foreach((json_t *)t, k, v)
		if (!fileinfo_ok(v, true))
			goto bad;
	if (!delegations_ok(json_object_get(sg(*out), "delegations")))
		goto bad;
	return VG_OK;
bad:
	json_decref(*out);
	*out = NULL;
	return fail(why, VG_ERR_INVALID, "targets: malformed targets or delegations");
}

static bool expired(const vg_tuf_set *s, const json_t *doc)
{
	time_t exp = 0;

	(void)vg_tuf_parse_time(get_str(sg(doc), "expires"), &exp);
	return s->now >= exp;
}

static uint64_t version_of(const json_t *doc)
{
	uint64_t v = 0;

	(void)get_u64(sg(doc), "version", &v);
	return v;
}

/* ---- the trusted set ---- */

vg_rc vg_tuf_set_new(vg_tuf_set **out, const uint8_t *root, size_t len, time_t now, char *why)
{
	vg_tuf_set *s = calloc(1, sizeof *s);
	const json_t *rs;
	vg_rc rc;

	*out = NULL;
	if (!s)
		return VG_ERR_NOMEM;
	s->now = now;
	rc = parse_root(root, len, &s->root, why);
	if (rc == VG_OK) {
		rs = sg(s->root);
		rc = vg_tuf_check_signed(s->root, json_object_get(rs, "keys"),
				      json_object_get(json_object_get(rs, "roles"), "root"),
				      "trusted root", why);
	}
	if (rc != VG_OK) {
		vg_tuf_set_free(&s);
		return rc;
	}
	*out = s;
	return VG_OK;
}

void vg_tuf_set_free(vg_tuf_set **ps)
{
	vg_tuf_set *s;

	if (!ps || !*ps)
		return;
	s = *ps;
	json_decref(s->root);
	json_decref(s->timestamp);
	json_decref(s->snapshot);
	for (size_t i = 0; i < s->n_targets; i++)
		json_decref(s->targets[i].doc);
	free(s);
	*ps = NULL;
}

static const json_t *root_role(const vg_tuf_set *s, const char *name)
{
	return json_object_get(json_object_get(sg(s->root), "roles"), name);
}

static vg_rc by_root(const vg_tuf_set *s, const json_t *doc, const char *role, char *why)
{
	return vg_tuf_check_signed(doc, json_object_get(sg(s->root), "keys"), root_role(s, role),
				role, why);
}

vg_rc vg_tuf_update_root(vg_tuf_set *s, const uint8_t *data, size_t len, char *why)
{
	json_t *doc = NULL;
	uint64_t have = version_of(s->root), got;
	vg_rc rc;

	if (s->timestamp)
		return fail(why, VG_ERR_STATE, "root cannot change after the timestamp");
	rc = parse_root(data, len, &doc, why);
	if (rc != VG_OK)
		return rc;
	/* Signed by the trusted root's root keys, and by its own. */
	rc = by_root(s, doc, "root", why);
	if (rc == VG_OK) {
		got = version_of(doc);
		if (got != have + 1)
			rc = fail(why, VG_ERR_ROLLBACK,
				  "root version %" PRIu64 " where %" PRIu64 " was expected", got,
				  have + 1);
	}
	if (rc == VG_OK) {
		const json_t *ns = sg(doc);
		rc = vg_tuf_check_signed(doc, json_object_get(ns, "keys"),
				      json_object_get(json_object_get(ns, "roles"), "root"),
				      "new root (its own keys)", why);
	}
	if (rc != VG_OK) {
		json_decref(doc);
		return rc;
	}
	json_decref(s->root);
	s->root = doc;
	return VG_OK;
}

vg_rc vg_tuf_check_root(const vg_tuf_set *s, char *why)
{
	if (expired(s, s->root))
		return fail(why, VG_ERR_STATE,
			    "root metadata version %" PRIu64 " expired on %s (freeze attack?)",
			    version_of(s->root), get_str(sg(s->root), "expires"));
	return VG_OK;
}

static const json_t *snapshot_info(const json_t *timestamp)
{
	return json_object_get(json_object_get(sg(timestamp), "meta"), "snapshot.json");
}

vg_rc vg_tuf_update_timestamp(vg_tuf_set *s, const uint8_t *data, size_t len, char *why)
{
	json_t *doc = NULL;
	vg_rc rc;

	if (s->snapshot)
		return fail(why, VG_ERR_STATE, "timestamp cannot change after the snapshot");
	rc = vg_tuf_check_root(s, why);
	if (rc == VG_OK)
		rc = parse_meta_role(data, len, "timestamp", &doc, why);
	if (rc == VG_OK)
		rc = by_root(s, doc, "timestamp", why);
	if (rc == VG_OK && s->timestamp) {
		uint64_t old = version_of(s->timestamp), got = version_of(doc), os = 0, ns = 0;
		(void)get_u64(snapshot_info(s->timestamp), "version", &os);
		(void)get_u64(snapshot_info(doc), "version", &ns);
		if (got < old)
			rc = fail(why, VG_ERR_ROLLBACK,
				  "timestamp version %" PRIu64 " is older than the trusted %" PRIu64
				  " (rollback)",
				  got, old);
		else if (got == old)
			rc = fail(why, VG_ERR_EXISTS, "timestamp unchanged");
		else if (ns < os)
			rc = fail(why, VG_ERR_ROLLBACK,
				  "timestamp names snapshot version %" PRIu64
				  ", older than the trusted %" PRIu64 " (rollback)",
				  ns, os);
	}
	if (rc != VG_OK) {
		json_decref(doc);
		return rc;
	}
	json_decref(s->timestamp);
	s->timestamp = doc;
	/* Kept even when expired: it protects the next one from rollback. */
	if (expired(s, doc))
		return fail(why, VG_ERR_STATE,
			    "timestamp metadata expired on %s (freeze attack?)",
			    get_str(sg(doc), "expires"));
	return VG_OK;
}

vg_rc vg_tuf_snapshot_meta(const vg_tuf_set *s, uint64_t *version, uint64_t *length)
{
	const json_t *info = s->timestamp ? snapshot_info(s->timestamp) : NULL;

	*version = *length = 0;
	if (!info || !get_u64(info, "version", version))
		return VG_ERR_STATE;
	(void)get_u64(info, "length", length);
	return VG_OK;
}

static vg_rc check_final_snapshot(const vg_tuf_set *s, char *why)
{
	uint64_t want = 0, len = 0;

	if (expired(s, s->snapshot))
		return fail(why, VG_ERR_STATE, "snapshot metadata expired on %s (freeze attack?)",
			    get_str(sg(s->snapshot), "expires"));
	if (vg_tuf_snapshot_meta(s, &want, &len) != VG_OK || version_of(s->snapshot) != want)
		return fail(why, VG_ERR_ROLLBACK,
			    "snapshot version %" PRIu64 " is not the %" PRIu64
			    " the timestamp names (mix-and-match?)",
			    version_of(s->snapshot), want);
	return VG_OK;
}

vg_rc vg_tuf_update_snapshot(vg_tuf_set *s, const uint8_t *data, size_t len, bool trusted,
			     char *why)
{
	json_t *doc = NULL;
	vg_rc rc;

	if (!s->timestamp)
		return fail(why, VG_ERR_STATE, "snapshot before timestamp");
	if (s->n_targets)
		return fail(why, VG_ERR_STATE, "snapshot cannot change after targets");
	if (expired(s, s->timestamp))
		return fail(why, VG_ERR_STATE, "timestamp metadata expired (freeze attack?)");
	rc = trusted ? VG_OK : vg_tuf_check_file(snapshot_info(s->timestamp), data, len, false, why);
	if (rc == VG_OK)
		rc = parse_meta_role(data, len, "snapshot", &doc, why);
	if (rc == VG_OK)
		rc = by_root(s, doc, "snapshot", why);
	if (rc == VG_OK && s->snapshot) {
		/* No targets metadata may disappear or go back. */
		const json_t *old = json_object_get(sg(s->snapshot), "meta"),
			     *neu = json_object_get(sg(doc), "meta");
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)old, k, v) {
			uint64_t ov = 0, nv = 0;
			const json_t *n = json_object_get(neu, k);
			(void)get_u64(v, "version", &ov);
			if (!n) {
				rc = fail(why, VG_ERR_ROLLBACK, "the new snapshot drops %s", k);
				break;
			}
			(void)get_u64(n, "version", &nv);
			if (nv < ov) {
				rc = fail(why, VG_ERR_ROLLBACK,
					  "the new snapshot has %s version %" PRIu64
					  ", older than %" PRIu64 " (rollback)",
					  k, nv, ov);
				break;
			}
		}
	}
	if (rc != VG_OK) {
		json_decref(doc);
		return rc;
	}
	json_decref(s->snapshot);
	s->snapshot = doc;
	return check_final_snapshot(s, why);
}

vg_rc vg_tuf_role_meta(const vg_tuf_set *s, const char *role, uint64_t *version,
		       uint64_t *length)
{
	char key[300];
	const json_t *info;

	*version = *length = 0;
	if (!s->snapshot)
		return VG_ERR_STATE;
	(void)snprintf(key, sizeof key, "%s.json", role);
	info = json_object_get(json_object_get(sg(s->snapshot), "meta"), key);
	if (!info || !get_u64(info, "version", version))
		return VG_ERR_NOT_FOUND;
	(void)get_u64(info, "length", length);
	return VG_OK;
}

static const json_t *targets_doc(const vg_tuf_set *s, const char *role)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (strcmp(s->targets[i].name, role) == 0)
			return s->targets[i].doc;
	return NULL;
}

bool vg_tuf_have(const vg_tuf_set *s, const char *role)
{
	if (strcmp(role, "root") == 0)
		return s->root != NULL;
	if (strcmp(role, "timestamp") == 0)
		return s->timestamp != NULL;
	if (strcmp(role, "snapshot") == 0)
		return s->snapshot != NULL;
	return targets_doc(s, role) != NULL;
}

uint64_t vg_tuf_root_version(const vg_tuf_set *s)
{
	return version_of(s->root);
}

bool vg_tuf_consistent_snapshot(const vg_tuf_set *s)
{
	return json_is_true(json_object_get(sg(s->root), "consistent_snapshot"));
}

/* The role definition delegator gives role (or a succinct roles' def). */
static const json_t *delegation_of(const json_t *delegator, const char *role)
{
	const json_t *d = json_object_get(sg(delegator), "delegations"), *succ;
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(d, "roles"), i, r)
		if (strcmp(get_str(r, "name"), role) == 0)
			return r;
	succ = json_object_get(d, "succinct_roles");
	if (succ) {
		const char *prefix = get_str(succ, "name_prefix");
		size_t pl = strlen(prefix);
		uint64_t bits = 0, num;
		const char *suffix = role + pl + 1;
		(void)get_u64(succ, "bit_length", &bits);
		if (strncmp(role, prefix, pl) == 0 && role[pl] == '-' &&
		    strlen(suffix) == hex_digits(bits) &&
		    strspn(suffix, "0123456789abcdef") == strlen(suffix)) {
			num = strtoull(suffix, NULL, 16);
			if (num < (1ull << bits))
				return succ;
		}
	}
	return NULL;
}

vg_rc vg_tuf_update_targets(vg_tuf_set *s, const char *role, const char *delegator,
			    const uint8_t *data, size_t len, char *why)
{
	json_t *doc = NULL;
	const json_t *info, *def, *keys;
	char key[300];
	uint64_t want = 0;
	vg_rc rc;

	if (!s->snapshot)
		return fail(why, VG_ERR_STATE, "targets before snapshot");
	rc = check_final_snapshot(s, why);
	if (rc != VG_OK)
		return rc;
	if (s->n_targets >= VG_TUF_MAX_ROLES && !targets_doc(s, role))
		return fail(why, VG_ERR_TOO_LARGE, "too many delegated roles");
	if (strcmp(delegator, "root") == 0) {
		if (strcmp(role, "targets") != 0)
			return fail(why, VG_ERR_INVALID, "root delegates only \"targets\"");
		keys = json_object_get(sg(s->root), "keys");
		def = root_role(s, "targets");
	} else {
		const json_t *parent = targets_doc(s, delegator);
		if (!parent)
			return fail(why, VG_ERR_STATE, "%s: its delegator %s is not loaded", role,
				    delegator);
		def = delegation_of(parent, role);
		keys = json_object_get(json_object_get(sg(parent), "delegations"), "keys");
		if (!def)
			return fail(why, VG_ERR_DENIED, "%s does not delegate to %s", delegator,
				    role);
	}
	/* Already trusted: only if this delegation trusts it too (a role
	 * reached through another delegator must meet that one's keys). */
	for (size_t i = 0; i < s->n_targets; i++) {
		struct role_doc *r = &s->targets[i];
		if (strcmp(r->name, role) != 0)
			continue;
		if (strcmp(r->delegator, delegator) == 0)
			return VG_OK;
		return vg_tuf_check_signed(r->doc, keys, def, role, why);
	}
	if (!data)
		return fail(why, VG_ERR_STATE, "%s is not loaded", role);
	(void)snprintf(key, sizeof key, "%s.json", role);
	info = json_object_get(json_object_get(sg(s->snapshot), "meta"), key);
	if (!info)
		return fail(why, VG_ERR_INTEGRITY,
			    "%s is not in the snapshot (an inconsistent repository)", key);
	rc = vg_tuf_check_file(info, data, len, false, why);
	if (rc == VG_OK)
		rc = parse_targets(data, len, &doc, why);
	if (rc == VG_OK)
		rc = vg_tuf_check_signed(doc, keys, def, role, why);
	if (rc == VG_OK) {
		(void)get_u64(info, "version", &want);
		if (version_of(doc) != want)
			rc = fail(why, VG_ERR_ROLLBACK,
				  "%s version %" PRIu64 " is not the %" PRIu64
				  " the snapshot names (mix-and-match?)",
				  role, version_of(doc), want);
	}
	if (rc == VG_OK && expired(s, doc))
		rc = fail(why, VG_ERR_STATE, "%s metadata expired on %s (freeze attack?)", role,
			  get_str(sg(doc), "expires"));
	if (rc != VG_OK) {
		json_decref(doc);
		return rc;
	}
	(void)snprintf(s->targets[s->n_targets].name, sizeof s->targets[0].name, "%s", role);
	(void)snprintf(s->targets[s->n_targets].delegator, sizeof s->targets[0].delegator, "%s",
		       delegator);
	s->targets[s->n_targets++].doc = doc;
	return VG_OK;
}

const json_t *vg_tuf_target_info(const vg_tuf_set *s, const char *role, const char *path)
{
	const json_t *doc = targets_doc(s, role);

	return doc ? json_object_get(json_object_get(sg(doc), "targets"), path) : NULL;
}

static void sha256_hex(const char *in, char out[65])
{
	uint8_t h[32];
	unsigned int l = 0;

	(void)EVP_Digest(in, strlen(in), h, &l, EVP_sha256(), NULL);
	vg_hex_encode(h, 32, out);
}

/* The specification's path patterns: the same number of '/' separated
 * parts, each matched as a shell pattern (as python-tuf: fnmatch per part,
 * '*' never crossing a '/', backslash not an escape). */
static bool path_matches(const char *path, const char *pattern)
{
	char a[1024], b[1024];

	for (;;) {
		size_t la = strcspn(path, "/"), lb = strcspn(pattern, "/");
		if (la >= sizeof a || lb >= sizeof b)
			return false;
		memcpy(a, path, la);
		a[la] = '\0';
		memcpy(b, pattern, lb);
		b[lb] = '\0';
		if (fnmatch(b, a, FNM_NOESCAPE) != 0)
			return false;
		if (!path[la] || !pattern[lb])
			return !path[la] && !pattern[lb];
		path += la + 1;
		pattern += lb + 1;
	}
}

vg_rc vg_tuf_children(const vg_tuf_set *s, const char *role, const char *path,
		      vg_tuf_child *out, size_t cap, size_t *n)
{
	const json_t *doc = targets_doc(s, role), *d, *succ;
	char h[65];
	size_t i;
	json_t *r;

	*n = 0;
	if (!doc)
		return VG_ERR_STATE;
	d = json_object_get(sg(doc), "delegations");
	if (!d)
		return VG_OK;
	sha256_hex(path, h);
	succ = json_object_get(d, "succinct_roles");
	if (succ) {
		uint64_t bits = 0;
		uint8_t raw[32];
		size_t rl = 0;
		uint32_t first;
		unsigned digits;
		(void)get_u64(succ, "bit_length", &bits);
		(void)vg_hex_decode(h, raw, sizeof raw, &rl);
		first = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 |
			raw[3];
		first = (uint32_t)((uint64_t)first >> (32 - bits));
		digits = hex_digits(bits);
		if (cap < 1)
			return VG_ERR_TOO_LARGE;
		(void)snprintf(out[0].succinct_name, sizeof out[0].succinct_name, "%s-%0*x",
			       get_str(succ, "name_prefix"), (int)digits, first);
		out[0].name = out[0].succinct_name;
		out[0].terminating = true;
		*n = 1;
		return VG_OK;
	}
	json_array_foreach(json_object_get(d, "roles"), i, r) {
		const json_t *paths = json_object_get(r, "paths"),
			     *prefixes = json_object_get(r, "path_hash_prefixes");
		bool match = false;
		size_t j;
		json_t *p;
		json_array_foreach(paths ? paths : prefixes, j, p) {
			const char *pat = json_string_value(p);
			match = paths ? path_matches(path, pat)
				      : strncmp(h, pat, strlen(pat)) == 0;
			if (match)
				break;
		}
		if (!match)
			continue;
		if (*n >= cap)
			return VG_ERR_TOO_LARGE;
		out[*n].name = get_str(r, "name");
		out[*n].terminating = json_is_true(json_object_get(r, "terminating"));
		(*n)++;
	}
	return VG_OK;
}

vg_rc vg_tuf_check_file(const json_t *info, const uint8_t *data, size_t len, bool require,
			char *why)
{
	const json_t *hashes = json_object_get(info, "hashes");
	uint64_t want;
	const char *alg;
	json_t *v;

	if (!info)
		return fail(why, VG_ERR_INVALID, "no file information");
	if (get_u64(info, "length", &want)) {
		if (want != len)
			return fail(why, VG_ERR_INTEGRITY,
				    "length %zu where the metadata says %" PRIu64, len, want);
	} else if (require) {
		return fail(why, VG_ERR_INVALID, "the metadata gives no length");
	}
	if (!hashes || json_object_size(hashes) == 0) {
		return require || hashes ? fail(why, VG_ERR_INVALID, "the metadata gives no hashes")
					 : VG_OK;
	}
	json_object_foreach((json_t *)hashes, alg, v) {
		const EVP_MD *md = strcmp(alg, "sha256") == 0   ? EVP_sha256()
				   : strcmp(alg, "sha512") == 0 ? EVP_sha512()
								 : NULL;
		uint8_t h[64];
		char hex[129];
		unsigned int hl = 0;
		if (!md)
			return fail(why, VG_ERR_UNSUPPORTED, "hash algorithm \"%s\" not supported",
				    alg);
		if (EVP_Digest(data, len, h, &hl, md, NULL) != 1)
			return VG_ERR_CRYPTO;
		vg_hex_encode(h, hl, hex);
		if (!json_string_value(v) || strcmp(hex, json_string_value(v)) != 0)
			return fail(why, VG_ERR_INTEGRITY, "%s differs from the metadata", alg);
	}
	return VG_OK;
}

vg_rc vg_tuf_quote(const char *in, char *out, size_t cap)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
			    *p == '~';
		if (o + (keep ? 1 : 3) >= cap)
			return VG_ERR_TOO_LARGE;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hexd[*p >> 4];
			out[o++] = hexd[*p & 15];
		}
	}
	if (o >= cap)
		return VG_ERR_TOO_LARGE;
	out[o] = '\0';
	return VG_OK;
}
