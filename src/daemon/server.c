/* server.c - see server.h */
#include "daemon/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/reqmgr.h"
#include "proto/wire.h"

enum conn_state { C_HEADER, C_PAYLOAD, C_WRITING };

struct conn {
	int fd;
	vg_peer peer;
	enum conn_state state;
	uint8_t hdr[VG_WIRE_HDR_LEN];
	size_t hdr_got;
	uint8_t *buf; /* payload being read, grows as bytes arrive */
	size_t want, got, cap;
	uint8_t *out; /* reply being written */
	size_t out_len, out_off;
	uint64_t deadline; /* 0: idle, no deadline */
	bool close_after;
	bool out_armed; /* waiting for EPOLLOUT (the reply did not fit at once) */
	bool deferred;  /* reply held until this round's group commit */
	bool dead;      /* closed at the end of the round */
	struct conn *next;
};

struct server {
	vg_service *s;
	int ep;
	struct conn *conns;
	size_t n_conns;
	size_t buffered;
	uint32_t per_uid_max;
};

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
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			(void)snprintf(err, err_len, "%s exists and is not a socket", path);
			return VG_ERR_EXISTS;
		}
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
	if ((group != (gid_t)-1 && chown(path, (uid_t)-1, group) != 0) || chmod(path, mode) != 0 ||
	    listen(s, 128) != 0) {
		(void)snprintf(err, err_len, "socket %s: %s", path, strerror(errno));
		(void)close(s);
		(void)unlink(path);
		return VG_ERR_IO;
	}
	*fd = s;
	return VG_OK;
}

static void conn_free(struct server *sv, struct conn *c)
{
	struct conn **pp;

	for (pp = &sv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	(void)epoll_ctl(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
	(void)close(c->fd);
	sv->buffered -= c->cap;
	vg_free(c->buf, c->cap);
	vg_free(c->out, c->out_len);
	free(c);
	sv->n_conns--;
}

static void conn_events(struct server *sv, struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	(void)epoll_ctl(sv->ep, EPOLL_CTL_MOD, c->fd, &e);
}

static uint32_t uid_count(struct server *sv, uint32_t uid)
{
	uint32_t n = 0;

	for (struct conn *c = sv->conns; c; c = c->next)
		n += c->peer.uid == uid;
	return n;
}

static void do_accept(struct server *sv, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		struct epoll_event e;

		if (fd < 0)
			return; /* EAGAIN, or a transient error: try next round */
		c = calloc(1, sizeof *c);
		if (!c) {
			(void)close(fd);
			continue;
		}
		c->fd = fd;
		if (vg_policy_peer(&sv->s->policy, fd, &c->peer) != VG_OK ||
		    sv->n_conns >= sv->s->cfg.max_clients ||
		    uid_count(sv, c->peer.uid) >= sv->per_uid_max) {
			if (c->peer.uid || c->peer.pid)
				vg_service_audit(sv->s, &c->peer, "ipc.connection_refused",
						 "denied", "too many connections");
			(void)close(fd);
			free(c);
			continue;
		}
		e.events = EPOLLIN | EPOLLRDHUP;
		e.data.ptr = c;
		if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
			(void)close(fd);
			free(c);
			continue;
		}
		c->next = sv->conns;
		sv->conns = c;
		sv->n_conns++;
	}
}

static bool do_write(struct server *sv, struct conn *c);

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
	for (struct conn *c = sv->conns; c; c = c->next) {
		if (!c->deferred)
			continue;
		c->deferred = false;
		if (rc != VG_OK) {
			vg_free(c->out, c->out_len);
			c->out = NULL;
			c->out_len = 0;
			if (vg_reqmgr_error_reply(rc, "not stored: the commit failed", &c->out,
						  &c->out_len) != VG_OK)
				c->dead = true;
		}
		if (!c->dead && !do_write(sv, c))
			c->dead = true;
	}
}

