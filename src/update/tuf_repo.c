/*
 * tuf_repo.c - writing TUF metadata (contract in tuf_repo.h).
 */
#include "update/tuf_repo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "common/canonjson.h"
#include "platform/measure.h"
#include "update/tuf.h"
#include "update/tuf_client.h"

json_t *vg_tuf_key_new(EVP_PKEY *pk)
{
	if (EVP_PKEY_is_a(pk, "ED25519")) {
		uint8_t raw[32];
		size_t n = sizeof raw;
		char hex[65];
		if (EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1 || n != 32)
			return NULL;
		vg_hex_encode(raw, 32, hex);
		return json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519",
				 "keyval", "public", hex);
	}
	if (EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_bits(pk) == 256) {
		BIO *b = BIO_new(BIO_s_mem());
		char *pem = NULL;
		long n;
		json_t *k = NULL;
		if (b && PEM_write_bio_PUBKEY(b, pk) == 1 && (n = BIO_get_mem_data(b, &pem)) > 0) {
			char *s = strndup(pem, (size_t)n);
			if (s)
				k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ecdsa", "scheme",
					      "ecdsa-sha2-nistp256", "keyval", "public", s);
			free(s);
		}
		BIO_free(b);
		return k;
	}
	return NULL;
}

vg_rc vg_tuf_keyid(const json_t *key, char id[65])
{
	char *c = NULL;
	size_t n = 0;
	uint8_t h[32];
	unsigned int hl = 0;
	vg_rc rc = vg_canonical_json(key, &c, &n);

	if (rc != VG_OK)
		return rc;
	rc = EVP_Digest(c, n, h, &hl, EVP_sha256(), NULL) == 1 ? VG_OK : VG_ERR_CRYPTO;
	free(c);
	if (rc == VG_OK)
		vg_hex_encode(h, 32, id);
	return rc;
}

void vg_tuf_format_time(time_t t, char out[21])
{
	struct tm tm;

	/* TUF's form has 4-digit years: clamp to what it can say. */
	if (t < 0)
		t = 0;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		memcpy(out, "9999-12-31T23:59:59Z", 21);
}

json_t *vg_tuf_meta_new(const char *type, uint64_t version, time_t expires)
{
	char exp[21];

	vg_tuf_format_time(expires, exp);
	return json_pack("{s:{s:s, s:s, s:I, s:s}, s:[]}", "signed", "_type", type,
			 "spec_version", VG_TUF_SPEC_VERSION, "version", (json_int_t)version,
			 "expires", exp, "signatures");
}

json_t *vg_tuf_fileinfo(const uint8_t *p, size_t n, uint64_t version)
{
	uint8_t h[32];
	unsigned int hl = 0;
	char hex[65];
	json_t *o;

	if (EVP_Digest(p, n, h, &hl, EVP_sha256(), NULL) != 1)
		return NULL;
	vg_hex_encode(h, 32, hex);
	o = json_pack("{s:I, s:{s:s}}", "length", (json_int_t)n, "hashes", "sha256", hex);
	if (o && version && json_object_set_new(o, "version", json_integer((json_int_t)version)))
		json_decref(o), o = NULL;
	return o;
}

vg_rc vg_tuf_sign(json_t *doc, EVP_PKEY *priv, const char *keyid)
{
	json_t *sigs = json_object_get(doc, "signatures"), *s;
	const char *md = EVP_PKEY_is_a(priv, "ED25519") ? NULL : "SHA256";
	uint8_t sig[160];
	char hex[2 * sizeof sig + 1];
	size_t sl = sizeof sig, clen = 0, i;
	char *c = NULL;
	EVP_MD_CTX *ctx;
	vg_rc rc;

	if (!json_is_array(sigs))
		return VG_ERR_INVALID;
	rc = vg_canonical_json(json_object_get(doc, "signed"), &c, &clen);
	if (rc != VG_OK)
		return rc;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, priv, NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &sl, (const uint8_t *)c, clen) != 1)
		rc = VG_ERR_CRYPTO;
	EVP_MD_CTX_free(ctx);
	free(c);
	if (rc != VG_OK)
		return rc;
	vg_hex_encode(sig, sl, hex);
	json_array_foreach(sigs, i, s) {
		const char *k = json_string_value(json_object_get(s, "keyid"));
		if (k && strcmp(k, keyid) == 0) {
			(void)json_array_remove(sigs, i);
			break;
		}
	}
	return json_array_append_new(sigs, json_pack("{s:s, s:s}", "keyid", keyid, "sig", hex)) ==
		       0
		   ? VG_OK
		   : VG_ERR_NOMEM;
}

