#!/bin/sh
# SFR 4.2.9 (audit log), end to end: events recorded with actor, outcome,
# time and clock-sync flag; export and offline verification; tampering and
# truncation detected with the first bad record named; signer pinning; the
# forward-secure MAC seed handed out once; the chain survives restarts.
. "$(dirname "$0")/lib.sh"
setup_users
CHECKPOINT_EVERY=8
start_daemon
W=$T/work; mkdir -p "$W"
printf 'm' >"$W/msg"

vg key create a --type p256
vg key create vonly --type p256 --usage verify
vg key sign vonly --in "$W/msg" --out "$W/s" 2>/dev/null || true
i=0; while [ $i -lt 30 ]; do printf 'x' | vg store put "r$i"; i=$((i + 1)); done
vg key delete a

vg log export --out "$W/log.vgl"
check "SFR 4.2.9: the export verifies offline (exit 0)" vg log verify "$W/log.vgl"
"$VOXGUARD" log verify "$W/log.vgl" >"$W/verify.out"
check "SFR 4.2.9: verify says how many records verified" grep -Eq '^verified [0-9]+ records' "$W/verify.out"
check "SFR 4.2.9: log verify needs no service" sh -c "VOXGUARD_SOCKET=/nonexistent '$VOXGUARD' log verify '$W/log.vgl'"

vg log show --in "$W/log.vgl" --json >"$W/log.json"
check "SFR 4.2.9: service start is recorded" grep -q '"service.start"' "$W/log.json"
check "SFR 4.2.9: key creation is recorded" grep -q '"key.create"' "$W/log.json"
check "SFR 4.2.9: key deletion is recorded" grep -q '"key.delete"' "$W/log.json"
check "SFR 4.2.9: the policy refusal is recorded" grep -q '"key.policy_denied"' "$W/log.json"
check "SFR 4.2.9: records carry the outcome" grep -q '"outcome":"denied"' "$W/log.json"
check "SFR 4.2.9: records carry the actor's uid and pid" sh -c "grep '\"key.create\"' '$W/log.json' | grep -q '\"uid\":$(id -u)' && grep '\"key.create\"' '$W/log.json' | grep -q '\"pid\":[1-9]'"
check "SFR 4.2.9: records carry the time and clock-sync flag" sh -c "grep -q '\"time\":[0-9]' '$W/log.json' && grep -Eq '\"clock_synced\":(true|false)' '$W/log.json'"
check "SFR 4.2.9: records carry the role" grep -q '"role":"service"' "$W/log.json"

# Tampering with the export: every flipped byte in the record area is
# caught (exit 1), never accepted.
size=$(wc -c <"$W/log.vgl")
caught=0; tried=0; off=200
while [ $off -lt $((size - 10)) ] && [ $tried -lt 25 ]; do
	cp "$W/log.vgl" "$W/t.vgl"
	b=$(od -An -tu1 -j $off -N1 "$W/t.vgl" | tr -d ' ')
	nb=$(( (b + 1) % 256 ))
	printf "\\$(printf '%03o' $nb)" | dd of="$W/t.vgl" bs=1 seek=$off conv=notrunc 2>/dev/null
	set +e; "$VOXGUARD" log verify "$W/t.vgl" >"$W/t.out" 2>&1; rc=$?; set -e
	tried=$((tried + 1))
	[ $rc -eq 1 ] && caught=$((caught + 1))
	off=$((off + size / 27))
done
check "SFR 4.2.9: $caught of $tried single-byte edits detected (all)" test "$caught" -eq "$tried"
check "SFR 4.2.9: a failure names the first bad record or the malformation" grep -Eq 'TAMPERED' "$W/t.out"

head -c $((size - 50)) "$W/log.vgl" >"$W/trunc.vgl"
check_fails "SFR 4.2.9: a truncated export fails verification (exit 1)" 1 vg log verify "$W/trunc.vgl"

# Pinning the signer: the right key passes, another key fails.
vg --owner 4294967295 key public audit-signing >"$W/audit.pem"
check "SFR 4.2.9: verification against the pinned device key passes" vg log verify "$W/log.vgl" --key "$W/audit.pem"
openssl ecparam -name prime256v1 -genkey -noout -out "$W/other.key" 2>/dev/null
openssl ec -in "$W/other.key" -pubout -out "$W/other.pem" 2>/dev/null
check_fails "SFR 4.2.9: an export checked against another key fails (exit 1)" 1 vg log verify "$W/log.vgl" --key "$W/other.pem"

# The forward-secure MAC seed: handed out once, then MACs are checkable.
check "SFR 4.2.9: the admin takes the MAC seed" vg log seed --out "$W/seed"
check_fails "SFR 4.2.9: the seed is handed out only once" 2 vg log seed --out "$W/seed2"
vg log export --out "$W/log2.vgl"
check "SFR 4.2.9: with the seed every record's forward-secure MAC verifies" sh -c "'$VOXGUARD' log verify '$W/log2.vgl' --seed '$W/seed' | grep -q 'MACs checked'"

# The chain continues across a restart and verifies as one log.
stop_daemon
start_daemon
printf 'y' | vg store put after-restart
vg log export --out "$W/log3.vgl"
check "SFR 4.2.9: after a restart the whole log still verifies" vg log verify "$W/log3.vgl" --seed "$W/seed"
vg log show --in "$W/log3.vgl" --json >"$W/log3.json"
check "SFR 4.2.9: the clean stop was recorded" grep -q '"service.stop"' "$W/log3.json"
n1=$(grep -c '"kind":"record"' "$W/log.json"); n3=$(grep -c '"kind":"record"' "$W/log3.json")
check "SFR 4.2.9: the log grew, nothing was lost ($n1 -> $n3)" test "$n3" -gt "$n1"
stop_daemon

# AVS SDK (protect configuration): the effective configuration is sealed
# in the store at each start; a changed configuration file is an event.
check "AVS SDK: the first configuration was recorded" grep -q 'configuration recorded' "$W/log3.json"
IO_TIMEOUT_MS=3000 write_config
start_daemon
vg log export --out "$W/log4.vgl"
vg log show --in "$W/log4.vgl" --json >"$W/log4.json"
check "AVS SDK: a changed configuration file is an audit event" grep -q 'configuration changed' "$W/log4.json"
stop_daemon
finish
