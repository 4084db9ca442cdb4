/* rc.c - error strings and small public helpers of libvoxguard */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "voxguard/voxguard.h"

VG_EXPORT const char *vg_rc_str(vg_rc rc)
{
	switch (rc) {
	case VG_OK:
		return "success";
	case VG_ERR_INVALID:
		return "invalid argument";
	case VG_ERR_NOMEM:
		return "out of memory";
	case VG_ERR_IO:
		return "I/O error";
	case VG_ERR_NOT_FOUND:
		return "not found";
	case VG_ERR_EXISTS:
		return "already exists";
	case VG_ERR_DENIED:
		return "permission denied";
	case VG_ERR_POLICY:
		return "operation not allowed by the key's usage policy";
	case VG_ERR_INTEGRITY:
		return "integrity error";
	case VG_ERR_ROLLBACK:
		return "rollback detected: older than what the device already trusts";
	case VG_ERR_CRYPTO:
		return "cryptographic operation failed";
	case VG_ERR_PROTOCOL:
		return "protocol error";
	case VG_ERR_TOO_LARGE:
		return "too large";
	case VG_ERR_UNAVAILABLE:
		return "service unavailable";
	case VG_ERR_VERIFY_FAILED:
		return "verification failed";
	case VG_ERR_UNSUPPORTED:
		return "not supported";
	case VG_ERR_INTERNAL:
		return "internal error";
	case VG_ERR_AUTH_REQUIRED:
		return "admin authentication required: log in with `voxguard admin login`";
	case VG_ERR_AUTH_FAILED:
		return "authentication failed";
	case VG_ERR_LOCKED:
		return "too many failed attempts: locked, try again later";
	case VG_ERR_STATE:
		return "not allowed in the device's current state";
	case VG_ERR_QUOTA:
		return "quota exceeded";
	case VG_ERR_UNTRUSTED:
		return "the socket is not served by the voxguard service";
	case VG_ERR_REPLAY:
		return "replayed or too old";
	case VG_ERR_TRUNCATED:
		return "truncated: the stream ended before its final frame";
	case VG_ERR_TIMEOUT:
		return "the root of trust (TPM) did not answer in time (rot_timeout_ms): "
		       "operations that need it fail until it answers";
	}
	return "unknown error";
}

VG_EXPORT void vg_free(void *p, size_t len)
{
	if (p) {
		vg_wipe(p, len);
		free(p);
	}
}

VG_EXPORT void vg_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const struct {
	const char *name;
	vg_key_type type;
	uint32_t allowed;
} key_types[] = {
    /* A P-256 key can receive audio streams (issue 13) unless its usage
     * says otherwise. */
    {"p256", VG_KEY_P256, VG_USE_SIGN | VG_USE_VERIFY | VG_USE_DERIVE},
    {"ed25519", VG_KEY_ED25519, VG_USE_SIGN | VG_USE_VERIFY},
    {"aes256", VG_KEY_AES256, VG_USE_ENCRYPT | VG_USE_DECRYPT},
    {"hmac256", VG_KEY_HMAC256, VG_USE_MAC | VG_USE_VERIFY},
    {"p384", VG_KEY_P384, VG_USE_SIGN | VG_USE_VERIFY},
    {"x25519", VG_KEY_X25519, VG_USE_DERIVE},
};

VG_EXPORT vg_key_type vg_key_type_from_str(const char *s)
{
	for (size_t i = 0; s && i < VG_ARRAY_LEN(key_types); i++)
		if (strcmp(s, key_types[i].name) == 0)
			return key_types[i].type;
	return (vg_key_type)0;
}

VG_EXPORT const char *vg_key_type_str(vg_key_type t)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(key_types); i++)
		if (key_types[i].type == t)
			return key_types[i].name;
	return "unknown";
}

VG_EXPORT uint32_t vg_key_type_usage_allowed(vg_key_type t)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(key_types); i++)
		if (key_types[i].type == t)
			return key_types[i].allowed;
	return 0;
}
