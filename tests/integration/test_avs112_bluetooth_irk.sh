#!/bin/sh
# AVS 1.12 (LE Privacy) and 1.9-1.11: the service's side of `voxguard
# bluetooth`. The IRK the controller's resolvable private addresses come
# from is derived by the service from the root of trust
# (bluetooth.irk): only the admin role gets it, every request is audited,
# it is the same across service restarts and a new one after a factory
# reset (the erase secret is its context: the last owner's phone cannot
# follow the next owner's speaker). enforce and check report their
# outcome to the audit log (bluetooth.report), also when the kernel has
# no Bluetooth at all, as on the build machine.
. "$(dirname "$0")/lib.sh"
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
if [ "$IS_ROOT" = 1 ]; then ADMIN="as vgcarol"; USER="as vgalice"; else ADMIN=""; USER=""; fi
A() { $ADMIN $V "$@"; }
U() { $USER $V "$@"; }
start_daemon

A bluetooth irk-id >"$W/id1" 2>"$W/id1.err" || cat "$W/id1.err"
check "AVS 1.12: the admin gets the IRK's fingerprint" grep -Eqx '[0-9a-f]{16}' "$W/id1"
A bluetooth irk-id >"$W/id1b"
check "AVS 1.12: the IRK is stable (same fingerprint twice)" cmp -s "$W/id1" "$W/id1b"
if [ "$IS_ROOT" = 1 ]; then
	check_fails "AVS 1.12: an ordinary user is refused the IRK" 2 U bluetooth irk-id
	U bluetooth irk-id >/dev/null 2>"$W/user.err" || true
	check "AVS 1.12: the refusal says why" grep -q 'denied' "$W/user.err"
	# check, as a user: whatever the kernel says, its report is refused.
	U bluetooth check >/dev/null 2>&1 || true
else
	echo "# skip: not root: no second user for the refusal checks"
fi

# On a kernel without Bluetooth (this machine, usually) enforce and check
# fail with one clear line, and the failure is audited.
if [ -e /sys/class/bluetooth ] || grep -qw bluetooth /proc/modules 2>/dev/null; then
	NO_BT=0
	echo "# skip: this kernel has Bluetooth: the no-Bluetooth checks do not apply"
else
	NO_BT=1
	set +e; A bluetooth enforce >"$W/enf.out" 2>"$W/enf.err"; rc=$?; set -e
	check "AVS 1.9: enforce without Bluetooth fails (exit 2)" test "$rc" = 2
	check "AVS 1.9: and says why in one line" \
		grep -qx 'voxguard: bluetooth enforce: this kernel has no Bluetooth (AF_BLUETOOTH not supported)' "$W/enf.err"
	set +e; A bluetooth check >"$W/chk.out" 2>"$W/chk.err"; rc=$?; set -e
	check "AVS 1.9: check without Bluetooth fails (exit 2)" test "$rc" = 2
fi

stop_daemon
start_daemon
A bluetooth irk-id >"$W/id2"
check "AVS 1.12: the IRK survives a restart of the service" cmp -s "$W/id1" "$W/id2"

# The audit log (no admin credential exists yet: the admin role exports).
A log export --out "$W/log.vgl" >/dev/null
A log show --in "$W/log.vgl" --json >"$W/log.json"
check "AVS 1.12: every IRK request is audited (bluetooth.irk success)" \
	sh -c "grep 'bluetooth.irk' '$W/log.json' | grep -q success"
if [ "$IS_ROOT" = 1 ]; then
	check "AVS 1.12: the refused IRK request is audited" \
		sh -c "grep 'bluetooth.irk' '$W/log.json' | grep -q denied"
	check "AVS 1.9: a user's Bluetooth report is refused and audited" \
		sh -c "grep 'bluetooth.report' '$W/log.json' | grep -q denied"
	ALICE_UID=$(id -u vgalice)
	check "AVS 1.9: and it wrote no bluetooth.check record of its own" \
		sh -c "! grep '\"type\":\"bluetooth.check\"' '$W/log.json' | grep -q '\"uid\":$ALICE_UID,'"
fi
if [ "$NO_BT" = 1 ]; then
	check "AVS 1.9: the failed enforce is audited (bluetooth.enforce failure)" \
		sh -c "grep 'bluetooth.enforce' '$W/log.json' | grep failure | grep -q 'no Bluetooth'"
	check "AVS 1.9: the failed check is audited (bluetooth.check failure)" \
		sh -c "grep 'bluetooth.check' '$W/log.json' | grep -q failure"
fi

# A factory reset replaces the erase secret, and with it the IRK.
A factory-reset --yes >"$W/reset.out" 2>&1 || cat "$W/reset.out"
check "the factory reset ran" grep -q 'factory reset done' "$W/reset.out"
A bluetooth irk-id >"$W/id3"
check "AVS 1.12: a factory reset gives the device a new IRK" \
	sh -c "grep -Eqx '[0-9a-f]{16}' '$W/id3' && ! cmp -s '$W/id1' '$W/id3'"
stop_daemon
start_daemon
A bluetooth irk-id >"$W/id4"
check "AVS 1.12: the new IRK is stable after the reset" cmp -s "$W/id3" "$W/id4"
stop_daemon
finish
