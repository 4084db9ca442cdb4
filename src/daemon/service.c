/* service.c - see service.h */
#include "daemon/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/op_endpoint.h"
#include "daemon/ops.h"
#include "daemon/update.h"
#include "display/token.h"
#include "platform/secinit.h"
#include "version.h"

vg_rc vg_state_dir_check(const char *dir, uid_t uid, char *err, size_t err_len)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		(void)snprintf(err, err_len, "state dir %s: %s", dir, strerror(errno));
		return VG_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		(void)snprintf(err, err_len, "state dir %s is not a directory", dir);
		return VG_ERR_INVALID;
	}
	if (st.st_uid != uid) {
		(void)snprintf(err, err_len,
			       "state dir %s is owned by uid %u, not by the service (uid %u)", dir,
			       (unsigned)st.st_uid, (unsigned)uid);
		return VG_ERR_DENIED;
	}
	if (st.st_mode & 077) {
		(void)snprintf(err, err_len,
			       "state dir %s has mode %04o: it must not be group or world "
			       "accessible (chmod 700)",
			       dir, (unsigned)(st.st_mode & 07777));
		return VG_ERR_DENIED;
	}
	return VG_OK;
}

void vg_service_audit(vg_service *s, const vg_peer *peer, const char *type, const char *outcome,
		      const char *detail)
{
	vg_audit_event ev = {
	    .type = type,
	    .outcome = outcome,
	    .detail = detail,
	    .uid = peer->uid,
	    .gid = peer->gid,
	    .pid = peer->pid,
	    .role = peer == &s->self ? "service" : vg_policy_role(peer),
	};

	if (s->sealed) {
		/* Nowhere to keep a record: the service's own events go to the
		 * journal; an application's refused requests do not (a flood
		 * would only fill it, and nothing changes in this state). */
		if (peer == &s->self)
			(void)fprintf(
			    stderr, "voxguardd: event (not in the audit log, sealed): %s %s%s%s\n",
			    type, outcome, detail ? ": " : "", detail ? detail : "");
		return;
	}
	if (!s->audit || vg_audit_append(s->audit, &ev) != VG_OK)
		(void)fprintf(stderr, "voxguardd: audit: could not record %s/%s\n", type, outcome);
}

/* Unix time as 2026-12-07T03:41:05Z. */
static void utc_text(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 32, "%llu", (unsigned long long)t);
}

void vg_service_rot_watch(vg_service *s)
{
	vg_rot_health h;
	char detail[200], when[32];

	if (!s->rot)
		return;
	vg_rot_health_get(s->rot, &h);
	if (h.recoveries != s->rot_recoveries_seen) {
		uint64_t now = (uint64_t)time(NULL), since = s->rot_down_seen;

		if (since) {
			utc_text(since, when);
			(void)snprintf(detail, sizeof detail,
				       "the root of trust (%s) answers again; it did not answer "
				       "from %s for about %llu s",
				       vg_rot_name(s->rot), when,
				       (unsigned long long)(now > since ? now - since : 0));
			vg_service_audit(s, &s->self, "rot.recovered", "success", detail);
		} else {
			/* Out and back between two looks. */
			(void)snprintf(detail, sizeof detail,
				       "the root of trust (%s) did not answer a command within %u "
				       "ms, and answers again",
				       vg_rot_name(s->rot), (unsigned)h.timeout_ms);
			vg_service_audit(s, &s->self, "rot.timeout", "failure", detail);
		}
		s->rot_recoveries_seen = h.recoveries;
		s->rot_down_seen = 0;
	}
	if (!h.answering && !s->rot_down_seen) {
		utc_text(h.down_since, when);
		(void)snprintf(detail, sizeof detail,
			       "the root of trust (%s) did not answer a command within %u ms "
			       "(sent %s); what needs it fails until it answers",
			       vg_rot_name(s->rot), (unsigned)h.timeout_ms, when);
		vg_service_audit(s, &s->self, "rot.timeout", "failure", detail);
		s->rot_down_seen = h.down_since;
	}
}

