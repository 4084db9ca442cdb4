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
	bool pw_busy; /* a password operation is between begin and end */
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

static vg_rc job_start(vg_adminsvc *a, vg_pwjob *j, vg_pwjob_kind kind, uint32_t uid,
		       uint64_t *wait_s)
{
	memset(j, 0, sizeof *j);
	j->kind = kind;
	j->uid = uid;
	j->params = a->params;
	*wait_s = 0;
	if (a->pw_busy) {
		*wait_s = 1;
		return VG_ERR_LOCKED;
	}
	return gate(a, wait_s);
}

static vg_rc copy_secret(const uint8_t *in, size_t len, uint8_t **out)
{
	*out = vg_secret_alloc(len ? len : 1);
	if (!*out)
		return VG_ERR_NOMEM;
	if (len)
		memcpy(*out, in, len);
	return VG_OK;
}

static void job_wipe(vg_pwjob *j)
{
	if (j->pw)
		vg_secret_free(j->pw, j->pw_len ? j->pw_len : 1);
	if (j->new_pw)
		vg_secret_free(j->new_pw, j->new_len ? j->new_len : 1);
	vg_wipe(j, sizeof *j);
}

/* The stored credential, for a check off the event loop. */
static vg_rc read_stored(vg_adminsvc *a, char out[static VG_PW_ENCODED_MAX])
{
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	vg_rc rc = vg_secstore_get(a->store, NS_ADM, REC_PASSWORD, &enc, &enc_len);

	if (rc == VG_OK && enc_len >= VG_PW_ENCODED_MAX)
		rc = VG_ERR_INTEGRITY;
	if (rc == VG_OK) {
		memcpy(out, enc, enc_len);
		out[enc_len] = '\0';
	}
	vg_free(enc, enc_len);
	return rc;
}

vg_rc vg_adminsvc_setup_begin(vg_adminsvc *a, uint32_t uid, const char *code, const uint8_t *pw,
			      size_t pw_len, vg_pwjob *j, uint64_t *wait_s, char *why,
			      size_t why_len)
{
	vg_rc rc, rr;

	if (!vg_identity_provisioned(a->id) || a->configured) {
		memset(j, 0, sizeof *j);
		*wait_s = 0;
		return VG_ERR_STATE;
	}
	rc = job_start(a, j, VG_PWJOB_SETUP, uid, wait_s);
	if (rc != VG_OK)
		return rc;
	rc = vg_identity_check_setup_code(a->id, code);
	rr = record(a, rc == VG_OK);
	if (rc == VG_OK)
		rc = rr;
	if (rc == VG_OK)
		rc = check_new_password(a, pw, pw_len, why, why_len);
	if (rc == VG_OK)
		rc = copy_secret(pw, pw_len, &j->pw);
	if (rc != VG_OK) {
		job_wipe(j);
		return rc;
	}
	j->pw_len = pw_len;
	a->pw_busy = true;
	return VG_OK;
}

vg_rc vg_adminsvc_login_begin(vg_adminsvc *a, uint32_t uid, const uint8_t *pw, size_t pw_len,
			      vg_pwjob *j, uint64_t *wait_s)
{
	vg_rc rc;

	if (!a->configured) {
		memset(j, 0, sizeof *j);
		*wait_s = 0;
		return VG_ERR_STATE;
	}
	rc = job_start(a, j, VG_PWJOB_LOGIN, uid, wait_s);
	if (rc == VG_OK)
		rc = read_stored(a, j->stored);
	if (rc == VG_OK)
		rc = copy_secret(pw, pw_len, &j->pw);
	if (rc != VG_OK) {
		job_wipe(j);
		return rc;
	}
	j->pw_len = pw_len;
	a->pw_busy = true;
	return VG_OK;
}

vg_rc vg_adminsvc_passwd_begin(vg_adminsvc *a, uint32_t uid, const uint8_t *old_pw, size_t old_len,
			       const uint8_t *new_pw, size_t new_len, vg_pwjob *j, uint64_t *wait_s)
{
	vg_rc rc;

	if (!a->configured) {
		memset(j, 0, sizeof *j);
		*wait_s = 0;
		return VG_ERR_STATE;
	}
	rc = job_start(a, j, VG_PWJOB_PASSWD, uid, wait_s);
	if (rc == VG_OK)
		rc = read_stored(a, j->stored);
	if (rc == VG_OK)
		rc = copy_secret(old_pw, old_len, &j->pw);
	if (rc == VG_OK) {
		j->pw_len = old_len;
		rc = copy_secret(new_pw, new_len, &j->new_pw);
	}
	if (rc != VG_OK) {
		job_wipe(j);
		return rc;
	}
	j->new_len = new_len;
	/* Judged now, told only after the old password was (as before). */
	j->policy = check_new_password(a, new_pw, new_len, j->why, sizeof j->why);
	a->pw_busy = true;
	return VG_OK;
}

