/* rot.c - backend dispatch; see rot.h */
#include "rot/rot.h"

#include <string.h>

#include "common/util.h"

vg_rc vg_rot_open(vg_rot **out, const char *name, const char *state_dir, const char *param)
{
	return vg_rot_open_bounded(out, name, state_dir, param, VG_ROT_TIMEOUT_MS_DEFAULT);
}

vg_rc vg_rot_open_bounded(vg_rot **out, const char *name, const char *state_dir, const char *param,
			  uint32_t timeout_ms)
{
	const vg_rot_opts o = {.param = param, .timeout_ms = timeout_ms};

	return vg_rot_open_opts(out, name, state_dir, &o);
}

vg_rc vg_rot_open_opts(vg_rot **out, const char *name, const char *state_dir, const vg_rot_opts *o)
{
	*out = NULL;
	if (o->timeout_ms < VG_ROT_TIMEOUT_MS_MIN || o->timeout_ms > VG_ROT_TIMEOUT_MS_MAX)
		return VG_ERR_INVALID;
	if (!name || strcmp(name, "file") == 0)
		return o->policy_key && *o->policy_key ? VG_ERR_UNSUPPORTED
						       : vg_rot_file_open(out, state_dir);
	if (strcmp(name, "tpm2") == 0)
		return vg_rot_tpm2_open_opts(out, state_dir, o);
	return VG_ERR_UNSUPPORTED;
}

void vg_rot_health_get(vg_rot *r, vg_rot_health *h)
{
	memset(h, 0, sizeof *h);
	h->answering = true;
	if (r->ops->health)
		r->ops->health(r, h);
}

void vg_rot_close(vg_rot **r)
{
	if (!r || !*r)
		return;
	(*r)->ops->close(*r);
	*r = NULL;
}

/* A handle whose root key stayed sealed (vg_rot_sealed_why) refuses what
 * needs the key or changes the device, whatever the backend: checked
 * here, once, for each of those calls. */
static bool sealed(const vg_rot *r)
{
	return r->ops->sealed_why && r->ops->sealed_why(r);
}

vg_rc vg_rot_derive(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
		    uint8_t out[static VG_KEY_LEN])
{
	if (sealed(r))
		return VG_ERR_STATE;
	return r->ops->derive(r, label, ctx, ctx_len, out);
}

vg_rc vg_rot_counter_read(vg_rot *r, uint64_t *value)
{
	if (sealed(r))
		return VG_ERR_STATE; /* read through a base sealed with the key */
	return r->ops->counter_read(r, value);
}

vg_rc vg_rot_counter_advance(vg_rot *r, uint64_t value)
{
	if (sealed(r))
		return VG_ERR_STATE;
	return r->ops->counter_advance(r, value);
}

vg_rc vg_rot_counter_start(vg_rot *r, uint64_t value, bool *done)
{
	vg_rc rc;

	*done = false;
	if (sealed(r))
		return VG_ERR_STATE;
	if (r->ops->counter_start)
		return r->ops->counter_start(r, value, done);
	rc = r->ops->counter_advance(r, value);
	*done = rc == VG_OK;
	return rc;
}

vg_rc vg_rot_random(vg_rot *r, uint8_t *buf, size_t len)
{
	return r->ops->random(r, buf, len);
}

vg_rc vg_rot_measure(vg_rot *r, const char *what, const uint8_t digest[static 32])
{
	return r->ops->measure ? r->ops->measure(r, what, digest) : VG_ERR_UNSUPPORTED;
}

vg_rc vg_rot_pcr_read(vg_rot *r, uint32_t mask, uint8_t out[][32])
{
	if (mask == 0 || (VG_ROT_PCRS < 32 && (mask >> VG_ROT_PCRS) != 0))
		return VG_ERR_INVALID;
	return r->ops->pcr_read ? r->ops->pcr_read(r, mask, out) : VG_ERR_UNSUPPORTED;
}

vg_rc vg_rot_erase_secret(vg_rot *r, bool rotate, uint8_t out[static VG_KEY_LEN])
{
	if (sealed(r)) {
		/* Neither read (user data stays closed) nor rotated (a boot the
		 * OEM did not sign cannot erase the device's data). */
		vg_wipe(out, VG_KEY_LEN);
		return VG_ERR_STATE;
	}
	return r->ops->erase_secret ? r->ops->erase_secret(r, rotate, out) : VG_ERR_UNSUPPORTED;
}

vg_rc vg_rot_secver_read(vg_rot *r, uint64_t *value)
{
	*value = 0;
	return r->ops->secver_read ? r->ops->secver_read(r, value) : VG_ERR_UNSUPPORTED;
}

vg_rc vg_rot_secver_advance(vg_rot *r, uint64_t value)
{
	if (sealed(r))
		return VG_ERR_STATE;
	return r->ops->secver_advance ? r->ops->secver_advance(r, value) : VG_ERR_UNSUPPORTED;
}

const char *vg_rot_sealed_why(const vg_rot *r)
{
	return r && r->ops->sealed_why ? r->ops->sealed_why(r) : NULL;
}

const char *vg_rot_name(const vg_rot *r)
{
	return r->ops->name;
}

bool vg_rot_is_dev(const vg_rot *r)
{
	return r->ops->is_dev;
}
