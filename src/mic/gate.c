/* gate.c - the microphone's audio gate: see include/voxguard/mic.h.
 *
 * AVS 1.15 and the SESIP profile's privacy by design: before the wake
 * word, audio lives only in a ring that is locked in RAM (mlock: never in
 * swap), left out of core dumps (MADV_DONTDUMP), zero in a forked child
 * (MADV_WIPEONFORK), and wiped as it is overwritten, on mute, on the wake
 * (once its pre-roll went out), at the end of an utterance and on free. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/util.h"
#include "mic/gate_int.h"
#include "voxguard/mic.h"

#ifndef MADV_WIPEONFORK
#error "MADV_WIPEONFORK (Linux 4.14) is needed: the pre-wake ring must not be inherited"
#endif

struct vg_mic_gate {
	pthread_mutex_t lock;
	vg_mic_gate_opts o;
	vg_mic_gate_state st;
	int16_t *ring;    /* cap frames of o.channels samples */
	size_t map_len;   /* the mapping, page-rounded */
	size_t cap;       /* frames */
	size_t pos;       /* the next frame written */
	size_t fill;      /* frames written since the last wipe, at most cap */
	size_t preroll;   /* frames passed on at the wake */
	size_t hook_fill; /* frames of the hook's current block */
};

static size_t frame_bytes(const vg_mic_gate *g)
{
	return (size_t)g->o.channels * sizeof(int16_t);
}

static void ring_wipe(vg_mic_gate *g)
{
	vg_wipe(g->ring, g->map_len);
	g->pos = 0;
	g->fill = 0;
}

static void hook_reset(vg_mic_gate *g)
{
	g->hook_fill = 0;
	if (g->o.wake_reset)
		g->o.wake_reset(g->o.wake_ctx);
}

/* Appends n frames; what they overwrite is wiped first, so that an old
 * sample is gone even where a write is cut short. */
static void ring_write(vg_mic_gate *g, const int16_t *pcm, size_t n)
{
	size_t fb = frame_bytes(g);

	while (n > 0) {
		size_t k = g->cap - g->pos < n ? g->cap - g->pos : n;
		int16_t *dst = g->ring + g->pos * g->o.channels;

		vg_wipe(dst, k * fb);
		memcpy(dst, pcm, k * fb);
		pcm += k * g->o.channels;
		n -= k;
		g->pos = (g->pos + k) % g->cap;
		g->fill = g->fill + k > g->cap ? g->cap : g->fill + k;
	}
}

/* The wake: the last preroll frames (oldest first) go out, then the ring
 * is wiped whatever the output said. */
static vg_rc wake(vg_mic_gate *g)
{
	size_t p = g->preroll < g->fill ? g->preroll : g->fill;
	size_t start = (g->pos + g->cap - p) % g->cap;
	size_t first = g->cap - start < p ? g->cap - start : p;
	vg_rc rc = VG_OK;

	g->st = VG_MIC_OPEN;
	if (first > 0)
		rc = g->o.out(g->o.out_ctx, g->ring + start * g->o.channels, first);
	if (rc == VG_OK && p > first)
		rc = g->o.out(g->o.out_ctx, g->ring, p - first);
	ring_wipe(g);
	hook_reset(g);
	return rc;
}

static vg_rc invalid(char *why, size_t cap, const char *what)
{
	return vg_why(why, cap, VG_ERR_INVALID, "microphone gate: %s", what);
}

vg_rc vg_mic_gate_new(vg_mic_gate **out, const vg_mic_gate_opts *o, char *why, size_t why_cap)
{
	vg_mic_gate *g;
	size_t bytes, page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t frames;

	if (!out)
		return invalid(why, why_cap, "no place for the gate");
	*out = NULL;
	if (!o)
		return invalid(why, why_cap, "no options");
	if (o->rate < VG_MIC_RATE_MIN || o->rate > VG_MIC_RATE_MAX)
		return invalid(why, why_cap, "rate out of range (8000..192000)");
	if (o->channels < 1 || o->channels > VG_MIC_CHANNELS_MAX)
		return invalid(why, why_cap, "channels out of range (1..8)");
	if (o->ring_ms < VG_MIC_RING_MS_MIN || o->ring_ms > VG_MIC_RING_MS_MAX)
		return invalid(why, why_cap, "ring_ms out of range (100..10000)");
	if (o->preroll_ms > o->ring_ms)
		return invalid(why, why_cap, "preroll_ms longer than the ring");
	if (!o->wake || !o->out)
		return invalid(why, why_cap, "a wake hook and an output callback are required");
	frames = (uint64_t)o->rate * o->ring_ms / 1000u;
	if (frames * o->channels * sizeof(int16_t) > VG_MIC_RING_BYTES_MAX)
		return invalid(why, why_cap, "the ring would exceed 16 MiB");
	if (o->hook_frames > frames)
		return invalid(why, why_cap, "hook_frames longer than the ring");

	g = calloc(1, sizeof *g);
	if (!g)
		return vg_why(why, why_cap, VG_ERR_NOMEM, "microphone gate: out of memory");
	g->o = *o;
	if (!g->o.hook_frames)
		g->o.hook_frames = o->rate / 100u;
	g->cap = (size_t)frames;
	g->preroll = (size_t)((uint64_t)o->rate * o->preroll_ms / 1000u);
	g->st = VG_MIC_MUTED;
	bytes = g->cap * frame_bytes(g);
	g->map_len = (bytes + page - 1) / page * page;
	g->ring =
	    mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->ring == MAP_FAILED) {
		int e = errno;

		free(g);
		return vg_why(why, why_cap, VG_ERR_NOMEM,
			      "microphone gate: cannot map %zu bytes: %s", bytes, strerror(e));
	}
	if (mlock(g->ring, g->map_len) != 0) {
		int e = errno;
		struct rlimit rl = {0};
		char lim[32] = "unknown";

		if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
			if (rl.rlim_cur == RLIM_INFINITY)
				(void)snprintf(lim, sizeof lim, "unlimited");
			else
				(void)snprintf(lim, sizeof lim, "%llu bytes",
					       (unsigned long long)rl.rlim_cur);
		}
		(void)munmap(g->ring, g->map_len);
		free(g);
		return vg_why(why, why_cap, VG_ERR_NOMEM,
			      "microphone gate: cannot lock the pre-wake ring in memory (%zu "
			      "bytes): %s; RLIMIT_MEMLOCK is %s (raise LimitMEMLOCK= or ulimit -l)",
			      bytes, strerror(e), lim);
	}
	if (madvise(g->ring, g->map_len, MADV_DONTDUMP) != 0 ||
	    madvise(g->ring, g->map_len, MADV_WIPEONFORK) != 0) {
		int e = errno;

		(void)munlock(g->ring, g->map_len);
		(void)munmap(g->ring, g->map_len);
		free(g);
		return vg_why(why, why_cap, VG_ERR_IO,
			      "microphone gate: madvise (DONTDUMP, WIPEONFORK) refused: %s",
			      strerror(e));
	}
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		(void)munlock(g->ring, g->map_len);
		(void)munmap(g->ring, g->map_len);
		free(g);
		return vg_why(why, why_cap, VG_ERR_NOMEM, "microphone gate: no mutex");
	}
	*out = g;
	return VG_OK;
}

