/* op_mic.c - the microphone's mute switch in the service (AVS 1.15): see
 * include/voxguard/mic.h and ops.h.
 *
 * The watcher (`voxguard mic watch`) reads the switch, drives the
 * indicator and reports every state it sees (mic.report); the service
 * keeps the last one in memory and audits each change as mic.mute or
 * mic.unmute, naming the source. Only root, an admin or a uid in
 * mic_uids may report (anyone else: mic.denied), so that an application
 * cannot make the log or the voice app believe the microphone is muted.
 * Anyone may read the state back (mic.state): the voice app's gate starts
 * from it. A repeated report of the same state is answered and not
 * audited (the watcher repeats itself after a restart of the service).
 *
 * The state is the service's, not stored: after a restart it is unknown
 * until the watcher reports again; the watcher repeats its report every
 * 30 s, and a state not repeated for MIC_EXPIRE_MS (a watcher that died)
 * reads as unknown. A gate treats unknown as muted. The state lives in
 * the service (s->mic), which the event loop's thread owns. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "daemon/ops.h"
#include "voxguard/mic.h"

#define MIC_EXPIRE_MS 90000u

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

static vg_rc report(vg_req *r)
{
	struct vg_mic_seen *mic = &r->s->mic;
	char source[VG_MIC_SOURCE_MAX + 1], what[256];
	uint64_t st = 0;
	bool changed;
	vg_rc rc;

	if (r->peer->uid != 0 && !r->peer->admin &&
	    !vg_cfg_uids_has(&r->s->cfg.mic_uids, r->peer->uid)) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "uid %u may not report the microphone's state (not root, an admin "
			       "or in mic_uids)",
			       r->peer->uid);
		r->why = r->why_buf;
		r->deny_event = "mic.denied";
		return VG_ERR_DENIED;
	}
	rc = vg_msg_uint(&r->msg, VG_A_MIC_STATE, &st);
	if (rc != VG_OK || (st != VG_MIC_STATE_MUTED && st != VG_MIC_STATE_UNMUTED)) {
		r->why = "mic.report: state must be 1 (muted) or 2 (unmuted)";
		return VG_ERR_INVALID;
	}
	rc = vg_req_text(r, VG_A_MIC_SOURCE, source, sizeof source, true);
	if (rc != VG_OK) {
		r->why = "mic.report: source missing or longer than 127 bytes";
		return rc;
	}
	if (!source[0] || !printable(source)) {
		r->why = "mic.report: source must be printable ASCII";
		return VG_ERR_INVALID;
	}
	/* The event loop's thread owns the service's state: no lock. */
	changed = mic->state != (vg_mic_state)st || strcmp(mic->source, source) != 0;
	mic->state = (vg_mic_state)st;
	mic->since = vg_time_now(NULL);
	mic->mono_ms = vg_mono_ms();
	(void)snprintf(mic->source, sizeof mic->source, "%s", source);
	if (changed) {
		(void)snprintf(what, sizeof what, "%s by %s (uid %u)",
			       st == VG_MIC_STATE_MUTED ? "muted" : "unmuted", source,
			       r->peer->uid);
		vg_req_audit(r, st == VG_MIC_STATE_MUTED ? "mic.mute" : "mic.unmute", "success",
			     what);
	}
	return VG_OK;
}

static vg_rc state(vg_req *r)
{
	const struct vg_mic_seen *mic = &r->s->mic;
	vg_mic_state st = VG_MIC_STATE_UNKNOWN;
	uint64_t since = 0;
	char source[VG_MIC_SOURCE_MAX + 1] = "";

	if (mic->state != VG_MIC_STATE_UNKNOWN && vg_mono_ms() - mic->mono_ms <= MIC_EXPIRE_MS) {
		st = mic->state;
		since = mic->since;
		(void)snprintf(source, sizeof source, "%s", mic->source);
	}
	vg_msgb_uint(&r->out, VG_A_MIC_STATE, (uint64_t)st);
	vg_msgb_uint(&r->out, VG_A_MIC_SINCE, since);
	vg_msgb_text(&r->out, VG_A_MIC_SOURCE, source);
	return VG_OK;
}

vg_rc vg_op_mic(vg_req *r)
{
	switch (r->op) {
	case VG_OP_MIC_REPORT:
		return report(r);
	case VG_OP_MIC_STATE:
		return state(r);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}
