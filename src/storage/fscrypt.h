/*
 * fscrypt.h - the SDK's persistent state in a directory that the kernel
 * encrypts (SFR 4.2.4 note 1; AVS Device SDK: protect the persistent state
 * of the SDK from tampering and inspection).
 *
 * The SDK's databases (alerts, settings, certified sender, ...) live in one
 * directory with an fscrypt v2 policy: file contents in AES-256-XTS, names
 * in AES-256-CTS, names padded to 32 bytes. Its 64-byte master key is
 * derived by the service from the root of trust (vg_rot_derive) and given
 * to the kernel at every start (FS_IOC_ADD_ENCRYPTION_KEY); the kernel
 * forgets it when the file system is unmounted. Without the key the
 * directory holds only ciphertext and encrypted names, on the device and on
 * a copy of its flash; a factory reset removes the key from the kernel and
 * rotates what it is derived from, after which the old state cannot be read
 * by anyone and is erased at the next start (vg_fscrypt_prepare_dir).
 *
 * What it does not do: fscrypt encrypts, it does not authenticate. Offline,
 * an attacker who can write the flash can corrupt a block (the file reads
 * as garbage in that block) or put back an older copy of the encrypted
 * file; he cannot read it or make a chosen change. Integrity against that
 * is dm-verity/dm-integrity's or the secure storage's (storage/secstore.h).
 *
 * Kernel rules that the callers must follow (Documentation/filesystems/
 * fscrypt.rst; fs/crypto/keyring.c, policy.c):
 *   - ext4 needs the "encrypt" feature (mkfs.ext4 -O encrypt, or
 *     tune2fs -O encrypt DEV) and a kernel with CONFIG_FS_ENCRYPTION;
 *     v2 policies need Linux 5.4 or later.
 *   - Adding a key by identifier (v2) is unprivileged. The kernel records
 *     a "claim" under the caller's file-system uid (fsuid) and charges it
 *     to that uid's key quota (kernel.keys.maxkeys, 200 by default).
 *   - Removing a key (FS_IOC_REMOVE_ENCRYPTION_KEY) removes the caller's
 *     claim only; the key itself goes when the last claim goes. Removing
 *     every claim at once (..._ALL_USERS) needs CAP_SYS_ADMIN.
 *   - Setting a v2 policy needs the key present and added by the caller
 *     (or CAP_FOWNER), and the caller must own the directory (or have
 *     CAP_FOWNER); the directory must be empty.
 *   - Files that are open when the key is removed stay readable until they
 *     are closed ("incompletely removed", busy); new opens fail (ENOKEY).
 *
 * The ioctls act on a file system, not on a directory: every function that
 * takes `path` or `fd` for a key accepts any file or directory of that file
 * system. Use the directory's parent (or the mount point) for the key's
 * removal: a descriptor open on the encrypted directory itself keeps it
 * busy. Paths are never followed through a symbolic link at their last
 * component (O_NOFOLLOW); vg_fscrypt_prepare_dir follows none at all.
 *
 * Every function returns VG_OK or an error with its one-line reason in
 * `why` (why_len bytes, nothing when why is NULL or why_len is 0). No
 * function writes a key anywhere but into the kernel's ioctl; the argument
 * that carries it is wiped (vg_wipe) whatever happens.
 */
#ifndef VG_FSCRYPT_H
#define VG_FSCRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "voxguard/voxguard.h"

#define VG_FSCRYPT_KEY_LEN 64 /* a raw master key, as the kernel takes it */
#define VG_FSCRYPT_ID_LEN  16 /* the kernel's key identifier (not secret) */
#define VG_FSCRYPT_WHY_LEN 320
/* How deep vg_fscrypt_prepare_dir erases before it gives up. */
#define VG_FSCRYPT_MAX_DEPTH 32

