/*
 * voxguard.h - the public C API of libvoxguard.
 *
 * libvoxguard is the client side of voxguardd: it connects to the service's
 * Unix socket and asks it to use keys, store records and read the audit log.
 * No secret key ever crosses this API: keys are named, and the service uses
 * them on the caller's behalf after checking who the caller is (the kernel's
 * SO_PEERCRED, never anything the caller says) and what it may do.
 *
 * This header is the authoritative description of the interface.
 *
 * Conventions
 *  - Every fallible function returns vg_rc (VG_OK == 0) and is marked
 *    warn_unused_result.
 *  - Inputs come before outputs.
 *  - Buffers returned through `uint8_t **out` are allocated by the library
 *    (callee-allocated) and released by the caller with vg_free(); on
 *    failure *out is NULL and nothing needs to be freed.
 *  - Handles are opaque; destructors take a double pointer, accept NULL and
 *    set the handle to NULL.
 *  - A vg_client is not thread-safe: use one per thread.
 */
#ifndef VOXGUARD_VOXGUARD_H
#define VOXGUARD_VOXGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VG_BUILDING_LIBRARY)
#define VG_EXPORT __attribute__((visibility("default")))
#else
#define VG_EXPORT
#endif
#define VG_NODISCARD __attribute__((warn_unused_result))

#define VG_API_VERSION 1

/* Limits of the wire protocol and of the objects the service keeps. */
#define VG_MAX_NAME_LEN  128u                  /* key and record names */
#define VG_MAX_VALUE_LEN (16u * 1024u * 1024u) /* one record's value */
#define VG_MAX_DATA_LEN  (16u * 1024u * 1024u) /* data to sign/encrypt */

/* One error enum for the whole API. */
typedef enum vg_rc {
	VG_OK = 0,
	VG_ERR_INVALID = 1,        /* malformed argument or request */
	VG_ERR_NOMEM = 2,          /* out of memory */
	VG_ERR_IO = 3,             /* I/O error (file, socket, database) */
	VG_ERR_NOT_FOUND = 4,      /* no such key or record */
	VG_ERR_EXISTS = 5,         /* a key or record of that name exists */
	VG_ERR_DENIED = 6,         /* the caller is not authorized */
	VG_ERR_POLICY = 7,         /* the key's usage policy forbids it */
	VG_ERR_INTEGRITY = 8,      /* stored or received data failed authentication */
	VG_ERR_ROLLBACK = 9,       /* the store is older than the root of trust says */
	VG_ERR_CRYPTO = 10,        /* a cryptographic operation failed */
	VG_ERR_PROTOCOL = 11,      /* malformed or unexpected message */
	VG_ERR_TOO_LARGE = 12,     /* a size limit was exceeded */
	VG_ERR_UNAVAILABLE = 13,   /* the service cannot be reached */
	VG_ERR_VERIFY_FAILED = 14, /* a signature or MAC did not verify */
	VG_ERR_UNSUPPORTED = 15,   /* unknown operation, type or version */
	VG_ERR_INTERNAL = 16,      /* a bug: please report it */
	VG_ERR_AUTH_REQUIRED = 17, /* an admin operation needs a valid admin session */
	VG_ERR_AUTH_FAILED = 18,   /* wrong password, setup code or signature */
	VG_ERR_LOCKED = 19,        /* too many failed attempts: wait and retry */
	VG_ERR_STATE = 20,         /* not allowed in the device's current state */
	VG_ERR_QUOTA = 21,         /* the caller's budget of a shared resource is spent */
	VG_ERR_UNTRUSTED = 22,     /* the socket is not served by the voxguard service */
	VG_ERR_REPLAY = 23,        /* a message or frame was already received, or is too old */
	VG_ERR_TRUNCATED = 24,     /* a stream ended before its authenticated final frame */
	VG_ERR_TIMEOUT = 25,       /* the root of trust (TPM) did not answer within rot_timeout_ms */
} vg_rc;

/* A static English description of rc; never NULL. */
VG_EXPORT const char *vg_rc_str(vg_rc rc);

