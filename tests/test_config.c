/*
 * test_config.c - voxguardd's configuration file (src/daemon/config.h).
 *
 * AVS Device SDK: protect configuration (fail closed: a typo in a security
 * setting is an error, never a silent default) and treat outside input as
 * hostile (bounded lines and file, no binary). SFR 4.2.10: the socket, the
 * service's door, is never world-accessible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "helpers.h"

static vg_rc parse(vg_config *c, const char *text, char *err, size_t err_len)
{
	vg_config_defaults(c);
	return vg_config_parse(c, text, strlen(text), err, err_len);
}

/* Parses one "key = value" line; returns the rc. */
static vg_rc parse_kv(vg_config *c, const char *key, const char *value)
{
	char buf[1024], err[128];

	(void)snprintf(buf, sizeof buf, "%s = %s\n", key, value);
	return parse(c, buf, err, sizeof err);
}

static void assert_kv_invalid(const char *key, const char *value)
{
	vg_config c;
	char buf[1024], err[128] = "";
	vg_rc rc;

	(void)snprintf(buf, sizeof buf, "# header\n%s = %s\n", key, value);
	rc = parse(&c, buf, err, sizeof err);
	if (rc != VG_ERR_INVALID)
		fail_msg("'%s = %s' was accepted (rc %d)", key, value, rc);
	assert_non_null(strstr(err, "line 2"));
}

/* AVS SDK (protect configuration): the documented defaults. */
static void test_config_defaults(void **state)
{
	vg_config c;

	(void)state;
	memset(&c, 0xa5, sizeof c);
	vg_config_defaults(&c);
	assert_string_equal(c.user, "voxguard");
	assert_string_equal(c.admin_group, "");
	assert_string_equal(c.socket_group, "");
	assert_int_equal(c.socket_mode, 0660);
	assert_string_equal(c.rot, "file");
	assert_string_equal(c.rot_param, "");
	assert_int_equal(c.max_clients, 256);
	assert_int_equal(c.event_loops, 1);
	assert_int_equal(c.io_timeout_ms, 5000);
	assert_int_equal(c.audit_checkpoint_every, 256);
	assert_int_equal(c.audit_max_records, 0); /* the bound is audit_max_bytes */
	assert_true(c.audit_max_bytes == 16u * 1024u * 1024u);
	assert_int_equal(c.audit_rate_per_s, 20);
	assert_int_equal(c.audit_burst, 200);
	assert_int_equal(c.rot_sync_ms, 50);
	assert_int_equal(c.rot_timeout_ms, 10000); /* SFR 4.2.10: every TPM command bounded */
	/* An empty file leaves the defaults. */
	assert_int_equal(vg_config_parse(&c, "", 0, NULL, 0), VG_OK);
	assert_int_equal(c.socket_mode, 0660);
}

/* AVS SDK (protect configuration): the canonical form the service seals in
 * its store parses back to the same settings. */
static void test_config_format_roundtrip(void **state)
{
	static const char in[] =
	    "admin_group = adm\nrot_sync_ms = 0\nrot_timeout_ms = 2500\nattest_pcrs = 0-2,4,7-9\n";
	vg_config a, b;
	char text[4096], err[128];
	size_t n;

	(void)state;
	vg_config_defaults(&a);
	assert_int_equal(vg_config_parse(&a, in, sizeof in - 1, err, sizeof err), VG_OK);
	assert_int_equal(a.rot_sync_ms, 0);
	assert_int_equal(a.rot_timeout_ms, 2500);
	assert_int_equal(a.attest_pcrs, 0x397u);
	n = vg_config_format(&a, text, sizeof text);
	assert_true(n > 0);
	vg_config_defaults(&b);
	assert_int_equal(vg_config_parse(&b, text, n, err, sizeof err), VG_OK);
	assert_memory_equal(&a, &b, sizeof a);
	assert_int_equal(vg_config_format(&a, text, 16), 0); /* too small: 0 */
}

