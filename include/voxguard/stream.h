/*
 * stream.h - encrypted audio streams for their intended recipients (SFR
 * 4.2.7, 4.2.8 note 7; profile 2.3.1; asset A.2.2.1): HPKE (RFC 9180)
 * stream keys and SFrame (RFC 9605) frames. Part of libvoxguard's public
 * C API; docs/AUDIO.md describes the bytes for servers that decrypt with
 * standard HPKE and SFrame libraries.
 *
 * This header is the authoritative description of the interface.
 *
 * A stream is a header followed by frames, each handled as it comes
 * (bounded latency: one frame in, one frame out; nothing buffers the
 * stream):
 *
 *   header (all integers big-endian; at most VG_STREAM_HDR_MAX bytes)
 *     off size
 *     0   4    magic "VGS1"
 *     4   1    version (1)
 *     5   2    H: the header's whole length
 *     7   1    HPKE mode: 0x00 base, 0x02 auth
 *     8   2    HPKE KEM (0x0020 DHKEM(X25519), 0x0010 DHKEM(P-256))
 *     10  2    HPKE KDF (0x0001 HKDF-SHA256)
 *     12  2    HPKE AEAD (0x0001 AES-128-GCM)
 *     14  2    SFrame cipher suite (0x0004 AES_128_GCM_SHA256_128)
 *     16  16   stream id (random)
 *     32  1    n: recipients, 1..VG_STREAM_MAX_RECIPIENTS
 *     33  n entries, each:
 *           16    recipient key id: SHA-256(its SubjectPublicKeyInfo DER)[0..16]
 *           Nenc  HPKE enc (32 for X25519, 65 for P-256)
 *           48    HPKE Seal of the 32-byte stream key (ciphertext || tag),
 *                 info = header[0..33], aad = the key id, sequence 0
 *     H = 33 + n * (16 + Nenc + 48), checked exactly.
 *   frames: src/audio/sframe.h's wire form (version, flags, length, RFC
 *     9605 ciphertext), KID 0, CTR from 0, the stream id in the SFrame
 *     metadata, the last frame marked FINAL; its base key
 *       HKDF-SHA256(salt = "", ikm = stream key,
 *                   info = "VGS1 sframe" || SHA-256(header bytes), L = 32)
 *     so every header byte (every recipient's entry too) is bound into
 *     every frame: a frame of another stream, or after a changed header,
 *     does not authenticate.
 *
 * Every recipient's public key must be of one KEM (all X25519, or all
 * P-256). Auth mode (RFC 9180 AuthEncap) authenticates the sender: its
 * key is a keystore key (the service does the sender's DH,
 * vg_key_auth_encap()); the recipient names the expected sender's public
 * key.
 *
 * Secrets: the stream key and the KEM shared secrets are wiped right after
 * their last use; a sender or receiver keeps only SFrame's derived key and
 * salt, in locked memory, wiped by its _free.
 *
 * Ownership: _new allocates, _free (NULL-safe, double pointer) frees.
 * Frame buffers are the caller's. Not thread-safe: one object per thread.
 */
#ifndef VOXGUARD_STREAM_H
#define VOXGUARD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VG_STREAM_MAGIC          "VGS1"
#define VG_STREAM_VERSION        1u
#define VG_STREAM_MAX_RECIPIENTS 16u
#define VG_STREAM_FIXED_LEN      33u /* the header before its entries */
#define VG_STREAM_PREFIX_LEN     7u  /* magic, version, H: enough to know H */
#define VG_STREAM_KEY_ID_LEN     16u
#define VG_STREAM_HDR_MAX        4096u
/* One frame's plaintext at most (64 KiB), and the wire length of a frame
 * of n plaintext bytes at most. */
#define VG_STREAM_FRAME_MAX        (64u * 1024u)
#define VG_STREAM_WIRE_LEN(n)      (6u + 17u + (size_t)(n) + 16u)
#define VG_STREAM_FRAME_PREFIX_LEN 6u

/* A recipient: its public key as SubjectPublicKeyInfo DER (X25519 or
 * P-256), as `voxguard key public` prints it in PEM. */
typedef struct vg_stream_pub {
	const uint8_t *spki;
	size_t spki_len;
} vg_stream_pub;

typedef struct vg_stream_sender vg_stream_sender;

/*
 * A new stream to the n recipients in to[] (1..16, one KEM). Base mode
 * when from_key is NULL; auth mode when it names the caller's keystore key
 * (usage derive, the recipients' KEM type), whose DH runs in the service
 * through c (c may be NULL in base mode). Writes the stream's header into
 * header (*header_len bytes); send it before the frames.
 * VG_ERR_INVALID: no or too many recipients, a key that is not X25519 or
 * P-256, mixed KEMs; errors of vg_key_auth_encap().
 */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_sender_new(const vg_stream_pub *to, size_t n, vg_client *c,
						  const char *from_key,
						  uint8_t header[static VG_STREAM_HDR_MAX],
						  size_t *header_len, vg_stream_sender **out);
