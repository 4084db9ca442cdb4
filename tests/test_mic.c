/*
 * test_mic.c - the microphone (AVS 1.15; the SESIP profile's privacy by
 * design): the audio gate and its locked pre-wake ring
 * (include/voxguard/mic.h, src/mic/gate.c), the reference tone hook
 * (src/mic/wake_tone.c), the mute switch's event parser, the LED
 * indicators and the GPIO backend against a mock chip (src/mic/mute.c).
 * Real speech through the gate: tests/integration/test_avs115_mic_gate.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "mic/gate_int.h"
#include "mic/mute.h"
#include "voxguard/mic.h"

/* AddressSanitizer makes mlock() a no-op (it would lock its shadow
 * memory): the locking checks skip there, and say so. */
#if defined(__SANITIZE_ADDRESS__)
#define VG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VG_ASAN 1
#endif
#endif
#ifndef VG_ASAN
#define VG_ASAN 0
#endif

/* ---- a scripted hook and a recording output ---- */

struct hook {
	int16_t marker; /* wake when a block holds this sample */
	size_t calls, frames, resets;
};
static bool hook_wake(void *ctx, const int16_t *pcm, size_t frames)
{
	struct hook *h = ctx;
	bool hit = false;

	h->calls++;
	h->frames += frames;
	for (size_t i = 0; i < frames; i++)
		if (pcm[i] == h->marker)
			hit = true;
	return hit;
}
static void hook_reset(void *ctx)
{
	((struct hook *)ctx)->resets++;
}

struct sink {
	int16_t *pcm;
	size_t n, cap;
};
static vg_rc sink_out(void *ctx, const int16_t *pcm, size_t frames)
{
	struct sink *s = ctx;

	if (s->n + frames > s->cap)
		return VG_ERR_TOO_LARGE;
	memcpy(s->pcm + s->n, pcm, frames * sizeof *pcm);
	s->n += frames;
	return VG_OK;
}

#define RATE 8000u
static vg_mic_gate *gate(struct hook *h, struct sink *s, uint32_t ring_ms, uint32_t preroll_ms)
{
	vg_mic_gate_opts o = {.rate = RATE,
			      .channels = 1,
			      .ring_ms = ring_ms,
			      .preroll_ms = preroll_ms,
			      .wake = hook_wake,
			      .wake_reset = hook_reset,
			      .wake_ctx = h,
			      .out = sink_out,
			      .out_ctx = s};
	char why[256] = "";
	vg_mic_gate *g = NULL;

	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_OK);
	return g;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool ring_zero(vg_mic_gate *g)
{
	size_t n;
	const int16_t *r = vg_mic_gate_ring_view(g, &n);

	return all_zero(r, n * sizeof *r);
}

static bool ring_has(vg_mic_gate *g, int16_t v)
{
	size_t n;
	const int16_t *r = vg_mic_gate_ring_view(g, &n);

	for (size_t i = 0; i < n; i++)
		if (r[i] == v)
			return true;
	return false;
}

static void fill(int16_t *p, size_t n, int16_t v)
{
	for (size_t i = 0; i < n; i++)
		p[i] = v;
}

/* AVS 1.15: a new gate is muted; while muted nothing passes, the hook is
 * not even called, and the caller's buffer is wiped. */
static void test_avs115_gate_muted_passes_nothing_and_wipes(void **state)
{
	struct hook h = {.marker = 5};
	int16_t out[4096], pcm[800];
	struct sink s = {.pcm = out, .cap = 4096};
	vg_mic_gate *g = gate(&h, &s, 500, 100);

	(void)state;
	assert_int_equal(vg_mic_gate_get_state(g), VG_MIC_MUTED);
	for (int i = 0; i < 20; i++) {
		fill(pcm, 800, 5); /* the marker: would wake if looked at */
		assert_int_equal(vg_mic_gate_push(g, pcm, 800), VG_OK);
		assert_true(all_zero(pcm, sizeof pcm));
	}
	assert_int_equal(s.n, 0);
	assert_int_equal(h.calls, 0);
	assert_true(ring_zero(g));
	vg_mic_gate_free(&g);
	assert_null(g);
	vg_mic_gate_free(&g); /* NULL-safe */
}

/* Privacy by design: before the wake word nothing passes; the audio is
 * only in the ring, and the caller's buffer is wiped. */
