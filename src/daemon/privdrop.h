/*
 * privdrop.h - the service's own confinement (SFR 4.2.10 isolation; AVS
 * SDK: least privilege).
 *
 * Order at start-up: open everything that needs privilege (state dir,
 * socket), then vg_privdrop() to the configured user, then vg_sandbox_enter().
 */
#ifndef VG_PRIVDROP_H
#define VG_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

#include "voxguard/voxguard.h"

/* When running as root: switch to `user` (its uid, primary gid, no
 * supplementary groups), verify that root cannot be regained, and clear
 * every capability set. When not root: clear capabilities only. */
VG_NODISCARD vg_rc vg_privdrop(const char *user, char *err, size_t err_len);

/* Looks up user's uid/gid (for chown of the state dir before the drop). */
VG_NODISCARD vg_rc vg_privdrop_lookup(const char *user, uid_t *uid, gid_t *gid);

/* no_new_privs, not dumpable (no core files, no ptrace by the same uid),
 * then vg_seccomp_install(). */
VG_NODISCARD vg_rc vg_sandbox_enter(char *err, size_t err_len);

/* The service's own seccomp filter (on top of the systemd unit's
 * SystemCallFilter=, so it holds however the service is started): the
 * process is killed (SIGSYS) if it ever calls execve/execveat, ptrace
 * (except in sanitizer builds), process_vm_readv/writev, unshare, setns or
 * clone with CLONE_NEWUSER, mount and friends, module loading, kexec, bpf,
 * perf_event_open, userfaultfd, the keyring calls, personality, reboot,
 * swap, acct, setting the clock, iopl/ioperm, handle-based opens, any
 * set*id/setgroups, or syslog; clone3 fails with ENOSYS. Everything else
 * is allowed: the list removes what a compromised service would need to
 * go further, without risking the paths of SQLite, OpenSSL and tpm2-tss.
 * Needs no_new_privs (or CAP_SYS_ADMIN). */
VG_NODISCARD vg_rc vg_seccomp_install(char *err, size_t err_len);

/* 1 if the effective, permitted and ambient capability sets are empty. */
int vg_caps_empty(void);

#endif
