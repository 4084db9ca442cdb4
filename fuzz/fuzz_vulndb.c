/*
 * fuzz_vulndb.c - libFuzzer harness for the image scan's two inputs
 * (src/posture/vulndb.h; AVS 1.13): the Debian security tracker's JSON
 * and dpkg's status file, and the Debian version parser and order
 * (src/posture/debver.h) they lead to.
 *
 * The input is tried as all three: as the tracker's JSON, matched against
 * a fixed set of installed packages; as a status file, matched against a
 * fixed tracker; as two versions (split at the first newline), whose
 * order must be antisymmetric and agree with equality. A refusal must
 * leave nothing allocated and give a reason. Seed corpus:
 * fuzz/corpus/vulndb/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "posture/debver.h"
#include "posture/vulndb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_status[] =
    "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n"
    "Package: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\n"
    "Version: 1:1.2.13.dfsg-1+b1\n\n"
    "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u5\n";
static const char fixed_db[] =
    "{\"openssl\": {\"CVE-2024-0001\": {\"releases\": {\"bookworm\": {\"status\": "
    "\"resolved\", \"fixed_version\": \"3.0.13-1~deb12u1\", \"urgency\": \"high\"}}}},"
    "\"zlib\": {\"CVE-2023-0004\": {\"releases\": {\"bookworm\": {\"status\": \"open\"}}}}}";

static void match(const vg_vulndb *db, const vg_dpkg_pkg *p, size_t np)
{
	vg_vuln_hit *h = NULL;
	size_t nh = 0, bad = 0;
	char why[128];

	if (vg_vulndb_match(db, "bookworm", p, np, true, &h, &nh, &bad, why, sizeof why) != VG_OK)
		return;
	for (size_t i = 0; i < nh; i++)
		if (h[i].kind < VG_VULN_FIXED || h[i].kind > VG_VULN_NOT_AFFECTED ||
		    !memchr(h[i].binaries, '\0', sizeof h[i].binaries))
			abort();
	free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_vulndb *db = NULL;
	vg_dpkg_pkg *p = NULL;
	size_t np = 0;
	char why[256];
	vg_rc rc;

	if (size > (1u << 20))
		return 0;
	/* as the tracker's JSON */
	why[0] = '\0';
	rc = vg_vulndb_load(data, size, &db, why, sizeof why);
	if (rc != VG_OK) {
		if (db || !why[0])
			abort();
	} else {
		vg_dpkg_pkg *fp = NULL;
		size_t fn = 0;
		if (vg_dpkg_status_parse((const uint8_t *)fixed_status, sizeof fixed_status - 1,
					 &fp, &fn, why, sizeof why) != VG_OK)
			abort();
		match(db, fp, fn);
		vg_dpkg_free(fp, fn);
		vg_vulndb_free(&db);
	}
	/* as dpkg's status file */
	why[0] = '\0';
	rc = vg_dpkg_status_parse(data, size, &p, &np, why, sizeof why);
	if (rc != VG_OK) {
		if (p || np || !why[0])
			abort();
	} else {
		for (size_t i = 0; i < np; i++)
			if (!p[i].name[0] || !p[i].source[0] || !p[i].source_version[0])
				abort();
		if (vg_vulndb_load((const uint8_t *)fixed_db, sizeof fixed_db - 1, &db, why,
				   sizeof why) != VG_OK)
			abort();
		match(db, p, np);
		vg_vulndb_free(&db);
		vg_dpkg_free(p, np);
	}
	/* as two versions */
	if (size < 2 * VG_DEBVER_MAX) {
		char *s = malloc(size + 1), *nl;
		vg_debver a, b;
		if (!s)
			return 0;
		memcpy(s, data, size);
		s[size] = '\0';
		nl = strchr(s, '\n');
		if (nl) {
			*nl = '\0';
			if (vg_debver_parse(s, &a, NULL, 0) == VG_OK &&
			    vg_debver_parse(nl + 1, &b, NULL, 0) == VG_OK) {
				int ab = vg_debver_cmp(&a, &b), ba = vg_debver_cmp(&b, &a);
				if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0))
					abort();
				if (vg_debver_cmp(&a, &a) != 0)
					abort();
			}
		}
		free(s);
	}
	return 0;
}
