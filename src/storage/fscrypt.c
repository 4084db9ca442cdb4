/* fscrypt.c - see fscrypt.h */
#include "storage/fscrypt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/fscrypt.h>
#include <linux/magic.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/util.h"

#if !defined(FSCRYPT_POLICY_V2) || !defined(FS_IOC_ADD_ENCRYPTION_KEY) || \
    !defined(FS_IOC_GET_ENCRYPTION_POLICY_EX) || !defined(FS_IOC_GET_ENCRYPTION_KEY_STATUS)
#error "<linux/fscrypt.h> has no v2 policies: kernel UAPI headers of Linux 5.4 or later are needed"
#endif

_Static_assert(VG_FSCRYPT_KEY_LEN == FSCRYPT_MAX_KEY_SIZE, "a raw fscrypt key is 64 bytes");
_Static_assert(VG_FSCRYPT_ID_LEN == FSCRYPT_KEY_IDENTIFIER_SIZE, "identifiers are 16 bytes");

/* The one policy this module sets: the kernel's recommended default for
 * CPUs with AES instructions, and the longest name padding (hides more of
 * each name's length). */
#define OUR_CONTENTS  FSCRYPT_MODE_AES_256_XTS
#define OUR_FILENAMES FSCRYPT_MODE_AES_256_CTS
#define OUR_FLAGS     FSCRYPT_POLICY_FLAGS_PAD_32

#ifndef UBIFS_SUPER_MAGIC
#define UBIFS_SUPER_MAGIC 0x24051905
#endif
#ifndef CEPH_SUPER_MAGIC
#define CEPH_SUPER_MAGIC 0x00c36400
#endif

/* ---- reasons ---- */

static const char *fs_type(int fd, char buf[static 32])
{
	struct statfs sf;

	if (fstatfs(fd, &sf) != 0)
		return "an unknown file system";
	switch ((unsigned long)sf.f_type) {
	case EXT4_SUPER_MAGIC:
		return "ext4";
	case F2FS_SUPER_MAGIC:
		return "f2fs";
	case UBIFS_SUPER_MAGIC:
		return "ubifs";
	case CEPH_SUPER_MAGIC:
		return "ceph";
	case TMPFS_MAGIC:
		return "tmpfs";
	case RAMFS_MAGIC:
		return "ramfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case OVERLAYFS_SUPER_MAGIC:
		return "overlayfs";
	case SQUASHFS_MAGIC:
		return "squashfs";
	case NFS_SUPER_MAGIC:
		return "nfs";
	case MSDOS_SUPER_MAGIC:
		return "vfat";
	default:
		(void)snprintf(buf, 32, "file system type 0x%lx", (unsigned long)sf.f_type);
		return buf;
	}
}

static bool is_ext4(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && (unsigned long)sf.f_type == EXT4_SUPER_MAGIC;
}

/* Why the file system of fd takes no fscrypt policy, from the errno of an
 * fscrypt ioctl: EOPNOTSUPP is a file system that knows fscrypt with it
 * turned off (ext4 without the feature, or a kernel without
 * CONFIG_FS_ENCRYPTION), ENOTTY one that does not know the ioctl. */
static vg_rc unsupported(int fd, int e, char *why, size_t why_len)
{
	char b[32];
	const char *fs = fs_type(fd, b);

	if (is_ext4(fd)) {
		if (e == ENOTTY)
			return vg_why(why, why_len, VG_ERR_UNSUPPORTED,
				      "the kernel's ext4 has no fscrypt v2 policies (Linux 5.4 or "
				      "later is needed)");
		/* ext4 lists the feature in sysfs only when the kernel has
		 * CONFIG_FS_ENCRYPTION. */
		if (access("/sys/fs/ext4/features/encryption", F_OK) != 0)
			return vg_why(why, why_len, VG_ERR_UNSUPPORTED,
				      "the kernel was built without file encryption "
				      "(CONFIG_FS_ENCRYPTION)");
		return vg_why(
		    why, why_len, VG_ERR_UNSUPPORTED,
		    "ext4 without the encrypt feature: tune2fs -O encrypt DEV (unmounted), "
		    "or mkfs.ext4 -O encrypt");
	}
	if (e == EOPNOTSUPP)
		return vg_why(why, why_len, VG_ERR_UNSUPPORTED,
			      "%s: file encryption is not enabled on this file system", fs);
	return vg_why(why, why_len, VG_ERR_UNSUPPORTED,
		      "%s has no file encryption (fscrypt is in ext4, f2fs, ubifs and ceph)", fs);
}

static void id_hex(const uint8_t id[static VG_FSCRYPT_ID_LEN], char out[static 33])
{
	vg_hex_encode(id, VG_FSCRYPT_ID_LEN, out);
}

/* A file or directory to run a file-system ioctl on: never a symbolic
 * link, never a device or FIFO (O_NONBLOCK: no wait on a FIFO; checked
 * right after the open). */
static vg_rc open_any(const char *path, int *fd, char *why, size_t why_len)
{
	struct stat st;
	int e;

	*fd = -1;
	if (!path || !*path)
		return vg_why(why, why_len, VG_ERR_INVALID, "no path");
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0) {
		e = errno;
		if (e == ELOOP)
			return vg_why(why, why_len, VG_ERR_DENIED,
				      "%s is a symbolic link: refused (never followed)", path);
		return vg_why(why, why_len, e == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO,
			      "cannot open %s: %s", path, strerror(e));
	}
	if (fstat(*fd, &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
		(void)close(*fd);
		*fd = -1;
		return vg_why(why, why_len, VG_ERR_INVALID, "%s is not a file or a directory",
			      path);
	}
	return VG_OK;
}

