/* op_status.c - the caller's view of the device. See ops.h. */
#include <stdio.h>

#include "common/util.h"
#include "daemon/budget.h"
#include "daemon/ops.h"
#include "version.h"

/* The budget of uid and what it uses (SFR 4.2.10): the caller's own, or
 * an admin's look at any uid's. */
static vg_rc budget_report(vg_req *r, uint32_t uid)
{
	vg_budget limit;
	vg_budget_use use;
	char ns[24];
	uint64_t records = 0, bytes = 0, keys = 0;
	vg_rc rc = vg_budget_report(&r->s->budgets, &r->s->budget_use, r->peer, uid, &limit, &use);

	if (rc != VG_OK) {
		r->why = "only an admin may see another uid's budget";
		return rc;
	}
	vg_budget_encode(&r->out, uid, &limit, &use);
	(void)snprintf(ns, sizeof ns, "u/%u", uid);
	if (!r->s->store) /* sealed (service.h): nothing stored can be counted */
		return VG_OK;
	if (vg_secstore_usage(r->s->store, ns, &records, &bytes) == VG_OK) {
		vg_msgb_uint(&r->out, VG_A_BUDGET_USE_RECORDS, records);
		vg_msgb_uint(&r->out, VG_A_BUDGET_USE_BYTES, bytes);
	}
	if (vg_keystore_count(r->s->ks, uid, &keys) == VG_OK)
		vg_msgb_uint(&r->out, VG_A_BUDGET_USE_KEYS, keys);
	return VG_OK;
}

vg_rc vg_op_status(vg_req *r)
{
	vg_service *s = r->s;
	uint64_t who = 0;
	vg_rot_health h;
	vg_rc rc = vg_msg_uint(&r->msg, VG_A_BUDGET_UID, &who), st;

	/* With BUDGET_UID: the budget report alone (above UINT32_MAX: the
	 * caller's own); without: the device's status. */
	if (rc == VG_OK)
		return budget_report(r, who > UINT32_MAX ? r->peer->uid : (uint32_t)who);
	if (rc != VG_ERR_NOT_FOUND)
		return rc;
	st = s->sealed ? VG_ERR_STATE : vg_db_state(s->db);

	/* Status never waits for the root of trust (it is how a device that
	 * lost its TPM is diagnosed): the counter is the value last read or
	 * advanced, the health what the backend knows without asking. */
	vg_rot_health_get(s->rot, &h);
	vg_msgb_text(&r->out, VG_A_VERSION, VG_VERSION_STRING);
	vg_msgb_text(&r->out, VG_A_ROT, vg_rot_name(s->rot));
	vg_msgb_uint(&r->out, VG_A_ROT_DEV, vg_rot_is_dev(s->rot));
	vg_msgb_text(&r->out, VG_A_ROT_STATE, h.answering ? "answering" : "not-answering");
	if (!h.answering)
		vg_msgb_uint(&r->out, VG_A_ROT_SINCE, h.down_since);
	vg_msgb_text(&r->out, VG_A_STORE,
		     st == VG_OK             ? "ok"
		     : st == VG_ERR_ROLLBACK ? "rollback"
		     : st == VG_ERR_STATE    ? "sealed"
					     : "integrity-error");
	vg_msgb_uint(&r->out, VG_A_COUNTER, s->db ? vg_db_rot_value(s->db) : 0);
	vg_msgb_uint(&r->out, VG_A_AUDIT_SEQ, vg_audit_next_seq(s->audit));
	{
		/* Retention (SFR 4.2.9): what the log holds, and what it let go. */
		vg_audit_stats as;
		vg_audit_stats_get(s->audit, &as);
		vg_msgb_uint(&r->out, VG_A_AUDIT_BYTES, as.stored_bytes);
		vg_msgb_uint(&r->out, VG_A_AUDIT_CAP, as.max_bytes);
		vg_msgb_uint(&r->out, VG_A_AUDIT_DROP, as.dropped);
		vg_msgb_uint(&r->out, VG_A_AUDIT_SUPPR, as.suppressed);
	}
	vg_msgb_uint(&r->out, VG_A_UID, r->peer->uid);
	vg_msgb_text(&r->out, VG_A_ROLE, vg_policy_role(r->peer));
	/* 2: unknown -- a refused store cannot say (never "not set up"). */
	vg_msgb_uint(&r->out, VG_A_ADMIN_SET,
		     !s->admin                          ? 2
		     : vg_adminsvc_configured(s->admin) ? 1
							: 0);
	vg_msgb_uint(&r->out, VG_A_DEBUG, s->debug.unlocked);
	if (s->platform) {
		vg_msgb_text(&r->out, VG_A_PLATFORM, vg_platform_state_name(s->platform->state));
		vg_msgb_text(&r->out, VG_A_PLATFORM_WHY, s->platform->reason);
		if (s->platform->manifest_ok) {
			vg_msgb_text(&r->out, VG_A_PLATFORM_VERSION, s->platform->version);
			vg_msgb_uint(&r->out, VG_A_SECVER, s->platform->security_version);
		}
	}
	if (s->sealed) {
		/* The provisioning record is sealed with everything else. */
		vg_msgb_uint(&r->out, VG_A_LIFECYCLE, 0);
		vg_msgb_text(&r->out, VG_A_LIFECYCLE_WHY,
			     "the root key is sealed in this boot: the provisioning record "
			     "cannot be read");
		return VG_OK;
	}
	vg_msgb_uint(&r->out, VG_A_LIFECYCLE, vg_identity_lifecycle(s->identity));
	/* A refused store cannot say whether the device was provisioned:
	 * the lifecycle is unknown (0), and why (never "not provisioned"). */
	if (vg_identity_unknown(s->identity) != VG_OK)
		vg_msgb_text(&r->out, VG_A_LIFECYCLE_WHY, vg_identity_unknown_why(s->identity));
	return VG_OK;
}
