/* audit_export.c - see audit_export.h; the format is in docs/AUDIT.md */
#include "audit/audit_export.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "crypto/seal.h"
#include "proto/cborw.h"
#include "proto/wire.h"

/* Domain-separation labels; each is used with its terminating NUL. */
static const char mac_label[] = "voxguard-audit-mac-v1";
static const char evolve_label[] = "voxguard-audit-evolve-v1";
static const char cp_label[] = "voxguard-audit-checkpoint-v1";
static const char drops_label[] = "voxguard-audit-drops-v1";

#define REC_STORED_FIELDS 11u
#define REC_EXPORT_FIELDS 12u
#define CP_FIELDS         6u
#define EXPORT_FIELDS     7u /* version 1: one array */
#define HEADER_FIELDS     6u /* version 2: the header item of the sequence */
#define DROPS_FIELDS      8u
/* Smallest possible encodings, to bound array sizes before allocating. */
#define REC_MIN_BYTES 80u
#define CP_MIN_BYTES  40u
/* top array -> records/checkpoints array -> record/checkpoint */
#define EXPORT_MAX_DEPTH 3u
/* header -> drops -> runs -> run */
#define HEADER_MAX_DEPTH 4u

struct vg_audit_log {
	uint8_t log_id[VG_AUDIT_LOG_ID_LEN];
	uint8_t *pub;
	size_t pub_len;
	unsigned version;
	bool has_anchor;
	vg_audit_cp anchor;
	bool has_drops;
	vg_audit_drops drops;
	vg_audit_record *recs;
	size_t n_recs, rec_cap;
	vg_audit_cp *cps;
	size_t n_cps, cp_cap;
};

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---- field checks ---- */

bool vg_audit_name_valid(const char *s, size_t len, size_t max)
{
	if (!s || len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

size_t vg_audit_utf8_char(const uint8_t *s, size_t len)
{
	uint32_t cp;
	size_t n;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) /* ASCII: no C0 controls, no DEL */
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates, beyond Unicode, and the C1 controls
	 * (terminal escapes) are all refused. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

bool vg_audit_detail_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t off = 0;

	if (!s || len > VG_AUDIT_DETAIL_MAX)
		return false;
	while (off < len) {
		size_t n = vg_audit_utf8_char(p + off, len - off);
		if (n == 0)
			return false;
		off += n;
	}
	return true;
}

/* ---- canonical encodings (proto/cborw.h) ---- */

enum rec_form { FORM_BODY = 10, FORM_STORED = 11, FORM_EXPORT = 12 };

static void enc_record(vg_cborw *e, const vg_audit_record *r, enum rec_form form)
{
	vg_cborw_head(e, cbor_encode_array_start, (size_t)form);
	vg_cborw_uint(e, r->seq);
	vg_cborw_uint(e, r->time);
	vg_cborw_bool(e, r->clock_synced);
	vg_cborw_text(e, r->type);
	vg_cborw_text(e, r->outcome);
	if (r->detail)
		vg_cborw_text(e, r->detail);
	else
		vg_cborw_null(e);
	vg_cborw_uint(e, r->uid);
	vg_cborw_uint(e, r->gid);
	/* CBOR negative integers are outside every voxguard format: the pid
	 * travels as its 32-bit two's complement. */
	vg_cborw_uint(e, (uint32_t)r->pid);
	vg_cborw_text(e, r->role);
	if (form >= FORM_STORED)
		vg_cborw_bytes(e, r->mac, VG_AUDIT_MAC_LEN);
	if (form == FORM_EXPORT)
		vg_cborw_bytes(e, r->hash, VG_AUDIT_HASH_LEN);
}

static bool record_fields_ok(const vg_audit_record *r)
{
	return r->seq <= VG_AUDIT_SEQ_MAX && r->type &&
	       vg_audit_name_valid(r->type, strlen(r->type), VG_AUDIT_TYPE_MAX) && r->outcome &&
	       vg_audit_name_valid(r->outcome, strlen(r->outcome), VG_AUDIT_OUTCOME_MAX) &&
	       r->role && vg_audit_name_valid(r->role, strlen(r->role), VG_AUDIT_ROLE_MAX) &&
	       (!r->detail || vg_audit_detail_valid(r->detail, strlen(r->detail)));
}

static void enc_checkpoint(vg_cborw *e, const vg_audit_cp *cp)
{
	vg_cborw_head(e, cbor_encode_array_start, CP_FIELDS);
	vg_cborw_uint(e, cp->kind);
	vg_cborw_uint(e, cp->next_seq);
	vg_cborw_bytes(e, cp->head, VG_AUDIT_HASH_LEN);
	vg_cborw_uint(e, cp->time);
	vg_cborw_bool(e, cp->clock_synced);
	vg_cborw_bytes(e, cp->sig, cp->sig_len);
}

static bool checkpoint_fields_ok(const vg_audit_cp *cp)
{
	return cp->kind >= VG_AUDIT_CP_PERIODIC && cp->kind <= VG_AUDIT_CP_SEAL &&
	       cp->next_seq <= VG_AUDIT_SEQ_MAX && cp->sig && cp->sig_len > 0 &&
	       cp->sig_len <= VG_AUDIT_SIG_MAX;
}

vg_rc vg_audit_record_encode(const vg_audit_record *r, uint8_t **out, size_t *len)
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};

	*out = NULL;
	*len = 0;
	if (!record_fields_ok(r))
		return VG_ERR_INVALID;
	enc_record(&e, r, FORM_STORED);
	return vg_cborw_finish(&e, out, len);
}

vg_rc vg_audit_record_mac(const uint8_t key[static 32], const uint8_t prev[static 32],
			  const vg_audit_record *r, uint8_t mac[static 32])
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};
	vg_rc rc;

	if (!record_fields_ok(r))
		return VG_ERR_INVALID;
	vg_cborw_raw(&e, mac_label, sizeof mac_label);
	vg_cborw_raw(&e, prev, VG_AUDIT_HASH_LEN);
	enc_record(&e, r, FORM_BODY);
	if (e.failed) {
		free(e.p);
		return e.too_large ? VG_ERR_TOO_LARGE : VG_ERR_NOMEM;
	}
	rc = vg_hmac256(key, 32, e.p, e.len, mac);
	free(e.p);
	return rc;
}

vg_rc vg_audit_record_hash(const uint8_t prev[static 32], const vg_audit_record *r,
			   uint8_t out[static 32])
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};
	vg_rc rc;

	if (!record_fields_ok(r))
		return VG_ERR_INVALID;
	vg_cborw_raw(&e, prev, VG_AUDIT_HASH_LEN);
	enc_record(&e, r, FORM_STORED);
	if (e.failed) {
		free(e.p);
		return e.too_large ? VG_ERR_TOO_LARGE : VG_ERR_NOMEM;
	}
	rc = vg_sha256(e.p, e.len, out);
	free(e.p);
	return rc;
}

/* HMAC-SHA256 contexts for key evolution: the verifier catches up from K0
 * to the first record (up to VG_AUDIT_MAX_EVOLVE steps), so it keeps one
 * context instead of fetching the algorithm at every step. */
static EVP_MAC_CTX *evolver_new(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};

	EVP_MAC_free(mac); /* the context keeps its own reference */
	if (c && EVP_MAC_CTX_set_params(c, params) != 1) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	return c;
}

static vg_rc evolve_with(EVP_MAC_CTX *c, const uint8_t key[32], uint64_t seq, uint8_t next[32])
{
	uint8_t msg[sizeof evolve_label + 8];
	uint8_t tmp[32];
	size_t n = 0;
	vg_rc rc = VG_ERR_CRYPTO;

	memcpy(msg, evolve_label, sizeof evolve_label);
	put_be64(msg + sizeof evolve_label, seq);
	if (EVP_MAC_init(c, key, 32, NULL) == 1 && EVP_MAC_update(c, msg, sizeof msg) == 1 &&
	    EVP_MAC_final(c, tmp, &n, sizeof tmp) == 1 && n == sizeof tmp) {
		memcpy(next, tmp, 32);
		rc = VG_OK;
	}
	vg_wipe(tmp, sizeof tmp);
	return rc;
}

