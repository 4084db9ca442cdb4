/* cmd_bluetooth.c - `voxguard bluetooth ...`: Secure Connections Only, LE
 * Privacy, bondable and the pairing IO capability on every Bluetooth
 * controller, through the kernel's management API (AVS 1.9-1.12;
 * src/bluetooth/policy.h, docs/HARDENING.md).
 *
 *   enforce [--index N] [--watch] [--sc only|on] [--no-bondable] [--io-cap CAP]
 *   check [--index N] [--sc only|on] [--json]
 *   irk-id
 *
 * enforce takes the LE Privacy IRK from voxguardd (bluetooth.irk, admin,
 * audited), holds it in locked memory while it runs and wipes it after;
 * with --watch it stays, re-asserting the policy when a controller
 * appears or its settings drift (systemd/voxguard-bluetooth.service),
 * and unpairing every new bond whose key is not Level 4. --sc on keeps
 * Secure Connections on but not Only (Linux 6.1 drops LE links in Only
 * mode): Level 4 then holds while the watcher runs.
 * enforce, the watcher's re-assertions and check each send their
 * outcome to the service (bluetooth.report), which audits it. The
 * service calls use libvoxguard's internal request helper: no public API
 * for what only this tool does. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <openssl/evp.h>

#include "bluetooth/mgmt.h"
#include "bluetooth/policy.h"
#include "cli/cli.h"
#include "client/client_int.h"
#include "common/util.h"
#include "proto/wire.h"

#define WATCH_STEP_MS    1000
#define WATCH_RECHECK_MS 30000

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The IRK from the service (bluetooth.irk). */
static vg_rc get_irk(vg_client *c, uint8_t irk[static VG_BT_IRK_LEN])
{
	const uint8_t *p = NULL;
	size_t n = 0;
	vg_msgb b;
	vg_msg r;
	vg_rc rc = vg_msgb_init(&b);

	if (rc != VG_OK)
		return rc;
	rc = vg_client_call(c, VG_OP_BT_IRK, &b, &r);
	if (rc == VG_OK) {
		rc = vg_msg_bytes(&r, VG_A_DATA, &p, &n);
		if (rc != VG_OK || n != VG_BT_IRK_LEN)
			rc = VG_ERR_PROTOCOL;
		else
			memcpy(irk, p, VG_BT_IRK_LEN);
	}
	if (p && n)
		vg_wipe((void *)p, n); /* the decoded reply held the key */
	vg_msg_free(&r);
	if (rc != VG_OK)
		vg_wipe(irk, VG_BT_IRK_LEN);
	return rc;
}

/* An outcome to the service's audit log (bluetooth.report). */
static vg_rc report(vg_client *c, const char *stage, bool ok, const char *reason)
{
	char text[201];
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	if (!c)
		return VG_ERR_UNAVAILABLE;
	/* Bounded and printable (the service refuses anything else). */
	size_t i;
	for (i = 0; reason[i] && i < sizeof text - 1; i++)
		text[i] = (reason[i] >= 0x20 && reason[i] < 0x7f) ? reason[i] : '?';
	text[i] = '\0';
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_text(&b, VG_A_STAGE, stage);
	vg_msgb_uint(&b, VG_A_OK, ok ? 1 : 0);
	vg_msgb_text(&b, VG_A_REASON, text[0] ? text : "-");
	rc = vg_client_call(c, VG_OP_BT_REPORT, &b, &r);
	vg_msg_free(&r);
	return rc;
}

static void report_or_warn(vg_client *c, const char *stage, bool ok, const char *reason)
{
	vg_rc rc = report(c, stage, ok, reason);

	if (rc != VG_OK)
		(void)fprintf(stderr, "voxguard: warning: bluetooth %s was not audited: %s%s%s\n",
			      stage, vg_rc_str(rc), c && vg_client_last_error(c) ? ": " : "",
			      c && vg_client_last_error(c) ? vg_client_last_error(c) : "");
}

