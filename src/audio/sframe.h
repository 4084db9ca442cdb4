/*
 * sframe.h - SFrame (RFC 9605) frames for audio streams, and the stream
 * layer voxguard puts on top of them (SFR 4.2.7, 4.2.8 note 7; asset
 * A.2.2.1: integrity and confidentiality of audio content).
 *
 * This header is the authoritative description of the interface. Every
 * primitive comes from OpenSSL 3 (AES-CTR, AES-GCM, HMAC, HKDF through
 * EVP); this file composes them as RFC 9605 says and implements none.
 *
 * Two layers:
 *
 * 1. RFC 9605 itself (any standard SFrame library interoperates with it):
 *    - the header (section 4.3): a config byte |X|KKK|Y|CCC| followed by
 *      the KID and then the CTR, each a big-endian integer of 1..8 bytes
 *      in its minimal length, or carried in the config byte when it is 0..7.
 *      Encoding is minimal; decoding is strict: a header whose KID or CTR
 *      is not in its minimal form (RFC 9605: "MUST be encoded with the
 *      minimum number of bytes"), or that is cut short, is refused.
 *    - the key schedule (section 4.4.2): sframe_secret = HKDF-Extract("",
 *      base_key); sframe_key = HKDF-Expand(sframe_secret, "SFrame 1.0
 *      Secret key " || KID (8 bytes BE) || suite (2 bytes BE), Nk);
 *      sframe_salt likewise with "SFrame 1.0 Secret salt ", Nn = 12. The
 *      hash is the suite's (SHA-256, or SHA-512 for suite 5).
 *    - a frame (section 4.4.3): header || AEAD(sframe_key, nonce = salt XOR
 *      CTR, aad = header || metadata, plaintext); the metadata is the
 *      application's and is not transmitted in the SFrame ciphertext.
 *    - the five cipher suites of section 4.5 (vg_sframe_suite); the three
 *      AES-CTR + HMAC ones are the encrypt-then-MAC AEAD of section 4.5.1.
 *
 * 2. The stream layer: what RFC 9605 section 9 leaves to the application.
 *    A stream is one sender, one base key, one KID and one 16-byte stream
 *    id; the sender's CTR starts at 0 and goes up by one per frame.
 *    - Wire form of one frame (for pipes and files; docs/AUDIO.md):
 *        offset size field
 *        0      1    version (VG_SFRAME_WIRE_VERSION = 1)
 *        1      1    flags: 0x01 FINAL (the stream's last frame); others 0
 *        2      4    n: length of the SFrame ciphertext, big-endian,
 *                    at most VG_SFRAME_MAX_CT
 *        6      n    the RFC 9605 SFrame ciphertext: header || ct || tag
 *    - The metadata (RFC 9605's application-provided AAD) of every frame is
 *        "vg-audio" (8 bytes) || version (1) || flags (1) || stream id (16)
 *      so the FINAL mark and the stream's identity are authenticated: a
 *      frame from another stream under the same key, or with its FINAL
 *      flag flipped, fails to authenticate.
 *    - Receipt: a replay window of VG_SFRAME_WINDOW counters behind the
 *      highest CTR seen; a repeated CTR, or one older than the window, is
 *      refused (VG_ERR_REPLAY); out-of-order frames inside the window are
 *      accepted. The window moves only after a frame authenticates.
 *    - Loss is reported, not fatal: a CTR gap is counted (flag
 *      VG_SFRAME_GAP on the frame after it, vg_sframe_receiver_stats),
 *      and a late frame that fills a gap uncounts it.
 *    - Truncation: a stream ends with one frame marked FINAL; frames with
 *      a greater CTR are refused (VG_ERR_STATE), and
 *      vg_sframe_receiver_end() reports VG_ERR_TRUNCATED when the final
 *      frame never came.
 *    - Size: a frame whose length field says more than VG_SFRAME_MAX_CT is
 *      refused from its 6-byte prefix (VG_ERR_TOO_LARGE), before any
 *      cryptography and before the caller reads the rest.
 *    - The sender never reuses a CTR under one key: it refuses to seal
 *      past CTR 2^64 - 1 and after the FINAL frame (VG_ERR_STATE).
 *
 * Errors: VG_ERR_INVALID (a bad argument), VG_ERR_PROTOCOL (malformed
 * bytes: a bad version, flags or header), VG_ERR_TOO_LARGE (over a size
 * bound, or the caller's buffer is too small), VG_ERR_INTEGRITY (the frame
 * does not authenticate, or names another KID: never which check failed),
 * VG_ERR_REPLAY, VG_ERR_STATE, VG_ERR_TRUNCATED, VG_ERR_NOMEM,
 * VG_ERR_CRYPTO (OpenSSL failed). A failed decryption writes no
 * plaintext: the output buffer is wiped.
 *
 * Ownership: a context (vg_sframe_key, vg_sframe_sender,
 * vg_sframe_receiver) is allocated by its _new function and freed by its
 * _free function (NULL-safe, double pointer, sets the handle to NULL),
 * which wipes the derived key and salt. The base key is copied nowhere:
 * only the derived key and salt are kept, in vg_secret_alloc() memory;
 * the caller wipes its base key. Frame buffers are the caller's: sealing
 * and opening allocate nothing (the ciphers are fetched and keyed when a
 * context is made; per frame only the IV is set and HMAC re-initialised),
 * so the cost of a frame depends only on its own size. A context is not
 * thread-safe: one per thread.
 */
