/*
 * wire.h - the IPC protocol between libvoxguard and voxguardd.
 *
 * Frame:   u32 big-endian payload length | payload
 * Payload: CBOR, definite lengths only:
 *            [ version: uint (1), code: uint, args: { uint => item } ]
 *          In a request `code` is the operation (vg_op); in a reply it is
 *          the vg_rc result. Replies to failed requests carry VG_A_MSG, a
 *          one-line reason.
 *
 * Everything a peer sends is hostile: vg_wire_decode() walks the bytes with
 * libcbor's streaming decoder before building anything, rejecting
 * indefinite lengths, tags, floats, nesting deeper than VG_WIRE_MAX_DEPTH,
 * trailing bytes, and any container whose declared size exceeds what the
 * remaining bytes could hold (so a 5-byte header cannot make us allocate
 * gigabytes). Accessors check the exact type and size of every argument;
 * duplicate keys are a protocol error.
 */
#ifndef VG_WIRE_H
#define VG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "voxguard/voxguard.h"

#define VG_WIRE_VERSION 1u
#define VG_WIRE_HDR_LEN 4u
/* One record value plus the envelope. */
#define VG_WIRE_MAX_MSG   (VG_MAX_VALUE_LEN + 64u * 1024u)
#define VG_WIRE_MAX_DEPTH 6u
#define VG_WIRE_MAX_ARGS  32u

typedef enum vg_op {
	VG_OP_STATUS = 1,
	VG_OP_KEY_CREATE = 10,
	VG_OP_KEY_DELETE = 11,
	VG_OP_KEY_INFO = 12,
	VG_OP_KEY_LIST = 13,
	VG_OP_KEY_PUBLIC = 14,
	VG_OP_KEY_SIGN = 15,
	VG_OP_KEY_VERIFY = 16,
	VG_OP_KEY_ENCRYPT = 17,
	VG_OP_KEY_DECRYPT = 18,
	VG_OP_KEY_MAC = 19,
	VG_OP_KEY_SIGN_DIGEST = 20, /* ECDSA over a digest the caller made (provider, TLS) */
	VG_OP_KEY_DECAP = 21,       /* HPKE Decap/AuthDecap of a stream key (audio, issue 13) */
	VG_OP_KEY_AUTH_ENCAP = 22,  /* HPKE AuthEncap with the sender's key (audio, issue 13) */
	VG_OP_STORE_PUT = 30,
	VG_OP_STORE_GET = 31,
	VG_OP_STORE_DELETE = 32,
	VG_OP_STORE_LIST = 33,
	VG_OP_LOG_EXPORT = 50,
	VG_OP_LOG_SEED = 51,
	VG_OP_PROVISION = 60,
	VG_OP_IDENTITY = 61,
	VG_OP_ATTEST = 62,
	VG_OP_IDENTITY_CSR = 63,
	VG_OP_IDENTITY_SET_CERT = 64,
	VG_OP_IDENTITY_CERT = 65,
	VG_OP_ADMIN_SETUP = 70,
	VG_OP_ADMIN_LOGIN = 71,
	VG_OP_ADMIN_LOGOUT = 72,
	VG_OP_ADMIN_PASSWD = 73,
	VG_OP_ADMIN_KEY_ADD = 74,
	VG_OP_ADMIN_KEY_DELETE = 75,
	VG_OP_ADMIN_CHALLENGE = 76,
	VG_OP_ADMIN_ANSWER = 77,
	VG_OP_FACTORY_RESET = 80,
	VG_OP_DEBUG_CHALLENGE = 81,
	VG_OP_DEBUG_UNLOCK = 82,
	VG_OP_DEBUG_LOCK = 83,
	VG_OP_PLATFORM_VERIFY = 90, /* secure initialization: re-run the check (admin) */
	VG_OP_UPDATE_BEGIN = 91,    /* A/B update: decide on a bundle manifest (admin) */
	VG_OP_UPDATE_REPORT = 92,   /* A/B update: the agent reports a stage (admin) */
	VG_OP_UPDATE_CONFIRM = 93,  /* A/B update: mark-good after the health check (admin) */
	VG_OP_UPDATE_STATUS = 94,   /* A/B update: state and slots (admin) */
	VG_OP_UPDATE_KEY = 95,      /* the update decryption keys (admin) */
	VG_OP_UPDATE_ROOT = 96,     /* the trusted TUF root: read, install, rotate (admin) */
	/* 100-109: secure communication's endpoint list (SFR 4.2.8; tls/endpoint.h) */
	VG_OP_ENDPOINT_ADD = 100,    /* add or replace (admin, session) */
	VG_OP_ENDPOINT_REMOVE = 101, /* (admin, session) */
	VG_OP_ENDPOINT_LIST = 102,   /* an admin: all; anyone else: those listing its uid */
	VG_OP_ENDPOINT_GET = 103,    /* one, if listed for the caller's uid (or an admin) */
	VG_OP_ENDPOINT_REPORT = 104, /* a connection's outcome, for the audit log */
	/* 110-119: the display IPC guard (AVS 1.14; display/token.h) */
	VG_OP_DISPLAY_TOKEN_ISSUE = 110,  /* a launcher uid: ORIGIN -> TOKEN, TTL_MS */
	VG_OP_DISPLAY_TOKEN_REDEEM = 111, /* a gateway uid: TOKEN, ORIGIN -> ok or why */
	VG_OP_DISPLAY_REPORT = 112,       /* a gateway uid: REASON [, ORIGIN]: a refusal it saw */
	/* 120-129: the microphone's mute switch (AVS 1.15; include/voxguard/mic.h) */
	VG_OP_MIC_REPORT = 120, /* root, admin or mic_uids: MIC_STATE, MIC_SOURCE */
	VG_OP_MIC_STATE = 121,  /* anyone: -> MIC_STATE, MIC_SOURCE, MIC_SINCE */
	/* sealed configuration for applications (include/voxguard/config.h) */
	VG_OP_CONFIG_SEAL = 130,   /* admin, session: NAME, OWNER, VALUE */
	VG_OP_CONFIG_REMOVE = 131, /* admin, session: NAME, OWNER */
	VG_OP_CONFIG_GET = 132,    /* the uid it is sealed for: NAME -> VALUE */
	VG_OP_CONFIG_LIST = 133,   /* an admin: all; anyone else: its own */
	/* 140-149: Bluetooth security (AVS 1.9-1.12; src/bluetooth/policy.h) */
	VG_OP_BT_IRK = 140,    /* admin: -> DATA: the local LE IRK (16 bytes, derived) */
	VG_OP_BT_REPORT = 141, /* admin: STAGE (enforce|watch|check), OK, REASON: audited */
} vg_op;

