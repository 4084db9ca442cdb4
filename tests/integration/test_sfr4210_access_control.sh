#!/bin/sh
# SFR 4.2.10 / AVS SDK access control: each uid owns its own namespace of
# keys and records; the identity comes from SO_PEERCRED; admins administer
# but cannot use others' keys; every denial is an audit event.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root to create test users"; exit 77; }
setup_users
start_daemon
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
printf 'hello' >"$W/msg"; chmod 644 "$W/msg"
V="$VOXGUARD --socket $SOCK"

check "alice creates a signing key" as vgalice $V key create alice-key --type p256
check "alice signs with it" as vgalice $V key sign alice-key --in "$W/msg" --out /dev/null
printf 'alice-secret' | as vgalice $V store put alice-rec
check_fails "SFR 4.2.10: bob does not see alice's key in his namespace" 2 as vgbob $V key sign alice-key --in "$W/msg" --out /dev/null
check_fails "SFR 4.2.10: bob cannot address alice's key explicitly" 2 as vgbob $V --owner "$(id -u vgalice)" key sign alice-key --in "$W/msg" --out /dev/null
check_fails "SFR 4.2.10: bob cannot read alice's record" 2 as vgbob $V --owner "$(id -u vgalice)" store get alice-rec
check_fails "SFR 4.2.10: bob cannot list alice's keys" 2 as vgbob $V --owner "$(id -u vgalice)" key list
check_fails "SFR 4.2.10: bob cannot delete alice's key" 2 as vgbob $V --owner "$(id -u vgalice)" key delete alice-key
check "bob's own namespace is empty" sh -c "[ -z \"\$(setpriv --reuid=vgbob --regid=vgbob --init-groups -- $V key list)\" ]"
check "bob may have a key of the same name, his own" as vgbob $V key create alice-key --type ed25519
check "alice's key is still hers (p256)" sh -c "setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V key info alice-key | grep -q p256"

# Admin (vgcarol, in admin_group): administer, never use.
check "an admin lists alice's keys" sh -c "setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V --owner $(id -u vgalice) key list | grep -q alice-key"
check_fails "SFR 4.2.10: an admin cannot sign with alice's key" 2 as vgcarol $V --owner "$(id -u vgalice)" key sign alice-key --in "$W/msg" --out /dev/null
check_fails "SFR 4.2.10: an admin cannot read alice's record" 2 as vgcarol $V --owner "$(id -u vgalice)" store get alice-rec
check_fails "SFR 4.2.10: nobody uses the service's own keys" 2 as vgcarol $V --owner 4294967295 key sign audit-signing --in "$W/msg" --out /dev/null
check_fails "SFR 4.2.9: reading the audit log needs an admin (bob)" 2 as vgbob $V log export --out "$W/bob.vgl"
check "SFR 4.2.9: an admin exports the audit log" as vgcarol $V log export --out "$W/carol.vgl"
check "status reports the caller's role" sh -c "setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V status | grep -q 'role admin'"

# A user outside the socket group cannot connect at all.
check_fails "SFR 4.2.10: a uid outside the socket group cannot connect" 2 setpriv --reuid=nobody --regid=nogroup --clear-groups $V status

# Every denial above is an audit event naming the actor.
vg log export --out "$W/log.vgl"
vg log show --in "$W/log.vgl" --json >"$W/log.json"
bob=$(id -u vgbob)
check "SFR 4.2.9: bob's denials are audit events with his uid" sh -c "grep 'authz.denied' '$W/log.json' | grep -q '\"uid\":$bob'"
n=$(grep -c 'authz.denied' "$W/log.json" || true)
check "SFR 4.2.9: every denial was recorded ($n)" test "$n" -ge 7
check "SFR 4.2.9: records carry the role" sh -c "grep 'authz.denied' '$W/log.json' | grep -q '\"role\":\"admin\"'"
stop_daemon
finish
