#!/bin/sh
# SFR 4.2.8 secure communication enforcement, the kernel's half:
# `voxguard netpolicy apply` turns the endpoint list into nftables rules
# (table inet voxguard) and the kernel holds each listed application (uid,
# or systemd unit by its cgroup) to its endpoints' addresses and ports and
# DNS at the configured resolver; the rest is dropped and counted.
#
# All traffic stays in two network namespaces the test makes: "dev" (the
# device: the applications, the rules) and "net" (the endpoints: socat
# servers on 198.51.100.2/.3/.53 and 2001:db8:100::2), joined by a veth
# pair. Host names resolve through an /etc/hosts bind-mounted in a mount
# namespace of the apply alone. Each attack sits next to a control that
# succeeds; the namespaces, servers and cgroup go away on any exit.
. "$(dirname "$0")/lib.sh"

[ "$IS_ROOT" = 1 ] || { echo "skip: needs root (namespaces, nftables, test users)"; exit 77; }
for t in nft ip socat nsenter unshare setpriv; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "not ok - $t is missing: run scripts/install-deps.sh"; exit 1; }
done
setup_users
ALICE=$(id -u vgalice) BOB=$(id -u vgbob) CAROL=$(id -u vgcarol)
W=$T/np; mkdir -p "$W"
NSD=vgnp$$d NSN=vgnp$$n
SRV_PIDS=
UNIT=vgnp-test-$$.service
CG=
CGROOT=
CG_SLICE_MADE=

np_cleanup() {
	for p in $SRV_PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $SRV_PIDS; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NSD" 2>/dev/null || true
	ip netns del "$NSN" 2>/dev/null || true
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		# move anything left back to the root cgroup, then remove it
		while read -r p; do echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null || true; done <"$CG/cgroup.procs"
		rmdir "$CG" 2>/dev/null || true
	fi
	[ -n "$CG_SLICE_MADE" ] && rmdir "$CG_SLICE_MADE" 2>/dev/null || true
}
trap 'np_cleanup; cleanup' EXIT INT TERM

# ---- the two namespaces and their link ----
ip netns add "$NSD"
ip netns add "$NSN"
ip link add "vgd$$" netns "$NSD" type veth peer name "vgn$$" netns "$NSN"
ip -n "$NSD" link set lo up
ip -n "$NSN" link set lo up
ip -n "$NSD" addr add 198.51.100.1/24 dev "vgd$$"
ip -n "$NSD" addr add 2001:db8:100::1/64 dev "vgd$$" nodad
ip -n "$NSN" addr add 198.51.100.2/24 dev "vgn$$"
ip -n "$NSN" addr add 198.51.100.3/24 dev "vgn$$"
ip -n "$NSN" addr add 198.51.100.53/24 dev "vgn$$"
ip -n "$NSN" addr add 2001:db8:100::2/64 dev "vgn$$" nodad
ip -n "$NSD" link set "vgd$$" up
ip -n "$NSN" link set "vgn$$" up

# ---- the endpoints' side: each server answers with its own name ----
serve() { # serve ADDRESS-SPEC NAME
	ip netns exec "$NSN" socat "$1,fork,reuseaddr" "SYSTEM:echo $2" 2>/dev/null &
	SRV_PIDS="$SRV_PIDS $!"
}
serve TCP4-LISTEN:443,bind=198.51.100.2 avs
serve TCP4-LISTEN:8443,bind=198.51.100.2 metrics
serve TCP4-LISTEN:443,bind=198.51.100.3 other
serve TCP6-LISTEN:443,bind=[2001:db8:100::2] avs6
serve TCP4-LISTEN:53,bind=198.51.100.53 dns-tcp
serve TCP4-LISTEN:53,bind=198.51.100.2 rogue-dns-tcp
# The UDP "DNS servers" answer each datagram from one process, with no
# fork and shell per query (socat's UDP4-RECVFROM,fork left a query
# unanswered twice in loaded CI runs, where the rules allowed it).
udp_serve() { # udp_serve ADDRESS NAME
	ip netns exec "$NSN" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
answer = sys.argv[2].encode() + b"\n"
while True:
    _, peer = s.recvfrom(512)
    s.sendto(answer, peer)
' "$1" "$2" 2>/dev/null &
	SRV_PIDS="$SRV_PIDS $!"
}
udp_serve 198.51.100.53 dns
udp_serve 198.51.100.2 rogue-dns
ip netns exec "$NSN" socat -u UDP4-RECV:9999,bind=198.51.100.3 "OPEN:$W/leak.log,creat,append" 2>/dev/null &
SRV_PIDS="$SRV_PIDS $!"
# and a loopback server on the device
ip netns exec "$NSD" socat TCP4-LISTEN:9000,bind=127.0.0.1,fork,reuseaddr "SYSTEM:echo local" 2>/dev/null &
SRV_PIDS="$SRV_PIDS $!"
i=0
until ip netns exec "$NSN" ss -ltn | grep -q '198.51.100.3:443' &&
	[ "$(ip netns exec "$NSN" ss -lun | grep -c ':53 ')" = 2 ] &&
	ip netns exec "$NSD" ss -ltn | grep -q '127.0.0.1:9000'; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "not ok - the servers did not start"; exit 1; }
	sleep 0.05
