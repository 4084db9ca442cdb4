/*
 * cmd_tuf.c - `voxguard tuf-client`: the TUF client behind the command-line
 * protocol of the TUF conformance suite (theupdateframework/tuf-conformance,
 * CLIENT-CLI.md), so that suite (or anyone) can drive voxguard's update
 * client directly:
 *
 *   voxguard tuf-client --metadata-dir DIR init TRUSTED_ROOT
 *   voxguard tuf-client --metadata-dir DIR --metadata-url URL refresh
 *   voxguard tuf-client --metadata-dir DIR --metadata-url URL
 *       --target-name P [--target-name P2 ...] --target-base-url TURL
 *       --target-dir TD download
 *
 * Beyond the protocol: --ca-file PEM pins the CA certificates HTTPS
 * servers are checked against (default: the system's trust store).
 *
 * Exit 0 on full success, 1 on any failure (the protocol's codes), with
 * one line on stderr saying why; 2 on a usage error, as every command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "update/tuf_client.h"

#define MAX_TARGETS 32

static int usage_to(FILE *f, int rc)
{
	(void)fprintf(f,
		      "usage: voxguard tuf-client --metadata-dir DIR init TRUSTED_ROOT\n"
		      "       voxguard tuf-client --metadata-dir DIR --metadata-url URL refresh\n"
		      "       voxguard tuf-client --metadata-dir DIR --metadata-url URL "
		      "--target-name P [...] --target-base-url URL --target-dir DIR download\n");
	return rc;
}

static int usage(void)
{
	return usage_to(stderr, EXIT_ERROR);
}

static int failed(const char *what, const char *why)
{
	(void)fprintf(stderr, "voxguard tuf-client: %s: %s\n", what, why);
	return EXIT_NEGATIVE;
}

int cmd_tuf_client(struct cli *cli, int argc, char **argv)
{
	const char *mdir = NULL, *murl = NULL, *tbase = NULL, *tdir = NULL, *cmd = NULL,
		   *arg = NULL, *ca = NULL, *targets[MAX_TARGETS];
	size_t n_targets = 0;
	vg_tuf_updater *u = NULL;
	char why[VG_TUF_WHY_LEN] = "";
	int e = 0;
	vg_rc rc;

	(void)cli;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = strcmp(a, "--metadata-dir") == 0	   ? &mdir
				    : strcmp(a, "--metadata-url") == 0	   ? &murl
				    : strcmp(a, "--target-base-url") == 0 ? &tbase
				    : strcmp(a, "--target-dir") == 0	   ? &tdir
				    : strcmp(a, "--ca-file") == 0	   ? &ca
									   : NULL;
		if (slot || strcmp(a, "--target-name") == 0) {
			if (i + 1 >= argc)
				return usage();
			if (slot)
				*slot = argv[++i];
			else if (n_targets < MAX_TARGETS)
				targets[n_targets++] = argv[++i];
			else
				return failed("download", "too many --target-name");
		} else if (strcmp(a, "--help") == 0) {
			return usage_to(stdout, 0);
		} else if (strncmp(a, "--", 2) == 0) {
			return usage();
		} else if (!cmd) {
			cmd = a;
		} else if (!arg) {
			arg = a;
		} else {
			return usage();
		}
	}
	if (!cmd || !mdir)
		return usage();
	if (strcmp(cmd, "init") == 0) {
		uint8_t *root = NULL;
		size_t len = 0;
		char dest[4096 + 16];
		if (!arg)
			return usage();
		/* No checks are expected here (the protocol): the root is
		 * verified when it is used. Its size is bounded still. */
		rc = vg_read_file(arg, VG_TUF_ROOT_MAX, &root, &len);
		if (rc != VG_OK)
			return failed(arg, vg_rc_str(rc));
		(void)snprintf(dest, sizeof dest, "%s/root.json", mdir);
		rc = vg_write_file_atomic(dest, root, len, 0644);
		free(root);
		return rc == VG_OK ? 0 : failed(dest, vg_rc_str(rc));
	}
	if (strcmp(cmd, "refresh") != 0 && strcmp(cmd, "download") != 0)
		return usage();
	if (!murl || (strcmp(cmd, "download") == 0 && (!tbase || !tdir || n_targets == 0)))
		return usage();
	rc = vg_tuf_updater_open(&u, mdir, murl, why);
	if (rc != VG_OK)
		return failed("trusted metadata", why[0] ? why : vg_rc_str(rc));
	if (ca && vg_tuf_updater_set_ca_file(u, ca) != VG_OK) {
		vg_tuf_updater_close(&u);
		return failed("--ca-file", "path too long");
	}
	rc = vg_tuf_refresh(u, why);
	if (rc != VG_OK)
		e = failed("refresh", why[0] ? why : vg_rc_str(rc));
	for (size_t i = 0; !e && i < n_targets; i++) {
		const json_t *info = NULL;
		char saved[4096] = "";
		why[0] = '\0';
		rc = vg_tuf_find_target(u, targets[i], &info, why);
		if (rc == VG_OK)
			rc = vg_tuf_download_target(u, targets[i], info, tbase, tdir, saved, why);
		if (rc != VG_OK)
			e = failed(targets[i], why[0] ? why : vg_rc_str(rc));
		else /* the file name is the target path, escaped: say where it went */
			(void)printf("%s: verified, saved as %s\n", targets[i], saved);
	}
	vg_tuf_updater_close(&u);
	return e;
}
