#!/bin/sh
# SFR 4.2.10 (an attacker running code as one application cannot compromise
# the others) and AVS 1.2: every shared resource is budgeted per uid.
# (a) one uid (and then two) trickling 16 MiB frames no longer starves
#     everyone: root's and another app's requests all succeed, the
#     attacker's excess is refused with a clear error;
# (b) too many connections from one uid: refused with the quota message,
#     and one summarised budget.exceeded audit record, not hundreds;
# (c) idle connections are closed after idle_ms, busy ones are not;
# (d) per-uid and per-group rules from the configuration apply;
# (e) the rates: beyond store_write_rate a put is refused with a retry
#     hint, beyond request_rate a request is read more slowly, not refused.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
if [ "$IS_ROOT" != 1 ]; then
	echo "skip: the budget tests need root to create the test users"
	exit 77
fi
setup_users
# A request may take a minute to arrive: the attack holds its buffers.
IO_TIMEOUT_MS=60000
# Three event loops (server.h): every budget is one rule over all of them.
EXTRA_CONFIG="event_loops = 3
budget.default.idle_ms = 2000
budget.group.vgclients.conns = 10
budget.uid.$(id -u vgalice).conns = 12"
start_daemon
W=$T/work; mkdir -p "$W"
BOB=$(id -u vgbob)
ALICE=$(id -u vgalice)
P() { "$IPC_PROBE" "$SOCK" "$@"; }
# A second hostile uid: nobody, allowed onto the socket by the group.
NOBODY=$(id -u nobody)
as_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" \
		--groups="$(getent group vgclients | cut -d: -f3)" -- "$@"
}

# ---- (a) the attack: five connections of one uid each trickling 16 MiB ----
as vgbob "$IPC_PROBE" "$SOCK" trickle 5 16000000 15000000 15 >"$W/attack" 2>&1 &
ap=$!
i=0
while ! grep -q '^sent' "$W/attack" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
check "the attack holds its buffers (the frames were sent)" grep -q '^sent' "$W/attack"
fails=0; n=0
while [ $n -lt 50 ]; do
	vg status >/dev/null 2>&1 || fails=$((fails + 1))
	as vgalice "$VOXGUARD" --socket "$SOCK" status >/dev/null 2>&1 || fails=$((fails + 1))
	n=$((n + 1))
done
check "SFR 4.2.10: during the attack 100 status requests of root and vgalice all succeed ($fails failed)" test "$fails" = 0
head -c 1048576 /dev/urandom >"$W/1m"
check "SFR 4.2.10: during the attack vgalice still stores a 1 MiB record" as vgalice "$VOXGUARD" --socket "$SOCK" store put big --in "$W/1m"
wait $ap || true
check "SFR 4.2.10: the attacker keeps one maximum-size request, the other four are refused" grep -q '^held 1 refused 4' "$W/attack"
check "SFR 4.2.10: the refusal names the resource, the uid and the limit" grep -Eq "^msg: 21 quota exceeded: [0-9]+ bytes of requests in flight for uid $BOB \(limit [0-9]+\)" "$W/attack"

# Two hostile uids at once: still both held to their own budget, and the
# others served.
as vgbob "$IPC_PROBE" "$SOCK" trickle 5 16000000 15000000 10 >"$W/attack-b" 2>&1 &
bp=$!
as_nobody "$IPC_PROBE" "$SOCK" trickle 5 16000000 15000000 10 >"$W/attack-n" 2>&1 &
np=$!
i=0
while ! { grep -q '^sent' "$W/attack-b" && grep -q '^sent' "$W/attack-n"; } && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
fails=0; n=0
while [ $n -lt 20 ]; do
	vg status >/dev/null 2>&1 || fails=$((fails + 1))
	as vgalice "$VOXGUARD" --socket "$SOCK" status >/dev/null 2>&1 || fails=$((fails + 1))
	n=$((n + 1))
done
check "SFR 4.2.10: with two hostile uids 40 status requests all succeed ($fails failed)" test "$fails" = 0
check "SFR 4.2.10: with two hostile uids vgalice still stores a 1 MiB record" as vgalice "$VOXGUARD" --socket "$SOCK" store put big2 --in "$W/1m"
wait $bp || true
wait $np || true
check "SFR 4.2.10: each hostile uid is held to one request" sh -c "grep -q '^held 1 refused 4' '$W/attack-b' && grep -q '^held 1 refused 4' '$W/attack-n'"

