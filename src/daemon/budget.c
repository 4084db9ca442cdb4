/* budget.c - see budget.h */
#include "daemon/budget.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vg_rc vg_budget_table_init(vg_budget_table *t, const vg_config *cfg, uint32_t service_uid,
			   char *err, size_t err_len)
{
	memset(t, 0, sizeof *t);
	t->service_uid = service_uid;
	for (uint32_t i = 0; i < cfg->n_budget && i < VG_CFG_MAX_BUDGET_RULES; i++) {
		const vg_budget_rule *r = &cfg->budget[i];

		t->r[i].scope = r->scope;
		t->r[i].res = r->res;
		t->r[i].value = r->value;
		t->r[i].id = r->uid;
		if (r->scope == VG_BUDGET_SCOPE_GROUP) {
			struct group *g = getgrnam(r->group);
			if (!g) {
				(void)snprintf(err, err_len, "budget group '%s' does not exist",
					       r->group);
				memset(t, 0, sizeof *t);
				return VG_ERR_INVALID;
			}
			t->r[i].id = (uint32_t)g->gr_gid;
		}
		t->n = i + 1;
	}
	return VG_OK;
}

static void set_res(vg_budget *b, unsigned res, uint64_t v)
{
	switch (res) {
	case VG_BUDGET_CONNS:
		b->conns = (uint32_t)v;
		break;
	case VG_BUDGET_INFLIGHT_BYTES:
		b->inflight_bytes = v;
		break;
	case VG_BUDGET_IDLE_MS:
		b->idle_ms = (uint32_t)v;
		break;
	case VG_BUDGET_STORE_RECORDS:
		b->store_records = v;
		break;
	case VG_BUDGET_STORE_BYTES:
		b->store_bytes = v;
		break;
	case VG_BUDGET_KEYS:
		b->keys = (uint32_t)v;
		break;
	case VG_BUDGET_HEAVY_OPS:
		b->heavy_ops = (uint32_t)v;
		break;
	case VG_BUDGET_STORE_RATE:
		b->store_rate = v;
		break;
	case VG_BUDGET_REQUEST_RATE:
		b->request_rate = v;
		break;
	default:
		break;
	}
}

uint64_t vg_budget_get(const vg_budget *b, unsigned res)
{
	switch (res) {
	case VG_BUDGET_CONNS:
		return b->conns;
	case VG_BUDGET_INFLIGHT_BYTES:
		return b->inflight_bytes;
	case VG_BUDGET_IDLE_MS:
		return b->idle_ms;
	case VG_BUDGET_STORE_RECORDS:
		return b->store_records;
	case VG_BUDGET_STORE_BYTES:
		return b->store_bytes;
	case VG_BUDGET_KEYS:
		return b->keys;
	case VG_BUDGET_HEAVY_OPS:
		return b->heavy_ops;
	case VG_BUDGET_STORE_RATE:
		return b->store_rate;
	case VG_BUDGET_REQUEST_RATE:
		return b->request_rate;
	default:
		return 0;
	}
}

static bool in_group(const vg_peer *peer, uint32_t gid)
{
	if (peer->gid == gid)
		return true;
	for (uint32_t i = 0; i < peer->n_groups && i < VG_PEER_MAX_GROUPS; i++)
		if (peer->groups[i] == gid)
			return true;
	return false;
}