static void test_privacy_prewake_nothing_passes(void **state)
{
	struct hook h = {.marker = -1};
	int16_t out[4096], pcm[160];
	struct sink s = {.pcm = out, .cap = 4096};
	vg_mic_gate *g = gate(&h, &s, 500, 100);

	(void)state;
	vg_mic_gate_set_muted(g, false);
	assert_int_equal(vg_mic_gate_get_state(g), VG_MIC_LISTENING);
	for (int i = 0; i < 100; i++) {
		fill(pcm, 160, (int16_t)(100 + i));
		assert_int_equal(vg_mic_gate_push(g, pcm, 160), VG_OK);
		assert_true(all_zero(pcm, sizeof pcm));
	}
	assert_int_equal(s.n, 0);
	assert_int_equal(h.frames, 100 * 160);
	/* The hook saw blocks of at most hook_frames (80 at 8 kHz). */
	assert_int_equal(h.calls, 100 * 2);
	/* The last 500 ms (4000 frames = 25 pushes) are in the ring. */
	assert_true(ring_has(g, 199));
	assert_true(ring_has(g, 175));
	assert_false(ring_has(g, 174));
	vg_mic_gate_free(&g);
}

/* Privacy by design: the ring wipes what it overwrites; after a full
 * turn no older sample is anywhere in its mapping (slack included). */
static void test_privacy_ring_wrap_wipes_old_samples(void **state)
{
	struct hook h = {.marker = -1};
	int16_t out[16], pcm[800];
	struct sink s = {.pcm = out, .cap = 16};
	vg_mic_gate *g = gate(&h, &s, 100, 0); /* 800 frames */
	size_t n;
	const int16_t *r;

	(void)state;
	vg_mic_gate_set_muted(g, false);
	fill(pcm, 800, 1111);
	assert_int_equal(vg_mic_gate_push(g, pcm, 800), VG_OK);
	fill(pcm, 300, 2222);
	assert_int_equal(vg_mic_gate_push(g, pcm, 300), VG_OK);
	r = vg_mic_gate_ring_view(g, &n);
	{
		size_t a = 0, b = 0;
		for (size_t i = 0; i < n; i++) {
			a += r[i] == 1111;
			b += r[i] == 2222;
		}
		assert_int_equal(a, 500);
		assert_int_equal(b, 300);
	}
	fill(pcm, 800, 3333);
	assert_int_equal(vg_mic_gate_push(g, pcm, 800), VG_OK);
	assert_false(ring_has(g, 1111));
	assert_false(ring_has(g, 2222));
	assert_true(ring_has(g, 3333));
	assert_int_equal(s.n, 0);
	vg_mic_gate_free(&g);
}

/* AVS 1.15 / privacy by design: at the wake, exactly the pre-roll (the
 * last preroll_ms up to the end of the wake block) passes, then
 * everything; the ring is wiped; end of utterance closes the gate again. */
static void test_avs115_wake_passes_preroll_then_everything(void **state)
{
	struct hook h = {.marker = 30000};
	enum { TOTAL = 8000 };
	static int16_t in[TOTAL], copy[TOTAL], out[TOTAL];
	struct sink s = {.pcm = out, .cap = TOTAL};
	vg_mic_gate *g = gate(&h, &s, 500, 100); /* pre-roll 800 frames */
	size_t wake_at = 3000, block_end = 3040; /* hook blocks of 80 */

	(void)state;
	for (size_t i = 0; i < TOTAL; i++)
		in[i] = (int16_t)(i % 20000 + 1);
	in[wake_at] = 30000;
	memcpy(copy, in, sizeof in);
	vg_mic_gate_set_muted(g, false);
	/* Pushes of odd sizes: the blocks stay aligned. */
	for (size_t i = 0; i < TOTAL;) {
		size_t k = TOTAL - i < 333 ? TOTAL - i : 333;
		assert_int_equal(vg_mic_gate_push(g, copy + i, k), VG_OK);
		i += k;
	}
	assert_int_equal(vg_mic_gate_get_state(g), VG_MIC_OPEN);
	assert_int_equal(s.n, 800 + TOTAL - block_end);
	assert_memory_equal(out, in + block_end - 800, s.n * sizeof *out);
	/* Nothing from before the pre-roll, and the ring is wiped. */
	assert_true(ring_zero(g));
	assert_true(all_zero(copy, (block_end - 800) * sizeof *copy));
	assert_true(h.resets >= 2); /* the unmute and the wake */

	vg_mic_gate_end_utterance(g);
	assert_int_equal(vg_mic_gate_get_state(g), VG_MIC_LISTENING);
	s.n = 0;
	memcpy(copy, in, sizeof in);
	copy[wake_at] = 1; /* no wake word this time */
	assert_int_equal(vg_mic_gate_push(g, copy, TOTAL), VG_OK);
	assert_int_equal(s.n, 0);
	assert_true(all_zero(copy, sizeof copy));
	vg_mic_gate_free(&g);
}

/* AVS 1.15: muting an open gate closes it at once and wipes the ring;
 * unmuting goes back to listening, never straight to open. */
