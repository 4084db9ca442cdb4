#!/bin/sh
# device/guest-tests/bluetooth.sh: AVS 1.9-1.12 on a real kernel, inside
# the booted device image, as root (device/device-test.sh, step 7). The
# build machine's kernel has no Bluetooth; the image's Debian kernel has,
# with hci_vhci for virtual controllers.
#
# btvirt (bluez-test-tools) makes two virtual controllers in one process,
# which see each other over LE and BR/EDR. `voxguard bluetooth enforce`
# puts the first (the "speaker") in Secure Connections Only mode with LE
# Privacy; the second (the "phone") is first a legacy peer (LE legacy
# pairing: Secure Connections off), whose pairing must be refused, then a
# Secure Connections peer, whose pairing must succeed. A btmgmt in
# interactive mode, fed "yes" lines through a FIFO, answers the numeric
# comparison on both sides (both KeyboardDisplay: authenticated pairing,
# which Level 4 needs). Then the watcher: privacy switched off behind its
# back is switched on again.
#
# The kernel's SC-only rule on LE is in net/bluetooth/smp.c: a Pairing
# Request or Response without the SC flag gets "Authentication
# Requirements". (On BR/EDR the kernel refuses the link at encryption
# time instead, after the link key exists; the BR/EDR lines below are
# "# info" only.)
#
# Needs the Debian packages bluez (btmgmt) and bluez-test-tools (btvirt)
# in the test image: each check skips with a "# skip" comment otherwise.
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi; }
skip() { echo "# skip: $*"; }
need() { command -v "$1" >/dev/null 2>&1; }

VG=${VOXGUARD:-voxguard}
if ! need btmgmt || ! need btvirt; then
	skip "AVS 1.9-1.12 Bluetooth checks: btmgmt and btvirt are not in the image (Debian packages bluez, bluez-test-tools)"
	exit 0
fi
if ! need "$VG"; then
	skip "AVS 1.9-1.12 Bluetooth checks: no voxguard CLI in the image"
	exit 0
fi
if ! modprobe hci_vhci 2>/dev/null || [ ! -c /dev/vhci ]; then
	skip "AVS 1.9-1.12 Bluetooth checks: the kernel has no hci_vhci (/dev/vhci)"
	exit 0
fi

