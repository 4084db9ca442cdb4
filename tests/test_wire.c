/*
 * test_wire.c - the IPC wire format (src/proto/wire.h).
 *
 * AVS Device SDK: treat outside input as hostile. SFR 4.2.10: the request
 * manager is the isolation boundary, so its decoder must refuse anything
 * that is not exactly a well-formed voxguard message, without trusting any
 * length it declares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "daemon/reqmgr.h"
#include "proto/wire.h"

/* ---- allocation watch: ASan's hooks when the build has them ---- */

int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
					      void (*f)(const volatile void *))
    __attribute__((weak));

static size_t g_max_alloc;
static bool g_hooks;

static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	if (n > g_max_alloc)
		g_max_alloc = n;
}

static void on_free(const volatile void *p)
{
	(void)p;
}

static int install_hooks(void **state)
{
	(void)state;
	if (__sanitizer_install_malloc_and_free_hooks)
		g_hooks = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
	return 0;
}

/* ---- helpers ---- */

#define DECODE_RC(arr) decode_rc((arr), sizeof(arr))

static vg_rc decode_rc(const uint8_t *buf, size_t len)
{
	vg_msg m;
	vg_rc rc = vg_wire_decode(buf, len, &m);

	if (rc == VG_OK)
		vg_msg_free(&m);
	else {
		assert_null(m.root); /* nothing half-built is left behind */
		assert_null(m.flat);
	}
	return rc;
}

/* Encodes a request and returns the payload (without the frame header). */
static uint8_t *encode_payload(uint64_t code, vg_msgb *b, size_t *len)
{
	uint8_t *frame = NULL, *payload;
	size_t flen = 0, plen = 0;

	assert_int_equal(vg_wire_encode(code, b, &frame, &flen), VG_OK);
	assert_true(flen > VG_WIRE_HDR_LEN);
	assert_int_equal(vg_wire_frame_len(frame, &plen), VG_OK);
	assert_int_equal(plen, flen - VG_WIRE_HDR_LEN);
	payload = malloc(plen);
	assert_non_null(payload);
	memcpy(payload, frame + VG_WIRE_HDR_LEN, plen);
	free(frame);
	*len = plen;
	return payload;
}

/* A valid request carrying one argument of every type. */
static uint8_t *sample_payload(size_t *len)
{
	static const uint8_t data[] = {0xde, 0xad, 0x00, 0xbe, 0xef};
	vg_msgb b;
	cbor_item_t *list, *entry;
	bool failed = false;

	assert_int_equal(vg_msgb_init(&b), VG_OK);
	vg_msgb_text(&b, VG_A_NAME, "door-key");
	vg_msgb_uint(&b, VG_A_TYPE, VG_KEY_P256);
	vg_msgb_uint(&b, VG_A_COUNTER, UINT64_MAX);
	vg_msgb_bytes(&b, VG_A_DATA, data, sizeof data);
	vg_msgb_bytes(&b, VG_A_SIG, NULL, 0);
	vg_msgb_text(&b, VG_A_PEM, "");
	list = cbor_new_definite_array(2);
	assert_non_null(list);
	for (unsigned i = 0; i < 2; i++) {
		entry = cbor_new_definite_map(2);
		assert_non_null(entry);
		vg_map_add_text(entry, VG_A_NAME, i ? "second" : "first", &failed);
		vg_map_add_uint(entry, VG_A_CREATED, 1700000000u + i, &failed);
		assert_true(cbor_array_push(list, entry));
		cbor_decref(&entry);
	}
	assert_false(failed);
	vg_msgb_item(&b, VG_A_LIST, list);
	return encode_payload(VG_OP_KEY_CREATE, &b, len);
}

/* ---- roundtrip ---- */

/* AVS SDK (hostile input) / SFR 4.2.10: every argument type survives
 * encode -> decode exactly, and the typed getters check the type. */
