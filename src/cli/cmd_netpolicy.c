/*
 * cmd_netpolicy.c - `voxguard netpolicy apply|show`: the endpoint list
 * enforced by the kernel with nftables (SFR 4.2.8).
 *
 * apply gets the endpoint list (from the service as an admin, or from a
 * JSON file with --from-json), resolves each host, reads the resolvers of
 * /etc/resolv.conf, makes the ruleset (src/netpolicy/netpolicy.h) and
 * loads it with Debian's /usr/sbin/nft in one transaction. The ruleset
 * never touches a path: it is written to an anonymous memory file
 * (memfd) that nft reads through /proc/self/fd, and nft runs with a clean
 * environment. A ruleset nft refuses changes nothing: the rules in force
 * stay. show prints the table and its drop counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/magic.h>

#include "cli/cli.h"
#include "common/util.h"
#include "netpolicy/netpolicy.h"
#include "tls/endpoint.h"
#include "voxguard/tls.h"

#define NFT_PATH     "/usr/sbin/nft"
#define NFT_OUT_MAX  (4u * 1024u * 1024u) /* what show reads from nft */
#define NFT_ERR_MAX  8192u
#define CGROUP_MOUNT "/sys/fs/cgroup"

/* ------------------------------------------------------------------ */
/* Running nft                                                          */

/*
 * Runs nft with args (argv[0] not included) and a clean environment;
 * feeds it nothing on stdin; collects stdout (up to NFT_OUT_MAX, when out
 * is not NULL) and stderr (up to NFT_ERR_MAX). keep_fd stays open in nft
 * (the ruleset's memfd), -1 for none. Returns nft's exit status, or -1
 * when it could not be run (err says why).
 */