vg_rc vg_tuf_dump(const json_t *doc, char **out, size_t *len)
{
	*out = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!*out)
		return VG_ERR_NOMEM;
	*len = strlen(*out);
	return VG_OK;
}

/* ---- a repository in a directory ---- */


static const char *const role_names[VG_TUF_ROLES] = {"root", "timestamp", "snapshot", "targets"};
static const unsigned default_days[VG_TUF_ROLES] = {365, 1, 7, 90};

#define rfail(why, rc, ...) vg_why(why, VG_TUF_WHY_LEN, rc, __VA_ARGS__)

static vg_rc rpath(char out[4096], const char *dir, const char *sub, const char *name)
{
	return (size_t)snprintf(out, 4096, "%s/%s%s%s", dir, sub, name ? "/" : "", name ? name : "") <
			   4096
		       ? VG_OK
		       : VG_ERR_TOO_LARGE;
}

static json_t *load_json(const char *dir, const char *sub, const char *name)
{
	char p[4096];
	json_error_t e;

	if (rpath(p, dir, sub, name) != VG_OK)
		return NULL;
	return json_load_file(p, JSON_REJECT_DUPLICATES, &e);
}

static vg_rc save_json(const char *dir, const char *sub, const char *name, const json_t *doc,
		       char *why)
{
	char p[4096], *txt = NULL;
	size_t len = 0;
	vg_rc rc = rpath(p, dir, sub, name);

	if (rc == VG_OK)
		rc = vg_tuf_dump(doc, &txt, &len);
	if (rc == VG_OK)
		rc = vg_write_file_atomic(p, txt, len, 0644);
	free(txt);
	return rc == VG_OK ? VG_OK : rfail(why, rc, "cannot write %s", p);
}

static uint64_t ver(const json_t *doc)
{
	return (uint64_t)json_integer_value(json_object_get(json_object_get(doc, "signed"), "version"));
}

static void set_expiry(json_t *doc, unsigned days)
{
	char exp[21];

	vg_tuf_format_time(time(NULL) + (time_t)days * 86400, exp);
	(void)json_object_set_new(json_object_get(doc, "signed"), "expires", json_string(exp));
}

static void new_version(json_t *doc, uint64_t v, unsigned days)
{
	json_t *s = json_object_get(doc, "signed");

	(void)json_object_set_new(s, "version", json_integer((json_int_t)v));
	set_expiry(doc, days);
	(void)json_array_clear(json_object_get(doc, "signatures"));
}

static vg_rc key_and_id(EVP_PKEY *k, json_t **key, char id[65])
{
	*key = vg_tuf_key_new(k);
	if (!*key)
		return VG_ERR_UNSUPPORTED;
	if (vg_tuf_keyid(*key, id) != VG_OK) {
		json_decref(*key);
		*key = NULL;
		return VG_ERR_CRYPTO;
	}
	return VG_OK;
}