static void test_avs115_mute_closes_open_gate(void **state)
{
	struct hook h = {.marker = 77};
	int16_t out[4096], pcm[400];
	struct sink s = {.pcm = out, .cap = 4096};
	vg_mic_gate *g = gate(&h, &s, 500, 20);

	(void)state;
	vg_mic_gate_set_muted(g, false);
	fill(pcm, 400, 77);
	assert_int_equal(vg_mic_gate_push(g, pcm, 400), VG_OK);
	assert_int_equal(vg_mic_gate_get_state(g), VG_MIC_OPEN);
	assert_int_equal(s.n, 80 + 320); /* 20 ms pre-roll (the wake block) + the rest */
	vg_mic_gate_set_muted(g, true);
	assert_int_equal(vg_mic_gate_get_state(g), VG_MIC_MUTED);
	s.n = 0;
	fill(pcm, 400, 9);
	assert_int_equal(vg_mic_gate_push(g, pcm, 400), VG_OK);
	assert_int_equal(s.n, 0);
	assert_true(all_zero(pcm, sizeof pcm));
	assert_true(ring_zero(g));
	vg_mic_gate_set_muted(g, false);
	assert_int_equal(vg_mic_gate_get_state(g), VG_MIC_LISTENING);
	fill(pcm, 400, 9);
	assert_int_equal(vg_mic_gate_push(g, pcm, 400), VG_OK);
	assert_int_equal(s.n, 0);
	/* Listening state: muting wipes what the ring held. */
	assert_true(ring_has(g, 9));
	vg_mic_gate_set_muted(g, true);
	assert_true(ring_zero(g));
	vg_mic_gate_free(&g);
}

/* Privacy by design: the ring is locked (never swapped), not dumped and
 * wiped on fork, as the kernel's /proc/self/smaps shows. */
static void test_privacy_ring_locked_dontdump_wipeonfork(void **state)
{
	struct hook h = {.marker = -1};
	int16_t out[16], pcm[800];
	struct sink s = {.pcm = out, .cap = 16};
	vg_mic_gate *g = gate(&h, &s, 1000, 0);
	size_t n;
	const int16_t *r = vg_mic_gate_ring_view(g, &n);
	char line[512], want[64];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false, flags = false;
	long locked = -1;
	pid_t pid;
	int st;

	(void)state;
	assert_non_null(f);
	(void)snprintf(want, sizeof want, "%lx-", (unsigned long)(uintptr_t)r);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, want, strlen(want)) == 0) {
			in = true;
			continue;
		}
		if (!in)
			continue;
		if (strncmp(line, "Locked:", 7) == 0)
			locked = strtol(line + 7, NULL, 10);
		if (strncmp(line, "VmFlags:", 8) == 0) {
			flags = strstr(line, " lo") && strstr(line, " dd") && strstr(line, " wf");
			break;
		}
	}
	(void)fclose(f);
	assert_true(in);
	if (VG_ASAN) {
		/* mlock is ASan's no-op: only the advice flags can be seen. */
		(void)locked;
		(void)flags;
	} else {
		assert_int_equal(locked, (long)(vg_mic_gate_ring_bytes(g) / 1024));
		assert_true(flags);
	}
	{
		/* Not dumped, wiped on fork: whatever the build. */
		FILE *f2 = fopen("/proc/self/smaps", "r");
		bool in2 = false, adv = false;

		assert_non_null(f2);
		while (fgets(line, sizeof line, f2)) {
			if (strncmp(line, want, strlen(want)) == 0)
				in2 = true;
			else if (in2 && strncmp(line, "VmFlags:", 8) == 0) {
				adv = strstr(line, " dd") && strstr(line, " wf");
				break;
			}
		}
		(void)fclose(f2);
		assert_true(adv);
	}

	/* A forked child sees zeroes where the parent holds audio. */
	vg_mic_gate_set_muted(g, false);
	fill(pcm, 800, 4242);
	assert_int_equal(vg_mic_gate_push(g, pcm, 800), VG_OK);
	assert_true(ring_has(g, 4242));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ring_zero(g) ? 0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	vg_mic_gate_free(&g);
}

/* Privacy by design: a ring that cannot be locked is an error naming the
 * size and RLIMIT_MEMLOCK, never an unlocked ring. */
