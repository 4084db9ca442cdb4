/* netpolicy.c - see netpolicy.h (SFR 4.2.8) */
#include "netpolicy/netpolicy.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"

#define VG_NP_MAX_TEXT (32u * 1024u * 1024u)

/* ------------------------------------------------------------------ */
/* A growing text buffer: the first failure sticks.                    */

struct sbuf {
	char *p;
	size_t len, cap;
	vg_rc rc;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->rc != VG_OK)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		k = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->rc = VG_ERR_INTERNAL;
			return;
		}
		if ((size_t)k < room) {
			b->len += (size_t)k;
			return;
		}
		{
			size_t ncap = b->cap ? b->cap * 2 : 4096;
			char *np;
			while (ncap <= b->len + (size_t)k)
				ncap *= 2;
			if (ncap > VG_NP_MAX_TEXT) {
				b->rc = VG_ERR_TOO_LARGE;
				return;
			}
			np = realloc(b->p, ncap);
			if (!np) {
				b->rc = VG_ERR_NOMEM;
				return;
			}
			b->p = np;
			b->cap = ncap;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Names and addresses                                                  */

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n > k && memcmp(s + n - k, suf, k) == 0;
}

static bool unit_chars_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ':' || c == '_' || c == '.' || c == '@' || c == '-'))
			return false;
	}
	return true;
}

static bool cgroup_path_ok(const char *p, size_t *levels);

bool vg_netpolicy_unit_valid(const char *unit)
{
	size_t n;

	if (!unit)
		return false;
	n = strnlen(unit, VG_EP_MAX_UNIT + 1);
	if (n > VG_EP_MAX_UNIT || !unit_chars_ok(unit, n))
		return false;
	if (has_suffix(unit, n, ".slice")) {
		/* systemd nests a slice by its dashes: no empty part */
		if (strstr(unit, "--") || unit[n - 7] == '-')
			return false;
		return true;
	}
	return has_suffix(unit, n, ".service") || has_suffix(unit, n, ".scope");
}

vg_rc vg_netpolicy_unit_cgroup(const char *slice, const char *unit, char *out, size_t cap,
			       size_t *level)
{
	size_t n, slevels = 0, k = 0;

	if (!slice)
		slice = "system.slice";
	if (!vg_netpolicy_unit_valid(unit) || !cap)
		return VG_ERR_INVALID;
	n = strlen(unit);
	if (has_suffix(unit, n, ".slice")) {
		/* "a-b-c.slice" is "a.slice/a-b.slice/a-b-c.slice" */
		size_t stem = n - 6;
		*level = 0;
		out[0] = '\0';
		for (size_t i = 0; i <= stem; i++) {
			if (i == stem || unit[i] == '-') {
				int w = snprintf(out + k, cap - k, "%s%.*s.slice", k ? "/" : "",
						 (int)i, unit);
				if (w < 0 || (size_t)w >= cap - k)
					return VG_ERR_TOO_LARGE;
				k += (size_t)w;
				(*level)++;
			}
		}
		return VG_OK;
	}
	if (!cgroup_path_ok(slice, &slevels) || slevels == 0 ||
	    !has_suffix(slice, strlen(slice), ".slice"))
		return VG_ERR_INVALID;
	{
		int w = snprintf(out, cap, "%s/%s", slice, unit);
		if (w < 0 || (size_t)w >= cap)
			return VG_ERR_TOO_LARGE;
	}
	*level = slevels + 1;
	return VG_OK;
}

/* A cgroup path of slices below the cgroup v2 mount: "" or components
 * of the unit-name alphabet separated by single slashes. */
static bool cgroup_path_ok(const char *p, size_t *levels)
{
	size_t n = strnlen(p, 256), start = 0;

	*levels = 0;
	if (n >= 256)
		return false;
	if (n == 0)
		return true;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if (!unit_chars_ok(p + start, i - start) ||
			    (i - start == 2 && memcmp(p + start, "..", 2) == 0))
				return false;
			(*levels)++;
			start = i + 1;
		}
	}
	return true;
}

