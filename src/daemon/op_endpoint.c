/* op_endpoint.c - secure communication's endpoint list in the service
 * (SFR 4.2.7, 4.2.8; AVS 1.3): see op_endpoint.h and ops.h. */
#include "daemon/op_endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "daemon/ops.h"
#include "tls/endpoint.h"

#define EP_NS "ep"

/* ---- tls.connected: once a minute per (uid, endpoint) ---- */

struct seen {
	uint32_t uid;
	char name[VG_MAX_NAME_LEN + 1];
	uint64_t recorded_ms; /* the last one recorded */
	uint64_t last_ms;     /* the last report */
	uint64_t counted;     /* reports since recorded_ms, not recorded */
};

struct vg_ep_seen {
	size_t n;
	struct seen e[VG_EP_SEEN_MAX];
};

bool vg_ep_seen_pass(vg_ep_seen **t, uint32_t uid, const char *name, uint64_t now_ms,
		     uint64_t *suppressed)
{
	struct seen *s = NULL;

	*suppressed = 0;
	if (!*t && !(*t = calloc(1, sizeof **t)))
		return true; /* no memory to count in: record */
	for (size_t i = 0; i < (*t)->n && !s; i++)
		if ((*t)->e[i].uid == uid && strcmp((*t)->e[i].name, name) == 0)
			s = &(*t)->e[i];
	if (s && now_ms - s->recorded_ms < VG_EP_CONNECTED_EVERY_MS) {
		s->counted++;
		s->last_ms = now_ms;
		return false;
	}
	if (!s) {
		if ((*t)->n < VG_EP_SEEN_MAX) {
			s = &(*t)->e[(*t)->n++];
		} else {
			/* Forget the pair heard from longest ago. */
			s = &(*t)->e[0];
			for (size_t i = 1; i < (*t)->n; i++)
				if ((*t)->e[i].last_ms < s->last_ms)
					s = &(*t)->e[i];
		}
		memset(s, 0, sizeof *s);
		s->uid = uid;
		(void)snprintf(s->name, sizeof s->name, "%s", name);
	}
	*suppressed = s->counted;
	s->counted = 0;
	s->recorded_ms = now_ms;
	s->last_ms = now_ms;
	return true;
}

void vg_ep_seen_free(vg_ep_seen **t)
{
	if (!t)
		return;
	free(*t);
	*t = NULL;
}

/* ---- the list ---- */

/* The stored policy of r->name: its bytes and parsed form. */
static vg_rc load(vg_req *r, const char *name, uint8_t **raw, size_t *raw_len, vg_endpoint *ep)
{
	char why[200];
	vg_rc rc = vg_secstore_get(r->s->store, EP_NS, name, raw, raw_len);

	memset(ep, 0, sizeof *ep);
	if (rc != VG_OK)
		return rc;
	rc = vg_endpoint_from_stored(*raw, *raw_len, ep, why, sizeof why);
	if (rc != VG_OK) {
		/* Sealed and authenticated, so written by us: a record we
		 * cannot read any more (another version) is not served. */
		char detail[256];
		(void)snprintf(detail, sizeof detail, "%s: %s", name, why);
		vg_service_audit(r->s, &r->s->self, "endpoint.unreadable", "failure", detail);
		vg_free(*raw, *raw_len);
		*raw = NULL;
		*raw_len = 0;
		return VG_ERR_INTEGRITY;
	}
	return VG_OK;
}

/* May the caller use this endpoint? Refusals are endpoint.denied events
 * (SFR 4.2.8: an endpoint not on the list, another uid's endpoint); an
 * unknown endpoint and one not listed for the caller look the same. */
