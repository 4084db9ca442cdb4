/*
 * stream_bench.c - HPKE set-ups per second for audio streams (issue 13):
 * a recipient's base-mode set-up (SetupBaseR: Decap + KeySchedule) with the
 * X25519 key in the service (VG_OP_KEY_DECAP through vg_key_decap, then
 * the key schedule in process) and with the key in process, against one
 * raw X25519 derivation (EVP_PKEY_derive); and a whole stream header
 * opened for one recipient through the service (vg_stream_receiver_new:
 * the public key fetched, the decapsulation, the stream key opened, the
 * SFrame keys derived). Wall-clock time of one client thread, fixed time
 * per figure, median of alternating rounds.
 *
 *   stream_bench VOXGUARDD [SECONDS]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audio/hpke.h"
#include "audio/stream_int.h"
#include "voxguard/stream.h"
#include "voxguard/voxguard.h"

#include "bench_util.h"

#define ROUNDS 5

static double secs = 1.0;
static vg_client *g_client;
static EVP_PKEY *g_local, *g_peer;
static uint8_t g_enc[VG_HPKE_MAX_ENC], g_enc_local[VG_HPKE_MAX_ENC];
static size_t g_enc_len, g_enc_local_len;
static uint8_t g_hdr[VG_STREAM_HDR_MAX];
static size_t g_hdr_len;
static const vg_hpke_suite suite = {VG_HPKE_KEM_X25519_SHA256, VG_HPKE_KDF_SHA256,
				    VG_HPKE_AEAD_AES128GCM};

/* SetupBaseR with the key in the service: decap there, key schedule here. */
static void setup_service(void)
{
	uint8_t ss[VG_HPKE_SECRET_LEN];
	vg_hpke_ctx *ctx = NULL;

	if (vg_key_decap(g_client, "rx", suite.kem, g_enc, g_enc_len, NULL, 0, ss) != VG_OK ||
	    vg_hpke_context_new(&suite, VG_HPKE_MODE_BASE, VG_HPKE_RECIPIENT, ss, sizeof ss,
				(const uint8_t *)"bench", 5, NULL, 0, NULL, 0, &ctx) != VG_OK)
		bench_die("service set-up");
	vg_hpke_context_free(&ctx);
}

/* The same with the key in process. */
static void setup_local(void)
{
	uint8_t ss[VG_HPKE_SECRET_LEN];
	vg_hpke_ctx *ctx = NULL;

	if (vg_hpke_decap(&suite, g_enc_local, g_enc_local_len, g_local, NULL, 0, ss) != VG_OK ||
	    vg_hpke_context_new(&suite, VG_HPKE_MODE_BASE, VG_HPKE_RECIPIENT, ss, sizeof ss,
				(const uint8_t *)"bench", 5, NULL, 0, NULL, 0, &ctx) != VG_OK)
		bench_die("local set-up");
	vg_hpke_context_free(&ctx);
}

/* One raw X25519 derivation, as a DH of the KEM does it. */
static void raw_derive(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(g_local, NULL);
	uint8_t out[32];
	size_t n = sizeof out;

	if (!c || EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, g_peer) != 1 ||
	    EVP_PKEY_derive(c, out, &n) != 1)
		bench_die("derive");
	EVP_PKEY_CTX_free(c);
}

/* A whole stream header opened for a recipient through the service. */
static void stream_open_service(void)
{
	vg_stream_receiver *r = NULL;

	if (vg_stream_receiver_new(g_client, "rx", NULL, 0, g_hdr, g_hdr_len, &r) != VG_OK)
		bench_die("stream receiver");
	vg_stream_receiver_free(&r);
}

/* The same header opened in process (the key given as the service's
 * public key's private half is not available: a local key's own header). */
static uint8_t g_hdr_local[VG_STREAM_HDR_MAX], *g_local_spki;
static size_t g_hdr_local_len, g_local_spki_len;

static void stream_open_local(void)
{
	vg_stream_receiver *r = NULL;

	if (vg_stream_receiver_new_cb(g_local_spki, g_local_spki_len, vg_stream_decap_local, g_local,
				      NULL, 0, g_hdr_local, g_hdr_local_len, &r) != VG_OK)
		bench_die("local stream receiver");
	vg_stream_receiver_free(&r);
}

static double rate(void (*fn)(void))
{
	double t0 = bench_now(), t;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 16; i++)
			fn();
		n += 16;
		t = bench_now();
	} while (t - t0 < secs);
	return (double)n / (t - t0);
}

static void line(const char *what, double ours, const char *base_name, double base)
{
	(void)printf("%-52s %9.0f /s   %-30s %9.0f /s   ratio %5.3f\n", what, ours, base_name, base,
		     ours / base);
}