bool vg_np_addr_parse(const char *s, vg_np_addr *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return true;
	}
	return false;
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int addr_cmp(const vg_np_addr *x, const vg_np_addr *y)
{
	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	return memcmp(x->a, y->a, addr_len(x->family));
}

static void addr_str(const vg_np_addr *a, char out[static INET6_ADDRSTRLEN])
{
	if (!inet_ntop(a->family, a->a, out, INET6_ADDRSTRLEN))
		(void)snprintf(out, INET6_ADDRSTRLEN, "?");
}

/* ------------------------------------------------------------------ */
/* Applications and their (address, port) elements                     */

struct elem {
	vg_np_addr addr;
	uint16_t port;
};

struct app {
	bool is_unit;
	uint32_t uid;
	const char *unit;
	size_t idx; /* units: the number in allow_unit_N, after sorting */
	struct elem *e;
	size_t n, cap;
	size_t n4, n6;
};

struct apps {
	struct app *v;
	size_t n, cap;
	size_t total; /* elements over all applications */
};

static int app_cmp(const void *pa, const void *pb)
{
	const struct app *a = pa, *b = pb;

	if (a->is_unit != b->is_unit)
		return a->is_unit ? -1 : 1; /* units first: their rules come first */
	if (a->is_unit)
		return strcmp(a->unit, b->unit);
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

static int elem_cmp(const void *pa, const void *pb)
{
	const struct elem *a = pa, *b = pb;
	int c = addr_cmp(&a->addr, &b->addr);

	if (c)
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}

static int u32_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	return a < b ? -1 : a > b;
}

static struct app *app_get(struct apps *as, bool is_unit, uint32_t uid, const char *unit)
{
	for (size_t i = 0; i < as->n; i++) {
		struct app *a = &as->v[i];
		if (a->is_unit == is_unit && (is_unit ? strcmp(a->unit, unit) == 0 : a->uid == uid))
			return a;
	}
	if (as->n == as->cap) {
		size_t nc = as->cap ? as->cap * 2 : 16;
		struct app *nv = realloc(as->v, nc * sizeof *nv);
		if (!nv)
			return NULL;
		as->v = nv;
		as->cap = nc;
	}
	memset(&as->v[as->n], 0, sizeof as->v[0]);
	as->v[as->n].is_unit = is_unit;
	as->v[as->n].uid = uid;
	as->v[as->n].unit = unit;
	return &as->v[as->n++];
}

static vg_rc app_add(struct apps *as, struct app *a, const vg_np_host *h, uint16_t port)
{
	if (as->total + h->n > VG_NP_MAX_ELEMENTS)
		return VG_ERR_TOO_LARGE;
	if (a->n + h->n > a->cap) {
		size_t nc = a->cap ? a->cap : 16;
		struct elem *ne;
		while (nc < a->n + h->n)
			nc *= 2;
		ne = realloc(a->e, nc * sizeof *ne);
		if (!ne)
			return VG_ERR_NOMEM;
		a->e = ne;
		a->cap = nc;
	}
	for (size_t i = 0; i < h->n; i++) {
		a->e[a->n].addr = h->addrs[i];
		a->e[a->n].port = port;
		a->n++;
	}
	as->total += h->n;
	return VG_OK;
}

static void apps_free(struct apps *as)
{
	for (size_t i = 0; i < as->n; i++)
		free(as->v[i].e);
	free(as->v);
	memset(as, 0, sizeof *as);
}

/* Sorts an application's elements, merges duplicates, counts families. */
static void app_finish(struct app *a)
{
	size_t w = 0;

	if (a->n)
		qsort(a->e, a->n, sizeof *a->e, elem_cmp);
	for (size_t i = 0; i < a->n; i++) {
		if (w > 0 && elem_cmp(&a->e[w - 1], &a->e[i]) == 0)
			continue;
		a->e[w++] = a->e[i];
	}
	a->n = w;
	a->n4 = a->n6 = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->e[i].addr.family == AF_INET)
			a->n4++;
		else
			a->n6++;
	}
}

