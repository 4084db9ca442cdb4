/* endpoint.c - the endpoint policy's encoding and strict parser: see
 * endpoint.h (SFR 4.2.7, 4.2.8). */
#include "tls/endpoint.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/util.h"

static const char *const revocation_names[] = {
    [VG_REVOCATION_NONE] = "none",
    [VG_REVOCATION_OCSP_STAPLED] = "ocsp-stapled",
    [VG_REVOCATION_OCSP] = "ocsp",
    [VG_REVOCATION_CRL] = "crl",
};

VG_EXPORT int vg_revocation_from_str(const char *s)
{
	for (size_t i = 0; s && i < VG_ARRAY_LEN(revocation_names); i++)
		if (strcmp(s, revocation_names[i]) == 0)
			return (int)i;
	return -1;
}

VG_EXPORT const char *vg_revocation_str(vg_revocation r)
{
	return (size_t)r < VG_ARRAY_LEN(revocation_names) ? revocation_names[r] : "invalid";
}

/* ---- the rules ---- */

bool vg_endpoint_host_valid(const char *host)
{
	unsigned char a[16];
	size_t n = host ? strnlen(host, VG_EP_MAX_HOST + 1) : 0;
	size_t label = 0;
	bool digits = true;

	if (n == 0 || n > VG_EP_MAX_HOST)
		return false;
	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
		return true;
	for (size_t i = 0; i <= n; i++) {
		char c = host[i];
		if (c == '.' || c == '\0') {
			/* A label: 1..63, no '-' at either end. */
			if (label == 0 || label > 63 || host[i - 1] == '-')
				return false;
			if (c == '\0')
				break;
			label = 0;
			digits = true;
			continue;
		}
		if (c == '-' && label == 0)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (c < '0' || c > '9')
			digits = false;
		label++;
	}
	/* "10.0.0.300" is no name: a numeric last label is an address or
	 * nothing (RFC 3696 section 2). */
	return !digits;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && memcmp(s + n - k, suffix, k) == 0;
}

bool vg_endpoint_unit_valid(const char *unit)
{
	size_t n = unit ? strnlen(unit, VG_EP_MAX_UNIT + 1) : 0;

	if (n == 0 || n > VG_EP_MAX_UNIT || unit[0] == '.' || unit[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = unit[i];
		/* No '\\' (systemd's escapes), quotes, spaces or '/': the name
		 * goes into nftables rules and cgroup paths as it is. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ':' || c == '_' || c == '.' || c == '@' || c == '-'))
			return false;
	}
	return ends_with(unit, n, ".service") || ends_with(unit, n, ".scope") ||
	       ends_with(unit, n, ".slice");
}

bool vg_endpoint_lists_uid(const vg_endpoint *ep, uint32_t uid)
{
	for (size_t i = 0; i < ep->n_uids && i < VG_EP_MAX_UIDS; i++)
		if (ep->uids[i] == uid)
			return true;
	return false;
}

/* Text of a policy: printable ASCII, tab, CR, LF. */
static bool text_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7f)))
			return false;
	}
	return true;
}

/* Copies at most cap-1 bytes of s into out with anything unprintable as
 * '?': jansson's messages quote the input they choke on. */
static void printable(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < cap; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (cap)
		out[i] = '\0';
}

/* Every PEM block of pem must be a `want` that d2i parses whole; between
 * min and max of them. */
