/*
 * test_auth_password.c - admin password hashing and policy
 * (src/auth/password.h).
 *
 * SFR 4.2.13: the admin credential is stored only as a salted, memory-hard
 * hash whose stored form is parsed strictly (a forged record is refused,
 * never obeyed). AVS 1.2 / threat A.3.1: no weak, common or device-derived
 * password can be set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/password.h"
#include "common/util.h"

static const char *const common_list[] = {
#include "auth/common_passwords.inc"
};

static const char pw_good[] = "correct horse battery staple";
#define PW_GOOD_LEN (sizeof pw_good - 1)

/* A PHC string for pw with a fixed salt, computed with OpenSSL's other
 * scrypt API (EVP_PBE_scrypt), independently of password.c. */
static void phc_by_hand(const char *pw, unsigned ln, unsigned r, unsigned p, char *out, size_t cap)
{
	static const uint8_t salt[16] = "0123456789abcdef";
	uint8_t h[32];
	char s64[32], h64[48];
	int n;

	assert_int_equal(EVP_PBE_scrypt(pw, strlen(pw), salt, sizeof salt, UINT64_C(1) << ln, r, p,
					UINT64_C(512) << 20, h, sizeof h),
			 1);
	n = EVP_EncodeBlock((unsigned char *)s64, salt, sizeof salt);
	while (n > 0 && s64[n - 1] == '=')
		s64[--n] = '\0';
	n = EVP_EncodeBlock((unsigned char *)h64, h, sizeof h);
	while (n > 0 && h64[n - 1] == '=')
		h64[--n] = '\0';
	assert_true(snprintf(out, cap, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", ln, r, p, s64, h64) <
		    (int)cap);
}

static vg_rc verify(const char *pw, const char *enc)
{
	return vg_pw_verify(pw, strlen(pw), enc);
}

/* ---- hashing ---- */

/* SFR 4.2.13: a hash verifies its own password and refuses any other,
 * including a prefix, an extension and a one-bit change. */
static void test_sfr4213_hash_verify_roundtrip(void **state)
{
	vg_pw_params p = VG_PW_PARAMS_TEST;
	char enc[VG_PW_ENCODED_MAX], other[sizeof pw_good];

	(void)state;
	assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, &p, enc, sizeof enc), VG_OK);
	assert_int_equal(verify(pw_good, enc), VG_OK);
	assert_int_equal(verify("correct horse battery stapl", enc), VG_ERR_AUTH_FAILED);
	assert_int_equal(verify("correct horse battery staple!", enc), VG_ERR_AUTH_FAILED);
	assert_int_equal(verify("Correct horse battery staple", enc), VG_ERR_AUTH_FAILED);
	assert_int_equal(verify("", enc), VG_ERR_AUTH_FAILED);
	memcpy(other, pw_good, sizeof pw_good);
	other[7] ^= 0x01;
	assert_int_equal(verify(other, enc), VG_ERR_AUTH_FAILED);
	/* the PHC shape: prefix, 22 + 43 base64 digits, nothing else */
	assert_memory_equal(enc, "$scrypt$ln=10,r=8,p=1$", 22);
	assert_int_equal(strlen(enc), 22 + 22 + 1 + 43);
	assert_int_equal(enc[22 + 22], '$');
	assert_null(strchr(enc + 22, '='));
}

/* SFR 4.2.13: each hash has its own random salt, so two hashes of one
 * password differ (no precomputed table serves two devices). */
static void test_sfr4213_hash_salted(void **state)
{
	vg_pw_params p = VG_PW_PARAMS_TEST;
	char a[VG_PW_ENCODED_MAX], b[VG_PW_ENCODED_MAX];

	(void)state;
	assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, &p, a, sizeof a), VG_OK);
	assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, &p, b, sizeof b), VG_OK);
	assert_string_not_equal(a, b);
	/* the salts differ, not just the hashes */
	assert_memory_not_equal(a + 22, b + 22, 22);
	assert_int_equal(verify(pw_good, a), VG_OK);
	assert_int_equal(verify(pw_good, b), VG_OK);
}

