#!/bin/sh
# AVS SDK security rules, least privilege and access control ("run
# software with the least privilege required for operation ... not as
# root nor as a member of a group with overly permissive rights"; "restrict
# read/write/run permission to specific applications ... on files,
# sockets, named pipes"; "protect executable files and processes from
# tampering and inspection"), for the systemd units a device maker adapts:
# voxguardd.service (as configured in the build directory),
# systemd/examples/voice-app.service and display-client.service.
#
# 1. systemd-analyze security --offline=true rates each unit; the goals:
#    voxguardd <= 2.0 (also with the tpm2 drop-in), the voice application
#    <= 3.0, the display client <= 3.0.
# 2. Each unit has the required properties (parsed from the file, and
#    systemd-analyze verify finds no unknown or malformed key).
# 3. The voice unit's sealed configuration and Landlock sandbox, run
#    effectively: a real voxguardd, where an admin with a session seals a
#    configuration holding a secret for the unit (`config seal --for
#    voice-app.service`, the unit's User=); its ExecStart= command line
#    (`config exec` in front of `voxguard sandbox`; the paths of this
#    machine substituted where the device's do not exist here, the socket
#    the test service's) runs a fake voice application as the unit's user
#    with the service's socket group. The application reads the sealed
#    configuration through {} (the memfd, under Landlock, without a rule
#    for it), byte for byte; what the rules forbid fails, what they allow
#    works, and the same application run without the sandbox does all of
#    it (so each refusal is Landlock's, not the file modes'). With a name
#    that is not sealed, config exec fails and the application never
#    starts. Under systemd as PID 1 the unit itself runs under
#    systemd-run; elsewhere (containers) through setpriv.
#
# Needs systemd-analyze (package systemd; scripts/install-deps.sh) else
# skips (77); part 3 needs root and a kernel with Landlock, else says so
# and skips that part.
. "$(dirname "$0")/lib.sh"
: "${VG_SRC:?set by ctest}" "${VG_BUILD:?set by ctest}"

command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "skip: systemd-analyze is missing (package systemd)"; exit 77; }

VGD_UNIT=$VG_BUILD/voxguardd.service
VOICE=$VG_SRC/systemd/examples/voice-app.service
DISPLAY=$VG_SRC/systemd/examples/display-client.service
TPM2=$VG_SRC/systemd/examples/voxguardd-tpm2.conf

