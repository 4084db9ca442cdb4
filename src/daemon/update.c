/*
 * update.c - the service side of A/B updates (contract in update.h).
 */
#include "daemon/update.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "common/util.h"
#include "crypto/wrap.h"
#include "update/bundle.h"
#include "update/tuf.h"

struct ustate {
	char state[16]; /* idle, installing, installed, activated, trial */
	char bundle[65];
	char version[64];
	uint64_t secver;
	char target; /* 'a' or 'b' */
	char boot_id[48];
	char last[200];
};

#define say vg_why

/* ---- persistent state: a small JSON object, sealed ---- */

static bool copy_text(const json_t *o, const char *k, char *out, size_t cap)
{
	const char *v = json_string_value(json_object_get(o, k));

	if (!v || strlen(v) >= cap)
		return false;
	strcpy(out, v);
	return true;
}

static vg_rc load_state(vg_service *s, struct ustate *u)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	json_t *o;
	char t[2] = "";
	vg_rc rc;

	memset(u, 0, sizeof *u);
	strcpy(u->state, "idle");
	rc = vg_sysrec_get(s->store, VG_SYS_UPDATE_STATE, &buf, &len);
	if (rc == VG_ERR_NOT_FOUND)
		return VG_OK;
	if (rc != VG_OK)
		return rc;
	o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	vg_free(buf, len);
	rc = VG_ERR_INTEGRITY;
	if (o && copy_text(o, "state", u->state, sizeof u->state) &&
	    copy_text(o, "bundle", u->bundle, sizeof u->bundle) &&
	    copy_text(o, "version", u->version, sizeof u->version) &&
	    copy_text(o, "target", t, sizeof t) &&
	    copy_text(o, "boot_id", u->boot_id, sizeof u->boot_id) &&
	    copy_text(o, "last", u->last, sizeof u->last) &&
	    json_is_integer(json_object_get(o, "secver")) &&
	    json_integer_value(json_object_get(o, "secver")) >= 0) {
		u->secver = (uint64_t)json_integer_value(json_object_get(o, "secver"));
		u->target = t[0];
		rc = VG_OK;
	}
	json_decref(o);
	return rc;
}

static vg_rc save_state(vg_service *s, const struct ustate *u)
{
	char t[2] = {u->target, 0};
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "state", u->state, "bundle",
			      u->bundle, "version", u->version, "secver", (json_int_t)u->secver,
			      "target", t, "boot_id", u->boot_id, "last", u->last);
	char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	vg_rc rc =
	    txt ? vg_sysrec_put(s->store, VG_SYS_UPDATE_STATE, (const uint8_t *)txt, strlen(txt))
		: VG_ERR_NOMEM;

	free(txt);
	json_decref(o);
	return rc;
}

/* ---- the running slot, the boot, the minimum ---- */

char vg_update_booted_slot(const char *c, size_t len)
{
	static const char key[] = "voxguard.slot=";
	const size_t kl = sizeof key - 1;

	for (size_t i = 0; i + kl < len; i++) {
		if ((i == 0 || c[i - 1] == ' ' || c[i - 1] == '\t') &&
		    memcmp(c + i, key, kl) == 0) {
			char v = c[i + kl];
			bool end = i + kl + 1 == len || c[i + kl + 1] == ' ' ||
				   c[i + kl + 1] == '\n' || c[i + kl + 1] == '\t';
			return (v == 'a' || v == 'b') && end ? v : 0;
		}
	}
	return 0;
}

static char booted(const vg_service *s)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char slot = 0;

	if (vg_read_file(s->cfg.boot_cmdline, 4096, &buf, &len) == VG_OK)
		slot = vg_update_booted_slot((const char *)buf, len);
	vg_free(buf, len);
	return slot;
}

static void boot_id(const vg_service *s, char out[48])
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;

	out[0] = '\0';
	if (vg_read_file(s->cfg.boot_id, 64, &buf, &len) == VG_OK) {
		while (n < len && n < 47 && buf[n] != '\n' && buf[n] >= 0x20 && buf[n] < 0x7f)
			n++;
		memcpy(out, buf, n);
		out[n] = '\0';
	}
	vg_free(buf, len);
}