static const char *sc_only_text(int v)
{
	return v == 1 ? "yes" : v == 0 ? "no" : "unknown (not shown by mgmt; debugfs not mounted)";
}

static void print_ctrl(const vg_bt_ctrl *c, const char *io_note)
{
	char addr[18], names[512];

	vg_bt_addr_str(c->info.addr, addr);
	vg_bt_settings_str(c->info.current, names, sizeof names);
	(void)printf("hci%u %s %s\n", (unsigned)c->index, addr,
		     c->compliant ? "compliant" : "NOT compliant");
	(void)printf("  name: %s\n", c->info.name);
	(void)printf("  settings: %s\n", names[0] ? names : "-");
	(void)printf("  secure connections: %s, only: %s\n", c->sc ? "on" : "off",
		     sc_only_text(c->sc_only));
	(void)printf("  le privacy: %s\n", (c->info.current & VG_BT_S_PRIVACY) ? "on"
					   : (c->info.current & VG_BT_S_LE)    ? "off"
									       : "off (no LE)");
	(void)printf("  bondable: %s\n", (c->info.current & VG_BT_S_BONDABLE) ? "yes" : "no");
	(void)printf("  io capability: %s\n", io_note);
	if (!c->compliant)
		(void)printf("  why: %s\n", c->why);
}

static json_t *ctrl_json(const vg_bt_ctrl *c)
{
	char addr[18];
	json_t *o, *arr = json_array();

	vg_bt_addr_str(c->info.addr, addr);
	for (unsigned bit = 0; bit < 32 && arr; bit++)
		if (c->info.current & (1u << bit)) {
			const char *n = vg_bt_setting_name(bit);
			char tmp[16];
			if (!n) {
				(void)snprintf(tmp, sizeof tmp, "bit%u", bit);
				n = tmp;
			}
			(void)json_array_append_new(arr, json_string(n));
		}
	o = json_pack("{s:i, s:s, s:s, s:o*, s:b, s:o, s:b, s:b, s:b, s:o, s:b, s:s}", "index",
		      (int)c->index, "address", addr, "name", c->info.name, "settings", arr,
		      "secure_connections", c->sc, "sc_only",
		      c->sc_only < 0 ? json_null() : json_boolean(c->sc_only == 1), "privacy",
		      (c->info.current & VG_BT_S_PRIVACY) != 0, "bondable",
		      (c->info.current & VG_BT_S_BONDABLE) != 0, "debug_keys",
		      (c->info.current & VG_BT_S_DEBUG_KEYS) != 0, "io_capability", json_null(),
		      "compliant", c->compliant, "why", c->why);
	return o;
}

/* The management socket; when it cannot be had, the failure is still
 * reported to the service's audit log (if it answers): a device whose
 * Bluetooth policy could not be applied is evidence too. */
static int open_mgmt(struct cli *cli, const char *what, vg_bt_mgmt **m)
{
	char why[256];
	vg_client *c = NULL;
	vg_rc rc = vg_bt_mgmt_open(m, why, sizeof why);
	int e;

	if (rc == VG_OK)
		return 0;
	e = cli_fail("bluetooth %s: %s", what, why);
	if (cli_connect(cli, &c) == 0)
		report_or_warn(c, what, false, why);
	vg_client_close(&c);
	return e;
}

/* The controllers to act on: --index N, or all there are. */
static int indexes(vg_bt_mgmt *m, const char *opt, uint16_t *idx, size_t cap, size_t *n,
		   const char *what)
{
	char why[256];
	vg_rc rc;

	if (opt) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(opt, &end, 10);
		if (errno || end == opt || *end || v >= VG_BT_INDEX_NONE)
			return cli_fail("bluetooth %s: --index: a controller number (0 for hci0)",
					what);
		idx[0] = (uint16_t)v;
		*n = 1;
		return 0;
	}
	rc = vg_bt_index_list(m, idx, cap, n, 0, why, sizeof why);
	if (rc != VG_OK)
		return cli_fail("bluetooth %s: %s", what, why);
	return 0;
}

