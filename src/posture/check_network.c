/*
 * check_network.c - `voxguard doctor` check "network" (AVS 1.2: only the
 * services the device needs listen): every listening TCP socket and bound
 * UDP socket of the running device (/proc/net/{tcp,tcp6,udp,udp6}, with
 * the owning process found through /proc/PID/fd), or, in an image, every
 * enabled socket unit with an IP ListenStream=/ListenDatagram= and every
 * enabled service known to be a network daemon, against the allow-list.
 * Sockets on loopback only are not exposed and not reported.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "posture/doctor_int.h"

static bool allowed(const vg_doc_opts *o, unsigned port, unsigned proto)
{
	for (size_t i = 0; i < o->n_ports; i++)
		if (o->ports[i].port == port &&
		    (o->ports[i].proto == 0 || o->ports[i].proto == proto))
			return true;
	return false;
}

static const char *proto_name(unsigned p)
{
	return p == 6 ? "tcp" : "udp";
}

/* The process that holds socket inode ino: "name[pid]" or "". */
static void socket_owner(vg_doc_ctx *c, unsigned long ino, char *out, size_t cap)
{
	char want[64], **pids;
	size_t np;

	out[0] = '\0';
	(void)snprintf(want, sizeof want, "socket:[%lu]", ino);
	vg_doc_list(c, "proc", &pids, &np);
	for (size_t i = 0; i < np && !out[0]; i++) {
		char rel[128], **fds;
		size_t nf;
		int dfd;

		if (!isdigit((unsigned char)pids[i][0]))
			continue;
		(void)snprintf(rel, sizeof rel, "proc/%s/fd", pids[i]);
		dfd = vg_doc_open(c, rel, O_RDONLY | O_DIRECTORY, false);
		if (dfd < 0)
			continue;
		vg_doc_list(c, rel, &fds, &nf);
		for (size_t j = 0; j < nf; j++) {
			char link[64];
			ssize_t l = readlinkat(dfd, fds[j], link, sizeof link - 1);
			if (l > 0) {
				link[l] = '\0';
				if (strcmp(link, want) == 0) {
					char crel[128], *comm;
					size_t cl;
					(void)snprintf(crel, sizeof crel, "proc/%s/comm", pids[i]);
					if (vg_doc_read(c, crel, 256, &comm, &cl) == VG_OK) {
						(void)snprintf(out, cap, "%s[%s]",
							       vg_doc_trim(comm), pids[i]);
						free(comm);
					} else {
						(void)snprintf(out, cap, "pid %s", pids[i]);
					}
					break;
				}
			}
		}
		vg_doc_names_free(fds, nf);
		(void)close(dfd);
	}
	vg_doc_names_free(pids, np);
}

/* One /proc/net table. */
static void proc_table(vg_doc_ctx *c, const char *file, unsigned proto, bool v6, size_t *seen)
{
	char rel[64], *buf, *save = NULL;
	size_t len;
	bool first = true;

	(void)snprintf(rel, sizeof rel, "proc/net/%s", file);
	if (vg_doc_read(c, rel, 16u * 1024u * 1024u, &buf, &len) != VG_OK)
		return;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char local[64], remote[64], addr[64], owner[96], subj[64];
		unsigned lport, rport, st;
		unsigned long ino = 0;
		bool loop;

		if (first) {
			first = false;
			continue;
		}
		if (sscanf(l,
			   " %*u: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x %*s %*s %*s %*s %*s %lu",
			   local, &lport, remote, &rport, &st, &ino) != 6)
			continue;
		if (proto == 6 && st != 0x0A)
			continue; /* TCP: LISTEN only */
		if (proto == 17 && rport != 0)
			continue; /* UDP: unconnected (bound) only */
		if (!v6 && strlen(local) == 8) {
			/* the kernel prints the address word in host order: its
			 * bytes in memory are the address */
			uint32_t a = (uint32_t)strtoul(local, NULL, 16);
			unsigned char b[4];
			memcpy(b, &a, sizeof b);
			loop = b[0] == 127;
			(void)snprintf(addr, sizeof addr, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		} else {
			loop = strcmp(local, "00000000000000000000000001000000") == 0 ||
			       (strncmp(local, "0000000000000000FFFF0000", 24) == 0 &&
				strncasecmp(local + 30, "7F", 2) == 0);
			(void)snprintf(addr, sizeof addr, "%s",
				       strspn(local, "0") == 32 ? "::" : "(IPv6)");
		}
		(*seen)++;
		if (loop || allowed(c->o, lport, proto))
			continue;
		socket_owner(c, ino, owner, sizeof owner);
		(void)snprintf(subj, sizeof subj, "%s/%u", proto_name(proto), lport);
		/* one finding per port and protocol (tcp and tcp6 alike) */
		{
			bool dup = false;
			for (size_t i = 0; i < c->r->n && !dup; i++)
				dup = c->r->f[i].check == VG_DOC_NETWORK &&
				      strcmp(c->r->f[i].subject, subj) == 0;
			if (dup)
				continue;
		}
		vg_doc_add(c, VG_DOC_NETWORK, VG_SEV_MEDIUM, "network.listening", subj,
			   "%s listens on %s port %u/%s, which is not in the allow-list",
			   owner[0] ? owner : "a process", addr, lport, proto_name(proto));
		vg_doc_fix(c, "stop and disable the service, bind it to loopback, or allow the "
			      "port (--allow-port N/proto, allow-port in doctor.conf)");
	}
	free(buf);
}