/* Argument and result keys. */
enum vg_arg {
	VG_A_MSG = 0,           /* text: reason of an error reply */
	VG_A_NAME = 1,          /* text */
	VG_A_TYPE = 2,          /* uint: vg_key_type */
	VG_A_USAGE = 3,         /* uint: VG_USE_* bits */
	VG_A_DATA = 4,          /* bytes: message, plaintext or ciphertext */
	VG_A_SIG = 5,           /* bytes */
	VG_A_VALUE = 6,         /* bytes: a record value */
	VG_A_PEM = 7,           /* text */
	VG_A_LIST = 8,          /* array */
	VG_A_OWNER = 9,         /* uint */
	VG_A_CREATED = 10,      /* uint */
	VG_A_VERSION = 11,      /* text */
	VG_A_ROT = 12,          /* text */
	VG_A_ROT_DEV = 13,      /* uint 0/1 */
	VG_A_STORE = 14,        /* text: store state */
	VG_A_COUNTER = 15,      /* uint */
	VG_A_AUDIT_SEQ = 16,    /* uint */
	VG_A_UID = 17,          /* uint */
	VG_A_ROLE = 18,         /* text */
	VG_A_OEM = 19,          /* text */
	VG_A_MODEL = 20,        /* text */
	VG_A_HW_REV = 21,       /* text */
	VG_A_VSI = 22,          /* text: verification service indicator */
	VG_A_CODE = 23,         /* text: setup code */
	VG_A_NONCE = 24,        /* bytes */
	VG_A_INSTANCE = 25,     /* bytes: instance ID (UEID) */
	VG_A_IMPL = 26,         /* bytes: implementation ID */
	VG_A_LIFECYCLE = 27,    /* uint */
	VG_A_COMPONENTS = 28,   /* array of maps {NAME, VERSION, DATA: measurement, SIG: signer} */
	VG_A_PROVISIONED = 29,  /* uint 0/1; 2: unknown (VG_A_LIFECYCLE_WHY says why) */
	VG_A_SUBJECT = 30,      /* text: a CSR's common name */
	VG_A_BOOT_SEED = 31,    /* bytes */
	VG_A_SESSION = 32,      /* text: an admin session token (any request) */
	VG_A_PASSWORD = 33,     /* bytes */
	VG_A_NEW_PASSWORD = 34, /* bytes */
	VG_A_TOKEN = 35,        /* text: a new session token (reply) */
	VG_A_WAIT = 36,         /* uint: seconds to wait before the next attempt */
	VG_A_EXPIRES = 37,      /* uint: session lifetime in seconds */
	VG_A_ADMIN_SET = 38,    /* uint 0/1: an admin credential exists */
	VG_A_DEBUG = 39,        /* uint 0/1: debug unlocked */
	VG_A_PLATFORM = 40,     /* text: "normal", "recovery" or "unverified" */
	VG_A_PLATFORM_WHY = 41, /* text: why recovery or unverified ("" when normal) */
	VG_A_SECVER = 42,       /* uint: the platform manifest's security version */
	VG_A_RESULTS = 43,      /* array of maps {NAME, PATH: text, RC: uint, MSG: why} */
	VG_A_PATH = 44,         /* text: a component's path */
	VG_A_RELEASE_KEY = 45,  /* bytes: the OEM release public key (provisioning) */
	VG_A_RC = 46,           /* uint: a vg_rc (per component in RESULTS) */
	VG_A_PLATFORM_VERSION = 47, /* text: the platform manifest's version */
	VG_A_MANIFEST = 48,     /* bytes: an update bundle's manifest */
	VG_A_SLOT = 49,         /* text: "a" or "b" */
	VG_A_SLOTS = 50,        /* array of maps {NAME: image, PATH: slot path} */
	VG_A_RESUME = 51,       /* uint 0/1: the slot holds part of this bundle */
	VG_A_CEK = 52,          /* bytes: an encrypted bundle's content key */
	VG_A_BOOTLOADER = 53,   /* text: file, uboot or grub */
	VG_A_BOOT_PARAM = 54,   /* text: the bootloader adapter's parameter */
	VG_A_TRIES = 55,        /* uint: boot attempts */
	VG_A_STAGE = 56,        /* text: an update stage or state */
	VG_A_BUNDLE = 57,       /* text: a bundle ID (hex SHA-256 of its manifest) */
	VG_A_BOOTED = 58,       /* text: the slot running now ("a", "b" or "") */
	VG_A_LAST = 59,         /* text: the last update's outcome */
	/* 60-69: the audit log's retention and paged export (audit.h) */
	VG_A_FROM = 60,         /* uint: LOG_EXPORT: page from this seq (absent: a new export) */
	VG_A_MORE = 61,         /* uint 0/1: LOG_EXPORT reply: more pages follow */
	VG_A_NEXT = 62,         /* uint: LOG_EXPORT reply: VG_A_FROM of the next page */
	VG_A_AUDIT_BYTES = 63,  /* uint: STATUS: the audit log's stored bytes */
	VG_A_AUDIT_CAP = 64,    /* uint: STATUS: its max_bytes */
	VG_A_AUDIT_DROP = 65,   /* uint: STATUS: records dropped by retention */
	VG_A_AUDIT_SUPPR = 66,  /* uint: STATUS: events suppressed by the rate limit */
	VG_A_DIGEST_ALG = 67,   /* text: KEY_SIGN_DIGEST: "sha256", "sha384", "sha512" */
	/* 70-89: per-uid budgets and their use (daemon/budget.h), in STATUS
	 * messages; 70-73 also name the endpoint ops' arguments below, which
	 * never meet those in one message (keys are per message) */
	VG_A_ENDPOINT = 70,     /* bytes: an endpoint policy (tls/endpoint.h's JSON) */
	VG_A_PEER = 71,         /* text: ENDPOINT_REPORT: the peer's address */
	VG_A_REASON = 72,       /* text: ENDPOINT_REPORT: why it was refused */
	VG_A_OK = 73,           /* uint 0/1: ENDPOINT_REPORT: accepted or refused */
	/* 110-119: the display IPC guard (display/token.h); TOKEN (35) carries
	 * the display token both ways */
	VG_A_ORIGIN = 110,      /* text: DISPLAY_TOKEN_*: the page's Origin */
	VG_A_TTL_MS = 111,      /* uint: DISPLAY_TOKEN_ISSUE reply: the token's lifetime */
	/* 140-149: the microphone's mute switch (MIC_REPORT, MIC_STATE) */
	VG_A_MIC_STATE = 140,   /* uint: vg_mic_state (1 muted, 2 unmuted; 0 unknown in replies) */
	VG_A_MIC_SOURCE = 141,  /* text: the switch read (e.g. /dev/input/event3) */
	VG_A_MIC_SINCE = 142,   /* uint: Unix time of the last report (0: none) */
	/* 120-129: sealed configuration (CONFIG_LIST entries) */
	VG_A_SIZE = 120,        /* uint: a configuration's length in bytes */
	VG_A_SHA256 = 121,      /* bytes: its SHA-256 */
	/* 90-: identity and lifecycle */
	VG_A_LIFECYCLE_WHY = 90, /* text: STATUS, IDENTITY: why the lifecycle is unknown (0) */
	/* 91-: HPKE stream keys (KEY_DECAP, KEY_AUTH_ENCAP; audio/hpke.h) */
	VG_A_KEM = 91,          /* uint: the HPKE KEM id (0x0010, 0x0020) */
	VG_A_ENC = 92,          /* bytes: the encapsulated key (request of DECAP, reply of AUTH_ENCAP) */
	VG_A_PEER_PUB = 93,     /* bytes: DECAP: the sender's raw public key (auth mode); AUTH_ENCAP: the recipient's */
	VG_A_SECRET = 94,       /* bytes: the KEM shared secret (reply) */
	/* 96-: the root of trust's health (STATUS; rot/rot.h vg_rot_health) */
	VG_A_ROT_STATE = 96,    /* text: "answering" or "not-answering" */
	VG_A_ROT_SINCE = 97,    /* uint: Unix time of the unanswered command (not-answering) */
};

