/*
 * policy.h - the Bluetooth security policy voxguard puts on every
 * controller through the kernel's management API (AVS 1.9-1.12), and the
 * check that reads it back.
 *
 * Why here and not in BlueZ's main.conf: Debian 12's bluetoothd (BlueZ
 * 5.66) does not know `SecureConnections = only` (the key came in 5.67)
 * and enables plain Secure Connections, which still lets a peer pair
 * with legacy (pre-4.1) pairing. The kernel has the Only mode; it is one
 * mgmt command away.
 *
 * vg_bt_enforce(), for one controller:
 *   1. Read Controller Information (what it supports, what is on);
 *   2. power off, if it is on (Set Privacy is refused while powered; a
 *      power cycle also drops links made under the old settings);
 *   3. Secure Simple Pairing on (BR/EDR; Secure Connections needs it);
 *   4. Low Energy on (if supported);
 *   5. Debug Keys off (a debug key is a published P-256 key);
 *   6. Secure Connections Only (0x02): AVS 1.9, and with it Security
 *      Mode 4 Level 4 (BR/EDR) and Mode 1 Level 4 (LE): the kernel then
 *      accepts only Secure Connections pairing, and on BR/EDR only an
 *      authenticated P-256 link key (AVS 1.10, 1.11). Or, with sc_mode
 *      VG_BT_SC_ON, Secure Connections on (0x01) and Level 4 held by the
 *      watcher's key check (below): Linux 6.1 in SC Only mode drops every
 *      LE link once it is encrypted (hci_conn_check_link_mode() wants a
 *      BR/EDR P-256 link key type, which an LE link never has), so a
 *      device that pairs over LE needs this form on such a kernel;
 *   7. LE Privacy (0x01) with the IRK the caller gives (voxguard's
 *      service derives it from the root of trust): AVS 1.12;
 *   8. Bondable as configured;
 *   9. the IO capability (KeyboardDisplay by default), so that an
 *      authenticated (MITM-protected) pairing is possible at all;
 *  10. power on again if it was on;
 *  11. read back and judge (vg_bt_judge).
 *
 * What mgmt cannot show: whether Secure Connections is Only (the settings
 * bit is the same for 0x01 and 0x02) and the IO capability. The first is
 * read from the kernel's debugfs (hciN/sc_only_mode) when it is mounted
 * (vg_bt_policy.sc_only_probe), else reported as unknown; the IO
 * capability is reported as what enforce set.
 */
#ifndef VG_BT_POLICY_H
#define VG_BT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bluetooth/mgmt.h"

#define VG_BT_CMD_TIMEOUT_MS   5000  /* one mgmt command */
#define VG_BT_POWER_TIMEOUT_MS 15000 /* Set Powered (firmware load, HCI reset) */

/* 1 the controller is in Secure Connections Only mode, 0 it is not,
 * -1 cannot tell. */
typedef int (*vg_bt_sc_only_fn)(uint16_t index, void *ctx);

/* Reads /sys/kernel/debug/bluetooth/hci<index>/sc_only_mode ("Y"/"N");
 * -1 when debugfs is not mounted or has no such file. ctx: unused. */
int vg_bt_sc_only_debugfs(uint16_t index, void *ctx);

typedef struct vg_bt_policy {
	uint8_t sc_mode; /* VG_BT_SC_ONLY (default) or VG_BT_SC_ON (Level 4 by the watcher) */
	bool bondable;
	uint8_t io_cap;                 /* VG_BT_IO_* (KeyboardDisplay) */
	uint8_t irk[VG_BT_IRK_LEN];     /* the local IRK: a secret, wipe it */
	vg_bt_sc_only_fn sc_only_probe; /* NULL: vg_bt_sc_only_debugfs */
	void *sc_only_ctx;
	int watch_index;      /* the watcher's one controller; -1 (default): every one */
	int cmd_timeout_ms;   /* 0: VG_BT_CMD_TIMEOUT_MS */
	int power_timeout_ms; /* 0: VG_BT_POWER_TIMEOUT_MS */
} vg_bt_policy;

/* One controller as read back, and the verdict on it. */
typedef struct vg_bt_ctrl {
	uint16_t index;
	vg_bt_info info;
	int sc_only;    /* as vg_bt_sc_only_fn */
	bool compliant; /* all of the below that apply hold */
	bool sc;        /* AVS 1.9: Secure Connections on */
	bool privacy;   /* AVS 1.12: LE Privacy on (or no LE) */
	bool ssp;       /* Secure Simple Pairing on (or no BR/EDR) */
	bool no_debug_keys;
	bool sc_on_enough; /* the policy's sc_mode is VG_BT_SC_ON: Only is not required */
	char why[256]; /* the first failed requirement, in one line ("" when compliant) */
} vg_bt_ctrl;

