/*
 * vg_load - load for the hostile-neighbour stress test and benchmark
 * (SFR 4.2.10; tests/integration/test_sfr4210_hostile_load.sh, make bench).
 * Uses libvoxguard like any application.
 *
 *   vg_load SOCKET well SECS       a well-behaved voice application: status,
 *                                  a small record put and get, a signature,
 *                                  in turn, on one connection; prints
 *                                  "requests N failed F rate R/s p50 A us
 *                                  p99 B us max C us" and the first failure
 *   vg_load SOCKET logout SECS     an audit flood: admin logout, again and
 *                                  again (reconnecting if closed)
 *   vg_load SOCKET fill SECS       a storage fill: 1 MiB records, new names,
 *                                  until refused, then again and again
 *   vg_load SOCKET signers K SECS  K connections signing as fast as they can
 *                                  (CPU-heavy work on the pool)
 *   vg_load SOCKET audit K N       N audited requests in all over K connections:
 *                                  deletions of a key that does not exist, under
 *                                  a name of VG_MAX_NAME_LEN characters, each one
 *                                  "key.delete" failure record with the name in
 *                                  its detail (the cheapest way to fill the
 *                                  audit log: test_sfr429_log_export_paged.sh);
 *                                  prints "sent N not-found F other O"
 * Each hostile mode prints "sent N refused R" at the end.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "voxguard/voxguard.h"

static uint64_t now_us(void)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static vg_client *dial(const char *sock)
{
	vg_client *c = NULL;

	if (vg_client_open(&c, sock) != VG_OK)
		return NULL;
	return c;
}

static int well(const char *sock, int secs)
{
	vg_client *c = dial(sock);
	size_t cap = 1u << 20, n = 0, failed = 0;
	uint64_t *lat = malloc(cap * sizeof *lat), end, start;
	uint8_t msg[32] = {1}, *out = NULL, *sig = NULL;
	size_t out_len = 0, sig_len = 0;
	char first[256] = "";

	if (!c || !lat) {
		(void)printf("cannot connect\n");
		return 2;
	}
	VG_IGNORE(vg_key_create(c, "load", VG_KEY_P256, VG_USE_SIGN | VG_USE_VERIFY));
	start = now_us();
	end = start + (uint64_t)secs * 1000000u;
	for (unsigned i = 0; now_us() < end && n < cap; i++) {
		uint64_t t0 = now_us();
		vg_status st;
		vg_rc rc;
		switch (i % 4) {
		case 0:
			rc = vg_status_get(c, &st);
			if (rc == VG_OK)
				vg_status_free(&st);
			break;
		case 1:
			rc = vg_store_put(c, "load", msg, sizeof msg);
			break;
		case 2:
			rc = vg_store_get(c, "load", &out, &out_len);
			vg_free(out, out_len);
			out = NULL;
			break;
		default:
			rc = vg_key_sign(c, "load", msg, sizeof msg, &sig, &sig_len);
			free(sig);
			sig = NULL;
			break;
		}
		lat[n++] = now_us() - t0;
		if (rc != VG_OK) {
			if (!failed)
				(void)snprintf(first, sizeof first, "%s: %s", vg_rc_str(rc),
					       vg_client_last_error(c));
			failed++;
			/* The service closes a connection after some errors. */
			vg_client_close(&c);
			c = dial(sock);
			if (!c)
				break;
		}
	}
	{
		double el = (double)(now_us() - start) / 1e6;
		qsort(lat, n, sizeof *lat, cmp_u64);
		(void)printf("requests %zu failed %zu rate %.0f/s p50 %llu us p99 %llu us max %llu us\n",
			     n, failed, n / el, n ? (unsigned long long)lat[n / 2] : 0ull,
			     n ? (unsigned long long)lat[n * 99 / 100] : 0ull,
			     n ? (unsigned long long)lat[n - 1] : 0ull);
		if (failed)
			(void)printf("first failure: %s\n", first);
	}
	vg_client_close(&c);
	free(lat);
	return 0;
}

static int hostile(const char *sock, const char *mode, int secs)
{
	uint64_t end = now_us() + (uint64_t)secs * 1000000u;
	unsigned long sent = 0, refused = 0, name = 0;
	vg_client *c = NULL;
	uint8_t *big = calloc(1, 1u << 20);

	if (!big)
		return 2;
	while (now_us() < end) {
		vg_rc rc;
		char rec[32];
		if (!c && !(c = dial(sock))) {
			refused++;
			continue;
		}
		if (strcmp(mode, "logout") == 0) {
			rc = vg_admin_logout(c);
		} else {
			(void)snprintf(rec, sizeof rec, "fill%lu", name++ % 100000);
			big[0] = (uint8_t)name;
			rc = vg_store_put(c, rec, big, 1u << 20);
			if (rc == VG_ERR_QUOTA)
				name = 0; /* refused: overwrite the old ones again */
		}
		sent++;
		if (rc != VG_OK) {
			refused++;
			vg_client_close(&c);
		}
	}
	vg_client_close(&c);
	free(big);
	(void)printf("sent %lu refused %lu\n", sent, refused);
	return 0;
}