# ---- (b) too many connections from one uid ----
as vgbob "$IPC_PROBE" "$SOCK" conns 14 >"$W/conns-bob"
check "SFR 4.2.10: vgbob gets his 10 connections (group rule) and no more" grep -q '^ok 10 refused 4' "$W/conns-bob"
check "SFR 4.2.10: the refused connection is told why" grep -q "^msg: 21 quota exceeded: too many connections for uid $BOB (limit 10)" "$W/conns-bob"
# Hundreds more refusals in the same window: still one audit record.
as vgbob "$IPC_PROBE" "$SOCK" conns 300 >"$W/conns-bob2"
check "SFR 4.2.10: 290 more connections refused" grep -q '^ok 10 refused 290' "$W/conns-bob2"
check "SFR 4.2.10: meanwhile vgalice is served" as vgalice "$VOXGUARD" --socket "$SOCK" status
# The summaries are written when their window (10 s) ends.
sleep 11
vg status >/dev/null
vg log export --out "$W/log.vgl"
vg log show --in "$W/log.vgl" --json >"$W/log.json"
grep '"budget.exceeded"' "$W/log.json" >"$W/budget.json" || true
nconn=$(grep -c "uid $BOB: [0-9]* connections refused" "$W/budget.json" || true)
check "SFR 4.2.9/4.2.10: one budget.exceeded record for 294 refused connections (got $nconn)" test "$nconn" = 1
check "SFR 4.2.10: the record counts the refusals and names the limit" grep -q "uid $BOB: 294 connections refused (limit 10 connections) in the last" "$W/budget.json"
check "SFR 4.2.10: the record names the offender as actor" sh -c "grep 'uid $BOB: 294' '$W/budget.json' | grep -q '\"uid\":$BOB'"
nbytes=$(grep -c "uid $BOB: [0-9]* requests refused (limit [0-9]* bytes in flight)" "$W/budget.json" || true)
check "SFR 4.2.10: the in-flight refusals are summarised too (got $nbytes, one per attack)" test "$nbytes" = 2
check "SFR 4.2.10: and the second hostile uid's on its own" grep -q "uid $NOBODY: 4 requests refused" "$W/budget.json"
total=$(wc -l <"$W/budget.json")
check "SFR 4.2.10: a handful of budget records, not hundreds ($total)" test "$total" -le 6

# ---- (c) idle connections ----
as vgalice "$IPC_PROBE" "$SOCK" idle 10 >"$W/idle" || true
ms=$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' "$W/idle")
check "SFR 4.2.10: a connection that never sends a byte is closed after idle_ms (${ms:-never} ms)" test "${ms:-0}" -ge 1900 -a "${ms:-99999}" -le 4000
as vgalice "$IPC_PROBE" "$SOCK" regular 6 1000 >"$W/regular" || true
check "SFR 4.2.10: a connection with a request every second stays open for 6 s" grep -Eq '^ok [5-9]' "$W/regular"
as vgbob "$IPC_PROBE" "$SOCK" idle 10 >"$W/idle-b" || true
check "SFR 4.2.10: idle connections of every uid are closed" grep -q '^closed after' "$W/idle-b"

# ---- (d) per-uid rules ----
as vgalice "$IPC_PROBE" "$SOCK" conns 14 >"$W/conns-alice"
check "SFR 4.2.10: a uid rule gives vgalice 12 connections, more than vgbob's 10" grep -q '^ok 12 refused 2' "$W/conns-alice"
check "SFR 4.2.10: her refusal names her limit" grep -q "^msg: 21 quota exceeded: too many connections for uid $ALICE (limit 12)" "$W/conns-alice"
# The CLI shows the reason too (the service may refuse before the request
# is even sent: the client still reads the reply).
mkfifo "$W/hold"
# Kept busy: with idle_ms at 2 s, idle ones were closed during the checks
# on a loaded machine (ASan), and the CLI then got in.
( as vgbob "$IPC_PROBE" "$SOCK" hold-busy 10 <"$W/hold" >"$W/holding" ) &
hp=$!
exec 9>"$W/hold"
# Held once the probe has its 10 and the service has accepted them all (a
# loaded machine, ASan: the accepts may trail the connects).
for i in $(seq 1 100); do
	if grep -q '^holding' "$W/holding" 2>/dev/null &&
		! as vgbob "$VOXGUARD" --socket "$SOCK" status >/dev/null 2>&1; then
		break
	fi
	sleep 0.1
