/*
 * fuzz_bootenv.c - libFuzzer harness for the bootloader environment
 * parser (SFR 4.2.6: the A/B state comes from `fw_printenv` or
 * `grub-editenv list` output, or a file, that the update agent does not
 * control). Each input is one listing:
 *  - vg_bootenv_parse() for our three names, a prefix and an extension of
 *    them, and a name taken from the input, with a cap taken from the
 *    input: a success returns a terminated value that is in the input
 *    after "NAME=", with no NUL and shorter than cap; a failure leaves "";
 *  - then the listing is the "file" backend's content and
 *    vg_bootenv_read() must return a state the boot scripts can hold
 *    (order "a b" or "b a", counts 0..9) or refuse it with a why.
 * Nothing may crash, leak, read past the input or hang.
 * Seed corpus: fuzz/corpus/bootenv/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "update/bootenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const uint8_t *data, size_t size, const char *name, const char *val,
			size_t cap, vg_rc rc)
{
	size_t nl = strlen(name), vl;
	const uint8_t *p;

	if (memchr(val, '\0', cap) == NULL)
		abort();
	if (rc != VG_OK) {
		if (val[0] != '\0')
			abort();
		return;
	}
	vl = strlen(val);
	if (vl >= cap || vl + nl + 1 > size || vl + nl + 1 > VG_BOOTENV_MAX_LINE)
		abort();
	/* "NAME=VALUE" then a newline or the end, at the start of a line. */
	for (p = data; (p = memmem(p, size - (size_t)(p - data), name, nl)) != NULL; p++) {
		size_t off = (size_t)(p - data);
		if ((off == 0 || data[off - 1] == '\n') && off + nl + 1 + vl <= size &&
		    data[off + nl] == '=' && memcmp(data + off + nl + 1, val, vl) == 0 &&
		    (off + nl + 1 + vl == size || data[off + nl + 1 + vl] == '\n'))
			return;
	}
	abort();
}

static char tmp_dir[200], tmp_path[256];

static void cleanup(void)
{
	(void)unlink(tmp_path);
	(void)rmdir(tmp_dir);
}

/* One private directory per fuzzing process, removed at exit. */
static const char *state_file(void)
{
	if (!tmp_path[0]) {
		(void)snprintf(tmp_dir, sizeof tmp_dir, "%s/vgfuzzbootenv.XXXXXX",
			       getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(tmp_dir))
			abort();
		(void)snprintf(tmp_path, sizeof tmp_path, "%s/boot.env", tmp_dir);
		(void)atexit(cleanup);
	}
	return tmp_path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"VG_BOOT_ORDER", "VG_A_LEFT",  "VG_B_LEFT",
					    "VG_A",          "VG_A_LEFTX", "bootcmd"};
	char val[VG_BOOTENV_MAX_LINE + 1], own[32], why[VG_BOOTENV_WHY_LEN];
	size_t cap = size ? (size_t)data[0] % 40 + 1 : 16, n;
	const char *path = state_file();
	vg_bootenv *b = NULL;
	vg_boot_state st;
	FILE *f;
	vg_rc rc;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		rc = vg_bootenv_parse((const char *)data, size, names[i], val, cap);
		check_value(data, size, names[i], val, cap, rc);
		rc = vg_bootenv_parse((const char *)data, size, names[i], val, sizeof val);
		check_value(data, size, names[i], val, sizeof val, rc);
	}
	/* A name from the input: the bytes after the first, up to '='. */
	for (n = 0; n + 1 < size && n < sizeof own - 1 && data[n + 1] != '=' &&
		    data[n + 1] != '\n' && data[n + 1] != '\0';
	     n++)
		own[n] = (char)data[n + 1];
	own[n] = '\0';
	rc = vg_bootenv_parse((const char *)data, size, own, val, sizeof val);
	if (n == 0 && rc != VG_ERR_INVALID)
		abort();
	if (n > 0)
		check_value(data, size, own, val, sizeof val, rc);

	/* The whole read path of the file backend. */
	f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	if (vg_bootenv_open(&b, "file", path, 3, why) != VG_OK)
		abort();
	why[0] = '\0';
	rc = vg_bootenv_read(b, &st, why);
	if (rc == VG_OK) {
		if (!((st.order[0] == 'a' && st.order[1] == 'b') ||
		      (st.order[0] == 'b' && st.order[1] == 'a')) ||
		    st.left[0] > 9 || st.left[1] > 9)
			abort();
	} else if (!why[0] || memchr(why, '\0', sizeof why) == NULL) {
		abort();
	}
	vg_bootenv_close(&b);
	return 0;
}