/* ------------------------------------------------------------------ */
/* The ruleset                                                          */

static void app_id(const struct app *a, char out[static 32])
{
	if (a->is_unit)
		(void)snprintf(out, 32, "unit_%zu", a->idx);
	else
		(void)snprintf(out, 32, "uid_%u", (unsigned)a->uid);
}

static void emit_set(struct sbuf *b, const struct app *a, int family)
{
	char id[32], s[INET6_ADDRSTRLEN];
	size_t k = 0;

	app_id(a, id);
	sb_printf(b, "\tset allow%s_%s {\n\t\ttype %s . inet_service\n\t\telements = {",
		  family == AF_INET ? "4" : "6", id, family == AF_INET ? "ipv4_addr" : "ipv6_addr");
	for (size_t i = 0; i < a->n; i++) {
		if (a->e[i].addr.family != family)
			continue;
		addr_str(&a->e[i].addr, s);
		sb_printf(b, "%s\n\t\t\t%s . %u", k++ ? "," : "", s, (unsigned)a->e[i].port);
	}
	sb_printf(b, "\n\t\t}\n\t}\n");
}

static void emit_resolvers(struct sbuf *b, const vg_np_addr *res, size_t n, int family)
{
	char s[INET6_ADDRSTRLEN];
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += res[i].family == family;
	if (!k)
		return;
	sb_printf(b, "\tset dns%s {\n\t\ttype %s\n\t\telements = {", family == AF_INET ? "4" : "6",
		  family == AF_INET ? "ipv4_addr" : "ipv6_addr");
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (res[i].family != family)
			continue;
		addr_str(&res[i], s);
		sb_printf(b, "%s %s", k++ ? "," : "", s);
	}
	sb_printf(b, " }\n\t}\n");
}

static void emit_cgroup(struct sbuf *b, const vg_np_opts *o, const char *unit)
{
	const char *root = o->cgroup_root ? o->cgroup_root : "";
	char path[512];
	size_t level = 0;

	/* nft resolves the path below /sys/fs/cgroup when it loads the rule
	 * (the cgroup must exist then); the level counts from the cgroup v2
	 * root, so the mount's own components do not count. check_inputs()
	 * made sure the path can be made. */
	if (vg_netpolicy_unit_cgroup(o->slice, unit, path, sizeof path, &level) != VG_OK) {
		b->rc = VG_ERR_INTERNAL;
		return;
	}
	sb_printf(b, "socket cgroupv2 level %zu \"%s%s%s\"", level, root, root[0] ? "/" : "", path);
}