done
cliok=0
for i in 1 2 3 4 5; do
	set +e; as vgbob "$VOXGUARD" --socket "$SOCK" status >"$W/cli" 2>&1; rc=$?; set -e
	[ "$rc" = 2 ] && grep -q "quota exceeded: too many connections for uid $BOB (limit 10)" "$W/cli" && cliok=$((cliok + 1))
done
exec 9>&-
wait $hp || true
check "SFR 4.2.10: the CLI over budget exits 2 with the quota message ($cliok of 5)" test "$cliok" = 5
check "the held connections were never closed meanwhile" sh -c "! grep -q '^lost' '$W/holding'"
P conns 30 >"$W/conns-root"
check "SFR 4.2.10: root's budget is larger (30 connections at once)" grep -q '^ok 30 refused 0' "$W/conns-root"

# ---- (e) rates: store_write_rate refuses, request_rate slows ----
stop_daemon
printf 'budget.uid.%s.store_write_rate = 1K\nbudget.uid.%s.request_rate = 64K\n' "$ALICE" "$BOB" >>"$CONF"
start_daemon
head -c 7000 /dev/urandom >"$W/7k"
# 4 s of 1 KiB/s pass at once; a 7 KB put then leaves a debt of 3 s.
check "SFR 4.2.10: a put within the write rate's burst is stored" as vgalice "$VOXGUARD" --socket "$SOCK" store put r1 --in "$W/7k"
set +e; as vgalice "$VOXGUARD" --socket "$SOCK" store put r2 --in "$W/7k" 2>"$W/rate"; rc=$?; set -e
check "SFR 4.2.10: a uid beyond its write rate is refused (exit 2)" test "$rc" = 2
check "SFR 4.2.10: ... with the rate and a retry hint" grep -q "writes more than 1024 bytes/s to storage (retry in [0-9]* ms)" "$W/rate"
check "SFR 4.2.10: ... while another uid writes" sh -c "head -c 7000 /dev/urandom | setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- '$VOXGUARD' --socket '$SOCK' store put c1"
check "SFR 4.2.10: status shows the write rate" sh -c "setpriv --reuid=vgalice --regid=vgalice --init-groups -- '$VOXGUARD' --socket '$SOCK' status | grep -q 'record writes   1024 bytes/s'"
# vgbob at 64 KiB/s: 256 KiB pass at once, a 1 MiB record then takes
# about 12 s more to be read, and is stored (slowed, not refused).
t0=$(date +%s)
check "SFR 4.2.10: beyond its request rate a uid's 1 MiB put is slowed, not refused" as vgbob "$VOXGUARD" --socket "$SOCK" store put slow --in "$W/1m"
t1=$(date +%s)
check "SFR 4.2.10: ... it took the rate's time ($((t1 - t0)) s, >= 9 s)" test "$((t1 - t0))" -ge 9
check "SFR 4.2.10: root's status is answered (control)" vg status

# A budget rule naming a group that does not exist stops the start.
stop_daemon
printf 'budget.group.no-such-group-vg.conns = 4\n' >>"$CONF"
set +e; "$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$CONF" >"$W/start" 2>&1; rc=$?; set -e
check "SFR 4.2.10: an unknown group in a budget rule is a start error" test "$rc" != 0
check "SFR 4.2.10: the error names the group" grep -q "no-such-group-vg" "$W/start"
sed -i '$d' "$CONF"
printf 'budget.default.connz = 4\n' >>"$CONF"
set +e; "$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$CONF" >"$W/start" 2>&1; rc=$?; set -e
check "SFR 4.2.10: an unknown budget resource is a start error naming the line" sh -c "test $rc != 0 && grep -q 'line [0-9]' '$W/start'"
finish
