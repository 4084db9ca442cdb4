#!/bin/sh
# AVS 1.15, SFR 4.2.9: the watcher, `voxguard mic watch --gpio CHIP:LINE
# --led DIR`, against a mock GPIO chip (tests/tools/fake_gpiod.c: libgpiod
# 1.x's ABI as libgpiod.so.2, found through LD_LIBRARY_PATH; the build
# machine's kernel has neither gpio-sim nor gpio-mockup) and a LED class
# directory of its own. The switch's level drives the indicator (the
# brightness file: max_brightness when muted, 0 when not) and the service
# (mic status; mic.mute / mic.unmute audited); --active-low inverts the
# level; the watcher's exit leaves the indicator showing mute. The input
# device backend (SW_MUTE_DEVICE, LED_MUTE) is exercised in the device
# image with uinput: device/guest-tests/mic.sh.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (the service's users)"; exit 77; }
FAKE=${VG_BUILD:?set by ctest}/tests/fake-gpiod
[ -f "$FAKE/libgpiod.so.2" ] || { echo "not ok - $FAKE/libgpiod.so.2 is not built"; exit 1; }
setup_users
W=$T/work; mkdir -p "$W"
V="$VOXGUARD --socket $SOCK"
start_daemon

LED=$W/led; mkdir -p "$LED"; echo 255 >"$LED/max_brightness"; echo 0 >"$LED/brightness"
FIFO=$W/gpio.fifo; mkfifo "$FIFO"
# Keeps the FIFO open for writing for the whole test.
exec 7<>"$FIFO"
WPID=
start_watch() { # LEVEL [--active-low]
	: >"$W/watch.out"
	FAKE_GPIOD_FIFO=$FIFO FAKE_GPIOD_LEVEL=$1 LD_LIBRARY_PATH=$FAKE \
		$V mic watch --gpio fakechip:3 ${2:-} --led "$LED" >"$W/watch.out" 2>"$W/watch.err" &
	WPID=$!
}
stop_watch() { [ -n "$WPID" ] && kill -TERM "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null || true; WPID=; }
# wait_for WHAT FILE: up to 5 s for a line WHAT in FILE.
wait_for() {
	i=0
	while ! grep -qx "$1" "$2" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.05
	done
}
led() { head -n1 "$LED/brightness"; }
svc() { $V mic status | sed -n 's/^state: //p'; }
edge() { printf '%s' "$1" >&7; }

start_watch 1
check "AVS 1.15: the watcher reads the line at start (level 1: muted)" wait_for muted "$W/watch.out"
check "AVS 1.15: the indicator shows mute (brightness = max_brightness)" test "$(led)" = 255
check "AVS 1.15: the service knows: muted, from fakechip:3" \
	sh -c "$V mic status | grep -q '^source: fakechip:3$' && test \"\$($V mic status | sed -n 's/^state: //p')\" = muted"
edge 0
check "AVS 1.15: an edge to 0 is unmuted" wait_for unmuted "$W/watch.out"
check "AVS 1.15: the indicator is off (0)" test "$(led)" = 0
check "AVS 1.15: the service says unmuted" test "$(svc)" = unmuted
edge 1
check "AVS 1.15: an edge back to 1 is muted again" sh -c "sleep 0.3; test \"\$(tail -n1 '$W/watch.out')\" = muted"
check "AVS 1.15: the indicator shows mute again" test "$(led)" = 255
edge 0
wait_for unmuted "$W/watch.out" || true
sleep 0.3
check "AVS 1.15: unmuted again: indicator 0" test "$(led)" = 0
stop_watch
check "AVS 1.15: the watcher's exit leaves the indicator showing mute (fail safe)" test "$(led)" = 255

# active-low: level 0 is muted
start_watch 0 --active-low
check "AVS 1.15: --active-low: level 0 at start is muted" wait_for muted "$W/watch.out"
check "AVS 1.15: --active-low: indicator shows mute" test "$(led)" = 255
edge 1
check "AVS 1.15: --active-low: level 1 is unmuted" wait_for unmuted "$W/watch.out"
check "AVS 1.15: --active-low: indicator off" test "$(led)" = 0
stop_watch

# Refusals name their cause.
check_fails "AVS 1.15: an unknown chip is refused" 2 env FAKE_GPIOD_FIFO="$FIFO" \
	LD_LIBRARY_PATH="$FAKE" $V mic watch --gpio nochip:3 --led "$LED"
check_fails "AVS 1.15: a malformed --gpio is refused" 2 $V mic watch --gpio fakechip --led "$LED"
check_fails "AVS 1.15: --led-input without an input device is refused" 2 \
	$V mic watch --gpio fakechip:3 --led-input
check_fails "AVS 1.15: two indicators are refused" 2 \
	$V mic watch --gpio fakechip:3 --led "$LED" --led-input

# ---- the audit trail: every change, with its source ----
$V log show --json >"$W/a.json"
check "SFR 4.2.9: three mutes audited as mic.mute from fakechip:3 (two starts, one edge)" \
	test "$(grep '"mic.mute"' "$W/a.json" | grep -c 'muted by fakechip:3')" -ge 3
check "SFR 4.2.9: three unmutes audited as mic.unmute from fakechip:3" \
	test "$(grep '"mic.unmute"' "$W/a.json" | grep -c 'unmuted by fakechip:3')" -ge 3
exec 7>&-
stop_daemon
finish
