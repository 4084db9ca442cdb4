/*
 * cmd_repo.c - `voxguard repo`: a TUF repository in a directory that any
 * static HTTP server or CDN can serve (build host; SFR 4.2.6, AVS 1.1).
 * docs/UPDATE.md has the release process.
 *
 *   repo init DIR --root-key PUB [--root-key PUB2 ... --root-threshold N]
 *                 --targets-key PUB --snapshot-key PUB --timestamp-key PUB
 *   repo add DIR --name PATH FILE
 *   repo sign DIR root|targets --key PRIV
 *   repo root DIR --role ROLE [--add-key PUB] [--remove-key KEYID]
 *                 [--threshold N] [--expires-days N]
 *   repo publish DIR --snapshot-key PRIV --timestamp-key PRIV
 *   repo expire DIR --timestamp-key PRIV [--days N]
 *   repo keyid PUB
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli/cli.h"
#include "update/tuf.h"
#include "update/tuf_repo.h"

/* Options that may repeat: --NAME VALUE, up to 8 each. */
struct multi {
	const char *name;
	const char *val[8];
	size_t n;
};

static int collect(int argc, char **argv, struct multi *opts, size_t n_opts, const char **pos,
		   size_t max_pos, size_t *n_pos)
{
	*n_pos = 0;
	for (int i = 0; i < argc; i++) {
		struct multi *m = NULL;
		if (strcmp(argv[i], "--help") == 0)
			cli_help_exit();
		if (strncmp(argv[i], "--", 2) == 0) {
			for (size_t k = 0; k < n_opts; k++)
				if (strcmp(argv[i] + 2, opts[k].name) == 0)
					m = &opts[k];
			if (!m)
				return cli_fail("unknown option %s", argv[i]);
			if (i + 1 >= argc || m->n >= 8)
				return cli_fail("option %s needs a value (at most 8 times)", argv[i]);
			m->val[m->n++] = argv[++i];
		} else {
			if (*n_pos >= max_pos)
				return cli_fail("unexpected argument '%s'", argv[i]);
			pos[(*n_pos)++] = argv[i];
		}
	}
	return 0;
}

static EVP_PKEY *read_key(const char *path, bool priv)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (!f) {
		(void)cli_fail("cannot open %s", path);
		return NULL;
	}
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k && !priv) {
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	(void)fclose(f);
	if (!k)
		(void)cli_fail("%s: not a PEM %s key", path, priv ? "private" : "public or private");
	return k;
}

static int done(vg_rc rc, const char *what, const char *why)
{
	if (rc == VG_OK)
		return 0;
	return cli_fail("repo %s: %s", what, why[0] ? why : vg_rc_str(rc));
}

static int repo_init(int argc, char **argv)
{
	struct multi o[] = {{.name = "root-key"},      {.name = "timestamp-key"}, {.name = "snapshot-key"},
			    {.name = "targets-key"},   {.name = "root-threshold"}, {.name = "targets-threshold"},
			    {.name = "expires-days"}};
	vg_tuf_repo_init_opts io = {0};
	const char *pos[1];
	size_t np;
	char why[VG_TUF_WHY_LEN] = "";
	int e = collect(argc, argv, o, VG_ARRAY_LEN(o), pos, 1, &np);

	if (e)
		return e;
	if (np != 1 || !o[0].n || !o[1].n || !o[2].n || !o[3].n)
		return cli_fail("usage: voxguard repo init DIR --root-key PUB [...] --targets-key "
				"PUB --snapshot-key PUB --timestamp-key PUB [--root-threshold N] "
				"[--targets-threshold N]");
	for (int r = 0; r < VG_TUF_ROLES && !e; r++)
		for (size_t i = 0; i < o[r].n && !e; i++) {
			io.keys[r][i] = read_key(o[r].val[i], false);
			if (!io.keys[r][i])
				e = EXIT_ERROR;
			io.n_keys[r]++;
		}
	if (o[4].n)
		io.threshold[0] = (unsigned)atoi(o[4].val[0]);
	if (o[5].n)
		io.threshold[3] = (unsigned)atoi(o[5].val[0]);
	if (!e)
		e = done(vg_tuf_repo_init(pos[0], &io, why), "init", why);
	for (int r = 0; r < VG_TUF_ROLES; r++)
		for (size_t i = 0; i < io.n_keys[r]; i++)
			EVP_PKEY_free(io.keys[r][i]);
	if (!e)
		(void)printf("repository %s: root version 1 and empty targets staged in "
			     "%s/staged; sign them (repo sign) and publish\n",
			     pos[0], pos[0]);
	return e;
}

static int repo_add(int argc, char **argv)
{
	struct multi o[] = {{.name = "name"}};
	const char *pos[2];
	size_t np;
	char why[VG_TUF_WHY_LEN] = "";
	int e = collect(argc, argv, o, 1, pos, 2, &np);

	if (e)
		return e;
	if (np != 2)
		return cli_fail("usage: voxguard repo add DIR [--name TARGET-PATH] FILE");
	e = done(vg_tuf_repo_add(pos[0], o[0].n ? o[0].val[0] : pos[1], pos[1], why), "add", why);
	if (!e)
		(void)printf("added target %s (from %s) to %s: sign targets, then publish\n",
			     o[0].n ? o[0].val[0] : pos[1], pos[1], pos[0]);
	return e;
}

