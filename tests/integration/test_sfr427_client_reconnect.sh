#!/bin/sh
# SFR 4.2.7 (the provider's channel to the service), SFR 4.2.10 (the
# client checks who serves the socket): a long-lived vg_client and an
# OpenSSL provider key in one process (tests/tools/client_steps.c) outlive
# restarts of voxguardd on the same state dir. After a clean restart and
# after a crash, the next call succeeds without error; a request whose
# reply is lost (the service stopped with the request queued, then killed)
# fails with a clear "may or may not have taken effect" and is not sent
# again, and the call after it succeeds; while the service is down a call
# fails with the open error and the next one, once it is back, succeeds;
# a fake server of another uid at the path after a restart is refused
# exactly as at open, without a byte sent to it; the session token set
# before a restart goes with the first request after it.
#
# Root, whole script (throw-away users).
. "$(dirname "$0")/lib.sh"
: "${CLIENT_STEPS:?set by ctest}"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (throw-away users)"; exit 77; }
setup_users
start_daemon
V="$VOXGUARD --socket $SOCK"
check "setup: alice's key k" as vgalice $V key create k --type p256

IN=$T/steps.in
OUT=$T/steps.out
mkfifo "$IN"
chmod 644 "$IN"
: >"$OUT"
setpriv --reuid=vgalice --regid=vgalice --init-groups -- "$CLIENT_STEPS" "$SOCK" vgsvc \
	<"$IN" >"$OUT" 2>&1 &
CPID=$!
FAKE=
trap 'exec 3>&- 2>/dev/null; for p in $CPID $FAKE; do kill $p 2>/dev/null || true; done; cleanup' \
	EXIT INT TERM
exec 3>"$IN"
for _i in $(seq 100); do grep -q '^open' "$OUT" && break; sleep 0.05; done
check "setup: the client is open" grep -q '^open' "$OUT"

# step CMD: sends one command to the client, waits for its answer line
# (10 s at most) and leaves it in $R.
step() {
	_n=$(wc -l <"$OUT")
	echo "$1" >&3
	for _i in $(seq 200); do
		[ "$(wc -l <"$OUT")" -gt "$_n" ] && break
		sleep 0.05
	done
	R=$(tail -n 1 "$OUT")
}
is_ok() { [ "$R" = ok ]; }
said() { printf '%s\n' "$R" | grep -qF -- "$1"; }
kill_daemon() { # kill_daemon SIGNAL: the service gone, as a crash or an update
	kill "-$1" "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=
}
# restart: the service again on the same state dir, without the client's
# stdin (fd 3), which would keep the client from ever seeing its end.
restart() { start_daemon 3>&-; }

step status; check "SFR 4.2.7: a status call before any restart" is_ok
step "sign k"; check "SFR 4.2.7: a signature before any restart" is_ok
step "psign k"; check "SFR 4.2.7: a provider signature (voxguard:key=k) before any restart" is_ok

# ---- a clean restart (an update, systemd's Restart=) ----
kill_daemon TERM
restart
step status; check "SFR 4.2.7: after a clean restart the next call succeeds without error" is_ok
step "sign k"; check "SFR 4.2.7: ... and a signature with k" is_ok
step "psign k"; check "SFR 4.2.7: ... and the provider's key, loaded before the restart, signs" is_ok

# ---- a crash ----
kill_daemon KILL
restart
step "psign k"; check "SFR 4.2.7: after a crash the provider's key signs again" is_ok
step "sign k"; check "SFR 4.2.7: ... and the client's next call succeeds without error" is_ok

# ---- a reply lost in flight: at most once ----
kill -STOP "$DPID"
echo "sign k" >&3
sleep 0.5
kill_daemon KILL
for _i in $(seq 200); do tail -n 1 "$OUT" | grep -q '^err' && break; sleep 0.05; done
R=$(tail -n 1 "$OUT")
check "SFR 4.2.7: a request whose reply was lost fails (13, unavailable)" said "err 13:"
check "SFR 4.2.7: ... saying it may or may not have taken effect" \
	said "the service closed the connection (restarted?) before answering; the request may or may not have taken effect"
