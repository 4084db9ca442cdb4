/*
 * test_update_tuf.c - the TUF update client (src/update/tuf.h,
 * src/update/tuf_client.h) against a real repository on the file system,
 * written with src/update/tuf_repo.h.
 *
 * SFR 4.2.6 (secure update) and AVS 1.1 (signed updates): every attack of
 * the TUF specification (section 1.5.2) that a repository or a mirror can
 * mount is tried on the client and must be refused, each next to a control
 * that shows the same steps succeed without the attack:
 * arbitrary software, rollback, indefinite freeze, endless data,
 * mix-and-match, wrong threshold, compromised keys (rotation), fast-forward
 * recovery, extraneous targets of delegated roles.
 *
 * Fixture: Ed25519 keys for root, timestamp, snapshot and targets,
 * consistent snapshots, DIR/repo/metadata/{N.root, timestamp, N.snapshot,
 * N.targets, N.ROLE}.json, DIR/repo/targets/[SUBDIR/]SHA256.NAME; the
 * client's metadata dir DIR/client starts with root.json = 1.root.json;
 * targets are downloaded to DIR/out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/canonjson.h"
#include "helpers.h"
#include "update/tuf.h"
#include "update/tuf_client.h"
#include "update/tuf_repo.h"

#define DAY       ((time_t)86400)
#define HELLO     "hello, voxguard\n"
#define HELLO_BAD "HELLO, VOXGUARD\n" /* same length, other bytes */

enum { R_ROOT, R_TS, R_SNAP, R_TGT, R_N };
static const char *const role_names[R_N] = {"root", "timestamp", "snapshot", "targets"};

/* K_X0 .. K_X0 + 9: spare keys for threshold and rotation sequences. */
enum { K_ROOT, K_ROOT2, K_TS, K_TS2, K_SNAP, K_TGT, K_TGT2, K_DEL, K_DEL2, K_X0, K_N = K_X0 + 10 };

typedef struct tkey {
	EVP_PKEY *pk;
	json_t *pub; /* the TUF key object */
	char id[65];
} tkey;

typedef struct fx {
	char dir[64];
	char meta[VGT_PATH], tdir[VGT_PATH], client[VGT_PATH], out[VGT_PATH];
	tkey k[K_N];
	time_t now;
	int keys[R_N][8]; /* the root's role keys (K_*), -1 terminated */
	uint64_t threshold[R_N];
	int signers[R_N][8]; /* who signs what publish() writes, -1 terminated */
	bool plain;          /* no consistent snapshots: ROLE.json, targets/NAME */
	bool dup_sig[R_N];   /* list the first signature twice */
	time_t exp_root, exp_ts, exp_snap, exp_tgt;
	json_t *targets;              /* path -> TargetFile of the top-level targets */
	json_t *delegations;          /* the top-level targets' delegations, or NULL */
	json_t *snap_extra;           /* ROLE.json -> MetaFile of the delegated roles */
	json_t *tgt_info, *snap_info; /* MetaFiles of what publish() wrote last */
	vg_tuf_updater *u;
	char why[VG_TUF_WHY_LEN];
} fx;

/* ---- repository side ---- */

/* dir/name, which must fit. */
static void join(char out[VGT_PATH], const char *dir, const char *name)
{
	int r = snprintf(out, VGT_PATH, "%s/%s", dir, name);

	assert_true(r > 0 && r < VGT_PATH);
}

static void set(json_t *o, const char *k, json_t *v)
{
	assert_non_null(v);
	assert_int_equal(json_object_set_new(o, k, v), 0);
}

static void keygen(tkey *k)
{
	k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k->pk);
	k->pub = vg_tuf_key_new(k->pk);
	assert_non_null(k->pub);
	assert_int_equal(vg_tuf_keyid(k->pub, k->id), VG_OK);
	assert_int_equal(strlen(k->id), 64);
}

/* The root gives role the keys a and b (-1: none) and threshold; the
 * same keys sign what publish() writes for it. */
static void role_keys(fx *f, int role, uint64_t threshold, int a, int b)
{
	f->keys[role][0] = f->signers[role][0] = a;
	f->keys[role][1] = f->signers[role][1] = b;
	f->keys[role][2] = f->signers[role][2] = -1;
	f->threshold[role] = threshold;
}

static void signers(fx *f, int role, int a, int b)
{
	f->signers[role][0] = a;
	f->signers[role][1] = b;
	f->signers[role][2] = -1;
}

/* The root gives role the keys (K_*, -1 terminated) and threshold; sigs
 * (K_*, -1 terminated) sign what publish() writes for it. */
static void role_set(fx *f, int role, uint64_t threshold, const int *keys, const int *sigs)
{
	size_t i;

	for (i = 0; keys[i] >= 0; i++) {
		assert_true(i + 1 < VG_ARRAY_LEN(f->keys[role]));
		f->keys[role][i] = keys[i];
	}
	f->keys[role][i] = -1;
	for (i = 0; sigs[i] >= 0; i++) {
		assert_true(i + 1 < VG_ARRAY_LEN(f->signers[role]));
		f->signers[role][i] = sigs[i];
	}
	f->signers[role][i] = -1;
	f->threshold[role] = threshold;
}

/* K_X0 + rel[i] for each rel[i] (-1 terminated) into out. */
static const int *spare(int out[8], const int *rel)
{
	size_t i;

	for (i = 0; rel[i] >= 0; i++) {
		assert_true(i + 1 < 8 && rel[i] < 10);
		out[i] = K_X0 + rel[i];
	}
	out[i] = -1;
	return out;
}

static const char *vname(char buf[128], uint64_t v, const char *role)
{
	(void)snprintf(buf, 128, "%" PRIu64 ".%s.json", v, role);
	return buf;
}

/* The repository's file name of a targets, snapshot or delegated role's
 * version v: V.QUOTED.json, or QUOTED.json without consistent snapshots. */
static const char *mname(const fx *f, char buf[128], uint64_t v, const char *role)
{
	char q[96];

	assert_int_equal(vg_tuf_quote(role, q, sizeof q), VG_OK);
	if (!f->plain)
		return vname(buf, v, q);
	(void)snprintf(buf, 128, "%s.json", q);
	return buf;
}

static uint64_t version_of(const json_t *doc)
{
	return (uint64_t)json_integer_value(
	    json_object_get(json_object_get(doc, "signed"), "version"));
}

static json_t *mk_meta(const char *type, uint64_t v, time_t exp)
{
	json_t *d = vg_tuf_meta_new(type, v, exp);

	assert_non_null(d);
	return d;
}

static json_t *mk_root(fx *f, uint64_t v, time_t exp)
{
	json_t *d = mk_meta("root", v, exp), *s = json_object_get(d, "signed");
	json_t *keys = json_object(), *roles = json_object();

	for (int r = 0; r < R_N; r++) {
		json_t *ids = json_array();
		for (int i = 0; f->keys[r][i] >= 0; i++) {
			const tkey *k = &f->k[f->keys[r][i]];
			set(keys, k->id, json_deep_copy(k->pub));
			assert_int_equal(json_array_append_new(ids, json_string(k->id)), 0);
		}
		set(roles, role_names[r],
		    json_pack("{s:o, s:I}", "keyids", ids, "threshold",
			      (json_int_t)f->threshold[r]));
	}
	set(s, "keys", keys);
	set(s, "roles", roles);
	set(s, "consistent_snapshot", json_boolean(!f->plain));
	return d;
}

/* map and deleg are borrowed. */
static json_t *mk_targets(uint64_t v, time_t exp, json_t *map, json_t *deleg)
{
	json_t *d = mk_meta("targets", v, exp), *s = json_object_get(d, "signed");

	set(s, "targets", map ? json_incref(map) : json_object());
	if (deleg)
		set(s, "delegations", json_incref(deleg));
	return d;
}

static json_t *mk_snapshot(uint64_t v, time_t exp, json_t *meta)
{
	json_t *d = mk_meta("snapshot", v, exp);

	set(json_object_get(d, "signed"), "meta", json_incref(meta));
	return d;
}

static json_t *mk_timestamp(uint64_t v, time_t exp, json_t *snap_info)
{
	json_t *d = mk_meta("timestamp", v, exp);

	set(json_object_get(d, "signed"), "meta", json_pack("{s:O}", "snapshot.json", snap_info));
	return d;
}

static void sign_with(fx *f, json_t *doc, const int *ks, bool dup)
{
	json_t *sigs = json_object_get(doc, "signatures");

	for (; *ks >= 0; ks++)
		assert_int_equal(vg_tuf_sign(doc, f->k[*ks].pk, f->k[*ks].id), VG_OK);
	if (dup) {
		assert_true(json_array_size(sigs) > 0);
		assert_int_equal(
		    json_array_append_new(sigs, json_deep_copy(json_array_get(sigs, 0))), 0);
	}
}

/* Writes doc (consumed) to REPO/metadata/name; returns its MetaFile
 * (version, length, sha256). */
static json_t *put_doc(fx *f, const char *name, json_t *doc)
{
	char path[VGT_PATH], *bytes = NULL;
	size_t n = 0;
	json_t *info;

	assert_int_equal(vg_tuf_dump(doc, &bytes, &n), VG_OK);
	join(path, f->meta, name);
	assert_int_equal(vgt_write(path, bytes, n, 0644), 0);
	info = vg_tuf_fileinfo((const uint8_t *)bytes, n, version_of(doc));
	assert_non_null(info);
	free(bytes);
	json_decref(doc);
	return info;
}

/* put_doc, signed by the K_* keys that follow (-1 ends the list). */
static json_t *put_signed(fx *f, const char *name, json_t *doc, ...)
{
	int ks[8], n = 0, k;
	va_list ap;

	va_start(ap, doc);
	while ((k = va_arg(ap, int)) >= 0 && n < 7)
		ks[n++] = k;
	va_end(ap);
	ks[n] = -1;
	sign_with(f, doc, ks, false);
	return put_doc(f, name, doc);
}

/* put_doc, signed by role's signers. */
static json_t *put_role(fx *f, const char *name, json_t *doc, int role)
{
	sign_with(f, doc, f->signers[role], f->dup_sig[role]);
	return put_doc(f, name, doc);
}

/* N.targets.json (f->targets, f->delegations), N.snapshot.json (targets
 * and f->snap_extra) and timestamp.json, each signed by its signers. */
static void publish(fx *f, uint64_t tv, uint64_t sv, uint64_t tsv)
{
	char name[128];
	json_t *meta;

	json_decref(f->tgt_info);
	json_decref(f->snap_info);
	f->tgt_info = put_role(f, mname(f, name, tv, "targets"),
			       mk_targets(tv, f->exp_tgt, f->targets, f->delegations), R_TGT);
	meta = json_deep_copy(f->snap_extra);
	set(meta, "targets.json", json_incref(f->tgt_info));
	f->snap_info =
	    put_role(f, mname(f, name, sv, "snapshot"), mk_snapshot(sv, f->exp_snap, meta), R_SNAP);
	json_decref(meta);
	json_decref(
	    put_role(f, "timestamp.json", mk_timestamp(tsv, f->exp_ts, f->snap_info), R_TS));
}

/* mkdir -p of the directory part of rel under base. */
static void mkdirs(const char *base, const char *rel)
{
	char p[VGT_PATH];

	for (const char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
		int r = snprintf(p, sizeof p, "%s/%.*s", base, (int)(s - rel), rel);
		assert_true(r > 0 && r < (int)sizeof p);
		assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	}
}

/* REPO/targets/[DIR/]HASH.NAME of a target (consistent snapshots: its
 * sha256, else its first hash), or REPO/targets/PATH without them. */
static void target_file(const fx *f, const char *path, const json_t *info, char out[VGT_PATH])
{
	const json_t *hashes = json_object_get(info, "hashes");
	const char *sha = json_string_value(json_object_get(hashes, "sha256"));
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path + 1) : 0, r;

	if (!sha)
		sha = json_string_value(json_object_iter_value(json_object_iter((json_t *)hashes)));
	assert_non_null(sha);
	r = f->plain ? snprintf(out, VGT_PATH, "%s/%s", f->tdir, path)
		     : snprintf(out, VGT_PATH, "%s/%.*s%s.%s", f->tdir, dl, path, sha, path + dl);
	assert_true(r > 0 && r < VGT_PATH);
}

/* Lists path in map and writes its content to the repository. */
static void add_target(fx *f, json_t *map, const char *path, const char *content)
{
	size_t n = strlen(content);
	json_t *info = vg_tuf_fileinfo((const uint8_t *)content, n, 0);
	char p[VGT_PATH];

	assert_non_null(info);
	target_file(f, path, info, p);
	mkdirs(f->tdir, path);
	assert_int_equal(vgt_write(p, content, n, 0644), 0);
	set(map, path, info);
}

/* *deleg (created if NULL) delegates to name (key, threshold 1) the
 * paths or path_hash_prefixes (field) [pattern]. */
static void add_delegation_to(fx *f, json_t **deleg, const char *name, int key, bool terminating,
			      const char *field, const char *pattern)
{
	if (!*deleg)
		*deleg = json_pack("{s:{}, s:[]}", "keys", "roles");
	assert_non_null(*deleg);
	set(json_object_get(*deleg, "keys"), f->k[key].id, json_deep_copy(f->k[key].pub));
	assert_int_equal(
	    json_array_append_new(json_object_get(*deleg, "roles"),
				  json_pack("{s:s, s:[s], s:i, s:b, s:[s]}", "name", name, "keyids",
					    f->k[key].id, "threshold", 1, "terminating",
					    terminating, field, pattern)),
	    0);
}

/* The top-level targets delegate (add_delegation_to). */
static void add_delegation(fx *f, const char *name, int key, bool terminating, const char *field,
			   const char *pattern)
{
	add_delegation_to(f, &f->delegations, name, key, terminating, field, pattern);
}

/* Role name's version v listing map and delegating deleg (borrowed, may be
 * NULL), expiring at exp, signed by key, listed in the next snapshot. */
static void publish_role(fx *f, const char *name, uint64_t v, time_t exp, json_t *map,
			 json_t *deleg, int key)
{
	char fname[128], sname[300];

	(void)snprintf(sname, sizeof sname, "%s.json", name);
	set(f->snap_extra, sname,
	    put_signed(f, mname(f, fname, v, name), mk_targets(v, exp, map, deleg), key, -1));
}

/* V.NAME.json listing map, signed by key, listed in the next snapshot. */
static void publish_delegated(fx *f, const char *name, uint64_t v, json_t *map, int key)
{
	publish_role(f, name, v, f->exp_tgt, map, NULL, key);
}

/* 1.root.json from the role configuration, signed by K_ROOT, and the
 * client's trusted root.json as a copy of it. */
static void init_root(fx *f)
{
	char from[VGT_PATH], to[VGT_PATH];

	json_decref(put_signed(f, "1.root.json", mk_root(f, 1, f->exp_root), K_ROOT, -1));
	join(from, f->meta, "1.root.json");
	join(to, f->client, "root.json");
	assert_int_equal(vgt_copy(from, to), 0);
}

static void hex_sha256(const char *s, char out[65])
{
	uint8_t h[32];
	unsigned int l = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), h, &l, EVP_sha256(), NULL), 1);
	vg_hex_encode(h, 32, out);
}

/* ---- client side ---- */

/* A fresh updater (a new update run) and its refresh. */
static vg_rc refresh(fx *f)
{
	vg_rc rc;

	vg_tuf_updater_close(&f->u);
	f->why[0] = '\0';
	assert_int_equal(vg_tuf_updater_open(&f->u, f->client, f->meta, f->why), VG_OK);
	rc = vg_tuf_refresh(f->u, f->why);
	if (rc != VG_OK)
		print_message("  refresh: %s: %s\n", vg_rc_str(rc), f->why);
	return rc;
}

static vg_rc find(fx *f, const char *path, const json_t **info)
{
	vg_rc rc;

	*info = (const json_t *)f; /* must be reset */
	f->why[0] = '\0';
	rc = vg_tuf_find_target(f->u, path, info, f->why);
	if (rc != VG_OK) {
		print_message("  find %s: %s: %s\n", path, vg_rc_str(rc), f->why);
		assert_null(*info);
	} else {
		assert_non_null(*info);
	}
	return rc;
}

