/*
 * test_fscrypt.c - the SDK's persistent state in a directory the kernel
 * encrypts (storage/fscrypt.h; SFR 4.2.4 note 1, AVS Device SDK: protect
 * the SDK's persistent state from tampering and inspection).
 *
 * On a real ext4 with the encrypt feature: a 64 MiB image file, made with
 * mkfs.ext4 -O encrypt, attached to a loop device (LOOP_CTL_GET_FREE,
 * LOOP_SET_FD, autoclear) and mounted in a temporary dir; unmounted and
 * detached in the group's teardown whatever happened. Needs root and a loop
 * device: skipped, with the reason, otherwise. The raw image is what an
 * attacker with the flash reads: the tests search it for the plaintext
 * they wrote, after proving with a plaintext control file that the search
 * finds what is there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <grp.h>
#include <linux/loop.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/rand.h>

#include "daemon/privdrop.h"
#include "helpers.h"
#include "storage/fscrypt.h"

#define NOBODY 65534u
#define IMG_MB 64

struct fsx {
	char img[VGT_PATH];
	char mnt[VGT_PATH];
	char dev[32];
	bool mounted;
};

static char g_top[64];
static struct fsx g_fs;           /* ext4 -O encrypt, for every test */
static char g_skip[400];          /* why the tests that need the fs are skipped */
static char g_extra[4][VGT_PATH]; /* other mounts a test made: unmounted at the end */

/* ---- the loop-mounted ext4 ---- */

static const char *find_tool(const char *name, char out[static VGT_PATH])
{
	static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};

	for (size_t i = 0; i < VG_ARRAY_LEN(dirs); i++) {
		(void)snprintf(out, VGT_PATH, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return out;
	}
	return NULL;
}

/* mkfs.ext4 -q -F [-O encrypt] img, by fork and exec; 0 on success. */
static int mkfs(const char *img, bool encrypt)
{
	char tool[VGT_PATH];
	pid_t pid;
	int st;

	if (!find_tool("mkfs.ext4", tool))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			(void)dup2(null, 1);
			(void)dup2(null, 2);
		}
		if (encrypt)
			execl(tool, "mkfs.ext4", "-q", "-F", "-O", "encrypt", img, (char *)NULL);
		else
			execl(tool, "mkfs.ext4", "-q", "-F", "-O", "^encrypt", img, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Attaches img to a free loop device (autoclear: detached by the kernel at
 * the unmount) and mounts it at mnt. 0, or -1 with the reason in why. */
static int fs_make(struct fsx *f, const char *name, unsigned mb, bool encrypt, char *why,
		   size_t why_len)
{
	struct loop_info64 li;
	int ctl = -1, lfd = -1, ifd = -1, n, tries;

	memset(f, 0, sizeof *f);
	(void)snprintf(f->img, sizeof f->img, "%s/%s.img", g_top, name);
	(void)snprintf(f->mnt, sizeof f->mnt, "%s/%s", g_top, name);
	ifd = open(f->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (ifd < 0 || ftruncate(ifd, (off_t)mb << 20) != 0) {
		(void)vg_why(why, why_len, VG_ERR_IO, "cannot make %s: %s", f->img,
			     strerror(errno));
		goto fail;
	}
	if (mkfs(f->img, encrypt) != 0) {
		(void)vg_why(why, why_len, VG_ERR_IO, "mkfs.ext4 (e2fsprogs) is missing or failed");
		goto fail;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		(void)vg_why(why, why_len, VG_ERR_IO, "no loop device: /dev/loop-control: %s",
			     strerror(errno));
		goto fail;
	}
	/* Another process may take the same free device first: retry. */
	for (tries = 0; tries < 20; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		(void)snprintf(f->dev, sizeof f->dev, "/dev/loop%d", n);
		lfd = open(f->dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			continue;
		if (ioctl(lfd, LOOP_SET_FD, ifd) == 0)
			break;
		(void)close(lfd);
		lfd = -1;
	}
	if (lfd < 0) {
		(void)vg_why(why, why_len, VG_ERR_IO, "no free loop device: %s", strerror(errno));
		goto fail;
	}
	memset(&li, 0, sizeof li);
	li.lo_flags = LO_FLAGS_AUTOCLEAR;
	(void)ioctl(lfd, LOOP_SET_STATUS64, &li);
	if (mkdir(f->mnt, 0755) != 0 || mount(f->dev, f->mnt, "ext4", 0, "") != 0) {
		(void)vg_why(why, why_len, VG_ERR_IO, "cannot mount %s on %s: %s", f->dev, f->mnt,
			     strerror(errno));
		(void)ioctl(lfd, LOOP_CLR_FD, 0);
		goto fail;
	}
	f->mounted = true;
	(void)close(lfd);
	(void)close(ctl);
	(void)close(ifd);
	return 0;
fail:
	if (lfd >= 0)
		(void)close(lfd);
	if (ctl >= 0)
		(void)close(ctl);
	if (ifd >= 0)
		(void)close(ifd);
	return -1;
}

/* Whether path is a mount point (another device than its parent's). */
static bool is_mounted(const char *path)
{
	char up[VGT_PATH];
	struct stat a, b;

	(void)snprintf(up, sizeof up, "%s/..", path);
	return stat(path, &a) == 0 && stat(up, &b) == 0 && a.st_dev != b.st_dev;
}

/* Unmounts (the kernel then forgets every fscrypt key of the file
 * system) and detaches the loop device if autoclear did not. 0 when
 * nothing is mounted there any more. */
static int fs_unmake(struct fsx *f)
{
	char sys[96], back[VGT_PATH];
	FILE *fp;
	int lfd, i;

	if (!f->mounted)
		return 0;
	sync();
	for (i = 0; i < 50 && umount2(f->mnt, 0) != 0 && errno == EBUSY; i++)
		usleep(100000);
	if (is_mounted(f->mnt))
		(void)umount2(f->mnt, MNT_DETACH);
	f->mounted = is_mounted(f->mnt);
	(void)snprintf(sys, sizeof sys, "/sys/block/%s/loop/backing_file", f->dev + 5);
	fp = fopen(sys, "r");
	if (fp) {
		if (fgets(back, sizeof back, fp) && strncmp(back, f->img, strlen(f->img)) == 0) {
			lfd = open(f->dev, O_RDWR | O_CLOEXEC);
			if (lfd >= 0) {
				(void)ioctl(lfd, LOOP_CLR_FD, 0);
				(void)close(lfd);
			}
		}
		(void)fclose(fp);
	}
	return f->mounted ? -1 : 0;
}

static int group_setup(void **state)
{
	(void)state;
	g_skip[0] = '\0';
	if (geteuid() != 0) {
		(void)snprintf(g_skip, sizeof g_skip,
			       "needs root (a loop device, mount, another uid)");
		return 0;
	}
	if (vgt_mkdtemp(g_top) != 0) {
		(void)snprintf(g_skip, sizeof g_skip, "mkdtemp: %s", strerror(errno));
		return 0;
	}
	if (fs_make(&g_fs, "enc", IMG_MB, true, g_skip, sizeof g_skip) != 0)
		return 0;
	{
		char why[VG_FSCRYPT_WHY_LEN] = "";

		if (vg_fscrypt_probe(g_fs.mnt, why, sizeof why) != VG_OK)
			(void)snprintf(g_skip, sizeof g_skip, "this kernel: %s", why);
	}
	return 0;
}

static int group_teardown(void **state)
{
	bool clean = true;

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(g_extra); i++) {
		if (g_extra[i][0]) {
			(void)umount2(g_extra[i], MNT_DETACH);
			if (is_mounted(g_extra[i]))
				clean = false;
		}
		g_extra[i][0] = '\0';
	}
	if (fs_unmake(&g_fs) != 0)
		clean = false;
	/* rm -rf only once nothing is mounted below: never into a mount. */
	if (g_top[0] && clean)
		vgt_rmrf(g_top);
	else if (g_top[0])
		print_message("fscrypt: %s is still mounted: left in place\n", g_fs.mnt);
	return 0;
}

static void need_fs(void)
{
	if (g_skip[0]) {
		print_message("[  SKIP    ] fscrypt: %s\n", g_skip);
		skip();
	}
}

static void track_mount(const char *path)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(g_extra); i++)
		if (!g_extra[i][0]) {
			(void)snprintf(g_extra[i], VGT_PATH, "%s", path);
			return;
		}
	fail_msg("too many extra mounts");
}

