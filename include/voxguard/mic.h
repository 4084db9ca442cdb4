/*
 * mic.h - the microphone's privacy gate (AVS 1.15; the SESIP profile's
 * privacy by design: what the speaker hears before the wake word stays on
 * the device). Part of libvoxguard's public C API; docs/PRIVACY.md,
 * "The microphone: mute, indicator and the audio gate", has the model.
 *
 * This header is the authoritative description of the interface.
 *
 * The hardware cut of AVS 1.15 (the switch removes the microphones' power)
 * is the device maker's. This gate is the software around it, called by
 * the voice application's capture loop on every period it reads:
 *
 *     vg_mic_gate_push(g, pcm, frames);   // pcm: interleaved s16le
 *
 * The gate is in one of three states:
 *   MUTED      nothing passes; push wipes its input and returns; the wake
 *              hook is not called. A new gate starts MUTED (fail safe):
 *              the application unmutes once it knows the switch is on
 *              (vg_mic_state_get(), or its own reading of the switch).
 *   LISTENING  (pre-wake) each push is copied into a ring of the last
 *              ring_ms of audio, then handed to the wake hook, then wiped
 *              from the caller's buffer. Nothing passes. The ring is
 *              mmap()ed, mlock()ed (never swapped), MADV_DONTDUMP (never
 *              in a core dump), MADV_WIPEONFORK (a child gets zeroes), and
 *              what it overwrites is wiped first.
 *   OPEN       after the hook said "wake": the last preroll_ms of the ring
 *              (the audio up to the end of the wake word, which the cloud
 *              recogniser re-checks) goes to the output callback, the ring
 *              is wiped, and from then on every push goes to the output as
 *              it is, until vg_mic_gate_end_utterance() or a mute.
 *
 * Muting (vg_mic_gate_set_muted(g, true)) from any state wipes the ring;
 * unmuting goes to LISTENING, never straight to OPEN. End of utterance
 * wipes the ring too. So does _free.
 *
 * The wake hook sees the audio in blocks of hook_frames frames, aligned to
 * the audio since the hook was last reset (the unmute, the last wake or
 * end of utterance: frame 0, hook_frames, 2 * hook_frames, ...); a
 * detection is at the end of the block the hook said "wake" for, and the
 * output's pre-roll ends there.
 *
 * Threads: every function takes the gate's lock, so a watcher thread may
 * call _set_muted while the capture thread pushes. The hook and the
 * output callback run under that lock: they must not call the gate.
 *
 * Ownership: _new allocates, _free (NULL-safe, double pointer) frees. The
 * caller's pcm buffer stays the caller's; the gate never keeps a pointer.
 */
#ifndef VOXGUARD_MIC_H
#define VOXGUARD_MIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits of the options. */
#define VG_MIC_RATE_MIN       8000u
#define VG_MIC_RATE_MAX       192000u
#define VG_MIC_CHANNELS_MAX   8u
#define VG_MIC_RING_MS_MIN    100u
#define VG_MIC_RING_MS_MAX    10000u
#define VG_MIC_RING_BYTES_MAX (16u * 1024u * 1024u)

/* The wake-word hook: true when the wake word ends with this block.
 * Called in LISTENING only, with at most hook_frames frames. */
typedef bool (*vg_mic_wake_fn)(void *ctx, const int16_t *pcm, size_t frames);
/* Optional: forget what the hook heard (called on mute, on the wake and
 * on end of utterance), so that no half-heard word carries over. */
typedef void (*vg_mic_wake_reset_fn)(void *ctx);
/* The output: audio the gate lets through (OPEN only). A non-VG_OK result
 * is returned by the push that called it; the state stays OPEN. */
typedef vg_rc (*vg_mic_out_fn)(void *ctx, const int16_t *pcm, size_t frames);

typedef struct vg_mic_gate_opts {
	uint32_t rate;                   /* frames per second, VG_MIC_RATE_MIN..MAX */
	uint32_t channels;               /* 1..VG_MIC_CHANNELS_MAX, interleaved s16le */
	uint32_t ring_ms;                /* the pre-wake ring, VG_MIC_RING_MS_MIN..MAX */
	uint32_t preroll_ms;             /* passed on at the wake, 0..ring_ms */
	uint32_t hook_frames;            /* the hook's block; 0: rate / 100 (10 ms) */
	vg_mic_wake_fn wake;             /* required */
	vg_mic_wake_reset_fn wake_reset; /* optional */
	void *wake_ctx;
	vg_mic_out_fn out; /* required */
	void *out_ctx;
} vg_mic_gate_opts;

