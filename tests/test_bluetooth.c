/*
 * test_bluetooth.c - the Bluetooth management codec and policy
 * (src/bluetooth/mgmt.h, policy.h; AVS 1.9-1.12).
 *
 * The build machine's kernel has no Bluetooth, so the policy runs against
 * a fake controller: the other end of a SOCK_SEQPACKET socketpair, served
 * by a thread that answers mgmt commands and keeps each controller's
 * settings with the kernel's rules that matter here (net/bluetooth/mgmt.c,
 * BlueZ doc/mgmt-protocol.rst): Set Privacy is Rejected while powered;
 * Set Secure Connections is Rejected on BR/EDR while SSP is off, and
 * records whether the mode is Only (0x02), which no setting bit shows; a
 * wrong index is Invalid Index; an unknown command Unknown Command.
 *
 * AVS 1.9 (Secure Connections), 1.10/1.11 (Security Mode 4 / Mode 1
 * Level 4: SC Only, authenticated pairing possible), 1.12 (LE Privacy
 * with the service's IRK).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bluetooth/mgmt.h"
#include "bluetooth/policy.h"
#include "common/util.h"

/* ------------------------------------------------------------------ */
/* The fake controller                                                 */

#define F_MAX_CTL 4
#define F_MAX_LOG 256

struct fctl {
	bool present;
	uint16_t index;
	uint32_t sup, cur;
	int sc_only;
	uint8_t irk[16];
	uint8_t io;
	uint8_t addr[6];
};

struct flog {
	uint16_t op, index;
	uint8_t v;
	bool powered; /* the controller was powered when the command came */
	uint8_t status;
	uint8_t param[8]; /* the first octets of the parameters */
	size_t len;       /* the parameters' length */
};

struct fake {
	int fd;   /* the fake's end */
	int user; /* the policy's end (handed to vg_bt_mgmt_from_fd) */
	pthread_t th;
	pthread_mutex_t mu;
	struct fctl c[F_MAX_CTL];
	struct flog log[F_MAX_LOG];
	size_t n_log;
	uint16_t fail_op; /* a command the fake fails with fail_status */
	uint8_t fail_status;
	bool malformed_info; /* Read Info answered with a short result */
	/* An event sent just before the answer to inject_op (once): one
	 * that arrives while the policy waits for a reply. */
	uint16_t inject_op, inject_code, inject_index;
	uint8_t inject[64];
	size_t inject_len;
};

/* A dual-mode Bluetooth 5 controller with SC and privacy: what btvirt
 * emulates (supported settings of a BR/EDR+LE controller). */
#define SUP_DUAL                                                                               \
	(VG_BT_S_POWERED | VG_BT_S_CONNECTABLE | VG_BT_S_FAST_CONN | VG_BT_S_DISCOVERABLE |    \
	 VG_BT_S_BONDABLE | VG_BT_S_LINK_SECURITY | VG_BT_S_SSP | VG_BT_S_BREDR | VG_BT_S_LE | \
	 VG_BT_S_ADVERTISING | VG_BT_S_SECURE_CONN | VG_BT_S_DEBUG_KEYS | VG_BT_S_PRIVACY)
/* What bluetoothd 5.66 leaves: powered, SSP, BR/EDR, LE, SC (0x01). */
#define CUR_BLUEZ                                                                                 \
	(VG_BT_S_POWERED | VG_BT_S_CONNECTABLE | VG_BT_S_BONDABLE | VG_BT_S_SSP | VG_BT_S_BREDR | \
	 VG_BT_S_LE | VG_BT_S_SECURE_CONN)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fsend(int fd, uint16_t code, uint16_t index, const uint8_t *p, size_t len)
{
	uint8_t b[512];

	assert_true(len + 6 <= sizeof b);
	put16(b, code);
	put16(b + 2, index);
	put16(b + 4, (uint16_t)len);
	if (len)
		memcpy(b + 6, p, len);
	assert_int_equal(send(fd, b, len + 6, MSG_NOSIGNAL), (ssize_t)(len + 6));
}

static void reply_status(struct fake *f, uint16_t op, uint16_t index, uint8_t st)
{
	uint8_t p[3];

	put16(p, op);
	p[2] = st;
	fsend(f->fd, VG_BT_EV_CMD_STATUS, index, p, sizeof p);
}

static void reply_complete(struct fake *f, uint16_t op, uint16_t index, const uint8_t *r,
			   size_t len)
{
	uint8_t p[300];

	put16(p, op);
	p[2] = 0;
	if (len)
		memcpy(p + 3, r, len);
	fsend(f->fd, VG_BT_EV_CMD_COMPLETE, index, p, 3 + len);
}

static void reply_settings(struct fake *f, uint16_t op, struct fctl *c)
{
	uint8_t s[4];

	put32(s, c->cur);
	reply_complete(f, op, c->index, s, sizeof s);
}

static struct fctl *find(struct fake *f, uint16_t index)
{
	for (int i = 0; i < F_MAX_CTL; i++)
		if (f->c[i].present && f->c[i].index == index)
			return &f->c[i];
	return NULL;
}

static void setbit(struct fctl *c, uint32_t bit, bool on)
{
	if (on)
		c->cur |= bit;
	else
		c->cur &= ~bit;
}

