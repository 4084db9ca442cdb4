/*
 * ipc_probe - sends raw bytes to voxguardd's socket, for the malformed-input
 * integration tests (tests/integration/test_ipc_hostile.sh).
 *
 *   ipc_probe SOCKET send FILE      send FILE's bytes, then print what came
 *                                   back: "reply CODE" or "closed"
 *   ipc_probe SOCKET stall N        send 2 bytes of a header, then wait up
 *                                   to N seconds for the service to close
 *                                   the connection: "closed after S s"
 *   ipc_probe SOCKET hold N         open N idle connections and keep them
 *                                   until stdin closes
 *   ipc_probe SOCKET hold-busy N    the same, with a status request on each
 *                                   every 500 ms (never idle); "lost I" when
 *                                   connection I is closed
 *   ipc_probe SOCKET status         one valid status request: "reply 0"
 *   ipc_probe SOCKET noread NAME N  ask for record NAME (a large one) and
 *                                   read nothing for N seconds, then count
 *                                   what arrives: "got B bytes of a
 *                                   reply, then closed" or "complete"
 *   ipc_probe PATH notify N         bind a datagram socket at PATH (as
 *                                   systemd's $NOTIFY_SOCKET) and print
 *                                   each message received for N seconds
 *   Budgets (SFR 4.2.10, test_sfr4210_budgets.sh):
 *   ipc_probe SOCKET conns N        open N connections one after the other,
 *                                   a status request on each, all kept open:
 *                                   "ok X refused Y" and the first refusal's
 *                                   "msg: ..."
 *   ipc_probe SOCKET trickle K SIZE FAST SECS
 *                                   K connections each declare a SIZE-byte
 *                                   frame and send FAST bytes of it at once,
 *                                   then one byte a second per connection
 *                                   for SECS seconds: "held X refused Y"
 *                                   and the first refusal's "msg: ..."
 *   ipc_probe SOCKET idle N         open a connection, send nothing, wait up
 *                                   to N seconds: "closed after MS ms" or
 *                                   "still open"
 *   ipc_probe SOCKET pipeline KEY N TAIL
 *                                   one connection: N signing requests with
 *                                   KEY (the caller's) sent at once, before
 *                                   any reply, then TAIL: "none", "status"
 *                                   (one more request), "garbage" (a framed
 *                                   protocol error) or "hangup" (shutdown of
 *                                   the write side); prints each reply's code
 *                                   on one line ("0 0 0 ... closed")
 *   ipc_probe SOCKET pipeline-login PWFILE N
 *                                   one connection: an admin login (a
 *                                   password check on the worker pool) and
 *                                   N status requests sent at once; prints
 *                                   each reply's code as above
 *   ipc_probe SOCKET turns K N [NAME]
 *                                   K connections, N status requests (or
 *                                   deletions of key NAME, each an audit
 *                                   record: the service's order) written on
 *                                   each before any reply (run it against a
 *                                   stopped service), "sent" once written;
 *                                   then each reply's arrival time, one per
 *                                   line ("T_NS"), and "done R" (test_sfr4210_turns.sh)
 *   ipc_probe SOCKET regular N MS   one connection, a status request every
 *                                   MS milliseconds for N seconds: "ok C"
 *                                   or "closed after C requests"
 *   Paged audit export (SFR 4.2.9, test_sfr429_log_export_paged.sh):
 *   ipc_probe SOCKET export OUT [SESSION-FILE]
 *                                   the LOG_EXPORT pages one by one, as
 *                                   libvoxguard fetches them (with the admin
 *                                   session token read from SESSION-FILE),
 *                                   joined into OUT; one line per page:
 *                                   "page I frame F data D at A next N more M"
 *                                   (F the reply frame's length as its header
 *                                   says, D the page's bytes, A their offset
 *                                   in OUT), then "pages P bytes B"
 *   ipc_probe SOCKET audited N MS   one connection, N requests that are each
 *                                   audited (key.delete of a key that does
 *                                   not exist), one every MS milliseconds:
 *                                   "sent C"
 *   ipc_probe SOCKET killrace PID KEY N
 *                                   the audit-before-reply race (SFR 4.2.9):
 *                                   stops the service (SIGSTOP), sends a
 *                                   key.delete of KEY (audited) on one
 *                                   connection and a store put on each of N
 *                                   others (one round of the loop, with a
 *                                   group commit after the delete's reply),
 *                                   resumes it and kills it (SIGKILL) the
 *                                   moment the delete's reply arrives:
 *                                   "reply C killed"
 *   ipc_probe SOCKET dribble K SECS K connections each declare a maximum-size
 *                                   frame and send it one byte per send(),
 *                                   as fast as they can, for SECS seconds
 *                                   (reconnecting when closed): "sent B"
 *   ipc_probe SOCKET connflood SECS connect and close at once, as fast as it
 *                                   can, for SECS seconds: "connects C"
 *   ipc_probe SOCKET latency N      N status requests, each on a new
 *                                   connection: "ok N p50 A ms max B ms"
 *                                   (or "failed F of N")
 *   Pipelining and half-close (SFR 4.2.10, test_sfr4210_pipelining.sh and
 *   test_sfr4210_no_spin.sh):
 *   ipc_probe SOCKET halfclose NAME N
 *                                   ask for record NAME (a large one),
 *                                   shut down the sending side at once, read
 *                                   nothing for N seconds, then read what
 *                                   arrives: "complete" or "got B bytes of a
 *                                   reply, then closed"
 *   ipc_probe SOCKET pipelines KEY N K [TAIL]
 *                                   K connections at once, each sends N
 *                                   requests in one go (signatures with KEY,
 *                                   which go to the worker pool, and status
 *                                   requests, alternating) while reading the
 *                                   replies; TAIL "garbage" adds a malformed
 *                                   frame, "hangup" closes the connection
 *                                   right after sending, "shut" shuts down
 *                                   the sending side then (the service may
 *                                   answer all or close: what came must be
 *                                   in order). Then each signature
 *                                   is checked by the service (key.verify)
 *                                   against the data of its request: one
 *                                   line per connection, "conn C: R replies,
 *                                   in order, S signatures verified" or what
 *                                   went wrong
 * A refused request prints its reply code and, on the next line, "msg: "
 * and the service's reason.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "proto/wire.h"

static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* Reads a reply frame; prints "reply CODE" or "closed". */
static int read_reply(int fd, int timeout_ms)
{
	uint8_t hdr[4], *p;
	size_t len, got = 0;
	vg_msg m;
	struct pollfd pf = {.fd = fd, .events = POLLIN};

	while (got < 4) {
		ssize_t n;
		if (poll(&pf, 1, timeout_ms) != 1) {
			(void)printf("timeout\n");
			return 1;
		}
		n = read(fd, hdr + got, 4 - got);
		if (n <= 0) {
			(void)printf("closed\n");
			return 0;
		}
		got += (size_t)n;
	}
	if (vg_wire_frame_len(hdr, &len) != VG_OK || !(p = malloc(len))) {
		(void)printf("bad-reply\n");
		return 1;
	}
	for (got = 0; got < len;) {
		ssize_t n = read(fd, p + got, len - got);
		if (n <= 0) {
			(void)printf("closed\n");
			free(p);
			return 0;
		}
		got += (size_t)n;
	}
	if (vg_wire_decode(p, len, &m) != VG_OK) {
		(void)printf("bad-reply\n");
		free(p);
		return 1;
	}
	(void)printf("reply %llu\n", (unsigned long long)m.code);
	if (m.code != 0) {
		char why[256];
		if (vg_msg_text(&m, VG_A_MSG, why, sizeof why) == VG_OK)
			(void)printf("msg: %s\n", why);
	}
	vg_msg_free(&m);
	free(p);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Reads one reply frame within timeout_ms: its code (or -1 when the
 * connection closed or timed out without one) and its message. */
static long reply_code(int fd, int timeout_ms, char *why, size_t why_len)
{
	uint8_t hdr[4], *p = NULL;
	size_t len, got = 0;
	vg_msg m;
	long code = -1;
	struct pollfd pf = {.fd = fd, .events = POLLIN};

	why[0] = '\0';
	while (got < 4) {
		ssize_t n;
		if (poll(&pf, 1, timeout_ms) != 1)
			return -1;
		n = read(fd, hdr + got, 4 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	if (vg_wire_frame_len(hdr, &len) != VG_OK || !(p = malloc(len)))
		return -1;
	for (got = 0; got < len;) {
		ssize_t n;
		if (poll(&pf, 1, timeout_ms) != 1)
			break;
		n = read(fd, p + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == len && vg_wire_decode(p, len, &m) == VG_OK) {
		code = (long)m.code;
		if (vg_msg_text(&m, VG_A_MSG, why, why_len) != VG_OK)
			why[0] = '\0';
		vg_msg_free(&m);
	}
	free(p);
	return code;
}

/* Appends b, encoded as a frame of op, to *all (*len bytes); frees b. */
static int append_frame(uint8_t **all, size_t *len, uint32_t op, vg_msgb *b, bool garble)
{
	uint8_t *f, *grown;
	size_t fl;

	if (vg_wire_encode(op, b, &f, &fl) != VG_OK)
		return -1;
	if (garble)
		memset(f + 4, 0xff, fl - 4); /* framed, but not CBOR */
	grown = realloc(*all, *len + fl);
	if (!grown) {
		free(f);
		return -1;
	}
	*all = grown;
	memcpy(*all + *len, f, fl);
	*len += fl;
	vg_wipe(f, fl);
	free(f);
	return 0;
}

/* Reads up to n replies and prints their codes on one line ("0 0 11"),
 * "closed" where the connection ended before the next. */
static void print_replies(int fd, int n)
{
	char why[256];

	for (int i = 0; i < n; i++) {
		long code = reply_code(fd, 15000, why, sizeof why);
		if (code < 0) {
			(void)printf(i ? " closed" : "closed");
			break;
		}
		(void)printf(i ? " %ld" : "%ld", code);
	}
	(void)printf("\n");
}

static int status_request(int fd)
{
	vg_msgb b;
	uint8_t *f;
	size_t n;
	ssize_t w;

	if (vg_msgb_init(&b) != VG_OK || vg_wire_encode(VG_OP_STATUS, &b, &f, &n) != VG_OK)
		return -1;
	w = send(fd, f, n, MSG_NOSIGNAL);
	free(f);
	return w == (ssize_t)n ? 0 : -1;
}

/* conns N: how many of N connections of this uid the service admits. */
static int probe_conns(const char *sock, int n)
{
	int ok = 0, refused = 0;
	char why[256], first[300] = "";

	for (int i = 0; i < n; i++) {
		int fd = dial(sock);
		long code;
		if (fd < 0) {
			refused++;
			continue;
		}
		(void)status_request(fd); /* refused: the reply is already queued */
		code = reply_code(fd, 5000, why, sizeof why);
		if (code == 0) {
			ok++; /* kept open until the end */
			continue;
		}
		refused++;
		if (!first[0])
			(void)snprintf(first, sizeof first, "%ld %s", code, why);
		(void)close(fd);
	}
	(void)printf("ok %d refused %d\n", ok, refused);
	if (first[0])
		(void)printf("msg: %s\n", first);
	return 0;
}

/* trickle K SIZE FAST SECS: K slow requests of SIZE bytes each. */
static int probe_trickle(const char *sock, int k, size_t size, size_t fast, int secs)
{
	int fds[64], held = 0, refused = 0;
	char why[256], first[300] = "";
	uint8_t hdr[4] = {(uint8_t)(size >> 24), (uint8_t)(size >> 16), (uint8_t)(size >> 8),
			  (uint8_t)size};
	uint8_t *junk = calloc(1, fast ? fast : 1);
	uint64_t end;

	if (k < 1 || k > 64 || fast >= size || !junk)
		return 2;
	for (int i = 0; i < k; i++) {
		size_t off = 0;
		fds[i] = dial(sock);
		if (fds[i] < 0 || send(fds[i], hdr, 4, MSG_NOSIGNAL) != 4)
			goto gone;
		while (off < fast) {
			ssize_t n = send(fds[i], junk + off, fast - off, MSG_NOSIGNAL);
			if (n <= 0)
				goto gone;
			off += (size_t)n;
		}
		continue;
	gone:
		/* Refused: the error reply is there before the end of stream. */
		if (fds[i] >= 0) {
			long code = reply_code(fds[i], 2000, why, sizeof why);
			if (!first[0])
				(void)snprintf(first, sizeof first, "%ld %s", code, why);
			(void)close(fds[i]);
		}
		fds[i] = -1;
		refused++;
	}
	(void)printf("sent\n");
	(void)fflush(stdout);
	end = now_ms() + (uint64_t)secs * 1000u;
	while (now_ms() < end) {
		(void)usleep(1000000);
		for (int i = 0; i < k; i++) {
			if (fds[i] < 0)
				continue;
			if (send(fds[i], "x", 1, MSG_NOSIGNAL) != 1) {
				long code = reply_code(fds[i], 2000, why, sizeof why);
				if (!first[0])
					(void)snprintf(first, sizeof first, "%ld %s", code, why);
				(void)close(fds[i]);
				fds[i] = -1;
				refused++;
			}
		}
	}
	for (int i = 0; i < k; i++)
		if (fds[i] >= 0) {
			held++;
			(void)close(fds[i]);
		}
	free(junk);
	(void)printf("held %d refused %d\n", held, refused);
	if (first[0])
		(void)printf("msg: %s\n", first);
	return 0;
}

/* Reads one whole frame (blocking); its payload is malloc'ed. */
static int read_frame(int fd, uint8_t **payload, size_t *len)
{
	uint8_t hdr[VG_WIRE_HDR_LEN];
	size_t got = 0;

	*payload = NULL;
	while (got < sizeof hdr) {
		ssize_t n = read(fd, hdr + got, sizeof hdr - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	if (vg_wire_frame_len(hdr, len) != VG_OK || !(*payload = malloc(*len ? *len : 1)))
		return -1;
	for (got = 0; got < *len;) {
		ssize_t n = read(fd, *payload + got, *len - got);
		if (n <= 0) {
			free(*payload);
			*payload = NULL;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Sends all of buf (blocking). */
static int send_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* export OUT [SESSION-FILE]: the paged export, page by page. */
static int probe_export(const char *sock, const char *out, const char *session_file)
{
	char token[VG_SESSION_TOKEN_SIZE] = "";
	FILE *f = fopen(out, "wb");
	uint64_t next = 0, more = 1, at = 0;
	int fd = dial(sock), pages = 0;

	if (!f || fd < 0) {
		(void)printf("cannot open %s or connect\n", out);
		return 2;
	}
	if (session_file) {
		FILE *s = fopen(session_file, "r");
		if (!s || !fgets(token, sizeof token, s)) {
			(void)printf("cannot read the session token\n");
			return 2;
		}
		(void)fclose(s);
		token[strcspn(token, "\r\n")] = '\0';
	}
	while (more) {
		vg_msgb b;
		vg_msg m;
		uint8_t *frame, *payload;
		const uint8_t *data;
		size_t n, plen, dlen;
		if (vg_msgb_init(&b) != VG_OK)
			return 2;
		if (pages)
			vg_msgb_uint(&b, VG_A_FROM, next);
		if (token[0])
			vg_msgb_text(&b, VG_A_SESSION, token);
		if (vg_wire_encode(VG_OP_LOG_EXPORT, &b, &frame, &n) != VG_OK)
			return 2;
		if (send(fd, frame, n, MSG_NOSIGNAL) != (ssize_t)n ||
		    read_frame(fd, &payload, &plen)) {
			(void)printf("closed after %d pages\n", pages);
			return 1;
		}
		free(frame);
		if (vg_wire_decode(payload, plen, &m) != VG_OK) {
			(void)printf("bad-reply\n");
			return 1;
		}
		if (m.code != 0) {
			char why[256] = "";
			VG_IGNORE(vg_msg_text(&m, VG_A_MSG, why, sizeof why));
			(void)printf("reply %llu\nmsg: %s\n", (unsigned long long)m.code, why);
			return 1;
		}
		if (vg_msg_bytes(&m, VG_A_DATA, &data, &dlen) != VG_OK ||
		    vg_msg_uint(&m, VG_A_MORE, &more) != VG_OK ||
		    vg_msg_uint(&m, VG_A_NEXT, &next) != VG_OK ||
		    fwrite(data, 1, dlen, f) != dlen) {
			(void)printf("bad page\n");
			return 1;
		}
		pages++;
		(void)printf("page %d frame %zu data %zu at %llu next %llu more %llu\n", pages,
			     plen, dlen, (unsigned long long)at, (unsigned long long)next,
			     (unsigned long long)more);
		at += dlen;
		vg_msg_free(&m);
		free(payload);
	}
	(void)close(fd);
	if (fclose(f) != 0)
		return 2;
	(void)printf("pages %d bytes %llu\n", pages, (unsigned long long)at);
	return 0;
}

/* halfclose NAME SECS: a reply the client never reads, after a half-close. */
static int probe_halfclose(int fd, const char *name, int secs)
{
	vg_msgb b;
	uint8_t *f, buf[65536], hdr[4];
	size_t n, total = 0, want = 0;
	ssize_t r;
	int rcvbuf = 4096;

	/* A small receive buffer so the reply cannot all be queued. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (vg_msgb_init(&b) != VG_OK)
		return 2;
	vg_msgb_text(&b, VG_A_NAME, name);
	if (vg_wire_encode(VG_OP_STORE_GET, &b, &f, &n) != VG_OK)
		return 2;
	if (send_all(fd, f, n) != 0 || shutdown(fd, SHUT_WR) != 0) {
		free(f);
		return 2;
	}
	free(f);
	(void)sleep((unsigned)secs);
	while ((r = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < r && total + (size_t)i < 4; i++)
			hdr[total + (size_t)i] = buf[i];
		total += (size_t)r;
		if (total >= 4 && !want && vg_wire_frame_len(hdr, &want) != VG_OK)
			break;
	}
	if (want && total >= want + 4)
		(void)printf("complete\n");
	else
		(void)printf("got %zu bytes of a reply, then closed\n", total);
	return 0;
}

/* One frame of a pipelined request: even ones are signatures of "c<k>-r<i>". */
static int pipeline_frame(const char *key, int k, int i, uint8_t **f, size_t *n)
{
	vg_msgb b;
	char data[64];

	if (vg_msgb_init(&b) != VG_OK)
		return -1;
	if (i % 2)
		return vg_wire_encode(VG_OP_STATUS, &b, f, n) == VG_OK ? 0 : -1;
	(void)snprintf(data, sizeof data, "c%d-r%d", k, i);
	vg_msgb_text(&b, VG_A_NAME, key);
	vg_msgb_bytes(&b, VG_A_DATA, (const uint8_t *)data, strlen(data));
	return vg_wire_encode(VG_OP_KEY_SIGN, &b, f, n) == VG_OK ? 0 : -1;
}

/* Takes whole reply frames off the front of in: decoded into replies. */
static size_t take_replies(uint8_t *in, size_t len, vg_msg *replies, size_t *got, size_t max)
{
	size_t off = 0, flen;

	while (len - off >= 4 && *got < max) {
		if (vg_wire_frame_len(in + off, &flen) != VG_OK || len - off - 4 < flen)
			break;
		/* A failed decode leaves replies[*got] zeroed. */
		VG_IGNORE(vg_wire_decode(in + off + 4, flen, &replies[*got]));
		(*got)++;
		off += 4 + flen;
	}
	memmove(in, in + off, len - off);
	return len - off;
}

/* pipeline KEY N: connection k's part (a child process). */
static int pipeline_one(const char *sock, const char *key, int n, int k, const char *tail)
{
	uint8_t *out = NULL, *in = NULL;
	size_t out_len = 0, out_off = 0, in_len = 0, in_cap = 1u << 20, got = 0, want;
	vg_msg *replies = calloc((size_t)n + 1, sizeof *replies);
	int fd = dial(sock), vfd, verified = 0, sigs = 0, bad = -1, closed = 0;
	bool garbage = tail && strcmp(tail, "garbage") == 0;
	bool hangup = tail && strcmp(tail, "hangup") == 0;
	bool shut = tail && strcmp(tail, "shut") == 0;

	in = malloc(in_cap);
	if (fd < 0 || !replies || !in)
		return 2;
	for (int i = 0; i < n; i++) {
		uint8_t *f;
		size_t fl;
		if (pipeline_frame(key, k, i, &f, &fl) != 0 || !(out = realloc(out, out_len + fl)))
			return 2;
		memcpy(out + out_len, f, fl);
		out_len += fl;
		free(f);
	}
	if (garbage) {
		static const uint8_t g[] = {0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff};
		if (!(out = realloc(out, out_len + sizeof g)))
			return 2;
		memcpy(out + out_len, g, sizeof g);
		out_len += sizeof g;
	}
	want = (size_t)n + (garbage ? 1u : 0u);
	if (hangup) {
		(void)send_all(fd, out, out_len);
		(void)close(fd);
		(void)printf("conn %d: sent %d requests, hung up\n", k, n);
		return 0;
	}
	/* Write and read at once: the service answers while we still send. */
	while (got < want && !closed) {
		struct pollfd pf = {.fd = fd, .events = POLLIN | (out_off < out_len ? POLLOUT : 0)};
		if (poll(&pf, 1, 20000) != 1)
			break;
		if ((pf.revents & POLLOUT) && out_off < out_len) {
			ssize_t w =
			    send(fd, out + out_off, out_len - out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				out_off += (size_t)w;
			if (w > 0 && shut && out_off == out_len)
				(void)shutdown(fd, SHUT_WR);
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				out_off = out_len; /* closed: read what came */
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r;
			if (in_cap - in_len < 65536 && !(in = realloc(in, in_cap *= 2)))
				return 2;
			r = recv(fd, in + in_len, in_cap - in_len, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				closed = 1;
			if (r > 0)
				in_len = take_replies(in, in_len + (size_t)r, replies, &got, want);
		}
	}
	(void)close(fd);
	/* Every reply answers its own request: a signature for a signature,
	 * a status for a status, a protocol error for the garbage. */
	for (size_t i = 0; i < got && bad < 0; i++) {
		char txt[64];
		const uint8_t *sig;
		size_t sl;
		if (!replies[i].root && !replies[i].flat) /* not decoded */
			bad = (int)i;
		else if (i == (size_t)n)
			bad = replies[i].code == VG_ERR_PROTOCOL ? -1 : (int)i;
		else if (replies[i].code != 0)
			bad = (int)i;
		else if (i % 2)
			bad = vg_msg_text(&replies[i], VG_A_VERSION, txt, sizeof txt) == VG_OK &&
				      vg_msg_bytes(&replies[i], VG_A_SIG, &sig, &sl) != VG_OK
				  ? -1
				  : (int)i;
		else
			bad = vg_msg_bytes(&replies[i], VG_A_SIG, &sig, &sl) == VG_OK ? -1 : (int)i;
	}
	/* Each signature over this connection's own data of that request. */
	vfd = dial(sock);
	for (size_t i = 0; i < got && i < (size_t)n && bad < 0 && vfd >= 0; i += 2) {
		vg_msgb b;
		uint8_t *f;
		size_t fl, sl;
		const uint8_t *sig;
		char data[64], why[256];
		if (vg_msg_bytes(&replies[i], VG_A_SIG, &sig, &sl) != VG_OK ||
		    vg_msgb_init(&b) != VG_OK)
			break;
		sigs++;
		(void)snprintf(data, sizeof data, "c%d-r%zu", k, i);
		vg_msgb_text(&b, VG_A_NAME, key);
		vg_msgb_bytes(&b, VG_A_DATA, (const uint8_t *)data, strlen(data));
		vg_msgb_bytes(&b, VG_A_SIG, sig, sl);
		if (vg_wire_encode(VG_OP_KEY_VERIFY, &b, &f, &fl) != VG_OK)
			break;
		if (send_all(vfd, f, fl) == 0 && reply_code(vfd, 5000, why, sizeof why) == 0)
			verified++;
		free(f);
	}
	if (vfd >= 0)
		(void)close(vfd);
	if (bad >= 0)
		(void)printf("conn %d: reply %d does not answer its request (code %llu)\n", k, bad,
			     (unsigned long long)replies[bad].code);
	else if (got != want)
		(void)printf("conn %d: %zu of %zu replies, then %s\n", k, got, want,
			     closed ? "closed" : "nothing");
	else if (verified != sigs)
		(void)printf("conn %d: %zu replies, in order, %d of %d signatures verified\n", k,
			     got, verified, sigs);
	else
		(void)printf("conn %d: %zu replies, in order, %d signatures verified\n", k, got,
			     verified);
	for (size_t i = 0; i < got; i++)
		vg_msg_free(&replies[i]); /* a failed decode left it zeroed */
	free(replies);
	free(in);
	free(out);
	return 0;
}

static int probe_pipeline(const char *sock, const char *key, int n, int k, const char *tail)
{
	int status, rc = 0;

	if (n < 1 || k < 1 || k > 64)
		return 2;
	(void)fflush(stdout);
	for (int i = 0; i < k; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			int r = pipeline_one(sock, key, n, i, tail);
			(void)fflush(stdout);
			_exit(r);
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = 1;
	return rc;
}

/* dribble K SECS: bytes one at a time, so the service reads one at a time. */
/* turns K N: the arrival time of each reply to K connections' N
 * pipelined status requests. */
static int probe_turns(const char *sock, int k, int n, const char *name)
{
	struct pollfd pf[64];
	uint64_t *at;
	int got = 0, want;
	uint8_t *req = NULL;
	size_t req_len = 0;

	if (k < 1 || k > 64 || n < 1 || n > 1000)
		return 2;
	want = k * n;
	at = calloc((size_t)want, sizeof *at);
	if (!at)
		return 2;
	for (int i = 0; i < n; i++) {
		vg_msgb b;
		if (vg_msgb_init(&b) != VG_OK)
			return 2;
		if (name)
			vg_msgb_text(&b, VG_A_NAME, name);
		if (append_frame(&req, &req_len, name ? VG_OP_KEY_DELETE : VG_OP_STATUS, &b, false))
			return 2; /* (the encoding releases b) */
	}
	for (int i = 0; i < k; i++) {
		pf[i].fd = dial(sock);
		pf[i].events = POLLIN;
		if (pf[i].fd < 0 || send_all(pf[i].fd, req, req_len) != 0)
			return 2;
	}
	free(req);
	(void)printf("sent\n");
	(void)fflush(stdout);
	while (got < want && poll(pf, (nfds_t)k, 30000) > 0) {
		for (int i = 0; i < k; i++) {
			uint8_t *payload;
			size_t len;
			struct timespec t;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (read_frame(pf[i].fd, &payload, &len) != 0) {
				pf[i].fd = -1; /* closed: poll ignores it */
				continue;
			}
			free(payload);
			(void)clock_gettime(CLOCK_MONOTONIC, &t);
			at[got++] = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
		}
	}
	for (int i = 0; i < got; i++)
		(void)printf("%llu\n", (unsigned long long)at[i]);
	(void)printf("done %d\n", got);
	free(at);
	return got == want ? 0 : 1;
}

static int probe_dribble(const char *sock, int k, int secs)
{
	static const uint8_t hdr[4] = {0, 0xf4, 0x24, 0}; /* 16 000 000 bytes */
	int fds[64];
	long sent = 0;
	uint64_t end = now_ms() + (uint64_t)secs * 1000u;

	if (k < 1 || k > 64)
		return 2;
	for (int i = 0; i < k; i++)
		fds[i] = -1;
	while (now_ms() < end) {
		for (int i = 0; i < k; i++) {
			if (fds[i] < 0) {
				fds[i] = dial(sock);
				if (fds[i] >= 0 && send(fds[i], hdr, 4, MSG_NOSIGNAL) != 4) {
					(void)close(fds[i]);
					fds[i] = -1;
				}
				continue;
			}
			if (send(fds[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
				sent++;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				(void)close(fds[i]);
				fds[i] = -1;
			}
		}
	}
	for (int i = 0; i < k; i++)
		if (fds[i] >= 0)
			(void)close(fds[i]);
	(void)printf("sent %ld\n", sent);
	return 0;
}

/* connflood SECS: connections opened and closed as fast as they go. */
static int probe_connflood(const char *sock, int secs)
{
	uint64_t end = now_ms() + (uint64_t)secs * 1000u;
	long n = 0;

	while (now_ms() < end) {
		int fd = dial(sock);
		if (fd >= 0) {
			n++;
			(void)close(fd);
		}
	}
	(void)printf("connects %ld\n", n);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* latency N: the time of a status request on a new connection, N times. */
static int probe_latency(const char *sock, int n)
{
	uint64_t t[1000];
	int failed = 0;
	char why[256];

	if (n < 1 || n > 1000)
		return 2;
	for (int i = 0; i < n; i++) {
		uint64_t a = now_ms();
		int fd = dial(sock);
		if (fd < 0 || status_request(fd) != 0 ||
		    reply_code(fd, 10000, why, sizeof why) != 0)
			failed++;
		if (fd >= 0)
			(void)close(fd);
		t[i] = now_ms() - a;
	}
	qsort(t, (size_t)n, sizeof t[0], cmp_u64);
	if (failed)
		(void)printf("failed %d of %d\n", failed, n);
	else
		(void)printf("ok %d p50 %llu ms max %llu ms\n", n, (unsigned long long)t[n / 2],
			     (unsigned long long)t[n - 1]);
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 3)
		return 2;
	if (strcmp(argv[2], "export") == 0 && (argc == 4 || argc == 5))
		return probe_export(argv[1], argv[3], argc == 5 ? argv[4] : NULL);
	if (strcmp(argv[2], "notify") == 0 && argc == 4) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct timespec a, b;
		char buf[512];
		if (s < 0 || strlen(argv[1]) >= sizeof sa.sun_path)
			return 2;
		strcpy(sa.sun_path, argv[1]);
		(void)unlink(argv[1]);
		if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0)
			return 2;
		(void)chmod(argv[1], 0777); /* the service writes as its own user */
		(void)printf("listening\n");
		(void)fflush(stdout);
		(void)clock_gettime(CLOCK_MONOTONIC, &a);
		for (;;) {
			struct pollfd pf = {.fd = s, .events = POLLIN};
			ssize_t n;
			(void)clock_gettime(CLOCK_MONOTONIC, &b);
			if (b.tv_sec - a.tv_sec >= atoi(argv[3]) || poll(&pf, 1, 200) < 0)
				break;
			if (!(pf.revents & POLLIN))
				continue;
			n = recv(s, buf, sizeof buf - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				(void)printf("%s\n", buf);
				(void)fflush(stdout);
			}
		}
		(void)unlink(argv[1]);
		return 0;
	}
	if ((strcmp(argv[2], "hold") == 0 || strcmp(argv[2], "hold-busy") == 0) && argc == 4) {
		int n = atoi(argv[3]), held[4096], k = 0;
		bool busy = strcmp(argv[2], "hold-busy") == 0;
		char c;
		struct pollfd in = {.fd = 0, .events = POLLIN};
		char why[256];

		if (n < 1 || n > 4096)
			return 2;
		for (int i = 0; i < n; i++) {
			int h = dial(argv[1]);
			if (h < 0)
				(void)printf("refused %d\n", i);
			else
				held[k++] = h;
		}
		(void)printf("holding\n");
		(void)fflush(stdout);
		/* hold-busy: a status request on each every 500 ms, so that
		 * the uid's idle_ms never closes them while the test runs (on
		 * a loaded machine its checks take seconds). */
		for (;;) {
			int r = poll(&in, 1, busy ? 500 : -1);
			if (r > 0) {
				if (read(0, &c, 1) <= 0)
					break;
				continue;
			}
			for (int i = 0; i < k; i++)
				if (held[i] >= 0 && (status_request(held[i]) != 0 ||
						     reply_code(held[i], 5000, why, sizeof why) != 0)) {
					(void)printf("lost %d\n", i);
					(void)fflush(stdout);
					(void)close(held[i]);
					held[i] = -1;
				}
		}
		return 0;
	}
	if (strcmp(argv[2], "conns") == 0 && argc == 4)
		return probe_conns(argv[1], atoi(argv[3]));
	if (strcmp(argv[2], "pipelines") == 0 && (argc == 6 || argc == 7))
		return probe_pipeline(argv[1], argv[3], atoi(argv[4]), atoi(argv[5]),
				      argc == 7 ? argv[6] : NULL);
	if (strcmp(argv[2], "turns") == 0 && (argc == 5 || argc == 6))
		return probe_turns(argv[1], atoi(argv[3]), atoi(argv[4]), argc == 6 ? argv[5] : NULL);
	if (strcmp(argv[2], "connflood") == 0 && argc == 4)
		return probe_connflood(argv[1], atoi(argv[3]));
	if (strcmp(argv[2], "latency") == 0 && argc == 4)
		return probe_latency(argv[1], atoi(argv[3]));
	if (strcmp(argv[2], "dribble") == 0 && argc == 5)
		return probe_dribble(argv[1], atoi(argv[3]), atoi(argv[4]));
	if (strcmp(argv[2], "trickle") == 0 && argc == 7)
		return probe_trickle(argv[1], atoi(argv[3]), strtoul(argv[4], NULL, 0),
				     strtoul(argv[5], NULL, 0), atoi(argv[6]));
	fd = dial(argv[1]);
	if (fd < 0) {
		(void)printf("connect-failed\n");
		return 1;
	}
	if (strcmp(argv[2], "send") == 0 && argc == 4) {
		uint8_t *buf;
		size_t len;
		if (vg_read_file(argv[3], 64u << 20, &buf, &len) != VG_OK)
			return 2;
		/* The service may close early: ignore EPIPE. */
		(void)send(fd, buf, len, MSG_NOSIGNAL);
		free(buf);
		return read_reply(fd, 15000);
	}
	if (strcmp(argv[2], "stall") == 0 && argc == 4) {
		struct timespec a, b;
		char c;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		(void)clock_gettime(CLOCK_MONOTONIC, &a);
		(void)send(fd, "\0\0", 2, MSG_NOSIGNAL);
		if (poll(&pf, 1, atoi(argv[3]) * 1000) == 1 && read(fd, &c, 1) <= 0) {
			(void)clock_gettime(CLOCK_MONOTONIC, &b);
			(void)printf("closed after %ld s\n", (long)(b.tv_sec - a.tv_sec));
			return 0;
		}
		(void)printf("still open\n");
		return 1;
	}
	if (strcmp(argv[2], "noread") == 0 && argc == 5) {
		vg_msgb b;
		uint8_t *f, buf[65536];
		size_t n, total = 0;
		ssize_t r;
		int rcvbuf = 4096;
		/* A small receive buffer so the reply cannot all be queued. */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
		if (vg_msgb_init(&b) != VG_OK)
			return 2;
		vg_msgb_text(&b, VG_A_NAME, argv[3]);
		if (vg_wire_encode(VG_OP_STORE_GET, &b, &f, &n) != VG_OK)
			return 2;
		(void)send(fd, f, n, MSG_NOSIGNAL);
		free(f);
		(void)sleep((unsigned)atoi(argv[4]));
		while ((r = read(fd, buf, sizeof buf)) > 0)
			total += (size_t)r;
		if (total >= (16u << 20))
			(void)printf("complete\n");
		else
			(void)printf("got %zu bytes of a reply, then closed\n", total);
		return 0;
	}
	if (strcmp(argv[2], "halfclose") == 0 && argc == 5)
		return probe_halfclose(fd, argv[3], atoi(argv[4]));
	if (strcmp(argv[2], "idle") == 0 && argc == 4) {
		uint64_t a = now_ms();
		char c;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, atoi(argv[3]) * 1000) == 1 && read(fd, &c, 1) <= 0) {
			(void)printf("closed after %llu ms\n", (unsigned long long)(now_ms() - a));
			return 0;
		}
		(void)printf("still open\n");
		return 1;
	}
	if (strcmp(argv[2], "regular") == 0 && argc == 5) {
		uint64_t end = now_ms() + (uint64_t)atoi(argv[3]) * 1000u;
		int count = 0;
		char why[256];
		while (now_ms() < end) {
			if (status_request(fd) != 0 || reply_code(fd, 5000, why, sizeof why) != 0) {
				(void)printf("closed after %d requests\n", count);
				return 1;
			}
			count++;
			(void)usleep((useconds_t)atoi(argv[4]) * 1000u);
		}
		(void)printf("ok %d\n", count);
		return 0;
	}
	if (strcmp(argv[2], "pipeline") == 0 && argc == 6) {
		int n = atoi(argv[4]);
		const char *tail = argv[5];
		bool more = strcmp(tail, "status") == 0 || strcmp(tail, "garbage") == 0;
		uint8_t *all = NULL, msg[32] = {7};
		size_t len = 0;
		vg_msgb b;

		if (n < 1 || n > 4096)
			return 2;
		for (int i = 0; i < n; i++) {
			if (vg_msgb_init(&b) != VG_OK)
				return 2;
			vg_msgb_text(&b, VG_A_NAME, argv[3]);
			vg_msgb_bytes(&b, VG_A_DATA, msg, sizeof msg);
			if (append_frame(&all, &len, VG_OP_KEY_SIGN, &b, false) != 0)
				return 2;
		}
		if (more && (vg_msgb_init(&b) != VG_OK ||
			     append_frame(&all, &len, VG_OP_STATUS, &b,
					  strcmp(tail, "garbage") == 0) != 0))
			return 2;
		/* One send: the requests after the first arrive while the first
		 * is on the worker pool. */
		if (send(fd, all, len, MSG_NOSIGNAL) != (ssize_t)len)
			return 2;
		free(all);
		if (strcmp(tail, "hangup") == 0)
			(void)shutdown(fd, SHUT_WR);
		print_replies(fd, n + (strcmp(tail, "none") != 0));
		return 0;
	}
	if (strcmp(argv[2], "pipeline-login") == 0 && argc == 5) {
		int n = atoi(argv[4]);
		uint8_t *pw = NULL, *all = NULL;
		size_t pw_len = 0, len = 0;
		vg_msgb b;

		if (n < 0 || n > 4096 || vg_read_file(argv[3], 1024, &pw, &pw_len) != VG_OK)
			return 2;
		while (pw_len && (pw[pw_len - 1] == '\n' || pw[pw_len - 1] == '\r'))
			pw_len--;
		for (int i = 0; i <= n; i++) {
			if (vg_msgb_init(&b) != VG_OK)
				return 2;
			if (i == 0)
				vg_msgb_bytes(&b, VG_A_PASSWORD, pw, pw_len);
			if (append_frame(&all, &len, i == 0 ? VG_OP_ADMIN_LOGIN : VG_OP_STATUS, &b,
					 false) != 0)
				return 2;
		}
		vg_wipe(pw, pw_len);
		free(pw);
		if (send(fd, all, len, MSG_NOSIGNAL) != (ssize_t)len)
			return 2;
		vg_wipe(all, len);
		free(all);
		print_replies(fd, n + 1);
		return 0;
	}
	if (strcmp(argv[2], "audited") == 0 && argc == 5) {
		int count = 0;
		char why[256];
		for (int i = 0; i < atoi(argv[3]); i++) {
			vg_msgb b;
			uint8_t *f;
			size_t n;
			if (vg_msgb_init(&b) != VG_OK)
				return 2;
			vg_msgb_text(&b, VG_A_NAME, "no-such-key");
			if (vg_wire_encode(VG_OP_KEY_DELETE, &b, &f, &n) != VG_OK)
				return 2;
			if (send_all(fd, f, n) == 0 && reply_code(fd, 5000, why, sizeof why) >= 0)
				count++;
			free(f);
			(void)usleep((useconds_t)atoi(argv[4]) * 1000u);
		}
		(void)printf("sent %d\n", count);
		return 0;
	}
	if (strcmp(argv[2], "killrace") == 0 && argc == 6) {
		pid_t pid = (pid_t)atol(argv[3]);
		int n = atoi(argv[5]), fds[64];
		char why[256], name[32], val[64];
		long code;

		if (n < 1 || n > 64 || pid <= 1)
			return 2;
		for (int i = 0; i < n; i++)
			if ((fds[i] = dial(argv[1])) < 0)
				return 2;
		if (kill(pid, SIGSTOP) != 0)
			return 2;
		(void)usleep(100000); /* stopped for sure */
		for (int i = -1; i < n; i++) {
			vg_msgb b;
			uint8_t *f;
			size_t len;
			if (vg_msgb_init(&b) != VG_OK)
				return 2;
			if (i < 0) {
				vg_msgb_text(&b, VG_A_NAME, argv[4]);
			} else {
				(void)snprintf(name, sizeof name, "race-%d", i);
				(void)snprintf(val, sizeof val, "value %d", i);
				vg_msgb_text(&b, VG_A_NAME, name);
				vg_msgb_bytes(&b, VG_A_VALUE, (const uint8_t *)val, strlen(val));
			}
			if (vg_wire_encode(i < 0 ? VG_OP_KEY_DELETE : VG_OP_STORE_PUT, &b, &f,
					   &len) != VG_OK ||
			    send_all(i < 0 ? fd : fds[i], f, len) != 0)
				return 2;
			free(f);
		}
		(void)kill(pid, SIGCONT);
		code = reply_code(fd, 15000, why, sizeof why);
		(void)kill(pid, SIGKILL);
		(void)printf("reply %ld killed\n", code);
		return 0;
	}
	if (strcmp(argv[2], "status") == 0) {
		vg_msgb b;
		uint8_t *f;
		size_t n;
		if (vg_msgb_init(&b) != VG_OK || vg_wire_encode(VG_OP_STATUS, &b, &f, &n) != VG_OK)
			return 2;
		(void)send(fd, f, n, MSG_NOSIGNAL);
		free(f);
		return read_reply(fd, 15000);
	}
	return 2;
}
