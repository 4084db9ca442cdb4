/* cmd_status.c - `voxguard status` */
#include <stdio.h>

#include "cli/cli.h"

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	vg_status st;
	int e = cli_parse("", argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_status_get(c, &st);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "status", rc);
		vg_client_close(&c);
		return e;
	}
	(void)printf("voxguardd:      %s\n", st.version);
	(void)printf("root of trust:  %s%s\n", st.rot_backend,
		     st.rot_is_dev ? " (DEVELOPMENT backend: root key in a file, no hardware "
				     "protection; not for production devices)"
				   : "");
	(void)printf("rot counter:    %llu\n", (unsigned long long)st.rot_counter);
	(void)printf("secure store:   %s%s\n", st.store_state,
		     st.store_state[0] == 'o'
			 ? ""
			 : " (records are refused; the detection is on the service's "
			   "journal: nothing is written to a store in this state)");
	(void)printf("audit log:      next record #%llu\n", (unsigned long long)st.audit_seq);
	(void)printf("lifecycle:      %s\n", st.lifecycle == 0x2000
						 ? "provisioning (not provisioned)"
					     : st.lifecycle == 0x3000 ? "secured"
					     : st.lifecycle == 0x4000 ? "non-PSA-RoT debug"
								      : "other");
	(void)printf("admin:          %s\n",
		     st.admin_configured < 0
			 ? "unknown: the sealed store is refused, so no admin credential can be "
			   "checked and admin operations are refused; a local admin's factory "
			   "reset is the way out (docs/FIELD.md)"
		     : st.admin_configured ? "set up (admin operations need a session)"
					   : "not set up (development device: admin operations "
					     "need no session; run `voxguard admin setup`)");
	(void)printf("debug:          %s\n",
		     st.debug_unlocked ? "UNLOCKED (applications' data sealed away)" : "locked");
	if (st.platform_state) {
		if (st.platform_version && st.platform_state[0] == 'n')
			(void)printf("platform:       normal (verified: platform %s, security "
				     "version %llu)\n",
				     st.platform_version, (unsigned long long)st.security_version);
		else if (st.platform_state[0] == 'r')
			(void)printf("platform:       RECOVERY: %s (application keys and records "
				     "are refused; see voxguard verify-platform)\n",
				     st.platform_why ? st.platform_why : "");
		else
			(void)printf("platform:       %s (%s)\n", st.platform_state,
				     st.platform_why ? st.platform_why : "");
	}
	(void)printf("you:            uid %u, role %s\n", st.uid, st.role);
	vg_status_free(&st);
	vg_client_close(&c);
	return 0;
}
