/*
 * server.h - the event loop: one thread, epoll, non-blocking sockets.
 *
 * Each connection reads one frame at a time: a 4-byte length, then the
 * payload, into a buffer that grows only as bytes actually arrive. Limits:
 *  - a frame over VG_WIRE_MAX_MSG closes the connection;
 *  - a request must arrive whole within io_timeout_ms of its first byte and
 *    a reply be taken within io_timeout_ms (slow-loris, stalled readers);
 *  - at most max_clients connections, at most max_clients/8 (>= 4) per uid;
 *  - at most VG_SERVER_MAX_BUFFERED bytes of requests in flight in total.
 * Any of these closes that connection and nothing else. After every round
 * of events the audit log is flushed (group commit).
 */
#ifndef VG_SERVER_H
#define VG_SERVER_H

#include <signal.h>
#include <sys/types.h>

#include "daemon/service.h"

#define VG_SERVER_MAX_BUFFERED (64u * 1024u * 1024u)

/* Creates, binds and listens on a Unix socket at path with mode and
 * (optionally, -1 for none) group; replaces a stale socket file. */
VG_NODISCARD vg_rc vg_server_listen(const char *path, unsigned mode, gid_t group, int *fd,
				    char *err, size_t err_len);

/* Runs until *stop becomes non-zero (set by a signal handler). */
VG_NODISCARD vg_rc vg_server_run(vg_service *s, int listen_fd, volatile sig_atomic_t *stop,
				 void (*on_ready)(void));

#endif
