/*
 * channel_curl.c - the endpoint's policy on a libcurl easy handle
 * (vg_tls_curl_setup; SFR 4.2.7, 4.2.8, AVS 1.3): for applications that
 * speak HTTP/2 through libcurl, like the AVS Device SDK.
 *
 * libcurl (OpenSSL backend) makes a new SSL_CTX for every connection and
 * hands it to CURLOPT_SSL_CTX_FUNCTION before the handshake; there the
 * policy of channel.c is applied whole (the trust store, versions, suites,
 * pins, revocation, the client key in the service), and the URL the
 * connection is for is checked against the endpoint's host and port.
 *
 * libcurl has no callback when a handle is freed, so the policy a handle
 * uses lives in a slot per (endpoint, client) that is never freed: setting
 * up another handle for the same pair replaces the slot's policy, which
 * every handle of the pair then uses for its next connection. There are
 * at most CURL_SLOTS pairs in a process.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/util.h"
#include "tls/channel.h"

#define CURL_SLOTS 64u

struct curl_policy {
	vg_endpoint ep; /* a deep copy */
	EVP_PKEY *key;  /* the client key (provider), or NULL */
};

struct slot {
	bool used;
	char name[VG_MAX_NAME_LEN + 1];
	vg_client *c;
	struct curl_policy *cur;
};

