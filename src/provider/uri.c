/* uri.c - the provider's key URI and key reference file (provider.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "common/util.h"
#include "provider/provider.h"

vg_rc vg_provider_parse_uri(const char *uri, size_t len, char name[static VG_MAX_NAME_LEN + 1])
{
	const size_t pre = sizeof VG_PROVIDER_URI_PREFIX - 1;
	const size_t scheme = sizeof VG_PROVIDER_SCHEME; /* with its ':' */
	size_t n;

	name[0] = '\0';
	if (!uri || len <= pre || len > VG_PROVIDER_URI_MAX)
		return VG_ERR_INVALID;
	/* The scheme is case-insensitive (RFC 3986 3.1); "key=" is ours and
	 * exact. No other attribute, no percent-encoding, no NUL. */
	if (strncasecmp(uri, VG_PROVIDER_URI_PREFIX, scheme) != 0 ||
	    memcmp(uri + scheme, &VG_PROVIDER_URI_PREFIX[scheme], pre - scheme) != 0)
		return VG_ERR_INVALID;
	n = len - pre;
	if (memchr(uri + pre, '\0', n) || !vg_name_valid(uri + pre, n))
		return VG_ERR_INVALID;
	memcpy(name, uri + pre, n);
	name[n] = '\0';
	return VG_OK;
}

vg_rc vg_keyref_encode(const char *name, uint8_t out[static VG_KEYREF_MAX], size_t *len)
{
	const size_t pre = sizeof VG_PROVIDER_URI_PREFIX - 1;
	size_t n = name ? strlen(name) : 0;

	*len = 0;
	if (!name || !vg_name_valid(name, n))
		return VG_ERR_INVALID;
	out[0] = VG_KEYREF_VERSION;
	out[1] = (uint8_t)(pre + n);
	memcpy(out + 2, VG_PROVIDER_URI_PREFIX, pre);
	memcpy(out + 2 + pre, name, n);
	*len = 2 + pre + n;
	return VG_OK;
}

vg_rc vg_keyref_decode(const uint8_t *body, size_t len, char name[static VG_MAX_NAME_LEN + 1])
{
	name[0] = '\0';
	if (!body || len < 1)
		return VG_ERR_INVALID;
	if (body[0] != VG_KEYREF_VERSION)
		return VG_ERR_UNSUPPORTED;
	if (len < 2 || (size_t)body[1] != len - 2)
		return VG_ERR_INVALID;
	return vg_provider_parse_uri((const char *)body + 2, len - 2, name);
}

vg_rc vg_keyref_pem(const char *name, char **pem, size_t *len)
{
	uint8_t body[VG_KEYREF_MAX];
	size_t n = 0;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	vg_rc rc = vg_keyref_encode(name, body, &n);

	*pem = NULL;
	*len = 0;
	if (rc != VG_OK)
		return rc;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return VG_ERR_NOMEM;
	if (PEM_write_bio(bio, VG_KEYREF_PEM_LABEL, "", body, (long)n) <= 0) {
		rc = VG_ERR_CRYPTO;
		goto out;
	}
	BIO_get_mem_ptr(bio, &mem);
	*pem = malloc(mem->length + 1);
	if (!*pem) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	memcpy(*pem, mem->data, mem->length);
	(*pem)[mem->length] = '\0';
	*len = mem->length;
out:
	BIO_free(bio);
	return rc;
}