done

# ---- helpers ----
indev() { nsenter --net="/run/netns/$NSD" -- "$@"; }
# got USER TCP-SPEC: what the server there said (empty when refused)
got() {
	u=$1; shift
	indev setpriv --reuid="$u" --regid="$u" --init-groups -- \
		socat -T 3 -u "$1,connect-timeout=2" STDOUT 2>/dev/null || true
}
# reach DESCRIPTION USER SPEC WANT: the connection gets WANT
reach() {
	r=$(got "$2" "$3")
	if [ "$r" = "$4" ]; then ok "$1"; else not_ok "$1 (got '$r', wanted '$4')"; fi
}
# blocked DESCRIPTION USER SPEC: the connection gets nothing
blocked() {
	r=$(got "$2" "$3")
	if [ -z "$r" ]; then ok "$1"; else not_ok "$1 (got '$r')"; fi
}
dns() { # dns USER SERVER: the UDP answer of the DNS server there
	# One retry, as a DNS client does: a single datagram went unanswered
	# once in a loaded `make check` where the rules allowed it. A dropped
	# query stays unanswered both times.
	_a=$(echo q | indev setpriv --reuid="$1" --regid="$1" --init-groups -- \
		socat -t 3 -T 3 - "UDP4:$2:53" 2>/dev/null || true)
	[ -n "$_a" ] || _a=$(echo q | indev setpriv --reuid="$1" --regid="$1" --init-groups -- \
		socat -t 3 -T 3 - "UDP4:$2:53" 2>/dev/null || true)
	if [ -z "$_a" ]; then # what a failing check needs to be understood
		echo "# no answer from $2:53 for $1; UDP listeners:" >&2
		ip netns exec "$NSN" ss -lunp >&2 || true
		indev nft list table inet voxguard >&2 2>/dev/null || true
	fi
	printf '%s\n' "$_a"
}
CLILOG=$W/cli.log
# apply ARGS...: voxguard netpolicy apply in the device namespace, with
# the test's /etc/hosts (a mount namespace of its own)
apply() {
	unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$W/hosts" \
		nsenter --net="/run/netns/$NSD" -- \
		"$VOXGUARD" netpolicy apply --resolv-conf "$W/resolv.conf" "$@" >>"$W/apply.out" 2>>"$CLILOG"
}
show() { indev "$VOXGUARD" netpolicy show 2>>"$CLILOG"; }
counter() { show | awk -v n="$1" '$1 == n { print $2 }'; }

printf 'nameserver 198.51.100.53\n' >"$W/resolv.conf"
cat >"$W/hosts" <<EOF
127.0.0.1 localhost
198.51.100.2 avs.vgtest
2001:db8:100::2 avs.vgtest
198.51.100.2 metrics.vgtest
EOF
# The endpoint list in the endpoint policy's encoding, as `voxguard
# endpoint list --json` writes it and with all of its rules (--from-json
# reads it with the policy's own parser: a CA and a revocation mode are
# required): alice may reach avs (by name: IPv4 and IPv6) on 443; carol
# metrics on 8443.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=vgnp-ca \
	-days 2 -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
# POL: the policy's keys that netpolicy does not read (the PEM as a JSON string)
POL="\"ca\":\"$(awk '{ printf "%s\\n", $0 }' "$W/ca.pem")\",\"revocation\":\"ocsp\""
cat >"$W/eps.json" <<EOF
[{"v":1,"name":"avs","host":"avs.vgtest","port":443,$POL,"uids":[$ALICE]},
 {"v":1,"name":"metrics","host":"metrics.vgtest","port":8443,$POL,"uids":[$CAROL]}]