/* One command: the kernel's answer. Called with f->mu held. */
static void serve(struct fake *f, uint16_t op, uint16_t index, const uint8_t *p, size_t len)
{
	struct fctl *c = find(f, index);
	struct flog *l = f->n_log < F_MAX_LOG ? &f->log[f->n_log++] : NULL;
	uint8_t v = len ? p[0] : 0xff, r[300];
	uint8_t st = 0;

	if (l) {
		memset(l, 0, sizeof *l);
		l->op = op;
		l->index = index;
		l->v = v;
		l->powered = c && (c->cur & VG_BT_S_POWERED);
		l->len = len;
		if (len)
			memcpy(l->param, p, len < sizeof l->param ? len : sizeof l->param);
	}
	if (f->inject_op && op == f->inject_op) {
		f->inject_op = 0;
		fsend(f->fd, f->inject_code, f->inject_index, f->inject, f->inject_len);
	}
#define FAIL(s)            \
	do {               \
		st = (s);  \
		goto fail; \
	} while (0)
	if (op == f->fail_op)
		FAIL(f->fail_status);
	if (op == VG_BT_OP_READ_VERSION) {
		r[0] = 1;
		put16(r + 1, 22);
		reply_complete(f, op, index, r, 3);
		return;
	}
	if (op == VG_BT_OP_READ_INDEX_LIST) {
		size_t n = 0;
		for (int i = 0; i < F_MAX_CTL; i++)
			if (f->c[i].present)
				put16(r + 2 + 2 * n++, f->c[i].index);
		put16(r, (uint16_t)n);
		reply_complete(f, op, index, r, 2 + 2 * n);
		return;
	}
	if (!c)
		FAIL(VG_BT_ST_INVALID_INDEX);
	switch (op) {
	case VG_BT_OP_READ_INFO:
		memset(r, 0, VG_BT_INFO_LEN);
		memcpy(r, c->addr, 6);
		r[6] = 9; /* Bluetooth 5.0 */
		put16(r + 7, 0x05f1);
		put32(r + 9, c->sup);
		put32(r + 13, c->cur);
		memcpy(r + 20, "fake\001ctl", 8); /* a control byte: shown as '?' */
		reply_complete(f, op, index, r, f->malformed_info ? 279 : VG_BT_INFO_LEN);
		return;
	case VG_BT_OP_SET_POWERED:
		if (len != 1)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		if (v > 1)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		setbit(c, VG_BT_S_POWERED, v);
		break;
	case VG_BT_OP_SET_SSP:
		if (len != 1 || v > 1)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		if (!(c->sup & VG_BT_S_SSP) || !(c->cur & VG_BT_S_BREDR))
			FAIL(VG_BT_ST_NOT_SUPPORTED);
		setbit(c, VG_BT_S_SSP, v);
		break;
	case VG_BT_OP_SET_LE:
		if (len != 1 || v > 1)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		if (!(c->sup & VG_BT_S_LE))
			FAIL(VG_BT_ST_NOT_SUPPORTED);
		setbit(c, VG_BT_S_LE, v);
		break;
	case VG_BT_OP_SET_DEBUG_KEYS:
		if (len != 1 || v > 2)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		setbit(c, VG_BT_S_DEBUG_KEYS, v);
		break;
	case VG_BT_OP_SET_BONDABLE:
		if (len != 1 || v > 1)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		setbit(c, VG_BT_S_BONDABLE, v);
		break;
	case VG_BT_OP_SET_SECURE_CONN:
		if (len != 1 || v > 2)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		if (!(c->sup & VG_BT_S_SECURE_CONN))
			FAIL(VG_BT_ST_NOT_SUPPORTED);
		if ((c->cur & VG_BT_S_BREDR) && !(c->cur & VG_BT_S_SSP))
			FAIL(VG_BT_ST_REJECTED);
		setbit(c, VG_BT_S_SECURE_CONN, v != 0);
		c->sc_only = v == 2;
		break;
	case VG_BT_OP_SET_PRIVACY:
		if (len != 17 || v > 2)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		if (!(c->sup & VG_BT_S_PRIVACY))
			FAIL(VG_BT_ST_NOT_SUPPORTED);
		if (c->cur & VG_BT_S_POWERED)
			FAIL(VG_BT_ST_REJECTED);
		setbit(c, VG_BT_S_PRIVACY, v != 0);
		memcpy(c->irk, p + 1, 16);
		break;
	case VG_BT_OP_SET_IO_CAP:
		if (len != 1 || v > 4)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		c->io = v;
		reply_complete(f, op, index, NULL, 0);
		return;
	case VG_BT_OP_UNPAIR_DEVICE:
		/* addr, addr type, disconnect; the result: addr and type. */
		if (len != 8 || p[6] > VG_BT_ADDR_LE_RANDOM || p[7] > 1)
			FAIL(VG_BT_ST_INVALID_PARAMS);
		reply_complete(f, op, index, p, 7);
		return;
	default:
		FAIL(VG_BT_ST_UNKNOWN_COMMAND);
	}
	reply_settings(f, op, c);
	return;
fail:
	if (l)
		l->status = st;
	reply_status(f, op, index, st);
#undef FAIL
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t b[600];

	for (;;) {
		ssize_t n = recv(f->fd, b, sizeof b, 0);
		uint16_t len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 6)
			break;
		len = (uint16_t)(b[4] | (b[5] << 8));
		if ((size_t)n != 6u + len)
			break;
		pthread_mutex_lock(&f->mu);
		serve(f, (uint16_t)(b[0] | (b[1] << 8)), (uint16_t)(b[2] | (b[3] << 8)), b + 6,
		      len);
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

static void fake_add(struct fake *f, uint16_t index, uint32_t sup, uint32_t cur)
{
	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < F_MAX_CTL; i++)
		if (!f->c[i].present) {
			memset(&f->c[i], 0, sizeof f->c[i]);
			f->c[i].present = true;
			f->c[i].index = index;
			f->c[i].sup = sup;
			f->c[i].cur = cur;
			f->c[i].io = VG_BT_IO_NO_INPUT_OUTPUT; /* bluetoothd without an agent */
			for (int k = 0; k < 6; k++)
				f->c[i].addr[k] = (uint8_t)(0x10 * index + k);
			break;
		}
	pthread_mutex_unlock(&f->mu);
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof *f);
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->user = sv[0];
	f->fd = sv[1];
	pthread_mutex_init(&f->mu, NULL);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	return f;
}

/* The policy's end as a vg_bt_mgmt (owned by the caller). */
static vg_bt_mgmt *fake_mgmt(struct fake *f)
{
	vg_bt_mgmt *m = NULL;

	assert_int_equal(vg_bt_mgmt_from_fd(&m, f->user), VG_OK);
	f->user = -1;
	return m;
}