static vg_rc check_inputs(const vg_endpoint *eps, const vg_np_host *hosts, size_t n,
			  const vg_np_addr *res, size_t n_res, const vg_np_opts *o,
			  size_t *root_levels, size_t *slice_levels, char *why, size_t why_len)
{
	const char *slice = o->slice ? o->slice : "system.slice";

	if (n > VG_NP_MAX_ENDPOINTS)
		return vg_why(why, why_len, VG_ERR_TOO_LARGE, "more than %u endpoints",
			      VG_NP_MAX_ENDPOINTS);
	if (n_res > VG_NP_MAX_RESOLVERS)
		return vg_why(why, why_len, VG_ERR_TOO_LARGE, "more than %u resolvers",
			      VG_NP_MAX_RESOLVERS);
	if (o->n_exempt > VG_NP_MAX_EXEMPT)
		return vg_why(why, why_len, VG_ERR_TOO_LARGE, "more than %u exempt uids",
			      VG_NP_MAX_EXEMPT);
	if (!cgroup_path_ok(o->cgroup_root ? o->cgroup_root : "", root_levels))
		return vg_why(why, why_len, VG_ERR_INVALID, "bad cgroup root");
	if (!cgroup_path_ok(slice, slice_levels) || *slice_levels == 0 ||
	    !has_suffix(slice, strlen(slice), ".slice"))
		return vg_why(why, why_len, VG_ERR_INVALID, "bad slice name");
	for (size_t i = 0; i < o->n_exempt; i++)
		if (o->exempt_uids[i] == UINT32_MAX)
			return vg_why(why, why_len, VG_ERR_INVALID, "bad exempt uid");
	for (size_t i = 0; i < n_res; i++)
		if (res[i].family != AF_INET && res[i].family != AF_INET6)
			return vg_why(why, why_len, VG_ERR_INVALID, "bad resolver address");
	for (size_t i = 0; i < n; i++) {
		const vg_endpoint *ep = &eps[i];
		/* The name is only for messages: made safe, never in the rules. */
		char nm[64];
		size_t k = 0;
		for (; k + 1 < sizeof nm && k < sizeof ep->name && ep->name[k]; k++)
			nm[k] = (ep->name[k] > 0x20 && ep->name[k] < 0x7f) ? ep->name[k] : '?';
		nm[k] = '\0';
		if (ep->port == 0)
			return vg_why(why, why_len, VG_ERR_INVALID, "endpoint %s: port 0", nm);
		if (ep->n_uids > VG_EP_MAX_UIDS || ep->n_units > VG_EP_MAX_UNITS)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "endpoint %s: too many uids or units", nm);
		for (size_t u = 0; u < ep->n_uids; u++)
			if (ep->uids[u] == UINT32_MAX)
				return vg_why(why, why_len, VG_ERR_INVALID, "endpoint %s: bad uid",
					      nm);
		for (size_t u = 0; u < ep->n_units; u++) {
			char path[512];
			size_t level;
			if (!vg_netpolicy_unit_valid(ep->units[u]) ||
			    vg_netpolicy_unit_cgroup(o->slice, ep->units[u], path, sizeof path,
						     &level) != VG_OK)
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "endpoint %s: unit %zu: not a unit name netpolicy "
					      "accepts",
					      nm, u + 1);
		}
		if (hosts[i].n > VG_NP_MAX_ADDRS)
			return vg_why(why, why_len, VG_ERR_TOO_LARGE,
				      "endpoint %s: more than %u addresses", nm, VG_NP_MAX_ADDRS);
		for (size_t a = 0; a < hosts[i].n; a++)
			if (hosts[i].addrs[a].family != AF_INET &&
			    hosts[i].addrs[a].family != AF_INET6)
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "endpoint %s: bad address", nm);
	}
	return VG_OK;
}

