/*
 * vulndb.c - dpkg's status file and the Debian security tracker's JSON
 * (see vulndb.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "posture/debver.h"
#include "posture/vulndb.h"

struct vg_vulndb {
	json_t *root;
};

void vg_dpkg_free(vg_dpkg_pkg *pkgs, size_t n)
{
	if (!pkgs)
		return;
	for (size_t i = 0; i < n; i++) {
		free(pkgs[i].name);
		free(pkgs[i].version);
		free(pkgs[i].source);
		free(pkgs[i].source_version);
	}
	free(pkgs);
}

struct para {
	char name[VG_DPKG_MAX_FIELD + 1], version[VG_DPKG_MAX_FIELD + 1];
	char source[VG_DPKG_MAX_FIELD + 1], status[VG_DPKG_MAX_FIELD + 1];
	bool has_name, has_version, has_source, has_status;
};

/* Copies the field's value (blanks trimmed) into dst; false when it does
 * not fit. */
static bool take(const char *v, size_t n, char dst[static VG_DPKG_MAX_FIELD + 1])
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n > VG_DPKG_MAX_FIELD)
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return memchr(dst, '\0', n) == NULL;
}

static bool status_installed(const char *st)
{
	/* "want flag status": the third word */
	const char *p = strrchr(st, ' ');
	p = p ? p + 1 : st;
	return *p && strcmp(p, "not-installed") != 0 && strcmp(p, "config-files") != 0;
}

static vg_rc para_end(struct para *p, vg_dpkg_pkg **pkgs, size_t *n, size_t *cap, char *why,
		      size_t wcap)
{
	vg_dpkg_pkg *k;
	char src[VG_DPKG_MAX_FIELD + 1], srcver[VG_DPKG_MAX_FIELD + 1];
	vg_rc rc = VG_OK;

	/* an empty Package or Version counts as absent (found by fuzz_vulndb) */
	if (!p->has_name || !p->has_version || !p->has_status || !p->name[0] || !p->version[0] ||
	    !status_installed(p->status))
		goto out;
	snprintf(src, sizeof src, "%s", p->has_source ? p->source : p->name);
	snprintf(srcver, sizeof srcver, "%s", p->version);
	{
		char *paren = strchr(src, '(');
		if (paren) {
			char *close = strchr(paren, ')');
			size_t vlen;

			if (!close || close[1] != '\0') {
				rc = vg_why(why, wcap, VG_ERR_INVALID,
					    "package %s: Source \"%s\": unclosed or trailing \"(\"",
					    p->name, p->source);
				goto out;
			}
			vlen = (size_t)(close - paren - 1);
			memmove(srcver, paren + 1, vlen);
			srcver[vlen] = '\0';
			while (paren > src && paren[-1] == ' ')
				paren--;
			*paren = '\0';
		}
	}
	if (!*src || !*srcver) {
		rc = vg_why(why, wcap, VG_ERR_INVALID, "package %s: empty Source or version",
			    p->name);
		goto out;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		vg_dpkg_pkg *g;

		if (*n >= VG_DPKG_MAX_PKGS) {
			rc = vg_why(why, wcap, VG_ERR_INVALID, "more than %u packages",
				    VG_DPKG_MAX_PKGS);
			goto out;
		}
		g = realloc(*pkgs, nc * sizeof *g);
		if (!g) {
			rc = vg_why(why, wcap, VG_ERR_NOMEM, "out of memory");
			goto out;
		}
		*pkgs = g;
		*cap = nc;
	}
	k = &(*pkgs)[*n];
	k->name = strdup(p->name);
	k->version = strdup(p->version);
	k->source = strdup(src);
	k->source_version = strdup(srcver);
	(*n)++;
	if (!k->name || !k->version || !k->source || !k->source_version)
		rc = vg_why(why, wcap, VG_ERR_NOMEM, "out of memory");
out:
	memset(p, 0, sizeof *p);
	return rc;
}

