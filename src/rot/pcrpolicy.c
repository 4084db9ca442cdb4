/*
 * pcrpolicy.c - signed PCR policies (pcrpolicy.h).
 */
#include "rot/pcrpolicy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/util.h"
#include "crypto/seal.h"

/* TPM 2.0 Part 2, table 12: command codes. */
#define CC_POLICY_PCR       0x0000017Fu
#define CC_POLICY_AUTHORIZE 0x0000016Au
#define ALG_SHA256          0x000Bu

static vg_rc bad(char *why, size_t wl, vg_rc rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static vg_rc bad(char *why, size_t wl, vg_rc rc, const char *fmt, ...)
{
	va_list ap;

	if (why && wl) {
		va_start(ap, fmt);
		(void)vsnprintf(why, wl, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool hex_exact(const char *s, size_t n, uint8_t *out, size_t out_len)
{
	char buf[2 * (VG_ROT_PCRS * 32) + 1];
	size_t got = 0;

	if (n != 2 * out_len || n >= sizeof buf)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return vg_hex_decode(buf, out, out_len, &got) && got == out_len;
}

/* "0,2,4": ascending, no leading zeros, each below VG_ROT_PCRS. */
static bool parse_mask(const char *s, size_t n, uint32_t *mask)
{
	uint32_t m = 0;
	int last = -1;
	size_t i = 0;

	while (i < n) {
		unsigned v = 0;
		size_t d = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && d < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
			d++;
		}
		if (d == 0 || (d > 1 && s[i - d] == '0') || v >= VG_ROT_PCRS || (int)v <= last)
			return false;
		m |= 1u << v;
		last = (int)v;
		if (i < n) {
			if (s[i] != ',' || i + 1 == n)
				return false;
			i++;
		}
	}
	*mask = m;
	return m != 0;
}

static unsigned popcount(uint32_t m)
{
	unsigned k = 0;

	for (; m; m &= m - 1)
		k++;
	return k;
}

/* One line, without its newline: "sha256:PCRS VALUES SIG". */
static vg_rc parse_line(const char *s, size_t n, vg_pcrpol_entry *e)
{
	const char *sp1, *sp2;
	size_t k;

	if (n < 7 || memcmp(s, "sha256:", 7) != 0)
		return VG_ERR_INVALID;
	s += 7;
	n -= 7;
	sp1 = memchr(s, ' ', n);
	if (!sp1)
		return VG_ERR_INVALID;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (!sp2 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - s)))
		return VG_ERR_INVALID;
	if (!parse_mask(s, (size_t)(sp1 - s), &e->mask))
		return VG_ERR_INVALID;
	k = 0;
	{
		uint8_t v[VG_ROT_PCRS * 32];
		unsigned cnt = popcount(e->mask);

		if (!hex_exact(sp1 + 1, (size_t)(sp2 - sp1 - 1), v, cnt * 32u))
			return VG_ERR_INVALID;
		for (unsigned i = 0; i < VG_ROT_PCRS; i++)
			if (e->mask & (1u << i))
				memcpy(e->values[i], v + 32 * k++, 32);
	}
	k = n - (size_t)(sp2 + 1 - s);
	if (k % 2 || k / 2 < 8 || k / 2 > 72 || k / 2 > sizeof e->sig)
		return VG_ERR_INVALID;
	for (size_t i = 0; i < k; i++) {
		char c = sp2[1 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return VG_ERR_INVALID;
	}
	{
		char buf[2 * 72 + 1];
		size_t got = 0;
		memcpy(buf, sp2 + 1, k);
		buf[k] = '\0';
		if (!vg_hex_decode(buf, e->sig, sizeof e->sig, &got) || got != k / 2)
			return VG_ERR_INVALID;
		e->sig_len = got;
	}
	return VG_OK;
}

vg_rc vg_pcrpol_parse(const char *text, size_t len, vg_pcrpol_entry **out, size_t *n, char *why,
		      size_t why_len)
{
	vg_pcrpol_entry *e = NULL;
	size_t cnt = 0, off = 0;
	unsigned line = 0;
	vg_rc rc = VG_OK;

	*out = NULL;
	*n = 0;
	if (len > VG_PCRPOL_MAX_FILE)
		return bad(why, why_len, VG_ERR_TOO_LARGE, "larger than %u bytes",
			   VG_PCRPOL_MAX_FILE);
	if (memchr(text, '\0', len))
		return bad(why, why_len, VG_ERR_INVALID, "a NUL byte in the file");
	e = calloc(VG_PCRPOL_MAX_ENTRIES, sizeof *e);
	if (!e)
		return VG_ERR_NOMEM;
	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t l = nl ? (size_t)(nl - s) : len - off;

		off += l + (nl ? 1 : 0);
		line++;
		if (l == 0 || s[0] == '#')
			continue;
		if (cnt == VG_PCRPOL_MAX_ENTRIES) {
			rc = bad(why, why_len, VG_ERR_TOO_LARGE, "line %u: more than %u entries",
				 line, VG_PCRPOL_MAX_ENTRIES);
			break;
		}
		memset(&e[cnt], 0, sizeof e[cnt]);
		rc = parse_line(s, l, &e[cnt]);
		if (rc != VG_OK) {
			(void)bad(why, why_len, rc,
				  "line %u: not \"sha256:PCRS VALUES SIGNATURE\" (ascending "
				  "PCRs below %u, 64 lower-case hex digits per PCR, a DER "
				  "signature in hex)",
				  line, VG_ROT_PCRS);
			break;
		}
		e[cnt++].line = line;
	}
	if (rc == VG_OK && cnt == 0)
		rc = bad(why, why_len, VG_ERR_INVALID, "no entry");
	if (rc != VG_OK) {
		free(e);
		return rc;
	}
	*out = e;
	*n = cnt;
	return VG_OK;
}

vg_rc vg_pcrpol_load(const char *path, vg_pcrpol_entry **out, size_t *n, char *why, size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return bad(why, why_len, VG_ERR_IO, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		return bad(why, why_len, VG_ERR_INVALID, "not a regular file");
	}
	rc = vg_read_fd(fd, VG_PCRPOL_MAX_FILE, &buf, &len);
	(void)close(fd);
	if (rc != VG_OK)
		return bad(why, why_len, rc, "cannot read: %s", vg_rc_str(rc));
	rc = vg_pcrpol_parse((const char *)buf, len, out, n, why, why_len);
	free(buf);
	return rc;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

vg_rc vg_pcrpol_approved(uint32_t mask, const uint8_t values[][32], uint8_t out[static 32])
{
	uint8_t cat[VG_ROT_PCRS * 32], buf[32 + 4 + 10 + 32];
	size_t k = 0;
	vg_rc rc;

	if (mask == 0 || (mask >> VG_ROT_PCRS))
		return VG_ERR_INVALID;
	for (unsigned i = 0; i < VG_ROT_PCRS; i++)
		if (mask & (1u << i))
			memcpy(cat + 32 * k++, values[i], 32);
	memset(buf, 0, 32); /* a fresh session's digest */
	be32(buf + 32, CC_POLICY_PCR);
	/* TPML_PCR_SELECTION: count 1, SHA-256, 3 select bytes. */
	be32(buf + 36, 1);
	buf[40] = ALG_SHA256 >> 8;
	buf[41] = ALG_SHA256 & 0xff;
	buf[42] = 3;
	buf[43] = (uint8_t)mask;
	buf[44] = (uint8_t)(mask >> 8);
	buf[45] = (uint8_t)(mask >> 16);
	rc = vg_sha256(cat, 32 * k, buf + 46);
	if (rc == VG_OK)
		rc = vg_sha256(buf, sizeof buf, out);
	return rc;
}

vg_rc vg_pcrpol_ahash(const uint8_t approved[static 32], uint8_t out[static 32])
{
	uint8_t buf[32 + sizeof VG_PCRPOL_REF - 1];

	memcpy(buf, approved, 32);
	memcpy(buf + 32, VG_PCRPOL_REF, sizeof VG_PCRPOL_REF - 1);
	return vg_sha256(buf, sizeof buf, out);
}

vg_rc vg_pcrpol_auth_policy(const uint8_t *name, size_t name_len, uint8_t out[static 32])
{
	uint8_t buf[32 + 4 + 2 + 64], mid[32 + sizeof VG_PCRPOL_REF - 1];
	vg_rc rc;

	if (name_len != 34 || name[0] != 0 || name[1] != ALG_SHA256)
		return VG_ERR_INVALID;
	memset(buf, 0, 32);
	be32(buf + 32, CC_POLICY_AUTHORIZE);
	memcpy(buf + 36, name, name_len);
	rc = vg_sha256(buf, 36 + name_len, mid);
	if (rc != VG_OK)
		return rc;
	memcpy(mid + 32, VG_PCRPOL_REF, sizeof VG_PCRPOL_REF - 1);
	return vg_sha256(mid, sizeof mid, out);
}

static bool is_p256(EVP_PKEY *pk)
{
	char group[64];
	size_t gl = 0;

	return EVP_PKEY_is_a(pk, "EC") &&
	       EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					      &gl) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

vg_rc vg_pcrpol_key_load(const char *path, uint8_t x[static 32], uint8_t y[static 32])
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *pk;
	uint8_t pt[65];
	size_t len = 0;
	vg_rc rc = VG_OK;

	if (!f)
		return VG_ERR_IO;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (!pk)
		return VG_ERR_INVALID;
	if (!is_p256(pk))
		rc = VG_ERR_UNSUPPORTED;
	else if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
						 sizeof pt, &len) != 1 ||
		 len != 65 || pt[0] != 0x04)
		rc = VG_ERR_INVALID;
	else {
		memcpy(x, pt + 1, 32);
		memcpy(y, pt + 33, 32);
	}
	EVP_PKEY_free(pk);
	return rc;
}