static vg_rc audit_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t **sig, size_t *sig_len)
{
	vg_service *s = ctx;

	return vg_keystore_sign(s->ks, VG_OWNER_SERVICE, VG_AUDIT_KEY_NAME, msg, len, sig, sig_len);
}

/* The audit-signing key: created once, kept in the service namespace. */
static vg_rc audit_key(vg_service *s, uint8_t **der, size_t *der_len)
{
	vg_rc rc =
	    vg_keystore_public(s->ks, VG_OWNER_SERVICE, VG_AUDIT_KEY_NAME, false, der, der_len);

	if (rc == VG_ERR_NOT_FOUND) {
		rc = vg_keystore_create(s->ks, VG_OWNER_SERVICE, VG_AUDIT_KEY_NAME, VG_KEY_P256,
					VG_USE_SIGN | VG_USE_VERIFY);
		if (rc == VG_OK)
			rc = vg_keystore_public(s->ks, VG_OWNER_SERVICE, VG_AUDIT_KEY_NAME, false,
						der, der_len);
	}
	return rc;
}

/* The service's own configuration lives in its sealed store too: the
 * effective settings are sealed at every start, and a difference from the
 * previous start is an audit event, so a changed configuration file is
 * evidenced even though the OEM ships it in /etc. */
static void seal_config(vg_service *s)
{
	char text[16384]; /* the settings and up to 64 budget rules */
	uint8_t *old = NULL, h_old[32], h_new[32];
	size_t old_len = 0, len = vg_config_format(&s->cfg, text, sizeof text);
	char detail[160], ho[17], hn[17];
	vg_rc rc;

	if (!len || vg_sha256((const uint8_t *)text, len, h_new) != VG_OK)
		return;
	rc = vg_sysrec_get(s->store, VG_SYS_CONFIG, &old, &old_len);
	if (rc == VG_OK && old_len == len && memcmp(old, text, len) == 0) {
		vg_free(old, old_len);
		return;
	}
	vg_hex_encode(h_new, 8, hn);
	if (rc == VG_OK && vg_sha256(old, old_len, h_old) == VG_OK) {
		vg_hex_encode(h_old, 8, ho);
		(void)snprintf(detail, sizeof detail,
			       "configuration changed: sha256 %s... -> %s...", ho, hn);
	} else {
		(void)snprintf(detail, sizeof detail, "configuration recorded: sha256 %s...", hn);
	}
	vg_free(old, old_len);
	rc = vg_sysrec_put(s->store, VG_SYS_CONFIG, (const uint8_t *)text, len);
	vg_service_audit(s, &s->self, "config.changed", rc == VG_OK ? "success" : "failure",
			 detail);
}

/* Without a provisioned release key (a development device): the
 * components are voxguard's own binaries, the running service and the CLI
 * installed next to it. */
static vg_rc open_identity_unverified(vg_service *s)
{
	char exe[PATH_MAX], cli[PATH_MAX + 16];
	const char *paths[2], *names[2] = {"voxguardd", "voxguard"};
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0)
		return vg_identity_open(&s->identity, s->store, s->ks, s->rot, NULL, NULL, 0);
	exe[n] = '\0';
	(void)snprintf(cli, sizeof cli, "%s", exe);
	slash = strrchr(cli, '/');
	if (slash)
		(void)snprintf(slash + 1, sizeof cli - (size_t)(slash + 1 - cli), "voxguard");
	paths[0] = exe;
	paths[1] = cli;
	return vg_identity_open(&s->identity, s->store, s->ks, s->rot, paths, names, 2);
}

/* The attested components: each one the manifest lists, as measured now
 * (a failed one shows its real digest), then the manifest itself. */