void vg_budget_for(const vg_budget_table *t, const vg_peer *peer, vg_budget *out)
{
	bool priv = peer->uid == 0 || (t && peer->uid == t->service_uid);

	if (priv)
		*out = (vg_budget){
		    .conns = VG_BUDGET_PRIV_CONNS,
		    .inflight_bytes = VG_BUDGET_PRIV_INFLIGHT_BYTES,
		    .idle_ms = VG_BUDGET_PRIV_IDLE_MS,
		    .store_records = VG_BUDGET_PRIV_STORE_RECORDS,
		    .store_bytes = VG_BUDGET_PRIV_STORE_BYTES,
		    .keys = VG_BUDGET_PRIV_KEYS,
		    .heavy_ops = VG_BUDGET_PRIV_HEAVY_OPS,
		    .store_rate = VG_BUDGET_PRIV_STORE_RATE,
		    .request_rate = VG_BUDGET_PRIV_REQUEST_RATE,
		};
	else
		*out = (vg_budget){
		    .conns = VG_BUDGET_DEF_CONNS,
		    .inflight_bytes = VG_BUDGET_DEF_INFLIGHT_BYTES,
		    .idle_ms = VG_BUDGET_DEF_IDLE_MS,
		    .store_records = VG_BUDGET_DEF_STORE_RECORDS,
		    .store_bytes = VG_BUDGET_DEF_STORE_BYTES,
		    .keys = VG_BUDGET_DEF_KEYS,
		    .heavy_ops = VG_BUDGET_DEF_HEAVY_OPS,
		    .store_rate = VG_BUDGET_DEF_STORE_RATE,
		    .request_rate = VG_BUDGET_DEF_REQUEST_RATE,
		};
	if (!t)
		return;
	for (unsigned res = 0; res < VG_BUDGET_N_RES; res++) {
		/* Best match so far: its scope (-1: none) and value. */
		int best = -1;
		uint64_t v = 0;

		for (uint32_t i = 0; i < t->n; i++) {
			int sc = t->r[i].scope;

			if (t->r[i].res != res || sc < best)
				continue;
			if (sc == VG_BUDGET_SCOPE_UID && t->r[i].id != peer->uid)
				continue;
			/* Group and default rules are for applications, not
			 * for root or the service itself. */
			if (sc != VG_BUDGET_SCOPE_UID && priv)
				continue;
			if (sc == VG_BUDGET_SCOPE_GROUP && !in_group(peer, t->r[i].id))
				continue;
			/* Of several matching groups, the most generous. */
			if (sc == best && t->r[i].value <= v)
				continue;
			best = sc;
			v = t->r[i].value;
		}
		if (best >= 0)
			set_res(out, res, v);
	}
}

/* ---- rate budgets ---- */

static int64_t burst_milli(uint64_t rate)
{
	return (int64_t)(rate * VG_BUDGET_RATE_BURST_S * 1000u);
}

/* Whether a slot may be handed to a new uid at now: free, or its bucket
 * refilled full. */
static bool slot_free(vg_rate_slot *b, uint64_t now)
{
	if (!b->used)
		return true;
	vg_tbucket_refill(&b->tb, now, b->rate, burst_milli(b->rate));
	return b->tb.milli >= burst_milli(b->rate);
}

/* A slot for a uid that has none: a free or full one, else a new one,
 * else (VG_BUDGET_RATE_MAX_UIDS uids short of a full bucket, or no
 * memory) the shared one. */
static vg_rate_slot *new_slot(vg_rate_table *t)
{
	size_t old = t->n, n = old ? old * 2 : 16;
	vg_rate_slot *nb;

	if (old >= VG_BUDGET_RATE_MAX_UIDS)
		return NULL;
	if (n > VG_BUDGET_RATE_MAX_UIDS)
		n = VG_BUDGET_RATE_MAX_UIDS;
	nb = realloc(t->b, n * sizeof *nb);
	if (!nb)
		return NULL;
	memset(nb + old, 0, (n - old) * sizeof *nb);
	t->b = nb;
	t->n = n;
	return &nb[old];
}

/* uid's bucket, refilled to now: its own, a free or full one given to it,
 * or the shared last one. */
static vg_tbucket *rate_bucket(vg_rate_table *t, uint32_t uid, uint64_t rate, uint64_t now)
{
	vg_rate_slot *b = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (t->b[i].used && t->b[i].uid == uid) {
			b = &t->b[i];
			goto found;
		}
	for (size_t i = 0; i < t->n && !b; i++)
		if (slot_free(&t->b[i], now))
			b = &t->b[i];
	if (!b)
		b = new_slot(t);
	if (b) {
		*b = (vg_rate_slot){
		    .used = true, .uid = uid, .tb = {.milli = burst_milli(rate), .last_ms = now}};
	} else {
		b = &t->shared;
		if (!b->used)
			*b = (vg_rate_slot){.used = true,
					    .tb = {.milli = burst_milli(rate), .last_ms = now}};
	}
found:
	/* Refilled at the rate it ran at until now, from now at the owner's
	 * (a new owner's slot was just filled). */
	if (b->rate)
		vg_tbucket_refill(&b->tb, now, b->rate, burst_milli(b->rate));
	b->rate = rate;
	return &b->tb;
}

