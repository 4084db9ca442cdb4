/*
 * budget.h - per-uid budgets of every resource the service shares (SFR
 * 4.2.10: an attacker running code as one application cannot compromise
 * the others; AVS 1.2).
 *
 * Like the kernel's per-user limits: each caller (a uid, as the kernel
 * names it) gets a budget of connections, buffered request bytes, idle
 * time, records, record bytes, keys and CPU-heavy operations. Exceeding a
 * budget hurts only the one who exceeded it: its request or connection is
 * refused with VG_ERR_QUOTA and a message naming the resource and limit,
 * and the refusals are one summarised "budget.exceeded" audit event per
 * uid and resource per VG_BUDGET_AUDIT_WINDOW_MS.
 *
 * Resolution (vg_budget_for), per resource:
 *   1. a rule for the caller's uid (budget.uid.UID.RES);
 *   2. else a rule for one of its groups, primary or supplementary
 *      (budget.group.NAME.RES); several matching groups: the largest value;
 *   3. else budget.default.RES;
 *   4. else the built-in default below.
 * Root (uid 0) and the service's own uid skip steps 2 and 3: they get the
 * privileged built-in defaults, generous but finite for connections and
 * buffered bytes, unless a uid rule names them.
 *
 * The server owns the accounting of connections and buffered bytes (see
 * daemon/server.h for the global memory bound and its reserve); storage,
 * keys and heavy operations are checked by their owners with the limits
 * resolved here.
 */
#ifndef VG_BUDGET_H
#define VG_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "daemon/config.h"
#include "daemon/policy.h"
#include "proto/wire.h"
#include "voxguard/voxguard.h"

/* Built-in defaults for an ordinary application uid: enough for a voice
 * application (a few connections, one maximum-size record in flight plus
 * small requests, thousands of records, dozens of keys). */
#define VG_BUDGET_DEF_CONNS          8u
#define VG_BUDGET_DEF_INFLIGHT_BYTES ((uint64_t)VG_WIRE_MAX_MSG + 1024u * 1024u)
#define VG_BUDGET_DEF_IDLE_MS        30000u
#define VG_BUDGET_DEF_STORE_RECORDS  4096u
#define VG_BUDGET_DEF_STORE_BYTES    (64u * 1024u * 1024u)
#define VG_BUDGET_DEF_KEYS           64u
#define VG_BUDGET_DEF_HEAVY_OPS      4u
/* Writes into the uid's records, bytes per second on average (a put
 * costs its value plus VG_BUDGET_PUT_OVERHEAD): bounds the share of the
 * disk's bandwidth (each put is a synchronous commit) and of the flash's
 * wear that one application can take. */
#define VG_BUDGET_DEF_STORE_RATE (1024u * 1024u)
/* Request bytes read from the uid's connections, per second on average:
 * beyond it the service reads its connections more slowly (no error), so
 * that a uid streaming huge frames cannot take the event loop's time from
 * the others. Four seconds of it pass at once (a maximum-size record). */
#define VG_BUDGET_DEF_REQUEST_RATE (8u * 1024u * 1024u)
/* Root and the service's own uid (administration, the service's duties). */
#define VG_BUDGET_PRIV_CONNS          64u
#define VG_BUDGET_PRIV_INFLIGHT_BYTES (2u * (uint64_t)VG_WIRE_MAX_MSG)
#define VG_BUDGET_PRIV_IDLE_MS        300000u
#define VG_BUDGET_PRIV_STORE_RECORDS  65536u
#define VG_BUDGET_PRIV_STORE_BYTES    (256u * 1024u * 1024u)
#define VG_BUDGET_PRIV_KEYS           1024u
#define VG_BUDGET_PRIV_HEAVY_OPS      16u
#define VG_BUDGET_PRIV_STORE_RATE     (16u * 1024u * 1024u)
#define VG_BUDGET_PRIV_REQUEST_RATE   (256u * 1024u * 1024u)

/* What a put costs the write rate besides its value: the record's row,
 * its AEAD tag and nonce, the index entry. */