/* Fills p with the defaults (bondable, KeyboardDisplay, debugfs probe,
 * timeouts) and a zero IRK. */
void vg_bt_policy_init(vg_bt_policy *p);

/* The controller indexes (at most cap) in *n; timeout_ms 0: the default. */
VG_NODISCARD vg_rc vg_bt_index_list(vg_bt_mgmt *m, uint16_t *idx, size_t cap, size_t *n,
				    int timeout_ms, char *why, size_t why_cap);

/* Reads one controller (Read Controller Information and the SC-only
 * probe) and judges it: c->compliant, c->why. */
VG_NODISCARD vg_rc vg_bt_read(vg_bt_mgmt *m, uint16_t index, const vg_bt_policy *p, vg_bt_ctrl *c,
			      char *why, size_t why_cap);

/* The verdict on c (already read): sets c->sc ... c->compliant, c->why.
 * Secure Connections Only known to be off is a failure (unless
 * c->sc_on_enough); unknown is not (mgmt cannot show it), and c->sc_only
 * says so. */
void vg_bt_judge(vg_bt_ctrl *c);

/* The steps above on one controller; after (may be NULL) gets the read
 * back state. VG_OK only when every step succeeded and the read-back is
 * compliant; otherwise why says which step or requirement failed (with
 * the kernel's status). A controller that was on is powered on again
 * also when a step failed. */
VG_NODISCARD vg_rc vg_bt_enforce(vg_bt_mgmt *m, uint16_t index, const vg_bt_policy *p,
				 vg_bt_ctrl *after, char *why, size_t why_cap);

/* Whether settings s of a controller supporting sup have lost anything
 * the policy sets (a New Settings event worth re-enforcing). */
bool vg_bt_drifted(uint32_t sup, uint32_t s, const vg_bt_policy *p);

/*
 * The watcher: re-asserts the policy when a controller appears or its
 * settings drift (another program, e.g. bluetoothd at its start, changed
 * them), and checks every new bond's key (New Link Key, New Long Term
 * Key): a key that is not Level 4 (authenticated, P-256, 16 octets) is
 * removed at once with Unpair Device, which also drops the link (in SC
 * Only mode the kernel makes no such key; with VG_BT_SC_ON this is what
 * refuses legacy and unauthenticated pairing, a few milliseconds after
 * it completed). A controller enforced more than VG_BT_WATCH_BURST times within
 * VG_BT_WATCH_WINDOW_MS is left alone until the window ends (someone
 * keeps undoing it: reported, not fought).
 */
#define VG_BT_WATCH_BURST     5u
#define VG_BT_WATCH_WINDOW_MS 60000u
#define VG_BT_WATCH_MAX       32u /* controllers tracked */

typedef enum vg_bt_watch_what {
	VG_BT_W_ENFORCED = 1, /* rc, c, why: after an Index Added, drift or recheck */
	VG_BT_W_REMOVED,      /* the controller went away */
	VG_BT_W_THROTTLED,    /* enforced too often: left alone for now */
	VG_BT_W_BONDED,       /* a new bond with a Level 4 key: kept (why names it) */
	VG_BT_W_UNPAIRED,     /* a new bond below Level 4: unpaired (rc: the unpairing's) */
} vg_bt_watch_what;

typedef void (*vg_bt_watch_report)(void *ctx, vg_bt_watch_what what, uint16_t index, vg_rc rc,
				   const vg_bt_ctrl *c, const char *why);

typedef struct vg_bt_watch {
	vg_bt_mgmt *m;
	const vg_bt_policy *p;
	vg_bt_watch_report report;
	void *ctx;
	struct {
		uint16_t index;
		bool used;
		uint32_t supported;
		uint64_t window_start;
		unsigned count;
	} ctl[VG_BT_WATCH_MAX];
} vg_bt_watch;

/* Starts watching: enforces every controller there is (each reported). */
VG_NODISCARD vg_rc vg_bt_watch_start(vg_bt_watch *w, vg_bt_mgmt *m, const vg_bt_policy *p,
				     vg_bt_watch_report report, void *ctx);
/*
 * Waits at most timeout_ms for one event and acts on it: Index Added
 * enforces that controller; New Settings that drifted (vg_bt_drifted)
 * enforces it again; Index Removed forgets it; an overflow of kept events
 * enforces all. With no event before the timeout and recheck set, every
 * controller is read and enforced if not compliant (the SC-only mode
 * changes no setting bit). VG_OK or VG_ERR_TIMEOUT; VG_ERR_IO and
 * VG_ERR_PROTOCOL end the watch.
 */
VG_NODISCARD vg_rc vg_bt_watch_step(vg_bt_watch *w, int timeout_ms, bool recheck);

#endif
