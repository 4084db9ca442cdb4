/*
 * test_sealed_config.c - the client half of sealed configuration (AVS
 * Device SDK rule 1; include/voxguard/config.h): the memfd an application
 * reads its configuration from cannot be changed through any descriptor
 * of it. The service half is tests/integration/test_sdk_sealed_config.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "voxguard/config.h"

static const uint8_t cfg[] = "{\"deviceInfo\":{\"clientId\":\"x\"}}";

static void test_sdk_config_memfd_holds_the_bytes_and_is_sealed(void **state)
{
	uint8_t back[sizeof cfg];
	char link[64], target[256];
	ssize_t n;
	int fd = -1, seals;

	(void)state;
	assert_int_equal(vg_config_memfd_from("AlexaClientSDKConfig.json", cfg, sizeof cfg, 0, &fd),
			 VG_OK);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, sizeof back), (ssize_t)sizeof cfg);
	assert_memory_equal(back, cfg, sizeof cfg);
	seals = fcntl(fd, F_GET_SEALS);
	assert_int_equal(seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
			 F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	/* Every way of changing it fails. */
	assert_int_equal(pwrite(fd, "X", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(ftruncate(fd, 1 << 20), -1);
	assert_ptr_equal(mmap(NULL, sizeof cfg, PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, 0), -1); /* F_SEAL_SEAL */
	/* Reopened through /proc (how an application given the path reads
	 * it), it is the same sealed file. */
	(void)snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof target - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_non_null(strstr(target, "voxguard-config:AlexaClientSDKConfig.json"));
	{
		int fd2 = open(link, O_RDWR);
		if (fd2 >= 0) {
			assert_int_equal(write(fd2, "X", 1), -1);
			(void)close(fd2);
		}
	}
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	(void)close(fd);
}

static void test_sdk_config_memfd_kept_on_exec_when_asked(void **state)
{
	int fd = -1;

	(void)state;
	assert_int_equal(vg_config_memfd_from("c", cfg, sizeof cfg, 1, &fd), VG_OK);
	assert_false(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	(void)close(fd);
}

static void test_sdk_config_memfd_refuses_empty_and_oversized(void **state)
{
	int fd = 7;

	(void)state;
	assert_int_equal(vg_config_memfd_from("c", cfg, 0, 0, &fd), VG_ERR_INVALID);
	assert_int_equal(fd, -1);
	assert_int_equal(vg_config_memfd_from("c", NULL, 4, 0, &fd), VG_ERR_INVALID);
	assert_int_equal(vg_config_memfd_from("c", cfg, VG_CONFIG_MAX_LEN + 1, 0, &fd),
			 VG_ERR_INVALID);
	assert_int_equal(vg_config_memfd_from(NULL, cfg, sizeof cfg, 0, &fd), VG_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sdk_config_memfd_holds_the_bytes_and_is_sealed),
	    cmocka_unit_test(test_sdk_config_memfd_kept_on_exec_when_asked),
	    cmocka_unit_test(test_sdk_config_memfd_refuses_empty_and_oversized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
