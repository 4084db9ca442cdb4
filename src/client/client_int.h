/*
 * client_int.h - what client.c shares with the other files of libvoxguard
 * (endpoint_client.c). Not exported: hidden like everything without
 * VG_EXPORT.
 */
#ifndef VG_CLIENT_INT_H
#define VG_CLIENT_INT_H

#include "proto/wire.h"
#include "voxguard/voxguard.h"

/* Sends op with args b (consumed), receives and decodes the reply into
 * *reply (the caller frees it with vg_msg_free, also on failure). Returns
 * the service's result code; its reason is vg_client_last_error(c). */
VG_NODISCARD vg_rc vg_client_call(vg_client *c, vg_op op, vg_msgb *b, vg_msg *reply);

/* Sets vg_client_last_error(c) for a failure found on the client side. */
void vg_client_set_error(vg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
