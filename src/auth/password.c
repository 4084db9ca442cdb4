/* password.c - see password.h */
#include "auth/password.h"

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

/* Unpadded base64 lengths of the salt and the hash. */
#define SALT_B64 22u
#define HASH_B64 43u

/* The bounds of password.h. p * 128 * r * N also bounds the time, which
 * grows with N * r * p. */
static bool params_ok(unsigned ln, unsigned r, unsigned p)
{
	return ln >= 10 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 4 &&
	       ((UINT64_C(128) * r * p) << ln) <= VG_PW_MAX_MEM;
}

static vg_rc scrypt(const char *pw, size_t pw_len, const uint8_t salt[VG_PW_SALT_LEN],
		    const vg_pw_params *prm, uint8_t out[VG_PW_HASH_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t n = UINT64_C(1) << prm->log2_n;
	uint32_t r32 = prm->r, p32 = prm->p;
	/* OpenSSL refuses to run when 128 * r * (N + 2) + 128 * r * p exceeds
	 * maxmem; give it exactly that plus slack, never a default that could
	 * be too small for a cost we accept. */
	uint64_t maxmem = UINT64_C(128) * r32 * (n + 2 + p32) + (UINT64_C(1) << 20);
	OSSL_PARAM params[] = {
	    /* An empty password still needs a valid pointer. */
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(pw_len ? pw : ""),
					      pw_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, VG_PW_SALT_LEN),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
	    OSSL_PARAM_construct_end(),
	};
	vg_rc rc =
	    ctx && EVP_KDF_derive(ctx, out, VG_PW_HASH_LEN, params) == 1 ? VG_OK : VG_ERR_CRYPTO;

	if (rc != VG_OK)
		vg_wipe(out, VG_PW_HASH_LEN);
	/* Frees (and cleanses) OpenSSL's copy of the password. */
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* Base64 without padding (PHC); out holds 4 * ceil(len / 3) + 1. */
static void b64_enc(const uint8_t *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n > 0 ? n : 0] = '\0';
}

static bool b64_digit(char c)
{
	/* Not isalnum(): that depends on the locale. */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Exactly `want` bytes from exactly `len` unpadded base64 digits, in the
 * canonical spelling only (the unused low bits of the last digit zero), so
 * each value has one accepted string. */
static bool b64_dec(const char *in, size_t len, uint8_t *out, size_t want)
{
	char buf[64], again[64];
	uint8_t tmp[48];
	size_t pad = (4 - len % 4) % 4;
	int n;
	bool ok;

	if (len != (4 * want + 2) / 3 || len + pad >= sizeof buf || want > sizeof tmp)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!b64_digit(in[i]))
			return false;
	memcpy(buf, in, len);
	memset(buf + len, '=', pad);
	/* EVP_DecodeBlock counts the padding as zero bytes: 3 per 4 digits. */
	n = EVP_DecodeBlock(tmp, (const unsigned char *)buf, (int)(len + pad));
	ok = n >= 0 && (size_t)n == (len + pad) / 4 * 3 && (size_t)n - pad == want;
	if (ok) {
		b64_enc(tmp, want, again);
		ok = strlen(again) == len && memcmp(again, in, len) == 0;
	}
	if (ok)
		memcpy(out, tmp, want);
	vg_wipe(tmp, sizeof tmp);
	return ok;
}

