/* mgmt.c - see mgmt.h */
#include "bluetooth/mgmt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

vg_rc vg_bt_encode(uint16_t op, uint16_t index, const uint8_t *param, size_t len, uint8_t *out,
		   size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (len > VG_BT_MAX_PARAM || cap < VG_BT_HDR_LEN || cap - VG_BT_HDR_LEN < len)
		return VG_ERR_TOO_LARGE;
	if (len && !param)
		return VG_ERR_INVALID;
	put16(out, op);
	put16(out + 2, index);
	put16(out + 4, (uint16_t)len);
	if (len)
		memcpy(out + VG_BT_HDR_LEN, param, len);
	*out_len = VG_BT_HDR_LEN + len;
	return VG_OK;
}

vg_rc vg_bt_decode(const uint8_t *buf, size_t len, vg_bt_evt *e)
{
	size_t plen;

	memset(e, 0, sizeof *e);
	if (!buf || len < VG_BT_HDR_LEN)
		return VG_ERR_PROTOCOL;
	plen = get16(buf + 4);
	if (len - VG_BT_HDR_LEN != plen)
		return VG_ERR_PROTOCOL;
	e->code = get16(buf);
	e->index = get16(buf + 2);
	e->param = plen ? buf + VG_BT_HDR_LEN : NULL;
	e->param_len = plen;
	switch (e->code) {
	case VG_BT_EV_CMD_COMPLETE:
		if (plen < 3)
			goto bad;
		e->opcode = get16(e->param);
		e->status = e->param[2];
		e->param_len = plen - 3;
		e->param = e->param_len ? e->param + 3 : NULL;
		break;
	case VG_BT_EV_CMD_STATUS:
		if (plen != 3)
			goto bad;
		e->opcode = get16(e->param);
		e->status = e->param[2];
		e->param = NULL;
		e->param_len = 0;
		break;
	case VG_BT_EV_INDEX_ADDED:
	case VG_BT_EV_INDEX_REMOVED:
		if (plen != 0)
			goto bad;
		break;
	case VG_BT_EV_NEW_SETTINGS:
		if (plen != 4)
			goto bad;
		e->settings = get32(e->param);
		break;
	case VG_BT_EV_NEW_LINK_KEY:
		/* store_hint, addr, addr_type, key type, value[16], pin length */
		if (plen != 26)
			goto bad;
		memcpy(e->key.addr, e->param + 1, VG_BT_ADDR_LEN);
		e->key.addr_type = e->param[7];
		e->key.key_type = e->param[8];
		e->key.enc_size = 16;
		e->key.le = false;
		break;
	case VG_BT_EV_NEW_LONG_TERM_KEY:
		/* store_hint, addr, addr_type, key type, central, enc_size,
		 * ediv[2], rand[8], value[16] */
		if (plen != 37 || e->param[10] > 16)
			goto bad;
		memcpy(e->key.addr, e->param + 1, VG_BT_ADDR_LEN);
		e->key.addr_type = e->param[7];
		e->key.key_type = e->param[8];
		e->key.enc_size = e->param[10];
		e->key.le = true;
		break;
	default:
		break;
	}
	return VG_OK;
bad:
	memset(e, 0, sizeof *e);
	return VG_ERR_PROTOCOL;
}

bool vg_bt_key_level4(const vg_bt_key *k)
{
	if (k->le)
		return k->key_type == VG_BT_LTK_P256_AUTH && k->enc_size == 16;
	return k->key_type == VG_BT_LK_AUTH_P256;
}

const char *vg_bt_key_type_str(const vg_bt_key *k)
{
	if (k->le) {
		switch (k->key_type) {
		case VG_BT_LTK_UNAUTH:
			return "legacy, unauthenticated (Just Works)";
		case VG_BT_LTK_AUTH:
			return "legacy, authenticated";
		case VG_BT_LTK_P256_UNAUTH:
			return "P-256, unauthenticated (Just Works)";
		case VG_BT_LTK_P256_AUTH:
			return "P-256, authenticated";
		case VG_BT_LTK_P256_DEBUG:
			return "P-256 debug key";
		default:
			return "unknown LTK type";
		}
	}
	switch (k->key_type) {
	case 0x00:
		return "combination (legacy PIN)";
	case 0x03:
		return "debug combination";
	case 0x04:
		return "P-192, unauthenticated";
	case 0x05:
		return "P-192, authenticated";
	case 0x06:
		return "changed combination";
	case 0x07:
		return "P-256, unauthenticated";
	case VG_BT_LK_AUTH_P256:
		return "P-256, authenticated";
	default:
		return "unknown link key type";
	}
}

