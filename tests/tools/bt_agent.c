/*
 * bt_agent - a pairing agent on the kernel's Bluetooth management socket,
 * for the device image's guest test (device/guest-tests/bluetooth.sh;
 * AVS 1.9-1.11).
 *
 *   bt_agent INDEX ADDRESS [TIMEOUT_S]
 *
 * Pairs controller hciINDEX with the LE peer ADDRESS (public), as
 * KeyboardDisplay, and answers every numeric comparison (User Confirm
 * Request) of every controller with yes and every passkey request with
 * the passkey the other controller displays (Passkey Notify), as the user
 * of both devices would: so between two virtual controllers
 * of one kernel (btvirt) an authenticated Secure Connections pairing can
 * complete, and a refusal comes only from the kernel's security rules.
 * Prints each event it answered and the outcome:
 *   confirm hciN AA:BB:..  value NNNNNN
 *   passkey hciN AA:BB:..  NNNNNN
 *   paired hciN AA:BB:..                     (exit 0)
 *   pair failed: status 0xNN (NAME)          (exit 1)
 * Exit 2 with a reason on errors (77: no Bluetooth in the kernel; 124 on
 * timeout). bluetoothd must not run (it would answer too). Only glibc and
 * the kernel's mgmt API: built on the host, run in the guest as root.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define AF_BT            31 /* AF_BLUETOOTH */
#define BTPROTO_HCI      1
#define HCI_DEV_NONE     0xffff
#define HCI_CHANNEL_CTRL 3

#define EV_CMD_COMPLETE   0x0001
#define EV_CMD_STATUS     0x0002
#define EV_USER_CONFIRM   0x000F
#define EV_USER_PASSKEY   0x0010
#define EV_PASSKEY_NOTIFY 0x0017
#define OP_PAIR_DEVICE    0x0019
#define OP_CONFIRM_REPLY  0x001C
#define OP_PASSKEY_REPLY  0x001E
#define IO_KBD_DISPLAY    4
#define ADDR_LE_PUBLIC    1

struct sockaddr_hci_ {
	unsigned short hci_family;
	unsigned short hci_dev;
	unsigned short hci_channel;
};

static int fd = -1;

static const char *status_name(unsigned s)
{
	switch (s) {
	case 0x03:
		return "failed";
	case 0x04:
		return "connect failed";
	case 0x05:
		return "authentication failed";
	case 0x08:
		return "timeout";
	case 0x0a:
		return "busy";
	case 0x0b:
		return "rejected";
	case 0x0c:
		return "not supported";
	case 0x0d:
		return "invalid parameters";
	case 0x14:
		return "already paired";
	default:
		return "other";
	}
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

static int send_cmd(unsigned op, unsigned index, const uint8_t *param, size_t len)
{
	uint8_t buf[64];

	if (len > sizeof buf - 6)
		return -1;
	put16(buf, op);
	put16(buf + 2, index);
	put16(buf + 4, (unsigned)len);
	memcpy(buf + 6, param, len);
	return write(fd, buf, 6 + len) == (ssize_t)(6 + len) ? 0 : -1;
}

/* "AA:BB:CC:DD:EE:FF" <-> the little-endian bytes mgmt carries */
static int parse_addr(const char *s, uint8_t out[6])
{
	unsigned b[6];

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)b[5 - i];
	return 0;
}

static void fmt_addr(const uint8_t a[6], char out[18])
{
	(void)snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", a[5], a[4], a[3], a[2], a[1],
		       a[0]);
}

