/*
 * elf.c - the strict ELF reader of the exploit-mitigation audit (see
 * elf.h). Every access goes through span(): an (offset, size) pair is
 * inside the buffer or the read fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "posture/elf.h"

#define ET_EXEC 2
#define ET_DYN  3

#define PT_LOAD         1
#define PT_DYNAMIC      2
#define PT_INTERP       3
#define PT_NOTE         4
#define PT_GNU_STACK    0x6474e551u
#define PT_GNU_RELRO    0x6474e552u
#define PT_GNU_PROPERTY 0x6474e553u
#define PF_X            1u
#define PN_XNUM         0xffffu

#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_NOTE   7
#define SHT_NOBITS 8
#define SHT_DYNSYM 11
#define SHN_UNDEF  0

#define DT_NULL     0
#define DT_HASH     4
#define DT_STRTAB   5
#define DT_SYMTAB   6
#define DT_STRSZ    10
#define DT_SYMENT   11
#define DT_BIND_NOW 24
#define DT_FLAGS    30
#define DT_FLAGS_1  0x6ffffffbu
#define DF_BIND_NOW 0x8u
#define DF_1_NOW    0x1u
#define DF_1_PIE    0x08000000u

#define NT_GNU_PROPERTY_TYPE_0             5
#define GNU_PROPERTY_X86_FEATURE_1_AND     0xc0000002u
#define GNU_PROPERTY_AARCH64_FEATURE_1_AND 0xc0000000u
#define EM_X86_64                          62
#define EM_386                             3
#define EM_AARCH64                         183

struct elf {
	const uint8_t *b;
	size_t len;
	bool be, is64;
	uint64_t phoff, shoff;
	size_t phentsize, shentsize, phnum, shnum;
	char *why;
	size_t cap;
};

/* [off, off+size) lies inside the buffer. */
static bool span(const struct elf *e, uint64_t off, uint64_t size)
{
	return off <= e->len && size <= e->len - off;
}

