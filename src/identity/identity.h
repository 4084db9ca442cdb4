/*
 * identity.h - factory provisioning, platform and instance identity, and
 * attestation of genuineness (SFR 4.2.1, 4.2.2, 4.2.3).
 *
 * Provisioning (once per device, at the factory) creates two ECDSA P-256
 * keys inside the service's keystore namespace -- the attestation key
 * ("attestation", signs PSA tokens only) and the device identity key
 * ("device-identity", for an OEM-CA certificate: TLS client auth, ...) --
 * records the platform identity (OEM, model, hardware revision, optional
 * verification service URL) and a per-device random setup code, and
 * registers the OEM's public keys the device is given then and never
 * again: the debug key (SFR 4.3.1) and the release key (SFR 4.2.5). All
 * of it lives in the sealed store under namespace "sys"
 * (storage/sysrec.h), which factory reset keeps; this module writes those
 * records and is the one that reads the debug key back.
 *
 * Identity, as attested:
 *  - instance ID: the RFC 9783 UEID of the attestation key,
 *    0x01 || SHA-256(uncompressed public point);
 *  - implementation ID: SHA-256("voxguard-implementation-id-v1" 0 oem 0
 *    model 0 hw_rev 0), i.e. one value per product and hardware revision;
 *  - software components: the components of the signed platform manifest
 *    as measured at start (name, version, measured SHA-256 or Merkle root,
 *    signer ID = SHA-256 of the signer's public key), plus the manifest
 *    itself; on a device without a provisioned release key, the voxguard
 *    binaries, with an all-zero signer ID. Each measurement is also
 *    extended into the root of trust (a TPM PCR) where it can;
 *  - security lifecycle: PSA_ROT_PROVISIONING (0x2000) before provisioning,
 *    SECURED (0x3000) after, NON_PSA_ROT_DEBUG (0x4000) while debug is
 *    unlocked, and UNKNOWN (0x0000) when this start cannot tell whether the
 *    device was provisioned (see vg_identity_unknown()): never
 *    "provisioning" for a device whose record cannot be read;
 *  - boot seed: HMAC(root-derived key, the kernel's boot_id), so it is the
 *    same for every token of one boot and unlinkable across devices;
 *  - client ID: the caller, -1 - uid (negative: a non-secure caller).
 *
 * The setup code (VG_SETUP_CODE_LEN characters, 80 random bits, in groups
 * of 4 from an alphabet without look-alike characters) stands in for the
 * label printed on the device: it is the only way to set the first admin
 * credential (see the admin module).
 */
#ifndef VG_IDENTITY_H
#define VG_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/psa_token.h"
#include "keystore/keystore.h"
#include "rot/rot.h"
#include "storage/secstore.h"
#include "voxguard/voxguard.h"

#define VG_ATTEST_KEY_NAME   "attestation"
#define VG_IDENTITY_KEY_NAME "device-identity"
#define VG_SETUP_CODE_LEN    19u /* XXXX-XXXX-XXXX-XXXX */
#define VG_MAX_CERT_PEM      16384u

typedef struct vg_platform {
	char oem[64];
	char model[64];
	char hw_rev[32];
	char verification_service[128]; /* optional: "" */
	uint64_t provisioned_at;        /* seconds since the epoch */
} vg_platform;

typedef struct vg_identity vg_identity;

/*
 * Measures the component files (paths[i] named names[i]; a missing file is
 * skipped with a warning, an unreadable one is an error), extends each
 * measurement into the RoT, computes the boot seed and loads the
 * provisioning record if there is one. A store that refuses reads
 * (rollback, integrity), or a provisioning record that exists but cannot
 * be read, is not an open error: the device is then neither provisioned
 * nor unprovisioned as far as this start can tell (vg_identity_unknown()).
 */
VG_NODISCARD vg_rc vg_identity_open(vg_identity **out, vg_secstore *store, vg_keystore *ks,
				    vg_rot *rot, const char *const *paths, const char *const *names,
				    size_t n);
void vg_identity_close(vg_identity **id);

/* Replaces the software components with those measured against the signed
 * platform manifest (secure initialization, platform/secinit.h), extending
 * each measurement into the root of trust where it can. Call it once, after
 * vg_identity_open() with no paths. */
VG_NODISCARD vg_rc vg_identity_set_components(vg_identity *id, const vg_psa_sw_component *c,
					      size_t n);

/* Sets the registers the token carries after the components (the
 * measured boot's PCRs, config attest_pcrs), replacing earlier ones; not
 * measured again (they are the root of trust's own values). At most
 * VG_PSA_MAX_COMPONENTS in all with the components: VG_ERR_INVALID. */
VG_NODISCARD vg_rc vg_identity_set_registers(vg_identity *id, const vg_psa_sw_component *c,
					     size_t n);
/* How many registers vg_identity_claims() puts after the components (the
 * last n of its components): the token's alone; the identity operation
 * lists the components without them (vg_device_identity has room for
 * VG_MAX_COMPONENTS, the manifest's). */
size_t vg_identity_n_registers(const vg_identity *id);

/* True once the provisioning record and its keys are loaded. False both
 * before provisioning and when that cannot be told: see
 * vg_identity_unknown(). */
bool vg_identity_provisioned(const vg_identity *id);
/*
 * VG_OK when this start knows whether the device is provisioned. Otherwise
 * why it cannot tell, fixed at open: the store's state (VG_ERR_ROLLBACK,
 * VG_ERR_INTEGRITY) when the store is refused, or the error reading a
 * provisioning record that exists (VG_ERR_INTEGRITY, ...). In that state
 * the lifecycle is VG_PSA_LC_UNKNOWN, no token is issued, provisioning is
 * refused, and every call that needs the provisioned identity returns
 * this code instead of VG_ERR_STATE.
 */