vg_rc vg_pw_hash(const char *pw, size_t pw_len, const vg_pw_params *p, char *out, size_t cap)
{
	const vg_pw_params def = VG_PW_PARAMS_DEFAULT;
	uint8_t salt[VG_PW_SALT_LEN], h[VG_PW_HASH_LEN];
	char s64[SALT_B64 + 3], h64[HASH_B64 + 3];
	int n;
	vg_rc rc;

	if (out && cap)
		out[0] = '\0';
	if (!p)
		p = &def;
	if (!out || cap < VG_PW_ENCODED_MAX || (!pw && pw_len) || pw_len > VG_PW_MAX_LEN ||
	    !params_ok(p->log2_n, p->r, p->p))
		return VG_ERR_INVALID;
	if (RAND_bytes(salt, sizeof salt) != 1)
		return VG_ERR_CRYPTO;
	rc = scrypt(pw, pw_len, salt, p, h);
	if (rc != VG_OK)
		return rc;
	b64_enc(salt, sizeof salt, s64);
	b64_enc(h, sizeof h, h64);
	vg_wipe(h, sizeof h);
	n = snprintf(out, cap, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", p->log2_n, p->r, p->p, s64, h64);
	vg_wipe(h64, sizeof h64);
	if (n <= 0 || (size_t)n >= cap) {
		vg_wipe(out, cap);
		return VG_ERR_INTERNAL; /* cannot happen: at most 96 < cap */
	}
	return VG_OK;
}

/* Reads "<key>=<1 or 2 digits, no leading zero><end>"; false otherwise. */
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

vg_rc vg_pw_parse(const char *enc, vg_pw_params *params, uint8_t salt[static VG_PW_SALT_LEN],
		  uint8_t hash[static VG_PW_HASH_LEN])
{
	unsigned ln = 0, r = 0, p = 0;
	const char *s = enc, *dollar;

	memset(salt, 0, VG_PW_SALT_LEN);
	memset(hash, 0, VG_PW_HASH_LEN);
	/* strnlen bounds every later read: the string ends within it. */
	if (!enc || !params || strnlen(enc, VG_PW_ENCODED_MAX) >= VG_PW_ENCODED_MAX ||
	    strncmp(s, "$scrypt$", 8) != 0)
		return VG_ERR_INVALID;
	s += 8;
	if (!small_uint(&s, "ln", ',', &ln) || !small_uint(&s, "r", ',', &r) ||
	    !small_uint(&s, "p", '$', &p) || !params_ok(ln, r, p))
		return VG_ERR_INVALID;
	dollar = strchr(s, '$');
	if (!dollar || !b64_dec(s, (size_t)(dollar - s), salt, VG_PW_SALT_LEN))
		return VG_ERR_INVALID;
	s = dollar + 1;
	if (!b64_dec(s, strlen(s), hash, VG_PW_HASH_LEN)) {
		memset(salt, 0, VG_PW_SALT_LEN);
		return VG_ERR_INVALID;
	}
	params->log2_n = ln;
	params->r = r;
	params->p = p;
	return VG_OK;
}

vg_rc vg_pw_verify(const char *pw, size_t pw_len, const char *enc)
{
	uint8_t salt[VG_PW_SALT_LEN], want[VG_PW_HASH_LEN], got[VG_PW_HASH_LEN];
	vg_pw_params prm;
	vg_rc rc = vg_pw_parse(enc, &prm, salt, want);

	if (rc == VG_OK && !pw && pw_len)
		rc = VG_ERR_INVALID;
	else if (rc == VG_OK && pw_len > VG_PW_MAX_LEN)
		rc = VG_ERR_AUTH_FAILED; /* vg_pw_hash never takes one */
	else if (rc == VG_OK)
		rc = scrypt(pw, pw_len, salt, &prm, got);
	if (rc == VG_OK && CRYPTO_memcmp(got, want, VG_PW_HASH_LEN) != 0)
		rc = VG_ERR_AUTH_FAILED;
	vg_wipe(got, sizeof got);
	vg_wipe(want, sizeof want);
	return rc;
}

/* ---- policy ---- */

static const char *const common[] = {
#include "auth/common_passwords.inc"
};

/* A copy of the password (or a part of it) with its NUL. */
#define PW_BUF (VG_PW_MAX_LEN + 1)

static char lower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ASCII punctuation (what ispunct() says in the C locale) and space. */
static bool is_punct_or_space(char c)
{
	return c >= ' ' && c <= '~' && !is_alnum(c);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_common(const char *lower)
{
	const char *key = lower;

	return lower[0] &&
	       bsearch(&key, common, VG_ARRAY_LEN(common), sizeof common[0], cmp_str) != NULL;
}

/* Strict UTF-8 into code points (ASCII letters folded to lower case);
 * false for malformed text or a control character. */
static bool utf8_decode(const unsigned char *s, size_t n, uint32_t *cps, size_t *n_cps)
{
	size_t m = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			k = 0;
			cp = c;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation byte, C0/C1 (overlong), F5.. */
		}
		if (k >= n - i)
			return false; /* truncated */
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false; /* overlong, beyond Unicode, surrogate */
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return false; /* C0, DEL, C1 */
		cps[m++] = cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp;
		i += k + 1;
	}
	*n_cps = m;
	return true;
}

/* Neighbours on these lines are predictable steps, in either direction. */
static const char *const sequences[] = {
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",   /* 9 -> 0 -> 1 as on the number row */
    "`1234567890-=", /* number row */
    "~!@#$%^&*()_+", /* its shifted row */
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "qwertyuiopasdfghjklzxcvbnm",               /* rows read on, as typed */
    "qwertzuiopasdfghjklyxcvbnm",               /* QWERTZ */
    "azertyuiopqsdfghjklmwxcvbn",               /* AZERTY */
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/", /* columns, downwards */
    "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0", /* columns, upwards */
    "qazwsxedcrfvtgbyhnujmikolp",
    "1q2w3e4r5t6y7u8i9o0p",
    "7894561230", /* numeric keypad rows */
    "1472583690", /* and columns */
    "7418529630",
};

static bool predictable_step(uint32_t a, uint32_t b)
{
	if (a == b)
		return true;
	if (a > 0x7e || b > 0x7e)
		return false;
	for (size_t i = 0; i < VG_ARRAY_LEN(sequences); i++) {
		const char *s = sequences[i];
		for (size_t j = 0; s[j] && s[j + 1]; j++)
			if (((uint32_t)s[j] == a && (uint32_t)s[j + 1] == b) ||
			    ((uint32_t)s[j] == b && (uint32_t)s[j + 1] == a))
				return true;
	}
	return false;
}

/* A password made of a few sequences: at most a quarter of its steps
 * leave them ("1234567890ab" has one such step in eleven). */
