/* wire.c - see wire.h */
#include "proto/wire.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* ---- strict pre-validation on libcbor's streaming decoder ---- */

enum item_kind { K_NONE, K_SCALAR, K_CONTAINER, K_TAG, K_BAD };

struct head {
	enum item_kind kind;
	unsigned flags;  /* VG_CBOR_ALLOW_* */
	size_t children; /* slots a container opens (2 per map entry) */
};

static void on_scalar8(void *c, uint8_t v)
{
	(void)v;
	((struct head *)c)->kind = K_SCALAR;
}
static void on_scalar16(void *c, uint16_t v)
{
	(void)v;
	((struct head *)c)->kind = K_SCALAR;
}
static void on_scalar32(void *c, uint32_t v)
{
	(void)v;
	((struct head *)c)->kind = K_SCALAR;
}
static void on_scalar64(void *c, uint64_t v)
{
	(void)v;
	((struct head *)c)->kind = K_SCALAR;
}
static void on_negint(struct head *h)
{
	h->kind = (h->flags & VG_CBOR_ALLOW_NEGATIVE) ? K_SCALAR : K_BAD;
}
static void on_neg8(void *c, uint8_t v)
{
	(void)v;
	on_negint(c);
}
static void on_neg16(void *c, uint16_t v)
{
	(void)v;
	on_negint(c);
}
static void on_neg32(void *c, uint32_t v)
{
	(void)v;
	on_negint(c);
}
static void on_neg64(void *c, uint64_t v)
{
	(void)v;
	on_negint(c);
}
static void on_tag(void *c, uint64_t v)
{
	struct head *h = c;

	(void)v;
	h->kind = (h->flags & VG_CBOR_ALLOW_TAGS) ? K_TAG : K_BAD;
}
static void on_string(void *c, cbor_data d, uint64_t n)
{
	(void)d;
	(void)n;
	((struct head *)c)->kind = K_SCALAR;
}
static void on_bool(void *c, bool v)
{
	(void)v;
	((struct head *)c)->kind = K_SCALAR;
}
static void on_null(void *c)
{
	((struct head *)c)->kind = K_SCALAR;
}
static void on_bad(void *c)
{
	((struct head *)c)->kind = K_BAD;
}
static void on_badf(void *c, float v)
{
	(void)v;
	((struct head *)c)->kind = K_BAD;
}
static void on_badd(void *c, double v)
{
	(void)v;
	((struct head *)c)->kind = K_BAD;
}
static void on_array(void *c, uint64_t n)
{
	struct head *h = c;
	h->kind = K_CONTAINER;
	h->children = n > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)n;
}
static void on_map(void *c, uint64_t n)
{
	struct head *h = c;
	h->kind = K_CONTAINER;
	h->children = n > SIZE_MAX / 4 ? SIZE_MAX / 2 : (size_t)n * 2;
}

static const struct cbor_callbacks validate_cb = {
    .uint8 = on_scalar8,
    .uint16 = on_scalar16,
    .uint32 = on_scalar32,
    .uint64 = on_scalar64,
    /* Negative integers and tags only where the caller's format has them
     * (COSE); the voxguard formats use neither. */
    .negint8 = on_neg8,
    .negint16 = on_neg16,
    .negint32 = on_neg32,
    .negint64 = on_neg64,
    .byte_string_start = on_bad, /* indefinite */
    .byte_string = on_string,
    .string = on_string,
    .string_start = on_bad,
    .indef_array_start = on_bad,
    .array_start = on_array,
    .indef_map_start = on_bad,
    .map_start = on_map,
    .tag = on_tag,
    .float2 = on_badf,
    .float4 = on_badf,
    .float8 = on_badd,
    .undefined = on_bad,
    .null = on_null,
    .boolean = on_bool,
    .indef_break = on_bad,
};

vg_rc vg_cbor_validate(const uint8_t *buf, size_t len, unsigned max_depth)
{
	return vg_cbor_validate_ex(buf, len, max_depth, 0);
}