vg_rc vg_audit_key_evolve(const uint8_t key[static 32], uint64_t seq, uint8_t next[static 32])
{
	EVP_MAC_CTX *c = evolver_new();
	vg_rc rc;

	if (!c)
		return VG_ERR_CRYPTO;
	rc = evolve_with(c, key, seq, next);
	EVP_MAC_CTX_free(c); /* cleanses the keyed state */
	return rc;
}

void vg_audit_checkpoint_message(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
				 const vg_audit_cp *cp, uint8_t msg[static VG_AUDIT_CP_MSG_LEN])
{
	size_t n = 0;

	_Static_assert(sizeof cp_label + VG_AUDIT_LOG_ID_LEN + 1 + 8 + VG_AUDIT_HASH_LEN + 8 + 1 ==
			   VG_AUDIT_CP_MSG_LEN,
		       "checkpoint message layout");
	memcpy(msg, cp_label, sizeof cp_label);
	n += sizeof cp_label;
	memcpy(msg + n, log_id, VG_AUDIT_LOG_ID_LEN);
	n += VG_AUDIT_LOG_ID_LEN;
	msg[n++] = (uint8_t)cp->kind;
	put_be64(msg + n, cp->next_seq);
	n += 8;
	memcpy(msg + n, cp->head, VG_AUDIT_HASH_LEN);
	n += VG_AUDIT_HASH_LEN;
	put_be64(msg + n, cp->time);
	n += 8;
	msg[n] = cp->clock_synced ? 1 : 0;
}

vg_rc vg_audit_checkpoint_encode(const vg_audit_cp *cp, uint8_t **out, size_t *len)
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};

	*out = NULL;
	*len = 0;
	if (!checkpoint_fields_ok(cp))
		return VG_ERR_INVALID;
	enc_checkpoint(&e, cp);
	return vg_cborw_finish(&e, out, len);
}

/* Structure of a drop summary (shared by the encoder, the decoder and the
 * device): bounded, sorted, consistent sums. Signatures are checked by the
 * verifier. */
static bool drops_fields_ok(const vg_audit_drops *d, bool need_sig)
{
	uint64_t sum = 0;

	if (d->n_types == 0 || d->n_types > VG_AUDIT_DROP_TYPES_MAX || d->n_runs == 0 ||
	    !d->types || !d->runs || d->total == 0 || d->first_time > d->last_time)
		return false;
	if (need_sig && (!d->sig || d->sig_len == 0 || d->sig_len > VG_AUDIT_SIG_MAX))
		return false;
	for (size_t i = 0; i < d->n_types; i++) {
		const vg_audit_drop_count *t = &d->types[i];
		if (!t->type || !vg_audit_name_valid(t->type, strlen(t->type), VG_AUDIT_TYPE_MAX) ||
		    t->count == 0 || t->count > d->total - sum)
			return false;
		sum += t->count;
	}
	if (sum != d->total)
		return false;
	sum = 0;
	for (size_t i = 0; i < d->n_runs; i++) {
		const vg_audit_drop_run *r = &d->runs[i];
		if (r->from >= r->to || r->to > VG_AUDIT_SEQ_MAX ||
		    (i > 0 && d->runs[i - 1].to >= r->from) || r->to - r->from > d->total - sum)
			return false;
		sum += r->to - r->from;
	}
	return sum == d->total;
}

static void enc_drops(vg_cborw *e, const vg_audit_drops *d, bool with_sig)
{
	vg_cborw_head(e, cbor_encode_array_start, with_sig ? DROPS_FIELDS : DROPS_FIELDS - 1);
	vg_cborw_uint(e, d->time);
	vg_cborw_bool(e, d->clock_synced);
	vg_cborw_uint(e, d->total);
	vg_cborw_uint(e, d->first_time);
	vg_cborw_uint(e, d->last_time);
	vg_cborw_head(e, cbor_encode_array_start, d->n_types);
	for (size_t i = 0; i < d->n_types && !e->failed; i++) {
		vg_cborw_head(e, cbor_encode_array_start, 2);
		vg_cborw_text(e, d->types[i].type);
		vg_cborw_uint(e, d->types[i].count);
	}
	vg_cborw_head(e, cbor_encode_array_start, d->n_runs);
	for (size_t i = 0; i < d->n_runs && !e->failed; i++) {
		vg_cborw_head(e, cbor_encode_array_start, 4);
		vg_cborw_uint(e, d->runs[i].from);
		vg_cborw_uint(e, d->runs[i].to);
		vg_cborw_bytes(e, d->runs[i].prev, VG_AUDIT_HASH_LEN);
		vg_cborw_bytes(e, d->runs[i].head, VG_AUDIT_HASH_LEN);
	}
	if (with_sig)
		vg_cborw_bytes(e, d->sig, d->sig_len);
}

vg_rc vg_audit_drops_encode(const vg_audit_drops *d, uint8_t **out, size_t *len)
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};

	*out = NULL;
	*len = 0;
	if (!drops_fields_ok(d, true))
		return VG_ERR_INVALID;
	enc_drops(&e, d, true);
	return vg_cborw_finish(&e, out, len);
}

vg_rc vg_audit_drops_message(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
			     const vg_audit_drops *d, uint8_t msg[static VG_AUDIT_DROPS_MSG_LEN])
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};
	vg_rc rc;

	_Static_assert(sizeof drops_label == 24, "drops label");
	if (!drops_fields_ok(d, false))
		return VG_ERR_INVALID;
	enc_drops(&e, d, false);
	if (e.failed) {
		free(e.p);
		return e.too_large ? VG_ERR_TOO_LARGE : VG_ERR_NOMEM;
	}
	memcpy(msg, drops_label, sizeof drops_label);
	memcpy(msg + sizeof drops_label, log_id, VG_AUDIT_LOG_ID_LEN);
	rc = vg_sha256(e.p, e.len, msg + sizeof drops_label + VG_AUDIT_LOG_ID_LEN);
	free(e.p);
	return rc;
}

void vg_audit_drops_clear(vg_audit_drops *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->types && i < d->n_types; i++)
		free(d->types[i].type);
	free(d->types);
	free(d->runs);
	free(d->sig);
	memset(d, 0, sizeof *d);
}

size_t vg_audit_record_export_size(const vg_audit_record *r)
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};
	size_t n;

	if (!record_fields_ok(r))
		return 0;
	enc_record(&e, r, FORM_EXPORT);
	n = e.failed ? 0 : e.len;
	free(e.p);
	return n;
}

static bool export_args_ok(const uint8_t *pub_der, size_t pub_len, const vg_audit_cp *anchor,
			   const vg_audit_drops *drops, const vg_audit_record *recs, size_t n_recs,
			   const vg_audit_cp *cps, size_t n_cps)
{
	if (!pub_der || pub_len == 0 || pub_len > VG_AUDIT_PUBKEY_MAX ||
	    (anchor && !checkpoint_fields_ok(anchor)) || (drops && !drops_fields_ok(drops, true)))
		return false;
	for (size_t i = 0; i < n_recs; i++)
		if (!record_fields_ok(&recs[i]))
			return false;
	for (size_t i = 0; i < n_cps; i++)
		if (!checkpoint_fields_ok(&cps[i]))
			return false;
	return true;
}

/* The fields that open both versions (pull_header reads them back). */
static void enc_header(vg_cborw *e, size_t fields, unsigned version,
		       const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN], const uint8_t *pub_der,
		       size_t pub_len, const vg_audit_cp *anchor)
{
	vg_cborw_head(e, cbor_encode_array_start, fields);
	vg_cborw_text(e, VG_AUDIT_MAGIC);
	vg_cborw_uint(e, version);
	vg_cborw_bytes(e, log_id, VG_AUDIT_LOG_ID_LEN);
	vg_cborw_bytes(e, pub_der, pub_len);
	if (anchor)
		enc_checkpoint(e, anchor);
	else
		vg_cborw_null(e);
}

