/* password.c - see password.h */
#include "auth/password.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "common/util.h"

#define SALT_LEN 16u
#define HASH_LEN 32u

/* Also bounds the memory scrypt takes (128 * r * N) to 256 MiB. */
static bool params_ok(unsigned ln, unsigned r, unsigned p)
{
	return ln >= 10 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 4 &&
	       (UINT64_C(128) * r << ln) <= (UINT64_C(256) << 20);
}

static vg_rc scrypt(const char *pw, size_t pw_len, const uint8_t *salt, size_t salt_len,
		    unsigned ln, unsigned r, unsigned p, uint8_t out[HASH_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t n = UINT64_C(1) << ln;
	uint32_t r32 = r, p32 = p;
	/* scrypt needs 128 * r * N bytes (plus 128 * r * p); allow twice. */
	uint64_t maxmem = UINT64_C(256) * r * (n + p) + (UINT64_C(1) << 20);
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(pw_len ? pw : ""),
					      pw_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
	    OSSL_PARAM_construct_end(),
	};
	vg_rc rc = ctx && EVP_KDF_derive(ctx, out, HASH_LEN, params) == 1 ? VG_OK : VG_ERR_CRYPTO;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* Base64 without padding (PHC). */
static void b64_enc(const uint8_t *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
}

/* Strict: only the alphabet, an unpadded length, exactly want bytes. */
static bool b64_dec(const char *in, size_t len, uint8_t *out, size_t want)
{
	char buf[64];
	uint8_t tmp[48];
	size_t pad = (4 - len % 4) % 4;
	int n;

	if (len == 0 || len % 4 == 1 || len + pad >= sizeof buf || (len * 3) / 4 != want)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)in[i]) && in[i] != '+' && in[i] != '/')
			return false;
	memcpy(buf, in, len);
	memset(buf + len, '=', pad);
	buf[len + pad] = '\0';
	n = EVP_DecodeBlock(tmp, (const unsigned char *)buf, (int)(len + pad));
	if (n < 0 || (size_t)n - pad != want)
		return false;
	/* Canonical only: unused low bits of the last digit must be zero,
	 * so each value has exactly one accepted spelling. */
	{
		char again[64];
		b64_enc(tmp, want, again);
		if (strlen(again) != len || memcmp(again, in, len) != 0) {
			vg_wipe(tmp, sizeof tmp);
			return false;
		}
	}
	memcpy(out, tmp, want);
	vg_wipe(tmp, sizeof tmp);
	return true;
}