/* A decoded message. The common one, whose arguments are all uints and
 * strings (every request but a few, most replies), is read in place:
 * `flat` is a private copy of the payload and `a` its arguments, with no
 * item tree. Any other (an argument that is a list or a map) is decoded
 * into libcbor's items: `root`, and `args` pointing into it. The accessors
 * below answer the same for both. */
typedef struct vg_msg_arg {
	uint64_t key;
	uint64_t val;  /* a uint's value, or a string's length */
	uint32_t off;  /* a string's first byte in `flat` */
	uint8_t major; /* 0 uint, 2 bytes, 3 text */
} vg_msg_arg;

typedef struct vg_msg {
	uint64_t code;
	cbor_item_t *root; /* the item tree, or NULL */
	cbor_item_t *args;
	uint8_t *flat; /* the in-place form, or NULL */
	size_t flat_len;
	unsigned n;
	vg_msg_arg a[VG_WIRE_MAX_ARGS];
} vg_msg;

/* Decodes one payload (without the 4-byte header). */
VG_NODISCARD vg_rc vg_wire_decode(const uint8_t *buf, size_t len, vg_msg *out);
/* The same through libcbor's item tree alone, whatever the shape: what
 * vg_wire_decode() answers must be what this answers (fuzz_ipc checks it). */
