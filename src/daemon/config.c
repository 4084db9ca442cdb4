/* config.c - see config.h */
#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "rot/rot.h"
#include "storage/reserve.h"

#define MAX_FILE (64u * 1024u)
#define MAX_LINE 512u

void vg_config_defaults(vg_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->user, "voxguard");
	strcpy(c->rot, "file");
	c->socket_mode = 0660;
	c->max_clients = 256;
	c->event_loops = 1;
	c->io_timeout_ms = 5000;
	c->rot_sync_ms = 50;
	c->rot_timeout_ms = VG_ROT_TIMEOUT_MS_DEFAULT;
	c->audit_checkpoint_every = 256;
	c->audit_max_records = 0;
	c->audit_max_bytes = 16u * 1024u * 1024u;
	c->audit_rate_per_s = 20;
	c->audit_burst = 200;
	c->admin_session_s = 900;
	c->admin_pw_cost = 15;
	strcpy(c->bootloader, "file");
	c->boot_tries = 3;
	strcpy(c->boot_cmdline, "/proc/cmdline");
	strcpy(c->boot_id, "/proc/sys/kernel/random/boot_id");
	c->storage_reserve_bytes = VG_RESERVE_DEFAULT_BYTES;
	c->display_token_ttl_ms = 30000;
	c->display_tokens_per_uid = 4;
	c->display_tokens_max = 32;
}

static bool parse_u64(const char *v, uint64_t min, uint64_t max, int base, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-' || *v == '+' || isspace((unsigned char)*v))
		return false;
	errno = 0;
	x = strtoull(v, &end, base);
	if (errno || *end || x < min || x > max)
		return false;
	*out = x;
	return true;
}

static bool set_str(char *dst, size_t cap, const char *v, bool allow_empty)
{
	size_t n = strlen(v);

	if (n >= cap || (!allow_empty && n == 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)v[i]))
			return false;
	memcpy(dst, v, n + 1);
	return true;
}

/* ---- budget rules: budget.default.RES, budget.uid.UID.RES, budget.group.NAME.RES ---- */

static const struct {
	const char *name;
	uint64_t min, max;
} budget_res[VG_BUDGET_N_RES] = {
    [VG_BUDGET_CONNS] = {"conns", 1, 4096},
    [VG_BUDGET_INFLIGHT_BYTES] = {"inflight_bytes", 1024, UINT64_C(1) << 30},
    [VG_BUDGET_IDLE_MS] = {"idle_ms", 100, 86400000},
    [VG_BUDGET_STORE_RECORDS] = {"store_records", 0, 1000000000},
    [VG_BUDGET_STORE_BYTES] = {"store_bytes", 0, UINT64_C(1) << 40},
    [VG_BUDGET_KEYS] = {"keys", 0, 1000000},
    [VG_BUDGET_HEAVY_OPS] = {"heavy_ops", 0, 1024},
    [VG_BUDGET_STORE_RATE] = {"store_write_rate", 1024, UINT64_C(1) << 34},
    [VG_BUDGET_REQUEST_RATE] = {"request_rate", 64 * 1024, UINT64_C(1) << 34},
};

const char *vg_config_budget_res_name(unsigned res)
{
	return res < VG_BUDGET_N_RES ? budget_res[res].name : NULL;
}

/* Decimal with an optional K, M or G suffix (binary multiples). */
static bool parse_size(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char num[32];
	size_t n = strlen(v);
	unsigned shift = 0;
	uint64_t x;

	if (n == 0 || n >= sizeof num)
		return false;
	memcpy(num, v, n + 1);
	switch (num[n - 1]) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift)
		num[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)num[i]))
			return false;
	if (!parse_u64(num, 0, UINT64_MAX >> shift, 10, &x))
		return false;
	x <<= shift;
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

static int budget_rule_cmp(const vg_budget_rule *a, const vg_budget_rule *b)
{
	int d;

	if (a->scope != b->scope)
		return a->scope < b->scope ? -1 : 1;
	if (a->uid != b->uid)
		return a->uid < b->uid ? -1 : 1;
	d = strcmp(a->group, b->group);
	if (d)
		return d;
	return a->res == b->res ? 0 : a->res < b->res ? -1 : 1;
}