vg_rc vg_pcrpol_sig_rs(const uint8_t *der, size_t len, uint8_t r[static 32], uint8_t s[static 32])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *br, *bs;
	vg_rc rc = VG_OK;

	if (!sig || p != der + len) {
		ECDSA_SIG_free(sig);
		return VG_ERR_INVALID;
	}
	ECDSA_SIG_get0(sig, &br, &bs);
	if (BN_bn2binpad(br, r, 32) != 32 || BN_bn2binpad(bs, s, 32) != 32)
		rc = VG_ERR_INVALID;
	ECDSA_SIG_free(sig);
	return rc;
}

vg_rc vg_pcrpol_sign_line(const char *key_path, uint32_t mask, const uint8_t values[][32],
			  char *line, size_t cap)
{
	uint8_t approved[32], msg[32 + sizeof VG_PCRPOL_REF - 1], sig[VG_PCRPOL_MAX_SIG];
	size_t sig_len = sizeof sig, len;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pk = NULL;
	FILE *f;
	vg_rc rc;

	if (cap < 2048 || mask == 0 || (mask >> VG_ROT_PCRS))
		return VG_ERR_INVALID;
	rc = vg_pcrpol_approved(mask, values, approved);
	if (rc != VG_OK)
		return rc;
	f = fopen(key_path, "re");
	if (!f)
		return VG_ERR_IO;
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (!pk)
		return VG_ERR_INVALID;
	if (!is_p256(pk)) {
		rc = VG_ERR_UNSUPPORTED;
		goto out;
	}
	memcpy(msg, approved, 32);
	memcpy(msg + 32, VG_PCRPOL_REF, sizeof VG_PCRPOL_REF - 1);
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, msg, sizeof msg) != 1) {
		rc = VG_ERR_CRYPTO;
		goto out;
	}
	len = (size_t)snprintf(line, cap, "sha256:");
	for (unsigned i = 0, first = 1; i < VG_ROT_PCRS; i++)
		if (mask & (1u << i)) {
			len += (size_t)snprintf(line + len, cap - len, "%s%u", first ? "" : ",", i);
			first = 0;
		}
	line[len++] = ' ';
	for (unsigned i = 0; i < VG_ROT_PCRS; i++)
		if (mask & (1u << i)) {
			vg_hex_encode(values[i], 32, line + len);
			len += 64;
		}
	line[len++] = ' ';
	vg_hex_encode(sig, sig_len, line + len);
	len += 2 * sig_len;
	line[len++] = '\n';
	line[len] = '\0';
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

uint32_t vg_pcrpol_differs(const vg_pcrpol_entry *e, const uint8_t now[][32])
{
	uint32_t d = 0;

	for (unsigned i = 0; i < VG_ROT_PCRS; i++)
		if ((e->mask & (1u << i)) && memcmp(e->values[i], now[i], 32) != 0)
			d |= 1u << i;
	return d;
}
