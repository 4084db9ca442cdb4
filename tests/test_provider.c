/*
 * test_provider.c - the OpenSSL provider "voxguard" (src/provider/).
 *
 * SFR 4.2.11 note 11 (the keystore serves secure communication), SFR 4.2.7
 * (TLS with the client's key in the service): the strict parsers of the
 * key URI and of the key reference file, with malformed inputs; then,
 * against a real service running in this process, the provider built into
 * libvoxguard (vg_provider_load_into, vg_provider_load_key): signatures
 * that OpenSSL verifies, a CSR, the private key never exported, a
 * mutual-TLS handshake whose client key is in the service, each next to
 * the refusal it controls (another uid's key, a stopped service). The
 * ASan build runs this test over the provider's code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "daemon/config.h"
#include "daemon/server.h"
#include "daemon/service.h"
#include "helpers.h"
#include "provider/provider.h"

/* ---- the parsers ---- */

/* SFR 4.2.7: exactly voxguard:key=NAME with a valid name is a key URI. */
static void test_provider_uri_parse(void **state)
{
	static const char *good[] = {"voxguard:key=k", "voxguard:key=tls-client.p256",
				     "VOXGUARD:key=A_b-1", "voxguard:key=device-identity"};
	static const char *bad[] = {
	    "",
	    "voxguard:",
	    "voxguard:key=",
	    "voxguard:key=.hidden",
	    "voxguard:key=../k",
	    "voxguard:key=a/b",
	    "voxguard:key=a b",
	    "voxguard:key=k;type=ec",
	    "voxguard:key=k?x",
	    "voxguard:KEY=k",
	    "voxguard:name=k",
	    "voxguard:/key=k",
	    "voxguard://key=k",
	    "voxguardkey=k",
	    "pkcs11:object=k",
	    "file:voxguard:key=k",
	    " voxguard:key=k",
	    "voxguard:key=k ",
	    "voxguard:key=k%41",
	    "voxguard:key=k\n",
	};
	char name[VG_MAX_NAME_LEN + 1];
	char long_uri[VG_PROVIDER_URI_MAX + 8];

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(good); i++) {
		assert_int_equal(vg_provider_parse_uri(good[i], strlen(good[i]), name), VG_OK);
		assert_string_equal(name, strchr(good[i], '=') + 1);
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		strcpy(name, "x");
		assert_int_equal(vg_provider_parse_uri(bad[i], strlen(bad[i]), name),
				 VG_ERR_INVALID);
		assert_string_equal(name, "");
	}
	/* An embedded NUL: the length counts, not the C string. */
	assert_int_equal(vg_provider_parse_uri("voxguard:key=a\0b", 16, name), VG_ERR_INVALID);
	assert_int_equal(vg_provider_parse_uri(NULL, 0, name), VG_ERR_INVALID);
	/* The longest name is fine, one more character is not. */
	memset(long_uri, 'a', sizeof long_uri);
	memcpy(long_uri, VG_PROVIDER_URI_PREFIX, sizeof VG_PROVIDER_URI_PREFIX - 1);
	assert_int_equal(vg_provider_parse_uri(long_uri, VG_PROVIDER_URI_MAX, name), VG_OK);
	assert_int_equal(strlen(name), VG_MAX_NAME_LEN);
	assert_int_equal(vg_provider_parse_uri(long_uri, VG_PROVIDER_URI_MAX + 1, name),
			 VG_ERR_INVALID);
}

/* SFR 4.2.7: the key reference body round-trips, and every malformed body
 * (truncated, trailing bytes, wrong length byte, another version, a bad
 * URI inside) is refused with an empty name. */
