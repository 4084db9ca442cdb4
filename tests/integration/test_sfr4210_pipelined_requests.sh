#!/bin/sh
# SFR 4.2.10 and the AVS SDK rule "must not stall or stop responding": a
# client that sends its next requests before the reply of a signature (on
# the worker pool) is answered in order on its own connection; garbage or a
# hang-up sent meanwhile ends that connection alone; the service neither
# spins nor stops serving others. (While a request is on the pool the
# connection's input stays armed; bytes that come early disarm it until
# the reply is sent: src/daemon/server.c, C_WAITING.)
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
start_daemon
P() { "$IPC_PROBE" "$SOCK" "$@"; }

check "control: a key to sign with" vg key create pipe --type p256
check "control: one signature, not pipelined" sh -c "[ \"\$('$IPC_PROBE' '$SOCK' pipeline pipe 1 none)\" = 0 ]"

out=$(P pipeline pipe 64 status)
check "SFR 4.2.10: 64 signatures and a status sent at once are all answered, in order ($out)" \
	[ "$out" = "$(printf '0 %.0s' $(seq 64))0" ]

out=$(P pipeline pipe 8 garbage)
check "SFR 4.2.10: garbage sent behind 8 signatures: the 8 answered, then a protocol error ($out)" \
	[ "$out" = "0 0 0 0 0 0 0 0 11" ]

out=$(P pipeline pipe 8 hangup)
check "SFR 4.2.10: a hang-up sent behind signatures ends that connection ($out)" \
	sh -c "echo '$out' | grep -Eq '^(0 )*(0|closed)$|closed$'"
check "SFR 4.2.10: the service still serves after the hang-up" vg status

# Many connections with requests waiting in the socket while their first
# is on the pool: all answered.
i=0; pids=
while [ $i -lt 6 ]; do P pipeline pipe 200 status >"$T/pipe.$i" & pids="$pids $!"; i=$((i + 1)); done
wait $pids
ok=0; for f in "$T"/pipe.*; do [ "$(tr ' ' '\n' <"$f" | grep -c '^0$')" = 201 ] && ok=$((ok + 1)); done
check "SFR 4.2.10: 6 connections x 201 pipelined requests all answered ($ok of 6)" [ "$ok" = 6 ]

# No busy loop on early bytes: status requests sent behind an admin login
# wait in the socket while the password is hashed on a worker (about 0.1 s
# of scrypt each). The event loop's own thread (tid = pid) must sleep
# meanwhile; one that polled the armed input would burn the whole hash
# time (measured: 1-2 ticks for the 5 logins; 76 with the disarm removed).
W=$T/work; mkdir -p "$W"
printf 'correct horse battery staple 42\n' >"$W/pw"
vg provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
check "control: an admin is set up" vg admin setup --code "$(cat "$W/code")" --password-file "$W/pw"
loop_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/task/$DPID/stat"; }
t0=$(loop_ticks)
good=0
for i in 1 2 3 4 5; do
	out=$(P pipeline-login "$W/pw" 20)
	[ "$out" = "$(printf '0 %.0s' $(seq 20))0" ] && good=$((good + 1))
done
t1=$(loop_ticks)
for t in /proc/$DPID/task/*; do echo "# task $t $(awk "{print \$2, \$14 + \$15}" $t/stat)"; done
check "SFR 4.2.10: 5 logins each with 20 status requests behind it: all answered in order ($good of 5)" [ "$good" = 5 ]
echo "# the event loop used $((t1 - t0)) ticks during 5 pipelined logins"
check "SFR 4.2.10: the event loop sleeps while the early bytes wait (< 20 ticks: $((t1 - t0)))" \
	[ $((t1 - t0)) -lt 20 ]
check "the service still serves" vg status
finish