vg_rc vg_audit_export_encode_page(bool with_header,
				  const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
				  const uint8_t *pub_der, size_t pub_len, const vg_audit_cp *anchor,
				  const vg_audit_drops *drops, const vg_audit_record *recs,
				  size_t n_recs, const vg_audit_cp *cps, size_t n_cps,
				  uint8_t **out, size_t *len)
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};
	size_t ci = 0;

	*out = NULL;
	*len = 0;
	if (!export_args_ok(pub_der, pub_len, anchor, drops, recs, n_recs, cps, n_cps))
		return VG_ERR_INVALID;
	if (with_header) {
		enc_header(&e, HEADER_FIELDS, VG_AUDIT_FORMAT_VERSION, log_id, pub_der, pub_len,
			   anchor);
		if (drops)
			enc_drops(&e, drops, true);
		else
			vg_cborw_null(&e);
	}
	/* Chain order: a checkpoint right before the first record it does
	 * not cover. */
	for (size_t i = 0; i < n_recs && !e.failed; i++) {
		while (ci < n_cps && cps[ci].next_seq <= recs[i].seq)
			enc_checkpoint(&e, &cps[ci++]);
		enc_record(&e, &recs[i], FORM_EXPORT);
	}
	while (ci < n_cps && !e.failed)
		enc_checkpoint(&e, &cps[ci++]);
	if (!e.failed && e.len == 0) {
		/* an empty page: valid, and nothing to hand over */
		*out = malloc(1);
		return *out ? VG_OK : VG_ERR_NOMEM;
	}
	return vg_cborw_finish(&e, out, len);
}

vg_rc vg_audit_export_encode(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
			     const uint8_t *pub_der, size_t pub_len, const vg_audit_cp *anchor,
			     const vg_audit_drops *drops, const vg_audit_record *recs,
			     size_t n_recs, const vg_audit_cp *cps, size_t n_cps, uint8_t **out,
			     size_t *len)
{
	return vg_audit_export_encode_page(true, log_id, pub_der, pub_len, anchor, drops, recs,
					   n_recs, cps, n_cps, out, len);
}

vg_rc vg_audit_export_encode_v1(const uint8_t log_id[static VG_AUDIT_LOG_ID_LEN],
				const uint8_t *pub_der, size_t pub_len, const vg_audit_cp *anchor,
				const vg_audit_record *recs, size_t n_recs, const vg_audit_cp *cps,
				size_t n_cps, uint8_t **out, size_t *len)
{
	vg_cborw e = {.max = VG_AUDIT_EXPORT_MAX};

	*out = NULL;
	*len = 0;
	if (!export_args_ok(pub_der, pub_len, anchor, NULL, recs, n_recs, cps, n_cps))
		return VG_ERR_INVALID;
	enc_header(&e, EXPORT_FIELDS, VG_AUDIT_FORMAT_V1, log_id, pub_der, pub_len, anchor);
	vg_cborw_head(&e, cbor_encode_array_start, n_recs);
	for (size_t i = 0; i < n_recs && !e.failed; i++)
		enc_record(&e, &recs[i], FORM_EXPORT);
	vg_cborw_head(&e, cbor_encode_array_start, n_cps);
	for (size_t i = 0; i < n_cps && !e.failed; i++)
		enc_checkpoint(&e, &cps[i]);
	return vg_cborw_finish(&e, out, len);
}

/* ---- strict pull decoder on libcbor's streaming decoder ----
 * Nothing is built but what the format says: no item tree, so memory is
 * bounded by the records we keep, whatever the input declares. */

enum tok_type { T_NONE, T_UINT, T_BYTES, T_TEXT, T_ARRAY, T_BOOL, T_NULL, T_BAD };

struct tok {
	enum tok_type t;
	uint64_t v;
	const uint8_t *p;
	size_t n;
};

static void tok_uint(void *c, uint64_t v)
{
	struct tok *t = c;
	t->t = T_UINT;
	t->v = v;
}
static void tok_u8(void *c, uint8_t v)
{
	tok_uint(c, v);
}
static void tok_u16(void *c, uint16_t v)
{
	tok_uint(c, v);
}
static void tok_u32(void *c, uint32_t v)
{
	tok_uint(c, v);
}
static void tok_bytes(void *c, cbor_data d, size_t n)
{
	struct tok *t = c;
	t->t = T_BYTES;
	t->p = d;
	t->n = n;
}
static void tok_text(void *c, cbor_data d, size_t n)
{
	struct tok *t = c;
	t->t = T_TEXT;
	t->p = d;
	t->n = n;
}
static void tok_array(void *c, size_t n)
{
	struct tok *t = c;
	t->t = T_ARRAY;
	t->n = n;
}
static void tok_bool(void *c, bool b)
{
	struct tok *t = c;
	t->t = T_BOOL;
	t->v = b;
}
static void tok_null(void *c)
{
	((struct tok *)c)->t = T_NULL;
}
static void tok_bad(void *c)
{
	((struct tok *)c)->t = T_BAD;
}
static void tok_bad8(void *c, uint8_t v)
{
	tok_bad(c);
}
static void tok_bad16(void *c, uint16_t v)
{
	tok_bad(c);
}
static void tok_bad32(void *c, uint32_t v)
{
	tok_bad(c);
}
static void tok_bad64(void *c, uint64_t v)
{
	tok_bad(c);
}
static void tok_badn(void *c, size_t n)
{
	tok_bad(c);
}
static void tok_badf(void *c, float v)
{
	tok_bad(c);
}
static void tok_badd(void *c, double v)
{
	tok_bad(c);
}

static const struct cbor_callbacks pull_cb = {
    .uint8 = tok_u8,
    .uint16 = tok_u16,
    .uint32 = tok_u32,
    .uint64 = tok_uint,
    .negint8 = tok_bad8,
    .negint16 = tok_bad16,
    .negint32 = tok_bad32,
    .negint64 = tok_bad64,
    .byte_string_start = tok_bad,
    .byte_string = tok_bytes,
    .string = tok_text,
    .string_start = tok_bad,
    .indef_array_start = tok_bad,
    .array_start = tok_array,
    .indef_map_start = tok_bad,
    .map_start = tok_badn,
    .tag = tok_bad64,
    .float2 = tok_badf,
    .float4 = tok_badf,
    .float8 = tok_badd,
    .undefined = tok_bad,
    .null = tok_null,
    .boolean = tok_bool,
    .indef_break = tok_bad,
};

struct pull {
	const uint8_t *buf;
	size_t len, off;
};

static bool pull_next(struct pull *p, struct tok *t)
{
	struct cbor_decoder_result r;

	memset(t, 0, sizeof *t);
	if (p->off >= p->len)
		return false;
	r = cbor_stream_decode(p->buf + p->off, p->len - p->off, &pull_cb, t);
	if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || r.read > p->len - p->off ||
	    t->t == T_NONE || t->t == T_BAD)
		return false;
	p->off += r.read;
	return true;
}

static bool pull_array(struct pull *p, size_t *n)
{
	struct tok t;

	if (!pull_next(p, &t) || t.t != T_ARRAY)
		return false;
	*n = t.n;
	return true;
}

static bool pull_array_of(struct pull *p, size_t want)
{
	size_t n;

	return pull_array(p, &n) && n == want;
}

static bool pull_uint(struct pull *p, uint64_t max, uint64_t *v)
{
	struct tok t;

	if (!pull_next(p, &t) || t.t != T_UINT || t.v > max)
		return false;
	*v = t.v;
	return true;
}

static bool pull_bool(struct pull *p, bool *b)
{
	struct tok t;

	if (!pull_next(p, &t) || t.t != T_BOOL)
		return false;
	*b = t.v != 0;
	return true;
}

