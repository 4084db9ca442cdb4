/* op_display.c - the display IPC guard's one-time tokens in the service
 * (AVS 1.14; the SDK's smart-screen rules): see display/token.h and ops.h.
 *
 * Who may issue and who may redeem is configuration (display_launcher_uids,
 * display_gateway_uids): a uid outside the list is refused as
 * display.denied. Every other refusal is a display.refused event naming
 * why (unknown, replayed, expired, origin mismatch, malformed), and the
 * reply says the same. Issues and redemptions are audited too: a token is
 * a credential to the voice application. The token itself is never logged
 * and never written anywhere: the table lives in service memory only. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "daemon/ops.h"
#include "display/token.h"

/* The table, created on first use with the configured limits. */
static vg_rc table(vg_req *r, vg_dtok_table **t)
{
	const vg_config *c = &r->s->cfg;
	vg_dtok_limits l = {.ttl_ms = c->display_token_ttl_ms,
			    .per_uid = c->display_tokens_per_uid,
			    .max_total = c->display_tokens_max};

	if (!r->s->display_tokens) {
		vg_rc rc = vg_dtok_table_new(&r->s->display_tokens, &l);
		if (rc != VG_OK) {
			r->why = "display tokens: cannot create the table";
			return rc;
		}
	}
	*t = r->s->display_tokens;
	return VG_OK;
}

static vg_rc deny(vg_req *r, const char *role, const char *key)
{
	(void)snprintf(r->why_buf, sizeof r->why_buf, "uid %u is not a display %s (%s)",
		       r->peer->uid, role, key);
	r->why = r->why_buf;
	r->deny_event = "display.denied";
	return VG_ERR_DENIED;
}

/* Origin text as sent, for messages and the audit: printable ASCII. */
static vg_rc origin_arg(vg_req *r, char *out, size_t cap)
{
	vg_rc rc = vg_req_text(r, VG_A_ORIGIN, out, cap, true);

	if (rc != VG_OK) {
		vg_req_audit(r, "display.refused", "denied", "origin missing or longer than 255");
		return rc;
	}
	for (size_t i = 0; out[i]; i++)
		if (out[i] < 0x21 || out[i] >= 0x7f) {
			r->why = "origin: not printable ASCII";
			vg_req_audit(r, "display.refused", "denied", r->why);
			return VG_ERR_INVALID;
		}
	return VG_OK;
}

static vg_rc issue(vg_req *r)
{
	char origin[VG_DISPLAY_ORIGIN_MAX + 1], token[VG_DISPLAY_TOKEN_B64_LEN + 1], what[400];
	uint64_t now = vg_mono_ms(), expires = 0;
	vg_dtok_table *t;
	vg_rc rc;

	if (!vg_cfg_uids_has(&r->s->cfg.display_launcher_uids, r->peer->uid))
		return deny(r, "launcher", "display_launcher_uids");
	if ((rc = origin_arg(r, origin, sizeof origin)) != VG_OK)
		return rc;
	if ((rc = table(r, &t)) != VG_OK)
		return rc;
	rc = vg_dtok_issue(t, r->peer->uid, origin, now, token, &expires, r->why_buf,
			   sizeof r->why_buf);
	if (rc != VG_OK) {
		r->why = r->why_buf;
		/* A spent budget is budget.exceeded (the request manager);
		 * anything else is this op's refusal. */
		if (rc != VG_ERR_QUOTA) {
			(void)snprintf(what, sizeof what, "issue for %.255s: %.60s", origin,
				       r->why_buf);
			vg_req_audit(r, "display.refused", "denied", what);
		}
		return rc;
	}
	vg_msgb_text(&r->out, VG_A_TOKEN, token);
	vg_wipe(token, sizeof token);
	vg_msgb_uint(&r->out, VG_A_TTL_MS, expires - now);
	(void)snprintf(what, sizeof what, "issued for %.255s", origin);
	vg_req_audit(r, "display.token", "success", what);
	return VG_OK;
}

