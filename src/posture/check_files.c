/*
 * check_files.c - `voxguard doctor` checks "perms" (world-writable files
 * and directories in system paths), "setuid" (set-uid/set-gid files
 * outside the allow-list) and "elf" (the exploit mitigations of every ELF
 * object in the executable and library paths; AVS Device SDK: exploit
 * mitigation), in one walk of the tree.
 *
 * The walk never follows a symbolic link (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW:
 * on a merged-/usr system /bin is a link and /usr/bin is walked once),
 * opens nothing but directories and regular files (O_NONBLOCK, so a FIFO
 * swapped in cannot block it), bounds its depth and reads ELF files by
 * mapping them (only the headers and tables it needs are touched).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "posture/doctor_int.h"
#include "posture/elf.h"

#define MAX_DEPTH 48
#define MAX_FILES 2000000u

static const char *const walk_tops[] = {"etc",     "usr",       "bin",    "sbin", "lib",
					"lib32",   "lib64",     "libx32", "boot", "opt",
					"var/lib", "var/spool", "root",   "srv"};
static const char *const elf_prefixes[] = {
    "bin/",           "sbin/",       "lib/",         "lib32/",         "lib64/",
    "libx32/",        "usr/bin/",    "usr/sbin/",    "usr/lib/",       "usr/lib32/",
    "usr/lib64/",     "usr/libx32/", "usr/libexec/", "usr/local/bin/", "usr/local/sbin/",
    "usr/local/lib/", "opt/"};
static const char *const elf_excluded[] = {"usr/lib/debug/", "lib/debug/",
					   "lib/modules/",   "usr/lib/modules/",
					   "lib/firmware/",  "usr/lib/firmware/"};

struct walk {
	vg_doc_ctx *c;
	bool perms, setuid, elf;
	size_t files, elfs, no_cet, cet_arch;
	char cet_example[VG_DOC_MAX_PATH + 2];
};

static bool prefixed(const char *rel, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(rel, list[i], strlen(list[i])) == 0)
			return true;
	return false;
}

static bool setuid_allowed(const vg_doc_opts *o, const char *abs)
{
	for (size_t i = 0; i < o->n_setuid; i++)
		if (strcmp(o->setuid[i], abs) == 0)
			return true;
	return false;
}

static void elf_file(struct walk *w, int dirfd, const char *name, const char *abs)
{
	vg_doc_ctx *c = w->c;
	vg_elf_info e;
	char why[160];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	vg_rc rc;

	if (fd < 0)
		return;
	rc = vg_elf_parse_fd(fd, &e, why, sizeof why);
	(void)close(fd);
	if (rc == VG_ERR_UNSUPPORTED)
		return;
	w->elfs++;
	if (rc != VG_OK) {
		vg_doc_add(c, VG_DOC_ELF, VG_SEV_LOW, "elf.malformed", abs,
			   "a malformed ELF file: %s", why);
		vg_doc_fix(c, "remove or replace the file");
		return;
	}
	if (!e.is_library && !e.pie) {
		vg_doc_add(c, VG_DOC_ELF, VG_SEV_LOW, "elf.no-pie", abs,
			   "an executable built without PIE: its addresses are not randomized");
		vg_doc_fix(c, "build with -fPIE -pie");
	}
	if (e.relro == VG_ELF_RELRO_NONE) {
		vg_doc_add(c, VG_DOC_ELF, VG_SEV_LOW, "elf.no-relro", abs,
			   "no RELRO: the GOT and other relocated data stay writable");
		vg_doc_fix(c, "link with -Wl,-z,relro,-z,now");
	} else if (e.relro == VG_ELF_RELRO_PARTIAL) {
		vg_doc_add(c, VG_DOC_ELF, e.is_library ? VG_SEV_INFO : VG_SEV_LOW,
			   "elf.partial-relro", abs,
			   "partial RELRO: lazily bound GOT entries stay writable");
		vg_doc_fix(c, "link with -Wl,-z,now as well");
	}
	if (e.has_symbols && !e.canary) {
		vg_doc_add(c, VG_DOC_ELF, VG_SEV_LOW, "elf.no-canary", abs,
			   "no stack canary (__stack_chk_fail not used)");
		vg_doc_fix(c, "build with -fstack-protector-strong");
	}
	if (!e.nx) {
		vg_doc_add(c, VG_DOC_ELF, VG_SEV_MEDIUM, "elf.execstack", abs,
			   "an executable stack (no PT_GNU_STACK, or one with PF_X)");
		vg_doc_fix(c, "link with -Wl,-z,noexecstack and find the object that asks for it");
	}
	if (e.fortifiable > 0 && e.fortified == 0) {
		vg_doc_add(c, VG_DOC_ELF, VG_SEV_LOW, "elf.no-fortify", abs,
			   "not fortified: 0 of %u fortifiable libc functions use their checked "
			   "variant",
			   e.fortifiable);
		vg_doc_fix(c, "build with -O2 -D_FORTIFY_SOURCE=2 (or 3)");
	}
	if (e.machine == 62 || e.machine == 3) {
		w->cet_arch++;
		if (!e.ibt || !e.shstk) {
			if (!w->no_cet++)
				(void)snprintf(w->cet_example, sizeof w->cet_example, "%s", abs);
		}
	}
}

static void walk_dir(struct walk *w, int dfd, char *rel, size_t rl, int depth)
{
	vg_doc_ctx *c = w->c;
	struct dirent *de;
	DIR *d;

	if (depth > MAX_DEPTH)
		return;
	d = fdopendir(dfd);
	if (!d) {
		(void)close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL && w->files < MAX_FILES) {
		struct stat st;
		size_t nl = strlen(de->d_name);
		char abs[VG_DOC_MAX_PATH + 2];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (rl + nl + 2 >= VG_DOC_MAX_PATH)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISLNK(st.st_mode))
			continue;
		w->files++;
		memcpy(rel + rl, de->d_name, nl + 1);
		(void)snprintf(abs, sizeof abs, "/%s", rel);
		if (w->perms && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
		    (st.st_mode & S_IWOTH) && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
			vg_doc_add(c, VG_DOC_PERMS, VG_SEV_HIGH, "perms.world-writable", abs,
				   "a world-writable %s in a system path (mode %04o)",
				   S_ISDIR(st.st_mode) ? "directory" : "file",
				   (unsigned)(st.st_mode & 07777));
			vg_doc_fix(c, "chmod o-w (a shared directory needs the sticky bit: chmod "
				      "+t)");
		}
		if (S_ISREG(st.st_mode)) {
			if (w->setuid && (st.st_mode & (S_ISUID | S_ISGID)) &&
			    !setuid_allowed(c->o, abs)) {
				vg_doc_add(c, VG_DOC_SETUID, VG_SEV_MEDIUM, "setuid.unexpected",
					   abs,
					   "a set-%s file (owner uid %u, group gid %u) not in the "
					   "allow-list",
					   (st.st_mode & S_ISUID) ? "uid" : "gid",
					   (unsigned)st.st_uid, (unsigned)st.st_gid);
				vg_doc_fix(c, "chmod u-s,g-s (or remove it); allow it with "
					      "--allow-setuid PATH if the product needs it");
			}
			if (w->elf && st.st_size >= 52 &&
			    ((st.st_mode & 0111) || strstr(de->d_name, ".so")) &&
			    prefixed(rel, elf_prefixes, VG_ARRAY_LEN(elf_prefixes)) &&
			    !prefixed(rel, elf_excluded, VG_ARRAY_LEN(elf_excluded)))
				elf_file(w, dirfd(d), de->d_name, abs);
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				rel[rl + nl] = '/';
				rel[rl + nl + 1] = '\0';
				walk_dir(w, sub, rel, rl + nl + 1, depth + 1);
			}
		}
		rel[rl] = '\0';
	}
	(void)closedir(d);
}

void vg_doc_check_files(vg_doc_ctx *c)
{
	struct walk w = {.c = c};
	char *rel = malloc(VG_DOC_MAX_PATH + 2);

	w.perms = !(c->o->skip & (1u << VG_DOC_PERMS));
	w.setuid = !(c->o->skip & (1u << VG_DOC_SETUID));
	w.elf = !(c->o->skip & (1u << VG_DOC_ELF));
	if (!rel) {
		vg_doc_state_set(c, VG_DOC_PERMS, VG_DOC_ERROR, "out of memory");
		return;
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(walk_tops); i++) {
		struct stat st;
		int fd = vg_doc_open(c, walk_tops[i], O_RDONLY | O_DIRECTORY, true);
		size_t l;

		if (fd < 0)
			continue;
		/* the top itself (e.g. a world-writable /etc) */
		if (w.perms && fstat(fd, &st) == 0 && (st.st_mode & S_IWOTH) &&
		    !(st.st_mode & S_ISVTX)) {
			char abs[64];
			(void)snprintf(abs, sizeof abs, "/%s", walk_tops[i]);
			vg_doc_add(c, VG_DOC_PERMS, VG_SEV_HIGH, "perms.world-writable", abs,
				   "a world-writable directory in a system path (mode %04o)",
				   (unsigned)(st.st_mode & 07777));
			vg_doc_fix(c, "chmod o-w");
		}
		l = (size_t)snprintf(rel, VG_DOC_MAX_PATH, "%s/", walk_tops[i]);
		walk_dir(&w, fd, rel, l, 0);
	}
	free(rel);
	c->r->files_walked = w.files;
	c->r->elf_files = w.elfs;
	if (w.elf && w.no_cet) {
		vg_doc_add(c, VG_DOC_ELF, VG_SEV_INFO, "elf.no-cet", w.cet_example,
			   "%zu of %zu x86 ELF files lack CET (IBT and SHSTK in the GNU property "
			   "note), e.g. this one",
			   w.no_cet, w.cet_arch);
		vg_doc_fix(c, "build with -fcf-protection=full (all objects of a program must "
			      "have it)");
	}
	if (w.elf)
		vg_doc_state_set(c, VG_DOC_ELF, VG_DOC_RAN, "%zu ELF files", w.elfs);
	if (w.perms)
		vg_doc_state_set(c, VG_DOC_PERMS, VG_DOC_RAN, "%zu files and directories", w.files);
}
