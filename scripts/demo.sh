#!/bin/sh
# `make demo`: the main job end to end on the embedded default root of
# trust (the file backend): start voxguardd, keep a key and a secret in it,
# prove the signature with OpenSSL, show that the state dir holds nothing in
# the clear, catch a rollback of the store, verify the audit log, provision
# and attest, set up admin access, check the platform against its signed
# manifest, fetch an update through TUF, install an encrypted bundle
# into the inactive A/B slot, talk mutual TLS with the key in the service,
# encrypt and decrypt speech, and hand a display client a one-time token.
set -eu
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
VGD=$src/$build/voxguardd
VG=$src/$build/voxguard
[ -x "$VGD" ] || { echo "demo: build first (make)"; exit 2; }

T=$(mktemp -d /tmp/voxguard-demo.XXXXXX)
chmod 755 "$T"
STATE=$T/state SOCK=$T/voxguard.sock
mkdir -m 700 "$STATE"
: >"$T/voxguardd.conf"
if [ "$(id -u)" = 0 ]; then
	# As on a device: root starts the service, which drops to its own user.
	getent passwd voxguard >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin voxguard
	chown voxguard: "$STATE"
	echo "user = voxguard" >"$T/voxguardd.conf"
fi
echo "admin_group = $(id -gn)" >>"$T/voxguardd.conf"
echo "manifest = $T/platform.json" >>"$T/voxguardd.conf"
# A/B updates: one image (rootfs) with slots a and b, the file bootloader
# adapter, and the kernel command line the boot script would write.
cat >>"$T/voxguardd.conf" <<CONF
update_slots = rootfs $T/slot-a $T/slot-b
bootloader = file
bootloader_param = $T/bootenv
boot_cmdline = $T/cmdline
boot_id = $T/boot_id
display_launcher_uids = $(id -u)
display_gateway_uids = $(id -u)
CONF
echo "console=ttyS0 voxguard.slot=a" >"$T/cmdline"
echo "boot-1" >"$T/boot_id"
DPID=
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
vg() { "$VG" --socket "$SOCK" "$@"; }
start() {
	"$VGD" --state-dir "$STATE" --socket "$SOCK" --config "$T/voxguardd.conf" >"$T/daemon.log" 2>&1 &
	DPID=$!
	i=0; until grep -q ready "$T/daemon.log"; do
		sleep 0.05; i=$((i + 1)); [ $i -lt 200 ] || { cat "$T/daemon.log"; exit 1; }
	done
	cat "$T/daemon.log"
}
stop() { kill -TERM "$DPID"; wait "$DPID" || true; DPID=; }

step "1. Start the service (state dir $STATE, file root of trust)"
start
run "$VG" --socket "$SOCK" status

step "2. Keystore: a P-256 key made inside the service, used by name (SFR 4.2.11)"
run "$VG" --socket "$SOCK" key create device-signing --type p256
echo "firmware-manifest v1.2.3" >"$T/manifest"
run "$VG" --socket "$SOCK" key sign device-signing --in "$T/manifest" --out "$T/manifest.sig"
vg key public device-signing >"$T/pub.pem"
run openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/manifest.sig" "$T/manifest"
echo "tampered" >>"$T/manifest"
printf '$ voxguard key verify (tampered file) -> '
vg key verify device-signing --in "$T/manifest" --sig "$T/manifest.sig" || echo "(exit $?)"

step "3. Secure storage: a secret sealed with AES-256-GCM (SFR 4.2.4)"
marker="wifi-psk-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s' "$marker" | vg store put wifi-psk
printf '$ voxguard store get wifi-psk -> '; vg store get wifi-psk; echo
printf '$ grep -r %s %s -> ' "$marker" "$STATE"
if grep -r -a -q "$marker" "$STATE"; then echo "FOUND (bug)"; exit 1; else echo "not found: nothing in the clear"; fi

step "4. Rollback: restore an old copy of the database (SFR 4.2.4)"
stop
cp -a "$STATE" "$T/old-state"
start
printf 'new-psk' | vg store put wifi-psk
stop
cp -a "$STATE" "$T/latest-state"
cp "$T/old-state/voxguard.db" "$STATE/voxguard.db"
rm -f "$STATE/voxguard.db-wal" "$STATE/voxguard.db-shm"
[ -f "$T/old-state/voxguard.db-wal" ] && cp "$T/old-state/voxguard.db-wal" "$STATE/"
start
printf '$ voxguard store get wifi-psk -> '; vg store get wifi-psk || true
vg status | grep 'secure store'
stop