struct signer {
	const char *sock;
	uint64_t end;
	unsigned long sent, refused;
};

static void *signer(void *arg)
{
	struct signer *s = arg;
	vg_client *c = dial(s->sock);
	uint8_t msg[32] = {2}, *sig = NULL;
	size_t sl = 0;

	if (c)
		VG_IGNORE(vg_key_create(c, "hog", VG_KEY_P256, VG_USE_SIGN));
	while (now_us() < s->end) {
		if (!c && !(c = dial(s->sock))) {
			s->refused++;
			continue;
		}
		s->sent++;
		if (vg_key_sign(c, "hog", msg, sizeof msg, &sig, &sl) != VG_OK) {
			s->refused++;
			vg_client_close(&c);
		}
		free(sig);
		sig = NULL;
	}
	vg_client_close(&c);
	return NULL;
}

static int signers(const char *sock, int k, int secs)
{
	pthread_t th[64];
	struct signer s[64];
	unsigned long sent = 0, refused = 0;

	if (k < 1 || k > 64)
		return 2;
	for (int i = 0; i < k; i++) {
		s[i] = (struct signer){.sock = sock, .end = now_us() + (uint64_t)secs * 1000000u};
		if (pthread_create(&th[i], NULL, signer, &s[i]) != 0)
			return 2;
	}
	for (int i = 0; i < k; i++) {
		(void)pthread_join(th[i], NULL);
		sent += s[i].sent;
		refused += s[i].refused;
	}
	(void)printf("sent %lu refused %lu\n", sent, refused);
	return 0;
}

struct auditor {
	const char *sock;
	int id;
	pthread_mutex_t *lock;
	unsigned long *left; /* requests still to send, shared */
	unsigned long sent, not_found, other;
};

static void *auditor(void *arg)
{
	struct auditor *a = arg;
	char name[VG_MAX_NAME_LEN + 1];
	vg_client *c = dial(a->sock);

	/* "audit-fill-", then the connection's letter up to the longest name
	 * (only the detail's size matters). */
	memset(name, 'a' + a->id % 26, VG_MAX_NAME_LEN);
	memcpy(name, "audit-fill-", 11);
	name[VG_MAX_NAME_LEN] = '\0';
	for (;;) {
		vg_rc rc;
		(void)pthread_mutex_lock(a->lock);
		if (*a->left == 0) {
			(void)pthread_mutex_unlock(a->lock);
			break;
		}
		(*a->left)--;
		(void)pthread_mutex_unlock(a->lock);
		if (!c && !(c = dial(a->sock))) {
			a->other++;
			continue;
		}
		rc = vg_key_delete(c, name);
		a->sent++;
		if (rc == VG_ERR_NOT_FOUND) {
			a->not_found++;
		} else {
			a->other++;
			vg_client_close(&c);
		}
	}
	vg_client_close(&c);
	return NULL;
}

static int audit_fill(const char *sock, int k, unsigned long n)
{
	pthread_t th[64];
	struct auditor a[64];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	unsigned long left = n, sent = 0, not_found = 0, other = 0;

	if (k < 1 || k > 64)
		return 2;
	for (int i = 0; i < k; i++) {
		a[i] = (struct auditor){.sock = sock, .id = i, .lock = &lock, .left = &left};
		if (pthread_create(&th[i], NULL, auditor, &a[i]) != 0)
			return 2;
	}
	for (int i = 0; i < k; i++) {
		(void)pthread_join(th[i], NULL);
		sent += a[i].sent;
		not_found += a[i].not_found;
		other += a[i].other;
	}
	(void)printf("sent %lu not-found %lu other %lu\n", sent, not_found, other);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[2], "well") == 0)
		return well(argv[1], atoi(argv[3]));
	if (argc == 4 && (strcmp(argv[2], "logout") == 0 || strcmp(argv[2], "fill") == 0))
		return hostile(argv[1], argv[2], atoi(argv[3]));
	if (argc == 5 && strcmp(argv[2], "signers") == 0)
		return signers(argv[1], atoi(argv[3]), atoi(argv[4]));
	if (argc == 5 && strcmp(argv[2], "audit") == 0)
		return audit_fill(argv[1], atoi(argv[3]), strtoul(argv[4], NULL, 10));
	(void)fprintf(stderr, "usage: vg_load SOCKET well|logout|fill SECS | signers K SECS | "
			      "audit K N\n");
	return 2;
}