static void test_provider_keyref_decode(void **state)
{
	uint8_t body[VG_KEYREF_MAX], m[VG_KEYREF_MAX + 4];
	size_t n = 0;
	char name[VG_MAX_NAME_LEN + 1];

	(void)state;
	assert_int_equal(vg_keyref_encode("tls-client", body, &n), VG_OK);
	assert_int_equal(body[0], VG_KEYREF_VERSION);
	assert_int_equal(n, 2 + strlen("voxguard:key=tls-client"));
	assert_int_equal(vg_keyref_decode(body, n, name), VG_OK);
	assert_string_equal(name, "tls-client");
	assert_int_equal(vg_keyref_encode("../x", body, &n), VG_ERR_INVALID);
	assert_int_equal(vg_keyref_encode(NULL, body, &n), VG_ERR_INVALID);

	assert_int_equal(vg_keyref_encode("k1", body, &n), VG_OK);
	for (size_t cut = 0; cut < n; cut++) {
		strcpy(name, "x");
		assert_int_not_equal(vg_keyref_decode(body, cut, name), VG_OK);
		assert_string_equal(name, "");
	}
	memcpy(m, body, n);
	m[n] = 0;
	assert_int_equal(vg_keyref_decode(m, n + 1, name), VG_ERR_INVALID); /* trailing */
	m[1] = (uint8_t)(m[1] + 1);
	assert_int_equal(vg_keyref_decode(m, n + 1, name), VG_ERR_INVALID); /* no "k1\0" */
	memcpy(m, body, n);
	m[0] = 2;
	assert_int_equal(vg_keyref_decode(m, n, name), VG_ERR_UNSUPPORTED);
	m[0] = 0;
	assert_int_equal(vg_keyref_decode(m, n, name), VG_ERR_UNSUPPORTED);
	memcpy(m, body, n);
	m[1] = 0xff;
	assert_int_equal(vg_keyref_decode(m, n, name), VG_ERR_INVALID);
	memcpy(m, body, n);
	m[2] = 'V'; /* "Voxguard:" is still the scheme */
	assert_int_equal(vg_keyref_decode(m, n, name), VG_OK);
	m[n - 1] = '/';
	assert_int_equal(vg_keyref_decode(m, n, name), VG_ERR_INVALID);
	assert_string_equal(name, "");
	assert_int_equal(vg_keyref_decode(NULL, 0, name), VG_ERR_INVALID);
}

/* SFR 4.2.7: the PEM file holds the body under its label and nothing
 * secret; PEM_read_bio gives the body back. */
static void test_provider_keyref_pem(void **state)
{
	char *pem = NULL, *label = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	size_t n = 0;
	char name[VG_MAX_NAME_LEN + 1];
	BIO *b;

	(void)state;
	assert_int_equal(vg_keyref_pem("tls-client", &pem, &n), VG_OK);
	assert_int_equal(strlen(pem), n);
	assert_non_null(strstr(pem, "-----BEGIN " VG_KEYREF_PEM_LABEL "-----"));
	assert_null(strstr(pem, "PRIVATE"));
	b = BIO_new_mem_buf(pem, (int)n);
	assert_true(PEM_read_bio(b, &label, &header, &data, &len) > 0);
	assert_string_equal(label, VG_KEYREF_PEM_LABEL);
	assert_int_equal(vg_keyref_decode(data, (size_t)len, name), VG_OK);
	assert_string_equal(name, "tls-client");
	OPENSSL_free(label);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(b);
	free(pem);
	assert_int_equal(vg_keyref_pem("", &pem, &n), VG_ERR_INVALID);
	assert_null(pem);
}

/* ---- a real service in this process ---- */

typedef struct fixture {
	char dir[64];
	char sock[VGT_PATH];
	vg_service *svc;
	int lfd;
	pthread_t thread;
	volatile sig_atomic_t stop;
	bool running;
	OSSL_LIB_CTX *libctx;
} fixture;

static void *serve(void *arg)
{
	fixture *f = arg;

	VG_IGNORE(vg_server_run(f->svc, f->lfd, &f->stop, NULL));
	return NULL;
}

static void service_stop(fixture *f)
{
	if (!f->running)
		return;
	f->stop = 1;
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	f->running = false;
	(void)close(f->lfd);
	vg_service_close(&f->svc);
}

static int service_start(fixture *f)
{
	vg_config cfg;
	char err[256];
	char state_dir[VGT_PATH];

	vg_config_defaults(&cfg);
	vgt_path(state_dir, f->dir, "state");
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (vg_service_open(&f->svc, state_dir, &cfg, err, sizeof err) != VG_OK)
		return -1;
	if (vg_server_listen(f->sock, 0600, (gid_t)-1, &f->lfd, err, sizeof err) != VG_OK)
		return -1;
	f->stop = 0;
	if (pthread_create(&f->thread, NULL, serve, f) != 0)
		return -1;
	f->running = true;
	return 0;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);

	if (!f || vgt_mkdtemp(f->dir) != 0)
		return -1;
	vgt_path(f->sock, f->dir, "vg.sock");
	if (service_start(f) != 0)
		return -1;
	f->libctx = OSSL_LIB_CTX_new();
	if (!f->libctx || vg_provider_load_into(f->libctx, f->sock) != 1)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	vg_provider_unload(f->libctx);
	OSSL_LIB_CTX_free(f->libctx);
	service_stop(f);
	vgt_rmrf(f->dir);
	free(f);
	return 0;
}

