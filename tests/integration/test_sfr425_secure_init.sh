#!/bin/sh
# SFR 4.2.5 (secure initialization), AVS 1.1, threat A.3.3 (firmware
# abuse): the signed platform manifest, made and signed on the build host
# with `voxguard manifest`, is checked by voxguardd at every start and by
# `voxguard verify-platform`. A genuine platform runs normally; anything
# else puts the service in recovery, where application keys and records are
# refused and status, audit log, identity, attestation and factory reset
# still work. Attacks: a changed, resized or missing component, a changed
# manifest, a manifest signed by another key, an unsigned one, one for
# another product, a missing manifest.
. "$(dirname "$0")/lib.sh"
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
H="env VOXGUARD_SOCKET=/nonexistent $VOXGUARD" # the build host: no service
if [ "$IS_ROOT" = 1 ]; then ADMIN="as vgcarol"; USER="as vgalice"; else ADMIN=""; USER=""; fi
U() { $USER $V "$@"; }
ASU=""; [ "$IS_ROOT" = 1 ] && ASU="setpriv --reuid=vgalice --regid=vgalice --init-groups --"
A() { $ADMIN $V "$@"; }
# json_has FILE EXPR: FILE is one JSON document d for which EXPR holds.
json_has() { python3 -c "import json,sys; d=json.load(sys.stdin); assert $2, d" <"$1"; }

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/release.key" 2>/dev/null
openssl pkey -in "$W/release.key" -pubout -out "$W/release.pub"
openssl genpkey -algorithm ED25519 -out "$W/other.key" 2>/dev/null
openssl pkey -in "$W/other.key" -pubout -out "$W/other.pub"