static uint16_t r16(const struct elf *e, const uint8_t *p)
{
	return e->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t r32(const struct elf *e, const uint8_t *p)
{
	if (e->be)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t r64(const struct elf *e, const uint8_t *p)
{
	uint64_t hi = r32(e, e->be ? p : p + 4), lo = r32(e, e->be ? p + 4 : p);
	return hi << 32 | lo;
}

/* A word of the class: 4 bytes in ELF32, 8 in ELF64. */
static uint64_t rw(const struct elf *e, const uint8_t *p)
{
	return e->is64 ? r64(e, p) : r32(e, p);
}

/* A table of n entries of entsize bytes at off lies inside the buffer. */
static bool table_ok(const struct elf *e, uint64_t off, uint64_t n, uint64_t entsize)
{
	if (n == 0)
		return true;
	if (entsize == 0 || n > UINT64_MAX / entsize)
		return false;
	return span(e, off, n * entsize);
}

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, align;
};

static void read_phdr(const struct elf *e, size_t i, struct phdr *ph)
{
	const uint8_t *p = e->b + e->phoff + i * e->phentsize;

	ph->type = r32(e, p);
	if (e->is64) {
		ph->flags = r32(e, p + 4);
		ph->offset = r64(e, p + 8);
		ph->vaddr = r64(e, p + 16);
		ph->filesz = r64(e, p + 32);
		ph->align = r64(e, p + 48);
	} else {
		ph->offset = r32(e, p + 4);
		ph->vaddr = r32(e, p + 8);
		ph->filesz = r32(e, p + 16);
		ph->flags = r32(e, p + 24);
		ph->align = r32(e, p + 28);
	}
}

struct shdr {
	uint32_t type, link;
	uint64_t offset, size, entsize, info;
};

static void read_shdr(const struct elf *e, size_t i, struct shdr *sh)
{
	const uint8_t *p = e->b + e->shoff + i * e->shentsize;

	sh->type = r32(e, p + 4);
	if (e->is64) {
		sh->offset = r64(e, p + 24);
		sh->size = r64(e, p + 32);
		sh->link = r32(e, p + 40);
		sh->info = r32(e, p + 44);
		sh->entsize = r64(e, p + 56);
	} else {
		sh->offset = r32(e, p + 16);
		sh->size = r32(e, p + 20);
		sh->link = r32(e, p + 24);
		sh->info = r32(e, p + 28);
		sh->entsize = r32(e, p + 36);
	}
}

/* The fortifiable functions: glibc's functions with a __NAME_chk twin. */
static const char *const fortifiable[] = {
    "asprintf",       "confstr",        "dprintf",
    "explicit_bzero", "fdelt",          "fgets",
    "fgets_unlocked", "fgetws",         "fgetws_unlocked",
    "fprintf",        "fread",          "fread_unlocked",
    "fwprintf",       "getcwd",         "getdomainname",
    "getgroups",      "gethostname",    "getlogin_r",
    "gets",           "getwd",          "longjmp",
    "mbsnrtowcs",     "mbsrtowcs",      "mbstowcs",
    "memcpy",         "memmove",        "mempcpy",
    "memset",         "obstack_printf", "obstack_vprintf",
    "poll",           "ppoll",          "pread",
    "pread64",        "printf",         "ptsname_r",
    "read",           "readlink",       "readlinkat",
    "realpath",       "recv",           "recvfrom",
    "snprintf",       "sprintf",        "stpcpy",
    "stpncpy",        "strcat",         "strcpy",
    "strlcat",        "strlcpy",        "strncat",
    "strncpy",        "swprintf",       "syslog",
    "ttyname_r",      "vasprintf",      "vdprintf",
    "vfprintf",       "vfwprintf",      "vprintf",
    "vsnprintf",      "vsprintf",       "vswprintf",
    "vsyslog",        "vwprintf",       "wcpcpy",
    "wcpncpy",        "wcrtomb",        "wcscat",
    "wcscpy",         "wcslcat",        "wcslcpy",
    "wcsncat",        "wcsncpy",        "wcsnrtombs",
    "wcsrtombs",      "wcstombs",       "wctomb",
    "wmemcpy",        "wmemmove",       "wmempcpy",
    "wmemset",        "wprintf",
};
#define N_FORT (sizeof fortifiable / sizeof fortifiable[0])

struct symscan {
	bool canary;
	bool seen_plain[N_FORT], seen_chk[N_FORT];
	bool any;
};

static int fort_index(const char *name, size_t n)
{
	for (size_t i = 0; i < N_FORT; i++)
		if (strlen(fortifiable[i]) == n && memcmp(fortifiable[i], name, n) == 0)
			return (int)i;
	return -1;
}

static void note_symbol(struct symscan *s, const char *name, bool undefined)
{
	size_t n = strlen(name);
	int i;

	if (strcmp(name, "__stack_chk_fail") == 0 || strcmp(name, "__stack_chk_guard") == 0) {
		s->canary = true;
		return;
	}
	if (!undefined)
		return; /* FORTIFY is about what the object imports */
	if (n > 6 && memcmp(name, "__", 2) == 0 && memcmp(name + n - 4, "_chk", 4) == 0) {
		i = fort_index(name + 2, n - 6);
		if (i >= 0)
			s->seen_chk[i] = true;
		return;
	}
	i = fort_index(name, n);
	if (i >= 0)
		s->seen_plain[i] = true;
}

/* Scans nsyms symbols of entsize bytes at symoff, names in the string
 * table [stroff, stroff+strsize). Both ranges are checked by the caller. */
static void scan_syms(const struct elf *e, uint64_t symoff, uint64_t nsyms, uint64_t entsize,
		      uint64_t stroff, uint64_t strsize, struct symscan *s)
{
	if (nsyms > VG_ELF_MAX_SYMS)
		nsyms = VG_ELF_MAX_SYMS;
	s->any = true;
	for (uint64_t i = 0; i < nsyms; i++) {
		const uint8_t *p = e->b + symoff + i * entsize;
		uint32_t name = r32(e, p);
		uint16_t shndx = r16(e, e->is64 ? p + 6 : p + 14);
		const char *str;

		if (name == 0 || name >= strsize)
			continue;
		str = (const char *)e->b + stroff + name;
		/* the name must end inside its table */
		if (!memchr(str, '\0', strsize - name))
			continue;
		note_symbol(s, str, shndx == SHN_UNDEF);
	}
}

static size_t sym_size(const struct elf *e)
{
	return e->is64 ? 24 : 16;
}

/* Symbols through the section headers (.dynsym, .symtab). */
static vg_rc syms_from_sections(const struct elf *e, struct symscan *s, bool *found)
{
	*found = false;
	for (size_t i = 0; i < e->shnum; i++) {
		struct shdr sh, st;
		uint64_t ent;

		read_shdr(e, i, &sh);
		if (sh.type != SHT_DYNSYM && sh.type != SHT_SYMTAB)
			continue;
		if (sh.link >= e->shnum)
			return vg_why(e->why, e->cap, VG_ERR_INVALID,
				      "section %zu: string table index %u past the section table",
				      i, sh.link);
		read_shdr(e, sh.link, &st);
		if (st.type != SHT_STRTAB)
			return vg_why(e->why, e->cap, VG_ERR_INVALID,
				      "section %zu: linked section is no string table", i);
		ent = sh.entsize ? sh.entsize : sym_size(e);
		if (ent < sym_size(e))
			return vg_why(e->why, e->cap, VG_ERR_INVALID,
				      "section %zu: symbol entry size %llu too small", i,
				      (unsigned long long)ent);
		if (!span(e, sh.offset, sh.size) || !span(e, st.offset, st.size))
			return vg_why(
			    e->why, e->cap, VG_ERR_INVALID,
			    "section %zu: symbol or string table past the end of the file", i);
		scan_syms(e, sh.offset, sh.size / ent, ent, st.offset, st.size, s);
		*found = true;
	}
	return VG_OK;
}

/* A virtual address range mapped from the file by a PT_LOAD: its offset. */
static bool vaddr_to_off(const struct elf *e, uint64_t vaddr, uint64_t size, uint64_t *off)
{
	for (size_t i = 0; i < e->phnum; i++) {
		struct phdr ph;

		read_phdr(e, i, &ph);
		if (ph.type != PT_LOAD || vaddr < ph.vaddr)
			continue;
		if (vaddr - ph.vaddr > ph.filesz || size > ph.filesz - (vaddr - ph.vaddr))
			continue;
		if (ph.offset > UINT64_MAX - (vaddr - ph.vaddr))
			continue;
		*off = ph.offset + (vaddr - ph.vaddr);
		return span(e, *off, size);
	}
	return false;
}

struct dyninfo {
	bool bind_now, pie_flag;
	uint64_t symtab, strtab, strsz, syment, hash;
	bool has_symtab, has_strtab, has_hash;
};

static vg_rc read_dynamic(const struct elf *e, const struct phdr *ph, struct dyninfo *d)
{
	size_t entsz = e->is64 ? 16 : 8;
	uint64_t n;

	if (!span(e, ph->offset, ph->filesz))
		return vg_why(e->why, e->cap, VG_ERR_INVALID,
			      "PT_DYNAMIC past the end of the file");
	n = ph->filesz / entsz;
	if (n > VG_ELF_MAX_DYN)
		n = VG_ELF_MAX_DYN;
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *p = e->b + ph->offset + i * entsz;
		uint64_t tag = rw(e, p), val = rw(e, p + entsz / 2);

		if (tag == DT_NULL)
			break;
		switch (tag) {
		case DT_BIND_NOW:
			d->bind_now = true;
			break;
		case DT_FLAGS:
			d->bind_now |= (val & DF_BIND_NOW) != 0;
			break;
		case DT_FLAGS_1:
			d->bind_now |= (val & DF_1_NOW) != 0;
			d->pie_flag |= (val & DF_1_PIE) != 0;
			break;
		case DT_SYMTAB:
			d->symtab = val;
			d->has_symtab = true;
			break;
		case DT_STRTAB:
			d->strtab = val;
			d->has_strtab = true;
			break;
		case DT_STRSZ:
			d->strsz = val;
			break;
		case DT_SYMENT:
			d->syment = val;
			break;
		case DT_HASH:
			d->hash = val;
			d->has_hash = true;
			break;
		default:
			break;
		}
	}
	return VG_OK;
}

