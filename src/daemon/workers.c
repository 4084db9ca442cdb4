/* workers.c - see workers.h */
#include "daemon/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_THREADS 8u
#define MAX_QUEUED  VG_WORKERS_MAX_QUEUED

/* The jobs of one lane, oldest first. A lane exists only while it has
 * jobs queued, so MAX_QUEUED lanes are always enough. */
struct lane {
	vg_job *head, *tail;
	uint32_t id;
	struct lane *next; /* in the ring, or in the free list */
};

struct vg_workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* The ring of lanes with jobs queued, as the lane served last: its
	 * next is served next, and a new lane goes in after it, so behind
	 * every lane already waiting. NULL: nothing queued. */
	struct lane *last;
	struct lane *free_lanes;
	vg_job *done_head, *done_tail; /* finished, not taken */
	size_t queued, busy;
	unsigned idle; /* threads waiting for a job */
	bool stopping;
	int efd;
	unsigned n;
	pthread_t th[MAX_THREADS];
	struct lane lanes[MAX_QUEUED];
};

static void push(vg_job **head, vg_job **tail, vg_job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

/* The lane with this id, joining the ring behind the lanes already
 * waiting if it has nothing queued. Called with a job to queue, so fewer
 * than MAX_QUEUED jobs, hence lanes, are queued: a free lane exists. */
static struct lane *lane_of(vg_workers *w, uint32_t id)
{
	struct lane *l = w->last;

	/* A walk of the ring, which holds one lane per uid with jobs queued:
	 * a few on a device, at worst MAX_QUEUED short steps under the lock. */
	if (l) {
		do {
			if (l->id == id)
				return l;
			l = l->next;
		} while (l != w->last);
	}
	l = w->free_lanes;
	w->free_lanes = l->next;
	l->id = id;
	l->head = l->tail = NULL;
	if (w->last) {
		l->next = w->last->next;
		w->last->next = l;
	} else {
		l->next = l;
	}
	w->last = l;
	return l;
}

/* The oldest job of the lane at the cursor; the cursor moves on. */
static vg_job *take_next(vg_workers *w)
{
	struct lane *l = w->last->next;
	vg_job *j = l->head;

	l->head = j->next;
	if (l->head) {
		w->last = l;
	} else {
		/* Empty: out of the ring; the cursor is then at l's next. */
		l->tail = NULL;
		if (l == w->last)
			w->last = NULL;
		else
			w->last->next = l->next;
		l->next = w->free_lanes;
		w->free_lanes = l;
	}
	w->queued--;
	return j;
}

static void *worker(void *arg)
{
	vg_workers *w = arg;

	(void)pthread_mutex_lock(&w->mu);
	for (;;) {
		vg_job *j;
		uint64_t one = 1;
		bool notify;

		while (!w->last && !w->stopping) {
			w->idle++;
			(void)pthread_cond_wait(&w->cv, &w->mu);
			w->idle--;
		}
		if (!w->last) {
			(void)pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		j = take_next(w);
		(void)pthread_mutex_unlock(&w->mu);

		j->run(j);

		/* The event loop is told once per batch of finished jobs: a
		 * done list that was not empty has its eventfd write pending
		 * (vg_workers_take_done reads it before taking the list).
		 * The next job is taken under the same lock: a busy pool
		 * pays one lock a job and no wake-up. */
		(void)pthread_mutex_lock(&w->mu);
		notify = !w->done_head;
		push(&w->done_head, &w->done_tail, j);
		if (notify)
			/* An eventfd write of 1 never blocks short of 2^64-2
			 * pending. */
			while (write(w->efd, &one, sizeof one) < 0 && errno == EINTR)
				;
	}
}

vg_rc vg_workers_start(vg_workers **out, unsigned n)
{
	vg_workers *w = calloc(1, sizeof *w);

	*out = NULL;
	if (!w)
		return VG_ERR_NOMEM;
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c < 1 ? 1u : (unsigned)c;
	}
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	for (size_t i = 0; i < MAX_QUEUED; i++)
		w->lanes[i].next = i + 1 < MAX_QUEUED ? &w->lanes[i + 1] : NULL;
	w->free_lanes = &w->lanes[0];
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0 || pthread_mutex_init(&w->mu, NULL) != 0) {
		if (w->efd >= 0)
			(void)close(w->efd);
		free(w);
		return VG_ERR_IO;
	}
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&w->mu);
		(void)close(w->efd);
		free(w);
		return VG_ERR_IO;
	}
	for (w->n = 0; w->n < n; w->n++)
		if (pthread_create(&w->th[w->n], NULL, worker, w) != 0)
			break;
	if (w->n == 0) {
		vg_workers_stop(&w);
		return VG_ERR_IO;
	}
	*out = w;
	return VG_OK;
}

int vg_workers_fd(const vg_workers *w)
{
	return w->efd;
}

unsigned vg_workers_threads(const vg_workers *w)
{
	return w->n;
}

vg_rc vg_workers_submit(vg_workers *w, vg_job *j)
{
	vg_rc rc = VG_OK;
	bool wake = false;

	(void)pthread_mutex_lock(&w->mu);
	if (w->queued >= MAX_QUEUED) {
		rc = VG_ERR_TOO_LARGE;
	} else {
		struct lane *l = lane_of(w, j->lane);

		push(&l->head, &l->tail, j);
		w->queued++;
		w->busy++;
		/* Only an idle thread needs waking: a busy one takes the job
		 * when it finishes its own. */
		wake = w->idle > 0;
	}
	(void)pthread_mutex_unlock(&w->mu);
	if (wake)
		(void)pthread_cond_signal(&w->cv);
	return rc;
}

vg_job *vg_workers_take_done(vg_workers *w)
{
	vg_job *list;
	uint64_t v;

	while (read(w->efd, &v, sizeof v) < 0 && errno == EINTR)
		;
	(void)pthread_mutex_lock(&w->mu);
	list = w->done_head;
	w->done_head = w->done_tail = NULL;
	for (vg_job *j = list; j; j = j->next)
		w->busy--;
	(void)pthread_mutex_unlock(&w->mu);
	return list;
}

size_t vg_workers_busy(const vg_workers *w)
{
	return w->busy; /* read on the event loop's thread, which alone changes it down */
}

void vg_workers_stop_threads(vg_workers *w)
{
	(void)pthread_mutex_lock(&w->mu);
	w->stopping = true;
	(void)pthread_cond_broadcast(&w->cv);
	(void)pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->n; i++)
		(void)pthread_join(w->th[i], NULL);
	w->n = 0;
}

void vg_workers_stop(vg_workers **pw)
{
	vg_workers *w;

	if (!pw || !*pw)
		return;
	w = *pw;
	vg_workers_stop_threads(w);
	(void)pthread_cond_destroy(&w->cv);
	(void)pthread_mutex_destroy(&w->mu);
	(void)close(w->efd);
	free(w);
	*pw = NULL;
}