vg_rc vg_netpolicy_render(const vg_endpoint *eps, const vg_np_host *hosts, size_t n,
			  const vg_np_addr *res_in, size_t n_res, const vg_np_opts *o, char **out,
			  char *why, size_t why_len)
{
	struct apps as = {0};
	struct sbuf b = {0};
	vg_np_addr res[VG_NP_MAX_RESOLVERS];
	uint32_t exempt[VG_NP_MAX_EXEMPT + 1];
	size_t n_ex = 0, root_levels = 0, slice_levels = 0, n_units = 0, n_uids = 0, w = 0;
	bool dns4 = false, dns6 = false;
	vg_rc rc;

	*out = NULL;
	if ((n && (!eps || !hosts)) || (n_res && !res_in) || !o || (o->n_exempt && !o->exempt_uids))
		return vg_why(why, why_len, VG_ERR_INVALID, "bad arguments");
	rc = check_inputs(eps, hosts, n, res_in, n_res, o, &root_levels, &slice_levels, why,
			  why_len);
	if (rc != VG_OK)
		return rc;

	/* Resolvers sorted and distinct. */
	if (n_res)
		memcpy(res, res_in, n_res * sizeof *res);
	for (size_t i = 1; i < n_res; i++)
		for (size_t j = i; j > 0 && addr_cmp(&res[j - 1], &res[j]) > 0; j--) {
			vg_np_addr t = res[j];
			res[j] = res[j - 1];
			res[j - 1] = t;
		}
	for (size_t i = 0; i < n_res; i++)
		if (w == 0 || addr_cmp(&res[w - 1], &res[i]) != 0)
			res[w++] = res[i];
	n_res = w;
	for (size_t i = 0; i < n_res; i++) {
		dns4 |= res[i].family == AF_INET;
		dns6 |= res[i].family == AF_INET6;
	}

	/* Applications: every uid and unit named by an endpoint. */
	for (size_t i = 0; i < n && rc == VG_OK; i++) {
		for (size_t u = 0; u < eps[i].n_uids && rc == VG_OK; u++) {
			struct app *a = app_get(&as, false, eps[i].uids[u], NULL);
			rc = a ? app_add(&as, a, &hosts[i], eps[i].port) : VG_ERR_NOMEM;
		}
		for (size_t u = 0; u < eps[i].n_units && rc == VG_OK; u++) {
			struct app *a = app_get(&as, true, 0, eps[i].units[u]);
			rc = a ? app_add(&as, a, &hosts[i], eps[i].port) : VG_ERR_NOMEM;
		}
	}
	if (rc != VG_OK) {
		apps_free(&as);
		return vg_why(why, why_len, rc,
			      rc == VG_ERR_TOO_LARGE ? "more than %u (address, port) elements"
						     : "out of memory",
			      VG_NP_MAX_ELEMENTS);
	}
	if (as.n)
		qsort(as.v, as.n, sizeof *as.v, app_cmp);
	for (size_t i = 0; i < as.n; i++) {
		app_finish(&as.v[i]);
		if (as.v[i].is_unit)
			as.v[i].idx = n_units++;
		else
			n_uids++;
	}
	if (o->default_drop) {
		exempt[n_ex++] = 0;
		for (size_t i = 0; i < o->n_exempt; i++)
			exempt[n_ex++] = o->exempt_uids[i];
		qsort(exempt, n_ex, sizeof *exempt, u32_cmp);
		w = 0;
		for (size_t i = 0; i < n_ex; i++)
			if (w == 0 || exempt[w - 1] != exempt[i])
				exempt[w++] = exempt[i];
		n_ex = w;
	}

	sb_printf(&b, "# voxguard netpolicy (SFR 4.2.8): made by `voxguard netpolicy apply` from "
		      "the endpoint list; do not edit.\n"
		      "# One transaction: the old table stays until this one is whole.\n"
		      "table inet voxguard\n"
		      "delete table inet voxguard\n"
		      "table inet voxguard {\n");
	for (size_t i = 0; i < as.n; i++) {
		char id[32];
		app_id(&as.v[i], id);
		if (as.v[i].is_unit)
			sb_printf(&b, "\tcounter drop_%s {\n\t\tcomment \"unit %s\"\n\t}\n", id,
				  as.v[i].unit);
		else
			sb_printf(&b, "\tcounter drop_%s {\n\t\tcomment \"uid %u\"\n\t}\n", id,
				  (unsigned)as.v[i].uid);
	}
	if (o->default_drop)
		sb_printf(&b, "\tcounter drop_other {\n\t\tcomment \"uids no endpoint lists "
			      "(default drop)\"\n\t}\n");
	for (size_t i = 0; i < as.n; i++) {
		if (as.v[i].n4)
			emit_set(&b, &as.v[i], AF_INET);
		if (as.v[i].n6)
			emit_set(&b, &as.v[i], AF_INET6);
	}
	if (as.n) {
		emit_resolvers(&b, res, n_res, AF_INET);
		emit_resolvers(&b, res, n_res, AF_INET6);
	}
	for (size_t i = 0; i < as.n; i++) {
		char id[32];
		app_id(&as.v[i], id);
		sb_printf(&b, "\tchain allow_%s {\n", id);
		if (as.v[i].n4)
			sb_printf(&b, "\t\tip daddr . tcp dport @allow4_%s accept\n", id);
		if (as.v[i].n6)
			sb_printf(&b, "\t\tip6 daddr . tcp dport @allow6_%s accept\n", id);
		if (dns4)
			sb_printf(&b, "\t\tip daddr @dns4 meta l4proto { tcp, udp } th dport 53 "
				      "accept\n");
		if (dns6)
			sb_printf(&b, "\t\tip6 daddr @dns6 meta l4proto { tcp, udp } th dport 53 "
				      "accept\n");
		sb_printf(&b, "\t}\n");
	}
	sb_printf(&b, "\tchain output {\n"
		      "\t\ttype filter hook output priority filter; policy accept;\n"
		      "\t\toifname \"lo\" accept\n");
	/* Allow rules of every application first, then their drops: a
	 * process in a listed unit and of a listed uid reaches either's. */
	for (size_t i = 0; i < as.n; i++) {
		if (!as.v[i].is_unit)
			continue;
		sb_printf(&b, "\t\t");
		emit_cgroup(&b, o, as.v[i].unit);
		sb_printf(&b, " jump allow_unit_%zu\n", as.v[i].idx);
	}
	if (n_uids) {
		size_t k = 0;
		sb_printf(&b, "\t\tmeta skuid vmap {");
		for (size_t i = 0; i < as.n; i++)
			if (!as.v[i].is_unit)
				sb_printf(&b, "%s %u : jump allow_uid_%u", k++ ? "," : "",
					  (unsigned)as.v[i].uid, (unsigned)as.v[i].uid);
		sb_printf(&b, " }\n");
	}
	for (size_t i = 0; i < as.n; i++) {
		if (!as.v[i].is_unit)
			continue;
		sb_printf(&b, "\t\t");
		emit_cgroup(&b, o, as.v[i].unit);
		sb_printf(&b, " counter name \"drop_unit_%zu\" drop\n", as.v[i].idx);
	}
	for (size_t i = 0; i < as.n; i++)
		if (!as.v[i].is_unit)
			sb_printf(&b, "\t\tmeta skuid %u counter name \"drop_uid_%u\" drop\n",
				  (unsigned)as.v[i].uid, (unsigned)as.v[i].uid);
	if (o->default_drop) {
		sb_printf(&b, "\t\tct state established,related accept\n\t\tmeta skuid != {");
		for (size_t i = 0; i < n_ex; i++)
			sb_printf(&b, "%s %u", i ? "," : "", (unsigned)exempt[i]);
		sb_printf(&b, " } counter name \"drop_other\" drop\n");
	}
	sb_printf(&b, "\t}\n}\n");
	apps_free(&as);
	if (b.rc != VG_OK) {
		free(b.p);
		return vg_why(why, why_len, b.rc, "the ruleset is too large");
	}
	*out = b.p;
	return VG_OK;
}