vg_rc vg_cbor_validate_ex(const uint8_t *buf, size_t len, unsigned max_depth, unsigned flags)
{
	size_t stack[16];
	unsigned depth = 0;
	size_t open_slots = 0, off = 0;
	bool done = false;

	if (max_depth > VG_ARRAY_LEN(stack))
		max_depth = VG_ARRAY_LEN(stack);
	if (!buf || len == 0 || (flags & ~(unsigned)(VG_CBOR_ALLOW_NEGATIVE | VG_CBOR_ALLOW_TAGS)))
		return VG_ERR_PROTOCOL;
	while (off < len) {
		struct head h = {K_NONE, flags, 0};
		struct cbor_decoder_result r;

		if (done)
			return VG_ERR_PROTOCOL; /* trailing bytes */
		r = cbor_stream_decode(buf + off, len - off, &validate_cb, &h);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || h.kind == K_NONE ||
		    h.kind == K_BAD)
			return VG_ERR_PROTOCOL;
		off += r.read;
		/* A tag is a prefix: the item after it fills the slot. A tag at
		 * the very end leaves `done` false, so it is rejected below. */
		if (h.kind == K_TAG)
			continue;
		/* This item fills one slot of the innermost open container. */
		if (depth > 0) {
			stack[depth - 1]--;
			open_slots--;
		}
		if (h.kind == K_CONTAINER && h.children > 0) {
			if (depth >= max_depth)
				return VG_ERR_PROTOCOL;
			/* Each open slot needs at least one more byte. */
			if (h.children > len - off || open_slots + h.children > len - off)
				return VG_ERR_PROTOCOL;
			stack[depth++] = h.children;
			open_slots += h.children;
		}
		while (depth > 0 && stack[depth - 1] == 0)
			depth--;
		if (depth == 0)
			done = true;
	}
	return done ? VG_OK : VG_ERR_PROTOCOL;
}

vg_rc vg_wire_frame_len(const uint8_t hdr[static VG_WIRE_HDR_LEN], size_t *len)
{
	uint32_t n =
	    (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];

	*len = n;
	if (n == 0)
		return VG_ERR_PROTOCOL;
	return n > VG_WIRE_MAX_MSG ? VG_ERR_TOO_LARGE : VG_OK;
}

static bool map_keys_ok(const cbor_item_t *map)
{
	size_t n = cbor_map_size(map);
	struct cbor_pair *p = cbor_map_handle(map);

	if (n > VG_WIRE_MAX_ARGS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_uint(p[i].key))
			return false;
		for (size_t j = 0; j < i; j++)
			if (cbor_get_int(p[j].key) == cbor_get_int(p[i].key))
				return false;
	}
	return true;
}

/* One CBOR head at *off of a validated buffer: its major type and value. */
static bool head_at(const uint8_t *b, size_t len, size_t *off, unsigned *major, uint64_t *val)
{
	uint8_t ib;
	unsigned ai, n;
	uint64_t v;

	if (*off >= len)
		return false;
	ib = b[(*off)++];
	*major = ib >> 5;
	ai = ib & 31u;
	n = ai < 24 ? 0 : ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 9;
	if (n > 8 || len - *off < n)
		return false;
	v = ai < 24 ? ai : 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | b[(*off)++];
	*val = v;
	return true;
}

enum flat { FLAT_OK, FLAT_OTHER, FLAT_BAD, FLAT_NOMEM };

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), as libcbor's item decoder demands of a text string. */
static bool utf8_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t k;
		uint8_t lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return false;
		if (n - i - 1 < k || p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (size_t j = 2; j <= k; j++)
			if (p[i + j] < 0x80 || p[i + j] > 0xbf)
				return false;
		i += k + 1;
	}
	return true;
}