static vg_rc download(fx *f, const char *path, const json_t *info, char out_path[4096])
{
	vg_rc rc;

	f->why[0] = '\0';
	rc = vg_tuf_download_target(f->u, path, info, f->tdir, f->out, out_path, f->why);
	if (rc != VG_OK)
		print_message("  download %s: %s: %s\n", path, vg_rc_str(rc), f->why);
	return rc;
}

/* The version of DIR/client/name; 0 if there is no such file. */
static uint64_t client_version(const fx *f, const char *name)
{
	char p[VGT_PATH];
	json_t *doc;
	uint64_t v;

	join(p, f->client, name);
	doc = json_load_file(p, 0, NULL);
	if (!doc)
		return 0;
	v = version_of(doc);
	json_decref(doc);
	return v;
}

static bool client_has(const fx *f, const char *name)
{
	char p[VGT_PATH];

	join(p, f->client, name);
	return vgt_exists(p);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A client that has only its trusted root.json (or nothing at all), and
 * an empty download directory. */
static void client_reset(fx *f, bool keep_root)
{
	const char *dirs[] = {f->client, f->out};

	vg_tuf_updater_close(&f->u);
	for (size_t i = 0; i < VG_ARRAY_LEN(dirs); i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		char p[VGT_PATH];

		assert_non_null(d);
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			    (keep_root && i == 0 && strcmp(e->d_name, "root.json") == 0))
				continue;
			join(p, dirs[i], e->d_name);
			assert_int_equal(unlink(p), 0);
		}
		closedir(d);
	}
}

static void assert_file(const char *path, const char *content)
{
	uint8_t *b = NULL;
	size_t n = 0;

	assert_int_equal(vgt_read(path, &b, &n), 0);
	assert_int_equal(n, strlen(content));
	assert_memory_equal(b, content, n);
	free(b);
}

static void read_bytes(const char *dir, const char *name, uint8_t **b, size_t *n)
{
	char p[VGT_PATH];

	join(p, dir, name);
	assert_int_equal(vgt_read(p, b, n), 0);
}

static void write_bytes(const char *dir, const char *name, const void *b, size_t n)
{
	char p[VGT_PATH];

	join(p, dir, name);
	assert_int_equal(vgt_write(p, b, n, 0644), 0);
}

/* Finds path and downloads it; its content must be content. */
static void fetch_ok(fx *f, const char *path, const char *content)
{
	const json_t *info = NULL;
	char out[4096], q[VGT_PATH], want[VGT_PATH];

	assert_int_equal(find(f, path, &info), VG_OK);
	assert_int_equal(download(f, path, info, out), VG_OK);
	assert_int_equal(vg_tuf_quote(path, q, sizeof q), VG_OK);
	join(want, f->out, q);
	assert_string_equal(out, want);
	assert_file(out, content);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	char repo[VGT_PATH];

	if (!f || vgt_mkdtemp(f->dir) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	join(repo, f->dir, "repo");
	join(f->meta, repo, "metadata");
	join(f->tdir, repo, "targets");
	join(f->client, f->dir, "client");
	join(f->out, f->dir, "out");
	if (mkdir(repo, 0755) != 0 || mkdir(f->meta, 0755) != 0 || mkdir(f->tdir, 0755) != 0 ||
	    mkdir(f->client, 0755) != 0 || mkdir(f->out, 0755) != 0)
		return -1;
	for (int i = 0; i < K_N; i++)
		keygen(&f->k[i]);
	f->now = time(NULL);
	f->exp_root = f->now + 365 * DAY;
	f->exp_ts = f->exp_snap = f->exp_tgt = f->now + 7 * DAY;
	role_keys(f, R_ROOT, 1, K_ROOT, -1);
	role_keys(f, R_TS, 1, K_TS, -1);
	role_keys(f, R_SNAP, 1, K_SNAP, -1);
	role_keys(f, R_TGT, 1, K_TGT, -1);
	f->targets = json_object();
	f->snap_extra = json_object();
	add_target(f, f->targets, "hello.txt", HELLO);
	init_root(f);
	publish(f, 1, 1, 1);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (!f)
		return 0;
	vg_tuf_updater_close(&f->u);
	vgt_rmrf(f->dir);
	for (int i = 0; i < K_N; i++) {
		EVP_PKEY_free(f->k[i].pk);
		json_decref(f->k[i].pub);
	}
	json_decref(f->targets);
	json_decref(f->delegations);
	json_decref(f->snap_extra);
	json_decref(f->tgt_info);
	json_decref(f->snap_info);
	free(f);
	return 0;
}

/* ---- the client workflow ---- */

/* SFR 4.2.6, AVS 1.1: refresh, find and download; the accepted metadata
 * is kept; a target already downloaded is not fetched again, but only
 * while its length and hashes still match */
static void test_sfr426_tuf_happy_path_refresh_find_download(void **state)
{
	fx *f = *state;
	const json_t *info = NULL;
	char out[4096], p[VGT_PATH];

	add_target(f, f->targets, "dir/sub/file.bin", "a nested target\n");
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 1);
	assert_int_equal(client_version(f, "timestamp.json"), 1);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	assert_int_equal(client_version(f, "targets.json"), 1);
	assert_int_equal(vg_tuf_root_version(vg_tuf_updater_set(f->u)), 1);
	assert_true(vg_tuf_consistent_snapshot(vg_tuf_updater_set(f->u)));

	assert_int_equal(find(f, "hello.txt", &info), VG_OK);
	assert_int_equal(json_integer_value(json_object_get(info, "length")), strlen(HELLO));
	assert_int_equal(download(f, "hello.txt", info, out), VG_OK);
	join(p, f->out, "hello.txt");
	assert_string_equal(out, p);
	assert_file(p, HELLO);
	/* a path with directories: REPO/targets/dir/sub/SHA.file.bin, saved
	 * under its quoted name */
	fetch_ok(f, "dir/sub/file.bin", "a nested target\n");
	join(p, f->out, "dir%2Fsub%2Ffile.bin");
	assert_true(vgt_exists(p));
	assert_int_equal(find(f, "nope.txt", &info), VG_ERR_NOT_FOUND);
	assert_int_equal(count_entries(f->out), 2);

	/* the repository's copy is gone: the downloaded one is used */
	assert_int_equal(find(f, "hello.txt", &info), VG_OK);
	target_file(f, "hello.txt", info, p);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(download(f, "hello.txt", info, out), VG_OK);
	assert_file(out, HELLO);

	/* a new update run on unchanged metadata (same timestamp version) */
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "hello.txt", &info), VG_OK);
	assert_int_equal(download(f, "hello.txt", info, out), VG_OK);
	assert_file(out, HELLO);

	/* the cached copy is checked: once changed, it is fetched again,
	 * which now fails, and the changed copy is not passed off as good */
	assert_int_equal(vgt_pwrite(out, 0, "J", 1), 0);
	assert_int_equal(download(f, "hello.txt", info, out), VG_ERR_NOT_FOUND);
}

/* SFR 4.2.6 (arbitrary software attack): a target replaced by other bytes
 * of the same length is refused and nothing is written */
static void test_sfr426_tuf_arbitrary_software_replaced_target(void **state)
{
	fx *f = *state;
	const json_t *info = NULL;
	char out[4096], p[VGT_PATH];

	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "hello.txt", &info), VG_OK);
	target_file(f, "hello.txt", info, p);
	assert_int_equal(strlen(HELLO_BAD), strlen(HELLO));
	assert_int_equal(vgt_write(p, HELLO_BAD, strlen(HELLO_BAD), 0644), 0);
	assert_int_equal(download(f, "hello.txt", info, out), VG_ERR_INTEGRITY);
	assert_int_equal(count_entries(f->out), 0);

	/* control: the genuine bytes */
	assert_int_equal(vgt_write(p, HELLO, strlen(HELLO), 0644), 0);
	assert_int_equal(download(f, "hello.txt", info, out), VG_OK);
	assert_file(out, HELLO);
	assert_int_equal(count_entries(f->out), 1);
}

/* SFR 4.2.6 (endless data attack on a target): bytes beyond the listed
 * length are not accepted and nothing is written */
static void test_sfr426_tuf_endless_data_target_longer_than_listed(void **state)
{
	fx *f = *state;
	const json_t *info = NULL;
	char out[4096], p[VGT_PATH];
	vg_rc rc;

	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "hello.txt", &info), VG_OK);
	target_file(f, "hello.txt", info, p);
	assert_int_equal(vgt_write(p, HELLO "and more", strlen(HELLO) + 8, 0644), 0);
	rc = download(f, "hello.txt", info, out);
	assert_true(rc == VG_ERR_TOO_LARGE || rc == VG_ERR_INTEGRITY);
	assert_int_equal(count_entries(f->out), 0);
	/* one byte short is not accepted either */
	assert_int_equal(vgt_write(p, HELLO, strlen(HELLO) - 1, 0644), 0);
	assert_int_equal(download(f, "hello.txt", info, out), VG_ERR_INTEGRITY);
	assert_int_equal(count_entries(f->out), 0);
}

/* SFR 4.2.6 (rollback attack): an older, validly signed timestamp is
 * refused after a newer one was accepted; the trusted one stays */
static void test_sfr426_tuf_rollback_timestamp_older_version(void **state)
{
	fx *f = *state;
	uint8_t *ts1 = NULL, *ts2 = NULL, *now = NULL;
	size_t n1 = 0, n2 = 0, nn = 0;

	read_bytes(f->meta, "timestamp.json", &ts1, &n1);
	assert_int_equal(refresh(f), VG_OK);
	publish(f, 2, 2, 2);
	read_bytes(f->meta, "timestamp.json", &ts2, &n2);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "timestamp.json"), 2);

	write_bytes(f->meta, "timestamp.json", ts1, n1);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	read_bytes(f->client, "timestamp.json", &now, &nn);
	assert_int_equal(nn, n2);
	assert_memory_equal(now, ts2, n2);
	free(ts1);
	free(ts2);
	free(now);
}

/* SFR 4.2.6 (rollback attack): a new timestamp that names an older
 * snapshot version is refused */
static void test_sfr426_tuf_rollback_timestamp_names_older_snapshot(void **state)
{
	fx *f = *state;
	json_t *snap1 = json_incref(f->snap_info);

	assert_int_equal(refresh(f), VG_OK);
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);

	json_decref(put_role(f, "timestamp.json", mk_timestamp(3, f->exp_ts, snap1), R_TS));
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "timestamp.json"), 2);
	/* control: version 3 naming snapshot 2 is fine */
	json_decref(put_role(f, "timestamp.json", mk_timestamp(3, f->exp_ts, f->snap_info), R_TS));
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "timestamp.json"), 3);
	json_decref(snap1);
}

/* SFR 4.2.6 (rollback attack): a new snapshot may neither drop the
 * targets metadata nor give it an older version */
static void test_sfr426_tuf_rollback_snapshot_drops_or_lowers_targets(void **state)
{
	fx *f = *state;
	json_t *tgt1 = json_incref(f->tgt_info), *meta, *si;
	char name[128];

	assert_int_equal(refresh(f), VG_OK);
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "targets.json"), 2);

	/* snapshot 3 lists targets.json version 1 (validly signed) */
	meta = json_pack("{s:O}", "targets.json", tgt1);
	si = put_role(f, vname(name, 3, "snapshot"), mk_snapshot(3, f->exp_snap, meta), R_SNAP);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(3, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "snapshot.json"), 2);

	/* snapshot 4 does not list targets.json at all */
	meta = json_object();
	si = put_role(f, vname(name, 4, "snapshot"), mk_snapshot(4, f->exp_snap, meta), R_SNAP);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(4, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "snapshot.json"), 2);

	/* control: snapshot 5 with targets.json version 2 */
	meta = json_pack("{s:O}", "targets.json", f->tgt_info);
	si = put_role(f, vname(name, 5, "snapshot"), mk_snapshot(5, f->exp_snap, meta), R_SNAP);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(5, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 5);
	json_decref(tgt1);
}

/* SFR 4.2.6 (indefinite freeze attack): an expired timestamp, validly
 * signed, ends the refresh */
static void test_sfr426_tuf_freeze_expired_timestamp(void **state)
{
	fx *f = *state;

	assert_int_equal(refresh(f), VG_OK);
	f->exp_ts = f->now - 3600;
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	/* and a later run does not get past it either */
	assert_int_equal(refresh(f), VG_ERR_STATE);
	/* control: a fresh one */
	f->exp_ts = f->now + DAY;
	publish(f, 3, 3, 3);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 3);
}

/* SFR 4.2.6 (indefinite freeze attack): an expired snapshot */
static void test_sfr426_tuf_freeze_expired_snapshot(void **state)
{
	fx *f = *state;

	assert_int_equal(refresh(f), VG_OK);
	f->exp_snap = f->now - 3600;
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	assert_int_equal(client_version(f, "targets.json"), 1);
	f->exp_snap = f->now + DAY;
	publish(f, 3, 3, 3);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "targets.json"), 3);
}

/* SFR 4.2.6 (indefinite freeze attack): expired targets */
static void test_sfr426_tuf_freeze_expired_targets(void **state)
{
	fx *f = *state;
	const json_t *info = NULL;

	f->exp_tgt = f->now - 3600;
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_false(client_has(f, "targets.json"));
	assert_int_equal(find(f, "hello.txt", &info), VG_ERR_STATE);
	f->exp_tgt = f->now + DAY;
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "hello.txt", HELLO);
}

/* SFR 4.2.6 (indefinite freeze attack): the final root must not be
 * expired; an expired trusted root that a newer one replaces is fine (a
 * device that slept past its root's expiry) */
static void test_sfr426_tuf_freeze_expired_final_root(void **state)
{
	fx *f = *state;
	char name[128];

	/* the trusted root has expired and nothing replaces it */
	f->exp_root = f->now - 3600;
	init_root(f);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_false(client_has(f, "timestamp.json"));
	/* a fresh root version 2 */
	f->exp_root = f->now + DAY;
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, -1));
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 2);
	/* an expired root version 3 */
	json_decref(put_signed(f, vname(name, 3, "root"), mk_root(f, 3, f->now - 60), K_ROOT, -1));
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_int_equal(client_version(f, "timestamp.json"), 1);
}

/* SFR 4.2.6 (endless data attack): timestamp.json is read up to
 * VG_TUF_TIMESTAMP_MAX bytes, not one more */
static void test_sfr426_tuf_endless_data_timestamp_too_large(void **state)
{
	fx *f = *state;
	uint8_t *ts = NULL, *big;
	size_t n = 0;

	read_bytes(f->meta, "timestamp.json", &ts, &n);
	assert_true(n < VG_TUF_TIMESTAMP_MAX);
	big = malloc(VG_TUF_TIMESTAMP_MAX + 1);
	assert_non_null(big);
	memcpy(big, ts, n);
	memset(big + n, ' ', VG_TUF_TIMESTAMP_MAX + 1 - n);
	write_bytes(f->meta, "timestamp.json", big, VG_TUF_TIMESTAMP_MAX + 1);
	assert_int_equal(refresh(f), VG_ERR_TOO_LARGE);
	assert_false(client_has(f, "timestamp.json"));
	/* control: exactly the limit (JSON with trailing spaces) */
	write_bytes(f->meta, "timestamp.json", big, VG_TUF_TIMESTAMP_MAX);
	assert_int_equal(refresh(f), VG_OK);
	free(big);
	free(ts);
}

/* SFR 4.2.6 (endless data attack): the snapshot is read up to the length
 * the timestamp gives; other bytes of that length fail the hash */
