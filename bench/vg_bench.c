/*
 * vg_bench - voxguard's benchmarks. Every figure is printed as a ratio
 * against a baseline measured in the same run on the same machine:
 *
 *   sign        P-256 and Ed25519 signatures/s through the service, with 1
 *               and 4 client processes, vs in-process OpenSSL (one thread,
 *               same EVP calls the keystore makes)
 *   sign floor  a raw unix-socket echo (one epoll process, 4 clients, no
 *               voxguard code) vs the in-process signature: the IPC cost any
 *               out-of-process signer pays on this machine; and the service's
 *               status round trip vs that echo
 *   store put   durable puts/s through the service vs raw SQLite with the
 *               same durability (WAL, synchronous=FULL, one transaction per
 *               put), same value size, same file system
 *   store get   gets/s through the service vs raw SQLite SELECT
 *   audit       audit appends/s (group commit of 64) vs raw SQLite inserts
 *               of the same rows, one transaction each and 64 per
 *               transaction
 *   service     idle RSS after start and a few requests; start-up time
 *               (exec to ready line), first start and warm start
 *
 *   vg_bench VOXGUARDD_PATH [SECONDS_PER_FIGURE]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "attest/psa_token.h"
#include "platform/manifest.h"
#include "auth/password.h"
#include "audit/audit.h"
#include "common/util.h"
#include "rot/rot.h"
#include "storage/db.h"
#include "voxguard/voxguard.h"

#include "bench_util.h"

static double secs = 2.0;

static bench_svc svc;

struct mem {
	long rss, pss, anon, private_dirty;
};

/* From /proc/PID/smaps_rollup: RSS counts every resident page mapped,
 * shared library code included; Anonymous and Private_Dirty are the
 * service's own memory. */
static struct mem mem_of(pid_t pid)
{
	char path[64], line[256];
	struct mem m = {-1, -1, -1, -1};
	FILE *f;

	(void)snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return m;
	while (fgets(line, sizeof line, f)) {
		(void)sscanf(line, "Rss: %ld kB", &m.rss);
		(void)sscanf(line, "Pss: %ld kB", &m.pss);
		(void)sscanf(line, "Anonymous: %ld kB", &m.anon);
		(void)sscanf(line, "Private_Dirty: %ld kB", &m.private_dirty);
	}
	(void)fclose(f);
	return m;
}

static void print_mem(const char *when, struct mem m)
{
	(void)printf("service memory %s: RSS %ld KiB (PSS %ld), of which its own "
		     "(anonymous) %ld KiB, private dirty %ld KiB; the rest are clean shared "
		     "library pages\n",
		     when, m.rss, m.pss, m.anon, m.private_dirty);
}

/* The idle-RSS baseline: bench/rss_floor, a minimal OpenSSL 3 process. */
static struct mem floor_mem(const char *vgd)
{
	char path[512], line[16];
	struct mem m = {-1, -1, -1, -1};
	const char *slash = strrchr(vgd, '/');
	int fd[2], st;
	pid_t pid;
	FILE *f;

