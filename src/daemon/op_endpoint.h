/*
 * op_endpoint.h - the endpoint list in the service (SFR 4.2.8): what
 * op_endpoint.c keeps besides the handler of ops.h.
 *
 * The list is device configuration made by the admin: one sealed record
 * per endpoint, named after it, in the secure store's namespace "ep"
 * (this module is its one owner), holding the policy's canonical JSON
 * (tls/endpoint.h). "ep" is not a persistent namespace: a factory reset
 * crypto-erases it with the admin credentials (SFR 4.2.12). The whole
 * list is bounded by VG_EP_MAX_COUNT records and VG_EP_MAX_STORED sealed
 * bytes, whoever adds (a fixed budget: VG_ERR_QUOTA past it).
 *
 * Connection reports: a refusal is always a "tls.refused" audit event
 * under the reporting uid (so the audit log's per-uid rate limit applies
 * to it as to any application event); an accepted connection is a
 * "tls.connected" event at most once per VG_EP_CONNECTED_EVERY_MS for
 * each (uid, endpoint), the rest counted and told in the next one.
 */
#ifndef VG_DAEMON_OP_ENDPOINT_H
#define VG_DAEMON_OP_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

#define VG_EP_CONNECTED_EVERY_MS 60000u
/* (uid, endpoint) pairs remembered: at most VG_EP_MAX_COUNT endpoints of
 * VG_EP_MAX_UIDS uids each can report, and admins; past this the pair
 * seen longest ago is forgotten (its next report is recorded). */
#define VG_EP_SEEN_MAX 1024u

typedef struct vg_ep_seen vg_ep_seen;

/* Should this accepted connection of uid to endpoint `name` be recorded
 * now (at now_ms, monotonic)? true with *suppressed the number of reports
 * counted since the last one recorded; false when it is counted instead.
 * *t is allocated on first use (a failed allocation records). */
bool vg_ep_seen_pass(vg_ep_seen **t, uint32_t uid, const char *name, uint64_t now_ms,
		     uint64_t *suppressed);
void vg_ep_seen_free(vg_ep_seen **t);

#endif
