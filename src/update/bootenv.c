/*
 * bootenv.c - the bootloader adapter for A/B updates (contract in
 * bootenv.h).
 */
#include "update/bootenv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

extern char **environ;

enum kind { KIND_FILE, KIND_UBOOT, KIND_GRUB };

struct vg_bootenv {
	enum kind kind;
	unsigned tries;
	char path[PATH_MAX];     /* the env file, the fw_env.config or the grubenv */
	char defenv[PATH_MAX];   /* uboot: U-Boot's default environment */
	char get_tool[PATH_MAX]; /* absolute paths, found at open */
	char set_tool[PATH_MAX];
};

#define VAL_CAP 16u /* our values are 1 or 3 bytes: anything longer is malformed */

static const char *const var_names[3] = {"VG_BOOT_ORDER", "VG_A_LEFT", "VG_B_LEFT"};

#define fail(why, rc, ...) vg_why(why, VG_BOOTENV_WHY_LEN, rc, __VA_ARGS__)

/* Appends to a why that fail() filled. */
__attribute__((format(printf, 2, 3))) static void add_why(char *why, const char *fmt, ...)
{
	va_list ap;
	size_t l;

	if (!why)
		return;
	l = strnlen(why, VG_BOOTENV_WHY_LEN - 1);
	va_start(ap, fmt);
	(void)vsnprintf(why + l, VG_BOOTENV_WHY_LEN - l, fmt, ap);
	va_end(ap);
}

/* A value from the environment, fit for a one-line message. */
static const char *shown(const char *v, char out[VAL_CAP])
{
	size_t i;

	for (i = 0; v[i] && i < VAL_CAP - 1; i++)
		out[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	out[i] = '\0';
	return out;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int slot_index(char slot)
{
	return slot == 'a' ? 0 : slot == 'b' ? 1 : -1;
}

/* ---- the parser of outside bytes ---- */

vg_rc vg_bootenv_parse(const char *text, size_t len, const char *name, char *val, size_t cap)
{
	size_t nlen, pos = 0;
	bool found = false;
	vg_rc rc = VG_OK;

	if (val && cap)
		val[0] = '\0';
	if ((!text && len) || !name || !val || cap == 0)
		return VG_ERR_INVALID;
	nlen = strlen(name);
	if (nlen == 0 || strchr(name, '=') || strchr(name, '\n'))
		return VG_ERR_INVALID;
	if (len > VG_BOOTENV_MAX_INPUT)
		return VG_ERR_TOO_LARGE;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos, vlen;

		pos += ll + (nl ? 1 : 0);
		if (ll <= nlen || memcmp(line, name, nlen) != 0 || line[nlen] != '=')
			continue; /* another name, a longer one, or no '=' */
		/* Checked before the value is looked at: a name listed twice is
		 * refused wherever the over-long or odd copy is. */
		if (found) {
			rc = VG_ERR_INVALID;
			break;
		}
		found = true;
		if (ll > VG_BOOTENV_MAX_LINE) {
			rc = VG_ERR_TOO_LARGE;
			break;
		}
		vlen = ll - nlen - 1;
		if (memchr(line + nlen + 1, '\0', vlen)) {
			rc = VG_ERR_INVALID;
			break;
		}
		if (vlen >= cap) {
			rc = VG_ERR_TOO_LARGE;
			break;
		}
		memcpy(val, line + nlen + 1, vlen);
		val[vlen] = '\0';
	}
	if (rc != VG_OK) {
		val[0] = '\0';
		return rc;
	}
	return found ? VG_OK : VG_ERR_NOT_FOUND;
}

/* ---- running the bootloader's tools ---- */

/* The tool in an absolute directory of $PATH. Relative and empty entries
 * (the current directory) are never searched by a system service. */
static bool find_tool(const char *name, char out[PATH_MAX])
{
	const char *p = getenv("PATH");

	if (!p)
		p = "/usr/sbin:/usr/bin:/sbin:/bin";
	for (;;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct stat st;
		int r;

		if (n > 0 && p[0] == '/' && n < PATH_MAX) {
			r = snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, name);
			if (r > 0 && (size_t)r < PATH_MAX && stat(out, &st) == 0 &&
			    S_ISREG(st.st_mode) && access(out, X_OK) == 0)
				return true;
		}
		if (!e)
			break;
		p = e + 1;
	}
	out[0] = '\0';
	return false;
}