	(void)snprintf(path, sizeof path, "%.*s/bench/rss_floor",
		       slash ? (int)(slash - vgd) : 1, slash ? vgd : ".");
	if (pipe(fd) != 0)
		return m;
	pid = fork();
	if (pid == 0) {
		(void)dup2(fd[1], 1);
		(void)close(fd[0]);
		(void)close(fd[1]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	(void)close(fd[1]);
	f = fdopen(fd[0], "r");
	if (pid > 0 && f && fgets(line, sizeof line, f) && strncmp(line, "ready", 5) == 0) {
		(void)usleep(200000);
		m = mem_of(pid);
	}
	if (f)
		(void)fclose(f);
	else
		(void)close(fd[0]);
	if (pid > 0) {
		(void)kill(pid, SIGTERM);
		(void)waitpid(pid, &st, 0);
	}
	return m;
}

/* ---- signing ---- */

static const uint8_t msg[64] = "a 64-byte message: the size of a digest-and-nonce challenge...";

static double inproc_sign(const char *alg)
{
	EVP_PKEY *k = strcmp(alg, "p256") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
					       : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	const char *md = strcmp(alg, "p256") == 0 ? "SHA256" : NULL;
	uint8_t sig[128];
	long n = 0;
	double t0 = bench_now(), t;

	do {
		for (int i = 0; i < 50; i++) {
			EVP_MD_CTX *c = EVP_MD_CTX_new();
			size_t sl = sizeof sig;
			if (EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, k, NULL) != 1 ||
			    EVP_DigestSign(c, sig, &sl, msg, sizeof msg) != 1)
				bench_die("in-process sign");
			EVP_MD_CTX_free(c);
		}
		n += 50;
		t = bench_now() - t0;
	} while (t < secs);
	EVP_PKEY_free(k);
	return (double)n / t;
}

/* One client's loop: ops done in `secs`. */
typedef long (*client_fn)(const char *sock, const char *arg, int id);

/* `clients` processes running fn concurrently; total ops/s. */
static double run_clients(int clients, client_fn fn, const char *sock, const char *arg)
{
	int p[2];
	long total = 0;
	pid_t pids[16];
	double t0;

	if (pipe(p) != 0 || clients > 16)
		bench_die("pipe");
	t0 = bench_now();
	for (int i = 0; i < clients; i++) {
		if ((pids[i] = fork()) == 0) {
			long n = fn(sock, arg, i);
			(void)close(p[0]);
			if (write(p[1], &n, sizeof n) != sizeof n)
				_exit(1);
			_exit(0);
		}
	}
	(void)close(p[1]);
	for (int i = 0; i < clients; i++) {
		long n;
		if (read(p[0], &n, sizeof n) != sizeof n)
			bench_die("a client failed");
		total += n;
	}
	(void)close(p[0]);
	for (int i = 0; i < clients; i++)
		(void)waitpid(pids[i], NULL, 0);
	return (double)total / (bench_now() - t0);
}

static long sign_loop(const char *sock, const char *key, int id)
{
	vg_client *c = NULL;
	long n = 0;
	double s = bench_now();

	(void)id;
	if (vg_client_open(&c, sock) != VG_OK)
		_exit(1);
	while (bench_now() - s < secs) {
		uint8_t *sig = NULL;
		size_t sl = 0;
		if (vg_key_sign(c, key, msg, sizeof msg, &sig, &sl) != VG_OK)
			_exit(1);
		vg_free(sig, sl);
		n++;
	}
	vg_client_close(&c);
	return n;
}

static double service_sign(const char *sock, const char *key, int clients)
{
	return run_clients(clients, sign_loop, sock, key);
}

/* ---- the IPC floor: what any out-of-process signer pays ---- */

/* A raw echo server: one process, one epoll loop (as the service's event
 * loop), `clients` socketpairs, each client process writing a 64-byte
 * request and reading a 96-byte reply (the sizes of a sign request and
 * its reply) in turn. No voxguard code runs: the figure is what this
 * machine's kernel allows for request/reply over unix sockets.
 *
 * With `key`, the server is the minimal out-of-process signer: the same
 * loop signs each 64-byte request with the key (EVP_DigestSign, SHA-256,
 * as the service's key.sign) and sends the signature in the reply. No
 * framing, no policy, no budget, no audit: what any signer in another
 * process pays on this machine, the IPC and the signature together. */
static double raw_server(int clients, int servers, EVP_PKEY *key)
{
	int sv[16][2], p[2], ep;
	pid_t server[2], pids[16];
	long total = 0;
	double t0;

	if (clients > 16 || pipe(p) != 0)
		bench_die("echo pipe");
	for (int i = 0; i < clients; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) != 0)
			bench_die("socketpair");
	if (servers < 1 || servers > 2)
		bench_die("servers");
	for (int s = 0; s < servers; s++) {
		int mine = 0;
		if ((server[s] = fork()) != 0)
			continue;
		struct epoll_event ev, evs[16];
		uint8_t buf[256] = {0};
		ep = epoll_create1(0);
		for (int i = 0; i < clients; i++) {
			(void)close(sv[i][0]); /* the clients' ends: EOF when they exit */
			if (i % servers != s) {
				(void)close(sv[i][1]);
				continue;
			}
			mine++;
			ev.events = EPOLLIN;
			ev.data.fd = sv[i][1];
			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[i][1], &ev) != 0)
				_exit(1);
		}
		for (int open = mine; open > 0;) {
			int n = epoll_wait(ep, evs, 16, -1);
			for (int i = 0; i < n; i++) {
				ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
				if (r > 0 && key) {
					EVP_MD_CTX *c = EVP_MD_CTX_new();
					size_t sl = 96;
					if (!c ||
					    EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, key,
								  NULL) != 1 ||
					    EVP_DigestSign(c, buf + 128, &sl, buf, (size_t)r) != 1)
						_exit(1);
					EVP_MD_CTX_free(c);
					memcpy(buf, buf + 128, sl);
				}
				if (r <= 0) {
					(void)close(evs[i].data.fd);
					open--;
				} else if (write(evs[i].data.fd, buf, 96) != 96) {
					_exit(1);
				}
			}
		}
		_exit(0);
	}
	t0 = bench_now();
	for (int i = 0; i < clients; i++) {
		if ((pids[i] = fork()) == 0) {
			uint8_t req[64] = {1}, rep[96];
			long n = 0;
			double s = bench_now();
			while (bench_now() - s < secs) {
				size_t got = 0;
				if (write(sv[i][0], req, sizeof req) != (ssize_t)sizeof req)
					_exit(1);
				while (got < sizeof rep) {
					ssize_t r = read(sv[i][0], rep + got, sizeof rep - got);
					if (r <= 0)
						_exit(1);
					got += (size_t)r;
				}
				n++;
			}
			if (write(p[1], &n, sizeof n) != sizeof n)
				_exit(1);
			_exit(0);
		}
	}
	for (int i = 0; i < clients; i++)
		(void)close(sv[i][0]);
	for (int i = 0; i < clients; i++) {
		long n;
		if (read(p[0], &n, sizeof n) != sizeof n)
			bench_die("an echo client failed");
		total += n;
	}
	t0 = bench_now() - t0;
	for (int i = 0; i < clients; i++) {
		(void)waitpid(pids[i], NULL, 0);
		(void)close(sv[i][1]);
	}
	for (int s = 0; s < servers; s++)
		(void)waitpid(server[s], NULL, 0);
	(void)close(p[0]);
	(void)close(p[1]);
	return (double)total / t0;
}