vg_rc vg_dpkg_status_parse(const uint8_t *buf, size_t len, vg_dpkg_pkg **out, size_t *n, char *why,
			   size_t cap)
{
	const char *s = (const char *)buf, *end = s + len;
	struct para *p = calloc(1, sizeof *p);
	vg_dpkg_pkg *pkgs = NULL;
	size_t np = 0, pcap = 0, lineno = 0;
	vg_rc rc = VG_OK;

	*out = NULL;
	*n = 0;
	if (!p)
		return vg_why(why, cap, VG_ERR_NOMEM, "out of memory");
	if (len > VG_DPKG_MAX_STATUS) {
		rc = vg_why(why, cap, VG_ERR_TOO_LARGE, "status file larger than %u bytes",
			    VG_DPKG_MAX_STATUS);
		goto out;
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *colon;
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);

		lineno++;
		if (l == 0 || (l == 1 && s[0] == '\r')) {
			rc = para_end(p, &pkgs, &np, &pcap, why, cap);
			if (rc != VG_OK)
				goto out;
		} else if (s[0] == ' ' || s[0] == '\t') {
			/* a continuation line (Description, Conffiles) */
		} else {
			colon = memchr(s, ':', l);
			if (!colon) {
				rc = vg_why(why, cap, VG_ERR_INVALID,
					    "status line %zu: a field without a colon", lineno);
				goto out;
			}
			{
				size_t kl = (size_t)(colon - s), vl = l - kl - 1;
				const char *v = colon + 1;
				bool fits = true;
#define FIELD(key, dst, flag)                                        \
	if (kl == sizeof(key) - 1 && strncasecmp(s, key, kl) == 0) { \
		fits = take(v, vl, p->dst);                          \
		p->flag = true;                                      \
	}
				FIELD("Package", name, has_name)
				FIELD("Version", version, has_version)
				FIELD("Source", source, has_source)
				FIELD("Status", status, has_status)
#undef FIELD
				if (!fits) {
					rc = vg_why(
					    why, cap, VG_ERR_INVALID,
					    "status line %zu: a field too long or with a NUL",
					    lineno);
					goto out;
				}
			}
		}
		s = nl ? nl + 1 : end;
	}
	rc = para_end(p, &pkgs, &np, &pcap, why, cap);
out:
	free(p);
	if (rc != VG_OK) {
		vg_dpkg_free(pkgs, np);
		return rc;
	}
	*out = pkgs;
	*n = np;
	return VG_OK;
}

/* ------------------------------------------------------------------ */

static vg_rc shape_error(char *why, size_t cap, const char *src, const char *cve, const char *rel,
			 const char *what)
{
	return vg_why(why, cap, VG_ERR_INVALID, "vulnerability list: %s%s%s%s%s: %s", src,
		      cve ? "/" : "", cve ? cve : "", rel ? "/releases/" : "", rel ? rel : "",
		      what);
}

