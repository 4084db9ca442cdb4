/* cmd_config.c - `voxguard config ...`: configuration sealed for one
 * application (AVS Device SDK rule 1; include/voxguard/config.h,
 * docs/PRIVACY.md). seal and remove are admin operations with a session;
 * get, exec and list answer for the caller's uid (an admin lists all). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "voxguard/config.h"

/* Where systemd looks for a system unit, most binding first. */
static const char *const unit_dirs[] = {"/etc/systemd/system", "/run/systemd/system",
					"/usr/local/lib/systemd/system", "/lib/systemd/system",
					"/usr/lib/systemd/system"};

static bool unit_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 9 || n > 200 || strcmp(s + n - 8, ".service") != 0 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(":-_.\\@", s[i]))
			return false;
	return true;
}

/* The User= and DynamicUser= of one unit file or drop-in (the last
 * assignment wins, as in systemd). Returns false if it cannot be read. */
static bool scan_unit(const char *path, char *user, size_t cap, bool *dynamic)
{
	char line[1024];
	bool service = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (fgets(line, sizeof line, f)) {
		char *p = line, *v, *end;
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '[') {
			service = strcmp(p, "[Service]") == 0;
			continue;
		}
		if (!service || !(v = strchr(p, '=')))
			continue;
		*v++ = '\0';
		for (end = v - 2; end >= p && isspace((unsigned char)*end); end--)
			*end = '\0';
		while (isspace((unsigned char)*v))
			v++;
		if (strcmp(p, "User") == 0)
			(void)snprintf(user, cap, "%s", v);
		else if (strcmp(p, "DynamicUser") == 0)
			*dynamic = strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
				   strcmp(v, "on") == 0 || strcmp(v, "1") == 0;
	}
	(void)fclose(f);
	return true;
}

/* A unit's user, from its file and drop-ins ($VOXGUARD_UNIT_PATH, a
 * colon-separated list, replaces the systemd directories: for tests and
 * for sealing against a firmware root on a build host). */
static int unit_uid(const char *unit, uint32_t *uid)
{
	const char *dirs[8];
	size_t nd = 0;
	char user[256] = "", path[PATH_MAX], *env = getenv("VOXGUARD_UNIT_PATH"), *copy = NULL;
	bool dynamic = false, found = false;
	struct passwd *pw;

	if (env && *env) {
		copy = strdup(env);
		if (!copy)
			return cli_fail("out of memory");
		for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && nd < 8;
		     d = strtok_r(NULL, ":", &save))
			dirs[nd++] = d;
	} else {
		for (size_t i = 0; i < VG_ARRAY_LEN(unit_dirs); i++)
			dirs[nd++] = unit_dirs[i];
	}
	/* The unit file: the first directory that has it. */
	for (size_t i = 0; i < nd && !found; i++) {
		(void)snprintf(path, sizeof path, "%s/%s", dirs[i], unit);
		found = scan_unit(path, user, sizeof user, &dynamic);
	}
	/* Drop-ins: every directory's UNIT.d/NAME.conf, least binding first. */
	for (size_t i = nd; found && i-- > 0;) {
		struct dirent **ents = NULL;
		char d[PATH_MAX / 2];
		int n;
		(void)snprintf(d, sizeof d, "%s/%s.d", dirs[i], unit);
		n = scandir(d, &ents, NULL, alphasort);
		for (int k = 0; k < n; k++) {
			size_t l = strlen(ents[k]->d_name);
			if (l > 5 && strcmp(ents[k]->d_name + l - 5, ".conf") == 0) {
				(void)snprintf(path, sizeof path, "%s/%s", d, ents[k]->d_name);
				(void)scan_unit(path, user, sizeof user, &dynamic);
			}
			free(ents[k]);
		}
		free(ents);
	}
	free(copy);
	if (!found)
		return cli_fail("config seal: --for %s: no such unit file (looked in the systemd "
				"unit directories)",
				unit);
	if (dynamic)
		return cli_fail("config seal: --for %s: the unit has DynamicUser=yes, so no "
				"stable uid to seal for; give it a User= of its own",
				unit);
	if (!user[0] || strcmp(user, "root") == 0 || strcmp(user, "0") == 0)
		return cli_fail("config seal: --for %s: the unit runs as root; give it a User= of "
				"its own (docs/HARDENING.md)",
				unit);
	if (user[0] >= '0' && user[0] <= '9') {
		char *end;
		unsigned long long v;
		errno = 0;
		v = strtoull(user, &end, 10);
		if (*end || errno || v >= UINT32_MAX)
			return cli_fail("config seal: --for %s: User=%s is not a uid", unit, user);
		*uid = (uint32_t)v;
		return 0;
	}
	if (!(pw = getpwnam(user)))
		return cli_fail("config seal: --for %s: its User=%s does not exist on this "
				"system",
				unit, user);
	*uid = (uint32_t)pw->pw_uid;
	return 0;
}

