/*
 * secstore.h - secure storage (SFR 4.2.4; AVS SDK: protect configuration and
 * persistent state).
 *
 * Records are (namespace, name) -> value, up to VG_MAX_VALUE_LEN bytes.
 * Each value is sealed with AES-256-GCM (crypto/seal.h) under a key derived
 * from the root of trust per namespace (HKDF label "store-ns", context the
 * namespace), with the associated data
 *     len(ns) | ns | len(name) | name
 * and the record's version in the sealed header, so a value moved to
 * another record, another namespace or another version fails to open.
 *
 * The record version is the database commit counter of the put that wrote
 * it (unique and increasing). The store keeps a keyed digest of the whole
 * record set — the XOR of HMAC(set-key, ns, name, version) over all live
 * records, an XOR-MAC in the sense of Bellare, Guérin and Rogaway — as the
 * "store.set" anchor of the database (storage/db.h), which MACs it together
 * with the commit counter bound to the root of trust. At open the store
 * recomputes the digest from the rows: a replayed, swapped, deleted or added
 * row makes the whole store refuse service with VG_ERR_INTEGRITY (an attack,
 * never a power cut: SQLite commits atomically). A corrupted value only
 * fails that record's AEAD check: the others stay available.
 *
 * Persistent and erasable namespaces (factory reset, SFR 4.2.12): "sys"
 * (provisioning) and "k/service" (the service's own keys) survive a reset;
 * every other namespace holds user data, whose key also mixes in the root
 * of trust's erase secret (rot.h: HKDF label "store-ns-user", context
 * ns | 0 | erase secret). vg_secstore_crypto_erase() replaces that secret
 * and deletes the user rows.
 */
#ifndef VG_SECSTORE_H
#define VG_SECSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/db.h"
#include "voxguard/voxguard.h"

#define VG_MAX_NS_LEN 64u

typedef struct vg_secstore vg_secstore;

/* Opens the store's table in db and checks the record set against its
 * anchor. A failed check is not an open error: it sets vg_db_state(). */
VG_NODISCARD vg_rc vg_secstore_open(vg_secstore **out, vg_db *db);
void vg_secstore_close(vg_secstore **s);

/* VG_OK, or why records are refused (VG_ERR_ROLLBACK, VG_ERR_INTEGRITY). */
vg_rc vg_secstore_state(const vg_secstore *s);

/* Durable when it returns VG_OK (one transaction, fsync'ed). */
VG_NODISCARD vg_rc vg_secstore_put(vg_secstore *s, const char *ns, const char *name,
				   const uint8_t *value, size_t len);
/* *value is callee-allocated; the caller frees it with vg_free(*value, *len). */
/*
 * Group commit. put_batched adds the put to a transaction left open (each
 * put in its own savepoint, so one failing put does not affect the
 * others) and returns before anything is durable: the caller must not
 * acknowledge it until vg_secstore_batch_commit() returned VG_OK, and must
 * commit before any other store, keystore or audit operation (no one may
 * read what is not durable yet). A failed batch commit loses the whole
 * batch (nothing of it is durable) and says so to every put in it.
 */
VG_NODISCARD vg_rc vg_secstore_put_batched(vg_secstore *s, const char *ns, const char *name,
					   const uint8_t *value, size_t len);
VG_NODISCARD vg_rc vg_secstore_batch_commit(vg_secstore *s);

/*
 * Per-namespace storage quotas (SFR 4.2.4, 4.2.10: one caller's storage
 * never takes another's). Usage is the number of records and the bytes of
 * their sealed blobs as stored (value + VG_SEAL_OVERHEAD bytes, crypto/seal.h), and
 * counts what the open batch holds. A put is refused with VG_ERR_QUOTA
 * when it would take the namespace past either bound (a replacement counts
 * the difference, so shrinking a record over quota is allowed).
 * Limits are set by the caller per request (the daemon's per-uid budgets);
 * VG_QUOTA_UNLIMITED turns one bound off, q == NULL both.
 *
 * The reserve (storage/reserve.h) is the namespace's business, not the
 * caller's: every put into an application's namespace ("u/<uid>",
 * "k/<uid>"), with or without a quota, is refused with VG_ERR_QUOTA when
 * it would leave the file system less than the reserve ("the device's
 * storage is nearly full"), never takes the ballast, and meets a disk
 * filled meanwhile as VG_ERR_QUOTA (a batch commit too: a batch holds
 * applications' puts). The service's own writes ("sys", "k/service",
 * "adm"), a delete and a crypto-erase are redone once with the ballast
 * released when they meet a full disk.
 */
