/*
 * test_update_bootenv.c - the bootloader adapter (src/update/bootenv.h):
 * SFR 4.2.6 (secure update: a new slot is tried a bounded number of times
 * and the device falls back to the old one by itself), for each kind:
 * "file", "uboot" (fw_printenv/fw_setenv on a file-backed environment that
 * starts zero-filled, as a never-saved one) and "grub" (grub-editenv on a
 * temporary block). uboot and grub are skipped, saying so, only when
 * their tool is not installed. Then the tool runner (exit status, output
 * bound, timeout, descriptors and zombies, with fake tools) and the parser
 * of the tools' output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/wait.h>

#include "helpers.h"
#include "update/bootenv.h"

struct fx {
	const char *kind;
	char dir[64];
	char param[VGT_PATH];  /* what vg_bootenv_open() gets */
	char uenv[VGT_PATH];   /* uboot: the env "device" (a file) */
	char defenv[VGT_PATH]; /* uboot: u-boot-initial-env */
};

static bool have_tool(const char *name)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char line[VGT_PATH + 32];
	uint8_t *zero;

	assert_non_null(f);
	f->kind = *state;
	assert_int_equal(vgt_mkdtemp(f->dir), 0);
	if (strcmp(f->kind, "file") == 0) {
		vgt_path(f->param, f->dir, "boot.env");
	} else if (strcmp(f->kind, "grub") == 0) {
		vgt_path(f->param, f->dir, "grubenv");
	} else {
		/* A never-saved environment: 16 KiB of zeros, a bad CRC. */
		vgt_path(f->param, f->dir, "fw_env.config");
		vgt_path(f->uenv, f->dir, "uboot.env");
		vgt_path(f->defenv, f->dir, "u-boot-initial-env");
		(void)snprintf(line, sizeof line, "%s 0x0 0x4000\n", f->uenv);
		assert_int_equal(vgt_write(f->param, line, strlen(line), 0644), 0);
		zero = calloc(1, 0x4000);
		assert_non_null(zero);
		assert_int_equal(vgt_write(f->uenv, zero, 0x4000, 0644), 0);
		free(zero);
		static const char def[] = "bootcmd=run vg_boot\nbootdelay=0\n";
		assert_int_equal(vgt_write(f->defenv, def, sizeof def - 1, 0644), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vgt_rmrf(f->dir);
	free(f);
	return 0;
}

/* Skips (and says so) when the kind's tool is not installed. */
static void need_kind(const struct fx *f)
{
	const char *tool = strcmp(f->kind, "uboot") == 0  ? "fw_setenv"
			   : strcmp(f->kind, "grub") == 0 ? "grub-editenv"
							  : NULL;
	if (tool && !have_tool(tool)) {
		print_message("[  SKIP    ] %s: %s is not installed\n", f->kind, tool);
		skip();
	}
}

static vg_bootenv *open_kind(const struct fx *f, unsigned tries)
{
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_bootenv *b = NULL;
	vg_rc rc = vg_bootenv_open(&b, f->kind, f->param, tries, why);

	if (rc != VG_OK)
		print_message("open %s: %s\n", f->kind, why);
	assert_int_equal(rc, VG_OK);
	assert_non_null(b);
	return b;
}

static void expect_state(vg_bootenv *b, const char *order, unsigned a, unsigned bl)
{
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_boot_state st;
	vg_rc rc = vg_bootenv_read(b, &st, why);

	if (rc != VG_OK)
		print_message("read: %s\n", why);
	assert_int_equal(rc, VG_OK);
	assert_int_equal(st.order[0], order[0]);
	assert_int_equal(st.order[1], order[1]);
	assert_int_equal(st.left[0], a);
	assert_int_equal(st.left[1], bl);
}

static char boot(vg_bootenv *b)
{
	char why[VG_BOOTENV_WHY_LEN] = "", s = 'x';

	assert_int_equal(vg_bootenv_simulate_boot(b, &s, why), VG_OK);
	return s;
}

/* Sets one variable behind the adapter's back, with the kind's own tool. */
static void raw_set(const struct fx *f, const char *name, const char *value)
{
	char cmd[4 * VGT_PATH], line[64];

	if (strcmp(f->kind, "file") == 0) {
		(void)snprintf(line, sizeof line, "%s=%s\n", name, value);
		assert_int_equal(vgt_write(f->param, line, strlen(line), 0644), 0);
		return;
	}
	if (strcmp(f->kind, "grub") == 0)
		(void)snprintf(cmd, sizeof cmd, "grub-editenv '%s' set '%s=%s'", f->param, name,
			       value);
	else
		(void)snprintf(cmd, sizeof cmd, "fw_setenv -c '%s' -f '%s' -- %s '%s' 2>/dev/null",
			       f->param, f->defenv, name, value);
	assert_int_equal(system(cmd), 0);
}

/* ---- every kind ---- */

/* SFR 4.2.6: a fresh environment (absent file, zero-filled U-Boot env,
 * new GRUB block) reads as the defaults: order a b, both counts = tries. */
static void test_sfr426_bootenv_fresh_state_is_default(void **state)
{
	struct fx *f = *state;
	vg_bootenv *b;

	need_kind(f);
	b = open_kind(f, 0);
	expect_state(b, "ab", 3, 3);
	vg_bootenv_close(&b);
	assert_null(b);
	b = open_kind(f, 5);
	expect_state(b, "ab", 5, 5);
	vg_bootenv_close(&b);
	vg_bootenv_close(&b); /* NULL-safe */
	vg_bootenv_close(NULL);
}

/* SFR 4.2.6: activate b: b a, b has `tries` attempts; b is booted exactly
 * `tries` times without a mark-good, then a, automatically, until a too
 * runs out: then nothing is bootable (VG_ERR_STATE, nothing changes). */
static void test_sfr426_bootenv_trial_boots_then_automatic_fallback(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "", s = 'x';
	vg_bootenv *b;

	need_kind(f);
	b = open_kind(f, 3);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	expect_state(b, "ba", 3, 3);
	assert_int_equal(boot(b), 'b');
	expect_state(b, "ba", 3, 2);
	assert_int_equal(boot(b), 'b');
	assert_int_equal(boot(b), 'b');
	expect_state(b, "ba", 3, 0);
	/* b never passed its health check: the fallback. */
	assert_int_equal(boot(b), 'a');
	expect_state(b, "ba", 2, 0);
	assert_int_equal(boot(b), 'a');
	assert_int_equal(boot(b), 'a');
	assert_int_equal(vg_bootenv_simulate_boot(b, &s, why), VG_ERR_STATE);
	assert_non_null(strstr(why, "no slot"));
	assert_int_equal(s, '\0');
	expect_state(b, "ba", 0, 0);
	vg_bootenv_close(&b);
}

/* SFR 4.2.6: a trial boot of b that passes its health check is marked
 * good: b stays first with a full count, and keeps being booted as long as
 * each boot is marked good. Marking a good after a fallback puts a first. */
static void test_sfr426_bootenv_mark_good_keeps_new_slot(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_bootenv *b;

	need_kind(f);
	b = open_kind(f, 2);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	assert_int_equal(boot(b), 'b');
	expect_state(b, "ba", 2, 1);
	assert_int_equal(vg_bootenv_mark_good(b, 'b', why), VG_OK);
	expect_state(b, "ba", 2, 2);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(boot(b), 'b');
		assert_int_equal(vg_bootenv_mark_good(b, 'b', why), VG_OK);
	}
	expect_state(b, "ba", 2, 2);
	/* b stops passing: two boots, then a; the agent marks a good. */
	assert_int_equal(boot(b), 'b');
	assert_int_equal(boot(b), 'b');
	assert_int_equal(boot(b), 'a');
	assert_int_equal(vg_bootenv_mark_good(b, 'a', why), VG_OK);
	expect_state(b, "ab", 2, 0);
	assert_int_equal(boot(b), 'a');
	vg_bootenv_close(&b);
}

