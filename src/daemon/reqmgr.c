/* reqmgr.c - see reqmgr.h */
#include "daemon/reqmgr.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "crypto/pubkey.h"
#include "daemon/update.h"
#include "proto/wire.h"
#include "version.h"

struct req {
	vg_service *s;
	const vg_peer *peer;
	vg_msg msg;
	vg_op op;
	char name[VG_MAX_NAME_LEN + 1];
	uint32_t owner; /* the namespace addressed; the caller's by default */
	vg_msgb out;
	const char *why; /* detail for an error reply */
	char why_buf[320];
	bool recovery_denied; /* refused because the platform is in recovery */
	bool deferred; /* a batched put: reply after the group commit */
	bool presence; /* factory reset by the reset button */
};

static const char *op_name(vg_op op)
{
	switch (op) {
	case VG_OP_STATUS:
		return "status";
	case VG_OP_KEY_CREATE:
		return "key.create";
	case VG_OP_KEY_DELETE:
		return "key.delete";
	case VG_OP_KEY_INFO:
		return "key.info";
	case VG_OP_KEY_LIST:
		return "key.list";
	case VG_OP_KEY_PUBLIC:
		return "key.public";
	case VG_OP_KEY_SIGN:
		return "key.sign";
	case VG_OP_KEY_VERIFY:
		return "key.verify";
	case VG_OP_KEY_ENCRYPT:
		return "key.encrypt";
	case VG_OP_KEY_DECRYPT:
		return "key.decrypt";
	case VG_OP_KEY_MAC:
		return "key.mac";
	case VG_OP_STORE_PUT:
		return "store.put";
	case VG_OP_STORE_GET:
		return "store.get";
	case VG_OP_STORE_DELETE:
		return "store.delete";
	case VG_OP_STORE_LIST:
		return "store.list";
	case VG_OP_LOG_EXPORT:
		return "log.export";
	case VG_OP_LOG_SEED:
		return "log.seed";
	case VG_OP_PROVISION:
		return "identity.provision";
	case VG_OP_IDENTITY:
		return "identity.show";
	case VG_OP_ATTEST:
		return "attest";
	case VG_OP_IDENTITY_CSR:
		return "identity.csr";
	case VG_OP_IDENTITY_SET_CERT:
		return "identity.set_cert";
	case VG_OP_IDENTITY_CERT:
		return "identity.cert";
	case VG_OP_ADMIN_SETUP:
		return "admin.setup";
	case VG_OP_ADMIN_LOGIN:
		return "admin.login";
	case VG_OP_ADMIN_LOGOUT:
		return "admin.logout";
	case VG_OP_ADMIN_PASSWD:
		return "admin.passwd";
	case VG_OP_ADMIN_KEY_ADD:
		return "admin.key_add";
	case VG_OP_ADMIN_KEY_DELETE:
		return "admin.key_delete";
	case VG_OP_ADMIN_CHALLENGE:
		return "admin.challenge";
	case VG_OP_ADMIN_ANSWER:
		return "admin.key_login";
	case VG_OP_FACTORY_RESET:
		return "factory.reset";
	case VG_OP_DEBUG_CHALLENGE:
		return "debug.challenge";
	case VG_OP_DEBUG_UNLOCK:
		return "debug.unlock";
	case VG_OP_DEBUG_LOCK:
		return "debug.lock";
	case VG_OP_PLATFORM_VERIFY:
		return "platform.verify";
	case VG_OP_UPDATE_BEGIN:
		return "update.begin";
	case VG_OP_UPDATE_REPORT:
		return "update.report";
	case VG_OP_UPDATE_CONFIRM:
		return "update.confirm";
	case VG_OP_UPDATE_STATUS:
		return "update.status";
	case VG_OP_UPDATE_KEY:
		return "update.key";
	case VG_OP_UPDATE_ROOT:
		return "update.root";
	}
	return NULL;
}

static bool needs_name(vg_op op)
{
	return (op < VG_OP_PROVISION && op != VG_OP_STATUS && op != VG_OP_KEY_LIST &&
		op != VG_OP_STORE_LIST && op != VG_OP_LOG_EXPORT && op != VG_OP_LOG_SEED) ||
	       op == VG_OP_ADMIN_KEY_ADD || op == VG_OP_ADMIN_KEY_DELETE ||
	       op == VG_OP_ADMIN_ANSWER;
}

