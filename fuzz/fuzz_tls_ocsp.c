/*
 * fuzz_tls_ocsp.c - libFuzzer harness for what the TLS channel reads from
 * the network and from an endpoint's policy (SFR 4.2.7; hostile input: a
 * stapled OCSP response comes from the TLS peer, a queried one over plain
 * HTTP): the first byte picks the parser, the rest is its input.
 *   0: a DER OCSP response through vg_tls_ocsp_check_der, for a fixed
 *      certificate (the seeds are real responses for it: good, revoked,
 *      stale); whatever the bytes, the answer is one of the three codes
 *      with a terminated reason, and "good" only for a response that
 *      verifies against the fixed trust store.
 *   1: a CA set (PEM text) through vg_tls_pem_certs.
 *   2: an endpoint with that CA set and revocation "crl" with the bytes as
 *      its CRL (PEM), through vg_tls_ctx_for.
 * Seed corpus: fuzz/corpus/tls_ocsp/ (made with tests/tls_pki.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "tls/channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char root_pem[] = "-----BEGIN CERTIFICATE-----\n"
			       "MIIBjDCCATKgAwIBAgIBATAKBggqhkjOPQQDAjAdMRswGQYDVQQDDBJ2b3hndWFy\n"
			       "ZC10ZXN0LXJvb3QwHhcNMjYxMjA2MDI1MzI3WhcNMzYxMjAzMDI1MzI3WjAdMRsw\n"
			       "GQYDVQQDDBJ2b3hndWFyZC10ZXN0LXJvb3QwWTATBgcqhkjOPQIBBggqhkjOPQMB\n"
			       "BwNCAASk/IMLsFsDIUhhE3IgEKHhWkq2gD8MhxhZJWBUs8/ILeGOqxk2y6W6uo+w\n"
			       "BdH8DKXJFzzN2tYwIUxcGSvKeB2Ao2MwYTAPBgNVHRMBAf8EBTADAQH/MA4GA1Ud\n"
			       "DwEB/wQEAwIBBjAdBgNVHQ4EFgQU1G9ewg+V/DkOm06Bp79NagCMq+4wHwYDVR0j\n"
			       "BBgwFoAU1G9ewg+V/DkOm06Bp79NagCMq+4wCgYIKoZIzj0EAwIDSAAwRQIhAOIz\n"
			       "ysvWsIUr3nmed726Js4hUaeh8PKCJAP3jBNSnAZ2AiBayFwF1ZNrj+WLzOdpowUp\n"
			       "KKyIn5wOeCxeMa5ges6Gbg==\n"
			       "-----END CERTIFICATE-----\n";
static const char inter_pem[] = "-----BEGIN CERTIFICATE-----\n"
				"MIIBmjCCAUCgAwIBAgICAQAwCgYIKoZIzj0EAwIwHTEbMBkGA1UEAwwSdm94Z3Vh\n"
				"cmQtdGVzdC1yb290MCAXDTIwMDEwMTAwMDAwMFoYDzIwOTkxMjMxMDAwMDAwWjAl\n"
				"MSMwIQYDVQQDDBp2b3hndWFyZC10ZXN0LWludGVybWVkaWF0ZTBZMBMGByqGSM49\n"
				"AgEGCCqGSM49AwEHA0IABPC3xDKV/6e79A4NM8W4zyMGSTAG4iKo3JdBrT/gUM+O\n"
				"EVDjwL+RyZP6not4RFVW8y/+wP0an7oQOfC8PdswS6GjZjBkMBIGA1UdEwEB/wQI\n"
				"MAYBAf8CAQAwDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBSKp3lPLoN4wsEZsyjv\n"
				"CW3ui+5FrzAfBgNVHSMEGDAWgBTUb17CD5X8OQ6bToGnv01qAIyr7jAKBggqhkjO\n"
				"PQQDAgNIADBFAiBq4L389oD4GSQL1voodC3T/XpbghXjEt/ycdDCWrGQYwIhAOei\n"
				"m276eZy5k0Io38puylK+6fxoSqMwuPFUMFkj2xKj\n"
				"-----END CERTIFICATE-----\n";
static const char leaf_pem[] = "-----BEGIN CERTIFICATE-----\n"
			       "MIIB7DCCAZKgAwIBAgICEAAwCgYIKoZIzj0EAwIwJTEjMCEGA1UEAwwadm94Z3Vh\n"
			       "cmQtdGVzdC1pbnRlcm1lZGlhdGUwHhcNMjAwMTAxMDAwMDAwWhcNMzUxMjMxMDAw\n"
			       "MDAwWjAPMQ0wCwYDVQQDDARnb29kMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
			       "uEcUYxfE1WXatEoLDh1JNAPaILhCfD6X65n59coLX0jcBKcItKLUqjOONb5vKoTr\n"
			       "AZklACoZng2xelSgQLZtzKOBxzCBxDAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQE\n"
			       "AwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAaBgNVHREEEzARgglsb2NhbGhvc3SH\n"
			       "BH8AAAEwMwYIKwYBBQUHAQEEJzAlMCMGCCsGAQUFBzABhhdodHRwOi8vMTI3LjAu\n"
			       "MC4xOjQ1Njc4LzAfBgNVHSMEGDAWgBSKp3lPLoN4wsEZsyjvCW3ui+5FrzAdBgNV\n"
			       "HQ4EFgQUeHFIdz1THtg7CPdZBhoAQFrGZjQwCgYIKoZIzj0EAwIDSAAwRQIhAPOP\n"
			       "k4whjTRbJ62R69rcau1qGFlHdx/hNtx9z+hFTKeqAiAN1SNMda+SBN1LtyqZ0ihB\n"
			       "gbf+oJbnlU400yN+20AxTw==\n"
			       "-----END CERTIFICATE-----\n";

static X509 *root, *inter, *leaf;
static X509_STORE *store;
static STACK_OF(X509) * chain;

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (!x)
		abort();
	return x;
}

static void init(void)
{
	root = pem_cert(root_pem);
	inter = pem_cert(inter_pem);
	leaf = pem_cert(leaf_pem);
	store = X509_STORE_new();
	chain = sk_X509_new_null();
	if (!store || !chain || !X509_STORE_add_cert(store, root) || !sk_X509_push(chain, leaf) ||
	    !sk_X509_push(chain, inter))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[VG_TLS_WHY_LEN], *text;
	vg_rc rc;

	if (!store)
		init();
	if (size < 1)
		return 0;
	memset(why, 'x', sizeof why);
	switch (data[0] % 3) {
	case 0:
		rc = vg_tls_ocsp_check_der(data + 1, size - 1, leaf, inter, chain, store, why,
					   sizeof why);
		if ((rc != VG_OK && rc != VG_ERR_UNAVAILABLE && rc != VG_ERR_VERIFY_FAILED) ||
		    (rc != VG_OK && memchr(why, 0, sizeof why) == NULL))
			abort();
		break;
	case 1: {
		STACK_OF(X509) * sk;
		text = malloc(size);
		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		sk = vg_tls_pem_certs(text, VG_TLS_MAX_CAS);
		if (sk && (sk_X509_num(sk) < 1 || (size_t)sk_X509_num(sk) > VG_TLS_MAX_CAS))
			abort();
		sk_X509_pop_free(sk, X509_free);
		free(text);
		break;
	}
	default: {
		vg_endpoint ep;
		SSL_CTX *ctx = NULL;
		memset(&ep, 0, sizeof ep);
		strcpy(ep.name, "fuzz");
		strcpy(ep.host, "localhost");
		ep.port = 443;
		ep.ca_pem = (char *)root_pem;
		ep.revocation = VG_REVOCATION_CRL;
		text = malloc(size);
		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		ep.crl_pem = text;
		rc = vg_tls_ctx_for(&ep, NULL, &ctx, why, sizeof why);
		if ((rc == VG_OK) != (ctx != NULL) ||
		    (rc != VG_OK && memchr(why, 0, sizeof why) == NULL))
			abort();
		SSL_CTX_free(ctx);
		free(text);
		break;
	}
	}
	ERR_clear_error();
	return 0;
}
