/* policy.c - see policy.h */
#include "bluetooth/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

int vg_bt_sc_only_debugfs(uint16_t index, void *ctx)
{
	char path[80], c = 0;
	ssize_t n;
	int fd;

	(void)ctx;
	(void)snprintf(path, sizeof path, "/sys/kernel/debug/bluetooth/hci%u/sc_only_mode",
		       (unsigned)index);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, &c, 1);
	(void)close(fd);
	if (n != 1)
		return -1;
	return c == 'Y' ? 1 : c == 'N' ? 0 : -1;
}

void vg_bt_policy_init(vg_bt_policy *p)
{
	memset(p, 0, sizeof *p);
	p->sc_mode = VG_BT_SC_ONLY;
	p->watch_index = -1;
	p->bondable = true;
	p->io_cap = VG_BT_IO_KEYBOARD_DISPLAY;
	p->sc_only_probe = vg_bt_sc_only_debugfs;
	p->cmd_timeout_ms = VG_BT_CMD_TIMEOUT_MS;
	p->power_timeout_ms = VG_BT_POWER_TIMEOUT_MS;
}

static int cmd_timeout(const vg_bt_policy *p)
{
	return p->cmd_timeout_ms > 0 ? p->cmd_timeout_ms : VG_BT_CMD_TIMEOUT_MS;
}

static int power_timeout(const vg_bt_policy *p)
{
	return p->power_timeout_ms > 0 ? p->power_timeout_ms : VG_BT_POWER_TIMEOUT_MS;
}

/* One command; failures named "hciN: <what>: <status>" in why. */
static vg_rc step(vg_bt_mgmt *m, uint16_t index, uint16_t op, const uint8_t *param, size_t len,
		  int timeout_ms, const char *what, const uint8_t **rp, size_t *rl, char *why,
		  size_t cap)
{
	uint8_t status = 0;
	vg_rc rc = vg_bt_mgmt_cmd(m, op, index, param, len, &status, rp, rl, timeout_ms);

	if (rc == VG_ERR_TIMEOUT) {
		(void)snprintf(why, cap, "hci%u: %s: the kernel did not answer in %d ms",
			       (unsigned)index, what, timeout_ms);
		return rc;
	}
	if (rc == VG_ERR_PROTOCOL) {
		(void)snprintf(why, cap, "hci%u: %s: malformed reply from the kernel",
			       (unsigned)index, what);
		return rc;
	}
	if (rc != VG_OK) {
		(void)snprintf(why, cap, "hci%u: %s: management socket: %s", (unsigned)index, what,
			       vg_rc_str(rc));
		return rc;
	}
	if (status != VG_BT_ST_SUCCESS) {
		(void)snprintf(why, cap, "hci%u: %s: the kernel said %s (0x%02x)", (unsigned)index,
			       what, vg_bt_status_str(status), status);
		return vg_bt_status_rc(status);
	}
	return VG_OK;
}

/* A Set command with one octet; *settings (may be NULL) its result. */
static vg_rc set1(vg_bt_mgmt *m, uint16_t index, uint16_t op, uint8_t v, int timeout_ms,
		  const char *what, uint32_t *settings, char *why, size_t cap)
{
	const uint8_t *rp = NULL;
	size_t rl = 0;
	uint32_t s;
	vg_rc rc = step(m, index, op, &v, 1, timeout_ms, what, &rp, &rl, why, cap);

	if (rc != VG_OK || !settings)
		return rc;
	if (vg_bt_parse_settings(rp, rl, &s) != VG_OK) {
		(void)snprintf(why, cap, "hci%u: %s: malformed settings in the reply",
			       (unsigned)index, what);
		return VG_ERR_PROTOCOL;
	}
	*settings = s;
	return VG_OK;
}

