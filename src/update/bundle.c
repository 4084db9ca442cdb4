/*
 * bundle.c - update bundles (contract in bundle.h).
 */
#include "update/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/canonjson.h"
#include "crypto/pubkey.h"
#include "crypto/wrap.h"
#include "platform/manifest.h"
#include "platform/measure.h"

#define HDR_LEN 12u

#define TAG_LEN 16u

struct vg_bundle {
	int fd; /* -1: manifest only (vg_bundle_open_manifest) */
	char version[64];
	uint64_t security_version;
	uint32_t chunk_size;
	uint64_t payload_off;
	uint8_t id[32]; /* SHA-256 of the manifest bytes */
	size_t n;
	vg_bundle_image_info img[VG_BUNDLE_MAX_IMAGES];
	uint64_t img_off[VG_BUNDLE_MAX_IMAGES]; /* each image's offset in the payload */
	uint8_t (*chunks[VG_BUNDLE_MAX_IMAGES])[32]; /* signed chunk hashes */
	bool encrypted;
	uint8_t *cek; /* secret memory, when encrypted */
};

/* Stored size of an image in the payload: each chunk carries a GCM tag
 * when the payload is encrypted. */
static uint64_t stored_size(const vg_bundle *b, const vg_bundle_image_info *im)
{
	return im->size + (b->encrypted ? im->n_chunks * TAG_LEN : 0);
}

/* GCM nonce of chunk c of image i: u32 i || u64 c, big-endian. */
static void chunk_iv(size_t i, uint64_t c, uint8_t iv[12])
{
	for (int k = 0; k < 4; k++)
		iv[k] = (uint8_t)((uint64_t)i >> (24 - 8 * k));
	for (int k = 0; k < 8; k++)
		iv[4 + k] = (uint8_t)(c >> (56 - 8 * k));
}

#define fail(why, rc, ...) vg_why(why, VG_BUNDLE_WHY_LEN, rc, __VA_ARGS__)

