/* reference.c - see reference.h */
#include "attest/reference.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"

static vg_rc fail(char *why, size_t why_len, const char *msg, size_t i)
{
	if (why_len)
		(void)snprintf(why, why_len, "reference component %zu: %s", i + 1, msg);
	return VG_ERR_INVALID;
}

static bool get_text(json_t *o, const char *key, char *out, size_t cap, bool *bad)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	out[0] = '\0';
	if (!v)
		return false;
	if (!json_is_string(v) || (n = json_string_length(v)) >= cap ||
	    memchr(json_string_value(v), 0, n)) {
		*bad = true;
		return false;
	}
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

static bool get_hash(json_t *o, const char *key, uint8_t *out, size_t *len, bool *bad)
{
	json_t *v = json_object_get(o, key);

	*len = 0;
	if (!v)
		return false;
	if (!json_is_string(v) || json_string_length(v) > 2 * VG_PSA_MAX_HASH ||
	    !vg_hex_decode(json_string_value(v), out, VG_PSA_MAX_HASH, len) ||
	    (*len != 32 && *len != 48 && *len != 64)) {
		*bad = true;
		return false;
	}
	return true;
}

vg_rc vg_psa_reference_parse(const char *text, size_t len,
			     vg_psa_sw_component out[VG_PSA_MAX_COMPONENTS], size_t *n, char *why,
			     size_t why_len)
{
	json_error_t err;
	json_t *root, *arr;
	vg_rc rc = VG_OK;

	*n = 0;
	if (why_len)
		why[0] = '\0';
	if (len > VG_REFERENCE_MAX_FILE) {
		if (why_len)
			(void)snprintf(why, why_len, "reference file larger than %u bytes",
				       VG_REFERENCE_MAX_FILE);
		return VG_ERR_TOO_LARGE;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		if (why_len)
			(void)snprintf(why, why_len, "reference file is not JSON (line %d: %s)",
				       err.line, err.text);
		return VG_ERR_INVALID;
	}
	arr = json_object_get(root, "components");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > VG_PSA_MAX_COMPONENTS) {
		if (why_len)
			(void)snprintf(why, why_len,
				       "reference file needs a \"components\" array of 1 to %u "
				       "entries",
				       VG_PSA_MAX_COMPONENTS);
		json_decref(root);
		return VG_ERR_INVALID;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);
		vg_psa_sw_component *c = &out[i];
		bool bad = false;

		memset(c, 0, sizeof *c);
		if (!json_is_object(o)) {
			rc = fail(why, why_len, "not an object", i);
			break;
		}
		if (!get_hash(o, "measurement_value", c->measurement, &c->measurement_len, &bad)) {
			rc = fail(why, why_len,
				  bad ? "measurement_value is not 32, 48 or 64 bytes of hex"
				      : "measurement_value missing",
				  i);
			break;
		}
		(void)get_hash(o, "signer_id", c->signer_id, &c->signer_id_len, &bad);
		(void)get_text(o, "measurement_type", c->measurement_type,
			       sizeof c->measurement_type, &bad);
		(void)get_text(o, "version", c->version, sizeof c->version, &bad);
		(void)get_text(o, "measurement_desc", c->measurement_desc,
			       sizeof c->measurement_desc, &bad);
		if (bad) {
			rc = fail(why, why_len, "a member has the wrong type, length or hex", i);
			break;
		}
		*n = i + 1;
	}
	json_decref(root);
	if (rc != VG_OK) {
		vg_wipe(out, VG_PSA_MAX_COMPONENTS * sizeof *out);
		*n = 0;
	}
	return rc;
}
