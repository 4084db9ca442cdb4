/* test_tls_channel.c - src/tls/channel.c and channel_curl.c: the TLS
 * channel's policy (SFR 4.2.7, AVS 1.3), against real peers on loopback:
 * openssl s_server, openssl ocsp and nginx, with the PKI that
 * tests/tls_pki.sh makes. Each attack is refused with the reason that names
 * the check, next to a control that succeeds. The endpoint list, the
 * provider's keys and the device certificate come from tests/tls_fakes.c
 * (the link seam). The whole test runs in a network namespace of its own
 * with only loopback (own_netns()): OpenSSL 3.0's `ocsp -port` listens on
 * every interface, and nothing a test starts may be reachable from the
 * network. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/util.h"
#include "tls/channel.h"
#include "tls_fakes.h"

extern char **environ;

#define WHY 256
/* A vg_client for the fakes: reports go to tls_fakes.c, and its service
 * (vg_client_service) is this socket and user. */
static struct tls_fake_client fake_client_obj = {"/run/fake/voxguard.sock", "fakesvc"};
#define FAKE_CLIENT ((vg_client *)&fake_client_obj)

static char pki[64];
static int ocsp_port;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static char *pki_path(const char *name)
{
	static char buf[4][512];
	static int k;

	k = (k + 1) % 4;
	(void)snprintf(buf[k], sizeof buf[k], "%s/%s", pki, name);
	return buf[k];
}

static char *slurp(const char *name)
{
	uint8_t *b = NULL;
	size_t len = 0;
	char *s;

	assert_int_equal(vg_read_file(pki_path(name), 1u << 20, &b, &len), VG_OK);
	s = malloc(len + 1);
	assert_non_null(s);
	memcpy(s, b, len);
	s[len] = '\0';
	free(b);
	return s;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	(void)close(s);
	return port;
}

/* Is something listening on port (any address)? Read from the kernel's
 * tables rather than by connecting: openssl ocsp's responder serves one
 * connection at a time and a probe that closes at once wedges it. */