EOF

# ---- before any rule: everything reaches everything (the controls) ----
reach "SFR 4.2.8: control: without rules alice reaches another address" \
	vgalice TCP4:198.51.100.3:443 other
timeout 3 nsenter --net="/run/netns/$NSD" -- setpriv --reuid=vgalice --regid=vgalice --init-groups -- /usr/bin/python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20):
    s.sendto(b"x\n", ("198.51.100.3", 9999)); time.sleep(0.01)' || true
i=0
while [ ! -s "$W/leak.log" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "SFR 4.2.8: control: without rules alice's datagrams arrive" test -s "$W/leak.log"
: >"$W/leak.log"

# ---- apply (default accept) ----
dry_ok() {
	"$VOXGUARD" netpolicy apply --dry-run --from-json "$W/eps.json" \
		--resolv-conf "$W/resolv.conf" >"$W/dry.nft" 2>>"$CLILOG" &&
		indev nft -c -f "$W/dry.nft"
}
show_has() { show | grep -q "$1"; }
check "SFR 4.2.8: apply --dry-run prints a ruleset nft accepts" dry_ok
check "SFR 4.2.8: apply loads the list (default accept)" apply --from-json "$W/eps.json"
check "SFR 4.2.8: show prints the table" show_has 'table inet voxguard'
check "SFR 4.2.8: show prints alice's drop counter" show_has "^drop_uid_$ALICE "

reach "SFR 4.2.8: alice reaches her endpoint (IPv4)" vgalice TCP4:198.51.100.2:443 avs
reach "SFR 4.2.8: alice reaches her endpoint (IPv6, the name's second address)" \
	vgalice "TCP6:[2001:db8:100::2]:443" avs6
before=$(counter "drop_uid_$ALICE")
blocked "SFR 4.2.8: alice cannot reach another address on her endpoint's port" \
	vgalice TCP4:198.51.100.3:443
after=$(counter "drop_uid_$ALICE")
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ]; then
	ok "SFR 4.2.8: the drop is counted (drop_uid_$ALICE $before -> $after)"
else
	not_ok "SFR 4.2.8: the drop is counted (drop_uid_$ALICE '$before' -> '$after')"
fi
blocked "SFR 4.2.8: alice cannot reach another port of her endpoint's address" \
	vgalice TCP4:198.51.100.2:8443
blocked "SFR 4.2.8: alice cannot reach carol's endpoint (another uid's)" \
	vgalice TCP4:198.51.100.2:8443
reach "SFR 4.2.8: control: carol reaches her endpoint" vgcarol TCP4:198.51.100.2:8443 metrics
blocked "SFR 4.2.8: carol cannot reach alice's endpoint" vgcarol TCP4:198.51.100.2:443
r=$(dns vgalice 198.51.100.53)
if [ "$r" = dns ]; then ok "SFR 4.2.8: alice's DNS reaches the resolver"; else not_ok "SFR 4.2.8: alice's DNS reaches the resolver (got '$r')"; fi
r=$(dns vgalice 198.51.100.2)
if [ -z "$r" ]; then ok "SFR 4.2.8: alice's DNS to another server is dropped"; else not_ok "SFR 4.2.8: alice's DNS to another server is dropped (got '$r')"; fi
r=$(dns vgbob 198.51.100.2)
if [ "$r" = rogue-dns ]; then ok "SFR 4.2.8: control: bob (unlisted) is unaffected by default"; else not_ok "SFR 4.2.8: control: bob (unlisted) is unaffected by default (got '$r')"; fi
reach "SFR 4.2.8: alice's DNS over TCP reaches the resolver" vgalice TCP4:198.51.100.53:53 dns-tcp
blocked "SFR 4.2.8: alice's DNS over TCP to another server is dropped" vgalice TCP4:198.51.100.2:53
reach "SFR 4.2.8: alice reaches loopback" vgalice TCP4:127.0.0.1:9000 local
reach "SFR 4.2.8: bob (no endpoint) is unaffected with default accept" \
	vgbob TCP4:198.51.100.3:443 other

# ---- default drop ----
check "SFR 4.2.8: apply --default drop" apply --from-json "$W/eps.json" --default drop
reach "SFR 4.2.8: control: alice still reaches her endpoint with default drop" \
	vgalice TCP4:198.51.100.2:443 avs
