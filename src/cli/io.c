/* io.c - option parsing, files and errors for the CLI */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli/cli.h"
#include "common/util.h"

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("voxguard: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	return EXIT_ERROR;
}

/* The group that may open path: its own, or its directory's when the
 * directory is what keeps the caller out. "" when neither can be read. */
static void socket_group(const char *path, char *out, size_t cap)
{
	char dir[108];
	const char *slash = strrchr(path, '/');
	struct stat st;
	struct group *g;

	out[0] = '\0';
	if (stat(path, &st) != 0) {
		if (!slash || (size_t)(slash - path) >= sizeof dir)
			return;
		(void)snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		if (stat(dir[0] ? dir : "/", &st) != 0)
			return;
	}
	g = getgrgid(st.st_gid);
	if (g)
		(void)snprintf(out, cap, "%s", g->gr_name);
	else
		(void)snprintf(out, cap, "%u", (unsigned)st.st_gid);
}

/* Why the service could not be reached, from the client's "PATH: REASON"
 * (vg_client_last_error(NULL) after a failed open): the path tried and
 * what to do about the reason (issue 16, item 3). */
static int fail_unreachable(const char *what, const char *why)
{
	char path[108] = "", grp[64];
	const char *sep = why ? strrchr(why, ':') : NULL;
	const char *reason = sep ? sep + 2 : "";

	if (sep && sep[1] == ' ' && (size_t)(sep - why) < sizeof path)
		(void)snprintf(path, sizeof path, "%.*s", (int)(sep - why), why);
	if (!path[0])
		return cli_fail("%s: cannot reach voxguardd (is it running? --socket or "
				"VOXGUARD_SOCKET)",
				what);
	if (strcmp(reason, strerror(EACCES)) == 0) {
		socket_group(path, grp, sizeof grp);
		if (grp[0])
			return cli_fail(
			    "%s: permission denied on %s: only voxguardd's socket group "
			    "'%s' may connect (an admin adds you: usermod -aG %s "
			    "USER, then log in again)",
			    what, path, grp, grp);
		return cli_fail("%s: permission denied on %s (voxguardd's socket is open to its "
				"socket group only: voxguardd.conf socket_group)",
				what, path);
	}
	if (strcmp(reason, strerror(ENOENT)) == 0)
		return cli_fail("%s: no voxguardd socket at %s (is voxguardd running? another "
				"socket: --socket PATH or VOXGUARD_SOCKET)",
				what, path);
	if (strcmp(reason, strerror(ECONNREFUSED)) == 0)
		return cli_fail("%s: nothing answers on %s (voxguardd stopped and left its "
				"socket? systemctl status voxguardd)",
				what, path);
	return cli_fail("%s: cannot reach voxguardd at %s: %s", what, path, reason);
}

int cli_fail_rc(vg_client *c, const char *what, vg_rc rc)
{
	const char *why = vg_client_last_error(c);

	if (rc == VG_ERR_UNTRUSTED && why && *why)
		return cli_fail("%s: %s", what, why);
	if (rc == VG_ERR_UNAVAILABLE && !c)
		return fail_unreachable(what, why);
	if (rc == VG_ERR_UNAVAILABLE)
		return cli_fail("%s: cannot reach voxguardd (is it running? --socket or "
				"VOXGUARD_SOCKET)",
				what);
	if (why && *why && strcmp(why, vg_rc_str(rc)) != 0)
		return cli_fail("%s: %s (%s)", what, vg_rc_str(rc), why);
	return cli_fail("%s: %s", what, vg_rc_str(rc));
}

