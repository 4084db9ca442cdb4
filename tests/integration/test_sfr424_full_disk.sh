#!/bin/sh
# SFR 4.2.4, 4.2.9, 4.2.12: a full disk never locks the device. The state
# dir lives on a small file system (a 16 MiB tmpfs, which returns ENOSPC
# like a real one). An unprivileged user fills it through the API until
# refused ("quota exceeded", never an I/O error); root then fills the rest
# from outside with dd, to 0 bytes free. On the full disk: a delete works
# and is audited, the factory reset works and is audited, and after a
# restart (SIGTERM, and a SIGKILL variant) every acknowledged record is
# there (or erased by the reset) and the audit log verifies. Control: on
# the same file system with space, ordinary puts work.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (mount, users)"; exit 77; }
setup_users
FS=$T/fs
STATE=$FS/state
mkdir -p "$FS"
mount -t tmpfs -o size=16m,mode=0755 tmpfs "$FS" || { echo "skip: cannot mount a tmpfs"; exit 77; }
full_disk_cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	DPID=
	umount "$FS" 2>/dev/null || umount -l "$FS" 2>/dev/null || true
	cleanup
}
trap full_disk_cleanup EXIT INT TERM

W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
SESS=$W/admin.session
A() { env VOXGUARD_SESSION="$SESS" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V "$@"; }
U() { as vgalice $V "$@"; }
B() { as vgbob $V "$@"; }
ASA="setpriv --reuid=vgalice --regid=vgalice --init-groups --"
avail() { df -B1 --output=avail "$FS" | tail -1 | tr -d ' '; }
# fill_outside: root writes to the same file system until it is full.
fill_outside() {
	dd if=/dev/zero of="$FS/filler" bs=64k 2>/dev/null || true
	dd if=/dev/zero of="$FS/filler2" bs=4k 2>/dev/null || true
	sync
}
printf 'a long and unusual passphrase 77\n' >"$W/pw"; chmod 644 "$W/pw"
EXTRA_CONFIG="admin_pw_cost = 10"
start_daemon
check "SFR 4.2.4: the service keeps a ballast of the reserve (default 4 MiB)" \
	sh -c "test \$(stat -c %s '$STATE/reserve.ballast') = 4194304"
A provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
A admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null
A admin login --password-file "$W/pw" >/dev/null

# Control: with space available, ordinary puts work.
printf 'alice-keep' | U store put keep
printf 'bob-keep' | B store put bobkeep
U key create kdel --type p256
check "control: puts work while there is space" sh -c "$ASA $V store get keep | grep -q alice-keep"

# The attack: alice fills the file system through the API.
head -c 262144 /dev/urandom >"$W/chunk"; chmod 644 "$W/chunk"
: >"$W/acked"
i=0; last=
while [ $i -lt 200 ]; do
	i=$((i + 1))
	if as vgalice $V store put "fill$i" <"$W/chunk" 2>"$W/put.err"; then
		echo "fill$i" >>"$W/acked"
	else
		last=$(cat "$W/put.err"); break
	fi
done
echo "# alice stored $(wc -l <"$W/acked") values of 256 KiB; then: $last; $(avail) bytes free"
check "SFR 4.2.4: the filler's puts are acknowledged until the reserve" test "$(wc -l <"$W/acked")" -ge 4
check "SFR 4.2.4: then refused as 'quota exceeded', not an I/O error" grep -q 'quota exceeded' "$W/put.err"
check "SFR 4.2.4: the reserve is still free on the file system" test "$(avail)" -ge 3000000

# Then anything else fills the rest, to 0 bytes free.
fill_outside
check "the file system is full" test "$(avail)" -lt 4096
set +e; printf 'x' | U store put more 2>"$W/e1"; set -e
check "SFR 4.2.4: on the full disk a put is 'quota exceeded'" grep -q 'quota exceeded' "$W/e1"
set +e; $V store put rootrec </dev/null 2>"$W/e2"; set -e
check "SFR 4.2.4: root's put too, never an I/O error" sh -c "grep -q 'quota exceeded' '$W/e2' && ! grep -qi 'I/O' '$W/e2'"
set +e; U key create kfull --type p256 2>"$W/e3"; set -e
check "SFR 4.2.11: a key create is 'quota exceeded'" grep -q 'quota exceeded' "$W/e3"
check "SFR 4.2.4: the filler's own delete works on the full disk" U store delete fill1
sed -i '/^fill1$/d' "$W/acked"
check "SFR 4.2.11: a key delete works on the full disk" U key delete kdel
check "SFR 4.2.4: and is durable" sh -c "! as vgalice $V store get fill1 >/dev/null 2>&1"
check "SFR 4.2.4: the records acknowledged before are all readable" \
	sh -c "for n in \$(cat '$W/acked'); do $ASA $V store get \$n >/dev/null || exit 1; done"
