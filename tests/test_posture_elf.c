/*
 * test_posture_elf.c - the ELF reader of `voxguard doctor`
 * (src/posture/elf.h): what it reports of real and crafted objects, and
 * that malformed ones (truncated headers, offsets past the end, huge
 * counts, overlapping or inconsistent tables) are refused with a reason,
 * never read out of bounds (run under the sanitizer build too).
 *
 * AVS Device SDK (exploit mitigation): PIE, RELRO, canary, NX, FORTIFY
 * are read from the binary itself, as checksec does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "posture/elf.h"

/* ------------------------------------------------------------------ */
/* A crafted object: ELF header, 3 program headers (GNU_STACK, GNU_RELRO,
 * DYNAMIC), the dynamic section, .dynstr, .dynsym (3 undefined symbols),
 * a GNU property note, section headers (null, .dynsym, .dynstr). */

struct img {
	uint8_t b[4096];
	size_t len;
	bool is64, be;
	size_t phoff, shoff, dynoff, stroff, symoff, noteoff;
};

static void put(struct img *m, size_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		m->b[off + (m->be ? n - 1 - i : i)] = (uint8_t)(v >> (8 * i));
}

static void putw(struct img *m, size_t off, uint64_t v)
{
	put(m, off, v, m->is64 ? 8 : 4);
}

static const char dynstr[] = "\0__stack_chk_fail\0__memcpy_chk\0strcpy\0";

static void build(struct img *m, bool is64, bool be, bool stack_x, bool bind_now)
{
	size_t eh = is64 ? 64 : 52, ph = is64 ? 56 : 32, sh = is64 ? 64 : 40, sym = is64 ? 24 : 16;
	size_t dynent = is64 ? 16 : 8;

	memset(m, 0, sizeof *m);
	m->is64 = is64;
	m->be = be;
	memcpy(m->b, "\177ELF", 4);
	m->b[4] = is64 ? 2 : 1;
	m->b[5] = be ? 2 : 1;
	m->b[6] = 1;
	m->phoff = eh;
	m->dynoff = m->phoff + 4 * ph;
	m->stroff = m->dynoff + 4 * dynent;
	m->symoff = (m->stroff + sizeof dynstr + 7) & ~(size_t)7;
	m->noteoff = m->symoff + 4 * sym;
	m->shoff = m->noteoff + 32;
	m->len = m->shoff + 3 * sh;

	put(m, 16, 3, 2);  /* ET_DYN */
	put(m, 18, 62, 2); /* EM_X86_64 */
	put(m, 20, 1, 4);
	if (is64) {
		putw(m, 32, m->phoff);
		putw(m, 40, m->shoff);
		put(m, 52, eh, 2);
		put(m, 54, ph, 2);
		put(m, 56, 4, 2);
		put(m, 58, sh, 2);
		put(m, 60, 3, 2);
		put(m, 62, 2, 2);
	} else {
		putw(m, 28, m->phoff);
		putw(m, 32, m->shoff);
		put(m, 40, eh, 2);
		put(m, 42, ph, 2);
		put(m, 44, 4, 2);
		put(m, 46, sh, 2);
		put(m, 48, 3, 2);
		put(m, 50, 2, 2);
	}
	/* program headers */
	{
		struct {
			uint32_t type, flags;
			uint64_t off, size, align;
		} p[4] = {{0x6474e551u, stack_x ? 7u : 6u, 0, 0, 16},
			  {0x6474e552u, 4, m->dynoff, 4 * dynent, 1},
			  {2, 6, m->dynoff, 4 * dynent, 8},
			  {0x6474e553u, 4, m->noteoff, 32, 8}};
		for (size_t i = 0; i < 4; i++) {
			size_t o = m->phoff + i * ph;
			put(m, o, p[i].type, 4);
			if (is64) {
				put(m, o + 4, p[i].flags, 4);
				putw(m, o + 8, p[i].off);
				putw(m, o + 32, p[i].size);
				putw(m, o + 40, p[i].size);
				putw(m, o + 48, p[i].align);
			} else {
				putw(m, o + 4, p[i].off);
				putw(m, o + 16, p[i].size);
				putw(m, o + 20, p[i].size);
				put(m, o + 24, p[i].flags, 4);
				putw(m, o + 28, p[i].align);
			}
		}
	}
	/* dynamic: DT_FLAGS_1 (PIE [+ NOW]), DT_NULL */
	putw(m, m->dynoff, 0x6ffffffbu);
	putw(m, m->dynoff + dynent / 2, 0x08000000u | (bind_now ? 1u : 0u));
	memcpy(m->b + m->stroff, dynstr, sizeof dynstr);
	/* symbols: null, then the three names, undefined (st_shndx 0) */
	put(m, m->symoff + 1 * sym, 1, 4);
	put(m, m->symoff + 2 * sym, 18, 4);
	put(m, m->symoff + 3 * sym, 31, 4);
	/* the GNU property note: IBT | SHSTK */
	put(m, m->noteoff, 4, 4);
	put(m, m->noteoff + 4, 16, 4);
	put(m, m->noteoff + 8, 5, 4);
	memcpy(m->b + m->noteoff + 12, "GNU", 4);
	put(m, m->noteoff + 16, 0xc0000002u, 4);
	put(m, m->noteoff + 20, 4, 4);
	put(m, m->noteoff + 24, 3, 4);
	/* sections: [1] .dynsym link 2, [2] .dynstr */
	{
		size_t s1 = m->shoff + sh, s2 = m->shoff + 2 * sh;
		put(m, s1 + 4, 11, 4);
		put(m, s2 + 4, 3, 4);
		if (is64) {
			putw(m, s1 + 24, m->symoff);
			putw(m, s1 + 32, 4 * sym);
			put(m, s1 + 40, 2, 4);
			putw(m, s1 + 56, sym);
			putw(m, s2 + 24, m->stroff);
			putw(m, s2 + 32, sizeof dynstr);
		} else {
			putw(m, s1 + 16, m->symoff);
			putw(m, s1 + 20, 4 * sym);
			put(m, s1 + 24, 2, 4);
			putw(m, s1 + 36, sym);
			putw(m, s2 + 16, m->stroff);
			putw(m, s2 + 20, sizeof dynstr);
		}
	}
}

