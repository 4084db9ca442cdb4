/*
 * admin.h - admin authentication in the service (SFR 4.2.13, AVS 1.2,
 * threat A.3.1): the first credential from the setup code, passwords,
 * sessions, key-based login, brute-force throttling. The primitives live
 * in src/auth/ (password hashing and policy, throttle, sessions,
 * challenges); this module keeps their state in the sealed store and
 * applies the rules:
 *
 *  - identification comes first: only admins by the kernel's word (uid 0 or
 *    admin_group, daemon/policy.h) may set up, log in or answer a
 *    challenge; everyone else is denied before any secret is examined;
 *  - no admin credential exists until `setup` presents the device's setup
 *    code (provisioning) with a new password that passes the policy; the
 *    code is then spent (setup refuses while a credential exists) and comes
 *    back only with a factory reset, which erases the credential;
 *  - every attempt that examines a secret (setup code, password, challenge
 *    signature) goes through one throttle, persisted in the "sys"
 *    namespace so that neither a restart nor a factory reset clears it;
 *  - a successful setup, login or challenge answer returns a session token
 *    bound to the caller's uid, valid admin_session_s seconds; sessions
 *    live in memory (a restart ends them) and a password change or a reset
 *    revokes them all.
 *
 * Records: "adm/password" (the PHC scrypt string), "adm/key.<name>"
 * (SubjectPublicKeyInfo DER of a companion app's key) -- erasable user
 * data -- and "sys/auth-throttle" (auth/throttle.h encoding).
 */
#ifndef VG_DAEMON_ADMIN_H
#define VG_DAEMON_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/password.h"
#include "auth/session.h"
#include "identity/identity.h"
#include "storage/secstore.h"
#include "voxguard/voxguard.h"

#define VG_TOKEN_HEX 64u

typedef struct vg_adminsvc vg_adminsvc;

/* pw_cost: scrypt log2(N) for new hashes; session_s: session lifetime. */
VG_NODISCARD vg_rc vg_adminsvc_open(vg_adminsvc **out, vg_secstore *store, vg_identity *id,
				    unsigned pw_cost, uint32_t session_s);
void vg_adminsvc_close(vg_adminsvc **a);

/* An admin credential exists: admin operations need a session. */
bool vg_adminsvc_configured(const vg_adminsvc *a);

/*
 * First credential: VG_ERR_STATE if not provisioned or already set up;
 * VG_ERR_LOCKED (with *wait_s) while throttled; VG_ERR_AUTH_FAILED for a
 * wrong code (counted); VG_ERR_POLICY for a refused password (why says
 * why; not counted: the code was right). On success a session for uid.
 */
VG_NODISCARD vg_rc vg_adminsvc_setup(vg_adminsvc *a, uint32_t uid, const char *code,
				     const uint8_t *pw, size_t pw_len,
				     char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s,
				     char *why, size_t why_len);
/* Password login: VG_ERR_STATE if no credential; else as setup. */
VG_NODISCARD vg_rc vg_adminsvc_login(vg_adminsvc *a, uint32_t uid, const uint8_t *pw, size_t pw_len,
				     char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s);
/*
 * The same three password operations in steps, so that the hashing
 * (scrypt, about 0.1 s at the default cost) runs off the event loop
 * (daemon/workers.h): a _begin function on the event loop checks the
 * state and the throttle and copies what the work needs into *j (never
 * more than one password operation at a time, device-wide: VG_ERR_LOCKED
 * with *wait_s = 1 meanwhile, so that the throttle sees every attempt in
 * order); vg_pwjob_run() hashes, on any thread, touching only *j; and
 * vg_adminsvc_pw_end(), back on the event loop, records the outcome
 * durably and makes the session, with the same results as the calls
 * above. A begun job is always ended, by vg_adminsvc_pw_end() or, when
 * its work never ran, vg_adminsvc_pw_abandon(); both wipe it.
 */
typedef enum vg_pwjob_kind {
	VG_PWJOB_SETUP = 1,
	VG_PWJOB_LOGIN,
	VG_PWJOB_PASSWD,
} vg_pwjob_kind;

