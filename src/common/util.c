/* util.c - see util.h */
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

void vg_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void vg_secure_heap_init(size_t size)
{
	if (!CRYPTO_secure_malloc_initialized())
		(void)CRYPTO_secure_malloc_init(size, 32);
}

void *vg_secret_alloc(size_t n)
{
	/* OpenSSL's secure heap when the service initialised one (locked,
	 * MADV_DONTDUMP, and where OpenSSL keeps private BIGNUMs too);
	 * otherwise ordinary memory, still wiped on free. */
	return OPENSSL_secure_zalloc(n ? n : 1);
}

void vg_secret_free(void *p, size_t n)
{
	if (p)
		OPENSSL_secure_clear_free(p, n ? n : 1);
}

vg_rc vg_read_fd(int fd, size_t max, uint8_t **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);

	*out = NULL;
	*len = 0;
	if (!buf)
		return VG_ERR_NOMEM;
	for (;;) {
		if (n == cap) {
			if (cap >= max + 1) {
				vg_wipe(buf, n);
				free(buf);
				return VG_ERR_TOO_LARGE;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			uint8_t *nb = malloc(ncap);
			if (!nb) {
				vg_wipe(buf, n);
				free(buf);
				return VG_ERR_NOMEM;
			}
			memcpy(nb, buf, n);
			vg_wipe(buf, n);
			free(buf);
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			vg_wipe(buf, n);
			free(buf);
			return VG_ERR_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			vg_wipe(buf, n);
			free(buf);
			return VG_ERR_TOO_LARGE;
		}
	}
	*out = buf;
	*len = n;
	return VG_OK;
}

vg_rc vg_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	vg_rc rc;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return errno == ENOENT			    ? VG_ERR_NOT_FOUND
		       : errno == EACCES || errno == EPERM ? VG_ERR_DENIED
							    : VG_ERR_IO;
	rc = vg_read_fd(fd, max, out, len);
	(void)close(fd);
	return rc;
}

vg_rc vg_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return VG_ERR_IO;
		if (r == 0)
			return VG_ERR_INTEGRITY;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return VG_OK;
}

vg_rc vg_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VG_ERR_IO;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return VG_OK;
}

vg_rc vg_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VG_ERR_IO;
		p += w;
		len -= (size_t)w;
	}
	return VG_OK;
}

bool vg_dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/'), *from = path;
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!slash || slash == path) {
		from = slash ? "/" : ".";
		n = 1;
	}
	if (n >= cap)
		return false;
	memcpy(dir, from, n);
	dir[n] = '\0';
	return true;
}

vg_rc vg_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd, r;

	if (!vg_dir_of(path, dir, sizeof dir))
		return VG_ERR_INVALID;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return VG_ERR_IO;
	r = fsync(fd);
	(void)close(fd);
	return r == 0 ? VG_OK : VG_ERR_IO;
}

vg_rc vg_write_commit_at(int fd, const void *buf, size_t len, unsigned mode, int dirfd,
			 const char *tmp, const char *to)
{
	vg_rc rc = fchmod(fd, (mode_t)mode) == 0 ? VG_OK : VG_ERR_IO;

	if (rc == VG_OK)
		rc = vg_write_all(fd, buf, len);
	if (rc == VG_OK && fsync(fd) != 0)
		rc = VG_ERR_IO;
	if (close(fd) != 0 && rc == VG_OK)
		rc = VG_ERR_IO;
	if (rc == VG_OK && to && renameat(dirfd, tmp, dirfd, to) != 0)
		rc = VG_ERR_IO;
	if (rc != VG_OK)
		(void)unlinkat(dirfd, tmp, 0);
	return rc;
}

vg_rc vg_write_file_atomic(const char *path, const void *buf, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	int fd;
	vg_rc rc;

	/* A unique, exclusively created temporary beside the target: in a
	 * shared directory nobody can pre-create it to read what we write. */
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp)
		return VG_ERR_INVALID;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return VG_ERR_IO;
	rc = vg_write_commit_at(fd, buf, len, mode, AT_FDCWD, tmp, path);
	return rc != VG_OK ? rc : vg_fsync_dir_of(path);
}

void vg_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool vg_hex_decode(const char *in, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t n = strlen(in);

	if (n % 2 || n / 2 > out_cap)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			vg_wipe(out, i);
			return false;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = n / 2;
	return true;
}

uint64_t vg_time_now(bool *synchronized)
{
	struct timespec ts;

	if (synchronized) {
		struct timex tx = {0};
		/* adjtimex(2) returns TIME_ERROR while the clock is not
		 * synchronized (STA_UNSYNC set), e.g. before NTP has run. */
		int state = adjtimex(&tx);
		*synchronized = state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	}
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t vg_mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void vg_tbucket_refill(vg_tbucket *b, uint64_t now_ms, uint64_t rate, int64_t burst_milli)
{
	if (now_ms > b->last_ms && b->milli < burst_milli) {
		/* dt is capped first (the time to refill from the deepest
		 * debt), so dt * rate cannot overflow */
		uint64_t need = (uint64_t)(burst_milli - b->milli);
		uint64_t dt = now_ms - b->last_ms, full = need / rate + 1;
		uint64_t add = (dt < full ? dt : full) * rate;

		b->milli = add >= need ? burst_milli : b->milli + (int64_t)add;
	}
	b->last_ms = now_ms;
}

bool vg_name_valid(const char *name, size_t len)
{
	if (!name || len == 0 || len > VG_MAX_NAME_LEN || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

vg_rc vg_why(char *why, size_t cap, vg_rc rc, const char *fmt, ...)
{
	va_list ap;

	if (why && cap) {
		va_start(ap, fmt);
		(void)vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

vg_rc vg_mkdirs(const char *path, unsigned mode)
{
	char p[4096];
	struct stat st;

	if (strlen(path) >= sizeof p)
		return VG_ERR_TOO_LARGE;
	strcpy(p, path);
	for (char *s = p + 1;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
			return VG_ERR_IO;
		*s = c;
		if (!c)
			break;
	}
	if (stat(path, &st) != 0)
		return VG_ERR_IO;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return VG_ERR_IO;
	}
	return VG_OK;
}