static vg_rc pem_check(const char *field, const char *pem, const char *want, bool crl, size_t min,
		       size_t max, bool parse, char *why, size_t why_len)
{
	size_t n = pem ? strnlen(pem, VG_EP_MAX_PEM + 1) : 0, count = 0;
	BIO *bio;
	vg_rc rc = VG_OK;

	if (n == 0)
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: empty", field);
	if (n > VG_EP_MAX_PEM)
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: larger than %u bytes", field,
			      VG_EP_MAX_PEM);
	if (!text_ok(pem, n))
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: not printable ASCII PEM text",
			      field);
	if (!parse)
		return VG_OK;
	bio = BIO_new_mem_buf(pem, (int)n);
	if (!bio)
		return VG_ERR_NOMEM;
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		const unsigned char *p;
		long dlen = 0;
		bool whole = false;

		ERR_set_mark();
		if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
			unsigned long e = ERR_peek_last_error();
			bool end = ERR_GET_LIB(e) == ERR_LIB_PEM &&
				   ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
			ERR_pop_to_mark();
			if (!end)
				rc = vg_why(why, why_len, VG_ERR_INVALID,
					    "%s: malformed PEM block %zu", field, count + 1);
			break;
		}
		ERR_pop_to_mark();
		if (strcmp(name, want) != 0) {
			char nm[48];
			printable(nm, sizeof nm, name);
			rc = vg_why(why, why_len, VG_ERR_INVALID,
				    "%s: block %zu is a %s, not a %s%s", field, count + 1, nm, want,
				    strstr(name, "PRIVATE KEY") ? " (keys stay in the service)"
								: "");
		} else if (header && *header) {
			rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: block %zu has PEM headers",
				    field, count + 1);
		} else {
			p = data;
			if (crl) {
				X509_CRL *x = d2i_X509_CRL(NULL, &p, dlen);
				whole = x && p == data + dlen;
				X509_CRL_free(x);
			} else {
				X509 *x = d2i_X509(NULL, &p, dlen);
				whole = x && p == data + dlen;
				X509_free(x);
			}
			if (!whole)
				rc = vg_why(why, why_len, VG_ERR_INVALID,
					    "%s: block %zu does not parse as an X.509 %s", field,
					    count + 1, crl ? "CRL" : "certificate");
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		ERR_clear_error();
		if (rc != VG_OK)
			break;
		if (++count > max) {
			rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: more than %zu %ss", field,
				    max, crl ? "CRL" : "certificate");
			break;
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	if (rc == VG_OK && count < min)
		rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: no %s in it", field,
			    crl ? "CRL" : "certificate");
	return rc;
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static vg_rc validate(const vg_endpoint *ep, bool parse, char *why, size_t why_len)
{
	bool has_key, device;
	vg_rc rc;

	if (!ep)
		return vg_why(why, why_len, VG_ERR_INVALID, "no endpoint");
	if (!terminated(ep->name, sizeof ep->name) || !vg_name_valid(ep->name, strlen(ep->name)))
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "name: 1-128 of [A-Za-z0-9._-], not starting with '.'");
	if (!terminated(ep->host, sizeof ep->host) || !vg_endpoint_host_valid(ep->host))
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "host: an RFC 1123 host name or an IP address literal");
	if (ep->port == 0)
		return vg_why(why, why_len, VG_ERR_INVALID, "port: 1-65535");
	rc = pem_check("ca", ep->ca_pem, PEM_STRING_X509, false, 1, VG_EP_MAX_CERTS, parse, why,
		       why_len);
	if (rc != VG_OK)
		return rc;
	if (ep->n_pins > VG_EP_MAX_PINS)
		return vg_why(why, why_len, VG_ERR_INVALID, "pins: at most %u", VG_EP_MAX_PINS);
	for (size_t i = 0; i < ep->n_pins; i++)
		for (size_t j = i + 1; j < ep->n_pins; j++)
			if (memcmp(ep->pins[i], ep->pins[j], 32) == 0)
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "pins: pin %zu is listed twice", j + 1);
	if ((unsigned)ep->revocation > VG_REVOCATION_CRL)
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "revocation: none, ocsp-stapled, ocsp or crl");
	if (ep->soft_fail && ep->revocation == VG_REVOCATION_NONE)
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "soft_fail: needs a revocation check to soften");
	if ((ep->revocation == VG_REVOCATION_CRL) != (ep->crl_pem != NULL))
		return vg_why(why, why_len, VG_ERR_INVALID,
			      ep->crl_pem ? "crl: given, but revocation is not \"crl\""
					  : "revocation \"crl\" needs the CRL (crl)");
	if (ep->crl_pem) {
		rc = pem_check("crl", ep->crl_pem, PEM_STRING_X509_CRL, true, 1, VG_EP_MAX_CRLS,
			       parse, why, why_len);
		if (rc != VG_OK)
			return rc;
	}
	if (!terminated(ep->client_key, sizeof ep->client_key))
		return vg_why(why, why_len, VG_ERR_INVALID, "client_key: too long");
	has_key = ep->client_key[0] != '\0';
	device = strcmp(ep->client_key, VG_EP_DEVICE_IDENTITY) == 0;
	if (has_key && !vg_name_valid(ep->client_key, strlen(ep->client_key)))
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "client_key: a key name, 1-128 of [A-Za-z0-9._-]");
	if (ep->client_cert_pem && !has_key)
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "client_cert: given without a client_key");
	if (has_key && !device && !ep->client_cert_pem)
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "client_key: needs its certificate (client_cert); only \"%s\" "
			      "has one of its own",
			      VG_EP_DEVICE_IDENTITY);
	if (ep->client_cert_pem) {
		rc = pem_check("client_cert", ep->client_cert_pem, PEM_STRING_X509, false, 1,
			       VG_EP_MAX_CHAIN, parse, why, why_len);
		if (rc != VG_OK)
			return rc;
	}
	if (ep->n_uids > VG_EP_MAX_UIDS)
		return vg_why(why, why_len, VG_ERR_INVALID, "uids: at most %u", VG_EP_MAX_UIDS);
	for (size_t i = 0; i < ep->n_uids; i++) {
		if (ep->uids[i] == UINT32_MAX)
			return vg_why(why, why_len, VG_ERR_INVALID, "uids: 4294967295 is no uid");
		for (size_t j = i + 1; j < ep->n_uids; j++)
			if (ep->uids[i] == ep->uids[j])
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "uids: %u is listed twice", ep->uids[i]);
	}
	if (ep->n_units > VG_EP_MAX_UNITS)
		return vg_why(why, why_len, VG_ERR_INVALID, "units: at most %u", VG_EP_MAX_UNITS);
	for (size_t i = 0; i < ep->n_units; i++) {
		if (!terminated(ep->units[i], sizeof ep->units[i]) ||
		    !vg_endpoint_unit_valid(ep->units[i]))
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "units: unit %zu is not a systemd unit name (1-%u of "
				      "[A-Za-z0-9:_.@-], ending .service, .scope or .slice)",
				      i + 1, VG_EP_MAX_UNIT);
		for (size_t j = i + 1; j < ep->n_units; j++)
			if (strcmp(ep->units[i], ep->units[j]) == 0)
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "units: %s is listed twice", ep->units[i]);
	}
	if (ep->min_version != 0x0303 && ep->min_version != 0x0304)
		return vg_why(why, why_len, VG_ERR_INVALID, "min_tls: 1.2 or 1.3");
	if (ep->legacy && ep->min_version != 0x0303)
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "legacy: only means something with min_tls 1.2");
	return VG_OK;
}