static void create_key(fixture *f, const char *name, vg_key_type type)
{
	vg_client *c = NULL;

	assert_int_equal(vg_client_open(&c, f->sock), VG_OK);
	assert_int_equal(vg_key_create(c, name, type, 0), VG_OK);
	vg_client_close(&c);
}

/* The key's public half as the service gives it (vg_key_public_pem). */
static EVP_PKEY *service_public(fixture *f, const char *name)
{
	vg_client *c = NULL;
	char *pem = NULL;
	size_t len = 0;
	BIO *b;
	EVP_PKEY *k;

	assert_int_equal(vg_client_open(&c, f->sock), VG_OK);
	assert_int_equal(vg_key_public_pem(c, name, &pem, &len), VG_OK);
	vg_client_close(&c);
	b = BIO_new_mem_buf(pem, (int)len);
	k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	assert_non_null(k);
	BIO_free(b);
	vg_free(pem, len);
	return k;
}

/* SFR 4.2.7, 4.2.11 note 11: keys loaded by name sign through the
 * service (ECDSA P-256/P-384 over SHA-256/384/512, Ed25519), and OpenSSL
 * verifies the signatures with the service's public key. */
static void test_provider_sign_verifies(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *name;
		vg_key_type type;
		const char *md;
	} keys[] = {
	    {"p256", VG_KEY_P256, "SHA256"},
	    {"p256", VG_KEY_P256, "SHA512"},
	    {"p384", VG_KEY_P384, "SHA384"},
	    {"ed", VG_KEY_ED25519, NULL},
	};
	static const uint8_t msg[] = "the voice of the device";

	create_key(f, "p256", VG_KEY_P256);
	create_key(f, "p384", VG_KEY_P384);
	create_key(f, "ed", VG_KEY_ED25519);
	for (size_t i = 0; i < VG_ARRAY_LEN(keys); i++) {
		EVP_PKEY *k = NULL, *pub = service_public(f, keys[i].name);
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		uint8_t sig[160];
		size_t sl = sizeof sig;

		assert_int_equal(vg_provider_load_key(f->libctx, keys[i].name, &k), VG_OK);
		assert_non_null(k);
		/* It is the service's key: same public key. */
		assert_int_equal(EVP_PKEY_eq(k, pub), 1);
		assert_int_equal(
		    EVP_DigestSignInit_ex(md, NULL, keys[i].md, f->libctx, NULL, k, NULL), 1);
		assert_int_equal(EVP_DigestSign(md, sig, &sl, msg, sizeof msg), 1);
		EVP_MD_CTX_free(md);
		md = EVP_MD_CTX_new();
		assert_int_equal(
		    EVP_DigestVerifyInit_ex(md, NULL, keys[i].md, NULL, NULL, pub, NULL), 1);
		assert_int_equal(EVP_DigestVerify(md, sig, sl, msg, sizeof msg), 1);
		EVP_MD_CTX_free(md);
		md = EVP_MD_CTX_new();
		assert_int_equal(
		    EVP_DigestVerifyInit_ex(md, NULL, keys[i].md, NULL, NULL, pub, NULL), 1);
		assert_int_not_equal(EVP_DigestVerify(md, sig, sl, msg, sizeof msg - 1), 1);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(k);
		EVP_PKEY_free(pub);
	}
}

/* SFR 4.2.11: the private key never leaves the service: no PEM or DER of
 * it, no private-key export (OpenSSL 3.0's first step of a signature in
 * another provider), and the same refusal for an imported private key. */
static void test_provider_no_private_export(void **state)
{
	fixture *f = *state;
	EVP_PKEY *k = NULL;
	OSSL_PARAM *params = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;

	create_key(f, "p256", VG_KEY_P256);
	assert_int_equal(vg_provider_load_key(f->libctx, "p256", &k), VG_OK);
	assert_int_equal(EVP_PKEY_todata(k, EVP_PKEY_KEYPAIR, &params), 0);
	assert_int_equal(EVP_PKEY_todata(k, EVP_PKEY_PUBLIC_KEY, &params), 1);
	assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY));
	OSSL_PARAM_free(params);
	assert_int_not_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	BIO_get_mem_ptr(b, &mem);
	assert_null(memmem(mem->data, mem->length, "PRIVATE", 7));
	BIO_free(b);
	EVP_PKEY_free(k);
	ERR_clear_error();
}

