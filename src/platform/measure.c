/*
 * measure.c - digests of platform components (contract in measure.h).
 */
#include "platform/measure.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define READ_CHUNK (1u << 20)

#define say(why, ...) (void)vg_why(why, VG_MEASURE_WHY_LEN, VG_OK, __VA_ARGS__)

/* Opens path and checks it holds an image of `size` bytes (see measure.h);
 * size UINT64_MAX: any size, returned in *actual. */
static vg_rc open_image(const char *path, uint64_t size, int *fd_out, uint64_t *actual, char *why)
{
	struct stat st;
	uint64_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int e = errno;
		say(why, "%s: %s", path, strerror(e));
		return e == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		(void)close(fd);
		say(why, "%s: cannot stat", path);
		return VG_ERR_IO;
	}
	if (S_ISREG(st.st_mode)) {
		have = (uint64_t)st.st_size;
		if (size != UINT64_MAX && have != size) {
			(void)close(fd);
			say(why, "%s: %" PRIu64 " bytes, the manifest says %" PRIu64, path, have,
			    size);
			return VG_ERR_INTEGRITY;
		}
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &have) != 0) {
			(void)close(fd);
			say(why, "%s: cannot read the block device's size", path);
			return VG_ERR_IO;
		}
		if (size != UINT64_MAX && have < size) {
			(void)close(fd);
			say(why, "%s: device of %" PRIu64 " bytes, smaller than the image (%" PRIu64 ")",
			    path, have, size);
			return VG_ERR_INTEGRITY;
		}
	} else {
		(void)close(fd);
		say(why, "%s: not a regular file or block device", path);
		return VG_ERR_INVALID;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*fd_out = fd;
	if (actual)
		*actual = have;
	return VG_OK;
}

vg_rc vg_measure_size(const char *path, uint64_t *size, char *why)
{
	int fd = -1;
	vg_rc rc = open_image(path, UINT64_MAX, &fd, size, why);

	if (rc == VG_OK)
		(void)close(fd);
	return rc;
}

vg_rc vg_measure_sha256(const char *path, uint64_t size, uint8_t out[32], char *why)
{
	EVP_MD_CTX *c = NULL;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	unsigned int dl = 0;
	int fd = -1;
	vg_rc rc = open_image(path, size, &fd, NULL, why);

	if (rc != VG_OK)
		return rc;
	buf = malloc(READ_CHUNK);
	c = EVP_MD_CTX_new();
	if (!buf || !c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		rc = VG_ERR_NOMEM;
	while (rc == VG_OK && off < size) {
		size_t n = size - off < READ_CHUNK ? (size_t)(size - off) : READ_CHUNK;
		rc = vg_pread_all(fd, buf, n, off);
		if (rc == VG_OK && EVP_DigestUpdate(c, buf, n) != 1)
			rc = VG_ERR_INTERNAL;
		if (rc == VG_OK)
			off += n;
	}
	if (rc == VG_OK && EVP_DigestFinal_ex(c, out, &dl) != 1)
		rc = VG_ERR_INTERNAL;
	if (rc == VG_ERR_INTEGRITY)
		say(why, "%s: shorter than it was a moment ago (%" PRIu64 " of %" PRIu64 " bytes)",
		    path, off, size);
	else if (rc == VG_ERR_IO)
		say(why, "%s: read error at byte %" PRIu64, path, off);
	EVP_MD_CTX_free(c);
	free(buf);
	(void)close(fd);
	return rc;
}

/* ---- Merkle tree ---- */

static vg_rc hash2(uint8_t tag, const uint8_t *a, size_t al, const uint8_t *b, size_t bl,
		   uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int dl = 0;
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(c, &tag, 1) == 1 && (!al || EVP_DigestUpdate(c, a, al) == 1) &&
		 (!bl || EVP_DigestUpdate(c, b, bl) == 1) && EVP_DigestFinal_ex(c, out, &dl) == 1;

	EVP_MD_CTX_free(c);
	return ok ? VG_OK : VG_ERR_INTERNAL;
}

static bool merkle_params_ok(uint64_t size, uint32_t bs, uint64_t *leaves)
{
	if (bs < VG_MERKLE_MIN_BLOCK || bs > VG_MERKLE_MAX_BLOCK || (bs & (bs - 1)))
		return false;
	*leaves = size == 0 ? 1 : (size - 1) / bs + 1;
	return *leaves <= VG_MERKLE_MAX_LEAVES;
}

/* Reduces n leaf hashes in place to the root. */
static vg_rc merkle_reduce(uint8_t (*h)[32], uint64_t n, uint8_t root[32])
{
	while (n > 1) {
		uint64_t m = 0;
		for (uint64_t i = 0; i + 1 < n; i += 2) {
			uint8_t pair[64];
			memcpy(pair, h[i], 32);
			memcpy(pair + 32, h[i + 1], 32);
			if (hash2(0x01, pair, 64, NULL, 0, h[m++]) != VG_OK)
				return VG_ERR_INTERNAL;
		}
		if (n & 1)
			memmove(h[m++], h[n - 1], 32);
		n = m;
	}
	memcpy(root, h[0], 32);
	return VG_OK;
}

vg_rc vg_merkle_buffer(const uint8_t *p, size_t len, uint32_t bs, uint8_t root[32])
{
	uint64_t n;
	uint8_t (*h)[32];
	vg_rc rc = VG_OK;

	if (!merkle_params_ok(len, bs, &n))
		return VG_ERR_INVALID;
	h = calloc((size_t)n, 32);
	if (!h)
		return VG_ERR_NOMEM;
	for (uint64_t i = 0; rc == VG_OK && i < n; i++) {
		size_t off = (size_t)(i * bs), l = len - off < bs ? len - off : bs;
		rc = hash2(0x00, p + off, len ? l : 0, NULL, 0, h[i]);
	}
	if (rc == VG_OK)
		rc = merkle_reduce(h, n, root);
	free(h);
	return rc;
}

struct worker {
	pthread_t th;
	int fd;
	uint64_t size, first, step, leaves;
	uint32_t bs;
	uint8_t (*h)[32];
	vg_rc rc;
	uint64_t bad_off;
};

static void *leaf_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = malloc(w->bs);

	w->rc = buf ? VG_OK : VG_ERR_NOMEM;
	for (uint64_t i = w->first; w->rc == VG_OK && i < w->leaves; i += w->step) {
		uint64_t off = i * w->bs;
		size_t l = w->size - off < w->bs ? (size_t)(w->size - off) : w->bs;
		if (w->size == 0)
			l = 0;
		w->rc = vg_pread_all(w->fd, buf, l, off);
		if (w->rc == VG_OK)
			w->rc = hash2(0x00, buf, l, NULL, 0, w->h[i]);
		else
			w->bad_off = off;
	}
	free(buf);
	return NULL;
}

