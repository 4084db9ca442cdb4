/*
 * check_accounts.c - `voxguard doctor` check "accounts" (AVS 1.2: no
 * default passwords): accounts that log in with no password or with a
 * well-known default one, password hashes others can read.
 *
 * A default password is found the only way a hash allows: crypt(3)
 * (libxcrypt: yescrypt, SHA-crypt, bcrypt, ...) of each candidate with
 * the account's hash as setting, compared in constant time. The
 * candidates are public defaults, not secrets; the crypt state is wiped
 * anyway.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "posture/doctor_int.h"

static const char *const defaults[] = {"root",     "admin", "password",  "1234",    "12345",
				       "123456",   "alexa", "raspberry", "toor",    "default",
				       "changeme", "pass",  "guest",     "user",    "echo",
				       "amazon",   "0000",  "admin123",  "letmein", NULL};

#define MAX_ACCOUNTS 4096u

static bool locked(const char *h)
{
	return h[0] == '!' || h[0] == '*';
}

/* What testing hashes against the default list may cost: an image's
 * shadow file is outside input, and one hash can ask for 10^9 rounds. */
struct crypt_budget {
	double left_s;   /* time left for crypt() in this run */
	size_t untested; /* hashes not tried: too costly, or time ran out */
};

static const char b64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int b64_index(char ch)
{
	const char *p = ch ? strchr(b64, ch) : NULL;
	return p ? (int)(p - b64) : -1;
}

/* The hash's cost is one a device uses and crypt() pays in well under a
 * second: DES and MD5 (fixed), SHA-crypt up to 100000 rounds, bcrypt up
 * to cost 12, yescrypt up to N = 2^16 with r <= 32 (Debian's default is
 * 2^12, r = 32). Anything else is not tried. */
static bool cost_bounded(const char *h)
{
	if (h[0] != '$')
		return strlen(h) == 13; /* traditional DES */
	if (strncmp(h, "$1$", 3) == 0)
		return true;
	if (strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0) {
		char *end;
		unsigned long r;
		if (strncmp(h + 3, "rounds=", 7) != 0)
			return true; /* the default 5000 */
		errno = 0;
		r = strtoul(h + 10, &end, 10);
		return errno == 0 && end != h + 10 && *end == '$' && r <= 100000;
	}
	if (h[0] == '$' && h[1] == '2' && h[2] && h[3] == '$') {
		return h[4] >= '0' && h[4] <= '9' && h[5] >= '0' && h[5] <= '9' && h[6] == '$' &&
		       (h[4] - '0') * 10 + (h[5] - '0') <= 12;
	}
	if (strncmp(h, "$y$", 3) == 0) {
		/* flags, N as log2(N) - 1, r - 1: one character each */
		int n = b64_index(h[4]), r = b64_index(h[5]);
		return h[3] && n >= 0 && r >= 0 && h[6] == '$' && n + 1 <= 16 && r + 1 <= 32;
	}
	return false;
}

static double now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The default password hash matches, or NULL (also when the hash was not
 * tried: counted in b->untested). */
static const char *default_password(const char *user, const char *hash, struct crypt_budget *b)
{
	struct crypt_data *cd;
	const char *hit = NULL;
	size_t hl = strlen(hash);
	double t0;

	if (b->left_s <= 0 || !cost_bounded(hash)) {
		b->untested++;
		return NULL;
	}
	cd = calloc(1, sizeof *cd);
	if (!cd)
		return NULL;
	t0 = now_s();
	for (size_t i = 0; !hit; i++) {
		/* the list, then the user name itself */
		const char *cand = defaults[i] ? defaults[i] : user;
		const char *out = crypt_rn(cand, hash, cd, (int)sizeof *cd);

		if (out && out[0] != '*' && strlen(out) == hl && CRYPTO_memcmp(out, hash, hl) == 0)
			hit = defaults[i] ? defaults[i] : "(the user name)";
		if (!defaults[i])
			break;
		if (now_s() - t0 >= b->left_s) {
			b->untested++; /* the rest of the list untried */
			break;
		}
	}
	b->left_s -= now_s() - t0;
	vg_wipe(cd, sizeof *cd);
	free(cd);
	return hit;
}

static void untested(vg_doc_ctx *c, const struct crypt_budget *b)
{
	if (!b->untested)
		return;
	vg_doc_add(c, VG_DOC_ACCOUNTS, VG_SEV_INFO, "accounts.untested", "/etc/shadow",
		   "%zu password hash(es) not tested against the default passwords (a cost "
		   "beyond what a device uses, or the time budget of the check ran out)",
		   b->untested);
	vg_doc_fix(c, "lock accounts no one logs in to (passwd -l USER)");
}

