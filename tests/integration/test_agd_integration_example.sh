#!/bin/sh
# SESIP AGD_OPE.1 / AGD_PRE.1 (the guidance matches the product), AVS
# Device SDK rules on credentials and configuration, SFR 4.2.4, 4.2.7,
# 4.2.11: the voice application guide (docs/INTEGRATION.md) and its worked
# example (examples/voice_app.c) are true.
#
# - Every C snippet of docs/INTEGRATION.md is code of the example (its
#   lines, in order), so the snippets compile with it; a snippet changed on
#   a copy is found.
# - The example builds with -Wall -Wextra -Werror (and as strict C11) from
#   an installed tree (cmake --install into a DESTDIR) through
#   `pkg-config voxguard`, as the guide says.
# - Run as an ordinary client user (vgalice, in the socket group) against
#   a real service: without a sealed configuration it stops with its
#   documented state and code; with one sealed by an admin it reads it,
#   from the API and through `voxguard config exec`; it reads the device
#   identity; it stores a refresh token on the first run and finds the same
#   one on the second (never in the clear in the state dir); its signature
#   verifies with openssl against `voxguard key public`.
# - The states of the guide's table, each with its exit code: permission
#   denied (a user outside the socket group), integrity error (one record
#   damaged), rollback detected (an old database put back), no records
#   after the factory reset that follows, service unreachable (stopped).
. "$(dirname "$0")/lib.sh"
: "${VG_BUILD:?set by ctest}" "${VG_SRC:?set by ctest}"
[ "$VG_SANITIZE" = 1 ] && { echo "skip: the example is built from the release build's install"; exit 77; }
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (several users)"; exit 77; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
setup_users
DOC=$VG_SRC/docs/INTEGRATION.md
EX=$VG_SRC/examples/voice_app.c
W=$T/work
mkdir -p "$W"
chmod 1777 "$W"

# ---- the guide's C snippets are the example's code ----
# snippets DOC EXAMPLE: every ```c block of DOC, its non-blank lines
# stripped of indentation ("..." lines skipped), must occur in the same
# order among EXAMPLE's lines. Prints the blocks that do not.
snippets() {
	"$PY" - "$1" "$2" <<'PYEOF'
import re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
ex = [l.strip() for l in open(sys.argv[2], encoding="utf-8").read().splitlines()]
blocks = re.findall(r"^```c\n(.*?)^```$", doc, re.S | re.M)
print("blocks:", len(blocks))
for n, b in enumerate(blocks, 1):
	want = [l.strip() for l in b.splitlines() if l.strip() and l.strip() != "..."]
	i = 0
	for l in want:
		while i < len(ex) and ex[i] != l:
			i += 1
		if i == len(ex):
			print("block %d: not in the example: %s" % (n, l))
			break
		i += 1
PYEOF
}
snippets "$DOC" "$EX" >"$W/snip.txt" 2>&1 || echo "the checker failed" >>"$W/snip.txt"
cat "$W/snip.txt"
check "AGD_OPE.1: the guide has C snippets" grep -Eq '^blocks: ([3-9]|[1-9][0-9])$' "$W/snip.txt"
check "AGD_OPE.1: every C snippet of the guide is the example's code, in order" \
	sh -c "! grep -q -v '^blocks:' '$W/snip.txt'"
# Control: a snippet that drifted from the code is found.
sed 's/vg_store_get(c, TOKEN_RECORD/vg_store_fetch(c, TOKEN_RECORD/' "$DOC" >"$W/drift.md"
check "AGD_OPE.1: the control differs from the guide" sh -c "! cmp -s '$DOC' '$W/drift.md'"
snippets "$W/drift.md" "$EX" >"$W/drift.txt" 2>&1 || true
check "AGD_OPE.1: ... and a snippet changed on a copy is found" grep -q 'not in the example: .*vg_store_fetch' "$W/drift.txt"
# The guide's table of states and the example agree: each state the
# example prints ("state: NAME") is a row of the table with the example's
# exit code for it, and each row with an exit code is one the example has.
"$PY" - "$DOC" "$EX" >"$W/table.txt" 2>&1 <<'PYEOF' || echo "the checker failed" >>"$W/table.txt"
import re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
ex = re.sub(r"\s+", " ", open(sys.argv[2], encoding="utf-8").read())
codes = dict(re.findall(r"(VA_[A-Z_]+) = (\d+),", ex))
example = {name: codes[const] for const, name in re.findall(r"(VA_[A-Z_]+), \"([^\"]+)\"", ex)}
rows = {name: code for name, code in re.findall(r"^\| ([^|]+?) \| .* \| (\d+) \|$", doc, re.M) if code != "0"}
print("states:", len(example), "rows:", len(rows))
for name, code in sorted(example.items()):
	if rows.get(name) != code:
		print("the example's state %r (exit %s) is not in the guide's table with that code" % (name, code))
for name, code in sorted(rows.items()):
	if example.get(name) != code:
		print("the guide's row %r (exit %s) is not the example's" % (name, code))