#ifndef VG_AUDIO_SFRAME_H
#define VG_AUDIO_SFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

/* RFC 9605 section 8.1 (IANA "SFrame Cipher Suites"). */
typedef enum vg_sframe_suite {
	VG_SFRAME_AES_128_CTR_HMAC_SHA256_80 = 0x0001,
	VG_SFRAME_AES_128_CTR_HMAC_SHA256_64 = 0x0002,
	VG_SFRAME_AES_128_CTR_HMAC_SHA256_32 = 0x0003,
	VG_SFRAME_AES_128_GCM_SHA256_128 = 0x0004,
	VG_SFRAME_AES_256_GCM_SHA512_128 = 0x0005,
} vg_sframe_suite;

#define VG_SFRAME_HDR_MAX       17u /* config byte + 8 KID + 8 CTR bytes */
#define VG_SFRAME_NONCE_LEN     12u /* Nn of every suite */
#define VG_SFRAME_KEY_MAX       48u /* the largest Nk (CTR + HMAC-SHA256) */
#define VG_SFRAME_TAG_MAX       16u /* the largest Nt */
#define VG_SFRAME_BASE_KEY_MIN  16u
#define VG_SFRAME_BASE_KEY_MAX  64u
#define VG_SFRAME_STREAM_ID_LEN 16u
#define VG_SFRAME_WINDOW        128u /* counters behind the highest seen */

/* One frame's plaintext, at most: 64 KiB (a 20 ms frame of 48 kHz stereo
 * S16 is 3840 bytes; of 8 channels of 32-bit samples, 30720). */
#define VG_SFRAME_MAX_PT (64u * 1024u)
/* The SFrame ciphertext of the largest frame. */
#define VG_SFRAME_MAX_CT (VG_SFRAME_HDR_MAX + VG_SFRAME_MAX_PT + VG_SFRAME_TAG_MAX)

#define VG_SFRAME_WIRE_VERSION 1u
#define VG_SFRAME_WIRE_PREFIX  6u /* version, flags, 4-byte length */
#define VG_SFRAME_META_LEN     (8u + 1u + 1u + VG_SFRAME_STREAM_ID_LEN)
/* A wire frame of pt_len plaintext bytes is at most this long. */
#define VG_SFRAME_WIRE_LEN(pt_len) \
	(VG_SFRAME_WIRE_PREFIX + VG_SFRAME_HDR_MAX + (size_t)(pt_len) + VG_SFRAME_TAG_MAX)
#define VG_SFRAME_WIRE_MAX VG_SFRAME_WIRE_LEN(VG_SFRAME_MAX_PT)

/* Wire and open flags. */
#define VG_SFRAME_FINAL 0x01u /* wire and open: the stream's last frame */
#define VG_SFRAME_GAP   0x02u /* open only: frames before this one are missing */
#define VG_SFRAME_LATE  0x04u /* open only: out of order (older than the highest) */

/* ---- RFC 9605: header ---- */

/* Encodes the header of (kid, ctr) in its minimal form into out; *len is
 * 1..17. Never fails. */
void vg_sframe_header_encode(uint64_t kid, uint64_t ctr, uint8_t out[static VG_SFRAME_HDR_MAX],
			     size_t *len);

/* Decodes the header at the start of buf (len bytes of outside input):
 * VG_OK with *kid, *ctr and *hdr_len (the bytes it takes), or
 * VG_ERR_PROTOCOL when it is cut short or not minimal (outputs zeroed). */
VG_NODISCARD vg_rc vg_sframe_header_decode(const uint8_t *buf, size_t len, uint64_t *kid,
					   uint64_t *ctr, size_t *hdr_len);

