/* reqmgr.c - see reqmgr.h */
#include "daemon/reqmgr.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "daemon/ops.h"
#include "proto/wire.h"

vg_rc vg_req_bytes(vg_req *r, unsigned key, const uint8_t **p, size_t *len, size_t max)
{
	vg_rc rc = vg_msg_bytes(&r->msg, key, p, len);

	if (rc == VG_ERR_NOT_FOUND) {
		r->why = "missing argument";
		return VG_ERR_INVALID;
	}
	if (rc == VG_OK && *len > max)
		return VG_ERR_TOO_LARGE;
	return rc;
}

vg_rc vg_req_text(vg_req *r, unsigned key, char *out, size_t cap, bool required)
{
	vg_rc rc = vg_msg_text(&r->msg, key, out, cap);

	if (rc == VG_ERR_NOT_FOUND) {
		out[0] = '\0';
		if (!required)
			return VG_OK;
		r->why = "missing argument";
		return VG_ERR_INVALID;
	}
	if (rc == VG_ERR_PROTOCOL) {
		r->why = "argument too long or not text";
		return VG_ERR_INVALID;
	}
	return rc;
}

void vg_req_audit(vg_req *r, const char *type, const char *outcome, const char *what)
{
	char detail[256];

	if (r->def)
		(void)snprintf(detail, sizeof detail, "%s%s%s owner=%u", r->def->name,
			       r->name[0] ? " " : "", r->name, r->owner);
	else
		(void)snprintf(detail, sizeof detail, "operation %u", (unsigned)r->op);
	if (what) {
		size_t n = strlen(detail);
		(void)snprintf(detail + n, sizeof detail - n, ": %s", what);
	}
	vg_service_audit(r->s, r->peer, type, outcome, detail);
}

/* Audit what the requirement names (SFR 4.2.9): denials, refusals by key
 * policy or budget, integrity and rollback errors, and every outcome of
 * the operations whose row says so. */
static void audit_result(vg_req *r, vg_rc rc)
{
	const uint32_t f = r->def ? r->def->flags : 0;

	if (!r->def) {
		vg_req_audit(r, "ipc.unknown_op", "denied", NULL);
		return;
	}
	switch (rc) {
	case VG_ERR_DENIED:
		if (r->deny_event)
			vg_req_audit(r, r->deny_event, "denied", r->why);
		else
			vg_req_audit(r, "authz.denied", "denied", NULL);
		return;
	case VG_ERR_POLICY:
		/* A key's usage policy; other refusals (a weak password) are
		 * the operation's own failure, audited under its name below. */
		if (r->def->access == VG_ACCESS_OWN || r->def->access == VG_ACCESS_MANAGE) {
			vg_req_audit(r, "key.policy_denied", "denied", NULL);
			return;
		}
		break;
	case VG_ERR_INTEGRITY:
		vg_req_audit(r, "store.integrity", "failure", NULL);
		return;
	case VG_ERR_ROLLBACK:
		if (!(f & VG_OPF_SELF_AUDIT))
			vg_req_audit(r, "store.rollback", "failure", NULL);
		return;
	case VG_ERR_AUTH_REQUIRED:
		vg_req_audit(r, "auth.required", "denied", "no valid admin session");
		return;
	case VG_ERR_QUOTA:
		/* A budget spent (SFR 4.2.10): floods of these are summarised
		 * by the audit log's per-uid rate limit. */
		vg_req_audit(r, "budget.exceeded", "denied", r->why);
		return;
	case VG_ERR_STATE:
		if (r->recovery_denied) {
			vg_req_audit(r, "platform.recovery_denied", "denied", NULL);
			return;
		}
		break;
	default:
		break;
	}
	if ((f & VG_OPF_AUDIT) && !(rc == VG_OK && r->quiet))
		/* SFR 4.2.9/4.2.13: every attempt, failed or not. */
		vg_req_audit(r, r->def->name, rc == VG_OK ? "success" : "failure",
			     rc == VG_OK ? NULL : vg_rc_str(rc));
}

/* Does this request need an authenticated admin session (SFR 4.2.13)? */
static bool needs_session(const vg_req *r)
{
	const uint32_t f = r->def->flags;

	if (f & VG_OPF_SESSION)
		return true;
	if ((f & VG_OPF_SESSION_OTHER) && r->owner != r->peer->uid)
		return true; /* administering another's namespace */
	return r->def->session_if && r->def->session_if(r);
}

