/* cmd_log.c - `voxguard log ...`: the audit log (SFR 4.2.9) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit/audit_export.h"
#include "cli/cli.h"
#include "common/util.h"

/* The export from a file, or from the service (admin operation). */
static int fetch(struct cli *cli, const char *path, uint8_t **buf, size_t *len)
{
	vg_client *c = NULL;
	vg_rc rc;
	int e;

	if (path) {
		rc = cli_read(path, VG_AUDIT_EXPORT_MAX, buf, len);
		return rc == VG_OK ? 0 : cli_fail("cannot read %s: %s", path, vg_rc_str(rc));
	}
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_log_export(c, buf, len);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "log", rc);
	} else {
		/* In a refused state the service writes nothing to its database:
		 * the log it exports is the stored one, unsealed, and the
		 * detection events are on its journal. Say so. */
		vg_status st;
		if (vg_status_get(c, &st) == VG_OK) {
			if (strcmp(st.store_state, "ok") != 0)
				(void)fprintf(stderr,
					      "voxguard: warning: the store is in state '%s': this "
					      "is the log as stored, which cannot be sealed now; "
					      "the events since start-up are on the service's "
					      "journal\n",
					      st.store_state);
			vg_status_free(&st);
		}
	}
	vg_client_close(&c);
	return e;
}

static int parse(const uint8_t *buf, size_t len, vg_audit_log **log)
{
	vg_rc rc = vg_audit_log_parse(buf, len, log);

	if (rc == VG_ERR_INVALID)
		return cli_fail("not a well-formed voxguard audit export (tampered or truncated)");
	if (rc != VG_OK)
		return cli_fail("cannot read the export: %s", vg_rc_str(rc));
	return 0;
}

static int report(const vg_audit_log *log, const uint8_t *pin, size_t pin_len, const uint8_t *seed,
		  bool quiet_ok)
{
	vg_audit_report rep;
	vg_rc rc = vg_audit_log_verify(log, pin, pin_len, seed, &rep);

	if (rc == VG_OK) {
		if (!quiet_ok)
			(void)printf("verified %llu records (#%llu..#%llu) under %llu signed "
				     "checkpoints%s%s; unsealed tail: %llu\n",
				     (unsigned long long)rep.records_verified,
				     (unsigned long long)rep.first_seq,
				     (unsigned long long)(rep.end_seq ? rep.end_seq - 1 : 0),
				     (unsigned long long)rep.checkpoints,
				     rep.macs_checked ? ", forward-secure MACs checked" : "",
				     pin ? ", pinned key" : ", key carried by the export",
				     (unsigned long long)rep.unsealed_tail);
		return 0;
	}
	if (rc == VG_ERR_VERIFY_FAILED) {
		(void)printf("TAMPERED: first bad record #%lld: %s (%llu records verified "
			     "before it)\n",
			     (long long)rep.first_bad_seq, rep.reason,
			     (unsigned long long)rep.records_verified);
		return EXIT_NEGATIVE;
	}
	return cli_fail("log verify: %s%s%s", vg_rc_str(rc), rep.reason[0] ? ": " : "", rep.reason);
}

static int log_show(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json,in=";
	struct cli_opts o;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_audit_log *log = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);

	if (e || (e = fetch(cli, cli_opt(&o, spec, "in"), &buf, &len)))
		return e;
	if (!(e = parse(buf, len, &log))) {
		if (vg_audit_log_write_json(log, stdout, cli_flag(&o, spec, "json")) != VG_OK)
			e = cli_fail("log show: cannot write output");
		/* Showing is not vouching: say whether the chain holds. */
		if (!e && report(log, NULL, 0, NULL, true) == EXIT_NEGATIVE)
			e = EXIT_NEGATIVE;
	}
	vg_audit_log_free(&log);
	vg_free(buf, len);
	return e;
}

static int log_export(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=";
	struct cli_opts o;
	uint8_t *buf = NULL;
	size_t len = 0;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);

	if (e)
		return e;
	if (!cli_opt(&o, spec, "out"))
		return cli_fail("log export: --out FILE is required");
	if ((e = fetch(cli, NULL, &buf, &len)))
		return e;
	e = cli_write(cli_opt(&o, spec, "out"), buf, len);
	vg_free(buf, len);
	return e;
}

static int log_verify(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "key=,seed=";
	struct cli_opts o;
	uint8_t *buf = NULL, *pin = NULL, *seed = NULL;
	size_t len = 0, pin_len = 0, seed_len = 0;
	vg_audit_log *log = NULL;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	(void)cli;
	if (e)
		return e;
	if (cli_opt(&o, spec, "key") &&
	    (e = cli_read_pubkey(cli_opt(&o, spec, "key"), &pin, &pin_len)))
		return e;
	if (cli_opt(&o, spec, "seed")) {
		rc = cli_read(cli_opt(&o, spec, "seed"), 64, &seed, &seed_len);
		if (rc != VG_OK || seed_len != VG_AUDIT_SEED_LEN) {
			e = cli_fail("--seed: expected a %u-byte seed file", VG_AUDIT_SEED_LEN);
			goto out;
		}
	}
	rc = cli_read(o.pos[0], VG_AUDIT_EXPORT_MAX, &buf, &len);
	if (rc != VG_OK) {
		e = cli_fail("cannot read %s: %s", o.pos[0], vg_rc_str(rc));
		goto out;
	}
	if (vg_audit_log_parse(buf, len, &log) != VG_OK) {
		(void)printf("TAMPERED: not a well-formed voxguard audit export\n");
		e = EXIT_NEGATIVE;
		goto out;
	}
	e = report(log, pin, pin_len, seed, false);
out:
	vg_audit_log_free(&log);
	vg_free(buf, len);
	vg_free(seed, seed_len);
	OPENSSL_free(pin);
	return e;
}

static int log_seed(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t seed[32];
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_opt(&o, spec, "out"))
		return cli_fail("log seed: --out FILE is required (keep it offline)");
	/* The seed is handed out once: check where it goes first. */
	if ((e = cli_write_check(cli_opt(&o, spec, "out"))) || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_log_take_seed(c, seed);
	if (rc == VG_OK && (e = cli_write(cli_opt(&o, spec, "out"), seed, sizeof seed)))
		(void)cli_fail("log seed: the seed is lost");
	else if (rc != VG_OK)
		e = cli_fail_rc(c, "log seed", rc);
	vg_wipe(seed, sizeof seed);
	vg_client_close(&c);
	return e;
}

static const struct cli_cmd log_cmds[] = {
    {"show", log_show, "[--json] [--in EXPORT]: print the log (admin)"},
    {"export", log_export, "--out F: a self-contained, verifiable export (admin)"},
    {"verify", log_verify, "F [--key PEM] [--seed F]: offline check (exit 1 if tampered)"},
    {"seed", log_seed, "--out F: take the forward-secure MAC seed, once (admin)"},
};

int cmd_log(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "log", log_cmds, VG_ARRAY_LEN(log_cmds), argc, argv);
}
