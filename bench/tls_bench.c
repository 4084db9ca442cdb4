/*
 * tls_bench.c - make bench: mutual-TLS 1.3 handshakes per second with the
 * client key in the service (through the provider built into libvoxguard)
 * against the same kind of key in a PEM file, in the same run (issue 12;
 * SFR 4.2.7). Both ends are in this process over a BIO pair, full
 * handshakes (no resumption), ECDSA P-256 client and server keys, X25519;
 * baseline and provider in alternating rounds, medians reported. The floor
 * of the ratio: one service round trip (a P-256 digest signature) per
 * handshake, measured here too.
 *
 *   tls_bench VOXGUARDD SECONDS
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "provider/provider.h"
#include "voxguard/voxguard.h"

#include "bench_util.h"

#define ROUNDS 5

static double secs = 2.0;

static X509 *make_cert(EVP_PKEY *subject, const char *cn, EVP_PKEY *issuer_key, X509 *issuer)
{
	X509 *x = X509_new();
	X509_NAME *nm;

	if (!x || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x),
			     (long)(bench_now() * 1000) & 0x7fffffff) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 3600) || X509_set_pubkey(x, subject) != 1)
		bench_die("certificate");
	nm = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm) != 1)
		bench_die("certificate name");
	if (!issuer) {
		X509_EXTENSION *e =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
		if (!e || X509_add_ext(x, e, -1) != 1)
			bench_die("CA extension");
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		bench_die("sign certificate");
	return x;
}

static SSL_CTX *sctx, *cctx_pem, *cctx_vg;
static X509 *client_cert_vg, *client_cert_pem;

static int handshake_once(SSL_CTX *cctx, X509 *want)
{
	SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
	BIO *b1 = NULL, *b2 = NULL;
	bool cdone = false, sdone = false;
	int ok = 0;

	if (!s || !c || BIO_new_bio_pair(&b1, 0, &b2, 0) != 1)
		bench_die("SSL_new");
	SSL_set_bio(c, b1, b1);
	SSL_set_bio(s, b2, b2);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (int i = 0; i < 100 && !(cdone && sdone); i++) {
		int r;
		if (!cdone) {
			r = SSL_do_handshake(c);
			if (r == 1)
				cdone = true;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			r = SSL_do_handshake(s);
			if (r == 1)
				sdone = true;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				break;
		}
	}
	if (cdone && sdone) {
		X509 *peer = SSL_get1_peer_certificate(s);
		ok = peer && X509_cmp(peer, want) == 0;
		X509_free(peer);
	}
	SSL_free(c);
	SSL_free(s);
	return ok;
}

static double handshakes(SSL_CTX *cctx, X509 *want)
{
	double t0 = bench_now(), t;
	long n = 0;

	do {
		if (!handshake_once(cctx, want))
			bench_die("handshake failed");
		n++;
		t = bench_now() - t0;
	} while (t < secs);
	return (double)n / t;
}

static double hs_pem(void)
{
	return handshakes(cctx_pem, client_cert_pem);
}

static double hs_vg(void)
{
	return handshakes(cctx_vg, client_cert_vg);
}

static vg_client *g_client;
static uint8_t g_dgst[32];

static double service_sign_digest(void)
{
	double t0 = bench_now(), t;
	long n = 0;

	do {
		uint8_t *sig = NULL;
		size_t sl = 0;
		if (vg_key_sign_digest(g_client, "tls", "sha256", g_dgst, sizeof g_dgst, &sig,
				       &sl) != VG_OK)
			bench_die("sign_digest");
		vg_free(sig, sl);
		n++;
		t = bench_now() - t0;
	} while (t < secs);
	return (double)n / t;
}

static EVP_PKEY *g_local, *g_vgkey;
static OSSL_LIB_CTX *g_libctx;

/* The whole signature as libssl makes it: EVP_DigestSign over a
 * CertificateVerify-sized message with the key the provider holds. */