/* AVS SDK (protect configuration): every documented key is parsed. */
static void test_config_every_key_parsed(void **state)
{
	vg_config c;
	char err[128] = "";
	static const char text[] = "user = vgsvc\n"
				   "admin_group = voxguard-admin\n"
				   "socket_group = audio\n"
				   "socket_mode = 0600\n"
				   "rot = tpm2\n"
				   "rot_param = device:/dev/tpmrm0\n"
				   "max_clients = 4096\n"
				   "event_loops = 16\n"
				   "io_timeout_ms = 600000\n"
				   "rot_sync_ms = 1000\n"
				   "rot_timeout_ms = 600000\n"
				   "audit_checkpoint_every = 1000000\n"
				   "audit_max_records = 1099511627776\n";

	(void)state;
	assert_int_equal(parse(&c, text, err, sizeof err), VG_OK);
	assert_string_equal(c.user, "vgsvc");
	assert_string_equal(c.admin_group, "voxguard-admin");
	assert_string_equal(c.socket_group, "audio");
	assert_int_equal(c.socket_mode, 0600);
	assert_string_equal(c.rot, "tpm2");
	assert_string_equal(c.rot_param, "device:/dev/tpmrm0");
	assert_int_equal(c.max_clients, 4096);
	assert_int_equal(c.event_loops, 16);
	assert_int_equal(c.io_timeout_ms, 600000);
	assert_int_equal(c.rot_sync_ms, 1000);
	assert_int_equal(c.rot_timeout_ms, 600000);
	assert_int_equal(c.audit_checkpoint_every, 1000000);
	assert_true(c.audit_max_records == (UINT64_C(1) << 40));

	/* The lower bounds are accepted too. */
	assert_int_equal(parse(&c,
			       "max_clients=1\nio_timeout_ms=10\naudit_checkpoint_every=1\n"
			       "audit_max_records=16\nsocket_mode=0\nsocket_mode=660\n",
			       err, sizeof err),
			 VG_OK);
	assert_int_equal(c.max_clients, 1);
	assert_int_equal(c.io_timeout_ms, 10);
	assert_int_equal(c.audit_checkpoint_every, 1);
	assert_int_equal(c.audit_max_records, 16);
	assert_int_equal(c.socket_mode, 0660); /* octal, leading 0 or not */
	/* Empty strings where allowed. */
	assert_int_equal(parse(&c, "user =\nrot_param = \nadmin_group=\n", err, sizeof err), VG_OK);
	assert_string_equal(c.user, "");
	assert_string_equal(c.rot_param, "");
}

/* AVS SDK (protect configuration): comments (whole-line and trailing),
 * blank and whitespace-only lines, tabs, CRLF endings and a last line
 * without a newline are all fine. */
static void test_config_comments_and_blanks(void **state)
{
	vg_config c;
	char err[128] = "";
	static const char text[] = "# voxguardd.conf\n"
				   "\n"
				   "   \n"
				   "\t\t\n"
				   "  # indented comment = with equals\n"
				   "max_clients = 12   # trailing comment\n"
				   "\tio_timeout_ms\t=\t250\t\n"
				   "user = vgsvc\r\n"
				   "#\n"
				   "rot_param=abc#def\n"
				   "audit_checkpoint_every=3";

	(void)state;
	assert_int_equal(parse(&c, text, err, sizeof err), VG_OK);
	assert_int_equal(c.max_clients, 12);
	assert_int_equal(c.io_timeout_ms, 250);
	assert_string_equal(c.user, "vgsvc");
	assert_string_equal(c.rot_param, "abc"); /* '#' starts a comment anywhere */
	assert_int_equal(c.audit_checkpoint_every, 3);
}

/* AVS SDK (fail closed): an unknown key, or a known key with odd case or
 * spacing, is VG_ERR_INVALID naming the line. */
static void test_config_unknown_key_rejected(void **state)
{
	vg_config c;
	char err[128] = "";

	(void)state;
	assert_int_equal(parse(&c, "user = a\nsocket_mod = 0600\n", err, sizeof err),
			 VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "socket_mod"));
	assert_kv_invalid("User", "a");
	assert_kv_invalid("max clients", "5");
	assert_kv_invalid("", "5");
	assert_kv_invalid("rot.param", "x");
}

