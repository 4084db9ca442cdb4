#!/bin/sh
# AVS Device SDK rule 1 (protect configuration such as
# AlexaClientSDKConfig.json from tampering and inspection), SFR 4.2.4
# note 1, SFR 4.2.9, 4.2.12, 4.2.13: `voxguard config` against a real
# service. An admin with a session seals a configuration for one
# application (a uid, a user, or a systemd unit's User=); only that uid
# reads it back, into a sealed memfd that nothing can change; it is never
# in the clear in the state dir; every change is audited, so is a refusal;
# a factory reset erases it. Attacks next to their controls: sealing
# without a session, by a non-admin, reading another uid's configuration,
# a unit that runs as root, more than the device holds, raw malformed
# requests.
. "$(dirname "$0")/lib.sh"
: "${IPC_PROBE:?set by ctest}"
[ "$IS_ROOT" = 1 ] || { echo "SKIP: needs root (several users)"; exit 77; }
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
SESS=$W/carol.session
A() { env VOXGUARD_SESSION="$SESS" VOXGUARD_UNIT_PATH="$W/units" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- $V "$@"; }
ALICE() { as vgalice $V "$@"; }
BOB() { as vgbob $V "$@"; }
ALICE_UID=$(id -u vgalice)
EXTRA_CONFIG="admin_pw_cost = 10"
start_daemon

# The example configuration: a secret no one but alice may read.
MARK="client-secret-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
write_sdk_config "$W/AlexaClientSDKConfig.json" "$MARK"
mkdir -p "$W/units/voice.service.d"
printf '[Unit]\nDescription=voice\n[Service]\nUser=root\nExecStart=/bin/true\n' >"$W/units/voice.service"
printf '[Service]\nUser=vgalice\n' >"$W/units/voice.service.d/10-user.conf"
printf '[Service]\nExecStart=/bin/true\n' >"$W/units/rooted.service"
printf '[Service]\nDynamicUser=yes\n' >"$W/units/dyn.service"

vg provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
printf 'a long and unusual passphrase 77\n' >"$W/pw"; chmod 644 "$W/pw"
A admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null
A admin logout >/dev/null 2>&1 || true

# ---- who may seal ----
check_fails "SDK rule 1: sealing without an admin session is refused" 2 \
	A config seal "$W/AlexaClientSDKConfig.json" --for vgalice
check_fails "SDK rule 1: a non-admin uid cannot seal a configuration" 2 \
	ALICE config seal "$W/AlexaClientSDKConfig.json" --for vgalice
A admin login --password-file "$W/pw" >/dev/null
check "SDK rule 1: an admin with a session seals the configuration for a unit (its User=, from a drop-in)" \
	A config seal "$W/AlexaClientSDKConfig.json" --for voice.service
check_fails "SDK rule 1: a unit that runs as root is refused (no User=)" 2 \
	A config seal "$W/AlexaClientSDKConfig.json" --for rooted.service
check_fails "SDK rule 1: a unit with DynamicUser= is refused (no stable uid)" 2 \
	A config seal "$W/AlexaClientSDKConfig.json" --for dyn.service
check_fails "SDK rule 1: a unit that does not exist is refused" 2 \
	A config seal "$W/AlexaClientSDKConfig.json" --for nosuch.service
: >"$W/empty"; chmod 644 "$W/empty"
check_fails "SDK rule 1: an empty file is refused" 2 A config seal "$W/empty" --for vgbob
A config list >"$W/list.txt"
check "SDK rule 1: the admin's list shows it for alice's uid with its digest" \
	grep -q "^AlexaClientSDKConfig.json uid=$ALICE_UID size=$(wc -c <"$W/AlexaClientSDKConfig.json") sha256=$(sha256sum "$W/AlexaClientSDKConfig.json" | cut -c1-64)\$" "$W/list.txt"
A config list --json >"$W/list.json"
check "AGD_OPE.1: config list --json: the same, as one object" python3 -c '
import json, sys
c = [x for x in json.load(open(sys.argv[1]))["configs"] if x["name"] == "AlexaClientSDKConfig.json"]
assert len(c) == 1 and c[0]["uid"] == int(sys.argv[2]) and c[0]["size"] == int(sys.argv[3]) and c[0]["sha256"] == sys.argv[4], c
' "$W/list.json" "$ALICE_UID" "$(wc -c <"$W/AlexaClientSDKConfig.json")" "$(sha256sum "$W/AlexaClientSDKConfig.json" | cut -c1-64)"

# ---- who may read ----
ALICE config get AlexaClientSDKConfig.json >"$W/alice.json"
check "SDK rule 1: alice reads her configuration back, byte for byte" \
	cmp "$W/alice.json" "$W/AlexaClientSDKConfig.json"
check_fails "SDK rule 1: bob cannot read alice's configuration" 2 \
	BOB config get AlexaClientSDKConfig.json
BOB config get AlexaClientSDKConfig.json 2>"$W/bob.err" || true
check "SDK rule 1: ... and is told none is sealed for his uid" \
	grep -q "no configuration 'AlexaClientSDKConfig.json' is sealed for uid $(id -u vgbob)" "$W/bob.err"