static void report_components(const vg_secinit_report *r, vg_psa_sw_component *out, size_t *n)
{
	static const uint8_t zero[32];
	size_t k = 0;

	for (size_t i = 0; i < r->n && k < VG_PSA_MAX_COMPONENTS - 1; i++, k++) {
		vg_psa_sw_component *c = &out[k];
		memset(c, 0, sizeof *c);
		(void)snprintf(c->measurement_type, sizeof c->measurement_type, "%s",
			       r->comp[i].name);
		(void)snprintf(c->version, sizeof c->version, "%s", r->comp[i].version);
		/* The algorithm: a Merkle root is SHA-256 too (the manifest
		 * says which; the reference values come from it). */
		(void)snprintf(c->measurement_desc, sizeof c->measurement_desc, "sha-256");
		memcpy(c->measurement,
		       r->res[i].rc == VG_OK ? r->comp[i].digest : r->res[i].measured, 32);
		c->measurement_len = 32;
		memcpy(c->signer_id, r->comp[i].signer, 32);
		c->signer_id_len = 32;
	}
	if (memcmp(r->manifest_digest, zero, 32) != 0) {
		vg_psa_sw_component *c = &out[k++];
		memset(c, 0, sizeof *c);
		(void)snprintf(c->measurement_type, sizeof c->measurement_type,
			       "platform-manifest");
		(void)snprintf(c->version, sizeof c->version, "%.31s", r->version);
		(void)snprintf(c->measurement_desc, sizeof c->measurement_desc, "sha-256");
		memcpy(c->measurement, r->manifest_digest, 32);
		c->measurement_len = 32;
		memcpy(c->signer_id, r->release_keyid, 32);
		c->signer_id_len = 32;
	}
	*n = k;
}

/* The measured boot's PCRs (config attest_pcrs) after the components,
 * each as "PCR<i>", its SHA-256 value, an all-zero signer ID: a verifier replays the
 * firmware's event log against them (docs/ATTESTATION.md). Read at each
 * platform check; PCRs 0-9 do not change after boot. A TPM that cannot
 * say leaves them out (audited): the token then lacks them, which a
 * verifier that asks for them refuses. */
static void pcr_components(vg_service *s, vg_psa_sw_component *out, size_t *n)
{
	uint8_t (*v)[32] = calloc(VG_ROT_PCRS, 32);
	char why[96];
	vg_rc rc;

	if (!s->cfg.attest_pcrs)
		goto out;
	rc = v ? vg_rot_pcr_read(s->rot, s->cfg.attest_pcrs, v) : VG_ERR_NOMEM;
	if (rc != VG_OK) {
		(void)snprintf(why, sizeof why, "the token goes without its PCRs: %s",
			       vg_rc_str(rc));
		vg_service_audit(s, &s->self, "rot.pcr_read", "failure", why);
		goto out;
	}
	for (unsigned i = 0; i < VG_ROT_PCRS; i++) {
		vg_psa_sw_component *c;
		if (!(s->cfg.attest_pcrs & (1u << i)))
			continue;
		c = &out[(*n)++];
		memset(c, 0, sizeof *c);
		(void)snprintf(c->measurement_type, sizeof c->measurement_type, "PCR%u", i);
		(void)snprintf(c->measurement_desc, sizeof c->measurement_desc, "sha-256");
		memcpy(c->measurement, v[i], 32);
		c->measurement_len = 32;
		/* The profile asks for a signer ID; a register has none that
		 * voxguard knows: all zero says so. */
		c->signer_id_len = 32;
	}
out:
	free(v);
}

