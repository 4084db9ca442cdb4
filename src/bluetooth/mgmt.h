/*
 * mgmt.h - the Linux kernel's Bluetooth management protocol (mgmt), the
 * interface through which voxguard sets Secure Connections Only, LE
 * Privacy, bondable and the pairing IO capability (AVS 1.9-1.12).
 *
 * Two halves:
 *
 *  - a pure codec (no I/O): vg_bt_encode() makes one command, and
 *    vg_bt_decode() and the vg_bt_parse_*() helpers read the kernel's
 *    events and command results. Events are outside bytes: every decoder
 *    checks every length before reading, accepts a message only when its
 *    header's length is exactly what follows it, and fails with
 *    VG_ERR_PROTOCOL (never a partial result) otherwise. Numbers are those
 *    of the kernel's mgmt API (BlueZ doc/mgmt-protocol.rst); all fields
 *    little-endian.
 *
 *  - a transport seam: a vg_bt_mgmt is one message socket. vg_bt_mgmt_open()
 *    opens the kernel's: socket(AF_BLUETOOTH, SOCK_RAW, BTPROTO_HCI) bound
 *    to HCI_DEV_NONE on HCI_CHANNEL_CONTROL (needs CAP_NET_ADMIN; the
 *    constants are defined here, so no libbluetooth headers are needed).
 *    vg_bt_mgmt_from_fd() wraps any message socket (a SOCK_SEQPACKET
 *    socketpair with a fake controller in the unit tests).
 *
 * The settings bitmask (Read Controller Information, New Settings and
 * every Set command's reply) does not tell Secure Connections (0x01) from
 * Secure Connections Only (0x02): both set VG_BT_S_SECURE_CONN. The kernel
 * shows the Only mode nowhere in mgmt; see policy.h for how it is checked.
 */
#ifndef VG_BT_MGMT_H
#define VG_BT_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

/* The socket (linux/bluetooth.h, hci.h; defined here on purpose). */
#define VG_BT_AF_BLUETOOTH        31
#define VG_BT_BTPROTO_HCI         1
#define VG_BT_HCI_DEV_NONE        0xffffu
#define VG_BT_HCI_CHANNEL_CONTROL 3

#define VG_BT_HDR_LEN     6u     /* code, index, parameter length: 2 octets each */
#define VG_BT_MAX_PARAM   65535u /* the length field's range */
#define VG_BT_MAX_MSG     (VG_BT_HDR_LEN + VG_BT_MAX_PARAM)
#define VG_BT_INDEX_NONE  0xffffu /* <non-controller> */
#define VG_BT_IRK_LEN     16u
#define VG_BT_ADDR_LEN    6u
#define VG_BT_NAME_LEN    249u
#define VG_BT_SHORT_LEN   11u
#define VG_BT_INFO_LEN    280u /* Read Controller Information's result */
#define VG_BT_MAX_INDEXES 64u  /* controllers one index list may name */

/* Commands. */
enum {
	VG_BT_OP_READ_VERSION = 0x0001,
	VG_BT_OP_READ_INDEX_LIST = 0x0003,
	VG_BT_OP_READ_INFO = 0x0004,
	VG_BT_OP_SET_POWERED = 0x0005,
	VG_BT_OP_SET_BONDABLE = 0x0009,
	VG_BT_OP_SET_LINK_SECURITY = 0x000A,
	VG_BT_OP_SET_SSP = 0x000B,
	VG_BT_OP_SET_LE = 0x000D,
	VG_BT_OP_SET_IO_CAP = 0x0018,
	VG_BT_OP_UNPAIR_DEVICE = 0x001B,
	VG_BT_OP_SET_BREDR = 0x002A,
	VG_BT_OP_SET_SECURE_CONN = 0x002D,
	VG_BT_OP_SET_DEBUG_KEYS = 0x002E,
	VG_BT_OP_SET_PRIVACY = 0x002F,
};