/* SFR 4.2.13: the default cost is scrypt N = 2^15, r = 8, p = 1, and NULL
 * params mean the default. */
static void test_sfr4213_hash_default_cost(void **state)
{
	vg_pw_params d = VG_PW_PARAMS_DEFAULT;
	char enc[VG_PW_ENCODED_MAX];

	(void)state;
	assert_int_equal(d.log2_n, 15);
	assert_int_equal(d.r, 8);
	assert_int_equal(d.p, 1);
	assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, NULL, enc, sizeof enc), VG_OK);
	assert_memory_equal(enc, "$scrypt$ln=15,r=8,p=1$", 22);
	assert_int_equal(verify(pw_good, enc), VG_OK);
}

/* SFR 4.2.13: the stored string is standard scrypt in the PHC format: one
 * made by another implementation (OpenSSL's EVP_PBE_scrypt here) with
 * other costs verifies, so verification honours the stored cost. */
static void test_sfr4213_verify_honours_stored_cost(void **state)
{
	char enc[VG_PW_ENCODED_MAX];
	vg_pw_params p = {.log2_n = 11, .r = 4, .p = 2}, got;
	uint8_t salt[16], hash[32];

	(void)state;
	phc_by_hand(pw_good, 11, 4, 2, enc, sizeof enc);
	assert_int_equal(verify(pw_good, enc), VG_OK);
	assert_int_equal(verify("correct horse battery staples", enc), VG_ERR_AUTH_FAILED);
	assert_int_equal(vg_pw_parse(enc, &got, salt, hash), VG_OK);
	assert_int_equal(got.log2_n, 11);
	assert_int_equal(got.r, 4);
	assert_int_equal(got.p, 2);
	assert_memory_equal(salt, "0123456789abcdef", 16);
	/* and our hash with that cost says so */
	assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, &p, enc, sizeof enc), VG_OK);
	assert_memory_equal(enc, "$scrypt$ln=11,r=4,p=2$", 22);
	assert_int_equal(verify(pw_good, enc), VG_OK);
}

/* SFR 4.2.13: hashing refuses costs outside the bounds (so it can never
 * write a record verification would refuse), a too small buffer and a
 * too long password, leaving "" in out. */
static void test_sfr4213_hash_refuses_bad_arguments(void **state)
{
	static const vg_pw_params bad[] = {
	    {9, 8, 1},
	    {21, 1, 1},
	    {15, 0, 1},
	    {15, 33, 1},
	    {15, 8, 0},
	    {15, 8, 5},
	    /* each in bounds, but more than 256 MiB of work */
	    {20, 8, 1},
	    {18, 8, 2},
	    {17, 32, 1},
	};
	char enc[VG_PW_ENCODED_MAX], big[VG_PW_MAX_LEN + 1];
	vg_pw_params t = VG_PW_PARAMS_TEST;

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		strcpy(enc, "junk");
		assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, &bad[i], enc, sizeof enc),
				 VG_ERR_INVALID);
		assert_string_equal(enc, "");
	}
	strcpy(enc, "junk");
	assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, &t, enc, VG_PW_ENCODED_MAX - 1),
			 VG_ERR_INVALID);
	assert_string_equal(enc, "");
	memset(big, 'x', sizeof big);
	assert_int_equal(vg_pw_hash(big, sizeof big, &t, enc, sizeof enc), VG_ERR_INVALID);
	assert_int_equal(vg_pw_hash(NULL, 3, &t, enc, sizeof enc), VG_ERR_INVALID);
	/* the longest password is fine */
	assert_int_equal(vg_pw_hash(big, VG_PW_MAX_LEN, &t, enc, sizeof enc), VG_OK);
	assert_int_equal(vg_pw_verify(big, VG_PW_MAX_LEN, enc), VG_OK);
	/* longer than any hash we make: refused without hashing */
	assert_int_equal(vg_pw_verify(big, sizeof big, enc), VG_ERR_AUTH_FAILED);
}

