/* config_client.c - libvoxguard: sealed configuration for applications
 * (AVS Device SDK rule 1), see include/voxguard/config.h. What the service
 * sends is outside bytes: lengths and types are checked before use. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client/client_int.h"
#include "common/util.h"
#include "voxguard/config.h"

static vg_rc named(vg_client *c, vg_msgb *b, const char *name)
{
	size_t n = name ? strnlen(name, VG_CONFIG_NAME_MAX + 1) : 0;
	vg_rc rc;

	if (!name || n > VG_CONFIG_NAME_MAX || !vg_name_valid(name, n)) {
		vg_client_set_error(c,
				    "configuration name: 1-%u of [A-Za-z0-9._-], not "
				    "starting with '.'",
				    VG_CONFIG_NAME_MAX);
		return VG_ERR_INVALID;
	}
	rc = vg_msgb_init(b);
	if (rc == VG_OK)
		vg_msgb_text(b, VG_A_NAME, name);
	return rc;
}

VG_EXPORT vg_rc vg_config_seal(vg_client *c, const char *name, uint32_t uid, const uint8_t *data,
			       size_t len)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	if (!data || len == 0 || len > VG_CONFIG_MAX_LEN) {
		vg_client_set_error(c, "a configuration holds 1 to %u bytes", VG_CONFIG_MAX_LEN);
		return VG_ERR_INVALID;
	}
	rc = named(c, &b, name);
	if (rc != VG_OK)
		return rc;
	vg_msgb_uint(&b, VG_A_OWNER, uid);
	vg_msgb_bytes(&b, VG_A_VALUE, data, len);
	rc = vg_client_call(c, VG_OP_CONFIG_SEAL, &b, &r);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_config_remove(vg_client *c, const char *name, uint32_t uid)
{
	vg_msgb b;
	vg_msg r;
	vg_rc rc = named(c, &b, name);

	if (rc != VG_OK)
		return rc;
	vg_msgb_uint(&b, VG_A_OWNER, uid);
	rc = vg_client_call(c, VG_OP_CONFIG_REMOVE, &b, &r);
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT void vg_config_free(uint8_t *data, size_t len)
{
	if (data)
		OPENSSL_cleanse(data, len);
	free(data);
}

VG_EXPORT vg_rc vg_config_get(vg_client *c, const char *name, uint8_t **data, size_t *len)
{
	const uint8_t *p;
	size_t n;
	vg_msgb b;
	vg_msg r;
	vg_rc rc;

	*data = NULL;
	*len = 0;
	rc = named(c, &b, name);
	if (rc != VG_OK)
		return rc;
	rc = vg_client_call(c, VG_OP_CONFIG_GET, &b, &r);
	if (rc == VG_OK &&
	    (vg_msg_bytes(&r, VG_A_VALUE, &p, &n) != VG_OK || n == 0 || n > VG_CONFIG_MAX_LEN)) {
		vg_client_set_error(c, "the service sent no configuration or one too large");
		rc = VG_ERR_PROTOCOL;
	}
	if (rc == VG_OK && !(*data = malloc(n)))
		rc = VG_ERR_NOMEM;
	if (rc == VG_OK) {
		memcpy(*data, p, n);
		*len = n;
		/* The reply's copy goes too (vg_msg_free does not wipe). */
		OPENSSL_cleanse((void *)p, n);
	}
	vg_msg_free(&r);
	return rc;
}

VG_EXPORT vg_rc vg_config_memfd_from(const char *name, const uint8_t *data, size_t len,
				     int keep_on_exec, int *fd)
{
	char label[VG_CONFIG_NAME_MAX + 16];
	size_t off = 0;
	int f;

	*fd = -1;
	if (!data || len == 0 || len > VG_CONFIG_MAX_LEN || !name)
		return VG_ERR_INVALID;
	(void)snprintf(label, sizeof label, "voxguard-config:%s", name);
	f = memfd_create(label, MFD_ALLOW_SEALING | (keep_on_exec ? 0u : MFD_CLOEXEC));
	if (f < 0)
		return errno == ENOMEM ? VG_ERR_NOMEM : VG_ERR_IO;
	while (off < len) {
		ssize_t w = write(f, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			(void)close(f);
			return VG_ERR_IO;
		}
		off += (size_t)w;
	}
	/* Nobody holding the descriptor (the application, a library it
	 * loads, a child it starts) can change what it reads. */
	if (fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
	    lseek(f, 0, SEEK_SET) != 0) {
		(void)close(f);
		return VG_ERR_IO;
	}
	*fd = f;
	return VG_OK;
}

