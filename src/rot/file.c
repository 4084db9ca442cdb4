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

#define SLOT_LEN 32u

struct file_rot {
	uint8_t *root; /* VG_KEY_LEN bytes of secret memory */
	int counter_fd;
	uint64_t counter;
	int slot; /* the slot holding `counter`; the next write goes to the other */
	char erase_path[4096];
};

static vg_rc file_derive(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
			 uint8_t out[VG_KEY_LEN])
{
	struct file_rot *f = r->priv;

	return vg_hkdf(f->root, VG_KEY_LEN, label, ctx, ctx_len, out);
}

static void slot_encode(uint64_t v, uint8_t s[SLOT_LEN])
{
	uint8_t d[32];

	memset(s, 0, SLOT_LEN);
	memcpy(s, "VGC1", 4);
	for (int i = 0; i < 8; i++)
		s[4 + i] = (uint8_t)(v >> (56 - 8 * i));
	VG_IGNORE(vg_sha256(s, 28, d));
	memcpy(s + 28, d, 4);
}

static bool slot_decode(const uint8_t s[SLOT_LEN], uint64_t *v)
{
	uint8_t d[32];

	if (memcmp(s, "VGC1", 4) != 0 || vg_sha256(s, 28, d) != VG_OK || memcmp(s + 28, d, 4) != 0)
		return false;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = *v << 8 | s[4 + i];
	return true;
}

/* Writes value into the slot that does NOT hold the current value, so a
 * torn write can only lose the new value, never the current one. */
static vg_rc counter_write(struct file_rot *f, uint64_t value)
{
	uint8_t s[SLOT_LEN];
	int slot = 1 - f->slot;

	slot_encode(value, s);
	if (pwrite(f->counter_fd, s, SLOT_LEN, (off_t)slot * SLOT_LEN) != SLOT_LEN ||
	    fdatasync(f->counter_fd) != 0)
		return VG_ERR_IO;
	f->counter = value;
	f->slot = slot;
	return VG_OK;
}

static vg_rc file_counter_read(vg_rot *r, uint64_t *value)
{
	*value = ((struct file_rot *)r->priv)->counter;
	return VG_OK;
}

static vg_rc file_counter_advance(vg_rot *r, uint64_t value)
{
	struct file_rot *f = r->priv;

	if (value <= f->counter)
		return VG_OK;
	return counter_write(f, value);
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
		if (f->counter_fd >= 0)
			(void)close(f->counter_fd);
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
	uint8_t slots[2 * SLOT_LEN];
	uint64_t a = 0, b = 0;
	bool va, vb, fresh;
	ssize_t n;
	vg_rc rc;

	*out = NULL;
	r = calloc(1, sizeof *r);
	f = calloc(1, sizeof *f);
	if (!r || !f) {
		free(r);
		free(f);
		return VG_ERR_NOMEM;
	}
	f->counter_fd = -1;
	r->ops = &file_ops;
	r->priv = f;
	f->root = vg_secret_alloc(VG_KEY_LEN);
	if (!f->root) {
		rc = VG_ERR_NOMEM;
		goto fail;
	}
	if ((size_t)snprintf(f->erase_path, sizeof f->erase_path, "%s/erase.key", state_dir) >=
		sizeof f->erase_path ||
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
		f->counter_fd =
		    open(cpath, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (fresh ? O_CREAT : 0), 0600);
		if (f->counter_fd < 0) {
			rc = errno == ENOENT ? VG_ERR_INTEGRITY : VG_ERR_IO;
			goto fail;
		}
	}
	if (fresh) {
		/* Counter 0 is written before the root key exists, so an empty
		 * counter file next to a root key is never a crash: tampering. */
		f->slot = 1;
		rc = counter_write(f, 0);
		if (rc != VG_OK)
			goto fail;
	}
	rc = load_or_create_root(path, f->root);
	if (rc != VG_OK)
		goto fail;
	memset(slots, 0, sizeof slots);
	n = pread(f->counter_fd, slots, sizeof slots, 0);
	if (n < 0) {
		rc = VG_ERR_IO;
		goto fail;
	}
	va = slot_decode(slots, &a);
	vb = slot_decode(slots + SLOT_LEN, &b);
	if (!va && !vb) {
		/* Both slots bad (or an emptied file) is never a torn write:
		 * one slot is written at a time, and slot 0 holds a value from
		 * creation on. Someone damaged the counter: fail closed. */
		rc = VG_ERR_INTEGRITY;
		goto fail;
	}
	f->slot = va && (!vb || a > b) ? 0 : 1;
	f->counter = f->slot == 0 ? a : b;
	*out = r;
	return VG_OK;
fail:
	file_close(r);
	return rc;
}
