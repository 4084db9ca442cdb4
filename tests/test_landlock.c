/*
 * test_landlock.c - the Landlock launcher's rules (src/sandbox/landlock.h).
 *
 * AVS SDK security rules: "run software with the least privilege required
 * for operation" and "apply access controls that restrict read/write/run
 * permission to specific applications ... on files"; "protect executable
 * files and processes from tampering". Each test applies a ruleset in a
 * forked child (a ruleset cannot be undone) and proves both halves: what
 * the rules allow works, what they do not is refused with EACCES (or
 * EXDEV for a rename, as the kernel documents). As root, so DAC would
 * allow everything: every refusal seen here is Landlock's.
 *
 * Skipped (cmocka skip(), with the reason) when the kernel has no Landlock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/landlock.h"

static char base[64];
static char ro[96], rw[96], outside[96];

static void put(const char *dir, const char *name, const char *text)
{
	char p[160];
	int fd;

	(void)snprintf(p, sizeof p, "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static int setup(void **state)
{
	(void)state;
	if (vg_landlock_abi() == 0) {
		(void)fprintf(stderr, "# the kernel has no Landlock (not built, or not in lsm=): "
				      "the Landlock tests are skipped\n");
		return 0;
	}
	(void)snprintf(base, sizeof base, "/tmp/vgll.XXXXXX");
	assert_non_null(mkdtemp(base));
	(void)snprintf(ro, sizeof ro, "%s/ro", base);
	(void)snprintf(rw, sizeof rw, "%s/rw", base);
	(void)snprintf(outside, sizeof outside, "%s/outside", base);
	assert_int_equal(mkdir(ro, 0755), 0);
	assert_int_equal(mkdir(rw, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	put(ro, "config", "ro\n");
	put(rw, "state", "rw\n");
	put(outside, "secret", "outside\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (base[0]) {
		(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
		VG_IGNORE(system(cmd));
	}
	return 0;
}

#define NEED_LANDLOCK()                                                                   \
	do {                                                                              \
		if (vg_landlock_abi() == 0) {                                             \
			(void)fprintf(stderr, "# skipped: the kernel has no Landlock\n"); \
			skip();                                                           \
		}                                                                         \
	} while (0)

/* Paths a dynamically linked /usr/bin/true needs: its libraries (read)
 * and the ELF interpreter (execute: the kernel opens it for execution),
 * which lives beneath /usr/lib (usrmerge) and is named through /lib64. */
static const char *const sys_ro[] = {"/usr", "/etc"};
static const char *const sys_exec[] = {"/usr/bin/true", "/usr/lib", "/lib64"};

/* Runs checks() in a child under the test ruleset (plus extra rules);
 * returns the child's exit code: 0 when every check held, else the number
 * of the first one that failed. */
static int in_ruleset(int (*checks)(int abi), const vg_landlock_rule *extra, size_t n_extra)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		vg_landlock_rule r[16];
		size_t n = 0;
		char err[256];
		int abi = 0;

		for (size_t i = 0; i < sizeof sys_ro / sizeof sys_ro[0]; i++)
			r[n++] = (vg_landlock_rule){sys_ro[i], VG_LANDLOCK_RO};
		for (size_t i = 0; i < sizeof sys_exec / sizeof sys_exec[0]; i++)
			if (access(sys_exec[i], F_OK) == 0)
				r[n++] = (vg_landlock_rule){sys_exec[i], VG_LANDLOCK_EXEC};
		r[n++] = (vg_landlock_rule){ro, VG_LANDLOCK_RO};
		r[n++] = (vg_landlock_rule){rw, VG_LANDLOCK_RW};
		for (size_t i = 0; i < n_extra && n < 16; i++)
			r[n++] = extra[i];
		if (vg_landlock_apply(r, n, 0, &abi, err, sizeof err) != VG_OK) {
			(void)fprintf(stderr, "apply: %s\n", err);
			_exit(100);
		}
		if (abi < 1 || abi > VG_LANDLOCK_ABI_MAX)
			_exit(101);
		_exit(checks(abi));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int open_errno(const char *dir, const char *name, int flags)
{
	char p[160];
	int fd;

	(void)snprintf(p, sizeof p, "%s/%s", dir, name);
	fd = open(p, flags | O_CLOEXEC, 0600);
	if (fd >= 0) {
		(void)close(fd);
		return 0;
	}
	return errno;
}

/* Runs path in a grandchild; its exit status, or 200 + errno when the
 * exec was refused. */
