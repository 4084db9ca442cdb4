/*
 * policy.h - who may do what (SFR 4.2.10, AVS SDK: least privilege and
 * access control).
 *
 * The caller is who the kernel says it is (SO_PEERCRED, SO_PEERGROUPS),
 * never what a message claims. Rules:
 *  - every uid owns its namespace of keys and records; using (sign, verify,
 *    encrypt, decrypt, mac, get, put, create) anything in another uid's
 *    namespace is denied to everyone, admins included;
 *  - admins (members of admin_group, or uid 0) may administer other
 *    namespaces (list, info, public key, delete) and read the audit log;
 *  - the service's own namespace is never usable by clients, with one
 *    exception: members of identity_tls_group may sign digests with the
 *    device identity key and read its public key and info (its TLS client
 *    identity, SFR 4.2.2, 4.2.7; docs/TLS.md), each use audited;
 *  - status, identity and attestation are open to all (the token names
 *    the caller as its client ID);
 *  - provisioning and the identity certificate (CSR, store) are admin
 *    operations.
 * Which rule applies to an operation is its row in the table (ops.h).
 * Every denial is returned as VG_ERR_DENIED and audited by the caller.
 */
#ifndef VG_POLICY_H
#define VG_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/config.h"
#include "proto/wire.h"
#include "voxguard/voxguard.h"

#define VG_PEER_MAX_GROUPS 64

typedef struct vg_peer {
	uint32_t uid, gid;
	int32_t pid;
	bool admin;        /* resolved once at connect */
	bool tls_identity; /* in identity_tls_group: resolved once at connect */
	/* Supplementary groups (SO_PEERGROUPS) for budget rules; none when
	 * the kernel has more than VG_PEER_MAX_GROUPS to tell. */
	uint32_t n_groups;
	uint32_t groups[VG_PEER_MAX_GROUPS];
} vg_peer;

typedef struct vg_policy {
	bool have_admin_gid;
	gid_t admin_gid;
	bool have_identity_gid;
	gid_t identity_gid;
} vg_policy;

/* Resolves the admin group; an unknown configured group is an error. */
VG_NODISCARD vg_rc vg_policy_init(vg_policy *p, const vg_config *cfg, char *err, size_t err_len);
/* Fills peer from a connected Unix socket's credentials. */
VG_NODISCARD vg_rc vg_policy_peer(const vg_policy *p, int fd, vg_peer *peer);
/* The role name for audit records. */
const char *vg_policy_role(const vg_peer *peer);
/* May peer perform op on the namespace of `owner`? VG_OK or VG_ERR_DENIED. */
VG_NODISCARD vg_rc vg_policy_check(const vg_policy *p, const vg_peer *peer, vg_op op,
				   uint32_t owner);
/* The identity_tls_group exception: true when peer may use op
 * (KEY_SIGN_DIGEST, KEY_PUBLIC, KEY_INFO) on the service's key `name`,
 * which must be the device identity key. Such a request needs no admin
 * session: it administers nothing. */
bool vg_policy_identity_tls(const vg_policy *p, const vg_peer *peer, vg_op op, uint32_t owner,
			    const char *name);

#endif
