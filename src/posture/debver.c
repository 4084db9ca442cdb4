/*
 * debver.c - Debian version ordering (see debver.h): a faithful copy of
 * dpkg's algorithm, checked against dpkg's own test cases
 * (tests/test_posture_debver.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "posture/debver.h"

/* The C locale's classes, whatever the process locale is (dpkg's c_is*). */
static bool c_digit(int c)
{
	return c >= '0' && c <= '9';
}
static bool c_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool c_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* dpkg's order(): digits 0 (they end a non-digit run), letters their own
 * value, '~' below everything including the end, other characters after
 * all letters. */
static int order(int c)
{
	if (c_digit(c))
		return 0;
	if (c_alpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

int vg_debver_verrevcmp(const char *a, const char *b)
{
	if (!a)
		a = "";
	if (!b)
		b = "";
	while (*a || *b) {
		int first_diff = 0;

		while ((*a && !c_digit((unsigned char)*a)) || (*b && !c_digit((unsigned char)*b))) {
			int ac = order((unsigned char)*a);
			int bc = order((unsigned char)*b);

			/* One side at its end (order 0) differs from any
			 * non-digit on the other, so neither pointer passes
			 * its terminator. */
			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (c_digit((unsigned char)*a) && c_digit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (c_digit((unsigned char)*a))
			return 1;
		if (c_digit((unsigned char)*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

int vg_debver_cmp(const vg_debver *a, const vg_debver *b)
{
	int r;

	if (a->epoch > b->epoch)
		return 1;
	if (a->epoch < b->epoch)
		return -1;
	r = vg_debver_verrevcmp(a->upstream, b->upstream);
	if (r)
		return r;
	return vg_debver_verrevcmp(a->revision, b->revision);
}

vg_rc vg_debver_parse(const char *s, vg_debver *out, char *why, size_t cap)
{
	const char *end, *p, *colon;
	char *hyphen, *v;
	size_t n;

	memset(out, 0, sizeof *out);
	out->upstream = out->revision = out->buf;
	while (*s && c_blank((unsigned char)*s))
		s++;
	if (!*s)
		return vg_why(why, cap, VG_ERR_INVALID, "version string is empty");
	end = s;
	while (*end && !c_blank((unsigned char)*end))
		end++;
	for (p = end; *p && c_blank((unsigned char)*p); p++)
		;
	if (*p)
		return vg_why(why, cap, VG_ERR_INVALID, "version string has embedded spaces");
	n = (size_t)(end - s);
	if (n > VG_DEBVER_MAX)
		return vg_why(why, cap, VG_ERR_TOO_LARGE, "version string longer than %u bytes",
			      VG_DEBVER_MAX);
	memcpy(out->buf, s, n);
	out->buf[n] = '\0';
	v = out->buf;
	colon = strchr(v, ':');
	if (colon) {
		char *eepoch;
		long long epoch;

		errno = 0;
		epoch = strtoll(v, &eepoch, 10);
		if (eepoch == v)
			return vg_why(why, cap, VG_ERR_INVALID, "epoch in version is empty");
		if (eepoch != colon)
			return vg_why(why, cap, VG_ERR_INVALID, "epoch in version is not number");
		if (epoch < 0)
			return vg_why(why, cap, VG_ERR_INVALID, "epoch in version is negative");
		if (epoch > INT_MAX || errno == ERANGE)
			return vg_why(why, cap, VG_ERR_INVALID, "epoch in version is too big");
		if (!colon[1])
			return vg_why(why, cap, VG_ERR_INVALID,
				      "nothing after colon in version number");
		out->epoch = (unsigned)epoch;
		v = out->buf + (colon - out->buf) + 1;
	}
	out->upstream = v;
	hyphen = strrchr(v, '-');
	if (hyphen) {
		*hyphen = '\0';
		out->revision = hyphen + 1;
	} else {
		out->revision = out->buf + n; /* "" */
	}
	if (!*out->upstream)
		return vg_why(why, cap, VG_ERR_INVALID, "version number is empty");
	if (!c_digit((unsigned char)*out->upstream))
		return vg_why(why, cap, VG_ERR_INVALID, "version number does not start with digit");
	for (p = out->upstream; *p; p++)
		if (!c_digit((unsigned char)*p) && !c_alpha((unsigned char)*p) &&
		    !strchr(".-+~:", *p))
			return vg_why(why, cap, VG_ERR_INVALID,
				      "invalid character in version number");
	for (p = out->revision; *p; p++)
		if (!c_digit((unsigned char)*p) && !c_alpha((unsigned char)*p) &&
		    !strchr(".+~", *p))
			return vg_why(why, cap, VG_ERR_INVALID,
				      "invalid character in revision number");
	return VG_OK;
}

vg_rc vg_debver_compare_str(const char *a, const char *b, int *cmp)
{
	vg_debver *va = malloc(sizeof *va), *vb = malloc(sizeof *vb);
	vg_rc rc = VG_ERR_NOMEM;

	*cmp = 0;
	if (!va || !vb)
		goto out;
	rc = vg_debver_parse(a, va, NULL, 0);
	if (rc == VG_OK)
		rc = vg_debver_parse(b, vb, NULL, 0);
	if (rc == VG_OK)
		*cmp = vg_debver_cmp(va, vb);
out:
	free(va);
	free(vb);
	return rc;
}
