/*
 * elf.h - a small, strict ELF reader for the exploit-mitigation audit of
 * `voxguard doctor` (AVS Device SDK: exploit mitigation; AVS 1.13: the
 * firmware image is scanned). It answers what checksec answers, from the
 * bytes of one file:
 *
 *   PIE      an ET_DYN object with PT_INTERP or DT_FLAGS_1 DF_1_PIE
 *            (static-pie); ET_DYN without either is a shared library;
 *   RELRO    PT_GNU_RELRO, full when DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW
 *            is set too (or the object has no dynamic section: nothing
 *            is bound lazily), partial with RELRO alone;
 *   canary   a symbol __stack_chk_fail or __stack_chk_guard (.dynsym, or
 *            .symtab of a static binary);
 *   NX       PT_GNU_STACK without PF_X (without PT_GNU_STACK the kernel
 *            gives an executable stack);
 *   FORTIFY  the imported (undefined) glibc functions that have a _chk
 *            twin: "fortified" counts the distinct __*_chk imported,
 *            "fortifiable" the distinct functions imported in either form;
 *   CET/BTI  the GNU property note (NT_GNU_PROPERTY_TYPE_0): x86 IBT and
 *            SHSTK, AArch64 BTI and PAC.
 *
 * The bytes are hostile (a firmware image from anywhere): every offset,
 * size and count is checked against the buffer before it is used, with
 * overflow-free arithmetic; counts are bounded, strings must end inside
 * their table. 32- and 64-bit, little and big endian. The reader never
 * writes to the buffer and keeps no pointer into it after it returns.
 * Fuzz target: fuzz/fuzz_elf.c; malformed cases: tests/test_posture_elf.c.
 */
#ifndef VG_POSTURE_ELF_H
#define VG_POSTURE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_ELF_MAX_PHNUM 65536u     /* program headers (PN_XNUM allows more) */
#define VG_ELF_MAX_SHNUM 65536u     /* section headers (e_shnum 0 allows more) */
#define VG_ELF_MAX_SYMS  (1u << 22) /* symbols looked at per table */
#define VG_ELF_MAX_DYN   65536u     /* dynamic entries looked at */
#define VG_ELF_MAX_NOTES 4096u      /* notes and properties looked at */

typedef enum vg_elf_relro {
	VG_ELF_RELRO_NONE = 0,
	VG_ELF_RELRO_PARTIAL = 1,
	VG_ELF_RELRO_FULL = 2,
} vg_elf_relro;

typedef struct vg_elf_info {
	unsigned bits; /* 32 or 64 */
	bool big_endian;
	uint16_t type;    /* e_type: ET_EXEC (2) or ET_DYN (3) */
	uint16_t machine; /* e_machine: EM_X86_64 62, EM_AARCH64 183, ... */
	bool has_interp;  /* PT_INTERP: dynamically linked executable */
	bool has_dynamic; /* PT_DYNAMIC */
	bool is_library;  /* ET_DYN, no PT_INTERP, no DF_1_PIE */
	bool pie;         /* position independent executable (libraries: false) */
	vg_elf_relro relro;
	bool canary;
	bool nx;
	bool has_symbols;     /* a symbol table was found (else canary/fortify unknown) */
	unsigned fortified;   /* distinct __*_chk functions imported */
	unsigned fortifiable; /* distinct fortifiable functions imported */
	bool ibt, shstk;      /* x86 GNU_PROPERTY_X86_FEATURE_1_AND */
	bool bti, pac;        /* AArch64 GNU_PROPERTY_AARCH64_FEATURE_1_AND */
} vg_elf_info;

/* Reads the ELF object in buf[0..len). VG_OK with *out filled for an
 * executable or shared object (ET_EXEC, ET_DYN); VG_ERR_UNSUPPORTED when
 * it is no ELF file (no magic) or another kind (relocatable, core, an
 * unknown class or byte order); VG_ERR_INVALID when a header or table is
 * malformed (why says which). *out is zeroed on any failure. */
VG_NODISCARD vg_rc vg_elf_parse(const uint8_t *buf, size_t len, vg_elf_info *out, char *why,
				size_t cap);

/* vg_elf_parse on the regular file fd (mapped read-only, private;
 * unmapped before return). VG_ERR_UNSUPPORTED for an empty or non-ELF
 * file without mapping it (the magic is read first). */
VG_NODISCARD vg_rc vg_elf_parse_fd(int fd, vg_elf_info *out, char *why, size_t cap);

/* "full", "partial", "none". */
const char *vg_elf_relro_str(vg_elf_relro r);

#endif
