/*
 * fuzz_tuf.c - libFuzzer harness for the TUF trusted set (src/update/tuf.h;
 * SFR 4.2.6 secure update, AVS 1.1 signed updates: every metadata file
 * comes from a repository or a mirror and is parsed before it is trusted).
 *
 * Each input is one selector byte and the bytes of one metadata file, fed
 * to a fresh vg_tuf_set made from the embedded root.json (reference time
 * 2030-01-01T00:00:00Z):
 *   0 root (the next version)     3 snapshot, as downloaded
 *   1 timestamp                   4 targets (top-level)
 *   2 snapshot, as stored locally 5 delegated targets ("delegated", by targets)
 *   6 the helpers: vg_tuf_parse_time, vg_tuf_quote, vg_tuf_check_file
 * The roles before the selected one are the embedded, valid ones (the
 * timestamp and snapshot give versions only, no hashes, so a mutated file
 * reaches the parser and the signature check); when the fuzzed file is
 * accepted, the embedded roles after it follow, and an accepted targets
 * role is explored with vg_tuf_target_info, vg_tuf_children,
 * vg_tuf_role_meta and vg_tuf_check_file. Invariants (abort on violation):
 * every reason is terminated and given on failure; a refused root leaves
 * version 1; a refused file is not in the set, except an expired
 * timestamp or snapshot (tuf.h: kept for rollback protection) and a
 * snapshot of another version than the timestamp names (kept, with
 * VG_ERR_ROLLBACK, as python-tuf does; tuf.h does not say so).
 *
 * The embedded metadata and the seed corpus (fuzz/corpus/tuf/: the
 * selector byte, then the file) are signed by Ed25519 keys whose private
 * keys are SHA-256("voxguard fuzz_tuf ROLE") for ROLE = root, timestamp,
 * snapshot, targets, delegated (and "other", which no role has), written
 * with src/update/tuf_repo.h, expiring 2099-01-01T00:00:00Z.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "update/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1893456000) /* 2030-01-01T00:00:00Z */

enum {
	SEL_ROOT,
	SEL_TIMESTAMP,
	SEL_SNAPSHOT_LOCAL,
	SEL_SNAPSHOT,
	SEL_TARGETS,
	SEL_DELEGATED,
	SEL_HELPERS,
	SEL_N
};

/* root v1: one key per top-level role, threshold 1, consistent snapshots */
static const char root_json[] =
    "{\n"
    " \"signatures\": [\n"
    "  {\n"
    "   \"keyid\": \"a2b1466de5ff3e1d004f98eb8aec431c822df2856ff5157cb24e317198efa9ee\",\n"
    "   \"sig\": "
    "\"62ef0a742b315da1e6a1a8383c9aceffbde472c3a5ffa55e01e7a6ff330e0d25e8ec43b4a20a4fa6cb5193c8b3e1"
    "a20c24b6be21d5b88d002b552648cd7e2603\"\n"
    "  }\n"
    " ],\n"
    " \"signed\": {\n"
    "  \"_type\": \"root\",\n"
    "  \"consistent_snapshot\": true,\n"
    "  \"expires\": \"2099-01-01T00:00:00Z\",\n"
    "  \"keys\": {\n"
    "   \"2263b355531afe7c579f85c924d22b803b33bbd609332591e77377a8e8804f50\": {\n"
    "    \"keytype\": \"ed25519\",\n"
    "    \"keyval\": {\n"
    "     \"public\": \"7624a9a604e9755df8cd107f5e77e048cb566e33df566c26226a7e44fb79ffed\"\n"
    "    },\n"
    "    \"scheme\": \"ed25519\"\n"
    "   },\n"
    "   \"4dfd765df06cdd816915f03407b552a196c2a6b0de0d9ef1f48a89ad9c764245\": {\n"
    "    \"keytype\": \"ed25519\",\n"
    "    \"keyval\": {\n"
    "     \"public\": \"c02dda095f69edee700944d8e1771c1ac2b91dd5af155a70d47a01a952637ec3\"\n"
    "    },\n"
    "    \"scheme\": \"ed25519\"\n"
    "   },\n"
    "   \"584361ce0becee4903668d08149a80cc8e19302a21e2319d46b17c365d79ca18\": {\n"
    "    \"keytype\": \"ed25519\",\n"
    "    \"keyval\": {\n"
    "     \"public\": \"7e5f042418195c5bcb3c6e365c5622b8d913a671ead942572f888ce2c9c7f50a\"\n"
    "    },\n"
    "    \"scheme\": \"ed25519\"\n"
    "   },\n"
    "   \"a2b1466de5ff3e1d004f98eb8aec431c822df2856ff5157cb24e317198efa9ee\": {\n"
    "    \"keytype\": \"ed25519\",\n"
    "    \"keyval\": {\n"
    "     \"public\": \"062634fddd433515b0fe2529650193f84820445d1431eb325824d5fead09acde\"\n"
    "    },\n"
    "    \"scheme\": \"ed25519\"\n"
    "   }\n"
    "  },\n"
    "  \"roles\": {\n"
    "   \"root\": {\n"
    "    \"keyids\": [\n"
    "     \"a2b1466de5ff3e1d004f98eb8aec431c822df2856ff5157cb24e317198efa9ee\"\n"
    "    ],\n"
    "    \"threshold\": 1\n"
    "   },\n"
    "   \"snapshot\": {\n"
    "    \"keyids\": [\n"
    "     \"4dfd765df06cdd816915f03407b552a196c2a6b0de0d9ef1f48a89ad9c764245\"\n"
    "    ],\n"
    "    \"threshold\": 1\n"
    "   },\n"
    "   \"targets\": {\n"
    "    \"keyids\": [\n"
    "     \"2263b355531afe7c579f85c924d22b803b33bbd609332591e77377a8e8804f50\"\n"
    "    ],\n"
    "    \"threshold\": 1\n"
    "   },\n"
    "   \"timestamp\": {\n"
    "    \"keyids\": [\n"
    "     \"584361ce0becee4903668d08149a80cc8e19302a21e2319d46b17c365d79ca18\"\n"
    "    ],\n"
    "    \"threshold\": 1\n"
    "   }\n"
    "  },\n"
    "  \"spec_version\": \"1.0.31\",\n"
    "  \"version\": 1\n"
    " }\n"
    "}";