vg_rc vg_bt_parse_version(const uint8_t *p, size_t len, uint8_t *version, uint16_t *revision)
{
	*version = 0;
	*revision = 0;
	if (!p || len != 3)
		return VG_ERR_PROTOCOL;
	*version = p[0];
	*revision = get16(p + 1);
	return VG_OK;
}

vg_rc vg_bt_parse_index_list(const uint8_t *p, size_t len, uint16_t *idx, size_t cap, size_t *n)
{
	size_t count;

	*n = 0;
	if (!p || len < 2)
		return VG_ERR_PROTOCOL;
	count = get16(p);
	if (len != 2 + 2 * count)
		return VG_ERR_PROTOCOL;
	if (count > cap)
		return VG_ERR_TOO_LARGE;
	for (size_t i = 0; i < count; i++)
		idx[i] = get16(p + 2 + 2 * i);
	*n = count;
	return VG_OK;
}

/* A fixed-size name field: up to its first NUL, printable ASCII kept,
 * anything else shown as '?' (it reaches terminals and audit records). */
static void name_copy(char *out, const uint8_t *p, size_t field)
{
	size_t i;

	for (i = 0; i < field && p[i]; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[i] = '\0';
}

vg_rc vg_bt_parse_info(const uint8_t *p, size_t len, vg_bt_info *info)
{
	memset(info, 0, sizeof *info);
	if (!p || len != VG_BT_INFO_LEN)
		return VG_ERR_PROTOCOL;
	memcpy(info->addr, p, VG_BT_ADDR_LEN);
	info->bt_version = p[6];
	info->manufacturer = get16(p + 7);
	info->supported = get32(p + 9);
	info->current = get32(p + 13);
	memcpy(info->dev_class, p + 17, 3);
	name_copy(info->name, p + 20, VG_BT_NAME_LEN);
	name_copy(info->short_name, p + 20 + VG_BT_NAME_LEN, VG_BT_SHORT_LEN);
	return VG_OK;
}

vg_rc vg_bt_parse_settings(const uint8_t *p, size_t len, uint32_t *settings)
{
	*settings = 0;
	if (!p || len != 4)
		return VG_ERR_PROTOCOL;
	*settings = get32(p);
	return VG_OK;
}

static const char *const setting_names[] = {
    "powered",         "connectable",   "fast-connectable", "discoverable", "bondable",
    "link-security",   "ssp",           "br/edr",           "hs",           "le",
    "advertising",     "secure-conn",   "debug-keys",       "privacy",      "configuration",
    "static-addr",     "phy-config",    "wide-band-speech", "cis-central",  "cis-peripheral",
    "iso-broadcaster", "sync-receiver", "ll-privacy",
};

const char *vg_bt_setting_name(unsigned bit)
{
	return bit < VG_ARRAY_LEN(setting_names) ? setting_names[bit] : NULL;
}

void vg_bt_settings_str(uint32_t s, char *out, size_t cap)
{
	size_t used = 0;

	if (!cap)
		return;
	out[0] = '\0';
	for (unsigned bit = 0; bit < 32; bit++) {
		const char *n = vg_bt_setting_name(bit);
		char tmp[16];
		int w;

		if (!(s & (1u << bit)))
			continue;
		if (!n) {
			(void)snprintf(tmp, sizeof tmp, "bit%u", bit);
			n = tmp;
		}
		w = snprintf(out + used, cap - used, "%s%s", used ? " " : "", n);
		if (w < 0 || (size_t)w >= cap - used) {
			out[cap - 1] = '\0';
			return;
		}
		used += (size_t)w;
	}
}

const char *vg_bt_status_str(uint8_t status)
{
	static const char *const names[] = {
	    "Success",           "Unknown Command",       "Not Connected", "Failed",
	    "Connect Failed",    "Authentication Failed", "Not Paired",    "No Resources",
	    "Timeout",           "Already Connected",     "Busy",          "Rejected",
	    "Not Supported",     "Invalid Parameters",    "Disconnected",  "Not Powered",
	    "Cancelled",         "Invalid Index",         "RFKilled",      "Already Paired",
	    "Permission Denied",
	};
	return status < VG_ARRAY_LEN(names) ? names[status] : "unknown status";
}

const char *vg_bt_io_cap_str(uint8_t io)
{
	static const char *const names[] = {"DisplayOnly", "DisplayYesNo", "KeyboardOnly",
					    "NoInputNoOutput", "KeyboardDisplay"};
	return io < VG_ARRAY_LEN(names) ? names[io] : NULL;
}

void vg_bt_addr_str(const uint8_t addr[static VG_BT_ADDR_LEN], char out[static 18])
{
	(void)snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", addr[5], addr[4], addr[3], addr[2],
		       addr[1], addr[0]);
}

