/*
 * check_config.c - `voxguard doctor` checks "ssh" (AVS 1.2: no password
 * logins), "sysctl" (kernel hardening) and "coredump" (no core files of
 * processes that held secrets).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "posture/doctor_int.h"

/* ------------------------------------------------------------------ */
/* ssh                                                                  */

enum { SSH_PASSWORD, SSH_KBD, SSH_ROOT, SSH_EMPTY, SSH_PAM, SSH_N };
static const char *const ssh_keys[SSH_N] = {"passwordauthentication",
					    "kbdinteractiveauthentication", "permitrootlogin",
					    "permitemptypasswords", "usepam"};

/* Files sshd_config may pull in through Include, in all: an image's files
 * are outside input, and files that include each other would otherwise
 * be read N^depth times. */
#define SSH_MAX_FILES 256u

struct sshconf {
	char val[SSH_N][32];
	char where[SSH_N][VG_DOC_MAX_PATH];
	bool in_match;
	unsigned files;  /* read so far */
	bool too_many;   /* SSH_MAX_FILES reached: the rest not read */
};

static void ssh_file(vg_doc_ctx *c, const char *rel, struct sshconf *s, int depth);

/* Include: patterns relative to /etc/ssh, globbed in the last component. */
static void ssh_include(vg_doc_ctx *c, const char *pat, struct sshconf *s, int depth)
{
	char full[VG_DOC_MAX_PATH], dir[VG_DOC_MAX_PATH], **names;
	const char *slash;
	size_t n;

	if (pat[0] == '/')
		(void)snprintf(full, sizeof full, "%s", pat + 1);
	else
		(void)snprintf(full, sizeof full, "etc/ssh/%s", pat);
	slash = strrchr(full, '/');
	if (!slash)
		return;
	(void)snprintf(dir, sizeof dir, "%.*s", (int)(slash - full), full);
	if (!strpbrk(slash + 1, "*?[")) {
		ssh_file(c, full, s, depth + 1);
		return;
	}
	vg_doc_list(c, dir, &names, &n);
	for (size_t i = 0; i < n; i++)
		if (fnmatch(slash + 1, names[i], FNM_PERIOD) == 0) {
			char rel[2 * VG_DOC_MAX_PATH + 2];
			(void)snprintf(rel, sizeof rel, "%s/%s", dir, names[i]);
			ssh_file(c, rel, s, depth + 1);
		}
	vg_doc_names_free(names, n);
}

static void ssh_file(vg_doc_ctx *c, const char *rel, struct sshconf *s, int depth)
{
	char *buf, *save = NULL;
	size_t len;

	if (depth > 8)
		return;
	if (s->files >= SSH_MAX_FILES) {
		s->too_many = true;
		return;
	}
	s->files++;
	if (vg_doc_read(c, rel, VG_DOC_MAX_FILE, &buf, &len) != VG_OK)
		return;
	for (char *l = strtok_r(buf, "\n", &save); l && !s->in_match && !s->too_many;
	     l = strtok_r(NULL, "\n", &save)) {
		char *k = vg_doc_trim(l), *v;
		size_t kl;

		if (!*k || *k == '#')
			continue;
		kl = strcspn(k, " \t=");
		v = k + kl;
		v += strspn(v, " \t");
		if (*v == '=')
			v++;
		v += strspn(v, " \t");
		v[strcspn(v, " \t#")] = '\0';
		k[kl] = '\0';
		if (strcasecmp(k, "Match") == 0) {
			/* what follows is conditional: the global values are
			 * the ones before it */
			s->in_match = true;
			break;
		}
		if (strcasecmp(k, "Include") == 0) {
			ssh_include(c, v, s, depth);
			continue;
		}
		if (strcasecmp(k, "ChallengeResponseAuthentication") == 0)
			k = "kbdinteractiveauthentication";
		for (int i = 0; i < SSH_N; i++)
			if (strcasecmp(k, ssh_keys[i]) == 0 && !s->val[i][0]) {
				/* sshd: the first value obtained wins */
				(void)snprintf(s->val[i], sizeof s->val[i], "%s", v);
				(void)snprintf(s->where[i], sizeof s->where[i], "/%s", rel);
			}
	}
	free(buf);
}

