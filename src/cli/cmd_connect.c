/* cmd_connect.c - `voxguard connect ENDPOINT`: a TLS pipe to an endpoint
 * of the device's list, with its policy (SFR 4.2.7, 4.2.8; AVS 1.3), like
 * `openssl s_client -quiet`: standard input to the peer, the peer to
 * standard output. Exit 0 on a clean close, 1 when the policy or a
 * verification refuses (the reason on stderr), 2 on any other error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tls/channel.h"

int cmd_connect(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_tls *t = NULL;
	char why[VG_TLS_WHY_LEN] = "";
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	(void)signal(SIGPIPE, SIG_IGN);
	/* The client key (if the endpoint names one) comes from the service
	 * c is connected to (--socket, --service-user): the channel's
	 * provider talks to it. */
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_tls_connect(c, o.pos[0], &t, why, sizeof why);
	if (rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_DENIED) {
		/* The policy refused: the endpoint is not listed for us, or the
		 * peer failed a check (reported to the service). */
		(void)fprintf(stderr, "voxguard: connect %s: refused: %s\n", o.pos[0],
			      why[0] ? why : vg_rc_str(rc));
		vg_client_close(&c);
		return EXIT_NEGATIVE;
	}
	if (rc != VG_OK) {
		e = cli_fail("connect %s: %s", o.pos[0], why[0] ? why : vg_rc_str(rc));
		vg_client_close(&c);
		return e;
	}
	e = vg_tls_pipe(t, STDIN_FILENO, STDOUT_FILENO, why, sizeof why);
	vg_tls_close(t);
	vg_client_close(&c);
	if (e == 1)
		(void)fprintf(stderr, "voxguard: connect %s: refused: %s\n", o.pos[0], why);
	else if (e)
		(void)fprintf(stderr, "voxguard: connect %s: %s\n", o.pos[0], why);
	return e;
}
