/*
 * landlock.h - file-level least privilege for an application, with the
 * kernel's Landlock LSM (AVS SDK: "run software with the least privilege
 * required", "access controls that restrict read/write/run permission to
 * specific applications ... on files"; SFR 4.2.10 isolation).
 *
 * What systemd's unit options cannot say, Landlock can: "this process may
 * execute only these files", "may write only beneath this directory",
 * "may read only these paths", "cannot truncate, rename or link anything
 * elsewhere". The rules hold for the calling thread and everything it
 * later runs (they survive execve and fork) and can never be loosened:
 * only a further, tighter ruleset can be stacked on top. They apply to
 * root too (Landlock is not DAC). `voxguard sandbox` (src/cli/cmd_sandbox.c)
 * applies them and then runs the voice application.
 *
 * The ruleset handles every file-system right of the kernel's ABI, up to
 * version 3 (Linux 6.2):
 *   ABI 1 (5.13): execute, read/write files, read dirs, remove and make
 *                 every kind of file;
 *   ABI 2 (5.19): + REFER (link or rename into another directory);
 *   ABI 3 (6.2):  + TRUNCATE (truncate(2), O_TRUNC, ftruncate).
 * A right the ruleset handles is denied everywhere except beneath a rule
 * that grants it. Rights of later ABIs (network ports since 4, device
 * ioctls since 5, IPC scopes since 6) are not handled here: they stay
 * governed by the unit's RestrictAddressFamilies=, DeviceAllow= and DAC.
 *
 * Not covered by Landlock (so still the unit's and DAC's job): file
 * descriptors already open before the ruleset applies, connect(2) to a
 * Unix socket by path, stat(2)/readlink(2) of names (metadata is visible,
 * contents are not), chmod/chown (DAC).
 */
#ifndef VG_SANDBOX_LANDLOCK_H
#define VG_SANDBOX_LANDLOCK_H

#include <stddef.h>

#include "voxguard/voxguard.h"

/* The highest ABI version voxguard handles (and asks for). */
#define VG_LANDLOCK_ABI_MAX 3

/* What a rule grants beneath its path (a directory and everything in it,
 * or one file; symbolic links in the path are followed when the rule is
 * made, so the rule is on the file they name):
 *   VG_LANDLOCK_RO:   read files, list directories;
 *   VG_LANDLOCK_RW:   RO + write, truncate, create (regular files,
 *                     directories, sockets, FIFOs, symlinks; never device
 *                     nodes), remove, rename and link within the rw set;
 *                     never execute: what the application writes it
 *                     cannot run;
 *   VG_LANDLOCK_EXEC: RO + execute. A dynamically linked program also
 *                     needs its ELF interpreter (e.g.
 *                     /lib64/ld-linux-x86-64.so.2) and a script its
 *                     interpreter (/bin/sh) in the EXEC set: the kernel
 *                     opens both for execution.
 * On a file (not a directory) only the file rights of the class apply
 * (read, write, truncate, execute). */
typedef enum {
	VG_LANDLOCK_RO = 0,
	VG_LANDLOCK_RW = 1,
	VG_LANDLOCK_EXEC = 2,
} vg_landlock_access;

typedef struct {
	const char *path;
	vg_landlock_access access;
} vg_landlock_rule;

/* vg_landlock_apply() flags. */
/* Without Landlock in the kernel (not built, or not enabled at boot with
 * lsm=), return VG_OK with *abi_out = 0 and restrict nothing, instead of
 * VG_ERR_UNSUPPORTED. The caller says so to its user. */
#define VG_LANDLOCK_BEST_EFFORT 0x1u

/* The kernel's Landlock ABI version (>= 1), or 0 when the kernel has no
 * Landlock (ENOSYS: not built; EOPNOTSUPP: disabled at boot). */
int vg_landlock_abi(void);

/* Restricts the calling thread, and everything it runs from now on, to the
 * n rules (n may be 0: then no file may be read, written or executed at
 * all, except through descriptors already open). Sets no_new_privs first
 * (Landlock requires it of an unprivileged caller; it also keeps a set-uid
 * program from running with more rights). Call it before creating threads:
 * other threads of the process keep their rights.
 *
 * *abi_out (may be NULL) receives the ABI version whose rights were
 * handled (min(kernel, VG_LANDLOCK_ABI_MAX)), or 0 when nothing was
 * applied (best effort on a kernel without Landlock).
 *
 * Returns VG_OK; VG_ERR_INVALID (a NULL or empty path, an unknown access
 * class, rules == NULL with n > 0); VG_ERR_NOT_FOUND (a rule's path does
 * not exist: a misspelt path fails here instead of silently granting
 * nothing); VG_ERR_UNSUPPORTED (no Landlock and not best effort);
 * VG_ERR_IO (the kernel refused: no_new_privs, a rule, the restriction).
 * err (err_len bytes) receives one line naming the cause. On failure the
 * thread may already have no_new_privs set but no ruleset: the caller must
 * not go on to run the application. */
VG_NODISCARD vg_rc vg_landlock_apply(const vg_landlock_rule *rules, size_t n, unsigned flags,
				     int *abi_out, char *err, size_t err_len);

#endif
