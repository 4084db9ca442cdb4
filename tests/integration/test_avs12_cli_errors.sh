#!/bin/sh
# AVS 1.2 (input validation shows in clear errors; issue 16, items 3 and
# 7): when the CLI cannot reach the service it names the socket it tried
# and the cause, with what to do about it; usage errors exit 2 with the
# usage on standard error.
#   - a user outside the socket group: "permission denied", the socket,
#     the group to be added to (control: a member of the group gets in);
#   - no socket at the path: the path, "is voxguardd running?";
#   - a socket file nobody listens on (left by a stopped service):
#     "nothing answers";
#   - a file it cannot read: named (key sign --in);
#   - a missing argument: named, with the command's usage; --help on
#     every command and subcommand;
#   - bare `voxguard`: exit 2, the usage on stderr, nothing on stdout;
#   - `voxguard tuf-client` alone: exit 2 (a usage error, not the
#     protocol's failure 1).
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (users and groups)"; exit 77; }
setup_users
start_daemon

# run_err OUT CMD...: runs CMD, its stderr into OUT, prints its exit code.
run_err() { o=$1; shift; if "$@" >"$o.out" 2>"$o"; then echo 0; else echo $?; fi; }

# A user outside the socket group.
rc=$(run_err "$T/nobody.err" setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	"$VOXGUARD" --socket "$SOCK" status)
sed 's/^/# nobody: /' "$T/nobody.err"
check "AVS 1.2: outside the socket group, status exits 2" test "$rc" = 2
check "AVS 1.2: ... naming the cause, permission denied, and the socket" \
	grep -q "permission denied on $SOCK" "$T/nobody.err"
check "AVS 1.2: ... and the group to join (vgclients)" grep -q "'vgclients'.*usermod -aG vgclients" "$T/nobody.err"
check "AVS 1.2: control: a member of the socket group gets in" as vgalice "$VOXGUARD" --socket "$SOCK" status

# No socket at the path.
rc=$(run_err "$T/none.err" "$VOXGUARD" --socket "$T/none.sock" status)
sed 's/^/# no socket: /' "$T/none.err"
check "AVS 1.2: no socket at the path: exit 2, the path named, is voxguardd running?" \
	sh -c "[ $rc = 2 ] && grep -q 'no voxguardd socket at $T/none.sock (is voxguardd running?' '$T/none.err'"
rc=$(run_err "$T/env.err" env VOXGUARD_SOCKET="$T/env.sock" "$VOXGUARD" status)
check "AVS 1.2: ... also when it came from VOXGUARD_SOCKET" \
	sh -c "[ $rc = 2 ] && grep -q 'no voxguardd socket at $T/env.sock' '$T/env.err'"

# A socket file that nobody listens on.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/stale.sock"
rc=$(run_err "$T/stale.err" "$VOXGUARD" --socket "$T/stale.sock" status)
sed 's/^/# stale socket: /' "$T/stale.err"
check "AVS 1.2: a socket left by a stopped service: exit 2, nothing answers on it" \
	sh -c "[ $rc = 2 ] && grep -q 'nothing answers on $T/stale.sock' '$T/stale.err'"

# A file the CLI cannot read is named.
rc=$(run_err "$T/in.err" "$VOXGUARD" --socket "$SOCK" key sign k1 --in "$T/missing.txt")
sed 's/^/# key sign: /' "$T/in.err"
check "AVS 1.2: key sign --in a missing file: exit 2, the file named" \
	sh -c "[ $rc = 2 ] && grep -q 'cannot read $T/missing.txt: not found' '$T/in.err'"