vg_rc vg_tuf_repo_init(const char *dir, const vg_tuf_repo_init_opts *o, char *why)
{
	char p[4096];
	json_t *root = NULL, *targets = NULL, *keys, *roles;
	vg_rc rc = VG_OK;

	if (rpath(p, dir, "metadata", NULL) != VG_OK)
		return VG_ERR_TOO_LARGE;
	if (access(p, F_OK) == 0)
		return rfail(why, VG_ERR_EXISTS, "%s is already a repository", dir);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return rfail(why, VG_ERR_IO, "cannot create %s", dir);
	for (const char *sub = "metadata"; sub; sub = strcmp(sub, "metadata") == 0 ? "targets"
					       : strcmp(sub, "targets") == 0 ? "staged" : NULL) {
		if (rpath(p, dir, sub, NULL) != VG_OK || (mkdir(p, 0755) != 0 && errno != EEXIST))
			return rfail(why, VG_ERR_IO, "cannot create %s", p);
	}
	root = vg_tuf_meta_new("root", 1,
			       time(NULL) + (time_t)(o->expires_days[0] ? o->expires_days[0] : 365) *
						    86400);
	keys = json_object();
	roles = json_object();
	if (!root || !keys || !roles) {
		json_decref(root);
		json_decref(keys);
		json_decref(roles);
		return VG_ERR_NOMEM;
	}
	for (int r = 0; r < VG_TUF_ROLES && rc == VG_OK; r++) {
		json_t *ids = json_array();
		if (o->n_keys[r] == 0)
			rc = rfail(why, VG_ERR_INVALID, "no %s key", role_names[r]);
		for (size_t i = 0; rc == VG_OK && i < o->n_keys[r]; i++) {
			json_t *key;
			char id[65];
			rc = key_and_id(o->keys[r][i], &key, id);
			if (rc != VG_OK) {
				rfail(why, rc, "%s key %zu: only Ed25519 and P-256", role_names[r], i);
				break;
			}
			(void)json_object_set_new(keys, id, key);
			(void)json_array_append_new(ids, json_string(id));
		}
		if (rc == VG_OK && o->threshold[r] > o->n_keys[r])
			rc = rfail(why, VG_ERR_INVALID, "%s threshold above its number of keys",
				   role_names[r]);
		(void)json_object_set_new(
		    roles, role_names[r],
		    json_pack("{s:o, s:I}", "keyids", ids, "threshold",
			      (json_int_t)(o->threshold[r] ? o->threshold[r] : 1)));
	}
	(void)json_object_set_new(json_object_get(root, "signed"), "keys", keys);
	(void)json_object_set_new(json_object_get(root, "signed"), "roles", roles);
	(void)json_object_set_new(json_object_get(root, "signed"), "consistent_snapshot",
				  json_true());
	if (rc == VG_OK)
		rc = save_json(dir, "staged", "root.json", root, why);
	if (rc == VG_OK) {
		targets = vg_tuf_meta_new(
		    "targets", 1,
		    time(NULL) + (time_t)(o->expires_days[3] ? o->expires_days[3] : 90) * 86400);
		if (!targets)
			rc = VG_ERR_NOMEM;
		else
			(void)json_object_set_new(json_object_get(targets, "signed"), "targets",
						  json_object());
	}
	if (rc == VG_OK)
		rc = save_json(dir, "staged", "targets.json", targets, why);
	json_decref(root);
	json_decref(targets);
	return rc;
}

/* The published targets version (0: none yet), from the timestamp. */
static uint64_t published_targets_version(const char *dir)
{
	json_t *ts = load_json(dir, "metadata", "timestamp.json"), *sn;
	uint64_t sv, tv = 0;
	char name[64];

	if (!ts)
		return 0;
	sv = (uint64_t)json_integer_value(json_object_get(
	    json_object_get(json_object_get(json_object_get(ts, "signed"), "meta"), "snapshot.json"),
	    "version"));
	json_decref(ts);
	(void)snprintf(name, sizeof name, "%" PRIu64 ".snapshot.json", sv);
	sn = load_json(dir, "metadata", name);
	if (sn)
		tv = (uint64_t)json_integer_value(json_object_get(
		    json_object_get(json_object_get(json_object_get(sn, "signed"), "meta"),
				    "targets.json"),
		    "version"));
	json_decref(sn);
	return tv;
}

static bool target_name_ok(const char *n)
{
	size_t l = strlen(n);

	if (l == 0 || l > 200 || n[0] == '/' || n[l - 1] == '/' || strstr(n, "//"))
		return false;
	for (const char *s = n; *s;) {
		size_t seg = strcspn(s, "/");
		if ((seg == 1 && s[0] == '.') || (seg == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += seg;
		if (*s)
			s++;
	}
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)n[i] < 0x21 || n[i] == 0x7f || n[i] == '\\')
			return false;
	return true;
}

