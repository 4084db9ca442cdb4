/*
 * secinit.c - measured launch against the signed platform manifest
 * (contract in secinit.h).
 */
#include "platform/secinit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

const char *vg_platform_state_name(vg_platform_state s)
{
	switch (s) {
	case VG_PLATFORM_NORMAL:
		return "normal";
	case VG_PLATFORM_RECOVERY:
		return "recovery";
	case VG_PLATFORM_UNVERIFIED:
	default:
		return "unverified";
	}
}

static vg_rc recovery(vg_secinit_report *out, const char *why)
{
	size_t n = strnlen(why, sizeof out->reason - 1);

	out->state = VG_PLATFORM_RECOVERY;
	memcpy(out->reason, why, n); /* truncated to fit, NUL from memset */
	out->reason[n] = '\0';
	return VG_OK;
}

vg_rc vg_secinit_check(const vg_secinit_input *in, vg_secinit_report *out)
{
	vg_manifest *m;
	uint8_t *buf = NULL;
	size_t len = 0, failed;
	unsigned int dl = 0;
	char why[VG_MANIFEST_WHY_LEN + 64];
	vg_rc rc;

	memset(out, 0, sizeof *out);
	if (!in->release_key) {
		out->state = VG_PLATFORM_UNVERIFIED;
		(void)snprintf(out->reason, sizeof out->reason,
			       "no release key provisioned: the platform is not verified");
		return VG_OK;
	}
	if (vg_manifest_keyid(in->release_key, in->release_key_len, out->release_keyid) != VG_OK)
		return VG_ERR_CRYPTO;
	if (!in->manifest_path || !in->manifest_path[0])
		return recovery(out, "a release key is provisioned but no platform manifest is "
				     "configured (manifest = PATH in voxguardd.conf)");
	rc = vg_read_file(in->manifest_path, VG_MANIFEST_MAX_BYTES, &buf, &len);
	if (rc != VG_OK) {
		(void)snprintf(why, sizeof why, "platform manifest %s: %s", in->manifest_path,
			       rc == VG_ERR_TOO_LARGE ? "too large"
			       : rc == VG_ERR_DENIED
				   ? "permission denied (voxguardd reads it as its own user: make "
				     "it readable by that user, e.g. mode 0644)"
				   : vg_rc_str(rc));
		return recovery(out, why);
	}
	(void)EVP_Digest(buf, len, out->manifest_digest, &dl, EVP_sha256(), NULL);
	m = calloc(1, sizeof *m);
	if (!m) {
		vg_free(buf, len);
		return VG_ERR_NOMEM;
	}
	rc = vg_manifest_parse(buf, len, m, why);
	vg_free(buf, len);
	if (rc != VG_OK) {
		char w[sizeof why + 24];
		(void)snprintf(w, sizeof w, "platform manifest: %.*s", (int)VG_MANIFEST_WHY_LEN, why);
		free(m);
		return recovery(out, w);
	}
	if (vg_manifest_verify(m, in->release_key, in->release_key_len) != VG_OK) {
		free(m);
		return recovery(out, "platform manifest: not signed by the device's release key");
	}
	if (m->oem[0] && in->oem &&
	    (strcmp(m->oem, in->oem) != 0 || strcmp(m->model, in->model) != 0 ||
	     strcmp(m->hw_rev, in->hw_rev) != 0)) {
		(void)snprintf(why, sizeof why,
			       "platform manifest is for %s %s rev %s, this device is %s %s rev %s",
			       m->oem, m->model, m->hw_rev, in->oem, in->model, in->hw_rev);
		free(m);
		return recovery(out, why);
	}
	(void)snprintf(out->version, sizeof out->version, "%s", m->version);
	out->security_version = m->security_version;
	if (m->security_version < in->min_security_version) {
		(void)snprintf(why, sizeof why,
			       "platform manifest security version %llu is below the device's "
			       "minimum %llu (a downgrade)",
			       (unsigned long long)m->security_version,
			       (unsigned long long)in->min_security_version);
		free(m);
		return recovery(out, why);
	}
	out->manifest_ok = true;
	out->n = m->n;
	memcpy(out->comp, m->c, m->n * sizeof m->c[0]);
	failed = vg_manifest_measure(m, in->root, out->res);
	free(m);
	if (failed) {
		for (size_t i = 0; i < out->n; i++)
			if (out->res[i].rc != VG_OK) {
				(void)snprintf(why, sizeof why, "component %s: %.*s",
					       out->comp[i].name, (int)(sizeof why - 48),
					       out->res[i].why);
				break;
			}
		return recovery(out, why);
	}
	out->state = VG_PLATFORM_NORMAL;
	return VG_OK;
}