int main(int argc, char **argv)
{
	struct sockaddr_hci_ sa;
	uint8_t peer[6], param[16];
	unsigned index;
	long timeout = 30;
	time_t end;
	/* A passkey request waits for the passkey the other side shows. */
	int have_shown = 0, want = 0;
	uint32_t shown = 0;
	unsigned want_idx = 0;
	uint8_t want_addr[7];

	if (argc < 3 || argc > 4 || parse_addr(argv[2], peer) != 0) {
		(void)fprintf(stderr, "usage: bt_agent INDEX AA:BB:CC:DD:EE:FF [TIMEOUT_S]\n");
		return 2;
	}
	index = (unsigned)strtoul(argv[1], NULL, 10);
	if (argc == 4)
		timeout = strtol(argv[3], NULL, 10);
	fd = socket(AF_BT, SOCK_RAW | SOCK_CLOEXEC, BTPROTO_HCI);
	if (fd < 0) {
		(void)fprintf(stderr, "bt_agent: socket: %s\n", strerror(errno));
		return errno == EAFNOSUPPORT ? 77 : 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.hci_family = AF_BT;
	sa.hci_dev = HCI_DEV_NONE;
	sa.hci_channel = HCI_CHANNEL_CTRL;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		(void)fprintf(stderr, "bt_agent: bind to the management channel: %s\n",
			      strerror(errno));
		return 2;
	}
	memcpy(param, peer, 6);
	param[6] = ADDR_LE_PUBLIC;
	param[7] = IO_KBD_DISPLAY;
	if (send_cmd(OP_PAIR_DEVICE, index, param, 8) != 0) {
		(void)fprintf(stderr, "bt_agent: Pair Device: %s\n", strerror(errno));
		return 2;
	}
	end = time(NULL) + timeout;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t ev[512];
		char a[18];
		ssize_t n;
		unsigned code, idx, len;

		if (time(NULL) >= end) {
			(void)printf("pair failed: no answer in %ld s\n", timeout);
			return 124;
		}
		if (want && have_shown) {
			memcpy(param, want_addr, 7);
			param[7] = (uint8_t)(shown & 0xff);
			param[8] = (uint8_t)((shown >> 8) & 0xff);
			param[9] = (uint8_t)((shown >> 16) & 0xff);
			param[10] = (uint8_t)(shown >> 24);
			fmt_addr(want_addr, a);
			(void)printf("passkey hci%u %s %06u\n", want_idx, a, (unsigned)shown);
			(void)fflush(stdout);
			(void)send_cmd(OP_PASSKEY_REPLY, want_idx, param, 11);
			want = have_shown = 0;
		}
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		n = read(fd, ev, sizeof ev);
		if (n < 6)
			continue;
		code = get16(ev);
		idx = get16(ev + 2);
		len = get16(ev + 4);
		if ((size_t)n < 6 + (size_t)len)
			continue;
		if (code == EV_USER_CONFIRM && len >= 12) {
			uint32_t value = (uint32_t)ev[14] | ((uint32_t)ev[15] << 8) |
					 ((uint32_t)ev[16] << 16) | ((uint32_t)ev[17] << 24);
			fmt_addr(ev + 6, a);
			(void)printf("confirm hci%u %s value %06u\n", idx, a, (unsigned)value);
			(void)fflush(stdout);
			(void)send_cmd(OP_CONFIRM_REPLY, idx, ev + 6, 7);
		} else if (code == EV_PASSKEY_NOTIFY && len >= 11) {
			shown = (uint32_t)ev[13] | ((uint32_t)ev[14] << 8) |
				((uint32_t)ev[15] << 16) | ((uint32_t)ev[16] << 24);
			have_shown = 1;
		} else if (code == EV_USER_PASSKEY && len >= 7) {
			memcpy(want_addr, ev + 6, 7);
			want_idx = idx;
			want = 1;
		} else if ((code == EV_CMD_COMPLETE || code == EV_CMD_STATUS) && len >= 3 &&
			   idx == index && get16(ev + 6) == OP_PAIR_DEVICE) {
			unsigned st = ev[8];
			if (code == EV_CMD_STATUS && st == 0)
				continue; /* pending: the complete follows */
			fmt_addr(peer, a);
			if (st == 0) {
				(void)printf("paired hci%u %s\n", index, a);
				return 0;
			}
			(void)printf("pair failed: status 0x%02x (%s)\n", st, status_name(st));
			return 1;
		}
	}
}