before=$(counter drop_other)
blocked "SFR 4.2.8: bob (no endpoint) is dropped with default drop" vgbob TCP4:198.51.100.3:443
after=$(counter drop_other)
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ]; then
	ok "SFR 4.2.8: bob's drop is counted (drop_other $before -> $after)"
else
	not_ok "SFR 4.2.8: bob's drop is counted (drop_other '$before' -> '$after')"
fi
reach "SFR 4.2.8: bob reaches loopback with default drop" vgbob TCP4:127.0.0.1:9000 local
reach "SFR 4.2.8: root is exempt from default drop" 0 TCP4:198.51.100.3:443 other
check "SFR 4.2.8: apply --default drop --exempt-uids BOB" \
	apply --from-json "$W/eps.json" --default drop --exempt-uids "$BOB"
reach "SFR 4.2.8: an exempt uid is not dropped" vgbob TCP4:198.51.100.3:443 other

# ---- a systemd unit, matched by its cgroup ----
CGROOT=
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	CGROOT=/sys/fs/cgroup
elif [ -d /sys/fs/cgroup/unified ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified)" = cgroup2fs ]; then
	CGROOT=/sys/fs/cgroup/unified
fi
if [ -z "$CGROOT" ]; then
	echo "# no cgroup v2 here: the unit checks are left out"
else
	if [ ! -d "$CGROOT/system.slice" ]; then
		mkdir "$CGROOT/system.slice"
		CG_SLICE_MADE=$CGROOT/system.slice
	fi
	cat >"$W/eps-unit.json" <<EOF
[{"v":1,"name":"avs","host":"avs.vgtest","port":443,$POL,"uids":[$ALICE]},
 {"v":1,"name":"metrics","host":"metrics.vgtest","port":8443,$POL,"units":["$UNIT"]}]
EOF
	# not running: no rule for it, said on stderr, the rest applies
	if apply --from-json "$W/eps-unit.json" && grep -q "unit $UNIT .* is not running" "$CLILOG"; then
		ok "SFR 4.2.8: a unit that is not running gets its rule at its start"
	else
		not_ok "SFR 4.2.8: a unit that is not running gets its rule at its start"
	fi
	CG=$CGROOT/system.slice/$UNIT
	mkdir "$CG"
	check "SFR 4.2.8: apply with the unit running" apply --from-json "$W/eps-unit.json"
	# inunit SPEC: a process of bob's (no uid rule) in the unit's cgroup
	# (root moves it there, as systemd would, then it becomes bob)
	inunit() {
		indev sh -c 'echo $$ >"$1/cgroup.procs" && exec setpriv --reuid=vgbob --regid=vgbob --init-groups -- socat -T 3 -u "$2,connect-timeout=2" STDOUT' \
			sh "$CG" "$1" 2>/dev/null || true
	}
	r=$(inunit TCP4:198.51.100.2:8443)
	if [ "$r" = metrics ]; then ok "SFR 4.2.8: the unit reaches its endpoint"; else not_ok "SFR 4.2.8: the unit reaches its endpoint (got '$r')"; fi
	before=$(counter drop_unit_0)
	r=$(inunit TCP4:198.51.100.3:443)
	after=$(counter drop_unit_0)
	if [ -z "$r" ] && [ -n "$before" ] && [ "$after" -gt "$before" ]; then
		ok "SFR 4.2.8: the unit cannot reach another endpoint, and the drop is counted"
	else
		not_ok "SFR 4.2.8: the unit cannot reach another endpoint, and the drop is counted (got '$r', drop_unit_0 '$before' -> '$after')"
	fi
	reach "SFR 4.2.8: control: bob outside the unit is unaffected" vgbob TCP4:198.51.100.3:443 other
fi

# ---- an address change: re-apply replaces the rules ----
check "SFR 4.2.8: apply (default accept) before the address change" apply --from-json "$W/eps.json"
sed -i 's/^198.51.100.2 avs.vgtest/198.51.100.3 avs.vgtest/' "$W/hosts"
check "SFR 4.2.8: re-apply after the endpoint's address changed" apply --from-json "$W/eps.json"
reach "SFR 4.2.8: alice reaches the endpoint's new address" vgalice TCP4:198.51.100.3:443 other
blocked "SFR 4.2.8: alice no longer reaches the old address" vgalice TCP4:198.51.100.2:443