# --- 1. exposure scores ---------------------------------------------------
# score UNITFILE [ROOT]: the overall exposure level systemd-analyze prints.
score() {
	if [ -n "${2:-}" ]; then
		systemd-analyze security --offline=true --root="$2" "$(basename "$1")" 2>&1
	else
		systemd-analyze security --offline=true "$1" 2>&1
	fi | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
at_most() { awk -v s="$1" -v g="$2" 'BEGIN { exit !(s != "" && s <= g) }'; }

S_VGD=$(score "$VGD_UNIT")
R=$T/root
mkdir -p "$R/etc/systemd/system/voxguardd.service.d"
cp "$VGD_UNIT" "$R/etc/systemd/system/voxguardd.service"
cp "$TPM2" "$R/etc/systemd/system/voxguardd.service.d/tpm2.conf"
S_VGD_TPM=$(score "$VGD_UNIT" "$R")
S_VOICE=$(score "$VOICE")
S_DISPLAY=$(score "$DISPLAY")
echo "# systemd-analyze security --offline=true: voxguardd.service ${S_VGD:-?}," \
	"with the tpm2 drop-in ${S_VGD_TPM:-?}, voice-app.service ${S_VOICE:-?}," \
	"display-client.service ${S_DISPLAY:-?}"
check "SDK least privilege: voxguardd.service exposure ${S_VGD:-none} <= 2.0" at_most "$S_VGD" 2.0
check "SDK least privilege: voxguardd.service + tpm2 drop-in exposure ${S_VGD_TPM:-none} <= 2.0" \
	at_most "$S_VGD_TPM" 2.0
check "SDK least privilege: voice-app.service exposure ${S_VOICE:-none} <= 3.0" at_most "$S_VOICE" 3.0
check "SDK least privilege: display-client.service exposure ${S_DISPLAY:-none} <= 3.0" \
	at_most "$S_DISPLAY" 3.0
# The scorer can fail: a unit without the sandbox scores far above.
printf '[Service]\nExecStart=/bin/true\n' >"$T/bare.service"
S_BARE=$(score "$T/bare.service")
check "the scorer rates a unit without sandbox above the goal (${S_BARE:-none})" \
	sh -c "! awk -v s='${S_BARE:-0}' 'BEGIN { exit !(s <= 3.0) }' && [ -n '$S_BARE' ]"

# --- 2. required properties ---------------------------------------------
# The [Service] section as KEY=VALUE lines, continuation lines joined.
props() {
	awk '
		/^\[/ { sec = $0; next }
		sec != "[Service]" || /^[ \t]*[#;]/ || /^[ \t]*$/ { next }
		{ line = line $0 }
		/\\$/ { sub(/\\$/, "", line); next }
		{ print line; line = "" }
	' "$1"
}
# val FILE KEY: every value of KEY (one a line).
val() { props "$1" | sed -n "s/^$2=//p"; }
has() { props "$1" | grep -qx "$2"; }
# Groups that give broad rights: system files, logs, disks, other users'
# data, administration.
BROAD='root adm sudo wheel disk shadow kmem staff systemd-journal tty dialout lp sys'
no_broad_groups() {
	for g in $(val "$1" SupplementaryGroups) $(val "$1" Group); do
		for b in $BROAD; do [ "$g" = "$b" ] && return 1; done
	done
	return 0
}
not_root() {
	nr_user=$(val "$1" User | tail -n1)
	[ -n "$nr_user" ] && [ "$nr_user" != root ] && [ "$nr_user" != 0 ]
}

for u in "$VGD_UNIT" "$VOICE" "$DISPLAY"; do
	n=$(basename "$u")
	check "SDK least privilege: $n runs as its own user, not root" not_root "$u"
	check "SDK least privilege: $n has no supplementary group with broad rights" no_broad_groups "$u"
	check "SDK least privilege: $n NoNewPrivileges=yes" has "$u" NoNewPrivileges=yes
	check "SDK least privilege: $n ProtectSystem=strict" has "$u" ProtectSystem=strict
	check "SDK least privilege: $n no capabilities (CapabilityBoundingSet= empty)" \
		has "$u" CapabilityBoundingSet=
	check "SDK least privilege: $n no ambient capabilities" has "$u" AmbientCapabilities=
	check "SDK least privilege: $n RestrictAddressFamilies=" sh -c "grep -q '^RestrictAddressFamilies=AF_' '$u'"
	check "SDK least privilege: $n has a system-call filter" sh -c "grep -q '^SystemCallFilter=@system-service' '$u'"
	check "SDK: protect processes from inspection: $n LimitCORE=0 (no core dumps)" has "$u" LimitCORE=0
	check "SDK least privilege: $n RestrictNamespaces=" sh -c "grep -q '^RestrictNamespaces=' '$u'"
done
check "SDK least privilege: voxguardd.service no IP at all (PrivateNetwork, IPAddressDeny=any)" \
	sh -c "grep -qx PrivateNetwork=yes '$VGD_UNIT' && grep -qx IPAddressDeny=any '$VGD_UNIT' && grep -qx RestrictAddressFamilies=AF_UNIX '$VGD_UNIT'"
check "SFR 4.2.8: voice-app.service re-applies the endpoint list for its cgroup (ExecStartPre=+ netpolicy apply)" \
	sh -c "grep -q '^ExecStartPre=+/usr/bin/voxguard .*netpolicy apply' '$VOICE'"
check "SFR 4.2.8: voice-app.service: no AF_NETLINK or AF_PACKET (nothing that bypasses nftables)" \
	sh -c "grep -qx 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' '$VOICE'"
# Continuation lines joined: runs of blanks as one.
VOICE_EXEC=$(val "$VOICE" ExecStart | tr -s ' \t' '  ')
check "SDK least privilege: voice-app.service runs its program under 'voxguard sandbox' (Landlock), strict, inside 'voxguard config exec'" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^/usr/bin/voxguard \(--socket [^ ]* \)\{0,1\}config exec [^ ]* -- /usr/bin/voxguard sandbox .* -- ' && ! printf '%s\n' \"\$1\" | grep -q -- --best-effort" sh "$VOICE_EXEC"
# The program's own arguments (after the sandbox's "--"): the sealed
# configuration's path ({}), no configuration file.
VOICE_ARGS=$(printf '%s\n' "$VOICE_EXEC" | sed 's/.* -- //')
check "SDK rule 1: voice-app.service gives its program the sealed configuration ({}), no file of /etc/avs" \
	sh -c "printf ' %s \n' \"\$1\" | grep -q ' {} ' && ! printf '%s\n' \"\$2\" | grep -q /etc/avs" sh "$VOICE_ARGS" "$VOICE_EXEC"
check "SDK least privilege: voice-app.service MemoryDenyWriteExecute=yes" has "$VOICE" MemoryDenyWriteExecute=yes
check "SDK: protect executables: voice-app.service executes nothing outside /usr (NoExecPaths=/, ExecPaths=/usr)" \
	sh -c "grep -qx NoExecPaths=/ '$VOICE' && grep -qx ExecPaths=/usr '$VOICE'"
check "AVS 1.14: display-client.service reaches only localhost over IP" \
	sh -c "grep -qx IPAddressDeny=any '$DISPLAY' && grep -qx IPAddressAllow=localhost '$DISPLAY'"

# systemd-analyze verify: no unknown key, no malformed value. Offline, with
# the programs (absent here) replaced by /bin/true and the units they
# depend on beside them.
V=$T/verify
mkdir -p "$V"
for u in "$VG_BUILD"/voxguard*.service "$VG_SRC"/systemd/voxguard-netpolicy.timer \
	"$VG_SRC"/systemd/voxguard-netpolicy.path "$VOICE" "$DISPLAY"; do
	sed -e 's|^\(ExecStart[A-Za-z]*=[+!-]*\)/[^ ]*\( .*\)\{0,1\}$|\1/bin/true|' \
		-e '/^    /d' "$u" >"$V/$(basename "$u")"
done
touch "$V/voxguard-displayd.service"
for u in voxguardd.service voice-app.service display-client.service; do
	SYSTEMD_UNIT_PATH=$V: systemd-analyze verify --man=no "$V/$u" >"$T/verify-$u.txt" 2>&1 || true
	# Only lines about this unit: the empty stand-in above is not under test.
	grep -v 'voxguard-displayd.service' "$T/verify-$u.txt" >"$T/verify-$u.own" || true
	check "systemd-analyze verify $u: no unknown key or error" sh -c "[ ! -s '$T/verify-$u.own' ]"
	[ -s "$T/verify-$u.own" ] && sed 's/^/#   /' "$T/verify-$u.own"
done

# --- 3. the voice unit's Landlock sandbox, effectively -------------------
if [ "$IS_ROOT" != 1 ]; then
	echo "# part 3 skipped: running the unit's user needs root"
	finish
	exit $?
fi
if ! "$VOXGUARD" sandbox --exec / -- /bin/true 2>"$T/ll.err"; then
	if grep -q 'no Landlock' "$T/ll.err"; then
		echo "# part 3 skipped: $(cat "$T/ll.err")"
	else
		not_ok "voxguard sandbox runs a program: $(cat "$T/ll.err")"
	fi
	finish
	exit $?
fi
VUSER=$(val "$VOICE" User | tail -n1)
getent passwd "$VUSER" >/dev/null ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$VUSER"
VUID=$(id -u "$VUSER")

# A real service. The unit's user reaches its socket through the socket's
# group, as on the device (the unit's SupplementaryGroups=voxguard; here
# the test service's socket_group, vgclients, mode 0660), not by a group
# of its own in /etc/group.
setup_users
SOCK_GID=$(getent group vgclients | cut -d: -f3)
EXTRA_CONFIG="admin_pw_cost = 10"
start_daemon

# An admin with a session seals the configuration as the unit's comment
# says (`config seal ... --for voice-app.service`): the unit file itself
# names the uid (its User=).
W=$T/work
mkdir -p "$W/units"
chmod 1777 "$W"
chmod 0755 "$W/units"
cp "$VOICE" "$W/units/voice-app.service"
chmod 0644 "$W/units/voice-app.service"
ADM() {
	env VOXGUARD_SESSION="$W/carol.session" VOXGUARD_UNIT_PATH="$W/units" \
		setpriv --reuid=vgcarol --regid=vgcarol --init-groups -- "$VOXGUARD" --socket "$SOCK" "$@"
}
MARK="voice-secret-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
write_sdk_config "$W/AlexaClientSDKConfig.json" "$MARK"
vg provision --oem Acme --model Echo --hw-rev B2 --setup-code-out "$W/code" >/dev/null
printf 'a long and unusual passphrase 77\n' >"$W/pw"
chmod 0644 "$W/pw"
ADM admin setup --code "$(cat "$W/code")" --password-file "$W/pw" >/dev/null
ADM admin login --password-file "$W/pw" >/dev/null
check "SDK rule 1: the admin seals the voice unit's configuration as the unit says (config seal --for voice-app.service)" \
	ADM config seal "$W/AlexaClientSDKConfig.json" --for voice-app.service
ADM config list >"$W/list.txt" 2>&1 || true
check "SDK rule 1: ... for the unit's user ($VUSER, uid $VUID)" \
	grep -q "^AlexaClientSDKConfig.json uid=$VUID " "$W/list.txt"

# The device's paths that this build machine lacks, mapped to ours. The
# CA directory stands for the read-only set (a file in it that the file
# modes let anyone write); /etc/avs holds a plaintext configuration left
# behind, which the rules no longer list.
A=$T/app
mkdir -p "$A/bin" "$A/etc-avs" "$A/ca" "$A/var-lib-avs" "$A/run-avs" "$A/outside" "$A/missing"
echo '{"voice": "plaintext config"}' >"$A/etc-avs/AlexaClientSDKConfig.json"
echo ca >"$A/ca/ca.pem"
echo secret >"$A/outside/secret"
echo keep >"$A/outside/writable"
echo keep >"$A/ca/writable"
chmod 0644 "$A/outside/secret" "$A/etc-avs/AlexaClientSDKConfig.json" "$A/ca/ca.pem"
chmod 0666 "$A/outside/writable" "$A/ca/writable"
printf '#!/bin/sh\nexit 0\n' >"$A/var-lib-avs/dropped"
chmod 0755 "$A/var-lib-avs/dropped"
chown -R "$VUSER:" "$A/var-lib-avs" "$A/run-avs"
chmod 0755 "$A" "$A/etc-avs" "$A/ca" "$A/outside"

# The fake voice application: shell built-ins only (it may execute nothing
# but itself and its shell). It says it started and with which path,
# prints its configuration as "config: LINE" lines, then one line
# "yes NAME" or "no NAME" per try.
cat >"$A/bin/voice-app" <<EOF
#!/bin/sh
cfg=\$1; state=$A/var-lib-avs; out=$A/outside; ro=$A/ca; old=$A/etc-avs
echo "started \$cfg"
try() { if (eval "\$2") 2>/dev/null; then echo "yes \$1"; else echo "no \$1"; fi; }
try read_config '{ read -r l < "\$cfg"; }'
( while IFS= read -r l; do printf 'config: %s\n' "\$l"; done < "\$cfg" ) 2>/dev/null || true
try read_ro '{ read -r l < "\$ro/ca.pem"; }'
try write_state 'echo s > "\$state/state"'
try read_state '{ read -r l < "\$state/state"; }'
try read_outside '{ read -r l < "\$out/secret"; }'
try read_plain_config '{ read -r l < "\$old/AlexaClientSDKConfig.json"; }'
try read_passwd '{ read -r l < /etc/passwd; }'
try write_ro '{ echo x >> "\$ro/writable"; }'
try truncate_outside '{ : > "\$out/writable"; }'
try exec_unlisted '/usr/bin/id -u >/dev/null'
try exec_dropped '"\$state/dropped"'
EOF
chmod 0755 "$A/bin/voice-app"

# The unit's ExecStart= with those substitutions and the test service's
# socket; a shell script also needs its interpreter in the execute set
# (the real application is an ELF): added before the last "--", the
# sandbox's.
CMD=$(printf '%s\n' "$VOICE_EXEC" | sed \
	-e "s|/usr/bin/voxguard |$VOXGUARD |g" \
	-e "s|/run/voxguard/voxguard.sock|$SOCK|g" \
	-e "s|/usr/bin/SampleApp|$A/bin/voice-app|g" \
	-e "s|/etc/avs|$A/etc-avs|g" \
	-e "s|/usr/share/voxguard/ca|$A/ca|g" \
	-e "s|/var/lib/avs|$A/var-lib-avs|g" \
	-e "s|/run/avs|$A/run-avs|g" \
	-e "s|\(.*\) -- |\1 --exec /bin/sh -- |")
# Any other path of the rules this machine lacks: an empty stand-in.
NEW=
for w in $CMD; do
	case $w in
	/*) if [ ! -e "$w" ]; then
		m=$A/missing$(echo "$w" | tr / _)
		mkdir -p "$m"
		echo "# $w does not exist here: an empty directory stands in"
		w=$m
	fi ;;
	esac
	NEW="$NEW $w"
done
echo "# ExecStart= as run here:$NEW"
# The same with a configuration name that is not sealed for the unit.
NEW_UNSEALED=$(printf '%s\n' "$NEW" | sed 's| config exec AlexaClientSDKConfig.json -- | config exec NotSealed.json -- |')

if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ] && command -v systemd-run >/dev/null 2>&1; then
	PID1_SYSTEMD=1
	echo "# systemd is PID 1: running under systemd-run with the unit's properties"
else
	PID1_SYSTEMD=0
	echo "# PID 1 is $(ps -p 1 -o comm= 2>/dev/null || echo '?'), not systemd: running ExecStart= with setpriv as $VUSER"
fi
# run_unit NAME COMMAND-LINE: runs the command line (split into words) as
# the unit would; its output in $T/NAME.txt and $T/NAME.err, its exit
# status in $T/NAME.rc.
run_unit() {
	ru_name=$1
	ru_cmd=$2
	set --
	if [ "$PID1_SYSTEMD" = 1 ]; then
		# The unit's own [Service] properties, as a transient unit, without
		# what needs the device (ExecStart*, the sound devices, its
		# directories, Restart=) or would hide this test's files in /tmp
		# (PrivateTmp=, the noexec mounts); the stand-in directories are
		# made writable as its StateDirectory= would be, and the socket's
		# group is the test service's.
		for p in $(props "$VOICE" | grep -v -e '^ExecStart' -e '^BindPaths=' -e '^DeviceAllow=' \
			-e '^Restart=' -e '^SupplementaryGroups=' -e '^StateDirectory' -e '^RuntimeDirectory' \
			-e '^PrivateTmp=' -e '^NoExecPaths=' -e '^ExecPaths=' | tr ' ' '\037'); do
			set -- "$@" -p "$(printf '%s' "$p" | tr '\037' ' ')"
		done
		set -- "$@" -p "ReadWritePaths=$A/var-lib-avs $A/run-avs" -p SupplementaryGroups=vgclients \
			-E "VOXGUARD_SERVICE_USER=$VOXGUARD_SERVICE_USER"
		set +e
		# shellcheck disable=SC2086
		systemd-run --quiet --wait --pipe --collect "$@" -- $ru_cmd >"$T/$ru_name.txt" 2>"$T/$ru_name.err"
	else
		set +e
		# shellcheck disable=SC2086
		setpriv --reuid="$VUSER" --regid="$VUSER" --groups="$SOCK_GID" --inh-caps=-all --bounding-set=-all \
			-- $ru_cmd >"$T/$ru_name.txt" 2>"$T/$ru_name.err"
	fi
	echo $? >"$T/$ru_name.rc"
	set -e
}
run_unit sandboxed "$NEW"
run_unit unsealed "$NEW_UNSEALED"
check "SDK access control: the refused truncation left the file whole" grep -qx keep "$A/outside/writable"
check "SDK access control: the refused write left the read-only file whole" \
	sh -c "[ \"\$(cat '$A/ca/writable')\" = keep ]"
# Control: the same application, same user, no sandbox, its configuration
# from a file.
setpriv --reuid="$VUSER" --regid="$VUSER" --clear-groups -- \
	"$A/bin/voice-app" "$A/etc-avs/AlexaClientSDKConfig.json" >"$T/control.txt" 2>&1 || true
sed 's/^/# sandboxed: /' "$T/sandboxed.txt" "$T/sandboxed.err"
sed 's/^/# not sealed: /' "$T/unsealed.txt" "$T/unsealed.err"

got() { grep -qx "$1 $2" "$3"; }
check "SDK rule 1: under the voice unit's sandbox the application got its configuration at a /proc/self/fd path ({})" \
	grep -Eqx 'started /proc/self/fd/[0-9]+' "$T/sandboxed.txt"
sed -n 's/^config: //p' "$T/sandboxed.txt" >"$T/sandboxed.json"
check "SDK rule 1: ... and read the sealed configuration's secret through it, under Landlock with no rule for it" \
	grep -qF "\"secret\": \"$MARK\"" "$T/sandboxed.json"
check "SDK rule 1: ... byte for byte as the admin sealed it" cmp "$T/sandboxed.json" "$W/AlexaClientSDKConfig.json"
for t in read_config read_ro write_state read_state; do
	check "SDK least privilege: under the voice unit's sandbox the application may $t" got yes "$t" "$T/sandboxed.txt"
done
for t in read_outside read_plain_config read_passwd write_ro truncate_outside exec_unlisted exec_dropped; do
	check "SDK access control: under the voice unit's sandbox $t is refused" got no "$t" "$T/sandboxed.txt"
	check "  ... and without it the same user could ($t: Landlock refused it, not the file mode)" \
		got yes "$t" "$T/control.txt"
done

# Without a sealed configuration nothing starts.
unsealed_fails() {
	[ "$NEW_UNSEALED" != "$NEW" ] && [ "$(cat "$T/unsealed.rc")" != 0 ] &&
		grep -q "no configuration 'NotSealed.json' is sealed for uid $VUID" "$T/unsealed.err"
}
check "SDK rule 1: the voice unit's ExecStart= with a configuration that is not sealed fails (config exec names it)" \
	unsealed_fails
check "SDK rule 1: ... and the application never started" test ! -s "$T/unsealed.txt"
stop_daemon
finish