/* ---- the kernel's ioctls ---- */

vg_rc vg_fscrypt_probe(const char *dir, char *why, size_t why_len)
{
	struct fscrypt_get_policy_ex_arg a;
	int fd, e;
	vg_rc rc;

	rc = open_any(dir, &fd, why, why_len);
	if (rc != VG_OK)
		return rc;
	memset(&a, 0, sizeof a);
	a.policy_size = sizeof a.policy;
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &a) == 0)
		rc = VG_OK;
	else if ((e = errno) == ENODATA || e == EOVERFLOW || e == EINVAL)
		rc = VG_OK; /* answered about a policy: the file system has fscrypt */
	else if (e == EOPNOTSUPP || e == ENOTTY)
		rc = unsupported(fd, e, why, why_len);
	else
		rc = vg_why(why, why_len, VG_ERR_IO, "%s: cannot query its encryption: %s", dir,
			    strerror(e));
	(void)close(fd);
	return rc;
}

vg_rc vg_fscrypt_key_identifier(const uint8_t key[static VG_FSCRYPT_KEY_LEN],
				uint8_t id[static VG_FSCRYPT_ID_LEN])
{
	/* fs/crypto/hkdf.c: HKDF-SHA512 with no salt over the raw key; the
	 * identifier is the expansion with info "fscrypt\0" and context 1
	 * (HKDF_CONTEXT_KEY_IDENTIFIER). The unit test checks it against the
	 * kernel's answer. */
	static const uint8_t info[9] = {'f', 's', 'c', 'r', 'y', 'p', 't', 0, 1};
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	int mode = EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
	vg_rc rc = VG_ERR_CRYPTO;

	EVP_KDF_free(kdf);
	if (!c)
		return VG_ERR_NOMEM;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA512", 0);
	*p++ =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, VG_FSCRYPT_KEY_LEN);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof info);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(c, id, VG_FSCRYPT_ID_LEN, params) == 1)
		rc = VG_OK;
	EVP_KDF_CTX_free(c);
	return rc;
}

vg_rc vg_fscrypt_add_key_fd(int fd, const uint8_t key[static VG_FSCRYPT_KEY_LEN],
			    uint8_t id[static VG_FSCRYPT_ID_LEN], char *why, size_t why_len)
{
	struct fscrypt_add_key_arg *a;
	const size_t n = sizeof *a + VG_FSCRYPT_KEY_LEN;
	int r, e = 0;

	if (fd < 0 || !key || !id)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt add key: no file or key");
	/* The argument holds the key: secret memory, wiped on free. */
	a = vg_secret_alloc(n);
	if (!a)
		return vg_why(why, why_len, VG_ERR_NOMEM, "out of memory");
	a->key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	a->raw_size = VG_FSCRYPT_KEY_LEN;
	memcpy(a->raw, key, VG_FSCRYPT_KEY_LEN);
	r = ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, a);
	if (r != 0)
		e = errno;
	else
		memcpy(id, a->key_spec.u.identifier, VG_FSCRYPT_ID_LEN);
	vg_secret_free(a, n);
	if (r == 0)
		return VG_OK;
	if (e == EOPNOTSUPP || e == ENOTTY)
		return unsupported(fd, e, why, why_len);
	if (e == EDQUOT)
		return vg_why(why, why_len, VG_ERR_QUOTA,
			      "cannot add the encryption key: the key quota of uid %u is spent "
			      "(sysctl kernel.keys.maxkeys, maxbytes)",
			      (unsigned)geteuid());
	if (e == EACCES || e == EPERM)
		return vg_why(why, why_len, VG_ERR_DENIED, "cannot add the encryption key: %s",
			      strerror(e));
	return vg_why(why, why_len, VG_ERR_IO, "cannot add the encryption key: %s", strerror(e));
}

vg_rc vg_fscrypt_add_key(const char *path, const uint8_t key[static VG_FSCRYPT_KEY_LEN],
			 uint8_t id[static VG_FSCRYPT_ID_LEN], char *why, size_t why_len)
{
	int fd;
	vg_rc rc = open_any(path, &fd, why, why_len);

	if (rc != VG_OK)
		return rc;
	rc = vg_fscrypt_add_key_fd(fd, key, id, why, why_len);
	(void)close(fd);
	return rc;
}

vg_rc vg_fscrypt_remove_key_fd(int fd, const uint8_t id[static VG_FSCRYPT_ID_LEN], bool *busy,
			       bool *others, char *why, size_t why_len)
{
	struct fscrypt_remove_key_arg a;
	char hex[33];
	int e;

	if (busy)
		*busy = false;
	if (others)
		*others = false;
	if (fd < 0 || !id)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt remove key: no file or key");
	memset(&a, 0, sizeof a);
	a.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	memcpy(a.key_spec.u.identifier, id, VG_FSCRYPT_ID_LEN);
	if (ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, &a) == 0) {
		if (busy)
			*busy = (a.removal_status_flags &
				 FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY) != 0;
		if (others)
			*others = (a.removal_status_flags &
				   FSCRYPT_KEY_REMOVAL_STATUS_FLAG_OTHER_USERS) != 0;
		return VG_OK;
	}
	e = errno;
	id_hex(id, hex);
	if (e == ENOKEY)
		return vg_why(why, why_len, VG_ERR_NOT_FOUND,
			      "the encryption key %s is not on this file system, or uid %u holds "
			      "no claim to it",
			      hex, (unsigned)geteuid());
	if (e == EOPNOTSUPP || e == ENOTTY)
		return unsupported(fd, e, why, why_len);
	return vg_why(why, why_len, e == EACCES || e == EPERM ? VG_ERR_DENIED : VG_ERR_IO,
		      "cannot remove the encryption key %s: %s", hex, strerror(e));
}

