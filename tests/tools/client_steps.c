/* client_steps - one long-lived vg_client (and one provider key) driven
 * line by line from stdin, for the reconnect test
 * (tests/integration/test_sfr427_client_reconnect.sh): the service can be
 * restarted between two lines while the process and its client live on.
 *   client_steps SOCKET SERVICE_USER
 * Prints "open" once the client is open, then one line per command:
 *   status      vg_status_get
 *   sign KEY    vg_key_sign of a fixed message with the caller's KEY
 *   psign KEY   a signature through the OpenSSL provider with the key
 *               voxguard:key=KEY (loaded at the first psign and kept, as
 *               a TLS server keeps its key), verified with its public half
 *   session T   vg_client_set_session(T) ("-": none); always "ok"
 * "ok" or "err RC: REASON" (RC the vg_rc's number). */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "provider/provider.h"
#include "voxguard/voxguard.h"

static const uint8_t msg[] = "client_steps: a message to sign";

static void report(vg_rc rc, const char *why)
{
	if (rc == VG_OK)
		(void)printf("ok\n");
	else
		(void)printf("err %d: %s\n", (int)rc, why && *why ? why : vg_rc_str(rc));
	(void)fflush(stdout);
}

/* Signs msg with pkey through its provider and verifies the signature. */
static vg_rc provider_sign(OSSL_LIB_CTX *lib, EVP_PKEY *pkey, char *why, size_t cap)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[1024];
	size_t sig_len = sizeof sig;
	vg_rc rc = VG_ERR_CRYPTO;

	if (md && EVP_DigestSignInit_ex(md, NULL, "SHA256", lib, NULL, pkey, NULL) == 1 &&
	    EVP_DigestSign(md, sig, &sig_len, msg, sizeof msg) == 1) {
		EVP_MD_CTX_free(md);
		md = EVP_MD_CTX_new();
		if (md && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", lib, NULL, pkey, NULL) == 1 &&
		    EVP_DigestVerify(md, sig, sig_len, msg, sizeof msg) == 1)
			rc = VG_OK;
	}
	if (rc != VG_OK)
		ERR_error_string_n(ERR_peek_last_error(), why, cap);
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return rc;
}

int main(int argc, char **argv)
{
	OSSL_LIB_CTX *lib = NULL;
	EVP_PKEY *pkey = NULL;
	vg_client *c = NULL;
	char line[512], why[256];
	vg_rc rc;

	if (argc != 3) {
		(void)fprintf(stderr, "usage: client_steps SOCKET SERVICE_USER\n");
		return 2;
	}
	if (vg_client_open_as(&c, argv[1], argv[2]) != VG_OK) {
		(void)printf("err: %s\n", vg_client_last_error(NULL));
		return 1;
	}
	(void)printf("open\n");
	(void)fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		why[0] = '\0';
		if (strcmp(line, "status") == 0) {
			vg_status st;
			rc = vg_status_get(c, &st);
			if (rc == VG_OK)
				vg_status_free(&st);
			report(rc, vg_client_last_error(c));
		} else if (strncmp(line, "sign ", 5) == 0) {
			uint8_t *sig = NULL;
			size_t n = 0;
			rc = vg_key_sign(c, line + 5, msg, sizeof msg, &sig, &n);
			vg_free(sig, n);
			report(rc, vg_client_last_error(c));
		} else if (strncmp(line, "session ", 8) == 0) {
			vg_client_set_session(c, strcmp(line + 8, "-") == 0 ? NULL : line + 8);
			report(VG_OK, NULL);
		} else if (strncmp(line, "psign ", 6) == 0) {
			rc = VG_OK;
			if (!pkey) {
				lib = lib ? lib : OSSL_LIB_CTX_new();
				if (!lib || vg_provider_load_into_as(lib, argv[1], argv[2]) != 1)
					rc = VG_ERR_UNAVAILABLE;
				else
					rc = vg_provider_load_key(lib, line + 6, &pkey);
			}
			if (rc == VG_OK)
				rc = provider_sign(lib, pkey, why, sizeof why);
			report(rc, why);
		} else {
			(void)printf("err: unknown command\n");
			(void)fflush(stdout);
		}
	}
	EVP_PKEY_free(pkey);
	if (lib) {
		vg_provider_unload(lib);
		OSSL_LIB_CTX_free(lib);
	}
	vg_client_close(&c);
	return 0;
}