void vg_pwjob_run(vg_pwjob *j)
{
	switch (j->kind) {
	case VG_PWJOB_SETUP:
		j->rc = VG_OK;
		j->hash_rc = vg_pw_hash((const char *)j->pw, j->pw_len, &j->params, j->fresh,
					sizeof j->fresh);
		break;
	case VG_PWJOB_LOGIN:
	case VG_PWJOB_PASSWD:
		j->rc = j->pw_len > PW_MAX
			    ? VG_ERR_AUTH_FAILED
			    : vg_pw_verify((const char *)j->pw, j->pw_len, j->stored);
		if (j->rc == VG_ERR_INVALID)
			j->rc = VG_ERR_INTEGRITY; /* our own record does not parse */
		if (j->kind == VG_PWJOB_PASSWD && j->rc == VG_OK && j->policy == VG_OK)
			j->hash_rc = vg_pw_hash((const char *)j->new_pw, j->new_len, &j->params,
						j->fresh, sizeof j->fresh);
		break;
	default:
		j->rc = VG_ERR_INTERNAL;
	}
}

static vg_rc store_fresh(vg_adminsvc *a, const vg_pwjob *j)
{
	return vg_secstore_put(a->store, NS_ADM, REC_PASSWORD, (const uint8_t *)j->fresh,
			       strlen(j->fresh));
}

vg_rc vg_adminsvc_pw_end(vg_adminsvc *a, vg_pwjob *j, char token[static VG_TOKEN_HEX + 1],
			 char *why, size_t why_len)
{
	vg_rc rc = j->rc, rr;

	token[0] = '\0';
	a->pw_busy = false;
	switch (j->kind) {
	case VG_PWJOB_SETUP:
		rc = j->hash_rc;
		if (rc == VG_OK)
			rc = store_fresh(a, j);
		if (rc == VG_OK) {
			a->configured = true;
			rc = new_session(a, j->uid, token);
		}
		break;
	case VG_PWJOB_LOGIN:
	case VG_PWJOB_PASSWD:
		if (rc != VG_OK && rc != VG_ERR_AUTH_FAILED)
			break; /* not a verdict on the password: not counted */
		rr = record(a, rc == VG_OK);
		if (rc == VG_OK)
			rc = rr;
		if (rc != VG_OK)
			break;
		if (j->kind == VG_PWJOB_PASSWD) {
			if (j->policy != VG_OK) {
				(void)snprintf(why, why_len, "%s", j->why);
				rc = j->policy;
				break;
			}
			rc = j->hash_rc;
			if (rc == VG_OK)
				rc = store_fresh(a, j);
			if (rc != VG_OK)
				break;
			vg_session_revoke_all(a->sessions);
		}
		rc = new_session(a, j->uid, token);
		break;
	default:
		rc = VG_ERR_INTERNAL;
	}
	job_wipe(j);
	return rc;
}

bool vg_adminsvc_pw_busy(const vg_adminsvc *a)
{
	return a->pw_busy;
}

void vg_adminsvc_pw_abandon(vg_adminsvc *a, vg_pwjob *j)
{
	a->pw_busy = false;
	job_wipe(j);
}

vg_rc vg_adminsvc_setup(vg_adminsvc *a, uint32_t uid, const char *code, const uint8_t *pw,
			size_t pw_len, char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s,
			char *why, size_t why_len)
{
	vg_pwjob j;
	vg_rc rc = vg_adminsvc_setup_begin(a, uid, code, pw, pw_len, &j, wait_s, why, why_len);

	token[0] = '\0';
	if (rc != VG_OK)
		return rc;
	vg_pwjob_run(&j);
	return vg_adminsvc_pw_end(a, &j, token, why, why_len);
}

vg_rc vg_adminsvc_login(vg_adminsvc *a, uint32_t uid, const uint8_t *pw, size_t pw_len,
			char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s)
{
	vg_pwjob j;
	char why[8];
	vg_rc rc = vg_adminsvc_login_begin(a, uid, pw, pw_len, &j, wait_s);

	token[0] = '\0';
	if (rc != VG_OK)
		return rc;
	vg_pwjob_run(&j);
	return vg_adminsvc_pw_end(a, &j, token, why, sizeof why);
}

void vg_adminsvc_logout(vg_adminsvc *a, const char *token)
{
	vg_session_revoke(a->sessions, token);
}

vg_rc vg_adminsvc_passwd(vg_adminsvc *a, uint32_t uid, const uint8_t *old_pw, size_t old_len,
			 const uint8_t *new_pw, size_t new_len, char token[static VG_TOKEN_HEX + 1],
			 uint64_t *wait_s, char *why, size_t why_len)
{
	vg_pwjob j;
	vg_rc rc = vg_adminsvc_passwd_begin(a, uid, old_pw, old_len, new_pw, new_len, &j, wait_s);

	token[0] = '\0';
	if (rc != VG_OK)
		return rc;
	vg_pwjob_run(&j);
	return vg_adminsvc_pw_end(a, &j, token, why, why_len);
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
