#!/bin/sh
# SFR 4.2.9 (audit log export), 4.2.9-g: `log export` of a log larger than
# one wire frame (16 MiB + 64 KiB) streams it in pages (LOG_EXPORT with
# VG_A_FROM / VG_A_NEXT / VG_A_MORE; docs/AUDIT.md section 5, "Paged
# export") and the pages join into one export that verifies whole.
#  - An application fills the log (vg_load audit: deletions of a missing
#    key under a 128-character name, each one "key.delete" failure record
#    of about 260 bytes) until it holds more than 16 MiB; the audit rate
#    limit and the log's byte bound are raised so that nothing is
#    summarised or dropped.
#  - The admin (with a session) exports it through the CLI: the export is
#    larger than 16 MiB, verifies, holds exactly the records the service
#    counted (#0 to the service's next record - 1, contiguous, none twice),
#    and every one of the application's requests.
#  - The same export page by page (ipc_probe export, as libvoxguard does
#    it): at least two pages, each within one frame, each after the first
#    starting with the record its predecessor named as next; the pages
#    joined verify.
#  - Controls: a record dropped or duplicated at a page boundary, a page
#    repeated or lost, is detected by `log verify` (exit 1, TAMPERED).
. "$(dirname "$0")/lib.sh"
: "${VG_LOAD:?set by ctest}" "${IPC_PROBE:?set by ctest}" "${AUDIT_ITEMS:?set by ctest}"
setup_users
W=$T/work; mkdir -p "$W"; chmod 1777 "$W"
V="$VOXGUARD --socket $SOCK"
FRAME_MAX=$((16 * 1024 * 1024 + 64 * 1024)) # VG_WIRE_MAX_MSG (src/proto/wire.h)
SIXTEEN_MIB=$((16 * 1024 * 1024))
# The admin, with a session file; the application that fills the log.
SESS=$W/admin.session
if [ "$IS_ROOT" = 1 ]; then
	ADMIN() { env VOXGUARD_SESSION="$SESS" setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- "$@"; }
	APP() { as vgalice "$@"; }
	APP_UID=$(id -u vgalice)
else
	ADMIN() { env VOXGUARD_SESSION="$SESS" "$@"; }
	APP() { "$@"; }
	APP_UID=$(id -u)
fi
now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
EXTRA_CONFIG="admin_pw_cost = 10
audit_max_bytes = 67108864
audit_rate_per_s = 100000
audit_burst = 1000000"
T0=$(now)
start_daemon

# ---- setup: a provisioned device with an admin ----
ADMIN $V provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
printf 'correct horse battery staple 42!\n' >"$W/pw"; chmod 644 "$W/pw"
check "setup: the admin is set up, with a session" ADMIN $V admin setup --code "$(cat "$W/code")" --password-file "$W/pw"

# ---- fill the log past 16 MiB (its stored size, from status; an export
# is about 0.7 % larger) ----
stored_kib() { vg status | sed -n 's/^audit log: .*, \([0-9]*\) of [0-9]* KiB.*/\1/p'; }
next_seq() { vg status | sed -n 's/^audit log: *next record #\([0-9]*\),.*/\1/p'; }
t=$(now); sent=0; other=0; rounds=0
while [ "$(stored_kib)" -lt $((16 * 1024 + 256)) ] && [ $rounds -lt 20 ]; do
	APP "$VG_LOAD" "$SOCK" audit 8 8000 >"$W/load" 2>&1 || true
	s=$(sed -n 's/^sent \([0-9]*\) not-found [0-9]* other \([0-9]*\)$/\1/p' "$W/load")
	o=$(sed -n 's/^sent [0-9]* not-found [0-9]* other \([0-9]*\)$/\1/p' "$W/load")
	sent=$((sent + ${s:-0})); other=$((other + ${o:-1})); rounds=$((rounds + 1))
