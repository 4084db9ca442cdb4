/* cborw.c - see cborw.h */
#include "proto/cborw.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>

void vg_cborw_raw(vg_cborw *w, const void *d, size_t n)
{
	if (w->failed || n == 0)
		return;
	if (w->max && n > w->max - w->len) {
		w->failed = w->too_large = true;
		return;
	}
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *np;

		while (n > cap - w->len) {
			if (cap > SIZE_MAX / 2) {
				w->failed = true;
				return;
			}
			cap *= 2;
		}
		np = realloc(w->p, cap);
		if (!np) {
			w->failed = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

int vg_cborw_put(void *w, const uint8_t *d, size_t n)
{
	vg_cborw_raw(w, d, n);
	return !((vg_cborw *)w)->failed;
}

void vg_cborw_head(vg_cborw *w, size_t (*fn)(size_t, unsigned char *, size_t), size_t v)
{
	uint8_t h[9];
	size_t n = fn(v, h, sizeof h);

	if (n == 0)
		w->failed = true;
	vg_cborw_raw(w, h, n);
}

void vg_cborw_uint(vg_cborw *w, uint64_t v)
{
	uint8_t h[9];
	size_t n = cbor_encode_uint(v, h, sizeof h);

	if (n == 0)
		w->failed = true;
	vg_cborw_raw(w, h, n);
}

void vg_cborw_int(vg_cborw *w, int64_t v)
{
	uint8_t h[9];
	size_t n = v >= 0 ? cbor_encode_uint((uint64_t)v, h, sizeof h)
			  : cbor_encode_negint((uint64_t)(-1 - v), h, sizeof h);

	if (n == 0)
		w->failed = true;
	vg_cborw_raw(w, h, n);
}

void vg_cborw_bytes(vg_cborw *w, const uint8_t *p, size_t n)
{
	vg_cborw_head(w, cbor_encode_bytestring_start, n);
	vg_cborw_raw(w, p, n);
}

void vg_cborw_text(vg_cborw *w, const char *s)
{
	size_t n = strlen(s);

	vg_cborw_head(w, cbor_encode_string_start, n);
	vg_cborw_raw(w, s, n);
}

void vg_cborw_bool(vg_cborw *w, bool b)
{
	uint8_t h[1];

	if (cbor_encode_bool(b, h, sizeof h) != 1)
		w->failed = true;
	vg_cborw_raw(w, h, 1);
}

void vg_cborw_null(vg_cborw *w)
{
	uint8_t h[1];

	if (cbor_encode_null(h, sizeof h) != 1)
		w->failed = true;
	vg_cborw_raw(w, h, 1);
}

vg_rc vg_cborw_finish(vg_cborw *w, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (w->failed) {
		vg_rc rc = w->too_large ? VG_ERR_TOO_LARGE : VG_ERR_NOMEM;
		vg_cborw_free(w);
		return rc;
	}
	*out = w->p;
	*len = w->len;
	w->p = NULL;
	w->len = w->cap = 0;
	return VG_OK;
}

void vg_cborw_free(vg_cborw *w)
{
	free(w->p);
	w->p = NULL;
	w->len = w->cap = 0;
}