/* The common message, [version, code, {uint: uint|bytes|text}], read in
 * place from a buffer vg_cbor_validate() accepted (so every head and
 * length is whole): FLAT_OK decoded into out (the payload copied, the
 * arguments a table into the copy); FLAT_OTHER another shape, for the
 * item tree (an argument that is a container, a bool, a null: the tree
 * decoder decides, and so another version); FLAT_BAD a refusal the
 * tree decoder would make too (a key that is not a uint, a duplicate key,
 * too many arguments). */
static enum flat decode_flat(const uint8_t *buf, size_t len, vg_msg *out)
{
	size_t off = 0;
	unsigned major;
	uint64_t v, ver, code, n;

	if (!head_at(buf, len, &off, &major, &v) || major != 4 || v != 3 ||
	    !head_at(buf, len, &off, &major, &ver) || major != 0 ||
	    !head_at(buf, len, &off, &major, &code) || major != 0 ||
	    !head_at(buf, len, &off, &major, &n) || major != 5)
		return FLAT_OTHER;
	if (ver != VG_WIRE_VERSION)
		return FLAT_OTHER; /* the item tree decides what to say */
	if (n > VG_WIRE_MAX_ARGS)
		return FLAT_BAD;
	for (uint64_t i = 0; i < n; i++) {
		vg_msg_arg *a = &out->a[i];
		if (!head_at(buf, len, &off, &major, &a->key))
			return FLAT_OTHER;
		if (major != 0)
			return FLAT_BAD; /* a key that is not a uint */
		for (uint64_t j = 0; j < i; j++)
			if (out->a[j].key == a->key)
				return FLAT_BAD; /* duplicate */
		if (!head_at(buf, len, &off, &major, &a->val))
			return FLAT_OTHER;
		a->major = (uint8_t)major;
		if (major == 2 || major == 3) {
			if (a->val > len - off)
				return FLAT_OTHER;
			if (major == 3 && !utf8_ok(buf + off, (size_t)a->val))
				return FLAT_OTHER; /* the item tree refuses it */
			a->off = (uint32_t)off;
			off += (size_t)a->val;
		} else if (major != 0)
			return FLAT_OTHER;
	}
	if (off != len)
		return FLAT_OTHER;
	out->flat = malloc(len);
	if (!out->flat)
		return FLAT_NOMEM;
	memcpy(out->flat, buf, len);
	out->flat_len = len;
	out->n = (unsigned)n;
	out->code = code;
	return FLAT_OK;
}

vg_rc vg_wire_decode(const uint8_t *buf, size_t len, vg_msg *out)
{
	vg_rc rc;

	memset(out, 0, sizeof *out);
	if (len > VG_WIRE_MAX_MSG)
		return VG_ERR_TOO_LARGE;
	rc = vg_cbor_validate(buf, len, VG_WIRE_MAX_DEPTH);
	if (rc != VG_OK)
		return rc;
	switch (decode_flat(buf, len, out)) {
	case FLAT_OK:
		return VG_OK;
	case FLAT_BAD:
		memset(out, 0, sizeof *out);
		return VG_ERR_PROTOCOL;
	case FLAT_NOMEM:
		memset(out, 0, sizeof *out);
		return VG_ERR_NOMEM;
	case FLAT_OTHER:
		memset(out, 0, sizeof *out);
		break;
	}
	return vg_wire_decode_tree(buf, len, out);
}

vg_rc vg_wire_decode_tree(const uint8_t *buf, size_t len, vg_msg *out)
{
	struct cbor_load_result res;
	cbor_item_t *root, **items;
	vg_rc rc;

	memset(out, 0, sizeof *out);
	if (len > VG_WIRE_MAX_MSG)
		return VG_ERR_TOO_LARGE;
	rc = vg_cbor_validate(buf, len, VG_WIRE_MAX_DEPTH);
	if (rc != VG_OK)
		return rc;
	root = cbor_load(buf, len, &res);
	if (!root)
		return res.error.code == CBOR_ERR_MEMERROR ? VG_ERR_NOMEM : VG_ERR_PROTOCOL;
	if (res.read != len || !cbor_isa_array(root) || cbor_array_size(root) != 3)
		goto bad;
	items = cbor_array_handle(root);
	if (!cbor_isa_uint(items[0]) || !cbor_isa_uint(items[1]) || !cbor_isa_map(items[2]))
		goto bad;
	if (cbor_get_int(items[0]) != VG_WIRE_VERSION) {
		cbor_decref(&root);
		return VG_ERR_UNSUPPORTED;
	}
	if (!map_keys_ok(items[2]))
		goto bad;
	out->code = cbor_get_int(items[1]);
	out->root = root;
	out->args = items[2];
	return VG_OK;
bad:
	cbor_decref(&root);
	return VG_ERR_PROTOCOL;
}

