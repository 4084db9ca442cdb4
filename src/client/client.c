/* client.c - libvoxguard: see include/voxguard/voxguard.h */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pwd.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/client_int.h"
#include "common/util.h"
#include "proto/wire.h"
#include "voxguard/voxguard.h"

#define DEFAULT_SOCKET    "/run/voxguard/voxguard.sock"
#define CLIENT_TIMEOUT_MS 60000
/* An export larger than the offline parser accepts is refused early
 * (VG_AUDIT_EXPORT_MAX, 64 MiB; the client library does not link it). */
#define VG_AUDIT_EXPORT_LIMIT (64u * 1024u * 1024u)

#ifndef VG_SERVICE_USER
#error "VG_SERVICE_USER (the service's user name) comes from CMake"
#endif

struct vg_client {
	int fd;      /* -1 after a reconnect failed */
	bool broken; /* a call failed on the socket: reconnect before the next */
	int64_t owner;
	char last_error[512];                /* the service's why_buf (daemon/req.h) fits */
	char session[VG_SESSION_TOKEN_SIZE]; /* "" when none */
	/* Whom c talks to, as resolved at open (vg_client_service): the
	 * provider of the TLS channel talks to the same service. */
	char socket_path[VG_CLIENT_SOCKET_MAX + 1];
	char service_user[VG_CLIENT_USER_MAX + 1];
};
_Static_assert(VG_CLIENT_SOCKET_MAX + 1 == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "a socket path is a sun_path");

VG_EXPORT void vg_client_set_session(vg_client *c, const char *token)
{
	vg_wipe(c->session, sizeof c->session);
	if (token && strlen(token) < sizeof c->session)
		strcpy(c->session, token);
}

/* Why the last vg_client_open*() on this thread failed, for
 * vg_client_last_error(NULL): there is no handle to hold it. */
static _Thread_local char open_error[256];

/* The uid of the service user: a name or a numeric uid. Returns false
 * if no such user exists. */
static bool service_uid(const char *user, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	if (getpwnam_r(user, &pw, buf, sizeof buf, &res) == 0 && res) {
		*uid = res->pw_uid;
		return true;
	}
	errno = 0;
	v = strtoul(user, &end, 10);
	if (*user >= '0' && *user <= '9' && !*end && errno == 0 && v < UINT32_MAX) {
		*uid = (uid_t)v;
		return true;
	}
	return false;
}

static const char *user_name(uid_t uid, char *buf, size_t cap)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
		(void)snprintf(buf, cap, "%s", res->pw_name);
	else
		(void)snprintf(buf, cap, "no name");
	return buf;
}

/* Trust goes both ways: before a byte is sent (a password, a setup code,
 * a session token), the peer must be the service user, root, or the
 * caller itself (a developer running the service as themselves; whoever
 * has our uid already owns us). The kernel records the peer's
 * credentials when it calls listen(), so nobody can claim them. */
static vg_rc check_server(int fd, const char *path, const char *user)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	char name[64];
	uid_t want;
	bool known;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof cr) {
		(void)snprintf(open_error, sizeof open_error,
			       "%s: cannot read the server's credentials: refusing to talk to it",
			       path);
		return VG_ERR_UNTRUSTED;
	}
	known = service_uid(user, &want);
	if (cr.uid == 0 || cr.uid == geteuid() || (known && cr.uid == want))
		return VG_OK;
	if (known)
		(void)snprintf(open_error, sizeof open_error,
			       "%s is served by uid %u (%s), not by the voxguard service user "
			       "'%s' (uid %u): refusing to talk to it",
			       path, (unsigned)cr.uid, user_name(cr.uid, name, sizeof name), user,
			       (unsigned)want);
	else
		(void)snprintf(open_error, sizeof open_error,
			       "%s is served by uid %u (%s), and the voxguard service user '%s' "
			       "does not exist: refusing to talk to it",
			       path, (unsigned)cr.uid, user_name(cr.uid, name, sizeof name), user);
	return VG_ERR_UNTRUSTED;
}

/* Connects to path and checks who serves it (check_server), as at open
 * and at every reconnect. Returns the connected socket in *fd, or an error
 * with its reason in open_error. */
static vg_rc connect_checked(const char *path, const char *user, int *fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
	vg_rc rc;
	int s;

	*fd = -1;
	strcpy(sa.sun_path, path); /* checked by vg_client_open_as */
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		(void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
		(void)snprintf(open_error, sizeof open_error, "%s: %s", path, strerror(errno));
		if (s >= 0)
			(void)close(s);
		return VG_ERR_UNAVAILABLE;
	}
	rc = check_server(s, path, user);
	if (rc != VG_OK) {
		(void)close(s);
		return rc;
	}
	*fd = s;
	return VG_OK;
}

VG_EXPORT vg_rc vg_client_open_as(vg_client **out, const char *socket_path,
				  const char *service_user)
{
	vg_client *c;
	vg_rc rc;

	*out = NULL;
	open_error[0] = '\0';
	if (!socket_path || !*socket_path)
		socket_path = getenv("VOXGUARD_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = DEFAULT_SOCKET;
	if (!service_user || !*service_user)
		service_user = getenv("VOXGUARD_SERVICE_USER");
	if (!service_user || !*service_user)
		service_user = VG_SERVICE_USER;
	if (strlen(socket_path) > VG_CLIENT_SOCKET_MAX) {
		(void)snprintf(open_error, sizeof open_error, "socket path too long");
		return VG_ERR_INVALID;
	}
	if (strlen(service_user) > VG_CLIENT_USER_MAX) {
		(void)snprintf(open_error, sizeof open_error, "service user name too long");
		return VG_ERR_INVALID;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return VG_ERR_NOMEM;
	c->owner = -1;
	strcpy(c->socket_path, socket_path);
	strcpy(c->service_user, service_user);
	rc = connect_checked(c->socket_path, c->service_user, &c->fd);
	if (rc != VG_OK) {
		free(c);
		return rc;
	}
	*out = c;
	return VG_OK;
}

VG_EXPORT vg_rc vg_client_open(vg_client **out, const char *socket_path)
{
	return vg_client_open_as(out, socket_path, NULL);
}

void vg_client_service(const vg_client *c, const char **socket_path, const char **service_user)
{
	*socket_path = c->socket_path;
	*service_user = c->service_user;
}

VG_EXPORT void vg_client_close(vg_client **c)
{
	if (!c || !*c)
		return;
	if ((*c)->fd >= 0)
		(void)close((*c)->fd);
	vg_wipe((*c)->session, sizeof(*c)->session);
	free(*c);
	*c = NULL;
}

VG_EXPORT const char *vg_client_last_error(const vg_client *c)
{
	return c ? c->last_error : open_error;
}

VG_EXPORT void vg_client_set_owner(vg_client *c, int64_t owner)
{
	if (c)
		c->owner = owner < 0 || owner > UINT32_MAX ? -1 : owner;
}

/* The socket has send and receive timeouts (SO_SNDTIMEO/SO_RCVTIMEO), so
 * a blocking call cannot hang on a stalled service. */
static vg_rc send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VG_ERR_UNAVAILABLE;
		p += n;
		len -= (size_t)n;
	}
	return VG_OK;
}

static vg_rc recv_all(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VG_ERR_UNAVAILABLE;
		p += n;
		len -= (size_t)n;
	}
	return VG_OK;
}

/* Receives one reply frame; *payload is malloc'ed. Most replies arrive in
 * the first read together with their header. */
