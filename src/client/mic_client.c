/* mic_client.c - libvoxguard: the microphone's mute switch as the service
 * knows it (AVS 1.15), see include/voxguard/mic.h. The reply is outside
 * bytes too: its state must be one of the three, its source printable. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "common/util.h"
#include "voxguard/mic.h"

VG_EXPORT vg_rc vg_mic_state_get(vg_client *c, vg_mic_state *state, uint64_t *since, char *source,
				 size_t source_cap)
{
	char src[VG_MIC_SOURCE_MAX + 1] = "";
	uint64_t st = 0, t = 0;
	vg_msgb b;
	vg_msg r = {0};
	vg_rc rc;

	if (!c || !state)
		return VG_ERR_INVALID;
	*state = VG_MIC_STATE_UNKNOWN;
	if (since)
		*since = 0;
	if (source && source_cap)
		source[0] = '\0';
	if ((rc = vg_msgb_init(&b)) != VG_OK)
		return rc;
	rc = vg_client_call(c, VG_OP_MIC_STATE, &b, &r);
	if (rc == VG_OK)
		rc = vg_msg_uint(&r, VG_A_MIC_STATE, &st);
	if (rc == VG_OK)
		rc = vg_msg_uint(&r, VG_A_MIC_SINCE, &t);
	if (rc == VG_OK)
		rc = vg_msg_text(&r, VG_A_MIC_SOURCE, src, sizeof src);
	vg_msg_free(&r);
	if (rc != VG_OK)
		return rc;
	for (const char *p = src; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			st = 99;
	if (st > VG_MIC_STATE_UNMUTED) {
		vg_client_set_error(c, "mic.state: the service's reply is malformed");
		return VG_ERR_PROTOCOL;
	}
	*state = (vg_mic_state)st;
	if (since)
		*since = t;
	if (source && source_cap)
		(void)snprintf(source, source_cap, "%s", src);
	return VG_OK;
}

VG_EXPORT vg_rc vg_mic_report(vg_client *c, bool muted, const char *source)
{
	vg_msgb b;
	vg_msg r = {0};
	vg_rc rc;

	if (!c || !source || !source[0] || strlen(source) > VG_MIC_SOURCE_MAX) {
		if (c)
			vg_client_set_error(c, "mic report: a source of 1-127 bytes is required");
		return VG_ERR_INVALID;
	}
	if ((rc = vg_msgb_init(&b)) != VG_OK)
		return rc;
	vg_msgb_uint(&b, VG_A_MIC_STATE, muted ? VG_MIC_STATE_MUTED : VG_MIC_STATE_UNMUTED);
	vg_msgb_text(&b, VG_A_MIC_SOURCE, source);
	rc = vg_client_call(c, VG_OP_MIC_REPORT, &b, &r);
	vg_msg_free(&r);
	return rc;
}