#define VG_BUDGET_PUT_OVERHEAD 256u
/* What a read of request bytes costs the request rate besides its bytes:
 * the wake-up and the system call. Without it a uid sending its bytes one
 * at a time took a whole core of the event loop at a twentieth of its
 * rate; with it a uid gets at most request_rate / 256 reads a second
 * (32768 at the default), and a request of a well-behaved client (two
 * reads: its header, then the rest) costs 512 bytes more. */
#define VG_BUDGET_READ_OVERHEAD 256u
/* A write rate's bucket holds this many seconds of writes: a burst that
 * size passes at once, then the rate holds on average. */
#define VG_BUDGET_RATE_BURST_S 4u

/* Refusals of one uid and resource are summarised over this window. */
#define VG_BUDGET_AUDIT_WINDOW_MS 10000u

typedef struct vg_budget {
	uint32_t conns;          /* connections open at once */
	uint64_t inflight_bytes; /* request bytes buffered at once, all connections */
	uint32_t idle_ms;        /* a connection with no request in progress is closed */
	uint64_t store_records;  /* records in the uid's namespace */
	uint64_t store_bytes;    /* bytes of record values in the uid's namespace */
	uint32_t keys;           /* keys in the uid's namespace */
	/* CPU work of the uid on the worker pool (daemon/workers.h) at
	 * once: signatures, password hashing; one more is refused with
	 * VG_ERR_QUOTA, so one uid holds at most this many of the pool's
	 * threads' turns however many connections it has. */
	uint32_t heavy_ops;
	uint64_t store_rate;   /* bytes per second written to its records, on average */
	uint64_t request_rate; /* request bytes per second read from it, on average */
} vg_budget;

/* The rules of the configuration with group names resolved to gids.
 * Caller-allocated; holds no pointers (copyable, nothing to free). */
typedef struct vg_budget_table {
	uint32_t n;
	struct {
		uint8_t scope, res;
		uint32_t id; /* uid or gid */
		uint64_t value;
	} r[VG_CFG_MAX_BUDGET_RULES];
	uint32_t service_uid;
} vg_budget_table;

/* Builds t from cfg's rules, resolving group names (getgrnam: call before
 * the sandbox forbids reading /etc/group). An unknown group is
 * VG_ERR_INVALID with a reason in err. */
VG_NODISCARD vg_rc vg_budget_table_init(vg_budget_table *t, const vg_config *cfg,
					uint32_t service_uid, char *err, size_t err_len);

/* The budget of peer (see the resolution order above). t may be NULL:
 * built-in defaults only. Never fails. */
void vg_budget_for(const vg_budget_table *t, const vg_peer *peer, vg_budget *out);

/* One resource's value of a budget. */
uint64_t vg_budget_get(const vg_budget *b, unsigned res);

/*
 * Rate budgets (store_rate): one token bucket per uid, kept by the service
 * across connections (a uid cannot refill it by reconnecting), in
 * thousandths of a byte. A write is allowed while the bucket is not in
 * debt and then takes its whole cost, so that one record larger than the
 * burst can pass and the average still holds. A full bucket is as good as
 * none and is handed to the next uid; the table grows while uids short of
 * a full bucket need one, up to VG_BUDGET_RATE_MAX_UIDS of them at once
 * (more uids than a device has applications; 32 bytes each). Only beyond
 * that, or out of memory, do further uids share one last bucket: a few
 * dozen uids writing at once no longer throttle everyone else (they did
 * with a fixed table of 64).
 */
#define VG_BUDGET_RATE_MAX_UIDS 1024u
typedef struct vg_rate_slot {
	bool used;
	uint32_t uid;
	uint64_t rate; /* its owner's, refilled at it (uids' rates differ) */
	vg_tbucket tb;
} vg_rate_slot;
/* All zero is an empty table; vg_budget_rate_free() releases it. */
typedef struct vg_rate_table {
	vg_rate_slot *b; /* n slots, grown on demand */
	size_t n;
	vg_rate_slot shared; /* beyond VG_BUDGET_RATE_MAX_UIDS, or out of memory */
} vg_rate_table;

