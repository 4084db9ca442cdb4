/*
 * vulndb.h - installed Debian packages against the Debian security
 * tracker (AVS 1.13: the firmware image is scanned for known
 * vulnerabilities; `voxguard doctor --vuln-db FILE --release NAME`).
 *
 * The installed packages come from dpkg's status file
 * (var/lib/dpkg/status): Package, Status, Version and Source, where Source
 * may carry the source's own version in parentheses ("openssl (3.0.11-1)")
 * when it differs from the binary's. The tracker's data is its JSON export
 * (https://security-tracker.debian.org/tracker/data/json), read offline:
 *
 *   { "<source package>": { "CVE-YYYY-N": { "releases": { "bookworm": {
 *       "status": "resolved" | "open" | "undetermined",
 *       "fixed_version": "1.2-3", "urgency": "low" | "medium" | ...,
 *       "nodsa": "Minor issue", "nodsa_reason": "ignored" | "postponed" } } } } }
 *
 * Other members (description, scope, debianbug, repositories) are
 * ignored. A source version below "fixed_version" (Debian version order,
 * debver.h) is vulnerable; "fixed_version": "0" (or none) means never
 * affected; "open" means no fix in that release yet; nodsa and
 * nodsa_reason (string or null) say why Debian issues no advisory.
 *
 * Both inputs are outside bytes: bounded sizes and counts, the JSON's
 * shape checked on load (VG_ERR_INVALID naming the first bad member),
 * jansson with JSON_REJECT_DUPLICATES. Fuzz target: fuzz/fuzz_vulndb.c.
 */
#ifndef VG_POSTURE_VULNDB_H
#define VG_POSTURE_VULNDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_VULNDB_MAX_JSON (1024u * 1024u * 1024u) /* bytes of the tracker's JSON */
#define VG_DPKG_MAX_STATUS (256u * 1024u * 1024u)  /* bytes of dpkg's status file */
#define VG_DPKG_MAX_PKGS   200000u                 /* installed packages */
#define VG_DPKG_MAX_FIELD  1024u                   /* bytes of a field we keep */

/* One installed binary package (strings owned by the array). */
typedef struct vg_dpkg_pkg {
	char *name;
	char *version;        /* the binary's version */
	char *source;         /* Source:, or name when absent */
	char *source_version; /* Source:'s "(version)", or version */
} vg_dpkg_pkg;

/* Parses dpkg's status file: the packages whose Status is neither
 * "not-installed" nor "config-files", in file order. Paragraphs without
 * Package or Version are skipped; a field line without a colon, a
 * Source with an unclosed "(", or too many packages is VG_ERR_INVALID
 * (too large: VG_ERR_TOO_LARGE). Callee-allocated: free with
 * vg_dpkg_free(); nothing is returned on failure. */
VG_NODISCARD vg_rc vg_dpkg_status_parse(const uint8_t *buf, size_t len, vg_dpkg_pkg **out,
					size_t *n, char *why, size_t cap);
void vg_dpkg_free(vg_dpkg_pkg *pkgs, size_t n);

typedef struct vg_vulndb vg_vulndb;

/* Loads the tracker's JSON and checks its shape (see above). Callee-
 * allocated: free with vg_vulndb_free (NULL-safe, double pointer). */
VG_NODISCARD vg_rc vg_vulndb_load(const uint8_t *buf, size_t len, vg_vulndb **out, char *why,
				  size_t cap);
void vg_vulndb_free(vg_vulndb **db);

typedef enum vg_vuln_kind {
	VG_VULN_FIXED = 1,        /* resolved in the release, installed version older */
	VG_VULN_OPEN = 2,         /* no fix in the release */
	VG_VULN_UNDETERMINED = 3, /* the tracker does not know yet */
	VG_VULN_NOT_AFFECTED = 4, /* resolved, fixed_version "0" or none: never affected */
} vg_vuln_kind;

/* One vulnerability of one installed source package. */
typedef struct vg_vuln_hit {
	vg_vuln_kind kind;
	char source[128];
	char cve[64];
	char installed[VG_DPKG_MAX_FIELD + 1]; /* the source's installed version */
	char fixed[VG_DPKG_MAX_FIELD + 1];     /* "" when none */
	char urgency[32];                      /* as the tracker says, "" when absent */
	char status[32];                       /* the tracker's status, as it says */
	char nodsa_reason[32];                 /* "ignored", "postponed", "" when absent */
	char nodsa[256];                       /* why no advisory, "" when absent */
	char binaries[256];                    /* installed binary packages, ", "-separated */
} vg_vuln_hit;

/* The vulnerabilities of the installed packages in release (e.g.
 * "bookworm"), in the order of the packages and then of the tracker.
 * A package whose version does not parse is skipped and counted in
 * *unparsed (may be NULL); an unparsable fixed_version is reported as
 * undetermined; the entries that say the release was never affected are
 * VG_VULN_NOT_AFFECTED hits only when not_affected is set (they are many:
 * a scan that does not show them does not hold them). Callee-allocated
 * array (free()), *n hits. */
VG_NODISCARD vg_rc vg_vulndb_match(const vg_vulndb *db, const char *release,
				   const vg_dpkg_pkg *pkgs, size_t npkgs, bool not_affected,
				   vg_vuln_hit **out, size_t *n, size_t *unparsed, char *why,
				   size_t cap);

#endif