/* Waits for pid until the deadline (or not at all when kill_now), then
 * kills it: it is always reaped. Returns 0 with *status, or -1. */
static int reap(pid_t pid, uint64_t deadline, bool kill_now, int *status, bool *timed_out)
{
	long nap_ns = 1000000;

	while (!kill_now) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (vg_mono_ms() >= deadline) {
			*timed_out = true;
			break;
		}
		struct timespec ts = {0, nap_ns};
		(void)nanosleep(&ts, NULL);
		if (nap_ns < 50000000)
			nap_ns *= 2;
	}
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * Runs tool (an absolute path) with argv, without a shell. in (at most
 * PIPE_BUF bytes, or NULL for /dev/null) is written to the stdin pipe
 * before the tool starts, so we never write to a pipe whose reader died
 * (no SIGPIPE). stdout is read up to VG_BOOTENV_MAX_INPUT bytes into *out
 * (malloc'ed, NUL-terminated; NULL: discarded); stderr is the caller's.
 */
static vg_rc run_tool(const char *tool, char *const argv[], const char *in, size_t in_len,
		      char **out, size_t *out_len, char *why)
{
	const char *name = base_name(tool);
	int outp[2] = {-1, -1}, inp[2] = {-1, -1}, status = 0, err;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_ok = false, attr_ok = false, timed_out = false;
	sigset_t none, dflt;
	uint64_t deadline;
	pid_t pid = -1;
	char *buf;
	size_t n = 0;
	vg_rc rc = VG_OK;

	if (out) {
		*out = NULL;
		*out_len = 0;
	}
	if (in && in_len > PIPE_BUF)
		return VG_ERR_INTERNAL;
	buf = malloc(VG_BOOTENV_MAX_INPUT + 1);
	if (!buf)
		return VG_ERR_NOMEM;
	if (pipe2(outp, O_CLOEXEC) != 0 || (in && pipe2(inp, O_CLOEXEC) != 0)) {
		rc = fail(why, VG_ERR_IO, "cannot run %s: pipe: %s", name, strerror(errno));
		goto out;
	}
	if (in) {
		rc = vg_write_all(inp[1], in, in_len);
		(void)close(inp[1]);
		inp[1] = -1;
		if (rc != VG_OK) {
			rc = fail(why, rc, "cannot run %s: cannot fill its input pipe", name);
			goto out;
		}
	}
	fa_ok = posix_spawn_file_actions_init(&fa) == 0;
	attr_ok = posix_spawnattr_init(&attr) == 0;
	if (!fa_ok || !attr_ok) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	/* The pipes are O_CLOEXEC: only the dup2()ed copies reach the tool. */
	err = in ? posix_spawn_file_actions_adddup2(&fa, inp[0], STDIN_FILENO)
		 : posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	err = err ? err : posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* And no descriptor of ours that someone forgot to mark O_CLOEXEC. */
	err = err ? err : posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
	/* The tool starts with default dispositions and no blocked signal,
	 * whatever the service ignores or blocks. */
	(void)sigemptyset(&none);
	(void)sigemptyset(&dflt);
	static const int sigs[] = {SIGPIPE, SIGCHLD, SIGHUP,  SIGINT, SIGQUIT,
				   SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};
	for (size_t i = 0; i < VG_ARRAY_LEN(sigs); i++)
		(void)sigaddset(&dflt, sigs[i]);
	err = err ? err : posix_spawnattr_setsigmask(&attr, &none);
	err = err ? err : posix_spawnattr_setsigdefault(&attr, &dflt);
	err = err ? err
		  : posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (err) {
		rc = fail(why, VG_ERR_NOMEM, "cannot run %s: %s", name, strerror(err));
		goto out;
	}
	err = posix_spawn(&pid, tool, &fa, &attr, argv, environ);
	if (err) {
		pid = -1;
		rc = fail(why, err == ENOENT ? VG_ERR_UNSUPPORTED : VG_ERR_IO, "cannot run %s: %s",
			  tool, strerror(err));
		goto out;
	}
	deadline = vg_mono_ms() + VG_BOOTENV_TIMEOUT_MS;
	(void)close(outp[1]);
	outp[1] = -1;
	if (inp[0] >= 0) {
		(void)close(inp[0]);
		inp[0] = -1;
	}
	for (;;) {
		uint64_t now = vg_mono_ms();
		struct pollfd pfd = {.fd = outp[0], .events = POLLIN};
		ssize_t got;
		int r;

		if (now >= deadline) {
			timed_out = true;
			break;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail(why, VG_ERR_IO, "%s: poll: %s", name, strerror(errno));
			break;
		}
		if (r == 0)
			continue;
		got = read(outp[0], buf + n, VG_BOOTENV_MAX_INPUT + 1 - n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			rc = fail(why, VG_ERR_IO, "%s: reading its output: %s", name,
				  strerror(errno));
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > VG_BOOTENV_MAX_INPUT) {
			rc = fail(why, VG_ERR_TOO_LARGE, "%s printed more than %u bytes: killed",
				  name, VG_BOOTENV_MAX_INPUT);
			break;
		}
	}
	(void)close(outp[0]);
	outp[0] = -1;
	if (reap(pid, deadline, rc != VG_OK || timed_out, &status, &timed_out) != 0) {
		if (rc == VG_OK)
			rc = fail(why, VG_ERR_IO, "%s: lost its exit status: %s", name,
				  strerror(errno));
	} else if (rc != VG_OK) {
		/* keep the first error */
	} else if (timed_out) {
		rc = fail(why, VG_ERR_IO, "%s did not finish within %u s: killed", name,
			  VG_BOOTENV_TIMEOUT_MS / 1000);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		rc = fail(why, VG_ERR_IO, "%s exited with status %d", name, WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		rc = fail(why, VG_ERR_IO, "%s was killed by signal %d", name, WTERMSIG(status));
	}
out:
	if (fa_ok)
		(void)posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		(void)posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			(void)close(outp[i]);
		if (inp[i] >= 0)
			(void)close(inp[i]);
	}
	if (rc == VG_OK && out) {
		buf[n] = '\0';
		*out = buf;
		*out_len = n;
	} else {
		free(buf);
	}
	return rc;
}

/* ---- the state: parsing and formatting ---- */

static vg_rc parse_state(const vg_bootenv *b, const char *text, size_t len, vg_boot_state *st,
			 char *why)
{
	char v[3][VAL_CAP], s[VAL_CAP];

	if (len > VG_BOOTENV_MAX_INPUT)
		return fail(why, VG_ERR_TOO_LARGE, "the boot environment is over %u bytes",
			    VG_BOOTENV_MAX_INPUT);
	for (size_t i = 0; i < 3; i++) {
		vg_rc rc = vg_bootenv_parse(text, len, var_names[i], v[i], sizeof v[i]);
		if (rc == VG_ERR_NOT_FOUND)
			v[i][0] = '\0';
		else if (rc == VG_ERR_TOO_LARGE)
			return fail(why, VG_ERR_INVALID, "%s: the value is too long", var_names[i]);
		else if (rc == VG_ERR_INVALID)
			return fail(why, VG_ERR_INVALID, "%s is set twice or holds a NUL byte",
				    var_names[i]);
		else if (rc != VG_OK)
			return rc;
	}
	/* Absent and empty are one case, as in the boot scripts: an unset
	 * variable expands to "" in U-Boot's hush and in GRUB. */
	if (!v[0][0] || strcmp(v[0], "a b") == 0) {
		st->order[0] = 'a';
		st->order[1] = 'b';
	} else if (strcmp(v[0], "b a") == 0) {
		st->order[0] = 'b';
		st->order[1] = 'a';
	} else {
		return fail(why, VG_ERR_INVALID, "VG_BOOT_ORDER is '%s', not \"a b\" or \"b a\"",
			    shown(v[0], s));
	}
	for (size_t i = 1; i < 3; i++) {
		if (!v[i][0])
			st->left[i - 1] = b->tries;
		else if (v[i][1] == '\0' && v[i][0] >= '0' && v[i][0] <= '9')
			st->left[i - 1] = (unsigned)(v[i][0] - '0');
		else
			return fail(why, VG_ERR_INVALID, "%s is '%s', not one digit 0-9",
				    var_names[i], shown(v[i], s));
	}
	return VG_OK;
}

/* The three variables, "NAME=VALUE" per line (the file backend's content
 * and fw_setenv's script); returns the length. */
static size_t format_state(const vg_boot_state *st, char out[64])
{
	int n = snprintf(out, 64, "%s=%c %c\n%s=%u\n%s=%u\n", var_names[0], st->order[0],
			 st->order[1], var_names[1], st->left[0], var_names[2], st->left[1]);
	return n > 0 && n < 64 ? (size_t)n : 0;
}

/* ---- the backends ---- */

/* GRUB: the block is edited in a copy by grub-editenv. A new block is
 * renamed into place; an existing one is rewritten in place, as GRUB's own
 * save_env does, never replaced: on the FAT of an EFI system partition a
 * rename allocates a cluster, and a power cut before the FAT itself
 * reaches the disk left a file that fsck.fat truncated to nothing (the
 * device test cut the power after mark-good and found an empty block:
 * GRUB then boots its defaults, the old slot). An in-place write of the
 * same 1024 bytes changes no allocation, and our three variables sit in
 * its first 512-byte sector, the rest being the same '#' padding. */
/* Copies the edited block in tmp over the one at path, in place: the same
 * size (grub-editenv keeps it), one write, fsync. */
static vg_rc grub_write_in_place(const char *path, const char *tmp, off_t size, char *why)
{
	uint8_t *blk = NULL;
	size_t len = 0;
	vg_rc rc = vg_read_file(tmp, VG_BOOTENV_MAX_INPUT, &blk, &len);
	int fd;

	if (rc != VG_OK)
		return fail(why, VG_ERR_IO, "%s: cannot read the edited block", tmp);
	if ((off_t)len != size) {
		free(blk);
		return fail(why, VG_ERR_INVALID,
			    "%s: the edited block is %zu bytes, the block in place %lld: "
			    "not rewritten",
			    path, len, (long long)size);
	}
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		rc = fail(why, VG_ERR_IO, "%s: %s", path, strerror(errno));
	else if (pwrite(fd, blk, len, 0) != (ssize_t)len)
		rc = fail(why, VG_ERR_IO, "%s: write: %s", path, strerror(errno));
	else if (fsync(fd) != 0)
		rc = fail(why, VG_ERR_IO, "%s: fsync: %s", path, strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	free(blk);
	return rc;
}

static vg_rc grub_replace(const vg_bootenv *b, const vg_boot_state *st, char *why)
{
	char tmp[PATH_MAX], a[3][32];
	struct stat sb;
	bool have;
	uint8_t *old = NULL;
	size_t old_len = 0;
	int fd, r;
	vg_rc rc = VG_OK;

	r = snprintf(tmp, sizeof tmp, "%s.XXXXXX", b->path);
	if (r < 0 || (size_t)r >= sizeof tmp)
		return fail(why, VG_ERR_INVALID, "%s: path too long", b->path);
	have = stat(b->path, &sb) == 0;
	if (!have && errno != ENOENT)
		return fail(why, VG_ERR_IO, "%s: %s", b->path, strerror(errno));
	if (have) {
		rc = vg_read_file(b->path, VG_BOOTENV_MAX_INPUT, &old, &old_len);
		if (rc != VG_OK)
			return fail(why, rc == VG_ERR_TOO_LARGE ? rc : VG_ERR_IO,
				    "%s: cannot read the GRUB environment block", b->path);
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(old);
		return fail(why, VG_ERR_IO, "%s: cannot create a temporary beside it: %s", b->path,
			    strerror(errno));
	}
	if (fchmod(fd, have ? (sb.st_mode & 0777) : 0644) != 0)
		rc = fail(why, VG_ERR_IO, "%s: chmod: %s", tmp, strerror(errno));
	if (rc == VG_OK && have && vg_write_all(fd, old, old_len) != VG_OK)
		rc = fail(why, VG_ERR_IO, "%s: cannot copy the GRUB environment block", tmp);
	if (close(fd) != 0 && rc == VG_OK)
		rc = fail(why, VG_ERR_IO, "%s: %s", tmp, strerror(errno));
	free(old);
	if (rc == VG_OK && !have) {
		char *argv[] = {(char *)"grub-editenv", (char *)"--", tmp, (char *)"create", NULL};
		rc = run_tool(b->set_tool, argv, NULL, 0, NULL, NULL, why);
	}
	if (rc == VG_OK && st) {
		char *argv[] = {(char *)"grub-editenv",
				(char *)"--",
				tmp,
				(char *)"set",
				a[0],
				a[1],
				a[2],
				NULL};
		(void)snprintf(a[0], sizeof a[0], "%s=%c %c", var_names[0], st->order[0],
			       st->order[1]);
		(void)snprintf(a[1], sizeof a[1], "%s=%u", var_names[1], st->left[0]);
		(void)snprintf(a[2], sizeof a[2], "%s=%u", var_names[2], st->left[1]);
		rc = run_tool(b->set_tool, argv, NULL, 0, NULL, NULL, why);
	}
	if (rc == VG_OK && have) {
		rc = grub_write_in_place(b->path, tmp, sb.st_size, why);
		(void)unlink(tmp);
		return rc;
	}
	if (rc == VG_OK) {
		/* grub-editenv fsyncs too; this is ours, before the rename. */
		fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			rc = fail(why, VG_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
	}
	if (rc == VG_OK && rename(tmp, b->path) != 0)
		rc = fail(why, VG_ERR_IO, "%s: rename: %s", b->path, strerror(errno));
	if (rc != VG_OK) {
		(void)unlink(tmp);
		return rc;
	}
	if (vg_fsync_dir_of(b->path) != VG_OK)
		return fail(why, VG_ERR_IO, "%s: cannot fsync its directory", b->path);
	return VG_OK;
}

vg_rc vg_bootenv_read(vg_bootenv *b, vg_boot_state *st, char *why)
{
	char *text = NULL;
	uint8_t *raw = NULL;
	size_t len = 0;
	struct stat sb;
	vg_rc rc;

	if (!b || !st)
		return fail(why, VG_ERR_INVALID, "vg_bootenv_read: no handle or state");
	switch (b->kind) {
	case KIND_FILE:
		rc = vg_read_file(b->path, VG_BOOTENV_MAX_INPUT, &raw, &len);
		if (rc == VG_ERR_NOT_FOUND)
			return parse_state(b, "", 0, st, why); /* never written: the defaults */
		if (rc == VG_ERR_TOO_LARGE)
			return fail(why, rc, "%s: over %u bytes: not a boot environment", b->path,
				    VG_BOOTENV_MAX_INPUT);
		if (rc != VG_OK)
			return fail(why, VG_ERR_IO, "%s: cannot read the boot environment",
				    b->path);
		rc = parse_state(b, (const char *)raw, len, st, why);
		free(raw);
		return rc;
	case KIND_UBOOT: {
		/* A fresh environment is read from the default one, or from
		 * nothing: then it reads as the defaults (see bootenv.h). */
		const char *def = access(b->defenv, R_OK) == 0 ? b->defenv : "/dev/null";
		char *argv[] = {(char *)"fw_printenv",
				(char *)"-c",
				b->path,
				(char *)"-f",
				(char *)def,
				(char *)"--",
				(char *)var_names[0],
				(char *)var_names[1],
				(char *)var_names[2],
				NULL};
		rc = run_tool(b->get_tool, argv, NULL, 0, &text, &len, why);
		break;
	}
	case KIND_GRUB: {
		char *argv[] = {(char *)"grub-editenv", (char *)"--", b->path, (char *)"list",
				NULL};
		if (stat(b->path, &sb) != 0 && errno == ENOENT)
			return parse_state(b, "", 0, st, why); /* removed since open */
		rc = run_tool(b->get_tool, argv, NULL, 0, &text, &len, why);
		break;
	}
	default:
		return VG_ERR_INTERNAL;
	}
	if (rc == VG_OK)
		rc = parse_state(b, text, len, st, why);
	free(text);
	return rc;
}

static vg_rc write_state(vg_bootenv *b, const vg_boot_state *st, char *why)
{
	char text[64];
	size_t len = format_state(st, text);
	vg_rc rc;

	if (!len || slot_index(st->order[0]) < 0 || slot_index(st->order[1]) < 0 ||
	    st->order[0] == st->order[1] || st->left[0] > 9 || st->left[1] > 9)
		return VG_ERR_INTERNAL;
	switch (b->kind) {
	case KIND_FILE:
		rc = vg_write_file_atomic(b->path, text, len, 0644);
		return rc == VG_OK ? VG_OK
				   : fail(why, VG_ERR_IO, "%s: cannot replace the boot environment",
					  b->path);
	case KIND_UBOOT: {
		char *argv[] = {(char *)"fw_setenv",  (char *)"-c", b->path,
				(char *)"-f",         b->defenv,    (char *)"-s",
				(char *)"/dev/stdin", NULL};
		rc = run_tool(b->set_tool, argv, text, len, NULL, NULL, why);
		if (rc != VG_OK && access(b->defenv, R_OK) != 0)
			add_why(why, " (if the environment was never saved: no %s)", b->defenv);
		return rc;
	}
	case KIND_GRUB:
		return grub_replace(b, st, why);
	default:
		return VG_ERR_INTERNAL;
	}
}

/* ---- opening ---- */

static vg_rc need_tool(const char *name, const char *alt, const char *pkg, char out[PATH_MAX],
		       char *why)
{
	if (find_tool(name, out) || (alt && find_tool(alt, out)))
		return VG_OK;
	return fail(why, VG_ERR_UNSUPPORTED, "%s not found: install %s or set bootloader = file",
		    name, pkg);
}

vg_rc vg_bootenv_open(vg_bootenv **out, const char *kind, const char *param, unsigned tries,
		      char *why)
{
	vg_bootenv *b;
	char k[VAL_CAP];
	size_t plen = param ? strlen(param) : 0;
	vg_rc rc = VG_OK;

	if (!out)
		return fail(why, VG_ERR_INVALID, "vg_bootenv_open: no handle");
	*out = NULL;
	if (!kind)
		return fail(why, VG_ERR_INVALID, "no bootloader kind: file, uboot or grub");
	if (tries > VG_BOOTENV_MAX_TRIES)
		return fail(why, VG_ERR_INVALID, "boot tries %u: 1 to %u (0 for %u)", tries,
			    VG_BOOTENV_MAX_TRIES, VG_BOOTENV_DEFAULT_TRIES);
	/* Room for ".XXXXXX" and "u-boot-initial-env"; a leading '-' would
	 * be an option to the tool. */
	if (plen >= PATH_MAX - 32 || (param && param[0] == '-'))
		return fail(why, VG_ERR_INVALID, "bootloader %s: bad path", kind);
	b = calloc(1, sizeof *b);
	if (!b)
		return VG_ERR_NOMEM;
	b->tries = tries ? tries : VG_BOOTENV_DEFAULT_TRIES;
	if (strcmp(kind, "file") == 0) {
		b->kind = KIND_FILE;
		if (!plen)
			rc = fail(why, VG_ERR_INVALID, "bootloader file: no path to the env file");
		else
			memcpy(b->path, param, plen + 1);
	} else if (strcmp(kind, "uboot") == 0) {
		const char *slash;
		b->kind = KIND_UBOOT;
		(void)snprintf(b->path, sizeof b->path, "%s", plen ? param : "/etc/fw_env.config");
		slash = strrchr(b->path, '/');
		(void)snprintf(b->defenv, sizeof b->defenv, "%.*su-boot-initial-env",
			       slash ? (int)(slash - b->path + 1) : 0, b->path);
		rc = need_tool("fw_setenv", NULL, "libubootenv-tool", b->set_tool, why);
		if (rc == VG_OK)
			rc = need_tool("fw_printenv", NULL, "libubootenv-tool", b->get_tool, why);
		if (rc == VG_OK && access(b->path, R_OK) != 0)
			rc = fail(why, VG_ERR_NOT_FOUND, "%s: %s (the U-Boot adapter needs it)",
				  b->path, strerror(errno));
	} else if (strcmp(kind, "grub") == 0) {
		struct stat sb;
		b->kind = KIND_GRUB;
		if (!plen)
			rc = fail(why, VG_ERR_INVALID, "bootloader grub: no path to the grubenv");
		else
			memcpy(b->path, param, plen + 1);
		if (rc == VG_OK)
			rc = need_tool("grub-editenv", "grub2-editenv", "grub-common", b->set_tool,
				       why);
		memcpy(b->get_tool, b->set_tool, sizeof b->get_tool);
		/* GRUB's save_env only rewrites an existing block. */
		if (rc == VG_OK && stat(b->path, &sb) != 0 && errno == ENOENT)
			rc = grub_replace(b, NULL, why);
	} else {
		rc = fail(why, VG_ERR_INVALID, "unknown bootloader '%s': file, uboot or grub",
			  shown(kind, k));
	}
	if (rc != VG_OK) {
		vg_bootenv_close(&b);
		return rc;
	}
	*out = b;
	return VG_OK;
}

void vg_bootenv_close(vg_bootenv **b)
{
	if (!b || !*b)
		return;
	free(*b);
	*b = NULL;
}

/* ---- the transitions ---- */

/* activate and mark-good: the slot first, with a full count. */
static vg_rc put_first(vg_bootenv *b, char slot, char *why)
{
	int i = slot_index(slot);
	vg_boot_state st;
	vg_rc rc;

	if (!b || i < 0)
		return fail(why, VG_ERR_INVALID, "slot must be 'a' or 'b'");
	rc = vg_bootenv_read(b, &st, why);
	if (rc != VG_OK)
		return rc;
	st.order[0] = slot;
	st.order[1] = i ? 'a' : 'b';
	st.left[i] = b->tries;
	return write_state(b, &st, why);
}

vg_rc vg_bootenv_activate(vg_bootenv *b, char slot, char *why)
{
	return put_first(b, slot, why);
}

vg_rc vg_bootenv_mark_good(vg_bootenv *b, char slot, char *why)
{
	return put_first(b, slot, why);
}

vg_rc vg_bootenv_mark_bad(vg_bootenv *b, char slot, char *why)
{
	int i = slot_index(slot);
	vg_boot_state st;
	vg_rc rc;

	if (!b || i < 0)
		return fail(why, VG_ERR_INVALID, "slot must be 'a' or 'b'");
	rc = vg_bootenv_read(b, &st, why);
	if (rc != VG_OK)
		return rc;
	st.left[i] = 0;
	return write_state(b, &st, why);
}

vg_rc vg_bootenv_simulate_boot(vg_bootenv *b, char *booted, char *why)
{
	vg_boot_state st;
	vg_rc rc;

	if (!b || !booted)
		return fail(why, VG_ERR_INVALID, "vg_bootenv_simulate_boot: no handle");
	*booted = '\0';
	rc = vg_bootenv_read(b, &st, why);
	if (rc != VG_OK)
		return rc;
	for (int k = 0; k < 2; k++) {
		int i = slot_index(st.order[k]);
		if (st.left[i] == 0)
			continue;
		st.left[i]--;
		rc = write_state(b, &st, why);
		if (rc == VG_OK)
			*booted = st.order[k];
		return rc;
	}
	return fail(why, VG_ERR_STATE, "no slot has boot attempts left (a: 0, b: 0)");
}
