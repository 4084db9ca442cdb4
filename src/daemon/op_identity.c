/* op_identity.c - provisioning, identity and attestation (SFR 4.2.1-4.2.3).
 * See ops.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "crypto/pubkey.h"
#include "daemon/ops.h"

/* The reason of a refusal while this start cannot tell whether the device
 * is provisioned (a refused store): never "not provisioned". */
static const char *unknown_why(vg_req *r, const char *what)
{
	(void)snprintf(r->why_buf, sizeof r->why_buf, "the provisioning state is unknown (%s): %s",
		       vg_identity_unknown_why(r->s->identity), what);
	return r->why_buf;
}

/* Decodes the request; the rules (one time, the OEM keys only now, the
 * order of the writes) are the identity module's:
 * vg_identity_provision_device(). */
vg_rc vg_op_provision(vg_req *r)
{
	vg_platform p;
	vg_oem_keys keys = {0};
	char code[VG_SETUP_CODE_LEN + 1];
	const uint8_t *dk = NULL, *rk = NULL;
	uint8_t *dk_der = NULL, *rk_der = NULL;
	size_t dk_len = 0, dk_der_len = 0, rk_len = 0, rk_der_len = 0;
	vg_rc rc;

	memset(&p, 0, sizeof p);
	rc = vg_req_text(r, VG_A_OEM, p.oem, sizeof p.oem, true);
	if (rc == VG_OK)
		rc = vg_req_text(r, VG_A_MODEL, p.model, sizeof p.model, true);
	if (rc == VG_OK)
		rc = vg_req_text(r, VG_A_HW_REV, p.hw_rev, sizeof p.hw_rev, true);
	if (rc == VG_OK)
		rc = vg_req_text(r, VG_A_VSI, p.verification_service, sizeof p.verification_service,
				 false);
	if (rc != VG_OK)
		return rc;
	/* The OEM debug key (SFR 4.3.1) and release key (SFR 4.2.5), each
	 * optional, parsed here so that the error says which one is bad. */
	rc = vg_msg_bytes(&r->msg, VG_A_DATA, &dk, &dk_len);
	if (rc == VG_OK) {
		rc = vg_pubkey_parse(dk, dk_len, &dk_der, &dk_der_len);
		if (rc != VG_OK) {
			r->why = "the debug key is not a P-256 or Ed25519 public key";
			return VG_ERR_INVALID;
		}
	} else if (rc != VG_ERR_NOT_FOUND) {
		return rc;
	}
	rc = vg_msg_bytes(&r->msg, VG_A_RELEASE_KEY, &rk, &rk_len);
	if (rc == VG_OK) {
		rc = vg_pubkey_parse(rk, rk_len, &rk_der, &rk_der_len);
		if (rc != VG_OK) {
			OPENSSL_free(dk_der);
			r->why = "the release key is not a P-256 or Ed25519 public key";
			return VG_ERR_INVALID;
		}
	} else if (rc != VG_ERR_NOT_FOUND) {
		OPENSSL_free(dk_der);
		return rc;
	}
	keys.debug_key = dk_der;
	keys.debug_key_len = dk_der_len;
	keys.release_key = rk_der;
	keys.release_key_len = rk_der_len;
	rc = vg_identity_provision_device(r->s->identity, &p, &keys, code);
	OPENSSL_free(dk_der);
	OPENSSL_free(rk_der);
	if (rc == VG_ERR_STATE)
		r->why = "already provisioned: provisioning is a one-time factory operation";
	else if (rc == VG_ERR_INVALID)
		r->why = "oem, model and hw-rev must be printable ASCII, non-empty and short";
	else if (rc != VG_OK && rc == vg_identity_unknown(r->s->identity))
		r->why = unknown_why(r, "provisioning is refused");
	if (rc == VG_OK)
		vg_msgb_text(&r->out, VG_A_CODE, code);
	vg_wipe(code, sizeof code);
	return rc;
}

