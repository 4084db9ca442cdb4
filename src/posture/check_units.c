/*
 * check_units.c - `voxguard doctor` checks "voice" (the voice
 * application's unit: least privilege, AVS Device SDK) and "bluetooth"
 * (bluetoothd runs only under voxguard's Bluetooth enforcement, AVS
 * 1.9-1.12).
 *
 * The unit is read as systemd reads it: the first unit file found on the
 * unit path, then its drop-ins (NAME.d/ *.conf) by file name; the last
 * assignment of a key wins, and for the list settings
 * (SupplementaryGroups, CapabilityBoundingSet, AmbientCapabilities) an
 * empty assignment resets the list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "posture/doctor_int.h"

/* The unit names a device maker would give the voice application. */
static const char *const default_units[] = {
    "voice-app.service",      "avs-voice.service", "avs.service",
    "alexa.service",          "avs-sdk.service",   "sampleapp.service",
    "voice-assistant.service"};

struct unitv {
	char user[128], group[128], dynamic[16], nnp[16], protect[32];
	char groups[1024], caps[1024], ambient[1024], families[512], syscalls[1024];
	bool has_families, has_syscalls, has_caps;
};

static void list_add(char *list, size_t cap, const char *v)
{
	size_t l = strlen(list);

	if (!*v) {
		list[0] = '\0'; /* an empty assignment resets */
		return;
	}
	(void)snprintf(list + l, cap - l, "%s%s", l ? " " : "", v);
}

static void unit_kv(void *ctx, const char *k, const char *v)
{
	struct unitv *u = ctx;

	if (strcmp(k, "User") == 0)
		(void)snprintf(u->user, sizeof u->user, "%s", v);
	else if (strcmp(k, "Group") == 0)
		(void)snprintf(u->group, sizeof u->group, "%s", v);
	else if (strcmp(k, "DynamicUser") == 0)
		(void)snprintf(u->dynamic, sizeof u->dynamic, "%s", v);
	else if (strcmp(k, "NoNewPrivileges") == 0)
		(void)snprintf(u->nnp, sizeof u->nnp, "%s", v);
	else if (strcmp(k, "ProtectSystem") == 0)
		(void)snprintf(u->protect, sizeof u->protect, "%s", v);
	else if (strcmp(k, "SupplementaryGroups") == 0)
		list_add(u->groups, sizeof u->groups, v);
	else if (strcmp(k, "CapabilityBoundingSet") == 0) {
		u->has_caps = true;
		list_add(u->caps, sizeof u->caps, v);
	} else if (strcmp(k, "AmbientCapabilities") == 0)
		list_add(u->ambient, sizeof u->ambient, v);
	else if (strcmp(k, "RestrictAddressFamilies") == 0) {
		u->has_families = *v != '\0';
		(void)snprintf(u->families, sizeof u->families, "%s", v);
	} else if (strcmp(k, "SystemCallFilter") == 0) {
		u->has_syscalls = *v != '\0';
		(void)snprintf(u->syscalls, sizeof u->syscalls, "%s", v);
	}
}

static bool yes(const char *v)
{
	return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	       strcasecmp(v, "on") == 0;
}

/* Groups whose members hold broad rights: high ones make the user root in
 * all but name. */
static const struct {
	const char *name;
	vg_doc_sev sev;
	const char *why;
} broad[] = {
    {"root", VG_SEV_HIGH, "root's group"},
    {"sudo", VG_SEV_HIGH, "may run anything as root"},
    {"wheel", VG_SEV_HIGH, "may run anything as root"},
    {"admin", VG_SEV_HIGH, "may run anything as root"},
    {"disk", VG_SEV_HIGH, "raw access to every disk"},
    {"shadow", VG_SEV_HIGH, "reads the password hashes"},
    {"kmem", VG_SEV_HIGH, "reads kernel memory"},
    {"docker", VG_SEV_HIGH, "controls containers (root)"},
    {"lxd", VG_SEV_HIGH, "controls containers (root)"},
    {"adm", VG_SEV_MEDIUM, "reads the system logs"},
    {"systemd-journal", VG_SEV_MEDIUM, "reads the system logs"},
    {"input", VG_SEV_MEDIUM, "reads every input device (keyboards, buttons)"},
    {"tty", VG_SEV_MEDIUM, "writes to every terminal"},
    {"staff", VG_SEV_MEDIUM, "writes to /usr/local"},
    {"netdev", VG_SEV_MEDIUM, "configures the network"},
    {"plugdev", VG_SEV_MEDIUM, "mounts removable devices"},
    {"dialout", VG_SEV_MEDIUM, "drives serial ports and modems"},
};