done
FILL_MS=$(ms_since "$t")
vg status >"$W/status"
S=$(next_seq)
echo "# filled: $sent requests in $FILL_MS ms, $(stored_kib) KiB stored, next record #$S"
check "setup: $sent key deletions of the application were all answered 'not found' ($other otherwise)" test "$other" = 0 -a "$sent" -gt 0
check "SFR 4.2.9-g: nothing was summarised or dropped (rate limit and bound raised)" sh -c "grep '^audit log:' '$W/status' | grep -Evq 'dropped|summarised'"

# ---- the CLI's export ----
t=$(now)
check "SFR 4.2.9: the admin exports a log larger than one frame" ADMIN $V log export --out "$W/log.vgl"
EXPORT_MS=$(ms_since "$t")
size=$(stat -c %s "$W/log.vgl" 2>/dev/null || echo 0)
echo "# export: $size bytes in $EXPORT_MS ms"
check "SFR 4.2.9: the export is larger than 16 MiB ($size bytes)" test "$size" -gt "$SIXTEEN_MIB"
set +e; "$VOXGUARD" log verify "$W/log.vgl" >"$W/verify.out" 2>&1; rc=$?; set -e
check "SFR 4.2.9: the export verifies offline (exit $rc)" test "$rc" = 0
# "verified N records (#F..#L) under C signed checkpoints...; unsealed tail: U"
vn=$(sed -n 's/^verified \([0-9]*\) records (#\([0-9]*\)\.\.#\([0-9]*\)).*unsealed tail: \([0-9]*\)$/\1 \2 \3 \4/p' "$W/verify.out")
check "SFR 4.2.9: it verifies the $S records the service counted, #0..#$((S - 1)), none unsealed (got: ${vn:-nothing})" test "$vn" = "$S 0 $((S - 1)) 0"
# (log show exits 1 when the export does not verify: the checks below
# still say what is wrong with it.)
"$VOXGUARD" log show --in "$W/log.vgl" --json >"$W/log.json" 2>/dev/null || true
sed -n 's/^{"kind":"record","seq":\([0-9]*\),.*/\1/p' "$W/log.json" >"$W/seqs"
nrec=$(wc -l <"$W/seqs")
gaps=$(awk 'NR == 1 && $1 != 0 { bad++ } NR > 1 && $1 != prev + 1 { bad++ } { prev = $1 } END { print bad + 0 }' "$W/seqs")
dups=$(sort -n "$W/seqs" | uniq -d | wc -l)
check "SFR 4.2.9: $nrec records, sequence numbers contiguous from #0 ($gaps gaps) and none twice ($dups)" test "$nrec" = "$S" -a "$gaps" = 0 -a "$dups" = 0
mine=$(grep -c "\"type\":\"key.delete\",\"outcome\":\"failure\",\"detail\":\"key.delete audit-fill-[a-z]* owner=$APP_UID: not found\",\"uid\":$APP_UID," "$W/log.json" || true)
check "SFR 4.2.9: every one of the application's $sent requests is in the export ($mine)" test "$mine" = "$sent"
check "SFR 4.2.9: the header counts the same records" grep -q "^{\"kind\":\"header\",.*\"records\":$S," "$W/log.json"

# ---- page by page ----
ADMIN "$IPC_PROBE" "$SOCK" export "$W/paged.vgl" "$SESS" >"$W/pages" 2>&1 || true
cat "$W/pages" | sed 's/^/# /'
npages=$(sed -n 's/^pages \([0-9]*\) bytes [0-9]*$/\1/p' "$W/pages")
check "SFR 4.2.9: the export takes more than one page (${npages:-none})" test "${npages:-0}" -ge 2
over=$(awk -v max="$FRAME_MAX" '$1 == "page" && $4 > max { n++ } END { print n + 0 }' "$W/pages")
check "SFR 4.2.9: every page fits in one frame of at most $FRAME_MAX bytes ($over over)" test "$over" = 0 -a "${npages:-0}" -ge 2
check "SFR 4.2.9: the last page says no more follow, the others that more do" \
	sh -c "awk '\$1 == \"page\" { m = m \$12 } END { exit !(m ~ /^1+0\$/) }' '$W/pages'"
