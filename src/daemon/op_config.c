/* op_config.c - sealed configuration for applications (AVS Device SDK
 * rule 1; SFR 4.2.4 note 1): see include/voxguard/config.h and ops.h.
 *
 * One namespace, "cfg", owned here: the record of configuration NAME for
 * uid U is named "U.NAME" (a name never starts with '.', so the split is
 * unambiguous). Its key is bound to the erase secret like every user
 * record (a factory reset erases it), and it is sealed away while debug
 * is unlocked (storage/secstore.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/util.h"
#include "daemon/ops.h"
#include "voxguard/config.h"

#define CFG_NS "cfg"
_Static_assert(VG_CONFIG_NAME_MAX == 64, "record_name() and the audit detail bound names at 64");

static vg_rc check_name(vg_req *r)
{
	if (strlen(r->name) > VG_CONFIG_NAME_MAX) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "a configuration name has at most %u characters",
			       VG_CONFIG_NAME_MAX);
		r->why = r->why_buf;
		return VG_ERR_INVALID;
	}
	return VG_OK;
}

static void record_name(char out[static VG_MAX_NAME_LEN + 1], uint32_t uid, const char *name)
{
	/* name: at most VG_CONFIG_NAME_MAX (check_name), so it fits. */
	(void)snprintf(out, VG_MAX_NAME_LEN + 1, "%u.%.64s", uid, name);
}

/* "U.NAME" -> U and NAME; false for a record not ours to show. */
static bool split(const char *rec, uint32_t *uid, const char **name)
{
	unsigned long long v = 0;
	const char *p = rec;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > UINT32_MAX)
			return false;
	}
	if (*p != '.' || !p[1] || p[1] == '.')
		return false;
	*uid = (uint32_t)v;
	*name = p + 1;
	return true;
}

static vg_rc cfg_seal(vg_req *r)
{
	const vg_store_quota q = {.max_records = VG_CONFIG_MAX_COUNT,
				  .max_bytes = VG_CONFIG_MAX_TOTAL};
	char rec[VG_MAX_NAME_LEN + 1], detail[160];
	uint8_t md[32];
	const uint8_t *p;
	size_t len;
	vg_rc rc = vg_req_bytes(r, VG_A_VALUE, &p, &len, VG_CONFIG_MAX_LEN);

	if (rc == VG_ERR_TOO_LARGE) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "a configuration holds at most %u bytes", VG_CONFIG_MAX_LEN);
		r->why = r->why_buf;
	}
	if (rc != VG_OK)
		return rc;
	if (len == 0) {
		r->why = "an empty configuration";
		return VG_ERR_INVALID;
	}
	if (r->owner == UINT32_MAX) {
		r->why = "uid 4294967295 is no application's";
		return VG_ERR_INVALID;
	}
	record_name(rec, r->owner, r->name);
	rc = vg_secstore_put_quota(r->s->store, CFG_NS, rec, p, len, &q);
	if (rc == VG_ERR_QUOTA) {
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "the device holds at most %u configurations, %u MiB in all",
			       VG_CONFIG_MAX_COUNT, VG_CONFIG_MAX_TOTAL / (1024u * 1024u));
		r->why = r->why_buf;
		return rc;
	}
	if (rc == VG_OK && EVP_Digest(p, len, md, NULL, EVP_sha256(), NULL) == 1) {
		/* Which content, in the record the row's audit writes too:
		 * a change can be told from a reinstall of the same file. */
		char hex[17];
		vg_hex_encode(md, 8, hex);
		(void)snprintf(detail, sizeof detail, "%.64s for uid %u: %zu bytes, sha256 %s...",
			       r->name, r->owner, len, hex);
		vg_service_audit(r->s, r->peer, "config.content", "success", detail);
	}
	return rc;
}

static vg_rc cfg_get(vg_req *r)
{
	char rec[VG_MAX_NAME_LEN + 1];
	uint8_t *out = NULL;
	size_t out_len = 0;
	vg_rc rc;

	record_name(rec, r->peer->uid, r->name);
	rc = vg_secstore_get(r->s->store, CFG_NS, rec, &out, &out_len);
	if (rc == VG_ERR_NOT_FOUND) {
		/* Another uid's configuration and none at all look the same. */
		(void)snprintf(r->why_buf, sizeof r->why_buf,
			       "no configuration '%s' is sealed for uid %u", r->name, r->peer->uid);
		r->why = r->why_buf;
		r->deny_event = "config.denied";
		return VG_ERR_DENIED;
	}
	if (rc == VG_OK)
		vg_msgb_bytes(&r->out, VG_A_VALUE, out, out_len);
	vg_free(out, out_len);
	return rc;
}