/* Network daemons and the ports they listen on by default. */
static const struct {
	const char *unit;
	unsigned port, proto;
} daemons[] = {
    {"ssh.service", 22, 6},
    {"sshd.service", 22, 6},
    {"dropbear.service", 22, 6},
    {"telnet.socket", 23, 6},
    {"inetd.service", 23, 6},
    {"openbsd-inetd.service", 23, 6},
    {"xinetd.service", 23, 6},
    {"vsftpd.service", 21, 6},
    {"proftpd.service", 21, 6},
    {"apache2.service", 80, 6},
    {"nginx.service", 80, 6},
    {"lighttpd.service", 80, 6},
    {"rpcbind.service", 111, 6},
    {"smbd.service", 445, 6},
    {"nmbd.service", 137, 17},
    {"snmpd.service", 161, 17},
    {"avahi-daemon.service", 5353, 17},
    {"cups.service", 631, 6},
    {"cups-browsed.service", 631, 17},
    {"mosquitto.service", 1883, 6},
    {"tftpd-hpa.service", 69, 17},
    {"nfs-server.service", 2049, 6},
    {"rsync.service", 873, 6},
    {"ntp.service", 123, 17},
    {"ntpsec.service", 123, 17},
    {"dnsmasq.service", 53, 17},
    {"named.service", 53, 17},
    {"bind9.service", 53, 17},
    {"postfix.service", 25, 6},
    {"x11vnc.service", 5900, 6},
    {"minidlna.service", 8200, 6},
    {"shairport-sync.service", 5000, 6},
    {"snapserver.service", 1704, 6},
    {"telnetd.service", 23, 6},
};

struct sockctx {
	vg_doc_ctx *c;
	const char *unit;
};

static void socket_listen(void *ctx, const char *key, const char *value)
{
	struct sockctx *s = ctx;
	unsigned proto;
	const char *p;
	char *end;
	unsigned long port;

	if (strcmp(key, "ListenStream") == 0)
		proto = 6;
	else if (strcmp(key, "ListenDatagram") == 0)
		proto = 17;
	else
		return;
	if (!*value || value[0] == '/' || value[0] == '@' || strncmp(value, "vsock:", 6) == 0)
		return;
	if (strncmp(value, "127.", 4) == 0 || strncmp(value, "[::1]", 5) == 0 ||
	    strncmp(value, "localhost", 9) == 0)
		return;
	p = strrchr(value, ':');
	p = p ? p + 1 : value;
	port = strtoul(p, &end, 10);
	if (*end || port == 0 || port > 65535 || allowed(s->c->o, (unsigned)port, proto))
		return;
	vg_doc_add(s->c, VG_DOC_NETWORK, VG_SEV_MEDIUM, "network.enabled-socket", s->unit,
		   "the enabled socket %s listens on %s (port %lu/%s), which is not in the "
		   "allow-list",
		   s->unit, value, port, proto_name(proto));
	vg_doc_fix(s->c, "disable the socket unit (systemctl disable) or allow the port "
			 "(--allow-port N/proto)");
}

void vg_doc_check_network(vg_doc_ctx *c)
{
	char **units, path[VG_DOC_MAX_PATH];
	size_t n, seen = 0;

	if (!c->offline) {
		proc_table(c, "tcp", 6, false, &seen);
		proc_table(c, "tcp6", 6, true, &seen);
		proc_table(c, "udp", 17, false, &seen);
		proc_table(c, "udp6", 17, true, &seen);
		vg_doc_state_set(c, VG_DOC_NETWORK, VG_DOC_RAN,
				 "%zu listening or bound sockets (loopback ones not reported)",
				 seen);
		return;
	}
	vg_doc_enabled_units(c, &units, &n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(units[i]);

		if (l > 7 && strcmp(units[i] + l - 7, ".socket") == 0) {
			struct sockctx s = {c, units[i]};
			(void)vg_doc_unit_parse(c, units[i], "Socket", socket_listen, &s, path,
						sizeof path);
			continue;
		}
		for (size_t k = 0; k < VG_ARRAY_LEN(daemons); k++) {
			if (strcmp(units[i], daemons[k].unit) != 0 ||
			    allowed(c->o, daemons[k].port, daemons[k].proto))
				continue;
			vg_doc_add(c, VG_DOC_NETWORK, VG_SEV_MEDIUM, "network.enabled-service",
				   units[i],
				   "the enabled service %s is a network daemon (port %u/%s), which "
				   "is not in the allow-list",
				   units[i], daemons[k].port, proto_name(daemons[k].proto));
			vg_doc_fix(c, "remove the package or disable the service (systemctl "
				      "disable), or allow the port (--allow-port N/proto)");
		}
	}
	vg_doc_state_set(c, VG_DOC_NETWORK, VG_DOC_RAN, "%zu enabled units looked at", n);
	vg_doc_names_free(units, n);
}
