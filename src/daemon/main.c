/*
 * voxguardd - the voxguard service.
 *
 *   voxguardd --state-dir DIR --socket PATH [--config FILE]
 *
 * Runs in the foreground; prints "voxguardd: ready ..." once it accepts
 * requests (and tells systemd READY=1); SIGTERM/SIGINT shut it down
 * cleanly (audit log sealed). Exits 1 with a one-line reason when it
 * cannot start.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dlfcn.h>

#include "common/util.h"
#include "daemon/config.h"
#include "daemon/privdrop.h"
#include "daemon/server.h"
#include "daemon/service.h"
#include "version.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1; /* the event loop acts on it */
}

static const char *g_socket;

/* systemd's sd_notify(3), from libsystemd loaded only when systemd asked
 * for notifications ($NOTIFY_SOCKET) and only for the call: the library
 * and what it pulls in (libgcrypt, compressors) would otherwise stay
 * mapped for the service's whole life. */
static void notify(const char *state)
{
	void *lib;
	int (*fn)(int, const char *);

	if (!getenv("NOTIFY_SOCKET"))
		return;
	lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		(void)fprintf(stderr, "voxguardd: cannot notify systemd: %s\n", dlerror());
		return;
	}
	*(void **)&fn = dlsym(lib, "sd_notify");
	if (fn)
		(void)fn(0, state);
	(void)dlclose(lib);
}

static void on_ready(void)
{
	(void)printf("voxguardd: ready on %s\n", g_socket);
	(void)fflush(stdout);
	notify("READY=1");
}

static void usage(FILE *f)
{
	(void)fprintf(f, "usage: voxguardd --state-dir DIR --socket PATH [--config FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state-dir", required_argument, NULL, 'd'}, {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
	};
	const char *state_dir = NULL, *config = NULL;
	char err[512] = "";
	vg_config cfg;
	vg_service *svc = NULL;
	gid_t sock_gid = (gid_t)-1;
	struct sigaction sa;
	int opt, lfd = -1, status = 1;
	vg_rc rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			state_dir = optarg;
			break;
		case 's':
			g_socket = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			(void)printf("voxguardd %s\n", VG_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!state_dir || !g_socket || optind != argc) {
		usage(stderr);
		return 2;
	}
	vg_config_defaults(&cfg);
	if (config && vg_config_load(&cfg, config, err, sizeof err) != VG_OK) {
		(void)fprintf(stderr, "voxguardd: config: %s\n", err);
		return 1;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	/* Files the service creates are its own. */
	(void)umask(077);
	/* Long-lived keys live in locked memory excluded from core dumps. */
	vg_secure_heap_init(64 * 1024);

	if (cfg.socket_group[0]) {
		struct group *g = getgrnam(cfg.socket_group);
		if (!g) {
			(void)fprintf(stderr, "voxguardd: socket group '%s' does not exist\n",
				      cfg.socket_group);
			return 1;
		}
		sock_gid = g->gr_gid;
	} else if (geteuid() == 0 && cfg.user[0]) {
		/* Started as root with no socket group: the socket belongs to the
		 * service user's group, not root's (or only root could connect). */
		uid_t u;
		if (vg_privdrop_lookup(cfg.user, &u, &sock_gid) != VG_OK)
			sock_gid = (gid_t)-1; /* vg_privdrop reports the missing user */
	}
	/* What needs privilege first (the socket, possibly in /run), then
	 * the drop, then everything else as the service user. */
	rc = vg_server_listen(g_socket, cfg.socket_mode, sock_gid, &lfd, err, sizeof err);
	if (rc == VG_OK)
		rc = vg_privdrop(cfg.user, err, sizeof err);
	if (rc == VG_OK)
		rc = vg_sandbox_enter(err, sizeof err);
	if (rc == VG_OK)
		rc = vg_service_open(&svc, state_dir, &cfg, err, sizeof err);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "voxguardd: %s\n", err[0] ? err : vg_rc_str(rc));
		goto out;
	}
	rc = vg_server_run(svc, lfd, &stop_flag, on_ready);
	if (rc != VG_OK)
		(void)fprintf(stderr, "voxguardd: event loop: %s\n", vg_rc_str(rc));
	else
		status = 0;
	notify("STOPPING=1");
out:
	vg_service_close(&svc);
	if (lfd >= 0) {
		(void)close(lfd);
		/* Made before the privilege drop, in a directory of root's, the
		 * socket cannot be removed now: say so (the next start
		 * replaces a socket nobody listens on). */
		if (unlink(g_socket) != 0 && errno != ENOENT)
			(void)fprintf(stderr,
				      "voxguardd: socket %s left in place: %s (its directory is "
				      "not writable by the service's user; the next start replaces "
				      "it)\n",
				      g_socket, strerror(errno));
	}
	if (status == 0)
		(void)printf("voxguardd: stopped\n");
	return status;
}