struct list_ctx {
	vg_req *r;
	cbor_item_t *items[VG_CONFIG_MAX_COUNT];
	size_t n;
	vg_rc rc;
};

static int list_cb(void *ctx, const char *rec)
{
	struct list_ctx *l = ctx;
	uint8_t *val = NULL, md[32];
	size_t len = 0;
	const char *name;
	uint32_t uid;
	cbor_item_t *m = NULL;
	vg_rc rc;

	if (!split(rec, &uid, &name) || (!l->r->peer->admin && uid != l->r->peer->uid))
		return 0;
	if (l->n >= VG_CONFIG_MAX_COUNT)
		return 1;
	rc = vg_secstore_get(l->r->s->store, CFG_NS, rec, &val, &len);
	if (rc == VG_ERR_NOT_FOUND)
		return 0;
	if (rc == VG_OK && EVP_Digest(val, len, md, NULL, EVP_sha256(), NULL) != 1)
		rc = VG_ERR_CRYPTO;
	vg_free(val, len);
	if (rc == VG_OK && !(m = cbor_new_definite_map(4)))
		rc = VG_ERR_NOMEM;
	if (rc == VG_OK) {
		struct cbor_pair pr[4] = {
		    {cbor_build_uint8(VG_A_NAME), cbor_build_string(name)},
		    {cbor_build_uint8(VG_A_OWNER), cbor_build_uint32(uid)},
		    {cbor_build_uint8(VG_A_SIZE), cbor_build_uint64(len)},
		    {cbor_build_uint8(VG_A_SHA256), cbor_build_bytestring(md, sizeof md)},
		};
		for (size_t i = 0; i < 4; i++) {
			if (rc == VG_OK && (!pr[i].key || !pr[i].value || !cbor_map_add(m, pr[i])))
				rc = VG_ERR_NOMEM;
			if (pr[i].key)
				cbor_decref(&pr[i].key);
			if (pr[i].value)
				cbor_decref(&pr[i].value);
		}
	}
	if (rc == VG_OK)
		l->items[l->n++] = m; /* the reference moves */
	else if (m)
		cbor_decref(&m);
	l->rc = rc;
	return rc != VG_OK;
}

static vg_rc cfg_list(vg_req *r)
{
	struct list_ctx l = {.r = r, .rc = VG_OK};
	cbor_item_t *arr = NULL;
	vg_rc rc = vg_secstore_list(r->s->store, CFG_NS, list_cb, &l);

	if (rc == VG_OK)
		rc = l.rc;
	if (rc == VG_OK && !(arr = cbor_new_definite_array(l.n)))
		rc = VG_ERR_NOMEM;
	for (size_t i = 0; i < l.n; i++) {
		if (rc == VG_OK && !cbor_array_push(arr, l.items[i]))
			rc = VG_ERR_NOMEM;
		cbor_decref(&l.items[i]);
	}
	if (rc != VG_OK) {
		if (arr)
			cbor_decref(&arr);
		return rc;
	}
	vg_msgb_item(&r->out, VG_A_LIST, arr);
	return VG_OK;
}

vg_rc vg_op_config(vg_req *r)
{
	char rec[VG_MAX_NAME_LEN + 1];
	vg_rc rc;

	if (r->op != VG_OP_CONFIG_LIST && (rc = check_name(r)) != VG_OK)
		return rc;
	switch (r->op) {
	case VG_OP_CONFIG_SEAL:
		return cfg_seal(r);
	case VG_OP_CONFIG_REMOVE:
		record_name(rec, r->owner, r->name);
		rc = vg_secstore_delete(r->s->store, CFG_NS, rec);
		if (rc == VG_ERR_NOT_FOUND) {
			(void)snprintf(r->why_buf, sizeof r->why_buf,
				       "no configuration '%s' is sealed for uid %u", r->name,
				       r->owner);
			r->why = r->why_buf;
		}
		return rc;
	case VG_OP_CONFIG_GET:
		return cfg_get(r);
	case VG_OP_CONFIG_LIST:
		return cfg_list(r);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}