vg_rc vg_mic_gate_push(vg_mic_gate *g, int16_t *pcm, size_t frames)
{
	size_t done = 0;
	vg_rc rc = VG_OK;

	if (!g || (!pcm && frames > 0))
		return VG_ERR_INVALID;
	if (frames == 0)
		return VG_OK;
	if (frames > SIZE_MAX / frame_bytes(g))
		return VG_ERR_TOO_LARGE;
	(void)pthread_mutex_lock(&g->lock);
	switch (g->st) {
	case VG_MIC_MUTED:
		/* Nothing is looked at: not the hook, not the ring. */
		done = frames;
		break;
	case VG_MIC_LISTENING:
		while (done < frames && g->st == VG_MIC_LISTENING) {
			size_t room = g->o.hook_frames - g->hook_fill;
			size_t n = frames - done < room ? frames - done : room;
			const int16_t *p = pcm + done * g->o.channels;
			bool w;

			ring_write(g, p, n);
			w = g->o.wake(g->o.wake_ctx, p, n);
			g->hook_fill = (g->hook_fill + n) % g->o.hook_frames;
			done += n;
			if (w)
				rc = wake(g);
		}
		break;
	case VG_MIC_OPEN:
		break;
	}
	/* What was heard before the wake word leaves no copy here either. */
	vg_wipe(pcm, done * frame_bytes(g));
	if (rc == VG_OK && g->st == VG_MIC_OPEN && done < frames)
		rc = g->o.out(g->o.out_ctx, pcm + done * g->o.channels, frames - done);
	(void)pthread_mutex_unlock(&g->lock);
	return rc;
}

void vg_mic_gate_set_muted(vg_mic_gate *g, bool muted)
{
	if (!g)
		return;
	(void)pthread_mutex_lock(&g->lock);
	if (muted && g->st != VG_MIC_MUTED) {
		g->st = VG_MIC_MUTED;
		ring_wipe(g);
		hook_reset(g);
	} else if (!muted && g->st == VG_MIC_MUTED) {
		g->st = VG_MIC_LISTENING;
		ring_wipe(g);
		hook_reset(g);
	}
	(void)pthread_mutex_unlock(&g->lock);
}

void vg_mic_gate_end_utterance(vg_mic_gate *g)
{
	if (!g)
		return;
	(void)pthread_mutex_lock(&g->lock);
	if (g->st == VG_MIC_OPEN)
		g->st = VG_MIC_LISTENING;
	if (g->st == VG_MIC_LISTENING) {
		ring_wipe(g);
		hook_reset(g);
	}
	(void)pthread_mutex_unlock(&g->lock);
}

vg_mic_gate_state vg_mic_gate_get_state(vg_mic_gate *g)
{
	vg_mic_gate_state st;

	if (!g)
		return VG_MIC_MUTED;
	(void)pthread_mutex_lock(&g->lock);
	st = g->st;
	(void)pthread_mutex_unlock(&g->lock);
	return st;
}

void vg_mic_gate_free(vg_mic_gate **gp)
{
	vg_mic_gate *g;

	if (!gp || !*gp)
		return;
	g = *gp;
	*gp = NULL;
	vg_wipe(g->ring, g->map_len);
	(void)munlock(g->ring, g->map_len);
	(void)munmap(g->ring, g->map_len);
	if (g->o.wake_reset)
		g->o.wake_reset(g->o.wake_ctx);
	(void)pthread_mutex_destroy(&g->lock);
	free(g);
}

const int16_t *vg_mic_gate_ring_view(vg_mic_gate *g, size_t *samples)
{
	*samples = g->map_len / sizeof(int16_t);
	return g->ring;
}

size_t vg_mic_gate_ring_bytes(const vg_mic_gate *g)
{
	return g->map_len;
}
