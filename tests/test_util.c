/* test_util.c - src/common/util.h */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"

static int mkdir_tmp(void **state)
{
	static char dir[64];

	strcpy(dir, "/tmp/vgunit.XXXXXX");
	*state = mkdtemp(dir);
	return *state ? 0 : -1;
}

static int rm_tmp(void **state)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
	return system(cmd) == 0 ? 0 : -1;
}

/* AVS SDK (protect persistent state): an atomic write replaces the file
 * whole, with the requested mode, and leaves no temporary behind. */
static void test_util_write_file_atomic_replaces(void **state)
{
	char path[128];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;

	(void)snprintf(path, sizeof path, "%s/out", (char *)*state);
	assert_int_equal(vg_write_file_atomic(path, "first", 5, 0600), VG_OK);
	assert_int_equal(vg_write_file_atomic(path, "second", 6, 0600), VG_OK);
	assert_int_equal(vg_read_file(path, 100, &buf, &len), VG_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "second", 6);
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Only the file itself is in the directory. */
	(void)snprintf(path, sizeof path, "ls -A '%s' | grep -qv '^out$'", (char *)*state);
	assert_int_not_equal(system(path), 0);
}

/* SFR 4.2.4 (nothing confidential leaks): a file another user planted at
 * the predictable name PATH.tmp is neither written nor followed. */
static void test_util_write_file_atomic_ignores_planted_tmp(void **state)
{
	char path[128], tmp[140], victim[140];
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd;

	(void)snprintf(path, sizeof path, "%s/secret.out", (char *)*state);
	(void)snprintf(tmp, sizeof tmp, "%s.tmp", path);
	(void)snprintf(victim, sizeof victim, "%s/victim", (char *)*state);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666); /* "the attacker's" file */
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(vg_write_file_atomic(path, "plaintext", 9, 0600), VG_OK);
	assert_int_equal(vg_read_file(tmp, 100, &buf, &len), VG_OK);
	assert_int_equal(len, 0); /* the planted file got nothing */
	free(buf);
	assert_int_equal(access(victim, F_OK), -1);
}

/* The directory part of a path, as vg_fsync_dir_of and the CLI's output
 * files take it; a directory that does not fit is refused, not cut. */
static void test_util_dir_of(void **state)
{
	char d[8];

	(void)state;
	assert_true(vg_dir_of("name", d, sizeof d));
	assert_string_equal(d, ".");
	assert_true(vg_dir_of("/name", d, sizeof d));
	assert_string_equal(d, "/");
	assert_true(vg_dir_of("a/b/name", d, sizeof d));
	assert_string_equal(d, "a/b");
	assert_true(vg_dir_of("/a/", d, sizeof d));
	assert_string_equal(d, "/a");
	assert_false(vg_dir_of("abcdefgh/n", d, sizeof d));
	assert_true(vg_dir_of("abcdefg/n", d, sizeof d));
	assert_string_equal(d, "abcdefg");
}

/* SFR 4.2.4 (durable writes): the shared write-fsync-close-rename gives
 * the file its mode and contents and renames it; in place (no rename) it
 * keeps the name; a failed rename leaves no temporary behind. */
static void test_util_write_commit_at(void **state)
{
	const char *dir = *state;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	uint8_t *buf = NULL;
	size_t len = 0;
	char path[128];
	struct stat st;

	assert_true(dfd >= 0);
	fd = openat(dfd, ".t1", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(vg_write_commit_at(fd, "abc", 3, 0600, dfd, ".t1", "out"), VG_OK);
	assert_int_equal(fstatat(dfd, ".t1", &st, 0), -1);
	assert_int_equal(fstatat(dfd, "out", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	(void)snprintf(path, sizeof path, "%s/out", dir);
	assert_int_equal(vg_read_file(path, 100, &buf, &len), VG_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	free(buf);
	/* in place */
	fd = openat(dfd, "new", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(vg_write_commit_at(fd, "x", 1, 0640, dfd, "new", NULL), VG_OK);
	assert_int_equal(fstatat(dfd, "new", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal((int)st.st_size, 1);
	/* a rename that must fail (a file over a non-empty directory): the
	 * error is reported and the temporary removed */
	assert_int_equal(mkdirat(dfd, "d", 0700), 0);
	assert_int_equal(mkdirat(dfd, "d/e", 0700), 0);
	fd = openat(dfd, ".t2", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(vg_write_commit_at(fd, "abc", 3, 0600, dfd, ".t2", "d"), VG_ERR_IO);
	assert_int_equal(fstatat(dfd, ".t2", &st, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(close(dfd), 0);
}

/* Input hygiene: strict hex and names. */
static void test_util_hex_and_names(void **state)
{
	uint8_t out[4];
	size_t n = 0;
	char hex[9];

	(void)state;
	assert_true(vg_hex_decode("00ff10Ab", out, sizeof out, &n));
	assert_int_equal(n, 4);
	vg_hex_encode(out, 4, hex);
	assert_string_equal(hex, "00ff10ab");
	assert_false(vg_hex_decode("0", out, sizeof out, &n));
	assert_false(vg_hex_decode("zz", out, sizeof out, &n));
	assert_false(vg_hex_decode("0011223344", out, sizeof out, &n));
	assert_true(vg_name_valid("wifi-psk_2.v1", 13));
	assert_false(vg_name_valid(".hidden", 7));
	assert_false(vg_name_valid("a/b", 3));
	assert_false(vg_name_valid("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_util_write_file_atomic_replaces, mkdir_tmp,
					    rm_tmp),
	    cmocka_unit_test_setup_teardown(test_util_write_file_atomic_ignores_planted_tmp,
					    mkdir_tmp, rm_tmp),
	    cmocka_unit_test(test_util_dir_of),
	    cmocka_unit_test_setup_teardown(test_util_write_commit_at, mkdir_tmp, rm_tmp),
	    cmocka_unit_test(test_util_hex_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