/* ---- attestation (SFR 4.2.3) ---- */

static uint8_t nonce[32] = "a verifier's 32-byte fresh nonce";

static long attest_loop(const char *sock, const char *arg, int id)
{
	vg_client *c = NULL;
	long n = 0;
	double s = bench_now();

	(void)arg;
	(void)id;
	if (vg_client_open(&c, sock) != VG_OK)
		_exit(1);
	while (bench_now() - s < secs) {
		uint8_t *tok = NULL;
		size_t len = 0;
		if (vg_attest(c, nonce, sizeof nonce, &tok, &len) != VG_OK)
			_exit(1);
		vg_free(tok, len);
		n++;
	}
	vg_client_close(&c);
	return n;
}

/* ---- admin login (SFR 4.2.13): deliberately slow ---- */

static const char bench_pw[] = "a benchmark passphrase of 2026";
static char g_tok[VG_SESSION_TOKEN_SIZE];

/* Mean milliseconds of n logins through the service. */
static double login_ms(const char *sock, int n)
{
	vg_client *c = NULL;
	char tok[VG_SESSION_TOKEN_SIZE];
	double t0;

	if (vg_client_open(&c, sock) != VG_OK)
		bench_die("connect");
	t0 = bench_now();
	for (int i = 0; i < n; i++)
		if (vg_admin_login(c, (const uint8_t *)bench_pw, sizeof bench_pw - 1, tok) != VG_OK)
			bench_die("login");
	vg_client_close(&c);
	return (bench_now() - t0) / n * 1e3;
}

/* The same scrypt in process (the baseline: the hash is the cost). */
static double scrypt_ms(int n)
{
	vg_pw_params p = VG_PW_PARAMS_DEFAULT;
	char enc[VG_PW_ENCODED_MAX];
	double t0 = bench_now();

	for (int i = 0; i < n; i++)
		if (vg_pw_hash(bench_pw, sizeof bench_pw - 1, &p, enc, sizeof enc) != VG_OK)
			bench_die("scrypt");
	return (bench_now() - t0) / n * 1e3;
}

