/* endpoint_client.c - libvoxguard: the endpoint list (SFR 4.2.8), see
 * include/voxguard/tls.h. The policy travels as tls/endpoint.h's JSON and
 * is parsed here as strictly as in the service: what the service sends is
 * outside bytes too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "common/util.h"
#include "tls/endpoint.h"

static vg_rc named(vg_client *c, vg_msgb *b, const char *name)
{
	vg_rc rc;

	if (!name || !vg_name_valid(name, strnlen(name, VG_MAX_NAME_LEN + 1))) {
		vg_client_set_error(c, "endpoint name: 1-128 of [A-Za-z0-9._-], not starting "
				       "with '.'");
		return VG_ERR_INVALID;
	}
	rc = vg_msgb_init(b);
	if (rc == VG_OK)
		vg_msgb_text(b, VG_A_NAME, name);
	return rc;
}

VG_EXPORT vg_rc vg_endpoint_add(vg_client *c, const vg_endpoint *ep)
{
	char why[256] = "", *json = NULL;
	size_t len = 0;
	vg_msgb b;
	vg_msg r;
	vg_rc rc = vg_endpoint_to_json(ep, &json, &len, why, sizeof why);

	if (rc != VG_OK) {
		vg_client_set_error(c, "%s", why[0] ? why : vg_rc_str(rc));
		return rc;
	}
	rc = named(c, &b, ep->name);
	if (rc == VG_OK) {
		vg_msgb_bytes(&b, VG_A_ENDPOINT, (const uint8_t *)json, len);
		rc = vg_client_call(c, VG_OP_ENDPOINT_ADD, &b, &r);
		vg_msg_free(&r);
	}
	free(json);
	return rc;
}

VG_EXPORT vg_rc vg_endpoint_remove(vg_client *c, const char *name)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(c, &b, name);

	if (rc != VG_OK)
		return rc;
	rc = vg_client_call(c, VG_OP_ENDPOINT_REMOVE, &b, &r);
	vg_msg_free(&r);
	return rc;
}

static vg_rc parse(vg_client *c, const uint8_t *p, size_t len, vg_endpoint *ep)
{
	char why[200] = "";
	vg_rc rc = vg_endpoint_from_stored(p, len, ep, why, sizeof why);

	if (rc != VG_OK) {
		vg_client_set_error(c, "the service sent a malformed endpoint policy: %s", why);
		return VG_ERR_PROTOCOL;
	}
	return VG_OK;
}

VG_EXPORT vg_rc vg_endpoint_list(vg_client *c, vg_endpoint **out, size_t *n)
{
	cbor_item_t *list, **items;
	vg_endpoint *arr;
	size_t count;
	vg_msgb b;
	vg_msg r;
	vg_rc rc = vg_msgb_init(&b);

	*out = NULL;
	*n = 0;
	if (rc != VG_OK)
		return rc;
	rc = vg_client_call(c, VG_OP_ENDPOINT_LIST, &b, &r);
	if (rc != VG_OK) {
		vg_msg_free(&r);
		return rc;
	}
	if (vg_msg_item(&r, VG_A_LIST, &list) != VG_OK || !cbor_isa_array(list) ||
	    (count = cbor_array_size(list)) > VG_EP_MAX_COUNT) {
		vg_msg_free(&r);
		return VG_ERR_PROTOCOL;
	}
	items = cbor_array_handle(list);
	arr = calloc(count ? count : 1, sizeof *arr);
	if (!arr) {
		vg_msg_free(&r);
		return VG_ERR_NOMEM;
	}
	for (size_t i = 0; i < count && rc == VG_OK; i++) {
		if (!cbor_isa_bytestring(items[i]) || !cbor_bytestring_is_definite(items[i]))
			rc = VG_ERR_PROTOCOL;
		else
			rc = parse(c, cbor_bytestring_handle(items[i]),
				   cbor_bytestring_length(items[i]), &arr[i]);
	}
	vg_msg_free(&r);
	if (rc != VG_OK) {
		vg_endpoint_list_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return VG_OK;
}

VG_EXPORT vg_rc vg_endpoint_get(vg_client *c, const char *name, vg_endpoint **out)
{
	const uint8_t *p;
	size_t len;
	vg_endpoint *ep;
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(c, &b, name);

	*out = NULL;
	if (rc != VG_OK)
		return rc;
	rc = vg_client_call(c, VG_OP_ENDPOINT_GET, &b, &r);
	if (rc != VG_OK) {
		vg_msg_free(&r);
		return rc;
	}
	ep = calloc(1, sizeof *ep);
	if (!ep)
		rc = VG_ERR_NOMEM;
	else if (vg_msg_bytes(&r, VG_A_ENDPOINT, &p, &len) != VG_OK)
		rc = VG_ERR_PROTOCOL;
	else
		rc = parse(c, p, len, ep);
	vg_msg_free(&r);
	if (rc == VG_OK && strcmp(ep->name, name) != 0) {
		vg_client_set_error(c, "the service sent another endpoint's policy");
		rc = VG_ERR_PROTOCOL;
	}
	if (rc != VG_OK) {
		vg_endpoint_free(ep);
		return rc;
	}
	*out = ep;
	return VG_OK;
}

/* The service takes printable ASCII of bounded length: the report is
 * made to fit rather than lost (a refusal's reason may quote a peer). */
static void fit(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < cap; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

VG_EXPORT vg_rc vg_endpoint_report(vg_client *c, const char *name, const char *peer, bool ok,
				   const char *reason)
{
	char p[VG_EP_MAX_PEER + 1], why[VG_EP_MAX_REASON + 1];
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(c, &b, name);

	if (rc != VG_OK)
		return rc;
	fit(p, sizeof p, peer);
	fit(why, sizeof why, reason);
	if (!ok && !why[0])
		(void)snprintf(why, sizeof why, "refused");
	vg_msgb_uint(&b, VG_A_OK, ok ? 1 : 0);
	if (p[0])
		vg_msgb_text(&b, VG_A_PEER, p);
	if (why[0])
		vg_msgb_text(&b, VG_A_REASON, why);
	rc = vg_client_call(c, VG_OP_ENDPOINT_REPORT, &b, &r);
	vg_msg_free(&r);
	return rc;
}
