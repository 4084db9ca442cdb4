/*
 * test_cli_io.c - the CLI's output writer (src/cli/io.c, declared in
 * src/cli/cli.h): cli_write(), cli_write_ex(), cli_write_check() and the
 * streaming cli_out_begin()/cli_out_commit()/cli_out_abort(), behind
 * every `--out` of the CLI and the session file.
 *
 * SFR 4.2.10 (an application cannot compromise another's data), claim
 * 4.2.10-l in docs/REQUIREMENTS.md: no symbolic link is followed; FIFOs,
 * sockets, devices and directories are refused (a null device is written
 * "into"); new files are 0600; in a directory others can write, only a new
 * file is created (O_EXCL); elsewhere a temporary is written, fsync'ed and
 * renamed over the name, then the directory is fsync'ed.
 *
 * Only the functions of cli.h are called. The seam is the C library:
 * fsync (and fdatasync) and write are wrapped at link time
 * (-Wl,--wrap=..., tests/CMakeLists.txt) to watch what is durable when,
 * and to make writes short. A call that could block (a FIFO) runs in a
 * child with a deadline, so a regression fails the test instead of
 * hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "cli/cli.h"
#include "helpers.h"

#define SECRET     "the secret the CLI writes"
#define PRECIOUS   "a file of the user's that must not change"
#define NOBODY_UID 65534u

/* ---- the link seam: fsync, fdatasync, write ---- */

int __real_fsync(int fd);
int __real_fdatasync(int fd);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);
int __wrap_fdatasync(int fd);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

/* One fsync seen while watching: what was synced, and what the output's
 * name held at that moment. */
struct sync_event {
	bool dir;       /* a directory (else a file) */
	off_t size;     /* a file's size */
	int name_holds; /* 0 nothing, 1 the old content, 2 the new, 3 other */
};

static struct {
	bool watch;
	const char *path; /* the output's name */
	const void *old_buf, *new_buf;
	size_t old_len, new_len;
	struct sync_event ev[32];
	size_t n;
	size_t short_writes; /* cap on one write() (0: none) */
	bool eintr_once;     /* the first write() fails with EINTR */
} seam;

static int name_holds(void)
{
	uint8_t *b;
	size_t n;
	int k = 3;

	if (vgt_read(seam.path, &b, &n) != 0)
		return 0;
	if (seam.old_buf && n == seam.old_len && memcmp(b, seam.old_buf, n) == 0)
		k = 1;
	else if (n == seam.new_len && memcmp(b, seam.new_buf, n) == 0)
		k = 2;
	free(b);
	return k;
}

static void seen_sync(int fd)
{
	struct stat st;

	if (!seam.watch || seam.n == VG_ARRAY_LEN(seam.ev) || fstat(fd, &st) != 0)
		return;
	seam.ev[seam.n].dir = S_ISDIR(st.st_mode);
	seam.ev[seam.n].size = st.st_size;
	seam.ev[seam.n].name_holds = name_holds();
	seam.n++;
}

int __wrap_fsync(int fd)
{
	seen_sync(fd);
	return __real_fsync(fd);
}

int __wrap_fdatasync(int fd)
{
	seen_sync(fd);
	return __real_fdatasync(fd);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (seam.eintr_once) {
		seam.eintr_once = false;
		errno = EINTR;
		return -1;
	}
	if (seam.short_writes && n > seam.short_writes)
		n = seam.short_writes;
	return __real_write(fd, buf, n);
}

static void watch(const char *path, const void *old_buf, size_t old_len, const void *new_buf,
		  size_t new_len)
{
	memset(&seam, 0, sizeof seam);
	seam.watch = true;
	seam.path = path;
	seam.old_buf = old_buf;
	seam.old_len = old_len;
	seam.new_buf = new_buf;
	seam.new_len = new_len;
}

/* ---- fixtures and helpers ---- */