static void flush_batch_cb(void *ctx)
{
	flush_batch(ctx);
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
	rc = vg_reqmgr_handle(sv->s, &c->peer, c->buf, c->want, &batch, &reply, &reply_len,
			      &deferred, NULL);
	c->deferred = deferred;

	/* The request may hold a secret (a record value): wipe it now. */
	sv->buffered -= c->cap;
	vg_free(c->buf, c->cap);
	c->buf = NULL;
	c->cap = c->got = c->want = 0;
	c->hdr_got = 0;
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

/* Returns false when the connection must be closed. */
static bool do_read(struct server *sv, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->state == C_HEADER) {
			n = read(c->fd, c->hdr + c->hdr_got, VG_WIRE_HDR_LEN - c->hdr_got);
		} else {
			size_t room;
			if (c->got == c->cap) {
				/* Grow with what arrives, never to the declared size
				 * up front: a 16 MiB header alone costs nothing. */
				size_t ncap = c->cap ? c->cap * 2 : 4096;
				uint8_t *nb;
				if (ncap > c->want)
					ncap = c->want;
				if (sv->buffered + (ncap - c->cap) > VG_SERVER_MAX_BUFFERED)
					return false;
				nb = malloc(ncap);
				if (!nb)
					return false;
				if (c->buf) {
					memcpy(nb, c->buf, c->got);
					vg_free(c->buf, c->cap);
				}
				sv->buffered += ncap - c->cap;
				c->buf = nb;
				c->cap = ncap;
			}
			room = c->cap - c->got;
			n = read(c->fd, c->buf + c->got, room);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false; /* EOF or error: a truncated frame ends here too */
		if (c->deadline == 0)
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
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->out_armed) {
				conn_events(sv, c, EPOLLOUT | EPOLLRDHUP);
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
	c->deadline = 0;
	if (c->out_armed) {
		conn_events(sv, c, EPOLLIN | EPOLLRDHUP);
		c->out_armed = false;
	}
	return true;
}

static void sweep(struct server *sv)
{
	struct conn *c = sv->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead)
			conn_free(sv, c);
	}
}

static int next_timeout(struct server *sv)
{
	uint64_t now = vg_mono_ms(), best = UINT64_MAX;

	for (struct conn *c = sv->conns; c; c = c->next)
		if (c->deadline && c->deadline < best)
			best = c->deadline;
	int rot_due = vg_db_rot_sync_due_ms(sv->s->db);
	int t;

	if (best == UINT64_MAX)
		t = 1000; /* wake now and then for periodic work */
	else
		t = best <= now ? 0 : (int)(best - now > 1000 ? 1000 : best - now);
	return rot_due >= 0 && rot_due < t ? rot_due : t;
}

static void expire(struct server *sv)
{
	uint64_t now = vg_mono_ms();
	struct conn *c = sv->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->deadline && c->deadline <= now)
			conn_free(sv, c);
	}
}

vg_rc vg_server_run(vg_service *s, int listen_fd, volatile sig_atomic_t *stop,
		    void (*on_ready)(void))
{
	struct server sv = {.s = s};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct epoll_event events[64];
	vg_rc rc = VG_OK;

	sv.per_uid_max = s->cfg.max_clients / 8 < 4 ? 4 : s->cfg.max_clients / 8;
	sv.ep = epoll_create1(EPOLL_CLOEXEC);
	if (sv.ep < 0 || epoll_ctl(sv.ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		if (sv.ep >= 0)
			(void)close(sv.ep);
		return VG_ERR_IO;
	}
	if (on_ready)
		on_ready();
	while (!*stop) {
		int n = epoll_wait(sv.ep, events, (int)VG_ARRAY_LEN(events), next_timeout(&sv));

		if (n < 0 && errno != EINTR) {
			rc = VG_ERR_IO;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			bool keep = true;

			if (!c) {
				do_accept(&sv, listen_fd);
				continue;
			}
			if (c->dead)
				continue; /* closed at the end of this round */
			if (c->state == C_WRITING) {
				if (events[i].events & (EPOLLERR | EPOLLHUP))
					keep = false;
				else if (events[i].events & EPOLLOUT)
					keep = do_write(&sv, c);
			} else if (events[i].events &
				   (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				keep = do_read(&sv, c);
				/* Try the reply at once: most fit the socket buffer.
				 * A batched put's waits for the group commit. */
				if (keep && c->state == C_WRITING && !c->deferred)
					keep = c->out ? do_write(&sv, c) : false;
			}
			if (!keep)
				c->dead = true;
		}
		/* Group commit of this round's puts, then their replies. */
		flush_batch(&sv);
		sweep(&sv);
		expire(&sv);
		/* Group commit: one transaction for this round's audit events. */
		VG_IGNORE(vg_audit_flush(s->audit));
		/* The RoT counter follows the commits within rot_sync_ms. */
		if (vg_db_rot_sync(s->db, false) != VG_OK)
			vg_service_audit(s, &s->self, "rot.counter", "failure",
					 "cannot advance the root of trust counter");
	}
	/* What was acknowledged or is about to be is made durable first. */
	flush_batch(&sv);
	while (sv.conns)
		conn_free(&sv, sv.conns);
	(void)close(sv.ep);
	return rc;
}
