/*
 * cmd_update.c - `voxguard update`: the update agent for A/B updates
 * (SFR 4.2.6, 4.2.9; docs/UPDATE.md). Runs as root on the device: it
 * writes slots and the bootloader environment, and asks voxguardd for
 * every decision (bundle verified, inactive slot, content key, state).
 *
 *   update install BUNDLE | --repo URL --target NAME [--metadata-dir D]
 *                  [--targets-url U] [--download-dir D] [--ca-file PEM]
 *                  [--no-activate]
 *   update check    --repo URL --target NAME [--metadata-dir D]
 *   update download --repo URL --target NAME [--metadata-dir D]
 *                  [--targets-url U] [--download-dir D]
 *   update mark-good        after the health check, at every boot
 *   update status
 *   update key [--fleet-key FLEET.pem]   the device's update public key
 *   update trust-root ROOT.json          the TUF root the service trusts
 *   update simulate-boot --bootloader K [--param P]   (boot-script stand-in
 *                  for tests and host experiments: picks and counts a slot)
 *
 * --repo is a TUF repository's metadata URL (https://, file:// or a
 * directory such as a USB stick). The trusted root metadata is the
 * service's (sealed, installed at the factory with `update trust-root` or
 * `provision --tuf-root`): every refresh starts from it, and each new root
 * version the rotation finds is handed to the service, which verifies it
 * again before it trusts it. The metadata dir keeps timestamp, snapshot
 * and targets. Targets are downloaded only after TUF verified them, then
 * installed as any bundle.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "update/bootenv.h"
#include "update/bundle.h"
#include "update/tuf_client.h"

/* The agent's own directories (not the service's state dir), created
 * root-only on first use. */
#define AGENT_DIR            "/var/lib/voxguard-update"
#define DEFAULT_METADATA_DIR AGENT_DIR "/metadata"
#define DEFAULT_DOWNLOAD_DIR AGENT_DIR "/downloads"

/* Reports a failure to the service (audited) and to the user. */
static int failed(vg_client *c, const char *bundle, const char *prefix, const char *why)
{
	char detail[160];

	(void)snprintf(detail, sizeof detail, "%s%s", prefix, why);
	if (bundle && vg_update_report(c, bundle, "failed", detail) != VG_OK)
		(void)fprintf(stderr, "voxguard: (the service did not take the failure report)\n");
	(void)fprintf(stderr, "voxguard: update: %s\n", detail);
	return EXIT_NEGATIVE;
}