static void test_wire_roundtrip_every_arg_type(void **state)
{
	size_t len, n;
	uint8_t *p = sample_payload(&len);
	vg_msg m;
	const uint8_t *bytes;
	uint64_t v;
	char text[64];
	cbor_item_t *list, *e0, *it;

	(void)state;
	assert_int_equal(vg_wire_decode(p, len, &m), VG_OK);
	assert_int_equal(m.code, VG_OP_KEY_CREATE);

	assert_int_equal(vg_msg_text(&m, VG_A_NAME, text, sizeof text), VG_OK);
	assert_string_equal(text, "door-key");
	assert_int_equal(vg_msg_uint(&m, VG_A_TYPE, &v), VG_OK);
	assert_int_equal(v, VG_KEY_P256);
	assert_int_equal(vg_msg_uint(&m, VG_A_COUNTER, &v), VG_OK);
	assert_true(v == UINT64_MAX);
	assert_int_equal(vg_msg_bytes(&m, VG_A_DATA, &bytes, &n), VG_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(bytes, "\xde\xad\x00\xbe\xef", 5);
	assert_int_equal(vg_msg_bytes(&m, VG_A_SIG, &bytes, &n), VG_OK);
	assert_int_equal(n, 0);
	assert_int_equal(vg_msg_text(&m, VG_A_PEM, text, sizeof text), VG_OK);
	assert_string_equal(text, "");

	assert_int_equal(vg_msg_item(&m, VG_A_LIST, &list), VG_OK);
	assert_true(cbor_isa_array(list));
	assert_int_equal(cbor_array_size(list), 2);
	e0 = cbor_array_handle(list)[1];
	assert_int_equal(vg_map_get(e0, VG_A_NAME, &it), VG_OK);
	assert_true(cbor_isa_string(it));
	assert_int_equal(cbor_string_length(it), 6);
	assert_memory_equal(cbor_string_handle(it), "second", 6);
	assert_int_equal(vg_map_get(e0, VG_A_CREATED, &it), VG_OK);
	assert_int_equal(cbor_get_int(it), 1700000001u);
	assert_int_equal(vg_map_get(e0, VG_A_OWNER, &it), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_map_get(list, VG_A_NAME, &it), VG_ERR_PROTOCOL); /* not a map */

	/* Absent is NOT_FOUND; a wrong type is PROTOCOL, for every getter. */
	assert_int_equal(vg_msg_uint(&m, VG_A_OWNER, &v), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_msg_bytes(&m, VG_A_VALUE, &bytes, &n), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_msg_text(&m, VG_A_ROLE, text, sizeof text), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_msg_uint(&m, VG_A_NAME, &v), VG_ERR_PROTOCOL);
	assert_int_equal(v, 0);
	assert_int_equal(vg_msg_bytes(&m, VG_A_NAME, &bytes, &n), VG_ERR_PROTOCOL);
	assert_null(bytes);
	assert_int_equal(vg_msg_text(&m, VG_A_DATA, text, sizeof text), VG_ERR_PROTOCOL);
	assert_string_equal(text, "");
	assert_int_equal(vg_msg_text(&m, VG_A_TYPE, text, sizeof text), VG_ERR_PROTOCOL);
	assert_int_equal(vg_msg_bytes(&m, VG_A_LIST, &bytes, &n), VG_ERR_PROTOCOL);
	vg_msg_free(&m);
	assert_null(m.root);
	vg_msg_free(&m); /* harmless twice */
	free(p);
}

/* AVS SDK (hostile input): a reply code and an empty argument map. */
static void test_wire_roundtrip_empty_args(void **state)
{
	vg_msgb b;
	size_t len;
	uint8_t *p;
	vg_msg m;
	uint64_t v;

	(void)state;
	assert_int_equal(vg_msgb_init(&b), VG_OK);
	p = encode_payload(VG_ERR_DENIED, &b, &len);
	assert_int_equal(vg_wire_decode(p, len, &m), VG_OK);
	assert_int_equal(m.code, VG_ERR_DENIED);
	assert_int_equal(vg_msg_uint(&m, VG_A_MSG, &v), VG_ERR_NOT_FOUND);
	vg_msg_free(&m);
	free(p);
}

/* AVS SDK (hostile input): the builder refuses more than VG_WIRE_MAX_ARGS
 * arguments rather than producing a message the peer must reject. */
static void test_wire_encode_refuses_too_many_args(void **state)
{
	vg_msgb b;
	uint8_t *out = (uint8_t *)&b;
	size_t len = 1;

	(void)state;
	assert_int_equal(vg_msgb_init(&b), VG_OK);
	for (unsigned i = 0; i <= VG_WIRE_MAX_ARGS; i++)
		vg_msgb_uint(&b, i, i);
	assert_int_not_equal(vg_wire_encode(1, &b, &out, &len), VG_OK);
	assert_null(out);
	assert_int_equal(len, 0);
}

/* ---- framing ---- */

/* AVS SDK (hostile input): a frame header of 0 or of more than
 * VG_WIRE_MAX_MSG is refused before anything is read or allocated. */
static void test_wire_frame_len_limits(void **state)
{
	uint8_t h[4];
	size_t n;
	uint32_t max = VG_WIRE_MAX_MSG;

	(void)state;
	memset(h, 0, sizeof h);
	assert_int_equal(vg_wire_frame_len(h, &n), VG_ERR_PROTOCOL);

	h[3] = 1;
	assert_int_equal(vg_wire_frame_len(h, &n), VG_OK);
	assert_int_equal(n, 1);

	h[0] = (uint8_t)(max >> 24), h[1] = (uint8_t)(max >> 16), h[2] = (uint8_t)(max >> 8),
	h[3] = (uint8_t)max;
	assert_int_equal(vg_wire_frame_len(h, &n), VG_OK);
	assert_int_equal(n, VG_WIRE_MAX_MSG);

	max++;
	h[0] = (uint8_t)(max >> 24), h[1] = (uint8_t)(max >> 16), h[2] = (uint8_t)(max >> 8),
	h[3] = (uint8_t)max;
	assert_int_equal(vg_wire_frame_len(h, &n), VG_ERR_TOO_LARGE);

	memset(h, 0xff, sizeof h);
	assert_int_equal(vg_wire_frame_len(h, &n), VG_ERR_TOO_LARGE);
}

/* AVS SDK (hostile input): a payload longer than VG_WIRE_MAX_MSG is
 * refused with VG_ERR_TOO_LARGE. */
static void test_wire_decode_rejects_oversized_payload(void **state)
{
	size_t n = VG_WIRE_MAX_MSG + 1;
	uint8_t *big = calloc(1, n);

	(void)state;
	assert_non_null(big);
	assert_int_equal(decode_rc(big, n), VG_ERR_TOO_LARGE);
	free(big);
}

/* ---- decode rejections ---- */

/* AVS SDK (hostile input): an empty payload is a protocol error. */
static void test_wire_decode_rejects_empty(void **state)
{
	static const uint8_t one[1] = {0};
	vg_msg m;

	(void)state;
	assert_int_equal(decode_rc(one, 0), VG_ERR_PROTOCOL);
	assert_int_equal(vg_wire_decode(NULL, 0, &m), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): every truncation of a valid message, at every
 * byte, is a protocol error. */
static void test_wire_decode_rejects_every_truncation(void **state)
{
	size_t len;
	uint8_t *p = sample_payload(&len);

	(void)state;
	assert_int_equal(decode_rc(p, len), VG_OK);
	for (size_t i = 0; i < len; i++) {
		/* A copy of exactly i bytes, so ASan sees any over-read. */
		uint8_t *c = malloc(i ? i : 1);
		assert_non_null(c);
		memcpy(c, p, i);
		if (decode_rc(c, i) != VG_ERR_PROTOCOL)
			fail_msg("prefix of %zu/%zu bytes was not rejected", i, len);
		free(c);
	}
	free(p);
}

/* AVS SDK (hostile input): bytes after the message are refused. */
static void test_wire_decode_rejects_trailing_bytes(void **state)
{
	size_t len;
	uint8_t *p = sample_payload(&len), *q = malloc(len + 1);
	static const uint8_t two_msgs[] = {0x83, 0x01, 0x01, 0xa0, 0x83, 0x01, 0x01, 0xa0};

	(void)state;
	assert_non_null(q);
	memcpy(q, p, len);
	q[len] = 0x00;
	assert_int_equal(decode_rc(q, len + 1), VG_ERR_PROTOCOL);
	q[len] = 0xff; /* a stray break */
	assert_int_equal(decode_rc(q, len + 1), VG_ERR_PROTOCOL);
	assert_int_equal(decode_rc(two_msgs, 4), VG_OK);
	assert_int_equal(DECODE_RC(two_msgs), VG_ERR_PROTOCOL);
	free(p);
	free(q);
}

/* AVS SDK (hostile input): another protocol version is VG_ERR_UNSUPPORTED. */
static void test_wire_decode_rejects_wrong_version(void **state)
{
	static const uint8_t v0[] = {0x83, 0x00, 0x01, 0xa0};
	static const uint8_t v2[] = {0x83, 0x02, 0x01, 0xa0};
	static const uint8_t vbig[] = {0x83, 0x1b, 0, 0, 0, 1, 0, 0, 0, 1, 0x01, 0xa0};
	static const uint8_t v1[] = {0x83, 0x01, 0x01, 0xa0};

	(void)state;
	assert_int_equal(DECODE_RC(v1), VG_OK);
	assert_int_equal(DECODE_RC(v0), VG_ERR_UNSUPPORTED);
	assert_int_equal(DECODE_RC(v2), VG_ERR_UNSUPPORTED);
	assert_int_equal(DECODE_RC(vbig), VG_ERR_UNSUPPORTED);
}

/* AVS SDK (hostile input): the payload must be an array. */
static void test_wire_decode_rejects_not_array(void **state)
{
	static const uint8_t map[] = {0xa1, 0x01, 0x01};
	static const uint8_t uint[] = {0x01};
	static const uint8_t bytes[] = {0x43, 0x83, 0x01, 0x01};
	static const uint8_t text[] = {0x62, 'h', 'i'};
	static const uint8_t null[] = {0xf6};
	static const uint8_t tru[] = {0xf5};

	(void)state;
	assert_int_equal(DECODE_RC(map), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(uint), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(bytes), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(text), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(null), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(tru), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): exactly [uint, uint, map]. */
static void test_wire_decode_rejects_wrong_shape(void **state)
{
	static const uint8_t empty[] = {0x80};
	static const uint8_t two[] = {0x82, 0x01, 0x01};
	static const uint8_t four[] = {0x84, 0x01, 0x01, 0xa0, 0x00};
	static const uint8_t code_text[] = {0x83, 0x01, 0x61, 'x', 0xa0};
	static const uint8_t args_array[] = {0x83, 0x01, 0x01, 0x80};
	static const uint8_t args_uint[] = {0x83, 0x01, 0x01, 0x00};
	static const uint8_t version_text[] = {0x83, 0x61, '1', 0x01, 0xa0};

	(void)state;
	assert_int_equal(DECODE_RC(empty), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(two), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(four), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(code_text), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(args_array), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(args_uint), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(version_text), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): argument keys are unsigned integers only. */
static void test_wire_decode_rejects_non_uint_keys(void **state)
{
	static const uint8_t text_key[] = {0x83, 0x01, 0x01, 0xa1, 0x61, 'a', 0x01};
	static const uint8_t bytes_key[] = {0x83, 0x01, 0x01, 0xa1, 0x41, 0x01, 0x01};
	static const uint8_t array_key[] = {0x83, 0x01, 0x01, 0xa1, 0x81, 0x01, 0x01};
	static const uint8_t null_key[] = {0x83, 0x01, 0x01, 0xa1, 0xf6, 0x01};
	static const uint8_t neg_key[] = {0x83, 0x01, 0x01, 0xa1, 0x20, 0x01};
	/* One good key first: the bad one is not merely the first. */
	static const uint8_t second_bad[] = {0x83, 0x01, 0x01, 0xa2, 0x01, 0x01, 0xf4, 0x01};

	(void)state;
	assert_int_equal(DECODE_RC(text_key), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(bytes_key), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(array_key), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(null_key), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(neg_key), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(second_bad), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): a duplicate key is a protocol error, also when
 * the two keys are encoded with different widths, and in nested maps. */
static void test_wire_decode_rejects_duplicate_keys(void **state)
{
	static const uint8_t dup[] = {0x83, 0x01, 0x01, 0xa2, 0x01, 0x01, 0x01, 0x02};
	static const uint8_t dup_wide[] = {0x83, 0x01, 0x01, 0xa2, 0x01, 0x01,
					   0x1a, 0x00, 0x00, 0x00, 0x01, 0x02};
	static const uint8_t dup_far[] = {0x83, 0x01, 0x01, 0xa3, 0x01, 0x01,
					  0x02, 0x01, 0x18, 0x01, 0x02};
	/* {8: {1: 1, 1: 2}}: decodes, but the nested lookup refuses it. */
	static const uint8_t nested[] = {0x83, 0x01, 0x01, 0xa1, 0x08,
					 0xa2, 0x01, 0x01, 0x01, 0x02};
	vg_msg m;
	cbor_item_t *it, *got;

	(void)state;
	assert_int_equal(DECODE_RC(dup), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(dup_wide), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(dup_far), VG_ERR_PROTOCOL);
	assert_int_equal(vg_wire_decode(nested, sizeof nested, &m), VG_OK);
	assert_int_equal(vg_msg_item(&m, VG_A_LIST, &it), VG_OK);
	assert_int_equal(vg_map_get(it, 1, &got), VG_ERR_PROTOCOL);
	vg_msg_free(&m);
}

/* AVS SDK (hostile input): more than VG_WIRE_MAX_ARGS arguments. */
static void test_wire_decode_rejects_too_many_args(void **state)
{
	uint8_t buf[4 + 2 * (VG_WIRE_MAX_ARGS + 1) * 2];
	size_t n = 0;

	(void)state;
	buf[n++] = 0x83;
	buf[n++] = 0x01;
	buf[n++] = 0x01;
	buf[n++] = 0xb8;
	buf[n++] = VG_WIRE_MAX_ARGS + 1;
	for (unsigned i = 0; i <= VG_WIRE_MAX_ARGS; i++) {
		buf[n++] = 0x18;
		buf[n++] = (uint8_t)i;
		buf[n++] = 0x00;
	}
	assert_true(n <= sizeof buf);
	assert_int_equal(decode_rc(buf, n), VG_ERR_PROTOCOL);
	/* Exactly the maximum is fine. */
	buf[4] = VG_WIRE_MAX_ARGS;
	assert_int_equal(decode_rc(buf, n - 3), VG_OK);
}

/* AVS SDK (hostile input): indefinite-length strings, arrays and maps are
 * refused wherever they appear. */
static void test_wire_decode_rejects_indefinite_lengths(void **state)
{
	static const uint8_t ibytes[] = {0x83, 0x01, 0x01, 0xa1, 0x04, 0x5f, 0x41, 0x00, 0xff};
	static const uint8_t itext[] = {0x83, 0x01, 0x01, 0xa1, 0x01, 0x7f, 0x61, 'a', 0xff};
	static const uint8_t iarray[] = {0x83, 0x01, 0x01, 0xa1, 0x08, 0x9f, 0x01, 0xff};
	static const uint8_t imap[] = {0x83, 0x01, 0x01, 0xa1, 0x08, 0xbf, 0x01, 0x01, 0xff};
	static const uint8_t iroot[] = {0x9f, 0x01, 0x01, 0xa0, 0xff};
	static const uint8_t iargs[] = {0x83, 0x01, 0x01, 0xbf, 0x01, 0x01, 0xff};
	static const uint8_t empty_ibytes[] = {0x83, 0x01, 0x01, 0xa1, 0x04, 0x5f, 0xff};

	(void)state;
	assert_int_equal(DECODE_RC(ibytes), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(itext), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(iarray), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(imap), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(iroot), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(iargs), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(empty_ibytes), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): tags are not part of the format. */
static void test_wire_decode_rejects_tags(void **state)
{
	static const uint8_t tag_value[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xc1, 0x01};
	static const uint8_t tag_root[] = {0xd9, 0xd9, 0xf7, 0x83, 0x01, 0x01, 0xa0};
	static const uint8_t tag_key[] = {0x83, 0x01, 0x01, 0xa1, 0xc0, 0x01, 0x01};
	static const uint8_t bignum[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xc2, 0x41, 0x01};

	(void)state;
	assert_int_equal(DECODE_RC(tag_value), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(tag_root), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(tag_key), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(bignum), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): floats of every width are refused. */
static void test_wire_decode_rejects_floats(void **state)
{
	static const uint8_t f16[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xf9, 0x3c, 0x00};
	static const uint8_t f32[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xfa, 0x3f, 0x80, 0, 0};
	static const uint8_t f64[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xfb, 0x3f,
				      0xf0, 0,    0,    0,    0,    0,    0};
	static const uint8_t fcode[] = {0x83, 0x01, 0xf9, 0x3c, 0x00, 0xa0};

	(void)state;
	assert_int_equal(DECODE_RC(f16), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(f32), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(f64), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(fcode), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): negative integers are refused (as code, as
 * value, at every width). */
static void test_wire_decode_rejects_negative_ints(void **state)
{
	static const uint8_t ncode[] = {0x83, 0x01, 0x20, 0xa0};
	static const uint8_t nversion[] = {0x83, 0x20, 0x01, 0xa0};
	static const uint8_t n8[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0x38, 0x10};
	static const uint8_t n16[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0x39, 0x01, 0x00};
	static const uint8_t n32[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0x3a, 0, 0, 1, 0};
	static const uint8_t n64[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0x3b, 0, 0, 0, 0, 0, 0, 1, 0};

	(void)state;
	assert_int_equal(DECODE_RC(ncode), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(nversion), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(n8), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(n16), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(n32), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(n64), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): undefined, unassigned simple values and
 * reserved encodings are refused. */
static void test_wire_decode_rejects_other_simple_values(void **state)
{
	static const uint8_t undef[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xf7};
	static const uint8_t simple16[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xf0};
	static const uint8_t simple1b[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0xf8, 0x20};
	static const uint8_t reserved[] = {0x83, 0x01, 0x01, 0xa1, 0x02, 0x1c};
	static const uint8_t lone_break[] = {0xff};

	(void)state;
	assert_int_equal(DECODE_RC(undef), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(simple16), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(simple1b), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(reserved), VG_ERR_PROTOCOL);
	assert_int_equal(DECODE_RC(lone_break), VG_ERR_PROTOCOL);
}

/* [1, 1, {8: <k nested one-element arrays around 0>}]: depth 2 + k. */
static size_t nested_msg(uint8_t *buf, size_t k)
{
	size_t n = 0;

	buf[n++] = 0x83;
	buf[n++] = 0x01;
	buf[n++] = 0x01;
	buf[n++] = 0xa1;
	buf[n++] = 0x08;
	for (size_t i = 0; i < k; i++)
		buf[n++] = 0x81;
	buf[n++] = 0x00;
	return n;
}

/* AVS SDK (hostile input): nesting up to VG_WIRE_MAX_DEPTH containers is
 * accepted, one more is refused, and a very deep one fails cleanly (no
 * recursion on the attacker's depth). */
static void test_wire_decode_rejects_deep_nesting(void **state)
{
	uint8_t buf[10000 + 8];

	(void)state;
	assert_int_equal(decode_rc(buf, nested_msg(buf, VG_WIRE_MAX_DEPTH - 2)), VG_OK);
	assert_int_equal(decode_rc(buf, nested_msg(buf, VG_WIRE_MAX_DEPTH - 1)), VG_ERR_PROTOCOL);
	assert_int_equal(decode_rc(buf, nested_msg(buf, 10000)), VG_ERR_PROTOCOL);
	/* Maps count too: {8: {1: {1: {1: {1: 0}}}}} is depth 2 + 5. */
	{
		size_t n = 0;
		buf[n++] = 0x83, buf[n++] = 0x01, buf[n++] = 0x01, buf[n++] = 0xa1, buf[n++] = 0x08;
		for (int i = 0; i < 5; i++)
			buf[n++] = 0xa1, buf[n++] = 0x01;
		buf[n++] = 0x00;
		assert_int_equal(decode_rc(buf, n), VG_ERR_PROTOCOL);
	}
	/* The validator honours the caller's limit. */
	assert_int_equal(vg_cbor_validate(buf, nested_msg(buf, 3), 5), VG_OK);
	assert_int_equal(vg_cbor_validate(buf, nested_msg(buf, 3), 4), VG_ERR_PROTOCOL);
}

/* AVS SDK (hostile input): a header declaring 2^32 items (or bytes) in a
 * 10-byte message fails at once, without a large allocation. */
static void test_wire_decode_huge_declared_sizes_fail_fast(void **state)
{
	static const uint8_t arr[] = {0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0x01};
	static const uint8_t map[] = {0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x01};
	static const uint8_t bytes[] = {0x5b, 0, 0, 0, 1, 0, 0, 0, 0, 0x01};
	static const uint8_t text[] = {0x7b, 0, 0, 0, 1, 0, 0, 0, 0, 0x61};
	static const uint8_t max_arr[] = {0x9b, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t max_map[] = {0xbb, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0x01};
	/* Inside the args, where the outer container is already open. */
	static const uint8_t inner[] = {0x83, 0x01, 0x01, 0xa1, 0x08, 0x9a, 0xff, 0xff, 0xff, 0xff};
	/* Declares two more items than bytes remain. */
	static const uint8_t short_by_one[] = {0x83, 0x01, 0x01, 0xa1, 0x08, 0x83, 0x01, 0x01};
	const uint8_t *cases[] = {arr, map, bytes, text, max_arr, max_map, inner, short_by_one};
	const size_t lens[] = {sizeof arr,     sizeof map,     sizeof bytes, sizeof text,
			       sizeof max_arr, sizeof max_map, sizeof inner, sizeof short_by_one};
	uint64_t t0 = vg_mono_ms();

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		g_max_alloc = 0;
		assert_int_equal(decode_rc(cases[i], lens[i]), VG_ERR_PROTOCOL);
		if (g_hooks && g_max_alloc > 4096)
			fail_msg("case %zu allocated %zu bytes", i, g_max_alloc);
	}
	assert_true(vg_mono_ms() - t0 < 1000);
	if (!g_hooks)
		print_message("(no sanitizer allocation hooks: only the time was checked)\n");
}

/* AVS SDK (hostile input): a text argument with an embedded NUL cannot be
 * read as a C string (it would truncate a name). */
static void test_wire_text_with_embedded_nul(void **state)
{
	static const uint8_t msg[] = {0x83, 0x01, 0x01, 0xa1, 0x01, 0x63, 'a', 0x00, 'b'};
	static const uint8_t lead[] = {0x83, 0x01, 0x01, 0xa1, 0x01, 0x61, 0x00};
	vg_msg m;
	char out[16];

	(void)state;
	assert_int_equal(vg_wire_decode(msg, sizeof msg, &m), VG_OK);
	memset(out, 'x', sizeof out);
	assert_int_equal(vg_msg_text(&m, VG_A_NAME, out, sizeof out), VG_ERR_PROTOCOL);
	assert_string_equal(out, "");
	vg_msg_free(&m);
	assert_int_equal(vg_wire_decode(lead, sizeof lead, &m), VG_OK);
	assert_int_equal(vg_msg_text(&m, VG_A_NAME, out, sizeof out), VG_ERR_PROTOCOL);
	vg_msg_free(&m);
}

/* AVS SDK (hostile input): text that does not fit the caller's buffer
 * (with its NUL) is a protocol error, never truncated. */
static void test_wire_text_too_long_for_buffer(void **state)
{
	vg_msgb b;
	size_t len;
	uint8_t *p;
	vg_msg m;
	char out[8];

	(void)state;
	assert_int_equal(vg_msgb_init(&b), VG_OK);
	vg_msgb_text(&b, VG_A_NAME, "abcdefgh"); /* 8 chars */
	vg_msgb_text(&b, VG_A_ROLE, "abcdefg");  /* 7 chars */
	p = encode_payload(VG_OP_KEY_INFO, &b, &len);
	assert_int_equal(vg_wire_decode(p, len, &m), VG_OK);
	assert_int_equal(vg_msg_text(&m, VG_A_NAME, out, sizeof out), VG_ERR_PROTOCOL);
	assert_string_equal(out, "");
	assert_int_equal(vg_msg_text(&m, VG_A_ROLE, out, sizeof out), VG_OK);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(vg_msg_text(&m, VG_A_ROLE, out, 0), VG_ERR_PROTOCOL);
	vg_msg_free(&m);
	free(p);
}

/* ---- the in-place decoder and the builder's bytes ---- */

/* SFR 4.2.10: a message of uints and strings (most requests, every
 * signature) is read in place, with no item tree; the item-tree decoder
 * answers every getter the same for it. */
static void test_wire_flat_and_tree_agree(void **state)
{
	static const uint8_t dg[32] = {1, 2, 3};
	vg_msgb b;
	vg_msg f, t;
	uint8_t *p;
	size_t len;
	char name[32], n2[32];
	const uint8_t *d1, *d2;
	size_t l1, l2;
	uint64_t v1, v2;

	(void)state;
	assert_int_equal(vg_msgb_init(&b), VG_OK);
	vg_msgb_text(&b, VG_A_NAME, "tls");
	vg_msgb_text(&b, VG_A_DIGEST_ALG, "sha256");
	vg_msgb_bytes(&b, VG_A_DATA, dg, sizeof dg);
	vg_msgb_uint(&b, VG_A_OWNER, 1000);
	p = encode_payload(VG_OP_KEY_SIGN_DIGEST, &b, &len);
	assert_int_equal(vg_wire_decode(p, len, &f), VG_OK);
	assert_non_null(f.flat); /* in place */
	assert_null(f.root);
	assert_int_equal(vg_wire_decode_tree(p, len, &t), VG_OK);
	assert_non_null(t.root);
	assert_int_equal(f.code, VG_OP_KEY_SIGN_DIGEST);
	assert_int_equal(t.code, f.code);
	assert_int_equal(vg_msg_text(&f, VG_A_NAME, name, sizeof name), VG_OK);
	assert_int_equal(vg_msg_text(&t, VG_A_NAME, n2, sizeof n2), VG_OK);
	assert_string_equal(name, "tls");
	assert_string_equal(n2, name);
	assert_int_equal(vg_msg_bytes(&f, VG_A_DATA, &d1, &l1), VG_OK);
	assert_int_equal(vg_msg_bytes(&t, VG_A_DATA, &d2, &l2), VG_OK);
	assert_int_equal(l1, sizeof dg);
	assert_int_equal(l2, l1);
	assert_memory_equal(d1, dg, sizeof dg);
	assert_memory_equal(d2, dg, sizeof dg);
	assert_true(d1 < p || d1 >= p + len); /* its own copy, not the caller's */
	assert_int_equal(vg_msg_uint(&f, VG_A_OWNER, &v1), VG_OK);
	assert_int_equal(vg_msg_uint(&t, VG_A_OWNER, &v2), VG_OK);
	assert_int_equal(v1, 1000);
	assert_int_equal(v2, v1);
	/* Wrong types and absent keys: the same answers. */
	assert_int_equal(vg_msg_uint(&f, VG_A_NAME, &v1), VG_ERR_PROTOCOL);
	assert_int_equal(vg_msg_uint(&t, VG_A_NAME, &v2), VG_ERR_PROTOCOL);
	assert_int_equal(vg_msg_bytes(&f, VG_A_NAME, &d1, &l1), VG_ERR_PROTOCOL);
	assert_int_equal(vg_msg_bytes(&t, VG_A_NAME, &d2, &l2), VG_ERR_PROTOCOL);
	assert_int_equal(vg_msg_text(&f, VG_A_DATA, name, sizeof name), VG_ERR_PROTOCOL);
	assert_int_equal(vg_msg_text(&t, VG_A_DATA, n2, sizeof n2), VG_ERR_PROTOCOL);
	assert_int_equal(vg_msg_text(&f, VG_A_PEM, name, sizeof name), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_msg_text(&t, VG_A_PEM, n2, sizeof n2), VG_ERR_NOT_FOUND);
	assert_int_equal(vg_msg_text(&f, VG_A_DIGEST_ALG, name, 4), VG_ERR_PROTOCOL); /* too long */
	vg_msg_free(&f);
	vg_msg_free(&t);
	assert_null(f.flat);
	free(p);
}

/* A message with a list among its arguments is decoded into items, and
 * its scalars answer as before. */
static void test_wire_list_message_uses_items(void **state)
{
	uint8_t *p;
	size_t len;
	vg_msg m;
	cbor_item_t *list = NULL;
	char name[32];

	(void)state;
	p = sample_payload(&len);
	assert_int_equal(vg_wire_decode(p, len, &m), VG_OK);
	assert_null(m.flat);
	assert_non_null(m.root);
	assert_int_equal(vg_msg_item(&m, VG_A_LIST, &list), VG_OK);
	assert_true(cbor_isa_array(list));
	assert_int_equal(vg_msg_text(&m, VG_A_NAME, name, sizeof name), VG_OK);
	assert_string_equal(name, "door-key");
	vg_msg_free(&m);
	free(p);
}

/* The builder writes the shortest head for every number, so a request's
 * bytes are exactly these (version 1, the operation, the arguments in
 * the order they were added). */
static void test_wire_encode_shortest_form(void **state)
{
	static const uint8_t want[] = {
	    0x83, 0x01, 0x19, 0x01, 0x2c,                                     /* [1, 300, */
	    0xa5,                                                             /* {5 args: */
	    0x01, 0x17,                                                       /* 1: 23 */
	    0x02, 0x18, 0x18,                                                 /* 2: 24 */
	    0x03, 0x19, 0x01, 0x00,                                           /* 3: 256 */
	    0x04, 0x1a, 0x00, 0x01, 0x00, 0x00,                               /* 4: 65536 */
	    0x18, 0x20, 0x1b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* 32: 2^32 */
	};
	vg_msgb b;
	uint8_t *p;
	size_t len;
	vg_msg m;
	uint64_t v;

	(void)state;
	assert_int_equal(vg_msgb_init(&b), VG_OK);
	vg_msgb_uint(&b, 1, 23);
	vg_msgb_uint(&b, 2, 24);
	vg_msgb_uint(&b, 3, 256);
	vg_msgb_uint(&b, 4, 65536);
	vg_msgb_uint(&b, 32, 1ull << 32);
	p = encode_payload(300, &b, &len);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(p, want, sizeof want);
	assert_int_equal(vg_wire_decode(p, len, &m), VG_OK);
	assert_int_equal(vg_msg_uint(&m, 32, &v), VG_OK);
	assert_int_equal(v, 1ull << 32);
	vg_msg_free(&m);
	free(p);
}

/* AVS SDK (hostile input): text that is not UTF-8 is refused by either
 * decoder, as libcbor's item decoder always refused it; well-formed
 * multi-byte text is read whole. */
static void test_wire_text_must_be_utf8(void **state)
{
	/* [1, 1, {1: text}] with the text's bytes after the head. */
	static const uint8_t ok[] = {0x83, 0x01, 0x01, 0xa1, 0x01, 0x66,
				     0xc3, 0xa9, 0xe2, 0x82, 0xac, 'x'};
	static const uint8_t bad[][8] = {
	    {0x83, 0x01, 0x01, 0xa1, 0x01, 0x62, 0xc0, 0xaf}, /* overlong '/' */
	    {0x83, 0x01, 0x01, 0xa1, 0x01, 0x62, 0xa2, 0x41}, /* a lone continuation */
	    {0x83, 0x01, 0x01, 0xa1, 0x01, 0x62, 0xe2, 0x82}, /* cut short */
	    {0x83, 0x01, 0x01, 0xa1, 0x01, 0x62, 0xff, 0x41}, /* never in UTF-8 */
	};
	static const uint8_t surrogate[] = {0x83, 0x01, 0x01, 0xa1, 0x01, 0x63, 0xed, 0xa0, 0x80};
	vg_msg m, t;
	char out[16];

	(void)state;
	assert_int_equal(vg_wire_decode(ok, sizeof ok, &m), VG_OK);
	assert_int_equal(vg_msg_text(&m, 1, out, sizeof out), VG_OK);
	assert_string_equal(out, "\xc3\xa9\xe2\x82\xacx");
	vg_msg_free(&m);
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		assert_int_equal(vg_wire_decode(bad[i], sizeof bad[i], &m), VG_ERR_PROTOCOL);
		assert_int_equal(vg_wire_decode_tree(bad[i], sizeof bad[i], &t), VG_ERR_PROTOCOL);
	}
	assert_int_equal(vg_wire_decode(surrogate, sizeof surrogate, &m),
			 vg_wire_decode_tree(surrogate, sizeof surrogate, &t));
	assert_int_equal(vg_wire_decode(surrogate, sizeof surrogate, &m), VG_ERR_PROTOCOL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_roundtrip_every_arg_type),
	    cmocka_unit_test(test_wire_roundtrip_empty_args),
	    cmocka_unit_test(test_wire_encode_refuses_too_many_args),
	    cmocka_unit_test(test_wire_frame_len_limits),
	    cmocka_unit_test(test_wire_decode_rejects_oversized_payload),
	    cmocka_unit_test(test_wire_decode_rejects_empty),
	    cmocka_unit_test(test_wire_decode_rejects_every_truncation),
	    cmocka_unit_test(test_wire_decode_rejects_trailing_bytes),
	    cmocka_unit_test(test_wire_decode_rejects_wrong_version),
	    cmocka_unit_test(test_wire_decode_rejects_not_array),
	    cmocka_unit_test(test_wire_decode_rejects_wrong_shape),
	    cmocka_unit_test(test_wire_decode_rejects_non_uint_keys),
	    cmocka_unit_test(test_wire_decode_rejects_duplicate_keys),
	    cmocka_unit_test(test_wire_decode_rejects_too_many_args),
	    cmocka_unit_test(test_wire_decode_rejects_indefinite_lengths),
	    cmocka_unit_test(test_wire_decode_rejects_tags),
	    cmocka_unit_test(test_wire_decode_rejects_floats),
	    cmocka_unit_test(test_wire_decode_rejects_negative_ints),
	    cmocka_unit_test(test_wire_decode_rejects_other_simple_values),
	    cmocka_unit_test(test_wire_decode_rejects_deep_nesting),
	    cmocka_unit_test(test_wire_decode_huge_declared_sizes_fail_fast),
	    cmocka_unit_test(test_wire_text_with_embedded_nul),
	    cmocka_unit_test(test_wire_text_too_long_for_buffer),
	    cmocka_unit_test(test_wire_flat_and_tree_agree),
	    cmocka_unit_test(test_wire_list_message_uses_items),
	    cmocka_unit_test(test_wire_encode_shortest_form),
	    cmocka_unit_test(test_wire_text_must_be_utf8),
	};

	return cmocka_run_group_tests(tests, install_hooks, NULL);
}