/* SFR 4.2.6: a slot marked bad is never booted until re-activated; a slot
 * other than a or b is refused and changes nothing. */
static void test_sfr426_bootenv_mark_bad(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_bootenv *b;

	need_kind(f);
	b = open_kind(f, 3);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	assert_int_equal(vg_bootenv_mark_bad(b, 'b', why), VG_OK);
	expect_state(b, "ba", 3, 0);
	assert_int_equal(boot(b), 'a');
	assert_int_equal(boot(b), 'a');
	expect_state(b, "ba", 1, 0);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	assert_int_equal(boot(b), 'b');
	why[0] = '\0';
	assert_int_equal(vg_bootenv_activate(b, 'c', why), VG_ERR_INVALID);
	assert_true(why[0] != '\0');
	assert_int_equal(vg_bootenv_mark_good(b, 'A', why), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_mark_bad(b, '\0', why), VG_ERR_INVALID);
	expect_state(b, "ba", 1, 2);
	vg_bootenv_close(&b);
}

/* SFR 4.2.6 fail closed: a malformed value is refused, naming the
 * variable, by read and by every transition (nothing is written). */
static void test_sfr426_bootenv_malformed_values_fail_closed(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name, *value;
	} bad[] = {
	    {"VG_A_LEFT", "x"},        {"VG_B_LEFT", "10"},        {"VG_A_LEFT", "-1"},
	    {"VG_BOOT_ORDER", "a a"},  {"VG_BOOT_ORDER", "a b c"}, {"VG_BOOT_ORDER", "ab"},
	    {"VG_BOOT_ORDER", "b a "},
	};
	char why[VG_BOOTENV_WHY_LEN], s;
	vg_boot_state st;
	vg_bootenv *b;

	need_kind(f);
	b = open_kind(f, 3);
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		assert_int_equal(vg_bootenv_activate(b, 'a', why), VG_OK); /* all three valid */
		raw_set(f, bad[i].name, bad[i].value);
		why[0] = '\0';
		assert_int_equal(vg_bootenv_read(b, &st, why), VG_ERR_INVALID);
		assert_non_null(strstr(why, bad[i].name));
		assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_ERR_INVALID);
		assert_int_equal(vg_bootenv_mark_good(b, 'b', why), VG_ERR_INVALID);
		assert_int_equal(vg_bootenv_mark_bad(b, 'b', why), VG_ERR_INVALID);
		assert_int_equal(vg_bootenv_simulate_boot(b, &s, why), VG_ERR_INVALID);
		/* still the bad value: nothing was written over it */
		assert_int_equal(vg_bootenv_read(b, &st, why), VG_ERR_INVALID);
		assert_non_null(strstr(why, bad[i].name));
		raw_set(f, bad[i].name, strcmp(bad[i].name, "VG_BOOT_ORDER") == 0 ? "a b" : "3");
		assert_int_equal(vg_bootenv_read(b, &st, why), VG_OK);
	}
	vg_bootenv_close(&b);
}

