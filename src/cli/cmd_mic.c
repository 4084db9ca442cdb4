/* cmd_mic.c - `voxguard mic ...`: the microphone's mute switch (AVS 1.15;
 * docs/PRIVACY.md, "The microphone: mute, indicator and the audio gate").
 *
 * `watch` is the watcher (systemd/voxguard-mic.service): it reads the
 * switch as the kernel reports it (an input device's SW_MUTE_DEVICE or
 * KEY_MICMUTE, or a GPIO line), drives the indicator from that same state
 * and reports every state to the service (mic.report), which audits each
 * change as mic.mute / mic.unmute. It repeats the state every 30 s, so a
 * restarted service knows it again and the service can tell a watcher
 * that stopped (its state then expires to unknown). An unknown state, a
 * failed read and the watcher's exit all show as muted on the indicator
 * (the voice app's gate is closed then too: it treats unknown as muted).
 * `status` prints what the service knows; `report` sends one state (for
 * scripts and tests). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "mic/mute.h"
#include "voxguard/mic.h"

#define HEARTBEAT_MS 30000
#define RETRY_MS     5000

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *state_str(vg_mic_state s)
{
	return s == VG_MIC_STATE_MUTED     ? "muted"
	       : s == VG_MIC_STATE_UNMUTED ? "unmuted"
					   : "unknown";
}

struct watch {
	struct cli *cli;
	vg_client *c;
	const char *source;
	char src_unknown[VG_MIC_SOURCE_MAX + 1];
	int led_input_fd; /* LED_MUTE on the switch's device, or -1 */
	vg_mute_led led;  /* a LED class device (fd -1: none) */
	vg_mic_state state;
	bool reported;
	uint64_t last_report, last_try;
};

/* The indicator shows mute unless the switch is known to be on. */
static int indicate(struct watch *w)
{
	bool on = w->state != VG_MIC_STATE_UNMUTED;
	vg_rc rc = VG_OK;

	if (w->led_input_fd >= 0)
		rc = vg_mute_evdev_led(w->led_input_fd, on);
	else if (w->led.fd >= 0)
		rc = vg_mute_led_set(&w->led, on);
	if (rc != VG_OK)
		return cli_fail("mic watch: cannot drive the indicator: %s", strerror(errno));
	return 0;
}

static void report(struct watch *w)
{
	bool unknown = w->state == VG_MIC_STATE_UNKNOWN;
	uint64_t now = vg_mono_ms();
	vg_rc rc;

	if (!w->c) {
		if (w->last_try && now - w->last_try < RETRY_MS)
			return;
		w->last_try = now;
		if (cli_connect(w->cli, &w->c) != 0)
			return; /* said why; retried */
	}
	/* Unknown is reported as muted, the source saying so. */
	rc = vg_mic_report(w->c, w->state != VG_MIC_STATE_UNMUTED,
			   unknown ? w->src_unknown : w->source);
	if (rc != VG_OK) {
		(void)cli_fail_rc(w->c, "mic watch: report", rc);
		w->last_try = now;
		if (rc == VG_ERR_DENIED) {
			/* Not ours to fix by retrying fast. */
			w->last_report = now;
		}
		w->reported = false;
		return;
	}
	w->reported = true;
	w->last_report = now;
}

static int apply(struct watch *w, vg_mic_state s)
{
	int e;

	w->state = s;
	if ((e = indicate(w)))
		return e;
	(void)printf("%s\n", state_str(s));
	(void)fflush(stdout);
	w->reported = false;
	report(w);
	return 0;
}

