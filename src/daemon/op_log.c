/* op_log.c - the audit log's operations (SFR 4.2.9). See ops.h. */
#include "common/util.h"
#include "daemon/ops.h"

vg_rc vg_op_log_export(vg_req *r)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc = vg_audit_export(r->s->audit, &buf, &len);

	if (rc == VG_OK && len > VG_WIRE_MAX_MSG - 1024)
		rc = VG_ERR_TOO_LARGE;
	if (rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_DATA, buf, len);
	vg_free(buf, len);
	return rc;
}

vg_rc vg_op_log_seed(vg_req *r)
{
	uint8_t seed[32];
	vg_rc rc = vg_audit_take_seed(r->s->audit, seed);

	if (rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_DATA, seed, sizeof seed);
	vg_wipe(seed, sizeof seed);
	return rc;
}