static vg_rc require_session(vg_req *r)
{
	char token[VG_TOKEN_HEX + 1];
	vg_rc rc;

	if (!r->s->admin) {
		/* A refused store (rollback, integrity): no credential can be
		 * read, so none can be checked, and nothing that needs one is
		 * served -- but a local admin's factory reset, which only
		 * erases, always is (SFR 4.2.12; docs/FIELD.md). */
		if (r->op == VG_OP_FACTORY_RESET)
			return VG_OK;
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "the sealed store is refused (%s): the admin credential cannot be "
			       "checked, so admin operations are refused; a factory reset is "
			       "the way out (docs/FIELD.md)",
			       vg_rc_str(vg_db_state(r->s->db)));
		r->why = r->why_buf;
		return VG_ERR_AUTH_REQUIRED;
	}
	if (!vg_adminsvc_configured(r->s->admin))
		return VG_OK; /* development device: no admin set up yet */
	rc = vg_msg_text(&r->msg, VG_A_SESSION, token, sizeof token);
	if (rc != VG_OK) {
		r->why = "admin authentication required: log in with `voxguard admin login`";
		return VG_ERR_AUTH_REQUIRED;
	}
	rc = vg_adminsvc_check(r->s->admin, token, r->peer->uid);
	vg_wipe(token, sizeof token);
	if (rc != VG_OK)
		r->why = "no valid admin session (expired, revoked or not yours): log in again";
	return rc;
}

static vg_rc dispatch(vg_req *r)
{
	uint64_t owner;
	vg_rc rc;

	if (!r->def)
		return VG_ERR_UNSUPPORTED;
	if (!vg_service_recovery_serves(r->s, r->def)) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "the platform is in recovery (%.*s): only %s",
			       (int)(sizeof r->why_buf - 140), r->s->platform->reason,
			       r->s->sealed ? "status and verify-platform are served until the "
					      "device boots a release the OEM signed"
					    : "status, audit log, identity, attestation, update and "
					      "factory reset are served");
		r->why = r->why_buf;
		r->recovery_denied = true;
		return VG_ERR_STATE;
	}
	if (r->def->flags & VG_OPF_NAME) {
		rc = vg_msg_text(&r->msg, VG_A_NAME, r->name, sizeof r->name);
		if (rc == VG_ERR_NOT_FOUND) {
			r->why = "missing name";
			return VG_ERR_INVALID;
		}
		if (rc != VG_OK)
			return rc;
		if (!vg_name_valid(r->name, strlen(r->name))) {
			r->why = "invalid name: use 1-128 of [A-Za-z0-9._-], not starting with '.'";
			return VG_ERR_INVALID;
		}
	}
	rc = vg_msg_uint(&r->msg, VG_A_OWNER, &owner);
	if (rc == VG_OK) {
		if (owner > UINT32_MAX)
			return VG_ERR_INVALID;
		r->owner = (uint32_t)owner;
	} else if (rc != VG_ERR_NOT_FOUND) {
		return rc;
	}
	if (r->op == VG_OP_FACTORY_RESET && vg_service_reset_button(r->s)) {
		/* Physical presence: the reset button is held. */
		r->presence = true;
	} else if (vg_policy_identity_tls(&r->s->policy, r->peer, r->op, r->owner, r->name)) {
		/* identity_tls_group: the device identity key (policy.h). */
	} else {
		rc = vg_policy_check(&r->s->policy, r->peer, r->op, r->owner);
		if (rc == VG_OK && needs_session(r))
			rc = require_session(r);
		if (rc != VG_OK)
			return rc;
	}
	return r->def->handler(r);
}

static vg_rc error_reply(vg_rc rc, const char *why, uint8_t **reply, size_t *reply_len)
{
	vg_msgb b;
	vg_rc e = vg_msgb_init(&b);

	if (e != VG_OK)
		return e;
	vg_msgb_text(&b, VG_A_MSG, why ? why : vg_rc_str(rc));
	return vg_wire_encode((uint64_t)rc, &b, reply, reply_len);
}

vg_rc vg_reqmgr_error_reply(vg_rc rc, const char *why, uint8_t **reply, size_t *reply_len)
{
	return error_reply(rc, why, reply, reply_len);
}

