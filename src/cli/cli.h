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

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define EXIT_NEGATIVE 1
#define EXIT_ERROR    2

struct cli {
	const char *socket;       /* --socket, or NULL for $VOXGUARD_SOCKET/default */
	int64_t owner;            /* --owner, -1 for the caller's own namespace */
	const char *service_user; /* --service-user, or NULL for
				   * $VOXGUARD_SERVICE_USER/the build's default */
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
/* `voxguard pcr-policy sign|verify|show` (cmd_pcrpolicy.c). */
int cmd_pcr_policy(struct cli *cli, int argc, char **argv);
int cmd_tuf_client(struct cli *cli, int argc, char **argv);
int cmd_repo(struct cli *cli, int argc, char **argv);
int cmd_bundle(struct cli *cli, int argc, char **argv);
int cmd_update(struct cli *cli, int argc, char **argv);
int cmd_endpoint(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_netpolicy(struct cli *cli, int argc, char **argv);
/* `voxguard stream encrypt|decrypt` (cmd_stream.c): audio streams. */
int cmd_stream(struct cli *cli, int argc, char **argv);
/* `voxguard display ...` (cmd_display.c): the display IPC guard. */
int cmd_display(struct cli *cli, int argc, char **argv);
/* `voxguard bluetooth ...` (cmd_bluetooth.c): SC Only, LE Privacy (AVS 1.9-1.12). */
int cmd_bluetooth(struct cli *cli, int argc, char **argv);
/* `voxguard mic ...` (cmd_mic.c): the mute switch, its indicator (AVS 1.15). */
int cmd_mic(struct cli *cli, int argc, char **argv);
/* `voxguard doctor` (cmd_doctor.c): the posture audit (AVS 1.2, 1.13). */
int cmd_doctor(struct cli *cli, int argc, char **argv);
/* `voxguard connect ENDPOINT` (cmd_connect.c). */
int cmd_connect(struct cli *cli, int argc, char **argv);
/* `voxguard sandbox ... -- PROGRAM` (cmd_sandbox.c): Landlock launcher. */
int cmd_sandbox(struct cli *cli, int argc, char **argv);
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

/* The command about to run ("key sign", its table help "NAME --in F ...:
 * what it does"): cli_parse() names a missing argument from it and prints
 * it for --help. main() sets it for top-level commands, cli_dispatch()
 * for subcommands. */
void cli_set_usage(const char *group, const char *name, const char *help);

/* Runs the subcommand named argv[0] from table (argc >= 1); "GROUP --help"
 * lists the subcommands on stdout (exit 0). */
int cli_dispatch(struct cli *cli, const char *group, const struct cli_cmd *table, size_t n,
		 int argc, char **argv);

/* Prints "voxguard: <fmt>" to stderr and returns EXIT_ERROR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports rc from a service call, with the service's reason if any. */
int cli_fail_rc(vg_client *c, const char *what, vg_rc rc);

/* Connects (and applies --owner and the saved admin session, if any),
 * after checking the server is the voxguard service (vg_client_open_as). */
int cli_connect(struct cli *cli, vg_client **c);

/* Where the admin session token is kept: $VOXGUARD_SESSION (a file path;
 * or the token itself, 64 hex digits), else
 * $XDG_RUNTIME_DIR/voxguard/session, else /run/user/UID/voxguard/session,
 * else $HOME/.cache/voxguard/session; the voxguard directory must belong
 * to the caller with no group or other access (created 0700 when create
 * is set). Returns 0 with l->path and the cli_write_ex() flags to write
 * it with, 1 if VOXGUARD_SESSION is the token, -1 with l->why. */
struct cli_session_loc {
	char path[4096];
	unsigned wflags;
	char why[8800];
};
int cli_session_where(struct cli_session_loc *l, bool create);
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
/* A string from the service as JSON, never lost to a byte that is not
 * UTF-8 (replaced by '?'): null for NULL (_ne: also for ""). */
json_t *cli_json_str(const char *s);
json_t *cli_json_str_ne(const char *s);
/* Prints o on stdout as every --json does (2-space indent, members in
 * order, a newline) and releases it; o NULL is "out of memory". */
int cli_print_json(json_t *o);

/* Options of spec ("in=,out=,json": '=' takes a value) and min_pos to
 * max_pos positional arguments. A missing one is named from the command's
 * usage (cli_set_usage); --help prints that usage on stdout and exits 0. */
/* `--help` for a command that parses its own arguments: prints the usage
 * set by cli_set_usage() (the table's help) on stdout and exits 0. */
void cli_help_exit(void);
int cli_parse(const char *spec, int argc, char **argv, struct cli_opts *o, size_t min_pos,
	      size_t max_pos);
const char *cli_opt(const struct cli_opts *o, const char *spec, const char *name);
bool cli_flag(const struct cli_opts *o, const char *spec, const char *name);

/* A public key from a PEM file (a public key, or a private key whose public
 * half is taken) as SubjectPublicKeyInfo DER; free with OPENSSL_free. */
int cli_read_pubkey(const char *path, uint8_t **der, size_t *len);

/* Reads a file ("-" or NULL: stdin) of at most max bytes. */
vg_rc cli_read(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes a file ("-" or NULL: stdout) the safe way (see io.c): never
 * through a symbolic link, never into a FIFO, socket or device; in a
 * directory others can write only as a new file (O_EXCL); elsewhere
 * atomically (temporary, fsync, rename, fsync). New files are 0600.
 * Returns 0, or EXIT_ERROR after one line on stderr saying why. */
int cli_write(const char *path, const void *buf, size_t len);
/* cli_write with flags: */
#define CLI_OUT_PRIVATE_DIR 0x1u /* refuse unless the directory is the caller's, 0700 */
#define CLI_OUT_REPLACE_OWN \
	0x2u /* in a sticky shared directory of root's or the
				  * caller's, the caller's own file may be replaced */
#define CLI_OUT_PUBLIC \
	0x4u /* a public document (a manifest): 0644, for the service's user
	      * to read; never for a secret */
int cli_write_ex(const char *path, const void *buf, size_t len, unsigned flags);
/* The checks of cli_write without writing: before a one-time secret
 * (setup code, audit seed) is taken from the service. */
int cli_write_check(const char *path);

/* For writers that stream a large output to a path of their own: begin
 * checks path like cli_write and gives o->path to write (in a private
 * directory beside path); commit moves it onto path by the same rules;
 * abort (also done by commit) removes what is left. */
struct cli_out {
	char path[4096 + 256 + 8];
	char tmpdir[256];
	int tmpfd;
	void *d;
};
int cli_out_begin(struct cli_out *o, const char *path);
int cli_out_commit(struct cli_out *o, const char *path);
void cli_out_abort(struct cli_out *o);

#endif
