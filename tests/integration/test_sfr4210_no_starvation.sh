#!/bin/sh
# SFR 4.2.10 (issue 11): no request blocks the others. CPU-heavy work (a
# password check: scrypt; a signature) runs on the service's worker pool,
# so the event loop keeps answering everyone while it runs, and each uid
# may have only its budget of such work in progress (budget.*.heavy_ops).
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root for the test users"; exit 77; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
BOB=$(id -u vgbob)
# A slow password hash (2^18: about 1 s here) makes the effect plain.
EXTRA_CONFIG="admin_pw_cost = 18
budget.uid.$BOB.heavy_ops = 0
budget.uid.$BOB.store_records = 3
budget.uid.$BOB.keys = 2"
start_daemon
V="$VOXGUARD --socket $SOCK"
SESS=$W/carol.session
A() { env VOXGUARD_SESSION="$SESS" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V "$@"; }
now() { date +%s%N; }
SP_BOB="setpriv --reuid=vgbob --regid=vgbob --init-groups --"
SP_ALICE="setpriv --reuid=vgalice --regid=vgalice --init-groups --"
SP_CAROL="setpriv --reuid=vgcarol --regid=vgcarol --init-groups --"

vg provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
printf 'correct horse battery staple 42!\n' >"$W/good.pw"; chmod 644 "$W/good.pw"
check "setup: the first admin (a slow hash)" A admin setup --code "$(cat "$W/code")" --password-file "$W/good.pw"

# While a login hashes on a worker, another uid's requests are answered.
A admin logout >/dev/null 2>&1 || true
( A admin login --password-file "$W/good.pw" >/dev/null 2>&1; now >"$W/login.end" ) &
LP=$!
sleep 0.1
as vgalice $V status >/dev/null
now >"$W/status.end"
printf k | as vgalice $V store put during-login
now >"$W/put.end"
wait $LP
login_end=$(cat "$W/login.end"); status_end=$(cat "$W/status.end"); put_end=$(cat "$W/put.end")
check "SFR 4.2.10: status is answered while a password check runs ($(( (login_end - status_end) / 1000000 )) ms before the login)" \
	test "$status_end" -lt "$login_end"
check "SFR 4.2.10: a store put is answered while a password check runs" test "$put_end" -lt "$login_end"
check "SFR 4.2.13: the login itself succeeded" A status
check "SFR 4.2.13: and its session works" A log export --out "$W/a.vgl"

# One password check at a time, device-wide: a second one meanwhile is
# told to retry (the throttle sees every attempt in order).
( A admin login --password-file "$W/good.pw" >/dev/null 2>&1 ) &
LP=$!
sleep 0.1
set +e; A admin login --password-file "$W/good.pw" >"$W/second.out" 2>&1; rc=$?; set -e
wait $LP || true
check "SFR 4.2.13: a second password check meanwhile is refused with a retry hint" \
	sh -c "[ $rc = 2 ] && grep -q 'in progress' '$W/second.out'"

# Signatures run on the pool too, within each uid's budget.
printf 'message' >"$W/msg"; chmod 644 "$W/msg"
as vgalice $V key create sig --type p256 >/dev/null
check "SFR 4.2.11: a signature through the pool (control)" as vgalice $V key sign sig --in "$W/msg" --out "$W/alice.sig"
as vgalice $V key public sig --out "$W/alice.pub"
check "SFR 4.2.11: and it verifies" openssl dgst -sha256 -verify "$W/alice.pub" -signature "$W/alice.sig" "$W/msg"
as vgbob $V key create sig --type p256 >/dev/null
set +e; as vgbob $V key sign sig --in "$W/msg" --out "$W/bob.sig" >"$W/bob.out" 2>&1; rc=$?; set -e
check "SFR 4.2.10: a uid with no budget for heavy work is refused: quota exceeded" \
	sh -c "[ $rc = 2 ] && grep -q 'quota exceeded' '$W/bob.out'"
check "SFR 4.2.10: ... which costs nobody else anything" as vgalice $V key sign sig --in "$W/msg" --out "$W/alice2.sig"

