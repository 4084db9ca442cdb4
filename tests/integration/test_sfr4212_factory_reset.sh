#!/bin/sh
# SFR 4.2.12: factory reset through the CLI against a real service. The
# reset erases every user record, user key, admin credential and session
# (crypto-erase: the erase secret is replaced), keeps the provisioning
# identity, makes the setup code work again and starts the audit log
# afresh with the reset as its first event. Attacks and faults: a reset
# without a session, a restored copy of the old database, a reset cut
# short by a power cut at two points, the reset button.
. "$(dirname "$0")/lib.sh"
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
if [ "$IS_ROOT" = 1 ]; then ADMIN="as vgcarol"; USER="as vgalice"; else ADMIN=""; USER=""; fi
SESS=$W/admin.session
A() {
	if [ "$IS_ROOT" = 1 ]; then
		env VOXGUARD_SESSION="$SESS" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V "$@"
	else
		env VOXGUARD_SESSION="$SESS" $V "$@"
	fi
}
U() { $USER $V "$@"; }
printf 'a long and unusual passphrase 77\n' >"$W/pw"; chmod 644 "$W/pw"
printf '0\n' >"$W/button"; chmod 644 "$W/button"
EXTRA_CONFIG="admin_pw_cost = 10
reset_button = $W/button"
start_daemon

A provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
CODE=$(cat "$W/code")
A admin setup --code "$CODE" --password-file "$W/pw" >/dev/null
$V identity --public-key >"$W/id-before.pem"
printf 'alice-secret-value' | U store put rec
U key create k --type p256
check "setup: alice has a record and a key" sh -c "$( [ "$IS_ROOT" = 1 ] && echo "setpriv --reuid=vgalice --regid=vgalice --init-groups --" ) $V store get rec | grep -q alice-secret"
A admin logout >/dev/null
check_fails "SFR 4.2.12: a reset without an admin session is refused" 2 A factory-reset --yes
check_fails "SFR 4.2.12: a user cannot reset the device" 2 U factory-reset --yes
check "SFR 4.2.12: the reset without --yes and without a terminal changes nothing" sh -c "! A factory-reset </dev/null >/dev/null 2>&1 || true"
check "the data is still there" sh -c "$( [ "$IS_ROOT" = 1 ] && echo "setpriv --reuid=vgalice --regid=vgalice --init-groups --" ) $V store get rec | grep -q alice-secret"
stop_daemon
cp "$STATE/voxguard.db" "$W/old.db"; cp "$STATE/erase.key" "$W/old-erase.key"
start_daemon
A admin login --password-file "$W/pw" >/dev/null
cp "$SESS" "$W/old.session"
A factory-reset --yes >"$W/reset.out" 2>&1 || cat "$W/reset.out"
check "SFR 4.2.12: the admin resets the device" grep -q 'factory reset done' "$W/reset.out"
check_fails "SFR 4.2.12: the user's record is gone" 2 U store get rec
check_fails "SFR 4.2.12: the user's key is gone" 2 U key info k
check_fails "SFR 4.2.12: the admin credential is gone" 2 A admin login --password-file "$W/pw"
$V identity --public-key >"$W/id-after.pem"
check "SFR 4.2.12: the provisioning identity survives" cmp -s "$W/id-before.pem" "$W/id-after.pem"
check "SFR 4.2.12: the setup code works again" A admin setup --code "$CODE" --password-file "$W/pw"
cp "$SESS" "$W/new.session"; cp "$W/old.session" "$SESS"
check_fails "SFR 4.2.12: the admin session from before the reset is gone" 2 A log export --out "$W/x.vgl"
cp "$W/new.session" "$SESS"
A log export --out "$W/after.vgl"
A log show --in "$W/after.vgl" --json >"$W/after.json"
first=$(grep '"kind":"record"' "$W/after.json" | head -1)
check "SFR 4.2.12: the reset is the first event of the new audit log" sh -c "echo '$first' | grep -q factory.reset"
check "SFR 4.2.9: the new log verifies offline, from the signed link to the old head" \
	$VOXGUARD log verify "$W/after.vgl"
check_fails "SFR 4.2.12: no record of the old log remains" 1 grep -q 'alice' "$W/after.json"
stop_daemon
check "SFR 4.2.12: the erase secret was replaced" sh -c "! cmp -s '$W/old-erase.key' '$STATE/erase.key'"
check "SFR 4.2.12: the user's value is in no file of the state dir" sh -c "! grep -rqa alice-secret-value '$STATE'"

# Reading the old files after the reset: the old database put back is
# refused (rollback), and its records never open.
cp "$STATE/voxguard.db" "$W/new.db"
cp "$W/old.db" "$STATE/voxguard.db"; rm -f "$STATE/voxguard.db-wal" "$STATE/voxguard.db-shm"
[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$STATE/voxguard.db"
start_daemon
check "SFR 4.2.12: a copy of the old database is refused after the reset" sh -c "$V status | grep -q 'secure store:   rollback'"
check_fails "SFR 4.2.12: and its records do not open" 2 U store get rec
stop_daemon
cp "$W/new.db" "$STATE/voxguard.db"; rm -f "$STATE/voxguard.db-wal" "$STATE/voxguard.db-shm"
[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$STATE/voxguard.db"

# A power cut right after the reset began (marker written, nothing else),
# and one after the erase secret was replaced: the next start completes
# the reset before serving anything.
start_daemon
printf 'second-secret' | U store put rec2
stop_daemon
printf 'admin' >"$STATE/reset.pending"
[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$STATE/reset.pending"
start_daemon
check_fails "SFR 4.2.12: a reset interrupted after it began completes at the next start" 2 U store get rec2
check "SFR 4.2.12: the completed reset left no marker" test ! -e "$STATE/reset.pending"
check "SFR 4.2.12: and a working store" sh -c "$V status | grep -q 'secure store:   ok'"
printf 'third-secret' | U store put rec3
stop_daemon
printf 'admin' >"$STATE/reset.pending"
head -c 32 /dev/urandom >"$STATE/erase.key"
[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$STATE/reset.pending" "$STATE/erase.key"
start_daemon
check_fails "SFR 4.2.12: a reset interrupted after the crypto-erase completes at the next start" 2 U store get rec3
check "SFR 4.2.12: with the store verified" sh -c "$V status | grep -q 'secure store:   ok'"
A log export --out "$W/resumed.vgl"
check "SFR 4.2.9: the resumed reset is audited" sh -c "$VOXGUARD log show --in '$W/resumed.vgl' | grep -q 'resumed'"

# Physical presence: the reset button.
printf 'fourth-secret' | U store put rec4
check_fails "SFR 4.2.12: without the button a user cannot reset" 2 U factory-reset --yes
printf '1\n' >"$W/button"
check "SFR 4.2.12: while the reset button is held anyone on the device may reset" U factory-reset --yes
printf '0\n' >"$W/button"
check_fails "SFR 4.2.12: the button reset erased the data too" 2 U store get rec4
stop_daemon
finish