static vg_rc recv_frame(int fd, uint8_t **payload, size_t *len)
{
	uint8_t first[4096];
	size_t got = 0, plen;
	vg_rc rc;

	*payload = NULL;
	*len = 0;
	while (got < VG_WIRE_HDR_LEN) {
		ssize_t n = recv(fd, first + got, sizeof first - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VG_ERR_UNAVAILABLE;
		got += (size_t)n;
	}
	rc = vg_wire_frame_len(first, &plen);
	if (rc != VG_OK)
		return rc == VG_ERR_TOO_LARGE ? VG_ERR_PROTOCOL : rc;
	/* The service answers one request at a time: more bytes than the
	 * frame holds is a protocol error, not the next reply. */
	if (got - VG_WIRE_HDR_LEN > plen)
		return VG_ERR_PROTOCOL;
	*payload = malloc(plen);
	if (!*payload)
		return VG_ERR_NOMEM;
	memcpy(*payload, first + VG_WIRE_HDR_LEN, got - VG_WIRE_HDR_LEN);
	rc = recv_all(fd, *payload + (got - VG_WIRE_HDR_LEN), plen - (got - VG_WIRE_HDR_LEN));
	vg_wipe(first, got);
	if (rc != VG_OK) {
		vg_free(*payload, plen);
		*payload = NULL;
		return rc;
	}
	*len = plen;
	return VG_OK;
}

/* Whether the service is gone from c's socket: hung up, in error, or at
 * end of file. Pending bytes (a refusal the service sent before it
 * closed, SFR 4.2.10) are not "gone": the call reads them as today. */
static bool peer_gone(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN | POLLRDHUP};
	uint8_t byte;
	ssize_t n;

	if (poll(&pf, 1, 0) != 1)
		return false;
	if (pf.revents & POLLIN) {
		n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
	}
	return (pf.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
}

/* Before a request: a connection known broken, or whose service is gone
 * (restarted), is replaced by a new one to the same path, checked the
 * same way as at open. Nothing has been sent on it yet, so nothing is
 * sent twice. A failure (the service is not back yet, or someone else
 * serves the path) is the open error; the next call tries again. */
static vg_rc ensure_connected(vg_client *c)
{
	vg_rc rc;

	if (c->fd >= 0 && !c->broken && !peer_gone(c->fd))
		return VG_OK;
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	c->broken = true;
	rc = connect_checked(c->socket_path, c->service_user, &c->fd);
	if (rc != VG_OK) {
		(void)snprintf(c->last_error, sizeof c->last_error, "%s", open_error);
		return rc;
	}
	c->broken = false;
	return VG_OK;
}

/* Sends op with args b (consumed), receives and decodes the reply into
 * *reply. Returns the service's result code. At most once: a request is
 * sent on one connection only; a reply lost with its connection is an
 * error, and the next call reconnects. */
static vg_rc call(vg_client *c, vg_op op, vg_msgb *b, vg_msg *reply)
{
	uint8_t *frame = NULL, *payload = NULL;
	size_t frame_len = 0, len = 0;
	vg_rc rc;
	int err;

	memset(reply, 0, sizeof *reply);
	c->last_error[0] = '\0';
	rc = ensure_connected(c);
	if (rc != VG_OK) {
		vg_msgb_free(b);
		return rc;
	}
	if (c->owner >= 0 && op != VG_OP_STATUS && op < VG_OP_LOG_EXPORT)
		vg_msgb_uint(b, VG_A_OWNER, (uint64_t)c->owner);
	if (c->session[0])
		vg_msgb_text(b, VG_A_SESSION, c->session);
	rc = vg_wire_encode(op, b, &frame, &frame_len);
	if (rc != VG_OK)
		return rc;
	rc = send_all(c->fd, frame, frame_len);
	vg_free(frame, frame_len);
	if (rc != VG_OK) {
		/* A service that refused the connection (a budget, SFR 4.2.10)
		 * replies and closes, maybe before the request went out: its
		 * reason is still there to read, without blocking. The whole
		 * frame did not go out: the request did not take effect. */
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};
		c->broken = true;
		if (poll(&pf, 1, 0) != 1 || recv_frame(c->fd, &payload, &len) != VG_OK) {
			vg_client_set_error(c, "the service closed the connection (restarted?) "
					       "before the request was sent");
			return rc;
		}
		rc = VG_OK;
	} else {
		errno = 0;
		rc = recv_frame(c->fd, &payload, &len);
		err = errno;
		if (rc != VG_OK) {
			/* The stream is out of step or gone: never reused. */
			c->broken = true;
			if (rc == VG_ERR_UNAVAILABLE && (err == EAGAIN || err == EWOULDBLOCK))
				vg_client_set_error(c,
						    "the service did not answer in %d s; the "
						    "request may or may not have taken effect",
						    CLIENT_TIMEOUT_MS / 1000);
			else if (rc == VG_ERR_UNAVAILABLE)
				vg_client_set_error(c, "the service closed the connection "
						       "(restarted?) before answering; the request "
						       "may or may not have taken effect");
		}
	}
	if (rc == VG_OK)
		rc = vg_wire_decode(payload, len, reply);
	vg_free(payload, len);
	if (rc != VG_OK)
		return rc;
	if (reply->code != VG_OK) {
		/* Any code of the enum (VG_ERR_REPLAY: a display token
		 * presented twice or too late), nothing past it. */
		rc = reply->code > VG_ERR_TIMEOUT ? VG_ERR_PROTOCOL : (vg_rc)reply->code;
		VG_IGNORE(vg_msg_text(reply, VG_A_MSG, c->last_error, sizeof c->last_error));
		vg_msg_free(reply);
		return rc;
	}
	return VG_OK;
}

vg_rc vg_client_call(vg_client *c, vg_op op, vg_msgb *b, vg_msg *reply)
{
	return call(c, op, b, reply);
}

void vg_client_set_error(vg_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
	va_end(ap);
}

/* A request without arguments. */
static vg_rc call_noargs(vg_client *c, vg_op op, vg_msg *reply)
{
	vg_msgb b;
	vg_rc rc = vg_msgb_init(&b);

	if (rc != VG_OK) {
		memset(reply, 0, sizeof *reply);
		return rc;
	}
	return call(c, op, &b, reply);
}

/* A request with one optional bytes argument, VG_A_DATA (p NULL: none). */
static vg_rc call_data(vg_client *c, vg_op op, const uint8_t *p, size_t len, vg_msg *reply)
{
	vg_msgb b;
	vg_rc rc = vg_msgb_init(&b);

	if (rc != VG_OK) {
		memset(reply, 0, sizeof *reply);
		return rc;
	}
	if (p)
		vg_msgb_bytes(&b, VG_A_DATA, p, len);
	return call(c, op, &b, reply);
}

