/*
 * server.h - the event loops: epoll, non-blocking sockets, one thread per
 * loop (config event_loops: default 1; 0 for one per online core, at most
 * 4).
 *
 * Each connection belongs to one loop; the first loop accepts and takes the
 * worker pool's finished jobs. Fairness between uids (server.c, turns and
 * homes): while two or more uids are active, a loop's round serves one
 * request per uid, not one per connection, and each uid's connections
 * gather on its home loop (a uid alone spreads them over the loops), so a
 * uid with many connections gets neither more turns nor more loops than
 * another. The loops share one lock over everything else (the
 * budgets below, the request manager, the store, the audit log): a loop
 * releases it only to wait for events, for its own connections' reads and
 * sends, and to run a light job (a signature) inline. Those are most of a
 * signing request's cost, so signatures scale with the cores while every
 * rule below stays one rule over all loops. With one loop it is the single
 * loop as before, and the inline light jobs are tuned for it (server.c).
 * One loop is the default because it isolates better: measured on 2 cores
 * (docs/BENCHMARKS.md, "Turns and homes"), two loops sign 10-35 % faster,
 * but a well-behaved client under 8 signing connections of another uid
 * kept 0.38-0.45 of its throughput with two loops (p99 3.5 ms: a time
 * slice of the kernel's, with two busy service threads on two cores)
 * against 0.51-0.70 with one (p99 0.7 ms).
 *
 * Each connection reads one frame at a time: a 4-byte length, then the
 * payload, into a buffer that grows only as bytes actually arrive. Limits:
 *  - a frame over VG_WIRE_MAX_MSG closes the connection;
 *  - a request must arrive whole within io_timeout_ms of its first byte and
 *    a reply be taken within io_timeout_ms (slow-loris, stalled readers);
 *  - a connection with no request in progress is closed after its uid's
 *    idle_ms (daemon/budget.h);
 *  - per uid (SFR 4.2.10, daemon/budget.h): at most `conns` connections and
 *    `inflight_bytes` request bytes buffered over all its connections;
 *  - at most max_clients connections in all; the last max_clients/8 are
 *    kept for callers holding no connection yet (and root, the service,
 *    admins), so that a few uids together cannot lock everyone out;
 *  - at most VG_SERVER_MAX_BUFFERED request bytes in all (the memory bound
 *    of the process), shared as below.
 * A breach closes that connection and nothing else, after a best-effort
 * error reply (VG_ERR_QUOTA and a message naming the limit); refusals are
 * one "budget.exceeded" audit event per uid and reason per
 * VG_BUDGET_AUDIT_WINDOW_MS. After every round of events the audit log is
 * flushed (group commit).
 *
 * Why request buffers cannot be starved (the reasoning): the global bound
 * G = VG_SERVER_MAX_BUFFERED is split into a reserve R = VG_SERVER_RESERVE
 * and a bulk pool G - R. Each uid has a small share S = R / max_clients:
 * the first S bytes a uid has in flight are counted against the reserve,
 * anything above against the bulk pool. Only uids with a connection hold
 * bytes, so at most max_clients uids hold small shares and they never sum
 * above R: a uid whose requests in flight total at most S (status, sign,
 * small gets and puts: S is 32 KiB with the default 256 clients, at least
 * 2 KiB) is always served, whatever the others do. The bulk pool serves
 * larger requests first come, first served, within each uid's own
 * inflight_bytes (default one maximum-size frame plus 1 MiB, about 17 MiB):
 * one uid can hold at most that much, so it takes at least four uids each
 * trickling maximum-size frames to fill the 56 MiB pool, and even then
 * only other uids' large requests are refused ("service busy"), for at
 * most io_timeout_ms, the time any request may take to arrive.
 */
#ifndef VG_SERVER_H
#define VG_SERVER_H

#include <signal.h>
#include <sys/types.h>

#include "daemon/service.h"

#define VG_SERVER_MAX_BUFFERED (64u * 1024u * 1024u)
/* Kept for each uid's small share (see above). */
#define VG_SERVER_RESERVE (VG_SERVER_MAX_BUFFERED / 8u)
#if VG_SERVER_RESERVE / 4096u < 2048u
#error "the reserve must give each of 4096 clients (max_clients' maximum) 2 KiB"
#endif

/* Creates, binds and listens on a Unix socket at path with mode and
 * (optionally, -1 for none) group; replaces a stale socket file. */
VG_NODISCARD vg_rc vg_server_listen(const char *path, unsigned mode, gid_t group, int *fd,
				    char *err, size_t err_len);

/* Runs until *stop becomes non-zero (set by a signal handler). */
VG_NODISCARD vg_rc vg_server_run(vg_service *s, int listen_fd, volatile sig_atomic_t *stop,
				 void (*on_ready)(void));

#endif