void vg_msg_free(vg_msg *m)
{
	if (m && m->root)
		cbor_decref(&m->root);
	if (m && m->flat)
		vg_free(m->flat, m->flat_len);
	if (m)
		memset(m, 0, sizeof *m);
}

static const vg_msg_arg *flat_get(const vg_msg *m, unsigned key)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->a[i].key == key)
			return &m->a[i];
	return NULL;
}

/* The in-place argument key of CBOR major type major, as the getters
 * answer: absent VG_ERR_NOT_FOUND, another type VG_ERR_PROTOCOL. */
static vg_rc flat_typed(const vg_msg *m, unsigned key, unsigned major, const vg_msg_arg **a)
{
	*a = flat_get(m, key);
	if (!*a)
		return VG_ERR_NOT_FOUND;
	return (*a)->major == major ? VG_OK : VG_ERR_PROTOCOL;
}

vg_rc vg_map_get(const cbor_item_t *map, unsigned key, cbor_item_t **item)
{
	size_t n;
	struct cbor_pair *p;

	*item = NULL;
	if (!map || !cbor_isa_map(map))
		return VG_ERR_PROTOCOL;
	n = cbor_map_size(map);
	p = cbor_map_handle(map);
	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_uint(p[i].key))
			return VG_ERR_PROTOCOL;
		if (cbor_get_int(p[i].key) == key) {
			if (*item)
				return VG_ERR_PROTOCOL; /* duplicate */
			*item = p[i].value;
		}
	}
	return *item ? VG_OK : VG_ERR_NOT_FOUND;
}

vg_rc vg_msg_item(const vg_msg *m, unsigned key, cbor_item_t **item)
{
	if (m->flat) {
		/* Only containers are asked for as items; this message has none. */
		*item = NULL;
		return flat_get(m, key) ? VG_ERR_PROTOCOL : VG_ERR_NOT_FOUND;
	}
	return vg_map_get(m->args, key, item);
}

vg_rc vg_msg_bytes(const vg_msg *m, unsigned key, const uint8_t **p, size_t *len)
{
	cbor_item_t *it;
	vg_rc rc;

	*p = NULL;
	*len = 0;
	if (m->flat) {
		const vg_msg_arg *a;
		if ((rc = flat_typed(m, key, 2, &a)) != VG_OK)
			return rc;
		*p = m->flat + a->off;
		*len = (size_t)a->val;
		return VG_OK;
	}
	rc = vg_map_get(m->args, key, &it);
	if (rc != VG_OK)
		return rc;
	if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return VG_ERR_PROTOCOL;
	*p = cbor_bytestring_handle(it);
	*len = cbor_bytestring_length(it);
	return VG_OK;
}

vg_rc vg_msg_text(const vg_msg *m, unsigned key, char *out, size_t cap)
{
	cbor_item_t *it;
	const uint8_t *src;
	vg_rc rc;
	size_t n;

	if (cap)
		out[0] = '\0';
	if (m->flat) {
		const vg_msg_arg *a;
		if ((rc = flat_typed(m, key, 3, &a)) != VG_OK)
			return rc;
		src = m->flat + a->off;
		n = (size_t)a->val;
	} else {
		rc = vg_map_get(m->args, key, &it);
		if (rc != VG_OK)
			return rc;
		if (!cbor_isa_string(it) || !cbor_string_is_definite(it))
			return VG_ERR_PROTOCOL;
		src = cbor_string_handle(it);
		n = cbor_string_length(it);
	}
	if (n >= cap || memchr(src, 0, n))
		return VG_ERR_PROTOCOL;
	memcpy(out, src, n);
	out[n] = '\0';
	return VG_OK;
}