/* --for: a uid, a user name, or a systemd service (its User=). */
static int resolve_for(const char *v, uint32_t *uid)
{
	struct passwd *pw;

	if (*v >= '0' && *v <= '9') {
		char *end;
		unsigned long long n;
		errno = 0;
		n = strtoull(v, &end, 10);
		if (*end || errno || n >= UINT32_MAX)
			return cli_fail("config: --for %s: not a uid", v);
		*uid = (uint32_t)n;
		return 0;
	}
	if (strchr(v, '.')) {
		if (!unit_name_ok(v))
			return cli_fail("config: --for %s: a uid, a user name or a systemd "
					"service name (NAME.service)",
					v);
		return unit_uid(v, uid);
	}
	if (!(pw = getpwnam(v)))
		return cli_fail("config: --for %s: no such user", v);
	*uid = (uint32_t)pw->pw_uid;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int cfg_seal(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "for=,name=";
	struct cli_opts o;
	const char *file, *name, *forv;
	vg_client *c = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	uint32_t uid = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	file = o.pos[0];
	forv = cli_opt(&o, spec, "for");
	name = cli_opt(&o, spec, "name");
	if (!name)
		name = base_name(file);
	if (!forv)
		return cli_fail("config seal: --for UNIT_OR_UID is missing (usage: voxguard "
				"config seal FILE --for UNIT_OR_UID [--name NAME])");
	if ((e = resolve_for(forv, &uid)))
		return e;
	rc = cli_read(file, VG_CONFIG_MAX_LEN, &val, &len);
	if (rc != VG_OK)
		return cli_fail("config seal: cannot read %s: %s%s", file, vg_rc_str(rc),
				rc == VG_ERR_TOO_LARGE ? " (1 MiB at most)" : "");
	if (len == 0) {
		vg_free(val, len);
		return cli_fail("config seal: %s is empty", file);
	}
	if (!(e = cli_connect(cli, &c))) {
		rc = vg_config_seal(c, name, uid, val, len);
		if (rc != VG_OK)
			e = cli_fail_rc(c, "config seal", rc);
		else
			(void)printf("sealed %s for uid %u (%zu bytes)\n", name, uid, len);
	}
	vg_free(val, len);
	vg_client_close(&c);
	return e;
}

static int cfg_remove(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "for=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint32_t uid = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	if (!cli_opt(&o, spec, "for"))
		return cli_fail("config remove: --for UNIT_OR_UID is missing");
	if ((e = resolve_for(cli_opt(&o, spec, "for"), &uid)) || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_config_remove(c, o.pos[0], uid);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "config remove", rc);
	else
		(void)printf("removed %s of uid %u\n", o.pos[0], uid);
	vg_client_close(&c);
	return e;
}

static int cfg_list(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_config_info *l = NULL;
	vg_client *c = NULL;
	size_t n = 0;
	static const char spec[] = "json";
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	bool json;
	json_t *arr = NULL;
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	json = cli_flag(&o, spec, "json");
	rc = vg_config_list(c, &l, &n);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "config list", rc);
	else if (json && !(arr = json_array()))
		e = cli_fail("config list: out of memory");
	for (size_t i = 0; !e && i < n; i++) {
		char hex[65];
		for (size_t k = 0; k < 32; k++)
			(void)snprintf(hex + 2 * k, 3, "%02x", l[i].sha256[k]);
		if (!json)
			(void)printf("%s uid=%u size=%llu sha256=%s\n", l[i].name, l[i].uid,
				     (unsigned long long)l[i].size, hex);
		else if (json_array_append_new(
			     arr, json_pack("{s:o,s:I,s:I,s:s}", "name", cli_json_str(l[i].name),
					    "uid", (json_int_t)l[i].uid, "size",
					    (json_int_t)l[i].size, "sha256", hex)) != 0)
			e = cli_fail("config list: out of memory");
	}
	if (!e && json)
		e = cli_print_json(json_pack("{s:O}", "configs", arr));
	json_decref(arr);
	free(l);
	vg_client_close(&c);
	return e;
}