static int mic_watch(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "switch=,gpio=,active-low,led=,led-input,initial=";
	struct cli_opts o;
	struct watch w = {.cli = cli, .led_input_fd = -1, .led = {.fd = -1}};
	const char *sw, *gpio, *led, *initial;
	bool led_input;
	char why[512] = "";
	int fd = -1, e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_mute_kind kind = VG_MUTE_SW;
	vg_mute_gpio g = {0};
	vg_evdev_parser p;
	vg_mic_state st = VG_MIC_STATE_UNKNOWN;
	struct sigaction sa;
	vg_rc rc;

	if (e)
		return e;
	sw = cli_opt(&o, spec, "switch");
	gpio = cli_opt(&o, spec, "gpio");
	led = cli_opt(&o, spec, "led");
	initial = cli_opt(&o, spec, "initial");
	led_input = cli_flag(&o, spec, "led-input");
	if (!sw == !gpio)
		return cli_fail("mic watch: one of --switch /dev/input/eventN or --gpio CHIP:LINE");
	if ((led != NULL) + led_input != 1)
		return cli_fail(
		    "mic watch: one indicator: --led /sys/class/leds/NAME or --led-input");
	if (led_input && !sw)
		return cli_fail("mic watch: --led-input drives LED_MUTE of the --switch device");
	if (cli_flag(&o, spec, "active-low") && !gpio)
		return cli_fail("mic watch: --active-low is for --gpio");
	if (initial && strcmp(initial, "muted") != 0 && strcmp(initial, "unmuted") != 0)
		return cli_fail("mic watch: --initial muted or --initial unmuted");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);

	if (sw) {
		rc = vg_mute_evdev_open(sw, led_input, &fd, &kind, &st, why, sizeof why);
		if (rc != VG_OK)
			return cli_fail("mic watch: %s", why);
		if (kind == VG_MUTE_KEY) {
			if (!initial) {
				(void)close(fd);
				return cli_fail(
				    "mic watch: %s has KEY_MICMUTE, a button whose state "
				    "cannot be read: give --initial muted|unmuted (the "
				    "hardware's state at start)",
				    sw);
			}
			st = strcmp(initial, "muted") == 0 ? VG_MIC_STATE_MUTED
							   : VG_MIC_STATE_UNMUTED;
		} else if (initial) {
			(void)close(fd);
			return cli_fail("mic watch: --initial is for KEY_MICMUTE; %s has "
					"SW_MUTE_DEVICE, whose state is read",
					sw);
		}
		if (led_input) {
			if (!vg_mute_evdev_has_led(fd)) {
				(void)close(fd);
				return cli_fail("mic watch: %s has no LED_MUTE (--led-input)", sw);
			}
			w.led_input_fd = fd;
		}
		vg_evdev_parser_init(&p, kind, st);
		w.source = sw;
	} else {
		const vg_gpio_ops *ops = vg_gpio_libgpiod(why, sizeof why);

		if (!ops)
			return cli_fail("mic watch: %s", why);
		rc = vg_mute_gpio_open(&g, ops, gpio, cli_flag(&o, spec, "active-low"), &st, why,
				       sizeof why);
		if (rc != VG_OK)
			return cli_fail("mic watch: %s", why);
		fd = vg_mute_gpio_fd(&g);
		w.source = gpio;
	}
	(void)snprintf(w.src_unknown, sizeof w.src_unknown, "%.100s (state unknown)", w.source);
	if (led) {
		rc = vg_mute_led_open(led, &w.led, why, sizeof why);
		if (rc != VG_OK) {
			e = cli_fail("mic watch: %s", why);
			goto out;
		}
	}
	if ((e = apply(&w, st)))
		goto out;

	while (!stop) {
		uint64_t now = vg_mono_ms();
		uint64_t due = w.reported ? w.last_report + HEARTBEAT_MS : w.last_try + RETRY_MS;
		int timeout = due > now ? (int)(due - now) : 0;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = poll(&pfd, 1, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = cli_fail("mic watch: poll: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			report(&w); /* heartbeat or retry */
			continue;
		}
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			e = cli_fail("mic watch: the switch %s is gone", w.source);
			break;
		}
		if (gpio) {
			rc = vg_mute_gpio_event(&g, &st, why, sizeof why);
			if (rc != VG_OK) {
				e = cli_fail("mic watch: %s", why);
				break;
			}
			if (st != w.state && (e = apply(&w, st)))
				break;
			continue;
		}
		for (;;) {
			uint8_t buf[64 * VG_EVDEV_EVENT_LEN];
			ssize_t r = read(fd, buf, sizeof buf);
			bool changed = false;

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno == EAGAIN)
				break;
			if (r <= 0) {
				e = cli_fail("mic watch: reading %s: %s", w.source,
					     r == 0 ? "end of file" : strerror(errno));
				goto out;
			}
			rc = vg_evdev_parser_feed(&p, buf, (size_t)r, &changed, why, sizeof why);
			if (rc != VG_OK) {
				e = cli_fail("mic watch: %s: %s", w.source, why);
				goto out;
			}
			if (p.resync && kind == VG_MUTE_SW) {
				/* Events were dropped: the device says what is. */
				vg_mic_state now_st;

				if (vg_mute_evdev_state(fd, kind, &now_st) != VG_OK)
					now_st = VG_MIC_STATE_UNKNOWN;
				vg_evdev_parser_init(&p, kind, now_st);
				changed = now_st != w.state;
			}
			p.resync = false;
			if (changed && p.state != w.state && (e = apply(&w, p.state)))
				goto out;
		}
	}
