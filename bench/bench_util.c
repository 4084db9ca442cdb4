/*
 * bench_util.c - what the benchmarks share (bench_util.h).
 */
#include "bench_util.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

/* What bench_die() stops and removes: the service directory this process
 * prepared last. A client process forked from the bench inherits the
 * pointer but owns neither, and leaves them to the bench. */
static bench_svc *g_svc;
static pid_t g_svc_owner;

void bench_die(const char *what)
{
	(void)fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
	ERR_print_errors_fp(stderr);
	if (g_svc && g_svc_owner == getpid())
		bench_svc_cleanup(g_svc);
	exit(2);
}

double bench_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_d);
	return v[n / 2];
}

bench_medians bench_alternate(bench_meter ours, bench_meter base, int rounds, double *secs)
{
	double o[rounds], b[rounds], r[rounds], total = *secs;
	bench_medians m;

	*secs = total / rounds;
	for (int i = 0; i < rounds; i++) {
		b[i] = base();
		o[i] = ours();
		r[i] = o[i] / b[i];
	}
	*secs = total;
	m.ours = bench_median(o, (size_t)rounds);
	m.base = bench_median(b, (size_t)rounds);
	m.ratio = bench_median(r, (size_t)rounds);
	return m;
}

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		bench_die("temporary directory path too long (set a shorter TMPDIR)");
}

void bench_svc_prepare(bench_svc *s, const char *prefix, const char *conf_extra, unsigned flags)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f;
	int n;

	memset(s, 0, sizeof *s);
	n = snprintf(s->dir, sizeof s->dir, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/var/tmp", prefix);
	if (n < 0 || (size_t)n >= sizeof s->dir)
		bench_die("temporary directory path too long (set a shorter TMPDIR)");
	if (!mkdtemp(s->dir))
		bench_die("mkdtemp");
	g_svc = s;
	g_svc_owner = getpid();
	path_in(s->state, sizeof s->state, s->dir, "state");
	path_in(s->sock, sizeof s->sock, s->dir, "vg.sock");
	path_in(s->conf, sizeof s->conf, s->dir, "voxguardd.conf");
	if (strlen(s->sock) >= sizeof((struct sockaddr_un *)NULL)->sun_path)
		bench_die("socket path too long for AF_UNIX (set a shorter TMPDIR)");
	if (mkdir(s->state, 0700) != 0 || chmod(s->dir, 0711) != 0)
		bench_die("mkdir");
	f = fopen(s->conf, "w");
	if (!f)
		bench_die("config");
	if (conf_extra)
		(void)fputs(conf_extra, f);
	if (geteuid() == 0) {
		/* As root the service drops to an unprivileged user, as it
		 * would on a device: nobody, owning the state dir. */
		struct passwd *pw = getpwnam("nobody");
		if (!pw || chown(s->state, pw->pw_uid, pw->pw_gid) != 0)
			bench_die("chown state dir to nobody");
		(void)fprintf(f, "user = nobody\n");
		(void)setenv("VOXGUARD_SERVICE_USER", "nobody", 1);
	} else if (flags & BENCH_SVC_ADMIN) {
		struct group *gr = getgrgid(getegid());
		if (!gr)
			bench_die("own group");
		(void)fprintf(f, "admin_group = %s\n", gr->gr_name);
	}
	if (fclose(f) != 0)
		bench_die("config");
}

double bench_svc_start(bench_svc *s, const char *voxguardd)
{
	int p[2];
	char buf[512];
	size_t got = 0;
	double t0 = bench_now();

	if (pipe(p) != 0)
		bench_die("pipe");
	s->pid = fork();
	if (s->pid < 0)
		bench_die("fork");
	if (s->pid == 0) {
		(void)dup2(p[1], 1);
		(void)close(p[0]);
		execl(voxguardd, voxguardd, "--state-dir", s->state, "--socket", s->sock,
		      "--config", s->conf, (char *)NULL);
		_exit(127);
	}
	(void)close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			bench_die("voxguardd did not start");
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "ready"))
			break;
	}
	(void)close(p[0]);
	return bench_now() - t0;
}

void bench_svc_stop(bench_svc *s)
{
	if (s->pid > 0) {
		(void)kill(s->pid, SIGTERM);
		(void)waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void bench_svc_cleanup(bench_svc *s)
{
	bench_svc_stop(s);
	if (s->dir[0] && nftw(s->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		(void)fprintf(stderr, "%s: could not remove %s\n", program_invocation_short_name,
			      s->dir);
}