static vg_rc min_secver(vg_service *s, uint64_t *out)
{
	return vg_sysrec_min_secver(s->store, s->rot, out);
}

static vg_rc raise_secver(vg_service *s, uint64_t to)
{
	return vg_sysrec_raise_secver(s->store, s->rot, to);
}

static vg_rc unwrap_cb(void *ctx, const uint8_t kid[32], const uint8_t *epk, size_t epk_len,
		       const uint8_t wrapped[40], uint8_t cek[32])
{
	vg_service *s = ctx;
	vg_rc rc = vg_keystore_unwrap(s->ks, VG_OWNER_SERVICE, VG_UPDATE_KEY_NAME, kid, epk,
				      epk_len, wrapped, cek);

	if (rc == VG_ERR_NOT_FOUND)
		rc = vg_keystore_unwrap(s->ks, VG_OWNER_SERVICE, VG_UPDATE_FLEET_NAME, kid, epk,
					epk_len, wrapped, cek);
	return rc;
}

static void event(vg_service *s, const vg_peer *peer, const char *type, bool ok, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));
static void event(vg_service *s, const vg_peer *peer, const char *type, bool ok, const char *fmt,
		  ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	vg_service_audit(s, peer, type, ok ? "success" : "failure", detail);
}

static bool configured(const vg_service *s, vg_slot_map *m, char *why, size_t cap)
{
	if (!s->cfg.update_slots[0] || vg_config_slots(s->cfg.update_slots, m) != VG_OK) {
		(void)say(why, cap, VG_ERR_STATE,
			  "updates are not configured on this device: set update_slots and "
			  "bootloader in voxguardd.conf (docs/UPDATE.md)");
		return false;
	}
	if (strcmp(s->cfg.bootloader, "uboot") != 0 && !s->cfg.bootloader_param[0]) {
		(void)say(why, cap, VG_ERR_STATE,
			  "bootloader_param is not set: the %s bootloader needs the path of its "
			  "environment (docs/BOOTLOADER.md)",
			  s->cfg.bootloader);
		return false;
	}
	return true;
}

static void add_slots(vg_msgb *out, const vg_slot_map *m, char slot, bool *failed)
{
	cbor_item_t *arr = cbor_new_definite_array(m->n);

	if (!arr) {
		*failed = true;
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		cbor_item_t *e = cbor_new_definite_map(2);
		if (!e) {
			*failed = true;
			break;
		}
		vg_map_add_text(e, VG_A_NAME, m->e[i].image, failed);
		vg_map_add_text(e, VG_A_PATH, m->e[i].path[slot == 'b'], failed);
		if (!cbor_array_push(arr, e))
			*failed = true;
		cbor_decref(&e);
	}
	vg_msgb_item(out, VG_A_SLOTS, arr);
}

static void add_boot(const vg_service *s, vg_msgb *out)
{
	vg_msgb_text(out, VG_A_BOOTLOADER, s->cfg.bootloader);
	vg_msgb_text(out, VG_A_BOOT_PARAM, s->cfg.bootloader_param);
	vg_msgb_uint(out, VG_A_TRIES, s->cfg.boot_tries);
}

/* ---- begin: decide on a bundle ---- */