static vg_rc copy_file(const char *from, const char *to)
{
	uint8_t buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	vg_rc rc = VG_OK;

	if (in < 0)
		return VG_ERR_IO;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		(void)close(in);
		return VG_ERR_IO;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = VG_ERR_IO;
		if (n <= 0)
			break;
		rc = vg_write_all(out, buf, (size_t)n);
		if (rc != VG_OK)
			break;
	}
	if (rc == VG_OK && fsync(out) != 0)
		rc = VG_ERR_IO;
	(void)close(in);
	if (close(out) != 0)
		rc = VG_ERR_IO;
	return rc;
}

/* The directories a file path needs. */
static vg_rc mkdirs_for(const char *file)
{
	char p[4096];
	char *slash;

	if (strlen(file) >= sizeof p)
		return VG_ERR_TOO_LARGE;
	strcpy(p, file);
	slash = strrchr(p, '/');
	if (!slash || slash == p)
		return VG_OK;
	*slash = '\0';
	return vg_mkdirs(p, 0755);
}

vg_rc vg_tuf_repo_add(const char *dir, const char *name, const char *src, char *why)
{
	json_t *t = load_json(dir, "staged", "targets.json"), *info;
	uint64_t size = 0, pub = published_targets_version(dir);
	uint8_t h[32];
	char hex[65], dest[4096], rel[700], mwhy[VG_MEASURE_WHY_LEN] = "";
	const char *slash;
	vg_rc rc;

	if (!t)
		return rfail(why, VG_ERR_NOT_FOUND, "%s: no staged targets (repo init first)", dir);
	if (!target_name_ok(name)) {
		json_decref(t);
		return rfail(why, VG_ERR_INVALID, "target name '%s': a relative path, no . or ..",
			     name);
	}
	rc = vg_measure_size(src, &size, mwhy);
	if (rc == VG_OK)
		rc = vg_measure_sha256(src, size, h, mwhy);
	if (rc != VG_OK) {
		json_decref(t);
		return rfail(why, rc, "%s", mwhy);
	}
	vg_hex_encode(h, 32, hex);
	slash = strrchr(name, '/');
	(void)snprintf(rel, sizeof rel, "%.*s%s.%s", slash ? (int)(slash - name + 1) : 0, name, hex,
		       slash ? slash + 1 : name);
	rc = rpath(dest, dir, "targets", rel);
	if (rc == VG_OK)
		rc = mkdirs_for(dest);
	if (rc == VG_OK)
		rc = copy_file(src, dest);
	if (rc != VG_OK) {
		json_decref(t);
		return rfail(why, rc, "cannot copy %s into %s", src, dest);
	}
	info = json_pack("{s:I, s:{s:s}}", "length", (json_int_t)size, "hashes", "sha256", hex);
	(void)json_object_set_new(json_object_get(json_object_get(t, "signed"), "targets"), name,
				  info);
	/* A change: the next version, unsigned until `repo sign`. */
	if (ver(t) <= pub)
		new_version(t, pub + 1, 90);
	else
		(void)json_array_clear(json_object_get(t, "signatures"));
	rc = save_json(dir, "staged", "targets.json", t, why);
	json_decref(t);
	return rc;
}

vg_rc vg_tuf_repo_sign(const char *dir, const char *role, EVP_PKEY *priv, char *why)
{
	char name[64], id[65];
	json_t *doc, *key;
	vg_rc rc;

	if (strcmp(role, "root") != 0 && strcmp(role, "targets") != 0)
		return rfail(why, VG_ERR_INVALID, "staged roles are root and targets");
	(void)snprintf(name, sizeof name, "%s.json", role);
	doc = load_json(dir, "staged", name);
	if (!doc)
		return rfail(why, VG_ERR_NOT_FOUND, "no staged %s", name);
	rc = key_and_id(priv, &key, id);
	if (rc == VG_OK) {
		json_decref(key);
		rc = vg_tuf_sign(doc, priv, id);
	}
	if (rc == VG_OK)
		rc = save_json(dir, "staged", name, doc, why);
	else
		rfail(why, rc, "cannot sign %s with that key", name);
	json_decref(doc);
	return rc;
}

