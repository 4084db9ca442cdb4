/* server.c - see server.h */
#include "daemon/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/ops.h"
#include "daemon/reqmgr.h"
#include "daemon/workers.h"
#include "proto/wire.h"

enum conn_state { C_HEADER, C_PAYLOAD, C_WAITING, C_WRITING };

struct loop;

struct conn {
	int fd;
	struct loop *lp; /* the event loop that owns it (reads it, frees it) */
	vg_peer peer;
	enum conn_state state;
	uint8_t hdr[VG_WIRE_HDR_LEN];
	size_t hdr_got;
	uint8_t *buf; /* payload being read, grows as bytes arrive */
	size_t want, got, cap;
	uint8_t *out; /* reply being written */
	size_t out_len, out_off;
	uint64_t deadline; /* idle: idle_ms after the last reply; busy: io_timeout_ms */
	vg_budget budget;  /* resolved at accept from the peer's credentials */
	struct uid_use *use;
	bool close_after;
	bool out_armed;        /* waiting for EPOLLOUT (the reply did not fit at once) */
	bool in_off;           /* C_WAITING: input disarmed (bytes came early) */
	bool deferred;         /* reply held until this round's group commit */
	bool held;             /* reply held until this round's audit flush */
	bool audited;          /* the request being answered queued audit events */
	bool dead;             /* closed at the end of the round */
	uint64_t throttled;    /* not read until then: the uid's request_rate */
	struct waiter *waiter; /* C_WAITING: the request on the pool */
	struct conn *next;
};

/* What one uid holds now; exists while it has a connection. */
struct uid_use {
	uint32_t uid;
	uint32_t conns;
	uint64_t inflight; /* request bytes buffered on all its connections */
	uint32_t jobs;     /* its requests waiting for a worker (workers.h) */
	uint32_t heavy;    /* ... of them CPU-heavy (ops.h: VG_COST_HEAVY) */
	/* Turns (loop_round): when it last started a request, and how many
	 * it started in which round of which loop. */
	uint64_t last_req_ms;
	const struct loop *turn_loop;
	uint64_t turn_round;
	uint32_t turn_n;
	unsigned home; /* the loop its connections gather on while contended */
	struct uid_use *next;
};

/* A request waiting for its work on the pool. Its connection may close
 * meanwhile (c = NULL): the work still finishes, and is still counted to
 * the uid until then, but the reply goes nowhere. */
struct waiter {
	vg_reqmgr_pending *p;
	struct conn *c;
	struct uid_use *u;
	bool heavy;
};

/* Why a connection or request was refused: one summarised audit event per
 * uid and reason per window. */
enum refusal_why {
	REF_CONNS,       /* the uid's connection budget */
	REF_INFLIGHT,    /* the uid's in-flight request bytes budget */
	REF_SVC_CONNS,   /* the service's connections (or their reserve) */
	REF_SVC_BUFFERS, /* the shared pool of request buffers */
	REF_HEAVY,       /* the uid's CPU-heavy operations in progress */
};
#define REF_SLOTS 64 /* plus one for every other uid */

struct refusal {
	bool used;
	uint8_t why;
	uint64_t since, count, limit;
	vg_peer peer; /* the latest refused caller (the audit actor) */
};

/*
 * One event loop: a thread, its epoll set and the connections it owns.
 * Only the owner reads a connection and frees it; another loop may answer
 * it (a reply that waited for the pool, the group commit or the audit
 * flush) and mark it dead, and then pokes the owner to sweep it.
 */
struct loop {
	struct server *sv;
	int ep;
	int wake;           /* eventfd: poked to stop, or to sweep */
	struct conn *conns; /* owned */
	size_t n;           /* of them */
	int round_ready;    /* events in this round of the loop */
	uint64_t round_no;  /* rounds so far */
	bool fair;          /* this round: one request per uid (contended) */
	unsigned homed;     /* uids whose home this loop is */
	pthread_t th;
	bool thread;        /* th runs (loops after the first) */
};

/*
 * The state all loops share, under one lock: the accounting below, every
 * connection's fields, and every call into the service (the request
 * manager, the audit log, the store, the budgets). A loop holds the lock
 * for a whole round of its events except while it waits in epoll_wait()
 * and while a light job (a signature: the bulk of a signing request's
 * cost) runs inline: that is what runs in parallel on several cores.
 */
struct server {
	vg_service *s;
	pthread_mutex_t lock;
	struct loop *loops;
	unsigned n_loops;
	int listen_fd;
	volatile sig_atomic_t *stop;
	bool stopping; /* under the lock: every loop ends its round and exits */
	vg_rc rc;      /* a loop's fatal error (epoll) */
	size_t n_conns;
	size_t buffered;    /* every request byte buffered (<= VG_SERVER_MAX_BUFFERED) */
	size_t bulk;        /* the part of it above each uid's small share */
	size_t small_share; /* per uid, always served from the reserve */
	uint32_t conn_reserve;
	struct uid_use *uids;
	struct refusal ref[REF_SLOTS + 1];
	vg_workers *pool; /* NULL: deferred work runs inline */
};

/* Every connection of every loop (under the lock). */
#define FOR_EACH_CONN(sv, c)                                                                      \
	for (unsigned li_ = 0; li_ < (sv)->n_loops; li_++)                                        \
		for (struct conn *c = (sv)->loops[li_].conns; c; c = c->next)

/* The loop this thread runs (NULL on none). */
static __thread struct loop *this_loop;
/* Non-zero while this thread releases replies that waited for a commit
 * (the group commit, the audit flush, the pool): those sends keep the
 * lock (conn_io), so that no other loop can queue a new put or audit
 * record in between and have its reply released with the others before
 * its own commit. */
static __thread unsigned keep_lock;

static void poke(struct loop *lp)
{
	uint64_t one = 1;

	if (write(lp->wake, &one, sizeof one) < 0) {
		/* Full (2^64 - 2 pokes pending) or closed: it is awake anyway. */
	}
}

/* c is to be closed: by its own loop at the end of its round, or soon
 * (poked) when another loop found it so. */
static void mark_dead(struct conn *c)
{
	c->dead = true;
	if (c->lp != this_loop)
		poke(c->lp);
}

