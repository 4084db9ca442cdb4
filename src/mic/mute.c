/* mute.c - the microphone's mute switch and indicator: see mute.h. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "mic/mute.h"

/* ---- the event stream parser ---- */

void vg_evdev_parser_init(vg_evdev_parser *p, vg_mute_kind kind, vg_mic_state initial)
{
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->state = initial;
	p->pending = kind == VG_MUTE_SW ? -1 : 0;
}

static vg_rc malformed(vg_evdev_parser *p, char *why, size_t cap, const char *what, unsigned type,
		       unsigned code, int32_t value)
{
	p->state = VG_MIC_STATE_UNKNOWN;
	p->have = 0;
	return vg_why(why, cap, VG_ERR_PROTOCOL,
		      "mute switch: malformed input event (%s: type %u code %u value %d)", what,
		      type, code, (int)value);
}

/* One record; true when its frame ended with a change of state. */
static vg_rc event(vg_evdev_parser *p, const struct input_event *ev, bool *changed, char *why,
		   size_t cap)
{
	unsigned type = ev->type, code = ev->code;
	int32_t v = ev->value;

	if (type > EV_MAX)
		return malformed(p, why, cap, "unknown type", type, code, v);
	if (type == EV_SYN) {
		vg_mic_state before = p->state;

		switch (code) {
		case SYN_REPORT:
			if (p->dropping) {
				/* The frame after a drop is incomplete: the
				 * caller re-reads the state. */
				p->dropping = false;
			} else if (p->kind == VG_MUTE_SW && p->pending >= 0) {
				p->state = p->pending ? VG_MIC_STATE_MUTED : VG_MIC_STATE_UNMUTED;
			} else if (p->kind == VG_MUTE_KEY && p->pending > 0 &&
				   p->state != VG_MIC_STATE_UNKNOWN) {
				p->state = p->state == VG_MIC_STATE_MUTED ? VG_MIC_STATE_UNMUTED
									  : VG_MIC_STATE_MUTED;
			}
			p->pending = p->kind == VG_MUTE_SW ? -1 : 0;
			if (p->state != before)
				*changed = true;
			return VG_OK;
		case SYN_DROPPED:
			p->dropping = true;
			p->resync = true;
			p->pending = p->kind == VG_MUTE_SW ? -1 : 0;
			if (p->kind == VG_MUTE_KEY && p->state != VG_MIC_STATE_UNKNOWN) {
				/* A press may be lost: the toggle's state is gone. */
				p->state = VG_MIC_STATE_UNKNOWN;
				*changed = true;
			}
			return VG_OK;
		case SYN_CONFIG:
		case SYN_MT_REPORT:
			return VG_OK;
		default:
			return malformed(p, why, cap, "unknown EV_SYN code", type, code, v);
		}
	}
	if (p->dropping)
		return VG_OK;
	if (type == EV_SW && code == SW_MUTE_DEVICE) {
		if (v != 0 && v != 1)
			return malformed(p, why, cap, "SW_MUTE_DEVICE value", type, code, v);
		if (p->kind == VG_MUTE_SW)
			p->pending = v;
	} else if (type == EV_KEY && code == KEY_MICMUTE) {
		if (v < 0 || v > 2)
			return malformed(p, why, cap, "KEY_MICMUTE value", type, code, v);
		/* A press toggles; a release (0) and autorepeat (2) do not.
		 * Two presses in one frame would be a device's bug: one. */
		if (p->kind == VG_MUTE_KEY && v == 1)
			p->pending = 1;
	}
	return VG_OK;
}

vg_rc vg_evdev_parser_feed(vg_evdev_parser *p, const uint8_t *buf, size_t len, bool *changed,
			   char *why, size_t cap)
{
	bool ch = false;
	vg_rc rc = VG_OK;

	if (changed)
		*changed = false;
	if (!p || (!buf && len))
		return VG_ERR_INVALID;
	while (len > 0 && rc == VG_OK) {
		size_t k = VG_EVDEV_EVENT_LEN - p->have;
		struct input_event ev;

		if (k > len)
			k = len;
		memcpy(p->part + p->have, buf, k);
		p->have += k;
		buf += k;
		len -= k;
		if (p->have < VG_EVDEV_EVENT_LEN)
			break;
		memcpy(&ev, p->part, sizeof ev);
		p->have = 0;
		rc = event(p, &ev, &ch, why, cap);
	}
	if (changed)
		*changed = ch || rc != VG_OK;
	return rc;
}