static int run(const char *path)
{
	pid_t pid = fork();
	int st = 0;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[] = {(char *)path, NULL}, *envp[] = {NULL};
		(void)execve(path, argv, envp);
		_exit(errno == EACCES ? 200 + EACCES : 199);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* --- the checks, each returning its own number on failure ------------ */

static int checks_read(int abi)
{
	(void)abi;
	/* Reading inside the ro and rw sets works... */
	if (open_errno(ro, "config", O_RDONLY) != 0)
		return 1;
	if (open_errno(rw, "state", O_RDONLY) != 0)
		return 2;
	/* ...outside them it does not, file or directory. */
	if (open_errno(outside, "secret", O_RDONLY) != EACCES)
		return 3;
	if (open_errno(outside, ".", O_RDONLY | O_DIRECTORY) != EACCES)
		return 4;
	if (open_errno("/root", ".", O_RDONLY | O_DIRECTORY) != EACCES)
		return 5;
	return 0;
}

static int checks_write(int abi)
{
	char a[160], b[160];

	/* Writing in the ro set: refused, in place, by creation, by removal. */
	if (open_errno(ro, "config", O_WRONLY) != EACCES)
		return 1;
	if (open_errno(ro, "new", O_WRONLY | O_CREAT | O_EXCL) != EACCES)
		return 2;
	(void)snprintf(a, sizeof a, "%s/config", ro);
	if (unlink(a) == 0 || errno != EACCES)
		return 3;
	if (open_errno(outside, "secret", O_WRONLY) != EACCES)
		return 4;
	/* In the rw set: writing, creating, truncating, renaming, removing. */
	if (open_errno(rw, "state", O_WRONLY | O_APPEND) != 0)
		return 5;
	if (open_errno(rw, "new", O_WRONLY | O_CREAT | O_EXCL) != 0)
		return 6;
	(void)snprintf(a, sizeof a, "%s/new", rw);
	(void)snprintf(b, sizeof b, "%s/renamed", rw);
	if (rename(a, b) != 0)
		return 7;
	if (truncate(b, 0) != 0)
		return 8;
	/* A file cannot be moved out of the rw set (REFER, ABI >= 2: EXDEV;
	 * ABI 1: EXDEV too, the kernel refuses any cross-directory rename). */
	(void)snprintf(a, sizeof a, "%s/moved", outside);
	if (rename(b, a) == 0 || (errno != EXDEV && errno != EACCES))
		return 9;
	if (unlink(b) != 0)
		return 10;
	/* ABI 3: truncating is a right of its own: not in the ro set. */
	if (abi >= 3) {
		(void)snprintf(a, sizeof a, "%s/config", ro);
		if (truncate(a, 0) == 0 || errno != EACCES)
			return 11;
		(void)snprintf(a, sizeof a, "%s/secret", outside);
		if (truncate(a, 0) == 0 || errno != EACCES)
			return 12;
	}
	return 0;
}

static int checks_exec(int abi)
{
	(void)abi;
	/* A listed program runs (its interpreter is listed too)... */
	if (run("/usr/bin/true") != 0)
		return 1;
	/* ...a program that is only readable (ro /usr) does not... */
	if (run("/usr/bin/false") != 200 + EACCES)
		return 2;
	/* ...nor the shell, readable but not listed. */
	if (run("/bin/sh") != 200 + EACCES)
		return 3;
	return 0;
}

static int checks_dropped_exec(int abi)
{
	char p[160];

	(void)abi;
	(void)snprintf(p, sizeof p, "%s/dropped", rw);
	/* Written by the sandboxed process itself: it may write it, chmod it
	 * executable, and still not run it (W^X at file level). */
	{
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
		if (fd < 0)
			return 1;
		if (write(fd, "#!/bin/sh\nexit 0\n", 17) != 17) {
			(void)close(fd);
			return 2;
		}
		(void)close(fd);
	}
	if (run(p) != 200 + EACCES)
		return 3;
	return 0;
}

/* SDK least privilege: reads outside the ro set fail with EACCES. */
static void test_sdk_least_privilege_landlock_read_only_set(void **state)
{
	(void)state;
	NEED_LANDLOCK();
	assert_int_equal(in_ruleset(checks_read, NULL, 0), 0);
}

/* SDK access control: writes only in the rw set; nothing leaves it. */
static void test_sdk_least_privilege_landlock_write_only_rw_set(void **state)
{
	(void)state;
	NEED_LANDLOCK();
	assert_int_equal(in_ruleset(checks_write, NULL, 0), 0);
}

/* SDK: protect executables from tampering: only listed files execute. */
static void test_sdk_least_privilege_landlock_exec_only_listed(void **state)
{
	(void)state;
	NEED_LANDLOCK();
	assert_int_equal(in_ruleset(checks_exec, NULL, 0), 0);
	assert_int_equal(in_ruleset(checks_dropped_exec, NULL, 0), 0);
}

/* A file (not a directory) as a rule: only it is granted, with the file
 * rights of its class (the kernel refuses directory rights on a file). */
static int checks_file_rule(int abi)
{
	(void)abi;
	if (open_errno(outside, "secret", O_RDONLY) != 0)
		return 1;
	if (open_errno(outside, "secret", O_WRONLY) != EACCES)
		return 2;
	if (open_errno(outside, ".", O_RDONLY | O_DIRECTORY) != EACCES)
		return 3;
	return 0;
}

static void test_sdk_least_privilege_landlock_file_rule(void **state)
{
	char p[160];
	vg_landlock_rule extra;

	(void)state;
	NEED_LANDLOCK();
	(void)snprintf(p, sizeof p, "%s/secret", outside);
	extra = (vg_landlock_rule){p, VG_LANDLOCK_RO};
	assert_int_equal(in_ruleset(checks_file_rule, &extra, 1), 0);
}

/* The rules survive exec and cannot be undone: a program the sandboxed
 * process runs is held to them (a shell, listed with --exec, asked to read
 * the secret, fails). */
static void test_sdk_least_privilege_landlock_survives_exec(void **state)
{
	pid_t pid;
	int st = 0;

	(void)state;
	NEED_LANDLOCK();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vg_landlock_rule r[] = {
		    {"/usr", VG_LANDLOCK_RO},       {"/etc", VG_LANDLOCK_RO},
		    {"/usr/bin", VG_LANDLOCK_EXEC}, {"/usr/lib", VG_LANDLOCK_EXEC},
		    {"/lib64", VG_LANDLOCK_EXEC},   {"/dev/null", VG_LANDLOCK_RW},
		};
		char err[256], cmd[200];
		(void)snprintf(cmd, sizeof cmd,
			       "cat /etc/passwd >/dev/null || exit 2; "
			       "cat %s/secret >/dev/null 2>&1 && exit 1; exit 0",
			       outside);
		if (vg_landlock_apply(r, sizeof r / sizeof r[0], 0, NULL, err, sizeof err) != VG_OK)
			_exit(100);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(101);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Strict vs best effort, on a kernel without Landlock: a seccomp filter
 * makes landlock_create_ruleset fail with ENOSYS, as an old kernel does. */
static int no_landlock(unsigned flags, int *abi)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	vg_landlock_rule r = {"/usr", VG_LANDLOCK_RO};
	char err[256] = "";
	vg_rc rc;

	if (!ctx ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0) !=
		0 ||
	    seccomp_load(ctx) != 0)
		return 90;
	seccomp_release(ctx);
	*abi = 42;
	rc = vg_landlock_apply(&r, 1, flags, abi, err, sizeof err);
	if (rc == VG_ERR_UNSUPPORTED && strstr(err, "no Landlock") == NULL)
		return 91; /* the message must name the cause */
	return (int)rc;
}