/* Frees a buffer returned by this library (wipes it first). NULL is fine. */
VG_EXPORT void vg_free(void *p, size_t len);

/* ------------------------------------------------------------------ */
/* Connection                                                          */

typedef struct vg_client vg_client;

/*
 * Connects to the service at socket_path; NULL means $VOXGUARD_SOCKET, then
 * the default /run/voxguard/voxguard.sock. On success *out is a new client
 * that the caller closes with vg_client_close(); on failure *out is NULL
 * and vg_client_last_error(NULL) says why.
 *
 * The server is authenticated before anything is sent: the kernel's
 * SO_PEERCRED uid of the socket's listener must be the voxguard service
 * user, root, or the caller's own effective uid. Anything else is
 * VG_ERR_UNTRUSTED (someone else bound a socket at that path) and the
 * connection is closed without a byte written. The service user is
 * $VOXGUARD_SERVICE_USER (a name or a numeric uid) if set, else the
 * build's default (CMake VG_SERVICE_USER, "voxguard").
 *
 * A client outlives restarts of the service (an update, a crash,
 * systemd's Restart=). Every call, before it sends its request, replaces a
 * connection that an earlier call lost, or whose service is gone (hung
 * up, at end of file), with a new one to the same path, checked against
 * the same service user as here: a fake server at the path is
 * VG_ERR_UNTRUSTED with this function's reason, and gets no byte. The
 * session token (vg_client_set_session) and owner (vg_client_set_owner)
 * are kept; whether the service still honours the session is its
 * business. A request is sent at most once: if the connection is lost
 * after it went out and before its reply came, the call fails with
 * VG_ERR_UNAVAILABLE and "the service closed the connection (restarted?)
 * before answering; the request may or may not have taken effect", and
 * the next call reconnects. When the service is not back yet, the call
 * fails with the open error (VG_ERR_UNAVAILABLE) and the next call tries
 * again: the library never sleeps or retries on its own. A client is
 * used by one thread at a time, reconnects included.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_client_open(vg_client **out, const char *socket_path);
/* As vg_client_open(), with the service user named by the caller (a name
 * or a numeric uid); service_user NULL: $VOXGUARD_SERVICE_USER, then the
 * build's default. */
VG_EXPORT VG_NODISCARD vg_rc vg_client_open_as(vg_client **out, const char *socket_path,
					       const char *service_user);
/* Closes the connection and wipes the session token it held. */
VG_EXPORT void vg_client_close(vg_client **c);

/* The service's one-line reason for the last failed call on c ("" if
 * none). Owned by c, valid until the next call. With c NULL: why the last
 * vg_client_open*() on this thread failed (a static, thread-local string). */
VG_EXPORT const char *vg_client_last_error(const vg_client *c);

/* Addresses the key and record namespace of another uid in the calls that
 * follow (admins may list, inspect and delete there; nobody may use another
 * uid's keys or records). owner < 0 returns to the caller's own. */
VG_EXPORT void vg_client_set_owner(vg_client *c, int64_t owner);

/* Service status: the caller's view of the device. Strings are owned by the
 * struct and released with vg_status_free(). */