/* SFR 4.2.6: the state survives closing and re-opening the handle. */
static void test_sfr426_bootenv_state_survives_reopen(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_bootenv *b;

	need_kind(f);
	b = open_kind(f, 4);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	assert_int_equal(boot(b), 'b');
	vg_bootenv_close(&b);
	b = open_kind(f, 4);
	expect_state(b, "ba", 4, 3);
	vg_bootenv_close(&b);
}

/* SFR 4.2.6: the writes leave no temporary file beside the environment
 * (file: temp + rename; grub: edited copy + rename; uboot: a pipe). */
static void test_sfr426_bootenv_no_temp_files(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	size_t n = 0, want = strcmp(f->kind, "uboot") == 0 ? 3 : 1;
	struct dirent *e;
	vg_bootenv *b;
	DIR *d;

	need_kind(f);
	b = open_kind(f, 3);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	assert_int_equal(boot(b), 'b');
	assert_int_equal(vg_bootenv_mark_good(b, 'b', why), VG_OK);
	assert_int_equal(vg_bootenv_mark_bad(b, 'a', why), VG_OK);
	vg_bootenv_close(&b);
	d = opendir(f->dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!strchr(e->d_name, '.') || strcmp(e->d_name, "boot.env") == 0 ||
		    strcmp(e->d_name, "fw_env.config") == 0 || strcmp(e->d_name, "uboot.env") == 0)
			n++;
		else
			fail_msg("unexpected file %s", e->d_name);
	}
	(void)closedir(d);
	assert_int_equal(n, want);
}

/* The kind's tool missing from PATH: VG_ERR_UNSUPPORTED naming the tool
 * and the package (file needs no tool and opens). PATH is restored. */
static void test_sfr426_bootenv_missing_tool(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "", empty[VGT_PATH];
	char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	vg_bootenv *b = NULL;
	vg_rc rc;

	vgt_path(empty, f->dir, "emptybin");
	assert_int_equal(mkdir(empty, 0700), 0);
	assert_int_equal(setenv("PATH", empty, 1), 0);
	rc = vg_bootenv_open(&b, f->kind, f->param, 3, why);
	if (saved) {
		assert_int_equal(setenv("PATH", saved, 1), 0);
		free(saved);
	} else {
		assert_int_equal(unsetenv("PATH"), 0);
	}
	if (strcmp(f->kind, "file") == 0) {
		assert_int_equal(rc, VG_OK);
		vg_bootenv_close(&b);
		return;
	}
	assert_int_equal(rc, VG_ERR_UNSUPPORTED);
	assert_null(b);
	if (strcmp(f->kind, "uboot") == 0) {
		assert_non_null(strstr(why, "fw_setenv not found"));
		assert_non_null(strstr(why, "libubootenv-tool"));
	} else {
		assert_non_null(strstr(why, "grub-editenv not found"));
		assert_non_null(strstr(why, "grub-common"));
		assert_false(vgt_exists(f->param)); /* nothing created */
	}
	assert_non_null(strstr(why, "bootloader = file"));
}

/* ---- one kind ---- */

/* Open refuses what it cannot serve: an unknown kind, tries out of 1..9, a
 * path that would be a tool option, a missing path or config. */
