/*
 * channel.c - the TLS channel (SFR 4.2.7, AVS 1.3): see channel.h and
 * include/voxguard/tls.h.
 *
 * An endpoint's policy becomes an SSL_CTX; what the handshake must check
 * beyond OpenSSL's own chain verification (SPKI pins, the OCSP query, the
 * soft-fail cases) runs in a certificate verification callback, and the
 * stapled OCSP response in the status callback, so that a refusal aborts
 * the handshake before a byte of application data is sent, and the same
 * SSL_CTX policy serves libcurl (channel_curl.c) unchanged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "tls/channel.h"
#include "client/client_int.h"
#include "provider/provider.h"

/* Forward secrecy and AEAD only (SFR 4.2.7, AVS 1.3): TLS 1.3's AEAD
 * suites, and for TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305. An
 * endpoint marked legacy adds CBC, SHA-1 MACs and RSA key exchange, at
 * OpenSSL's security level 1. */
#define SUITES_13 "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define CIPHERS_12                                                   \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define CIPHERS_LEGACY CIPHERS_12 ":ECDHE+AES:AES:!aNULL:!eNULL:!MD5:!3DES:!RC4:@SECLEVEL=1"
#define GROUPS         "X25519:P-256:P-384"
#define SIGALGS                                                        \
	"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448:"        \
	"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:" \
	"rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"    \
	"RSA+SHA256:RSA+SHA384:RSA+SHA512"
#define SIGALGS_LEGACY   SIGALGS ":ECDSA+SHA1:RSA+SHA1"
#define MAX_CLIENT_CHAIN 16u

/* What a handshake needs from the endpoint, owned by the SSL_CTX (ex_data
 * with a free function), so that it outlives the vg_endpoint. */
struct policy {
	char name[VG_MAX_NAME_LEN + 1];
	char host[VG_EP_MAX_HOST + 1];
	uint16_t port;
	uint8_t pins[VG_EP_MAX_PINS][32];
	size_t n_pins;
	vg_revocation revocation;
	bool soft_fail;
	vg_client *report;    /* libcurl: report from the callbacks */
	OSSL_LIB_CTX *libctx; /* the client key's (vg_tls_key_libctx) */
};

/* What one handshake found, owned by the SSL (ex_data). */
struct result {
	char why[VG_TLS_WHY_LEN]; /* the first refusal */
	char soft[VG_TLS_WHY_LEN];
	bool cert_requested; /* the server asked for a client certificate */
	bool reported;
};

struct vg_tls {
	SSL *ssl;
	SSL_CTX *ctx;
	int fd;
	vg_client *c;
	char name[VG_MAX_NAME_LEN + 1];
	char peer[INET6_ADDRSTRLEN + 8];
	char why[VG_TLS_WHY_LEN];
	char soft[VG_TLS_WHY_LEN];
	bool refused;
	bool reported;
};

static int ctx_idx = -1, ssl_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void policy_free_ex(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			   void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void result_free_ex(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			   void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void idx_init(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, policy_free_ex);
	ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, result_free_ex);
}

static bool indexes(void)
{
	return pthread_once(&idx_once, idx_init) == 0 && ctx_idx >= 0 && ssl_idx >= 0;
}

static struct policy *policy_of(const SSL *s)
{
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ctx_idx);
}

/* The handshake's result, made on first use (libcurl makes the SSL). */
static struct result *result_of(SSL *s)
{
	struct result *r = SSL_get_ex_data(s, ssl_idx);

	if (r)
		return r;
	r = calloc(1, sizeof *r);
	if (r && !SSL_set_ex_data(s, ssl_idx, r)) {
		free(r);
		r = NULL;
	}
	return r;
}

static void set_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !why_len)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* The library context                                                 */

/* The plain context: the default provider only, for connections without
 * a client key. */
static OSSL_LIB_CTX *libctx;
static pthread_once_t libctx_once = PTHREAD_ONCE_INIT;

static void libctx_init(void)
{
	OSSL_LIB_CTX *l = OSSL_LIB_CTX_new();

	if (l && !OSSL_PROVIDER_load(l, "default")) {
		OSSL_LIB_CTX_free(l);
		l = NULL;
	}
	libctx = l;
}

OSSL_LIB_CTX *vg_tls_libctx(void)
{
	if (pthread_once(&libctx_once, libctx_init) != 0)
		return NULL;
	return libctx;
}

/* One context per service a client key comes from: (socket, service
 * user) -> a context with the default provider and the voxguard provider
 * talking to that socket, checking that user. A process talks to few
 * services; the table is bounded and refuses one more cleanly. Contexts
 * live until the process exits: keys and SSL_CTXs made in them may be
 * held by the application (a libcurl handle) as long as it likes, and
 * OpenSSL 3.0 does not tear a provider down with its context anyway
 * (vg_provider_unload). */
struct service_ctx {
	char socket[VG_CLIENT_SOCKET_MAX + 1];
	char user[VG_CLIENT_USER_MAX + 1];
	OSSL_LIB_CTX *libctx;
};
static struct service_ctx services[VG_TLS_SERVICES_MAX];
static pthread_mutex_t services_lock = PTHREAD_MUTEX_INITIALIZER;

/* EVP_PKEY ex_data: the service context a client key was loaded in. */
static int key_idx = -1;
static pthread_once_t key_idx_once = PTHREAD_ONCE_INIT;