typedef struct vg_status {
	char *version;        /* voxguard version */
	char *rot_backend;    /* "file", "tpm2", ... */
	int rot_is_dev;       /* 1 if the root of trust is a development backend */
	char *store_state;    /* "ok", "rollback", "integrity-error", "sealed" */
	uint64_t rot_counter; /* the root of trust's monotonic counter */
	uint64_t audit_seq;   /* next audit sequence number */
	uint32_t uid;         /* the caller as the service sees it */
	char *role;           /* "user", "admin" */
	int admin_configured; /* 1 once an admin credential exists; -1 unknown (the
				 sealed store is refused: admin operations are too) */
	int debug_unlocked;   /* 1 while debug is unlocked (SFR 4.3.1) */
	uint32_t lifecycle;   /* PSA security lifecycle */
	/* Secure initialization (SFR 4.2.5): "normal", "recovery" or
	 * "unverified" (no release key provisioned), why (empty when
	 * normal), and the verified manifest's version (NULL if none). */
	char *platform_state;
	char *platform_why;
	char *platform_version;
	uint64_t security_version;
	/* The audit log's retention (SFR 4.2.9): its stored size and bound
	 * in bytes, records dropped to stay within it (listed in the signed
	 * drop summary of every export), and events folded into
	 * audit.suppressed records by the per-uid rate limit. */
	uint64_t audit_bytes, audit_capacity, audit_dropped, audit_suppressed;
	/* Set only when lifecycle is 0 (unknown): why this start cannot tell
	 * whether the device was provisioned, e.g. "secure storage refused:
	 * rollback detected" (never reported as "not provisioned"). */
	char *lifecycle_why;
	/* The root of trust's health: "answering", or "not-answering" when a
	 * command to it (a TPM) got no answer within the service's
	 * rot_timeout_ms; then rot_down_since is the Unix time (seconds) that
	 * command was sent (0 while it answers). NULL from an older service. */
	char *rot_state;
	uint64_t rot_down_since;
} vg_status;
VG_EXPORT VG_NODISCARD vg_rc vg_status_get(vg_client *c, vg_status *out);
VG_EXPORT void vg_status_free(vg_status *st);

/* The budget of a uid's use of the shared service (SFR 4.2.10): the
 * limits the configuration gives it and what it uses now. A caller may
 * read its own (uid < 0); an admin any uid's (VG_ERR_DENIED otherwise). */
typedef struct vg_budget_info {
	uint32_t uid;
	uint32_t conns;          /* connections at once */
	uint64_t inflight_bytes; /* request bytes buffered at once */
	uint32_t idle_ms;        /* an idle connection is closed after this */
	uint64_t store_records;  /* records in its namespace */
	uint64_t store_bytes;    /* bytes of records in its namespace */
	uint32_t keys;           /* keys in its namespace */
	uint32_t heavy_ops;      /* CPU-heavy operations in progress at once */
	uint32_t use_conns;
	uint64_t use_inflight_bytes, use_records, use_bytes, use_keys;
	uint64_t use_refused; /* refusals in the current 10 s window */
	uint64_t store_write_rate; /* bytes per second written to its records, on average */
	uint64_t request_rate;     /* request bytes per second read from it, on average */
} vg_budget_info;
VG_EXPORT VG_NODISCARD vg_rc vg_budget_status(vg_client *c, int64_t uid, vg_budget_info *out);

/* ------------------------------------------------------------------ */
/* Keystore (SFR 4.2.11)                                               */

typedef enum vg_key_type {
	VG_KEY_P256 = 1,    /* ECDSA P-256; signatures DER over SHA-256 */
	VG_KEY_ED25519 = 2, /* Ed25519 (pure); 64-byte signatures */
	VG_KEY_AES256 = 3,  /* AES-256-GCM */
	VG_KEY_HMAC256 = 4, /* HMAC-SHA256 */
	VG_KEY_P384 = 5,    /* ECDSA P-384; signatures DER over SHA-384 */
	VG_KEY_X25519 = 6,  /* X25519: receives audio streams (HPKE DHKEM(X25519)); no signing */
} vg_key_type;

/* Usage bits, fixed when the key is created. */
#define VG_USE_SIGN    0x01u
#define VG_USE_VERIFY  0x02u
#define VG_USE_ENCRYPT 0x04u
#define VG_USE_DECRYPT 0x08u
#define VG_USE_MAC     0x10u
/* The key may decapsulate a stream key (HPKE, RFC 9180: vg_key_decap()) and,
 * as the sender's key of auth mode, encapsulate one (vg_key_auth_encap()).
 * Allowed for X25519 and P-256 keys, and in their defaults. */
#define VG_USE_DERIVE 0x20u
/* "p256", "ed25519", "aes256", "hmac256", "p384", "x25519" <-> vg_key_type;
 * 0 if unknown. */