static int parse_io_cap(const char *s, uint8_t *io)
{
	if (!s || strcmp(s, "keyboard-display") == 0)
		*io = VG_BT_IO_KEYBOARD_DISPLAY;
	else if (strcmp(s, "display-yesno") == 0)
		*io = VG_BT_IO_DISPLAY_YESNO;
	else if (strcmp(s, "keyboard-only") == 0)
		*io = VG_BT_IO_KEYBOARD_ONLY;
	else
		return cli_fail("bluetooth enforce: --io-cap: keyboard-display, display-yesno or "
				"keyboard-only (Level 4 needs authenticated pairing: not "
				"display-only or no-input-no-output)");
	return 0;
}

static int parse_sc(const char *cmd, const char *s, uint8_t *mode)
{
	if (!s || strcmp(s, "only") == 0)
		*mode = VG_BT_SC_ONLY;
	else if (strcmp(s, "on") == 0)
		*mode = VG_BT_SC_ON;
	else
		return cli_fail("bluetooth %s: --sc: only (Secure Connections Only) or on "
				"(Secure Connections, Level 4 kept by the watcher's key check)",
				cmd);
	return 0;
}

struct watch_ctx {
	vg_client *c;
};

static void on_watch(void *ctx, vg_bt_watch_what what, uint16_t index, vg_rc rc,
		     const vg_bt_ctrl *c, const char *why)
{
	struct watch_ctx *w = ctx;
	char line[256];

	if (what == VG_BT_W_REMOVED) {
		(void)printf("hci%u removed\n", (unsigned)index);
		(void)fflush(stdout);
		return;
	}
	if (what == VG_BT_W_THROTTLED || what == VG_BT_W_BONDED || what == VG_BT_W_UNPAIRED)
		(void)snprintf(line, sizeof line, "%s", why);
	else if (rc == VG_OK)
		(void)snprintf(line, sizeof line, "hci%u enforced: secure connections%s, %s",
			       (unsigned)index, c && c->sc_on_enough ? "" : " only",
			       (c && (c->info.current & VG_BT_S_LE)) ? "le privacy" : "no le");
	else
		(void)snprintf(line, sizeof line, "hci%u: %s", (unsigned)index,
			       why && *why ? why : vg_rc_str(rc));
	(void)printf("%s\n", line);
	(void)fflush(stdout);
	report_or_warn(w->c, what == VG_BT_W_BONDED || what == VG_BT_W_UNPAIRED ? "bond" : "watch",
		       (what == VG_BT_W_ENFORCED || what == VG_BT_W_BONDED) && rc == VG_OK, line);
}

static int bt_watch(vg_bt_mgmt *m, const vg_bt_policy *p, vg_client *c)
{
	struct sigaction sa;
	struct watch_ctx ctx = {.c = c};
	vg_bt_watch *w = calloc(1, sizeof *w);
	uint64_t last_recheck = vg_mono_ms();
	vg_rc rc;

	if (!w)
		return cli_fail("bluetooth enforce --watch: out of memory");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	rc = vg_bt_watch_start(w, m, p, on_watch, &ctx);
	if (rc != VG_OK) {
		free(w);
		return cli_fail("bluetooth enforce --watch: cannot list the controllers: %s",
				vg_rc_str(rc));
	}
	(void)printf("watching for new controllers, settings changes and new bonds\n");
	(void)fflush(stdout);
	while (!stop_flag) {
		uint64_t now = vg_mono_ms();
		bool recheck = now - last_recheck >= WATCH_RECHECK_MS;

		rc = vg_bt_watch_step(w, WATCH_STEP_MS, recheck);
		if (recheck && rc == VG_ERR_TIMEOUT) /* an event came first: next round */
			last_recheck = now;
		if (rc != VG_OK && rc != VG_ERR_TIMEOUT)
			break;
	}
	free(w);
	if (stop_flag)
		return 0;
	return cli_fail("bluetooth enforce --watch: the management socket failed: %s",
			vg_rc_str(rc));
}

