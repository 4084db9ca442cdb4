/*
 * workers.h - a small pool of threads for CPU-heavy work, so that no
 * request blocks the others (SFR 4.2.10: one uid's password checks or
 * signatures do not stall another's requests).
 *
 * What runs on a worker is pure computation on inputs the job owns (a
 * password and its stored hash, a key reference and a digest): never the
 * database, the audit log or any other service state, which stay on the
 * event loop's thread. The event loop submits a job, and learns that jobs
 * have finished when vg_workers_fd() becomes readable; it then takes them
 * with vg_workers_take_done() and finishes each on its own thread.
 *
 * Order: round-robin by lane, FIFO within a lane. A job's lane is the uid
 * whose budget it counts against, so that one uid with many queued jobs
 * (signatures, password checks) does not make another uid's job wait
 * behind all of them: a free worker takes the oldest job of the lane at
 * the ring's cursor and moves the cursor to the next lane; a lane leaves
 * the ring when it has nothing queued, and a lane that joins it is served
 * after the lanes already waiting. Between two jobs of a lane that stays
 * queued, every other lane gets at most one; no lane is skipped.
 *
 * Threads are started by vg_workers_start(), after the service dropped its
 * privileges and installed its seccomp filter (the filter and the
 * credentials are inherited). Ownership: a submitted job belongs to the
 * pool until vg_workers_take_done() hands it back.
 */
#ifndef VG_DAEMON_WORKERS_H
#define VG_DAEMON_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

typedef struct vg_job vg_job;
struct vg_job {
	void (*run)(vg_job *j); /* on a worker thread */
	void *owner;            /* the submitter's, untouched by the pool */
	uint32_t lane;          /* the submitter sets it: the uid whose budget
				 * the job counts against (see Order above) */
	vg_job *next;           /* the pool's */
};

/* The most jobs queued (submitted, not started) at a time. */
#define VG_WORKERS_MAX_QUEUED 1024u

typedef struct vg_workers vg_workers;

/* n threads (0: one per online core, at most 8). */
VG_NODISCARD vg_rc vg_workers_start(vg_workers **out, unsigned n);
/* Readable (an eventfd) when finished jobs wait to be taken. */
int vg_workers_fd(const vg_workers *w);
/* Queues j at the end of its lane (j->lane); VG_ERR_TOO_LARGE when the
 * queue holds VG_WORKERS_MAX_QUEUED jobs (j is then not the pool's). */
VG_NODISCARD vg_rc vg_workers_submit(vg_workers *w, vg_job *j);
/* The finished jobs, oldest first (NULL when none); resets the fd. */
vg_job *vg_workers_take_done(vg_workers *w);
/* Jobs submitted and not yet taken back. */
size_t vg_workers_busy(const vg_workers *w);
unsigned vg_workers_threads(const vg_workers *w);
/* Runs every job submitted so far to its end and stops the threads;
 * finished jobs stay to be taken. */
void vg_workers_stop_threads(vg_workers *w);
/* Waits for the running jobs, then stops the threads. Jobs still queued
 * or finished are handed back through vg_workers_take_done() first by
 * the caller; NULL is fine. */
void vg_workers_stop(vg_workers **w);

#endif