/* Symbols through the dynamic section, for objects without section
 * headers: the count from DT_HASH's nchain, else up to the string table
 * when it follows the symbols (the linkers' layout). */
static void syms_from_dynamic(const struct elf *e, const struct dyninfo *d, struct symscan *s)
{
	uint64_t ent = d->syment ? d->syment : sym_size(e), symoff, stroff, nsyms = 0, hoff;

	/* an entry size past 256 is nonsense (and could overflow below) */
	if (!d->has_symtab || !d->has_strtab || ent < sym_size(e) || ent > 256 || d->strsz == 0)
		return;
	if (!vaddr_to_off(e, d->strtab, d->strsz, &stroff))
		return;
	if (d->has_hash && vaddr_to_off(e, d->hash, 8, &hoff))
		nsyms = r32(e, e->b + hoff + 4);
	else if (d->strtab > d->symtab)
		nsyms = (d->strtab - d->symtab) / ent;
	if (nsyms > VG_ELF_MAX_SYMS)
		nsyms = VG_ELF_MAX_SYMS;
	if (nsyms == 0 || !vaddr_to_off(e, d->symtab, nsyms * ent, &symoff))
		return;
	scan_syms(e, symoff, nsyms, ent, stroff, d->strsz, s);
}

/* GNU property notes in [off, off+size), aligned to align (4 or 8). */
static void scan_notes(const struct elf *e, uint64_t off, uint64_t size, uint64_t align,
		       vg_elf_info *out, unsigned *budget)
{
	uint64_t end, pa = e->is64 ? 8 : 4;

	if (align != 8)
		align = 4;
	if (!span(e, off, size))
		return;
	end = off + size;
	while (end - off >= 12 && *budget > 0) {
		const uint8_t *p = e->b + off;
		uint64_t namesz = r32(e, p), descsz = r32(e, p + 4), type = r32(e, p + 8);
		/* the descriptor starts at the header plus the name, aligned
		 * (the kernel's ALIGN(sizeof(Elf_Nhdr) + namesz, align)) */
		uint64_t hdr_pad = (12 + namesz + align - 1) / align * align;
		uint64_t desc_pad = (descsz + align - 1) / align * align;
		uint64_t doff;

		(*budget)--;
		if (hdr_pad > end - off)
			return;
		doff = off + hdr_pad;
		if (descsz > end - doff)
			return;
		if (type == NT_GNU_PROPERTY_TYPE_0 && namesz == 4 &&
		    memcmp(p + 12, "GNU", 4) == 0) {
			uint64_t q = doff, qend = doff + descsz;

			while (qend - q >= 8 && *budget > 0) {
				uint32_t pt = r32(e, e->b + q), sz = r32(e, e->b + q + 4);
				uint64_t sz_pad = ((uint64_t)sz + pa - 1) / pa * pa;

				(*budget)--;
				if (sz > qend - q - 8)
					break;
				if (sz >= 4 && pt == GNU_PROPERTY_X86_FEATURE_1_AND) {
					uint32_t f = r32(e, e->b + q + 8);
					out->ibt |= (f & 1u) != 0;
					out->shstk |= (f & 2u) != 0;
				}
				if (sz >= 4 && pt == GNU_PROPERTY_AARCH64_FEATURE_1_AND) {
					uint32_t f = r32(e, e->b + q + 8);
					out->bti |= (f & 1u) != 0;
					out->pac |= (f & 2u) != 0;
				}
				if (sz_pad > qend - q - 8)
					break;
				q += 8 + sz_pad;
			}
		}
		if (desc_pad > end - doff)
			return;
		off = doff + desc_pad;
	}
}