static int install_file(vg_client *c, const char *path, bool activate, const char *source)
{
	uint8_t *m = NULL;
	size_t mlen = 0;
	char why[VG_BUNDLE_WHY_LEN] = "", detail[160];
	vg_update_plan plan;
	vg_bundle_policy p = {0};
	vg_bundle *b = NULL;
	vg_bootenv *be = NULL;
	uint64_t written = 0, resumed = 0;
	int e = 0;
	vg_rc rc = vg_bundle_read_manifest(path, &m, &mlen, why);

	if (rc != VG_OK)
		return cli_fail("update: %s", why);
	rc = vg_update_begin(c, m, mlen, &plan);
	free(m);
	if (rc != VG_OK) {
		/* A bundle judged and refused is a negative answer (1); anything
		 * else, an error (2). */
		e = cli_fail_rc(c, "update refused", rc);
		return rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_ROLLBACK || rc == VG_ERR_DENIED ||
			       rc == VG_ERR_INTEGRITY || rc == VG_ERR_UNSUPPORTED
			   ? EXIT_NEGATIVE
			   : e;
	}
	(void)printf("the service accepted bundle %.16s: install into slot %c (running: %c)%s\n",
		     plan.bundle, plan.slot, plan.booted, plan.resume ? ", resuming" : "");
	if (source && vg_update_report(c, plan.bundle, "downloaded", source) != VG_OK)
		(void)fprintf(stderr, "voxguard: (the service did not take the download report)\n");
	/* The agent verifies again, with the service's key, minimum and
	 * content key: the file it streams is the one the service judged. */
	p.release_key = plan.release_key;
	p.release_key_len = plan.release_key_len;
	p.min_security_version = plan.min_security_version;
	p.cek = plan.has_cek ? plan.cek : NULL;
	rc = vg_bundle_open(&b, path, &p, why);
	if (rc != VG_OK) {
		e = failed(c, plan.bundle, "", why);
		goto out;
	}
	for (size_t i = 0; i < vg_bundle_n_images(b); i++) {
		const vg_bundle_image_info *im = vg_bundle_image(b, i);
		struct cli_bar bar;
		vg_bundle_install_opts o = {
		    .resume = plan.resume, .progress = cli_bar_progress, .ctx = &bar};
		const char *fault = getenv("VOXGUARD_TEST_POWER_CUT_AFTER");
		/* Tests (the fault-injecting writer): a power cut after this many
		 * bytes reached the slot, the last write torn; nothing after it
		 * runs, as on a real cut. */
		if (fault)
			o.fault_after = strtoull(fault, NULL, 10);
		cli_bar_start(&bar, im->name);
		vg_bundle_install_result r = {0};
		const char *slot = NULL;
		for (size_t k = 0; k < plan.n; k++)
			if (strcmp(plan.images[k].name, im->name) == 0)
				slot = plan.images[k].path;
		if (!slot) {
			e = failed(c, plan.bundle, "no slot for image ", im->name);
			goto out;
		}
		rc = vg_bundle_install_ex(b, im->name, slot, &o, &r, why);
		if (rc != VG_OK && o.fault_after && strstr(why, "simulated power loss"))
			(void)raise(SIGKILL);
		written += r.written;
		resumed += r.resumed;
		if (rc != VG_OK) {
			e = failed(c, plan.bundle, "", why);
			goto out;
		}
		(void)printf("  %-16s -> %s: %" PRIu64 " bytes verified%s\n", im->name, slot,
			     im->size, r.resumed ? " (resumed)" : "");
	}
	(void)snprintf(detail, sizeof detail,
		       "%zu image(s), %" PRIu64 " bytes written, %" PRIu64 " found already verified",
		       vg_bundle_n_images(b), written, resumed);
	rc = vg_update_report(c, plan.bundle, "written", detail);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "update", rc);
		goto out;
	}
	if (!activate) {
		(void)printf("written to slot %c, not activated (--no-activate)\n", plan.slot);
		goto out;
	}
	rc = vg_bootenv_open(&be, plan.bootloader, plan.boot_param, plan.tries, why);
	if (rc == VG_OK)
		rc = vg_bootenv_activate(be, plan.slot, why);
	vg_bootenv_close(&be);
	if (rc != VG_OK) {
		e = failed(c, plan.bundle, "bootloader: ", why);
		goto out;
	}
	rc = vg_update_report(c, plan.bundle, "activated", NULL);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "update", rc);
		goto out;
	}
	(void)printf("version %s activated in slot %c: reboot, then run `voxguard update "
		     "mark-good` once the device is healthy (%u boot attempts before the "
		     "bootloader falls back to slot %c)\n",
		     vg_bundle_version(b), plan.slot, plan.tries, plan.booted);
out:
	vg_bundle_close(&b);
	vg_update_plan_free(&plan);
	return e;
}

/* The agent's directories, root-only where it creates them. */
static int make_dirs(const char *path)
{
	return vg_mkdirs(path, 0700) == VG_OK
		   ? 0
		   : cli_fail("update: cannot create the directory %s: %s", path, strerror(errno));
}

/* What a root.json says about itself: "version N, expires T". */
static void root_summary(const uint8_t *root, size_t len, char *out, size_t cap)
{
	json_t *o = json_loadb((const char *)root, len, 0, NULL);
	const json_t *sg = json_object_get(o, "signed");

	(void)snprintf(out, cap, "version %" JSON_INTEGER_FORMAT ", expires %s",
		       json_integer_value(json_object_get(sg, "version")),
		       json_string_value(json_object_get(sg, "expires"))
			   ? json_string_value(json_object_get(sg, "expires"))
			   : "?");
	json_decref(o);
}

int cli_trust_root(vg_client *c, const char *path)
{
	uint8_t *next = NULL, *now = NULL;
	size_t next_len = 0, now_len = 0;
	char sum[128];
	vg_rc rc = cli_read(path, VG_TUF_ROOT_MAX, &next, &next_len);

	if (rc != VG_OK)
		return cli_fail("cannot read %s: %s", path, vg_rc_str(rc));
	rc = vg_update_tuf_root(c, next, next_len, &now, &now_len);
	free(next);
	if (rc != VG_OK) {
		/* A root judged and refused is a negative answer (1). */
		int e = cli_fail_rc(c, "trusted TUF root refused", rc);
		return rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_ROLLBACK ||
			       rc == VG_ERR_INTEGRITY || rc == VG_ERR_INVALID
			   ? EXIT_NEGATIVE
			   : e;
	}
	root_summary(now, now_len, sum, sizeof sum);
	vg_free(now, now_len);
	(void)printf("trusted TUF root: %s (kept by voxguardd)\n", sum);
	return 0;
}