typedef struct vg_mic_gate vg_mic_gate;

typedef enum vg_mic_gate_state {
	VG_MIC_MUTED = 0,
	VG_MIC_LISTENING = 1,
	VG_MIC_OPEN = 2,
} vg_mic_gate_state;

/*
 * A new gate, MUTED, its ring locked in memory. VG_ERR_INVALID for
 * options out of range; VG_ERR_NOMEM when the ring cannot be mapped or
 * locked: why (why_cap bytes, may be NULL) then names the ring's size and
 * RLIMIT_MEMLOCK ("raise LimitMEMLOCK="); VG_ERR_IO when the kernel
 * refuses MADV_DONTDUMP or MADV_WIPEONFORK. On failure *out is NULL.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_mic_gate_new(vg_mic_gate **out, const vg_mic_gate_opts *o,
					     char *why, size_t why_cap);

/*
 * One capture period: frames frames of interleaved s16le at pcm. MUTED and
 * LISTENING wipe pcm[0 .. frames * channels) before returning (what was
 * heard before the wake word leaves no copy behind in the caller's
 * buffer either); OPEN leaves it as it is. VG_ERR_INVALID for a NULL pcm
 * with frames > 0; otherwise VG_OK or the output callback's error.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_mic_gate_push(vg_mic_gate *g, int16_t *pcm, size_t frames);

/* Mute (the ring wiped, the hook reset, nothing passes) or unmute (to
 * LISTENING). Setting the state it already has changes nothing. */
VG_EXPORT void vg_mic_gate_set_muted(vg_mic_gate *g, bool muted);

/* The utterance is over: OPEN goes back to LISTENING, the ring wiped and
 * the hook reset. MUTED stays MUTED. */
VG_EXPORT void vg_mic_gate_end_utterance(vg_mic_gate *g);

VG_EXPORT vg_mic_gate_state vg_mic_gate_get_state(vg_mic_gate *g);

/* Wipes and unmaps the ring, frees the gate; NULL and *g == NULL are fine. */
VG_EXPORT void vg_mic_gate_free(vg_mic_gate **g);

/* ------------------------------------------------------------------ */
/* A reference wake-word hook for tests: a tone, not a word.           */

/*
 * Detects a sine of freq_hz lasting at least min_ms, with the Goertzel
 * algorithm over blocks of rate / 100 frames (10 ms; the gate's default
 * hook_frames): a block counts when the tone's bin holds at least half of
 * the block's energy and the block is louder than -40 dBFS; it wakes after
 * ceil(min_ms / 10) + 1 such blocks in a row, so at least min_ms and at
 * most min_ms + 20 ms after the tone began. It stands in
 * for a wake-word engine in tests (a tone is easy to place in a stream);
 * it is no wake-word engine. Channels are averaged. It keeps no
 * samples, only running sums, which reset and free wipe.
 */
typedef struct vg_mic_tone vg_mic_tone;
VG_EXPORT VG_NODISCARD vg_rc vg_mic_tone_new(vg_mic_tone **out, uint32_t rate, uint32_t channels,
					     uint32_t freq_hz, uint32_t min_ms);
/* The hook (ctx: the vg_mic_tone). */
VG_EXPORT bool vg_mic_tone_wake(void *ctx, const int16_t *pcm, size_t frames);
VG_EXPORT void vg_mic_tone_reset(void *ctx);
VG_EXPORT void vg_mic_tone_free(vg_mic_tone **t);

/* ------------------------------------------------------------------ */
/* The mute switch's state, as the service knows it                    */

typedef enum vg_mic_state {
	VG_MIC_STATE_UNKNOWN = 0, /* nothing reported since the service started */
	VG_MIC_STATE_MUTED = 1,
	VG_MIC_STATE_UNMUTED = 2,
} vg_mic_state;

#define VG_MIC_SOURCE_MAX 127u

/*
 * The last state the watcher (`voxguard mic watch`) reported, any caller
 * (op mic.state). *since: Unix time of that report (0 when unknown);
 * source (source_cap bytes, may be NULL): the switch it read. A gate
 * treats UNKNOWN as muted.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_mic_state_get(vg_client *c, vg_mic_state *state, uint64_t *since,
					      char *source, size_t source_cap);
/*
 * Reports the switch's state (op mic.report): root, an admin, or a uid
 * in the service's mic_uids; a change is audited as mic.mute or
 * mic.unmute. source: printable ASCII, at most VG_MIC_SOURCE_MAX bytes.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_mic_report(vg_client *c, bool muted, const char *source);

#ifdef __cplusplus
}
#endif

#endif
