/*
 * doctor.c - the frame of `voxguard doctor` (see doctor.h): the run, the
 * root's files, systemd units and sysctl settings as the checks need
 * them, the report in text and JSON.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "posture/doctor.h"
#include "posture/doctor_int.h"

static const char *const check_names[VG_DOC_N_CHECKS] = {
    "accounts", "network",  "ssh",   "perms",     "setuid", "elf",
    "sysctl",   "coredump", "voice", "bluetooth", "vuln"};
static const char *const sev_names[] = {"info", "low", "medium", "high"};

const char *vg_doc_check_name(vg_doc_check c)
{
	return (unsigned)c < VG_DOC_N_CHECKS ? check_names[c] : "?";
}

const char *vg_doc_sev_name(vg_doc_sev s)
{
	return (unsigned)s <= VG_SEV_HIGH ? sev_names[s] : "?";
}

bool vg_doc_sev_parse(const char *s, vg_doc_sev *out)
{
	for (unsigned i = 0; i <= VG_SEV_HIGH; i++)
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (vg_doc_sev)i;
			return true;
		}
	return false;
}

char *vg_doc_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* Printable ASCII: other bytes become \xNN (hostile names reach no
 * terminal and the JSON stays valid UTF-8). */
static void printable(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	for (; *src && o + 1 < cap; src++) {
		unsigned char ch = (unsigned char)*src;
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			dst[o++] = (char)ch;
		} else {
			if (o + 5 >= cap)
				break;
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", ch);
		}
	}
	dst[o] = '\0';
}

void vg_doc_add(vg_doc_ctx *c, vg_doc_check check, vg_doc_sev sev, const char *id,
		const char *subject, const char *fmt, ...)
{
	vg_doc_report *r = c->r;
	vg_doc_finding *f;
	char text[1024];
	va_list ap;

	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		vg_doc_finding *g = nc > 1000000 ? NULL : realloc(r->f, nc * sizeof *g);
		if (!g) {
			r->truncated = true;
			return;
		}
		r->f = g;
		r->cap = nc;
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof *f);
	f->check = check;
	f->sev = sev;
	(void)snprintf(f->id, sizeof f->id, "%s", id);
	printable(f->subject, sizeof f->subject, subject);
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	printable(f->text, sizeof f->text, text);
	r->st[check].findings++;
}

void vg_doc_fix(vg_doc_ctx *c, const char *fix)
{
	if (c->r->n)
		printable(c->r->f[c->r->n - 1].fix, sizeof c->r->f[0].fix, fix);
}

void vg_doc_vuln_set(vg_doc_ctx *c, const vg_doc_vuln *v)
{
	vg_doc_finding *f;
	vg_doc_vuln *d;

	if (!c->r->n || c->r->truncated)
		return;
	f = &c->r->f[c->r->n - 1];
	d = f->vuln ? f->vuln : calloc(1, sizeof *d);
	if (!d)
		return;
#define P(m) printable(d->m, sizeof d->m, v->m)
	P(cve);
	P(source);
	P(installed);
	P(fixed_version);
	P(urgency);
	P(tracker_status);
	P(nodsa_reason);
	P(nodsa);
#undef P
	f->vuln = d;
}

void vg_doc_state_set(vg_doc_ctx *c, vg_doc_check check, vg_doc_state st, const char *fmt, ...)
{
	char note[512];
	va_list ap;

	c->r->st[check].state = st;
	va_start(ap, fmt);
	(void)vsnprintf(note, sizeof note, fmt, ap);
	va_end(ap);
	printable(c->r->st[check].note, sizeof c->r->st[check].note, note);
}

static bool have_openat2(int rootfd)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	long fd = syscall(SYS_openat2, rootfd, ".", &how, sizeof how);

	if (fd < 0)
		return false;
	(void)close((int)fd);
	return true;
}

/* ------------------------------------------------------------------ */
/* Files inside the root                                                */

int vg_doc_open(vg_doc_ctx *c, const char *rel, int flags, bool nofollow)
{
	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	/* openat2 refuses O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW
	 * and O_CLOEXEC */
	flags |= O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY);
	if (nofollow)
		flags |= O_NOFOLLOW;
	if (c->openat2) {
		struct open_how how = {.flags = (uint64_t)flags,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		long fd = syscall(SYS_openat2, c->rootfd, rel, &how, sizeof how);
		return (int)fd;
	}
	/* Without openat2 (Linux < 5.6) a link in the middle of the path is
	 * followed as the kernel sees it. */
	return openat(c->rootfd, rel, flags);
}