static void test_privacy_ring_mlock_limit_fails_clearly(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (VG_ASAN) {
		(void)pid;
		(void)st;
		skip(); /* ASan's mlock() is a no-op: no limit to hit */
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {.rlim_cur = 4096, .rlim_max = 4096};
		vg_mic_gate_opts o = {.rate = 16000,
				      .channels = 1,
				      .ring_ms = 2000,
				      .wake = hook_wake,
				      .out = sink_out};
		char why[512] = "";
		vg_mic_gate *g = NULL;
		vg_rc rc;

		if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
			_exit(10);
		/* root's CAP_IPC_LOCK ignores the limit: be nobody. */
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(11);
		rc = vg_mic_gate_new(&g, &o, why, sizeof why);
		if (rc != VG_ERR_NOMEM || g)
			_exit(12);
		if (!strstr(why, "64000 bytes") || !strstr(why, "RLIMIT_MEMLOCK is 4096 bytes"))
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_avs115_gate_options_refused(void **state)
{
	struct hook h = {0};
	struct sink s = {0};
	vg_mic_gate_opts ok = {.rate = RATE,
			       .channels = 1,
			       .ring_ms = 500,
			       .preroll_ms = 100,
			       .wake = hook_wake,
			       .wake_ctx = &h,
			       .out = sink_out,
			       .out_ctx = &s};
	vg_mic_gate_opts o;
	vg_mic_gate *g = (vg_mic_gate *)&o;
	char why[256];

	(void)state;
	o = ok, o.rate = 4000;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	assert_null(g);
	assert_non_null(strstr(why, "rate"));
	o = ok, o.channels = 0;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	o = ok, o.channels = 9;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	o = ok, o.ring_ms = 50;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	o = ok, o.preroll_ms = 600;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	o = ok, o.wake = NULL;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	o = ok, o.out = NULL;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	o = ok, o.rate = 192000, o.channels = 8, o.ring_ms = 10000;
	assert_int_equal(vg_mic_gate_new(&g, &o, why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_mic_gate_new(&g, NULL, why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_mic_gate_new(&g, &ok, NULL, 0), VG_OK);
	assert_int_equal(vg_mic_gate_push(g, NULL, 1), VG_ERR_INVALID);
	assert_int_equal(vg_mic_gate_push(g, NULL, 0), VG_OK);
	vg_mic_gate_free(&g);
}

/* ---- the reference tone hook ---- */

/* A sine by recurrence, y[n] = 2cos(w) y[n-1] - y[n-2] (no libm: cos and
 * sin of w by their series). */
static void tone(int16_t *p, size_t n, uint32_t rate, double f, double amp)
{
	double w = 2.0 * 3.14159265358979323846 * f / rate, c = 1.0, s = w, tc = 1.0, ts = w;
	double y0 = 0, y1, y2;

	for (int i = 1; i <= 30; i++) {
		tc *= -w * w / ((2.0 * i - 1) * (2.0 * i));
		ts *= -w * w / ((2.0 * i) * (2.0 * i + 1));
		c += tc;
		s += ts;
	}
	y1 = s;
	for (size_t i = 0; i < n; i++) {
		p[i] = (int16_t)(amp * 32767.0 * y0);
		y2 = 2.0 * c * y1 - y0;
		y0 = y1;
		y1 = y2;
	}
}

static size_t first_wake(vg_mic_tone *t, const int16_t *p, size_t n, size_t block)
{
	for (size_t i = 0; i < n; i += block)
		if (vg_mic_tone_wake(t, p + i, n - i < block ? n - i : block))
			return i + (n - i < block ? n - i : block);
	return 0;
}

/* AVS 1.15 test support: the tone hook wakes on >= 200 ms of 1 kHz and
 * not on shorter tones, other frequencies, silence or noise. */
static void test_avs115_tone_hook_detects_only_the_tone(void **state)
{
	enum { N = 16000 };
	static int16_t buf[N];
	vg_mic_tone *t = NULL;

	(void)state;
	assert_int_equal(vg_mic_tone_new(&t, 16000, 1, 1000, 200), VG_OK);
	tone(buf, N, 16000, 1000, 0.3);
	assert_int_equal(first_wake(t, buf, N, 160), 3360); /* 200 ms + a block */
	vg_mic_tone_reset(t);
	tone(buf, 3040, 16000, 1000, 0.3); /* 190 ms: too short */
	memset(buf + 3040, 0, (N - 3040) * sizeof *buf);
	assert_int_equal(first_wake(t, buf, N, 160), 0);
	vg_mic_tone_reset(t);
	tone(buf, N, 16000, 2000, 0.3);
	assert_int_equal(first_wake(t, buf, N, 160), 0);
	vg_mic_tone_reset(t);
	tone(buf, N, 16000, 1000, 0.001); /* -60 dBFS: too quiet */
	assert_int_equal(first_wake(t, buf, N, 160), 0);
	vg_mic_tone_reset(t);
	srand(7);
	for (size_t i = 0; i < N; i++)
		buf[i] = (int16_t)(rand() % 20000 - 10000);
	assert_int_equal(first_wake(t, buf, N, 160), 0);
	vg_mic_tone_free(&t);
	assert_null(t);
	assert_int_equal(vg_mic_tone_new(&t, 16000, 1, 9000, 200), VG_ERR_INVALID);
	assert_int_equal(vg_mic_tone_new(&t, 16000, 0, 1000, 200), VG_ERR_INVALID);
	assert_int_equal(vg_mic_tone_new(&t, 16000, 1, 1000, 5), VG_ERR_INVALID);
}

/* ---- the mute switch's input events ---- */

static void ev(uint8_t **p, unsigned type, unsigned code, int32_t value)
{
	struct input_event e;

	memset(&e, 0, sizeof e);
	e.type = (uint16_t)type;
	e.code = (uint16_t)code;
	e.value = value;
	memcpy(*p, &e, sizeof e);
	*p += sizeof e;
}

/* AVS 1.15: SW_MUTE_DEVICE as the kernel sends it, through a socket,
 * read in odd pieces: the state changes at each frame's SYN_REPORT, and
 * the rest of a gpio-keys device is ignored. */
static void test_avs115_evdev_switch_events(void **state)
{
	uint8_t buf[32 * sizeof(struct input_event)], *p = buf, rd[7];
	vg_evdev_parser ps;
	int sv[2];
	size_t len;
	ssize_t r;
	int changes = 0;
	vg_mic_state seen[8];
	char why[256];

	(void)state;
	ev(&p, EV_SW, SW_MUTE_DEVICE, 1);
	ev(&p, EV_SYN, SYN_REPORT, 0);
	ev(&p, EV_KEY, KEY_VOLUMEUP, 1); /* another key of the device */
	ev(&p, EV_MSC, MSC_SCAN, 42);
	ev(&p, EV_SYN, SYN_REPORT, 0);
	ev(&p, EV_SW, SW_MUTE_DEVICE, 0);
	ev(&p, EV_SW, SW_LID, 1); /* another switch */
	ev(&p, EV_SYN, SYN_REPORT, 0);
	ev(&p, EV_SW, SW_MUTE_DEVICE, 1); /* not reported yet: no SYN */
	len = (size_t)(p - buf);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], buf, len), (ssize_t)len);
	(void)close(sv[0]);
	vg_evdev_parser_init(&ps, VG_MUTE_SW, VG_MIC_STATE_UNMUTED);
	while ((r = read(sv[1], rd, sizeof rd)) > 0) {
		bool ch = false;
		assert_int_equal(vg_evdev_parser_feed(&ps, rd, (size_t)r, &ch, why, sizeof why),
				 VG_OK);
		if (ch) {
			assert_true(changes < 8);
			seen[changes++] = ps.state;
		}
	}
	(void)close(sv[1]);
	assert_int_equal(changes, 2);
	assert_int_equal(seen[0], VG_MIC_STATE_MUTED);
	assert_int_equal(seen[1], VG_MIC_STATE_UNMUTED);
	assert_int_equal(ps.state, VG_MIC_STATE_UNMUTED);
	assert_int_equal(ps.have, 0);
}

/* AVS 1.15: KEY_MICMUTE toggles on a press only; a SYN_DROPPED makes a
 * button's state unknown (a press may be lost) and asks a switch to be
 * re-read. */
static void test_avs115_evdev_key_toggle_and_drop(void **state)
{
	uint8_t buf[16 * sizeof(struct input_event)], *p = buf;
	vg_evdev_parser ps;
	bool ch;
	char why[256];

	(void)state;
	vg_evdev_parser_init(&ps, VG_MUTE_KEY, VG_MIC_STATE_UNMUTED);
	ev(&p, EV_KEY, KEY_MICMUTE, 1);
	ev(&p, EV_SYN, SYN_REPORT, 0);
	assert_int_equal(vg_evdev_parser_feed(&ps, buf, (size_t)(p - buf), &ch, why, sizeof why),
			 VG_OK);
	assert_true(ch);
	assert_int_equal(ps.state, VG_MIC_STATE_MUTED);
	p = buf;
	ev(&p, EV_KEY, KEY_MICMUTE, 2); /* autorepeat */
	ev(&p, EV_SYN, SYN_REPORT, 0);
	ev(&p, EV_KEY, KEY_MICMUTE, 0); /* release */
	ev(&p, EV_SYN, SYN_REPORT, 0);
	assert_int_equal(vg_evdev_parser_feed(&ps, buf, (size_t)(p - buf), &ch, why, sizeof why),
			 VG_OK);
	assert_false(ch);
	assert_int_equal(ps.state, VG_MIC_STATE_MUTED);
	p = buf;
	ev(&p, EV_KEY, KEY_MICMUTE, 1);
	ev(&p, EV_SYN, SYN_REPORT, 0);
	assert_int_equal(vg_evdev_parser_feed(&ps, buf, (size_t)(p - buf), &ch, why, sizeof why),
			 VG_OK);
	assert_int_equal(ps.state, VG_MIC_STATE_UNMUTED);
	p = buf;
	ev(&p, EV_SYN, SYN_DROPPED, 0);
	ev(&p, EV_KEY, KEY_MICMUTE, 1); /* in the broken frame: not counted */
	ev(&p, EV_SYN, SYN_REPORT, 0);
	assert_int_equal(vg_evdev_parser_feed(&ps, buf, (size_t)(p - buf), &ch, why, sizeof why),
			 VG_OK);
	assert_true(ch);
	assert_int_equal(ps.state, VG_MIC_STATE_UNKNOWN);
	/* A switch after a drop: the caller re-reads (resync). */
	vg_evdev_parser_init(&ps, VG_MUTE_SW, VG_MIC_STATE_MUTED);
	p = buf;
	ev(&p, EV_SYN, SYN_DROPPED, 0);
	ev(&p, EV_SW, SW_MUTE_DEVICE, 0);
	ev(&p, EV_SYN, SYN_REPORT, 0);
	assert_int_equal(vg_evdev_parser_feed(&ps, buf, (size_t)(p - buf), &ch, why, sizeof why),
			 VG_OK);
	assert_true(ps.resync);
	assert_int_equal(ps.state, VG_MIC_STATE_MUTED);
}

/* Malformed records are refused with a reason and leave the state
 * unknown (the indicator then shows mute). */
static void test_avs115_evdev_malformed_refused(void **state)
{
	static const struct {
		unsigned type, code;
		int32_t value;
		const char *what;
	} bad[] = {
	    {EV_MAX + 1, 0, 0, "unknown type"},
	    {0xffff, 0, 0, "unknown type"},
	    {EV_SYN, 7, 0, "unknown EV_SYN code"},
	    {EV_SW, SW_MUTE_DEVICE, 2, "SW_MUTE_DEVICE value"},
	    {EV_SW, SW_MUTE_DEVICE, -1, "SW_MUTE_DEVICE value"},
	    {EV_KEY, KEY_MICMUTE, 3, "KEY_MICMUTE value"},
	    {EV_KEY, KEY_MICMUTE, INT32_MIN, "KEY_MICMUTE value"},
	};

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		uint8_t buf[sizeof(struct input_event)], *p = buf;
		vg_evdev_parser ps;
		bool ch = false;
		char why[256] = "";

		vg_evdev_parser_init(&ps, VG_MUTE_SW, VG_MIC_STATE_UNMUTED);
		ev(&p, bad[i].type, bad[i].code, bad[i].value);
		assert_int_equal(vg_evdev_parser_feed(&ps, buf, sizeof buf, &ch, why, sizeof why),
				 VG_ERR_PROTOCOL);
		assert_true(ch);
		assert_int_equal(ps.state, VG_MIC_STATE_UNKNOWN);
		assert_non_null(strstr(why, bad[i].what));
	}
	{
		vg_evdev_parser ps;
		vg_evdev_parser_init(&ps, VG_MUTE_SW, VG_MIC_STATE_UNMUTED);
		assert_int_equal(vg_evdev_parser_feed(&ps, NULL, 3, NULL, NULL, 0), VG_ERR_INVALID);
	}
}

