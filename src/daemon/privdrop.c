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
	if (caps_clear() != 0 || !vg_caps_empty()) {
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
	/* No seccomp filter yet: the system-call allow-list is added by the
	 * confinement work item; this is its call site. */
	return VG_OK;
}
