/*
 * reference.h - reference values for software components (SFR 4.2.3):
 * what a verifier compares a token's software components against.
 *
 * The file is JSON with a "components" array, exactly what `voxguard
 * identity --json` and `voxguard verify-token --json` print, so a golden
 * device's output is a reference:
 *
 *   {"components": [{"measurement_value": "<hex, 32/48/64 bytes>",
 *                    "measurement_type": "voxguardd",   (optional)
 *                    "version": "0.1.0",                (optional)
 *                    "signer_id": "<hex>",              (optional)
 *                    "measurement_desc": "sha-256"}]}   (optional)
 *
 * Other members are ignored. Anything malformed (not JSON, wrong types,
 * bad hex or lengths, strings too long for vg_psa_sw_component, more than
 * VG_PSA_MAX_COMPONENTS entries, no entry at all) is refused with a
 * one-line reason.
 */
#ifndef VG_REFERENCE_H
#define VG_REFERENCE_H

#include <stddef.h>

#include "attest/psa_token.h"

#define VG_REFERENCE_MAX_FILE (64u * 1024u)

VG_NODISCARD vg_rc vg_psa_reference_parse(const char *json, size_t len,
					  vg_psa_sw_component out[VG_PSA_MAX_COMPONENTS], size_t *n,
					  char *why, size_t why_len);

#endif
