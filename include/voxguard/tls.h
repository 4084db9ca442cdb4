/*
 * voxguard/tls.h -- secure communication: the endpoint policy and the TLS
 * channel (SFR 4.2.7, 4.2.8; AVS 1.3; SFR 4.2.11 note 11).
 *
 * Promises:
 * - The endpoint list is device policy, kept in the service's sealed
 *   storage: an admin with a session adds and removes endpoints; a caller
 *   gets an endpoint's policy only if its uid is listed for it (or it is
 *   an admin), otherwise VG_ERR_DENIED, audited (SFR 4.2.8).
 * - A channel to a named endpoint applies that policy and nothing looser:
 *   TLS 1.2 minimum (1.3 preferred), forward-secret AEAD suites only unless
 *   the endpoint says `legacy`, host name verification, the endpoint's own
 *   CA set (never the system bundle), optional SPKI pins, expiry, and the
 *   revocation status the policy names (fail closed unless `soft_fail`).
 *   Every refusal is reported to the service and audited (endpoint, peer,
 *   reason); accepted connections are audited rate-limited.
 * - A client key named by the endpoint stays in the service: the handshake
 *   signature is made by the service (through the `voxguard` OpenSSL
 *   provider, key URI `voxguard:key=NAME`).
 *
 * Link with libvoxguard; this header needs nothing but voxguard.h.
 */
#ifndef VOXGUARD_TLS_H
#define VOXGUARD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "voxguard/voxguard.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Endpoint policy (SFR 4.2.8)                                         */

typedef enum vg_revocation {
	VG_REVOCATION_NONE = 0,         /* "none": no revocation check */
	VG_REVOCATION_OCSP_STAPLED = 1, /* "ocsp-stapled": the server must staple */
	VG_REVOCATION_OCSP = 2,         /* "ocsp": ask the responder in the AIA */
	VG_REVOCATION_CRL = 3,          /* "crl": the endpoint's CRL (crl_pem) */
} vg_revocation;

#define VG_EP_MAX_PINS    8u
#define VG_EP_MAX_UIDS    16u
#define VG_EP_MAX_UNITS   8u
#define VG_EP_MAX_HOST    253u
#define VG_EP_MAX_UNIT    128u
#define VG_EP_MAX_PEM     (256u * 1024u) /* each of ca_pem, crl_pem, client_cert_pem */
/* client_key naming the device identity key (SFR 4.2.2), whose certificate
 * is the OEM's: client_cert_pem may then be NULL. */
#define VG_EP_DEVICE_IDENTITY "device-identity"

typedef struct vg_endpoint {
	char name[VG_MAX_NAME_LEN + 1];
	char host[VG_EP_MAX_HOST + 1]; /* DNS name or IP literal; checked against the certificate */
	uint16_t port;                 /* 1..65535 */
	char *ca_pem;                  /* the trusted CA set (PEM, 1..64 certificates) */
	uint8_t pins[VG_EP_MAX_PINS][32]; /* SHA-256 of a SubjectPublicKeyInfo in the chain */
	size_t n_pins;                 /* 0: no pinning */
	vg_revocation revocation;
	bool soft_fail;                /* revocation status unobtainable: accept (audited) */
	char *crl_pem;                 /* VG_REVOCATION_CRL: the CRL(s), PEM */
	char client_key[VG_MAX_NAME_LEN + 1]; /* "": no client certificate; else a key
					       * of the caller's, or "device-identity" */
	char *client_cert_pem;         /* its certificate chain (PEM); NULL with
					* "device-identity": the OEM certificate */
	uint32_t uids[VG_EP_MAX_UIDS]; /* the uids that may use it */
	size_t n_uids;
	char units[VG_EP_MAX_UNITS][VG_EP_MAX_UNIT + 1]; /* systemd units that may reach it */
	size_t n_units;
	uint16_t min_version;          /* 0x0303 (TLS 1.2, the default) or 0x0304 */
	bool legacy;                   /* allow CBC, SHA-1 and RSA key exchange */
} vg_endpoint;

