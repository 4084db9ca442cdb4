#!/bin/sh
# SFR 4.2.4 (secure storage) and the AVS SDK rule on protecting persistent
# state, attacked through the real service: tamper a byte, swap two records,
# replay an old record, restore an old database, kill -9 during writes, and
# look for the plaintext in every file of the state dir.
. "$(dirname "$0")/lib.sh"
setup_users
start_daemon
W=$T/work; mkdir -p "$W"
json_has() { python3 -c "import json,sys; d=json.load(sys.stdin); assert $2, d" <"$1"; } # FILE EXPR about d
MARKER="vgmarker-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

printf '%s' "$MARKER" | vg store put secret1
printf 'value-two' | vg store put two
printf 'value-three' | vg store put three
check "SFR 4.2.4: get returns what put stored" sh -c "[ \"\$('$VOXGUARD' --socket '$SOCK' store get secret1)\" = '$MARKER' ]"
check "SFR 4.2.4: list shows the records" sh -c "'$VOXGUARD' --socket '$SOCK' store list | tr '\n' ' ' | grep -q 'secret1 three two'"
vg store list --json >"$W/list.json"
check "SFR 4.2.4: store list --json: the records by name" json_has "$W/list.json" \
	'list(d) == ["records"] and [r["name"] for r in d["records"]] == ["secret1", "three", "two"]'
head -c 16777216 /dev/urandom >"$W/big"
check "SFR 4.2.4: a 16 MiB value is stored" vg store put big --in "$W/big"
vg store get big --out "$W/big.out"
check "SFR 4.2.4: and read back intact" cmp "$W/big" "$W/big.out"
head -c 16777217 /dev/zero >"$W/toobig"
check_fails "SFR 4.2.4: 16 MiB + 1 is refused with a clear error" 2 vg store put toobig --in "$W/toobig"
check_fails "SFR 4.2.4: a bad record name is refused" 2 sh -c "printf x | '$VOXGUARD' --socket '$SOCK' store put '../etc/passwd'"

# Nothing confidential in the clear in the state dir.
stop_daemon
check "SFR 4.2.4: the marker is not in any file of the state dir" sh -c "! grep -r -a -q '$MARKER' '$STATE'"
check "SFR 4.2.4: state files are private (0600)" sh -c "[ -z \"\$(find '$STATE' -type f -perm /077)\" ]"

# A corrupted byte in one record: that record only, never wrong data.
cp -a "$STATE" "$T/pristine"
db "UPDATE store_records SET blob = substr(blob,1,40) || X'FF' || substr(blob,42) WHERE name = 'two';"
start_daemon
check_fails "SFR 4.2.4: a tampered record gives an integrity error" 2 vg store get two
check "SFR 4.2.4: the other records stay available" sh -c "[ \"\$('$VOXGUARD' --socket '$SOCK' store get three)\" = 'value-three' ]"
stop_daemon

# Two records swapped: detected, never served as each other.
rm -rf "$STATE"; cp -a "$T/pristine" "$STATE"
db "UPDATE store_records SET name = 'tmp' WHERE name = 'two'; UPDATE store_records SET name = 'two' WHERE name = 'three'; UPDATE store_records SET name = 'three' WHERE name = 'tmp';"
start_daemon
check_fails "SFR 4.2.4: swapped records are not served (two)" 2 vg store get two
check_fails "SFR 4.2.4: swapped records are not served (three)" 2 vg store get three
check "SFR 4.2.4: status reports the integrity error" sh -c "'$VOXGUARD' --socket '$SOCK' status | grep -q 'integrity-error'"
# Issue 11.7: fail closed, and a way out.
check "SFR 4.2.13: status never says 'not set up' for an admin it cannot read" sh -c \
	"'$VOXGUARD' --socket '$SOCK' status | grep -q 'admin: *unknown'"
check_fails "SFR 4.2.13: nothing that needs a session is served, not even to root" 2 \
	vg log export --out "$W/ie.vgl"
check "SFR 4.2.12: a local admin's factory reset works from an integrity error" \
	vg factory-reset --yes
check "SFR 4.2.12: ... and the store is in use again" sh -c \
	"'$VOXGUARD' --socket '$SOCK' status | grep -q 'secure store: *ok'"
check_fails "SFR 4.2.12: ... with the user data erased" 2 vg store get secret1
stop_daemon

# Replay of an old version of one record.
rm -rf "$STATE"; cp -a "$T/pristine" "$STATE"
db "SELECT hex(blob), version FROM store_records WHERE name = 'two';" >"$W/old-two"
start_daemon
printf 'value-two-NEW' | vg store put two
stop_daemon
oldhex=$(cut -d'|' -f1 "$W/old-two"); oldver=$(cut -d'|' -f2 "$W/old-two")
db "UPDATE store_records SET blob = X'$oldhex', version = $oldver WHERE name = 'two';"
start_daemon
check_fails "SFR 4.2.4: a replayed old record is refused" 2 vg store get two
stop_daemon