static void test_sfr426_tuf_endless_data_snapshot_longer_than_listed(void **state)
{
	fx *f = *state;
	uint8_t *s = NULL, *big;
	size_t n = 0;

	read_bytes(f->meta, "1.snapshot.json", &s, &n);
	assert_int_equal(json_integer_value(json_object_get(f->snap_info, "length")), n);
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, s, n);
	memset(big + n, ' ', 64);
	write_bytes(f->meta, "1.snapshot.json", big, n + 64);
	assert_int_equal(refresh(f), VG_ERR_TOO_LARGE);
	assert_false(client_has(f, "snapshot.json"));
	/* the same length, other bytes, still valid JSON: one indenting
	 * space moved to the end */
	{
		uint8_t *nl = memmem(s, n, "\n ", 2);
		size_t at;
		assert_non_null(nl);
		at = (size_t)(nl - s) + 1;
		memcpy(big, s, at);
		memcpy(big + at, s + at + 1, n - at - 1);
		big[n - 1] = ' ';
		assert_memory_not_equal(big, s, n);
	}
	write_bytes(f->meta, "1.snapshot.json", big, n);
	assert_int_equal(refresh(f), VG_ERR_INTEGRITY);
	assert_false(client_has(f, "snapshot.json"));
	/* control */
	write_bytes(f->meta, "1.snapshot.json", s, n);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	free(big);
	free(s);
}

/* SFR 4.2.6 (mix-and-match attack): a snapshot or targets file whose
 * version is not the one the metadata above names is refused, even when
 * its bytes are the ones listed */
static void test_sfr426_tuf_mix_and_match_versions(void **state)
{
	fx *f = *state;
	json_t *meta, *si, *ti;
	char name[128];

	/* 3.snapshot.json holds a validly signed snapshot version 2 */
	meta = json_pack("{s:O}", "targets.json", f->tgt_info);
	si = put_role(f, vname(name, 3, "snapshot"), mk_snapshot(2, f->exp_snap, meta), R_SNAP);
	json_decref(meta);
	set(si, "version", json_integer(3));
	json_decref(put_role(f, "timestamp.json", mk_timestamp(2, f->exp_ts, si), R_TS));
	json_decref(si);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_false(client_has(f, "snapshot.json"));

	/* 3.targets.json holds a validly signed targets version 2 */
	ti = put_role(f, vname(name, 3, "targets"), mk_targets(2, f->exp_tgt, f->targets, NULL),
		      R_TGT);
	set(ti, "version", json_integer(3));
	meta = json_pack("{s:O}", "targets.json", ti);
	si = put_role(f, vname(name, 4, "snapshot"), mk_snapshot(4, f->exp_snap, meta), R_SNAP);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(3, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	json_decref(ti);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_false(client_has(f, "targets.json"));

	/* control */
	publish(f, 3, 5, 4);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "targets.json"), 3);
}

/* SFR 4.2.6, AVS 1.1 (wrong threshold): targets needs 2 of its 2 keys;
 * one key, a key of another role, or one key's signature listed twice is
 * not enough */
static void test_sfr426_tuf_wrong_threshold(void **state)
{
	fx *f = *state;

	role_keys(f, R_TGT, 2, K_TGT, K_TGT2);
	init_root(f);
	signers(f, R_TGT, K_TGT, -1);
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_ERR_VERIFY_FAILED);
	assert_false(client_has(f, "targets.json"));

	signers(f, R_TGT, K_TGT, K_SNAP);
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_ERR_VERIFY_FAILED);

	signers(f, R_TGT, K_TGT2, -1);
	f->dup_sig[R_TGT] = true; /* [K_TGT2, K_TGT2] */
	publish(f, 3, 3, 3);
	assert_int_equal(refresh(f), VG_ERR_INVALID);
	assert_false(client_has(f, "targets.json"));

	/* control: both keys */
	f->dup_sig[R_TGT] = false;
	signers(f, R_TGT, K_TGT, K_TGT2);
	publish(f, 4, 4, 4);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "targets.json"), 4);
}

/* SFR 4.2.6 (wrong threshold): the same signature twice is refused as
 * such, before any counting (threshold 2 of 2 would otherwise be met by
 * one key) */
static void test_sfr426_tuf_duplicate_signature_refused(void **state)
{
	fx *f = *state;
	vg_tuf_set *s = NULL;
	json_t *doc;
	char *bytes = NULL, why[VG_TUF_WHY_LEN];
	size_t bl = 0;

	/* a root whose own role needs 2 signatures, given K_ROOT's twice */
	role_keys(f, R_ROOT, 2, K_ROOT, K_ROOT2);
	doc = mk_root(f, 1, f->exp_root);
	sign_with(f, doc, (const int[]){K_ROOT, -1}, true);
	assert_int_equal(vg_tuf_dump(doc, &bytes, &bl), VG_OK);
	assert_int_equal(vg_tuf_set_new(&s, (const uint8_t *)bytes, bl, f->now, why),
			 VG_ERR_INVALID);
	assert_null(s);
	free(bytes);
	/* control: K_ROOT and K_ROOT2 */
	assert_int_equal(vg_tuf_sign(doc, f->k[K_ROOT2].pk, f->k[K_ROOT2].id), VG_OK);
	assert_int_equal(json_array_remove(json_object_get(doc, "signatures"), 1), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "signatures")), 2);
	assert_int_equal(vg_tuf_dump(doc, &bytes, &bl), VG_OK);
	assert_int_equal(vg_tuf_set_new(&s, (const uint8_t *)bytes, bl, f->now, why), VG_OK);
	vg_tuf_set_free(&s);
	assert_null(s);
	vg_tuf_set_free(&s); /* NULL-safe */
	free(bytes);
	json_decref(doc);
}

/* SFR 4.2.6 (compromised key): root version 2 replaces the timestamp key,
 * signed by the old and the new root key; the old timestamp key no longer
 * counts */
static void test_sfr426_tuf_key_rotation_replaces_compromised_timestamp_key(void **state)
{
	fx *f = *state;
	char name[128];

	assert_int_equal(refresh(f), VG_OK);
	role_keys(f, R_ROOT, 1, K_ROOT2, -1);
	role_keys(f, R_TS, 1, K_TS2, -1);
	json_decref(
	    put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, K_ROOT2, -1));
	/* the attacker still has the old timestamp key */
	signers(f, R_TS, K_TS, -1);
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_ERR_VERIFY_FAILED);
	assert_int_equal(client_version(f, "root.json"), 2);
	assert_int_equal(client_version(f, "timestamp.json"), 1);
	/* the new key */
	signers(f, R_TS, K_TS2, -1);
	publish(f, 3, 3, 3);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 2);
	assert_int_equal(client_version(f, "timestamp.json"), 3);
	assert_int_equal(vg_tuf_root_version(vg_tuf_updater_set(f->u)), 2);
	fetch_ok(f, "hello.txt", HELLO);
}

/* SFR 4.2.6 (compromised root key): a new root must be signed by the
 * trusted root's keys and by its own */
static void test_sfr426_tuf_root_rotation_needs_old_and_new_keys(void **state)
{
	fx *f = *state;
	char name[128];

	role_keys(f, R_ROOT, 1, K_ROOT2, -1);
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT2, -1));
	assert_int_equal(refresh(f), VG_ERR_VERIFY_FAILED);
	assert_int_equal(client_version(f, "root.json"), 1);
	assert_false(client_has(f, "timestamp.json"));

	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, -1));
	assert_int_equal(refresh(f), VG_ERR_VERIFY_FAILED);
	assert_int_equal(client_version(f, "root.json"), 1);

	json_decref(
	    put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, K_ROOT2, -1));
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 2);
}

/* SFR 4.2.6 (rollback of the root): N.root.json must be version N */
static void test_sfr426_tuf_root_rotation_version_must_match(void **state)
{
	fx *f = *state;
	char name[128];

	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 3, f->exp_root), K_ROOT, -1));
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "root.json"), 1);
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 1, f->exp_root), K_ROOT, -1));
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	/* control */
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, -1));
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 2);
}

/* The agent's sink: records what the rotation hands over, or refuses. */
typedef struct root_sink {
	uint64_t versions[8];
	size_t n;
	vg_rc answer;
} root_sink;

static vg_rc sink_cb(void *ctx, const uint8_t *root, size_t len, char *why)
{
	root_sink *k = ctx;
	json_t *doc = json_loadb((const char *)root, len, 0, NULL);

	assert_non_null(doc);
	assert_true(k->n < 8);
	k->versions[k->n++] = version_of(doc);
	json_decref(doc);
	if (k->answer != VG_OK)
		(void)snprintf(why, VG_TUF_WHY_LEN, "the keeper refused it");
	return k->answer;
}

/* SFR 4.2.6 (the trusted root kept in the service): the updater starts
 * from root bytes it was given, never reads or writes root.json, and hands
 * each rotation step to the keeper in order; the keeper's refusal stops
 * the refresh before any other role is trusted. */
static void test_sfr426_tuf_root_kept_by_the_service(void **state)
{
	fx *f = *state;
	char name[128], p[VGT_PATH];
	uint8_t *root = NULL;
	size_t len = 0;
	root_sink k = {.answer = VG_OK};

	join(p, f->client, "root.json");
	assert_int_equal(vg_read_file(p, VG_TUF_ROOT_MAX, &root, &len), VG_OK);
	assert_int_equal(unlink(p), 0);
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, -1));
	role_keys(f, R_ROOT, 1, K_ROOT2, -1);
	json_decref(
	    put_signed(f, vname(name, 3, "root"), mk_root(f, 3, f->exp_root), K_ROOT, K_ROOT2, -1));

	/* no keeper, no updater */
	assert_int_equal(vg_tuf_updater_open_root(&f->u, root, len, f->client, f->meta, NULL,
						  NULL, f->why),
			 VG_ERR_INVALID);
	assert_null(f->u);

	/* the keeper refuses the first step: nothing else is trusted */
	k.answer = VG_ERR_VERIFY_FAILED;
	assert_int_equal(vg_tuf_updater_open_root(&f->u, root, len, f->client, f->meta, sink_cb,
						  &k, f->why),
			 VG_OK);
	assert_int_equal(vg_tuf_refresh(f->u, f->why), VG_ERR_VERIFY_FAILED);
	assert_string_equal(f->why, "the keeper refused it");
	assert_int_equal(k.n, 1);
	assert_int_equal(k.versions[0], 2);
	assert_false(client_has(f, "timestamp.json"));
	vg_tuf_updater_close(&f->u);

	/* the keeper takes both steps, in order */
	k = (root_sink){.answer = VG_OK};
	assert_int_equal(vg_tuf_updater_open_root(&f->u, root, len, f->client, f->meta, sink_cb,
						  &k, f->why),
			 VG_OK);
	assert_int_equal(vg_tuf_refresh(f->u, f->why), VG_OK);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.versions[0], 2);
	assert_int_equal(k.versions[1], 3);
	assert_int_equal(vg_tuf_root_version(vg_tuf_updater_set(f->u)), 3);
	assert_true(client_has(f, "timestamp.json"));
	assert_false(client_has(f, "root.json"));
	vg_tuf_updater_close(&f->u);

	/* a root the keeper was given that does not verify is refused */
	root[len / 2] ^= 1;
	assert_int_not_equal(vg_tuf_updater_open_root(&f->u, root, len, f->client, f->meta,
						      sink_cb, &k, f->why),
			     VG_OK);
	assert_null(f->u);
	free(root);
}

/* SFR 4.2.6 (fast-forward attack recovery): a timestamp at version 100
 * blocks every lower version until the root rotates the timestamp key;
 * then the old local timestamp no longer verifies and version 1 signed by
 * the new key is accepted */
static void test_sfr426_tuf_fast_forward_attack_recovery(void **state)
{
	fx *f = *state;
	char name[128];

	publish(f, 1, 1, 100);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "timestamp.json"), 100);
	/* control: before the rotation, version 1 is a rollback */
	publish(f, 2, 2, 1);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "timestamp.json"), 100);

	role_keys(f, R_TS, 1, K_TS2, -1);
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, -1));
	publish(f, 3, 3, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 2);
	assert_int_equal(client_version(f, "timestamp.json"), 1);
	assert_int_equal(client_version(f, "targets.json"), 3);
	fetch_ok(f, "hello.txt", HELLO);
}

/* SFR 4.2.6 (extraneous targets of a delegated role): "delegated" gets
 * only a/ and lists b/y.txt too; that is not trusted, nor is a deeper
 * path that '*' does not cover */
static void test_sfr426_tuf_delegation_limits_paths(void **state)
{
	fx *f = *state;
	json_t *m = json_object();
	const json_t *info = NULL;

	add_target(f, m, "a/x.txt", "x in a\n");
	add_target(f, m, "b/y.txt", "y in b\n");
	add_target(f, m, "a/deep/z.txt", "z\n");
	add_delegation(f, "delegated", K_DEL, false, "paths", "a/*");
	publish_delegated(f, "delegated", 1, m, K_DEL);
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "a/x.txt", "x in a\n");
	assert_int_equal(client_version(f, "delegated.json"), 1);
	assert_int_equal(find(f, "b/y.txt", &info), VG_ERR_NOT_FOUND);
	assert_int_equal(find(f, "a/deep/z.txt", &info), VG_ERR_NOT_FOUND);
	/* the top-level targets still answer for their own */
	fetch_ok(f, "hello.txt", HELLO);
	json_decref(m);
}

/* SFR 4.2.6, AVS 1.1: a delegated role is verified with the key the
 * delegation gives, not the delegator's */
static void test_sfr426_tuf_delegation_wrong_key(void **state)
{
	fx *f = *state;
	json_t *m = json_object();
	const json_t *info = NULL;

	add_target(f, m, "a/x.txt", "x in a\n");
	add_delegation(f, "delegated", K_DEL, false, "paths", "a/*");
	publish_delegated(f, "delegated", 1, m, K_TGT);
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "a/x.txt", &info), VG_ERR_VERIFY_FAILED);
	assert_false(client_has(f, "delegated.json"));
	/* control */
	publish_delegated(f, "delegated", 2, m, K_DEL);
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "a/x.txt", "x in a\n");
	json_decref(m);
}

/* SFR 4.2.6: a terminating delegation that does not list the target ends
 * the search; a later delegation that has it is not consulted */
static void test_sfr426_tuf_delegation_terminating_stops_search(void **state)
{
	fx *f = *state;
	json_t *m1 = json_object(), *m2 = json_object();
	const json_t *info = NULL;

	add_target(f, m1, "a/other.txt", "other\n");
	add_target(f, m2, "a/x.txt", "x in a\n");
	add_delegation(f, "first", K_DEL, true, "paths", "a/*");
	add_delegation(f, "second", K_DEL2, false, "paths", "a/*");
	publish_delegated(f, "first", 1, m1, K_DEL);
	publish_delegated(f, "second", 1, m2, K_DEL2);
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "a/x.txt", &info), VG_ERR_NOT_FOUND);
	assert_true(client_has(f, "first.json"));
	assert_false(client_has(f, "second.json"));
	fetch_ok(f, "a/other.txt", "other\n");

	/* control: not terminating, the search goes on to "second" */
	set(json_array_get(json_object_get(f->delegations, "roles"), 0), "terminating",
	    json_false());
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "a/x.txt", "x in a\n");
	assert_true(client_has(f, "second.json"));
	json_decref(m1);
	json_decref(m2);
}

/* SFR 4.2.6: path_hash_prefixes delegations (hashed bins) trust a role
 * only for the paths whose SHA-256 starts with its prefixes */
static void test_sfr426_tuf_delegation_path_hash_prefixes(void **state)
{
	fx *f = *state;
	json_t *m1 = json_object(), *m2 = json_object();
	const json_t *info = NULL;
	char hx[65], hz[65], prefix[5], wrong[2];

	hex_sha256("a/x.txt", hx);
	hex_sha256("c/z.txt", hz);
	memcpy(prefix, hx, 4);
	prefix[4] = '\0';
	wrong[0] = hz[0] == '0' ? '1' : '0';
	wrong[1] = '\0';
	add_target(f, m1, "a/x.txt", "x in a\n");
	add_target(f, m2, "c/z.txt", "z in c\n");
	add_delegation(f, "hashed", K_DEL, false, "path_hash_prefixes", prefix);
	add_delegation(f, "wrongbin", K_DEL2, false, "path_hash_prefixes", wrong);
	publish_delegated(f, "hashed", 1, m1, K_DEL);
	publish_delegated(f, "wrongbin", 1, m2, K_DEL2);
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "a/x.txt", "x in a\n");
	assert_int_equal(find(f, "c/z.txt", &info), VG_ERR_NOT_FOUND);
	assert_false(client_has(f, "wrongbin.json"));
	json_decref(m1);
	json_decref(m2);
}

