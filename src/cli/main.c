/*
 * voxguard - the one command-line tool of voxguard, on the device and on
 * the build host.
 *
 *   voxguard [--socket PATH] [--owner UID] COMMAND ...
 *
 * Commands that talk to voxguardd use --socket, else $VOXGUARD_SOCKET,
 * else /run/voxguard/voxguard.sock. Offline commands (log verify) need no
 * service.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "version.h"

static int cmd_help(struct cli *cli, int argc, char **argv);
static int cmd_version(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	int e = cli_parse("", argc, argv, &o, 0, 0);

	(void)cli;
	if (e)
		return e;
	(void)printf("voxguard %s\n", VG_VERSION_STRING);
	return 0;
}

static const struct cli_cmd commands[] = {
    {"status", cmd_status, "[--uid UID] [--json]: the service's state, your identity and budget"},
    {"key", cmd_key,
     "keystore: create, list, info, public, delete, sign, verify, encrypt, "
     "decrypt, mac, reference"},
    {"store", cmd_store, "secure storage: put, get, list, delete"},
    {"provision", cmd_provision,
     "--oem N --model N --hw-rev R --setup-code-out F [--release-key P] [--tuf-root R]: "
     "factory provisioning (once)"},
    {"identity", cmd_identity,
     "[--json | --public-key | --csr-out F [--cn CN] | --set-cert F | --cert]: device "
     "identity"},
    {"attest", cmd_attest, "--nonce HEX --out TOKEN: a PSA attestation token (RFC 9783)"},
    {"verify-token", cmd_verify_token,
     "TOKEN --key PEM [--nonce HEX] [--reference F] [--json]: check a PSA attestation "
     "token offline"},
    {"log", cmd_log, "audit log: show, export, verify (offline), seed"},
    {"admin", cmd_admin, "admin access: setup, login, logout, passwd, key (add, delete, login)"},
    {"factory-reset", cmd_factory_reset, "[--yes]: erase all user data and admin credentials"},
    {"debug", cmd_debug, "secure debugging: challenge, unlock, lock (OEM debug key)"},
    {"manifest", cmd_manifest, "signed platform manifest (build host): create, sign, verify, show"},
    {"verify-platform", cmd_verify_platform,
     "[--json]: secure initialization: exit 0 only if the platform is genuine"},
    {"pcr-policy", cmd_pcr_policy,
     "signed PCR policies for a root key sealed to the measured boot (build host): sign, "
     "verify, show"},
    {"bundle", cmd_bundle, "update bundles: create (build host), verify, install into a slot"},
    {"update", cmd_update,
     "A/B updates on the device: install, check, download, mark-good, status, key"},
    {"endpoint", cmd_endpoint,
     "secure communication endpoints (SFR 4.2.8): add, list, show, remove"},
    {"config", cmd_config,
     "configuration sealed for one application (AVS SDK): seal, remove, list, get, exec"},
    {"repo", cmd_repo, "TUF repository (build host): init, add, sign, root, publish, expire"},
    {"tuf-client", cmd_tuf_client,
     "TUF client (tuf-conformance CLI): --metadata-dir D init ROOT | refresh | download"},
    {"bluetooth", cmd_bluetooth,
     "Bluetooth Secure Connections Only and LE Privacy (AVS 1.9-1.12): enforce, check, "
     "irk-id"},
    {"netpolicy", cmd_netpolicy,
     "nftables enforcement of the endpoint list (SFR 4.2.8): apply, show"},
    {"connect", cmd_connect,
     "ENDPOINT: a TLS pipe to a listed endpoint with its policy (stdin to the peer, the peer "
     "to stdout)"},
    {"stream", cmd_stream,
     "encrypted audio streams (HPKE + SFrame): encrypt --to PUB.pem, decrypt --key NAME "
     "(stdin to stdout)"},
    {"display", cmd_display,
     "the display IPC guard (AVS 1.14): token (launcher), redeem (gateway)"},
    {"mic", cmd_mic,
     "the microphone's mute switch (AVS 1.15): watch (switch -> indicator, audit), status"},
    {"sandbox", cmd_sandbox,
     "--ro P... --rw P... --exec P... -- PROGRAM ARGS: run PROGRAM under Landlock rules"},
    {"doctor", cmd_doctor,
     "[--root DIR] [--json] [--fail-on SEV]: the posture audit of the device or an image "
     "(AVS 1.2, 1.13)"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "[--all | COMMAND [SUBCOMMAND]]: this help, or a command's syntax"},
};

static void usage(FILE *out)
{
	(void)fprintf(out, "usage: voxguard [--socket PATH] [--service-user USER] [--owner UID] "
			   "COMMAND ...\n\n");
	for (size_t i = 0; i < VG_ARRAY_LEN(commands); i++)
		(void)fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
	(void)fprintf(out, "\n'voxguard help COMMAND [SUBCOMMAND]' (or 'voxguard COMMAND --help') "
			   "shows its syntax and subcommands;\n'voxguard help --all' shows every "
			   "command's. Exit status: 0 success, 1 negative answer, 2 error.\n");
}

/* `help COMMAND [SUBCOMMAND]` is `COMMAND [SUBCOMMAND] --help`; `help --all`
 * prints every command's usage, subcommands and their syntax included. */