static bool port_open(int port)
{
	static const char *const tabs[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	char line[512], want[16];
	bool found = false;

	(void)snprintf(want, sizeof want, ":%04X", port);
	for (size_t i = 0; i < 2 && !found; i++) {
		FILE *f = fopen(tabs[i], "r");
		if (!f)
			continue;
		while (!found && fgets(line, sizeof line, f)) {
			char local[128], remote[128], st[8];
			if (sscanf(line, "%*d: %127s %127s %7s", local, remote, st) == 3 &&
			    strlen(local) > 5 && strcmp(local + strlen(local) - 5, want) == 0 &&
			    strcmp(st, "0A") == 0)
				found = true;
		}
		(void)fclose(f);
	}
	return found;
}

struct proc {
	pid_t pid;
	int port;
};

/* Starts argv (output to PKI/NAME.log) and waits until port accepts. */
static void start(struct proc *p, int port, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	char log[600];

	(void)snprintf(log, sizeof log, "%s/%d.log", pki, port);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0), 0);
	assert_int_equal(
	    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, 1, 2), 0);
	assert_int_equal(posix_spawnp(&p->pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	p->port = port;
	for (int i = 0; i < 200 && !port_open(port); i++)
		(void)usleep(25000);
	assert_true(port_open(port));
}

static void stop(struct proc *p)
{
	if (p->pid > 0) {
		(void)kill(p->pid, SIGTERM);
		(void)waitpid(p->pid, NULL, 0);
	}
	p->pid = 0;
}

/* openssl s_server on 127.0.0.1 with server-LEAF and extra arguments
 * (NULL-terminated), answering HTTP GETs (-www). */
static void s_server(struct proc *p, const char *leaf, ...)
{
	char *argv[40], accept[32], cert[600], key[600], chain[600];
	int n = 0, port = free_port();
	va_list ap;
	char *a;

	(void)snprintf(accept, sizeof accept, "127.0.0.1:%d", port);
	(void)snprintf(cert, sizeof cert, "%s/server-%s.crt", pki, leaf);
	(void)snprintf(key, sizeof key, "%s/server-%s.key", pki, leaf);
	(void)snprintf(chain, sizeof chain, "%s/inter.crt", pki);
	argv[n++] = "openssl";
	argv[n++] = "s_server";
	argv[n++] = "-accept";
	argv[n++] = accept;
	argv[n++] = "-cert";
	argv[n++] = cert;
	argv[n++] = "-key";
	argv[n++] = key;
	if (strcmp(leaf, "otherca") != 0 && strcmp(leaf, "self") != 0) {
		argv[n++] = "-cert_chain";
		argv[n++] = chain;
	}
	argv[n++] = "-www";
	va_start(ap, leaf);
	while ((a = va_arg(ap, char *)) != NULL && n < 38)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	start(p, port, argv);
}

static void ocsp_responder(struct proc *p)
{
	char port[16];
	char *argv[] = {"openssl",  "ocsp",
			"-index",   pki_path("index.txt"),
			"-port",    port,
			"-rsigner", pki_path("ocsp.crt"),
			"-rkey",    pki_path("ocsp.key"),
			"-CA",      pki_path("inter.crt"),
			"-ndays",   "1",
			NULL};

	(void)snprintf(port, sizeof port, "%d", ocsp_port);
	/* pki_path's ring holds 4: re-make the two that were overwritten. */
	argv[3] = strdup(pki_path("index.txt"));
	argv[7] = strdup(pki_path("ocsp.crt"));
	argv[9] = strdup(pki_path("ocsp.key"));
	argv[11] = strdup(pki_path("inter.crt"));
	start(p, ocsp_port, argv);
	free(argv[3]);
	free(argv[7]);
	free(argv[9]);
	free(argv[11]);
}

static vg_endpoint ep_make(const char *host, int port)
{
	vg_endpoint e;

	memset(&e, 0, sizeof e);
	(void)snprintf(e.name, sizeof e.name, "test-endpoint");
	(void)snprintf(e.host, sizeof e.host, "%s", host);
	e.port = (uint16_t)port;
	e.ca_pem = slurp("ca.pem");
	e.min_version = 0x0303;
	return e;
}

static void ep_clear(vg_endpoint *e)
{
	free(e->ca_pem);
	free(e->crl_pem);
	free(e->client_cert_pem);
	memset(e, 0, sizeof *e);
}

static void pin_from(vg_endpoint *e, const char *cert)
{
	char name[128], *hex;
	size_t n = 0;

	(void)snprintf(name, sizeof name, "spki-%s.hex", cert);
	hex = slurp(name);
	hex[64] = '\0';
	assert_true(vg_hex_decode(hex, e->pins[e->n_pins], 32, &n));
	assert_int_equal(n, 32);
	e->n_pins++;
	free(hex);
}

/* Connects with the endpoint's policy; reports go to the fakes. */
static vg_rc try_ep(const vg_endpoint *e, EVP_PKEY *key, char why[static WHY], vg_tls **out)
{
	why[0] = '\0';
	tls_fake_reports = 0;
	memset(&tls_fake_last, 0, sizeof tls_fake_last);
	return vg_tls_connect_ep(FAKE_CLIENT, e, key, out, why, WHY);
}

/* GET / from s_server -www: true when the page came back. */
static bool http_get(vg_tls *t)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	char buf[16384];
	size_t got = 0;
	ssize_t n;

	if (vg_tls_write(t, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
		return false;
	while (got < sizeof buf - 1 && (n = vg_tls_read(t, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return strstr(buf, "200 ok") != NULL;
}

/* A control: the connection succeeds, the page comes back, the report
 * says so. */
static void expect_ok(const vg_endpoint *e, EVP_PKEY *key)
{
	char why[WHY];
	vg_tls *t = NULL;

	vg_rc rc = try_ep(e, key, why, &t);

	if (rc != VG_OK)
		print_error("wanted success, got rc %d '%s'\n", rc, why);
	assert_int_equal(rc, VG_OK);
	assert_non_null(t);
	assert_true(http_get(t));
	vg_tls_close(t);
	assert_int_equal(tls_fake_reports, 1);
	assert_true(tls_fake_last.ok);
}

/* An attack: refused with VG_ERR_VERIFY_FAILED, the reason names the
 * check, and the refusal is reported (endpoint, peer, reason). */
static void expect_refused(const vg_endpoint *e, EVP_PKEY *key, const char *reason)
{
	char why[WHY];
	vg_tls *t = NULL;
	vg_rc rc = try_ep(e, key, why, &t);

	if (rc != VG_ERR_VERIFY_FAILED || !strstr(why, reason))
		print_error("wanted '%s', got rc %d '%s'\n", reason, rc, why);
	assert_int_equal(rc, VG_ERR_VERIFY_FAILED);
	assert_null(t);
	assert_non_null(strstr(why, reason));
	assert_int_equal(tls_fake_reports, 1);
	assert_false(tls_fake_last.ok);
	assert_string_equal(tls_fake_last.name, e->name);
	assert_non_null(strstr(tls_fake_last.peer, "127.0.0.1:"));
	assert_non_null(strstr(tls_fake_last.reason, reason));
}

static int group_setup(void **state)
{
	char cmd[800];

	(void)state;
	strcpy(pki, "/tmp/vgunit.XXXXXX");
	if (!mkdtemp(pki))
		return -1;
	ocsp_port = free_port();
	(void)snprintf(cmd, sizeof cmd, "sh %s/tests/tls_pki.sh %s %d", VG_SRC_DIR, pki, ocsp_port);
	if (system(cmd) != 0)
		return -1;
	tls_fake_key_dir = pki;
	(void)signal(SIGPIPE, SIG_IGN);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[200];

	(void)state;
	curl_global_cleanup();
	if (strncmp(pki, "/tmp/vgunit.", 12) == 0) {
		(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
		return system(cmd) == 0 ? 0 : -1;
	}
	return 0;
}

static EVP_PKEY *pem_key(const char *name)
{
	EVP_PKEY *k = NULL;

	assert_int_equal(vg_tls_client_key(FAKE_CLIENT, name, &k, NULL, 0), VG_OK);
	return k;
}

/* ------------------------------------------------------------------ */
/* The policy                                                          */

/* SFR 4.2.7, AVS 1.3: TLS 1.2 at least, and for TLS 1.2 only forward-
 * secret (ECDHE) AEAD suites: no CBC, no SHA-1 MAC, no RSA key exchange;
 * an endpoint marked legacy is the one way to get them. */
static void test_sfr427_policy_suites_forward_secret_aead(void **state)
{
	vg_endpoint e = ep_make("localhost", 443);
	char why[WHY];
	SSL_CTX *ctx = NULL;
	SSL *s;
	STACK_OF(SSL_CIPHER) * sk;
	bool legacy_cbc = false;

	(void)state;
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_OK);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	s = SSL_new(ctx);
	sk = SSL_get1_supported_ciphers(s);
	assert_true(sk_SSL_CIPHER_num(sk) >= 6);
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		int kx = SSL_CIPHER_get_kx_nid(c);
		assert_true(SSL_CIPHER_is_aead(c));
		assert_true(kx == NID_kx_ecdhe || kx == NID_kx_any);
	}
	sk_SSL_CIPHER_free(sk);
	SSL_free(s);
	SSL_CTX_free(ctx);

	/* The control: legacy lets CBC in. */
	e.legacy = true;
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_OK);
	s = SSL_new(ctx);
	sk = SSL_get1_supported_ciphers(s);
	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++)
		if (!SSL_CIPHER_is_aead(sk_SSL_CIPHER_value(sk, i)))
			legacy_cbc = true;
	assert_true(legacy_cbc);
	sk_SSL_CIPHER_free(sk);
	SSL_free(s);
	SSL_CTX_free(ctx);

	/* TLS 1.3 only, when the endpoint says so. */
	e.legacy = false;
	e.min_version = 0x0304;
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_OK);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
	SSL_CTX_free(ctx);
	ep_clear(&e);
}

/* SFR 4.2.7: a malformed policy is refused before any connection: no CA
 * set, a CA set that does not parse, revocation "crl" without a CRL, a
 * version below TLS 1.2, more than 64 CAs. */
static void test_sfr427_policy_malformed_refused(void **state)
{
	vg_endpoint e = ep_make("localhost", 443);
	char why[WHY], *ca = e.ca_pem, *many;
	SSL_CTX *ctx = NULL;
	size_t len = strlen(ca);

	(void)state;
	e.ca_pem = NULL;
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_ERR_INVALID);
	assert_null(ctx);
	e.ca_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_ERR_INVALID);
	assert_non_null(strstr(why, "CA set"));
	e.ca_pem = ca;
	e.revocation = VG_REVOCATION_CRL;
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_ERR_INVALID);
	assert_non_null(strstr(why, "CRL"));
	e.revocation = VG_REVOCATION_NONE;
	e.min_version = 0x0302;
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_ERR_INVALID);
	e.min_version = 0x0303;
	e.host[0] = '\0';
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_ERR_INVALID);
	(void)snprintf(e.host, sizeof e.host, "localhost");
	many = malloc(len * 65 + 1);
	assert_non_null(many);
	for (int i = 0; i < 65; i++)
		memcpy(many + (size_t)i * len, ca, len);
	many[len * 65] = '\0';
	e.ca_pem = many;
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_ERR_INVALID);
	many[len * 64] = '\0'; /* 64 is the limit, and fine */
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_OK);
	SSL_CTX_free(ctx);
	free(many);
	e.ca_pem = ca;
	/* The control: the same endpoint, well formed. */
	assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_OK);
	SSL_CTX_free(ctx);
	ep_clear(&e);
}

/* ------------------------------------------------------------------ */
/* Peer authentication                                                 */

/* SFR 4.2.7, AVS 1.3: the control: a good server certificate from the
 * endpoint's CA, TLS 1.3 with an AEAD suite, the page comes back, and the
 * accepted connection is reported. */