vg_rc vg_endpoint_validate(const vg_endpoint *ep, char *why, size_t why_len)
{
	return validate(ep, true, why, why_len);
}

void vg_endpoint_clear(vg_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->ca_pem);
	free(ep->crl_pem);
	free(ep->client_cert_pem);
	memset(ep, 0, sizeof *ep);
}

/* ---- encoding ---- */

static void put(json_t *o, const char *k, json_t *v, bool *failed)
{
	if (!v || json_object_set_new(o, k, v) != 0)
		*failed = true;
}

vg_rc vg_endpoint_to_json(const vg_endpoint *ep, char **out, size_t *len, char *why, size_t why_len)
{
	json_t *o, *pins, *uids, *units;
	bool failed = false;
	vg_rc rc;

	*out = NULL;
	*len = 0;
	rc = vg_endpoint_validate(ep, why, why_len);
	if (rc != VG_OK)
		return rc;
	o = json_object();
	pins = json_array();
	uids = json_array();
	units = json_array();
	if (!o || !pins || !uids || !units) {
		json_decref(o);
		json_decref(pins);
		json_decref(uids);
		json_decref(units);
		return VG_ERR_NOMEM;
	}
	for (size_t i = 0; i < ep->n_pins; i++) {
		char hex[65];
		vg_hex_encode(ep->pins[i], 32, hex);
		if (json_array_append_new(pins, json_string(hex)) != 0)
			failed = true;
	}
	for (size_t i = 0; i < ep->n_uids; i++)
		if (json_array_append_new(uids, json_integer(ep->uids[i])) != 0)
			failed = true;
	for (size_t i = 0; i < ep->n_units; i++)
		if (json_array_append_new(units, json_string(ep->units[i])) != 0)
			failed = true;
	put(o, "v", json_integer(VG_EP_VERSION), &failed);
	put(o, "name", json_string(ep->name), &failed);
	put(o, "host", json_string(ep->host), &failed);
	put(o, "port", json_integer(ep->port), &failed);
	put(o, "ca", json_string(ep->ca_pem), &failed);
	put(o, "pins", pins, &failed);
	put(o, "revocation", json_string(vg_revocation_str(ep->revocation)), &failed);
	put(o, "soft_fail", json_boolean(ep->soft_fail), &failed);
	if (ep->crl_pem)
		put(o, "crl", json_string(ep->crl_pem), &failed);
	if (ep->client_key[0])
		put(o, "client_key", json_string(ep->client_key), &failed);
	if (ep->client_cert_pem)
		put(o, "client_cert", json_string(ep->client_cert_pem), &failed);
	put(o, "uids", uids, &failed);
	put(o, "units", units, &failed);
	put(o, "min_tls", json_string(ep->min_version == 0x0304 ? "1.3" : "1.2"), &failed);
	put(o, "legacy", json_boolean(ep->legacy), &failed);
	if (!failed)
		*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!*out)
		return VG_ERR_NOMEM;
	*len = strlen(*out);
	return VG_OK;
}