static void fake_free(struct fake *f, vg_bt_mgmt **m)
{
	vg_bt_mgmt_close(m); /* the fake's recv() sees the end */
	if (f->user >= 0)
		(void)close(f->user);
	pthread_join(f->th, NULL);
	(void)close(f->fd);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static int fake_sc_only(uint16_t index, void *ctx)
{
	struct fake *f = ctx;
	struct fctl *c;
	int v;

	pthread_mutex_lock(&f->mu);
	c = find(f, index);
	v = c ? c->sc_only : -1;
	pthread_mutex_unlock(&f->mu);
	return v;
}

static void policy_for(vg_bt_policy *p, struct fake *f)
{
	vg_bt_policy_init(p);
	for (int i = 0; i < 16; i++)
		p->irk[i] = (uint8_t)(0xA0 + i);
	p->sc_only_probe = fake_sc_only;
	p->sc_only_ctx = f;
	p->cmd_timeout_ms = 2000;
	p->power_timeout_ms = 2000;
}

/* The position in the log of the first command op to index (-1: none). */
static int log_find(struct fake *f, uint16_t op, uint16_t index, size_t from)
{
	for (size_t i = from; i < f->n_log; i++)
		if (f->log[i].op == op && f->log[i].index == index)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* The codec                                                           */

/* AVS 1.9: Set Secure Connections 0x02 is 2D 00 | index | 01 00 | 02. */
static void test_avs19_codec_encode_set_sc_only(void **state)
{
	uint8_t out[16], v = VG_BT_SC_ONLY;
	size_t n = 0;

	(void)state;
	assert_int_equal(vg_bt_encode(VG_BT_OP_SET_SECURE_CONN, 0x0102, &v, 1, out, sizeof out, &n),
			 VG_OK);
	const uint8_t want[] = {0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x02};
	assert_int_equal(n, sizeof want);
	assert_memory_equal(out, want, sizeof want);
	/* No parameters: the header alone. */
	assert_int_equal(
	    vg_bt_encode(VG_BT_OP_READ_INDEX_LIST, VG_BT_INDEX_NONE, NULL, 0, out, sizeof out, &n),
	    VG_OK);
	const uint8_t want2[] = {0x03, 0x00, 0xff, 0xff, 0x00, 0x00};
	assert_int_equal(n, 6);
	assert_memory_equal(out, want2, 6);
}

/* AVS 1.12: Set Privacy carries the privacy octet and the 16-octet IRK. */
static void test_avs112_codec_encode_set_privacy(void **state)
{
	uint8_t p[17], out[32];
	size_t n = 0;

	(void)state;
	p[0] = 1;
	for (int i = 0; i < 16; i++)
		p[1 + i] = (uint8_t)i;
	assert_int_equal(vg_bt_encode(VG_BT_OP_SET_PRIVACY, 0, p, 17, out, sizeof out, &n), VG_OK);
	assert_int_equal(n, 23);
	assert_int_equal(out[0], 0x2f);
	assert_int_equal(out[4], 17);
	assert_memory_equal(out + 6, p, 17);
	/* Too small a buffer: nothing written, an error. */
	assert_int_equal(vg_bt_encode(VG_BT_OP_SET_PRIVACY, 0, p, 17, out, 22, &n),
			 VG_ERR_TOO_LARGE);
	assert_int_equal(n, 0);
	assert_int_equal(vg_bt_encode(VG_BT_OP_SET_PRIVACY, 0, NULL, 1, out, sizeof out, &n),
			 VG_ERR_INVALID);
}

static size_t mk(uint8_t *b, uint16_t code, uint16_t index, const uint8_t *p, size_t len)
{
	put16(b, code);
	put16(b + 2, index);
	put16(b + 4, (uint16_t)len);
	if (len)
		memcpy(b + 6, p, len);
	return 6 + len;
}

/* A peer as sent (least significant octet first): 00:1A:7D:DA:71:13. */
static const uint8_t PEER[6] = {0x13, 0x71, 0xda, 0x7d, 0x1a, 0x00};
#define PEER_STR "00:1A:7D:DA:71:13"

/* New Long Term Key's 37 octets: store_hint, addr, addr_type, key_type,
 * central, enc_size, ediv[2], rand[8], value[16]. */
static size_t ltk_param(uint8_t p[static 37], const uint8_t addr[static 6], uint8_t addr_type,
			uint8_t type, uint8_t enc_size)
{
	memset(p, 0x5a, 37);
	p[0] = 1;
	memcpy(p + 1, addr, 6);
	p[7] = addr_type;
	p[8] = type;
	p[9] = 0;
	p[10] = enc_size;
	return 37;
}

/* New Link Key's 26 octets: store_hint, addr, addr_type, key_type,
 * value[16], pin_len. */
static size_t lk_param(uint8_t p[static 26], const uint8_t addr[static 6], uint8_t addr_type,
		       uint8_t type)
{
	memset(p, 0x5a, 26);
	p[0] = 1;
	memcpy(p + 1, addr, 6);
	p[7] = addr_type;
	p[8] = type;
	p[25] = 0;
	return 26;
}

/* AVS 1.9: the events the policy acts on decode to their fields. */
static void test_avs19_codec_decode_events(void **state)
{
	uint8_t b[400], p[300];
	vg_bt_evt e;
	size_t n;

	(void)state;
	/* Command Complete of Set SC with Current_Settings. */
	put16(p, VG_BT_OP_SET_SECURE_CONN);
	p[2] = 0;
	put32(p + 3, VG_BT_S_SECURE_CONN | VG_BT_S_LE);
	n = mk(b, VG_BT_EV_CMD_COMPLETE, 3, p, 7);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.code, VG_BT_EV_CMD_COMPLETE);
	assert_int_equal(e.index, 3);
	assert_int_equal(e.opcode, VG_BT_OP_SET_SECURE_CONN);
	assert_int_equal(e.status, 0);
	uint32_t s = 0;
	assert_int_equal(vg_bt_parse_settings(e.param, e.param_len, &s), VG_OK);
	assert_int_equal(s, VG_BT_S_SECURE_CONN | VG_BT_S_LE);
	/* Command Status. */
	put16(p, VG_BT_OP_SET_PRIVACY);
	p[2] = VG_BT_ST_REJECTED;
	n = mk(b, VG_BT_EV_CMD_STATUS, 0, p, 3);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.opcode, VG_BT_OP_SET_PRIVACY);
	assert_int_equal(e.status, VG_BT_ST_REJECTED);
	assert_int_equal(e.param_len, 0);
	/* Index Added / Removed, New Settings. */
	n = mk(b, VG_BT_EV_INDEX_ADDED, 7, NULL, 0);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.code, VG_BT_EV_INDEX_ADDED);
	assert_int_equal(e.index, 7);
	n = mk(b, VG_BT_EV_INDEX_REMOVED, 7, NULL, 0);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.code, VG_BT_EV_INDEX_REMOVED);
	put32(p, 0x00002a41);
	n = mk(b, VG_BT_EV_NEW_SETTINGS, 1, p, 4);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.settings, 0x00002a41);
	/* An event we do not know: passed through, not parsed. */
	n = mk(b, 0x0025, 1, p, 4);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.code, 0x0025);
	assert_int_equal(e.param_len, 4);

	/* Read Controller Information and the index list. */
	memset(p, 0, VG_BT_INFO_LEN);
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)(0x11 * (i + 1));
	p[6] = 9;
	put16(p + 7, 2);
	put32(p + 9, SUP_DUAL);
	put32(p + 13, CUR_BLUEZ);
	memcpy(p + 20, "speaker\x1b[31m", 12);
	memset(p + 20 + 249, 'S', 11); /* a short name with no NUL */
	vg_bt_info info;
	assert_int_equal(vg_bt_parse_info(p, VG_BT_INFO_LEN, &info), VG_OK);
	assert_int_equal(info.supported, SUP_DUAL);
	assert_int_equal(info.current, CUR_BLUEZ);
	assert_int_equal(info.manufacturer, 2);
	assert_string_equal(info.name, "speaker?[31m"); /* no escape reaches a terminal */
	assert_string_equal(info.short_name, "SSSSSSSSSSS");
	char a[18];
	vg_bt_addr_str(info.addr, a);
	assert_string_equal(a, "66:55:44:33:22:11");

	uint16_t idx[4];
	put16(p, 2);
	put16(p + 2, 0);
	put16(p + 4, 5);
	assert_int_equal(vg_bt_parse_index_list(p, 6, idx, 4, &n), VG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(idx[1], 5);
	uint8_t ver = 0;
	uint16_t rev = 0;
	p[0] = 1;
	put16(p + 1, 22);
	assert_int_equal(vg_bt_parse_version(p, 3, &ver, &rev), VG_OK);
	assert_int_equal(ver, 1);
	assert_int_equal(rev, 22);

	char names[200];
	vg_bt_settings_str(VG_BT_S_POWERED | VG_BT_S_SECURE_CONN | (1u << 30), names, sizeof names);
	assert_string_equal(names, "powered secure-conn bit30");
	vg_bt_settings_str(0xffffffffu, names, 10); /* truncated, terminated */
	assert_int_equal(strlen(names), 9);
	assert_string_equal(vg_bt_status_str(0x0b), "Rejected");
	assert_string_equal(vg_bt_status_str(0xee), "unknown status");
}

/* AVS 1.9: malformed kernel messages are refused, nothing half-parsed. */
static void test_avs19_codec_malformed(void **state)
{
	uint8_t b[400], p[300];
	vg_bt_evt e;
	size_t n;

	(void)state;
	memset(p, 0, sizeof p);
	assert_int_equal(vg_bt_decode(NULL, 0, &e), VG_ERR_PROTOCOL);
	assert_int_equal(vg_bt_decode(b, 5, &e), VG_ERR_PROTOCOL); /* short header */
	/* The header says more than follows, or less. */
	n = mk(b, VG_BT_EV_NEW_SETTINGS, 0, p, 4);
	assert_int_equal(vg_bt_decode(b, n - 1, &e), VG_ERR_PROTOCOL);
	b[4] = 3;
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	assert_int_equal(e.code, 0); /* zeroed */
	/* New Settings of 3 or 5 octets. */
	n = mk(b, VG_BT_EV_NEW_SETTINGS, 0, p, 3);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	n = mk(b, VG_BT_EV_NEW_SETTINGS, 0, p, 5);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	/* Command Complete under 3 octets; Command Status not 3. */
	n = mk(b, VG_BT_EV_CMD_COMPLETE, 0, p, 2);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	n = mk(b, VG_BT_EV_CMD_STATUS, 0, p, 4);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	n = mk(b, VG_BT_EV_CMD_STATUS, 0, p, 2);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	/* Index Added with parameters. */
	n = mk(b, VG_BT_EV_INDEX_ADDED, 0, p, 1);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	n = mk(b, VG_BT_EV_INDEX_REMOVED, 0, p, 2);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);

	/* Results of the wrong length. */
	vg_bt_info info;
	info.supported = 1;
	assert_int_equal(vg_bt_parse_info(p, VG_BT_INFO_LEN - 1, &info), VG_ERR_PROTOCOL);
	assert_int_equal(info.supported, 0);
	assert_int_equal(vg_bt_parse_info(p, VG_BT_INFO_LEN + 1, &info), VG_ERR_PROTOCOL);
	assert_int_equal(vg_bt_parse_info(NULL, VG_BT_INFO_LEN, &info), VG_ERR_PROTOCOL);
	uint32_t s = 7;
	assert_int_equal(vg_bt_parse_settings(p, 3, &s), VG_ERR_PROTOCOL);
	assert_int_equal(s, 0);
	assert_int_equal(vg_bt_parse_settings(NULL, 0, &s), VG_ERR_PROTOCOL);
	uint8_t ver;
	uint16_t rev;
	assert_int_equal(vg_bt_parse_version(p, 2, &ver, &rev), VG_ERR_PROTOCOL);
	/* An index list whose count disagrees with its length, or too long. */
	uint16_t idx[2];
	put16(p, 3);
	assert_int_equal(vg_bt_parse_index_list(p, 6, idx, 2, &n), VG_ERR_PROTOCOL);
	assert_int_equal(n, 0);
	assert_int_equal(vg_bt_parse_index_list(p, 1, idx, 2, &n), VG_ERR_PROTOCOL);
	put16(p, 0xffff); /* a count far beyond the length */
	assert_int_equal(vg_bt_parse_index_list(p, 6, idx, 2, &n), VG_ERR_PROTOCOL);
	put16(p, 3);
	assert_int_equal(vg_bt_parse_index_list(p, 8, idx, 2, &n), VG_ERR_TOO_LARGE);
	assert_int_equal(n, 0);
}