void vg_doc_check_ssh(vg_doc_ctx *c)
{
	struct sshconf *s;
	static const char *const deflt[SSH_N] = {"yes", "yes", "prohibit-password", "no", "no"};
	bool conf;

	if (!vg_doc_exists(c, "usr/sbin/sshd", NULL) && !vg_doc_exists(c, "sbin/sshd", NULL)) {
		vg_doc_state_set(c, VG_DOC_SSH, VG_DOC_SKIPPED, "sshd is not installed");
		return;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		vg_doc_state_set(c, VG_DOC_SSH, VG_DOC_ERROR, "out of memory");
		return;
	}
	conf = vg_doc_exists(c, "etc/ssh/sshd_config", NULL);
	ssh_file(c, "etc/ssh/sshd_config", s, 0);
	for (int i = 0; i < SSH_N; i++)
		if (!s->val[i][0]) {
			(void)snprintf(s->val[i], sizeof s->val[i], "%s", deflt[i]);
			(void)snprintf(s->where[i], sizeof s->where[i], "%s",
				       conf ? "/etc/ssh/sshd_config"
					    : "/etc/ssh/sshd_config (absent)");
		}
	if (strcasecmp(s->val[SSH_PASSWORD], "no") != 0) {
		vg_doc_add(c, VG_DOC_SSH, VG_SEV_MEDIUM, "ssh.password-auth",
			   s->where[SSH_PASSWORD],
			   "sshd accepts password logins (PasswordAuthentication %s)",
			   s->val[SSH_PASSWORD]);
		vg_doc_fix(c, "PasswordAuthentication no (keys only), or remove sshd from the "
			      "product image");
	}
	if (strcasecmp(s->val[SSH_KBD], "no") != 0 && strcasecmp(s->val[SSH_PAM], "yes") == 0) {
		vg_doc_add(c, VG_DOC_SSH, VG_SEV_MEDIUM, "ssh.kbd-interactive", s->where[SSH_KBD],
			   "sshd accepts passwords through PAM (KbdInteractiveAuthentication %s, "
			   "UsePAM yes)",
			   s->val[SSH_KBD]);
		vg_doc_fix(c, "KbdInteractiveAuthentication no");
	}
	if (strcasecmp(s->val[SSH_ROOT], "yes") == 0) {
		vg_doc_add(c, VG_DOC_SSH, VG_SEV_HIGH, "ssh.root-login", s->where[SSH_ROOT],
			   "sshd lets root log in with a password (PermitRootLogin yes)");
		vg_doc_fix(c, "PermitRootLogin no (or prohibit-password)");
	}
	if (strcasecmp(s->val[SSH_EMPTY], "yes") == 0) {
		vg_doc_add(c, VG_DOC_SSH, VG_SEV_HIGH, "ssh.empty-passwords", s->where[SSH_EMPTY],
			   "sshd lets accounts with an empty password log in (PermitEmptyPasswords "
			   "yes)");
		vg_doc_fix(c, "PermitEmptyPasswords no");
	}
	if (s->too_many) {
		vg_doc_add(c, VG_DOC_SSH, VG_SEV_LOW, "ssh.include-loop", "/etc/ssh/sshd_config",
			   "sshd_config's Include lines pull in more than %u files (files that "
			   "include each other?): the rest was not read",
			   SSH_MAX_FILES);
		vg_doc_fix(c, "remove the Include loop (sshd itself refuses one)");
	}
	if (s->in_match)
		vg_doc_state_set(c, VG_DOC_SSH, VG_DOC_RAN,
				 "Match blocks not evaluated: check them by hand");
	free(s);
}

/* ------------------------------------------------------------------ */
/* sysctl                                                               */

