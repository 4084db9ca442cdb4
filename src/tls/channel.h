/*
 * channel.h - the TLS channel's internals (SFR 4.2.7, AVS 1.3): an
 * endpoint's policy turned into an SSL_CTX, and the verification and
 * revocation layer that runs inside every handshake made with it.
 *
 * The public side is include/voxguard/tls.h (vg_tls_connect, vg_tls_accept,
 * vg_tls_read/write/fd/close, vg_tls_curl_setup). What is here works from a
 * `const vg_endpoint *` alone, so that it can be driven without a service
 * (tests build endpoints in C).
 *
 * Every refusal names the check that refused, in one line:
 *   "unknown CA", "certificate has expired", "certificate is not yet valid",
 *   "host name mismatch", "no pin matched", "certificate revoked (OCSP)",
 *   "certificate revoked (CRL)", "revocation status unobtainable (...)",
 *   "protocol version below TLS 1.2", "no acceptable cipher suite",
 *   "the server requires a client certificate".
 */
#ifndef VG_TLS_CHANNEL_H
#define VG_TLS_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "voxguard/tls.h"

#define VG_TLS_WHY_LEN            256u
#define VG_TLS_CONNECT_TIMEOUT_MS 10000 /* TCP connect, all addresses together */
#define VG_TLS_HANDSHAKE_MS       15000 /* the handshake (and an OCSP query in it) */
#define VG_TLS_OCSP_TIMEOUT_S     5     /* one OCSP query */
#define VG_TLS_OCSP_SKEW_S        300   /* thisUpdate/nextUpdate tolerance */
#define VG_TLS_OCSP_MAX_RESP      (64u * 1024u)
#define VG_TLS_MAX_CAS            64u
#define VG_TLS_SERVICES_MAX       8u /* services client keys come from, per process */

/* The channel's plain OpenSSL library context: the default provider only,
 * private to libvoxguard so that the application's own OpenSSL state is
 * left alone; for connections without a client key. NULL on failure. */
OSSL_LIB_CTX *vg_tls_libctx(void);

/* A key of the caller's in c's service as an EVP_PKEY, through the
 * voxguard provider talking to the socket c is connected to and checking
 * the service user c checked (vg_client_service; c NULL: $VOXGUARD_SOCKET
 * or the default socket, $VOXGUARD_SERVICE_USER or the build's user).
 * The key lives in a library context of that service's own (the default
 * and the voxguard providers), made on first use and kept until the
 * process exits; at most VG_TLS_SERVICES_MAX such services in a process
 * (VG_ERR_QUOTA beyond). A failed load is retried next time: the service
 * may have been down. *out: the caller's reference (EVP_PKEY_free). */
VG_NODISCARD vg_rc vg_tls_client_key(vg_client *c, const char *name, EVP_PKEY **out, char *why,
				     size_t why_len);

/* The library context a connection with client key key is made in: the
 * key's service context for a key from vg_tls_client_key(), else (no key,
 * or a key from elsewhere) vg_tls_libctx(). */
OSSL_LIB_CTX *vg_tls_key_libctx(const EVP_PKEY *key);

/* A new client SSL_CTX, in vg_tls_key_libctx(client_key), that applies
 * ep's policy: versions, suites, groups, signature algorithms, the
 * endpoint's CA set as the only trust store, CRLs, the verification
 * callback (host, pins, revocation), and, when client_key
 * is not NULL, the client certificate chain ep->client_cert_pem with that
 * key. The SSL_CTX holds its own copy of what it needs from ep. On failure
 * *out is NULL and why says what was wrong with the policy (VG_ERR_INVALID)
 * or what failed. */
VG_NODISCARD vg_rc vg_tls_ctx_for(const vg_endpoint *ep, EVP_PKEY *client_key, SSL_CTX **out,
				  char *why, size_t why_len);

/* The same policy applied onto an SSL_CTX someone else made (libcurl's).
 * report: when not NULL, refusals and accepted handshakes made with ctx are
 * reported to the service through it (vg_endpoint_report), as ep->name. */