/* AVS 1.10/1.11: New Link Key and New Long Term Key decode to the bond's
 * peer, address type, key type and size; any other length, or an LTK of
 * more than 16 octets, is refused with nothing half-parsed; Level 4 is an
 * authenticated P-256 key of 16 octets and nothing else. */
static void test_avs111_codec_decode_new_keys(void **state)
{
	static const size_t bad_len[] = {0, 25, 27, 36, 38};
	static const uint16_t codes[] = {VG_BT_EV_NEW_LINK_KEY, VG_BT_EV_NEW_LONG_TERM_KEY};
	static const uint8_t ltk_no[] = {VG_BT_LTK_UNAUTH, VG_BT_LTK_AUTH, VG_BT_LTK_P256_UNAUTH,
					 VG_BT_LTK_P256_DEBUG};
	static const uint8_t lk_no[] = {0x04, 0x05, 0x07, 0x00};
	uint8_t b[128], p[64];
	vg_bt_evt e, zero;
	char a[18];
	size_t n;

	(void)state;
	memset(&zero, 0, sizeof zero);
	/* New Long Term Key: an authenticated P-256 LTK of 16 octets. */
	n = mk(b, VG_BT_EV_NEW_LONG_TERM_KEY, 2, p,
	       ltk_param(p, PEER, VG_BT_ADDR_LE_RANDOM, VG_BT_LTK_P256_AUTH, 16));
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.code, VG_BT_EV_NEW_LONG_TERM_KEY);
	assert_int_equal(e.index, 2);
	assert_int_equal(e.param_len, 37);
	assert_memory_equal(e.key.addr, PEER, 6);
	assert_int_equal(e.key.addr_type, VG_BT_ADDR_LE_RANDOM);
	assert_int_equal(e.key.key_type, VG_BT_LTK_P256_AUTH);
	assert_int_equal(e.key.enc_size, 16);
	assert_true(e.key.le);
	vg_bt_addr_str(e.key.addr, a);
	assert_string_equal(a, PEER_STR);
	assert_true(vg_bt_key_level4(&e.key));
	assert_non_null(strstr(vg_bt_key_type_str(&e.key), "P-256"));
	/* The same with 7 octets: decoded, not Level 4. */
	n = mk(b, VG_BT_EV_NEW_LONG_TERM_KEY, 0, p,
	       ltk_param(p, PEER, VG_BT_ADDR_LE_PUBLIC, VG_BT_LTK_P256_AUTH, 7));
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.key.enc_size, 7);
	assert_int_equal(e.key.addr_type, VG_BT_ADDR_LE_PUBLIC);
	assert_false(vg_bt_key_level4(&e.key));
	/* 16 octets at most: 17 and 255 are malformed. */
	n = mk(b, VG_BT_EV_NEW_LONG_TERM_KEY, 0, p,
	       ltk_param(p, PEER, VG_BT_ADDR_LE_PUBLIC, VG_BT_LTK_P256_AUTH, 17));
	memset(&e, 0xa5, sizeof e);
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	assert_memory_equal(&e, &zero, sizeof e);
	n = mk(b, VG_BT_EV_NEW_LONG_TERM_KEY, 0, p,
	       ltk_param(p, PEER, VG_BT_ADDR_LE_PUBLIC, VG_BT_LTK_P256_AUTH, 255));
	assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
	assert_memory_equal(&e, &zero, sizeof e);

	/* New Link Key: an authenticated P-256 combination key. */
	n = mk(b, VG_BT_EV_NEW_LINK_KEY, 1, p, lk_param(p, PEER, VG_BT_ADDR_BREDR, 0x08));
	assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
	assert_int_equal(e.code, VG_BT_EV_NEW_LINK_KEY);
	assert_int_equal(e.index, 1);
	assert_int_equal(e.param_len, 26);
	assert_memory_equal(e.key.addr, PEER, 6);
	assert_int_equal(e.key.addr_type, VG_BT_ADDR_BREDR);
	assert_int_equal(e.key.key_type, VG_BT_LK_AUTH_P256);
	assert_int_equal(e.key.enc_size, 16);
	assert_false(e.key.le);
	assert_true(vg_bt_key_level4(&e.key));
	assert_non_null(strstr(vg_bt_key_type_str(&e.key), "P-256"));

	/* Every other length of either event: refused, *e zeroed. */
	for (size_t c = 0; c < VG_ARRAY_LEN(codes); c++)
		for (size_t i = 0; i < VG_ARRAY_LEN(bad_len); i++) {
			memset(p, 0, sizeof p);
			memcpy(p + 1, PEER, 6);
			p[8] = 0x03;
			p[10] = 16; /* a valid LTK size: only the length is wrong */
			n = mk(b, codes[c], 0, p, bad_len[i]);
			memset(&e, 0xa5, sizeof e);
			assert_int_equal(vg_bt_decode(b, n, &e), VG_ERR_PROTOCOL);
			assert_memory_equal(&e, &zero, sizeof e);
		}

	/* Level 4 verdicts: LE legacy (Just Works, passkey), P-256
	 * unauthenticated and debug keys are not; neither is a short key. */
	for (size_t i = 0; i < VG_ARRAY_LEN(ltk_no); i++) {
		n = mk(b, VG_BT_EV_NEW_LONG_TERM_KEY, 0, p,
		       ltk_param(p, PEER, VG_BT_ADDR_LE_PUBLIC, ltk_no[i], 16));
		assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
		assert_int_equal(e.key.key_type, ltk_no[i]);
		assert_false(vg_bt_key_level4(&e.key));
		assert_non_null(vg_bt_key_type_str(&e.key));
		assert_true(vg_bt_key_type_str(&e.key)[0] != '\0');
	}
	/* BR/EDR: P-192 (unauthenticated, authenticated), P-256
	 * unauthenticated and legacy combination keys are not. */
	for (size_t i = 0; i < VG_ARRAY_LEN(lk_no); i++) {
		n = mk(b, VG_BT_EV_NEW_LINK_KEY, 0, p,
		       lk_param(p, PEER, VG_BT_ADDR_BREDR, lk_no[i]));
		assert_int_equal(vg_bt_decode(b, n, &e), VG_OK);
		assert_int_equal(e.key.key_type, lk_no[i]);
		assert_false(vg_bt_key_level4(&e.key));
		assert_non_null(vg_bt_key_type_str(&e.key));
		assert_true(vg_bt_key_type_str(&e.key)[0] != '\0');
	}
	/* The same type numbers mean other things on the other transport:
	 * an LTK of type 0x08 and a link key of type 0x03 are not Level 4. */
	vg_bt_key k = {.key_type = 0x08, .enc_size = 16, .le = true};
	assert_false(vg_bt_key_level4(&k));
	k = (vg_bt_key){.key_type = VG_BT_LTK_P256_AUTH, .enc_size = 16, .le = false};
	assert_false(vg_bt_key_level4(&k));
}