/* k is "budget.SCOPE.RES"; the resource is after the last dot (a group
 * name may itself hold dots). */
static bool apply_budget(vg_config *c, const char *k, const char *v)
{
	vg_budget_rule r = {0};
	const char *scope = k + strlen("budget."), *dot = strrchr(k, '.');
	size_t slen;
	uint64_t x;
	uint32_t i;
	int d = 1;

	if (dot < scope)
		return false;
	slen = (size_t)(dot - scope);
	for (r.res = 0; r.res < VG_BUDGET_N_RES; r.res++)
		if (strcmp(dot + 1, budget_res[r.res].name) == 0)
			break;
	if (r.res == VG_BUDGET_N_RES)
		return false;
	if (slen == 7 && strncmp(scope, "default", 7) == 0) {
		r.scope = VG_BUDGET_SCOPE_DEFAULT;
	} else if (slen > 4 && strncmp(scope, "uid.", 4) == 0) {
		char num[16];
		if (slen - 4 >= sizeof num)
			return false;
		memcpy(num, scope + 4, slen - 4);
		num[slen - 4] = '\0';
		for (const char *p = num; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
		if (!parse_u64(num, 0, UINT32_MAX - 1, 10, &x))
			return false;
		r.scope = VG_BUDGET_SCOPE_UID;
		r.uid = (uint32_t)x;
	} else if (slen > 6 && strncmp(scope, "group.", 6) == 0) {
		if (slen - 6 >= sizeof r.group)
			return false;
		memcpy(r.group, scope + 6, slen - 6);
		r.group[slen - 6] = '\0';
		/* POSIX portable names: letters, digits, '.', '_', '-'. */
		for (const char *p = r.group; *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
				return false;
		r.scope = VG_BUDGET_SCOPE_GROUP;
	} else {
		return false;
	}
	if (!parse_size(v, budget_res[r.res].min, budget_res[r.res].max, &r.value))
		return false;
	/* Sorted insert; the same rule again replaces the value. */
	for (i = 0; i < c->n_budget; i++) {
		d = budget_rule_cmp(&c->budget[i], &r);
		if (d >= 0)
			break;
	}
	if (i < c->n_budget && d == 0) {
		c->budget[i].value = r.value;
		return true;
	}
	if (c->n_budget == VG_CFG_MAX_BUDGET_RULES)
		return false;
	memmove(&c->budget[i + 1], &c->budget[i], (c->n_budget - i) * sizeof c->budget[0]);
	c->budget[i] = r;
	c->n_budget++;
	return true;
}

static size_t format_budget(const vg_config *c, char *out, size_t cap)
{
	size_t len = 0;

	for (uint32_t i = 0; i < c->n_budget; i++) {
		const vg_budget_rule *r = &c->budget[i];
		char scope[VG_CFG_STR + 8];
		int n;

		if (r->scope == VG_BUDGET_SCOPE_UID)
			(void)snprintf(scope, sizeof scope, "uid.%u", r->uid);
		else if (r->scope == VG_BUDGET_SCOPE_GROUP)
			(void)snprintf(scope, sizeof scope, "group.%s", r->group);
		else
			strcpy(scope, "default");
		n = snprintf(out + len, cap - len, "budget.%s.%s = %llu\n", scope,
			     budget_res[r->res].name, (unsigned long long)r->value);
		if (n < 0 || (size_t)n >= cap - len)
			return 0;
		len += (size_t)n;
	}
	return len;
}

/* ---- end of budget rules ---- */

bool vg_cfg_uids_has(const vg_cfg_uids *l, uint32_t uid)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->uid[i] == uid)
			return true;
	return false;
}