/* A token and the device key, for the verify figures. */
static uint8_t *g_token, *g_pub;
static size_t g_token_len, g_pub_len;

static double token_verify(void)
{
	vg_psa_verify_opts o = {
	    .nonce = nonce, .nonce_len = sizeof nonce, .bind_instance_id = true};
	long n = 0;
	double t0 = bench_now(), t;

	do {
		for (int i = 0; i < 50; i++)
			if (vg_psa_token_verify(g_token, g_token_len, g_pub, g_pub_len, &o, NULL,
						NULL, NULL, 0) != VG_OK)
				bench_die("token verify");
		n += 50;
		t = bench_now() - t0;
	} while (t < secs);
	return (double)n / t;
}

/* The baseline: OpenSSL ECDSA P-256 verify of a 64-byte message, with the
 * key parsed from DER each time as the token verifier does. */
static double inproc_verify(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t sig[128], *der = NULL;
	size_t sl = sizeof sig;
	int dl = i2d_PUBKEY(k, &der);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	long n = 0;
	double t0, t;

	if (dl <= 0 || EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, k, NULL) != 1 ||
	    EVP_DigestSign(c, sig, &sl, msg, sizeof msg) != 1)
		bench_die("baseline verify setup");
	EVP_MD_CTX_free(c);
	t0 = bench_now();
	do {
		for (int i = 0; i < 50; i++) {
			const unsigned char *p = der;
			EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, dl);
			c = EVP_MD_CTX_new();
			if (!pk ||
			    EVP_DigestVerifyInit_ex(c, NULL, "SHA256", NULL, NULL, pk, NULL) != 1 ||
			    EVP_DigestVerify(c, sig, sl, msg, sizeof msg) != 1)
				bench_die("baseline verify");
			EVP_MD_CTX_free(c);
			EVP_PKEY_free(pk);
		}
		n += 50;
		t = bench_now() - t0;
	} while (t < secs);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return (double)n / t;
}

/* ---- storage ---- */

static uint8_t value[256];

static double raw_sqlite_put(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = 0;
	double t0, t;
	char name[32];

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(
		db,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
		"CREATE TABLE IF NOT EXISTS r(ns TEXT, name TEXT, version INTEGER, blob BLOB,"
		" PRIMARY KEY(ns, name)) WITHOUT ROWID;",
		NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO r VALUES ('u/0', ?, ?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		bench_die("raw sqlite");
	t0 = bench_now();
	do {
		(void)snprintf(name, sizeof name, "k0-%ld", n % 1000);
		(void)sqlite3_reset(st);
		(void)sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		(void)sqlite3_bind_int64(st, 2, n);
		(void)sqlite3_bind_blob(st, 3, value, sizeof value, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			bench_die("raw sqlite insert");
		n++;
		t = bench_now() - t0;
	} while (t < secs);
	sqlite3_finalize(st);
	(void)sqlite3_close(db);
	return (double)n / t;
}

static double raw_sqlite_get(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = 0;
	double t0, t;
	char name[32];

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT blob FROM r WHERE ns = 'u/0' AND name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		bench_die("raw sqlite");
	t0 = bench_now();
	do {
		(void)snprintf(name, sizeof name, "k0-%ld", n % 1000);
		(void)sqlite3_reset(st);
		(void)sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW)
			bench_die("raw sqlite select");
		n++;
		t = bench_now() - t0;
	} while (t < secs);
	sqlite3_finalize(st);
	(void)sqlite3_close(db);
	return (double)n / t;
}

/* arg "put" or "get". */
static long store_loop(const char *sock, const char *arg, int id)
{
	int put = strcmp(arg, "put") == 0, ping = strcmp(arg, "status") == 0;
	vg_client *c = NULL;
	long n = 0;
	double t0;
	char name[32];

	if (vg_client_open(&c, sock) != VG_OK)
		_exit(1);
	t0 = bench_now();
	do {
		(void)snprintf(name, sizeof name, "k%d-%ld", id, n % 1000);
		if (ping) {
			vg_status st;
			if (vg_status_get(c, &st) != VG_OK)
				_exit(1);
			vg_status_free(&st);
		} else if (put) {
			if (vg_store_put(c, name, value, sizeof value) != VG_OK)
				_exit(1);
		} else {
			uint8_t *v = NULL;
			size_t l = 0;
			if (vg_store_get(c, name, &v, &l) != VG_OK)
				_exit(1);
			vg_free(v, l);
		}
		n++;
	} while (bench_now() - t0 < secs);
	vg_client_close(&c);
	return n;
}

static double service_store(const char *sock, int put, int clients)
{
	return run_clients(clients, store_loop, sock, put ? "put" : "get");
}

/* ---- audit ---- */

static EVP_PKEY *audit_key;

static vg_rc bench_sign(void *ctx, const uint8_t *m, size_t len, uint8_t **sig, size_t *sl)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	(void)ctx;
	*sig = malloc(80);
	*sl = 80;
	if (!c || !*sig ||
	    EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, audit_key, NULL) != 1 ||
	    EVP_DigestSign(c, *sig, sl, m, len) != 1)
		bench_die("audit sign");
	EVP_MD_CTX_free(c);
	return VG_OK;
}