static vg_rc begin(vg_service *s, const vg_peer *peer, const vg_msg *in, vg_msgb *out, char *why,
		   size_t cap)
{
	vg_bundle_policy p = {0};
	const vg_platform *plat = vg_identity_platform(s->identity);
	const uint8_t *m = NULL;
	uint8_t *key = NULL, id[32], cek[32];
	size_t mlen = 0, key_len = 0;
	char bwhy[VG_BUNDLE_WHY_LEN] = "", hex[65], me, target;
	struct ustate u;
	vg_slot_map map;
	vg_bundle *b = NULL;
	bool resume, failed = false;
	vg_rc rc;

	if (!configured(s, &map, why, cap))
		return VG_ERR_STATE;
	rc = vg_msg_bytes(in, VG_A_MANIFEST, &m, &mlen);
	if (rc != VG_OK)
		return say(why, cap, VG_ERR_INVALID, "missing the bundle manifest");
	rc = load_state(s, &u);
	if (rc != VG_OK)
		return say(why, cap, rc, "the update state record cannot be read: %s",
			   vg_rc_str(rc));
	me = booted(s);
	if (!me)
		return say(why, cap, VG_ERR_STATE,
			   "the running slot is unknown: the kernel command line (%s) has no "
			   "voxguard.slot=a|b; install the boot script (docs/BOOTLOADER.md)",
			   s->cfg.boot_cmdline);
	if (!strcmp(u.state, "trial"))
		return say(why, cap, VG_ERR_STATE,
			   "version %s is on trial in slot %c: confirm it (voxguard update "
			   "mark-good) or reboot to fall back before the next update",
			   u.version, u.target);
	if (!strcmp(u.state, "activated"))
		return say(why, cap, VG_ERR_STATE,
			   "version %s is activated in slot %c and waits for a reboot", u.version,
			   u.target);
	rc = vg_sysrec_get(s->store, VG_SYS_RELEASE_KEY, &key, &key_len);
	if (rc == VG_ERR_NOT_FOUND)
		return say(why, cap, VG_ERR_STATE,
			   "no release key provisioned: `voxguard provision --release-key` at the "
			   "factory first");
	if (rc != VG_OK)
		return say(why, cap, rc, "the release key cannot be read");
	p.release_key = key;
	p.release_key_len = key_len;
	if (plat && plat->oem[0]) {
		p.oem = plat->oem;
		p.model = plat->model;
		p.hw_rev = plat->hw_rev;
	}
	rc = min_secver(s, &p.min_security_version);
	p.unwrap = unwrap_cb;
	p.unwrap_ctx = s;
	if (rc == VG_OK)
		rc = vg_bundle_open_manifest(&b, m, mlen, &p, bwhy);
	if (rc != VG_OK) {
		(void)say(why, cap, rc, "%s", bwhy[0] ? bwhy : vg_rc_str(rc));
		event(s, peer, "update.failed", false, "refused: %s", why);
		goto out;
	}
	for (size_t i = 0; i < vg_bundle_n_images(b); i++) {
		const char *name = vg_bundle_image(b, i)->name;
		bool found = false;
		for (size_t k = 0; k < map.n && !found; k++)
			found = strcmp(map.e[k].image, name) == 0;
		if (!found) {
			rc = say(why, cap, VG_ERR_NOT_FOUND,
				 "the bundle has an image '%s' and this device has no slot for it "
				 "(update_slots)",
				 name);
			event(s, peer, "update.failed", false, "refused: %s", why);
			goto out;
		}
	}
	if (vg_bundle_security_version(b) - p.min_security_version > VG_ROT_SECVER_MAX_STEP) {
		/* Each step is one NV write in a TPM: keep raises small. */
		rc = say(why, cap, VG_ERR_INVALID,
			 "security version %" PRIu64
			 " jumps more than %u above the device's %" PRIu64
			 ": raise security versions in small steps",
			 vg_bundle_security_version(b), (unsigned)VG_ROT_SECVER_MAX_STEP,
			 p.min_security_version);
		event(s, peer, "update.failed", false, "refused: %s", why);
		goto out;
	}
	target = me == 'a' ? 'b' : 'a';
	vg_bundle_id(b, id);
	vg_hex_encode(id, 32, hex);
	resume = (!strcmp(u.state, "installing") || !strcmp(u.state, "installed")) &&
		 !strcmp(u.bundle, hex) && u.target == target;
	strcpy(u.state, "installing");
	strcpy(u.bundle, hex);
	(void)snprintf(u.version, sizeof u.version, "%s", vg_bundle_version(b));
	u.secver = vg_bundle_security_version(b);
	u.target = target;
	u.boot_id[0] = '\0';
	rc = save_state(s, &u);
	if (rc != VG_OK) {
		(void)say(why, cap, rc, "the update state cannot be recorded");
		goto out;
	}
	event(s, peer, "update.requested", true,
	      "version %s, security version %" PRIu64 ", bundle %.16s, into slot %c%s%s", u.version,
	      u.secver, hex, target, resume ? " (resuming)" : "",
	      vg_bundle_encrypted(b) ? ", encrypted" : "");
	event(s, peer, "update.verified", true,
	      "bundle %.16s: release-key signature, product and security version %" PRIu64
	      " >= %" PRIu64 " verified%s",
	      hex, u.secver, p.min_security_version,
	      vg_bundle_encrypted(b) ? "; content key unwrapped" : "");
	vg_msgb_text(out, VG_A_SLOT, (char[]){target, 0});
	vg_msgb_text(out, VG_A_BOOTED, (char[]){me, 0});
	vg_msgb_text(out, VG_A_BUNDLE, hex);
	vg_msgb_uint(out, VG_A_RESUME, resume);
	vg_msgb_uint(out, VG_A_SECVER, p.min_security_version);
	vg_msgb_bytes(out, VG_A_RELEASE_KEY, key, key_len);
	add_slots(out, &map, target, &failed);
	add_boot(s, out);
	if (vg_bundle_cek(b, cek)) {
		vg_msgb_bytes(out, VG_A_CEK, cek, sizeof cek);
		vg_wipe(cek, sizeof cek);
	}
	if (failed)
		rc = VG_ERR_NOMEM;
out:
	vg_bundle_close(&b);
	vg_free(key, key_len);
	return rc;
}