static void key_idx_init(void)
{
	key_idx = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The context of c's service, made on first use. A load that fails is
 * not kept: the next call tries again. */
static vg_rc service_libctx(vg_client *c, OSSL_LIB_CTX **out, char *why, size_t why_len)
{
	const char *sock = "", *user = "";
	struct service_ctx *e = NULL, *free_e = NULL;
	OSSL_LIB_CTX *l = NULL;
	vg_rc rc = VG_OK;

	*out = NULL;
	/* No client: the provider's defaults ($VOXGUARD_SOCKET, the default
	 * socket; $VOXGUARD_SERVICE_USER, the build's user), keyed as "". */
	if (c)
		vg_client_service(c, &sock, &user);
	if (strlen(sock) > VG_CLIENT_SOCKET_MAX || strlen(user) > VG_CLIENT_USER_MAX)
		return VG_ERR_INVALID;
	if (pthread_mutex_lock(&services_lock) != 0)
		return VG_ERR_INTERNAL;
	for (size_t i = 0; i < VG_TLS_SERVICES_MAX && !e; i++) {
		if (!services[i].libctx) {
			if (!free_e)
				free_e = &services[i];
		} else if (strcmp(services[i].socket, sock) == 0 &&
			   strcmp(services[i].user, user) == 0) {
			e = &services[i];
		}
	}
	if (e) {
		*out = e->libctx;
		goto out;
	}
	if (!free_e) {
		set_why(why, why_len,
			"the TLS channel talks to at most %u voxguard services in a process: "
			"not to %s",
			VG_TLS_SERVICES_MAX, sock[0] ? sock : "the default socket");
		rc = VG_ERR_QUOTA;
		goto out;
	}
	l = OSSL_LIB_CTX_new();
	if (!l) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	if (vg_provider_load_into_as(l, sock[0] ? sock : NULL, user[0] ? user : NULL) != 1) {
		OSSL_LIB_CTX_free(l);
		set_why(why, why_len, "the voxguard OpenSSL provider cannot be loaded");
		rc = VG_ERR_UNAVAILABLE;
		goto out;
	}
	(void)snprintf(free_e->socket, sizeof free_e->socket, "%s", sock);
	(void)snprintf(free_e->user, sizeof free_e->user, "%s", user);
	free_e->libctx = l;
	*out = l;
out:
	(void)pthread_mutex_unlock(&services_lock);
	ERR_clear_error();
	return rc;
}

vg_rc vg_tls_client_key(vg_client *c, const char *name, EVP_PKEY **out, char *why, size_t why_len)
{
	OSSL_LIB_CTX *l = NULL;
	vg_rc rc;

	*out = NULL;
	if (pthread_once(&key_idx_once, key_idx_init) != 0 || key_idx < 0)
		return VG_ERR_INTERNAL;
	rc = service_libctx(c, &l, why, why_len);
	if (rc != VG_OK)
		return rc;
	rc = vg_provider_load_key(l, name, out);
	if (rc != VG_OK) {
		set_why(why, why_len, "client key '%s': %s", name, vg_rc_str(rc));
		return rc;
	}
	if (!EVP_PKEY_set_ex_data(*out, key_idx, l)) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return VG_ERR_NOMEM;
	}
	return VG_OK;
}

OSSL_LIB_CTX *vg_tls_key_libctx(const EVP_PKEY *key)
{
	OSSL_LIB_CTX *l = NULL;

	if (key && pthread_once(&key_idx_once, key_idx_init) == 0 && key_idx >= 0)
		l = EVP_PKEY_get_ex_data(key, key_idx);
	return l ? l : vg_tls_libctx();
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

/* A refusal: the first reason is kept; with libcurl it is reported to the
 * service at once (the channel reports from vg_tls_connect_ep). */
static void refuse(SSL *s, struct result *r, const char *why)
{
	struct policy *p = policy_of(s);

	if (!r || r->why[0])
		return;
	(void)snprintf(r->why, sizeof r->why, "%s", why);
	if (p && p->report && !r->reported) {
		char peer[VG_EP_MAX_HOST + 8];
		(void)snprintf(peer, sizeof peer, "%s:%u", p->host, (unsigned)p->port);
		VG_IGNORE(vg_endpoint_report(p->report, p->name, peer, false, r->why));
		r->reported = true;
	}
}

static const char *x509_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate has expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate is not yet valid";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "host name mismatch";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		return "unknown CA";
	case X509_V_ERR_CERT_REVOKED:
		return "certificate revoked (CRL)";
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return "revocation status unobtainable (no CRL for the issuer)";
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return "revocation status unobtainable (the CRL has expired)";
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return "revocation status unobtainable (the CRL is not yet valid)";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
		return "bad signature in the certificate chain";
	default:
		return NULL;
	}
}

/* "Status unobtainable" (no CRL, a stale one): accepted only under the
 * endpoint's soft_fail, and noted for the report. */
static bool crl_unobtainable(int err)
{
	return err == X509_V_ERR_UNABLE_TO_GET_CRL || err == X509_V_ERR_CRL_HAS_EXPIRED ||
	       err == X509_V_ERR_CRL_NOT_YET_VALID;
}

static int verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *s = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct policy *p;
	struct result *r;
	const char *why;
	char buf[VG_TLS_WHY_LEN];
	int err;

	if (ok || !s)
		return ok;
	p = policy_of(s);
	r = result_of(s);
	err = X509_STORE_CTX_get_error(x);
	if (p && r && p->soft_fail && crl_unobtainable(err)) {
		if (!r->soft[0])
			(void)snprintf(r->soft, sizeof r->soft, "soft-fail: %s", x509_reason(err));
		/* libcurl reads the verify result after the handshake. */
		X509_STORE_CTX_set_error(x, X509_V_OK);
		return 1;
	}
	why = x509_reason(err);
	if (!why) {
		(void)snprintf(buf, sizeof buf, "certificate verification failed: %s",
			       X509_verify_cert_error_string(err));
		why = buf;
	}
	refuse(s, r, why);
	return 0;
}

static bool spki_sha256(OSSL_LIB_CTX *l, X509 *cert, uint8_t out[static 32])
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	size_t mdlen = 0;
	bool ok;

	if (len <= 0)
		return false;
	ok = EVP_Q_digest(l, "SHA256", NULL, der, (size_t)len, out, &mdlen) && mdlen == 32;
	OPENSSL_free(der);
	return ok;
}

/* SPKI pinning: any certificate of the verified chain (leaf, intermediate
 * or root) matches one of the endpoint's pins. */
static bool pins_match(const struct policy *p, STACK_OF(X509) * chain)
{
	uint8_t h[32];

	for (int i = 0; chain && i < sk_X509_num(chain); i++) {
		if (!spki_sha256(p->libctx, sk_X509_value(chain, i), h))
			continue;
		for (size_t k = 0; k < p->n_pins; k++)
			if (CRYPTO_memcmp(h, p->pins[k], 32) == 0)
				return true;
	}
	return false;
}

enum ocsp_out { OCSP_GOOD, OCSP_REVOKED, OCSP_UNOBTAINABLE, OCSP_BAD };

/* Checks an OCSP response for the certificate id: a successful response,
 * signed by the issuer or its delegated responder (verified against the
 * endpoint's trust store, with the chain as untrusted helpers), naming the
 * certificate, fresh (thisUpdate/nextUpdate with VG_TLS_OCSP_SKEW_S), and
 * with the request's nonce if the responder returned one. */