vg_rc vg_doc_read(vg_doc_ctx *c, const char *rel, size_t max, char **buf, size_t *len)
{
	uint8_t *b = NULL;
	size_t n = 0;
	struct stat st;
	vg_rc rc;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = vg_doc_open(c, rel, O_RDONLY | O_NONBLOCK, false);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? VG_ERR_NOT_FOUND
		       : errno == EACCES || errno == EPERM                   ? VG_ERR_DENIED
									     : VG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		return VG_ERR_NOT_FOUND;
	}
	rc = vg_read_fd(fd, max, &b, &n);
	(void)close(fd);
	if (rc != VG_OK)
		return rc;
	{
		char *t = realloc(b, n + 1);
		if (!t) {
			free(b);
			return VG_ERR_NOMEM;
		}
		t[n] = '\0';
		*buf = t;
	}
	*len = n;
	return VG_OK;
}

bool vg_doc_exists(vg_doc_ctx *c, const char *rel, struct stat *st)
{
	struct stat s;
	int fd = vg_doc_open(c, rel, O_PATH, false);

	if (fd < 0)
		return false;
	if (fstat(fd, st ? st : &s) != 0) {
		(void)close(fd);
		return false;
	}
	(void)close(fd);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vg_doc_list(vg_doc_ctx *c, const char *rel, char ***names, size_t *n)
{
	int fd = vg_doc_open(c, rel, O_RDONLY | O_DIRECTORY, false);
	char **v = NULL;
	size_t k = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		(void)close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL && k < 4096) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (k == cap) {
			size_t nc = cap ? cap * 2 : 32;
			char **g = realloc(v, nc * sizeof *g);
			if (!g)
				break;
			v = g;
			cap = nc;
		}
		v[k] = strdup(de->d_name);
		if (!v[k])
			break;
		k++;
	}
	(void)closedir(d);
	if (k)
		qsort(v, k, sizeof *v, cmp_str);
	*names = v;
	*n = k;
}

void vg_doc_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ------------------------------------------------------------------ */
/* systemd units                                                        */

const char *const vg_doc_unit_dirs[] = {"etc/systemd/system",           "run/systemd/system",
					"usr/local/lib/systemd/system", "usr/lib/systemd/system",
					"lib/systemd/system",           NULL};

bool vg_doc_unit_find(vg_doc_ctx *c, const char *name, char *path, size_t cap)
{
	if (strchr(name, '/') || name[0] == '.')
		return false;
	for (size_t i = 0; vg_doc_unit_dirs[i]; i++) {
		char p[VG_DOC_MAX_PATH];
		struct stat st;

		if (c->offline && strncmp(vg_doc_unit_dirs[i], "run/", 4) == 0)
			continue;
		char target[64];
		ssize_t tl = -1;
		int fd;

		(void)snprintf(p, sizeof p, "%s/%s", vg_doc_unit_dirs[i], name);
		fd = vg_doc_open(c, p, O_PATH, true);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode))
			tl = readlinkat(fd, "", target, sizeof target - 1);
		(void)close(fd);
		/* a link to /dev/null masks the unit (in an image /dev is
		 * empty: the link's text says it) */
		if (tl > 0) {
			target[tl] = '\0';
			if (strcmp(target, "/dev/null") == 0)
				return false;
		}
		if (vg_doc_exists(c, p, &st)) {
			if (!S_ISREG(st.st_mode))
				return false;
			(void)snprintf(path, cap, "%s", p);
			return true;
		}
	}
	return false;
}