/* dir/name into out (VGT_PATH bytes); a longer path fails the test. */
static void pjoin(char out[static VGT_PATH], const char *dir, const char *name)
{
	int n = snprintf(out, VGT_PATH, "%s/%s", dir, name);

	assert_true(n > 0 && n < VGT_PATH);
}

struct fx {
	char dir[64]; /* private: 0700, ours */
	char out[VGT_PATH];
	mode_t umask;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f || vgt_mkdtemp(f->dir) != 0) {
		free(f);
		return -1;
	}
	pjoin(f->out, f->dir, "out");
	/* The mode of what is written must not come from the umask. */
	f->umask = umask(0);
	memset(&seam, 0, sizeof seam);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	memset(&seam, 0, sizeof seam);
	(void)umask(f->umask);
	/* A sticky or foreign subdirectory must be removable. */
	(void)chmod(f->dir, 0700);
	vgt_rmrf(f->dir);
	free(f);
	return 0;
}

static bool is_root(void)
{
	return geteuid() == 0;
}

/* Runs fn(arg) with stderr captured into err (one NUL-terminated string). */
static int captured(int (*fn)(void *), void *arg, char err[static 1024])
{
	int saved, mfd = memfd_create("stderr", MFD_CLOEXEC), rc;
	ssize_t n;

	assert_true(mfd >= 0);
	(void)fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(mfd, 2), 2);
	rc = fn(arg);
	(void)fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	(void)close(saved);
	n = pread(mfd, err, 1023, 0);
	err[n > 0 ? n : 0] = '\0';
	(void)close(mfd);
	return rc;
}

struct wargs {
	const char *path;
	const void *buf;
	size_t len;
	unsigned flags;
	enum { W_WRITE, W_WRITE_EX, W_CHECK, W_BEGIN } how;
};

static int do_call(void *arg)
{
	struct wargs *a = arg;
	struct cli_out o;
	int e;

	switch (a->how) {
	case W_WRITE:
		return cli_write(a->path, a->buf, a->len);
	case W_WRITE_EX:
		return cli_write_ex(a->path, a->buf, a->len, a->flags);
	case W_CHECK:
		return cli_write_check(a->path);
	case W_BEGIN:
		e = cli_out_begin(&o, a->path);
		if (!e)
			cli_out_abort(&o);
		return e;
	}
	return -1;
}

/* The call succeeds and says nothing. */
static void assert_writes(struct wargs a)
{
	char err[1024];
	int rc = captured(do_call, &a, err);

	if (rc != 0)
		fail_msg("writing %s: exit %d, %s", a.path, rc, err);
	assert_string_equal(err, "");
}

/* The call is refused with EXIT_ERROR and exactly one line on stderr
 * that starts "voxguard: " (cli.h). */
static void assert_refused(struct wargs a, const char *what)
{
	char err[1024];
	int rc = captured(do_call, &a, err);
	size_t n = strlen(err);

	if (rc != EXIT_ERROR)
		fail_msg("%s: %s was not refused (exit %d)", what, a.path, rc);
	if (strncmp(err, "voxguard: ", 10) != 0 || n < 12 || err[n - 1] != '\n' ||
	    memchr(err, '\n', n - 1))
		fail_msg("%s: not one line saying why: '%s'", what, err);
}

static struct wargs W(const char *path, const void *buf, size_t len) {
	return (struct wargs){.path = path, .buf = buf, .len = len, .how = W_WRITE};
}

static struct wargs
WX(const char *path, const void *buf, size_t len, unsigned flags) {
	return (struct wargs){
	    .path = path, .buf = buf, .len = len, .flags = flags, .how = W_WRITE_EX};
}

static struct wargs
CHECK(const char *path) {
	return (struct wargs){.path = path, .how = W_CHECK};
}

static struct wargs
BEGIN(const char *path) {
	return (struct wargs){.path = path, .how = W_BEGIN};
}

/* Every entry of dir must be one of the names given (NULL-terminated):
 * no temporary file or directory is left behind. */
