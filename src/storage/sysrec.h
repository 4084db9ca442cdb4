/*
 * sysrec.h - the service's own records (namespace "sys" of the sealed
 * store): their one owner. Every module that keeps a record there names it
 * here and reads and writes it through here, never by spelling the
 * namespace or the record's name itself. The namespace survives a factory
 * reset (secstore.h: vg_secstore_ns_persistent); clients can never address
 * it (policy.h).
 *
 *   record             owner module         encoding
 *   identity           identity             identity.c's versioned record
 *   setup-code         identity             16 characters, until admin setup
 *   identity-cert      identity             PEM
 *   release-key        identity             DER SubjectPublicKeyInfo
 *   debug-key          identity             DER SubjectPublicKeyInfo
 *   min-security-version  update            8 bytes, big-endian
 *   tuf-root           update               root.json bytes
 *   update-state       update               update.c's text record
 *   auth-throttle      admin                admin.c's record
 *   config             service              canonical `key = value` text
 *
 * The OEM keys (release-key, debug-key) are written at provisioning and
 * never after, by vg_identity_provision_device(); the debug key is read
 * through vg_identity_debug_key(), the release key by secure
 * initialization and update (daemon/service.c, daemon/update.c).
 */
#ifndef VG_STORAGE_SYSREC_H
#define VG_STORAGE_SYSREC_H

#include <stddef.h>
#include <stdint.h>

#include "rot/rot.h"
#include "storage/secstore.h"

typedef enum vg_sysrec {
	VG_SYS_IDENTITY,
	VG_SYS_SETUP_CODE,
	VG_SYS_IDENTITY_CERT,
	VG_SYS_RELEASE_KEY,
	VG_SYS_DEBUG_KEY,
	VG_SYS_MIN_SECVER,
	VG_SYS_TUF_ROOT,
	VG_SYS_UPDATE_STATE,
	VG_SYS_ADMIN_THROTTLE,
	VG_SYS_CONFIG,
} vg_sysrec;

/* The record's name in the store ("identity", ...). */
const char *vg_sysrec_name(vg_sysrec rec);

/* vg_secstore_get/put/delete on the record (same ownership rules). */
VG_NODISCARD vg_rc vg_sysrec_get(vg_secstore *st, vg_sysrec rec, uint8_t **val, size_t *len);
VG_NODISCARD vg_rc vg_sysrec_put(vg_secstore *st, vg_sysrec rec, const uint8_t *val, size_t len);
VG_NODISCARD vg_rc vg_sysrec_delete(vg_secstore *st, vg_sysrec rec);

/*
 * The device's minimum security version (SFR 4.2.5, 4.2.6 anti-rollback):
 * the larger of the sealed record and the root of trust's security-version
 * counter. Both the platform check at start and the update decision use
 * this one answer: the counter is raised before the record, so after a
 * power cut between the two only the counter knows the new minimum.
 * 0 when neither exists. VG_ERR_INTEGRITY for a malformed record.
 */
VG_NODISCARD vg_rc vg_sysrec_min_secver(vg_secstore *st, vg_rot *rot, uint64_t *out);

/* Raises the minimum security version to `to` (never lowers it): the RoT
 * counter first (it cannot be undone), in steps it accepts, then the
 * sealed record. */
VG_NODISCARD vg_rc vg_sysrec_raise_secver(vg_secstore *st, vg_rot *rot, uint64_t to);

#endif