vg_rc vg_server_listen(const char *path, unsigned mode, gid_t group, int *fd, char *err,
		       size_t err_len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int s;

	*fd = -1;
	if (strlen(path) >= sizeof sa.sun_path) {
		(void)snprintf(err, err_len, "socket path too long: %s", path);
		return VG_ERR_INVALID;
	}
	strcpy(sa.sun_path, path);
	/* Replace a stale socket, never any other kind of file, nor one a
	 * running service answers on (a second start would leave it
	 * unreachable, then remove the name at its own exit). */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			(void)snprintf(err, err_len, "%s exists and is not a socket", path);
			return VG_ERR_EXISTS;
		}
		/* A full backlog (EAGAIN) is a running service too. */
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s >= 0 &&
		    (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN)) {
			(void)close(s);
			(void)snprintf(err, err_len, "%s: a service is already listening on it",
				       path);
			return VG_ERR_EXISTS;
		}
		if (s >= 0)
			(void)close(s);
		(void)unlink(path);
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		(void)snprintf(err, err_len, "socket: %s", strerror(errno));
		return VG_ERR_IO;
	}
	/* Create it with no access at all, then open it up: no window in
	 * which the socket is reachable with the umask's permissions. */
	{
		mode_t old = umask(0777);
		int r = bind(s, (struct sockaddr *)&sa, sizeof sa);
		(void)umask(old);
		if (r != 0) {
			(void)snprintf(err, err_len, "bind %s: %s", path, strerror(errno));
			(void)close(s);
			return VG_ERR_IO;
		}
	}
	/* chown only when the group is not already the one asked for: under
	 * its systemd unit the service runs as the socket's group, and the
	 * unit's system-call filter refuses the chown family (@privileged). */
	if ((group != (gid_t)-1 && (lstat(path, &st) != 0 || st.st_gid != group) &&
	     chown(path, (uid_t)-1, group) != 0) ||
	    chmod(path, mode) != 0 || listen(s, 128) != 0) {
		(void)snprintf(err, err_len, "socket %s: %s", path, strerror(errno));
		(void)close(s);
		(void)unlink(path);
		return VG_ERR_IO;
	}
	*fd = s;
	return VG_OK;
}

/* ---- per-uid accounting ---- */

static struct uid_use *uid_find(struct server *sv, uint32_t uid)
{
	for (struct uid_use *u = sv->uids; u; u = u->next)
		if (u->uid == uid)
			return u;
	return NULL;
}

static struct uid_use *uid_get(struct server *sv, uint32_t uid)
{
	struct uid_use *u = uid_find(sv, uid);

	if (u)
		return u;
	u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->uid = uid;
	for (unsigned i = 1; i < sv->n_loops; i++)
		if (sv->loops[i].homed < sv->loops[u->home].homed)
			u->home = i;
	sv->loops[u->home].homed++;
	u->next = sv->uids;
	sv->uids = u;
	return u;
}