/* ---- the input device ---- */

#define BITS_LONGS(n) (((n) + 8 * sizeof(unsigned long) - 1) / (8 * sizeof(unsigned long)))
static bool bit(const unsigned long *b, unsigned n)
{
	return (b[n / (8 * sizeof(unsigned long))] >> (n % (8 * sizeof(unsigned long)))) & 1ul;
}

static bool has(int fd, unsigned type, unsigned code, unsigned max)
{
	unsigned long types[BITS_LONGS(EV_CNT)] = {0}, codes[BITS_LONGS(KEY_CNT)] = {0};

	if (ioctl(fd, EVIOCGBIT(0, sizeof types), types) < 0 || !bit(types, type))
		return false;
	if (ioctl(fd, EVIOCGBIT(type, sizeof codes), codes) < 0)
		return false;
	return code <= max && bit(codes, code);
}

vg_rc vg_mute_evdev_state(int fd, vg_mute_kind kind, vg_mic_state *state)
{
	unsigned long sw[BITS_LONGS(SW_CNT)] = {0};

	*state = VG_MIC_STATE_UNKNOWN;
	if (kind != VG_MUTE_SW)
		return VG_OK;
	if (ioctl(fd, EVIOCGSW(sizeof sw), sw) < 0)
		return VG_ERR_IO;
	*state = bit(sw, SW_MUTE_DEVICE) ? VG_MIC_STATE_MUTED : VG_MIC_STATE_UNMUTED;
	return VG_OK;
}

vg_rc vg_mute_evdev_open(const char *path, bool rw, int *fdp, vg_mute_kind *kind,
			 vg_mic_state *state, char *why, size_t cap)
{
	struct stat st;
	int fd;
	vg_rc rc;

	char *real;

	*fdp = -1;
	/* udev's stable names (/dev/input/by-path/...) are symlinks: resolved
	 * once, then the device itself is opened, never a link. */
	real = realpath(path, NULL);
	if (!real)
		return vg_why(why, cap, VG_ERR_IO, "mute switch %s: %s", path, strerror(errno));
	fd = open(real, (rw ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	free(real);
	if (fd < 0)
		return vg_why(why, cap, VG_ERR_IO, "mute switch %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
		(void)close(fd);
		return vg_why(why, cap, VG_ERR_IO, "mute switch %s: not a character device", path);
	}
	if (has(fd, EV_SW, SW_MUTE_DEVICE, SW_MAX))
		*kind = VG_MUTE_SW;
	else if (has(fd, EV_KEY, KEY_MICMUTE, KEY_MAX))
		*kind = VG_MUTE_KEY;
	else {
		(void)close(fd);
		return vg_why(
		    why, cap, VG_ERR_NOT_FOUND,
		    "mute switch %s: the device has neither SW_MUTE_DEVICE nor KEY_MICMUTE", path);
	}
	rc = vg_mute_evdev_state(fd, *kind, state);
	if (rc != VG_OK) {
		(void)close(fd);
		return vg_why(why, cap, rc, "mute switch %s: EVIOCGSW: %s", path, strerror(errno));
	}
	*fdp = fd;
	return VG_OK;
}

bool vg_mute_evdev_has_led(int fd)
{
	return has(fd, EV_LED, LED_MUTE, LED_MAX);
}

vg_rc vg_mute_evdev_led(int fd, bool on)
{
	struct input_event ev[2];

	memset(ev, 0, sizeof ev);
	ev[0].type = EV_LED;
	ev[0].code = LED_MUTE;
	ev[0].value = on ? 1 : 0;
	ev[1].type = EV_SYN;
	ev[1].code = SYN_REPORT;
	return vg_write_all(fd, ev, sizeof ev);
}

/* ---- a LED class device ---- */

vg_rc vg_mute_led_open(const char *dir, vg_mute_led *l, char *why, size_t cap)
{
	char path[512], buf[32];
	int dfd, fd;
	ssize_t n;
	unsigned long max;
	char *end;

	l->fd = -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vg_why(why, cap, VG_ERR_IO, "indicator %s: %s", dir, strerror(errno));
	fd = openat(dfd, "max_brightness", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		(void)close(fd);
	if (n <= 0) {
		(void)close(dfd);
		return vg_why(why, cap, VG_ERR_IO, "indicator %s: cannot read max_brightness", dir);
	}
	buf[n] = '\0';
	errno = 0;
	max = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || max == 0 || max > 65535) {
		(void)close(dfd);
		return vg_why(why, cap, VG_ERR_IO, "indicator %s: max_brightness is not 1..65535",
			      dir);
	}
	l->fd = openat(dfd, "brightness", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	(void)snprintf(path, sizeof path, "%s/brightness", dir);
	(void)close(dfd);
	if (l->fd < 0)
		return vg_why(why, cap, VG_ERR_IO, "indicator %s: %s", path, strerror(errno));
	l->max = (unsigned)max;
	return VG_OK;
}

vg_rc vg_mute_led_set(vg_mute_led *l, bool on)
{
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%u\n", on ? l->max : 0u);

	/* sysfs takes one write at offset 0. */
	return pwrite(l->fd, buf, (size_t)n, 0) == n ? VG_OK : VG_ERR_IO;
}

void vg_mute_led_close(vg_mute_led *l)
{
	if (l->fd >= 0)
		(void)close(l->fd);
	l->fd = -1;
}

/* ---- a GPIO line ---- */

vg_rc vg_mute_gpio_spec(const char *spec, char *chip, size_t chip_cap, unsigned *line)
{
	const char *colon = spec ? strrchr(spec, ':') : NULL;
	size_t n;
	unsigned long v;
	char *end;

	if (!colon)
		return VG_ERR_INVALID;
	n = (size_t)(colon - spec);
	if (n == 0 || n > 63 || n >= chip_cap)
		return VG_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		char c = spec[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '.' || c == '_' || c == '-'))
			return VG_ERR_INVALID;
	}
	if (colon[1] < '0' || colon[1] > '9' || strlen(colon + 1) > 5)
		return VG_ERR_INVALID;
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno || *end || v > 65535)
		return VG_ERR_INVALID;
	memcpy(chip, spec, n);
	chip[n] = '\0';
	*line = (unsigned)v;
	return VG_OK;
}

