/*
 * config.h - voxguardd's configuration file.
 *
 * A plain `key = value` file, one setting a line, `#` comments, unknown keys
 * and malformed lines rejected with the line number (fail closed: a typo in
 * a security setting must not silently fall back to a default). Lines are at
 * most 512 bytes, the file at most 64 KiB.
 *
 * Keys and their defaults (etc/voxguardd.conf is the installed example):
 *   user            = voxguard      # drop to this user when started as root
 *   admin_group     =               # members may do admin operations
 *                                   # (empty: root only)
 *   identity_tls_group =            # members may sign with the device identity
 *                                   # key (TLS client identity, SFR 4.2.2,
 *                                   # 4.2.7; docs/TLS.md); empty: nobody
 *   socket_group    =               # group owner of the socket (empty: the
 *                                   # service's primary group)
 *   socket_mode     = 0660          # never world-accessible
 *   rot             = file          # root-of-trust backend
 *   rot_param       =               # backend parameter (e.g. a TCTI)
 *   max_clients     = 256
 *   event_loops     = 1             # threads serving connections (0: one
 *                                   # per online core, at most 4; server.h:
 *                                   # more throughput, less isolation)
 *   io_timeout_ms   = 5000          # a whole request must arrive within this
 *   rot_sync_ms     = 50            # RoT counter follows commits within this
 *                                   # (0: in every commit; see storage/db.h)
 *   rot_timeout_ms  = 10000         # bound on one command to the root of
 *                                   # trust (a TPM; 100..600000): past it
 *                                   # the command fails, status says "not
 *                                   # answering", rot.timeout is audited
 *                                   # (rot/rot.h, docs/TPM2.md)
 *   rot_policy_key  =               # absolute path of the OEM's PCR-policy
 *                                   # public key (PEM, ECDSA P-256): a new
 *                                   # tpm2 root key is sealed so that only a
 *                                   # boot the OEM signed for opens it
 *   rot_policy      =               # absolute path of the running release's
 *                                   # signed PCR policy (voxguard pcr-policy
 *                                   # sign; rot/pcrpolicy.h, docs/TPM2.md)
 *   attest_pcrs     =               # PCRs the attestation token carries,
 *                                   # e.g. "0-9" or "0,2,4,7,9" (a TPM root
 *                                   # of trust; empty: none), read at each
 *                                   # platform check (docs/ATTESTATION.md)
 *   audit_checkpoint_every = 256
 *   audit_max_records      = 0      # secondary bound on records (0: none)
 *   audit_max_bytes        = 16777216 # the audit log's stored size bound
 *                                   # (bytes, >= 65536; docs/AUDIT.md)
 *   audit_rate_per_s       = 20     # per-uid audit events a second, and
 *   audit_burst            = 200    # burst, before events are summarised
 *   admin_session_s = 900           # admin session lifetime (5..86400)
 *   admin_pw_cost   = 15            # scrypt cost: N = 2^cost (10..20)
 *   reset_button    =               # absolute path of a file or GPIO value
 *                                   # file reading "1" while the reset
 *                                   # button is held (physical presence)
 *   manifest        =               # absolute path of the signed platform
 *                                   # manifest, checked at every start
 *                                   # (SFR 4.2.5; docs/SECURE_INIT.md)
 *   A/B updates (SFR 4.2.6; docs/UPDATE.md), off while update_slots is empty:
 *   update_slots    =               # "IMAGE SLOT_A SLOT_B[; IMAGE A B]...":
 *                                   # absolute paths (block devices or files)
 *   bootloader      = file          # file, uboot or grub (docs/BOOTLOADER.md)
 *   bootloader_param =              # the env file, fw_env.config or grubenv
 *   boot_tries      = 3             # boot attempts for a new slot (1..9)
 *   boot_cmdline    = /proc/cmdline # carries voxguard.slot=a|b
 *   boot_id         = /proc/sys/kernel/random/boot_id
 *   storage_reserve_bytes = 4194304 # space kept for the service's duties
 *                                   # (delete, factory reset, audit) on
 *                                   # the state dir's file system:
 *                                   # applications' writes are refused
 *                                   # below it, and a ballast file of this
 *                                   # size is released when the disk is
 *                                   # full (storage/reserve.h); 0: off
 *   The display IPC guard (AVS 1.14; docs/DISPLAY.md, display/token.h):
 *   display_launcher_uids  =        # uids that may issue display tokens
 *                                   # (decimal, comma-separated, at most
 *                                   # VG_CFG_MAX_DISPLAY_UIDS; empty: none)
 *   display_gateway_uids   =        # uids that may redeem them (the gateway)
 *   display_token_ttl_ms   = 30000  # a token's lifetime (100..600000)
 *   display_tokens_per_uid = 4      # outstanding tokens per launcher (1..64)
 *   display_tokens_max     = 32     # outstanding in all (1..256)
 *   The SDK's persistent state (SDK rule 3; docs/PRIVACY.md, sdkstate.h):
 *   encrypted_dir   =               # a directory the service keeps
 *                                   # encrypted by the kernel (fscrypt v2)
 *                                   # for the voice application; empty: none
 *   The microphone's mute switch (AVS 1.15; docs/PRIVACY.md):
 *   mic_uids        =               # uids besides root and admins that may
 *                                   # report it (mic.report; the watcher's)
 *   Per-uid budgets of the shared resources (SFR 4.2.10; daemon/budget.h
 *   has the defaults and the resolution), one rule a line:
 *   budget.default.RES   = N        # every uid without a closer rule
 *   budget.uid.UID.RES   = N        # one uid (beats group and default)
 *   budget.group.NAME.RES = N       # members (primary or supplementary;
 *                                   # an unknown group is a start error)
 *   RES is conns, inflight_bytes, idle_ms, store_records, store_bytes,
 *   store_write_rate (bytes per second), request_rate (bytes per second),
 *   keys or heavy_ops; N is decimal with an optional K, M or G suffix
 *   (x1024). At most VG_CFG_MAX_BUDGET_RULES rules; a repeated rule
 *   replaces the earlier one.
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#define VG_CFG_STR 64u

/* Budget rules (budget.SCOPE.RES = N): parsed here, resolved per caller by
 * daemon/budget.h. */