vg_rc vg_elf_parse(const uint8_t *buf, size_t len, vg_elf_info *out, char *why, size_t cap)
{
	struct elf e = {.b = buf, .len = len, .why = why, .cap = cap};
	struct symscan *s = NULL;
	struct dyninfo d = {0};
	bool has_relro = false, has_stack = false, stack_x = false, have_prop = false;
	bool sec_syms = false;
	struct phdr dyn = {0};
	unsigned budget = VG_ELF_MAX_NOTES;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	if (len < 16 || memcmp(buf, "\177ELF", 4) != 0)
		return vg_why(why, cap, VG_ERR_UNSUPPORTED, "not an ELF file");
	if (buf[4] != 1 && buf[4] != 2)
		return vg_why(why, cap, VG_ERR_UNSUPPORTED, "unknown ELF class %u", buf[4]);
	if (buf[5] != 1 && buf[5] != 2)
		return vg_why(why, cap, VG_ERR_UNSUPPORTED, "unknown ELF byte order %u", buf[5]);
	e.is64 = buf[4] == 2;
	e.be = buf[5] == 2;
	if (len < (e.is64 ? 64u : 52u))
		return vg_why(why, cap, VG_ERR_INVALID, "truncated ELF header (%zu bytes)", len);
	out->bits = e.is64 ? 64 : 32;
	out->big_endian = e.be;
	out->type = r16(&e, buf + 16);
	out->machine = r16(&e, buf + 18);
	if (out->type != ET_EXEC && out->type != ET_DYN) {
		rc = vg_why(why, cap, VG_ERR_UNSUPPORTED,
			    "ELF type %u: not an executable or shared object", out->type);
		goto fail;
	}
	if (e.is64) {
		e.phoff = r64(&e, buf + 32);
		e.shoff = r64(&e, buf + 40);
		e.phentsize = r16(&e, buf + 54);
		e.phnum = r16(&e, buf + 56);
		e.shentsize = r16(&e, buf + 58);
		e.shnum = r16(&e, buf + 60);
	} else {
		e.phoff = r32(&e, buf + 28);
		e.shoff = r32(&e, buf + 32);
		e.phentsize = r16(&e, buf + 42);
		e.phnum = r16(&e, buf + 44);
		e.shentsize = r16(&e, buf + 46);
		e.shnum = r16(&e, buf + 48);
	}
	/* The section headers (checked first: PN_XNUM and e_shnum == 0 keep
	 * the real counts in section 0). */
	if (e.shoff == 0) {
		e.shnum = 0;
	} else {
		struct shdr s0;

		if (e.shentsize < (e.is64 ? 64u : 40u)) {
			rc = vg_why(why, cap, VG_ERR_INVALID, "section header size %zu too small",
				    e.shentsize);
			goto fail;
		}
		if (!table_ok(&e, e.shoff, 1, e.shentsize)) {
			rc = vg_why(why, cap, VG_ERR_INVALID,
				    "section headers past the end of the file");
			goto fail;
		}
		read_shdr(&e, 0, &s0);
		if (e.shnum == 0)
			e.shnum =
			    s0.size > VG_ELF_MAX_SHNUM ? VG_ELF_MAX_SHNUM + 1 : (size_t)s0.size;
		if (e.phnum == PN_XNUM)
			e.phnum = (size_t)s0.info;
		if (e.shnum > VG_ELF_MAX_SHNUM) {
			rc = vg_why(why, cap, VG_ERR_INVALID, "too many section headers");
			goto fail;
		}
		if (!table_ok(&e, e.shoff, e.shnum, e.shentsize)) {
			rc = vg_why(why, cap, VG_ERR_INVALID,
				    "section headers past the end of the file");
			goto fail;
		}
	}
	if (e.phnum > VG_ELF_MAX_PHNUM) {
		rc = vg_why(why, cap, VG_ERR_INVALID, "too many program headers");
		goto fail;
	}
	if (e.phnum > 0 && e.phentsize < (e.is64 ? 56u : 32u)) {
		rc = vg_why(why, cap, VG_ERR_INVALID, "program header size %zu too small",
			    e.phentsize);
		goto fail;
	}
	if (!table_ok(&e, e.phoff, e.phnum, e.phentsize)) {
		rc = vg_why(why, cap, VG_ERR_INVALID, "program headers past the end of the file");
		goto fail;
	}

	for (size_t i = 0; i < e.phnum; i++) {
		struct phdr ph;

		read_phdr(&e, i, &ph);
		switch (ph.type) {
		case PT_INTERP:
			out->has_interp = true;
			break;
		case PT_DYNAMIC:
			if (!out->has_dynamic)
				dyn = ph;
			out->has_dynamic = true;
			break;
		case PT_GNU_RELRO:
			has_relro = true;
			break;
		case PT_GNU_STACK:
			has_stack = true;
			stack_x = (ph.flags & PF_X) != 0;
			break;
		case PT_GNU_PROPERTY:
			have_prop = true;
			scan_notes(&e, ph.offset, ph.filesz, ph.align, out, &budget);
			break;
		default:
			break;
		}
	}
	if (!have_prop) {
		for (size_t i = 0; i < e.phnum; i++) {
			struct phdr ph;

			read_phdr(&e, i, &ph);
			if (ph.type == PT_NOTE)
				scan_notes(&e, ph.offset, ph.filesz, ph.align, out, &budget);
		}
	}
	if (out->has_dynamic) {
		rc = read_dynamic(&e, &dyn, &d);
		if (rc != VG_OK)
			goto fail;
	}
	out->nx = has_stack && !stack_x;
	if (!has_relro)
		out->relro = VG_ELF_RELRO_NONE;
	else if (d.bind_now || !out->has_dynamic)
		out->relro = VG_ELF_RELRO_FULL;
	else
		out->relro = VG_ELF_RELRO_PARTIAL;
	if (out->type == ET_DYN) {
		out->pie = out->has_interp || d.pie_flag;
		out->is_library = !out->pie;
	}

	s = calloc(1, sizeof *s);
	if (!s) {
		rc = vg_why(why, cap, VG_ERR_NOMEM, "out of memory");
		goto fail;
	}
	rc = syms_from_sections(&e, s, &sec_syms);
	if (rc != VG_OK)
		goto fail;
	if (!sec_syms && out->has_dynamic)
		syms_from_dynamic(&e, &d, s);
	out->has_symbols = s->any;
	out->canary = s->canary;
	for (size_t i = 0; i < N_FORT; i++) {
		out->fortified += s->seen_chk[i];
		out->fortifiable += s->seen_chk[i] || s->seen_plain[i];
	}
	free(s);
	return VG_OK;
fail:
	free(s);
	memset(out, 0, sizeof *out);
	return rc;
}

