#!/bin/sh
# SFR 4.2.10 (an attacker running code as one application cannot compromise
# the others; exceeding a budget hurts only the one who exceeded it): the
# write-rate buckets are per uid however many uids write at once. The table
# of buckets used to hold 64 uids and make every further uid share one last
# bucket: 65 uids each one large put into debt, and every other
# application's puts, root's too, were refused "quota exceeded ... writes
# more than N bytes/s (retry in 60000 ms)" for writes they never made.
# The request_rate buckets are the same table (daemon/budget.c).
. "$(dirname "$0")/lib.sh"
if [ "$IS_ROOT" != 1 ]; then
	echo "skip: simulating 65 applications needs root (setpriv to 65 uids)"
	exit 77
fi
setup_users
# 1 KiB/s: 4 KiB pass at once; a 64 KiB put then leaves a minute of debt.
EXTRA_CONFIG="budget.default.store_write_rate = 1K"
start_daemon
W=$T/work; mkdir -p "$W"
head -c 65536 /dev/urandom >"$W/64k"
head -c 100 /dev/urandom >"$W/small"
chmod 644 "$W/64k" "$W/small"
# Uids with no account, as applications' uids often are, in the socket's
# group.
CLIENTS=$(getent group vgclients | cut -d: -f3)
app() { u=$1; shift; setpriv --reuid="$u" --regid="$u" --groups="$CLIENTS" -- "$VOXGUARD" --socket "$SOCK" "$@"; }

check "an application stores a small record (control)" app 62000 store put r --in "$W/small"
# 65 applications each put 64 KiB: each is then a minute in debt.
u=61001; stored=0
while [ $u -le 61065 ]; do
	app $u store put r --in "$W/64k" >/dev/null 2>&1 && stored=$((stored + 1))
	u=$((u + 1))
done
check "65 applications each store a 64 KiB record within their burst ($stored of 65)" test "$stored" = 65
set +e; app 61065 store put r2 --in "$W/small" 2>"$W/own"; rc=$?; set -e
check "SFR 4.2.10: each is then refused beyond its own write rate (control)" sh -c "test $rc = 2 && grep -q 'uid 61065 writes more than 1024 bytes/s' '$W/own'"
# Applications that wrote nothing lately.
ok=0
for v in 62001 62002 62003; do
	if app $v store put r --in "$W/small" 2>"$W/victim-$v"; then ok=$((ok + 1)); else cat "$W/victim-$v"; fi
done
check "SFR 4.2.10: with 65 uids over their write rate, 3 other applications still store (${ok} of 3)" test "$ok" = 3
check "SFR 4.2.10: ... and root too" sh -c "'$VOXGUARD' --socket '$SOCK' store put r --in '$W/small'"
set +e; app 61001 store put r3 --in "$W/small" 2>"$W/own1"; rc=$?; set -e
check "SFR 4.2.10: ... while an application in debt stays refused" sh -c "test $rc = 2 && grep -q 'uid 61001 writes more than 1024 bytes/s' '$W/own1'"
stop_daemon
finish