vg_rc vg_service_platform_check(vg_service *s)
{
	vg_secinit_input in = {.manifest_path = s->cfg.manifest, .root = ""};
	const vg_platform *p;
	uint8_t *key = NULL, *minv = NULL;
	size_t key_len = 0, minv_len = 0;
	vg_rc rc = VG_OK;
	char detail[VG_MANIFEST_WHY_LEN + 96];
	bool again = s->platform != NULL;

	if (s->sealed)
		return VG_OK; /* recovery, for as long as the process runs (open_sealed) */
	p = vg_identity_platform(s->identity);
	if (!s->platform) {
		s->platform = calloc(1, sizeof *s->platform);
		if (!s->platform)
			return VG_ERR_NOMEM;
	}
	if (vg_secstore_state(s->store) != VG_OK) {
		/* A refused store cannot say whether a release key exists; it
		 * already refuses every application key and record, which is
		 * what recovery would do. */
		memset(s->platform, 0, sizeof *s->platform);
		s->platform->state = VG_PLATFORM_UNVERIFIED;
		(void)snprintf(s->platform->reason, sizeof s->platform->reason,
			       "not checked: the sealed store is refused (rollback or integrity)");
	} else {
		rc = vg_sysrec_get(s->store, VG_SYS_RELEASE_KEY, &key, &key_len);
		if (rc == VG_OK || rc == VG_ERR_NOT_FOUND) {
			/* The same minimum as the update decision: the larger of
			 * the record and the RoT counter (a power cut between
			 * raising the counter and the record leaves only the
			 * counter knowing it). */
			vg_rc r2 = vg_sysrec_min_secver(s->store, s->rot, &in.min_security_version);
			if (r2 == VG_ERR_TIMEOUT && again) {
				/* A TPM that does not answer says nothing about the
				 * platform: a re-check fails and the state of the
				 * last check stands (rot.timeout is audited). At
				 * start, the first check goes to recovery below. */
				vg_free(key, key_len);
				return r2;
			}
			if (r2 != VG_OK)
				rc = r2;
		}
		if (rc == VG_OK || rc == VG_ERR_NOT_FOUND) {
			in.release_key = rc == VG_OK ? key : NULL;
			in.release_key_len = key_len;
			if (p) {
				in.oem = p->oem;
				in.model = p->model;
				in.hw_rev = p->hw_rev;
			}
			rc = vg_secinit_check(&in, s->platform);
		} else {
			memset(s->platform, 0, sizeof *s->platform);
			s->platform->state = VG_PLATFORM_RECOVERY;
			(void)snprintf(s->platform->reason, sizeof s->platform->reason,
				       "the release key record cannot be read: %s", vg_rc_str(rc));
			rc = VG_OK;
		}
	}
	vg_free(key, key_len);
	vg_free(minv, minv_len);
	if (rc != VG_OK)
		return rc;
	/* SFR 4.2.5/4.2.9: the outcome, and each failing component, audited. */
	for (size_t i = 0; i < s->platform->n; i++)
		if (s->platform->res[i].rc != VG_OK) {
			(void)snprintf(detail, sizeof detail, "component %s: %s",
				       s->platform->comp[i].name, s->platform->res[i].why);
			vg_service_audit(s, &s->self, "platform.component", "failure", detail);
		}
	if (s->platform->state == VG_PLATFORM_NORMAL)
		(void)snprintf(detail, sizeof detail,
			       "normal: platform %s, security version %llu, "
			       "%zu components verified",
			       s->platform->version,
			       (unsigned long long)s->platform->security_version, s->platform->n);
	else
		(void)snprintf(detail, sizeof detail, "%s: %s",
			       vg_platform_state_name(s->platform->state), s->platform->reason);
	vg_service_audit(s, &s->self, "platform.verify",
			 s->platform->state == VG_PLATFORM_NORMAL     ? "success"
			 : s->platform->state == VG_PLATFORM_RECOVERY ? "failure"
								      : "skipped",
			 detail);
	if (s->platform->state != VG_PLATFORM_UNVERIFIED) {
		vg_psa_sw_component comps[VG_PSA_MAX_COMPONENTS];
		size_t n = 0;
		report_components(s->platform, comps, &n);
		rc = vg_identity_set_components(s->identity, comps, n);
	}
	if (rc == VG_OK && s->cfg.attest_pcrs) {
		vg_psa_sw_component *regs = calloc(VG_ROT_PCRS, sizeof *regs);
		size_t n = 0;
		if (!regs)
			return VG_ERR_NOMEM;
		pcr_components(s, regs, &n);
		rc = vg_identity_set_registers(s->identity, regs, n);
		free(regs);
	}
	return rc;
}

bool vg_service_in_recovery(const vg_service *s)
{
	return s->platform && s->platform->state == VG_PLATFORM_RECOVERY;
}

bool vg_service_recovery_serves(const vg_service *s, const struct vg_op_def *def)
{
	if (!vg_service_in_recovery(s))
		return true;
	if (s->sealed) /* the root key did not open: nothing it protects can answer */
		return def->op == VG_OP_STATUS || def->op == VG_OP_PLATFORM_VERIFY;
	return (def->flags & VG_OPF_RECOVERY) != 0;
}