static void expect_crafted(struct img *m, bool stack_x, bool bind_now)
{
	vg_elf_info e;
	char why[128] = "";

	assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
	assert_int_equal(e.bits, m->is64 ? 64 : 32);
	assert_int_equal(e.big_endian, m->be);
	assert_true(e.pie);
	assert_false(e.is_library);
	assert_int_equal(e.relro, bind_now ? VG_ELF_RELRO_FULL : VG_ELF_RELRO_PARTIAL);
	assert_int_equal(e.nx, !stack_x);
	assert_true(e.canary);
	assert_int_equal(e.fortified, 1);   /* __memcpy_chk */
	assert_int_equal(e.fortifiable, 2); /* memcpy, strcpy */
	assert_true(e.ibt);
	assert_true(e.shstk);
}

/* SDK exploit mitigation: 64- and 32-bit, both byte orders */
static void test_avs12_doctor_elf_crafted(void **state)
{
	struct img *m = malloc(sizeof *m);
	(void)state;
	for (int v = 0; v < 16; v++) {
		bool is64 = v & 1, be = v & 2, sx = v & 4, now = v & 8;
		build(m, is64, be, sx, now);
		expect_crafted(m, sx, now);
	}
	free(m);
}

/* SDK exploit mitigation: this test program itself, built with the
 * project's flags (PIE, -z relro -z now, -fstack-protector-strong,
 * noexecstack, -D_FORTIFY_SOURCE=3 outside sanitizer builds) */
static void test_avs12_doctor_elf_self(void **state)
{
	vg_elf_info e;
	char why[128];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(vg_elf_parse_fd(fd, &e, why, sizeof why), VG_OK);
	(void)close(fd);
	assert_true(e.pie);
	assert_true(e.has_interp);
	assert_int_equal(e.relro, VG_ELF_RELRO_FULL);
	assert_true(e.nx);
	assert_true(e.canary);
	assert_true(e.fortifiable > 0);
#if defined(__OPTIMIZE__) && defined(_FORTIFY_SOURCE) && !defined(__SANITIZE_ADDRESS__)
	assert_true(e.fortified > 0);
#endif
	/* /bin/sh is an ELF too, not a library */
	fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		assert_int_equal(vg_elf_parse_fd(fd, &e, why, sizeof why), VG_OK);
		(void)close(fd);
	}
}