static void test_sfr426_bootenv_open_refuses(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "", cfg[VGT_PATH];
	vg_bootenv *b = (vg_bootenv *)1;

	assert_int_equal(vg_bootenv_open(&b, "barebox", f->param, 3, why), VG_ERR_INVALID);
	assert_null(b);
	assert_non_null(strstr(why, "barebox"));
	assert_int_equal(vg_bootenv_open(&b, NULL, f->param, 3, why), VG_ERR_INVALID);
	why[0] = '\0';
	assert_int_equal(vg_bootenv_open(&b, "file", f->param, 10, why), VG_ERR_INVALID);
	assert_true(why[0] != '\0');
	assert_int_equal(vg_bootenv_open(&b, "file", NULL, 3, why), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_open(&b, "file", "", 3, why), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_open(&b, "file", "-h", 3, why), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_open(&b, "grub", "--version", 3, why), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_open(&b, "grub", NULL, 3, why), VG_ERR_INVALID);
	if (have_tool("fw_setenv")) {
		vgt_path(cfg, f->dir, "no-such-fw_env.config");
		assert_int_equal(vg_bootenv_open(&b, "uboot", cfg, 3, why), VG_ERR_NOT_FOUND);
		assert_non_null(strstr(why, "no-such-fw_env.config"));
	}
	assert_null(b);
	assert_false(vgt_exists(f->param));
	for (unsigned t = 1; t <= 9; t++) {
		b = open_kind(f, t);
		expect_state(b, "ab", t, t);
		vg_bootenv_close(&b);
	}
}

/* The file backend's content is the three NAME=VALUE lines, and an empty
 * value reads as absent (as in the boot scripts). */
static void test_sfr426_bootenv_file_format(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	static const char want[] = "VG_BOOT_ORDER=b a\nVG_A_LEFT=3\nVG_B_LEFT=2\n";
	uint8_t *c = NULL;
	size_t n = 0;
	vg_bootenv *b = open_kind(f, 3);

	assert_false(vgt_exists(f->param)); /* created by the first write */
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	assert_int_equal(boot(b), 'b');
	assert_int_equal(vgt_read(f->param, &c, &n), 0);
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(c, want, n);
	free(c);
	raw_set(f, "VG_A_LEFT", "");
	expect_state(b, "ab", 3, 3);
	vg_bootenv_close(&b);
}

/* U-Boot, never-saved environment (zero-filled, bad CRC): with U-Boot's
 * default environment beside the config the first write keeps its
 * variables (bootcmd); without it the read still gives the defaults but
 * the write is refused (a why naming u-boot-initial-env) and the
 * environment stays untouched: never an environment without bootcmd. */
static void test_sfr426_bootenv_uboot_fresh_env(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "", cmd[3 * VGT_PATH], v[64];
	uint8_t *c = NULL;
	size_t n = 0;
	FILE *p;
	vg_bootenv *b;

	need_kind(f);
	b = open_kind(f, 3);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	(void)snprintf(cmd, sizeof cmd, "fw_printenv -c '%s'", f->param);
	p = popen(cmd, "r");
	assert_non_null(p);
	c = malloc(8192);
	assert_non_null(c);
	n = fread(c, 1, 8192, p);
	assert_int_equal(pclose(p), 0); /* a valid environment now: no default needed */
	assert_int_equal(vg_bootenv_parse((char *)c, n, "bootcmd", v, sizeof v), VG_OK);
	assert_string_equal(v, "run vg_boot");
	assert_int_equal(vg_bootenv_parse((char *)c, n, "VG_BOOT_ORDER", v, sizeof v), VG_OK);
	assert_string_equal(v, "b a");
	free(c);
	vg_bootenv_close(&b);

	/* Again from zeros, without a default environment. */
	c = calloc(1, 0x4000);
	assert_non_null(c);
	assert_int_equal(vgt_write(f->uenv, c, 0x4000, 0644), 0);
	assert_int_equal(unlink(f->defenv), 0);
	b = open_kind(f, 3);
	expect_state(b, "ab", 3, 3);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_ERR_IO);
	assert_non_null(strstr(why, "fw_setenv exited with status"));
	assert_non_null(strstr(why, "u-boot-initial-env"));
	free(c);
	assert_int_equal(vgt_read(f->uenv, &c, &n), 0);
	assert_int_equal(n, 0x4000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(c[i], 0);
	free(c);
	vg_bootenv_close(&b);
}

/* U-Boot with a redundant pair (two copies, flags): the whole story, and
 * both copies end up written (libubootenv alternates between them). */