/* The kernel's state of a key on a file system. */
typedef enum vg_fscrypt_key_state {
	VG_FSCRYPT_KEY_ABSENT = 1,
	VG_FSCRYPT_KEY_PRESENT = 2,
	/* removed, but files that were open then are still in use */
	VG_FSCRYPT_KEY_INCOMPLETELY_REMOVED = 3,
} vg_fscrypt_key_state;

typedef struct vg_fscrypt_keystat {
	vg_fscrypt_key_state state;
	bool added_by_self;  /* the caller's fsuid holds a claim */
	uint32_t user_count; /* how many uids hold a claim (0 unless present) */
} vg_fscrypt_keystat;

typedef struct vg_fscrypt_policy {
	bool encrypted;  /* false: the directory has no policy */
	uint8_t version; /* 2 (v2), 0 (v1: no identifier), 0xff (a later one) */
	uint8_t contents_mode, filenames_mode, flags;
	uint8_t id[VG_FSCRYPT_ID_LEN]; /* v2: the key's identifier; zeros for v1 */
	bool ours;                     /* v2 with exactly the modes and flags this module sets */
} vg_fscrypt_policy;

/* Whether the file system of `dir` (an existing file or directory) takes
 * fscrypt v2 policies: VG_OK, or VG_ERR_UNSUPPORTED with the reason, e.g.
 * "ext4 without the encrypt feature: tune2fs -O encrypt DEV" or "tmpfs has
 * no file encryption"; VG_ERR_NOT_FOUND / VG_ERR_IO when dir cannot be
 * opened, VG_ERR_DENIED when it is a symbolic link. */
VG_NODISCARD vg_rc vg_fscrypt_probe(const char *dir, char *why, size_t why_len);

/* The identifier the kernel gives `key` (HKDF-SHA512 of the key, info
 * "fscrypt\0" 0x01, 16 bytes; computed with OpenSSL): lets a caller tell
 * whose a policy is before it adds anything. VG_ERR_CRYPTO on failure. */
VG_NODISCARD vg_rc vg_fscrypt_key_identifier(const uint8_t key[static VG_FSCRYPT_KEY_LEN],
					     uint8_t id[static VG_FSCRYPT_ID_LEN]);

/* FS_IOC_ADD_ENCRYPTION_KEY: adds `key` to the file system of path/fd as a
 * v2 key (by identifier), with a claim for the caller's fsuid, and returns
 * the kernel's identifier in id. Adding a key already added is harmless.
 * VG_ERR_UNSUPPORTED when the file system has no encryption, VG_ERR_QUOTA
 * when the uid's key quota is spent. */
VG_NODISCARD vg_rc vg_fscrypt_add_key(const char *path,
				      const uint8_t key[static VG_FSCRYPT_KEY_LEN],
				      uint8_t id[static VG_FSCRYPT_ID_LEN], char *why,
				      size_t why_len);
VG_NODISCARD vg_rc vg_fscrypt_add_key_fd(int fd, const uint8_t key[static VG_FSCRYPT_KEY_LEN],
					 uint8_t id[static VG_FSCRYPT_ID_LEN], char *why,
					 size_t why_len);

/* FS_IOC_REMOVE_ENCRYPTION_KEY: removes the caller's claim to the key `id`,
 * and the key itself when it was the last claim. VG_OK with, as
 * information: *busy (may be NULL) when files unlocked with the key are
 * still open (the key is wiped, those files stay readable until closed;
 * call again after closing them), *others (may be NULL) when other uids
 * still hold claims and the key stays. VG_ERR_NOT_FOUND when the key is not
 * there or the caller holds no claim to it. */
VG_NODISCARD vg_rc vg_fscrypt_remove_key(const char *path,
					 const uint8_t id[static VG_FSCRYPT_ID_LEN], bool *busy,
					 bool *others, char *why, size_t why_len);
VG_NODISCARD vg_rc vg_fscrypt_remove_key_fd(int fd, const uint8_t id[static VG_FSCRYPT_ID_LEN],
					    bool *busy, bool *others, char *why, size_t why_len);

