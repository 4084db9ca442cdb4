/* reserve.c - see reserve.h */
#include "storage/reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/util.h"

struct vg_reserve {
	uint64_t bytes;
	bool present;
	char dir[PATH_MAX];
	char path[PATH_MAX];
	char tmp[PATH_MAX];
};

uint64_t vg_reserve_bytes(const vg_reserve *r)
{
	return r ? r->bytes : 0;
}

bool vg_reserve_ballast_present(const vg_reserve *r)
{
	return r && r->present;
}

vg_rc vg_reserve_fs_free(const vg_reserve *r, uint64_t *free_bytes)
{
	struct statvfs sv;

	*free_bytes = 0;
	if (statvfs(r->dir, &sv) != 0)
		return VG_ERR_IO;
	/* f_bavail: what an unprivileged user may still allocate (the
	 * service runs as one; ext4's root-reserved blocks are not ours). */
	*free_bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return VG_OK;
}

/* The ballast as found: present when it is our regular file of the
 * right size; anything else at that name is removed (it is our name in
 * our directory). */
static void ballast_check(vg_reserve *r)
{
	struct stat st;

	r->present = false;
	if (lstat(r->path, &st) != 0)
		return;
	if (S_ISREG(st.st_mode) && st.st_uid == geteuid() && (uint64_t)st.st_size == r->bytes &&
	    (uint64_t)st.st_blocks * 512u >= r->bytes) {
		r->present = true;
		return;
	}
	(void)unlink(r->path);
}

/* Written whole beside its name and renamed into place, so a ballast
 * that is there is all there: blocks allocated (not a sparse file,
 * which would reserve nothing) and fsync'ed. */
static vg_rc ballast_create(vg_reserve *r)
{
	int fd, e;
	vg_rc rc = VG_ERR_IO;

	(void)unlink(r->tmp); /* left by a crash during a creation */
	fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return VG_ERR_IO;
	e = posix_fallocate(fd, 0, (off_t)r->bytes);
	if (e == 0 && fsync(fd) == 0)
		rc = VG_OK;
	if (close(fd) != 0)
		rc = VG_ERR_IO;
	if (rc == VG_OK && rename(r->tmp, r->path) != 0)
		rc = VG_ERR_IO;
	if (rc != VG_OK) {
		(void)unlink(r->tmp);
		return rc;
	}
	r->present = true;
	return vg_fsync_dir_of(r->path);
}

vg_rc vg_reserve_refill(vg_reserve *r)
{
	uint64_t free_bytes = 0;

	if (!r || !r->bytes || r->present)
		return VG_OK;
	if (vg_reserve_fs_free(r, &free_bytes) != VG_OK)
		return VG_ERR_IO;
	/* Room for the ballast and, beside it, the reserve itself. */
	if (free_bytes / 2 < r->bytes)
		return VG_OK;
	if (ballast_create(r) != VG_OK)
		(void)fprintf(stderr, "voxguardd: could not create the storage ballast %s\n",
			      r->path);
	return VG_OK;
}

vg_rc vg_reserve_open(vg_reserve **out, const char *state_dir, uint64_t bytes)
{
	vg_reserve *r = calloc(1, sizeof *r);

	*out = NULL;
	if (!r)
		return VG_ERR_NOMEM;
	r->bytes = bytes;
	if ((size_t)snprintf(r->dir, sizeof r->dir, "%s", state_dir) >= sizeof r->dir ||
	    (size_t)snprintf(r->path, sizeof r->path, "%s/%s", state_dir, VG_RESERVE_FILE) >=
		sizeof r->path ||
	    (size_t)snprintf(r->tmp, sizeof r->tmp, "%s/%s.tmp", state_dir, VG_RESERVE_FILE) >=
		sizeof r->tmp) {
		free(r);
		return VG_ERR_INVALID;
	}
	if (bytes) {
		ballast_check(r);
		VG_IGNORE(vg_reserve_refill(r));
	} else {
		(void)unlink(r->path); /* reserve turned off: give the space back */
	}
	*out = r;
	return VG_OK;
}

void vg_reserve_close(vg_reserve **pr)
{
	if (!pr || !*pr)
		return;
	free(*pr);
	*pr = NULL;
}

vg_rc vg_reserve_admit(vg_reserve *r, uint64_t need, uint64_t reusable)
{
	uint64_t free_bytes = 0, want;

	if (!r || !r->bytes)
		return VG_OK;
	VG_IGNORE(vg_reserve_refill(r));
	if (vg_reserve_fs_free(r, &free_bytes) != VG_OK)
		return VG_ERR_IO;
	/* A missing ballast is owed its space before any application's. */
	want = need + r->bytes + (r->present ? 0 : r->bytes);
	/* The WAL takes the new pages first, from the file system itself;
	 * free pages inside the database are reused when it is checkpointed. */
	if (free_bytes < need || free_bytes + reusable < want)
		return VG_ERR_QUOTA;
	return VG_OK;
}

bool vg_reserve_release(vg_reserve *r)
{
	if (!r || !r->bytes)
		return false;
	ballast_check(r);
	if (!r->present)
		return false;
	if (unlink(r->path) != 0)
		return false;
	r->present = false;
	(void)fprintf(stderr,
		      "voxguardd: storage full: released the %llu-byte reserve for the "
		      "service's duties\n",
		      (unsigned long long)r->bytes);
	return true;
}

void vg_reserve_for_duty(vg_reserve *r)
{
	uint64_t free_bytes = 0;

	if (!r || !r->bytes)
		return;
	if (vg_reserve_fs_free(r, &free_bytes) == VG_OK && free_bytes >= r->bytes)
		return;
	(void)vg_reserve_release(r);
}