static void test_sfr426_bootenv_uboot_redundant(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "", second[VGT_PATH], line[2 * VGT_PATH + 64];
	uint8_t *c = NULL;
	size_t n = 0;
	vg_bootenv *b;

	need_kind(f);
	vgt_path(second, f->dir, "uboot2.env");
	assert_int_equal(vgt_copy(f->uenv, second), 0);
	(void)snprintf(line, sizeof line, "%s 0x0 0x4000\n%s 0x0 0x4000\n", f->uenv, second);
	assert_int_equal(vgt_write(f->param, line, strlen(line), 0644), 0);
	b = open_kind(f, 2);
	expect_state(b, "ab", 2, 2);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	assert_int_equal(boot(b), 'b');
	assert_int_equal(boot(b), 'b');
	assert_int_equal(boot(b), 'a');
	expect_state(b, "ba", 1, 0);
	for (int k = 0; k < 2; k++) {
		bool nonzero = false;
		assert_int_equal(vgt_read(k ? second : f->uenv, &c, &n), 0);
		for (size_t i = 0; i < n; i++)
			nonzero |= c[i] != 0;
		assert_true(nonzero);
		free(c);
	}
	vg_bootenv_close(&b);
}

/* GRUB: open creates a missing block (GRUB's save_env cannot), a valid
 * 1 KiB block that GRUB's own tool reads back with our values; later
 * writes rewrite it in place. */
