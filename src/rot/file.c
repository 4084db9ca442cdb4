/*
 * file.c - the `file` root-of-trust backend (development only).
 *
 * root.key: 32 random bytes, mode 0600, created once with O_EXCL.
 * counter:  two 32-byte slots, each "VGC1" | value (u64 BE) | 16 zero bytes
 *           | the first 4 bytes of SHA-256 over the first 28 bytes. A write
 *           goes to the slot that does not hold the current value and is
 *           fdatasync'ed in place (no rename), so a torn write leaves the
 *           current value intact; the reader takes the highest valid slot.
 *           Counter 0 is written when the device is created.
 *
 * secver:   the security-version counter (rot.h), the same two slots with
 *           magic "VGS1" (so neither file passes for the other), created
 *           whole on first use (value 0 in slot 0, written to a temporary
 *           file and renamed into place), so an existing secver file always
 *           holds a valid slot: one with no valid slot is damage, refused.
 *           It lives in the state dir, so a restored or wiped state dir
 *           takes it back (to 0 if the file is gone): the hardware
 *           backend's promise (rot.h) does not hold here, one more reason
 *           this is a development backend.
 *
 * erase.key: 32 random bytes, mode 0600, the erase secret (rot.h), created
 *           on first use and overwritten in place (then fdatasync'ed) when
 *           rotated, so the old value does not survive in a freed block.
 *
 * Anyone who can read the state dir as the service user holds the root key:
 * that is why `voxguard status` calls this backend a development backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/util.h"
#include "rot/rot.h"

#define SLOT_LEN      32u
#define COUNTER_MAGIC "VGC1"
#define SECVER_MAGIC  "VGS1"

/* A two-slot counter file. */
struct slots {
	const char *magic;
	int fd; /* -1: not open (yet) */
	uint64_t value;
	int slot; /* the slot holding `value`; the next write goes to the other */
};

struct file_rot {
	uint8_t *root; /* VG_KEY_LEN bytes of secret memory */
	struct slots counter;
	struct slots secver; /* opened (or created) on first use */
	char erase_path[4096];
	char secver_path[4096];
};

static vg_rc file_derive(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
			 uint8_t out[VG_KEY_LEN])
{
	struct file_rot *f = r->priv;

	return vg_hkdf(f->root, VG_KEY_LEN, label, ctx, ctx_len, out);
}

static void slot_encode(const char *magic, uint64_t v, uint8_t s[SLOT_LEN])
{
	uint8_t d[32];

	memset(s, 0, SLOT_LEN);
	memcpy(s, magic, 4);
	for (int i = 0; i < 8; i++)
		s[4 + i] = (uint8_t)(v >> (56 - 8 * i));
	VG_IGNORE(vg_sha256(s, 28, d));
	memcpy(s + 28, d, 4);
}

static bool slot_decode(const char *magic, const uint8_t s[SLOT_LEN], uint64_t *v)
{
	uint8_t d[32];

	if (memcmp(s, magic, 4) != 0 || vg_sha256(s, 28, d) != VG_OK || memcmp(s + 28, d, 4) != 0)
		return false;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | s[4 + i];
	return true;
}

/* Writes value into the slot that does NOT hold the current value, so a
 * torn write can only lose the new value, never the current one. */
static vg_rc counter_write(struct slots *c, uint64_t value)
{
	uint8_t s[SLOT_LEN];
	int slot = 1 - c->slot;

	slot_encode(c->magic, value, s);
	if (pwrite(c->fd, s, SLOT_LEN, (off_t)slot * SLOT_LEN) != SLOT_LEN || fdatasync(c->fd) != 0)
		return VG_ERR_IO;
	c->value = value;
	c->slot = slot;
	return VG_OK;
}

/* Takes the highest valid slot. Both slots bad (or an emptied file) is
 * never a torn write: one slot is written at a time, and slot 0 holds a
 * value from creation on. Someone damaged the counter: fail closed. */
