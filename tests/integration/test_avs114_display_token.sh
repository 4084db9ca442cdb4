#!/bin/sh
# AVS 1.14 (display hijacking) and the AVS Device SDK's smart-screen rules,
# SFR 4.2.9, 4.2.10: one-time display tokens in a real service, through
# the CLI (libvoxguard's vg_display_token_issue and _redeem).
# vgalice is the display client's launcher (display_launcher_uids), vgbob
# the gateway (display_gateway_uids). Attacks, each beside a control that
# succeeds: a replayed token, an expired one, a forged one, a token from
# another device and from before a restart, a wrong Origin, a malformed
# token, issue by a uid that is no launcher (an admin and root included),
# redeem by a uid that is no gateway, more outstanding tokens than the
# budget. Every refusal is an audit event naming why; the log verifies.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (several users)"; exit 77; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
ALICE_UID=$(id -u vgalice); BOB_UID=$(id -u vgbob)
O=https://localhost:8933
# A lifetime no check outlives, even under ASan on a loaded machine; the
# expiry checks run after a restart with a short one (config TTL_MS).
config() {
	EXTRA_CONFIG="display_launcher_uids = $ALICE_UID
display_gateway_uids = $BOB_UID
display_token_ttl_ms = $1
display_tokens_per_uid = 3
display_tokens_max = 8"
	write_config
}
config 20000
start_daemon

# issue [SOCKET]: a token for $O as the launcher.
issue() { as vgalice "$VOXGUARD" --socket "${1:-$SOCK}" display token --origin "$O"; }
# redeem TOKEN ORIGIN [USER]: as the gateway; stdout+stderr into $W/r.out.
redeem() {
	set +e
	printf '%s\n' "$1" | as "${3:-vgbob}" $V display redeem --origin "$2" >"$W/r.out" 2>&1
	rc=$?; set -e; return $rc
}
# refused TOKEN ORIGIN EXIT WORD [USER]: redeem fails with EXIT and says WORD.
refused() {
	if redeem "$1" "$2" "${5:-vgbob}"; then return 1; fi
	[ "$rc" = "$3" ] && grep -q "$4" "$W/r.out"
}

# ---- issued once, redeemed once ----
T1=$(issue)
check "AVS 1.14: the launcher gets a 256-bit token, base64url without padding" \
	sh -c "printf '%s' '$T1' | grep -Eqx '[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]'"
T2=$(issue)
check "AVS 1.14: two tokens differ" test "$T1" != "$T2"
check "AVS 1.14: the gateway redeems it for its Origin" redeem "$T1" "$O"
check "AVS 1.14: ... once: a replay is refused as replayed (1)" refused "$T1" "$O" 1 replayed
check "AVS 1.14: ... and again" refused "$T1" "$O" 1 replayed
check "AVS 1.14: the second token is untouched (control)" redeem "$T2" "$O"

# ---- bound to its Origin ----
T3=$(issue)
check "AVS 1.14: another Origin is refused as origin mismatch (1)" \
	refused "$T3" https://evil.example 1 "origin mismatch"
check "AVS 1.14: ... which spent the token: the right Origin now gets replayed" \
	refused "$T3" "$O" 1 replayed
T3=$(issue)
check "AVS 1.14: another port of the same host is another Origin" \
	refused "$T3" https://localhost:8934 1 "origin mismatch"
check_fails "AVS 1.14: the launcher cannot ask for an http:// Origin (2)" 2 \
	as vgalice $V display token --origin http://localhost:8933
check_fails "AVS 1.14: ... nor one with a path (2)" 2 \
	as vgalice $V display token --origin https://localhost:8933/display
check_fails "AVS 1.14: ... nor without --origin (2)" 2 as vgalice $V display token


# ---- impossible to counterfeit ----
FORGED=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
check "AVS 1.14: a forged token (random 256 bits) is refused as unknown (1)" \
	refused "$FORGED" "$O" 1 unknown
T6=$(issue)
ALTERED=$(printf '%s' "$T6" | sed 's/^./Z/;t'); [ "$ALTERED" != "$T6" ] || ALTERED=$(printf '%s' "$T6" | sed 's/^./Y/')
check "AVS 1.14: a genuine token with its first character changed is unknown (1)" \
	refused "$ALTERED" "$O" 1 unknown
check "AVS 1.14: ... and did not spend the genuine one (control)" redeem "$T6" "$O"
check "AVS 1.14: a malformed token is refused as malformed (2)" refused "abc" "$O" 2 malformed
check "AVS 1.14: ... and so is a padded one (2)" refused "$T6=" "$O" 2 malformed

# ---- who may issue and redeem ----
check_fails "AVS 1.14: a uid that is no launcher cannot issue (the gateway, 2)" 2 \
	as vgbob $V display token --origin "$O"
check_fails "AVS 1.14: ... nor an admin (2)" 2 as vgcarol $V display token --origin "$O"
check_fails "AVS 1.14: ... nor root (2)" 2 $V display token --origin "$O"
check_fails "AVS 1.14: ... nor nobody (runuser -u nobody; the socket is not even open to it)" 2 \
	runuser -u nobody -- $V display token --origin "$O"
set +e; as vgbob $V display token --origin "$O" >"$W/i.out" 2>&1; set -e
check "AVS 1.14: ... and is told so" grep -q "not a display launcher" "$W/i.out"
T7=$(issue)
check "AVS 1.14: a uid that is no gateway cannot redeem (the launcher itself, 2)" \
	refused "$T7" "$O" 2 "not a display gateway" vgalice
check "AVS 1.14: ... nor root (2)" sh -c "! printf '%s\n' '$T7' | $V display redeem --origin '$O'"
check "AVS 1.14: ... which did not spend it: the gateway still redeems it" redeem "$T7" "$O"

