/* cmd_display.c - `voxguard display ...`: the display IPC guard (AVS 1.14;
 * docs/DISPLAY.md). `token` is the launcher's: it prints a one-time token
 * for the display client; `redeem` is what a gateway does with it (for
 * gateways written as scripts, and the tests); the token is read from
 * standard input, never from the command line that `ps` shows. `certs`
 * makes the device-unique key and certificate of the gateway (or, with
 * --client, of a display client for mutual TLS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/cli.h"
#include "common/util.h"
#include "provider/provider.h"
#include "voxguard/display.h"

static int display_token(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "origin=";
	struct cli_opts o;
	vg_client *c = NULL;
	char token[VG_DISPLAY_TOKEN_LEN + 1];
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	const char *origin;
	vg_rc rc;

	if (e)
		return e;
	origin = cli_opt(&o, spec, "origin");
	if (!origin)
		return cli_fail("display token: --origin https://HOST[:PORT] is required");
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_display_token_issue(c, origin, token, sizeof token);
	if (rc == VG_OK)
		(void)printf("%s\n", token);
	else
		e = cli_fail_rc(c, "display token", rc);
	vg_wipe(token, sizeof token);
	vg_client_close(&c);
	return e;
}

static int display_redeem(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "origin=";
	struct cli_opts o;
	vg_client *c = NULL;
	char line[VG_DISPLAY_TOKEN_LEN + 3];
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	const char *origin;
	size_t n;
	vg_rc rc;

	if (e)
		return e;
	origin = cli_opt(&o, spec, "origin");
	if (!origin)
		return cli_fail("display redeem: --origin ORIGIN is required");
	if (!fgets(line, sizeof line, stdin))
		line[0] = '\0';
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if ((e = cli_connect(cli, &c))) {
		vg_wipe(line, sizeof line);
		return e;
	}
	rc = vg_display_token_redeem(c, line, origin);
	vg_wipe(line, sizeof line);
	if (rc == VG_OK) {
		(void)printf("redeemed\n");
	} else if (rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_REPLAY) {
		(void)fprintf(stderr, "voxguard: display redeem: %s\n", vg_client_last_error(c));
		e = EXIT_NEGATIVE;
	} else {
		e = cli_fail_rc(c, "display redeem", rc);
	}
	vg_client_close(&c);
	return e;
}

/* ---- device-unique certificates ---- */

/* The keys, in the namespace of the uid that runs `display certs`: the
 * gateway's for the server certificate, the display client's for the
 * client one (--client). */
#define SERVER_KEY "display-tls"
#define CLIENT_KEY "display-tls-client"
/* notBefore: before any clock a device shows at first power-on. */
#define NOT_BEFORE "20000101000000Z"
/* notAfter: about 200 years on (GeneralizedTime past 2049). */
#define VALID_DAYS (200L * 365L + 48L)

static int ossl_fail(const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return cli_fail("display certs: %s%s%s", what, buf[0] ? ": " : "", buf);
}

static bool add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	bool ok = ext && X509_add_ext(x, ext, -1) == 1;

	X509_EXTENSION_free(ext);
	return ok;
}

/* The subject: the device's identity when provisioned (O = OEM, CN = model
 * and the instance ID, serialNumber = the instance ID's 32 bytes in hex), else a
 * name that says it is not. */
static bool subject(vg_client *c, X509_NAME *n, bool client)
{
	vg_device_identity id;
	char cn[160], hex[2 * sizeof id.instance_id + 1] = "";
	bool ok = true;

	memset(&id, 0, sizeof id);
	if (vg_device_identity_get(c, &id) == VG_OK && id.provisioned == 1) {
		/* The UEID less its type byte: serialNumber holds 64 characters. */
		vg_hex_encode(id.instance_id + 1, sizeof id.instance_id - 1, hex);
		(void)snprintf(cn, sizeof cn, "%.60s display %s %.16s", id.model,
			       client ? "client" : "server", hex);
		ok = X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
						(const unsigned char *)id.oem, -1, -1, 0) == 1 &&
		     X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_ASC,
						(const unsigned char *)hex, -1, -1, 0) == 1;
	} else {
		(void)snprintf(cn, sizeof cn, "voxguard display %s (unprovisioned device)",
			       client ? "client" : "server");
	}
	return ok && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
						-1, -1, 0) == 1;
}

/* The certificate of key (through the provider: the key signs itself;
 * the private key never leaves the service), as PEM in *pem. */