/* "UID[,UID]..." (spaces allowed around commas), no repeats; "" is none. */
static bool parse_uids(const char *v, vg_cfg_uids *out)
{
	vg_cfg_uids l = {0};
	const char *p = v;

	while (*p) {
		char num[16];
		size_t n = 0;
		uint64_t x;

		while (*p == ' ')
			p++;
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n == 0 || n >= sizeof num || l.n == VG_CFG_MAX_DISPLAY_UIDS)
			return false;
		memcpy(num, p, n);
		num[n] = '\0';
		if (!parse_u64(num, 0, UINT32_MAX - 1, 10, &x) ||
		    vg_cfg_uids_has(&l, (uint32_t)x))
			return false;
		l.uid[l.n++] = (uint32_t)x;
		p += n;
		while (*p == ' ')
			p++;
		if (*p == ',') {
			p++;
			if (!*p)
				return false;
		} else if (*p) {
			return false;
		}
	}
	*out = l;
	return true;
}

static size_t format_uids(const char *key, const vg_cfg_uids *l, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s = ", key);
	size_t len;

	if (n < 0 || (size_t)n >= cap)
		return 0;
	len = (size_t)n;
	for (uint32_t i = 0; i < l->n; i++) {
		n = snprintf(out + len, cap - len, "%s%u", i ? "," : "", l->uid[i]);
		if (n < 0 || (size_t)n >= cap - len)
			return 0;
		len += (size_t)n;
	}
	if (len + 1 >= cap)
		return 0;
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

/* One PCR number at *p: decimal, no leading zero, below VG_ROT_PCRS. */
static bool pcr_number(const char **p, uint64_t min, uint64_t *out)
{
	char num[3];
	size_t n = strspn(*p, "0123456789");

	if (n == 0 || n >= sizeof num || (n > 1 && **p == '0'))
		return false;
	memcpy(num, *p, n);
	num[n] = '\0';
	*p += n;
	return parse_u64(num, min, VG_ROT_PCRS - 1, 10, out);
}

/* "0-9", "0,2,4,7,9", "0-7,9" or empty: PCR numbers below VG_ROT_PCRS,
 * each at most once. */
static bool parse_pcrs(const char *v, uint32_t *mask)
{
	uint32_t m = 0;
	const char *p = v;

	while (*p) {
		uint64_t a, b;

		if (!pcr_number(&p, 0, &a))
			return false;
		b = a;
		if (*p == '-') {
			p++;
			if (!pcr_number(&p, a, &b))
				return false;
		}
		for (uint64_t i = a; i <= b; i++) {
			if (m & (1u << i))
				return false;
			m |= 1u << i;
		}
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return false;
	}
	*mask = m;
	return true;
}

/* The inverse of parse_pcrs: single numbers, comma-separated. */
static void format_pcrs(uint32_t m, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < VG_ROT_PCRS; i++)
		if (m & (1u << i)) {
			int k = snprintf(out + len, cap - len, "%s%u", len ? "," : "", i);
			if (k < 0 || (size_t)k >= cap - len)
				return;
			len += (size_t)k;
		}
}

