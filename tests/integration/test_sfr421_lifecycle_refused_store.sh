#!/bin/sh
# SFR 4.2.1 and 4.2.3 with 4.2.4-l (issue 11): a provisioned device whose
# provisioning record cannot be read -- its store rolled back and refused,
# or the record itself tampered with -- is not called "not provisioned".
# status, identity and attest say the lifecycle is unknown and why, no
# attestation token is issued, and provisioning over the unreadable record
# is refused. Controls: a factory-new device still says "not provisioned",
# a provisioned one "secured", and after the local admin's factory reset
# (the way out of a refused store) the same device is "secured" again.
. "$(dirname "$0")/lib.sh"
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
if [ "$IS_ROOT" = 1 ]; then ADMIN="as vgcarol"; else ADMIN=""; fi
N=$(openssl rand -hex 32)
start_daemon

check "SFR 4.2.1: control: a new device's status says not provisioned" sh -c \
	"$V status | grep -q '^lifecycle: *provisioning (not provisioned)\$'"
check "SFR 4.2.1: control: a new device's identity says psa-rot-provisioning" sh -c \
	"$V identity | grep -q '^lifecycle: *psa-rot-provisioning (0x2000)\$'"
$ADMIN $V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
check "SFR 4.2.1: control: the provisioned device's status says secured" sh -c \
	"$V status | grep -q '^lifecycle: *secured\$'"
check "SFR 4.2.1: control: the provisioned device's identity says secured" sh -c \
	"$V identity | grep -q '^lifecycle: *secured (0x3000)\$'"
stop_daemon

# The provisioned state dir is copied, the device goes on (its counter
# moves), and the copy's database is put back: a rollback.
cp -a "$STATE" "$T/provisioned"
start_daemon
printf 'later' | $V store put later
stop_daemon
rm -f "$STATE/voxguard.db" "$STATE/voxguard.db-wal" "$STATE/voxguard.db-shm"
for f in "$T/provisioned"/voxguard.db*; do cp -a "$f" "$STATE/"; done
start_daemon
$V status >"$W/status" 2>&1 || true
$V identity >"$W/identity" 2>&1 || true
$V identity --json >"$W/identity.json" 2>&1 || true
check "SFR 4.2.4: the rolled-back store is refused" grep -q '^secure store: *rollback' "$W/status"
check "SFR 4.2.1: status says the lifecycle is unknown because the store is refused" \
	grep -q '^lifecycle: *unknown (secure storage refused: rollback detected)$' "$W/status"
check "SFR 4.2.1: status does not say not provisioned" sh -c "! grep -qi 'not provisioned' '$W/status'"
check "SFR 4.2.1: identity says the lifecycle is unknown (0x0000) and why" \
	grep -q '^lifecycle: *unknown (secure storage refused: rollback detected) (0x0000)$' "$W/identity"
check "SFR 4.2.2: identity says the instance ID is unknown, not missing" \
	grep -q '^instance id: *(unknown: secure storage refused: rollback detected' "$W/identity"
check "SFR 4.2.1: identity does not say not provisioned" sh -c "! grep -qi 'not provisioned' '$W/identity'"
check "SFR 4.2.1: identity --json: provisioned is null, with the reason" sh -c \
	"grep -q '\"provisioned\": null' '$W/identity.json' &&
	 grep -q '\"lifecycle\": 0,' '$W/identity.json' &&
	 grep -q '\"lifecycle_why\": \"secure storage refused: rollback detected\"' '$W/identity.json'"
check_fails "SFR 4.2.3: no attestation token while the lifecycle is unknown" 2 \
	$V attest --nonce "$N" --out "$W/t"
check "SFR 4.2.3: ... and no token file" test ! -e "$W/t"
check "SFR 4.2.3: ... the refusal says why, not 'not provisioned'" sh -c \
	"$V attest --nonce $N --out '$W/t' 2>&1 | grep -q 'provisioning state is unknown (secure storage refused: rollback detected): no attestation token'"
check_fails "SFR 4.2.2: identity --public-key fails while the lifecycle is unknown" 2 \
	$V identity --public-key
check "SFR 4.2.2: ... and says why" sh -c \
	"$V identity --public-key 2>&1 | grep -q 'provisioning state is unknown (secure storage refused: rollback detected)'"
check "SFR 4.2.12: a local admin's factory reset accepts the store back" $ADMIN $V factory-reset --yes
check "SFR 4.2.1: control: after the reset the device is secured again" sh -c \
	"$V status | grep -q '^lifecycle: *secured\$'"
check "SFR 4.2.1: control: ... and identity shows its instance ID" sh -c \
	"$V identity | grep -q '^instance id: *01[0-9a-f]\{64\}\$'"
stop_daemon

# The store is accepted but the provisioning record itself is tampered
# with: unknown too, and provisioning over it is refused (a provisioned
# device keeps its OEM keys).
db "UPDATE store_records SET blob = substr(blob, 1, 40) || X'FF' || substr(blob, 42) WHERE ns = 'sys' AND name = 'identity';"
start_daemon
check "SFR 4.2.4: control: the store itself is accepted" sh -c "$V status | grep -q '^secure store: *ok'"
check "SFR 4.2.1: a tampered provisioning record makes the lifecycle unknown" sh -c \
	"$V status | grep -q '^lifecycle: *unknown (the provisioning record cannot be read: integrity error)\$'"
check_fails "SFR 4.2.1: provisioning over an unreadable record is refused" 2 \
	$ADMIN $V provision --oem Evil --model Echo --hw-rev B2 --setup-code-out "$W/code2"
$ADMIN $V provision --oem Evil --model Echo --hw-rev B2 --setup-code-out "$W/code3" \
	>"$W/provision.out" 2>&1 || true
check "SFR 4.2.1: ... and says why" grep -q \
	'provisioning state is unknown (the provisioning record cannot be read: integrity error): provisioning is refused' \
	"$W/provision.out"
printf 'Vq7-tunnel-marble-93x!\n' >"$W/pw"; chmod 644 "$W/pw"
$ADMIN $V admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >"$W/setup.out" 2>&1 || true
check "SFR 4.2.13: admin setup says the provisioning state is unknown, not 'not provisioned'" grep -q \
	'provisioning state is unknown (the provisioning record cannot be read: integrity error): no setup code can be read' \
	"$W/setup.out"
$ADMIN $V log export --out "$W/log.vgl"
check "SFR 4.2.9: the unreadable provisioning record is an audit event" sh -c \
	"$VOXGUARD log show --in '$W/log.vgl' | grep 'identity.unreadable' | grep -q failure"
stop_daemon
finish