/* AVS 1.9: a malformed reply on the socket ends the exchange with an
 * error; the policy names it. */
static void test_avs19_transport_malformed_reply(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	f->malformed_info = true;
	policy_for(&p, f);
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_ERR_PROTOCOL);
	assert_non_null(strstr(why, "malformed controller information"));
	fake_free(f, &m);
}

/* AVS 1.9: no Bluetooth in the kernel is said in one clear line. */
static void test_avs19_transport_no_bluetooth(void **state)
{
	vg_bt_mgmt *m = NULL;
	char why[256] = "";
	int fd;

	(void)state;
	fd = socket(VG_BT_AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, VG_BT_BTPROTO_HCI);
	if (fd >= 0) {
		(void)close(fd);
		skip(); /* this kernel has Bluetooth: the message is not reachable here */
	}
	assert_int_equal(vg_bt_mgmt_open(&m, why, sizeof why), VG_ERR_UNSUPPORTED);
	assert_null(m);
	assert_string_equal(why, "this kernel has no Bluetooth (AF_BLUETOOTH not supported)");
	vg_bt_mgmt_close(&m); /* NULL-safe */
}

/* ------------------------------------------------------------------ */
/* The policy against the fake controller                              */

/* AVS 1.9/1.10/1.11: enforce powers off, sets SSP, then SC Only while
 * powered off, and powers back on; the read-back is compliant and the
 * fake holds SC Only. */