static int bt_enforce(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "index=,watch,sc=,no-bondable,io-cap=";
	struct cli_opts o;
	vg_bt_mgmt *m = NULL;
	vg_client *c = NULL;
	vg_bt_policy *p = NULL;
	uint16_t idx[VG_BT_MAX_INDEXES];
	size_t n = 0;
	char summary[512] = "", why[256];
	bool all_ok = true, watch;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	watch = cli_flag(&o, spec, "watch");
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* the IRK is in this process */
	p = vg_secret_alloc(sizeof *p);
	if (!p)
		return cli_fail("bluetooth enforce: out of memory");
	vg_bt_policy_init(p);
	p->bondable = !cli_flag(&o, spec, "no-bondable");
	if ((e = parse_io_cap(cli_opt(&o, spec, "io-cap"), &p->io_cap)) ||
	    (e = parse_sc("enforce", cli_opt(&o, spec, "sc"), &p->sc_mode)))
		goto out;
	if (p->sc_mode == VG_BT_SC_ON && !watch)
		(void)fprintf(stderr, "voxguard: bluetooth enforce: --sc on without --watch: "
				      "nothing refuses a legacy or unauthenticated bond (Level 4 "
				      "needs the watcher)\n");
	if ((e = open_mgmt(cli, "enforce", &m)))
		goto out;
	if ((e = cli_connect(cli, &c)))
		goto out;
	rc = get_irk(c, p->irk);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "bluetooth enforce: the LE Privacy key (bluetooth.irk)", rc);
		goto out;
	}
	if (watch) {
		const char *one = cli_opt(&o, spec, "index");
		if (one) { /* watch that controller only */
			if ((e = indexes(m, one, idx, VG_ARRAY_LEN(idx), &n, "enforce")))
				goto out;
			p->watch_index = idx[0];
		}
		e = bt_watch(m, p, c);
		goto out;
	}
	if ((e = indexes(m, cli_opt(&o, spec, "index"), idx, VG_ARRAY_LEN(idx), &n, "enforce")))
		goto out;
	if (n == 0) {
		(void)printf("no Bluetooth controller\n");
		(void)snprintf(summary, sizeof summary, "no Bluetooth controller");
	}
	for (size_t i = 0; i < n; i++) {
		vg_bt_ctrl after;
		size_t used = strlen(summary);

		memset(&after, 0, sizeof after);
		rc = vg_bt_enforce(m, idx[i], p, &after, why, sizeof why);
		if (rc == VG_OK) {
			print_ctrl(&after, vg_bt_io_cap_str(p->io_cap));
			(void)snprintf(summary + used, sizeof summary - used, "%shci%u compliant",
				       used ? "; " : "", (unsigned)idx[i]);
		} else {
			all_ok = false;
			(void)fprintf(stderr, "voxguard: bluetooth enforce: %s\n", why);
			(void)snprintf(summary + used, sizeof summary - used, "%s%s",
				       used ? "; " : "", why);
		}
	}
	report_or_warn(c, "enforce", all_ok, summary);
	e = all_ok ? 0 : EXIT_ERROR;
out:
	if (p)
		vg_secret_free(p, sizeof *p); /* wipes the IRK */
	vg_client_close(&c);
	vg_bt_mgmt_close(&m);
	return e;
}