vg_rc vg_bt_index_list(vg_bt_mgmt *m, uint16_t *idx, size_t cap, size_t *n, int timeout_ms,
		       char *why, size_t why_cap)
{
	const uint8_t *rp = NULL;
	size_t rl = 0;
	vg_rc rc;

	*n = 0;
	rc = step(m, VG_BT_INDEX_NONE, VG_BT_OP_READ_INDEX_LIST, NULL, 0,
		  timeout_ms > 0 ? timeout_ms : VG_BT_CMD_TIMEOUT_MS, "read controller index list",
		  &rp, &rl, why, why_cap);
	if (rc != VG_OK)
		return rc;
	rc = vg_bt_parse_index_list(rp, rl, idx, cap, n);
	if (rc == VG_ERR_TOO_LARGE)
		(void)snprintf(why, why_cap, "more than %zu Bluetooth controllers", cap);
	else if (rc != VG_OK)
		(void)snprintf(why, why_cap, "malformed controller index list from the kernel");
	return rc;
}

void vg_bt_judge(vg_bt_ctrl *c)
{
	uint32_t sup = c->info.supported, cur = c->info.current;

	c->sc = (cur & VG_BT_S_SECURE_CONN) != 0;
	c->privacy = !(cur & VG_BT_S_LE) || (cur & VG_BT_S_PRIVACY);
	c->ssp = !(cur & VG_BT_S_BREDR) || !(sup & VG_BT_S_SSP) || (cur & VG_BT_S_SSP);
	c->no_debug_keys = !(cur & VG_BT_S_DEBUG_KEYS);
	c->why[0] = '\0';
	if (!(sup & VG_BT_S_SECURE_CONN))
		(void)snprintf(c->why, sizeof c->why,
			       "hci%u does not support Secure Connections (AVS 1.9 needs a "
			       "Bluetooth 4.1+ controller)",
			       (unsigned)c->index);
	else if (!c->sc)
		(void)snprintf(c->why, sizeof c->why, "hci%u: Secure Connections is off (AVS 1.9)",
			       (unsigned)c->index);
	else if (c->sc_only == 0 && !c->sc_on_enough)
		(void)snprintf(c->why, sizeof c->why,
			       "hci%u: Secure Connections is on but not Only: legacy pairing is "
			       "still accepted (AVS 1.10, 1.11)",
			       (unsigned)c->index);
	else if (!c->privacy)
		(void)snprintf(c->why, sizeof c->why, "hci%u: LE Privacy is off (AVS 1.12)",
			       (unsigned)c->index);
	else if (!c->ssp)
		(void)snprintf(c->why, sizeof c->why, "hci%u: Secure Simple Pairing is off",
			       (unsigned)c->index);
	else if (!c->no_debug_keys)
		(void)snprintf(c->why, sizeof c->why,
			       "hci%u: debug keys are accepted (a published key)",
			       (unsigned)c->index);
	c->compliant = c->why[0] == '\0';
}

vg_rc vg_bt_read(vg_bt_mgmt *m, uint16_t index, const vg_bt_policy *p, vg_bt_ctrl *c, char *why,
		 size_t why_cap)
{
	const uint8_t *rp = NULL;
	size_t rl = 0;
	vg_bt_sc_only_fn probe = p->sc_only_probe ? p->sc_only_probe : vg_bt_sc_only_debugfs;
	vg_rc rc;

	memset(c, 0, sizeof *c);
	c->index = index;
	c->sc_only = -1;
	rc = step(m, index, VG_BT_OP_READ_INFO, NULL, 0, cmd_timeout(p),
		  "read controller information", &rp, &rl, why, why_cap);
	if (rc != VG_OK)
		return rc;
	if (vg_bt_parse_info(rp, rl, &c->info) != VG_OK) {
		(void)snprintf(why, why_cap, "hci%u: malformed controller information",
			       (unsigned)index);
		return VG_ERR_PROTOCOL;
	}
	c->sc_only = (c->info.current & VG_BT_S_SECURE_CONN) ? probe(index, p->sc_only_ctx) : 0;
	c->sc_on_enough = p->sc_mode == VG_BT_SC_ON;
	vg_bt_judge(c);
	return VG_OK;
}

bool vg_bt_drifted(uint32_t sup, uint32_t s, const vg_bt_policy *p)
{
	if ((sup & VG_BT_S_SECURE_CONN) && !(s & VG_BT_S_SECURE_CONN))
		return true;
	if ((sup & VG_BT_S_PRIVACY) && (s & VG_BT_S_LE) && !(s & VG_BT_S_PRIVACY))
		return true;
	if ((sup & VG_BT_S_SSP) && (s & VG_BT_S_BREDR) && !(s & VG_BT_S_SSP))
		return true;
	if (s & VG_BT_S_DEBUG_KEYS)
		return true;
	return (sup & VG_BT_S_BONDABLE) && ((s & VG_BT_S_BONDABLE) != 0) != p->bondable;
}