static bool apply(vg_config *c, const char *k, const char *v)
{
	uint64_t x;

	if (strncmp(k, "budget.", 7) == 0)
		return apply_budget(c, k, v);
	if (strcmp(k, "user") == 0)
		return set_str(c->user, sizeof c->user, v, true);
	if (strcmp(k, "admin_group") == 0)
		return set_str(c->admin_group, sizeof c->admin_group, v, true);
	if (strcmp(k, "identity_tls_group") == 0)
		return set_str(c->identity_tls_group, sizeof c->identity_tls_group, v, true);
	if (strcmp(k, "socket_group") == 0)
		return set_str(c->socket_group, sizeof c->socket_group, v, true);
	if (strcmp(k, "rot") == 0)
		return set_str(c->rot, sizeof c->rot, v, false);
	if (strcmp(k, "rot_param") == 0)
		return set_str(c->rot_param, sizeof c->rot_param, v, true);
	if (strcmp(k, "socket_mode") == 0) {
		/* Never world-accessible: the socket is the service's door. */
		if (!parse_u64(v, 0, 0770, 8, &x) || (x & 07))
			return false;
		c->socket_mode = (unsigned)x;
		return true;
	}
	if (strcmp(k, "max_clients") == 0 && parse_u64(v, 1, 4096, 10, &x)) {
		c->max_clients = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "event_loops") == 0 && parse_u64(v, 0, 16, 10, &x)) {
		c->event_loops = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "io_timeout_ms") == 0 && parse_u64(v, 10, 600000, 10, &x)) {
		c->io_timeout_ms = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "rot_sync_ms") == 0 && parse_u64(v, 0, 1000, 10, &x)) {
		c->rot_sync_ms = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "rot_timeout_ms") == 0 &&
	    parse_u64(v, VG_ROT_TIMEOUT_MS_MIN, VG_ROT_TIMEOUT_MS_MAX, 10, &x)) {
		c->rot_timeout_ms = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "attest_pcrs") == 0)
		return parse_pcrs(v, &c->attest_pcrs);
	if (strcmp(k, "audit_checkpoint_every") == 0 && parse_u64(v, 1, 1000000, 10, &x)) {
		c->audit_checkpoint_every = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "audit_max_records") == 0 &&
	    (parse_u64(v, 16, UINT64_C(1) << 40, 10, &x) || parse_u64(v, 0, 0, 10, &x))) {
		c->audit_max_records = x; /* 0: no bound on the count */
		return true;
	}
	if (strcmp(k, "audit_max_bytes") == 0 && parse_u64(v, 65536, UINT64_C(1) << 40, 10, &x)) {
		c->audit_max_bytes = x;
		return true;
	}
	if (strcmp(k, "audit_rate_per_s") == 0 && parse_u64(v, 1, 100000, 10, &x)) {
		c->audit_rate_per_s = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "audit_burst") == 0 && parse_u64(v, 1, 1000000, 10, &x)) {
		c->audit_burst = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "admin_session_s") == 0 && parse_u64(v, 5, 86400, 10, &x)) {
		c->admin_session_s = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "admin_pw_cost") == 0 && parse_u64(v, 10, 20, 10, &x)) {
		c->admin_pw_cost = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "reset_button") == 0)
		return set_str(c->reset_button, sizeof c->reset_button, v, true) &&
		       (!*v || *v == '/');
	if (strcmp(k, "manifest") == 0)
		return set_str(c->manifest, sizeof c->manifest, v, true) && (!*v || *v == '/');
	if (strcmp(k, "encrypted_dir") == 0)
		return set_str(c->encrypted_dir, sizeof c->encrypted_dir, v, true) &&
		       (!*v || (*v == '/' && v[1]));
	if (strcmp(k, "rot_policy_key") == 0)
		return set_str(c->rot_policy_key, sizeof c->rot_policy_key, v, true) &&
		       (!*v || *v == '/');
	if (strcmp(k, "rot_policy") == 0)
		return set_str(c->rot_policy, sizeof c->rot_policy, v, true) && (!*v || *v == '/');
	if (strcmp(k, "update_slots") == 0) {
		vg_slot_map m;
		return set_str(c->update_slots, sizeof c->update_slots, v, true) &&
		       (!*v || vg_config_slots(v, &m) == VG_OK);
	}
	if (strcmp(k, "bootloader") == 0)
		return (!strcmp(v, "file") || !strcmp(v, "uboot") || !strcmp(v, "grub")) &&
		       set_str(c->bootloader, sizeof c->bootloader, v, false);
	if (strcmp(k, "bootloader_param") == 0)
		return set_str(c->bootloader_param, sizeof c->bootloader_param, v, true) &&
		       (!*v || *v == '/');
	if (strcmp(k, "boot_tries") == 0 && parse_u64(v, 1, 9, 10, &x)) {
		c->boot_tries = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "boot_cmdline") == 0)
		return set_str(c->boot_cmdline, sizeof c->boot_cmdline, v, false) && *v == '/';
	if (strcmp(k, "boot_id") == 0)
		return set_str(c->boot_id, sizeof c->boot_id, v, false) && *v == '/';
	if (strcmp(k, "display_launcher_uids") == 0)
		return parse_uids(v, &c->display_launcher_uids);
	if (strcmp(k, "display_gateway_uids") == 0)
		return parse_uids(v, &c->display_gateway_uids);
	if (strcmp(k, "mic_uids") == 0)
		return parse_uids(v, &c->mic_uids);
	if (strcmp(k, "display_token_ttl_ms") == 0 && parse_u64(v, 100, 600000, 10, &x)) {
		c->display_token_ttl_ms = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "display_tokens_per_uid") == 0 && parse_u64(v, 1, 64, 10, &x)) {
		c->display_tokens_per_uid = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "display_tokens_max") == 0 && parse_u64(v, 1, 256, 10, &x)) {
		c->display_tokens_max = (uint32_t)x;
		return true;
	}
	/* The storage reserve: 0 (off) or 64 KiB .. 1 GiB. */
	if (strcmp(k, "storage_reserve_bytes") == 0 && parse_u64(v, 0, UINT64_C(1) << 30, 10, &x) &&
	    (x == 0 || x >= 65536)) {
		c->storage_reserve_bytes = x;
		return true;
	}
	return false;
}

