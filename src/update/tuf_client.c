/*
 * tuf_client.c - the TUF client workflow (contract in tuf_client.h).
 */
#include "update/tuf_client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "update/fetch.h"

struct vg_tuf_updater {
	char dir[4096];
	char url[2048];
	vg_tuf_set *set;
	vg_tuf_root_sink sink; /* NULL: root.json lives in dir */
	char ca[4096];         /* "": the system's trust store */
	void *ctx;
};

static void say(char *why, const char *what, const char *detail)
{
	char tmp[VG_TUF_WHY_LEN];

	(void)snprintf(tmp, sizeof tmp, "%.*s: %s", (int)(sizeof tmp / 2), what, detail);
	memcpy(why, tmp, sizeof tmp);
}

static vg_rc local_path(const vg_tuf_updater *u, const char *role, char *out, size_t cap)
{
	char q[800];

	if (vg_tuf_quote(role, q, sizeof q) != VG_OK ||
	    (size_t)snprintf(out, cap, "%s/%s.json", u->dir, q) >= cap)
		return VG_ERR_TOO_LARGE;
	return VG_OK;
}

static vg_rc load_local(const vg_tuf_updater *u, const char *role, size_t max, uint8_t **buf,
			size_t *len)
{
	char path[4096 + 900];
	vg_rc rc = local_path(u, role, path, sizeof path);

	return rc == VG_OK ? vg_read_file(path, max, buf, len) : rc;
}

static vg_rc persist(const vg_tuf_updater *u, const char *role, const uint8_t *buf, size_t len,
		     char *why)
{
	char path[4096 + 900];
	vg_rc rc = local_path(u, role, path, sizeof path);

	if (rc == VG_OK)
		rc = vg_write_file_atomic(path, buf, len, 0644);
	if (rc != VG_OK)
		say(why, path, "cannot write the trusted metadata");
	return rc;
}

/* METADATA_URL/[VERSION.]ROLE.json */
static vg_rc download(const vg_tuf_updater *u, const char *role, uint64_t version, size_t max,
		      uint8_t **buf, size_t *len, char *why)
{
	char url[2048 + 900], q[800];

	if (vg_tuf_quote(role, q, sizeof q) != VG_OK)
		return VG_ERR_TOO_LARGE;
	if (version)
		(void)snprintf(url, sizeof url, "%s/%" PRIu64 ".%s.json", u->url, version, q);
	else
		(void)snprintf(url, sizeof url, "%s/%s.json", u->url, q);
	return vg_fetch(url, u->ca[0] ? u->ca : NULL, max, buf, len, why);
}

static vg_rc updater_new(vg_tuf_updater **out, const char *metadata_dir,
			 const char *metadata_url)
{
	vg_tuf_updater *u;

	*out = NULL;
	if (strlen(metadata_dir) >= sizeof u->dir ||
	    (metadata_url && strlen(metadata_url) >= sizeof u->url))
		return VG_ERR_INVALID;
	u = calloc(1, sizeof *u);
	if (!u)
		return VG_ERR_NOMEM;
	strcpy(u->dir, metadata_dir);
	if (metadata_url) {
		strcpy(u->url, metadata_url);
		/* One '/' between base and name. */
		while (strlen(u->url) > 1 && u->url[strlen(u->url) - 1] == '/')
			u->url[strlen(u->url) - 1] = '\0';
	}
	*out = u;
	return VG_OK;
}

vg_rc vg_tuf_updater_open(vg_tuf_updater **out, const char *metadata_dir,
			  const char *metadata_url, char *why)
{
	vg_tuf_updater *u = NULL;
	uint8_t *root = NULL;
	size_t len = 0;
	vg_rc rc = updater_new(&u, metadata_dir, metadata_url);

	*out = NULL;
	if (rc != VG_OK)
		return rc;
	rc = load_local(u, "root", VG_TUF_ROOT_MAX, &root, &len);
	if (rc != VG_OK) {
		say(why, "trusted root", "cannot read root.json in the metadata directory");
	} else {
		rc = vg_tuf_set_new(&u->set, root, len, time(NULL), why);
		free(root);
	}
	if (rc != VG_OK) {
		free(u);
		return rc;
	}
	*out = u;
	return VG_OK;
}

