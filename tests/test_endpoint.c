/*
 * test_endpoint.c - the endpoint policy's encoding and strict parser
 * (src/tls/endpoint.c) and the service's tls.connected rate limit
 * (src/daemon/op_endpoint.c): SFR 4.2.7, 4.2.8, AVS 1.3.
 *
 * Every malformed case is refused with a reason and leaves nothing held;
 * every accepted policy re-encodes to the same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit/audit.h"
#include "daemon/op_endpoint.h"
#include "daemon/ops.h"
#include "tls/endpoint.h"

/* ---- test material: a CA certificate, a CRL, a private key (PEM) ---- */

static char *bio_text(BIO *b)
{
	char *p = NULL, *s;
	long n = BIO_get_mem_data(b, &p);

	s = malloc((size_t)n + 1);
	assert_non_null(s);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	return s;
}

static EVP_PKEY *test_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

static char *cert_pem(const char *cn)
{
	EVP_PKEY *k = test_key();
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());

	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
					       -1, -1, 0));
	assert_true(X509_set_subject_name(x, name));
	assert_true(X509_set_issuer_name(x, name));
	assert_true(X509_set_pubkey(x, k));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_true(PEM_write_bio_X509(b, x));
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(k);
	return bio_text(b);
}

static char *crl_pem(void)
{
	EVP_PKEY *k = test_key();
	X509_CRL *c = X509_CRL_new();
	X509_NAME *name = X509_NAME_new();
	ASN1_TIME *t = ASN1_TIME_new();
	BIO *b = BIO_new(BIO_s_mem());

	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					       (const unsigned char *)"Test CA", -1, -1, 0));
	assert_true(X509_CRL_set_version(c, 1));
	assert_true(X509_CRL_set_issuer_name(c, name));
	assert_non_null(X509_gmtime_adj(t, 0));
	assert_true(X509_CRL_set1_lastUpdate(c, t));
	assert_non_null(X509_gmtime_adj(t, 86400));
	assert_true(X509_CRL_set1_nextUpdate(c, t));
	assert_true(X509_CRL_sign(c, k, EVP_sha256()) > 0);
	assert_true(PEM_write_bio_X509_CRL(b, c));
	ASN1_TIME_free(t);
	X509_NAME_free(name);
	X509_CRL_free(c);
	EVP_PKEY_free(k);
	return bio_text(b);
}

static char *key_pem(void)
{
	EVP_PKEY *k = test_key();
	BIO *b = BIO_new(BIO_s_mem());

	assert_true(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
	EVP_PKEY_free(k);
	return bio_text(b);
}

static char *CA, *CA2, *CRL, *KEY;

static int setup(void **state)
{
	(void)state;
	CA = cert_pem("Test CA");
	CA2 = cert_pem("Other CA");
	CRL = crl_pem();
	KEY = key_pem();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(CA);
	free(CA2);
	free(CRL);
	free(KEY);
	return 0;
}

static char *cat(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);
	assert_non_null(s);
	strcpy(s, a);
	strcat(s, b);
	return s;
}

/* A policy with every field set. */
static void full(vg_endpoint *ep)
{
	memset(ep, 0, sizeof *ep);
	strcpy(ep->name, "avs");
	strcpy(ep->host, "avs-alexa-na.amazon.com");
	ep->port = 443;
	ep->ca_pem = cat(CA, CA2);
	ep->n_pins = 2;
	memset(ep->pins[0], 0xab, 32);
	memset(ep->pins[1], 0x01, 32);
	ep->revocation = VG_REVOCATION_CRL;
	ep->soft_fail = true;
	ep->crl_pem = strdup(CRL);
	strcpy(ep->client_key, "voice-tls");
	ep->client_cert_pem = strdup(CA2);
	ep->n_uids = 3;
	ep->uids[0] = 1000;
	ep->uids[1] = 0;
	ep->uids[2] = 4294967294u;
	ep->n_units = 2;
	strcpy(ep->units[0], "avs.service");
	strcpy(ep->units[1], "voice@1.service");
	ep->min_version = 0x0303;
	ep->legacy = true;
}

/* A minimal valid policy as a jansson object, for mutation. */
static json_t *minimal(void)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:s, s:s}", "v", 1, "name", "ep", "host",
			      "example.com", "port", 443, "ca", CA, "revocation", "ocsp-stapled");
	assert_non_null(o);
	return o;
}

static vg_rc parse_obj(json_t *o, char *why, size_t cap)
{
	char *s = json_dumps(o, JSON_COMPACT);
	vg_endpoint ep;
	vg_rc rc;

	assert_non_null(s);
	memset(&ep, 0x5a, sizeof ep);
	rc = vg_endpoint_from_json((const uint8_t *)s, strlen(s), &ep, why, cap);
	if (rc != VG_OK) {
		/* Refused: nothing held, nothing left. */
		assert_null(ep.ca_pem);
		assert_null(ep.crl_pem);
		assert_null(ep.client_cert_pem);
		assert_int_equal(ep.name[0], 0);
	}
	vg_endpoint_clear(&ep);
	free(s);
	json_decref(o);
	return rc;
}