vg_rc vg_elf_parse_fd(int fd, vg_elf_info *out, char *why, size_t cap)
{
	uint8_t magic[4];
	struct stat st;
	void *map;
	ssize_t n;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	if (fstat(fd, &st) != 0)
		return vg_why(why, cap, VG_ERR_IO, "fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vg_why(why, cap, VG_ERR_UNSUPPORTED, "not a regular file");
	do
		n = pread(fd, magic, sizeof magic, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vg_why(why, cap, VG_ERR_IO, "read: %s", strerror(errno));
	if (n != (ssize_t)sizeof magic || memcmp(magic, "\177ELF", 4) != 0)
		return vg_why(why, cap, VG_ERR_UNSUPPORTED, "not an ELF file");
	if ((uint64_t)st.st_size > SIZE_MAX)
		return vg_why(why, cap, VG_ERR_TOO_LARGE, "file too large to map");
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return vg_why(why, cap, VG_ERR_IO, "mmap: %s", strerror(errno));
	rc = vg_elf_parse(map, (size_t)st.st_size, out, why, cap);
	(void)munmap(map, (size_t)st.st_size);
	return rc;
}

const char *vg_elf_relro_str(vg_elf_relro r)
{
	switch (r) {
	case VG_ELF_RELRO_FULL:
		return "full";
	case VG_ELF_RELRO_PARTIAL:
		return "partial";
	default:
		return "none";
	}
}