static vg_rc named(vg_msgb *b, const char *name)
{
	vg_rc rc;

	if (!name || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	rc = vg_msgb_init(b);
	if (rc == VG_OK)
		vg_msgb_text(b, VG_A_NAME, name);
	return rc;
}

vg_rc vg_client_call_texts(vg_client *c, vg_op op, const struct vg_text_arg *args, size_t n,
			   vg_msg *reply)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc = vg_msgb_init(&b);

	if (rc != VG_OK) {
		if (reply)
			memset(reply, 0, sizeof *reply);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		if (args[i].text)
			vg_msgb_text(&b, args[i].key, args[i].text);
	rc = call(c, op, &b, reply ? reply : &r);
	if (!reply)
		vg_msg_free(&r);
	return rc;
}

/* Simple call: named request, no result beyond the code. */
static vg_rc call_named(vg_client *c, vg_op op, const char *name)
{
	const struct vg_text_arg a[] = {{VG_A_NAME, name}};

	if (!name || !vg_name_valid(name, strlen(name)))
		return VG_ERR_INVALID;
	return vg_client_call_texts(c, op, a, 1, NULL);
}

/* Copies a bytes result out of the reply. */
static vg_rc take_bytes(vg_msg *r, unsigned key, uint8_t **out, size_t *len)
{
	const uint8_t *p;
	size_t n;
	vg_rc rc = vg_msg_bytes(r, key, &p, &n);

	*out = NULL;
	*len = 0;
	if (rc != VG_OK)
		return VG_ERR_PROTOCOL;
	*out = malloc(n ? n : 1);
	if (!*out)
		return VG_ERR_NOMEM;
	memcpy(*out, p, n);
	*len = n;
	return VG_OK;
}

static char *take_text(vg_msg *r, unsigned key, size_t max)
{
	char *s = malloc(max);

	if (s && vg_msg_text(r, key, s, max) != VG_OK) {
		free(s);
		s = NULL;
	}
	return s;
}

VG_EXPORT vg_rc vg_budget_status(vg_client *c, int64_t uid, vg_budget_info *out)
{
	/* The wire attributes of daemon/budget.h (range 70-89). */
	enum {
		UID = 70,
		CONNS,
		INFLIGHT,
		IDLE,
		RECORDS,
		BYTES,
		KEYS,
		HEAVY,
		U_CONNS,
		U_INFLIGHT,
		U_REFUSED,
		U_RECORDS,
		U_BYTES,
		U_KEYS,
		WRITE_RATE,
		REQUEST_RATE
	};
	vg_msgb b;
	vg_msg r;
	uint64_t v = 0;
	vg_rc rc = vg_msgb_init(&b);

	memset(out, 0, sizeof *out);
	if (rc != VG_OK)
		return rc;
	/* Above UINT32_MAX: the caller's own. */
	vg_msgb_uint(&b, UID, uid >= 0 ? (uint64_t)uid : UINT64_C(1) << 32);
	rc = call(c, VG_OP_STATUS, &b, &r);
	if (rc != VG_OK)
		return rc;
#define GET(attr, field)                                        \
	do {                                                    \
		if (vg_msg_uint(&r, (attr), &v) == VG_OK)       \
			out->field = (__typeof__(out->field))v; \
	} while (0)
	GET(UID, uid);
	GET(CONNS, conns);
	GET(INFLIGHT, inflight_bytes);
	GET(IDLE, idle_ms);
	GET(RECORDS, store_records);
	GET(BYTES, store_bytes);
	GET(KEYS, keys);
	GET(HEAVY, heavy_ops);
	GET(U_CONNS, use_conns);
	GET(U_INFLIGHT, use_inflight_bytes);
	GET(U_REFUSED, use_refused);
	GET(U_RECORDS, use_records);
	GET(U_BYTES, use_bytes);
	GET(U_KEYS, use_keys);
	GET(WRITE_RATE, store_write_rate);
	GET(REQUEST_RATE, request_rate);
#undef GET
	vg_msg_free(&r);
	return VG_OK;
}

VG_EXPORT vg_rc vg_status_get(vg_client *c, vg_status *out)
{
	vg_msg r;
	uint64_t v = 0;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	rc = call_noargs(c, VG_OP_STATUS, &r);
	if (rc != VG_OK)
		return rc;
	out->version = take_text(&r, VG_A_VERSION, 64);
	out->rot_backend = take_text(&r, VG_A_ROT, 64);
	out->store_state = take_text(&r, VG_A_STORE, 64);
	out->role = take_text(&r, VG_A_ROLE, 64);
	if (vg_msg_uint(&r, VG_A_ROT_DEV, &v) == VG_OK)
		out->rot_is_dev = v != 0;
	VG_IGNORE(vg_msg_uint(&r, VG_A_COUNTER, &out->rot_counter));
	VG_IGNORE(vg_msg_uint(&r, VG_A_AUDIT_SEQ, &out->audit_seq));
	if (vg_msg_uint(&r, VG_A_UID, &v) == VG_OK)
		out->uid = (uint32_t)v;
	if (vg_msg_uint(&r, VG_A_AUDIT_BYTES, &v) == VG_OK)
		out->audit_bytes = v;
	if (vg_msg_uint(&r, VG_A_AUDIT_CAP, &v) == VG_OK)
		out->audit_capacity = v;
	if (vg_msg_uint(&r, VG_A_AUDIT_DROP, &v) == VG_OK)
		out->audit_dropped = v;
	if (vg_msg_uint(&r, VG_A_AUDIT_SUPPR, &v) == VG_OK)
		out->audit_suppressed = v;
	if (vg_msg_uint(&r, VG_A_ADMIN_SET, &v) == VG_OK)
		out->admin_configured = v == 2 ? -1 : v != 0;
	if (vg_msg_uint(&r, VG_A_DEBUG, &v) == VG_OK)
		out->debug_unlocked = v != 0;
	if (vg_msg_uint(&r, VG_A_LIFECYCLE, &v) == VG_OK && v <= UINT32_MAX)
		out->lifecycle = (uint32_t)v;
	out->lifecycle_why = take_text(&r, VG_A_LIFECYCLE_WHY, 128);
	out->platform_state = take_text(&r, VG_A_PLATFORM, 16);
	out->platform_why = take_text(&r, VG_A_PLATFORM_WHY, 320);
	out->platform_version = take_text(&r, VG_A_PLATFORM_VERSION, 64);
	VG_IGNORE(vg_msg_uint(&r, VG_A_SECVER, &out->security_version));
	out->rot_state = take_text(&r, VG_A_ROT_STATE, 32);
	VG_IGNORE(vg_msg_uint(&r, VG_A_ROT_SINCE, &out->rot_down_since));
	vg_msg_free(&r);
	if (!out->version || !out->rot_backend || !out->store_state || !out->role) {
		vg_status_free(out);
		return VG_ERR_PROTOCOL;
	}
	return VG_OK;
}

VG_EXPORT void vg_status_free(vg_status *st)
{
	if (!st)
		return;
	free(st->version);
	free(st->rot_backend);
	free(st->store_state);
	free(st->role);
	free(st->platform_state);
	free(st->platform_why);
	free(st->platform_version);
	free(st->lifecycle_why);
	free(st->rot_state);
	memset(st, 0, sizeof *st);
}

VG_EXPORT vg_rc vg_key_create(vg_client *c, const char *name, vg_key_type type, uint32_t usage)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(&b, name);

	if (rc != VG_OK)
		return rc;
	vg_msgb_uint(&b, VG_A_TYPE, type);
	if (usage)
		vg_msgb_uint(&b, VG_A_USAGE, usage);
	rc = call(c, VG_OP_KEY_CREATE, &b, &r);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_key_delete(vg_client *c, const char *name)
{
	return call_named(c, VG_OP_KEY_DELETE, name);
}

static vg_rc info_from_map(const cbor_item_t *map, vg_key_info *out)
{
	cbor_item_t *it;
	size_t n;

	memset(out, 0, sizeof *out);
	if (vg_map_get(map, VG_A_NAME, &it) != VG_OK || !cbor_isa_string(it) ||
	    !cbor_string_is_definite(it) || (n = cbor_string_length(it)) > VG_MAX_NAME_LEN)
		return VG_ERR_PROTOCOL;
	memcpy(out->name, cbor_string_handle(it), n);
	out->name[n] = '\0';
	if (vg_map_get(map, VG_A_TYPE, &it) != VG_OK || !cbor_isa_uint(it))
		return VG_ERR_INTEGRITY; /* the service could not read this key */
	out->type = (vg_key_type)cbor_get_int(it);
	if (vg_map_get(map, VG_A_USAGE, &it) == VG_OK && cbor_isa_uint(it))
		out->usage = (uint32_t)cbor_get_int(it);
	if (vg_map_get(map, VG_A_OWNER, &it) == VG_OK && cbor_isa_uint(it))
		out->owner_uid = (uint32_t)cbor_get_int(it);
	if (vg_map_get(map, VG_A_CREATED, &it) == VG_OK && cbor_isa_uint(it))
		out->created = cbor_get_int(it);
	return VG_OK;
}

/* The same from a whole reply (KEY_INFO), read through the getters. */
static vg_rc info_from_msg(const vg_msg *r, vg_key_info *out)
{
	uint64_t v;

	memset(out, 0, sizeof *out);
	if (vg_msg_text(r, VG_A_NAME, out->name, sizeof out->name) != VG_OK)
		return VG_ERR_PROTOCOL;
	if (vg_msg_uint(r, VG_A_TYPE, &v) != VG_OK)
		return VG_ERR_INTEGRITY; /* the service could not read this key */
	out->type = (vg_key_type)v;
	if (vg_msg_uint(r, VG_A_USAGE, &v) == VG_OK)
		out->usage = (uint32_t)v;
	if (vg_msg_uint(r, VG_A_OWNER, &v) == VG_OK)
		out->owner_uid = (uint32_t)v;
	if (vg_msg_uint(r, VG_A_CREATED, &v) == VG_OK)
		out->created = v;
	return VG_OK;
}

VG_EXPORT vg_rc vg_key_info_get(vg_client *c, const char *name, vg_key_info *out)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(&b, name);

	memset(out, 0, sizeof *out);
	if (rc != VG_OK)
		return rc;
	rc = call(c, VG_OP_KEY_INFO, &b, &r);
	if (rc == VG_OK)
		rc = info_from_msg(&r, out);
	vg_msg_free(&r);
	return rc;
}