/* SFR 4.2.10, 4.2.11: a key of another uid, an unknown name or a bad name
 * is not loaded (the service's policy, a clean error), next to the
 * control: the caller's own key loads. */
static void test_provider_load_refusals(void **state)
{
	fixture *f = *state;
	EVP_PKEY *k = NULL;

	create_key(f, "mine", VG_KEY_P256);
	assert_int_equal(vg_provider_load_key(f->libctx, "mine", &k), VG_OK);
	EVP_PKEY_free(k);
	k = NULL;
	assert_int_equal(vg_provider_load_key(f->libctx, "nobody-has-this", &k), VG_ERR_NOT_FOUND);
	assert_null(k);
	assert_int_equal(vg_provider_load_key(f->libctx, "../mine", &k), VG_ERR_INVALID);
	assert_int_equal(vg_provider_load_key(f->libctx, NULL, &k), VG_ERR_INVALID);
	/* An x25519 key (audio streams, issue 13) signs nothing: the
	 * provider does not offer it, cleanly. */
	create_key(f, "rx", VG_KEY_X25519);
	assert_int_equal(vg_provider_load_key(f->libctx, "rx", &k), VG_ERR_UNSUPPORTED);
	assert_null(k);
	/* The service's own keys are not the caller's (no identity_tls_group). */
	assert_int_not_equal(vg_provider_load_key(f->libctx, "device-identity", &k), VG_OK);
	assert_null(k);
	/* A context without the provider. */
	{
		OSSL_LIB_CTX *other = OSSL_LIB_CTX_new();
		assert_int_equal(vg_provider_load_key(other, "mine", &k), VG_ERR_UNAVAILABLE);
		vg_provider_unload(other); /* not loaded there: nothing happens */
		OSSL_LIB_CTX_free(other);
	}
	/* Loading twice is a no-op. */
	assert_int_equal(vg_provider_load_into(f->libctx, f->sock), 1);
	ERR_clear_error();
}

/* SFR 4.2.7: a CSR signed through the provider verifies, with the
 * service's public key in it. */
static void test_provider_csr_verifies(void **state)
{
	fixture *f = *state;
	EVP_PKEY *k = NULL, *pub;
	X509_REQ *req = X509_REQ_new_ex(f->libctx, NULL);
	X509_NAME *nm = X509_NAME_new();

	create_key(f, "p384", VG_KEY_P384);
	assert_int_equal(vg_provider_load_key(f->libctx, "p384", &k), VG_OK);
	pub = service_public(f, "p384");
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
						    (const unsigned char *)"device", -1, -1, 0),
			 1);
	assert_int_equal(X509_REQ_set_subject_name(req, nm), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, k), 1);
	assert_true(X509_REQ_sign(req, k, EVP_sha384()) > 0);
	assert_int_equal(X509_REQ_verify(req, pub), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), pub), 1);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(k);
}

/* ---- a mutual-TLS handshake over a BIO pair ---- */