vg_rc vg_config_slots(const char *v, vg_slot_map *out)
{
	char buf[512], *save = NULL;

	memset(out, 0, sizeof *out);
	if (strlen(v) >= sizeof buf)
		return VG_ERR_INVALID;
	strcpy(buf, v);
	for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *f[4], *s2 = NULL;
		size_t n = 0;
		for (char *t = strtok_r(item, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2)) {
			if (n == 4)
				return VG_ERR_INVALID;
			f[n++] = t;
		}
		if (n == 0)
			continue;
		if (n != 3 || out->n == VG_CFG_MAX_SLOTS || strlen(f[0]) >= sizeof out->e[0].image ||
		    !vg_name_valid(f[0], strlen(f[0])) || f[1][0] != '/' || f[2][0] != '/' ||
		    strlen(f[1]) >= sizeof out->e[0].path[0] ||
		    strlen(f[2]) >= sizeof out->e[0].path[0] || strcmp(f[1], f[2]) == 0)
			return VG_ERR_INVALID;
		for (size_t i = 0; i < out->n; i++)
			if (strcmp(out->e[i].image, f[0]) == 0)
				return VG_ERR_INVALID;
		strcpy(out->e[out->n].image, f[0]);
		strcpy(out->e[out->n].path[0], f[1]);
		strcpy(out->e[out->n].path[1], f[2]);
		out->n++;
	}
	return out->n ? VG_OK : VG_ERR_INVALID;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

vg_rc vg_config_parse(vg_config *c, const char *text, size_t len, char *err, size_t err_len)
{
	char line[MAX_LINE + 1];
	size_t pos = 0;
	unsigned lineno = 0;

	if (len > MAX_FILE) {
		if (err)
			(void)snprintf(err, err_len, "configuration larger than %u bytes",
				       MAX_FILE);
		return VG_ERR_TOO_LARGE;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *k, *v, *eq, *hash;

		lineno++;
		if (n > MAX_LINE || memchr(text + pos, '\0', n)) {
			if (err)
				(void)snprintf(err, err_len, "line %u: too long or binary", lineno);
			return VG_ERR_INVALID;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		k = trim(line);
		if (!*k)
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			if (err)
				(void)snprintf(err, err_len, "line %u: expected 'key = value'",
					       lineno);
			return VG_ERR_INVALID;
		}
		*eq = '\0';
		v = trim(eq + 1);
		k = trim(k);
		if (!apply(c, k, v)) {
			if (err)
				(void)snprintf(err, err_len, "line %u: bad setting '%.40s'", lineno,
					       k);
			return VG_ERR_INVALID;
		}
	}
	return VG_OK;
}