/* Whether uid may write (or send) now under a rate of `rate` bytes/s: VG_OK, or
 * VG_ERR_QUOTA with *retry_ms set to when it may (rounded up). */
VG_NODISCARD vg_rc vg_budget_rate_check(vg_rate_table *t, uint32_t uid, uint64_t rate,
					uint64_t now_ms, uint64_t *retry_ms);
/* Takes `bytes` from uid's bucket (after a write, or a read of its
 * request bytes, that vg_budget_rate_check allowed). */
void vg_budget_rate_charge(vg_rate_table *t, uint32_t uid, uint64_t rate, uint64_t bytes,
			   uint64_t now_ms);
/* Frees t's buckets; t is then an empty table. NULL-safe. */
void vg_budget_rate_free(vg_rate_table *t);

/* What a uid uses now, as the server counts it. */
typedef struct vg_budget_use {
	uint32_t conns;          /* connections open */
	uint64_t inflight_bytes; /* request bytes buffered */
	uint64_t refused;        /* refusals in the current audit window */
} vg_budget_use;

/* The server registers a meter while it runs (vg_service.budget_meter);
 * a NULL fn reads as zero use. */
typedef struct vg_budget_meter {
	/* Fills use for uid; if limit is not NULL and the uid has a
	 * connection, sets *limit to that connection's resolved budget and
	 * returns true (so an admin sees the budget a uid's groups give it). */
	bool (*fn)(void *ctx, uint32_t uid, vg_budget_use *use, vg_budget *limit);
	void *ctx;
} vg_budget_meter;

/*
 * For `status`: the budget and current use of uid, as asked by caller.
 * A caller may see its own (uid == caller->uid); an admin any uid's;
 * anyone else gets VG_ERR_DENIED. The limit of the caller's own uid is
 * resolved from the caller's own credentials; another uid's is that of
 * one of its open connections, or (none open) resolved from uid rules and
 * defaults only (its groups are not known without a connection).
 */
VG_NODISCARD vg_rc vg_budget_report(const vg_budget_table *t, const vg_budget_meter *m,
				    const vg_peer *caller, uint32_t uid, vg_budget *limit,
				    vg_budget_use *use);

/* Wire attributes of a budget report (the range 70-89 of proto/wire.h):
 * each a uint, in a status reply. */
enum vg_budget_arg {
	VG_A_BUDGET_UID = 70,            /* the uid reported */
	VG_A_BUDGET_CONNS = 71,          /* limit */
	VG_A_BUDGET_INFLIGHT_BYTES = 72, /* limit */
	VG_A_BUDGET_IDLE_MS = 73,        /* limit */
	VG_A_BUDGET_STORE_RECORDS = 74,  /* limit */
	VG_A_BUDGET_STORE_BYTES = 75,    /* limit */
	VG_A_BUDGET_KEYS = 76,           /* limit */
	VG_A_BUDGET_HEAVY_OPS = 77,      /* limit */
	VG_A_BUDGET_USE_CONNS = 78,      /* connections open now */
	VG_A_BUDGET_USE_INFLIGHT = 79,   /* request bytes buffered now */
	VG_A_BUDGET_USE_REFUSED = 80,    /* refusals in the current audit window */
	VG_A_BUDGET_USE_RECORDS = 81,    /* records stored now */
	VG_A_BUDGET_USE_BYTES = 82,      /* record bytes stored now */
	VG_A_BUDGET_USE_KEYS = 83,       /* keys now */
	VG_A_BUDGET_STORE_RATE = 84,     /* limit, bytes per second */
	VG_A_BUDGET_REQUEST_RATE = 85,   /* limit, bytes per second */
};

/* Adds a report (uid, every limit, the use) to a reply being built. */
void vg_budget_encode(vg_msgb *b, uint32_t uid, const vg_budget *limit, const vg_budget_use *use);

#endif