static enum ocsp_out ocsp_check(OCSP_RESPONSE *resp, OCSP_CERTID *id, STACK_OF(X509) * chain,
				X509_STORE *store, OCSP_REQUEST *req, char *why, size_t why_len)
{
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int st, status = -1, reason = -1;
	enum ocsp_out out = OCSP_BAD;

	st = OCSP_response_status(resp);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		set_why(why, why_len, "the OCSP responder answered '%s'",
			OCSP_response_status_str(st));
		return OCSP_UNOBTAINABLE;
	}
	bs = OCSP_response_get1_basic(resp);
	if (!bs) {
		set_why(why, why_len, "malformed OCSP response");
		goto out;
	}
	if (req && OCSP_check_nonce(req, bs) == 0) {
		set_why(why, why_len, "OCSP response nonce mismatch (replayed?)");
		goto out;
	}
	ERR_set_mark();
	st = OCSP_basic_verify(bs, chain, store, 0);
	ERR_pop_to_mark();
	if (st <= 0) {
		set_why(why, why_len, "OCSP response signature does not verify");
		goto out;
	}
	if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd)) {
		set_why(why, why_len, "OCSP response does not name the certificate");
		goto out;
	}
	if (!OCSP_check_validity(thisupd, nextupd, VG_TLS_OCSP_SKEW_S, -1)) {
		set_why(why, why_len, "stale OCSP response");
		out = OCSP_UNOBTAINABLE;
		goto out;
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		out = OCSP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		set_why(why, why_len, "certificate revoked (OCSP)");
		out = OCSP_REVOKED;
		break;
	default:
		set_why(why, why_len, "certificate status unknown to the OCSP responder");
		break;
	}
out:
	OCSP_BASICRESP_free(bs);
	return out;
}

/* The outcome of an OCSP check as the policy treats it: 1 go on, 0 refuse
 * (with the reason recorded). Revoked is never soft. */
static int ocsp_verdict(SSL *s, struct result *r, const struct policy *p, enum ocsp_out o,
			const char *what)
{
	char buf[VG_TLS_WHY_LEN];

	switch (o) {
	case OCSP_GOOD:
		return 1;
	case OCSP_UNOBTAINABLE:
		if (p->soft_fail) {
			if (r && !r->soft[0])
				(void)snprintf(r->soft, sizeof r->soft,
					       "soft-fail: revocation status unobtainable (%s)",
					       what);
			return 1;
		}
		(void)snprintf(buf, sizeof buf, "revocation status unobtainable (%s)", what);
		refuse(s, r, buf);
		return 0;
	case OCSP_REVOKED:
	case OCSP_BAD:
	default:
		refuse(s, r, what);
		return 0;
	}
}

/* The issuer of leaf: the next certificate of the verified chain, else one
 * from the peer's chain or the trust store that issued it. */
static X509 *issuer_of(SSL *s, X509 *leaf)
{
	STACK_OF(X509) *v = SSL_get0_verified_chain(s), *pc = SSL_get_peer_cert_chain(s);
	const struct policy *p = policy_of(s);
	X509_STORE_CTX *x;
	X509 *iss = NULL;

	if (v && sk_X509_num(v) > 1 && X509_up_ref(sk_X509_value(v, 1)))
		return sk_X509_value(v, 1);
	for (int i = 0; pc && i < sk_X509_num(pc); i++) {
		X509 *c = sk_X509_value(pc, i);
		if (X509_check_issued(c, leaf) == X509_V_OK && X509_up_ref(c))
			return c;
	}
	x = X509_STORE_CTX_new_ex(p ? p->libctx : vg_tls_libctx(), NULL);
	if (x && X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(s)), leaf, NULL) &&
	    X509_STORE_CTX_get1_issuer(&iss, x, leaf) != 1)
		iss = NULL;
	X509_STORE_CTX_free(x);
	return iss;
}

vg_rc vg_tls_ocsp_check_der(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer,
			    STACK_OF(X509) * chain, X509_STORE *store, char *why, size_t why_len)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_CERTID *id = NULL;
	enum ocsp_out o = OCSP_BAD;

	if (!der || !len || len > VG_TLS_OCSP_MAX_RESP) {
		set_why(why, why_len, "malformed OCSP response");
	} else if (!leaf || !issuer) {
		set_why(why, why_len, "OCSP: the certificate's issuer is unknown");
	} else if (!(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) || p != der + len) {
		set_why(why, why_len, "malformed OCSP response");
	} else if (!(id = OCSP_cert_to_id(NULL, leaf, issuer))) {
		set_why(why, why_len, "OCSP: cannot name the certificate");
	} else {
		o = ocsp_check(resp, id, chain, store, NULL, why, why_len);
	}
	OCSP_CERTID_free(id);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
	return o == OCSP_GOOD           ? VG_OK
	       : o == OCSP_UNOBTAINABLE ? VG_ERR_UNAVAILABLE
					: VG_ERR_VERIFY_FAILED;
}

/* OCSP stapling (policy "ocsp-stapled"): the server must staple a good,
 * fresh, verifiable status of its certificate. */
static int status_cb(SSL *s, void *arg)
{
	struct policy *p = arg;
	struct result *r = result_of(s);
	const unsigned char *der = NULL;
	char what[VG_TLS_WHY_LEN] = "";
	X509 *leaf, *iss = NULL;
	long len;
	vg_rc rc;

	if (!r)
		return 0;
	if (!p || p->revocation != VG_REVOCATION_OCSP_STAPLED)
		return 1;
	len = SSL_get_tlsext_status_ocsp_resp(s, &der);
	if (len <= 0 || !der)
		return ocsp_verdict(s, r, p, OCSP_UNOBTAINABLE, "no OCSP staple");
	leaf = SSL_get0_peer_certificate(s);
	if (leaf)
		iss = issuer_of(s, leaf);
	rc = vg_tls_ocsp_check_der(der, (size_t)len, leaf, iss, SSL_get_peer_cert_chain(s),
				   SSL_CTX_get_cert_store(SSL_get_SSL_CTX(s)), what, sizeof what);
	X509_free(iss);
	if (rc == VG_OK)
		return 1;
	if (strcmp(what, "certificate revoked (OCSP)") == 0)
		return ocsp_verdict(s, r, p, OCSP_REVOKED, what);
	return ocsp_verdict(s, r, p, rc == VG_ERR_UNAVAILABLE ? OCSP_UNOBTAINABLE : OCSP_BAD, what);
}

/* An OCSP request over plain HTTP (the response is signed; RFC 6960
 * A.1) to url, within VG_TLS_OCSP_TIMEOUT_S. NULL if no answer. */