# ---- atomic: no window without rules, and a refused ruleset changes nothing ----
# alice sends a datagram every 2 ms to a port of no endpoint while the
# list is applied 10 times: none may arrive (a moment without the table
# would let them through, as the control above showed).
indev setpriv --reuid=vgalice --regid=vgalice --init-groups -- /usr/bin/python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
end = time.time() + 3
while time.time() < end:
    try:
        s.sendto(b"x\n", ("198.51.100.3", 9999)); n += 1
    except OSError:
        n += 1
    time.sleep(0.002)
print(n)' >"$W/sent" 2>/dev/null &
SENDER=$!
k=0
while [ $k -lt 10 ]; do apply --from-json "$W/eps.json" >/dev/null || not_ok "re-apply $k"; k=$((k + 1)); done
wait "$SENDER" || true
sleep 1 # as long as the control above may take to see its first datagram
if [ "$(cat "$W/sent")" -gt 100 ] 2>/dev/null && [ ! -s "$W/leak.log" ]; then
	ok "SFR 4.2.8: 10 re-applies under traffic: no datagram of alice's got through ($(cat "$W/sent") sent)"
else
	not_ok "SFR 4.2.8: 10 re-applies under traffic: no datagram of alice's got through (sent '$(cat "$W/sent")', arrived $(wc -l <"$W/leak.log"))"
fi

# nft refuses the ruleset (a wrapper in place of /usr/sbin/nft, in a mount
# namespace of the apply alone, adds a rule that jumps to no chain): the
# apply fails with nft's reason, and the table in force is unchanged.
show >"$W/before.txt"
cp "$(command -v nft)" "$W/nft-real"
cat >"$W/nft-broken" <<EOF
#!/bin/sh
{ cat "\$2"; echo 'add rule inet voxguard output jump no_such_chain'; } >"$W/broken.nft"
exec "$W/nft-real" -f "$W/broken.nft"
EOF
chmod 755 "$W/nft-broken"
printf '[{"v":1,"name":"avs","host":"198.51.100.2","port":443,%s,"uids":[%s]}]\n' "$POL" "$BOB" >"$W/eps-bob.json"
set +e
unshare -m sh -c 'mount --bind "$1" /usr/sbin/nft && shift && exec "$@"' sh "$W/nft-broken" \
	nsenter --net="/run/netns/$NSD" -- "$VOXGUARD" netpolicy apply --from-json "$W/eps-bob.json" \
	--resolv-conf "$W/resolv.conf" >/dev/null 2>"$W/refused.err"
rc=$?
set -e
if [ "$rc" = 2 ] && grep -q "nft refused the ruleset" "$W/refused.err" && grep -q "no_such_chain" "$W/refused.err"; then
	ok "SFR 4.2.8: a ruleset nft refuses: exit 2 with nft's reason"
else
	not_ok "SFR 4.2.8: a ruleset nft refuses: exit 2 with nft's reason (exit $rc: $(cat "$W/refused.err"))"
fi
show >"$W/after.txt"
if [ -s "$W/before.txt" ] && cmp -s "$W/before.txt" "$W/after.txt"; then
	ok "SFR 4.2.8: ...and the rules in force are unchanged"
else
	not_ok "SFR 4.2.8: ...and the rules in force are unchanged"
	diff "$W/before.txt" "$W/after.txt" | head -20
fi
reach "SFR 4.2.8: ...alice still reaches her endpoint" vgalice TCP4:198.51.100.3:443 other
r=$(dns vgbob 198.51.100.2)
if [ "$r" = rogue-dns ]; then ok "SFR 4.2.8: ...and bob is still unaffected"; else not_ok "SFR 4.2.8: ...and bob is still unaffected (got '$r')"; fi