static void check_groups(vg_doc_ctx *c, const char *path, const char *unit, const char *list)
{
	char buf[1200], *save = NULL;

	(void)snprintf(buf, sizeof buf, "%s", list);
	for (char *g = strtok_r(buf, " \t", &save); g; g = strtok_r(NULL, " \t", &save))
		for (size_t i = 0; i < VG_ARRAY_LEN(broad); i++)
			if (strcmp(g, broad[i].name) == 0 ||
			    (strcmp(broad[i].name, "root") == 0 && strcmp(g, "0") == 0)) {
				vg_doc_add(c, VG_DOC_VOICE, broad[i].sev, "voice.broad-group", path,
					   "%s runs in the group %s, which %s", unit, g,
					   broad[i].why);
				vg_doc_fix(c,
					   "drop the group from SupplementaryGroups=/Group=; give "
					   "the service access to the one device or file it "
					   "needs");
			}
}

static void check_unit(vg_doc_ctx *c, const char *unit, const char *path, const struct unitv *u)
{
	const char *p = path;

	if (!yes(u->dynamic) &&
	    (!u->user[0] || strcmp(u->user, "root") == 0 || strcmp(u->user, "0") == 0)) {
		vg_doc_add(c, VG_DOC_VOICE, VG_SEV_HIGH, "voice.root", p,
			   "%s runs as root (User=%s)", unit, u->user[0] ? u->user : " absent");
		vg_doc_fix(c, "User= a user of its own (and Group=), created by sysusers.d");
	}
	{
		char all[1200];
		(void)snprintf(all, sizeof all, "%s %s", u->group, u->groups);
		check_groups(c, p, unit, all);
	}
	if (!yes(u->nnp)) {
		vg_doc_add(c, VG_DOC_VOICE, VG_SEV_MEDIUM, "voice.no-new-privileges", p,
			   "%s may gain privileges through set-uid files (NoNewPrivileges=%s)",
			   unit, u->nnp[0] ? u->nnp : " absent");
		vg_doc_fix(c, "NoNewPrivileges=yes");
	}
	if (strcmp(u->protect, "strict") != 0) {
		vg_doc_add(c, VG_DOC_VOICE, VG_SEV_MEDIUM, "voice.protect-system", p,
			   "%s may write to the system's files (ProtectSystem=%s)", unit,
			   u->protect[0] ? u->protect : " absent");
		vg_doc_fix(c, "ProtectSystem=strict, with StateDirectory= for what it writes");
	}
	if (!u->has_caps || u->caps[0]) {
		vg_doc_add(c, VG_DOC_VOICE, VG_SEV_MEDIUM, "voice.capabilities", p,
			   "%s keeps capabilities in its bounding set (CapabilityBoundingSet=%s)",
			   unit, u->has_caps ? u->caps : " absent: all of them");
		vg_doc_fix(c, "CapabilityBoundingSet= (empty)");
	}
	if (u->ambient[0]) {
		vg_doc_add(c, VG_DOC_VOICE, VG_SEV_MEDIUM, "voice.ambient-capabilities", p,
			   "%s is given capabilities (AmbientCapabilities=%s)", unit, u->ambient);
		vg_doc_fix(c, "AmbientCapabilities= (empty)");
	}
	if (!u->has_families) {
		vg_doc_add(c, VG_DOC_VOICE, VG_SEV_MEDIUM, "voice.address-families", p,
			   "%s may open sockets of any address family (no "
			   "RestrictAddressFamilies=)",
			   unit);
		vg_doc_fix(c, "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6");
	}
	if (!u->has_syscalls) {
		vg_doc_add(c, VG_DOC_VOICE, VG_SEV_MEDIUM, "voice.syscall-filter", p,
			   "%s may make every system call (no SystemCallFilter=)", unit);
		vg_doc_fix(c, "SystemCallFilter=@system-service");
	}
}

