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
VG_NODISCARD vg_rc vg_reqmgr_handle(vg_service *s, const vg_peer *peer, const uint8_t *payload,
				    size_t len, const vg_reqmgr_batch *batch, uint8_t **reply,
				    size_t *reply_len, bool *deferred);

/* An error reply frame (for deferred replies whose batch failed). */
VG_NODISCARD vg_rc vg_reqmgr_error_reply(vg_rc rc, const char *why, uint8_t **reply,
					 size_t *reply_len);

#endif
