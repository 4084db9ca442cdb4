#!/bin/sh
# SFR 4.3.1: secure debugging through the CLI against a real service. Debug
# is locked by default and unlocks only with a challenge signed by the OEM
# debug key registered at provisioning; while unlocked the applications'
# data is sealed away and the state shows in status, identity and the
# attestation token; unlock and lock are audit events; a restart locks.
# Attacks: a wrong key, a replayed signature, unlocking a device that has
# no debug key, a user asking for a challenge.
. "$(dirname "$0")/lib.sh"
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
if [ "$IS_ROOT" = 1 ]; then ADMIN="as vgcarol"; USER="as vgalice"; else ADMIN=""; USER=""; fi
U() { $USER $V "$@"; }
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/oem-debug.key" 2>/dev/null
openssl pkey -in "$W/oem-debug.key" -pubout -out "$W/oem-debug.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/other.key" 2>/dev/null
chmod 644 "$W"/*.key "$W"/*.pub
OEMSIGN() { openssl dgst -sha256 -sign "$1" -out "$3" "$2"; chmod 644 "$3"; }
start_daemon

check_fails "SFR 4.3.1: no debug challenge before provisioning" 2 $ADMIN $V debug challenge --out "$W/c0"
$ADMIN $V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" \
	--debug-key "$W/oem-debug.pub" >/dev/null
printf 'voice-profile' | U store put profile
check "SFR 4.3.1: debug is locked by default" sh -c "$V status | grep -q 'debug:          locked'"
if [ "$IS_ROOT" = 1 ]; then
	check_fails "SFR 4.3.1: a user cannot ask for a debug challenge" 2 U debug challenge --out "$W/cu"
fi
$ADMIN $V debug challenge --out "$W/c1"
OEMSIGN "$W/other.key" "$W/c1" "$W/bad.sig"
check_fails "SFR 4.3.1: a signature by another key does not unlock" 2 $ADMIN $V debug unlock --sig "$W/bad.sig"
OEMSIGN "$W/oem-debug.key" "$W/c1" "$W/late.sig"
check_fails "SFR 4.3.1: a challenge is single-use (consumed by the failed try)" 2 $ADMIN $V debug unlock --sig "$W/late.sig"
$ADMIN $V debug challenge --out "$W/c2"
OEMSIGN "$W/oem-debug.key" "$W/c2" "$W/good.sig"
check "SFR 4.3.1: the OEM's signature over a fresh challenge unlocks" $ADMIN $V debug unlock --sig "$W/good.sig"
check_fails "SFR 4.3.1: the same signature cannot be replayed" 2 $ADMIN $V debug unlock --sig "$W/good.sig"
check "SFR 4.3.1: status shows debug unlocked" sh -c "$V status | grep -q 'debug:          UNLOCKED'"
check "SFR 4.3.1: identity shows the debug lifecycle" sh -c "$V identity | grep -q 'non-psa-rot-debug'"
N=$(openssl rand -hex 32)
$V identity --public-key >"$W/pub.pem"
U attest --nonce "$N" --out "$W/t"
check "SFR 4.3.1: the attestation token carries the debug lifecycle (0x4000)" \
	sh -c "VOXGUARD_SOCKET=/nonexistent $VOXGUARD verify-token '$W/t' --key '$W/pub.pem' --nonce $N --json | grep -q '\"lifecycle\":16384'"
check_fails "SFR 4.3.1: while unlocked the apps' records are sealed away" 2 U store get profile
check_fails "SFR 4.3.1: and so are their keys" 2 U key create k2 --type p256
check "SFR 4.3.1: the debug trace is on" grep -q 'debug trace' "$DLOG"
check "SFR 4.3.1: lock" $ADMIN $V debug lock
check "SFR 4.3.1: after lock the records are back" sh -c "$( [ "$IS_ROOT" = 1 ] && echo "setpriv --reuid=vgalice --regid=vgalice --init-groups --" ) $V store get profile | grep -q voice-profile"
$ADMIN $V debug challenge --out "$W/c3"
OEMSIGN "$W/oem-debug.key" "$W/c3" "$W/g3.sig"
$ADMIN $V debug unlock --sig "$W/g3.sig" >/dev/null
stop_daemon
start_daemon
check "SFR 4.3.1: a restart locks debug again" sh -c "$V status | grep -q 'debug:          locked'"
$ADMIN $V log export --out "$W/log.vgl"
$VOXGUARD log show --in "$W/log.vgl" --json >"$W/log.json"
check "SFR 4.2.9: debug unlocks are audit events" grep -q '"debug.unlock".*"success"' "$W/log.json"
check "SFR 4.2.9: failed unlocks are audit events" grep -q '"debug.unlock".*"failure"' "$W/log.json"
check "SFR 4.2.9: debug locks are audit events" grep -q '"debug.lock"' "$W/log.json"
stop_daemon

# A device provisioned without a debug key never unlocks.
STATE=$T/state2; RUN=$T/run2; SOCK=$RUN/vg.sock; V="$VOXGUARD --socket $SOCK"
start_daemon
$ADMIN $V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code2" >/dev/null
check_fails "SFR 4.3.1: without a registered debug key there is no challenge" 2 $ADMIN $V debug challenge --out "$W/c4"
stop_daemon
finish
