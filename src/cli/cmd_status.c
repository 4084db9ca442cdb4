/* cmd_status.c - `voxguard status` */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "attest/psa_token.h"
#include "cli/cli.h"

static void print_budget(const vg_budget_info *b)
{
	(void)printf("budget of uid %u (used / limit):\n", b->uid);
	(void)printf("  connections     %u / %u (idle ones closed after %u s)\n", b->use_conns,
		     b->conns, b->idle_ms / 1000);
	(void)printf("  requests        %llu / %llu bytes in flight, %llu bytes/s read on average\n",
		     (unsigned long long)b->use_inflight_bytes,
		     (unsigned long long)b->inflight_bytes, (unsigned long long)b->request_rate);
	(void)printf("  records         %llu / %llu, %llu / %llu bytes\n",
		     (unsigned long long)b->use_records, (unsigned long long)b->store_records,
		     (unsigned long long)b->use_bytes, (unsigned long long)b->store_bytes);
	(void)printf("  record writes   %llu bytes/s on average\n",
		     (unsigned long long)b->store_write_rate);
	(void)printf("  keys            %llu / %u\n", (unsigned long long)b->use_keys, b->keys);
	(void)printf("  heavy requests  %u at once\n", b->heavy_ops);
	if (b->use_refused)
		(void)printf("  refused         %llu in the last 10 s (quota exceeded)\n",
			     (unsigned long long)b->use_refused);
}

/* The audit log's line: where it is and what it let go (SFR 4.2.9). */
static void print_audit(const vg_status *st)
{
	(void)printf("audit log:      next record #%llu, %llu of %llu KiB",
		     (unsigned long long)st->audit_seq,
		     (unsigned long long)(st->audit_bytes / 1024),
		     (unsigned long long)(st->audit_capacity / 1024));
	if (st->audit_dropped)
		(void)printf("; %llu records dropped to make room (listed in the signed "
			     "drop summary of every export)",
			     (unsigned long long)st->audit_dropped);
	if (st->audit_suppressed)
		(void)printf("; %llu repeated events summarised (audit.suppressed)",
			     (unsigned long long)st->audit_suppressed);
	(void)printf("\n");
}

static json_t *budget_json(const vg_budget_info *b)
{
	json_t *o = json_object(), *lim = json_object(), *use = json_object();

	if (!o || !lim || !use) {
		json_decref(o);
		json_decref(lim);
		json_decref(use);
		return NULL;
	}
	json_object_set_new(o, "uid", json_integer(b->uid));
	json_object_set_new(lim, "connections", json_integer(b->conns));
	json_object_set_new(lim, "idle_timeout_ms", json_integer(b->idle_ms));
	json_object_set_new(lim, "inflight_bytes", json_integer((json_int_t)b->inflight_bytes));
	json_object_set_new(lim, "request_rate", json_integer((json_int_t)b->request_rate));
	json_object_set_new(lim, "records", json_integer((json_int_t)b->store_records));
	json_object_set_new(lim, "record_bytes", json_integer((json_int_t)b->store_bytes));
	json_object_set_new(lim, "record_write_rate",
			    json_integer((json_int_t)b->store_write_rate));
	json_object_set_new(lim, "keys", json_integer(b->keys));
	json_object_set_new(lim, "heavy_requests", json_integer(b->heavy_ops));
	json_object_set_new(o, "limits", lim);
	json_object_set_new(use, "connections", json_integer(b->use_conns));
	json_object_set_new(use, "inflight_bytes", json_integer((json_int_t)b->use_inflight_bytes));
	json_object_set_new(use, "records", json_integer((json_int_t)b->use_records));
	json_object_set_new(use, "record_bytes", json_integer((json_int_t)b->use_bytes));
	json_object_set_new(use, "keys", json_integer((json_int_t)b->use_keys));
	json_object_set_new(use, "refused_last_10s", json_integer((json_int_t)b->use_refused));
	json_object_set_new(o, "use", use);
	return o;
}