static bool pull_bytes(struct pull *p, size_t min, size_t max, const uint8_t **d, size_t *n)
{
	struct tok t;

	if (!pull_next(p, &t) || t.t != T_BYTES || t.n < min || t.n > max)
		return false;
	*d = t.p;
	*n = t.n;
	return true;
}

static bool pull_fixed(struct pull *p, uint8_t *out, size_t n)
{
	const uint8_t *d;
	size_t got;

	if (!pull_bytes(p, n, n, &d, &got))
		return false;
	memcpy(out, d, n);
	return true;
}

static char *dup_text(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* A name field. *ok false on a format error; *s NULL on allocation failure. */
static bool pull_name(struct pull *p, size_t max, char **s, bool *nomem)
{
	struct tok t;

	if (!pull_next(p, &t) || t.t != T_TEXT || !vg_audit_name_valid((const char *)t.p, t.n, max))
		return false;
	*s = dup_text(t.p, t.n);
	if (!*s)
		*nomem = true;
	return *s != NULL;
}

void vg_audit_record_clear(vg_audit_record *r)
{
	if (!r)
		return;
	free(r->type);
	free(r->outcome);
	free(r->detail);
	free(r->role);
	memset(r, 0, sizeof *r);
}

void vg_audit_checkpoint_clear(vg_audit_cp *cp)
{
	if (!cp)
		return;
	free(cp->sig);
	memset(cp, 0, sizeof *cp);
}

static vg_rc pull_record(struct pull *p, size_t fields, vg_audit_record *r)
{
	struct tok t;
	uint64_t v;
	bool nomem = false;

	memset(r, 0, sizeof *r);
	if (!pull_array_of(p, fields) || !pull_uint(p, VG_AUDIT_SEQ_MAX, &r->seq) ||
	    !pull_uint(p, UINT64_MAX, &r->time) || !pull_bool(p, &r->clock_synced) ||
	    !pull_name(p, VG_AUDIT_TYPE_MAX, &r->type, &nomem) ||
	    !pull_name(p, VG_AUDIT_OUTCOME_MAX, &r->outcome, &nomem))
		goto bad;
	if (!pull_next(p, &t))
		goto bad;
	if (t.t == T_TEXT) {
		if (!vg_audit_detail_valid((const char *)t.p, t.n))
			goto bad;
		r->detail = dup_text(t.p, t.n);
		if (!r->detail) {
			nomem = true;
			goto bad;
		}
	} else if (t.t != T_NULL) {
		goto bad;
	}
	if (!pull_uint(p, UINT32_MAX, &v))
		goto bad;
	r->uid = (uint32_t)v;
	if (!pull_uint(p, UINT32_MAX, &v))
		goto bad;
	r->gid = (uint32_t)v;
	if (!pull_uint(p, UINT32_MAX, &v))
		goto bad;
	r->pid = v > INT32_MAX ? (int32_t)((int64_t)v - 0x100000000ll) : (int32_t)v;
	if (!pull_name(p, VG_AUDIT_ROLE_MAX, &r->role, &nomem) ||
	    !pull_fixed(p, r->mac, VG_AUDIT_MAC_LEN))
		goto bad;
	if (fields == REC_EXPORT_FIELDS && !pull_fixed(p, r->hash, VG_AUDIT_HASH_LEN))
		goto bad;
	return VG_OK;
bad:
	vg_audit_record_clear(r);
	return nomem ? VG_ERR_NOMEM : VG_ERR_INVALID;
}

/* The fields after the array(6) head. */
static vg_rc pull_checkpoint_body(struct pull *p, vg_audit_cp *cp)
{
	const uint8_t *sig;
	uint64_t kind;

	memset(cp, 0, sizeof *cp);
	if (!pull_uint(p, VG_AUDIT_CP_SEAL, &kind) || kind < VG_AUDIT_CP_PERIODIC ||
	    !pull_uint(p, VG_AUDIT_SEQ_MAX, &cp->next_seq) ||
	    !pull_fixed(p, cp->head, VG_AUDIT_HASH_LEN) || !pull_uint(p, UINT64_MAX, &cp->time) ||
	    !pull_bool(p, &cp->clock_synced) ||
	    !pull_bytes(p, 1, VG_AUDIT_SIG_MAX, &sig, &cp->sig_len))
		return VG_ERR_INVALID;
	cp->kind = (uint32_t)kind;
	cp->sig = malloc(cp->sig_len);
	if (!cp->sig)
		return VG_ERR_NOMEM;
	memcpy(cp->sig, sig, cp->sig_len);
	return VG_OK;
}

static vg_rc pull_checkpoint(struct pull *p, vg_audit_cp *cp)
{
	memset(cp, 0, sizeof *cp);
	if (!pull_array_of(p, CP_FIELDS))
		return VG_ERR_INVALID;
	return pull_checkpoint_body(p, cp);
}

/* The fields after the drop summary's array(8) head. */
static vg_rc pull_drops_body(struct pull *p, vg_audit_drops *d)
{
	const uint8_t *sig;
	size_t n;
	bool nomem = false;

	memset(d, 0, sizeof *d);
	if (!pull_uint(p, UINT64_MAX, &d->time) || !pull_bool(p, &d->clock_synced) ||
	    !pull_uint(p, VG_AUDIT_SEQ_MAX, &d->total) ||
	    !pull_uint(p, UINT64_MAX, &d->first_time) || !pull_uint(p, UINT64_MAX, &d->last_time) ||
	    !pull_array(p, &n) || n > VG_AUDIT_DROP_TYPES_MAX || n == 0)
		goto bad;
	d->types = calloc(n, sizeof *d->types);
	if (!d->types)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		if (!pull_array_of(p, 2) ||
		    !pull_name(p, VG_AUDIT_TYPE_MAX, &d->types[i].type, &nomem)) {
			if (nomem)
				goto nomem;
			goto bad;
		}
		d->n_types++;
		if (!pull_uint(p, UINT64_MAX, &d->types[i].count))
			goto bad;
	}
	/* a run takes at least 71 bytes: bound the count before allocating */
	if (!pull_array(p, &n) || n == 0 || n > (p->len - p->off) / 71)
		goto bad;
	d->runs = calloc(n, sizeof *d->runs);
	if (!d->runs)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		vg_audit_drop_run *r = &d->runs[i];
		if (!pull_array_of(p, 4) || !pull_uint(p, VG_AUDIT_SEQ_MAX, &r->from) ||
		    !pull_uint(p, VG_AUDIT_SEQ_MAX, &r->to) ||
		    !pull_fixed(p, r->prev, VG_AUDIT_HASH_LEN) ||
		    !pull_fixed(p, r->head, VG_AUDIT_HASH_LEN))
			goto bad;
		d->n_runs++;
	}
	if (!pull_bytes(p, 1, VG_AUDIT_SIG_MAX, &sig, &d->sig_len))
		goto bad;
	d->sig = malloc(d->sig_len);
	if (!d->sig)
		goto nomem;
	memcpy(d->sig, sig, d->sig_len);
	if (!drops_fields_ok(d, true))
		goto bad;
	return VG_OK;
nomem:
	vg_audit_drops_clear(d);
	return VG_ERR_NOMEM;
bad:
	vg_audit_drops_clear(d);
	return VG_ERR_INVALID;
}

vg_rc vg_audit_drops_decode(const uint8_t *buf, size_t len, vg_audit_drops *d)
{
	struct pull p = {buf, len, 0};
	vg_rc rc;

	memset(d, 0, sizeof *d);
	if (!buf || vg_cbor_validate(buf, len, 3) != VG_OK || !pull_array_of(&p, DROPS_FIELDS))
		return VG_ERR_INVALID;
	rc = pull_drops_body(&p, d);
	if (rc == VG_OK && p.off != len) {
		vg_audit_drops_clear(d);
		rc = VG_ERR_INVALID;
	}
	return rc;
}