/* The agent's side of a root rotation: the service must take it too. */
static vg_rc root_to_service(void *ctx, const uint8_t *root, size_t len, char *why)
{
	uint8_t *now = NULL;
	size_t now_len = 0;
	vg_client *c = ctx;
	vg_rc rc = vg_update_tuf_root(c, root, len, &now, &now_len);

	vg_free(now, now_len);
	if (rc != VG_OK)
		(void)snprintf(why, VG_TUF_WHY_LEN, "voxguardd refused the new root: %.180s",
			       vg_client_last_error(c)[0] ? vg_client_last_error(c)
							   : vg_rc_str(rc));
	return rc;
}

/* TUF: refresh the metadata from the service's trusted root, find the
 * target, optionally download it. */
static int tuf_fetch(vg_client *c, const struct cli_opts *o, const char *spec, bool download,
		     char *out_path)
{
	const char *repo = cli_opt(o, spec, "repo"), *target = cli_opt(o, spec, "target"),
		   *md = cli_opt(o, spec, "metadata-dir"), *tu = cli_opt(o, spec, "targets-url"),
		   *dd = cli_opt(o, spec, "download-dir"), *ca = cli_opt(o, spec, "ca-file");
	char why[512] = "", turl[4096];
	uint8_t *root = NULL;
	size_t root_len = 0;
	vg_tuf_updater *u = NULL;
	const json_t *info = NULL;
	vg_rc rc;

	if (!repo || !target)
		return cli_fail("update: --repo URL and --target NAME are required");
	md = md ? md : DEFAULT_METADATA_DIR;
	dd = dd ? dd : DEFAULT_DOWNLOAD_DIR;
	if (make_dirs(md) || (download && make_dirs(dd)))
		return EXIT_ERROR;
	if (!tu) {
		if ((size_t)snprintf(turl, sizeof turl, "%s/targets", repo) >= sizeof turl)
			return cli_fail("update: --repo too long");
		tu = turl;
	}
	rc = vg_update_tuf_root(c, NULL, 0, &root, &root_len);
	if (rc != VG_OK)
		return cli_fail_rc(c, "update: the trusted TUF root", rc);
	rc = vg_tuf_updater_open_root(&u, root, root_len, md, repo, root_to_service, c, why);
	vg_free(root, root_len);
	if (rc == VG_OK && ca && vg_tuf_updater_set_ca_file(u, ca) != VG_OK) {
		(void)snprintf(why, sizeof why, "--ca-file: path too long");
		rc = VG_ERR_INVALID;
	}
	if (rc == VG_OK)
		rc = vg_tuf_refresh(u, why);
	if (rc == VG_OK)
		rc = vg_tuf_find_target(u, target, &info, why);
	if (rc == VG_OK && download)
		rc = vg_tuf_download_target(u, target, info, tu, dd, out_path, why);
	if (rc == VG_OK && !download)
		(void)printf("%s: available, %" JSON_INTEGER_FORMAT " bytes (TUF metadata verified)\n",
			     target, json_integer_value(json_object_get(info, "length")));
	vg_tuf_updater_close(&u);
	if (rc == VG_ERR_NOT_FOUND && !download) {
		(void)printf("%s: not in the repository\n", target);
		return EXIT_NEGATIVE;
	}
	if (rc != VG_OK) {
		(void)fprintf(stderr, "voxguard: update: %s\n", why[0] ? why : vg_rc_str(rc));
		return EXIT_NEGATIVE;
	}
	return 0;
}

#define TUF_SPEC "repo=,target=,metadata-dir=,targets-url=,download-dir=,ca-file="

static int update_install(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = TUF_SPEC ",no-activate";
	struct cli_opts o;
	char path[4096] = "", src[200] = "";
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 1);

	if (e)
		return e;
	if ((o.n_pos == 1) == (cli_opt(&o, spec, "repo") != NULL))
		return cli_fail("usage: voxguard update install BUNDLE | --repo URL --target NAME");
	if (o.n_pos == 1 && strlen(o.pos[0]) >= sizeof path)
		return cli_fail("update: path too long");
	if ((e = cli_connect(cli, &c)))
		return e;
	if (o.n_pos == 0) {
		e = tuf_fetch(c, &o, spec, true, path);
		(void)snprintf(src, sizeof src, "TUF target %.120s verified and downloaded",
			       cli_opt(&o, spec, "target"));
	} else {
		strcpy(path, o.pos[0]);
	}
	if (!e)
		e = install_file(c, path, !cli_flag(&o, spec, "no-activate"),
				 src[0] ? src : NULL);
	vg_client_close(&c);
	return e;
}