#define VG_CFG_MAX_BUDGET_RULES 64u
enum vg_budget_scope {
	VG_BUDGET_SCOPE_DEFAULT = 0,
	VG_BUDGET_SCOPE_GROUP = 1,
	VG_BUDGET_SCOPE_UID = 2,
};
enum vg_budget_res {
	VG_BUDGET_CONNS = 0,          /* connections open at once */
	VG_BUDGET_INFLIGHT_BYTES = 1, /* request bytes buffered at once */
	VG_BUDGET_IDLE_MS = 2,        /* an idle connection is closed after this */
	VG_BUDGET_STORE_RECORDS = 3,  /* records in the uid's namespace */
	VG_BUDGET_STORE_BYTES = 4,    /* bytes of record values in it */
	VG_BUDGET_KEYS = 5,           /* keys in the uid's namespace */
	VG_BUDGET_HEAVY_OPS = 6,      /* CPU-heavy operations in flight */
	VG_BUDGET_STORE_RATE = 7,     /* bytes per second written to its records */
	VG_BUDGET_REQUEST_RATE = 8,   /* request bytes per second read from it */
	VG_BUDGET_N_RES = 9,
};
typedef struct vg_budget_rule {
	uint8_t scope;          /* enum vg_budget_scope */
	uint8_t res;            /* enum vg_budget_res */
	uint32_t uid;           /* VG_BUDGET_SCOPE_UID */
	char group[VG_CFG_STR]; /* VG_BUDGET_SCOPE_GROUP: the name, resolved at start */
	uint64_t value;
} vg_budget_rule;
/* The name of a resource in the configuration ("conns", ...), NULL if out
 * of range. */
const char *vg_config_budget_res_name(unsigned res);

#define VG_CFG_MAX_DISPLAY_UIDS 8u
typedef struct vg_cfg_uids {
	uint32_t n;
	uint32_t uid[VG_CFG_MAX_DISPLAY_UIDS];
} vg_cfg_uids;
/* Is uid in the list? */
bool vg_cfg_uids_has(const vg_cfg_uids *l, uint32_t uid);

typedef struct vg_config {
	char user[VG_CFG_STR];
	char admin_group[VG_CFG_STR];
	char identity_tls_group[VG_CFG_STR];
	char socket_group[VG_CFG_STR];
	unsigned socket_mode;
	char rot[VG_CFG_STR];
	char rot_param[256];
	uint32_t max_clients;
	uint32_t event_loops;
	uint32_t io_timeout_ms;
	uint32_t rot_sync_ms;
	uint32_t rot_timeout_ms;
	/* attest_pcrs: bit i, PCR i's SHA-256 value goes into the attestation
	 * token (0: none). */
	uint32_t attest_pcrs;
	uint32_t audit_checkpoint_every;
	uint64_t audit_max_records;
	uint64_t audit_max_bytes;
	uint32_t audit_rate_per_s;
	uint32_t audit_burst;
	uint32_t admin_session_s;
	uint32_t admin_pw_cost;
	char reset_button[256];
	char manifest[256];
	/* The SDK's state, encrypted by the kernel (daemon/sdkstate.h). */
	char encrypted_dir[256];
	/* The root key sealed to the measured boot (tpm2; docs/TPM2.md). */
	char rot_policy_key[256];
	char rot_policy[256];
	char update_slots[448];
	char bootloader[16];
	char bootloader_param[256];
	uint32_t boot_tries;
	char boot_cmdline[256];
	char boot_id[256];
	uint64_t storage_reserve_bytes; /* storage/reserve.h */
	/* The display IPC guard (display/token.h). */
	vg_cfg_uids display_launcher_uids;
	vg_cfg_uids display_gateway_uids;
	/* uids that may report the microphone's switch (op_mic.c; AVS 1.15) */
	vg_cfg_uids mic_uids;
	uint32_t display_token_ttl_ms;
	uint32_t display_tokens_per_uid;
	uint32_t display_tokens_max;
	/* Budget rules, kept sorted (scope, uid or group, resource) so that
	 * the canonical dump does not depend on the order of the lines. */
	uint32_t n_budget;
	vg_budget_rule budget[VG_CFG_MAX_BUDGET_RULES];
} vg_config;

#define VG_CFG_MAX_SLOTS 8u
typedef struct vg_slot_map {
	size_t n;
	struct {
		char image[32];
		char path[2][224]; /* slot a, slot b */
	} e[VG_CFG_MAX_SLOTS];
} vg_slot_map;
/* Parses an update_slots value. VG_ERR_INVALID when malformed. */
VG_NODISCARD vg_rc vg_config_slots(const char *v, vg_slot_map *out);

void vg_config_defaults(vg_config *c);
/* Parses text into c (on top of the defaults already there). On error,
 * err (if not NULL) gets a one-line reason with the line number. */
VG_NODISCARD vg_rc vg_config_parse(vg_config *c, const char *text, size_t len, char *err,
				   size_t err_len);
VG_NODISCARD vg_rc vg_config_load(vg_config *c, const char *path, char *err, size_t err_len);
/* The effective configuration in canonical `key = value` form (what the
 * service seals in its store to evidence changes between starts). Returns
 * the length written, or 0 if out is too small. */
size_t vg_config_format(const vg_config *c, char *out, size_t cap);

#endif
