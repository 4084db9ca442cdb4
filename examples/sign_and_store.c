/*
 * sign_and_store - the libvoxguard C API in one page.
 *
 *   cc sign_and_store.c $(pkg-config --cflags --libs voxguard) -o sign_and_store
 *   ./sign_and_store [SOCKET]
 *
 * Creates (once) a P-256 key named "example", signs a message with it,
 * verifies the signature, and keeps a secret in secure storage. The
 * private key and the storage key never enter this process.
 */
#include <stdio.h>
#include <string.h>

#include <voxguard/voxguard.h>

static int fail(const char *what, vg_rc rc, vg_client *c)
{
	fprintf(stderr, "%s: %s (%s)\n", what, vg_rc_str(rc), vg_client_last_error(c));
	vg_client_close(&c);
	return 1;
}

int main(int argc, char **argv)
{
	static const char msg[] = "turn on the kitchen lights";
	static const char secret[] = "wifi-password-123";
	vg_client *c = NULL;
	uint8_t *sig = NULL, *value = NULL;
	size_t sig_len = 0, value_len = 0;
	vg_rc rc;

	/* NULL: $VOXGUARD_SOCKET, then /run/voxguard/voxguard.sock. */
	rc = vg_client_open(&c, argc > 1 ? argv[1] : NULL);
	if (rc != VG_OK)
		return fail("connect", rc, c);

	rc = vg_key_create(c, "example", VG_KEY_P256, VG_USE_SIGN | VG_USE_VERIFY);
	if (rc != VG_OK && rc != VG_ERR_EXISTS)
		return fail("key create", rc, c);

	rc = vg_key_sign(c, "example", (const uint8_t *)msg, strlen(msg), &sig, &sig_len);
	if (rc != VG_OK)
		return fail("sign", rc, c);
	rc = vg_key_verify(c, "example", (const uint8_t *)msg, strlen(msg), sig, sig_len);
	vg_free(sig, sig_len);
	if (rc != VG_OK)
		return fail("verify", rc, c);
	printf("signed and verified (%zu-byte DER signature)\n", sig_len);

	rc = vg_store_put(c, "wifi-psk", (const uint8_t *)secret, strlen(secret));
	if (rc != VG_OK)
		return fail("store put", rc, c);
	rc = vg_store_get(c, "wifi-psk", &value, &value_len);
	if (rc != VG_OK)
		return fail("store get", rc, c);
	printf("stored and read back %zu bytes: %s\n", value_len,
	       value_len == strlen(secret) && memcmp(value, secret, value_len) == 0 ? "match"
										    : "MISMATCH");
	vg_free(value, value_len); /* wipes, then frees */
	vg_client_close(&c);
	return 0;
}