void vg_doc_enabled_units(vg_doc_ctx *c, char ***out, size_t *nout)
{
	char **dirs, **v = NULL;
	size_t nd, k = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	vg_doc_list(c, "etc/systemd/system", &dirs, &nd);
	for (size_t i = 0; i < nd; i++) {
		size_t l = strlen(dirs[i]);
		char rel[VG_DOC_MAX_PATH], **names;
		size_t nn;

		if (!((l > 6 && strcmp(dirs[i] + l - 6, ".wants") == 0) ||
		      (l > 9 && strcmp(dirs[i] + l - 9, ".requires") == 0)))
			continue;
		(void)snprintf(rel, sizeof rel, "etc/systemd/system/%s", dirs[i]);
		vg_doc_list(c, rel, &names, &nn);
		for (size_t j = 0; j < nn; j++) {
			bool dup = false;
			for (size_t m = 0; m < k && !dup; m++)
				dup = strcmp(v[m], names[j]) == 0;
			if (dup || k >= 4096)
				continue;
			if (k == cap) {
				size_t nc = cap ? cap * 2 : 32;
				char **g = realloc(v, nc * sizeof *g);
				if (!g)
					break;
				v = g;
				cap = nc;
			}
			v[k] = strdup(names[j]);
			if (v[k])
				k++;
		}
		vg_doc_names_free(names, nn);
	}
	vg_doc_names_free(dirs, nd);
	*out = v;
	*nout = k;
}

bool vg_doc_unit_enabled(vg_doc_ctx *c, const char *name)
{
	char **names, p[VG_DOC_MAX_PATH];
	size_t n;
	bool on = false;

	vg_doc_enabled_units(c, &names, &n);
	for (size_t i = 0; i < n && !on; i++)
		on = strcmp(names[i], name) == 0;
	vg_doc_names_free(names, n);
	/* masked units are not enabled whatever links say */
	if (on) {
		struct stat st;
		(void)snprintf(p, sizeof p, "etc/systemd/system/%s", name);
		if (vg_doc_exists(c, p, &st) && S_ISCHR(st.st_mode))
			on = false;
	}
	return on;
}

static void parse_unit_text(char *text, const char *section, vg_doc_unit_cb fn, void *ctx)
{
	bool in = false;
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = vg_doc_trim(line), *eq;

		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *e = strchr(l, ']');
			in = e && (size_t)(e - l - 1) == strlen(section) &&
			     strncmp(l + 1, section, strlen(section)) == 0;
			continue;
		}
		if (!in || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		fn(ctx, vg_doc_trim(l), vg_doc_trim(eq + 1));
	}
}