static vg_rc check_shape(json_t *root, char *why, size_t cap)
{
	const char *src, *cve, *rel;
	json_t *pv, *cv, *rv;

	if (!json_is_object(root))
		return vg_why(why, cap, VG_ERR_INVALID,
			      "vulnerability list: not a JSON object of source packages");
	json_object_foreach(root, src, pv)
	{
		if (!*src || strlen(src) >= sizeof(((vg_vuln_hit *)0)->source))
			return shape_error(why, cap, "(a source package)", NULL, NULL,
					   "empty or too long a name");
		if (!json_is_object(pv))
			return shape_error(why, cap, src, NULL, NULL, "not an object");
		json_object_foreach(pv, cve, cv)
		{
			json_t *rels;

			if (!*cve || strlen(cve) >= sizeof(((vg_vuln_hit *)0)->cve))
				return shape_error(why, cap, src, "(an issue)", NULL,
						   "empty or too long a name");
			if (!json_is_object(cv))
				return shape_error(why, cap, src, cve, NULL, "not an object");
			rels = json_object_get(cv, "releases");
			if (!rels)
				continue;
			if (!json_is_object(rels))
				return shape_error(why, cap, src, cve, NULL,
						   "releases is not an object");
			json_object_foreach(rels, rel, rv)
			{
				json_t *st, *fv, *ur, *nd, *nr;

				if (!json_is_object(rv))
					return shape_error(why, cap, src, cve, rel,
							   "not an object");
				st = json_object_get(rv, "status");
				fv = json_object_get(rv, "fixed_version");
				ur = json_object_get(rv, "urgency");
				nd = json_object_get(rv, "nodsa");
				nr = json_object_get(rv, "nodsa_reason");
				if (!json_is_string(st))
					return shape_error(why, cap, src, cve, rel,
							   "status missing or not a string");
				if (fv && !json_is_string(fv))
					return shape_error(why, cap, src, cve, rel,
							   "fixed_version is not a string");
				if (ur && !json_is_string(ur))
					return shape_error(why, cap, src, cve, rel,
							   "urgency is not a string");
				/* the export writes null when there is none */
				if (nd && !json_is_string(nd) && !json_is_null(nd))
					return shape_error(why, cap, src, cve, rel,
							   "nodsa is not a string or null");
				if (nr && !json_is_string(nr) && !json_is_null(nr))
					return shape_error(why, cap, src, cve, rel,
							   "nodsa_reason is not a string or null");
			}
		}
	}
	return VG_OK;
}

vg_rc vg_vulndb_load(const uint8_t *buf, size_t len, vg_vulndb **out, char *why, size_t cap)
{
	json_error_t jerr;
	vg_vulndb *db;
	json_t *root;
	vg_rc rc;

	*out = NULL;
	if (len > VG_VULNDB_MAX_JSON)
		return vg_why(why, cap, VG_ERR_TOO_LARGE, "vulnerability list larger than %u bytes",
			      VG_VULNDB_MAX_JSON);
	root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vg_why(why, cap, VG_ERR_INVALID, "vulnerability list: line %d: %s",
			      jerr.line, jerr.text);
	rc = check_shape(root, why, cap);
	if (rc != VG_OK) {
		json_decref(root);
		return rc;
	}
	db = calloc(1, sizeof *db);
	if (!db) {
		json_decref(root);
		return vg_why(why, cap, VG_ERR_NOMEM, "out of memory");
	}
	db->root = root;
	*out = db;
	return VG_OK;
}

void vg_vulndb_free(vg_vulndb **db)
{
	if (!db || !*db)
		return;
	json_decref((*db)->root);
	free(*db);
	*db = NULL;
}

static void add_binary(char *list, size_t cap, const char *name)
{
	size_t l = strlen(list);

	if (l && l + 2 < cap) {
		/* already there? */
		const char *p = list;
		size_t nl = strlen(name);
		while ((p = strstr(p, name)) != NULL) {
			if ((p == list || p[-1] == ' ') && (p[nl] == ',' || p[nl] == '\0'))
				return;
			p += nl;
		}
	}
	if (l + strlen(name) + 3 >= cap) {
		if (l + 4 < cap && strcmp(list + (l >= 3 ? l - 3 : 0), "...") != 0)
			(void)snprintf(list + l, cap - l, ", ...");
		return;
	}
	(void)snprintf(list + l, cap - l, "%s%s", l ? ", " : "", name);
}

static vg_rc push_hit(vg_vuln_hit **hits, size_t *n, size_t *cap, vg_vuln_hit **h)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		vg_vuln_hit *g = realloc(*hits, nc * sizeof *g);
		if (!g)
			return VG_ERR_NOMEM;
		*hits = g;
		*cap = nc;
	}
	*h = &(*hits)[(*n)++];
	memset(*h, 0, sizeof **h);
	return VG_OK;
}