static void
assert_dir_holds(const char *dir, ...)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		va_list ap;
		const char *n;
		bool known = false;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		va_start(ap, dir);
		while ((n = va_arg(ap, const char *)) != NULL)
			known = known || strcmp(n, e->d_name) == 0;
		va_end(ap);
		if (!known) {
			closedir(d);
			fail_msg("%s holds an unexpected '%s' (a temporary left behind?)", dir,
				 e->d_name);
		}
	}
	closedir(d);
}

static void assert_file(const char *path, const void *want, size_t len, mode_t mode)
{
	uint8_t *b;
	size_t n;
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(vgt_read(path, &b, &n), 0);
	if (n != len || memcmp(b, want, len) != 0)
		fail_msg("%s: %zu bytes, not the %zu expected", path, n, len);
	free(b);
}

static void put_file(const char *path, const char *content, mode_t mode)
{
	assert_int_equal(vgt_write(path, content, strlen(content), mode), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A subdirectory of the test's dir with the given mode (and owner). */
static void make_dir(struct fx *f, const char *name, mode_t mode, uid_t uid, char out[VGT_PATH])
{
	pjoin(out, f->dir, name);
	assert_int_equal(mkdir(out, 0700), 0);
	assert_int_equal(chmod(out, mode), 0);
	if (uid != geteuid())
		assert_int_equal(chown(out, uid, (gid_t)-1), 0);
}

/* Runs the call in a child that must finish within 5 s (a FIFO opened for
 * writing blocks until a reader comes). Returns its exit code. */
static int in_child(struct wargs a)
{
	pid_t pid;
	int status = 0;
	struct timespec t0, t;

	(void)fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[1024];
		alarm(10); /* never outlive the parent's patience */
		_exit(captured(do_call, &a, err));
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		assert_true(w >= 0);
		if (w == pid)
			break;
		(void)clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 5) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			fail_msg("%s: the call blocked (on a FIFO?) for 5 s", a.path);
		}
		(void)usleep(10000);
	}
	if (!WIFEXITED(status))
		fail_msg("%s: the call died (signal %d)", a.path, WTERMSIG(status));
	return WEXITSTATUS(status);
}

/* ---- what is written, and how ---- */

/* SFR 4.2.10: a new file is the caller's, mode 0600 whatever the umask
 * (0 here), and holds every byte, also when the kernel takes them in
 * short writes and a write is interrupted; nothing else is left in the
 * directory. */
static void test_sfr4210_out_new_file_0600_whole(void **state)
{
	struct fx *f = *state;
	size_t len = 3u * 1024u * 1024u + 17u;
	uint8_t *big = malloc(len);
	struct stat st;

	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 7u + i / 4096u);
	seam.short_writes = 4093;
	seam.eintr_once = true;
	assert_writes(W(f->out, big, len));
	seam.short_writes = 0;
	assert_false(seam.eintr_once); /* the writer went through write() */
	assert_file(f->out, big, len, 0600);
	assert_int_equal(lstat(f->out, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_nlink, 1);
	assert_dir_holds(f->dir, "out", NULL);
	/* An empty output is a file too. */
	pjoin(f->out, f->dir, "empty");
	assert_writes(W(f->out, "", 0));
	assert_file(f->out, "", 0, 0600);
	free(big);
}

/* SFR 4.2.10: in a directory only the caller can write, an existing file
 * is replaced atomically: a new file is written and made durable while
 * the name still holds the old content, then renamed over it, then the
 * directory is made durable. The old file is never written through:
 * its open descriptor and a hard link to it still read the old content.
 * The result is 0600 even if the old file was not. */