/* SFR 4.2.6: succinct hash bins (bit_length 2: bin-0 .. bin-3); a target
 * is only trusted from its own bin */
static void test_sfr426_tuf_delegation_succinct_bins(void **state)
{
	fx *f = *state;
	json_t *maps[4];
	const json_t *info = NULL;
	char hx[65], hz[65], role[32];
	unsigned bx, bz;

	hex_sha256("a/x.txt", hx);
	hex_sha256("c/z.txt", hz);
	bx = (unsigned)strtoul((char[]){hx[0], 0}, NULL, 16) >> 2;
	bz = (unsigned)strtoul((char[]){hz[0], 0}, NULL, 16) >> 2;
	for (int i = 0; i < 4; i++)
		maps[i] = json_object();
	add_target(f, maps[bx], "a/x.txt", "x in a\n");
	add_target(f, maps[bz ^ 1], "c/z.txt", "z in c\n");
	f->delegations = json_pack("{s:{s:O}, s:{s:[s], s:i, s:i, s:s}}", "keys", f->k[K_DEL].id,
				   f->k[K_DEL].pub, "succinct_roles", "keyids", f->k[K_DEL].id,
				   "threshold", 1, "bit_length", 2, "name_prefix", "bin");
	assert_non_null(f->delegations);
	for (int i = 0; i < 4; i++) {
		(void)snprintf(role, sizeof role, "bin-%x", i);
		publish_delegated(f, role, 1, maps[i], K_DEL);
	}
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "a/x.txt", "x in a\n");
	(void)snprintf(role, sizeof role, "bin-%x.json", bx);
	assert_true(client_has(f, role));
	assert_int_equal(find(f, "c/z.txt", &info), VG_ERR_NOT_FOUND);
	(void)snprintf(role, sizeof role, "bin-%x.json", bz ^ 1);
	if ((bz ^ 1) != bx)
		assert_false(client_has(f, role));
	for (int i = 0; i < 4; i++)
		json_decref(maps[i]);
}

/* SFR 4.2.6: a delegated role the snapshot does not list is not loaded */
static void test_sfr426_tuf_delegation_role_missing_from_snapshot(void **state)
{
	fx *f = *state;
	json_t *m = json_object(), *di;
	const json_t *info = NULL;

	add_target(f, m, "a/x.txt", "x in a\n");
	add_delegation(f, "delegated", K_DEL, false, "paths", "a/*");
	publish_delegated(f, "delegated", 1, m, K_DEL);
	di = json_incref(json_object_get(f->snap_extra, "delegated.json"));
	assert_int_equal(json_object_del(f->snap_extra, "delegated.json"), 0);
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_not_equal(find(f, "a/x.txt", &info), VG_OK);
	assert_false(client_has(f, "delegated.json"));
	/* control: listed */
	set(f->snap_extra, "delegated.json", di);
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "a/x.txt", "x in a\n");
	json_decref(m);
}

/* ---- the building blocks ---- */

/* SFR 4.2.6: names are quoted as python's quote(name, "") */
static void test_sfr426_tuf_quote(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(vg_tuf_quote("a/b c", out, sizeof out), VG_OK);
	assert_string_equal(out, "a%2Fb%20c");
	assert_int_equal(vg_tuf_quote("AZaz09-_.~", out, sizeof out), VG_OK);
	assert_string_equal(out, "AZaz09-_.~");
	assert_int_equal(vg_tuf_quote("../x%\xc3\xa9", out, sizeof out), VG_OK);
	assert_string_equal(out, "..%2Fx%25%C3%A9");
	assert_int_equal(vg_tuf_quote("", out, sizeof out), VG_OK);
	assert_string_equal(out, "");
	/* "a%2Fb%20c" is 9 bytes: 10 fit, 9 do not */
	assert_int_equal(vg_tuf_quote("a/b c", out, 10), VG_OK);
	assert_int_equal(vg_tuf_quote("a/b c", out, 9), VG_ERR_TOO_LARGE);
	assert_int_equal(vg_tuf_quote("a/b c", out, 1), VG_ERR_TOO_LARGE);
}

/* SFR 4.2.6 (freeze attack): expiry times are exactly
 * YYYY-MM-DDTHH:MM:SSZ */
static void test_sfr426_tuf_parse_time(void **state)
{
	static const char *const bad[] = {
	    "2026-05-01T12:34:56",  "2026-05-01t12:34:56Z",      "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z", "2026-05-00T00:00:00Z",      "2026-05-32T00:00:00Z",
	    "2026-05-01T24:00:00Z", "2026-05-01T12:60:00Z",      "2026-05-01T12:34:56Zx",
	    "2026-05-01T12:34:56z", "2026-05-01 12:34:56Z",      "2026-05-01T12:34:56.5Z",
	    "2026-5-01T12:34:56Z",  " 2026-05-01T12:34:56Z",     "+026-05-01T12:34:56Z",
	    "2026-05-01T12:34:5Z",  "2026-05-01T12:34:56+00:00", "",
	    "20260501T123456Z",     "2026-05-01T-1:34:56Z",
	    "2026-02-31T00:00:00Z", "2026-02-29T00:00:00Z",      "2026-04-31T00:00:00Z",
	    "9999-12-31T23:59:60Z", "1969-12-31T23:59:59Z",
	};
	char buf[21];
	time_t t = 12345;

	(void)state;
	assert_true(vg_tuf_parse_time("1970-01-01T00:00:00Z", &t));
	assert_int_equal(t, 0);
	assert_true(vg_tuf_parse_time("2000-01-01T00:00:00Z", &t));
	assert_int_equal(t, 946684800);
	assert_true(vg_tuf_parse_time("2038-01-19T03:14:08Z", &t));
	assert_int_equal(t, 2147483648LL);
	assert_true(vg_tuf_parse_time("2024-02-29T00:00:00Z", &t)); /* a leap day */
	assert_true(vg_tuf_parse_time("2099-12-31T23:59:59Z", &t));
	assert_int_equal(t, 4102444799LL);
	assert_true(vg_tuf_parse_time("2026-05-01T12:34:56Z", &t));
	vg_tuf_format_time(t, buf);
	assert_string_equal(buf, "2026-05-01T12:34:56Z");
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		t = 12345;
		if (vg_tuf_parse_time(bad[i], &t))
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_false(vg_tuf_parse_time(NULL, &t));
}

/* SFR 4.2.6, AVS 1.1: file info checks: length, every hash (sha256,
 * sha512), an unknown algorithm fails, required fields */
static void test_avs11_tuf_check_file(void **state)
{
	static const uint8_t data[] = "firmware";
	const size_t n = sizeof data - 1;
	uint8_t h[64];
	unsigned int hl = 0;
	char s256[65], s512[129], bad256[65], why[VG_TUF_WHY_LEN];
	json_t *i;

	(void)state;
	assert_int_equal(EVP_Digest(data, n, h, &hl, EVP_sha256(), NULL), 1);
	vg_hex_encode(h, 32, s256);
	assert_int_equal(EVP_Digest(data, n, h, &hl, EVP_sha512(), NULL), 1);
	vg_hex_encode(h, 64, s512);
	strcpy(bad256, s256);
	bad256[10] = bad256[10] == 'a' ? 'b' : 'a';

	i = json_pack("{s:I, s:{s:s}}", "length", (json_int_t)n, "hashes", "sha256", s256);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_OK);
	assert_int_equal(vg_tuf_check_file(i, data, n - 1, true, why), VG_ERR_INTEGRITY);
	json_decref(i);

	i = json_pack("{s:I, s:{s:s}}", "length", (json_int_t)n + 1, "hashes", "sha256", s256);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_ERR_INTEGRITY);
	json_decref(i);

	i = json_pack("{s:I, s:{s:s}}", "length", (json_int_t)n, "hashes", "sha256", bad256);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_ERR_INTEGRITY);
	json_decref(i);

	i = json_pack("{s:I, s:{s:s}}", "length", (json_int_t)n, "hashes", "sha512", s512);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_OK);
	json_decref(i);

	/* every hash must match */
	i = json_pack("{s:I, s:{s:s, s:s}}", "length", (json_int_t)n, "hashes", "sha256", s256,
		      "sha512", s256);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_ERR_INTEGRITY);
	json_decref(i);
	i = json_pack("{s:I, s:{s:s, s:s}}", "length", (json_int_t)n, "hashes", "sha256", s256,
		      "sha512", s512);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_OK);
	json_decref(i);

	/* unknown algorithm: refused, even next to a good one */
	i = json_pack("{s:I, s:{s:s}}", "length", (json_int_t)n, "hashes", "md5",
		      "d41d8cd98f00b204e9800998ecf8427e");
	assert_int_equal(vg_tuf_check_file(i, data, n, false, why), VG_ERR_UNSUPPORTED);
	json_decref(i);
	i = json_pack("{s:I, s:{s:s, s:s}}", "length", (json_int_t)n, "hashes", "sha256", s256,
		      "md5", "d41d8cd98f00b204e9800998ecf8427e");
	assert_int_not_equal(vg_tuf_check_file(i, data, n, true, why), VG_OK);
	json_decref(i);

	/* required: length and hashes; optional for metadata */
	i = json_pack("{s:{s:s}}", "hashes", "sha256", s256);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_ERR_INVALID);
	assert_int_equal(vg_tuf_check_file(i, data, n, false, why), VG_OK);
	json_decref(i);
	i = json_pack("{s:I}", "length", (json_int_t)n);
	assert_int_equal(vg_tuf_check_file(i, data, n, true, why), VG_ERR_INVALID);
	assert_int_equal(vg_tuf_check_file(i, data, n, false, why), VG_OK);
	assert_int_equal(vg_tuf_check_file(i, data, n + 1, false, why), VG_ERR_INTEGRITY);
	json_decref(i);
	assert_int_equal(vg_tuf_check_file(NULL, data, n, false, why), VG_ERR_INVALID);
}

/* AVS 1.1: the trusted set (no I/O) takes the roles in the workflow's
 * order only; a trusted root must carry its own threshold */
static void test_avs11_tuf_set_workflow_order(void **state)
{
	fx *f = *state;
	uint8_t *root = NULL, *ts = NULL, *snap = NULL, *tgt = NULL;
	size_t rl = 0, tsl = 0, sl = 0, tl = 0, n = 9;
	uint64_t v = 0, len = 0;
	vg_tuf_set *s = (vg_tuf_set *)f;
	vg_tuf_child kids[4];
	char why[VG_TUF_WHY_LEN];
	json_t *bad;
	char *bb = NULL;
	size_t bl = 0;

	read_bytes(f->meta, "1.root.json", &root, &rl);
	read_bytes(f->meta, "timestamp.json", &ts, &tsl);
	read_bytes(f->meta, "1.snapshot.json", &snap, &sl);
	read_bytes(f->meta, "1.targets.json", &tgt, &tl);

	assert_int_equal(vg_tuf_set_new(&s, (const uint8_t *)"{}", 2, f->now, why), VG_ERR_INVALID);
	assert_null(s);
	/* a root that its own root key did not sign */
	bad = mk_root(f, 1, f->exp_root);
	sign_with(f, bad, (const int[]){K_ROOT2, -1}, false);
	assert_int_equal(vg_tuf_dump(bad, &bb, &bl), VG_OK);
	assert_int_equal(vg_tuf_set_new(&s, (const uint8_t *)bb, bl, f->now, why),
			 VG_ERR_VERIFY_FAILED);
	assert_null(s);

	assert_int_equal(vg_tuf_set_new(&s, root, rl, f->now, why), VG_OK);
	assert_int_equal(vg_tuf_root_version(s), 1);
	assert_true(vg_tuf_have(s, "root"));
	assert_false(vg_tuf_have(s, "timestamp"));
	assert_int_equal(vg_tuf_update_snapshot(s, snap, sl, false, why), VG_ERR_STATE);
	assert_int_equal(vg_tuf_update_targets(s, "targets", "root", tgt, tl, why), VG_ERR_STATE);
	assert_int_equal(vg_tuf_snapshot_meta(s, &v, &len), VG_ERR_STATE);

	assert_int_equal(vg_tuf_update_timestamp(s, ts, tsl, why), VG_OK);
	assert_int_equal(vg_tuf_update_timestamp(s, ts, tsl, why), VG_ERR_EXISTS);
	assert_int_equal(vg_tuf_update_root(s, root, rl, why), VG_ERR_STATE);
	assert_int_equal(vg_tuf_update_targets(s, "targets", "root", tgt, tl, why), VG_ERR_STATE);
	assert_int_equal(vg_tuf_snapshot_meta(s, &v, &len), VG_OK);
	assert_int_equal(v, 1);
	assert_int_equal(len, sl);
	/* the snapshot's bytes, not others */
	assert_int_equal(vg_tuf_update_snapshot(s, tgt, tl, false, why), VG_ERR_INTEGRITY);
	assert_false(vg_tuf_have(s, "snapshot"));

	assert_int_equal(vg_tuf_update_snapshot(s, snap, sl, false, why), VG_OK);
	assert_int_equal(vg_tuf_role_meta(s, "targets", &v, &len), VG_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vg_tuf_role_meta(s, "nope", &v, &len), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_tuf_update_timestamp(s, ts, tsl, why), VG_ERR_STATE);
	assert_int_equal(vg_tuf_update_targets(s, "other", "root", tgt, tl, why), VG_ERR_INVALID);
	assert_int_equal(vg_tuf_update_targets(s, "targets", "root", snap, sl, why),
			 VG_ERR_INTEGRITY);
	assert_false(vg_tuf_have(s, "targets"));
	assert_int_equal(vg_tuf_children(s, "targets", "hello.txt", kids, 4, &n), VG_ERR_STATE);

	assert_int_equal(vg_tuf_update_targets(s, "targets", "root", tgt, tl, why), VG_OK);
	assert_true(vg_tuf_have(s, "targets"));
	assert_non_null(vg_tuf_target_info(s, "targets", "hello.txt"));
	assert_null(vg_tuf_target_info(s, "targets", "nope.txt"));
	assert_null(vg_tuf_target_info(s, "nope", "hello.txt"));
	assert_int_equal(vg_tuf_children(s, "targets", "hello.txt", kids, 4, &n), VG_OK);
	assert_int_equal(n, 0);

	vg_tuf_set_free(&s);
	assert_null(s);
	json_decref(bad);
	free(bb);
	free(root);
	free(ts);
	free(snap);
	free(tgt);
}

/* SFR 4.2.6: metadata of the wrong type or of an unsupported major
 * specification version, validly signed, is refused (a mirror serving a
 * snapshot as timestamp.json; a repository of TUF 2.x) */
static void test_sfr426_tuf_wrong_type_or_spec_version_refused(void **state)
{
	fx *f = *state;
	uint8_t *b = NULL;
	size_t n = 0;
	json_t *ts;

	read_bytes(f->meta, "1.snapshot.json", &b, &n);
	write_bytes(f->meta, "timestamp.json", b, n);
	free(b);
	assert_int_equal(refresh(f), VG_ERR_INVALID);
	assert_false(client_has(f, "timestamp.json"));

	ts = mk_timestamp(1, f->exp_ts, f->snap_info);
	set(json_object_get(ts, "signed"), "spec_version", json_string("2.0.0"));
	json_decref(put_role(f, "timestamp.json", ts, R_TS));
	assert_int_equal(refresh(f), VG_ERR_UNSUPPORTED);
	assert_false(client_has(f, "timestamp.json"));
	/* control: spec_version "1.0" */
	ts = mk_timestamp(1, f->exp_ts, f->snap_info);
	set(json_object_get(ts, "signed"), "spec_version", json_string("1.0"));
	json_decref(put_role(f, "timestamp.json", ts, R_TS));
	assert_int_equal(refresh(f), VG_OK);
}

/* SFR 4.2.6 (wrong threshold): one key counts once, whatever key IDs
 * name it (TUF specification PR #154). */