vg_rc vg_audit_record_decode(const uint8_t *buf, size_t len, vg_audit_record *r)
{
	struct pull p = {buf, len, 0};
	vg_rc rc;

	memset(r, 0, sizeof *r);
	if (vg_cbor_validate(buf, len, 1) != VG_OK)
		return VG_ERR_INVALID;
	rc = pull_record(&p, REC_STORED_FIELDS, r);
	if (rc == VG_OK && p.off != len) {
		vg_audit_record_clear(r);
		rc = VG_ERR_INVALID;
	}
	return rc;
}

vg_rc vg_audit_checkpoint_decode(const uint8_t *buf, size_t len, vg_audit_cp *cp)
{
	struct pull p = {buf, len, 0};
	vg_rc rc;

	memset(cp, 0, sizeof *cp);
	if (vg_cbor_validate(buf, len, 1) != VG_OK)
		return VG_ERR_INVALID;
	rc = pull_checkpoint(&p, cp);
	if (rc == VG_OK && p.off != len)
		rc = VG_ERR_INVALID;
	if (rc != VG_OK)
		vg_audit_checkpoint_clear(cp);
	return rc;
}

void vg_audit_log_free(vg_audit_log **pl)
{
	vg_audit_log *l;

	if (!pl || !*pl)
		return;
	l = *pl;
	for (size_t i = 0; i < l->n_recs; i++)
		vg_audit_record_clear(&l->recs[i]);
	for (size_t i = 0; i < l->n_cps; i++)
		vg_audit_checkpoint_clear(&l->cps[i]);
	vg_audit_checkpoint_clear(&l->anchor);
	vg_audit_drops_clear(&l->drops);
	free(l->recs);
	free(l->cps);
	free(l->pub);
	free(l);
	*pl = NULL;
}

static vg_rc grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	void *na;
	size_t ncap;

	if (n < *cap)
		return VG_OK;
	ncap = *cap ? *cap * 2 : 64;
	na = realloc(*arr, ncap * elem);
	if (!na)
		return VG_ERR_NOMEM;
	memset((uint8_t *)na + *cap * elem, 0, (ncap - *cap) * elem);
	*arr = na;
	*cap = ncap;
	return VG_OK;
}

/* A null (*present false) or the head of an array of `fields` (true). */
static bool pull_optional(struct pull *p, size_t fields, bool *present)
{
	struct tok t;

	if (!pull_next(p, &t))
		return false;
	*present = t.t == T_ARRAY && t.n == fields;
	return *present || t.t == T_NULL;
}

/* The fields that open both versions: the magic and version, checked
 * before the rest (a newer version is refused as such), the log id, the
 * public key, and the anchor checkpoint or null. */
static vg_rc pull_header(struct pull *p, size_t fields, unsigned version, vg_audit_log *l)
{
	struct tok t;
	const uint8_t *d;
	size_t n;
	uint64_t v;
	bool present;
	vg_rc rc;

	if (!pull_array_of(p, fields) || !pull_next(p, &t) || t.t != T_TEXT ||
	    t.n != strlen(VG_AUDIT_MAGIC) || memcmp(t.p, VG_AUDIT_MAGIC, t.n) != 0 ||
	    !pull_uint(p, UINT64_MAX, &v))
		return VG_ERR_INVALID;
	if (v != version)
		return v > version ? VG_ERR_UNSUPPORTED : VG_ERR_INVALID;
	l->version = version;
	if (!pull_fixed(p, l->log_id, VG_AUDIT_LOG_ID_LEN) ||
	    !pull_bytes(p, 1, VG_AUDIT_PUBKEY_MAX, &d, &n))
		return VG_ERR_INVALID;
	l->pub = malloc(n);
	if (!l->pub)
		return VG_ERR_NOMEM;
	memcpy(l->pub, d, n);
	l->pub_len = n;
	if (!pull_optional(p, CP_FIELDS, &present))
		return VG_ERR_INVALID;
	if (present) {
		rc = pull_checkpoint_body(p, &l->anchor);
		if (rc != VG_OK)
			return rc;
		l->has_anchor = true;
	}
	return VG_OK;
}

/* One record or checkpoint, told apart by its number of fields, appended
 * to l (the array grown as needed). The one item decoder of both
 * versions. */
static vg_rc pull_log_item(struct pull *p, size_t fields, vg_audit_log *l)
{
	vg_rc rc;

	if (fields == REC_EXPORT_FIELDS) {
		rc = grow((void **)&l->recs, &l->rec_cap, l->n_recs, sizeof *l->recs);
		if (rc == VG_OK)
			rc = pull_record(p, REC_EXPORT_FIELDS, &l->recs[l->n_recs]);
		if (rc == VG_OK)
			l->n_recs++;
		return rc;
	}
	if (fields != CP_FIELDS)
		return VG_ERR_INVALID;
	rc = grow((void **)&l->cps, &l->cp_cap, l->n_cps, sizeof *l->cps);
	if (rc != VG_OK)
		return rc;
	rc = pull_checkpoint(p, &l->cps[l->n_cps]);
	if (rc != VG_OK) {
		vg_audit_checkpoint_clear(&l->cps[l->n_cps]);
		return rc;
	}
	l->n_cps++;
	return VG_OK;
}

/*
 * Version 2: a CBOR sequence (RFC 8742) of a header item and then records
 * and checkpoints in chain order, so that pages concatenate. No item tree
 * is built and every declared count is bounded by the bytes left; the
 * grammar fixes the depth (header -> drops -> runs -> run).
 */
static vg_rc parse_v2(const uint8_t *buf, size_t len, vg_audit_log *l)
{
	struct pull p = {buf, len, 0};
	size_t n;
	bool present;
	vg_rc rc = pull_header(&p, HEADER_FIELDS, VG_AUDIT_FORMAT_VERSION, l);

	if (rc != VG_OK)
		return rc;
	if (!pull_optional(&p, DROPS_FIELDS, &present))
		return VG_ERR_INVALID;
	if (present) {
		rc = pull_drops_body(&p, &l->drops);
		if (rc != VG_OK)
			return rc;
		l->has_drops = true;
	}
	while (rc == VG_OK && p.off < len) {
		size_t at = p.off;
		if (!pull_array(&p, &n))
			return VG_ERR_INVALID;
		p.off = at;
		rc = pull_log_item(&p, n, l);
	}
	return rc;
}

/* Version 1's array of records or of checkpoints: its declared count is
 * bounded by the bytes left before anything is allocated. */
static vg_rc pull_v1_list(struct pull *p, size_t fields, vg_audit_log *l)
{
	bool cps = fields == CP_FIELDS;
	size_t n, *cap = cps ? &l->cp_cap : &l->rec_cap;
	void **arr = cps ? (void **)&l->cps : (void **)&l->recs;
	vg_rc rc = VG_OK;

	if (!pull_array(p, &n) || n > (p->len - p->off) / (cps ? CP_MIN_BYTES : REC_MIN_BYTES))
		return VG_ERR_INVALID;
	if (n) {
		*arr = calloc(n, cps ? sizeof *l->cps : sizeof *l->recs);
		if (!*arr)
			return VG_ERR_NOMEM;
		*cap = n;
	}
	for (size_t i = 0; i < n && rc == VG_OK; i++)
		rc = pull_log_item(p, fields, l);
	return rc;
}

/* Version 1: one array (header fields, records, checkpoints). */
static vg_rc parse_v1(const uint8_t *buf, size_t len, vg_audit_log *l)
{
	struct pull p = {buf, len, 0};
	vg_rc rc = pull_header(&p, EXPORT_FIELDS, VG_AUDIT_FORMAT_V1, l);

	if (rc == VG_OK)
		rc = pull_v1_list(&p, REC_EXPORT_FIELDS, l);
	if (rc == VG_OK)
		rc = pull_v1_list(&p, CP_FIELDS, l);
	if (rc == VG_OK && p.off != len)
		rc = VG_ERR_INVALID;
	return rc;
}