/* ---- RFC 9605: cipher suites, key schedule, AEAD, frames ---- */

/* The suite's constants: key length Nk, tag length Nt (Nn is 12 for all).
 * false for an unknown suite. */
VG_NODISCARD bool vg_sframe_suite_info(vg_sframe_suite suite, size_t *nk, size_t *nt);
/* Its RFC name, or NULL. */
const char *vg_sframe_suite_name(vg_sframe_suite suite);

/* The key schedule of section 4.4.2: sframe_key (Nk bytes into key) and
 * sframe_salt. The caller wipes both. */
VG_NODISCARD vg_rc vg_sframe_derive(vg_sframe_suite suite, const uint8_t *base_key,
				    size_t base_key_len, uint64_t kid,
				    uint8_t key[static VG_SFRAME_KEY_MAX],
				    uint8_t salt[static VG_SFRAME_NONCE_LEN]);

/* The AEAD of a suite under a raw sframe_key (Nk bytes), kept ready for
 * repeated use (cipher fetched and keyed once). Besides the five suites,
 * vg_sframe_aead_new_ctr_hmac() makes the section 4.5.1 construction for
 * any AES key length (16 or 32) and hash ("SHA256", "SHA512") and tag
 * length: the published vectors also cover AES-256-CTR with HMAC-SHA512,
 * which has no registered suite. */
typedef struct vg_sframe_aead vg_sframe_aead;
VG_NODISCARD vg_rc vg_sframe_aead_new(vg_sframe_suite suite, const uint8_t *key, size_t key_len,
				      vg_sframe_aead **out);
VG_NODISCARD vg_rc vg_sframe_aead_new_ctr_hmac(size_t nka, const char *hash, size_t nt,
					       const uint8_t *key, size_t key_len,
					       vg_sframe_aead **out);
void vg_sframe_aead_free(vg_sframe_aead **a);
/* The tag length Nt. */
size_t vg_sframe_aead_tag_len(const vg_sframe_aead *a);
/* AEAD.Encrypt: out (cap bytes, at least pt_len + Nt) gets ct || tag. */
VG_NODISCARD vg_rc vg_sframe_aead_seal(vg_sframe_aead *a, const uint8_t nonce[static 12],
				       const uint8_t *aad, size_t aad_len, const uint8_t *pt,
				       size_t pt_len, uint8_t *out, size_t cap, size_t *out_len);
/* AEAD.Decrypt: ct_len includes the tag; out (cap bytes, at least ct_len -
 * Nt) gets the plaintext. VG_ERR_INTEGRITY (out wiped) when the tag fails;
 * the tag is compared in constant time (CRYPTO_memcmp) before decrypting. */
VG_NODISCARD vg_rc vg_sframe_aead_open(vg_sframe_aead *a, const uint8_t nonce[static 12],
				       const uint8_t *aad, size_t aad_len, const uint8_t *ct,
				       size_t ct_len, uint8_t *out, size_t cap, size_t *out_len);

/* One KID's key (sframe_key, sframe_salt, and its ready AEAD): RFC 9605's
 * encrypt() and decrypt(). The base key is not kept. */
typedef struct vg_sframe_key vg_sframe_key;
VG_NODISCARD vg_rc vg_sframe_key_new(vg_sframe_suite suite, const uint8_t *base_key,
				     size_t base_key_len, uint64_t kid, vg_sframe_key **out);
void vg_sframe_key_free(vg_sframe_key **k);
/* encrypt(CTR, KID, metadata, plaintext) into out (cap bytes, at least
 * VG_SFRAME_HDR_MAX + pt_len + Nt): the SFrame ciphertext. It does not
 * track counters: the stream layer below does. pt_len <= VG_SFRAME_MAX_PT. */
VG_NODISCARD vg_rc vg_sframe_encrypt(vg_sframe_key *k, uint64_t ctr, const uint8_t *metadata,
				     size_t metadata_len, const uint8_t *pt, size_t pt_len,
				     uint8_t *out, size_t cap, size_t *out_len);
/* decrypt(metadata, sframe_ciphertext): the header is parsed strictly, its
 * KID must be the key's (VG_ERR_INTEGRITY otherwise), *ctr gets its CTR.
 * ct_len <= VG_SFRAME_MAX_CT (VG_ERR_TOO_LARGE, checked first). */
VG_NODISCARD vg_rc vg_sframe_decrypt(vg_sframe_key *k, const uint8_t *metadata, size_t metadata_len,
				     const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t cap,
				     size_t *pt_len, uint64_t *ctr);

/* ---- the stream layer ---- */

