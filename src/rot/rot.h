/*
 * rot.h - the root-of-trust backend interface.
 *
 * Everything voxguard protects hangs off three things a root of trust gives:
 *  - a device-unique root key that never leaves the backend's custody and is
 *    used only to derive purpose keys (HKDF-SHA256, see vg_rot_derive);
 *  - a monotonic counter that never goes backwards, even across power cuts
 *    and restores of the state dir (what rollback detection compares with);
 *  - a second monotonic counter, the security-version counter: the
 *    device's minimum firmware security version (anti-rollback, SFR 4.2.6),
 *    raised rarely (once a new firmware has booted and been confirmed);
 *  - random bytes.
 *
 * Backends: `file` (development: the root key in a 0600 file in the state
 * dir; vg_rot_is_dev() says so) and `tpm2` (the key sealed in the TPM, the
 * counters and the erase secret in TPM NV; src/rot/tpm2.c, docs/TPM2.md). Each lives in src/rot/<name>.c and fills a
 * vg_rot_ops table.
 *
 * Time (SFR 4.2.10: bounded time): every command a call sends to a device
 * is bounded by the open's timeout_ms (a call of many commands, a counter
 * raised by 1024 steps, takes as long as they do while each is answered
 * in time). A backend that meets a device that does not answer a command
 * in that time fails the call with VG_ERR_TIMEOUT, and
 * every later call that needs the device fails at once with
 * VG_ERR_TIMEOUT until the unanswered command has come back
 * (vg_rot_health says so, and since when). derive() needs no device
 * round trip in either backend and is never refused for this.
 */
#ifndef VG_ROT_H
#define VG_ROT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"
#include "voxguard/voxguard.h"

typedef struct vg_rot vg_rot;

/* The default bound on one call to a root-of-trust device (config
 * rot_timeout_ms), and its limits. */
#define VG_ROT_TIMEOUT_MS_DEFAULT 10000u
#define VG_ROT_TIMEOUT_MS_MIN     100u
#define VG_ROT_TIMEOUT_MS_MAX     600000u

/* What vg_rot_health reports; no device round trip. */
typedef struct vg_rot_health {
	bool answering;      /* false: a command got no answer within timeout_ms */
	uint64_t down_since; /* Unix time (s) that command was sent; 0 when answering */
	uint32_t timeout_ms; /* the bound in force */
	uint64_t timeouts;   /* calls that timed out since the open */
	uint64_t recoveries; /* times the device answered again after a timeout */
} vg_rot_health;

/* The PCRs a TPM has (PC Client: 24, 0-23). */
#define VG_ROT_PCRS 24u

/* The largest raise secver_advance accepts in one call: a TPM NV counter
 * steps by one per command. */
#define VG_ROT_SECVER_MAX_STEP 4096u

typedef struct vg_rot_ops {
	const char *name;
	bool is_dev; /* a development backend: no hardware protection */
	/* HKDF-SHA256 of the root key; info = label || 0 || ctx. */
	vg_rc (*derive)(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
			uint8_t out[VG_KEY_LEN]);
	vg_rc (*counter_read)(vg_rot *r, uint64_t *value);
	/* Raises the counter to `value` if it is lower; never lowers it.
	 * Durable before it returns. */
	vg_rc (*counter_advance)(vg_rot *r, uint64_t value);
	vg_rc (*random)(vg_rot *r, uint8_t *buf, size_t len);
	/* Optional (NULL: VG_ERR_UNSUPPORTED): extends a platform
	 * measurement (SHA-256 digest of a component named `what`) into the
	 * backend's measurement register (a TPM PCR). */
	vg_rc (*measure)(vg_rot *r, const char *what, const uint8_t digest[32]);
	/* The erase secret: 32 random bytes kept by the backend (not in the
	 * database), mixed into the keys of all user data so that replacing
	 * it crypto-erases that data (factory reset, SFR 4.2.12). Created on
	 * first use; rotate replaces it, overwriting the old value in place,
	 * durably before returning. out receives the current value. */
	vg_rc (*erase_secret)(vg_rot *r, bool rotate, uint8_t out[VG_KEY_LEN]);
	/* The security-version counter: the device's minimum firmware
	 * security version (anti-rollback, SFR 4.2.6). Starts at 0; never
	 * goes down; survives factory reset and restores (and wipes) of the
	 * state dir (tpm2: it lives in TPM NV; file, a development backend,
	 * keeps it in the state dir, so there only factory reset). Separate
	 * from the storage counter. Optional (NULL: VG_ERR_UNSUPPORTED). */
	vg_rc (*secver_read)(vg_rot *r, uint64_t *value);
	/* Raises it to value if lower (never lowers); durable before return.
	 * VG_ERR_INVALID if value - current > VG_ROT_SECVER_MAX_STEP. */
	vg_rc (*secver_advance)(vg_rot *r, uint64_t value);
	/* Optional (NULL: VG_ERR_UNSUPPORTED): the SHA-256 bank's values of
	 * the PCRs in mask (bit i: PCR i, i < VG_ROT_PCRS) into out[i]; the
	 * others are left alone. See vg_rot_pcr_read. */
	vg_rc (*pcr_read)(vg_rot *r, uint32_t mask, uint8_t out[][32]);
	/* Optional (NULL: always answering): see vg_rot_health. */
	void (*health)(vg_rot *r, struct vg_rot_health *h);
	/* Optional (NULL: never): see vg_rot_sealed_why. */
	const char *(*sealed_why)(const vg_rot *r);
	/* Optional (NULL: counter_advance, waited for): see
	 * vg_rot_counter_start. */
	vg_rc (*counter_start)(vg_rot *r, uint64_t value, bool *done);
	void (*close)(vg_rot *r);
} vg_rot_ops;

