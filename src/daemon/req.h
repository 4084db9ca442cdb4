/*
 * req.h - one request as the handlers see it (the request manager,
 * reqmgr.c, builds it; the handlers of ops.h fill its reply).
 *
 * By the time a handler runs, the request manager has checked everything
 * the operation's row in the table declares (ops.h): the caller's role
 * and namespace, the admin session, the recovery state, a valid name.
 * A handler reads its own arguments with the helpers below, which check
 * their exact type and size, writes its reply into r->out, and on failure
 * may point r->why at a one-line reason (static text or r->why_buf).
 */
#ifndef VG_DAEMON_REQ_H
#define VG_DAEMON_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/policy.h"
#include "daemon/service.h"
#include "daemon/workers.h"
#include "proto/wire.h"

struct vg_op_def;
typedef struct vg_req vg_req;

/*
 * CPU-heavy work off the event loop (workers.h). A handler that defers
 * sets r->job and returns VG_OK: job->base.run() then computes on a worker
 * thread from what the job owns (never service state, nor r->msg, which
 * is gone by then), and job->finish(), back on the event loop, completes
 * the request like a handler: it writes r->out and returns the outcome.
 * job->release() wipes and frees the job, in every case, also when the
 * work never ran (finish is then not called; abandon() is, if set).
 */
typedef struct vg_req_job vg_req_job;
struct vg_req_job {
	vg_job base;
	vg_rc (*finish)(vg_req *r, vg_req_job *j);
	void (*abandon)(vg_req *r, vg_req_job *j);
	void (*release)(vg_req_job *j);
};

struct vg_req {
	vg_service *s;
	const vg_peer *peer;
	vg_msg msg;
	vg_op op;
	const struct vg_op_def *def; /* NULL: an operation without a row */
	char name[VG_MAX_NAME_LEN + 1];
	uint32_t owner; /* the namespace addressed; the caller's by default */
	vg_msgb out;
	const char *why; /* detail for an error reply */
	char why_buf[512];
	bool recovery_denied; /* refused because the platform is in recovery */
	bool deferred;        /* a batched put: reply after the group commit */
	bool presence;        /* factory reset by the reset button */
	bool quiet;           /* a success not audited (a later export page) */
	/* A denial the handler names (e.g. "endpoint.denied"): audited under
	 * this type with r->why as its detail instead of "authz.denied". */
	const char *deny_event;
	vg_req_job *job;      /* deferred work (see above), or NULL */
};

/* A required bytes argument of at most max bytes (VG_ERR_TOO_LARGE). */
VG_NODISCARD vg_rc vg_req_bytes(vg_req *r, unsigned key, const uint8_t **p, size_t *len,
				size_t max);
/* A text argument into out (cap bytes); "" when absent and not required. */
VG_NODISCARD vg_rc vg_req_text(vg_req *r, unsigned key, char *out, size_t cap, bool required);
/* An audit record about this request: "<op> <name> owner=<uid>[: what]". */
void vg_req_audit(vg_req *r, const char *type, const char *outcome, const char *what);

#endif
