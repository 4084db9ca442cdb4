/*
 * voxguard-displayd - the display IPC guard's WSS gateway (AVS 1.14; the
 * AVS Device SDK's smart-screen rules; docs/DISPLAY.md).
 *
 *   voxguard-displayd --port PORT --cert PEM --key NAME --key-ref PEM --www DIR
 *       --origin https://HOST[:PORT] [--origin ...] --ipc PATH --ipc-uid UID
 *       [--client-ca PEM] [--socket PATH]
 *
 * The device maker puts it in front of the voice application's IPC server
 * (a Unix socket). It listens on 127.0.0.1:PORT, TLS only (libwebsockets
 * on OpenSSL) with the device-unique certificate whose key NAME stays in
 * voxguardd (loaded through the voxguard provider into the default library
 * context, handed to the SSL_CTX when libwebsockets asks for the private
 * key), serves the display page from DIR over HTTPS, and lets one display
 * client at a time upgrade to a WebSocket when
 *  - its Origin header is on the allow-list (--origin),
 *  - it carries a one-time token as the subprotocol "vg-token.<token>"
 *    beside "vg-display" (browsers cannot set other headers on a
 *    WebSocket; the token never travels in a URL), which the service
 *    redeems (vg_display_token_redeem: once, in time, for that Origin),
 *  - with --client-ca, its TLS client certificate verifies against it,
 *  - the IPC server's socket belongs to --ipc-uid (SO_PEERCRED).
 * It answers "vg-display", never the token. Messages are bridged both ways
 * as frames of u32 big-endian length + payload on the Unix socket, each at
 * most VG_DISPLAYD_MAX_MSG bytes. Every refusal is an audit event in the
 * service: the redeem op records its own; what the gateway sees alone (no
 * Origin, a foreign Origin, no token, a second client, a wrong IPC peer)
 * it reports (vg_display_report). Prints "ready" once it accepts.
 * VG_DISPLAYD_DEBUG=1 in the environment turns on libwebsockets' own
 * logging down to its info level (handshakes, TLS errors) on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "display/token.h"
#include "provider/provider.h"
#include "voxguard/display.h"

#define VG_DISPLAYD_MAX_MSG    (64u * 1024u)
#define VG_DISPLAYD_MAX_ORIGIN 8
#define VG_DISPLAYD_QUEUE      256u
/* The most bytes of small messages to the display written at once (a
 * TLS record's plaintext); below 65536, so two-byte lengths suffice. */
#define VG_DISPLAYD_BATCH (16u * 1024u)
_Static_assert(VG_DISPLAYD_BATCH < 65536u, "a batched frame's length fits in 16 bits");
/* Bytes waiting for the IPC server before the gateway writes them at once. */
#define VG_DISPLAYD_OUT_MAX (256u * 1024u)
#define SUBPROTOCOL         "vg-display"
#define TOKEN_PREFIX        "vg-token."

static volatile sig_atomic_t stop;

static struct {
	const char *key, *key_ref, *cert, *www, *ipc, *client_ca, *socket;
	const char *origins[VG_DISPLAYD_MAX_ORIGIN];
	int n_origins;
	int port;
	uid_t ipc_uid;
} opt = {.port = -1, .ipc_uid = (uid_t)-1};

static vg_client *svc;
static EVP_PKEY *server_key;

/* The one display client: its WebSocket, the IPC socket (pending between
 * the upgrade check and the WebSocket's establishment), and the messages
 * from the IPC server waiting for the WebSocket. */
struct msg {
	size_t len;
	uint8_t *buf; /* LWS_PRE + len */
};
static struct {
	struct lws *ws;      /* the active client, or NULL */
	struct lws *pending; /* a client past the checks, not yet established */
	int pending_fd;
	struct lws *raw; /* the adopted IPC socket */
	int ipc_fd;
	bool ipc_closed;
	uint8_t in[4 + VG_DISPLAYD_MAX_MSG]; /* from the IPC server */
	size_t in_len;
	uint8_t *rx; /* a WebSocket message being assembled */
	size_t rx_len;
	/* Messages for the IPC server, framed, written together when its
	 * socket is writable: the frames of one TLS read go out in one
	 * write, not one write each. */
	uint8_t *out;
	size_t out_len, out_cap;
	struct msg q[VG_DISPLAYD_QUEUE];
	size_t q_head, q_n;
} S = {.pending_fd = -1, .ipc_fd = -1};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void report(const char *reason, const char *origin)
{
	vg_rc rc = vg_display_report(svc, reason, origin);

	if (rc != VG_OK)
		(void)fprintf(stderr, "voxguard-displayd: could not report '%s': %s\n", reason,
			      vg_rc_str(rc));
}