VG_NODISCARD vg_rc vg_tls_ctx_apply(SSL_CTX *ctx, const vg_endpoint *ep, EVP_PKEY *client_key,
				    vg_client *report, char *why, size_t why_len);

/* TCP to host:port: every address getaddrinfo() gives, non-blocking
 * connect, at most timeout_ms in all. peer gets "ADDR:PORT" (numeric) of
 * the address that answered. VG_ERR_UNAVAILABLE if none did. */
VG_NODISCARD vg_rc vg_tls_tcp_connect(const char *host, uint16_t port, int timeout_ms, int *fd,
				      char *peer, size_t peer_len, char *why, size_t why_len);

/* The client handshake on a connected socket fd (taken over: closed on
 * failure, by vg_tls_close on success) with a ctx from vg_tls_ctx_for
 * (which the vg_tls keeps a reference to). VG_ERR_VERIFY_FAILED with the
 * reason for a refusal. */
VG_NODISCARD vg_rc vg_tls_handshake(SSL_CTX *ctx, const vg_endpoint *ep, int fd, vg_tls **out,
				    char *why, size_t why_len);

/* vg_tls_tcp_connect + vg_tls_handshake + the report of the outcome to the
 * service (c may be NULL: no report): vg_tls_connect without fetching the
 * endpoint and the key. */
VG_NODISCARD vg_rc vg_tls_connect_ep(vg_client *c, const vg_endpoint *ep, EVP_PKEY *client_key,
				     vg_tls **out, char *why, size_t why_len);

/* Sends close_notify (the TLS half-close: the peer's data can still be
 * read to its own close_notify). 0, or -1 with errno (EAGAIN: retry). */
int vg_tls_close_notify(vg_tls *t);

/* `voxguard connect`: in to the peer, the peer to out (poll loop; the
 * socket is made non-blocking), like `openssl s_client -quiet`. At the end
 * of in: close_notify (the half-close) and the peer's data to its own.
 * Returns 0 on a clean close (the peer's close_notify), 1 when the peer
 * refuses us for the policy (a client certificate it requires), 2 on any
 * other error (a stream cut without close_notify included), with why. */
int vg_tls_pipe(vg_tls *t, int in, int out, char *why, size_t why_len);

/* Why the last vg_tls_read/vg_tls_write on t failed ("" if it did not, or
 * the failure was an ordinary I/O error); e.g. "the server requires a
 * client certificate" (TLS 1.3 servers say so after the handshake). */
const char *vg_tls_why(const vg_tls *t);
/* True when that failure is a refusal (policy or verification), not I/O. */
bool vg_tls_refused(const vg_tls *t);
/* The negotiated protocol ("TLSv1.3") and suite, for logs and tests. */
const char *vg_tls_version(const vg_tls *t);
const char *vg_tls_cipher(const vg_tls *t);
/* "soft-fail: ..." when the handshake was accepted under the endpoint's
 * soft_fail although the revocation status could not be obtained; "" else. */
const char *vg_tls_soft_note(const vg_tls *t);

/* Checks a DER OCSP response (a staple, or a responder's answer) for leaf
 * issued by issuer: a successful response, signed by the issuer or its
 * delegated responder (verified against store, chain as untrusted helpers),
 * naming leaf, fresh within VG_TLS_OCSP_SKEW_S. VG_OK: good;
 * VG_ERR_UNAVAILABLE: status unobtainable (a responder error, stale);
 * VG_ERR_VERIFY_FAILED: revoked ("certificate revoked (OCSP)"), unknown,
 * or a response that does not parse or verify; why says which. */
VG_NODISCARD vg_rc vg_tls_ocsp_check_der(const unsigned char *der, size_t len, X509 *leaf,
					 X509 *issuer, STACK_OF(X509) * chain, X509_STORE *store,
					 char *why, size_t why_len);

/* Loads PEM certificates (at most max; 0 found is an error) into a new
 * stack. NULL on failure. */
STACK_OF(X509) * vg_tls_pem_certs(const char *pem, size_t max);

#endif
