/*
 * doctor_int.h - what the checks of `voxguard doctor` share (doctor.c):
 * the run's context, reading files inside the root, systemd unit lookup,
 * and adding findings. Not an API outside src/posture/.
 */
#ifndef VG_POSTURE_DOCTOR_INT_H
#define VG_POSTURE_DOCTOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "posture/doctor.h"

typedef struct vg_doc_ctx {
	const vg_doc_opts *o;
	vg_doc_report *r;
	int rootfd;   /* O_PATH directory of the root */
	bool offline; /* files only */
	bool openat2; /* the kernel has openat2 (RESOLVE_IN_ROOT) */
} vg_doc_ctx;

#define VG_DOC_MAX_FILE (4u * 1024u * 1024u) /* a configuration file we read */

/* Adds a finding (text printf-style); names are made printable. */
__attribute__((format(printf, 6, 7))) void vg_doc_add(vg_doc_ctx *c, vg_doc_check check,
						      vg_doc_sev sev, const char *id,
						      const char *subject, const char *fmt, ...);
/* Sets the fix of the last finding added. */
void vg_doc_fix(vg_doc_ctx *c, const char *fix);
/* Attaches a copy of v (made printable) to the last finding added; out of
 * memory: the finding goes without. */
void vg_doc_vuln_set(vg_doc_ctx *c, const vg_doc_vuln *v);
/* The check's state and note (printf-style). */
__attribute__((format(printf, 4, 5))) void vg_doc_state_set(vg_doc_ctx *c, vg_doc_check check,
							    vg_doc_state st, const char *fmt, ...);

/* Opens rel (no leading '/') inside the root: symbolic links resolve
 * inside it; with nofollow the last component must not be one. -1 with
 * errno on failure. */
int vg_doc_open(vg_doc_ctx *c, const char *rel, int flags, bool nofollow);
/* Reads the regular file rel (at most max bytes) NUL-terminated into a
 * malloc'ed *buf. VG_ERR_NOT_FOUND (absent), VG_ERR_DENIED (EACCES),
 * VG_ERR_TOO_LARGE, VG_ERR_IO. */
VG_NODISCARD vg_rc vg_doc_read(vg_doc_ctx *c, const char *rel, size_t max, char **buf, size_t *len);
/* rel exists inside the root (following links inside it); st may be NULL. */
bool vg_doc_exists(vg_doc_ctx *c, const char *rel, struct stat *st);
/* The sorted names in directory rel (no "." or ".."), at most 4096;
 * *names NULL and *n 0 when it is absent. Free with vg_doc_names_free. */
void vg_doc_list(vg_doc_ctx *c, const char *rel, char ***names, size_t *n);
void vg_doc_names_free(char **names, size_t n);

/* Where systemd looks for units, in order of precedence. */
extern const char *const vg_doc_unit_dirs[];
/* The unit file of name (rel path into path); false when there is none. */
bool vg_doc_unit_find(vg_doc_ctx *c, const char *name, char *path, size_t cap);
/* name is enabled: linked in a *.wants or *.requires directory of
 * etc/systemd/system (where `systemctl enable` puts it), or an alias. */
bool vg_doc_unit_enabled(vg_doc_ctx *c, const char *name);
/* The enabled units (names from etc/systemd/system/ *.wants, *.requires). */
void vg_doc_enabled_units(vg_doc_ctx *c, char ***names, size_t *n);

/* A unit's [section] key values with its drop-ins applied, in order:
 * calls fn for each assignment (value "" is a reset). */
typedef void (*vg_doc_unit_cb)(void *ctx, const char *key, const char *value);
bool vg_doc_unit_parse(vg_doc_ctx *c, const char *name, const char *section, vg_doc_unit_cb fn,
		       void *ctx, char *path, size_t cap);

/* Effective sysctl settings of an image: value of key ("" when unset);
 * the files systemd-sysctl reads, in its order. */
bool vg_doc_sysctl_conf(vg_doc_ctx *c, const char *key, char *val, size_t cap);
/* A running kernel's setting from /proc/sys; false when absent. */
bool vg_doc_sysctl_proc(vg_doc_ctx *c, const char *key, char *val, size_t cap);
/* CONFIG_X of the image's boot/config-* (val "y", "n", ...); false: unknown. */
bool vg_doc_kconfig(vg_doc_ctx *c, const char *sym, char *val, size_t cap);

/* Trims blanks in place; returns s. */
char *vg_doc_trim(char *s);

void vg_doc_check_accounts(vg_doc_ctx *c);
void vg_doc_check_network(vg_doc_ctx *c);
void vg_doc_check_ssh(vg_doc_ctx *c);
void vg_doc_check_files(vg_doc_ctx *c); /* perms, setuid, elf: one walk */
void vg_doc_check_sysctl(vg_doc_ctx *c);
void vg_doc_check_coredump(vg_doc_ctx *c);
void vg_doc_check_voice(vg_doc_ctx *c);
void vg_doc_check_bluetooth(vg_doc_ctx *c);
VG_NODISCARD vg_rc vg_doc_check_vuln(vg_doc_ctx *c, char *why, size_t cap);

#endif
