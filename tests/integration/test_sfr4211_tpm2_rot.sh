#!/bin/sh
# SFR 4.2.11 (hardware-backed), AVS 1.16: voxguardd on the tpm2 root of
# trust, against swtpm started on loopback by scripts/swtpm.sh. The root
# key is sealed by the TPM; restoring an old copy of the state dir is
# detected by the TPM's NV counter; the state dir moved to another TPM is
# useless; provisioning and attestation work on it; a factory reset
# replaces the erase secret kept in TPM NV.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}"
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
TPMA=$T/tpm-a; TPMB=$T/tpm-b
stop_tpms() { sh "$VG_SRC/scripts/swtpm.sh" stop "$TPMA" 2>/dev/null || true; sh "$VG_SRC/scripts/swtpm.sh" stop "$TPMB" 2>/dev/null || true; }
trap 'stop_tpms; cleanup' EXIT INT TERM
TCTI_A=$(sh "$VG_SRC/scripts/swtpm.sh" start "$TPMA")
TCTI_B=$(sh "$VG_SRC/scripts/swtpm.sh" start "$TPMB")
V="$VOXGUARD --socket $SOCK"
if [ "$IS_ROOT" = 1 ]; then USER="as vgalice"; else USER=""; fi
U() { $USER $V "$@"; }
EXTRA_CONFIG="rot = tpm2
rot_param = $TCTI_A
rot_sync_ms = 0"
start_daemon

$V status >"$W/status"
check "AVS 1.16: the service runs on the tpm2 root of trust" grep -q 'root of trust:  tpm2$' "$W/status"
check "AVS 1.16: tpm2-tss is loaded for the tpm2 root of trust" grep -q libtss2-esys "/proc/$DPID/maps"
check "AVS 1.16: status does not call it a development backend" sh -c "! grep -q DEVELOPMENT '$W/status'"
check "SFR 4.2.11: no root key file in the state dir" test ! -e "$STATE/root.key"
check "SFR 4.2.11: the sealed root key object is there" test -s "$STATE/tpm2-root.priv"
check "SFR 4.2.11: a key is created on the TPM-backed keystore" U key create k --type p256
printf 'hello' >"$W/msg"; chmod 644 "$W/msg"
check "SFR 4.2.11: and signs" U key sign k --in "$W/msg" --out /dev/null
printf 'first' | U store put rec
stop_daemon
cp -a "$STATE" "$W/state-old"
start_daemon
printf 'second' | U store put rec
check "SFR 4.2.1: provisioning works on the TPM" $V provision --oem Acme --model Echo \
	--hw-rev B2 --setup-code-out "$W/code"
N=$(openssl rand -hex 32)
$V identity --public-key >"$W/pub.pem"
U attest --nonce "$N" --out "$W/tok"
check "SFR 4.2.3: a token from the TPM-backed device verifies" \
	env VOXGUARD_SOCKET=/nonexistent "$VOXGUARD" verify-token "$W/tok" --key "$W/pub.pem" --nonce "$N"
TPM2TOOLS_TCTI=$TCTI_A tpm2_pcrread sha256:23 >"$W/pcr" 2>/dev/null || true
check "SFR 4.2.1: the components were measured into PCR 23" sh -c "grep -q '0x' '$W/pcr' && ! grep -q '0x0000000000000000000000000000000000000000000000000000000000000000' '$W/pcr'"
TPM2TOOLS_TCTI=$TCTI_A tpm2_nvread -C o 0x01500017 >"$W/erase-before" 2>/dev/null || true
check "SFR 4.2.12: a factory reset on the TPM-backed device" $V factory-reset --yes
TPM2TOOLS_TCTI=$TCTI_A tpm2_nvread -C o 0x01500017 >"$W/erase-after" 2>/dev/null || true
check "SFR 4.2.12: the erase secret in TPM NV was replaced" sh -c "[ -s '$W/erase-after' ] && ! cmp -s '$W/erase-before' '$W/erase-after'"
check_fails "SFR 4.2.12: the user's record is gone" 2 U store get rec
stop_daemon

# Restore the whole old state dir: the NV counter in the TPM says no.
rm -rf "$STATE"; cp -a "$W/state-old" "$STATE"
start_daemon
check "SFR 4.2.4/AVS 1.16: a restored state dir is detected against the TPM counter" sh -c "$V status | grep -q 'secure store:   rollback'"
check_fails "SFR 4.2.4: and its records are refused" 2 U store get rec
stop_daemon

# The state dir on another TPM: the root key does not unseal.
EXTRA_CONFIG="rot = tpm2
rot_param = $TCTI_B"
write_config
set +e
"$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$CONF" >"$W/other.log" 2>&1 &
pid=$!; i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
kill $pid 2>/dev/null; wait $pid; rc=$?
set -e
check "SFR 4.2.11: the state dir is useless with another TPM (refuses to start)" sh -c "[ $rc != 0 ] && grep -q 'root of trust' '$W/other.log'"
cat "$W/other.log" >>"$ALLLOG"

# A device without a TPM does not map tpm2-tss at all (dlopen()ed for
# rot = tpm2 only: src/rot/tss2_dl.c).
EXTRA_CONFIG=""
write_config
rm -rf "$STATE"
start_daemon
check "AVS 1.16: the file root of trust does not load tpm2-tss" sh -c "! grep -q libtss2 /proc/$DPID/maps"
stop_daemon
finish