vg_rc vg_fscrypt_remove_key(const char *path, const uint8_t id[static VG_FSCRYPT_ID_LEN],
			    bool *busy, bool *others, char *why, size_t why_len)
{
	int fd;
	vg_rc rc = open_any(path, &fd, why, why_len);

	if (rc != VG_OK) {
		if (busy)
			*busy = false;
		if (others)
			*others = false;
		return rc;
	}
	rc = vg_fscrypt_remove_key_fd(fd, id, busy, others, why, why_len);
	(void)close(fd);
	return rc;
}

vg_rc vg_fscrypt_key_status_fd(int fd, const uint8_t id[static VG_FSCRYPT_ID_LEN],
			       vg_fscrypt_keystat *st, char *why, size_t why_len)
{
	struct fscrypt_get_key_status_arg a;
	int e;

	if (!st)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt key status: no output");
	memset(st, 0, sizeof *st);
	if (fd < 0 || !id)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt key status: no file or key");
	memset(&a, 0, sizeof a);
	a.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	memcpy(a.key_spec.u.identifier, id, VG_FSCRYPT_ID_LEN);
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &a) != 0) {
		e = errno;
		if (e == EOPNOTSUPP || e == ENOTTY)
			return unsupported(fd, e, why, why_len);
		return vg_why(why, why_len, VG_ERR_IO,
			      "cannot read the encryption key's status: %s", strerror(e));
	}
	switch (a.status) {
	case FSCRYPT_KEY_STATUS_ABSENT:
		st->state = VG_FSCRYPT_KEY_ABSENT;
		break;
	case FSCRYPT_KEY_STATUS_PRESENT:
		st->state = VG_FSCRYPT_KEY_PRESENT;
		break;
	case FSCRYPT_KEY_STATUS_INCOMPLETELY_REMOVED:
		st->state = VG_FSCRYPT_KEY_INCOMPLETELY_REMOVED;
		break;
	default:
		return vg_why(why, why_len, VG_ERR_PROTOCOL,
			      "the kernel reports an unknown key status %u", (unsigned)a.status);
	}
	st->added_by_self = (a.status_flags & FSCRYPT_KEY_STATUS_FLAG_ADDED_BY_SELF) != 0;
	st->user_count = a.user_count;
	return VG_OK;
}

vg_rc vg_fscrypt_key_status(const char *path, const uint8_t id[static VG_FSCRYPT_ID_LEN],
			    vg_fscrypt_keystat *st, char *why, size_t why_len)
{
	int fd;
	vg_rc rc;

	if (st)
		memset(st, 0, sizeof *st);
	rc = open_any(path, &fd, why, why_len);
	if (rc != VG_OK)
		return rc;
	rc = vg_fscrypt_key_status_fd(fd, id, st, why, why_len);
	(void)close(fd);
	return rc;
}

vg_rc vg_fscrypt_get_policy_fd(int fd, vg_fscrypt_policy *p, char *why, size_t why_len)
{
	struct fscrypt_get_policy_ex_arg a;
	int e;

	if (!p)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt policy: no output");
	memset(p, 0, sizeof *p);
	if (fd < 0)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt policy: no file");
	memset(&a, 0, sizeof a);
	a.policy_size = sizeof a.policy;
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &a) != 0) {
		e = errno;
		if (e == ENODATA)
			return VG_OK; /* not encrypted */
		if (e == EOVERFLOW || e == EINVAL) {
			/* A policy this kernel header does not describe (a
			 * later version): encrypted, and not ours. */
			p->encrypted = true;
			p->version = 0xff;
			return VG_OK;
		}
		if (e == EOPNOTSUPP || e == ENOTTY)
			return unsupported(fd, e, why, why_len);
		return vg_why(why, why_len, VG_ERR_IO, "cannot read the encryption policy: %s",
			      strerror(e));
	}
	p->encrypted = true;
	p->version = a.policy.version;
	if (a.policy.version == FSCRYPT_POLICY_V2) {
		p->contents_mode = a.policy.v2.contents_encryption_mode;
		p->filenames_mode = a.policy.v2.filenames_encryption_mode;
		p->flags = a.policy.v2.flags;
		memcpy(p->id, a.policy.v2.master_key_identifier, VG_FSCRYPT_ID_LEN);
		p->ours = p->contents_mode == OUR_CONTENTS && p->filenames_mode == OUR_FILENAMES &&
			  p->flags == OUR_FLAGS;
	} else if (a.policy.version == FSCRYPT_POLICY_V1) {
		p->contents_mode = a.policy.v1.contents_encryption_mode;
		p->filenames_mode = a.policy.v1.filenames_encryption_mode;
		p->flags = a.policy.v1.flags;
	}
	return VG_OK;
}

vg_rc vg_fscrypt_get_policy(const char *path, vg_fscrypt_policy *p, char *why, size_t why_len)
{
	int fd;
	vg_rc rc;

	if (p)
		memset(p, 0, sizeof *p);
	rc = open_any(path, &fd, why, why_len);
	if (rc != VG_OK)
		return rc;
	rc = vg_fscrypt_get_policy_fd(fd, p, why, why_len);
	(void)close(fd);
	return rc;
}

