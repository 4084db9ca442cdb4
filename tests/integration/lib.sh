# Shared helpers for the integration tests: a real voxguardd on a temporary
# state dir, driven through the real CLI. Sourced by test_*.sh.
#
# As root (CI), the tests create throw-away users and groups (vgsvc runs the
# service; vgalice and vgbob are ordinary clients; vgcarol is an admin) and
# run the service as root so that it drops to vgsvc itself. As an ordinary
# user they run everything as that user, and the multi-user tests skip
# (exit 77).
set -eu
: "${VOXGUARDD:?set by ctest}" "${VOXGUARD:?set by ctest}"

T=$(mktemp -d /tmp/vgtest.XXXXXX)
chmod 755 "$T"
STATE=$T/state
RUN=$T/run
SOCK=$RUN/vg.sock
DLOG=$T/daemon.log
CONF=$T/voxguardd.conf
DPID=

if [ "$(id -u)" = 0 ]; then IS_ROOT=1; else IS_ROOT=0; fi
# The clients check who serves the socket (SFR 4.2.10): as root the
# service runs as vgsvc; otherwise as ourselves, which is accepted.
[ "$IS_ROOT" = 1 ] && export VOXGUARD_SERVICE_USER=vgsvc

# Sanitizer builds: libfaketime (the expiry checks) is preloaded ahead of
# the ASan runtime, which ASan refuses unless told this order is fine.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# Every service log of the run, for the sanitizer check in finish().
ALLLOG=$T/all-daemon.log
save_log() { [ -f "$DLOG" ] && cat "$DLOG" >>"$ALLLOG"; : >"$DLOG"; }

cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# Each check prints one line, like a test runner (tap.sh).
. "${VG_SRC:-$(dirname "$0")/../..}/tests/integration/tap.sh"
check() { # check "description" command...
	d=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi
}
check_fails() { # check_fails "description" EXPECTED_EXIT command...
	d=$1; want=$2; shift 2
	set +e; "$@" >/dev/null 2>&1; got=$?; set -e
	if [ "$got" = "$want" ]; then ok "$d"; else not_ok "$d (exit $got, wanted $want)"; fi
}
finish() {
	save_log
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$ALLLOG" 2>/dev/null; then
		not_ok "the service ran without sanitizer reports"
		grep -E -A20 'Sanitizer|runtime error:' "$ALLLOG" | head -60
	else
		ok "the service ran without sanitizer reports"
	fi
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" = 0 ]
}

setup_users() {
	[ "$IS_ROOT" = 1 ] || return 0
	for g in vgclients vgadmin; do
		getent group "$g" >/dev/null || groupadd --system "$g"
	done
	for u in vgsvc vgalice vgbob vgcarol; do
		getent passwd "$u" >/dev/null ||
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$u"
	done
	usermod -a -G vgclients vgalice
	usermod -a -G vgclients vgbob
	usermod -a -G vgclients,vgadmin vgcarol
}

# as USER CMD...: run a client as another user (root only).
as() {
	u=$1; shift
	setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"
}

write_config() {
	if [ "$IS_ROOT" = 1 ]; then
		cat >"$CONF" <<CFG
user = vgsvc
socket_group = vgclients
admin_group = vgadmin
socket_mode = 0660
io_timeout_ms = ${IO_TIMEOUT_MS:-2000}
audit_checkpoint_every = ${CHECKPOINT_EVERY:-16}
$EXTRA_CONFIG
CFG
	else
		cat >"$CONF" <<CFG
admin_group = $(id -gn)
io_timeout_ms = ${IO_TIMEOUT_MS:-2000}
audit_checkpoint_every = ${CHECKPOINT_EVERY:-16}
$EXTRA_CONFIG
CFG
	fi
}
EXTRA_CONFIG=

make_state() {
	mkdir -p "$STATE" "$RUN"
	chmod 700 "$STATE"
	chmod 755 "$RUN"
	# Like systemd's StateDirectory= and RuntimeDirectory=: both belong to
	# the service user, so it can remove its socket after the drop.
	[ "$IS_ROOT" = 1 ] && chown vgsvc:vgsvc "$STATE" "$RUN"
	return 0
}

# start_daemon: starts voxguardd and waits for its ready line.
start_daemon() {
	[ -f "$CONF" ] || write_config
	[ -d "$STATE" ] && [ -d "$RUN" ] || make_state
	save_log
	"$VOXGUARDD" --state-dir "$STATE" --socket "$SOCK" --config "$CONF" >>"$DLOG" 2>&1 &
	DPID=$!
	i=0
	while ! grep -q ready "$DLOG"; do
		if ! kill -0 "$DPID" 2>/dev/null; then
			echo "voxguardd did not start:"; cat "$DLOG"; DPID=; return 1
		fi
		i=$((i + 1))
		[ $i -lt 400 ] || { echo "voxguardd: no ready line"; cat "$DLOG"; return 1; }
		sleep 0.05
	done
	# Clients of other users must reach the socket.
	chmod 755 "$T"
}

# stop_daemon: SIGTERM; a non-zero exit (a leak report, a crash) is a
# failed check.
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID"
	set +e; wait "$DPID"; rc=$?; set -e
	DPID=
	if [ "$rc" = 0 ]; then ok "the service exited cleanly"; else not_ok "the service exited with $rc"; fi
	return 0
}

kill9_daemon() {
	[ -n "$DPID" ] || return 0
	kill -KILL "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=
}

# cpu_pct PID MS: the CPU time PID used (all its threads, user and system)
# over the next MS milliseconds, in percent of one core.
cpu_pct() {
	_hz=$(getconf CLK_TCK)
	_a=$(awk '{print $14 + $15}' "/proc/$1/stat")
	sleep "$(awk "BEGIN { print $2 / 1000 }")"
	_b=$(awk '{print $14 + $15}' "/proc/$1/stat")
	echo $(((_b - _a) * 100 * 1000 / _hz / $2))
}

daemon_alive() { [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; }

vg() { "$VOXGUARD" --socket "$SOCK" "$@"; }

# sqlite3 on the service's database (the service must be stopped).
db() { sqlite3 "$STATE/voxguard.db" "$@"; }

# An example SDK configuration (AlexaClientSDKConfig.json's shape) with a
# secret in it, readable by all (as a device maker's file would be before
# it is sealed): write_sdk_config PATH SECRET.
write_sdk_config() {
	cat >"$1" <<JSON
{ "deviceInfo": { "clientId": "amzn1.application-oa2-client.example",
  "productId": "speaker", "deviceSerialNumber": "SN-1" },
  "cblAuthDelegate": { "secret": "$2" } }
JSON
	chmod 0644 "$1"
}