static bool hex32(const json_t *v, uint8_t out[32])
{
	const char *s = json_string_value(v);
	size_t n = 0;

	if (!s || strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
		return false;
	return vg_hex_decode(s, out, 32, &n) && n == 32;
}

static bool u64_of(const json_t *o, const char *k, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static const char *text_of(const json_t *o, const char *k, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && vg_manifest_text_ok(s, cap) ? s : NULL;
}

/* ---- opening: header, manifest, signature, policy ---- */

static bool hexn(const json_t *v, uint8_t *out, size_t min, size_t max, size_t *n)
{
	const char *s = json_string_value(v);
	size_t l = s ? strlen(s) : 0;

	return s && l % 2 == 0 && l / 2 >= min && l / 2 <= max &&
	       strspn(s, "0123456789abcdef") == l && vg_hex_decode(s, out, max, n) && *n == l / 2;
}

/* Format 2: the content key, unwrapped by the caller's callback for one of
 * the recipients, or given by the caller. */
static vg_rc take_key(vg_bundle *b, const json_t *enc, const vg_bundle_policy *p, char *why)
{
	const json_t *rs = json_object_get(enc, "recipients");
	const char *alg = json_string_value(json_object_get(enc, "alg")),
		   *kalg = json_string_value(json_object_get(enc, "key_alg"));
	size_t i;
	json_t *r;
	vg_rc rc = VG_ERR_NOT_FOUND;

	if (!json_is_object(enc) || !alg || strcmp(alg, "A256GCM") != 0 || !kalg ||
	    strcmp(kalg, VG_BUNDLE_KEY_ALG) != 0 || !json_is_array(rs) ||
	    json_array_size(rs) == 0 || json_array_size(rs) > VG_BUNDLE_MAX_RECIPIENTS)
		return fail(why, VG_ERR_UNSUPPORTED,
			    "bundle encryption: A256GCM with " VG_BUNDLE_KEY_ALG
			    " and 1 to %u recipients expected",
			    VG_BUNDLE_MAX_RECIPIENTS);
	b->encrypted = true;
	b->cek = vg_secret_alloc(VG_WRAP_CEK_LEN);
	if (!b->cek)
		return VG_ERR_NOMEM;
	json_array_foreach(rs, i, r) {
		uint8_t kid[32], epk[VG_WRAP_EPK_MAX], wr[VG_WRAP_WRAPPED_LEN];
		size_t el = 0, wl = 0;
		if (!hex32(json_object_get(r, "kid"), kid) ||
		    !hexn(json_object_get(r, "epk"), epk, 1, sizeof epk, &el) ||
		    !hexn(json_object_get(r, "wrapped"), wr, sizeof wr, sizeof wr, &wl))
			return fail(why, VG_ERR_INVALID, "bundle encryption: recipient %zu malformed",
				    i);
		if (p->cek || !p->unwrap || rc == VG_OK)
			continue; /* every recipient still checked for form */
		rc = p->unwrap(p->unwrap_ctx, kid, epk, el, wr, b->cek);
		if (rc != VG_OK && rc != VG_ERR_NOT_FOUND && rc != VG_ERR_VERIFY_FAILED)
			return fail(why, rc, "bundle encryption: cannot unwrap the content key");
	}
	if (p->cek) {
		memcpy(b->cek, p->cek, VG_WRAP_CEK_LEN);
		return VG_OK;
	}
	if (rc != VG_OK)
		return fail(why, VG_ERR_DENIED,
			    "the bundle is encrypted for other devices: none of its %zu recipient "
			    "keys is this device's update key or its fleet key",
			    json_array_size(rs));
	return VG_OK;
}

static vg_rc parse_signed(vg_bundle *b, const json_t *s, const vg_bundle_policy *p, char *why)
{
	const json_t *imgs = json_object_get(s, "images"), *plat = json_object_get(s, "platform"),
		     *enc = json_object_get(s, "encryption");
	uint64_t fmt = 0, cs = 0, total = 0;
	const char *ver;
	size_t i;
	json_t *im;

	if (!json_is_object(s) ||
	    !json_is_string(json_object_get(s, "_type")) ||
	    strcmp(json_string_value(json_object_get(s, "_type")), "voxguard-bundle") != 0)
		return fail(why, VG_ERR_INVALID, "not a voxguard bundle manifest");
	if (!u64_of(s, "format", UINT32_MAX, &fmt) || fmt < 1 || fmt > 2)
		return fail(why, VG_ERR_UNSUPPORTED,
			    "bundle format %" PRIu64 " not supported (this is 1: plain, 2: encrypted)",
			    fmt);
	if ((fmt == 2) != (enc != NULL))
		return fail(why, VG_ERR_INVALID,
			    "bundle manifest: format 2 and an encryption object go together");
	ver = text_of(s, "version", sizeof b->version);
	if (!ver || !u64_of(s, "security_version", INT64_MAX, &b->security_version) ||
	    !u64_of(s, "chunk_size", 16u << 20, &cs) || cs < 4096 || (cs & (cs - 1)))
		return fail(why, VG_ERR_INVALID, "bundle manifest: bad version or chunk size");
	strcpy(b->version, ver);
	b->chunk_size = (uint32_t)cs;
	if (plat && p->oem) {
		const char *o = text_of(plat, "oem", 64), *m = text_of(plat, "model", 64),
			   *h = text_of(plat, "hw_rev", 32);
		if (!o || !m || !h)
			return fail(why, VG_ERR_INVALID, "bundle manifest: bad platform");
		if (strcmp(o, p->oem) || strcmp(m, p->model) || strcmp(h, p->hw_rev))
			return fail(why, VG_ERR_STATE,
				    "the bundle is for %s %s rev %s, this device is %s %s rev %s", o,
				    m, h, p->oem, p->model, p->hw_rev);
	}
	if (b->security_version < p->min_security_version)
		return fail(why, VG_ERR_ROLLBACK,
			    "bundle security version %" PRIu64 " is below the device's minimum %" PRIu64
			    " (a downgrade)",
			    b->security_version, p->min_security_version);
	if (!json_is_array(imgs) || json_array_size(imgs) == 0 ||
	    json_array_size(imgs) > VG_BUNDLE_MAX_IMAGES)
		return fail(why, VG_ERR_INVALID, "bundle manifest: 1 to %u images",
			    VG_BUNDLE_MAX_IMAGES);
	json_array_foreach(imgs, i, im) {
		vg_bundle_image_info *info = &b->img[i];
		const json_t *ch = json_object_get(im, "chunks");
		const char *name = text_of(im, "name", sizeof info->name);
		uint64_t want;
		size_t j;
		json_t *c;
		if (!name || !u64_of(im, "size", INT64_MAX, &info->size) ||
		    !hex32(json_object_get(im, "sha256"), info->sha256) || !json_is_array(ch))
			return fail(why, VG_ERR_INVALID, "bundle manifest: image %zu malformed", i);
		for (size_t k = 0; k < i; k++)
			if (strcmp(b->img[k].name, name) == 0)
				return fail(why, VG_ERR_INVALID, "image %s listed twice", name);
		strcpy(info->name, name);
		want = info->size ? (info->size - 1) / cs + 1 : 0;
		if (json_array_size(ch) != want)
			return fail(why, VG_ERR_INVALID,
				    "image %s: %zu chunk hashes for %" PRIu64 " chunks", name,
				    json_array_size(ch), want);
		info->n_chunks = want;
		b->chunks[i] = want ? calloc((size_t)want, 32) : NULL;
		if (want && !b->chunks[i])
			return VG_ERR_NOMEM;
		json_array_foreach(ch, j, c) if (!hex32(c, b->chunks[i][j])) return fail(
		    why, VG_ERR_INVALID, "image %s: chunk hash %zu malformed", name, j);
		if (info->size > UINT64_MAX / 2 - total)
			return fail(why, VG_ERR_INVALID, "images too large");
		total += info->size;
		b->n++;
	}
	return enc ? take_key(b, enc, p, why) : VG_OK;
}

static vg_rc verify_sig(const json_t *doc, const vg_bundle_policy *p, char *why)
{
	uint8_t keyid[32], want[32];
	char *canon = NULL;
	size_t clen = 0, i;
	json_t *s;
	vg_rc rc;

	if (vg_manifest_keyid(p->release_key, p->release_key_len, want) != VG_OK)
		return VG_ERR_CRYPTO;
	rc = vg_canonical_json(json_object_get(doc, "signed"), &canon, &clen);
	if (rc != VG_OK)
		return fail(why, VG_ERR_INVALID, "bundle manifest: not canonical-JSON encodable");
	rc = VG_ERR_VERIFY_FAILED;
	json_array_foreach(json_object_get(doc, "signatures"), i, s) {
		const char *sig = json_string_value(json_object_get(s, "sig"));
		uint8_t raw[160];
		size_t rl = 0;
		if (!hex32(json_object_get(s, "keyid"), keyid) || memcmp(keyid, want, 32) != 0 ||
		    !sig || strlen(sig) > 2 * sizeof raw ||
		    !vg_hex_decode(sig, raw, sizeof raw, &rl))
			continue;
		if (vg_pubkey_verify(p->release_key, p->release_key_len, (const uint8_t *)canon,
				     clen, raw, rl) == VG_OK) {
			rc = VG_OK;
			break;
		}
	}
	free(canon);
	return rc == VG_OK ? VG_OK
			   : fail(why, rc, "the bundle is not signed by the device's release key");
}

/* Reads the header and the manifest bytes of the bundle open on fd. */
static vg_rc read_manifest(int fd, const char *path, uint8_t **m, size_t *len, char *why)
{
	uint8_t hdr[HDR_LEN];
	uint32_t mlen;
	vg_rc rc;

	*m = NULL;
	*len = 0;
	rc = vg_pread_all(fd, hdr, HDR_LEN, 0);
	if (rc != VG_OK || memcmp(hdr, VG_BUNDLE_MAGIC, 8) != 0)
		return fail(why, VG_ERR_INVALID, "%s: not a voxguard bundle", path);
	mlen = (uint32_t)hdr[8] << 24 | (uint32_t)hdr[9] << 16 | (uint32_t)hdr[10] << 8 | hdr[11];
	if (mlen == 0 || mlen > VG_BUNDLE_MAX_MANIFEST)
		return fail(why, VG_ERR_INVALID, "%s: manifest length %" PRIu32 " out of range", path,
			    mlen);
	*m = malloc(mlen);
	if (!*m)
		return VG_ERR_NOMEM;
	rc = vg_pread_all(fd, *m, mlen, HDR_LEN);
	if (rc != VG_OK) {
		free(*m);
		*m = NULL;
		return fail(why, VG_ERR_INVALID, "%s: truncated manifest", path);
	}
	*len = mlen;
	return VG_OK;
}

vg_rc vg_bundle_read_manifest(const char *path, uint8_t **m, size_t *len, char *why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	vg_rc rc;

	*m = NULL;
	*len = 0;
	if (fd < 0)
		return fail(why, errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO, "%s: %s", path,
			    strerror(errno));
	rc = read_manifest(fd, path, m, len, why);
	(void)close(fd);
	return rc;
}

/* Parses and checks manifest bytes into b: signature first, then policy. */
static vg_rc parse_manifest(vg_bundle *b, const uint8_t *m, size_t mlen, const vg_bundle_policy *p,
			    char *why)
{
	json_error_t err;
	json_t *doc;
	unsigned int hl = 0;
	vg_rc rc;

	if (mlen == 0 || mlen > VG_BUNDLE_MAX_MANIFEST)
		return fail(why, VG_ERR_INVALID, "manifest length %zu out of range", mlen);
	if (EVP_Digest(m, mlen, b->id, &hl, EVP_sha256(), NULL) != 1)
		return VG_ERR_CRYPTO;
	doc = json_loadb((const char *)m, mlen, JSON_REJECT_DUPLICATES, &err);
	if (!doc || !json_is_object(json_object_get(doc, "signed")) ||
	    !json_is_array(json_object_get(doc, "signatures"))) {
		json_decref(doc);
		return fail(why, VG_ERR_INVALID, "the bundle manifest is not {signed, signatures}");
	}
	/* The signature first: nothing unsigned is interpreted. */
	rc = verify_sig(doc, p, why);
	if (rc == VG_OK)
		rc = parse_signed(b, json_object_get(doc, "signed"), p, why);
	json_decref(doc);
	if (rc != VG_OK)
		return rc;
	b->payload_off = HDR_LEN + (uint64_t)mlen;
	for (size_t i = 0, at = 0; i < b->n; i++) {
		b->img_off[i] = at;
		at += stored_size(b, &b->img[i]);
	}
	return VG_OK;
}

vg_rc vg_bundle_open_manifest(vg_bundle **out, const uint8_t *m, size_t len,
			      const vg_bundle_policy *p, char *why)
{
	vg_bundle *b = calloc(1, sizeof *b);
	vg_rc rc;

	*out = NULL;
	if (!b)
		return VG_ERR_NOMEM;
	b->fd = -1;
	rc = parse_manifest(b, m, len, p, why);
	if (rc != VG_OK) {
		vg_bundle_close(&b);
		return rc;
	}
	*out = b;
	return VG_OK;
}

vg_rc vg_bundle_open(vg_bundle **out, const char *path, const vg_bundle_policy *p, char *why)
{
	vg_bundle *b = calloc(1, sizeof *b);
	uint8_t *m = NULL;
	size_t mlen = 0;
	struct stat st;
	uint64_t total = 0;
	vg_rc rc;

	*out = NULL;
	if (!b)
		return VG_ERR_NOMEM;
	b->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (b->fd < 0) {
		free(b);
		return fail(why, errno == ENOENT ? VG_ERR_NOT_FOUND : VG_ERR_IO, "%s: %s", path,
			    strerror(errno));
	}
	rc = read_manifest(b->fd, path, &m, &mlen, why);
	if (rc == VG_OK)
		rc = parse_manifest(b, m, mlen, p, why);
	if (rc != VG_OK)
		goto out;
	for (size_t i = 0; i < b->n; i++)
		total += stored_size(b, &b->img[i]);
	if (fstat(b->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size != b->payload_off + total)
		rc = fail(why, VG_ERR_INTEGRITY,
			  "%s: %" PRIu64 " bytes, the manifest accounts for %" PRIu64
			  " (truncated or extended)",
			  path, (uint64_t)st.st_size, b->payload_off + total);
out:
	free(m);
	if (rc != VG_OK) {
		vg_bundle_close(&b);
		return rc;
	}
	*out = b;
	return VG_OK;
}

void vg_bundle_close(vg_bundle **pb)
{
	if (!pb || !*pb)
		return;
	if ((*pb)->fd >= 0)
		(void)close((*pb)->fd);
	vg_secret_free((*pb)->cek, VG_WRAP_CEK_LEN);
	for (size_t i = 0; i < VG_BUNDLE_MAX_IMAGES; i++)
		free((*pb)->chunks[i]);
	free(*pb);
	*pb = NULL;
}

const char *vg_bundle_version(const vg_bundle *b)
{
	return b->version;
}

uint64_t vg_bundle_security_version(const vg_bundle *b)
{
	return b->security_version;
}

void vg_bundle_id(const vg_bundle *b, uint8_t id[static 32])
{
	memcpy(id, b->id, 32);
}

bool vg_bundle_encrypted(const vg_bundle *b)
{
	return b->encrypted;
}

bool vg_bundle_cek(const vg_bundle *b, uint8_t cek[static 32])
{
	if (!b->encrypted)
		return false;
	memcpy(cek, b->cek, VG_WRAP_CEK_LEN);
	return true;
}

size_t vg_bundle_n_images(const vg_bundle *b)
{
	return b->n;
}

const vg_bundle_image_info *vg_bundle_image(const vg_bundle *b, size_t i)
{
	return i < b->n ? &b->img[i] : NULL;
}

/* ---- installing: verify each chunk, then write it ---- */

static vg_rc open_slot(const char *slot, uint64_t size, bool resume, int *fd, bool *is_file,
		       char *why)
{
	struct stat st;
	uint64_t have = 0;

	*fd = open(slot, (resume ? O_RDWR : O_WRONLY) | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (*fd < 0)
		return fail(why, VG_ERR_IO, "slot %s: %s", slot, strerror(errno));
	if (fstat(*fd, &st) != 0)
		return fail(why, VG_ERR_IO, "slot %s: cannot stat", slot);
	*is_file = S_ISREG(st.st_mode);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(*fd, BLKGETSIZE64, &have) != 0 || have < size)
			return fail(why, VG_ERR_TOO_LARGE,
				    "slot %s holds %" PRIu64 " bytes, the image needs %" PRIu64
				    ": the slot is too small",
				    slot, have, size);
	} else if (!*is_file) {
		return fail(why, VG_ERR_INVALID, "slot %s: not a file or block device", slot);
	}
	return VG_OK;
}

/* Reads chunk c of image idx from the bundle into buf (n plaintext bytes),
 * decrypting it when the payload is encrypted. */
static vg_rc read_chunk(vg_bundle *b, size_t idx, uint64_t c, uint8_t *buf, size_t n,
			EVP_CIPHER_CTX *gcm, char *why)
{
	const vg_bundle_image_info *img = &b->img[idx];
	uint64_t at = b->payload_off + b->img_off[idx] +
		      c * ((uint64_t)b->chunk_size + (b->encrypted ? TAG_LEN : 0));
	size_t stored = n + (b->encrypted ? TAG_LEN : 0);
	uint8_t iv[12];
	int ol = 0, fl = 0;
	vg_rc rc = vg_pread_all(b->fd, buf, stored, at);

	if (rc == VG_ERR_INTEGRITY)
		return fail(why, rc, "image %s: the bundle ends in chunk %" PRIu64 " (truncated)",
			    img->name, c);
	if (rc != VG_OK)
		return fail(why, rc, "image %s: read error in chunk %" PRIu64, img->name, c);
	if (!b->encrypted)
		return VG_OK;
	chunk_iv(idx, c, iv);
	if (EVP_DecryptInit_ex2(gcm, EVP_aes_256_gcm(), b->cek, iv, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_TAG, TAG_LEN, buf + n) != 1 ||
	    EVP_DecryptUpdate(gcm, buf, &ol, buf, (int)n) != 1 ||
	    EVP_DecryptFinal_ex(gcm, buf + ol, &fl) != 1) {
		vg_wipe(buf, stored);
		return fail(why, VG_ERR_INTEGRITY,
			    "image %s: chunk %" PRIu64 " does not decrypt (wrong key or altered): "
			    "nothing of it was written",
			    img->name, c);
	}
	return VG_OK;
}

vg_rc vg_bundle_install_ex(vg_bundle *b, const char *name, const char *slot,
			   const vg_bundle_install_opts *o, vg_bundle_install_result *res, char *why)
{
	static const vg_bundle_install_opts none = {0};
	const vg_bundle_image_info *img = NULL;
	uint64_t done = 0, c = 0, wr = 0;
	uint8_t *buf = NULL, h[32], whole[32];
	EVP_MD_CTX *all = NULL;
	EVP_CIPHER_CTX *gcm = NULL;
	unsigned int hl = 0;
	bool is_file = false;
	int sfd = -1;
	size_t idx = 0, cap;
	vg_rc rc = VG_OK;

	if (!o)
		o = &none;
	if (res)
		*res = (vg_bundle_install_result){0};
	if (b->fd < 0)
		return fail(why, VG_ERR_STATE, "only the manifest of this bundle is open");
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->img[i].name, name) == 0) {
			img = &b->img[i];
			idx = i;
			break;
		}
	}
	if (!img)
		return fail(why, VG_ERR_NOT_FOUND, "the bundle has no image %s", name);
	cap = b->chunk_size + TAG_LEN;
	buf = b->encrypted ? vg_secret_alloc(cap) : malloc(cap);
	all = EVP_MD_CTX_new();
	gcm = b->encrypted ? EVP_CIPHER_CTX_new() : NULL;
	if (!buf || !all || (b->encrypted && !gcm) ||
	    EVP_DigestInit_ex(all, EVP_sha256(), NULL) != 1) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	if (slot) {
		rc = open_slot(slot, img->size, o->resume, &sfd, &is_file, why);
		if (rc != VG_OK)
			goto out;
	}
	/* Resume: the slot's leading chunks that match their signed hashes
	 * stay; writing starts at the first one that does not. */
	for (; o->resume && sfd >= 0 && c < img->n_chunks; c++) {
		size_t n = img->size - done < b->chunk_size ? (size_t)(img->size - done)
							    : b->chunk_size;
		if (vg_pread_all(sfd, buf, n, done) != VG_OK ||
		    EVP_Digest(buf, n, h, &hl, EVP_sha256(), NULL) != 1 ||
		    memcmp(h, b->chunks[idx][c], 32) != 0)
			break;
		if (EVP_DigestUpdate(all, buf, n) != 1) {
			rc = VG_ERR_CRYPTO;
			goto out;
		}
		done += n;
	}
	if (res)
		res->resumed = done;
	if (done && o->progress)
		o->progress(o->ctx, done, img->size);
	for (; c < img->n_chunks; c++) {
		size_t n = img->size - done < b->chunk_size ? (size_t)(img->size - done)
							    : b->chunk_size;
		rc = read_chunk(b, idx, c, buf, n, gcm, why);
		if (rc != VG_OK)
			goto out;
		if (EVP_Digest(buf, n, h, &hl, EVP_sha256(), NULL) != 1) {
			rc = VG_ERR_CRYPTO;
			goto out;
		}
		/* Verified before a byte of it reaches the slot. */
		if (memcmp(h, b->chunks[idx][c], 32) != 0) {
			rc = fail(why, VG_ERR_INTEGRITY,
				  "image %s: chunk %" PRIu64 " (bytes %" PRIu64 "..) does not match "
				  "its signed hash: nothing of it was written",
				  name, c, done);
			goto out;
		}
		if (EVP_DigestUpdate(all, buf, n) != 1) {
			rc = VG_ERR_CRYPTO;
			goto out;
		}
		if (sfd >= 0) {
			size_t wn = n;
			bool cut = false;
			if (o->fault_after && wr + n > o->fault_after) { /* tests: power cut */
				wn = n / 2;
				cut = true;
			}
			rc = vg_pwrite_all(sfd, buf, wn, done);
			if (rc != VG_OK) {
				rc = fail(why, rc, "slot %s: write error at byte %" PRIu64, slot, done);
				goto out;
			}
			wr += wn;
			if (res)
				res->written = wr;
			if (cut) {
				rc = fail(why, VG_ERR_IO, "slot %s: simulated power loss at byte %" PRIu64,
					  slot, done + wn);
				goto out;
			}
		}
		done += n;
		if (o->progress)
			o->progress(o->ctx, done, img->size);
	}
	if (EVP_DigestFinal_ex(all, whole, &hl) != 1 || memcmp(whole, img->sha256, 32) != 0) {
		rc = fail(why, VG_ERR_INTEGRITY, "image %s: the whole-image SHA-256 differs", name);
		goto out;
	}
	if (sfd >= 0 && ((is_file && ftruncate(sfd, (off_t)img->size) != 0) || fsync(sfd) != 0))
		rc = fail(why, VG_ERR_IO, "slot %s: cannot make it durable", slot);