restart
step "sign k"; check "SFR 4.2.7: the next call reconnects and succeeds" is_ok

# ---- the service not back yet: the open error, then the next call works ----
kill_daemon TERM
step status
check "SFR 4.2.7: a call while the service is down fails with the open error" said "$SOCK: "
restart
step status; check "SFR 4.2.7: ... the next one, the service back, succeeds" is_ok

# ---- a fake server at the path after a restart ----
kill_daemon TERM
rm -f "$SOCK"
chmod 777 "$RUN"
setpriv --reuid=vgbob --regid=vgbob --init-groups -- /usr/bin/python3 -c '
import os, socket, sys
os.umask(0)
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
print("listening", flush=True)
n = 0
while True:
    c, _ = s.accept()
    c.settimeout(1.0)
    try:
        d = c.recv(4096)
    except OSError:
        d = b""
    n += len(d)
    print("bytes", n, flush=True)
    c.close()
' "$SOCK" >"$T/fake.out" 2>&1 3>&- &
FAKE=$!
for _i in $(seq 100); do grep -q listening "$T/fake.out" && break; sleep 0.05; done
chmod 755 "$RUN"
as vgalice $V status >/dev/null 2>"$T/open.err" || true
step status
check "SFR 4.2.10: a fake server (vgbob) at the path after a restart is refused (22, untrusted)" \
	said "err 22:"
check "SFR 4.2.10: ... with the open's reason: served by vgbob, not the service user" \
	said "is served by uid $(id -u vgbob) (vgbob), not by the voxguard service user 'vgsvc'"
check "SFR 4.2.10: ... the same refusal as a new client's open" \
	grep -qF "is served by uid $(id -u vgbob) (vgbob), not by the voxguard service user 'vgsvc'" "$T/open.err"
step "sign k"; check "SFR 4.2.10: ... and again on the next call" said "err 22:"
check "SFR 4.2.10: ... the fake server received no byte" sh -c "! grep -q 'bytes [1-9]' '$T/fake.out'"
kill "$FAKE" 2>/dev/null || true; wait "$FAKE" 2>/dev/null || true; FAKE=
rm -f "$SOCK"
restart
step "sign k"; check "SFR 4.2.7: the real service back, the next call succeeds" is_ok

# ---- the session token is kept across a reconnect ----
# A recorder run as the service user (accepted by the client's check) at
# the path after a restart keeps what arrives: the request carries the
# session token set before the restart.
TOKEN=$(printf '%064x' 4242)
step "session $TOKEN"
step status; check "SFR 4.2.13: a call with a session token set" is_ok
kill_daemon TERM
rm -f "$SOCK"
setpriv --reuid=vgsvc --regid=vgsvc --init-groups -- /usr/bin/python3 -c '
import os, socket, sys
os.umask(0)
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(1.0)
    try:
        d = c.recv(65536)
    except OSError:
        d = b""
    with open(sys.argv[2], "ab") as f:
        f.write(d)
    c.close()
' "$SOCK" "$RUN/recorded" >"$T/rec.out" 2>&1 3>&- &
FAKE=$!
for _i in $(seq 100); do grep -q listening "$T/rec.out" && break; sleep 0.05; done
step status
check "SFR 4.2.7: the recorder (no reply) makes the call fail as a lost reply" said "may or may not"
check "SFR 4.2.13: the request after the reconnect carried the session token" \
	grep -qF "$TOKEN" "$RUN/recorded"
kill "$FAKE" 2>/dev/null || true; wait "$FAKE" 2>/dev/null || true; FAKE=
rm -f "$SOCK"
restart
step "session -"
step status; check "SFR 4.2.7: the real service back, the next call succeeds" is_ok

exec 3>&-
wait "$CPID" 2>/dev/null; crc=$?
check "the client exited cleanly" test "$crc" = 0
stop_daemon
finish