vg_rc vg_msg_uint(const vg_msg *m, unsigned key, uint64_t *v)
{
	cbor_item_t *it;
	vg_rc rc;

	*v = 0;
	if (m->flat) {
		const vg_msg_arg *a;
		if ((rc = flat_typed(m, key, 0, &a)) != VG_OK)
			return rc;
		*v = a->val;
		return VG_OK;
	}
	rc = vg_map_get(m->args, key, &it);
	if (rc != VG_OK)
		return rc;
	if (!cbor_isa_uint(it))
		return VG_ERR_PROTOCOL;
	*v = cbor_get_int(it);
	return VG_OK;
}

/* ---- building ---- */

/* Zeroes every byte and text string in item, depth-first: a message may
 * carry a secret (a record value, a KEM shared secret, a password) in
 * memory libcbor frees without wiping. */
static void wipe_strings(cbor_item_t *item, unsigned depth)
{
	if (!item || depth > VG_WIRE_MAX_DEPTH)
		return;
	if (cbor_isa_bytestring(item) && cbor_bytestring_is_definite(item)) {
		if (cbor_bytestring_handle(item))
			vg_wipe(cbor_bytestring_handle(item), cbor_bytestring_length(item));
	} else if (cbor_isa_string(item) && cbor_string_is_definite(item)) {
		if (cbor_string_handle(item))
			vg_wipe(cbor_string_handle(item), cbor_string_length(item));
	} else if (cbor_isa_array(item)) {
		for (size_t i = 0; i < cbor_array_size(item); i++)
			wipe_strings(cbor_array_handle(item)[i], depth + 1);
	} else if (cbor_isa_map(item)) {
		struct cbor_pair *pairs = cbor_map_handle(item);
		for (size_t i = 0; i < cbor_map_size(item); i++)
			wipe_strings(pairs[i].value, depth + 1);
	}
}

vg_rc vg_msgb_init(vg_msgb *b)
{
	memset(b, 0, sizeof *b);
	b->cap = 256;
	b->buf = malloc(b->cap);
	return b->buf ? VG_OK : VG_ERR_NOMEM;
}