/* ------------------------------------------------------------------ */
/* resolv.conf                                                          */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool keyword(const char *line, size_t n, const char *kw, size_t *after)
{
	size_t k = strlen(kw);

	if (n < k || memcmp(line, kw, k) != 0 || (n > k && !is_blank(line[k])))
		return false;
	*after = k;
	return true;
}

static vg_rc parse_nameserver(const char *s, size_t n, vg_np_addr *out, size_t lineno, char *why,
			      size_t why_len)
{
	char tok[INET6_ADDRSTRLEN + 1 + 16];
	size_t i = 0, t;
	char *pct;

	while (i < n && is_blank(s[i]))
		i++;
	t = i;
	while (i < n && !is_blank(s[i]))
		i++;
	if (i == t || i - t >= sizeof tok)
		return vg_why(why, why_len, VG_ERR_INVALID, "resolv.conf line %zu: bad nameserver",
			      lineno);
	memcpy(tok, s + t, i - t);
	tok[i - t] = '\0';
	while (i < n && is_blank(s[i]))
		i++;
	if (i < n && s[i] != '#' && s[i] != ';')
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "resolv.conf line %zu: more than one address", lineno);
	pct = strchr(tok, '%');
	if (pct) {
		/* An IPv6 zone: an interface name or index, dropped (an nft
		 * address has none). */
		size_t zl = strlen(pct + 1);
		if (zl == 0 || zl > 15 || !unit_chars_ok(pct + 1, zl))
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "resolv.conf line %zu: bad zone", lineno);
		*pct = '\0';
		if (inet_pton(AF_INET6, tok, out->a) != 1)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "resolv.conf line %zu: a zone on a non-IPv6 address", lineno);
		out->family = AF_INET6;
		return VG_OK;
	}
	if (!vg_np_addr_parse(tok, out))
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "resolv.conf line %zu: not an IP address", lineno);
	return VG_OK;
}