/* Seals one frame (pt_len <= VG_STREAM_FRAME_MAX) into out (cap >=
 * VG_STREAM_WIRE_LEN(pt_len)), *out_len bytes to send. VG_ERR_STATE after
 * vg_stream_finish(). */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_seal_frame(vg_stream_sender *s, const uint8_t *pt,
						  size_t pt_len, uint8_t *out, size_t cap,
						  size_t *out_len);
/* Seals the stream's last frame (FINAL; pt_len may be 0): a stream that
 * ends without it is reported truncated by the receiver. */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_finish(vg_stream_sender *s, const uint8_t *pt,
					      size_t pt_len, uint8_t *out, size_t cap,
					      size_t *out_len);
VG_EXPORT void vg_stream_sender_free(vg_stream_sender **s);

/* Reads the header's 7-byte prefix (avail >= VG_STREAM_PREFIX_LEN) and
 * gives its whole length H, so a reader of a pipe knows how much to read:
 * VG_ERR_PROTOCOL (not a stream, another version, H out of bounds). */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_header_len(const uint8_t *prefix, size_t avail,
						  size_t *len);
/* Reads a frame's 6-byte prefix and gives its whole length: VG_ERR_TOO_LARGE
 * for an oversized frame (decided before reading it), VG_ERR_PROTOCOL for
 * a malformed prefix. */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_frame_len(const uint8_t *prefix, size_t avail,
						 size_t *len);

typedef struct vg_stream_receiver vg_stream_receiver;

/*
 * Opens a stream's header (header_len bytes of outside input, parsed
 * strictly) with the caller's keystore key key_name: the entry for that
 * key (found by its key id) is decapsulated in the service
 * (vg_key_decap()), the stream key opened here. expected_sender: the
 * sender's SubjectPublicKeyInfo DER for an auth-mode stream, or NULL for
 * base mode; the stream's mode must be the one expected.
 * VG_ERR_PROTOCOL: a malformed header; VG_ERR_NOT_FOUND: the key is not
 * a recipient of this stream; VG_ERR_INTEGRITY: the entry does not open
 * (a changed header, the wrong sender); VG_ERR_POLICY: the key may not
 * derive, or is of a type that cannot receive streams (not X25519 or
 * P-256); VG_ERR_VERIFY_FAILED: the stream's mode is not the one expected
 * (base when a sender was named, or auth when none was); errors of
 * vg_key_public_pem() and vg_key_decap() (VG_ERR_DENIED, ...).
 */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_receiver_new(vg_client *c, const char *key_name,
						    const uint8_t *expected_sender,
						    size_t expected_sender_len,
						    const uint8_t *header, size_t header_len,
						    vg_stream_receiver **out);
/* Opens one wire frame (frame_len bytes: exactly one frame) into pt (cap
 * >= VG_STREAM_FRAME_MAX always suffices). *flags: 0x01 the final frame,
 * 0x02 frames before it are missing, 0x04 out of order. Errors as
 * src/audio/sframe.h's vg_sframe_open (VG_ERR_INTEGRITY, VG_ERR_REPLAY,
 * VG_ERR_STATE, VG_ERR_TOO_LARGE, VG_ERR_PROTOCOL), with no plaintext
 * written; vg_stream_receiver_why() names the cause. */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_open_frame(vg_stream_receiver *r, const uint8_t *frame,
						  size_t frame_len, uint8_t *pt, size_t cap,
						  size_t *pt_len, unsigned *flags);
/* A one-line English reason for the last refusal ("" if none); static or
 * owned by r. */
VG_EXPORT const char *vg_stream_receiver_why(const vg_stream_receiver *r);

typedef struct vg_stream_stats {
	uint64_t frames;  /* accepted */
	uint64_t missing; /* never came (lost or dropped) */
	uint64_t late;    /* accepted out of order */
	uint64_t refused;
} vg_stream_stats;
/* The end of the stream: VG_OK when its final frame came (lost frames are
 * in *stats, which may be NULL), VG_ERR_TRUNCATED when it did not. */
VG_EXPORT VG_NODISCARD vg_rc vg_stream_receiver_end(const vg_stream_receiver *r,
						    vg_stream_stats *stats);
VG_EXPORT void vg_stream_receiver_free(vg_stream_receiver **r);

#ifdef __cplusplus
}
#endif

#endif