vg_rc vg_tuf_updater_open_root(vg_tuf_updater **out, const uint8_t *root, size_t len,
			       const char *metadata_dir, const char *metadata_url,
			       vg_tuf_root_sink sink, void *ctx, char *why)
{
	vg_tuf_updater *u = NULL;
	vg_rc rc = sink ? updater_new(&u, metadata_dir, metadata_url) : VG_ERR_INVALID;

	*out = NULL;
	if (rc != VG_OK)
		return rc;
	u->sink = sink;
	u->ctx = ctx;
	rc = vg_tuf_set_new(&u->set, root, len, time(NULL), why);
	if (rc != VG_OK) {
		free(u);
		return rc;
	}
	*out = u;
	return VG_OK;
}

void vg_tuf_updater_close(vg_tuf_updater **pu)
{
	if (!pu || !*pu)
		return;
	vg_tuf_set_free(&(*pu)->set);
	free(*pu);
	*pu = NULL;
}

vg_rc vg_tuf_updater_set_ca_file(vg_tuf_updater *u, const char *ca_file)
{
	if (!ca_file || strlen(ca_file) >= sizeof u->ca)
		return VG_ERR_INVALID;
	strcpy(u->ca, ca_file);
	return VG_OK;
}

const vg_tuf_set *vg_tuf_updater_set(const vg_tuf_updater *u)
{
	return u->set;
}

static vg_rc load_root(vg_tuf_updater *u, char *why)
{
	uint64_t first = vg_tuf_root_version(u->set) + 1;

	for (uint64_t v = first; v < first + VG_TUF_MAX_ROOT_ROTATIONS; v++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		vg_rc rc = download(u, "root", v, VG_TUF_ROOT_MAX, &buf, &len, why);
		if (rc == VG_ERR_NOT_FOUND)
			break;
		if (rc == VG_OK)
			rc = vg_tuf_update_root(u->set, buf, len, why);
		if (rc == VG_OK)
			rc = u->sink ? u->sink(u->ctx, buf, len, why) : persist(u, "root", buf, len, why);
		free(buf);
		if (rc != VG_OK)
			return rc;
	}
	return vg_tuf_check_root(u->set, why);
}

static vg_rc load_timestamp(vg_tuf_updater *u, char *why)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char ignored[VG_TUF_WHY_LEN];
	vg_rc rc;

	/* A local one that verifies guards against rollback, expired or not. */
	if (load_local(u, "timestamp", VG_TUF_TIMESTAMP_MAX, &buf, &len) == VG_OK)
		VG_IGNORE(vg_tuf_update_timestamp(u->set, buf, len, ignored));
	free(buf);
	buf = NULL;
	rc = download(u, "timestamp", 0, VG_TUF_TIMESTAMP_MAX, &buf, &len, why);
	if (rc == VG_OK) {
		rc = vg_tuf_update_timestamp(u->set, buf, len, why);
		if (rc == VG_ERR_EXISTS) {
			free(buf);
			/* The same version: the trusted one stands, if fresh. */
			return vg_tuf_snapshot_meta(u->set, &(uint64_t){0}, &(uint64_t){0}) ==
					   VG_OK
				   ? VG_OK
				   : VG_ERR_STATE;
		}
		/* Persisted only once it passed the freeze check (spec 5.4.4,
		 * 5.4.5): an expired one is kept in memory, not on disk. */
		if (rc == VG_OK)
			rc = persist(u, "timestamp", buf, len, why);
	}
	free(buf);
	return rc;
}

static vg_rc load_snapshot(vg_tuf_updater *u, char *why)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t version = 0, length = 0;
	char ignored[VG_TUF_WHY_LEN];
	vg_rc rc;

	if (load_local(u, "snapshot", VG_TUF_SNAPSHOT_MAX, &buf, &len) == VG_OK &&
	    vg_tuf_update_snapshot(u->set, buf, len, true, ignored) == VG_OK) {
		free(buf);
		return VG_OK; /* the local one is the one the timestamp names */
	}
	free(buf);
	buf = NULL;
	rc = vg_tuf_snapshot_meta(u->set, &version, &length);
	if (rc != VG_OK)
		return rc;
	rc = download(u, "snapshot", vg_tuf_consistent_snapshot(u->set) ? version : 0,
		      length ? length : VG_TUF_SNAPSHOT_MAX, &buf, &len, why);
	if (rc == VG_OK)
		rc = vg_tuf_update_snapshot(u->set, buf, len, false, why);
	if (rc == VG_OK)
		rc = persist(u, "snapshot", buf, len, why);
	free(buf);
	return rc;
}