static void test_avs19_enforce_sc_only_powered_off(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];
	int off, ssp, sc, on;

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	assert_int_equal(vg_bt_enforce(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_true(c.compliant);
	assert_int_equal(c.sc_only, 1);
	assert_true(c.info.current & VG_BT_S_POWERED);
	assert_true(c.info.current & VG_BT_S_SECURE_CONN);

	pthread_mutex_lock(&f->mu);
	off = log_find(f, VG_BT_OP_SET_POWERED, 0, 0);
	ssp = log_find(f, VG_BT_OP_SET_SSP, 0, 0);
	sc = log_find(f, VG_BT_OP_SET_SECURE_CONN, 0, 0);
	on = log_find(f, VG_BT_OP_SET_POWERED, 0, (size_t)off + 1);
	assert_true(off >= 0 && ssp > off && sc > ssp && on > sc);
	assert_int_equal(f->log[off].v, 0);
	assert_int_equal(f->log[sc].v, VG_BT_SC_ONLY);
	assert_false(f->log[sc].powered);
	assert_int_equal(f->log[on].v, 1);
	assert_int_equal(f->c[0].sc_only, 1);
	assert_false(f->c[0].cur & VG_BT_S_DEBUG_KEYS);
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.12: LE Privacy on with the service's IRK, sent while powered off
 * (the kernel refuses it otherwise). */
static void test_avs112_enforce_privacy_with_irk(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];
	int i;

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	assert_int_equal(vg_bt_enforce(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_true(c.privacy);
	pthread_mutex_lock(&f->mu);
	i = log_find(f, VG_BT_OP_SET_PRIVACY, 0, 0);
	assert_true(i >= 0);
	assert_int_equal(f->log[i].v, 1);
	assert_false(f->log[i].powered);
	assert_int_equal(f->log[i].status, 0);
	assert_memory_equal(f->c[0].irk, p.irk, 16);
	assert_true(f->c[0].cur & VG_BT_S_PRIVACY);
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.12: the fake is strict: Set Privacy on a powered controller is
 * Rejected, and the policy would report it (proves the test above can
 * fail). */
static void test_avs112_privacy_refused_while_powered(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	uint8_t priv[17] = {1}, st = 0;

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	assert_int_equal(
	    vg_bt_mgmt_cmd(m, VG_BT_OP_SET_PRIVACY, 0, priv, sizeof priv, &st, NULL, NULL, 2000),
	    VG_OK);
	assert_int_equal(st, VG_BT_ST_REJECTED);
	assert_int_equal(vg_bt_status_rc(st), VG_ERR_STATE);
	fake_free(f, &m);
}

/* AVS 1.10/1.11: bondable as configured and an IO capability that allows
 * authenticated (MITM-protected) pairing. */
static void test_avs110_enforce_bondable_and_io_cap(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	p.bondable = false;
	assert_int_equal(vg_bt_enforce(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_false(c.info.current & VG_BT_S_BONDABLE);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(f->c[0].io, VG_BT_IO_KEYBOARD_DISPLAY);
	pthread_mutex_unlock(&f->mu);
	/* And back to bondable. */
	p.bondable = true;
	assert_int_equal(vg_bt_enforce(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_true(c.info.current & VG_BT_S_BONDABLE);
	fake_free(f, &m);
}

/* AVS 1.9: a powered-off controller stays off; an LE-only controller
 * (no SSP, no BR/EDR) gets SC Only and privacy, and no SSP command. */
static void test_avs19_enforce_le_only_powered_off(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];
	uint32_t sup = VG_BT_S_POWERED | VG_BT_S_BONDABLE | VG_BT_S_LE | VG_BT_S_SECURE_CONN |
		       VG_BT_S_PRIVACY | VG_BT_S_ADVERTISING;

	(void)state;
	fake_add(f, 2, sup, VG_BT_S_LE);
	policy_for(&p, f);
	assert_int_equal(vg_bt_enforce(m, 2, &p, &c, why, sizeof why), VG_OK);
	assert_true(c.compliant);
	assert_false(c.info.current & VG_BT_S_POWERED);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(log_find(f, VG_BT_OP_SET_SSP, 2, 0), -1);
	assert_int_equal(log_find(f, VG_BT_OP_SET_POWERED, 2, 0), -1);
	assert_int_equal(log_find(f, VG_BT_OP_SET_DEBUG_KEYS, 2, 0), -1);
	assert_int_equal(f->c[0].sc_only, 1);
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.9: a controller without Secure Connections cannot comply: an
 * error naming why, and nothing changed. */
static void test_avs19_enforce_unsupported_controller(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];

	(void)state;
	fake_add(f, 0, SUP_DUAL & ~(VG_BT_S_SECURE_CONN | VG_BT_S_PRIVACY),
		 CUR_BLUEZ & ~VG_BT_S_SECURE_CONN);
	policy_for(&p, f);
	assert_int_equal(vg_bt_enforce(m, 0, &p, &c, why, sizeof why), VG_ERR_UNSUPPORTED);
	assert_non_null(strstr(why, "does not support Secure Connections"));
	assert_false(c.compliant);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(f->n_log, 1); /* only Read Controller Information */
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.9: a kernel refusal is named with its status, and a controller
 * that was on is powered on again. */
static void test_avs19_enforce_kernel_refusal(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	f->fail_op = VG_BT_OP_SET_SECURE_CONN;
	f->fail_status = VG_BT_ST_BUSY;
	policy_for(&p, f);
	assert_int_equal(vg_bt_enforce(m, 0, &p, &c, why, sizeof why), VG_ERR_STATE);
	assert_string_equal(why, "hci0: set secure connections only: the kernel said Busy (0x0a)");
	pthread_mutex_lock(&f->mu);
	assert_true(f->c[0].cur & VG_BT_S_POWERED);
	assert_int_equal(f->c[0].sc_only, 0);
	pthread_mutex_unlock(&f->mu);
	/* A wrong index: Invalid Index. */
	f->fail_op = 0;
	assert_int_equal(vg_bt_enforce(m, 9, &p, &c, why, sizeof why), VG_ERR_NOT_FOUND);
	assert_non_null(strstr(why, "Invalid Index"));
	fake_free(f, &m);
}

/* AVS 1.9/1.10/1.12: check's verdicts on each way of not complying. */
static void test_avs19_check_verdicts(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_ctrl c;
	char why[256];

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ); /* bluetoothd 5.66: SC 0x01, no privacy */
	policy_for(&p, f);
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_false(c.compliant);
	assert_true(c.sc);
	assert_int_equal(c.sc_only, 0);
	assert_non_null(strstr(c.why, "not Only"));
	assert_string_equal(c.info.name, "fake?ctl");

	/* SC Only, privacy off. */
	pthread_mutex_lock(&f->mu);
	f->c[0].sc_only = 1;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_false(c.compliant);
	assert_false(c.privacy);
	assert_non_null(strstr(c.why, "AVS 1.12"));

	/* Privacy on, debug keys on. */
	pthread_mutex_lock(&f->mu);
	f->c[0].cur |= VG_BT_S_PRIVACY | VG_BT_S_DEBUG_KEYS;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_false(c.compliant);
	assert_non_null(strstr(c.why, "debug keys"));

	/* All good. */
	pthread_mutex_lock(&f->mu);
	f->c[0].cur &= ~VG_BT_S_DEBUG_KEYS;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_true(c.compliant);
	assert_string_equal(c.why, "");

	/* SC Only unknown (no debugfs): not a failure, reported as -1. */
	p.sc_only_probe = NULL; /* the debugfs probe: no Bluetooth here */
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_int_equal(c.sc_only, -1);
	assert_true(c.compliant);

	/* SC off. */
	pthread_mutex_lock(&f->mu);
	f->c[0].cur &= ~VG_BT_S_SECURE_CONN;
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_false(c.compliant);
	assert_non_null(strstr(c.why, "Secure Connections is off (AVS 1.9)"));
	fake_free(f, &m);
}

/* AVS 1.11: with sc_mode VG_BT_SC_ON (a kernel whose SC Only mode drops
 * LE links), enforce sends Set Secure Connections 0x01 and the result is
 * compliant although SC Only is known to be off; the default policy
 * (Only) judges the same controller not compliant. */
static void test_avs111_enforce_sc_on_mode(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p, q;
	vg_bt_ctrl c;
	char why[256];
	int sc;

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	assert_int_equal(p.sc_mode, VG_BT_SC_ONLY); /* the default */
	p.sc_mode = VG_BT_SC_ON;
	assert_int_equal(vg_bt_enforce(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_true(c.compliant);
	assert_true(c.sc);
	assert_true(c.sc_on_enough);
	assert_int_equal(c.sc_only, 0);
	assert_true(c.privacy);
	assert_string_equal(c.why, "");
	pthread_mutex_lock(&f->mu);
	sc = log_find(f, VG_BT_OP_SET_SECURE_CONN, 0, 0);
	assert_true(sc >= 0);
	assert_int_equal(f->log[sc].len, 1);
	assert_int_equal(f->log[sc].v, VG_BT_SC_ON);
	assert_int_equal(f->log[sc].status, 0);
	assert_int_equal(log_find(f, VG_BT_OP_SET_SECURE_CONN, 0, (size_t)sc + 1), -1);
	assert_int_equal(f->c[0].sc_only, 0);
	assert_true(f->c[0].cur & VG_BT_S_SECURE_CONN);
	pthread_mutex_unlock(&f->mu);

	/* The default policy: the same controller is not compliant. */
	policy_for(&q, f);
	assert_int_equal(vg_bt_read(m, 0, &q, &c, why, sizeof why), VG_OK);
	assert_false(c.compliant);
	assert_false(c.sc_on_enough);
	assert_int_equal(c.sc_only, 0);
	assert_non_null(strstr(c.why, "not Only"));
	/* And the SC-on policy still judges it compliant. */
	assert_int_equal(vg_bt_read(m, 0, &p, &c, why, sizeof why), VG_OK);
	assert_true(c.compliant);
	fake_free(f, &m);
}

/* ------------------------------------------------------------------ */
/* The watcher                                                         */

struct seen {
	unsigned enforced[8], removed, throttled, bonded, unpaired;
	vg_rc last_rc;
	uint16_t last_index;
	char last_why[256]; /* of the last BONDED or UNPAIRED */
};

static void on_report(void *ctx, vg_bt_watch_what what, uint16_t index, vg_rc rc,
		      const vg_bt_ctrl *c, const char *why)
{
	struct seen *s = ctx;

	(void)c;
	if (what == VG_BT_W_ENFORCED && index < 8)
		s->enforced[index]++;
	else if (what == VG_BT_W_REMOVED)
		s->removed++;
	else if (what == VG_BT_W_THROTTLED)
		s->throttled++;
	if (what == VG_BT_W_BONDED || what == VG_BT_W_UNPAIRED) {
		if (what == VG_BT_W_BONDED)
			s->bonded++;
		else
			s->unpaired++;
		assert_non_null(why);
		(void)snprintf(s->last_why, sizeof s->last_why, "%s", why);
	}
	s->last_index = index;
	s->last_rc = rc;
}

/* AVS 1.9/1.12: the watcher enforces every controller at start, and a
 * controller that appears (Index Added) at once. */
static void test_avs19_watch_index_added(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	assert_int_equal(vg_bt_watch_start(&w, m, &p, on_report, &s), VG_OK);
	assert_int_equal(s.enforced[0], 1);
	assert_int_equal(s.last_rc, VG_OK);
	/* Nothing happens: a timeout, nothing enforced. */
	assert_int_equal(vg_bt_watch_step(&w, 50, false), VG_ERR_TIMEOUT);
	assert_int_equal(s.enforced[0], 1);

	fake_add(f, 1, SUP_DUAL, CUR_BLUEZ);
	fsend(f->fd, VG_BT_EV_INDEX_ADDED, 1, NULL, 0);
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.enforced[1], 1);
	assert_int_equal(s.last_rc, VG_OK);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(f->c[1].sc_only, 1);
	assert_true(f->c[1].cur & VG_BT_S_PRIVACY);
	pthread_mutex_unlock(&f->mu);

	fsend(f->fd, VG_BT_EV_INDEX_REMOVED, 1, NULL, 0);
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.removed, 1);
	fake_free(f, &m);
}

/* AVS 1.9/1.12: a New Settings that drops a setting (bluetoothd turning
 * privacy off, say) is repaired; one that keeps the policy is left be. */
static void test_avs112_watch_drift_repaired(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};
	uint8_t st[4];
	uint32_t cur;
	size_t before;

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	assert_int_equal(vg_bt_watch_start(&w, m, &p, on_report, &s), VG_OK);
	assert_int_equal(s.enforced[0], 1);

	/* A compliant change (discoverable on): nothing sent. */
	pthread_mutex_lock(&f->mu);
	f->c[0].cur |= VG_BT_S_DISCOVERABLE;
	cur = f->c[0].cur;
	before = f->n_log;
	pthread_mutex_unlock(&f->mu);
	put32(st, cur);
	fsend(f->fd, VG_BT_EV_NEW_SETTINGS, 0, st, 4);
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.enforced[0], 1);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(f->n_log, before);
	/* Privacy dropped by someone else. */
	f->c[0].cur &= ~VG_BT_S_PRIVACY;
	cur = f->c[0].cur;
	pthread_mutex_unlock(&f->mu);
	put32(st, cur);
	fsend(f->fd, VG_BT_EV_NEW_SETTINGS, 0, st, 4);
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.enforced[0], 2);
	assert_int_equal(s.last_rc, VG_OK);
	pthread_mutex_lock(&f->mu);
	assert_true(f->c[0].cur & VG_BT_S_PRIVACY);
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.10: SC Only turned back into plain SC (bluetoothd 5.66 sends Set
 * Secure Connections 0x01) changes no settings bit: the periodic recheck
 * finds and repairs it. */
static void test_avs110_watch_recheck_sc_only(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	assert_int_equal(vg_bt_watch_start(&w, m, &p, on_report, &s), VG_OK);
	pthread_mutex_lock(&f->mu);
	f->c[0].sc_only = 0;
	pthread_mutex_unlock(&f->mu);
	/* Without a recheck nothing notices... */
	assert_int_equal(vg_bt_watch_step(&w, 20, false), VG_ERR_TIMEOUT);
	assert_int_equal(s.enforced[0], 1);
	/* ...with one, it is repaired. */
	assert_int_equal(vg_bt_watch_step(&w, 20, true), VG_ERR_TIMEOUT);
	assert_int_equal(s.enforced[0], 2);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(f->c[0].sc_only, 1);
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.9: a program that keeps undoing the policy is not fought in a
 * loop: after VG_BT_WATCH_BURST enforcements in a window, one report. */
static void test_avs19_watch_throttled(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};
	uint8_t st[4];

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(&p, f);
	assert_int_equal(vg_bt_watch_start(&w, m, &p, on_report, &s), VG_OK);
	put32(st, CUR_BLUEZ & ~VG_BT_S_SECURE_CONN); /* a drift */
	for (int i = 0; i < 8; i++) {
		fsend(f->fd, VG_BT_EV_NEW_SETTINGS, 0, st, 4);
		assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	}
	assert_int_equal(s.enforced[0], VG_BT_WATCH_BURST);
	assert_int_equal(s.throttled, 1);
	fake_free(f, &m);
}

/* AVS 1.9: events that arrive while a command waits for its reply are
 * kept for the watcher, not lost. */
static void test_avs19_transport_keeps_events(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	uint8_t st = 0;
	vg_bt_evt e;
	bool overflow = true;

	(void)state;
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	/* Queued on the socket before the command's reply. */
	fsend(f->fd, VG_BT_EV_INDEX_ADDED, 4, NULL, 0);
	assert_int_equal(vg_bt_mgmt_cmd(m, VG_BT_OP_READ_VERSION, VG_BT_INDEX_NONE, NULL, 0, &st,
					NULL, NULL, 2000),
			 VG_OK);
	assert_int_equal(st, 0);
	assert_int_equal(vg_bt_mgmt_next(m, &e, &overflow, 0), VG_OK);
	assert_false(overflow);
	assert_int_equal(e.code, VG_BT_EV_INDEX_ADDED);
	assert_int_equal(e.index, 4);
	assert_int_equal(vg_bt_mgmt_next(m, &e, &overflow, 0), VG_ERR_TIMEOUT);
	/* An unknown command: the kernel's status, not a hang. */
	assert_int_equal(vg_bt_mgmt_cmd(m, 0x0077, 0, NULL, 0, &st, NULL, NULL, 2000), VG_OK);
	assert_int_equal(st, VG_BT_ST_UNKNOWN_COMMAND);
	fake_free(f, &m);
}

/* A watcher on a fake with one dual-mode controller at index 0. */
static void watch_on(struct fake *f, vg_bt_mgmt *m, vg_bt_policy *p, vg_bt_watch *w, struct seen *s)
{
	fake_add(f, 0, SUP_DUAL, CUR_BLUEZ);
	policy_for(p, f);
	assert_int_equal(vg_bt_watch_start(w, m, p, on_report, s), VG_OK);
	assert_int_equal(s->enforced[0], 1);
	assert_int_equal(s->last_rc, VG_OK);
}

/* The log entry of the Unpair Device at or after from: for index, of
 * PEER with addr_type, disconnecting, answered with success. */
static int unpair_logged(struct fake *f, uint16_t index, uint8_t addr_type, size_t from)
{
	int i = log_find(f, VG_BT_OP_UNPAIR_DEVICE, index, from);

	assert_true(i >= 0);
	assert_int_equal(f->log[i].len, 8);
	assert_memory_equal(f->log[i].param, PEER, 6);
	assert_int_equal(f->log[i].param[6], addr_type);
	assert_int_equal(f->log[i].param[7], 1); /* disconnect */
	return i;
}

/* AVS 1.11: a bond made with LE legacy pairing (an authenticated legacy
 * LTK) is unpaired at once, with its link dropped, and reported. */
static void test_avs111_watch_unpairs_legacy_ltk(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};
	uint8_t k[64];
	size_t before;
	int i;

	(void)state;
	watch_on(f, m, &p, &w, &s);
	pthread_mutex_lock(&f->mu);
	before = f->n_log;
	pthread_mutex_unlock(&f->mu);
	fsend(f->fd, VG_BT_EV_NEW_LONG_TERM_KEY, 0, k,
	      ltk_param(k, PEER, VG_BT_ADDR_LE_PUBLIC, VG_BT_LTK_AUTH, 16));
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.unpaired, 1);
	assert_int_equal(s.bonded, 0);
	assert_int_equal(s.last_rc, VG_OK);
	assert_int_equal(s.last_index, 0);
	assert_non_null(strstr(s.last_why, PEER_STR));
	assert_non_null(strstr(s.last_why, "not Level 4"));
	assert_int_equal(s.enforced[0], 1); /* nothing re-enforced */
	pthread_mutex_lock(&f->mu);
	i = unpair_logged(f, 0, VG_BT_ADDR_LE_PUBLIC, before);
	assert_int_equal(f->log[i].status, 0);
	assert_int_equal(f->n_log, (size_t)i + 1); /* the one command sent */
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(vg_bt_watch_step(&w, 20, false), VG_ERR_TIMEOUT);

	/* The kernel refuses the unpairing: reported with its error, and
	 * the watch goes on. */
	pthread_mutex_lock(&f->mu);
	f->fail_op = VG_BT_OP_UNPAIR_DEVICE;
	f->fail_status = VG_BT_ST_REJECTED;
	pthread_mutex_unlock(&f->mu);
	fsend(f->fd, VG_BT_EV_NEW_LONG_TERM_KEY, 0, k,
	      ltk_param(k, PEER, VG_BT_ADDR_LE_RANDOM, VG_BT_LTK_UNAUTH, 16));
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.unpaired, 2);
	assert_int_equal(s.last_rc, VG_ERR_STATE);
	assert_non_null(strstr(s.last_why, "could not unpair"));
	assert_non_null(strstr(s.last_why, "Rejected"));
	pthread_mutex_lock(&f->mu);
	i = unpair_logged(f, 0, VG_BT_ADDR_LE_RANDOM, (size_t)i + 1);
	assert_int_equal(f->log[i].status, VG_BT_ST_REJECTED);
	/* A legacy pairing brings two LTKs (each side's): the second finds
	 * the bond gone ("Not Paired", seen on Linux 6.1): no failure, no
	 * second report, and the watch goes on. */
	f->fail_status = VG_BT_ST_NOT_PAIRED;
	pthread_mutex_unlock(&f->mu);
	fsend(f->fd, VG_BT_EV_NEW_LONG_TERM_KEY, 0, k,
	      ltk_param(k, PEER, VG_BT_ADDR_LE_PUBLIC, VG_BT_LTK_AUTH, 16));
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.unpaired, 2);
	assert_int_equal(vg_bt_watch_step(&w, 20, false), VG_ERR_TIMEOUT);
	fake_free(f, &m);
}

/* AVS 1.11: a bond with an authenticated P-256 LTK of 16 octets (LE
 * Secure Connections, Mode 1 Level 4) is kept: no Unpair Device. A short
 * one is not. */
static void test_avs111_watch_keeps_level4_ltk(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};
	uint8_t k[64];
	size_t before;

	(void)state;
	watch_on(f, m, &p, &w, &s);
	pthread_mutex_lock(&f->mu);
	before = f->n_log;
	pthread_mutex_unlock(&f->mu);
	fsend(f->fd, VG_BT_EV_NEW_LONG_TERM_KEY, 0, k,
	      ltk_param(k, PEER, VG_BT_ADDR_LE_RANDOM, VG_BT_LTK_P256_AUTH, 16));
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.bonded, 1);
	assert_int_equal(s.unpaired, 0);
	assert_int_equal(s.last_rc, VG_OK);
	assert_non_null(strstr(s.last_why, PEER_STR));
	pthread_mutex_lock(&f->mu);
	assert_int_equal(log_find(f, VG_BT_OP_UNPAIR_DEVICE, 0, 0), -1);
	assert_int_equal(f->n_log, before); /* nothing sent at all */
	pthread_mutex_unlock(&f->mu);

	/* The same key type with 7 octets is not Level 4. */
	fsend(f->fd, VG_BT_EV_NEW_LONG_TERM_KEY, 0, k,
	      ltk_param(k, PEER, VG_BT_ADDR_LE_RANDOM, VG_BT_LTK_P256_AUTH, 7));
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.bonded, 1);
	assert_int_equal(s.unpaired, 1);
	pthread_mutex_lock(&f->mu);
	(void)unpair_logged(f, 0, VG_BT_ADDR_LE_RANDOM, before);
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.10: on BR/EDR a P-192 link key (Security Mode 4 Level 3) is
 * unpaired; an authenticated P-256 one (Level 4) is kept. */