/* ---- report: the agent's progress ---- */

static vg_rc report(vg_service *s, const vg_peer *peer, const vg_msg *in, char *why, size_t cap)
{
	char stage[16], detail[160] = "", bundle[65] = "";
	struct ustate u;
	vg_rc rc;

	if (vg_msg_text(in, VG_A_STAGE, stage, sizeof stage) != VG_OK ||
	    vg_msg_text(in, VG_A_BUNDLE, bundle, sizeof bundle) != VG_OK)
		return say(why, cap, VG_ERR_INVALID, "a stage and a bundle ID are required");
	rc = vg_msg_text(in, VG_A_MSG, detail, sizeof detail);
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
		return say(why, cap, VG_ERR_INVALID, "detail too long or not text");
	for (char *c = detail; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	rc = load_state(s, &u);
	if (rc != VG_OK)
		return say(why, cap, rc, "the update state record cannot be read");
	if (strcmp(u.bundle, bundle) != 0 || !strcmp(u.state, "idle"))
		return say(why, cap, VG_ERR_STATE, "no update of bundle %.16s is in progress",
			   bundle);
	if (!strcmp(stage, "downloaded") && !strcmp(u.state, "installing")) {
		event(s, peer, "update.downloaded", true, "bundle %.16s version %s: %s", bundle,
		      u.version, detail);
		return VG_OK;
	}
	if (!strcmp(stage, "written") && !strcmp(u.state, "installing")) {
		strcpy(u.state, "installed");
		rc = save_state(s, &u);
		if (rc == VG_OK)
			event(s, peer, "update.written", true,
			      "version %s written to slot %c, every chunk verified: %s", u.version,
			      u.target, detail);
		return rc;
	}
	if (!strcmp(stage, "activated") && !strcmp(u.state, "installed")) {
		strcpy(u.state, "activated");
		boot_id(s, u.boot_id);
		rc = save_state(s, &u);
		if (rc == VG_OK)
			event(s, peer, "update.activated", true,
			      "slot %c (version %s) boots next with %u attempts; the running slot "
			      "stays the fallback",
			      u.target, u.version, s->cfg.boot_tries);
		return rc;
	}
	if (!strcmp(stage, "failed") && strcmp(u.state, "trial") != 0) {
		(void)snprintf(u.last, sizeof u.last, "version %.63s failed: %.110s", u.version,
			       detail);
		strcpy(u.state, "idle");
		rc = save_state(s, &u);
		event(s, peer, "update.failed", false, "version %s into slot %c: %s", u.version,
		      u.target, detail);
		return rc;
	}
	return say(why, cap, VG_ERR_STATE, "stage '%s' does not follow state '%s'", stage, u.state);
}

/* ---- start, confirm, status, keys ---- */

void vg_update_at_start(vg_service *s)
{
	struct ustate u;
	char now[48], me;

	if (vg_secstore_state(s->store) != VG_OK || load_state(s, &u) != VG_OK ||
	    (strcmp(u.state, "activated") != 0 && strcmp(u.state, "trial") != 0))
		return;
	boot_id(s, now);
	if (!strcmp(now, u.boot_id))
		return; /* the service restarted, the device did not */
	me = booted(s);
	if (me == u.target) {
		if (!strcmp(u.state, "trial"))
			return; /* another trial boot: the bootloader counts them */
		strcpy(u.state, "trial");
		if (save_state(s, &u) == VG_OK)
			event(s, &s->self, "update.booted", true,
			      "version %s booted from slot %c: on trial until mark-good", u.version,
			      u.target);
		return;
	}
	/* Back on the old slot: the new one did not come up healthy within
	 * its attempts, and the bootloader fell back. */
	(void)snprintf(u.last, sizeof u.last,
		       "version %s failed: slot %c did not boot healthy, the bootloader fell back "
		       "to slot %c",
		       u.version, u.target, me ? me : '?');
	strcpy(u.state, "idle");
	if (save_state(s, &u) == VG_OK)
		event(s, &s->self, "update.failed", false, "%s", u.last);
}

static vg_rc confirm(vg_service *s, const vg_peer *peer, vg_msgb *out, char *why, size_t cap)
{
	struct ustate u;
	uint64_t minv = 0;
	char me = booted(s);
	vg_rc rc = load_state(s, &u);

	if (rc != VG_OK)
		return say(why, cap, rc, "the update state record cannot be read");
	if (!me)
		return say(why, cap, VG_ERR_STATE,
			   "the running slot is unknown: no voxguard.slot= on the kernel command "
			   "line (docs/BOOTLOADER.md)");
	if (!strcmp(u.state, "activated"))
		return say(why, cap, VG_ERR_STATE,
			   "version %s is activated but not booted yet: reboot first", u.version);
	if (!strcmp(u.state, "trial") && u.target == me) {
		rc = raise_secver(s, u.secver);
		if (rc != VG_OK)
			return say(why, cap, rc, "the minimum security version cannot be raised");
		(void)snprintf(u.last, sizeof u.last, "version %s confirmed in slot %c", u.version,
			       me);
		strcpy(u.state, "idle");
		rc = save_state(s, &u);
		if (rc != VG_OK)
			return rc;
		if (min_secver(s, &minv) != VG_OK)
			minv = u.secver;
		event(s, peer, "update.confirmed", true,
		      "version %s good in slot %c; minimum security version now %" PRIu64,
		      u.version, me, minv);
		vg_msgb_text(out, VG_A_VERSION, u.version);
	}
	vg_msgb_text(out, VG_A_BOOTED, (char[]){me, 0});
	add_boot(s, out);
	return VG_OK;
}

static vg_rc status(vg_service *s, vg_msgb *out, char *why, size_t cap)
{
	struct ustate u;
	uint64_t minv = 0;
	char me = booted(s);
	vg_rc rc = load_state(s, &u);

	if (rc == VG_OK)
		rc = min_secver(s, &minv);
	if (rc != VG_OK)
		return say(why, cap, rc, "the update state cannot be read");
	vg_msgb_text(out, VG_A_STAGE, u.state);
	vg_msgb_text(out, VG_A_VERSION, u.version);
	vg_msgb_uint(out, VG_A_SECVER, minv);
	vg_msgb_text(out, VG_A_SLOT, (char[]){u.target, 0});
	vg_msgb_text(out, VG_A_BOOTED, (char[]){me, 0});
	vg_msgb_text(out, VG_A_BUNDLE, u.bundle);
	vg_msgb_text(out, VG_A_LAST, u.last);
	add_boot(s, out);
	return VG_OK;
}

static vg_rc pem_of(vg_service *s, const char *name, char **pem)
{
	uint8_t *p = NULL;
	size_t len = 0;
	vg_rc rc = vg_keystore_public(s->ks, VG_OWNER_SERVICE, name, true, &p, &len);

	*pem = NULL;
	if (rc != VG_OK)
		return rc;
	*pem = calloc(1, len + 1);
	if (*pem)
		memcpy(*pem, p, len);
	free(p);
	return *pem ? VG_OK : VG_ERR_NOMEM;
}

static vg_rc keys(vg_service *s, const vg_peer *peer, const vg_msg *in, vg_msgb *out, char *why,
		  size_t cap)
{
	const uint8_t *fleet = NULL;
	size_t flen = 0;
	char *pem = NULL;
	vg_rc rc = vg_msg_bytes(in, VG_A_DATA, &fleet, &flen);

	if (rc == VG_OK) {
		BIO *bio = flen <= 8192 ? BIO_new_mem_buf(fleet, (int)flen) : NULL;
		EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		rc = k ? vg_keystore_import(s->ks, VG_OWNER_SERVICE, VG_UPDATE_FLEET_NAME, k,
					    VG_KS_USE_UNWRAP)
		       : VG_ERR_INVALID;
		EVP_PKEY_free(k);
		if (rc == VG_ERR_EXISTS)
			return say(why, cap, rc, "a fleet update key is already installed");
		if (rc != VG_OK)
			return say(why, cap, rc, "the fleet key must be a PEM P-256 private key");
		event(s, peer, "update.fleet_key", true, "fleet update key installed");
	} else if (rc != VG_ERR_NOT_FOUND) {
		return rc;
	}
	rc = vg_keystore_create(s->ks, VG_OWNER_SERVICE, VG_UPDATE_KEY_NAME, VG_KEY_P256,
				VG_KS_USE_UNWRAP);
	if (rc == VG_OK)
		event(s, peer, "update.device_key", true, "device update key created");
	else if (rc != VG_ERR_EXISTS)
		return say(why, cap, rc, "the device update key cannot be created");
	rc = pem_of(s, VG_UPDATE_KEY_NAME, &pem);
	if (rc != VG_OK)
		return rc;
	vg_msgb_text(out, VG_A_PEM, pem);
	free(pem);
	if (pem_of(s, VG_UPDATE_FLEET_NAME, &pem) == VG_OK) {
		vg_msgb_text(out, VG_A_VALUE, pem);
		free(pem);
	}
	return VG_OK;
}

/* ---- the trusted TUF root ---- */

/* Reads the "version" and "expires" of root metadata already checked by
 * vg_tuf_set_new, for audit details. */
static uint64_t root_version(const uint8_t *root, size_t len)
{
	json_t *o = json_loadb((const char *)root, len, 0, NULL);
	json_int_t v = json_integer_value(json_object_get(json_object_get(o, "signed"), "version"));

	json_decref(o);
	return v > 0 ? (uint64_t)v : 0;
}

/* Without DATA: the root trusted now. With DATA: the first root (none
 * stored yet: it must carry its own threshold of signatures), or the next
 * version of the stored one, signed by a threshold of the stored root's
 * keys and of its own (the TUF root rotation, verified here: the agent's
 * word counts for nothing). Handing over the root already trusted is not
 * an error. */
static vg_rc tuf_root(vg_service *s, const vg_peer *peer, const vg_msg *in, vg_msgb *out, char *why,
		      size_t cap)
{
	const uint8_t *next = NULL;
	uint8_t *cur = NULL;
	size_t next_len = 0, cur_len = 0;
	char twhy[VG_TUF_WHY_LEN] = "";
	vg_tuf_set *set = NULL;
	vg_rc rc = vg_sysrec_get(s->store, VG_SYS_TUF_ROOT, &cur, &cur_len);
	vg_rc arg = vg_msg_bytes(in, VG_A_DATA, &next, &next_len);

	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
		return say(why, cap, rc, "the trusted TUF root cannot be read");
	if (arg == VG_ERR_NOT_FOUND) {
		if (rc == VG_ERR_NOT_FOUND)
			return say(why, cap, rc,
				   "no trusted TUF root: install the repository's root.json with "
				   "`voxguard update trust-root` (factory step, docs/UPDATE.md)");
		vg_msgb_bytes(out, VG_A_DATA, cur, cur_len);
		vg_free(cur, cur_len);
		return VG_OK;
	}
	if (arg != VG_OK || next_len > VG_TUF_ROOT_MAX) {
		vg_free(cur, cur_len);
		return say(why, cap, VG_ERR_INVALID, "the root metadata must be at most %u bytes",
			   VG_TUF_ROOT_MAX);
	}
	if (rc == VG_OK && cur_len == next_len && memcmp(cur, next, cur_len) == 0) {
		vg_msgb_bytes(out, VG_A_DATA, cur, cur_len);
		vg_free(cur, cur_len);
		return VG_OK; /* already the trusted one */
	}
	if (rc == VG_OK) {
		uint64_t from = root_version(cur, cur_len), to = root_version(next, next_len);
		/* The clearest reason first; vg_tuf_update_root checks it too. */
		if (to && to <= from) {
			vg_free(cur, cur_len);
			event(s, peer, "update.tuf_root", false,
			      "root version %" PRIu64
			      " refused: not newer than the trusted %" PRIu64,
			      to, from);
			return say(why, cap, VG_ERR_ROLLBACK,
				   "root version %" PRIu64
				   " is not newer than the trusted version %" PRIu64,
				   to, from);
		}
		if (to > from + 1) {
			vg_free(cur, cur_len);
			event(s, peer, "update.tuf_root", false,
			      "root version %" PRIu64 " refused: skips version %" PRIu64, to,
			      from + 1);
			return say(why, cap, VG_ERR_INVALID,
				   "root version %" PRIu64 " skips version %" PRIu64
				   ": hand over every root version in order",
				   to, from + 1);
		}
		rc = vg_tuf_set_new(&set, cur, cur_len, time(NULL), twhy);
		vg_free(cur, cur_len);
		if (rc != VG_OK)
			return say(why, cap, VG_ERR_INTEGRITY,
				   "the stored TUF root is unusable: %s", twhy);
		rc = vg_tuf_update_root(set, next, next_len, twhy);
		vg_tuf_set_free(&set);
		if (rc != VG_OK) {
			event(s, peer, "update.tuf_root", false,
			      "rotation from root version %" PRIu64 " refused: %s", from, twhy);
			return say(why, cap, rc, "root rotation refused: %s", twhy);
		}
		rc = vg_sysrec_put(s->store, VG_SYS_TUF_ROOT, next, next_len);
		if (rc != VG_OK)
			return say(why, cap, rc, "the new TUF root cannot be stored");
		event(s, peer, "update.tuf_root", true,
		      "trusted TUF root rotated from version %" PRIu64 " to %" PRIu64, from,
		      from + 1);
	} else {
		rc = vg_tuf_set_new(&set, next, next_len, time(NULL), twhy);
		vg_tuf_set_free(&set);
		if (rc != VG_OK) {
			event(s, peer, "update.tuf_root", false, "first root refused: %s", twhy);
			return say(why, cap, rc, "not a usable TUF root: %s", twhy);
		}
		rc = vg_sysrec_put(s->store, VG_SYS_TUF_ROOT, next, next_len);
		if (rc != VG_OK)
			return say(why, cap, rc, "the TUF root cannot be stored");
		event(s, peer, "update.tuf_root", true,
		      "trusted TUF root version %" PRIu64 " installed",
		      root_version(next, next_len));
	}
	vg_msgb_bytes(out, VG_A_DATA, next, next_len);
	return VG_OK;
}

bool vg_update_root_installed(vg_service *s)
{
	uint8_t *cur = NULL;
	size_t len = 0;
	vg_rc rc = vg_sysrec_get(s->store, VG_SYS_TUF_ROOT, &cur, &len);

	vg_free(cur, len);
	return rc == VG_OK;
}

vg_rc vg_update_handle(vg_service *s, const vg_peer *peer, vg_op op, const vg_msg *in, vg_msgb *out,
		       char *why, size_t cap)
{
	vg_rc rc = vg_secstore_state(s->store);

	why[0] = '\0';
	if (rc == VG_ERR_ROLLBACK) /* reqmgr leaves update rollbacks to us */
		event(s, peer, "store.rollback", false, "update request refused");
	if (rc != VG_OK)
		return say(why, cap, rc, "the sealed store is refused: no update decisions");
	switch (op) {
	case VG_OP_UPDATE_BEGIN:
		return begin(s, peer, in, out, why, cap);
	case VG_OP_UPDATE_REPORT:
		return report(s, peer, in, why, cap);
	case VG_OP_UPDATE_CONFIRM:
		return confirm(s, peer, out, why, cap);
	case VG_OP_UPDATE_STATUS:
		return status(s, out, why, cap);
	case VG_OP_UPDATE_KEY:
		return keys(s, peer, in, out, why, cap);
	case VG_OP_UPDATE_ROOT:
		return tuf_root(s, peer, in, out, why, cap);
	default:
		return VG_ERR_UNSUPPORTED;
	}
}