static void audit(struct req *r, const char *type, const char *outcome, const char *what)
{
	char detail[256];

	(void)snprintf(detail, sizeof detail, "%s%s%s owner=%u", op_name(r->op),
		       r->name[0] ? " " : "", r->name, r->owner);
	if (what) {
		size_t n = strlen(detail);
		(void)snprintf(detail + n, sizeof detail - n, ": %s", what);
	}
	vg_service_audit(r->s, r->peer, type, outcome, detail);
}

/* Audit what the requirement names: denials, refusals by key policy,
 * integrity and rollback errors, key creation and deletion. */
static void audit_result(struct req *r, vg_rc rc)
{
	switch (rc) {
	case VG_ERR_DENIED:
		audit(r, "authz.denied", "denied", NULL);
		break;
	case VG_ERR_POLICY:
		audit(r, "key.policy_denied", "denied", NULL);
		break;
	case VG_ERR_INTEGRITY:
		audit(r, "store.integrity", "failure", NULL);
		break;
	case VG_ERR_ROLLBACK:
		/* An old bundle or root: the update module audits its refusals. */
		if (r->op < VG_OP_UPDATE_BEGIN || r->op > VG_OP_UPDATE_ROOT)
			audit(r, "store.rollback", "failure", NULL);
		break;
	case VG_ERR_AUTH_REQUIRED:
		audit(r, "auth.required", "denied", "no valid admin session");
		break;
	case VG_ERR_STATE:
		if (r->recovery_denied) {
			audit(r, "platform.recovery_denied", "denied", NULL);
			break;
		}
		/* fall through */
	default:
		if (r->op >= VG_OP_ADMIN_SETUP && r->op <= VG_OP_DEBUG_LOCK &&
		    r->op != VG_OP_ADMIN_CHALLENGE && r->op != VG_OP_DEBUG_CHALLENGE)
			/* SFR 4.2.9/4.2.13: every attempt, failed or not. */
			audit(r, op_name(r->op), rc == VG_OK ? "success" : "failure",
			      rc == VG_OK ? NULL : vg_rc_str(rc));
		else if (r->op == VG_OP_KEY_CREATE || r->op == VG_OP_KEY_DELETE)
			audit(r, r->op == VG_OP_KEY_CREATE ? "key.create" : "key.delete",
			      rc == VG_OK ? "success" : "failure",
			      rc == VG_OK ? NULL : vg_rc_str(rc));
		else if (r->op == VG_OP_LOG_EXPORT || r->op == VG_OP_LOG_SEED ||
			 r->op == VG_OP_PROVISION || r->op == VG_OP_IDENTITY_CSR ||
			 r->op == VG_OP_IDENTITY_SET_CERT)
			audit(r, op_name(r->op), rc == VG_OK ? "success" : "failure",
			      rc == VG_OK ? NULL : vg_rc_str(rc));
		break;
	}
}

/* A required bytes argument. */
static vg_rc arg_bytes(struct req *r, unsigned key, const uint8_t **p, size_t *len, size_t max)
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

static vg_rc do_status(struct req *r)
{
	vg_service *s = r->s;
	vg_rc st = vg_db_state(s->db);
	uint64_t counter = 0;

	VG_IGNORE(vg_rot_counter_read(s->rot, &counter));
	vg_msgb_text(&r->out, VG_A_VERSION, VG_VERSION_STRING);
	vg_msgb_text(&r->out, VG_A_ROT, vg_rot_name(s->rot));
	vg_msgb_uint(&r->out, VG_A_ROT_DEV, vg_rot_is_dev(s->rot));
	vg_msgb_text(&r->out, VG_A_STORE,
		     st == VG_OK             ? "ok"
		     : st == VG_ERR_ROLLBACK ? "rollback"
					     : "integrity-error");
	vg_msgb_uint(&r->out, VG_A_COUNTER, counter);
	vg_msgb_uint(&r->out, VG_A_AUDIT_SEQ, vg_audit_next_seq(s->audit));
	vg_msgb_uint(&r->out, VG_A_UID, r->peer->uid);
	vg_msgb_text(&r->out, VG_A_ROLE, vg_policy_role(r->peer));
	vg_msgb_uint(&r->out, VG_A_ADMIN_SET, s->admin && vg_adminsvc_configured(s->admin));
	vg_msgb_uint(&r->out, VG_A_DEBUG, s->debug.unlocked);
	if (s->platform) {
		vg_msgb_text(&r->out, VG_A_PLATFORM, vg_platform_state_name(s->platform->state));
		vg_msgb_text(&r->out, VG_A_PLATFORM_WHY, s->platform->reason);
		if (s->platform->manifest_ok) {
			vg_msgb_text(&r->out, VG_A_PLATFORM_VERSION, s->platform->version);
			vg_msgb_uint(&r->out, VG_A_SECVER, s->platform->security_version);
		}
	}
	vg_msgb_uint(&r->out, VG_A_LIFECYCLE, vg_identity_lifecycle(s->identity));
	return VG_OK;
}

