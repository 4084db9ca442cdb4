/* op_device.c - the device's lifecycle: factory reset, secure debugging,
 * secure initialization and update (SFR 4.2.12, 4.3.1, 4.2.5, 4.2.6).
 * See ops.h. */
#include <stdio.h>

#include "common/util.h"
#include "daemon/ops.h"
#include "daemon/update.h"

/* ---- factory reset and secure debugging (SFR 4.2.12, 4.3.1) ---- */

vg_rc vg_op_reset(vg_req *r)
{
	return vg_service_factory_reset(r->s, r->peer, r->presence ? "reset button" : "admin");
}

vg_rc vg_op_debug(vg_req *r)
{
	vg_service *s = r->s;
	uint8_t *key = NULL, nonce[32], msg[VG_DEBUG_MSG_LEN];
	size_t key_len = 0, sig_len = 0;
	const uint8_t *sig = NULL;
	vg_psa_claims c;
	vg_rc rc;

	if (r->op == VG_OP_DEBUG_LOCK) {
		vg_service_set_debug(s, false);
		return VG_OK;
	}
	rc = vg_identity_debug_key(s->identity, &key, &key_len);
	if (rc == VG_ERR_STATE) {
		r->why = "the device is not provisioned: no debug key";
		return VG_ERR_STATE;
	}
	if (rc == VG_ERR_NOT_FOUND) {
		r->why = "no OEM debug key was registered at provisioning: debug stays locked";
		return VG_ERR_STATE;
	}
	if (rc != VG_OK) {
		if (rc == vg_identity_unknown(s->identity)) {
			(void)snprintf(r->why_buf, sizeof r->why_buf,
				       "the provisioning state is unknown (%s): no debug key",
				       vg_identity_unknown_why(s->identity));
			r->why = r->why_buf;
		}
		return rc;
	}
	rc = vg_identity_claims(s->identity, &c);
	if (rc == VG_OK && r->op == VG_OP_DEBUG_CHALLENGE) {
		rc = vg_debug_challenge(&s->debug, vg_mono_ms(), nonce);
		if (rc == VG_OK) {
			vg_debug_message(nonce, c.instance_id, msg);
			vg_msgb_bytes(&r->out, VG_A_DATA, msg, sizeof msg);
		}
	} else if (rc == VG_OK) {
		rc = vg_req_bytes(r, VG_A_SIG, &sig, &sig_len, 256);
		if (rc == VG_OK)
			rc = vg_debug_unlock(&s->debug, vg_mono_ms(), c.instance_id, sig, sig_len,
					     key, key_len);
		if (rc == VG_OK)
			vg_service_set_debug(s, true);
		else if (rc == VG_ERR_AUTH_FAILED)
			r->why = "the signature does not verify with the OEM debug key";
		else if (rc == VG_ERR_AUTH_REQUIRED)
			r->why = "no live debug challenge: ask for one first";
	}
	vg_free(key, key_len);
	return rc;
}

/* ---- secure initialization (SFR 4.2.5) ---- */

vg_rc vg_op_platform_verify(vg_req *r)
{
	vg_secinit_report *p;
	cbor_item_t *arr;
	bool failed = false;
	vg_rc rc = vg_service_platform_check(r->s);

	if (rc != VG_OK)
		return rc;
	p = r->s->platform;
	vg_msgb_text(&r->out, VG_A_PLATFORM, vg_platform_state_name(p->state));
	vg_msgb_text(&r->out, VG_A_PLATFORM_WHY, p->reason);
	vg_msgb_text(&r->out, VG_A_PLATFORM_VERSION, p->version);
	vg_msgb_uint(&r->out, VG_A_SECVER, p->security_version);
	arr = cbor_new_definite_array(p->n);
	if (!arr)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < p->n && !failed; i++) {
		cbor_item_t *m = cbor_new_definite_map(4);
		if (!m) {
			failed = true;
			break;
		}
		vg_map_add_text(m, VG_A_NAME, p->comp[i].name, &failed);
		vg_map_add_text(m, VG_A_PATH, p->comp[i].path, &failed);
		vg_map_add_text(m, VG_A_MSG, p->res[i].why, &failed);
		if (!cbor_map_add(m, (struct cbor_pair){.key = cbor_move(cbor_build_uint8(VG_A_RC)),
							.value = cbor_move(cbor_build_uint8(
							    (uint8_t)p->res[i].rc))}) ||
		    !cbor_array_push(arr, m))
			failed = true;
		cbor_decref(&m);
	}
	if (failed) {
		cbor_decref(&arr);
		return VG_ERR_NOMEM;
	}
	vg_msgb_item(&r->out, VG_A_RESULTS, arr);
	return VG_OK;
}

/* A/B updates (SFR 4.2.6): the admin role (root or admin_group), no
 * session: what authorizes an update is the release key's signature on
 * the bundle, checked by the service, not the operator. */
vg_rc vg_op_update(vg_req *r)
{
	vg_rc rc =
	    vg_update_handle(r->s, r->peer, r->op, &r->msg, &r->out, r->why_buf, sizeof r->why_buf);

	if (rc != VG_OK && r->why_buf[0])
		r->why = r->why_buf;
	return rc;
}

/* A fleet update key handed over, or a first TUF root installed, changes
 * what the device trusts: that needs an admin session (SFR 4.2.13). The
 * next root version is not a change of trust: the trusted root's own keys
 * sign it, and the service checks them (as a bundle's release-key
 * signature authorizes an install), so the update agent rotates roots
 * without a session. */
bool vg_op_update_changes_trust(const vg_req *r)
{
	const uint8_t *p;
	size_t len;

	if (vg_msg_bytes(&r->msg, VG_A_DATA, &p, &len) == VG_ERR_NOT_FOUND)
		return false; /* reads the keys or the root */
	if (r->op == VG_OP_UPDATE_ROOT)
		return !vg_update_root_installed(r->s);
	return true;
}