/* The round trip as a handshake meets it: after about 1.5 ms of other
 * work, when the service's threads have gone idle (waking them is most
 * of the gap between the handshake figure and its floor). */
static void cold_round_trip(void)
{
	double sum = 0, t0 = bench_now();
	long n = 0;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(g_local, NULL);

	if (!pc || EVP_PKEY_sign_init(pc) != 1)
		bench_die("local sign");
	while (bench_now() - t0 < secs) {
		uint8_t *sig = NULL;
		size_t sl = 0;
		double a;

		for (int i = 0; i < 60; i++) {
			uint8_t lsig[80];
			size_t ll = sizeof lsig;
			if (EVP_PKEY_sign(pc, lsig, &ll, g_dgst, sizeof g_dgst) != 1)
				bench_die("local sign");
		}
		a = bench_now();
		if (vg_key_sign_digest(g_client, "tls", "sha256", g_dgst, sizeof g_dgst, &sig,
				       &sl) != VG_OK)
			bench_die("sign_digest");
		vg_free(sig, sl);
		sum += bench_now() - a;
		n++;
	}
	EVP_PKEY_CTX_free(pc);
	(void)printf("%-52s %9.1f us (warm: %.1f us)\n",
		     "the same round trip after 1.5 ms of other work", sum / (double)n * 1e6,
		     1e6 / service_sign_digest());
}

static double provider_digest_sign(void)
{
	static const uint8_t msg[130] = {0x20};
	double t0 = bench_now(), t;
	long n = 0;

	do {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		uint8_t sig[80];
		size_t sl = sizeof sig;
		if (!m || EVP_DigestSignInit_ex(m, NULL, "SHA256", g_libctx, NULL, g_vgkey, NULL) != 1 ||
		    EVP_DigestSign(m, sig, &sl, msg, sizeof msg) != 1)
			bench_die("provider DigestSign");
		EVP_MD_CTX_free(m);
		n++;
		t = bench_now() - t0;
	} while (t < secs);
	return (double)n / t;
}

static double local_sign_digest(void)
{
	double t0 = bench_now(), t;
	long n = 0;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(g_local, NULL);

	if (!pc || EVP_PKEY_sign_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1)
		bench_die("local sign");
	do {
		uint8_t sig[80];
		size_t sl = sizeof sig;
		if (EVP_PKEY_sign(pc, sig, &sl, g_dgst, sizeof g_dgst) != 1)
			bench_die("local sign");
		n++;
		t = bench_now() - t0;
	} while (t < secs);
	EVP_PKEY_CTX_free(pc);
	return (double)n / t;
}

static void figure(const char *what, bench_meter ours, bench_meter base, const char *base_name)
{
	bench_medians m = bench_alternate(ours, base, ROUNDS, &secs);

	(void)printf("%-52s %9.0f /s   %-26s %9.0f /s   ratio %5.2f\n", what, m.ours, base_name,
		     m.base, m.ratio);
}

static SSL_CTX *client_ctx(OSSL_LIB_CTX *libctx, X509 *ca, X509 *cert, EVP_PKEY *key)
{
	SSL_CTX *c = SSL_CTX_new_ex(libctx, NULL, TLS_client_method());

	if (!c || SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate(c, cert) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1 ||
	    SSL_CTX_check_private_key(c) != 1 ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(c), ca) != 1 ||
	    SSL_CTX_set1_groups_list(c, "X25519") != 1)
		bench_die("client context");
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	return c;
}