static void test_sfr4210_out_replaces_atomically_and_durably(void **state)
{
	struct fx *f = *state;
	char hard[VGT_PATH];
	uint8_t *b;
	size_t n;
	int old_fd;
	struct stat before, after;
	ssize_t got;
	char buf[64];
	size_t file_sync = SIZE_MAX, dir_sync = SIZE_MAX;

	put_file(f->out, PRECIOUS, 0644);
	pjoin(hard, f->dir, "hardlink");
	assert_int_equal(link(f->out, hard), 0);
	assert_int_equal(lstat(f->out, &before), 0);
	old_fd = open(f->out, O_RDONLY | O_CLOEXEC);
	assert_true(old_fd >= 0);

	watch(f->out, PRECIOUS, strlen(PRECIOUS), SECRET, strlen(SECRET));
	assert_writes(W(f->out, SECRET, strlen(SECRET)));
	seam.watch = false;

	assert_file(f->out, SECRET, strlen(SECRET), 0600);
	assert_int_equal(lstat(f->out, &after), 0);
	assert_true(after.st_ino != before.st_ino);
	got = pread(old_fd, buf, sizeof buf, 0);
	assert_int_equal(got, (ssize_t)strlen(PRECIOUS));
	assert_memory_equal(buf, PRECIOUS, strlen(PRECIOUS));
	(void)close(old_fd);
	assert_int_equal(vgt_read(hard, &b, &n), 0);
	assert_int_equal(n, strlen(PRECIOUS));
	assert_memory_equal(b, PRECIOUS, n);
	free(b);
	assert_dir_holds(f->dir, "out", "hardlink", NULL);

	/* The new content was durable before the name showed it, and the
	 * name was durable after. */
	for (size_t i = 0; i < seam.n; i++) {
		if (!seam.ev[i].dir && seam.ev[i].size == (off_t)strlen(SECRET) &&
		    file_sync == SIZE_MAX) {
			if (seam.ev[i].name_holds != 1)
				fail_msg("when the new content was synced the name held %s, not "
					 "the old content",
					 seam.ev[i].name_holds == 2 ? "the new content"
								    : "something else");
			file_sync = i;
		}
		if (seam.ev[i].dir && seam.ev[i].name_holds == 2)
			dir_sync = i;
	}
	if (file_sync == SIZE_MAX)
		fail_msg("the new content was never fsync'ed (%zu syncs)", seam.n);
	if (dir_sync == SIZE_MAX || dir_sync < file_sync)
		fail_msg("the directory was not fsync'ed after the rename");
}

/* ---- what is refused ---- */

/* SFR 4.2.10: a symbolic link at the name (to a file of the user's, or
 * dangling) is never followed: every entry point refuses it, the target is
 * untouched or not created, and the link stays as it was. */
static void test_sfr4210_out_symlink_refused(void **state)
{
	struct fx *f = *state;
	char target[VGT_PATH], dangling[VGT_PATH], lk[VGT_PATH];
	ssize_t n;

	pjoin(target, f->dir, "precious");
	put_file(target, PRECIOUS, 0644);
	assert_int_equal(symlink(target, f->out), 0);
	assert_refused(W(f->out, SECRET, strlen(SECRET)), "symlink (cli_write)");
	assert_refused(WX(f->out, SECRET, strlen(SECRET), CLI_OUT_REPLACE_OWN),
		       "symlink (cli_write_ex)");
	assert_refused(CHECK(f->out), "symlink (cli_write_check)");
	assert_refused(BEGIN(f->out), "symlink (cli_out_begin)");
	assert_file(target, PRECIOUS, strlen(PRECIOUS), 0644);
	n = readlink(f->out, lk, sizeof lk - 1);
	assert_true(n > 0);
	lk[n] = '\0';
	assert_string_equal(lk, target);

	/* A dangling link: its target must not be created through it. */
	pjoin(dangling, f->dir, "created-through-the-link");
	pjoin(lk, f->dir, "dangling");
	assert_int_equal(symlink(dangling, lk), 0);
	assert_refused(W(lk, SECRET, strlen(SECRET)), "dangling symlink");
	assert_refused(BEGIN(lk), "dangling symlink (cli_out_begin)");
	assert_false(vgt_exists(dangling));
	assert_dir_holds(f->dir, "out", "precious", "dangling", NULL);
}