size_t vg_config_format(const vg_config *c, char *out, size_t cap)
{
	int n = snprintf(out, cap,
			 "user = %s\nadmin_group = %s\nsocket_group = %s\nsocket_mode = %04o\n"
			 "rot = %s\nrot_param = %s\nmax_clients = %u\nevent_loops = %u\n"
			 "io_timeout_ms = %u\n"
			 "rot_sync_ms = %u\nrot_timeout_ms = %u\naudit_checkpoint_every = %u\n"
			 "audit_max_records = %llu\naudit_max_bytes = %llu\n"
			 "audit_rate_per_s = %u\naudit_burst = %u\n"
			 "admin_session_s = %u\nadmin_pw_cost = %u\n"
			 "reset_button = %s\nmanifest = %s\nupdate_slots = %s\nbootloader = %s\n"
			 "bootloader_param = %s\nboot_tries = %u\nboot_cmdline = %s\nboot_id = %s\n",
			 c->user, c->admin_group, c->socket_group, c->socket_mode, c->rot,
			 c->rot_param, c->max_clients, c->event_loops, c->io_timeout_ms, c->rot_sync_ms,
			 c->rot_timeout_ms,
			 c->audit_checkpoint_every, (unsigned long long)c->audit_max_records,
			 (unsigned long long)c->audit_max_bytes, c->audit_rate_per_s, c->audit_burst,
			 c->admin_session_s, c->admin_pw_cost, c->reset_button, c->manifest,
			 c->update_slots, c->bootloader, c->bootloader_param, c->boot_tries,
			 c->boot_cmdline, c->boot_id);
	size_t b;

	/* The storage reserve (storage/reserve.h). */
	if (n >= 0 && (size_t)n < cap) {
		int m = snprintf(out + n, cap - (size_t)n,
				 "storage_reserve_bytes = %llu\nidentity_tls_group = %s\n"
				 "encrypted_dir = %s\n",
				 (unsigned long long)c->storage_reserve_bytes,
				 c->identity_tls_group, c->encrypted_dir);
		n = m < 0 ? -1 : n + m;
	}
	if (n >= 0 && (size_t)n < cap) {
		int m = snprintf(out + n, cap - (size_t)n,
				 "display_token_ttl_ms = %u\ndisplay_tokens_per_uid = %u\n"
				 "display_tokens_max = %u\n",
				 c->display_token_ttl_ms, c->display_tokens_per_uid,
				 c->display_tokens_max);
		n = m < 0 ? -1 : n + m;
	}
	if (n >= 0 && (size_t)n < cap) {
		char pcrs[VG_ROT_PCRS * 3 + 1];
		int m;

		format_pcrs(c->attest_pcrs, pcrs, sizeof pcrs);
		m = snprintf(out + n, cap - (size_t)n,
			     "attest_pcrs = %s\nrot_policy_key = %s\nrot_policy = %s\n", pcrs,
			     c->rot_policy_key, c->rot_policy);
		n = m < 0 ? -1 : n + m;
	}
	if (n >= 0 && (size_t)n < cap) {
		size_t m = format_uids("display_launcher_uids", &c->display_launcher_uids,
				       out + n, cap - (size_t)n);
		n = m == 0 ? -1 : n + (int)m;
	}
	if (n >= 0 && (size_t)n < cap) {
		size_t m = format_uids("display_gateway_uids", &c->display_gateway_uids, out + n,
				       cap - (size_t)n);
		n = m == 0 ? -1 : n + (int)m;
	}
	if (n >= 0 && (size_t)n < cap) {
		size_t m = format_uids("mic_uids", &c->mic_uids, out + n, cap - (size_t)n);
		n = m == 0 ? -1 : n + (int)m;
	}
	if (n < 0 || (size_t)n >= cap)
		return 0;
	b = format_budget(c, out + n, cap - (size_t)n);
	return c->n_budget && !b ? 0 : (size_t)n + b;
}

vg_rc vg_config_load(vg_config *c, const char *path, char *err, size_t err_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc = vg_read_file(path, MAX_FILE, &buf, &len);

	if (rc != VG_OK) {
		if (err)
			(void)snprintf(err, err_len, "cannot read %s: %s", path, vg_rc_str(rc));
		return rc;
	}
	rc = vg_config_parse(c, (const char *)buf, len, err, err_len);
	free(buf);
	return rc;
}
