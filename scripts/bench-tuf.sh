#!/bin/sh
# make bench, issue #4: what keeping the trusted TUF root in voxguardd costs.
# `voxguard update check` (root read from the service's sealed store, each
# root rotation verified again and sealed by the service) against the same
# client reading root.json from its metadata directory (`voxguard
# tuf-client refresh`), on one repository on local disk:
#   - a steady refresh (nothing new: the timestamp is re-read), median of 11;
#   - a first refresh that follows 4 root rotations (versions 1 -> 5), each
#     run on a fresh service state and metadata directory, median of 5.
# Usage: bench-tuf.sh VOXGUARD VOXGUARDD WORKDIR
set -eu
V=$1 VGD=$2 B=$3/tuf
mkdir -p "$B"
chmod 755 "$3" "$B" # the service user reaches its state dir below
H="env VOXGUARD_SOCKET=/nonexistent $V"
for r in root timestamp snapshot targets; do
	openssl genpkey -algorithm ED25519 -out "$B/$r.key" 2>/dev/null
	openssl pkey -in "$B/$r.key" -pubout -out "$B/$r.pub"
done
R=$B/repo
$H repo init "$R" --root-key "$B/root.pub" --targets-key "$B/targets.pub" \
	--snapshot-key "$B/snapshot.pub" --timestamp-key "$B/timestamp.pub" >/dev/null
$H repo sign "$R" root --key "$B/root.key" >/dev/null
head -c 4096 /dev/urandom >"$B/fw"
$H repo add "$R" --name firmware/speaker.vgb "$B/fw" >/dev/null
$H repo sign "$R" targets --key "$B/targets.key" >/dev/null
$H repo publish "$R" --snapshot-key "$B/snapshot.key" --timestamp-key "$B/timestamp.key" >/dev/null
for d in 400 401 402 403; do # four root versions more
	$H repo root "$R" --role timestamp --expires-days 1 >/dev/null
	$H repo root "$R" --role root --expires-days $d >/dev/null
	$H repo sign "$R" root --key "$B/root.key" >/dev/null
	$H repo publish "$R" --snapshot-key "$B/snapshot.key" --timestamp-key "$B/timestamp.key" >/dev/null
done

conf=$B/voxguardd.conf
: >"$conf"
if [ "$(id -u)" = 0 ]; then
	getent passwd voxguard >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin voxguard
	echo "user = voxguard" >"$conf"
fi
echo "admin_group = $(id -gn)" >>"$conf"
DPID=
start() {
	rm -rf "$B/state" "$B/md"; mkdir -m 700 "$B/state"; mkdir "$B/md"
	[ "$(id -u)" = 0 ] && chown voxguard: "$B/state"
	"$VGD" --state-dir "$B/state" --socket "$B/sock" --config "$conf" >"$B/daemon.log" 2>&1 &
	DPID=$!
	i=0; until grep -q ready "$B/daemon.log"; do
		sleep 0.05; i=$((i + 1)); [ $i -lt 200 ] || { cat "$B/daemon.log"; exit 1; }
	done
	"$V" --socket "$B/sock" update trust-root "$R/metadata/1.root.json" >/dev/null
}
stop() { kill -TERM "$DPID"; wait "$DPID" || true; DPID=; }
trap '[ -n "$DPID" ] && kill "$DPID" 2>/dev/null; true' EXIT
t() { s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "bench-tuf: failed: $*" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
svc() { "$V" --socket "$B/sock" update check --repo "$R/metadata" --target firmware/speaker.vgb --metadata-dir "$B/md"; }
file_init() { rm -rf "$B/fd"; mkdir "$B/fd"; $H tuf-client --metadata-dir "$B/fd" init "$R/metadata/1.root.json"; }
file() { $H tuf-client --metadata-dir "$B/fd" --metadata-url "$R/metadata" refresh; }

# First refresh, 4 rotations.
first_svc=$(for i in 1 2 3 4 5; do start; t svc; stop; done | median)
first_file=$(for i in 1 2 3 4 5; do file_init >/dev/null; t file; done | median)
# Steady refresh.
start; svc >/dev/null
steady_svc=$(for i in 1 2 3 4 5 6 7 8 9 10 11; do t svc; done | median)
stop
steady_file=$(for i in 1 2 3 4 5 6 7 8 9 10 11; do t file; done | median)
printf '%-52s %12s %12s %10s\n' "TUF refresh, root kept by (ms)" voxguardd root.json ratio
printf '%-52s %12.1f %12.1f %10.2f\n' "first refresh, 4 root rotations (median of 5)" \
	"$(echo "$first_svc * 1000" | bc -l)" "$(echo "$first_file * 1000" | bc -l)" \
	"$(echo "$first_svc / $first_file" | bc -l)"
printf '%-52s %12.1f %12.1f %10.2f\n' "steady refresh, nothing new (median of 11)" \
	"$(echo "$steady_svc * 1000" | bc -l)" "$(echo "$steady_file * 1000" | bc -l)" \
	"$(echo "$steady_svc / $steady_file" | bc -l)"