/* Events. */
enum {
	VG_BT_EV_CMD_COMPLETE = 0x0001,
	VG_BT_EV_CMD_STATUS = 0x0002,
	VG_BT_EV_INDEX_ADDED = 0x0004,
	VG_BT_EV_INDEX_REMOVED = 0x0005,
	VG_BT_EV_NEW_SETTINGS = 0x0006,
	VG_BT_EV_NEW_LINK_KEY = 0x0009,      /* BR/EDR: a bond's link key */
	VG_BT_EV_NEW_LONG_TERM_KEY = 0x000A, /* LE: a bond's LTK */
};

/* Status codes of Command Complete and Command Status. */
enum {
	VG_BT_ST_SUCCESS = 0x00,
	VG_BT_ST_UNKNOWN_COMMAND = 0x01,
	VG_BT_ST_FAILED = 0x03,
	VG_BT_ST_NOT_PAIRED = 0x06,
	VG_BT_ST_BUSY = 0x0A,
	VG_BT_ST_REJECTED = 0x0B,
	VG_BT_ST_NOT_SUPPORTED = 0x0C,
	VG_BT_ST_INVALID_PARAMS = 0x0D,
	VG_BT_ST_NOT_POWERED = 0x0F,
	VG_BT_ST_INVALID_INDEX = 0x11,
	VG_BT_ST_RFKILLED = 0x12,
	VG_BT_ST_PERMISSION_DENIED = 0x14,
};

/* Settings bits (current and supported). */
#define VG_BT_S_POWERED       (1u << 0)
#define VG_BT_S_CONNECTABLE   (1u << 1)
#define VG_BT_S_FAST_CONN     (1u << 2)
#define VG_BT_S_DISCOVERABLE  (1u << 3)
#define VG_BT_S_BONDABLE      (1u << 4)
#define VG_BT_S_LINK_SECURITY (1u << 5) /* Security Mode 3 */
#define VG_BT_S_SSP           (1u << 6)
#define VG_BT_S_BREDR         (1u << 7)
#define VG_BT_S_HS            (1u << 8)
#define VG_BT_S_LE            (1u << 9)
#define VG_BT_S_ADVERTISING   (1u << 10)
#define VG_BT_S_SECURE_CONN   (1u << 11) /* 0x01 and 0x02 alike */
#define VG_BT_S_DEBUG_KEYS    (1u << 12)
#define VG_BT_S_PRIVACY       (1u << 13)
#define VG_BT_S_CONFIGURATION (1u << 14)
#define VG_BT_S_STATIC_ADDR   (1u << 15)
#define VG_BT_S_PHY_CONFIG    (1u << 16)
#define VG_BT_S_WBS           (1u << 17)
#define VG_BT_S_LL_PRIVACY    (1u << 22)

/* Values of Set Secure Connections, Set Privacy and Set IO Capability. */
#define VG_BT_SC_OFF              0x00
#define VG_BT_SC_ON               0x01
#define VG_BT_SC_ONLY             0x02
#define VG_BT_IO_DISPLAY_ONLY     0x00
#define VG_BT_IO_DISPLAY_YESNO    0x01
#define VG_BT_IO_KEYBOARD_ONLY    0x02
#define VG_BT_IO_NO_INPUT_OUTPUT  0x03
#define VG_BT_IO_KEYBOARD_DISPLAY 0x04

/* Address types of mgmt (Unpair Device, the key events). */
#define VG_BT_ADDR_BREDR     0x00
#define VG_BT_ADDR_LE_PUBLIC 0x01
#define VG_BT_ADDR_LE_RANDOM 0x02

/* Key types: New Link Key (BR/EDR, the HCI link key types) and New Long
 * Term Key (LE, mgmt's own). Level 4 (Security Mode 4 Level 4 on BR/EDR,
 * Mode 1 Level 4 on LE) is an authenticated P-256 key of 16 octets. */
#define VG_BT_LK_AUTH_P256    0x08 /* Authenticated Combination Key from P-256 */
#define VG_BT_LTK_UNAUTH      0x00 /* legacy pairing, Just Works */
#define VG_BT_LTK_AUTH        0x01 /* legacy pairing, passkey or OOB */
#define VG_BT_LTK_P256_UNAUTH 0x02
#define VG_BT_LTK_P256_AUTH   0x03
#define VG_BT_LTK_P256_DEBUG  0x04

