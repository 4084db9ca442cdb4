/*
 * tls_bulk_bench.c - bulk throughput through the TLS channel (vg_tls_read /
 * vg_tls_write with an endpoint's policy) against plain OpenSSL with the
 * same suite, in the same run (issue 12; goal >= 0.98: the service is not
 * on the data path, only in the handshake).
 *
 *   tls_bulk_bench [MIB] [ROUNDS]
 *
 * Both sides over an AF_UNIX socketpair, the server a plain OpenSSL
 * thread, TLS 1.3 with TLS_AES_256_GCM_SHA384 (the suite the policy
 * prefers), a fresh connection per round; MIB MiB (default 256) each way
 * per round, ROUNDS (default 5) rounds alternating channel and baseline;
 * the medians are reported.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/channel.h"

#include "bench_util.h"

#define CHUNK 16384
#define SUITE "TLS_AES_256_GCM_SHA384"

static EVP_PKEY *srv_key;
static X509 *srv_cert;
static char *ca_pem;
static size_t total;

/* Wall-clock time, or with BENCH_CPU the process's CPU time (both ends
 * are threads of this process): on a loaded machine the CPU cost per byte
 * is steadier than the wall clock. */
static double now(void)
{
	static int cpu = -1;
	struct timespec ts;

	if (cpu < 0)
		cpu = getenv("BENCH_CPU") != NULL;
	(void)clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A P-256 key and a self-signed certificate for localhost: the server's
 * and, as the endpoint's CA set, the client's trust anchor. */
static void make_cert(void)
{
	X509_NAME *n;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	BIO *b;
	BUF_MEM *m;

	srv_key = EVP_EC_gen("P-256");
	srv_cert = X509_new();
	if (!srv_key || !srv_cert)
		bench_die("key");
	(void)X509_set_version(srv_cert, 2);
	(void)ASN1_INTEGER_set(X509_get_serialNumber(srv_cert), 1);
	(void)X509_gmtime_adj(X509_getm_notBefore(srv_cert), -3600);
	(void)X509_gmtime_adj(X509_getm_notAfter(srv_cert), 86400);
	(void)X509_set_pubkey(srv_cert, srv_key);
	n = X509_get_subject_name(srv_cert);
	(void)X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
					 -1, -1, 0);
	(void)X509_set_issuer_name(srv_cert, n);
	X509V3_set_ctx(&v3, srv_cert, srv_cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost");
	if (!ext || !X509_add_ext(srv_cert, ext, -1))
		bench_die("SAN");
	X509_EXTENSION_free(ext);
	if (!X509_sign(srv_cert, srv_key, EVP_sha256()))
		bench_die("sign");
	b = BIO_new(BIO_s_mem());
	if (!b || !PEM_write_bio_X509(b, srv_cert))
		bench_die("PEM");
	BIO_get_mem_ptr(b, &m);
	ca_pem = strndup(m->data, m->length);
	BIO_free(b);
}

struct srv {
	int fd;
	int ok;
};

/* The server: writes total bytes, then reads total bytes, then closes. */
static void *server(void *arg)
{
	struct srv *s = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl;
	static char buf[CHUNK];
	size_t done = 0;

	if (!ctx || !SSL_CTX_set_ciphersuites(ctx, SUITE) ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_use_certificate(ctx, srv_cert) || !SSL_CTX_use_PrivateKey(ctx, srv_key))
		bench_die("server ctx");
	(void)SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, s->fd) || SSL_accept(ssl) != 1)
		bench_die("server handshake");
	memset(buf, 'v', sizeof buf);
	while (done < total) {
		int n = SSL_write(ssl, buf, CHUNK);
		if (n <= 0)
			bench_die("server write");
		done += (size_t)n;
	}
	done = 0;
	while (done < total) {
		int n = SSL_read(ssl, buf, CHUNK);
		if (n <= 0)
			bench_die("server read");
		done += (size_t)n;
	}
	(void)SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	(void)close(s->fd);
	s->ok = 1;
	return NULL;
}

