/* io.c - option parsing, files and errors for the CLI */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
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

int cli_fail_rc(vg_client *c, const char *what, vg_rc rc)
{
	const char *why = vg_client_last_error(c);

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

int cli_session_path(char *out, size_t cap)
{
	const char *env = getenv("VOXGUARD_SESSION"), *xdg = getenv("XDG_RUNTIME_DIR");
	char dir[256];
	struct stat st;
	uid_t uid = getuid();

	if (env && *env) {
		if (is_token(env))
			return 1; /* the token itself */
		(void)snprintf(out, cap, "%s", env);
		return 0;
	}
	if (xdg && *xdg && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid) {
		(void)snprintf(out, cap, "%s/voxguard-session", xdg);
		return 0;
	}
	(void)snprintf(dir, sizeof dir, "/run/user/%u", (unsigned)uid);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid) {
		(void)snprintf(out, cap, "%s/voxguard-session", dir);
		return 0;
	}
	/* No runtime dir (a service account, a minimal system): a private
	 * directory of ours under /tmp, checked before use. */
	(void)snprintf(dir, sizeof dir, "/tmp/voxguard-%u", (unsigned)uid);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077))
		return -1;
	(void)snprintf(out, cap, "%s/session", dir);
	return 0;
}

/* The saved session token, if any, into tok (NUL-terminated). */
static bool load_session(char tok[VG_SESSION_TOKEN_SIZE])
{
	char path[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	int k = cli_session_path(path, sizeof path);
	bool ok = false;

	tok[0] = '\0';
	if (k == 1) {
		(void)snprintf(tok, VG_SESSION_TOKEN_SIZE, "%s", getenv("VOXGUARD_SESSION"));
		return true;
	}
	if (k != 0 || vg_read_file(path, 256, &buf, &len) != VG_OK)
		return false;
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
	vg_rc rc = vg_client_open(c, cli->socket);

	if (rc != VG_OK)
		return cli_fail_rc(NULL, "connect", rc);
	vg_client_set_owner(*c, cli->owner);
	if (load_session(tok))
		vg_client_set_session(*c, tok);
	vg_wipe(tok, sizeof tok);
	return 0;
}

int cli_dispatch(struct cli *cli, const char *group, const struct cli_cmd *table, size_t n,
		 int argc, char **argv)
{
	if (argc >= 1) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(argv[0], table[i].name) == 0)
				return table[i].fn(cli, argc - 1, argv + 1);
	}
	(void)fprintf(stderr, "usage: voxguard %s COMMAND ...\n", group);
	for (size_t i = 0; i < n; i++)
		(void)fprintf(stderr, "  %-8s %s\n", table[i].name, table[i].help);
	return EXIT_ERROR;
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
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
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
	if (o->n_pos < min_pos)
		return cli_fail("missing argument (see voxguard help)");
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

vg_rc cli_write(const char *path, const uint8_t *buf, size_t len)
{
	struct stat st;
	int fd;
	vg_rc rc;

	if (!path || strcmp(path, "-") == 0)
		return vg_write_all(STDOUT_FILENO, buf, len);
	/* Devices and pipes (/dev/null, a fifo) are written in place: an
	 * atomic rename onto them would replace the device node itself. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return VG_ERR_IO;
		rc = vg_write_all(fd, buf, len);
		if (close(fd) != 0 && rc == VG_OK)
			rc = VG_ERR_IO;
		return rc;
	}
	return vg_write_file_atomic(path, buf, len, 0600);
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