bool vg_doc_unit_parse(vg_doc_ctx *c, const char *name, const char *section, vg_doc_unit_cb fn,
		       void *ctx, char *path, size_t cap)
{
	char *buf;
	size_t len;

	if (!vg_doc_unit_find(c, name, path, cap))
		return false;
	if (vg_doc_read(c, path, VG_DOC_MAX_FILE, &buf, &len) != VG_OK)
		return false;
	parse_unit_text(buf, section, fn, ctx);
	free(buf);
	/* drop-ins: NAME.d/ *.conf of every unit directory, by file name */
	{
		char *all[256];
		size_t na = 0;

		for (size_t i = 0; vg_doc_unit_dirs[i]; i++) {
			char d[VG_DOC_MAX_PATH], **names;
			size_t n;

			(void)snprintf(d, sizeof d, "%s/%s.d", vg_doc_unit_dirs[i], name);
			vg_doc_list(c, d, &names, &n);
			for (size_t j = 0; j < n && na < VG_ARRAY_LEN(all); j++) {
				size_t l = strlen(names[j]);
				bool dup = false;
				if (l < 6 || strcmp(names[j] + l - 5, ".conf") != 0)
					continue;
				for (size_t m = 0; m < na && !dup; m++)
					dup = strcmp(strrchr(all[m], '/') + 1, names[j]) == 0;
				if (dup)
					continue;
				if (asprintf(&all[na], "%s/%s", d, names[j]) >= 0)
					na++;
			}
			vg_doc_names_free(names, n);
		}
		for (size_t i = 1; i < na; i++)
			for (size_t j = i;
			     j > 0 && strcmp(strrchr(all[j - 1], '/'), strrchr(all[j], '/')) > 0;
			     j--) {
				char *t = all[j];
				all[j] = all[j - 1];
				all[j - 1] = t;
			}
		for (size_t i = 0; i < na; i++) {
			if (vg_doc_read(c, all[i], VG_DOC_MAX_FILE, &buf, &len) == VG_OK) {
				parse_unit_text(buf, section, fn, ctx);
				free(buf);
			}
			free(all[i]);
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* sysctl                                                               */

static void sysctl_norm(char *k)
{
	for (; *k; k++)
		if (*k == '/')
			*k = '.';
}

/* Applies one sysctl.conf text: the last assignment of key wins. */
static void sysctl_apply(char *text, const char *key, char *val, size_t cap)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = vg_doc_trim(line), *eq, *k;

		if (!*l || *l == '#' || *l == ';' || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		k = vg_doc_trim(l);
		if (*k == '-')
			k++;
		sysctl_norm(k);
		if (strcmp(k, key) == 0)
			(void)snprintf(val, cap, "%s", vg_doc_trim(eq + 1));
	}
}

bool vg_doc_sysctl_conf(vg_doc_ctx *c, const char *key, char *val, size_t cap)
{
	static const char *const dirs[] = {"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d",
					   "usr/lib/sysctl.d", "lib/sysctl.d"};
	char *files[512];
	size_t nf = 0;
	char *buf;
	size_t len;

	val[0] = '\0';
	for (size_t i = 0; i < VG_ARRAY_LEN(dirs); i++) {
		char **names;
		size_t n;

		if (c->offline && i == 1)
			continue;
		vg_doc_list(c, dirs[i], &names, &n);
		for (size_t j = 0; j < n && nf < VG_ARRAY_LEN(files); j++) {
			size_t l = strlen(names[j]);
			bool dup = false;

			if (l < 6 || strcmp(names[j] + l - 5, ".conf") != 0)
				continue;
			for (size_t m = 0; m < nf && !dup; m++)
				dup = strcmp(strrchr(files[m], '/') + 1, names[j]) == 0;
			if (!dup && asprintf(&files[nf], "%s/%s", dirs[i], names[j]) >= 0)
				nf++;
		}
		vg_doc_names_free(names, n);
	}
	for (size_t i = 1; i < nf; i++)
		for (size_t j = i;
		     j > 0 && strcmp(strrchr(files[j - 1], '/'), strrchr(files[j], '/')) > 0; j--) {
			char *t = files[j];
			files[j] = files[j - 1];
			files[j - 1] = t;
		}
	for (size_t i = 0; i < nf; i++) {
		if (vg_doc_read(c, files[i], VG_DOC_MAX_FILE, &buf, &len) == VG_OK) {
			sysctl_apply(buf, key, val, cap);
			free(buf);
		}
		free(files[i]);
	}
	/* procps' /etc/sysctl.conf, read last by `sysctl --system` */
	if (vg_doc_read(c, "etc/sysctl.conf", VG_DOC_MAX_FILE, &buf, &len) == VG_OK) {
		sysctl_apply(buf, key, val, cap);
		free(buf);
	}
	return val[0] != '\0';
}

bool vg_doc_sysctl_proc(vg_doc_ctx *c, const char *key, char *val, size_t cap)
{
	char rel[256], *buf;
	size_t len;

	(void)snprintf(rel, sizeof rel, "proc/sys/%s", key);
	for (char *p = rel + 9; *p; p++)
		if (*p == '.')
			*p = '/';
	if (vg_doc_read(c, rel, 65536, &buf, &len) != VG_OK)
		return false;
	(void)snprintf(val, cap, "%s", vg_doc_trim(buf));
	free(buf);
	return true;
}

bool vg_doc_kconfig(vg_doc_ctx *c, const char *sym, char *val, size_t cap)
{
	char **names;
	size_t n;
	bool found = false;

	vg_doc_list(c, "boot", &names, &n);
	for (size_t i = n; i-- > 0 && !found;) {
		char rel[VG_DOC_MAX_PATH], *buf, *save = NULL;
		size_t len, sl = strlen(sym);

		if (strncmp(names[i], "config-", 7) != 0)
			continue;
		(void)snprintf(rel, sizeof rel, "boot/%s", names[i]);
		if (vg_doc_read(c, rel, 16u * 1024u * 1024u, &buf, &len) != VG_OK)
			continue;
		found = true; /* a config: a symbol it lacks is "n" */
		(void)snprintf(val, cap, "n");
		for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (strncmp(l, sym, sl) == 0 && l[sl] == '=') {
				(void)snprintf(val, cap, "%s", l + sl + 1);
				break;
			}
		free(buf);
	}
	vg_doc_names_free(names, n);
	return found;
}

/* ------------------------------------------------------------------ */
/* Options                                                              */

vg_rc vg_doctor_add_port(vg_doc_opts *o, const char *s, char *why, size_t cap)
{
	char *end;
	unsigned long v;
	uint8_t proto = 0;

	if (o->n_ports >= VG_DOC_MAX_ALLOW)
		return vg_why(why, cap, VG_ERR_INVALID, "more than %u allowed ports",
			      VG_DOC_MAX_ALLOW);
	if (*s < '0' || *s > '9')
		return vg_why(why, cap, VG_ERR_INVALID, "allow-port '%s': not N, N/tcp or N/udp",
			      s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v == 0 || v > 65535)
		return vg_why(why, cap, VG_ERR_INVALID, "allow-port '%s': a port is 1 to 65535", s);
	if (strcmp(end, "/tcp") == 0)
		proto = 6;
	else if (strcmp(end, "/udp") == 0)
		proto = 17;
	else if (*end)
		return vg_why(why, cap, VG_ERR_INVALID, "allow-port '%s': not N, N/tcp or N/udp",
			      s);
	o->ports[o->n_ports].port = (uint16_t)v;
	o->ports[o->n_ports].proto = proto;
	o->n_ports++;
	return VG_OK;
}

vg_rc vg_doctor_checks_parse(const char *s, uint32_t *mask, char *why, size_t cap)
{
	char buf[256], *save = NULL;

	if (strlen(s) >= sizeof buf)
		return vg_why(why, cap, VG_ERR_INVALID, "check list too long");
	(void)snprintf(buf, sizeof buf, "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned i;
		t = vg_doc_trim(t);
		for (i = 0; i < VG_DOC_N_CHECKS; i++)
			if (strcmp(t, check_names[i]) == 0)
				break;
		if (i == VG_DOC_N_CHECKS)
			return vg_why(why, cap, VG_ERR_INVALID,
				      "unknown check '%s' (accounts, network, ssh, perms, setuid, "
				      "elf, sysctl, coredump, voice, bluetooth, vuln)",
				      t);
		*mask |= 1u << i;
	}
	return VG_OK;
}

vg_rc vg_doctor_conf_parse(const char *text, size_t len, vg_doc_opts *o, char *why, size_t cap)
{
	size_t lineno = 0;
	const char *s = text, *end = text + len;

	if (len > VG_DOC_MAX_CONF)
		return vg_why(why, cap, VG_ERR_TOO_LARGE, "doctor.conf larger than %u bytes",
			      VG_DOC_MAX_CONF);
	if (memchr(text, '\0', len))
		return vg_why(why, cap, VG_ERR_INVALID, "doctor.conf: a NUL byte");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
		char line[1200], *k, *v, *eq;
		vg_rc rc;

		lineno++;
		if (l >= sizeof line)
			return vg_why(why, cap, VG_ERR_INVALID, "doctor.conf line %zu: too long",
				      lineno);
		memcpy(line, s, l);
		line[l] = '\0';
		s = nl ? nl + 1 : end;
		k = vg_doc_trim(line);
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq)
			return vg_why(why, cap, VG_ERR_INVALID,
				      "doctor.conf line %zu: not 'key = value'", lineno);
		*eq = '\0';
		k = vg_doc_trim(k);
		v = vg_doc_trim(eq + 1);
		if (strcmp(k, "allow-port") == 0) {
			rc = vg_doctor_add_port(o, v, why, cap);
			if (rc != VG_OK)
				return rc;
		} else if (strcmp(k, "allow-setuid") == 0) {
			if (v[0] != '/' || strlen(v) >= VG_DOC_MAX_PATH)
				return vg_why(why, cap, VG_ERR_INVALID,
					      "doctor.conf line %zu: allow-setuid takes an "
					      "absolute path",
					      lineno);
			if (o->n_setuid >= VG_DOC_MAX_ALLOW)
				return vg_why(why, cap, VG_ERR_INVALID,
					      "doctor.conf line %zu: too many allow-setuid",
					      lineno);
			(void)snprintf(o->setuid[o->n_setuid++], VG_DOC_MAX_PATH, "%s", v);
		} else if (strcmp(k, "voice-unit") == 0) {
			if (!*v || strchr(v, '/') || strlen(v) >= sizeof o->units[0] ||
			    o->n_units >= VG_DOC_MAX_UNITS)
				return vg_why(why, cap, VG_ERR_INVALID,
					      "doctor.conf line %zu: voice-unit takes a unit name",
					      lineno);
			(void)snprintf(o->units[o->n_units++], sizeof o->units[0], "%s", v);
		} else if (strcmp(k, "fail-on") == 0) {
			if (!vg_doc_sev_parse(v, &o->fail_on))
				return vg_why(why, cap, VG_ERR_INVALID,
					      "doctor.conf line %zu: fail-on is info, low, medium "
					      "or high",
					      lineno);
			o->fail_on_set = true;
		} else if (strcmp(k, "skip") == 0) {
			rc = vg_doctor_checks_parse(v, &o->skip, why, cap);
			if (rc != VG_OK)
				return rc;
		} else {
			return vg_why(why, cap, VG_ERR_INVALID,
				      "doctor.conf line %zu: unknown key '%s'", lineno, k);
		}
	}
	return VG_OK;
}