out:
	if (sfd >= 0 && close(sfd) != 0 && rc == VG_OK)
		rc = VG_ERR_IO;
	EVP_CIPHER_CTX_free(gcm);
	EVP_MD_CTX_free(all);
	if (b->encrypted)
		vg_secret_free(buf, cap);
	else
		free(buf);
	return rc;
}

vg_rc vg_bundle_install(vg_bundle *b, const char *name, const char *slot, vg_bundle_progress cb,
			void *ctx, uint64_t *written, char *why)
{
	vg_bundle_install_opts o = {.progress = cb, .ctx = ctx};
	vg_bundle_install_result r;
	vg_rc rc = vg_bundle_install_ex(b, name, slot, &o, &r, why);

	if (written)
		*written = r.written;
	return rc;
}

/* ---- creating (host side) ---- */

static vg_rc hash_image(const char *path, uint64_t size, uint32_t cs, json_t *chunks,
			uint8_t whole[32], char *why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(cs), h[32];
	EVP_MD_CTX *all = EVP_MD_CTX_new();
	unsigned int hl = 0;
	uint64_t done = 0;
	vg_rc rc = VG_OK;

	if (fd < 0 || !buf || !all || EVP_DigestInit_ex(all, EVP_sha256(), NULL) != 1)
		rc = fail(why, VG_ERR_IO, "%s: cannot read", path);
	while (rc == VG_OK && done < size) {
		size_t n = size - done < cs ? (size_t)(size - done) : cs;
		char hex[65];
		rc = vg_pread_all(fd, buf, n, done);
		if (rc != VG_OK) {
			rc = fail(why, rc, "%s: changed while being read", path);
			break;
		}
		(void)EVP_Digest(buf, n, h, &hl, EVP_sha256(), NULL);
		(void)EVP_DigestUpdate(all, buf, n);
		vg_hex_encode(h, 32, hex);
		if (json_array_append_new(chunks, json_string(hex)) != 0)
			rc = VG_ERR_NOMEM;
		done += n;
	}
	if (rc == VG_OK && EVP_DigestFinal_ex(all, whole, &hl) != 1)
		rc = VG_ERR_CRYPTO;
	EVP_MD_CTX_free(all);
	free(buf);
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

/* Appends image idx (size bytes of path) at offset at of out; encrypted
 * chunk by chunk (ciphertext || tag) when cek is not NULL. *stored gets the
 * bytes written. */
static vg_rc append_file(int out, const char *path, uint64_t size, uint64_t at, size_t idx,
			 uint32_t cs, const uint8_t *cek, uint64_t *stored)
{
	size_t cap = cek ? cs + TAG_LEN : (1u << 16);
	uint8_t *buf = malloc(cap), iv[12];
	EVP_CIPHER_CTX *gcm = cek ? EVP_CIPHER_CTX_new() : NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t done = 0, put = 0, c = 0;
	vg_rc rc = VG_OK;

	if (fd < 0 || !buf || (cek && !gcm))
		rc = VG_ERR_IO;
	while (rc == VG_OK && done < size) {
		size_t step = cek ? cs : cap, n = size - done < step ? (size_t)(size - done) : step,
		       m = n;
		int ol = 0, fl = 0;
		rc = vg_pread_all(fd, buf, n, done);
		if (rc == VG_OK && cek) {
			chunk_iv(idx, c++, iv);
			if (EVP_EncryptInit_ex2(gcm, EVP_aes_256_gcm(), cek, iv, NULL) != 1 ||
			    EVP_EncryptUpdate(gcm, buf, &ol, buf, (int)n) != 1 ||
			    EVP_EncryptFinal_ex(gcm, buf + ol, &fl) != 1 ||
			    EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + n) != 1)
				rc = VG_ERR_CRYPTO;
			m = n + TAG_LEN;
		}
		if (rc == VG_OK)
			rc = vg_pwrite_all(out, buf, m, at + put);
		done += n;
		put += m;
	}
	*stored = put;
	EVP_CIPHER_CTX_free(gcm);
	free(buf);
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

/* The encryption object of a format 2 manifest: cek wrapped for each
 * recipient. */
static vg_rc encryption_of(const vg_bundle_spec *s, const uint8_t *cek, json_t **out, char *why)
{
	json_t *rs = json_array();
	vg_rc rc = rs ? VG_OK : VG_ERR_NOMEM;

	for (size_t i = 0; rc == VG_OK && i < s->n_recipients; i++) {
		uint8_t kid[32], epk[VG_WRAP_EPK_MAX], wr[VG_WRAP_WRAPPED_LEN];
		char hk[65], he[2 * VG_WRAP_EPK_MAX + 1], hw[2 * VG_WRAP_WRAPPED_LEN + 1];
		size_t el = 0;
		rc = vg_wrap_kid(s->recipients[i], kid);
		if (rc == VG_OK)
			rc = vg_wrap_key(s->recipients[i], cek, epk, &el, wr);
		if (rc != VG_OK) {
			rc = fail(why, VG_ERR_INVALID, "recipient %zu: not a P-256 public key", i + 1);
			break;
		}
		vg_hex_encode(kid, 32, hk);
		vg_hex_encode(epk, el, he);
		vg_hex_encode(wr, sizeof wr, hw);
		if (json_array_append_new(rs, json_pack("{s:s, s:s, s:s}", "kid", hk, "epk", he,
							 "wrapped", hw)) != 0)
			rc = VG_ERR_NOMEM;
	}
	if (rc != VG_OK) {
		json_decref(rs);
		return rc;
	}
	*out = json_pack("{s:s, s:s, s:o}", "alg", "A256GCM", "key_alg", VG_BUNDLE_KEY_ALG,
			 "recipients", rs);
	return *out ? VG_OK : VG_ERR_NOMEM;
}

vg_rc vg_bundle_create(const char *out, const vg_bundle_spec *s, EVP_PKEY *priv, char *why)
{
	uint32_t cs = s->chunk_size ? s->chunk_size : (1u << 20);
	json_t *doc = NULL, *sg, *imgs;
	uint64_t sizes[VG_BUNDLE_MAX_IMAGES], at;
	uint8_t *der = NULL, keyid[32], sig[160];
	char *canon = NULL, *txt = NULL, hex[2 * sizeof sig + 1], kid[65], tmp[4096];
	size_t clen = 0, sl = sizeof sig, tl;
	EVP_MD_CTX *ctx = NULL;
	int dl, fd = -1;
	vg_rc rc = VG_OK;

	uint8_t *cek = NULL;

	if (s->n_recipients > VG_BUNDLE_MAX_RECIPIENTS)
		return fail(why, VG_ERR_INVALID, "at most %u recipients", VG_BUNDLE_MAX_RECIPIENTS);
	if (s->n == 0 || s->n > VG_BUNDLE_MAX_IMAGES || cs < 4096 || cs > (16u << 20) ||
	    (cs & (cs - 1)) || !s->version || !vg_manifest_text_ok(s->version, 64))
		return fail(why, VG_ERR_INVALID, "bundle: 1 to %u images, a version, a chunk size "
						 "of 2^k in 4 KiB..16 MiB",
			    VG_BUNDLE_MAX_IMAGES);
	sg = json_pack("{s:s, s:i, s:s, s:I, s:I}", "_type", "voxguard-bundle", "format",
		       s->n_recipients ? 2 : 1,
		       "version", s->version, "security_version", (json_int_t)s->security_version,
		       "chunk_size", (json_int_t)cs);
	imgs = json_array();
	if (!sg || !imgs) {
		json_decref(sg);
		json_decref(imgs);
		return VG_ERR_NOMEM;
	}
	if (s->oem)
		(void)json_object_set_new(sg, "platform",
					  json_pack("{s:s, s:s, s:s}", "oem", s->oem, "model",
						    s->model, "hw_rev", s->hw_rev));
	for (size_t i = 0; i < s->n && rc == VG_OK; i++) {
		char mwhy[VG_MEASURE_WHY_LEN] = "", wh[65];
		uint8_t whole[32];
		json_t *chunks = json_array();
		if (!vg_manifest_text_ok(s->names[i], 32)) {
			json_decref(chunks);
			rc = fail(why, VG_ERR_INVALID, "image name '%s': up to 31 printable characters",
				  s->names[i]);
			break;
		}
		rc = vg_measure_size(s->files[i], &sizes[i], mwhy);
		if (rc != VG_OK) {
			json_decref(chunks);
			rc = fail(why, rc, "%s", mwhy);
			break;
		}
		rc = hash_image(s->files[i], sizes[i], cs, chunks, whole, why);
		vg_hex_encode(whole, 32, wh);
		(void)json_array_append_new(imgs,
					    json_pack("{s:s, s:I, s:s, s:o}", "name", s->names[i],
						      "size", (json_int_t)sizes[i], "sha256", wh,
						      "chunks", chunks));
	}
	(void)json_object_set_new(sg, "images", imgs);
	if (rc == VG_OK && s->n_recipients) {
		json_t *enc = NULL;
		cek = vg_secret_alloc(VG_WRAP_CEK_LEN);
		if (!cek || RAND_priv_bytes(cek, VG_WRAP_CEK_LEN) != 1)
			rc = VG_ERR_CRYPTO;
		if (rc == VG_OK)
			rc = encryption_of(s, cek, &enc, why);
		if (rc == VG_OK)
			(void)json_object_set_new(sg, "encryption", enc);
	}
	doc = json_pack("{s:o, s:[]}", "signed", sg, "signatures");
	if (rc == VG_OK && !doc)
		rc = VG_ERR_NOMEM;
	/* The signature, by the release key over the canonical JSON. */
	if (rc == VG_OK)
		rc = vg_canonical_json(sg, &canon, &clen);
	if (rc == VG_OK && ((dl = i2d_PUBKEY(priv, &der)) <= 0 ||
			    vg_manifest_keyid(der, (size_t)dl, keyid) != VG_OK))
		rc = VG_ERR_CRYPTO;
	if (rc == VG_OK) {
		ctx = EVP_MD_CTX_new();
		if (!ctx ||
		    EVP_DigestSignInit_ex(ctx, NULL, EVP_PKEY_is_a(priv, "ED25519") ? NULL : "SHA256",
					  NULL, NULL, priv, NULL) != 1 ||
		    EVP_DigestSign(ctx, sig, &sl, (const uint8_t *)canon, clen) != 1)
			rc = fail(why, VG_ERR_CRYPTO, "cannot sign with that key");
	}
	if (rc == VG_OK) {
		vg_hex_encode(sig, sl, hex);
		vg_hex_encode(keyid, 32, kid);
		(void)json_array_append_new(json_object_get(doc, "signatures"),
					    json_pack("{s:s, s:s}", "keyid", kid, "sig", hex));
		txt = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		if (!txt || strlen(txt) > VG_BUNDLE_MAX_MANIFEST)
			rc = fail(why, VG_ERR_TOO_LARGE, "bundle manifest too large");
	}
	/* Header, manifest, images; written to a temporary, then renamed. */
	if (rc == VG_OK && (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", out) >= sizeof tmp)
		rc = VG_ERR_TOO_LARGE;
	if (rc == VG_OK && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		rc = fail(why, VG_ERR_IO, "cannot create %s", tmp);
	if (rc == VG_OK) {
		uint8_t hdr[HDR_LEN];
		tl = strlen(txt);
		memcpy(hdr, VG_BUNDLE_MAGIC, 8);
		hdr[8] = (uint8_t)(tl >> 24);
		hdr[9] = (uint8_t)(tl >> 16);
		hdr[10] = (uint8_t)(tl >> 8);
		hdr[11] = (uint8_t)tl;
		rc = vg_pwrite_all(fd, hdr, HDR_LEN, 0);
		if (rc == VG_OK)
			rc = vg_pwrite_all(fd, txt, tl, HDR_LEN);
		at = HDR_LEN + (uint64_t)tl;
		for (size_t i = 0; rc == VG_OK && i < s->n; i++) {
			uint64_t put = 0;
			rc = append_file(fd, s->files[i], sizes[i], at, i, cs, cek, &put);
			at += put;
		}
		if (rc == VG_OK && fsync(fd) != 0)
			rc = VG_ERR_IO;
		if (close(fd) != 0 && rc == VG_OK)
			rc = VG_ERR_IO;
		if (rc == VG_OK && rename(tmp, out) != 0)
			rc = VG_ERR_IO;
		if (rc != VG_OK) {
			(void)unlink(tmp);
			if (why && !why[0])
				(void)fail(why, rc, "cannot write %s", out);
		}
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	vg_secret_free(cek, VG_WRAP_CEK_LEN);
	free(canon);
	free(txt);
	json_decref(doc);
	return rc;
}