static double audit_appends(const char *state)
{
	vg_rot *rot = NULL;
	vg_db *db = NULL;
	vg_audit *a = NULL;
	vg_audit_opts o = {.checkpoint_every = 256, .max_records = 1000000};
	vg_audit_event ev = {.type = "authz.denied",
			     .outcome = "denied",
			     .detail = "key.sign k owner=1000",
			     .uid = 1000,
			     .gid = 1000,
			     .pid = 4242,
			     .role = "user"};
	uint8_t *der = NULL;
	char path[512];
	long n = 0;
	double t0, t;
	int dl;

	audit_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	dl = i2d_PUBKEY(audit_key, &der);
	(void)snprintf(path, sizeof path, "%s/voxguard.db", state);
	if (mkdir(state, 0700) != 0 || vg_rot_file_open(&rot, state) != VG_OK ||
	    vg_db_open(&db, path, rot) != VG_OK ||
	    vg_audit_open(&a, db, &o, bench_sign, NULL, der, (size_t)dl) != VG_OK)
		bench_die("audit open");
	t0 = bench_now();
	do {
		for (int i = 0; i < 64; i++)
			if (vg_audit_append(a, &ev) != VG_OK)
				bench_die("append");
		if (vg_audit_flush(a) != VG_OK)
			bench_die("flush");
		n += 64;
		t = bench_now() - t0;
	} while (t < secs);
	vg_audit_close(&a);
	vg_db_close(&db);
	vg_rot_close(&rot);
	OPENSSL_free(der);
	EVP_PKEY_free(audit_key);
	return (double)n / t;
}

