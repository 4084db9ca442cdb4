/*
 * cmd_doctor.c - `voxguard doctor`: the posture audit of the running
 * device or of a firmware root file system (AVS 1.2, AVS 1.13; the AVS
 * Device SDK's exploit mitigation and least privilege rules). The checks
 * are in src/posture/ (doctor.h); docs/HARDENING.md explains them.
 *
 *   voxguard doctor [--root DIR] [--json] [--fail-on SEVERITY]
 *       [--allow-port N[/tcp|/udp]]... [--allow-setuid PATH]...
 *       [--voice-unit NAME]...
 *       [--vuln-db FILE [--release NAME] [--vuln-not-affected]]
 *       [--config FILE] [--only CHECKS] [--skip CHECKS]
 *
 * Exit status: 0 no finding at or above --fail-on (default low), 1
 * findings, 2 usage or an error (one line on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"
#include "posture/doctor.h"

static const char usage[] =
    "usage: voxguard doctor [--root DIR] [--json] [--fail-on info|low|medium|high]\n"
    "         [--allow-port N[/tcp|/udp]]... [--allow-setuid PATH]... [--voice-unit NAME]...\n"
    "         [--vuln-db FILE [--release NAME] [--vuln-not-affected]] [--config FILE]\n"
    "         [--only CHECKS] [--skip CHECKS]\n"
    "checks: accounts network ssh perms setuid elf sysctl coredump voice bluetooth vuln\n";

int cmd_doctor(struct cli *cli, int argc, char **argv)
{
	vg_doc_opts *o = calloc(1, sizeof *o);
	vg_doc_report *r = NULL;
	const char *config = NULL;
	char why[1024];
	bool json = false, only_set = false;
	uint32_t only = 0;
	int ret = EXIT_ERROR;
	vg_rc rc;

	(void)cli;
	if (!o)
		return cli_fail("out of memory");
	o->fail_on = VG_SEV_LOW;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(a, "--json") != 0 && strcmp(a, "--help") != 0 &&
			     strcmp(a, "--vuln-not-affected") != 0;

		if (takes && !v) {
			ret = cli_fail("%s needs a value\n%s", a, usage);
			goto out;
		}
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--vuln-not-affected") == 0) {
			o->vuln_not_affected = true;
		} else if (strcmp(a, "--help") == 0) {
			(void)fputs(usage, stdout);
			ret = 0;
			goto out;
		} else if (strcmp(a, "--root") == 0) {
			if (strlen(v) >= sizeof o->root) {
				ret = cli_fail("--root: path too long");
				goto out;
			}
			(void)snprintf(o->root, sizeof o->root, "%s", v);
			o->offline = true;
		} else if (strcmp(a, "--fail-on") == 0) {
			if (!vg_doc_sev_parse(v, &o->fail_on)) {
				ret = cli_fail("--fail-on: info, low, medium or high, not '%s'", v);
				goto out;
			}
			o->fail_on_set = true;
		} else if (strcmp(a, "--allow-port") == 0) {
			if (vg_doctor_add_port(o, v, why, sizeof why) != VG_OK) {
				ret = cli_fail("%s", why);
				goto out;
			}
		} else if (strcmp(a, "--allow-setuid") == 0) {
			if (v[0] != '/' || strlen(v) >= VG_DOC_MAX_PATH ||
			    o->n_setuid >= VG_DOC_MAX_ALLOW) {
				ret = cli_fail("--allow-setuid takes an absolute path (at most %u)",
					       VG_DOC_MAX_ALLOW);
				goto out;
			}
			(void)snprintf(o->setuid[o->n_setuid++], VG_DOC_MAX_PATH, "%s", v);
		} else if (strcmp(a, "--voice-unit") == 0) {
			if (!*v || strchr(v, '/') || strlen(v) >= sizeof o->units[0] ||
			    o->n_units >= VG_DOC_MAX_UNITS) {
				ret = cli_fail("--voice-unit takes a unit name (at most %u)",
					       VG_DOC_MAX_UNITS);
				goto out;
			}
			(void)snprintf(o->units[o->n_units++], sizeof o->units[0], "%s", v);
		} else if (strcmp(a, "--vuln-db") == 0) {
			if (strlen(v) >= sizeof o->vuln_db) {
				ret = cli_fail("--vuln-db: path too long");
				goto out;
			}
			(void)snprintf(o->vuln_db, sizeof o->vuln_db, "%s", v);
		} else if (strcmp(a, "--release") == 0) {
			if (!*v || strlen(v) >= sizeof o->release || strchr(v, '/')) {
				ret = cli_fail("--release takes a release name (bookworm)");
				goto out;
			}
			(void)snprintf(o->release, sizeof o->release, "%s", v);
		} else if (strcmp(a, "--config") == 0) {
			config = v;
		} else if (strcmp(a, "--only") == 0 || strcmp(a, "--skip") == 0) {
			uint32_t *m = a[2] == 'o' ? &only : &o->skip;
			if (vg_doctor_checks_parse(v, m, why, sizeof why) != VG_OK) {
				ret = cli_fail("%s: %s", a, why);
				goto out;
			}
			only_set |= a[2] == 'o';
		} else {
			ret = cli_fail("doctor: unknown argument '%s'\n%s", a, usage);
			goto out;
		}
		if (takes)
			i++;
	}
	if ((o->release[0] || o->vuln_not_affected) && !o->vuln_db[0]) {
		ret = cli_fail("%s goes with --vuln-db",
			       o->release[0] ? "--release" : "--vuln-not-affected");
		goto out;
	}
	/* The configuration: --config, else the root's etc/voxguard/doctor.conf
	 * (the device maker's allow-lists travel with the image). Options
	 * given on the command line add to it; --fail-on wins. */
	{
		char path[VG_DOC_MAX_PATH + 64];
		char *buf = NULL;
		size_t len;
		vg_doc_sev cli_fail_on = o->fail_on;
		bool cli_set = o->fail_on_set;

		if (config) {
			uint8_t *b = NULL;
			(void)snprintf(path, sizeof path, "%s", config);
			rc = vg_read_file(path, VG_DOC_MAX_CONF, &b, &len);
			buf = (char *)b;
		} else {
			/* inside the root: an image's link cannot point at the
			 * build host's files */
			(void)snprintf(path, sizeof path, "%s/etc/voxguard/doctor.conf",
				       o->root[0] ? o->root : "");
			rc = vg_doctor_read_in_root(o->root, "etc/voxguard/doctor.conf",
						    VG_DOC_MAX_CONF, &buf, &len);
		}
		if (rc == VG_OK) {
			rc = vg_doctor_conf_parse(buf, len, o, why, sizeof why);
			free(buf);
			if (rc != VG_OK) {
				ret = cli_fail("%s: %s", path, why);
				goto out;
			}
		} else if (config || rc != VG_ERR_NOT_FOUND) {
			/* the default file may be absent; a named one may not */
			ret = cli_fail("%s: %s", path, vg_rc_str(rc));
			goto out;
		}
		if (cli_set)
			o->fail_on = cli_fail_on;
	}
	if (only_set)
		o->skip |= ~only & ((1u << VG_DOC_N_CHECKS) - 1u);

	rc = vg_doctor_run(o, &r, why, sizeof why);
	if (rc != VG_OK) {
		ret = cli_fail("doctor: %s", why);
		goto out;
	}
	if (json) {
		char *s = vg_doctor_json(r, o->fail_on);
		if (!s) {
			ret = cli_fail("doctor: out of memory");
			goto out;
		}
		(void)printf("%s\n", s);
		free(s);
	} else {
		vg_doctor_text(r, o->fail_on, stdout);
	}
	if (fflush(stdout) != 0) {
		ret = cli_fail("doctor: cannot write the report");
		goto out;
	}
	ret = vg_doctor_count(r, o->fail_on) ? EXIT_NEGATIVE : 0;
out:
	vg_doctor_free(&r);
	free(o);
	return ret;
}