vg_rc vg_pw_hash(const char *pw, size_t pw_len, const vg_pw_params *p, char *out, size_t cap)
{
	uint8_t salt[SALT_LEN], h[HASH_LEN];
	char s64[32], h64[48];
	int n;
	vg_rc rc;

	if (!p || !params_ok(p->log2_n, p->r, p->p) || cap < VG_PW_ENCODED_MAX)
		return VG_ERR_INVALID;
	if (RAND_bytes(salt, sizeof salt) != 1)
		return VG_ERR_CRYPTO;
	rc = scrypt(pw, pw_len, salt, sizeof salt, p->log2_n, p->r, p->p, h);
	if (rc != VG_OK)
		return rc;
	b64_enc(salt, sizeof salt, s64);
	b64_enc(h, sizeof h, h64);
	vg_wipe(h, sizeof h);
	n = snprintf(out, cap, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", p->log2_n, p->r, p->p, s64, h64);
	vg_wipe(h64, sizeof h64);
	return n > 0 && (size_t)n < cap ? VG_OK : VG_ERR_INVALID;
}

/* Reads "<key>=<1..2 digits>" followed by end; false otherwise. */
static bool small_uint(const char **p, const char *key, char end, unsigned *v)
{
	size_t kl = strlen(key);
	const char *s = *p;
	unsigned x = 0;
	int digits = 0;

	if (strncmp(s, key, kl) != 0 || s[kl] != '=')
		return false;
	s += kl + 1;
	while (*s >= '0' && *s <= '9' && digits < 3) {
		x = x * 10 + (unsigned)(*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || digits > 2 || (digits == 2 && s[-2] == '0') || *s != end)
		return false;
	*v = x;
	*p = s + 1;
	return true;
}

vg_rc vg_pw_parse(const char *enc, vg_pw_params *params, uint8_t salt[static 16],
		  uint8_t hash[static 32])
{
	unsigned ln = 0, r = 0, p = 0;
	const char *s = enc, *dollar;

	if (!enc || strnlen(enc, VG_PW_ENCODED_MAX) >= VG_PW_ENCODED_MAX ||
	    strncmp(s, "$scrypt$", 8) != 0)
		return VG_ERR_INVALID;
	s += 8;
	if (!small_uint(&s, "ln", ',', &ln) || !small_uint(&s, "r", ',', &r) ||
	    !small_uint(&s, "p", '$', &p) || !params_ok(ln, r, p))
		return VG_ERR_INVALID;
	dollar = strchr(s, '$');
	if (!dollar || !b64_dec(s, (size_t)(dollar - s), salt, SALT_LEN))
		return VG_ERR_INVALID;
	s = dollar + 1;
	if (!b64_dec(s, strlen(s), hash, HASH_LEN)) {
		vg_wipe(salt, SALT_LEN);
		return VG_ERR_INVALID;
	}
	params->log2_n = ln;
	params->r = r;
	params->p = p;
	return VG_OK;
}

vg_rc vg_pw_verify(const char *pw, size_t pw_len, const char *enc)
{
	uint8_t salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
	vg_pw_params prm;
	vg_rc rc = vg_pw_parse(enc, &prm, salt, want);

	if (rc != VG_OK)
		return rc;
	rc = scrypt(pw, pw_len, salt, sizeof salt, prm.log2_n, prm.r, prm.p, got);
	if (rc == VG_OK && CRYPTO_memcmp(got, want, HASH_LEN) != 0)
		rc = VG_ERR_AUTH_FAILED;
	vg_wipe(got, sizeof got);
	vg_wipe(want, sizeof want);
	return rc;
}

/* ---- policy ---- */

static const char *const common[] = {
#include "auth/common_passwords.inc"
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_common(const char *lower)
{
	const char *key = lower;

	return bsearch(&key, common, sizeof common / sizeof common[0], sizeof common[0], cmp_str) !=
	       NULL;
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += k + 1;
	}
	return true;
}

static const char *const sequences[] = {
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890123456789",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnmqwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbnazertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "1q2w3e4r5t6y7u8i9o0p1q2w3e4r5t6y7u8i9o0p",
    "qazwsxedcrfvtgbyhnujmikolpqazwsxedcrfvtgbyhnujmikolp",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
};

static bool is_sequence(const char *lower, size_t n)
{
	char rev[VG_PW_MAX_LEN + 1];
	bool run = true;

	for (size_t i = 1; i < n; i++)
		run = run && lower[i] == lower[0];
	if (run)
		return true;
	for (size_t i = 0; i < n; i++)
		rev[i] = lower[n - 1 - i];
	rev[n] = '\0';
	for (size_t i = 0; i < sizeof sequences / sizeof sequences[0]; i++)
		if (strstr(sequences[i], lower) || strstr(sequences[i], rev))
			return true;
	return false;
}

static char unleet(char c)
{
	switch (c) {
	case '0':
		return 'o';
	case '1':
		return 'i';
	case '3':
		return 'e';
	case '4':
	case '@':
		return 'a';
	case '5':
	case '$':
		return 's';
	case '7':
		return 't';
	case '!':
		return 'i';
	default:
		return c;
	}
}

static bool common_variant(const char *lower, size_t n)
{
	char v[VG_PW_MAX_LEN + 1];
	size_t m = n;

	if (is_common(lower))
		return true;
	/* "password123!", "Summer2026?" */
	while (m > 0 && (isdigit((unsigned char)lower[m - 1]) ||
			 ispunct((unsigned char)lower[m - 1]) || lower[m - 1] == ' '))
		m--;
	memcpy(v, lower, m);
	v[m] = '\0';
	if (m >= 4 && is_common(v))
		return true;
	/* "p@ssw0rd", "l3tm31n" and "1" as "l" */
	for (size_t i = 0; i < n; i++)
		v[i] = unleet(lower[i]);
	v[n] = '\0';
	if (is_common(v))
		return true;
	for (size_t i = 0; i < n; i++)
		if (lower[i] == '1')
			v[i] = 'l';
	if (is_common(v))
		return true;
	/* both: leet then trailing digits */
	for (size_t i = 0; i < m; i++)
		v[i] = unleet(lower[i]);
	v[m] = '\0';
	return m >= 4 && is_common(v);
}

static vg_rc refuse(char *why, size_t why_len, const char *msg)
{
	if (why && why_len)
		(void)snprintf(why, why_len, "%s", msg);
	return VG_ERR_POLICY;
}

vg_rc vg_pw_policy_check(const char *pw, size_t n, const char *const *words, size_t n_words,
			 char *why, size_t why_len)
{
	char lower[VG_PW_MAX_LEN + 1], w[VG_PW_MAX_LEN + 1];
	bool seen[256] = {false};
	size_t distinct = 0;
	vg_rc rc = VG_OK;

	if (why && why_len)
		why[0] = '\0';
	if (n < VG_PW_MIN_LEN)
		return refuse(why, why_len, "too short: use at least 12 characters");
	if (n > VG_PW_MAX_LEN)
		return refuse(why, why_len, "too long: at most 256 bytes");
	if (!utf8_ok((const unsigned char *)pw, n))
		return refuse(why, why_len, "not valid UTF-8 text, or contains control characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)pw[i];
		lower[i] = (char)tolower(c);
		if (!seen[c]) {
			seen[c] = true;
			distinct++;
		}
	}
	lower[n] = '\0';
	if (distinct < 5)
		rc = refuse(why, why_len, "too few different characters");
	else if (is_sequence(lower, n))
		rc =
		    refuse(why, why_len, "a repeated character or a keyboard or alphabet sequence");
	else if (common_variant(lower, n))
		rc = refuse(why, why_len, "a common password (or a variant of one)");
	for (size_t i = 0; rc == VG_OK && i < n_words; i++) {
		size_t wl = words[i] ? strlen(words[i]) : 0;
		if (wl < 4 || wl > VG_PW_MAX_LEN)
			continue;
		for (size_t j = 0; j < wl; j++)
			w[j] = (char)tolower((unsigned char)words[i][j]);
		w[wl] = '\0';
		if (strstr(lower, w))
			rc = refuse(why, why_len,
				    "contains something printed on or derived from the device "
				    "(setup code, maker, model, serial)");
	}
	vg_wipe(lower, sizeof lower);
	vg_wipe(w, sizeof w);
	vg_wipe(seen, sizeof seen);
	return rc;
}