static vg_rc redeem(vg_req *r)
{
	char origin[VG_DISPLAY_ORIGIN_MAX + 1], token[VG_DISPLAY_TOKEN_B64_LEN + 1], what[400];
	uint32_t issuer = UINT32_MAX;
	vg_dtok_verdict v;
	vg_dtok_table *t;
	vg_rc rc;

	if (!vg_cfg_uids_has(&r->s->cfg.display_gateway_uids, r->peer->uid))
		return deny(r, "gateway", "display_gateway_uids");
	if ((rc = origin_arg(r, origin, sizeof origin)) != VG_OK)
		return rc;
	rc = vg_msg_text(&r->msg, VG_A_TOKEN, token, sizeof token);
	if (rc != VG_OK) {
		/* Absent, too long or not text: no token of ours. */
		vg_wipe(token, sizeof token);
		v = VG_DTOK_MALFORMED;
	} else {
		if ((rc = table(r, &t)) != VG_OK) {
			vg_wipe(token, sizeof token);
			return rc;
		}
		v = vg_dtok_redeem(t, token, origin, vg_mono_ms(), &issuer);
		vg_wipe(token, sizeof token);
	}
	if (issuer != UINT32_MAX)
		(void)snprintf(what, sizeof what, "%s from %.255s (issued to uid %u)",
			       vg_dtok_verdict_str(v), origin, issuer);
	else
		(void)snprintf(what, sizeof what, "%s from %.255s", vg_dtok_verdict_str(v), origin);
	if (v == VG_DTOK_OK) {
		vg_req_audit(r, "display.redeemed", "success", what);
		return VG_OK;
	}
	vg_req_audit(r, "display.refused", "denied", what);
	(void)snprintf(r->why_buf, sizeof r->why_buf, "display token refused: %s",
		       vg_dtok_verdict_str(v));
	r->why = r->why_buf;
	switch (v) {
	case VG_DTOK_REPLAYED:
	case VG_DTOK_EXPIRED:
		return VG_ERR_REPLAY;
	case VG_DTOK_MALFORMED:
		return VG_ERR_INVALID;
	default:
		return VG_ERR_VERIFY_FAILED;
	}
}

/* A refusal the gateway saw alone (a bad Origin, a second client, no
 * token, plain ws://): recorded as display.refused under its uid. The
 * text is the gateway's: bounded and printable, never a token (the
 * gateway reports before it has one, or says "no token"). */
static vg_rc report(vg_req *r)
{
	char reason[VG_DISPLAY_REASON_MAX + 1], origin[VG_DISPLAY_ORIGIN_MAX + 1], what[400];
	vg_rc rc;

	if (!vg_cfg_uids_has(&r->s->cfg.display_gateway_uids, r->peer->uid))
		return deny(r, "gateway", "display_gateway_uids");
	rc = vg_req_text(r, VG_A_REASON, reason, sizeof reason, true);
	if (rc == VG_OK)
		rc = vg_req_text(r, VG_A_ORIGIN, origin, sizeof origin, false);
	if (rc != VG_OK)
		return rc;
	for (const char *p = reason; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			rc = VG_ERR_INVALID;
	for (const char *p = origin; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			rc = VG_ERR_INVALID;
	if (rc != VG_OK) {
		r->why = "reason and origin must be printable ASCII";
		return rc;
	}
	(void)snprintf(what, sizeof what, "gateway: %s from %.255s", reason,
		       origin[0] ? origin : "(no origin)");
	vg_req_audit(r, "display.refused", "denied", what);
	return VG_OK;
}

vg_rc vg_op_display(vg_req *r)
{
	switch (r->op) {
	case VG_OP_DISPLAY_TOKEN_ISSUE:
		return issue(r);
	case VG_OP_DISPLAY_TOKEN_REDEEM:
		return redeem(r);
	case VG_OP_DISPLAY_REPORT:
		return report(r);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}