/* What a New Link Key or New Long Term Key event says of the bond (the
 * key itself is not copied: it stays in the kernel). */
typedef struct vg_bt_key {
	uint8_t addr[VG_BT_ADDR_LEN]; /* the peer, as sent */
	uint8_t addr_type;            /* VG_BT_ADDR_* */
	uint8_t key_type;             /* VG_BT_LK_* or VG_BT_LTK_* */
	uint8_t enc_size;             /* LE: the key's octets; BR/EDR: 16 */
	bool le;                      /* a Long Term Key */
} vg_bt_key;

/* The key gives Level 4: authenticated, P-256, 16 octets. */
bool vg_bt_key_level4(const vg_bt_key *k);
/* "P-256, authenticated", "legacy, unauthenticated (Just Works)", ... for
 * k's type. */
const char *vg_bt_key_type_str(const vg_bt_key *k);

/* One decoded message. Pointers point into the buffer given to
 * vg_bt_decode() and live as long as it does. */
typedef struct vg_bt_evt {
	uint16_t code;  /* VG_BT_EV_* (or any other event, unparsed) */
	uint16_t index; /* controller, or VG_BT_INDEX_NONE */
	/* Command Complete and Command Status: */
	uint16_t opcode;
	uint8_t status;
	/* Command Complete: its return parameters; another event: its
	 * parameters (none for Command Status). */
	const uint8_t *param;
	size_t param_len;
	/* New Settings: */
	uint32_t settings;
	/* New Link Key, New Long Term Key: */
	vg_bt_key key;
} vg_bt_evt;

/* Read Controller Information's result. */
typedef struct vg_bt_info {
	uint8_t addr[VG_BT_ADDR_LEN]; /* as sent: least significant octet first */
	uint8_t bt_version;
	uint16_t manufacturer;
	uint32_t supported;
	uint32_t current;
	uint8_t dev_class[3];
	char name[VG_BT_NAME_LEN + 1];        /* NUL-terminated here */
	char short_name[VG_BT_SHORT_LEN + 1]; /* NUL-terminated here */
} vg_bt_info;

/* ---- the codec ---- */

/*
 * One command (op, controller index, param of len bytes) into out (cap
 * bytes); *out_len its length. VG_ERR_TOO_LARGE: len > VG_BT_MAX_PARAM or
 * cap too small (nothing written then). param may be NULL when len is 0.
 */
VG_NODISCARD vg_rc vg_bt_encode(uint16_t op, uint16_t index, const uint8_t *param, size_t len,
				uint8_t *out, size_t cap, size_t *out_len);

/*
 * One message from the kernel (len bytes at buf, as one read gave it).
 * VG_ERR_PROTOCOL, *e zeroed, when: shorter than a header; the header's
 * length differs from what follows; a Command Complete shorter than 3
 * octets; a Command Status not exactly 3; a New Settings not exactly 4;
 * an Index Added or Removed with parameters; a New Link Key not exactly
 * 26, a New Long Term Key not exactly 37 (or an LTK of more than 16
 * octets). Other event codes are
 * returned as they are (code, index, param) for the caller to ignore.
 */
VG_NODISCARD vg_rc vg_bt_decode(const uint8_t *buf, size_t len, vg_bt_evt *e);

/* Result parsers of Command Complete's param (e->param, e->param_len),
 * each of an exact length (VG_ERR_PROTOCOL otherwise, outputs zeroed). */
VG_NODISCARD vg_rc vg_bt_parse_version(const uint8_t *p, size_t len, uint8_t *version,
				       uint16_t *revision);
/* idx receives at most cap indexes; a list longer than cap is
 * VG_ERR_TOO_LARGE; a count that does not match len is VG_ERR_PROTOCOL. */
VG_NODISCARD vg_rc vg_bt_parse_index_list(const uint8_t *p, size_t len, uint16_t *idx, size_t cap,
					  size_t *n);
VG_NODISCARD vg_rc vg_bt_parse_info(const uint8_t *p, size_t len, vg_bt_info *info);
/* The Current_Settings of a Set command's result. */
VG_NODISCARD vg_rc vg_bt_parse_settings(const uint8_t *p, size_t len, uint32_t *settings);

