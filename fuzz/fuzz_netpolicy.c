/*
 * fuzz_netpolicy.c - libFuzzer harness for the endpoint list of
 * `voxguard netpolicy apply --from-json` and the ruleset made from it
 * (SFR 4.2.8; hostile input): arbitrary bytes through the endpoint
 * list's parser, vg_endpoint_array_from_json (what --from-json reads); an
 * accepted list is rendered (each host given a few addresses) and the
 * ruleset must hold no string but those netpolicy writes: every quoted
 * string of [A-Za-z0-9:_.@/ ()-], every line one of its statements'
 * shapes. A unit the policy accepts but netpolicy does not (a slice with
 * an empty part, "a--b.slice", or one nested too deep for a cgroup path)
 * must make the render fail with a reason.
 * Seed corpus: fuzz/corpus/netpolicy/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netpolicy/netpolicy.h"
#include "tls/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool quoted_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '_' || c == '.' || c == '@' || c == '/' || c == ' ' || c == '(' ||
	       c == ')' || c == '-';
}

static void check_ruleset(const char *t)
{
	bool in = false;
	int depth = 0;

	for (const char *p = t; *p; p++) {
		if (*p == '"') {
			in = !in;
			continue;
		}
		if (in && !quoted_ok(*p))
			abort();
		if (!in && *p == '{')
			depth++;
		if (!in && *p == '}' && --depth < 0)
			abort();
	}
	if (in || depth != 0)
		abort();
	/* one table, one hook */
	{
		const char *h = strstr(t, "hook ");
		if (!h || strstr(h + 1, "hook "))
			abort();
	}
	/* every line one of the shapes netpolicy writes */
	for (const char *line = t; *line;) {
		static const char *const shapes[] = {"# ",
						     "table inet voxguard",
						     "delete table inet voxguard",
						     "counter drop_",
						     "comment \"",
						     "}",
						     "set allow",
						     "set dns",
						     "type ",
						     "elements = {",
						     "chain allow_",
						     "chain output {",
						     "ip daddr ",
						     "ip6 daddr ",
						     "oifname \"lo\"",
						     "meta skuid ",
						     "socket cgroupv2 level ",
						     "ct state established,related"};
		const char *end = strchr(line, '\n'), *p = line;
		bool known = false;
		if (!end)
			abort(); /* the text ends with a newline */
		while (*p == '\t')
			p++;
		for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
			known |= strncmp(p, shapes[i], strlen(shapes[i])) == 0;
		/* set elements: an address . port */
		known |= (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == ':';
		if (!known)
			abort();
		line = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_endpoint *eps = NULL;
	vg_np_host hosts[VG_NP_MAX_ENDPOINTS];
	vg_np_addr addrs[3], res[1];
	vg_np_opts o = {.default_drop = (size & 1) != 0,
			.cgroup_root = (size & 2) ? "unified" : ""};
	size_t n = 0;
	char why[128], *text = NULL;
	bool units_ok = true;
	vg_rc rc;

	if (size > VG_NP_MAX_JSON)
		return 0; /* the CLI reads no more */
	memset(why, 'x', sizeof why);
	rc = vg_endpoint_array_from_json(data, size, &eps, &n, why, sizeof why);
	if (rc != VG_OK) {
		if (eps || n || memchr(why, 0, sizeof why) == NULL)
			abort();
		return 0;
	}
	if (n > VG_NP_MAX_ENDPOINTS)
		abort();
	if (!vg_np_addr_parse("198.51.100.7", &addrs[0]) ||
	    !vg_np_addr_parse("2001:db8::7", &addrs[1]) ||
	    !vg_np_addr_parse("203.0.113.1", &addrs[2]) ||
	    !vg_np_addr_parse("198.51.100.53", &res[0]))
		abort();
	for (size_t i = 0; i < n; i++) {
		if (eps[i].port == 0 || eps[i].n_uids > VG_EP_MAX_UIDS ||
		    eps[i].n_units > VG_EP_MAX_UNITS)
			abort();
		for (size_t u = 0; u < eps[i].n_units; u++) {
			if (!vg_endpoint_unit_valid(eps[i].units[u]))
				abort();
			/* what the render checks (its cgroup path has a bound) */
			char cg[512];
			size_t level;
			units_ok &= vg_netpolicy_unit_valid(eps[i].units[u]) &&
				    vg_netpolicy_unit_cgroup(NULL, eps[i].units[u], cg, sizeof cg,
							     &level) == VG_OK;
		}
		hosts[i].addrs = addrs;
		hosts[i].n = 1 + (i % 3);
	}
	/* Everything the parser accepts renders, but a unit netpolicy
	 * refuses, which fails with a reason and no text. */
	memset(why, 'x', sizeof why);
	rc =
	    vg_netpolicy_render(eps, hosts, n, res, (size & 4) ? 0 : 1, &o, &text, why, sizeof why);
	if (!units_ok) {
		if (rc == VG_OK || text || memchr(why, 0, sizeof why) == NULL)
			abort();
	} else {
		if (rc != VG_OK || !text)
			abort();
		check_ruleset(text);
		free(text);
	}
	vg_endpoint_list_free(eps, n);
	return 0;
}
