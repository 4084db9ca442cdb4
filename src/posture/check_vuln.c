/*
 * check_vuln.c - `voxguard doctor` check "vuln" (AVS 1.13: the firmware
 * image is scanned for known vulnerabilities): var/lib/dpkg/status of the
 * root against the Debian security tracker's JSON (vulndb.h). Each
 * finding carries its facts (vg_doc_vuln, the JSON's "vuln" member), which
 * scripts/vulnreport.py reads for the AVS 1.8 report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "posture/doctor_int.h"
#include "posture/vulndb.h"

static vg_doc_sev urgency_sev(const char *u, vg_vuln_kind kind)
{
	char w[32];
	size_t n;

	if (kind == VG_VULN_UNDETERMINED)
		return VG_SEV_INFO;
	(void)snprintf(w, sizeof w, "%s", u);
	n = strcspn(w, "*");
	w[n] = '\0';
	if (strcmp(w, "high") == 0 || strcmp(w, "critical") == 0)
		return VG_SEV_HIGH;
	if (strcmp(w, "low") == 0 || strcmp(w, "end-of-life") == 0)
		return VG_SEV_LOW;
	if (strcmp(w, "unimportant") == 0)
		return VG_SEV_INFO;
	return VG_SEV_MEDIUM; /* medium, "not yet assigned", absent */
}

/* The release from the root's os-release (VERSION_CODENAME). */
static bool os_codename(vg_doc_ctx *c, char *out, size_t cap)
{
	static const char *const files[] = {"etc/os-release", "usr/lib/os-release"};
	bool got = false;

	for (size_t f = 0; f < 2 && !got; f++) {
		char *buf, *save = NULL;
		size_t len;
		if (vg_doc_read(c, files[f], 65536, &buf, &len) != VG_OK)
			continue;
		for (char *l = strtok_r(buf, "\n", &save); l && !got;
		     l = strtok_r(NULL, "\n", &save))
			if (strncmp(l, "VERSION_CODENAME=", 17) == 0) {
				char *v = l + 17;
				size_t n;
				if (*v == '"' || *v == '\'')
					v++;
				n = strcspn(v, "\"' \t");
				if (n && n < cap) {
					memcpy(out, v, n);
					out[n] = '\0';
					got = true;
				}
			}
		free(buf);
	}
	return got;
}

