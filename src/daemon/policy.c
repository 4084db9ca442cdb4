/* policy.c - see policy.h */
#include "daemon/policy.h"

#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/ops.h"
#include "identity/identity.h"
#include "keystore/keystore.h"

vg_rc vg_policy_init(vg_policy *p, const vg_config *cfg, char *err, size_t err_len)
{
	memset(p, 0, sizeof *p);
	if (cfg->admin_group[0]) {
		struct group *g = getgrnam(cfg->admin_group);
		if (!g) {
			(void)snprintf(err, err_len, "admin group '%s' does not exist",
				       cfg->admin_group);
			return VG_ERR_INVALID;
		}
		p->have_admin_gid = true;
		p->admin_gid = g->gr_gid;
	}
	if (cfg->identity_tls_group[0]) {
		struct group *g = getgrnam(cfg->identity_tls_group);
		if (!g) {
			(void)snprintf(err, err_len, "identity TLS group '%s' does not exist",
				       cfg->identity_tls_group);
			return VG_ERR_INVALID;
		}
		p->have_identity_gid = true;
		p->identity_gid = g->gr_gid;
	}
	return VG_OK;
}

vg_rc vg_policy_peer(const vg_policy *p, int fd, vg_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	gid_t groups[VG_PEER_MAX_GROUPS];
	socklen_t glen = sizeof groups;

	memset(peer, 0, sizeof *peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
		return VG_ERR_IO;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	peer->pid = cred.pid;
	peer->admin = cred.uid == 0;
	/* Supplementary groups (Linux 4.13+). Too many groups to list means
	 * none: no admin by supplementary membership (fail closed) and no
	 * group budget rule. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
		peer->n_groups = (uint32_t)(glen / sizeof(gid_t));
		for (size_t i = 0; i < peer->n_groups; i++)
			peer->groups[i] = (uint32_t)groups[i];
	}
	if (p->have_identity_gid) {
		peer->tls_identity = cred.gid == p->identity_gid;
		for (size_t i = 0; i < peer->n_groups; i++)
			if (peer->groups[i] == p->identity_gid)
				peer->tls_identity = true;
	}
	if (p->have_admin_gid && !peer->admin) {
		if (cred.gid == p->admin_gid)
			peer->admin = true;
		for (size_t i = 0; i < peer->n_groups; i++)
			if (peer->groups[i] == p->admin_gid)
				peer->admin = true;
	}
	return VG_OK;
}

const char *vg_policy_role(const vg_peer *peer)
{
	return peer->admin ? "admin" : "user";
}

vg_rc vg_policy_check(const vg_policy *p, const vg_peer *peer, vg_op op, uint32_t owner)
{
	const vg_op_def *d = vg_op_find(op);
	bool own = owner == peer->uid && owner != VG_OWNER_SERVICE;

	(void)p;
	if (!d)
		return VG_ERR_DENIED; /* no row: default deny */
	switch (d->access) {
	case VG_ACCESS_ANY:
		return VG_OK;
	case VG_ACCESS_ADMIN:
		return peer->admin ? VG_OK : VG_ERR_DENIED;
	case VG_ACCESS_OWN:
		return own ? VG_OK : VG_ERR_DENIED;
	case VG_ACCESS_MANAGE:
		if (own)
			return VG_OK;
		if (!peer->admin)
			return VG_ERR_DENIED;
		/* Admins administer users' namespaces; the service's own keys
		 * can be listed and their public halves read, never deleted. */
		if (owner == VG_OWNER_SERVICE && (d->flags & VG_OPF_NOT_SERVICE))
			return VG_ERR_DENIED;
		return VG_OK;
	}
	return VG_ERR_DENIED;
}

bool vg_policy_identity_tls(const vg_policy *p, const vg_peer *peer, vg_op op, uint32_t owner,
			    const char *name)
{
	(void)p;
	return peer->tls_identity && owner == VG_OWNER_SERVICE &&
	       (op == VG_OP_KEY_SIGN_DIGEST || op == VG_OP_KEY_PUBLIC || op == VG_OP_KEY_INFO) &&
	       strcmp(name, VG_IDENTITY_KEY_NAME) == 0;
}
