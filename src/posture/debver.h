/*
 * debver.h - Debian package versions: parsing and ordering exactly as
 * dpkg does (lib/dpkg/parsehelp.c parseversion, lib/dpkg/version.c
 * verrevcmp), for matching installed packages against the security
 * tracker's fixed versions (AVS 1.13; `voxguard doctor --vuln-db`).
 *
 * A version is [epoch:]upstream[-revision]: the epoch is a decimal number
 * (0 when absent, at most INT_MAX), the revision is what follows the last
 * hyphen. Upstream and revision are compared piecewise: a run of
 * non-digits character by character, where '~' sorts before everything,
 * even the end of the string, letters before non-letters; then a run of
 * digits numerically; and so on.
 */
#ifndef VG_POSTURE_DEBVER_H
#define VG_POSTURE_DEBVER_H

#include <stdbool.h>
#include <stddef.h>

#include "voxguard/voxguard.h"

#define VG_DEBVER_MAX 256u /* bytes of a version string we accept */

/* A parsed version: pointers into buf (a copy of the input). */
typedef struct vg_debver {
	unsigned epoch;
	const char *upstream;
	const char *revision; /* "" when there is none */
	char buf[VG_DEBVER_MAX + 1];
} vg_debver;

/* Parses s as dpkg's parseversion() does: leading and trailing blanks are
 * ignored; the errors dpkg reports (empty, embedded blanks, an empty,
 * negative, non-numeric or too large epoch, nothing after the colon, an
 * empty upstream version) and the ones it warns about (an upstream not
 * starting with a digit, a character outside [A-Za-z0-9.+~:-] in it or
 * outside [A-Za-z0-9.+~] in the revision) all fail with VG_ERR_INVALID and
 * a reason in why. Longer than VG_DEBVER_MAX: VG_ERR_TOO_LARGE. */
VG_NODISCARD vg_rc vg_debver_parse(const char *s, vg_debver *out, char *why, size_t cap);

/* dpkg_version_compare(): < 0, 0 or > 0 as a sorts before, equal to or
 * after b (epoch, then upstream, then revision, each by verrevcmp). */
int vg_debver_cmp(const vg_debver *a, const vg_debver *b);

/* verrevcmp() on one upstream or revision part (NULL is ""). */
int vg_debver_verrevcmp(const char *a, const char *b);

/* Parses both strings and compares them; VG_ERR_INVALID when one does
 * not parse (then *cmp is 0). */
VG_NODISCARD vg_rc vg_debver_compare_str(const char *a, const char *b, int *cmp);

#endif