vg_rc vg_doc_check_vuln(vg_doc_ctx *c, char *why, size_t cap)
{
	const vg_doc_opts *o = c->o;
	uint8_t *json = NULL;
	char *status = NULL, release[64], e[256];
	size_t jl, sl, npk = 0, nh = 0, bad = 0;
	vg_dpkg_pkg *pkgs = NULL;
	vg_vuln_hit *hits = NULL;
	vg_vulndb *db = NULL;
	vg_rc rc;

	if (!o->vuln_db[0]) {
		vg_doc_state_set(c, VG_DOC_VULN, VG_DOC_SKIPPED,
				 "no vulnerability list given (--vuln-db FILE)");
		return VG_OK;
	}
	rc = vg_read_file(o->vuln_db, VG_VULNDB_MAX_JSON, &json, &jl);
	if (rc != VG_OK)
		return vg_why(why, cap, rc, "--vuln-db %s: %s", o->vuln_db,
			      rc == VG_ERR_TOO_LARGE ? "too large" : "cannot be read");
	rc = vg_vulndb_load(json, jl, &db, e, sizeof e);
	free(json);
	if (rc != VG_OK)
		return vg_why(why, cap, rc, "--vuln-db %s: %s", o->vuln_db, e);
	if (o->release[0])
		(void)snprintf(release, sizeof release, "%s", o->release);
	else if (!os_codename(c, release, sizeof release)) {
		vg_vulndb_free(&db);
		return vg_why(why, cap, VG_ERR_INVALID,
			      "--vuln-db needs --release NAME: the root's os-release names no "
			      "VERSION_CODENAME");
	}
	rc = vg_doc_read(c, "var/lib/dpkg/status", VG_DPKG_MAX_STATUS, &status, &sl);
	if (rc != VG_OK) {
		vg_doc_state_set(
		    c, VG_DOC_VULN, rc == VG_ERR_NOT_FOUND ? VG_DOC_SKIPPED : VG_DOC_ERROR,
		    "/var/lib/dpkg/status: %s",
		    rc == VG_ERR_NOT_FOUND ? "absent (not a Debian root)" : vg_rc_str(rc));
		vg_vulndb_free(&db);
		return VG_OK;
	}
	rc = vg_dpkg_status_parse((const uint8_t *)status, sl, &pkgs, &npk, e, sizeof e);
	free(status);
	if (rc != VG_OK) {
		vg_doc_state_set(c, VG_DOC_VULN, VG_DOC_ERROR, "/var/lib/dpkg/status: %s", e);
		vg_vulndb_free(&db);
		return VG_OK;
	}
	rc = vg_vulndb_match(db, release, pkgs, npk, o->vuln_not_affected, &hits, &nh, &bad, e,
			     sizeof e);
	if (rc != VG_OK) {
		vg_doc_state_set(c, VG_DOC_VULN, VG_DOC_ERROR, "%s", e);
		goto out;
	}
	for (size_t i = 0; i < nh; i++) {
		const vg_vuln_hit *h = &hits[i];
		vg_doc_vuln v;
		char subj[1200];
		(void)snprintf(subj, sizeof subj, "%s %s", h->source, h->installed);
		if (h->kind == VG_VULN_NOT_AFFECTED) {
			vg_doc_add(c, VG_DOC_VULN, VG_SEV_INFO, "vuln.not-affected", subj,
				   "%s: %s %s: the tracker says %s was never affected", h->cve,
				   h->source, h->installed, release);
			vg_doc_fix(c, "none needed");
		} else if (h->kind == VG_VULN_FIXED) {
			vg_doc_add(
			    c, VG_DOC_VULN, urgency_sev(h->urgency, h->kind), "vuln.fixed", subj,
			    "%s: %s %s (binary packages: %s) is vulnerable; fixed in %s in %s "
			    "(urgency %s)",
			    h->cve, h->source, h->installed, h->binaries, h->fixed, release,
			    h->urgency[0] ? h->urgency : "not given");
			vg_doc_fix(c, "upgrade the packages to the fixed version and rebuild the "
				      "image");
		} else if (h->kind == VG_VULN_OPEN) {
			vg_doc_add(c, VG_DOC_VULN, urgency_sev(h->urgency, h->kind), "vuln.open",
				   subj,
				   "%s: %s %s (binary packages: %s) is vulnerable, with no fix in "
				   "%s yet (urgency %s)",
				   h->cve, h->source, h->installed, h->binaries, release,
				   h->urgency[0] ? h->urgency : "not given");
			vg_doc_fix(c, "remove the package if the product does not need it, or "
				      "mitigate and follow the tracker");
		} else {
			vg_doc_add(c, VG_DOC_VULN, VG_SEV_INFO, "vuln.undetermined", subj,
				   "%s: %s %s: the tracker has not determined whether %s is "
				   "affected",
				   h->cve, h->source, h->installed, release);
			vg_doc_fix(c, "follow the tracker");
		}
		(void)snprintf(v.cve, sizeof v.cve, "%s", h->cve);
		(void)snprintf(v.source, sizeof v.source, "%s", h->source);
		(void)snprintf(v.installed, sizeof v.installed, "%s", h->installed);
		(void)snprintf(v.fixed_version, sizeof v.fixed_version, "%s", h->fixed);
		(void)snprintf(v.urgency, sizeof v.urgency, "%s", h->urgency);
		(void)snprintf(v.tracker_status, sizeof v.tracker_status, "%s", h->status);
		(void)snprintf(v.nodsa_reason, sizeof v.nodsa_reason, "%s", h->nodsa_reason);
		(void)snprintf(v.nodsa, sizeof v.nodsa, "%s", h->nodsa);
		vg_doc_vuln_set(c, &v);
	}
	vg_doc_state_set(c, VG_DOC_VULN, VG_DOC_RAN, "%zu installed packages against %s%s", npk,
			 release, bad ? " (some versions did not parse)" : "");
	rc = VG_OK;
out:
	free(hits);
	vg_dpkg_free(pkgs, npk);
	vg_vulndb_free(&db);
	return VG_OK;
}