VG_EXPORT vg_key_type vg_key_type_from_str(const char *s);
VG_EXPORT const char *vg_key_type_str(vg_key_type t);
/* The usage bits a type allows, and its defaults when none are given. */
VG_EXPORT uint32_t vg_key_type_usage_allowed(vg_key_type t);

typedef struct vg_key_info {
	char name[VG_MAX_NAME_LEN + 1];
	vg_key_type type;
	uint32_t usage;
	uint32_t owner_uid;
	uint64_t created; /* seconds since the epoch */
} vg_key_info;

/* Creates a key inside the service. usage == 0 means the type's defaults.
 * The secret part never leaves the service. */
VG_EXPORT VG_NODISCARD vg_rc vg_key_create(vg_client *c, const char *name, vg_key_type type,
					   uint32_t usage);
VG_EXPORT VG_NODISCARD vg_rc vg_key_delete(vg_client *c, const char *name);
VG_EXPORT VG_NODISCARD vg_rc vg_key_info_get(vg_client *c, const char *name, vg_key_info *out);
/* The caller's keys; *out is an array of *n entries, freed with vg_free(*out,
 * *n * sizeof **out). */
VG_EXPORT VG_NODISCARD vg_rc vg_key_list(vg_client *c, vg_key_info **out, size_t *n);
/* SubjectPublicKeyInfo as PEM (NUL-terminated) for P-256, P-384, Ed25519 and
 * X25519 keys (what `voxguard stream encrypt --to` takes). */
VG_EXPORT VG_NODISCARD vg_rc vg_key_public_pem(vg_client *c, const char *name, char **pem,
					       size_t *len);
VG_EXPORT VG_NODISCARD vg_rc vg_key_sign(vg_client *c, const char *name, const uint8_t *msg,
					 size_t msg_len, uint8_t **sig, size_t *sig_len);
/*
 * Signs a digest the caller computed (TLS, X.509: the OpenSSL provider,
 * docs/TLS.md) with an ECDSA key (P-256, P-384): alg is "sha256", "sha384"
 * or "sha512" and len must be that digest's length (VG_ERR_INVALID
 * otherwise). The signature is DER (ECDSA-Sig-Value). Ed25519 keys sign
 * whole messages only (vg_key_sign): VG_ERR_POLICY here. Same policy,
 * budget and audit as vg_key_sign. *sig: callee-allocated, vg_free().
 */
VG_EXPORT VG_NODISCARD vg_rc vg_key_sign_digest(vg_client *c, const char *name, const char *alg,
						const uint8_t *dgst, size_t len, uint8_t **sig,
						size_t *sig_len);
/* VG_OK: valid; VG_ERR_VERIFY_FAILED: invalid; anything else: error. */
VG_EXPORT VG_NODISCARD vg_rc vg_key_verify(vg_client *c, const char *name, const uint8_t *msg,
					   size_t msg_len, const uint8_t *sig, size_t sig_len);
/* AES-256-GCM; the ciphertext is self-describing (version, nonce, tag) and
 * only `decrypt` with the same key opens it. */
VG_EXPORT VG_NODISCARD vg_rc vg_key_encrypt(vg_client *c, const char *name, const uint8_t *pt,
					    size_t pt_len, uint8_t **ct, size_t *ct_len);
VG_EXPORT VG_NODISCARD vg_rc vg_key_decrypt(vg_client *c, const char *name, const uint8_t *ct,
					    size_t ct_len, uint8_t **pt, size_t *pt_len);
/* HMAC-SHA256 tag (32 bytes) into mac. */
VG_EXPORT VG_NODISCARD vg_rc vg_key_mac(vg_client *c, const char *name, const uint8_t *msg,
					size_t msg_len, uint8_t mac[static 32]);