static struct slot slots[CURL_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static void policy_free(struct curl_policy *p)
{
	if (!p)
		return;
	free(p->ep.ca_pem);
	free(p->ep.crl_pem);
	free(p->ep.client_cert_pem);
	EVP_PKEY_free(p->key);
	free(p);
}

static char *dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

/* The URL this connection is for: https, and the endpoint's host and
 * port, or the connection is refused before its handshake. */
static bool url_is_endpoint(CURL *curl, const vg_endpoint *ep, char *why, size_t why_len)
{
	char *url = NULL, *scheme = NULL, *host = NULL, *port = NULL;
	CURLU *u = curl_url();
	bool ok = false;
	size_t hl;

	if (!u || curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		(void)snprintf(why, why_len, "the connection's URL cannot be read");
		goto out;
	}
	/* IPv6 literals come bracketed. */
	hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if (strcasecmp(scheme, "https") != 0 || strcasecmp(host, ep->host) != 0 ||
	    strtoul(port, NULL, 10) != ep->port) {
		(void)snprintf(why, why_len,
			       "URL %.8s://%.64s:%.8s is not endpoint %.64s (%.64s:%u)", scheme,
			       host, port, ep->name, ep->host, (unsigned)ep->port);
		goto out;
	}
	ok = true;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *arg)
{
	struct slot *s = arg;
	char why[VG_TLS_WHY_LEN] = "";
	CURLcode ret = CURLE_SSL_CONNECT_ERROR;
	vg_rc rc = VG_ERR_INVALID;

	if (!s)
		return CURLE_SSL_CONNECT_ERROR; /* a handle whose set-up failed */
	if (pthread_mutex_lock(&slots_lock) != 0)
		return CURLE_SSL_CONNECT_ERROR;
	if (s->cur && url_is_endpoint(curl, &s->cur->ep, why, sizeof why)) {
		rc = vg_tls_ctx_apply(sslctx, &s->cur->ep, s->cur->key, s->c, why, sizeof why);
		if (rc == VG_OK)
			ret = CURLE_OK;
	} else if (s->cur && s->c) {
		char peer[VG_EP_MAX_HOST + 8];
		(void)snprintf(peer, sizeof peer, "%s:%u", s->cur->ep.host,
			       (unsigned)s->cur->ep.port);
		VG_IGNORE(vg_endpoint_report(s->c, s->name, peer, false, why));
	}
	(void)pthread_mutex_unlock(&slots_lock);
	return ret;
}

/* Takes p into the slot of (name, c), replacing its policy. */
static vg_rc slot_put(const char *name, vg_client *c, struct curl_policy *p, struct slot **out)
{
	struct slot *free_slot = NULL, *s = NULL;

	if (pthread_mutex_lock(&slots_lock) != 0)
		return VG_ERR_INTERNAL;
	for (size_t i = 0; i < CURL_SLOTS && !s; i++) {
		if (slots[i].used && slots[i].c == c && strcmp(slots[i].name, name) == 0)
			s = &slots[i];
		else if (!slots[i].used && !free_slot)
			free_slot = &slots[i];
	}
	if (!s && free_slot) {
		s = free_slot;
		s->used = true;
		s->c = c;
		(void)snprintf(s->name, sizeof s->name, "%s", name);
	}
	if (s) {
		policy_free(s->cur);
		s->cur = p;
	}
	(void)pthread_mutex_unlock(&slots_lock);
	*out = s;
	return s ? VG_OK : VG_ERR_QUOTA;
}

#define SETOPT(h, o, v)                                          \
	do {                                                     \
		if (curl_easy_setopt((h), (o), (v)) != CURLE_OK) \
			return VG_ERR_UNSUPPORTED;               \
	} while (0)

static vg_rc apply_opts(CURL *h, const vg_endpoint *ep, struct slot *s)
{
	struct curl_blob ca = {
	    .data = ep->ca_pem, .len = strlen(ep->ca_pem), .flags = CURL_BLOB_COPY};

	/* TLS only: a plain http:// URL (or a redirect to one) never leaves. */
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "https");
	SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(
	    h, CURLOPT_SSLVERSION,
	    (long)(ep->min_version == 0x0304 ? CURL_SSLVERSION_TLSv1_3 : CURL_SSLVERSION_TLSv1_2));
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	/* The endpoint's CA set and nothing else: libcurl fills the store
	 * the callback set after it, from these (never the system bundle). */
	SETOPT(h, CURLOPT_CAINFO, (char *)NULL);
	SETOPT(h, CURLOPT_CAPATH, (char *)NULL);
	SETOPT(h, CURLOPT_CAINFO_BLOB, &ca);
	SETOPT(h, CURLOPT_CRLFILE, (char *)NULL);
	SETOPT(h, CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NO_PARTIALCHAIN);
	SETOPT(h, CURLOPT_SSL_VERIFYSTATUS, 0L); /* the policy checks the staple */
	/* Every connection makes a full handshake, so that every connection
	 * is checked (revocation included). */
	SETOPT(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	/* The client certificate is the endpoint's (the callback sets it). */
	SETOPT(h, CURLOPT_SSLCERT, (char *)NULL);
	SETOPT(h, CURLOPT_SSLKEY, (char *)NULL);
	SETOPT(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	SETOPT(h, CURLOPT_SSL_CTX_DATA, (void *)s);
	return VG_OK;
}

/* Fail closed: a handle whose set-up failed can make no connection at all
 * (https only, and every TLS connection refused by the callback), in case
 * the application goes on without checking. */
static void poison(CURL *h)
{
	(void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	(void)curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	(void)curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	(void)curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, (void *)NULL);
}

VG_EXPORT vg_rc vg_tls_curl_setup(vg_client *c, void *curl, const char *endpoint)
{
	char why[VG_TLS_WHY_LEN] = "";
	vg_endpoint *ep = NULL;
	struct curl_policy *p = NULL;
	struct slot *s = NULL;
	SSL_CTX *probe = NULL;
	char *devcert = NULL;
	size_t devlen = 0;
	bool ok = true;
	vg_rc rc;

	if (!c || !curl || !endpoint)
		return VG_ERR_INVALID;
	rc = vg_endpoint_get(c, endpoint, &ep);
	if (rc != VG_OK) {
		poison(curl);
		return rc;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	p->ep = *ep;
	p->ep.ca_pem = dup_or_null(ep->ca_pem, &ok);
	p->ep.crl_pem = dup_or_null(ep->crl_pem, &ok);
	p->ep.client_cert_pem = dup_or_null(ep->client_cert_pem, &ok);
	if (!ok || !p->ep.ca_pem) {
		rc = ok ? VG_ERR_INVALID : VG_ERR_NOMEM;
		goto out;
	}
	if (p->ep.client_key[0]) {
		rc = vg_tls_client_key(c, p->ep.client_key, &p->key, why, sizeof why);
		if (rc != VG_OK)
			goto out;
		if (!p->ep.client_cert_pem && strcmp(p->ep.client_key, "device-identity") == 0) {
			rc = vg_device_cert(c, &devcert, &devlen);
			if (rc != VG_OK)
				goto out;
			p->ep.client_cert_pem = strdup(devcert);
			if (!p->ep.client_cert_pem) {
				rc = VG_ERR_NOMEM;
				goto out;
			}
		}
	}
	/* The policy must apply before a handle is given it. */
	rc = vg_tls_ctx_for(&p->ep, p->key, &probe, why, sizeof why);
	if (rc != VG_OK)
		goto out;
	rc = slot_put(endpoint, c, p, &s);
	if (rc != VG_OK)
		goto out;
	p = NULL;
	rc = apply_opts(curl, ep, s);
out:
	if (rc != VG_OK)
		poison(curl);
	SSL_CTX_free(probe);
	if (devcert)
		vg_free(devcert, devlen);
	policy_free(p);
	vg_endpoint_free(ep);
	return rc;
}