vg_rc vg_vulndb_match(const vg_vulndb *db, const char *release, const vg_dpkg_pkg *pkgs,
		      size_t npkgs, bool not_affected, vg_vuln_hit **out, size_t *n,
		      size_t *unparsed, char *why, size_t cap)
{
	vg_vuln_hit *hits = NULL;
	size_t nh = 0, hcap = 0, bad = 0;
	vg_debver *inst = NULL, *fix = NULL;
	vg_rc rc = VG_OK;

	*out = NULL;
	*n = 0;
	if (unparsed)
		*unparsed = 0;
	inst = malloc(sizeof *inst);
	fix = malloc(sizeof *fix);
	if (!inst || !fix) {
		rc = vg_why(why, cap, VG_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < npkgs; i++) {
		const vg_dpkg_pkg *p = &pkgs[i];
		json_t *src, *cv;
		const char *cve;
		bool seen = false;

		/* a source (at one version) once: later binaries join the
		 * first one's hits */
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(pkgs[j].source, p->source) == 0 &&
			       strcmp(pkgs[j].source_version, p->source_version) == 0;
		if (seen) {
			for (size_t h = 0; h < nh; h++)
				if (strcmp(hits[h].source, p->source) == 0 &&
				    strcmp(hits[h].installed, p->source_version) == 0)
					add_binary(hits[h].binaries, sizeof hits[h].binaries,
						   p->name);
			continue;
		}
		src = json_object_get(db->root, p->source);
		if (!src)
			continue;
		if (vg_debver_parse(p->source_version, inst, NULL, 0) != VG_OK) {
			bad++;
			continue;
		}
		json_object_foreach(src, cve, cv)
		{
			json_t *r = json_object_get(json_object_get(cv, "releases"), release);
			const char *st, *fv, *ur, *nd, *nr;
			vg_vuln_kind kind;
			vg_vuln_hit *h;

			if (!r)
				continue;
			st = json_string_value(json_object_get(r, "status"));
			fv = json_string_value(json_object_get(r, "fixed_version"));
			ur = json_string_value(json_object_get(r, "urgency"));
			nd = json_string_value(json_object_get(r, "nodsa"));
			nr = json_string_value(json_object_get(r, "nodsa_reason"));
			if (!st)
				continue;
			if (strcmp(st, "resolved") == 0) {
				if (!fv || strcmp(fv, "0") == 0) {
					if (!not_affected)
						continue;
					kind = VG_VULN_NOT_AFFECTED;
				} else if (vg_debver_parse(fv, fix, NULL, 0) != VG_OK)
					kind = VG_VULN_UNDETERMINED;
				else if (vg_debver_cmp(inst, fix) < 0)
					kind = VG_VULN_FIXED;
				else
					continue;
			} else if (strcmp(st, "open") == 0) {
				kind = VG_VULN_OPEN;
			} else {
				kind = VG_VULN_UNDETERMINED;
			}
			if (push_hit(&hits, &nh, &hcap, &h) != VG_OK) {
				rc = vg_why(why, cap, VG_ERR_NOMEM, "out of memory");
				goto out;
			}
			h->kind = kind;
			(void)snprintf(h->source, sizeof h->source, "%s", p->source);
			(void)snprintf(h->cve, sizeof h->cve, "%s", cve);
			(void)snprintf(h->installed, sizeof h->installed, "%s", p->source_version);
			(void)snprintf(h->fixed, sizeof h->fixed, "%s", fv ? fv : "");
			(void)snprintf(h->urgency, sizeof h->urgency, "%s", ur ? ur : "");
			(void)snprintf(h->status, sizeof h->status, "%s", st);
			(void)snprintf(h->nodsa_reason, sizeof h->nodsa_reason, "%s", nr ? nr : "");
			(void)snprintf(h->nodsa, sizeof h->nodsa, "%s", nd ? nd : "");
			add_binary(h->binaries, sizeof h->binaries, p->name);
		}
	}
out:
	free(inst);
	free(fix);
	if (rc != VG_OK) {
		free(hits);
		return rc;
	}
	if (unparsed)
		*unparsed = bad;
	*out = hits;
	*n = nh;
	return VG_OK;
}