PYEOF
cat "$W/table.txt"
check "AGD_OPE.1: the example reports the guide's states" grep -Eq '^states: (1[0-9]|[5-9]) rows:' "$W/table.txt"
check "AGD_OPE.1: ... each with the exit code the guide's table gives" \
	sh -c "! grep -q -v '^states:' '$W/table.txt'"

# ---- built from an installed tree with pkg-config ----
D=$T/destdir
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$VG_BUILD/CMakeCache.txt")
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$VG_BUILD/CMakeCache.txt")
DESTDIR=$D cmake --install "$VG_BUILD" >/dev/null
R=$D$prefix
export PKG_CONFIG_PATH="$R/$libdir/pkgconfig"
PC="pkg-config --define-variable=prefix=$R"
APP=$T/voice_app
check "the example builds with -Wall -Wextra -Werror through pkg-config voxguard" sh -c \
	"cc -Wall -Wextra -Werror '$EX' \$($PC --cflags --libs voxguard) -Wl,-rpath,'$R/$libdir' -o '$APP'"
check "... and as strict C11" sh -c \
	"cc -std=c11 -pedantic -Wall -Wextra -Werror -fsyntax-only '$EX' \$($PC --cflags voxguard)"
check "... against the installed library" sh -c "ldd '$APP' | grep -q '$R/$libdir/libvoxguard.so'"
chmod 755 "$T" "$D"
[ -x "$APP" ] || { not_ok "the example was built"; finish; exit 1; }

# app USER ARGS...: the example as USER; its output in $W/out, exit code in $W/rc.
app() {
	u=$1; shift
	set +e
	as "$u" env VOXGUARD_SOCKET="$SOCK" "$APP" "$@" >"$W/out" 2>&1
	echo $? >"$W/rc"
	set -e
	sed 's/^/#   /' "$W/out"
}
rc() { [ "$(cat "$W/rc")" = "$1" ]; }
said() { grep -q -- "$1" "$W/out"; }

EXTRA_CONFIG="admin_pw_cost = 10"
start_daemon
head -c 48 /dev/urandom >"$W/challenge"
chmod 644 "$W/challenge"

# ---- no configuration sealed for the app yet ----
app vgalice -c "$W/challenge"
check "without a sealed configuration the example stops: exit 20" rc 20
check "... and says 'state: no sealed configuration'" said '^state: no sealed configuration:'
check "... after it checked the service (status)" said '^service: voxguard .*, platform unverified, secure store ok$'

# ---- the factory's and the admin's part (docs/INTEGRATION.md, "Before you start") ----
vg provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
printf 'a long and unusual passphrase 77\n' >"$W/pw"
chmod 644 "$W/pw"
SESS=$W/carol.session
A() { env VOXGUARD_SESSION="$SESS" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- "$VOXGUARD" --socket "$SOCK" "$@"; }
A admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null
write_sdk_config "$W/AlexaClientSDKConfig.json" "client-secret-not-in-the-clear"
CFG_SIZE=$(wc -c <"$W/AlexaClientSDKConfig.json")
A config seal "$W/AlexaClientSDKConfig.json" --for vgalice >/dev/null

# ---- first run: stores a token, creates its key ----
app vgalice -c "$W/challenge" -o "$W/sig1"
check "first run: exit 0" rc 0
check "first run: reads its sealed configuration from the service" \
	said "^configuration: AlexaClientSDKConfig.json, $CFG_SIZE bytes, from the service$"
INST=$(vg identity --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["instance_id"].lower())')
check "first run: reads the device identity (the instance ID voxguard identity shows)" \
	said "^device: Acme Echo rev B2, instance ID $INST$"
check "first run: no refresh token yet: stores one and reads it back" \
	said '^refresh token: none stored (first start, or after a factory reset); stored a new one and read it back (69 bytes)$'
check "first run: creates its signing key" said '^signing key: voice-app-signing created$'
check "first run: signs the challenge, verified by the service" \
	said '^challenge: 48 bytes signed (.*-byte DER signature), verified by the service$'
as vgalice "$VOXGUARD" --socket "$SOCK" store list >"$W/list.txt" || true
check "the token is a record of vgalice's namespace" grep -qx 'lwa.refresh_token' "$W/list.txt"
as vgalice "$VOXGUARD" --socket "$SOCK" store get lwa.refresh_token >"$W/tok1" || true
check "... holding the token the example made" grep -Eqx 'Atzr\|[0-9a-f]{64}' "$W/tok1"
check_fails "... which another client user cannot read" 2 \
	as vgbob "$VOXGUARD" --socket "$SOCK" store get lwa.refresh_token
as vgalice "$VOXGUARD" --socket "$SOCK" key public voice-app-signing >"$W/pub.pem" || true
check "SFR 4.2.11: the signature verifies with openssl against voxguard key public" \
	openssl dgst -sha256 -verify "$W/pub.pem" -signature "$W/sig1" "$W/challenge"