/* SFR 4.2.10: a FIFO at the name is refused without being opened: the
 * call returns at once with no reader (a writer's open would block), and
 * with a reader waiting (another user's, hoping for the secret) the reader
 * receives nothing. Each call runs in a child with a 5 s deadline. */
static void test_sfr4210_out_fifo_refused_without_blocking(void **state)
{
	struct fx *f = *state;
	int rd;
	char buf[64];
	struct stat st;
	struct wargs calls[] = {
	    W(f->out, SECRET, strlen(SECRET)),
	    WX(f->out, SECRET, strlen(SECRET), CLI_OUT_REPLACE_OWN),
	    CHECK(f->out),
	    BEGIN(f->out),
	};

	assert_int_equal(mkfifo(f->out, 0666), 0);
	for (size_t i = 0; i < VG_ARRAY_LEN(calls); i++)
		if (in_child(calls[i]) != EXIT_ERROR)
			fail_msg("call %zu: a FIFO without a reader was not refused", i);
	rd = open(f->out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	for (size_t i = 0; i < VG_ARRAY_LEN(calls); i++)
		if (in_child(calls[i]) != EXIT_ERROR)
			fail_msg("call %zu: a FIFO with a reader was not refused", i);
	/* Nothing arrived: no data (EOF, or EAGAIN if a writer were open). */
	if (read(rd, buf, sizeof buf) > 0)
		fail_msg("the FIFO's reader received data");
	(void)close(rd);
	assert_int_equal(lstat(f->out, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_dir_holds(f->dir, "out", NULL);
}

/* SFR 4.2.10: a directory and a socket at the name are refused and stay
 * what they were. */
static void test_sfr4210_out_directory_and_socket_refused(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char sock[VGT_PATH];
	struct stat st;
	int s;

	assert_int_equal(mkdir(f->out, 0700), 0);
	assert_refused(W(f->out, SECRET, strlen(SECRET)), "directory");
	assert_refused(CHECK(f->out), "directory (cli_write_check)");
	assert_refused(BEGIN(f->out), "directory (cli_out_begin)");
	assert_int_equal(lstat(f->out, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_dir_holds(f->out, NULL);

	pjoin(sock, f->dir, "sock");
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_true(strlen(sock) < sizeof sa.sun_path);
	strcpy(sa.sun_path, sock);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_refused(W(sock, SECRET, strlen(SECRET)), "socket");
	assert_refused(CHECK(sock), "socket (cli_write_check)");
	assert_refused(BEGIN(sock), "socket (cli_out_begin)");
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	(void)close(s);
	assert_dir_holds(f->dir, "out", "sock", NULL);
}

/* SFR 4.2.10: a device at the name is refused and stays a device; the
 * null device (1, 3) is the one accepted, and nothing replaces it. Nodes
 * are made in the test's directory (root only: CI runs as root); as
 * another user the real /dev/null is used for the null case. */
static void test_sfr4210_out_devices(void **state)
{
	struct fx *f = *state;
	char zero[VGT_PATH], null[VGT_PATH];
	struct stat st;

	if (!is_root()) {
		assert_writes(W("/dev/null", SECRET, strlen(SECRET)));
		assert_int_equal(stat("/dev/null", &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		skip();
	}
	pjoin(zero, f->dir, "zero");
	assert_int_equal(mknod(zero, S_IFCHR | 0666, makedev(1, 5)), 0);
	assert_refused(W(zero, SECRET, strlen(SECRET)), "a character device");
	assert_refused(CHECK(zero), "a character device (cli_write_check)");
	assert_refused(BEGIN(zero), "a character device (cli_out_begin)");
	assert_int_equal(lstat(zero, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 5));

	pjoin(null, f->dir, "null");
	assert_int_equal(mknod(null, S_IFCHR | 0666, makedev(1, 3)), 0);
	assert_writes(W(null, SECRET, strlen(SECRET)));
	assert_writes(CHECK(null));
	/* Streaming needs a file to move onto the name. */
	assert_refused(BEGIN(null), "the null device (cli_out_begin)");
	assert_int_equal(lstat(null, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	assert_dir_holds(f->dir, "zero", "null", NULL);
}

/* SFR 4.2.10: names that are not a file name are refused. */
static void test_sfr4210_out_not_a_file_name(void **state)
{
	struct fx *f = *state;
	char p[VGT_PATH];

	pjoin(p, f->dir, "");
	assert_refused(W(p, SECRET, strlen(SECRET)), "a trailing slash");
	pjoin(p, f->dir, ".");
	assert_refused(W(p, SECRET, strlen(SECRET)), "'.'");
	pjoin(p, f->dir, "..");
	assert_refused(W(p, SECRET, strlen(SECRET)), "'..'");
	pjoin(p, f->dir, "missing-dir/out");
	assert_refused(W(p, SECRET, strlen(SECRET)), "a missing directory");
	assert_dir_holds(f->dir, NULL);
}

/* ---- directories others can write ---- */

/* SFR 4.2.10: in a directory others can write (world-writable, with or
 * without the sticky bit), a new name is created (0600, whole, durable),
 * an existing file -- even the caller's own -- is refused and untouched. */
static void test_sfr4210_out_shared_dir_creates_only(void **state)
{
	struct fx *f = *state;
	static const mode_t modes[] = {0777, 01777, 0770};

	for (size_t m = 0; m < VG_ARRAY_LEN(modes); m++) {
		char d[VGT_PATH], name[16], p[VGT_PATH], mine[VGT_PATH];
		bool dir_synced = false;
		(void)snprintf(name, sizeof name, "shared%zu", m);
		make_dir(f, name, modes[m], geteuid(), d);
		pjoin(p, d, "new");
		watch(p, NULL, 0, SECRET, strlen(SECRET));
		assert_writes(W(p, SECRET, strlen(SECRET)));
		seam.watch = false;
		assert_file(p, SECRET, strlen(SECRET), 0600);
		for (size_t i = 0; i < seam.n; i++)
			dir_synced = dir_synced || (seam.ev[i].dir && seam.ev[i].name_holds == 2);
		if (!dir_synced)
			fail_msg("mode %04o: the new name was not made durable", modes[m]);

		pjoin(mine, d, "mine");
		put_file(mine, PRECIOUS, 0600);
		assert_refused(W(mine, SECRET, strlen(SECRET)), "an existing file, shared dir");
		assert_refused(CHECK(mine), "an existing file, shared dir (cli_write_check)");
		assert_refused(BEGIN(mine), "an existing file, shared dir (cli_out_begin)");
		assert_file(mine, PRECIOUS, strlen(PRECIOUS), 0600);
		assert_dir_holds(d, "new", "mine", NULL);
	}
}

/* SFR 4.2.10: CLI_OUT_REPLACE_OWN (the session file named by
 * $VOXGUARD_SESSION) replaces the caller's own file, with one link, in a
 * sticky directory of the caller's; never without the sticky bit, never a
 * file with a second link (someone's hard link), never without the flag. */
static void test_sfr4210_out_replace_own(void **state)
{
	struct fx *f = *state;
	char sticky[VGT_PATH], plain[VGT_PATH], p[VGT_PATH], lk[VGT_PATH], other[VGT_PATH];

	make_dir(f, "sticky", 01777, geteuid(), sticky);
	pjoin(p, sticky, "session");
	put_file(p, PRECIOUS, 0600);
	assert_refused(W(p, SECRET, strlen(SECRET)), "own file without the flag");
	assert_file(p, PRECIOUS, strlen(PRECIOUS), 0600);
	assert_writes(WX(p, SECRET, strlen(SECRET), CLI_OUT_REPLACE_OWN));
	assert_file(p, SECRET, strlen(SECRET), 0600);

	pjoin(lk, f->dir, "someones-link");
	assert_int_equal(link(p, lk), 0);
	assert_refused(WX(p, PRECIOUS, strlen(PRECIOUS), CLI_OUT_REPLACE_OWN),
		       "own file with a second link");
	assert_file(lk, SECRET, strlen(SECRET), 0600);
	assert_int_equal(unlink(lk), 0);

	make_dir(f, "plain", 0777, geteuid(), plain);
	pjoin(other, plain, "session");
	put_file(other, PRECIOUS, 0600);
	assert_refused(WX(other, SECRET, strlen(SECRET), CLI_OUT_REPLACE_OWN),
		       "own file, shared dir without the sticky bit");
	assert_file(other, PRECIOUS, strlen(PRECIOUS), 0600);
	assert_dir_holds(sticky, "session", NULL);
	assert_dir_holds(plain, "session", NULL);
}

/* SFR 4.2.10 (root): a directory of another user is shared even at mode
 * 0755, and in a sticky directory another user's file is never replaced,
 * with or without CLI_OUT_REPLACE_OWN; CLI_OUT_PRIVATE_DIR refuses a
 * directory that is not the caller's or that others can enter. */
static void test_sfr4210_out_other_owners(void **state)
{
	struct fx *f = *state;
	char theirs[VGT_PATH], sticky[VGT_PATH], open_dir[VGT_PATH], p[VGT_PATH];

	make_dir(f, "open", 0750, geteuid(), open_dir);
	pjoin(p, open_dir, "session");
	assert_refused(WX(p, SECRET, strlen(SECRET), CLI_OUT_PRIVATE_DIR),
		       "private-dir flag, mode 0750");
	assert_false(vgt_exists(p));
	assert_int_equal(chmod(open_dir, 0700), 0);
	assert_writes(WX(p, SECRET, strlen(SECRET), CLI_OUT_PRIVATE_DIR));
	assert_file(p, SECRET, strlen(SECRET), 0600);
	if (!is_root())
		skip();

	make_dir(f, "theirs", 0755, NOBODY_UID, theirs);
	pjoin(p, theirs, "out");
	put_file(p, PRECIOUS, 0644);
	assert_refused(W(p, SECRET, strlen(SECRET)), "an existing file in another's dir");
	assert_refused(WX(p, SECRET, strlen(SECRET), CLI_OUT_PRIVATE_DIR),
		       "private-dir flag, another's dir");
	assert_file(p, PRECIOUS, strlen(PRECIOUS), 0644);

	make_dir(f, "sticky", 01777, geteuid(), sticky);
	pjoin(p, sticky, "session");
	put_file(p, PRECIOUS, 0600);
	assert_int_equal(chown(p, NOBODY_UID, (gid_t)-1), 0);
	assert_refused(WX(p, SECRET, strlen(SECRET), CLI_OUT_REPLACE_OWN),
		       "another user's file in a sticky dir");
	assert_file(p, PRECIOUS, strlen(PRECIOUS), 0600);
	assert_dir_holds(theirs, "out", NULL);
	assert_dir_holds(sticky, "session", NULL);
}

/* ---- the check before a one-time secret, and streaming ---- */

/* SFR 4.2.10: cli_write_check() accepts what cli_write() would write and
 * creates nothing (a setup code or seed is taken only after it). */
static void test_sfr4210_out_check_writes_nothing(void **state)
{
	struct fx *f = *state;

	assert_writes(CHECK(f->out));
	assert_false(vgt_exists(f->out));
	put_file(f->out, PRECIOUS, 0644);
	assert_writes(CHECK(f->out));
	assert_file(f->out, PRECIOUS, strlen(PRECIOUS), 0644);
	assert_dir_holds(f->dir, "out", NULL);
}

/* SFR 4.2.10: a streamed output is written at o.path in a private
 * directory of the caller's and moved onto the name at commit: 0600, whole,
 * replacing a file in a private directory, and nothing left behind; abort
 * leaves nothing either. */
static void test_sfr4210_out_stream_commit_and_abort(void **state)
{
	struct fx *f = *state;
	struct cli_out o;
	struct stat st;
	char parent[VGT_PATH];
	char *slash;

	assert_int_equal(cli_out_begin(&o, f->out), 0);
	assert_true(o.path[0] != '\0');
	/* Where the stream goes is a directory only the caller can enter. */
	assert_true(strlen(o.path) < sizeof parent);
	memcpy(parent, o.path, strlen(o.path) + 1);
	slash = strrchr(parent, '/');
	assert_non_null(slash);
	*slash = '\0';
	assert_int_equal(stat(parent, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(vgt_write(o.path, SECRET, strlen(SECRET), 0644), 0);
	assert_int_equal(cli_out_commit(&o, f->out), 0);
	assert_file(f->out, SECRET, strlen(SECRET), 0600);
	assert_dir_holds(f->dir, "out", NULL);

	/* Again onto the existing file (private directory: replaced). */
	assert_int_equal(cli_out_begin(&o, f->out), 0);
	assert_int_equal(vgt_write(o.path, PRECIOUS, strlen(PRECIOUS), 0600), 0);
	assert_int_equal(cli_out_commit(&o, f->out), 0);
	assert_file(f->out, PRECIOUS, strlen(PRECIOUS), 0600);
	assert_dir_holds(f->dir, "out", NULL);

	/* Aborted: nothing new, the old file as it was. */
	assert_int_equal(cli_out_begin(&o, f->out), 0);
	assert_int_equal(vgt_write(o.path, SECRET, strlen(SECRET), 0600), 0);
	cli_out_abort(&o);
	assert_file(f->out, PRECIOUS, strlen(PRECIOUS), 0600);
	assert_dir_holds(f->dir, "out", NULL);
}

/* SFR 4.2.10: streaming into a directory others can write, a file that
 * appears at the name between begin and commit (planted by someone else)
 * is not replaced: commit refuses and the planted file is untouched. */
struct commit_args {
	struct cli_out *o;
	const char *path;
};

static int do_commit(void *arg)
{
	struct commit_args *a = arg;

	return cli_out_commit(a->o, a->path);
}

static void test_sfr4210_out_stream_name_taken_meanwhile(void **state)
{
	struct fx *f = *state;
	struct cli_out o;
	char d[VGT_PATH], p[VGT_PATH], err[1024];
	struct commit_args c = {.o = &o, .path = p};
	int rc;

	make_dir(f, "shared", 01777, geteuid(), d);
	pjoin(p, d, "bundle");
	assert_int_equal(cli_out_begin(&o, p), 0);
	assert_int_equal(vgt_write(o.path, SECRET, strlen(SECRET), 0600), 0);
	put_file(p, PRECIOUS, 0644);
	rc = captured(do_commit, &c, err);
	if (rc != EXIT_ERROR)
		fail_msg("commit over a file planted meanwhile: exit %d", rc);
	assert_true(strncmp(err, "voxguard: ", 10) == 0);
	assert_file(p, PRECIOUS, strlen(PRECIOUS), 0644);
	assert_dir_holds(d, "bundle", NULL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_sfr4210_out_new_file_0600_whole),
	    T(test_sfr4210_out_replaces_atomically_and_durably),
	    T(test_sfr4210_out_symlink_refused),
	    T(test_sfr4210_out_fifo_refused_without_blocking),
	    T(test_sfr4210_out_directory_and_socket_refused),
	    T(test_sfr4210_out_devices),
	    T(test_sfr4210_out_not_a_file_name),
	    T(test_sfr4210_out_shared_dir_creates_only),
	    T(test_sfr4210_out_replace_own),
	    T(test_sfr4210_out_other_owners),
	    T(test_sfr4210_out_check_writes_nothing),
	    T(test_sfr4210_out_stream_commit_and_abort),
	    T(test_sfr4210_out_stream_name_taken_meanwhile),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
