/*
 * canonjson.h - canonical JSON, the bytes that JSON signatures cover.
 *
 * Promise: vg_canonical_json() serialises a jansson value the way TUF
 * (specification 1.0, "canonical JSON" of OLPC as implemented by
 * securesystemslib.formats.encode_canonical) and python-tuf, go-tuf and
 * tuf-js expect, so signatures made here verify there and back:
 *  - objects with their keys sorted by their UTF-8 bytes, no whitespace;
 *  - strings between double quotes with only '\\' and '"' escaped (every
 *    other byte, control characters and non-ASCII included, as is);
 *  - integers in decimal; true, false, null;
 *  - reals are refused (VG_ERR_INVALID): canonical JSON has none.
 * Also used for the platform manifest. Nesting is bounded by jansson's
 * parser (JSON_PARSER_MAX_DEPTH) and here by VG_CANONJSON_MAX_DEPTH.
 */
#ifndef VG_COMMON_CANONJSON_H
#define VG_COMMON_CANONJSON_H

#include <stddef.h>

#include <jansson.h>

#include "common/util.h"

#define VG_CANONJSON_MAX_DEPTH 32

/* *out is malloc()ed and NUL-terminated (free()); *len excludes the NUL. */
VG_NODISCARD vg_rc vg_canonical_json(const json_t *v, char **out, size_t *len);

#endif