static const struct {
	const char *key;
	long min, max; /* the value must lie in [min, max] */
	vg_doc_sev sev;
	const char *kconfig; /* the CONFIG_ that makes the default safe, or NULL */
	const char *want;
} sysctls[] = {
    {"kernel.kptr_restrict", 1, 2, VG_SEV_MEDIUM, NULL, "1 (or 2)"},
    {"kernel.dmesg_restrict", 1, 1, VG_SEV_MEDIUM, "CONFIG_SECURITY_DMESG_RESTRICT", "1"},
    {"kernel.yama.ptrace_scope", 1, 3, VG_SEV_MEDIUM, NULL, "1 or more"},
    {"kernel.unprivileged_bpf_disabled", 1, 2, VG_SEV_MEDIUM, "CONFIG_BPF_UNPRIV_DEFAULT_OFF",
     "1 or 2"},
    {"fs.protected_symlinks", 1, 1, VG_SEV_MEDIUM, NULL, "1"},
    {"fs.protected_hardlinks", 1, 1, VG_SEV_MEDIUM, NULL, "1"},
    {"fs.protected_fifos", 1, 2, VG_SEV_LOW, NULL, "1 or 2"},
    {"fs.protected_regular", 1, 2, VG_SEV_LOW, NULL, "1 or 2"},
    {"fs.suid_dumpable", 0, 0, VG_SEV_MEDIUM, NULL, "0"},
    {"kernel.kexec_load_disabled", 1, 1, VG_SEV_LOW, NULL, "1"},
};

static bool in_range(const char *v, long min, long max)
{
	char *end;
	long x = strtol(v, &end, 10);

	return end != v && *vg_doc_trim(end) == '\0' && x >= min && x <= max;
}

void vg_doc_check_sysctl(vg_doc_ctx *c)
{
	char v[256], kc[32];
	bool signing = false, mod_off = false;

	for (size_t i = 0; i < VG_ARRAY_LEN(sysctls); i++) {
		const char *key = sysctls[i].key;
		bool have;

		if (c->offline) {
			have = vg_doc_sysctl_conf(c, key, v, sizeof v);
			if (!have && sysctls[i].kconfig &&
			    vg_doc_kconfig(c, sysctls[i].kconfig, kc, sizeof kc) &&
			    strcmp(kc, "y") == 0)
				continue; /* the kernel's default is safe */
			if (!have) {
				vg_doc_add(c, VG_DOC_SYSCTL, sysctls[i].sev, "sysctl.unset", key,
					   "%s is not set in the image (the kernel's default "
					   "applies); it should be %s",
					   key, sysctls[i].want);
				vg_doc_fix(c, "set it in /etc/sysctl.d/ (e.g. 90-hardening.conf)");
				continue;
			}
		} else {
			have = vg_doc_sysctl_proc(c, key, v, sizeof v);
			if (!have) {
				if (strcmp(key, "kernel.yama.ptrace_scope") == 0) {
					vg_doc_add(c, VG_DOC_SYSCTL, VG_SEV_LOW, "sysctl.no-yama",
						   key,
						   "the kernel has no Yama LSM: any process may "
						   "ptrace its user's other processes");
					vg_doc_fix(c, "build the kernel with CONFIG_SECURITY_YAMA");
				}
				continue; /* not in this kernel (kexec, ...) */
			}
		}
		if (!in_range(v, sysctls[i].min, sysctls[i].max)) {
			vg_doc_add(c, VG_DOC_SYSCTL, sysctls[i].sev, "sysctl.weak", key,
				   "%s = %s; it should be %s", key, v, sysctls[i].want);
			vg_doc_fix(c, "set it in /etc/sysctl.d/ (e.g. 90-hardening.conf)");
		}
	}
	/* kernel modules: none loadable after boot, or only signed ones */
	if (c->offline) {
		mod_off = vg_doc_sysctl_conf(c, "kernel.modules_disabled", v, sizeof v) &&
			  in_range(v, 1, 1);
		signing = vg_doc_kconfig(c, "CONFIG_MODULE_SIG_FORCE", kc, sizeof kc) &&
			  strcmp(kc, "y") == 0;
	} else {
		char *b;
		size_t l;
		mod_off = vg_doc_sysctl_proc(c, "kernel.modules_disabled", v, sizeof v) &&
			  in_range(v, 1, 1);
		if (vg_doc_read(c, "sys/module/module/parameters/sig_enforce", 64, &b, &l) ==
		    VG_OK) {
			signing = b[0] == 'Y';
			free(b);
		}
		/* a kernel without modules at all */
		if (!vg_doc_exists(c, "proc/modules", NULL))
			mod_off = true;
	}
	if (!mod_off && !signing) {
		vg_doc_add(
		    c, VG_DOC_SYSCTL, VG_SEV_MEDIUM, "sysctl.modules", "kernel.modules_disabled",
		    "unsigned kernel modules can be loaded (kernel.modules_disabled is not 1 "
		    "and module signatures are not enforced)");
		vg_doc_fix(c, "module.sig_enforce=1 on the kernel command line "
			      "(CONFIG_MODULE_SIG_FORCE), or kernel.modules_disabled = 1 once the "
			      "modules are loaded");
	}
}

