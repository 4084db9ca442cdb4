/*
 * helpers.h - shared helpers of the unit tests (header-only, static).
 *
 * Temporary state dirs, whole-file reads and writes, a byte-by-byte search
 * of every file of a dir, raw SQL on a closed database (the attacker's view
 * of the state dir), and the rot -> db -> secstore -> keystore stack that
 * the service builds.
 */
#ifndef VG_TESTS_HELPERS_H
#define VG_TESTS_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "keystore/keystore.h"
#include "rot/rot.h"
#include "storage/db.h"
#include "storage/secstore.h"

#define VGT_PATH 512

/* Every test dir is /tmp/vgunit.XXXXXX; the name must fit in dir[64]. */
static inline int vgt_mkdtemp(char dir[static 64])
{
	strcpy(dir, "/tmp/vgunit.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static inline int vgt_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* rm -rf; only ever called on dirs made by vgt_mkdtemp. */
static inline void vgt_rmrf(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/vgunit.", 12) == 0)
		(void)nftw(dir, vgt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void vgt_path(char out[static VGT_PATH], const char *dir, const char *name)
{
	int n = snprintf(out, VGT_PATH, "%s/%s", dir, name);

	if (n < 0 || n >= VGT_PATH)
		abort(); /* a test's path never is that long */
}

/* Reads a whole file; returns 0 on success. *buf is malloc'ed (free()). An
 * empty file gives a 1-byte buffer and *len 0. */
static inline int vgt_read(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0, r;
	uint8_t *b;

	*buf = NULL;
	*len = 0;
	if (!f)
		return -1;
	b = malloc(cap);
	if (!b) {
		fclose(f);
		return -1;
	}
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				fclose(f);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

static inline int vgt_write(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const uint8_t *p = buf;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd);
}

/* Overwrites len bytes at off of an existing file in place. */
static inline int vgt_pwrite(const char *path, off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = pwrite(fd, buf, len, off);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

static inline int vgt_copy(const char *from, const char *to)
{
	uint8_t *b;
	size_t n;
	struct stat st;
	int r;

	if (stat(from, &st) != 0 || vgt_read(from, &b, &n) != 0)
		return -1;
	r = vgt_write(to, b, n, st.st_mode & 07777);
	free(b);
	return r;
}

static inline bool vgt_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The files of one SQLite database: the file, its WAL and shared memory. */
static const char *const vgt_db_suffixes[] = {"", "-wal", "-shm"};

/* Copies dir/voxguard.db{,-wal,-shm} (those that exist) to dir/<tag>.db*. */
static inline int vgt_db_save(const char *dir, const char *tag)
{
	for (size_t i = 0; i < 3; i++) {
		char from[VGT_PATH], to[VGT_PATH];
		(void)snprintf(from, sizeof from, "%s/%s%s", dir, VG_DB_FILE, vgt_db_suffixes[i]);
		(void)snprintf(to, sizeof to, "%s/%s.save%s", dir, tag, vgt_db_suffixes[i]);
		(void)unlink(to);
		if (vgt_exists(from) && vgt_copy(from, to) != 0)
			return -1;
	}
	return 0;
}

/* Removes the live database files and puts the saved copies in place;
 * the saved copies are kept if keep, else removed. */
static inline int vgt_db_restore(const char *dir, const char *tag, bool keep)
{
	for (size_t i = 0; i < 3; i++) {
		char from[VGT_PATH], to[VGT_PATH];
		(void)snprintf(from, sizeof from, "%s/%s.save%s", dir, tag, vgt_db_suffixes[i]);
		(void)snprintf(to, sizeof to, "%s/%s%s", dir, VG_DB_FILE, vgt_db_suffixes[i]);
		(void)unlink(to);
		if (vgt_exists(from) && (vgt_copy(from, to) != 0 || (!keep && unlink(from) != 0)))
			return -1;
	}
	return 0;
}

static inline void vgt_db_remove(const char *dir)
{
	for (size_t i = 0; i < 3; i++) {
		char p[VGT_PATH];
		(void)snprintf(p, sizeof p, "%s/%s%s", dir, VG_DB_FILE, vgt_db_suffixes[i]);
		(void)unlink(p);
	}
}

/*
 * Counts the regular files under dir (recursively) whose bytes contain
 * needle anywhere; names of the hits go to stderr. -1 on a read error.
 */
static inline int vgt_dir_grep(const char *dir, const void *needle, size_t nlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int hits = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char p[VGT_PATH];
		struct stat st;
		uint8_t *b;
		size_t n;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		vgt_path(p, dir, e->d_name);
		if (lstat(p, &st) != 0) {
			hits = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int h = vgt_dir_grep(p, needle, nlen);
			if (h < 0) {
				hits = -1;
				break;
			}
			hits += h;
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (vgt_read(p, &b, &n) != 0) {
			hits = -1;
			break;
		}
		if (memmem(b, n, needle, nlen)) {
			fprintf(stderr, "  (vgt_dir_grep: found in %s)\n", p);
			hits++;
		}
		free(b);
	}
	closedir(d);
	return hits;
}

/* ---- raw SQL on a closed database: what an attacker with the files can do */

/* Runs sql on the database file, binding blob (if not NULL) to '?1'.
 * Returns the SQLite result code of the last step (SQLITE_DONE on success)
 * or of the failing call. */
static inline int vgt_sql(const char *dbpath, const char *sql, const void *blob, size_t len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int r = sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READWRITE, NULL);

	if (r == SQLITE_OK)
		r = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
	if (r == SQLITE_OK && blob)
		r = sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
	if (r == SQLITE_OK)
		r = sqlite3_step(st);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return r;
}

/* Runs a script of statements; SQLITE_OK on success. */
static inline int vgt_sql_script(const char *dbpath, const char *sql)
{
	sqlite3 *h = NULL;
	int r = sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READWRITE, NULL);

	if (r == SQLITE_OK)
		r = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return r;
}

/* The first column of the first row of sql, as a malloc'ed blob. 0 = ok. */
static inline int vgt_sql_blob(const char *dbpath, const char *sql, uint8_t **out, size_t *len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);
		*out = malloc(n > 0 ? (size_t)n : 1);
		if (*out) {
			if (n > 0)
				memcpy(*out, p, (size_t)n);
			*len = (size_t)(n > 0 ? n : 0);
			rc = 0;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	return rc;
}

/* The first column of the first row of sql as an integer; -1 if none. */
static inline long long vgt_sql_int(const char *dbpath, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* ---- the service's storage stack ---- */

typedef struct vgt_stack {
	char dir[64];
	char db_path[VGT_PATH];
	vg_rot *rot;
	vg_db *db;
	vg_secstore *st;
	vg_keystore *ks;
} vgt_stack;

/* Closes what is open, keeps the dir. */
static inline void vgt_stack_close(vgt_stack *s)
{
	vg_keystore_close(&s->ks);
	vg_secstore_close(&s->st);
	vg_db_close(&s->db);
	vg_rot_close(&s->rot);
}

/* Opens rot, db, secstore and keystore on s->dir, in the service's order.
 * Returns the first error (and leaves the rest closed). */
static inline vg_rc vgt_stack_open(vgt_stack *s)
{
	vg_rc rc;

	vgt_path(s->db_path, s->dir, VG_DB_FILE);
	rc = vg_rot_open(&s->rot, "file", s->dir, NULL);
	if (rc == VG_OK)
		rc = vg_db_open(&s->db, s->db_path, s->rot);
	if (rc == VG_OK)
		rc = vg_secstore_open(&s->st, s->db);
	if (rc == VG_OK)
		rc = vg_keystore_open(&s->ks, s->st);
	if (rc != VG_OK)
		vgt_stack_close(s);
	return rc;
}

/* A fresh temp dir with an open stack; NULL on failure. */
static inline vgt_stack *vgt_stack_new(void)
{
	vgt_stack *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	if (vgt_mkdtemp(s->dir) != 0) {
		free(s);
		return NULL;
	}
	if (vgt_stack_open(s) != VG_OK) {
		vgt_rmrf(s->dir);
		free(s);
		return NULL;
	}
	return s;
}

static inline void vgt_stack_free(vgt_stack *s)
{
	if (!s)
		return;
	vgt_stack_close(s);
	vgt_rmrf(s->dir);
	free(s);
}

/* Closes and reopens the whole stack (a service restart). */
static inline vg_rc vgt_stack_reopen(vgt_stack *s)
{
	vgt_stack_close(s);
	return vgt_stack_open(s);
}

/* cmocka fixtures: a fresh stack (rot, db, store, keystore) per test. */
static inline int vgt_stack_setup(void **state)
{
	vgt_stack *s = vgt_stack_new();

	*state = s;
	return s ? 0 : -1;
}

static inline int vgt_stack_teardown(void **state)
{
	vgt_stack_free(*state);
	return 0;
}

/* ---- outside keys: what an OEM or a companion app does with its key ---- */

/* Signs msg as voxguard expects: ECDSA over SHA-256 (DER) for EC keys, pure
 * Ed25519 otherwise. sig must hold 256 bytes; returns the length. */
static inline size_t vgt_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t sig[256])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t n = 256;
	const char *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : "SHA256";

	assert_int_equal(EVP_DigestSignInit_ex(c, NULL, md, NULL, NULL, k, NULL), 1);
	assert_int_equal(EVP_DigestSign(c, sig, &n, msg, len), 1);
	EVP_MD_CTX_free(c);
	return n;
}

/* The SubjectPublicKeyInfo DER of k (OPENSSL_free). */
static inline size_t vgt_pub_der(EVP_PKEY *k, uint8_t **der)
{
	int n = i2d_PUBKEY(k, der);

	assert_true(n > 0);
	return (size_t)n;
}

#endif