W=$(mktemp -d /run/vg-bt.XXXXXX)
BTVIRT='' AGENT='' FEEDER='' WATCH='' BLUEZ_WAS_ACTIVE=''
cleanup() {
	for p in $WATCH $FEEDER $AGENT $BTVIRT; do kill "$p" 2>/dev/null; done
	exec 3>&- 2>/dev/null
	wait 2>/dev/null
	[ -n "$BLUEZ_WAS_ACTIVE" ] && systemctl start bluetooth.service 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

# bluetoothd would answer pairing requests and change settings of its
# own: the checks below are about the kernel and voxguard alone.
if systemctl is-active --quiet bluetooth.service 2>/dev/null; then
	BLUEZ_WAS_ACTIVE=1
	systemctl stop bluetooth.service
fi
# SC Only is visible only in debugfs (hciN/sc_only_mode).
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null

ls /sys/class/bluetooth 2>/dev/null | grep -E '^hci[0-9]+$' | sort >"$W/before"
btvirt -l2 >"$W/btvirt.log" 2>&1 &
BTVIRT=$!
i=0
while :; do
	ls /sys/class/bluetooth 2>/dev/null | grep -E '^hci[0-9]+$' | sort >"$W/after"
	[ "$(comm -13 "$W/before" "$W/after" | wc -l)" -ge 2 ] && break
	i=$((i + 1))
	if [ $i -ge 100 ]; then
		not_ok "AVS 1.9: btvirt -l2 made two virtual controllers"
		sed 's/^/# /' "$W/btvirt.log"
		exit 0
	fi
	sleep 0.1
done
ok "AVS 1.9: btvirt -l2 made two virtual controllers"
SPK=$(comm -13 "$W/before" "$W/after" | sed -n 1p | sed 's/^hci//')
PHN=$(comm -13 "$W/before" "$W/after" | sed -n 2p | sed 's/^hci//')
echo "# speaker hci$SPK, phone hci$PHN"
sleep 3 # the kernel's auto-off after setup: controllers settle powered off

bm() { timeout 20 btmgmt --index "$@"; }
addr_of() { bm "$1" info | sed -n 's/.*addr \([0-9A-F:]\{17\}\) version.*/\1/p' | head -1; }

# ---- enforce and check on the speaker ----
"$VG" bluetooth enforce --index "$SPK" >"$W/enforce.out" 2>&1
rc=$?
if [ $rc = 0 ]; then ok "AVS 1.9-1.12: voxguard bluetooth enforce on hci$SPK"; else
	not_ok "AVS 1.9-1.12: voxguard bluetooth enforce on hci$SPK (exit $rc)"
	sed 's/^/# /' "$W/enforce.out"
fi
"$VG" bluetooth check --index "$SPK" --json >"$W/check.json" 2>"$W/check.err"
rc=$?
check "AVS 1.9-1.12: check says hci$SPK is compliant (exit 0)" test "$rc" = 0
check "AVS 1.9: Secure Connections on" grep -q '"secure_connections": true' "$W/check.json"
if [ -e "/sys/kernel/debug/bluetooth/hci$SPK/sc_only_mode" ]; then
	check "AVS 1.10/1.11: Secure Connections Only (debugfs sc_only_mode = Y)" \
		grep -qx Y "/sys/kernel/debug/bluetooth/hci$SPK/sc_only_mode"
	check "AVS 1.10/1.11: check reports SC Only" grep -q '"sc_only": true' "$W/check.json"
else
	skip "SC Only readback: no debugfs sc_only_mode (the pairing checks below still prove it)"
fi
check "AVS 1.12: LE Privacy on" grep -q '"privacy": true' "$W/check.json"
check "AVS 1.9: debug keys off" grep -q '"debug_keys": false' "$W/check.json"
bm "$SPK" power on >/dev/null
bm "$SPK" connectable on >/dev/null

# ---- the phone: a legacy LE peer first ----
phone() { # phone SC: sc off|on
	bm "$PHN" power off >/dev/null
	bm "$PHN" le on >/dev/null
	bm "$PHN" ssp on >/dev/null
	bm "$PHN" sc "$1" >/dev/null
	bm "$PHN" bondable on >/dev/null
	bm "$PHN" io-cap 4 >/dev/null
	bm "$PHN" connectable on >/dev/null
	bm "$PHN" power on >/dev/null
	bm "$PHN" advertising on >/dev/null
}
phone off
PADDR=$(addr_of "$PHN")
echo "# phone address $PADDR"

# The agent: one interactive btmgmt answers every confirmation prompt
# (it gets the User Confirm Request events of both controllers).
mkfifo "$W/agent.in"
btmgmt <"$W/agent.in" >"$W/agent.log" 2>&1 &
AGENT=$!
exec 3>"$W/agent.in"
(while :; do echo yes >&3 || exit 0; sleep 1; done) &
FEEDER=$!

pair() { # pair OUT: the speaker pairs with the phone over LE (public address)
	bm "$SPK" unpair -t 1 "$PADDR" >/dev/null 2>&1
	timeout 40 btmgmt --index "$SPK" pair -c 4 -t 1 "$PADDR" >"$1" 2>&1
}
if [ -z "$PADDR" ]; then
	not_ok "AVS 1.10/1.11: the phone's address is known (btmgmt info)"
else
	pair "$W/pair-legacy.out"
	if grep -q 'Paired with' "$W/pair-legacy.out"; then
		not_ok "AVS 1.10/1.11: LE legacy pairing with an SC-only speaker is refused"
	elif grep -Eq 'failed|Failed' "$W/pair-legacy.out"; then
		ok "AVS 1.10/1.11: LE legacy pairing with an SC-only speaker is refused"
	else
		not_ok "AVS 1.10/1.11: LE legacy pairing with an SC-only speaker is refused (no answer)"
	fi
	sed 's/^/# legacy: /' "$W/pair-legacy.out"

	phone on
	pair "$W/pair-sc.out"
	check "AVS 1.9/1.11: LE Secure Connections pairing (numeric comparison) succeeds" \
		grep -q 'Paired with' "$W/pair-sc.out"
	sed 's/^/# sc: /' "$W/pair-sc.out"
	if ! grep -q 'Paired with' "$W/pair-sc.out"; then
		tail -20 "$W/agent.log" | sed 's/^/# agent: /'
	fi
fi

# ---- BR/EDR, for information: the phone with SSP but no SC pairs to the
# speaker; the kernel drops such a link at encryption (P-192 key). ----
bm "$PHN" advertising off >/dev/null 2>&1
bm "$PHN" power off >/dev/null; bm "$PHN" sc off >/dev/null; bm "$PHN" power on >/dev/null
SADDR=$(addr_of "$SPK")
if [ -n "$SADDR" ]; then
	timeout 40 btmgmt --index "$PHN" pair -c 4 -t 0 "$SADDR" >"$W/pair-bredr.out" 2>&1
	sed 's/^/# info: BR\/EDR P-192 peer: /' "$W/pair-bredr.out"
	bm "$SPK" con 2>/dev/null | sed 's/^/# info: speaker connections after: /'
fi

# ---- the watcher repairs drift ----
"$VG" bluetooth enforce --watch >"$W/watch.out" 2>&1 &
WATCH=$!
sleep 3
bm "$SPK" power off >/dev/null
bm "$SPK" privacy off >/dev/null
i=0
until "$VG" bluetooth check --index "$SPK" --json 2>/dev/null | grep -q '"privacy": true'; do
	i=$((i + 1))
	[ $i -ge 20 ] && break
	sleep 0.5
done
check "AVS 1.12: the watcher turns privacy back on after someone turned it off" \
	sh -c "'$VG' bluetooth check --index '$SPK' --json | grep -q '\"privacy\": true'"
kill "$WATCH" 2>/dev/null
wait "$WATCH" 2>/dev/null
check "AVS 1.12: the watcher stops cleanly on SIGTERM" sh -c "! kill -0 $WATCH 2>/dev/null"
WATCH=
sed 's/^/# watch: /' "$W/watch.out"
exit 0