#define VG_QUOTA_UNLIMITED UINT64_MAX
typedef struct vg_store_quota {
	uint64_t max_records;
	uint64_t max_bytes;
} vg_store_quota;

VG_NODISCARD vg_rc vg_secstore_put_quota(vg_secstore *s, const char *ns, const char *name,
					 const uint8_t *value, size_t len, const vg_store_quota *q);
VG_NODISCARD vg_rc vg_secstore_put_batched_quota(vg_secstore *s, const char *ns, const char *name,
						 const uint8_t *value, size_t len,
						 const vg_store_quota *q);
/* Records and blob bytes in ns, including the open batch's puts. */
VG_NODISCARD vg_rc vg_secstore_usage(vg_secstore *s, const char *ns, uint64_t *records,
				     uint64_t *bytes);

/*
 * Secure debugging (SFR 4.3.1): while debug is unlocked the applications'
 * records, keys and sealed configuration (namespaces "u/<uid>", "k/<uid>"
 * and "cfg", daemon/op_config.c) are sealed away:
 * every access is VG_ERR_STATE. The service's own namespaces stay usable.
 */
void vg_secstore_seal_away(vg_secstore *s, bool sealed);
bool vg_secstore_sealed_away(const vg_secstore *s);

/* "sys" and "k/service": namespaces a factory reset keeps. */
bool vg_secstore_ns_persistent(const char *ns);
/*
 * Crypto-erase of all user data: with rotate, first replaces the RoT's
 * erase secret (after which no user record can be opened, by us or from
 * any copy of the files), then deletes every row outside the persistent
 * namespaces in one transaction and scrubs the WAL. Idempotent: a reset
 * interrupted after the rotation completes by calling it again (rotate
 * may be repeated). VG_ERR_UNSUPPORTED if the RoT has no erase secret.
 */
VG_NODISCARD vg_rc vg_secstore_crypto_erase(vg_secstore *s, bool rotate);
bool vg_secstore_batch_pending(const vg_secstore *s);
/*
 * Accepts a refused store (rollback or integrity error) as the device's
 * from now on, for a factory reset only (SFR 4.2.12): the erase secret is
 * replaced first (no user record opens again, whatever follows), every
 * record outside the persistent namespaces is deleted, persistent records
 * that are malformed or do not authenticate are deleted too (*dropped
 * counts them), and the record-set digest is recomputed and committed
 * under the root of trust's current counter (vg_db_accept). VG_OK with
 * nothing done when the store is not refused.
 */
VG_NODISCARD vg_rc vg_secstore_accept(vg_secstore *s, uint64_t *dropped);

VG_NODISCARD vg_rc vg_secstore_get(vg_secstore *s, const char *ns, const char *name,
				   uint8_t **value, size_t *len);
VG_NODISCARD vg_rc vg_secstore_delete(vg_secstore *s, const char *ns, const char *name);
/* Calls fn for each name in ns, in name order; fn returning non-zero stops. */
VG_NODISCARD vg_rc vg_secstore_list(vg_secstore *s, const char *ns,
				    int (*fn)(void *ctx, const char *name), void *ctx);
uint64_t vg_secstore_count(const vg_secstore *s);

/* The sealed blob of a record, as stored (for tests and tools). */
VG_NODISCARD vg_rc vg_secstore_raw(vg_secstore *s, const char *ns, const char *name, uint8_t **blob,
				   size_t *len, uint64_t *version);

/* Decodes a stored row's blob against its identity without the database:
 * the stored-record decoder that the fuzz target drives. */
VG_NODISCARD vg_rc vg_secstore_open_blob(const uint8_t key[static 32], const char *ns,
					 const char *name, uint64_t version, const uint8_t *blob,
					 size_t blob_len, uint8_t **value, size_t *len);

#endif
