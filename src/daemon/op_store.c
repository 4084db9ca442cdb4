/* op_store.c - secure storage's operations (SFR 4.2.4). See ops.h. */
#include <stdio.h>

#include "common/util.h"
#include "daemon/budget.h"
#include "daemon/ops.h"

/* Which bound a refused put met: the caller's budget, or the device's
 * storage (the reserve of storage/reserve.h). */
static void quota_why(vg_req *r, const char *ns, const vg_store_quota *q)
{
	uint64_t records = 0, bytes = 0;

	if (vg_secstore_usage(r->s->store, ns, &records, &bytes) == VG_OK &&
	    (records >= q->max_records || bytes >= q->max_bytes / 2 ||
	     bytes + VG_MAX_VALUE_LEN > q->max_bytes))
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "quota exceeded: uid %u stores %llu records, %llu bytes "
			       "(limits %llu records, %llu bytes)",
			       r->owner, (unsigned long long)records, (unsigned long long)bytes,
			       (unsigned long long)q->max_records,
			       (unsigned long long)q->max_bytes);
	else
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "quota exceeded: the device's storage is nearly full (uid %u stores "
			       "%llu records, %llu bytes)",
			       r->owner, (unsigned long long)records, (unsigned long long)bytes);
	r->why = r->why_buf;
}

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
		if (rc == VG_OK) {
			/* The caller's budget (SFR 4.2.10): records, bytes and
			 * the write rate. */
			vg_budget b;
			vg_store_quota q;
			uint64_t now = vg_mono_ms(), retry = 0;
			vg_budget_for(&r->s->budgets, r->peer, &b);
			q.max_records = b.store_records;
			q.max_bytes = b.store_bytes;
			rc = vg_budget_rate_check(&r->s->write_rate, r->peer->uid, b.store_rate, now,
						  &retry);
			if (rc == VG_ERR_QUOTA) {
				(void)snprintf(r->why_buf, sizeof r->why_buf,
					       "quota exceeded: uid %u writes more than %llu bytes/s "
					       "to storage (retry in %llu ms)",
					       r->peer->uid, (unsigned long long)b.store_rate,
					       (unsigned long long)retry);
				r->why = r->why_buf;
				return rc;
			}
			rc = vg_secstore_put_batched_quota(r->s->store, ns, r->name, val, len, &q);
			if (rc == VG_OK)
				vg_budget_rate_charge(&r->s->write_rate, r->peer->uid, b.store_rate,
						      len + VG_BUDGET_PUT_OVERHEAD, now);
			else if (rc == VG_ERR_QUOTA)
				quota_why(r, ns, &q);
		}
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
