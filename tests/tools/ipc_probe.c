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
 *   ipc_probe SOCKET status         one valid status request: "reply 0"
 *   ipc_probe SOCKET noread NAME N  ask for record NAME (a large one) and
 *                                   read nothing for N seconds, then count
 *                                   what arrives: "got B bytes of a
 *                                   reply, then closed" or "complete"
 *   ipc_probe PATH notify N         bind a datagram socket at PATH (as
 *                                   systemd's $NOTIFY_SOCKET) and print
 *                                   each message received for N seconds
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
	vg_msg_free(&m);
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 3)
		return 2;
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
	if (strcmp(argv[2], "hold") == 0 && argc == 4) {
		int n = atoi(argv[3]);
		char c;
		for (int i = 0; i < n; i++)
			if (dial(argv[1]) < 0)
				(void)printf("refused %d\n", i);
		(void)printf("holding\n");
		(void)fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		return 0;
	}
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