# ---- the list from the service (once libvoxguard has vg_endpoint_list) ----
if "$VOXGUARD" endpoint 2>&1 | grep -q '^  add '; then
	start_daemon
	vg endpoint add avs --host avs.vgtest --port 443 --ca "$W/ca.pem" --revocation ocsp \
		--uid "$ALICE" >/dev/null
	vg endpoint add metrics --host metrics.vgtest --port 8443 --ca "$W/ca.pem" \
		--revocation ocsp --uid "$CAROL" >/dev/null
	svc_dry() {
		unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$W/hosts" \
			"$VOXGUARD" --socket "$SOCK" netpolicy apply --dry-run \
			--resolv-conf "$W/resolv.conf" >"$W/svc.nft" 2>>"$CLILOG" &&
			unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$W/hosts" \
				"$VOXGUARD" netpolicy apply --dry-run --from-json "$W/eps.json" \
				--resolv-conf "$W/resolv.conf" >"$W/json.nft" 2>>"$CLILOG" &&
			cmp -s "$W/svc.nft" "$W/json.nft"
	}
	check "SFR 4.2.8: the service's list makes the same ruleset as the same list in JSON" svc_dry
	# what `endpoint list --json` writes is what --from-json reads (one parser)
	listed_dry() {
		vg endpoint list --json >"$W/listed.json" &&
			unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$W/hosts" \
				"$VOXGUARD" netpolicy apply --dry-run --from-json "$W/listed.json" \
				--resolv-conf "$W/resolv.conf" >"$W/listed.nft" 2>>"$CLILOG" &&
			cmp -s "$W/svc.nft" "$W/listed.nft"
	}
	check "SFR 4.2.8: --from-json takes the output of endpoint list --json: the same ruleset" listed_dry
	svc_apply() {
		unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$W/hosts" \
			nsenter --net="/run/netns/$NSD" -- "$VOXGUARD" --socket "$SOCK" netpolicy apply \
			--resolv-conf "$W/resolv.conf" >>"$W/apply.out" 2>>"$CLILOG"
	}
	check "SFR 4.2.8: apply with the list from the service (root: an admin)" svc_apply
	reach "SFR 4.2.8: ...alice reaches her endpoint" vgalice TCP4:198.51.100.3:443 other
	blocked "SFR 4.2.8: ...and nothing else" vgalice TCP4:198.51.100.2:443
	check_fails "SFR 4.2.8: a non-admin cannot make the ruleset (it would see only its part)" 2 \
		as vgalice "$VOXGUARD" --socket "$SOCK" netpolicy apply --dry-run \
		--resolv-conf "$W/resolv.conf"
	stop_daemon
else
	echo "# this build has no endpoint list in the service: --from-json only"
fi

# ---- refusals before nft ----
printf '[{"v":1,"name":"a","host":"a.vgtest","port":443,%s,"units":["x\\"; flush ruleset; \\".service"]}]\n' "$POL" >"$W/hostile.json"
refused() { # refused FILE REASON: apply --from-json FILE exits 2 and says REASON
	set +e
	indev "$VOXGUARD" netpolicy apply --dry-run --from-json "$1" --resolv-conf "$W/resolv.conf" \
		>/dev/null 2>"$W/refused.txt"
	_rc=$?
	set -e
	cat "$W/refused.txt" >>"$CLILOG"
	[ "$_rc" = 2 ] && grep -q "$2" "$W/refused.txt"
}
check "SFR 4.2.8: a hostile unit name is refused (exit 2)" refused "$W/hostile.json" "units: unit 1 is not"
check_fails "SFR 4.2.8: ...and apply refuses it before nft (exit 2)" 2 apply --from-json "$W/hostile.json"
printf '[{"v":1,"name":"a","host":"a.vgtest","port":443,"revocation":"ocsp","uids":[%s]}]\n' "$BOB" >"$W/noca.json"
check "SFR 4.2.8: a list that is not the policy's encoding (no ca) is refused (exit 2)" \
	refused "$W/noca.json" "endpoint 1: ca: missing"
printf 'nameserver 198.51.100.53 198.51.100.2\n' >"$W/resolv.bad"
check_fails "SFR 4.2.8: a malformed resolv.conf is refused (exit 2)" 2 \
	indev "$VOXGUARD" netpolicy apply --from-json "$W/eps.json" --resolv-conf "$W/resolv.bad"
check_fails "SFR 4.2.8: apply by a non-root user is refused (exit 2)" 2 \
	indev setpriv --reuid=vgalice --regid=vgalice --init-groups -- "$VOXGUARD" netpolicy apply \
	--from-json "$W/eps.json" --resolv-conf "$W/resolv.conf"
reach "SFR 4.2.8: ...after the refusals the rules in force still hold" vgalice TCP4:198.51.100.3:443 other
blocked "SFR 4.2.8: ...and still drop" vgalice TCP4:198.51.100.2:443

# The CLI and the service ran clean (sanitizer builds).
save_log
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$CLILOG" "$W/refused.err" "$ALLLOG" 2>/dev/null; then
	not_ok "the CLI and the service ran without sanitizer reports"
	grep -E -A20 'Sanitizer|runtime error:' "$CLILOG" "$ALLLOG" 2>/dev/null | head -40
else
	ok "the CLI and the service ran without sanitizer reports"
fi
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