/* Adds or replaces an endpoint (admin, with a session). */
VG_EXPORT VG_NODISCARD vg_rc vg_endpoint_add(vg_client *c, const vg_endpoint *ep);
VG_EXPORT VG_NODISCARD vg_rc vg_endpoint_remove(vg_client *c, const char *name);
/* An admin gets every endpoint, anyone else those listed for its uid;
 * free with vg_endpoint_list_free(*out, *n). */
VG_EXPORT VG_NODISCARD vg_rc vg_endpoint_list(vg_client *c, vg_endpoint **out, size_t *n);
VG_EXPORT void vg_endpoint_list_free(vg_endpoint *v, size_t n);
/* One endpoint's policy, if the caller may use it; free with vg_endpoint_free. */
VG_EXPORT VG_NODISCARD vg_rc vg_endpoint_get(vg_client *c, const char *name, vg_endpoint **out);
VG_EXPORT void vg_endpoint_free(vg_endpoint *ep);
/* Tells the service how a connection to the endpoint went, for its audit
 * log: ok false with the reason for a refusal (always recorded, within the
 * caller's audit rate), ok true for an accepted one (rate-limited). */
VG_EXPORT VG_NODISCARD vg_rc vg_endpoint_report(vg_client *c, const char *name,
						const char *peer, bool ok, const char *reason);

/* "none", "ocsp-stapled", "ocsp", "crl" <-> vg_revocation; -1 if unknown. */
VG_EXPORT int vg_revocation_from_str(const char *s);
VG_EXPORT const char *vg_revocation_str(vg_revocation r);

/* ------------------------------------------------------------------ */
/* The channel (SFR 4.2.7, AVS 1.3)                                    */

typedef struct vg_tls vg_tls;

/* Connects to the endpoint the caller may use, applies its policy and
 * completes the handshake. The policy and the endpoint's client key come
 * from the service c is connected to (its socket and service user, not
 * $VOXGUARD_SOCKET), which makes the key's signatures. On a refusal
 * (policy, verification, revocation) returns VG_ERR_VERIFY_FAILED with the
 * reason in why; other errors as usual. why may be NULL. Keep c open while
 * *out is used: a refusal the server states after the handshake (TLS 1.3:
 * a client certificate it requires) is reported through it. */
VG_EXPORT VG_NODISCARD vg_rc vg_tls_connect(vg_client *c, const char *endpoint, vg_tls **out,
					    char *why, size_t why_len);
/* The server side, for a local service whose key is in the service: the
 * handshake on an accepted socket fd with key KEY (a key of the caller's
 * in the service c is connected to; c NULL: the service at
 * $VOXGUARD_SOCKET, else the default socket) and its certificate chain
 * (PEM file). TLS 1.3 only. */
VG_EXPORT VG_NODISCARD vg_rc vg_tls_accept(vg_client *c, int fd, const char *key,
					   const char *cert_file, vg_tls **out, char *why,
					   size_t why_len);
/* Like read(2)/write(2): bytes, 0 at a clean close, -1 on an error. */
VG_EXPORT ssize_t vg_tls_read(vg_tls *t, void *buf, size_t len);
VG_EXPORT ssize_t vg_tls_write(vg_tls *t, const void *buf, size_t len);
/* The socket, for poll(2). */
VG_EXPORT int vg_tls_fd(const vg_tls *t);
/* Sends close_notify and frees. */
VG_EXPORT void vg_tls_close(vg_tls *t);

/* The same policy on a libcurl easy handle (a CURL *): CA set, pins,
 * revocation, version and ciphers, host, and the client key in the service
 * c is connected to. The caller keeps c open while the handle is used. */
VG_EXPORT VG_NODISCARD vg_rc vg_tls_curl_setup(vg_client *c, void *curl, const char *endpoint);

#ifdef __cplusplus
}
#endif

#endif /* VOXGUARD_TLS_H */