static void test_sfr427_good_server_accepted(void **state)
{
	struct proc p = {0};
	vg_endpoint e;
	char why[WHY];
	vg_tls *t = NULL;

	(void)state;
	s_server(&p, "good", NULL);
	e = ep_make("localhost", p.port);
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_string_equal(vg_tls_version(t), "TLSv1.3");
	assert_non_null(strstr(vg_tls_cipher(t), "TLS_"));
	assert_true(http_get(t));
	vg_tls_close(t);
	assert_true(tls_fake_last.ok);
	assert_string_equal(tls_fake_last.name, "test-endpoint");
	/* An IP literal is checked against the certificate's IP SAN. */
	(void)snprintf(e.host, sizeof e.host, "127.0.0.1");
	expect_ok(&e, NULL);
	ep_clear(&e);
	stop(&p);
}

/* SFR 4.2.7 (A.3.2 MITM): certificates from a CA the endpoint does not
 * list, and self-signed ones, are refused: the system's bundle is never
 * consulted. */
static void test_sfr427_unknown_ca_refused(void **state)
{
	struct proc a = {0}, b = {0}, g = {0};
	vg_endpoint e;

	(void)state;
	s_server(&a, "otherca", NULL);
	s_server(&b, "self", NULL);
	s_server(&g, "good", NULL);
	e = ep_make("localhost", a.port);
	expect_refused(&e, NULL, "unknown CA");
	e.port = (uint16_t)b.port;
	expect_refused(&e, NULL, "unknown CA");
	e.port = (uint16_t)g.port;
	expect_ok(&e, NULL);
	ep_clear(&e);
	stop(&a);
	stop(&b);
	stop(&g);
}

/* SFR 4.2.7: SPKI pinning: with both roots trusted, a server certified by
 * the other root is accepted without pins (control) and refused when the
 * endpoint pins our root; pins on the root, the intermediate or the leaf
 * all let the good server in. */
static void test_sfr427_pin_other_trusted_ca_refused(void **state)
{
	struct proc a = {0}, g = {0};
	vg_endpoint e;
	char *both, *other;

	(void)state;
	s_server(&a, "otherca", NULL);
	s_server(&g, "good", NULL);
	e = ep_make("localhost", a.port);
	other = slurp("other-root.crt");
	both = malloc(strlen(e.ca_pem) + strlen(other) + 1);
	assert_non_null(both);
	strcpy(both, e.ca_pem);
	strcat(both, other);
	free(other);
	free(e.ca_pem);
	e.ca_pem = both;
	expect_ok(&e, NULL);
	pin_from(&e, "root");
	expect_refused(&e, NULL, "no pin matched");
	e.port = (uint16_t)g.port;
	expect_ok(&e, NULL);
	e.n_pins = 0;
	pin_from(&e, "inter");
	expect_ok(&e, NULL);
	e.n_pins = 0;
	pin_from(&e, "server-good");
	expect_ok(&e, NULL);
	e.n_pins = 0;
	pin_from(&e, "other-root");
	expect_refused(&e, NULL, "no pin matched");
	ep_clear(&e);
	stop(&a);
	stop(&g);
}

/* SFR 4.2.7: host name verification: a valid certificate for another host
 * is refused; the same server for its own name is accepted. */
static void test_sfr427_other_host_refused(void **state)
{
	struct proc p = {0};
	vg_endpoint e;

	(void)state;
	s_server(&p, "otherhost", NULL);
	e = ep_make("localhost", p.port);
	expect_refused(&e, NULL, "host name mismatch");
	/* other.example resolves nowhere here: its certificate is checked
	 * against the host the endpoint names, reached as localhost. */
	ep_clear(&e);
	stop(&p);
	s_server(&p, "good", NULL);
	e = ep_make("127.0.0.1", p.port);
	expect_ok(&e, NULL);
	ep_clear(&e);
	stop(&p);
}

/* SFR 4.2.7 note 3: expiry, both ways. */
static void test_sfr427_expired_and_not_yet_valid_refused(void **state)
{
	struct proc x = {0}, n = {0}, g = {0};
	vg_endpoint e;

	(void)state;
	s_server(&x, "expired", NULL);
	s_server(&n, "notyet", NULL);
	s_server(&g, "good", NULL);
	e = ep_make("localhost", x.port);
	expect_refused(&e, NULL, "certificate has expired");
	e.port = (uint16_t)n.port;
	expect_refused(&e, NULL, "certificate is not yet valid");
	e.port = (uint16_t)g.port;
	expect_ok(&e, NULL);
	ep_clear(&e);
	stop(&x);
	stop(&n);
	stop(&g);
}

/* ------------------------------------------------------------------ */
/* Revocation (SFR 4.2.7 note 3)                                       */

/* OCSP stapling: a good staple is accepted; a revoked one refused; no
 * staple or a stale one refused (fail closed) unless soft_fail, which
 * accepts and says so in the report; revoked is never soft. */
static void test_sfr427_revoked_stapled_refused(void **state)
{
	struct proc good = {0}, rev = {0}, none = {0}, stale = {0};
	vg_endpoint e;
	char why[WHY];
	vg_tls *t = NULL;

	(void)state;
	s_server(&good, "good", "-status_file", pki_path("staple-good.der"), NULL);
	s_server(&rev, "revoked", "-status_file", pki_path("staple-revoked.der"), NULL);
	s_server(&none, "good", NULL);
	s_server(&stale, "good", "-status_file", pki_path("staple-stale.der"), NULL);
	e = ep_make("localhost", good.port);
	e.revocation = VG_REVOCATION_OCSP_STAPLED;
	expect_ok(&e, NULL);
	e.port = (uint16_t)rev.port;
	expect_refused(&e, NULL, "certificate revoked (OCSP)");
	e.port = (uint16_t)none.port;
	expect_refused(&e, NULL, "revocation status unobtainable (no OCSP staple)");
	e.port = (uint16_t)stale.port;
	expect_refused(&e, NULL, "revocation status unobtainable (stale OCSP response)");
	/* A staple for another certificate (the good server's staple on the
	 * revoked server) proves nothing about this one. */
	e.soft_fail = true;
	e.port = (uint16_t)none.port;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_non_null(strstr(vg_tls_soft_note(t), "soft-fail"));
	assert_true(http_get(t));
	vg_tls_close(t);
	assert_true(tls_fake_last.ok);
	assert_non_null(strstr(tls_fake_last.reason, "soft-fail: revocation status unobtainable"));
	e.port = (uint16_t)rev.port;
	expect_refused(&e, NULL, "certificate revoked (OCSP)");
	ep_clear(&e);
	stop(&good);
	stop(&rev);
	stop(&none);
	stop(&stale);
}

/* A staple that is not for the server's certificate is refused. */
static void test_sfr427_staple_for_other_cert_refused(void **state)
{
	struct proc p = {0};
	vg_endpoint e;

	(void)state;
	s_server(&p, "revoked", "-status_file", pki_path("staple-good.der"), NULL);
	e = ep_make("localhost", p.port);
	e.revocation = VG_REVOCATION_OCSP_STAPLED;
	e.soft_fail = true; /* not an "unobtainable" case: still refused */
	expect_refused(&e, NULL, "OCSP response does not name the certificate");
	ep_clear(&e);
	stop(&p);
}