vg_rc vg_op_identity(vg_req *r)
{
	vg_identity *id = r->s->identity;
	const vg_platform *p = vg_identity_platform(id);
	vg_psa_claims c;
	cbor_item_t *arr;
	uint8_t *pem = NULL;
	size_t pem_len = 0;
	bool failed = false;
	vg_rc rc = vg_identity_claims(id, &c);

	if (rc != VG_OK)
		return rc;
	/* The measured boot's registers are the token's (attest_pcrs): the
	 * identity lists the software components. */
	c.n_components -= vg_identity_n_registers(id) < c.n_components
				  ? vg_identity_n_registers(id)
				  : c.n_components;
	/* 2: unknown -- a refused store cannot say (never "not provisioned"). */
	vg_msgb_uint(&r->out, VG_A_PROVISIONED, p ? 1 : vg_identity_unknown(id) != VG_OK ? 2 : 0);
	vg_msgb_bytes(&r->out, VG_A_IMPL, c.implementation_id, sizeof c.implementation_id);
	vg_msgb_uint(&r->out, VG_A_LIFECYCLE, c.lifecycle);
	if (vg_identity_unknown(id) != VG_OK)
		vg_msgb_text(&r->out, VG_A_LIFECYCLE_WHY, vg_identity_unknown_why(id));
	vg_msgb_bytes(&r->out, VG_A_BOOT_SEED, c.boot_seed, c.boot_seed_len);
	vg_msgb_text(&r->out, VG_A_ROT, vg_rot_name(r->s->rot));
	if (p) {
		vg_msgb_bytes(&r->out, VG_A_INSTANCE, c.instance_id, sizeof c.instance_id);
		vg_msgb_text(&r->out, VG_A_OEM, p->oem);
		vg_msgb_text(&r->out, VG_A_MODEL, p->model);
		vg_msgb_text(&r->out, VG_A_HW_REV, p->hw_rev);
		vg_msgb_text(&r->out, VG_A_VSI, p->verification_service);
		vg_msgb_uint(&r->out, VG_A_CREATED, p->provisioned_at);
		rc = vg_identity_public(id, true, &pem, &pem_len);
		if (rc != VG_OK)
			return rc;
		vg_msgb_text(&r->out, VG_A_PEM, (const char *)pem);
		vg_free(pem, pem_len);
	}
	arr = cbor_new_definite_array(c.n_components);
	if (!arr)
		return VG_ERR_NOMEM;
	for (size_t i = 0; i < c.n_components && !failed; i++) {
		const vg_psa_sw_component *sc = &c.components[i];
		cbor_item_t *m = cbor_new_definite_map(4), *b1 = NULL, *b2 = NULL;
		if (!m) {
			failed = true;
			break;
		}
		vg_map_add_text(m, VG_A_NAME, sc->measurement_type, &failed);
		vg_map_add_text(m, VG_A_VERSION, sc->version, &failed);
		b1 = cbor_build_bytestring(sc->measurement, sc->measurement_len);
		b2 = cbor_build_bytestring(sc->signer_id, sc->signer_id_len);
		if (!b1 || !b2 ||
		    !cbor_map_add(m,
				  (struct cbor_pair){.key = cbor_move(cbor_build_uint8(VG_A_DATA)),
						     .value = b1}) ||
		    !cbor_map_add(m,
				  (struct cbor_pair){.key = cbor_move(cbor_build_uint8(VG_A_SIG)),
						     .value = b2}) ||
		    !cbor_array_push(arr, m))
			failed = true;
		if (b1)
			cbor_decref(&b1);
		if (b2)
			cbor_decref(&b2);
		cbor_decref(&m);
	}
	if (failed) {
		cbor_decref(&arr);
		return VG_ERR_NOMEM;
	}
	vg_msgb_item(&r->out, VG_A_COMPONENTS, arr);
	return VG_OK;
}

vg_rc vg_op_attest(vg_req *r)
{
	const uint8_t *nonce = NULL;
	uint8_t *tok = NULL;
	size_t nonce_len = 0, len = 0;
	vg_rc rc = vg_req_bytes(r, VG_A_NONCE, &nonce, &nonce_len, 64);

	if (rc == VG_ERR_TOO_LARGE ||
	    (rc == VG_OK && nonce_len != 32 && nonce_len != 48 && nonce_len != 64)) {
		r->why = "the nonce must be 32, 48 or 64 bytes";
		return VG_ERR_INVALID;
	}
	if (rc == VG_OK)
		rc = vg_identity_attest(r->s->identity, r->peer->uid, nonce, nonce_len, &tok, &len);
	if (rc == VG_ERR_STATE)
		r->why = "the device is not provisioned: no attestation key";
	else if (rc != VG_OK && rc == vg_identity_unknown(r->s->identity))
		r->why = unknown_why(r, "no attestation token is issued");
	if (rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_DATA, tok, len);
	vg_free(tok, len);
	return rc;
}

vg_rc vg_op_identity_cert(vg_req *r)
{
	char subject[201], *pem = NULL;
	const uint8_t *in = NULL;
	size_t len = 0, in_len = 0;
	vg_rc rc;

	switch (r->op) {
	case VG_OP_IDENTITY_CSR:
		rc = vg_req_text(r, VG_A_SUBJECT, subject, sizeof subject, false);
		if (rc == VG_OK)
			rc = vg_identity_csr(r->s->identity, subject[0] ? subject : NULL, &pem,
					     &len);
		break;
	case VG_OP_IDENTITY_SET_CERT:
		rc = vg_req_bytes(r, VG_A_DATA, &in, &in_len, VG_MAX_CERT_PEM);
		if (rc == VG_OK)
			rc = vg_identity_set_cert(r->s->identity, (const char *)in, in_len);
		if (rc == VG_ERR_INVALID)
			r->why = "not one PEM certificate for the device identity key";
		return rc;
	default:
		rc = vg_identity_cert(r->s->identity, &pem, &len);
		if (rc == VG_ERR_NOT_FOUND)
			r->why = "no device identity certificate stored";
		break;
	}
	if (rc == VG_ERR_STATE)
		r->why = "the device is not provisioned";
	else if (rc != VG_OK && rc == vg_identity_unknown(r->s->identity))
		r->why = unknown_why(r, "the device identity cannot be read");
	if (rc == VG_OK)
		vg_msgb_text(&r->out, VG_A_PEM, pem);
	free(pem);
	return rc;
}