/* What the text shows, as one object (docs/voxguard.1): absent values are
 * null, never guessed. bi is NULL when the budget could not be read. */
static int status_json(const vg_status *st, const vg_budget_info *bi)
{
	json_t *o = json_object(), *rot = json_object(), *audit = json_object(), *plat = NULL;
	bool sealed = strcmp(st->store_state, "sealed") == 0;
	bool down = st->rot_state && strcmp(st->rot_state, "answering") != 0;

	if (!o || !rot || !audit) {
		json_decref(rot);
		json_decref(audit);
		json_decref(o);
		return cli_print_json(NULL);
	}
	json_object_set_new(o, "version", cli_json_str(st->version));
	json_object_set_new(rot, "backend", cli_json_str(st->rot_backend));
	json_object_set_new(rot, "development", json_boolean(st->rot_is_dev));
	json_object_set_new(rot, "state", cli_json_str(st->rot_state));
	json_object_set_new(rot, "down_since",
			    down ? json_integer((json_int_t)st->rot_down_since) : json_null());
	/* Sealed: its base is sealed with the root key, so it is not read. */
	json_object_set_new(rot, "counter",
			    sealed ? json_null() : json_integer((json_int_t)st->rot_counter));
	json_object_set_new(o, "root_of_trust", rot);
	json_object_set_new(o, "store_state", cli_json_str(st->store_state));
	json_object_set_new(audit, "next_record",
			    sealed ? json_null() : json_integer((json_int_t)st->audit_seq));
	json_object_set_new(audit, "bytes",
			    sealed ? json_null() : json_integer((json_int_t)st->audit_bytes));
	json_object_set_new(audit, "capacity_bytes",
			    sealed ? json_null() : json_integer((json_int_t)st->audit_capacity));
	json_object_set_new(audit, "dropped",
			    sealed ? json_null() : json_integer((json_int_t)st->audit_dropped));
	json_object_set_new(audit, "suppressed",
			    sealed ? json_null() : json_integer((json_int_t)st->audit_suppressed));
	json_object_set_new(o, "audit_log", audit);
	json_object_set_new(o, "lifecycle", json_integer(st->lifecycle));
	json_object_set_new(o, "lifecycle_state",
			    json_string(vg_psa_lifecycle_name(st->lifecycle)));
	json_object_set_new(
	    o, "lifecycle_why",
	    st->lifecycle == 0x0000
		? cli_json_str(st->lifecycle_why ? st->lifecycle_why : "the service cannot tell")
		: json_null());
	/* Unknown (sealed, or a refused store) is null, never false. */
	json_object_set_new(
	    o, "admin_configured",
	    sealed || st->admin_configured < 0 ? json_null() : json_boolean(st->admin_configured));
	json_object_set_new(o, "debug_unlocked", json_boolean(st->debug_unlocked));
	if (st->platform_state && (plat = json_object()) != NULL) {
		bool versioned = st->platform_version != NULL;
		json_object_set_new(plat, "state", cli_json_str(st->platform_state));
		json_object_set_new(plat, "reason",
				    st->platform_why && st->platform_why[0]
					? cli_json_str(st->platform_why)
					: json_null());
		json_object_set_new(plat, "version", cli_json_str(st->platform_version));
		json_object_set_new(plat, "security_version",
				    versioned ? json_integer((json_int_t)st->security_version)
					      : json_null());
	}
	json_object_set_new(o, "platform", plat ? plat : json_null());
	json_object_set_new(o, "uid", json_integer(st->uid));
	json_object_set_new(o, "role", cli_json_str(st->role));
	json_object_set_new(o, "budget", bi ? budget_json(bi) : json_null());
	return cli_print_json(o);
}

/* `status --uid UID --json`: the budget under the same name as in
 * `status --json`. */