static vg_rc counter_load(struct slots *c)
{
	uint8_t s[2 * SLOT_LEN];
	uint64_t a = 0, b = 0;
	bool va, vb;

	memset(s, 0, sizeof s);
	if (pread(c->fd, s, sizeof s, 0) < 0)
		return VG_ERR_IO;
	va = slot_decode(c->magic, s, &a);
	vb = slot_decode(c->magic, s + SLOT_LEN, &b);
	if (!va && !vb)
		return VG_ERR_INTEGRITY;
	c->slot = va && (!vb || a > b) ? 0 : 1;
	c->value = c->slot == 0 ? a : b;
	return VG_OK;
}

static vg_rc file_counter_read(vg_rot *r, uint64_t *value)
{
	*value = ((struct file_rot *)r->priv)->counter.value;
	return VG_OK;
}

static vg_rc file_counter_advance(vg_rot *r, uint64_t value)
{
	struct file_rot *f = r->priv;

	if (value <= f->counter.value)
		return VG_OK;
	return counter_write(&f->counter, value);
}

/* Opens the security-version file, creating it at 0 on first use. It is
 * created whole (temporary file, fsync, rename, fsync of the dir), so no
 * crash leaves a secver file without a valid slot 0. */
static vg_rc secver_open(struct file_rot *f)
{
	struct stat st;
	vg_rc rc;
	int fd;

	if (f->secver.fd >= 0)
		return VG_OK;
	fd = open(f->secver_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		uint8_t init[2 * SLOT_LEN];

		memset(init, 0, sizeof init);
		slot_encode(SECVER_MAGIC, 0, init);
		rc = vg_write_file_atomic(f->secver_path, init, sizeof init, 0600);
		if (rc != VG_OK)
			return rc;
		fd = open(f->secver_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return VG_ERR_IO;
	/* Like root.key: ours, a regular file, nobody else's to write. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    st.st_uid != geteuid()) {
		(void)close(fd);
		return VG_ERR_INTEGRITY;
	}
	f->secver.fd = fd;
	rc = counter_load(&f->secver);
	if (rc != VG_OK) {
		f->secver.fd = -1;
		(void)close(fd);
	}
	return rc;
}

static vg_rc file_secver_read(vg_rot *r, uint64_t *value)
{
	struct file_rot *f = r->priv;
	vg_rc rc = secver_open(f);

	*value = rc == VG_OK ? f->secver.value : 0;
	return rc;
}

static vg_rc file_secver_advance(vg_rot *r, uint64_t value)
{
	struct file_rot *f = r->priv;
	vg_rc rc = secver_open(f);

	if (rc != VG_OK || value <= f->secver.value)
		return rc;
	if (value - f->secver.value > VG_ROT_SECVER_MAX_STEP)
		return VG_ERR_INVALID;
	return counter_write(&f->secver, value);
}

static vg_rc file_random(vg_rot *r, uint8_t *buf, size_t len)
{
	(void)r;
	return RAND_priv_bytes(buf, (int)len) == 1 ? VG_OK : VG_ERR_CRYPTO;
}

static vg_rc file_erase_secret(vg_rot *r, bool rotate, uint8_t out[VG_KEY_LEN])
{
	struct file_rot *f = r->priv;
	int fd = open(f->erase_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	bool create = fd < 0 && errno == ENOENT;
	struct stat st;
	vg_rc rc = VG_OK;

	if (create)
		fd = open(f->erase_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return VG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    st.st_uid != geteuid() || (!create && st.st_size != VG_KEY_LEN)) {
		(void)close(fd);
		return VG_ERR_INTEGRITY;
	}
	if (create || rotate) {
		if (RAND_priv_bytes(out, VG_KEY_LEN) != 1)
			rc = VG_ERR_CRYPTO;
		if (rc == VG_OK &&
		    (pwrite(fd, out, VG_KEY_LEN, 0) != VG_KEY_LEN || fdatasync(fd) != 0))
			rc = VG_ERR_IO;
		if (rc == VG_OK && create)
			rc = vg_fsync_dir_of(f->erase_path);
	} else if (pread(fd, out, VG_KEY_LEN, 0) != VG_KEY_LEN) {
		rc = VG_ERR_IO;
	}
	(void)close(fd);
	if (rc != VG_OK)
		vg_wipe(out, VG_KEY_LEN);
	return rc;
}

static void file_close(vg_rot *r)
{
	struct file_rot *f = r->priv;

	if (f) {
		vg_secret_free(f->root, VG_KEY_LEN);
		if (f->counter.fd >= 0)
			(void)close(f->counter.fd);
		if (f->secver.fd >= 0)
			(void)close(f->secver.fd);
		free(f);
	}
	free(r);
}

static const vg_rot_ops file_ops = {
    .name = "file",
    .is_dev = true,
    .derive = file_derive,
    .counter_read = file_counter_read,
    .counter_advance = file_counter_advance,
    .random = file_random,
    .erase_secret = file_erase_secret,
    .secver_read = file_secver_read,
    .secver_advance = file_secver_advance,
    .close = file_close,
};

static vg_rc load_or_create_root(const char *path, uint8_t *root)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	vg_rc rc = VG_OK;

	if (fd < 0 && errno == ENOENT) {
		uint8_t k[VG_KEY_LEN];
		if (RAND_priv_bytes(k, sizeof k) != 1)
			return VG_ERR_CRYPTO;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			vg_wipe(k, sizeof k);
			return VG_ERR_IO;
		}
		rc = vg_write_all(fd, k, sizeof k);
		if (rc == VG_OK && fsync(fd) != 0)
			rc = VG_ERR_IO;
		(void)close(fd);
		if (rc == VG_OK)
			rc = vg_fsync_dir_of(path);
		if (rc == VG_OK)
			memcpy(root, k, VG_KEY_LEN);
		else
			(void)unlink(path);
		vg_wipe(k, sizeof k);
		return rc;
	}
	if (fd < 0)
		return VG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    st.st_uid != geteuid() || st.st_size != VG_KEY_LEN) {
		(void)close(fd);
		return VG_ERR_INTEGRITY;
	}
	if (read(fd, root, VG_KEY_LEN) != VG_KEY_LEN)
		rc = VG_ERR_IO;
	(void)close(fd);
	return rc;
}

vg_rc vg_rot_file_open(vg_rot **out, const char *state_dir)
{
	char path[4096];
	struct file_rot *f = NULL;
	vg_rot *r = NULL;
	bool fresh;
	vg_rc rc;

	*out = NULL;
	r = calloc(1, sizeof *r);
	f = calloc(1, sizeof *f);
	if (!r || !f) {
		free(r);
		free(f);
		return VG_ERR_NOMEM;
	}
	f->counter = (struct slots){.magic = COUNTER_MAGIC, .fd = -1};
	f->secver = (struct slots){.magic = SECVER_MAGIC, .fd = -1};
	r->ops = &file_ops;
	r->priv = f;
	f->root = vg_secret_alloc(VG_KEY_LEN);
	if (!f->root) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}
	if ((size_t)snprintf(f->erase_path, sizeof f->erase_path, "%s/erase.key", state_dir) >=
		sizeof f->erase_path ||
	    (size_t)snprintf(f->secver_path, sizeof f->secver_path, "%s/secver", state_dir) >=
		sizeof f->secver_path ||
	    (size_t)snprintf(path, sizeof path, "%s/root.key", state_dir) >= sizeof path) {
		rc = VG_ERR_INVALID;
		goto fail;
	}
	/* A fresh device has neither file; the counter is created first so a
	 * crash in between never leaves a root key without its counter. A
	 * device whose counter vanished while its key stayed has had its state
	 * dir tampered with: fail closed. */
	fresh = access(path, F_OK) != 0 && errno == ENOENT;
	{
		char cpath[4096];
		(void)snprintf(cpath, sizeof cpath, "%s/counter", state_dir);
		f->counter.fd =
		    open(cpath, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (fresh ? O_CREAT : 0), 0600);
		if (f->counter.fd < 0) {
			rc = errno == ENOENT ? VG_ERR_INTEGRITY : VG_ERR_IO;
			goto fail;
		}
	}
	if (fresh) {
		/* Counter 0 is written before the root key exists, so an empty
		 * counter file next to a root key is never a crash: tampering. */
		f->counter.slot = 1;
		rc = counter_write(&f->counter, 0);
		if (rc != VG_OK)
			goto fail;
	}
	rc = load_or_create_root(path, f->root);
	if (rc != VG_OK)
		goto fail;
	rc = counter_load(&f->counter);
	if (rc != VG_OK)
		goto fail;
	*out = r;
	return VG_OK;
fail:
	file_close(r);
	return rc;
}