vg_rc vg_measure_merkle(const char *path, uint64_t size, uint32_t bs, unsigned threads,
			uint8_t root[32], char *why)
{
	struct worker w[4];
	uint64_t n;
	uint8_t (*h)[32];
	unsigned started = 0;
	int fd = -1;
	vg_rc rc;

	if (!merkle_params_ok(size, bs, &n)) {
		say(why, "%s: bad Merkle parameters (size %" PRIu64 ", block %" PRIu32 ")", path,
		    size, bs);
		return VG_ERR_INVALID;
	}
	rc = open_image(path, size, &fd, NULL, why);
	if (rc != VG_OK)
		return rc;
	if (threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
	}
	if (threads > 4)
		threads = 4;
	if (threads > n)
		threads = (unsigned)n;
	h = calloc((size_t)n, 32);
	if (!h) {
		(void)close(fd);
		return VG_ERR_NOMEM;
	}
	/* Interleaved blocks: the threads read the image front to back
	 * together, which keeps the kernel's readahead sequential. */
	for (unsigned t = 0; t < threads; t++) {
		w[t] = (struct worker){.fd = fd, .size = size, .first = t, .step = threads,
				       .leaves = n, .bs = bs, .h = h, .rc = VG_OK};
		if (t == 0 || pthread_create(&w[t].th, NULL, leaf_worker, &w[t]) == 0)
			started++;
		else
			break;
	}
	if (started < threads) {
		/* Could not start them all: redo with what runs, one step each. */
		for (unsigned t = 1; t < started; t++)
			(void)pthread_join(w[t].th, NULL);
		started = 1;
		w[0].step = 1;
	}
	(void)leaf_worker(&w[0]);
	for (unsigned t = 1; t < started; t++)
		(void)pthread_join(w[t].th, NULL);
	for (unsigned t = 0; t < started && rc == VG_OK; t++) {
		rc = w[t].rc;
		if (rc == VG_ERR_INTEGRITY)
			say(why, "%s: shorter than it was a moment ago (at byte %" PRIu64
				 " of %" PRIu64 ")",
			    path, w[t].bad_off, size);
		else if (rc == VG_ERR_IO)
			say(why, "%s: read error at byte %" PRIu64, path, w[t].bad_off);
	}
	if (rc == VG_OK)
		rc = merkle_reduce(h, n, root);
	free(h);
	(void)close(fd);
	return rc;
}
