#!/bin/sh
# SFR 4.2.7, 4.2.8 note 7 and profile 2.3.1 (audio streams encrypted for
# their intended recipients; decryption with a device key whose
# decapsulation happens in the service), asset A.2.2.1, issue 13: real
# speech (espeak-ng, converted by sox to 16 kHz mono and 48 kHz stereo S16
# raw audio) through `voxguard stream encrypt --to A --to B` and `stream
# decrypt --key` as each recipient, compared bit for bit; then every attack
# on the stream refused with its own message, and the service still serving.
. "$(dirname "$0")/lib.sh"
[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (two client uids)"; exit 77; }
for t in espeak-ng sox python3; do
	command -v "$t" >/dev/null || { echo "$t missing: sh scripts/install-deps.sh"; exit 1; }
done
setup_users
start_daemon
V="$VOXGUARD --socket $SOCK"
W=$T/work; mkdir -p "$W"; chmod 755 "$W"
EDIT() { python3 "$VG_SRC/tests/integration/vgs_edit.py" "$@"; }
ALICE_UID=$(id -u vgalice)

# refused "description" EXIT PATTERN command...: the command exits with
# EXIT and its stderr matches PATTERN (grep -E).
refused() {
	d=$1; want=$2; pat=$3; shift 3
	set +e; "$@" >"$W/out" 2>"$W/err"; got=$?; set -e
	if [ "$got" = "$want" ] && grep -Eq "$pat" "$W/err"; then
		ok "$d"
	else
		not_ok "$d (exit $got, wanted $want; stderr: $(head -c 300 "$W/err"))"
	fi
}
dec() { # dec USER KEY IN [--from PEM]: decrypt IN as USER with KEY
	u=$1; k=$2; in=$3; shift 3
	as "$u" $V stream decrypt --key "$k" "$@" <"$in"
}

# ---- real speech ----
espeak-ng -w "$W/speech.wav" "Alexa, what is the weather like in Cambridge tomorrow \
morning? Please remind me to water the plants at six, and play some quiet music \
in the kitchen until dinner is ready." 2>/dev/null
sox "$W/speech.wav" -r 16000 -c 1 -b 16 -e signed-integer -t raw "$W/mono16k.raw"
sox "$W/speech.wav" -r 48000 -c 2 -b 16 -e signed-integer -t raw "$W/stereo48k.raw"
check "issue 13: espeak-ng and sox made over 4 s of 16 kHz mono S16 speech" \
	test "$(wc -c <"$W/mono16k.raw")" -gt 128000
check "issue 13: and of 48 kHz stereo S16 (6 times the bytes, within a frame)" sh -c \
	"m=\$(wc -c <'$W/mono16k.raw'); s=\$(wc -c <'$W/stereo48k.raw'); [ \$((s / 6 - m)) -lt 3840 ] && [ \$((m - s / 6)) -lt 3840 ]"
check "issue 13: the speech is not silence" sh -c "od -An -v -tx1 '$W/mono16k.raw' | tr -d ' \n0' | grep -q ."

# ---- keys: two recipients of two uids, X25519 ----
check "SFR 4.2.8 note 7: alice creates an x25519 key (receives streams)" as vgalice $V key create a1 --type x25519
check "SFR 4.2.8 note 7: bob creates an x25519 key" as vgbob $V key create b1 --type x25519
as vgalice $V key info a1 >"$W/a1.info"
check "SFR 4.2.8 note 7: key info shows x25519 with usage derive" grep -Eq '^a1 +x25519 +derive ' "$W/a1.info"
as vgalice $V key public a1 >"$W/a1.pem"
as vgbob $V key public b1 >"$W/b1.pem"
check "SFR 4.2.8 note 7: key public prints an X25519 SubjectPublicKeyInfo (openssl reads it)" sh -c \
	"openssl pkey -pubin -in '$W/a1.pem' -text -noout | grep -q X25519"
check_fails "SFR 4.2.11: an x25519 key signs nothing (policy)" 2 as vgalice $V key sign a1 --in "$W/a1.pem" --out /dev/null

# ---- encrypt once for both, decrypt as each, bit for bit ----
for fmt in mono16k stereo48k; do
	if [ $fmt = mono16k ]; then opts="--frame-ms 20 --rate 16000 --channels 1 --bytes-per-sample 2"
	else opts="--frame-ms 20 --rate 48000 --channels 2 --bytes-per-sample 2"; fi
	check "SFR 4.2.8 note 7: stream encrypt $fmt --to alice --to bob" sh -c \
		"$V stream encrypt --to '$W/a1.pem' --to '$W/b1.pem' $opts <'$W/$fmt.raw' >'$W/$fmt.vgs'"
	check_fails "SFR 4.2.8 note 7: $fmt: the stream is not the audio" 1 cmp -s "$W/$fmt.raw" "$W/$fmt.vgs"
	dec vgalice a1 "$W/$fmt.vgs" >"$W/$fmt.alice" 2>"$W/err" || true
	check "SFR 4.2.8 note 7: $fmt: alice (decapsulation in the service) gets the audio bit for bit" \
		cmp "$W/$fmt.raw" "$W/$fmt.alice"
	dec vgbob b1 "$W/$fmt.vgs" >"$W/$fmt.bob" 2>"$W/err" || true
	check "SFR 4.2.8 note 7: $fmt: bob gets the audio bit for bit" cmp "$W/$fmt.raw" "$W/$fmt.bob"
done
FR=$(EDIT "$W/mono16k.vgs" /dev/null count)
check "issue 13: mono: one 20 ms frame (640 bytes) each, and a final one" \
	test "$FR" -eq $(($(wc -c <"$W/mono16k.raw") / 640 + 1))
# A pipe, frame at a time: decryption starts before encryption ends.
check "issue 13: a live pipe (arecord | encrypt | decrypt) gives the audio back" sh -c \
	"cat '$W/mono16k.raw' | $V stream encrypt --to '$W/a1.pem' | setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V stream decrypt --key a1 | cmp - '$W/mono16k.raw'"

# ---- P-256 receives streams by default ----
check "SFR 4.2.8 note 7: a p256 key (default usage) receives a stream" sh -c \
	"setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V key create p1 --type p256 &&
	 setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V key public p1 >'$W/p1.pem' &&
	 $V stream encrypt --to '$W/p1.pem' <'$W/mono16k.raw' >'$W/p.vgs' &&
	 setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V stream decrypt --key p1 <'$W/p.vgs' | cmp - '$W/mono16k.raw'"

# ---- attacks, each refused with its cause (exit 1) ----
M=$W/mono16k.vgs
EDIT "$M" "$W/x" flip-header 20
refused "SFR 4.2.8 note 7: a flipped bit in the header (stream id) is refused" 1 \
	'header does not authenticate' dec vgalice a1 "$W/x"
EDIT "$M" "$W/x" flip-frame 3 20
refused "SFR 4.2.8 note 7: a flipped bit in a ciphertext is an integrity error" 1 \
	'integrity error' dec vgalice a1 "$W/x"
check "SFR 4.2.8 note 7: ... and nothing of that frame is written (3 frames only)" \
	test "$(wc -c <"$W/out")" -eq 1920
EDIT "$M" "$W/x" flip-frame 3 -1
refused "SFR 4.2.8 note 7: a flipped bit in a tag is an integrity error" 1 \
	'integrity error' dec vgalice a1 "$W/x"
EDIT "$M" "$W/x" replay 5
refused "SFR 4.2.8 note 7: a replayed frame is refused" 1 'replayed frame \(counter 5\)' dec vgalice a1 "$W/x"
EDIT "$M" "$W/x" move 0 180
refused "SFR 4.2.8 note 7: a frame outside the replay window is refused" 1 \
	'outside the replay window' dec vgalice a1 "$W/x"
EDIT "$M" "$W/x" drop 7
refused "SFR 4.2.8 note 7: a dropped frame: decrypt succeeds and reports it" 0 \
	'warning: 1 frame\(s\) missing' dec vgalice a1 "$W/x"
check "SFR 4.2.8 note 7: ... with the audio less that frame" \
	test "$(wc -c <"$W/out")" -eq $(($(wc -c <"$W/mono16k.raw") - 640))
EDIT "$M" "$W/x" truncate
refused "SFR 4.2.8 note 7: a truncated stream (no final frame) is refused" 1 \
	'truncated: the stream ended before its final frame' dec vgalice a1 "$W/x"
head -c 5000 "$M" >"$W/x"
refused "SFR 4.2.8 note 7: a stream cut inside a frame is truncated" 1 \
	'truncated: the stream ended inside a frame' dec vgalice a1 "$W/x"
$V stream encrypt --to "$W/a1.pem" --to "$W/b1.pem" <"$W/mono16k.raw" >"$W/other.vgs"
EDIT "$M" "$W/x" splice "$W/other.vgs"
refused "SFR 4.2.8 note 7: a spliced stream (frames of another stream, same keys) is refused" 1 \
	'frame of another stream' dec vgalice a1 "$W/x"
as vgalice $V key create c1 --type x25519
refused "SFR 4.2.8 note 7: the wrong recipient key is refused" 1 \
	'wrong recipient: key c1 is not a recipient' dec vgalice c1 "$M"
EDIT "$M" "$W/x" oversize
refused "SFR 4.2.8 note 7: an oversized frame is refused before it is read" 1 \
	'oversized frame' dec vgalice a1 "$W/x"
head -c 3000 /dev/urandom >"$W/x"
refused "SFR 4.2.8 note 7: garbage is refused" 1 'not a voxguard stream' dec vgalice a1 "$W/x"
: >"$W/x"
refused "SFR 4.2.8 note 7: an empty input is refused" 1 'not a voxguard stream' dec vgalice a1 "$W/x"

# ---- auth mode: the sender's key in the keystore (--from KEY) ----
as vgalice $V key create snd --type x25519
as vgalice $V key public snd >"$W/snd.pem"
as vgalice $V key public c1 >"$W/c1.pem"
check "SFR 4.2.8 note 7: auth mode: encrypt --from a keystore key (AuthEncap in the service)" sh -c \
	"setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V stream encrypt --to '$W/a1.pem' --to '$W/b1.pem' --from snd <'$W/mono16k.raw' >'$W/auth.vgs'"
dec vgbob b1 "$W/auth.vgs" --from "$W/snd.pem" >"$W/auth.bob" 2>"$W/err" || true
check "SFR 4.2.8 note 7: auth mode: bob opens it from the expected sender, bit for bit" \
	cmp "$W/mono16k.raw" "$W/auth.bob"
refused "SFR 4.2.8 note 7: auth mode: the wrong sender is refused" 1 \
	'does not authenticate for key b1 .*wrong sender' dec vgbob b1 "$W/auth.vgs" --from "$W/c1.pem"
refused "SFR 4.2.8 note 7: auth mode: a stream without its sender's check is refused" 1 \
	"stream's mode is not the one expected" dec vgbob b1 "$W/auth.vgs"
refused "SFR 4.2.8 note 7: a base-mode stream where a sender is expected is refused (no downgrade)" 1 \
	"stream's mode is not the one expected" dec vgalice a1 "$M" --from "$W/snd.pem"
refused "SFR 4.2.10: auth mode: bob cannot encrypt as alice's sender key" 2 'not found|no such' \
	as vgbob $V stream encrypt --to "$W/a1.pem" --from snd <"$W/mono16k.raw"

# ---- the keystore's rules ----
refused "SFR 4.2.10: bob cannot decapsulate with alice's key (--owner)" 2 'denied' \
	as vgbob $V --owner "$ALICE_UID" stream decrypt --key a1 <"$M"
refused "SFR 4.2.10: nor can an admin (root) use alice's key" 2 'denied' \
	sh -c "$V --owner $ALICE_UID stream decrypt --key a1 <'$M'"
refused "SFR 4.2.10: bob's own namespace has no key a1" 2 'not found' dec vgbob a1 "$M"
as vgalice $V key create nod --type p256 --usage sign,verify
as vgalice $V key public nod >"$W/nod.pem"
$V stream encrypt --to "$W/nod.pem" <"$W/mono16k.raw" >"$W/nod.vgs"
refused "SFR 4.2.11: a key without derive usage cannot decapsulate (policy)" 2 \
	'usage|policy' dec vgalice nod "$W/nod.vgs"
refused "SFR 4.2.8 note 7: usage derive is refused for an ed25519 key" 2 'usage' \
	as vgalice $V key create e1 --type ed25519 --usage derive
as vgalice $V key create e2 --type ed25519
refused "SFR 4.2.8 note 7: an ed25519 key cannot receive a stream (its type)" 2 \
	'usage policy' dec vgalice e2 "$M"

# ---- the service still serves ----
check "SFR 4.2.10: the service still serves after all of it" as vgalice $V status
check "SFR 4.2.10: and still decrypts" sh -c \
	"setpriv --reuid=vgalice --regid=vgalice --init-groups -- $V stream decrypt --key a1 <'$M' | cmp - '$W/mono16k.raw'"
stop_daemon
finish