void vg_budget_rate_free(vg_rate_table *t)
{
	if (!t)
		return;
	free(t->b);
	memset(t, 0, sizeof *t);
}

vg_rc vg_budget_rate_check(vg_rate_table *t, uint32_t uid, uint64_t rate, uint64_t now_ms,
			   uint64_t *retry_ms)
{
	vg_tbucket *b;

	*retry_ms = 0;
	if (rate == 0)
		rate = 1;
	b = rate_bucket(t, uid, rate, now_ms);
	if (b->milli > 0)
		return VG_OK;
	*retry_ms = (uint64_t)(-b->milli) / rate + 1;
	return VG_ERR_QUOTA;
}

void vg_budget_rate_charge(vg_rate_table *t, uint32_t uid, uint64_t rate, uint64_t bytes,
			   uint64_t now_ms)
{
	vg_tbucket *b;

	if (rate == 0)
		rate = 1;
	b = rate_bucket(t, uid, rate, now_ms);
	/* bytes <= VG_MAX_VALUE_LEN + overhead in practice; the cap keeps
	 * the debt finite whatever the caller passes. */
	if (bytes > (uint64_t)INT64_MAX / 4000u)
		bytes = (uint64_t)INT64_MAX / 4000u;
	if (b->milli > INT64_MIN / 2)
		b->milli -= (int64_t)(bytes * 1000u);
}

vg_rc vg_budget_report(const vg_budget_table *t, const vg_budget_meter *m, const vg_peer *caller,
		       uint32_t uid, vg_budget *limit, vg_budget_use *use)
{
	bool have_limit = false;

	memset(use, 0, sizeof *use);
	if (uid != caller->uid && !caller->admin)
		return VG_ERR_DENIED;
	if (m && m->fn)
		have_limit = m->fn(m->ctx, uid, use, uid == caller->uid ? NULL : limit);
	if (uid == caller->uid) {
		vg_budget_for(t, caller, limit);
	} else if (!have_limit) {
		vg_peer p;
		/* No connection of uid: its groups are unknown, so only uid
		 * rules and defaults apply (the gid can match no rule). */
		memset(&p, 0, sizeof p);
		p.uid = uid;
		p.gid = UINT32_MAX;
		vg_budget_for(t, &p, limit);
	}
	return VG_OK;
}

void vg_budget_encode(vg_msgb *b, uint32_t uid, const vg_budget *limit, const vg_budget_use *use)
{
	vg_msgb_uint(b, VG_A_BUDGET_UID, uid);
	vg_msgb_uint(b, VG_A_BUDGET_CONNS, limit->conns);
	vg_msgb_uint(b, VG_A_BUDGET_INFLIGHT_BYTES, limit->inflight_bytes);
	vg_msgb_uint(b, VG_A_BUDGET_IDLE_MS, limit->idle_ms);
	vg_msgb_uint(b, VG_A_BUDGET_STORE_RECORDS, limit->store_records);
	vg_msgb_uint(b, VG_A_BUDGET_STORE_BYTES, limit->store_bytes);
	vg_msgb_uint(b, VG_A_BUDGET_KEYS, limit->keys);
	vg_msgb_uint(b, VG_A_BUDGET_HEAVY_OPS, limit->heavy_ops);
	vg_msgb_uint(b, VG_A_BUDGET_STORE_RATE, limit->store_rate);
	vg_msgb_uint(b, VG_A_BUDGET_REQUEST_RATE, limit->request_rate);
	vg_msgb_uint(b, VG_A_BUDGET_USE_CONNS, use->conns);
	vg_msgb_uint(b, VG_A_BUDGET_USE_INFLIGHT, use->inflight_bytes);
	vg_msgb_uint(b, VG_A_BUDGET_USE_REFUSED, use->refused);
}