static bool is_token(const char *s)
{
	size_t n = strlen(s);

	if (n != VG_SESSION_TOKEN_SIZE - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The caller's home: $HOME, else the password database's. */
static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && h[0] == '/')
		return h;
	pw = getpwuid(geteuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

/* DIR/voxguard as a directory of ours that nobody else may enter:
 * created 0700 when create is set, refused when it belongs to someone
 * else or lets anyone else in. */
static int private_subdir(const char *parent, bool create, struct cli_session_loc *l)
{
	char dir[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(dir, sizeof dir, "%s/voxguard", parent) >= sizeof dir ||
	    (size_t)snprintf(l->path, sizeof l->path, "%s/session", dir) >= sizeof l->path) {
		(void)snprintf(l->why, sizeof l->why, "%s: path too long", parent);
		return -1;
	}
	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		(void)snprintf(l->why, sizeof l->why, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) != 0) {
		(void)snprintf(l->why, sizeof l->why, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		(void)snprintf(l->why, sizeof l->why,
			       "%s is not a private directory of uid %u (it is %s owned by uid %u, "
			       "mode %04o): remove it or set VOXGUARD_SESSION",
			       dir, (unsigned)geteuid(),
			       S_ISDIR(st.st_mode)   ? "a directory"
			       : S_ISLNK(st.st_mode) ? "a symbolic link"
						     : "not a directory",
			       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	/* Checked again, through the directory's descriptor, when written. */
	l->wflags = CLI_OUT_PRIVATE_DIR;
	return 0;
}

int cli_session_where(struct cli_session_loc *l, bool create)
{
	const char *env = getenv("VOXGUARD_SESSION"), *xdg = getenv("XDG_RUNTIME_DIR"), *home;
	char dir[PATH_MAX];
	struct stat st;

	memset(l, 0, sizeof *l);
	if (env && *env) {
		if (is_token(env))
			return 1; /* the token itself */
		(void)snprintf(l->path, sizeof l->path, "%s", env);
		/* The caller's own file may be rewritten even in a shared
		 * sticky directory (login after login). */
		l->wflags = CLI_OUT_REPLACE_OWN;
		return 0;
	}
	if (xdg && *xdg)
		return private_subdir(xdg, create, l);
	(void)snprintf(dir, sizeof dir, "/run/user/%u", (unsigned)geteuid());
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
		return private_subdir(dir, create, l);
	/* No runtime directory (a service account, a minimal system): the
	 * user's cache directory; never a predictable name in /tmp that
	 * another uid could create first. */
	home = home_dir();
	if (!home || (size_t)snprintf(dir, sizeof dir, "%s/.cache", home) >= sizeof dir) {
		(void)snprintf(l->why, sizeof l->why,
			       "no runtime directory and no home: set XDG_RUNTIME_DIR or "
			       "VOXGUARD_SESSION");
		return -1;
	}
	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		(void)snprintf(l->why, sizeof l->why,
			       "cannot create %s (%s): set XDG_RUNTIME_DIR or VOXGUARD_SESSION",
			       dir, strerror(errno));
		return -1;
	}
	return private_subdir(dir, create, l);
}

/* The saved session token, if any, into tok (NUL-terminated). A file
 * that is not a regular file of ours is ignored. */
static bool load_session(char tok[VG_SESSION_TOKEN_SIZE])
{
	struct cli_session_loc l;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	int k = cli_session_where(&l, false), fd;
	bool ok = false;

	tok[0] = '\0';
	if (k == 1) {
		(void)snprintf(tok, VG_SESSION_TOKEN_SIZE, "%s", getenv("VOXGUARD_SESSION"));
		return true;
	}
	if (k != 0)
		return false;
	fd = open(l.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    vg_read_fd(fd, 256, &buf, &len) != VG_OK) {
		(void)close(fd);
		return false;
	}
	(void)close(fd);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == VG_SESSION_TOKEN_SIZE - 1) {
		memcpy(tok, buf, len);
		tok[len] = '\0';
		ok = is_token(tok);
	}
	vg_free(buf, len);
	if (!ok)
		vg_wipe(tok, VG_SESSION_TOKEN_SIZE);
	return ok;
}

int cli_connect(struct cli *cli, vg_client **c)
{
	char tok[VG_SESSION_TOKEN_SIZE];
	vg_rc rc = vg_client_open_as(c, cli->socket, cli->service_user);

	if (rc != VG_OK)
		return cli_fail_rc(NULL, "connect", rc);
	vg_client_set_owner(*c, cli->owner);
	if (load_session(tok))
		vg_client_set_session(*c, tok);
	vg_wipe(tok, sizeof tok);
	return 0;
}

/* The command being run, for cli_parse's messages: the CLI runs one
 * command per process, so one slot. */
static char usage_cmd[64];
static const char *usage_help;

void cli_set_usage(const char *group, const char *name, const char *help)
{
	(void)snprintf(usage_cmd, sizeof usage_cmd, "%s%s%s", group ? group : "", group ? " " : "",
		       name);
	usage_help = help;
}

/* The syntax part of a table help: before ": " or " (", else all of it. */
static size_t syntax_len(const char *help)
{
	const char *colon = strstr(help, ": "), *paren = strstr(help, " (");
	size_t n = strlen(help);

	if (!colon && help[0] >= 'a' && help[0] <= 'z')
		return 0; /* "list your keys": a description only */

	if (colon && (size_t)(colon - help) < n)
		n = (size_t)(colon - help);
	if (paren && (size_t)(paren - help) < n)
		n = (size_t)(paren - help);
	return n;
}

/* The n-th positional argument's name in a syntax like "NAME --in F
 * [--out F] PATH...": words outside brackets that are no option and no
 * option's value. */
static bool nth_positional(const char *help, size_t want, char *out, size_t cap)
{
	size_t len = syntax_len(help), i = 0, seen = 0;
	int depth = 0;
	bool after_opt = false;

	while (i < len) {
		size_t start, wl;

		while (i < len && help[i] == ' ')
			i++;
		start = i;
		while (i < len && help[i] != ' ')
			i++;
		wl = i - start;
		if (!wl)
			break;
		for (size_t k = start; k < i; k++)
			depth += help[k] == '[' ? 1 : help[k] == ']' ? -1 : 0;
		if (help[start] == '[' || help[i - 1] == ']' || depth > 0) {
			after_opt = false;
			continue;
		}
		if (help[start] == '-') {
			after_opt = true;
			continue;
		}
		if (after_opt) { /* the option's value */
			after_opt = false;
			continue;
		}
		if (seen++ == want) {
			(void)snprintf(out, cap, "%.*s", (int)wl, help + start);
			return true;
		}
	}
	return false;
}

static void print_usage(FILE *f)
{
	size_t sl = usage_help ? syntax_len(usage_help) : 0;

	(void)fprintf(f, "usage: voxguard %s%s%.*s\n", usage_cmd, sl ? " " : "", (int)sl,
		      usage_help ? usage_help : "");
	if (usage_help && usage_help[sl])
		(void)fprintf(f, "  %s\n",
			      sl ? usage_help + sl + (usage_help[sl] == ':' ? 2 : 1) : usage_help);
}

void cli_help_exit(void)
{
	print_usage(stdout);
	exit(fflush(stdout) == 0 ? 0 : EXIT_ERROR);
}

int cli_dispatch(struct cli *cli, const char *group, const struct cli_cmd *table, size_t n,
		 int argc, char **argv)
{
	bool help = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0);

	if (argc >= 1 && !help) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(argv[0], table[i].name) == 0) {
				cli_set_usage(group, table[i].name, table[i].help);
				return table[i].fn(cli, argc - 1, argv + 1);
			}
	}
	(void)fprintf(help ? stdout : stderr, "usage: voxguard %s COMMAND ...\n", group);
	for (size_t i = 0; i < n; i++)
		(void)fprintf(help ? stdout : stderr, "  %-8s %s\n", table[i].name, table[i].help);
	if (argc >= 1 && !help)
		(void)fprintf(stderr, "voxguard: %s: unknown command '%s'\n", group, argv[0]);
	return help ? 0 : EXIT_ERROR;
}

