/* cmd_endpoint.c - `voxguard endpoint ...`: the endpoint list, secure
 * communication's device policy (SFR 4.2.7, 4.2.8; AVS 1.3). add and
 * remove are admin operations that need the admin session (read as every
 * admin command reads it, cli_connect); list and show answer what the
 * caller's uid may use (an admin: everything). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "common/util.h"
#include "tls/endpoint.h"

/* A PEM file of the policy, NUL-terminated. */
static int read_pem(const char *opt, const char *path, char **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc = cli_read(path, VG_EP_MAX_PEM, &buf, &len);

	if (rc != VG_OK)
		return cli_fail("endpoint add: %s %s: %s%s", opt, path, vg_rc_str(rc),
				rc == VG_ERR_TOO_LARGE ? " (at most 256 KiB)" : "");
	*out = malloc(len + 1);
	if (!*out) {
		vg_free(buf, len);
		return cli_fail("endpoint add: out of memory");
	}
	memcpy(*out, buf, len);
	(*out)[len] = '\0';
	vg_free(buf, len);
	return 0;
}

static bool parse_uid(const char *s, uint32_t *uid)
{
	char *end;
	unsigned long long v;
	struct passwd *pw;

	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (*end || errno || v >= UINT32_MAX)
			return false;
		*uid = (uint32_t)v;
		return true;
	}
	pw = getpwnam(s);
	if (!pw)
		return false;
	*uid = (uint32_t)pw->pw_uid;
	return true;
}

static const char add_usage[] =
    "endpoint add NAME --host HOST --port PORT --ca FILE [--pin SHA256]... "
    "[--revocation ocsp-stapled|ocsp|crl|none] [--soft-fail] [--crl FILE] "
    "[--client-key KEYNAME --client-cert FILE] [--uid UID]... [--unit UNIT]... "
    "[--min-tls 1.2|1.3] [--legacy]";