static int command_help(struct cli *cli, size_t k, int argc, char **argv)
{
	char *args[3];
	int n = 0;

	for (int i = 0; i < argc && i < 1; i++)
		args[n++] = argv[i];
	args[n++] = (char *)"--help";
	args[n] = NULL;
	cli_set_usage(NULL, commands[k].name, commands[k].help);
	return commands[k].fn(cli, n, args);
}

static int cmd_help(struct cli *cli, int argc, char **argv)
{
	int e = 0;

	if (argc == 0 || (argc == 1 && strcmp(argv[0], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[0], "--all") == 0 && argc == 1) {
		usage(stdout);
		for (size_t k = 0; k < VG_ARRAY_LEN(commands); k++) {
			pid_t pid;
			int st;

			if (commands[k].fn == cmd_help)
				continue;
			(void)printf("\n");
			(void)fflush(stdout);
			/* a command's --help ends its process (cli_parse()) */
			if ((pid = fork()) < 0)
				return cli_fail("help: cannot fork: %s", strerror(errno));
			if (pid == 0) {
				int r = command_help(cli, k, 0, NULL);
				(void)fflush(stdout);
				_exit(r == 0 ? 0 : EXIT_ERROR);
			}
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				e = EXIT_ERROR;
		}
		return e;
	}
	if (argc > 2)
		return cli_fail("help takes a command and a subcommand at most (voxguard help "
				"COMMAND [SUBCOMMAND])");
	for (size_t k = 0; k < VG_ARRAY_LEN(commands); k++)
		if (strcmp(argv[0], commands[k].name) == 0)
			return commands[k].fn == cmd_help
				   ? (usage(stdout), 0)
				   : command_help(cli, k, argc - 1, argv + 1);
	return cli_fail("help: unknown command '%s' (see voxguard help)", argv[0]);
}

int main(int argc, char **argv)
{
	struct cli cli = {.socket = NULL, .owner = -1, .service_user = NULL};
	int i = 1;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			cli.socket = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--service-user") == 0 && i + 1 < argc) {
			cli.service_user = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc) {
			char *end;
			long long v = strtoll(argv[i + 1], &end, 10);
			if (*end || v < 0 || v > 0xFFFFFFFFLL)
				return cli_fail("--owner takes a uid");
			cli.owner = v;
			i += 2;
		} else if (strcmp(argv[i], "--help") == 0) {
			return cmd_help(&cli, 0, NULL);
		} else if (strcmp(argv[i], "--version") == 0) {
			return cmd_version(&cli, 0, NULL);
		} else {
			return cli_fail("unknown option %s (see voxguard help)", argv[i]);
		}
	}
	if (i >= argc) { /* a usage error: the usage goes with the other errors */
		usage(stderr);
		return EXIT_ERROR;
	}
	for (size_t k = 0; k < VG_ARRAY_LEN(commands); k++)
		if (strcmp(argv[i], commands[k].name) == 0) {
			cli_set_usage(NULL, commands[k].name, commands[k].help);
			return commands[k].fn(&cli, argc - i - 1, argv + i + 1);
		}
	return cli_fail("unknown command '%s' (see voxguard help)", argv[i]);
}
