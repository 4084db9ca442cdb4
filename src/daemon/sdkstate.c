/* sdkstate.c - see sdkstate.h */
#include "daemon/sdkstate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/service.h"

/* An audit detail: the directory, a reason and some words around them. */
#define DETAIL_LEN (sizeof(((vg_config *)0)->encrypted_dir) + VG_FSCRYPT_WHY_LEN + 160)

/* The directory's key: 64 bytes from the root of trust, bound to the
 * directory's path and to the erase secret (a factory reset replaces it). */
static vg_rc derive_key(vg_service *s, uint8_t key[static VG_FSCRYPT_KEY_LEN])
{
	const char *dir = s->cfg.encrypted_dir;
	size_t n = strlen(dir);
	uint8_t ctx[sizeof s->cfg.encrypted_dir + VG_KEY_LEN];
	vg_rc rc;

	memcpy(ctx, dir, n + 1);
	rc = vg_rot_erase_secret(s->rot, false, ctx + n + 1);
	if (rc == VG_OK)
		rc = vg_rot_derive(s->rot, "sdk-state/fscrypt/1", ctx, n + 1 + VG_KEY_LEN, key);
	if (rc == VG_OK)
		rc = vg_rot_derive(s->rot, "sdk-state/fscrypt/2", ctx, n + 1 + VG_KEY_LEN,
				   key + VG_KEY_LEN);
	vg_wipe(ctx, sizeof ctx);
	return rc;
}

/* The group DIR gets: its parent's (setgid, or chosen by the maker). */
static vg_rc parent_gid(const char *dir, gid_t *gid, char *why, size_t why_len)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(dir, '/');
	struct stat st;
	size_t n = slash ? (size_t)(slash - dir) : 0;

	if (n == 0)
		n = 1; /* "/x": the root */
	if (n >= sizeof parent)
		return vg_why(why, why_len, VG_ERR_INVALID, "%s: the path is too long", dir);
	memcpy(parent, dir, n);
	parent[n] = '\0';
	if (lstat(parent, &st) != 0)
		return vg_why(why, why_len, VG_ERR_NOT_FOUND,
			      "%s: its parent %s: %s (create it for the service's user, e.g. with "
			      "tmpfiles.d)",
			      dir, parent, strerror(errno));
	*gid = st.st_gid;
	return VG_OK;
}

/* Makes DIR ready under key; a directory under another key is set aside
 * first (and its key, if we still hold a claim, removed). */
static vg_rc prepare(vg_service *s, const uint8_t key[static VG_FSCRYPT_KEY_LEN],
		     vg_fscrypt_outcome *out, bool *set_aside, char *why, size_t why_len)
{
	const char *dir = s->cfg.encrypted_dir;
	uint8_t id[VG_FSCRYPT_ID_LEN];
	vg_fscrypt_policy pol;
	gid_t gid;
	vg_rc rc;

	*set_aside = false;
	rc = vg_fscrypt_key_identifier(key, id);
	if (rc == VG_OK)
		rc = parent_gid(dir, &gid, why, why_len);
	if (rc != VG_OK)
		return rc;
	rc = vg_fscrypt_get_policy(dir, &pol, why, why_len);
	if (rc == VG_OK && pol.encrypted && !(pol.ours && memcmp(pol.id, id, sizeof id) == 0)) {
		bool busy = false, others = false;
		char ignored[VG_FSCRYPT_WHY_LEN];
		/* Our claim to the old key, if the kernel still has one. */
		if (pol.version == 2)
			VG_IGNORE(vg_fscrypt_remove_key(dir, pol.id, &busy, &others, ignored,
							sizeof ignored));
		rc = vg_fscrypt_set_aside(dir, why, why_len);
		if (rc != VG_OK)
			return rc;
		*set_aside = true;
	} else if (rc != VG_OK && rc != VG_ERR_NOT_FOUND) {
		return rc;
	}
	return vg_fscrypt_prepare_dir(dir, geteuid(), gid, 0770, key, 0, out, why, why_len);
}

/* Erases what earlier resets set aside; audited either way when there was
 * something to erase. */
static void erase_aside(vg_service *s, const vg_peer *peer)
{
	char why[VG_FSCRYPT_WHY_LEN] = "", detail[DETAIL_LEN];
	uint64_t erased = 0;
	vg_rc rc = vg_fscrypt_erase_aside(s->cfg.encrypted_dir, &erased, why, sizeof why);

	if (rc == VG_OK && erased == 0)
		return;
	if (rc == VG_OK)
		(void)snprintf(detail, sizeof detail, "%s: %llu entries of the old state erased",
			       s->cfg.encrypted_dir, (unsigned long long)erased);
	else
		(void)snprintf(detail, sizeof detail,
			       "%s: the old state (unreadable: its key is gone) is not erased "
			       "completely, retried at the next start: %s",
			       s->cfg.encrypted_dir, why);
	vg_service_audit(s, peer, "sdkstate.erased", rc == VG_OK ? "success" : "failure", detail);
}