static X509 *pem_x509(const char *name)
{
	BIO *b = BIO_new_file(pki_path(name), "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static vg_rc check_der(const uint8_t *der, size_t len, char why[static WHY])
{
	X509 *root = pem_x509("root.crt"), *inter = pem_x509("inter.crt"),
	     *leaf = pem_x509("server-good.crt");
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	vg_rc rc;

	assert_true(st && chain && X509_STORE_add_cert(st, root) && sk_X509_push(chain, leaf) &&
		    sk_X509_push(chain, inter));
	why[0] = '\0';
	rc = vg_tls_ocsp_check_der(der, len, leaf, inter, chain, st, why, WHY);
	sk_X509_free(chain);
	X509_STORE_free(st);
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	return rc;
}

/* OCSP responses are outside bytes (the TLS peer staples them, the
 * responder answers over plain HTTP): the good response is accepted
 * (control); truncated, extended, empty, with a flipped signature byte, or
 * for another certificate: refused, never "unobtainable" (so never
 * soft); a stale one is "unobtainable". */
static void test_sfr427_ocsp_malformed_refused(void **state)
{
	uint8_t *good = NULL, *rev = NULL, *stale = NULL, *bad;
	size_t glen = 0, rlen = 0, slen = 0;
	char why[WHY];

	(void)state;
	assert_int_equal(vg_read_file(pki_path("staple-good.der"), 65536, &good, &glen), VG_OK);
	assert_int_equal(vg_read_file(pki_path("staple-revoked.der"), 65536, &rev, &rlen), VG_OK);
	assert_int_equal(vg_read_file(pki_path("staple-stale.der"), 65536, &stale, &slen), VG_OK);
	assert_int_equal(check_der(good, glen, why), VG_OK);
	assert_int_equal(check_der(good, glen - 1, why), VG_ERR_VERIFY_FAILED);
	assert_string_equal(why, "malformed OCSP response");
	assert_int_equal(check_der(good, 0, why), VG_ERR_VERIFY_FAILED);
	bad = malloc(glen + 1);
	assert_non_null(bad);
	memcpy(bad, good, glen);
	bad[glen] = 0;
	assert_int_equal(check_der(bad, glen + 1, why), VG_ERR_VERIFY_FAILED);
	assert_string_equal(why, "malformed OCSP response");
	/* The signature is the response's last bytes (ECDSA, DER); a flipped
	 * byte there breaks it whatever the encoding. */
	bad[glen - 3] ^= 0x01;
	assert_int_equal(check_der(bad, glen, why), VG_ERR_VERIFY_FAILED);
	assert_string_equal(why, "OCSP response signature does not verify");
	/* The revoked server's response says nothing about the good one. */
	assert_int_equal(check_der(rev, rlen, why), VG_ERR_VERIFY_FAILED);
	assert_string_equal(why, "OCSP response does not name the certificate");
	assert_int_equal(check_der(stale, slen, why), VG_ERR_UNAVAILABLE);
	assert_string_equal(why, "stale OCSP response");
	free(bad);
	free(good);
	free(rev);
	free(stale);
}

/* The OCSP query to the responder in the certificate's AIA: good is
 * accepted, revoked refused; with the responder down, refused (fail
 * closed), and accepted with soft_fail (reported as such). */
static void test_sfr427_revoked_ocsp_query_refused(void **state)
{
	struct proc good = {0}, rev = {0}, resp = {0};
	vg_endpoint e;
	char why[WHY];
	vg_tls *t = NULL;

	(void)state;
	s_server(&good, "good", NULL);
	s_server(&rev, "revoked", NULL);
	ocsp_responder(&resp);
	e = ep_make("localhost", good.port);
	e.revocation = VG_REVOCATION_OCSP;
	expect_ok(&e, NULL);
	e.port = (uint16_t)rev.port;
	expect_refused(&e, NULL, "certificate revoked (OCSP)");
	stop(&resp);
	e.port = (uint16_t)good.port;
	expect_refused(&e, NULL,
		       "revocation status unobtainable (the OCSP responder did not answer)");
	e.soft_fail = true;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_true(http_get(t));
	vg_tls_close(t);
	assert_true(tls_fake_last.ok);
	assert_non_null(strstr(tls_fake_last.reason, "soft-fail"));
	ep_clear(&e);
	stop(&good);
	stop(&rev);
}

/* The endpoint's CRL: good accepted, revoked refused; an expired CRL is
 * "status unobtainable": refused, or accepted with soft_fail for a good
 * certificate, and never for a revoked one. */
static void test_sfr427_revoked_crl_refused(void **state)
{
	struct proc good = {0}, rev = {0};
	vg_endpoint e;
	char why[WHY];
	vg_tls *t = NULL;

	(void)state;
	s_server(&good, "good", NULL);
	s_server(&rev, "revoked", NULL);
	e = ep_make("localhost", good.port);
	e.revocation = VG_REVOCATION_CRL;
	e.crl_pem = slurp("crl.pem");
	expect_ok(&e, NULL);
	e.port = (uint16_t)rev.port;
	expect_refused(&e, NULL, "certificate revoked (CRL)");
	free(e.crl_pem);
	e.crl_pem = slurp("crl-expired.pem");
	e.port = (uint16_t)good.port;
	expect_refused(&e, NULL, "revocation status unobtainable (the CRL has expired)");
	e.soft_fail = true;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_true(http_get(t));
	vg_tls_close(t);
	assert_non_null(strstr(tls_fake_last.reason, "soft-fail"));
	e.port = (uint16_t)rev.port;
	expect_refused(&e, NULL, "certificate revoked (CRL)");
	ep_clear(&e);
	stop(&good);
	stop(&rev);
}

/* ------------------------------------------------------------------ */
/* Versions and suites (SFR 4.2.7 note 4, AVS 1.3)                     */

static void test_sfr427_tls10_tls11_server_refused(void **state)
{
	struct proc v10 = {0}, v11 = {0}, v12 = {0};
	vg_endpoint e;
	char why[WHY];
	vg_tls *t = NULL;

	(void)state;
	/* Debian's OpenSSL refuses TLS < 1.2 at its default security
	 * level, even on the server: level 0 for the attack's server. */
	s_server(&v10, "good", "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0", NULL);
	s_server(&v11, "good", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", NULL);
	s_server(&v12, "good", "-tls1_2", NULL);
	e = ep_make("localhost", v10.port);
	expect_refused(&e, NULL, "protocol version below TLS 1.2");
	e.port = (uint16_t)v11.port;
	expect_refused(&e, NULL, "protocol version below TLS 1.2");
	e.port = (uint16_t)v12.port;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_string_equal(vg_tls_version(t), "TLSv1.2");
	assert_non_null(strstr(vg_tls_cipher(t), "ECDHE"));
	assert_non_null(strstr(vg_tls_cipher(t), "GCM"));
	assert_true(http_get(t));
	vg_tls_close(t);
	/* An endpoint that asks for TLS 1.3 refuses the 1.2 server. */
	e.min_version = 0x0304;
	expect_refused(&e, NULL, "protocol version");
	ep_clear(&e);
	stop(&v10);
	stop(&v11);
	stop(&v12);
}

/* A TLS 1.2 server that offers only CBC with SHA-1 (or RSA key exchange)
 * is refused; the endpoint marked legacy reaches it (the control). */
static void test_sfr427_weak_cipher_server_refused(void **state)
{
	struct proc cbc = {0};
	vg_endpoint e;
	char why[WHY];
	vg_tls *t = NULL;

	(void)state;
	s_server(&cbc, "good", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA", NULL);
	e = ep_make("localhost", cbc.port);
	expect_refused(&e, NULL, "no acceptable cipher suite");
	e.legacy = true;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_string_equal(vg_tls_cipher(t), "ECDHE-ECDSA-AES128-SHA");
	assert_true(http_get(t));
	vg_tls_close(t);
	ep_clear(&e);
	stop(&cbc);
}

/* ------------------------------------------------------------------ */
/* Client certificates                                                 */

/* A server that requires a client certificate: with the endpoint's client
 * key (from the service: here the fake provider) the page comes back;
 * without, refused with the reason: TLS 1.3 says so after the handshake,
 * on the first read; TLS 1.2 in the handshake. Both are reported. */
static void test_sfr427_client_cert_required(void **state)
{
	struct proc p13 = {0}, p12 = {0};
	vg_endpoint e;
	EVP_PKEY *key = pem_key("client");
	char why[WHY], buf[64];
	vg_tls *t = NULL;

	(void)state;
	s_server(&p13, "good", "-Verify", "1", "-CAfile", pki_path("client-ca.crt"), NULL);
	s_server(&p12, "good", "-tls1_2", "-Verify", "1", "-CAfile", pki_path("client-ca.crt"),
		 NULL);
	e = ep_make("localhost", p13.port);
	(void)snprintf(e.client_key, sizeof e.client_key, "client");
	e.client_cert_pem = slurp("client.crt");
	expect_ok(&e, key);
	e.port = (uint16_t)p12.port;
	expect_ok(&e, key);

	/* Without a client certificate. */
	e.port = (uint16_t)p13.port;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	(void)vg_tls_write(t, "GET / HTTP/1.0\r\n\r\n", 18);
	assert_int_equal(vg_tls_read(t, buf, sizeof buf), -1);
	assert_string_equal(vg_tls_why(t), "the server requires a client certificate");
	assert_true(vg_tls_refused(t));
	assert_false(tls_fake_last.ok);
	assert_string_equal(tls_fake_last.reason, "the server requires a client certificate");
	vg_tls_close(t);
	e.port = (uint16_t)p12.port;
	expect_refused(&e, NULL, "the server requires a client certificate");

	/* A certificate that is not the key's is refused before connecting. */
	free(e.client_cert_pem);
	e.client_cert_pem = slurp("server-good.crt");
	assert_int_equal(try_ep(&e, key, why, &t), VG_ERR_INVALID);
	assert_non_null(strstr(why, "not the client key's"));
	EVP_PKEY_free(key);
	ep_clear(&e);
	stop(&p13);
	stop(&p12);
}

/* ------------------------------------------------------------------ */
/* By name, through the endpoint list                                  */

/* SFR 4.2.8 through the channel: vg_tls_connect gets the policy by name;
 * an endpoint not listed for the caller is refused before any network
 * traffic; the device identity is the default client identity. */
static void test_sfr427_connect_by_name(void **state)
{
	struct proc p = {0};
	vg_endpoint e;
	char why[WHY], *dev;
	vg_tls *t = NULL;

	(void)state;
	s_server(&p, "good", "-Verify", "1", "-CAfile", pki_path("client-ca.crt"), NULL);
	e = ep_make("localhost", p.port);
	tls_fake_ep = &e;
	tls_fake_reports = 0;
	assert_int_equal(vg_tls_connect(FAKE_CLIENT, "not-listed", &t, why, sizeof why),
			 VG_ERR_DENIED);
	assert_null(t);
	assert_int_equal(tls_fake_reports, 0);
	/* device-identity with no certificate of its own: the OEM one. */
	(void)snprintf(e.client_key, sizeof e.client_key, "device-identity");
	dev = slurp("client.crt");
	tls_fake_device_cert = dev;
	/* the fake provider's "device-identity" key is PKI/device-identity.key */
	assert_int_equal(symlink(pki_path("client.key"), pki_path("device-identity.key")) == 0 ||
			     errno == EEXIST,
			 1);
	assert_int_equal(vg_tls_connect(FAKE_CLIENT, "test-endpoint", &t, why, sizeof why), VG_OK);
	assert_true(http_get(t));
	vg_tls_close(t);
	assert_true(tls_fake_last.ok);
	assert_true(tls_fake_loads >= 1);
	/* No device certificate: refused before connecting. */
	tls_fake_device_cert = NULL;
	assert_int_equal(vg_tls_connect(FAKE_CLIENT, "test-endpoint", &t, why, sizeof why),
			 VG_ERR_NOT_FOUND);
	assert_non_null(strstr(why, "device identity has no certificate"));
	free(dev);
	tls_fake_ep = NULL;
	ep_clear(&e);
	stop(&p);
}

/* ------------------------------------------------------------------ */
/* The server side and the stream                                      */

struct srv {
	int fd;
	vg_rc rc;
	char why[WHY];
	bool truncate; /* close without close_notify */
};

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	vg_tls *t = NULL;
	char buf[64];
	ssize_t n;

	s->rc = vg_tls_accept(FAKE_CLIENT, s->fd, "server-good", pki_path("chain-good.pem"), &t,
			      s->why, sizeof s->why);
	if (s->rc != VG_OK) {
		(void)close(s->fd);
		return NULL;
	}
	n = vg_tls_read(t, buf, sizeof buf);
	if (n > 0 && vg_tls_write(t, buf, (size_t)n) != n)
		s->rc = VG_ERR_IO;
	if (s->truncate) {
		/* The attacker cuts the stream: FIN, no close_notify. */
		(void)shutdown(vg_tls_fd(t), SHUT_RDWR);
	}
	vg_tls_close(t);
	return NULL;
}

/* vg_tls_accept: TLS 1.3 with the server key from the service; the client
 * channel echoes through it and ends with a clean close (read 0); a stream
 * cut without close_notify is an error, never an end of data (SFR 4.2.7:
 * erasure); a TLS 1.2-only client is refused. */
static void test_sfr427_accept_and_truncation(void **state)
{
	vg_endpoint e = ep_make("localhost", 1);
	struct srv s = {0};
	pthread_t th;
	int sv[2];
	SSL_CTX *ctx = NULL;
	vg_tls *t = NULL;
	char why[WHY], buf[64];

	(void)state;
	for (int round = 0; round < 2; round++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		memset(&s, 0, sizeof s);
		s.fd = sv[1];
		s.truncate = round == 1;
		assert_int_equal(pthread_create(&th, NULL, srv_main, &s), 0);
		assert_int_equal(vg_tls_ctx_for(&e, NULL, &ctx, why, sizeof why), VG_OK);
		assert_int_equal(vg_tls_handshake(ctx, &e, sv[0], &t, why, sizeof why), VG_OK);
		SSL_CTX_free(ctx);
		assert_string_equal(vg_tls_version(t), "TLSv1.3");
		assert_int_equal(vg_tls_write(t, "ping", 4), 4);
		assert_int_equal(vg_tls_read(t, buf, sizeof buf), 4);
		assert_memory_equal(buf, "ping", 4);
		if (round == 0) {
			assert_int_equal(vg_tls_read(t, buf, sizeof buf), 0);
		} else {
			assert_int_equal(vg_tls_read(t, buf, sizeof buf), -1);
			assert_non_null(strstr(vg_tls_why(t), "close_notify"));
		}
		vg_tls_close(t);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(s.rc, VG_OK);
	}

	/* A client that stops at TLS 1.2. */
	{
		SSL_CTX *c12 = SSL_CTX_new(TLS_client_method());
		SSL *cs;
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		memset(&s, 0, sizeof s);
		s.fd = sv[1];
		assert_int_equal(pthread_create(&th, NULL, srv_main, &s), 0);
		assert_int_equal(SSL_CTX_set_max_proto_version(c12, TLS1_2_VERSION), 1);
		SSL_CTX_set_verify(c12, SSL_VERIFY_NONE, NULL);
		cs = SSL_new(c12);
		assert_int_equal(SSL_set_fd(cs, sv[0]), 1);
		assert_true(SSL_connect(cs) != 1);
		SSL_free(cs);
		SSL_CTX_free(c12);
		(void)close(sv[0]);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(s.rc, VG_ERR_VERIFY_FAILED);
		assert_non_null(strstr(s.why, "protocol version"));
	}
	/* A key the service does not have. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vg_tls_accept(FAKE_CLIENT, sv[1], "no-such-key",
				       pki_path("chain-good.pem"), &t, why, sizeof why),
			 VG_ERR_NOT_FOUND);
	assert_null(t);
	(void)close(sv[0]);
	(void)close(sv[1]);
	ep_clear(&e);
}

/* Runs vg_tls_pipe on t with `input` as its standard input; the output
 * goes to out (NUL-terminated). */
static int run_pipe(vg_tls *t, const char *input, bool close_in, char *out, size_t cap,
		    char why[static WHY])
{
	int in[2], o[2], r;
	ssize_t n;
	size_t got = 0;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(o), 0);
	assert_int_equal(fcntl(o[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
	if (close_in)
		(void)close(in[1]);
	why[0] = '\0';
	r = vg_tls_pipe(t, in[0], o[1], why, WHY);
	(void)close(o[1]);
	while (got < cap - 1 && (n = read(o[0], out + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	(void)close(o[0]);
	(void)close(in[0]);
	if (!close_in)
		(void)close(in[1]);
	return r;
}

/* `voxguard connect`'s pipe: input to the peer, the peer to the output;
 * at the end of the input, close_notify, then the peer's answer to its
 * own close_notify: 0. A server that requires a client certificate we do
 * not have: 1, with the reason. The stream cut without close_notify (the
 * server killed): 2, never a clean end (SFR 4.2.7: erasure). */
static void test_sfr427_pipe_exit_codes(void **state)
{
	struct proc rev = {0}, www = {0}, mtls = {0};
	vg_endpoint e;
	char why[WHY], out[16384];
	vg_tls *t = NULL;

	(void)state;
	s_server(&www, "good", NULL);
	s_server(&rev, "good", "-rev", NULL);
	s_server(&mtls, "good", "-Verify", "1", "-CAfile", pki_path("client-ca.crt"), NULL);
	e = ep_make("localhost", www.port);
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_int_equal(run_pipe(t, "GET / HTTP/1.0\r\n\r\n", true, out, sizeof out, why), 0);
	assert_non_null(strstr(out, "200 ok"));
	vg_tls_close(t);

	e.port = (uint16_t)rev.port;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	(void)run_pipe(t, "hello\n", true, out, sizeof out, why);
	assert_non_null(strstr(out, "olleh"));
	vg_tls_close(t);

	e.port = (uint16_t)mtls.port;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	assert_int_equal(run_pipe(t, "hello\n", true, out, sizeof out, why), 1);
	assert_string_equal(why, "the server requires a client certificate");
	vg_tls_close(t);

	e.port = (uint16_t)rev.port;
	assert_int_equal(try_ep(&e, NULL, why, &t), VG_OK);
	stop(&rev);
	assert_int_equal(run_pipe(t, "", false, out, sizeof out, why), 2);
	/* A FIN without close_notify, or a reset: never a clean end. */
	if (!strstr(why, "without close_notify") && !strstr(why, "connection lost"))
		print_error("why: %s\n", why);
	assert_true(strstr(why, "without close_notify") || strstr(why, "connection lost"));
	vg_tls_close(t);
	ep_clear(&e);
	stop(&www);
	stop(&mtls);
}

/* ------------------------------------------------------------------ */
/* libcurl                                                             */

struct body {
	char buf[8192];
	size_t len;
};

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	struct body *b = ud;
	size_t k = sz * n;

	if (k > sizeof b->buf - 1 - b->len)
		k = sizeof b->buf - 1 - b->len;
	memcpy(b->buf + b->len, p, k);
	b->len += k;
	b->buf[b->len] = '\0';
	return sz * n;
}

/* A GET of url on a handle set up for endpoint "test-endpoint" (tls_fake_ep),
 * after the application set its own CA file app_ca (NULL: none). */
static CURLcode curl_get(const char *url, const char *app_ca, long *code, long *httpver,
			 struct body *b)
{
	CURL *h = curl_easy_init();
	CURLcode rc;

	assert_non_null(h);
	memset(b, 0, sizeof *b);
	if (app_ca)
		assert_int_equal(curl_easy_setopt(h, CURLOPT_CAINFO, app_ca), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, b), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS),
			 CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L), CURLE_OK);
	assert_int_equal(vg_tls_curl_setup(FAKE_CLIENT, h, "test-endpoint"), VG_OK);
	tls_fake_reports = 0;
	memset(&tls_fake_last, 0, sizeof tls_fake_last);
	rc = curl_easy_perform(h);
	*code = 0;
	*httpver = 0;
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
	(void)curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, httpver);
	curl_easy_cleanup(h);
	return rc;
}

/* vg_tls_curl_setup: the same policy on a libcurl handle. The control
 * gets the page and is reported; a chain from another CA is refused even
 * though the application pointed libcurl's CA file at that CA (the policy
 * replaces it); a URL for another host or port than the endpoint's, and
 * plain http://, never leave; a revoked staple is refused. */
static void test_sfr427_curl_policy(void **state)
{
	struct proc g = {0}, o = {0}, r = {0};
	vg_endpoint e;
	struct body b;
	long code, ver;
	char url[128];

	(void)state;
	s_server(&g, "good", NULL);
	s_server(&o, "otherca", NULL);
	s_server(&r, "revoked", "-status_file", pki_path("staple-revoked.der"), NULL);
	e = ep_make("localhost", g.port);
	tls_fake_ep = &e;

	(void)snprintf(url, sizeof url, "https://localhost:%d/", g.port);
	assert_int_equal(curl_get(url, NULL, &code, &ver, &b), CURLE_OK);
	assert_int_equal(code, 200);
	assert_true(tls_fake_last.ok);

	e.port = (uint16_t)o.port;
	(void)snprintf(url, sizeof url, "https://localhost:%d/", o.port);
	assert_int_not_equal(curl_get(url, pki_path("other-root.crt"), &code, &ver, &b), CURLE_OK);
	assert_false(tls_fake_last.ok);
	assert_string_equal(tls_fake_last.reason, "unknown CA");

	e.port = (uint16_t)g.port;
	(void)snprintf(url, sizeof url, "https://127.0.0.1:%d/", g.port);
	assert_int_not_equal(curl_get(url, NULL, &code, &ver, &b), CURLE_OK);
	assert_false(tls_fake_last.ok);
	assert_non_null(strstr(tls_fake_last.reason, "is not endpoint test-endpoint"));
	(void)snprintf(url, sizeof url, "https://localhost:%d/", o.port);
	assert_int_not_equal(curl_get(url, NULL, &code, &ver, &b), CURLE_OK);
	assert_non_null(strstr(tls_fake_last.reason, "is not endpoint test-endpoint"));
	(void)snprintf(url, sizeof url, "http://localhost:%d/", g.port);
	assert_int_equal(curl_get(url, NULL, &code, &ver, &b), CURLE_UNSUPPORTED_PROTOCOL);

	e.port = (uint16_t)r.port;
	e.revocation = VG_REVOCATION_OCSP_STAPLED;
	(void)snprintf(url, sizeof url, "https://localhost:%d/", r.port);
	assert_int_not_equal(curl_get(url, NULL, &code, &ver, &b), CURLE_OK);
	assert_string_equal(tls_fake_last.reason, "certificate revoked (OCSP)");

	/* Not listed for the caller: refused, and the handle, if the
	 * application uses it anyway, reaches nothing (fail closed). */
	tls_fake_ep = NULL;
	{
		CURL *h = curl_easy_init();
		(void)snprintf(url, sizeof url, "https://localhost:%d/", g.port);
		assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
		assert_int_equal(curl_easy_setopt(h, CURLOPT_CAINFO, pki_path("root.crt")),
				 CURLE_OK);
		assert_int_equal(vg_tls_curl_setup(FAKE_CLIENT, h, "test-endpoint"), VG_ERR_DENIED);
		assert_int_not_equal(curl_easy_perform(h), CURLE_OK);
		(void)snprintf(url, sizeof url, "http://localhost:%d/", g.port);
		assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
		assert_int_equal(curl_easy_perform(h), CURLE_UNSUPPORTED_PROTOCOL);
		curl_easy_cleanup(h);
		/* The control: the same handle without the failed set-up. */
		h = curl_easy_init();
		(void)snprintf(url, sizeof url, "https://localhost:%d/", g.port);
		assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
		assert_int_equal(curl_easy_setopt(h, CURLOPT_CAINFO, pki_path("root.crt")),
				 CURLE_OK);
		assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink), CURLE_OK);
		assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, &b), CURLE_OK);
		assert_int_equal(curl_easy_perform(h), CURLE_OK);
		curl_easy_cleanup(h);
	}
	ep_clear(&e);
	stop(&g);
	stop(&o);
	stop(&r);
}