vg_rc vg_audit_log_parse(const uint8_t *buf, size_t len, vg_audit_log **out)
{
	vg_audit_log *l;
	bool v2;
	vg_rc rc;

	*out = NULL;
	if (!buf || len == 0)
		return VG_ERR_INVALID;
	if (len > VG_AUDIT_EXPORT_MAX)
		return VG_ERR_TOO_LARGE;
	/* The first byte tells the version's layout: array(6) opens the
	 * header of version 2, array(7) the single item of version 1. */
	v2 = buf[0] == 0x80 + HEADER_FIELDS;
	/* Version 1: definite lengths, no tags/floats/negatives, depth <= 3,
	 * and every declared size backed by bytes, before anything else is
	 * read. */
	if (!v2 && vg_cbor_validate(buf, len, EXPORT_MAX_DEPTH) != VG_OK)
		return VG_ERR_INVALID;
	l = calloc(1, sizeof *l);
	if (!l)
		return VG_ERR_NOMEM;
	rc = v2 ? parse_v2(buf, len, l) : parse_v1(buf, len, l);
	if (rc != VG_OK)
		vg_audit_log_free(&l);
	*out = l;
	return rc;
}

size_t vg_audit_log_count(const vg_audit_log *l)
{
	return l ? l->n_recs : 0;
}

const vg_audit_record *vg_audit_log_record(const vg_audit_log *l, size_t i)
{
	return l && i < l->n_recs ? &l->recs[i] : NULL;
}

size_t vg_audit_log_checkpoint_count(const vg_audit_log *l)
{
	return l ? l->n_cps : 0;
}

const vg_audit_cp *vg_audit_log_checkpoint(const vg_audit_log *l, size_t i)
{
	return l && i < l->n_cps ? &l->cps[i] : NULL;
}

const vg_audit_cp *vg_audit_log_anchor(const vg_audit_log *l)
{
	return l && l->has_anchor ? &l->anchor : NULL;
}

const vg_audit_drops *vg_audit_log_drops(const vg_audit_log *l)
{
	return l && l->has_drops ? &l->drops : NULL;
}

const uint8_t *vg_audit_log_pubkey(const vg_audit_log *l, size_t *len)
{
	*len = l ? l->pub_len : 0;
	return l ? l->pub : NULL;
}

const uint8_t *vg_audit_log_id(const vg_audit_log *l)
{
	return l ? l->log_id : NULL;
}

/* ---- signatures ---- */

static bool der_exact(EVP_PKEY *k, const uint8_t *der, size_t len)
{
	uint8_t *re = NULL;
	int n = i2d_PUBKEY(k, &re);
	bool ok = n > 0 && (size_t)n == len && memcmp(re, der, len) == 0;

	OPENSSL_free(re);
	return ok;
}

static EVP_PKEY *load_pub(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = NULL;
	char group[32], fmt[32];
	size_t glen = 0;

	if (!der || len == 0 || len > VG_AUDIT_PUBKEY_MAX)
		return NULL;
	k = d2i_PUBKEY(NULL, &p, (long)len);
	/* Only the DER encoding, and no hybrid point form: OpenSSL accepts
	 * both variants (a BIT STRING with unused bits, a 0x06/0x07 point)
	 * and the carried key must not be malleable. */
	if (k && (p != der + len || !der_exact(k, der, len) || !EVP_PKEY_is_a(k, "EC") ||
		  EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
						 &glen) != 1 ||
		  strcmp(group, "prime256v1") != 0 ||
		  EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, fmt,
						 sizeof fmt, &glen) != 1 ||
		  strcmp(fmt, "hybrid") == 0)) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	ERR_clear_error();
	return k;
}

vg_rc vg_audit_pubkey_check(const uint8_t *pub_der, size_t len)
{
	EVP_PKEY *k = load_pub(pub_der, len);

	if (!k)
		return VG_ERR_INVALID;
	EVP_PKEY_free(k);
	return VG_OK;
}

static vg_rc verify_with(EVP_PKEY *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
			 size_t sig_len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	vg_rc rc = VG_ERR_VERIFY_FAILED;

	if (!c)
		return VG_ERR_NOMEM;
	/* OpenSSL re-encodes the DER signature and refuses any other
	 * encoding of (r, s), so a signature cannot be made malleable. */
	if (EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestVerify(c, sig, sig_len, msg, msg_len) == 1)
		rc = VG_OK;
	EVP_MD_CTX_free(c);
	ERR_clear_error();
	return rc;
}

vg_rc vg_audit_sig_verify(const uint8_t *pub_der, size_t pub_len, const uint8_t *msg,
			  size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *k = load_pub(pub_der, pub_len);
	vg_rc rc;

	if (!k)
		return VG_ERR_INVALID;
	rc = verify_with(k, msg, msg_len, sig, sig_len);
	EVP_PKEY_free(k);
	return rc;
}

/* ---- verification ---- */

struct verifier {
	const vg_audit_log *l;
	EVP_PKEY *key;
	vg_audit_report *rep;
	uint8_t prev[VG_AUDIT_HASH_LEN]; /* h of the last record walked */
	uint64_t expect;                 /* next seq the chain must show */
	uint64_t sealed;                 /* next_seq of the last good checkpoint */
	uint32_t last_kind;
	uint64_t nrec; /* records walked */
};

static vg_rc fail(struct verifier *v, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static vg_rc fail(struct verifier *v, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	v->rep->first_bad_seq = (int64_t)seq;
	va_start(ap, fmt);
	(void)vsnprintf(v->rep->reason, sizeof v->rep->reason, fmt, ap);
	va_end(ap);
	return VG_ERR_VERIFY_FAILED;
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case VG_AUDIT_CP_PERIODIC:
		return "periodic";
	case VG_AUDIT_CP_EXPORT:
		return "export";
	case VG_AUDIT_CP_SEAL:
		return "seal";
	default:
		return "unknown";
	}
}

static vg_rc check_cp(struct verifier *v, const vg_audit_cp *cp, const char *what)
{
	uint8_t msg[VG_AUDIT_CP_MSG_LEN];
	vg_rc rc;

	if (CRYPTO_memcmp(cp->head, v->prev, VG_AUDIT_HASH_LEN) != 0)
		return fail(v, v->sealed,
			    "%s covering seq < %" PRIu64 ": head hash does not match records "
			    "%" PRIu64 "..%" PRIu64,
			    what, cp->next_seq, v->sealed, cp->next_seq ? cp->next_seq - 1 : 0);
	vg_audit_checkpoint_message(v->l->log_id, cp, msg);
	rc = verify_with(v->key, msg, sizeof msg, cp->sig, cp->sig_len);
	if (rc == VG_ERR_VERIFY_FAILED)
		return fail(v, v->sealed, "%s covering seq < %" PRIu64 ": bad signature", what,
			    cp->next_seq);
	if (rc != VG_OK)
		return rc;
	v->sealed = cp->next_seq;
	v->last_kind = cp->kind;
	v->rep->checkpoints++;
	v->rep->end_seq = cp->next_seq;
	v->rep->records_verified = v->nrec;
	return VG_OK;
}