struct vg_rot {
	const vg_rot_ops *ops;
	void *priv;
};

/*
 * Opens backend `name` ("file") for the state dir. `param` is
 * backend-specific (a TCTI string for tpm2; unused by file). Creates the
 * device's root key on first use.
 */
VG_NODISCARD vg_rc vg_rot_open(vg_rot **out, const char *name, const char *state_dir,
			       const char *param);
/* The same, each device call bounded by timeout_ms (see Time above;
 * vg_rot_open uses VG_ROT_TIMEOUT_MS_DEFAULT). An open whose device does
 * not answer in time fails with VG_ERR_TIMEOUT. */
VG_NODISCARD vg_rc vg_rot_open_bounded(vg_rot **out, const char *name, const char *state_dir,
				       const char *param, uint32_t timeout_ms);
/* Binding the root key to the measured boot (tpm2 only; rot/pcrpolicy.h,
 * docs/TPM2.md): policy_key, the OEM's PCR-policy public key (a PEM file,
 * ECDSA P-256), seals a new root key so that only a boot the OEM signed
 * for can unseal it; policy, the signed PCR policy file of the running
 * release, names those boots. NULL or "": not bound (a root key sealed
 * before a key was configured stays unbound; one sealed bound needs both). */
typedef struct vg_rot_opts {
	const char *param;
	uint32_t timeout_ms;
	const char *policy_key;
	const char *policy;
	/* A root key sealed to the measured boot that this boot cannot open
	 * (VG_ERR_STATE, VG_ERR_VERIFY_FAILED or VG_ERR_INTEGRITY below) still
	 * gives a handle, in the sealed state (vg_rot_sealed_why): the service
	 * starts in recovery and says why, instead of not starting. */
	bool open_sealed;
} vg_rot_opts;

/* The same with every option. A file backend asked for a policy key:
 * VG_ERR_UNSUPPORTED. A tpm2 root key sealed to the measured boot that
 * this boot cannot unseal: VG_ERR_STATE (no signed entry names this
 * boot's PCR values, or the policy file is missing or malformed; stderr
 * says which PCRs differ), VG_ERR_VERIFY_FAILED (the TPM refuses the
 * entry's signature), VG_ERR_INTEGRITY (sealed to another policy key). */
VG_NODISCARD vg_rc vg_rot_open_opts(vg_rot **out, const char *name, const char *state_dir,
				    const vg_rot_opts *o);
/*
 * NULL when the root key is open (every backend, every open without
 * open_sealed). Otherwise the root key stayed sealed in this boot (an
 * open with open_sealed, see vg_rot_opts) and this says why, in one line
 * ("this boot is not one the OEM signed for: PCR 9 differs ..."). In that
 * state nothing that needs the root key or could change the device's
 * state works: derive, erase_secret, the storage counter (read, advance,
 * start) and secver_advance fail with VG_ERR_STATE, so a boot the OEM did
 * not sign can neither read the sealed store nor make the signed boot's
 * store look rolled back. What reads or reports works: random, pcr_read,
 * measure, secver_read, health.
 */