static void test_avs110_watch_unpairs_p192_link_key(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};
	uint8_t k[64];
	size_t before;
	int i;

	(void)state;
	watch_on(f, m, &p, &w, &s);
	pthread_mutex_lock(&f->mu);
	before = f->n_log;
	pthread_mutex_unlock(&f->mu);
	fsend(f->fd, VG_BT_EV_NEW_LINK_KEY, 0, k, lk_param(k, PEER, VG_BT_ADDR_BREDR, 0x05));
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.unpaired, 1);
	assert_int_equal(s.bonded, 0);
	assert_int_equal(s.last_rc, VG_OK);
	assert_non_null(strstr(s.last_why, PEER_STR));
	assert_non_null(strstr(s.last_why, "not Level 4"));
	pthread_mutex_lock(&f->mu);
	i = unpair_logged(f, 0, VG_BT_ADDR_BREDR, before);
	assert_int_equal(f->log[i].status, 0);
	before = f->n_log;
	pthread_mutex_unlock(&f->mu);

	fsend(f->fd, VG_BT_EV_NEW_LINK_KEY, 0, k,
	      lk_param(k, PEER, VG_BT_ADDR_BREDR, VG_BT_LK_AUTH_P256));
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.unpaired, 1);
	assert_int_equal(s.bonded, 1);
	assert_int_equal(s.last_rc, VG_OK);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(f->n_log, before);
	assert_int_equal(log_find(f, VG_BT_OP_UNPAIR_DEVICE, 0, (size_t)i + 1), -1);
	pthread_mutex_unlock(&f->mu);
	fake_free(f, &m);
}

