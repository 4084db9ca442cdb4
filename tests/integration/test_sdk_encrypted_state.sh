#!/bin/sh
# AVS Device SDK rule 3 (protect the SDK's persistent state from tampering
# and inspection), SFR 4.2.4 note 1, 4.2.9, 4.2.12: the voice application's
# state directory (encrypted_dir), which a real service keeps encrypted by
# the kernel (fscrypt v2) on a loop-mounted ext4 image. The application
# (vgalice) keeps a SQLite database there; another uid cannot read it; the
# image holds no byte of it in the clear (a plaintext control beside it
# does); unmounted and mounted again (the kernel forgot the key), it is
# ciphertext until the service starts and adds the key; a factory reset
# removes the key and the application's next open fails, and the next
# state dir is a new, empty one. A symbolic link in place of the directory
# is refused and the service serves on.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (loop device, mount, users)"; exit 77; }
for t in mkfs.ext4 losetup sqlite3; do
	command -v "$t" >/dev/null || { echo "skip: $t is missing"; exit 77; }
done
setup_users
IMG=$T/ext4.img
MNT=$T/mnt
LOOP=
mkdir -p "$MNT"
truncate -s 64M "$IMG"
mkfs.ext4 -q -O encrypt -E nodiscard "$IMG" || { echo "skip: mkfs.ext4 -O encrypt failed"; exit 77; }
LOOP=$(losetup --find --show "$IMG" 2>/dev/null) || { echo "skip: no loop device"; exit 77; }
mount "$LOOP" "$MNT" || { echo "skip: cannot mount an ext4 loop device"; losetup -d "$LOOP"; exit 77; }
state_cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	DPID=
	[ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null
	umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	cleanup
}
HOLD=
trap state_cleanup EXIT INT TERM

W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
SESS=$W/admin.session
A() { env VOXGUARD_SESSION="$SESS" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V "$@"; }
ALICE() { setpriv --reuid=vgalice --regid=vgalice --init-groups -- "$@"; }
BOB() { setpriv --reuid=vgbob --regid=vgbob --init-groups -- "$@"; }
# The parent, as tmpfiles.d would make it: the service's, setgid to the
# application's group, which the state dir inherits.
install -d -o vgsvc -g vgalice -m 2750 "$MNT/voice"
SDK=$MNT/voice/state
EXTRA_CONFIG="admin_pw_cost = 10
encrypted_dir = $SDK"
MARK="alert-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
PLAIN="control-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
start_daemon

check "SDK rule 3: the service made the state dir (0770, the application's group)" \
	sh -c "test \"\$(stat -c '%a %U %G' '$SDK')\" = '2770 vgsvc vgalice' || test \"\$(stat -c '%a %U %G' '$SDK')\" = '770 vgsvc vgalice'"
check "SDK rule 3: ... and it is encrypted (lsattr: E)" sh -c "lsattr -d '$SDK' | cut -d' ' -f1 | grep -q E"
ALICE sqlite3 "$SDK/alerts.db" "create table alerts(token text); insert into alerts values('$MARK');"
check "SDK rule 3: the application keeps its SQLite database there" \
	sh -c "setpriv --reuid=vgalice --regid=vgalice --init-groups -- sqlite3 '$SDK/alerts.db' 'select token from alerts' | grep -qx '$MARK'"
check_fails "SDK rule 3: another uid cannot read it" 1 BOB cat "$SDK/alerts.db"
echo "$PLAIN" >"$MNT/plain-control.txt"
sync
check "SDK rule 3: the raw image holds the plaintext control (the check can see)" \
	grep -qa "$PLAIN" "$IMG"
check "SDK rule 3: the raw image holds no byte of the database's content" \
	sh -c "! grep -qa '$MARK' '$IMG'"
check "SDK rule 3: ... nor its file name" sh -c "! grep -qa 'alerts.db' '$IMG'"
vg log show >"$W/log1.txt" 2>&1 || true
check "SFR 4.2.9: the state dir's preparation is audited (sdkstate.ready, created)" \
	grep -q "sdkstate.ready.*$SDK: created" "$W/log1.txt"

# ---- the key lives in the kernel only while the service put it there ----
stop_daemon
umount "$MNT"; mount "$LOOP" "$MNT"
check_fails "SDK rule 3: mounted again without the service, the database does not open" 1 \
	ALICE cat "$SDK/alerts.db"
check "SDK rule 3: ... and its name is not listed in the clear" sh -c "! ls '$SDK' | grep -q alerts"
start_daemon
check "SDK rule 3: the service's start unlocks it again" \
	sh -c "setpriv --reuid=vgalice --regid=vgalice --init-groups -- sqlite3 '$SDK/alerts.db' 'select token from alerts' | grep -qx '$MARK'"
vg log show >"$W/log2.txt" 2>&1 || true
check "SFR 4.2.9: ... audited as unlocked" grep -q "sdkstate.ready.*$SDK: unlocked" "$W/log2.txt"

# ---- a factory reset removes the key and gives a new, empty state dir ----
vg provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
printf 'a long and unusual passphrase 77\n' >"$W/pw"; chmod 644 "$W/pw"
A admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null
A admin login --password-file "$W/pw" >/dev/null
# The application holds its database open across the reset.
ALICE sh -c "exec 3<'$SDK/alerts.db'; sleep 30" &
HOLD=$!
sleep 0.3
A factory-reset --yes >/dev/null
check_fails "SFR 4.2.12: after the reset the old database is gone" 1 ALICE cat "$SDK/alerts.db"
check "SFR 4.2.12: the state dir is a new, empty one, encrypted" \
	sh -c "test -z \"\$(ls -A '$SDK')\" && lsattr -d '$SDK' | cut -d' ' -f1 | grep -q E"
ALICE sqlite3 "$SDK/settings.db" "create table s(k text);"
check "SDK rule 3: the application can start afresh in it" test -f "$SDK/settings.db"
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null || true; HOLD=
vg log show >"$W/log3.txt" 2>&1 || true
check "SFR 4.2.9: the key's removal is audited, naming the file still open" \
	grep -q "sdkstate.locked.*key removed; files still open" "$W/log3.txt"
check "SFR 4.2.9: the new state dir under the new key is audited" \
	grep -q "sdkstate.ready.*$SDK: .*(the old one set aside)" "$W/log3.txt"
check "SFR 4.2.12: the old state was erased (the service owns nothing the application made in it but files)" \
	sh -c "! ls -A '$MNT/voice' | grep -q erased"
sync
check "SFR 4.2.12: the raw image still holds no byte of the old database" \
	sh -c "! grep -qa '$MARK' '$IMG'"

# ---- a symbolic link in place of the directory: refused, the service serves ----
stop_daemon
rm -rf "$SDK"
ln -s /etc "$SDK"
start_daemon
check "SDK rule 3: a symbolic link in place of the state dir is refused" \
	sh -c "'$VOXGUARD' --socket '$SOCK' log show 2>/dev/null | grep -q 'sdkstate.failed.*symbolic link'"
check "the service serves on" vg status
check "SDK rule 3: /etc was not touched (no policy, no key)" sh -c "! lsattr -d /etc 2>/dev/null | cut -d' ' -f1 | grep -q E"
stop_daemon
finish