struct list_ctx {
	struct req *r;
	cbor_item_t *arr;
	bool keys;
	vg_rc rc;
};

static int list_cb(void *ctx, const char *name)
{
	struct list_ctx *l = ctx;
	cbor_item_t *it;
	bool failed = false;

	if (!l->keys) {
		it = cbor_build_string(name);
	} else {
		vg_key_info info;
		vg_rc rc = vg_keystore_info(l->r->s->ks, l->r->owner, name, &info);
		if (rc != VG_OK) {
			/* One unreadable key does not hide the others. */
			it = cbor_new_definite_map(2);
			if (it) {
				vg_map_add_text(it, VG_A_NAME, name, &failed);
				vg_map_add_text(it, VG_A_MSG, vg_rc_str(rc), &failed);
			}
		} else {
			it = cbor_new_definite_map(5);
			if (it) {
				vg_map_add_text(it, VG_A_NAME, name, &failed);
				vg_map_add_uint(it, VG_A_TYPE, info.type, &failed);
				vg_map_add_uint(it, VG_A_USAGE, info.usage, &failed);
				vg_map_add_uint(it, VG_A_OWNER, info.owner_uid, &failed);
				vg_map_add_uint(it, VG_A_CREATED, info.created, &failed);
			}
		}
	}
	if (!it || failed || !cbor_array_push(l->arr, it)) {
		l->rc = VG_ERR_NOMEM;
		if (it)
			cbor_decref(&it);
		return 1;
	}
	cbor_decref(&it);
	return 0;
}

static vg_rc do_list(struct req *r, bool keys)
{
	struct list_ctx l = {.r = r, .keys = keys, .rc = VG_OK};
	char ns[24];
	vg_rc rc;

	l.arr = cbor_new_indefinite_array();
	if (!l.arr)
		return VG_ERR_NOMEM;
	if (keys) {
		rc = vg_keystore_list(r->s->ks, r->owner, list_cb, &l);
	} else {
		(void)snprintf(ns, sizeof ns, "u/%u", r->owner);
		rc = vg_secstore_list(r->s->store, ns, list_cb, &l);
	}
	if (rc == VG_OK)
		rc = l.rc;
	if (rc != VG_OK) {
		cbor_decref(&l.arr);
		return rc;
	}
	/* Re-pack as a definite array: our decoders accept nothing else. */
	{
		size_t n = cbor_array_size(l.arr);
		cbor_item_t *def = cbor_new_definite_array(n);
		if (!def) {
			cbor_decref(&l.arr);
			return VG_ERR_NOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			cbor_item_t *it = cbor_array_get(l.arr, i);
			bool ok = cbor_array_push(def, it);
			cbor_decref(&it);
			if (!ok) {
				cbor_decref(&def);
				cbor_decref(&l.arr);
				return VG_ERR_NOMEM;
			}
		}
		cbor_decref(&l.arr);
		vg_msgb_item(&r->out, VG_A_LIST, def);
	}
	return VG_OK;
}