typedef struct vg_pwjob {
	vg_pwjob_kind kind;
	uint32_t uid;
	vg_pw_params params;
	uint8_t *pw, *new_pw; /* secret memory: the password, the new one */
	size_t pw_len, new_len;
	char stored[VG_PW_ENCODED_MAX]; /* the credential to check against */
	char fresh[VG_PW_ENCODED_MAX];  /* the new credential (setup, passwd) */
	vg_rc policy;                   /* passwd: the new password's policy */
	char why[256];                  /* the policy's reason */
	vg_rc rc;                       /* the password check's outcome */
	vg_rc hash_rc;                  /* the new credential's hashing */
} vg_pwjob;

VG_NODISCARD vg_rc vg_adminsvc_setup_begin(vg_adminsvc *a, uint32_t uid, const char *code,
					   const uint8_t *pw, size_t pw_len, vg_pwjob *j,
					   uint64_t *wait_s, char *why, size_t why_len);
VG_NODISCARD vg_rc vg_adminsvc_login_begin(vg_adminsvc *a, uint32_t uid, const uint8_t *pw,
					   size_t pw_len, vg_pwjob *j, uint64_t *wait_s);
VG_NODISCARD vg_rc vg_adminsvc_passwd_begin(vg_adminsvc *a, uint32_t uid, const uint8_t *old_pw,
					    size_t old_len, const uint8_t *new_pw, size_t new_len,
					    vg_pwjob *j, uint64_t *wait_s);
void vg_pwjob_run(vg_pwjob *j);
/* why (why_len) gets a refused new password's reason. */
VG_NODISCARD vg_rc vg_adminsvc_pw_end(vg_adminsvc *a, vg_pwjob *j,
				      char token[static VG_TOKEN_HEX + 1], char *why,
				      size_t why_len);
void vg_adminsvc_pw_abandon(vg_adminsvc *a, vg_pwjob *j);
/* True between a _begin and its end. */
bool vg_adminsvc_pw_busy(const vg_adminsvc *a);

/* Ends one session (VG_OK also if it was unknown). */
void vg_adminsvc_logout(vg_adminsvc *a, const char *token);
/* Changes the password (the old one is checked and throttled); revokes
 * every session and returns a new one for uid. */
VG_NODISCARD vg_rc vg_adminsvc_passwd(vg_adminsvc *a, uint32_t uid, const uint8_t *old_pw,
				      size_t old_len, const uint8_t *new_pw, size_t new_len,
				      char token[static VG_TOKEN_HEX + 1], uint64_t *wait_s,
				      char *why, size_t why_len);

/* Registers a companion app's public key (P-256 or Ed25519, PEM or DER)
 * under name; VG_ERR_EXISTS if taken. */
VG_NODISCARD vg_rc vg_adminsvc_key_add(vg_adminsvc *a, const char *name, const uint8_t *pub,
				       size_t pub_len);
VG_NODISCARD vg_rc vg_adminsvc_key_delete(vg_adminsvc *a, const char *name);
/* A single-use challenge (60 s) for uid; the app signs the message of
 * auth/challenge.h: "voxguard-admin-auth-v1" 0 nonce uid(u32 BE). */
VG_NODISCARD vg_rc vg_adminsvc_challenge(vg_adminsvc *a, uint32_t uid, uint8_t nonce[static 32]);
/* Verifies the app's signature over the challenge message with the key
 * registered under name; a session on success. Throttled like passwords. */
VG_NODISCARD vg_rc vg_adminsvc_answer(vg_adminsvc *a, uint32_t uid, const char *name,
				      const uint8_t nonce[static 32], const uint8_t *sig,
				      size_t sig_len, char token[static VG_TOKEN_HEX + 1],
				      uint64_t *wait_s);

/* VG_OK if token is a live session of uid; else VG_ERR_AUTH_REQUIRED. */
VG_NODISCARD vg_rc vg_adminsvc_check(vg_adminsvc *a, const char *token, uint32_t uid);

/* After a factory reset: every session revoked, the credential state
 * re-read (gone), pending challenges dropped. */
void vg_adminsvc_reset(vg_adminsvc *a);

#endif
