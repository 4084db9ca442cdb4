/*
 * doctor.h - `voxguard doctor`: a posture audit of the device (AVS 1.2
 * device hardening; AVS 1.13 the firmware image is scanned; AVS Device
 * SDK: exploit mitigation, least privilege). docs/HARDENING.md, "A posture
 * audit", describes every check, the JSON and the exit status.
 *
 * It inspects either the running device (root "/": /proc, /sys and the
 * files) or a firmware root file system offline (--root DIR: files only;
 * what runs is inferred from the enabled systemd units and the sysctl
 * configuration). Nothing is changed. Every file of the root is read
 * without following a symbolic link out of it (openat2 RESOLVE_IN_ROOT:
 * an absolute link in an image resolves inside the image), the tree walks
 * never follow links at all, and every name that reaches the report is
 * made printable ASCII (a hostile file name cannot drive the terminal).
 *
 * Checks (stable names; each finding has a stable id "<check>.<what>"):
 *   accounts  empty, default or world-readable passwords (passwd, shadow)
 *   network   listening sockets (running) / enabled network daemons and
 *             sockets (image) against the port allow-list
 *   ssh       sshd's PasswordAuthentication, KbdInteractiveAuthentication,
 *             PermitRootLogin, PermitEmptyPasswords (no sshd: ok)
 *   perms     world-writable files and directories in system paths
 *   setuid    set-uid/set-gid files outside the allow-list
 *   elf       PIE, RELRO, canary, NX, FORTIFY, CET of every ELF object in
 *             the executable and library paths
 *   sysctl    kernel hardening settings
 *   coredump  where core dumps go
 *   voice     the voice application's unit: user, groups, sandbox
 *   bluetooth bluetoothd without voxguard's Bluetooth enforcement
 *   vuln      installed packages against the Debian security tracker
 */
#ifndef VG_POSTURE_DOCTOR_H
#define VG_POSTURE_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "voxguard/voxguard.h"

typedef enum vg_doc_check {
	VG_DOC_ACCOUNTS = 0,
	VG_DOC_NETWORK,
	VG_DOC_SSH,
	VG_DOC_PERMS,
	VG_DOC_SETUID,
	VG_DOC_ELF,
	VG_DOC_SYSCTL,
	VG_DOC_COREDUMP,
	VG_DOC_VOICE,
	VG_DOC_BLUETOOTH,
	VG_DOC_VULN,
	VG_DOC_N_CHECKS
} vg_doc_check;

typedef enum vg_doc_sev {
	VG_SEV_INFO = 0,
	VG_SEV_LOW = 1,
	VG_SEV_MEDIUM = 2,
	VG_SEV_HIGH = 3,
} vg_doc_sev;

#define VG_DOC_MAX_ALLOW 64u /* allowed ports; allowed set-uid paths */
#define VG_DOC_MAX_UNITS 16u /* voice units named */
#define VG_DOC_MAX_PATH  1024u
#define VG_DOC_MAX_CONF  (64u * 1024u) /* bytes of a doctor.conf */

/* An allowed port: proto 6 (tcp), 17 (udp) or 0 (both). */
typedef struct vg_doc_port {
	uint16_t port;
	uint8_t proto;
} vg_doc_port;

/* What to audit and how (the CLI's options and doctor.conf). Plain data:
 * zero it, then fill. */
typedef struct vg_doc_opts {
	char root[VG_DOC_MAX_PATH]; /* "" or "/": the running device, unless offline */
	bool offline;               /* an image: files only (--root) */
	uint32_t skip;              /* bit (1 << vg_doc_check): checks not run */
	vg_doc_port ports[VG_DOC_MAX_ALLOW];
	size_t n_ports;
	char setuid[VG_DOC_MAX_ALLOW][VG_DOC_MAX_PATH]; /* absolute, in the root */
	size_t n_setuid;
	char units[VG_DOC_MAX_UNITS][256]; /* voice units; none: the usual names */
	size_t n_units;
	char vuln_db[VG_DOC_MAX_PATH]; /* "" : no vulnerability check */
	char release[64];              /* "" : the root's VERSION_CODENAME */
	bool vuln_not_affected;        /* also list vuln.not-affected (info) */
	unsigned crypt_budget_ms;      /* 0: 20 s for the default-password test */
	vg_doc_sev fail_on;            /* exit 1 for a finding at or above it */
	bool fail_on_set;
} vg_doc_opts;