# ---- SFR 4.2.10: bounded outstanding tokens ----
B1=$(issue); B2=$(issue); B3=$(issue)
set +e; issue >"$W/b.out" 2>&1; brc=$?; set -e
check "SFR 4.2.10: a launcher's fourth outstanding token is refused (budget 3)" \
	sh -c "[ $brc = 2 ] && grep -q 'quota' '$W/b.out' && grep -q 'outstanding' '$W/b.out'"
check "SFR 4.2.10: redeeming one gives its place back" sh -c "
printf '%s\n' '$B1' | setpriv --reuid=vgbob --regid=vgbob --init-groups -- $V display redeem --origin '$O' &&
setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V display token --origin '$O'"
check "SFR 4.2.10: the tokens within the budget still redeem (control)" \
	sh -c "printf '%s\n' '$B2' | setpriv --reuid=vgbob --regid=vgbob --init-groups -- $V display redeem --origin '$O' &&
printf '%s\n' '$B3' | setpriv --reuid=vgbob --regid=vgbob --init-groups -- $V display redeem --origin '$O'"
check "the service keeps serving" vg status

# ---- unique per device and session ----
# Another device: a second service on its own state dir.
mkdir -p "$T/state2" "$T/run2"; chmod 700 "$T/state2"; chown vgsvc:vgsvc "$T/state2" "$T/run2"
"$VOXGUARDD" --state-dir "$T/state2" --socket "$T/run2/vg.sock" --config "$CONF" >"$T/d2.log" 2>&1 &
D2=$!
i=0; while ! grep -q ready "$T/d2.log" && [ $i -lt 400 ]; do i=$((i + 1)); sleep 0.05; done
OTHER=$(issue "$T/run2/vg.sock")
kill -TERM "$D2"; wait "$D2" || true
cat "$T/d2.log" >>"$ALLLOG"
check "AVS 1.14: the other device issued a token (control)" test -n "$OTHER"
check "AVS 1.14: another device's token is refused here as unknown (1)" \
	refused "$OTHER" "$O" 1 unknown
BEFORE=$(issue)
stop_daemon
TTL_MS=3000
config $TTL_MS
start_daemon
check "AVS 1.14: a token issued before a restart is refused as unknown (1)" \
	refused "$BEFORE" "$O" 1 unknown
check "AVS 1.14: a new token after the restart redeems (control)" redeem "$(issue)" "$O"

# ---- time-limited (display_token_ttl_ms = 3000 now) ----
T4=$(issue); T5=$(issue)
check "AVS 1.14: redeemed within its time (control)" redeem "$T5" "$O"
sleep "$(awk "BEGIN { print ($TTL_MS + 150) / 1000 }")"
check "AVS 1.14: after display_token_ttl_ms it is refused as expired (1)" \
	refused "$T4" "$O" 1 expired
E1=$(issue); E2=$(issue); E3=$(issue)
sleep "$(awk "BEGIN { print ($TTL_MS + 150) / 1000 }")"
check "SFR 4.2.10: expired tokens stop counting (three more after the budget's three expired)" sh -c "
for i in 1 2 3; do setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V display token --origin '$O' >/dev/null || exit 1; done"
check "AVS 1.14: tokens are never on disk: no state file holds one" \
	sh -c "! grep -rqF -- '$BEFORE' '$STATE' '$T/state2' && ! grep -rqF -- '$T7' '$STATE' && ! grep -rqF -- '$E1' '$STATE'"

# ---- the audit trail ----
as vgcarol $V log export --out "$W/a.vgl"
check "SFR 4.2.9: the audit log verifies" "$VOXGUARD" log verify "$W/a.vgl"
as vgcarol $V log show --in "$W/a.vgl" --json >"$W/a.json"
has() { grep "\"$1\"" "$W/a.json" | grep -q -- "$2"; }
check "SFR 4.2.9: an issue is display.token, with its Origin, under the launcher's uid" \
	sh -c "grep '\"display.token\"' '$W/a.json' | grep 'issued for $O' | grep -q '\"uid\":$ALICE_UID'"
check "SFR 4.2.9: a redemption is display.redeemed, naming the launcher" \
	has display.redeemed "redeemed from $O (issued to uid $ALICE_UID)"
check "SFR 4.2.9: a replay is display.refused: replayed" has display.refused "replayed from $O"
check "SFR 4.2.9: an expired token is display.refused: expired" has display.refused "expired from $O"
check "SFR 4.2.9: a forgery is display.refused: unknown" has display.refused "unknown from $O"
check "SFR 4.2.9: a wrong Origin is display.refused: origin mismatch, naming it" \
	has display.refused "origin mismatch from https://evil.example"
check "SFR 4.2.9: a malformed token is display.refused: malformed" has display.refused "malformed"
check "SFR 4.2.9: a refused Origin at issue is display.refused" has display.refused "scheme must be https"
check "SFR 4.2.9: issue by a uid that is no launcher is display.denied with its uid" \
	sh -c "grep '\"display.denied\"' '$W/a.json' | grep 'not a display launcher' | grep -q '\"uid\":$BOB_UID'"
check "SFR 4.2.9: redeem by a uid that is no gateway is display.denied with its uid" \
	sh -c "grep '\"display.denied\"' '$W/a.json' | grep 'not a display gateway' | grep -q '\"uid\":$ALICE_UID'"
check "SFR 4.2.9, 4.2.10: a spent token budget is budget.exceeded" \
	has budget.exceeded "display.token_issue"
check "SFR 4.2.9: no token is in the audit log" sh -c "! grep -qF -- '$T1' '$W/a.json' && ! grep -qF -- '$FORGED' '$W/a.json'"
stop_daemon
finish
