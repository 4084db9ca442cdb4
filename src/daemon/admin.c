/* admin.c - see admin.h */
#include "daemon/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/challenge.h"
#include "auth/throttle.h"
#include "common/util.h"
#include "storage/sysrec.h"
#include "crypto/pubkey.h"

#define NS_ADM       "adm"
#define REC_PASSWORD "password"
#define PW_MAX       256u
#define KEY_PREFIX   "key."

struct vg_adminsvc {
	vg_secstore *store;
	vg_identity *id;
	vg_pw_params params;
	uint64_t session_ms;
	vg_sessions *sessions;
	vg_challenges *challenges;
	bool configured;
	vg_throttle throttle;
};

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

static vg_rc load_state(vg_adminsvc *a)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	vg_rc rc;

	a->configured = false;
	memset(&a->throttle, 0, sizeof a->throttle);
	if (vg_secstore_state(a->store) != VG_OK)
		return VG_OK; /* a refused store: nothing to read, nothing set up */
	rc = vg_secstore_get(a->store, NS_ADM, REC_PASSWORD, &buf, &len);
	if (rc == VG_OK)
		a->configured = true;
	vg_free(buf, len);
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
		return rc;
	rc = vg_sysrec_get(a->store, VG_SYS_ADMIN_THROTTLE, &buf, &len);
	if (rc == VG_OK)
		rc = vg_throttle_decode(buf, len, &a->throttle);
	vg_free(buf, len);
	if (rc == VG_ERR_NOT_FOUND)
		rc = VG_OK;
	return rc;
}

vg_rc vg_adminsvc_open(vg_adminsvc **out, vg_secstore *store, vg_identity *id, unsigned pw_cost,
		       uint32_t session_s)
{
	vg_adminsvc *a = calloc(1, sizeof *a);
	vg_rc rc;

	*out = NULL;
	if (!a)
		return VG_ERR_NOMEM;
	a->store = store;
	a->id = id;
	a->params = VG_PW_PARAMS_DEFAULT;
	a->params.log2_n = pw_cost;
	a->session_ms = (uint64_t)session_s * 1000u;
	rc = vg_sessions_new(&a->sessions);
	if (rc == VG_OK)
		rc = vg_challenges_new(&a->challenges);
	if (rc == VG_OK)
		rc = load_state(a);
	if (rc != VG_OK) {
		vg_adminsvc_close(&a);
		return rc;
	}
	*out = a;
	return VG_OK;
}

void vg_adminsvc_close(vg_adminsvc **pa)
{
	if (!pa || !*pa)
		return;
	vg_sessions_free(&(*pa)->sessions);
	vg_challenges_free(&(*pa)->challenges);
	vg_wipe(*pa, sizeof **pa);
	free(*pa);
	*pa = NULL;
}

bool vg_adminsvc_configured(const vg_adminsvc *a)
{
	return a->configured;
}

/* The throttle gate before a secret is examined. */
static vg_rc gate(vg_adminsvc *a, uint64_t *wait_s)
{
	*wait_s = 0;
	return vg_throttle_check(&a->throttle, wall_s(), wait_s);
}

/* Records the outcome durably: a failure must count even if we crash
 * right after answering. */
static vg_rc record(vg_adminsvc *a, bool ok)
{
	uint8_t enc[VG_THROTTLE_LEN];

	if (ok)
		vg_throttle_success(&a->throttle);
	else
		vg_throttle_fail(&a->throttle, wall_s());
	vg_throttle_encode(&a->throttle, enc);
	return vg_sysrec_put(a->store, VG_SYS_ADMIN_THROTTLE, enc, sizeof enc);
}

static vg_rc new_session(vg_adminsvc *a, uint32_t uid, char token[static VG_TOKEN_HEX + 1])
{
	return vg_session_create(a->sessions, uid, vg_mono_ms(), a->session_ms, token);
}

static vg_rc check_new_password(vg_adminsvc *a, const uint8_t *pw, size_t len, char *why,
				size_t why_len)
{
	const char *words[VG_IDENTITY_MAX_WORDS];
	size_t n = vg_identity_device_words(a->id, words);

	if (len > PW_MAX) {
		(void)snprintf(why, why_len, "password longer than %u bytes", PW_MAX);
		return VG_ERR_POLICY;
	}
	return vg_pw_policy_check((const char *)pw, len, words, n, why, why_len);
}

