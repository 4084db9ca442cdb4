/*
 * pcrpolicy.h - signed PCR policies: the root key sealed to the measured
 * boot, and a boot the OEM signed for (SFR 4.2.5, 4.2.11; docs/TPM2.md).
 *
 * With a policy key configured (rot_policy_key: the OEM's ECDSA P-256
 * public key), the tpm2 backend seals a new root key with a TPM policy
 * that only a signature of that key can satisfy: PolicyAuthorize(key,
 * VG_PCRPOL_REF). The OEM signs, for each boot it releases, a PolicyPCR
 * over the PCR values that boot measures (the approved policy), and ships
 * the signatures with the release (rot_policy, a small text file on its
 * root file system). To unseal, the backend finds the entry whose values
 * are the TPM's, has the TPM check them (PolicyPCR) and the signature
 * (VerifySignature, PolicyAuthorize), and unseals. A boot no entry names
 * (another kernel, initrd, GRUB script or boot loader) cannot unseal; an
 * update ships the entries of its own boot, so nothing on the device has
 * to be re-sealed. The same scheme as systemd-cryptenroll's signed PCR
 * policies (--tpm2-public-key), in a format of its own.
 *
 * The file: UTF-8 text, at most VG_PCRPOL_MAX_FILE bytes, one entry a
 * line, `#` comments and blank lines ignored:
 *
 *   sha256:PCRS VALUES SIGNATURE
 *
 * PCRS: ascending PCR numbers, comma-separated ("0,2,4,7,9"), each below
 * VG_ROT_PCRS; VALUES: the SHA-256 bank value of each, in that order, as
 * one lower-case hex string (64 digits each); SIGNATURE: the DER ECDSA
 * signature, in hex, of SHA-256(approved || VG_PCRPOL_REF) with the
 * policy key, where approved is vg_pcrpol_approved() of PCRS and VALUES.
 * At most VG_PCRPOL_MAX_ENTRIES entries. `voxguard pcr-policy sign` writes
 * lines; a parser refuses anything else, naming the line.
 *
 * Everything here is arithmetic on public data (OpenSSL for SHA-256 and
 * ECDSA): the TPM makes every decision that matters.
 */
#ifndef VG_ROT_PCRPOLICY_H
#define VG_ROT_PCRPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "rot/rot.h"
#include "voxguard/voxguard.h"

/* PolicyAuthorize's policyRef: binds the OEM's signatures to this use. */
#define VG_PCRPOL_REF         "voxguard root key v1"
#define VG_PCRPOL_MAX_FILE    65536u
#define VG_PCRPOL_MAX_ENTRIES 64u
#define VG_PCRPOL_MAX_SIG     80u /* DER ECDSA P-256: at most 72 */

typedef struct vg_pcrpol_entry {
	uint32_t mask;                   /* bit i: PCR i */
	uint8_t values[VG_ROT_PCRS][32]; /* by PCR number; those in mask */
	uint8_t sig[VG_PCRPOL_MAX_SIG];
	size_t sig_len;
	unsigned line; /* in the file */
} vg_pcrpol_entry;

/*
 * Parses a policy file's text. *out (free()) gets *n entries (>= 1).
 * VG_ERR_INVALID with why naming the line for anything malformed, an
 * empty file included; VG_ERR_TOO_LARGE above the limits.
 */
VG_NODISCARD vg_rc vg_pcrpol_parse(const char *text, size_t len, vg_pcrpol_entry **out, size_t *n,
				   char *why, size_t why_len);

/* The same, from a file (regular, at most VG_PCRPOL_MAX_FILE). */
VG_NODISCARD vg_rc vg_pcrpol_load(const char *path, vg_pcrpol_entry **out, size_t *n, char *why,
				  size_t why_len);

/* The policy digest a fresh policy session has after TPM2_PolicyPCR over
 * the SHA-256 bank's PCRs in mask with these values: SHA-256(0^32 ||
 * TPM_CC_PolicyPCR || TPML_PCR_SELECTION || SHA-256(values in order)). */
VG_NODISCARD vg_rc vg_pcrpol_approved(uint32_t mask, const uint8_t values[][32],
				      uint8_t out[static 32]);

/* What the policy key signs: SHA-256(approved || VG_PCRPOL_REF). */
VG_NODISCARD vg_rc vg_pcrpol_ahash(const uint8_t approved[static 32], uint8_t out[static 32]);

/* The sealed object's authPolicy for a policy key of this TPM name
 * (nameAlg || digest): PolicyAuthorize's update from a zero digest,
 * SHA-256(SHA-256(0^32 || TPM_CC_PolicyAuthorize || name) || ref). */
VG_NODISCARD vg_rc vg_pcrpol_auth_policy(const uint8_t *name, size_t name_len,
					 uint8_t out[static 32]);

/* A PEM public key file: the P-256 point's coordinates. VG_ERR_UNSUPPORTED
 * for any other key type or curve. */
VG_NODISCARD vg_rc vg_pcrpol_key_load(const char *path, uint8_t x[static 32], uint8_t y[static 32]);

/* A DER ECDSA signature as (r, s), each 32 bytes big-endian. */
VG_NODISCARD vg_rc vg_pcrpol_sig_rs(const uint8_t *der, size_t len, uint8_t r[static 32],
				    uint8_t s[static 32]);

/*
 * One line of the file (with its newline) for these values, signed with
 * the private key in PEM file key_path (ECDSA P-256). Needs cap >= 2048.
 */
VG_NODISCARD vg_rc vg_pcrpol_sign_line(const char *key_path, uint32_t mask,
				       const uint8_t values[][32], char *line, size_t cap);

/* Which PCRs of e differ from now (by PCR number): a mask, 0 when all of
 * e's values are now's. */
uint32_t vg_pcrpol_differs(const vg_pcrpol_entry *e, const uint8_t now[][32]);

#endif
