/*
 * audit_items - lists the top-level items of an audit export (docs/AUDIT.md
 * section 5: a CBOR sequence), for tests that edit an export item by item
 * (tests/integration/test_sfr429_log_export_paged.sh).
 *
 *   audit_items FILE    one line per item: "OFFSET LENGTH KIND NUMBER" with
 *                       KIND "header" (NUMBER the format version), "record"
 *                       (its seq) or "checkpoint" (its next_seq); exit 1
 *                       and "malformed at OFFSET" if the bytes are not a
 *                       sequence of definite-length CBOR items
 *
 * It checks the CBOR framing only: what the items say is the verifier's
 * business (`voxguard log verify`).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* The head at p: major type, argument, head length; 0 if malformed or
 * an indefinite length. */
static size_t head(const uint8_t *p, size_t len, unsigned *major, uint64_t *arg)
{
	unsigned ai;
	size_t n;

	if (len < 1)
		return 0;
	*major = p[0] >> 5;
	ai = p[0] & 31u;
	if (ai < 24) {
		*arg = ai;
		return 1;
	}
	if (ai > 27)
		return 0;
	n = (size_t)1 << (ai - 24);
	if (len < 1 + n)
		return 0;
	*arg = 0;
	for (size_t i = 0; i < n; i++)
		*arg = *arg << 8 | p[1 + i];
	return 1 + n;
}

/* The length of the item at p, 0 if malformed (depth-bounded). */
static size_t item(const uint8_t *p, size_t len, int depth)
{
	unsigned major;
	uint64_t arg;
	size_t h = head(p, len, &major, &arg), at = h;

	if (!h || depth > 16)
		return 0;
	switch (major) {
	case 0: /* unsigned, negative integer */
	case 1:
	case 7: /* simple values and floats: all in the head */
		return h;
	case 2: /* byte and text strings */
	case 3:
		return arg <= len - h ? h + (size_t)arg : 0;
	case 4: /* arrays and maps */
	case 5:
		if (major == 5 && arg > UINT64_MAX / 2)
			return 0;
		for (uint64_t i = 0; i < (major == 5 ? 2 * arg : arg); i++) {
			size_t k = item(p + at, len - at, depth + 1);
			if (!k)
				return 0;
			at += k;
		}
		return at;
	default: /* a tag and its item */
		return (at = item(p + h, len - h, depth + 1)) ? h + at : 0;
	}
}

int main(int argc, char **argv)
{
	uint8_t *buf = NULL;
	size_t len = 0, off = 0;

	if (argc != 2) {
		(void)fprintf(stderr, "usage: audit_items EXPORT\n");
		return 2;
	}
	if (vg_read_file(argv[1], 1u << 30, &buf, &len) != VG_OK) {
		(void)fprintf(stderr, "audit_items: cannot read %s\n", argv[1]);
		return 2;
	}
	while (off < len) {
		size_t n = item(buf + off, len - off, 0), h;
		unsigned major;
		uint64_t count, first = 0, second = 0;
		const char *kind = "other";
		if (!n) {
			(void)printf("malformed at %zu\n", off);
			free(buf);
			return 1;
		}
		/* [magic, version, ...], [seq, ...], [kind, next_seq, ...] */
		h = head(buf + off, n, &major, &count);
		if (major == 4 && count >= 2) {
			size_t a = item(buf + off + h, n - h, 0);
			unsigned m1, m2;
			(void)head(buf + off + h, n - h, &m1, &first);
			(void)head(buf + off + h + a, n - h - a, &m2, &second);
			if (off == 0 && m1 == 3)
				kind = "header";
			else if (count == 12 && m1 == 0)
				kind = "record";
			else if (count == 6 && m1 == 0 && m2 == 0)
				kind = "checkpoint";
		}
		(void)printf("%zu %zu %s %llu\n", off, n, kind,
			     (unsigned long long)(strcmp(kind, "record") == 0 ? first : second));
		off += n;
	}
	free(buf);
	return 0;
}