static int ep_add(struct cli *cli, int argc, char **argv)
{
	vg_endpoint ep;
	const char *name = NULL, *ca = NULL, *crl = NULL, *cert = NULL;
	bool have_host = false, have_port = false;
	char why[256] = "";
	vg_client *c = NULL;
	int e = 0;
	vg_rc rc;

	memset(&ep, 0, sizeof ep);
	ep.revocation = VG_REVOCATION_OCSP_STAPLED;
	ep.min_version = 0x0303;
	for (int i = 0; i < argc && !e; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(a, "--soft-fail") != 0 && strcmp(a, "--legacy") != 0;

		if (strcmp(a, "--help") == 0)
			cli_help_exit();
		if (strncmp(a, "--", 2) != 0) {
			if (name)
				return cli_fail("unexpected argument '%s' (usage: voxguard %s)", a,
						add_usage);
			name = a;
			continue;
		}
		if (takes && !v)
			return cli_fail("option %s needs a value", a);
		if (takes)
			i++;
		if (strcmp(a, "--host") == 0) {
			if (strlen(v) > VG_EP_MAX_HOST || !vg_endpoint_host_valid(v))
				return cli_fail("endpoint add: --host: an RFC 1123 host name or an "
						"IP address, not '%s'",
						v);
			strcpy(ep.host, v);
			have_host = true;
		} else if (strcmp(a, "--port") == 0) {
			char *end;
			unsigned long p = strtoul(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || p < 1 || p > 65535)
				return cli_fail("endpoint add: --port: 1-65535");
			ep.port = (uint16_t)p;
			have_port = true;
		} else if (strcmp(a, "--ca") == 0) {
			ca = v;
		} else if (strcmp(a, "--pin") == 0) {
			size_t n = 0;
			if (ep.n_pins >= VG_EP_MAX_PINS)
				return cli_fail("endpoint add: at most %u pins", VG_EP_MAX_PINS);
			if (strlen(v) != 64 || !vg_hex_decode(v, ep.pins[ep.n_pins], 32, &n))
				return cli_fail("endpoint add: --pin: the SHA-256 of a "
						"SubjectPublicKeyInfo, 64 hex digits");
			ep.n_pins++;
		} else if (strcmp(a, "--revocation") == 0) {
			int r = vg_revocation_from_str(v);
			if (r < 0)
				return cli_fail("endpoint add: --revocation: ocsp-stapled, ocsp, "
						"crl or none");
			ep.revocation = (vg_revocation)r;
		} else if (strcmp(a, "--soft-fail") == 0) {
			ep.soft_fail = true;
		} else if (strcmp(a, "--crl") == 0) {
			crl = v;
		} else if (strcmp(a, "--client-key") == 0) {
			if (!vg_name_valid(v, strlen(v)))
				return cli_fail("endpoint add: --client-key: a key name");
			strcpy(ep.client_key, v);
		} else if (strcmp(a, "--client-cert") == 0) {
			cert = v;
		} else if (strcmp(a, "--uid") == 0) {
			if (ep.n_uids >= VG_EP_MAX_UIDS)
				return cli_fail("endpoint add: at most %u uids", VG_EP_MAX_UIDS);
			if (!parse_uid(v, &ep.uids[ep.n_uids]))
				return cli_fail("endpoint add: --uid: no such user or uid '%s'", v);
			ep.n_uids++;
		} else if (strcmp(a, "--unit") == 0) {
			if (ep.n_units >= VG_EP_MAX_UNITS)
				return cli_fail("endpoint add: at most %u units", VG_EP_MAX_UNITS);
			if (!vg_endpoint_unit_valid(v))
				return cli_fail("endpoint add: --unit: a systemd unit name ending "
						".service, .scope or .slice");
			strcpy(ep.units[ep.n_units++], v);
		} else if (strcmp(a, "--min-tls") == 0) {
			if (strcmp(v, "1.2") == 0)
				ep.min_version = 0x0303;
			else if (strcmp(v, "1.3") == 0)
				ep.min_version = 0x0304;
			else
				return cli_fail("endpoint add: --min-tls: 1.2 or 1.3");
		} else if (strcmp(a, "--legacy") == 0) {
			ep.legacy = true;
		} else {
			return cli_fail("unknown option %s (usage: voxguard %s)", a, add_usage);
		}
	}
	if (!name || !have_host || !have_port || !ca)
		return cli_fail("usage: voxguard %s", add_usage);
	if (!vg_name_valid(name, strlen(name)))
		return cli_fail("endpoint add: the name: 1-128 of [A-Za-z0-9._-], not starting "
				"with '.'");
	strcpy(ep.name, name);
	e = read_pem("--ca", ca, &ep.ca_pem);
	if (!e && crl)
		e = read_pem("--crl", crl, &ep.crl_pem);
	if (!e && cert)
		e = read_pem("--client-cert", cert, &ep.client_cert_pem);
	if (!e && vg_endpoint_validate(&ep, why, sizeof why) != VG_OK)
		e = cli_fail("endpoint add: %s", why);
	if (!e && !(e = cli_connect(cli, &c))) {
		rc = vg_endpoint_add(c, &ep);
		if (rc != VG_OK)
			e = cli_fail_rc(c, "endpoint add", rc);
		vg_client_close(&c);
	}
	vg_endpoint_clear(&ep);
	return e;
}

static int ep_remove(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	int e = cli_parse("", argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_endpoint_remove(c, o.pos[0]);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "endpoint remove", rc);
	vg_client_close(&c);
	return e;
}

static void print_json(const vg_endpoint *ep, bool *first)
{
	char *json = NULL;
	size_t len = 0;

	if (vg_endpoint_to_json(ep, &json, &len, NULL, 0) != VG_OK)
		return;
	(void)printf("%s%s", *first ? "" : ",", json);
	*first = false;
	free(json);
}

static void print_ids(const vg_endpoint *ep)
{
	(void)printf(" uids=");
	for (size_t i = 0; i < ep->n_uids; i++)
		(void)printf("%s%u", i ? "," : "", ep->uids[i]);
	if (!ep->n_uids)
		(void)printf("-");
	(void)printf(" units=");
	for (size_t i = 0; i < ep->n_units; i++)
		(void)printf("%s%s", i ? "," : "", ep->units[i]);
	if (!ep->n_units)
		(void)printf("-");
}