vg_rc vg_tuf_repo_root_key(const char *dir, const char *role, EVP_PKEY *add,
			   const char *remove_keyid, unsigned threshold, unsigned expires_days,
			   char *why)
{
	json_t *pub = load_json(dir, "metadata", "root.json"), *st = load_json(dir, "staged", "root.json");
	json_t *doc, *s, *r, *ids;
	vg_rc rc = VG_OK;
	int idx = -1;

	for (int i = 0; i < VG_TUF_ROLES; i++)
		if (strcmp(role, role_names[i]) == 0)
			idx = i;
	if (idx < 0 || !pub) {
		json_decref(pub);
		json_decref(st);
		return rfail(why, VG_ERR_INVALID, idx < 0 ? "unknown role %s" : "%s: publish a root first",
			     idx < 0 ? role : dir);
	}
	/* Edit the staged next root if there is one, else start it. */
	if (st && ver(st) > ver(pub)) {
		doc = st;
		json_decref(pub);
		(void)json_array_clear(json_object_get(doc, "signatures"));
	} else {
		json_decref(st);
		doc = json_deep_copy(pub);
		new_version(doc, ver(pub) + 1, expires_days ? expires_days : default_days[0]);
		json_decref(pub);
	}
	if (expires_days)
		set_expiry(doc, expires_days);
	s = json_object_get(doc, "signed");
	r = json_object_get(json_object_get(s, "roles"), role);
	ids = json_object_get(r, "keyids");
	if (add) {
		json_t *key;
		char id[65];
		rc = key_and_id(add, &key, id);
		if (rc == VG_OK) {
			(void)json_object_set_new(json_object_get(s, "keys"), id, key);
			bool have = false;
			size_t i;
			json_t *v;
			json_array_foreach(ids, i, v) have |= strcmp(json_string_value(v), id) == 0;
			if (!have)
				(void)json_array_append_new(ids, json_string(id));
		}
	}
	if (rc == VG_OK && remove_keyid) {
		size_t i;
		json_t *v;
		bool found = false;
		json_array_foreach(ids, i, v) {
			if (strcmp(json_string_value(v), remove_keyid) == 0) {
				(void)json_array_remove(ids, i);
				found = true;
				break;
			}
		}
		if (!found)
			rc = rfail(why, VG_ERR_NOT_FOUND, "%s has no key %s", role, remove_keyid);
	}
	if (rc == VG_OK && threshold)
		(void)json_object_set_new(r, "threshold", json_integer(threshold));
	if (rc == VG_OK &&
	    (json_array_size(ids) == 0 ||
	     (size_t)json_integer_value(json_object_get(r, "threshold")) > json_array_size(ids)))
		rc = rfail(why, VG_ERR_INVALID, "%s would have fewer keys than its threshold", role);
	if (rc == VG_OK) {
		/* Keys no role uses any more leave the root. */
		const char *k;
		json_t *v, *tmp;
		json_object_foreach_safe(json_object_get(s, "keys"), tmp, k, v) {
			bool used = false;
			for (int i = 0; i < VG_TUF_ROLES && !used; i++) {
				size_t j;
				json_t *w;
				json_array_foreach(json_object_get(json_object_get(json_object_get(s, "roles"),
											 role_names[i]),
								   "keyids"),
						   j, w) used |= strcmp(json_string_value(w), k) == 0;
			}
			if (!used)
				(void)json_object_del(json_object_get(s, "keys"), k);
		}
		rc = save_json(dir, "staged", "root.json", doc, why);
	}
	json_decref(doc);
	return rc;
}