/* ---- parsing ---- */

static const char *const known_keys[] = {
    "v",   "name",       "host",        "port", "ca",    "pins",    "revocation", "soft_fail",
    "crl", "client_key", "client_cert", "uids", "units", "min_tls", "legacy",
};

/* A string member of at most max bytes, or NULL with why set. */
static const char *get_string(json_t *o, const char *k, bool required, size_t max, vg_rc *rc,
			      char *why, size_t why_len)
{
	json_t *v = json_object_get(o, k);
	const char *s;

	*rc = VG_OK;
	if (!v) {
		if (required)
			*rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: missing", k);
		return NULL;
	}
	if (!json_is_string(v)) {
		*rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: not a string", k);
		return NULL;
	}
	s = json_string_value(v);
	if (json_string_length(v) > max) {
		*rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: longer than %zu bytes", k, max);
		return NULL;
	}
	if (strlen(s) != json_string_length(v) || !text_ok(s, strlen(s))) {
		*rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: not printable ASCII", k);
		return NULL;
	}
	return s;
}

static vg_rc get_bool(json_t *o, const char *k, bool *out, char *why, size_t why_len)
{
	json_t *v = json_object_get(o, k);

	*out = false;
	if (!v)
		return VG_OK;
	if (!json_is_boolean(v))
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: not true or false", k);
	*out = json_is_true(v);
	return VG_OK;
}

static vg_rc get_array(json_t *o, const char *k, size_t max, json_t **out, char *why,
		       size_t why_len)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (!v)
		return VG_OK;
	if (!json_is_array(v))
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: not an array", k);
	if (json_array_size(v) > max)
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: more than %zu", k, max);
	*out = v;
	return VG_OK;
}

static char *dup_pem(const char *s, vg_rc *rc)
{
	char *d = strdup(s);

	if (!d)
		*rc = VG_ERR_NOMEM;
	return d;
}