static OCSP_RESPONSE *ocsp_send(const char *url, OCSP_REQUEST *req, char *why, size_t why_len)
{
	char *host = NULL, *port = NULL, *path = NULL;
	int use_ssl = 0;
	BIO *rq = NULL, *rs = NULL;
	OCSP_RESPONSE *resp = NULL;

	if (!OSSL_HTTP_parse_url(url, &use_ssl, NULL, &host, &port, NULL, &path, NULL, NULL) ||
	    use_ssl) {
		set_why(why, why_len, "unsupported OCSP responder URL");
		goto out;
	}
	rq = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req);
	if (!rq)
		goto out;
	/* proxy "": no proxy from the environment. */
	ERR_set_mark();
	rs = OSSL_HTTP_transfer(NULL, host, port, path, 0, "", NULL, NULL, NULL, NULL, NULL, 0,
				NULL, "application/ocsp-request", rq, "application/ocsp-response",
				1, VG_TLS_OCSP_MAX_RESP, VG_TLS_OCSP_TIMEOUT_S, 0);
	ERR_pop_to_mark();
	if (!rs) {
		set_why(why, why_len, "the OCSP responder did not answer");
		goto out;
	}
	resp = d2i_OCSP_RESPONSE_bio(rs, NULL);
	if (!resp)
		set_why(why, why_len, "malformed OCSP response");
out:
	BIO_free(rq);
	BIO_free(rs);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return resp;
}

/* The OCSP query (policy "ocsp"): the responder named in the leaf's
 * Authority Information Access, with a nonce. */
static int ocsp_query(SSL *s, struct result *r, const struct policy *p, X509_STORE_CTX *x)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(x);
	STACK_OF(OPENSSL_STRING) *urls = NULL;
	OCSP_REQUEST *req = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_CERTID *id = NULL, *id2 = NULL;
	X509 *leaf, *iss;
	char what[VG_TLS_WHY_LEN] = "";
	enum ocsp_out o = OCSP_BAD;
	int ret;

	if (!chain || sk_X509_num(chain) < 2)
		return ocsp_verdict(s, r, p, OCSP_BAD, "OCSP: no issuer in the chain");
	leaf = sk_X509_value(chain, 0);
	iss = sk_X509_value(chain, 1);
	urls = X509_get1_ocsp(leaf);
	if (!urls || sk_OPENSSL_STRING_num(urls) < 1) {
		o = OCSP_UNOBTAINABLE;
		(void)snprintf(what, sizeof what, "no OCSP responder in the certificate");
		goto out;
	}
	req = OCSP_REQUEST_new();
	id = OCSP_cert_to_id(NULL, leaf, iss);
	id2 = id ? OCSP_CERTID_dup(id) : NULL;
	if (!req || !id2 || !OCSP_request_add0_id(req, id2)) {
		OCSP_CERTID_free(id2);
		(void)snprintf(what, sizeof what, "OCSP: cannot make the request");
		goto out;
	}
	if (!OCSP_request_add1_nonce(req, NULL, -1)) {
		(void)snprintf(what, sizeof what, "OCSP: cannot make the request");
		goto out;
	}
	resp = ocsp_send(sk_OPENSSL_STRING_value(urls, 0), req, what, sizeof what);
	if (!resp) {
		o = OCSP_UNOBTAINABLE;
		goto out;
	}
	o = ocsp_check(resp, id, chain, X509_STORE_CTX_get0_store(x), req, what, sizeof what);
out:
	ret = ocsp_verdict(s, r, p, o, what);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(id);
	X509_email_free(urls);
	return ret;
}

/* OpenSSL's chain verification (trust store, expiry, host, CRLs through
 * verify_cb), then the pins, then the OCSP query. */
static int cert_verify_cb(X509_STORE_CTX *x, void *arg)
{
	SSL *s = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct policy *p = arg;
	struct result *r;

	if (!s || !p)
		return 0;
	r = result_of(s);
	if (!r)
		return 0;
	if (X509_verify_cert(x) <= 0) {
		if (!r->why[0])
			refuse(s, r, "certificate verification failed");
		return 0;
	}
	if (p->n_pins && !pins_match(p, X509_STORE_CTX_get0_chain(x))) {
		refuse(s, r, "no pin matched");
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	if (p->revocation == VG_REVOCATION_OCSP && !ocsp_query(s, r, p, x)) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/* Called only when no client certificate is set: the server asked for one
 * and gets none. */
static int client_cert_cb(SSL *s, X509 **x509, EVP_PKEY **pkey)
{
	struct result *r = result_of(s);

	(void)x509, (void)pkey;
	if (r)
		r->cert_requested = true;
	return 0;
}

static const char *alert_reason(int desc, bool from_peer)
{
	switch (desc) {
	case SSL3_AD_HANDSHAKE_FAILURE:
	case TLS1_AD_INSUFFICIENT_SECURITY:
		return "no acceptable cipher suite";
	case TLS1_AD_PROTOCOL_VERSION:
		return "protocol version below TLS 1.2";
	case TLS13_AD_CERTIFICATE_REQUIRED:
		return "the server requires a client certificate";
	default:
		return from_peer ? "the server refused the handshake" : NULL;
	}
}

/* libcurl: reports the handshake's outcome to the service (the channel
 * reports from vg_tls_connect_ep, which knows the peer's address). */
static void info_cb(const SSL *cs, int where, int ret)
{
	SSL *s = (SSL *)cs;
	struct policy *p = policy_of(s);
	struct result *r;
	char peer[VG_EP_MAX_HOST + 8], buf[VG_TLS_WHY_LEN];
	const char *why;

	if (!p || !p->report)
		return;
	r = result_of(s);
	if (!r || r->reported)
		return;
	(void)snprintf(peer, sizeof peer, "%s:%u", p->host, (unsigned)p->port);
	if (where & SSL_CB_HANDSHAKE_DONE) {
		VG_IGNORE(vg_endpoint_report(p->report, p->name, peer, true, r->soft));
		r->reported = true;
	} else if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL) {
		why = alert_reason(ret & 0xff, (where & SSL_CB_READ) != 0);
		if (!why) {
			(void)snprintf(buf, sizeof buf, "TLS alert: %s",
				       SSL_alert_desc_string_long(ret));
			why = buf;
		}
		refuse(s, r, why);
	}
}

/* ------------------------------------------------------------------ */
/* The policy onto an SSL_CTX                                          */

STACK_OF(X509) * vg_tls_pem_certs(const char *pem, size_t max)
{
	STACK_OF(X509) * sk;
	BIO *b;
	X509 *x;

	if (!pem || strlen(pem) > VG_EP_MAX_PEM)
		return NULL;
	b = BIO_new_mem_buf(pem, -1);
	sk = sk_X509_new_null();
	if (!b || !sk)
		goto fail;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if ((size_t)sk_X509_num(sk) >= max || !sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	}
	ERR_clear_error(); /* the end of the PEM text */
	if (sk_X509_num(sk) < 1)
		goto fail;
	BIO_free(b);
	return sk;
fail:
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

static bool is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static vg_rc load_crls(X509_STORE *st, const char *pem, char *why, size_t why_len)
{
	STACK_OF(X509_INFO) * infos;
	BIO *b;
	int n = 0;

	if (!pem || strlen(pem) > VG_EP_MAX_PEM) {
		set_why(why, why_len, "revocation 'crl' needs the endpoint's CRL");
		return VG_ERR_INVALID;
	}
	b = BIO_new_mem_buf(pem, -1);
	infos = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *in = sk_X509_INFO_value(infos, i);
		if (in->crl && X509_STORE_add_crl(st, in->crl))
			n++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();
	if (n == 0) {
		set_why(why, why_len, "the endpoint's CRL does not parse");
		return VG_ERR_INVALID;
	}
	return VG_OK;
}

static vg_rc trust_store(const vg_endpoint *ep, X509_STORE **out, char *why, size_t why_len)
{
	STACK_OF(X509) *cas = vg_tls_pem_certs(ep->ca_pem, VG_TLS_MAX_CAS);
	X509_STORE *st = NULL;
	vg_rc rc = VG_ERR_INVALID;

	*out = NULL;
	if (!cas) {
		set_why(why, why_len, "the endpoint's CA set is empty or does not parse (1 to %u)",
			VG_TLS_MAX_CAS);
		return VG_ERR_INVALID;
	}
	st = X509_STORE_new();
	if (!st) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < sk_X509_num(cas); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(cas, i))) {
			rc = VG_ERR_NOMEM;
			goto out;
		}
	if (ep->revocation == VG_REVOCATION_CRL) {
		rc = load_crls(st, ep->crl_pem, why, why_len);
		if (rc != VG_OK)
			goto out;
		/* Every certificate of the chain, against its issuer's CRL,
		 * whose own nextUpdate OpenSSL checks. */
		(void)X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	(void)X509_STORE_set_depth(st, 8);
	*out = st;
	st = NULL;
	rc = VG_OK;
out:
	X509_STORE_free(st);
	sk_X509_pop_free(cas, X509_free);
	return rc;
}

static vg_rc use_client_cert(SSL_CTX *ctx, const vg_endpoint *ep, EVP_PKEY *key, char *why,
			     size_t why_len)
{
	STACK_OF(X509) *chain = vg_tls_pem_certs(ep->client_cert_pem, MAX_CLIENT_CHAIN);
	vg_rc rc = VG_ERR_INVALID;

	if (!chain) {
		set_why(why, why_len,
			"the endpoint's client certificate is missing or does not parse");
		return VG_ERR_INVALID;
	}
	if (!SSL_CTX_use_certificate(ctx, sk_X509_value(chain, 0))) {
		set_why(why, why_len, "the client certificate is refused by OpenSSL");
		goto out;
	}
	for (int i = 1; i < sk_X509_num(chain); i++)
		if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i))) {
			rc = VG_ERR_NOMEM;
			goto out;
		}
	if (!SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx)) {
		set_why(why, why_len, "the client certificate is not the client key's");
		goto out;
	}
	rc = VG_OK;
