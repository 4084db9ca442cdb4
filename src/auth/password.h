/*
 * password.h - admin passwords (SFR 4.2.13, AVS 1.2, threat A.3.1):
 * memory-hard hashing and the policy a new password must pass. Pure
 * library code: no I/O, no global state; safe to call from any thread.
 *
 * Hash: scrypt (OpenSSL 3 EVP_KDF "SCRYPT") with a 16-byte salt from
 * RAND_bytes and a 32-byte output, stored as a PHC string
 *
 *     $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt: 22 base64>$<hash: 43 base64>
 *
 * (standard base64 alphabet, no '=' padding; decimal numbers without
 * leading zeros). Default cost VG_PW_PARAMS_DEFAULT: ln=15, r=8, p=1, i.e.
 * 128 * r * N = 32 MiB of scrypt memory.
 *
 * Measured on the development machine (Intel Xeon, 2 vCPUs, OpenSSL
 * 3.0.19, RelWithDebInfo -O2): one vg_pw_hash at the default cost takes
 * 0.092 s (median of 20; 0.091 to 0.098 s) and raises the process's peak
 * RSS from 2.8 MiB to 37.4 MiB (+34.6 MiB: the 32 MiB scrypt array and
 * OpenSSL's buffers, freed on return). vg_pw_verify costs the same. A
 * speaker-class ARM core is several times slower: measure on the target.
 *
 * Verification honours the cost stored in the string, but only within
 * ln 10..20, r 1..32, p 1..4 AND p * 128 * r * N <= VG_PW_MAX_MEM
 * (256 MiB); anything else is VG_ERR_INVALID before any hashing, so a
 * forged or corrupted record cannot make the service allocate gigabytes or
 * hash for minutes: the worst accepted cost is 8 times the default's
 * memory and time. vg_pw_hash applies the same bounds.
 */
#ifndef VG_AUTH_PASSWORD_H
#define VG_AUTH_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

typedef struct vg_pw_params {
	unsigned log2_n; /* log2 of scrypt's N: 10..20 */
	unsigned r;      /* block size: 1..32 */
	unsigned p;      /* parallelism: 1..4 */
} vg_pw_params;

/* Production cost (32 MiB, 0.09 s here). */
#define VG_PW_PARAMS_DEFAULT ((vg_pw_params){.log2_n = 15, .r = 8, .p = 1})
/* 1 MiB, ~3 ms: for unit tests only; never store such a hash. */
#define VG_PW_PARAMS_TEST ((vg_pw_params){.log2_n = 10, .r = 8, .p = 1})

/* The largest scrypt cost p * 128 * r * N (bytes of memory times lanes)
 * accepted, hashing or verifying. */
#define VG_PW_MAX_MEM (UINT64_C(256) << 20)
/* Size of a buffer for an encoded hash, with its NUL. Every string we
 * produce or accept is shorter (at most 96 characters). */
#define VG_PW_ENCODED_MAX 128u
#define VG_PW_SALT_LEN    16u
#define VG_PW_HASH_LEN    32u
/* Password length limits, in bytes. */
#define VG_PW_MIN_LEN 12u
#define VG_PW_MAX_LEN 256u

/*
 * Hashes pw (pw_len bytes, 0..VG_PW_MAX_LEN, any content: the policy is
 * vg_pw_policy_check's job) with a fresh random salt and writes the PHC
 * string, NUL-terminated, to out (cap >= VG_PW_ENCODED_MAX). Two calls with
 * one password give different strings. p: the cost (NULL: the default).
 * Errors: VG_ERR_INVALID (a cost out of the bounds above, pw_len too long,
 * pw NULL with pw_len > 0, cap too small), VG_ERR_CRYPTO (RAND_bytes or
 * the KDF failed, e.g. out of memory). On any error out holds "" (if
 * cap > 0). The caller treats out as sensitive (it is what an offline
 * guesser needs) and wipes it when done; the password is not copied
 * anywhere but into OpenSSL's KDF context, which OpenSSL wipes.
 */
