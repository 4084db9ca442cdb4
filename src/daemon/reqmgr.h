/*
 * reqmgr.h - the request manager: decodes one request, authorizes it
 * against the caller's kernel-given identity, dispatches it to the
 * keystore, store or audit log, and encodes the reply. Every failure is an
 * error reply; denials and policy refusals are audit events.
 */
#ifndef VG_REQMGR_H
#define VG_REQMGR_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/policy.h"
#include "daemon/service.h"
#include "daemon/workers.h"

/* How the request manager commits the server's pending batch of store
 * puts (group commit) before serving anything else. */
typedef struct vg_reqmgr_batch {
	void (*commit)(void *ctx);
	void *ctx;
} vg_reqmgr_batch;

/*
 * Handles one payload (the frame without its length header). *reply is a
 * complete frame to send (callee-allocated, free with vg_free). Returns
 * VG_OK when the connection may continue, or VG_ERR_PROTOCOL when the
 * request was malformed and the connection is to be closed after the reply.
 *
 * A store put is group-committed (vg_secstore_put_batched): *deferred is
 * then true and the reply must be held until vg_secstore_batch_commit()
 * succeeded (or be replaced by an error reply if it failed). Any request
 * whose operation is not batched (ops.h: VG_OPF_BATCH) first has
 * batch->commit run, so that nothing sees the store before a pending
 * batch is durable (batch may be NULL when the caller batches nothing).
 */
typedef struct vg_reqmgr_pending vg_reqmgr_pending;

/*
 * ... and a request whose handler deferred CPU-heavy work (req.h) gives
 * no reply yet when pending is not NULL: *pending holds it (its job in
 * vg_reqmgr_job()), for the caller to run on its worker pool and then
 * finish with vg_reqmgr_complete(). With pending NULL the work runs
 * inline and the reply is there at once.
 */
VG_NODISCARD vg_rc vg_reqmgr_handle(vg_service *s, const vg_peer *peer, const uint8_t *payload,
				    size_t len, const vg_reqmgr_batch *batch, uint8_t **reply,
				    size_t *reply_len, bool *deferred, vg_reqmgr_pending **pending);
/* The pending request's work, to submit to the pool. */
vg_job *vg_reqmgr_job(vg_reqmgr_pending *p);
/* The operation's cost class (ops.h: vg_op_cost) and the caller. */
int vg_reqmgr_cost(const vg_reqmgr_pending *p);
uint32_t vg_reqmgr_uid(const vg_reqmgr_pending *p);
/*
 * Completes a pending request on the event loop: after its work ran
 * (refused == VG_OK), or without it (refused: the reason it never ran,
 * e.g. VG_ERR_QUOTA, with why). Gives the reply frame as
 * vg_reqmgr_handle does, audits the outcome, and frees p and its job.
 * reply may be NULL when there is no one to answer any more.
 */
VG_NODISCARD vg_rc vg_reqmgr_complete(vg_reqmgr_pending *p, vg_rc refused, const char *why,
				      uint8_t **reply, size_t *reply_len);

/* An error reply frame (for deferred replies whose batch failed). */
VG_NODISCARD vg_rc vg_reqmgr_error_reply(vg_rc rc, const char *why, uint8_t **reply,
					 size_t *reply_len);

#endif
