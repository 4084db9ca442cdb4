#!/bin/sh
# SFR 4.2.10 (isolation) and AVS SDK least privilege: the service's start-up
# checks, its ready line, clean shutdown, privilege drop and confinement.
. "$(dirname "$0")/lib.sh"
setup_users
write_config

# Refuses a state dir others can read, with one clear line.
make_state; chmod 750 "$STATE"
:
set +e
"$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$CONF" >"$T/out" 2>&1; rc=$?
set -e
check "SFR 4.2.10: a group-accessible state dir is refused (exit non-zero)" test "$rc" -ne 0
check "SFR 4.2.10: ... with one line naming the problem" sh -c "[ \$(wc -l <'$T/out') -eq 1 ] && grep -q 'must not be group or world accessible' '$T/out'"
chmod 700 "$STATE"

if [ "$IS_ROOT" = 1 ]; then
	chown vgalice "$STATE"
	set +e
	"$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$CONF" >"$T/out" 2>&1; rc=$?
	set -e
	check "SFR 4.2.10: a state dir owned by another user is refused" sh -c "[ $rc -ne 0 ] && grep -q 'owned by uid' '$T/out'"
	chown vgsvc:vgsvc "$STATE"
	# With no socket_group, the socket belongs to the service user's group
	# (not root's: then only root could connect).
	grep -v '^socket_group' "$CONF" >"$T/nogroup.conf"
	"$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$T/nogroup.conf" >"$T/out" 2>&1 &
	p=$!
	i=0; until grep -q ready "$T/out" || [ $i -gt 100 ]; do sleep 0.05; i=$((i + 1)); done
	check "SFR 4.2.10: without socket_group the socket belongs to the service user's group" \
		sh -c "[ \"\$(stat -c %G '$SOCK')\" = \"\$(id -gn vgsvc)\" ]"
	kill -TERM $p; wait $p || true
fi

printf 'bogus_setting = 1\n' >"$T/bad.conf"
set +e
"$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$T/bad.conf" >"$T/out" 2>&1; rc=$?
set -e
check "a bad configuration line is refused with its line number" sh -c "[ $rc -ne 0 ] && grep -q 'line 1' '$T/out'"

start_daemon
check "the service prints a ready line" grep -q 'voxguardd: ready' "$DLOG"
check "status answers" vg status
check "status calls the file root of trust a development backend" sh -c "'$VOXGUARD' --socket '$SOCK' status | grep -q 'DEVELOPMENT backend'"
check "the socket is not world-accessible" sh -c "[ -z \"\$(find '$SOCK' -perm /007)\" ]"
# A second start on the same socket (another state dir) is refused and
# leaves the running service reachable: it used to replace the live
# socket, fail, and remove the name at its exit.
mkdir -m 700 "$T/state2"
[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$T/state2"
set +e; timeout 5 "$VOXGUARDD" --state-dir "$T/state2" --socket "$SOCK" --config "$CONF" >"$T/second" 2>&1; rc=$?; set -e
check "a second service on the socket of a running one is refused" sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'already listening' '$T/second'"
check "... and the running service is still reachable there" vg status

# Confinement of the running service, read from /proc.
st=/proc/$DPID/status
check "SFR 4.2.10: no_new_privs is set" grep -q '^NoNewPrivs:[[:space:]]*1' "$st"
check "SFR 4.2.10: no effective capabilities" grep -q '^CapEff:[[:space:]]*0000000000000000' "$st"
check "SFR 4.2.10: no permitted capabilities" grep -q '^CapPrm:[[:space:]]*0000000000000000' "$st"
if [ "$IS_ROOT" = 1 ]; then
	svc_uid=$(id -u vgsvc)
	check "SFR 4.2.10: started as root, it runs as the configured user" sh -c "grep '^Uid:' $st | grep -q \"[[:space:]]$svc_uid[[:space:]]*$svc_uid[[:space:]]*$svc_uid[[:space:]]*$svc_uid\""
	check "SFR 4.2.10: with no supplementary groups" sh -c "grep '^Groups:' $st | grep -qv '[0-9]'"
	check "SFR 4.2.10: files it creates belong to it" sh -c "[ -z \"\$(find '$STATE' ! -user vgsvc)\" ]"
fi

# Under systemd (Type=notify): READY=1 once serving, STOPPING=1 at stop.
stop_daemon
: "${IPC_PROBE:?set by ctest}"
"$IPC_PROBE" "$T/notify" notify 8 >"$T/notify.out" &
np=$!
i=0; until grep -q listening "$T/notify.out" 2>/dev/null || [ $i -gt 50 ]; do sleep 0.1; i=$((i + 1)); done
NOTIFY_SOCKET=$T/notify
export NOTIFY_SOCKET
start_daemon
unset NOTIFY_SOCKET
check "sd_notify: READY=1 is sent to systemd once the service serves" sh -c "sleep 0.3; grep -q '^READY=1' '$T/notify.out'"

# Clean shutdown on SIGTERM, and on SIGINT.
stop_daemon
wait $np || true
check "sd_notify: STOPPING=1 is sent at shutdown" grep -q '^STOPPING=1' "$T/notify.out"
check "SIGTERM stops the service cleanly" grep -q 'voxguardd: stopped' "$DLOG"
check "the socket is removed" test ! -e "$SOCK"
start_daemon
kill -INT "$DPID"; set +e; wait "$DPID"; rc=$?; set -e; DPID=
check "SIGINT stops the service cleanly (exit 0)" test "$rc" -eq 0
start_daemon
check "SFR 4.2.9: the seal written at shutdown verifies after restart" sh -c "'$VOXGUARD' --socket '$SOCK' log export --out '$T/l' && '$VOXGUARD' log verify '$T/l'"
stop_daemon
finish