/* AVS SDK (fail closed): a line without '=' is VG_ERR_INVALID naming the
 * line. */
static void test_config_missing_equals_rejected(void **state)
{
	vg_config c;
	char err[128] = "";

	(void)state;
	assert_int_equal(parse(&c, "# c\n\nuser voxguard\n", err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 3"));
	assert_int_equal(parse(&c, "max_clients 5 # = here is a comment\n", err, sizeof err),
			 VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 1"));
}

/* AVS SDK (fail closed): malformed numbers are VG_ERR_INVALID. */
static void test_config_bad_numbers_rejected(void **state)
{
	static const char *const keys[] = {"max_clients", "io_timeout_ms", "audit_checkpoint_every",
					   "audit_max_records", "socket_mode"};
	static const char *const bad[] = {"",
					  "abc",
					  "12abc",
					  "-1",
					  "+5",
					  "0x10",
					  "1.5",
					  "1e3",
					  "1 2",
					  "- 1",
					  "99999999999999999999999999"};

	(void)state;
	for (size_t k = 0; k < VG_ARRAY_LEN(keys); k++)
		for (size_t b = 0; b < VG_ARRAY_LEN(bad); b++)
			assert_kv_invalid(keys[k], bad[b]);
	assert_kv_invalid("socket_mode", "0680"); /* not octal */
	assert_kv_invalid("socket_mode", "9");
}

/* AVS SDK (fail closed): numbers outside their range are VG_ERR_INVALID. */
static void test_config_out_of_range_rejected(void **state)
{
	(void)state;
	assert_kv_invalid("max_clients", "0");
	assert_kv_invalid("max_clients", "4097");
	assert_kv_invalid("event_loops", "17");
	assert_kv_invalid("io_timeout_ms", "9");
	assert_kv_invalid("io_timeout_ms", "600001");
	assert_kv_invalid("rot_sync_ms", "1001");
	assert_kv_invalid("rot_sync_ms", "-1");
	assert_kv_invalid("rot_timeout_ms", "99"); /* no bound, or none that works */
	assert_kv_invalid("rot_timeout_ms", "600001");
	assert_kv_invalid("rot_timeout_ms", "0");
	assert_kv_invalid("io_timeout_ms", "4294967306"); /* 2^32 + 10: no wrap */
	assert_kv_invalid("audit_checkpoint_every", "0");
	assert_kv_invalid("audit_checkpoint_every", "1000001");
	assert_kv_invalid("audit_max_records", "15");
	assert_kv_invalid("audit_max_records", "1099511627777");
	assert_kv_invalid("audit_max_records", "18446744073709551615");
	assert_kv_invalid("audit_max_records", "18446744073709551616");
	assert_kv_invalid("audit_max_bytes", "65535");
	assert_kv_invalid("audit_max_bytes", "0");
	assert_kv_invalid("audit_rate_per_s", "0");
	assert_kv_invalid("audit_burst", "0");
	assert_kv_invalid("socket_mode", "01000");
	assert_kv_invalid("socket_mode", "04770");
}

/* SFR 4.2.10: the socket is never world-accessible: socket_mode 0777 (and
 * 0771) is rejected; owner/group modes are accepted. */
static void test_config_socket_mode_world_rejected(void **state)
{
	vg_config c;

	(void)state;
	assert_kv_invalid("socket_mode", "0777");
	assert_kv_invalid("socket_mode", "777");
	assert_kv_invalid("socket_mode", "0771");
	assert_kv_invalid("socket_mode", "0772");
	assert_int_equal(parse_kv(&c, "socket_mode", "0660"), VG_OK);
	assert_int_equal(c.socket_mode, 0660);
	assert_int_equal(parse_kv(&c, "socket_mode", "0770"), VG_OK);
	assert_int_equal(c.socket_mode, 0770);
	assert_int_equal(parse_kv(&c, "socket_mode", "0600"), VG_OK);
	assert_int_equal(c.socket_mode, 0600);
}

/*
 * Regression (was a bug in src/daemon/config.c, apply "socket_mode"): the world check is a
 * numeric upper bound (x <= 0770), not a mask: every mode below 0770 with
 * "other" bits passes, e.g. 0666 (world read/write: any local user can
 * connect) or 0707. Fix direction: reject (x & 07) != 0 (and x > 0777).
 */
/* SFR 4.2.10: no mode with any world (other) bit is accepted. */
static void test_config_socket_mode_world_bits_below_0770_rejected(void **state)
{
	static const char *const modes[] = {"0666", "0606", "0664", "0707", "0002", "0004", "0001"};
	vg_config c;

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(modes); i++) {
		vg_rc rc = parse_kv(&c, "socket_mode", modes[i]);
		if (rc != VG_ERR_INVALID)
			fail_msg("world-accessible socket_mode %s accepted (rc %d, mode %04o)",
				 modes[i], rc, c.socket_mode);
	}
}

/* AVS SDK (fail closed): string settings: too long, empty where a value
 * is required, or with control characters: VG_ERR_INVALID. */
static void test_config_bad_strings_rejected(void **state)
{
	char v[300];
	vg_config c;

	(void)state;
	memset(v, 'u', sizeof v);
	v[VG_CFG_STR - 1] = '\0';
	assert_int_equal(parse_kv(&c, "user", v), VG_OK);
	assert_int_equal(strlen(c.user), VG_CFG_STR - 1);
	v[VG_CFG_STR - 1] = 'u';
	v[VG_CFG_STR] = '\0';
	assert_kv_invalid("user", v);
	assert_kv_invalid("admin_group", v);
	assert_kv_invalid("socket_group", v);
	assert_kv_invalid("rot", v);
	memset(v, 'p', sizeof v);
	v[255] = '\0';
	assert_int_equal(parse_kv(&c, "rot_param", v), VG_OK);
	v[255] = 'p';
	v[256] = '\0';
	assert_kv_invalid("rot_param", v);
	assert_kv_invalid("rot", "");
	assert_kv_invalid("user", "vg\x01svc");
	assert_kv_invalid("user", "vg\x7fsvc");
	assert_kv_invalid("rot_param", "a\x1b[31mb");
	assert_kv_invalid("socket_group", "gr\xc3\xbcn");
}

/* AVS SDK (hostile input): a line of 512 bytes is fine, 513 is
 * VG_ERR_INVALID naming the line. */
static void test_config_long_line_rejected(void **state)
{
	char text[2048], err[128] = "";
	vg_config c;
	size_t n;

	(void)state;
	strcpy(text, "user = a\n");
	n = strlen(text);
	memset(text + n, '#', 512);
	text[n + 512] = '\n';
	text[n + 513] = '\0';
	assert_int_equal(parse(&c, text, err, sizeof err), VG_OK);
	text[n + 512] = '#';
	text[n + 513] = '\n';
	text[n + 514] = '\0';
	assert_int_equal(parse(&c, text, err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 2"));
	/* Also as the last line, without a newline. */
	text[n + 513] = '\0';
	assert_int_equal(parse(&c, text, err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 2"));
}

/* AVS SDK (hostile input): an embedded NUL (binary data) is VG_ERR_INVALID
 * naming the line, even inside a comment. */
static void test_config_embedded_nul_rejected(void **state)
{
	static const char text[] = "user = a\nrot = file\nrot_param = x\0y\n";
	static const char in_comment[] = "# a\0b\n";
	char err[128] = "";
	vg_config c;

	(void)state;
	vg_config_defaults(&c);
	assert_int_equal(vg_config_parse(&c, text, sizeof text - 1, err, sizeof err),
			 VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 3"));
	assert_int_equal(vg_config_parse(&c, in_comment, sizeof in_comment - 1, err, sizeof err),
			 VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 1"));
}

/* AVS SDK (hostile input): a file of 64 KiB is fine, one byte more is
 * VG_ERR_TOO_LARGE, from memory and from disk. */
static void test_config_file_over_64k_rejected(void **state)
{
	size_t max = 64 * 1024;
	char *text = malloc(max + 2), err[128] = "", dir[64], path[VGT_PATH];
	vg_config c;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', max + 1);
	memcpy(text, "max_clients = 7\n", 16);
	vg_config_defaults(&c);
	assert_int_equal(vg_config_parse(&c, text, max, err, sizeof err), VG_OK);
	assert_int_equal(c.max_clients, 7);
	vg_config_defaults(&c);
	assert_int_equal(vg_config_parse(&c, text, max + 1, err, sizeof err), VG_ERR_TOO_LARGE);
	assert_true(strlen(err) > 0);

	assert_int_equal(vgt_mkdtemp(dir), 0);
	vgt_path(path, dir, "voxguardd.conf");
	assert_int_equal(vgt_write(path, text, max, 0600), 0);
	assert_int_equal(vg_config_load(&c, path, err, sizeof err), VG_OK);
	assert_int_equal(vgt_write(path, text, max + 1, 0600), 0);
	assert_int_equal(vg_config_load(&c, path, err, sizeof err), VG_ERR_TOO_LARGE);
	vgt_path(path, dir, "missing.conf");
	assert_int_equal(vg_config_load(&c, path, err, sizeof err), VG_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "missing.conf"));
	vgt_rmrf(dir);
	free(text);
}

/* AVS SDK (protect configuration): the error names the failing line
 * (counting blank and comment lines), fits any buffer, and err may be
 * NULL. */
/* SFR 4.2.6: the A/B update settings: slots per image, the bootloader;
 * malformed ones are rejected (fail closed). */
/* AVS 1.16: the PCRs the token carries: numbers and ranges of PCRs 0-23,
 * each once; anything else is refused with its line. */
static void test_config_attest_pcrs(void **state)
{
	static const char *bad[] = {"24", "0-24", "3-1", "1,", ",1", "1,,2", "1,1",
				    "0-3,2", "a", "1 2", "-1", "1-", "0x1", "007"};
	vg_config c;

	(void)state;
	vg_config_defaults(&c);
	assert_int_equal(c.attest_pcrs, 0);
	assert_int_equal(parse_kv(&c, "attest_pcrs", "0-9"), VG_OK);
	assert_int_equal(c.attest_pcrs, 0x3ffu);
	assert_int_equal(parse_kv(&c, "attest_pcrs", "23"), VG_OK);
	assert_int_equal(c.attest_pcrs, 1u << 23);
	assert_int_equal(parse_kv(&c, "attest_pcrs", "0,2,4,7,9"), VG_OK);
	assert_int_equal(c.attest_pcrs, 0x295u);
	assert_int_equal(parse_kv(&c, "attest_pcrs", ""), VG_OK);
	assert_int_equal(c.attest_pcrs, 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_kv_invalid("attest_pcrs", bad[i]);
}

static void test_config_update_settings(void **state)
{
	static const char good[] = "update_slots = rootfs /dev/p2 /dev/p3; kernel /dev/p1 /dev/p4\n"
				   "bootloader = uboot\nbootloader_param = /etc/fw_env.config\n"
				   "boot_tries = 5\nboot_cmdline = /run/cmdline\n";
	static const char *const bad[] = {
	    "update_slots = rootfs /dev/p2\n",                    /* one slot */
	    "update_slots = rootfs /dev/p2 /dev/p2\n",            /* the same twice */
	    "update_slots = rootfs dev/p2 /dev/p3\n",             /* relative */
	    "update_slots = rootfs /a /b; rootfs /c /d\n",        /* image twice */
	    "update_slots = root/fs /a /b\n",                     /* bad name */
	    "update_slots = rootfs /a /b /c\n",                   /* three */
	    "bootloader = lilo\n", "boot_tries = 0\n", "boot_tries = 10\n",
	    "boot_cmdline = proc/cmdline\n", "bootloader_param = fw_env.config\n",
	};
	vg_config c;
	vg_slot_map m;

	(void)state;
	vg_config_defaults(&c);
	assert_string_equal(c.bootloader, "file");
	assert_int_equal(c.boot_tries, 3);
	assert_string_equal(c.boot_cmdline, "/proc/cmdline");
	assert_int_equal(vg_config_parse(&c, good, sizeof good - 1, NULL, 0), VG_OK);
	assert_string_equal(c.bootloader, "uboot");
	assert_int_equal(c.boot_tries, 5);
	assert_int_equal(vg_config_slots(c.update_slots, &m), VG_OK);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.e[1].image, "kernel");
	assert_string_equal(m.e[1].path[1], "/dev/p4");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vg_config_defaults(&c);
		assert_int_equal(vg_config_parse(&c, bad[i], strlen(bad[i]), NULL, 0),
				 VG_ERR_INVALID);
	}
}

static void test_config_error_names_line(void **state)
{
	vg_config c;
	char err[128] = "", tiny[8];
	static const char text[] = "# 1\n\n# 3\nuser = a\n\n\nmax_clients = lots\nrot = file\n";

	(void)state;
	assert_int_equal(parse(&c, text, err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 7"));
	assert_int_equal(parse(&c, text, NULL, 0), VG_ERR_INVALID);
	memset(tiny, 'x', sizeof tiny);
	assert_int_equal(parse(&c, text, tiny, sizeof tiny), VG_ERR_INVALID);
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
	assert_int_equal(parse(&c, "a=1\r\nb\r\n", err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 1"));
}

/* SFR 4.2.10: budget rules parse for the default, a uid and a group, with
 * K/M/G suffixes; a repeated rule replaces the earlier one; the canonical
 * dump is sorted, so the order of the lines does not change it. */
static void test_config_budget_rules(void **state)
{
	vg_config a, b;
	char err[128] = "", ta[8192], tb[8192];
	size_t na, nb;
	static const char text[] = "budget.default.store_bytes = 1048576\n"
				   "budget.uid.1000.keys = 64\n"
				   "budget.group.audio.conns = 16\n"
				   "budget.group.my.team-1.inflight_bytes = 2M\n"
				   "budget.uid.1000.keys = 65\n"
				   "budget.default.idle_ms = 1K\n"
				   "budget.uid.0.store_bytes = 1G\n";
	static const char reordered[] = "budget.uid.0.store_bytes = 1G\n"
					"budget.default.idle_ms = 1024\n"
					"budget.group.my.team-1.inflight_bytes = 2097152\n"
					"budget.uid.1000.keys = 65\n"
					"budget.group.audio.conns = 16\n"
					"budget.default.store_bytes = 1M\n";

	(void)state;
	assert_int_equal(parse(&a, text, err, sizeof err), VG_OK);
	assert_int_equal(a.n_budget, 6);
	/* Sorted: default rules, then groups by name, then uids by number. */
	assert_int_equal(a.budget[0].scope, VG_BUDGET_SCOPE_DEFAULT);
	assert_int_equal(a.budget[0].res, VG_BUDGET_IDLE_MS);
	assert_int_equal(a.budget[0].value, 1024);
	assert_int_equal(a.budget[1].res, VG_BUDGET_STORE_BYTES);
	assert_int_equal(a.budget[1].value, 1048576);
	assert_int_equal(a.budget[2].scope, VG_BUDGET_SCOPE_GROUP);
	assert_string_equal(a.budget[2].group, "audio");
	assert_int_equal(a.budget[2].value, 16);
	assert_string_equal(a.budget[3].group, "my.team-1");
	assert_int_equal(a.budget[3].res, VG_BUDGET_INFLIGHT_BYTES);
	assert_int_equal(a.budget[3].value, 2u << 20);
	assert_int_equal(a.budget[4].scope, VG_BUDGET_SCOPE_UID);
	assert_int_equal(a.budget[4].uid, 0);
	assert_true(a.budget[4].value == (UINT64_C(1) << 30));
	assert_int_equal(a.budget[5].uid, 1000);
	assert_int_equal(a.budget[5].value, 65);

	na = vg_config_format(&a, ta, sizeof ta);
	assert_true(na > 0);
	assert_non_null(strstr(ta, "budget.uid.1000.keys = 65\n"));
	assert_non_null(strstr(ta, "budget.group.audio.conns = 16\n"));
	assert_int_equal(parse(&b, reordered, err, sizeof err), VG_OK);
	nb = vg_config_format(&b, tb, sizeof tb);
	assert_int_equal(na, nb);
	assert_memory_equal(ta, tb, na);
	/* The dump parses back to the same rules. */
	assert_int_equal(parse(&b, ta, err, sizeof err), VG_OK);
	assert_memory_equal(&a, &b, sizeof a);
}

/* SFR 4.2.10 / AVS SDK (protect configuration): a malformed budget rule is
 * refused with its line number, never ignored. */
static void test_config_budget_rules_rejected(void **state)
{
	vg_config c;
	char err[128], big[8192];
	size_t len = 0;

	(void)state;
	assert_kv_invalid("budget.default.cpu", "4");    /* unknown resource */
	assert_kv_invalid("budget.default", "4");        /* no resource */
	assert_kv_invalid("budget.everyone.conns", "4"); /* unknown scope */
	assert_kv_invalid("budget.uid.conns", "4");      /* no uid */
	assert_kv_invalid("budget.uid.-1.conns", "4");   /* not a number */
	assert_kv_invalid("budget.uid.1x.conns", "4");
	assert_kv_invalid("budget.uid.4294967295.conns", "4");  /* (uid_t)-1 */
	assert_kv_invalid("budget.uid.99999999999.conns", "4"); /* overflow */
	assert_kv_invalid("budget.group..conns", "4");          /* empty group */
	assert_kv_invalid("budget.group.a/b.conns", "4");       /* bad group name */
	assert_kv_invalid("budget.default.conns", "0");         /* below the minimum */
	assert_kv_invalid("budget.default.conns", "5000");      /* above the maximum */
	assert_kv_invalid("budget.default.conns", "");
	assert_kv_invalid("budget.default.conns", "-3");
	assert_kv_invalid("budget.default.conns", "4 K");
	assert_kv_invalid("budget.default.conns", "4k"); /* suffixes are K, M, G */
	assert_kv_invalid("budget.default.store_bytes", "1T");
	assert_kv_invalid("budget.default.store_bytes", "0x10");
	assert_kv_invalid("budget.default.store_bytes", "18014398509481984G"); /* overflow */
	assert_kv_invalid("budget.default.inflight_bytes", "2G");
	assert_kv_invalid("budget.default.idle_ms", "99");
	/* At most VG_CFG_MAX_BUDGET_RULES rules. */
	for (unsigned i = 0; i < VG_CFG_MAX_BUDGET_RULES; i++)
		len += (size_t)snprintf(big + len, sizeof big - len, "budget.uid.%u.keys = 1\n", i);
	assert_int_equal(parse(&c, big, err, sizeof err), VG_OK);
	assert_int_equal(c.n_budget, VG_CFG_MAX_BUDGET_RULES);
	/* Replacing one is still fine; one more is not. */
	(void)snprintf(big + len, sizeof big - len,
		       "budget.uid.3.keys = 2\nbudget.uid.%u.keys = 1\n", VG_CFG_MAX_BUDGET_RULES);
	assert_int_equal(parse(&c, big, err, sizeof err), VG_ERR_INVALID);
	assert_non_null(strstr(err, "line 66"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_defaults),
	    cmocka_unit_test(test_config_format_roundtrip),
	    cmocka_unit_test(test_config_every_key_parsed),
	    cmocka_unit_test(test_config_comments_and_blanks),
	    cmocka_unit_test(test_config_unknown_key_rejected),
	    cmocka_unit_test(test_config_missing_equals_rejected),
	    cmocka_unit_test(test_config_bad_numbers_rejected),
	    cmocka_unit_test(test_config_out_of_range_rejected),
	    cmocka_unit_test(test_config_socket_mode_world_rejected),
	    cmocka_unit_test(test_config_socket_mode_world_bits_below_0770_rejected),
	    cmocka_unit_test(test_config_bad_strings_rejected),
	    cmocka_unit_test(test_config_long_line_rejected),
	    cmocka_unit_test(test_config_embedded_nul_rejected),
	    cmocka_unit_test(test_config_file_over_64k_rejected),
	    cmocka_unit_test(test_config_error_names_line),
	    cmocka_unit_test(test_config_update_settings),
	    cmocka_unit_test(test_config_attest_pcrs),
	    cmocka_unit_test(test_config_budget_rules),
	    cmocka_unit_test(test_config_budget_rules_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