/* SFR 4.2.13 (hostile stored bytes): malformed, non-canonical or
 * out-of-bounds strings are VG_ERR_INVALID, never a crash, a huge
 * allocation or a match. ln=40 would ask for 2^40 * 1 KiB. */
static void test_sfr4213_stored_string_refused(void **state)
{
	vg_pw_params t = VG_PW_PARAMS_TEST, got;
	char enc[VG_PW_ENCODED_MAX], s[256];
	uint8_t salt[16], hash[32];
	const char *tail;
	static const char *const bad[] = {
	    "",
	    "$scrypt$",
	    "$scrypt$ln=40,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=9,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=21,r=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=99,r=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=20,r=32,p=4$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=18,r=8,p=2$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=0$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=015,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=+15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$r=8,ln=15,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$SCRYPT$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$argon2id$v=19$m=65536,t=3,p=4$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    " $scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
	    /* padding, short and long salts, URL-safe digits, bad characters */
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2Rl$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZgA$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA-"
	    "AAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA "
	    "AAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAA\xc3\xa9"
	    "AAAAAAAAAAAAAAAAAAA",
	    /* non-canonical: the unused low bits of the last digit are set */
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZh$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
	    "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$",
	};

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		memset(salt, 0xaa, sizeof salt);
		assert_int_equal(vg_pw_parse(bad[i], &got, salt, hash), VG_ERR_INVALID);
		assert_int_equal(salt[0] | salt[15], 0); /* zeroed on failure */
		assert_int_equal(verify(pw_good, bad[i]), VG_ERR_INVALID);
	}
	assert_int_equal(vg_pw_parse(NULL, &got, salt, hash), VG_ERR_INVALID);
	assert_int_equal(verify(pw_good, NULL), VG_ERR_INVALID);

	/* every truncation of a good string, and a one-character change in
	 * each position, is refused */
	assert_int_equal(vg_pw_hash(pw_good, PW_GOOD_LEN, &t, enc, sizeof enc), VG_OK);
	for (size_t n = 0; n < strlen(enc); n++) {
		memcpy(s, enc, n);
		s[n] = '\0';
		assert_int_equal(verify(pw_good, s), VG_ERR_INVALID);
	}
	tail = strrchr(enc, '$');
	for (size_t i = 0; enc[i]; i++) {
		strcpy(s, enc);
		s[i] = s[i] == '*' ? '#' : '*';
		assert_int_equal(verify(pw_good, s), VG_ERR_INVALID);
		/* a valid digit in the hash: parses, does not match */
		if (enc + i > tail && enc[i + 1]) {
			s[i] = enc[i] == 'A' ? 'B' : 'A';
			assert_int_equal(verify(pw_good, s), VG_ERR_AUTH_FAILED);
		}
	}
	/* a string longer than VG_PW_ENCODED_MAX is refused unread */
	memset(s, 'A', sizeof s);
	memcpy(s, enc, strlen(enc));
	s[sizeof s - 1] = '\0';
	assert_int_equal(verify(pw_good, s), VG_ERR_INVALID);
	/* the good one still parses */
	assert_int_equal(vg_pw_parse(enc, &got, salt, hash), VG_OK);
}

/* ---- policy ---- */

static const char *const dev_words[] = {
    "ACME", "Speaker-X1", "K7QM2HXW9TNBR4PD", "K7QM-2HXW-9TNB-R4PD", "b2", NULL,
};

static char why[160];

static vg_rc policy(const char *pw)
{
	return vg_pw_policy_check(pw, strlen(pw), dev_words, VG_ARRAY_LEN(dev_words), why,
				  sizeof why);
}