static int repo_sign(int argc, char **argv)
{
	struct multi o[] = {{.name = "key"}};
	const char *pos[2];
	size_t np;
	char why[VG_TUF_WHY_LEN] = "";
	EVP_PKEY *k;
	int e = collect(argc, argv, o, 1, pos, 2, &np);

	if (e)
		return e;
	if (np != 2 || !o[0].n)
		return cli_fail("usage: voxguard repo sign DIR root|targets --key PRIV.pem");
	k = read_key(o[0].val[0], true);
	if (!k)
		return EXIT_ERROR;
	e = done(vg_tuf_repo_sign(pos[0], pos[1], k, why), "sign", why);
	EVP_PKEY_free(k);
	if (!e)
		(void)printf("signed the staged %s metadata of %s with %s\n", pos[1], pos[0],
			     o[0].val[0]);
	return e;
}

static int repo_root(int argc, char **argv)
{
	struct multi o[] = {{.name = "role"}, {.name = "add-key"}, {.name = "remove-key"}, {.name = "threshold"}, {.name = "expires-days"}};
	const char *pos[1];
	size_t np;
	char why[VG_TUF_WHY_LEN] = "";
	EVP_PKEY *add = NULL;
	int e = collect(argc, argv, o, VG_ARRAY_LEN(o), pos, 1, &np);

	if (e)
		return e;
	if (np != 1 || !o[0].n)
		return cli_fail("usage: voxguard repo root DIR --role ROLE [--add-key PUB] "
				"[--remove-key KEYID] [--threshold N] [--expires-days N]");
	if (o[1].n && !(add = read_key(o[1].val[0], false)))
		return EXIT_ERROR;
	e = done(vg_tuf_repo_root_key(pos[0], o[0].val[0], add, o[2].n ? o[2].val[0] : NULL,
				      o[3].n ? (unsigned)atoi(o[3].val[0]) : 0,
				      o[4].n ? (unsigned)atoi(o[4].val[0]) : 0, why),
		 "root", why);
	EVP_PKEY_free(add);
	if (!e)
		(void)printf("a new root version is staged: sign it with the current root keys "
			     "and the new ones (repo sign DIR root), then publish\n");
	return e;
}

static int repo_publish(int argc, char **argv, bool only_timestamp)
{
	struct multi o[] = {{.name = "snapshot-key"}, {.name = "timestamp-key"}, {.name = "days"}};
	const char *pos[1];
	size_t np;
	char why[VG_TUF_WHY_LEN] = "";
	EVP_PKEY *sk = NULL, *tk = NULL;
	unsigned days;
	int e = collect(argc, argv, o, VG_ARRAY_LEN(o), pos, 1, &np);
	vg_rc rc;

	if (e)
		return e;
	if (np != 1 || !o[1].n || (!only_timestamp && !o[0].n))
		return cli_fail(only_timestamp
				    ? "usage: voxguard repo expire DIR --timestamp-key PRIV [--days N]"
				    : "usage: voxguard repo publish DIR --snapshot-key PRIV "
				      "--timestamp-key PRIV");
	days = o[2].n ? (unsigned)atoi(o[2].val[0]) : 0;
	tk = read_key(o[1].val[0], true);
	if (!only_timestamp)
		sk = read_key(o[0].val[0], true);
	if (!tk || (!only_timestamp && !sk)) {
		EVP_PKEY_free(sk);
		EVP_PKEY_free(tk);
		return EXIT_ERROR;
	}
	rc = only_timestamp ? vg_tuf_repo_expire(pos[0], tk, days, why)
			    : vg_tuf_repo_publish(pos[0], sk, tk, 0, days, why);
	e = done(rc, only_timestamp ? "expire" : "publish", why);
	if (!e)
		(void)printf("published %s/metadata and %s/targets (verified as a client would)\n",
			     pos[0], pos[0]);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(tk);
	return e;
}

static int repo_publish_cmd(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	return repo_publish(argc, argv, false);
}

static int repo_expire_cmd(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	return repo_publish(argc, argv, true);
}

static int repo_keyid(struct cli *cli, int argc, char **argv)
{
	EVP_PKEY *k;
	json_t *key;
	char id[65];

	(void)cli;
	if (argc >= 1 && strcmp(argv[0], "--help") == 0)
		cli_help_exit();
	if (argc != 1)
		return cli_fail("usage: voxguard repo keyid PUB.pem");
	k = read_key(argv[0], false);
	if (!k)
		return EXIT_ERROR;
	key = vg_tuf_key_new(k);
	EVP_PKEY_free(k);
	if (!key || vg_tuf_keyid(key, id) != VG_OK) {
		json_decref(key);
		return cli_fail("%s: only Ed25519 and P-256 keys", argv[0]);
	}
	json_decref(key);
	(void)printf("%s\n", id);
	return 0;
}

#define WRAP(fn)                                                                                   \
	static int fn##_cmd(struct cli *cli, int argc, char **argv)                               \
	{                                                                                          \
		(void)cli;                                                                         \
		return fn(argc, argv);                                                             \
	}
WRAP(repo_init)
WRAP(repo_add)
WRAP(repo_sign)
WRAP(repo_root)

int cmd_repo(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd table[] = {
	    {"init", repo_init_cmd,
	     "DIR --root-key PUB --targets-key PUB --snapshot-key PUB --timestamp-key PUB"},
	    {"add", repo_add_cmd, "DIR [--name TARGET-PATH] FILE"},
	    {"sign", repo_sign_cmd, "DIR root|targets --key PRIV"},
	    {"root", repo_root_cmd,
	     "DIR --role ROLE [--add-key PUB] [--remove-key KEYID] [--threshold N]"},
	    {"publish", repo_publish_cmd, "DIR --snapshot-key PRIV --timestamp-key PRIV"},
	    {"expire", repo_expire_cmd, "DIR --timestamp-key PRIV [--days N]"},
	    {"keyid", repo_keyid, "PUB: the TUF key ID of a key"},
	};
	return cli_dispatch(cli, "repo", table, VG_ARRAY_LEN(table), argc, argv);
}
