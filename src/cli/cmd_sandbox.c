/* cmd_sandbox.c - `voxguard sandbox`: runs a program under a Landlock
 * ruleset it cannot undo (AVS SDK least privilege and access control;
 * SFR 4.2.10), for what a systemd unit cannot say at file granularity:
 *
 *   voxguard sandbox [--best-effort] [--ro PATH...] [--rw PATH...]
 *                    [--exec PATH...] -- PROGRAM [ARGS...]
 *
 * Each of --ro, --rw and --exec takes one or more paths (up to the next
 * option), and may be repeated. The program and everything it runs may
 * read only beneath the --ro, --rw and --exec paths, write, create,
 * remove, rename and truncate only beneath the --rw paths, and execute
 * only the --exec paths (src/sandbox/landlock.h). no_new_privs is set
 * first. Without Landlock in the kernel it refuses (exit 2) unless
 * --best-effort, which then runs the program unrestricted and says so on
 * stderr. Nothing is printed on success: the program replaces this
 * process (same pid: a systemd unit's main process stays the program). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sandbox/landlock.h"

static int usage_to(FILE *f, int rc)
{
	(void)fprintf(f, "usage: voxguard sandbox [--best-effort] [--ro PATH...] [--rw "
			 "PATH...] [--exec PATH...] -- PROGRAM [ARGS...]\n");
	return rc;
}

static int usage(void)
{
	return usage_to(stderr, EXIT_ERROR);
}

int cmd_sandbox(struct cli *cli, int argc, char **argv)
{
	vg_landlock_rule *rules;
	size_t n = 0;
	unsigned flags = 0;
	int cls = -1, abi = 0, i, e;
	char err[512];
	vg_rc rc;

	(void)cli;
	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "--help") == 0)
		return usage_to(stdout, 0);
	/* At most one rule per argument. */
	rules = calloc((size_t)argc, sizeof *rules);
	if (!rules)
		return cli_fail("sandbox: out of memory");
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--ro") == 0) {
			cls = VG_LANDLOCK_RO;
		} else if (strcmp(a, "--rw") == 0) {
			cls = VG_LANDLOCK_RW;
		} else if (strcmp(a, "--exec") == 0) {
			cls = VG_LANDLOCK_EXEC;
		} else if (strcmp(a, "--best-effort") == 0) {
			flags |= VG_LANDLOCK_BEST_EFFORT;
			cls = -1;
		} else if (strncmp(a, "--", 2) == 0) {
			free(rules);
			(void)cli_fail("sandbox: unknown option %s", a);
			return usage();
		} else if (cls < 0) {
			free(rules);
			(void)cli_fail("sandbox: '%s' follows no --ro, --rw or --exec", a);
			return usage();
		} else {
			rules[n].path = a;
			rules[n].access = (vg_landlock_access)cls;
			n++;
		}
	}
	if (i >= argc - 1) {
		free(rules);
		(void)cli_fail("sandbox: no program after '--'");
		return usage();
	}
	rc = vg_landlock_apply(rules, n, flags, &abi, err, sizeof err);
	free(rules);
	if (rc != VG_OK)
		return cli_fail("sandbox: %s; %s not started", err[0] ? err : vg_rc_str(rc),
				argv[i + 1]);
	if (abi == 0)
		(void)fprintf(stderr,
			      "voxguard: sandbox: the kernel has no Landlock: running %s without "
			      "file rules (--best-effort)\n",
			      argv[i + 1]);
	(void)execvp(argv[i + 1], argv + i + 1);
	e = errno;
	if (e == EACCES && abi > 0)
		return cli_fail("sandbox: cannot run %s: %s (are it and its ELF interpreter, e.g. "
				"/lib64/ld-linux-x86-64.so.2, or its script's interpreter listed "
				"with --exec?)",
				argv[i + 1], strerror(e));
	return cli_fail("sandbox: cannot run %s: %s", argv[i + 1], strerror(e));
}