/* "powered", "secure-conn", ... for bit (0-31); NULL for an unnamed bit. */
const char *vg_bt_setting_name(unsigned bit);
/* The names of the set bits of s, space-separated ("bit23" for unnamed
 * ones), into out (truncated to cap, always NUL-terminated). */
void vg_bt_settings_str(uint32_t s, char *out, size_t cap);
/* "Rejected", "Not Supported", ... for a status code. */
const char *vg_bt_status_str(uint8_t status);
/* "DisplayYesNo", ... for an IO capability; NULL for another value. */
const char *vg_bt_io_cap_str(uint8_t io);
/* "00:1A:7D:DA:71:13" from an address as sent (into out[18]). */
void vg_bt_addr_str(const uint8_t addr[static VG_BT_ADDR_LEN], char out[static 18]);

/* ---- the transport ---- */

typedef struct vg_bt_mgmt vg_bt_mgmt;

/*
 * The kernel's management socket. VG_ERR_UNSUPPORTED: the kernel has no
 * Bluetooth (no AF_BLUETOOTH); VG_ERR_DENIED: no CAP_NET_ADMIN; VG_ERR_IO
 * otherwise; why (cap bytes) says which in one line. Close with
 * vg_bt_mgmt_close().
 */
VG_NODISCARD vg_rc vg_bt_mgmt_open(vg_bt_mgmt **out, char *why, size_t cap);
/* A vg_bt_mgmt on a message socket fd the caller made (taken over: closed
 * by vg_bt_mgmt_close, also when this fails). */
VG_NODISCARD vg_rc vg_bt_mgmt_from_fd(vg_bt_mgmt **out, int fd);
/* Closes the socket and frees m; *m = NULL. NULL-safe. */
void vg_bt_mgmt_close(vg_bt_mgmt **m);

/*
 * Sends one command and waits (at most timeout_ms) for its Command
 * Complete or Command Status (same opcode and index). *status receives
 * its status; on VG_BT_ST_SUCCESS with a Command Complete, rparam and
 * rlen (both may be NULL) its return parameters, valid until the next
 * call on m. Events that arrive meanwhile (Index Added, Index Removed,
 * New Settings, New Link Key, New Long Term Key) are kept for vg_bt_mgmt_next(), the oldest first; when
 * more arrive than are kept, vg_bt_mgmt_next() reports an overflow.
 * Returns VG_OK when an answer came (whatever its status), VG_ERR_TIMEOUT,
 * VG_ERR_IO (socket closed or failed) or VG_ERR_PROTOCOL (a malformed
 * message, which ends the exchange: the socket cannot be trusted to be
 * in step any more).
 */
VG_NODISCARD vg_rc vg_bt_mgmt_cmd(vg_bt_mgmt *m, uint16_t op, uint16_t index, const uint8_t *param,
				  size_t len, uint8_t *status, const uint8_t **rparam, size_t *rlen,
				  int timeout_ms);

/*
 * The next event (kept ones first, then from the socket, waiting at most
 * timeout_ms; 0: do not wait). Command replies nobody waits for are
 * skipped. VG_ERR_TIMEOUT: none came; *overflow (may be NULL) set when
 * events were dropped since the last call (the caller should re-read
 * every controller). e->param points into m and lives until the next
 * call on m.
 */
VG_NODISCARD vg_rc vg_bt_mgmt_next(vg_bt_mgmt *m, vg_bt_evt *e, bool *overflow, int timeout_ms);

/* A command's status as a vg_rc: SUCCESS VG_OK; NOT_SUPPORTED
 * VG_ERR_UNSUPPORTED; PERMISSION_DENIED VG_ERR_DENIED; INVALID_INDEX
 * VG_ERR_NOT_FOUND; BUSY, REJECTED, NOT_POWERED, RFKILLED VG_ERR_STATE;
 * INVALID_PARAMS VG_ERR_INVALID; anything else VG_ERR_IO. */
vg_rc vg_bt_status_rc(uint8_t status);

#endif
