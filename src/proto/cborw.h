/*
 * cborw.h - a canonical CBOR writer: libcbor's low-level head encoders
 * (which always pick the shortest head) into a growable buffer, for the
 * formats whose exact bytes are signed or MACed (audit export, PSA
 * attestation tokens). Errors are sticky: write on, check once at the end.
 */
#ifndef VG_CBORW_H
#define VG_CBORW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

typedef struct vg_cborw {
	uint8_t *p;
	size_t len, cap;
	size_t max;     /* the output may not exceed this (0: no limit) */
	bool failed;    /* an allocation or an encoder failed, or max was hit */
	bool too_large; /* ... because of max */
} vg_cborw;

/* Appends raw bytes. Returns 1, or 0 once the writer has failed; the
 * void * form serves as a byte-sink callback. */
int vg_cborw_put(void *w, const uint8_t *d, size_t n);
void vg_cborw_raw(vg_cborw *w, const void *d, size_t n);
/* One head through a libcbor encoder (cbor_encode_array_start, ...). */
void vg_cborw_head(vg_cborw *w, size_t (*fn)(size_t, unsigned char *, size_t), size_t v);
void vg_cborw_uint(vg_cborw *w, uint64_t v);
void vg_cborw_int(vg_cborw *w, int64_t v);
void vg_cborw_bytes(vg_cborw *w, const uint8_t *p, size_t n);
void vg_cborw_text(vg_cborw *w, const char *s);
void vg_cborw_bool(vg_cborw *w, bool b);
void vg_cborw_null(vg_cborw *w);
/* Hands the bytes over (*out callee-allocated, free()), or frees them and
 * returns VG_ERR_TOO_LARGE (max hit) or VG_ERR_NOMEM. */
VG_NODISCARD vg_rc vg_cborw_finish(vg_cborw *w, uint8_t **out, size_t *len);
void vg_cborw_free(vg_cborw *w);

#endif
