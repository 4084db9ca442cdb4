#!/bin/sh
# device/guest-tests/mic.sh: AVS 1.15 in the booted device image, as root
# (device/device-test.sh, step 7; format of kernel-features.sh). The
# build machine's kernel has no uinput; Debian's has. A mute switch is
# played through uinput by tests/tools/uinput_switch (built on the host
# against glibc only, copied in by the host as /run/uinput_switch): an
# input device "voxguard-test-mute" with SW_MUTE_DEVICE and LED_MUTE, as
# gpio-keys would make it. `voxguard mic watch --switch DEV --led-input`
# reads it; each state must come back as LED_MUTE on the device (the
# player prints "led 1" / "led 0"), reach the service (mic status) and be
# audited (mic.mute / mic.unmute); the watcher's exit leaves the LED on.
#
# Prints "ok - ..." / "not ok - ..." lines and "# ..." comments.
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi; }

SOCK=/run/voxguard/voxguard.sock
V="voxguard --socket $SOCK"
D=/run/vg-mic
SRC_BIN=${UINPUT_SWITCH:-/run/uinput_switch}
PPID_PLAYER=
WPID=

cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	[ -n "$PPID_PLAYER" ] && { echo quit >&3; sleep 0.2; kill "$PPID_PLAYER" 2>/dev/null; }
	exec 3>&- 2>/dev/null
	umount "$D/bin" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

if [ ! -f "$SRC_BIN" ]; then
	not_ok "AVS 1.15: $SRC_BIN is in the guest (the host copies tests/tools/uinput_switch in)"
	exit 0
fi
modprobe uinput 2>/dev/null
i=0; while [ ! -c /dev/uinput ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
if [ ! -c /dev/uinput ]; then
	not_ok "AVS 1.15: /dev/uinput is there for the mute switch player"
	exit 0
fi

# /run may be noexec: the player runs from a tmpfs of its own.
rm -rf "$D"; mkdir -p "$D/bin"
mount -t tmpfs -o exec,mode=0700 vg-mic "$D/bin"
cp "$SRC_BIN" "$D/bin/uinput_switch"; chmod 0700 "$D/bin/uinput_switch"

mkfifo "$D/in"
"$D/bin/uinput_switch" <"$D/in" >"$D/player.out" 2>"$D/player.err" &
PPID_PLAYER=$!
exec 3>"$D/in"

# wait_line WHAT FILE [N]: up to 5 s for the N-th (default first) line WHAT.
wait_line() {
	i=0
	while :; do
		n=$(grep -cx "$1" "$2" 2>/dev/null)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.05
	done
}

i=0
while ! grep -q '^ready ' "$D/player.out" && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
# Found by name, as an integrator finds a gpio-keys device.
DEV=
for n in /sys/class/input/event*/device/name; do
	if [ "$(cat "$n" 2>/dev/null)" = voxguard-test-mute ]; then
		e=${n%/device/name}; DEV=/dev/input/${e##*/}
	fi
done
check "AVS 1.15: the uinput mute switch is /dev/input/eventN, found by its name" \
	sh -c "[ -n '$DEV' ] && [ -c '$DEV' ] && grep -qx 'ready $DEV' '$D/player.out'"
echo "# mute switch: ${DEV:-none}; player: $(cat "$D/player.err" 2>/dev/null)"
[ -n "$DEV" ] || exit 0

$V mic watch --switch "$DEV" --led-input >"$D/watch.out" 2>"$D/watch.err" &
WPID=$!
check "AVS 1.15: the watcher starts and reads the switch: unmuted" wait_line unmuted "$D/watch.out"
check "AVS 1.15: the service knows the state (mic status: unmuted)" \
	sh -c "$V mic status | grep -qx 'state: unmuted' && $V mic status | grep -qx 'source: $DEV'"

echo mute >&3
check "AVS 1.15: the switch played to mute: the watcher sees muted" wait_line muted "$D/watch.out"
check "AVS 1.15: LED_MUTE 1 read back on the device" wait_line "led 1" "$D/player.out"
check "AVS 1.15: the service says muted" sh -c "$V mic status | grep -qx 'state: muted'"

echo unmute >&3
check "AVS 1.15: played to unmute: the watcher sees unmuted again" wait_line unmuted "$D/watch.out" 2
check "AVS 1.15: LED_MUTE 0 read back on the device" wait_line "led 0" "$D/player.out"
check "AVS 1.15: the service says unmuted" sh -c "$V mic status | grep -qx 'state: unmuted'"

$V log show >"$D/log" 2>&1 || VOXGUARD_SESSION=/run/vg-admin.session $V log show >"$D/log" 2>&1
check "AVS 1.15, SFR 4.2.9: the mute is audited (mic.mute, naming the switch)" \
	sh -c "grep 'mic.mute' '$D/log' | grep -q '$DEV'"
check "AVS 1.15, SFR 4.2.9: the unmute is audited (mic.unmute)" grep -q 'mic.unmute' "$D/log"

kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null; WPID=
check "AVS 1.15: the watcher's exit leaves LED_MUTE on (fail safe)" wait_line "led 1" "$D/player.out" 2
echo "# watcher: $(tail -n 3 "$D/watch.err" 2>/dev/null | tr '\n' ' ')"
exit 0