vg_rc vg_bt_enforce(vg_bt_mgmt *m, uint16_t index, const vg_bt_policy *p, vg_bt_ctrl *after,
		    char *why, size_t why_cap)
{
	uint8_t priv[1 + VG_BT_IRK_LEN];
	vg_bt_ctrl c;
	uint32_t sup, cur;
	bool was_on;
	int t = cmd_timeout(p);
	vg_rc rc, rc2;

	why[0] = '\0';
	rc = vg_bt_read(m, index, p, &c, why, why_cap);
	if (rc != VG_OK)
		return rc;
	sup = c.info.supported;
	cur = c.info.current;
	if (!(sup & VG_BT_S_SECURE_CONN)) {
		(void)snprintf(why, why_cap, "%s", c.why);
		if (after)
			*after = c;
		return VG_ERR_UNSUPPORTED;
	}
	was_on = (cur & VG_BT_S_POWERED) != 0;
	if (was_on) {
		rc = set1(m, index, VG_BT_OP_SET_POWERED, 0, power_timeout(p), "power off", &cur,
			  why, why_cap);
		if (rc != VG_OK)
			return rc;
	}
	if ((sup & VG_BT_S_SSP) && (cur & VG_BT_S_BREDR))
		rc = set1(m, index, VG_BT_OP_SET_SSP, 1, t, "set secure simple pairing", &cur, why,
			  why_cap);
	if (rc == VG_OK && (sup & VG_BT_S_LE))
		rc = set1(m, index, VG_BT_OP_SET_LE, 1, t, "set low energy", &cur, why, why_cap);
	if (rc == VG_OK && (sup & VG_BT_S_DEBUG_KEYS))
		rc = set1(m, index, VG_BT_OP_SET_DEBUG_KEYS, 0, t, "set debug keys off", &cur, why,
			  why_cap);
	if (rc == VG_OK)
		rc = set1(m, index, VG_BT_OP_SET_SECURE_CONN,
			  p->sc_mode == VG_BT_SC_ON ? VG_BT_SC_ON : VG_BT_SC_ONLY, t,
			  p->sc_mode == VG_BT_SC_ON ? "set secure connections"
						    : "set secure connections only",
			  &cur, why, why_cap);
	if (rc == VG_OK && (sup & VG_BT_S_PRIVACY) && (cur & VG_BT_S_LE)) {
		priv[0] = 0x01;
		memcpy(priv + 1, p->irk, VG_BT_IRK_LEN);
		rc = step(m, index, VG_BT_OP_SET_PRIVACY, priv, sizeof priv, t, "set privacy", NULL,
			  NULL, why, why_cap);
		vg_wipe(priv, sizeof priv);
	}
	if (rc == VG_OK)
		rc = set1(m, index, VG_BT_OP_SET_BONDABLE, p->bondable ? 1 : 0, t, "set bondable",
			  &cur, why, why_cap);
	if (rc == VG_OK)
		rc = step(m, index, VG_BT_OP_SET_IO_CAP, &p->io_cap, 1, t, "set io capability",
			  NULL, NULL, why, why_cap);
	if (was_on) {
		/* Also after a failed step: a speaker whose Bluetooth went
		 * dark is a failure of its own. The first error is kept. */
		char why2[256];

		rc2 = set1(m, index, VG_BT_OP_SET_POWERED, 1, power_timeout(p), "power on", NULL,
			   rc == VG_OK ? why : why2, rc == VG_OK ? why_cap : sizeof why2);
		if (rc == VG_OK)
			rc = rc2;
	}
	if (rc != VG_OK)
		return rc;
	rc = vg_bt_read(m, index, p, &c, why, why_cap);
	if (rc != VG_OK)
		return rc;
	if (after)
		*after = c;
	if (!c.compliant) {
		(void)snprintf(why, why_cap, "after enforcing: %s", c.why);
		return VG_ERR_STATE;
	}
	return VG_OK;
}

/* ---- the watcher ---- */

