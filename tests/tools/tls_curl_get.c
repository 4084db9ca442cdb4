/* tls_curl_get - GET URL through a libcurl handle set up for ENDPOINT by
 * vg_tls_curl_setup (the integration test of the channel on libcurl, with
 * the real endpoint list and provider). Prints the body; exit 0 on HTTP
 * 200, 1 when libcurl failed (the policy refused), 2 on a set-up error.
 * SOCKET and SERVICE_USER: the service to open (vg_client_open_as;
 * default: $VOXGUARD_SOCKET, $VOXGUARD_SERVICE_USER).
 *   tls_curl_get ENDPOINT URL [SOCKET [SERVICE_USER]] */
#include <stdio.h>

#include <curl/curl.h>

#include "voxguard/tls.h"

static size_t out(char *p, size_t sz, size_t n, void *ud)
{
	(void)ud;
	return fwrite(p, sz, n, stdout) * sz;
}

int main(int argc, char **argv)
{
	vg_client *c = NULL;
	CURL *h;
	CURLcode cr;
	long code = 0;
	vg_rc rc;

	if (argc < 3 || argc > 5) {
		(void)fprintf(stderr, "usage: tls_curl_get ENDPOINT URL [SOCKET [SERVICE_USER]]\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    vg_client_open_as(&c, argc > 3 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL) != VG_OK) {
		(void)fprintf(stderr, "tls_curl_get: %s\n", vg_client_last_error(NULL));
		return 2;
	}
	h = curl_easy_init();
	if (!h || curl_easy_setopt(h, CURLOPT_URL, argv[2]) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, out) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK)
		return 2;
	rc = vg_tls_curl_setup(c, h, argv[1]);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "tls_curl_get: %s: %s\n", argv[1], vg_rc_str(rc));
		/* Freed, so that the sanitizer build's exit code is ours. */
		curl_easy_cleanup(h);
		vg_client_close(&c);
		curl_global_cleanup();
		return rc == VG_ERR_DENIED ? 1 : 2;
	}
	cr = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	vg_client_close(&c);
	curl_global_cleanup();
	if (cr != CURLE_OK) {
		(void)fprintf(stderr, "tls_curl_get: %s\n", curl_easy_strerror(cr));
		return 1;
	}
	return code == 200 ? 0 : 1;
}
