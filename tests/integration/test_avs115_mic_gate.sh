#!/bin/sh
# AVS 1.15 and the SESIP profile's privacy by design: real speech through
# the microphone's gate (include/voxguard/mic.h) with the reference tone
# hook standing in for the wake word. espeak-ng speaks, sox makes 16 kHz
# mono S16LE; the stream is speech + a 1 kHz tone (400 ms) + more speech,
# pushed 10 ms a period by tests/tools/mic_gate_pipe. Checks: nothing
# passes before the wake word, nor at all while muted, nor from speech
# without a wake word; after it exactly the pre-roll (200 ms up to the
# end of the wake word, all inside the tone) and everything after it pass,
# byte for byte. The tool runs as a normal program, its ring locked
# within the default RLIMIT_MEMLOCK.
. "$(dirname "$0")/lib.sh"
for t in espeak-ng sox cmp; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is missing (scripts/install-deps.sh)"; exit 77; }
done
PIPE=${VG_BUILD:?set by ctest}/tests/mic_gate_pipe
[ -x "$PIPE" ] || { echo "not ok - $PIPE is not built"; exit 1; }
W=$T/work; mkdir -p "$W"
RATE=16000

espeak-ng -w "$W/a.wav" "Before the wake word: this is private, and must stay on the device." 2>/dev/null
espeak-ng -w "$W/b.wav" "After the wake word: what is the weather like in Cambridge tomorrow?" 2>/dev/null
for x in a b; do
	sox "$W/$x.wav" -r $RATE -c 1 -b 16 -e signed-integer -L -t raw "$W/$x.raw"
done
sox -n -r $RATE -c 1 -b 16 -e signed-integer -L -t raw "$W/tone.raw" synth 0.4 sine 1000 vol 0.5
cat "$W/a.raw" "$W/tone.raw" "$W/b.raw" >"$W/stream.raw"
A=$(($(wc -c <"$W/a.raw") / 2)); TONE=$(($(wc -c <"$W/tone.raw") / 2))
TOTAL=$(($(wc -c <"$W/stream.raw") / 2))
check "espeak-ng and sox made over 2 s of speech on each side of the tone" \
	test "$A" -gt $((2 * RATE)) -a $((TOTAL - A - TONE)) -gt $((2 * RATE))

# The gate, unmuted: the tone wakes it.
PRE_MS=200; PRE=$((RATE * PRE_MS / 1000))
"$PIPE" --rate $RATE --ring-ms 2000 --preroll-ms $PRE_MS --tone-hz 1000 --tone-ms 200 \
	<"$W/stream.raw" >"$W/out.raw" 2>"$W/err"
WAKE=$(sed -n 's/^wake at //p' "$W/err")
echo "# tone at frames $A..$((A + TONE)), wake at ${WAKE:-none}, pre-roll $PRE frames"
check "the tone (the wake word) opened the gate" test -n "$WAKE"
WAKE=${WAKE:-0}
check "the wake word was detected inside the tone, 200 to 220 ms into it" \
	test "$WAKE" -ge $((A + RATE / 5)) -a "$WAKE" -le $((A + RATE * 22 / 100))
check "nothing before the wake word passed: the pre-roll starts inside the tone" \
	test $((WAKE - PRE)) -ge "$A"
tail -c +$(((WAKE - PRE) * 2 + 1)) "$W/stream.raw" >"$W/want.raw"
check "after the wake word: exactly the pre-roll and everything after it (byte-compare)" \
	cmp "$W/want.raw" "$W/out.raw"
check "all the speech after the tone passed" \
	sh -c "tail -c $(wc -c <"$W/b.raw") '$W/out.raw' | cmp - '$W/b.raw'"
check "the output is the pre-roll plus what followed the wake word, no more" \
	test "$(wc -c <"$W/out.raw")" -eq $(((TOTAL - WAKE + PRE) * 2))

# Muted: nothing at all, the tone included.
"$PIPE" --rate $RATE --preroll-ms $PRE_MS --muted <"$W/stream.raw" >"$W/muted.raw" 2>"$W/err.m"
check "muted: nothing passes (0 bytes out), not even after the wake word" \
	test ! -s "$W/muted.raw"
check "muted: the wake hook never ran (no wake)" sh -c "! grep -q '^wake' '$W/err.m'"

# Speech alone, no wake word: nothing.
cat "$W/a.raw" "$W/b.raw" >"$W/speech.raw"
"$PIPE" --rate $RATE --preroll-ms $PRE_MS <"$W/speech.raw" >"$W/none.raw" 2>"$W/err.n"
check "speech without the wake word: nothing passes (0 bytes out)" test ! -s "$W/none.raw"

# Control: the same pipeline is able to pass audio (the checks above can fail).
check "control: with the wake word first, the whole stream after it passes" \
	sh -c "sox -n -r $RATE -c 1 -b 16 -e signed-integer -L -t raw - synth 0.21 sine 1000 vol 0.5 | \
		cat - '$W/speech.raw' | '$PIPE' --rate $RATE --preroll-ms 0 2>/dev/null | \
		cmp - '$W/speech.raw'"

# Stereo 48 kHz: the same gate, the tone hook averaging the channels.
for x in a b; do
	sox "$W/$x.wav" -r 48000 -c 2 -b 16 -e signed-integer -L -t raw "$W/$x.s48"
done
sox -n -r 48000 -c 2 -b 16 -e signed-integer -L -t raw "$W/tone.s48" synth 0.4 sine 1000 vol 0.5
cat "$W/a.s48" "$W/tone.s48" "$W/b.s48" >"$W/stream.s48"
"$PIPE" --rate 48000 --channels 2 --preroll-ms $PRE_MS <"$W/stream.s48" >"$W/out.s48" 2>"$W/err.s"
W48=$(sed -n 's/^wake at //p' "$W/err.s"); W48=${W48:-0}
A48=$(($(wc -c <"$W/a.s48") / 4))
check "48 kHz stereo: woken inside the tone" test "$W48" -ge $((A48 + 9600)) -a "$W48" -le $((A48 + 19200))
tail -c +$(((W48 - 9600) * 4 + 1)) "$W/stream.s48" >"$W/want.s48"
check "48 kHz stereo: exactly the pre-roll and what follows (byte-compare)" cmp "$W/want.s48" "$W/out.s48"
finish