static int run_nft(const char *const *args, size_t n_args, int keep_fd, char **out, size_t *out_len,
		   char *err, size_t err_cap)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	char *argv[8];
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, status = 0;
	size_t ol = 0, el = 0, ocap = 0;
	char *ob = NULL;
	pid_t pid;
	bool o_open = true, e_open = true;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	err[0] = '\0';
	if (n_args + 2 > VG_ARRAY_LEN(argv))
		return -1;
	argv[0] = "nft";
	for (size_t i = 0; i < n_args; i++)
		argv[i + 1] = (char *)args[i];
	argv[n_args + 1] = NULL;
	if (access(NFT_PATH, X_OK) != 0) {
		(void)snprintf(err, err_cap, "%s: %s (install Debian's nftables)", NFT_PATH,
			       strerror(errno));
		return -1;
	}
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		(void)snprintf(err, err_cap, "pipe: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		(void)snprintf(err, err_cap, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(po[1], STDOUT_FILENO) < 0 || dup2(pe[1], STDERR_FILENO) < 0)
			_exit(127);
		/* Only stdio and the ruleset's memfd reach nft. */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != keep_fd)
				(void)close(fd);
		execve(NFT_PATH, argv, envp);
		_exit(127);
	}
	(void)close(po[1]);
	(void)close(pe[1]);
	po[1] = pe[1] = -1;
	while (o_open || e_open) {
		struct pollfd p[2] = {{.fd = o_open ? po[0] : -1, .events = POLLIN},
				      {.fd = e_open ? pe[0] : -1, .events = POLLIN}};
		char buf[4096];
		ssize_t k;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (o_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			k = read(po[0], buf, sizeof buf);
			if (k <= 0) {
				o_open = false;
			} else if (out && ol + (size_t)k <= NFT_OUT_MAX) {
				if (ol + (size_t)k + 1 > ocap) {
					size_t nc = ocap ? ocap * 2 : 8192;
					char *nb;
					while (nc < ol + (size_t)k + 1)
						nc *= 2;
					nb = realloc(ob, nc);
					if (!nb) {
						o_open = false;
						continue;
					}
					ob = nb;
					ocap = nc;
				}
				memcpy(ob + ol, buf, (size_t)k);
				ol += (size_t)k;
			}
		}
		if (e_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			k = read(pe[0], buf, sizeof buf);
			if (k <= 0) {
				e_open = false;
			} else {
				size_t take = (size_t)k;
				if (el + take >= err_cap)
					take = err_cap - 1 - el;
				memcpy(err + el, buf, take);
				el += take;
				err[el] = '\0';
			}
		}
	}
	(void)close(po[0]);
	(void)close(pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(ob);
			(void)snprintf(err, err_cap, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (out) {
		if (!ob)
			ob = calloc(1, 1);
		else
			ob[ol] = '\0';
		*out = ob;
		if (out_len)
			*out_len = ol;
	} else {
		free(ob);
	}
	while (el > 0 && (err[el - 1] == '\n' || err[el - 1] == ' '))
		err[--el] = '\0';
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 127 && !el ? -1 : WEXITSTATUS(status);
	(void)snprintf(err, err_cap, "nft killed by signal %d", WTERMSIG(status));
	return -1;
fail:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			(void)close(po[i]);
		if (pe[i] >= 0)
			(void)close(pe[i]);
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Inputs: the list, the addresses, the resolvers, the cgroups          */

/* Every list the service can hold makes a ruleset. */
_Static_assert(VG_EP_MAX_COUNT <= VG_NP_MAX_ENDPOINTS, "netpolicy takes the whole list");

/* The list from a file, as `voxguard endpoint list --json` writes it: the
 * endpoint policy's own parser, with every rule of the policy (one parser
 * for the service, the library and the tools), within netpolicy's bound
 * on the file. Freed with vg_endpoint_list_free, as the service's list. */
static int load_json_list(const char *path, vg_endpoint **eps, size_t *n)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[256];
	vg_rc rc = cli_read(path, VG_NP_MAX_JSON, &buf, &len);

	if (rc != VG_OK)
		return cli_fail("netpolicy: cannot read %s: %s", path, vg_rc_str(rc));
	rc = vg_endpoint_array_from_json(buf, len, eps, n, why, sizeof why);
	free(buf);
	if (rc != VG_OK)
		return cli_fail("netpolicy: %s: %s", path, why);
	return 0;
}

/* The whole list, from the service: only an admin sees every endpoint,
 * and a ruleset made from part of the list would lock the others out. */
static int load_service_list(struct cli *cli, vg_endpoint **eps, size_t *n)
{
	vg_client *c = NULL;
	vg_status st;
	bool admin;
	int e;
	vg_rc rc;

	if ((e = cli_connect(cli, &c)))
		return e;
	memset(&st, 0, sizeof st);
	rc = vg_status_get(c, &st);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "netpolicy apply", rc);
		vg_client_close(&c);
		return e;
	}
	admin = st.role && strcmp(st.role, "admin") == 0;
	vg_status_free(&st);
	if (!admin) {
		vg_client_close(&c);
		return cli_fail("netpolicy apply: needs an admin (root or the admin group, with "
				"a session: voxguard admin login)");
	}
	rc = vg_endpoint_list(c, eps, n);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "netpolicy apply: endpoint list", rc);
	vg_client_close(&c);
	return e;
}

/* The host's addresses: the literal itself, or what getaddrinfo gives
 * (distinct, at most VG_NP_MAX_ADDRS). 0 addresses: nobody reaches it. */
