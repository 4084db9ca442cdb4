/*
 * uinput_switch - a microphone mute switch played through uinput, for the
 * device image's guest test (device/guest-tests/mic.sh; AVS 1.15).
 *
 *   uinput_switch [--initial muted]
 *
 * Creates an input device "voxguard-test-mute" with EV_SW SW_MUTE_DEVICE
 * (a switch, as gpio-keys makes one) and EV_LED LED_MUTE (the indicator),
 * prints "ready /dev/input/eventN" once the kernel made its event node,
 * then takes commands on stdin, one a line:
 *   mute | unmute   the switch's new state (EV_SW + SYN_REPORT)
 *   quit            destroy the device and exit (so does end of input)
 * and prints every LED_MUTE the kernel hands it as "led 1" or "led 0".
 * Only glibc and the kernel's uinput: built on the host, run in the guest.
 * Exit 0, or 2 with a reason (77 when /dev/uinput is missing).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/uinput.h>

#define NAME "voxguard-test-mute"

static int emit(int fd, unsigned type, unsigned code, int value)
{
	struct input_event ev;

	memset(&ev, 0, sizeof ev);
	ev.type = (unsigned short)type;
	ev.code = (unsigned short)code;
	ev.value = value;
	return write(fd, &ev, sizeof ev) == (ssize_t)sizeof ev ? 0 : -1;
}

static int set_switch(int fd, int muted)
{
	if (emit(fd, EV_SW, SW_MUTE_DEVICE, muted) || emit(fd, EV_SYN, SYN_REPORT, 0)) {
		(void)fprintf(stderr, "uinput_switch: write: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* /sys/devices/virtual/input/<sysname>/eventN -> /dev/input/eventN */
static int event_node(int fd, char *out, size_t cap)
{
	char sys[64], dir[160];
	struct dirent *d;
	DIR *dp;

	if (ioctl(fd, UI_GET_SYSNAME(sizeof sys), sys) < 0)
		return -1;
	(void)snprintf(dir, sizeof dir, "/sys/devices/virtual/input/%s", sys);
	for (int tries = 0; tries < 100; tries++) {
		dp = opendir(dir);
		if (dp) {
			while ((d = readdir(dp)))
				if (strncmp(d->d_name, "event", 5) == 0) {
					(void)snprintf(out, cap, "/dev/input/%.32s", d->d_name);
					(void)closedir(dp);
					/* udev may still be making the node */
					for (int w = 0; w < 100 && access(out, F_OK) != 0; w++)
						(void)nanosleep(&(struct timespec){0, 20000000},
								NULL);
					return access(out, F_OK);
				}
			(void)closedir(dp);
		}
		(void)nanosleep(&(struct timespec){0, 20000000}, NULL);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct uinput_setup us;
	char node[128], line[64];
	int fd, initial = 0;

	if (argc == 3 && strcmp(argv[1], "--initial") == 0 && strcmp(argv[2], "muted") == 0)
		initial = 1;
	else if (argc != 1) {
		(void)fprintf(stderr, "usage: uinput_switch [--initial muted]\n");
		return 2;
	}
	/* Unbuffered: poll() on fd 0 then sees every line not yet read. */
	(void)setvbuf(stdin, NULL, _IONBF, 0);
	fd = open("/dev/uinput", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		(void)fprintf(stderr, "uinput_switch: /dev/uinput: %s\n", strerror(errno));
		return errno == ENOENT ? 77 : 2;
	}
	if (ioctl(fd, UI_SET_EVBIT, EV_SW) || ioctl(fd, UI_SET_SWBIT, SW_MUTE_DEVICE) ||
	    ioctl(fd, UI_SET_EVBIT, EV_LED) || ioctl(fd, UI_SET_LEDBIT, LED_MUTE) ||
	    ioctl(fd, UI_SET_EVBIT, EV_SYN)) {
		(void)fprintf(stderr, "uinput_switch: UI_SET_*: %s\n", strerror(errno));
		return 2;
	}
	memset(&us, 0, sizeof us);
	us.id.bustype = BUS_VIRTUAL;
	us.id.vendor = 0x1d6b;
	us.id.product = 0x0115;
	(void)snprintf(us.name, sizeof us.name, "%s", NAME);
	if (ioctl(fd, UI_DEV_SETUP, &us) || ioctl(fd, UI_DEV_CREATE)) {
		(void)fprintf(stderr, "uinput_switch: create: %s\n", strerror(errno));
		return 2;
	}
	if (event_node(fd, node, sizeof node) != 0) {
		(void)fprintf(stderr, "uinput_switch: no event node appeared\n");
		(void)ioctl(fd, UI_DEV_DESTROY);
		return 2;
	}
	if (initial && set_switch(fd, 1))
		return 2;
	(void)printf("ready %s\n", node);
	(void)fflush(stdout);

	for (;;) {
		struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = fd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & POLLIN) {
			struct input_event ev;

			if (read(fd, &ev, sizeof ev) == (ssize_t)sizeof ev && ev.type == EV_LED &&
			    ev.code == LED_MUTE) {
				(void)printf("led %d\n", ev.value ? 1 : 0);
				(void)fflush(stdout);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			if (!fgets(line, sizeof line, stdin))
				break;
			line[strcspn(line, "\r\n")] = '\0';
			if (strcmp(line, "mute") == 0 || strcmp(line, "unmute") == 0) {
				if (set_switch(fd, line[0] == 'm'))
					break;
			} else if (strcmp(line, "quit") == 0) {
				break;
			} else if (line[0]) {
				(void)fprintf(stderr, "uinput_switch: unknown command '%s'\n",
					      line);
			}
		}
	}
	(void)ioctl(fd, UI_DEV_DESTROY);
	(void)close(fd);
	return 0;
}