vg_rc vg_bt_status_rc(uint8_t status)
{
	switch (status) {
	case VG_BT_ST_SUCCESS:
		return VG_OK;
	case VG_BT_ST_NOT_SUPPORTED:
	case VG_BT_ST_UNKNOWN_COMMAND:
		return VG_ERR_UNSUPPORTED;
	case VG_BT_ST_PERMISSION_DENIED:
		return VG_ERR_DENIED;
	case VG_BT_ST_INVALID_INDEX:
		return VG_ERR_NOT_FOUND;
	case VG_BT_ST_BUSY:
	case VG_BT_ST_REJECTED:
	case VG_BT_ST_NOT_POWERED:
	case VG_BT_ST_RFKILLED:
		return VG_ERR_STATE;
	case VG_BT_ST_INVALID_PARAMS:
		return VG_ERR_INVALID;
	default:
		return VG_ERR_IO;
	}
}

/* ---- the transport ---- */

#define KEPT_MAX 32u

struct kept {
	uint16_t code, index;
	uint32_t settings;
	vg_bt_key key;
};

struct vg_bt_mgmt {
	int fd;
	uint8_t buf[VG_BT_MAX_MSG];
	struct kept kept[KEPT_MAX];
	size_t n_kept, first;
	bool overflow;
};

/* struct sockaddr_hci (linux/bluetooth/hci_sock.h) */
struct vg_sockaddr_hci {
	sa_family_t hci_family;
	unsigned short hci_dev;
	unsigned short hci_channel;
};

vg_rc vg_bt_mgmt_from_fd(vg_bt_mgmt **out, int fd)
{
	vg_bt_mgmt *m;

	*out = NULL;
	if (fd < 0)
		return VG_ERR_INVALID;
	m = calloc(1, sizeof *m);
	if (!m) {
		(void)close(fd);
		return VG_ERR_NOMEM;
	}
	m->fd = fd;
	*out = m;
	return VG_OK;
}

vg_rc vg_bt_mgmt_open(vg_bt_mgmt **out, char *why, size_t cap)
{
	struct vg_sockaddr_hci a;
	int fd, e;

	*out = NULL;
	fd = socket(VG_BT_AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, VG_BT_BTPROTO_HCI);
	if (fd < 0) {
		e = errno;
		if (e == EAFNOSUPPORT || e == EPROTONOSUPPORT || e == ESOCKTNOSUPPORT) {
			(void)snprintf(why, cap,
				       "this kernel has no Bluetooth (AF_BLUETOOTH not supported)");
			return VG_ERR_UNSUPPORTED;
		}
		(void)snprintf(why, cap, "Bluetooth management socket: %s", strerror(e));
		return (e == EPERM || e == EACCES) ? VG_ERR_DENIED : VG_ERR_IO;
	}
	memset(&a, 0, sizeof a);
	a.hci_family = VG_BT_AF_BLUETOOTH;
	a.hci_dev = VG_BT_HCI_DEV_NONE;
	a.hci_channel = VG_BT_HCI_CHANNEL_CONTROL;
	if (bind(fd, (const struct sockaddr *)&a, sizeof a) < 0) {
		e = errno;
		(void)close(fd);
		if (e == EPERM || e == EACCES) {
			(void)snprintf(why, cap,
				       "Bluetooth management needs CAP_NET_ADMIN (run as root): %s",
				       strerror(e));
			return VG_ERR_DENIED;
		}
		(void)snprintf(why, cap, "Bluetooth management socket: bind: %s", strerror(e));
		return VG_ERR_IO;
	}
	return vg_bt_mgmt_from_fd(out, fd);
}

void vg_bt_mgmt_close(vg_bt_mgmt **m)
{
	if (!m || !*m)
		return;
	if ((*m)->fd >= 0)
		(void)close((*m)->fd);
	free(*m);
	*m = NULL;
}

