/*
 * password.h - admin passwords (SFR 4.2.13, AVS 1.2): memory-hard hashing
 * and the policy a new password must pass.
 *
 * Hash: scrypt (OpenSSL EVP_KDF "SCRYPT") with a 16-byte random salt and a
 * 32-byte output, stored as a PHC string
 *     $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt, base64 no padding>$<hash, ditto>
 * Default cost ln=15, r=8, p=1: 32 MiB and about 0.1 s per hash on the
 * reference machine (docs/BENCHMARKS.md has the measured login latency).
 * Verification honours the parameters stored with the hash, but only
 * within ln 10..20, r 1..32, p 1..4 and 128 * r * N <= 256 MiB, so a
 * forged record cannot make the service allocate gigabytes.
 */
#ifndef VG_AUTH_PASSWORD_H
#define VG_AUTH_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

typedef struct vg_pw_params {
	unsigned log2_n; /* 10..20 */
	unsigned r;      /* 1..32 */
	unsigned p;      /* 1..4 */
} vg_pw_params;

#define VG_PW_PARAMS_DEFAULT ((vg_pw_params){.log2_n = 15, .r = 8, .p = 1})
#define VG_PW_PARAMS_TEST    ((vg_pw_params){.log2_n = 10, .r = 8, .p = 1})
#define VG_PW_ENCODED_MAX    128u
#define VG_PW_MIN_LEN        12u
#define VG_PW_MAX_LEN        256u

/* Hashes pw into out (a NUL-terminated PHC string). VG_ERR_INVALID for
 * parameters out of range or a too small out. */
VG_NODISCARD vg_rc vg_pw_hash(const char *pw, size_t pw_len, const vg_pw_params *p, char *out,
			      size_t cap);
/* Parses a PHC string strictly (the stored-bytes parser, fuzzed):
 * VG_ERR_INVALID for anything malformed or out of bounds. */
VG_NODISCARD vg_rc vg_pw_parse(const char *encoded, vg_pw_params *p, uint8_t salt[static 16],
			       uint8_t hash[static 32]);
/* VG_OK on a match, VG_ERR_AUTH_FAILED on a mismatch (constant-time
 * compare), VG_ERR_INVALID if encoded is not a well-formed string of ours. */
VG_NODISCARD vg_rc vg_pw_verify(const char *pw, size_t pw_len, const char *encoded);

/*
 * The policy for a new password: VG_OK, or VG_ERR_POLICY with a one-line
 * reason in why that never repeats the password. Refused: fewer than
 * VG_PW_MIN_LEN or more than VG_PW_MAX_LEN bytes; invalid UTF-8 or control
 * characters; fewer than 5 distinct characters; a run of one character or
 * an alphabet, digit or keyboard sequence; a common password (built-in
 * list, compared case-insensitively, also after stripping trailing digits
 * and punctuation and undoing common letter-for-digit substitutions); any
 * password containing one of the device words (4+ characters: setup code,
 * OEM, model, hardware revision, instance ID), case-insensitively.
 */
VG_NODISCARD vg_rc vg_pw_policy_check(const char *pw, size_t pw_len,
				      const char *const *device_words, size_t n_words, char *why,
				      size_t why_len);

#endif