static vg_rc do_key(struct req *r)
{
	vg_keystore *ks = r->s->ks;
	const uint8_t *data = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint64_t type = 0, usage = 0;
	vg_key_info info;
	vg_rc rc;

	switch (r->op) {
	case VG_OP_KEY_CREATE:
		rc = vg_msg_uint(&r->msg, VG_A_TYPE, &type);
		if (rc != VG_OK)
			return rc == VG_ERR_NOT_FOUND ? VG_ERR_INVALID : rc;
		rc = vg_msg_uint(&r->msg, VG_A_USAGE, &usage);
		if (rc == VG_ERR_NOT_FOUND)
			usage = 0;
		else if (rc != VG_OK)
			return rc;
		if (type > 255 || usage > UINT32_MAX)
			return VG_ERR_INVALID;
		return vg_keystore_create(ks, r->owner, r->name, (vg_key_type)type,
					  (uint32_t)usage);
	case VG_OP_KEY_DELETE:
		return vg_keystore_delete(ks, r->owner, r->name);
	case VG_OP_KEY_INFO:
		rc = vg_keystore_info(ks, r->owner, r->name, &info);
		if (rc == VG_OK) {
			vg_msgb_text(&r->out, VG_A_NAME, r->name);
			vg_msgb_uint(&r->out, VG_A_TYPE, info.type);
			vg_msgb_uint(&r->out, VG_A_USAGE, info.usage);
			vg_msgb_uint(&r->out, VG_A_OWNER, info.owner_uid);
			vg_msgb_uint(&r->out, VG_A_CREATED, info.created);
		}
		return rc;
	case VG_OP_KEY_PUBLIC:
		rc = vg_keystore_public(ks, r->owner, r->name, true, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_text(&r->out, VG_A_PEM, (const char *)out);
		break;
	case VG_OP_KEY_SIGN:
		rc = arg_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = vg_keystore_sign(ks, r->owner, r->name, data, len, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_SIG, out, out_len);
		break;
	case VG_OP_KEY_VERIFY:
		rc = arg_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = arg_bytes(r, VG_A_SIG, &sig, &sig_len, 1024);
		if (rc == VG_OK)
			rc = vg_keystore_verify(ks, r->owner, r->name, data, len, sig, sig_len);
		return rc;
	case VG_OP_KEY_ENCRYPT:
		rc = arg_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = vg_keystore_encrypt(ks, r->owner, r->name, data, len, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_DATA, out, out_len);
		break;
	case VG_OP_KEY_DECRYPT:
		rc = arg_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN + 64);
		if (rc == VG_OK)
			rc = vg_keystore_decrypt(ks, r->owner, r->name, data, len, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_DATA, out, out_len);
		break;
	case VG_OP_KEY_MAC: {
		uint8_t mac[32];
		rc = arg_bytes(r, VG_A_DATA, &data, &len, VG_MAX_DATA_LEN);
		if (rc == VG_OK)
			rc = vg_keystore_mac(ks, r->owner, r->name, data, len, mac);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_DATA, mac, sizeof mac);
		vg_wipe(mac, sizeof mac);
		return rc;
	}
	default:
		return VG_ERR_UNSUPPORTED;
	}
	vg_free(out, out_len);
	return rc;
}

static vg_rc do_store(struct req *r)
{
	char ns[24];
	const uint8_t *val = NULL;
	uint8_t *out = NULL;
	size_t len = 0, out_len = 0;
	vg_rc rc;

	(void)snprintf(ns, sizeof ns, "u/%u", r->owner);
	switch (r->op) {
	case VG_OP_STORE_PUT:
		rc = arg_bytes(r, VG_A_VALUE, &val, &len, VG_MAX_VALUE_LEN);
		if (rc == VG_OK)
			rc = vg_secstore_put_batched(r->s->store, ns, r->name, val, len);
		r->deferred = rc == VG_OK;
		return rc;
	case VG_OP_STORE_GET:
		rc = vg_secstore_get(r->s->store, ns, r->name, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_VALUE, out, out_len);
		vg_free(out, out_len);
		return rc;
	case VG_OP_STORE_DELETE:
		return vg_secstore_delete(r->s->store, ns, r->name);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}

static vg_rc do_log_export(struct req *r)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc = vg_audit_export(r->s->audit, &buf, &len);

	if (rc == VG_OK && len > VG_WIRE_MAX_MSG - 1024)
		rc = VG_ERR_TOO_LARGE;
	if (rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_DATA, buf, len);
	vg_free(buf, len);
	return rc;
}

static vg_rc do_log_seed(struct req *r)
{
	uint8_t seed[32];
	vg_rc rc = vg_audit_take_seed(r->s->audit, seed);

	if (rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_DATA, seed, sizeof seed);
	vg_wipe(seed, sizeof seed);
	return rc;
}

/* A required text argument into out (cap bytes). */
static vg_rc arg_text(struct req *r, unsigned key, char *out, size_t cap, bool required)
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