/* A request without arguments whose reply carries a LIST array: its items
 * (*items, count of them, owned by *r) and a zeroed array for as many
 * results of elem bytes each (at least one) in *arr. On VG_OK the caller
 * frees *r and *arr; on failure there is nothing to free. */
static vg_rc call_for_list(vg_client *c, vg_op op, size_t elem, vg_msg *r, cbor_item_t ***items,
			   size_t *count, void **arr)
{
	cbor_item_t *list;
	vg_rc rc = call_noargs(c, op, r);

	if (rc != VG_OK)
		return rc;
	if (vg_msg_item(r, VG_A_LIST, &list) != VG_OK || !cbor_isa_array(list)) {
		vg_msg_free(r);
		return VG_ERR_PROTOCOL;
	}
	*count = cbor_array_size(list);
	*items = cbor_array_handle(list);
	*arr = calloc(*count ? *count : 1, elem);
	if (!*arr) {
		vg_msg_free(r);
		return VG_ERR_NOMEM;
	}
	return VG_OK;
}

VG_EXPORT vg_rc vg_key_list(vg_client *c, vg_key_info **out, size_t *n)
{
	vg_msg r;
	cbor_item_t **items;
	size_t count;
	vg_rc rc;

	*out = NULL;
	*n = 0;
	rc = call_for_list(c, VG_OP_KEY_LIST, sizeof **out, &r, &items, &count, (void **)out);
	if (rc != VG_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		vg_rc e = info_from_map(items[i], &(*out)[i]);
		if (e == VG_ERR_PROTOCOL) {
			free(*out);
			*out = NULL;
			vg_msg_free(&r);
			return e;
		}
		/* An unreadable key is listed with type 0. */
	}
	*n = count;
	vg_msg_free(&r);
	return VG_OK;
}

VG_EXPORT vg_rc vg_key_public_pem(vg_client *c, const char *name, char **pem, size_t *len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(&b, name);

	*pem = NULL;
	*len = 0;
	if (rc != VG_OK)
		return rc;
	rc = call(c, VG_OP_KEY_PUBLIC, &b, &r);
	if (rc == VG_OK) {
		*pem = take_text(&r, VG_A_PEM, 4096);
		if (!*pem)
			rc = VG_ERR_PROTOCOL;
		else
			*len = strlen(*pem);
	}
	vg_msg_free(&r);
	return rc;
}

/* A named request with one bytes argument and one bytes result. */
static vg_rc data_call(vg_client *c, vg_op op, const char *name, unsigned in_key, const uint8_t *in,
		       size_t in_len, unsigned out_key, uint8_t **out, size_t *out_len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	if (out) {
		*out = NULL;
		*out_len = 0;
	}
	if (in_len > VG_MAX_DATA_LEN || (!in && in_len))
		return in_len > VG_MAX_DATA_LEN ? VG_ERR_TOO_LARGE : VG_ERR_INVALID;
	rc = named(&b, name);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, in_key, in, in_len);
	rc = call(c, op, &b, &r);
	if (rc == VG_OK && out)
		rc = take_bytes(&r, out_key, out, out_len);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_key_sign(vg_client *c, const char *name, const uint8_t *msg, size_t msg_len,
			    uint8_t **sig, size_t *sig_len)
{
	return data_call(c, VG_OP_KEY_SIGN, name, VG_A_DATA, msg, msg_len, VG_A_SIG, sig, sig_len);
}

VG_EXPORT vg_rc vg_key_sign_digest(vg_client *c, const char *name, const char *alg,
				   const uint8_t *dgst, size_t len, uint8_t **sig, size_t *sig_len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	*sig = NULL;
	*sig_len = 0;
	if (!alg || !dgst || len == 0 || len > 64)
		return VG_ERR_INVALID;
	rc = named(&b, name);
	if (rc != VG_OK)
		return rc;
	vg_msgb_text(&b, VG_A_DIGEST_ALG, alg);
	vg_msgb_bytes(&b, VG_A_DATA, dgst, len);
	rc = call(c, VG_OP_KEY_SIGN_DIGEST, &b, &r);
	if (rc == VG_OK)
		rc = take_bytes(&r, VG_A_SIG, sig, sig_len);
	vg_msg_free(&r);
	return rc;
}