static int bt_check(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "index=,sc=,json";
	struct cli_opts o;
	vg_bt_mgmt *m = NULL;
	vg_client *c = NULL;
	vg_bt_policy p;
	uint16_t idx[VG_BT_MAX_INDEXES];
	size_t n = 0;
	char summary[512] = "", why[256];
	bool all_ok = true, json = false;
	json_t *arr = NULL;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	json = cli_flag(&o, spec, "json");
	vg_bt_policy_init(&p);
	if ((e = parse_sc("check", cli_opt(&o, spec, "sc"), &p.sc_mode)))
		return e;
	if ((e = open_mgmt(cli, "check", &m)))
		return e;
	if ((e = indexes(m, cli_opt(&o, spec, "index"), idx, VG_ARRAY_LEN(idx), &n, "check")))
		goto out;
	arr = json ? json_array() : NULL;
	if (json && !arr) {
		e = cli_fail("bluetooth check: out of memory");
		goto out;
	}
	if (n == 0 && !json)
		(void)printf("no Bluetooth controller\n");
	for (size_t i = 0; i < n; i++) {
		vg_bt_ctrl ctl;
		size_t used = strlen(summary);

		rc = vg_bt_read(m, idx[i], &p, &ctl, why, sizeof why);
		if (rc != VG_OK) {
			e = cli_fail("bluetooth check: %s", why);
			goto out;
		}
		all_ok = all_ok && ctl.compliant;
		if (ctl.compliant)
			(void)snprintf(summary + used, sizeof summary - used, "%shci%u compliant",
				       used ? "; " : "", (unsigned)idx[i]);
		else
			(void)snprintf(summary + used, sizeof summary - used, "%s%s",
				       used ? "; " : "", ctl.why);
		if (json)
			(void)json_array_append_new(arr, ctrl_json(&ctl));
		else
			print_ctrl(&ctl, "not readable through mgmt (enforce sets it)");
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2));
		if (!s) {
			e = cli_fail("bluetooth check: out of memory");
			goto out;
		}
		(void)printf("%s\n", s);
		free(s);
	}
	if (!summary[0])
		(void)snprintf(summary, sizeof summary, "no Bluetooth controller");
	/* The check is evidence too: audited when the service answers. */
	if (cli_connect(cli, &c) == 0)
		report_or_warn(c, "check", all_ok, summary);
	else
		(void)fprintf(stderr, "voxguard: warning: bluetooth check was not audited\n");
	e = all_ok ? 0 : EXIT_NEGATIVE;
out:
	json_decref(arr);
	vg_client_close(&c);
	vg_bt_mgmt_close(&m);
	return e;
}

/* A fingerprint of the IRK (SHA-256, first 8 octets, hex): to compare the
 * key across restarts and resets without showing it. */
static int bt_irk_id(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t irk[VG_BT_IRK_LEN], d[32];
	unsigned int dl = 0;
	char hex[17];
	int e = cli_parse("", argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = get_irk(c, irk);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "bluetooth irk-id", rc);
		goto out;
	}
	if (!EVP_Digest(irk, sizeof irk, d, &dl, EVP_sha256(), NULL)) {
		e = cli_fail("bluetooth irk-id: SHA-256 failed");
		goto out;
	}
	vg_hex_encode(d, 8, hex);
	(void)printf("%s\n", hex);
out:
	vg_wipe(irk, sizeof irk);
	vg_client_close(&c);
	return e;
}

int cmd_bluetooth(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd sub[] = {
	    {"enforce", bt_enforce,
	     "[--index N] [--watch] [--sc only|on] [--no-bondable] [--io-cap keyboard-display|"
	     "display-yesno|keyboard-only]: Secure Connections Only (or on, with the watcher "
	     "unpairing bonds below Level 4), LE Privacy (the service's IRK), bondable and IO "
	     "capability on every controller (AVS 1.9-1.12)"},
	    {"check", bt_check,
	     "[--index N] [--sc only|on] [--json]: each controller's actual settings; exit 1 if "
	     "one is not compliant"},
	    {"irk-id", bt_irk_id, "a fingerprint of the LE Privacy IRK the service derives"},
	};
	return cli_dispatch(cli, "bluetooth", sub, VG_ARRAY_LEN(sub), argc, argv);
}
