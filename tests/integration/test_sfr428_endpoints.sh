#!/bin/sh
# SFR 4.2.8 (and SFR 4.2.7, 4.2.9, 4.2.12, AVS 1.3): the endpoint list in
# the service, through the CLI and libvoxguard against a real service.
# The list is device policy: an admin with a session adds and removes
# endpoints; an application gets only the endpoints listed for its uid.
# Attacks, each next to a control that succeeds: a change without a
# session, a change by a non-admin, another uid's endpoint, an endpoint
# not on the list, a report for another uid's endpoint, malformed and
# oversized policies sent raw to the service, more endpoints than the
# budget. Refusals and connection reports are audit events; the list
# survives a restart; a factory reset erases it.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}" "${EP_REPORT:?set by ctest}"
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (several users)"; exit 77; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
SESS=$W/carol.session
A() { env VOXGUARD_SESSION="$SESS" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V "$@"; }
ALICE() { as vgalice $V "$@"; }
BOB() { as vgbob $V "$@"; }
REPORT() { u=$1; shift; as "$u" "$EP_REPORT" "$SOCK" "$@"; }
ALICE_UID=$(id -u vgalice); BOB_UID=$(id -u vgbob)
# out FILE CMD...: run CMD, its stdout and stderr into FILE, return its exit.
out() { f=$1; shift; set +e; "$@" >"$f" 2>&1; rc=$?; set -e; return $rc; }