out:
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	return rc;
}

vg_rc vg_tls_ctx_apply(SSL_CTX *ctx, const vg_endpoint *ep, EVP_PKEY *client_key, vg_client *report,
		       char *why, size_t why_len)
{
	struct policy *p = NULL, *old;
	X509_STORE *st = NULL;
	X509_VERIFY_PARAM *param;
	int min;
	vg_rc rc;

	if (!ctx || !ep || !indexes())
		return VG_ERR_INVALID;
	if (!ep->host[0] || memchr(ep->host, '\0', sizeof ep->host) == NULL || ep->port == 0 ||
	    ep->n_pins > VG_EP_MAX_PINS) {
		set_why(why, why_len, "malformed endpoint");
		return VG_ERR_INVALID;
	}
	min = ep->min_version ? ep->min_version : TLS1_2_VERSION;
	if (min != TLS1_2_VERSION && min != TLS1_3_VERSION) {
		set_why(why, why_len, "the endpoint's minimum TLS version is not 1.2 or 1.3");
		return VG_ERR_INVALID;
	}
	if (ep->revocation > VG_REVOCATION_CRL) {
		set_why(why, why_len, "unknown revocation policy");
		return VG_ERR_INVALID;
	}
	rc = trust_store(ep, &st, why, why_len);
	if (rc != VG_OK)
		return rc;
	p = calloc(1, sizeof *p);
	if (!p) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}
	(void)snprintf(p->name, sizeof p->name, "%s", ep->name);
	(void)snprintf(p->host, sizeof p->host, "%s", ep->host);
	p->port = ep->port;
	memcpy(p->pins, ep->pins, sizeof p->pins);
	p->n_pins = ep->n_pins;
	p->revocation = ep->revocation;
	p->soft_fail = ep->soft_fail;
	p->report = report;
	p->libctx = vg_tls_key_libctx(client_key);
	if (!p->libctx) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}

	rc = VG_ERR_CRYPTO;
	if (!SSL_CTX_set_min_proto_version(ctx, min) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, SUITES_13) ||
	    !SSL_CTX_set_cipher_list(ctx, ep->legacy ? CIPHERS_LEGACY : CIPHERS_12) ||
	    !SSL_CTX_set1_groups_list(ctx, GROUPS) ||
	    !SSL_CTX_set1_sigalgs_list(ctx, ep->legacy ? SIGALGS_LEGACY : SIGALGS)) {
		set_why(why, why_len, "OpenSSL refuses the TLS policy");
		goto fail;
	}
	(void)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	(void)SSL_CTX_clear_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT);

	/* The endpoint's CA set is the whole trust store: never the
	 * system's default paths. */
	SSL_CTX_set_cert_store(ctx, st);
	st = NULL;
	param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip(ep->host) ? !X509_VERIFY_PARAM_set1_ip_asc(param, ep->host)
			    : !X509_VERIFY_PARAM_set1_host(param, ep->host, 0)) {
		set_why(why, why_len, "the endpoint's host cannot be checked");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_cert_verify_callback(ctx, cert_verify_cb, p);
	if (ep->revocation == VG_REVOCATION_OCSP_STAPLED) {
		if (!SSL_CTX_set_tlsext_status_type(ctx, TLSEXT_STATUSTYPE_ocsp) ||
		    !SSL_CTX_set_tlsext_status_cb(ctx, status_cb) ||
		    !SSL_CTX_set_tlsext_status_arg(ctx, p))
			goto fail;
	}
	if (client_key) {
		rc = use_client_cert(ctx, ep, client_key, why, why_len);
		if (rc != VG_OK)
			goto fail;
	} else {
		SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
	}
	if (report)
		SSL_CTX_set_info_callback(ctx, info_cb);
	old = SSL_CTX_get_ex_data(ctx, ctx_idx);
	if (!SSL_CTX_set_ex_data(ctx, ctx_idx, p)) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}
	free(old);
	return VG_OK;