vg_rc vg_audit_log_verify(const vg_audit_log *l, const uint8_t *pinned_pub_der, size_t pinned_len,
			  const uint8_t *seed, vg_audit_report *report)
{
	struct verifier v = {0};
	EVP_MAC_CTX *ev = NULL;
	uint8_t *k = NULL;
	size_t ci = 0, ri = 0, n_runs;
	const vg_audit_drop_run *runs;
	vg_rc rc = VG_OK;

	memset(report, 0, sizeof *report);
	report->first_bad_seq = -1;
	if (!l)
		return VG_ERR_INVALID;
	v.l = l;
	v.rep = report;
	runs = l->has_drops ? l->drops.runs : NULL;
	n_runs = l->has_drops ? l->drops.n_runs : 0;
	report->first_seq = l->has_anchor ? l->anchor.next_seq : 0;
	report->end_seq = report->first_seq;
	v.expect = v.sealed = report->first_seq;

	v.key = load_pub(l->pub, l->pub_len);
	if (!v.key) {
		rc = fail(&v, v.expect, "the signing key is not an EC P-256 public key");
		goto out;
	}
	if (pinned_pub_der) {
		/* Compared as keys, so a pinned key in another point format
		 * still matches. */
		EVP_PKEY *pin = load_pub(pinned_pub_der, pinned_len);
		bool same = pin && EVP_PKEY_eq(pin, v.key) == 1;
		EVP_PKEY_free(pin);
		ERR_clear_error();
		if (!same) {
			rc = fail(&v, v.expect,
				  "the export is signed by a key other than the pinned key");
			goto out;
		}
	}

	/* The anchor: where the remaining chain hangs after rotation. */
	if (l->has_anchor) {
		if (l->anchor.next_seq == 0) {
			rc = fail(&v, 0, "anchor checkpoint covers no record");
			goto out;
		}
		memcpy(v.prev, l->anchor.head, VG_AUDIT_HASH_LEN);
		rc = check_cp(&v, &l->anchor, "anchor checkpoint");
		if (rc != VG_OK)
			goto out;
	}

	/* The drop summary: signed by the same key, inside the chain. */
	if (l->has_drops) {
		const vg_audit_drops *d = &l->drops;
		uint8_t msg[VG_AUDIT_DROPS_MSG_LEN];
		rc = vg_audit_drops_message(l->log_id, d, msg);
		if (rc == VG_OK)
			rc = verify_with(v.key, msg, sizeof msg, d->sig, d->sig_len);
		if (rc == VG_ERR_VERIFY_FAILED || rc == VG_ERR_INVALID) {
			rc = fail(&v, d->runs[0].from, "drop summary: bad signature");
			goto out;
		}
		if (rc != VG_OK)
			goto out;
		if (d->runs[0].from < v.expect) {
			rc = fail(&v, d->runs[0].from,
				  "drop summary: run from seq %" PRIu64
				  " lies before the log starts",
				  d->runs[0].from);
			goto out;
		}
		report->dropped = d->total;
		report->drop_runs = d->n_runs;
	}

	if (seed) {
		if (v.expect > VG_AUDIT_MAX_EVOLVE) {
			rc = VG_ERR_TOO_LARGE;
			(void)snprintf(report->reason, sizeof report->reason,
				       "first record %" PRIu64
				       " is too far from the seed to check MACs",
				       v.expect);
			goto out;
		}
		k = vg_secret_alloc(VG_AUDIT_SEED_LEN);
		ev = evolver_new();
		if (!k || !ev) {
			rc = k ? VG_ERR_CRYPTO : VG_ERR_NOMEM;
			goto out;
		}
		memcpy(k, seed, VG_AUDIT_SEED_LEN);
		for (uint64_t s = 0; s < v.expect; s++) {
			rc = evolve_with(ev, k, s, k);
			if (rc != VG_OK)
				goto out;
		}
		report->macs_checked = true;
	}

	for (size_t i = 0;;) {
		const vg_audit_record *r;
		uint8_t h[VG_AUDIT_HASH_LEN];

		/* Checkpoints that end at this point of the chain. */
		while (ci < l->n_cps && l->cps[ci].next_seq <= v.expect) {
			if (l->cps[ci].next_seq < v.expect || l->cps[ci].next_seq < v.sealed) {
				rc = fail(&v, v.sealed,
					  "checkpoint %zu (seq < %" PRIu64 ") is out of order", ci,
					  l->cps[ci].next_seq);
				goto out;
			}
			rc = check_cp(&v, &l->cps[ci], "checkpoint");
			if (rc != VG_OK)
				goto out;
			ci++;
		}
		/* A dropped run starting here: it must hang from the chain as
		 * walked, and the walk resumes after it from its signed head. */
		if (ri < n_runs && runs[ri].from == v.expect) {
			const vg_audit_drop_run *run = &runs[ri];
			if (CRYPTO_memcmp(run->prev, v.prev, VG_AUDIT_HASH_LEN) != 0) {
				rc = fail(&v, v.sealed,
					  "drop summary: run %" PRIu64 "..%" PRIu64
					  " does not follow the records before it",
					  run->from, run->to - 1);
				goto out;
			}
			if (k) {
				if (run->to > VG_AUDIT_MAX_EVOLVE) {
					rc = VG_ERR_TOO_LARGE;
					(void)snprintf(report->reason, sizeof report->reason,
						       "seq %" PRIu64
						       " is too far from the seed to check MACs",
						       run->to);
					goto out;
				}
				for (uint64_t s = run->from; s < run->to && rc == VG_OK; s++)
					rc = evolve_with(ev, k, s, k);
				if (rc != VG_OK)
					goto out;
			}
			memcpy(v.prev, run->head, VG_AUDIT_HASH_LEN);
			v.expect = run->to;
			/* the signed summary vouches for the chain up to here */
			v.sealed = run->to;
			report->records_verified = v.nrec;
			report->end_seq = run->to;
			ri++;
			continue;
		}
		if (i == l->n_recs)
			break;
		r = &l->recs[i];
		if (r->seq != v.expect) {
			rc = fail(&v, v.expect,
				  "sequence break: record %" PRIu64 " found where %" PRIu64
				  " belongs (missing, reordered or inserted)",
				  r->seq, v.expect);
			goto out;
		}
		if (k) {
			uint8_t mac[VG_AUDIT_MAC_LEN];
			rc = vg_audit_record_mac(k, v.prev, r, mac);
			if (rc == VG_OK && CRYPTO_memcmp(mac, r->mac, sizeof mac) != 0)
				rc = fail(&v, r->seq, "record %" PRIu64 ": MAC does not verify",
					  r->seq);
			if (rc == VG_OK)
				rc = evolve_with(ev, k, r->seq, k);
			if (rc != VG_OK)
				goto out;
		}
		rc = vg_audit_record_hash(v.prev, r, h);
		if (rc != VG_OK)
			goto out;
		if (CRYPTO_memcmp(h, r->hash, sizeof h) != 0) {
			rc = fail(&v, r->seq, "record %" PRIu64 ": hash does not match its content",
				  r->seq);
			goto out;
		}
		memcpy(v.prev, h, sizeof h);
		v.expect++;
		v.nrec++;
		i++;
	}
	if (ri < n_runs) {
		rc = fail(&v, v.expect,
			  "drop summary: run from seq %" PRIu64 " is not where the records are",
			  runs[ri].from);
		goto out;
	}
	if (ci < l->n_cps) {
		rc = fail(&v, v.expect,
			  "records from seq %" PRIu64
			  " are missing: a checkpoint covers seq < %" PRIu64,
			  v.expect, l->cps[ci].next_seq);
		goto out;
	}
	report->unsealed_tail = v.expect - v.sealed;
	if (report->unsealed_tail) {
		rc = fail(&v, v.sealed, "records from seq %" PRIu64 " are covered by no checkpoint",
			  v.sealed);
		goto out;
	}
	if (v.last_kind != VG_AUDIT_CP_EXPORT) {
		/* vg_audit_export always ends with an export checkpoint: its
		 * absence means the tail (records and checkpoints) was cut. */
		rc = fail(&v, v.sealed,
			  "the log does not end with an export checkpoint (last: %s): truncated",
			  v.last_kind ? kind_name(v.last_kind) : "none");
		goto out;
	}
out:
	if (rc != VG_OK && rc != VG_ERR_VERIFY_FAILED && report->reason[0] == '\0')
		(void)snprintf(report->reason, sizeof report->reason, "%s", vg_rc_str(rc));
	if (rc != VG_OK)
		report->unsealed_tail = v.expect > v.sealed ? v.expect - v.sealed : 0;
	vg_secret_free(k, VG_AUDIT_SEED_LEN);
	EVP_MAC_CTX_free(ev);
	EVP_PKEY_free(v.key);
	return rc;
}