static vg_rc load_for_caller(vg_req *r, uint8_t **raw, size_t *raw_len, vg_endpoint *ep)
{
	vg_rc rc = load(r, r->name, raw, raw_len, ep);

	if (r->peer->admin)
		return rc;
	if (rc == VG_OK && vg_endpoint_lists_uid(ep, r->peer->uid))
		return VG_OK;
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
		return rc;
	vg_free(*raw, *raw_len);
	*raw = NULL;
	*raw_len = 0;
	vg_endpoint_clear(ep);
	(void)snprintf(r->why_buf, sizeof r->why_buf, "no endpoint '%s' is listed for uid %u",
		       r->name, r->peer->uid);
	r->why = r->why_buf;
	r->deny_event = "endpoint.denied";
	return VG_ERR_DENIED;
}

static vg_rc ep_add(vg_req *r)
{
	const vg_store_quota q = {.max_records = VG_EP_MAX_COUNT, .max_bytes = VG_EP_MAX_STORED};
	const uint8_t *p;
	size_t len, out_len = 0;
	char *out = NULL;
	vg_endpoint ep;
	vg_rc rc = vg_req_bytes(r, VG_A_ENDPOINT, &p, &len, VG_EP_MAX_JSON);

	if (rc == VG_ERR_TOO_LARGE) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "endpoint policy larger than %u bytes", VG_EP_MAX_JSON);
		r->why = r->why_buf;
	}
	if (rc != VG_OK)
		return rc;
	rc = vg_endpoint_from_json(p, len, &ep, r->why_buf, sizeof r->why_buf);
	if (rc != VG_OK) {
		r->why = r->why_buf;
		return rc;
	}
	if (strcmp(ep.name, r->name) != 0) {
		r->why = "the policy's name is not the request's";
		rc = VG_ERR_INVALID;
	}
	/* What is stored is the canonical encoding, whatever was sent. */
	if (rc == VG_OK)
		rc = vg_endpoint_to_json(&ep, &out, &out_len, r->why_buf, sizeof r->why_buf);
	vg_endpoint_clear(&ep);
	if (rc == VG_OK) {
		rc = vg_secstore_put_quota(r->s->store, EP_NS, r->name, (const uint8_t *)out,
					   out_len, &q);
		if (rc == VG_ERR_QUOTA) {
			(void)snprintf(r->why_buf, sizeof r->why_buf,
				       "the endpoint list is full (at most %u endpoints, %u KiB)",
				       VG_EP_MAX_COUNT, VG_EP_MAX_STORED / 1024u);
			r->why = r->why_buf;
		}
	} else if (!r->why) {
		r->why = r->why_buf;
	}
	free(out);
	return rc;
}

struct names {
	char (*v)[VG_MAX_NAME_LEN + 1];
	size_t n, cap;
};

static int name_cb(void *ctx, const char *name)
{
	struct names *l = ctx;

	if (l->n >= l->cap)
		return 1; /* more than the quota allows: the first ones */
	(void)snprintf(l->v[l->n++], sizeof l->v[0], "%s", name);
	return 0;
}

static vg_rc ep_list(vg_req *r)
{
	struct names l = {.cap = VG_EP_MAX_COUNT};
	uint8_t *raw[VG_EP_MAX_COUNT];
	size_t raw_len[VG_EP_MAX_COUNT], k = 0;
	cbor_item_t *arr = NULL;
	vg_rc rc;

	l.v = calloc(l.cap, sizeof *l.v);
	if (!l.v)
		return VG_ERR_NOMEM;
	rc = vg_secstore_list(r->s->store, EP_NS, name_cb, &l);
	for (size_t i = 0; rc == VG_OK && i < l.n; i++) {
		vg_endpoint ep;
		uint8_t *p = NULL;
		size_t n = 0;
		vg_rc e = load(r, l.v[i], &p, &n, &ep);
		if (e == VG_ERR_NOT_FOUND || e == VG_ERR_INTEGRITY)
			continue; /* gone meanwhile, or unreadable (audited) */
		if (e != VG_OK) {
			rc = e;
			break;
		}
		if (r->peer->admin || vg_endpoint_lists_uid(&ep, r->peer->uid)) {
			raw[k] = p;
			raw_len[k++] = n;
		} else {
			vg_free(p, n);
		}
		vg_endpoint_clear(&ep);
	}
	if (rc == VG_OK && !(arr = cbor_new_definite_array(k)))
		rc = VG_ERR_NOMEM;
	for (size_t i = 0; i < k; i++) {
		if (rc == VG_OK) {
			cbor_item_t *it = cbor_build_bytestring(raw[i], raw_len[i]);
			if (!it || !cbor_array_push(arr, it))
				rc = VG_ERR_NOMEM;
			if (it)
				cbor_decref(&it);
		}
		vg_free(raw[i], raw_len[i]);
	}
	free(l.v);
	if (rc != VG_OK) {
		if (arr)
			cbor_decref(&arr);
		return rc;
	}
	vg_msgb_item(&r->out, VG_A_LIST, arr);
	return VG_OK;
}