vg_rc vg_identity_unknown(const vg_identity *id);
/* The same for people: "secure storage refused: rollback detected",
 * "the provisioning record cannot be read: integrity error"; "" when the
 * state is known. Owned by id. */
const char *vg_identity_unknown_why(const vg_identity *id);
/* NULL before provisioning. */
const vg_platform *vg_identity_platform(const vg_identity *id);
uint32_t vg_identity_lifecycle(const vg_identity *id);
/* Debug unlocked (SFR 4.3.1) shows in the lifecycle. */
void vg_identity_set_debug(vg_identity *id, bool unlocked);

/* The OEM public keys a device is given at provisioning and never after,
 * each a SubjectPublicKeyInfo of a P-256 or Ed25519 key (DER, or anything
 * else vg_pubkey_parse() accepts; stored as DER), NULL when not given. */
typedef struct vg_oem_keys {
	const uint8_t *debug_key; /* unlocks secure debugging (SFR 4.3.1) */
	size_t debug_key_len;
	const uint8_t *release_key; /* signs the platform manifests (SFR 4.2.5) */
	size_t release_key_len;
} vg_oem_keys;

/*
 * Provisions the device (SFR 4.2.1, 4.2.2), once in its life:
 *  - VG_ERR_STATE if it already is (nothing written; its keys stay);
 *    vg_identity_unknown()'s code if that cannot be told (nothing
 *    written: a record that cannot be read is never overwritten);
 *  - VG_ERR_INVALID, nothing written, for empty, too long or non-printable
 *    platform strings, or a key that is not P-256 or Ed25519;
 *  - otherwise writes, in this order, each durable before the next: the
 *    debug key and the release key records (a key not given is deleted,
 *    so no leftover of an earlier run survives), fresh attestation and
 *    device identity keys, the setup code, and last the provisioning
 *    record, which is what makes the device provisioned.
 * A run interrupted at any point (power cut, write error) leaves the
 * device unprovisioned, and the next run redoes it whole with its own
 * keys; once the record is written, nothing here changes the keys again.
 * keys may be NULL (no OEM keys). Writes the setup code (NUL-terminated)
 * into code on success, "" otherwise.
 */
VG_NODISCARD vg_rc vg_identity_provision_device(vg_identity *id, const vg_platform *p,
						const vg_oem_keys *keys,
						char code[static VG_SETUP_CODE_LEN + 1]);

/*
 * The OEM debug key registered at provisioning (SFR 4.3.1), DER
 * SubjectPublicKeyInfo; *der is callee-allocated (vg_free). VG_ERR_STATE
 * before provisioning, VG_ERR_NOT_FOUND if the device was provisioned
 * without one, vg_identity_unknown()'s code when that cannot be told.
 */
VG_NODISCARD vg_rc vg_identity_debug_key(vg_identity *id, uint8_t **der, size_t *len);

/* The claims a token would carry now, without nonce and client ID. */
VG_NODISCARD vg_rc vg_identity_claims(const vg_identity *id, vg_psa_claims *c);

/*
 * A PSA attestation token (RFC 9783) for nonce (32, 48 or 64 bytes) with
 * client ID -1 - uid, signed by the attestation key. VG_ERR_STATE before
 * provisioning, vg_identity_unknown()'s code when that cannot be told (no
 * token with a lifecycle that is not known). *token is callee-allocated
 * (vg_free).
 */
VG_NODISCARD vg_rc vg_identity_attest(vg_identity *id, uint32_t uid, const uint8_t *nonce,
				      size_t nonce_len, uint8_t **token, size_t *len);

/* The attestation public key (SubjectPublicKeyInfo), PEM or DER. */
VG_NODISCARD vg_rc vg_identity_public(vg_identity *id, bool pem, uint8_t **out, size_t *len);

/*
 * A PKCS#10 CSR (PEM) for the device identity key, signed inside the
 * service. Subject: CN = cn (default "<oem> <model> <instance ID hex>"),
 * O = oem, serialNumber = the instance ID's SHA-256 (after its 0x01
 * type byte) in hex.
 */
VG_NODISCARD vg_rc vg_identity_csr(vg_identity *id, const char *cn, char **pem, size_t *len);
/* Stores the certificate the OEM CA issued for the device identity key:
 * VG_ERR_INVALID unless one PEM X.509 certificate whose public key is the
 * device identity key. */
VG_NODISCARD vg_rc vg_identity_set_cert(vg_identity *id, const char *pem, size_t len);
/* VG_ERR_NOT_FOUND when none was stored. */
VG_NODISCARD vg_rc vg_identity_cert(vg_identity *id, char **pem, size_t *len);

/* Constant-time check of a setup code (case and '-' insensitive):
 * VG_OK or VG_ERR_AUTH_FAILED; VG_ERR_STATE before provisioning. */
VG_NODISCARD vg_rc vg_identity_check_setup_code(vg_identity *id, const char *code);

/* Words a password must not contain (oem, model, hw_rev, setup code with
 * and without dashes, instance ID hex): up to VG_IDENTITY_MAX_WORDS
 * pointers into id, valid until the next provision or close. */
#define VG_IDENTITY_MAX_WORDS 6u
size_t vg_identity_device_words(const vg_identity *id, const char *words[VG_IDENTITY_MAX_WORDS]);

#endif
