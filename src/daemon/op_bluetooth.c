/* op_bluetooth.c - Bluetooth security in the service (AVS 1.9-1.12):
 * see src/bluetooth/policy.h and ops.h.
 *
 * bluetooth.irk gives `voxguard bluetooth enforce` the controller's local
 * Identity Resolving Key for LE Privacy (AVS 1.12). The IRK is what lets
 * a bonded peer recognise the speaker behind its changing resolvable
 * private addresses, so whoever holds it can track the device: it is
 * derived from the root of trust (HKDF, label "bluetooth-irk") with the
 * erase secret as context, so it is the same across restarts and
 * re-installs of bluetoothd's state, and a factory reset (which rotates
 * the erase secret) gives the device a new one: the next owner's speaker
 * cannot be followed by the last owner's phone. Admin only (root runs
 * the enforcing unit), every request audited (the row's VG_OPF_AUDIT);
 * the key is never logged.
 *
 * bluetooth.report records the outcome of an enforce, a watcher's
 * re-assertion or a check as one audit event "bluetooth.<stage>", with
 * the CLI's one-line verdict (printable ASCII, bounded).
 */
#include <stdio.h>
#include <string.h>

#include "bluetooth/mgmt.h"
#include "common/util.h"
#include "daemon/ops.h"

#define BT_REASON_MAX 200

static vg_rc irk(vg_req *r)
{
	uint8_t es[VG_KEY_LEN], k[VG_KEY_LEN];
	vg_rc rc = vg_rot_erase_secret(r->s->rot, false, es);

	if (rc == VG_OK)
		rc = vg_rot_derive(r->s->rot, "bluetooth-irk", es, sizeof es, k);
	vg_wipe(es, sizeof es);
	if (rc != VG_OK) {
		vg_wipe(k, sizeof k);
		r->why = "cannot derive the Bluetooth IRK from the root of trust";
		return rc;
	}
	vg_msgb_bytes(&r->out, VG_A_DATA, k, VG_BT_IRK_LEN);
	vg_wipe(k, sizeof k);
	return VG_OK;
}

static vg_rc report(vg_req *r)
{
	char stage[16], reason[BT_REASON_MAX + 1], type[32];
	uint64_t ok = 2;
	vg_rc rc = vg_msg_uint(&r->msg, VG_A_OK, &ok);

	if (rc != VG_OK || ok > 1) {
		r->why = "ok: 0 (not compliant or failed) or 1 (compliant)";
		return VG_ERR_INVALID;
	}
	rc = vg_req_text(r, VG_A_STAGE, stage, sizeof stage, true);
	if (rc == VG_OK && strcmp(stage, "enforce") != 0 && strcmp(stage, "watch") != 0 &&
	    strcmp(stage, "check") != 0 && strcmp(stage, "bond") != 0)
		rc = VG_ERR_INVALID;
	if (rc != VG_OK) {
		r->why = "stage: enforce, watch, check or bond";
		return rc == VG_ERR_TOO_LARGE ? VG_ERR_INVALID : rc;
	}
	rc = vg_req_text(r, VG_A_REASON, reason, sizeof reason, true);
	if (rc != VG_OK) {
		r->why = "reason: required, at most 200 bytes";
		return rc == VG_ERR_TOO_LARGE ? VG_ERR_INVALID : rc;
	}
	for (size_t i = 0; reason[i]; i++)
		if (reason[i] < 0x20 || reason[i] >= 0x7f) {
			r->why = "reason must be printable ASCII";
			return VG_ERR_INVALID;
		}
	(void)snprintf(type, sizeof type, "bluetooth.%s", stage);
	vg_service_audit(r->s, r->peer, type, ok ? "success" : "failure", reason);
	return VG_OK;
}

vg_rc vg_op_bluetooth(vg_req *r)
{
	switch (r->op) {
	case VG_OP_BT_IRK:
		return irk(r);
	case VG_OP_BT_REPORT:
		return report(r);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}