/* The switch must be an input device with SW_MUTE_DEVICE or KEY_MICMUTE:
 * a regular file, or a character device without them, is refused. */
static void test_avs115_evdev_open_refuses_non_switch(void **state)
{
	char why[512] = "", path[] = "/tmp/vg-mic-XXXXXX";
	vg_mute_kind kind;
	vg_mic_state st;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	(void)close(fd);
	assert_int_equal(vg_mute_evdev_open(path, false, &fd, &kind, &st, why, sizeof why),
			 VG_ERR_IO);
	assert_non_null(strstr(why, "not a character device"));
	assert_int_equal(fd, -1);
	(void)unlink(path);
	assert_int_equal(vg_mute_evdev_open("/dev/null", false, &fd, &kind, &st, why, sizeof why),
			 VG_ERR_NOT_FOUND);
	assert_non_null(strstr(why, "neither SW_MUTE_DEVICE nor KEY_MICMUTE"));
	assert_int_equal(
	    vg_mute_evdev_open("/nonexistent/event0", false, &fd, &kind, &st, why, sizeof why),
	    VG_ERR_IO);
}

/* AVS 1.15's indicator: LED_MUTE written to the input device as an
 * EV_LED event and a SYN_REPORT (read back through a pipe). */
static void test_avs115_indicator_led_mute_event(void **state)
{
	struct input_event e[2];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(vg_mute_evdev_led(p[1], true), VG_OK);
	assert_int_equal(read(p[0], e, sizeof e), (ssize_t)sizeof e);
	assert_int_equal(e[0].type, EV_LED);
	assert_int_equal(e[0].code, LED_MUTE);
	assert_int_equal(e[0].value, 1);
	assert_int_equal(e[1].type, EV_SYN);
	assert_int_equal(e[1].code, SYN_REPORT);
	assert_int_equal(vg_mute_evdev_led(p[1], false), VG_OK);
	assert_int_equal(read(p[0], e, sizeof e), (ssize_t)sizeof e);
	assert_int_equal(e[0].value, 0);
	(void)close(p[0]);
	(void)signal(SIGPIPE, SIG_IGN);
	assert_int_equal(vg_mute_evdev_led(p[1], true), VG_ERR_IO); /* EPIPE */
	(void)close(p[1]);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	(void)snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	(void)fputs(text, f);
	(void)fclose(f);
}

