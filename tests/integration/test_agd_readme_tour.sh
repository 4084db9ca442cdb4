#!/bin/sh
# AGD_PRE.1 / AGD_OPE.1 (preparative procedures, operational guidance): the
# README's tour works as written, so the two cannot drift. readme_tour.py
# reads the tour's commands from README.md itself and runs them in order in
# one bash on a pseudo-terminal, as a person pastes them (password prompts
# answered), in a scratch directory holding a copy of the build:
#
# - as root (the root variant): the service drops to the `voxguard` user,
#   which the tour creates when it is missing; the tour's fixed paths
#   (/run/voxguard, /var/lib/voxguard-tour) are tmpfs mounts in a mount
#   namespace of the test's own, so nothing of the machine's is touched;
# - as an ordinary user (vgalice, the user variant), with a runtime
#   directory as logind makes it.
#
# Each command must succeed, but those the README says are refused, which
# must fail; the tour ends with verify-platform saying "genuine". The
# sanitizer build skips it (the system's openssl cannot load an ASan
# provider); the release build runs it.
. "$(dirname "$0")/lib.sh"

[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (the root variant, and a second user)"; exit 77; }
[ "${VG_SANITIZE:-0}" = 1 ] && { echo "skip: the tour runs the release build"; exit 77; }
setup_users
BUILD=$(dirname "$VOXGUARDD")
PW='tour: correct horse battery staple'
RUNNER=$VG_SRC/tests/integration/readme_tour.py

# workdir W OWNER: a scratch directory with the README and the build's
# programs under build/, as in the source tree.
workdir() {
	mkdir -p "$1/build" "$1/home"
	cp "$VG_SRC/README.md" "$1/"
	cp "$VOXGUARDD" "$VOXGUARD" "$BUILD/voxguard.so" "$1/build/"
	chown -R "$2" "$1"
}
# reap W: a service the tour left running (a tour cut off by the runner's
# timeout) is killed, and counted as a failure.
reap() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$1/build/voxguardd" ] || continue
		not_ok "the tour left its service running (pid ${p#/proc/})"
		kill -9 "${p#/proc/}" 2>/dev/null || true
	done
}
# transcript_has OUT DESCRIPTION TEXT: the transcript shows TEXT
transcript_has() {
	if grep '^#   ' "$1" | grep -qF -- "$3"; then ok "$2"; else not_ok "$2 (no '$3')"; fi
}
judge() { # judge VARIANT OUT RC
	grep -E '^(ok|not ok) - ' "$2" | while read -r l; do echo "$l"; done
	PASSES=$((PASSES + $(grep -c '^ok - ' "$2" || true)))
	FAILS=$((FAILS + $(grep -c '^not ok - ' "$2" || true)))
	if [ "$3" != 0 ]; then
		not_ok "AGD_PRE.1: the tour as $1 ran as the README says (exit $3)"
		grep '^#' "$2" | tail -80
	fi
	transcript_has "$2" "AGD_OPE.1: ($1) OpenSSL checks the service's signature" "Verified OK"
	transcript_has "$2" "AGD_OPE.1: ($1) no stored value in the clear" "nothing in the clear"
	transcript_has "$2" "AGD_OPE.1: ($1) the exported audit log verifies" "verified "
	transcript_has "$2" "AGD_OPE.1: ($1) the admin setup logged in" "logged in"
	transcript_has "$2" "AGD_OPE.1: ($1) a TUF download" "saved "
	if grep -F '#   platform:' "$2" | tail -1 | grep -q '^#   platform: genuine'; then
		ok "AGD_PRE.1: ($1) the tour ends with verify-platform saying genuine"
	else
		not_ok "AGD_PRE.1: ($1) the tour ends with verify-platform saying genuine ($(grep -F '#   platform:' "$2" | tail -1))"
	fi
}

# ---- as root ----
W=$T/root
workdir "$W" root
made_user=0
id -u voxguard >/dev/null 2>&1 || made_user=1
made_run=0
[ -d /run/voxguard ] || made_run=1
mkdir -p /run/voxguard /var/lib/voxguard-tour
if unshare -m sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run/voxguard &&
	mount -t tmpfs -o mode=0755 tmpfs /var/lib/voxguard-tour &&
	exec env -i HOME="$1/home" USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		python3 "$2" "$1/README.md" root "$1" "$3"' sh "$W" "$RUNNER" "$PW" >"$T/root.out" 2>&1
then rc=0; else rc=$?; fi
reap "$W"
rmdir /var/lib/voxguard-tour 2>/dev/null || true
[ "$made_run" = 1 ] && rmdir /run/voxguard 2>/dev/null || true
judge root "$T/root.out" "$rc"
check "AGD_PRE.1: (root) the tour made the service user it names" id -u voxguard
[ "$made_user" = 1 ] && userdel voxguard 2>/dev/null || true

# ---- as an ordinary user ----
W=$T/user
workdir "$W" vgalice
mkdir -m 0700 "$W/xdg" && chown vgalice "$W/xdg"
if setpriv --reuid=vgalice --regid=vgalice --init-groups -- \
	env -i HOME="$W/home" USER=vgalice LOGNAME=vgalice TERM=dumb LANG=C.UTF-8 \
	XDG_RUNTIME_DIR="$W/xdg" PATH=/usr/local/bin:/usr/bin:/bin \
	python3 "$RUNNER" "$W/README.md" user "$W" "$PW" >"$T/user.out" 2>&1
then rc=0; else rc=$?; fi
reap "$W"
judge user "$T/user.out" "$rc"
check "AGD_OPE.1: (user) the service removed its socket at SIGTERM" test ! -e "$W/xdg/vg.sock"
check "AGD_OPE.1: (user) the state dir is the user's own, 0700" \
	sh -c "[ \"\$(stat -c '%U %a' '$W/home/.vg-tour-state')\" = 'vgalice 700' ]"

finish
