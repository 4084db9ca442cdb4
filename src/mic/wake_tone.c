/* wake_tone.c - the reference wake-word hook for tests: a tone detector
 * (Goertzel), see include/voxguard/mic.h. DSP, not cryptography.
 *
 * Goertzel evaluates one DFT bin incrementally: per sample
 * s = x + 2cos(w) s1 - s2; at a block's end the bin's power is
 * s1^2 + s2^2 - 2cos(w) s1 s2. For a pure sine of amplitude A over N
 * samples that is (A N / 2)^2, and the block's energy sum(x^2) is
 * N A^2 / 2, so power / (N * energy / 2) is 1 for the tone and small for
 * speech or noise: a block counts as tone above 0.5. No sample is kept:
 * only the running sums, wiped by reset and free all the same. */
#include <stdlib.h>

#include "common/util.h"
#include "voxguard/mic.h"

#define TONE_RATIO_MIN 0.5
/* -40 dBFS: a block's mean square above (0.01)^2 of full scale. */
#define TONE_MS_MIN 1e-4

struct vg_mic_tone {
	uint32_t channels;
	uint32_t block; /* frames per block: rate / 100 */
	uint32_t need;  /* tone blocks in a row for a detection */
	double coeff;   /* 2 cos(2 pi f / rate) */
	/* running state: derived from audio, wiped on reset */
	double s1, s2, energy;
	uint32_t n;   /* frames in the current block */
	uint32_t run; /* tone blocks in a row */
};

/* cos(w) for w in [0, pi] by its Taylor series (40 terms: far below
 * double's rounding there), so that libvoxguard needs no libm. */
static double cos_series(double w)
{
	double term = 1.0, sum = 1.0;

	for (int k = 1; k <= 40; k++) {
		term *= -w * w / ((2.0 * k - 1) * (2.0 * k));
		sum += term;
	}
	return sum;
}

vg_rc vg_mic_tone_new(vg_mic_tone **out, uint32_t rate, uint32_t channels, uint32_t freq_hz,
		      uint32_t min_ms)
{
	vg_mic_tone *t;

	if (!out)
		return VG_ERR_INVALID;
	*out = NULL;
	if (rate < VG_MIC_RATE_MIN || rate > VG_MIC_RATE_MAX || channels < 1 ||
	    channels > VG_MIC_CHANNELS_MAX || freq_hz < 100 || freq_hz >= rate / 2 || min_ms < 10 ||
	    min_ms > 10000)
		return VG_ERR_INVALID;
	t = calloc(1, sizeof *t);
	if (!t)
		return VG_ERR_NOMEM;
	t->channels = channels;
	t->block = rate / 100u;
	/* One block more than min_ms fills: the first tone block may be
	 * partly something else, so that detection is always after at least
	 * min_ms of tone (and at most min_ms + 20 ms). */
	t->need = (min_ms + 9u) / 10u + 1u;
	t->coeff = 2.0 * cos_series(2.0 * 3.14159265358979323846 * (double)freq_hz / (double)rate);
	*out = t;
	return VG_OK;
}

static bool block_end(vg_mic_tone *t)
{
	double power = t->s1 * t->s1 + t->s2 * t->s2 - t->coeff * t->s1 * t->s2;
	double ms = t->energy / t->block;
	bool tone =
	    ms > TONE_MS_MIN && power / ((double)t->block * t->energy / 2.0) > TONE_RATIO_MIN;

	t->s1 = t->s2 = t->energy = 0;
	t->n = 0;
	t->run = tone ? t->run + 1 : 0;
	if (t->run >= t->need) {
		t->run = 0;
		return true;
	}
	return false;
}

bool vg_mic_tone_wake(void *ctx, const int16_t *pcm, size_t frames)
{
	vg_mic_tone *t = ctx;
	bool hit = false;

	if (!t || !pcm)
		return false;
	for (size_t i = 0; i < frames; i++) {
		double x = 0, s;

		for (uint32_t c = 0; c < t->channels; c++)
			x += pcm[i * t->channels + c];
		x /= 32768.0 * t->channels;
		s = x + t->coeff * t->s1 - t->s2;
		t->s2 = t->s1;
		t->s1 = s;
		t->energy += x * x;
		if (++t->n == t->block && block_end(t))
			hit = true;
	}
	return hit;
}

void vg_mic_tone_reset(void *ctx)
{
	vg_mic_tone *t = ctx;

	if (!t)
		return;
	vg_wipe(&t->s1, sizeof t->s1);
	vg_wipe(&t->s2, sizeof t->s2);
	vg_wipe(&t->energy, sizeof t->energy);
	t->n = 0;
	t->run = 0;
}

void vg_mic_tone_free(vg_mic_tone **tp)
{
	if (!tp || !*tp)
		return;
	vg_wipe(*tp, sizeof **tp);
	free(*tp);
	*tp = NULL;
}