static vg_rc do_provision(struct req *r)
{
	vg_platform p;
	char code[VG_SETUP_CODE_LEN + 1];
	const uint8_t *dk = NULL, *rk = NULL;
	uint8_t *dk_der = NULL, *rk_der = NULL;
	size_t dk_len = 0, dk_der_len = 0, rk_len = 0, rk_der_len = 0;
	vg_rc rc;

	memset(&p, 0, sizeof p);
	rc = arg_text(r, VG_A_OEM, p.oem, sizeof p.oem, true);
	if (rc == VG_OK)
		rc = arg_text(r, VG_A_MODEL, p.model, sizeof p.model, true);
	if (rc == VG_OK)
		rc = arg_text(r, VG_A_HW_REV, p.hw_rev, sizeof p.hw_rev, true);
	if (rc == VG_OK)
		rc = arg_text(r, VG_A_VSI, p.verification_service, sizeof p.verification_service,
			      false);
	if (rc != VG_OK)
		return rc;
	/* An OEM debug key may be registered now, and only now (SFR 4.3.1). */
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
	/* The OEM release key, now and only now (SFR 4.2.5): it decides which
	 * platform manifests this device accepts from its next start on. */
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
	/* The keys are written before the provisioning record, which comes
	 * last: an interrupted run is redone whole; a provisioned device
	 * keeps its keys. */
	rc = vg_identity_provisioned(r->s->identity) ? VG_ERR_STATE : VG_OK;
	if (rc == VG_OK && dk_der)
		rc = vg_secstore_put(r->s->store, "sys", "debug-key", dk_der, dk_der_len);
	if (rc == VG_OK && rk_der)
		rc = vg_secstore_put(r->s->store, "sys", VG_RELEASE_KEY_RECORD, rk_der,
				     rk_der_len);
	if (rc == VG_OK)
		rc = vg_identity_provision(r->s->identity, &p, code);
	OPENSSL_free(dk_der);
	OPENSSL_free(rk_der);
	if (rc == VG_ERR_STATE)
		r->why = "already provisioned: provisioning is a one-time factory operation";
	else if (rc == VG_ERR_INVALID)
		r->why = "oem, model and hw-rev must be printable ASCII, non-empty and short";
	if (rc == VG_OK)
		vg_msgb_text(&r->out, VG_A_CODE, code);
	vg_wipe(code, sizeof code);
	return rc;
}

static vg_rc do_identity(struct req *r)
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
	vg_msgb_uint(&r->out, VG_A_PROVISIONED, p != NULL);
	vg_msgb_bytes(&r->out, VG_A_IMPL, c.implementation_id, sizeof c.implementation_id);
	vg_msgb_uint(&r->out, VG_A_LIFECYCLE, c.lifecycle);
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

static vg_rc do_attest(struct req *r)
{
	const uint8_t *nonce = NULL;
	uint8_t *tok = NULL;
	size_t nonce_len = 0, len = 0;
	vg_rc rc = arg_bytes(r, VG_A_NONCE, &nonce, &nonce_len, 64);

	if (rc == VG_ERR_TOO_LARGE ||
	    (rc == VG_OK && nonce_len != 32 && nonce_len != 48 && nonce_len != 64)) {
		r->why = "the nonce must be 32, 48 or 64 bytes";
		return VG_ERR_INVALID;
	}
	if (rc == VG_OK)
		rc = vg_identity_attest(r->s->identity, r->peer->uid, nonce, nonce_len, &tok, &len);
	if (rc == VG_ERR_STATE)
		r->why = "the device is not provisioned: no attestation key";
	if (rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_DATA, tok, len);
	vg_free(tok, len);
	return rc;
}