static int slot(vg_bt_watch *w, uint16_t index, bool create)
{
	int free_slot = -1;

	for (size_t i = 0; i < VG_BT_WATCH_MAX; i++) {
		if (w->ctl[i].used && w->ctl[i].index == index)
			return (int)i;
		if (!w->ctl[i].used && free_slot < 0)
			free_slot = (int)i;
	}
	if (!create || free_slot < 0)
		return -1;
	memset(&w->ctl[free_slot], 0, sizeof w->ctl[free_slot]);
	w->ctl[free_slot].used = true;
	w->ctl[free_slot].index = index;
	return free_slot;
}

static void enforce_one(vg_bt_watch *w, uint16_t index)
{
	vg_bt_ctrl c;
	char why[256] = "";
	uint64_t now = vg_mono_ms();
	int i = slot(w, index, true);
	vg_rc rc;

	if (i >= 0) {
		if (now - w->ctl[i].window_start >= VG_BT_WATCH_WINDOW_MS ||
		    w->ctl[i].window_start == 0) {
			w->ctl[i].window_start = now ? now : 1;
			w->ctl[i].count = 0;
		}
		if (w->ctl[i].count >= VG_BT_WATCH_BURST) {
			if (w->ctl[i].count++ == VG_BT_WATCH_BURST && w->report)
				w->report(w->ctx, VG_BT_W_THROTTLED, index, VG_ERR_STATE, NULL,
					  "settings keep being changed back (bluetoothd's "
					  "main.conf?): left alone for a minute");
			return;
		}
		w->ctl[i].count++;
	}
	memset(&c, 0, sizeof c);
	c.index = index;
	c.sc_only = -1;
	rc = vg_bt_enforce(w->m, index, w->p, &c, why, sizeof why);
	if (i >= 0)
		w->ctl[i].supported = c.info.supported;
	if (w->report)
		w->report(w->ctx, VG_BT_W_ENFORCED, index, rc, &c, why);
}

/* A new bond: kept if its key is Level 4, else unpaired (and the link
 * dropped) at once. One pairing can bring two keys (each side's LTK of a
 * legacy pairing): the second finds the bond gone ("Not Paired"), which
 * is no failure and no second report. Only the socket's failure ends the
 * watch, never the kernel's answer. */
static vg_rc check_key(vg_bt_watch *w, uint16_t index, const vg_bt_key *k)
{
	uint8_t param[VG_BT_ADDR_LEN + 2], status = VG_BT_ST_FAILED;
	char a[18], why[256];
	vg_rc rc;

	vg_bt_addr_str(k->addr, a);
	if (vg_bt_key_level4(k)) {
		(void)snprintf(why, sizeof why, "hci%u: bonded with %s (%s): %s key, %u octets",
			       (unsigned)index, a, k->le ? "LE" : "BR/EDR", vg_bt_key_type_str(k),
			       (unsigned)k->enc_size);
		if (w->report)
			w->report(w->ctx, VG_BT_W_BONDED, index, VG_OK, NULL, why);
		return VG_OK;
	}
	memcpy(param, k->addr, VG_BT_ADDR_LEN);
	param[VG_BT_ADDR_LEN] = k->addr_type;
	param[VG_BT_ADDR_LEN + 1] = 1; /* disconnect */
	rc = vg_bt_mgmt_cmd(w->m, VG_BT_OP_UNPAIR_DEVICE, index, param, sizeof param, &status, NULL,
			    NULL, cmd_timeout(w->p));
	if (rc == VG_OK && status == VG_BT_ST_NOT_PAIRED)
		return VG_OK; /* already unpaired (its other key) */
	if (rc == VG_OK && status != VG_BT_ST_SUCCESS)
		(void)snprintf(why, sizeof why,
			       "hci%u: could not unpair %s (%s): its key is %s, %u octets, not "
			       "Level 4: the kernel said %s (0x%02x)",
			       (unsigned)index, a, k->le ? "LE" : "BR/EDR", vg_bt_key_type_str(k),
			       (unsigned)k->enc_size, vg_bt_status_str(status), status);
	else if (rc != VG_OK)
		(void)snprintf(why, sizeof why,
			       "hci%u: could not unpair %s (%s): its key is %s, not Level 4: "
			       "management socket: %s",
			       (unsigned)index, a, k->le ? "LE" : "BR/EDR", vg_bt_key_type_str(k),
			       vg_rc_str(rc));
	else
		(void)snprintf(why, sizeof why,
			       "hci%u: unpaired %s (%s): its key is %s, %u octets, not Level 4 "
			       "(AVS 1.10, 1.11)",
			       (unsigned)index, a, k->le ? "LE" : "BR/EDR", vg_bt_key_type_str(k),
			       (unsigned)k->enc_size);
	if (w->report)
		w->report(w->ctx, VG_BT_W_UNPAIRED, index,
			  rc != VG_OK ? rc : vg_bt_status_rc(status), NULL, why);
	return rc == VG_ERR_IO || rc == VG_ERR_PROTOCOL ? rc : VG_OK;
}