vg_rc vg_doctor_read_in_root(const char *root, const char *rel, size_t max, char **buf, size_t *len)
{
	vg_doc_ctx c = {.offline = true};
	vg_rc rc;

	*buf = NULL;
	*len = 0;
	c.rootfd = open(root[0] ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd < 0)
		return errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	c.openat2 = have_openat2(c.rootfd);
	rc = vg_doc_read(&c, rel, max, buf, len);
	(void)close(c.rootfd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The run and the report                                               */

vg_rc vg_doctor_run(const vg_doc_opts *o, vg_doc_report **out, char *why, size_t cap)
{
	vg_doc_ctx c = {.o = o};
	const char *root = o->root[0] ? o->root : "/";
	vg_doc_report *r;
	vg_rc rc = VG_OK;
	struct stat st;

	*out = NULL;
	r = calloc(1, sizeof *r);
	if (!r)
		return vg_why(why, cap, VG_ERR_NOMEM, "out of memory");
	c.r = r;
	c.offline = o->offline;
	printable(r->root, sizeof r->root, root);
	r->offline = o->offline;
	c.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd < 0 || fstat(c.rootfd, &st) != 0) {
		rc = vg_why(why, cap, errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO, "root %s: %s",
			    root, strerror(errno));
		goto out;
	}
	c.openat2 = have_openat2(c.rootfd);

#define RUN(chk, fn)                           \
	if (!(o->skip & (1u << (chk)))) {      \
		r->st[chk].state = VG_DOC_RAN; \
		fn(&c);                        \
	}
	RUN(VG_DOC_ACCOUNTS, vg_doc_check_accounts)
	RUN(VG_DOC_NETWORK, vg_doc_check_network)
	RUN(VG_DOC_SSH, vg_doc_check_ssh)
	if ((o->skip & 0x38u) != 0x38u) {
		for (unsigned k = VG_DOC_PERMS; k <= VG_DOC_ELF; k++)
			if (!(o->skip & (1u << k)))
				r->st[k].state = VG_DOC_RAN;
		vg_doc_check_files(&c);
	}
	RUN(VG_DOC_SYSCTL, vg_doc_check_sysctl)
	RUN(VG_DOC_COREDUMP, vg_doc_check_coredump)
	RUN(VG_DOC_VOICE, vg_doc_check_voice)
	RUN(VG_DOC_BLUETOOTH, vg_doc_check_bluetooth)
#undef RUN
	if (!(o->skip & (1u << VG_DOC_VULN))) {
		r->st[VG_DOC_VULN].state = VG_DOC_RAN;
		rc = vg_doc_check_vuln(&c, why, cap);
	}
out:
	if (c.rootfd >= 0)
		(void)close(c.rootfd);
	if (rc != VG_OK) {
		vg_doctor_free(&r);
		return rc;
	}
	*out = r;
	return VG_OK;
}

void vg_doctor_free(vg_doc_report **r)
{
	if (!r || !*r)
		return;
	for (size_t i = 0; i < (*r)->n; i++)
		free((*r)->f[i].vuln);
	free((*r)->f);
	free(*r);
	*r = NULL;
}

size_t vg_doctor_count(const vg_doc_report *r, vg_doc_sev min)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->f[i].sev >= min;
	return n;
}