/* Not ELF, or not an executable or shared object: unsupported, not an
 * error */
static void test_avs12_doctor_elf_not_elf(void **state)
{
	struct img *m = malloc(sizeof *m);
	vg_elf_info e;
	char why[128];
	int fd;
	(void)state;

	assert_int_equal(vg_elf_parse((const uint8_t *)"#!/bin/sh\n", 10, &e, why, sizeof why),
			 VG_ERR_UNSUPPORTED);
	assert_int_equal(vg_elf_parse((const uint8_t *)"", 0, &e, why, sizeof why),
			 VG_ERR_UNSUPPORTED);
	build(m, true, false, false, true);
	m->b[4] = 3; /* class */
	assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_ERR_UNSUPPORTED);
	build(m, true, false, false, true);
	m->b[5] = 0; /* byte order */
	assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_ERR_UNSUPPORTED);
	build(m, true, false, false, true);
	put(m, 16, 1, 2); /* ET_REL */
	assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_ERR_UNSUPPORTED);
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		assert_int_equal(vg_elf_parse_fd(fd, &e, why, sizeof why), VG_ERR_UNSUPPORTED);
		(void)close(fd);
	}
	free(m);
}

static void expect_invalid(struct img *m, const char *what)
{
	vg_elf_info e;
	char why[128] = "";
	vg_rc rc = vg_elf_parse(m->b, m->len, &e, why, sizeof why);

	if (rc != VG_ERR_INVALID)
		fail_msg("%s: rc %d, wanted VG_ERR_INVALID", what, rc);
	assert_true(why[0] != '\0');
	assert_false(e.pie || e.canary || e.nx);
}

/* Malformed: every truncation of the object, header fields past the
 * end, huge counts, tables that overlap or point nowhere. */