/* KEY_DECAP / KEY_AUTH_ENCAP: the KEM shared secret (and enc) back. */
static vg_rc kem_call(vg_client *c, vg_op op, const char *name, uint16_t kem, const uint8_t *in,
		      size_t in_len, const uint8_t *peer, size_t peer_len, uint8_t *enc,
		      size_t *enc_len, uint8_t secret[static VG_KEM_SECRET_LEN])
{
	vg_msgb b;
	vg_msg r;
	const uint8_t *p = NULL, *sp = NULL;
	size_t n = 0, sn = 0;
	vg_rc rc;

	vg_wipe(secret, VG_KEM_SECRET_LEN);
	if (!in || in_len == 0 || in_len > 65 || (peer && (peer_len == 0 || peer_len > 65)))
		return VG_ERR_INVALID;
	rc = named(&b, name);
	if (rc != VG_OK)
		return rc;
	vg_msgb_uint(&b, VG_A_KEM, kem);
	vg_msgb_bytes(&b, op == VG_OP_KEY_DECAP ? VG_A_ENC : VG_A_PEER_PUB, in, in_len);
	if (peer)
		vg_msgb_bytes(&b, VG_A_PEER_PUB, peer, peer_len);
	rc = call(c, op, &b, &r);
	if (rc == VG_OK) {
		rc = vg_msg_bytes(&r, VG_A_SECRET, &sp, &sn);
		if (rc != VG_OK || sn != VG_KEM_SECRET_LEN)
			rc = VG_ERR_PROTOCOL;
		else
			memcpy(secret, sp, sn);
	}
	if (rc == VG_OK && enc) {
		rc = vg_msg_bytes(&r, VG_A_ENC, &p, &n);
		if (rc != VG_OK || n == 0 || n > 65)
			rc = VG_ERR_PROTOCOL;
		else {
			memcpy(enc, p, n);
			*enc_len = n;
		}
	}
	if (rc != VG_OK)
		vg_wipe(secret, VG_KEM_SECRET_LEN);
	/* The reply held the secret: wipe it in the decoded message. */
	if (sp && sn)
		vg_wipe((void *)sp, sn);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_key_decap(vg_client *c, const char *name, uint16_t kem, const uint8_t *enc,
			     size_t enc_len, const uint8_t *pkS, size_t pkS_len,
			     uint8_t shared_secret[static VG_KEM_SECRET_LEN])
{
	return kem_call(c, VG_OP_KEY_DECAP, name, kem, enc, enc_len, pkS, pkS_len, NULL, NULL,
			shared_secret);
}

VG_EXPORT vg_rc vg_key_auth_encap(vg_client *c, const char *name, uint16_t kem,
				  const uint8_t *pkR, size_t pkR_len, uint8_t enc[static 65],
				  size_t *enc_len, uint8_t shared_secret[static VG_KEM_SECRET_LEN])
{
	*enc_len = 0;
	return kem_call(c, VG_OP_KEY_AUTH_ENCAP, name, kem, pkR, pkR_len, NULL, 0, enc, enc_len,
			shared_secret);
}

VG_EXPORT vg_rc vg_key_verify(vg_client *c, const char *name, const uint8_t *msg, size_t msg_len,
			      const uint8_t *sig, size_t sig_len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	if (msg_len > VG_MAX_DATA_LEN)
		return VG_ERR_TOO_LARGE;
	rc = named(&b, name);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_DATA, msg, msg_len);
	vg_msgb_bytes(&b, VG_A_SIG, sig, sig_len);
	rc = call(c, VG_OP_KEY_VERIFY, &b, &r);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_key_encrypt(vg_client *c, const char *name, const uint8_t *pt, size_t pt_len,
			       uint8_t **ct, size_t *ct_len)
{
	return data_call(c, VG_OP_KEY_ENCRYPT, name, VG_A_DATA, pt, pt_len, VG_A_DATA, ct, ct_len);
}

VG_EXPORT vg_rc vg_key_decrypt(vg_client *c, const char *name, const uint8_t *ct, size_t ct_len,
			       uint8_t **pt, size_t *pt_len)
{
	return data_call(c, VG_OP_KEY_DECRYPT, name, VG_A_DATA, ct, ct_len, VG_A_DATA, pt, pt_len);
}

VG_EXPORT vg_rc vg_key_mac(vg_client *c, const char *name, const uint8_t *msg, size_t msg_len,
			   uint8_t mac[static 32])
{
	uint8_t *out = NULL;
	size_t len = 0;
	vg_rc rc =
	    data_call(c, VG_OP_KEY_MAC, name, VG_A_DATA, msg, msg_len, VG_A_DATA, &out, &len);

	if (rc == VG_OK && len != 32)
		rc = VG_ERR_PROTOCOL;
	if (rc == VG_OK)
		memcpy(mac, out, 32);
	vg_free(out, len);
	return rc;
}

VG_EXPORT vg_rc vg_store_put(vg_client *c, const char *name, const uint8_t *value, size_t len)
{
	if (len > VG_MAX_VALUE_LEN)
		return VG_ERR_TOO_LARGE;
	return data_call(c, VG_OP_STORE_PUT, name, VG_A_VALUE, value, len, 0, NULL, NULL);
}

VG_EXPORT vg_rc vg_store_get(vg_client *c, const char *name, uint8_t **value, size_t *len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(&b, name);

	*value = NULL;
	*len = 0;
	if (rc != VG_OK)
		return rc;
	rc = call(c, VG_OP_STORE_GET, &b, &r);
	if (rc == VG_OK)
		rc = take_bytes(&r, VG_A_VALUE, value, len);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_store_delete(vg_client *c, const char *name)
{
	return call_named(c, VG_OP_STORE_DELETE, name);
}

VG_EXPORT vg_rc vg_store_list(vg_client *c, char ***names, size_t *n)
{
	vg_msg r;
	cbor_item_t **items;
	size_t count;
	vg_rc rc;

	*names = NULL;
	*n = 0;
	rc = call_for_list(c, VG_OP_STORE_LIST, sizeof **names, &r, &items, &count, (void **)names);
	if (rc != VG_OK)
		return rc;
	for (size_t i = 0; i < count; i++) {
		cbor_item_t *it = items[i];
		size_t len;
		if (!cbor_isa_string(it) || !cbor_string_is_definite(it) ||
		    (len = cbor_string_length(it)) > VG_MAX_NAME_LEN ||
		    !((*names)[i] = malloc(len + 1))) {
			vg_strv_free(*names, i);
			*names = NULL;
			vg_msg_free(&r);
			return VG_ERR_PROTOCOL;
		}
		memcpy((*names)[i], cbor_string_handle(it), len);
		(*names)[i][len] = '\0';
	}
	*n = count;
	vg_msg_free(&r);
	return VG_OK;
}

/* An operation without arguments whose reply is DATA bytes. */
static vg_rc call_for_data(vg_client *c, vg_op op, uint8_t **out, size_t *len)
{
	vg_msg r;
	vg_rc rc;

	*out = NULL;
	*len = 0;
	rc = call_noargs(c, op, &r);
	if (rc == VG_OK)
		rc = take_bytes(&r, VG_A_DATA, out, len);
	vg_msg_free(&r);
	return rc;
}

/* The export arrives in pages (VG_A_MORE, VG_A_NEXT) that concatenate into
 * the whole export; a service without paging answers the first request
 * with the whole export and no VG_A_MORE. */
VG_EXPORT vg_rc vg_log_export(vg_client *c, uint8_t **out, size_t *len)
{
	uint8_t *buf = NULL;
	size_t blen = 0;
	uint64_t next = 0, more = 1;
	bool first = true;
	vg_rc rc = VG_OK;

	*out = NULL;
	*len = 0;
	while (rc == VG_OK && more) {
		const uint8_t *p;
		size_t n;
		uint8_t *nb;
		vg_msgb b;
		vg_msg r;

		rc = vg_msgb_init(&b);
		if (rc != VG_OK)
			break;
		if (!first)
			vg_msgb_uint(&b, VG_A_FROM, next);
		rc = call(c, VG_OP_LOG_EXPORT, &b, &r);
		if (rc != VG_OK)
			break;
		rc = vg_msg_bytes(&r, VG_A_DATA, &p, &n) == VG_OK ? VG_OK : VG_ERR_PROTOCOL;
		if (rc == VG_OK) {
			if (vg_msg_uint(&r, VG_A_MORE, &more) != VG_OK)
				more = 0; /* a service without paging: the whole export */
			else if (more > 1 || (more && (vg_msg_uint(&r, VG_A_NEXT, &next) != VG_OK ||
						       next == 0)))
				rc = VG_ERR_PROTOCOL;
		}
		if (rc == VG_OK && (n > VG_AUDIT_EXPORT_LIMIT - blen))
			rc = VG_ERR_TOO_LARGE;
		if (rc == VG_OK && n) {
			nb = realloc(buf, blen + n);
			if (!nb) {
				rc = VG_ERR_NOMEM;
			} else {
				buf = nb;
				memcpy(buf + blen, p, n);
				blen += n;
			}
		}
		vg_msg_free(&r);
		first = false;
	}
	if (rc == VG_OK && blen == 0)
		rc = VG_ERR_PROTOCOL;
	if (rc != VG_OK) {
		vg_free(buf, blen);
		return rc;
	}
	*out = buf;
	*len = blen;
	return VG_OK;
}

VG_EXPORT vg_rc vg_log_take_seed(vg_client *c, uint8_t seed[static 32])
{
	uint8_t *out = NULL;
	size_t len = 0;
	vg_msg r;
	vg_rc rc = call_noargs(c, VG_OP_LOG_SEED, &r);

	if (rc == VG_OK)
		rc = take_bytes(&r, VG_A_DATA, &out, &len);
	if (rc == VG_OK && len != 32)
		rc = VG_ERR_PROTOCOL;
	if (rc == VG_OK)
		memcpy(seed, out, 32);
	vg_free(out, len);
	vg_msg_free(&r);
	return rc;
}

/* ---- identity and attestation ---- */

VG_EXPORT vg_rc vg_device_provision(vg_client *c, const vg_provision_req *req,
				    char code[static VG_SETUP_CODE_SIZE])
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	code[0] = '\0';
	if (!req || !req->oem || !req->model || !req->hw_rev)
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_text(&b, VG_A_OEM, req->oem);
	vg_msgb_text(&b, VG_A_MODEL, req->model);
	vg_msgb_text(&b, VG_A_HW_REV, req->hw_rev);
	if (req->verification_service)
		vg_msgb_text(&b, VG_A_VSI, req->verification_service);
	if (req->debug_key && req->debug_key_len)
		vg_msgb_bytes(&b, VG_A_DATA, req->debug_key, req->debug_key_len);
	if (req->release_key && req->release_key_len)
		vg_msgb_bytes(&b, VG_A_RELEASE_KEY, req->release_key, req->release_key_len);
	rc = call(c, VG_OP_PROVISION, &b, &r);
	if (rc != VG_OK)
		return rc;
	if (vg_msg_text(&r, VG_A_CODE, code, VG_SETUP_CODE_SIZE) != VG_OK) {
		code[0] = '\0';
		rc = VG_ERR_PROTOCOL;
	}
	vg_msg_free(&r);
	return rc;
}

static vg_rc copy_bytes(const vg_msg *r, unsigned key, uint8_t *out, size_t cap, size_t *n,
			bool exact)
{
	const uint8_t *p;
	size_t len;

	if (vg_msg_bytes(r, key, &p, &len) != VG_OK || len > cap || (exact && len != cap))
		return VG_ERR_PROTOCOL;
	memcpy(out, p, len);
	if (n)
		*n = len;
	return VG_OK;
}

static vg_rc component_from_map(const cbor_item_t *m, vg_component *c)
{
	cbor_item_t *it = NULL;
	const struct {
		unsigned key;
		char *out;
		size_t cap;
	} texts[] = {{VG_A_NAME, c->name, sizeof c->name},
		     {VG_A_VERSION, c->version, sizeof c->version}};
	const struct {
		unsigned key;
		uint8_t *out;
		size_t *len;
	} bins[] = {{VG_A_DATA, c->measurement, &c->measurement_len},
		    {VG_A_SIG, c->signer_id, &c->signer_id_len}};

	for (size_t i = 0; i < 2; i++) {
		size_t n;
		if (vg_map_get(m, texts[i].key, &it) != VG_OK || !cbor_isa_string(it) ||
		    (n = cbor_string_length(it)) >= texts[i].cap)
			return VG_ERR_PROTOCOL;
		memcpy(texts[i].out, cbor_string_handle(it), n);
		texts[i].out[n] = '\0';
		if (memchr(texts[i].out, 0, n))
			return VG_ERR_PROTOCOL;
	}
	for (size_t i = 0; i < 2; i++) {
		size_t n;
		if (vg_map_get(m, bins[i].key, &it) != VG_OK || !cbor_isa_bytestring(it) ||
		    (n = cbor_bytestring_length(it)) > 64)
			return VG_ERR_PROTOCOL;
		memcpy(bins[i].out, cbor_bytestring_handle(it), n);
		*bins[i].len = n;
	}
	return VG_OK;
}

VG_EXPORT vg_rc vg_device_identity_get(vg_client *c, vg_device_identity *out)
{
	vg_msg r;
	cbor_item_t *arr = NULL;
	uint64_t v = 0, lc = 0;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	rc = call_noargs(c, VG_OP_IDENTITY, &r);
	if (rc != VG_OK)
		return rc;
	if (vg_msg_uint(&r, VG_A_PROVISIONED, &v) != VG_OK ||
	    copy_bytes(&r, VG_A_IMPL, out->implementation_id, sizeof out->implementation_id, NULL,
		       true) != VG_OK ||
	    vg_msg_uint(&r, VG_A_LIFECYCLE, &lc) != VG_OK || lc > UINT32_MAX ||
	    copy_bytes(&r, VG_A_BOOT_SEED, out->boot_seed, sizeof out->boot_seed, NULL, true) !=
		VG_OK ||
	    vg_msg_text(&r, VG_A_ROT, out->rot_backend, sizeof out->rot_backend) != VG_OK)
		rc = VG_ERR_PROTOCOL;
	out->lifecycle = (uint32_t)lc;
	/* 2: the service cannot tell (a refused store), and says why. */
	out->provisioned = v == 2 ? -1 : v != 0;
	if (rc == VG_OK && out->provisioned < 0 &&
	    vg_msg_text(&r, VG_A_LIFECYCLE_WHY, out->lifecycle_why, sizeof out->lifecycle_why) !=
		VG_OK)
		rc = VG_ERR_PROTOCOL;
	if (rc == VG_OK && out->provisioned > 0 &&
	    (copy_bytes(&r, VG_A_INSTANCE, out->instance_id, sizeof out->instance_id, NULL, true) !=
		 VG_OK ||
	     vg_msg_text(&r, VG_A_OEM, out->oem, sizeof out->oem) != VG_OK ||
	     vg_msg_text(&r, VG_A_MODEL, out->model, sizeof out->model) != VG_OK ||
	     vg_msg_text(&r, VG_A_HW_REV, out->hw_rev, sizeof out->hw_rev) != VG_OK ||
	     vg_msg_text(&r, VG_A_VSI, out->verification_service,
			 sizeof out->verification_service) != VG_OK ||
	     vg_msg_uint(&r, VG_A_CREATED, &out->provisioned_at) != VG_OK ||
	     vg_msg_text(&r, VG_A_PEM, out->attestation_key_pem, sizeof out->attestation_key_pem) !=
		 VG_OK))
		rc = VG_ERR_PROTOCOL;
	if (rc == VG_OK && (vg_msg_item(&r, VG_A_COMPONENTS, &arr) != VG_OK ||
			    !cbor_isa_array(arr) || cbor_array_size(arr) > VG_MAX_COMPONENTS))
		rc = VG_ERR_PROTOCOL;
	for (size_t i = 0; rc == VG_OK && i < cbor_array_size(arr); i++) {
		cbor_item_t *m = cbor_array_handle(arr)[i];
		if (!cbor_isa_map(m) || component_from_map(m, &out->components[i]) != VG_OK)
			rc = VG_ERR_PROTOCOL;
		else
			out->n_components = i + 1;
	}
	vg_msg_free(&r);
	if (rc != VG_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

/* A text of a nested map into a fixed buffer (NUL-free). */
static vg_rc map_text(const cbor_item_t *m, unsigned key, char *out, size_t cap)
{
	cbor_item_t *it = NULL;
	size_t n;

	if (vg_map_get(m, key, &it) != VG_OK || !cbor_isa_string(it) ||
	    (n = cbor_string_length(it)) >= cap)
		return VG_ERR_PROTOCOL;
	memcpy(out, cbor_string_handle(it), n);
	out[n] = '\0';
	return memchr(out, 0, n) ? VG_ERR_PROTOCOL : VG_OK;
}

VG_EXPORT vg_rc vg_platform_verify(vg_client *c, vg_platform_report *out)
{
	cbor_item_t *arr = NULL;
	vg_msg r;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	rc = call_noargs(c, VG_OP_PLATFORM_VERIFY, &r);
	if (rc != VG_OK)
		return rc;
	if (vg_msg_text(&r, VG_A_PLATFORM, out->state, sizeof out->state) != VG_OK ||
	    vg_msg_text(&r, VG_A_PLATFORM_WHY, out->reason, sizeof out->reason) != VG_OK ||
	    vg_msg_text(&r, VG_A_PLATFORM_VERSION, out->version, sizeof out->version) != VG_OK ||
	    vg_msg_uint(&r, VG_A_SECVER, &out->security_version) != VG_OK ||
	    vg_msg_item(&r, VG_A_RESULTS, &arr) != VG_OK || !cbor_isa_array(arr) ||
	    cbor_array_size(arr) > VG_MAX_PLATFORM_COMPONENTS)
		rc = VG_ERR_PROTOCOL;
	for (size_t i = 0; rc == VG_OK && i < cbor_array_size(arr); i++) {
		cbor_item_t *m = cbor_array_handle(arr)[i], *it = NULL;
		if (!cbor_isa_map(m) ||
		    map_text(m, VG_A_NAME, out->components[i].name,
			     sizeof out->components[i].name) != VG_OK ||
		    map_text(m, VG_A_PATH, out->components[i].path,
			     sizeof out->components[i].path) != VG_OK ||
		    map_text(m, VG_A_MSG, out->components[i].why, sizeof out->components[i].why) !=
			VG_OK ||
		    vg_map_get(m, VG_A_RC, &it) != VG_OK || !cbor_isa_uint(it) ||
		    cbor_get_int(it) > VG_ERR_UNTRUSTED)
			rc = VG_ERR_PROTOCOL;
		else {
			out->components[i].rc = (vg_rc)cbor_get_int(it);
			out->n = i + 1;
		}
	}
	vg_msg_free(&r);
	if (rc != VG_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

VG_EXPORT vg_rc vg_attest(vg_client *c, const uint8_t *nonce, size_t nonce_len, uint8_t **token,
			  size_t *len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	*token = NULL;
	*len = 0;
	if (!nonce || (nonce_len != 32 && nonce_len != 48 && nonce_len != 64))
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_NONCE, nonce, nonce_len);
	rc = call(c, VG_OP_ATTEST, &b, &r);
	if (rc == VG_OK)
		rc = take_bytes(&r, VG_A_DATA, token, len);
	vg_msg_free(&r);
	return rc;
}

static vg_rc pem_result(vg_client *c, vg_op op, vg_msgb *b, char **pem, size_t *len)
{
	vg_msg r;
	vg_rc rc = call(c, op, b, &r);

	if (rc != VG_OK)
		return rc;
	*pem = take_text(&r, VG_A_PEM, 16384 + 1);
	vg_msg_free(&r);
	if (!*pem)
		return VG_ERR_PROTOCOL;
	*len = strlen(*pem);
	return VG_OK;
}

VG_EXPORT vg_rc vg_device_csr(vg_client *c, const char *cn, char **pem, size_t *len)
{
	vg_msgb b;
	vg_rc rc;

	*pem = NULL;
	*len = 0;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	if (cn)
		vg_msgb_text(&b, VG_A_SUBJECT, cn);
	return pem_result(c, VG_OP_IDENTITY_CSR, &b, pem, len);
}

VG_EXPORT vg_rc vg_device_set_cert(vg_client *c, const char *pem, size_t len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	if (!pem || len == 0)
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_DATA, (const uint8_t *)pem, len);
	rc = call(c, VG_OP_IDENTITY_SET_CERT, &b, &r);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_device_cert(vg_client *c, char **pem, size_t *len)
{
	vg_msgb b;
	vg_rc rc;

	*pem = NULL;
	*len = 0;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	return pem_result(c, VG_OP_IDENTITY_CERT, &b, pem, len);
}

/* ---- admin authentication (SFR 4.2.13) ---- */

static vg_rc session_reply(vg_client *c, vg_op op, vg_msgb *b, char token[VG_SESSION_TOKEN_SIZE])
{
	vg_msg r;
	vg_rc rc = call(c, op, b, &r);

	if (token)
		token[0] = '\0';
	if (rc != VG_OK)
		return rc;
	if (token && vg_msg_text(&r, VG_A_TOKEN, token, VG_SESSION_TOKEN_SIZE) != VG_OK) {
		token[0] = '\0';
		rc = VG_ERR_PROTOCOL;
	}
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_admin_setup(vg_client *c, const char *code, const uint8_t *pw, size_t pw_len,
			       char token[static VG_SESSION_TOKEN_SIZE])
{
	vg_msgb b;
	vg_rc rc;

	token[0] = '\0';
	if (!code || !pw)
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_text(&b, VG_A_CODE, code);
	vg_msgb_bytes(&b, VG_A_PASSWORD, pw, pw_len);
	return session_reply(c, VG_OP_ADMIN_SETUP, &b, token);
}

VG_EXPORT vg_rc vg_admin_login(vg_client *c, const uint8_t *pw, size_t pw_len,
			       char token[static VG_SESSION_TOKEN_SIZE])
{
	vg_msgb b;
	vg_rc rc;

	token[0] = '\0';
	if (!pw)
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_PASSWORD, pw, pw_len);
	return session_reply(c, VG_OP_ADMIN_LOGIN, &b, token);
}

VG_EXPORT vg_rc vg_admin_logout(vg_client *c)
{
	vg_msgb b;
	vg_rc rc = vg_msgb_init(&b);

	if (rc != VG_OK)
		return rc;
	rc = session_reply(c, VG_OP_ADMIN_LOGOUT, &b, NULL);
	vg_client_set_session(c, NULL);
	return rc;
}

VG_EXPORT vg_rc vg_admin_passwd(vg_client *c, const uint8_t *old_pw, size_t old_len,
				const uint8_t *new_pw, size_t new_len,
				char token[static VG_SESSION_TOKEN_SIZE])
{
	vg_msgb b;
	vg_rc rc;

	token[0] = '\0';
	if (!old_pw || !new_pw)
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_PASSWORD, old_pw, old_len);
	vg_msgb_bytes(&b, VG_A_NEW_PASSWORD, new_pw, new_len);
	return session_reply(c, VG_OP_ADMIN_PASSWD, &b, token);
}

VG_EXPORT vg_rc vg_admin_key_add(vg_client *c, const char *name, const uint8_t *pub, size_t pub_len)
{
	vg_msgb b;
	vg_rc rc = named(&b, name);

	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_DATA, pub, pub_len);
	return session_reply(c, VG_OP_ADMIN_KEY_ADD, &b, NULL);
}

VG_EXPORT vg_rc vg_admin_key_delete(vg_client *c, const char *name)
{
	return call_named(c, VG_OP_ADMIN_KEY_DELETE, name);
}

VG_EXPORT vg_rc vg_admin_challenge(vg_client *c, uint8_t nonce[static 32])
{
	vg_msg r;
	vg_rc rc = call_noargs(c, VG_OP_ADMIN_CHALLENGE, &r);

	if (rc != VG_OK)
		return rc;
	rc = copy_bytes(&r, VG_A_NONCE, nonce, 32, NULL, true);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_admin_answer(vg_client *c, const char *name, const uint8_t nonce[static 32],
				const uint8_t *sig, size_t sig_len,
				char token[static VG_SESSION_TOKEN_SIZE])
{
	vg_msgb b;
	vg_rc rc;

	token[0] = '\0';
	if (!sig)
		return VG_ERR_INVALID;
	rc = named(&b, name);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_NONCE, nonce, 32);
	vg_msgb_bytes(&b, VG_A_SIG, sig, sig_len);
	return session_reply(c, VG_OP_ADMIN_ANSWER, &b, token);
}

VG_EXPORT void vg_admin_challenge_message(const uint8_t nonce[static 32], uint32_t uid,
					  uint8_t msg[static VG_ADMIN_CHALLENGE_MSG_LEN])
{
	static const char label[] = "voxguard-admin-auth-v1";

	memcpy(msg, label, sizeof label); /* with its NUL */
	memcpy(msg + sizeof label, nonce, 32);
	for (int i = 0; i < 4; i++)
		msg[sizeof label + 32 + i] = (uint8_t)(uid >> (24 - 8 * i));
}

/* ---- factory reset and secure debugging (SFR 4.2.12, 4.3.1) ---- */

static vg_rc simple(vg_client *c, vg_op op)
{
	vg_msgb b;
	vg_rc rc = vg_msgb_init(&b);

	if (rc != VG_OK)
		return rc;
	return session_reply(c, op, &b, NULL);
}

VG_EXPORT vg_rc vg_device_factory_reset(vg_client *c)
{
	return simple(c, VG_OP_FACTORY_RESET);
}

VG_EXPORT vg_rc vg_device_debug_challenge(vg_client *c, uint8_t **msg, size_t *len)
{
	return call_for_data(c, VG_OP_DEBUG_CHALLENGE, msg, len);
}

VG_EXPORT vg_rc vg_device_debug_unlock(vg_client *c, const uint8_t *sig, size_t sig_len)
{
	vg_msgb b;
	vg_rc rc;

	if (!sig)
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_SIG, sig, sig_len);
	return session_reply(c, VG_OP_DEBUG_UNLOCK, &b, NULL);
}

VG_EXPORT vg_rc vg_device_debug_lock(vg_client *c)
{
	return simple(c, VG_OP_DEBUG_LOCK);
}

/* ---- A/B updates (SFR 4.2.6) ---- */

static char slot_of(vg_msg *r, unsigned key)
{
	char s[2] = "";

	return vg_msg_text(r, key, s, sizeof s) == VG_OK ? s[0] : 0;
}

static void boot_of(vg_msg *r, char *bl, size_t bl_cap, char *param, size_t param_cap,
		    unsigned *tries)
{
	uint64_t t = 0;

	VG_IGNORE(vg_msg_text(r, VG_A_BOOTLOADER, bl, bl_cap));
	VG_IGNORE(vg_msg_text(r, VG_A_BOOT_PARAM, param, param_cap));
	*tries = vg_msg_uint(r, VG_A_TRIES, &t) == VG_OK && t <= 9 ? (unsigned)t : 0;
}

VG_EXPORT vg_rc vg_update_begin(vg_client *c, const uint8_t *manifest, size_t len,
				vg_update_plan *out)
{
	cbor_item_t *arr = NULL;
	const uint8_t *cek = NULL;
	size_t cek_len = 0;
	uint64_t resume = 0;
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	if (!manifest || len == 0)
		return VG_ERR_INVALID;
	if (len > VG_MAX_VALUE_LEN)
		return VG_ERR_TOO_LARGE;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_bytes(&b, VG_A_MANIFEST, manifest, len);
	rc = call(c, VG_OP_UPDATE_BEGIN, &b, &r);
	if (rc != VG_OK)
		return rc;
	out->slot = slot_of(&r, VG_A_SLOT);
	out->booted = slot_of(&r, VG_A_BOOTED);
	if ((out->slot != 'a' && out->slot != 'b') ||
	    vg_msg_text(&r, VG_A_BUNDLE, out->bundle, sizeof out->bundle) != VG_OK ||
	    vg_msg_uint(&r, VG_A_RESUME, &resume) != VG_OK ||
	    vg_msg_uint(&r, VG_A_SECVER, &out->min_security_version) != VG_OK ||
	    take_bytes(&r, VG_A_RELEASE_KEY, &out->release_key, &out->release_key_len) != VG_OK ||
	    vg_msg_item(&r, VG_A_SLOTS, &arr) != VG_OK || !cbor_isa_array(arr) ||
	    cbor_array_size(arr) > VG_MAX_UPDATE_IMAGES)
		rc = VG_ERR_PROTOCOL;
	out->resume = resume != 0;
	for (size_t i = 0; rc == VG_OK && i < cbor_array_size(arr); i++) {
		cbor_item_t *m = cbor_array_handle(arr)[i];
		if (!cbor_isa_map(m) ||
		    map_text(m, VG_A_NAME, out->images[i].name, sizeof out->images[i].name) !=
			VG_OK ||
		    map_text(m, VG_A_PATH, out->images[i].path, sizeof out->images[i].path) !=
			VG_OK)
			rc = VG_ERR_PROTOCOL;
		else
			out->n = i + 1;
	}
	if (rc == VG_OK && vg_msg_bytes(&r, VG_A_CEK, &cek, &cek_len) == VG_OK) {
		if (cek_len != sizeof out->cek)
			rc = VG_ERR_PROTOCOL;
		else {
			memcpy(out->cek, cek, sizeof out->cek);
			out->has_cek = true;
		}
	}
	boot_of(&r, out->bootloader, sizeof out->bootloader, out->boot_param,
		sizeof out->boot_param, &out->tries);
	vg_msg_free(&r);
	if (rc != VG_OK)
		vg_update_plan_free(out);
	return rc;
}

VG_EXPORT void vg_update_plan_free(vg_update_plan *p)
{
	if (!p)
		return;
	free(p->release_key);
	vg_wipe(p, sizeof *p);
}

VG_EXPORT vg_rc vg_update_report(vg_client *c, const char *bundle, const char *stage,
				 const char *detail)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	if (!bundle || !stage)
		return VG_ERR_INVALID;
	rc = vg_msgb_init(&b);
	if (rc != VG_OK)
		return rc;
	vg_msgb_text(&b, VG_A_BUNDLE, bundle);
	vg_msgb_text(&b, VG_A_STAGE, stage);
	if (detail)
		vg_msgb_text(&b, VG_A_MSG, detail);
	rc = call(c, VG_OP_UPDATE_REPORT, &b, &r);
	vg_msg_free(&r);
	return rc;
}