VG_NODISCARD vg_rc vg_pw_hash(const char *pw, size_t pw_len, const vg_pw_params *p, char *out,
			      size_t cap);

/*
 * Parses a stored PHC string strictly: exactly the shape above, the
 * canonical base64 spelling of exactly 16 + 32 bytes, a cost within the
 * bounds, nothing before or after. encoded is a NUL-terminated string of
 * which at most VG_PW_ENCODED_MAX bytes are read (a longer one is
 * refused). No undefined behaviour on any input (fuzzed by
 * fuzz/fuzz_pw_encoded.c). VG_OK with params, salt and hash filled;
 * VG_ERR_INVALID otherwise (also for a NULL argument), with salt and hash
 * zeroed.
 */
VG_NODISCARD vg_rc vg_pw_parse(const char *encoded, vg_pw_params *params,
			       uint8_t salt[static VG_PW_SALT_LEN],
			       uint8_t hash[static VG_PW_HASH_LEN]);

/*
 * Verifies pw against a string made by vg_pw_hash, with the stored cost.
 * VG_OK: it matches. VG_ERR_AUTH_FAILED: it does not (compared with
 * CRYPTO_memcmp), including any pw longer than VG_PW_MAX_LEN, which is
 * refused without hashing since no stored hash can be of one.
 * VG_ERR_INVALID: encoded does not parse (see vg_pw_parse), or pw is NULL
 * with pw_len > 0. VG_ERR_CRYPTO: the KDF failed. Takes one scrypt's time
 * and memory at the stored cost.
 */
VG_NODISCARD vg_rc vg_pw_verify(const char *pw, size_t pw_len, const char *encoded);

/*
 * The policy for a new admin password (AVS 1.2: no weak or guessable
 * password). VG_OK, or VG_ERR_POLICY with a one-line English reason in why
 * (truncated to why_len, always NUL-terminated; "" on VG_OK) that never
 * repeats the password or a device word. why may be NULL. The first rule
 * that fails, in this order, gives the reason:
 *  1. 12 to 256 bytes (VG_PW_MIN_LEN..VG_PW_MAX_LEN);
 *  2. valid UTF-8 (no overlong forms, surrogates or code points above
 *     U+10FFFF) without control characters (C0, DEL, C1);
 *  3. not one character repeated;
 *  4. at least 5 distinct characters (code points, ASCII letters folded to
 *     lower case);
 *  5. not an alphabet, number or keyboard sequence: refused when at most a
 *     quarter of the steps between consecutive characters are
 *     unpredictable (a predictable step repeats the character or moves to
 *     a neighbour in the alphabet, on the digits, along a QWERTY, QWERTZ or
 *     AZERTY row or column, or on a numeric keypad), so "abcdefghijkl",
 *     "qwertyuiopas", "1234567890ab" and "1qaz2wsx3edc" are refused;
 *  6. not one of the ~1000 most common passwords (common_passwords.inc),
 *     compared ASCII-case-insensitively: the whole password, and every
 *     core of 4 or more characters left by removing digits, punctuation
 *     and spaces from its start and end, each as is and with leet
 *     substitutions undone (0 o, 1 i or l, 3 e, 4 a, 5 s, 7 t, @ a, $ s,
 *     ! i): "P@ssw0rd2024!", "2024-Superman!" and "H3ll01990" are refused;
 *  7. not containing any of the n_words device_words that has 4 or more
 *     bytes (setup code, OEM, model, hardware revision, instance ID),
 *     ASCII-case-insensitively, also with everything but letters and
 *     digits removed from both ("Speaker-X1" refuses "my speakerx1 ...").
 *     NULL entries and words shorter than 4 bytes are ignored.
 * Errors besides VG_ERR_POLICY: VG_ERR_INVALID for pw NULL, or device_words
 * NULL with n_words > 0. Copies of the password it makes are wiped.
 */
VG_NODISCARD vg_rc vg_pw_policy_check(const char *pw, size_t pw_len,
				      const char *const *device_words, size_t n_words, char *why,
				      size_t why_len);

#endif