check "SFR 4.2.9: the pages joined verify" "$VOXGUARD" log verify "$W/paged.vgl"
"$AUDIT_ITEMS" "$W/paged.vgl" >"$W/items" || true
# Each page after the first starts with the record its predecessor named.
bad=0; b=0
while read -r _ i _ frame _ data _ at _ nxt _ more; do
	if [ "$i" -ge 2 ]; then
		first=$(awk -v a="$at" '$1 == a { print $3, $4 }' "$W/items")
		[ "$first" = "record $prev_next" ] || { bad=$((bad + 1)); echo "# page $i at $at starts with '$first', not record $prev_next"; }
	fi
	prev_next=$nxt
done <<EOF2
$(grep '^page ' "$W/pages")
EOF2
check "SFR 4.2.9: each page starts with the record the previous page named as next ($bad wrong)" test "$bad" = 0 -a "${npages:-0}" -ge 2
rgaps=$(awk '$3 == "record" { if (n++ && $4 != prev + 1) bad++; prev = $4 } END { print bad + 0 }' "$W/items")
check "SFR 4.2.9: across the page boundaries no record is missing or repeated ($rgaps breaks)" test "$rgaps" = 0

# ---- controls: tampering at the first page boundary is detected ----
# The boundary (byte offset B), the last record of page 1 and the first of
# page 2, from the probe's report and the item list.
B=$(awk '$1 == "page" && $2 == 2 { print $8 }' "$W/pages")
N1=$(awk '$1 == "page" && $2 == 1 { print $10 }' "$W/pages")
last1=$(awk -v n=$((N1 - 1)) '$3 == "record" && $4 == n { print $1, $2 }' "$W/items")
first2=$(awk -v n="$N1" '$3 == "record" && $4 == n { print $1, $2 }' "$W/items")
size2=$(stat -c %s "$W/paged.vgl")
# cut FILE OFFSET LENGTH: bytes [OFFSET, OFFSET+LENGTH) of FILE.
cut_bytes() { tail -c +$(($2 + 1)) "$1" | head -c "$3"; }
tampered() { # tampered "description" FILE
	set +e; "$VOXGUARD" log verify "$2" >"$W/t.out" 2>&1; rc=$?; set -e
	if [ "$rc" = 1 ] && grep -q '^TAMPERED' "$W/t.out"; then ok "$1"; else not_ok "$1 (exit $rc: $(head -c 200 "$W/t.out"))"; fi
}
if [ -n "$B" ] && [ -n "$last1" ] && [ -n "$first2" ]; then
	set -- $last1; lo=$1; ll=$2
	set -- $first2; fo=$1; fl=$2
	check "control: record #$((N1 - 1)) ends page 1's records and record #$N1 opens page 2 (at $B)" test "$fo" = "$B" -a "$((lo + ll))" -le "$B"
	{ head -c "$lo" "$W/paged.vgl"; tail -c +$((lo + ll + 1)) "$W/paged.vgl"; } >"$W/drop.vgl"
	tampered "SFR 4.2.9: the last record of page 1 dropped is detected" "$W/drop.vgl"
	{ head -c $((fo + fl)) "$W/paged.vgl"; cut_bytes "$W/paged.vgl" "$fo" "$fl"; tail -c +$((fo + fl + 1)) "$W/paged.vgl"; } >"$W/dup.vgl"
	tampered "SFR 4.2.9: the first record of page 2 sent twice is detected" "$W/dup.vgl"
	{ head -c "$B" "$W/paged.vgl"; cut_bytes "$W/paged.vgl" "$B" $((size2 - B)); cut_bytes "$W/paged.vgl" "$B" $((size2 - B)); } >"$W/repeat.vgl"
	tampered "SFR 4.2.9: page 2 repeated is detected" "$W/repeat.vgl"
	head -c "$B" "$W/paged.vgl" >"$W/lost.vgl"
	tampered "SFR 4.2.9: the pages after the first lost are detected" "$W/lost.vgl"
else
	not_ok "control: the page boundary was not found (B=$B, last=$last1, first=$first2)"
fi

stop_daemon
echo "# total: $(ms_since "$T0") ms"
finish
