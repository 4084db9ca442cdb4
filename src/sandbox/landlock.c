/* landlock.c - see landlock.h */
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Debian 12's kernel headers (6.1) stop at ABI 2; the kernel may be newer.
 * The values are the kernel's stable UAPI. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#if !defined(__NR_landlock_create_ruleset) || !defined(__NR_landlock_add_rule) || \
    !defined(__NR_landlock_restrict_self)
#error "the kernel headers lack the Landlock system calls (Linux >= 5.13 headers needed)"
#endif

/* The ruleset attribute as ABI 1-3 know it (one 64-bit field); later
 * kernels accept this size and treat the absent fields as zero. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
};

#define FS_ABI1                                                           \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |     \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |     \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |     \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |     \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |   \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)

/* The rights a rule on a regular file (not a directory) may carry; the
 * kernel refuses a file rule with any other (EINVAL). */
#define FS_FILE_RIGHTS                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)

#define GRANT_RO   (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define GRANT_EXEC (GRANT_RO | LANDLOCK_ACCESS_FS_EXECUTE)
/* No MAKE_CHAR/MAKE_BLOCK (an application has no business making device
 * nodes) and no EXECUTE (what it writes, it cannot run). */
#define GRANT_RW                                                                                 \
	(GRANT_RO | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |              \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |                          \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER | \
	 LANDLOCK_ACCESS_FS_TRUNCATE)

static uint64_t handled_for_abi(int abi)
{
	uint64_t h = FS_ABI1;

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return h;
}

int vg_landlock_abi(void)
{
	long v = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v > 0 ? (int)v : 0;
}

static const char *access_name(vg_landlock_access a)
{
	switch (a) {
	case VG_LANDLOCK_RO:
		return "read-only";
	case VG_LANDLOCK_RW:
		return "read-write";
	case VG_LANDLOCK_EXEC:
		return "execute";
	default:
		return "?";
	}
}

static vg_rc add_rule(int ruleset, const vg_landlock_rule *r, uint64_t handled, char *err,
		      size_t err_len)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	uint64_t grant;
	vg_rc rc = VG_OK;
	int fd;

	switch (r->access) {
	case VG_LANDLOCK_RO:
		grant = GRANT_RO;
		break;
	case VG_LANDLOCK_RW:
		grant = GRANT_RW;
		break;
	case VG_LANDLOCK_EXEC:
		grant = GRANT_EXEC;
		break;
	default:
		(void)snprintf(err, err_len, "unknown access class %d for '%s'", (int)r->access,
			       r->path);
		return VG_ERR_INVALID;
	}
	/* O_PATH: the rule needs the inode, not the right to read it; it
	 * follows symbolic links, so the rule lands on what they name. */
	fd = open(r->path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		(void)snprintf(err, err_len, "%s path '%s': %s", access_name(r->access), r->path,
			       strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? VG_ERR_NOT_FOUND : VG_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		(void)snprintf(err, err_len, "%s path '%s': %s", access_name(r->access), r->path,
			       strerror(errno));
		rc = VG_ERR_IO;
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		grant &= FS_FILE_RIGHTS;
	/* Only rights this kernel's ruleset handles may be granted. */
	grant &= handled;
	memset(&pb, 0, sizeof pb);
	pb.allowed_access = grant;
	pb.parent_fd = fd;
	if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
		(void)snprintf(err, err_len, "landlock_add_rule(%s '%s'): %s",
			       access_name(r->access), r->path, strerror(errno));
		rc = VG_ERR_IO;
	}
out:
	(void)close(fd);
	return rc;
}

vg_rc vg_landlock_apply(const vg_landlock_rule *rules, size_t n, unsigned flags, int *abi_out,
			char *err, size_t err_len)
{
	struct ll_ruleset_attr attr;
	int abi, ruleset = -1;
	vg_rc rc = VG_OK;

	if (abi_out)
		*abi_out = 0;
	if (err && err_len)
		err[0] = '\0';
	if (!rules && n > 0) {
		(void)snprintf(err, err_len, "no rules given");
		return VG_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++)
		if (!rules[i].path || !rules[i].path[0]) {
			(void)snprintf(err, err_len, "rule %zu has an empty path", i + 1);
			return VG_ERR_INVALID;
		}

	abi = vg_landlock_abi();
	if (abi == 0) {
		int e = errno;
		if (flags & VG_LANDLOCK_BEST_EFFORT)
			return VG_OK;
		(void)snprintf(err, err_len,
			       "the kernel has no Landlock (%s): not built in, or not in the "
			       "boot's lsm= list",
			       e == EOPNOTSUPP ? "disabled at boot" : strerror(e));
		return VG_ERR_UNSUPPORTED;
	}
	if (abi > VG_LANDLOCK_ABI_MAX)
		abi = VG_LANDLOCK_ABI_MAX;

	/* Required of an unprivileged caller by landlock_restrict_self(), and
	 * what keeps a set-uid program from escaping the rules' spirit. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		(void)snprintf(err, err_len, "prctl(NO_NEW_PRIVS): %s", strerror(errno));
		return VG_ERR_IO;
	}
	memset(&attr, 0, sizeof attr);
	attr.handled_access_fs = handled_for_abi(abi);
	ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (ruleset < 0) {
		(void)snprintf(err, err_len, "landlock_create_ruleset (ABI %d): %s", abi,
			       strerror(errno));
		return VG_ERR_IO;
	}
	for (size_t i = 0; rc == VG_OK && i < n; i++)
		rc = add_rule(ruleset, &rules[i], attr.handled_access_fs, err, err_len);
	if (rc == VG_OK && syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) {
		(void)snprintf(err, err_len, "landlock_restrict_self: %s", strerror(errno));
		rc = VG_ERR_IO;
	}
	(void)close(ruleset);
	if (rc == VG_OK && abi_out)
		*abi_out = abi;
	return rc;
}