struct vg_reqmgr_pending {
	vg_req r;
	vg_peer peer;
};

/* The reply to a request whose outcome is rc (and the audit of it). */
static void finish_reply(vg_req *r, vg_rc rc, uint8_t **reply, size_t *reply_len)
{
	audit_result(r, rc);
	if (r->s->debug.unlocked)
		/* The debug function: a trace of every request (SFR 4.3.1). */
		(void)fprintf(stderr, "voxguardd: debug trace: uid %u pid %d op %s: %s\n",
			      r->peer->uid, r->peer->pid, r->def ? r->def->name : "unknown",
			      vg_rc_str(rc));
	if (!reply) {
		vg_msgb_free(&r->out);
		return;
	}
	if (rc == VG_OK) {
		rc = vg_wire_encode(VG_OK, &r->out, reply, reply_len);
		if (rc != VG_OK)
			VG_IGNORE(error_reply(rc, NULL, reply, reply_len));
	} else {
		vg_msgb_free(&r->out);
		VG_IGNORE(error_reply(rc, r->why, reply, reply_len));
	}
}

vg_rc vg_reqmgr_handle(vg_service *s, const vg_peer *peer, const uint8_t *payload, size_t len,
		       const vg_reqmgr_batch *batch, uint8_t **reply, size_t *reply_len,
		       bool *deferred, vg_reqmgr_pending **pending)
{
	vg_req r = {.s = s, .peer = peer, .owner = peer->uid};
	vg_rc rc, erc;

	*reply = NULL;
	*reply_len = 0;
	*deferred = false;
	if (pending)
		*pending = NULL;
	rc = vg_wire_decode(payload, len, &r.msg);
	if (rc != VG_OK) {
		/* Garbage: answer once, then the connection is closed. */
		erc = error_reply(rc, "malformed request", reply, reply_len);
		(void)erc;
		return VG_ERR_PROTOCOL;
	}
	r.op = r.msg.code > 0xffff ? (vg_op)0 : (vg_op)r.msg.code;
	r.def = vg_op_find(r.msg.code);
	/* Group commit: nothing but another batched put may see the store
	 * before the pending batch is durable. */
	if (batch && (!r.def || !(r.def->flags & VG_OPF_BATCH)))
		batch->commit(batch->ctx);
	rc = vg_msgb_init(&r.out);
	if (rc == VG_OK)
		rc = dispatch(&r);
	vg_msg_free(&r.msg); /* the payload is the caller's: nothing may keep it */
	if (rc == VG_OK && r.job) {
		vg_reqmgr_pending *p = pending ? calloc(1, sizeof *p) : NULL;
		if (p) {
			p->r = r;
			p->peer = *peer;
			p->r.peer = &p->peer;
			if (r.why == r.why_buf)
				p->r.why = p->r.why_buf;
			*pending = p;
			return VG_OK;
		}
		/* No pool (or no memory for the wait): the work runs here. */
		r.job->base.run(&r.job->base);
		rc = r.job->finish(&r, r.job);
		r.job->release(r.job);
		r.job = NULL;
	}
	*deferred = rc == VG_OK && r.deferred;
	finish_reply(&r, rc, reply, reply_len);
	return VG_OK;
}

vg_job *vg_reqmgr_job(vg_reqmgr_pending *p)
{
	return &p->r.job->base;
}

int vg_reqmgr_cost(const vg_reqmgr_pending *p)
{
	return p->r.def ? (int)p->r.def->cost : 0;
}

uint32_t vg_reqmgr_uid(const vg_reqmgr_pending *p)
{
	return p->peer.uid;
}

vg_rc vg_reqmgr_complete(vg_reqmgr_pending *p, vg_rc refused, const char *why, uint8_t **reply,
			 size_t *reply_len)
{
	vg_req *r = &p->r;
	vg_rc rc;

	if (reply) {
		*reply = NULL;
		*reply_len = 0;
	}
	if (refused == VG_OK) {
		rc = r->job->finish(r, r->job);
	} else {
		if (r->job->abandon)
			r->job->abandon(r, r->job);
		rc = refused;
		r->why = why;
	}
	r->job->release(r->job);
	r->job = NULL;
	finish_reply(r, rc, reply, reply_len);
	free(p);
	return VG_OK;
}