vg_rc vg_fscrypt_set_policy_fd(int dirfd, const uint8_t id[static VG_FSCRYPT_ID_LEN], char *why,
			       size_t why_len)
{
	struct fscrypt_policy_v2 p;
	struct stat st;
	char hex[33];
	int e;

	if (dirfd < 0 || !id)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt policy: no directory or key");
	if (fstat(dirfd, &st) != 0 || !S_ISDIR(st.st_mode))
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "an encryption policy is set on a directory only");
	memset(&p, 0, sizeof p);
	p.version = FSCRYPT_POLICY_V2;
	p.contents_encryption_mode = OUR_CONTENTS;
	p.filenames_encryption_mode = OUR_FILENAMES;
	p.flags = OUR_FLAGS;
	memcpy(p.master_key_identifier, id, VG_FSCRYPT_ID_LEN);
	if (ioctl(dirfd, FS_IOC_SET_ENCRYPTION_POLICY, &p) == 0)
		return VG_OK;
	e = errno;
	id_hex(id, hex);
	switch (e) {
	case EEXIST:
		return vg_why(why, why_len, VG_ERR_EXISTS,
			      "the directory is already encrypted under another policy or key");
	case ENOTEMPTY:
		return vg_why(why, why_len, VG_ERR_STATE,
			      "the directory is not empty: an encryption policy is set on an "
			      "empty directory only");
	case ENOKEY:
		return vg_why(why, why_len, VG_ERR_NOT_FOUND,
			      "the key %s was not added by uid %u: add it before setting the "
			      "policy",
			      hex, (unsigned)geteuid());
	case EACCES:
	case EPERM:
		return vg_why(why, why_len, VG_ERR_DENIED,
			      "cannot set the encryption policy: uid %u does not own the directory "
			      "(%s)",
			      (unsigned)geteuid(), strerror(e));
	case EOPNOTSUPP:
	case ENOTTY:
		return unsupported(dirfd, e, why, why_len);
	case ENOPKG:
		return vg_why(why, why_len, VG_ERR_UNSUPPORTED,
			      "the kernel lacks AES-256-XTS or AES-256-CTS (CONFIG_CRYPTO_XTS, "
			      "CONFIG_CRYPTO_CTS)");
	case EROFS:
		return vg_why(why, why_len, VG_ERR_IO, "the file system is read-only");
	default:
		return vg_why(why, why_len, VG_ERR_IO, "cannot set the encryption policy: %s",
			      strerror(e));
	}
}

vg_rc vg_fscrypt_set_policy(const char *dir, const uint8_t id[static VG_FSCRYPT_ID_LEN], char *why,
			    size_t why_len)
{
	int fd;
	vg_rc rc;

	if (!dir || !*dir)
		return vg_why(why, why_len, VG_ERR_INVALID, "no directory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		struct stat st;

		/* O_DIRECTORY | O_NOFOLLOW on a symbolic link: ENOTDIR or ELOOP. */
		if (e == ELOOP || (e == ENOTDIR && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)))
			return vg_why(why, why_len, VG_ERR_DENIED,
				      "%s is a symbolic link: refused (never followed)", dir);
		return vg_why(why, why_len, e == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_INVALID,
			      "cannot open the directory %s: %s", dir, strerror(e));
	}
	rc = vg_fscrypt_set_policy_fd(fd, id, why, why_len);
	(void)close(fd);
	return rc;
}

/* ---- handing the key over to the service's user ---- */

vg_rc vg_fscrypt_claim_for(int fd, const uint8_t key[static VG_FSCRYPT_KEY_LEN], uid_t uid,
			   uint8_t id[static VG_FSCRYPT_ID_LEN], char *why, size_t why_len)
{
	vg_fscrypt_keystat st;
	uid_t prev;
	bool busy, others;
	vg_rc rc;

	if (fd < 0 || !key || !id)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt claim: no file or key");
	if (geteuid() != 0)
		return vg_why(why, why_len, VG_ERR_DENIED,
			      "handing the encryption key to another uid needs root (before the "
			      "privilege drop)");
	if (uid == 0 || uid == (uid_t)-1)
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "the key is handed to the service's own user, not to root");
	/* setfsuid: the narrowest identity change there is (this thread
	 * only, file-system checks only); it returns the previous value and
	 * reports no error, so the result is read back with an invalid uid. */
	prev = (uid_t)setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid) {
		(void)setfsuid(prev);
		return vg_why(why, why_len, VG_ERR_DENIED, "cannot act as uid %u (setfsuid)",
			      (unsigned)uid);
	}
	rc = vg_fscrypt_add_key_fd(fd, key, id, why, why_len);
	(void)setfsuid(prev);
	if ((uid_t)setfsuid((uid_t)-1) != prev)
		return vg_why(why, why_len, VG_ERR_INTERNAL,
			      "cannot return to fsuid %u after adding the key", (unsigned)prev);
	if (rc != VG_OK)
		return rc;
	/* Our own claim (vg_fscrypt_prepare_dir's) goes; uid's keeps the key
	 * present. No claim of ours is fine too. */
	rc = vg_fscrypt_remove_key_fd(fd, id, &busy, &others, why, why_len);
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
		return rc;
	rc = vg_fscrypt_key_status_fd(fd, id, &st, why, why_len);
	if (rc != VG_OK)
		return rc;
	if (st.state != VG_FSCRYPT_KEY_PRESENT)
		return vg_why(why, why_len, VG_ERR_INTERNAL,
			      "the encryption key is not present after handing it to uid %u",
			      (unsigned)uid);
	if (st.user_count != 1 || st.added_by_self)
		return vg_why(why, why_len, VG_ERR_STATE,
			      "%u uids hold the encryption key: a factory reset by uid %u alone "
			      "could not remove it",
			      (unsigned)st.user_count, (unsigned)uid);
	return VG_OK;
}

