/* op_store.c - secure storage's operations (SFR 4.2.4). See ops.h. */
#include <stdio.h>

#include "common/util.h"
#include "daemon/ops.h"

vg_rc vg_op_store(vg_req *r)
{
	char ns[24];
	const uint8_t *val = NULL;
	uint8_t *out = NULL;
	size_t len = 0, out_len = 0;
	vg_rc rc;

	(void)snprintf(ns, sizeof ns, "u/%u", r->owner);
	switch (r->op) {
	case VG_OP_STORE_PUT:
		rc = vg_req_bytes(r, VG_A_VALUE, &val, &len, VG_MAX_VALUE_LEN);
		if (rc == VG_OK)
			rc = vg_secstore_put_batched(r->s->store, ns, r->name, val, len);
		r->deferred = rc == VG_OK;
		return rc;
	case VG_OP_STORE_GET:
		rc = vg_secstore_get(r->s->store, ns, r->name, &out, &out_len);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_VALUE, out, out_len);
		vg_free(out, out_len);
		return rc;
	case VG_OP_STORE_DELETE:
		return vg_secstore_delete(r->s->store, ns, r->name);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}
