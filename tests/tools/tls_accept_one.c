/* tls_accept_one - the server side of the channel (vg_tls_accept) for the
 * integration tests: listens on 127.0.0.1:PORT, accepts one connection,
 * completes TLS 1.3 with the caller's key KEY in the service at SOCKET
 * (served by SERVICE_USER) and the certificate chain CERT, writes
 * "hello from KEY\n" and closes (close_notify). Prints "listening"
 * once it accepts connections. Exit 0 when the handshake and the write
 * succeeded, 1 otherwise (the reason on stderr).
 *   tls_accept_one SOCKET SERVICE_USER KEY CERT PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "voxguard/tls.h"

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char why[256] = "", msg[300];
	vg_client *c = NULL;
	vg_tls *t = NULL;
	int one = 1, ls, fd, ret = 1;
	vg_rc rc;

	if (argc != 6) {
		(void)fprintf(stderr, "usage: tls_accept_one SOCKET SERVICE_USER KEY CERT PORT\n");
		return 2;
	}
	if (vg_client_open_as(&c, argv[1], argv[2]) != VG_OK) {
		(void)fprintf(stderr, "tls_accept_one: %s\n", vg_client_last_error(NULL));
		return 1;
	}
	a.sin_port = htons((uint16_t)atoi(argv[5]));
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) {
		perror("tls_accept_one: listen");
		vg_client_close(&c);
		return 1;
	}
	(void)printf("listening\n");
	(void)fflush(stdout);
	fd = accept(ls, NULL, NULL);
	(void)close(ls);
	if (fd < 0) {
		perror("tls_accept_one: accept");
		vg_client_close(&c);
		return 1;
	}
	rc = vg_tls_accept(c, fd, argv[3], argv[4], &t, why, sizeof why);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "tls_accept_one: %s: %s\n", vg_rc_str(rc), why);
		(void)close(fd);
		vg_client_close(&c);
		return 1;
	}
	(void)snprintf(msg, sizeof msg, "hello from %s\n", argv[3]);
	if (vg_tls_write(t, msg, strlen(msg)) == (ssize_t)strlen(msg))
		ret = 0;
	vg_tls_close(t);
	vg_client_close(&c);
	return ret;
}
