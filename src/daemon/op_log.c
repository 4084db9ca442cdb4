/* op_log.c - the audit log's operations (SFR 4.2.9). See ops.h. */
#include "common/util.h"
#include "daemon/ops.h"

/* The export in pages of at most one IPC frame (audit.h: FROM 0 starts
 * one and signs its checkpoint; NEXT and MORE say where the next page
 * starts), so a log of any size exports whole. Only the first page is
 * audited: the export is one event. */
vg_rc vg_op_log_export(vg_req *r)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t from = 0, next = 0;
	bool more = false;
	vg_rc rc = vg_msg_uint(&r->msg, VG_A_FROM, &from);

	if (rc == VG_ERR_NOT_FOUND)
		from = 0;
	else if (rc != VG_OK)
		return VG_ERR_INVALID;
	r->quiet = from != 0;
	rc = vg_audit_export_page(r->s->audit, from, VG_WIRE_MAX_MSG - 4096, &buf, &len, &next,
				  &more);
	if (rc == VG_OK) {
		vg_msgb_bytes(&r->out, VG_A_DATA, buf, len);
		vg_msgb_uint(&r->out, VG_A_NEXT, next);
		vg_msgb_uint(&r->out, VG_A_MORE, more ? 1 : 0);
	}
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
