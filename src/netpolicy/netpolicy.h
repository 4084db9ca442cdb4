/*
 * netpolicy.h - the endpoint list as nftables rules: the kernel's half of
 * secure communication enforcement (SFR 4.2.8).
 *
 * vg_netpolicy_render() is a pure function: from the endpoint list, the
 * addresses each endpoint's host resolved to and the resolvers of
 * /etc/resolv.conf, it makes the text of one nftables ruleset that `nft -f`
 * loads in one transaction: it creates the table `inet voxguard` if it is
 * missing, deletes it and defines it anew, so the old rules stay in force
 * until the new ones are complete, and a ruleset nft refuses changes
 * nothing. The table's output chain (filter priority):
 *
 *   - loopback is always accepted;
 *   - each application (a uid, `meta skuid`; a systemd unit, `socket
 *     cgroupv2` on its cgroup; a slice covers its units) may send TCP to the (address, port) pairs of
 *     the endpoints listed for it (a concatenated set per application and
 *     family, so one endpoint's port is never open on another's address)
 *     and DNS (UDP and TCP 53) to the resolvers; everything else it sends
 *     is dropped and counted in a named counter drop_uid_UID / drop_unit_N;
 *   - a process that is both a listed uid and in a listed unit may reach
 *     the endpoints of either;
 *   - other traffic is left alone (the default), or, with default_drop,
 *     dropped and counted (drop_other) except root's (which could remove
 *     the table anyway), the exempt uids', replies of connections the
 *     input side accepted (ct established, related) and packets that no
 *     socket sent (the kernel's own: ND, RST, ICMP errors).
 *
 * The output is deterministic (applications, elements and resolvers
 * sorted, duplicates merged), so applying the same inputs twice loads the
 * same rules. Nothing from an endpoint but its addresses, ports, uids and
 * unit names reaches the text; a unit name outside [A-Za-z0-9:_.@-] (a
 * quote, a newline, a slash, a backslash) is refused, never escaped.
 */
#ifndef VG_NETPOLICY_H
#define VG_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/tls.h"
#include "voxguard/voxguard.h"

#define VG_NP_MAX_ENDPOINTS 64u    /* endpoints in one ruleset */
#define VG_NP_MAX_ADDRS     64u    /* addresses of one endpoint's host */
#define VG_NP_MAX_RESOLVERS 3u     /* glibc's MAXNS: later nameservers are never asked */
#define VG_NP_MAX_EXEMPT    16u    /* uids exempt from default_drop besides root */
#define VG_NP_MAX_ELEMENTS  65536u /* (address, port) elements over all applications */
#define VG_NP_MAX_RESOLV    65536u /* bytes of resolv.conf */
/* Bytes of a --from-json list (read by the CLI; parsed by
 * vg_endpoint_array_from_json in tls/endpoint.h, at most VG_EP_MAX_COUNT
 * endpoints: VG_NP_MAX_ENDPOINTS). */
#define VG_NP_MAX_JSON (8u * 1024u * 1024u)

/* An IPv4 or IPv6 address (network byte order; IPv4 in a[0..3]). */
typedef struct vg_np_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
} vg_np_addr;

/* The addresses endpoint i's host resolved to (none: the endpoint is
 * reachable by nobody, fail closed). */
typedef struct vg_np_host {
	const vg_np_addr *addrs;
	size_t n;
} vg_np_host;

typedef struct vg_np_opts {
	bool default_drop;           /* drop what ungoverned uids send (not root's) */
	const uint32_t *exempt_uids; /* with default_drop: uids left alone too */
	size_t n_exempt;
	/* Where units' cgroups are, as nft names them (relative to
	 * /sys/fs/cgroup): cgroup_root is the cgroup v2 mount below it, ""
	 * on a unified hierarchy (Debian 12), "unified" on a hybrid one;
	 * slice is the units' slice ("system.slice" when NULL). */
	const char *cgroup_root;
	const char *slice;
} vg_np_opts;

/*
 * Makes the ruleset for the n endpoints eps, whose hosts resolved to
 * hosts[i], with the resolvers res (n_res <= VG_NP_MAX_RESOLVERS).
 * Returns VG_OK with *out a NUL-terminated malloc'ed text (the caller
 * frees it), or VG_ERR_INVALID (a bad port, uid, unit name or option),
 * VG_ERR_TOO_LARGE (over a bound above) or VG_ERR_NOMEM, with why set and
 * *out NULL.
 */
VG_NODISCARD vg_rc vg_netpolicy_render(const vg_endpoint *eps, const vg_np_host *hosts, size_t n,
				       const vg_np_addr *res, size_t n_res, const vg_np_opts *o,
				       char **out, char *why, size_t why_len);

/* A systemd unit name netpolicy accepts: 1..VG_EP_MAX_UNIT bytes of
 * [A-Za-z0-9:_.@-], not starting with '.' or '-', ending in ".service",
 * ".scope" or ".slice" (a slice without an empty dash-separated part). */
bool vg_netpolicy_unit_valid(const char *unit);

/* The unit's cgroup below the cgroup v2 root, as systemd makes it, and its
 * level: a service or scope is in slice ("system.slice" when NULL), at
 * the slice's depth + 1; a slice "a-b.slice" is "a.slice/a-b.slice", level
 * 2 (a slice's rule matches every unit in it). VG_ERR_INVALID for a bad
 * unit or slice, VG_ERR_TOO_LARGE when out (cap bytes) is too small. */
VG_NODISCARD vg_rc vg_netpolicy_unit_cgroup(const char *slice, const char *unit, char *out,
					    size_t cap, size_t *level);

/*
 * Parses resolv.conf strictly: at most VG_NP_MAX_RESOLV bytes, no NUL,
 * lines of at most 1024 bytes; blank lines and comments ('#' or ';' first);
 * the keywords nameserver, domain, search, sortlist, options at the start
 * of a line (anything else is refused); a nameserver is one IPv4 or IPv6
 * literal (an IPv6 zone "%IFACE" is accepted and dropped), optionally
 * followed by a comment. The first VG_NP_MAX_RESOLVERS distinct
 * nameservers are kept, in order (glibc asks no others). *n may be 0:
 * glibc then asks 127.0.0.1, which loopback covers.
 */
VG_NODISCARD vg_rc vg_resolvconf_parse(const char *text, size_t len,
				       vg_np_addr out[static VG_NP_MAX_RESOLVERS], size_t *n,
				       char *why, size_t why_len);

/* Parses an address literal (IPv4, or IPv6 without a zone). */
bool vg_np_addr_parse(const char *s, vg_np_addr *out);

#endif