static X509 *make_cert(EVP_PKEY *subject, const char *cn, EVP_PKEY *issuer_key, X509 *issuer,
		       bool ca)
{
	X509 *x = X509_new();
	X509_NAME *nm;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, subject), 1);
	nm = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm), 1);
	if (ca) {
		X509_EXTENSION *e =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
		assert_non_null(e);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

/* Drives both ends until both are done or one fails; 1 if both
 * completed. */
static int handshake(SSL *cli, SSL *srv)
{
	bool cdone = false, sdone = false;

	for (int i = 0; i < 200 && !(cdone && sdone); i++) {
		if (!cdone) {
			int r = SSL_do_handshake(cli);
			if (r == 1)
				cdone = true;
			else if (SSL_get_error(cli, r) != SSL_ERROR_WANT_READ &&
				 SSL_get_error(cli, r) != SSL_ERROR_WANT_WRITE)
				return 0;
		}
		if (!sdone) {
			int r = SSL_do_handshake(srv);
			if (r == 1)
				sdone = true;
			else if (SSL_get_error(srv, r) != SSL_ERROR_WANT_READ &&
				 SSL_get_error(srv, r) != SSL_ERROR_WANT_WRITE)
				return 0;
		}
	}
	return cdone && sdone;
}

/* One client hello to a server that requires a client certificate: 1 if
 * the handshake completed and the server saw the client's certificate. */
static const char *mtls_groups;   /* the client's groups; NULL: OpenSSL's */
static OSSL_LIB_CTX *mtls_libctx; /* the client's context; NULL: the fixture's */

static int mtls(fixture *f, EVP_PKEY *client_key, X509 *client_cert, EVP_PKEY *ca_key, X509 *ca,
		int version)
{
	EVP_PKEY *skey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *scert = make_cert(skey, "server", ca_key, ca, false);
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX *cctx =
	    SSL_CTX_new_ex(mtls_libctx ? mtls_libctx : f->libctx, NULL, TLS_client_method());
	SSL *s, *c;
	BIO *b1 = NULL, *b2 = NULL;
	int ok;

	assert_non_null(sctx);
	assert_non_null(cctx);
	assert_int_equal(SSL_CTX_use_certificate(sctx, scert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sctx, skey), 1);
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), ca), 1);
	SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), ca), 1);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	assert_int_equal(SSL_CTX_set_min_proto_version(cctx, version), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(cctx, version), 1);
	if (mtls_groups)
		assert_int_equal(SSL_CTX_set1_groups_list(cctx, mtls_groups), 1);
	if (client_key) {
		assert_int_equal(SSL_CTX_use_certificate(cctx, client_cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(cctx, client_key), 1);
		assert_int_equal(SSL_CTX_check_private_key(cctx), 1);
	}
	s = SSL_new(sctx);
	c = SSL_new(cctx);
	assert_int_equal(BIO_new_bio_pair(&b1, 0, &b2, 0), 1);
	SSL_set_bio(c, b1, b1);
	SSL_set_bio(s, b2, b2);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	ok = handshake(c, s);
	if (ok) {
		X509 *peer = SSL_get1_peer_certificate(s);
		ok = peer && X509_cmp(peer, client_cert) == 0 &&
		     SSL_get_verify_result(s) == X509_V_OK;
		X509_free(peer);
	}
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	X509_free(scert);
	EVP_PKEY_free(skey);
	ERR_clear_error();
	return ok;
}

/* SFR 4.2.7, AVS 1.3: a mutual-TLS 1.3 and 1.2 handshake with the
 * client's key in the service (P-256, P-384, Ed25519 in 1.3), next to its
 * controls: without a client certificate the server refuses; with the
 * service stopped the handshake fails cleanly, and works again once it is
 * back (the provider reconnects). */