int main(int argc, char **argv)
{
	bench_svc svc;
	char *pem = NULL;
	size_t pem_len = 0;
	uint8_t pk[VG_HPKE_MAX_PK], ss[VG_HPKE_SECRET_LEN], *der = NULL;
	size_t pk_len = 0;
	double sv[ROUNDS], lo[ROUNDS], rw[ROUNDS], st[ROUNDS], sl[ROUNDS];
	vg_stream_sender *s = NULL;
	vg_stream_pub to;
	EVP_PKEY *svc_pub;
	BIO *b;
	int dl;

	if (argc < 2)
		bench_die("usage: stream_bench VOXGUARDD [SECONDS]");
	if (argc > 2)
		secs = atof(argv[2]);
	if (secs <= 0)
		secs = 1.0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	(void)signal(SIGPIPE, SIG_IGN);
	bench_svc_prepare(&svc, "vgbench-stream", NULL, 0);
	(void)bench_svc_start(&svc, argv[1]);

	if (vg_client_open(&g_client, svc.sock) != VG_OK ||
	    vg_key_create(g_client, "rx", VG_KEY_X25519, 0) != VG_OK ||
	    vg_key_public_pem(g_client, "rx", &pem, &pem_len) != VG_OK)
		bench_die("service key");
	b = BIO_new_mem_buf(pem, (int)pem_len);
	svc_pub = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!svc_pub || vg_hpke_pk_to_raw(suite.kem, svc_pub, pk, &pk_len) != VG_OK ||
	    vg_hpke_encap(&suite, pk, pk_len, NULL, NULL, 0, g_enc, &g_enc_len, ss) != VG_OK)
		bench_die("encap to the service key");
	dl = i2d_PUBKEY(svc_pub, &der);
	to = (vg_stream_pub){der, (size_t)dl};
	if (dl <= 0 || vg_stream_sender_new(&to, 1, NULL, NULL, g_hdr, &g_hdr_len, &s) != VG_OK)
		bench_die("stream header");
	vg_stream_sender_free(&s);
	if (vg_hpke_generate_keypair(suite.kem, &g_local) != VG_OK ||
	    vg_hpke_generate_keypair(suite.kem, &g_peer) != VG_OK ||
	    vg_hpke_pk_to_raw(suite.kem, g_local, pk, &pk_len) != VG_OK ||
	    vg_hpke_encap(&suite, pk, pk_len, NULL, NULL, 0, g_enc_local, &g_enc_local_len, ss) !=
		VG_OK)
		bench_die("local keys");
	dl = i2d_PUBKEY(g_local, &g_local_spki);
	to = (vg_stream_pub){g_local_spki, (size_t)dl};
	if (dl <= 0 ||
	    vg_stream_sender_new(&to, 1, NULL, NULL, g_hdr_local, &g_hdr_local_len, &s) != VG_OK)
		bench_die("local stream header");
	g_local_spki_len = (size_t)dl;
	vg_stream_sender_free(&s);

	(void)rate(setup_service); /* warm up */
	(void)rate(setup_local);
	for (int i = 0; i < ROUNDS; i++) {
		sv[i] = rate(setup_service);
		lo[i] = rate(setup_local);
		rw[i] = rate(raw_derive);
		st[i] = rate(stream_open_service);
		sl[i] = rate(stream_open_local);
	}
	(void)printf("HPKE set-ups, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base "
		     "mode (%.1f s per figure, medians of %d alternating rounds, one thread)\n",
		     secs, ROUNDS);
	{
		double msv = bench_median(sv, ROUNDS), mlo = bench_median(lo, ROUNDS),
		       mrw = bench_median(rw, ROUNDS), mst = bench_median(st, ROUNDS);
		double msl = bench_median(sl, ROUNDS);
		line("SetupBaseR, X25519 key in the service (decap op)", msv,
		     "one raw X25519 EVP_PKEY_derive", mrw);
		line("SetupBaseR, X25519 key in process", mlo, "one raw X25519 EVP_PKEY_derive",
		     mrw);
		line("SetupBaseR: service vs in process", msv, "in process", mlo);
		line("stream header opened through the service", mst, "same, key in process", msl);
		line("stream header opened, key in process", msl, "one raw X25519 EVP_PKEY_derive",
		     mrw);
	}
	vg_client_close(&g_client);
	OPENSSL_free(der);
	OPENSSL_free(g_local_spki);
	EVP_PKEY_free(svc_pub);
	EVP_PKEY_free(g_local);
	EVP_PKEY_free(g_peer);
	vg_free(pem, pem_len);
	bench_svc_cleanup(&svc);
	return 0;
}