/* Index of name in a spec like "in=,out=,json", or -1. */
static int spec_index(const char *spec, const char *name, bool *takes_value)
{
	int idx = 0;
	size_t nl = strlen(name);

	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool val = len > 0 && p[len - 1] == '=';
		size_t kl = val ? len - 1 : len;
		if (kl == nl && strncmp(p, name, nl) == 0) {
			if (takes_value)
				*takes_value = val;
			return idx;
		}
		idx++;
		p += len + (end ? 1 : 0);
	}
	return -1;
}

int cli_parse(const char *spec, int argc, char **argv, struct cli_opts *o, size_t min_pos,
	      size_t max_pos)
{
	bool rest = false; /* after "--": a program's own arguments */

	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		rest = rest || strcmp(a, "--") == 0;
		if (!rest && strcmp(a, "--help") == 0 && spec_index(spec, "help", NULL) < 0)
			cli_help_exit();
		if (strncmp(a, "--", 2) == 0 && a[2]) {
			bool val = false;
			int k = spec_index(spec, a + 2, &val);
			if (k < 0 || k >= CLI_MAX_OPTS)
				return cli_fail("unknown option %s", a);
			if (val) {
				if (i + 1 >= argc)
					return cli_fail("option %s needs a value", a);
				o->val[k] = argv[++i];
			} else {
				o->flag[k] = true;
			}
		} else {
			if (o->n_pos >= max_pos || o->n_pos >= CLI_MAX_POS)
				return cli_fail("unexpected argument '%s'", a);
			o->pos[o->n_pos++] = a;
		}
	}
	if (o->n_pos < min_pos) {
		char name[48];
		if (usage_help && nth_positional(usage_help, o->n_pos, name, sizeof name))
			return cli_fail("%s: missing argument %s (usage: voxguard %s %.*s)",
					usage_cmd, name, usage_cmd, (int)syntax_len(usage_help),
					usage_help);
		return cli_fail("%s%smissing argument (voxguard %s --help)", usage_cmd,
				usage_cmd[0] ? ": " : "", usage_cmd);
	}
	return 0;
}