void vg_doc_check_voice(vg_doc_ctx *c)
{
	const vg_doc_opts *o = c->o;
	size_t n = o->n_units ? o->n_units : VG_ARRAY_LEN(default_units), found = 0;
	char names[512] = "";

	for (size_t i = 0; i < n; i++) {
		const char *unit = o->n_units ? o->units[i] : default_units[i];
		struct unitv *u = calloc(1, sizeof *u);
		char path[VG_DOC_MAX_PATH], abs[VG_DOC_MAX_PATH + 1];

		if (!u) {
			vg_doc_state_set(c, VG_DOC_VOICE, VG_DOC_ERROR, "out of memory");
			return;
		}
		if (vg_doc_unit_parse(c, unit, "Service", unit_kv, u, path, sizeof path)) {
			(void)snprintf(abs, sizeof abs, "/%s", path);
			check_unit(c, unit, abs, u);
			found++;
			(void)snprintf(names + strlen(names), sizeof names - strlen(names),
				       "%s%.200s", found > 1 ? ", " : "", abs);
		} else if (o->n_units) {
			vg_doc_add(c, VG_DOC_VOICE, VG_SEV_MEDIUM, "voice.missing", unit,
				   "the voice application's unit %s was not found (or is masked)",
				   unit);
			vg_doc_fix(c, "install the unit or name the right one with --voice-unit");
		}
		free(u);
	}
	if (!found && !o->n_units)
		vg_doc_state_set(c, VG_DOC_VOICE, VG_DOC_SKIPPED,
				 "no voice application unit under the usual names (give "
				 "--voice-unit NAME)");
	else if (found)
		vg_doc_state_set(c, VG_DOC_VOICE, VG_DOC_RAN, "%s", names);
}

void vg_doc_check_bluetooth(vg_doc_ctx *c)
{
	bool installed = vg_doc_exists(c, "usr/libexec/bluetooth/bluetoothd", NULL) ||
			 vg_doc_exists(c, "usr/lib/bluetooth/bluetoothd", NULL) ||
			 vg_doc_exists(c, "lib/bluetooth/bluetoothd", NULL);
	bool enabled = vg_doc_unit_enabled(c, "bluetooth.service") ||
		       vg_doc_exists(c, "etc/systemd/system/dbus-org.bluez.service", NULL);
	bool enforced = vg_doc_unit_enabled(c, "voxguard-bluetooth.service");
	size_t adapters = 0;

	if (!c->offline) {
		char **names;
		size_t n;
		vg_doc_list(c, "sys/class/bluetooth", &names, &n);
		for (size_t i = 0; i < n; i++)
			adapters += strncmp(names[i], "hci", 3) == 0;
		vg_doc_names_free(names, n);
	}
	if (!installed) {
		vg_doc_state_set(c, VG_DOC_BLUETOOTH, VG_DOC_SKIPPED,
				 "bluetoothd is not installed");
		return;
	}
	if ((enabled || adapters) && !enforced) {
		vg_doc_add(c, VG_DOC_BLUETOOTH, VG_SEV_MEDIUM, "bluetooth.unenforced",
			   "voxguard-bluetooth.service",
			   "bluetoothd is %s%s but voxguard's Bluetooth policy "
			   "(voxguard-bluetooth.service) is not enabled",
			   enabled ? "enabled" : "installed",
			   adapters ? " with an adapter present" : "");
		vg_doc_fix(c, "systemctl enable voxguard-bluetooth.service (voxguard bluetooth "
			      "enforce: Secure Connections Only, LE Privacy), or remove bluez");
	}
	if (c->offline)
		vg_doc_state_set(c, VG_DOC_BLUETOOTH, VG_DOC_RAN, "bluetoothd %s, enforcement %s",
				 enabled ? "enabled" : "installed, not enabled",
				 enforced ? "enabled" : "not enabled");
	else
		vg_doc_state_set(c, VG_DOC_BLUETOOTH, VG_DOC_RAN,
				 "bluetoothd %s, enforcement %s, %zu adapter(s)",
				 enabled ? "enabled" : "installed, not enabled",
				 enforced ? "enabled" : "not enabled", adapters);
}