static vg_rc store_password(vg_adminsvc *a, const uint8_t *pw, size_t len)
{
	char enc[VG_PW_ENCODED_MAX];
	vg_rc rc = vg_pw_hash((const char *)pw, len, &a->params, enc, sizeof enc);

	if (rc == VG_OK)
		rc = vg_secstore_put(a->store, NS_ADM, REC_PASSWORD, (const uint8_t *)enc,
				     strlen(enc));
	vg_wipe(enc, sizeof enc);
	return rc;
}

vg_rc vg_adminsvc_setup(vg_adminsvc *a, uint32_t uid, const char *code, const uint8_t *pw,
			size_t pw_len, char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s,
			char *why, size_t why_len)
{
	vg_rc rc, rr;

	token[0] = '\0';
	*wait_s = 0;
	if (!vg_identity_provisioned(a->id) || a->configured)
		return VG_ERR_STATE;
	rc = gate(a, wait_s);
	if (rc != VG_OK)
		return rc;
	rc = vg_identity_check_setup_code(a->id, code);
	rr = record(a, rc == VG_OK);
	if (rc != VG_OK)
		return rc;
	if (rr != VG_OK)
		return rr;
	rc = check_new_password(a, pw, pw_len, why, why_len);
	if (rc == VG_OK)
		rc = store_password(a, pw, pw_len);
	if (rc != VG_OK)
		return rc;
	a->configured = true;
	return new_session(a, uid, token);
}

static vg_rc verify_password(vg_adminsvc *a, const uint8_t *pw, size_t len)
{
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	char s[VG_PW_ENCODED_MAX];
	vg_rc rc = vg_secstore_get(a->store, NS_ADM, REC_PASSWORD, &enc, &enc_len);

	if (rc == VG_OK && enc_len >= sizeof s)
		rc = VG_ERR_INTEGRITY;
	if (rc == VG_OK) {
		memcpy(s, enc, enc_len);
		s[enc_len] = '\0';
		rc = len > PW_MAX ? VG_ERR_AUTH_FAILED : vg_pw_verify((const char *)pw, len, s);
		if (rc == VG_ERR_INVALID)
			rc = VG_ERR_INTEGRITY; /* our own record does not parse */
	}
	vg_free(enc, enc_len);
	vg_wipe(s, sizeof s);
	return rc;
}

/* A throttled password check whose outcome is recorded durably. */
static vg_rc authenticate(vg_adminsvc *a, const uint8_t *pw, size_t len, uint64_t *wait_s)
{
	vg_rc rc, rr;

	*wait_s = 0;
	if (!a->configured)
		return VG_ERR_STATE;
	rc = gate(a, wait_s);
	if (rc != VG_OK)
		return rc;
	rc = verify_password(a, pw, len);
	if (rc != VG_OK && rc != VG_ERR_AUTH_FAILED)
		return rc;
	rr = record(a, rc == VG_OK);
	return rc != VG_OK ? rc : rr;
}

vg_rc vg_adminsvc_login(vg_adminsvc *a, uint32_t uid, const uint8_t *pw, size_t pw_len,
			char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s)
{
	vg_rc rc;

	token[0] = '\0';
	rc = authenticate(a, pw, pw_len, wait_s);
	return rc == VG_OK ? new_session(a, uid, token) : rc;
}

void vg_adminsvc_logout(vg_adminsvc *a, const char *token)
{
	vg_session_revoke(a->sessions, token);
}

vg_rc vg_adminsvc_passwd(vg_adminsvc *a, uint32_t uid, const uint8_t *old_pw, size_t old_len,
			 const uint8_t *new_pw, size_t new_len, char token[static VG_TOKEN_HEX + 1],
			 uint64_t *wait_s, char *why, size_t why_len)
{
	vg_rc rc;

	token[0] = '\0';
	rc = authenticate(a, old_pw, old_len, wait_s);
	if (rc != VG_OK)
		return rc;
	rc = check_new_password(a, new_pw, new_len, why, why_len);
	if (rc == VG_OK)
		rc = store_password(a, new_pw, new_len);
	if (rc != VG_OK)
		return rc;
	vg_session_revoke_all(a->sessions);
	return new_session(a, uid, token);
}