/*
 * The root key did not open in this boot (vg_rot_sealed_why): everything
 * above the root of trust stays closed, the database is not opened, and
 * the platform is in recovery with the reason, so that status and
 * verify-platform say why the voice application does not start. A boot
 * the OEM signed for opens everything as it was.
 */
static vg_rc open_sealed(vg_service *s)
{
	const char *why = vg_rot_sealed_why(s->rot);

	s->sealed = true;
	s->platform = calloc(1, sizeof *s->platform);
	if (!s->platform)
		return VG_ERR_NOMEM;
	s->platform->state = VG_PLATFORM_RECOVERY;
	(void)snprintf(s->platform->reason, sizeof s->platform->reason,
		       "the root key does not open: %s", why ? why : "?");
	vg_service_audit(s, &s->self, "service.start", "success",
			 "voxguard " VG_VERSION_STRING ", in recovery: the root key is sealed");
	vg_service_audit(s, &s->self, "rot.sealed", "failure", why);
	vg_service_audit(s, &s->self, "platform.verify", "failure", s->platform->reason);
	return VG_OK;
}

/* Secure initialization (SFR 4.2.5): with a release key provisioned, the
 * components come from the signed platform manifest. */
static vg_rc open_identity(vg_service *s)
{
	uint8_t *key = NULL;
	size_t key_len = 0;
	bool has_key = vg_secstore_state(s->store) == VG_OK &&
		       vg_sysrec_get(s->store, VG_SYS_RELEASE_KEY, &key, &key_len) == VG_OK;
	vg_rc rc;

	vg_free(key, key_len);
	/* The manifest's components are measured by vg_service_platform_check(),
	 * once the audit log is open. */
	rc = has_key ? vg_identity_open(&s->identity, s->store, s->ks, s->rot, NULL, NULL, 0)
		     : open_identity_unverified(s);
	return rc;
}

#define RESET_MARKER "reset.pending"

#define MARKER_PATH_MAX (PATH_MAX + 32)

static void marker_path(const vg_service *s, char out[MARKER_PATH_MAX])
{
	(void)snprintf(out, MARKER_PATH_MAX, "%s/%s", s->state_dir, RESET_MARKER);
}

bool vg_service_reset_button(const vg_service *s)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	bool pressed;

	if (!s->cfg.reset_button[0] || vg_read_file(s->cfg.reset_button, 64, &buf, &len) != VG_OK)
		return false;
	pressed = len >= 1 && buf[0] == '1';
	vg_free(buf, len);
	return pressed;
}

void vg_service_set_debug(vg_service *s, bool unlocked)
{
	if (unlocked) {
		/* debug.unlocked was set by vg_debug_unlock */
	} else {
		vg_debug_lock(&s->debug);
	}
	vg_secstore_seal_away(s->store, unlocked);
	vg_keystore_forget(s->ks);
	vg_identity_set_debug(s->identity, unlocked);
}

/* Steps 2.. of the reset: each idempotent, so a resumed reset reruns them. */
static vg_rc reset_steps(vg_service *s, const vg_peer *peer, const char *trigger)
{
	char path[MARKER_PATH_MAX], detail[256], head_hex[17];
	uint8_t head[32];
	uint64_t old_next = 0;
	vg_rc rc;

	rc = vg_secstore_crypto_erase(s->store, true);
	vg_keystore_forget(s->ks);
	if (rc != VG_OK)
		return rc;
	if (s->admin)
		vg_adminsvc_reset(s->admin);
	if (s->debug.unlocked)
		vg_service_set_debug(s, false);
	rc = vg_audit_truncate(s->audit, &old_next, head);
	if (rc != VG_OK)
		return rc;
	vg_hex_encode(head, 8, head_hex);
	(void)snprintf(detail, sizeof detail,
		       "factory reset (%s): user data crypto-erased; previous log ended before "
		       "seq %llu, head %s...",
		       trigger, (unsigned long long)old_next, head_hex);
	vg_service_audit(s, peer, "factory.reset", "success", detail);
	/* The SDK's encrypted state (after the truncation, so that its
	 * records stay): its key out of the kernel, a new directory under a
	 * key from the new erase secret. Audited; a failure does not stop the
	 * reset: the old key is gone with the old erase secret either way. */
	VG_IGNORE(vg_sdkstate_reset(s, peer));
	rc = vg_audit_checkpoint(s->audit);
	if (rc != VG_OK)
		return rc;
	marker_path(s, path);
	if (unlink(path) != 0 && errno != ENOENT)
		return VG_ERR_IO;
	return vg_fsync_dir_of(path);
}