static void test_sfr426_tuf_one_key_counts_once(void **state)
{
	fx *f = *state;
	json_t *keys, *roles, *tr, *ids, *alt;
	json_t *doc;
	char altid[65];

	/* targets: threshold 2, keyids [K_TGT, ALT] where ALT is K_TGT's key
	 * with an extra field (another key ID, the same key) */
	role_keys(f, R_TGT, 2, K_TGT, -1);
	doc = mk_root(f, 1, f->exp_root);
	keys = json_object_get(json_object_get(doc, "signed"), "keys");
	roles = json_object_get(json_object_get(doc, "signed"), "roles");
	tr = json_object_get(roles, "targets");
	ids = json_object_get(tr, "keyids");
	alt = json_deep_copy(f->k[K_TGT].pub);
	set(alt, "x-extra", json_string("same key"));
	assert_int_equal(vg_tuf_keyid(alt, altid), VG_OK);
	set(keys, altid, alt);
	json_array_append_new(ids, json_string(altid));
	json_decref(put_signed(f, "1.root.json", doc, K_ROOT, -1));
	{
		char from[VGT_PATH], to[VGT_PATH];
		join(from, f->meta, "1.root.json");
		join(to, f->client, "root.json");
		assert_int_equal(vgt_copy(from, to), 0);
	}
	/* targets signed by K_TGT under both key IDs */
	{
		char name[128];
		json_t *t = mk_targets(1, f->exp_tgt, f->targets, NULL), *meta, *si;
		assert_int_equal(vg_tuf_sign(t, f->k[K_TGT].pk, f->k[K_TGT].id), VG_OK);
		assert_int_equal(vg_tuf_sign(t, f->k[K_TGT].pk, altid), VG_OK);
		json_decref(f->tgt_info);
		f->tgt_info = put_doc(f, vname(name, 1, "targets"), t);
		meta = json_pack("{s:O}", "targets.json", f->tgt_info);
		si = put_role(f, vname(name, 1, "snapshot"), mk_snapshot(1, f->exp_snap, meta), R_SNAP);
		json_decref(put_role(f, "timestamp.json", mk_timestamp(1, f->exp_ts, si), R_TS));
		json_decref(meta);
		json_decref(si);
	}
	/* One private key under two key IDs is one signature, not two. */
	assert_int_equal(refresh(f), VG_ERR_VERIFY_FAILED);
	assert_false(client_has(f, "targets.json"));
}

/* SFR 4.2.6 (extraneous dependencies): a delegated role reached through
 * two delegators must satisfy each delegator's keys. */
static void test_sfr426_tuf_delegated_role_trusted_per_delegator(void **state)
{
	fx *f = *state;
	json_t *ma = json_object(), *mb = json_object();
	const json_t *info = NULL;
	json_t *bdeleg;
	char name[128];

	/* targets: a-star to A (K_DEL), b-star to B (K_DEL2); B: b-star to A with K_TGT2 */
	add_target(f, ma, "a/x.txt", "x\n");
	add_target(f, ma, "b/evil.txt", "evil\n");
	add_delegation(f, "A", K_DEL, false, "paths", "a/*");
	add_delegation(f, "B", K_DEL2, false, "paths", "b/*");
	publish_delegated(f, "A", 1, ma, K_DEL);
	bdeleg = json_pack("{s:{s:O}, s:[{s:s, s:[s], s:i, s:b, s:[s]}]}", "keys", f->k[K_TGT2].id,
			   f->k[K_TGT2].pub, "roles", "name", "A", "keyids", f->k[K_TGT2].id,
			   "threshold", 1, "terminating", 0, "paths", "b/*");
	set(f->snap_extra, "B.json",
	    put_signed(f, vname(name, 1, "B"), mk_targets(1, f->exp_tgt, mb, bdeleg), K_DEL2, -1));
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "b/evil.txt", &info), VG_ERR_VERIFY_FAILED);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "a/x.txt", &info), VG_OK);
	/* "A" trusted through targets' delegation is not trusted through
	 * B's, which names another key. */
	assert_int_not_equal(find(f, "b/evil.txt", &info), VG_OK);
	json_decref(ma);
	json_decref(mb);
	json_decref(bdeleg);
}

/* SFR 4.2.6: more matching delegations than a small fixed array holds. */
static void test_sfr426_tuf_many_matching_delegations(void **state)
{
	fx *f = *state;
	json_t *m = json_object();
	const json_t *info = NULL;
	char role[32];

	add_target(f, m, "a/x.txt", "x\n");
	for (int i = 0; i < 70; i++) {
		(void)snprintf(role, sizeof role, "r%d", i);
		add_delegation(f, role, K_DEL, false, "paths", "a/*");
		publish_delegated(f, role, 1, i == 0 ? m : NULL, K_DEL);
	}
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "a/x.txt", &info), VG_OK);
	json_decref(m);
}

/* ---- scenarios of the tuf-conformance suite ---- */

/* clang-format off */
#define KS(...) {__VA_ARGS__, -1}
/* clang-format on */

/* One root version of a rotation sequence: the root role's keys (spare
 * keys, K_X0 + i) and threshold, the spare keys that sign it, and whether
 * the client accepts it. */
typedef struct root_step {
	int keys[6];
	uint64_t threshold;
	int sigs[7];
	bool ok;
} root_step;

/* tuf-conformance test_root_rotation: sequences of root versions that
 * rotate keys and change thresholds; each version must meet the trusted
 * root's root threshold and its own (spec 5.3.4, 5.3.5), signatures by
 * keys the root does not name do not matter; a refused version leaves
 * the one before it trusted */
static void test_sfr426_tuf_root_rotation_thresholds(void **state)
{
	static const struct {
		const char *name;
		size_t n;
		root_step v[4];
	} cases[] = {
	    {"1-of-1 key rotation",
	     3,
	     {{KS(1), 1, KS(1), true}, {KS(2), 1, KS(2, 1), true}, {KS(2), 1, KS(2), true}}},
	    {"1-of-1 key rotation, unused signatures",
	     3,
	     {{KS(1), 1, KS(3, 1, 4), true},
	      {KS(2), 1, KS(3, 2, 1, 4), true},
	      {KS(2), 1, KS(3, 2, 4), true}}},
	    {"3-of-5, other key combinations",
	     4,
	     {{KS(0, 1, 2, 3, 4), 3, KS(0, 2, 4), true},
	      {KS(0, 1, 2, 3, 4), 3, KS(0, 4, 1), true},
	      {KS(0, 1, 2, 3, 4), 3, KS(0, 1, 3), true},
	      {KS(0, 1, 2, 3, 4), 3, KS(0, 1, 3), true}}},
	    {"3-of-5, one key rotated",
	     2,
	     {{KS(0, 1, 2, 3, 4), 3, KS(0, 2, 4), true},
	      {KS(0, 1, 3, 4, 5), 3, KS(0, 4, 1), true}}},
	    {"3-of-5, one key rotated with an intermediate step",
	     3,
	     {{KS(0, 1, 2, 3, 4), 3, KS(0, 2, 4), true},
	      {KS(0, 1, 3, 4, 5), 3, KS(0, 2, 4, 5), true},
	      {KS(0, 1, 3, 4, 5), 3, KS(0, 4, 5), true}}},
	    {"3-of-5, all keys rotated with an intermediate step",
	     3,
	     {{KS(0, 1, 2, 3, 4), 3, KS(0, 2, 4), true},
	      {KS(5, 6, 7, 8, 9), 3, KS(0, 2, 4, 5, 6, 7), true},
	      {KS(5, 6, 7, 8, 9), 3, KS(5, 6, 7), true}}},
	    {"1-of-3 to 2-of-3",
	     2,
	     {{KS(1, 2, 3), 1, KS(1), true}, {KS(1, 2, 3), 2, KS(1, 2), true}}},
	    {"2-of-3 to 1-of-3",
	     3,
	     {{KS(1, 2, 3), 2, KS(1, 2), true},
	      {KS(1, 2, 3), 1, KS(1, 2), true},
	      {KS(1, 2, 3), 1, KS(1), true}}},
	    {"1-of-1 to 2-of-2", 2, {{KS(1), 1, KS(1), true}, {KS(1, 2), 2, KS(1, 2), true}}},
	    {"1-of-1 rotation not signed by the old key",
	     2,
	     {{KS(1), 1, KS(1), true}, {KS(2), 1, KS(2, 3, 4), false}}},
	    {"1-of-1 rotation not signed by the new key",
	     2,
	     {{KS(1), 1, KS(1), true}, {KS(2), 1, KS(1, 3, 4), false}}},
	    {"3-of-5, one key rotated, 2 of the new keys sign",
	     2,
	     {{KS(0, 1, 2, 3, 4), 3, KS(0, 2, 4), true},
	      {KS(0, 1, 3, 4, 5), 3, KS(0, 2, 4), false}}},
	    {"3-of-5, one key rotated, 2 of the old keys sign",
	     2,
	     {{KS(0, 1, 2, 3, 4), 3, KS(0, 2, 4), true},
	      {KS(0, 1, 3, 4, 5), 3, KS(0, 4, 5), false}}},
	    {"1-of-3 to 2-of-3, one signature",
	     2,
	     {{KS(1, 2, 3), 1, KS(1), true}, {KS(1, 2, 3), 2, KS(2), false}}},
	    {"2-of-3 to 1-of-3, one signature",
	     2,
	     {{KS(1, 2, 3), 2, KS(1, 2), true}, {KS(1, 2, 3), 1, KS(1), false}}},
	};
	fx *f = *state;
	char name[128], from[VGT_PATH], to[VGT_PATH];
	int ks[8];

	for (size_t c = 0; c < VG_ARRAY_LEN(cases); c++) {
		size_t n = cases[c].n;
		bool ok = cases[c].v[n - 1].ok;

		print_message("  %s\n", cases[c].name);
		client_reset(f, false);
		for (uint64_t v = 2; v <= 4; v++) {
			join(from, f->meta, vname(name, v, "root"));
			(void)unlink(from);
		}
		for (size_t i = 0; i < n; i++) {
			const root_step *st = &cases[c].v[i];
			json_t *doc;

			role_set(f, R_ROOT, st->threshold, spare(ks, st->keys), ks);
			doc = mk_root(f, i + 1, f->exp_root);
			sign_with(f, doc, spare(ks, st->sigs), false);
			json_decref(put_doc(f, vname(name, i + 1, "root"), doc));
		}
		join(from, f->meta, "1.root.json");
		join(to, f->client, "root.json");
		assert_int_equal(vgt_copy(from, to), 0);
		assert_int_equal(refresh(f), ok ? VG_OK : VG_ERR_VERIFY_FAILED);
		assert_int_equal(client_version(f, "root.json"), ok ? n : n - 1);
		assert_int_equal(client_has(f, "timestamp.json"), ok);
	}
}

/* tuf-conformance test_non_root_rotations (and, as cases of it,
 * test_snapshot_does_not_meet_threshold, test_snapshot_has_too_few_keys,
 * test_unsigned_metadata[timestamp, snapshot, targets]): the timestamp,
 * snapshot and targets roles in turn get other keys and thresholds (a
 * new root each time) and are signed by some keys; the role's metadata is
 * taken only with threshold-many signatures by keys the root gives it */
static void test_sfr426_tuf_role_key_thresholds(void **state)
{
	static const struct {
		const char *name;
		int keys[7];
		uint64_t threshold;
		int sigs[7];
		bool ok;
	} cases[] = {
	    {"1-of-1 key rotation", KS(2), 1, KS(2), true},
	    {"1-of-1, unused signatures", KS(1), 1, KS(3, 1, 4), true},
	    {"1-of-1, not signed by the new key", KS(2), 1, KS(1, 3, 4), false},
	    {"3-of-5, one signature by a key not given", KS(0, 1, 3, 4, 5), 3, KS(0, 2, 4), false},
	    {"3-of-5, two signatures", KS(0, 1, 3, 4, 5), 3, KS(0, 4), false},
	    {"3-of-5, keys 0 2 4", KS(0, 1, 2, 3, 4), 3, KS(0, 2, 4), true},
	    {"3-of-5, keys 0 4 1", KS(0, 1, 2, 3, 4), 3, KS(0, 4, 1), true},
	    {"3-of-5, keys 0 1 3", KS(0, 1, 2, 3, 4), 3, KS(0, 1, 3), true},
	    {"3-of-5, keys 1 2 3", KS(0, 1, 2, 3, 4), 3, KS(1, 2, 3), true},
	    {"3-of-5, keys 2 3 4", KS(0, 1, 2, 3, 4), 3, KS(2, 3, 4), true},
	    {"6-of-5 (unreachable)", KS(0, 1, 2, 3, 4), 6, KS(0, 1, 2, 3, 4), false},
	    {"no signature at all", KS(0), 1, {-1}, false},
	};
	static const int roles[] = {R_TS, R_SNAP, R_TGT}, plain[] = {K_TS, K_SNAP, K_TGT};
	fx *f = *state;
	uint64_t rv = 1, n = 1;
	char name[128], file[32];
	int ks[8], ss[8];

	assert_int_equal(refresh(f), VG_OK);
	for (size_t c = 0; c < VG_ARRAY_LEN(cases); c++) {
		print_message("  %s\n", cases[c].name);
		for (size_t r = 0; r < VG_ARRAY_LEN(roles); r++) {
			role_set(f, roles[r], cases[c].threshold, spare(ks, cases[c].keys),
				 spare(ss, cases[c].sigs));
			rv++;
			n++;
			json_decref(put_signed(f, vname(name, rv, "root"),
					       mk_root(f, rv, f->exp_root), K_ROOT, -1));
			publish(f, n, n, n);
			(void)snprintf(file, sizeof file, "%s.json", role_names[roles[r]]);
			assert_int_equal(refresh(f), cases[c].ok ? VG_OK : VG_ERR_VERIFY_FAILED);
			assert_int_equal(client_version(f, "root.json"), rv);
			if (cases[c].ok)
				assert_int_equal(client_version(f, file), n);
			else
				assert_int_not_equal(client_version(f, file), n);
		}
		/* control: back to one key each, which the client takes */
		for (size_t r = 0; r < VG_ARRAY_LEN(roles); r++)
			role_keys(f, roles[r], 1, plain[r], -1);
		rv++;
		n++;
		json_decref(put_signed(f, vname(name, rv, "root"), mk_root(f, rv, f->exp_root),
				       K_ROOT, -1));
		publish(f, n, n, n);
		assert_int_equal(refresh(f), VG_OK);
		assert_int_equal(client_version(f, "targets.json"), n);
	}
}

/* An RSA public key as TUF names it (rsa / rsassa-pss-sha256, PEM). */
static json_t *rsa_key_new(EVP_PKEY *pk)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL, *s;
	long n;
	json_t *k;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	n = BIO_get_mem_data(b, &pem);
	assert_true(n > 0);
	s = strndup(pem, (size_t)n);
	assert_non_null(s);
	k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "rsa", "scheme", "rsassa-pss-sha256",
		      "keyval", "public", s);
	assert_non_null(k);
	free(s);
	BIO_free(b);
	return k;
}

/* Appends an RSASSA-PSS (SHA-256, MGF1-SHA-256, salt of the digest's
 * length) signature of doc's canonical "signed". */
static void rsa_pss_sign(json_t *doc, EVP_PKEY *pk, const char *keyid)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	uint8_t sig[512];
	char hex[2 * sizeof sig + 1], *canon = NULL;
	size_t sl = sizeof sig, cl = 0;

	assert_non_null(c);
	assert_int_equal(vg_canonical_json(json_object_get(doc, "signed"), &canon, &cl), VG_OK);
	assert_int_equal(EVP_DigestSignInit_ex(c, &pc, "SHA256", NULL, NULL, pk, NULL), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &sl, (const uint8_t *)canon, cl), 1);
	EVP_MD_CTX_free(c);
	free(canon);
	vg_hex_encode(sig, sl, hex);
	assert_int_equal(json_array_append_new(json_object_get(doc, "signatures"),
					       json_pack("{s:s, s:s}", "keyid", keyid, "sig", hex)),
			 0);
}

/* The signature string keyid made in doc (borrowed), or NULL. */
static json_t *sig_of(json_t *doc, const char *keyid)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(doc, "signatures"), i, s) {
		if (strcmp(json_string_value(json_object_get(s, "keyid")), keyid) == 0)
			return s;
	}
	return NULL;
}

