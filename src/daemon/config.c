/* config.c - see config.h */
#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define MAX_FILE (64u * 1024u)
#define MAX_LINE 512u

void vg_config_defaults(vg_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->user, "voxguard");
	strcpy(c->rot, "file");
	c->socket_mode = 0660;
	c->max_clients = 256;
	c->io_timeout_ms = 5000;
	c->rot_sync_ms = 50;
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

static bool apply(vg_config *c, const char *k, const char *v)
{
	uint64_t x;

	if (strcmp(k, "user") == 0)
		return set_str(c->user, sizeof c->user, v, true);
	if (strcmp(k, "admin_group") == 0)
		return set_str(c->admin_group, sizeof c->admin_group, v, true);
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
	if (strcmp(k, "io_timeout_ms") == 0 && parse_u64(v, 10, 600000, 10, &x)) {
		c->io_timeout_ms = (uint32_t)x;
		return true;
	}
	if (strcmp(k, "rot_sync_ms") == 0 && parse_u64(v, 0, 1000, 10, &x)) {
		c->rot_sync_ms = (uint32_t)x;
		return true;
	}
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
			 "rot = %s\nrot_param = %s\nmax_clients = %u\nio_timeout_ms = %u\n"
			 "rot_sync_ms = %u\naudit_checkpoint_every = %u\n"
			 "audit_max_records = %llu\naudit_max_bytes = %llu\n"
			 "audit_rate_per_s = %u\naudit_burst = %u\n"
			 "admin_session_s = %u\nadmin_pw_cost = %u\n"
			 "reset_button = %s\nmanifest = %s\nupdate_slots = %s\nbootloader = %s\n"
			 "bootloader_param = %s\nboot_tries = %u\nboot_cmdline = %s\nboot_id = %s\n",
			 c->user, c->admin_group, c->socket_group, c->socket_mode, c->rot,
			 c->rot_param, c->max_clients, c->io_timeout_ms, c->rot_sync_ms,
			 c->audit_checkpoint_every, (unsigned long long)c->audit_max_records,
			 (unsigned long long)c->audit_max_bytes, c->audit_rate_per_s, c->audit_burst,
			 c->admin_session_s, c->admin_pw_cost, c->reset_button, c->manifest,
			 c->update_slots, c->bootloader, c->bootloader_param, c->boot_tries,
			 c->boot_cmdline, c->boot_id);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
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
