/*
 * test_workers.c - the daemon's worker pool (src/daemon/workers.h).
 *
 * SFR 4.2.10 (4.2.10-j): CPU-heavy work runs on a pool of threads; every
 * job runs once and comes back; the queue is served round-robin by lane
 * (the uid whose budget a job counts against), so one uid's queued jobs
 * do not make another uid's job wait behind all of them; the queue is
 * bounded; stopping runs every submitted job to its end.
 *
 * A "gate" job holds the pool's only worker until the test opens it, so
 * that what is queued meanwhile is served in an order the test controls.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/workers.h"

#define LANE_A    1001u
#define LANE_B    1002u
#define LANE_GATE 7u
#define MANY      300u

/* What the jobs did, shared with the workers. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool gate_started, gate_open;
	unsigned ran[VG_WORKERS_MAX_QUEUED + 2];   /* each job's number of runs */
	unsigned order[VG_WORKERS_MAX_QUEUED + 2]; /* job indexes, as they ran */
	size_t n_order;
} rec = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

struct tjob {
	vg_job base;
	unsigned idx;
	unsigned taken; /* times handed back by vg_workers_take_done() */
};

static void note_run(unsigned idx)
{
	(void)pthread_mutex_lock(&rec.mu);
	rec.ran[idx]++;
	rec.order[rec.n_order++] = idx;
	(void)pthread_mutex_unlock(&rec.mu);
}

static void plain_run(vg_job *base)
{
	note_run(((struct tjob *)base)->idx);
}

/* Holds its worker until gate_open(). */
static void gate_run(vg_job *base)
{
	(void)pthread_mutex_lock(&rec.mu);
	rec.gate_started = true;
	(void)pthread_cond_broadcast(&rec.cv);
	while (!rec.gate_open)
		(void)pthread_cond_wait(&rec.cv, &rec.mu);
	(void)pthread_mutex_unlock(&rec.mu);
	note_run(((struct tjob *)base)->idx);
}

static int setup(void **state)
{
	(void)state;
	(void)pthread_mutex_lock(&rec.mu);
	rec.gate_started = rec.gate_open = false;
	memset(rec.ran, 0, sizeof rec.ran);
	memset(rec.order, 0, sizeof rec.order);
	rec.n_order = 0;
	(void)pthread_mutex_unlock(&rec.mu);
	return 0;
}

static void job_init(struct tjob *j, unsigned idx, uint32_t lane, void (*run)(vg_job *))
{
	memset(j, 0, sizeof *j);
	j->idx = idx;
	j->base.run = run;
	j->base.owner = j;
	j->base.lane = lane;
}

/* Submits the gate job and waits until the worker runs it: from then on
 * nothing else runs until gate_open(). */
static void gate_hold(vg_workers *w, struct tjob *gate, unsigned idx)
{
	job_init(gate, idx, LANE_GATE, gate_run);
	assert_int_equal(vg_workers_submit(w, &gate->base), VG_OK);
	(void)pthread_mutex_lock(&rec.mu);
	while (!rec.gate_started)
		(void)pthread_cond_wait(&rec.cv, &rec.mu);
	(void)pthread_mutex_unlock(&rec.mu);
}

static void gate_open(void)
{
	(void)pthread_mutex_lock(&rec.mu);
	rec.gate_open = true;
	(void)pthread_cond_broadcast(&rec.cv);
	(void)pthread_mutex_unlock(&rec.mu);
}

static size_t runs_so_far(void)
{
	size_t n;

	(void)pthread_mutex_lock(&rec.mu);
	n = rec.n_order;
	(void)pthread_mutex_unlock(&rec.mu);
	return n;
}

/* Takes finished jobs until want have come back (each counted in its
 * taken), waiting on the pool's fd as the event loop does; the order
 * they came back in goes to back[] when it is not NULL. */
static void take_all(vg_workers *w, size_t want, unsigned *back)
{
	size_t got = 0;

	while (got < want) {
		struct pollfd pfd = {.fd = vg_workers_fd(w), .events = POLLIN};
		vg_job *j, *next;

		if (poll(&pfd, 1, 10000) != 1)
			fail_msg("the pool's fd stayed quiet: %zu of %zu jobs back", got, want);
		for (j = vg_workers_take_done(w); j; j = next) {
			struct tjob *t = j->owner;

			next = j->next;
			assert_ptr_equal(t, (struct tjob *)j);
			t->taken++;
			if (back)
				back[got] = t->idx;
			got++;
			assert_true(got <= want);
		}
	}
	assert_null(vg_workers_take_done(w));
}

/* SFR 4.2.10: every submitted job runs exactly once, on whichever worker,
 * and comes back through vg_workers_take_done() once. */
static void test_workers_every_job_runs_once(void **state)
{
	vg_workers *w = NULL;
	struct tjob *jobs = calloc(MANY, sizeof *jobs);

	(void)state;
	assert_non_null(jobs);
	assert_int_equal(vg_workers_start(&w, 4), VG_OK);
	assert_int_equal(vg_workers_threads(w), 4);
	for (unsigned i = 0; i < MANY; i++) {
		job_init(&jobs[i], i, 1000u + i % 7u, plain_run);
		assert_int_equal(vg_workers_submit(w, &jobs[i].base), VG_OK);
	}
	take_all(w, MANY, NULL);
	assert_int_equal(vg_workers_busy(w), 0);
	for (unsigned i = 0; i < MANY; i++) {
		assert_int_equal(rec.ran[i], 1);
		assert_int_equal(jobs[i].taken, 1);
	}
	assert_int_equal(runs_so_far(), MANY);
	vg_workers_stop(&w);
	assert_null(w);
	vg_workers_stop(&w); /* NULL is fine */
	free(jobs);
}