static bool key_name(const char *name, char out[VG_MAX_NAME_LEN + 1])
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n + sizeof KEY_PREFIX - 1 > VG_MAX_NAME_LEN || !vg_name_valid(name, n))
		return false;
	(void)snprintf(out, VG_MAX_NAME_LEN + 1, KEY_PREFIX "%s", name);
	return true;
}

vg_rc vg_adminsvc_key_add(vg_adminsvc *a, const char *name, const uint8_t *pub, size_t pub_len)
{
	char rec[VG_MAX_NAME_LEN + 1];
	uint8_t *der = NULL, *old = NULL;
	size_t old_len = 0, der_len = 0;
	vg_rc rc;

	if (!key_name(name, rec))
		return VG_ERR_INVALID;
	rc = vg_pubkey_parse(pub, pub_len, &der, &der_len);
	if (rc != VG_OK)
		return rc;
	rc = vg_secstore_get(a->store, NS_ADM, rec, &old, &old_len);
	vg_free(old, old_len);
	if (rc == VG_OK)
		rc = VG_ERR_EXISTS;
	else if (rc == VG_ERR_NOT_FOUND)
		rc = vg_secstore_put(a->store, NS_ADM, rec, der, der_len);
	OPENSSL_free(der);
	return rc;
}

vg_rc vg_adminsvc_key_delete(vg_adminsvc *a, const char *name)
{
	char rec[VG_MAX_NAME_LEN + 1];

	if (!key_name(name, rec))
		return VG_ERR_INVALID;
	return vg_secstore_delete(a->store, NS_ADM, rec);
}

vg_rc vg_adminsvc_challenge(vg_adminsvc *a, uint32_t uid, uint8_t nonce[static 32])
{
	if (!a->configured)
		return VG_ERR_STATE;
	return vg_challenge_issue(a->challenges, uid, vg_mono_ms(), nonce);
}

vg_rc vg_adminsvc_answer(vg_adminsvc *a, uint32_t uid, const char *name,
			 const uint8_t nonce[static 32], const uint8_t *sig, size_t sig_len,
			 char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s)
{
	char rec[VG_MAX_NAME_LEN + 1];
	uint8_t *der = NULL;
	size_t der_len = 0;
	vg_rc rc, rr;

	token[0] = '\0';
	*wait_s = 0;
	if (!a->configured)
		return VG_ERR_STATE;
	if (!key_name(name, rec))
		return VG_ERR_INVALID;
	rc = gate(a, wait_s);
	if (rc != VG_OK)
		return rc;
	rc = vg_secstore_get(a->store, NS_ADM, rec, &der, &der_len);
	if (rc == VG_ERR_NOT_FOUND)
		rc = VG_ERR_AUTH_FAILED; /* no such key: as a bad signature */
	if (rc == VG_OK)
		rc = vg_challenge_answer(a->challenges, uid, nonce, sig, sig_len, der, der_len,
					 vg_mono_ms());
	vg_free(der, der_len);
	if (rc != VG_OK && rc != VG_ERR_AUTH_FAILED)
		return rc;
	rr = record(a, rc == VG_OK);
	if (rc != VG_OK)
		return rc;
	if (rr != VG_OK)
		return rr;
	return new_session(a, uid, token);
}

vg_rc vg_adminsvc_check(vg_adminsvc *a, const char *token, uint32_t uid)
{
	if (!token || !*token)
		return VG_ERR_AUTH_REQUIRED;
	return vg_session_check(a->sessions, token, uid, vg_mono_ms());
}

void vg_adminsvc_reset(vg_adminsvc *a)
{
	vg_throttle keep = a->throttle;

	vg_session_revoke_all(a->sessions);
	vg_challenges_free(&a->challenges);
	VG_IGNORE(vg_challenges_new(&a->challenges));
	if (load_state(a) != VG_OK)
		a->configured = false;
	/* The throttle survives a reset (it is in "sys"); never lower it. */
	if (a->throttle.failures < keep.failures)
		a->throttle = keep;
}