/* Refused, with a reason that mentions `about` and not the password. */
static void refused(const char *pw, const char *about)
{
	if (policy(pw) != VG_ERR_POLICY)
		fail_msg("accepted: \"%s\"", pw);
	if (!strstr(why, about))
		fail_msg("\"%s\": reason \"%s\", expected \"%s\"", pw, why, about);
	assert_null(strstr(why, pw));
	assert_true(strlen(why) > 0 && !strchr(why, '\n'));
}

static void accepted(const char *pw)
{
	if (policy(pw) != VG_OK)
		fail_msg("refused: \"%s\": %s", pw, why);
	assert_string_equal(why, "");
}

/* AVS 1.2: 12 to 256 bytes. */
static void test_avs12_policy_length(void **state)
{
	char s[VG_PW_MAX_LEN + 2];
	uint32_t x = 12345;

	(void)state;
	refused("Tr0mb0ne-Vx", "too short");
	accepted("Tr0mb0ne-Vx9");
	/* 256 and 257 bytes of unpatterned text */
	for (size_t i = 0; i < sizeof s - 1; i++) {
		x = x * 1103515245u + 12345u;
		s[i] =
		    "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789#%+"[(x >> 16) % 59];
	}
	s[VG_PW_MAX_LEN] = '\0';
	accepted(s);
	s[VG_PW_MAX_LEN] = 'x';
	s[VG_PW_MAX_LEN + 1] = '\0';
	refused(s, "too long");
}

/* AVS 1.2: valid UTF-8 only, without control characters. */
static void test_avs12_policy_utf8_and_controls(void **state)
{
	static const char *const bad_utf8[] = {
	    "Bahnhof-Z\xc3\x28rich-27",      /* bad continuation */
	    "Bahnhof-Z\xc0\xafrich-27",      /* overlong '/' */
	    "Bahnhof-Z\xe0\x80\xafrich-27",  /* overlong, 3 bytes */
	    "Bahnhof-Z\xed\xa0\x80rich-27",  /* surrogate U+D800 */
	    "Bahnhof-Z\xf4\x90\x80\x80ich7", /* beyond U+10FFFF */
	    "Bahnhof-Z\x80rich-2027",        /* lone continuation */
	    "Bahnhof-Z\xffrich-2027",        /* never valid */
	    "Bahnhof-Zurich-2027\xe2\x82",   /* truncated at the end */
	};
	static const char *const controls[] = {
	    "Bahnhof\tZurich-27",   "Bahnhof\nZurich-27",   "Bahnhof\rZurich-27",
	    "Bahnhof\x1bZurich-27", "Bahnhof\x7fZurich-27", "Bahnhof\xc2\x85Zurich", /* C1 NEL */
	};

	(void)state;
	accepted("Bahnhof-Z\xc3\xbcrich-2027");              /* ü */
	accepted("Kl\xc3\xa4ngt-\xe2\x82\xac-sch\xc3\xb6n"); /* €, ö */
	accepted("Drache-\xf0\x9f\x90\x89-Berg-42");         /* a 4-byte emoji */
	for (size_t i = 0; i < VG_ARRAY_LEN(bad_utf8); i++)
		refused(bad_utf8[i], "UTF-8");
	for (size_t i = 0; i < VG_ARRAY_LEN(controls); i++)
		refused(controls[i], "control");
	/* a NUL inside the password's length */
	assert_int_equal(vg_pw_policy_check("Bahnhof\0Zurich-27", 17, NULL, 0, why, sizeof why),
			 VG_ERR_POLICY);
}

/* AVS 1.2: not one character repeated; at least 5 distinct characters
 * (code points, case-folded). */