/*
 * HPKE decapsulation inside the service (RFC 9180 4.1 Decap, or AuthDecap
 * when pkS is given; SFR 4.2.8 note 7, profile 2.3.1): the key `name`
 * (usage VG_USE_DERIVE; type X25519 for kem 0x0020 DHKEM(X25519,
 * HKDF-SHA256), P-256 for kem 0x0010 DHKEM(P-256, HKDF-SHA256)) opens the
 * encapsulated key `enc` (Nenc bytes: 32 or 65) and the KEM shared secret
 * (32 bytes) is written to shared_secret; the private key never leaves
 * the service. pkS: the sender's raw public key in auth mode, or NULL.
 * The caller runs the key schedule on the secret and wipes it.
 * VG_ERR_POLICY: no DERIVE usage, or a key of the other type;
 * VG_ERR_INVALID: a malformed enc or pkS (wrong length, not on the curve);
 * VG_ERR_CRYPTO: the DH failed (an X25519 small-order point);
 * VG_ERR_UNSUPPORTED: another kem. shared_secret is wiped on failure.
 */
#define VG_KEM_SECRET_LEN 32u
VG_EXPORT VG_NODISCARD vg_rc vg_key_decap(vg_client *c, const char *name, uint16_t kem,
					  const uint8_t *enc, size_t enc_len, const uint8_t *pkS,
					  size_t pkS_len,
					  uint8_t shared_secret[static VG_KEM_SECRET_LEN]);
/*
 * HPKE AuthEncap inside the service (RFC 9180 5.1.3): the key `name`
 * (DERIVE, of kem's type as above) is the sender's key; the service makes
 * a fresh ephemeral key, encapsulates to the recipient's raw public key
 * pkR and returns enc (*enc_len bytes, at most 65) and the KEM shared
 * secret. Errors as vg_key_decap.
 */
VG_EXPORT VG_NODISCARD vg_rc vg_key_auth_encap(vg_client *c, const char *name, uint16_t kem,
					       const uint8_t *pkR, size_t pkR_len,
					       uint8_t enc[static 65], size_t *enc_len,
					       uint8_t shared_secret[static VG_KEM_SECRET_LEN]);

/* ------------------------------------------------------------------ */
/* Secure storage (SFR 4.2.4)                                          */

VG_EXPORT VG_NODISCARD vg_rc vg_store_put(vg_client *c, const char *name, const uint8_t *value,
					  size_t len);
VG_EXPORT VG_NODISCARD vg_rc vg_store_get(vg_client *c, const char *name, uint8_t **value,
					  size_t *len);
VG_EXPORT VG_NODISCARD vg_rc vg_store_delete(vg_client *c, const char *name);
/* The caller's record names: *names is an array of *n NUL-terminated strings;
 * free with vg_strv_free(*names, *n). */
VG_EXPORT VG_NODISCARD vg_rc vg_store_list(vg_client *c, char ***names, size_t *n);
VG_EXPORT void vg_strv_free(char **v, size_t n);

/* ------------------------------------------------------------------ */
/* Audit log (SFR 4.2.9): admin operations                             */

/* A self-contained, versioned export (format in docs/FORMATS.md) that
 * `voxguard log verify` checks offline and `voxguard log show` renders. */
VG_EXPORT VG_NODISCARD vg_rc vg_log_export(vg_client *c, uint8_t **out, size_t *len);

/* Hands the audit log's forward-secure MAC seed to the admin, once: the
 * service destroys its copy, so from then on only the holder of the seed
 * can check (and nobody can recompute) the per-record MACs. VG_ERR_NOT_FOUND
 * once taken. */
VG_EXPORT VG_NODISCARD vg_rc vg_log_take_seed(vg_client *c, uint8_t seed[static 32]);

/* ------------------------------------------------------------------ */
/* Device identity and attestation (SFR 4.2.1, 4.2.2, 4.2.3)           */

/* The setup code: "XXXX-XXXX-XXXX-XXXX" and its NUL. */
#define VG_SETUP_CODE_SIZE 20u

typedef struct vg_provision_req {
	const char *oem;                  /* required: printable ASCII, < 64 */
	const char *model;                /* required, < 64 */
	const char *hw_rev;               /* required, < 32 */
	const char *verification_service; /* optional URL, < 128; NULL for none */
	const uint8_t *debug_key;         /* optional OEM debug public key (PEM or */
	size_t debug_key_len;             /* DER, P-256 or Ed25519), for SFR 4.3.1 */
	const uint8_t *release_key;       /* optional OEM release public key (PEM or */
	size_t release_key_len;           /* DER): platform manifests must be signed
					   * by it from the next start (SFR 4.2.5) */
} vg_provision_req;