static vg_rc enforce_all(vg_bt_watch *w)
{
	uint16_t idx[VG_BT_MAX_INDEXES];
	size_t n = 0;
	char why[256];
	vg_rc rc =
	    vg_bt_index_list(w->m, idx, VG_ARRAY_LEN(idx), &n, cmd_timeout(w->p), why, sizeof why);

	if (rc != VG_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (w->p->watch_index < 0 || idx[i] == (uint16_t)w->p->watch_index)
			enforce_one(w, idx[i]);
	return VG_OK;
}

vg_rc vg_bt_watch_start(vg_bt_watch *w, vg_bt_mgmt *m, const vg_bt_policy *p,
			vg_bt_watch_report report, void *ctx)
{
	memset(w, 0, sizeof *w);
	w->m = m;
	w->p = p;
	w->report = report;
	w->ctx = ctx;
	/* The kernel sends this socket Index Added/Removed and New Settings
	 * once it is bound to the control channel with CAP_NET_ADMIN
	 * (net/bluetooth/hci_sock.c; older kernels: on its first Read
	 * Controller Index List and Read Controller Information, which
	 * enforce_all() sends anyway). */
	return enforce_all(w);
}

vg_rc vg_bt_watch_step(vg_bt_watch *w, int timeout_ms, bool recheck)
{
	vg_bt_evt e;
	bool overflow = false;
	int i;
	vg_rc rc = vg_bt_mgmt_next(w->m, &e, &overflow, timeout_ms);

	if (overflow) {
		vg_rc rc2 = enforce_all(w);
		if (rc2 == VG_ERR_IO || rc2 == VG_ERR_PROTOCOL)
			return rc2;
	}
	if (rc == VG_ERR_TIMEOUT) {
		if (recheck) {
			for (size_t k = 0; k < VG_BT_WATCH_MAX; k++) {
				vg_bt_ctrl c;
				char why[256];

				if (!w->ctl[k].used)
					continue;
				rc = vg_bt_read(w->m, w->ctl[k].index, w->p, &c, why, sizeof why);
				if (rc == VG_ERR_IO || rc == VG_ERR_PROTOCOL)
					return rc;
				if (rc == VG_OK && !c.compliant)
					enforce_one(w, w->ctl[k].index);
			}
		}
		return VG_ERR_TIMEOUT;
	}
	if (rc != VG_OK)
		return rc;
	if (w->p->watch_index >= 0 && e.index != (uint16_t)w->p->watch_index)
		return VG_OK; /* another controller: not ours to watch */
	switch (e.code) {
	case VG_BT_EV_INDEX_ADDED:
		enforce_one(w, e.index);
		break;
	case VG_BT_EV_INDEX_REMOVED:
		i = slot(w, e.index, false);
		if (i >= 0)
			w->ctl[i].used = false;
		if (w->report)
			w->report(w->ctx, VG_BT_W_REMOVED, e.index, VG_OK, NULL, "");
		break;
	case VG_BT_EV_NEW_SETTINGS:
		i = slot(w, e.index, false);
		if (i < 0 || vg_bt_drifted(w->ctl[i].supported, e.settings, w->p))
			enforce_one(w, e.index);
		break;
	case VG_BT_EV_NEW_LINK_KEY:
	case VG_BT_EV_NEW_LONG_TERM_KEY: {
		vg_bt_key k = e.key;
		return check_key(w, e.index, &k);
	}
	default:
		break;
	}
	return VG_OK;
}