static bool marker_read(const vg_service *s, char *out, size_t cap)
{
	char path[MARKER_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;

	marker_path(s, path);
	if (access(path, F_OK) != 0)
		return false;
	out[0] = '\0';
	if (vg_read_file(path, 256, &buf, &len) == VG_OK) {
		size_t n = 0;
		while (n < len && n + 1 < cap && buf[n] >= 0x20 && buf[n] < 0x7f) {
			out[n] = (char)buf[n];
			n++;
		}
		out[n] = '\0';
	}
	vg_free(buf, len);
	return true;
}

static vg_rc open_upper(vg_service *s, bool resume, char *err, size_t err_len);

/*
 * A factory reset from a refused store (rollback or integrity error): it
 * only erases, so it is safe whatever the state, and it is the way back
 * for a device in the field (docs/FIELD.md). The store is accepted as the
 * device's from now on (vg_secstore_accept: new erase secret, user data
 * deleted, unauthentic records dropped, re-anchored to the RoT), then
 * everything above it is opened afresh on the accepted store and the
 * ordinary reset steps run from the marker, as after an interruption.
 */
static vg_rc reset_refused(vg_service *s, const vg_peer *peer, const char *trigger)
{
	char path[MARKER_PATH_MAX], text[200], err[256] = "";
	uint64_t dropped = 0;
	vg_rc from = vg_db_state(s->db), rc;

	(void)snprintf(text, sizeof text, "%s, from a refused store (%s), uid %u", trigger,
		       from == VG_ERR_ROLLBACK ? "rollback" : "integrity error", peer->uid);
	marker_path(s, path);
	rc = vg_write_file_atomic(path, text, strlen(text), 0600);
	if (rc != VG_OK)
		return rc;
	vg_adminsvc_close(&s->admin);
	rc = vg_secstore_accept(s->store, &dropped);
	vg_keystore_forget(s->ks);
	if (rc != VG_OK)
		return rc;
	if (dropped)
		(void)fprintf(stderr,
			      "voxguardd: factory reset: %llu unauthentic service records "
			      "dropped\n",
			      (unsigned long long)dropped);
	vg_audit_close(&s->audit);
	vg_identity_close(&s->identity);
	rc = open_upper(s, false, err, sizeof err);
	if (rc != VG_OK) {
		(void)fprintf(stderr, "voxguardd: factory reset: %s\n", err);
		return rc;
	}
	return reset_steps(s, peer, text);
}

vg_rc vg_service_factory_reset(vg_service *s, const vg_peer *peer, const char *trigger)
{
	char path[MARKER_PATH_MAX];
	vg_rc rc = vg_db_state(s->db);

	if (rc != VG_OK)
		return reset_refused(s, peer, trigger);
	/* A reset always works (SFR 4.2.12): on a full disk the marker and
	 * the erase secret are written into the storage reserve; the
	 * database's own steps release it themselves when they need it. */
	vg_reserve_for_duty(s->reserve);
	marker_path(s, path);
	rc = vg_write_file_atomic(path, trigger, strlen(trigger), 0600);
	if (rc != VG_OK && vg_reserve_release(s->reserve))
		rc = vg_write_file_atomic(path, trigger, strlen(trigger), 0600);
	if (rc != VG_OK)
		return rc;
	return reset_steps(s, peer, trigger);
}

/* Everything above the store: identity, audit log, platform check, admin
 * credentials; then a factory reset left pending is completed. Run at
 * open, and again after a reset from a refused store. */
static vg_rc open_upper(vg_service *s, bool resume, char *err, size_t err_len)
{
	const vg_config *cfg = &s->cfg;
	uint8_t *der = NULL;
	size_t der_len = 0;
	vg_audit_opts aopts = {0};
	vg_rc rc, state;

	rc = open_identity(s);
	if (rc != VG_OK) {
		(void)snprintf(err, err_len, "platform identity: %s", vg_rc_str(rc));
		return rc;
	}
	state = vg_db_state(s->db);
	aopts.checkpoint_every = cfg->audit_checkpoint_every;
	aopts.max_records = cfg->audit_max_records;
	aopts.max_bytes = cfg->audit_max_bytes;
	aopts.rate_per_s = cfg->audit_rate_per_s;
	aopts.burst = cfg->audit_burst;
	if (state == VG_OK) {
		rc = audit_key(s, &der, &der_len);
		if (rc != VG_OK) {
			(void)snprintf(err, err_len, "audit signing key: %s", vg_rc_str(rc));
			return rc;
		}
	}
	/* In a refused state the log stays in memory and on stderr: writing
	 * to a rolled-back database would launder it (see db.h). */
	rc = vg_audit_open(&s->audit, s->db, &aopts, state == VG_OK ? audit_sign : NULL, s, der,
			   der_len);
	vg_free(der, der_len);
	if (rc != VG_OK) {
		(void)snprintf(err, err_len, "audit log: %s", vg_rc_str(rc));
		return rc;
	}
	vg_service_audit(s, &s->self, "service.start", "success", "voxguard " VG_VERSION_STRING);
	/* A provisioning record that exists but does not read (the store
	 * itself accepted): the lifecycle is unknown and provisioning refused
	 * (identity.h). A refused store has its own event below. */
	if (state == VG_OK && vg_identity_unknown(s->identity) != VG_OK)
		vg_service_audit(s, &s->self, "identity.unreadable", "failure",
				 vg_identity_unknown_why(s->identity));
	rc = vg_service_platform_check(s);
	if (rc != VG_OK) {
		(void)snprintf(err, err_len, "platform verification: %s", vg_rc_str(rc));
		return rc;
	}
	vg_update_at_start(s); /* a reboot after an activation: trial or fallback */
	if (state == VG_OK)
		seal_config(s);
	if (state == VG_ERR_ROLLBACK)
		vg_service_audit(s, &s->self, "store.rollback", "failure",
				 "database older than the root of trust counter; records refused");
	else if (state != VG_OK)
		vg_service_audit(s, &s->self, "store.integrity", "failure",
				 "record set or meta does not verify; records refused");
	if (state == VG_OK) {
		rc = vg_adminsvc_open(&s->admin, s->store, s->identity, cfg->admin_pw_cost,
				      cfg->admin_session_s);
		if (rc != VG_OK) {
			(void)snprintf(err, err_len, "admin credentials: %s", vg_rc_str(rc));
			return rc;
		}
	}
	VG_IGNORE(vg_audit_flush(s->audit));
	if (state == VG_OK) {
		char trigger[256], what[300];
		if (resume && marker_read(s, trigger, sizeof trigger)) {
			/* A reset was cut short (or is being completed from a
			 * refused store): finish it before serving. */
			(void)snprintf(what, sizeof what, "%s; resumed after an interruption",
				       trigger[0] ? trigger : "interrupted");
			rc = reset_steps(s, &s->self, what);
			if (rc != VG_OK) {
				(void)snprintf(err, err_len,
					       "completing the interrupted factory "
					       "reset: %s",
					       vg_rc_str(rc));
				return rc;
			}
		}
		vg_sdkstate_open(s);
	}
	return VG_OK;
}

vg_rc vg_service_open(vg_service **out, const char *state_dir, const vg_config *cfg, char *err,
		      size_t err_len)
{
	vg_service *s = calloc(1, sizeof *s);
	char path[PATH_MAX];
	vg_rc rc;

	*out = NULL;
	if (!s)
		return VG_ERR_NOMEM;
	s->cfg = *cfg;
	s->self.uid = (uint32_t)geteuid();
	s->self.gid = (uint32_t)getegid();
	s->self.pid = (int32_t)getpid();
	s->started_ms = vg_mono_ms();
	if (strlen(state_dir) >= sizeof s->state_dir - 32) {
		(void)snprintf(err, err_len, "state dir path too long");
		rc = VG_ERR_INVALID;
		goto fail;
	}
	strcpy(s->state_dir, state_dir);
	rc = vg_state_dir_check(state_dir, geteuid(), err, err_len);
	if (rc != VG_OK)
		goto fail;
	rc = vg_policy_init(&s->policy, cfg, err, err_len);
	if (rc != VG_OK)
		goto fail;
	rc = vg_budget_table_init(&s->budgets, cfg, s->self.uid, err, err_len);
	if (rc != VG_OK)
		goto fail;
	{
		const vg_rot_opts ro = {.param = cfg->rot_param,
					.timeout_ms = cfg->rot_timeout_ms,
					.policy_key = cfg->rot_policy_key,
					.policy = cfg->rot_policy,
					.open_sealed = true};
		rc = vg_rot_open_opts(&s->rot, cfg->rot, state_dir, &ro);
	}
	if (rc != VG_OK) {
		(void)snprintf(err, err_len, "root of trust '%s': %s%s", cfg->rot, vg_rc_str(rc),
			       rc == VG_ERR_UNSUPPORTED && cfg->rot_policy_key[0]
				   ? " (rot_policy_key needs rot = tpm2)"
				   : "");
		goto fail;
	}
	if (vg_rot_sealed_why(s->rot)) {
		rc = open_sealed(s);
		if (rc != VG_OK) {
			(void)snprintf(err, err_len, "recovery start: %s", vg_rc_str(rc));
			goto fail;
		}
		*out = s;
		return VG_OK;
	}
	(void)snprintf(path, sizeof path, "%s/%s", state_dir, VG_DB_FILE);
	rc = vg_db_open(&s->db, path, s->rot);
	if (rc == VG_OK)
		vg_db_set_rot_sync_ms(s->db, cfg->rot_sync_ms);
	/* Space for the service's duties on a full disk (storage/reserve.h). */
	if (rc == VG_OK)
		rc = vg_reserve_open(&s->reserve, state_dir, cfg->storage_reserve_bytes);
	if (rc == VG_OK)
		vg_db_set_reserve(s->db, s->reserve);
	if (rc == VG_OK)
		rc = vg_secstore_open(&s->store, s->db);
	if (rc == VG_OK)
		rc = vg_keystore_open(&s->ks, s->store);
	if (rc != VG_OK) {
		(void)snprintf(err, err_len, "database %s: %s", path, vg_rc_str(rc));
		goto fail;
	}
	{
		/* A reset from a refused store that was cut short: accept the
		 * store again (idempotent) before anything else opens. */
		char why[200];
		uint64_t dropped = 0;
		if (vg_db_state(s->db) != VG_OK && marker_read(s, why, sizeof why) &&
		    strstr(why, "from a refused store")) {
			rc = vg_secstore_accept(s->store, &dropped);
			if (rc != VG_OK) {
				(void)snprintf(err, err_len, "completing the factory reset: %s",
					       vg_rc_str(rc));
				goto fail;
			}
		}
	}
	rc = open_upper(s, true, err, err_len);
	if (rc != VG_OK)
		goto fail;
	*out = s;
	return VG_OK;
fail:
	vg_service_close(&s);
	return rc;
}

void vg_service_close(vg_service **ps)
{
	vg_service *s;

	if (!ps || !*ps)
		return;
	s = *ps;
	if (s->sealed || s->audit)
		vg_service_audit(s, &s->self, "service.stop", "success", NULL);
	vg_audit_close(&s->audit); /* flushes and seals */
	vg_adminsvc_close(&s->admin);
	vg_identity_close(&s->identity);
	vg_keystore_close(&s->ks);
	vg_secstore_close(&s->store);
	vg_db_close(&s->db);
	vg_reserve_close(&s->reserve);
	vg_rot_close(&s->rot);
	vg_budget_rate_free(&s->write_rate);
	vg_budget_rate_free(&s->read_rate);
	vg_ep_seen_free(&s->ep_seen);
	vg_dtok_table_free(&s->display_tokens);
	free(s->platform);
	free(s);
	*ps = NULL;
}
