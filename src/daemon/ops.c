/* ops.c - see ops.h */
#include "daemon/ops.h"

#include "common/util.h"

#define ROW(o, n, a, f, c, h) {.op = (o), .name = (n), .access = (a), .flags = (f), .cost = (c), .handler = (h)}
#define ROW_IF(o, n, a, f, c, h, p) {.op = (o), .name = (n), .access = (a), .flags = (f), .cost = (c), .handler = (h), .session_if = (p)}

/* clang-format off */
static const vg_op_def table[] = {
	ROW(VG_OP_STATUS, "status", VG_ACCESS_ANY, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_status),

	/* keystore (SFR 4.2.11) */
	ROW(VG_OP_KEY_CREATE, "key.create", VG_ACCESS_OWN, VG_OPF_NAME | VG_OPF_AUDIT, VG_COST_HEAVY, vg_op_key),
	ROW(VG_OP_KEY_DELETE, "key.delete", VG_ACCESS_MANAGE,
	    VG_OPF_NAME | VG_OPF_AUDIT | VG_OPF_SESSION_OTHER | VG_OPF_NOT_SERVICE, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_INFO, "key.info", VG_ACCESS_MANAGE, VG_OPF_NAME | VG_OPF_SESSION_OTHER, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_LIST, "key.list", VG_ACCESS_MANAGE, VG_OPF_SESSION_OTHER, VG_COST_LIGHT, vg_op_key_list),
	ROW(VG_OP_KEY_PUBLIC, "key.public", VG_ACCESS_MANAGE, VG_OPF_NAME | VG_OPF_SESSION_OTHER, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_SIGN, "key.sign", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_VERIFY, "key.verify", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_ENCRYPT, "key.encrypt", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_DECRYPT, "key.decrypt", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_MAC, "key.mac", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_SIGN_DIGEST, "key.sign_digest", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),
	/* audio stream keys (SFR 4.2.8 note 7; profile 2.3.1): the KEM's DH
	 * with the key in the service, on the worker pool like a signature */
	ROW(VG_OP_KEY_DECAP, "key.decap", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),
	ROW(VG_OP_KEY_AUTH_ENCAP, "key.auth_encap", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_key),

	/* secure storage (SFR 4.2.4) */
	ROW(VG_OP_STORE_PUT, "store.put", VG_ACCESS_OWN, VG_OPF_NAME | VG_OPF_BATCH, VG_COST_LIGHT, vg_op_store),
	ROW(VG_OP_STORE_GET, "store.get", VG_ACCESS_OWN, VG_OPF_NAME, VG_COST_LIGHT, vg_op_store),
	ROW(VG_OP_STORE_DELETE, "store.delete", VG_ACCESS_MANAGE,
	    VG_OPF_NAME | VG_OPF_SESSION_OTHER | VG_OPF_NOT_SERVICE, VG_COST_LIGHT, vg_op_store),
	ROW(VG_OP_STORE_LIST, "store.list", VG_ACCESS_MANAGE,
	    VG_OPF_SESSION_OTHER | VG_OPF_NOT_SERVICE, VG_COST_LIGHT, vg_op_store_list),

	/* audit log (SFR 4.2.9) */
	ROW(VG_OP_LOG_EXPORT, "log.export", VG_ACCESS_ADMIN,
	    VG_OPF_SESSION | VG_OPF_RECOVERY | VG_OPF_AUDIT, VG_COST_HEAVY, vg_op_log_export),
	ROW(VG_OP_LOG_SEED, "log.seed", VG_ACCESS_ADMIN,
	    VG_OPF_SESSION | VG_OPF_RECOVERY | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_log_seed),

	/* identity and attestation (SFR 4.2.1-4.2.3) */
	ROW(VG_OP_PROVISION, "identity.provision", VG_ACCESS_ADMIN,
	    VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_HEAVY, vg_op_provision),
	ROW(VG_OP_IDENTITY, "identity.show", VG_ACCESS_ANY, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_identity),
	ROW(VG_OP_ATTEST, "attest", VG_ACCESS_ANY, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_attest),
	ROW(VG_OP_IDENTITY_CSR, "identity.csr", VG_ACCESS_ADMIN,
	    VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_identity_cert),
	ROW(VG_OP_IDENTITY_SET_CERT, "identity.set_cert", VG_ACCESS_ADMIN,
	    VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_identity_cert),
	ROW(VG_OP_IDENTITY_CERT, "identity.cert", VG_ACCESS_ANY, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_identity_cert),

	/* admin access (SFR 4.2.13) */
	ROW(VG_OP_ADMIN_SETUP, "admin.setup", VG_ACCESS_ADMIN, VG_OPF_AUDIT, VG_COST_HEAVY, vg_op_admin),
	ROW(VG_OP_ADMIN_LOGIN, "admin.login", VG_ACCESS_ADMIN, VG_OPF_RECOVERY | VG_OPF_AUDIT, VG_COST_HEAVY, vg_op_admin),
	ROW(VG_OP_ADMIN_LOGOUT, "admin.logout", VG_ACCESS_ANY, VG_OPF_RECOVERY | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_admin),
	ROW(VG_OP_ADMIN_PASSWD, "admin.passwd", VG_ACCESS_ADMIN, VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_HEAVY, vg_op_admin),
	ROW(VG_OP_ADMIN_KEY_ADD, "admin.key_add", VG_ACCESS_ADMIN,
	    VG_OPF_NAME | VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_admin),
	ROW(VG_OP_ADMIN_KEY_DELETE, "admin.key_delete", VG_ACCESS_ADMIN,
	    VG_OPF_NAME | VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_admin),
	ROW(VG_OP_ADMIN_CHALLENGE, "admin.challenge", VG_ACCESS_ADMIN, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_admin),
	ROW(VG_OP_ADMIN_ANSWER, "admin.key_login", VG_ACCESS_ADMIN,
	    VG_OPF_NAME | VG_OPF_RECOVERY | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_admin),

	/* factory reset and secure debugging (SFR 4.2.12, 4.3.1) */
	ROW(VG_OP_FACTORY_RESET, "factory.reset", VG_ACCESS_ADMIN,
	    VG_OPF_SESSION | VG_OPF_RECOVERY | VG_OPF_AUDIT, VG_COST_HEAVY, vg_op_reset),
	ROW(VG_OP_DEBUG_CHALLENGE, "debug.challenge", VG_ACCESS_ADMIN, VG_OPF_SESSION, VG_COST_LIGHT, vg_op_debug),
	ROW(VG_OP_DEBUG_UNLOCK, "debug.unlock", VG_ACCESS_ADMIN, VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_debug),
	ROW(VG_OP_DEBUG_LOCK, "debug.lock", VG_ACCESS_ADMIN, VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_debug),

	/* secure initialization and update (SFR 4.2.5, 4.2.6): what authorizes
	 * an update is the release key's signature, checked here, not the
	 * operator; what changes the device's trust anchors needs a session. */
	ROW(VG_OP_PLATFORM_VERIFY, "platform.verify", VG_ACCESS_ADMIN, VG_OPF_RECOVERY, VG_COST_HEAVY, vg_op_platform_verify),
	ROW(VG_OP_UPDATE_BEGIN, "update.begin", VG_ACCESS_ADMIN, VG_OPF_RECOVERY | VG_OPF_SELF_AUDIT, VG_COST_LIGHT, vg_op_update),
	ROW(VG_OP_UPDATE_REPORT, "update.report", VG_ACCESS_ADMIN, VG_OPF_RECOVERY | VG_OPF_SELF_AUDIT, VG_COST_LIGHT, vg_op_update),
	ROW(VG_OP_UPDATE_CONFIRM, "update.confirm", VG_ACCESS_ADMIN, VG_OPF_RECOVERY | VG_OPF_SELF_AUDIT, VG_COST_LIGHT, vg_op_update),
	ROW(VG_OP_UPDATE_STATUS, "update.status", VG_ACCESS_ADMIN, VG_OPF_RECOVERY | VG_OPF_SELF_AUDIT, VG_COST_LIGHT, vg_op_update),
	ROW_IF(VG_OP_UPDATE_KEY, "update.key", VG_ACCESS_ADMIN, VG_OPF_RECOVERY | VG_OPF_SELF_AUDIT,
	       VG_COST_HEAVY, vg_op_update, vg_op_update_changes_trust),
	ROW_IF(VG_OP_UPDATE_ROOT, "update.root", VG_ACCESS_ADMIN, VG_OPF_RECOVERY | VG_OPF_SELF_AUDIT,
	       VG_COST_LIGHT, vg_op_update, vg_op_update_changes_trust),

	/* secure communication's endpoint list (SFR 4.2.8): changed by an
	 * admin with a session; read by the uids it lists (the handler
	 * checks, and audits a refusal as endpoint.denied); served in
	 * recovery too, as device policy, not application data. */
	ROW(VG_OP_ENDPOINT_ADD, "endpoint.add", VG_ACCESS_ADMIN,
	    VG_OPF_NAME | VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_endpoint),
	ROW(VG_OP_ENDPOINT_REMOVE, "endpoint.remove", VG_ACCESS_ADMIN,
	    VG_OPF_NAME | VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_endpoint),
	ROW(VG_OP_ENDPOINT_LIST, "endpoint.list", VG_ACCESS_ANY, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_endpoint),
	ROW(VG_OP_ENDPOINT_GET, "endpoint.get", VG_ACCESS_ANY, VG_OPF_NAME | VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_endpoint),
	ROW(VG_OP_ENDPOINT_REPORT, "endpoint.report", VG_ACCESS_ANY, VG_OPF_NAME | VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_endpoint),

	/* the display IPC guard (AVS 1.14): who may issue (launchers) and
	 * redeem (gateways) is configuration; the handler checks the uid,
	 * refuses as display.denied and audits every outcome itself. */
	ROW(VG_OP_DISPLAY_TOKEN_ISSUE, "display.token_issue", VG_ACCESS_ANY, 0, VG_COST_LIGHT, vg_op_display),
	ROW(VG_OP_DISPLAY_TOKEN_REDEEM, "display.token_redeem", VG_ACCESS_ANY, 0, VG_COST_LIGHT, vg_op_display),
	ROW(VG_OP_DISPLAY_REPORT, "display.report", VG_ACCESS_ANY, 0, VG_COST_LIGHT, vg_op_display),

	/* the microphone's mute switch (AVS 1.15): reported by the watcher
	 * (root, an admin or mic_uids: the handler checks and refuses as
	 * mic.denied) and audited as mic.mute / mic.unmute; read by anyone
	 * (the voice app's gate starts from it). */
	ROW(VG_OP_MIC_REPORT, "mic.report", VG_ACCESS_ANY, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_mic),
	ROW(VG_OP_MIC_STATE, "mic.state", VG_ACCESS_ANY, VG_OPF_RECOVERY, VG_COST_LIGHT, vg_op_mic),

	/* sealed configuration (AVS SDK rule 1): sealed and removed by an
	 * admin with a session, for one uid (VG_A_OWNER); read only by that
	 * uid (the handler refuses any other as config.denied). */
	ROW(VG_OP_CONFIG_SEAL, "config.seal", VG_ACCESS_ADMIN,
	    VG_OPF_NAME | VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_config),
	ROW(VG_OP_CONFIG_REMOVE, "config.remove", VG_ACCESS_ADMIN,
	    VG_OPF_NAME | VG_OPF_SESSION | VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_config),
	ROW(VG_OP_CONFIG_GET, "config.get", VG_ACCESS_ANY, VG_OPF_NAME, VG_COST_LIGHT, vg_op_config),
	ROW(VG_OP_CONFIG_LIST, "config.list", VG_ACCESS_ANY, 0, VG_COST_LIGHT, vg_op_config),

	/* Bluetooth security (AVS 1.9-1.12): the LE Privacy IRK derived from
	 * the root of trust, for `voxguard bluetooth enforce` (root, no
	 * session: it runs at boot); the outcomes of enforce and check,
	 * audited by the handler as bluetooth.<stage>. */
	ROW(VG_OP_BT_IRK, "bluetooth.irk", VG_ACCESS_ADMIN, VG_OPF_AUDIT, VG_COST_LIGHT, vg_op_bluetooth),
	ROW(VG_OP_BT_REPORT, "bluetooth.report", VG_ACCESS_ADMIN, 0, VG_COST_LIGHT, vg_op_bluetooth),
};
/* clang-format on */

const vg_op_def *vg_op_find(uint64_t op)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(table); i++)
		if ((uint64_t)table[i].op == op)
			return &table[i];
	return NULL;
}

const vg_op_def *vg_op_table(size_t *n)
{
	*n = VG_ARRAY_LEN(table);
	return table;
}
