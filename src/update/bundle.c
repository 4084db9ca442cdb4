/*
 * bundle.c - update bundles (contract in bundle.h).
 */
#include "update/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "common/canonjson.h"
#include "crypto/pubkey.h"
#include "platform/manifest.h"
#include "platform/measure.h"

#define HDR_LEN 12u

struct vg_bundle {
	int fd;
	char version[64];
	uint64_t security_version;
	uint32_t chunk_size;
	uint64_t payload_off;
	size_t n;
	vg_bundle_image_info img[VG_BUNDLE_MAX_IMAGES];
	uint8_t (*chunks[VG_BUNDLE_MAX_IMAGES])[32]; /* signed chunk hashes */
};

__attribute__((format(printf, 3, 4))) static vg_rc fail(char *why, vg_rc rc, const char *fmt, ...)
{
	va_list ap;

	if (why) {
		va_start(ap, fmt);
		(void)vsnprintf(why, VG_BUNDLE_WHY_LEN, fmt, ap);
		va_end(ap);
	}
	return rc;
}

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

static vg_rc parse_signed(vg_bundle *b, const json_t *s, const vg_bundle_policy *p, char *why)
{
	const json_t *imgs = json_object_get(s, "images"), *plat = json_object_get(s, "platform");
	uint64_t fmt = 0, cs = 0, total = 0;
	const char *ver;
	size_t i;
	json_t *im;

	if (!json_is_object(s) ||
	    !json_is_string(json_object_get(s, "_type")) ||
	    strcmp(json_string_value(json_object_get(s, "_type")), "voxguard-bundle") != 0)
		return fail(why, VG_ERR_INVALID, "not a voxguard bundle manifest");
	if (!u64_of(s, "format", UINT32_MAX, &fmt) || fmt != 1)
		return fail(why, VG_ERR_UNSUPPORTED, "bundle format %" PRIu64 " not supported",
			    fmt);
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
	return VG_OK;
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

vg_rc vg_bundle_open(vg_bundle **out, const char *path, const vg_bundle_policy *p, char *why)
{
	vg_bundle *b = calloc(1, sizeof *b);
	uint8_t hdr[HDR_LEN];
	char *m = NULL;
	uint32_t mlen;
	json_error_t err;
	json_t *doc = NULL;
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
	rc = vg_pread_all(b->fd, hdr, HDR_LEN, 0);
	if (rc != VG_OK || memcmp(hdr, VG_BUNDLE_MAGIC, 8) != 0) {
		rc = fail(why, VG_ERR_INVALID, "%s: not a voxguard bundle (format 1)", path);
		goto out;
	}
	mlen = (uint32_t)hdr[8] << 24 | (uint32_t)hdr[9] << 16 | (uint32_t)hdr[10] << 8 | hdr[11];
	if (mlen == 0 || mlen > VG_BUNDLE_MAX_MANIFEST) {
		rc = fail(why, VG_ERR_INVALID, "%s: manifest length %" PRIu32 " out of range", path,
			  mlen);
		goto out;
	}
	m = malloc(mlen);
	if (!m) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	rc = vg_pread_all(b->fd, m, mlen, HDR_LEN);
	if (rc != VG_OK) {
		rc = fail(why, VG_ERR_INVALID, "%s: truncated manifest", path);
		goto out;
	}
	doc = json_loadb(m, mlen, JSON_REJECT_DUPLICATES, &err);
	if (!doc || !json_is_object(json_object_get(doc, "signed")) ||
	    !json_is_array(json_object_get(doc, "signatures"))) {
		rc = fail(why, VG_ERR_INVALID, "%s: the manifest is not {signed, signatures}", path);
		goto out;
	}
	/* The signature first: nothing unsigned is interpreted. */
	rc = verify_sig(doc, p, why);
	if (rc == VG_OK)
		rc = parse_signed(b, json_object_get(doc, "signed"), p, why);
	if (rc != VG_OK)
		goto out;
	b->payload_off = HDR_LEN + (uint64_t)mlen;
	for (size_t i = 0; i < b->n; i++)
		total += b->img[i].size;
	if (fstat(b->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size != b->payload_off + total)
		rc = fail(why, VG_ERR_INTEGRITY,
			  "%s: %" PRIu64 " bytes, the manifest accounts for %" PRIu64
			  " (truncated or extended)",
			  path, (uint64_t)st.st_size, b->payload_off + total);
out:
	json_decref(doc);
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

size_t vg_bundle_n_images(const vg_bundle *b)
{
	return b->n;
}

const vg_bundle_image_info *vg_bundle_image(const vg_bundle *b, size_t i)
{
	return i < b->n ? &b->img[i] : NULL;
}

/* ---- installing: verify each chunk, then write it ---- */

static vg_rc open_slot(const char *slot, uint64_t size, int *fd, bool *is_file, char *why)
{
	struct stat st;
	uint64_t have = 0;

	*fd = open(slot, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
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

vg_rc vg_bundle_install(vg_bundle *b, const char *name, const char *slot, vg_bundle_progress cb,
			void *ctx, uint64_t *written, char *why)
{
	const vg_bundle_image_info *img = NULL;
	uint64_t off, done = 0;
	uint8_t *buf = NULL, h[32], whole[32];
	EVP_MD_CTX *all = NULL;
	unsigned int hl = 0;
	bool is_file = false;
	int sfd = -1;
	size_t idx = 0;
	vg_rc rc = VG_OK;

	if (written)
		*written = 0;
	off = b->payload_off;
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->img[i].name, name) == 0) {
			img = &b->img[i];
			idx = i;
			break;
		}
		off += b->img[i].size;
	}
	if (!img)
		return fail(why, VG_ERR_NOT_FOUND, "the bundle has no image %s", name);
	buf = malloc(b->chunk_size);
	all = EVP_MD_CTX_new();
	if (!buf || !all || EVP_DigestInit_ex(all, EVP_sha256(), NULL) != 1) {
		rc = VG_ERR_NOMEM;
		goto out;
	}
	if (slot) {
		rc = open_slot(slot, img->size, &sfd, &is_file, why);
		if (rc != VG_OK)
			goto out;
	}
	for (uint64_t c = 0; c < img->n_chunks; c++) {
		size_t n = img->size - done < b->chunk_size ? (size_t)(img->size - done)
							    : b->chunk_size;
		rc = vg_pread_all(b->fd, buf, n, off + done);
		if (rc == VG_ERR_INTEGRITY) {
			rc = fail(why, rc, "image %s: the bundle ends in chunk %" PRIu64 " (truncated)",
				  name, c);
			goto out;
		}
		if (rc != VG_OK) {
			rc = fail(why, rc, "image %s: read error in chunk %" PRIu64, name, c);
			goto out;
		}
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
			rc = vg_pwrite_all(sfd, buf, n, done);
			if (rc != VG_OK) {
				rc = fail(why, rc, "slot %s: write error at byte %" PRIu64, slot, done);
				goto out;
			}
			if (written)
				*written += n;
		}
		done += n;
		if (cb)
			cb(ctx, done, img->size);
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
	EVP_MD_CTX_free(all);
	free(buf);
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

static vg_rc append_file(int out, const char *path, uint64_t size, uint64_t at)
{
	uint8_t buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t done = 0;
	vg_rc rc = VG_OK;

	if (fd < 0)
		return VG_ERR_IO;
	while (rc == VG_OK && done < size) {
		size_t n = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;
		rc = vg_pread_all(fd, buf, n, done);
		if (rc == VG_OK)
			rc = vg_pwrite_all(out, buf, n, at + done);
		done += n;
	}
	(void)close(fd);
	return rc;
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

	if (s->n == 0 || s->n > VG_BUNDLE_MAX_IMAGES || cs < 4096 || cs > (16u << 20) ||
	    (cs & (cs - 1)) || !s->version || !vg_manifest_text_ok(s->version, 64))
		return fail(why, VG_ERR_INVALID, "bundle: 1 to %u images, a version, a chunk size "
						 "of 2^k in 4 KiB..16 MiB",
			    VG_BUNDLE_MAX_IMAGES);
	sg = json_pack("{s:s, s:i, s:s, s:I, s:I}", "_type", "voxguard-bundle", "format", 1,
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
			rc = append_file(fd, s->files[i], sizes[i], at);
			at += sizes[i];
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
	free(canon);
	free(txt);
	json_decref(doc);
	return rc;
}
