/*
 * gate_int.h - test-only views into the audio gate (include/voxguard/mic.h).
 * Not exported from libvoxguard (hidden like everything without
 * VG_EXPORT); tests link the static library.
 */
#ifndef VG_MIC_GATE_INT_H
#define VG_MIC_GATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/mic.h"

/* The whole ring as it is in memory (every sample, written or not):
 * *samples = its length in int16_t samples (frames * channels). */
const int16_t *vg_mic_gate_ring_view(vg_mic_gate *g, size_t *samples);
/* The mapping's length in bytes (a multiple of the page size). */
size_t vg_mic_gate_ring_bytes(const vg_mic_gate *g);

#endif