/* Signs and writes a new snapshot or timestamp with a key of that role. */
static vg_rc issue(const char *dir, const json_t *root, const char *role, EVP_PKEY *k,
		   json_t *doc, const char *file, char *why)
{
	json_t *key;
	char id[65];
	bool listed = false;
	size_t i;
	json_t *v;
	vg_rc rc = key_and_id(k, &key, id);

	if (rc != VG_OK)
		return rfail(why, rc, "%s key: only Ed25519 and P-256", role);
	json_decref(key);
	json_array_foreach(json_object_get(json_object_get(json_object_get(json_object_get(root, "signed"),
										"roles"),
						    role),
				  "keyids"),
			   i, v) listed |= strcmp(json_string_value(v), id) == 0;
	if (!listed)
		return rfail(why, VG_ERR_DENIED, "that key is not a %s key of the root", role);
	rc = vg_tuf_sign(doc, k, id);
	return rc == VG_OK ? save_json(dir, "metadata", file, doc, why) : rc;
}

/* Publishing happens in a copy: DIR/.publish.XXXXXX/metadata gets the
 * current files and the new ones, is checked as a client would, and only
 * then are the new files renamed into DIR/metadata (the timestamp last,
 * so a client never sees it name a snapshot that is not there yet). */
static void work_remove(const char *work)
{
	char p[4096];
	DIR *d;
	struct dirent *e;

	(void)snprintf(p, sizeof p, "%s/metadata", work);
	d = opendir(p);
	while (d && (e = readdir(d))) {
		char f[4096 + 256];
		if (e->d_name[0] == '.')
			continue;
		(void)snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		(void)unlink(f);
	}
	if (d)
		(void)closedir(d);
	(void)rmdir(p);
	(void)rmdir(work);
}

static vg_rc work_begin(const char *dir, char work[2048])
{
	char from[4096], to[4096];
	DIR *d;
	struct dirent *e;
	vg_rc rc = VG_OK;

	if ((size_t)snprintf(work, 2048, "%s/.publish.XXXXXX", dir) >= 2048 || !mkdtemp(work))
		return VG_ERR_IO;
	(void)snprintf(to, sizeof to, "%s/metadata", work);
	if (mkdir(to, 0755) != 0) {
		(void)rmdir(work);
		return VG_ERR_IO;
	}
	if (rpath(from, dir, "metadata", NULL) != VG_OK || !(d = opendir(from))) {
		work_remove(work);
		return VG_ERR_IO;
	}
	while (rc == VG_OK && (e = readdir(d))) {
		char a[4096 + 256], b[4096 + 256];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		(void)snprintf(a, sizeof a, "%s/%s", from, e->d_name);
		(void)snprintf(b, sizeof b, "%s/%s", to, e->d_name);
		if (lstat(a, &st) == 0 && S_ISREG(st.st_mode))
			rc = copy_file(a, b);
	}
	(void)closedir(d);
	if (rc != VG_OK)
		work_remove(work);
	return rc;
}

static vg_rc work_commit(const char *dir, const char *work)
{
	char from[4096], to[4096];
	DIR *d;
	struct dirent *e;
	vg_rc rc = VG_OK;

	(void)snprintf(from, sizeof from, "%s/metadata", work);
	if (rpath(to, dir, "metadata", NULL) != VG_OK)
		return VG_ERR_TOO_LARGE;
	/* Pass 0: everything else; pass 1: root.json; pass 2: timestamp.json. */
	for (int pass = 0; pass < 3 && rc == VG_OK; pass++) {
		d = opendir(from);
		if (!d)
			return VG_ERR_IO;
		while (rc == VG_OK && (e = readdir(d))) {
			char a[4096 + 256], b[4096 + 256];
			int which = strcmp(e->d_name, "root.json") == 0 ? 1
				    : strcmp(e->d_name, "timestamp.json") == 0 ? 2
									       : 0;
			if (e->d_name[0] == '.' || which != pass)
				continue;
			(void)snprintf(a, sizeof a, "%s/%s", from, e->d_name);
			(void)snprintf(b, sizeof b, "%s/%s", to, e->d_name);
			if (rename(a, b) != 0)
				rc = VG_ERR_IO;
		}
		(void)closedir(d);
	}
	{
		char any[4096 + 16];
		(void)snprintf(any, sizeof any, "%s/timestamp.json", to);
		if (rc == VG_OK && vg_fsync_dir_of(any) != VG_OK)
			rc = VG_ERR_IO;
	}
	work_remove(work);
	return rc;
}