# The platform: a voice app, a library and a 3 MiB image (a Merkle root).
R=$W/rootfs
mkdir -p "$R/usr/bin" "$R/usr/lib" "$R/images"
printf '#!/bin/sh\necho voice\n' >"$R/usr/bin/voice-app"
head -c 20000 /dev/urandom >"$R/usr/lib/libwake.so"
head -c 3145733 /dev/urandom >"$R/images/dsp.img"
chmod -R a+rX "$W"
chmod 644 "$W"/*.key

MAN=$W/platform.json
check "SFR 4.2.5: manifest create measures the components on the build host" \
	$H manifest create --out "$MAN" --version 2026.11.0 --security-version 3 \
	--oem Acme --model Echo --hw-rev B2 --merkle-above 1048576 \
	"voice-app:1.4.2=$R/usr/bin/voice-app" "libwake=$R/usr/lib/libwake.so" \
	"dsp-image:7=$R/images/dsp.img"
check "SFR 4.2.5: large images get a Merkle root" sh -c "$H manifest show '$MAN' | grep dsp-image | grep -q merkle"
check_fails "AVS 1.1: an unsigned manifest does not verify" 1 $H manifest verify --key "$W/release.pub" "$MAN"
cp "$MAN" "$W/unsigned.json"
check "AVS 1.1: manifest sign with the OEM release key" $H manifest sign --key "$W/release.key" "$MAN"
check "SFR 4.2.5: manifest verify on the build host: genuine" $H manifest verify --key "$W/release.pub" "$MAN"
check_fails "AVS 1.1: another key's signature is not the release key's" 1 $H manifest verify --key "$W/other.pub" "$MAN"
# A staging tree on the build host: the same paths under --root.
mkdir -p "$W/stage$W"; cp -a "$R" "$W/stage$R"
check "SFR 4.2.5: manifest verify --root checks a staging tree" \
	$H manifest verify --key "$W/release.pub" --root "$W/stage" "$MAN"
sed 's/"version": "2026.11.0"/"version": "2026.11.1"/' "$MAN" >"$W/edited.json"
check_fails "AVS 1.1: an edited manifest no longer verifies" 1 $H manifest verify --key "$W/release.pub" "$W/edited.json"
chmod 644 "$W"/*.json

EXTRA_CONFIG="manifest = $MAN"
start_daemon
check "SFR 4.2.5: before a release key is provisioned the platform is unverified" \
	sh -c "$V status | grep -q 'platform:       unverified'"
A provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" \
	--release-key "$W/release.pub" >/dev/null
check "SFR 4.2.5: verify-platform: genuine, exit 0" A verify-platform
check "SFR 4.2.5: status shows the verified platform" sh -c "$V status | grep -q 'platform:       normal (verified: platform 2026.11.0, security version 3)'"
rc=0; A verify-platform --json >"$W/vp.json" || rc=$?
check "SFR 4.2.5: verify-platform --json: genuine, exit 0" test "$rc" = 0
check "SFR 4.2.5: verify-platform --json: state, version and security version" json_has "$W/vp.json" \
	'd["state"] == "normal" and d["genuine"] is True and d["reason"] is None and d["version"] == "2026.11.0" and d["security_version"] == 3'
check "SFR 4.2.5: verify-platform --json: every component ok, voice-app with its path" json_has "$W/vp.json" \
	'len(d["components"]) == 3 and all(c["ok"] is True and c["why"] is None for c in d["components"]) and {c["name"]: c["path"] for c in d["components"]}["voice-app"].endswith("/usr/bin/voice-app")'
$V status --json >"$W/st.json"
check "SFR 4.2.5: status --json: the verified platform" json_has "$W/st.json" \
	'd["platform"] == {"state": "normal", "reason": None, "version": "2026.11.0", "security_version": 3}'
check "SFR 4.2.9: status --json: the audit log's figures are numbers" json_has "$W/st.json" \
	'all(type(d["audit_log"][k]) is int for k in ("next_record", "bytes", "capacity_bytes", "dropped", "suppressed")) and d["audit_log"]["bytes"] <= d["audit_log"]["capacity_bytes"]'
check "SFR 4.2.10: status --json: the caller, the admin and the service state" json_has "$W/st.json" \
	'd["uid"] == '"$(id -u)"' and d["role"] in ("user", "admin") and d["admin_configured"] is False and d["store_state"] == "ok" and d["lifecycle_state"] == "secured" and d["root_of_trust"]["backend"] == "file" and d["root_of_trust"]["development"] is True and d["debug_unlocked"] is False'
check "SFR 4.2.10: status --json: the budget's limits and use are numbers" json_has "$W/st.json" \
	'd["budget"]["uid"] == d["uid"] and len(d["budget"]["limits"]) == 9 and all(type(v) is int and v > 0 for v in d["budget"]["limits"].values()) and all(type(v) is int for v in d["budget"]["use"].values()) and d["budget"]["use"]["connections"] >= 1'
$V status --uid "$(id -u)" --json >"$W/st-uid.json"
check "SFR 4.2.10: status --uid --json: the same budget under the same name" sh -c \
	"python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert list(a) == [\"budget\"] and a[\"budget\"][\"limits\"] == b[\"budget\"][\"limits\"]' '$W/st-uid.json' '$W/st.json'"
check "AGD_OPE.1: status without --json is still text" sh -c "$V status | grep -q '^voxguardd: ' && ! $V status | grep -q '{'"
printf 'profile' | U store put profile
check "SFR 4.2.5: in the normal state applications work" U key create k --type p256
if [ "$IS_ROOT" = 1 ]; then
	check_fails "SFR 4.2.5: verify-platform is an admin operation" 2 U verify-platform
	rc=0; U verify-platform --json >"$W/vp-user.json" 2>"$W/vp-user.err" || rc=$?
	check "SFR 4.2.5: ... with --json too: exit 2, the error on stderr, nothing on stdout" \
		sh -c "[ $rc = 2 ] && [ ! -s '$W/vp-user.json' ] && grep -q 'verify-platform' '$W/vp-user.err'"
fi
stop_daemon
start_daemon
check "SFR 4.2.5: a start with a genuine platform is normal" sh -c "$V status | grep -q 'platform:       normal'"
$V identity --json >"$W/ref.json"
check "SFR 4.2.1: the attested components are the manifest's" grep -q '"voice-app"' "$W/ref.json"
check "SFR 4.2.1: and the manifest itself" grep -q '"platform-manifest"' "$W/ref.json"
N=$(openssl rand -hex 32)
$V identity --public-key >"$W/att.pem"
U attest --nonce "$N" --out "$W/t1"
check "SFR 4.2.3: a token verifies against the manifest's reference values" \
	$H verify-token "$W/t1" --key "$W/att.pem" --nonce "$N" --reference "$W/ref.json"

# A changed component (same size, one byte): recovery, named.
cp "$R/usr/bin/voice-app" "$W/voice-app.good"
printf '#!/bin/sh\necho VOICE\n' >"$R/usr/bin/voice-app"
rc=0; A verify-platform >"$W/vp.out" 2>&1 || rc=$?
check "SFR 4.2.5: a changed component fails verify-platform (exit 1)" test "$rc" = 1
check "SFR 4.2.5: the failure names the component" grep -q 'voice-app.*FAILED' "$W/vp.out"
rc=0; A verify-platform --json >"$W/vp.json" 2>"$W/vp.err" || rc=$?
check "SFR 4.2.5: verify-platform --json keeps the exit status (1: not genuine)" test "$rc" = 1
check "SFR 4.2.5: verify-platform --json: recovery, the reason and the failed component" json_has "$W/vp.json" \
	'd["state"] == "recovery" and d["genuine"] is False and "voice-app" in d["reason"] and [c["name"] for c in d["components"] if not c["ok"]] == ["voice-app"] and all((c["why"] is None) == c["ok"] for c in d["components"])'
check "SFR 4.2.5: status --json shows recovery and why" sh -c \
	"$V status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"platform\"][\"state\"] == \"recovery\" and \"voice-app\" in d[\"platform\"][\"reason\"]'"
check "SFR 4.2.5: status shows recovery and why" sh -c "$V status | grep -q 'RECOVERY: component voice-app'"
check_fails "SFR 4.2.5: in recovery application records are refused" 2 U store get profile
check_fails "SFR 4.2.5: and application keys" 2 U key sign k --in "$R/usr/lib/libwake.so" --out "$W/sig"
check "SFR 4.2.5: the refusal says why" sh -c "$ASU $V store get profile 2>&1 | grep -q 'recovery'"
check "SFR 4.2.5: in recovery status works" $V status
check "SFR 4.2.5: in recovery identity works" $V identity
U attest --nonce "$N" --out "$W/t2"
check_fails "SFR 4.2.3: the token reports the changed component to a verifier" 1 \
	$H verify-token "$W/t2" --key "$W/att.pem" --nonce "$N" --reference "$W/ref.json"
cp "$W/voice-app.good" "$R/usr/bin/voice-app"
check "SFR 4.2.5: the component restored, verify-platform is genuine again" A verify-platform
check "SFR 4.2.5: and applications work again" sh -c "$ASU $V store get profile | grep -q profile"
if [ "$IS_ROOT" = 1 ]; then
	# A manifest the service (its own user) cannot read: recovery, and
	# the reason is "permission denied" with what to do, not "I/O error".
	chmod 0600 "$MAN"
	A verify-platform >"$W/vp-denied.out" 2>&1 || true
	check "SFR 4.2.5: an unreadable manifest: recovery, permission denied and the fix named" \
		sh -c "$V status | grep -q 'RECOVERY: platform manifest $MAN: permission denied (voxguardd reads it as its own user'"
	chmod 0644 "$MAN"
	check "SFR 4.2.5: readable again, verify-platform is genuine" A verify-platform
fi

# A resized component: bytes appended are not 'outside the image'.
cp "$R/usr/lib/libwake.so" "$W/libwake.good"
printf 'x' >>"$R/usr/lib/libwake.so"
check_fails "SFR 4.2.5: an appended byte fails" 1 A verify-platform
cp "$W/libwake.good" "$R/usr/lib/libwake.so"
# A byte of the large image (Merkle).
cp "$R/images/dsp.img" "$W/dsp.good"
printf 'Z' | dd of="$R/images/dsp.img" bs=1 seek=2000000 conv=notrunc 2>/dev/null
stop_daemon
start_daemon
check "SFR 4.2.5: a changed image puts the service in recovery at start" sh -c "$V status | grep -q 'RECOVERY: component dsp-image'"
cp "$W/dsp.good" "$R/images/dsp.img"
rm "$R/usr/lib/libwake.so"
check_fails "SFR 4.2.5: a missing component fails" 1 A verify-platform
cp "$W/libwake.good" "$R/usr/lib/libwake.so"
check "SFR 4.2.5: all restored: genuine" A verify-platform

# Manifests that must not be accepted.
try_manifest() { # description file
	cp "$2" "$MAN"; chmod 644 "$MAN"
	rc=0; A verify-platform >"$W/vp.out" 2>&1 || rc=$?
	check "$1" sh -c "[ $rc = 1 ] && $V status | grep -q RECOVERY"
}
cp "$MAN" "$W/good.json"
try_manifest "AVS 1.1: an edited manifest puts the device in recovery" "$W/edited.json"
try_manifest "AVS 1.1: an unsigned manifest puts the device in recovery" "$W/unsigned.json"
cp "$W/good.json" "$W/other-signed.json"; $H manifest sign --key "$W/other.key" "$W/other-signed.json" >/dev/null
try_manifest "AVS 1.1: a manifest signed by another key puts the device in recovery" "$W/other-signed.json"
$H manifest create --out "$W/foreign.json" --version 2026.11.0 --security-version 3 \
	--oem Acme --model Dot --hw-rev B2 "voice-app:1.4.2=$R/usr/bin/voice-app" >/dev/null
$H manifest sign --key "$W/release.key" "$W/foreign.json" >/dev/null
try_manifest "SFR 4.2.5: another product's manifest puts the device in recovery" "$W/foreign.json"
check "SFR 4.2.5: and says which product it is for" sh -c "$V status | grep -q 'Acme Dot rev B2'"
printf 'not json' >"$W/garbage.json"
try_manifest "SFR 4.2.5: a garbage manifest puts the device in recovery" "$W/garbage.json"
rm -f "$MAN"
rc=0; A verify-platform >/dev/null 2>&1 || rc=$?
check "SFR 4.2.5: a missing manifest puts the device in recovery" sh -c "[ $rc = 1 ] && $V status | grep -q 'RECOVERY: platform manifest'"
A log export --out "$W/log.vgl"
$H log show --in "$W/log.vgl" --json >"$W/log.json"
check "SFR 4.2.9: each failing component is an audit event" grep -q '"platform.component".*"failure".*voice-app' "$W/log.json"
check "SFR 4.2.9: the verification outcome is an audit event" grep -q '"platform.verify".*"success"' "$W/log.json"
check "SFR 4.2.9: refusals in recovery are audit events" grep -q '"platform.recovery_denied"' "$W/log.json"
check "SFR 4.2.12: factory reset is served in recovery" A factory-reset --yes
cp "$W/good.json" "$MAN"
check "SFR 4.2.5: the release key survives a factory reset" A verify-platform

# Issue 11: one minimum security version. mark-good raises the RoT's
# security-version counter before the sealed record; a power cut between
# the two leaves only the counter knowing the new minimum, and the check
# at start must honour it as the update decision does (the file backend's
# counter is two slots "VGS1" | value | 16 zero bytes | SHA-256[0..4]).
stop_daemon
secver_slot() {
	printf "VGS1\\000\\000\\000\\000\\000\\000\\000$(printf '\\%03o' "$1")" >"$W/slot"
	head -c 16 /dev/zero >>"$W/slot"
	openssl dgst -sha256 -binary "$W/slot" | head -c 4 >>"$W/slot"
	cat "$W/slot"
}
{ secver_slot 5; head -c 32 /dev/zero; } >"$STATE/secver"
[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$STATE/secver"
chmod 600 "$STATE/secver"
start_daemon
check "SFR 4.2.5: the check at start honours the RoT's minimum security version (5 > 3)" \
	sh -c "$V status | grep -q 'RECOVERY'"
check "SFR 4.2.5: ... and says why" sh -c "$V status | grep -qi 'security version'"
stop_daemon
{ secver_slot 3; head -c 32 /dev/zero; } >"$STATE/secver"
[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$STATE/secver"
start_daemon
check "SFR 4.2.5: control: at the manifest's own security version (3) it starts normal" \
	sh -c "$V status | grep -q 'platform: *normal'"
stop_daemon
finish
