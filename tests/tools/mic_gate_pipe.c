/*
 * mic_gate_pipe - raw audio through the microphone's gate, for
 * tests/integration/test_avs115_mic_gate.sh (AVS 1.15, privacy by design).
 *
 *   mic_gate_pipe --rate HZ [--channels N] [--ring-ms MS] [--preroll-ms MS]
 *                 [--tone-hz HZ] [--tone-ms MS] [--muted] < in.raw > out.raw
 *
 * Reads interleaved s16le from stdin and pushes it, 10 ms a period (the
 * hook's block, so a detection is at a period's end), through a gate
 * whose wake hook is the reference tone detector; writes what the gate
 * lets through to stdout. On stderr: "wake at FRAME" (the input frame at
 * which the wake word ended) when the gate opened, and "passed N frames".
 * Exit 0, or 2 with a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "voxguard/mic.h"

static vg_rc out(void *ctx, const int16_t *pcm, size_t frames)
{
	size_t *passed = ((size_t **)ctx)[0];
	size_t ch = *((size_t **)ctx)[1];

	if (fwrite(pcm, sizeof *pcm * ch, frames, stdout) != frames)
		return VG_ERR_IO;
	*passed += frames;
	return VG_OK;
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end) {
		(void)fprintf(stderr, "mic_gate_pipe: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long rate = 0, channels = 1, ring_ms = 2000, preroll_ms = 500, tone_hz = 1000,
		      tone_ms = 200;
	bool muted = false, woke = false;
	size_t passed = 0, ch, period, pushed = 0;
	void *octx[2];
	vg_mic_tone *tone = NULL;
	vg_mic_gate *g = NULL;
	int16_t *buf;
	char why[512] = "";
	vg_rc rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--muted") == 0) {
			muted = true;
			continue;
		}
		if (!v) {
			(void)fprintf(stderr, "mic_gate_pipe: %s needs a value\n", a);
			return 2;
		}
		if (strcmp(a, "--rate") == 0)
			rate = num(v);
		else if (strcmp(a, "--channels") == 0)
			channels = num(v);
		else if (strcmp(a, "--ring-ms") == 0)
			ring_ms = num(v);
		else if (strcmp(a, "--preroll-ms") == 0)
			preroll_ms = num(v);
		else if (strcmp(a, "--tone-hz") == 0)
			tone_hz = num(v);
		else if (strcmp(a, "--tone-ms") == 0)
			tone_ms = num(v);
		else {
			(void)fprintf(stderr, "mic_gate_pipe: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	if (rate < VG_MIC_RATE_MIN || rate > VG_MIC_RATE_MAX || channels < 1 ||
	    channels > VG_MIC_CHANNELS_MAX) {
		(void)fprintf(stderr, "mic_gate_pipe: --rate 8000..192000, --channels 1..8\n");
		return 2;
	}
	ch = channels;
	octx[0] = &passed;
	octx[1] = &ch;
	rc = vg_mic_tone_new(&tone, (uint32_t)rate, (uint32_t)channels, (uint32_t)tone_hz,
			     (uint32_t)tone_ms);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "mic_gate_pipe: tone hook: %s\n", vg_rc_str(rc));
		return 2;
	}
	{
		vg_mic_gate_opts o = {.rate = (uint32_t)rate,
				      .channels = (uint32_t)channels,
				      .ring_ms = (uint32_t)ring_ms,
				      .preroll_ms = (uint32_t)preroll_ms,
				      .wake = vg_mic_tone_wake,
				      .wake_reset = vg_mic_tone_reset,
				      .wake_ctx = tone,
				      .out = out,
				      .out_ctx = octx};

		rc = vg_mic_gate_new(&g, &o, why, sizeof why);
	}
	if (rc != VG_OK) {
		(void)fprintf(stderr, "mic_gate_pipe: %s\n", why);
		vg_mic_tone_free(&tone);
		return 2;
	}
	vg_mic_gate_set_muted(g, muted);
	period = rate / 100u;
	buf = malloc(period * ch * sizeof *buf);
	if (!buf)
		return 2;
	for (;;) {
		size_t n = fread(buf, sizeof *buf * ch, period, stdin);

		if (n == 0)
			break;
		rc = vg_mic_gate_push(g, buf, n);
		pushed += n;
		if (rc != VG_OK) {
			(void)fprintf(stderr, "mic_gate_pipe: push: %s\n", vg_rc_str(rc));
			return 2;
		}
		if (!woke && vg_mic_gate_get_state(g) == VG_MIC_OPEN) {
			woke = true;
			(void)fprintf(stderr, "wake at %zu\n", pushed);
		}
		if (n < period)
			break;
	}
	(void)fprintf(stderr, "passed %zu frames\n", passed);
	free(buf);
	vg_mic_gate_free(&g);
	vg_mic_tone_free(&tone);
	return fflush(stdout) == 0 ? 0 : 2;
}