/* Reads a wire frame's 6-byte prefix (avail >= VG_SFRAME_WIRE_PREFIX bytes
 * at buf) and gives the whole frame's length, so a reader of a pipe knows
 * how much more to read. VG_ERR_PROTOCOL (bad version or flags),
 * VG_ERR_TOO_LARGE (over VG_SFRAME_MAX_CT), VG_ERR_INVALID (avail < 6). */
VG_NODISCARD vg_rc vg_sframe_wire_frame_len(const uint8_t *buf, size_t avail, size_t *frame_len);

typedef struct vg_sframe_sender vg_sframe_sender;
/* A stream's sender: suite, base key (16..64 bytes; not kept), KID and
 * the stream's 16-byte id. Its first frame has CTR 0. */
VG_NODISCARD vg_rc vg_sframe_sender_new(vg_sframe_suite suite, const uint8_t *base_key,
					size_t base_key_len, uint64_t kid,
					const uint8_t stream_id[static VG_SFRAME_STREAM_ID_LEN],
					vg_sframe_sender **out);
void vg_sframe_sender_free(vg_sframe_sender **s);
/* Seals the next frame (pt_len <= VG_SFRAME_MAX_PT; final marks it the
 * stream's last) into out (cap >= VG_SFRAME_WIRE_LEN(pt_len)) as a wire
 * frame of *out_len bytes. VG_ERR_STATE after the final frame or once the
 * CTR space is spent; the CTR advances only on success. */
VG_NODISCARD vg_rc vg_sframe_seal(vg_sframe_sender *s, const uint8_t *pt, size_t pt_len, bool final,
				  uint8_t *out, size_t cap, size_t *out_len);
/* The CTR the next frame gets. */
uint64_t vg_sframe_sender_next_ctr(const vg_sframe_sender *s);
/* Skips forward to ctr (resuming a stream after a restart that kept its
 * key, or for tests): VG_ERR_INVALID when ctr is below the next CTR, so a
 * counter is never used twice. */
VG_NODISCARD vg_rc vg_sframe_sender_skip_to(vg_sframe_sender *s, uint64_t ctr);

typedef struct vg_sframe_receiver vg_sframe_receiver;
/* A stream's receiver: the same suite, base key, KID and stream id as
 * the sender's. */
VG_NODISCARD vg_rc vg_sframe_receiver_new(vg_sframe_suite suite, const uint8_t *base_key,
					  size_t base_key_len, uint64_t kid,
					  const uint8_t stream_id[static VG_SFRAME_STREAM_ID_LEN],
					  vg_sframe_receiver **out);
void vg_sframe_receiver_free(vg_sframe_receiver **r);
/* Opens one wire frame (frame_len bytes of outside input: exactly one
 * frame) into pt (cap bytes; VG_SFRAME_MAX_PT always suffices). On VG_OK,
 * *pt_len and *flags (VG_SFRAME_FINAL, _GAP, _LATE) are set, and *ctr
 * when ctr is not NULL. A refused frame changes nothing in the receiver
 * but its refused count, and leaves *pt_len, *flags and *ctr 0 and no
 * plaintext in pt: VG_ERR_PROTOCOL, VG_ERR_TOO_LARGE (also when cap is
 * too small), VG_ERR_INTEGRITY, VG_ERR_REPLAY (repeated, or older than
 * the window), VG_ERR_STATE (after the final frame, a second final frame,
 * or a final frame below frames already accepted). */
VG_NODISCARD vg_rc vg_sframe_open(vg_sframe_receiver *r, const uint8_t *frame, size_t frame_len,
				  uint8_t *pt, size_t cap, size_t *pt_len, unsigned *flags,
				  uint64_t *ctr);

typedef struct vg_sframe_stats {
	uint64_t frames;  /* frames accepted */
	uint64_t missing; /* CTRs below the highest accepted that never came */
	uint64_t late;    /* frames accepted out of order */
	uint64_t refused; /* frames refused, whatever the reason */
	uint64_t highest; /* the highest CTR accepted (0 when none) */
	bool final_seen;  /* the FINAL frame was accepted */
} vg_sframe_stats;
void vg_sframe_receiver_stats(const vg_sframe_receiver *r, vg_sframe_stats *out);

/* The end-of-stream verdict: VG_OK when the final frame was accepted (lost
 * frames before it are in the stats, not an error), VG_ERR_TRUNCATED when
 * it was not. Does not free the receiver. */
VG_NODISCARD vg_rc vg_sframe_receiver_end(const vg_sframe_receiver *r);

#endif