static void get(const char *dir, const char *name, char *out, size_t cap)
{
	char path[512];
	FILE *f;
	size_t n;

	(void)snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	/* sysfs takes one write at offset 0; a test's regular file keeps
	 * older, longer text after it: the first line is the value. */
	out[strcspn(out, "\n")] = '\0';
	(void)fclose(f);
}

/* AVS 1.15's indicator: a LED class device gets max_brightness when muted
 * and 0 when not; a malformed max_brightness is refused. */
static void test_avs115_indicator_sysfs_led(void **state)
{
	char dir[] = "/tmp/vg-led-XXXXXX", why[512], got[64];
	vg_mute_led l;

	(void)state;
	assert_non_null(mkdtemp(dir));
	put(dir, "max_brightness", "255\n");
	put(dir, "brightness", "0\n");
	assert_int_equal(vg_mute_led_open(dir, &l, why, sizeof why), VG_OK);
	assert_int_equal(vg_mute_led_set(&l, true), VG_OK);
	get(dir, "brightness", got, sizeof got);
	assert_string_equal(got, "255");
	assert_int_equal(vg_mute_led_set(&l, false), VG_OK);
	get(dir, "brightness", got, sizeof got);
	assert_string_equal(got, "0");
	vg_mute_led_close(&l);
	vg_mute_led_close(&l);
	for (int i = 0; i < 4; i++) {
		static const char *bad[] = {"0\n", "x\n", "70000\n", "12abc"};
		put(dir, "max_brightness", bad[i]);
		assert_int_equal(vg_mute_led_open(dir, &l, why, sizeof why), VG_ERR_IO);
		assert_non_null(strstr(why, "max_brightness"));
	}
	(void)snprintf(got, sizeof got, "%s/brightness", dir);
	(void)unlink(got);
	(void)snprintf(got, sizeof got, "%s/max_brightness", dir);
	(void)unlink(got);
	(void)rmdir(dir);
	assert_int_equal(vg_mute_led_open(dir, &l, why, sizeof why), VG_ERR_IO);
}