static int remaining(uint64_t deadline)
{
	uint64_t now = vg_mono_ms();

	return now >= deadline ? 0 : (int)(deadline - now > 60000 ? 60000 : deadline - now);
}

/* One message into m->buf and decoded. VG_ERR_TIMEOUT when none came by
 * the deadline. */
static vg_rc recv_one(vg_bt_mgmt *m, vg_bt_evt *e, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = m->fd, .events = POLLIN};
		int r = poll(&p, 1, remaining(deadline));
		ssize_t n;

		if (r < 0 && errno == EINTR)
			return VG_ERR_TIMEOUT; /* a signal: let the caller look at its flag */
		if (r < 0)
			return VG_ERR_IO;
		if (r == 0)
			return VG_ERR_TIMEOUT;
		n = recv(m->fd, m->buf, sizeof m->buf, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return VG_ERR_IO; /* an error, or the peer closed it */
		if ((size_t)n > sizeof m->buf)
			return VG_ERR_PROTOCOL; /* longer than any mgmt message */
		return vg_bt_decode(m->buf, (size_t)n, e);
	}
}

static void keep(vg_bt_mgmt *m, const vg_bt_evt *e)
{
	struct kept *k;

	if (e->code != VG_BT_EV_INDEX_ADDED && e->code != VG_BT_EV_INDEX_REMOVED &&
	    e->code != VG_BT_EV_NEW_SETTINGS && e->code != VG_BT_EV_NEW_LINK_KEY &&
	    e->code != VG_BT_EV_NEW_LONG_TERM_KEY)
		return;
	if (m->n_kept == KEPT_MAX) {
		m->overflow = true;
		return;
	}
	k = &m->kept[(m->first + m->n_kept) % KEPT_MAX];
	k->code = e->code;
	k->index = e->index;
	k->settings = e->settings;
	k->key = e->key;
	m->n_kept++;
}

vg_rc vg_bt_mgmt_cmd(vg_bt_mgmt *m, uint16_t op, uint16_t index, const uint8_t *param, size_t len,
		     uint8_t *status, const uint8_t **rparam, size_t *rlen, int timeout_ms)
{
	uint8_t msg[VG_BT_HDR_LEN + 64];
	uint64_t deadline = vg_mono_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
	size_t n;
	ssize_t w;
	vg_rc rc;

	*status = VG_BT_ST_FAILED;
	if (rparam)
		*rparam = NULL;
	if (rlen)
		*rlen = 0;
	rc = vg_bt_encode(op, index, param, len, msg, sizeof msg, &n);
	if (rc != VG_OK)
		return rc;
	do
		w = send(m->fd, msg, n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	vg_wipe(msg, sizeof msg); /* Set Privacy carries the IRK */
	if (w < 0 || (size_t)w != n)
		return VG_ERR_IO;
	for (;;) {
		vg_bt_evt e;

		rc = recv_one(m, &e, deadline);
		if (rc != VG_OK)
			return rc;
		if ((e.code == VG_BT_EV_CMD_COMPLETE || e.code == VG_BT_EV_CMD_STATUS) &&
		    e.opcode == op && e.index == index) {
			*status = e.status;
			if (e.code == VG_BT_EV_CMD_COMPLETE && e.status == VG_BT_ST_SUCCESS) {
				if (rparam)
					*rparam = e.param;
				if (rlen)
					*rlen = e.param_len;
			}
			return VG_OK;
		}
		keep(m, &e);
	}
}

vg_rc vg_bt_mgmt_next(vg_bt_mgmt *m, vg_bt_evt *e, bool *overflow, int timeout_ms)
{
	uint64_t deadline = vg_mono_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);

	if (overflow) {
		*overflow = m->overflow;
		m->overflow = false;
	}
	if (m->n_kept) {
		const struct kept *k = &m->kept[m->first];

		memset(e, 0, sizeof *e);
		e->code = k->code;
		e->index = k->index;
		e->settings = k->settings;
		e->key = k->key;
		m->first = (m->first + 1) % KEPT_MAX;
		m->n_kept--;
		return VG_OK;
	}
	for (;;) {
		vg_rc rc = recv_one(m, e, deadline);

		if (rc != VG_OK)
			return rc;
		if (e->code != VG_BT_EV_CMD_COMPLETE && e->code != VG_BT_EV_CMD_STATUS)
			return VG_OK;
	}
}