static void test_sfr426_bootenv_grub_block(void **state)
{
	struct fx *f = *state;
	struct stat before, after;
	char why[VG_BOOTENV_WHY_LEN] = "";
	uint8_t *c = NULL;
	size_t n = 0;
	vg_bootenv *b;

	need_kind(f);
	assert_false(vgt_exists(f->param));
	b = open_kind(f, 3);
	assert_int_equal(vgt_read(f->param, &c, &n), 0);
	assert_int_equal(n, 1024);
	assert_memory_equal(c, "# GRUB Environment Block\n", 25);
	free(c);
	raw_set(f, "other", "kept");
	assert_int_equal(stat(f->param, &before), 0);
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_OK);
	/* Rewritten in place, as GRUB's save_env does: the same file, no
	 * rename (a rename on a FAT ESP did not survive a power cut). */
	assert_int_equal(stat(f->param, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(vgt_read(f->param, &c, &n), 0);
	assert_int_equal(n, 1024);
	assert_non_null(memmem(c, n, "VG_BOOT_ORDER=b a\n", 18));
	assert_non_null(memmem(c, n, "VG_B_LEFT=3\n", 12));
	assert_non_null(memmem(c, n, "other=kept\n", 11));
	free(c);
	vg_bootenv_close(&b);
}

/* ---- the tool runner, with fake tools ---- */

/* A fake grub-editenv (a shell script) in dir/fakebin; opens a grub
 * handle on it with PATH pointing there, and restores PATH. */
static vg_bootenv *open_fake(struct fx *f, const char *script)
{
	char bin[VGT_PATH], tool[VGT_PATH], why[VG_BOOTENV_WHY_LEN] = "";
	char *saved = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	vg_bootenv *b = NULL;
	vg_rc rc;

	assert_non_null(saved);
	vgt_path(bin, f->dir, "fakebin");
	(void)mkdir(bin, 0700);
	vgt_path(tool, f->dir, "fakebin/grub-editenv");
	assert_int_equal(vgt_write(tool, script, strlen(script), 0700), 0);
	assert_int_equal(vgt_write(f->param, "x", 1, 0644), 0); /* exists: not created */
	assert_int_equal(setenv("PATH", bin, 1), 0);
	rc = vg_bootenv_open(&b, "grub", f->param, 3, why);
	assert_int_equal(setenv("PATH", saved, 1), 0);
	free(saved);
	assert_int_equal(rc, VG_OK);
	return b;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	(void)closedir(d);
	return n;
}

static void no_child_left(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* A failing tool: VG_ERR_IO naming the tool and its exit status, or the
 * signal that killed it; what it printed is not used. */
static void test_sfr426_bootenv_tool_failure_is_named(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_boot_state st;
	vg_bootenv *b;

	b = open_fake(f, "#!/bin/sh\nPATH=/usr/bin:/bin\necho VG_BOOT_ORDER=b a\nexit 3\n");
	assert_int_equal(vg_bootenv_read(b, &st, why), VG_ERR_IO);
	assert_string_equal(why, "grub-editenv exited with status 3");
	assert_int_equal(vg_bootenv_activate(b, 'b', why), VG_ERR_IO);
	vg_bootenv_close(&b);
	b = open_fake(f, "#!/bin/sh\nPATH=/usr/bin:/bin\nkill -TERM $$\n");
	assert_int_equal(vg_bootenv_read(b, &st, why), VG_ERR_IO);
	assert_non_null(strstr(why, "grub-editenv was killed by signal 15"));
	vg_bootenv_close(&b);
	no_child_left();
}

/* A tool printing more than 64 KiB is killed (VG_ERR_TOO_LARGE); one that
 * prints 64 KiB exactly is read whole. */
static void test_sfr426_bootenv_tool_output_is_bounded(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_boot_state st;
	vg_bootenv *b;

	b = open_fake(f, "#!/bin/sh\nPATH=/usr/bin:/bin\nexec yes VG_A_LEFT=1\n");
	assert_int_equal(vg_bootenv_read(b, &st, why), VG_ERR_TOO_LARGE);
	assert_non_null(strstr(why, "grub-editenv printed more than 65536 bytes"));
	vg_bootenv_close(&b);
	/* 65536 bytes: 6552 lines of "x=1234567\n", "VG_A_LEFT=4\n" and "yyyy" */
	b = open_fake(
	    f, "#!/bin/sh\nPATH=/usr/bin:/bin\ni=0\nwhile [ $i -lt 6552 ]; do echo x=1234567; "
	       "i=$((i+1)); done\necho VG_A_LEFT=4\nprintf yyyy\n");
	assert_int_equal(vg_bootenv_read(b, &st, why), VG_OK);
	assert_int_equal(st.left[0], 4);
	vg_bootenv_close(&b);
	no_child_left();
}

/* A tool that hangs is killed after 10 s and reaped; the call fails. */
static void test_sfr426_bootenv_tool_timeout(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	vg_boot_state st;
	uint64_t t0;
	vg_bootenv *b;

	b = open_fake(f, "#!/bin/sh\nPATH=/usr/bin:/bin\nexec sleep 60\n");
	t0 = vg_mono_ms();
	assert_int_equal(vg_bootenv_read(b, &st, why), VG_ERR_IO);
	assert_true(vg_mono_ms() - t0 >= VG_BOOTENV_TIMEOUT_MS);
	assert_true(vg_mono_ms() - t0 < VG_BOOTENV_TIMEOUT_MS + 5000);
	assert_non_null(strstr(why, "grub-editenv did not finish within 10 s: killed"));
	vg_bootenv_close(&b);
	no_child_left();
}

/* Every descriptor is closed and every tool reaped, on success and on
 * failure, for every kind whose tool is installed. */
static void test_sfr426_bootenv_no_fd_leak_no_zombie(void **state)
{
	struct fx *f = *state;
	char why[VG_BOOTENV_WHY_LEN] = "";
	int before = count_fds();
	vg_boot_state st;
	vg_bootenv *b;

	need_kind(f);
	for (int i = 0; i < 20; i++) {
		b = open_kind(f, 3);
		assert_int_equal(vg_bootenv_activate(b, i & 1 ? 'a' : 'b', why), VG_OK);
		(void)boot(b);
		assert_int_equal(vg_bootenv_read(b, &st, why), VG_OK);
		vg_bootenv_close(&b);
	}
	raw_set(f, "VG_A_LEFT", "x");
	b = open_kind(f, 3);
	assert_int_equal(vg_bootenv_read(b, &st, why), VG_ERR_INVALID);
	vg_bootenv_close(&b);
	assert_int_equal(count_fds(), before);
	no_child_left();
}

/* ---- the parser ---- */

#define P(text, name, val, cap) vg_bootenv_parse(text, sizeof(text) - 1, name, val, cap)

/* A value by name; "NAMEX=" and "XNAME=" are other names; lines without
 * '=' are ignored; the last line needs no newline; an empty value is "". */
static void test_sfr426_bootenv_parse_names(void **state)
{
	char v[32];

	(void)state;
	static const char t[] = "VG_A_LEFTX=9\nXVG_A_LEFT=8\nnoise line\nVG_A_LEFT\n"
				"VG_A_LEFT=2\nVG_BOOT_ORDER=b a\nEMPTY=\nlast=1";
	assert_int_equal(P(t, "VG_A_LEFT", v, sizeof v), VG_OK);
	assert_string_equal(v, "2");
	assert_int_equal(P(t, "VG_A_LEFTX", v, sizeof v), VG_OK);
	assert_string_equal(v, "9");
	assert_int_equal(P(t, "VG_BOOT_ORDER", v, sizeof v), VG_OK);
	assert_string_equal(v, "b a");
	assert_int_equal(P(t, "EMPTY", v, sizeof v), VG_OK);
	assert_string_equal(v, "");
	assert_int_equal(P(t, "last", v, sizeof v), VG_OK);
	assert_string_equal(v, "1");
	assert_int_equal(P(t, "VG_A", v, sizeof v), VG_ERR_NOT_FOUND);
	assert_string_equal(v, "");
	assert_int_equal(P(t, "noise line", v, sizeof v), VG_ERR_NOT_FOUND);
	assert_int_equal(P(t, "VG_B_LEFT", v, sizeof v), VG_ERR_NOT_FOUND);
	static const char only_prefix[] = "VG_A_LEFTX=9\n";
	assert_int_equal(P(only_prefix, "VG_A_LEFT", v, sizeof v), VG_ERR_NOT_FOUND);
	static const char crlf[] = "VG_A_LEFT=3\r\n";
	assert_int_equal(P(crlf, "VG_A_LEFT", v, sizeof v), VG_OK);
	assert_string_equal(v, "3\r"); /* returned as is: read refuses it */
	assert_int_equal(vg_bootenv_parse(NULL, 0, "VG_A_LEFT", v, sizeof v), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_bootenv_parse("", 0, "VG_A_LEFT", v, sizeof v), VG_ERR_NOT_FOUND);
}

/* Fail closed: a name listed twice (e.g. a value with a newline that
 * forges a line) is refused, wherever the copies are. */
static void test_sfr426_bootenv_parse_duplicates(void **state)
{
	char v[32];

	(void)state;
	static const char t[] = "VG_A_LEFT=3\nVG_B_LEFT=1\nVG_A_LEFT=3\n";
	assert_int_equal(P(t, "VG_A_LEFT", v, sizeof v), VG_ERR_INVALID);
	assert_string_equal(v, "");
	assert_int_equal(P(t, "VG_B_LEFT", v, sizeof v), VG_OK);
}

/* Bounds: input over 64 KiB, the name's line over 4 KiB, a value that does
 * not fit in cap; other long lines are skipped, not refused. */
static void test_sfr426_bootenv_parse_long_lines(void **state)
{
	size_t big = VG_BOOTENV_MAX_INPUT + 1, n;
	char *t = malloc(big), *v = malloc(VG_BOOTENV_MAX_LINE + 1);

	(void)state;
	assert_non_null(t);
	assert_non_null(v);
	/* 5000 bytes of another variable, then ours */
	n = (size_t)sprintf(t, "bootcmd=");
	memset(t + n, 'x', 5000);
	n += 5000;
	n += (size_t)sprintf(t + n, "\nVG_B_LEFT=1\n");
	assert_int_equal(vg_bootenv_parse(t, n, "VG_B_LEFT", v, 16), VG_OK);
	assert_string_equal(v, "1");
	assert_int_equal(vg_bootenv_parse(t, n, "bootcmd", v, VG_BOOTENV_MAX_LINE + 1),
			 VG_ERR_TOO_LARGE);
	assert_string_equal(v, "");
	/* the name's line exactly 4096 bytes: read; 4097: refused */
	n = (size_t)sprintf(t, "VG_A_LEFT=");
	memset(t + n, '7', VG_BOOTENV_MAX_LINE - n);
	n = VG_BOOTENV_MAX_LINE;
	assert_int_equal(vg_bootenv_parse(t, n, "VG_A_LEFT", v, VG_BOOTENV_MAX_LINE + 1), VG_OK);
	assert_int_equal(strlen(v), VG_BOOTENV_MAX_LINE - 10);
	t[n++] = '7';
	assert_int_equal(vg_bootenv_parse(t, n, "VG_A_LEFT", v, VG_BOOTENV_MAX_LINE + 1),
			 VG_ERR_TOO_LARGE);
	/* a value longer than cap */
	assert_int_equal(vg_bootenv_parse("VG_A_LEFT=123", 13, "VG_A_LEFT", v, 4), VG_OK);
	assert_string_equal(v, "123");
	assert_int_equal(vg_bootenv_parse("VG_A_LEFT=1234", 14, "VG_A_LEFT", v, 4),
			 VG_ERR_TOO_LARGE);
	assert_string_equal(v, "");
	assert_int_equal(vg_bootenv_parse("VG_A_LEFT=1", 11, "VG_A_LEFT", v, 1), VG_ERR_TOO_LARGE);
	/* the whole input: 64 KiB is read, one byte more is refused */
	memset(t, '\n', big);
	memcpy(t + VG_BOOTENV_MAX_INPUT - 12, "VG_A_LEFT=5\n", 12);
	assert_int_equal(vg_bootenv_parse(t, VG_BOOTENV_MAX_INPUT, "VG_A_LEFT", v, 16), VG_OK);
	assert_string_equal(v, "5");
	assert_int_equal(vg_bootenv_parse(t, big, "VG_A_LEFT", v, 16), VG_ERR_TOO_LARGE);
	free(t);
	free(v);
}

/* NUL bytes are bytes: a NUL in our value is refused, elsewhere it does
 * not end the input; the parser never reads past len (an unterminated
 * heap buffer of exactly len bytes, for ASan). */
static void test_sfr426_bootenv_parse_nul_bytes(void **state)
{
	char v[32], *exact;

	(void)state;
	static const char t[] = "VG_A_LEFT=1\0\nother=\0\0\nVG_B_LEFT=2\nVG_BOOT\0ORDER=b a\n";
	assert_int_equal(P(t, "VG_A_LEFT", v, sizeof v), VG_ERR_INVALID);
	assert_string_equal(v, "");
	assert_int_equal(P(t, "VG_B_LEFT", v, sizeof v), VG_OK);
	assert_string_equal(v, "2");
	assert_int_equal(P(t, "VG_BOOT_ORDER", v, sizeof v), VG_ERR_NOT_FOUND);
	static const char lead[] = "\0VG_A_LEFT=4\n";
	assert_int_equal(P(lead, "VG_A_LEFT", v, sizeof v), VG_ERR_NOT_FOUND);
	exact = malloc(11);
	assert_non_null(exact);
	memcpy(exact, "VG_A_LEFT=7", 11);
	assert_int_equal(vg_bootenv_parse(exact, 11, "VG_A_LEFT", v, sizeof v), VG_OK);
	assert_string_equal(v, "7");
	assert_int_equal(vg_bootenv_parse(exact, 10, "VG_A_LEFT", v, sizeof v), VG_OK);
	assert_string_equal(v, "");
	assert_int_equal(vg_bootenv_parse(exact, 9, "VG_A_LEFT", v, sizeof v), VG_ERR_NOT_FOUND);
	free(exact);
}

/* Bad arguments: VG_ERR_INVALID, val "" when there is room. */
static void test_sfr426_bootenv_parse_arguments(void **state)
{
	char v[8] = "junk";

	(void)state;
	assert_int_equal(vg_bootenv_parse("a=1", 3, NULL, v, sizeof v), VG_ERR_INVALID);
	assert_string_equal(v, "");
	assert_int_equal(vg_bootenv_parse("a=1", 3, "", v, sizeof v), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_parse("a=1", 3, "a=", v, sizeof v), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_parse("a=1", 3, "a\n", v, sizeof v), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_parse(NULL, 3, "a", v, sizeof v), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_parse("a=1", 3, "a", NULL, 8), VG_ERR_INVALID);
	assert_int_equal(vg_bootenv_parse("a=1", 3, "a", v, 0), VG_ERR_INVALID);
}

/* One test per kind, named test_x/kind; the kind is the initial state. */
/* clang-format off */
#define FOR_KIND(fn, kind) {#fn "/" kind, fn, setup, teardown, (void *)(kind)}
#define FOR_EACH_KIND(fn) FOR_KIND(fn, "file"), FOR_KIND(fn, "uboot"), FOR_KIND(fn, "grub")
/* clang-format on */

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FOR_EACH_KIND(test_sfr426_bootenv_fresh_state_is_default),
	    FOR_EACH_KIND(test_sfr426_bootenv_trial_boots_then_automatic_fallback),
	    FOR_EACH_KIND(test_sfr426_bootenv_mark_good_keeps_new_slot),
	    FOR_EACH_KIND(test_sfr426_bootenv_mark_bad),
	    FOR_EACH_KIND(test_sfr426_bootenv_malformed_values_fail_closed),
	    FOR_EACH_KIND(test_sfr426_bootenv_state_survives_reopen),
	    FOR_EACH_KIND(test_sfr426_bootenv_no_temp_files),
	    FOR_EACH_KIND(test_sfr426_bootenv_missing_tool),
	    FOR_EACH_KIND(test_sfr426_bootenv_no_fd_leak_no_zombie),
	    FOR_KIND(test_sfr426_bootenv_open_refuses, "file"),
	    FOR_KIND(test_sfr426_bootenv_file_format, "file"),
	    FOR_KIND(test_sfr426_bootenv_uboot_fresh_env, "uboot"),
	    FOR_KIND(test_sfr426_bootenv_uboot_redundant, "uboot"),
	    FOR_KIND(test_sfr426_bootenv_grub_block, "grub"),
	    FOR_KIND(test_sfr426_bootenv_tool_failure_is_named, "grub"),
	    FOR_KIND(test_sfr426_bootenv_tool_output_is_bounded, "grub"),
	    FOR_KIND(test_sfr426_bootenv_tool_timeout, "grub"),
	    cmocka_unit_test(test_sfr426_bootenv_parse_names),
	    cmocka_unit_test(test_sfr426_bootenv_parse_duplicates),
	    cmocka_unit_test(test_sfr426_bootenv_parse_long_lines),
	    cmocka_unit_test(test_sfr426_bootenv_parse_nul_bytes),
	    cmocka_unit_test(test_sfr426_bootenv_parse_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