static vg_rc load_targets(vg_tuf_updater *u, const char *role, const char *delegator, char *why)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t version = 0, length = 0;
	char ignored[VG_TUF_WHY_LEN];
	vg_rc rc;

	if (vg_tuf_have(u->set, role)) /* still this delegator's to trust? */
		return vg_tuf_update_targets(u->set, role, delegator, NULL, 0, why);
	if (load_local(u, role, VG_TUF_TARGETS_MAX, &buf, &len) == VG_OK &&
	    vg_tuf_update_targets(u->set, role, delegator, buf, len, ignored) == VG_OK) {
		free(buf);
		return VG_OK;
	}
	free(buf);
	buf = NULL;
	rc = vg_tuf_role_meta(u->set, role, &version, &length);
	if (rc == VG_ERR_NOT_FOUND) {
		/* Delegated but not in the snapshot: the repository is broken,
		 * which is not the same as "no such target". */
		(void)snprintf(why, VG_TUF_WHY_LEN,
			       "%.200s.json is delegated but not in the snapshot", role);
		return VG_ERR_INTEGRITY;
	}
	if (rc != VG_OK)
		return rc;
	rc = download(u, role, vg_tuf_consistent_snapshot(u->set) ? version : 0,
		      length ? length : VG_TUF_TARGETS_MAX, &buf, &len, why);
	if (rc == VG_OK)
		rc = vg_tuf_update_targets(u->set, role, delegator, buf, len, why);
	if (rc == VG_OK)
		rc = persist(u, role, buf, len, why);
	free(buf);
	return rc;
}

vg_rc vg_tuf_refresh(vg_tuf_updater *u, char *why)
{
	vg_rc rc;

	if (!u->url[0])
		return VG_ERR_INVALID;
	rc = load_root(u, why);
	if (rc == VG_OK)
		rc = load_timestamp(u, why);
	if (rc == VG_OK)
		rc = load_snapshot(u, why);
	if (rc == VG_OK)
		rc = load_targets(u, "targets", "root", why);
	return rc;
}

vg_rc vg_tuf_find_target(vg_tuf_updater *u, const char *path, const json_t **info, char *why)
{
	struct {
		char role[256], parent[256];
	} *stack = NULL;
	char (*visited)[256] = NULL;
	vg_tuf_child *kids = NULL;
	size_t depth = 0, n_visited = 0, budget = VG_TUF_MAX_DELEGATIONS;
	const size_t cap = 4 * VG_TUF_MAX_ROLES;
	vg_rc rc = VG_ERR_NOT_FOUND;

	*info = NULL;
	stack = calloc(cap, sizeof *stack);
	visited = calloc(VG_TUF_MAX_DELEGATIONS + 1, sizeof *visited);
	kids = calloc(VG_TUF_MAX_ROLES, sizeof *kids);
	if (!stack || !visited || !kids) {
		free(stack);
		free(visited);
		free(kids);
		return VG_ERR_NOMEM;
	}
	strcpy(stack[0].role, "targets");
	strcpy(stack[0].parent, "root");
	depth = 1;
	while (depth > 0 && budget > 0) {
		char role[256], parent[256];
		size_t n = 0;
		bool seen = false;

		depth--;
		strcpy(role, stack[depth].role);
		strcpy(parent, stack[depth].parent);
		for (size_t i = 0; i < n_visited && !seen; i++)
			seen = strcmp(visited[i], role) == 0;
		if (seen)
			continue;
		rc = load_targets(u, role, parent, why);
		if (rc != VG_OK)
			break;
		*info = vg_tuf_target_info(u->set, role, path);
		if (*info) {
			rc = VG_OK;
			break;
		}
		strcpy(visited[n_visited++], role);
		budget--;
		rc = vg_tuf_children(u->set, role, path, kids, VG_TUF_MAX_ROLES, &n);
		if (rc != VG_OK) {
			(void)snprintf(why, VG_TUF_WHY_LEN, "%.200s: more than %u delegations match",
				       role, VG_TUF_MAX_ROLES);
			break;
		}
		rc = VG_ERR_NOT_FOUND;
		/* Children go on the stack in reverse, so the first is next;
		 * a terminating one ends the search after itself. */
		for (size_t i = 0; i < n; i++)
			if (kids[i].terminating) {
				n = i + 1;
				depth = 0;
				break;
			}
		for (size_t i = n; i-- > 0;) {
			if (depth >= cap)
				break;
			(void)snprintf(stack[depth].role, sizeof stack[0].role, "%s", kids[i].name);
			(void)snprintf(stack[depth].parent, sizeof stack[0].parent, "%s", role);
			depth++;
		}
	}
	if (rc == VG_ERR_NOT_FOUND)
		(void)snprintf(why, VG_TUF_WHY_LEN, "no trusted metadata lists target %.200s",
			       path);
	free(stack);
	free(visited);
	free(kids);
	return rc;
}