/* ---- the guarded directory ---- */

const char *vg_fscrypt_action_str(vg_fscrypt_action a)
{
	switch (a) {
	case VG_FSCRYPT_CREATED:
		return "created";
	case VG_FSCRYPT_UNLOCKED:
		return "unlocked";
	case VG_FSCRYPT_ENCRYPTED:
		return "encrypted";
	case VG_FSCRYPT_REKEYED:
		return "rekeyed";
	case VG_FSCRYPT_WIPED:
		return "wiped";
	}
	return "unknown";
}

/* Opens the parent of the absolute path `dir` for reading, component by
 * component from "/" with O_NOFOLLOW (O_PATH for the ones on the way, so
 * that a directory we may only traverse is fine), and returns the last
 * component in name. No symbolic link is followed anywhere. */
static vg_rc open_parent(const char *dir, int *pfd, char name[static NAME_MAX + 1], char *why,
			 size_t why_len)
{
	char buf[PATH_MAX], *slash, *comp, *save = NULL;
	size_t len = dir ? strlen(dir) : 0;
	struct stat st;
	int fd, nfd;
	vg_rc rc = VG_OK;

	*pfd = -1;
	if (len == 0 || dir[0] != '/')
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: an absolute path is needed",
			      dir ? dir : "(null)");
	if (len >= sizeof buf)
		return vg_why(why, why_len, VG_ERR_INVALID, "the path is too long");
	memcpy(buf, dir, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	slash = strrchr(buf, '/');
	if (strlen(slash + 1) == 0 || strlen(slash + 1) > NAME_MAX || strcmp(slash + 1, ".") == 0 ||
	    strcmp(slash + 1, "..") == 0)
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: not a directory's name", dir);
	strcpy(name, slash + 1);
	*slash = '\0';

	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vg_why(why, why_len, VG_ERR_IO, "cannot open /: %s", strerror(errno));
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			rc = vg_why(why, why_len, VG_ERR_INVALID,
				    "%s: '.' and '..' are not allowed in the path", dir);
			break;
		}
		nfd = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			rc = vg_why(why, why_len, errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO,
				    "%s: cannot open its component %s: %s", dir, comp,
				    strerror(errno));
			break;
		}
		(void)close(fd);
		fd = nfd;
		if (fstat(fd, &st) != 0) {
			rc = vg_why(why, why_len, VG_ERR_IO, "%s: %s", comp, strerror(errno));
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			rc = vg_why(why, why_len, VG_ERR_DENIED,
				    "%s: its component %s is a symbolic link: refused (never "
				    "followed)",
				    dir, comp);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = vg_why(why, why_len, VG_ERR_INVALID,
				    "%s: its component %s is not a directory", dir, comp);
			break;
		}
	}
	if (rc == VG_OK) {
		/* The parent for reading: fsync, and an fd the ioctls take. */
		nfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (nfd < 0)
			rc = vg_why(why, why_len, VG_ERR_IO, "cannot open the parent of %s: %s",
				    dir, strerror(errno));
		else
			*pfd = nfd;
	}
	(void)close(fd);
	return rc;
}

/* Whether the directory fd has no entry but "." and "..": 1 yes, 0 no,
 * -1 error. fd stays open and is not moved. */
static int dir_empty(int fd)
{
	int d = dup(fd);
	DIR *dp;
	struct dirent *de;
	int empty = 1;

	if (d < 0)
		return -1;
	dp = fdopendir(d);
	if (!dp) {
		(void)close(d);
		return -1;
	}
	rewinddir(dp);
	errno = 0;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	if (empty && errno != 0)
		empty = -1;
	(void)closedir(dp);
	return empty;
}

/* Overwrites the plaintext of a regular file with zeros, in place, and
 * fsyncs it, before its name goes: a file with other links is left as it
 * is (its content is another name's too). ext4 overwrites in place; a
 * flash translation layer may still keep old copies of the blocks. */