/* timestamp v1 (snapshot version 1), snapshot v1 (targets.json and
 * delegated.json version 1), targets v1 (hello.txt, a/x.txt; delegations:
 * "delegated" for the paths under a/ and b/, then "hashed", terminating,
 * for path_hash_prefixes ["8"]) */
static const char timestamp_json[] =
    "{\n"
    " \"signatures\": [\n"
    "  {\n"
    "   \"keyid\": \"584361ce0becee4903668d08149a80cc8e19302a21e2319d46b17c365d79ca18\",\n"
    "   \"sig\": "
    "\"a4e531b354824e26475d4e30bf270e21caf819162df08cac0bc239a03cb8b7380418e3e0fe9f3008d50ca78978c5"
    "e02e9d547c09ae231b997e3ddd93cc4cab0b\"\n"
    "  }\n"
    " ],\n"
    " \"signed\": {\n"
    "  \"_type\": \"timestamp\",\n"
    "  \"expires\": \"2099-01-01T00:00:00Z\",\n"
    "  \"meta\": {\n"
    "   \"snapshot.json\": {\n"
    "    \"version\": 1\n"
    "   }\n"
    "  },\n"
    "  \"spec_version\": \"1.0.31\",\n"
    "  \"version\": 1\n"
    " }\n"
    "}";

static const char snapshot_json[] =
    "{\n"
    " \"signatures\": [\n"
    "  {\n"
    "   \"keyid\": \"4dfd765df06cdd816915f03407b552a196c2a6b0de0d9ef1f48a89ad9c764245\",\n"
    "   \"sig\": "
    "\"134318a2fc49e01ec1b7c25efaa2c8272ccb194ec95f624d287fb2c17700b36b7cd53cdadd94a09446b0694ea1b6"
    "1721d0b8e2965a4837b49c6f635f0fe0a502\"\n"
    "  }\n"
    " ],\n"
    " \"signed\": {\n"
    "  \"_type\": \"snapshot\",\n"
    "  \"expires\": \"2099-01-01T00:00:00Z\",\n"
    "  \"meta\": {\n"
    "   \"delegated.json\": {\n"
    "    \"version\": 1\n"
    "   },\n"
    "   \"targets.json\": {\n"
    "    \"version\": 1\n"
    "   }\n"
    "  },\n"
    "  \"spec_version\": \"1.0.31\",\n"
    "  \"version\": 1\n"
    " }\n"
    "}";