# The tests' own PKI: two CAs and a CRL (openssl CLI).
( cd "$W"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
	-out ca.pem -subj /CN=Test-Root-CA -days 30 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca2.key \
	-out ca2.pem -subj /CN=Other-CA -days 30 2>/dev/null
  mkdir -p db; : >db/index.txt; echo 01 >db/crlnumber
  cat >ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = $W/db/index.txt
crlnumber = $W/db/crlnumber
default_md = sha256
default_crl_days = 7
CNF
  openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out ca.crl 2>/dev/null
  chmod 644 ./*.pem ./*.crl )
PIN=$(openssl x509 -in "$W/ca.pem" -pubkey -noout | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -hex | sed 's/.*= //')
EXTRA_CONFIG="admin_pw_cost = 10"
start_daemon

# ---- hostile policies sent raw, before an admin exists (no session) ----
P() { "$IPC_PROBE" "$SOCK" "$@"; }
FRAME() { python3 "$VG_SRC/tests/integration/ep_frame.py" "$@"; }
printf '{"v":1,"name":"raw","host":"example.com","port":443,"ca":"x","revocation":"none"}' >"$W/bad.json"
FRAME "$W/bad.frame" 100 raw "$W/bad.json"
check "SFR 4.2.8: a policy whose CA is no certificate is refused by the service (1)" \
	sh -c "'$IPC_PROBE' '$SOCK' send '$W/bad.frame' | grep -q 'reply 1$'"
head -c 3000 /dev/urandom >"$W/garbage.json"
FRAME "$W/garbage.frame" 100 raw "$W/garbage.json"
check "SFR 4.2.8: a policy of random bytes is refused by the service (1)" \
	sh -c "'$IPC_PROBE' '$SOCK' send '$W/garbage.frame' | grep -q 'reply 1$'"
awk 'BEGIN { printf "{\"v\":1,\"name\":\"raw\",\"pad\":\""; for (i = 0; i < 1048600; i++) printf "a"; printf "\"}" }' >"$W/big.json"
FRAME "$W/big.frame" 100 raw "$W/big.json"
check "SFR 4.2.8, 4.2.10: an oversized policy is refused by the service (12)" \
	sh -c "'$IPC_PROBE' '$SOCK' send '$W/big.frame' | grep -q 'reply 12$'"
python3 -c "
import json; ca = open('$W/ca.pem').read()
print(json.dumps({'v': 1, 'name': 'other-name', 'host': 'example.com', 'port': 443, 'ca': ca, 'revocation': 'none'}))" >"$W/mismatch.json"
FRAME "$W/mismatch.frame" 100 raw "$W/mismatch.json"
check "SFR 4.2.8: a policy named otherwise than the request is refused (1)" \
	sh -c "'$IPC_PROBE' '$SOCK' send '$W/mismatch.frame' | grep -q 'reply 1$'"
FRAME "$W/good.frame" 100 other-name "$W/mismatch.json"
check "SFR 4.2.8: the same policy under its own name is accepted (control, 0)" \
	sh -c "'$IPC_PROBE' '$SOCK' send '$W/good.frame' | grep -q 'reply 0$'"
check "the service keeps serving" vg status
check_fails "SFR 4.2.8: the CLI refuses a private key as the CA before sending it" 2 \
	vg endpoint add k --host example.com --port 443 --ca "$W/ca.key"
vg endpoint remove other-name

# ---- an admin with a session manages the list ----
vg provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
printf 'a long and unusual passphrase 77\n' >"$W/pw"; chmod 644 "$W/pw"
A admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null
check "SFR 4.2.8: the admin adds an endpoint for alice" \
	A endpoint add avs --host avs-alexa-na.amazon.com --port 443 --ca "$W/ca.pem" \
	--pin "$PIN" --revocation crl --crl "$W/ca.crl" --uid vgalice --unit avs.service
check "SFR 4.2.8: ... one for bob" \
	A endpoint add bobs --host 192.0.2.7 --port 8443 --ca "$W/ca2.pem" --uid "$BOB_UID" \
	--revocation ocsp --soft-fail --min-tls 1.3
check "SFR 4.2.8: ... and one for nobody but admins" \
	A endpoint add setup-relay --host relay.example --port 443 --ca "$W/ca.pem" \
	--client-key device-identity
# AVS 1.3: the Amazon Trust Services roots shipped with voxguard are
# Debian's, unchanged, and an Alexa endpoint pins them.
M=/usr/share/ca-certificates/mozilla
ATS=$VG_SRC/data/ca/amazon-trust-services.pem
cat "$M/Amazon_Root_CA_1.crt" "$M/Amazon_Root_CA_2.crt" "$M/Amazon_Root_CA_3.crt" \
	"$M/Amazon_Root_CA_4.crt" "$M/Starfield_Services_Root_Certificate_Authority_-_G2.crt" >"$W/ats.pem"
check "AVS 1.3: data/ca/amazon-trust-services.pem is Debian's five Amazon Trust Services roots" \
	cmp -s "$ATS" "$W/ats.pem"
check "AVS 1.3: an Alexa endpoint pins the Amazon Trust Services roots" \
	A endpoint add alexa --host avs-alexa-na.amazon.com --port 443 --ca "$ATS" \
	--client-key device-identity --uid vgalice --min-tls 1.2
A endpoint show alexa >"$W/alexa.txt"
check "AVS 1.3: ... all five, and no other CA" sh -c "
[ \$(grep -c 'sha256 ' '$W/alexa.txt') = 5 ] && grep -q 'Amazon Root CA 4' '$W/alexa.txt' &&
grep -q 'Starfield Services Root' '$W/alexa.txt'"
A endpoint remove alexa
check_fails "SFR 4.2.8: a uid listed twice is refused" 2 \
	A endpoint add dup --host a.example --port 443 --ca "$W/ca.pem" --uid 5 --uid 5
A endpoint list >"$W/list.txt"
check "SFR 4.2.8: the admin lists all three" test "$(wc -l <"$W/list.txt")" = 3
A endpoint list --json >"$W/list.json"
check "SFR 4.2.8: list --json is the policies' JSON array" python3 -c "
import json, sys; v = json.load(open('$W/list.json'))
sys.exit(0 if sorted(e['name'] for e in v) == ['avs', 'bobs', 'setup-relay'] and v[0]['v'] == 1 else 1)"
A endpoint show avs >"$W/show.txt"
check "SFR 4.2.8: show names host, revocation, pin and who may use it" sh -c "
grep -q 'avs-alexa-na.amazon.com' '$W/show.txt' && grep -q 'crl (fail closed)' '$W/show.txt' &&
grep -q '$PIN' '$W/show.txt' && grep -q 'uids=$ALICE_UID units=avs.service' '$W/show.txt' &&
grep -q 'Test-Root-CA' '$W/show.txt'"
A endpoint show bobs --json >"$W/bobs.json"
check "SFR 4.2.8: show --json is the canonical policy" python3 -c "
import json, sys; e = json.load(open('$W/bobs.json'))
sys.exit(0 if e['min_tls'] == '1.3' and e['soft_fail'] and e['uids'] == [$BOB_UID] and e['revocation'] == 'ocsp' else 1)"

# Attacks on the list itself.
A admin logout >/dev/null
check_fails "SFR 4.2.8, 4.2.13: without a session the admin cannot add an endpoint" 2 \
	A endpoint add evil --host evil.example --port 443 --ca "$W/ca2.pem" --uid vgalice
check_fails "SFR 4.2.8, 4.2.13: ... nor remove one" 2 A endpoint remove avs
check_fails "SFR 4.2.8: an application cannot add an endpoint" 2 \
	ALICE endpoint add evil --host evil.example --port 443 --ca "$W/ca2.pem" --uid vgalice
check_fails "SFR 4.2.8: ... nor remove one" 2 ALICE endpoint remove avs
A admin login --password-file "$W/pw" >/dev/null

# ---- who gets which endpoint ----
check "SFR 4.2.8: alice gets her endpoint (control)" ALICE endpoint show avs
ALICE endpoint list >"$W/alice-list.txt"
check "SFR 4.2.8: alice's list holds only her endpoint" \
	sh -c "[ \"\$(cut -d' ' -f1 '$W/alice-list.txt')\" = avs ]"
out "$W/alice-bob.txt" ALICE endpoint show bobs || true
check "SFR 4.2.8: alice is refused bob's endpoint" grep -q 'permission denied.*no endpoint .bobs. is listed' "$W/alice-bob.txt"
check_fails "SFR 4.2.8: ... with exit 2" 2 ALICE endpoint show bobs
out "$W/alice-none.txt" ALICE endpoint show nosuch || true
check "SFR 4.2.8: an endpoint not on the list is refused like another's (no oracle)" \
	grep -q 'permission denied.*no endpoint .nosuch. is listed' "$W/alice-none.txt"
check_fails "SFR 4.2.8: alice is refused the admins-only endpoint" 2 ALICE endpoint show setup-relay
check "SFR 4.2.8: bob gets his (control)" BOB endpoint show bobs
check_fails "SFR 4.2.8: bob is refused alice's" 2 BOB endpoint show avs
check "SFR 4.2.8: an admin gets any endpoint" A endpoint show setup-relay
check_fails "SFR 4.2.8: an unknown endpoint is 'not found' to an admin" 2 A endpoint show nosuch

# ---- connection reports (SFR 4.2.7, 4.2.9) ----
check "SFR 4.2.7: alice reports a refused connection to her endpoint" \
	REPORT vgalice avs 192.0.2.10:443 0 "certificate revoked (CRL)"
i=0; while [ $i -lt 5 ]; do REPORT vgalice avs 192.0.2.10:443 1 >/dev/null; i=$((i + 1)); done
check "SFR 4.2.7: alice reports accepted connections (control)" REPORT vgalice avs 192.0.2.10:443 1
out "$W/bob-report.txt" REPORT vgbob avs 192.0.2.66:443 0 "forged" || true
check "SFR 4.2.8: bob cannot report for alice's endpoint" grep -q 'permission denied' "$W/bob-report.txt"
check_fails "SFR 4.2.8: ... (exit 2)" 2 REPORT vgbob nosuch 192.0.2.66:443 1

# ---- the list's budget (SFR 4.2.10) ----
i=3; full=0
while [ $i -lt 70 ]; do
	if ! A endpoint add "bulk$i" --host "h$i.example" --port 443 --ca "$W/ca.pem" >"$W/bulk.out" 2>&1; then
		full=$i; break
	fi
	i=$((i + 1))
done
check "SFR 4.2.10: the 65th endpoint is refused: the list is full ($full)" \
	sh -c "[ $full = 64 ] && grep -q 'endpoint list is full' '$W/bulk.out'"
check "SFR 4.2.8: replacing an endpoint in a full list works" \
	A endpoint add bulk3 --host h3b.example --port 443 --ca "$W/ca.pem"
i=3; while [ $i -lt 64 ]; do A endpoint remove "bulk$i"; i=$((i + 1)); done
A endpoint list >"$W/list2.txt"
check "SFR 4.2.8: removed endpoints are gone" test "$(wc -l <"$W/list2.txt")" = 3
check_fails "SFR 4.2.8: removing an unknown endpoint fails" 2 A endpoint remove bulk3

# ---- the audit trail ----
A log export --out "$W/a.vgl"
A log show --in "$W/a.vgl" --json >"$W/a.json"
check "SFR 4.2.9: endpoint additions are audit events" grep -q '"endpoint.add".*"success"' "$W/a.json"
check "SFR 4.2.9: endpoint removals are audit events" grep -q '"endpoint.remove".*"success"' "$W/a.json"
check "SFR 4.2.9: a change without a session is an audit event" \
	grep -q '"auth.required".*endpoint.add evil' "$W/a.json"
check "SFR 4.2.9: a change by an application is an audit event" \
	sh -c "grep '\"authz.denied\"' '$W/a.json' | grep 'endpoint.add evil' | grep -q '\"uid\":$ALICE_UID'"
check "SFR 4.2.8: another uid's endpoint refused: endpoint.denied with the uid" \
	sh -c "grep '\"endpoint.denied\"' '$W/a.json' | grep 'endpoint.get bobs' | grep -q '\"uid\":$ALICE_UID'"
check "SFR 4.2.8: an endpoint not on the list refused: endpoint.denied" \
	grep -q '"endpoint.denied".*endpoint.get nosuch' "$W/a.json"
check "SFR 4.2.8: a report for another's endpoint refused: endpoint.denied" \
	sh -c "grep '\"endpoint.denied\"' '$W/a.json' | grep 'endpoint.report avs' | grep -q '\"uid\":$BOB_UID'"
check "SFR 4.2.7: a refused connection is tls.refused with endpoint, peer and reason" \
	sh -c "grep '\"tls.refused\"' '$W/a.json' | grep 'avs peer=192.0.2.10:443: certificate revoked (CRL)' | grep -q '\"uid\":$ALICE_UID'"
n=$(grep -c '"tls.connected"' "$W/a.json" || true)
check "SFR 4.2.7: six accepted connections in a minute are one tls.connected ($n)" test "$n" = 1
check "SFR 4.2.7: ... under alice's uid, naming endpoint and peer" \
	sh -c "grep '\"tls.connected\"' '$W/a.json' | grep 'avs peer=192.0.2.10:443' | grep -q '\"uid\":$ALICE_UID'"
check "SFR 4.2.9: the forged report's reason is not recorded" sh -c "! grep -q forged '$W/a.json'"
check "SFR 4.2.9: a refusal is not also recorded as authz.denied" \
	sh -c "! grep '\"authz.denied\"' '$W/a.json' | grep -q 'endpoint.get'"

# ---- durable: the list survives a restart ----
stop_daemon
CA_LINE=$(sed -n 2p "$W/ca.pem")
check "SFR 4.2.4: the CA is not stored in the clear" sh -c "! grep -rqF '$CA_LINE' '$STATE'"
start_daemon
ALICE endpoint show avs >"$W/restart.txt" 2>&1 || true
check "SFR 4.2.8: the list survives a restart" grep -q avs-alexa-na "$W/restart.txt"
A admin login --password-file "$W/pw" >/dev/null
A endpoint list >"$W/list3.txt"
check "SFR 4.2.8: all three are there for the admin" test "$(wc -l <"$W/list3.txt")" = 3

# ---- a factory reset erases the list (device configuration, SFR 4.2.12) ----
A factory-reset --yes >/dev/null
vg endpoint list >"$W/after-reset.txt"
check "SFR 4.2.12: after a factory reset the endpoint list is empty" test ! -s "$W/after-reset.txt"
check_fails "SFR 4.2.12: alice's endpoint is gone" 2 ALICE endpoint show avs
stop_daemon
finish
