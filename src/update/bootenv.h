/*
 * bootenv.h - the bootloader adapter for A/B updates (SFR 4.2.6, issue #4):
 * which slot boots next, how many attempts each slot has left, and the
 * automatic fallback when a new slot does not pass its health check.
 *
 * The state is three variables in the bootloader's environment, with the
 * same names for every kind (docs/BOOTLOADER.md):
 *   VG_BOOT_ORDER  "a b" or "b a": the slot tried first comes first
 *   VG_A_LEFT      one decimal digit: boot attempts left for slot a
 *   VG_B_LEFT      one decimal digit: boot attempts left for slot b
 * At each boot the bootloader script (boot/uboot-voxguard.txt,
 * boot/grub-voxguard.cfg) boots the first slot in the order with attempts
 * left, after decrementing its count and saving the environment, and puts
 * `voxguard.slot=a|b` on the kernel command line. A new slot is activated
 * with `tries` attempts and the old one as fallback; when the new slot
 * passes its health check the update agent marks it good (its count is
 * refilled); if it never does, its attempts run out and the next boot
 * takes the fallback without anybody's help.
 *
 * Kinds (the `bootloader =` setting):
 *  - "file": param is a key=value file owned by this module ("NAME=VALUE"
 *    lines). Absent, it reads as the defaults; the first write creates it.
 *    Every write replaces it whole and durably (a unique temporary, fsync,
 *    rename, fsync of the directory): a power cut leaves the old or the
 *    new state, never a mix. It is the stand-in for a real bootloader in
 *    tests and on development boards (vg_bootenv_simulate_boot()).
 *  - "uboot": param is an fw_env.config (NULL or "": /etc/fw_env.config).
 *    Reads run `fw_printenv -c CFG -f DEFENV -- VG_BOOT_ORDER VG_A_LEFT
 *    VG_B_LEFT` (only our three lines: the output is bounded whatever the
 *    size of the environment); writes run `fw_setenv -c CFG -f DEFENV -s
 *    /dev/stdin` with the three "NAME=VALUE" lines on a pipe, one store of
 *    the whole environment (with a redundant config, libubootenv writes
 *    the other copy and then flips its flag: atomic).
 *    DEFENV is U-Boot's default environment, the file `u-boot-initial-env`
 *    beside the config (/etc/u-boot-initial-env for the default config,
 *    which is also the tools' own default; generate it with
 *    `make u-boot-initial-env` in the U-Boot tree).
 *    What libubootenv 0.3.2 (Debian 12's libubootenv-tool) does on a fresh
 *    environment, observed on a zero-filled 16 KiB file-backed env (bad
 *    CRC), with one copy and with a redundant pair alike:
 *      * both tools print "Cannot read environment, using default" on
 *        stderr and load the default environment file (-f, default
 *        /etc/u-boot-initial-env); if that file cannot be read they print
 *        "Cannot read default environment from file", store nothing and
 *        exit with status 243;
 *      * with a readable default file (even an empty one) fw_printenv
 *        prints its variables and exits 0, and fw_setenv -s applies the
 *        script on top of the default variables and writes a valid
 *        environment (exit 0);
 *      * `fw_printenv NAME` prints "NAME=" (exit 0) for an absent
 *        variable, so an empty value means absent;
 *      * script lines are "name=value"; U-Boot's old "name value" form is
 *        silently ignored by 0.3.2 (so never use it).
 *    So reads pass -f DEFENV, or /dev/null when it does not exist: a fresh
 *    environment reads as the defaults, as it does for the boot script.
 *    Writes always pass -f DEFENV: from a fresh environment the written
 *    one starts from U-Boot's default variables (bootcmd, ...) plus ours.
 *    Without DEFENV the write is refused by fw_setenv (VG_ERR_IO, the why
 *    says so) rather than replacing U-Boot's built-in environment with
 *    three variables and no bootcmd. On a device the boot script saves
 *    the environment at its first boot, so this only matters before that.
 *  - "grub": param is the GRUB environment block (e.g.
 *    /boot/grub/grubenv). Reads run `grub-editenv -- FILE list`. Writes
 *    copy the block to a unique temporary beside it, run `grub-editenv --
 *    TMP set VG_BOOT_ORDER=.. VG_A_LEFT=.. VG_B_LEFT=..` (one call), fsync
 *    it and rename it over FILE (grub-editenv itself truncates and
 *    rewrites in place). vg_bootenv_open() creates a missing block the
 *    same way with `grub-editenv TMP create`: GRUB's save_env can only
 *    rewrite an existing file, so without it no boot would be counted.
 *
 * Tools are found at open in the absolute directories of $PATH (empty
 * and relative entries are skipped; unset: /usr/sbin:/usr/bin:/sbin:/bin)
 * and run with posix_spawn(), an argv and never a shell: stdin is
 * /dev/null or the script's pipe, stdout a pipe read up to 64 KiB, stderr
 * the caller's; after 10 s the tool is killed. The exit status is checked
 * and every tool is reaped (no zombie), every descriptor closed.
 *
 * Promises:
 *  - reading fails closed: a malformed, duplicated or over-long value is
 *    VG_ERR_INVALID with a why naming the variable; absent or empty
 *    variables read as the defaults (order "a b", both counts = tries),
 *    exactly as the boot scripts treat them;
 *  - every change is one read of the state and one atomic write of all
 *    three variables;
 *  - nothing is written when a call fails before its write.
 * A vg_bootenv is not thread-safe, and two processes must not change the
 * same environment at once: the update agent serializes its calls. The
 * uboot and grub kinds run programs, which voxguardd's seccomp filter
 * forbids (execve): call them from outside the service (the CLI does).
 */