/* ---- the GPIO backend against a mock chip (the vg_gpio_ops seam) ---- */

static struct mock_chip {
	char chip[64];
	unsigned line;
	int value;  /* the line's level; < 0: read error */
	int fds[2]; /* edges queued as bytes */
	bool fail_open, fail_event, open, closed;
} mock;

static void *mock_open(const char *chip, unsigned line, const char *consumer, char *why, size_t cap)
{
	if (mock.fail_open) {
		(void)vg_why(why, cap, VG_ERR_IO, "mock: no chip %s", chip);
		return NULL;
	}
	assert_string_equal(consumer, "voxguard-mic");
	(void)snprintf(mock.chip, sizeof mock.chip, "%s", chip);
	mock.line = line;
	mock.open = true;
	return &mock;
}
static int mock_get(void *h)
{
	assert_ptr_equal(h, &mock);
	return mock.value;
}
static int mock_fd(void *h)
{
	(void)h;
	return mock.fds[0];
}
static int mock_read_event(void *h)
{
	char c;

	(void)h;
	if (mock.fail_event)
		return -1;
	return read(mock.fds[0], &c, 1) == 1 ? 0 : -1;
}
static void mock_close(void *h)
{
	(void)h;
	mock.closed = true;
}
static const vg_gpio_ops mock_ops = {.open = mock_open,
				     .get = mock_get,
				     .fd = mock_fd,
				     .read_event = mock_read_event,
				     .close = mock_close};

static void edge(int level)
{
	mock.value = level;
	assert_int_equal(write(mock.fds[1], "e", 1), 1);
}

/* AVS 1.15: a mute switch on a GPIO line: level 1 is muted (0 with
 * active-low); each edge re-reads the level; read errors are unknown. */
