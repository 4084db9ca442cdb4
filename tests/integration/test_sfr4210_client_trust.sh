#!/bin/sh
# SFR 4.2.10, 4.2.13: the client side holds against a hostile local user.
# (1) The client authenticates its server: a socket bound by another uid
#     at the path the CLI is given never receives a password or setup
#     code (SO_PEERCRED checked before the first byte).
# (2) Files the CLI writes: never through a symlink, never into a FIFO or
#     a device, never into an existing file in a directory others can
#     write; atomic and 0600 elsewhere.
# (3) The session token goes only into a 0700 directory of the caller's.
# Each attack is checked to fail, and each has a control that works.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (other users attack)"; exit 77; }
setup_users
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: needs $PY"; exit 77; }
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"     # like /tmp
P=$T/alice; mkdir -p "$P"; chown vgalice "$P"; chmod 700 "$P"
CX=$T/carol-run; mkdir -p "$CX"; chown vgcarol "$CX"; chmod 700 "$CX"
FAKE= READER=
trap 'kill $FAKE $READER 2>/dev/null || true; cleanup' EXIT INT TERM
V="$VOXGUARD --socket $SOCK"
BOB=$(id -u vgbob)
# C CMD...: the admin, with her runtime directory.
C() { env XDG_RUNTIME_DIR="$CX" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- "$@"; }
GOOD='correct horse battery staple 42!'
printf '%s\n' "$GOOD" >"$T/pw"; chmod 644 "$T/pw"
EXTRA_CONFIG="admin_pw_cost = 10"
start_daemon

C $V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$CX/code" >/dev/null
CODE=$(cat "$CX/code")

# ---- (1) a fake server bound by vgbob ----
F=$T/fake; mkdir -p "$F"; chown vgbob "$F"; chmod 755 "$F"
: >"$T/fake.got"; chown vgbob "$T/fake.got"
cat >"$T/fake.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen(8)
s.settimeout(60)
with open(sys.argv[2], "ab") as out:
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            break
        c.settimeout(2)
        try:
            while True:
                b = c.recv(4096)
                if not b:
                    break
                out.write(b); out.flush()
        except OSError:
            pass
        c.close()
PY
setpriv --reuid=vgbob --regid=vgbob --init-groups -- "$PY" "$T/fake.py" "$F/vg.sock" "$T/fake.got" \
	</dev/null >/dev/null 2>&1 &