static vg_rc update_state_call(vg_client *c, vg_op op, vg_update_status *out)
{
	vg_msg r;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	rc = call_noargs(c, op, &r);
	if (rc != VG_OK)
		return rc;
	out->booted = slot_of(&r, VG_A_BOOTED);
	if (op == VG_OP_UPDATE_STATUS) {
		out->slot = slot_of(&r, VG_A_SLOT);
		if (vg_msg_text(&r, VG_A_STAGE, out->state, sizeof out->state) != VG_OK ||
		    vg_msg_text(&r, VG_A_VERSION, out->version, sizeof out->version) != VG_OK ||
		    vg_msg_text(&r, VG_A_BUNDLE, out->bundle, sizeof out->bundle) != VG_OK ||
		    vg_msg_text(&r, VG_A_LAST, out->last, sizeof out->last) != VG_OK ||
		    vg_msg_uint(&r, VG_A_SECVER, &out->min_security_version) != VG_OK)
			rc = VG_ERR_PROTOCOL;
	} else {
		VG_IGNORE(vg_msg_text(&r, VG_A_VERSION, out->confirmed, sizeof out->confirmed));
	}
	boot_of(&r, out->bootloader, sizeof out->bootloader, out->boot_param,
		sizeof out->boot_param, &out->tries);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_update_status_get(vg_client *c, vg_update_status *out)
{
	return update_state_call(c, VG_OP_UPDATE_STATUS, out);
}

VG_EXPORT vg_rc vg_update_confirm(vg_client *c, vg_update_status *out)
{
	return update_state_call(c, VG_OP_UPDATE_CONFIRM, out);
}

VG_EXPORT vg_rc vg_update_keys(vg_client *c, const char *fleet_pem, char **device_pem,
			       char **fleet_pub_pem)
{
	vg_msg r;
	vg_rc rc;

	*device_pem = NULL;
	*fleet_pub_pem = NULL;
	rc = call_data(c, VG_OP_UPDATE_KEY, (const uint8_t *)fleet_pem,
		       fleet_pem ? strlen(fleet_pem) : 0, &r);
	if (rc != VG_OK)
		return rc;
	*device_pem = take_text(&r, VG_A_PEM, 8192);
	*fleet_pub_pem = take_text(&r, VG_A_VALUE, 8192);
	vg_msg_free(&r);
	return *device_pem ? VG_OK : VG_ERR_PROTOCOL;
}

VG_EXPORT vg_rc vg_update_tuf_root(vg_client *c, const uint8_t *next, size_t next_len,
				   uint8_t **root, size_t *len)
{
	vg_msg r;
	vg_rc rc;

	*root = NULL;
	*len = 0;
	rc = call_data(c, VG_OP_UPDATE_ROOT, next, next_len, &r);
	if (rc != VG_OK)
		return rc;
	rc = take_bytes(&r, VG_A_DATA, root, len);
	vg_msg_free(&r);
	return rc;
}
