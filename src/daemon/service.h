/*
 * service.h - the service object: owns the root of trust, the database, the
 * secure store, the keystore and the audit log, in that order of opening,
 * and closes them in reverse. One per voxguardd process; single-threaded.
 */
#ifndef VG_SERVICE_H
#define VG_SERVICE_H

#include <limits.h>
#include <stdbool.h>

#include "audit/audit.h"
#include "daemon/admin.h"
#include "daemon/budget.h"
#include "daemon/config.h"
#include "daemon/debug.h"
#include "daemon/policy.h"
#include "daemon/sdkstate.h"
#include "identity/identity.h"
#include "keystore/keystore.h"
#include "platform/secinit.h"
#include "rot/rot.h"
#include "storage/db.h"
#include "storage/secstore.h"
#include "storage/sysrec.h"
#include "voxguard/mic.h"

/* The service's audit-signing key, in the service namespace. */
#define VG_AUDIT_KEY_NAME "audit-signing"

typedef struct vg_service {
	vg_config cfg;
	char state_dir[PATH_MAX];
	vg_rot *rot;
	vg_db *db;
	vg_reserve *reserve; /* the storage reserve (storage/reserve.h) */
	vg_secstore *store;
	vg_keystore *ks;
	vg_identity *identity;
	vg_adminsvc *admin;
	vg_debug debug;
	vg_audit *audit;
	vg_policy policy;
	vg_budget_table budgets;    /* per-uid budget rules (daemon/budget.h) */
	vg_budget_meter budget_use; /* registered by the server while it runs */
	vg_rate_table write_rate;   /* store_rate buckets per uid (daemon/budget.h) */
	vg_rate_table read_rate;    /* request_rate buckets per uid, kept by the server */
	vg_peer self; /* the actor of the service's own events */
	uint64_t started_ms;
	vg_secinit_report *platform; /* secure initialization (SFR 4.2.5) */
	struct vg_ep_seen *ep_seen;  /* tls.connected rate limit (daemon/op_endpoint.h) */
	/* One-time display tokens (display/token.h), memory only: created
	 * on first use, gone with the process. */
	struct vg_dtok_table *display_tokens;
	/* What vg_service_rot_watch() last reported: the root of trust's
	 * down_since (0: answering) and how many recoveries it had seen. */
	uint64_t rot_down_seen, rot_recoveries_seen;
	/* The root key stayed sealed in this boot (vg_rot_sealed_why): the
	 * service runs without store, keystore, identity, admin or audit log
	 * (all NULL), in recovery, serving status and platform.verify only.
	 * See vg_service_open. */
	bool sealed;
	vg_sdkstate sdkstate; /* the SDK's encrypted state dir (sdkstate.h) */
	/* The microphone's mute state as the watcher last reported it
	 * (op_mic.c; AVS 1.15): in memory only, unknown after a restart. */
	struct vg_mic_seen {
		vg_mic_state state;
		uint64_t since, mono_ms;
		char source[VG_MIC_SOURCE_MAX + 1];
	} mic;
} vg_service;

/* The service's own records (persistent across factory reset) have one
 * owner: storage/sysrec.h. */

/*
 * Secure initialization (SFR 4.2.5): verifies the signed platform manifest
 * (cfg.manifest) against the provisioned release key and measures every
 * component (platform/secinit.h); the result is s->platform (normal,
 * recovery or unverified), each failure and the outcome are audit events,
 * and the measurements become the attested software components. Run at
 * every start and by "voxguard verify-platform".
 */
VG_NODISCARD vg_rc vg_service_platform_check(vg_service *s);

/* True when only recovery operations may be served (SFR 4.2.5). */
bool vg_service_in_recovery(const vg_service *s);

/* Whether an operation is served in the platform's current state: every
 * one outside recovery; in recovery those whose row has VG_OPF_RECOVERY;
 * while the root key is sealed (s->sealed) only status and
 * platform.verify, which need nothing the key opens. */
struct vg_op_def;
bool vg_service_recovery_serves(const vg_service *s, const struct vg_op_def *def);

/*
 * Checks the state dir (a directory owned by the effective uid with no
 * group or world access), opens the root of trust and everything on top,
 * creates the service keys on first start, and records service.start.
 * A store in rollback or integrity-error state is not an open error: the
 * service runs and refuses the records (see vg_db_state), and the
 * detection is an audit event.
 *
 * Nor is a tpm2 root key sealed to the measured boot that this boot cannot
 * open (rot_policy_key; docs/TPM2.md): the service starts in recovery
 * with s->sealed set. Nothing the key protects opens (the database is not
 * even read), nothing on the device changes (no counter, no erase secret,
 * no file written), status and verify-platform say why ("this boot is not
 * one the OEM signed for: PCR 9 differs ..."), every other operation is
 * refused with that reason, and the service's own events go to stderr
 * (the journal), as the audit log is sealed too.
 */
VG_NODISCARD vg_rc vg_service_open(vg_service **out, const char *state_dir, const vg_config *cfg,
				   char *err, size_t err_len);
/* Records service.stop, seals the audit log, closes everything. */
void vg_service_close(vg_service **s);

/*
 * Watches the root of trust's health (rot/rot.h vg_rot_health; no device
 * call): the first time a command to it timed out is one "rot.timeout"
 * audit event (failure, naming the bound and since when), its answering
 * again one "rot.recovered" (success, with how long it was out). Called by
 * the event loop after every round, and at the end of the open.
 */
void vg_service_rot_watch(vg_service *s);

/* Appends an audit record (queued; the event loop flushes each round). */
void vg_service_audit(vg_service *s, const vg_peer *peer, const char *type, const char *outcome,
		      const char *detail);

/*
 * Factory reset (SFR 4.2.12): returns the device to its delivered state.
 * In order, each step durable before the next: a marker file
 * (state-dir/reset.pending); the RoT's erase secret replaced and every
 * user record, user key and admin credential deleted
 * (vg_secstore_crypto_erase); unsealed keys dropped from memory; sessions
 * and debug unlock ended; the audit log restarted with a signed link to
 * the old head and a "factory.reset" event naming the actor and trigger;
 * the marker removed. Provisioning (identity, setup code, service keys)
 * survives. A reset interrupted at any point is completed by the next
 * vg_service_open before anything is served.
 */
VG_NODISCARD vg_rc vg_service_factory_reset(vg_service *s, const vg_peer *peer,
					    const char *trigger);
/* Debug unlocked or locked: seals the apps' data away (or back), drops
 * unsealed keys, shows in the lifecycle. */
void vg_service_set_debug(vg_service *s, bool unlocked);
/* Reads the configured reset button: true while it reads "1". */
bool vg_service_reset_button(const vg_service *s);

/* Checks a state dir: exists, a directory, owned by uid, mode & 077 == 0. */
VG_NODISCARD vg_rc vg_state_dir_check(const char *dir, uid_t uid, char *err, size_t err_len);

#endif
