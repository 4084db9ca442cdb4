/*
 * canonjson.c - canonical JSON (contract in canonjson.h).
 */
#include "common/canonjson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (n > SIZE_MAX / 2 - o->len) {
		o->failed = true;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *np;
		while (cap < o->len + n + 1)
			cap *= 2;
		np = realloc(o->p, cap);
		if (!np) {
			o->failed = true;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void put_string(struct out *o, const char *s, size_t n)
{
	size_t run = 0;

	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			put(o, s + run, i - run);
			put(o, "\\", 1);
			run = i;
		}
	}
	put(o, s + run, n - run);
	put(o, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	/* jansson keys are NUL-free UTF-8: strcmp orders by bytes. */
	return strcmp(x, y);
}

static vg_rc emit(struct out *o, const json_t *v, int depth)
{
	char num[32];

	if (depth > VG_CANONJSON_MAX_DEPTH)
		return VG_ERR_INVALID;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys;
		const char *k;
		json_t *val;
		vg_rc rc = VG_OK;

		if (n == 0) {
			put(o, "{}", 2);
			return VG_OK;
		}
		keys = calloc(n, sizeof *keys);
		if (!keys)
			return VG_ERR_NOMEM;
		json_object_foreach((json_t *)v, k, val)
			keys[i++] = k;
		qsort(keys, n, sizeof *keys, cmp_keys);
		put(o, "{", 1);
		for (i = 0; i < n && rc == VG_OK; i++) {
			if (i)
				put(o, ",", 1);
			put_string(o, keys[i], strlen(keys[i]));
			put(o, ":", 1);
			rc = emit(o, json_object_get(v, keys[i]), depth + 1);
		}
		put(o, "}", 1);
		free(keys);
		return rc;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		put(o, "[", 1);
		for (size_t i = 0; i < n; i++) {
			vg_rc rc;
			if (i)
				put(o, ",", 1);
			rc = emit(o, json_array_get(v, i), depth + 1);
			if (rc != VG_OK)
				return rc;
		}
		put(o, "]", 1);
		return VG_OK;
	}
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		return VG_OK;
	case JSON_INTEGER:
		(void)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(o, num, strlen(num));
		return VG_OK;
	case JSON_TRUE:
		put(o, "true", 4);
		return VG_OK;
	case JSON_FALSE:
		put(o, "false", 5);
		return VG_OK;
	case JSON_NULL:
		put(o, "null", 4);
		return VG_OK;
	case JSON_REAL:
	default:
		return VG_ERR_INVALID;
	}
}

vg_rc vg_canonical_json(const json_t *v, char **out, size_t *len)
{
	struct out o = {0};
	vg_rc rc;

	*out = NULL;
	*len = 0;
	if (!v)
		return VG_ERR_INVALID;
	rc = emit(&o, v, 0);
	if (rc == VG_OK && o.failed)
		rc = VG_ERR_NOMEM;
	if (rc == VG_OK && !o.p)
		rc = VG_ERR_INTERNAL;
	if (rc != VG_OK) {
		free(o.p);
		return rc;
	}
	*out = o.p;
	*len = o.len;
	return VG_OK;
}