const vg_doc_finding *vg_doctor_find(const vg_doc_report *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].id, id) == 0)
			return &r->f[i];
	return NULL;
}

static const char *state_name(const vg_doc_report *r, unsigned i)
{
	switch (r->st[i].state) {
	case VG_DOC_RAN:
		return r->st[i].findings ? "findings" : "ok";
	case VG_DOC_SKIPPED:
		return "skipped";
	case VG_DOC_ERROR:
		return "error";
	default:
		return "not-run";
	}
}

char *vg_doctor_json(const vg_doc_report *r, vg_doc_sev fail_on)
{
	json_t *j = json_object(), *checks = json_array(), *fs = json_array(),
	       *counts = json_object();
	char *s = NULL;
	size_t n[4] = {0};

	if (!j || !checks || !fs || !counts)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		const vg_doc_finding *f = &r->f[i];
		json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "check",
				      vg_doc_check_name(f->check), "id", f->id, "severity",
				      vg_doc_sev_name(f->sev), "subject", f->subject, "finding",
				      f->text, "fix", f->fix);
		n[f->sev]++;
		if (!e || json_array_append_new(fs, e) != 0)
			goto out;
		if (f->vuln) {
			const vg_doc_vuln *v = f->vuln;
			json_t *m = json_pack(
			    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "cve", v->cve, "source",
			    v->source, "installed", v->installed, "fixed_version", v->fixed_version,
			    "urgency", v->urgency, "tracker_status", v->tracker_status,
			    "nodsa_reason", v->nodsa_reason, "nodsa", v->nodsa);
			if (!m || json_object_set_new(e, "vuln", m) != 0)
				goto out;
		}
	}
	for (unsigned i = 0; i < VG_DOC_N_CHECKS; i++) {
		json_t *e = json_pack("{s:s, s:s, s:I, s:s}", "check", check_names[i], "status",
				      state_name(r, i), "findings", (json_int_t)r->st[i].findings,
				      "note", r->st[i].note);
		if (!e || json_array_append_new(checks, e) != 0)
			goto out;
	}
	for (unsigned i = 0; i <= VG_SEV_HIGH; i++)
		if (json_object_set_new(counts, sev_names[i], json_integer((json_int_t)n[i])) != 0)
			goto out;
	if (json_object_set_new(j, "format", json_string("voxguard-doctor/1")) ||
	    json_object_set_new(j, "root", json_string(r->root)) ||
	    json_object_set_new(j, "mode", json_string(r->offline ? "image" : "running")) ||
	    json_object_set_new(j, "fail_on", json_string(vg_doc_sev_name(fail_on))) ||
	    json_object_set_new(j, "result",
				json_string(vg_doctor_count(r, fail_on) ? "findings" : "clean")) ||
	    json_object_set_new(j, "files_walked", json_integer((json_int_t)r->files_walked)) ||
	    json_object_set_new(j, "elf_files", json_integer((json_int_t)r->elf_files)) ||
	    json_object_set_new(j, "truncated", json_boolean(r->truncated)) ||
	    json_object_set(j, "counts", counts) || json_object_set(j, "checks", checks) ||
	    json_object_set(j, "findings", fs))
		goto out;
	s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(j);
	json_decref(checks);
	json_decref(fs);
	json_decref(counts);
	return s;
}