/* ---- rendering ---- */

static void json_str(FILE *f, const char *s)
{
	(void)fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			(void)fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			(void)fprintf(f, "\\u%04x", c);
		else
			(void)fputc(c, f);
	}
	(void)fputc('"', f);
}

static void fmt_time(uint64_t t, char out[32])
{
	struct tm tm;
	time_t tt;

	/* Beyond year 9999 print the raw number. */
	tt = (time_t)t;
	if (t > 253402300799ull || !gmtime_r(&tt, &tm) ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 32, "@%" PRIu64, t);
}

static void json_cp(FILE *f, const vg_audit_cp *cp, const char *role)
{
	char head[2 * VG_AUDIT_HASH_LEN + 1], ts[32];

	vg_hex_encode(cp->head, VG_AUDIT_HASH_LEN, head);
	fmt_time(cp->time, ts);
	(void)fprintf(f,
		      "{\"kind\":\"%s\",\"checkpoint\":\"%s\",\"next_seq\":%" PRIu64
		      ",\"head\":\"%s\",\"time\":%" PRIu64 ",\"time_utc\":\"%s\","
		      "\"clock_synced\":%s}\n",
		      role, kind_name(cp->kind), cp->next_seq, head, cp->time, ts,
		      cp->clock_synced ? "true" : "false");
}

static void text_cp(FILE *f, const vg_audit_cp *cp, const char *role)
{
	char head[2 * VG_AUDIT_HASH_LEN + 1], ts[32];

	vg_hex_encode(cp->head, VG_AUDIT_HASH_LEN, head);
	fmt_time(cp->time, ts);
	(void)fprintf(f, "-- %s (%s) covering seq < %" PRIu64 ", head %.16s..., at %s%s --\n", role,
		      kind_name(cp->kind), cp->next_seq, head, cp->clock_synced ? "" : "~", ts);
}

vg_rc vg_audit_log_write_json(const vg_audit_log *l, FILE *f, bool json_lines)
{
	char id[2 * VG_AUDIT_LOG_ID_LEN + 1], fp[2 * 32 + 1];
	uint8_t d[32];
	size_t ci = 0;

	if (!l || !f)
		return VG_ERR_INVALID;
	vg_hex_encode(l->log_id, VG_AUDIT_LOG_ID_LEN, id);
	if (vg_sha256(l->pub, l->pub_len, d) != VG_OK)
		return VG_ERR_CRYPTO;
	vg_hex_encode(d, sizeof d, fp);
	if (json_lines)
		(void)fprintf(f,
			      "{\"kind\":\"header\",\"format\":\"%s\",\"version\":%u,"
			      "\"log_id\":\"%s\",\"signer_sha256\":\"%s\",\"records\":%zu,"
			      "\"checkpoints\":%zu}\n",
			      VG_AUDIT_MAGIC, l->version, id, fp, l->n_recs, l->n_cps);
	else
		(void)fprintf(f,
			      "# voxguard audit log %s, signer sha256:%s, %zu records "
			      "(not verified here: run `voxguard log verify`; ~ = clock not "
			      "synchronized)\n",
			      id, fp, l->n_recs);
	if (l->has_anchor) {
		if (json_lines)
			json_cp(f, &l->anchor, "anchor");
		else
			text_cp(f, &l->anchor, "anchor");
	}
	if (l->has_drops) {
		const vg_audit_drops *dr = &l->drops;
		char t0[32], t1[32];
		fmt_time(dr->first_time, t0);
		fmt_time(dr->last_time, t1);
		if (json_lines)
			(void)fprintf(f,
				      "{\"kind\":\"drops\",\"total\":%" PRIu64
				      ",\"runs\":%zu,\"first_time_utc\":\"%s\",\"last_time_utc\":"
				      "\"%s\",\"types\":{",
				      dr->total, dr->n_runs, t0, t1);
		else
			(void)fprintf(f,
				      "# %" PRIu64 " records dropped by retention in %zu runs "
				      "(signed summary), written %s..%s:",
				      dr->total, dr->n_runs, t0, t1);
		for (size_t i = 0; i < dr->n_types; i++) {
			if (json_lines) {
				(void)fputs(i ? "," : "", f);
				json_str(f, dr->types[i].type);
				(void)fprintf(f, ":%" PRIu64, dr->types[i].count);
			} else {
				(void)fprintf(f, " %s=%" PRIu64, dr->types[i].type,
					      dr->types[i].count);
			}
		}
		(void)fputs(json_lines ? "}}\n" : "\n", f);
	}
	for (size_t i = 0, ri = 0; i <= l->n_recs; i++) {
		const vg_audit_record *r;
		char ts[32];

		/* Dropped runs where they were. */
		while (l->has_drops && ri < l->drops.n_runs &&
		       (i == l->n_recs || l->drops.runs[ri].from <= l->recs[i].seq)) {
			const vg_audit_drop_run *run = &l->drops.runs[ri++];
			if (json_lines)
				(void)fprintf(f,
					      "{\"kind\":\"dropped\",\"from\":%" PRIu64
					      ",\"to\":%" PRIu64 "}\n",
					      run->from, run->to - 1);
			else
				(void)fprintf(f,
					      "-- dropped by retention: seq %" PRIu64 "..%" PRIu64
					      " (%" PRIu64 " records) --\n",
					      run->from, run->to - 1, run->to - run->from);
		}

		/* Checkpoints after the record they cover, in export order. */
		while (ci < l->n_cps && (i == l->n_recs || l->cps[ci].next_seq <= l->recs[i].seq)) {
			if (json_lines)
				json_cp(f, &l->cps[ci], "checkpoint");
			else
				text_cp(f, &l->cps[ci], "checkpoint");
			ci++;
		}
		if (i == l->n_recs)
			break;
		r = &l->recs[i];
		fmt_time(r->time, ts);
		if (json_lines) {
			char mac[2 * VG_AUDIT_MAC_LEN + 1], hash[2 * VG_AUDIT_HASH_LEN + 1];
			vg_hex_encode(r->mac, VG_AUDIT_MAC_LEN, mac);
			vg_hex_encode(r->hash, VG_AUDIT_HASH_LEN, hash);
			(void)fprintf(f,
				      "{\"kind\":\"record\",\"seq\":%" PRIu64 ",\"time\":%" PRIu64
				      ",\"time_utc\":\"%s\",\"clock_synced\":%s,\"type\":",
				      r->seq, r->time, ts, r->clock_synced ? "true" : "false");
			json_str(f, r->type);
			(void)fputs(",\"outcome\":", f);
			json_str(f, r->outcome);
			(void)fputs(",\"detail\":", f);
			if (r->detail)
				json_str(f, r->detail);
			else
				(void)fputs("null", f);
			(void)fprintf(f,
				      ",\"uid\":%" PRIu32 ",\"gid\":%" PRIu32 ",\"pid\":%" PRId32
				      ",\"role\":",
				      r->uid, r->gid, r->pid);
			json_str(f, r->role);
			(void)fprintf(f, ",\"mac\":\"%s\",\"hash\":\"%s\"}\n", mac, hash);
		} else {
			(void)fprintf(f,
				      "%s%s  #%" PRIu64 "  %s  %s  uid=%" PRIu32 " gid=%" PRIu32
				      " pid=%" PRId32 " role=%s",
				      r->clock_synced ? " " : "~", ts, r->seq, r->type, r->outcome,
				      r->uid, r->gid, r->pid, r->role);
			if (r->detail) {
				(void)fputs("  ", f);
				json_str(f, r->detail);
			}
			(void)fputc('\n', f);
		}
	}
	return fflush(f) == 0 && !ferror(f) ? VG_OK : VG_ERR_IO;
}