static int budget_only_json(const vg_budget_info *bi)
{
	json_t *o = json_object();

	if (o)
		json_object_set_new(o, "budget", budget_json(bi));
	return cli_print_json(o);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "uid=,json";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_status st;
	vg_budget_info bi;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	const char *uid_s;
	bool sealed, json;
	vg_rc rc;

	if (e)
		return e;
	json = cli_flag(&o, spec, "json");
	uid_s = cli_opt(&o, spec, "uid");
	if (uid_s) {
		/* An admin's look at one uid's budget (SFR 4.2.10). */
		char *end;
		unsigned long u = strtoul(uid_s, &end, 10);
		if (!*uid_s || *end || u > UINT32_MAX)
			return cli_fail("usage: voxguard status [--uid UID] [--json]");
		if ((e = cli_connect(cli, &c)))
			return e;
		rc = vg_budget_status(c, (int64_t)u, &bi);
		if (rc != VG_OK) {
			e = cli_fail_rc(c, "status --uid", rc);
			vg_client_close(&c);
			return e;
		}
		if (json)
			e = budget_only_json(&bi);
		else
			print_budget(&bi);
		vg_client_close(&c);
		return e;
	}
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_status_get(c, &st);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "status", rc);
		vg_client_close(&c);
		return e;
	}
	if (json) {
		e = status_json(&st, vg_budget_status(c, -1, &bi) == VG_OK ? &bi : NULL);
		vg_status_free(&st);
		vg_client_close(&c);
		return e;
	}
	(void)printf("voxguardd:      %s\n", st.version);
	(void)printf("root of trust:  %s%s\n", st.rot_backend,
		     st.rot_is_dev ? " (DEVELOPMENT backend: root key in a file, no hardware "
				     "protection; not for production devices)"
				   : "");
	if (st.rot_state && strcmp(st.rot_state, "answering") != 0) {
		char when[32] = "?";
		time_t t = (time_t)st.rot_down_since;
		struct tm tm;
		uint64_t now = (uint64_t)time(NULL);

		if (gmtime_r(&t, &tm))
			(void)strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		(void)printf(
		    "rot state:      NOT ANSWERING since %s (%llu s): operations that "
		    "need the root of trust fail until it answers\n",
		    when,
		    (unsigned long long)(now > st.rot_down_since ? now - st.rot_down_since : 0));
	} else if (st.rot_state) {
		(void)printf("rot state:      %s\n", st.rot_state);
	}
	sealed = strcmp(st.store_state, "sealed") == 0;
	if (sealed)
		(void)printf("rot counter:    not read (its base is sealed with the root key)\n");
	else
		(void)printf("rot counter:    %llu\n", (unsigned long long)st.rot_counter);
	(void)printf("secure store:   %s%s\n", st.store_state,
		     st.store_state[0] == 'o' ? ""
		     : sealed ? " (the root key does not open in this boot, so nothing it protects "
				"is read or written: see platform below)"
			      : " (records are refused; the detection is on the service's "
				"journal: nothing is written to a store in this state)");
	if (sealed)
		(void)printf("audit log:      sealed with the root key (this boot's events are on "
			     "the service's journal)\n");
	else
		print_audit(&st);
	if (st.lifecycle == 0x0000)
		/* The service cannot tell (a refused store): say so and why,
		 * never "not provisioned". */
		(void)printf("lifecycle:      unknown (%s)\n",
			     st.lifecycle_why ? st.lifecycle_why : "the service cannot tell");
	else
		(void)printf("lifecycle:      %s\n", st.lifecycle == 0x2000
							 ? "provisioning (not provisioned)"
						     : st.lifecycle == 0x3000 ? "secured"
						     : st.lifecycle == 0x4000 ? "non-PSA-RoT debug"
									      : "other");
	(void)printf("admin:          %s\n",
		     sealed ? "unknown: sealed with the root key; no admin operation is served "
			      "in this boot"
		     : st.admin_configured < 0
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
	if (vg_budget_status(c, -1, &bi) == VG_OK)
		print_budget(&bi);
	vg_status_free(&st);
	vg_client_close(&c);
	return 0;
}
