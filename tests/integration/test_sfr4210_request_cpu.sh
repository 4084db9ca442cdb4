#!/bin/sh
# SFR 4.2.10 (an attacker running code as one application cannot compromise
# the others): request_rate bounds the event loop's time one uid can take,
# also when it sends its bytes one at a time. It counted bytes only: one
# uid sending a frame one byte per send() on 8 connections, at 5% of its
# rate, kept the service's event loop at 98% of a core (one read, one
# wake-up per byte), CPU the service (CPUWeight=200) then took from every
# other application. A read now also costs VG_BUDGET_READ_OVERHEAD bytes:
# 60 000 read calls a second instead of 330 000, 35-60% of a core instead
# of 99% (what is left is the kernel's, per byte sent: the attacker pays
# as much).
# Control: the attacker is slowed, not refused; others are served.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
setup_users
IO_TIMEOUT_MS=3000
start_daemon
W=$T/work; mkdir -p "$W"
if [ "$IS_ROOT" = 1 ]; then APP="as vgalice"; OTHER="as vgbob"; else APP=; OTHER=; fi

idle=$(cpu_pct "$DPID" 1000)
$APP "$IPC_PROBE" "$SOCK" dribble 6 7 >"$W/dribble" 2>&1 &
ap=$!
# The first 4 s of the rate pass at once; measure after them.
sleep 2
# The service's reads (read system calls, /proc/PID/io: root may read a
# non-dumpable process's) and CPU over the same 3 s.
r0=$(awk '/^syscr/ {print $2}' "/proc/$DPID/io" 2>/dev/null || echo -)
busy=$(cpu_pct "$DPID" 3000)
r1=$(awk '/^syscr/ {print $2}' "/proc/$DPID/io" 2>/dev/null || echo -)
echo "# service CPU: idle $idle%, one uid sending one byte at a time on 6 connections $busy%"
if [ "$r0" != - ] && [ "$r1" != - ]; then
	reads=$(((r1 - r0) / 3))
	echo "# service reads: $reads a second"
	# 8 MiB/s / 256 per read: at most 32768 reads a second that return
	# bytes, each followed by one that finds no more, plus the event
	# loop's own reads (its wake-up descriptors): 60 000-100 175 measured
	# (100 175 once under ASan, over the old bound of 100 000), against
	# 330 000 before the fix. The bound is half of that.
	check "SFR 4.2.10: one uid dribbling bytes gets about request_rate / 256 reads a second ($reads read calls)" test "$reads" -lt 165000
	# The CPU varies with the machine's load: a whole core (98%) before.
	check "SFR 4.2.10: ... and not the service's whole core ($busy% of a core, idle $idle%)" test "$busy" -lt 80
else
	check "SFR 4.2.10: one uid dribbling bytes takes a bounded share of the service's CPU ($busy% of a core, idle $idle%)" test "$busy" -lt 70
fi
check "SFR 4.2.10: ... another application is served meanwhile" $OTHER "$VOXGUARD" --socket "$SOCK" status
check "SFR 4.2.10: ... and so is the attacker, slowed, not refused (control)" $APP "$VOXGUARD" --socket "$SOCK" status
wait $ap || true
check "the dribble ran" grep -q '^sent [1-9]' "$W/dribble"
cat "$W/dribble"
check "the service still serves" vg status
stop_daemon
finish
