/*
 * rss_floor - the memory baseline for the service's idle RSS figure: the
 * smallest process that uses OpenSSL 3 the way every voxguard process must
 * (random bytes, SHA-256, a P-256 key and one signature), linked against
 * libcrypto and libc only. vg_bench starts it, waits for "ready", reads its
 * /proc/PID/smaps_rollup as it does the service's, and stops it.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

int main(void)
{
	unsigned char buf[32], md[32], sig[80];
	unsigned int mdl = 0;
	size_t sl = sizeof sig;
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c || RAND_bytes(buf, sizeof buf) != 1 ||
	    EVP_Digest(buf, sizeof buf, md, &mdl, EVP_sha256(), NULL) != 1 ||
	    !(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ||
	    EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, k, NULL) != 1 ||
	    EVP_DigestSign(c, sig, &sl, buf, sizeof buf) != 1) {
		(void)fputs("rss_floor: OpenSSL failed\n", stderr);
		return 1;
	}
	(void)puts("ready");
	(void)fflush(stdout);
	(void)pause(); /* until vg_bench's SIGTERM */
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return 0;
}