/* Frees a uid's accounting once it has neither connections nor work. */
static void uid_release(struct server *sv, struct uid_use *u)
{
	struct uid_use **pp;

	if (!u || u->conns || u->jobs)
		return;
	for (pp = &sv->uids; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	sv->loops[u->home].homed--;
	free(u);
}

static void uid_put(struct server *sv, struct uid_use *u)
{
	if (!u)
		return;
	u->conns--;
	uid_release(sv, u);
}

/*
 * Turns. A loop's round serves one request per ready connection, so a uid
 * with eight connections would get eight requests served for another's
 * one. While two or more uids are active (a request started within
 * FAIR_WINDOW_MS, 100 ms: long enough that a loop thread the kernel
 * put aside for a while does not end it: contended), a round serves at most one new request per
 * uid; the rest stay in their sockets (epoll is level-triggered) for the
 * next round, which follows at once. A uid alone keeps every connection
 * served per round.
 *
 * Homes. With several loops, turns alone would not do: a uid with
 * connections on every loop is served on all of them, in parallel, while
 * another waits its turn on one. So each uid has a home loop (the one with
 * the fewest uids at home when the uid appears), and while contended its
 * connections gather there: a new one is placed there, and at the end of
 * each round a loop hands its idle connections of other homes to their
 * home loop (rebalance). Uids then share loops only when there are more
 * uids than loops, and take turns there. A uid alone spreads its
 * connections over the loops again, so that one application with several
 * connections uses every core.
 */
#define FAIR_WINDOW_MS 100

#define NO_UID UINT32_MAX /* (uid_t)-1 is no one's uid */

/* How many uids but except are active (counted up to 2: all a caller asks
 * is whether it is contended, or whether another uid is active). */
static unsigned active_uids(const struct server *sv, uint32_t except, uint64_t now)
{
	unsigned n = 0;

	for (const struct uid_use *u = sv->uids; u && n < 2; u = u->next)
		if (u->uid != except && u->last_req_ms && now - u->last_req_ms <= FAIR_WINDOW_MS)
			n++;
	return n;
}

/* Has c's uid had its turn in this round of its loop? */
static bool had_turn(const struct conn *c)
{
	const struct uid_use *u = c->use;

	return u && u->turn_loop == c->lp && u->turn_round == c->lp->round_no && u->turn_n > 0;
}

static void take_turn(struct conn *c)
{
	struct uid_use *u = c->use;

	if (!u)
		return;
	if (u->turn_loop != c->lp || u->turn_round != c->lp->round_no) {
		u->turn_loop = c->lp;
		u->turn_round = c->lp->round_no;
		u->turn_n = 0;
	}
	u->turn_n++;
	u->last_req_ms = vg_mono_ms();
}

static size_t bulk_part(const struct server *sv, uint64_t inflight)
{
	return inflight > sv->small_share ? (size_t)(inflight - sv->small_share) : 0;
}

/* Frees a connection's request buffer and its accounting. */
static void release_buf(struct server *sv, struct conn *c)
{
	struct uid_use *u = c->use;

	if (c->cap) {
		size_t old_bulk = bulk_part(sv, u->inflight);
		u->inflight -= c->cap;
		sv->bulk -= old_bulk - bulk_part(sv, u->inflight);
		sv->buffered -= c->cap;
	}
	vg_free(c->buf, c->cap);
	c->buf = NULL;
	c->cap = 0;
}

static bool privileged(const struct server *sv, const vg_peer *p)
{
	return p->uid == 0 || p->uid == sv->s->self.uid || p->admin;
}

/* ---- refusals: a clear error to the caller, one audit event per window ---- */

static void ref_what(const struct refusal *r, char *out, size_t cap)
{
	unsigned long long l = (unsigned long long)r->limit;

	switch (r->why) {
	case REF_CONNS:
		(void)snprintf(out, cap, "connections refused (limit %llu connections)", l);
		break;
	case REF_INFLIGHT:
		(void)snprintf(out, cap, "requests refused (limit %llu bytes in flight)", l);
		break;
	case REF_SVC_CONNS:
		(void)snprintf(out, cap, "connections refused: the service is full (%llu)", l);
		break;
	case REF_HEAVY:
		(void)snprintf(out, cap, "CPU-heavy requests refused (limit %llu in progress)", l);
		break;
	default:
		(void)snprintf(out, cap,
			       "requests refused: the shared request buffers are full (%llu bytes)",
			       l);
		break;
	}
}

static void refusal_emit(struct server *sv, struct refusal *r, bool other_uids, uint64_t now)
{
	char what[128], detail[224];
	uint64_t secs = (now - r->since + 999) / 1000;

	ref_what(r, what, sizeof what);
	if (other_uids)
		(void)snprintf(detail, sizeof detail,
			       "other uids (latest %u): %llu %s in the last %llu s", r->peer.uid,
			       (unsigned long long)r->count, what, (unsigned long long)secs);
	else
		(void)snprintf(detail, sizeof detail, "uid %u: %llu %s in the last %llu s",
			       r->peer.uid, (unsigned long long)r->count, what,
			       (unsigned long long)secs);
	vg_service_audit(sv->s, &r->peer, "budget.exceeded", "denied", detail);
	r->used = false;
}

/* Emits the summaries whose window ended (all of them when `all`). */
static void refusals_flush(struct server *sv, bool all)
{
	uint64_t now = vg_mono_ms();

	for (size_t i = 0; i <= REF_SLOTS; i++) {
		struct refusal *r = &sv->ref[i];
		if (r->used && (all || now - r->since >= VG_BUDGET_AUDIT_WINDOW_MS))
			refusal_emit(sv, r, i == REF_SLOTS, now);
	}
}

static void refusal_note(struct server *sv, const vg_peer *peer, enum refusal_why why,
			 uint64_t limit)
{
	struct refusal *r = NULL, *free_slot = NULL;

	for (size_t i = 0; i < REF_SLOTS; i++) {
		if (!sv->ref[i].used) {
			if (!free_slot)
				free_slot = &sv->ref[i];
		} else if (sv->ref[i].peer.uid == peer->uid && sv->ref[i].why == why) {
			r = &sv->ref[i];
			break;
		}
	}
	/* More uids refused at once than slots: one summary for the rest. */
	if (!r)
		r = free_slot ? free_slot : &sv->ref[REF_SLOTS];
	if (!r->used) {
		memset(r, 0, sizeof *r);
		r->used = true;
		r->why = (uint8_t)why;
		r->since = vg_mono_ms();
	}
	r->count++;
	r->limit = limit;
	r->peer = *peer;
}

/* Best effort: an error reply the client finds before the end of the
 * stream, without ever waiting for a slow reader. */
static void send_refusal(int fd, vg_rc rc, const char *why)
{
	uint8_t *frame = NULL;
	size_t len = 0;

	if (vg_reqmgr_error_reply(rc, why, &frame, &len) != VG_OK)
		return;
	(void)send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	vg_free(frame, len);
}

static uint64_t refused_now(struct server *sv, uint32_t uid)
{
	uint64_t n = 0;

	for (size_t i = 0; i <= REF_SLOTS; i++)
		if (sv->ref[i].used && sv->ref[i].peer.uid == uid)
			n += sv->ref[i].count;
	return n;
}

/* The meter behind vg_budget_report (status). */
static bool meter(void *ctx, uint32_t uid, vg_budget_use *use, vg_budget *limit)
{
	struct server *sv = ctx;
	struct uid_use *u = uid_find(sv, uid);

	memset(use, 0, sizeof *use);
	use->refused = refused_now(sv, uid);
	if (!u)
		return false;
	use->conns = u->conns;
	use->inflight_bytes = u->inflight;
	if (limit)
		FOR_EACH_CONN(sv, c)
			if (c->use == u) {
				*limit = c->budget;
				return true;
			}
	return false;
}

static void conn_free(struct server *sv, struct conn *c)
{
	struct conn **pp;

	for (pp = &c->lp->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	c->lp->n--;
	(void)epoll_ctl(c->lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
	(void)close(c->fd);
	release_buf(sv, c);
	vg_free(c->out, c->out_len);
	if (c->waiter)
		c->waiter->c = NULL; /* its work finishes without it */
	uid_put(sv, c->use);
	free(c);
	sv->n_conns--;
}

static void conn_events(struct server *sv, struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	(void)sv;
	(void)epoll_ctl(c->lp->ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Admits a new connection of peer, or says why not (VG_ERR_QUOTA and the
 * message for the caller; the refusal is noted for the audit summary). */
static vg_rc admit(struct server *sv, const vg_peer *peer, const vg_budget *b, char *why,
		   size_t why_len)
{
	struct uid_use *u = uid_find(sv, peer->uid);
	uint32_t held = u ? u->conns : 0, max = sv->s->cfg.max_clients;

	if (sv->n_conns >= max) {
		(void)snprintf(why, why_len, "service busy: %u connections open (limit %u)",
			       (unsigned)sv->n_conns, max);
		refusal_note(sv, peer, REF_SVC_CONNS, max);
		return VG_ERR_QUOTA;
	}
	/* The last connections are kept for callers that hold none (and for
	 * root, the service and admins): a few uids together cannot lock
	 * everyone else out. */
	if (sv->n_conns >= max - sv->conn_reserve && held > 0 && !privileged(sv, peer)) {
		(void)snprintf(why, why_len,
			       "service busy: %u connections open; the last %u are kept for "
			       "callers without one",
			       (unsigned)sv->n_conns, sv->conn_reserve);
		refusal_note(sv, peer, REF_SVC_CONNS, max);
		return VG_ERR_QUOTA;
	}
	if (held >= b->conns) {
		(void)snprintf(why, why_len,
			       "quota exceeded: too many connections for uid %u (limit %u)",
			       peer->uid, b->conns);
		refusal_note(sv, peer, REF_CONNS, b->conns);
		return VG_ERR_QUOTA;
	}
	return VG_OK;
}

/* Connections accepted per round of the event loop: the rest wait in the
 * backlog (the listening socket stays ready). Accepting until the backlog
 * was empty let a uid that connects and closes as fast as it can refill it
 * as fast, and hold the loop in here: others' requests waited a second. */
#define ACCEPTS_PER_ROUND 16

static void do_accept(struct server *sv, int lfd)
{
	for (int k = 0; k < ACCEPTS_PER_ROUND; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		struct epoll_event e;
		char why[160];

		if (fd < 0)
			return; /* EAGAIN, or a transient error: try next round */
		c = calloc(1, sizeof *c);
		if (!c) {
			(void)close(fd);
			continue;
		}
		c->fd = fd;
		if (vg_policy_peer(&sv->s->policy, fd, &c->peer) != VG_OK) {
			(void)close(fd);
			free(c);
			continue;
		}
		vg_budget_for(&sv->s->budgets, &c->peer, &c->budget);
		if (admit(sv, &c->peer, &c->budget, why, sizeof why) != VG_OK) {
			send_refusal(fd, VG_ERR_QUOTA, why);
			(void)close(fd);
			free(c);
			continue;
		}
		c->use = uid_get(sv, c->peer.uid);
		if (!c->use) {
			(void)close(fd);
			free(c);
			continue;
		}
		c->use->conns++;
		/* To its uid's home loop while another uid is active (homes,
		 * above), else to the loop with the fewest connections. */
		c->lp = &sv->loops[c->use->home];
		if (active_uids(sv, c->peer.uid, vg_mono_ms()) == 0)
			for (unsigned i = 0; i < sv->n_loops; i++)
				if (sv->loops[i].n < c->lp->n)
					c->lp = &sv->loops[i];
		e.events = EPOLLIN | EPOLLRDHUP;
		e.data.ptr = c;
		if (epoll_ctl(c->lp->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
			uid_put(sv, c->use);
			(void)close(fd);
			free(c);
			continue;
		}
		c->deadline = vg_mono_ms() + c->budget.idle_ms;
		c->next = c->lp->conns;
		c->lp->conns = c;
		c->lp->n++;
		sv->n_conns++;
	}
}

static bool do_write(struct server *sv, struct conn *c);
static void sweep(struct server *sv, struct loop *lp);

/*
 * Sends a reply now, or, when its request queued audit events that are not
 * committed yet, holds it until this round's audit flush: a caller never
 * sees an operation succeed before its audit records are durable (SFR
 * 4.2.9). Before, an audited operation (a key delete) was answered first
 * and its record committed at the end of the round, and a power cut in
 * between lost the record of an operation the caller had seen succeed. A
 * round commits its events once (group commit), so holding costs the held
 * replies that one fsync's wait; requests that audit nothing (signatures,
 * gets) are answered at once, whatever other uids' requests audit (an
 * audit flood does not slow anyone else's replies).
 */
static bool send_reply(struct server *sv, struct conn *c)
{
	if (c->audited && vg_audit_pending(sv->s->audit) > 0) {
		c->held = true;
		return true;
	}
	return do_write(sv, c);
}

/* After the round's audit flush (whatever its outcome: a refused flush
 * keeps the records queued and prints them, and must not hold replies
 * forever), the held replies go out. True when one closed its connection
 * (to be swept now, not a round later). */
static bool send_held(struct server *sv)
{
	bool closed = false;

	keep_lock++;
	FOR_EACH_CONN(sv, c) {
		if (!c->held)
			continue;
		c->held = false;
		if (!c->dead && !do_write(sv, c)) {
			mark_dead(c);
			closed = true;
		}
	}
	keep_lock--;
	return closed;
}

/* Group commit of the store puts of this round, then their replies: a put
 * is acknowledged only once durable, and a failed commit tells every put
 * of the batch that it was not stored. */
static void flush_batch(struct server *sv)
{
	vg_rc rc;

	if (!vg_secstore_batch_pending(sv->s->store))
		return;
	rc = vg_secstore_batch_commit(sv->s->store);
	if (rc != VG_OK)
		vg_service_audit(sv->s, &sv->s->self, "store.commit", "failure", vg_rc_str(rc));
	keep_lock++;
	FOR_EACH_CONN(sv, c) {
		if (!c->deferred)
			continue;
		c->deferred = false;
		if (rc != VG_OK) {
			vg_free(c->out, c->out_len);
			c->out = NULL;
			c->out_len = 0;
			if (vg_reqmgr_error_reply(rc,
						  rc == VG_ERR_QUOTA
						      ? "quota exceeded: not stored, the device's "
							"storage is nearly full"
						      : "not stored: the commit failed",
						  &c->out, &c->out_len) != VG_OK)
				mark_dead(c);
		}
		if (!c->dead && !send_reply(sv, c))
			mark_dead(c);
	}
	keep_lock--;
}

static void flush_batch_cb(void *ctx)
{
	flush_batch(ctx);
}

/* Hands a pending request's work to the pool (true), or refuses it at
 * once with its reply in *reply (false): a uid may have heavy_ops
 * CPU-heavy operations waiting at a time (budget.h); the pool's queue is
 * bounded too. */
/* Is c's uid at its budget of deferred operations? Then p is answered
 * with the refusal and noted. Whether p runs on the pool or inline. */
static bool over_jobs_budget(struct server *sv, struct conn *c, vg_reqmgr_pending *p,
			     uint8_t **reply, size_t *reply_len)
{
	struct uid_use *u = c->use;
	uint32_t limit = c->budget.heavy_ops;
	char why[160];

	if (!u || u->jobs < limit)
		return false;
	(void)snprintf(why, sizeof why,
		       "quota exceeded: %u CPU-heavy operations in progress for uid %u "
		       "(limit %u)",
		       u->jobs, c->peer.uid, limit);
	refusal_note(sv, &c->peer, REF_HEAVY, limit);
	VG_IGNORE(vg_reqmgr_complete(p, VG_ERR_QUOTA, why, reply, reply_len));
	return true;
}

static bool submit(struct server *sv, struct conn *c, vg_reqmgr_pending *p, uint8_t **reply,
		   size_t *reply_len)
{
	struct uid_use *u = c->use;
	bool heavy = vg_reqmgr_cost(p) == VG_COST_HEAVY;
	struct waiter *w = NULL;
	vg_job *job = vg_reqmgr_job(p);

	if (over_jobs_budget(sv, c, p, reply, reply_len))
		return false;
	w = calloc(1, sizeof *w);
	if (w) {
		w->p = p;
		w->c = c;
		w->u = u;
		w->heavy = heavy;
		job->owner = w;
		/* The pool serves uids in turn (workers.h): this one's jobs
		 * wait behind one another, not behind every other uid's. */
		job->lane = c->peer.uid;
	}
	if (!w || vg_workers_submit(sv->pool, job) != VG_OK) {
		free(w);
		VG_IGNORE(vg_reqmgr_complete(p, VG_ERR_QUOTA,
					     "quota exceeded: the service is busy, try again",
					     reply, reply_len));
		return false;
	}
	if (u) {
		u->jobs++;
		u->heavy += heavy;
	}
	c->waiter = w;
	c->state = C_WAITING;
	c->deadline = 0; /* the work is bounded; the client waits for it */
	/* Input stays armed: a client waits for its reply and sends nothing,
	 * so nothing fires and no epoll_ctl is paid per request. Bytes that
	 * come early disarm it (the event loop, C_WAITING). */
	return true;
}

static void start_reply(struct server *sv, struct conn *c)
{
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	bool deferred = false;
	vg_rc rc;

	const vg_reqmgr_batch batch = {.commit = flush_batch_cb, .ctx = sv};

	/* The request manager commits the pending batch first unless this is
	 * another batched put: it decodes the operation anyway. */
	vg_reqmgr_pending *pending = NULL;

	uint64_t queued = vg_audit_queued_seq(sv->s->audit);

	take_turn(c);
	rc = vg_reqmgr_handle(sv->s, &c->peer, c->buf, c->want, &batch, &reply, &reply_len,
			      &deferred, sv->pool ? &pending : NULL);
	c->deferred = deferred;

	/* The request may hold a secret (a record value): wipe it now. */
	release_buf(sv, c);
	c->got = c->want = 0;
	c->hdr_got = 0;
	/* A light job (a signature: tens of microseconds) runs here instead
	 * of on the pool when the hand-off gains nothing: when it would only
	 * queue behind busy workers, or when it is the only thing this round
	 * of the loop has to do and no worker is busy. The hand-off costs two
	 * thread wake-ups, which on a 2-core VM cost more than the signature
	 * (inline when busy: 4 signing clients 10.6k -> 14.7k signatures/s;
	 * inline when alone: one client 10.1k -> 14.9k/s). With several event
	 * loops (one per core) the loops are the parallelism: a light job
	 * always runs on its loop, outside the lock. The uid's budget of
	 * deferred operations holds either way. Heavy jobs always go
	 * to the pool. The loop serves one request per uid per round while
	 * several uids are active (turns, above), so a flood of signatures on
	 * many connections delays another uid's request by one signature per
	 * loop at most. */
	size_t busy = pending ? vg_workers_busy(sv->pool) : 0;
	if (pending && vg_reqmgr_cost(pending) == VG_COST_LIGHT &&
	    (sv->n_loops > 1 || busy >= vg_workers_threads(sv->pool) ||
	     (busy == 0 && c->lp->round_ready == 1))) {
		vg_job *j = vg_reqmgr_job(pending);

		if (!over_jobs_budget(sv, c, pending, &reply, &reply_len)) {
			/* Outside the lock: the job owns its inputs (workers.h),
			 * and no other loop touches c meanwhile (it is neither
			 * waiting, deferred nor held, and only its own loop
			 * frees it). Other loops serve their clients. */
			(void)pthread_mutex_unlock(&sv->lock);
			j->run(j);
			(void)pthread_mutex_lock(&sv->lock);
			VG_IGNORE(vg_reqmgr_complete(pending, VG_OK, NULL, &reply, &reply_len));
			rc = VG_OK;
		}
	} else if (pending && submit(sv, c, pending, &reply, &reply_len))
		return; /* the reply comes when the work is done */
	/* (With several loops another loop may have queued events while the
	 * lock was released: then this reply waits too, which is harmless.) */
	c->audited = vg_audit_queued_seq(sv->s->audit) != queued;
	if (!reply) {
		c->close_after = true;
		c->state = C_WRITING;
		return;
	}
	c->close_after = rc != VG_OK;
	c->out = reply;
	c->out_len = reply_len;
	c->out_off = 0;
	c->state = C_WRITING;
	c->deadline = vg_mono_ms() + sv->s->cfg.io_timeout_ms;
	/* The caller writes at once; EPOLLOUT is armed only on EAGAIN. */
}

/* May c's uid buffer d more request bytes? If not, tells the client why
 * (best effort) and notes the refusal: the connection is then closed. */
static bool grow_ok(struct server *sv, struct conn *c, size_t d)
{
	struct uid_use *u = c->use;
	uint64_t after = u->inflight + d;
	size_t more_bulk = bulk_part(sv, after) - bulk_part(sv, u->inflight);
	char why[200];

	if (after > c->budget.inflight_bytes) {
		(void)snprintf(why, sizeof why,
			       "quota exceeded: %llu bytes of requests in flight for uid %u "
			       "(limit %llu)",
			       (unsigned long long)after, c->peer.uid,
			       (unsigned long long)c->budget.inflight_bytes);
		send_refusal(c->fd, VG_ERR_QUOTA, why);
		refusal_note(sv, &c->peer, REF_INFLIGHT, c->budget.inflight_bytes);
		return false;
	}
	/* Within its small share a uid is always served (the reserve holds
	 * max_clients small shares); above it, only from the bulk pool. */
	if (sv->bulk + more_bulk > VG_SERVER_MAX_BUFFERED - VG_SERVER_RESERVE) {
		(void)snprintf(why, sizeof why,
			       "service busy: the shared request buffers are full (%zu bytes in "
			       "flight); retry later",
			       sv->buffered);
		send_refusal(c->fd, VG_ERR_QUOTA, why);
		refusal_note(sv, &c->peer, REF_SVC_BUFFERS,
			     VG_SERVER_MAX_BUFFERED - VG_SERVER_RESERVE);
		return false;
	}
	return true;
}

static void account_grow(struct server *sv, struct conn *c, size_t d)
{
	struct uid_use *u = c->use;
	size_t old_bulk = bulk_part(sv, u->inflight);

	u->inflight += d;
	sv->bulk += bulk_part(sv, u->inflight) - old_bulk;
	sv->buffered += d;
}

/* The uid's request_rate (budget.h): may c be read now? If not, it is
 * not polled for input until its uid's bucket is out of debt, and the
 * time that costs is added to its frame's deadline (the slowness is the
 * service's, not the client's). */
static bool read_allowed(struct server *sv, struct conn *c)
{
	uint64_t now = vg_mono_ms(), retry = 0;

	if (vg_budget_rate_check(&sv->s->read_rate, c->peer.uid, c->budget.request_rate, now,
				 &retry) == VG_OK)
		return true;
	c->throttled = now + retry;
	if (c->deadline)
		c->deadline += retry;
	conn_events(sv, c, 0);
	return false;
}

/* Lets the throttled connections whose time has come be read again. */
static void unthrottle(struct server *sv, struct loop *lp)
{
	uint64_t now = vg_mono_ms();

	for (struct conn *c = lp->conns; c; c = c->next)
		if (c->throttled && c->throttled <= now) {
			c->throttled = 0;
			if (!c->dead && (c->state == C_HEADER || c->state == C_PAYLOAD))
				conn_events(sv, c, EPOLLIN | EPOLLRDHUP);
		}
}

/*
 * A read (or a send) on c, outside the lock when c's own loop does it: the
 * system call is most of a small request's cost here (a VM exit each), and
 * other loops serve their clients meanwhile. Safe because no other loop
 * touches the buffer in use, or frees c (only its own loop does); another
 * loop answering one of c's replies (the pool's, the group commit's, the
 * audit flush's) sends with the lock held, and only to a connection that
 * is not reading or writing (waiting, deferred, held).
 */
static ssize_t conn_io(struct server *sv, struct conn *c, void *p, size_t n, bool out)
{
	bool own = c->lp == this_loop && sv->n_loops > 1 && !keep_lock;
	ssize_t r;
	int e;

	if (own)
		(void)pthread_mutex_unlock(&sv->lock);
	r = out ? send(c->fd, p, n, MSG_NOSIGNAL) : read(c->fd, p, n);
	e = errno;
	if (own)
		(void)pthread_mutex_lock(&sv->lock);
	errno = e;
	return r;
}

/* Returns false when the connection must be closed. */
static bool do_read(struct server *sv, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (!read_allowed(sv, c))
			return true;

		if (c->state == C_HEADER) {
			n = conn_io(sv, c, c->hdr + c->hdr_got, VG_WIRE_HDR_LEN - c->hdr_got, false);
		} else {
			size_t room;
			if (c->got == c->cap) {
				/* Grow with what arrives, never to the declared size
				 * up front: a 16 MiB header alone costs nothing. */
				size_t ncap = c->cap ? c->cap * 2 : 4096;
				uint8_t *nb;
				if (ncap > c->want)
					ncap = c->want;
				if (!grow_ok(sv, c, ncap - c->cap))
					return false;
				nb = malloc(ncap);
				if (!nb)
					return false;
				if (c->buf) {
					memcpy(nb, c->buf, c->got);
					vg_free(c->buf, c->cap);
				}
				account_grow(sv, c, ncap - c->cap);
				c->buf = nb;
				c->cap = ncap;
			}
			room = c->cap - c->got;
			n = conn_io(sv, c, c->buf + c->got, room, false);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false; /* EOF or error: a truncated frame ends here too */
		vg_budget_rate_charge(&sv->s->read_rate, c->peer.uid, c->budget.request_rate,
				      (uint64_t)n + VG_BUDGET_READ_OVERHEAD, vg_mono_ms());
		/* The first byte of a request: from now on it has io_timeout_ms
		 * to arrive whole (the idle deadline no longer applies). */
		if (c->state == C_HEADER && c->hdr_got == 0)
			c->deadline = vg_mono_ms() + sv->s->cfg.io_timeout_ms;
		if (c->state == C_HEADER) {
			c->hdr_got += (size_t)n;
			if (c->hdr_got < VG_WIRE_HDR_LEN)
				continue;
			if (vg_wire_frame_len(c->hdr, &c->want) != VG_OK)
				return false; /* zero or oversized: close */
			c->state = C_PAYLOAD;
		} else {
			c->got += (size_t)n;
			if (c->got == c->want) {
				start_reply(sv, c);
				return true;
			}
		}
	}
}

static bool do_write(struct server *sv, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_io(sv, c, c->out + c->out_off, c->out_len - c->out_off, true);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Room to write, nothing else: a half-close (RDHUP,
			 * level-triggered) would wake the loop at once and
			 * forever while the reply waits; the client may still
			 * read it. A hang-up (HUP, ERR) is always reported. */
			if (!c->out_armed) {
				conn_events(sv, c, EPOLLOUT);
				c->out_armed = true;
			}
			return true;
		}
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	vg_free(c->out, c->out_len);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->close_after)
		return false;
	c->state = C_HEADER;
	c->deadline = vg_mono_ms() + c->budget.idle_ms;
	if (c->out_armed) {
		conn_events(sv, c, EPOLLIN | EPOLLRDHUP);
		c->out_armed = false;
	}
	return true;
}

/* Work the pool finished: each request completed and answered. */
static void take_finished(struct server *sv)
{
	vg_job *list = vg_workers_take_done(sv->pool), *next;

	/* A completion may write to the store: nothing before the batch. */
	if (list)
		flush_batch(sv);
	keep_lock++;
	for (vg_job *j = list; j; j = next) {
		struct waiter *w = j->owner;
		struct conn *c = w->c;
		uint8_t *reply = NULL;
		size_t reply_len = 0;

		next = j->next;
		if (w->u) {
			w->u->jobs--;
			w->u->heavy -= w->heavy;
		}
		uint64_t queued = vg_audit_queued_seq(sv->s->audit);

		VG_IGNORE(vg_reqmgr_complete(w->p, VG_OK, NULL, c ? &reply : NULL,
					     c ? &reply_len : NULL));
		if (c) {
			c->waiter = NULL;
			c->audited = vg_audit_queued_seq(sv->s->audit) != queued;
			c->close_after = !reply;
			c->out = reply;
			c->out_len = reply_len;
			c->out_off = 0;
			c->state = C_WRITING;
			c->deadline = vg_mono_ms() + sv->s->cfg.io_timeout_ms;
			if (c->in_off) {
				conn_events(sv, c, EPOLLIN | EPOLLRDHUP);
				c->in_off = false;
			}
			if (!reply || !send_reply(sv, c))
				mark_dead(c);
		}
		uid_release(sv, w->u);
		free(w);
	}
	keep_lock--;
}

static void sweep(struct server *sv, struct loop *lp)
{
	struct conn *c = lp->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead)
			conn_free(sv, c);
	}
}

static int next_timeout(struct server *sv, struct loop *lp)
{
	uint64_t now = vg_mono_ms(), best = UINT64_MAX;

	for (struct conn *c = lp->conns; c; c = c->next) {
		if (c->deadline && c->deadline < best)
			best = c->deadline;
		if (c->throttled && c->throttled < best)
			best = c->throttled;
	}
	int rot_due = vg_db_rot_sync_due_ms(sv->s->db);
	int t;

	if (best == UINT64_MAX)
		t = 1000; /* wake now and then for periodic work */
	else
		t = best <= now ? 0 : (int)(best - now > 1000 ? 1000 : best - now);
	return rot_due >= 0 && rot_due < t ? rot_due : t;
}

static void expire(struct server *sv, struct loop *lp)
{
	uint64_t now = vg_mono_ms();
	struct conn *c = lp->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->deadline && c->deadline <= now)
			conn_free(sv, c);
	}
}