/* FS_IOC_GET_ENCRYPTION_KEY_STATUS of the key `id`. */
VG_NODISCARD vg_rc vg_fscrypt_key_status(const char *path,
					 const uint8_t id[static VG_FSCRYPT_ID_LEN],
					 vg_fscrypt_keystat *st, char *why, size_t why_len);
VG_NODISCARD vg_rc vg_fscrypt_key_status_fd(int fd, const uint8_t id[static VG_FSCRYPT_ID_LEN],
					    vg_fscrypt_keystat *st, char *why, size_t why_len);

/* FS_IOC_SET_ENCRYPTION_POLICY: gives the empty directory dir/fd the v2
 * policy of key `id` (AES-256-XTS, AES-256-CTS, FSCRYPT_POLICY_FLAGS_PAD_32).
 * VG_OK also when it already has exactly that policy. VG_ERR_EXISTS: it has
 * another policy; VG_ERR_STATE: it is not empty; VG_ERR_NOT_FOUND: the key
 * was not added (by the caller); VG_ERR_DENIED: the caller does not own it.
 * The path form refuses a symbolic link. */
VG_NODISCARD vg_rc vg_fscrypt_set_policy(const char *dir,
					 const uint8_t id[static VG_FSCRYPT_ID_LEN], char *why,
					 size_t why_len);
VG_NODISCARD vg_rc vg_fscrypt_set_policy_fd(int dirfd, const uint8_t id[static VG_FSCRYPT_ID_LEN],
					    char *why, size_t why_len);

/* FS_IOC_GET_ENCRYPTION_POLICY_EX: whether dir/fd is encrypted, with which
 * policy version and key identifier (readable without the key: how the
 * service tells "encrypted under a key I no longer derive"). The path form
 * refuses a symbolic link (VG_ERR_DENIED). */
VG_NODISCARD vg_rc vg_fscrypt_get_policy(const char *path, vg_fscrypt_policy *p, char *why,
					 size_t why_len);
VG_NODISCARD vg_rc vg_fscrypt_get_policy_fd(int fd, vg_fscrypt_policy *p, char *why,
					    size_t why_len);

/*
 * Root only, before the service drops privileges (vg_privdrop) and enters
 * its sandbox (whose seccomp filter kills setfsuid): hands the key over to
 * `uid`, the service's own user, so that the service can remove it at a
 * factory reset with its own rights. In the calling thread only: the
 * fsuid is set to uid, the key added (uid's claim, uid's quota), the fsuid
 * set back to 0; then the caller's own claim (root's, from
 * vg_fscrypt_prepare_dir) is removed. The key stays present throughout.
 * VG_OK when afterwards uid's claim is the only one, VG_ERR_STATE when
 * another uid holds one too (the reset could not remove the key: fail
 * closed), VG_ERR_DENIED when not root, VG_ERR_INVALID for uid 0. fd: any
 * file of the file system (the encrypted directory's parent).
 */
VG_NODISCARD vg_rc vg_fscrypt_claim_for(int fd, const uint8_t key[static VG_FSCRYPT_KEY_LEN],
					uid_t uid, uint8_t id[static VG_FSCRYPT_ID_LEN], char *why,
					size_t why_len);

/* What vg_fscrypt_prepare_dir found and did. */
typedef enum vg_fscrypt_action {
	VG_FSCRYPT_CREATED = 1,   /* absent: created, encrypted under the key */
	VG_FSCRYPT_UNLOCKED = 2,  /* already ours: the key was added, nothing else */
	VG_FSCRYPT_ENCRYPTED = 3, /* present, unencrypted and empty: encrypted */
	VG_FSCRYPT_REKEYED = 4,   /* encrypted under another key (a factory reset
				     rotated it) or another policy: erased, made anew */
	VG_FSCRYPT_WIPED = 5,     /* unencrypted with contents and VG_FSCRYPT_WIPE_PLAINTEXT:
				     the files overwritten and erased, made anew */
} vg_fscrypt_action;