static vg_rc gpio_read(vg_mute_gpio *g, vg_mic_state *state, char *why, size_t cap)
{
	int v = g->ops->get(g->h);

	if (v != 0 && v != 1) {
		*state = VG_MIC_STATE_UNKNOWN;
		return vg_why(why, cap, VG_ERR_IO, "mute switch: cannot read the GPIO line");
	}
	if (g->active_low)
		v = !v;
	*state = v ? VG_MIC_STATE_MUTED : VG_MIC_STATE_UNMUTED;
	return VG_OK;
}

vg_rc vg_mute_gpio_open(vg_mute_gpio *g, const vg_gpio_ops *ops, const char *spec, bool active_low,
			vg_mic_state *state, char *why, size_t cap)
{
	char chip[64];
	unsigned line;
	vg_rc rc;

	memset(g, 0, sizeof *g);
	*state = VG_MIC_STATE_UNKNOWN;
	if (vg_mute_gpio_spec(spec, chip, sizeof chip, &line) != VG_OK)
		return vg_why(
		    why, cap, VG_ERR_INVALID,
		    "mute switch: --gpio wants CHIP:LINE (e.g. gpiochip0:17), not '%.80s'",
		    spec ? spec : "");
	if (!ops)
		return vg_why(why, cap, VG_ERR_INVALID, "mute switch: no GPIO backend");
	g->ops = ops;
	g->active_low = active_low;
	g->h = ops->open(chip, line, "voxguard-mic", why, cap);
	if (!g->h)
		return VG_ERR_IO;
	rc = gpio_read(g, state, why, cap);
	if (rc != VG_OK)
		vg_mute_gpio_close(g);
	return rc;
}

vg_rc vg_mute_gpio_event(vg_mute_gpio *g, vg_mic_state *state, char *why, size_t cap)
{
	if (g->ops->read_event(g->h) < 0) {
		*state = VG_MIC_STATE_UNKNOWN;
		return vg_why(why, cap, VG_ERR_IO,
			      "mute switch: cannot read the GPIO line's event");
	}
	/* The edge says something changed; the level says what it is now
	 * (edges may be merged or lost, the level is not). */
	return gpio_read(g, state, why, cap);
}