static int ep_list(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_endpoint *v = NULL;
	size_t n = 0;
	bool first = true;
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_endpoint_list(c, &v, &n);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "endpoint list", rc);
		vg_client_close(&c);
		return e;
	}
	if (cli_flag(&o, spec, "json"))
		(void)printf("[");
	for (size_t i = 0; i < n; i++) {
		const vg_endpoint *ep = &v[i];
		if (cli_flag(&o, spec, "json")) {
			print_json(ep, &first);
			continue;
		}
		(void)printf("%-24s %s%s%s:%u %s%s", ep->name, strchr(ep->host, ':') ? "[" : "",
			     ep->host, strchr(ep->host, ':') ? "]" : "", ep->port,
			     vg_revocation_str(ep->revocation), ep->soft_fail ? "(soft-fail)" : "");
		print_ids(ep);
		(void)printf("\n");
	}
	if (cli_flag(&o, spec, "json"))
		(void)printf("]\n");
	vg_endpoint_list_free(v, n);
	vg_client_close(&c);
	return 0;
}

/* Each certificate of a PEM text: subject and SHA-256 fingerprint. */
static void print_certs(const char *label, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;
	size_t n = 0;

	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		char subject[256], hex[2 * EVP_MAX_MD_SIZE + 1] = "";
		X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
		if (X509_digest(x, EVP_sha256(), md, &mdlen))
			vg_hex_encode(md, mdlen, hex);
		(void)printf("%-14s%s\n%-14s  sha256 %s\n", n++ ? "" : label, subject, "", hex);
		X509_free(x);
	}
	BIO_free(bio);
}

static int ep_show(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "json";
	struct cli_opts o;
	vg_client *c = NULL;
	vg_endpoint *ep = NULL;
	bool first = true;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_endpoint_get(c, o.pos[0], &ep);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "endpoint show", rc);
		vg_client_close(&c);
		return e;
	}
	if (cli_flag(&o, spec, "json")) {
		print_json(ep, &first);
		(void)printf("\n");
	} else {
		(void)printf("%-14s%s\n%-14s%s\n%-14s%u\n", "name:", ep->name, "host:", ep->host,
			     "port:", ep->port);
		(void)printf("%-14sTLS %s%s\n",
			     "protocol:", ep->min_version == 0x0304 ? "1.3" : "1.2",
			     ep->min_version == 0x0304 ? " only" : " or 1.3");
		(void)printf("%-14s%s\n", "ciphers:",
			     ep->legacy ? "legacy allowed (CBC, SHA-1, RSA key exchange)"
					: "forward-secret AEAD only");
		(void)printf(
		    "%-14s%s%s\n", "revocation:", vg_revocation_str(ep->revocation),
		    ep->revocation == VG_REVOCATION_NONE
			? ""
			: (ep->soft_fail ? " (soft-fail when unobtainable)" : " (fail closed)"));
		for (size_t i = 0; i < ep->n_pins; i++) {
			char hex[65];
			vg_hex_encode(ep->pins[i], 32, hex);
			(void)printf("%-14s%s\n", i ? "" : "pins:", hex);
		}
		if (ep->client_key[0])
			(void)printf("%-14s%s\n", "client key:", ep->client_key);
		if (ep->client_cert_pem)
			print_certs("client cert:", ep->client_cert_pem);
		else if (ep->client_key[0])
			(void)printf("%-14s%s\n", "client cert:", "the device's OEM certificate");
		(void)printf("%-14s", "may use it:");
		print_ids(ep);
		(void)printf("\n");
		print_certs("CA:", ep->ca_pem);
		if (ep->crl_pem)
			(void)printf("%-14s%zu bytes of PEM\n", "CRL:", strlen(ep->crl_pem));
	}
	vg_endpoint_free(ep);
	vg_client_close(&c);
	return 0;
}

static const struct cli_cmd endpoint_cmds[] = {
    {"add", ep_add,
     "NAME --host H --port P --ca FILE [--pin SHA256]... [--revocation ocsp-stapled|ocsp|"
     "crl|none] [--soft-fail] [--crl FILE] [--client-key K --client-cert FILE] [--uid UID]... "
     "[--unit UNIT]... [--min-tls 1.2|1.3] [--legacy] (admin, session)"},
    {"list", ep_list, "[--json]: the endpoints you may use (an admin: all)"},
    {"show", ep_show, "NAME [--json]: one endpoint's policy"},
    {"remove", ep_remove, "NAME (admin, session)"},
};

int cmd_endpoint(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "endpoint", endpoint_cmds, VG_ARRAY_LEN(endpoint_cmds), argc,
			    argv);
}