/* mk_root() whose root role also names key (id), threshold 2. */
static json_t *mk_root_plus(fx *f, uint64_t v, const json_t *key, const char *id)
{
	json_t *d = mk_root(f, v, f->exp_root), *s = json_object_get(d, "signed");
	json_t *rr = json_object_get(json_object_get(s, "roles"), "root");

	set(json_object_get(s, "keys"), id, json_deep_copy(key));
	assert_int_equal(json_array_append_new(json_object_get(rr, "keyids"), json_string(id)), 0);
	set(rr, "threshold", json_integer(2));
	return d;
}

/* tuf-conformance test_keytype_and_scheme[ecdsa/ecdsa-sha2-nistp256,
 * rsa/rsassa-pss-sha256] and test_invalid_sig_in_valid_metadata: a root
 * that needs an ECDSA P-256, then an RSA-PSS key's signature is taken;
 * the same root with that signature replaced by one of the right form
 * over other bytes, or by an empty string, is not; one bad signature next
 * to a threshold of good ones does not spoil the metadata */
static void test_sfr426_tuf_keytypes_and_bad_signatures(void **state)
{
	fx *f = *state;
	EVP_PKEY *pk[2];
	json_t *pub[2], *doc, *ts;
	char id[2][65], name[128], *good = NULL, *old = NULL;
	uint64_t rv = 1;
	uint8_t *b = NULL;
	size_t bl = 0;

	pk[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pk[1] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(pk[0]);
	assert_non_null(pk[1]);
	pub[0] = vg_tuf_key_new(pk[0]);
	pub[1] = rsa_key_new(pk[1]);
	assert_non_null(pub[0]);
	assert_string_equal(json_string_value(json_object_get(pub[0], "keytype")), "ecdsa");
	for (int t = 0; t < 2; t++)
		assert_int_equal(vg_tuf_keyid(pub[t], id[t]), VG_OK);
	assert_int_equal(refresh(f), VG_OK);

	for (int t = 0; t < 2; t++) {
		/* 0: good; 1: a well-formed signature over other bytes; 2: "" */
		for (int bad = 0; bad < 3; bad++) {
			doc = mk_root_plus(f, rv + 1, pub[t], id[t]);
			/* K_ROOT and the new key; the ECDSA key is also the trusted
			 * root's second key when the RSA key comes in */
			assert_int_equal(vg_tuf_sign(doc, f->k[K_ROOT].pk, f->k[K_ROOT].id), VG_OK);
			assert_int_equal(vg_tuf_sign(doc, pk[0], id[0]), VG_OK);
			if (t == 1)
				rsa_pss_sign(doc, pk[1], id[1]);
			if (bad == 0) {
				free(good);
				good = strdup(
				    json_string_value(json_object_get(sig_of(doc, id[t]), "sig")));
				assert_non_null(good);
			} else {
				set(sig_of(doc, id[t]), "sig", json_string(bad == 1 ? good : ""));
			}
			json_decref(put_doc(f, vname(name, rv + 1, "root"), doc));
			if (bad == 0) {
				assert_int_equal(refresh(f), VG_OK);
				assert_int_equal(client_version(f, "root.json"), rv + 1);
				/* the next version: the same signature is of other bytes */
				rv++;
			} else {
				assert_int_equal(refresh(f), VG_ERR_VERIFY_FAILED);
				assert_int_equal(client_version(f, "root.json"), rv);
			}
		}
	}

	/* timestamp: keys K_TS and K_TS2, threshold 1 (the trusted root
	 * needs K_ROOT and the RSA key) */
	role_keys(f, R_TS, 1, K_TS, K_TS2);
	doc = mk_root(f, rv + 1, f->exp_root);
	assert_int_equal(vg_tuf_sign(doc, f->k[K_ROOT].pk, f->k[K_ROOT].id), VG_OK);
	rsa_pss_sign(doc, pk[1], id[1]);
	json_decref(put_doc(f, vname(name, ++rv, "root"), doc));
	read_bytes(f->meta, "timestamp.json", &b, &bl);
	doc = json_loadb((const char *)b, bl, 0, NULL);
	assert_non_null(doc);
	old = strdup(json_string_value(json_object_get(sig_of(doc, f->k[K_TS].id), "sig")));
	assert_non_null(old);
	json_decref(doc);
	for (int i = 0; i < 3; i++) {
		ts = mk_timestamp(2 + (uint64_t)i, f->exp_ts, f->snap_info);
		sign_with(f, ts, (const int[]){K_TS, K_TS2, -1}, false);
		/* K_TS's signature: of an older timestamp, then empty */
		set(sig_of(ts, f->k[K_TS].id), "sig", json_string(i == 1 ? "" : old));
		if (i == 2) /* control: neither verifies */
			set(sig_of(ts, f->k[K_TS2].id), "sig", json_string(""));
		json_decref(put_doc(f, "timestamp.json", ts));
		assert_int_equal(refresh(f), i < 2 ? VG_OK : VG_ERR_VERIFY_FAILED);
		assert_int_equal(client_version(f, "timestamp.json"), i < 2 ? 2 + i : 3);
	}
	assert_int_equal(client_version(f, "root.json"), rv);
	free(b);
	free(good);
	free(old);
	for (int t = 0; t < 2; t++) {
		EVP_PKEY_free(pk[t]);
		json_decref(pub[t]);
	}
}

/* A delegation of a graph: from delegates to to the paths [path] ("*"
 * when NULL). */
typedef struct edge {
	const char *from, *to;
	bool terminating;
	const char *path;
} edge;

/* clang-format off */
#define E(from, to)        {from, to, false, NULL}
#define ET(from, to)       {from, to, true, NULL}
#define EP(from, to, path) {from, to, false, path}
/* clang-format on */

/* The sha256 of the content role's metadata gives target probe-k. */
static void probe_content(char out[64], size_t k, const char *role)
{
	(void)snprintf(out, 64, "probe-%zu listed by %s\n", k, role);
}

/* tuf-conformance test_graph_traversal: the search visits delegated roles
 * in pre-order, depth first, in the order each delegator lists them, each
 * role once, a terminating delegation ending the search after its own
 * subtree, a delegation whose paths do not match skipped. A search for a
 * missing path loads exactly the roles of the expected order; target
 * probe-k is listed by the roles from place k of the order on, and must
 * be found in the one at place k (which proves the relative order). */
static void test_sfr426_tuf_delegation_graph_search_order(void **state)
{
	static const struct {
		const char *name;
		edge e[6];
		const char *order[5];
	} graphs[] = {
	    {"basic delegation", {E("targets", "A")}, {"A"}},
	    {"single level", {E("targets", "A"), E("targets", "B")}, {"A", "B"}},
	    {"two levels", {E("targets", "A"), E("targets", "B"), E("B", "C")}, {"A", "B", "C"}},
	    {"two levels, depth first",
	     {E("targets", "A"), E("targets", "B"), E("A", "C"), E("A", "D")},
	     {"A", "C", "D", "B"}},
	    {"three levels, depth first",
	     {E("targets", "A"), E("targets", "B"), E("A", "C"), E("C", "D")},
	     {"A", "C", "D", "B"}},
	    {"two levels, terminating",
	     {E("targets", "A"), E("targets", "B"), ET("A", "C"), E("A", "D")},
	     {"A", "C"}},
	    {"three levels, terminating",
	     {E("targets", "A"), E("targets", "B"), ET("A", "C"), E("C", "D")},
	     {"A", "C", "D"}},
	    {"two levels, paths not matching",
	     {EP("targets", "A", "*.py"), E("targets", "B"), E("A", "C")},
	     {"B"}},
	    {"three levels, paths not matching",
	     {E("targets", "A"), E("targets", "B"), EP("A", "C", "*.py"), E("C", "D")},
	     {"A", "B"}},
	    {"cycle",
	     {E("targets", "A"), E("targets", "B"), E("B", "C"), E("C", "D"), E("D", "B")},
	     {"A", "B", "C", "D"}},
	    {"two roles delegating to a third",
	     {E("targets", "A"), E("targets", "B"), E("B", "C"), E("A", "C")},
	     {"A", "C", "B"}},
	    {"two roles delegating to a third, other paths",
	     {E("targets", "A"), E("targets", "B"), E("B", "C"), EP("A", "C", "*.py")},
	     {"A", "B", "C"}},
	};
	fx *f = *state;

	for (size_t g = 0; g < VG_ARRAY_LEN(graphs); g++) {
		const char *roles[6];
		size_t nr = 0, no = 0;
		const json_t *info = NULL;
		char path[32], c[64], h[65], file[32];

		print_message("  %s\n", graphs[g].name);
		client_reset(f, true);
		json_object_clear(f->snap_extra);
		json_decref(f->delegations);
		f->delegations = NULL;
		while (no < VG_ARRAY_LEN(graphs[g].order) && graphs[g].order[no])
			no++;
		for (const edge *e = graphs[g].e; e->from; e++) {
			bool have = false;
			for (size_t i = 0; i < nr; i++)
				have = have || strcmp(roles[i], e->to) == 0;
			if (!have)
				roles[nr++] = e->to;
			if (strcmp(e->from, "targets") == 0)
				add_delegation(f, e->to, K_DEL, e->terminating, "paths",
					       e->path ? e->path : "*");
		}
		for (size_t i = 0; i < nr; i++) {
			json_t *map = json_object(), *deleg = NULL;
			size_t at = no;

			for (size_t k = 0; k < no; k++)
				if (strcmp(graphs[g].order[k], roles[i]) == 0)
					at = k;
			for (size_t k = 0; at < no && k <= at; k++) {
				(void)snprintf(path, sizeof path, "probe-%zu", k);
				probe_content(c, k, roles[i]);
				set(map, path, vg_tuf_fileinfo((const uint8_t *)c, strlen(c), 0));
			}
			for (const edge *e = graphs[g].e; e->from; e++)
				if (strcmp(e->from, roles[i]) == 0)
					add_delegation_to(f, &deleg, e->to, K_DEL, e->terminating,
							  "paths", e->path ? e->path : "*");
			publish_role(f, roles[i], g + 2, f->exp_tgt, map, deleg, K_DEL);
			json_decref(map);
			json_decref(deleg);
		}
		publish(f, g + 2, g + 2, g + 2);
		assert_int_equal(refresh(f), VG_OK);
		assert_int_equal(find(f, "missingpath", &info), VG_ERR_NOT_FOUND);
		for (size_t i = 0; i < nr; i++) {
			bool visited = false;
			for (size_t k = 0; k < no; k++)
				visited = visited || strcmp(graphs[g].order[k], roles[i]) == 0;
			(void)snprintf(file, sizeof file, "%s.json", roles[i]);
			if (client_has(f, file) != visited)
				fail_msg("%s: %s %s", graphs[g].name, roles[i],
					 visited ? "not visited" : "visited");
		}
		for (size_t k = 0; k < no; k++) {
			(void)snprintf(path, sizeof path, "probe-%zu", k);
			assert_int_equal(find(f, path, &info), VG_OK);
			probe_content(c, k, graphs[g].order[k]);
			hex_sha256(c, h);
			info = json_object_get(info, "hashes");
			if (strcmp(json_string_value(json_object_get(info, "sha256")), h) != 0)
				fail_msg("%s: %s not found in %s first", graphs[g].name, path,
					 graphs[g].order[k]);
		}
	}
}

/* tuf-conformance test_targetfile_search: targets delegates the paths
 * matching "*.doc" or "*.md" to A, and releases/DIR/FILE (any DIR, FILE)
 * to B; B delegates releases/x/FILE to C and releases/y/FILE.zip to D. A
 * target is found in the role that lists it through the delegations that
 * cover its path, loading only the roles on the way, and not at all when
 * a role on the way does not delegate its path (releases/z/z_v1.zip,
 * which D lists) */
static void test_sfr426_tuf_delegation_tree_target_search(void **state)
{
	static const struct {
		const char *path, *content; /* content NULL: not found */
		const char *loaded[3];
	} cases[] = {
	    {"targetfile", "targetfile by targets\n", {NULL}},
	    {"README.md", "README by A\n", {"A"}},
	    {"releases/x/x_v1", "x release by C\n", {"B", "C"}},
	    {"releases/y/y_v1.zip", "y release by D\n", {"B", "D"}},
	    {"releases/z/z_v1.zip", NULL, {"B"}},
	};
	static const char *const all[] = {"A", "B", "C", "D"};
	fx *f = *state;
	json_t *ma = json_object(), *mb = json_object(), *mc = json_object(), *md = json_object();
	json_t *bdeleg = NULL;
	char file[16];

	add_target(f, f->targets, "targetfile", "targetfile by targets\n");
	add_target(f, ma, "README.md", "README by A\n");
	add_target(f, mc, "releases/x/x_v1", "x release by C\n");
	add_target(f, md, "releases/y/y_v1.zip", "y release by D\n");
	add_target(f, md, "releases/z/z_v1.zip", "z release by D\n");
	add_delegation(f, "A", K_DEL, false, "paths", "*.doc");
	assert_int_equal(
	    json_array_append_new(
		json_object_get(json_array_get(json_object_get(f->delegations, "roles"), 0),
				"paths"),
		json_string("*.md")),
	    0);
	add_delegation(f, "B", K_DEL, false, "paths", "releases/*/*");
	add_delegation_to(f, &bdeleg, "C", K_DEL2, false, "paths", "releases/x/*");
	add_delegation_to(f, &bdeleg, "D", K_DEL2, false, "paths", "releases/y/*.zip");
	publish_role(f, "A", 1, f->exp_tgt, ma, NULL, K_DEL);
	publish_role(f, "B", 1, f->exp_tgt, mb, bdeleg, K_DEL);
	publish_role(f, "C", 1, f->exp_tgt, mc, NULL, K_DEL2);
	publish_role(f, "D", 1, f->exp_tgt, md, NULL, K_DEL2);
	publish(f, 2, 2, 2);
	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		const json_t *info = NULL;

		client_reset(f, true);
		assert_int_equal(refresh(f), VG_OK);
		if (cases[i].content)
			fetch_ok(f, cases[i].path, cases[i].content);
		else
			assert_int_equal(find(f, cases[i].path, &info), VG_ERR_NOT_FOUND);
		for (size_t r = 0; r < VG_ARRAY_LEN(all); r++) {
			bool want = false;
			for (size_t k = 0; k < VG_ARRAY_LEN(cases[i].loaded) && cases[i].loaded[k];
			     k++)
				want = want || strcmp(cases[i].loaded[k], all[r]) == 0;
			(void)snprintf(file, sizeof file, "%s.json", all[r]);
			if (client_has(f, file) != want)
				fail_msg("%s: %s %s", cases[i].path, all[r],
					 want ? "not loaded" : "loaded");
		}
	}
	json_decref(ma);
	json_decref(mb);
	json_decref(mc);
	json_decref(md);
	json_decref(bdeleg);
}

/* tuf-conformance test_succinct_roles_graph_traversal: with succinct hash
 * bins of 1, 2 and 8 bits, a search loads exactly the one bin whose
 * number is the first bits of the path's SHA-256, named with as many hex
 * digits as the largest bin number has ("bar" is in bin-fc of 256) */