void vg_doctor_text(const vg_doc_report *r, vg_doc_sev fail_on, FILE *out)
{
	size_t n[4] = {0};

	(void)fprintf(out, "voxguard doctor: %s %s\n", r->offline ? "image" : "running device",
		      r->root);
	for (int sev = VG_SEV_HIGH; sev >= VG_SEV_INFO; sev--)
		for (size_t i = 0; i < r->n; i++) {
			const vg_doc_finding *f = &r->f[i];
			if ((int)f->sev != sev)
				continue;
			n[sev]++;
			(void)fprintf(out, "%-6s %s: %s: %s\n", vg_doc_sev_name(f->sev), f->id,
				      f->subject, f->text);
			if (f->fix[0])
				(void)fprintf(out, "       fix: %s\n", f->fix);
		}
	(void)fprintf(out, "checks:\n");
	for (unsigned i = 0; i < VG_DOC_N_CHECKS; i++)
		(void)fprintf(out, "  %-10s %-9s %zu%s%s\n", check_names[i], state_name(r, i),
			      r->st[i].findings, r->st[i].note[0] ? "  " : "", r->st[i].note);
	(void)fprintf(out,
		      "%zu finding(s) at or above %s (%zu high, %zu medium, %zu low, %zu info)%s\n",
		      vg_doctor_count(r, fail_on), vg_doc_sev_name(fail_on), n[3], n[2], n[1], n[0],
		      r->truncated ? "; the list is truncated (out of memory)" : "");
}