/* Report text: bounded, printable ASCII (it goes into the audit log). */
static vg_rc report_text(vg_req *r, unsigned key, char *out, size_t cap, bool required)
{
	vg_rc rc = vg_req_text(r, key, out, cap, required);

	if (rc != VG_OK)
		return rc;
	for (size_t i = 0; out[i]; i++)
		if (out[i] < 0x20 || out[i] >= 0x7f) {
			r->why = "peer and reason must be printable ASCII";
			return VG_ERR_INVALID;
		}
	return VG_OK;
}

static vg_rc ep_report(vg_req *r)
{
	char peer[VG_EP_MAX_PEER + 1], reason[VG_EP_MAX_REASON + 1], detail[256];
	uint64_t ok = 0, counted = 0;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	vg_endpoint ep;
	vg_rc rc = vg_msg_uint(&r->msg, VG_A_OK, &ok);

	if (rc == VG_ERR_NOT_FOUND || (rc == VG_OK && ok > 1)) {
		r->why = "ok: 0 (refused) or 1 (accepted)";
		return VG_ERR_INVALID;
	}
	if (rc == VG_OK)
		rc = report_text(r, VG_A_PEER, peer, sizeof peer, false);
	if (rc == VG_OK)
		rc = report_text(r, VG_A_REASON, reason, sizeof reason, ok == 0);
	if (rc != VG_OK)
		return rc;
	rc = load_for_caller(r, &raw, &raw_len, &ep);
	vg_free(raw, raw_len);
	vg_endpoint_clear(&ep);
	if (rc != VG_OK)
		return rc;
	if (ok == 0) {
		(void)snprintf(detail, sizeof detail, "%.64s peer=%.80s: %.100s", r->name,
			       peer[0] ? peer : "-", reason);
		vg_service_audit(r->s, r->peer, "tls.refused", "failure", detail);
	} else if (vg_ep_seen_pass(&r->s->ep_seen, r->peer->uid, r->name, vg_mono_ms(), &counted)) {
		int n = snprintf(detail, sizeof detail, "%.64s peer=%.80s", r->name,
				 peer[0] ? peer : "-");
		if (counted && n > 0 && (size_t)n < sizeof detail)
			(void)snprintf(detail + n, sizeof detail - (size_t)n,
				       " (%llu more since the last record)",
				       (unsigned long long)counted);
		vg_service_audit(r->s, r->peer, "tls.connected", "success", detail);
	}
	return VG_OK;
}

vg_rc vg_op_endpoint(vg_req *r)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	vg_endpoint ep;
	vg_rc rc;

	switch (r->op) {
	case VG_OP_ENDPOINT_ADD:
		return ep_add(r);
	case VG_OP_ENDPOINT_REMOVE:
		return vg_secstore_delete(r->s->store, EP_NS, r->name);
	case VG_OP_ENDPOINT_LIST:
		return ep_list(r);
	case VG_OP_ENDPOINT_GET:
		rc = load_for_caller(r, &raw, &raw_len, &ep);
		if (rc == VG_OK)
			vg_msgb_bytes(&r->out, VG_A_ENDPOINT, raw, raw_len);
		vg_free(raw, raw_len);
		vg_endpoint_clear(&ep);
		return rc;
	case VG_OP_ENDPOINT_REPORT:
		return ep_report(r);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}
