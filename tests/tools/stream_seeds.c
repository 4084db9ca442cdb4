/* stream_seeds.c - writes the seed corpus of fuzz/fuzz_stream.c: genuine
 * streams (include/voxguard/stream.h) to that target's fixed X25519 key.
 *   stream_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audio/stream_int.h"

static const uint8_t ikm[32] = "voxguard fuzz stream recipient!";

static void die(const char *what)
{
	(void)fprintf(stderr, "stream_seeds: %s\n", what);
	exit(1);
}

/* frames frames of len bytes; replay: frame 1 twice; final: the last
 * frame marked; n2: a second recipient. */
static void one(const char *dir, const char *name, EVP_PKEY *sk, size_t frames, size_t len,
		int replay, int final, int n2)
{
	static uint8_t buf[1 << 20], pt[4096];
	vg_stream_pub to[2];
	uint8_t *spki = NULL, *spki2 = NULL;
	EVP_PKEY *other = NULL;
	vg_stream_sender *s = NULL;
	size_t off = 0, n = 0, f1 = 0, f1_len = 0;
	char path[512];
	FILE *f;
	int l = i2d_PUBKEY(sk, &spki);

	to[0] = (vg_stream_pub){spki, (size_t)l};
	if (n2) {
		if (vg_hpke_generate_keypair(VG_HPKE_KEM_X25519_SHA256, &other) != VG_OK)
			die("keygen");
		l = i2d_PUBKEY(other, &spki2);
		to[1] = (vg_stream_pub){spki2, (size_t)l};
	}
	if (vg_stream_sender_new_cb(to, n2 ? 2 : 1, NULL, NULL, buf, &off, &s) != VG_OK)
		die("sender");
	for (size_t i = 0; i < frames; i++) {
		memset(pt, (int)i, len);
		if ((i + 1 == frames && final ? vg_stream_finish(s, pt, len, buf + off,
								  sizeof buf - off, &n)
					      : vg_stream_seal_frame(s, pt, len, buf + off,
								     sizeof buf - off, &n)) != VG_OK)
			die("seal");
		if (i == 1) {
			f1 = off;
			f1_len = n;
		}
		off += n;
		if (replay && i == 2) {
			memmove(buf + off, buf + f1, f1_len);
			off += f1_len;
		}
	}
	(void)snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, off, f) != off || fclose(f) != 0)
		die(path);
	vg_stream_sender_free(&s);
	OPENSSL_free(spki);
	OPENSSL_free(spki2);
	EVP_PKEY_free(other);
}

int main(int argc, char **argv)
{
	EVP_PKEY *sk = NULL;

	if (argc != 2)
		die("usage: stream_seeds DIR");
	if (vg_hpke_derive_keypair(VG_HPKE_KEM_X25519_SHA256, ikm, sizeof ikm, &sk) != VG_OK)
		die("derive");
	one(argv[1], "base_5x640_final", sk, 5, 640, 0, 1, 0);
	one(argv[1], "base_1x0_final", sk, 1, 0, 0, 1, 0);
	one(argv[1], "base_4x3840_truncated", sk, 4, 3840, 0, 0, 0);
	one(argv[1], "base_5x64_replay", sk, 5, 64, 1, 1, 0);
	one(argv[1], "two_recipients_3x640", sk, 3, 640, 0, 1, 1);
	EVP_PKEY_free(sk);
	return 0;
}
