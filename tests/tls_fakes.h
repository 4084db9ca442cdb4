/*
 * tls_fakes.h - test data behind the TLS channel's link seam (tls_fakes.c).
 */
#ifndef VG_TESTS_TLS_FAKES_H
#define VG_TESTS_TLS_FAKES_H

#include <stdbool.h>

#include <openssl/evp.h>

#include "voxguard/tls.h"

/* vg_endpoint_get returns a copy of this endpoint when the name matches,
 * VG_ERR_DENIED otherwise (or when NULL). */
extern const vg_endpoint *tls_fake_ep;
/* vg_provider_load_key(NAME) loads KEY_DIR/NAME.key (PEM). */
extern const char *tls_fake_key_dir;
/* vg_device_cert returns this PEM (NULL: VG_ERR_NOT_FOUND). */
extern const char *tls_fake_device_cert;

/* The last vg_endpoint_report, and how many there were. */
struct tls_fake_report {
	bool ok;
	char name[160];
	char peer[300];
	char reason[300];
};
extern struct tls_fake_report tls_fake_last;
extern int tls_fake_reports;
/* vg_provider_load_into(_as) calls, and the socket and service user of
 * the last vg_provider_load_into_as ("(null)" for NULL). */
extern int tls_fake_loads;
extern char tls_fake_load_socket[256];
extern char tls_fake_load_user[256];

/* What the tests pass as a vg_client: vg_client_service gives these. */
struct tls_fake_client {
	const char *socket;
	const char *user;
};

#endif