static void test_sfr426_tuf_succinct_bin_lengths(void **state)
{
	static const struct {
		unsigned bits;
		const char *path;
	} cases[] = {{1, "boo"}, {1, "too"}, {2, "foo"}, {2, "doo"},
		     {2, "too"}, {2, "bar"}, {8, "bar"}};
	fx *f = *state;

	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		const json_t *info = NULL;
		char h[65], bin[16], file[32];
		unsigned first = 0;

		client_reset(f, true);
		json_object_clear(f->snap_extra);
		json_decref(f->delegations);
		f->delegations = json_pack("{s:{s:O}, s:{s:[s], s:i, s:i, s:s}}", "keys",
					   f->k[K_DEL].id, f->k[K_DEL].pub, "succinct_roles",
					   "keyids", f->k[K_DEL].id, "threshold", 1, "bit_length",
					   (int)cases[i].bits, "name_prefix", "bin");
		assert_non_null(f->delegations);
		hex_sha256(cases[i].path, h);
		assert_int_equal(sscanf(h, "%2x", &first), 1);
		(void)snprintf(bin, sizeof bin, "bin-%0*x", cases[i].bits > 4 ? 2 : 1,
			       first >> (8 - cases[i].bits));
		if (cases[i].bits == 8 && strcmp(cases[i].path, "bar") == 0)
			assert_string_equal(bin, "bin-fc");
		/* only the expected bin exists: another would be missing from
		 * the snapshot, an error rather than "not found" */
		publish_role(f, bin, 1, f->exp_tgt, NULL, NULL, K_DEL);
		publish(f, i + 2, i + 2, i + 2);
		assert_int_equal(refresh(f), VG_OK);
		assert_int_equal(find(f, cases[i].path, &info), VG_ERR_NOT_FOUND);
		(void)snprintf(file, sizeof file, "%s.json", bin);
		assert_true(client_has(f, file));
		assert_int_equal(count_entries(f->client), 5);
	}
}

/* tuf-conformance test_unusual_role_name (and the roles "." and ".." of
 * its test_TestDelegateConsistentSnapshotDisabled): a role name is
 * quoted as python's quote(name, "") both in the URL (V.QUOTED.json) and
 * in the metadata directory, so it can neither leave that directory nor
 * change the request */
static void test_sfr426_tuf_unusual_role_names(void **state)
{
	static const char *const names[] = {
	    "?", "#", "/delegatedrole", "../delegatedrole", ".", "..", "a b%2F/../c",
	};
	fx *f = *state;

	for (size_t i = 0; i < VG_ARRAY_LEN(names); i++) {
		json_t *m = json_object();
		const json_t *info = NULL;
		char q[64], file[80], path[32], c[32];

		print_message("  role \"%s\"\n", names[i]);
		client_reset(f, true);
		json_object_clear(f->snap_extra);
		json_decref(f->delegations);
		f->delegations = NULL;
		(void)snprintf(path, sizeof path, "t%zu.txt", i);
		(void)snprintf(c, sizeof c, "target %zu\n", i);
		add_target(f, m, path, c);
		add_delegation(f, names[i], K_DEL, false, "paths", "*");
		publish_role(f, names[i], 1, f->exp_tgt, m, NULL, K_DEL);
		publish(f, i + 2, i + 2, i + 2);
		assert_int_equal(refresh(f), VG_OK);
		assert_int_equal(find(f, "nonexistent target", &info), VG_ERR_NOT_FOUND);
		assert_int_equal(vg_tuf_quote(names[i], q, sizeof q), VG_OK);
		(void)snprintf(file, sizeof file, "%s.json", q);
		assert_true(client_has(f, file));
		assert_int_equal(count_entries(f->client), 5);
		fetch_ok(f, path, c);
		assert_int_equal(count_entries(f->client), 5);
		json_decref(m);
	}
}

/* tuf-conformance test_delegated_targets_expired,
 * test_expired_local_delegated_targets and
 * test_expired_local_delegated_targets_updates: a delegated role that is
 * expired when first seen is not trusted; a trusted local copy that has
 * expired since is not used, nor the same expired version from the
 * repository; a newer version that has not expired is */
static void test_sfr426_tuf_delegated_role_expiry(void **state)
{
	fx *f = *state;
	json_t *m = json_object();
	const json_t *info = NULL;
	char from[VGT_PATH], to[VGT_PATH];

	add_target(f, m, "d/first", "first\n");
	add_target(f, m, "d/second", "second\n");
	add_delegation(f, "delegated", K_DEL, false, "paths", "d/*");
	publish_role(f, "delegated", 1, f->now - 60, m, NULL, K_DEL);
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "d/first", &info), VG_ERR_STATE);
	assert_false(client_has(f, "delegated.json"));
	assert_int_equal(count_entries(f->out), 0);
	assert_int_equal(count_entries(f->client), 4);

	/* the expired version 1 as a copy trusted before it expired */
	join(from, f->meta, "1.delegated.json");
	join(to, f->client, "delegated.json");
	assert_int_equal(vgt_copy(from, to), 0);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(find(f, "d/second", &info), VG_ERR_STATE);
	assert_int_equal(count_entries(f->out), 0);

	/* version 2, fresh */
	publish_role(f, "delegated", 2, f->exp_tgt, m, NULL, K_DEL);
	publish(f, 3, 3, 3);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "d/second", "second\n");
	assert_int_equal(client_version(f, "delegated.json"), 2);
	json_decref(m);
}

/* The trusted set over REPO's 1.root.json, timestamp.json and version v
 * of snapshot and targets, with reference time now: the first error. */
static vg_rc walk_set(fx *f, time_t now, uint64_t v)
{
	uint8_t *b[4] = {NULL};
	size_t n[4] = {0};
	char sn[128], tn[128], why[VG_TUF_WHY_LEN];
	vg_tuf_set *s = NULL;
	vg_rc rc;

	read_bytes(f->meta, "1.root.json", &b[0], &n[0]);
	read_bytes(f->meta, "timestamp.json", &b[1], &n[1]);
	read_bytes(f->meta, vname(sn, v, "snapshot"), &b[2], &n[2]);
	read_bytes(f->meta, vname(tn, v, "targets"), &b[3], &n[3]);
	rc = vg_tuf_set_new(&s, b[0], n[0], now, why);
	if (rc == VG_OK)
		rc = vg_tuf_check_root(s, why);
	if (rc == VG_OK)
		rc = vg_tuf_update_timestamp(s, b[1], n[1], why);
	if (rc == VG_OK)
		rc = vg_tuf_update_snapshot(s, b[2], n[2], false, why);
	if (rc == VG_OK)
		rc = vg_tuf_update_targets(s, "targets", "root", b[3], n[3], why);
	vg_tuf_set_free(&s);
	for (size_t i = 0; i < 4; i++)
		free(b[i]);
	return rc;
}

/* tuf-conformance test_faketime and the expiry tests at their edge: the
 * specification (5.3.10, 5.4.4, 5.5.6, 5.6.6) wants an expiry higher than
 * the update's fixed start time, so metadata that expires exactly then
 * is expired, for each top-level role; one second earlier it is not */
static void test_sfr426_tuf_expiry_at_the_reference_time(void **state)
{
	fx *f = *state;
	const time_t t = f->now + 10 * DAY;
	time_t *exp[] = {&f->exp_root, &f->exp_ts, &f->exp_snap, &f->exp_tgt};

	for (size_t r = 0; r < VG_ARRAY_LEN(exp); r++) {
		for (size_t i = 0; i < VG_ARRAY_LEN(exp); i++)
			*exp[i] = i == r ? t : t + DAY;
		init_root(f);
		publish(f, r + 2, r + 2, r + 2);
		assert_int_equal(walk_set(f, t - DAY, r + 2), VG_OK);
		assert_int_equal(walk_set(f, t - 1, r + 2), VG_OK);
		assert_int_equal(walk_set(f, t, r + 2), VG_ERR_STATE);
		assert_int_equal(walk_set(f, t + 1, r + 2), VG_ERR_STATE);
	}
}

/* tuf-conformance test_timestamp_expired, test_snapshot_expired,
 * test_expired_metadata, test_root_expired: new metadata that has expired
 * is neither used nor stored (the freeze check comes before the metadata
 * is persisted: spec 5.4.4-5.4.5, 5.5.6-5.5.7); a local timestamp and
 * snapshot that expired since they were trusted still guard against
 * rollback, and fresh ones replace them; expired intermediate roots do
 * not matter; an expired final root is stored (5.3.8 comes before
 * 5.3.10) but ends the update */
static void test_sfr426_tuf_expired_metadata_handling(void **state)
{
	static const char *const local[][2] = {{"timestamp.json", "timestamp.json"},
					       {"5.snapshot.json", "snapshot.json"},
					       {"5.targets.json", "targets.json"}};
	fx *f = *state;
	char name[128], from[VGT_PATH], to[VGT_PATH];

	assert_int_equal(refresh(f), VG_OK);
	f->exp_ts = f->now - 5 * DAY;
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_int_equal(client_version(f, "timestamp.json"), 1);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	f->exp_ts = f->now + DAY;
	f->exp_snap = f->now - 5 * DAY;
	publish(f, 3, 3, 3);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_int_equal(client_version(f, "timestamp.json"), 3);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	assert_int_equal(client_version(f, "targets.json"), 1);

	/* version 5 of each, trusted before it expired */
	f->exp_ts = f->exp_snap = f->now - 60;
	publish(f, 5, 5, 5);
	for (size_t i = 0; i < VG_ARRAY_LEN(local); i++) {
		join(from, f->meta, local[i][0]);
		join(to, f->client, local[i][1]);
		assert_int_equal(vgt_copy(from, to), 0);
	}
	f->exp_ts = f->exp_snap = f->now + DAY;
	publish(f, 4, 4, 4);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "timestamp.json"), 5);
	publish(f, 6, 6, 6);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "timestamp.json"), 6);
	assert_int_equal(client_version(f, "snapshot.json"), 6);
	assert_int_equal(client_version(f, "targets.json"), 6);

	/* root 2 expired, root 3 fresh */
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->now - 60), K_ROOT, -1));
	json_decref(put_signed(f, vname(name, 3, "root"), mk_root(f, 3, f->exp_root), K_ROOT, -1));
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 3);
	/* root 4 expired, and the last */
	json_decref(put_signed(f, vname(name, 4, "root"), mk_root(f, 4, f->now - DAY), K_ROOT, -1));
	publish(f, 7, 7, 7);
	assert_int_equal(refresh(f), VG_ERR_STATE);
	assert_int_equal(client_version(f, "root.json"), 4);
	assert_int_equal(client_version(f, "timestamp.json"), 6);
	assert_int_equal(client_version(f, "snapshot.json"), 6);
}

/* The snapshot's "meta": the delegated roles' MetaFiles and ti (borrowed)
 * for targets.json. */
static json_t *snap_meta(const fx *f, json_t *ti)
{
	json_t *m = json_deep_copy(f->snap_extra);

	assert_non_null(m);
	set(m, "targets.json", json_incref(ti));
	return m;
}

/* tuf-conformance test_TestDelegateConsistentSnapshotDisabled, and the
 * version checks without consistent snapshots (spec 5.5.3-5.5.5, 5.6.3):
 * the client fetches snapshot.json, targets.json, ROLE.json and targets
 * by their plain paths; as those names carry no version, the version
 * inside must be the one the metadata above names, with or without
 * length and hashes */
static void test_sfr426_tuf_no_consistent_snapshots(void **state)
{
	fx *f = *state;
	json_t *m = json_object(), *meta, *si, *ti;

	f->plain = true;
	client_reset(f, false);
	init_root(f);
	add_target(f, f->targets, "hello.txt", HELLO);
	add_target(f, f->targets, "dir/plain.txt", "plain\n");
	add_target(f, m, "a/x.txt", "x in a\n");
	add_delegation(f, "delegated", K_DEL, false, "paths", "a/*");
	publish_delegated(f, "delegated", 1, m, K_DEL);
	publish(f, 1, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_false(vg_tuf_consistent_snapshot(vg_tuf_updater_set(f->u)));
	fetch_ok(f, "hello.txt", HELLO);
	fetch_ok(f, "dir/plain.txt", "plain\n");
	fetch_ok(f, "a/x.txt", "x in a\n");
	assert_int_equal(client_version(f, "delegated.json"), 1);

	/* snapshot.json: a validly signed version 3 where the timestamp
	 * names version 2 (with the length and hash of those bytes) */
	meta = snap_meta(f, f->tgt_info);
	si = put_role(f, "snapshot.json", mk_snapshot(3, f->exp_snap, meta), R_SNAP);
	set(si, "version", json_integer(2));
	json_decref(put_role(f, "timestamp.json", mk_timestamp(2, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "timestamp.json"), 2);
	assert_int_equal(client_version(f, "snapshot.json"), 1);

	/* targets.json: version 3 where snapshot 3 names version 2 */
	ti = put_role(f, "targets.json", mk_targets(3, f->exp_tgt, f->targets, f->delegations),
		      R_TGT);
	set(ti, "version", json_integer(2));
	meta = snap_meta(f, ti);
	si = put_role(f, "snapshot.json", mk_snapshot(3, f->exp_snap, meta), R_SNAP);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(3, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	json_decref(ti);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "snapshot.json"), 3);
	assert_int_equal(client_version(f, "targets.json"), 1);

	/* versions only: snapshot.json is version 5 where the timestamp
	 * names 4 */
	ti = json_pack("{s:i}", "version", 4);
	json_decref(put_role(f, "targets.json",
			     mk_targets(4, f->exp_tgt, f->targets, f->delegations), R_TGT));
	meta = snap_meta(f, ti);
	json_decref(put_role(f, "snapshot.json", mk_snapshot(5, f->exp_snap, meta), R_SNAP));
	si = json_pack("{s:i}", "version", 4);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(4, f->exp_ts, si), R_TS));
	json_decref(si);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "timestamp.json"), 4);
	assert_int_equal(client_version(f, "snapshot.json"), 3);
	/* control: snapshot.json is version 4 (the same timestamp) */
	json_decref(put_role(f, "snapshot.json", mk_snapshot(4, f->exp_snap, meta), R_SNAP));
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 4);
	assert_int_equal(client_version(f, "targets.json"), 4);
	fetch_ok(f, "a/x.txt", "x in a\n");
	json_decref(meta);
	json_decref(ti);
	json_decref(m);
}

/* tuf-conformance test_download_with_hash_algorithms[sha256, sha512,
 * sha256+sha512] and test_download_with_unknown_hash_algorithm: a target
 * listed with sha512 only is fetched under that hash's prefix and checked
 * against it; when several are listed every one must match; a target
 * whose only hash is of an unknown algorithm is not accepted */
static void test_sfr426_tuf_target_hash_algorithms(void **state)
{
	static const char *const algs[][2] = {
	    {"sha256", NULL}, {"sha512", NULL}, {"sha256", "sha512"}, {"unknown-hash", NULL}};
	fx *f = *state;
	const json_t *info = NULL;
	char out[4096], p[VGT_PATH];

	for (size_t i = 0; i < VG_ARRAY_LEN(algs); i++) {
		json_t *h = json_object(), *ti;
		char path[16], c[32];

		(void)snprintf(path, sizeof path, "t%zu.txt", i);
		(void)snprintf(c, sizeof c, "content %zu\n", i);
		for (size_t j = 0; j < 2 && algs[i][j]; j++) {
			const EVP_MD *md =
			    strcmp(algs[i][j], "sha256") == 0 ? EVP_sha256() : EVP_sha512();
			uint8_t d[64];
			unsigned int dl = 0;
			char hex[129];

			assert_int_equal(EVP_Digest(c, strlen(c), d, &dl, md, NULL), 1);
			vg_hex_encode(d, dl, hex);
			set(h, algs[i][j], json_string(hex));
		}
		ti = json_pack("{s:I, s:o}", "length", (json_int_t)strlen(c), "hashes", h);
		assert_non_null(ti);
		target_file(f, path, ti, p);
		assert_int_equal(vgt_write(p, c, strlen(c), 0644), 0);
		set(f->targets, path, ti);
	}
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "t0.txt", "content 0\n");
	fetch_ok(f, "t1.txt", "content 1\n");
	fetch_ok(f, "t2.txt", "content 2\n");
	assert_int_equal(find(f, "t3.txt", &info), VG_OK);
	assert_int_equal(download(f, "t3.txt", info, out), VG_ERR_UNSUPPORTED);
	assert_int_equal(count_entries(f->out), 3);

	/* both listed, the sha512 wrong: refused although sha256 matches */
	set(json_object_get(json_object_get(f->targets, "t2.txt"), "hashes"), "sha512",
	    json_string(json_string_value(json_object_get(
		json_object_get(json_object_get(f->targets, "t1.txt"), "hashes"), "sha512"))));
	publish(f, 3, 3, 3);
	assert_int_equal(refresh(f), VG_OK);
	join(p, f->out, "t2.txt");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(find(f, "t2.txt", &info), VG_OK);
	assert_int_equal(download(f, "t2.txt", info, out), VG_ERR_INTEGRITY);
	assert_int_equal(count_entries(f->out), 2);
}