static void put_bytes(vg_msgb *b, const void *p, size_t n)
{
	if (b->failed || b->big)
		return;
	if (n > VG_WIRE_MAX_MSG || b->len + n > VG_WIRE_MAX_MSG + 64) {
		b->big = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t ncap = b->cap * 2;
		uint8_t *nb;
		while (ncap < b->len + n)
			ncap *= 2;
		nb = malloc(ncap);
		if (!nb) {
			b->failed = true;
			return;
		}
		memcpy(nb, b->buf, b->len);
		vg_free(b->buf, b->cap);
		b->buf = nb;
		b->cap = ncap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

/* A CBOR head, major type and value, in its shortest form into h (9
 * bytes at most); returns its length. */
static size_t head_into(uint8_t h[static 9], unsigned major, uint64_t v)
{
	unsigned n = v < 24 ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;

	h[0] = (uint8_t)(major << 5 | (n == 0 ? v : n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
	for (unsigned i = 0; i < n; i++)
		h[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return 1 + n;
}

static void put_head(vg_msgb *b, unsigned major, uint64_t v)
{
	uint8_t h[9];

	put_bytes(b, h, head_into(h, major, v));
}

static bool next_arg(vg_msgb *b, unsigned key)
{
	if (b->failed || !b->buf || b->n >= VG_WIRE_MAX_ARGS) {
		b->failed = true;
		return false;
	}
	b->n++;
	put_head(b, 0, key);
	return true;
}

void vg_msgb_item(vg_msgb *b, unsigned key, cbor_item_t *item)
{
	unsigned char *ser = NULL;
	size_t cap = 0, n;

	if (!item) {
		b->failed = true;
		return;
	}
	if (next_arg(b, key)) {
		n = cbor_serialize_alloc(item, &ser, &cap);
		if (n == 0)
			b->failed = true;
		else
			put_bytes(b, ser, n);
	}
	if (ser) {
		vg_wipe(ser, cap);
		free(ser);
	}
	if (cbor_refcount(item) == 1)
		wipe_strings(item, 0);
	cbor_decref(&item);
}

void vg_msgb_uint(vg_msgb *b, unsigned key, uint64_t v)
{
	if (next_arg(b, key))
		put_head(b, 0, v);
}

void vg_msgb_bytes(vg_msgb *b, unsigned key, const uint8_t *p, size_t len)
{
	if (next_arg(b, key)) {
		put_head(b, 2, len);
		if (len)
			put_bytes(b, p, len);
	}
}

void vg_msgb_text(vg_msgb *b, unsigned key, const char *s)
{
	size_t len = strlen(s);

	if (next_arg(b, key)) {
		put_head(b, 3, len);
		put_bytes(b, s, len);
	}
}

void vg_map_add_uint(cbor_item_t *map, unsigned key, uint64_t v, bool *failed)
{
	cbor_item_t *k = cbor_build_uint64(key), *val = cbor_build_uint64(v);

	if (!k || !val || !cbor_map_add(map, (struct cbor_pair){.key = k, .value = val}))
		*failed = true;
	if (k)
		cbor_decref(&k);
	if (val)
		cbor_decref(&val);
}

void vg_map_add_text(cbor_item_t *map, unsigned key, const char *s, bool *failed)
{
	cbor_item_t *k = cbor_build_uint64(key), *val = cbor_build_stringn(s, strlen(s));

	if (!k || !val || !cbor_map_add(map, (struct cbor_pair){.key = k, .value = val}))
		*failed = true;
	if (k)
		cbor_decref(&k);
	if (val)
		cbor_decref(&val);
}

void vg_msgb_free(vg_msgb *b)
{
	if (b && b->buf)
		vg_free(b->buf, b->cap); /* may hold a secret: wiped */
	if (b)
		memset(b, 0, sizeof *b);
}

vg_rc vg_wire_encode(uint64_t code, vg_msgb *b, uint8_t **out, size_t *len)
{
	uint8_t hb[4 * 9];
	size_t hl = 0, n;
	uint8_t *frame;
	vg_rc rc = VG_ERR_NOMEM;

	*out = NULL;
	*len = 0;
	if (b->failed || !b->buf)
		goto out;
	if (b->big) {
		rc = VG_ERR_TOO_LARGE;
		goto out;
	}
	/* [version, code, {the arguments}] */
	hl += head_into(hb + hl, 4, 3);
	hl += head_into(hb + hl, 0, VG_WIRE_VERSION);
	hl += head_into(hb + hl, 0, code);
	hl += head_into(hb + hl, 5, b->n);
	n = hl + b->len;
	if (n > VG_WIRE_MAX_MSG) {
		rc = VG_ERR_TOO_LARGE;
		goto out;
	}
	frame = malloc(VG_WIRE_HDR_LEN + n);
	if (!frame)
		goto out;
	frame[0] = (uint8_t)(n >> 24);
	frame[1] = (uint8_t)(n >> 16);
	frame[2] = (uint8_t)(n >> 8);
	frame[3] = (uint8_t)n;
	memcpy(frame + VG_WIRE_HDR_LEN, hb, hl);
	memcpy(frame + VG_WIRE_HDR_LEN + hl, b->buf, b->len);
	*out = frame;
	*len = VG_WIRE_HDR_LEN + n;
	rc = VG_OK;
out:
	vg_msgb_free(b);
	return rc;
}