static size_t resolve_host(const char *host, vg_np_addr *out, bool *truncated)
{
	struct addrinfo hints, *res = NULL;
	size_t n = 0;

	*truncated = false;
	if (vg_np_addr_parse(host, &out[0]))
		return 1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		vg_np_addr a;
		bool dup = false;
		memset(&a, 0, sizeof a);
		if (ai->ai_family == AF_INET) {
			a.family = AF_INET;
			memcpy(a.a, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			a.family = AF_INET6;
			memcpy(a.a, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		for (size_t i = 0; i < n; i++)
			dup |= out[i].family == a.family && memcmp(out[i].a, a.a, 16) == 0;
		if (dup)
			continue;
		if (n == VG_NP_MAX_ADDRS) {
			*truncated = true;
			break;
		}
		out[n++] = a;
	}
	freeaddrinfo(res);
	return n;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* The cgroup v2 mount below /sys/fs/cgroup as nft names it: "" (unified,
 * Debian 12) or "unified" (hybrid); NULL when there is none. */
static const char *cgroup_root(void)
{
	if (is_cgroup2(CGROUP_MOUNT))
		return "";
	if (is_cgroup2(CGROUP_MOUNT "/unified"))
		return "unified";
	return NULL;
}

/* nft turns a unit's cgroup path into its id when it loads the rule, so a
 * unit that is not running (no cgroup) has no rule now: it gets one when
 * it starts, from the apply in its ExecStartPre=. */
static void drop_absent_units(vg_endpoint *eps, size_t n, const char *root, const char *slice,
			      size_t *dropped)
{
	*dropped = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = 0;
		for (size_t u = 0; u < eps[i].n_units; u++) {
			char cg[512], p[1024];
			struct stat st;
			size_t level;
			bool here = false;
			if (!vg_netpolicy_unit_valid(eps[i].units[u]) ||
			    vg_netpolicy_unit_cgroup(slice, eps[i].units[u], cg, sizeof cg,
						     &level) != VG_OK) {
				here = true; /* kept: the render refuses it, saying why */
			} else if (root) {
				int k = snprintf(p, sizeof p, "%s%s%s/%s", CGROUP_MOUNT,
						 root[0] ? "/" : "", root, cg);
				here = k > 0 && (size_t)k < sizeof p && stat(p, &st) == 0 &&
				       S_ISDIR(st.st_mode);
			}
			if (!here) {
				(void)fprintf(stderr,
					      "voxguard: netpolicy: unit %s (endpoint %s) is not "
					      "running%s: no rule for it until it starts\n",
					      eps[i].units[u], eps[i].name,
					      root ? "" : " (no cgroup v2)");
				(*dropped)++;
				continue;
			}
			if (w != u)
				memcpy(eps[i].units[w], eps[i].units[u], sizeof eps[i].units[w]);
			w++;
		}
		eps[i].n_units = w;
	}
}

static bool parse_uid_list(const char *s, uint32_t *out, size_t *n)
{
	*n = 0;
	while (s && *s) {
		char *end;
		unsigned long long v;
		if (*s < '0' || *s > '9' || *n == VG_NP_MAX_EXEMPT)
			return false;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || v >= UINT32_MAX || (*end && *end != ','))
			return false;
		out[(*n)++] = (uint32_t)v;
		s = *end ? end + 1 : end;
		if (*end && !*s)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* apply                                                                */

static int load_ruleset(const char *text)
{
	char path[64], err[NFT_ERR_MAX];
	const char *args[2];
	int fd = memfd_create("voxguard-netpolicy", MFD_CLOEXEC), st;

	if (fd < 0)
		return cli_fail("netpolicy apply: memfd: %s", strerror(errno));
	if (vg_write_all(fd, text, strlen(text)) != VG_OK) {
		(void)close(fd);
		return cli_fail("netpolicy apply: cannot write the ruleset");
	}
	/* nft opens the path anew: its own offset, from the start. */
	(void)snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	{
		int flags = fcntl(fd, F_GETFD);
		if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) {
			(void)close(fd);
			return cli_fail("netpolicy apply: fcntl: %s", strerror(errno));
		}
	}
	args[0] = "-f";
	args[1] = path;
	st = run_nft(args, 2, fd, NULL, NULL, err, sizeof err);
	(void)close(fd);
	if (st != 0)
		return cli_fail("netpolicy apply: nft refused the ruleset (the rules in force "
				"are unchanged): %s",
				err[0] ? err : "no reason given");
	return 0;
}

static int np_apply(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "dry-run,default=,exempt-uids=,from-json=,resolv-conf=,slice=";
	struct cli_opts o;
	vg_endpoint *eps = NULL;
	size_t n = 0, n_res = 0, unresolved = 0, absent = 0, n_ex = 0;
	vg_np_host *hosts = NULL;
	vg_np_addr *addrs = NULL, res[VG_NP_MAX_RESOLVERS];
	uint32_t exempt[VG_NP_MAX_EXEMPT];
	vg_np_opts opts;
	const char *from_json, *def, *slice, *root, *rpath;
	char why[256], *text = NULL;
	bool dry;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	dry = cli_flag(&o, spec, "dry-run");
	from_json = cli_opt(&o, spec, "from-json");
	def = cli_opt(&o, spec, "default");
	slice = cli_opt(&o, spec, "slice") ? cli_opt(&o, spec, "slice") : "system.slice";
	rpath = cli_opt(&o, spec, "resolv-conf") ? cli_opt(&o, spec, "resolv-conf")
						 : "/etc/resolv.conf";
	memset(&opts, 0, sizeof opts);
	if (def && strcmp(def, "drop") != 0 && strcmp(def, "accept") != 0)
		return cli_fail("netpolicy apply: --default takes drop or accept");
	opts.default_drop = def && strcmp(def, "drop") == 0;
	if (!parse_uid_list(cli_opt(&o, spec, "exempt-uids"), exempt, &n_ex))
		return cli_fail("netpolicy apply: --exempt-uids takes up to %u uids, comma "
				"separated",
				VG_NP_MAX_EXEMPT);
	if (n_ex && !opts.default_drop)
		return cli_fail("netpolicy apply: --exempt-uids goes with --default drop");
	opts.exempt_uids = exempt;
	opts.n_exempt = n_ex;
	if (!dry && geteuid() != 0)
		return cli_fail("netpolicy apply: needs root to load nftables rules (or "
				"--dry-run)");

	/* The resolvers first: a bad resolv.conf stops before the service is asked. */
	{
		uint8_t *buf = NULL;
		size_t len = 0;
		rc = vg_read_file(rpath, VG_NP_MAX_RESOLV, &buf, &len);
		if (rc == VG_ERR_NOT_FOUND) {
			len = 0; /* no resolv.conf: glibc asks 127.0.0.1 */
		} else if (rc != VG_OK) {
			return cli_fail("netpolicy apply: cannot read %s: %s", rpath,
					vg_rc_str(rc));
		}
		rc = vg_resolvconf_parse((const char *)buf, len, res, &n_res, why, sizeof why);
		free(buf);
		if (rc != VG_OK)
			return cli_fail("netpolicy apply: %s: %s", rpath, why);
	}

	if (from_json) {
		e = load_json_list(from_json, &eps, &n);
	} else {
		e = load_service_list(cli, &eps, &n);
	}
	if (e)
		return e;
	if (n > VG_NP_MAX_ENDPOINTS) {
		e = cli_fail("netpolicy apply: more than %u endpoints", VG_NP_MAX_ENDPOINTS);
		goto out;
	}

	hosts = calloc(n ? n : 1, sizeof *hosts);
	addrs = calloc((n ? n : 1) * VG_NP_MAX_ADDRS, sizeof *addrs);
	if (!hosts || !addrs) {
		e = cli_fail("netpolicy apply: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool trunc = false;
		hosts[i].addrs = addrs + i * VG_NP_MAX_ADDRS;
		hosts[i].n = resolve_host(eps[i].host, addrs + i * VG_NP_MAX_ADDRS, &trunc);
		if (hosts[i].n == 0) {
			(void)fprintf(stderr,
				      "voxguard: netpolicy: endpoint %s: %s does not resolve: "
				      "nobody may reach it until it does\n",
				      eps[i].name, eps[i].host);
			unresolved++;
		}
		if (trunc)
			(void)fprintf(stderr,
				      "voxguard: netpolicy: endpoint %s: %s has more than %u "
				      "addresses: the first %u are allowed\n",
				      eps[i].name, eps[i].host, VG_NP_MAX_ADDRS, VG_NP_MAX_ADDRS);
	}
	root = cgroup_root();
	drop_absent_units(eps, n, root, slice, &absent);
	opts.cgroup_root = root ? root : "";
	opts.slice = slice;
	rc = vg_netpolicy_render(eps, hosts, n, res, n_res, &opts, &text, why, sizeof why);
	if (rc != VG_OK) {
		e = cli_fail("netpolicy apply: %s", why);
		goto out;
	}
	if (dry) {
		(void)fputs(text, stdout);
		e = fflush(stdout) == 0 ? 0 : cli_fail("netpolicy apply: cannot write the ruleset");
		goto out;
	}
	if ((e = load_ruleset(text)))
		goto out;
	(void)printf("netpolicy: applied table inet voxguard: %zu endpoint(s)%s, %zu "
		     "resolver(s), default %s",
		     n, unresolved ? " (some without addresses)" : "", n_res,
		     opts.default_drop ? "drop" : "accept");
	if (absent)
		(void)printf(", %zu unit(s) not running", absent);
	(void)printf("\n");
out:
	free(text);
	free(hosts);
	free(addrs);
	vg_endpoint_list_free(eps, n);
	return e;
}

/* ------------------------------------------------------------------ */
/* show                                                                 */

/* Prints the drop counters from `nft -j list counters table inet
 * voxguard` (nft's own output, still read with care). */
static int print_counters(const char *json, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr), *arr, *it;
	size_t i;

	if (!root || !(arr = json_object_get(root, "nftables")) || !json_is_array(arr)) {
		json_decref(root);
		return cli_fail("netpolicy show: cannot read nft's counters");
	}
	(void)printf("\n# drop counters\n");
	json_array_foreach(arr, i, it)
	{
		json_t *c = json_object_get(it, "counter");
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *comment = json_string_value(json_object_get(c, "comment"));
		json_t *pk = json_object_get(c, "packets"), *by = json_object_get(c, "bytes");
		if (!c || !name || !json_is_integer(pk) || !json_is_integer(by))
			continue;
		(void)printf("%-24s %12lld packets %14lld bytes  %s\n", name,
			     (long long)json_integer_value(pk), (long long)json_integer_value(by),
			     comment ? comment : "");
	}
	json_decref(root);
	return 0;
}

static int np_show(struct cli *cli, int argc, char **argv)
{
	static const char *const list_table[] = {"list", "table", "inet", "voxguard"};
	static const char *const list_counters[] = {"-j",    "list", "counters",
						    "table", "inet", "voxguard"};
	struct cli_opts o;
	char err[NFT_ERR_MAX], *out = NULL;
	size_t len = 0;
	int e = cli_parse("", argc, argv, &o, 0, 0), st;

	(void)cli;
	if (e)
		return e;
	st = run_nft(list_table, VG_ARRAY_LEN(list_table), -1, &out, &len, err, sizeof err);
	if (st != 0) {
		free(out);
		if (strstr(err, "No such file or directory"))
			return cli_fail("netpolicy show: no table inet voxguard here (never "
					"applied: voxguard netpolicy apply)");
		return cli_fail("netpolicy show: %s", err[0] ? err : "nft failed");
	}
	(void)fwrite(out, 1, len, stdout);
	free(out);
	out = NULL;
	st = run_nft(list_counters, VG_ARRAY_LEN(list_counters), -1, &out, &len, err, sizeof err);
	if (st != 0) {
		free(out);
		return cli_fail("netpolicy show: %s", err[0] ? err : "nft failed");
	}
	e = print_counters(out, len);
	free(out);
	if (!e && fflush(stdout) != 0)
		e = cli_fail("netpolicy show: cannot write");
	return e;
}

int cmd_netpolicy(struct cli *cli, int argc, char **argv)
{
	static const struct cli_cmd sub[] = {
	    {"apply", np_apply,
	     "[--dry-run] [--default accept|drop] [--exempt-uids U,...] [--slice S] "
	     "[--resolv-conf F] [--from-json F]: load the endpoint list as nftables rules"},
	    {"show", np_show, "the rules in force (table inet voxguard) and the drop counters"},
	};
	return cli_dispatch(cli, "netpolicy", sub, VG_ARRAY_LEN(sub), argc, argv);
}