static bool origin_allowed(const char *o)
{
	for (int i = 0; i < opt.n_origins; i++)
		if (strcmp(opt.origins[i], o) == 0)
			return true;
	return false;
}

/* The token from a Sec-WebSocket-Protocol list: the item "vg-token.X". */
static bool find_token(char *list, char tok[static VG_DISPLAY_TOKEN_LEN + 2])
{
	char *save = NULL;
	bool found = false;

	for (char *it = strtok_r(list, ", ", &save); it; it = strtok_r(NULL, ", ", &save)) {
		if (strncmp(it, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) != 0)
			continue;
		if (found)
			return false; /* two tokens: neither */
		(void)snprintf(tok, VG_DISPLAY_TOKEN_LEN + 2, "%s", it + sizeof TOKEN_PREFIX - 1);
		found = true;
	}
	return found;
}

/* Connects to the IPC server and checks who serves it. */
static int ipc_connect(char *why, size_t why_len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct ucred cred;
	socklen_t cl = sizeof cred;
	int fd;

	if (strlen(opt.ipc) >= sizeof a.sun_path) {
		(void)snprintf(why, why_len, "ipc socket path too long");
		return -1;
	}
	strcpy(a.sun_path, opt.ipc);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		(void)snprintf(why, why_len, "ipc server unreachable");
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cl != sizeof cred ||
	    cred.uid != opt.ipc_uid) {
		(void)snprintf(why, why_len, "ipc server is uid %u, not the configured %u",
			       (unsigned)cred.uid, (unsigned)opt.ipc_uid);
		(void)close(fd);
		return -1;
	}
	return fd;
}

static void drop_pending(void)
{
	if (S.pending_fd >= 0)
		(void)close(S.pending_fd);
	S.pending_fd = -1;
	S.pending = NULL;
}

/* The checks before a WebSocket upgrade: 0 lets it proceed, -1 hangs up. */
static int confirm_upgrade(struct lws *wsi)
{
	char origin[VG_DISPLAY_TOKEN_LEN + 256], list[1024], tok[VG_DISPLAY_TOKEN_LEN + 2],
	    why[160];
	int ol = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
	int pl = lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL);
	vg_rc rc;
	int fd;

	origin[0] = '\0';
	if (ol <= 0 || ol >= 256 ||
	    lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0) {
		report(ol <= 0 ? "no Origin header (not a browser)" : "Origin header too long",
		       NULL);
		return -1;
	}
	if (!origin_allowed(origin)) {
		report("Origin not on the allow-list", origin);
		return -1;
	}
	if (S.ws) {
		report("a second display client while one is connected", origin);
		return -1;
	}
	if (pl <= 0 || pl >= (int)sizeof list ||
	    lws_hdr_copy(wsi, list, sizeof list, WSI_TOKEN_PROTOCOL) < 0 ||
	    !find_token(list, tok)) {
		report("no token in Sec-WebSocket-Protocol", origin);
		return -1;
	}
	rc = vg_display_token_redeem(svc, tok, origin);
	OPENSSL_cleanse(tok, sizeof tok);
	OPENSSL_cleanse(list, sizeof list);
	if (rc != VG_OK) {
		/* The service recorded why. */
		(void)fprintf(stderr, "voxguard-displayd: refused: %s\n",
			      vg_client_last_error(svc));
		return -1;
	}
	fd = ipc_connect(why, sizeof why);
	if (fd < 0) {
		report(why, origin);
		return -1;
	}
	drop_pending();
	S.pending = wsi;
	S.pending_fd = fd;
	return 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* A self-issued client certificate is its own trust anchor. */
		if (opt.client_ca)
			(void)X509_STORE_set_flags(SSL_CTX_get_cert_store((SSL_CTX *)user),
						   X509_V_FLAG_PARTIAL_CHAIN);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (!in || strcasecmp((const char *)in, "websocket") != 0)
			return -1;
		return confirm_upgrade(wsi);
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static void queue_clear(void)
{
	while (S.q_n) {
		free(S.q[S.q_head].buf);
		S.q_head = (S.q_head + 1) % VG_DISPLAYD_QUEUE;
		S.q_n--;
	}
	S.q_head = 0;
}

