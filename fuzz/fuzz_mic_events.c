/*
 * fuzz_mic_events.c - libFuzzer harness for the mute switch's input event
 * parser (src/mic/mute.h, vg_evdev_parser; AVS 1.15; hostile input: the
 * bytes read from /dev/input/eventN, whoever drives that device, e.g.
 * through uinput). The first byte picks the switch's kind (SW_MUTE_DEVICE
 * or KEY_MICMUTE), its initial state and how the rest is cut into reads;
 * the rest is fed as records:
 *  - the state is always one of the three, no partial record is longer
 *    than a record, and a refused record leaves the state unknown;
 *  - the outcome does not depend on how the bytes are cut into reads (fed
 *    whole, and in pieces of 1..16 bytes: the same state, the same error).
 * The same bytes then go as s16le PCM through an audio gate with the
 * reference tone hook (include/voxguard/mic.h): while muted nothing comes
 * out, and the caller's buffer is wiped before the wake word.
 * Seed corpus: fuzz/corpus/mic_events/ (a mute, an unmute, a key press,
 * a SYN_DROPPED).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mic/mute.h"
#include "voxguard/mic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t out_frames;
static vg_rc out(void *ctx, const int16_t *pcm, size_t frames)
{
	(void)ctx;
	(void)pcm;
	out_frames += frames;
	return VG_OK;
}

static vg_mic_gate *gate;
static vg_mic_tone *tone;

static void gate_init(void)
{
	vg_mic_gate_opts o = {.rate = 8000,
			      .channels = 1,
			      .ring_ms = 200,
			      .preroll_ms = 100,
			      .wake = vg_mic_tone_wake,
			      .wake_reset = vg_mic_tone_reset,
			      .out = out};

	if (vg_mic_tone_new(&tone, 8000, 1, 1000, 20) != VG_OK)
		abort();
	o.wake_ctx = tone;
	if (vg_mic_gate_new(&gate, &o, NULL, 0) != VG_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_evdev_parser whole, cut;
	vg_mute_kind kind;
	vg_mic_state initial;
	vg_rc rc_whole, rc_cut = VG_OK;
	size_t step, off = 0;
	int16_t *pcm;

	if (size < 1)
		return 0;
	kind = (data[0] & 1) ? VG_MUTE_KEY : VG_MUTE_SW;
	initial = (vg_mic_state)((data[0] >> 1) % 3);
	step = 1u + ((data[0] >> 3) & 15u);
	data++;
	size--;

	vg_evdev_parser_init(&whole, kind, initial);
	rc_whole = vg_evdev_parser_feed(&whole, data, size, NULL, NULL, 0);
	vg_evdev_parser_init(&cut, kind, initial);
	while (off < size && rc_cut == VG_OK) {
		size_t n = size - off < step ? size - off : step;
		char why[256];
		bool ch;

		rc_cut = vg_evdev_parser_feed(&cut, data + off, n, &ch, why, sizeof why);
		off += n;
	}
	if (rc_whole != VG_OK && rc_whole != VG_ERR_PROTOCOL)
		abort();
	if (rc_whole != rc_cut || whole.state != cut.state)
		abort();
	if (whole.state > VG_MIC_STATE_UNMUTED || whole.have >= VG_EVDEV_EVENT_LEN)
		abort();
	if (rc_whole != VG_OK && whole.state != VG_MIC_STATE_UNKNOWN)
		abort();
	if (rc_whole == VG_OK && whole.have != size % VG_EVDEV_EVENT_LEN)
		abort();

	/* The same bytes as audio. */
	if (!gate)
		gate_init();
	pcm = malloc(size / 2 * sizeof *pcm + 1);
	if (!pcm)
		return 0;
	memcpy(pcm, data, size / 2 * sizeof *pcm);
	out_frames = 0;
	vg_mic_gate_set_muted(gate, true);
	if (vg_mic_gate_push(gate, pcm, size / 2) != VG_OK || out_frames != 0)
		abort();
	for (size_t i = 0; i < size / 2; i++)
		if (pcm[i])
			abort();
	memcpy(pcm, data, size / 2 * sizeof *pcm);
	vg_mic_gate_set_muted(gate, false);
	if (vg_mic_gate_push(gate, pcm, size / 2) != VG_OK)
		abort();
	if (vg_mic_gate_get_state(gate) != VG_MIC_OPEN && out_frames != 0)
		abort();
	vg_mic_gate_end_utterance(gate);
	free(pcm);
	return 0;
}