fail:
	X509_STORE_free(st);
	/* The callbacks may point at p: they are left with none. */
	SSL_CTX_set_cert_verify_callback(ctx, NULL, NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	(void)SSL_CTX_set_tlsext_status_arg(ctx, NULL);
	free(p);
	ERR_clear_error();
	return rc;
}

vg_rc vg_tls_ctx_for(const vg_endpoint *ep, EVP_PKEY *client_key, SSL_CTX **out, char *why,
		     size_t why_len)
{
	OSSL_LIB_CTX *l = vg_tls_key_libctx(client_key);
	SSL_CTX *ctx;
	vg_rc rc;

	*out = NULL;
	if (!l)
		return VG_ERR_NOMEM;
	/* In the key's context: the key's provider signs, and the
	 * handshake's other algorithms come from the same providers. */
	ctx = SSL_CTX_new_ex(l, NULL, TLS_client_method());
	if (!ctx)
		return VG_ERR_NOMEM;
	rc = vg_tls_ctx_apply(ctx, ep, client_key, NULL, why, why_len);
	if (rc != VG_OK) {
		SSL_CTX_free(ctx);
		return rc;
	}
	(void)SSL_CTX_set_mode(ctx,
			       SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	*out = ctx;
	return VG_OK;
}

/* ------------------------------------------------------------------ */
/* Sockets and handshakes                                              */

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

vg_rc vg_tls_tcp_connect(const char *host, uint16_t port, int timeout_ms, int *fd, char *peer,
			 size_t peer_len, char *why, size_t why_len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char service[8], addr[INET6_ADDRSTRLEN];
	uint64_t deadline = vg_mono_ms() + (uint64_t)timeout_ms;
	int err, last = ECONNREFUSED;

	*fd = -1;
	(void)snprintf(service, sizeof service, "%u", (unsigned)port);
	err = getaddrinfo(host, service, &hints, &res);
	if (err != 0) {
		set_why(why, why_len, "%s: %s", host, gai_strerror(err));
		return VG_ERR_UNAVAILABLE;
	}
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			       a->ai_protocol);
		socklen_t sl = sizeof err;
		uint64_t now = vg_mono_ms();

		if (s < 0) {
			last = errno;
			continue;
		}
		if (connect(s, a->ai_addr, a->ai_addrlen) != 0) {
			struct pollfd pf = {.fd = s, .events = POLLOUT};
			int n;

			if (errno != EINPROGRESS) {
				last = errno;
				(void)close(s);
				continue;
			}
			do {
				now = vg_mono_ms();
				n = now >= deadline ? 0 : poll(&pf, 1, (int)(deadline - now));
			} while (n < 0 && errno == EINTR);
			err = ETIMEDOUT;
			if (n != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err) {
				last = n == 1 ? err : ETIMEDOUT;
				(void)close(s);
				if (vg_mono_ms() >= deadline)
					break;
				continue;
			}
		}
		if (fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK) != 0) {
			last = errno;
			(void)close(s);
			continue;
		}
		addr[0] = '\0';
		(void)getnameinfo(a->ai_addr, a->ai_addrlen, addr, sizeof addr, NULL, 0,
				  NI_NUMERICHOST);
		if (peer)
			(void)snprintf(peer, peer_len,
				       a->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr,
				       (unsigned)port);
		*fd = s;
		freeaddrinfo(res);
		return VG_OK;
	}
	freeaddrinfo(res);
	set_why(why, why_len, "%s port %u: %s", host, (unsigned)port, strerror(last));
	return VG_ERR_UNAVAILABLE;
}

/* Why a handshake failed: the recorded refusal, else OpenSSL's error
 * queue read for the refusals that are not verification (version,
 * suites, a client certificate), else an I/O or protocol error. */
static vg_rc handshake_why(SSL *s, int ret, bool have_key, char *why, size_t why_len)
{
	struct result *r = result_of(s);
	int err = SSL_get_error(s, ret), reason = 0;
	unsigned long e, first = 0;
	const char *w = NULL;
	long vr;

	while ((e = ERR_get_error()) != 0)
		if (!first && ERR_GET_LIB(e) == ERR_LIB_SSL)
			first = e;
	if (r && r->why[0]) {
		set_why(why, why_len, "%s", r->why);
		return VG_ERR_VERIFY_FAILED;
	}
	vr = SSL_get_verify_result(s);
	if (vr != X509_V_OK && (w = x509_reason((int)vr)) != NULL) {
		set_why(why, why_len, "%s", w);
		return VG_ERR_VERIFY_FAILED;
	}
	if (first)
		reason = ERR_GET_REASON(first);
	switch (reason) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		w = SSL_CTX_get_min_proto_version(SSL_get_SSL_CTX(s)) == TLS1_3_VERSION
			? "protocol version below TLS 1.3"
			: "protocol version below TLS 1.2";
		break;
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		w = "the server requires a client certificate";
		break;
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_WRONG_CIPHER_RETURNED:
	case SSL_R_NO_CIPHERS_AVAILABLE:
	case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
	case SSL_R_WRONG_SIGNATURE_TYPE:
	case SSL_R_WRONG_CURVE:
	case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
		w = r && r->cert_requested && !have_key ? "the server requires a client certificate"
							: "no acceptable cipher suite";
		break;
	default:
		break;
	}
	if (w) {
		set_why(why, why_len, "%s", w);
		return VG_ERR_VERIFY_FAILED;
	}
	if (first) {
		set_why(why, why_len, "TLS handshake failed: %s", ERR_reason_error_string(first));
		return VG_ERR_PROTOCOL;
	}
	if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		set_why(why, why_len, "the TLS handshake timed out");
		return VG_ERR_UNAVAILABLE;
	}
	set_why(why, why_len, "the connection closed during the TLS handshake");
	return VG_ERR_IO;
}

static vg_tls *tls_new(SSL *s, SSL_CTX *ctx, int fd)
{
	vg_tls *t = calloc(1, sizeof *t);

	if (!t || !SSL_CTX_up_ref(ctx)) {
		free(t);
		return NULL;
	}
	t->ssl = s;
	t->ctx = ctx;
	t->fd = fd;
	return t;
}

