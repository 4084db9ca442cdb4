/*
 * voxguard/config.h - sealed configuration for applications (AVS Device
 * SDK rule 1: protect configuration such as AlexaClientSDKConfig.json from
 * tampering and inspection; SFR 4.2.4 note 1; docs/PRIVACY.md).
 *
 * An admin (with a session) seals a configuration file into the service's
 * secure storage for one uid: the application that runs as that uid, and
 * no other, reads it back at start, over the service's socket, into its
 * own memory or a sealed memfd. It never lies in the clear on disk: the
 * service keeps it encrypted and authenticated under the root of trust,
 * like every record, and a factory reset erases it with the user data.
 * Sealing, replacing and removing are audited (config.seal,
 * config.remove); a uid that asks for a configuration not sealed for it is
 * refused and audited (config.denied).
 *
 * Names are those of records (1-64 of [A-Za-z0-9._-], not starting with
 * '.'), e.g. "AlexaClientSDKConfig.json"; a configuration holds at most
 * VG_CONFIG_MAX_LEN bytes, and the device at most VG_CONFIG_MAX_COUNT of
 * them (VG_CONFIG_MAX_TOTAL bytes in all).
 */
#ifndef VOXGUARD_CONFIG_H
#define VOXGUARD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "voxguard/voxguard.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VG_CONFIG_NAME_MAX  64u
#define VG_CONFIG_MAX_LEN   (1024u * 1024u)
#define VG_CONFIG_MAX_COUNT 64u
#define VG_CONFIG_MAX_TOTAL (8u * 1024u * 1024u)

/* One sealed configuration as config.list shows it (never its content). */
typedef struct vg_config_info {
	char name[VG_CONFIG_NAME_MAX + 1];
	uint32_t uid; /* the only uid that may read it */
	uint64_t size;
	uint8_t sha256[32];
} vg_config_info;

/* Seals data (len bytes, 1..VG_CONFIG_MAX_LEN) as configuration `name`
 * for uid, replacing one of that name and uid. An admin with a session. */
VG_EXPORT VG_NODISCARD vg_rc vg_config_seal(vg_client *c, const char *name, uint32_t uid,
					    const uint8_t *data, size_t len);
/* Removes it (VG_ERR_NOT_FOUND if there is none). An admin with a session. */
VG_EXPORT VG_NODISCARD vg_rc vg_config_remove(vg_client *c, const char *name, uint32_t uid);

/* The caller's own configuration `name`: *data is callee-allocated
 * (*len bytes); release it with vg_config_free(), which wipes it. On
 * failure *data is NULL. VG_ERR_DENIED when none is sealed for the
 * caller's uid under that name (whether another uid has one or not). */
VG_EXPORT VG_NODISCARD vg_rc vg_config_get(vg_client *c, const char *name, uint8_t **data,
					   size_t *len);
VG_EXPORT void vg_config_free(uint8_t *data, size_t len);

/* The same, as a memfd that cannot change any more (sealed against write,
 * grow and shrink, and against further seals), positioned at 0 and
 * close-on-exec unless keep_on_exec. An application that reads its
 * configuration from a path opens "/proc/self/fd/<fd>". The caller owns
 * *fd (-1 on failure). */
VG_EXPORT VG_NODISCARD vg_rc vg_config_memfd(vg_client *c, const char *name, int keep_on_exec,
					     int *fd);
/* What vg_config_memfd() does with bytes already in hand: a sealed memfd
 * named `name` holding data. */
VG_EXPORT VG_NODISCARD vg_rc vg_config_memfd_from(const char *name, const uint8_t *data, size_t len,
						  int keep_on_exec, int *fd);

/* The configurations the caller may read (an admin: all of them).
 * *out is callee-allocated (*n entries), freed with free(). */
VG_EXPORT VG_NODISCARD vg_rc vg_config_list(vg_client *c, vg_config_info **out, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