# A missing argument names itself, with the command's usage; --help on
# any command or subcommand prints its usage (stdout, exit 0).
for c in "key sign:NAME" "key create:NAME" "store put:NAME" "log verify:F" \
	"manifest create:NAME[:VERSION]=/PATH" "bundle create:NAME=IMAGE" "verify-token:TOKEN"; do
	cmd=${c%%:*} arg=${c#*:}
	# shellcheck disable=SC2086
	rc=$(run_err "$T/miss.err" "$VOXGUARD" $cmd)
	check "AVS 1.2: voxguard $cmd alone: exit 2, 'missing argument $arg' with its usage" \
		sh -c "[ $rc = 2 ] && grep -qF '$cmd: missing argument $arg (usage: voxguard $cmd ' '$T/miss.err'"
done
check "AVS 1.2: voxguard key sign --help: its usage on stdout, exit 0" \
	sh -c "'$VOXGUARD' key sign --help | grep -q '^usage: voxguard key sign NAME --in F --out SIG'"
check "AVS 1.2: voxguard key --help: the subcommands on stdout, exit 0" \
	sh -c "'$VOXGUARD' key --help | grep -q '^  sign ' "
check "AVS 1.2: voxguard attest --help (a command without subcommands): its usage, exit 0" \
	sh -c "'$VOXGUARD' attest --help | grep -q '^usage: voxguard attest --nonce HEX'"
rc=$(run_err "$T/unk.err" "$VOXGUARD" key frobnicate)
check "AVS 1.2: an unknown subcommand: exit 2, named, with the list" \
	sh -c "[ $rc = 2 ] && grep -q \"unknown command 'frobnicate'\" '$T/unk.err' && grep -q '^  sign ' '$T/unk.err'"

# Commands that change something say what they did (issue 16, item 8).
as vgalice "$VOXGUARD" --socket "$SOCK" key create said1 --type p256 >"$T/created.out" 2>&1 || true
check "AGD_OPE.1: key create says what it created" \
	grep -qx "created key said1 (p256, usage the type's default)" "$T/created.out"
as vgalice "$VOXGUARD" --socket "$SOCK" admin logout >"$T/logout.out" 2>&1 || true
check "AGD_OPE.1: admin logout says so" grep -q '^logged out' "$T/logout.out"

# Usage errors.
rc=$(run_err "$T/bare.err" "$VOXGUARD")
check "AVS 1.2: bare voxguard: exit 2, the usage on stderr, nothing on stdout" \
	sh -c "[ $rc = 2 ] && grep -q '^usage: voxguard' '$T/bare.err' && [ ! -s '$T/bare.err.out' ]"
check "AVS 1.2: voxguard help: the usage on stdout, exit 0" sh -c "'$VOXGUARD' help | grep -q '^usage: voxguard'"
check "AGD_OPE.1: voxguard help key sign: the subcommand's syntax, exit 0" \
	sh -c "'$VOXGUARD' help key sign | grep -q '^usage: voxguard key sign NAME --in F --out SIG'"
check "AGD_OPE.1: voxguard help store: its subcommands with their syntax" \
	sh -c "'$VOXGUARD' help store | grep -q '^  put  *NAME \\[--in F\\]'"
# Every command's --help prints its usage on stdout and exits 0, and
# `help --all` holds each of them.
"$VOXGUARD" help --all >"$T/all.out" 2>"$T/all.err" && allrc=0 || allrc=$?
for c in $("$VOXGUARD" help | awk '/^  [a-z]/ { print $1 }'); do
	[ "$c" = help ] && continue
	if "$VOXGUARD" "$c" --help >"$T/h.out" 2>"$T/h.err" && grep -q "^usage: voxguard $c\b" "$T/h.out"; then
		grep -q "^usage: voxguard $c\b" "$T/all.out" || not_ok "AGD_OPE.1: help --all lacks $c"
	else
		not_ok "AGD_OPE.1: voxguard $c --help: no usage on stdout or exit != 0 ($(head -c 200 "$T/h.err"))"
	fi
done
# ... and every subcommand's --help too (the subcommands read from each
# command's own list).
nsub=0
for c in $("$VOXGUARD" help | awk '/^  [a-z]/ { print $1 }'); do
	"$VOXGUARD" "$c" --help 2>/dev/null | head -1 | grep -q "^usage: voxguard $c COMMAND" || continue
	for s in $("$VOXGUARD" "$c" --help 2>/dev/null | awk 'NR > 1 && /^  [a-z]/ { print $1 }'); do
		nsub=$((nsub + 1))
		if ! "$VOXGUARD" "$c" "$s" --help >"$T/h.out" 2>"$T/h.err" ||
			! grep -q "^usage: voxguard $c $s\b" "$T/h.out"; then
			not_ok "AGD_OPE.1: voxguard $c $s --help: no usage on stdout or exit != 0 ($(head -c 200 "$T/h.err"))"
		fi
	done
done
check "AGD_OPE.1: every subcommand answers --help with its usage ($nsub of them)" test "$nsub" -ge 60
check "AGD_OPE.1: voxguard help --all: exit 0, nothing on stderr, every command's usage" \
	sh -c "[ $allrc = 0 ] && [ ! -s '$T/all.err' ] && [ \$(grep -c '^usage: voxguard [a-z]' '$T/all.out') -ge 29 ]"
rc=$(run_err "$T/hn.err" "$VOXGUARD" help frobnicate)
check "AGD_OPE.1: voxguard help with an unknown command: exit 2, named" \
	sh -c "[ $rc = 2 ] && grep -q \"unknown command 'frobnicate'\" '$T/hn.err'"
rc=$(run_err "$T/tuf.err" "$VOXGUARD" tuf-client)
check "AVS 1.2: tuf-client alone: a usage error, exit 2, with its usage" \
	sh -c "[ $rc = 2 ] && grep -q '^usage: voxguard tuf-client' '$T/tuf.err'"

# The socket at SIGTERM (issue 16, item 2): removed when its directory is
# the service user's (as systemd's RuntimeDirectory= makes it); in a
# directory of root's, the service (dropped to its user) says it left it,
# and the next start replaces it.
stop_daemon
check "voxguardd removes its socket at SIGTERM" test ! -e "$SOCK"
chown root:root "$RUN"
start_daemon
stop_daemon
check "AGD_OPE.1: in a directory of root's, voxguardd says it left its socket in place" \
	grep -q "socket $SOCK left in place" "$DLOG"
start_daemon
check "AGD_OPE.1: ... and the next start replaces the socket nobody listens on" \
	"$VOXGUARD" --socket "$SOCK" status
stop_daemon
chown vgsvc:vgsvc "$RUN"
finish