step "5. The audit log: export and verify offline (SFR 4.2.9)"
# Put the device's latest database back for the rest of the tour.
rm -rf "$STATE"; cp -a "$T/latest-state" "$STATE"
start
vg key create k --type ed25519
vg key create vonly --type p256 --usage verify
vg key sign vonly --in "$T/pub.pem" --out /dev/null 2>/dev/null || true
run "$VG" --socket "$SOCK" log export --out "$T/audit.vgl"
run "$VG" log verify "$T/audit.vgl"
run "$VG" log show --in "$T/audit.vgl"
cp "$T/audit.vgl" "$T/tampered.vgl"
size=$(wc -c <"$T/tampered.vgl")
printf 'X' | dd of="$T/tampered.vgl" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
printf '$ voxguard log verify tampered.vgl -> '
"$VG" log verify "$T/tampered.vgl" || echo "(exit $?)"

step "6. Identity and attestation: provision once, prove genuineness (SFR 4.2.1-4.2.3)"
# The OEM's release key and the platform manifest it signs (build host).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/release.key" 2>/dev/null
openssl pkey -in "$T/release.key" -pubout -out "$T/release.pub"
printf '#!/bin/sh\necho "the voice application"\n' >"$T/voice-app"
run "$VG" manifest create --out "$T/platform.json" --version 2026.11.0 --security-version 1 \
	--oem Acme --model "Echo Demo" --hw-rev B2 "voice-app:1.0=$T/voice-app" "voxguardd=$VGD"
run "$VG" manifest sign --key "$T/release.key" "$T/platform.json"
chmod 644 "$T/platform.json"
run "$VG" --socket "$SOCK" provision --oem Acme --model "Echo Demo" --hw-rev B2 --setup-code-out "$T/setup-code" \
	--release-key "$T/release.pub"
run "$VG" --socket "$SOCK" identity
vg identity --public-key >"$T/device.pem"
vg identity --json >"$T/golden.json"
nonce=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
run "$VG" --socket "$SOCK" attest --nonce "$nonce" --out "$T/token.cbor"
run "$VG" verify-token "$T/token.cbor" --key "$T/device.pem" --nonce "$nonce" --reference "$T/golden.json"
printf '$ voxguard verify-token (another nonce) -> '
"$VG" verify-token "$T/token.cbor" --key "$T/device.pem" --nonce "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" || echo "(exit $?)"

step "7. Admin access: no default password, the setup code, sessions (SFR 4.2.13, AVS 1.2)"
printf 'a demo passphrase for %s\n' "$(id -un)" >"$T/pw"
export VOXGUARD_SESSION="$T/session"
run "$VG" --socket "$SOCK" admin setup --code "$(cat "$T/setup-code")" --password-file "$T/pw"
run "$VG" --socket "$SOCK" admin logout
printf '$ voxguard log export (no session) -> '
vg log export --out "$T/audit2.vgl" || echo "(exit $?)"
run "$VG" --socket "$SOCK" admin login --password-file "$T/pw"
run "$VG" --socket "$SOCK" log export --out "$T/audit2.vgl"

step "8. Secure start-up: the platform against its signed manifest (SFR 4.2.5)"
stop
start
run "$VG" --socket "$SOCK" verify-platform
printf '#!/bin/sh\necho "a modified voice app"\n' >"$T/voice-app"
printf '$ voxguard verify-platform (voice-app modified) -> '
vg verify-platform || echo "(exit $?)"
vg status | grep platform
printf '$ voxguard store get wifi-password (in recovery) -> '
vg store get wifi-password || echo "(exit $?)"
printf '#!/bin/sh\necho "the voice application"\n' >"$T/voice-app"
run "$VG" --socket "$SOCK" verify-platform

step "9. Secure update: a TUF repository and the client (SFR 4.2.6, AVS 1.1)"
for r in root timestamp snapshot targets; do
	openssl genpkey -algorithm ED25519 -out "$T/$r.key" 2>/dev/null
	openssl pkey -in "$T/$r.key" -pubout -out "$T/$r.pub"
done
R=$T/repo
run "$VG" repo init "$R" --root-key "$T/root.pub" --targets-key "$T/targets.pub" \
	--snapshot-key "$T/snapshot.pub" --timestamp-key "$T/timestamp.pub"
