/*
 * cli.h - shared pieces of the `voxguard` command-line tool.
 *
 * Exit codes (stable interface): 0 success, 1 a negative answer (signature
 * invalid, verification failed), 2 usage or any error, with one line on
 * stderr.
 */
#ifndef VG_CLI_H
#define VG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define EXIT_NEGATIVE 1
#define EXIT_ERROR    2

struct cli {
	const char *socket; /* --socket, or NULL for $VOXGUARD_SOCKET/default */
	int64_t owner;      /* --owner, -1 for the caller's own namespace */
};

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *help;
};

int cmd_key(struct cli *cli, int argc, char **argv);
int cmd_store(struct cli *cli, int argc, char **argv);
int cmd_log(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_verify_token(struct cli *cli, int argc, char **argv);
int cmd_provision(struct cli *cli, int argc, char **argv);
int cmd_identity(struct cli *cli, int argc, char **argv);
int cmd_attest(struct cli *cli, int argc, char **argv);
int cmd_admin(struct cli *cli, int argc, char **argv);
int cmd_factory_reset(struct cli *cli, int argc, char **argv);
int cmd_debug(struct cli *cli, int argc, char **argv);
int cmd_manifest(struct cli *cli, int argc, char **argv);
int cmd_verify_platform(struct cli *cli, int argc, char **argv);
int cmd_tuf_client(struct cli *cli, int argc, char **argv);
int cmd_repo(struct cli *cli, int argc, char **argv);
int cmd_bundle(struct cli *cli, int argc, char **argv);
int cmd_update(struct cli *cli, int argc, char **argv);
/* Hands root.json (path) to the service as its trusted TUF root and
 * prints the version it trusts afterwards (`update trust-root`, and
 * `provision --tuf-root`). */
int cli_trust_root(vg_client *c, const char *path);

/* A progress bar with rate and ETA on stderr, drawn only on a terminal,
 * at most 5 times a second (a vg_bundle_progress callback). */
struct cli_bar {
	double t0, last;
	bool tty;
	const char *label; /* NULL: none */
};
void cli_bar_start(struct cli_bar *b, const char *label);
void cli_bar_progress(void *ctx, uint64_t done, uint64_t total);

/* Runs the subcommand named argv[0] from table (argc >= 1). */
int cli_dispatch(struct cli *cli, const char *group, const struct cli_cmd *table, size_t n,
		 int argc, char **argv);

/* Prints "voxguard: <fmt>" to stderr and returns EXIT_ERROR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports rc from a service call, with the service's reason if any. */
int cli_fail_rc(vg_client *c, const char *what, vg_rc rc);

/* Connects (and applies --owner and the saved admin session, if any). */
int cli_connect(struct cli *cli, vg_client **c);
/* Where the admin session token is kept: $VOXGUARD_SESSION (a file path;
 * or the token itself, 64 hex digits: returns 1), else
 * $XDG_RUNTIME_DIR/voxguard-session, else /run/user/UID/voxguard-session,
 * else /tmp/voxguard-UID/session (a 0700 dir we own). 0 with the path in
 * out, -1 if no safe place exists. */
int cli_session_path(char *out, size_t cap);

/* Options of a subcommand: `--name value` pairs and flags after positional
 * arguments. spec is a list like "in=,out=,json" (= takes a value). */
#define CLI_MAX_POS  17 /* manifest create: up to 16 components */
#define CLI_MAX_OPTS 12
struct cli_opts {
	const char *pos[CLI_MAX_POS];
	size_t n_pos;
	const char *val[CLI_MAX_OPTS];
	bool flag[CLI_MAX_OPTS];
};
int cli_parse(const char *spec, int argc, char **argv, struct cli_opts *o, size_t min_pos,
	      size_t max_pos);
const char *cli_opt(const struct cli_opts *o, const char *spec, const char *name);
bool cli_flag(const struct cli_opts *o, const char *spec, const char *name);

/* A public key from a PEM file (a public key, or a private key whose public
 * half is taken) as SubjectPublicKeyInfo DER; free with OPENSSL_free. */
int cli_read_pubkey(const char *path, uint8_t **der, size_t *len);

/* Reads a file ("-" or NULL: stdin) of at most max bytes. */
vg_rc cli_read(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes a file ("-" or NULL: stdout); files are created 0600, atomically. */
vg_rc cli_write(const char *path, const uint8_t *buf, size_t len);

#endif