static int update_check(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = TUF_SPEC;
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);

	if (e || (e = cli_connect(cli, &c)))
		return e;
	e = tuf_fetch(c, &o, spec, false, NULL);
	vg_client_close(&c);
	return e;
}

static int update_download(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = TUF_SPEC;
	struct cli_opts o;
	char path[4096] = "";
	vg_client *c = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);

	if (e || (e = cli_connect(cli, &c)))
		return e;
	e = tuf_fetch(c, &o, spec, true, path);
	vg_client_close(&c);
	if (!e)
		(void)printf("%s\n", path);
	return e;
}

static int update_mark_good(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	vg_update_status st;
	vg_bootenv *be = NULL;
	char why[VG_BOOTENV_WHY_LEN] = "";
	int e = cli_parse("", argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_update_confirm(c, &st);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "update mark-good", rc);
		vg_client_close(&c);
		return e;
	}
	vg_client_close(&c);
	rc = vg_bootenv_open(&be, st.bootloader, st.boot_param, st.tries, why);
	if (rc == VG_OK)
		rc = vg_bootenv_mark_good(be, st.booted, why);
	vg_bootenv_close(&be);
	if (rc != VG_OK)
		return cli_fail("update mark-good: bootloader: %s", why);
	if (st.confirmed[0])
		(void)printf("version %s confirmed in slot %c; the minimum security version is "
			     "raised\n",
			     st.confirmed, st.booted);
	else
		(void)printf("slot %c marked good\n", st.booted);
	return 0;
}

/* The trusted TUF root as `update status --json` shows it: null when none
 * is installed; its version and expiry, or why it could not be read. */
static json_t *root_json(vg_rc r2, const uint8_t *root, size_t len)
{
	json_t *doc, *ver, *exp, *o;
	const char *err;

	if (r2 == VG_ERR_NOT_FOUND)
		return json_null();
	if (!(o = json_object()))
		return NULL;
	doc = r2 == VG_OK ? json_loadb((const char *)root, len, 0, NULL) : NULL;
	ver = json_object_get(json_object_get(doc, "signed"), "version");
	exp = json_object_get(json_object_get(doc, "signed"), "expires");
	err = r2 != VG_OK ? vg_rc_str(r2) : !doc ? "not JSON" : NULL;
	json_object_set_new(o, "version", json_is_integer(ver) ? json_copy(ver) : json_null());
	json_object_set_new(o, "expires", json_is_string(exp) ? json_copy(exp) : json_null());
	json_object_set_new(o, "error", err ? json_string(err) : json_null());
	json_decref(doc);
	return o;
}

static int status_json(const vg_update_status *st, json_t *root)
{
	json_t *o = json_object(), *up = NULL, *bl = json_object();
	char slot[2] = {st->slot, '\0'}, booted[2] = {st->booted, '\0'};

	if (!o || !bl || !root) {
		json_decref(o);
		json_decref(bl);
		json_decref(root);
		return cli_fail("update status: out of memory");
	}
	json_object_set_new(o, "state", cli_json_str_ne(st->state));
	json_object_set_new(o, "running_slot", cli_json_str_ne(booted));
	if (st->version[0] && (up = json_object()) != NULL) {
		json_object_set_new(up, "version", cli_json_str_ne(st->version));
		json_object_set_new(up, "slot", cli_json_str_ne(slot));
		json_object_set_new(up, "bundle", cli_json_str_ne(st->bundle));
	}
	json_object_set_new(o, "update", up ? up : json_null());
	json_object_set_new(o, "min_security_version",
			    json_integer((json_int_t)st->min_security_version));
	json_object_set_new(o, "last_outcome", cli_json_str_ne(st->last));
	json_object_set_new(bl, "type", cli_json_str_ne(st->bootloader));
	json_object_set_new(bl, "param", cli_json_str_ne(st->boot_param));
	json_object_set_new(bl, "tries", json_integer(st->tries));
	json_object_set_new(o, "bootloader", bl);
	json_object_set_new(o, "tuf_root", root);
	return cli_print_json(o);
}