static void test_avs12_doctor_elf_malformed(void **state)
{
	struct img *m = malloc(sizeof *m);
	vg_elf_info e;
	char why[128];
	(void)state;

	for (int v = 0; v < 2; v++) {
		bool is64 = v == 0;
		size_t full;

		/* every truncation: refused or read within the shorter buffer
		 * (the sanitizer build proves the second) */
		build(m, is64, false, false, true);
		full = m->len;
		for (size_t l = 16; l < full; l++) {
			uint8_t *copy = malloc(l);
			vg_rc rc;
			memcpy(copy, m->b, l);
			rc = vg_elf_parse(copy, l, &e, why, sizeof why);
			assert_true(rc == VG_ERR_INVALID || rc == VG_OK);
			if (l < (is64 ? 64u : 52u))
				assert_int_equal(rc, VG_ERR_INVALID);
			free(copy);
		}
		/* program headers past the end */
		build(m, is64, false, false, true);
		putw(m, is64 ? 32 : 28, m->len - 8);
		expect_invalid(m, "phoff past the end");
		build(m, is64, false, false, true);
		putw(m, is64 ? 32 : 28, is64 ? UINT64_MAX - 8 : UINT32_MAX - 8);
		expect_invalid(m, "phoff wraps");
		/* a huge program header count */
		build(m, is64, false, false, true);
		put(m, is64 ? 56 : 44, 0xfffe, 2);
		expect_invalid(m, "huge phnum");
		/* PN_XNUM with section 0 giving a huge count */
		build(m, is64, false, false, true);
		put(m, is64 ? 56 : 44, 0xffff, 2);
		put(m, m->shoff + (is64 ? 44 : 28), 0x7fffffff, 4);
		expect_invalid(m, "PN_XNUM huge");
		/* program header entries too small */
		build(m, is64, false, false, true);
		put(m, is64 ? 54 : 42, 8, 2);
		expect_invalid(m, "phentsize small");
		/* section headers past the end, too small, too many */
		build(m, is64, false, false, true);
		putw(m, is64 ? 40 : 32, m->len + 100);
		expect_invalid(m, "shoff past the end");
		build(m, is64, false, false, true);
		put(m, is64 ? 58 : 46, 4, 2);
		expect_invalid(m, "shentsize small");
		build(m, is64, false, false, true);
		put(m, is64 ? 60 : 48, 0, 2); /* e_shnum 0: section 0's size says */
		putw(m, m->shoff + (is64 ? 32 : 20), (uint64_t)1 << 31);
		expect_invalid(m, "shnum 0 huge");
		/* .dynsym linked to a section past the table */
		build(m, is64, false, false, true);
		put(m, m->shoff + (is64 ? 64 + 40 : 40 + 24), 77, 4);
		expect_invalid(m, "sh_link out of range");
		/* .dynsym linked to itself (not a string table) */
		build(m, is64, false, false, true);
		put(m, m->shoff + (is64 ? 64 + 40 : 40 + 24), 1, 4);
		expect_invalid(m, "sh_link to a symbol table");
		/* symbol table past the end */
		build(m, is64, false, false, true);
		putw(m, m->shoff + (is64 ? 64 + 32 : 40 + 20), (uint64_t)1 << 30);
		expect_invalid(m, "dynsym size past the end");
		/* symbol entry size too small */
		build(m, is64, false, false, true);
		putw(m, m->shoff + (is64 ? 64 + 56 : 40 + 36), 3);
		expect_invalid(m, "sym entsize small");
		/* string table past the end */
		build(m, is64, false, false, true);
		putw(m, m->shoff + (is64 ? 128 + 24 : 80 + 16), m->len - 2);
		expect_invalid(m, "dynstr past the end");
		/* PT_DYNAMIC past the end */
		build(m, is64, false, false, true);
		putw(m, m->phoff + (is64 ? 2 * 56 + 8 : 2 * 32 + 4), m->len + 1);
		expect_invalid(m, "PT_DYNAMIC past the end");

		/* Inconsistent but in bounds: accepted, nothing invented. */
		/* names past their table: skipped */
		build(m, is64, false, false, true);
		put(m, m->symoff + (is64 ? 24 : 16), 0xffffff, 4);
		assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
		assert_false(e.canary);
		/* a string table without its final NUL: that name is skipped */
		build(m, is64, false, false, true);
		putw(m, m->shoff + (is64 ? 128 + 32 : 80 + 20), 17); /* cuts "__stack_chk_fail\0" */
		assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
		assert_false(e.canary);
		/* the symbol table overlapping the headers: read as bytes */
		build(m, is64, false, false, true);
		putw(m, m->shoff + (is64 ? 64 + 24 : 40 + 16), 0);
		assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
		/* a note whose sizes run past its segment: ignored */
		build(m, is64, false, false, true);
		put(m, m->noteoff + 4, 0xfffffff0u, 4);
		assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
		assert_false(e.ibt);
		/* a property whose size runs past the note: ignored */
		build(m, is64, false, false, true);
		put(m, m->noteoff + 20, 0xfffffff0u, 4);
		assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
		assert_false(e.ibt);
		/* no section headers: the dynamic section has no symbols
		 * either (no DT_SYMTAB): unknown, not "no canary" */
		build(m, is64, false, false, true);
		putw(m, is64 ? 40 : 32, 0);
		put(m, is64 ? 60 : 48, 0, 2);
		assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
		assert_false(e.has_symbols);
		/* no PT_GNU_STACK: an executable stack */
		build(m, is64, false, false, true);
		put(m, m->phoff, 0, 4);
		assert_int_equal(vg_elf_parse(m->b, m->len, &e, why, sizeof why), VG_OK);
		assert_false(e.nx);
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_avs12_doctor_elf_crafted),
	    cmocka_unit_test(test_avs12_doctor_elf_self),
	    cmocka_unit_test(test_avs12_doctor_elf_not_elf),
	    cmocka_unit_test(test_avs12_doctor_elf_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
