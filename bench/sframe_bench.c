/*
 * sframe_bench.c - SFrame audio frames (src/audio/sframe.h; issue 13)
 * against raw OpenSSL on the same frames, in one process, same run:
 *
 *   seal   vg_sframe_seal (stream layer: header, metadata with the stream
 *          id and FINAL flag, wire prefix) with AES_128_GCM_SHA256_128, vs
 *          raw EVP AES-128-GCM (key set once, IV set per frame, no AAD)
 *          on the same 3840-byte frames (20 ms of 48 kHz stereo S16);
 *          goal >= 0.8
 *   open   vg_sframe_open (replay window, checks) vs raw EVP decrypt
 *   suites seal frames/s of each suite (the CTR + HMAC ones for scale)
 *   share  the share of one core that one real-time stream (50 frames/s)
 *          costs to seal and to open; goal < 0.5 %
 *
 *   sframe_bench [ROUNDS] [FRAMES_PER_ROUND]
 *
 * Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a loaded,
 * shared machine the CPU cost per frame is steadier than the wall clock.
 * ROUNDS (default 7) rounds alternate ours and the baseline; the medians
 * are reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "audio/sframe.h"

#include "bench_util.h"

#define FRAME   3840u
#define NFRAMES 64u /* distinct frames cycled through */

static uint8_t frames[NFRAMES][FRAME];
static uint8_t wire[NFRAMES][VG_SFRAME_WIRE_LEN(FRAME)];
static size_t wire_len[NFRAMES];
static uint8_t raw_ct[NFRAMES][FRAME + 16];
static uint8_t out[VG_SFRAME_MAX_PT + 64];
static const uint8_t base_key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t sid[VG_SFRAME_STREAM_ID_LEN] = "bench-stream-001";
static const uint8_t raw_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static double cpu_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* frames/s of sealing n frames with a fresh sender of suite. */
static double run_seal(vg_sframe_suite suite, unsigned n)
{
	vg_sframe_sender *s = NULL;
	size_t len;
	double t0, t1;

	if (vg_sframe_sender_new(suite, base_key, sizeof base_key, 7, sid, &s) != VG_OK)
		bench_die("sender");
	t0 = cpu_now();
	for (unsigned i = 0; i < n; i++)
		if (vg_sframe_seal(s, frames[i % NFRAMES], FRAME, false, out, sizeof out, &len) !=
		    VG_OK)
			bench_die("seal");
	t1 = cpu_now();
	vg_sframe_sender_free(&s);
	return n / (t1 - t0);
}

static EVP_CIPHER_CTX *raw_ctx(int enc)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	if (!c || !x || EVP_CipherInit_ex2(x, c, raw_key, NULL, enc, NULL) != 1)
		bench_die("raw cipher");
	EVP_CIPHER_free(c);
	return x;
}

static void nonce_of(uint64_t i, uint8_t iv[12])
{
	memset(iv, 0, 12);
	for (int b = 0; b < 8; b++)
		iv[4 + b] = (uint8_t)(i >> (8 * (7 - b)));
}

/* The baseline: raw EVP AES-128-GCM, the key schedule done once. */
static double run_raw_seal(unsigned n)
{
	EVP_CIPHER_CTX *x = raw_ctx(1);
	uint8_t iv[12];
	int l = 0;
	double t0, t1;

	t0 = cpu_now();
	for (unsigned i = 0; i < n; i++) {
		nonce_of(i, iv);
		if (EVP_EncryptInit_ex2(x, NULL, NULL, iv, NULL) != 1 ||
		    EVP_EncryptUpdate(x, out, &l, frames[i % NFRAMES], FRAME) != 1 ||
		    EVP_EncryptFinal_ex(x, out + l, &l) != 1 ||
		    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, out + FRAME) != 1)
			bench_die("raw seal");
	}
	t1 = cpu_now();
	EVP_CIPHER_CTX_free(x);
	return n / (t1 - t0);
}

/* Opens the NFRAMES sealed frames over and over: a fresh receiver per
 * pass of NFRAMES (the same frames again would be replays), made outside
 * the timed part. */
static double run_open(unsigned n)
{
	vg_sframe_receiver *r = NULL;
	size_t len;
	unsigned flags;
	double t = 0, t0;

	for (unsigned done = 0; done < n; done += NFRAMES) {
		if (vg_sframe_receiver_new(VG_SFRAME_AES_128_GCM_SHA256_128, base_key,
					   sizeof base_key, 7, sid, &r) != VG_OK)
			bench_die("receiver");
		t0 = cpu_now();
		for (unsigned k = 0; k < NFRAMES; k++)
			if (vg_sframe_open(r, wire[k], wire_len[k], out, sizeof out, &len, &flags,
					   NULL) != VG_OK)
				bench_die("open");
		t += cpu_now() - t0;
		vg_sframe_receiver_free(&r);
	}
	return (n + NFRAMES - 1) / NFRAMES * NFRAMES / t;
}