int main(int argc, char **argv)
{
	char pemf[320];
	bench_svc svc;
	OSSL_LIB_CTX *libctx;
	EVP_PKEY *ca_key, *skey, *vg_key = NULL, *vg_pub, *pem_key;
	X509 *ca, *scert;
	char *pub_pem = NULL;
	size_t pub_len = 0;
	FILE *f;
	BIO *b;

	if (argc != 3)
		bench_die("usage: tls_bench VOXGUARDD SECONDS");
	secs = atof(argv[2]);
	if (secs <= 0)
		secs = 2.0;
	(void)signal(SIGPIPE, SIG_IGN);
	bench_svc_prepare(&svc, "vgtlsbench", NULL, 0);
	if (snprintf(pemf, sizeof pemf, "%s/client.key", svc.dir) >= (int)sizeof pemf)
		bench_die("temporary directory path too long");
	(void)bench_svc_start(&svc, argv[1]);

	if (vg_client_open(&g_client, svc.sock) != VG_OK ||
	    vg_key_create(g_client, "tls", VG_KEY_P256, 0) != VG_OK ||
	    vg_key_public_pem(g_client, "tls", &pub_pem, &pub_len) != VG_OK)
		bench_die("service key");
	b = BIO_new_mem_buf(pub_pem, (int)pub_len);
	vg_pub = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	vg_free(pub_pem, pub_len);

	/* The PKI, the server, and the client key in a PEM file. */
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	skey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	g_local = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!vg_pub || !ca_key || !skey || !g_local)
		bench_die("keys");
	f = fopen(pemf, "w");
	if (!f || PEM_write_PrivateKey(f, g_local, NULL, NULL, 0, NULL, NULL) != 1)
		bench_die("PEM key file");
	(void)fclose(f);
	ca = make_cert(ca_key, "bench CA", ca_key, NULL);
	scert = make_cert(skey, "server", ca_key, ca);
	client_cert_vg = make_cert(vg_pub, "device (service key)", ca_key, ca);
	client_cert_pem = make_cert(g_local, "device (PEM key)", ca_key, ca);

	sctx = SSL_CTX_new(TLS_server_method());
	if (!sctx || SSL_CTX_use_certificate(sctx, scert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, skey) != 1 ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), ca) != 1 ||
	    SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION) != 1)
		bench_die("server context");
	SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(sctx, 0);

	/* One library context for both clients: the provider is loaded in
	 * it either way; only where the key lives differs. */
	libctx = OSSL_LIB_CTX_new();
	if (!libctx || vg_provider_load_into(libctx, svc.sock) != 1 ||
	    vg_provider_load_key(libctx, "tls", &vg_key) != VG_OK)
		bench_die("provider");
	f = fopen(pemf, "r");
	pem_key = f ? PEM_read_PrivateKey_ex(f, NULL, NULL, NULL, libctx, NULL) : NULL;
	if (f)
		(void)fclose(f);
	if (!pem_key)
		bench_die("PEM key");
	cctx_vg = client_ctx(libctx, ca, client_cert_vg, vg_key);
	cctx_pem = client_ctx(libctx, ca, client_cert_pem, pem_key);
	if (RAND_bytes(g_dgst, sizeof g_dgst) != 1)
		bench_die("rand");

	(void)printf("TLS client key in the service (%.1f s per figure, medians of %d rounds)\n",
		     secs, ROUNDS);
	figure("mTLS 1.3 handshakes, P-256 client key in the service", hs_vg, hs_pem,
	       "same, key in a PEM file");
	figure("floor: P-256 digest signature through the service", service_sign_digest,
	       local_sign_digest, "in-process ECDSA P-256");
	g_libctx = libctx;
	g_vgkey = vg_key;
	cold_round_trip();
	figure("provider overhead: EVP_DigestSign via the provider", provider_digest_sign,
	       service_sign_digest, "vg_key_sign_digest() direct");

	SSL_CTX_free(cctx_vg);
	SSL_CTX_free(cctx_pem);
	SSL_CTX_free(sctx);
	EVP_PKEY_free(vg_key);
	EVP_PKEY_free(pem_key);
	vg_provider_unload(libctx);
	OSSL_LIB_CTX_free(libctx);
	vg_client_close(&g_client);
	(void)unlink(pemf);
	bench_svc_cleanup(&svc);
	return 0;
}
