/*
 * fuzz_btmgmt.c - libFuzzer harness for the Bluetooth management codec
 * and the policy's reading of kernel replies (src/bluetooth/mgmt.h,
 * policy.h; AVS 1.9-1.12): what the kernel's mgmt socket sends is outside
 * bytes to voxguard.
 *
 * Part 1: the whole input as one message through vg_bt_decode() and, for
 * a Command Complete, every result parser; a decoded message must be
 * self-consistent (param inside the input, lengths as the header says);
 * a New Link Key or New Long Term Key must carry a key within the
 * protocol's bounds, and its Level 4 verdict and name are computed.
 * Part 2: the input cut into messages (a 2-octet length before each)
 * queued on a SOCK_SEQPACKET socketpair as the "kernel", then one
 * vg_bt_enforce() and one watcher step run against them; they must end
 * (timeouts of 1 ms) with no sanitizer report, whatever the replies
 * (a key event there reaches the watcher's unpairing).
 * Seed corpus: fuzz/corpus/btmgmt/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bluetooth/mgmt.h"
#include "bluetooth/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int no_probe(uint16_t index, void *ctx)
{
	(void)index;
	(void)ctx;
	return 1;
}

/* The watcher's reports: why must be one terminated line. */
static void on_report(void *ctx, vg_bt_watch_what what, uint16_t index, vg_rc rc,
		      const vg_bt_ctrl *c, const char *why)
{
	(void)ctx;
	(void)index;
	(void)rc;
	(void)c;
	if (!why || strnlen(why, 256) == 256)
		__builtin_trap();
	if ((what == VG_BT_W_BONDED || what == VG_BT_W_UNPAIRED) && why[0] == '\0')
		__builtin_trap();
}

static void check_key(const vg_bt_evt *e)
{
	const vg_bt_key *k = &e->key;
	const char *name = vg_bt_key_type_str(k);
	uint8_t l4_type = k->le ? VG_BT_LTK_P256_AUTH : VG_BT_LK_AUTH_P256;
	char a[18];

	if (k->le != (e->code == VG_BT_EV_NEW_LONG_TERM_KEY) || k->enc_size > 16 ||
	    (!k->le && k->enc_size != 16) || !name || strlen(name) > 64)
		__builtin_trap();
	if (vg_bt_key_level4(k) && (k->enc_size != 16 || k->key_type != l4_type))
		__builtin_trap();
	if (memcmp(k->addr, e->param + 1, VG_BT_ADDR_LEN) != 0)
		__builtin_trap();
	vg_bt_addr_str(k->addr, a);
}

static void decode_all(const uint8_t *data, size_t size)
{
	vg_bt_evt e;
	vg_bt_info info;
	uint16_t idx[VG_BT_MAX_INDEXES];
	uint32_t s;
	uint8_t v;
	uint16_t r;
	size_t n;
	char names[512], a[18];

	if (vg_bt_decode(data, size, &e) != VG_OK)
		return;
	if (e.param && (e.param < data || e.param + e.param_len > data + size))
		__builtin_trap();
	if (e.code == VG_BT_EV_NEW_LINK_KEY || e.code == VG_BT_EV_NEW_LONG_TERM_KEY) {
		if (e.param_len != (e.code == VG_BT_EV_NEW_LINK_KEY ? 26u : 37u))
			__builtin_trap();
		check_key(&e);
		return;
	}
	if (e.code != VG_BT_EV_CMD_COMPLETE)
		return;
	if (vg_bt_parse_info(e.param, e.param_len, &info) == VG_OK) {
		if (strlen(info.name) > VG_BT_NAME_LEN || strlen(info.short_name) > VG_BT_SHORT_LEN)
			__builtin_trap();
		vg_bt_settings_str(info.current, names, sizeof names);
		vg_bt_addr_str(info.addr, a);
	}
	if (vg_bt_parse_index_list(e.param, e.param_len, idx, VG_BT_MAX_INDEXES, &n) == VG_OK &&
	    n > VG_BT_MAX_INDEXES)
		__builtin_trap();
	(void)vg_bt_parse_settings(e.param, e.param_len, &s);
	(void)vg_bt_parse_version(e.param, e.param_len, &v, &r);
	(void)vg_bt_status_str(e.status);
}

static void run_policy(const uint8_t *data, size_t size)
{
	vg_bt_mgmt *m = NULL;
	vg_bt_policy p;
	vg_bt_ctrl c;
	vg_bt_watch w;
	char why[256];
	int sv[2];
	size_t off = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	/* At most 64 messages queued: the socket's buffer takes them all. */
	for (int k = 0; k < 64 && off + 2 <= size; k++) {
		size_t len = (size_t)data[off] | ((size_t)data[off + 1] << 8);

		off += 2;
		if (len > size - off)
			len = size - off;
		(void)send(sv[1], data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		off += len;
	}
	if (vg_bt_mgmt_from_fd(&m, sv[0]) != VG_OK) {
		(void)close(sv[1]);
		return;
	}
	vg_bt_policy_init(&p);
	p.sc_only_probe = no_probe;
	p.cmd_timeout_ms = 1;
	p.power_timeout_ms = 1;
	(void)vg_bt_enforce(m, 0, &p, &c, why, sizeof why);
	if (vg_bt_watch_start(&w, m, &p, on_report, NULL) == VG_OK)
		for (int k = 0; k < 4 && vg_bt_watch_step(&w, 0, true) == VG_OK; k++)
			;
	vg_bt_mgmt_close(&m);
	(void)close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	decode_all(data, size);
	run_policy(data, size);
	return 0;
}