# Concurrent signers of two uids: every signature verifies.
for u in vgalice vgcarol; do
	as $u $V key create conc --type p256 >/dev/null 2>&1 || true
	as $u $V key public conc --out "$W/$u.pub"
done
pids=; n=0
for u in vgalice vgalice vgcarol vgcarol; do
	n=$((n + 1))
	( i=0; while [ $i -lt 25 ]; do
		as $u $V key sign conc --in "$W/msg" --out "$W/$u.$n.$i.sig" || echo fail >>"$W/conc.fail"
		openssl dgst -sha256 -verify "$W/$u.pub" -signature "$W/$u.$n.$i.sig" "$W/msg" >/dev/null 2>&1 ||
			echo bad >>"$W/conc.fail"
		i=$((i + 1)); done ) &
	pids="$pids $!"
done
wait $pids
check "SFR 4.2.11: 100 concurrent signatures of two uids all verify" test ! -e "$W/conc.fail"

# The budget holds however a signature runs: on the pool, or on the event
# loop itself (when it is the loop's only work, or when every worker is
# busy with another uid's signatures). N replies, none of them 0 (success).
all_refused() { # REPLIES N
	[ "$(echo "$1" | wc -w)" = "$2" ] || return 1
	case " $1 " in *" 0 "* | *closed*) return 1 ;; esac
}
out=$(as vgbob "$IPC_PROBE" "$SOCK" pipeline sig 20 none)
check "SFR 4.2.10: no budget: 20 pipelined signatures on an idle service all refused" \
	all_refused "$out" 20
pids=
for n in 1 2 3 4; do
	as vgalice "$IPC_PROBE" "$SOCK" pipeline conc 400 none >"$W/flood.$n" & pids="$pids $!"
done
out=$(as vgbob "$IPC_PROBE" "$SOCK" pipeline sig 300 none)
wait $pids
check "SFR 4.2.10: no budget: 300 signatures during another uid's flood all refused" \
	all_refused "$out" 300
check "SFR 4.2.11: ... and the flood's 4 x 400 signatures all succeeded" \
	sh -c "! cat '$W'/flood.* | tr ' ' '\\n' | grep -qvx 0"

# Storage and key budgets (issue 11.3): per uid, from the configuration.
for i in 1 2 3; do printf v | as vgbob $V store put "r$i"; done
set +e; printf v | as vgbob $V store put r4 >"$W/q.out" 2>&1; rc=$?; set -e
check "SFR 4.2.4: a uid over its record budget: quota exceeded, with its use and limit" \
	sh -c "[ $rc = 2 ] && grep -q 'quota exceeded: uid $BOB stores 3 records' '$W/q.out'"
check "SFR 4.2.4: ... replacing a record within the budget still works" sh -c "printf w | $SP_BOB $V store put r1"
check "SFR 4.2.4: ... another uid is not affected" sh -c "printf v | $SP_ALICE $V store put r4"
as vgbob $V key create k2 --type ed25519 >/dev/null
set +e; as vgbob $V key create k3 --type ed25519 >"$W/k.out" 2>&1; rc=$?; set -e
check "SFR 4.2.11: a uid over its key budget: quota exceeded" \
	sh -c "[ $rc = 2 ] && grep -q 'quota exceeded: uid $BOB has 2 keys' '$W/k.out'"
check "SFR 4.2.10: status shows the caller its budget and use" \
	sh -c "$SP_BOB $V status | grep -q 'records *3 / 3'"
check "SFR 4.2.10: an admin sees any uid's budget" sh -c "env VOXGUARD_SESSION=$SESS $SP_CAROL $V status --uid $BOB | grep -q 'keys *2 / 2'"
check_fails "SFR 4.2.10: an ordinary user does not see another's" 2 as vgalice $V status --uid "$BOB"

stop_daemon
# The refusal is in the audit log, summarised.
start_daemon
A admin login --password-file "$W/good.pw" >/dev/null
A log export --out "$W/log.vgl"
check "SFR 4.2.9: the refused heavy request is audited as budget.exceeded" \
	sh -c "$VOXGUARD log show --in '$W/log.vgl' | grep -q 'budget.exceeded'"
stop_daemon
finish
