/*
 * ops.h - the one table of operations.
 *
 * Every operation the service serves is one row: its name (in audit
 * records and the debug trace), who may call it, what the request manager
 * checks before the handler runs, what it costs the caller's budget, and
 * its handler. An operation without a row is refused (VG_ERR_UNSUPPORTED)
 * and audited as ipc.unknown_op; adding an operation is one row here and
 * one handler in its capability's file (op_keys.c, op_store.c, op_log.c,
 * op_identity.c, op_admin.c, op_device.c, op_endpoint.c, op_display.c).
 * tests/test_policy.c walks the table.
 */
#ifndef VG_DAEMON_OPS_H
#define VG_DAEMON_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/req.h"

/* Who may call it (SFR 4.2.10, 4.2.13; see policy.h). */
typedef enum vg_op_access {
	VG_ACCESS_ANY = 1, /* every caller */
	VG_ACCESS_ADMIN,   /* the admin role: root or admin_group */
	VG_ACCESS_OWN,     /* uses the caller's own namespace, nobody else's */
	VG_ACCESS_MANAGE,  /* the caller's own namespace, or an admin's on another's */
} vg_op_access;

#define VG_OPF_NAME     0x0001u /* takes an object name (VG_A_NAME), checked */
#define VG_OPF_SESSION  0x0002u /* an admin session, once an admin exists */
#define VG_OPF_SESSION_OTHER  0x0008u /* a session when it addresses another uid */
#define VG_OPF_RECOVERY 0x0010u /* served while the platform is in recovery */
#define VG_OPF_AUDIT    0x0020u /* every outcome audited under the op's name */
#define VG_OPF_NOT_SERVICE 0x0040u /* never on the service's namespace (MANAGE) */
#define VG_OPF_BATCH    0x0080u /* group-committed: no commit before it */
#define VG_OPF_SELF_AUDIT 0x0100u /* the handler audits its rollback refusals */

/* What it costs the caller (daemon/budget.h). */
typedef enum vg_op_cost {
	VG_COST_LIGHT = 0, /* a lookup, a signature, a record */
	VG_COST_HEAVY,     /* password hashing, key generation, attestation */
} vg_op_cost;

typedef vg_rc (*vg_op_handler)(vg_req *r);

typedef struct vg_op_def {
	vg_op op;
	const char *name; /* dotted, as in audit records */
	vg_op_access access;
	uint32_t flags;
	vg_op_cost cost;
	vg_op_handler handler;
	/* When not NULL: a session is needed when this says so (a request
	 * that changes a trust anchor rather than reading it). */
	bool (*session_if)(const vg_req *r);
} vg_op_def;

/* The row of op, or NULL when it has none. */
const vg_op_def *vg_op_find(uint64_t op);
/* The whole table (for tests and documentation). */
const vg_op_def *vg_op_table(size_t *n);

/* Handlers, by capability. */
vg_rc vg_op_status(vg_req *r);          /* op_status.c */
vg_rc vg_op_key(vg_req *r);             /* op_keys.c */
vg_rc vg_op_key_list(vg_req *r);
vg_rc vg_op_store(vg_req *r);           /* op_store.c */
vg_rc vg_op_store_list(vg_req *r);
vg_rc vg_op_log_export(vg_req *r);      /* op_log.c */
vg_rc vg_op_log_seed(vg_req *r);
vg_rc vg_op_provision(vg_req *r);       /* op_identity.c */
vg_rc vg_op_identity(vg_req *r);
vg_rc vg_op_attest(vg_req *r);
vg_rc vg_op_identity_cert(vg_req *r);
vg_rc vg_op_admin(vg_req *r);           /* op_admin.c */
vg_rc vg_op_reset(vg_req *r);           /* op_device.c */
vg_rc vg_op_debug(vg_req *r);
vg_rc vg_op_platform_verify(vg_req *r);
vg_rc vg_op_update(vg_req *r);
bool vg_op_update_changes_trust(const vg_req *r);
vg_rc vg_op_endpoint(vg_req *r);        /* op_endpoint.c */
vg_rc vg_op_display(vg_req *r);         /* op_display.c */
vg_rc vg_op_mic(vg_req *r);             /* op_mic.c */
vg_rc vg_op_config(vg_req *r);          /* op_config.c */
vg_rc vg_op_bluetooth(vg_req *r);       /* op_bluetooth.c */

#endif
