/*
 * fuzz_config.c - libFuzzer harness for the configuration parser (AVS SDK:
 * protect configuration; hostile input): arbitrary bytes through
 * vg_config_parse, then the documented bounds of every accepted setting
 * are checked, and the error text must be a terminated string.
 * Seed corpus: fuzz/corpus/config/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
	if (memchr(s, 0, cap) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_config c;
	char err[96];
	vg_rc rc;

	vg_config_defaults(&c);
	memset(err, 'x', sizeof err);
	/* Odd sizes also exercise err == NULL. */
	rc = vg_config_parse(&c, (const char *)data, size, (size & 1) ? NULL : err, sizeof err);
	if (!(size & 1) && rc != VG_OK && memchr(err, 0, sizeof err) == NULL)
		abort();
	check_str(c.user, sizeof c.user);
	check_str(c.admin_group, sizeof c.admin_group);
	check_str(c.socket_group, sizeof c.socket_group);
	check_str(c.rot, sizeof c.rot);
	check_str(c.rot_param, sizeof c.rot_param);
	if (rc != VG_OK)
		return 0;
	if (c.rot[0] == '\0' || c.socket_mode > 0770 || c.max_clients < 1 || c.max_clients > 4096 ||
	    c.io_timeout_ms < 10 || c.io_timeout_ms > 600000 || c.audit_checkpoint_every < 1 ||
	    c.audit_checkpoint_every > 1000000 ||
	    (c.audit_max_records != 0 && c.audit_max_records < 16) ||
	    c.audit_max_records > (UINT64_C(1) << 40) || c.audit_max_bytes < 65536)
		abort();
	return 0;
}