static void test_provider_mtls_handshake(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *name;
		vg_key_type type;
		int version;
	} cases[] = {
	    {"p256", VG_KEY_P256, TLS1_3_VERSION},  {"p256", VG_KEY_P256, TLS1_2_VERSION},
	    {"p384", VG_KEY_P384, TLS1_3_VERSION},  {"p384", VG_KEY_P384, TLS1_2_VERSION},
	    {"ed", VG_KEY_ED25519, TLS1_3_VERSION},
	};
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *ca = make_cert(ca_key, "test CA", ca_key, NULL, true);
	EVP_PKEY *k = NULL, *pub;
	X509 *cert;

	create_key(f, "p256", VG_KEY_P256);
	create_key(f, "p384", VG_KEY_P384);
	create_key(f, "ed", VG_KEY_ED25519);
	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		assert_int_equal(vg_provider_load_key(f->libctx, cases[i].name, &k), VG_OK);
		pub = service_public(f, cases[i].name);
		cert = make_cert(pub, "device", ca_key, ca, false);
		assert_int_equal(mtls(f, k, cert, ca_key, ca, cases[i].version), 1);
		X509_free(cert);
		EVP_PKEY_free(pub);
		EVP_PKEY_free(k);
	}
	/* The control: no client certificate, no handshake. */
	assert_int_equal(mtls(f, NULL, NULL, ca_key, ca, TLS1_3_VERSION), 0);

	/* The service stops mid-way: the key object stays, signing fails. */
	assert_int_equal(vg_provider_load_key(f->libctx, "p256", &k), VG_OK);
	pub = service_public(f, "p256");
	cert = make_cert(pub, "device", ca_key, ca, false);
	service_stop(f);
	assert_int_equal(mtls(f, k, cert, ca_key, ca, TLS1_3_VERSION), 0);
	assert_int_equal(service_start(f), 0);
	assert_int_equal(mtls(f, k, cert, ca_key, ca, TLS1_3_VERSION), 1);
	X509_free(cert);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(k);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* SFR 4.2.7: OpenSSL 3.0 takes the first provider it finds for an
 * algorithm fetched without a property query: with voxguard loaded before
 * default, its EC key management is the one TLS gets for the key shares.
 * The handshakes still complete on every NIST group, TLS 1.3 and 1.2
 * (where the server's P-256 certificate needs P-256 among the client's
 * groups), an EC key the application generates through that context works
 * and exports whole (it is the process's own), and the service's key
 * still never exports its private half. */
static void test_provider_loaded_before_default(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *groups;
		int version;
	} cases[] = {
	    {"P-256", TLS1_3_VERSION},  {"P-384", TLS1_3_VERSION}, {"P-521", TLS1_3_VERSION},
	    {"X25519", TLS1_3_VERSION}, {"P-256", TLS1_2_VERSION}, {"P-521:P-256", TLS1_2_VERSION},
	    {NULL, TLS1_2_VERSION},
	};
	OSSL_LIB_CTX *l = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *ours, *deflt;
	EVP_PKEY_CTX *pc;
	EVP_PKEY *k = NULL, *pub, *gen = NULL, *ca_key;
	OSSL_PARAM *params = NULL;
	X509 *ca, *cert;

	assert_non_null(l);
	/* Loaded by hand, without a socket: the library's default,
	 * $VOXGUARD_SOCKET, read at each connection. */
	assert_int_equal(setenv("VOXGUARD_SOCKET", f->sock, 1), 0);
	assert_int_equal(OSSL_PROVIDER_add_builtin(l, VG_PROVIDER_NAME, vg_provider_init), 1);
	ours = OSSL_PROVIDER_load(l, VG_PROVIDER_NAME);
	deflt = OSSL_PROVIDER_load(l, "default");
	assert_non_null(ours);
	assert_non_null(deflt);
	/* The case in point: EC key management fetched without a query is
	 * this provider's. */
	{
		EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(l, "EC", NULL);
		assert_non_null(km);
		assert_string_equal(OSSL_PROVIDER_get0_name(EVP_KEYMGMT_get0_provider(km)),
				    VG_PROVIDER_NAME);
		EVP_KEYMGMT_free(km);
	}

	create_key(f, "p256", VG_KEY_P256);
	assert_int_equal(vg_provider_load_key(l, "p256", &k), VG_OK);
	pub = service_public(f, "p256");
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ca = make_cert(ca_key, "test CA", ca_key, NULL, true);
	cert = make_cert(pub, "device", ca_key, ca, false);
	mtls_libctx = l;
	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		mtls_groups = cases[i].groups;
		assert_int_equal(mtls(f, k, cert, ca_key, ca, cases[i].version), 1);
	}
	mtls_groups = NULL;
	mtls_libctx = NULL;

	/* The application's own EC key through the same context. */
	pc = EVP_PKEY_CTX_new_from_name(l, "EC", NULL);
	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_keygen_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_group_name(pc, "P-256"), 1);
	assert_int_equal(EVP_PKEY_keygen(pc, &gen), 1);
	assert_int_equal(EVP_PKEY_todata(gen, EVP_PKEY_KEYPAIR, &params), 1);
	assert_non_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY));
	OSSL_PARAM_free(params);
	params = NULL;
	EVP_PKEY_CTX_free(pc);
	/* The service's key: still public only. */
	assert_int_equal(EVP_PKEY_todata(k, EVP_PKEY_KEYPAIR, &params), 0);

	EVP_PKEY_free(gen);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(k);
	assert_int_equal(OSSL_PROVIDER_unload(deflt), 1);
	assert_int_equal(OSSL_PROVIDER_unload(ours), 1);
	OSSL_LIB_CTX_free(l);
	assert_int_equal(unsetenv("VOXGUARD_SOCKET"), 0);
	ERR_clear_error();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_provider_uri_parse),
	    cmocka_unit_test(test_provider_keyref_decode),
	    cmocka_unit_test(test_provider_keyref_pem),
	    cmocka_unit_test_setup_teardown(test_provider_sign_verifies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_no_private_export, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_load_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_csr_verifies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_mtls_handshake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provider_loaded_before_default, setup, teardown),
	};

	/* A client writing to a service that went away must not die. */
	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