static vg_rc do_identity_cert(struct req *r)
{
	char subject[201], *pem = NULL;
	const uint8_t *in = NULL;
	size_t len = 0, in_len = 0;
	vg_rc rc;

	switch (r->op) {
	case VG_OP_IDENTITY_CSR:
		rc = arg_text(r, VG_A_SUBJECT, subject, sizeof subject, false);
		if (rc == VG_OK)
			rc = vg_identity_csr(r->s->identity, subject[0] ? subject : NULL, &pem,
					     &len);
		break;
	case VG_OP_IDENTITY_SET_CERT:
		rc = arg_bytes(r, VG_A_DATA, &in, &in_len, VG_MAX_CERT_PEM);
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
	if (rc == VG_OK)
		vg_msgb_text(&r->out, VG_A_PEM, pem);
	free(pem);
	return rc;
}

/* ---- admin authentication (SFR 4.2.13) ---- */

/* Operations that need an authenticated admin once a credential exists:
 * everything an admin may do beyond a user's own namespace. */
static bool needs_session(const struct req *r)
{
	switch (r->op) {
	case VG_OP_LOG_EXPORT:
	case VG_OP_LOG_SEED:
	case VG_OP_PROVISION:
	case VG_OP_IDENTITY_CSR:
	case VG_OP_IDENTITY_SET_CERT:
	case VG_OP_ADMIN_PASSWD:
	case VG_OP_ADMIN_KEY_ADD:
	case VG_OP_ADMIN_KEY_DELETE:
	case VG_OP_FACTORY_RESET:
	case VG_OP_DEBUG_CHALLENGE:
	case VG_OP_DEBUG_UNLOCK:
	case VG_OP_DEBUG_LOCK:
		return true;
	case VG_OP_KEY_LIST:
	case VG_OP_KEY_INFO:
	case VG_OP_KEY_PUBLIC:
	case VG_OP_KEY_DELETE:
	case VG_OP_STORE_LIST:
	case VG_OP_STORE_DELETE:
		return r->owner != r->peer->uid; /* administering another's */
	default:
		return false;
	}
}

static vg_rc require_session(struct req *r)
{
	char token[VG_TOKEN_HEX + 1];
	vg_rc rc;

	if (!r->s->admin) {
		/* A refused store: no credential can be read, so none can be
		 * checked. Only root, who owns the device anyway, may look. */
		if (r->peer->uid == 0)
			return VG_OK;
		r->why = "the store is refused: admin operations are limited to root";
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

static void locked_why(struct req *r, uint64_t wait_s)
{
	(void)snprintf(r->why_buf, sizeof r->why_buf,
		       "too many failed attempts: try again in %llu s", (unsigned long long)wait_s);
	r->why = r->why_buf;
	vg_msgb_uint(&r->out, VG_A_WAIT, wait_s);
}

static vg_rc reply_session(struct req *r, vg_rc rc, const char *token, uint64_t wait_s)
{
	if (rc == VG_OK) {
		vg_msgb_text(&r->out, VG_A_TOKEN, token);
		vg_msgb_uint(&r->out, VG_A_EXPIRES, r->s->cfg.admin_session_s);
	} else if (rc == VG_ERR_LOCKED) {
		locked_why(r, wait_s);
	}
	return rc;
}

static vg_rc do_admin(struct req *r)
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
		rc = arg_text(r, VG_A_CODE, code, sizeof code, true);
		if (rc == VG_OK)
			rc = arg_bytes(r, VG_A_PASSWORD, &pw, &pw_len, 4096);
		if (rc == VG_OK)
			rc = vg_adminsvc_setup(a, r->peer->uid, code, pw, pw_len, token, &wait_s,
					       r->why_buf, sizeof r->why_buf);
		vg_wipe(code, sizeof code);
		if (rc == VG_ERR_POLICY)
			r->why = r->why_buf;
		else if (rc == VG_ERR_STATE)
			r->why = vg_identity_provisioned(r->s->identity)
				     ? "an admin is already set up: the setup code is spent"
				     : "the device is not provisioned: no setup code yet";
		else if (rc == VG_ERR_AUTH_FAILED)
			r->why = "wrong setup code";
		break;
	case VG_OP_ADMIN_LOGIN:
		rc = arg_bytes(r, VG_A_PASSWORD, &pw, &pw_len, 4096);
		if (rc == VG_OK)
			rc = vg_adminsvc_login(a, r->peer->uid, pw, pw_len, token, &wait_s);
		if (rc == VG_ERR_STATE)
			r->why = "no admin is set up yet: use `voxguard admin setup`";
		else if (rc == VG_ERR_AUTH_FAILED)
			r->why = "wrong password";
		break;
	case VG_OP_ADMIN_LOGOUT:
		if (vg_msg_text(&r->msg, VG_A_SESSION, token, sizeof token) == VG_OK)
			vg_adminsvc_logout(a, token);
		vg_wipe(token, sizeof token);
		return VG_OK;
	case VG_OP_ADMIN_PASSWD:
		rc = arg_bytes(r, VG_A_PASSWORD, &pw, &pw_len, 4096);
		if (rc == VG_OK)
			rc = arg_bytes(r, VG_A_NEW_PASSWORD, &npw, &npw_len, 4096);
		if (rc == VG_OK)
			rc = vg_adminsvc_passwd(a, r->peer->uid, pw, pw_len, npw, npw_len, token,
						&wait_s, r->why_buf, sizeof r->why_buf);
		if (rc == VG_ERR_POLICY)
			r->why = r->why_buf;
		else if (rc == VG_ERR_AUTH_FAILED)
			r->why = "wrong current password";
		break;
	case VG_OP_ADMIN_KEY_ADD:
		rc = arg_bytes(r, VG_A_DATA, &data, &len, 8192);
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
		rc = arg_bytes(r, VG_A_NONCE, &data, &len, 32);
		if (rc == VG_OK && len != 32)
			rc = VG_ERR_INVALID;
		if (rc == VG_OK)
			rc = arg_bytes(r, VG_A_SIG, &pw, &pw_len, 256);
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

/* ---- factory reset and secure debugging (SFR 4.2.12, 4.3.1) ---- */

static vg_rc do_reset(struct req *r)
{
	return vg_service_factory_reset(r->s, r->peer, r->presence ? "reset button" : "admin");
}

static vg_rc do_debug(struct req *r)
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
	if (!vg_identity_provisioned(s->identity)) {
		r->why = "the device is not provisioned: no debug key";
		return VG_ERR_STATE;
	}
	rc = vg_secstore_get(s->store, "sys", "debug-key", &key, &key_len);
	if (rc == VG_ERR_NOT_FOUND) {
		r->why = "no OEM debug key was registered at provisioning: debug stays locked";
		return VG_ERR_STATE;
	}
	if (rc != VG_OK)
		return rc;
	rc = vg_identity_claims(s->identity, &c);
	if (rc == VG_OK && r->op == VG_OP_DEBUG_CHALLENGE) {
		rc = vg_debug_challenge(&s->debug, vg_mono_ms(), nonce);
		if (rc == VG_OK) {
			vg_debug_message(nonce, c.instance_id, msg);
			vg_msgb_bytes(&r->out, VG_A_DATA, msg, sizeof msg);
		}
	} else if (rc == VG_OK) {
		rc = arg_bytes(r, VG_A_SIG, &sig, &sig_len, 256);
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

static vg_rc do_platform_verify(struct req *r)
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
		if (!cbor_map_add(m, (struct cbor_pair){
					 .key = cbor_move(cbor_build_uint8(VG_A_RC)),
					 .value = cbor_move(cbor_build_uint8((uint8_t)p->res[i].rc))}) ||
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

/* In recovery (SFR 4.2.5) the service answers only what diagnoses and
 * repairs the device: status, the audit log, identity and attestation
 * (which report the failure), the platform check, factory reset and the
 * admin login it needs, and updates (the way out of recovery).
 * Every application key and record operation is refused. */
static bool recovery_allows(vg_op op)
{
	switch (op) {
	case VG_OP_STATUS:
	case VG_OP_LOG_EXPORT:
	case VG_OP_LOG_SEED:
	case VG_OP_IDENTITY:
	case VG_OP_IDENTITY_CERT:
	case VG_OP_ATTEST:
	case VG_OP_PLATFORM_VERIFY:
	case VG_OP_FACTORY_RESET:
	case VG_OP_ADMIN_LOGIN:
	case VG_OP_ADMIN_LOGOUT:
	case VG_OP_ADMIN_CHALLENGE:
	case VG_OP_ADMIN_ANSWER:
	case VG_OP_UPDATE_BEGIN:
	case VG_OP_UPDATE_REPORT:
	case VG_OP_UPDATE_CONFIRM:
	case VG_OP_UPDATE_STATUS:
	case VG_OP_UPDATE_KEY:
	case VG_OP_UPDATE_ROOT:
		return true;
	default:
		return false;
	}
}

/* A/B updates (SFR 4.2.6): the admin role (root or admin_group), no
 * session: what authorizes an update is the release key's signature on
 * the bundle, checked by the service, not the operator. */
static vg_rc do_update(struct req *r)
{
	vg_rc rc = vg_update_handle(r->s, r->peer, r->op, &r->msg, &r->out, r->why_buf,
				    sizeof r->why_buf);

	if (rc != VG_OK && r->why_buf[0])
		r->why = r->why_buf;
	return rc;
}

static vg_rc dispatch(struct req *r)
{
	uint64_t owner;
	vg_rc rc;

	if (!op_name(r->op))
		return VG_ERR_UNSUPPORTED;
	if (vg_service_in_recovery(r->s) && !recovery_allows(r->op)) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "the platform is in recovery (%.*s): only status, audit log, "
			       "identity, attestation, update and factory reset are served",
			       (int)(sizeof r->why_buf - 120), r->s->platform->reason);
		r->why = r->why_buf;
		r->recovery_denied = true;
		return VG_ERR_STATE;
	}
	if (needs_name(r->op)) {
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
	} else {
		rc = vg_policy_check(&r->s->policy, r->peer, r->op, r->owner);
		if (rc == VG_OK && needs_session(r))
			rc = require_session(r);
		if (rc != VG_OK)
			return rc;
	}
	switch (r->op) {
	case VG_OP_STATUS:
		return do_status(r);
	case VG_OP_KEY_LIST:
		return do_list(r, true);
	case VG_OP_STORE_LIST:
		return do_list(r, false);
	case VG_OP_STORE_PUT:
	case VG_OP_STORE_GET:
	case VG_OP_STORE_DELETE:
		return do_store(r);
	case VG_OP_LOG_EXPORT:
		return do_log_export(r);
	case VG_OP_LOG_SEED:
		return do_log_seed(r);
	case VG_OP_PROVISION:
		return do_provision(r);
	case VG_OP_IDENTITY:
		return do_identity(r);
	case VG_OP_ATTEST:
		return do_attest(r);
	case VG_OP_IDENTITY_CSR:
	case VG_OP_IDENTITY_SET_CERT:
	case VG_OP_IDENTITY_CERT:
		return do_identity_cert(r);
	case VG_OP_ADMIN_SETUP:
	case VG_OP_ADMIN_LOGIN:
	case VG_OP_ADMIN_LOGOUT:
	case VG_OP_ADMIN_PASSWD:
	case VG_OP_ADMIN_KEY_ADD:
	case VG_OP_ADMIN_KEY_DELETE:
	case VG_OP_ADMIN_CHALLENGE:
	case VG_OP_ADMIN_ANSWER:
		return do_admin(r);
	case VG_OP_FACTORY_RESET:
		return do_reset(r);
	case VG_OP_DEBUG_CHALLENGE:
	case VG_OP_DEBUG_UNLOCK:
	case VG_OP_DEBUG_LOCK:
		return do_debug(r);
	case VG_OP_PLATFORM_VERIFY:
		return do_platform_verify(r);
	case VG_OP_UPDATE_BEGIN:
	case VG_OP_UPDATE_REPORT:
	case VG_OP_UPDATE_CONFIRM:
	case VG_OP_UPDATE_STATUS:
	case VG_OP_UPDATE_KEY:
	case VG_OP_UPDATE_ROOT:
		return do_update(r);
	default:
		return do_key(r);
	}
}

unsigned vg_reqmgr_peek_op(const uint8_t *p, size_t len)
{
	/* [1, op, ...]: 0x83 0x01, then op as a CBOR uint of any head size
	 * (libcbor's encoder writes 8-byte heads). 0 when it is not that. */
	static const uint8_t extra[4] = {1, 2, 4, 8};
	uint64_t v = 0;
	size_t n;

	if (len < 3 || p[0] != 0x83 || p[1] != VG_WIRE_VERSION || p[2] > 0x1b)
		return 0;
	if (p[2] < 24)
		return p[2];
	n = extra[p[2] - 24];
	if (len < 3 + n)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[3 + i];
	return v > UINT_MAX ? 0 : (unsigned)v;
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

vg_rc vg_reqmgr_handle(vg_service *s, const vg_peer *peer, const uint8_t *payload, size_t len,
		       uint8_t **reply, size_t *reply_len, bool *deferred)
{
	struct req r = {.s = s, .peer = peer, .owner = peer->uid};
	vg_rc rc, erc;

	*reply = NULL;
	*reply_len = 0;
	*deferred = false;
	rc = vg_wire_decode(payload, len, &r.msg);
	if (rc != VG_OK) {
		/* Garbage: answer once, then the connection is closed. */
		erc = error_reply(rc, "malformed request", reply, reply_len);
		(void)erc;
		return VG_ERR_PROTOCOL;
	}
	r.op = r.msg.code > 0xffff ? (vg_op)0 : (vg_op)r.msg.code;
	rc = vg_msgb_init(&r.out);
	if (rc == VG_OK) {
		rc = dispatch(&r);
		audit_result(&r, rc);
	}
	if (s->debug.unlocked)
		/* The debug function: a trace of every request (SFR 4.3.1). */
		(void)fprintf(stderr, "voxguardd: debug trace: uid %u pid %d op %s: %s\n",
			      peer->uid, peer->pid, op_name(r.op) ? op_name(r.op) : "unknown",
			      vg_rc_str(rc));
	*deferred = rc == VG_OK && r.deferred;
	if (rc == VG_OK) {
		rc = vg_wire_encode(VG_OK, &r.out, reply, reply_len);
		if (rc != VG_OK)
			VG_IGNORE(error_reply(rc, NULL, reply, reply_len));
	} else {
		vg_msgb_free(&r.out);
		VG_IGNORE(error_reply(rc, r.why, reply, reply_len));
	}
	vg_msg_free(&r.msg);
	return VG_OK;
}