/* Reads the published repository back as a client that trusts 1.root.json. */
static vg_rc self_check(const char *dir, char *why)
{
	char tmpl[2048], p[4096], mdir[4096];
	const char *tmp = getenv("TMPDIR");
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_tuf_updater *u = NULL;
	vg_rc rc;

	(void)snprintf(tmpl, sizeof tmpl, "%s/voxguard-repo-check.XXXXXX",
		       tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return VG_ERR_IO;
	rc = rpath(p, dir, "metadata", "1.root.json");
	if (rc == VG_OK)
		rc = vg_read_file(p, VG_TUF_ROOT_MAX, &buf, &len);
	if (rc == VG_OK) {
		(void)snprintf(p, sizeof p, "%s/root.json", tmpl);
		rc = vg_write_file_atomic(p, buf, len, 0600);
	}
	free(buf);
	if (rc == VG_OK)
		rc = rpath(mdir, dir, "metadata", NULL);
	if (rc == VG_OK)
		rc = vg_tuf_updater_open(&u, tmpl, mdir, why);
	if (rc == VG_OK)
		rc = vg_tuf_refresh(u, why);
	vg_tuf_updater_close(&u);
	for (const char *f = "root.json"; f; f = strcmp(f, "root.json") == 0 ? "timestamp.json"
				     : strcmp(f, "timestamp.json") == 0 ? "snapshot.json"
				     : strcmp(f, "snapshot.json") == 0 ? "targets.json"
									   : NULL) {
		(void)snprintf(p, sizeof p, "%s/%s", tmpl, f);
		(void)unlink(p);
	}
	(void)rmdir(tmpl);
	if (rc != VG_OK) {
		char w[VG_TUF_WHY_LEN];
		(void)snprintf(w, sizeof w, "the published repository does not verify: %.200s", why);
		memcpy(why, w, sizeof w);
	}
	return rc;
}

/* The last step of publish and expire: a new timestamp into the work copy,
 * the copy read back as a client, then moved in (or dropped). rc is the
 * outcome so far; work exists only when rc is VG_OK. */
static vg_rc timestamp_and_commit(const char *dir, const char *work, vg_rc rc, json_t *root,
				  EVP_PKEY *timestamp_key, json_t *ts, char *why)
{
	if (rc == VG_OK)
		rc = issue(work, root, "timestamp", timestamp_key, ts, "timestamp.json", why);
	if (rc == VG_OK)
		rc = self_check(work, why);
	if (rc == VG_OK)
		return work_commit(dir, work);
	work_remove(work);
	return rc;
}

vg_rc vg_tuf_repo_publish(const char *dir, EVP_PKEY *snapshot_key, EVP_PKEY *timestamp_key,
			  unsigned snapshot_days, unsigned timestamp_days, char *why)
{
	json_t *root = load_json(dir, "metadata", "root.json"), *st = load_json(dir, "staged", "root.json");
	json_t *tg = load_json(dir, "staged", "targets.json"), *sn = NULL, *ts = NULL, *old_ts;
	uint64_t tver = published_targets_version(dir), sver = 0, tsver = 0;
	char name[64], *txt = NULL;
	size_t len = 0;
	char work[2048];
	vg_rc rc = work_begin(dir, work);

	if (rc != VG_OK) {
		json_decref(root);
		json_decref(st);
		json_decref(tg);
		return rfail(why, rc, "%s: cannot prepare the publication", dir);
	}
	/* 1. A newer staged root: signed by the old root's keys and its own. */
	if (st && (!root || ver(st) > ver(root))) {
		vg_tuf_set *set = NULL;
		char *a = NULL, *b = NULL;
		size_t al = 0, bl = 0;
		rc = vg_tuf_dump(st, &b, &bl);
		if (rc == VG_OK && root)
			rc = vg_tuf_dump(root, &a, &al);
		if (rc == VG_OK)
			rc = vg_tuf_set_new(&set, (const uint8_t *)(root ? a : b), root ? al : bl,
					    time(NULL), why);
		if (rc == VG_OK && root)
			rc = vg_tuf_update_root(set, (const uint8_t *)b, bl, why);
		vg_tuf_set_free(&set);
		free(a);
		free(b);
		if (rc == VG_OK) {
			(void)snprintf(name, sizeof name, "%" PRIu64 ".root.json", ver(st));
			rc = save_json(work, "metadata", name, st, why);
		}
		if (rc == VG_OK)
			rc = save_json(work, "metadata", "root.json", st, why);
		if (rc == VG_OK) {
			json_decref(root);
			root = json_incref(st);
		}
	}
	if (rc == VG_OK && !root)
		rc = rfail(why, VG_ERR_STATE, "no root published: sign staged/root.json first");
	/* 2. Newer staged targets, signed to the root's threshold. */
	if (rc == VG_OK && tg && ver(tg) > tver) {
		const json_t *rs = json_object_get(root, "signed");
		rc = vg_tuf_check_signed(tg, json_object_get(rs, "keys"),
					 json_object_get(json_object_get(rs, "roles"), "targets"),
					 "staged targets", why);
		if (rc == VG_OK) {
			tver = ver(tg);
			(void)snprintf(name, sizeof name, "%" PRIu64 ".targets.json", tver);
			rc = save_json(work, "metadata", name, tg, why);
		}
	}
	if (rc == VG_OK && tver == 0)
		rc = rfail(why, VG_ERR_STATE, "no targets metadata: sign staged/targets.json");
	/* 3. Snapshot and timestamp, one version up. */
	old_ts = load_json(dir, "metadata", "timestamp.json");
	if (old_ts) {
		tsver = ver(old_ts);
		sver = (uint64_t)json_integer_value(json_object_get(
		    json_object_get(json_object_get(json_object_get(old_ts, "signed"), "meta"),
				    "snapshot.json"),
		    "version"));
		json_decref(old_ts);
	}
	if (rc == VG_OK) {
		sn = vg_tuf_meta_new("snapshot", sver + 1,
				     time(NULL) + (time_t)(snapshot_days ? snapshot_days : 7) * 86400);
		if (!sn)
			rc = VG_ERR_NOMEM;
		else
			(void)json_object_set_new(json_object_get(sn, "signed"), "meta",
						  json_pack("{s:{s:I}}", "targets.json", "version",
							    (json_int_t)tver));
		(void)snprintf(name, sizeof name, "%" PRIu64 ".snapshot.json", sver + 1);
	}
	if (rc == VG_OK)
		rc = issue(work, root, "snapshot", snapshot_key, sn, name, why);
	if (rc == VG_OK)
		rc = vg_tuf_dump(sn, &txt, &len);
	if (rc == VG_OK) {
		ts = vg_tuf_meta_new("timestamp", tsver + 1,
				     time(NULL) +
					 (time_t)(timestamp_days ? timestamp_days : 1) * 86400);
		if (!ts)
			rc = VG_ERR_NOMEM;
		else
			(void)json_object_set_new(
			    json_object_get(ts, "signed"), "meta",
			    json_pack("{s:o}", "snapshot.json",
				      vg_tuf_fileinfo((const uint8_t *)txt, len, sver + 1)));
	}
	rc = timestamp_and_commit(dir, work, rc, root, timestamp_key, ts, why);
	free(txt);
	json_decref(root);
	json_decref(st);
	json_decref(tg);
	json_decref(sn);
	json_decref(ts);
	return rc;
}

vg_rc vg_tuf_repo_expire(const char *dir, EVP_PKEY *timestamp_key, unsigned timestamp_days,
			 char *why)
{
	json_t *root = load_json(dir, "metadata", "root.json"),
	       *ts = load_json(dir, "metadata", "timestamp.json");
	char work[2048];
	vg_rc rc;

	if (!root || !ts) {
		json_decref(root);
		json_decref(ts);
		return rfail(why, VG_ERR_STATE, "%s: nothing published yet", dir);
	}
	new_version(ts, ver(ts) + 1, timestamp_days ? timestamp_days : 1);
	rc = work_begin(dir, work);
	if (rc == VG_OK)
		rc = timestamp_and_commit(dir, work, rc, root, timestamp_key, ts, why);
	json_decref(root);
	json_decref(ts);
	return rc;
}