BOB config list >"$W/boblist.txt" 2>&1 || true
check "SDK rule 1: bob's list is empty" test ! -s "$W/boblist.txt"

# ---- the application at start: a sealed memfd ----
cat >"$W/app.sh" <<'APP'
#!/bin/sh
# A stand-in voice application: reads its configuration from the path
# it was given, then tries to change it through its descriptor.
cfg=$1
cat "$cfg" >"$2"
case $(readlink "/proc/self/fd/$VOXGUARD_CONFIG_FD") in "/memfd:voxguard-config:"*) echo memfd >>"$2.kind" ;; esac
( echo tampered >&"$VOXGUARD_CONFIG_FD" ) 2>/dev/null && echo written >>"$2.kind"
( printf x >>"$cfg" ) 2>/dev/null && echo appended >>"$2.kind"
exit 0
APP
chmod 755 "$W/app.sh"
ALICE config exec AlexaClientSDKConfig.json -- "$W/app.sh" {} "$W/app.out"
check "SDK rule 1: config exec hands the application its configuration at a /proc/self/fd path" \
	cmp "$W/app.out" "$W/AlexaClientSDKConfig.json"
check "SDK rule 1: ... in a memfd, not a file" grep -qx memfd "$W/app.out.kind"
check "SDK rule 1: ... that the application cannot write through its descriptor (F_SEAL_WRITE)" \
	sh -c "! grep -q written '$W/app.out.kind'"
check "SDK rule 1: ... nor append to (F_SEAL_GROW)" sh -c "! grep -q appended '$W/app.out.kind'"
check_fails "SDK rule 1: bob's config exec runs nothing" 2 \
	BOB config exec AlexaClientSDKConfig.json -- "$W/app.sh" {} "$W/bob.out"
check "SDK rule 1: ... (his program never ran)" test ! -e "$W/bob.out"

# ---- changes are audited; so are refusals ----
A admin login --password-file "$W/pw" >/dev/null
A log show >"$W/log.txt"
check "SFR 4.2.9: the seal is audited with the admin and the target uid" \
	grep -q "config.seal AlexaClientSDKConfig.json owner=$ALICE_UID" "$W/log.txt"
check "SFR 4.2.9: ... with the content's size and digest" \
	grep -q "config.content.*AlexaClientSDKConfig.json for uid $ALICE_UID: .* bytes, sha256 $(sha256sum "$W/AlexaClientSDKConfig.json" | cut -c1-16)" "$W/log.txt"
check "SFR 4.2.9: the seal without a session is audited as refused" \
	grep -q "auth.required.*config.seal" "$W/log.txt"
check "SFR 4.2.9: bob's read is audited as config.denied" \
	grep -q "config.denied.*uid $(id -u vgbob)" "$W/log.txt"

# ---- bounds ----
head -c $((1024 * 1024 + 1)) /dev/zero >"$W/big"; chmod 644 "$W/big"
check_fails "SDK rule 1: a configuration over 1 MiB is refused" 2 A config seal "$W/big" --for vgbob
check_fails "SDK rule 1: a name over 64 characters is refused" 2 \
	A config seal "$W/AlexaClientSDKConfig.json" --for vgbob --name "$(printf 'n%.0s' $(seq 65))"
head -c 200000 /dev/urandom >"$W/c200k"; chmod 644 "$W/c200k"
i=0; while [ $i -lt 60 ]; do A config seal "$W/c200k" --for vgbob --name "c$i" >/dev/null 2>&1 || break; i=$((i + 1)); done
check "SDK rule 1: the device holds at most 8 MiB of configuration (41 files of 200 kB beside alice's, not 42)" \
	test "$i" = 41
A config seal "$W/c200k" --for vgbob --name "cx" 2>"$W/full.err" || true
check "SDK rule 1: ... with the limit named" grep -q "at most 64 configurations, 8 MiB" "$W/full.err"
j=0; while [ $j -lt "$i" ]; do A config remove "c$j" --for vgbob >/dev/null; j=$((j + 1)); done
check "SDK rule 1: removed, they are gone" sh -c "! $V config list 2>/dev/null | grep -q 'c0 '"
check_fails "SDK rule 1: removing one that is not there is an error" 2 A config remove c0 --for vgbob

# ---- raw requests: garbage is answered with an error, the service goes on ----
printf '\x00\x00\x00\x05garba' >"$W/g.frame"
"$IPC_PROBE" "$SOCK" send "$W/g.frame" >/dev/null 2>&1 || true
check "the service keeps serving after a malformed frame" vg status

# ---- never in the clear; erased by a factory reset ----
stop_daemon
check "SFR 4.2.4: the configuration's secret is not in the state dir in the clear" \
	sh -c "! grep -rqF '$MARK' '$STATE'"
start_daemon
ALICE config get AlexaClientSDKConfig.json >"$W/alice2.json"
check "SDK rule 1: the configuration survives a restart" cmp "$W/alice2.json" "$W/AlexaClientSDKConfig.json"
A admin login --password-file "$W/pw" >/dev/null
A factory-reset --yes >/dev/null
check_fails "SFR 4.2.12: after a factory reset alice's configuration is gone" 2 \
	ALICE config get AlexaClientSDKConfig.json
stop_daemon
finish
