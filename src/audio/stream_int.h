/*
 * stream_int.h - the inside of include/voxguard/stream.h: the header codec
 * (the parser of outside bytes the fuzz target drives) and constructors
 * whose KEM runs through a callback, so that the tests, the fuzz target and
 * the bench can hold a key in process. Not exported from the shared
 * library.
 */
#ifndef VG_AUDIO_STREAM_INT_H
#define VG_AUDIO_STREAM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "audio/hpke.h"
#include "voxguard/stream.h"

#define VG_STREAM_KEY_LEN    32u /* the stream key */
#define VG_STREAM_SEALED_LEN (VG_STREAM_KEY_LEN + VG_HPKE_TAG_LEN)

typedef struct vg_stream_entry {
	uint8_t id[VG_STREAM_KEY_ID_LEN];
	uint8_t enc[VG_HPKE_MAX_ENC];
	size_t enc_len;
	uint8_t sealed[VG_STREAM_SEALED_LEN];
} vg_stream_entry;

typedef struct vg_stream_header {
	uint8_t mode; /* VG_HPKE_MODE_BASE or VG_HPKE_MODE_AUTH */
	vg_hpke_suite suite;
	uint16_t sframe_suite;
	uint8_t stream_id[16];
	size_t n;
	vg_stream_entry e[VG_STREAM_MAX_RECIPIENTS];
} vg_stream_header;

/* Parses a whole header (len bytes of outside input), strictly: the magic,
 * version, the exact length H == len, the mode (base or auth), the suite
 * (the one this version writes), 1..16 entries and nothing after them.
 * VG_ERR_PROTOCOL otherwise (out zeroed). */
VG_NODISCARD vg_rc vg_stream_header_parse(const uint8_t *buf, size_t len, vg_stream_header *out);
/* Encodes h (as the parser accepts it) into out; *len is H. */
VG_NODISCARD vg_rc vg_stream_header_encode(const vg_stream_header *h,
					   uint8_t out[static VG_STREAM_HDR_MAX], size_t *len);

/* A recipient's public key (SPKI DER): its KEM, raw public key (Npk
 * bytes) and key id. VG_ERR_INVALID if it is not X25519 or P-256. */
VG_NODISCARD vg_rc vg_stream_pub_parse(const uint8_t *spki, size_t spki_len, uint16_t *kem,
				       uint8_t pk[static VG_HPKE_MAX_PK], size_t *pk_len,
				       uint8_t id[static VG_STREAM_KEY_ID_LEN]);

/* The KEM where the private key is: Decap/AuthDecap (pkS NULL in base
 * mode), AuthEncap with the sender's key. */
typedef vg_rc (*vg_stream_decap_fn)(void *ctx, uint16_t kem, const uint8_t *enc, size_t enc_len,
				    const uint8_t *pkS, size_t pkS_len,
				    uint8_t ss[static VG_HPKE_SECRET_LEN]);
typedef vg_rc (*vg_stream_auth_encap_fn)(void *ctx, uint16_t kem, const uint8_t *pkR,
					 size_t pkR_len, uint8_t enc[static VG_HPKE_MAX_ENC],
					 size_t *enc_len, uint8_t ss[static VG_HPKE_SECRET_LEN]);
/* ... with ctx an EVP_PKEY * held in process. */
VG_NODISCARD vg_rc vg_stream_decap_local(void *ctx, uint16_t kem, const uint8_t *enc,
					 size_t enc_len, const uint8_t *pkS, size_t pkS_len,
					 uint8_t ss[static VG_HPKE_SECRET_LEN]);
VG_NODISCARD vg_rc vg_stream_auth_encap_local(void *ctx, uint16_t kem, const uint8_t *pkR,
					      size_t pkR_len, uint8_t enc[static VG_HPKE_MAX_ENC],
					      size_t *enc_len,
					      uint8_t ss[static VG_HPKE_SECRET_LEN]);

/* vg_stream_sender_new with the sender's AuthEncap through auth (NULL:
 * base mode). */
VG_NODISCARD vg_rc vg_stream_sender_new_cb(const vg_stream_pub *to, size_t n,
					   vg_stream_auth_encap_fn auth, void *auth_ctx,
					   uint8_t header[static VG_STREAM_HDR_MAX],
					   size_t *header_len, vg_stream_sender **out);
/* vg_stream_receiver_new with the recipient's public key (SPKI DER) given
 * and the decapsulation through decap. */
VG_NODISCARD vg_rc vg_stream_receiver_new_cb(const uint8_t *my_spki, size_t my_spki_len,
					     vg_stream_decap_fn decap, void *decap_ctx,
					     const uint8_t *expected_sender,
					     size_t expected_sender_len, const uint8_t *header,
					     size_t header_len, vg_stream_receiver **out);

#endif