# Rollback: restore the whole old database (not the RoT counter).
rm -rf "$STATE"; cp -a "$T/pristine" "$STATE"
start_daemon
printf 'newer' | vg store put newer
stop_daemon
cp -a "$T/pristine/voxguard.db" "$STATE/voxguard.db"
rm -f "$STATE/voxguard.db-wal" "$STATE/voxguard.db-shm"
[ -f "$T/pristine/voxguard.db-wal" ] && cp -a "$T/pristine/voxguard.db-wal" "$STATE/"
start_daemon
check_fails "SFR 4.2.4: after a database rollback, records are refused" 2 vg store get three
check "SFR 4.2.4: the refusal says rollback" sh -c "'$VOXGUARD' --socket '$SOCK' store get three 2>&1 | grep -qi rollback"
check "SFR 4.2.4: status shows the rollback" sh -c "'$VOXGUARD' --socket '$SOCK' status | grep -q 'secure store:.*rollback'"
check_fails "SFR 4.2.4: and writes are refused too (no laundering)" 2 sh -c "printf x | '$VOXGUARD' --socket '$SOCK' store put x"
check "SFR 4.2.9: the rollback is reported on the service log" grep -q 'store.rollback' "$DLOG"
# Issue 11.7: a rolled-back store fails closed, and has a way out.
check "SFR 4.2.13: status says the admin is unknown, never 'not set up'" sh -c \
	"'$VOXGUARD' --socket '$SOCK' status | grep -q 'admin: *unknown'"
check_fails "SFR 4.2.9: the audit log is not exported without a session, even to root" 2 \
	vg log export --out "$W/rb.vgl"
check "SFR 4.2.9: ... and the refusal names the refused store" sh -c \
	"'$VOXGUARD' --socket '$SOCK' log export --out '$W/rb.vgl' 2>&1 | grep -q 'refused'"
if [ "$IS_ROOT" = 1 ]; then
	check_fails "SFR 4.2.12: an ordinary user cannot reset a refused store" 2 \
		as vgalice "$VOXGUARD" --socket "$SOCK" factory-reset --yes
fi
check "SFR 4.2.12: a local admin's factory reset works after a rollback" vg factory-reset --yes
check "SFR 4.2.12: ... the store is in use again" sh -c \
	"'$VOXGUARD' --socket '$SOCK' status | grep -q 'secure store: *ok'"
check_fails "SFR 4.2.12: ... the rolled-back user data is erased" 2 vg store get three
check "SFR 4.2.4: ... new records are stored" sh -c "printf after | '$VOXGUARD' --socket '$SOCK' store put after"
check "SFR 4.2.9: ... the audit log is exported again" vg log export --out "$W/rb.vgl"
check "SFR 4.2.9: ... and names the reset from the refused store" sh -c \
	"'$VOXGUARD' log show --in '$W/rb.vgl' | grep 'factory.reset' | grep -q 'refused store (rollback)'"
check "SFR 4.2.9: ... and verifies" "$VOXGUARD" log verify "$W/rb.vgl"
stop_daemon
start_daemon
check "SFR 4.2.4: after a restart the accepted store is still in use" sh -c \
	"[ \"\$('$VOXGUARD' --socket '$SOCK' store get after)\" = after ]"
stop_daemon

# Deleted secrets do not linger in the database or its WAL.
rm -rf "$STATE"; cp -a "$T/pristine" "$STATE"
hex=$(db "SELECT hex(substr(blob, 29, 16)) FROM store_records WHERE name = 'secret1';")
start_daemon
vg store delete secret1
check_fails "SFR 4.2.4: a deleted record is gone" 2 vg store get secret1
stop_daemon
check "SFR 4.2.4: the deleted ciphertext is in no file (secure_delete + WAL scrub)" sh -c \
	"for f in '$STATE'/*; do od -An -v -tx1 \"\$f\" | tr -d ' \n' | tr a-f A-F | grep -q '$hex' && exit 1; done; exit 0"

# kill -9 during writes from three concurrent writers (so puts are
# group-committed): every put that returned success survives.
rm -rf "$STATE"; cp -a "$T/pristine" "$STATE"
start_daemon
writers=
for w in a b c; do
	: >"$W/acked-$w"
	( i=0; while [ $i -lt 300 ]; do
		if printf 'v%s' "$i" | "$VOXGUARD" --socket "$SOCK" store put "$w$i" 2>/dev/null; then echo "$w$i" >>"$W/acked-$w"; fi
		i=$((i + 1)); done ) &
	writers="$writers $!"
done
sleep 1.5
kill9_daemon
for p in $writers; do wait "$p" || true; done
cat "$W"/acked-? >"$W/acked"
start_daemon
lost=0
while read -r k; do
	[ "$(vg store get "$k" 2>/dev/null)" = "v${k#?}" ] || lost=$((lost + 1))
done <"$W/acked"
check "SFR 4.2.4: no acknowledged put lost across kill -9 ($(wc -l <"$W/acked") acked)" test "$lost" -eq 0
check "SFR 4.2.4: the store is healthy after the crash" sh -c "'$VOXGUARD' --socket '$SOCK' status | grep -q 'secure store: *ok'"
stop_daemon
finish
