#!/bin/sh
# AVS SDK (locks, crashes, exploit mitigation) and SFR 4.2.10: garbage,
# truncated, oversized and slow-loris input close that one connection and
# nothing else; the service keeps serving everyone.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
setup_users
W=$T/work; mkdir -p "$W"
# The 16 MiB record of the no-reader check below is stored first, with the
# a generous io_timeout_ms: within the 1 s deadline of the checks a loaded
# machine did not always send it whole (the service then, rightly, cut it).
IO_TIMEOUT_MS=30000
write_config
start_daemon
head -c 16000000 /dev/urandom >"$W/big"
vg store put big --in "$W/big"
stop_daemon
IO_TIMEOUT_MS=1000
write_config
start_daemon
P() { "$IPC_PROBE" "$SOCK" "$@"; }

# A valid request for reference.
check "a valid raw request gets reply 0" sh -c "[ \"\$('$IPC_PROBE' '$SOCK' status)\" = 'reply 0' ]"

# Well-framed garbage: an error reply (protocol error, 11), then closed.
head -c 200 /dev/urandom >"$W/g"
printf '\000\000\000\310' | cat - "$W/g" >"$W/framed-garbage"
check "garbage in a frame gets a protocol-error reply" sh -c "'$IPC_PROBE' '$SOCK' send '$W/framed-garbage' | grep -q 'reply 11'"
check "the service still serves" vg status

# Unframed garbage (a huge length) closes the connection.
head -c 4096 /dev/urandom >"$W/raw"
printf '\377\377\377\377' | cat - "$W/raw" >"$W/huge"
check "an oversized frame header closes the connection" sh -c "[ \"\$('$IPC_PROBE' '$SOCK' send '$W/huge')\" = closed ]"
printf '\000\000\000\000' >"$W/zero"
check "a zero-length frame closes the connection" sh -c "[ \"\$('$IPC_PROBE' '$SOCK' send '$W/zero')\" = closed ]"
check "the service still serves" vg status

# Truncated frame: declared 100 bytes, sends 10, then the client hangs up.
printf '\000\000\000\144abcdefghij' >"$W/trunc"
check "a truncated frame is dropped" sh -c "'$IPC_PROBE' '$SOCK' send '$W/trunc' | grep -Eq 'closed|timeout'"
check "the service still serves" vg status

# Every prefix of a valid request, and single-byte mutations of it.
i=0; bad=0
while [ $i -lt 40 ]; do
	head -c 300 /dev/urandom >"$W/m$i"
	P send "$W/m$i" >/dev/null 2>&1 || true
	i=$((i + 1))
done
check "40 random blobs later the service still serves" vg status

# Valid CBOR envelope with wrong types: an error reply, not a crash.
# [1, 15 (sign), {1: 5 (name as a number)}]
printf '\000\000\000\006\203\001\017\241\001\005' >"$W/wrongtype"
check "a wrongly typed argument gets an error reply" sh -c "'$IPC_PROBE' '$SOCK' send '$W/wrongtype' | grep -Eq 'reply (1|11)$'"
# [2, 1, {}]: an unknown protocol version.
printf '\000\000\000\004\203\002\001\240' >"$W/v2"
check "an unknown protocol version is refused (15)" sh -c "'$IPC_PROBE' '$SOCK' send '$W/v2' | grep -q 'reply 15'"
# [1, 999, {}]: unknown operation.
printf '\000\000\000\006\203\001\031\003\347\240' >"$W/op"
check "an unknown operation is refused" sh -c "'$IPC_PROBE' '$SOCK' send '$W/op' | grep -Eq 'reply (6|15)'"
# An array declaring 2^32-1 items in a tiny message.
printf '\000\000\000\012\203\001\001\241\001\232\377\377\377\377' >"$W/bigarr"
check "a container larger than the message is refused without allocating it" sh -c "'$IPC_PROBE' '$SOCK' send '$W/bigarr' | grep -q 'reply 11'"

# Slow-loris: a stalled partial header is cut off after io_timeout_ms,
# while other clients are served meanwhile.
P stall 10 >"$W/stall" &
sp=$!
sleep 0.2
check "a slow-loris client does not stall others" vg status
wait $sp || true
check "the slow-loris connection is closed after the deadline" grep -q 'closed after [0-2] s' "$W/stall"

# A client that asks for a 16 MiB record and never reads the reply is cut
# off after io_timeout_ms (the write deadline) without stalling others.
P noread big 4 >"$W/noread" &
np=$!
sleep 0.5
check "a client that does not read its reply does not stall others" vg status
wait $np || true
check "the write deadline closes a connection that does not read" grep -q 'then closed' "$W/noread"

# Many concurrent clients.
pids=
i=0
while [ $i -lt 24 ]; do
	( j=0; while [ $j -lt 10 ]; do "$VOXGUARD" --socket "$SOCK" status >/dev/null || exit 1; j=$((j + 1)); done ) &
	pids="$pids $!"
	i=$((i + 1))
done
allok=1
for p in $pids; do wait "$p" || allok=0; done
check "24 concurrent clients x 10 requests all succeed" test "$allok" = 1

# Holding many idle connections is bounded per uid and does not lock out
# the service for others.
if [ "$IS_ROOT" = 1 ]; then
	mkfifo "$W/hold"
	( setpriv --reuid=vgbob --regid=vgbob --init-groups -- "$IPC_PROBE" "$SOCK" hold 100 <"$W/hold" >"$W/held" ) &
	hp=$!
	exec 9>"$W/hold"
	sleep 1
	check "SFR 4.2.10: one uid hoarding connections does not lock out another" setpriv --reuid=vgalice --regid=vgalice --init-groups -- "$VOXGUARD" --socket "$SOCK" status
	exec 9>&-
	wait $hp || true
fi
check "the service is alive after all of it" daemon_alive
# Issue 11.8: an unknown operation between known ones (78) is answered and
# audited under a name (the record used to be lost).
printf '\000\000\000\005\203\001\030\116\240' >"$W/op78"
check "SFR 4.2.10: operation 78 (no row in the table) is refused (15)" sh -c "'$IPC_PROBE' '$SOCK' send '$W/op78' | grep -q 'reply 15'"
vg log export --out "$W/after.vgl"
check "SFR 4.2.9: ... and audited as ipc.unknown_op" sh -c "'$VOXGUARD' log show --in '$W/after.vgl' | grep -q 'ipc.unknown_op.*operation 78'"
stop_daemon
check "and shuts down cleanly" grep -q 'voxguardd: stopped' "$DLOG"
finish