static void test_avs115_gpio_mock_chip(void **state)
{
	vg_mute_gpio g;
	vg_mic_state st;
	char why[256] = "";

	(void)state;
	memset(&mock, 0, sizeof mock);
	assert_int_equal(pipe(mock.fds), 0);
	mock.value = 1;
	assert_int_equal(
	    vg_mute_gpio_open(&g, &mock_ops, "gpiochip0:17", false, &st, why, sizeof why), VG_OK);
	assert_string_equal(mock.chip, "gpiochip0");
	assert_int_equal(mock.line, 17);
	assert_int_equal(st, VG_MIC_STATE_MUTED);
	assert_int_equal(vg_mute_gpio_fd(&g), mock.fds[0]);
	edge(0);
	assert_int_equal(vg_mute_gpio_event(&g, &st, why, sizeof why), VG_OK);
	assert_int_equal(st, VG_MIC_STATE_UNMUTED);
	edge(1);
	assert_int_equal(vg_mute_gpio_event(&g, &st, why, sizeof why), VG_OK);
	assert_int_equal(st, VG_MIC_STATE_MUTED);
	mock.value = -1;
	edge(-1);
	assert_int_equal(vg_mute_gpio_event(&g, &st, why, sizeof why), VG_ERR_IO);
	assert_int_equal(st, VG_MIC_STATE_UNKNOWN);
	mock.fail_event = true;
	assert_int_equal(vg_mute_gpio_event(&g, &st, why, sizeof why), VG_ERR_IO);
	assert_int_equal(st, VG_MIC_STATE_UNKNOWN);
	mock.fail_event = false;
	vg_mute_gpio_close(&g);
	assert_true(mock.closed);

	/* active-low: the level inverted */
	mock.value = 1;
	assert_int_equal(
	    vg_mute_gpio_open(&g, &mock_ops, "/dev/gpiochip1:3", true, &st, why, sizeof why),
	    VG_OK);
	assert_string_equal(mock.chip, "/dev/gpiochip1");
	assert_int_equal(st, VG_MIC_STATE_UNMUTED);
	edge(0);
	assert_int_equal(vg_mute_gpio_event(&g, &st, why, sizeof why), VG_OK);
	assert_int_equal(st, VG_MIC_STATE_MUTED);
	vg_mute_gpio_close(&g);

	/* a chip that is not there */
	mock.fail_open = true;
	assert_int_equal(
	    vg_mute_gpio_open(&g, &mock_ops, "gpiochip9:1", false, &st, why, sizeof why),
	    VG_ERR_IO);
	assert_non_null(strstr(why, "gpiochip9"));
	(void)close(mock.fds[0]);
	(void)close(mock.fds[1]);
}

/* --gpio CHIP:LINE is parsed strictly. */
static void test_avs115_gpio_spec_strict(void **state)
{
	static const char *bad[] = {
	    "",
	    "gpiochip0",
	    ":3",
	    "gpiochip0:",
	    "gpiochip0:x",
	    "gpiochip0:-1",
	    "gpiochip0:65536",
	    "gpiochip0:123456",
	    "gpio chip:1",
	    "gpiochip0:1 ",
	    "a;b:1",
	    "0123456789012345678901234567890123456789012345678901234567890123:1"};
	char chip[64];
	unsigned line;
	vg_mute_gpio g;
	vg_mic_state st;
	char why[256];

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		assert_int_equal(vg_mute_gpio_spec(bad[i], chip, sizeof chip, &line),
				 VG_ERR_INVALID);
	}
	assert_int_equal(vg_mute_gpio_spec("gpiochip2:65535", chip, sizeof chip, &line), VG_OK);
	assert_string_equal(chip, "gpiochip2");
	assert_int_equal(line, 65535);
	assert_int_equal(vg_mute_gpio_open(&g, &mock_ops, "nope", false, &st, why, sizeof why),
			 VG_ERR_INVALID);
	assert_non_null(strstr(why, "CHIP:LINE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_avs115_gate_muted_passes_nothing_and_wipes),
	    cmocka_unit_test(test_privacy_prewake_nothing_passes),
	    cmocka_unit_test(test_privacy_ring_wrap_wipes_old_samples),
	    cmocka_unit_test(test_avs115_wake_passes_preroll_then_everything),
	    cmocka_unit_test(test_avs115_mute_closes_open_gate),
	    cmocka_unit_test(test_privacy_ring_locked_dontdump_wipeonfork),
	    cmocka_unit_test(test_privacy_ring_mlock_limit_fails_clearly),
	    cmocka_unit_test(test_avs115_gate_options_refused),
	    cmocka_unit_test(test_avs115_tone_hook_detects_only_the_tone),
	    cmocka_unit_test(test_avs115_evdev_switch_events),
	    cmocka_unit_test(test_avs115_evdev_key_toggle_and_drop),
	    cmocka_unit_test(test_avs115_evdev_malformed_refused),
	    cmocka_unit_test(test_avs115_evdev_open_refuses_non_switch),
	    cmocka_unit_test(test_avs115_indicator_led_mute_event),
	    cmocka_unit_test(test_avs115_indicator_sysfs_led),
	    cmocka_unit_test(test_avs115_gpio_mock_chip),
	    cmocka_unit_test(test_avs115_gpio_spec_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