/* Factory provisioning (admin; once per device, VG_ERR_STATE after): the
 * service creates the attestation and device identity keys, records the
 * platform identity and returns the device's setup code. */
VG_EXPORT VG_NODISCARD vg_rc vg_device_provision(vg_client *c, const vg_provision_req *req,
						 char code[static VG_SETUP_CODE_SIZE]);

typedef struct vg_component {
	char name[32];
	char version[32];
	uint8_t measurement[64];
	size_t measurement_len;
	uint8_t signer_id[64];
	size_t signer_id_len;
} vg_component;

#define VG_MAX_COMPONENTS 16u

typedef struct vg_device_identity {
	int provisioned; /* 1 provisioned, 0 not; -1 unknown: the service cannot
			    read whether it is (a refused store), see
			    lifecycle_why, and no identity fields are set */
	char oem[64];
	char model[64];
	char hw_rev[32];
	char verification_service[128];
	uint64_t provisioned_at; /* seconds since the epoch */
	uint8_t instance_id[33]; /* RFC 9783 UEID of the attestation key */
	uint8_t implementation_id[32];
	uint32_t lifecycle; /* PSA security lifecycle (RFC 9783 4.3.1) */
	uint8_t boot_seed[32];
	char rot_backend[16];
	char attestation_key_pem[512]; /* "" before provisioning */
	vg_component components[VG_MAX_COMPONENTS];
	size_t n_components;
	/* provisioned == -1 (lifecycle 0, unknown): why, e.g. "secure storage
	 * refused: rollback detected"; "" otherwise. */
	char lifecycle_why[128];
} vg_device_identity;

/* ------------------------------------------------------------------ */
/* Secure initialization (SFR 4.2.5)                                   */

#define VG_MAX_PLATFORM_COMPONENTS 16u

typedef struct vg_platform_report {
	char state[16];   /* "normal", "recovery", "unverified" */
	char reason[320]; /* the first failure; "" when normal */
	char version[64]; /* the manifest's platform version ("" if unread) */
	uint64_t security_version;
	size_t n;
	struct {
		char name[32];
		char path[256];
		vg_rc rc;      /* VG_OK: measures as listed */
		char why[160]; /* otherwise: what differs */
	} components[VG_MAX_PLATFORM_COMPONENTS];
} vg_platform_report;

/* Re-runs the platform check (admin role; no session needed, so a boot
 * unit can run it): the manifest signature, then every component. The
 * result becomes the service's state (normal or recovery) and is
 * audited. Returns VG_OK whatever the state: read out->state. */
VG_EXPORT VG_NODISCARD vg_rc vg_platform_verify(vg_client *c, vg_platform_report *out);

/* ------------------------------------------------------------------ */
/* A/B updates (SFR 4.2.6, 4.2.9; docs/UPDATE.md). All admin role, no    */
/* session: the release key's signature on a bundle authorizes it.     */

#define VG_MAX_UPDATE_IMAGES 8u

/* The service's decision on a bundle (vg_update_begin). */
typedef struct vg_update_plan {
	char slot;       /* 'a' or 'b': the inactive slot to write */
	char booted;     /* the slot running now */
	char bundle[65]; /* the bundle ID: hex SHA-256 of its manifest */
	bool resume;     /* the slot may hold part of this bundle: resume */
	uint64_t min_security_version;
	uint8_t *release_key; /* DER SPKI (vg_update_plan_free) */
	size_t release_key_len;
	bool has_cek; /* an encrypted bundle: its content key */
	uint8_t cek[32];
	size_t n;
	struct {
		char name[32];
		char path[256];
	} images[VG_MAX_UPDATE_IMAGES];
	char bootloader[16]; /* file, uboot, grub */
	char boot_param[256];
	unsigned tries;
} vg_update_plan;