vg_rc vg_tls_handshake(SSL_CTX *ctx, const vg_endpoint *ep, int fd, vg_tls **out, char *why,
		       size_t why_len)
{
	SSL *s = NULL;
	struct result *r;
	vg_rc rc = VG_ERR_NOMEM;
	int ret;

	*out = NULL;
	if (!indexes())
		goto fail;
	s = SSL_new(ctx);
	if (!s || !SSL_set_fd(s, fd) || !(r = result_of(s)))
		goto fail;
	if (!is_ip(ep->host) && !SSL_set_tlsext_host_name(s, ep->host)) {
		rc = VG_ERR_INVALID;
		goto fail;
	}
	set_timeouts(fd, VG_TLS_HANDSHAKE_MS);
	ERR_clear_error();
	ret = SSL_connect(s);
	if (ret != 1) {
		rc = handshake_why(s, ret, SSL_CTX_get0_certificate(ctx) != NULL, why, why_len);
		goto fail;
	}
	set_timeouts(fd, 0);
	*out = tls_new(s, ctx, fd);
	if (!*out)
		goto fail;
	(void)snprintf((*out)->soft, sizeof(*out)->soft, "%s", r->soft);
	(void)snprintf((*out)->name, sizeof(*out)->name, "%s", ep->name);
	return VG_OK;
fail:
	SSL_free(s);
	(void)close(fd);
	ERR_clear_error();
	return rc;
}

vg_rc vg_tls_connect_ep(vg_client *c, const vg_endpoint *ep, EVP_PKEY *client_key, vg_tls **out,
			char *why, size_t why_len)
{
	char w[VG_TLS_WHY_LEN] = "", peer[INET6_ADDRSTRLEN + 8] = "";
	SSL_CTX *ctx = NULL;
	int fd = -1;
	vg_rc rc;

	*out = NULL;
	rc = vg_tls_ctx_for(ep, client_key, &ctx, w, sizeof w);
	if (rc != VG_OK)
		goto out;
	rc = vg_tls_tcp_connect(ep->host, ep->port, VG_TLS_CONNECT_TIMEOUT_MS, &fd, peer,
				sizeof peer, w, sizeof w);
	if (rc != VG_OK)
		goto out;
	rc = vg_tls_handshake(ctx, ep, fd, out, w, sizeof w);
	if (c && rc == VG_ERR_VERIFY_FAILED)
		VG_IGNORE(vg_endpoint_report(c, ep->name, peer, false, w));
	if (rc != VG_OK)
		goto out;
	(*out)->c = c;
	(void)snprintf((*out)->peer, sizeof(*out)->peer, "%s", peer);
	if (c)
		VG_IGNORE(vg_endpoint_report(c, ep->name, peer, true, (*out)->soft));
out:
	SSL_CTX_free(ctx);
	if (rc != VG_OK)
		set_why(why, why_len, "%s", w[0] ? w : vg_rc_str(rc));
	return rc;
}

/* The device identity's certificate (SFR 4.2.2) as the client chain when
 * the endpoint names "device-identity" without one of its own. */
#define DEVICE_IDENTITY "device-identity"

VG_EXPORT vg_rc vg_tls_connect(vg_client *c, const char *endpoint, vg_tls **out, char *why,
			       size_t why_len)
{
	vg_endpoint *ep = NULL, e;
	EVP_PKEY *key = NULL;
	char *devcert = NULL;
	size_t devlen = 0;
	char w[VG_TLS_WHY_LEN] = "";
	vg_rc rc;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (!c || !endpoint)
		return VG_ERR_INVALID;
	rc = vg_endpoint_get(c, endpoint, &ep);
	if (rc != VG_OK) {
		set_why(w, sizeof w, "endpoint '%s': %s", endpoint,
			vg_client_last_error(c)[0] ? vg_client_last_error(c) : vg_rc_str(rc));
		goto out;
	}
	e = *ep;
	if (e.client_key[0]) {
		rc = vg_tls_client_key(c, e.client_key, &key, w, sizeof w);
		if (rc != VG_OK)
			goto out;
		if (!e.client_cert_pem && strcmp(e.client_key, DEVICE_IDENTITY) == 0) {
			rc = vg_device_cert(c, &devcert, &devlen);
			if (rc != VG_OK) {
				set_why(w, sizeof w, "the device identity has no certificate: %s",
					vg_rc_str(rc));
				goto out;
			}
			e.client_cert_pem = devcert;
		}
	}
	rc = vg_tls_connect_ep(c, &e, key, out, w, sizeof w);
out:
	if (rc != VG_OK)
		set_why(why, why_len, "%s", w[0] ? w : vg_rc_str(rc));
	if (devcert)
		vg_free(devcert, devlen);
	EVP_PKEY_free(key);
	vg_endpoint_free(ep);
	return rc;
}

VG_EXPORT vg_rc vg_tls_accept(vg_client *c, int fd, const char *key, const char *cert_file,
			      vg_tls **out, char *why, size_t why_len)
{
	char w[VG_TLS_WHY_LEN] = "";
	EVP_PKEY *pkey = NULL;
	SSL_CTX *ctx = NULL;
	SSL *s = NULL;
	vg_rc rc;
	int ret;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (fd < 0 || !key || !cert_file)
		return VG_ERR_INVALID;
	rc = vg_tls_client_key(c, key, &pkey, w, sizeof w);
	if (rc != VG_OK)
		goto out;
	rc = VG_ERR_CRYPTO;
	ctx = SSL_CTX_new_ex(vg_tls_key_libctx(pkey), NULL, TLS_server_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, SUITES_13) || !SSL_CTX_set1_groups_list(ctx, GROUPS))
		goto out;
	(void)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					   SSL_OP_NO_TICKET);
	(void)SSL_CTX_set_mode(ctx,
			       SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		set_why(w, sizeof w, "%s: not a PEM certificate chain", cert_file);
		rc = VG_ERR_INVALID;
		goto out;
	}
	if (!SSL_CTX_use_PrivateKey(ctx, pkey) || !SSL_CTX_check_private_key(ctx)) {
		set_why(w, sizeof w, "%s is not the certificate of key '%s'", cert_file, key);
		rc = VG_ERR_INVALID;
		goto out;
	}
	s = SSL_new(ctx);
	if (!s || !SSL_set_fd(s, fd)) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	set_timeouts(fd, VG_TLS_HANDSHAKE_MS);
	ERR_clear_error();
	ret = SSL_accept(s);
	if (ret != 1) {
		rc = handshake_why(s, ret, true, w, sizeof w);
		goto out;
	}
	set_timeouts(fd, 0);
	*out = tls_new(s, ctx, fd);
	if (!*out) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	s = NULL;
	rc = VG_OK;
out:
	if (rc != VG_OK)
		set_why(why, why_len, "%s", w[0] ? w : vg_rc_str(rc));
	SSL_free(s);
	SSL_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

/* ------------------------------------------------------------------ */
/* Data                                                                */

