/*
 * client_int.h - what client.c shares with the other files of libvoxguard
 * (endpoint_client.c, display_client.c, the TLS channel). Not exported: hidden like
 * everything without VG_EXPORT.
 */
#ifndef VG_CLIENT_INT_H
#define VG_CLIENT_INT_H

#include "proto/wire.h"
#include "voxguard/voxguard.h"

/* Sends op with args b (consumed), receives and decodes the reply into
 * *reply (the caller frees it with vg_msg_free, also on failure). Returns
 * the service's result code; its reason is vg_client_last_error(c). */
VG_NODISCARD vg_rc vg_client_call(vg_client *c, vg_op op, vg_msgb *b, vg_msg *reply);

/* One text argument of a request: key (VG_A_*) and its text; text NULL:
 * the argument is left out. */
struct vg_text_arg {
	unsigned key;
	const char *text;
};
/* A request whose arguments are n texts (args[i], in order): the message
 * built, sent and answered as vg_client_call(). reply NULL: nothing but the
 * code is wanted, the reply is freed here; otherwise the caller frees
 * *reply with vg_msg_free, also on failure. The request/reply boilerplate
 * of client.c's named calls and of display_client.c, written once. */
VG_NODISCARD vg_rc vg_client_call_texts(vg_client *c, vg_op op, const struct vg_text_arg *args,
					size_t n, vg_msg *reply);

/* Sets vg_client_last_error(c) for a failure found on the client side. */
void vg_client_set_error(vg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The longest socket path (a sockaddr_un's sun_path, less its NUL) and
 * service user name (or uid) vg_client_open_as() takes. */
#define VG_CLIENT_SOCKET_MAX 107
#define VG_CLIENT_USER_MAX   255

/* Whom c is connected to, as vg_client_open_as() resolved it: the socket
 * path (after $VOXGUARD_SOCKET and the default) and the service user it
 * checked the server against (after $VOXGUARD_SERVICE_USER and the build's
 * default). Both owned by c, valid while c is open. The TLS channel's
 * provider talks to that same service (src/tls/channel.c). */
void vg_client_service(const vg_client *c, const char **socket_path, const char **service_user);

#endif