void vg_doc_check_accounts(vg_doc_ctx *c)
{
	char *pw = NULL, *sh = NULL, *save = NULL;
	size_t len, n = 0;
	struct stat st;
	struct crypt_budget b = {
	    .left_s = (c->o->crypt_budget_ms ? c->o->crypt_budget_ms : 20000u) / 1000.0};
	vg_rc rc;

	rc = vg_doc_read(c, "etc/passwd", VG_DOC_MAX_FILE, &pw, &len);
	if (rc != VG_OK) {
		vg_doc_state_set(
		    c, VG_DOC_ACCOUNTS, rc == VG_ERR_NOT_FOUND ? VG_DOC_SKIPPED : VG_DOC_ERROR,
		    "/etc/passwd: %s", rc == VG_ERR_NOT_FOUND ? "absent" : vg_rc_str(rc));
		return;
	}
	for (char *l = strtok_r(pw, "\n", &save); l && n < MAX_ACCOUNTS;
	     l = strtok_r(NULL, "\n", &save), n++) {
		char *f[7] = {0}, *p = l;
		size_t k = 0;

		if (*l == '#' || *l == '+' || *l == '-')
			continue;
		while (k < 7) {
			f[k++] = p;
			p = strchr(p, ':');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (k < 4)
			continue;
		if (strcmp(f[2], "0") == 0 && strcmp(f[0], "root") != 0) {
			vg_doc_add(c, VG_DOC_ACCOUNTS, VG_SEV_HIGH, "accounts.uid0", "/etc/passwd",
				   "account '%s' has uid 0 (a second root)", f[0]);
			vg_doc_fix(c, "remove the account or give it an unprivileged uid");
		}
		if (f[1][0] == '\0') {
			vg_doc_add(c, VG_DOC_ACCOUNTS, VG_SEV_HIGH, "accounts.no-password",
				   "/etc/passwd",
				   "account '%s' has an empty password field: it logs in without a "
				   "password",
				   f[0]);
			vg_doc_fix(c, "put 'x' in the field (password in /etc/shadow) and lock it: "
				      "passwd -l USER");
		} else if (strcmp(f[1], "x") != 0 && !locked(f[1])) {
			const char *d = default_password(f[0], f[1], &b);
			vg_doc_add(c, VG_DOC_ACCOUNTS, VG_SEV_HIGH, "accounts.passwd-hash",
				   "/etc/passwd",
				   "account '%s' keeps its password hash in the world-readable "
				   "/etc/passwd%s%s",
				   f[0], d ? "; it is the default password " : "", d ? d : "");
			vg_doc_fix(c, "move it to /etc/shadow (pwconv) and set a per-device "
				      "password or lock the account");
		}
	}
	free(pw);

	if (vg_doc_exists(c, "etc/shadow", &st) && (st.st_mode & 0004)) {
		vg_doc_add(c, VG_DOC_ACCOUNTS, VG_SEV_HIGH, "accounts.shadow-readable",
			   "/etc/shadow", "/etc/shadow is readable by every user (mode %04o)",
			   (unsigned)(st.st_mode & 07777));
		vg_doc_fix(c, "chmod 0640 /etc/shadow (owner root, group shadow)");
	}
	rc = vg_doc_read(c, "etc/shadow", VG_DOC_MAX_FILE, &sh, &len);
	if (rc == VG_ERR_NOT_FOUND) {
		untested(c, &b);
		vg_doc_state_set(c, VG_DOC_ACCOUNTS, VG_DOC_RAN, "no /etc/shadow");
		return;
	}
	if (rc != VG_OK) {
		vg_doc_state_set(c, VG_DOC_ACCOUNTS, VG_DOC_ERROR, "/etc/shadow: %s (run as root)",
				 vg_rc_str(rc));
		return;
	}
	save = NULL;
	n = 0;
	for (char *l = strtok_r(sh, "\n", &save); l && n < MAX_ACCOUNTS;
	     l = strtok_r(NULL, "\n", &save), n++) {
		char *colon = strchr(l, ':'), *hash, *end;
		const char *d;

		if (!colon)
			continue;
		*colon = '\0';
		hash = colon + 1;
		end = strchr(hash, ':');
		if (end)
			*end = '\0';
		if (hash[0] == '\0') {
			vg_doc_add(c, VG_DOC_ACCOUNTS, VG_SEV_HIGH, "accounts.empty-password",
				   "/etc/shadow", "account '%s' has an empty password", l);
			vg_doc_fix(c, "lock the account (passwd -l USER) or give it a per-device "
				      "password");
			continue;
		}
		if (locked(hash))
			continue;
		d = default_password(l, hash, &b);
		if (d) {
			vg_doc_add(c, VG_DOC_ACCOUNTS, VG_SEV_HIGH, "accounts.default-password",
				   "/etc/shadow", "account '%s' has a default password (%s)", l, d);
			vg_doc_fix(c, "lock the account (passwd -l USER) or set a per-device "
				      "password at provisioning");
		}
	}
	vg_wipe(sh, len);
	free(sh);
	untested(c, &b);
}
