/* privdrop.c - see privdrop.h */
#include "daemon/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sched.h>
#include <seccomp.h>

vg_rc vg_privdrop_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return VG_ERR_NOT_FOUND;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return VG_OK;
}

static int caps_clear(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof d);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -1;
	return (int)syscall(SYS_capset, &h, d);
}

int vg_caps_empty(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return 0;
	return 1;
}

vg_rc vg_privdrop(const char *user, char *err, size_t err_len)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() == 0 && getuid() == 0) {
		if (!user || !*user) {
			(void)snprintf(err, err_len,
				       "running as root needs 'user' in the configuration");
			return VG_ERR_INVALID;
		}
		if (vg_privdrop_lookup(user, &uid, &gid) != VG_OK) {
			(void)snprintf(err, err_len, "user '%s' does not exist", user);
			return VG_ERR_NOT_FOUND;
		}
		if (uid == 0) {
			(void)snprintf(err, err_len, "refusing to run as root: user '%s' has uid 0",
				       user);
			return VG_ERR_INVALID;
		}
		if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0) {
			(void)snprintf(err, err_len, "cannot switch to user '%s': %s", user,
				       strerror(errno));
			return VG_ERR_IO;
		}
		/* Paranoia: the drop must be irreversible. */
		if (setuid(0) == 0 || seteuid(0) == 0) {
			(void)snprintf(err, err_len, "privilege drop is reversible; aborting");
			return VG_ERR_INTERNAL;
		}
	}
	/* Only when there is something to clear: under its systemd unit the
	 * service starts with none, and the unit's filter refuses capset(2). */
	if ((!vg_caps_empty() && caps_clear() != 0) || !vg_caps_empty()) {
		(void)snprintf(err, err_len, "cannot clear capabilities: %s", strerror(errno));
		return VG_ERR_IO;
	}
	return VG_OK;
}

vg_rc vg_sandbox_enter(char *err, size_t err_len)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		(void)snprintf(err, err_len, "prctl(NO_NEW_PRIVS): %s", strerror(errno));
		return VG_ERR_IO;
	}
#if !defined(__SANITIZE_ADDRESS__)
	/* Not in sanitizer builds: LeakSanitizer must ptrace the process at
	 * exit, which a non-dumpable process forbids. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		(void)snprintf(err, err_len, "prctl(DUMPABLE): %s", strerror(errno));
		return VG_ERR_IO;
	}
#endif
	return vg_seccomp_install(err, err_len);
}

/* System calls the service never makes, and that would only serve an
 * attacker who took over the process: running programs, debugging or
 * reading other processes, namespaces, kernel modules and eBPF, mounts,
 * the kernel keyring, the clock and the identity. */
static const int killed[] = {
    SCMP_SYS(execve),
    SCMP_SYS(execveat),
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(process_vm_writev),
    SCMP_SYS(unshare),
    SCMP_SYS(setns),
    SCMP_SYS(mount),
    SCMP_SYS(umount2),
    SCMP_SYS(pivot_root),
    SCMP_SYS(chroot),
    SCMP_SYS(init_module),
    SCMP_SYS(finit_module),
    SCMP_SYS(delete_module),
    SCMP_SYS(kexec_load),
    SCMP_SYS(kexec_file_load),
    SCMP_SYS(bpf),
    SCMP_SYS(perf_event_open),
    SCMP_SYS(userfaultfd),
    SCMP_SYS(keyctl),
    SCMP_SYS(add_key),
    SCMP_SYS(request_key),
    SCMP_SYS(personality),
    SCMP_SYS(reboot),
    SCMP_SYS(swapon),
    SCMP_SYS(swapoff),
    SCMP_SYS(acct),
    SCMP_SYS(settimeofday),
    SCMP_SYS(clock_settime),
    SCMP_SYS(iopl),
    SCMP_SYS(ioperm),
    SCMP_SYS(open_by_handle_at),
    SCMP_SYS(name_to_handle_at),
    SCMP_SYS(setuid),
    SCMP_SYS(setgid),
    SCMP_SYS(setreuid),
    SCMP_SYS(setregid),
    SCMP_SYS(setresuid),
    SCMP_SYS(setresgid),
    SCMP_SYS(setgroups),
    SCMP_SYS(setfsuid),
    SCMP_SYS(setfsgid),
    SCMP_SYS(syslog),
#if !defined(__SANITIZE_ADDRESS__)
    /* LeakSanitizer ptraces the process at exit. */
    SCMP_SYS(ptrace),
#endif
};

vg_rc vg_seccomp_install(char *err, size_t err_len)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < sizeof killed / sizeof killed[0]; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, killed[i], 0);
	/* No new user namespace by clone() either. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	/* clone3 passes its flags in memory, which a filter cannot read: make
	 * it unavailable (glibc then falls back to clone). */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r != 0) {
		(void)snprintf(err, err_len, "seccomp: %s", strerror(-r));
		return VG_ERR_IO;
	}
	return VG_OK;
}