const char *cli_opt(const struct cli_opts *o, const char *spec, const char *name)
{
	int k = spec_index(spec, name, NULL);

	return k >= 0 && k < CLI_MAX_OPTS ? o->val[k] : NULL;
}

bool cli_flag(const struct cli_opts *o, const char *spec, const char *name)
{
	int k = spec_index(spec, name, NULL);

	return k >= 0 && k < CLI_MAX_OPTS && o->flag[k];
}

vg_rc cli_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	if (!path || strcmp(path, "-") == 0)
		return vg_read_fd(STDIN_FILENO, max, out, len);
	return vg_read_file(path, max, out, len);
}

/*
 * Files the CLI writes (--out, the session token) are opened as sshd and
 * systemd open theirs. The directory is opened once and everything after
 * goes through its descriptor (fstatat, openat, renameat), so what is
 * checked is what is written:
 *  - the name is never followed if it is a symbolic link, and only a
 *    regular file is ever replaced (never a FIFO, socket or device;
 *    /dev/null is accepted and nothing is written);
 *  - in a directory others can write (group or world writable, or owned
 *    by another user: /tmp even with its sticky bit), a file is only
 *    created, with O_EXCL, never opened if it exists;
 *  - elsewhere a temporary file is written, fsync'ed and renamed over the
 *    name, then the directory is fsync'ed: readers see the old file or
 *    the new one, never part of it;
 *  - new files are mode 0600.
 */
struct out_dir {
	int fd;
	char dir[PATH_MAX];
	char base[NAME_MAX + 1];
	bool shared;      /* others can write into it */
	bool replace_own; /* ...but the caller's own file there is safe to replace */
};

static const char *kind_of(mode_t m)
{
	return S_ISLNK(m)                 ? "a symbolic link"
	       : S_ISFIFO(m)              ? "a FIFO"
	       : S_ISSOCK(m)              ? "a socket"
	       : S_ISCHR(m) || S_ISBLK(m) ? "a device"
	       : S_ISDIR(m)               ? "a directory"
					  : "not a regular file";
}

static int out_dir_open(const char *path, unsigned flags, struct out_dir *d)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	struct stat st;
	uid_t me = geteuid();

	d->fd = -1;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strlen(base) > NAME_MAX)
		return cli_fail("refusing to write %s: not a file name", path);
	if (!vg_dir_of(path, d->dir, sizeof d->dir))
		return cli_fail("cannot write %s: path too long", path);
	strcpy(d->base, base);
	d->fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0)
		return cli_fail("cannot write %s: %s: %s", path, d->dir, strerror(errno));
	if (fstat(d->fd, &st) != 0) {
		int e = cli_fail("cannot write %s: %s: %s", path, d->dir, strerror(errno));
		(void)close(d->fd);
		d->fd = -1;
		return e;
	}
	d->shared = (st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_uid != me && st.st_uid != 0);
	/* In a sticky directory of root's or ours, nobody else can remove,
	 * rename or replace a file we own. */
	d->replace_own = (flags & CLI_OUT_REPLACE_OWN) && (st.st_mode & S_ISVTX) &&
			 (st.st_uid == me || st.st_uid == 0);
	if ((flags & CLI_OUT_PRIVATE_DIR) && (st.st_uid != me || (st.st_mode & 077))) {
		(void)close(d->fd);
		d->fd = -1;
		return cli_fail("refusing to write %s: %s is not a private directory of uid %u "
				"(owner uid %u, mode %04o)",
				path, d->dir, (unsigned)me, (unsigned)st.st_uid,
				(unsigned)(st.st_mode & 07777));
	}
	return 0;
}

/* What is at the name now: nothing (*exists false), or a regular file
 * that may be replaced. Anything else is refused with its reason. */