static int cfg_get(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "out=";
	struct cli_opts o;
	vg_client *c = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e || (e = cli_connect(cli, &c)))
		return e;
	rc = vg_config_get(c, o.pos[0], &val, &len);
	if (rc == VG_OK)
		e = cli_write(cli_opt(&o, spec, "out"), val, len);
	else
		e = cli_fail_rc(c, "config get", rc);
	vg_config_free(val, len);
	vg_client_close(&c);
	return e;
}

static const char exec_usage[] = "config exec NAME -- PROGRAM [ARG...]";

/* Runs PROGRAM with the configuration in a sealed memfd: its path
 * (/proc/self/fd/N) replaces each "{}" argument and is in
 * $VOXGUARD_CONFIG, its number in $VOXGUARD_CONFIG_FD. */
static int cfg_exec(struct cli *cli, int argc, char **argv)
{
	char path[64], num[16];
	vg_client *c = NULL;
	int fd = -1, e, first;
	vg_rc rc;

	if (argc >= 1 && strcmp(argv[0], "--help") == 0) {
		(void)printf("usage: voxguard %s\n", exec_usage);
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "--") != 0)
		return cli_fail("usage: voxguard %s", exec_usage);
	first = 2;
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_config_memfd(c, argv[0], 1, &fd);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "config exec", rc);
		vg_client_close(&c);
		return e;
	}
	vg_client_close(&c);
	(void)snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	(void)snprintf(num, sizeof num, "%d", fd);
	for (int i = first; i < argc; i++)
		if (strcmp(argv[i], "{}") == 0)
			argv[i] = path;
	if (setenv("VOXGUARD_CONFIG", path, 1) != 0 || setenv("VOXGUARD_CONFIG_FD", num, 1) != 0)
		return cli_fail("config exec: out of memory");
	(void)fflush(NULL);
	execvp(argv[first], &argv[first]);
	e = errno;
	(void)close(fd);
	return cli_fail("config exec: cannot run %s: %s", argv[first], strerror(e));
}

static const struct cli_cmd config_cmds[] = {
    {"seal", cfg_seal,
     "FILE --for UNIT_OR_UID [--name NAME]: seal a configuration for one application "
     "(admin)"},
    {"remove", cfg_remove, "NAME --for UNIT_OR_UID (admin)"},
    {"list", cfg_list, "[--json]: the sealed configurations you may read (an admin: all)"},
    {"get", cfg_get, "NAME [--out F]: your configuration NAME (stdout by default)"},
    {"exec", cfg_exec,
     "NAME -- PROGRAM [ARG...]: run PROGRAM with your configuration NAME in a sealed memfd "
     "({} and $VOXGUARD_CONFIG: its path)"},
};

int cmd_config(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "config", config_cmds, VG_ARRAY_LEN(config_cmds), argc, argv);
}
