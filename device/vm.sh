#!/bin/sh
# device/vm.sh: run the device image in QEMU (docs/DEVICE.md).
#
#   vm.sh start RUN DISK TPMDIR [shell]
#       boot DISK (raw; written in place) with swtpm as its TPM (state in
#       TPMDIR, kept between boots: the device's TPM), OVMF as firmware
#       (its variables in RUN/OVMF_VARS.fd), the serial console into
#       RUN/console.log and the guest agent on RUN/qga.sock. `shell` puts a
#       root console (the test variant's hvc0) on this terminal and waits
#       for QEMU to end instead of starting it in the background.
#   vm.sh wait RUN SECONDS   until the guest agent answers (the guest is up)
#   vm.sh stop RUN           power the guest off cleanly, wait for QEMU
#   vm.sh kill RUN           cut the power: SIGKILL to QEMU, no shutdown
#   vm.sh reboot RUN         reboot inside the guest (the same QEMU: the
#                            firmware, GRUB and the TPM reset as on a device;
#                            under TCG OVMF's warm reset after a kernel
#                            started by its EFI stub can take minutes, so
#                            device-test.sh power-cycles: stop, start)
#
# TCG (software emulation): these machines have no KVM. The guest's network
# card is on QEMU's user network, restricted (restrict=on: no route out of
# it); with VG_VM_NET=1 it has one forward, from 10.0.2.100:80 in the guest
# to 127.0.0.1:$VG_VM_HOSTPORT on the host (a socat per connection), for a
# test's server.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
QGA="python3 $HERE/qga.py"

usage() { sed -n '2,22p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
RUN=$2

qemu_pid() {
	p=$(cat "$RUN/qemu.pid" 2>/dev/null || true)
	case $p in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$p" 2>/dev/null || return 1
	echo "$p"
}

wait_gone() { # pid seconds
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}

case $cmd in
start)
	[ $# -ge 4 ] || usage
	DISK=$3
	TPMDIR=$4
	MODE=${5:-}
	mkdir -p "$RUN" "$TPMDIR"
	chmod 700 "$TPMDIR"
	! qemu_pid >/dev/null || { echo "vm.sh: a QEMU already runs for $RUN" >&2; exit 1; }
	[ -f "$RUN/OVMF_VARS.fd" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$RUN/OVMF_VARS.fd"
	rm -f "$RUN/swtpm.sock" "$RUN/qga.sock" "$RUN/qemu.pid"
	# The TPM: one swtpm per QEMU run, ending with it (--terminate); its
	# state directory is the device's TPM across boots and power cuts.
	swtpm socket --tpm2 --tpmstate "dir=$TPMDIR" \
		--ctrl "type=unixio,path=$RUN/swtpm.sock" --terminate \
		--log "file=$RUN/swtpm.log" --pid "file=$RUN/swtpm.pid" --daemon
	i=0
	while [ ! -S "$RUN/swtpm.sock" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "vm.sh: swtpm did not start" >&2; exit 1; }
		sleep 0.05
	done
	# One socat per connection the guest opens (guestfwd to a tcp: target
	# would be a single connection made when QEMU starts).
	NETDEV="user,id=n0,restrict=on"
	if [ "${VG_VM_NET:-0}" = 1 ]; then
		NETDEV="$NETDEV,guestfwd=tcp:10.0.2.100:80-cmd:socat - TCP4:127.0.0.1:${VG_VM_HOSTPORT:?}"
	fi
	if [ "$MODE" = shell ]; then
		CONSOLE="-chardev stdio,id=con0,signal=off -device virtconsole,chardev=con0"
		BG=""
	else
		CONSOLE=""
		BG="-daemonize"
	fi
	# shellcheck disable=SC2086
	qemu-system-x86_64 -name voxguard-device -machine q35 -accel tcg -cpu max \
		-smp "${VG_VM_CPUS:-2}" -m "${VG_VM_MEM:-1024}" \
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,file="$RUN/OVMF_VARS.fd" \
		-drive if=virtio,format=raw,cache=unsafe,file="$DISK" \
		-chardev socket,id=chrtpm,path="$RUN/swtpm.sock" \
		-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
		-device virtio-serial-pci \
		-chardev socket,id=qga0,path="$RUN/qga.sock",server=on,wait=off \
		-device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
		$CONSOLE -netdev "$NETDEV" -device virtio-net-pci,netdev=n0 \
		-serial file:"$RUN/console.log" -display none -monitor none \
		-pidfile "$RUN/qemu.pid" $BG
	;;
wait)
	[ $# -eq 3 ] || usage
	i=0
	while [ ! -S "$RUN/qga.sock" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "vm.sh: QEMU has no agent socket" >&2; exit 1; }
		sleep 0.1
	done
	$QGA "$RUN/qga.sock" wait "$3"
	;;
stop)
	p=$(qemu_pid) || exit 0
	$QGA "$RUN/qga.sock" exec --timeout 10 -- /bin/systemctl poweroff >/dev/null 2>&1 || true
	wait_gone "$p" 120 || { echo "vm.sh: the guest did not power off in 120 s; killing it" >&2; kill -9 "$p"; wait_gone "$p" 10 || true; }
	;;
kill)
	p=$(qemu_pid) || exit 0
	kill -9 "$p"
	wait_gone "$p" 10 || true
	;;
reboot)
	$QGA "$RUN/qga.sock" exec --timeout 10 -- /bin/systemctl reboot >/dev/null 2>&1 || true
	;;
*) usage ;;
esac
