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
 */
VG_NODISCARD vg_rc vg_reqmgr_handle(vg_service *s, const vg_peer *peer, const uint8_t *payload,
				    size_t len, uint8_t **reply, size_t *reply_len);

#endif
