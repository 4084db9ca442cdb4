/*
 * util.h - small helpers shared by every module: wiping secrets, locked
 * secret memory, durable file writes, hex, time.
 */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Deliberately discards a warn_unused_result value (GCC ignores (void)). */
#define VG_IGNORE(x)     \
	do {             \
		if (x) { \
		}        \
	} while (0)

/* Wipes n bytes at p in a way the compiler cannot elide. NULL is fine. */
void vg_wipe(void *p, size_t n);

/* Secret memory, zeroed: OpenSSL's secure heap (locked, not in core dumps)
 * once vg_secure_heap_init() ran, ordinary memory otherwise; wiped on free. */
void vg_secure_heap_init(size_t size);
void *vg_secret_alloc(size_t n);
void vg_secret_free(void *p, size_t n);

/* Reads a whole file (at most max bytes) into a malloc'ed buffer.
 * VG_ERR_NOT_FOUND (absent), VG_ERR_DENIED (EACCES, EPERM: the caller may
 * not read it), VG_ERR_TOO_LARGE, VG_ERR_IO. */
VG_NODISCARD vg_rc vg_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Reads all of fd (at most max bytes). */
VG_NODISCARD vg_rc vg_read_fd(int fd, size_t max, uint8_t **out, size_t *len);
/* Reads exactly len bytes at off: VG_OK, VG_ERR_INTEGRITY when the file
 * ends first (it is shorter than it should be), VG_ERR_IO on an error. */
VG_NODISCARD vg_rc vg_pread_all(int fd, void *buf, size_t len, uint64_t off);
/* Writes all of buf at off, retrying on EINTR and short writes. */
VG_NODISCARD vg_rc vg_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Writes all of buf to fd, retrying on EINTR and short writes. */
VG_NODISCARD vg_rc vg_write_all(int fd, const void *buf, size_t len);
/* Durable, atomic replace: write a unique temporary (mkostemp, created
 * exclusively, then given `mode`), fsync, rename, fsync the directory. */
VG_NODISCARD vg_rc vg_write_file_atomic(const char *path, const void *buf, size_t len,
					unsigned mode);
/* The one "write all, fsync, close, rename" of vg_write_file_atomic and the
 * CLI's output files. fd is a file the caller created exclusively as `tmp`
 * in the directory dirfd (AT_FDCWD: paths as they are); it is closed
 * whatever happens. It is given `mode`, written whole and fsync'ed; then,
 * when `to` is not NULL, tmp is renamed over `to` in the same directory.
 * On any failure tmp is removed. The directory is not fsync'ed: that is
 * the caller's (vg_fsync_dir_of, fsync(dirfd)). VG_OK or VG_ERR_IO. */
VG_NODISCARD vg_rc vg_write_commit_at(int fd, const void *buf, size_t len, unsigned mode, int dirfd,
				      const char *tmp, const char *to);
/* The directory part of path into dir (cap bytes): "." for a bare name,
 * "/" for a name in the root. false when it does not fit. */
VG_NODISCARD bool vg_dir_of(const char *path, char *dir, size_t cap);
/* fsync the directory that contains path. */
VG_NODISCARD vg_rc vg_fsync_dir_of(const char *path);

/* Lower-case hex; out must hold 2*len+1. */
void vg_hex_encode(const uint8_t *in, size_t len, char *out);
/* Strict hex decode; returns false on odd length or a bad digit. */
bool vg_hex_decode(const char *in, uint8_t *out, size_t out_cap, size_t *out_len);

/* Wall-clock time and whether the kernel reports it synchronized (NTP). */
uint64_t vg_time_now(bool *synchronized);
/* Monotonic milliseconds. */
uint64_t vg_mono_ms(void);

/* A token bucket, in thousandths of a token: refilled at `rate` tokens per
 * second (= thousandths per millisecond) up to burst_milli. A holder may
 * take more than it holds when it lets the bucket go negative (a debt,
 * repaid by the refill), so that one large take is allowed and the
 * average rate still holds. rate > 0. */
typedef struct vg_tbucket {
	int64_t milli;
	uint64_t last_ms; /* the last refill, monotonic */
} vg_tbucket;
void vg_tbucket_refill(vg_tbucket *b, uint64_t now_ms, uint64_t rate, int64_t burst_milli);

/* A name for keys and records: 1..VG_MAX_NAME_LEN bytes of [A-Za-z0-9._-],
 * not starting with '.'. */
bool vg_name_valid(const char *name, size_t len);

/* mkdir -p: path and its missing parents (mode for those it creates);
 * VG_ERR_IO if one cannot be made or path is not a directory. */
VG_NODISCARD vg_rc vg_mkdirs(const char *path, unsigned mode);

/* A failure's one-line reason: formats into why (cap bytes; nothing when
 * why is NULL or cap is 0) and returns rc, so that `return vg_why(why,
 * cap, VG_ERR_..., "...", ...)` reports and fails in one step. */
__attribute__((format(printf, 4, 5))) vg_rc vg_why(char *why, size_t cap, vg_rc rc,
						   const char *fmt, ...);

#endif
