/* op_admin.c - admin authentication (SFR 4.2.13). See ops.h. */
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"
#include "daemon/ops.h"

static void locked_why(vg_req *r, uint64_t wait_s)
{
	(void)snprintf(r->why_buf, sizeof r->why_buf,
		       r->s->admin && wait_s == 1 && vg_adminsvc_pw_busy(r->s->admin)
			   ? "another password check is in progress: try again in %llu s"
			   : "too many failed attempts: try again in %llu s",
		       (unsigned long long)wait_s);
	r->why = r->why_buf;
	vg_msgb_uint(&r->out, VG_A_WAIT, wait_s);
}

static vg_rc reply_session(vg_req *r, vg_rc rc, const char *token, uint64_t wait_s)
{
	if (rc == VG_OK) {
		vg_msgb_text(&r->out, VG_A_TOKEN, token);
		vg_msgb_uint(&r->out, VG_A_EXPIRES, r->s->cfg.admin_session_s);
	} else if (rc == VG_ERR_LOCKED) {
		locked_why(r, wait_s);
	}
	return rc;
}

/* Password setup, login and change hash with scrypt (about 0.1 s): off
 * the event loop, in the three steps of admin.h. */
struct pw_job {
	vg_req_job job;
	vg_pwjob pw;
};

static void pw_run(vg_job *base)
{
	vg_pwjob_run(&((struct pw_job *)base)->pw);
}

static void why_of(vg_req *r, vg_rc rc)
{
	if (rc == VG_ERR_POLICY && r->op != VG_OP_ADMIN_LOGIN)
		r->why = r->why_buf;
	else if (rc == VG_ERR_STATE && r->op == VG_OP_ADMIN_SETUP &&
		 vg_identity_unknown(r->s->identity) != VG_OK) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "the provisioning state is unknown (%s): no setup code can be read",
			       vg_identity_unknown_why(r->s->identity));
		r->why = r->why_buf;
	} else if (rc == VG_ERR_STATE && r->op == VG_OP_ADMIN_SETUP)
		r->why = vg_identity_provisioned(r->s->identity)
			     ? "an admin is already set up: the setup code is spent"
			     : "the device is not provisioned: no setup code yet";
	else if (rc == VG_ERR_STATE)
		r->why = "no admin is set up yet: use `voxguard admin setup`";
	else if (rc == VG_ERR_AUTH_FAILED)
		r->why = r->op == VG_OP_ADMIN_SETUP   ? "wrong setup code"
			 : r->op == VG_OP_ADMIN_LOGIN ? "wrong password"
						      : "wrong current password";
}

static vg_rc pw_finish(vg_req *r, vg_req_job *base)
{
	struct pw_job *j = (struct pw_job *)base;
	char token[VG_TOKEN_HEX + 1] = "";
	vg_rc rc = vg_adminsvc_pw_end(r->s->admin, &j->pw, token, r->why_buf, sizeof r->why_buf);

	why_of(r, rc);
	rc = reply_session(r, rc, token, 0);
	vg_wipe(token, sizeof token);
	return rc;
}

static void pw_abandon(vg_req *r, vg_req_job *base)
{
	vg_adminsvc_pw_abandon(r->s->admin, &((struct pw_job *)base)->pw);
}

static void pw_release(vg_req_job *base)
{
	vg_wipe(base, sizeof(struct pw_job));
	free(base);
}

static vg_rc pw_begin(vg_req *r, const char *code, const uint8_t *pw, size_t pw_len,
		      const uint8_t *npw, size_t npw_len)
{
	vg_adminsvc *a = r->s->admin;
	struct pw_job *j = calloc(1, sizeof *j);
	uint64_t wait_s = 0;
	vg_rc rc;

	if (!j)
		return VG_ERR_NOMEM;
	if (r->op == VG_OP_ADMIN_SETUP)
		rc = vg_adminsvc_setup_begin(a, r->peer->uid, code, pw, pw_len, &j->pw, &wait_s,
					     r->why_buf, sizeof r->why_buf);
	else if (r->op == VG_OP_ADMIN_LOGIN)
		rc = vg_adminsvc_login_begin(a, r->peer->uid, pw, pw_len, &j->pw, &wait_s);
	else
		rc = vg_adminsvc_passwd_begin(a, r->peer->uid, pw, pw_len, npw, npw_len, &j->pw,
					      &wait_s);
	if (rc != VG_OK) {
		pw_release(&j->job);
		why_of(r, rc);
		return reply_session(r, rc, "", wait_s);
	}
	j->job.base.run = pw_run;
	j->job.finish = pw_finish;
	j->job.abandon = pw_abandon;
	j->job.release = pw_release;
	r->job = &j->job;
	return VG_OK;
}

