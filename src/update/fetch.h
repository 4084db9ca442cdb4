/*
 * fetch.h - downloads for the update client (SFR 4.2.6): HTTPS (libcurl on
 * OpenSSL, TLS 1.2 or newer, certificate and host name verified), plain
 * HTTP for a test server on loopback, file:// URLs and plain paths (a USB
 * stick).
 *
 * Promise: at most max bytes are ever accepted; the transfer is stopped at
 * the first byte beyond (endless-data attack) and reported as
 * VG_ERR_TOO_LARGE. A transfer that stalls (under 1 byte/s for
 * VG_FETCH_STALL_S) is stopped (slow-retrieval attack). HTTP 403 and 404,
 * and a missing file, are VG_ERR_NOT_FOUND; every other failure is
 * VG_ERR_IO with the reason in why.
 *
 * ca_file (NULL: the system's trust store) names the only CA certificates
 * (PEM) that HTTPS servers are checked against: an OEM pins its update
 * server's CA this way. A transfer that starts on https:// follows
 * redirects to https:// only (never down to plain HTTP).
 */
#ifndef VG_UPDATE_FETCH_H
#define VG_UPDATE_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define VG_FETCH_WHY_LEN  256
#define VG_FETCH_STALL_S  30

/* *out is malloc()ed (free()). */
VG_NODISCARD vg_rc vg_fetch(const char *url, const char *ca_file, size_t max, uint8_t **out,
			    size_t *len, char *why);

/* Streams to a callback instead (bundles): cb returns VG_OK to go on. */
typedef vg_rc (*vg_fetch_sink)(void *ctx, const uint8_t *p, size_t n);
VG_NODISCARD vg_rc vg_fetch_stream(const char *url, const char *ca_file, uint64_t max,
				   vg_fetch_sink cb, void *ctx, char *why);

#endif