out:
	/* Whatever ends the watch, the indicator is left showing mute. */
	w.state = VG_MIC_STATE_UNKNOWN;
	if (w.led_input_fd >= 0 || w.led.fd >= 0)
		(void)indicate(&w);
	if (gpio)
		vg_mute_gpio_close(&g);
	else if (fd >= 0)
		(void)close(fd);
	vg_mute_led_close(&w.led);
	vg_client_close(&w.c);
	return e;
}

static int mic_status(struct cli *cli, int argc, char **argv)
{
	struct cli_opts o;
	vg_client *c = NULL;
	vg_mic_state st;
	uint64_t since = 0;
	char source[VG_MIC_SOURCE_MAX + 1];
	static const char spec[] = "json";
	int e = cli_parse(spec, argc, argv, &o, 0, 0);
	vg_rc rc;

	if (e)
		return e;
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_mic_state_get(c, &st, &since, source, sizeof source);
	if (rc != VG_OK) {
		e = cli_fail_rc(c, "mic status", rc);
	} else if (cli_flag(&o, spec, "json")) {
		bool known = st != VG_MIC_STATE_UNKNOWN;
		e = cli_print_json(
		    json_pack("{s:s,s:o,s:o}", "state", state_str(st), "source",
			      known ? cli_json_str(source) : json_null(), "since",
			      known ? json_integer((json_int_t)since) : json_null()));
	} else {
		(void)printf("state: %s\n", state_str(st));
		if (st != VG_MIC_STATE_UNKNOWN)
			(void)printf("source: %s\nsince: %llu\n", source,
				     (unsigned long long)since);
	}
	vg_client_close(&c);
	return e;
}

static int mic_report(struct cli *cli, int argc, char **argv)
{
	static const char spec[] = "source=";
	struct cli_opts o;
	vg_client *c = NULL;
	const char *source;
	int e = cli_parse(spec, argc, argv, &o, 1, 1);
	vg_rc rc;

	if (e)
		return e;
	source = cli_opt(&o, spec, "source");
	if (strcmp(o.pos[0], "muted") != 0 && strcmp(o.pos[0], "unmuted") != 0)
		return cli_fail("mic report: muted or unmuted");
	if (!source)
		return cli_fail("mic report: --source NAME is required (the switch)");
	if ((e = cli_connect(cli, &c)))
		return e;
	rc = vg_mic_report(c, strcmp(o.pos[0], "muted") == 0, source);
	if (rc != VG_OK)
		e = cli_fail_rc(c, "mic report", rc);
	vg_client_close(&c);
	return e;
}

static const struct cli_cmd mic_cmds[] = {
    {"watch", mic_watch,
     "--switch /dev/input/eventN [--initial muted|unmuted] | --gpio CHIP:LINE [--active-low]; "
     "--led /sys/class/leds/NAME | --led-input: drive the indicator, report to the service"},
    {"status", mic_status, "[--json]: the switch's state as the service knows it (any uid)"},
    {"report", mic_report,
     "muted|unmuted --source NAME: report a state (root, an admin or mic_uids)"},
};

int cmd_mic(struct cli *cli, int argc, char **argv)
{
	return cli_dispatch(cli, "mic", mic_cmds, VG_ARRAY_LEN(mic_cmds), argc, argv);
}
