/*
 * fuzz_ipc.c - libFuzzer harness for the IPC decoder (SFR 4.2.10; AVS SDK:
 * treat outside input as hostile): arbitrary bytes as a request payload
 * through vg_wire_decode, then every typed accessor on the result (keys
 * 0..20, nested maps in lists); the same payload through the item-tree
 * decoder alone, which must accept and refuse alike and answer every
 * accessor the same (keys 0..40); and a rebuild round trip (a message we
 * accept, re-encoded by our own builder, must decode to the same code and
 * arguments). Seed corpus: fuzz/corpus/ipc/ (payloads, no frame header).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t n)
{
	/* Reads the first and last byte: ASan checks the span is real. */
	if (n)
		sink ^= p[0] ^ p[n - 1];
}

static void accessors(const vg_msg *m)
{
	for (unsigned k = 0; k <= 20; k++) {
		const uint8_t *p = NULL;
		size_t n = 0;
		char small[4], name[VG_MAX_NAME_LEN + 1];
		uint64_t v;
		cbor_item_t *it = NULL;
		vg_rc rb, rt;

		rb = vg_msg_bytes(m, k, &p, &n);
		if (rb == VG_OK)
			touch(p, n);
		else if (p || n)
			abort(); /* a failed getter hands nothing out */
		VG_IGNORE(vg_msg_text(m, k, small, sizeof small));
		if (memchr(small, 0, sizeof small) == NULL)
			abort();
		rt = vg_msg_text(m, k, name, sizeof name);
		if (rt == VG_OK && strlen(name) >= sizeof name)
			abort();
		if (rb == VG_OK && rt == VG_OK)
			abort(); /* one argument, one type */
		VG_IGNORE(vg_msg_uint(m, k, &v));
		if (vg_msg_item(m, k, &it) == VG_OK && it && cbor_isa_array(it)) {
			size_t cnt = cbor_array_size(it);
			cbor_item_t **el = cbor_array_handle(it);
			for (size_t i = 0; i < cnt && i < 64; i++)
				for (unsigned j = 0; j <= 20; j++) {
					cbor_item_t *x = NULL;
					if (vg_map_get(el[i], j, &x) == VG_OK && x &&
					    cbor_isa_string(x) && cbor_string_is_definite(x))
						touch(cbor_string_handle(x), cbor_string_length(x));
				}
		}
	}
}

/* Every accepted message, rebuilt with vg_msgb, decodes again to the same
 * code and the same number of arguments. */
static void rebuild(const vg_msg *m)
{
	vg_msgb b;
	size_t n = cbor_map_size(m->args), len = 0, kept = 0;
	struct cbor_pair *pairs = cbor_map_handle(m->args);
	uint8_t *frame = NULL;
	size_t plen = 0;
	vg_msg again;

	if (vg_msgb_init(&b) != VG_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = cbor_get_int(pairs[i].key);
		if (k > UINT32_MAX)
			continue;
		vg_msgb_item(&b, (unsigned)k, cbor_incref(pairs[i].value));
		kept++;
	}
	if (vg_wire_encode(m->code, &b, &frame, &len) != VG_OK)
		return; /* builder frees b */
	if (vg_wire_frame_len(frame, &plen) != VG_OK || plen != len - VG_WIRE_HDR_LEN)
		abort();
	if (vg_wire_decode(frame + VG_WIRE_HDR_LEN, plen, &again) != VG_OK)
		abort(); /* what we encode, we must decode */
	if (again.code != m->code || (again.flat ? again.n : cbor_map_size(again.args)) != kept)
		abort();
	vg_msg_free(&again);
	free(frame);
}

/* The in-place decoder and the item tree agree on every argument. */
static void same(const vg_msg *a, const vg_msg *b)
{
	if (a->code != b->code)
		abort();
	for (unsigned k = 0; k <= 40; k++) {
		const uint8_t *pa = NULL, *pb = NULL;
		size_t na = 0, nb = 0;
		char ta[VG_MAX_NAME_LEN + 1], tb[VG_MAX_NAME_LEN + 1];
		uint64_t va = 0, vb = 0;
		cbor_item_t *ia = NULL, *ib = NULL;
		vg_rc ra = vg_msg_bytes(a, k, &pa, &na), rb = vg_msg_bytes(b, k, &pb, &nb);

		if (ra != rb || na != nb || (ra == VG_OK && na && memcmp(pa, pb, na) != 0))
			abort();
		ra = vg_msg_text(a, k, ta, sizeof ta);
		rb = vg_msg_text(b, k, tb, sizeof tb);
		if (ra != rb || strcmp(ta, tb) != 0)
			abort();
		ra = vg_msg_uint(a, k, &va);
		rb = vg_msg_uint(b, k, &vb);
		if (ra != rb || va != vb)
			abort();
		/* A container is an item either way; a scalar asked for as one
		 * fails either way (callers want lists). */
		ra = vg_msg_item(a, k, &ia);
		rb = vg_msg_item(b, k, &ib);
		if ((ra == VG_ERR_NOT_FOUND) != (rb == VG_ERR_NOT_FOUND))
			abort();
		if ((ra == VG_OK && ia && (cbor_isa_array(ia) || cbor_isa_map(ia))) !=
		    (rb == VG_OK && ib && (cbor_isa_array(ib) || cbor_isa_map(ib))))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_msg m, t;
	size_t flen;
	vg_rc rc, rt;

	if (size >= VG_WIRE_HDR_LEN)
		VG_IGNORE(vg_wire_frame_len(data, &flen));
	VG_IGNORE(vg_cbor_validate(data, size, 3));
	rc = vg_wire_decode(data, size, &m);
	rt = vg_wire_decode_tree(data, size, &t);
	if (rc != rt)
		abort(); /* both decoders accept and refuse alike */
	if (rc != VG_OK) {
		if (m.root || m.args || m.flat || t.root || t.args)
			abort(); /* a failed decode hands nothing out */
		return 0;
	}
	same(&m, &t);
	accessors(&m);
	rebuild(&t);
	vg_msg_free(&m);
	vg_msg_free(&t);
	return 0;
}