static vg_rc resolvconf_lines(const char *text, size_t len, vg_np_addr *out, size_t *n, char *why,
			      size_t why_len)
{
	static const char *const other[] = {"domain", "search", "sortlist", "options"};
	size_t pos = 0, lineno = 0;

	*n = 0;
	memset(out, 0, VG_NP_MAX_RESOLVERS * sizeof *out);
	if (len > VG_NP_MAX_RESOLV)
		return vg_why(why, why_len, VG_ERR_TOO_LARGE, "resolv.conf: larger than %u bytes",
			      VG_NP_MAX_RESOLV);
	if (len && !text)
		return vg_why(why, why_len, VG_ERR_INVALID, "resolv.conf: no text");
	if (len && memchr(text, '\0', len))
		return vg_why(why, why_len, VG_ERR_INVALID, "resolv.conf: a NUL byte");
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos, after = 0;
		bool known = false;

		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll > 1024)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "resolv.conf line %zu: longer than 1024 bytes", lineno);
		{
			size_t i = 0;
			while (i < ll && is_blank(line[i]))
				i++;
			if (i == ll || line[i] == '#' || line[i] == ';') {
				if (i == ll || i == 0)
					continue;
				/* glibc reads keywords at the line's start only */
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "resolv.conf line %zu: indented comment", lineno);
			}
			if (i != 0)
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "resolv.conf line %zu: indented keyword", lineno);
		}
		for (size_t i = 0; i < ll; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
				return vg_why(why, why_len, VG_ERR_INVALID,
					      "resolv.conf line %zu: a control character", lineno);
		if (keyword(line, ll, "nameserver", &after)) {
			vg_np_addr a;
			bool dup = false;
			vg_rc rc =
			    parse_nameserver(line + after, ll - after, &a, lineno, why, why_len);
			if (rc != VG_OK)
				return rc;
			for (size_t k = 0; k < *n; k++)
				dup |= addr_cmp(&out[k], &a) == 0;
			if (!dup && *n < VG_NP_MAX_RESOLVERS)
				out[(*n)++] = a;
			continue;
		}
		for (size_t k = 0; k < VG_ARRAY_LEN(other); k++)
			known |= keyword(line, ll, other[k], &after);
		if (!known)
			return vg_why(why, why_len, VG_ERR_INVALID,
				      "resolv.conf line %zu: unknown keyword", lineno);
	}
	return VG_OK;
}

vg_rc vg_resolvconf_parse(const char *text, size_t len, vg_np_addr out[static VG_NP_MAX_RESOLVERS],
			  size_t *n, char *why, size_t why_len)
{
	vg_rc rc = resolvconf_lines(text, len, out, n, why, why_len);

	/* A refused file gives no resolver at all, never the lines before
	 * the bad one. */
	if (rc != VG_OK) {
		memset(out, 0, VG_NP_MAX_RESOLVERS * sizeof *out);
		*n = 0;
	}
	return rc;
}