static int make_cert(struct cli *cli, vg_client *c, const char *key, bool client, char **pem,
		     size_t *pem_len, char spki_b64[static 64])
{
	OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	EVP_MD_CTX *md = NULL;
	BIGNUM *bn = NULL;
	BIO *bio = NULL;
	uint8_t serial[16], *der = NULL, digest[32];
	unsigned int dlen = 0;
	int der_len, e = 0;
	X509V3_CTX v3;
	BUF_MEM *mem;
	vg_rc rc;

	*pem = NULL;
	if (!lib || vg_provider_load_into_as(lib, cli->socket, cli->service_user) != 1) {
		e = ossl_fail("cannot load the voxguard provider");
		goto out;
	}
	rc = vg_provider_load_key(lib, key, &pk);
	if (rc != VG_OK) {
		e = cli_fail("display certs: key %s: %s", key, vg_rc_str(rc));
		goto out;
	}
	x = X509_new_ex(lib, NULL);
	/* A random positive serial of 127 bits (RFC 5280: at most 20 bytes). */
	if (!x || RAND_bytes(serial, sizeof serial) != 1) {
		e = ossl_fail("out of memory or no randomness");
		goto out;
	}
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !ASN1_TIME_set_string_X509(X509_getm_notBefore(x), NOT_BEFORE) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), VALID_DAYS, 0, NULL) ||
	    !subject(c, X509_get_subject_name(x), client) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_set_pubkey(x, pk)) {
		e = ossl_fail("cannot fill in the certificate");
		goto out;
	}
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if (!add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, &v3, NID_ext_key_usage, client ? "clientAuth" : "serverAuth") ||
	    !add_ext(x, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") ||
	    !add_ext(x, &v3, NID_subject_key_identifier, "hash")) {
		e = ossl_fail("cannot add the extensions");
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit_ex(md, NULL, "SHA256", lib, NULL, pk, NULL) != 1 ||
	    X509_sign_ctx(x, md) <= 0) {
		e = ossl_fail("the service did not sign the certificate");
		goto out;
	}
	/* What Chromium's --ignore-certificate-errors-spki-list takes: the
	 * base64 SHA-256 of the SubjectPublicKeyInfo. */
	der_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (der_len <= 0 ||
	    EVP_Digest(der, (size_t)der_len, digest, &dlen, EVP_sha256(), NULL) != 1 ||
	    EVP_EncodeBlock((unsigned char *)spki_b64, digest, (int)dlen) != 44) {
		e = ossl_fail("cannot hash the public key");
		goto out;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_X509(bio, x) != 1 || BIO_get_mem_ptr(bio, &mem) != 1 ||
	    !(*pem = malloc(mem->length + 1))) {
		e = ossl_fail("cannot encode the certificate");
		goto out;
	}
	memcpy(*pem, mem->data, mem->length);
	(*pem)[mem->length] = '\0';
	*pem_len = mem->length;
out:
	BIO_free(bio);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pk);
	if (lib) {
		vg_provider_unload(lib);
		OSSL_LIB_CTX_free(lib);
	}
	return e;
}

static int write_in(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return cli_fail("display certs: --out-dir too long");
	return cli_write(path, buf, len);
}

static int display_certs(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out-dir=,rotate,client";
	struct cli_opts o;
	vg_client *c = NULL;
	const char *dir, *key, *base;
	char *pem = NULL, *ref = NULL, spki[64], line[72], name[64];
	size_t pem_len = 0, ref_len = 0;
	bool client;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	dir = cli_opt(&o, spec, "out-dir");
	if (!dir)
		return cli_fail("display certs: --out-dir DIR is required");
	client = cli_flag(&o, spec, "client");
	key = client ? CLIENT_KEY : SERVER_KEY;
	base = client ? "display-client" : "display-server";
	if ((e = cli_connect(cli, &c)))
		return e;
	if (cli_flag(&o, spec, "rotate")) {
		rc = vg_key_delete(c, key);
		if (rc != VG_OK && rc != VG_ERR_NOT_FOUND) {
			e = cli_fail_rc(c, "display certs: delete the old key", rc);
			goto out;
		}
	}
	rc = vg_key_create(c, key, VG_KEY_P256, VG_USE_SIGN);
	if (rc == VG_ERR_EXISTS) {
		e = cli_fail("display certs: key %s exists: --rotate replaces it and its "
			     "certificate",
			     key);
		goto out;
	}
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "display certs: create the key", rc);
		goto out;
	}
	if ((e = make_cert(cli, c, key, client, &pem, &pem_len, spki)))
		goto out;
	if (vg_keyref_pem(key, &ref, &ref_len) != VG_OK) {
		e = cli_fail("display certs: cannot encode the key reference");
		goto out;
	}
	(void)snprintf(line, sizeof line, "%s\n", spki);
	(void)snprintf(name, sizeof name, "%s.pem", base);
	if (!(e = write_in(dir, name, pem, pem_len))) {
		(void)snprintf(name, sizeof name, "%s.spki", base);
		e = write_in(dir, name, line, strlen(line));
	}
	if (!e) {
		(void)snprintf(name, sizeof name, "%s.keyref.pem", base);
		e = write_in(dir, name, ref, ref_len);
	}
	if (!e)
		(void)printf("%s\n", spki);
out:
	free(pem);
	free(ref);
	vg_client_close(&c);
	return e;
}

static const struct cli_cmd display_cmds[] = {
    {"token", display_token,
     "--origin https://HOST[:PORT]: a one-time token for the display client (a launcher uid)"},
    {"redeem", display_redeem,
     "--origin ORIGIN < TOKEN: redeem a token (a gateway uid); exit 1 when refused"},
    {"certs", display_certs,
     "--out-dir DIR [--rotate] [--client]: the device-unique TLS key (in the service, "
     "your uid's) and its certificate; prints its SPKI sha256 (base64)"},
};

int cmd_display(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "display", display_cmds, VG_ARRAY_LEN(display_cmds), argc, argv);
}
