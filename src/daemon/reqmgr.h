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

/*
 * Handles one payload (the frame without its length header). *reply is a
 * complete frame to send (callee-allocated, free with vg_free). Returns
 * VG_OK when the connection may continue, or VG_ERR_PROTOCOL when the
 * request was malformed and the connection is to be closed after the reply.
 *
 * A store put is group-committed (vg_secstore_put_batched): *deferred is
 * then true and the reply must be held until vg_secstore_batch_commit()
 * succeeded (or be replaced by an error reply if it failed). The caller
 * commits the batch before any request that is not a put
 * (vg_reqmgr_peek_op).
 */
VG_NODISCARD vg_rc vg_reqmgr_handle(vg_service *s, const vg_peer *peer, const uint8_t *payload,
				    size_t len, uint8_t **reply, size_t *reply_len, bool *deferred);

/* The operation a payload asks for, read from its first bytes without
 * decoding it (0 if it does not look like a request): used only to decide
 * whether a pending batch must be committed first, so a wrong answer can
 * only cost a commit. */
unsigned vg_reqmgr_peek_op(const uint8_t *payload, size_t len);

/* An error reply frame (for deferred replies whose batch failed). */
VG_NODISCARD vg_rc vg_reqmgr_error_reply(vg_rc rc, const char *why, uint8_t **reply,
					 size_t *reply_len);

#endif