run "$VG" repo sign "$R" root --key "$T/root.key"
printf 'firmware 2026.12\n' >"$T/firmware.bin"
run "$VG" repo add "$R" --name firmware/speaker.bin "$T/firmware.bin"
run "$VG" repo sign "$R" targets --key "$T/targets.key"
run "$VG" repo publish "$R" --snapshot-key "$T/snapshot.key" --timestamp-key "$T/timestamp.key"
mkdir -p "$T/tuf" "$T/dl"
run "$VG" tuf-client --metadata-dir "$T/tuf" init "$R/metadata/1.root.json"
run "$VG" tuf-client --metadata-dir "$T/tuf" --metadata-url "$R/metadata" \
	--target-name firmware/speaker.bin --target-base-url "$R/targets" --target-dir "$T/dl" download
cat "$T/dl/firmware%2Fspeaker.bin"
printf 'firmware 6.66\n' >"$(ls "$R"/targets/firmware/*.speaker.bin)"
rm -f "$T/dl"/*
printf '$ voxguard tuf-client download (target replaced on the server) -> '
"$VG" tuf-client --metadata-dir "$T/tuf" --metadata-url "$R/metadata" \
	--target-name firmware/speaker.bin --target-base-url "$R/targets" --target-dir "$T/dl" download ||
	echo "(exit $?)"

step "10. A/B update: an encrypted bundle through TUF into the inactive slot (SFR 4.2.6, 4.2.9)"
vg update key >"$T/device-update.pub"
echo "the device's update key (in the service; bundles are encrypted for it):"
cat "$T/device-update.pub"
head -c 4194304 /dev/urandom >"$T/rootfs.img"
run "$VG" bundle create --out "$T/speaker-2.vgb" --version 2026.12.0 --security-version 1 \
	--encrypt-for "$T/device-update.pub" --key "$T/release.key" rootfs="$T/rootfs.img"
run "$VG" repo add "$R" --name firmware/speaker-2.vgb "$T/speaker-2.vgb"
run "$VG" repo sign "$R" targets --key "$T/targets.key"
run "$VG" repo publish "$R" --snapshot-key "$T/snapshot.key" --timestamp-key "$T/timestamp.key"
echo "changing what the device trusts needs an admin session (the restart in step 8 ended the"
echo "last one: sessions live in the service's memory):"
run "$VG" --socket "$SOCK" admin login --password-file "$T/pw"
echo "the repository's root metadata, trusted by the service (sealed; at the factory this is"
echo "\`voxguard provision --tuf-root\`):"
run "$VG" --socket "$SOCK" update trust-root "$R/metadata/1.root.json"
run "$VG" --socket "$SOCK" update install --repo "$R/metadata" --targets-url "$R/targets" \
	--metadata-dir "$T/agent" --download-dir "$T/dl" --target firmware/speaker-2.vgb
cmp "$T/slot-b" "$T/rootfs.img" && echo "slot b holds the decrypted, verified image; slot a (running) untouched"
echo "(reboot: the boot script tries slot b)"
"$VG" update simulate-boot --bootloader file --param "$T/bootenv" |
	sed 's/^/console=ttyS0 /' >"$T/cmdline"
echo "boot-2" >"$T/boot_id"
stop
start
run "$VG" --socket "$SOCK" update status
run "$VG" --socket "$SOCK" update mark-good
run "$VG" --socket "$SOCK" update status
echo "the update's audit trail (SFR 4.2.9):"
vg admin login --password-file "$T/pw" >/dev/null
vg log show | grep ' update\.' || true

step "11. Secure communication: mutual TLS with the key in the service, and a revoked server refused (SFR 4.2.7, 4.2.8, AVS 1.3)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P=$T/pki
sh "$src/tests/tls_pki.sh" "$P" "$(free_port)" >/dev/null
echo "a test PKI made with the openssl CLI (tests/tls_pki.sh): a root, an intermediate, a server"
echo "certificate for localhost and one the CA has revoked, each with a stapled OCSP answer"
run "$VG" --socket "$SOCK" key create tls-client --type p256
vg key public tls-client >"$T/tls-client.pub"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/throwaway.key" \
	-subj /CN=speaker-demo -out "$T/tls.csr" 2>/dev/null
openssl x509 -req -in "$T/tls.csr" -force_pubkey "$T/tls-client.pub" -CA "$P/client-ca.crt" \
	-CAkey "$P/client-ca.key" -set_serial 7 -days 30 -out "$T/tls-client.crt" 2>/dev/null
echo "its certificate from the client CA (the private key never left the service)"
GOOD=$(free_port) REVOKED=$(free_port)
openssl s_server -accept "127.0.0.1:$GOOD" -cert "$P/server-good.crt" -key "$P/server-good.key" \
	-cert_chain "$P/inter.crt" -status_file "$P/staple-good.der" -Verify 1 -CAfile "$P/client-ca.crt" \
	-rev >"$T/srv-good.log" 2>&1 </dev/null &
SP1=$!
openssl s_server -accept "127.0.0.1:$REVOKED" -cert "$P/server-revoked.crt" -key "$P/server-revoked.key" \
	-cert_chain "$P/inter.crt" -status_file "$P/staple-revoked.der" -Verify 1 -CAfile "$P/client-ca.crt" \
	-rev >"$T/srv-revoked.log" 2>&1 </dev/null &
SP2=$!
for i in $(seq 100); do ss -ltn | grep -q "127.0.0.1:$REVOKED " && ss -ltn | grep -q "127.0.0.1:$GOOD " && break; sleep 0.05; done
echo "two loopback servers (openssl s_server, client certificates required, OCSP stapling):"
echo "the endpoint list is device policy (an admin with a session):"
run "$VG" --socket "$SOCK" endpoint add cloud --host localhost --port "$GOOD" --ca "$P/ca.pem" \
	--revocation ocsp-stapled --client-key tls-client --client-cert "$T/tls-client.crt" --uid 0
run "$VG" --socket "$SOCK" endpoint add cloud-revoked --host localhost --port "$REVOKED" --ca "$P/ca.pem" \
	--revocation ocsp-stapled --client-key tls-client --client-cert "$T/tls-client.crt" --uid 0
echo '$ echo hello | voxguard connect cloud     (the server echoes it reversed)'
echo hello | timeout 10 "$VG" --socket "$SOCK" connect cloud || echo "(exit $?)"
echo '$ echo hello | voxguard connect cloud-revoked'
echo hello | timeout 10 "$VG" --socket "$SOCK" connect cloud-revoked || echo "(exit $? : refused, as it must be)"
kill "$SP1" "$SP2" 2>/dev/null || true
echo "both connections in the audit log (SFR 4.2.9):"
vg log show | grep ' tls\.' || true

step "12. Audio streams: speech encrypted for the service's key, decrypted by the service (SFR 4.2.8 note 7, HPKE + SFrame)"
run "$VG" --socket "$SOCK" key create speaker-rx --type x25519
vg key public speaker-rx >"$T/speaker-rx.pub"
echo "its public key (what a sender's --to takes):"; cat "$T/speaker-rx.pub"
espeak-ng -w "$T/hello.wav" "voxguard keeps the speaker's audio private" 2>/dev/null
sox "$T/hello.wav" -r 16000 -c 1 -b 16 -e signed-integer -t raw "$T/hello.raw"
echo "speech from espeak-ng, 16 kHz mono S16 from sox: $(wc -c <"$T/hello.raw") bytes"
echo '$ voxguard stream encrypt --to speaker-rx.pub < hello.raw > hello.vgs'
vg stream encrypt --to "$T/speaker-rx.pub" <"$T/hello.raw" >"$T/hello.vgs"
echo '$ voxguard stream decrypt --key speaker-rx < hello.vgs > back.raw'
vg stream decrypt --key speaker-rx <"$T/hello.vgs" >"$T/back.raw"
cmp "$T/hello.raw" "$T/back.raw" && echo "decrypted bit for bit (the stream key was opened inside the service)"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=1; open(sys.argv[2],"wb").write(b)' \
	"$T/hello.vgs" "$T/tampered.vgs"
echo '$ voxguard stream decrypt --key speaker-rx < tampered.vgs   (one bit flipped)'
vg stream decrypt --key speaker-rx <"$T/tampered.vgs" >/dev/null || echo "(exit $?: refused, as it must be)"

step "13. The display IPC guard: a one-time token for the display client (AVS 1.14)"
echo "the launcher (uid $(id -u), display_launcher_uids) asks for a token bound to the page's Origin:"
echo '$ voxguard display token --origin https://localhost:8443 > token'
vg display token --origin https://localhost:8443 >"$T/token"
echo "the gateway (display_gateway_uids) redeems it once:"
echo '$ voxguard display redeem --origin https://localhost:8443 < token'
vg display redeem --origin https://localhost:8443 <"$T/token"
echo '$ voxguard display redeem --origin https://localhost:8443 < token   (again)'
vg display redeem --origin https://localhost:8443 <"$T/token" || echo "(exit $?: a token is valid once)"
echo "(voxguard-displayd does this for a browser; docs/DISPLAY.md)"
stop
echo
echo "demo: done. Everything above ran against a real voxguardd; see README.md for the tour."