static double run_raw_open(unsigned n)
{
	EVP_CIPHER_CTX *x = raw_ctx(0);
	uint8_t iv[12];
	int l = 0;
	double t0, t1;
	unsigned total = (n + NFRAMES - 1) / NFRAMES * NFRAMES;

	t0 = cpu_now();
	for (unsigned i = 0; i < total; i++) {
		unsigned k = i % NFRAMES;
		nonce_of(k, iv);
		if (EVP_DecryptInit_ex2(x, NULL, NULL, iv, NULL) != 1 ||
		    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, raw_ct[k] + FRAME) != 1 ||
		    EVP_DecryptUpdate(x, out, &l, raw_ct[k], FRAME) != 1 ||
		    EVP_DecryptFinal_ex(x, out + l, &l) != 1)
			bench_die("raw open");
	}
	t1 = cpu_now();
	EVP_CIPHER_CTX_free(x);
	return total / (t1 - t0);
}

static void prepare(void)
{
	vg_sframe_sender *s = NULL;
	EVP_CIPHER_CTX *x = raw_ctx(1);
	uint8_t iv[12];
	int l;

	for (unsigned f = 0; f < NFRAMES; f++)
		for (unsigned i = 0; i < FRAME; i++)
			frames[f][i] = (uint8_t)(i * 31 + f * 7 + (i >> 5));
	if (vg_sframe_sender_new(VG_SFRAME_AES_128_GCM_SHA256_128, base_key, sizeof base_key, 7,
				 sid, &s) != VG_OK)
		bench_die("sender");
	for (unsigned f = 0; f < NFRAMES; f++) {
		if (vg_sframe_seal(s, frames[f], FRAME, false, wire[f], sizeof wire[f],
				   &wire_len[f]) != VG_OK)
			bench_die("seal");
		nonce_of(f, iv);
		if (EVP_EncryptInit_ex2(x, NULL, NULL, iv, NULL) != 1 ||
		    EVP_EncryptUpdate(x, raw_ct[f], &l, frames[f], FRAME) != 1 ||
		    EVP_EncryptFinal_ex(x, raw_ct[f] + l, &l) != 1 ||
		    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, raw_ct[f] + FRAME) != 1)
			bench_die("raw seal");
	}
	vg_sframe_sender_free(&s);
	EVP_CIPHER_CTX_free(x);
}

static void line(const char *what, double ours, const char *base_name, double base)
{
	(void)printf("%-44s %10.0f /s   %-22s %10.0f /s   ratio %5.2f\n", what, ours, base_name,
		     base, ours / base);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 20000u;
	double so[64], sb[64], oo[64], ob[64], su[6][64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rounds < 1 || rounds > 64 || n < NFRAMES)
		bench_die("usage: sframe_bench [ROUNDS 1..64] [FRAMES_PER_ROUND >= 64]");
	prepare();
	(void)run_seal(VG_SFRAME_AES_128_GCM_SHA256_128, n / 4); /* warm up */
	(void)run_raw_seal(n / 4);
	for (int i = 0; i < rounds; i++) {
		so[i] = run_seal(VG_SFRAME_AES_128_GCM_SHA256_128, n);
		sb[i] = run_raw_seal(n);
		oo[i] = run_open(n);
		ob[i] = run_raw_open(n);
		for (int s = 1; s <= 5; s++)
			su[s][i] = run_seal((vg_sframe_suite)s, n / 4);
	}
	(void)printf("SFrame audio frames: 3840 B (20 ms of 48 kHz stereo S16), CPU time of one "
		     "thread, median of %d alternating rounds of %u frames\n",
		     rounds, n);
	{
		double seal = bench_median(so, (size_t)rounds),
		       seal_b = bench_median(sb, (size_t)rounds);
		double open = bench_median(oo, (size_t)rounds),
		       open_b = bench_median(ob, (size_t)rounds);

		line("SFrame seal, AES_128_GCM_SHA256_128", seal, "raw EVP AES-128-GCM", seal_b);
		line("SFrame open, AES_128_GCM_SHA256_128", open, "raw EVP AES-128-GCM", open_b);
		for (int s = 1; s <= 5; s++) {
			char what[64];
			(void)snprintf(what, sizeof what, "  seal %s", vg_sframe_suite_name(s));
			line(what, bench_median(su[s], (size_t)rounds), "raw EVP AES-128-GCM",
			     seal_b);
		}
		(void)printf("%-44s %9.4f %% of one core (seal)   %9.4f %% (open)\n",
			     "one real-time stream (50 frames/s)", 100.0 * 50.0 / seal,
			     100.0 * 50.0 / open);
	}
	return 0;
}