/* Hands the service a bundle's manifest; it verifies the release-key
 * signature, product and security version, unwraps the content key of an
 * encrypted bundle, picks the inactive slot, records and audits the
 * request. */
VG_EXPORT VG_NODISCARD vg_rc vg_update_begin(vg_client *c, const uint8_t *manifest, size_t len,
					     vg_update_plan *out);
/* Wipes the content key, frees the release key. */
VG_EXPORT void vg_update_plan_free(vg_update_plan *p);
/* Reports a stage of bundle `bundle`: "downloaded", "written",
 * "activated" or "failed" (detail: what happened, with the reason). */
VG_EXPORT VG_NODISCARD vg_rc vg_update_report(vg_client *c, const char *bundle, const char *stage,
					      const char *detail);

typedef struct vg_update_status {
	char state[16];   /* idle, installing, installed, activated, trial */
	char version[64]; /* the update in progress or the last one */
	char slot;        /* its target slot (0 if none) */
	char booted;      /* the slot running now (0 if unknown) */
	char bundle[65];
	char last[200]; /* the last outcome */
	uint64_t min_security_version;
	char confirmed[64]; /* vg_update_confirm: the version just confirmed */
	char bootloader[16];
	char boot_param[256];
	unsigned tries;
} vg_update_status;
VG_EXPORT VG_NODISCARD vg_rc vg_update_status_get(vg_client *c, vg_update_status *out);
/* Mark-good after the health check: confirms a version on trial (raising
 * the minimum security version) and tells the caller the running slot to
 * mark good in the bootloader. */
VG_EXPORT VG_NODISCARD vg_rc vg_update_confirm(vg_client *c, vg_update_status *out);
/* The device's update public key (PEM, created on first use) to encrypt
 * bundles for, and the fleet key's if one is installed; fleet_pem (or
 * NULL) installs the fleet's private key once (factory). Free both PEMs
 * with free(). */
VG_EXPORT VG_NODISCARD vg_rc vg_update_keys(vg_client *c, const char *fleet_pem, char **device_pem,
					    char **fleet_pub_pem);
/* The trusted root metadata of the TUF update repository, kept in the
 * service's sealed store (it survives factory reset). next NULL: read it
 * (VG_ERR_NOT_FOUND: none installed yet). next set: install the first one
 * (it must carry its own threshold of signatures), or rotate to the next
 * version, which the service accepts only when signed by a threshold of
 * the trusted root's keys and of its own (TUF root rotation); handing
 * over the trusted root again is not an error. *root receives the root
 * trusted afterwards; free it with vg_free(*root, *len). */
VG_EXPORT VG_NODISCARD vg_rc vg_update_tuf_root(vg_client *c, const uint8_t *next, size_t next_len,
						uint8_t **root, size_t *len);

/* Platform and instance identity (open to every caller). */
VG_EXPORT VG_NODISCARD vg_rc vg_device_identity_get(vg_client *c, vg_device_identity *out);

/* A PSA attestation token (RFC 9783) over nonce (32, 48 or 64 bytes),
 * naming the caller as its client ID; *token is freed with vg_free. */
VG_EXPORT VG_NODISCARD vg_rc vg_attest(vg_client *c, const uint8_t *nonce, size_t nonce_len,
				       uint8_t **token, size_t *len);

/* A PKCS#10 CSR (PEM) for the device identity key (admin); cn NULL for
 * the default subject. Free *pem with vg_free(*pem, *len). */
VG_EXPORT VG_NODISCARD vg_rc vg_device_csr(vg_client *c, const char *cn, char **pem, size_t *len);
/* Stores the OEM CA's certificate for the device identity key (admin). */
VG_EXPORT VG_NODISCARD vg_rc vg_device_set_cert(vg_client *c, const char *pem, size_t len);
/* The stored certificate (PEM); VG_ERR_NOT_FOUND if none. */
VG_EXPORT VG_NODISCARD vg_rc vg_device_cert(vg_client *c, char **pem, size_t *len);

