/*
 * mute.h - the microphone's mute switch and its indicator as the kernel
 * shows them (AVS 1.15): the backends of `voxguard mic watch`
 * (src/cli/cmd_mic.c). Internal to the core library.
 *
 * The switch, either
 *  - an input device (/dev/input/eventN): SW_MUTE_DEVICE (EV_SW, a latching
 *    switch: 1 = muted; its state is read with EVIOCGSW), or KEY_MICMUTE
 *    (EV_KEY, a button: each press toggles, its initial state is the
 *    caller's); gpio-keys is the usual wiring. Its events are outside
 *    bytes: vg_evdev_parser is strict, fuzzed (fuzz/fuzz_mic_events.c);
 *  - a GPIO line (libgpiod 1.x, dlopen()ed: nothing maps it unless
 *    --gpio is used), value 1 = muted, or 0 with active_low.
 * The indicator, either
 *  - a LED class device (/sys/class/leds/NAME): brightness max_brightness
 *    when muted, 0 when not;
 *  - LED_MUTE on the switch's own input device (an EV_LED event written).
 *
 * Unknown states: a SYN_DROPPED (the kernel's buffer overflowed) makes a
 * KEY_MICMUTE switch's state unknown (a press may be lost) and a
 * SW_MUTE_DEVICE one re-read. Callers show an unknown state as muted.
 */
#ifndef VG_MIC_MUTE_H
#define VG_MIC_MUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/input.h>

#include "voxguard/mic.h"

typedef enum vg_mute_kind {
	VG_MUTE_SW = 1,  /* EV_SW SW_MUTE_DEVICE */
	VG_MUTE_KEY = 2, /* EV_KEY KEY_MICMUTE, toggles */
} vg_mute_kind;

#define VG_EVDEV_EVENT_LEN sizeof(struct input_event)

/* ---- the event stream parser (pure: no system calls) ---- */
typedef struct vg_evdev_parser {
	vg_mute_kind kind;
	vg_mic_state state; /* as of the last SYN_REPORT */
	int pending;        /* SW: the value seen in this frame (-1: none);
			     * KEY: presses seen in this frame (0, 1) */
	bool dropping;      /* after SYN_DROPPED, until the next SYN_REPORT */
	bool resync;        /* set on SYN_DROPPED: the caller re-reads (SW) */
	size_t have;        /* bytes of a partial event */
	uint8_t part[VG_EVDEV_EVENT_LEN];
} vg_evdev_parser;

void vg_evdev_parser_init(vg_evdev_parser *p, vg_mute_kind kind, vg_mic_state initial);
/*
 * Feeds len bytes of struct input_event records (a read() of the device;
 * a record may be split across calls). A change of state takes effect at
 * its frame's SYN_REPORT; *changed (may be NULL) says whether one did.
 * VG_ERR_PROTOCOL, with why, for a malformed record: an event type above
 * EV_MAX, an EV_SYN code the kernel never sends, SW_MUTE_DEVICE outside
 * 0..1, KEY_MICMUTE outside 0..2; the state is then UNKNOWN and stays so
 * until re-initialised. Other types and codes (the rest of a gpio-keys
 * device) are ignored.
 */
VG_NODISCARD vg_rc vg_evdev_parser_feed(vg_evdev_parser *p, const uint8_t *buf, size_t len,
					bool *changed, char *why, size_t cap);

/* ---- the input device ---- */
/*
 * Opens path (O_NONBLOCK, O_CLOEXEC; read-write when rw, to drive
 * LED_MUTE), checks it is a character device that has SW_MUTE_DEVICE
 * (preferred) or KEY_MICMUTE, and reads the switch's state (SW; KEY:
 * UNKNOWN). VG_ERR_NOT_FOUND when it has neither; VG_ERR_IO otherwise.
 */
VG_NODISCARD vg_rc vg_mute_evdev_open(const char *path, bool rw, int *fd, vg_mute_kind *kind,
				      vg_mic_state *state, char *why, size_t cap);
/* The switch's state now (EVIOCGSW; KEY: UNKNOWN). */
VG_NODISCARD vg_rc vg_mute_evdev_state(int fd, vg_mute_kind kind, vg_mic_state *state);
/* Whether the device has LED_MUTE. */
bool vg_mute_evdev_has_led(int fd);
/* Drives LED_MUTE: an EV_LED event and a SYN_REPORT written to fd. */
VG_NODISCARD vg_rc vg_mute_evdev_led(int fd, bool on);

/* ---- a LED class device ---- */
typedef struct vg_mute_led {
	int fd; /* its brightness, open for writing */
	unsigned max;
} vg_mute_led;
/* dir: /sys/class/leds/NAME (or any dir with brightness, max_brightness). */
VG_NODISCARD vg_rc vg_mute_led_open(const char *dir, vg_mute_led *l, char *why, size_t cap);
VG_NODISCARD vg_rc vg_mute_led_set(vg_mute_led *l, bool on);
void vg_mute_led_close(vg_mute_led *l);

/* ---- a GPIO line: the seam (libgpiod in production, a mock in tests) ---- */
typedef struct vg_gpio_ops {
	/* Requests line of chip (a name, number or path) for both edges. */
	void *(*open)(const char *chip, unsigned line, const char *consumer, char *why, size_t cap);
	int (*get)(void *h);        /* 0 or 1; < 0 on error */
	int (*fd)(void *h);         /* readable when an edge is queued */
	int (*read_event)(void *h); /* takes one queued edge: 0 on success, < 0 on error */
	void (*close)(void *h);
} vg_gpio_ops;
/* libgpiod 1.x (libgpiod.so.2, Debian 12's libgpiod2), dlopen()ed on first
 * use; NULL with why when it is missing. */
const vg_gpio_ops *vg_gpio_libgpiod(char *why, size_t cap);

typedef struct vg_mute_gpio {
	const vg_gpio_ops *ops;
	void *h;
	bool active_low;
} vg_mute_gpio;
/* "CHIP:LINE": CHIP 1..63 bytes of [A-Za-z0-9/._-], LINE decimal 0..65535. */
VG_NODISCARD vg_rc vg_mute_gpio_spec(const char *spec, char *chip, size_t chip_cap, unsigned *line);
VG_NODISCARD vg_rc vg_mute_gpio_open(vg_mute_gpio *g, const vg_gpio_ops *ops, const char *spec,
				     bool active_low, vg_mic_state *state, char *why, size_t cap);
/* After g's fd polled readable: takes the edge and reads the line again. */
VG_NODISCARD vg_rc vg_mute_gpio_event(vg_mute_gpio *g, vg_mic_state *state, char *why, size_t cap);
int vg_mute_gpio_fd(const vg_mute_gpio *g);
void vg_mute_gpio_close(vg_mute_gpio *g);

#endif