/* nginx from Debian: HTTP/2 with mutual TLS and a stapled OCSP response
 * (ssl_stapling_file), through a libcurl handle set up for the endpoint:
 * the client key comes from the service (the fake provider here); without
 * a client key nginx answers 400. */
static void test_sfr427_curl_nginx_http2_mtls(void **state)
{
	struct proc n = {0};
	vg_endpoint e;
	struct body b;
	long code, ver;
	char conf[700], url[128], *argv[8];
	FILE *f;
	int port;

	(void)state;
	if (access("/usr/sbin/nginx", X_OK) != 0) {
		print_message("nginx is not installed (scripts/install-deps.sh installs it)\n");
		skip();
	}
	port = free_port();
	(void)snprintf(conf, sizeof conf, "%s/nginx.conf", pki);
	f = fopen(conf, "w");
	assert_non_null(f);
	(void)fprintf(
	    f,
	    "daemon off;\nmaster_process off;\npid %s/nginx.pid;\n"
	    "error_log %s/nginx-error.log;\nevents {}\nhttp {\n access_log off;\n"
	    " client_body_temp_path %s;\n proxy_temp_path %s;\n fastcgi_temp_path %s;\n"
	    " uwsgi_temp_path %s;\n scgi_temp_path %s;\n"
	    " server {\n  listen 127.0.0.1:%d ssl http2;\n"
	    "  ssl_certificate %s/chain-good.pem;\n  ssl_certificate_key %s/server-good.key;\n"
	    "  ssl_protocols TLSv1.2 TLSv1.3;\n"
	    "  ssl_verify_client on;\n  ssl_client_certificate %s/client-ca.crt;\n"
	    "  ssl_stapling on;\n  ssl_stapling_file %s/staple-good.der;\n"
	    "  location / { return 200 \"hello $ssl_client_s_dn\\n\"; }\n }\n}\n",
	    pki, pki, pki, pki, pki, pki, pki, port, pki, pki, pki, pki);
	assert_int_equal(fclose(f), 0);
	argv[0] = "/usr/sbin/nginx";
	argv[1] = "-p";
	argv[2] = pki;
	argv[3] = "-c";
	argv[4] = conf;
	argv[5] = "-e";
	argv[6] = pki_path("nginx-error.log");
	argv[7] = NULL;
	start(&n, port, argv);

	e = ep_make("localhost", port);
	e.revocation = VG_REVOCATION_OCSP_STAPLED;
	(void)snprintf(e.client_key, sizeof e.client_key, "client");
	e.client_cert_pem = slurp("client.crt");
	tls_fake_ep = &e;
	(void)snprintf(url, sizeof url, "https://localhost:%d/", port);
	assert_int_equal(curl_get(url, NULL, &code, &ver, &b), CURLE_OK);
	assert_int_equal(code, 200);
	assert_int_equal(ver, CURL_HTTP_VERSION_2_0);
	assert_non_null(strstr(b.buf, "hello CN=voxguard-device"));
	assert_true(tls_fake_last.ok);

	/* Without the client key: nginx refuses the request. */
	e.client_key[0] = '\0';
	assert_int_equal(curl_get(url, NULL, &code, &ver, &b), CURLE_OK);
	assert_int_equal(code, 400);
	assert_null(strstr(b.buf, "hello"));

	tls_fake_ep = NULL;
	ep_clear(&e);
	stop(&n);
}