/* May c move to another loop now? Only between requests: nothing read,
 * nothing to send, no work or reply pending anywhere. (Bytes of its next
 * request may wait in the socket: the new loop's epoll reports them.) */
static bool movable(const struct conn *c)
{
	return !c->dead && c->use && c->state == C_HEADER && c->hdr_got == 0 && !c->cap &&
	       !c->out && !c->waiter && !c->held && !c->deferred && !c->throttled &&
	       !c->out_armed && !c->in_off;
}

/* Moves c (lp's, movable) to loop to. False if the kernel refused: then
 * it stays where it was. */
static bool move_conn(struct conn *c, struct loop *to)
{
	struct loop *from = c->lp;
	struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	struct conn **pp;

	if (epoll_ctl(to->ep, EPOLL_CTL_ADD, c->fd, &e) != 0)
		return false;
	(void)epoll_ctl(from->ep, EPOLL_CTL_DEL, c->fd, NULL);
	for (pp = &from->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	from->n--;
	c->lp = to;
	c->next = to->conns;
	to->conns = c;
	to->n++;
	return true;
}

/* Homes (above), at the end of lp's round: while contended (lp->fair, as
 * found at the round's start), lp hands its
 * idle connections of uids homed elsewhere to their home loop; otherwise
 * it hands idle connections to the loop with the fewest while it has two
 * more than that one. Only a connection's own loop moves it, between its
 * requests, so no other loop is reading or writing it. */
static void rebalance(struct server *sv, struct loop *lp)
{
	struct conn *c = lp->conns, *next;
	bool gather = lp->fair;

	if (sv->n_loops < 2)
		return;
	for (; c; c = next) {
		struct loop *to = NULL;

		next = c->next;
		if (!movable(c))
			continue;
		if (gather) {
			to = &sv->loops[c->use->home];
		} else {
			to = &sv->loops[0];
			for (unsigned i = 1; i < sv->n_loops; i++)
				if (sv->loops[i].n < to->n)
					to = &sv->loops[i];
			if (to->n + 1 >= lp->n)
				to = NULL;
		}
		if (to && to != lp)
			(void)move_conn(c, to);
	}
}

/* One round of lp's events, under the lock. */
static void loop_round(struct server *sv, struct loop *lp, const struct epoll_event *events, int n)
{
	lp->round_ready = n;
	lp->round_no++;
	lp->fair = active_uids(sv, NO_UID, vg_mono_ms()) >= 2;
	for (int i = 0; i < n; i++) {
		struct conn *c = events[i].data.ptr;
		bool keep = true;

		if (!c) {
			do_accept(sv, sv->listen_fd);
			continue;
		}
		if ((void *)c == (void *)&sv->pool) {
			take_finished(sv);
			continue;
		}
		if ((void *)c == (void *)lp) {
			uint64_t v;
			if (read(lp->wake, &v, sizeof v) < 0) {
				/* Nothing pending: another read took it. */
			}
			continue; /* stop, or a connection to sweep: below */
		}
		if (c->dead)
			continue; /* closed at the end of this round */
		if (c->state == C_WAITING) {
			/* A hang-up ends it; bytes sent before the reply
			 * wait in the socket, unpolled until it is sent. */
			if (events[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
				keep = false;
			} else if ((events[i].events & EPOLLIN) && !c->in_off) {
				conn_events(sv, c, EPOLLRDHUP);
				c->in_off = true;
			}
		} else if (c->state == C_WRITING) {
			if (events[i].events & (EPOLLERR | EPOLLHUP))
				keep = false;
			else if ((events[i].events & EPOLLOUT) && !c->held && !c->deferred)
				keep = do_write(sv, c);
		} else if (c->throttled) {
			/* Not polled for input: only a hang-up or an
			 * error (always reported) can come. */
			if (events[i].events & (EPOLLERR | EPOLLHUP))
				keep = false;
		} else if (lp->fair && c->state == C_HEADER && c->hdr_got == 0 &&
			   !(events[i].events & (EPOLLHUP | EPOLLERR)) && had_turn(c)) {
			/* Its uid's turn is taken: the next round reads it. */
		} else if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			keep = do_read(sv, c);
			/* Try the reply at once: most fit the socket buffer.
			 * A batched put's waits for the group commit. */
			if (keep && c->state == C_WRITING && !c->deferred)
				keep = c->out ? send_reply(sv, c) : false;
		}
		if (!keep)
			c->dead = true;
	}
	/* Group commit of this round's puts, then their replies. */
	flush_batch(sv);
	sweep(sv, lp);
	expire(sv, lp);
	unthrottle(sv, lp);
	refusals_flush(sv, false);
	/* Group commit: one transaction for the audit events queued by every
	 * loop, then the replies that waited for it. */
	VG_IGNORE(vg_audit_flush(sv->s->audit));
	if (send_held(sv))
		sweep(sv, lp);
	/* Last: the replies held above are sent, so their connections are
	 * between two requests and may move home. */
	rebalance(sv, lp);
	/* The RoT counter follows the commits within rot_sync_ms. A root
	 * of trust that does not answer is rot.timeout (below), once. */
	{
		vg_rc rc = vg_db_rot_sync(sv->s->db, false);
		if (rc != VG_OK && rc != VG_ERR_TIMEOUT)
			vg_service_audit(sv->s, &sv->s->self, "rot.counter", "failure",
					 "cannot advance the root of trust counter");
	}
	vg_service_rot_watch(sv->s);
}

/* Only the first loop reads *stop: its thread is the one signals reach
 * (the others block them), and it tells the others (sv->stopping). */
static bool stopping(const struct server *sv, const struct loop *lp)
{
	return sv->stopping || (lp == &sv->loops[0] && *sv->stop);
}

/* Runs lp until the service stops (all loops: the first on the caller's
 * thread). The one that sees the stop first tells the others. */
static void loop_run(struct loop *lp)
{
	struct server *sv = lp->sv;
	struct epoll_event events[64];

	this_loop = lp;
	(void)pthread_mutex_lock(&sv->lock);
	while (!stopping(sv, lp)) {
		int t = next_timeout(sv, lp), n;

		(void)pthread_mutex_unlock(&sv->lock);
		n = epoll_wait(lp->ep, events, (int)VG_ARRAY_LEN(events), t);
		(void)pthread_mutex_lock(&sv->lock);
		if (n < 0 && errno != EINTR) {
			sv->rc = VG_ERR_IO;
			sv->stopping = true;
			break;
		}
		loop_round(sv, lp, events, n < 0 ? 0 : n);
	}
	if (!sv->stopping) {
		sv->stopping = true;
		for (unsigned i = 0; i < sv->n_loops; i++)
			if (&sv->loops[i] != lp)
				poke(&sv->loops[i]);
	}
	(void)pthread_mutex_unlock(&sv->lock);
	this_loop = NULL;
}

static void *loop_thread(void *arg)
{
	loop_run(arg);
	return NULL;
}

/* How many loops: event_loops, or for 0 one per online core (at most 4). */
static unsigned loops_wanted(const vg_service *s)
{
	long n = s->cfg.event_loops;

	if (n == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
		if (n > 4)
			n = 4;
	}
	return (unsigned)n;
}

static vg_rc loop_init(struct server *sv, struct loop *lp)
{
	struct epoll_event we = {.events = EPOLLIN, .data.ptr = lp};

	lp->sv = sv;
	lp->ep = epoll_create1(EPOLL_CLOEXEC);
	lp->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lp->ep < 0 || lp->wake < 0 || epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->wake, &we) != 0)
		return VG_ERR_IO;
	return VG_OK;
}