/* ------------------------------------------------------------------ */
/* coredump                                                             */

struct kv {
	const char *key;
	char val[256];
};

static void kv_apply(char *text, struct kv *kv, size_t n)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *k = vg_doc_trim(l), *eq;
		if (!*k || *k == '#' || *k == ';' || *k == '[' || !(eq = strchr(k, '=')))
			continue;
		*eq = '\0';
		k = vg_doc_trim(k);
		for (size_t i = 0; i < n; i++)
			if (strcmp(k, kv[i].key) == 0)
				(void)snprintf(kv[i].val, sizeof kv[i].val, "%s",
					       vg_doc_trim(eq + 1));
	}
}

/* A systemd configuration file and its drop-ins (etc, usr/lib, lib). */
static void systemd_conf(vg_doc_ctx *c, const char *name, struct kv *kv, size_t n)
{
	static const char *const dirs[] = {"usr/lib/systemd", "lib/systemd", "etc/systemd"};
	char rel[VG_DOC_MAX_PATH], *buf;
	size_t len;

	(void)snprintf(rel, sizeof rel, "etc/systemd/%s", name);
	if (vg_doc_read(c, rel, VG_DOC_MAX_FILE, &buf, &len) == VG_OK) {
		kv_apply(buf, kv, n);
		free(buf);
	}
	for (size_t d = 0; d < VG_ARRAY_LEN(dirs); d++) {
		char **names;
		size_t nn;

		(void)snprintf(rel, sizeof rel, "%s/%s.d", dirs[d], name);
		vg_doc_list(c, rel, &names, &nn);
		for (size_t i = 0; i < nn; i++) {
			char f[2 * VG_DOC_MAX_PATH + 2];
			(void)snprintf(f, sizeof f, "%s/%s", rel, names[i]);
			if (vg_doc_read(c, f, VG_DOC_MAX_FILE, &buf, &len) == VG_OK) {
				kv_apply(buf, kv, n);
				free(buf);
			}
		}
		vg_doc_names_free(names, nn);
	}
}