static double raw_sqlite_insert(const char *path, int batch)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = 0;
	double t0, t;
	uint8_t rec[120];

	memset(rec, 0x5a, sizeof rec);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(
		db,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		"CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, rec BLOB, hash BLOB);",
		NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO log VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		bench_die("raw sqlite");
	t0 = bench_now();
	do {
		if (batch > 1)
			(void)sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (int i = 0; i < batch; i++) {
			(void)sqlite3_reset(st);
			(void)sqlite3_bind_null(st, 1);
			(void)sqlite3_bind_blob(st, 2, rec, sizeof rec, SQLITE_STATIC);
			(void)sqlite3_bind_blob(st, 3, rec, 32, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				bench_die("raw insert");
			n++;
		}
		if (batch > 1)
			(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		t = bench_now() - t0;
	} while (t < secs);
	sqlite3_finalize(st);
	(void)sqlite3_close(db);
	return (double)n / t;
}

static void row(const char *what, double ours, double base, const char *base_name, double ratio)
{
	(void)printf("%-44s %10.0f /s   %-22s %10.0f /s   ratio %5.2f\n", what, ours, base_name,
		     base, ratio);
}

#define ROUNDS 5

/* Baseline and ours in alternating short rounds (bench_alternate): the
 * medians and the median of the per-round ratios. */
static void figure(const char *what, bench_meter ours, bench_meter base, const char *base_name)
{
	const char *only = getenv("BENCH_ONLY");
	bench_medians m;

	/* BENCH_ONLY=text runs only the figures whose name contains it. */
	if (only && *only && !strstr(what, only))
		return;
	m = bench_alternate(ours, base, ROUNDS, &secs);
	row(what, m.ours, m.base, base_name, m.ratio);
}

/* ---- secure initialization: platform verification vs sha256sum ---- */

static char g_img[300];
static vg_manifest *g_man;
static size_t g_img_mib = 256;

static double run_sha256sum(void)
{
	char cmd[400];
	double t0 = bench_now();

	(void)snprintf(cmd, sizeof cmd, "sha256sum '%s' >/dev/null", g_img);
	if (system(cmd) != 0)
		bench_die("sha256sum");
	return (double)g_img_mib / (bench_now() - t0); /* MiB/s */
}

static double run_measure(size_t which)
{
	vg_component_result res[VG_MANIFEST_MAX_COMPONENTS];
	vg_manifest one = *g_man;
	double t0 = bench_now();

	one.c[0] = g_man->c[which];
	one.n = 1;
	if (vg_manifest_measure(&one, NULL, res) != 0)
		bench_die("platform measure");
	return (double)g_img_mib / (bench_now() - t0);
}
static double m_measure_sha(void)
{
	return run_measure(0);
}
static double m_measure_merkle(void)
{
	return run_measure(1);
}

static void bench_platform(const char *where)
{
	char cmd[1024], why[VG_MANIFEST_WHY_LEN];
	double save = secs;

	(void)snprintf(g_img, sizeof g_img, "%s/rootfs.img", where);
	(void)snprintf(cmd, sizeof cmd,
		       "head -c %zu /dev/urandom > '%s' && cat '%s' > /dev/null", g_img_mib << 20,
		       g_img, g_img);
	g_man = calloc(1, sizeof *g_man);
	if (!g_man || system(cmd) != 0 ||
	    vg_manifest_add(g_man, "rootfs", "1", g_img, g_img, 0, NULL, why) != VG_OK ||
	    vg_manifest_add(g_man, "rootfs-m", "1", g_img, g_img, 1u << 20, NULL, why) != VG_OK)
		bench_die("platform bench setup");
	/* One pass per round is the figure: a verification is one pass. */
	secs = 0;
	figure("platform verify, 256 MiB, SHA-256 (MiB/s)", m_measure_sha, run_sha256sum,
	       "sha256sum");
	figure("platform verify, 256 MiB, Merkle (MiB/s)", m_measure_merkle, run_sha256sum,
	       "sha256sum");
	secs = save;
	(void)unlink(g_img);
	free(g_man);
}

/* ---- wrappers binding the arguments of one run ---- */
static const char *g_sock;
static char g_raw[300], g_raw_log1[300], g_raw_log64[300], g_audit_state[300];
static int g_audit_round;
static double m_inproc_p256(void)
{
	return inproc_sign("p256");
}
static double m_inproc_ed(void)
{
	return inproc_sign("ed25519");
}
static double m_echo_4(void)
{
	return raw_server(4, 1, NULL);
}
static double minsigner(int servers)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	double r;

	if (!k)
		bench_die("keygen");
	r = raw_server(4, servers, k);
	EVP_PKEY_free(k);
	return r;
}
static double m_minsigner_4(void)
{
	return minsigner(1);
}
static double m_minsigner2_4(void)
{
	return minsigner(2);
}
static double m_ping_4(void)
{
	return run_clients(4, store_loop, g_sock, "status");
}
static double m_svc_p256_1(void)
{
	return service_sign(g_sock, "p", 1);
}
static double m_svc_p256_4(void)
{
	return service_sign(g_sock, "p", 4);
}
static double m_svc_ed_1(void)
{
	return service_sign(g_sock, "e", 1);
}
static double m_svc_ed_4(void)
{
	return service_sign(g_sock, "e", 4);
}
static double m_attest_1(void)
{
	return run_clients(1, attest_loop, g_sock, NULL);
}
static double m_attest_4(void)
{
	return run_clients(4, attest_loop, g_sock, NULL);
}
static double m_raw_put(void)
{
	return raw_sqlite_put(g_raw);
}
/* What one client can reach at best: a raw SQLite put plus one IPC round
 * trip (a status request), both measured now. */
static double m_raw_put_rtt(void)
{
	double raw = raw_sqlite_put(g_raw);
	double ping = run_clients(1, store_loop, g_sock, "status");

	return 1.0 / (1.0 / raw + 1.0 / ping);
}
static double m_raw_get(void)
{
	return raw_sqlite_get(g_raw);
}
static double m_svc_put(void)
{
	return service_store(g_sock, 1, 1);
}
static double m_svc_put4(void)
{
	return service_store(g_sock, 1, 4);
}
static double m_svc_get(void)
{
	return service_store(g_sock, 0, 1);
}
static double m_raw_ins1(void)
{
	return raw_sqlite_insert(g_raw_log1, 1);
}
static double m_raw_ins64(void)
{
	return raw_sqlite_insert(g_raw_log64, 64);
}
static double m_audit(void)
{
	char p[320];
	(void)snprintf(p, sizeof p, "%s.%d", g_audit_state, g_audit_round++);
	return audit_appends(p);
}

int main(int argc, char **argv)
{
	double t_first, t_warm = 0;
	vg_client *c = NULL;
	struct mem m;

	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc < 2)
		bench_die("usage: vg_bench VOXGUARDD [SECONDS]");
	if (argc > 2)
		secs = atof(argv[2]);
	{
		/* BENCH_EVENT_LOOPS=N: the service's event_loops (default: its
		 * own, one per core), to compare one loop with several. */
		char extra[64] = "";
		if (getenv("BENCH_EVENT_LOOPS"))
			(void)snprintf(extra, sizeof extra, "event_loops = %u\n",
				       (unsigned)strtoul(getenv("BENCH_EVENT_LOOPS"), NULL, 10));
		/* Provisioning is an admin operation. */
		bench_svc_prepare(&svc, "vgbench", extra, BENCH_SVC_ADMIN);
	}
	memset(value, 0xa5, sizeof value);

	(void)printf("voxguard benchmarks (%.1f s per figure; state dir on %s)\n\n", secs, svc.dir);
	t_first = bench_svc_start(&svc, argv[1]);
	if (vg_client_open(&c, svc.sock) != VG_OK ||
	    vg_key_create(c, "p", VG_KEY_P256, 0) != VG_OK ||
	    vg_key_create(c, "e", VG_KEY_ED25519, 0) != VG_OK)
		bench_die("setup keys");
	{
		vg_provision_req req = {.oem = "Acme", .model = "Speaker", .hw_rev = "1"};
		vg_device_identity id;
		char code[VG_SETUP_CODE_SIZE];
		BIO *b;
		EVP_PKEY *pk;
		int dl;
		if (vg_device_provision(c, &req, code) != VG_OK ||
		    vg_admin_setup(c, code, (const uint8_t *)bench_pw, sizeof bench_pw - 1,
				   g_tok) != VG_OK ||
		    vg_device_identity_get(c, &id) != VG_OK ||
		    vg_attest(c, nonce, sizeof nonce, &g_token, &g_token_len) != VG_OK)
			bench_die("provision and attest");
		b = BIO_new_mem_buf(id.attestation_key_pem, -1);
		pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
		g_pub = NULL;
		if (!pk || (dl = i2d_PUBKEY(pk, &g_pub)) <= 0)
			bench_die("attestation key");
		g_pub_len = (size_t)dl;
		EVP_PKEY_free(pk);
		BIO_free(b);
	}
	vg_client_close(&c);

	(void)printf("%-44s %13s   %-22s %13s   (median of %d alternating rounds)\n", "voxguard",
		     "", "baseline (same run)", "", ROUNDS);
	g_sock = svc.sock;
	figure("P-256 sign, service, 1 client", m_svc_p256_1, m_inproc_p256, "in-process OpenSSL");
	figure("P-256 sign, service, 4 clients", m_svc_p256_4, m_inproc_p256, "in-process OpenSSL");
	/* The floor of the two rows above on this machine: a request and
	 * its reply between processes, with no voxguard code and no
	 * signature, against the same in-process signature. */
	figure("sign floor: raw unix echo, 4 clients", m_echo_4, m_inproc_p256,
	       "in-process OpenSSL");
	figure("sign floor: status round trip, 4 clients", m_ping_4, m_echo_4, "raw unix echo");
	/* The best any out-of-process signer does here, and the service
	 * against it: what voxguard itself adds to a signature. */
	figure("sign floor: minimal signer, 4 clients", m_minsigner_4, m_inproc_p256,
	       "in-process OpenSSL");
	figure("sign floor: minimal signer x2, 4 clients", m_minsigner2_4, m_inproc_p256,
	       "in-process OpenSSL");
	figure("P-256 sign, service, 4 clients", m_svc_p256_4, m_minsigner_4,
	       "minimal signer");
	figure("P-256 sign, service, 4 clients", m_svc_p256_4, m_minsigner2_4,
	       "minimal signer x2");
	figure("Ed25519 sign, service, 1 client", m_svc_ed_1, m_inproc_ed, "in-process OpenSSL");
	figure("Ed25519 sign, service, 4 clients", m_svc_ed_4, m_inproc_ed, "in-process OpenSSL");
	figure("attestation token issue, service, 1 client", m_attest_1, m_inproc_p256,
	       "in-process OpenSSL");
	figure("attestation token issue, service, 4 clients", m_attest_4, m_inproc_p256,
	       "in-process OpenSSL");
	figure("attestation token verify (library)", token_verify, inproc_verify,
	       "OpenSSL ECDSA verify");
	{
		double lo = login_ms(svc.sock, 10), base = scrypt_ms(10);
		(void)printf("%-44s %10.1f ms   %-22s %10.1f ms   ratio %5.2f\n",
			     "admin login latency (scrypt N=2^15)", lo, "in-process scrypt", base,
			     lo / base);
	}
	(void)snprintf(g_raw, sizeof g_raw, "%s/raw.db", svc.dir);
	figure("store put (durable, 256 B), 1 client", m_svc_put, m_raw_put, "raw SQLite WAL+FULL");
	figure("store put (durable, 256 B), 1 client", m_svc_put, m_raw_put_rtt,
	       "raw SQLite + 1 IPC trip");
	figure("store put (durable, 256 B), 4 clients", m_svc_put4, m_raw_put,
	       "raw SQLite WAL+FULL");
	figure("store get (256 B)", m_svc_get, m_raw_get, "raw SQLite SELECT");
	(void)snprintf(g_audit_state, sizeof g_audit_state, "%s/audit-state", svc.dir);
	(void)snprintf(g_raw_log1, sizeof g_raw_log1, "%s/raw-log1.db", svc.dir);
	(void)snprintf(g_raw_log64, sizeof g_raw_log64, "%s/raw-log64.db", svc.dir);
	figure("audit append (group commit 64)", m_audit, m_raw_ins1, "raw insert, 1 per txn");
	figure("audit append (group commit 64)", m_audit, m_raw_ins64, "raw insert, 64 per txn");

	{
		const char *only = getenv("BENCH_ONLY");
		if (!only || !*only || strstr("platform verify", only))
			bench_platform(svc.dir);
	}

	/* Idle RSS: after the work above settles. */
	(void)sleep(1);
	m = mem_of(svc.pid);
	bench_svc_stop(&svc);
	for (int i = 0; i < 5; i++) {
		t_warm += bench_svc_start(&svc, argv[1]);
		if (i == 4) {
			(void)usleep(200000);
			(void)printf("\n");
			print_mem("idle after the benchmarks", m);
			struct mem w = mem_of(svc.pid), fl = floor_mem(argv[1]);
			print_mem("idle after a warm start", w);
			(void)printf("baseline: a minimal OpenSSL 3 process (bench/rss_floor): RSS %ld "
				     "KiB (PSS %ld), its own %ld KiB\n",
				     fl.rss, fl.pss, fl.anon);
			if (fl.rss > 0)
				(void)printf("%-44s %10ld KiB   %-22s %10ld KiB   ratio %5.2f "
					     "(+%ld KiB)\n",
					     "idle RSS, warm start", w.rss,
					     "minimal OpenSSL proc", fl.rss,
					     (double)w.rss / (double)fl.rss, w.rss - fl.rss);
		}
		bench_svc_stop(&svc);
	}
	(void)printf(
	    "service start-up (exec to ready): first start %.1f ms (creates the audit key), "
	    "warm start %.1f ms\n",
	    t_first * 1e3, t_warm / 5 * 1e3);
	bench_svc_cleanup(&svc);
	return 0;
}
