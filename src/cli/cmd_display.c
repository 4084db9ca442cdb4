/* cmd_display.c - `voxguard display ...`: the display IPC guard (AVS 1.14;
 * docs/DISPLAY.md). `token` is the launcher's: it prints a one-time token
 * for the display client; `redeem` is what a gateway does with it (for
 * gateways written as scripts, and the tests); the token is read from
 * standard input, never from the command line that `ps` shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "voxguard/display.h"

static int display_token(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "origin=";
	struct cli_opts o;
	vg_client *c = NULL;
	char token[VG_DISPLAY_TOKEN_LEN + 1];
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	const char *origin;
	vg_rc rc;

	if (e)
		return e;
	origin = cli_opt(&o, spec, "origin");
	if (!origin)
		return cli_fail("display token: --origin https://HOST[:PORT] is required");
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_display_token_issue(c, origin, token, sizeof token);
	if (rc == VG_OK)
		(void)printf("%s\n", token);
	else
		e = cli_fail_rc(c, "display token", rc);
	vg_wipe(token, sizeof token);
	vg_client_close(&c);
	return e;
}

static int display_redeem(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "origin=";
	struct cli_opts o;
	vg_client *c = NULL;
	char line[VG_DISPLAY_TOKEN_LEN + 3];
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	const char *origin;
	size_t n;
	vg_rc rc;

	if (e)
		return e;
	origin = cli_opt(&o, spec, "origin");
	if (!origin)
		return cli_fail("display redeem: --origin ORIGIN is required");
	if (!fgets(line, sizeof line, stdin))
		line[0] = '\0';
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if ((e = cli_connect(cli, &c))) {
		vg_wipe(line, sizeof line);
		return e;
	}
	rc = vg_display_token_redeem(c, line, origin);
	vg_wipe(line, sizeof line);
	if (rc == VG_OK) {
		(void)printf("redeemed\n");
	} else if (rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_REPLAY) {
		(void)fprintf(stderr, "voxguard: display redeem: %s\n", vg_client_last_error(c));
		e = EXIT_NEGATIVE;
	} else {
		e = cli_fail_rc(c, "display redeem", rc);
	}
	vg_client_close(&c);
	return e;
}

static const struct cli_cmd display_cmds[] = {
    {"token", display_token,
     "--origin https://HOST[:PORT]: a one-time token for the display client (a launcher uid)"},
    {"redeem", display_redeem,
     "--origin ORIGIN < TOKEN: redeem a token (a gateway uid); exit 1 when refused"},
};

int cmd_display(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "display", display_cmds, VG_ARRAY_LEN(display_cmds), argc, argv);
}