static void untrack_mount(const char *path)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(g_extra); i++)
		if (strcmp(g_extra[i], path) == 0)
			g_extra[i][0] = '\0';
}

/* ---- helpers ---- */

static void rand_key(uint8_t key[static VG_FSCRYPT_KEY_LEN])
{
	assert_int_equal(RAND_bytes(key, VG_FSCRYPT_KEY_LEN), 1);
}

static void rand_tag(const char *prefix, char *out, size_t cap)
{
	uint8_t r[8];
	char hex[17];

	assert_int_equal(RAND_bytes(r, sizeof r), 1);
	vg_hex_encode(r, sizeof r, hex);
	(void)snprintf(out, cap, "%s%s", prefix, hex);
}

/* A fresh parent directory (0700) on the encrypted-capable file system. */
static void new_parent(const char *name, char out[static VGT_PATH])
{
	vgt_path(out, g_fs.mnt, name);
	assert_int_equal(mkdir(out, 0700), 0);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Whether the raw image holds needle, after the file system's writes went
 * down to it. */
static bool image_holds(const char *needle)
{
	uint8_t *buf;
	size_t len;
	int fd = open(g_fs.mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool found;

	assert_true(fd >= 0);
	assert_int_equal(syncfs(fd), 0);
	(void)close(fd);
	assert_int_equal(vgt_read(g_fs.img, &buf, &len), 0);
	assert_int_equal(len, (size_t)IMG_MB << 20);
	found = memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

/* An SDK database as the SDK writes one: a table, a row, the default
 * rollback journal. */
static void sdk_db_write(const char *path, const char *value)
{
	sqlite3 *h = NULL;
	char sql[256];

	assert_int_equal(
	    sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	(void)snprintf(sql, sizeof sql,
		       "CREATE TABLE alerts(id INTEGER PRIMARY KEY, token TEXT);"
		       "INSERT INTO alerts(token) VALUES('%s');",
		       value);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

/* 0: the value read back; -1: the database cannot be opened or read. */
static int sdk_db_read(const char *path, char *out, size_t cap)
{
	uint8_t *b;
	size_t n;

	if (vgt_sql_blob(path, "SELECT token FROM alerts", &b, &n) != 0)
		return -1;
	(void)snprintf(out, cap, "%.*s", (int)n, (const char *)b);
	free(b);
	return 0;
}

static void assert_status(const char *path, const uint8_t id[static VG_FSCRYPT_ID_LEN],
			  vg_fscrypt_key_state want)
{
	vg_fscrypt_keystat st;
	char why[VG_FSCRYPT_WHY_LEN] = "";

	if (vg_fscrypt_key_status(path, id, &st, why, sizeof why) != VG_OK)
		fail_msg("key status: %s", why);
	assert_int_equal(st.state, want);
}

/* Counts the entries of dir (not . and ..); the first one's name in
 * first, and whether a name contains `plain`. */
static int list_dir(const char *dir, char first[static 256], const char *plain, bool *seen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	*seen = false;
	first[0] = '\0';
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0)
			(void)snprintf(first, 256, "%s", de->d_name);
		if (plain && strstr(de->d_name, plain))
			*seen = true;
	}
	(void)closedir(d);
	return n;
}

#define PREPARE(dir, key, flags, out) \
	vg_fscrypt_prepare_dir((dir), 0, 0, 0700, (key), (flags), (out), why, sizeof why)

#define ASSERT_PREPARED(dir, key, flags, out, want)                                 \
	do {                                                                        \
		vg_rc rc_ = PREPARE(dir, key, flags, out);                          \
		if (rc_ != VG_OK)                                                   \
			fail_msg("prepare %s: %s: %s", (dir), vg_rc_str(rc_), why); \
		assert_int_equal((out)->action, (want));                            \
	} while (0)

/* ---- the tests ---- */

/* SFR 4.2.4: arguments that make no sense are refused before anything is
 * touched (no root needed). */
static void test_sfr424_fscrypt_arguments_refused(void **state)
{
	uint8_t key[VG_FSCRYPT_KEY_LEN] = {1}, id[VG_FSCRYPT_ID_LEN] = {0};
	char why[VG_FSCRYPT_WHY_LEN] = "";
	vg_fscrypt_outcome out;
	vg_fscrypt_keystat st;
	vg_fscrypt_policy pol;

	(void)state;
	assert_int_equal(PREPARE("relative/sdk", key, 0, &out), VG_ERR_INVALID);
	assert_non_null(strstr(why, "absolute path"));
	assert_int_equal(PREPARE("/", key, 0, &out), VG_ERR_INVALID);
	assert_int_equal(PREPARE("/tmp/../tmp/x", key, 0, &out), VG_ERR_INVALID);
	assert_int_equal(PREPARE("/tmp/x/..", key, 0, &out), VG_ERR_INVALID);
	assert_int_equal(PREPARE(NULL, key, 0, &out), VG_ERR_INVALID);
	assert_int_equal(PREPARE("/tmp/x", key, 0, NULL), VG_ERR_INVALID);
	assert_int_equal(PREPARE("/tmp/x", key, 0x80, &out), VG_ERR_INVALID);
	assert_int_equal(
	    vg_fscrypt_prepare_dir("/tmp/x", 0, 0, 010000, key, 0, &out, why, sizeof why),
	    VG_ERR_INVALID);
	assert_int_equal(vg_fscrypt_add_key_fd(-1, key, id, why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_fscrypt_remove_key_fd(-1, id, NULL, NULL, why, sizeof why),
			 VG_ERR_INVALID);
	assert_int_equal(vg_fscrypt_key_status_fd(-1, id, &st, why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_fscrypt_get_policy_fd(-1, &pol, why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_fscrypt_set_policy_fd(-1, id, why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_fscrypt_claim_for(-1, key, NOBODY, id, why, sizeof why),
			 VG_ERR_INVALID);
	assert_int_equal(vg_fscrypt_key_status("/nonexistent/x", id, &st, why, sizeof why),
			 VG_ERR_NOT_FOUND);
	assert_string_equal(vg_fscrypt_action_str(VG_FSCRYPT_REKEYED), "rekeyed");
}

/* SFR 4.2.4: the probe tells a file system with fscrypt from one without,
 * and says how to fix it. */
static void test_sfr424_fscrypt_probe_reasons(void **state)
{
	char why[VG_FSCRYPT_WHY_LEN] = "", tmp[VGT_PATH], dir[VGT_PATH];
	uint8_t key[VG_FSCRYPT_KEY_LEN];
	struct fsx plain;
	vg_fscrypt_outcome out;

	(void)state;
	need_fs();
	assert_int_equal(vg_fscrypt_probe(g_fs.mnt, why, sizeof why), VG_OK);

	/* tmpfs: no fscrypt at all. */
	vgt_path(tmp, g_top, "tmpfs");
	assert_int_equal(mkdir(tmp, 0700), 0);
	track_mount(tmp);
	assert_int_equal(mount("tmpfs", tmp, "tmpfs", 0, "size=1m,mode=0700"), 0);
	assert_int_equal(vg_fscrypt_probe(tmp, why, sizeof why), VG_ERR_UNSUPPORTED);
	print_message("    tmpfs: %s\n", why);
	assert_non_null(strstr(why, "tmpfs"));
	assert_int_equal(umount2(tmp, 0), 0);
	untrack_mount(tmp);

	/* ext4 without the feature: the probe, and prepare_dir, name the fix;
	 * prepare_dir leaves nothing behind. */
	if (fs_make(&plain, "plain", 16, false, why, sizeof why) != 0)
		fail_msg("plain ext4: %s", why);
	track_mount(plain.mnt);
	assert_int_equal(vg_fscrypt_probe(plain.mnt, why, sizeof why), VG_ERR_UNSUPPORTED);
	print_message("    ext4 -O ^encrypt: %s\n", why);
	assert_non_null(strstr(why, "tune2fs -O encrypt"));
	rand_key(key);
	vgt_path(tmp, plain.mnt, "p");
	assert_int_equal(mkdir(tmp, 0700), 0);
	vgt_path(dir, tmp, "sdk");
	assert_int_equal(PREPARE(dir, key, 0, &out), VG_ERR_UNSUPPORTED);
	assert_non_null(strstr(why, "tune2fs -O encrypt"));
	assert_false(vgt_exists(dir));
	untrack_mount(plain.mnt);
	assert_int_equal(fs_unmake(&plain), 0);
	vg_wipe(key, sizeof key);
}

/* SFR 4.2.4: the identifier computed with OpenSSL is the kernel's; the key
 * is added, reported present (claimed by us alone) and removed. */
static void test_sfr424_fscrypt_key_identifier_matches_kernel(void **state)
{
	uint8_t key[VG_FSCRYPT_KEY_LEN], key2[VG_FSCRYPT_KEY_LEN];
	uint8_t id[VG_FSCRYPT_ID_LEN], kid[VG_FSCRYPT_ID_LEN], id2[VG_FSCRYPT_ID_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "";
	vg_fscrypt_keystat st;
	bool busy, others;

	(void)state;
	need_fs();
	rand_key(key);
	rand_key(key2);
	assert_int_equal(vg_fscrypt_key_identifier(key, id), VG_OK);
	assert_int_equal(vg_fscrypt_key_identifier(key2, id2), VG_OK);
	assert_memory_not_equal(id, id2, sizeof id);
	assert_status(g_fs.mnt, id, VG_FSCRYPT_KEY_ABSENT);
	if (vg_fscrypt_add_key(g_fs.mnt, key, kid, why, sizeof why) != VG_OK)
		fail_msg("add: %s", why);
	assert_memory_equal(kid, id, sizeof id);
	assert_int_equal(vg_fscrypt_key_status(g_fs.mnt, id, &st, why, sizeof why), VG_OK);
	assert_int_equal(st.state, VG_FSCRYPT_KEY_PRESENT);
	assert_true(st.added_by_self);
	assert_int_equal(st.user_count, 1);
	/* Adding it again is harmless: still one claim. */
	assert_int_equal(vg_fscrypt_add_key(g_fs.mnt, key, kid, why, sizeof why), VG_OK);
	assert_int_equal(vg_fscrypt_key_status(g_fs.mnt, id, &st, why, sizeof why), VG_OK);
	assert_int_equal(st.user_count, 1);
	assert_int_equal(vg_fscrypt_remove_key(g_fs.mnt, id, &busy, &others, why, sizeof why),
			 VG_OK);
	assert_false(busy);
	assert_false(others);
	assert_status(g_fs.mnt, id, VG_FSCRYPT_KEY_ABSENT);
	/* Removing what is not there says so. */
	assert_int_equal(vg_fscrypt_remove_key(g_fs.mnt, id, &busy, &others, why, sizeof why),
			 VG_ERR_NOT_FOUND);
	vg_wipe(key, sizeof key);
	vg_wipe(key2, sizeof key2);
}

/* AVS SDK (persistent state), SFR 4.2.4: the SDK's database in the prepared
 * directory works; the raw flash holds neither its content nor its name;
 * without the key the names are encrypted and the files cannot be opened
 * (ENOKEY); the same key brings everything back. */
static void test_sdk_state_encrypted_at_rest(void **state)
{
	uint8_t key[VG_FSCRYPT_KEY_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "", parent[VGT_PATH], dir[VGT_PATH], db[VGT_PATH + 80];
	char ctl_dir[VGT_PATH], ctl[VGT_PATH], secret[64], ctl_secret[64], name[64], ctl_name[64];
	char got[128], first[256], p[VGT_PATH + 256];
	vg_fscrypt_outcome out;
	vg_fscrypt_policy pol;
	struct timespec t0;
	double t_create, t_unlock;
	bool busy, others, seen;
	int fd;

	(void)state;
	need_fs();
	rand_key(key);
	rand_tag("VGSECRET-", secret, sizeof secret);
	rand_tag("VGCONTROL-", ctl_secret, sizeof ctl_secret);
	rand_tag("alerts-", name, sizeof name);
	rand_tag("control-", ctl_name, sizeof ctl_name);

	/* The control: a plaintext file and name are found in the image, so
	 * the search below can fail. */
	new_parent("control", ctl_dir);
	vgt_path(ctl, ctl_dir, ctl_name);
	assert_int_equal(vgt_write(ctl, ctl_secret, strlen(ctl_secret), 0600), 0);
	assert_true(image_holds(ctl_secret));
	assert_true(image_holds(ctl_name));

	new_parent("state", parent);
	vgt_path(dir, parent, "sdk");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_PREPARED(dir, key, 0, &out, VG_FSCRYPT_CREATED);
	t_create = ms_since(&t0);
	assert_int_equal(vg_fscrypt_get_policy(dir, &pol, why, sizeof why), VG_OK);
	assert_true(pol.encrypted);
	assert_int_equal(pol.version, 2);
	assert_true(pol.ours);
	assert_memory_equal(pol.id, out.id, VG_FSCRYPT_ID_LEN);
	assert_status(parent, out.id, VG_FSCRYPT_KEY_PRESENT);

	(void)snprintf(db, sizeof db, "%s/%s.db", dir, name);
	sdk_db_write(db, secret);
	assert_int_equal(sdk_db_read(db, got, sizeof got), 0);
	assert_string_equal(got, secret);
	assert_false(image_holds(secret));
	assert_false(image_holds(name));

	/* The factory reset's step: the key goes. */
	assert_int_equal(vg_fscrypt_remove_key(parent, out.id, &busy, &others, why, sizeof why),
			 VG_OK);
	assert_false(busy);
	assert_false(others);
	assert_status(parent, out.id, VG_FSCRYPT_KEY_ABSENT);
	assert_int_equal(list_dir(dir, first, name, &seen), 1);
	assert_false(seen);
	assert_null(strstr(first, "alerts"));
	(void)snprintf(p, sizeof p, "%s/%s", dir, first);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ENOKEY);
	assert_int_equal(open(db, O_RDONLY | O_CLOEXEC), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(sdk_db_read(db, got, sizeof got), -1);
	/* Writing in it without the key is refused too. */
	(void)snprintf(p, sizeof p, "%s/new", dir);
	assert_int_equal(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), -1);
	assert_int_equal(errno, ENOKEY);
	assert_false(image_holds(secret));

	/* The next start: same key, everything back. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_PREPARED(dir, key, 0, &out, VG_FSCRYPT_UNLOCKED);
	t_unlock = ms_since(&t0);
	assert_int_equal(sdk_db_read(db, got, sizeof got), 0);
	assert_string_equal(got, secret);
	print_message("    prepare: created %.2f ms, unlocked %.2f ms; key after removal: absent\n",
		      t_create, t_unlock);
	vg_wipe(key, sizeof key);
}

/* SFR 4.2.12 with 4.2.4: after a factory reset the service derives another
 * key: the directory, encrypted under the old one, is erased (without that
 * key) and made anew; the old data is gone. Also when the old key is still
 * in the kernel. */
static void test_sdk_state_factory_reset_rekeys(void **state)
{
	uint8_t a[VG_FSCRYPT_KEY_LEN], b[VG_FSCRYPT_KEY_LEN], c[VG_FSCRYPT_KEY_LEN];
	uint8_t ida[VG_FSCRYPT_ID_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "", parent[VGT_PATH], dir[VGT_PATH], db[VGT_PATH];
	char first[VGT_PATH], got[64], sub[VGT_PATH];
	vg_fscrypt_outcome out;
	vg_fscrypt_policy pol;
	struct timespec t0;
	bool busy, others, seen;
	double t_rekey;

	(void)state;
	need_fs();
	rand_key(a);
	rand_key(b);
	rand_key(c);
	new_parent("reset", parent);
	vgt_path(dir, parent, "sdk");
	ASSERT_PREPARED(dir, a, 0, &out, VG_FSCRYPT_CREATED);
	memcpy(ida, out.id, sizeof ida);
	vgt_path(db, dir, "settings.db");
	sdk_db_write(db, "old-settings");
	vgt_path(first, dir, "sub");
	assert_int_equal(mkdir(first, 0700), 0);
	vgt_path(sub, first, "certified-sender.db");
	sdk_db_write(sub, "old-sender");

	/* The reset removes the key; the next start has another one. */
	assert_int_equal(vg_fscrypt_remove_key(parent, ida, &busy, &others, why, sizeof why),
			 VG_OK);
	assert_false(busy);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_PREPARED(dir, b, 0, &out, VG_FSCRYPT_REKEYED);
	t_rekey = ms_since(&t0);
	assert_int_equal(out.erased, 4); /* settings.db, sub/certified-sender.db, sub, sdk */
	assert_int_equal(list_dir(dir, first, NULL, &seen), 0);
	assert_int_equal(vg_fscrypt_get_policy(dir, &pol, why, sizeof why), VG_OK);
	assert_memory_equal(pol.id, out.id, VG_FSCRYPT_ID_LEN);
	assert_memory_not_equal(pol.id, ida, VG_FSCRYPT_ID_LEN);
	assert_int_equal(sdk_db_read(db, got, sizeof got), -1);
	assert_status(parent, ida, VG_FSCRYPT_KEY_ABSENT);
	/* The old key, even given back, finds nothing. */
	ASSERT_PREPARED(dir, b, 0, &out, VG_FSCRYPT_UNLOCKED);
	sdk_db_write(db, "new-settings");

	/* A reset whose old key is still in the kernel (same boot): the
	 * directory is readable, and erased all the same; our claim to the
	 * old key goes too. */
	ASSERT_PREPARED(dir, c, 0, &out, VG_FSCRYPT_REKEYED);
	assert_int_equal(list_dir(dir, first, NULL, &seen), 0);
	assert_status(parent, out.id, VG_FSCRYPT_KEY_PRESENT);
	{
		uint8_t idb[VG_FSCRYPT_ID_LEN];

		assert_int_equal(vg_fscrypt_key_identifier(b, idb), VG_OK);
		assert_status(parent, idb, VG_FSCRYPT_KEY_ABSENT);
	}
	print_message("    prepare after a reset (2 files, 1 subdir erased): %.2f ms\n", t_rekey);
	vg_wipe(a, sizeof a);
	vg_wipe(b, sizeof b);
	vg_wipe(c, sizeof c);
}

/* SFR 4.2.4: a directory with the maker's unencrypted files is refused and
 * left as it is; an empty one is encrypted; with VG_FSCRYPT_WIPE_PLAINTEXT
 * the plaintext is overwritten, erased (no link followed) and gone from the
 * raw image. */
static void test_sfr424_fscrypt_plaintext_dir_refused(void **state)
{
	uint8_t key[VG_FSCRYPT_KEY_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "", parent[VGT_PATH], dir[VGT_PATH], f[VGT_PATH];
	char outside[VGT_PATH], keep[VGT_PATH], link[VGT_PATH], sub[VGT_PATH], secret[64];
	char first[256];
	uint8_t *buf;
	size_t len;
	vg_fscrypt_outcome out;
	vg_fscrypt_policy pol;
	bool seen;

	(void)state;
	need_fs();
	rand_key(key);
	rand_tag("VGPLAIN-", secret, sizeof secret);
	new_parent("plain", parent);
	vgt_path(dir, parent, "sdk");
	assert_int_equal(mkdir(dir, 0755), 0);
	vgt_path(f, dir, "maker.conf");
	assert_int_equal(vgt_write(f, secret, strlen(secret), 0644), 0);
	assert_true(image_holds(secret));

	assert_int_equal(PREPARE(dir, key, 0, &out), VG_ERR_STATE);
	print_message("    %s\n", why);
	assert_non_null(strstr(why, "unencrypted"));
	assert_int_equal(vgt_read(f, &buf, &len), 0);
	assert_int_equal(len, strlen(secret));
	assert_memory_equal(buf, secret, len);
	free(buf);
	assert_int_equal(vg_fscrypt_get_policy(dir, &pol, why, sizeof why), VG_OK);
	assert_false(pol.encrypted);

	/* The wipe: a symbolic link to a file outside, and a subdir, too. */
	new_parent("outside", outside);
	vgt_path(keep, outside, "keep.txt");
	assert_int_equal(vgt_write(keep, "keep", 4, 0600), 0);
	vgt_path(link, dir, "link");
	assert_int_equal(symlink(keep, link), 0);
	vgt_path(link, dir, "linkdir");
	assert_int_equal(symlink(outside, link), 0);
	vgt_path(link, dir, "sub");
	assert_int_equal(mkdir(link, 0700), 0);
	vgt_path(sub, link, "x");
	assert_int_equal(vgt_write(sub, "x", 1, 0600), 0);
	ASSERT_PREPARED(dir, key, VG_FSCRYPT_WIPE_PLAINTEXT, &out, VG_FSCRYPT_WIPED);
	assert_int_equal(out.erased, 6);
	assert_int_equal(list_dir(dir, first, NULL, &seen), 0);
	assert_int_equal(vgt_read(keep, &buf, &len), 0);
	assert_int_equal(len, 4);
	free(buf);
	assert_false(image_holds(secret));
	assert_int_equal(vg_fscrypt_get_policy(dir, &pol, why, sizeof why), VG_OK);
	assert_true(pol.encrypted && pol.ours);

	/* An empty unencrypted directory (made by a package) is encrypted. */
	vgt_path(dir, parent, "empty");
	assert_int_equal(mkdir(dir, 0755), 0);
	ASSERT_PREPARED(dir, key, 0, &out, VG_FSCRYPT_ENCRYPTED);
	assert_int_equal(vg_fscrypt_get_policy(dir, &pol, why, sizeof why), VG_OK);
	assert_true(pol.encrypted && pol.ours);
	{
		struct stat st;

		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	vg_wipe(key, sizeof key);
}

/* SFR 4.2.4, 4.2.10: no symbolic link is followed: in place of the
 * directory, as a component of its parent; a file in its place, a parent
 * writable by others are refused too. Nothing is created or encrypted. */
static void test_sfr424_fscrypt_symlink_refused(void **state)
{
	uint8_t key[VG_FSCRYPT_KEY_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "", parent[VGT_PATH], dir[VGT_PATH], target[VGT_PATH];
	char via[VGT_PATH], p[VGT_PATH];
	vg_fscrypt_outcome out;
	vg_fscrypt_policy pol;
	struct stat st;

	(void)state;
	need_fs();
	rand_key(key);
	new_parent("links", parent);
	vgt_path(target, parent, "target");
	assert_int_equal(mkdir(target, 0700), 0);
	vgt_path(dir, parent, "sdk");
	assert_int_equal(symlink(target, dir), 0);

	assert_int_equal(PREPARE(dir, key, 0, &out), VG_ERR_DENIED);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(vg_fscrypt_get_policy(target, &pol, why, sizeof why), VG_OK);
	assert_false(pol.encrypted);
	/* The single-directory calls refuse it too. */
	assert_int_equal(vg_fscrypt_set_policy(dir, out.id, why, sizeof why), VG_ERR_DENIED);
	assert_int_equal(vg_fscrypt_get_policy(dir, &pol, why, sizeof why), VG_ERR_DENIED);

	/* A symbolic link as a component of the parent. */
	vgt_path(via, parent, "via");
	assert_int_equal(symlink(parent, via), 0);
	vgt_path(target, via, "target");
	vgt_path(p, target, "sdk");
	vgt_path(target, parent, "target");
	assert_int_equal(PREPARE(p, key, 0, &out), VG_ERR_DENIED);
	assert_non_null(strstr(why, "symbolic link"));
	vgt_path(p, target, "sdk");
	assert_false(vgt_exists(p));

	/* A regular file in its place. */
	vgt_path(p, parent, "file");
	assert_int_equal(vgt_write(p, "x", 1, 0600), 0);
	assert_int_equal(PREPARE(p, key, 0, &out), VG_ERR_INVALID);

	/* A parent that others may write to: someone could put anything in
	 * place of the directory. */
	assert_int_equal(chmod(target, 0777), 0);
	vgt_path(p, target, "sdk");
	assert_int_equal(PREPARE(p, key, 0, &out), VG_ERR_DENIED);
	assert_non_null(strstr(why, "writable"));
	assert_false(vgt_exists(p));

	/* A directory owned by someone else. */
	assert_int_equal(chmod(target, 0700), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chown(p, 4242, 4242), 0);
	assert_int_equal(PREPARE(p, key, 0, &out), VG_ERR_DENIED);
	assert_non_null(strstr(why, "owned by uid 4242"));
	vg_wipe(key, sizeof key);
}

/* SFR 4.2.4: the erasure after a reset never leaves the file system (a
 * mount inside stops it) and never follows a link out of the directory. */
static void test_sfr424_fscrypt_erase_stays_on_file_system(void **state)
{
	uint8_t a[VG_FSCRYPT_KEY_LEN], b[VG_FSCRYPT_KEY_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "", parent[VGT_PATH], dir[VGT_PATH], outside[VGT_PATH];
	char keep[VGT_PATH], p[VGT_PATH], mnt[VGT_PATH], first[256];
	uint8_t *buf;
	size_t len;
	vg_fscrypt_outcome out;
	bool seen;

	(void)state;
	need_fs();
	rand_key(a);
	rand_key(b);
	new_parent("erase", parent);
	new_parent("erase-outside", outside);
	vgt_path(keep, outside, "keep.txt");
	assert_int_equal(vgt_write(keep, "keep", 4, 0600), 0);
	vgt_path(dir, parent, "sdk");
	ASSERT_PREPARED(dir, a, 0, &out, VG_FSCRYPT_CREATED);
	vgt_path(p, dir, "link");
	assert_int_equal(symlink(outside, p), 0);
	vgt_path(mnt, dir, "m");
	assert_int_equal(mkdir(mnt, 0700), 0);
	track_mount(mnt);
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700"), 0);
	vgt_path(p, mnt, "other-fs.txt");
	assert_int_equal(vgt_write(p, "other", 5, 0600), 0);

	assert_int_equal(PREPARE(dir, b, 0, &out), VG_ERR_INVALID);
	print_message("    %s\n", why);
	assert_non_null(strstr(why, "mount point"));
	assert_true(vgt_exists(p));
	assert_int_equal(umount2(mnt, 0), 0);
	untrack_mount(mnt);

	ASSERT_PREPARED(dir, b, 0, &out, VG_FSCRYPT_REKEYED);
	assert_int_equal(list_dir(dir, first, NULL, &seen), 0);
	assert_int_equal(vgt_read(keep, &buf, &len), 0);
	assert_int_equal(len, 4);
	free(buf);
	vg_wipe(a, sizeof a);
	vg_wipe(b, sizeof b);
}

/* SFR 4.2.12: a key removed while a file is open is wiped but the open file
 * stays readable until closed (reported as busy, "incompletely removed");
 * removing again after the close completes it. */
static void test_sfr424_fscrypt_busy_removal(void **state)
{
	uint8_t key[VG_FSCRYPT_KEY_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "", parent[VGT_PATH], dir[VGT_PATH], f[VGT_PATH];
	char buf[8] = "";
	vg_fscrypt_outcome out;
	bool busy, others;
	int fd;

	(void)state;
	need_fs();
	rand_key(key);
	new_parent("busy", parent);
	vgt_path(dir, parent, "sdk");
	ASSERT_PREPARED(dir, key, 0, &out, VG_FSCRYPT_CREATED);
	vgt_path(f, dir, "open.db");
	assert_int_equal(vgt_write(f, "opened", 6, 0600), 0);
	fd = open(f, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);

	assert_int_equal(vg_fscrypt_remove_key(parent, out.id, &busy, &others, why, sizeof why),
			 VG_OK);
	assert_true(busy);
	assert_false(others);
	assert_status(parent, out.id, VG_FSCRYPT_KEY_INCOMPLETELY_REMOVED);
	assert_int_equal(pread(fd, buf, 6, 0), 6);
	assert_memory_equal(buf, "opened", 6);
	(void)close(fd);

	assert_int_equal(vg_fscrypt_remove_key(parent, out.id, &busy, &others, why, sizeof why),
			 VG_OK);
	assert_false(busy);
	assert_status(parent, out.id, VG_FSCRYPT_KEY_ABSENT);
	assert_int_equal(open(f, O_RDONLY | O_CLOEXEC), -1);
	vg_wipe(key, sizeof key);
}

/* What a child running as `uid` does with the parent's fd: the service
 * after its privilege drop. Exit codes name the step that failed. */
enum child_step {
	CHILD_OK = 0,
	CHILD_DROP = 10,
	CHILD_STATUS,
	CHILD_REMOVE,
	CHILD_OTHERS,
	CHILD_AFTER,
	CHILD_ADD,
	CHILD_CLAIM_DENIED,
	CHILD_SANDBOX
};

static void drop_to(uid_t uid)
{
	if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
	    setresuid(uid, uid, uid) != 0 || geteuid() != uid)
		_exit(CHILD_DROP);
}

/* The factory reset, unprivileged: our claim is the last one, so the
 * removal removes the key. */
static int child_reset(int pfd, const uint8_t *id, const uint8_t *key)
{
	vg_fscrypt_keystat st;
	uint8_t id2[VG_FSCRYPT_ID_LEN];
	bool busy, others;

	drop_to(NOBODY);
	/* As the service runs: in its sandbox (seccomp: ioctl allowed, every
	 * set*id killed). */
	if (vg_sandbox_enter(NULL, 0) != VG_OK)
		return CHILD_SANDBOX;
	/* Not root any more: cannot hand the key to anyone. */
	if (vg_fscrypt_claim_for(pfd, key, 4242, id2, NULL, 0) != VG_ERR_DENIED)
		return CHILD_CLAIM_DENIED;
	if (vg_fscrypt_key_status_fd(pfd, id, &st, NULL, 0) != VG_OK ||
	    st.state != VG_FSCRYPT_KEY_PRESENT || !st.added_by_self || st.user_count != 1)
		return CHILD_STATUS;
	if (vg_fscrypt_remove_key_fd(pfd, id, &busy, &others, NULL, 0) != VG_OK)
		return CHILD_REMOVE;
	if (others || busy)
		return CHILD_OTHERS;
	if (vg_fscrypt_key_status_fd(pfd, id, &st, NULL, 0) != VG_OK ||
	    st.state != VG_FSCRYPT_KEY_ABSENT)
		return CHILD_AFTER;
	return CHILD_OK;
}

/* Without the hand-over: the unprivileged service adds its own claim, and
 * its removal leaves root's: the key stays. Exit CHILD_OK when that is
 * what happens. */
static int child_without_handover(int pfd, const uint8_t *id, const uint8_t *key)
{
	vg_fscrypt_keystat st;
	uint8_t kid[VG_FSCRYPT_ID_LEN];
	bool busy, others;

	drop_to(NOBODY);
	if (vg_fscrypt_add_key_fd(pfd, key, kid, NULL, 0) != VG_OK)
		return CHILD_ADD;
	if (vg_fscrypt_remove_key_fd(pfd, id, &busy, &others, NULL, 0) != VG_OK)
		return CHILD_REMOVE;
	if (!others)
		return CHILD_OTHERS;
	if (vg_fscrypt_key_status_fd(pfd, id, &st, NULL, 0) != VG_OK ||
	    st.state != VG_FSCRYPT_KEY_PRESENT)
		return CHILD_AFTER;
	return CHILD_OK;
}

static int run_child(int (*fn)(int, const uint8_t *, const uint8_t *), int pfd, const uint8_t *id,
		     const uint8_t *key)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(pfd, id, key));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* SFR 4.2.12, 4.2.10: the recommended privilege sequence. Root prepares
 * the directory and hands the key to the service's uid
 * (vg_fscrypt_claim_for); the service, dropped to that uid, removes the
 * key at a factory reset through a descriptor of the parent it kept, and
 * the key is gone for everyone. Without the hand-over root's claim would
 * keep the key (shown too). */
static void test_sfr424_fscrypt_service_claim_sequence(void **state)
{
	uint8_t key[VG_FSCRYPT_KEY_LEN], id[VG_FSCRYPT_ID_LEN];
	char why[VG_FSCRYPT_WHY_LEN] = "", parent[VGT_PATH], dir[VGT_PATH], db[VGT_PATH];
	char first[256], got[64];
	vg_fscrypt_outcome out;
	vg_fscrypt_keystat st;
	struct timespec t0;
	bool busy, others, seen;
	int pfd, rc;

	(void)state;
	need_fs();
	rand_key(key);
	new_parent("service", parent);
	vgt_path(dir, parent, "sdk");
	/* The SDK's own user owns the directory (here: 4242). */
	if (vg_fscrypt_prepare_dir(dir, 4242, 4242, 0700, key, 0, &out, why, sizeof why) != VG_OK)
		fail_msg("prepare: %s", why);
	assert_int_equal(out.action, VG_FSCRYPT_CREATED);
	vgt_path(db, dir, "alerts.db");
	sdk_db_write(db, "alerts");
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(pfd >= 0);
	assert_int_equal(vg_fscrypt_key_status_fd(pfd, out.id, &st, why, sizeof why), VG_OK);
	assert_true(st.added_by_self);
	assert_int_equal(st.user_count, 1);

	/* Start: the hand-over, before the drop. */
	assert_int_equal(vg_fscrypt_claim_for(pfd, key, 0, id, why, sizeof why), VG_ERR_INVALID);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (vg_fscrypt_claim_for(pfd, key, NOBODY, id, why, sizeof why) != VG_OK)
		fail_msg("claim_for: %s", why);
	print_message("    hand-over to uid %u: %.2f ms\n", NOBODY, ms_since(&t0));
	assert_memory_equal(id, out.id, sizeof id);
	assert_int_equal(vg_fscrypt_key_status_fd(pfd, id, &st, why, sizeof why), VG_OK);
	assert_int_equal(st.state, VG_FSCRYPT_KEY_PRESENT);
	assert_false(st.added_by_self);
	assert_int_equal(st.user_count, 1);
	assert_int_equal(sdk_db_read(db, got, sizeof got), 0);

	/* The reset, as the service's uid. */
	rc = run_child(child_reset, pfd, id, key);
	if (rc != CHILD_OK)
		fail_msg("the unprivileged reset failed at step %d", rc);
	assert_int_equal(vg_fscrypt_key_status_fd(pfd, id, &st, why, sizeof why), VG_OK);
	assert_int_equal(st.state, VG_FSCRYPT_KEY_ABSENT);
	assert_int_equal(list_dir(dir, first, "alerts", &seen), 1);
	assert_false(seen);
	assert_int_equal(sdk_db_read(db, got, sizeof got), -1);

	/* Without the hand-over: root's claim keeps the key present. */
	if (vg_fscrypt_prepare_dir(dir, 4242, 4242, 0700, key, 0, &out, why, sizeof why) != VG_OK)
		fail_msg("prepare again: %s", why);
	assert_int_equal(out.action, VG_FSCRYPT_UNLOCKED);
	assert_int_equal(sdk_db_read(db, got, sizeof got), 0);
	assert_string_equal(got, "alerts");
	rc = run_child(child_without_handover, pfd, id, key);
	if (rc != CHILD_OK)
		fail_msg("without the hand-over, step %d did not go as expected", rc);
	assert_int_equal(vg_fscrypt_key_status_fd(pfd, id, &st, why, sizeof why), VG_OK);
	assert_int_equal(st.state, VG_FSCRYPT_KEY_PRESENT);
	assert_true(st.added_by_self);
	assert_int_equal(vg_fscrypt_remove_key_fd(pfd, id, &busy, &others, why, sizeof why), VG_OK);
	assert_false(others);
	assert_int_equal(vg_fscrypt_key_status_fd(pfd, id, &st, why, sizeof why), VG_OK);
	assert_int_equal(st.state, VG_FSCRYPT_KEY_ABSENT);
	(void)close(pfd);
	vg_wipe(key, sizeof key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr424_fscrypt_arguments_refused),
	    cmocka_unit_test(test_sfr424_fscrypt_probe_reasons),
	    cmocka_unit_test(test_sfr424_fscrypt_key_identifier_matches_kernel),
	    cmocka_unit_test(test_sdk_state_encrypted_at_rest),
	    cmocka_unit_test(test_sdk_state_factory_reset_rekeys),
	    cmocka_unit_test(test_sfr424_fscrypt_plaintext_dir_refused),
	    cmocka_unit_test(test_sfr424_fscrypt_symlink_refused),
	    cmocka_unit_test(test_sfr424_fscrypt_erase_stays_on_file_system),
	    cmocka_unit_test(test_sfr424_fscrypt_busy_removal),
	    cmocka_unit_test(test_sfr424_fscrypt_service_claim_sequence),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