/* limits.conf and limits.d: a hard core limit of 0 for everyone. */
static bool limits_core_zero(vg_doc_ctx *c)
{
	char *buf, **names, *save = NULL;
	size_t len, n;
	bool zero = false;
	char *files[64];
	size_t nf = 0;

	if (asprintf(&files[nf], "etc/security/limits.conf") >= 0)
		nf++;
	vg_doc_list(c, "etc/security/limits.d", &names, &n);
	for (size_t i = 0; i < n && nf < VG_ARRAY_LEN(files); i++)
		if (asprintf(&files[nf], "etc/security/limits.d/%s", names[i]) >= 0)
			nf++;
	vg_doc_names_free(names, n);
	for (size_t f = 0; f < nf; f++) {
		if (vg_doc_read(c, files[f], VG_DOC_MAX_FILE, &buf, &len) == VG_OK) {
			for (char *l = strtok_r(buf, "\n", &save); l;
			     l = strtok_r(NULL, "\n", &save)) {
				char dom[64], type[16], item[16], val[32];
				if (sscanf(l, " %63s %15s %15s %31s", dom, type, item, val) != 4 ||
				    dom[0] == '#')
					continue;
				if (strcmp(dom, "*") == 0 && strcmp(item, "core") == 0 &&
				    (strcmp(type, "hard") == 0 || strcmp(type, "-") == 0))
					zero = strcmp(val, "0") == 0;
			}
			free(buf);
		}
		free(files[f]);
	}
	return zero;
}

void vg_doc_check_coredump(vg_doc_ctx *c)
{
	char pat[256];
	bool have;

	if (c->offline)
		have = vg_doc_sysctl_conf(c, "kernel.core_pattern", pat, sizeof pat);
	else
		have = vg_doc_sysctl_proc(c, "kernel.core_pattern", pat, sizeof pat);
	if (!have)
		(void)snprintf(pat, sizeof pat, "core");
	if (pat[0] == '|') {
		char handler[256], *base;
		(void)snprintf(handler, sizeof handler, "%s", vg_doc_trim(pat + 1));
		handler[strcspn(handler, " \t")] = '\0';
		base = strrchr(handler, '/');
		base = base ? base + 1 : handler;
		if (strcmp(base, "false") == 0 || strcmp(base, "true") == 0) {
			vg_doc_state_set(c, VG_DOC_COREDUMP, VG_DOC_RAN,
					 "core dumps are discarded (%s)", handler);
			return;
		}
		if (strcmp(base, "systemd-coredump") == 0) {
			struct kv kv[] = {{"Storage", "external"}, {"ProcessSizeMax", "1G"}};
			systemd_conf(c, "coredump.conf", kv, VG_ARRAY_LEN(kv));
			if (strcmp(kv[0].val, "none") != 0 && strcmp(kv[1].val, "0") != 0) {
				vg_doc_add(c, VG_DOC_COREDUMP, VG_SEV_MEDIUM, "coredump.stored",
					   "/etc/systemd/coredump.conf",
					   "systemd-coredump keeps core dumps (Storage=%s): a "
					   "crashed process's secrets end up on disk",
					   kv[0].val);
				vg_doc_fix(c, "Storage=none and ProcessSizeMax=0 in "
					      "/etc/systemd/coredump.conf.d/");
			}
			return;
		}
		vg_doc_add(c, VG_DOC_COREDUMP, VG_SEV_INFO, "coredump.handler",
			   "kernel.core_pattern", "core dumps are piped to %s: check what it keeps",
			   handler);
		vg_doc_fix(c, "make sure the handler stores no core dump on a product device");
		return;
	}
	{
		struct kv kv[] = {{"DefaultLimitCORE", ""}};
		bool lim = limits_core_zero(c);

		systemd_conf(c, "system.conf", kv, 1);
		if (!lim || (strcmp(kv[0].val, "0") != 0 && strcmp(kv[0].val, "0:0") != 0)) {
			vg_doc_add(c, VG_DOC_COREDUMP, VG_SEV_MEDIUM, "coredump.enabled",
				   "kernel.core_pattern",
				   "core dumps are written as files (kernel.core_pattern = %s) and "
				   "%s",
				   pat,
				   !lim ? "/etc/security/limits.conf has no '* hard core 0'"
					: "systemd's DefaultLimitCORE is not 0");
			vg_doc_fix(c, "kernel.core_pattern = |/bin/false (sysctl.d), or "
				      "'* hard core 0' in limits.conf and DefaultLimitCORE=0 in "
				      "system.conf");
		}
	}
}