static bool is_sequence(const uint32_t *cps, size_t n)
{
	size_t breaks = 0;

	for (size_t i = 1; i < n; i++)
		breaks += !predictable_step(cps[i - 1], cps[i]);
	return 4 * breaks <= n - 1;
}

static size_t distinct(const uint32_t *cps, size_t n)
{
	size_t d = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < i && cps[j] != cps[i])
			j++;
		d += j == i;
	}
	return d;
}

static char unleet(char c, char one)
{
	switch (c) {
	case '0':
		return 'o';
	case '1':
		return one;
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

/* Longer than every entry of the list (test_auth_password checks). */
#define COMMON_MAX 64u

static bool junk(char c)
{
	return is_digit(c) || is_punct_or_space(c);
}

static bool common_or_leet(const char *s, char *tmp)
{
	static const char ones[] = {'i', 'l'};

	if (is_common(s))
		return true;
	for (size_t k = 0; k < sizeof ones; k++) {
		size_t i;
		for (i = 0; s[i]; i++)
			tmp[i] = unleet(s[i], ones[k]);
		tmp[i] = '\0';
		if (is_common(tmp))
			return true;
	}
	return false;
}

/*
 * lower: the password (n bytes, ASCII letters in lower case). Tries every
 * core left by removing some of the digits, punctuation and spaces at
 * either end, as is and with leet undone. Every cut, not only the longest,
 * because leet digits belong to the word: "h3ll0" + "1990!" is "hello".
 * At most (leading run + 1) * COMMON_MAX cores, each a binary search.
 */
static bool common_variant(const char *lower, size_t n, char *a, char *b)
{
	size_t lead = 0, trail = n;

	while (lead < n && junk(lower[lead]))
		lead++;
	while (trail > 0 && junk(lower[trail - 1]))
		trail--;
	for (size_t s = 0; s <= lead && s < n; s++) {
		/* a core keeps 4 characters: "love" is listed, but "ab" and
		 * digits is no variant of anything */
		for (size_t e = trail > s + 4 ? trail : s + 4; e <= n; e++) {
			if (e - s >= COMMON_MAX)
				break;
			memcpy(a, lower + s, e - s);
			a[e - s] = '\0';
			if (common_or_leet(a, b))
				return true;
		}
	}
	return false;
}

/* Letters (lower case) and digits of s only. */
static size_t alnum_only(const char *s, size_t n, char *out)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (is_alnum(s[i]))
			out[m++] = lower_ascii(s[i]);
	out[m] = '\0';
	return m;
}

/* Does the password (lower case, and its letters and digits) contain the
 * word (either spelling)? */
static bool contains_word(const char *lower, const char *lower_an, const char *word, char *w)
{
	size_t wl = strnlen(word, VG_PW_MAX_LEN + 1), i;

	if (wl < 4 || wl > VG_PW_MAX_LEN)
		return false; /* short words match too much; long ones cannot */
	for (i = 0; i < wl; i++)
		w[i] = lower_ascii(word[i]);
	w[i] = '\0';
	if (strstr(lower, w))
		return true;
	return alnum_only(word, wl, w) >= 4 && strstr(lower_an, w);
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
	/* Everything derived from the password is wiped on the way out. */
	uint32_t cps[VG_PW_MAX_LEN];
	char lower[PW_BUF], lower_an[PW_BUF], a[PW_BUF], b[PW_BUF];
	size_t n_cps = 0;
	vg_rc rc = VG_OK;

	if (why && why_len)
		why[0] = '\0';
	if (!pw || (!words && n_words))
		return VG_ERR_INVALID;
	if (n < VG_PW_MIN_LEN)
		return refuse(why, why_len, "too short: use at least 12 characters");
	if (n > VG_PW_MAX_LEN)
		return refuse(why, why_len, "too long: at most 256 bytes");
	if (!utf8_decode((const unsigned char *)pw, n, cps, &n_cps)) {
		rc = refuse(why, why_len, "not valid UTF-8 text, or contains control characters");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		lower[i] = lower_ascii(pw[i]);
	lower[n] = '\0';
	(void)alnum_only(pw, n, lower_an);
	if (distinct(cps, n_cps) == 1)
		rc = refuse(why, why_len, "one character repeated");
	else if (distinct(cps, n_cps) < 5)
		rc = refuse(why, why_len, "too few different characters: use at least 5");
	else if (is_sequence(cps, n_cps))
		rc = refuse(why, why_len, "a keyboard, alphabet or number sequence");
	else if (common_variant(lower, n, a, b))
		rc = refuse(why, why_len, "a common password (or a variant of one)");
	for (size_t i = 0; rc == VG_OK && i < n_words; i++)
		if (words[i] && contains_word(lower, lower_an, words[i], a))
			rc = refuse(why, why_len,
				    "contains something printed on or derived from the device "
				    "(setup code, maker, model, serial)");
out:
	vg_wipe(cps, sizeof cps);
	vg_wipe(lower, sizeof lower);
	vg_wipe(lower_an, sizeof lower_an);
	vg_wipe(a, sizeof a);
	vg_wipe(b, sizeof b);
	return rc;
}
