/*
 * ep_report - reports a TLS connection's outcome for an endpoint through
 * libvoxguard's vg_endpoint_report, as the secure channel does, for the
 * endpoint-list integration test (test_sfr428_endpoints.sh).
 *
 *   ep_report SOCKET NAME PEER OK [REASON]
 *
 * OK is 1 (accepted) or 0 (refused). Prints "ok", or the error and the
 * service's reason, and exits 0 or 2.
 */
#include <stdio.h>
#include <string.h>

#include "voxguard/tls.h"

int main(int argc, char **argv)
{
	vg_client *c = NULL;
	vg_rc rc;

	if (argc < 5 || (strcmp(argv[4], "0") != 0 && strcmp(argv[4], "1") != 0)) {
		(void)fprintf(stderr, "usage: ep_report SOCKET NAME PEER 0|1 [REASON]\n");
		return 2;
	}
	rc = vg_client_open(&c, argv[1]);
	if (rc == VG_OK)
		rc = vg_endpoint_report(c, argv[2], argv[3], argv[4][0] == '1',
					argc > 5 ? argv[5] : NULL);
	if (rc != VG_OK) {
		(void)printf("%s: %s\n", vg_rc_str(rc), vg_client_last_error(c));
		vg_client_close(&c);
		return 2;
	}
	(void)printf("ok\n");
	vg_client_close(&c);
	return 0;
}
