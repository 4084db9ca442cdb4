#!/bin/sh
# AVS 1.15, SFR 4.2.9, 4.2.10: the microphone's mute state in a real
# service (ops mic.report and mic.state, src/daemon/op_mic.c), through
# the CLI (libvoxguard's vg_mic_report and vg_mic_state_get). Only root,
# an admin or a uid in mic_uids may report (vgbob is listed, vgalice is
# not): an application cannot make the log, or the voice app's gate,
# believe the microphone is muted. Anyone reads the state back. Each
# change is audited as mic.mute / mic.unmute with its source and uid; a
# repeated state is not; a refusal is mic.denied. After a restart the
# state is unknown until reported again.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (several users)"; exit 77; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
BOB_UID=$(id -u vgbob); ALICE_UID=$(id -u vgalice)
EXTRA_CONFIG="mic_uids = $BOB_UID"
write_config
start_daemon

state() { as "${1:-vgalice}" $V mic status | sed -n 's/^state: //p'; }
check "AVS 1.15: before any report the state is unknown (a gate treats it as muted)" \
	test "$(state)" = unknown
check_fails "AVS 1.15: an unlisted uid (vgalice) may not report: refused" 2 \
	as vgalice $V mic report unmuted --source /dev/input/event3
check "AVS 1.15: ... and the state did not change" test "$(state)" = unknown
as vgalice $V mic report unmuted --source /dev/input/event3 2>"$W/denied.err" || true
check "AVS 1.15: the refusal names the cause (mic_uids)" grep -q "mic_uids" "$W/denied.err"
check "AVS 1.15: root may report (muted)" $V mic report muted --source /dev/input/event3
check "AVS 1.15: any uid reads the state back: muted" test "$(state vgalice)" = muted
as vgalice $V mic status >"$W/status"
check "AVS 1.15: the status names the switch" grep -q "^source: /dev/input/event3$" "$W/status"
as vgalice $V mic status --json >"$W/status.json"
check "AGD_OPE.1: mic status --json: state, source and time" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "muted" and s["source"] == "/dev/input/event3" and s["since"] > 0, s
' "$W/status.json"
check "AVS 1.15: root reports the same state again (answered, not audited again)" \
	$V mic report muted --source /dev/input/event3
check "AVS 1.15: a uid in mic_uids (vgbob) may report (unmuted)" \
	as vgbob $V mic report unmuted --source /dev/input/event3
check "AVS 1.15: ... and the state is unmuted" test "$(state vgbob)" = unmuted
check_fails "AVS 1.15: a source that is not printable is refused" 2 \
	$V mic report muted --source "$(printf 'a\tb')"
check_fails "AVS 1.15: a state other than muted/unmuted is a usage error" 2 \
	$V mic report off --source x
check "AVS 1.15: root mutes again" $V mic report muted --source /dev/input/event3

# ---- the audit trail ----
$V log show --json >"$W/a.json"
n_mute=$(grep -c '"mic.mute"' "$W/a.json" || true)
n_unmute=$(grep -c '"mic.unmute"' "$W/a.json" || true)
check "SFR 4.2.9: each change is audited: two mic.mute (not three), one mic.unmute" \
	test "$n_mute" = 2 -a "$n_unmute" = 1
check "SFR 4.2.9: mic.mute names the source and root" \
	sh -c "grep '\"mic.mute\"' '$W/a.json' | grep 'muted by /dev/input/event3 (uid 0)' | grep -q '\"uid\":0'"
check "SFR 4.2.9: mic.unmute names the source and vgbob" \
	sh -c "grep '\"mic.unmute\"' '$W/a.json' | grep -q 'unmuted by /dev/input/event3 (uid $BOB_UID)'"
check "SFR 4.2.9: the refusal is mic.denied under vgalice's uid" \
	sh -c "grep '\"mic.denied\"' '$W/a.json' | grep -q '\"uid\":$ALICE_UID'"
$V log export --out "$W/a.vgl"
check "SFR 4.2.9: the audit log verifies" "$VOXGUARD" log verify "$W/a.vgl"

# ---- a restart forgets: unknown until the watcher reports again ----
stop_daemon
start_daemon
check "AVS 1.15: after a restart the state is unknown again" test "$(state)" = unknown
check "AVS 1.15: the watcher's next report is audited again" \
	sh -c "$V mic report muted --source /dev/input/event3 && \
		$V log show --json | grep -c '\"mic.mute\"' | grep -qx 3"
stop_daemon
finish