/* tuf-conformance test_multiple_changes_to_target and
 * test_repository_substitutes_target_file: a target that changes with its
 * metadata is fetched again into the same file; bytes the repository
 * substitutes without changing the metadata are never accepted, whether
 * the client has a good copy (kept) or not (refused, nothing written) */
static void test_sfr426_tuf_target_changes_and_substitution(void **state)
{
	fx *f = *state;
	const json_t *info = NULL;
	char c[64], nc[64], bad[64], name[16], p[VGT_PATH], out[4096];
	uint64_t v = 1;

	assert_int_equal(refresh(f), VG_OK);
	fetch_ok(f, "hello.txt", HELLO);
	for (int i = 0; i < 3; i++) {
		(void)snprintf(c, sizeof c, "modified file contents %d\n", i);
		(void)snprintf(nc, sizeof nc, "new file contents %d\n", i);
		(void)snprintf(name, sizeof name, "new-%d", i);
		add_target(f, f->targets, "hello.txt", c);
		add_target(f, f->targets, name, nc);
		v++;
		publish(f, v, v, v);
		assert_int_equal(refresh(f), VG_OK);
		fetch_ok(f, "hello.txt", c);
		fetch_ok(f, name, nc);
		assert_int_equal(count_entries(f->out), 2);

		/* the repository substitutes both */
		(void)snprintf(bad, sizeof bad, "malicious contents %d\n", i);
		target_file(f, "hello.txt", json_object_get(f->targets, "hello.txt"), p);
		assert_int_equal(vgt_write(p, bad, strlen(bad), 0644), 0);
		target_file(f, name, json_object_get(f->targets, name), p);
		assert_int_equal(vgt_write(p, bad, strlen(bad), 0644), 0);
		v++;
		publish(f, v, v, v);
		assert_int_equal(refresh(f), VG_OK);
		assert_int_equal(find(f, "hello.txt", &info), VG_OK);
		assert_int_equal(download(f, "hello.txt", info, out), VG_OK);
		assert_file(out, c);
		join(p, f->out, name);
		assert_int_equal(unlink(p), 0);
		assert_int_equal(find(f, name, &info), VG_OK);
		assert_int_not_equal(download(f, name, info, out), VG_OK);
		assert_false(vgt_exists(p));
		assert_int_equal(count_entries(f->out), 1);
	}
}

/* tuf-conformance test_timestamp_404, test_snapshot_404,
 * test_targets_404, test_url_and_metadata_version_mismatch[snapshot,
 * targets] and test_basic_metadata_hash_support: metadata the role above
 * names but the repository does not have ends the refresh, keeping what
 * was accepted before it; targets metadata whose hash is not the one the
 * snapshot gives is refused */
static void test_sfr426_tuf_missing_or_mismatching_metadata(void **state)
{
	fx *f = *state;
	json_t *meta, *si, *ti;
	char p[VGT_PATH];

	assert_int_equal(refresh(f), VG_OK);
	/* timestamp 2 names snapshot 2, which is not there */
	si = json_pack("{s:i}", "version", 2);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(2, f->exp_ts, si), R_TS));
	json_decref(si);
	assert_int_equal(refresh(f), VG_ERR_NOT_FOUND);
	assert_int_equal(client_version(f, "timestamp.json"), 2);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	assert_int_equal(client_version(f, "targets.json"), 1);

	/* snapshot 2 names targets 2, which is not there */
	meta = json_pack("{s:{s:i}}", "targets.json", "version", 2);
	si = put_role(f, "2.snapshot.json", mk_snapshot(2, f->exp_snap, meta), R_SNAP);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(3, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	assert_int_equal(refresh(f), VG_ERR_NOT_FOUND);
	assert_int_equal(client_version(f, "timestamp.json"), 3);
	assert_int_equal(client_version(f, "snapshot.json"), 2);
	assert_int_equal(client_version(f, "targets.json"), 1);

	/* snapshot 3 gives targets 3 a wrong hash */
	ti = put_role(f, "3.targets.json", mk_targets(3, f->exp_tgt, f->targets, NULL), R_TGT);
	set(json_object_get(ti, "hashes"), "sha256",
	    json_string("46419349341cfb2d95f6ae3d4cd5c3d3dd7f4673985dad42a45130be5e0531a0"));
	meta = json_pack("{s:O}", "targets.json", ti);
	si = put_role(f, "3.snapshot.json", mk_snapshot(3, f->exp_snap, meta), R_SNAP);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(4, f->exp_ts, si), R_TS));
	json_decref(meta);
	json_decref(si);
	json_decref(ti);
	assert_int_equal(refresh(f), VG_ERR_INTEGRITY);
	assert_int_equal(client_version(f, "snapshot.json"), 3);
	assert_int_equal(client_version(f, "targets.json"), 1);

	/* no timestamp.json at all */
	join(p, f->meta, "timestamp.json");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(refresh(f), VG_ERR_NOT_FOUND);
	assert_int_equal(client_version(f, "timestamp.json"), 4);

	/* control */
	publish(f, 4, 4, 5);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "targets.json"), 4);
}

/* tuf-conformance test_metadata_bytes_match and
 * test_timestamp_content_changes: the client stores the bytes it received
 * (not a serialization of its own); a validly signed timestamp of the
 * version it has, with other content, changes nothing */
static void test_sfr426_tuf_timestamp_same_version_other_content(void **state)
{
	fx *f = *state;
	uint8_t *b = NULL, *got = NULL, *nb;
	size_t n = 0, gn = 0;
	json_t *si;

	read_bytes(f->meta, "timestamp.json", &b, &n);
	nb = realloc(b, n + 1);
	assert_non_null(nb);
	b = nb;
	b[n++] = ' ';
	write_bytes(f->meta, "timestamp.json", b, n);
	assert_int_equal(refresh(f), VG_OK);
	read_bytes(f->client, "timestamp.json", &got, &gn);
	assert_int_equal(gn, n);
	assert_memory_equal(got, b, n);
	free(got);

	si = json_pack("{s:i}", "version", 100);
	json_decref(put_role(f, "timestamp.json", mk_timestamp(1, f->exp_ts, si), R_TS));
	json_decref(si);
	assert_int_equal(refresh(f), VG_OK);
	read_bytes(f->client, "timestamp.json", &got, &gn);
	assert_int_equal(gn, n);
	assert_memory_equal(got, b, n);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	fetch_ok(f, "hello.txt", HELLO);
	free(got);
	free(b);
}

/* tuf-conformance test_custom_fields and
 * test_deprecated_keyid_hash_algorithms: fields the specification does not
 * define (in the root, in a role, in a key, a target; keyid_hash_algorithms
 * with a misleading value) are covered by the signatures and change
 * nothing else */
static void test_sfr426_tuf_custom_fields(void **state)
{
	fx *f = *state;
	json_t *doc, *s;
	char name[128];

	assert_int_equal(refresh(f), VG_OK);
	set(f->k[K_X0].pub, "extra-field", json_pack("{s:i, s:i}", "a", 1, "b", 2));
	assert_int_equal(vg_tuf_keyid(f->k[K_X0].pub, f->k[K_X0].id), VG_OK);
	set(f->k[K_X0 + 1].pub, "keyid_hash_algorithms", json_string("md5"));
	assert_int_equal(vg_tuf_keyid(f->k[K_X0 + 1].pub, f->k[K_X0 + 1].id), VG_OK);
	role_keys(f, R_ROOT, 1, K_ROOT, K_X0);
	role_keys(f, R_SNAP, 1, K_X0 + 1, -1);
	doc = mk_root(f, 2, f->exp_root);
	s = json_object_get(doc, "signed");
	set(s, "custom-field", json_string("value"));
	set(json_object_get(json_object_get(s, "roles"), "root"), "another-field",
	    json_string("value"));
	sign_with(f, doc, (const int[]){K_ROOT, K_X0, -1}, false);
	json_decref(put_doc(f, vname(name, 2, "root"), doc));
	set(json_object_get(f->targets, "hello.txt"), "custom", json_pack("{s:s}", "k", "v"));
	publish(f, 2, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "root.json"), 2);
	assert_int_equal(client_version(f, "snapshot.json"), 2);
	fetch_ok(f, "hello.txt", HELLO);
}

/* tuf-conformance test_new_targets_fast_forward_recovery and
 * test_new_snapshot_fast_forward_recovery (spec 5.3.11): after targets
 * (snapshot) version 100, lower versions are refused until the root
 * rotates the snapshot (and timestamp) keys; then the trusted snapshot
 * (and timestamp) no longer verify and version 1 is accepted */
static void test_sfr426_tuf_fast_forward_recovery_snapshot_targets(void **state)
{
	fx *f = *state;
	char name[128];

	publish(f, 100, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "targets.json"), 100);
	publish(f, 1, 3, 3);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "targets.json"), 100);
	role_keys(f, R_SNAP, 1, K_X0, -1);
	json_decref(put_signed(f, vname(name, 2, "root"), mk_root(f, 2, f->exp_root), K_ROOT, -1));
	publish(f, 1, 4, 4);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "targets.json"), 1);
	assert_int_equal(client_version(f, "snapshot.json"), 4);

	publish(f, 2, 100, 5);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 100);
	publish(f, 3, 1, 6);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "timestamp.json"), 5);
	role_keys(f, R_SNAP, 1, K_X0 + 1, -1);
	role_keys(f, R_TS, 1, K_X0 + 2, -1);
	json_decref(put_signed(f, vname(name, 3, "root"), mk_root(f, 3, f->exp_root), K_ROOT, -1));
	publish(f, 3, 1, 1);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "timestamp.json"), 1);
	assert_int_equal(client_version(f, "snapshot.json"), 1);
	assert_int_equal(client_version(f, "targets.json"), 3);
	fetch_ok(f, "hello.txt", HELLO);
}

/* V.snapshot.json naming targets version tv only; timestamp.json version
 * tsv naming snapshot version sv only. */
static void put_bare_snapshot(fx *f, uint64_t v, uint64_t tv)
{
	char name[128];
	json_t *meta = json_pack("{s:{s:I}}", "targets.json", "version", (json_int_t)tv);

	json_decref(
	    put_role(f, vname(name, v, "snapshot"), mk_snapshot(v, f->exp_snap, meta), R_SNAP));
	json_decref(meta);
}

static void put_bare_timestamp(fx *f, uint64_t tsv, uint64_t sv)
{
	json_t *si = json_pack("{s:I}", "version", (json_int_t)sv);

	json_decref(put_role(f, "timestamp.json", mk_timestamp(tsv, f->exp_ts, si), R_TS));
	json_decref(si);
}

/* tuf-conformance test_snapshot_rollback[basic], test_targets_rollback
 * [basic] and test_simple_snapshot_rollback: with MetaFiles that give
 * versions only, the trusted timestamp and snapshot still refuse older
 * snapshot and targets versions; older bytes served under the name of
 * the snapshot the client has are not even fetched */
static void test_sfr426_tuf_rollback_version_only_meta(void **state)
{
	fx *f = *state;
	char from[VGT_PATH], to[VGT_PATH];

	json_decref(
	    put_role(f, "2.targets.json", mk_targets(2, f->exp_tgt, f->targets, NULL), R_TGT));
	put_bare_snapshot(f, 2, 2);
	put_bare_timestamp(f, 2, 2);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 2);
	assert_int_equal(client_version(f, "targets.json"), 2);

	put_bare_timestamp(f, 3, 1);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "timestamp.json"), 2);
	assert_int_equal(client_version(f, "snapshot.json"), 2);

	put_bare_snapshot(f, 3, 1);
	put_bare_timestamp(f, 4, 3);
	assert_int_equal(refresh(f), VG_ERR_ROLLBACK);
	assert_int_equal(client_version(f, "snapshot.json"), 2);
	assert_int_equal(client_version(f, "targets.json"), 2);

	put_bare_snapshot(f, 3, 2);
	put_bare_timestamp(f, 5, 3);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 3);
	join(from, f->meta, "1.snapshot.json");
	join(to, f->meta, "3.snapshot.json");
	assert_int_equal(vgt_copy(from, to), 0);
	assert_int_equal(refresh(f), VG_OK);
	assert_int_equal(client_version(f, "snapshot.json"), 3);
	fetch_ok(f, "hello.txt", HELLO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_sfr426_tuf_happy_path_refresh_find_download),
	    T(test_sfr426_tuf_arbitrary_software_replaced_target),
	    T(test_sfr426_tuf_endless_data_target_longer_than_listed),
	    T(test_sfr426_tuf_rollback_timestamp_older_version),
	    T(test_sfr426_tuf_rollback_timestamp_names_older_snapshot),
	    T(test_sfr426_tuf_rollback_snapshot_drops_or_lowers_targets),
	    T(test_sfr426_tuf_freeze_expired_timestamp),
	    T(test_sfr426_tuf_freeze_expired_snapshot),
	    T(test_sfr426_tuf_freeze_expired_targets),
	    T(test_sfr426_tuf_freeze_expired_final_root),
	    T(test_sfr426_tuf_endless_data_timestamp_too_large),
	    T(test_sfr426_tuf_endless_data_snapshot_longer_than_listed),
	    T(test_sfr426_tuf_mix_and_match_versions),
	    T(test_sfr426_tuf_wrong_threshold),
	    T(test_sfr426_tuf_duplicate_signature_refused),
	    T(test_sfr426_tuf_key_rotation_replaces_compromised_timestamp_key),
	    T(test_sfr426_tuf_root_rotation_needs_old_and_new_keys),
	    T(test_sfr426_tuf_root_rotation_version_must_match),
	    T(test_sfr426_tuf_root_kept_by_the_service),
	    T(test_sfr426_tuf_fast_forward_attack_recovery),
	    T(test_sfr426_tuf_delegation_limits_paths),
	    T(test_sfr426_tuf_delegation_wrong_key),
	    T(test_sfr426_tuf_delegation_terminating_stops_search),
	    T(test_sfr426_tuf_delegation_path_hash_prefixes),
	    T(test_sfr426_tuf_delegation_succinct_bins),
	    T(test_sfr426_tuf_delegation_role_missing_from_snapshot),
	    T(test_avs11_tuf_set_workflow_order),
	    cmocka_unit_test(test_sfr426_tuf_quote),
	    cmocka_unit_test(test_sfr426_tuf_parse_time),
	    T(test_sfr426_tuf_one_key_counts_once),
	    T(test_sfr426_tuf_delegated_role_trusted_per_delegator),
	    T(test_sfr426_tuf_many_matching_delegations),
	    cmocka_unit_test(test_avs11_tuf_check_file),
	    /* wrong _type and spec_version (a use-after-free in parse_common()
	     * once: the reason was formatted after the JSON was freed) */
	    T(test_sfr426_tuf_wrong_type_or_spec_version_refused),
	    /* scenarios of the tuf-conformance suite */
	    T(test_sfr426_tuf_root_rotation_thresholds),
	    T(test_sfr426_tuf_role_key_thresholds),
	    T(test_sfr426_tuf_keytypes_and_bad_signatures),
	    T(test_sfr426_tuf_delegation_graph_search_order),
	    T(test_sfr426_tuf_delegation_tree_target_search),
	    T(test_sfr426_tuf_succinct_bin_lengths),
	    T(test_sfr426_tuf_unusual_role_names),
	    T(test_sfr426_tuf_delegated_role_expiry),
	    T(test_sfr426_tuf_expiry_at_the_reference_time),
	    T(test_sfr426_tuf_expired_metadata_handling),
	    T(test_sfr426_tuf_no_consistent_snapshots),
	    T(test_sfr426_tuf_target_hash_algorithms),
	    T(test_sfr426_tuf_target_changes_and_substitution),
	    T(test_sfr426_tuf_missing_or_mismatching_metadata),
	    T(test_sfr426_tuf_timestamp_same_version_other_content),
	    T(test_sfr426_tuf_custom_fields),
	    T(test_sfr426_tuf_fast_forward_recovery_snapshot_targets),
	    T(test_sfr426_tuf_rollback_version_only_meta),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