/* SFR 4.2.10: one uid's queued jobs do not make another's wait behind all
 * of them. Six jobs of lane A, then two of lane B, queued behind a busy
 * worker: the ring serves A (it was waiting first), B, A, B, then A's
 * rest; FIFO within each lane. First come, first served would run B's
 * first job seventh. */
static void test_workers_round_robin_by_lane(void **state)
{
	static const unsigned want[8] = {1, 7, 2, 8, 3, 4, 5, 6};
	vg_workers *w = NULL;
	struct tjob gate, jobs[8];
	unsigned back[9];

	(void)state;
	assert_int_equal(vg_workers_start(&w, 1), VG_OK);
	assert_int_equal(vg_workers_threads(w), 1);
	gate_hold(w, &gate, 0);
	for (unsigned i = 0; i < 8; i++) {
		job_init(&jobs[i], i + 1, i < 6 ? LANE_A : LANE_B, plain_run);
		assert_int_equal(vg_workers_submit(w, &jobs[i].base), VG_OK);
	}
	assert_int_equal(vg_workers_busy(w), 9);
	assert_int_equal(runs_so_far(), 0);
	gate_open();
	take_all(w, 9, back);
	assert_int_equal(rec.n_order, 9);
	assert_int_equal(rec.order[0], 0);
	for (unsigned i = 0; i < 8; i++)
		if (rec.order[i + 1] != want[i])
			fail_msg("run %u was job %u, want %u (A = 1..6, B = 7..8)", i + 1,
				 rec.order[i + 1], want[i]);
	/* Handed back oldest first: with one worker, in the order they ran. */
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(back[i], rec.order[i]);
	vg_workers_stop(&w);
}

/* SFR 4.2.10: the queue is bounded: VG_ERR_TOO_LARGE once it holds
 * VG_WORKERS_MAX_QUEUED jobs, for a lane already queued as for a new one,
 * even when every queued job has a lane of its own; room comes back once
 * the worker moves on. */
static void test_workers_queue_limit(void **state)
{
	const unsigned max = VG_WORKERS_MAX_QUEUED;
	vg_workers *w = NULL;
	struct tjob gate, *jobs = calloc(max + 1, sizeof *jobs);

	(void)state;
	assert_non_null(jobs);
	assert_int_equal(vg_workers_start(&w, 1), VG_OK);
	gate_hold(w, &gate, 0); /* running, so not counted as queued */
	for (unsigned i = 0; i < max; i++) {
		job_init(&jobs[i], i + 1, 100000u + i, plain_run);
		assert_int_equal(vg_workers_submit(w, &jobs[i].base), VG_OK);
	}
	job_init(&jobs[max], max + 1, 100000u, plain_run); /* a lane queued */
	assert_int_equal(vg_workers_submit(w, &jobs[max].base), VG_ERR_TOO_LARGE);
	jobs[max].base.lane = 99u; /* a new lane */
	assert_int_equal(vg_workers_submit(w, &jobs[max].base), VG_ERR_TOO_LARGE);
	assert_int_equal(vg_workers_busy(w), max + 1);
	assert_int_equal(runs_so_far(), 0);
	gate_open();
	take_all(w, max + 1, NULL);
	assert_int_equal(rec.ran[max + 1], 0); /* the refused job never ran */
	assert_int_equal(jobs[max].taken, 0);
	/* Each lane had one job: served in the order the lanes joined. */
	for (unsigned i = 0; i <= max; i++)
		assert_int_equal(rec.order[i], i);
	assert_int_equal(vg_workers_submit(w, &jobs[max].base), VG_OK);
	take_all(w, 1, NULL);
	assert_int_equal(rec.ran[max + 1], 1);
	vg_workers_stop(&w);
	free(jobs);
}

static void *open_later(void *arg)
{
	const struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};

	(void)arg;
	(void)nanosleep(&ts, NULL);
	gate_open();
	return NULL;
}

/* SFR 4.2.10: stopping with a job running and others queued runs every
 * one of them to its end; the finished jobs stay to be taken. */
static void test_workers_stop_runs_every_job(void **state)
{
	vg_workers *w = NULL;
	struct tjob gate, jobs[20];
	pthread_t opener;

	(void)state;
	assert_int_equal(vg_workers_start(&w, 1), VG_OK);
	gate_hold(w, &gate, 0);
	for (unsigned i = 0; i < 20; i++) {
		job_init(&jobs[i], i + 1, i % 2 ? LANE_A : LANE_B, plain_run);
		assert_int_equal(vg_workers_submit(w, &jobs[i].base), VG_OK);
	}
	assert_int_equal(runs_so_far(), 0);
	/* The gate opens while vg_workers_stop_threads() waits (most likely:
	 * the test passes either way, it only has to wait for all 21). */
	assert_int_equal(pthread_create(&opener, NULL, open_later, NULL), 0);
	vg_workers_stop_threads(w);
	assert_int_equal(runs_so_far(), 21);
	for (unsigned i = 0; i <= 20; i++)
		assert_int_equal(rec.ran[i], 1);
	assert_int_equal(vg_workers_threads(w), 0);
	assert_int_equal(pthread_join(opener, NULL), 0);
	take_all(w, 21, NULL);
	assert_int_equal(vg_workers_busy(w), 0);
	vg_workers_stop(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_workers_every_job_runs_once, setup),
	    cmocka_unit_test_setup(test_workers_round_robin_by_lane, setup),
	    cmocka_unit_test_setup(test_workers_queue_limit, setup),
	    cmocka_unit_test_setup(test_workers_stop_runs_every_job, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