static void loop_fini(struct loop *lp)
{
	if (lp->ep >= 0)
		(void)close(lp->ep);
	if (lp->wake >= 0)
		(void)close(lp->wake);
	lp->ep = lp->wake = -1;
}

vg_rc vg_server_run(vg_service *s, int listen_fd, volatile sig_atomic_t *stop,
		    void (*on_ready)(void))
{
	struct server sv = {.s = s, .listen_fd = listen_fd, .stop = stop};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	pthread_mutexattr_t ma;
	unsigned want = loops_wanted(s);
	vg_rc rc = VG_OK;

	sv.small_share = VG_SERVER_RESERVE / (s->cfg.max_clients ? s->cfg.max_clients : 1);
	sv.conn_reserve = s->cfg.max_clients / 8;
	/* Adaptive: the lock is held for microseconds at a time, and a
	 * sleeping waiter costs a thread wake-up (a hypervisor exit on a VM). */
	if (pthread_mutexattr_init(&ma) != 0)
		return VG_ERR_NOMEM;
	(void)pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	if (pthread_mutex_init(&sv.lock, &ma) != 0) {
		(void)pthread_mutexattr_destroy(&ma);
		return VG_ERR_NOMEM;
	}
	(void)pthread_mutexattr_destroy(&ma);
	sv.loops = calloc(want, sizeof *sv.loops);
	if (!sv.loops) {
		(void)pthread_mutex_destroy(&sv.lock);
		return VG_ERR_NOMEM;
	}
	for (unsigned i = 0; i < want; i++)
		sv.loops[i].ep = sv.loops[i].wake = -1;
	/* The first loop also takes new connections (handing each to the
	 * loop with the fewest) and the pool's finished work. */
	for (sv.n_loops = 0; sv.n_loops < want; sv.n_loops++)
		if (loop_init(&sv, &sv.loops[sv.n_loops]) != VG_OK)
			break;
	if (sv.n_loops == 0 || epoll_ctl(sv.loops[0].ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		rc = VG_ERR_IO;
		goto out;
	}
	/* Every thread started from here blocks signals: SIGTERM reaches
	 * the first loop's thread, whose epoll_wait returns EINTR at once. */
	sigset_t all, old;
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	/* Threads for CPU-heavy work, started now: they inherit the dropped
	 * privileges and the seccomp filter. Without them, work runs inline. */
	if (vg_workers_start(&sv.pool, 0) == VG_OK) {
		struct epoll_event pe = {.events = EPOLLIN, .data.ptr = &sv.pool};
		if (epoll_ctl(sv.loops[0].ep, EPOLL_CTL_ADD, vg_workers_fd(sv.pool), &pe) != 0)
			vg_workers_stop(&sv.pool);
	}
	s->budget_use = (vg_budget_meter){.fn = meter, .ctx = &sv};
	/* The other loops: signals stay with the first thread (its
	 * epoll_wait returns EINTR on SIGTERM). A loop that cannot start
	 * leaves fewer; new connections go only to loops that run. */
	{
		unsigned started = 1;

		for (unsigned i = 1; i < sv.n_loops; i++) {
			if (pthread_create(&sv.loops[i].th, NULL, loop_thread, &sv.loops[i]) != 0)
				break;
			sv.loops[i].thread = true;
			started++;
		}
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
		(void)pthread_mutex_lock(&sv.lock);
		for (unsigned i = started; i < sv.n_loops; i++)
			loop_fini(&sv.loops[i]);
		sv.n_loops = started;
		(void)pthread_mutex_unlock(&sv.lock);
	}
	if (on_ready)
		on_ready();
	loop_run(&sv.loops[0]);
	for (unsigned i = 1; i < sv.n_loops; i++)
		if (sv.loops[i].thread)
			(void)pthread_join(sv.loops[i].th, NULL);
	/* One thread from here on. What was acknowledged or is about to be is
	 * made durable first. */
	rc = sv.rc;
	flush_batch(&sv);
	for (unsigned i = 0; i < sv.n_loops; i++)
		while (sv.loops[i].conns)
			conn_free(&sv, sv.loops[i].conns);
	if (sv.pool) {
		/* Every job submitted runs and completes (a password check
		 * still counts), with no one left to answer. */
		vg_workers_stop_threads(sv.pool);
		take_finished(&sv);
		vg_workers_stop(&sv.pool);
	}
	refusals_flush(&sv, true);
	VG_IGNORE(vg_audit_flush(s->audit));
	s->budget_use = (vg_budget_meter){0};
out:
	for (unsigned i = 0; i < want; i++)
		loop_fini(&sv.loops[i]);
	free(sv.loops);
	(void)pthread_mutex_destroy(&sv.lock);
	return rc;
}