VG_NODISCARD vg_rc vg_wire_decode_tree(const uint8_t *buf, size_t len, vg_msg *out);
void vg_msg_free(vg_msg *m);

/* Typed getters. VG_ERR_NOT_FOUND when absent (callers decide if that is
 * optional), VG_ERR_PROTOCOL for a wrong type, size or a duplicate key. */
VG_NODISCARD vg_rc vg_msg_bytes(const vg_msg *m, unsigned key, const uint8_t **p, size_t *len);
/* Copies a text argument into out (NUL-terminated); text with a NUL byte or
 * longer than cap-1 is a protocol error. */
VG_NODISCARD vg_rc vg_msg_text(const vg_msg *m, unsigned key, char *out, size_t cap);
VG_NODISCARD vg_rc vg_msg_uint(const vg_msg *m, unsigned key, uint64_t *v);
VG_NODISCARD vg_rc vg_msg_item(const vg_msg *m, unsigned key, cbor_item_t **item);
/* Same lookups on any map item (for nested maps in lists). */
VG_NODISCARD vg_rc vg_map_get(const cbor_item_t *map, unsigned key, cbor_item_t **item);

/* Building: a map of args, then vg_wire_encode() frames it. The arguments
 * are written as CBOR map entries (shortest-form heads) in the order they
 * are added, into one buffer (wiped when freed): no item tree. */