/* SFR 4.2.8: the policy encodes and parses back field for field, and the
 * encoding is canonical: the parsed policy encodes to the same bytes. */
static void test_sfr428_endpoint_roundtrip(void **state)
{
	vg_endpoint a, b;
	char *j1 = NULL, *j2 = NULL, why[256] = "";
	size_t l1 = 0, l2 = 0;

	(void)state;
	full(&a);
	assert_int_equal(vg_endpoint_to_json(&a, &j1, &l1, why, sizeof why), VG_OK);
	assert_int_equal(strlen(j1), l1);
	assert_int_equal(vg_endpoint_from_json((const uint8_t *)j1, l1, &b, why, sizeof why),
			 VG_OK);
	assert_string_equal(a.name, b.name);
	assert_string_equal(a.host, b.host);
	assert_int_equal(a.port, b.port);
	assert_string_equal(a.ca_pem, b.ca_pem);
	assert_int_equal(a.n_pins, b.n_pins);
	assert_memory_equal(a.pins, b.pins, sizeof a.pins);
	assert_int_equal(a.revocation, b.revocation);
	assert_int_equal(a.soft_fail, b.soft_fail);
	assert_string_equal(a.crl_pem, b.crl_pem);
	assert_string_equal(a.client_key, b.client_key);
	assert_string_equal(a.client_cert_pem, b.client_cert_pem);
	assert_int_equal(a.n_uids, b.n_uids);
	assert_memory_equal(a.uids, b.uids, sizeof a.uids);
	assert_int_equal(a.n_units, b.n_units);
	assert_string_equal(a.units[0], b.units[0]);
	assert_string_equal(a.units[1], b.units[1]);
	assert_int_equal(a.min_version, b.min_version);
	assert_int_equal(a.legacy, b.legacy);
	assert_int_equal(vg_endpoint_to_json(&b, &j2, &l2, why, sizeof why), VG_OK);
	assert_int_equal(l1, l2);
	assert_memory_equal(j1, j2, l1);
	/* Sorted keys, no whitespace, the PEM's newlines escaped. */
	assert_true(strncmp(j1, "{\"ca\":\"-----BEGIN CERTIFICATE-----\\n", 36) == 0);
	assert_null(strchr(j1, '\n'));
	assert_null(strstr(j1, "\": "));
	assert_null(strstr(j1, ", \""));
	assert_non_null(strstr(j1, "\"v\":1}"));
	vg_endpoint_clear(&a);
	vg_endpoint_clear(&b);
	free(j1);
	free(j2);
}

/* SFR 4.2.8: whatever the layout of accepted input (spaces, key order,
 * upper-case pins), what is stored is the one canonical form. */