static vg_rc from_object(json_t *o, vg_endpoint *ep, char *why, size_t why_len)
{
	const char *key, *s;
	json_t *v, *arr;
	size_t i;
	vg_rc rc;

	if (!json_is_object(o))
		return vg_why(why, why_len, VG_ERR_INVALID, "an endpoint is a JSON object");
	json_object_foreach(o, key, v)
	{
		bool known = false;
		for (i = 0; i < VG_ARRAY_LEN(known_keys); i++)
			known = known || strcmp(key, known_keys[i]) == 0;
		if (!known) {
			char k[40];
			printable(k, sizeof k, key);
			return vg_why(why, why_len, VG_ERR_INVALID, "unknown key \"%s\"", k);
		}
	}
	v = json_object_get(o, "v");
	if (!v)
		return vg_why(why, why_len, VG_ERR_INVALID, "v: missing (the format version, 1)");
	if (!json_is_integer(v))
		return vg_why(why, why_len, VG_ERR_INVALID, "v: not an integer");
	if (json_integer_value(v) != VG_EP_VERSION)
		return vg_why(why, why_len, VG_ERR_UNSUPPORTED,
			      "v: version %lld is not supported (1 is)",
			      (long long)json_integer_value(v));

	if (!(s = get_string(o, "name", true, VG_MAX_NAME_LEN, &rc, why, why_len)))
		return rc;
	strcpy(ep->name, s);
	if (!(s = get_string(o, "host", true, VG_EP_MAX_HOST, &rc, why, why_len)))
		return rc;
	strcpy(ep->host, s);
	v = json_object_get(o, "port");
	if (!v)
		return vg_why(why, why_len, VG_ERR_INVALID, "port: missing");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		return vg_why(why, why_len, VG_ERR_INVALID, "port: an integer 1-65535");
	ep->port = (uint16_t)json_integer_value(v);
	if (!(s = get_string(o, "ca", true, VG_EP_MAX_PEM, &rc, why, why_len)))
		return rc;
	if (!(ep->ca_pem = dup_pem(s, &rc)))
		return rc;

	rc = get_array(o, "pins", VG_EP_MAX_PINS, &arr, why, why_len);
	if (rc != VG_OK)
		return rc;
	json_array_foreach(arr, i, v)
	{
		size_t n = 0;
		const char *h = json_is_string(v) ? json_string_value(v) : NULL;
		if (!h || json_string_length(v) != 64 || !vg_hex_decode(h, ep->pins[i], 32, &n) ||
		    n != 32)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "pins: pin %zu is not 64 hex digits (a SHA-256)", i + 1);
		ep->n_pins++;
	}

	if (!(s = get_string(o, "revocation", true, 16, &rc, why, why_len)))
		return rc;
	{
		int r = vg_revocation_from_str(s);
		if (r < 0)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "revocation: none, ocsp-stapled, ocsp or crl");
		ep->revocation = (vg_revocation)r;
	}
	if ((rc = get_bool(o, "soft_fail", &ep->soft_fail, why, why_len)) != VG_OK)
		return rc;
	s = get_string(o, "crl", false, VG_EP_MAX_PEM, &rc, why, why_len);
	if (rc != VG_OK)
		return rc;
	if (s && !(ep->crl_pem = dup_pem(s, &rc)))
		return rc;
	s = get_string(o, "client_key", false, VG_MAX_NAME_LEN, &rc, why, why_len);
	if (rc != VG_OK)
		return rc;
	if (s) {
		if (!*s)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "client_key: empty (leave it out for no client key)");
		strcpy(ep->client_key, s);
	}
	s = get_string(o, "client_cert", false, VG_EP_MAX_PEM, &rc, why, why_len);
	if (rc != VG_OK)
		return rc;
	if (s && !(ep->client_cert_pem = dup_pem(s, &rc)))
		return rc;

	rc = get_array(o, "uids", VG_EP_MAX_UIDS, &arr, why, why_len);
	if (rc != VG_OK)
		return rc;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) >= (json_int_t)UINT32_MAX)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "uids: uid %zu is not an integer 0-4294967294", i + 1);
		ep->uids[ep->n_uids++] = (uint32_t)json_integer_value(v);
	}
	rc = get_array(o, "units", VG_EP_MAX_UNITS, &arr, why, why_len);
	if (rc != VG_OK)
		return rc;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) > VG_EP_MAX_UNIT ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    !vg_endpoint_unit_valid(json_string_value(v)))
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "units: unit %zu is not a systemd unit name (1-%u of "
				      "[A-Za-z0-9:_.@-], ending .service, .scope or .slice)",
				      i + 1, VG_EP_MAX_UNIT);
		strcpy(ep->units[ep->n_units++], json_string_value(v));
	}

	s = get_string(o, "min_tls", false, 8, &rc, why, why_len);
	if (rc != VG_OK)
		return rc;
	if (!s || strcmp(s, "1.2") == 0)
		ep->min_version = 0x0303;
	else if (strcmp(s, "1.3") == 0)
		ep->min_version = 0x0304;
	else
		return vg_why(why, why_len, VG_ERR_INVALID, "min_tls: \"1.2\" or \"1.3\"");
	return get_bool(o, "legacy", &ep->legacy, why, why_len);
}