static void report(vg_service *s, const vg_peer *peer, vg_rc rc, const vg_fscrypt_outcome *out,
		   bool set_aside, const char *why)
{
	char detail[DETAIL_LEN], hex[17];

	if (rc == VG_OK) {
		s->sdkstate.ready = true;
		memcpy(s->sdkstate.id, out->id, sizeof s->sdkstate.id);
		s->sdkstate.why[0] = '\0';
		vg_hex_encode(out->id, 8, hex);
		(void)snprintf(detail, sizeof detail, "%s: %s%s, key %s...", s->cfg.encrypted_dir,
			       vg_fscrypt_action_str(out->action),
			       set_aside ? " (the old one set aside)" : "", hex);
		vg_service_audit(s, peer, "sdkstate.ready", "success", detail);
	} else {
		s->sdkstate.ready = false;
		(void)snprintf(s->sdkstate.why, sizeof s->sdkstate.why, "%s", why);
		(void)snprintf(detail, sizeof detail, "%s: %s", s->cfg.encrypted_dir, why);
		vg_service_audit(s, peer, "sdkstate.failed", "failure", detail);
	}
}

void vg_sdkstate_open(vg_service *s)
{
	char why[VG_FSCRYPT_WHY_LEN] = "";
	vg_fscrypt_outcome out;
	bool set_aside = false;
	uint8_t *key;
	vg_rc rc;

	memset(&s->sdkstate, 0, sizeof s->sdkstate);
	if (!s->cfg.encrypted_dir[0])
		return;
	key = vg_secret_alloc(VG_FSCRYPT_KEY_LEN);
	if (!key) {
		report(s, &s->self, VG_ERR_NOMEM, NULL, false, "out of memory");
		return;
	}
	rc = derive_key(s, key);
	if (rc != VG_OK)
		(void)snprintf(why, sizeof why, "its key: %s", vg_rc_str(rc));
	else
		rc = prepare(s, key, &out, &set_aside, why, sizeof why);
	vg_secret_free(key, VG_FSCRYPT_KEY_LEN);
	report(s, &s->self, rc, &out, set_aside, why[0] ? why : vg_rc_str(rc));
	erase_aside(s, &s->self);
}

vg_rc vg_sdkstate_reset(vg_service *s, const vg_peer *peer)
{
	char why[VG_FSCRYPT_WHY_LEN] = "", detail[DETAIL_LEN];
	vg_fscrypt_outcome out;
	bool busy = false, others = false, set_aside = false;
	uint8_t *key;
	vg_rc rc = VG_OK;

	if (!s->cfg.encrypted_dir[0])
		return VG_OK;
	/* The old key out of the kernel: nothing opens any more. */
	if (s->sdkstate.ready) {
		rc = vg_fscrypt_remove_key(s->cfg.encrypted_dir, s->sdkstate.id, &busy, &others,
					   why, sizeof why);
		if (rc == VG_ERR_NOT_FOUND)
			rc = VG_OK;
		s->sdkstate.ready = false;
		if (rc == VG_OK) {
			(void)snprintf(detail, sizeof detail, "%s: key removed%s%s",
				       s->cfg.encrypted_dir,
				       busy ? "; files still open stay readable until closed "
					      "(stop the voice application)"
					    : "",
				       others ? "; another uid still holds a claim" : "");
			vg_service_audit(s, peer, "sdkstate.locked", "success", detail);
		} else {
			(void)snprintf(detail, sizeof detail, "%s: %s", s->cfg.encrypted_dir, why);
			vg_service_audit(s, peer, "sdkstate.locked", "failure", detail);
		}
	}
	/* The new key (the erase secret is the new one now): the directory
	 * under the old key is set aside, a new one made. */
	key = vg_secret_alloc(VG_FSCRYPT_KEY_LEN);
	if (!key)
		return VG_ERR_NOMEM;
	why[0] = '\0';
	rc = derive_key(s, key);
	if (rc == VG_OK)
		rc = prepare(s, key, &out, &set_aside, why, sizeof why);
	vg_secret_free(key, VG_FSCRYPT_KEY_LEN);
	report(s, peer, rc, &out, set_aside, why[0] ? why : vg_rc_str(rc));
	erase_aside(s, peer);
	return rc;
}