/* ------------------------------------------------------------------ */
/* Admin authentication (SFR 4.2.13, AVS 1.2)                          */

/* A session token: 64 hex characters and its NUL. */
#define VG_SESSION_TOKEN_SIZE 65u

/* Sends token with every request on c that follows (NULL: none). Admin
 * operations need one once an admin credential exists. */
VG_EXPORT void vg_client_set_session(vg_client *c, const char *token);

/* The first admin credential, with the device's setup code (once; again
 * only after a factory reset). Passwords are bytes, never logged; the
 * service refuses short, common and device-derived ones (VG_ERR_POLICY).
 * On success token holds a session for the caller. Failed attempts are
 * throttled (VG_ERR_LOCKED: vg_client_last_error() says how long). */
VG_EXPORT VG_NODISCARD vg_rc vg_admin_setup(vg_client *c, const char *code, const uint8_t *pw,
					    size_t pw_len,
					    char token[static VG_SESSION_TOKEN_SIZE]);
VG_EXPORT VG_NODISCARD vg_rc vg_admin_login(vg_client *c, const uint8_t *pw, size_t pw_len,
					    char token[static VG_SESSION_TOKEN_SIZE]);
/* Ends the session set on c. */
VG_EXPORT VG_NODISCARD vg_rc vg_admin_logout(vg_client *c);
/* Changes the password (needs a session and the current password); every
 * session is revoked and a new one returned. */
VG_EXPORT VG_NODISCARD vg_rc vg_admin_passwd(vg_client *c, const uint8_t *old_pw, size_t old_len,
					     const uint8_t *new_pw, size_t new_len,
					     char token[static VG_SESSION_TOKEN_SIZE]);
/* Registers (needs a session) or removes a companion app's admin public
 * key, P-256 or Ed25519, PEM or DER. */
VG_EXPORT VG_NODISCARD vg_rc vg_admin_key_add(vg_client *c, const char *name, const uint8_t *pub,
					      size_t pub_len);
VG_EXPORT VG_NODISCARD vg_rc vg_admin_key_delete(vg_client *c, const char *name);
/* Key-based login: a single-use 32-byte challenge for the caller; the app
 * signs vg_admin_challenge_message(nonce, its uid) with its registered key
 * (ECDSA P-256 over SHA-256, DER; or Ed25519) and answers. */
#define VG_ADMIN_CHALLENGE_MSG_LEN (23u + 32u + 4u)
VG_EXPORT VG_NODISCARD vg_rc vg_admin_challenge(vg_client *c, uint8_t nonce[static 32]);
VG_EXPORT void vg_admin_challenge_message(const uint8_t nonce[static 32], uint32_t uid,
					  uint8_t msg[static VG_ADMIN_CHALLENGE_MSG_LEN]);
VG_EXPORT VG_NODISCARD vg_rc vg_admin_answer(vg_client *c, const char *name,
					     const uint8_t nonce[static 32], const uint8_t *sig,
					     size_t sig_len,
					     char token[static VG_SESSION_TOKEN_SIZE]);

/* ------------------------------------------------------------------ */
/* Factory reset and secure debugging (SFR 4.2.12, 4.3.1)              */

/* Erases every user record, user key and admin credential (admin with a
 * session, or anyone while the configured reset button is held). */
VG_EXPORT VG_NODISCARD vg_rc vg_device_factory_reset(vg_client *c);
/* The exact bytes the OEM signs with its debug key to unlock debug on
 * this device, once (free with vg_free). Admin. */
VG_EXPORT VG_NODISCARD vg_rc vg_device_debug_challenge(vg_client *c, uint8_t **msg, size_t *len);
VG_EXPORT VG_NODISCARD vg_rc vg_device_debug_unlock(vg_client *c, const uint8_t *sig,
						    size_t sig_len);
VG_EXPORT VG_NODISCARD vg_rc vg_device_debug_lock(vg_client *c);

#ifdef __cplusplus
}
#endif
#endif /* VOXGUARD_VOXGUARD_H */