/* One round: seconds to read total bytes and to write total bytes. */
static void round_channel(double *rd, double *wr)
{
	vg_endpoint ep;
	SSL_CTX *ctx = NULL;
	vg_tls *t = NULL;
	char why[VG_TLS_WHY_LEN];
	static char buf[CHUNK];
	struct srv s = {0};
	pthread_t th;
	int sv[2];
	size_t done = 0;
	double t0;

	memset(&ep, 0, sizeof ep);
	strcpy(ep.name, "bench");
	strcpy(ep.host, "localhost");
	ep.port = 443;
	ep.ca_pem = ca_pem;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		bench_die("socketpair");
	s.fd = sv[1];
	if (pthread_create(&th, NULL, server, &s) != 0)
		bench_die("thread");
	if (vg_tls_ctx_for(&ep, NULL, &ctx, why, sizeof why) != VG_OK ||
	    vg_tls_handshake(ctx, &ep, sv[0], &t, why, sizeof why) != VG_OK) {
		(void)fprintf(stderr, "tls_bulk_bench: channel: %s\n", why);
		exit(2);
	}
	SSL_CTX_free(ctx);
	if (strcmp(vg_tls_cipher(t), SUITE) != 0)
		bench_die("the channel negotiated another suite");
	t0 = now();
	while (done < total) {
		ssize_t n = vg_tls_read(t, buf, sizeof buf);
		if (n <= 0)
			bench_die("channel read");
		done += (size_t)n;
	}
	*rd = now() - t0;
	memset(buf, 'c', sizeof buf);
	done = 0;
	t0 = now();
	while (done < total) {
		ssize_t n = vg_tls_write(t, buf, sizeof buf);
		if (n <= 0)
			bench_die("channel write");
		done += (size_t)n;
	}
	*wr = now() - t0;
	vg_tls_close(t);
	(void)pthread_join(th, NULL);
	if (!s.ok)
		bench_die("server");
}

static void round_plain(double *rd, double *wr)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_STORE *st = X509_STORE_new();
	static char buf[CHUNK];
	struct srv s = {0};
	pthread_t th;
	SSL *ssl;
	int sv[2];
	size_t done = 0;
	double t0;

	if (!ctx || !st || !X509_STORE_add_cert(st, srv_cert) ||
	    !SSL_CTX_set_ciphersuites(ctx, SUITE))
		bench_die("plain ctx");
	SSL_CTX_set_cert_store(ctx, st);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		bench_die("socketpair");
	s.fd = sv[1];
	if (pthread_create(&th, NULL, server, &s) != 0)
		bench_die("thread");
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, sv[0]) || !SSL_set1_host(ssl, "localhost") ||
	    SSL_connect(ssl) != 1)
		bench_die("plain handshake");
	t0 = now();
	while (done < total) {
		int n = SSL_read(ssl, buf, sizeof buf);
		if (n <= 0)
			bench_die("plain read");
		done += (size_t)n;
	}
	*rd = now() - t0;
	memset(buf, 'c', sizeof buf);
	done = 0;
	t0 = now();
	while (done < total) {
		int n = SSL_write(ssl, buf, sizeof buf);
		if (n <= 0)
			bench_die("plain write");
		done += (size_t)n;
	}
	*wr = now() - t0;
	(void)SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	(void)close(sv[0]);
	(void)pthread_join(th, NULL);
	if (!s.ok)
		bench_die("server");
}

int main(int argc, char **argv)
{
	int mib = argc > 1 ? atoi(argv[1]) : 256, rounds = argc > 2 ? atoi(argv[2]) : 5;
	double crd[16], cwr[16], prd[16], pwr[16], c_r, c_w, p_r, p_w, mb;

	if (mib < 1 || mib > 4096 || rounds < 1 || rounds > 16) {
		(void)fprintf(stderr, "usage: tls_bulk_bench [MIB 1..4096] [ROUNDS 1..16]\n");
		return 2;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	total = (size_t)mib << 20;
	make_cert();
	/* Alternating, and each first every other round. */
	for (int i = 0; i < rounds; i++) {
		if (i % 2) {
			round_channel(&crd[i], &cwr[i]);
			round_plain(&prd[i], &pwr[i]);
		} else {
			round_plain(&prd[i], &pwr[i]);
			round_channel(&crd[i], &cwr[i]);
		}
	}
	mb = (double)mib;
	c_r = mb / bench_median(crd, (size_t)rounds);
	c_w = mb / bench_median(cwr, (size_t)rounds);
	p_r = mb / bench_median(prd, (size_t)rounds);
	p_w = mb / bench_median(pwr, (size_t)rounds);
	(void)printf("%-52s %10s %10s %8s\n",
		     getenv("BENCH_CPU") ? "TLS bulk, " SUITE " (MiB per CPU-s, median)"
					 : "TLS bulk, " SUITE " (MiB/s, median)",
		     "channel", "OpenSSL", "ratio");
	(void)printf("%-52s %10.0f %10.0f %8.3f\n", "  read (peer to application)", c_r, p_r,
		     c_r / p_r);
	(void)printf("%-52s %10.0f %10.0f %8.3f\n", "  write (application to peer)", c_w, p_w,
		     c_w / p_w);
	free(ca_pem);
	X509_free(srv_cert);
	EVP_PKEY_free(srv_key);
	return 0;
}