FAKE=$!
i=0; while [ ! -S "$F/vg.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
got() { [ "$(stat -c %s "$T/fake.got")" = 0 ]; }
set +e
C env VOXGUARD_SOCKET="$F/vg.sock" $VOXGUARD admin setup --code "$CODE" --password-file "$T/pw" >"$T/out" 2>&1; rc=$?
set -e
check "SFR 4.2.10: admin setup refuses a socket served by another uid (exit 2)" [ "$rc" = 2 ]
check "SFR 4.2.10: the refusal names the uid that serves it" grep -q "served by uid $BOB (vgbob)" "$T/out"
check "SFR 4.2.10: the fake server received no setup code (zero bytes)" got
check "SFR 4.2.13: control: admin setup with the real service works" C $V admin setup --code "$CODE" --password-file "$T/pw"
set +e
C env VOXGUARD_SOCKET="$F/vg.sock" $VOXGUARD admin login --password-file "$T/pw" >"$T/out" 2>&1; rc=$?
set -e
check "SFR 4.2.10: admin login refuses a socket served by another uid (exit 2)" [ "$rc" = 2 ]
check "SFR 4.2.10: and says whose it is and why it refuses" grep -q "served by uid $BOB (vgbob), not by the voxguard service user 'vgsvc'.*refusing" "$T/out"
check_fails "SFR 4.2.10: so does root's login, with --socket" 2 $VOXGUARD --socket "$F/vg.sock" admin login --password-file "$T/pw"
check_fails "SFR 4.2.10: a session token is never sent to it either" 2 C env VOXGUARD_SOCKET="$F/vg.sock" $VOXGUARD log export --out "$CX/x.vgl"
check "SFR 4.2.10: the fake server received zero bytes: no password, no token" got
check "SFR 4.2.13: control: the real service's login works" C $V admin login --password-file "$T/pw"
# The fake does work: told to trust vgbob, a client talks to it.
C env VOXGUARD_SOCKET="$F/vg.sock" $VOXGUARD --service-user vgbob status >/dev/null 2>&1 || true
check "control: --service-user vgbob makes the client talk to it" sh -c "[ \$(stat -c %s '$T/fake.got') -gt 0 ]"
kill "$FAKE" 2>/dev/null || true; wait "$FAKE" 2>/dev/null || true

# ---- (2) output files ----
A() { setpriv --reuid=vgalice --regid=vgalice --init-groups -- "$@"; }
A $V key create ak --type p256 >/dev/null
A $V key public ak --out "$P/ref.pem"
as vgbob mkfifo "$W/fifo"; chmod 666 "$W/fifo"
# (a plain command, so that $! is the reader itself, killed below)
setpriv --reuid=vgbob --regid=vgbob --init-groups -- sh -c 'exec cat "$0" >"$1" 2>/dev/null' \
	"$W/fifo" "$F/fifo.got" </dev/null >/dev/null 2>&1 &
READER=$!
check_fails "--out into another user's FIFO in a sticky shared directory is refused" 2 \
	A timeout 10 $V key public ak --out "$W/fifo"
A $V key public ak --out "$W/fifo" 2>"$T/out" || true
check "the refusal says it is a FIFO" grep -q "refusing to write $W/fifo: it is a FIFO" "$T/out"
printf 'victim\n' >"$P/victim"; chown vgalice "$P/victim"
as vgbob ln -s "$P/victim" "$W/link"
check_fails "--out through a symlink to a file is refused" 2 A $V key public ak --out "$W/link"
A $V key public ak --out "$W/link" 2>"$T/out" || true
check "the refusal says it is a symbolic link" grep -q "it is a symbolic link" "$T/out"
A ln -s "$P/victim" "$P/mylink"
check_fails "--out through a symlink in a private directory is refused too" 2 A $V key public ak --out "$P/mylink"
check "the symlinks' target is untouched" grep -qx victim "$P/victim"
as vgbob sh -c "printf planted >'$W/exists'; chmod 666 '$W/exists'"
check_fails "--out into an existing file in a directory others can write is refused" 2 A $V key public ak --out "$W/exists"
A $V key public ak --out "$W/exists" 2>"$T/out" || true
check "the refusal names the reason" grep -q "exists in a directory others can write ($W)" "$T/out"
check "the planted file is untouched" grep -qx planted "$W/exists"
TMPF=$(mktemp /tmp/vgtest-exists.XXXXXX); chmod 644 "$TMPF"
check_fails "--out into an existing file in /tmp is refused, even root's own" 2 $V identity --csr-out "$TMPF"
check "and it stays empty" [ ! -s "$TMPF" ]
rm -f "$TMPF"
check_fails "--out into a device (/dev/zero) is refused" 2 A $V key public ak --out /dev/zero
check "--out /dev/null discards the output" A $V key public ak --out /dev/null
# The audit seed is handed out once: a refused --out must not spend it.
check_fails "SFR 4.2.9: log seed into vgbob's FIFO is refused" 2 C timeout 10 $V log seed --out "$W/fifo"
kill "$READER" 2>/dev/null || true; wait "$READER" 2>/dev/null || true
check "the FIFO's reader received nothing" [ ! -s "$F/fifo.got" ]
check "SFR 4.2.9: the seed is still there to take, into a private directory" C $V log seed --out "$CX/seed"
check "the seed file is 32 bytes, mode 0600" sh -c "[ \$(stat -c %s '$CX/seed') = 32 ] && [ \$(stat -c %a '$CX/seed') = 600 ]"
check "control: --out to a fresh name in a private directory works" A $V key public ak --out "$P/pub.pem"
check "and the new file is mode 0600" [ "$(stat -c %a "$P/pub.pem")" = 600 ]
check "and holds the key" cmp -s "$P/ref.pem" "$P/pub.pem"
ino=$(stat -c %i "$P/pub.pem")
check "control: overwriting a file in a private directory works" A $V key public ak --out "$P/pub.pem"
check "and is atomic (a new file renamed over the old one)" [ "$(stat -c %i "$P/pub.pem")" != "$ino" ]
check "no temporary file is left behind" [ "$(ls -A "$P" | grep -c '^\.')" = 0 ]
check "control: a fresh name in a shared directory is created (O_EXCL)" A $V key public ak --out "$W/fresh.pem"
check "and is alice's, mode 0600" [ "$(stat -c %U:%a "$W/fresh.pem")" = vgalice:600 ]
# A streaming writer (bundle create) follows the same rules.
openssl genpkey -algorithm ed25519 -out "$T/release.key" 2>/dev/null
head -c 10000 /dev/urandom >"$T/img"
BC="$VOXGUARD bundle create --version 1.0 --key $T/release.key rootfs=$T/img"
check_fails "bundle create --out into a FIFO is refused" 2 timeout 10 $BC --out "$W/fifo"
ln -s "$P/victim" "$T/blink"
check_fails "bundle create --out through a symlink is refused" 2 $BC --out "$T/blink"
check "control: bundle create into a private directory works" $BC --out "$T/b.vgb"
check "and leaves only the bundle, mode 0600" sh -c "[ \$(stat -c %a '$T/b.vgb') = 600 ] && [ -z \"\$(ls -A '$T' | grep '^\\.')\" ]"

# ---- (3) the session directory ----
X=$T/xdg; mkdir -p "$X/voxguard"; chown vgbob "$X/voxguard"; chmod 777 "$X/voxguard"
set +e
env XDG_RUNTIME_DIR="$X" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- \
	$V admin login --password-file "$T/pw" >"$T/out" 2>&1; rc=$?
set -e
check "SFR 4.2.13: login refuses to save into a session directory vgbob made (exit 2)" [ "$rc" = 2 ]
check "with a clear reason" grep -q "$X/voxguard is not a private directory of uid $(id -u vgcarol)" "$T/out"
check "no token was written into vgbob's directory" [ -z "$(ls -A "$X/voxguard")" ]
mkdir -p "$T/open/voxguard"; chown -R vgcarol "$T/open"; chmod 755 "$T/open/voxguard"
check_fails "a session directory of the caller's that others can enter is refused" 2 \
	env XDG_RUNTIME_DIR="$T/open" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- \
	$V admin login --password-file "$T/pw"
rm -rf "$CX/voxguard"
check "control: login saves the session under \$XDG_RUNTIME_DIR/voxguard" C $V admin login --password-file "$T/pw"
check "in a 0700 directory, mode 0600" sh -c "[ \$(stat -c %a '$CX/voxguard') = 700 ] && [ \$(stat -c %a '$CX/voxguard/session') = 600 ]"
check "the saved session is used" C $V log export --out "$CX/l.vgl"
# Without a runtime directory: the home's cache, never /tmp/voxguard-UID.
H=$T/home; mkdir -p "$H"; chown vgcarol "$H"; chmod 700 "$H"
PRE=/tmp/voxguard-$(id -u vgcarol)
PLANTED=
if [ ! -e "$PRE" ]; then as vgbob mkdir -m 777 "$PRE"; PLANTED=1; fi
check "without a runtime dir, login saves in \$HOME/.cache/voxguard" \
	env -u XDG_RUNTIME_DIR HOME="$H" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- \
	$V admin login --password-file "$T/pw"
check "the session is in the home, mode 0600, in a 0700 directory" \
	sh -c "[ \$(stat -c %a '$H/.cache/voxguard/session') = 600 ] && [ \$(stat -c %a '$H/.cache/voxguard') = 700 ]"
if [ -n "$PLANTED" ]; then
	check "nothing went into a /tmp/voxguard-UID directory vgbob planted" [ -z "$(ls -A "$PRE")" ]
	rm -rf "$PRE"
fi
# VOXGUARD_SESSION in a shared sticky directory: the caller's own file is
# replaced (login after login); anyone else's is refused.
check "VOXGUARD_SESSION in a sticky shared directory: first login" \
	env VOXGUARD_SESSION="$W/carol.session" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- \
	$V admin login --password-file "$T/pw"
check "and a second one replaces her own file" \
	env VOXGUARD_SESSION="$W/carol.session" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- \
	$V admin login --password-file "$T/pw"
as vgbob sh -c "umask 0; : >'$W/planted.session'"
check_fails "a session file vgbob planted is refused" 2 \
	env VOXGUARD_SESSION="$W/planted.session" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- \
	$V admin login --password-file "$T/pw"
check "and received no token" [ ! -s "$W/planted.session" ]

stop_daemon
finish