static json_t *load(const uint8_t *buf, size_t len, vg_rc *rc, char *why, size_t why_len)
{
	json_error_t err;
	json_t *root;

	if (len > VG_EP_MAX_JSON) {
		*rc = vg_why(why, why_len, VG_ERR_TOO_LARGE,
			     "endpoint policy: larger than %u bytes", VG_EP_MAX_JSON);
		return NULL;
	}
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		char text[JSON_ERROR_TEXT_LENGTH];
		printable(text, sizeof text, err.text);
		*rc = vg_why(why, why_len, VG_ERR_INVALID,
			     "endpoint policy: not JSON: %s (byte %d)", text, err.position);
	}
	return root;
}

static vg_rc from_json(const uint8_t *buf, size_t len, vg_endpoint *out, bool parse, char *why,
		       size_t why_len)
{
	json_t *root;
	vg_rc rc = VG_OK;

	memset(out, 0, sizeof *out);
	root = load(buf, len, &rc, why, why_len);
	if (!root)
		return rc;
	rc = from_object(root, out, why, why_len);
	json_decref(root);
	if (rc == VG_OK)
		rc = validate(out, parse, why, why_len);
	if (rc != VG_OK)
		vg_endpoint_clear(out);
	return rc;
}

vg_rc vg_endpoint_from_json(const uint8_t *buf, size_t len, vg_endpoint *out, char *why,
			    size_t why_len)
{
	return from_json(buf, len, out, true, why, why_len);
}

vg_rc vg_endpoint_from_stored(const uint8_t *buf, size_t len, vg_endpoint *out, char *why,
			      size_t why_len)
{
	return from_json(buf, len, out, false, why, why_len);
}

VG_EXPORT void vg_endpoint_list_free(vg_endpoint *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		vg_endpoint_clear(&v[i]);
	free(v);
}

VG_EXPORT void vg_endpoint_free(vg_endpoint *ep)
{
	vg_endpoint_clear(ep);
	free(ep);
}

vg_rc vg_endpoint_array_from_json(const uint8_t *buf, size_t len, vg_endpoint **out, size_t *n,
				  char *why, size_t why_len)
{
	json_t *root, *v;
	vg_endpoint *arr = NULL;
	size_t i, count = 0;
	vg_rc rc = VG_OK;

	*out = NULL;
	*n = 0;
	if (len > (size_t)VG_EP_MAX_COUNT * VG_EP_MAX_JSON)
		return vg_why(why, why_len, VG_ERR_TOO_LARGE, "endpoint list: too large");
	{
		json_error_t err;
		root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
		if (!root) {
			char text[JSON_ERROR_TEXT_LENGTH];
			printable(text, sizeof text, err.text);
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "endpoint list: not JSON: %s (byte %d)", text, err.position);
		}
	}
	if (!json_is_array(root) || json_array_size(root) > VG_EP_MAX_COUNT) {
		json_decref(root);
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "endpoint list: a JSON array of at most %u endpoints",
			      VG_EP_MAX_COUNT);
	}
	arr = calloc(json_array_size(root) ? json_array_size(root) : 1, sizeof *arr);
	if (!arr) {
		json_decref(root);
		return VG_ERR_NOMEM;
	}
	json_array_foreach(root, i, v)
	{
		char sub[224] = "";
		rc = from_object(v, &arr[i], sub, sizeof sub);
		if (rc == VG_OK)
			rc = vg_endpoint_validate(&arr[i], sub, sizeof sub);
		count = i + 1;
		if (rc != VG_OK) {
			(void)vg_why(why, why_len, rc, "endpoint %zu: %s", i + 1, sub);
			break;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(arr[j].name, arr[i].name) == 0) {
				rc = vg_why(why, why_len, VG_ERR_INVALID,
					    "endpoint %zu: the name %s is used twice", i + 1,
					    arr[i].name);
				break;
			}
		if (rc != VG_OK)
			break;
	}
	json_decref(root);
	if (rc != VG_OK) {
		vg_endpoint_list_free(arr, count);
		return rc;
	}
	*out = arr;
	*n = count;
	return VG_OK;
}
