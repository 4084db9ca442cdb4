/*
 * tls_fakes.c - the link seam of the TLS channel's tests (and its bench):
 * the endpoint list (vg_endpoint_get/free/report) and the voxguard
 * provider (vg_provider_load_into/load_into_as/load_key), the service a
 * vg_client talks to (vg_client_service) and the device certificate,
 * taken from test data instead of a service. Linked with
 * -Wl,--wrap=SYMBOL for each, so that src/tls/channel.c calls these;
 * never part of libvoxguard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/provider.h>

#include "tls_fakes.h"

const vg_endpoint *tls_fake_ep;
const char *tls_fake_key_dir;
const char *tls_fake_device_cert;
struct tls_fake_report tls_fake_last;
int tls_fake_reports;
int tls_fake_loads;
char tls_fake_load_socket[256];
char tls_fake_load_user[256];

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

vg_rc __wrap_vg_endpoint_get(vg_client *c, const char *name, vg_endpoint **out);
vg_rc __wrap_vg_endpoint_get(vg_client *c, const char *name, vg_endpoint **out)
{
	vg_endpoint *e;

	(void)c;
	*out = NULL;
	if (!tls_fake_ep || strcmp(tls_fake_ep->name, name) != 0)
		return VG_ERR_DENIED; /* not listed for the caller */
	e = malloc(sizeof *e);
	if (!e)
		return VG_ERR_NOMEM;
	*e = *tls_fake_ep;
	e->ca_pem = dup_or_null(tls_fake_ep->ca_pem);
	e->crl_pem = dup_or_null(tls_fake_ep->crl_pem);
	e->client_cert_pem = dup_or_null(tls_fake_ep->client_cert_pem);
	*out = e;
	return VG_OK;
}

void __wrap_vg_endpoint_free(vg_endpoint *ep);
void __wrap_vg_endpoint_free(vg_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->ca_pem);
	free(ep->crl_pem);
	free(ep->client_cert_pem);
	free(ep);
}

vg_rc __wrap_vg_endpoint_report(vg_client *c, const char *name, const char *peer, bool ok,
				const char *reason);
vg_rc __wrap_vg_endpoint_report(vg_client *c, const char *name, const char *peer, bool ok,
				const char *reason)
{
	(void)c;
	tls_fake_reports++;
	tls_fake_last.ok = ok;
	(void)snprintf(tls_fake_last.name, sizeof tls_fake_last.name, "%s", name ? name : "");
	(void)snprintf(tls_fake_last.peer, sizeof tls_fake_last.peer, "%s", peer ? peer : "");
	(void)snprintf(tls_fake_last.reason, sizeof tls_fake_last.reason, "%s",
		       reason ? reason : "");
	return VG_OK;
}

int __wrap_vg_provider_load_into(OSSL_LIB_CTX *libctx, const char *socket_path);
int __wrap_vg_provider_load_into(OSSL_LIB_CTX *libctx, const char *socket_path)
{
	(void)libctx;
	(void)socket_path;
	tls_fake_loads++;
	return 1;
}

/* Records what it was asked for; loads the default provider, as the real
 * one does, for the fake keys. */
int __wrap_vg_provider_load_into_as(OSSL_LIB_CTX *libctx, const char *socket_path,
				    const char *service_user);
int __wrap_vg_provider_load_into_as(OSSL_LIB_CTX *libctx, const char *socket_path,
				    const char *service_user)
{
	tls_fake_loads++;
	(void)snprintf(tls_fake_load_socket, sizeof tls_fake_load_socket, "%s",
		       socket_path ? socket_path : "(null)");
	(void)snprintf(tls_fake_load_user, sizeof tls_fake_load_user, "%s",
		       service_user ? service_user : "(null)");
	return OSSL_PROVIDER_load(libctx, "default") ? 1 : 0;
}

/* The tests' vg_client is a struct tls_fake_client. */
void __wrap_vg_client_service(const vg_client *c, const char **socket_path,
			      const char **service_user);
void __wrap_vg_client_service(const vg_client *c, const char **socket_path,
			      const char **service_user)
{
	const struct tls_fake_client *f = (const struct tls_fake_client *)c;

	*socket_path = f->socket;
	*service_user = f->user;
}

/* The key NAME is the PEM file KEY_DIR/NAME.key, loaded in libctx. */
vg_rc __wrap_vg_provider_load_key(OSSL_LIB_CTX *libctx, const char *name, EVP_PKEY **out);
vg_rc __wrap_vg_provider_load_key(OSSL_LIB_CTX *libctx, const char *name, EVP_PKEY **out)
{
	char path[512];
	BIO *b;

	*out = NULL;
	if (!tls_fake_key_dir)
		return VG_ERR_UNAVAILABLE;
	(void)snprintf(path, sizeof path, "%s/%s.key", tls_fake_key_dir, name);
	b = BIO_new_file(path, "r");
	if (!b)
		return VG_ERR_NOT_FOUND;
	*out = PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, libctx, NULL);
	BIO_free(b);
	return *out ? VG_OK : VG_ERR_CRYPTO;
}

vg_rc __wrap_vg_device_cert(vg_client *c, char **pem, size_t *len);
vg_rc __wrap_vg_device_cert(vg_client *c, char **pem, size_t *len)
{
	(void)c;
	*pem = NULL;
	*len = 0;
	if (!tls_fake_device_cert)
		return VG_ERR_NOT_FOUND;
	*pem = strdup(tls_fake_device_cert);
	if (!*pem)
		return VG_ERR_NOMEM;
	*len = strlen(*pem) + 1;
	return VG_OK;
}

/* The tests' vg_client is a dummy: the service's last error is "". */
const char *__wrap_vg_client_last_error(const vg_client *c);
const char *__wrap_vg_client_last_error(const vg_client *c)
{
	(void)c;
	return "";
}
