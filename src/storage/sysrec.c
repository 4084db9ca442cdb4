/* sysrec.c - see sysrec.h */
#include "storage/sysrec.h"

#include "common/util.h"

#define SYS_NS "sys"

static const char *const names[] = {
    [VG_SYS_IDENTITY] = "identity",
    [VG_SYS_SETUP_CODE] = "setup-code",
    [VG_SYS_IDENTITY_CERT] = "identity-cert",
    [VG_SYS_RELEASE_KEY] = "release-key",
    [VG_SYS_DEBUG_KEY] = "debug-key",
    [VG_SYS_MIN_SECVER] = "min-security-version",
    [VG_SYS_TUF_ROOT] = "tuf-root",
    [VG_SYS_UPDATE_STATE] = "update-state",
    [VG_SYS_ADMIN_THROTTLE] = "auth-throttle",
    [VG_SYS_CONFIG] = "config",
};

const char *vg_sysrec_name(vg_sysrec rec)
{
	return (size_t)rec < VG_ARRAY_LEN(names) && names[rec] ? names[rec] : "invalid";
}

vg_rc vg_sysrec_get(vg_secstore *st, vg_sysrec rec, uint8_t **val, size_t *len)
{
	if ((size_t)rec >= VG_ARRAY_LEN(names))
		return VG_ERR_INTERNAL;
	return vg_secstore_get(st, SYS_NS, names[rec], val, len);
}

vg_rc vg_sysrec_put(vg_secstore *st, vg_sysrec rec, const uint8_t *val, size_t len)
{
	if ((size_t)rec >= VG_ARRAY_LEN(names))
		return VG_ERR_INTERNAL;
	return vg_secstore_put(st, SYS_NS, names[rec], val, len);
}

vg_rc vg_sysrec_delete(vg_secstore *st, vg_sysrec rec)
{
	if ((size_t)rec >= VG_ARRAY_LEN(names))
		return VG_ERR_INTERNAL;
	return vg_secstore_delete(st, SYS_NS, names[rec]);
}

vg_rc vg_sysrec_min_secver(vg_secstore *st, vg_rot *rot, uint64_t *out)
{
	uint8_t *v = NULL;
	size_t len = 0;
	uint64_t rec = 0, ctr = 0;
	vg_rc rc = vg_sysrec_get(st, VG_SYS_MIN_SECVER, &v, &len);

	*out = 0;
	if (rc == VG_OK && len == 8)
		for (int i = 0; i < 8; i++)
			rec = rec << 8 | v[i];
	else if (rc == VG_OK)
		rc = VG_ERR_INTEGRITY;
	vg_free(v, len);
	if (rc != VG_OK && rc != VG_ERR_NOT_FOUND)
		return rc;
	rc = vg_rot_secver_read(rot, &ctr);
	if (rc != VG_OK && rc != VG_ERR_UNSUPPORTED)
		return rc;
	*out = rec > ctr ? rec : ctr;
	return VG_OK;
}

vg_rc vg_sysrec_raise_secver(vg_secstore *st, vg_rot *rot, uint64_t to)
{
	uint8_t v[8];
	uint64_t cur = 0;
	vg_rc rc = vg_sysrec_min_secver(st, rot, &cur);

	if (rc != VG_OK || to <= cur)
		return rc;
	/* The RoT counter may lag the record (a device that had the record
	 * before the counter existed): catch up in steps it accepts. */
	for (;;) {
		uint64_t ctr = 0, step;
		rc = vg_rot_secver_read(rot, &ctr);
		if (rc == VG_ERR_UNSUPPORTED || (rc == VG_OK && ctr >= to))
			break;
		if (rc != VG_OK)
			return rc;
		step = to - ctr > VG_ROT_SECVER_MAX_STEP ? ctr + VG_ROT_SECVER_MAX_STEP : to;
		rc = vg_rot_secver_advance(rot, step);
		if (rc != VG_OK)
			return rc;
	}
	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(to >> (56 - 8 * i));
	return vg_sysrec_put(st, VG_SYS_MIN_SECVER, v, sizeof v);
}