static vg_rc scrub_file(int dirfd, const char *n, dev_t dev, char *why, size_t why_len)
{
	static const uint8_t zeros[65536];
	struct stat st;
	off_t off = 0;
	int fd = openat(dirfd, n, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	vg_rc rc = VG_OK;

	if (fd < 0)
		return vg_why(why, why_len, VG_ERR_IO, "cannot overwrite %s before erasing it: %s",
			      n, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != dev) {
		(void)close(fd);
		return vg_why(why, why_len, VG_ERR_STATE, "%s changed while being erased", n);
	}
	if (st.st_nlink == 1) {
		while (rc == VG_OK && off < st.st_size) {
			size_t k = (size_t)(st.st_size - off) < sizeof zeros
				       ? (size_t)(st.st_size - off)
				       : sizeof zeros;

			rc = vg_pwrite_all(fd, zeros, k, (uint64_t)off);
			off += (off_t)k;
		}
		if (rc == VG_OK && fdatasync(fd) != 0)
			rc = VG_ERR_IO;
		if (rc != VG_OK)
			(void)vg_why(why, why_len, rc, "cannot overwrite %s before erasing it", n);
	}
	(void)close(fd);
	return rc;
}

static vg_rc erase_tree(int pfd, const char *name, dev_t dev, bool scrub, int depth,
			uint64_t *count, char *why, size_t why_len);

/* Unlinks every entry of the directory fd (recursively, no link followed,
 * no other file system entered). Entries are removed while the directory
 * is read; passes repeat until one finds nothing (readdir need not show
 * every entry of a directory that changes under it). */
static vg_rc erase_contents(int fd, dev_t dev, bool scrub, int depth, uint64_t *count, char *why,
			    size_t why_len)
{
	DIR *dp;
	struct dirent *de;
	struct stat st;
	int d, pass;
	bool found = true;
	vg_rc rc = VG_OK;

	if (depth > VG_FSCRYPT_MAX_DEPTH)
		return vg_why(why, why_len, VG_ERR_TOO_LARGE,
			      "the directory is nested deeper than %d levels: not erased",
			      VG_FSCRYPT_MAX_DEPTH);
	d = dup(fd);
	if (d < 0)
		return vg_why(why, why_len, VG_ERR_IO, "dup: %s", strerror(errno));
	dp = fdopendir(d);
	if (!dp) {
		(void)close(d);
		return vg_why(why, why_len, VG_ERR_IO, "cannot read a directory: %s",
			      strerror(errno));
	}
	for (pass = 0; rc == VG_OK && found && pass < 16; pass++) {
		found = false;
		rewinddir(dp);
		while (rc == VG_OK && (errno = 0, de = readdir(dp)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			found = true;
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
				if (errno == ENOENT)
					continue;
				rc = vg_why(why, why_len, VG_ERR_IO, "cannot inspect %s: %s",
					    de->d_name, strerror(errno));
				break;
			}
			if (S_ISDIR(st.st_mode)) {
				rc = erase_tree(fd, de->d_name, dev, scrub, depth + 1, count, why,
						why_len);
				continue;
			}
			if (scrub && S_ISREG(st.st_mode)) {
				rc = scrub_file(fd, de->d_name, dev, why, why_len);
				if (rc != VG_OK)
					break;
			}
			if (unlinkat(fd, de->d_name, 0) != 0 && errno != ENOENT) {
				rc = vg_why(why, why_len, VG_ERR_IO, "cannot erase %s: %s",
					    de->d_name, strerror(errno));
				break;
			}
			(*count)++;
		}
		if (rc == VG_OK && !de && errno != 0)
			rc = vg_why(why, why_len, VG_ERR_IO, "cannot read a directory: %s",
				    strerror(errno));
	}
	if (rc == VG_OK && found)
		rc = vg_why(why, why_len, VG_ERR_STATE,
			    "the directory keeps filling while it is erased");
	(void)closedir(dp);
	return rc;
}

/* Erases the directory pfd/name and everything in it. */
static vg_rc erase_tree(int pfd, const char *name, dev_t dev, bool scrub, int depth,
			uint64_t *count, char *why, size_t why_len)
{
	struct stat st;
	int fd;
	vg_rc rc;

	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vg_why(why, why_len, VG_ERR_IO, "cannot open %s to erase it: %s", name,
			      strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		(void)close(fd);
		return vg_why(why, why_len, VG_ERR_IO, "cannot inspect %s", name);
	}
	if (st.st_dev != dev) {
		(void)close(fd);
		return vg_why(why, why_len, VG_ERR_INVALID,
			      "%s is the mount point of another file system: not erased", name);
	}
	rc = erase_contents(fd, dev, scrub, depth, count, why, why_len);
	(void)close(fd);
	if (rc != VG_OK)
		return rc;
	if (unlinkat(pfd, name, AT_REMOVEDIR) != 0)
		return vg_why(why, why_len, VG_ERR_IO, "cannot erase the directory %s: %s", name,
			      strerror(errno));
	(*count)++;
	return VG_OK;
}

/* Puts the directory and the reason it was being erased before the
 * erasure's own message. */
static void erase_failed(const char *dir, const char *because, char *why, size_t why_len)
{
	char inner[VG_FSCRYPT_WHY_LEN];

	if (!why || !why_len)
		return;
	(void)snprintf(inner, sizeof inner, "%s", why);
	(void)vg_why(why, why_len, VG_OK, "%s (%s) was not erased completely: %s", dir, because,
		     inner);
}

/* Adds the key on fd, and checks that the kernel's identifier is ours.
 * *added: this call made the caller a claimant (to be undone on failure). */
static vg_rc add_checked(int fd, const uint8_t key[static VG_FSCRYPT_KEY_LEN],
			 const uint8_t id[static VG_FSCRYPT_ID_LEN], bool *added, char *why,
			 size_t why_len)
{
	vg_fscrypt_keystat st;
	uint8_t kid[VG_FSCRYPT_ID_LEN];
	vg_rc rc;

	rc = vg_fscrypt_key_status_fd(fd, id, &st, why, why_len);
	if (rc != VG_OK)
		return rc;
	rc = vg_fscrypt_add_key_fd(fd, key, kid, why, why_len);
	if (rc != VG_OK)
		return rc;
	*added = !(st.state == VG_FSCRYPT_KEY_PRESENT && st.added_by_self);
	if (memcmp(kid, id, VG_FSCRYPT_ID_LEN) != 0)
		return vg_why(why, why_len, VG_ERR_INTERNAL,
			      "the kernel names the key otherwise than vg_fscrypt_key_identifier");
	return VG_OK;
}

vg_rc vg_fscrypt_prepare_dir(const char *dir, uid_t owner, gid_t group, mode_t mode,
			     const uint8_t key[static VG_FSCRYPT_KEY_LEN], unsigned flags,
			     vg_fscrypt_outcome *out, char *why, size_t why_len)
{
	char name[NAME_MAX + 1];
	uint8_t id[VG_FSCRYPT_ID_LEN];
	struct stat pst, st, dst;
	vg_fscrypt_policy pol;
	int pfd = -1, dfd = -1, empty;
	bool created = false, added = false;
	vg_rc rc;

	if (out)
		memset(out, 0, sizeof *out);
	if (!dir || !key || !out)
		return vg_why(why, why_len, VG_ERR_INVALID, "fscrypt dir: missing argument");
	if (mode & ~(mode_t)07777)
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: mode %o is not a permission mode",
			      dir, (unsigned)mode);
	if (flags & ~VG_FSCRYPT_WIPE_PLAINTEXT)
		return vg_why(why, why_len, VG_ERR_INVALID, "unknown flags 0x%x", flags);
	rc = vg_fscrypt_key_identifier(key, id);
	if (rc != VG_OK)
		return vg_why(why, why_len, rc, "cannot compute the key's identifier");
	memcpy(out->id, id, sizeof id);

	rc = open_parent(dir, &pfd, name, why, why_len);
	if (rc != VG_OK)
		goto out;
	if (fstat(pfd, &pst) != 0) {
		rc = vg_why(why, why_len, VG_ERR_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((pst.st_mode & (S_IWGRP | S_IWOTH)) || (pst.st_uid != 0 && pst.st_uid != geteuid())) {
		rc = vg_why(why, why_len, VG_ERR_DENIED,
			    "the parent of %s (owner uid %u, mode %04o) must be writable by root "
			    "or uid %u alone",
			    dir, (unsigned)pst.st_uid, (unsigned)(pst.st_mode & 07777),
			    (unsigned)geteuid());
		goto out;
	}

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT) {
			rc = vg_why(why, why_len, VG_ERR_IO, "%s: %s", dir, strerror(errno));
			goto out;
		}
		out->action = VG_FSCRYPT_CREATED;
		goto create;
	}
	if (S_ISLNK(st.st_mode)) {
		rc = vg_why(why, why_len, VG_ERR_DENIED,
			    "%s is a symbolic link: refused (never followed)", dir);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = vg_why(why, why_len, VG_ERR_INVALID, "%s exists and is not a directory", dir);
		goto out;
	}
	if (st.st_dev != pst.st_dev) {
		rc = vg_why(why, why_len, VG_ERR_INVALID,
			    "%s is a mount point: the directory must be inside a file system", dir);
		goto out;
	}
	if (st.st_uid != owner && st.st_uid != 0 && st.st_uid != geteuid()) {
		rc = vg_why(why, why_len, VG_ERR_DENIED,
			    "%s is owned by uid %u, neither uid %u nor root: refused", dir,
			    (unsigned)st.st_uid, (unsigned)owner);
		goto out;
	}
	dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &dst) != 0 || dst.st_ino != st.st_ino ||
	    dst.st_dev != st.st_dev) {
		rc = vg_why(why, why_len, VG_ERR_STATE, "%s changed while being checked", dir);
		goto out;
	}
	rc = vg_fscrypt_get_policy_fd(dfd, &pol, why, why_len);
	if (rc != VG_OK)
		goto out;

	if (pol.encrypted && pol.ours && memcmp(pol.id, id, sizeof id) == 0) {
		rc = add_checked(dfd, key, id, &added, why, why_len);
		if (rc != VG_OK)
			goto out;
		out->action = VG_FSCRYPT_UNLOCKED;
		goto finish;
	}
	if (pol.encrypted) {
		/* Encrypted under a key we no longer derive (a factory reset
		 * rotated it) or under another policy: what is there cannot be
		 * ours to read. The names are unlinked without the key. */
		(void)close(dfd);
		dfd = -1;
		rc = erase_tree(pfd, name, pst.st_dev, false, 0, &out->erased, why, why_len);
		if (rc != VG_OK) {
			erase_failed(dir, "encrypted under another key", why, why_len);
			goto out;
		}
		if (pol.version == FSCRYPT_POLICY_V2 && memcmp(pol.id, id, sizeof id) != 0)
			/* Best effort: our own claim to the old key, if any
			 * is left in this boot. */
			VG_IGNORE(vg_fscrypt_remove_key_fd(pfd, pol.id, NULL, NULL, NULL, 0));
		out->action = VG_FSCRYPT_REKEYED;
		goto create;
	}
	empty = dir_empty(dfd);
	if (empty < 0) {
		rc = vg_why(why, why_len, VG_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
		goto out;
	}
	if (empty) {
		rc = add_checked(dfd, key, id, &added, why, why_len);
		if (rc == VG_OK)
			rc = vg_fscrypt_set_policy_fd(dfd, id, why, why_len);
		if (rc != VG_OK)
			goto out;
		out->action = VG_FSCRYPT_ENCRYPTED;
		goto finish;
	}
	if (!(flags & VG_FSCRYPT_WIPE_PLAINTEXT)) {
		rc =
		    vg_why(why, why_len, VG_ERR_STATE,
			   "%s holds unencrypted files: refused (never encrypted in place, never "
			   "deleted); move them away, or prepare it with VG_FSCRYPT_WIPE_PLAINTEXT",
			   dir);
		goto out;
	}
	(void)close(dfd);
	dfd = -1;
	rc = erase_tree(pfd, name, pst.st_dev, true, 0, &out->erased, why, why_len);
	if (rc != VG_OK) {
		erase_failed(dir, "unencrypted, to be wiped", why, why_len);
		goto out;
	}
	out->action = VG_FSCRYPT_WIPED;

create:
	/* 0700 from the start: nobody else enters it before it has its
	 * policy and its owner. */
	if (mkdirat(pfd, name, 0700) != 0) {
		rc = vg_why(why, why_len, errno == EEXIST ? VG_ERR_STATE : VG_ERR_IO,
			    "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	created = true;
	dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &dst) != 0 || dst.st_uid != geteuid() ||
	    dst.st_dev != pst.st_dev) {
		rc = vg_why(why, why_len, VG_ERR_STATE, "%s changed while being created", dir);
		goto out;
	}
	rc = add_checked(dfd, key, id, &added, why, why_len);
	if (rc == VG_OK)
		rc = vg_fscrypt_set_policy_fd(dfd, id, why, why_len);
	if (rc != VG_OK)
		goto out;

finish:
	if (fstat(dfd, &dst) != 0) {
		rc = vg_why(why, why_len, VG_ERR_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((dst.st_uid != owner || dst.st_gid != group) && fchown(dfd, owner, group) != 0) {
		rc = vg_why(why, why_len, errno == EPERM ? VG_ERR_DENIED : VG_ERR_IO,
			    "cannot give %s to uid %u gid %u: %s", dir, (unsigned)owner,
			    (unsigned)group, strerror(errno));
		goto out;
	}
	if ((dst.st_mode & 07777) != mode && fchmod(dfd, mode) != 0) {
		rc = vg_why(why, why_len, VG_ERR_IO, "cannot set the mode of %s: %s", dir,
			    strerror(errno));
		goto out;
	}
	if (fsync(dfd) != 0 || fsync(pfd) != 0) {
		rc = vg_why(why, why_len, VG_ERR_IO, "cannot sync %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = VG_OK;

out:
	if (dfd >= 0)
		(void)close(dfd);
	if (rc != VG_OK && pfd >= 0) {
		/* Undo what this call made; a message already set stays. */
		if (created)
			(void)unlinkat(pfd, name, AT_REMOVEDIR);
		if (added)
			VG_IGNORE(vg_fscrypt_remove_key_fd(pfd, id, NULL, NULL, NULL, 0));
	}
	if (pfd >= 0)
		(void)close(pfd);
	return rc;
}

/* ---- setting a rotated directory aside (factory reset) ---- */

#define ASIDE_TAG ".erased-"

vg_rc vg_fscrypt_set_aside(const char *dir, char *why, size_t why_len)
{
	char name[NAME_MAX + 1], aside[NAME_MAX + 1];
	uint8_t rnd[4];
	struct stat st;
	int pfd = -1;
	vg_rc rc = open_parent(dir, &pfd, name, why, why_len);

	if (rc != VG_OK)
		return rc;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = errno == ENOENT
			 ? VG_OK
			 : vg_why(why, why_len, VG_ERR_IO, "%s: %s", dir, strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		rc = vg_why(why, why_len, VG_ERR_INVALID, "%s is not a directory: not set aside",
			    dir);
	} else if (strlen(name) + sizeof ASIDE_TAG + 9 > sizeof aside) {
		rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: the name is too long", dir);
	} else if (RAND_bytes(rnd, sizeof rnd) != 1) {
		rc = vg_why(why, why_len, VG_ERR_CRYPTO, "no random bytes");
	} else {
		int n = snprintf(aside, sizeof aside, ".%s" ASIDE_TAG "%02x%02x%02x%02x", name,
				 rnd[0], rnd[1], rnd[2], rnd[3]);
		if (n < 0 || (size_t)n >= sizeof aside)
			rc = vg_why(why, why_len, VG_ERR_INVALID, "%s: the name is too long", dir);
		else if (renameat(pfd, name, pfd, aside) != 0)
			rc = vg_why(why, why_len, VG_ERR_IO, "%s: cannot set it aside: %s", dir,
				    strerror(errno));
		else if (fsync(pfd) != 0)
			rc = vg_why(why, why_len, VG_ERR_IO, "%s: fsync of its parent: %s", dir,
				    strerror(errno));
	}
	(void)close(pfd);
	return rc;
}

vg_rc vg_fscrypt_erase_aside(const char *dir, uint64_t *erased, char *why, size_t why_len)
{
	char name[NAME_MAX + 1], prefix[NAME_MAX + sizeof ASIDE_TAG + 2];
	struct stat pst;
	struct dirent *de;
	DIR *dp;
	int pfd = -1, d;
	vg_rc rc = open_parent(dir, &pfd, name, why, why_len), first = VG_OK;

	*erased = 0;
	if (rc != VG_OK)
		return rc;
	(void)snprintf(prefix, sizeof prefix, ".%s" ASIDE_TAG, name);
	if (fstat(pfd, &pst) != 0 || (d = dup(pfd)) < 0) {
		(void)close(pfd);
		return vg_why(why, why_len, VG_ERR_IO, "%s: its parent: %s", dir, strerror(errno));
	}
	dp = fdopendir(d);
	if (!dp) {
		(void)close(d);
		(void)close(pfd);
		return vg_why(why, why_len, VG_ERR_IO, "%s: its parent: %s", dir, strerror(errno));
	}
	while ((de = readdir(dp))) {
		char one[VG_FSCRYPT_WHY_LEN];
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		rc = erase_tree(pfd, de->d_name, pst.st_dev, false, 0, erased, one, sizeof one);
		if (rc != VG_OK && first == VG_OK) {
			first = rc;
			(void)vg_why(why, why_len, rc, "%s", one);
		}
	}
	(void)closedir(dp);
	if (first == VG_OK && fsync(pfd) != 0)
		first = vg_why(why, why_len, VG_ERR_IO, "%s: fsync of its parent: %s", dir,
			       strerror(errno));
	(void)close(pfd);
	return first;
}