vg_rc vg_op_admin(vg_req *r)
{
	vg_adminsvc *a = r->s->admin;
	char token[VG_TOKEN_HEX + 1] = "", code[64];
	const uint8_t *pw = NULL, *npw = NULL, *data = NULL;
	size_t pw_len = 0, npw_len = 0, len = 0;
	uint64_t wait_s = 0;
	vg_rc rc;

	if (!a)
		return vg_db_state(r->s->db);
	switch (r->op) {
	case VG_OP_ADMIN_SETUP:
		rc = vg_req_text(r, VG_A_CODE, code, sizeof code, true);
		if (rc == VG_OK)
			rc = vg_req_bytes(r, VG_A_PASSWORD, &pw, &pw_len, 4096);
		if (rc == VG_OK)
			rc = pw_begin(r, code, pw, pw_len, NULL, 0);
		vg_wipe(code, sizeof code);
		return rc;
	case VG_OP_ADMIN_LOGIN:
		rc = vg_req_bytes(r, VG_A_PASSWORD, &pw, &pw_len, 4096);
		return rc == VG_OK ? pw_begin(r, NULL, pw, pw_len, NULL, 0) : rc;
	case VG_OP_ADMIN_LOGOUT:
		if (vg_msg_text(&r->msg, VG_A_SESSION, token, sizeof token) == VG_OK)
			vg_adminsvc_logout(a, token);
		vg_wipe(token, sizeof token);
		return VG_OK;
	case VG_OP_ADMIN_PASSWD:
		rc = vg_req_bytes(r, VG_A_PASSWORD, &pw, &pw_len, 4096);
		if (rc == VG_OK)
			rc = vg_req_bytes(r, VG_A_NEW_PASSWORD, &npw, &npw_len, 4096);
		return rc == VG_OK ? pw_begin(r, NULL, pw, pw_len, npw, npw_len) : rc;
	case VG_OP_ADMIN_KEY_ADD:
		rc = vg_req_bytes(r, VG_A_DATA, &data, &len, 8192);
		if (rc == VG_OK)
			rc = vg_adminsvc_key_add(a, r->name, data, len);
		if (rc == VG_ERR_INVALID)
			r->why = "not a P-256 or Ed25519 public key (PEM or DER)";
		return rc;
	case VG_OP_ADMIN_KEY_DELETE:
		return vg_adminsvc_key_delete(a, r->name);
	case VG_OP_ADMIN_CHALLENGE: {
		uint8_t nonce[32];
		rc = vg_adminsvc_challenge(a, r->peer->uid, nonce);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_NONCE, nonce, sizeof nonce);
		if (rc == VG_ERR_STATE)
			r->why = "no admin is set up yet: use `voxguard admin setup`";
		return rc;
	}
	case VG_OP_ADMIN_ANSWER:
		rc = vg_req_bytes(r, VG_A_NONCE, &data, &len, 32);
		if (rc == VG_OK && len != 32)
			rc = VG_ERR_INVALID;
		if (rc == VG_OK)
			rc = vg_req_bytes(r, VG_A_SIG, &pw, &pw_len, 256);
		if (rc == VG_OK)
			rc = vg_adminsvc_answer(a, r->peer->uid, r->name, data, pw, pw_len, token,
						&wait_s);
		if (rc == VG_ERR_AUTH_FAILED)
			r->why = "the signature does not verify with that registered key";
		else if (rc == VG_ERR_AUTH_REQUIRED)
			r->why = "no such challenge for you (expired, used, or never issued)";
		break;
	default:
		return VG_ERR_UNSUPPORTED;
	}
	rc = reply_session(r, rc, token, wait_s);
	vg_wipe(token, sizeof token);
	return rc;
}