static const char targets_json[] =
    "{\n"
    " \"signatures\": [\n"
    "  {\n"
    "   \"keyid\": \"2263b355531afe7c579f85c924d22b803b33bbd609332591e77377a8e8804f50\",\n"
    "   \"sig\": "
    "\"f6586798f0cbac0ec7ed5cabf0d1187fe0a1783d57a3e9b531830a50621545cfe463fa73787999ae8c9bf2e543ec"
    "54d1b86bafa8a9db9d6037c7f9bd04984509\"\n"
    "  }\n"
    " ],\n"
    " \"signed\": {\n"
    "  \"_type\": \"targets\",\n"
    "  \"delegations\": {\n"
    "   \"keys\": {\n"
    "    \"ae23421179d6a55cfc6be135cccd7cc89e1972d58ec26186405f43677e9d2e31\": {\n"
    "     \"keytype\": \"ed25519\",\n"
    "     \"keyval\": {\n"
    "      \"public\": \"298e4fa95f83f01a28eccdb5115944afd5d058c26e0239b144b93d3a06f445c1\"\n"
    "     },\n"
    "     \"scheme\": \"ed25519\"\n"
    "    }\n"
    "   },\n"
    "   \"roles\": [\n"
    "    {\n"
    "     \"keyids\": [\n"
    "      \"ae23421179d6a55cfc6be135cccd7cc89e1972d58ec26186405f43677e9d2e31\"\n"
    "     ],\n"
    "     \"name\": \"delegated\",\n"
    "     \"paths\": [\n"
    "      \"a/*\",\n"
    "      \"b/*\"\n"
    "     ],\n"
    "     \"terminating\": false,\n"
    "     \"threshold\": 1\n"
    "    },\n"
    "    {\n"
    "     \"keyids\": [\n"
    "      \"ae23421179d6a55cfc6be135cccd7cc89e1972d58ec26186405f43677e9d2e31\"\n"
    "     ],\n"
    "     \"name\": \"hashed\",\n"
    "     \"path_hash_prefixes\": [\n"
    "      \"8\"\n"
    "     ],\n"
    "     \"terminating\": true,\n"
    "     \"threshold\": 1\n"
    "    }\n"
    "   ]\n"
    "  },\n"
    "  \"expires\": \"2099-01-01T00:00:00Z\",\n"
    "  \"spec_version\": \"1.0.31\",\n"
    "  \"targets\": {\n"
    "   \"a/x.txt\": {\n"
    "    \"hashes\": {\n"
    "     \"sha256\": \"73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac\"\n"
    "    },\n"
    "    \"length\": 2\n"
    "   },\n"
    "   \"hello.txt\": {\n"
    "    \"hashes\": {\n"
    "     \"sha256\": \"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"\n"
    "    },\n"
    "    \"length\": 6\n"
    "   }\n"
    "  },\n"
    "  \"version\": 1\n"
    " }\n"
    "}";

static char why[VG_TUF_WHY_LEN];

static void why_reset(void)
{
	memset(why, 'x', sizeof why);
}

/* A refusal gives a terminated, non-empty reason. */
static void why_check(vg_rc rc)
{
	if (rc == VG_OK)
		return;
	if (!memchr(why, 0, sizeof why))
		abort();
	if (rc != VG_ERR_NOMEM && rc != VG_ERR_CRYPTO && why[0] == '\0')
		abort();
}

static const uint8_t *u8(const char *s)
{
	return (const uint8_t *)s;
}

/* Paths to try on an accepted targets role besides its own. */
static const char *const fixed_paths[] = {"hello.txt", "a/x.txt", "b/y.txt",  "c/z.txt",
					  "",          "a/",      "/a/x.txt", "a/b/c"};

static void explore_path(const vg_tuf_set *s, const char *role, const char *path,
			 const uint8_t *data, size_t size)
{
	vg_tuf_child kids[8];
	size_t n = 99;
	char q[256];
	const json_t *info = vg_tuf_target_info(s, role, path);
	vg_rc rc;

	if (info) {
		why_reset();
		rc = vg_tuf_check_file(info, data, size, true, why);
		why_check(rc);
	}
	rc = vg_tuf_children(s, role, path, kids, VG_ARRAY_LEN(kids), &n);
	if (rc == VG_OK) {
		if (n > VG_ARRAY_LEN(kids))
			abort();
		for (size_t i = 0; i < n; i++) {
			uint64_t v = 0, l = 0;
			if (!kids[i].name || strlen(kids[i].name) >= sizeof kids[i].succinct_name)
				abort();
			rc = vg_tuf_role_meta(s, kids[i].name, &v, &l);
			if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
				abort();
		}
	} else if (rc != VG_ERR_TOO_LARGE) {
		abort();
	}
	rc = vg_tuf_quote(path, q, sizeof q);
	if (rc == VG_OK && !memchr(q, 0, sizeof q))
		abort();
}

/* The targets role just accepted from data: each path it lists must be
 * found, then the fixed ones. */
static void explore(const vg_tuf_set *s, const char *role, const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	const json_t *t = json_object_get(json_object_get(doc, "signed"), "targets");
	const char *path;
	json_t *v;
	size_t count = 0;

	if (!doc || !json_is_object(t))
		abort(); /* it was accepted: it parses */
	json_object_foreach((json_t *)t, path, v)
	{
		if (count++ == 32)
			break;
		if (!vg_tuf_target_info(s, role, path))
			abort();
		explore_path(s, role, path, data, size);
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(fixed_paths); i++)
		explore_path(s, role, fixed_paths[i], data, size);
	json_decref(doc);
}

