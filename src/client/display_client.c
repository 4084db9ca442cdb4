/* display_client.c - libvoxguard: one-time display tokens (AVS 1.14), see
 * include/voxguard/display.h. The service checks everything; here only
 * what keeps a bad argument off the wire, and what the service sends back
 * is checked like any outside bytes. */
#include <string.h>

#include "client/client_int.h"
#include "common/util.h"
#include "display/token.h"
#include "voxguard/display.h"

_Static_assert(VG_DISPLAY_TOKEN_LEN == VG_DISPLAY_TOKEN_B64_LEN, "one token length");

VG_EXPORT vg_rc vg_display_token_issue(vg_client *c, const char *origin, char *token_out,
				       size_t cap)
{
	char tok[VG_DISPLAY_TOKEN_B64_LEN + 2] = "";
	uint8_t raw[VG_DISPLAY_TOKEN_BYTES];
	vg_msg r = {0};
	vg_rc rc;

	if (token_out && cap)
		token_out[0] = '\0';
	if (!c || !origin || !token_out)
		return VG_ERR_INVALID;
	if (cap < VG_DISPLAY_TOKEN_B64_LEN + 1)
		return VG_ERR_TOO_LARGE;
	if (strnlen(origin, VG_DISPLAY_ORIGIN_MAX + 1) > VG_DISPLAY_ORIGIN_MAX) {
		vg_client_set_error(c, "origin: longer than 255 bytes");
		return VG_ERR_INVALID;
	}
	rc = vg_client_call_texts(c, VG_OP_DISPLAY_TOKEN_ISSUE,
				  (const struct vg_text_arg[]){{VG_A_ORIGIN, origin}}, 1, &r);
	if (rc == VG_OK) {
		rc = vg_msg_text(&r, VG_A_TOKEN, tok, sizeof tok);
		if (rc != VG_OK || vg_display_token_decode(tok, strlen(tok), raw) != VG_OK) {
			vg_client_set_error(c, "the service sent no valid display token");
			rc = VG_ERR_PROTOCOL;
		} else {
			memcpy(token_out, tok, VG_DISPLAY_TOKEN_B64_LEN + 1);
		}
	}
	vg_wipe(tok, sizeof tok);
	vg_wipe(raw, sizeof raw);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_display_token_redeem(vg_client *c, const char *token, const char *origin)
{
	if (!c || !token || !origin)
		return VG_ERR_INVALID;
	/* Longer than a token's encoding cannot be one: the service would
	 * refuse it as malformed; it need not travel. */
	if (strnlen(token, VG_DISPLAY_TOKEN_B64_LEN + 1) > VG_DISPLAY_TOKEN_B64_LEN ||
	    strnlen(origin, VG_DISPLAY_ORIGIN_MAX + 1) > VG_DISPLAY_ORIGIN_MAX) {
		vg_client_set_error(c, "display token refused: malformed");
		return VG_ERR_INVALID;
	}
	return vg_client_call_texts(
	    c, VG_OP_DISPLAY_TOKEN_REDEEM,
	    (const struct vg_text_arg[]){{VG_A_TOKEN, token}, {VG_A_ORIGIN, origin}}, 2, NULL);
}

VG_EXPORT vg_rc vg_display_report(vg_client *c, const char *reason, const char *origin)
{
	if (!c || !reason || !*reason ||
	    strnlen(reason, VG_DISPLAY_REASON_MAX + 1) > VG_DISPLAY_REASON_MAX ||
	    (origin && strnlen(origin, VG_DISPLAY_ORIGIN_MAX + 1) > VG_DISPLAY_ORIGIN_MAX))
		return VG_ERR_INVALID;
	return vg_client_call_texts(
	    c, VG_OP_DISPLAY_REPORT,
	    (const struct vg_text_arg[]){{VG_A_REASON, reason},
					 {VG_A_ORIGIN, origin && *origin ? origin : NULL}},
	    2, NULL);
}