typedef struct vg_fscrypt_outcome {
	vg_fscrypt_action action;
	uint8_t id[VG_FSCRYPT_ID_LEN]; /* the key's identifier: keep it for the removal */
	uint64_t erased;               /* entries removed (REKEYED, WIPED) */
} vg_fscrypt_outcome;

/* vg_fscrypt_prepare_dir's flags. */
/* An unencrypted directory that holds files is emptied (each regular file
 * with a single link overwritten with zeros and fsync'ed, then every entry
 * unlinked) and encrypted anew, instead of refused. For a maker's update
 * that brings encryption to an existing device, where losing the SDK's old
 * state is accepted (the SDK registers again). There is no in-place
 * migration: copying plaintext into the encrypted directory would leave
 * the old plaintext blocks in the flash, readable from a copy of it. */
#define VG_FSCRYPT_WIPE_PLAINTEXT 0x1u

/*
 * The directory the service guards: dir (an absolute path; its parent must
 * exist, be on the same file system, be writable by its owner only and be
 * owned by root or the caller; no component of either may be a symbolic
 * link) ends up encrypted under `key`, the key added to the kernel, owned
 * by owner:group with `mode` (permission bits only):
 *   - absent: created and given the policy (CREATED);
 *   - present with our policy: the key is added, nothing else (UNLOCKED);
 *   - present, encrypted under another identifier, another policy or v1
 *     (the key was rotated by a factory reset): erased -- each entry
 *     unlinked, which needs no key; no symbolic link followed; never
 *     crossing into another file system -- and made anew (REKEYED);
 *   - present, unencrypted and empty: given the policy (ENCRYPTED);
 *   - present, unencrypted and not empty: VG_ERR_STATE, nothing touched,
 *     unless flags has VG_FSCRYPT_WIPE_PLAINTEXT (WIPED).
 * A symbolic link (in place of dir or of a parent component): VG_ERR_DENIED;
 * not a directory, or a mount point: VG_ERR_INVALID; owned by another uid
 * than owner, root or the caller: VG_ERR_DENIED; no encryption on the file
 * system: VG_ERR_UNSUPPORTED with vg_fscrypt_probe's reason.
 * The key's claim is the caller's (see vg_fscrypt_claim_for). Setting the
 * policy on a directory the caller does not own needs root (CAP_FOWNER).
 * On failure a directory this call created is removed again and a claim it
 * added is withdrawn; an erasure cannot be undone.
 */
VG_NODISCARD vg_rc vg_fscrypt_prepare_dir(const char *dir, uid_t owner, gid_t group, mode_t mode,
					  const uint8_t key[static VG_FSCRYPT_KEY_LEN],
					  unsigned flags, vg_fscrypt_outcome *out, char *why,
					  size_t why_len);

const char *vg_fscrypt_action_str(vg_fscrypt_action a);

/*
 * For a factory reset by a service that may not be able to erase what the
 * application wrote (its subdirectories are the application's, 0700): the
 * directory is renamed, in its parent, to ".NAME.erased-XXXXXXXX" (at once,
 * whatever it holds), so that vg_fscrypt_prepare_dir makes a new, empty
 * one; VG_OK also when dir does not exist. vg_fscrypt_erase_aside then
 * erases every such directory beside dir, as far as the caller's rights
 * go (*erased counts the entries removed), never following a symbolic
 * link nor leaving the file system; what it cannot erase stays, still
 * encrypted under a key that is gone, for the next attempt (the first
 * failure's reason in why). Neither needs the key.
 */
VG_NODISCARD vg_rc vg_fscrypt_set_aside(const char *dir, char *why, size_t why_len);
VG_NODISCARD vg_rc vg_fscrypt_erase_aside(const char *dir, uint64_t *erased, char *why,
					  size_t why_len);

#endif