A log export --out "$W/before-reset.vgl"
check "SFR 4.2.9: the audit log is exported and verifies on the full disk" $VOXGUARD log verify "$W/before-reset.vgl"
$VOXGUARD log show --in "$W/before-reset.vgl" >"$W/before-reset.txt" 2>&1 || true
check "SFR 4.2.9: the key delete on the full disk is audited" sh -c "grep 'key.delete' '$W/before-reset.txt' | grep -q success"
check "SFR 4.2.9: the refused key create is audited, as quota exceeded" sh -c "grep 'key.create' '$W/before-reset.txt' | grep -q 'quota exceeded'"

A factory-reset --yes >"$W/reset.out" 2>&1 || cat "$W/reset.out"
check "SFR 4.2.12: the factory reset works on the full disk" grep -q 'factory reset done' "$W/reset.out"
check_fails "SFR 4.2.12: alice's records are erased" 2 U store get fill2
check_fails "SFR 4.2.12: bob's too" 2 B store get bobkeep
check "SFR 4.2.12: no reset marker is left" test ! -e "$STATE/reset.pending"

# A restart on the still-full disk (SIGTERM).
stop_daemon
start_daemon
check "SFR 4.2.4: the service starts again on the full disk" daemon_alive
check "SFR 4.2.4: with its store verified" sh -c "$V status | grep -q 'secure store:   ok'"
A admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null 2>&1 || true
A log export --out "$W/after-reset.vgl"
check "SFR 4.2.9: the log verifies after the restart" $VOXGUARD log verify "$W/after-reset.vgl"
$VOXGUARD log show --in "$W/after-reset.vgl" >"$W/after-reset.txt" 2>&1 || true
check "SFR 4.2.9: the factory reset on the full disk is in it" grep -q 'factory.reset' "$W/after-reset.txt"
check_fails "SFR 4.2.12: the erased records stay erased after the restart" 2 U store get fill3

# Space comes back (the outside filler goes): puts work again, the
# ballast comes back; then the disk is filled again and the service is
# killed (a power cut): what was acknowledged is there after the restart.
rm -f "$FS/filler" "$FS/filler2"
for n in 1 2 3; do printf "after-$n" | U store put "after$n"; done
check "control: with space back, ordinary puts work" sh -c "$ASA $V store get after3 | grep -q after-3"
check "SFR 4.2.4: the ballast is back" test -s "$STATE/reserve.ballast"
U key create kdel2 --type p256
fill_outside
check "the file system is full again" test "$(avail)" -lt 4096
check "SFR 4.2.4: a delete works on the full disk again" U store delete after1
check "SFR 4.2.11: a key delete works on the full disk again" U key delete kdel2
kill9_daemon
start_daemon
A admin login --password-file "$W/pw" >/dev/null || { echo "# daemon log:"; tail -20 "$DLOG"; df -B1 "$FS"; ls -la "$STATE"; }
check "SFR 4.2.4: the service restarts on the full disk after SIGKILL" daemon_alive
check "SFR 4.2.4: the records acknowledged before the kill are there" \
	test "$($ASA $V store get after2)$($ASA $V store get after3)" = "after-2after-3"
check_fails "SFR 4.2.4: and the delete acknowledged before the kill stays done" 2 U store get after1
check "SFR 4.2.4: a delete works after the restart on the full disk" U store delete after2
A log export --out "$W/after-kill.vgl"
check "SFR 4.2.9: the log verifies after the kill" $VOXGUARD log verify "$W/after-kill.vgl"
$VOXGUARD log show --in "$W/after-kill.vgl" >"$W/after-kill.txt" 2>&1 || true
check "SFR 4.2.9: the unclean shutdown and the key delete are in it" \
	sh -c "grep -q 'audit.unsealed_shutdown' '$W/after-kill.txt' && grep 'key.delete' '$W/after-kill.txt' | grep -q success"
A factory-reset --yes >"$W/reset2.out" 2>&1 || cat "$W/reset2.out"
check "SFR 4.2.12: a second factory reset on the full disk works" grep -q 'factory reset done' "$W/reset2.out"
stop_daemon
check "SFR 4.2.12: the duties on the full disk were served from the released reserve" \
	grep -q 'released the 4194304-byte reserve' "$ALLLOG"
finish