static int out_check(const char *path, struct out_dir *d, bool *exists, bool *is_null)
{
	struct stat st;

	*exists = false;
	*is_null = false;
	if (fstatat(d->fd, d->base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : cli_fail("cannot write %s: %s", path, strerror(errno));
	/* The one device written "into": the kernel's null device, the usual
	 * way to discard an output (only root can make such a node). */
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
		*is_null = true;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return cli_fail("refusing to write %s: it is %s", path, kind_of(st.st_mode));
	*exists = true;
	if (d->shared && !(d->replace_own && st.st_uid == geteuid() && st.st_nlink == 1))
		return cli_fail("refusing to write %s: it exists in a directory others can write "
				"(%s): choose a new name or a private directory",
				path, d->dir);
	return 0;
}

/* A fresh temporary name in d: ".BASE." and 16 random hex digits. */
static void tmp_name(const struct out_dir *d, char *out, size_t cap)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out;
	(void)snprintf(out, cap, ".%.200s.%016llx", d->base, (unsigned long long)r);
}

static int out_write(const char *path, struct out_dir *d, bool exists, const void *buf, size_t len,
		     unsigned mode)
{
	char tmp[NAME_MAX + 1];
	int fd, e = 0;
	vg_rc rc;

	if (d->shared && !exists) {
		fd = openat(d->fd, d->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0)
			return errno == EEXIST
				   ? cli_fail("refusing to write %s: it appeared in a directory "
					      "others can write (%s): choose a new name or a "
					      "private directory",
					      path, d->dir)
				   : cli_fail("cannot write %s: %s", path, strerror(errno));
		/* written in place: a failure removes the new file itself */
		rc = vg_write_commit_at(fd, buf, len, mode, d->fd, d->base, NULL);
		if (rc != VG_OK)
			return cli_fail("cannot write %s: %s", path, vg_rc_str(rc));
	} else {
		for (int i = 0;; i++) {
			tmp_name(d, tmp, sizeof tmp);
			fd = openat(d->fd, tmp,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd >= 0 || errno != EEXIST || i == 16)
				break;
		}
		if (fd < 0)
			return cli_fail("cannot write %s: %s: %s", path, d->dir, strerror(errno));
		rc = vg_write_commit_at(fd, buf, len, mode, d->fd, tmp, d->base);
		if (rc != VG_OK)
			return cli_fail("cannot write %s: %s", path, vg_rc_str(rc));
	}
	if (fsync(d->fd) != 0)
		e = cli_fail("cannot write %s: %s: %s", path, d->dir, strerror(errno));
	return e;
}

int cli_write_ex(const char *path, const void *buf, size_t len, unsigned flags)
{
	struct out_dir d;
	bool exists = false, is_null = false;
	int e;

	if (!path || strcmp(path, "-") == 0)
		return vg_write_all(STDOUT_FILENO, buf, len) == VG_OK
			   ? 0
			   : cli_fail("cannot write to standard output");
	e = out_dir_open(path, flags, &d);
	if (!e)
		e = out_check(path, &d, &exists, &is_null);
	if (!e && !is_null)
		e = out_write(path, &d, exists, buf, len, (flags & CLI_OUT_PUBLIC) ? 0644u : 0600u);
	if (d.fd >= 0)
		(void)close(d.fd);
	return e;
}

int cli_write(const char *path, const void *buf, size_t len)
{
	return cli_write_ex(path, buf, len, 0);
}

int cli_write_check(const char *path)
{
	struct out_dir d;
	bool exists = false, is_null = false;
	int e;

	if (!path || strcmp(path, "-") == 0)
		return 0;
	e = out_dir_open(path, 0, &d);
	if (!e)
		e = out_check(path, &d, &exists, &is_null);
	if (d.fd >= 0)
		(void)close(d.fd);
	return e;
}

/* Streaming writers (bundle create) write into a private directory of
 * ours made next to the target, named through /proc/self/fd so that
 * nobody can swap it; commit moves the result onto the target by the
 * rules above (no replacement in a shared directory). */
int cli_out_begin(struct cli_out *o, const char *path)
{
	struct out_dir *d;
	struct stat st;
	bool exists, is_null;
	int e;

	memset(o, 0, sizeof *o);
	o->tmpfd = -1;
	d = calloc(1, sizeof *d);
	if (!d)
		return cli_fail("out of memory");
	o->d = d;
	e = out_dir_open(path, 0, d);
	if (!e)
		e = out_check(path, d, &exists, &is_null);
	if (!e && is_null)
		e = cli_fail("refusing to write %s: it is a device", path);
	if (e) {
		cli_out_abort(o);
		return e;
	}
	for (int i = 0;; i++) {
		tmp_name(d, o->tmpdir, sizeof o->tmpdir);
		if (mkdirat(d->fd, o->tmpdir, 0700) == 0 || errno != EEXIST || i == 16)
			break;
	}
	o->tmpfd = openat(d->fd, o->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (o->tmpfd < 0 || fstat(o->tmpfd, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		e = cli_fail("cannot write %s: cannot make a private directory in %s: %s", path,
			     d->dir, strerror(errno));
		if (o->tmpfd < 0)
			o->tmpdir[0] = '\0'; /* not ours to remove */
		cli_out_abort(o);
		return e;
	}
	(void)snprintf(o->path, sizeof o->path, "/proc/self/fd/%d/out", o->tmpfd);
	if (access(o->path, F_OK) != 0 && errno != ENOENT)
		(void)snprintf(o->path, sizeof o->path, "%s/%s/out", d->dir, o->tmpdir);
	return 0;
}

int cli_out_commit(struct cli_out *o, const char *path)
{
	struct out_dir *d = o->d;
	struct stat st;
	int e = 0, r;

	if (fstatat(o->tmpfd, "out", &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
	    fchmodat(o->tmpfd, "out", 0600, 0) != 0) {
		e = cli_fail("cannot write %s: the output is missing", path);
		goto out;
	}
	/* Shared directory: only a new name, atomically (RENAME_NOREPLACE). */
	r = d->shared ? renameat2(o->tmpfd, "out", d->fd, d->base, RENAME_NOREPLACE)
		      : renameat(o->tmpfd, "out", d->fd, d->base);
	if (r != 0)
		e = errno == EEXIST ? cli_fail("refusing to write %s: it appeared in a directory "
					       "others can write (%s): choose a new name or a "
					       "private directory",
					       path, d->dir)
				    : cli_fail("cannot write %s: %s", path, strerror(errno));
	else if (fsync(d->fd) != 0)
		e = cli_fail("cannot write %s: %s: %s", path, d->dir, strerror(errno));
out:
	cli_out_abort(o);
	return e;
}

void cli_out_abort(struct cli_out *o)
{
	struct out_dir *d = o->d;

	if (o->tmpfd >= 0) {
		(void)unlinkat(o->tmpfd, "out", 0);
		(void)unlinkat(o->tmpfd, "out.tmp", 0);
		(void)close(o->tmpfd);
	}
	if (d && d->fd >= 0) {
		if (o->tmpdir[0])
			(void)unlinkat(d->fd, o->tmpdir, AT_REMOVEDIR);
		(void)close(d->fd);
	}
	free(d);
	memset(o, 0, sizeof *o);
	o->tmpfd = -1;
}

int cli_read_pubkey(const char *path, uint8_t **der, size_t *len)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	int n;

	*der = NULL;
	*len = 0;
	if (!f)
		return cli_fail("cannot open %s", path);
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k) {
		/* A private key file will do: only its public half is used. */
		rewind(f);
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	(void)fclose(f);
	if (!k)
		return cli_fail("%s: not a PEM public or private key", path);
	n = i2d_PUBKEY(k, der);
	EVP_PKEY_free(k);
	if (n <= 0)
		return cli_fail("%s: cannot encode the key", path);
	*len = (size_t)n;
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void cli_bar_start(struct cli_bar *b, const char *label)
{
	b->t0 = now_s();
	b->last = 0;
	b->tty = isatty(2) == 1;
	b->label = label;
}

void cli_bar_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct cli_bar *b = ctx;
	double t = now_s(), el = t - b->t0, rate = el > 0 ? (double)done / el : 0;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (!b->tty || (t - b->last < 0.2 && done < total))
		return;
	b->last = t;
	(void)fprintf(stderr, "\r%s%s[%-25.*s] %3d%%  %7.1f MiB/s  ETA %3.0f s ",
		      b->label ? b->label : "", b->label ? " " : "", pct / 4,
		      "#########################", pct, rate / 1048576.0,
		      rate > 0 ? (double)(total - done) / rate : 0);
	if (done >= total)
		(void)fputc('\n', stderr);
}

json_t *cli_json_str(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	if (!(copy = strdup(s)))
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *cli_json_str_ne(const char *s)
{
	return cli_json_str(s && *s ? s : NULL);
}

int cli_print_json(json_t *o)
{
	int e = 0;

	if (!o)
		return cli_fail("out of memory");
	if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    fputc('\n', stdout) == EOF)
		e = cli_fail("cannot write output");
	json_decref(o);
	return e;
}
