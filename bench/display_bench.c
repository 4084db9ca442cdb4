/*
 * display_bench - round trips of a 64-byte message to the display IPC
 * server straight on its Unix socket and through voxguard-displayd (TLS
 * 1.3, WebSocket), from the same C loop, so that the difference is the
 * gateway's (issue 13; scripts/bench-display.sh). W is the window: the
 * messages in flight (1, the default: lock-step, one at a time; W > 1: W
 * sent at once, then one more for each reply, as a display streaming
 * updates would).
 *   display_bench direct IPC_PATH N [W]
 *   display_bench gateway PORT CERT ORIGIN TOKEN N [W]
 *   display_bench tlsproxy PORT CERT N [W]
 * tlsproxy is the peer baseline: a generic TLS-terminating proxy (socat)
 * in front of the same IPC socket, the IPC framing inside TLS, no
 * WebSocket, no token: what one more hop and TLS on every message cost
 * by themselves.
 * Prints "rtt_us P50 P99" (send to reply of each message) and
 * "msgs_per_s X". Exit 0, or 1 with a reason.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#define MSG 64

struct io {
	int fd;
	SSL *ssl;
	uint8_t buf[65536];
	size_t len;
};

static int rd(struct io *c, void *p, size_t n)
{
	while (c->len < n) {
		int r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len))
			       : (int)read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
	memcpy(p, c->buf, n);
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	return 0;
}

static int wr(struct io *c, const void *p, size_t n)
{
	if (c->ssl)
		return SSL_write(c->ssl, p, (int)n) == (int)n ? 0 : -1;
	return write(c->fd, p, n) == (ssize_t)n ? 0 : -1;
}

/* One frame of the IPC socket: u32 big-endian length + payload. */
static int ipc_msg(struct io *c, uint8_t *out, size_t cap, size_t *n)
{
	uint8_t h[4];

	if (rd(c, h, 4))
		return -1;
	*n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	return *n > cap ? -1 : rd(c, out, *n);
}

/* One unmasked server frame (payload < 65536). */
static int ws_msg(struct io *c, uint8_t *out, size_t cap, size_t *n)
{
	uint8_t h[2], e[2];

	if (rd(c, h, 2))
		return -1;
	*n = h[1] & 0x7f;
	if (*n == 126) {
		if (rd(c, e, 2))
			return -1;
		*n = (size_t)e[0] << 8 | e[1];
	} else if (*n == 127) {
		return -1;
	}
	return *n > cap ? -1 : rd(c, out, *n);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run(struct io *c, bool ws, long n, long w)
{
	uint8_t out[6 + MSG], in[1024];
	size_t got;
	double *sent = calloc((size_t)n, sizeof *sent), *rtt = calloc((size_t)n, sizeof *rtt), t0;
	long next = 0;
	int ret = 1;

	if (!sent || !rtt)
		goto out;
	if (ws) {
		out[0] = 0x81;
		out[1] = 0x80 | MSG;
		memcpy(out + 2, "\x11\x22\x33\x44", 4);
		for (size_t i = 0; i < MSG; i++)
			out[6 + i] = (uint8_t)('x' ^ out[2 + i % 4]);
	} else {
		out[0] = out[1] = out[2] = 0;
		out[3] = MSG;
		memset(out + 4, 'x', MSG);
	}
	if ((ws ? ws_msg : ipc_msg)(c, in, sizeof in, &got)) /* the greeting */
		goto out;
	if (w < 1)
		w = 1;
	t0 = now();
	/* Replies come back in order (one stream, an echo server): reply i
	 * answers message i. Up to w messages are in flight. */
	for (long i = 0; i < n; i++) {
		while (next < n && next < i + w) {
			sent[next] = now();
			if (wr(c, out, ws ? 6 + MSG : 4 + MSG)) {
				(void)fprintf(stderr, "display_bench: send %ld failed\n", next);
				goto out;
			}
			next++;
		}
		if ((ws ? ws_msg : ipc_msg)(c, in, sizeof in, &got) || got != MSG + 5) {
			(void)fprintf(stderr, "display_bench: round trip %ld failed\n", i);
			goto out;
		}
		rtt[i] = now() - sent[i];
	}
	t0 = now() - t0;
	qsort(rtt, (size_t)n, sizeof *rtt, cmp);
	(void)printf("rtt_us %.0f %.0f\nmsgs_per_s %.0f\n", rtt[n / 2] * 1e6,
		     rtt[(long)((double)n * 0.99)] * 1e6, (double)n / t0);
	ret = 0;
out:
	free(sent);
	free(rtt);
	return ret;
}

/* A TLS 1.3 connection to 127.0.0.1:port, the server's certificate
 * checked against cert (for "localhost"). */
static int tls_open(struct io *c, const char *port, const char *cert)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(port)),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int one = 1;

	if (!ctx || SSL_CTX_load_verify_locations(ctx, cert, NULL) != 1)
		return 1;
	X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a))
		return perror("display_bench: connect"), 1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set1_host(c->ssl, "localhost") ||
	    SSL_connect(c->ssl) != 1)
		return fprintf(stderr, "display_bench: TLS failed\n"), 1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct io c;

	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "direct")) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		if (strlen(argv[2]) >= sizeof a.sun_path)
			return 1;
		strcpy(a.sun_path, argv[2]);
		c.fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&a, sizeof a))
			return perror("display_bench: connect"), 1;
		return run(&c, false, atol(argv[3]), argc == 5 ? atol(argv[4]) : 1);
	}
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "tlsproxy")) {
		if (tls_open(&c, argv[2], argv[3]))
			return 1;
		return run(&c, false, atol(argv[4]), argc == 6 ? atol(argv[5]) : 1);
	}
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "gateway")) {
		char req[1024], line[4], head[13] = "";
		size_t hl = 0;
		int n;
		if (tls_open(&c, argv[2], argv[3]))
			return 1;
		n = snprintf(req, sizeof req,
			     "GET / HTTP/1.1\r\nHost: localhost:%s\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			     "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n"
			     "Sec-WebSocket-Protocol: vg-display, vg-token.%s\r\n\r\n",
			     argv[2], argv[4], argv[5]);
		if (n <= 0 || (size_t)n >= sizeof req || wr(&c, req, (size_t)n))
			return 1;
		/* The response head, byte by byte up to the blank line. */
		memset(line, 0, sizeof line);
		while (memcmp(line, "\r\n\r\n", 4) != 0) {
			uint8_t b;
			if (rd(&c, &b, 1) || ++hl > 4096)
				return fprintf(stderr, "display_bench: no upgrade\n"), 1;
			memmove(line, line + 1, 3);
			line[3] = (char)b;
			if (hl <= 12)
				head[hl - 1] = (char)b;
		}
		if (strcmp(head, "HTTP/1.1 101") != 0)
			return fprintf(stderr, "display_bench: refused (%s)\n", head), 1;
		return run(&c, true, atol(argv[6]), argc == 8 ? atol(argv[7]) : 1);
	}
	(void)fprintf(stderr, "usage: display_bench direct IPC N [W] | gateway PORT CERT ORIGIN TOKEN N [W] | "
			      "tlsproxy PORT CERT N [W]\n");
	return 2;
}