int vg_mute_gpio_fd(const vg_mute_gpio *g)
{
	return g->h ? g->ops->fd(g->h) : -1;
}

void vg_mute_gpio_close(vg_mute_gpio *g)
{
	if (g->h)
		g->ops->close(g->h);
	g->h = NULL;
}

/* libgpiod 1.x (libgpiod.so.2): the functions and the one struct used,
 * declared here with their 1.6 ABI, so that building needs no libgpiod
 * headers and running needs the library only with --gpio. */
struct vg_gpiod_event {
	struct timespec ts;
	int event_type;
};
static struct {
	void *lib;
	void *(*chip_open_lookup)(const char *);
	void (*chip_close)(void *);
	void *(*chip_get_line)(void *, unsigned);
	int (*request_both)(void *, const char *);
	int (*get_value)(void *);
	int (*event_get_fd)(void *);
	int (*event_read)(void *, struct vg_gpiod_event *);
	void (*line_release)(void *);
} gpiod;

struct gpio_h {
	void *chip, *line;
};

static void *gd_open(const char *chip, unsigned line, const char *consumer, char *why, size_t cap)
{
	struct gpio_h *h = calloc(1, sizeof *h);

	if (!h) {
		(void)vg_why(why, cap, VG_ERR_NOMEM, "out of memory");
		return NULL;
	}
	h->chip = gpiod.chip_open_lookup(chip);
	if (!h->chip) {
		(void)vg_why(why, cap, VG_ERR_IO, "mute switch: GPIO chip %s: %s", chip,
			     strerror(errno));
		free(h);
		return NULL;
	}
	h->line = gpiod.chip_get_line(h->chip, line);
	if (!h->line || gpiod.request_both(h->line, consumer) != 0) {
		(void)vg_why(why, cap, VG_ERR_IO, "mute switch: GPIO %s line %u: %s", chip, line,
			     strerror(errno));
		gpiod.chip_close(h->chip);
		free(h);
		return NULL;
	}
	return h;
}

static int gd_get(void *p)
{
	return gpiod.get_value(((struct gpio_h *)p)->line);
}

static int gd_fd(void *p)
{
	return gpiod.event_get_fd(((struct gpio_h *)p)->line);
}

static int gd_read_event(void *p)
{
	struct vg_gpiod_event ev;

	return gpiod.event_read(((struct gpio_h *)p)->line, &ev);
}

static void gd_close(void *p)
{
	struct gpio_h *h = p;

	gpiod.line_release(h->line);
	gpiod.chip_close(h->chip);
	free(h);
}

static const vg_gpio_ops gpiod_ops = {
    .open = gd_open, .get = gd_get, .fd = gd_fd, .read_event = gd_read_event, .close = gd_close};

const vg_gpio_ops *vg_gpio_libgpiod(char *why, size_t cap)
{
	void *lib;

	if (gpiod.lib)
		return &gpiod_ops;
	lib = dlopen("libgpiod.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		(void)vg_why(why, cap, VG_ERR_UNSUPPORTED,
			     "mute switch: libgpiod 1.x (libgpiod.so.2, Debian's libgpiod2) is not "
			     "installed: %s",
			     dlerror());
		return NULL;
	}
#define SYM(f, n)                                     \
	do {                                          \
		*(void **)(&gpiod.f) = dlsym(lib, n); \
		if (!gpiod.f)                         \
			goto missing;                 \
	} while (0)
	SYM(chip_open_lookup, "gpiod_chip_open_lookup");
	SYM(chip_close, "gpiod_chip_close");
	SYM(chip_get_line, "gpiod_chip_get_line");
	SYM(request_both, "gpiod_line_request_both_edges_events");
	SYM(get_value, "gpiod_line_get_value");
	SYM(event_get_fd, "gpiod_line_event_get_fd");
	SYM(event_read, "gpiod_line_event_read");
	SYM(line_release, "gpiod_line_release");
#undef SYM
	gpiod.lib = lib;
	return &gpiod_ops;
missing:
	(void)vg_why(why, cap, VG_ERR_UNSUPPORTED,
		     "mute switch: libgpiod.so.2 lacks the 1.x API (%s)", dlerror());
	(void)dlclose(lib);
	memset(&gpiod, 0, sizeof gpiod);
	return NULL;
}