/* Issue 12: a client key comes from the service the vg_client talks to,
 * in a library context of that service's own: the provider is loaded for
 * the client's socket and service user (not $VOXGUARD_SOCKET), once per
 * service; another socket, or the same socket with another service user,
 * is another context; the connection's SSL_CTX is made in the key's
 * context. The table is bounded: one service too many is refused cleanly
 * (VG_ERR_QUOTA, nothing loaded), and the services already known keep
 * working. (The integration test test_sfr427_channel_own_service.sh does
 * the same with two real services.) */
static void test_sfr427_channel_own_service(void **state)
{
	struct tls_fake_client a = {"/run/a/voxguard.sock", "svc-a"};
	struct tls_fake_client b = {"/run/b/voxguard.sock", "svc-b"};
	struct tls_fake_client a2 = {"/run/a/voxguard.sock", "svc-other"};
	struct tls_fake_client more[2 * VG_TLS_SERVICES_MAX];
	char socks[2 * VG_TLS_SERVICES_MAX][64];
	EVP_PKEY *ka = NULL, *ka_again = NULL, *kb = NULL, *ka2 = NULL, *k = NULL;
	struct proc p = {0};
	vg_endpoint e;
	SSL_CTX *ctx = NULL;
	vg_tls *t = NULL;
	char why[WHY] = "";
	int loads, ok = 0;
	vg_rc rc = VG_OK;

	(void)state;
	(void)setenv("VOXGUARD_SOCKET", "/run/wrong/voxguard.sock", 1);
	loads = tls_fake_loads;
	assert_int_equal(vg_tls_client_key((vg_client *)&a, "client", &ka, why, sizeof why), VG_OK);
	assert_int_equal(tls_fake_loads, loads + 1);
	assert_string_equal(tls_fake_load_socket, a.socket);
	assert_string_equal(tls_fake_load_user, a.user);
	assert_ptr_not_equal(vg_tls_key_libctx(ka), vg_tls_libctx());
	/* The same service again: the same context, no second load. */
	assert_int_equal(vg_tls_client_key((vg_client *)&a, "client", &ka_again, why, sizeof why),
			 VG_OK);
	assert_int_equal(tls_fake_loads, loads + 1);
	assert_ptr_equal(vg_tls_key_libctx(ka_again), vg_tls_key_libctx(ka));
	/* Another socket; the same socket with another service user. */
	assert_int_equal(vg_tls_client_key((vg_client *)&b, "client", &kb, why, sizeof why), VG_OK);
	assert_string_equal(tls_fake_load_socket, b.socket);
	assert_string_equal(tls_fake_load_user, b.user);
	assert_ptr_not_equal(vg_tls_key_libctx(kb), vg_tls_key_libctx(ka));
	assert_int_equal(vg_tls_client_key((vg_client *)&a2, "client", &ka2, why, sizeof why),
			 VG_OK);
	assert_string_equal(tls_fake_load_socket, a2.socket);
	assert_string_equal(tls_fake_load_user, a2.user);
	assert_ptr_not_equal(vg_tls_key_libctx(ka2), vg_tls_key_libctx(ka));
	assert_int_equal(tls_fake_loads, loads + 3);
	/* No key, or a key of the application's: the plain context. */
	assert_ptr_equal(vg_tls_key_libctx(NULL), vg_tls_libctx());

	/* Mutual TLS with b's key, the SSL_CTX in b's context. */
	s_server(&p, "good", "-Verify", "1", "-CAfile", pki_path("client-ca.crt"), NULL);
	e = ep_make("localhost", p.port);
	e.client_cert_pem = slurp("client.crt");
	assert_int_equal(vg_tls_ctx_for(&e, kb, &ctx, why, sizeof why), VG_OK);
	SSL_CTX_free(ctx);
	assert_int_equal(try_ep(&e, kb, why, &t), VG_OK);
	assert_true(http_get(t));
	vg_tls_close(t);
	ep_clear(&e);
	stop(&p);

	/* Fill the table: the first service too many is refused, cleanly. */
	for (size_t i = 0; i < VG_ARRAY_LEN(more); i++) {
		(void)snprintf(socks[i], sizeof socks[i], "/run/svc%zu/voxguard.sock", i);
		more[i].socket = socks[i];
		more[i].user = "svc";
		loads = tls_fake_loads;
		why[0] = '\0';
		rc = vg_tls_client_key((vg_client *)&more[i], "client", &k, why, sizeof why);
		if (rc != VG_OK)
			break;
		ok++;
		EVP_PKEY_free(k);
		k = NULL;
	}
	assert_int_equal(rc, VG_ERR_QUOTA);
	assert_null(k);
	assert_int_equal(tls_fake_loads, loads);
	assert_non_null(strstr(why, "at most 8 voxguard services"));
	assert_true(ok > 0 && ok <= (int)VG_TLS_SERVICES_MAX - 3);
	/* Known services still get their keys. */
	assert_int_equal(vg_tls_client_key((vg_client *)&b, "client", &k, why, sizeof why), VG_OK);
	assert_ptr_equal(vg_tls_key_libctx(k), vg_tls_key_libctx(kb));
	EVP_PKEY_free(k);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(ka_again);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(ka2);
	(void)unsetenv("VOXGUARD_SOCKET");
}