/* A failed read or write: a refusal the server states after the handshake
 * (TLS 1.3 asks for the client certificate then) is recorded and reported
 * once; a stream cut without close_notify is an error, never an end of
 * data (SFR 4.2.7: erasure). */
static ssize_t io_fail(vg_tls *t, int ret)
{
	int err = SSL_get_error(t->ssl, ret);
	unsigned long e = ERR_peek_last_error();

	switch (err) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (!e) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return -1;
			if (!errno)
				errno = EPIPE;
			(void)snprintf(t->why, sizeof t->why, "connection lost: %s",
				       strerror(errno));
			break;
		}
		/* fall through */
	default:
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
			(void)snprintf(t->why, sizeof t->why,
				       "the server requires a client certificate");
			t->refused = true;
			if (t->c && !t->reported) {
				VG_IGNORE(
				    vg_endpoint_report(t->c, t->name, t->peer, false, t->why));
				t->reported = true;
			}
		} else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
			   ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			(void)snprintf(t->why, sizeof t->why,
				       "the peer closed without close_notify (truncated)");
		} else {
			(void)snprintf(t->why, sizeof t->why, "TLS error: %s",
				       e ? ERR_reason_error_string(e) : "unknown");
		}
		errno = EPROTO;
		break;
	}
	ERR_clear_error();
	return -1;
}

VG_EXPORT ssize_t vg_tls_read(vg_tls *t, void *buf, size_t len)
{
	int n;

	if (!t || !buf) {
		errno = EINVAL;
		return -1;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	/* SSL_get_error needs an empty queue; the data path pays only for
	 * clearing one that is not. */
	if (ERR_peek_error() != 0)
		ERR_clear_error();
	n = SSL_read(t->ssl, buf, (int)len);
	if (n > 0)
		return n;
	if (SSL_get_error(t->ssl, n) == SSL_ERROR_ZERO_RETURN)
		return 0;
	return io_fail(t, n);
}

VG_EXPORT ssize_t vg_tls_write(vg_tls *t, const void *buf, size_t len)
{
	int n;

	if (!t || (!buf && len)) {
		errno = EINVAL;
		return -1;
	}
	if (len == 0)
		return 0;
	if (len > INT_MAX)
		len = INT_MAX;
	if (ERR_peek_error() != 0)
		ERR_clear_error();
	n = SSL_write(t->ssl, buf, (int)len);
	if (n > 0)
		return n;
	return io_fail(t, n);
}

int vg_tls_close_notify(vg_tls *t)
{
	int n;

	if (!t)
		return -1;
	if (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)
		return 0;
	ERR_clear_error();
	n = SSL_shutdown(t->ssl);
	if (n >= 0)
		return 0;
	return (int)io_fail(t, n);
}

/* Waits until fd is ready for events (EINTR retried). */
static int wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	do
		n = poll(&p, 1, -1);
	while (n < 0 && errno == EINTR);
	return n;
}

static int pipe_to_peer(vg_tls *t, const char *buf, size_t len, char *why, size_t why_len)
{
	while (len) {
		ssize_t n = vg_tls_write(t, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (errno == EAGAIN) {
			(void)wait_fd(t->fd, POLLIN | POLLOUT);
		} else {
			set_why(why, why_len, "%s",
				t->why[0] ? t->why : "write to the peer failed");
			return t->refused ? 1 : 2;
		}
	}
	return 0;
}

static int write_out(int fd, const char *buf, size_t len, char *why, size_t why_len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			(void)wait_fd(fd, POLLOUT);
		} else {
			set_why(why, why_len, "output: %s", strerror(errno));
			return 2;
		}
	}
	return 0;
}

int vg_tls_pipe(vg_tls *t, int in, int out, char *why, size_t why_len)
{
	char buf[16384];
	bool in_open = in >= 0;
	int flags, r;

	if (!t)
		return 2;
	flags = fcntl(t->fd, F_GETFL);
	if (flags < 0 || fcntl(t->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		set_why(why, why_len, "socket: %s", strerror(errno));
		return 2;
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = t->fd, .events = POLLIN},
				      {.fd = in_open ? in : -1, .events = POLLIN}};
		ssize_t n;

		/* Everything the peer sent first, including what OpenSSL
		 * already holds (poll cannot see it). */
		for (;;) {
			n = vg_tls_read(t, buf, sizeof buf);
			if (n > 0) {
				if ((r = write_out(out, buf, (size_t)n, why, why_len)) != 0)
					return r;
				continue;
			}
			if (n == 0) {
				/* A clean close: close_notify from the peer. */
				while (vg_tls_close_notify(t) != 0 && errno == EAGAIN)
					(void)wait_fd(t->fd, POLLIN | POLLOUT);
				return 0;
			}
			if (errno == EAGAIN)
				break;
			set_why(why, why_len, "%s",
				t->why[0] ? t->why : "read from the peer failed");
			return t->refused ? 1 : 2;
		}
		n = poll(p, 2, -1);
		if (n < 0 && errno != EINTR) {
			set_why(why, why_len, "poll: %s", strerror(errno));
			return 2;
		}
		if (!in_open || !(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(in, buf, sizeof buf);
		if (n > 0) {
			if ((r = pipe_to_peer(t, buf, (size_t)n, why, why_len)) != 0)
				return r;
		} else if (n == 0) {
			/* End of input: the TLS half-close, then the peer's data
			 * to its own close_notify. */
			in_open = false;
			while (vg_tls_close_notify(t) != 0) {
				if (errno != EAGAIN) {
					set_why(why, why_len, "%s",
						t->why[0] ? t->why : "close_notify failed");
					return 2;
				}
				(void)wait_fd(t->fd, POLLIN | POLLOUT);
			}
		} else if (errno != EINTR && errno != EAGAIN) {
			set_why(why, why_len, "input: %s", strerror(errno));
			return 2;
		}
	}
}

VG_EXPORT int vg_tls_fd(const vg_tls *t)
{
	return t ? t->fd : -1;
}

VG_EXPORT void vg_tls_close(vg_tls *t)
{
	if (!t)
		return;
	if (!(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
		(void)SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	(void)close(t->fd);
	vg_wipe(t, sizeof *t);
	free(t);
	ERR_clear_error();
}

const char *vg_tls_why(const vg_tls *t)
{
	return t ? t->why : "";
}

bool vg_tls_refused(const vg_tls *t)
{
	return t && t->refused;
}

const char *vg_tls_version(const vg_tls *t)
{
	return t ? SSL_get_version(t->ssl) : "";
}

const char *vg_tls_cipher(const vg_tls *t)
{
	return t ? SSL_get_cipher_name(t->ssl) : "";
}

const char *vg_tls_soft_note(const vg_tls *t)
{
	return t ? t->soft : "";
}