static vg_rc feed_targets(vg_tuf_set *s, const char *role, const char *delegator,
			  const uint8_t *data, size_t size)
{
	vg_rc rc;

	why_reset();
	rc = vg_tuf_update_targets(s, role, delegator, data, size, why);
	why_check(rc);
	if ((rc == VG_OK) != vg_tuf_have(s, role))
		abort();
	if (rc == VG_OK)
		explore(s, role, data, size);
	return rc;
}

static vg_rc feed_snapshot(vg_tuf_set *s, const uint8_t *data, size_t size, bool local)
{
	vg_rc rc;

	why_reset();
	rc = vg_tuf_update_snapshot(s, data, size, local, why);
	why_check(rc);
	if (rc == VG_OK && !vg_tuf_have(s, "snapshot"))
		abort();
	if (rc != VG_OK && rc != VG_ERR_STATE && rc != VG_ERR_ROLLBACK &&
	    vg_tuf_have(s, "snapshot"))
		abort();
	return rc;
}

static vg_rc feed_timestamp(vg_tuf_set *s, const uint8_t *data, size_t size)
{
	uint64_t v = 0, l = 0;
	vg_rc rc;

	why_reset();
	rc = vg_tuf_update_timestamp(s, data, size, why);
	why_check(rc);
	/* VG_ERR_STATE: an expired root (nothing stored) or timestamp (stored) */
	if (rc == VG_OK ? !vg_tuf_have(s, "timestamp")
			: rc != VG_ERR_STATE && vg_tuf_have(s, "timestamp"))
		abort();
	if (rc == VG_OK && vg_tuf_snapshot_meta(s, &v, &l) != VG_OK)
		abort();
	return rc;
}

static void helpers(const uint8_t *data, size_t size)
{
	char *str = malloc(size + 1), *q;
	size_t cap;
	time_t t = 0;
	json_t *info;
	vg_rc rc;

	if (!str)
		return;
	memcpy(str, data, size);
	str[size] = '\0';
	if (vg_tuf_parse_time(str, &t) && strlen(str) != 20)
		abort();
	/* Enough room always works; a short buffer is refused, not overrun. */
	cap = 3 * strlen(str) + 1;
	q = malloc(cap);
	if (q) {
		if (vg_tuf_quote(str, q, cap) != VG_OK || strlen(q) >= cap)
			abort();
		free(q);
	}
	cap = size % 17 + 1;
	q = malloc(cap);
	if (q) {
		rc = vg_tuf_quote(str, q, cap);
		if (rc == VG_OK ? strlen(q) >= cap : rc != VG_ERR_TOO_LARGE)
			abort();
		free(q);
	}
	info = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (info) {
		why_reset();
		rc = vg_tuf_check_file(info, data, size, size & 1, why);
		why_check(rc);
		json_decref(info);
	}
	free(str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_tuf_set *s = NULL;
	unsigned sel;
	vg_rc rc;

	if (size < 1)
		return 0;
	sel = data[0] % SEL_N;
	data++;
	size--;
	if (sel == SEL_HELPERS) {
		helpers(data, size);
		return 0;
	}
	why_reset();
	if (vg_tuf_set_new(&s, u8(root_json), sizeof root_json - 1, NOW, why) != VG_OK)
		abort();
	if (vg_tuf_root_version(s) != 1 || !vg_tuf_consistent_snapshot(s))
		abort();

	if (sel == SEL_ROOT) {
		why_reset();
		rc = vg_tuf_update_root(s, data, size, why);
		why_check(rc);
		if (vg_tuf_root_version(s) != (rc == VG_OK ? 2u : 1u))
			abort();
		if (rc != VG_OK)
			goto out;
		why_reset();
		why_check(vg_tuf_check_root(s, why));
	}
	rc = sel == SEL_TIMESTAMP
		 ? feed_timestamp(s, data, size)
		 : feed_timestamp(s, u8(timestamp_json), sizeof timestamp_json - 1);
	if (rc != VG_OK)
		goto out;
	if (sel == SEL_SNAPSHOT_LOCAL || sel == SEL_SNAPSHOT)
		rc = feed_snapshot(s, data, size, sel == SEL_SNAPSHOT_LOCAL);
	else
		rc = feed_snapshot(s, u8(snapshot_json), sizeof snapshot_json - 1, false);
	if (rc != VG_OK)
		goto out;
	if (sel == SEL_TARGETS)
		rc = feed_targets(s, "targets", "root", data, size);
	else
		rc = feed_targets(s, "targets", "root", u8(targets_json), sizeof targets_json - 1);
	if (rc != VG_OK || sel != SEL_DELEGATED)
		goto out;
	(void)feed_targets(s, "delegated", "targets", data, size);
out:
	vg_tuf_set_free(&s);
	if (s)
		abort();
	return 0;
}
