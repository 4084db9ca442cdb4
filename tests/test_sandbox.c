/*
 * test_sandbox.c - the service's own confinement (src/daemon/privdrop.h).
 *
 * SFR 4.2.10 (isolation) / AVS SDK exploit mitigation: after
 * vg_sandbox_enter() a process that tries to run a program or to enter a
 * new namespace is killed by the kernel (SIGSYS), while the work the
 * service does (files, sockets, randomness, memory) goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/privdrop.h"

/* Runs fn in a sandboxed child; returns its wait status. */
static int in_sandbox(int (*fn)(void))
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128];
		if (vg_sandbox_enter(err, sizeof err) != VG_OK)
			_exit(100);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static int try_exec(void)
{
	char *argv[] = {"true", NULL}, *envp[] = {NULL};

	(void)execve("/bin/true", argv, envp);
	return 3; /* not reached when the filter works */
}

static int try_userns(void)
{
	(void)unshare(CLONE_NEWUSER);
	return 3;
}

static int try_setuid(void)
{
	if (setuid(getuid()) != 0)
		return 8;
	return 3;
}

static int normal_work(void)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC), sv[2];
	char buf[64];
	uint8_t r[16];
	pid_t p;
	int st;

	if (fd < 0 || read(fd, buf, sizeof buf) <= 0 || close(fd) != 0)
		return 4;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || write(sv[0], "x", 1) != 1 ||
	    read(sv[1], buf, 1) != 1)
		return 5;
	if (getrandom(r, sizeof r, 0) != sizeof r)
		return 6;
	p = fork(); /* a plain clone is fine */
	if (p == 0)
		_exit(0);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return 7;
	return 0;
}

/* SFR 4.2.10: running a program after the sandbox is entered kills the
 * process. */
static void test_sfr4210_sandbox_kills_execve(void **state)
{
	int st = in_sandbox(try_exec);

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* SFR 4.2.10: so does a new user namespace, and any set*id call. */
static void test_sfr4210_sandbox_kills_namespaces_and_setuid(void **state)
{
	int st = in_sandbox(try_userns);

	(void)state;
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
	st = in_sandbox(try_setuid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* SFR 4.2.10: what the service does keeps working. */
static void test_sfr4210_sandbox_allows_service_work(void **state)
{
	int st = in_sandbox(normal_work);

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr4210_sandbox_kills_execve),
	    cmocka_unit_test(test_sfr4210_sandbox_kills_namespaces_and_setuid),
	    cmocka_unit_test(test_sfr4210_sandbox_allows_service_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