/* What a vuln.* finding is about, member by member (the JSON's "vuln"):
 * printable ASCII only, "" when the tracker gives none. */
typedef struct vg_doc_vuln {
	char cve[64];
	char source[128];
	char installed[1040]; /* the source's installed version */
	char fixed_version[1040];
	char urgency[32];        /* as the tracker says ("low**" too) */
	char tracker_status[32]; /* resolved, open, undetermined, ... */
	char nodsa_reason[32];   /* ignored, postponed */
	char nodsa[256];         /* Debian's reason for no advisory */
} vg_doc_vuln;

/* One finding: printable ASCII only. */
typedef struct vg_doc_finding {
	vg_doc_check check;
	vg_doc_sev sev;
	char id[48];
	char subject[512]; /* the file, account, port or package */
	char text[1024];   /* one line */
	char fix[512];     /* one line */
	vg_doc_vuln *vuln; /* vuln.* findings (owned by the report); else NULL */
} vg_doc_finding;

typedef enum vg_doc_state {
	VG_DOC_NOT_RUN = 0, /* skipped by the options */
	VG_DOC_RAN = 1,     /* ran: ok or findings */
	VG_DOC_SKIPPED = 2, /* could not apply (no sshd, no --vuln-db, ...) */
	VG_DOC_ERROR = 3,   /* could not finish (note says why) */
} vg_doc_state;

typedef struct vg_doc_report {
	char root[VG_DOC_MAX_PATH];
	bool offline;
	vg_doc_finding *f;
	size_t n, cap;
	struct {
		vg_doc_state state;
		size_t findings;
		char note[512];
	} st[VG_DOC_N_CHECKS];
	size_t files_walked, elf_files;
	bool truncated; /* out of memory for more findings */
} vg_doc_report;

/* Runs every check not skipped. VG_OK with a report (free it with
 * vg_doctor_free) even when checks found something or failed (their
 * state says); an error only when the audit cannot start: the root is no
 * directory, the vulnerability list cannot be read or parsed
 * (VG_ERR_INVALID, VG_ERR_IO, VG_ERR_NOT_FOUND, with why). */
VG_NODISCARD vg_rc vg_doctor_run(const vg_doc_opts *o, vg_doc_report **out, char *why, size_t cap);
void vg_doctor_free(vg_doc_report **r);

/* Findings at or above min. */
size_t vg_doctor_count(const vg_doc_report *r, vg_doc_sev min);
/* The first finding with this id (NULL: none). */
const vg_doc_finding *vg_doctor_find(const vg_doc_report *r, const char *id);

/* The report as JSON (docs/HARDENING.md): a malloc'ed, NUL-terminated
 * string, NULL when out of memory. */
char *vg_doctor_json(const vg_doc_report *r, vg_doc_sev fail_on);
/* The report as text, one finding a line with its fix below. */
void vg_doctor_text(const vg_doc_report *r, vg_doc_sev fail_on, FILE *out);

/* Reads doctor.conf text into o: "key = value" lines, '#' comments;
 * keys allow-port (N, N/tcp, N/udp), allow-setuid (an absolute path),
 * voice-unit (a unit name), fail-on (a severity), skip (check names,
 * comma-separated). Anything else is VG_ERR_INVALID naming the line. */
VG_NODISCARD vg_rc vg_doctor_conf_parse(const char *text, size_t len, vg_doc_opts *o, char *why,
					size_t cap);
/* Reads rel (e.g. "etc/voxguard/doctor.conf") inside root the way the
 * checks do (links resolve inside the root; a regular file; at most max
 * bytes), NUL-terminated into a malloc'ed *buf. VG_ERR_NOT_FOUND when it
 * is absent. */
VG_NODISCARD vg_rc vg_doctor_read_in_root(const char *root, const char *rel, size_t max, char **buf,
					  size_t *len);
/* One allow-port value ("22", "22/tcp", "5353/udp") into o. */
VG_NODISCARD vg_rc vg_doctor_add_port(vg_doc_opts *o, const char *s, char *why, size_t cap);
/* Comma-separated check names into a bit mask. */
VG_NODISCARD vg_rc vg_doctor_checks_parse(const char *s, uint32_t *mask, char *why, size_t cap);

const char *vg_doc_check_name(vg_doc_check c);
const char *vg_doc_sev_name(vg_doc_sev s);
bool vg_doc_sev_parse(const char *s, vg_doc_sev *out);

#endif