VG_EXPORT vg_rc vg_config_memfd(vg_client *c, const char *name, int keep_on_exec, int *fd)
{
	uint8_t *data = NULL;
	size_t len = 0;
	vg_rc rc = vg_config_get(c, name, &data, &len);

	*fd = -1;
	if (rc == VG_OK) {
		rc = vg_config_memfd_from(name, data, len, keep_on_exec, fd);
		if (rc != VG_OK)
			vg_client_set_error(c, "cannot make a sealed memfd: %s", strerror(errno));
	}
	vg_config_free(data, len);
	return rc;
}

VG_EXPORT vg_rc vg_config_list(vg_client *c, vg_config_info **out, size_t *n)
{
	cbor_item_t *list, **items;
	vg_config_info *arr = NULL;
	size_t count = 0;
	vg_msgb b;
	vg_msg r;
	vg_rc rc = vg_msgb_init(&b);

	*out = NULL;
	*n = 0;
	if (rc != VG_OK)
		return rc;
	rc = vg_client_call(c, VG_OP_CONFIG_LIST, &b, &r);
	if (rc == VG_OK && (vg_msg_item(&r, VG_A_LIST, &list) != VG_OK || !cbor_isa_array(list) ||
			    (count = cbor_array_size(list)) > VG_CONFIG_MAX_COUNT))
		rc = VG_ERR_PROTOCOL;
	if (rc == VG_OK && !(arr = calloc(count ? count : 1, sizeof *arr)))
		rc = VG_ERR_NOMEM;
	items = rc == VG_OK ? cbor_array_handle(list) : NULL;
	for (size_t i = 0; rc == VG_OK && i < count; i++) {
		cbor_item_t *it;
		uint64_t v;

		if (!cbor_isa_map(items[i]) || vg_map_get(items[i], VG_A_NAME, &it) != VG_OK ||
		    !cbor_isa_string(it) || !cbor_string_is_definite(it) ||
		    cbor_string_length(it) == 0 || cbor_string_length(it) > VG_CONFIG_NAME_MAX) {
			rc = VG_ERR_PROTOCOL;
			break;
		}
		memcpy(arr[i].name, cbor_string_handle(it), cbor_string_length(it));
		if (strlen(arr[i].name) != cbor_string_length(it) ||
		    !vg_name_valid(arr[i].name, strlen(arr[i].name)) ||
		    vg_map_get(items[i], VG_A_OWNER, &it) != VG_OK || !cbor_isa_uint(it) ||
		    (v = cbor_get_int(it)) > UINT32_MAX) {
			rc = VG_ERR_PROTOCOL;
			break;
		}
		arr[i].uid = (uint32_t)v;
		if (vg_map_get(items[i], VG_A_SIZE, &it) != VG_OK || !cbor_isa_uint(it) ||
		    (arr[i].size = cbor_get_int(it)) > VG_CONFIG_MAX_LEN ||
		    vg_map_get(items[i], VG_A_SHA256, &it) != VG_OK || !cbor_isa_bytestring(it) ||
		    !cbor_bytestring_is_definite(it) || cbor_bytestring_length(it) != 32) {
			rc = VG_ERR_PROTOCOL;
			break;
		}
		memcpy(arr[i].sha256, cbor_bytestring_handle(it), 32);
	}
	if (rc == VG_ERR_PROTOCOL)
		vg_client_set_error(c, "the service sent a malformed configuration list");
	vg_msg_free(&r);
	if (rc != VG_OK) {
		free(arr);
		return rc;
	}
	*out = arr;
	*n = count;
	return VG_OK;
}