vg_rc vg_tuf_download_target(vg_tuf_updater *u, const char *path, const json_t *info,
			     const char *target_base_url, const char *target_dir, char *out_path,
			     char *why)
{
	char q[2400], dest[4096], url[4096], prefixed[2400];
	uint8_t *buf = NULL, *have = NULL;
	size_t len = 0, have_len = 0;
	json_int_t length = json_integer_value(json_object_get(info, "length"));
	const char *sha = NULL;
	vg_rc rc;

	if (vg_tuf_quote(path, q, sizeof q) != VG_OK ||
	    (size_t)snprintf(dest, sizeof dest, "%s/%s", target_dir, q) >= sizeof dest)
		return VG_ERR_TOO_LARGE;
	if (out_path)
		(void)snprintf(out_path, 4096, "%s", dest);
	/* Already there with the right length and hashes: nothing to do. */
	if (vg_read_file(dest, (size_t)length + 1, &have, &have_len) == VG_OK) {
		char ignored[VG_TUF_WHY_LEN];
		rc = vg_tuf_check_file(info, have, have_len, true, ignored);
		free(have);
		if (rc == VG_OK)
			return VG_OK;
	}
	/* Consistent snapshots: dir/HASH.name, with the SHA-256 if listed. */
	(void)snprintf(prefixed, sizeof prefixed, "%s", path);
	if (vg_tuf_consistent_snapshot(u->set)) {
		const json_t *h = json_object_get(info, "hashes");
		const char *slash = strrchr(path, '/');
		size_t dl = slash ? (size_t)(slash - path + 1) : 0;
		sha = json_string_value(json_object_get(h, "sha256"));
		if (!sha) {
			const char *k;
			json_t *v;
			json_object_foreach((json_t *)h, k, v) {
				sha = json_string_value(v);
				break;
			}
		}
		if (sha)
			(void)snprintf(prefixed, sizeof prefixed, "%.*s%s.%s", (int)dl, path, sha,
				       path + dl);
	}
	{
		size_t bl = strlen(target_base_url);
		while (bl > 1 && target_base_url[bl - 1] == '/')
			bl--;
		if ((size_t)snprintf(url, sizeof url, "%.*s/%s", (int)bl, target_base_url,
				     prefixed) >= sizeof url)
			return VG_ERR_TOO_LARGE;
	}
	if (length < 0)
		return VG_ERR_INVALID;
	rc = vg_fetch(url, u->ca[0] ? u->ca : NULL, (size_t)length, &buf, &len, why);
	if (rc == VG_OK)
		rc = vg_tuf_check_file(info, buf, len, true, why);
	if (rc == VG_OK) {
		rc = vg_write_file_atomic(dest, buf, len, 0644);
		if (rc != VG_OK)
			say(why, dest, "cannot write the target");
	} else if (rc != VG_ERR_IO && rc != VG_ERR_NOT_FOUND) {
		char tmp[VG_TUF_WHY_LEN];
		(void)snprintf(tmp, sizeof tmp, "target %.100s: %.140s", path, why);
		memcpy(why, tmp, sizeof tmp);
	}
	free(buf);
	return rc;
}