static void test_sdk_least_privilege_landlock_strict_needs_kernel(void **state)
{
	pid_t pid;
	int st = 0;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int abi, rc;
		rc = no_landlock(0, &abi);
		if (rc != VG_ERR_UNSUPPORTED)
			_exit(rc == 0 ? 80 : rc);
		rc = no_landlock(VG_LANDLOCK_BEST_EFFORT, &abi);
		if (rc != VG_OK)
			_exit(81);
		/* Best effort, no kernel support: said so by abi 0, and the
		 * process is not restricted (it reads /root). */
		if (abi != 0 || open_errno("/root", ".", O_RDONLY | O_DIRECTORY) != 0)
			_exit(82);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Bad input is refused before anything is applied, with its cause. */
static void test_sdk_least_privilege_landlock_bad_rules(void **state)
{
	pid_t pid;
	int st = 0;

	(void)state;
	NEED_LANDLOCK();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		vg_landlock_rule missing = {"/nonexistent/voxguard", VG_LANDLOCK_RO};
		vg_landlock_rule empty = {"", VG_LANDLOCK_RO};
		vg_landlock_rule bad = {"/usr", (vg_landlock_access)7};
		char err[256] = "";
		if (vg_landlock_apply(&missing, 1, 0, NULL, err, sizeof err) != VG_ERR_NOT_FOUND ||
		    strstr(err, "/nonexistent/voxguard") == NULL)
			_exit(1);
		if (vg_landlock_apply(&empty, 1, 0, NULL, err, sizeof err) != VG_ERR_INVALID)
			_exit(2);
		if (vg_landlock_apply(&bad, 1, 0, NULL, err, sizeof err) != VG_ERR_INVALID)
			_exit(3);
		if (vg_landlock_apply(NULL, 1, 0, NULL, err, sizeof err) != VG_ERR_INVALID)
			_exit(4);
		/* The failed rule left no ruleset behind: /root is readable. */
		if (open_errno("/root", ".", O_RDONLY | O_DIRECTORY) != 0)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sdk_least_privilege_landlock_read_only_set),
	    cmocka_unit_test(test_sdk_least_privilege_landlock_write_only_rw_set),
	    cmocka_unit_test(test_sdk_least_privilege_landlock_exec_only_listed),
	    cmocka_unit_test(test_sdk_least_privilege_landlock_file_rule),
	    cmocka_unit_test(test_sdk_least_privilege_landlock_survives_exec),
	    cmocka_unit_test(test_sdk_least_privilege_landlock_strict_needs_kernel),
	    cmocka_unit_test(test_sdk_least_privilege_landlock_bad_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