/* Moves the test into a new network namespace with only lo, up, before
 * any peer starts (they inherit it): `openssl ocsp -port PORT` of OpenSSL
 * 3.0 binds 0.0.0.0 and has no option for an address, and s_server,
 * nginx and curl need nothing but loopback. No fallback that runs the
 * peers in the host's namespace: without the namespace the test fails,
 * and says why. */
static int own_netns(void)
{
	struct ifreq ifr;
	int s, e = 0;

	if (unshare(CLONE_NEWNET) != 0) {
		(void)fprintf(stderr,
			      "test_tls_channel: cannot make its network namespace "
			      "(unshare(CLONE_NEWNET): %s): it needs root (CAP_SYS_ADMIN), since "
			      "its OCSP responder would otherwise listen on every interface\n",
			      strerror(errno));
		return -1;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		e = errno;
	} else {
		memset(&ifr, 0, sizeof ifr);
		(void)snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
		if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
			e = errno;
		ifr.ifr_flags |= IFF_UP;
		if (!e && ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
			e = errno;
		(void)close(s);
	}
	if (e) {
		(void)fprintf(stderr, "test_tls_channel: cannot bring lo up in its namespace: %s\n",
			      strerror(e));
		return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr427_policy_suites_forward_secret_aead),
	    cmocka_unit_test(test_sfr427_policy_malformed_refused),
	    cmocka_unit_test(test_sfr427_good_server_accepted),
	    cmocka_unit_test(test_sfr427_unknown_ca_refused),
	    cmocka_unit_test(test_sfr427_pin_other_trusted_ca_refused),
	    cmocka_unit_test(test_sfr427_other_host_refused),
	    cmocka_unit_test(test_sfr427_expired_and_not_yet_valid_refused),
	    cmocka_unit_test(test_sfr427_revoked_stapled_refused),
	    cmocka_unit_test(test_sfr427_staple_for_other_cert_refused),
	    cmocka_unit_test(test_sfr427_ocsp_malformed_refused),
	    cmocka_unit_test(test_sfr427_revoked_ocsp_query_refused),
	    cmocka_unit_test(test_sfr427_revoked_crl_refused),
	    cmocka_unit_test(test_sfr427_tls10_tls11_server_refused),
	    cmocka_unit_test(test_sfr427_weak_cipher_server_refused),
	    cmocka_unit_test(test_sfr427_client_cert_required),
	    cmocka_unit_test(test_sfr427_connect_by_name),
	    cmocka_unit_test(test_sfr427_accept_and_truncation),
	    cmocka_unit_test(test_sfr427_pipe_exit_codes),
	    cmocka_unit_test(test_sfr427_curl_policy),
	    cmocka_unit_test(test_sfr427_curl_nginx_http2_mtls),
	    cmocka_unit_test(test_sfr427_channel_own_service),
	};

	if (own_netns() != 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