const char *vg_rot_sealed_why(const vg_rot *r);
/* The backend's health, without talking to the device (status, the
 * service's rot.timeout / rot.recovered audit events). Thread-safe. */
void vg_rot_health_get(vg_rot *r, vg_rot_health *h);
void vg_rot_close(vg_rot **r);

VG_NODISCARD vg_rc vg_rot_derive(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
				 uint8_t out[static VG_KEY_LEN]);
VG_NODISCARD vg_rc vg_rot_counter_read(vg_rot *r, uint64_t *value);
VG_NODISCARD vg_rc vg_rot_counter_advance(vg_rot *r, uint64_t value);
/*
 * counter_advance without waiting for the device (the database's RoT sync
 * at the end of an event-loop round). *done: value is confirmed (durable).
 * VG_OK and !*done: under way, ask again later with the same or a higher
 * value; VG_ERR_TIMEOUT: the device does not answer (see Time); another
 * error: the last advance started this way failed (reported once). A
 * backend without it advances and waits, as vg_rot_counter_advance.
 */
VG_NODISCARD vg_rc vg_rot_counter_start(vg_rot *r, uint64_t value, bool *done);
VG_NODISCARD vg_rc vg_rot_random(vg_rot *r, uint8_t *buf, size_t len);
/* VG_ERR_UNSUPPORTED when the backend has no erase secret. */
VG_NODISCARD vg_rc vg_rot_erase_secret(vg_rot *r, bool rotate, uint8_t out[static VG_KEY_LEN]);
VG_NODISCARD vg_rc vg_rot_measure(vg_rot *r, const char *what, const uint8_t digest[static 32]);
/*
 * The measured boot's registers, as the root of trust holds them: the
 * SHA-256 bank's value of each PCR i whose bit is set in mask (i <
 * VG_ROT_PCRS) into out[i] (an array of VG_ROT_PCRS); the others are
 * left alone. tpm2: TPM2_PCR_Read in the salted session used for audit,
 * so the values are HMAC-checked against a tampered bus. The attestation
 * token carries them (config attest_pcrs) for a verifier to replay the
 * firmware's event log against. VG_ERR_UNSUPPORTED: the backend has no
 * PCRs (file); VG_ERR_INVALID: a bit at or above VG_ROT_PCRS, or none.
 */
VG_NODISCARD vg_rc vg_rot_pcr_read(vg_rot *r, uint32_t mask, uint8_t out[][32]);
/*
 * The security-version counter (the ops above; SFR 4.2.6 anti-rollback).
 * read: *value = the current minimum security version (0 on a device that
 * never raised it); on failure *value is 0 and must not be taken as the
 * minimum (fail closed). advance: raises it to value (a lower or equal
 * value is VG_OK and changes nothing); VG_ERR_INVALID, nothing changed,
 * when value - current > VG_ROT_SECVER_MAX_STEP. An advance that fails
 * part-way (VG_ERR_IO) may leave it anywhere between the old value and
 * value, never below the old one: read it again. The first use may create
 * its backing store (file: `secver` in the state dir; tpm2: two NV
 * indices). VG_ERR_UNSUPPORTED when the backend has none.
 */
VG_NODISCARD vg_rc vg_rot_secver_read(vg_rot *r, uint64_t *value);
VG_NODISCARD vg_rc vg_rot_secver_advance(vg_rot *r, uint64_t value);
const char *vg_rot_name(const vg_rot *r);
bool vg_rot_is_dev(const vg_rot *r);

/* Backends. */
VG_NODISCARD vg_rc vg_rot_file_open(vg_rot **out, const char *state_dir);
/* tcti: a TCTI configuration string ("swtpm:host=127.0.0.1,port=2321",
 * "device:/dev/tpmrm0"); NULL or "" for the tpm2-tss default. Every TPM
 * command runs on a thread of the handle's own and is waited for at most
 * timeout_ms after the one before it was answered (src/rot/tpm2.c,
 * "Time"). */
VG_NODISCARD vg_rc vg_rot_tpm2_open(vg_rot **out, const char *state_dir, const char *tcti,
				    uint32_t timeout_ms);
/* With the policy options of vg_rot_opts (policy_key, policy). */
VG_NODISCARD vg_rc vg_rot_tpm2_open_opts(vg_rot **out, const char *state_dir,
					 const vg_rot_opts *o);

#endif
