/* rot.c - backend dispatch; see rot.h */
#include "rot/rot.h"

#include <string.h>

vg_rc vg_rot_open(vg_rot **out, const char *name, const char *state_dir, const char *param)
{
	*out = NULL;
	if (!name || strcmp(name, "file") == 0)
		return vg_rot_file_open(out, state_dir);
	if (strcmp(name, "tpm2") == 0)
		return vg_rot_tpm2_open(out, state_dir, param);
	return VG_ERR_UNSUPPORTED;
}

void vg_rot_close(vg_rot **r)
{
	if (!r || !*r)
		return;
	(*r)->ops->close(*r);
	*r = NULL;
}

vg_rc vg_rot_derive(vg_rot *r, const char *label, const uint8_t *ctx, size_t ctx_len,
		    uint8_t out[static VG_KEY_LEN])
{
	return r->ops->derive(r, label, ctx, ctx_len, out);
}

vg_rc vg_rot_counter_read(vg_rot *r, uint64_t *value)
{
	return r->ops->counter_read(r, value);
}

vg_rc vg_rot_counter_advance(vg_rot *r, uint64_t value)
{
	return r->ops->counter_advance(r, value);
}

vg_rc vg_rot_random(vg_rot *r, uint8_t *buf, size_t len)
{
	return r->ops->random(r, buf, len);
}

vg_rc vg_rot_measure(vg_rot *r, const char *what, const uint8_t digest[static 32])
{
	return r->ops->measure ? r->ops->measure(r, what, digest) : VG_ERR_UNSUPPORTED;
}

vg_rc vg_rot_erase_secret(vg_rot *r, bool rotate, uint8_t out[static VG_KEY_LEN])
{
	return r->ops->erase_secret ? r->ops->erase_secret(r, rotate, out) : VG_ERR_UNSUPPORTED;
}

vg_rc vg_rot_secver_read(vg_rot *r, uint64_t *value)
{
	*value = 0;
	return r->ops->secver_read ? r->ops->secver_read(r, value) : VG_ERR_UNSUPPORTED;
}

vg_rc vg_rot_secver_advance(vg_rot *r, uint64_t value)
{
	return r->ops->secver_advance ? r->ops->secver_advance(r, value) : VG_ERR_UNSUPPORTED;
}

const char *vg_rot_name(const vg_rot *r)
{
	return r->ops->name;
}

bool vg_rot_is_dev(const vg_rot *r)
{
	return r->ops->is_dev;
}
