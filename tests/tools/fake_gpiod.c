/*
 * fake_gpiod.c - a mock GPIO chip behind libgpiod 1.x's ABI, built as
 * libgpiod.so.2 in its own directory, so that `voxguard mic watch --gpio`
 * (src/mic/mute.c dlopen()s "libgpiod.so.2") runs against it with
 * LD_LIBRARY_PATH (tests/integration/test_avs115_mic_watch_gpio.sh). The
 * build machine's kernel has neither gpio-sim nor gpio-mockup.
 *
 * One chip, "fakechip", with lines 0..7. The line's level starts at
 * $FAKE_GPIOD_LEVEL (0 or 1); each byte '0' or '1' written to the FIFO
 * $FAKE_GPIOD_FIFO is an edge to that level (the event fd is the FIFO).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

struct gpiod_chip {
	int unused;
};
struct gpiod_line {
	int fd, level;
	unsigned offset;
	int requested;
};
struct gpiod_line_event {
	struct timespec ts;
	int event_type;
};

static struct gpiod_chip chip;
static struct gpiod_line lines[8];

EXPORT struct gpiod_chip *gpiod_chip_open_lookup(const char *descr);
EXPORT void gpiod_chip_close(struct gpiod_chip *c);
EXPORT struct gpiod_line *gpiod_chip_get_line(struct gpiod_chip *c, unsigned int offset);
EXPORT int gpiod_line_request_both_edges_events(struct gpiod_line *l, const char *consumer);
EXPORT int gpiod_line_get_value(struct gpiod_line *l);
EXPORT int gpiod_line_event_get_fd(struct gpiod_line *l);
EXPORT int gpiod_line_event_read(struct gpiod_line *l, struct gpiod_line_event *ev);
EXPORT void gpiod_line_release(struct gpiod_line *l);

struct gpiod_chip *gpiod_chip_open_lookup(const char *descr)
{
	if (!descr || strcmp(descr, "fakechip") != 0) {
		errno = ENOENT;
		return NULL;
	}
	return &chip;
}

void gpiod_chip_close(struct gpiod_chip *c)
{
	(void)c;
}

struct gpiod_line *gpiod_chip_get_line(struct gpiod_chip *c, unsigned int offset)
{
	(void)c;
	if (offset >= 8) {
		errno = EINVAL;
		return NULL;
	}
	lines[offset].offset = offset;
	lines[offset].fd = -1;
	return &lines[offset];
}

int gpiod_line_request_both_edges_events(struct gpiod_line *l, const char *consumer)
{
	const char *fifo = getenv("FAKE_GPIOD_FIFO"), *lv = getenv("FAKE_GPIOD_LEVEL");

	if (!consumer || !fifo || l->requested) {
		errno = EBUSY;
		return -1;
	}
	/* Read-write: the FIFO never reads as end of file. */
	l->fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (l->fd < 0)
		return -1;
	l->level = lv && lv[0] == '1';
	l->requested = 1;
	return 0;
}

int gpiod_line_get_value(struct gpiod_line *l)
{
	if (!l->requested) {
		errno = EPERM;
		return -1;
	}
	return l->level;
}

int gpiod_line_event_get_fd(struct gpiod_line *l)
{
	return l->requested ? l->fd : -1;
}

int gpiod_line_event_read(struct gpiod_line *l, struct gpiod_line_event *ev)
{
	char c;

	if (read(l->fd, &c, 1) != 1 || (c != '0' && c != '1')) {
		errno = EIO;
		return -1;
	}
	l->level = c == '1';
	memset(ev, 0, sizeof *ev);
	ev->event_type = l->level ? 1 : 2; /* RISING_EDGE, FALLING_EDGE */
	return 0;
}

void gpiod_line_release(struct gpiod_line *l)
{
	if (l->fd >= 0)
		(void)close(l->fd);
	l->fd = -1;
	l->requested = 0;
}
