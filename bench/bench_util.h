/*
 * bench_util.h - what the benchmarks share: failing loudly, a voxguardd of
 * their own in a temporary directory, the clock, and alternating rounds
 * reduced to medians.
 */
#ifndef VG_BENCH_UTIL_H
#define VG_BENCH_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Prints "PROGRAM: what" and OpenSSL's queued errors (if any) on stderr,
 * stops the service and removes the directory of this process's last
 * bench_svc_prepare() (bench_svc_cleanup), and exits with status 2. */
__attribute__((noreturn)) void bench_die(const char *what);

/* Seconds of CLOCK_MONOTONIC. */
double bench_now(void);

/* Sorts v[0..n) and returns its median (the upper one for even n). */
double bench_median(double *v, size_t n);

/* A measurement: operations (or whatever the figure counts) per second,
 * taking about *secs seconds as the bench's meters read it. */
typedef double (*bench_meter)(void);

typedef struct {
	double ours, base, ratio; /* medians; ratio: of the per-round ratios */
} bench_medians;

/* The machine's speed drifts (shared VMs especially): runs base then ours
 * in `rounds` alternating rounds of *secs / rounds seconds each (*secs is
 * set for the rounds and restored) and returns the medians of both and of
 * the per-round ratios ours / base. */
bench_medians bench_alternate(bench_meter ours, bench_meter base, int rounds, double *secs);

/* A voxguardd of the bench's own: a fresh directory with the state
 * directory, socket and config in it. */
typedef struct {
	char dir[256];   /* $TMPDIR (else /var/tmp)/PREFIX.XXXXXX, mode 0711 */
	char state[300]; /* dir/state, 0700 (owned by nobody when run as root) */
	char sock[300];  /* dir/vg.sock */
	char conf[300];  /* dir/voxguardd.conf */
	pid_t pid;       /* the running service, 0 if none */
} bench_svc;

/* Bits of bench_svc_prepare()'s flags. */
#define BENCH_SVC_ADMIN 1u /* not root: the caller's group is the admin group */

/*
 * Makes the directory (on disk, as on a device: /var/tmp, not tmpfs, unless
 * $TMPDIR says otherwise) and writes the config: conf_extra (config lines,
 * may be NULL) first; as root, "user = nobody" with the state directory
 * chowned to nobody and $VOXGUARD_SERVICE_USER set so that the client
 * accepts the service's peer credentials; otherwise, with BENCH_SVC_ADMIN,
 * "admin_group = " the caller's group. Dies on any failure.
 */
void bench_svc_prepare(bench_svc *s, const char *prefix, const char *conf_extra, unsigned flags);

/* Starts voxguardd on s's directory and waits for its "ready" line;
 * returns the seconds from fork to ready. Dies if it does not start. */
double bench_svc_start(bench_svc *s, const char *voxguardd);

/* Stops the service (SIGTERM) and waits for it; harmless if none runs. */
void bench_svc_stop(bench_svc *s);

/* Stops the service and removes s's directory with all in it. */
void bench_svc_cleanup(bench_svc *s);

#endif