static void session_end(void)
{
	queue_clear();
	free(S.rx);
	S.rx = NULL;
	S.rx_len = 0;
	free(S.out);
	S.out = NULL;
	S.out_len = S.out_cap = 0;
	S.in_len = 0;
	S.ws = NULL;
	S.raw = NULL;
	S.ipc_fd = -1;
	S.ipc_closed = false;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Writes what it can of the frames waiting for the IPC server; the rest
 * when its socket is writable again. -1: the IPC server is gone. */
static int out_flush(void)
{
	size_t off = 0;

	while (off < S.out_len) {
		ssize_t w = write(S.ipc_fd, S.out + off, S.out_len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	memmove(S.out, S.out + off, S.out_len - off);
	S.out_len -= off;
	if (S.out_len && S.raw)
		lws_callback_on_writable(S.raw);
	return 0;
}

/* Queues one framed message (4-byte length + payload) for the IPC server.
 * At most VG_DISPLAYD_OUT_MAX bytes wait: beyond, what waits is written
 * first, blocking as a message at a time did. */
static int out_add(const uint8_t *frame, size_t n)
{
	if (S.out_len + n > VG_DISPLAYD_OUT_MAX) {
		if (S.ipc_fd < 0 || !write_all(S.ipc_fd, S.out, S.out_len))
			return -1;
		S.out_len = 0;
		if (n > VG_DISPLAYD_OUT_MAX)
			return write_all(S.ipc_fd, frame, n) ? 0 : -1;
	}
	if (S.out_len + n > S.out_cap) {
		size_t cap = S.out_cap ? S.out_cap : 16384;
		uint8_t *p;
		while (cap < S.out_len + n)
			cap *= 2;
		p = realloc(S.out, cap);
		if (!p)
			return -1;
		S.out = p;
		S.out_cap = cap;
	}
	memcpy(S.out + S.out_len, frame, n);
	S.out_len += n;
	if (S.raw)
		lws_callback_on_writable(S.raw);
	return 0;
}

/* The queued messages that fit in VG_DISPLAYD_BATCH bytes, as WebSocket
 * text frames from the server (RFC 6455 section 5.2: FIN, opcode 1, no
 * mask, the shortest length encoding), one after the other in batch after
 * LWS_PRE; they leave the queue. Returns the bytes written; the first
 * message always fits (the caller checks). */
static uint8_t batch[LWS_PRE + VG_DISPLAYD_BATCH];
static size_t batch_frames(void)
{
	uint8_t *p = batch + LWS_PRE;
	size_t n = 0;

	while (S.q_n) {
		struct msg *m = &S.q[S.q_head];
		size_t h = m->len < 126 ? 2 : 4; /* len < VG_DISPLAYD_BATCH < 65536 */
		if (n + h + m->len > VG_DISPLAYD_BATCH)
			break;
		p[n] = 0x81;
		if (h == 2) {
			p[n + 1] = (uint8_t)m->len;
		} else {
			p[n + 1] = 126;
			p[n + 2] = (uint8_t)(m->len >> 8);
			p[n + 3] = (uint8_t)m->len;
		}
		memcpy(p + n + h, m->buf + LWS_PRE, m->len);
		n += h + m->len;
		free(m->buf);
		m->buf = NULL;
		S.q_head = (S.q_head + 1) % VG_DISPLAYD_QUEUE;
		S.q_n--;
	}
	return n;
}

static int cb_display(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		      size_t len)
{
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED: {
		lws_sock_file_fd_type fd;
		lwsl_info("displayd: established %p pending %p\n", (void *)wsi, (void *)S.pending);
		if (wsi != S.pending || S.ws)
			return -1;
		S.ws = wsi;
		S.ipc_fd = S.pending_fd;
		S.pending_fd = -1;
		S.pending = NULL;
		fd.filefd = S.ipc_fd;
		/* The IPC socket joins the event loop as the client's child:
		 * it closes with it. */
		S.raw = lws_adopt_descriptor_vhost(lws_get_vhost(wsi), LWS_ADOPT_RAW_FILE_DESC, fd,
						   "vg-ipc", wsi);
		if (!S.raw) {
			lwsl_info("displayd: adopt failed\n");
			S.ipc_fd = -1; /* closed by lws */
			return -1;
		}
		return 0;
	}
	case LWS_CALLBACK_RECEIVE: {
		uint8_t *n;
		if (S.rx_len + len > VG_DISPLAYD_MAX_MSG) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
			return -1;
		}
		n = realloc(S.rx, S.rx_len + len + 4);
		if (!n)
			return -1;
		S.rx = n;
		memcpy(S.rx + 4 + S.rx_len, in, len);
		S.rx_len += len;
		if (!lws_is_final_fragment(wsi))
			return 0;
		S.rx[0] = (uint8_t)(S.rx_len >> 24);
		S.rx[1] = (uint8_t)(S.rx_len >> 16);
		S.rx[2] = (uint8_t)(S.rx_len >> 8);
		S.rx[3] = (uint8_t)S.rx_len;
		if (S.ipc_fd < 0 || out_add(S.rx, S.rx_len + 4) != 0)
			return -1;
		S.rx_len = 0;
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (S.q_n) {
			int w;
			if (S.q_n > 1 && S.q[S.q_head].len + 10 <= VG_DISPLAYD_BATCH) {
				/* Several small messages: their frames in one write, one
				 * TLS record, instead of a record and a send each. */
				size_t n = batch_frames();
				w = lws_write(wsi, batch + LWS_PRE, n, LWS_WRITE_RAW);
				if (w < (int)n)
					return -1;
			} else {
				struct msg *m = &S.q[S.q_head];
				w = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
				free(m->buf);
				m->buf = NULL;
				S.q_head = (S.q_head + 1) % VG_DISPLAYD_QUEUE;
				S.q_n--;
				if (w < (int)m->len)
					return -1;
			}
			if (S.q_n)
				lws_callback_on_writable(wsi);
			return 0;
		}
		if (S.ipc_closed) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (wsi == S.ws)
			session_end();
		return 0;
	default:
		return 0;
	}
}

/* Frames from the IPC server, queued for the WebSocket. */
static int ipc_rx(void)
{
	ssize_t r = read(S.ipc_fd, S.in + S.in_len, sizeof S.in - S.in_len);
	size_t off = 0;

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r <= 0)
		return -1;
	S.in_len += (size_t)r;
	while (S.in_len - off >= 4) {
		const uint8_t *h = S.in + off;
		size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		struct msg *m;
		if (n > VG_DISPLAYD_MAX_MSG)
			return -1; /* the IPC server broke the framing */
		if (S.in_len - off < 4 + n)
			break;
		if (S.q_n == VG_DISPLAYD_QUEUE)
			return -1; /* the display does not keep up: fail closed */
		m = &S.q[(S.q_head + S.q_n) % VG_DISPLAYD_QUEUE];
		m->buf = malloc(LWS_PRE + n + 1);
		if (!m->buf)
			return -1;
		memcpy(m->buf + LWS_PRE, h + 4, n);
		m->len = n;
		S.q_n++;
		off += 4 + n;
	}
	memmove(S.in, S.in + off, S.in_len - off);
	S.in_len -= off;
	if (S.q_n && S.ws)
		lws_callback_on_writable(S.ws);
	return 0;
}

static int cb_ipc(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	(void)wsi;
	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (ipc_rx() == 0)
			return 0;
		S.ipc_closed = true;
		if (S.ws)
			lws_callback_on_writable(S.ws);
		return -1;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (S.ipc_fd < 0 || out_flush() == 0)
			return 0;
		S.ipc_closed = true;
		if (S.ws)
			lws_callback_on_writable(S.ws);
		return -1;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		S.ipc_closed = true;
		S.raw = NULL;
		S.ipc_fd = -1;
		if (S.ws)
			lws_callback_on_writable(S.ws);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
    {"http", cb_http, 0, 0, 0, NULL, 0},
    {SUBPROTOCOL, cb_display, 0, VG_DISPLAYD_MAX_MSG, 0, NULL, 0},
    {"vg-ipc", cb_ipc, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int usage(void)
{
	(void)fprintf(
	    stderr,
	    "usage: voxguard-displayd --port PORT --cert PEM --key NAME --key-ref PEM --www DIR "
	    "--origin https://HOST[:PORT] [--origin ...] --ipc PATH --ipc-uid UID "
	    "[--client-ca PEM] [--socket PATH]\n");
	return 2;
}

static bool parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		if (!v)
			return false;
		if (!strcmp(k, "--port")) {
			long p = strtol(v, &end, 10);
			if (*end || p < 1 || p > 65535)
				return false;
			opt.port = (int)p;
		} else if (!strcmp(k, "--ipc-uid")) {
			unsigned long u = strtoul(v, &end, 10);
			if (*end || !*v || u >= UINT32_MAX)
				return false;
			opt.ipc_uid = (uid_t)u;
		} else if (!strcmp(k, "--origin")) {
			if (opt.n_origins == VG_DISPLAYD_MAX_ORIGIN)
				return false;
			opt.origins[opt.n_origins++] = v;
		} else if (!strcmp(k, "--cert")) {
			opt.cert = v;
		} else if (!strcmp(k, "--key")) {
			opt.key = v;
		} else if (!strcmp(k, "--key-ref")) {
			opt.key_ref = v;
		} else if (!strcmp(k, "--www")) {
			opt.www = v;
		} else if (!strcmp(k, "--ipc")) {
			opt.ipc = v;
		} else if (!strcmp(k, "--client-ca")) {
			opt.client_ca = v;
		} else if (!strcmp(k, "--socket")) {
			opt.socket = v;
		} else {
			return false;
		}
	}
	return opt.port > 0 && opt.cert && opt.key && opt.key_ref && opt.www && opt.ipc &&
	       opt.n_origins && opt.ipc_uid != (uid_t)-1;
}

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_http_mount mount;
	struct lws_context *ctx;
	OSSL_LIB_CTX *lib = NULL, *old_default = NULL;
	struct sigaction sa;
	int ret;
	vg_rc rc;

	if (!parse_args(argc, argv))
		return usage();
	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns */
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < opt.n_origins; i++) {
		char why[160];
		if (vg_display_origin_check(opt.origins[i], strlen(opt.origins[i]), why,
					    sizeof why) != VG_OK) {
			(void)fprintf(stderr, "voxguard-displayd: --origin %s: %s\n",
				      opt.origins[i], why);
			return 2;
		}
	}
	rc = vg_client_open(&svc, opt.socket);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "voxguard-displayd: the service: %s\n",
			      vg_client_last_error(NULL));
		return 1;
	}
	/* The provider in a library context of its own, made this thread's
	 * default so that libwebsockets' SSL_CTX_new() creates its context
	 * there and reads the key reference with the provider's decoder.
	 * The key is looked up first for a clear error. */
	lib = OSSL_LIB_CTX_new();
	if (!lib || vg_provider_load_into(lib, opt.socket) != 1 ||
	    vg_provider_load_key(lib, opt.key, &server_key) != VG_OK) {
		(void)fprintf(stderr, "voxguard-displayd: key %s: not usable in the service\n",
			      opt.key);
		if (lib) {
			vg_provider_unload(lib);
			OSSL_LIB_CTX_free(lib);
		}
		vg_client_close(&svc);
		return 1;
	}
	old_default = OSSL_LIB_CTX_set0_default(lib);
	lws_set_log_level(getenv("VG_DISPLAYD_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO
						      : LLL_ERR,
			  NULL);
	memset(&mount, 0, sizeof mount);
	mount.mountpoint = "/";
	mount.mountpoint_len = 1;
	mount.origin = opt.www;
	mount.def = "index.html";
	mount.origin_protocol = LWSMPRO_FILE;
	memset(&info, 0, sizeof info);
	info.port = opt.port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.mounts = &mount;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.ssl_cert_filepath = opt.cert;
	/* The key reference (voxguard key reference, display certs): the
	 * provider's decoder turns it into a key whose private half stays
	 * in the service. */
	info.ssl_private_key_filepath = opt.key_ref;
	info.ssl_cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
			       "ECDHE-ECDSA-CHACHA20-POLY1305";
	/* HTTP/1.1 only: one WebSocket is one connection, whose checks and
	 * establishment meet on the same wsi (no RFC 8441 streams). */
	info.alpn = "http/1.1";
	info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_RENEGOTIATION;
	if (opt.client_ca) {
		info.options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
		info.ssl_ca_filepath = opt.client_ca;
	}
	ctx = lws_create_context(&info);
	if (!ctx) {
		(void)fprintf(stderr, "voxguard-displayd: cannot listen on 127.0.0.1:%d with TLS\n",
			      opt.port);
		EVP_PKEY_free(server_key);
		(void)OSSL_LIB_CTX_set0_default(old_default);
		vg_provider_unload(lib);
		OSSL_LIB_CTX_free(lib);
		vg_client_close(&svc);
		return 1;
	}
	if (!stop)
		(void)printf("voxguard-displayd: ready on https://127.0.0.1:%d\n", opt.port);
	(void)fflush(stdout);
	ret = stop ? 1 : 0;
	while (!stop)
		if (lws_service(ctx, 0) < 0)
			break;
	lws_context_destroy(ctx);
	drop_pending();
	session_end();
	EVP_PKEY_free(server_key);
	(void)OSSL_LIB_CTX_set0_default(old_default);
	vg_provider_unload(lib);
	OSSL_LIB_CTX_free(lib);
	vg_client_close(&svc);
	return ret;
}