/* AVS 1.11: a New Long Term Key that arrives while the watcher waits for
 * a command's reply (here: in the middle of re-enforcing a controller
 * after an Index Added) is kept and acted on by the next step. */
static void test_avs111_watch_key_event_during_command(void **state)
{
	struct fake *f = fake_new();
	vg_bt_mgmt *m = fake_mgmt(f);
	vg_bt_policy p;
	vg_bt_watch w;
	struct seen s = {0};
	int sc, i;

	(void)state;
	watch_on(f, m, &p, &w, &s);
	pthread_mutex_lock(&f->mu);
	f->inject_op = VG_BT_OP_SET_SECURE_CONN;
	f->inject_code = VG_BT_EV_NEW_LONG_TERM_KEY;
	f->inject_index = 0;
	f->inject_len = ltk_param(f->inject, PEER, VG_BT_ADDR_LE_RANDOM, VG_BT_LTK_UNAUTH, 16);
	pthread_mutex_unlock(&f->mu);
	fsend(f->fd, VG_BT_EV_INDEX_ADDED, 0, NULL, 0);
	/* The Index Added: enforced; the key event came meanwhile. */
	assert_int_equal(vg_bt_watch_step(&w, 2000, false), VG_OK);
	assert_int_equal(s.enforced[0], 2);
	assert_int_equal(s.last_rc, VG_OK);
	assert_int_equal(s.unpaired, 0);
	pthread_mutex_lock(&f->mu);
	assert_int_equal(f->inject_op, 0); /* it was sent */
	assert_int_equal(log_find(f, VG_BT_OP_UNPAIR_DEVICE, 0, 0), -1);
	pthread_mutex_unlock(&f->mu);
	/* The next step takes the kept event, without waiting. */
	assert_int_equal(vg_bt_watch_step(&w, 0, false), VG_OK);
	assert_int_equal(s.unpaired, 1);
	assert_int_equal(s.last_rc, VG_OK);
	assert_non_null(strstr(s.last_why, PEER_STR));
	pthread_mutex_lock(&f->mu);
	sc = log_find(f, VG_BT_OP_SET_SECURE_CONN, 0, 0);
	sc = log_find(f, VG_BT_OP_SET_SECURE_CONN, 0, (size_t)sc + 1); /* the second enforce's */
	assert_true(sc >= 0);
	i = unpair_logged(f, 0, VG_BT_ADDR_LE_RANDOM, 0);
	assert_true(i > sc);
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(vg_bt_watch_step(&w, 20, false), VG_ERR_TIMEOUT);
	assert_int_equal(s.unpaired, 1);
	fake_free(f, &m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_avs19_codec_encode_set_sc_only),
	    cmocka_unit_test(test_avs112_codec_encode_set_privacy),
	    cmocka_unit_test(test_avs19_codec_decode_events),
	    cmocka_unit_test(test_avs19_codec_malformed),
	    cmocka_unit_test(test_avs111_codec_decode_new_keys),
	    cmocka_unit_test(test_avs19_transport_malformed_reply),
	    cmocka_unit_test(test_avs19_transport_no_bluetooth),
	    cmocka_unit_test(test_avs19_transport_keeps_events),
	    cmocka_unit_test(test_avs19_enforce_sc_only_powered_off),
	    cmocka_unit_test(test_avs112_enforce_privacy_with_irk),
	    cmocka_unit_test(test_avs112_privacy_refused_while_powered),
	    cmocka_unit_test(test_avs110_enforce_bondable_and_io_cap),
	    cmocka_unit_test(test_avs19_enforce_le_only_powered_off),
	    cmocka_unit_test(test_avs19_enforce_unsupported_controller),
	    cmocka_unit_test(test_avs19_enforce_kernel_refusal),
	    cmocka_unit_test(test_avs19_check_verdicts),
	    cmocka_unit_test(test_avs111_enforce_sc_on_mode),
	    cmocka_unit_test(test_avs19_watch_index_added),
	    cmocka_unit_test(test_avs112_watch_drift_repaired),
	    cmocka_unit_test(test_avs110_watch_recheck_sc_only),
	    cmocka_unit_test(test_avs19_watch_throttled),
	    cmocka_unit_test(test_avs111_watch_unpairs_legacy_ltk),
	    cmocka_unit_test(test_avs111_watch_keeps_level4_ltk),
	    cmocka_unit_test(test_avs110_watch_unpairs_p192_link_key),
	    cmocka_unit_test(test_avs111_watch_key_event_during_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
