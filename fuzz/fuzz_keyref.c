/*
 * fuzz_keyref.c - libFuzzer harness for the provider's key reference
 * decoder (SFR 4.2.7; hostile input: a key file an application is told to
 * read): arbitrary bytes
 *  - through vg_keyref_decode (an accepted body re-encodes to the same
 *    bytes, modulo the scheme's case; a refused one leaves the name empty);
 *  - as a whole file, and as the body of a "VOXGUARD KEY REFERENCE" PEM
 *    block, through OpenSSL's decoder chain with the provider loaded (its
 *    PEM and DER decoders), pointed at a socket nobody serves: no input
 *    may crash it or yield a key.
 * Seed corpus: fuzz/corpus/keyref/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "provider/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static OSSL_LIB_CTX *libctx;

static void decode_pem(const uint8_t *pem, size_t len)
{
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *d =
	    OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, EVP_PKEY_KEYPAIR, libctx, NULL);
	const unsigned char *p = pem;
	size_t n = len;

	if (!d)
		abort();
	(void)OSSL_DECODER_from_data(d, &p, &n);
	if (pkey) /* nobody serves the socket: no key can come out */
		abort();
	OSSL_DECODER_CTX_free(d);
	ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[VG_MAX_NAME_LEN + 1];
	uint8_t again[VG_KEYREF_MAX];
	size_t n = 0;
	vg_rc rc;

	if (!libctx) {
		libctx = OSSL_LIB_CTX_new();
		if (!libctx || vg_provider_load_into(libctx, "/nonexistent/voxguard.sock") != 1) {
			ERR_print_errors_fp(stderr);
			abort();
		}
	}
	memset(name, 'x', sizeof name);
	rc = vg_keyref_decode(data, size, name);
	if (rc != VG_OK) {
		if (name[0] != '\0')
			abort();
	} else {
		if (vg_keyref_encode(name, again, &n) != VG_OK || n != size ||
		    again[0] != data[0] || again[1] != data[1] ||
		    strncasecmp((const char *)again + 2, (const char *)data + 2, size - 2) != 0)
			abort();
	}
	if (size == 0 || size > 4096)
		return 0;
	decode_pem(data, size);
	{
		BIO *b = BIO_new(BIO_s_mem());
		BUF_MEM *m = NULL;
		if (!b || PEM_write_bio(b, VG_KEYREF_PEM_LABEL, "", data, (long)size) <= 0)
			abort();
		BIO_get_mem_ptr(b, &m);
		decode_pem((const uint8_t *)m->data, m->length);
		BIO_free(b);
	}
	return 0;
}