printf 'x' >>"$W/challenge.other"
cat "$W/challenge" >>"$W/challenge.other"
check_fails "... and not over another challenge (control)" 1 \
	openssl dgst -sha256 -verify "$W/pub.pem" -signature "$W/sig1" "$W/challenge.other"

# ---- second run, as a unit starts it: through voxguard config exec ----
set +e
as vgalice env VOXGUARD_SOCKET="$SOCK" "$VOXGUARD" --socket "$SOCK" config exec \
	AlexaClientSDKConfig.json -- "$APP" -c "$W/challenge" -o "$W/sig2" >"$W/out" 2>&1
echo $? >"$W/rc"
set -e
sed 's/^/#   /' "$W/out"
check "second run (under voxguard config exec): exit 0" rc 0
check "second run: the configuration comes from config exec's sealed memfd" \
	said "^configuration: AlexaClientSDKConfig.json, $CFG_SIZE bytes, from voxguard config exec$"
check "second run: finds the refresh token stored by the first" said '^refresh token: found (69 bytes)$'
check "second run: finds its signing key" said '^signing key: voice-app-signing found$'
as vgalice "$VOXGUARD" --socket "$SOCK" store get lwa.refresh_token >"$W/tok2" || true
check "... the token is unchanged" cmp "$W/tok1" "$W/tok2"
check "SFR 4.2.11: the second signature verifies with openssl too" \
	openssl dgst -sha256 -verify "$W/pub.pem" -signature "$W/sig2" "$W/challenge"
check "SFR 4.2.4: neither the token nor the configuration's secret is in the clear in the state dir" \
	sh -c "! grep -r -a -q -F -e '$(cat "$W/tok1")' -e client-secret-not-in-the-clear '$STATE'"

# ---- permission denied: a user outside the socket group ----
set +e
setpriv --reuid=nobody --regid=nogroup --clear-groups -- env VOXGUARD_SOCKET="$SOCK" "$APP" >"$W/out" 2>&1
echo $? >"$W/rc"
set -e
sed 's/^/#   /' "$W/out"
check "a user outside the socket group: exit 11" rc 11
check "... 'state: permission denied', with the kernel's reason" sh -c \
	"grep -q '^state: permission denied:' '$W/out' && grep -q 'Permission denied' '$W/out'"

# ---- integrity error: one record damaged ----
stop_daemon
cp -a "$STATE/voxguard.db" "$T/old.db"
rm -f "$T/old.db-wal"
[ -f "$STATE/voxguard.db-wal" ] && cp -a "$STATE/voxguard.db-wal" "$T/old.db-wal"
db "UPDATE store_records SET blob = substr(blob,1,40) || X'FF' || substr(blob,42) WHERE name = 'lwa.refresh_token';"
start_daemon
app vgalice -c "$W/challenge"
check "one damaged record: exit 18" rc 18
check "... 'state: integrity error'" said '^state: integrity error:'
check "... the service still reports its store as ok (one record, not the store)" \
	said '^service: voxguard .*, secure store ok$'
as vgalice "$VOXGUARD" --socket "$SOCK" store delete lwa.refresh_token || true
app vgalice -c "$W/challenge"
check "... deleted, the next run stores a new token (the guide's way out): exit 0" rc 0
check "... and says it stored one" said '^refresh token: none stored'

# ---- rollback detected: the old database put back ----
stop_daemon
cp -a "$T/old.db" "$STATE/voxguard.db"
rm -f "$STATE/voxguard.db-wal" "$STATE/voxguard.db-shm"
[ -f "$T/old.db-wal" ] && cp -a "$T/old.db-wal" "$STATE/voxguard.db-wal"
start_daemon
app vgalice -c "$W/challenge"
check "an old database put back: exit 17" rc 17
check "... 'state: rollback detected', seen in the service's status first" sh -c \
	"grep -q '^state: rollback detected:' '$W/out' && grep -q '^voice_app: status:' '$W/out'"

# ---- factory reset: no records ----
vg factory-reset --yes >/dev/null
app vgalice -c "$W/challenge"
check "after a factory reset the sealed configuration is gone: exit 20" rc 20
A admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null
A config seal "$W/AlexaClientSDKConfig.json" --for vgalice >/dev/null
app vgalice -c "$W/challenge" -o "$W/sig3"
check "sealed again, the example runs: exit 0" rc 0
check "... finds no token (the factory reset row) and stores a new one" \
	said '^refresh token: none stored (first start, or after a factory reset)'
check "... and its key was erased too: created again" said '^signing key: voice-app-signing created$'
as vgalice "$VOXGUARD" --socket "$SOCK" key public voice-app-signing >"$W/pub3.pem" || true
check "... a new key: the old public key does not verify its signature" sh -c \
	"! openssl dgst -sha256 -verify '$W/pub.pem' -signature '$W/sig3' '$W/challenge' && openssl dgst -sha256 -verify '$W/pub3.pem' -signature '$W/sig3' '$W/challenge'"

# ---- service unreachable ----
stop_daemon
app vgalice -c "$W/challenge"
check "the service stopped: exit 10" rc 10
check "... 'state: service unreachable'" said '^state: service unreachable:'
finish