static int update_status(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_update_status st;
	uint8_t *root = NULL;
	size_t root_len = 0;
	char sum[128] = "none: install it with `voxguard update trust-root ROOT.json`";
	json_t *rootj = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	bool json;
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	json = cli_flag(&o, spec, "json");
	rc = vg_update_status_get(c, &st);
	if (rc == VG_OK) {
		vg_rc r2 = vg_update_tuf_root(c, NULL, 0, &root, &root_len);
		if (json)
			rootj = root_json(r2, root, root_len);
		else if (r2 == VG_OK)
			root_summary(root, root_len, sum, sizeof sum);
		else if (r2 != VG_ERR_NOT_FOUND)
			(void)snprintf(sum, sizeof sum, "unreadable (%s)", vg_rc_str(r2));
		vg_free(root, root_len);
	}
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "update status", rc);
		vg_client_close(&c);
		return e;
	}
	vg_client_close(&c);
	if (json)
		return status_json(&st, rootj);
	(void)printf("state:            %s\n", st.state);
	(void)printf("running slot:     %c\n", st.booted ? st.booted : '?');
	if (st.version[0])
		(void)printf("update:           version %s, slot %c, bundle %.16s\n", st.version,
			     st.slot ? st.slot : '?', st.bundle);
	(void)printf("min security ver: %" PRIu64 "\n", st.min_security_version);
	(void)printf("last outcome:     %s\n", st.last[0] ? st.last : "-");
	(void)printf("bootloader:       %s %s (%u attempts)\n", st.bootloader, st.boot_param,
		     st.tries);
	(void)printf("TUF root:         %s\n", sum);
	return 0;
}

static int update_key(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "fleet-key=";
	struct cli_opts o;
	vg_client *c = NULL;
	char *dev = NULL, *fleet = NULL;
	uint8_t *pem = NULL;
	size_t len = 0;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if (cli_opt(&o, spec, "fleet-key")) {
		rc = vg_read_file(cli_opt(&o, spec, "fleet-key"), 8192, &pem, &len);
		if (rc != VG_OK)
			return cli_fail("cannot read %s", cli_opt(&o, spec, "fleet-key"));
		pem = realloc(pem, len + 1);
		if (!pem)
			return cli_fail("out of memory");
		pem[len] = '\0';
	}
	if ((e = cli_connect(cli, &c))) {
		vg_free(pem, len + 1);
		return e;
	}
	rc = vg_update_keys(c, (const char *)pem, &dev, &fleet);
	vg_free(pem, pem ? len + 1 : 0);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "update key", rc);
	else
		(void)printf("%s%s", dev, fleet ? fleet : "");
	free(dev);
	free(fleet);
	vg_client_close(&c);
	return e;
}

static int update_trust_root(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse("", argc, argv, &o, 1, 1);

	if (e)
		return e;
	if ((e = cli_connect(cli, &c)))
		return e;
	e = cli_trust_root(c, o.pos[0]);
	vg_client_close(&c);
	return e;
}

static int update_simulate_boot(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "bootloader=,param=,tries=";
	struct cli_opts o;
	vg_bootenv *be = NULL;
	char why[VG_BOOTENV_WHY_LEN] = "", slot = 0;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	(void)cli;
	if (e)
		return e;
	if (!cli_opt(&o, spec, "bootloader"))
		return cli_fail("usage: voxguard update simulate-boot --bootloader file|uboot|grub "
				"[--param P] [--tries N]");
	rc = vg_bootenv_open(&be, cli_opt(&o, spec, "bootloader"), cli_opt(&o, spec, "param"),
			     cli_opt(&o, spec, "tries")
				 ? (unsigned)strtoul(cli_opt(&o, spec, "tries"), NULL, 10)
				 : 0,
			     why);
	if (rc == VG_OK)
		rc = vg_bootenv_simulate_boot(be, &slot, why);
	vg_bootenv_close(&be);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "voxguard: simulate-boot: %s\n", why[0] ? why : vg_rc_str(rc));
		return rc == VG_ERR_STATE ? EXIT_NEGATIVE : EXIT_ERROR;
	}
	(void)printf("voxguard.slot=%c\n", slot);
	return 0;
}

int cmd_update(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd table[] = {
	    {"install", update_install,
	     "BUNDLE | --repo URL --target NAME: verify, write the inactive slot, activate"},
	    {"check", update_check, "--repo URL --target NAME: is the target in the repository"},
	    {"download", update_download, "--repo URL --target NAME: fetch it, TUF-verified"},
	    {"mark-good", update_mark_good, "the running slot is healthy: confirm the update"},
	    {"status", update_status,
	     "[--json]: the update state, the slots and the minimum version"},
	    {"key", update_key, "[--fleet-key F.pem]: the device's update encryption key"},
	    {"trust-root", update_trust_root,
	     "ROOT.json: the TUF root the service trusts (first one, or the next version)"},
	    {"simulate-boot", update_simulate_boot,
	     "--bootloader K [--param P]: do what the boot script does (tests)"},
	};
	return cli_dispatch(cli, "update", table, VG_ARRAY_LEN(table), argc, argv);
}