#ifndef VG_UPDATE_BOOTENV_H
#define VG_UPDATE_BOOTENV_H

#include <stddef.h>

#include "voxguard/voxguard.h"

#define VG_BOOTENV_WHY_LEN       256
#define VG_BOOTENV_DEFAULT_TRIES 3u
#define VG_BOOTENV_MAX_TRIES     9u
#define VG_BOOTENV_MAX_INPUT     (64u * 1024u) /* a listing, a tool's stdout */
#define VG_BOOTENV_MAX_LINE      4096u
#define VG_BOOTENV_TIMEOUT_MS    10000u

typedef struct vg_bootenv vg_bootenv;

/* kind "file", "uboot" or "grub" (param as above; it may not start with
 * '-'); tries: the attempts a slot is given, 1..9, 0 = 3. On success *out
 * is a handle the caller closes with vg_bootenv_close(); on failure *out
 * is NULL. VG_ERR_INVALID: unknown kind, bad tries or param;
 * VG_ERR_UNSUPPORTED: a tool is not installed ("fw_setenv not found:
 * install libubootenv-tool or set bootloader = file"); VG_ERR_NOT_FOUND:
 * the fw_env.config does not exist; VG_ERR_IO: a missing GRUB block could
 * not be created. */
VG_NODISCARD vg_rc vg_bootenv_open(vg_bootenv **out, const char *kind, const char *param,
				   unsigned tries, char *why);
/* NULL-safe; sets *b to NULL. */
void vg_bootenv_close(vg_bootenv **b);

typedef struct vg_boot_state {
	char order[2];    /* boot order, e.g. {'a','b'}: 'a' is tried first */
	unsigned left[2]; /* attempts left for slot a ([0]) and b ([1]) */
} vg_boot_state;

/* Reads the state. Absent variables (a fresh environment) read as the
 * defaults: order a b, both left = tries. A malformed value is
 * VG_ERR_INVALID (fail closed; why names the variable); a failing tool is
 * VG_ERR_IO (why names the tool and its exit status). */
VG_NODISCARD vg_rc vg_bootenv_read(vg_bootenv *b, vg_boot_state *st, char *why);

/* Try `slot` ('a' or 'b') at the next boot with `tries` attempts, the
 * other slot as fallback: order = slot, other; left[slot] = tries (the
 * other's count is kept). */
VG_NODISCARD vg_rc vg_bootenv_activate(vg_bootenv *b, char slot, char *why);

/* The booted slot passed its health check: it goes first in the order and
 * its left = tries. */
VG_NODISCARD vg_rc vg_bootenv_mark_good(vg_bootenv *b, char slot, char *why);

/* Never boot this slot again until re-activated: left = 0 (the order is
 * kept; the boot script skips a slot without attempts). */
VG_NODISCARD vg_rc vg_bootenv_mark_bad(vg_bootenv *b, char slot, char *why);

/* What the boot script does at each boot (for tests; works on every
 * kind): the first slot in the order with left > 0 is booted and its left
 * decremented and saved; *booted gets 'a' or 'b'. No bootable slot:
 * VG_ERR_STATE and nothing changes (the real scripts then reset both
 * counts and reboot, see docs/BOOTLOADER.md). */
VG_NODISCARD vg_rc vg_bootenv_simulate_boot(vg_bootenv *b, char *booted, char *why);

/* Parses one "NAME=VALUE" listing (`fw_printenv` or `grub-editenv FILE
 * list` output, or the file backend's content) of len bytes (no NUL
 * needed; NUL bytes are ordinary bytes) and copies the value of `name`,
 * NUL-terminated, into val (cap bytes). Lines are split at '\n'; a line
 * without '=' or of another name is ignored, "NAMEX=" is not "NAME=".
 * VG_OK; VG_ERR_NOT_FOUND: no such line; VG_ERR_TOO_LARGE: len > 64 KiB,
 * the name's line > 4 KiB, or the value does not fit in cap;
 * VG_ERR_INVALID: bad arguments, or the name is listed twice or its value
 * holds a NUL byte (fail closed: which one would the bootloader use?).
 * On failure val is "" (when cap > 0). Never reads past len. */
VG_NODISCARD vg_rc vg_bootenv_parse(const char *text, size_t len, const char *name, char *val,
				    size_t cap);

#endif