typedef struct vg_msgb {
	bool failed; /* an allocation failed, or more than VG_WIRE_MAX_ARGS:
	              * encode reports VG_ERR_NOMEM */
	uint8_t *buf;
	size_t len, cap;
	unsigned n;
	bool big; /* more than a message holds: encode reports VG_ERR_TOO_LARGE */
} vg_msgb;
VG_NODISCARD vg_rc vg_msgb_init(vg_msgb *b);
void vg_msgb_uint(vg_msgb *b, unsigned key, uint64_t v);
void vg_msgb_bytes(vg_msgb *b, unsigned key, const uint8_t *p, size_t len);
void vg_msgb_text(vg_msgb *b, unsigned key, const char *s);
/* Takes ownership of item (a reference is moved in). */
void vg_msgb_item(vg_msgb *b, unsigned key, cbor_item_t *item);
/* Produces header + payload in a malloc'ed buffer, then releases b. */
VG_NODISCARD vg_rc vg_wire_encode(uint64_t code, vg_msgb *b, uint8_t **out, size_t *len);
void vg_msgb_free(vg_msgb *b);

/* Helpers for nested maps. */
void vg_map_add_uint(cbor_item_t *map, unsigned key, uint64_t v, bool *failed);
void vg_map_add_text(cbor_item_t *map, unsigned key, const char *s, bool *failed);

/* Validates a CBOR item per the rules above without building it. Exposed
 * for the other decoders of outside bytes (stored records, log exports). */
VG_NODISCARD vg_rc vg_cbor_validate(const uint8_t *buf, size_t len, unsigned max_depth);

/* The same walk for formats defined outside voxguard (COSE, EAT): flags
 * admit negative integers and/or tags (each tag must be followed by the
 * item it wraps; a tag does not count as a nesting level). Every other rule
 * holds: definite lengths only, no floats or undefined, the depth bound, no
 * trailing bytes, declared sizes bounded by the remaining bytes. Flags 0 is
 * exactly vg_cbor_validate(). Unknown flag bits are VG_ERR_PROTOCOL.
 * Note: libcbor 0.8 rejects the one-byte heads of tags 6..20 (0xc6..0xd4,
 * e.g. COSE's 17 and 18): read such an outer tag yourself and pass the rest. */
#define VG_CBOR_ALLOW_NEGATIVE 0x1u
#define VG_CBOR_ALLOW_TAGS     0x2u
VG_NODISCARD vg_rc vg_cbor_validate_ex(const uint8_t *buf, size_t len, unsigned max_depth,
				       unsigned flags);

/* Parses the frame header: the payload length, or VG_ERR_TOO_LARGE. */
VG_NODISCARD vg_rc vg_wire_frame_len(const uint8_t hdr[static VG_WIRE_HDR_LEN], size_t *len);

#endif