static void test_sfr428_endpoint_canonical_form(void **state)
{
	json_t *o = minimal();
	char *loose, *j1 = NULL, *j2 = NULL, why[256] = "";
	size_t l1 = 0, l2 = 0;
	vg_endpoint ep;

	(void)state;
	assert_int_equal(json_object_set_new(o, "pins",
					     json_pack("[s]", "ABABABABABABABABABABABABABABABAB"
							      "ABABABABABABABABABABABABABABABAB")),
			 0);
	loose = json_dumps(o, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
	assert_int_equal(
	    vg_endpoint_from_json((const uint8_t *)loose, strlen(loose), &ep, why, sizeof why),
	    VG_OK);
	assert_int_equal(ep.pins[0][0], 0xab);
	assert_int_equal(vg_endpoint_to_json(&ep, &j1, &l1, why, sizeof why), VG_OK);
	vg_endpoint_clear(&ep);
	assert_int_equal(vg_endpoint_from_json((const uint8_t *)j1, l1, &ep, why, sizeof why),
			 VG_OK);
	assert_int_equal(vg_endpoint_to_json(&ep, &j2, &l2, why, sizeof why), VG_OK);
	assert_string_equal(j1, j2);
	assert_non_null(strstr(j1, "\"pins\":[\"abab"));
	/* Defaults: TLS 1.2 minimum, no legacy, no soft-fail, nobody listed. */
	assert_int_equal(ep.min_version, 0x0303);
	assert_false(ep.legacy);
	assert_false(ep.soft_fail);
	assert_int_equal(ep.n_uids, 0);
	assert_int_equal(ep.n_units, 0);
	assert_int_equal(ep.revocation, VG_REVOCATION_OCSP_STAPLED);
	assert_null(strstr(j1, "client_key"));
	assert_null(strstr(j1, "\"crl\""));
	vg_endpoint_clear(&ep);
	free(loose);
	free(j1);
	free(j2);
	json_decref(o);
}

/* Malformed cases: one mutation of the minimal policy each. */
struct bad {
	const char *what;
	const char *key; /* set (or with value NULL, delete) this key */
	json_t *(*value)(void);
	vg_rc want;
};

#define V(name, expr)             \
	static json_t *name(void) \
	{                         \
		return (expr);    \
	}
V(j_true, json_true())
V(j_str, json_string("x"))
V(j_443s, json_string("443"))
V(j_443r, json_real(443.0))
V(j_0, json_integer(0))
V(j_65536, json_integer(65536))
V(j_neg, json_integer(-1))
V(j_2, json_integer(2))
V(j_obj, json_object())
V(j_null, json_null())
V(j_name129, json_string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
V(j_dotname, json_string(".hidden"))
V(j_slash, json_string("a/b"))
V(j_badhost, json_string("bad_host.example"))
V(j_quotehost, json_string("a\".example"))
V(j_nlhost, json_string("a\nb.example"))
V(j_utf8host, json_string("b\xc3\xbc"
			  "cher.example"))
V(j_numhost, json_string("10.0.0.300"))
V(j_revoc, json_string("OCSP"))
V(j_tls11, json_string("1.1"))
V(j_tls13n, json_real(1.3))
V(j_notpem, json_string("hello"))
V(j_badpem, json_string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
V(j_keypem, json_string(KEY))
V(j_crlpem, json_string(CRL))
V(j_ca2, json_string(CA2))
static json_t *j_certs_key(void)
{
	char *s = cat(CA, KEY);
	json_t *v = json_string(s);
	free(s);
	return v;
}
V(j_empty, json_string(""))
V(j_ctrl, json_string("-----BEGIN CERTIFICATE-----\x01"))
V(j_pins_short, json_pack("[s]", "abcd"))
V(j_pins_nothex,
  json_pack("[s]", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"))
V(j_pins_num, json_pack("[i]", 7))
V(j_pins_dup, json_pack("[s,s]", "0101010101010101010101010101010101010101010101010101010101010101",
			"0101010101010101010101010101010101010101010101010101010101010101"))
V(j_uids_dup, json_pack("[i,i]", 1000, 1000))
V(j_uids_neg, json_pack("[i]", -1))
V(j_uids_max, json_pack("[I]", (json_int_t)4294967295LL))
V(j_uids_big, json_pack("[I]", (json_int_t)1 << 40))
V(j_uids_str, json_pack("[s]", "1000"))
V(j_units_bad, json_pack("[s]", "avs"))
V(j_units_quote, json_pack("[s]", "a\"b.service"))
V(j_units_slash, json_pack("[s]", "system.slice/avs.service"))
V(j_units_bs, json_pack("[s]", "a\\x2db.service"))
V(j_units_dup, json_pack("[s,s]", "a.service", "a.service"))
V(j_units_dot, json_pack("[s]", ".service"))

static json_t *many(json_t *(*one)(size_t), size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_array_append_new(a, one(i)), 0);
	return a;
}
static json_t *uid_i(size_t i)
{
	return json_integer((json_int_t)i);
}
static json_t *pin_i(size_t i)
{
	char h[65];
	memset(h, '0', 64);
	h[64] = '\0';
	h[0] = (char)('a' + i);
	return json_string(h);
}
static json_t *unit_i(size_t i)
{
	char u[32];
	(void)snprintf(u, sizeof u, "u%zu.service", i);
	return json_string(u);
}
V(j_uids_17, many(uid_i, 17))
V(j_pins_9, many(pin_i, 9))
V(j_units_9, many(unit_i, 9))
static json_t *j_ca_65(void)
{
	size_t n = strlen(CA);
	char *s = malloc(65 * n + 1);
	json_t *v;
	for (size_t i = 0; i < 65; i++)
		memcpy(s + i * n, CA, n);
	s[65 * n] = '\0';
	v = json_string(s);
	free(s);
	return v;
}
static json_t *j_unit129(void)
{
	char u[140];
	memset(u, 'a', 129);
	strcpy(u + 121, ".service");
	return json_string(u);
}
static json_t *j_units_long(void)
{
	return json_pack("[o]", j_unit129());
}

static const struct bad bads[] = {
    {"unknown key", "extra", j_true, VG_ERR_INVALID},
    {"v missing", "v", NULL, VG_ERR_INVALID},
    {"v 2", "v", j_2, VG_ERR_UNSUPPORTED},
    {"v a string", "v", j_str, VG_ERR_INVALID},
    {"name missing", "name", NULL, VG_ERR_INVALID},
    {"name a number", "name", j_2, VG_ERR_INVALID},
    {"name too long", "name", j_name129, VG_ERR_INVALID},
    {"name starting with '.'", "name", j_dotname, VG_ERR_INVALID},
    {"name with '/'", "name", j_slash, VG_ERR_INVALID},
    {"host missing", "host", NULL, VG_ERR_INVALID},
    {"host with '_'", "host", j_badhost, VG_ERR_INVALID},
    {"host with a quote", "host", j_quotehost, VG_ERR_INVALID},
    {"host with a newline", "host", j_nlhost, VG_ERR_INVALID},
    {"host not ASCII", "host", j_utf8host, VG_ERR_INVALID},
    {"host a bad address", "host", j_numhost, VG_ERR_INVALID},
    {"host null", "host", j_null, VG_ERR_INVALID},
    {"port missing", "port", NULL, VG_ERR_INVALID},
    {"port a string", "port", j_443s, VG_ERR_INVALID},
    {"port a real", "port", j_443r, VG_ERR_INVALID},
    {"port 0", "port", j_0, VG_ERR_INVALID},
    {"port 65536", "port", j_65536, VG_ERR_INVALID},
    {"port -1", "port", j_neg, VG_ERR_INVALID},
    {"ca missing", "ca", NULL, VG_ERR_INVALID},
    {"ca empty", "ca", j_empty, VG_ERR_INVALID},
    {"ca not PEM", "ca", j_notpem, VG_ERR_INVALID},
    {"ca a bad certificate", "ca", j_badpem, VG_ERR_INVALID},
    {"ca a private key", "ca", j_keypem, VG_ERR_INVALID},
    {"ca a CRL", "ca", j_crlpem, VG_ERR_INVALID},
    {"ca a certificate and a key", "ca", j_certs_key, VG_ERR_INVALID},
    {"ca a control character", "ca", j_ctrl, VG_ERR_INVALID},
    {"ca 65 certificates", "ca", j_ca_65, VG_ERR_INVALID},
    {"ca an object", "ca", j_obj, VG_ERR_INVALID},
    {"revocation missing", "revocation", NULL, VG_ERR_INVALID},
    {"revocation unknown", "revocation", j_revoc, VG_ERR_INVALID},
    {"revocation crl without a CRL", "revocation", NULL, VG_ERR_INVALID},
    {"soft_fail a string", "soft_fail", j_str, VG_ERR_INVALID},
    {"pins not an array", "pins", j_str, VG_ERR_INVALID},
    {"pin too short", "pins", j_pins_short, VG_ERR_INVALID},
    {"pin not hex", "pins", j_pins_nothex, VG_ERR_INVALID},
    {"pin a number", "pins", j_pins_num, VG_ERR_INVALID},
    {"pin twice", "pins", j_pins_dup, VG_ERR_INVALID},
    {"9 pins", "pins", j_pins_9, VG_ERR_INVALID},
    {"uid twice", "uids", j_uids_dup, VG_ERR_INVALID},
    {"uid -1", "uids", j_uids_neg, VG_ERR_INVALID},
    {"uid 2^32-1", "uids", j_uids_max, VG_ERR_INVALID},
    {"uid 2^40", "uids", j_uids_big, VG_ERR_INVALID},
    {"uid a string", "uids", j_uids_str, VG_ERR_INVALID},
    {"17 uids", "uids", j_uids_17, VG_ERR_INVALID},
    {"uids an object", "uids", j_obj, VG_ERR_INVALID},
    {"unit without a type", "units", j_units_bad, VG_ERR_INVALID},
    {"unit with a quote", "units", j_units_quote, VG_ERR_INVALID},
    {"unit with a '/'", "units", j_units_slash, VG_ERR_INVALID},
    {"unit with a backslash", "units", j_units_bs, VG_ERR_INVALID},
    {"unit twice", "units", j_units_dup, VG_ERR_INVALID},
    {"unit '.service'", "units", j_units_dot, VG_ERR_INVALID},
    {"unit too long", "units", j_units_long, VG_ERR_INVALID},
    {"9 units", "units", j_units_9, VG_ERR_INVALID},
    {"min_tls 1.1", "min_tls", j_tls11, VG_ERR_INVALID},
    {"min_tls a number", "min_tls", j_tls13n, VG_ERR_INVALID},
    {"legacy a number", "legacy", j_0, VG_ERR_INVALID},
    {"client_key empty", "client_key", j_empty, VG_ERR_INVALID},
    {"client_key invalid", "client_key", j_slash, VG_ERR_INVALID},
    {"client_key without its certificate", "client_key", j_str, VG_ERR_INVALID},
    {"client_cert without a client key", "client_cert", j_ca2, VG_ERR_INVALID},
    {"crl without revocation crl", "crl", j_crlpem, VG_ERR_INVALID},
};

/* SFR 4.2.8, DESIGN (hostile input): every malformed field is refused
 * with a reason; the control (the unmutated policy) is accepted. */
static void test_sfr428_endpoint_malformed_refused(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(parse_obj(minimal(), why, sizeof why), VG_OK);
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		json_t *o = minimal();
		vg_rc rc;
		if (strcmp(bads[i].what, "revocation crl without a CRL") == 0)
			assert_int_equal(json_object_set_new(o, "revocation", json_string("crl")),
					 0);
		else if (bads[i].value)
			assert_int_equal(json_object_set_new(o, bads[i].key, bads[i].value()), 0);
		else
			assert_int_equal(json_object_del(o, bads[i].key), 0);
		why[0] = '\0';
		rc = parse_obj(o, why, sizeof why);
		if (rc != bads[i].want)
			fail_msg("%s: got %s (%s), wanted %s", bads[i].what, vg_rc_str(rc), why,
				 vg_rc_str(bads[i].want));
		assert_true(why[0] != '\0');
		if (getenv("VG_TEST_VERBOSE"))
			print_message("%-40s %s\n", bads[i].what, why);
		for (size_t k = 0; why[k]; k++)
			assert_true(why[k] >= 0x20 && why[k] < 0x7f);
	}
}

/* Combinations that mean nothing are refused; their controls pass. */
static void test_sfr428_endpoint_combinations(void **state)
{
	char why[256];
	json_t *o;

	(void)state;
	/* soft_fail without a revocation check / with one. */
	o = minimal();
	json_object_set_new(o, "revocation", json_string("none"));
	json_object_set_new(o, "soft_fail", json_true());
	assert_int_equal(parse_obj(o, why, sizeof why), VG_ERR_INVALID);
	assert_non_null(strstr(why, "soft_fail"));
	o = minimal();
	json_object_set_new(o, "soft_fail", json_true());
	assert_int_equal(parse_obj(o, why, sizeof why), VG_OK);
	/* revocation crl with a CRL / with a certificate as the CRL. */
	o = minimal();
	json_object_set_new(o, "revocation", json_string("crl"));
	json_object_set_new(o, "crl", json_string(CRL));
	assert_int_equal(parse_obj(o, why, sizeof why), VG_OK);
	o = minimal();
	json_object_set_new(o, "revocation", json_string("crl"));
	json_object_set_new(o, "crl", json_string(CA));
	assert_int_equal(parse_obj(o, why, sizeof why), VG_ERR_INVALID);
	/* legacy with TLS 1.3 only / with 1.2. */
	o = minimal();
	json_object_set_new(o, "legacy", json_true());
	json_object_set_new(o, "min_tls", json_string("1.3"));
	assert_int_equal(parse_obj(o, why, sizeof why), VG_ERR_INVALID);
	o = minimal();
	json_object_set_new(o, "legacy", json_true());
	assert_int_equal(parse_obj(o, why, sizeof why), VG_OK);
	/* The device identity key needs no certificate; another key does;
	 * a private key is never a certificate. */
	o = minimal();
	json_object_set_new(o, "client_key", json_string(VG_EP_DEVICE_IDENTITY));
	assert_int_equal(parse_obj(o, why, sizeof why), VG_OK);
	o = minimal();
	json_object_set_new(o, "client_key", json_string("app-key"));
	json_object_set_new(o, "client_cert", json_string(CA2));
	assert_int_equal(parse_obj(o, why, sizeof why), VG_OK);
	o = minimal();
	json_object_set_new(o, "client_key", json_string("app-key"));
	json_object_set_new(o, "client_cert", json_string(KEY));
	assert_int_equal(parse_obj(o, why, sizeof why), VG_ERR_INVALID);
	assert_non_null(strstr(why, "keys stay in the service"));
	/* IP literals are hosts. */
	o = minimal();
	json_object_set_new(o, "host", json_string("::1"));
	assert_int_equal(parse_obj(o, why, sizeof why), VG_OK);
}

/* Bytes that are not one JSON object of bounded size. */
static void test_sfr428_endpoint_not_json(void **state)
{
	static const char *const texts[] = {
	    "",
	    "[]",
	    "\"x\"",
	    "42",
	    "{",
	    "{\"v\":1,\"v\":1}",
	    "{\"v\":1} trailing",
	    "{\"v\":1}{\"v\":1}",
	    "{\"name\":\"a\\u0000b\",\"v\":1}",
	    "{\"v\":1e0}",
	    "{\"v\":99999999999999999999999}",
	};
	vg_endpoint ep;
	char why[256];
	uint8_t *big;
	json_t *o;
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		why[0] = '\0';
		assert_int_not_equal(vg_endpoint_from_json((const uint8_t *)texts[i],
							   strlen(texts[i]), &ep, why, sizeof why),
				     VG_OK);
		assert_true(why[0] != '\0');
	}
	/* A NUL byte inside the input. */
	assert_int_equal(
	    vg_endpoint_from_json((const uint8_t *)"{\"v\":1}\0", 8, &ep, why, sizeof why),
	    VG_ERR_INVALID);
	/* Over the size bound: refused before it is parsed. */
	big = malloc(VG_EP_MAX_JSON + 1);
	memset(big, ' ', VG_EP_MAX_JSON + 1);
	assert_int_equal(vg_endpoint_from_json(big, VG_EP_MAX_JSON + 1, &ep, why, sizeof why),
			 VG_ERR_TOO_LARGE);
	free(big);
	/* A duplicate key, where the duplicate would have made it valid. */
	o = minimal();
	s = json_dumps(o, JSON_COMPACT);
	s[strlen(s) - 1] = '\0';
	{
		char *d = cat(s, ",\"port\":443}");
		assert_int_equal(
		    vg_endpoint_from_json((const uint8_t *)d, strlen(d), &ep, why, sizeof why),
		    VG_ERR_INVALID);
		free(d);
	}
	free(s);
	json_decref(o);
	/* A C struct with unterminated fields is refused, not read past. */
	memset(&ep, 'a', sizeof ep);
	ep.ca_pem = NULL;
	ep.crl_pem = NULL;
	ep.client_cert_pem = NULL;
	assert_int_equal(vg_endpoint_validate(&ep, why, sizeof why), VG_ERR_INVALID);
}

/* The stored form: every rule but OpenSSL's parse of the PEM fields
 * (done when the policy was added), which cost the service's event loop
 * 1.7 s per list of 54 endpoints of 64 certificates. */
static void test_sfr428_endpoint_stored_form(void **state)
{
	json_t *o = minimal();
	char *s, why[256];
	vg_endpoint ep;

	(void)state;
	json_object_set_new(o, "ca",
			    json_string("-----BEGIN CERTIFICATE-----\nAAAA\n"
					"-----END CERTIFICATE-----\n"));
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(vg_endpoint_from_json((const uint8_t *)s, strlen(s), &ep, why, sizeof why),
			 VG_ERR_INVALID);
	assert_int_equal(
	    vg_endpoint_from_stored((const uint8_t *)s, strlen(s), &ep, why, sizeof why), VG_OK);
	vg_endpoint_clear(&ep);
	free(s);
	/* Everything else still holds. */
	json_object_set_new(o, "ca", json_string("-----BEGIN CERTIFICATE-----\x01"));
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(
	    vg_endpoint_from_stored((const uint8_t *)s, strlen(s), &ep, why, sizeof why),
	    VG_ERR_INVALID);
	free(s);
	json_object_set_new(o, "ca", json_string(CA));
	json_object_set_new(o, "host", json_string("a_b.example"));
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(
	    vg_endpoint_from_stored((const uint8_t *)s, strlen(s), &ep, why, sizeof why),
	    VG_ERR_INVALID);
	assert_null(ep.ca_pem);
	free(s);
	json_decref(o);
}

/* SFR 4.2.8: the host name rules (RFC 1123 labels, IP literals). */
static void test_sfr428_endpoint_host_rules(void **state)
{
	static const char *const good[] = {
	    "a",
	    "localhost",
	    "avs-alexa-na.amazon.com",
	    "xn--bcher-kva.example",
	    "127.0.0.1",
	    "::1",
	    "2001:db8::10",
	    "0a.example",
	    "a.b1",
	};
	static const char *const bad[] = {
	    "",     "-a.example",  "a-.example", "a..b",  ".a",    "a.",
	    "a b",  "a_b.example", "1.2.3.999",  "1.2.3", "[::1]", "fe80::1%eth0",
	    "a\nb", "\"q\"",       "a/b",        "123",
	};
	char label64[80], long254[300];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (!vg_endpoint_host_valid(good[i]))
			fail_msg("refused good host '%s'", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (vg_endpoint_host_valid(bad[i]))
			fail_msg("accepted bad host '%s'", bad[i]);
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".example");
	assert_false(vg_endpoint_host_valid(label64));
	strcpy(label64 + 63, ".example");
	assert_true(vg_endpoint_host_valid(label64));
	/* 253 bytes: fine; 254: too long. */
	for (size_t i = 0; i < 254; i++)
		long254[i] = (i % 2) ? '.' : 'a';
	long254[253] = '\0';
	assert_true(vg_endpoint_host_valid(long254));
	long254[253] = 'a';
	long254[254] = '\0';
	assert_false(vg_endpoint_host_valid(long254));
	assert_false(vg_endpoint_host_valid(NULL));
}

static void test_sfr428_endpoint_unit_rules(void **state)
{
	static const char *const good[] = {
	    "avs.service", "voice@1.service", "app.scope", "voice.slice", "a:b_c-d.service",
	};
	static const char *const bad[] = {
	    "",
	    "avs",
	    ".service",
	    "-x.service",
	    "a b.service",
	    "a\"b.service",
	    "a\\b.service",
	    "a/b.service",
	    "a.socket",
	    "a.service\n",
	    "a;b.service",
	};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (!vg_endpoint_unit_valid(good[i]))
			fail_msg("refused good unit '%s'", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (vg_endpoint_unit_valid(bad[i]))
			fail_msg("accepted bad unit '%s'", bad[i]);
}

/* The list form (`voxguard endpoint list --json`, netpolicy's input). */
static void test_sfr428_endpoint_array(void **state)
{
	json_t *a = json_array(), *b;
	vg_endpoint *v = NULL;
	char *s, why[256];
	size_t n = 0;

	(void)state;
	json_array_append_new(a, minimal());
	b = minimal();
	json_object_set_new(b, "name", json_string("second"));
	json_object_set_new(b, "uids", json_pack("[i]", 1000));
	json_array_append_new(a, b);
	s = json_dumps(a, JSON_COMPACT);
	assert_int_equal(
	    vg_endpoint_array_from_json((const uint8_t *)s, strlen(s), &v, &n, why, sizeof why),
	    VG_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[1].name, "second");
	assert_true(vg_endpoint_lists_uid(&v[1], 1000));
	assert_false(vg_endpoint_lists_uid(&v[0], 1000));
	vg_endpoint_list_free(v, n);
	free(s);
	/* The same name twice. */
	json_array_append_new(a, minimal());
	s = json_dumps(a, JSON_COMPACT);
	assert_int_equal(
	    vg_endpoint_array_from_json((const uint8_t *)s, strlen(s), &v, &n, why, sizeof why),
	    VG_ERR_INVALID);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_non_null(strstr(why, "used twice"));
	free(s);
	/* A bad member names its index. */
	json_array_remove(a, 2);
	json_object_set_new(json_array_get(a, 1), "port", json_integer(0));
	s = json_dumps(a, JSON_COMPACT);
	assert_int_equal(
	    vg_endpoint_array_from_json((const uint8_t *)s, strlen(s), &v, &n, why, sizeof why),
	    VG_ERR_INVALID);
	assert_non_null(strstr(why, "endpoint 2: port"));
	free(s);
	json_decref(a);
	/* Not an array; not JSON (cut short); more than VG_EP_MAX_COUNT. */
	assert_int_equal(
	    vg_endpoint_array_from_json((const uint8_t *)"{}", 2, &v, &n, why, sizeof why),
	    VG_ERR_INVALID);
	assert_non_null(strstr(why, "a JSON array"));
	assert_int_equal(
	    vg_endpoint_array_from_json((const uint8_t *)"[{\"v\":1,", 8, &v, &n, why, sizeof why),
	    VG_ERR_INVALID);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_non_null(strstr(why, "endpoint list: not JSON"));
	a = json_array();
	for (size_t i = 0; i <= VG_EP_MAX_COUNT; i++)
		json_array_append_new(a, json_object());
	s = json_dumps(a, JSON_COMPACT);
	assert_int_equal(
	    vg_endpoint_array_from_json((const uint8_t *)s, strlen(s), &v, &n, why, sizeof why),
	    VG_ERR_INVALID);
	assert_non_null(strstr(why, "at most 64 endpoints"));
	free(s);
	json_decref(a);
	/* The empty list is a list. */
	assert_int_equal(
	    vg_endpoint_array_from_json((const uint8_t *)"[]", 2, &v, &n, why, sizeof why), VG_OK);
	assert_int_equal(n, 0);
	vg_endpoint_list_free(v, n);
}

static void test_sfr428_revocation_strings(void **state)
{
	(void)state;
	for (int r = VG_REVOCATION_NONE; r <= VG_REVOCATION_CRL; r++)
		assert_int_equal(vg_revocation_from_str(vg_revocation_str((vg_revocation)r)), r);
	assert_string_equal(vg_revocation_str(VG_REVOCATION_OCSP_STAPLED), "ocsp-stapled");
	assert_int_equal(vg_revocation_from_str("OCSP"), -1);
	assert_int_equal(vg_revocation_from_str(""), -1);
	assert_int_equal(vg_revocation_from_str(NULL), -1);
	assert_string_equal(vg_revocation_str((vg_revocation)9), "invalid");
}

/* SFR 4.2.7, 4.2.9: accepted connections are audited at most once a
 * minute per (uid, endpoint), the rest counted and told in the next. */
static void test_sfr427_connected_rate_limited(void **state)
{
	vg_ep_seen *t = NULL;
	uint64_t sup = 99, now = 1000000;
	char name[32];

	(void)state;
	assert_true(vg_ep_seen_pass(&t, 1000, "avs", now, &sup));
	assert_int_equal(sup, 0);
	for (int i = 1; i <= 5; i++)
		assert_false(vg_ep_seen_pass(&t, 1000, "avs", now + (uint64_t)i * 1000, &sup));
	/* Another uid, another endpoint: their own records. */
	assert_true(vg_ep_seen_pass(&t, 1001, "avs", now + 6000, &sup));
	assert_true(vg_ep_seen_pass(&t, 1000, "other", now + 6000, &sup));
	assert_false(vg_ep_seen_pass(&t, 1000, "avs", now + VG_EP_CONNECTED_EVERY_MS - 1, &sup));
	assert_true(vg_ep_seen_pass(&t, 1000, "avs", now + VG_EP_CONNECTED_EVERY_MS, &sup));
	assert_int_equal(sup, 6);
	assert_false(vg_ep_seen_pass(&t, 1000, "avs", now + VG_EP_CONNECTED_EVERY_MS + 1, &sup));
	/* A full table forgets the pair heard from longest ago, which is then
	 * recorded again (never silenced). */
	now += 10 * VG_EP_CONNECTED_EVERY_MS;
	for (uint32_t i = 0; i < VG_EP_SEEN_MAX; i++) {
		(void)snprintf(name, sizeof name, "e%u", i);
		assert_true(vg_ep_seen_pass(&t, 5000, name, now + i, &sup));
	}
	assert_true(vg_ep_seen_pass(&t, 6000, "new", now + VG_EP_SEEN_MAX, &sup));
	assert_false(vg_ep_seen_pass(&t, 6000, "new", now + VG_EP_SEEN_MAX + 1, &sup));
	assert_true(vg_ep_seen_pass(&t, 5000, "e0", now + VG_EP_SEEN_MAX + 2, &sup));
	assert_false(vg_ep_seen_pass(&t, 5000, "e1000", now + VG_EP_SEEN_MAX + 3, &sup));
	vg_ep_seen_free(&t);
	assert_null(t);
	vg_ep_seen_free(&t);
}

/* SFR 4.2.8, 4.2.13: changing the list is an admin operation with a
 * session, every outcome audited; reading it and reporting are open to
 * every caller, the handler deciding by the list (the integration test
 * proves its refusals). */
static void test_sfr428_endpoint_ops_rows(void **state)
{
	static const vg_op change[] = {VG_OP_ENDPOINT_ADD, VG_OP_ENDPOINT_REMOVE};
	static const vg_op use[] = {VG_OP_ENDPOINT_LIST, VG_OP_ENDPOINT_GET, VG_OP_ENDPOINT_REPORT};

	(void)state;
	for (size_t i = 0; i < sizeof change / sizeof change[0]; i++) {
		const vg_op_def *d = vg_op_find(change[i]);
		assert_non_null(d);
		assert_int_equal(d->access, VG_ACCESS_ADMIN);
		assert_true(d->flags & VG_OPF_SESSION);
		assert_true(d->flags & VG_OPF_AUDIT);
		assert_true(d->flags & VG_OPF_NAME);
		assert_false(d->flags & VG_OPF_RECOVERY);
	}
	for (size_t i = 0; i < sizeof use / sizeof use[0]; i++) {
		const vg_op_def *d = vg_op_find(use[i]);
		assert_non_null(d);
		assert_int_equal(d->access, VG_ACCESS_ANY);
		assert_false(d->flags & VG_OPF_SESSION);
		assert_int_equal(!!(d->flags & VG_OPF_NAME), use[i] != VG_OP_ENDPOINT_LIST);
	}
	assert_string_equal(vg_op_find(VG_OP_ENDPOINT_ADD)->name, "endpoint.add");
	assert_string_equal(vg_op_find(VG_OP_ENDPOINT_REMOVE)->name, "endpoint.remove");
	assert_null(vg_op_find(105));
	/* SFR 4.2.9: changes of the list and refusals outlast routine records
	 * in the audit log's retention; an accepted connection is routine. */
	assert_true(vg_audit_is_critical("endpoint.add", "success", "admin"));
	assert_true(vg_audit_is_critical("endpoint.remove", "success", "admin"));
	assert_true(vg_audit_is_critical("endpoint.denied", "denied", "user"));
	assert_true(vg_audit_is_critical("tls.refused", "failure", "user"));
	assert_false(vg_audit_is_critical("tls.connected", "success", "user"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr428_endpoint_roundtrip),
	    cmocka_unit_test(test_sfr428_endpoint_canonical_form),
	    cmocka_unit_test(test_sfr428_endpoint_malformed_refused),
	    cmocka_unit_test(test_sfr428_endpoint_combinations),
	    cmocka_unit_test(test_sfr428_endpoint_not_json),
	    cmocka_unit_test(test_sfr428_endpoint_stored_form),
	    cmocka_unit_test(test_sfr428_endpoint_host_rules),
	    cmocka_unit_test(test_sfr428_endpoint_unit_rules),
	    cmocka_unit_test(test_sfr428_endpoint_array),
	    cmocka_unit_test(test_sfr428_revocation_strings),
	    cmocka_unit_test(test_sfr427_connected_rate_limited),
	    cmocka_unit_test(test_sfr428_endpoint_ops_rows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
