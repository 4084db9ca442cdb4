/*
 * update.h - the service side of A/B updates (SFR 4.2.6 secure update,
 * SFR 4.2.9 audit of update requests and progress, AVS 1.1).
 *
 * The update agent (`voxguard update`, run as root: it writes slots and
 * the bootloader environment) does the streaming; the service is the
 * authority it must ask, and the keeper of everything that must not be in
 * the agent's hands:
 *  - the decision: a bundle's manifest is verified here against the release
 *    key provisioned at the factory, the device's product and the device's
 *    minimum security version (the larger of the sealed record and the
 *    root of trust's security-version counter);
 *  - the slot: the inactive one, the other than the slot running now (read
 *    from the kernel command line's voxguard.slot=, which the boot script
 *    sets); the slot paths come from the service's configuration;
 *  - the content key of an encrypted bundle, unwrapped with the device's
 *    update key or the fleet key, which never leave the service;
 *  - the update's state, sealed (record sys/update-state), and the audit
 *    trail: update.requested, .verified, .downloaded, .written,
 *    .activated, .booted, .confirmed, .failed (with the reason);
 *  - the trusted TUF root metadata (record sys/tuf-root): the agent
 *    starts every refresh from it and hands over each new root version;
 *    the service verifies the rotation (threshold of the old keys and of
 *    the new) before it replaces the record, and audits it
 *    (update.tuf_root); it survives a factory reset like the release key;
 *  - anti-rollback: the minimum security version is raised only by
 *    mark-good, after the new version has booted from the new slot, in the
 *    RoT counter and the sealed record.
 *
 * States: idle -> installing (begin) -> installed (report written) ->
 * activated (report activated; the boot ID is recorded) -> after a reboot
 * into the new slot: trial -> idle (confirm = mark-good). A reboot that
 * comes back on the old slot (the bootloader ran out of attempts) -> idle
 * with update.failed. An install cut short stays `installing`; the next
 * begin with the same bundle and slot is told to resume.
 */
#ifndef VG_DAEMON_UPDATE_H
#define VG_DAEMON_UPDATE_H

#include "daemon/service.h"
#include "storage/sysrec.h"
#include "proto/wire.h"

/* Service keys of namespace "k/service". */
#define VG_UPDATE_KEY_NAME   "update-device" /* generated on first use */
#define VG_UPDATE_FLEET_NAME "update-fleet"  /* imported once */
/* Records (storage/sysrec.h): VG_SYS_UPDATE_STATE, and VG_SYS_TUF_ROOT, the
 * trusted TUF root, installed once, then replaced only by its next
 * version, verified here. */

/* Handles VG_OP_UPDATE_*: reads the request's arguments from in, writes
 * the reply's into out; why (cap bytes) gets the reason of an error. */
VG_NODISCARD vg_rc vg_update_handle(vg_service *s, const vg_peer *peer, vg_op op,
				    const vg_msg *in, vg_msgb *out, char *why, size_t cap);

/* True when a trusted TUF root is stored (or the store cannot say: fail
 * closed, as if none were, so that installing one needs a session). */
bool vg_update_root_installed(vg_service *s);

/* At start: a reboot after an activation decides trial or fallback. */
void vg_update_at_start(vg_service *s);

/* The slot running now from a kernel command line: 'a', 'b' or 0. */
char vg_update_booted_slot(const char *cmdline, size_t len);

#endif