static void test_avs12_policy_run_and_distinct(void **state)
{
	(void)state;
	refused("aaaaaaaaaaaaaaa", "repeated");
	refused("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "repeated"); /* é x 6 */
	refused("abababababab", "different characters");
	refused("xk7Xk7xK7xk7Q", "different characters"); /* x k 7 q: four */
	refused("AaAaBbBbCcCcDd", "different characters");
	/* three code points of two bytes each are still three characters */
	refused("\xc3\xa9\xc3\xa8\xc3\xaa\xc3\xa9\xc3\xa8\xc3\xaa", "different characters");
	accepted("xk7qZxk7qZxk"); /* exactly five */
}

/* AVS 1.2: not an alphabet, number or keyboard sequence. */
static void test_avs12_policy_sequences(void **state)
{
	static const char *const seq[] = {
	    "abcdefghijkl", "qwertyuiopas", "1234567890ab", "zyxwvutsrqpo",
	    "0987654321qw", "1qaz2wsx3edc", "zaq12wsxcde3", "qwertzuiopas",
	    "azertyuiopqs", "asdfghjkl;'z", "abcdqwer1234", "112233445566",
	    "aAbBcCdDeEfF", "7894561230!@", "123456789012", "!@#$%^&*()_+",
	};

	(void)state;
	for (size_t i = 0; i < VG_ARRAY_LEN(seq); i++)
		refused(seq[i], "sequence");
	/* words contain a few keyboard neighbours ("er", "op", "as"): fine */
	accepted("correct horse battery staple");
	accepted("reporter opposes tasty pears");
	accepted("qwerty is not my password, 17 owls are");
}

/* AVS 1.2: not a common password, case-insensitively. */
static void test_avs12_policy_common(void **state)
{
	(void)state;
	refused("administrator", "common");
	refused("ADMINISTRATOR", "common");
	refused("password1234", "common");       /* trailing digits */
	refused("Password2024!?", "common");     /* and punctuation */
	refused("Superman 1990!!", "common");    /* and a space */
	refused("2024-superman-2024", "common"); /* leading and trailing */
	refused("Liverpool1234", "common");
	refused("H3ll01990!!!", "common"); /* the 0 is the word's o */
	refused("smartspeaker", "common");
	accepted("lighthouse marmalade");
	accepted("superman is my cat, 1990"); /* contains one: fine */
}

/* AVS 1.2: leet spellings of a common password are that password. */
static void test_avs12_policy_leet(void **state)
{
	(void)state;
	refused("P@ssw0rd2024!", "common");
	refused("p@$$w0rd12345", "common");
	refused("$un$h1ne-2024", "common");  /* sunshine, 1 as i */
	refused("1iverp00l-2024", "common"); /* liverpool, 1 as l */
	refused("L3tm31n!2024", "common");   /* letmein */
	refused("m0nk3y-123456", "common");
	refused("7r1ni7y-98765", "common"); /* trinity, 7 as t */
	refused("4dm1n1str4t0r", "common"); /* administrator */
	accepted("Wh1sky-T4ng0-F0xtr0t");
}

/* AVS 1.2: nothing printed on or derived from the device: setup code
 * (either spelling), OEM, model, hardware revision, case-insensitively;
 * words under 4 characters and NULL entries do not count. */
static void test_avs12_policy_device_words(void **state)
{
	(void)state;
	refused("my acme speaker, 2027", "device");
	refused("my ACME speaker, 2027", "device");
	refused("nice speaker-x1 at home", "device");
	refused("nice speakerx1 at home", "device");  /* separators dropped */
	refused("nice Speaker X1 at home", "device"); /* ... either way */
	refused("code k7qm-2hxw-9tnb-r4pd!", "device");
	refused("K7QM2HXW9TNBR4PD-mine", "device");
	accepted("b2 is my hardware revision"); /* "b2": too short to count */
	accepted("speaker in the kitchen, 2027");
	/* the reason does not repeat the device word (a setup code is a secret) */
	refused("code k7qm-2hxw-9tnb-r4pd!", "device");
	assert_null(strstr(why, "K7QM"));
	assert_null(strstr(why, "k7qm"));
	/* no words at all */
	assert_int_equal(vg_pw_policy_check("my acme speaker, 2027", 21, NULL, 0, why, sizeof why),
			 VG_OK);
}

/* AVS 1.2: the reason is one line, bounded by the caller's buffer, and
 * optional; bad arguments are VG_ERR_INVALID, not a pass. */
static void test_avs12_policy_reason_bounded(void **state)
{
	char small[8];

	(void)state;
	memset(small, 'z', sizeof small);
	assert_int_equal(vg_pw_policy_check("short", 5, NULL, 0, small, sizeof small),
			 VG_ERR_POLICY);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_int_equal(vg_pw_policy_check("short", 5, NULL, 0, NULL, 0), VG_ERR_POLICY);
	assert_int_equal(vg_pw_policy_check("lighthouse marmalade", 20, NULL, 0, NULL, 0), VG_OK);
	assert_int_equal(vg_pw_policy_check(NULL, 20, NULL, 0, why, sizeof why), VG_ERR_INVALID);
	assert_int_equal(vg_pw_policy_check("lighthouse marmalade", 20, NULL, 2, why, sizeof why),
			 VG_ERR_INVALID);
}

/* AVS 1.2: the built-in list has at least the 1000 most common passwords,
 * sorted for the binary search (an unsorted entry would silently never
 * match), lower case; and every alphabetic entry is refused in the forms
 * a user would try (capitalised with a year, leet with a year). */
static void test_avs12_common_list(void **state)
{
	static const char *const must[] = {"123456", "password", "qwerty", "iloveyou",
					   "dragon", "letmein",  "admin",  "alexa"};
	char s[128];

	(void)state;
	assert_true(VG_ARRAY_LEN(common_list) >= 1000);
	for (size_t i = 0; i < VG_ARRAY_LEN(common_list); i++) {
		for (const char *c = common_list[i]; *c; c++)
			assert_false(*c >= 'A' && *c <= 'Z');
		assert_true(strlen(common_list[i]) < 64); /* COMMON_MAX */
		if (i > 0 && strcmp(common_list[i - 1], common_list[i]) >= 0)
			fail_msg("not sorted at \"%s\"", common_list[i]);
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(must); i++) {
		size_t j = 0;
		while (j < VG_ARRAY_LEN(common_list) && strcmp(common_list[j], must[i]) != 0)
			j++;
		assert_true(j < VG_ARRAY_LEN(common_list));
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(common_list); i++) {
		const char *w = common_list[i];
		size_t n = strlen(w), k;
		if (n < 4 || strspn(w, "abcdefghijklmnopqrstuvwxyz") != n)
			continue;
		(void)snprintf(s, sizeof s, "%s1990!!!!!!!!", w);
		s[0] = (char)(s[0] - 'a' + 'A');
		if (vg_pw_policy_check(s, strlen(s), NULL, 0, why, sizeof why) != VG_ERR_POLICY)
			fail_msg("accepted: %s", s);
		for (k = 0; k < n; k++)
			s[k] = w[k] == 'o' ? '0' : w[k] == 'e' ? '3' : w[k] == 'a' ? '@' : w[k];
		if (vg_pw_policy_check(s, strlen(s), NULL, 0, why, sizeof why) != VG_ERR_POLICY)
			fail_msg("accepted: %s", s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sfr4213_hash_verify_roundtrip),
	    cmocka_unit_test(test_sfr4213_hash_salted),
	    cmocka_unit_test(test_sfr4213_hash_default_cost),
	    cmocka_unit_test(test_sfr4213_verify_honours_stored_cost),
	    cmocka_unit_test(test_sfr4213_hash_refuses_bad_arguments),
	    cmocka_unit_test(test_sfr4213_stored_string_refused),
	    cmocka_unit_test(test_avs12_policy_length),
	    cmocka_unit_test(test_avs12_policy_utf8_and_controls),
	    cmocka_unit_test(test_avs12_policy_run_and_distinct),
	    cmocka_unit_test(test_avs12_policy_sequences),
	    cmocka_unit_test(test_avs12_policy_common),
	    cmocka_unit_test(test_avs12_policy_leet),
	    cmocka_unit_test(test_avs12_policy_device_words),
	    cmocka_unit_test(test_avs12_policy_reason_bounded),
	    cmocka_unit_test(test_avs12_common_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
